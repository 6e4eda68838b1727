"""Train one epoch on a generated panel of many series and print the peak memory and the speed.

    python benchmarks/panel.py                       # 10,000 series x 1,000 points
    python benchmarks/panel.py --series 500 --points 400
    python benchmarks/panel.py --series 2000 --load-only   # only reading and preparing

The panel is written as Parquet in a temporary folder and goes through the same path as
`rnnforecast train` (load_panel -> prepare_data -> build -> fit). Windows are indexed, never
materialised, so the peak memory is the data (series x points x columns x 4 bytes, a few
copies while loading) plus the model, whatever the window length. Last line: peak RSS in MB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rnnforecast import config, training  # noqa: E402


def make_panel(folder: Path, n_series: int, n_points: int, seed: int = 0, shuffle: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    steps = np.arange(n_points)
    level = rng.uniform(1, 100, size=(n_series, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n_series, 1))
    values = level * (1 + 0.3 * np.sin(2 * np.pi * steps / 24 + phase)) + rng.normal(0, 1, (n_series, n_points))
    table = pd.DataFrame({
        "series": np.repeat([f"s{i:05d}" for i in range(n_series)], n_points),
        "time": np.tile(pd.date_range("2024-01-01", periods=n_points, freq="h"), n_series),
        "value": values.ravel().astype("float32"),
    })
    if shuffle:  # rows in any order: the reader sorts them (the usual file is written series by series)
        table = table.sample(frac=1.0, random_state=seed)
    path = folder / "panel.parquet"
    table.to_parquet(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000)
    parser.add_argument("--input-length", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--load-only", action="store_true", help="time load and prepare, skip the epoch")
    parser.add_argument("--shuffle", action="store_true", help="write the rows in random order")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = make_panel(Path(folder), args.series, args.points, shuffle=args.shuffle)
        cfg = config.validate({
            "data": {"path": str(path), "id_column": "series", "time_column": "time", "targets": ["value"],
                     "frequency": "h"},
            "window": {"input_length": args.input_length, "horizon": args.horizon},
            "model": {"type": "gru", "layers": [{"units": 16}], "normalization": "last"},
            "training": {"epochs": 1, "batch_size": args.batch_size, "early_stopping": None, "reduce_lr": None},
            "run": {"dir": folder},
        })
        t0 = time.perf_counter()
        prepared = training.prepare_data(cfg)
        t1 = time.perf_counter()
        if not args.load_only:
            model = training.build(cfg, len(prepared.series.columns))
            training.fit(model, prepared, cfg, verbose=0)
        t2 = time.perf_counter()
    windows = len(prepared.starts["train"])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"series {len(prepared.prep['series'])}, points {args.points}, window {args.input_length}+{args.horizon}")
    print(f"load and prepare: {t1 - t0:.1f} s")
    if not args.load_only:
        print(f"train one epoch: {windows} windows in {t2 - t1:.1f} s = {windows / (t2 - t1):.0f} windows/s")
    print(f"data array: {prepared.values.nbytes / 2**20:.0f} MB")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
