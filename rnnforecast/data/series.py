"""Series and panels: a table's targets and features on a regular grid, with the notes of what was done."""

from __future__ import annotations

import contextlib
import difflib
import functools
import gc
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from rnnforecast import environment
from rnnforecast.config import DataConfig
from rnnforecast.data import columnar
from rnnforecast.data.grid import _alias, _resolve_duplicates, calendar_features, infer_frequency, stamps_text
from rnnforecast.data.io import _looks_like_time, detect_time_columns, read_table, written_cells
from rnnforecast.data.parse import (
    _parse_times, _sentinels, _to_numbers, id_order, missing_cells, sentinel_note, with_decimal_comma, without_units,
)
from rnnforecast.errors import UserError


def time_text(stamp, years: bool = False) -> str:
    """A time as the tables write it: the year alone for a series dated by plain years (`year,value` files)."""
    return str(stamp.year) if years and hasattr(stamp, "year") else str(stamp)


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
    years: bool = False  # its time column holds plain years (1990, as `year,value` tables write them)

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


def _collected(read):
    """`read` on the memory the steps before left (handed back first), then Python's cycle collector over its young
    objects, so that the file's text is freed when it returns.

    pandas' string accessor leaves each column it touched in a reference cycle (the column caches the
    accessor, the accessor holds the column), so a file's text cells outlived the read until the collector
    ran, which making strings never triggers: 400 MB of a 1,000,000-row, 8-column file, held through a
    run's calibration (benchmarks/PERFORMANCE.md, section 26). The young generations take 0.1 s. What
    was freed is then handed back to the system (environment.release_freed_memory).
    """
    @functools.wraps(read)
    def reading(*args, **kwargs):
        environment.release_freed_memory()  # what the step before freed (a training): the file is read on less
        try:
            return read(*args, **kwargs)
        finally:
            gc.collect(1)
            environment.release_freed_memory()

    return reading


_KEPT: dict | None = None  # while `read_once` is open: the last file read, {"key": ..., "panel": {id: Series}}


@contextlib.contextmanager
def read_once():
    """Within it, a file read again with the same columns, unchanged on disk, is not read again.

    `rnnforecast train` reads the file for training and again for the run's calibration and
    combination (which read a run folder, as predict does); on a long file the second read was the
    peak of the run's memory, on top of what the training left (benchmarks/PERFORMANCE.md, section
    28). The last read is kept while the block runs and dropped after it; a read that asks for
    another grid, other categories, newer data (strict_frequency) or some series only reads the file.
    """
    global _KEPT
    _KEPT = {}
    try:
        yield
    finally:
        _KEPT = None


def _read_key(cfg: DataConfig, path: Path):
    """What a read depends on: the file as it is now on disk and the data section (the split aside: training may set
    it, and it does not change what is read)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns, cfg.model_dump_json(exclude={"split"})


def _kept(read):
    """`read` (load_series, or load_panel: its name says) through `read_once`'s last read: the same series, without
    reading the file."""
    as_panel = read.__name__ == "load_panel"

    @functools.wraps(read)
    def reading(cfg, path=None, frequency=None, categories=None, strict_frequency=False, **kwargs):
        if _KEPT is None or strict_frequency or kwargs.get("only"):
            return read(cfg, path, frequency, categories, strict_frequency, **kwargs)
        key = _read_key(cfg, Path(path or cfg.path))
        panel = _KEPT.get("panel") if key is not None and _KEPT.get("key") == key else None
        if panel is not None and (as_panel or list(panel) == [""]) and all(
                (frequency is None or s.frequency == frequency) and (categories is None or s.categories == categories)
                for s in panel.values()):
            copies = {k: replace(s, notes=list(s.notes)) for k, s in panel.items()}
            return copies if as_panel else copies[""]
        found = read(cfg, path, frequency, categories, strict_frequency, **kwargs)
        _KEPT.clear()  # the last read only: memory stays that of one file
        if key is not None:
            _KEPT.update(key=key, panel={"": found} if isinstance(found, Series) else found)
        return found

    return reading


@_kept
@_collected
def load_series(
    cfg: DataConfig, path: Path | None = None, frequency: str | None = None, categories: dict | None = None,
    strict_frequency: bool = False,
) -> Series:
    """Read the file and put the chosen columns on a regular time grid.

    Args:
        cfg: the data section of the config.
        path: another file with the same columns (predict/evaluate --data); default cfg.path.
        frequency: the frequency found at training time, so newer data uses the same grid.
        categories: the categories of each categorical column found at training time.
        strict_frequency: refuse a file whose own steps differ from `frequency` (newer data for a run)
            instead of putting it on that grid.
    """
    path = Path(path or cfg.path)
    if cfg.id_column:
        raise UserError(f"{path.name} holds many series (data.id_column); read it with load_panel.")
    table = read_table(path, used_columns(cfg))
    return _one_series(table, cfg, path, frequency, categories, strict_frequency)


def _one_series(table, cfg: DataConfig, path: Path, frequency, categories, strict_frequency: bool) -> Series:
    table, unit_notes = without_units(table, cfg, _numeric_columns(cfg), path.name)
    read = with_decimal_comma(table, cfg, _numeric_columns(cfg), path.name)
    series = table_to_series(table, read, path, frequency, categories, strict_frequency=strict_frequency)
    series.notes.extend(unit_notes + unseen_categories(table, cfg, categories, path.name))
    if read is not cfg:
        series.notes.append(f"{path.name} separates columns with ';' and writes numbers with a decimal comma (20,7): "
                            "read so. Set data.decimal: '.' if the commas mean something else.")
    return series


@_kept
@_collected
def load_panel(
    cfg: DataConfig, path: Path | None = None, frequency: str | None = None, categories: dict | None = None,
    strict_frequency: bool = False, only: list[str] | None = None,
) -> dict[str, Series]:
    """Every series of a long table (one per value of data.id_column, in the ids' order), each on its own grid.

    A file without data.id_column is a panel of one series, keyed "". Categories and,
    unless given, the frequency are found once for the whole table, so that every
    series has the same columns and step. `strict_frequency`: the longest series must
    have the steps of `frequency` (as load_series). `only`: these series ids are all that is needed
    (a Parquet file then reads only their rows; a CSV file is read whole).
    """
    path = Path(path or cfg.path)
    table = read_table(path, used_columns(cfg), (cfg.id_column, only) if only and cfg.id_column else None, cfg.id_column)
    if not cfg.id_column:
        return {"": _one_series(table, cfg, path, frequency, categories, strict_frequency)}
    table, unit_notes = without_units(table, cfg, _numeric_columns(cfg), path.name)
    cfg = with_decimal_comma(table, cfg, _numeric_columns(cfg), path.name)
    if cfg.id_column not in table.columns:
        raise UserError(
            f"column '{cfg.id_column}' (data.id_column) is not in {path.name}. Columns there: "
            f"{', '.join(table.columns)}. Fix the name in the config."
        )
    keys = id_keys(table[cfg.id_column])
    _refuse_times_as_ids(keys, cfg, path)
    ids = pd.Series(keys, index=table.index)
    unit_notes += unseen_categories(table, cfg, categories, path.name)
    unit_notes += _panel_sentinel_notes(table, cfg, path.name)
    if categories is None:
        categories = _categories(table, cfg)
    if time_columns_of(cfg, table) and (strict_frequency and frequency is not None
                                        or frequency is None and cfg.frequency is None):
        codes, names = pd.factorize(keys, sort=True)
        biggest, largest = None, table
        for biggest in np.argsort(-np.bincount(codes), kind="stable") if len(codes) else []:
            largest = table.iloc[np.flatnonzero(codes == biggest)]  # the longest series with a target value
            if any(c not in table.columns for c in cfg.targets) or not _no_target_value(largest, cfg):
                break  # (a missing target column is reported by table_to_series)
        label = "" if biggest is None else series_label(cfg.id_column, names[biggest])
        probe = table_to_series(largest, cfg, path, frequency, categories, label=label, strict_frequency=strict_frequency)
        frequency = frequency or probe.frequency

    empty: list[str] = []  # series whose rows hold no target value at all: left out, not a reason to stop

    def one(key, rows):
        return read_one(key, table.iloc[rows])

    def read_one(key, rows):
        try:
            return table_to_series(rows, cfg, path, frequency, categories, label=series_label(cfg.id_column, key))
        except UserError:
            if key and _no_target_value(rows, cfg):
                empty.append(key)
                return None
            raise

    panel = columnar.read_panel(table, keys, cfg, path, frequency or cfg.frequency, categories, one)
    if panel is None:
        panel = {key: read_one(key, rows) for key, rows in _groups(table, ids).items()}
    panel = Panel((key, series) for key, series in panel.items() if series is not None)
    if not panel:
        raise UserError(f"no series of {path.name} has a value of {', '.join(cfg.targets)}. Check data.targets.")
    panel.empty = [empty[i] for i in id_order(np.array(empty, dtype=object))]
    panel.blank_rows = int(np.count_nonzero(keys == ""))  # as in the file, before the grid adds missing steps
    next(iter(panel.values())).notes.extend(unit_notes)  # said once for the file, not once per series
    return panel


NINES = [sign * (10**k - 1) for k in range(3, 10) for sign in (1, -1)]  # 999 ... 999999999 (99: a common value)
NINES_WRITTEN = {f"{v}{end}" for v in NINES for end in ("", ".0", ".00")}


def _panel_sentinel_notes(table: pd.DataFrame, cfg: DataConfig, name: str) -> list[str]:
    """sentinel_note for a panel's number columns, over the whole file (a note per series would repeat it).

    A column is read as numbers only where a cell holds a value of nines as written: one hashed
    pass over its text, so that a large clean panel pays next to nothing for it (0.4 s for 5 million cells).
    """
    notes = []
    for column in [*cfg.targets, *cfg.features]:
        if column not in table.columns:
            continue
        cells = table[column]
        numeric = pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells)
        if not cells.isin(NINES if numeric else NINES_WRITTEN).any():
            continue
        numbers = cells if numeric else pd.to_numeric(cells.astype("string").str.strip(), errors="coerce")
        numbers = numbers.mask(numbers.isin(_sentinels(cfg.missing_values)))  # dropped when the series are read
        if note := sentinel_note(numbers, column, name):
            notes.append(note)
    return notes


def _no_target_value(rows: pd.DataFrame, cfg: DataConfig) -> bool:
    """Whether every target cell of these rows is empty, a missing marker or a sentinel."""
    return all(missing_cells(rows[column], cfg).all() for column in cfg.targets)


def empty_series_note(empty: list[str], targets: list[str], counted: str) -> str:
    """The note for a panel's series that hold no target value (`counted`: "1 of 5 series", "1 series of x.csv")."""
    has, is_ = ("has", "is") if len(empty) == 1 else ("have", "are")
    return (f"{counted} {has} no value of {', '.join(targets)} at all and {is_} left out: "
            + ", ".join(empty[:10]) + (" ..." if len(empty) > 10 else ""))


class Panel(dict):
    """Series id -> Series, with what the notes about the file need.

    `empty`: the ids whose rows hold no target value at all, left out (train and predict say so); such a
    series is only looked for when reading it fails, so a clean file pays nothing for it. `blank_rows`:
    how many of the file's rows have no id (the series keyed "", counted before its grid fills gaps).
    """

    empty: list[str] = []
    blank_rows: int = 0


def _refuse_times_as_ids(keys: np.ndarray, cfg: DataConfig, path: Path) -> None:
    """An id column of dates, nearly one per row, is the time column named as data.id_column: each 'series' would
    be one row, refused as too short, which says nothing of the cause."""
    sample = [str(k) for k in keys[:20] if k]  # checked first: ids of stores and sensors stop here, unhashed
    if len(sample) < 3 or not all(_looks_like_time(k) for k in sample):
        return
    if 2 * len(pd.unique(keys)) > len(keys):
        raise UserError(
            f"data.id_column '{cfg.id_column}' in {path.name} holds times ({', '.join(map(repr, sample[:2]))}, ...), one or "
            "two rows each: it looks like the time column. data.id_column names the series of a panel (a store, a "
            "sensor); leave it out for one series, or name the column that tells the series apart."
        )


def series_label(id_column: str, key: str) -> str:
    """How messages name a panel's series; the rows without an id are one series too (training notes it)."""
    return f"{id_column}={key}" if key else f"the rows with an empty {id_column}"


def id_examples(keys, limit: int = 5) -> str:
    """The first ids of a list, for a note ("s1, s2, s3 ..."); the rows without an id named as such, not as ""."""
    keys = list(keys)
    shown = ["(the rows with an empty id)" if key == "" else str(key) for key in keys[:limit]]
    return ", ".join(shown) + (" ..." if len(keys) > limit else "")


def id_keys(column: pd.Series) -> np.ndarray:
    """Each row's series id as stripped text (a missing id is ""), as an object array.

    Whole-number ids read as floats (pandas does so for a number column with an empty cell) are
    written as whole numbers: 12, not 12.0.

    Factorized first, so each distinct id is converted once and the rows share its string:
    38 million rows of 30,490 ids cost one pointer each, not one string each (gigabytes).
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if uniques.dtype.kind == "f" and np.all((np.mod(uniques, 1) == 0) & (np.abs(uniques) < 2**53)):  # 1.0 for 1
        uniques = uniques.astype("int64")
    names = np.asarray(pd.Index(uniques).astype(str).str.strip(), dtype=object)
    return np.append(names, "")[codes]  # code -1 (missing) takes the last: ""


def _groups(table: pd.DataFrame, ids: pd.Series) -> dict[str, pd.DataFrame]:
    """Each id's rows, in file order, keyed by id in the ids' order (parse.id_order: 2 before 10).

    One stable sort of the table and a slice per series: looking each group's rows up by
    label (`table.loc[rows]`) cost as much as reading them, a few milliseconds per series.
    """
    keys = ids.to_numpy(dtype=object)
    codes, uniques = pd.factorize(keys)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[id_order(uniques)] = np.arange(len(uniques))
    order = np.argsort(rank[codes], kind="stable")
    ordered, keys = table.take(order), keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], dtype=int)
    stops = np.r_[starts[1:], len(keys)]
    return {keys[a]: ordered.iloc[a:b] for a, b in zip(starts, stops)}


def _numeric_columns(cfg: DataConfig) -> list[str]:
    return list(cfg.targets) + list(cfg.features) + list(cfg.static_features) + list(cfg.future_features)


def used_columns(cfg: DataConfig) -> list[str] | None:
    """Every column the config reads; None when the time column is left to be detected (all are needed)."""
    if cfg.time_column is None:
        return None
    named = [*_as_list(cfg.time_column), *cfg.targets, *cfg.features, *cfg.categorical, *cfg.future_features,
             *cfg.static_features]
    return named + ([cfg.id_column] if cfg.id_column else [])


def time_columns_of(cfg: DataConfig, table: pd.DataFrame) -> list[str]:
    """The configured time column(s), or the detected one, or none."""
    return _as_list(cfg.time_column) or detect_time_columns(table)


def table_to_series(
    table: pd.DataFrame,
    cfg: DataConfig,
    path: Path,
    frequency: str | None = None,
    categories: dict | None = None,
    label: str = "",
    strict_frequency: bool = False,
) -> Series:
    """One series from its rows of the table: numbers checked, sorted, deduplicated, on a regular grid.

    Rows at the end whose targets are all empty are the future: they carry the
    known-future inputs (data.future_features) for the steps to forecast.
    """
    where = f"{path.name} ({label})" if label else path.name
    time_columns = _as_list(cfg.time_column)
    _check_columns(table, cfg, time_columns, path)
    numeric = {c: _to_numbers(table[c], c, where, cfg) for c in _numeric_columns(cfg)}
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
    if not label:  # one series (a panel's series would each repeat it)
        notes += [n for c in [*cfg.targets, *cfg.features] if (n := sentinel_note(numeric[c], c, where))]
    if not time_columns and len(time_columns := detect_time_columns(table)) > 1 and not cfg.id_column:
        notes.append(f"the time in {path.name} is assembled from its columns {', '.join(time_columns)} "
                     "(set data.time_column to read it otherwise).")
    if not time_columns:
        if cfg.calendar:
            raise UserError(f"data.calendar needs a time column, and {path.name} has none. Set data.time_column.")
        if strict_frequency and frequency is not None:  # newer data for a run trained on dated rows
            raise UserError(
                f"{path.name} has no time column that reads as dates, but the run was trained on dated rows (steps of "
                f"{frequency}{', column ' + repr(cfg.time_column) if cfg.time_column else ''}): without their times its "
                "rows could not be placed after the training's, nor the forecast dated. Give the file its time column, "
                "as the training file has it."
            )
        frame = _drop_unobserved_tail(values.set_axis(pd.RangeIndex(len(values), name="step"), axis=0), cfg, where, notes)
        _note_empty_cells(frame, cfg, where, notes)
        if not cfg.id_column:  # a panel would say it once per series
            notes.append(f"{path.name} has no time column that reads as dates: rows are numbered as steps and "
                         "forecasts too. If it has one, set data.time_column.")
        return _finish(frame, cfg, onehot, None, path, where, notes, categories)

    times = _parse_times(table, time_columns, where, notes)
    _refuse_stacked_series(table, pd.DatetimeIndex(times), cfg, time_columns, where)
    name = time_columns[0] if len(time_columns) == 1 and not str(time_columns[0]).startswith("Unnamed: ") else "time"
    frame = values.set_axis(pd.DatetimeIndex(times, name=name), axis=0).sort_index(kind="stable")
    frame = _drop_unobserved_tail(_resolve_duplicates(frame, cfg.duplicates, where, notes), cfg, where, notes)
    _note_empty_cells(frame, cfg, where, notes)
    if frequency is not None and strict_frequency and cfg.frequency is None:
        _check_same_frequency(frame.index, frequency, where)
    freq = frequency or cfg.frequency or infer_frequency(frame.index)
    if freq is None and len(frame) < 3:
        raise UserError(
            f"{where} has {len(frame)} row{'s' * (len(frame) != 1)} with a time: too few to tell the series' "
            "frequency, let alone to learn from. Give the file the series' history."
        )
    if freq is None:
        usual = ""
        if len(frame) > 2:  # the rows' typical step, rounded to a whole minute (or second): the alias to try
            median = pd.Timedelta(int(np.median(np.diff(frame.index.asi8))), unit=frame.index.unit)
            rounded = median.round("min") if median >= pd.Timedelta(minutes=1) else median.round("s")
            usual = f" Its rows are mostly about {_span(rounded)} apart: data.frequency: {_alias(rounded)} puts each on " \
                    "that grid." if pd.Timedelta(0) < rounded < pd.Timedelta(days=28) else ""  # months: calendar steps
            local = frame.index.tz_localize(None) if frame.index.tz is not None else frame.index
            months = local.to_period("M")
            if not usual and len(months.unique()) == len(months) and (np.diff(months.asi8) == 1).mean() > 0.9:
                usual = (" Its rows are one a month (the 15th, or a month's last weekday): data.frequency: MS puts "
                         "each on its month, labelled by the month's first day.")
        raise UserError(
            f"the time steps in {where} ('{name}') have no regular frequency. "
            f"Set data.frequency (a pandas alias such as D, h, 15min, MS) in the config.{usual}"
        )
    if frequency is None and cfg.frequency is None:
        _refuse_a_finer_grid_than_the_rows(frame.index, freq, where)
    try:
        regular = frame.asfreq(freq)
    except ValueError:
        raise UserError(f"data.frequency '{freq}' is not a pandas frequency alias. Use one such as D (days), h (hours), "
                        "15min, W (weeks), MS (months), QS (quarters) or YS (years).") from None
    if frequency is not None and cfg.frequency is None and len(regular) > 2 * len(frame) >= 6:
        _check_panel_frequency(frame.index, frequency, len(regular) - len(frame), where)
    if freq == "B" and frequency is None and cfg.frequency is None:
        notes.append(f"the daily rows of {where} never fall on a weekend: read as business days (data.frequency: B), "
                     "so weekends are neither filled nor forecast. Set data.frequency: D to count every day.")
    off = ~frame.index.isin(regular.index)
    off_grid = int(off.sum())
    if off_grid and cfg.frequency is not None and freq != "B" and _one_row_per_step(frame.index, freq):
        nearest = frame.groupby(frame.index.round(freq)).mean()  # a logger's jitter: each reading to its nearest step
        regular = nearest.asfreq(freq)
        empty = ~regular.index.isin(nearest.index)
        notes.append(f"{off_grid} of the {len(frame)} rows of {where} fall between the steps of data.frequency {freq}, "
                     "about one per step: each was moved to its nearest step (the mean where two met).")
    elif off_grid and cfg.frequency is not None and freq != "B":  # business days: weekend rows dropped, not averaged
        steps = frame.resample(freq)
        regular, empty = steps.mean(), (steps.size() == 0).to_numpy()
        notes.append(f"{off_grid} of the {len(frame)} rows of {where} fall between the steps of data.frequency {freq}: "
                     "each step is the mean of the rows in it (add them up in the file where the values are totals).")
    elif off_grid > OFF_GRID_SHARE * len(frame) and cfg.frequency is None:
        row = int(np.flatnonzero(off)[0])
        grid = (f"the {freq} grid of the panel's other series (or of the run)" if frequency is not None
                else f"the {freq} grid that its first rows suggest")
        raise UserError(
            f"{off_grid} of the {len(frame)} rows of {where} fall between the steps of {grid} (the first: "
            f"{frame.index[row]}), and would be dropped. Set data.frequency to the step to forecast in (D, h, W, "
            "MS...): each step is then the mean of the rows in it."
        )
    else:
        empty = ~regular.index.isin(frame.index)
        if off_grid:  # 2020-02-28 in month ends: a month's value, dropped and interpolated over
            first = frame.index[int(np.flatnonzero(off)[0])]
            keep = (f" Set data.frequency: {freq} to keep each in its step (the mean of the rows in it)."
                    if cfg.frequency is None and freq != "B" else "")
            notes.append(f"{off_grid} row(s) off the {freq} grid in {where} were dropped (the first: {first}).{keep}")
    if empty.any():
        notes.append(f"{int(empty.sum())} missing time step(s) in {where} were added and filled ({cfg.missing}).")
        notes.extend(_long_gap_note(regular.index, empty, where, cfg.missing))
    found = _finish(regular, cfg, onehot, freq, path, where, notes, categories)
    found.years = times.attrs.get("written_as") == "years"
    return found


def _one_row_per_step(index: pd.DatetimeIndex, freq: str) -> bool:
    """Whether rows off a fixed grid are readings one step apart with jitter (a logger every ~10 minutes), which
    belong to their nearest step, rather than several per step (hourly means of 10-minute readings), which belong
    to the step they fall in: about one row per step, and more steps hold a reading when each goes to its nearest.
    A step of the calendar (months, weeks' anchors) is always the latter."""
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError):
        return False
    if len(index) < 3:
        return False
    usual = pd.Timedelta(int(np.median(np.diff(index.asi8))), unit=index.unit)
    if not 0.75 * step <= usual <= 1.25 * step:
        return False
    try:  # fewer steps made up (daily rows moved to noon: each in its own day; noon rounds half to even, onto
        # its neighbours)
        return index.round(freq).nunique() > index.floor(freq).nunique()
    except Exception:  # local times at a daylight-saving change can be ambiguous to round: the usual reading stands
        return False


def _refuse_a_finer_grid_than_the_rows(index: pd.DatetimeIndex, freq: str, where: str) -> None:
    """Refuse a grid inferred finer than the rows' usual step where most of it would be made up.

    Daily rows at midnight, then at noon (a logger restarted), have 12 hours as the steps' common divisor:
    read on that grid, half the series would be interpolated and a horizon of 7 steps would be 3.5 days.
    Gappy data keep their grid: most of their rows are one step apart.
    """
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError):  # a calendar step (months, business days): not a common divisor
        return
    if len(index) < 4 or (index[-1] - index[0]) / step + 1 < 2 * len(index):  # the common case: checked first
        return
    usual = pd.Timedelta(int(pd.Series(np.diff(index.asi8)).mode().iloc[0]), unit=index.unit)
    if usual <= step:
        return
    between = int(np.flatnonzero(((index - index[0]) % usual) != pd.Timedelta(0))[0])
    raise UserError(
        f"the rows of {where} are mostly {_span(usual)} apart, but some fall between (the first: {index[between]}): "
        f"on a grid of {_span(step)} that fits them all, more than half the steps would be made up. Set "
        f"data.frequency to the step to forecast in: {_alias(usual)} (each step the mean of its rows), or {freq} "
        "to keep the finer grid."
    )


def _span(step: pd.Timedelta) -> str:
    """12 hours, 1 day, 90 minutes: a step in words."""
    seconds = int(step.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return str(step)


LONG_GAP = 0.1  # a gap longer than this share of the series' steps is named in a note of its own


def _long_gap_note(grid: pd.DatetimeIndex, added: np.ndarray, where: str, policy: str) -> list[str]:
    """A note naming the longest gap where it is a large part of the series: filled, it is what the network learns.

    A sensor off for years between two stretches of data is filled in by data.missing (a straight line when
    interpolated) and trained on like the rest; the user is told where it is and how to leave it out.
    `added`: which steps of `grid` no row of the file fell in.
    """
    edges = np.flatnonzero(np.diff(np.concatenate([[0], added.astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    if not len(starts) or policy in ("drop", "error"):  # drop: no window spans the gap
        return []
    longest = int(np.argmax(ends - starts))
    length = int(ends[longest] - starts[longest])
    if length <= LONG_GAP * len(grid):
        return []
    first, last, after = stamps_text(grid[[starts[longest], ends[longest] - 1, min(ends[longest], len(grid) - 1)]])
    return [f"the longest gap in {where}, {length} steps from {first} to {last}, is {length / len(grid):.0%} of the "
            f"series: it is filled ({policy}) and trained on as if observed. To forecast from the rows after it alone, "
            f"delete the rows before {after} from the file."]


OFF_GRID_SHARE = 0.1  # rows between the grid's steps, as a share of all: above it the grid is not the file's


STACKED = 0.2  # rows repeating an earlier row's timestamp, as a share of all: above it, not a glitch of one series


def _refuse_stacked_series(table: pd.DataFrame, index: pd.DatetimeIndex, cfg: DataConfig, time_columns: list[str],
                           where: str) -> None:
    """Refuse many repeated timestamps under data.duplicates: auto (the default): most likely several series in one
    file. A run's config.yaml keeps `auto`, so newer data (--data) is refused as the training file would be (it
    recorded `mean`, and a file of two stores was averaged into one forecast).

    A long table of stores (or a time-of-day column without its date) read as one series would
    have its rows averaged into one series with a note only; a newcomer's forecast would then
    be of a mean nobody asked for. A column that tells the rows of a timestamp apart is named
    as the data.id_column to set. Setting data.duplicates (mean, first, last) keeps the merge.
    """
    repeated = int(index.duplicated().sum())
    if repeated <= STACKED * len(index) or cfg.duplicates != "auto":
        return
    used = set(time_columns) | set(_numeric_columns(cfg)) | set(cfg.categorical) | {cfg.id_column}
    apart = []
    for column in table.columns:
        if column in used:
            continue
        key = table[column].astype("string").str.strip()
        if 1 < key.nunique() <= len(key) // 2 and not pd.MultiIndex.from_arrays([index, key]).duplicated().any():
            apart.append(column)
    written = (table[cfg.id_column].dropna().astype(str).unique() if cfg.id_column and cfg.id_column in table
               else [])
    if len(written) == 1 and (raw := written_cells(table, cfg.id_column)) is not None:  # ' pad' read as 'pad'
        written = raw[raw.str.strip() == str(written[0]).strip()].unique()
    if len(written) > 1:  # "North" and "North ": one id once stripped, two series in the file
        hint = (f"Its {cfg.id_column} is written {len(written)} ways ({', '.join(repr(w) for w in written[:3])}), "
                "which are one id once the spaces around them are stripped: if they are different series, name them "
                "apart by more than spaces. ")
    elif apart and apart[0].strip().lower() in ("week", "quarter", "month", "day", "hour", "minute"):
        hint = (f"Column '{apart[0]}' looks like part of the time: set data.time_column: "
                f"[{', '.join(time_columns)}, {apart[0]}]. ")
    elif apart and cfg.id_column:
        hint = (f"Column '{apart[0]}' tells them apart within one {cfg.id_column}: make one column of both (for "
                f"example {cfg.id_column}_{apart[0]}) and set data.id_column to it. ")
    elif apart:
        hint = (f"Column '{apart[0]}' tells them apart: set data.id_column: {apart[0]} to forecast each series (one "
                "model for all). ")
    elif cfg.id_column and "empty" in where:
        hint = f"These rows have no {cfg.id_column}: fill it in, each row with its own series' id. "
    elif cfg.id_column:
        hint = (f"Two series may share this {cfg.id_column} in the file (ids told apart only by leading zeros, such "
                "as 001 and 1, lose them in a spreadsheet): give each series its own id. ")
    else:
        hint = ("If a column names the series, set data.id_column to it; if the time column holds times of day "
                "without a date, give the date column too (data.time_column: [date, time]). ")
    raise UserError(
        f"{where} has {repeated} of {len(index)} rows whose timestamp repeats an earlier row's (about "
        f"{len(index) / max(index.nunique(), 1):.0f} rows per timestamp): it looks like several series in one file, "
        f"which would be averaged into one. {hint}If they are repeated measurements of one series, set "
        "data.duplicates: mean (or first, last) to combine them."
    )


def _note_empty_cells(frame: pd.DataFrame, cfg: DataConfig, where: str, notes: list[str]) -> None:
    """Say how many cells of the targets and features were empty (or a missing marker) up to the last target value.

    One series only: a panel would say it once per series.
    """
    if cfg.id_column or frame.empty:
        return
    columns = list(cfg.targets) + list(cfg.features)
    observed = np.flatnonzero(_has_target(frame, cfg))
    if not len(observed):
        return
    counts = frame[columns].iloc[: observed[-1] + 1].isna().sum()
    counts = counts[counts > 0]
    if len(counts):
        listed = ", ".join(f"'{c}' {n}" for c, n in counts.items())
        notes.append(f"{int(counts.sum())} empty or missing cell(s) in {where} ({listed}) are treated as missing "
                     f"(data.missing: {cfg.missing}).")


def _has_target(frame: pd.DataFrame, cfg: DataConfig) -> np.ndarray:
    """Per row, whether any target has a value (the targets are the frame's first columns)."""
    return ~np.isnan(frame.to_numpy(dtype="float64")[:, : len(cfg.targets)]).all(axis=1)


def _drop_unobserved_tail(frame: pd.DataFrame, cfg: DataConfig, where: str, notes: list[str]) -> pd.DataFrame:
    """Without known-future inputs, rows after the last target value are steps not observed yet.

    `interpolate` (the default) fills gaps between values and `drop` keeps windows off them: neither says
    what a step after the last value is, and filling it would start the forecast from made-up values, so those
    rows are left out, with a note. `ffill` and `mean` fill them as asked (a shop's empty cells may mean no
    sales); `error` refuses them.
    """
    if cfg.future_features or cfg.missing not in ("interpolate", "drop") or frame.empty:
        return frame
    observed = np.flatnonzero(_has_target(frame, cfg))
    if not len(observed) or observed[-1] + 1 == len(frame):
        return frame  # no target at all is refused by _finish
    last = int(observed[-1])
    notes.append(
        f"the last {len(frame) - last - 1} row(s) of {where} have no target value: they are left out, and the "
        f"forecast starts after {frame.index[last]}, the last row with one."
    )
    return frame.iloc[: last + 1]


def _other_frequency(index: pd.DatetimeIndex, frequency: str) -> str | None:
    """The rows' own regular step where it is not `frequency`, else None (no regular step of their own: None)."""
    own = infer_frequency(index) if len(index) >= 3 else None
    if own is None or to_offset(own) == to_offset(frequency):
        return None
    # weekly Sundays with a week missing infer as 7D, a run of them trained as W-SUN: the same grid, with a gap
    grid = pd.date_range(index[0], index[-1], freq=frequency)
    step = np.median(np.diff(grid.asi8)) if len(grid) > 1 else None
    same_step = step is not None and np.median(np.diff(index.asi8)) == step
    return None if same_step and index.isin(grid).all() else own


def _check_same_frequency(index: pd.DatetimeIndex, frequency: str, where: str) -> None:
    """Newer data must have the run's steps: daily rows on an hourly grid would be 23 interpolated hours of 24."""
    if own := _other_frequency(index, frequency):
        raise UserError(
            f"{where} has time steps of {own}, but the run was trained on steps of {frequency}. Forecasting from it "
            f"would fill in (or drop) rows to match. Give data at the run's frequency ({frequency}), or train a run "
            "on this data."
        )


def _check_panel_frequency(index: pd.DatetimeIndex, frequency: str, added: int, where: str) -> None:
    """A panel's series on the grid of its longest: refused where that grid would make up most of the series.

    Weekly rows among daily series would be six interpolated days of every seven; gaps in a
    series at the panel's own step (no regular step of its own) are filled as usual.
    """
    if own := _other_frequency(index, frequency):
        raise UserError(
            f"{where} has time steps of {own}, but the panel's longest series has steps of {frequency}, the grid "
            f"every series is put on: {added} of its {added + len(index)} steps there would be made up. Give every "
            "series the same frequency (resample this one), forecast it in a run of its own, or set data.frequency "
            "to choose the grid."
        )


def _finish(frame, cfg, onehot, freq, path, where, notes, categories) -> Series:
    """Split off the future rows (with data.future_features) and add the calendar columns.

    With known-future inputs, the rows after the last target value carry them for the
    steps to forecast (without, `_drop_unobserved_tail` has left them out or data.missing fills them).
    """
    has_target = _has_target(frame, cfg)
    if not has_target.any():
        raise UserError(f"{where} has no target values at all. Check data.targets.")
    future = None
    if cfg.future_features:
        last = int(np.flatnonzero(has_target)[-1])
        future = frame.iloc[last + 1 :][list(cfg.future_features)]
        frame = frame.iloc[: last + 1]
    if cfg.static_features:  # one value per series: the grid's added rows get it too
        frame = frame.assign(**{name: frame[name].ffill().bfill() for name in cfg.static_features})  # a new frame:
        # `frame` may be a slice of the file's (the future rows split off above), which pandas warns about
    if cfg.calendar:
        frame = pd.concat([frame, calendar_features(frame.index, cfg.calendar)], axis=1)
    known = list(cfg.future_features) + [f"{n}_{part}" for n in cfg.calendar for part in ("sin", "cos")]
    features = list(cfg.features) + list(onehot) + list(cfg.static_features)
    return Series(frame, list(cfg.targets), features, freq, path, notes, categories, known, future, where)


def unseen_categories(table: pd.DataFrame, cfg: DataConfig, categories: dict | None, where: str) -> list[str]:
    """A note per categorical column holding values the training file did not (newer data): they read as none of
    the known ones, every one-hot column 0, which the network never saw in training."""
    notes = []
    for column in cfg.categorical if categories is not None else []:
        if column not in table:
            continue
        cells = table[column].dropna().astype(str).str.strip()
        new = cells[~cells.isin(categories.get(column, []))]
        if len(new):
            shown = ", ".join(repr(v) for v in new.unique()[:3])
            notes.append(f"column '{column}' in {where} holds value(s) the training file did not ({shown} on "
                         f"{len(new)} row(s)): the model reads them as none of the categories it knows (every "
                         f"{column}= input 0), a case it never trained on, so forecasts there are a guess.")
    return notes


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
        **{c: "data.static_features" for c in cfg.static_features},
        **{c: "data.future_features" for c in cfg.future_features},
        **{c: "data.targets" for c in cfg.targets},
    }
    for column, key in keys.items():
        if column not in table.columns:
            close = difflib.get_close_matches(column, list(table.columns), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            parts = [part.strip() for part in column.split(",")]
            if len(parts) > 1 and all(part in table.columns for part in parts):  # `--set data.targets=Temp,Date`
                hint = f" To name {len(parts)} columns, write a list: [{', '.join(parts)}]."
            trained_on = Path(cfg.path).name
            fix = ("Fix the name in the config (names are case-sensitive)." if _same_file(path, cfg.path) else
                   f"The run was trained on {trained_on} with this column: give a file that has it under the same name "
                   "(rename the column in the file; names are case-sensitive).")
            if _no_header(table.columns):
                fix = (f"The file seems to have no header row: its first line ({', '.join(table.columns)}) reads as "
                       "values. Add a first line naming the columns (e.g. date,value) and name them in the config.")
            lower = _header_below(table, column)
            if lower is not None:  # a logger's title line (TOA5, ...) above the real header
                fix = (f"Line {lower} names it: the lines above it (a title, such as a data logger writes) were read "
                       "as the header. Delete them, or start each with #, which marks a comment line to skip.")
            raise UserError(
                f"column '{column}' ({key}) is not in {path.name}.{hint} Columns there: {', '.join(table.columns)}. {fix}"
            )


def _header_below(table: pd.DataFrame, column: str) -> int | None:
    """The file's line (1-based) among the first rows whose cells include `column`: the header the user meant."""
    for row in range(min(len(table), 10)):
        cells = [str(c).strip().strip('"') for c in table.iloc[row].tolist() if isinstance(c, str)]
        if column in cells:
            return int(table.index[row]) + 2  # read_table's index: the file's line less 2
    return None


def _no_header(columns) -> bool:
    """Whether every column name reads as a number or a date: the first line of a file without a header."""
    def is_value(name) -> bool:
        text = str(name).strip()
        try:
            float(text)
            return True
        except ValueError:
            return bool(re.match(r"^\d{4}-\d{1,2}-\d{1,2}([ T][\d:]+)?$|^\d{1,2}/\d{1,2}/\d{2,4}$", text))
    return len(columns) > 0 and all(is_value(c) for c in columns)


def _same_file(path: Path, configured) -> bool:
    """Whether `path` is the config's data.path (train) rather than other data (predict --data)."""
    try:
        return Path(path).resolve() == Path(configured).resolve()
    except (OSError, RuntimeError):
        return True
