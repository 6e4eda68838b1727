"""Dev-only: does the model refit on train+validation forecast a later period better than the honest one?
Each item is cut to its first 85% of rows (the report's test period is never read); that cut's own last 15%
is scored as backtest scores it (stride = horizon)."""
import json, sys
from dataclasses import replace
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, "benchmarks")
import defaults
from rnnforecast import config as cm, training, data, forecasting, metrics
out = Path("/tmp/exp3"); (out / "cut").mkdir(parents=True, exist_ok=True)
names = sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else None
for item in defaults.items(out, Path("../shared/data")):
    if item["panel"] or (names and item["name"] not in names): continue
    frame = pd.read_csv(item["path"])
    cut = out / "cut" / Path(item["path"]).name
    frame.iloc[: int(len(frame) * 0.85)].to_csv(cut, index=False)
    raw = defaults.minimal_config(cut, item["target"], item["horizon"], False, out / "runs")
    config = cm.validate(raw)
    p = training.prepare_data(config)
    L, H = config.window.input_length, config.window.horizon
    model = training.build(config, len(p.series.columns), p.prep["season_length"])
    fitted = training.fit(model, p, config, verbose=0)
    _, valid = data.prepare(p.series, p.prep)
    test = data.part_starts(valid, p.bounds, config.window, "test", H)
    before = data.window_starts(valid, L, H, 0, p.bounds.val_end, config.window.stride)
    final, _ = training.refit(config, replace(p, starts={**p.starts, "all": before}), fitted.history,
                              fitted.best_epoch + 1, 0, fitted.highway_prior_windows)
    n = len(config.data.targets); origins = test + L
    actual = p.values[origins[:, None] + np.arange(H), :n]
    season = int(p.prep["season_length"])
    sn = metrics.seasonal_naive(p.values[:, :n], origins, H, season)
    base = np.abs(sn - actual).mean()
    res = {"item": item["name"], "folds": len(test), "best_epoch": fitted.best_epoch + 1}
    for name, m in (("honest", model), ("refit", final)):
        out_ = forecasting.predict_scaled(m, p.values, test, L, H, data.n_known(config.data))
        point = forecasting.point_of(config.model.output.quantiles, out_)[0]
        res[name] = round(float(np.abs(point - actual).mean() / base), 4)
    print(json.dumps(res), flush=True)
