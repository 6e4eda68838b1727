"""Prediction intervals that hold their stated coverage: split conformal calibration per horizon step.

The validation windows were not used to fit the weights, so their errors are an
honest sample of the errors to come. For each forecaster (the model and both
baselines), each horizon step and each target, the q-quantile of the validation
residuals (actual - forecast) is added to the forecast to give its q-quantile. With n
residuals the rank is rounded outward ((n + 1) q), the finite-sample correction that
makes a central interval cover at least its nominal level on exchangeable data.
Quantiles never cross: the offsets are sorted residuals, monotone in q.
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


def apply(forecast: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Point forecasts (..., horizon, targets) to quantile forecasts (..., horizon, targets, quantiles)."""
    return forecast[..., None] + np.moveaxis(offsets, 0, -1)


def calibration(forecasts: dict, actual: np.ndarray, quantiles: list[float]) -> dict:
    """Per-step residual quantiles of every forecaster, from its forecasts of the validation windows."""
    return {
        "method": "split conformal on the validation windows, per horizon step and target",
        "quantiles": list(quantiles),
        "windows": int(len(actual)),
        "offsets": {name: conformal_offsets(actual - forecast, quantiles).tolist() for name, forecast in forecasts.items()},
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


def interval_scores(actual: np.ndarray, forecasts: dict, calibration: dict) -> dict:
    """Pinball loss, and the coverage and mean width of each central interval, for every forecaster."""
    quantiles = calibration["quantiles"]
    index = {round(q, 10): i for i, q in enumerate(quantiles)}
    scores = {}
    for name, forecast in forecasts.items():
        bands = apply(forecast, np.asarray(calibration["offsets"][name]))
        entry = {"pinball": metrics.pinball(actual, bands, quantiles), "coverage": {}, "width": {}}
        for low, high in central_pairs(quantiles):
            lo, hi = bands[..., index[round(low, 10)]], bands[..., index[round(high, 10)]]
            label = f"{round(100 * (high - low))}%"
            entry["coverage"][label] = float(((actual >= lo) & (actual <= hi)).mean())
            entry["width"][label] = float((hi - lo).mean())
        scores[name] = entry
    return scores
