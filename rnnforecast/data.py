"""From a CSV file to model-ready windows: read, clean, split, scale, window.

    read_table -> load_series (select, sort, dedupe, regular grid)
               -> split_bounds (chronological train / validation / test)
               -> fit_preprocessing (fill values and scaler, from the training rows only)
               -> prepare (filled, scaled float32 array and a mask of usable rows)
               -> window_starts / gather (windows indexed, never copied)

No Keras here: this module is plain pandas and NumPy so that it tests fast.
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from rnnforecast.config import DataConfig, WindowConfig
from rnnforecast.errors import UserError

TIME_NAMES = ("date", "datetime", "time", "timestamp", "ds", "month", "day", "period")
DATE_PARTS = ("year", "month", "day", "hour", "minute", "second")


@dataclass
class Series:
    """A table on a regular time grid; missing values are still NaN here."""

    frame: pd.DataFrame  # columns: targets then features, float64
    targets: list[str]
    features: list[str]
    frequency: str | None  # pandas offset alias, None for a plain step index
    path: Path
    notes: list[str] = field(default_factory=list)
    categories: dict[str, list[str]] = field(default_factory=dict)  # one-hot columns' values
    known: list[str] = field(default_factory=list)  # known-future inputs: future_features, calendar
    future: pd.DataFrame | None = None  # future_features given for the steps after the last target
    name: str = ""  # the file, and the series' id in a panel, for messages

    @property
    def label(self) -> str:
        return self.name or self.path.name

    @property
    def columns(self) -> list[str]:
        """Model inputs in order: targets, past features, known-future inputs last."""
        return self.targets + self.features + self.known

    @property
    def index(self) -> pd.Index:
        return self.frame.index


@dataclass(frozen=True)
class Bounds:
    """Row boundaries: train targets in [0, train_end), validation in [train_end, val_end), test after."""

    train_end: int
    val_end: int
    n_rows: int


# ---------------------------------------------------------------------------- reading


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV file as text cells, so that every number is checked by us, not guessed.

    The encoding (UTF-8, UTF-8 with BOM, else Latin-1) and the separator (, ; tab |)
    are detected from the start of the file.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"data file {path} does not exist. Fix data.path in the config or the --data option.")
    if path.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(path)
    try:
        head = path.open("rb").read(64 * 1024)
    except OSError as exc:
        raise UserError(f"data file {path} could not be opened ({exc.strerror}). Check its permissions.") from None
    encoding = _encoding(head)
    sample = head.decode(encoding, errors="ignore")
    if not sample.strip():
        raise UserError(f"data file {path} is empty. Point data.path at a CSV file with a header row.")
    try:
        frame = pd.read_csv(path, sep=_separator(sample), encoding=encoding, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise UserError(f"data file {path} could not be read as CSV: {exc}. Check that it is a CSV file.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise UserError(f"data file {path} has a header but no rows. Point data.path at a file with data.")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    """Parquet keeps its column types: numbers stay numbers, text columns become strings."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, ImportError) as exc:
        raise UserError(f"data file {path} could not be read as Parquet: {exc}.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise UserError(f"data file {path} has no rows. Point data.path at a file with data.")
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].astype("string")
    return frame.reset_index(drop=True)


def _encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        return "utf-8" if exc.start > len(head) - 4 else "latin-1"  # a character cut at the sample's end


def _separator(sample: str) -> str:
    """The separator that splits the header and the next lines into the same number of cells."""
    lines = [line for line in sample.splitlines()[:20] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut short
    best, best_cells = ",", 1
    for sep in (",", ";", "\t", "|"):
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and (cells := counts.pop() + 1) > best_cells:
            best, best_cells = sep, cells
    return best


def detect_time_column(frame: pd.DataFrame) -> str | None:
    """The first column whose name looks like a time and whose cells parse as dates, else None."""
    candidates = [c for c in frame.columns if c.lower() in TIME_NAMES] + list(frame.columns[:1])
    for column in dict.fromkeys(candidates):
        sample = frame[column].dropna().head(50)
        if sample.empty or pd.to_numeric(sample, errors="coerce").notna().all():
            continue
        if _datetimes(sample)[0].notna().all():
            return column
    return None


def load_series(
    cfg: DataConfig, path: Path | None = None, frequency: str | None = None, categories: dict | None = None
) -> Series:
    """Read the file and put the chosen columns on a regular time grid.

    Args:
        cfg: the data section of the config.
        path: another file with the same columns (predict/evaluate --data); default cfg.path.
        frequency: the frequency found at training time, so newer data uses the same grid.
        categories: the categories of each categorical column found at training time.
    """
    path = Path(path or cfg.path)
    if cfg.id_column:
        raise UserError(f"{path.name} holds many series (data.id_column); read it with load_panel.")
    return table_to_series(read_table(path), cfg, path, frequency, categories)


def load_panel(
    cfg: DataConfig, path: Path | None = None, frequency: str | None = None, categories: dict | None = None
) -> dict[str, Series]:
    """Every series of a long table (one per value of data.id_column, sorted by id), each on its own grid.

    A file without data.id_column is a panel of one series, keyed "". Categories and,
    unless given, the frequency are found once for the whole table, so that every
    series has the same columns and step.
    """
    path = Path(path or cfg.path)
    table = read_table(path)
    if not cfg.id_column:
        return {"": table_to_series(table, cfg, path, frequency, categories)}
    if cfg.id_column not in table.columns:
        raise UserError(
            f"column '{cfg.id_column}' (data.id_column) is not in {path.name}. Columns there: "
            f"{', '.join(table.columns)}. Fix the name in the config."
        )
    ids = table[cfg.id_column].fillna("").astype(str).str.strip()
    if categories is None:
        categories = _categories(table, cfg)
    groups = {key: rows.index for key, rows in table.groupby(ids, sort=True)}
    if frequency is None and cfg.frequency is None and time_columns_of(cfg, table):
        largest = max(groups.values(), key=len)
        probe = table_to_series(table.loc[largest], cfg, path, None, categories, label="")
        frequency = probe.frequency
    return {
        key: table_to_series(table.loc[rows], cfg, path, frequency, categories, label=f"{cfg.id_column}={key}")
        for key, rows in groups.items()
    }


def time_columns_of(cfg: DataConfig, table: pd.DataFrame) -> list[str]:
    """The configured time column(s), or the detected one, or none."""
    return _as_list(cfg.time_column) or [c for c in [detect_time_column(table)] if c]


def table_to_series(
    table: pd.DataFrame,
    cfg: DataConfig,
    path: Path,
    frequency: str | None = None,
    categories: dict | None = None,
    label: str = "",
) -> Series:
    """One series from its rows of the table: numbers checked, sorted, deduplicated, on a regular grid.

    Rows at the end whose targets are all empty are the future: they carry the
    known-future inputs (data.future_features) for the steps to forecast.
    """
    where = f"{path.name} ({label})" if label else path.name
    time_columns = _as_list(cfg.time_column)
    _check_columns(table, cfg, time_columns, path)
    inputs = list(cfg.targets) + list(cfg.features) + list(cfg.static_features) + list(cfg.future_features)
    numeric = {c: _to_numbers(table[c], c, where, cfg) for c in inputs}
    for column in cfg.static_features:
        if numeric[column].nunique(dropna=True) > 1:
            raise UserError(
                f"static feature '{column}' takes {numeric[column].nunique()} different values in {where}; a static "
                "feature has one value per series. Move it to data.features if it changes over time."
            )
    categories = categories if categories is not None else _categories(table, cfg)
    onehot = {
        f"{c}={value}": (table[c].str.strip() == value).astype("float64").to_numpy()
        for c in cfg.categorical
        for value in categories[c]
    }
    values = pd.DataFrame({**numeric, **onehot}, index=table.index)
    columns = list(cfg.targets) + list(cfg.features) + list(onehot) + list(cfg.static_features) + list(cfg.future_features)
    values = values[columns]
    notes: list[str] = []
    time_columns = time_columns or [c for c in [detect_time_column(table)] if c]
    if not time_columns:
        if cfg.calendar:
            raise UserError(f"data.calendar needs a time column, and {path.name} has none. Set data.time_column.")
        frame = values.set_axis(pd.RangeIndex(len(values), name="step"), axis=0)
        return _finish(frame, cfg, onehot, None, path, where, notes, categories)

    times = _parse_times(table, time_columns, where, notes)
    name = time_columns[0] if len(time_columns) == 1 else "time"
    frame = values.set_axis(pd.DatetimeIndex(times, name=name), axis=0).sort_index(kind="stable")
    frame = _resolve_duplicates(frame, cfg.duplicates, where, notes)
    freq = frequency or cfg.frequency or infer_frequency(frame.index)
    if freq is None:
        raise UserError(
            f"the time steps in {where} ('{name}') have no regular frequency. "
            "Set data.frequency (a pandas alias such as D, h, 15min, MS) in the config."
        )
    try:
        regular = frame.asfreq(freq)
    except ValueError as exc:
        raise UserError(f"data.frequency '{freq}' is not a pandas frequency alias ({exc}). Use e.g. D, h, MS.") from None
    if len(regular) > len(frame):
        notes.append(f"{len(regular) - len(frame)} missing time step(s) in {where} were added and filled ({cfg.missing}).")
    off_grid = int((~frame.index.isin(regular.index)).sum())
    if off_grid:
        notes.append(f"{off_grid} row(s) off the {freq} grid in {where} were dropped.")
    return _finish(regular, cfg, onehot, freq, path, where, notes, categories)


def _finish(frame, cfg, onehot, freq, path, where, notes, categories) -> Series:
    """Split off the future rows (with data.future_features) and add the calendar columns.

    With known-future inputs, the rows after the last target value carry them for the
    steps to forecast. Without, empty target cells at the end are missing values like any
    other, handled by data.missing.
    """
    has_target = frame[list(cfg.targets)].notna().any(axis=1).to_numpy()
    if not has_target.any():
        raise UserError(f"{where} has no target values at all. Check data.targets.")
    future = None
    if cfg.future_features:
        last = int(np.flatnonzero(has_target)[-1])
        future = frame.iloc[last + 1 :][list(cfg.future_features)]
        frame = frame.iloc[: last + 1]
    if cfg.static_features:  # one value per series: the grid's added rows get it too
        frame[list(cfg.static_features)] = frame[list(cfg.static_features)].ffill().bfill()
    if cfg.calendar:
        frame = pd.concat([frame, calendar_features(frame.index, cfg.calendar)], axis=1)
    known = list(cfg.future_features) + [f"{n}_{part}" for n in cfg.calendar for part in ("sin", "cos")]
    features = list(cfg.features) + list(onehot) + list(cfg.static_features)
    return Series(frame, list(cfg.targets), features, freq, path, notes, categories, known, future, where)


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


def _categories(table: pd.DataFrame, cfg: DataConfig) -> dict[str, list[str]]:
    return {c: sorted(table[c].dropna().str.strip().unique().tolist()) for c in cfg.categorical}


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _check_columns(table: pd.DataFrame, cfg: DataConfig, time_columns: list[str], path: Path) -> None:
    keys = {
        **{c: "data.time_column" for c in time_columns},
        **{c: "data.categorical" for c in cfg.categorical},
        **{c: "data.features" for c in cfg.features},
        **{c: "data.targets" for c in cfg.targets},
    }
    for column, key in keys.items():
        if column not in table.columns:
            close = difflib.get_close_matches(column, list(table.columns), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise UserError(
                f"column '{column}' ({key}) is not in {path.name}.{hint} Columns there: {', '.join(table.columns)}. "
                "Fix the name in the config (names are case-sensitive)."
            )


def _datetimes(text: pd.Series) -> tuple[pd.Series, bool]:
    """Parse times (NaT where a cell is not one); changing UTC offsets (daylight saving) become UTC.

    One format is inferred for the whole column, month-first and then day-first, so that
    01.02.2014 and 31.12.2014 in one file are both read day-first; a cell-by-cell guess
    would read the first as January 2nd and silently swap days and months.
    """
    for dayfirst in (False, True):
        try:
            with warnings.catch_warnings():  # pandas notes which way it read the day; the choice is ours
                warnings.simplefilter("ignore", UserWarning)
                return pd.to_datetime(text, dayfirst=dayfirst), False
        except (ValueError, TypeError, OverflowError):
            continue
    try:
        return pd.to_datetime(text, errors="coerce", format="mixed"), False
    except ValueError:
        return pd.to_datetime(text, errors="coerce", format="mixed", utc=True), True


def _parse_times(table: pd.DataFrame, columns: list[str], where: str, notes: list[str]) -> pd.Series:
    """One timestamp per row from one column, or assembled from several (year, month, day, hour...)."""
    text = table[columns].astype(str).agg(" ".join, axis=1) if len(columns) > 1 else table[columns[0]]
    if len(columns) > 1 and all(c.lower() in DATE_PARTS for c in columns):
        parts = table[columns].apply(pd.to_numeric, errors="coerce").rename(columns=str.lower)
        times = pd.to_datetime(parts, errors="coerce")
    else:
        times, mixed_offsets = _datetimes(text)
        if mixed_offsets:
            notes.append(f"the times in {where} carry different UTC offsets; they are kept in UTC.")
    bad = times.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            f"time column {', '.join(columns)} in {where} has a cell that is not a date: "
            f"{text.iloc[row]!r} on line {_line(text, row)}. Fix or remove that row, or set data.time_column."
        )
    return times


def _line(cells: pd.Series, row: int) -> int:
    """The file's line number of a cell: the header is line 1."""
    return int(cells.index[row]) + 2


def _to_numbers(cells: pd.Series, column: str, where: str, cfg: DataConfig) -> pd.Series:
    """Text cells parsed as numbers (numeric Parquet columns pass through); every bad cell is reported."""
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        return _checked(cells.astype("float64"), cells, column, where)
    text = cells.str.strip()
    if cfg.thousands:
        text = text.str.replace(cfg.thousands, "", regex=False)
    if cfg.decimal != ".":
        text = text.str.replace(cfg.decimal, ".", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    missing_words = cells.isna() | cells.str.strip().str.upper().isin(["", "NA", "NAN", "N/A", "NULL", "NONE", "-"])
    bad = numbers.isna() & ~missing_words
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = cells.iloc[row]
        if any(ch.isalpha() for ch in value):
            how = (
                "If it is a category, list the column under data.categorical; if the cells carry units, "
                "remove them from the file."
            )
        else:
            how = "If the file writes 1.234,5 or 1,234.5, set data.decimal and data.thousands (e.g. decimal: ',')."
        raise UserError(
            f"column '{column}' in {where} has a cell that is not a number: {value!r} on line {_line(cells, row)}. "
            f"Targets and features must be numeric. {how}"
        )
    return _checked(numbers, cells, column, where)


def _checked(numbers: pd.Series, cells: pd.Series, column: str, where: str) -> pd.Series:
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise UserError(
            f"column '{column}' in {where} has an infinite value ({cells.iloc[row]!r}) on line {_line(cells, row)}. "
            "Replace it with a number, or leave the cell empty to treat it as missing."
        )
    if numbers.isna().all():
        raise UserError(
            f"column '{column}' in {where} has no numbers at all (every cell is empty). Choose another column."
        )
    return numbers.astype("float64")


def _resolve_duplicates(frame: pd.DataFrame, policy: str, where: str, notes: list[str]) -> pd.DataFrame:
    dup = frame.index.duplicated(keep="first")
    if not dup.any():
        return frame
    if policy == "error":
        raise UserError(
            f"{where} has {int(dup.sum())} duplicated timestamp(s), the first at {frame.index[dup][0]}. "
            "Remove them, or set data.duplicates to mean, first or last."
        )
    notes.append(f"{int(dup.sum())} duplicated timestamp(s) in {where} were merged ({policy}).")
    grouped = frame.groupby(level=0, sort=True)
    return {"mean": grouped.mean, "first": grouped.first, "last": grouped.last}[policy]()


def infer_frequency(index: pd.DatetimeIndex) -> str | None:
    """The series' step, found despite gaps.

    pandas' own inference needs a gap-free index. Otherwise the greatest common
    divisor of the steps between rows is the grid, when it is a fixed length (hours,
    days) and at most two thirds of that grid are missing; calendar steps (months,
    quarters) are inferred on short gap-free stretches instead.
    """
    if len(index) < 3:
        return None
    whole = pd.infer_freq(index)
    if whole:
        return whole
    steps = np.diff(index.asi8 if index.unit == "ns" else index.as_unit("ns").asi8)
    steps = steps[steps > 0]
    if len(steps):
        step = int(np.gcd.reduce(steps))
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


def _alias(step: pd.Timedelta) -> str:
    """A fixed step as a pandas alias; whole days as days ('D', '2D'), not as 24-hour multiples."""
    days = step / pd.Timedelta(days=1)
    if days == int(days):
        return "D" if days == 1 else f"{int(days)}D"
    return to_offset(step).freqstr


def season_length(frequency: str | None) -> int:
    """The conventional season: a day of sub-daily steps, a week of days, a year of months or quarters."""
    if frequency is None:
        return 1
    offset = pd.tseries.frequencies.to_offset(frequency)
    try:
        step = pd.Timedelta(offset)
    except (ValueError, TypeError):
        step = None
    if step is not None:
        day = pd.Timedelta(days=1)
        return max(1, int(round(day / step))) if step < day else (7 if step == day else 1)
    code = offset.rule_code.split("-")[0].upper()
    return {"B": 5, "W": 52, "M": 12, "ME": 12, "MS": 12, "SM": 24, "SMS": 24, "Q": 4, "QE": 4, "QS": 4}.get(code, 1)


def default_input_length(season: int, horizon: int, training_rows: int) -> int:
    """The look-back used when window.input_length is not given.

    Two seasons or two horizons, whichever is longer, so that the seasonal skip path
    has a whole season to copy and the network sees the level move over a horizon;
    then shortened until a window (look-back plus horizon) fits in `training_rows`,
    the typical series' training part, and capped at 336 steps to keep training cheap.
    """
    wanted = min(max(2 * season, 2 * horizon, 8), 336)
    return max(1, min(wanted, training_rows - horizon))


# ---------------------------------------------------------------------------- split


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
    """(train_end, val_end, n_rows) of data.split on this series, before any window is checked."""
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
        val_end_ts = pd.Timestamp(cfg.split.test_start)
        train_end = int(series.index.searchsorted(pd.Timestamp(cfg.split.val_start)))
        val_end = int(series.index.searchsorted(val_end_ts))
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


# ---------------------------------------------------------------------------- preprocessing


def fit_preprocessing(series: Series, bounds: Bounds, cfg: DataConfig, fixed: dict | None = None) -> dict:
    """Fill values and scaler fitted on the training rows only, as a JSON-ready dict.

    `fixed` gives (center, scale) for columns scaled across series, not within one: a
    static feature is constant in its series, and only its differences between series
    carry information.
    """
    train = series.frame.iloc[: bounds.train_end]
    means = train.mean()
    if means.isna().any():
        column = means.index[means.isna()][0]
        raise UserError(
            f"column '{column}' has no values in the training rows of {series.label}. "
            "Choose another column or move data.split so that training has data."
        )
    if cfg.scaling == "standard":
        center, scale = means, train.std(ddof=0)
    elif cfg.scaling == "minmax":
        center, scale = train.min(), train.max() - train.min()
    else:
        center, scale = means * 0.0, means * 0.0 + 1.0
    scale = scale.where(scale > 1e-12 * np.maximum(1.0, center.abs()), 1.0)  # a constant column stays finite
    for column, (mid, unit) in (fixed or {}).items():
        center[column], scale[column] = mid, unit
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
        "season_length": cfg.season_length or season_length(series.frequency),
        "train_end": bounds.train_end,
        "val_end": bounds.val_end,
        "test_end": bounds.n_rows,
        "last_seen": str(series.index[bounds.val_end - 1]),
    }


def prepare(series: Series, prep: dict) -> tuple[np.ndarray, np.ndarray]:
    """Scaled float32 values with gaps filled, and a mask of rows a window may use."""
    frame = series.frame
    policy = prep["missing"]
    missing = frame.isna().to_numpy()
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


def unscale(values: np.ndarray, prep: dict) -> np.ndarray:
    """Back to the data's units, for arrays whose last axis is the target columns."""
    n = len(prep["targets"])
    return values * np.asarray(prep["scale"][:n]) + np.asarray(prep["center"][:n])


# ---------------------------------------------------------------------------- windows


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
              "test": (bounds.val_end, bounds.n_rows)}[part]
    return window_starts(valid, window.input_length, window.horizon, lo, hi, stride)


def future_index(index: pd.Index, frequency: str | None, horizon: int) -> pd.Index:
    """The timestamps (or step numbers) of the `horizon` steps after the last row."""
    if frequency is None or not isinstance(index, pd.DatetimeIndex):
        return pd.RangeIndex(len(index), len(index) + horizon, name="step")
    return pd.date_range(index[-1], periods=horizon + 1, freq=frequency, name=index.name)[1:]


def static_scaling(panel: dict[str, Series], columns: list[str]) -> dict:
    """(center, scale) of each static feature across the series of a panel, one value per series."""
    out = {}
    for column in columns:
        values = np.array([s.frame[column].iloc[0] for s in panel.values()], dtype="float64")
        std = float(np.nanstd(values))
        out[column] = (float(np.nanmean(values)), std if std > 1e-12 else 1.0)
    return out


def n_known(cfg: DataConfig) -> int:
    """How many known-future input columns a config gives: its future features and two per calendar feature."""
    return len(cfg.future_features) + 2 * len(cfg.calendar)


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
            absent = [str(t) for t in index[missing.to_numpy()]]
            raise UserError(
                f"{series.label} does not give the future features ({', '.join(given)}) for the steps to forecast: "
                f"missing at {', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}. Add rows for the next "
                f"{horizon} steps after the last target, with the targets left empty and these columns filled."
            )
    if prep["calendar"]:
        frame = pd.concat([frame, calendar_features(index, prep["calendar"])], axis=1)
    center = np.asarray(prep["center"][-len(known):])
    scale = np.asarray(prep["scale"][-len(known):])
    return ((frame[known].to_numpy() - center) / scale).astype("float32")


def n_batches(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
