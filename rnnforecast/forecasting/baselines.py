"""The naive and seasonal-naive baselines every score is shown beside."""

from __future__ import annotations

import numpy as np

from rnnforecast import metrics


def baseline_forecasts(targets: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """The naive and seasonal-naive forecasts from each origin: the two baselines every score is shown beside.

    Args:
        targets: (rows, targets) array, in any units (the forecasts come out in the same).
        origins: (windows,) row of each window's first forecast step.
        horizon: steps forecast.
        season: the seasonal lag; naive is used when the first origin has less than one season of history.

    Returns:
        {"naive": (windows, horizon, targets), "seasonal_naive": (windows, horizon, targets)}.
    """
    if origins.min() < season:
        season = 1  # not one season of history before the first origin: fall back to naive
    return {
        "naive": metrics.naive(targets, origins, horizon),
        "seasonal_naive": metrics.seasonal_naive(targets, origins, horizon, season),
    }
