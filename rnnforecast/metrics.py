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
    """Mean absolute seasonal difference on the training rows, per target (Hyndman & Koehler)."""
    season = season if len(train) > season else 1
    diff = np.abs(train[season:] - train[:-season])
    scale = np.nanmean(diff, axis=0) if np.isnan(diff).any() else diff.mean(axis=0)  # the same sum, less overhead
    return np.where(scale > 0, scale, 1.0)


def score(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> dict:
    """Every metric overall and per horizon step.

    MAPE skips zero actuals (it is undefined there) and reports how many it skipped;
    for a series that takes both signs (temperatures in Celsius) it is None: a
    percentage of a value near zero says nothing.
    """
    err = forecast - actual
    abs_err = np.abs(err)
    # A zero that went through the float32 scaled array and back is 4e-8, not 0: under a millionth of the target's
    # largest value counts as zero (else an intermittent series' MAPE reads 2.7e9 %).
    zero = np.abs(actual) <= 1e-6 * np.max(np.abs(actual), axis=tuple(range(actual.ndim - 1)), keepdims=True)
    one_sign = ((actual >= 0) | zero).all() or ((actual <= 0) | zero).all()
    nonzero = ~zero if one_sign else np.zeros(actual.shape, dtype=bool)
    pct = np.where(nonzero, abs_err / np.where(nonzero, np.abs(actual), 1.0), np.nan) * 100
    denom = np.abs(actual) + np.abs(forecast)
    sym = np.where(denom > 0, 2 * abs_err / np.where(denom > 0, denom, 1.0), 0.0) * 100
    scaled = abs_err / scale
    per_step_axes = (0, 2)
    return {
        "overall": {
            "mae": float(abs_err.mean()),
            "rmse": float(np.sqrt((err**2).mean())),
            "mape": _nanmean(pct),
            "smape": float(sym.mean()),
            "mase": float(scaled.mean()),
        },
        "per_step": {
            "mae": abs_err.mean(axis=per_step_axes).tolist(),
            "rmse": np.sqrt((err**2).mean(axis=per_step_axes)).tolist(),
            "mape": [_nanmean(pct[:, h]) for h in range(pct.shape[1])],
            "smape": sym.mean(axis=per_step_axes).tolist(),
            "mase": scaled.mean(axis=per_step_axes).tolist(),
        },
        "mape_skipped_zeros": int(zero.sum()) if one_sign else 0,
    }


def _nanmean(values: np.ndarray) -> float | None:
    """Mean of the defined values, None when there are none (all actuals zero)."""
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


def pinball(actual: np.ndarray, quantile_forecast: np.ndarray, quantiles) -> float:
    """Mean pinball (quantile) loss over every window, step, target and quantile.

    quantile_forecast has one more axis than actual, the quantiles last. For quantile q
    an error e = actual - forecast costs q * e when e > 0 and (q - 1) * e otherwise.
    """
    q = np.asarray(quantiles, dtype="float64")
    error = actual[..., None] - quantile_forecast
    return float(np.maximum(q * error, (q - 1) * error).mean())
