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

    @property
    def columns(self) -> list[str]:
        return self.targets + self.features

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
    table = read_table(path)
    time_columns = _as_list(cfg.time_column)
    _check_columns(table, cfg, time_columns, path)
    numeric = {c: _to_numbers(table[c], c, path, cfg) for c in list(cfg.targets) + list(cfg.features)}
    if categories is None:
        categories = {c: sorted(table[c].dropna().str.strip().unique().tolist()) for c in cfg.categorical}
    onehot = {
        f"{c}={value}": (table[c].str.strip() == value).astype("float64").to_numpy()
        for c in cfg.categorical
        for value in categories[c]
    }
    values = pd.DataFrame({**numeric, **onehot})
    targets, features = list(cfg.targets), list(cfg.features) + list(onehot)
    notes: list[str] = []
    time_columns = time_columns or [c for c in [detect_time_column(table)] if c]
    if not time_columns:
        frame = values.set_axis(pd.RangeIndex(len(values), name="step"), axis=0)
        return Series(frame, targets, features, None, path, notes, categories)

    times = _parse_times(table, time_columns, path, notes)
    name = time_columns[0] if len(time_columns) == 1 else "time"
    frame = values.set_axis(pd.DatetimeIndex(times, name=name), axis=0).sort_index(kind="stable")
    frame = _resolve_duplicates(frame, cfg.duplicates, path, notes)
    freq = frequency or cfg.frequency or infer_frequency(frame.index)
    if freq is None:
        raise UserError(
            f"the time steps in {path.name} ('{name}') have no regular frequency. "
            "Set data.frequency (a pandas alias such as D, h, 15min, MS) in the config."
        )
    try:
        regular = frame.asfreq(freq)
    except ValueError as exc:
        raise UserError(f"data.frequency '{freq}' is not a pandas frequency alias ({exc}). Use e.g. D, h, MS.") from None
    if len(regular) > len(frame):
        notes.append(f"{len(regular) - len(frame)} missing time step(s) in {path.name} were added and filled ({cfg.missing}).")
    off_grid = int((~frame.index.isin(regular.index)).sum())
    if off_grid:
        notes.append(f"{off_grid} row(s) off the {freq} grid in {path.name} were dropped.")
    return Series(regular, targets, features, freq, path, notes, categories)


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
    """Parse times (NaT where a cell is not one); changing UTC offsets (daylight saving) become UTC."""
    try:
        return pd.to_datetime(text, errors="coerce", format="mixed"), False
    except ValueError:
        return pd.to_datetime(text, errors="coerce", format="mixed", utc=True), True


def _parse_times(table: pd.DataFrame, columns: list[str], path: Path, notes: list[str]) -> pd.Series:
    """One timestamp per row from one column, or assembled from several (year, month, day, hour...)."""
    text = table[columns].astype(str).agg(" ".join, axis=1) if len(columns) > 1 else table[columns[0]]
    if len(columns) > 1 and all(c.lower() in DATE_PARTS for c in columns):
        parts = table[columns].apply(pd.to_numeric, errors="coerce").rename(columns=str.lower)
        times = pd.to_datetime(parts, errors="coerce")
    else:
        times, mixed_offsets = _datetimes(text)
        if mixed_offsets:
            notes.append(f"the times in {path.name} carry different UTC offsets; they are kept in UTC.")
    bad = times.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            f"time column {', '.join(columns)} in {path.name} has a cell that is not a date: "
            f"{text.iloc[row]!r} on line {row + 2}. Fix or remove that row, or set data.time_column."
        )
    return times


def _to_numbers(cells: pd.Series, column: str, path: Path, cfg: DataConfig) -> pd.Series:
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
            f"column '{column}' in {path.name} has a cell that is not a number: {value!r} on line {row + 2}. "
            f"Targets and features must be numeric. {how}"
        )
    infinite = np.isinf(numbers.to_numpy())
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise UserError(
            f"column '{column}' in {path.name} has an infinite value ({cells.iloc[row]!r}) on line {row + 2}. "
            "Replace it with a number, or leave the cell empty to treat it as missing."
        )
    if numbers.isna().all():
        raise UserError(
            f"column '{column}' in {path.name} has no numbers at all (every cell is empty). Choose another column."
        )
    return numbers.astype("float64")


def _resolve_duplicates(frame: pd.DataFrame, policy: str, path: Path, notes: list[str]) -> pd.DataFrame:
    dup = frame.index.duplicated(keep="first")
    if not dup.any():
        return frame
    if policy == "error":
        raise UserError(
            f"{path.name} has {int(dup.sum())} duplicated timestamp(s), the first at {frame.index[dup][0]}. "
            "Remove them, or set data.duplicates to mean, first or last."
        )
    notes.append(f"{int(dup.sum())} duplicated timestamp(s) in {path.name} were merged ({policy}).")
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


# ---------------------------------------------------------------------------- split


def split_bounds(series: Series, cfg: DataConfig, window: WindowConfig) -> Bounds:
    """Where the validation and test targets start; every part must hold at least one window."""
    n = len(series.frame)
    if cfg.split.train_end is not None:
        train_end, val_end, n = cfg.split.train_end, cfg.split.val_end, cfg.split.test_end
        if n > len(series.frame):
            raise UserError(
                f"data.split.test_end is {n}, but {series.path.name} has only {len(series.frame)} rows on its grid. "
                "Lower test_end (and val_end, train_end) to fit the file."
            )
    elif cfg.split.val_start is not None:
        if series.frequency is None:
            raise UserError("data.split.val_start/test_start need a time column; split by fractions instead.")
        val_end_ts = pd.Timestamp(cfg.split.test_start)
        train_end = int(series.index.searchsorted(pd.Timestamp(cfg.split.val_start)))
        val_end = int(series.index.searchsorted(val_end_ts))
    else:
        train_end = int(n * cfg.split.train)
        val_end = int(n * (cfg.split.train + cfg.split.val))
    L, H = window.input_length, window.horizon
    parts = {"training": (0, train_end, L + H), "validation": (train_end, val_end, H), "test": (val_end, n, H)}
    for name, (lo, hi, need) in parts.items():
        if hi - lo < need or (name != "training" and lo < L):
            raise UserError(
                f"the {name} part of {series.path.name} has {hi - lo} rows, but a window needs "
                f"{need} there (input_length {L}, horizon {H}; the file has {n} rows on its grid). "
                "Shorten window.input_length or window.horizon, change data.split, or use more data."
            )
    return Bounds(train_end, val_end, n)


# ---------------------------------------------------------------------------- preprocessing


def fit_preprocessing(series: Series, bounds: Bounds, cfg: DataConfig) -> dict:
    """Fill values and scaler fitted on the training rows only, as a JSON-ready dict."""
    train = series.frame.iloc[: bounds.train_end]
    means = train.mean()
    if means.isna().any():
        column = means.index[means.isna()][0]
        raise UserError(
            f"column '{column}' has no values in the training rows of {series.path.name}. "
            "Choose another column or move data.split so that training has data."
        )
    if cfg.scaling == "standard":
        center, scale = means, train.std(ddof=0)
    elif cfg.scaling == "minmax":
        center, scale = train.min(), train.max() - train.min()
    else:
        center, scale = means * 0.0, means * 0.0 + 1.0
    scale = scale.where(scale > 1e-12 * np.maximum(1.0, center.abs()), 1.0)  # a constant column stays finite
    return {
        "columns": series.columns,
        "targets": series.targets,
        "features": series.features,
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
            f"column '{frame.columns[col]}' in {series.path.name} has a missing value at {frame.index[row]}. "
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


def gather(values: np.ndarray, starts: np.ndarray, input_length: int, horizon: int, n_targets: int):
    """Inputs (batch, input_length, columns) and targets (batch, horizon, n_targets) for these starts only."""
    rows = starts[:, None] + np.arange(input_length + horizon)
    block = values[rows]
    return block[:, :input_length], block[:, input_length:, :n_targets]


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


def n_batches(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
