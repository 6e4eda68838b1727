"""Forecasts from a trained run: the future, the test period, and their scores.

Shared by `predict`, `evaluate` and `plot`. New data (`--data`) goes through the
preprocessing fitted at training time, never a refit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import data, metrics
from rnnforecast.errors import UserError
from rnnforecast.runs import Run

PREDICT_CHUNK = 4096  # windows gathered per predict call: memory stays flat on long series


@dataclass
class Prepared:
    """A run's data, on its grid, filled and scaled with the training-time state."""

    run: Run
    series: data.Series
    values: np.ndarray
    valid: np.ndarray
    test_lo: int  # first row whose target is scored
    test_hi: int  # one past the last row whose target is scored (data.split.test_end, else the end)

    @property
    def n_targets(self) -> int:
        return len(self.run.prep["targets"])


@dataclass
class TestForecasts:
    """Every test window: where it starts, its actuals and each forecaster's output (data units)."""

    origins: np.ndarray  # row of the first forecast step of each window
    actual: np.ndarray  # (windows, horizon, targets)
    forecasts: dict[str, np.ndarray]  # model, naive, seasonal_naive -> same shape as actual


def prepare(run: Run, data_path: Path | None = None) -> Prepared:
    """Load the training file, or newer data with the same columns, the way training saw it.

    With newer data, only targets after the last time the model saw in training or
    validation are scored (all of them when the data has no time column).
    """
    series = data.load_series(
        run.config.data, path=data_path, frequency=run.prep["frequency"], categories=run.prep.get("categories")
    )
    values, valid = data.prepare(series, run.prep)
    L = run.config.window.input_length
    if len(values) < L:
        raise UserError(
            f"{series.path.name} has {len(values)} rows on its grid, fewer than the model's input_length of {L}. "
            "Give a file with at least that much history."
        )
    if data_path is None:
        test_lo = run.prep["val_end"]
    elif isinstance(series.index, pd.DatetimeIndex):
        last_seen = pd.Timestamp(run.prep["last_seen"])
        if series.index.tz is not None and last_seen.tz is None:
            last_seen = last_seen.tz_localize(series.index.tz)
        test_lo = max(int(series.index.searchsorted(last_seen, side="right")), L)
    else:
        test_lo = L
    test_hi = min(run.prep.get("test_end") or len(values), len(values)) if data_path is None else len(values)
    return Prepared(run, series, values, valid, test_lo, test_hi)


def predict_scaled(model, values: np.ndarray, starts: np.ndarray, input_length: int) -> np.ndarray:
    """Model forecasts (scaled units) for windows starting at `starts`, gathered chunk by chunk."""
    out = []
    for i in range(0, len(starts), PREDICT_CHUNK):
        chunk = starts[i : i + PREDICT_CHUNK]
        inputs = values[chunk[:, None] + np.arange(input_length)]
        out.append(np.asarray(model.predict(inputs, batch_size=1024, verbose=0)))
    return np.concatenate(out) if out else np.empty((0,))


def future(prepared: Prepared, model=None) -> pd.DataFrame:
    """The next `horizon` steps after the last row, in the data's units, indexed by their timestamps."""
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    model = model or run.load_model()
    start = np.array([len(prepared.values) - L])
    scaled = predict_scaled(model, prepared.values, start, L)[0]
    index = data.future_index(prepared.series.index, prepared.series.frequency, H)
    return pd.DataFrame(data.unscale(scaled, run.prep), index=index, columns=run.prep["targets"])


def test_forecasts(prepared: Prepared, model=None, stride: int = 1) -> TestForecasts:
    """Forecasts of the model and both baselines for every test origin (every `stride`-th)."""
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    starts = data.window_starts(prepared.valid, L, H, prepared.test_lo, prepared.test_hi, stride)
    if len(starts) == 0:
        raise UserError(
            f"{prepared.series.path.name} has no complete window to score after {run.prep['last_seen']} "
            f"(each needs {L} rows of history and {H} rows to compare). Give newer or longer data."
        )
    model = model or run.load_model()
    n_targets = prepared.n_targets
    scaled_targets = prepared.values[:, :n_targets]
    origins = starts + L
    season = int(run.prep["season_length"])
    if origins.min() < season:
        season = 1  # not one season of history before the first origin: fall back to naive
    scaled = {
        "model": predict_scaled(model, prepared.values, starts, L),
        "naive": metrics.naive(scaled_targets, origins, H),
        "seasonal_naive": metrics.seasonal_naive(scaled_targets, origins, H, season),
    }
    actual = scaled_targets[origins[:, None] + np.arange(H)]
    return TestForecasts(
        origins,
        data.unscale(actual, run.prep),
        {name: data.unscale(value, run.prep) for name, value in scaled.items()},
    )


def evaluate(prepared: Prepared, model=None) -> dict:
    """Model and baselines scored on the test windows, in data units and in scaled units."""
    run = prepared.run
    result = test_forecasts(prepared, model)
    scale = np.asarray(run.prep["mase_scale"])
    unit = np.asarray(run.prep["scale"][: prepared.n_targets])
    center = np.asarray(run.prep["center"][: prepared.n_targets])
    index = prepared.series.index
    report = {
        "run": str(run.path),
        "data": str(prepared.series.path),
        "targets": run.prep["targets"],
        "windows": int(len(result.origins)),
        "horizon": run.config.window.horizon,
        "season_length": int(run.prep["season_length"]),
        "period": [str(index[result.origins[0]]), str(index[result.origins[-1] + run.config.window.horizon - 1])],
        "original": {},
        "scaled": {},
    }
    actual_scaled = (result.actual - center) / unit
    for name, forecast in result.forecasts.items():
        report["original"][name] = metrics.score(result.actual, forecast, scale)
        report["scaled"][name] = metrics.score(actual_scaled, (forecast - center) / unit, scale / unit)
    return report


def test_path(prepared: Prepared, model=None) -> pd.DataFrame:
    """Non-overlapping forecasts across the test period (one every `horizon` steps), for the plot."""
    H = prepared.run.config.window.horizon
    result = test_forecasts(prepared, model, stride=H)
    rows = (result.origins[:, None] + np.arange(H)).ravel()
    targets = prepared.run.prep["targets"]
    forecast = result.forecasts["model"].reshape(-1, len(targets))
    return pd.DataFrame(forecast, index=prepared.series.index[rows], columns=targets)
