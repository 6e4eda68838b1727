"""Prediction intervals that hold their stated coverage: split conformal calibration per horizon step.

The validation windows were not used to fit the weights, so their errors are an
honest sample of the errors to come. Each residual (actual - forecast) is divided by
its window's spread, the standard deviation of the target over the window's inputs
(normalized conformal prediction): calm stretches get narrow intervals and volatile
ones wide, so that a test period calmer or wilder than validation keeps its coverage.
For each forecaster (the model and both baselines), each horizon step and each target,
the q-quantile of these scaled residuals, times the spread of the window being
forecast, is added to the forecast to give its q-quantile. With n residuals the rank
is rounded outward ((n + 1) q), the finite-sample correction that makes a central
interval cover at least its nominal level on exchangeable data. Quantiles never cross:
the offsets are sorted residuals, monotone in q.
"""

from __future__ import annotations

import math

import numpy as np

from rnnforecast import metrics, runs

CALIBRATION_FILE = "calibration.json"


def conformal_offsets(residuals: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Residual quantiles (quantiles, horizon, targets) from residuals (windows, horizon, targets)."""
    ordered = np.sort(residuals, axis=0)
    n = len(ordered)
    out = []
    for q in quantiles:
        rank = math.ceil((n + 1) * q) if q >= 0.5 else math.floor((n + 1) * q)
        out.append(ordered[min(max(rank, 1), n) - 1])
    return np.stack(out)


def apply(forecast: np.ndarray, offsets: np.ndarray, base: str = "point", spread=1.0) -> np.ndarray:
    """Calibrated quantile forecasts (..., horizon, targets, quantiles).

    base "point": forecast is (..., horizon, targets) and each quantile is it plus its
    offset. base "quantiles": forecast already holds the model's own quantiles (a model
    trained on the pinball loss), and the offsets widen or narrow them. `spread`
    (..., 1, targets) scales the offsets to each window.
    """
    moved = np.moveaxis(offsets, 0, -1) * np.asarray(spread)[..., None]
    return forecast + moved if base == "quantiles" else forecast[..., None] + moved


def quantile_offsets(model_quantiles: np.ndarray, actual: np.ndarray, quantiles: list[float], spread=1.0) -> np.ndarray:
    """Conformalized quantile regression: how far to move each central pair of the model's own quantiles.

    For the pair (lo, hi) the score max(q_lo - y, y - q_hi) says by how much the interval
    missed y (negative: by how much it held it); its conformal quantile at the pair's
    level moves q_lo down and q_hi up by the same amount (or both inward when negative).
    Quantiles outside a pair (the median) stay as the model gave them.
    """
    offsets = np.zeros((len(quantiles),) + actual.shape[1:])
    index = {round(q, 10): i for i, q in enumerate(quantiles)}
    for low, high in central_pairs(quantiles):
        i, j = index[round(low, 10)], index[round(high, 10)]
        score = np.maximum(model_quantiles[..., i] - actual, actual - model_quantiles[..., j]) / spread
        amount = conformal_offsets(score, [high - low])[0]
        offsets[i], offsets[j] = -amount, amount
    return offsets


def calibration(
    forecasts: dict, actual: np.ndarray, quantiles: list[float], model_quantiles=None, spread=1.0
) -> dict:
    """Per-step offsets of every forecaster, from its forecasts of the validation windows.

    With `model_quantiles` (a quantile model's own forecasts, their last axis the
    quantiles) the model's offsets adjust those quantiles instead of its point forecast.
    """
    offsets = {name: conformal_offsets((actual - forecast) / spread, quantiles) for name, forecast in forecasts.items()}
    bases = {name: "point" for name in forecasts}
    if model_quantiles is not None:
        offsets["model"], bases["model"] = quantile_offsets(model_quantiles, actual, quantiles, spread), "quantiles"
    return {
        "method": "split conformal on the validation windows, per horizon step and target, residuals divided "
        "by the standard deviation of each window's inputs",
        "quantiles": list(quantiles),
        "windows": int(len(actual)),
        "bases": bases,
        "offsets": {name: value.tolist() for name, value in offsets.items()},
    }


def save(run_path, calibration: dict) -> None:
    runs.write_json(run_path / CALIBRATION_FILE, calibration)


def load(run) -> dict | None:
    """A run's calibration, or None for a run that has none (a panel, or an older run)."""
    import json

    path = run.path / CALIBRATION_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def central_pairs(quantiles: list[float]) -> list[tuple[float, float]]:
    """The (lower, upper) quantile pairs that make central intervals, e.g. (0.1, 0.9) -> 80%."""
    return [(q, 1 - q) for q in quantiles if q < 0.5 and any(math.isclose(1 - q, p) for p in quantiles)]


def interval_scores(actual: np.ndarray, forecasts: dict, calibration: dict, spread=1.0) -> dict:
    """Pinball loss, and the coverage and mean width of each central interval, for every forecaster."""
    quantiles = calibration["quantiles"]
    index = {round(q, 10): i for i, q in enumerate(quantiles)}
    scores = {}
    for name, forecast in forecasts.items():
        base = calibration.get("bases", {}).get(name, "point")
        bands = apply(forecast, np.asarray(calibration["offsets"][name]), base, spread)
        entry = {"pinball": metrics.pinball(actual, bands, quantiles), "coverage": {}, "width": {}}
        for low, high in central_pairs(quantiles):
            lo, hi = bands[..., index[round(low, 10)]], bands[..., index[round(high, 10)]]
            label = f"{round(100 * (high - low))}%"
            entry["coverage"][label] = float(((actual >= lo) & (actual <= hi)).mean())
            entry["width"][label] = float((hi - lo).mean())
        scores[name] = entry
    return scores
