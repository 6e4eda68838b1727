"""Development periods only: does the refit model forecast the next period better than the honest one?

    python benchmarks/refit_check.py --data-dir ../shared/data [--only ETTh1 weather]

Each single series of the development collection is cut to its first 85% of rows, so the report's test
period is never read; the cut's own last 15% is then scored as `backtest` scores it (origins every horizon
steps), by the honest model and by the one refit on every window before that period (training.refit).
Prints MAE / seasonal naive MAE of each, one JSON line per series. Recorded in DEFAULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import defaults  # noqa: E402

from rnnforecast import config as config_module  # noqa: E402
from rnnforecast import data, forecasting, metrics, training  # noqa: E402


def check(item: dict, out: Path) -> dict:
    frame = pd.read_csv(item["path"])
    cut = out / "cut" / Path(item["path"]).name
    cut.parent.mkdir(parents=True, exist_ok=True)
    frame.iloc[: int(len(frame) * 0.85)].to_csv(cut, index=False)
    config = config_module.validate(defaults.minimal_config(cut, item["target"], item["horizon"], False, out / "runs"))
    prepared = training.prepare_data(config)
    L, H = config.window.input_length, config.window.horizon
    model = training.build(config, len(prepared.series.columns), prepared.prep["season_length"])
    fitted = training.fit(model, prepared, config, verbose=0)
    _, valid = data.prepare(prepared.series, prepared.prep)
    test = data.part_starts(valid, prepared.bounds, config.window, "test", H)
    before = data.window_starts(valid, L, H, 0, prepared.bounds.val_end, config.window.stride)
    final, _ = training.refit(config, replace(prepared, starts={**prepared.starts, "all": before}), fitted.history,
                              fitted.best_epoch + 1, 0, fitted.highway_prior_windows)
    n, origins = len(config.data.targets), test + L
    actual = prepared.values[origins[:, None] + np.arange(H), :n]
    naive = metrics.seasonal_naive(prepared.values[:, :n], origins, H, int(prepared.prep["season_length"]))
    base = np.abs(naive - actual).mean()
    result = {"item": item["name"], "folds": int(len(test)), "best_epoch": fitted.best_epoch + 1}
    for name, candidate in (("honest", model), ("refit", final)):
        output = forecasting.predict_scaled(candidate, prepared.values, test, L, H, data.n_known(config.data))
        point = forecasting.point_of(config.model.output.quantiles, output)[0]
        result[name] = round(float(np.abs(point - actual).mean() / base), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="the shared data sets (default ../shared/data)")
    parser.add_argument("--only", nargs="*", help="items to run (default every single series)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for item in defaults.items(out, args.data_dir):
            if not item["panel"] and (not args.only or item["name"] in args.only):
                print(json.dumps(check(item, out)), flush=True)


if __name__ == "__main__":
    main()
