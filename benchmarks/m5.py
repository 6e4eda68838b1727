"""An M5-shaped panel end to end: load and prepare, one sampled epoch, predict every series with intervals.

    python benchmarks/m5.py                          # 30,490 series x up to 1,941 days (about 38 million rows)
    python benchmarks/m5.py --series 3000            # a tenth of it
    python benchmarks/m5.py --cluster local:2        # predict also on a local Dask cluster, against one process

The panel is generated (the M5 data itself is not redistributable here): daily unit sales of
30,490 items, intermittent counts with many zeros (a zero-inflated Poisson around each item's
level with a weekly cycle), each item starting on its own day within the first 1,400 (so
lengths differ, as items launch at different times), its price (changing every few weeks)
and a SNAP-like calendar flag as covariates. It is written once as Parquet and cached in
`--work` (default: a folder in the system's temporary directory).

Each step runs as the user runs it, in its own process (`rnnforecast train`, `rnnforecast predict`),
timed from outside and with its peak RSS from the kernel's accounting of that process (and, for a
cluster, of its workers: the largest is printed). Training is one epoch of `training.steps_per_epoch`
batches (windows drawn afresh each epoch from the index), so its time does not grow with the panel.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
DAYS = 1941


def make_m5(path: Path, n_series: int, seed: int = 0) -> int:
    """Write the generated panel to `path` (Parquet); return its number of rows."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 1400, n_series)
    lengths = DAYS - start
    rows = int(lengths.sum())
    series = np.repeat(np.arange(n_series), lengths)
    day = np.arange(rows) - np.repeat(np.cumsum(lengths) - lengths, lengths) + np.repeat(start, lengths)
    level = rng.gamma(0.6, 2.0, n_series)  # most items sell under one a day, a few sell dozens
    weekly = 1 + 0.25 * np.sin(2 * np.pi * (day % 7) / 7 + rng.uniform(0, 2 * np.pi, n_series)[series])
    selling = rng.random(rows) > rng.uniform(0.1, 0.6, n_series)[series]  # days with no sale at all
    sales = np.where(selling, rng.poisson(level[series] * weekly), 0).astype("int16")
    base_price = rng.uniform(0.5, 20, n_series)[series]
    price = (base_price * (1 - 0.1 * ((day // 28 + series) % 4 == 0))).astype("float32")  # a discount every 4th month
    snap = ((day % 30) < 10).astype("int8")
    names = np.array([f"ITEM_{i:05d}_CA_1" for i in range(n_series)])
    table = pd.DataFrame({
        "item_id": pd.Categorical.from_codes(series, names),
        "date": pd.Timestamp("2011-01-29") + pd.to_timedelta(day, unit="D"),
        "sales": sales,
        "sell_price": price,
        "snap": snap,
    })
    table.to_parquet(path, index=False)
    return rows


def run_timed(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stdout) of one command; the peak is the kernel's for that process tree (wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if process.returncode != 0:
            sys.exit(f"failed: {' '.join(command)}\n{err.read()[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=30_490)
    parser.add_argument("--steps-per-epoch", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--cluster", default=None, help="also predict with --cluster SPEC and compare")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "rnnforecast-m5")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = args.work / f"m5-{args.series}.parquet"
    if not data.exists():
        started = time.perf_counter()
        rows = make_m5(data, args.series)
        print(f"generated {args.series} series, {rows:,} rows in {time.perf_counter() - started:.0f} s: {data}")
    cli = [str(Path(sys.executable).parent / "rnnforecast")]
    config = {
        "data": {"path": str(data), "id_column": "item_id", "time_column": "date", "targets": ["sales"],
                 "features": ["sell_price", "snap"]},
        "window": {"horizon": args.horizon},
        "training": {"epochs": 1, "steps_per_epoch": args.steps_per_epoch, "batch_size": args.batch_size},
        "run": {"dir": str(args.work / "runs")},
    }
    config_path = args.work / "m5.yaml"
    config_path.write_text(yaml.safe_dump(config))
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    # Loading alone, in a process of its own, so its peak memory is not the training's
    probe = ("import sys, time; sys.path.insert(0, %r); from rnnforecast import config, training; "
             "c = config.load_config(%r); t = time.perf_counter(); p = training.prepare_data(c); "
             "print(time.perf_counter() - t, len(p.prep['series']), len(p.starts['train']), p.values.nbytes)")
    seconds, peak, out = run_timed([sys.executable, "-c", probe % (str(ROOT), str(config_path))])
    load, n, windows, nbytes = out.split()
    print(f"load and prepare: {float(load):.1f} s ({seconds:.1f} s with start-up), peak RSS {peak:,.0f} MB; "
          f"{n} series, {int(windows):,} training windows, data array {int(nbytes) / 2**20:,.0f} MB")

    seconds, peak, out = run_timed(cli + ["train", str(config_path), "--set", "training.refit=false"])
    run = out.strip().splitlines()[-1]
    epoch = [line.split(" - ")[1] for line in out.splitlines() if line.startswith(f"{args.steps_per_epoch}/")]
    print(f"train (load, fitted highway, one epoch of {args.steps_per_epoch} x {args.batch_size}, validation, "
          f"calibration): {seconds:.1f} s, peak RSS {peak:,.0f} MB; the epoch itself (Keras): {epoch[0] if epoch else '?'}")

    out_file = args.work / "forecast.parquet"
    seconds, peak, _ = run_timed(cli + ["predict", run, "--output", str(out_file)])
    forecast = pd.read_parquet(out_file)
    print(f"predict every series with intervals, one process: {seconds:.1f} s, peak RSS {peak:,.0f} MB; "
          f"{forecast['item_id'].nunique()} series x {args.horizon} steps, columns {list(forecast.columns)}")
    if args.cluster:
        cluster_file = args.work / "forecast-cluster.parquet"
        seconds_c, peak_c, _ = run_timed(cli + ["predict", run, "--cluster", args.cluster, "--output", str(cluster_file)])
        same = pd.read_parquet(cluster_file).equals(forecast)
        print(f"predict on --cluster {args.cluster}: {seconds_c:.1f} s ({seconds / seconds_c:.2f}x one process), "
              f"largest process's peak RSS {peak_c:,.0f} MB; same table as one process: {same}")


if __name__ == "__main__":
    main()
