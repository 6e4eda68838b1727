"""Peak memory of `rnnforecast train` on a long multivariate series: windows must never be materialised.

    python benchmarks/memory.py                # 1,000,000 rows x 7 columns, 336-step look-back
    python benchmarks/memory.py --steps 20     # a quicker look

Writes an hourly CSV file and a config to a temporary folder, runs the real command
(`rnnforecast train`, in a child process: reading, cleaning, scaling, window batches, the
fit loop, checkpoints and the saved run) for one epoch capped at `--steps` batches
(`training.steps_per_epoch`), and prints the child's peak resident memory in MB last.
Materialising the training windows instead would take windows x 336 x 7 x 4 bytes, about
9 GB here, so the figure shows that they are gathered batch by batch.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml


def write_series(path: Path, n_rows: int, n_columns: int, seed: int = 0) -> None:
    """An hourly series with daily and weekly seasons and noise, written in chunks (flat memory here)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2000-01-01T00:00")
    with path.open("w") as out:
        out.write("date," + ",".join(f"c{i}" for i in range(n_columns)) + "\n")
        for lo in range(0, n_rows, 100_000):
            t = np.arange(lo, min(lo + 100_000, n_rows))
            stamps = np.datetime_as_string(start + t.astype("timedelta64[h]"), unit="m")
            base = np.sin(2 * np.pi * t / 24)[:, None] + 0.5 * np.sin(2 * np.pi * t / 168)[:, None]
            block = base * (1 + 0.1 * np.arange(n_columns)) + 0.2 * rng.standard_normal((len(t), n_columns))
            lines = [f"{s}," + ",".join(f"{v:.4f}" for v in row) for s, row in zip(stamps, block)]
            out.write("\n".join(lines) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=7)
    parser.add_argument("--input-length", type=int, default=336)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--steps", type=int, default=200, help="training batches (training.steps_per_epoch)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "simple_rnn"])
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "long.csv"
        started = time.perf_counter()
        write_series(csv, args.rows, args.columns)
        print(f"wrote {args.rows} rows x {args.columns} columns ({csv.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        config = {
            "data": {
                "path": str(csv),
                "time_column": "date",
                "targets": ["c0"],
                "features": [f"c{i}" for i in range(1, args.columns)],
                "split": {"train": 0.98, "val": 0.01},  # validation stays short: this measures memory
            },
            "window": {"input_length": args.input_length, "horizon": args.horizon},
            "model": {"type": args.cell, "layers": [{"units": 64}, {"units": 64}]},
            "training": {"epochs": 1, "batch_size": args.batch_size, "steps_per_epoch": args.steps},
            "run": {"dir": str(folder / "runs")},
        }
        config_path = folder / "long.yaml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        started = time.perf_counter()
        command = [sys.executable, "-c", "from rnnforecast.cli import app; app()", "train", str(config_path)]
        result = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"rnnforecast train failed ({result.returncode}):\n{result.stderr[-3000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kilobytes on Linux
    print(f"rnnforecast train: {args.rows} rows x {args.columns} columns, input_length {args.input_length}, "
          f"{args.steps} batches of {args.batch_size}, {seconds:.0f} s")
    print(f"peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
