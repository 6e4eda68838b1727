"""The fixed cost of each command on a small run: what a user (and the test suite) pays before any real work.

    python benchmarks/short_runs.py                 # median of 3 of each command
    python benchmarks/short_runs.py --repeats 5

A one-layer GRU of 4 units over 14 days of the shipped temperatures, one epoch, no final
model: the training itself is a few milliseconds, so what is timed is tracing, compiling,
loading, calibrating and drawing. Commands run in this process (as the CLI runs them),
after one warm-up round that pays the imports.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from typer.testing import CliRunner  # noqa: E402

from benchmarks.throughput import machine_facts  # noqa: E402
from rnnforecast.cli import app  # noqa: E402

CONFIG = {
    "data": {"path": str(ROOT / "data" / "daily-min-temperatures.csv"), "targets": ["Temp"]},
    "window": {"input_length": 14, "horizon": 7},
    "model": {"type": "gru", "layers": [{"units": 4}]},
    "training": {"epochs": 1, "batch_size": 256, "seed": 1, "refit": False},
}


def one_round(folder: Path, runner: CliRunner) -> dict[str, float]:
    """Seconds of train, evaluate, predict and plot of one new run."""
    folder.mkdir(parents=True)
    config = folder / "short.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "run": {"dir": str(folder / "runs")}}))
    times, run = {}, None
    for name, args in [("train", ["train", str(config)]), ("evaluate", ["evaluate", "{run}", "--format", "json"]),
                       ("predict", ["predict", "{run}", "--output", str(folder / "f.csv")]),
                       ("plot", ["plot", "{run}", "--output", str(folder / "f.png")])]:
        start = time.perf_counter()
        result = runner.invoke(app, [a.replace("{run}", str(run)) for a in args])
        times[name] = time.perf_counter() - start
        if result.exit_code != 0:
            raise SystemExit(f"{name} failed: {result.output}")
        run = run or result.stdout.strip().splitlines()[-1]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    facts = machine_facts(0)
    print(f"cpu: {facts['cpu']}, {facts['cores']} cores, load {facts['load']:.2f}, {facts['versions']}")
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        one_round(Path(tmp) / "warm-up", runner)
        rounds = [one_round(Path(tmp) / f"r{i}", runner) for i in range(args.repeats)]
    for name in rounds[0]:
        values = [r[name] for r in rounds]
        print(f"{name:9s} median {statistics.median(values):5.2f} s  (range {min(values):.2f} to {max(values):.2f})")


if __name__ == "__main__":
    main()
