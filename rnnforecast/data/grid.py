"""The time grid: duplicates, the frequency and its season, calendar features, future steps."""

from __future__ import annotations

import functools
import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from rnnforecast.errors import UserError

CALENDAR_PERIODS = {
    "minute_of_hour": (lambda t: t.minute, 60),
    "hour_of_day": (lambda t: t.hour + t.minute / 60, 24),
    "day_of_week": (lambda t: t.dayofweek, 7),
    "day_of_month": (lambda t: t.day - 1, 31),
    "day_of_year": (lambda t: t.dayofyear - 1, 366),
    "month": (lambda t: t.month - 1, 12),
}


def calendar_features(index: pd.DatetimeIndex, names: list[str]) -> pd.DataFrame:
    """Sine and cosine of each calendar position, so that the end of a cycle meets its start."""
    columns = {}
    for name in names:
        position, period = CALENDAR_PERIODS[name]
        angle = 2 * np.pi * np.asarray(position(index), dtype="float64") / period
        columns[f"{name}_sin"], columns[f"{name}_cos"] = np.sin(angle), np.cos(angle)
    return pd.DataFrame(columns, index=index)


def _resolve_duplicates(frame: pd.DataFrame, policy: str, where: str, notes: list[str]) -> pd.DataFrame:
    dup = frame.index.duplicated(keep="first")
    if not dup.any():
        return frame
    if policy == "error":
        raise UserError(
            f"{where} has {int(dup.sum())} duplicated timestamp(s), the first at {frame.index[dup][0]}. "
            "Remove them, or set data.duplicates to mean, first or last."
        )
    policy = "mean" if policy == "auto" else policy  # auto: the rows that repeat few enough to merge
    notes.append(f"{int(dup.sum())} duplicated timestamp(s) in {where} were merged ({policy}).")
    grouped = frame.groupby(level=0, sort=True)
    return {"mean": grouped.mean, "first": grouped.first, "last": grouped.last}[policy]()


def infer_frequency(index: pd.DatetimeIndex) -> str | None:
    """The series' step, found despite gaps.

    pandas' own inference needs a gap-free index. Otherwise the greatest common
    divisor of the steps between rows is the grid, when it is a fixed length (hours,
    days) and at most two thirds of that grid are missing; calendar steps (months,
    quarters) are inferred on short gap-free stretches instead. Daily rows that never
    fall on a Saturday or a Sunday (prices, trading volumes, office data) are business
    days: weekends are not missing values to fill and forecast, holidays are.
    """
    if len(index) < 3:
        return None
    whole = pd.infer_freq(index)
    if whole:
        return whole
    semi = _semi_monthly(index)
    if semi:
        return semi
    steps = np.diff(index.asi8 if index.unit == "ns" else index.as_unit("ns").asi8)
    steps = steps[steps > 0]
    if len(steps):
        step = int(np.gcd.reduce(steps))
        if step == pd.Timedelta(days=1).value and len(index) >= 10 and (index.dayofweek < 5).all():
            return "B"
        grid_rows = (index[-1] - index[0]) / pd.Timedelta(step, unit="ns") + 1
        if step < pd.Timedelta(days=28).value and grid_rows <= 3 * len(index):  # at most 2/3 of the grid missing
            return _alias(pd.Timedelta(step, unit="ns"))
    found: dict[str, int] = {}
    for start in np.linspace(0, max(len(index) - 8, 0), num=min(60, len(index)), dtype=int):
        try:
            freq = pd.infer_freq(index[start : start + 8])
        except ValueError:
            freq = None
        if freq:
            found[freq] = found.get(freq, 0) + 1
    return max(found, key=found.get) if found else None


def _semi_monthly(index: pd.DatetimeIndex) -> str | None:
    """SMS (the 1st and the 15th) or SME (the 15th and the month's end), which pandas does not infer: read as steps
    of about 15 days, the grid drifted off those days."""
    if len(index) < 6 or not (index == index.normalize()).all():
        return None
    day, month_end = index.day, index.is_month_end
    if set(day) == {1, 15}:
        return "SMS"
    if (day == 15).any() and month_end.any() and ((day == 15) | month_end).all():
        return "SME"
    return None


def _alias(step: pd.Timedelta) -> str:
    """A fixed step as a pandas alias; whole days as days ('D', '2D'), not as 24-hour multiples."""
    days = step / pd.Timedelta(days=1)
    if days == int(days):
        return "D" if days == 1 else f"{int(days)}D"
    return to_offset(step).freqstr


SEASONS = {"B": 5, "C": 5, "W": 52, "M": 12, "SM": 24, "Q": 4}  # by the offset's kind: days of a week, ... of a year
# pandas' rule codes (less an anchor such as -SUN) by kind: ME, MS, BME, BMS, CBME, SME, SMS, QE, QS, BQE, BQS ...
KINDS = {"B": "B", "C": "C", "W": "W", "ME": "M", "MS": "M", "BME": "M", "BMS": "M", "CBME": "M", "CBMS": "M",
         "M": "M", "BM": "M", "SME": "SM", "SMS": "SM", "SM": "SM", "QE": "Q", "QS": "Q", "BQE": "Q", "BQS": "Q",
         "Q": "Q", "BQ": "Q"}


@functools.lru_cache(maxsize=64)  # asked once per series of a panel: the alias is parsed once
def season_length(frequency: str | None) -> int:
    """The conventional season: a day of sub-daily steps, a week of days, a year of weeks, months or quarters.

    A multiple of a step divides it (two-weekly: 26, two-monthly: 6); one that does not divide it gives 1.
    """
    if frequency is None:
        return 1
    offset = pd.tseries.frequencies.to_offset(frequency)
    try:
        step = pd.Timedelta(offset)
    except (ValueError, TypeError):
        step = None
    day = pd.Timedelta(days=1)
    if step is not None:
        if step < day:
            return max(1, int(round(day / step)))
        if step == day:
            return 7
        if step % (7 * day) == pd.Timedelta(0):  # weeks, or weeks read from the gaps between dates ("7D", "14D")
            return _divided(52, step // (7 * day))
        return 1
    kind = KINDS.get(offset.rule_code.split("-")[0].upper())
    return _divided(SEASONS[kind], abs(offset.n)) if kind else 1


def _divided(season: int, n: int) -> int:
    return season // n if n and season % n == 0 else 1


def stamps_text(index: pd.Index) -> list[str]:
    """Timestamps as a message shows them: dates alone where every one falls at midnight (daily data)."""
    if isinstance(index, pd.DatetimeIndex) and (index == index.normalize()).all():
        return list(index.strftime("%Y-%m-%d"))
    return [str(stamp) for stamp in index]


def future_index(index: pd.Index, frequency: str | None, horizon: int) -> pd.Index:
    """The timestamps (or step numbers) of the `horizon` steps after the last row."""
    if frequency is None or not isinstance(index, pd.DatetimeIndex):
        return pd.RangeIndex(len(index), len(index) + horizon, name="step")
    return pd.date_range(index[-1], periods=horizon + 1, freq=frequency, name=index.name)[1:]


def cycle_phase(index: pd.Index, frequency: str | None, cycle: int) -> np.ndarray:
    """Each row's position in a cycle of `cycle` steps, counted from the epoch (model.cycle).

    Counted from the timestamps, not the row numbers, so that a series' later file, another
    series of a panel or the steps to forecast share the positions: with hourly rows and a
    cycle of 24, the position is the hour of the day (UTC). Without a time grid, the row number.
    """
    if isinstance(index, pd.DatetimeIndex) and frequency:
        offset = to_offset(frequency)
        try:
            step = pd.Timedelta(offset).value
        except (ValueError, TypeError):  # months, quarters, years: the period's number
            steps = index.tz_localize(None).to_period(offset).asi8 if index.tz else index.to_period(offset).asi8
        else:
            steps = index.as_unit("ns").asi8 // step
    else:
        steps = np.arange(len(index), dtype=np.int64)
    return np.mod(steps, cycle).astype("float32")


def cycle_length(cycle: bool | int | str, season: int) -> int:
    """The steps of model.cycle's pattern: the season for `true`, for `auto` where it is over 1; 0: none."""
    if cycle is False or (cycle == "auto" and season <= 1):
        return 0
    return season if cycle is True or cycle == "auto" else int(cycle)
