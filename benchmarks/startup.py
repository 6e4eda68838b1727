"""Start-up time of `rnnforecast --help` and each command's `--help`: median of 11 runs each.

    python benchmarks/startup.py

`python -c pass` is timed too, as the floor. Run from the repository root with the
virtual environment's `rnnforecast` at .venv/bin/rnnforecast (or pass its path).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

COMMANDS = [[], ["train"], ["evaluate"], ["predict"], ["plot"], ["backtest"], ["info"]]


def median_seconds(command: list[str], runs: int = 11) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    executable = sys.argv[1] if len(sys.argv) > 1 else ".venv/bin/rnnforecast"
    print(f"{'python -c pass':<28} median {median_seconds([sys.executable, '-c', 'pass']):.3f} s")
    for command in COMMANDS:
        args = [*command, "--help"]
        print(f"{'rnnforecast ' + ' '.join(args):<28} median {median_seconds([executable, *args]):.3f} s")


if __name__ == "__main__":
    main()
