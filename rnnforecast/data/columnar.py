"""A panel read all at once: numbers and times parsed once for the whole table, clean series sliced out.

Reading a panel one series at a time costs a few milliseconds of pandas overhead per
series (parse, sort, grid, assemble): minutes for tens of thousands of series. Here the
table's cells are parsed once, sorted once by (id, time), and every series whose rows
are already unique and on the grid is taken as a slice of one array. A series that is
not (duplicated or missing steps, rows off the grid, a bad cell, a changing static
feature) goes through `table_to_series` on its own rows, so its result, notes and error
messages are exactly those of the per-series path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from rnnforecast.config import DataConfig
from rnnforecast.data.parse import _parse_times, _to_numbers, id_order
from rnnforecast.errors import UserError


def read_panel(table: pd.DataFrame, keys: np.ndarray, cfg: DataConfig, path: Path, frequency: str,
               categories: dict, slow) -> dict | None:
    """Every series of the table, keyed by id in the ids' order (parse.id_order); None where the columnar path
    does not apply.

    Args:
        table: the file's rows; keys: each row's series id (str), aligned with it.
        cfg: the data section; path: the file, for messages; frequency: the panel's grid.
        categories: each categorical column's values, found once for the whole table.
        slow: `slow(key, rows)` reads one series' rows the per-series way (table_to_series).
    """
    from rnnforecast.data.series import _check_columns, _drop_unobserved_tail, _finish, series_label, time_columns_of

    time_columns = time_columns_of(cfg, table)
    if not time_columns or cfg.future_features or frequency is None:
        return None  # no grid to check, or future rows to split per series: the per-series path
    _check_columns(table, cfg, time_columns, path)
    where = path.name
    notes: list[str] = []
    try:
        numeric = [_to_numbers(table[c], c, where, cfg).to_numpy() for c in _inputs(cfg)]
        times = pd.DatetimeIndex(_parse_times(table, time_columns, where, notes))
    except UserError:
        return None  # a bad cell: the per-series path names its series and line
    onehot = {f"{c}={value}": (table[c].str.strip() == value).to_numpy(dtype="float64")
              for c in cfg.categorical for value in categories[c]}
    n_numeric = len(cfg.targets) + len(cfg.features)
    parts = [*numeric[:n_numeric], *onehot.values(), *numeric[n_numeric:]]
    block = np.empty((len(table), len(parts)), dtype="float64")
    for j, part in enumerate(parts):
        block[:, j] = part
    if times.tz is not None:
        return None  # kept simple: zoned times go the per-series way
    codes, uniques = pd.factorize(keys)  # hashed in file order, then renumbered in the ids' order (parse.id_order)
    order = id_order(uniques)
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    codes, uniques = rank[codes], uniques[order]
    unit = times.unit
    stamps = times.asi8
    grouped = not len(codes) or (np.diff(codes) >= 0).all() and (np.diff(stamps)[np.diff(codes) == 0] >= 0).all()
    if grouped:  # a file written series by series, in time order (the usual case): nothing to sort
        order = np.arange(len(codes))
    else:  # by series, then time; stable, so duplicates keep the file's order
        order = np.lexsort((stamps, codes))
        codes, stamps, block = codes[order], stamps[order], block[order]
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True]) if len(codes) else np.array([0])
    columns = pd.Index(list(cfg.targets) + list(cfg.features) + list(onehot) + list(cfg.static_features))
    name = time_columns[0] if len(time_columns) == 1 else "time"
    numbers = [j for j in range(len(columns)) if not n_numeric <= j < n_numeric + len(onehot)]  # not one-hot
    checked = _checks(block, codes, stamps, bounds, frequency, unit, numbers, len(cfg.static_features))
    panel = {}
    firsts = list(times[order[bounds[:-1]]])  # each series' first time, boxed once
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        key = str(uniques[codes[a]])
        if not checked[i]:
            panel[key] = slow(key, np.sort(order[a:b]))  # the file's own rows, in the file's order
            continue
        index = pd.date_range(firsts[i], periods=b - a, freq=frequency, name=name, unit=unit)
        frame = pd.DataFrame(block[a:b], index=index, columns=columns)
        label, own = f"{where} ({series_label(cfg.id_column, key)})", list(notes)
        frame = _drop_unobserved_tail(frame, cfg, label, own)
        panel[key] = _finish(frame, cfg, onehot, frequency, path, label, own, categories)
    return panel


def _inputs(cfg: DataConfig) -> list[str]:
    return list(cfg.targets) + list(cfg.features) + list(cfg.static_features)


_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}  # nanoseconds in one step of each resolution


def _checks(block, codes, stamps, bounds, frequency, unit, numbers: list[int], n_static: int) -> np.ndarray:
    """Per series: rows unique and on the grid, every input column with a number, static features constant."""
    n = len(bounds) - 1
    if n == 0:
        return np.zeros(0, dtype=bool)
    starts = bounds[:-1]
    first = np.zeros(len(codes), dtype=bool)
    first[starts] = True
    step = np.diff(stamps, prepend=stamps[:1])
    offset = to_offset(frequency)
    if isinstance(offset, pd.offsets.Tick):  # a fixed step: every row one step after the one before
        off = ~first & (step != pd.Timedelta(offset).value // _PER_UNIT[unit])
        ok = np.bincount(codes[off], minlength=n) == 0
    else:  # calendar steps (months, quarters): each series against its own date range
        ok = np.ones(n, dtype=bool)
        for i, (a, b) in enumerate(zip(starts, bounds[1:])):
            start = pd.Timestamp(int(stamps[a]), unit=unit)
            expected = pd.date_range(start, periods=b - a, freq=frequency, unit=unit).asi8
            ok[i] = np.array_equal(expected, stamps[a:b])
    present = ~np.isnan(block[:, numbers])
    ok &= (np.add.reduceat(present, starts, axis=0) > 0).all(axis=1)  # the per-series path refuses an empty column
    for j in range(block.shape[1] - n_static, block.shape[1]):  # static features: the last columns
        values = block[:, j]
        ok &= ~(np.fmax.reduceat(values, starts) > np.fmin.reduceat(values, starts))  # one value per series
    return ok
