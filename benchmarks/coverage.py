"""Compare calibration methods across data sets: coverage and width of the 80% interval on the test windows.

    python benchmarks/coverage.py configs/pollution.yaml ... runs/benchmarks/<run> ... [--gamma 0.005]

Each argument is a config (trained first with `rnnforecast train`) or a run folder already trained. For
each run the script calibrates with every method below (`rnnforecast calibrate`) and scores the test
windows (`rnnforecast evaluate --format json`), exactly as a user would, then leaves the run calibrated
with the config's own settings again. Methods:

    split     the validation windows' errors only
    rolling   the last N errors known at each test origin (the default)
    aci       rolling, plus adaptive conformal inference with step --gamma (Gibbs and Candes, 2021), its
              level kept at or above --floor times the nominal miss rate (the defaults since 2026-11-25)
    pool-kH   rolling with a pool of min(n, k H) errors instead of n (n validation windows, H the
              horizon), one method per k in --pool-multiples

The last line printed is the mean absolute distance of the model's coverage from the nominal 80% over
every data set, per method, e.g. `mean |coverage - 80%|: split 2.31  rolling 1.20  aci 0.71 (points)`.
It is the evidence for the `calibration` defaults; the ETTh1 OT and quick-start runs that the
interval targets are measured on (benchmarks/RESULTS.md) are deliberately not part of it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(Path(sys.executable).parent / "rnnforecast")]  # the entry point installed beside this Python
METHODS = {"split": ["--method", "split"], "rolling": ["--method", "rolling", "--gamma", "0"], "aci": ["--method", "rolling"]}


def run_cli(*args: str) -> str:
    """Run one rnnforecast command from the project root; stop with its stderr when it fails."""
    done = subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: rnnforecast {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def trained_run(item: str) -> Path:
    """A run folder: the argument itself, or the run `rnnforecast train` makes from a config."""
    path = Path(item)
    if path.is_dir():
        return path
    lines = run_cli("train", str(path)).split()
    return ROOT / lines[-1]  # `train` prints the run folder last on stdout


def run_methods(run: Path, multiples: list[int]) -> dict[str, list[str]]:
    """The calibrate options of every method, the pool sizes from the run's horizon and validation windows."""
    import yaml

    horizon = yaml.safe_load((run / "config.yaml").read_text())["window"]["horizon"]
    n = json.loads((run / "calibration.json").read_text())["windows"]
    pools = {f"pool-{k}H": ["--method", "rolling", "--gamma", "0", "--window", str(min(n, k * horizon))] for k in multiples}
    return METHODS | pools


def interval_scores(run: Path, options: list[str], gamma: float, floor: float) -> dict[str, tuple[float, float]]:
    """(coverage, mean width) of the 80% interval for the model and seasonal naive, after calibrating."""
    extra = ["--gamma", str(gamma), "--floor", str(floor)] if options == METHODS["aci"] else []
    run_cli("calibrate", str(run), "--quantiles", "0.1,0.5,0.9", *options, *extra)
    report = json.loads(run_cli("evaluate", str(run), "--format", "json"))
    intervals = report["intervals"]
    return {name: (intervals[name]["coverage"]["80%"], intervals[name]["width"]["80%"]) for name in ("model", "seasonal_naive")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("items", nargs="+", help="configs to train, or run folders")
    parser.add_argument("--gamma", type=float, default=0.005, help="the aci method's step (Gibbs and Candes's value)")
    parser.add_argument("--floor", type=float, default=0.25, help="the aci method's lower bound on its level, x the miss rate")
    parser.add_argument("--pool-multiples", default="", help="e.g. 10,20: also rolling pools of 10 H and 20 H errors")
    parser.add_argument("--methods", default="", help="only these, e.g. rolling,pool-10H (default: every method)")
    args = parser.parse_args(argv)
    multiples = [int(k) for k in args.pool_multiples.split(",") if k]
    only = set(filter(None, args.methods.split(",")))

    rows = []
    for item in args.items:
        started = time.perf_counter()
        run = trained_run(item)
        run_cli("calibrate", str(run))  # the config's own calibration, which records n
        methods = {m: o for m, o in run_methods(run, multiples).items() if not only or m in only}
        scores = {method: interval_scores(run, options, args.gamma, args.floor) for method, options in methods.items()}
        run_cli("calibrate", str(run))  # back to the config's own calibration
        rows.append((run.name, scores))
        cells = "  ".join(
            f"{m} {100 * s['model'][0]:.1f}% / {s['model'][1]:.4g} (sn {100 * s['seasonal_naive'][0]:.1f}% / "
            f"{s['seasonal_naive'][1]:.4g})"
            for m, s in scores.items()
        )
        print(f"{run.name}: {cells}  [{time.perf_counter() - started:.0f} s]", flush=True)
    methods = list(rows[0][1])
    distance = {m: sum(abs(100 * s[m]["model"][0] - 80) for _, s in rows) / len(rows) for m in methods}
    narrower = {m: sum(s[m]["model"][1] < s[m]["seasonal_naive"][1] for _, s in rows) for m in methods}
    print(
        f"{len(rows)} data sets, gamma {args.gamma:g}, floor {args.floor:g}: mean |coverage - 80%|: "
        + "  ".join(f"{m} {d:.3f}" for m, d in distance.items())
        + " (points); narrower than seasonal naive: "
        + "  ".join(f"{m} {n}/{len(rows)}" for m, n in narrower.items()),
        flush=True,
    )


if __name__ == "__main__":
    main()
