"""Error metrics and the two baselines every model must beat. Plain NumPy.

Arrays of forecasts are shaped (windows, horizon, targets); a series is (rows, targets).
"""

from __future__ import annotations

import numpy as np

METRICS = ("mae", "rmse", "mape", "smape", "mase")


def naive(series: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last observed value: the forecast for every step is the row before the origin."""
    return np.repeat(series[origins - 1][:, None, :], horizon, axis=1)


def seasonal_naive(series: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat the last full season: step h copies the value one (or more) seasons before it.

    Args:
        series: (rows, targets) values.
        origins: the first forecast row of each window (its inputs end just before).
        season: season length in steps; 1 gives the naive forecast.
    """
    steps = np.arange(horizon)
    lags = season * ((steps // season) + 1)
    rows = origins[:, None] + steps[None, :] - lags[None, :]
    if rows.min() < 0:
        raise ValueError(f"a seasonal naive forecast needs {int(-rows.min())} more rows of history")
    return series[rows]


def mase_scale(train: np.ndarray, season: int) -> np.ndarray:
    """Mean absolute seasonal difference on the training rows, per target (Hyndman & Koehler).

    0 for a target whose training rows never change (a constant, all zeros): its MASE is undefined
    (`score` reports None), not its MAE passed off as a MASE.
    """
    season = season if len(train) > season else 1
    diff = np.abs(train[season:] - train[:-season])
    scale = np.nanmean(diff, axis=0) if np.isnan(diff).any() else diff.mean(axis=0)  # the same sum, less overhead
    return np.where(scale > 0, scale, 0.0)


def score(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict:
    """Every metric overall and per horizon step, over the actual values that were observed.

    A NaN actual (a target cell missing in the file, filled for the windows) is left out of
    every metric: an error against a made-up value says nothing of the forecast. A metric
    with no observed value left (a step, or the whole) is None, and so is MASE for a target whose
    `scale` is 0 (training rows that never changed). MAPE skips zero actuals (it
    is undefined there) and reports how many it skipped; for a series that takes both signs
    (temperatures in Celsius) it is None: a percentage of a value near zero says nothing.
    """
    observed = ~np.isnan(actual)
    err = forecast - actual
    abs_err = np.abs(err)
    # A zero that went through the float32 scaled array and back is 4e-8, not 0: under a millionth of the target's
    # largest value counts as zero (else an intermittent series' MAPE reads 2.7e9 %).
    largest = np.max(np.abs(np.where(observed, actual, 0.0)), axis=tuple(range(actual.ndim - 1)), keepdims=True)
    zero = observed & (np.abs(np.where(observed, actual, 1.0)) <= 1e-6 * largest)
    one_sign = ((actual >= 0) | zero | ~observed).all() or ((actual <= 0) | zero | ~observed).all()
    nonzero = observed & ~zero if one_sign else np.zeros(actual.shape, dtype=bool)
    pct = np.where(nonzero, abs_err / np.where(nonzero, np.abs(actual), 1.0), np.nan) * 100
    denom = np.abs(actual) + np.abs(forecast)
    sym = np.where(denom > 0, 2 * abs_err / np.where(denom > 0, denom, 1.0), np.where(observed, 0.0, np.nan)) * 100
    defined = np.asarray(scale) > 0  # 0: the training rows never changed, MASE is undefined
    scaled = np.where(defined, abs_err / np.where(defined, scale, 1.0), np.nan)
    squared = err**2
    steps = range(actual.shape[1])
    return {
        "overall": {
            "mae": _nanmean(abs_err),
            "rmse": _root(_nanmean(squared)),
            "mape": _nanmean(pct),
            "smape": _nanmean(sym),
            "mase": _nanmean(scaled),
        },
        "per_step": {
            "mae": [_nanmean(abs_err[:, h]) for h in steps],
            "rmse": [_root(_nanmean(squared[:, h])) for h in steps],
            "mape": [_nanmean(pct[:, h]) for h in steps],
            "smape": [_nanmean(sym[:, h]) for h in steps],
            "mase": [_nanmean(scaled[:, h]) for h in steps],
        },
        "mape_skipped_zeros": int(zero.sum()) if one_sign else 0,
        **({"unobserved": int((~observed).sum())} if not observed.all() else {}),
    }


def _nanmean(values: np.ndarray) -> float | None:
    """Mean of the defined values, None when there are none (all actuals zero, or none observed)."""
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


def _root(value: float | None) -> float | None:
    return None if value is None else float(np.sqrt(value))


def pinball(actual: np.ndarray, quantile_forecast: np.ndarray, quantiles) -> float | None:
    """Mean pinball (quantile) loss over every window, step, target and quantile.

    quantile_forecast has one more axis than actual, the quantiles last. For quantile q
    an error e = actual - forecast costs q * e when e > 0 and (q - 1) * e otherwise.
    Actual values that are NaN (not observed) are left out; None when none is observed.
    """
    q = np.asarray(quantiles, dtype="float64")
    error = actual[..., None] - quantile_forecast
    return _nanmean(np.maximum(q * error, (q - 1) * error))
