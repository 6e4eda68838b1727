"""Splits and windows: chronological bounds, window start rows, and windows gathered without copying."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnforecast.config import DataConfig, WindowConfig
from rnnforecast.data.series import Series
from rnnforecast.errors import UserError


@dataclass(frozen=True)
class Bounds:
    """Row boundaries: train targets in [0, train_end), validation in [train_end, val_end), test in [val_end, test_end).

    test_end is the number of rows for a plain split; rows after it (data.split.test_end) are never used.
    """

    train_end: int
    val_end: int
    test_end: int


LOOKBACK_SPANS = 4  # seasons (or horizons) in the derived look-back: the defaults study (rounds 3 and 4)


def default_input_length(season: int, horizon: int, training_rows: int, min_windows: int = 1) -> int:
    """The look-back used when window.input_length is not given.

    Four seasons or four horizons, whichever is longer (LOOKBACK_SPANS), so that the
    seasonal skip path has whole seasons to copy and the network sees the level move
    over several horizons; then shortened until `training_rows`, the typical series'
    training part, holds `min_windows` windows (look-back plus horizon), and capped at 336
    steps to keep training cheap. Where that would leave a look-back shorter than
    `min_windows` (a series of under three seasons), half the training part's rows are read.
    """
    wanted = min(max(LOOKBACK_SPANS * season, LOOKBACK_SPANS * horizon, 8), 336)
    fits = training_rows - horizon - min_windows + 1
    if fits < min(wanted, min_windows):  # too short for that many windows: as many windows as look-back
        fits = (training_rows - horizon) // 2 if min_windows > 1 else training_rows - horizon
    return max(1, min(wanted, fits))


# A panel's derived look-back is at most what this share of its series hold, so that they all get a forecast.
FORECAST_SHARE = 0.9


def panel_input_cap(lengths: list[int], floor: int = 1) -> int:
    """The longest look-back that FORECAST_SHARE of a panel's series (by their rows) hold in full, at least `floor`.

    A series shorter than the look-back cannot be forecast at all; the typical series'
    training part alone would leave a quarter of M3 monthly's series (lengths 48 to 126)
    out at four seasons. In a panel of a few series one short series is the whole
    tenth: `floor` (a season or a horizon) keeps it from cutting everyone's look-back to
    its own length (a one-row series would leave every series a look-back of one step).
    Series shorter than `floor` are left out of the count: no look-back the floor allows
    would take them in, so cutting the others' for them gained nothing.
    """
    held = [n for n in lengths if n >= floor]
    return max(1, floor, int(np.quantile(held, 1 - FORECAST_SHARE, method="lower")) if held else floor)


# A derived look-back of at least this many steps is read in DERIVED_SEGMENTS segments (None: never).
SEGMENTED_FROM: int | None = 96  # the defaults study, round 4
DERIVED_SEGMENTS = 8


def default_segments(input_length: int) -> tuple[int, int | None]:
    """(input_length, segment_length) for a derived look-back: long ones are read in segments.

    A recurrence over 336 points costs 336 sequential steps per window; over eight
    segments, each embedded by a dense layer (SegRNN), it costs eight. On the
    development collection that forecast as well (benchmarks/DEFAULTS.md, round 4) at
    a fifth of the training time. The look-back is shortened to a multiple of the
    segment count; a short look-back is kept point by point.
    """
    if SEGMENTED_FROM is None or input_length < SEGMENTED_FROM:
        return input_length, None
    segment = input_length // DERIVED_SEGMENTS
    return segment * DERIVED_SEGMENTS, segment


def split_bounds(series: Series, cfg: DataConfig, window: WindowConfig) -> Bounds:
    """Where the validation and test targets start; every part must hold at least one window."""
    train_end, val_end, n = split_rows(series, cfg)
    L, H = window.input_length, window.horizon
    parts = {"training": (0, train_end, L + H), "validation": (train_end, val_end, H), "test": (val_end, n, H)}
    for name, (lo, hi, need) in parts.items():
        if hi - lo < need or (name != "training" and lo < L):
            raise UserError(
                f"the {name} part of {series.label} has {hi - lo} rows, but a window needs "
                f"{need} there (input_length {L}, horizon {H}; the file has {n} rows on its grid). "
                "Shorten window.input_length or window.horizon, change data.split, or use more data."
            )
    return Bounds(train_end, val_end, n)


def split_rows(series: Series, cfg: DataConfig) -> tuple[int, int, int]:
    """(train_end, val_end, test_end) of data.split on this series, before any window is checked."""
    n = len(series.frame)
    if cfg.split.train_end is not None:
        train_end, val_end, n = cfg.split.train_end, cfg.split.val_end, cfg.split.test_end
        if n > len(series.frame):
            raise UserError(
                f"data.split.test_end is {n}, but {series.label} has only {len(series.frame)} rows on its grid. "
                "Lower test_end (and val_end, train_end) to fit the file."
            )
    elif cfg.split.val_start is not None:
        if series.frequency is None:
            raise UserError("data.split.val_start/test_start need a time column; split by fractions instead.")
        val_start, test_start = (_split_date(series, cfg, name) for name in ("val_start", "test_start"))
        if test_start <= val_start:
            raise UserError(
                f"data.split.test_start ({cfg.split.test_start}) must come after data.split.val_start "
                f"({cfg.split.val_start}): validation is the period between them, the test period from test_start on."
            )
        train_end = int(series.index.searchsorted(val_start))
        val_end = int(series.index.searchsorted(test_start))
    elif cfg.split.test_length is not None:
        test, val = cfg.split.test_length, cfg.split.val_length or cfg.split.test_length
        val_end, train_end = n - test, n - test - val
        if train_end <= 0:
            raise UserError(
                f"{series.label} has {n} rows on its grid, not more than the {test + val} that data.split gives "
                f"to the test (test_length {test}) and validation ({val}) periods. Lower them or give more data."
            )
    else:
        train, val = cfg.split.fractions
        train_end = int(n * train)
        val_end = int(n * (train + val))
    return train_end, val_end, n


def _split_date(series: Series, cfg: DataConfig, name: str) -> pd.Timestamp:
    """data.split's `name` (val_start or test_start) as a timestamp inside the series' time span, in its time zone."""
    text = getattr(cfg.split, name)
    try:
        when = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise UserError(f"data.split.{name} is {text!r}, which is not a date. Write one such as 2020-05-01.") from None
    zone = getattr(series.index, "tz", None)
    if zone is not None and when.tzinfo is None:
        when = when.tz_localize(zone)
    elif zone is None and when.tzinfo is not None:
        when = when.tz_convert(None)
    first, last = series.index[0], series.index[-1]
    if not first < when <= last:
        raise UserError(
            f"data.split.{name} ({text}) is outside {series.label}, whose rows run from {first} to {last}: the "
            "split dates must fall inside it, val_start after the first row. Choose dates in that span."
        )
    return when


def window_starts(
    valid: np.ndarray, input_length: int, horizon: int, target_lo: int, target_hi: int, stride: int = 1
) -> np.ndarray:
    """First row of every window whose targets lie in [target_lo, target_hi).

    A window's inputs are rows [s, s + input_length) and its targets the next
    `horizon` rows; a window may read inputs from before target_lo (the history is
    known at forecast time) but never a target outside its part. Windows that touch
    a row marked invalid (a gap under the `drop` policy) are left out.

    Example: 10 rows, input_length 3, horizon 2, targets in [0, 10): starts 0..5.
    """
    first = max(target_lo - input_length, 0)
    last = target_hi - input_length - horizon
    if last < first:
        return np.empty(0, dtype=np.int64)
    starts = np.arange(first, last + 1, stride, dtype=np.int64)
    if not valid.all():
        bad = np.concatenate([[0], np.cumsum(~valid)])
        span = input_length + horizon
        starts = starts[bad[starts + span] - bad[starts] == 0]
    return starts


def gather(values: np.ndarray, starts: np.ndarray, input_length: int, horizon: int, n_targets: int, n_known: int = 0):
    """Inputs (batch, input_length, columns) and targets (batch, horizon, n_targets) for these starts only.

    With n_known known-future columns (the last ones), the inputs are a pair: the
    history and those columns over the horizon (batch, horizon, n_known).
    """
    rows = starts[:, None] + np.arange(input_length + horizon)
    block = values[rows]
    history, targets = block[:, :input_length], block[:, input_length:, :n_targets]
    if n_known:
        return (history, block[:, input_length:, -n_known:]), targets
    return history, targets


def part_starts(valid: np.ndarray, bounds: Bounds, window: WindowConfig, part: str, stride: int = 1) -> np.ndarray:
    """Window starts for 'train', 'val' or 'test' (test uses every origin unless a stride is given)."""
    lo, hi = {"train": (0, bounds.train_end), "val": (bounds.train_end, bounds.val_end),
              "test": (bounds.val_end, bounds.test_end)}[part]
    return window_starts(valid, window.input_length, window.horizon, lo, hi, stride)


def n_known(cfg: DataConfig) -> int:
    """How many known-future input columns a config gives: its future features and two per calendar feature."""
    return len(cfg.future_features) + 2 * len(cfg.calendar)


def n_batches(n: int, batch_size: int) -> int:
    """How many batches of `batch_size` hold `n` windows (the last one may be short)."""
    return math.ceil(n / batch_size)
