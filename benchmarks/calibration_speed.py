"""How long the rolling adaptive calibration takes at a long horizon (benchmarks/PERFORMANCE.md, section 23).

    python benchmarks/calibration_speed.py [--validation 10801] [--test 10801] [--horizon 720] [--targets 7] [--gamma 0.005]

`evaluate` calibrates every forecaster's intervals (the model and both baselines) by
`intervals.offsets_at` with the default calibration (rolling, gamma 0.005, floor 0.25,
quantiles 0.1, 0.5, 0.9) at every test origin. The defaults here are ETTm1's sizes at
H=720 (LTSF split: 10,801 validation and 10,801 test windows, 720 steps x 7 targets).
The scores are made up (Student-t errors whose scale drifts); one forecaster is timed.
`--gamma 0` times the rolling calibration without adaptive inference.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import time

import numpy as np

from rnnforecast import intervals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--validation", type=int, default=10_801)
    parser.add_argument("--test", type=int, default=10_801)
    parser.add_argument("--horizon", type=int, default=720)
    parser.add_argument("--targets", type=int, default=7)
    parser.add_argument("--gamma", type=float, default=0.005)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.horizon, args.targets)
    drift = np.linspace(1.0, 2.0, args.validation + args.test)[:, None, None]
    scores = rng.standard_t(5, size=(args.validation + args.test,) + shape) * drift
    history, recent = scores[: args.validation], scores[args.validation :]
    calibration = {"method": "rolling", "window": args.validation, "gamma": args.gamma or None,
                   "floor": 0.25 if args.gamma else None,
                   "quantiles": [0.1, 0.5, 0.9], "windows": args.validation, "bases": {"model": "point"},
                   "scores": {"model": history}}
    origins = np.arange(args.test) + 100_000
    start = time.perf_counter()
    found = intervals.offsets_at(calibration, "model", origins, args.horizon, recent, origins)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.validation} validation + {args.test} test windows, {args.horizon} x {args.targets}, gamma {args.gamma}: "
          f"{seconds:.1f} s for one forecaster, peak RSS {peak:,.0f} MB; offsets {found.shape}, "
          f"mean 80% width {np.mean(found[:, 2] - found[:, 0]):.4f}, digest "
          f"{hashlib.sha1(np.ascontiguousarray(found).tobytes()).hexdigest()[:12]}")


if __name__ == "__main__":
    main()
