"""The fitted preprocessing (fill values, scaler, known-future inputs), fitted on training rows only.

The fitted state is a JSON-ready dict, saved in a run's preprocessing.json.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnforecast.config import DataConfig
from rnnforecast.data.grid import (calendar_features, cycle_length, cycle_phase, future_index, season_length,
                                   stamps_text)
from rnnforecast.data.series import Series
from rnnforecast.data.windows import Bounds
from rnnforecast.errors import UserError


def fit_preprocessing(series: Series, bounds: Bounds, cfg: DataConfig, fixed: dict | None = None,
                      cycle: bool | int | str = False) -> dict:
    """Fill values and scaler fitted on the training rows only, as a JSON-ready dict.

    `cycle` is model.cycle: its length is kept, so that `prepare` adds the rows' positions in it.
    `fixed` gives (center, scale) for columns scaled across series, not within one: a
    static feature is constant in its series, and only its differences between series
    carry information.
    """
    # numpy on each column's contiguous rows: the arithmetic of pandas' mean and std (two passes, NaN skipped)
    # without its per-call overhead, which cost milliseconds per series of a large panel
    train = np.ascontiguousarray(series.frame.to_numpy(dtype="float64")[: bounds.train_end].T)
    absent = np.isnan(train)
    count = train.shape[1] - absent.sum(axis=1)
    filled = np.where(absent, 0.0, train)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # overflow: refused below, by name
        means = filled.sum(axis=1) / count
        if np.isnan(means).any():
            column = series.columns[int(np.flatnonzero(np.isnan(means))[0])]
            raise UserError(
                f"column '{column}' has no values in the training rows of {series.label}. "
                "Choose another column or move data.split so that training has data."
            )
        if cfg.scaling == "standard":
            squares = np.where(absent, 0.0, (means[:, None] - filled) ** 2)
            center, scale = means, np.sqrt(squares.sum(axis=1) / count)
        elif cfg.scaling == "mase":  # MASE's denominator: the MAE loss in these units is the MASE
            lag = cfg.season_length or season_length(series.frequency)
            lag = lag if train.shape[1] > lag else 1
            steps = np.abs(train[:, lag:] - train[:, :-lag])
            counted = (~np.isnan(steps)).sum(axis=1)
            total = np.where(np.isnan(steps), 0.0, steps).sum(axis=1)
            center, scale = means, np.where(counted > 0, total / np.maximum(counted, 1), 0.0)
        elif cfg.scaling == "minmax":
            low, high = np.nanmin(train, axis=1), np.nanmax(train, axis=1)
            center, scale = low, high - low
        else:
            center, scale = means * 0.0, means * 0.0 + 1.0
    if not (np.isfinite(center).all() and np.isfinite(scale).all()):
        column = series.columns[int(np.flatnonzero(~(np.isfinite(center) & np.isfinite(scale)))[0])]
        raise UserError(
            f"column '{column}' of {series.label} holds values too large to compute with (up to "
            f"{np.nanmax(np.abs(train[series.columns.index(column)])):.3g}): their mean or spread overflows 64-bit "
            "floats. Rescale the column in the file (divide it by a power of ten) and train again."
        )
    magnitude = np.nanmax(np.abs(train), axis=1)
    varies = np.nanmax(train, axis=1) > np.nanmin(train, axis=1)
    if (varies & (magnitude < 1e-150)).any():  # their squares underflow: RMSE 0 and MASE n/a on a varying series
        column = series.columns[int(np.flatnonzero(varies & (magnitude < 1e-150))[0])]
        raise UserError(
            f"column '{column}' of {series.label} holds values too small to compute with (at most "
            f"{magnitude[series.columns.index(column)]:.3g}): their squares underflow 64-bit floats. Rescale the column "
            "in the file (multiply it by a power of ten) and train again."
        )
    # a constant column (its spread float rounding of its level, or 0) stays finite; the bound is relative, so that
    # a current of 1e-12 amperes is not taken for a constant
    scale = np.where((scale > 1e-12 * np.abs(center)) & (scale > 0) & varies, scale, 1.0)
    center, scale = center.copy(), scale.copy()
    season = cfg.season_length or season_length(series.frequency)
    for column, (mid, unit) in (fixed or {}).items():
        j = series.columns.index(column)
        center[j], scale[j] = mid, unit
    return {
        "columns": series.columns,
        "targets": series.targets,
        "features": series.features,
        "known": series.known,
        "future_features": list(cfg.future_features),
        "calendar": list(cfg.calendar),
        "categories": series.categories,
        "frequency": series.frequency,
        "missing": cfg.missing,
        "fill_values": [float(v) for v in means],
        "scaling": cfg.scaling,
        "center": [float(v) for v in center],
        "scale": [float(v) for v in scale],
        "season_length": season,
        "target_range": [[float(np.nanmin(column)), float(np.nanmax(column))] for column in train[: len(series.targets)]],
        "floor": target_floors(train[: len(series.targets)], cfg.floor, series.targets, series.label),
        "never_negative": [bool(np.nanmin(column, initial=np.inf) >= 0) for column in train[: len(series.targets)]],
        "cycle": cycle_length(cycle, season),
        "train_end": bounds.train_end,
        "val_end": bounds.val_end,
        "test_end": bounds.test_end,
        "last_seen": str(series.index[bounds.val_end - 1]),
        "data_end": str(series.index[bounds.test_end - 1]),  # the last row of the file trained on: newer data's start
    }


def far_from_training(series: Series, prep: dict) -> list[tuple[str, float, float, float]]:
    """Targets whose values in newer data lie far outside their training range: (name, median, low, high).

    A file in other units (degrees Fahrenheit for a run trained in Celsius, thousands for units) is
    read without complaint and forecast from inputs many training spreads away: an extrapolation
    that looks like a forecast. Far means under 5% of the values inside the training range and
    their median beyond it by more than half its width; newer data that repeats the history, or a
    level that drifted a little past it, is not far. Runs written before the range was recorded: none.
    """
    found = []
    for name, (low, high) in zip(prep.get("targets", []), prep.get("target_range", [])):
        values = series.frame[name].to_numpy(dtype="float64")
        values = values[np.isfinite(values)]
        width = high - low
        if not len(values) or not width > 0:
            continue
        median = float(np.median(values))
        inside = np.mean((values >= low) & (values <= high))
        if inside < 0.05 and max(low - median, median - high) > width / 2:
            found.append((name, median, low, high))
    return found


FAR_ADVICE = ("If the file is in other units (°F for °C, thousands for units), convert it: a forecast from values this "
              "far out is an extrapolation.")


def far_note(found: list[tuple[str, float, float, float]], source: str) -> str:
    """The note for `far_from_training`'s targets of one file."""
    what = "; ".join(f"{name}: median {median:.4g} there, {low:.4g} to {high:.4g} in training"
                     for name, median, low, high in found)
    return f"the values in {source} are far outside those the model was trained on ({what}). {FAR_ADVICE}"


class FloorBroken(UserError):
    """A numeric data.floor that a target's training rows go below (a panel refuses it whole, naming the series)."""

    def __init__(self, message: str, target: str, lowest: float):
        super().__init__(message)
        self.target, self.lowest = target, lowest


def target_floors(train: np.ndarray, setting, names: list[str], where: str) -> list[float | None]:
    """Each target's floor (None: no floor) from data.floor and its training rows (targets, rows).

    `auto` gives 0 to a column of whole numbers that are never negative: counts (units sold,
    visitors, calls), where a forecast or an interval bound below 0 is impossible. A column with
    a fraction anywhere gets none: a measurement that is positive in the training rows may not
    stay so (ETTh1's MUFL is >= 0 in its first 2,000 rows and reaches -25 later).
    """
    if setting is None or setting == "none":
        return [None] * len(train)
    if setting != "auto":
        for name, column in zip(names, train):
            if np.nanmin(column, initial=np.inf) < setting:
                raise FloorBroken(
                    f"data.floor is {setting:g}, but '{name}' in {where} goes below it in the training rows (to "
                    f"{np.nanmin(column):g}). Set data.floor to the lowest value the target can take, or to none.",
                    name, float(np.nanmin(column)),
                )
        return [float(setting)] * len(train)
    found = []
    for column in train:
        seen = column[~np.isnan(column)]
        counts = len(seen) > 0 and bool((seen >= 0).all() and (seen == np.round(seen)).all())
        found.append(0.0 if counts else None)
    return found


def lowest(floor: list | None, n: int) -> np.ndarray:
    """The first n targets' floors (prep["floor"]) as an array, -inf where a target has none (runs saved before
    data.floor have none at all)."""
    return np.array([-np.inf if f is None else f for f in (floor or [None] * n)[:n]], dtype="float64")


def scaled_floors(prep: dict, n: int) -> list[float | None]:
    """The first n targets' floors (prep["floor"]) in scaled units, for bands scored in scaled units (a panel's)."""
    floors = (prep.get("floor") or [None] * n)[:n]
    return [None if f is None else (f - c) / u for f, c, u in zip(floors, prep["center"], prep["scale"])]


def floored(values: np.ndarray, prep: dict) -> np.ndarray:
    """Forecasts in the data's units kept at or above each target's floor (prep["floor"]); last axis the targets."""
    if not any(f is not None for f in prep.get("floor") or []):
        return values
    return np.maximum(values, lowest(prep["floor"], np.shape(values)[-1]))


def prepare(series: Series, prep: dict) -> tuple[np.ndarray, np.ndarray]:
    """Scaled float32 values with gaps filled, and a mask of rows a window may use.

    With prep["cycle"] (model.cycle), one more column: each row's position in the cycle.
    """
    values, valid = _scaled(series, prep)
    if prep.get("cycle"):
        phase = cycle_phase(series.index, prep["frequency"], prep["cycle"])
        values = np.concatenate([values, phase[:, None]], axis=1)
    return values, valid


def _scaled(series: Series, prep: dict) -> tuple[np.ndarray, np.ndarray]:
    frame = series.frame
    policy = prep["missing"]
    raw = frame.to_numpy(dtype="float64")
    missing = np.isnan(raw)
    if not missing.any():  # the common case, without pandas' per-call overhead
        values = (raw - np.asarray(prep["center"])) / np.asarray(prep["scale"])
        return values.astype("float32"), np.ones(len(frame), dtype=bool)
    if missing.any() and policy == "error":
        row, col = np.argwhere(missing)[0]
        raise UserError(
            f"column '{frame.columns[col]}' in {series.label} has a missing value at {frame.index[row]}. "
            "Set data.missing to interpolate, ffill, mean or drop, or fill the file."
        )
    if policy == "interpolate":
        method = "time" if isinstance(frame.index, pd.DatetimeIndex) else "linear"
        frame = frame.interpolate(method=method, limit_direction="both")
    elif policy == "ffill":
        frame = frame.ffill().bfill()
    filled = frame.fillna(dict(zip(prep["columns"], prep["fill_values"])))
    values = (filled.to_numpy() - np.asarray(prep["center"])) / np.asarray(prep["scale"])
    valid = ~missing.any(axis=1) if policy == "drop" else np.ones(len(frame), dtype=bool)
    return values.astype("float32"), valid


def target_values(series: Series, n_targets: int) -> np.ndarray:
    """(rows, targets) the targets as the file gave them, float64, NaN where it gave none: what forecasts are scored on.

    The model reads scaled float32 values, whose round trip turns 9.5 into 9.4999999 and 0 into -4e-8 (a count's zero
    then fell below a floored interval's 0). The cells the file left empty are filled for the windows (data.missing),
    but an error against a filled value is an error against a made-up one.
    """
    return series.frame.iloc[:, :n_targets].to_numpy(dtype="float64")


def exact_targets(values: np.ndarray, truth: np.ndarray, prep: dict) -> np.ndarray:
    """The targets in the data's units: the file's own values (`truth`), and the filled ones where it gave none."""
    n = truth.shape[-1]
    return np.where(np.isnan(truth), values[:, :n] * np.asarray(prep["scale"][:n]) + np.asarray(prep["center"][:n]), truth)


def unscale(values: np.ndarray, prep: dict) -> np.ndarray:
    """Back to the data's units, for arrays whose last axis is the target columns."""
    n = len(prep["targets"])
    return values * np.asarray(prep["scale"][:n]) + np.asarray(prep["center"][:n])


def static_scaling(panel: dict[str, Series], columns: list[str]) -> dict:
    """(center, scale) of each static feature across the series of a panel, one value per series."""
    out = {}
    for column in columns:
        values = np.array([s.frame[column].iloc[0] for s in panel.values()], dtype="float64")
        std = float(np.nanstd(values))
        out[column] = (float(np.nanmean(values)), std if std > 1e-12 else 1.0)
    return out


def known_future(series: Series, prep: dict, horizon: int) -> np.ndarray | None:
    """The known-future inputs for the `horizon` steps after the last row, scaled; None when there are none.

    Future features come from the rows after the last target in the file; the
    calendar is computed from the future timestamps.
    """
    known = prep.get("known", [])
    if not known:
        return None
    index = future_index(series.index, series.frequency, horizon)
    given = prep["future_features"]
    frame = pd.DataFrame(index=index)
    if given:
        frame[given] = series.future.reindex(index)[given]
        missing = frame[given].isna().any(axis=1)
        if missing.any():
            absent = stamps_text(index[missing.to_numpy()])
            raise UserError(
                f"{series.label} does not give the future features ({', '.join(given)}) for the steps to forecast: "
                f"missing at {', '.join(absent[:5])}{' and later' if len(absent) > 5 else ''}. Add rows for the next "
                f"{horizon} steps after the last target, with the targets left empty and these columns filled."
            )
    if prep["calendar"]:
        frame = pd.concat([frame, calendar_features(index, prep["calendar"])], axis=1)
    center = np.asarray(prep["center"][-len(known):])
    scale = np.asarray(prep["scale"][-len(known):])
    return ((frame[known].to_numpy() - center) / scale).astype("float32")
