"""Cells to values: numbers (thousands, decimal marks, junk reported by line) and dates."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from rnnforecast.config import DataConfig
from rnnforecast.errors import UserError

DATE_PARTS = ("year", "month", "day", "hour", "minute", "second")


def id_order(ids: np.ndarray) -> np.ndarray:
    """The permutation that puts series ids in the order a person reads them: store2 before store10, 9 before 10.

    Ids are text (a "007" stays "007"); runs of digits compare as numbers, the rest as text, so
    ids written as numbers sort as numbers and a text sort's 1, 10, 11, 2 never reaches a forecast file.
    """
    def key(text):
        return [(0, int(part), part) if part.isdigit() else (1, 0, part) for part in _DIGITS.split(text)]

    return np.array(sorted(range(len(ids)), key=lambda i: key(str(ids[i]))), dtype=np.int64)


_DIGITS = re.compile(r"(\d+)")


def _datetimes(text: pd.Series) -> tuple[pd.Series, bool, bool]:
    """Parse times (NaT where a cell is not one); changing UTC offsets (daylight saving) become UTC.

    Returns the times, whether they were moved to UTC, and whether no one format read every cell.

    One format is inferred for the whole column, month-first and then day-first, so that
    01.02.2014 and 31.12.2014 in one file are both read day-first; a cell-by-cell guess
    would read the first as January 2nd and silently swap days and months. ISO weeks
    (2015-W02, 2015W02, 2015-W2), which pandas does not read, are their Mondays; a week date
    with its weekday (2015-W02-3) is that day.
    """
    first = text.dropna().head(1).astype(str)
    if len(first) and (found := _periods(text, first.iloc[0])) is not None:
        return found, False, False
    if len(first) and "W" in first.iloc[0]:  # the test first: a million dates are not searched for weeks
        weeks = text.astype("string").str.strip().str.extract(r"^(\d{4})-?W(\d{1,2})(?:-?([1-7]))?$")
        if weeks[0].notna().sum() == text.notna().sum():  # ISO 8601's week dates: 2015-W02, 2015-W2, 2015-W02-3
            return pd.to_datetime(weeks[0] + "-W" + weeks[1].str.zfill(2) + "-" + weeks[2].fillna("1"),
                                  format="%G-W%V-%u", errors="coerce"), False, False
    for dayfirst in ((True, False) if _day_first_somewhere(text) else (False, True)):
        try:
            with warnings.catch_warnings():  # pandas notes which way it read the day; the choice is ours
                warnings.simplefilter("ignore", UserWarning)
                warnings.simplefilter("ignore", FutureWarning)  # pandas 2 on mixed offsets: handled below
                parsed = pd.to_datetime(text, dayfirst=dayfirst)
            if parsed.dtype == object:  # pandas 2 keeps mixed UTC offsets as Python objects (pandas 3 raises)
                return pd.to_datetime(text, dayfirst=dayfirst, utc=True), True, False
            return parsed, False, False
        except (ValueError, TypeError, OverflowError):
            continue
    try:  # no one format fits every cell: each is read on its own (_mixed_formats says so to the user)
        with warnings.catch_warnings():  # pandas 2 warns on mixed offsets, then returns objects: handled below
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if parsed.dtype != object:  # object: naive and offset-carrying cells mixed (pandas 2 does not raise)
            return parsed, False, True
    except ValueError:
        pass
    return pd.to_datetime(text, errors="coerce", format="mixed", utc=True), True, True


NUMERIC_DATE = r"^\s*(\d{1,2})[./-](\d{1,2})[./-]\d{2,4}(?:[ T]|$)"


def _day_first_somewhere(text: pd.Series) -> bool:
    """Whether numeric dates (31/12/99, 31.12.1999) put the day first: a first field above 12 in some cell, a second
    one in none. pandas guesses no format for two-digit years and then reads each cell alone, month first where it
    can (01/06/99 as January 6th) and day first where it must (13/06/99): asked day first, it reads them all alike."""
    from pandas.tseries.api import guess_datetime_format

    cells = text.dropna().astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not len(cells) or guess_datetime_format(cells.iloc[0].strip()) is not None:
            return False  # one format for the column: pandas reads every cell alike (and a day above 12 fails it)
    parts = cells.str.extract(NUMERIC_DATE)
    if parts[0].isna().all():
        return False
    fields = parts.dropna().astype(int)
    return bool((fields[0] > 12).any() and not (fields[1] > 12).any())


# Months and quarters as statistics offices write them, which pandas does not read (2000M01, Q1 1990) or misreads
# (2000-M01 is read as one second past midnight): (pattern, month of the first group pair).
PERIODS = (
    (r"^(\d{4})\s*-?\s*M(\d{1,2})$", lambda y, m: (y, m)),  # 2000M01, 2000-M01 (Eurostat, SDMX)
    (r"^(\d{4})\s*[-/ ]\s*Q([1-4])$", lambda y, q: (y, 3 * q - 2)),  # 1990 Q1, 1990-Q1, 1990/Q1
    (r"^Q([1-4])\s*[-/ ]?\s*(\d{4})$", lambda q, y: (y, 3 * q - 2)),  # Q1 1990, Q1-1990
)


def _periods(text: pd.Series, first: str) -> pd.Series | None:
    """Each cell's month or quarter start when every cell is written as one of PERIODS, else None.

    Only the pattern the `first` cell matches is tried on the column: a million ordinary dates cost one match.
    """
    matching = [(p, order) for p, order in PERIODS if re.match(p, first.strip().upper())]
    if not matching:
        return None
    cells = text.astype("string").str.strip().str.upper()
    for pattern, order in matching:
        parts = cells.str.extract(pattern)
        if parts[0].notna().sum() != text.notna().sum() or parts[0].isna().all():
            continue
        a, b = parts[0].astype("Int64"), parts[1].astype("Int64")
        year, month = order(a, b)
        if not month.dropna().between(1, 12).all():
            return None
        return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}), errors="coerce")
    return None


def _day_first_if_regular(text: pd.Series, times: pd.Series) -> pd.Series | None:
    """The times read day first, where every cell reads both ways and only day first is a regular series.

    01/02/2012, 01/03/2012, ... (monthly, written day first as Excel does across Europe) read month first
    are the 1st to 12th of each month: a daily grid 96% made up. Where both readings are regular (or
    neither), month first stands. Returns None to keep `times`.
    """
    from pandas.tseries.api import guess_datetime_format

    from rnnforecast.data.grid import infer_frequency

    cells = text.dropna().astype(str).str.strip()
    if len(cells) < 3:
        return None
    with warnings.catch_warnings():  # pandas warns when a guess reads the day first; asking both ways is the point
        warnings.simplefilter("ignore")
        month_first, day_first = (guess_datetime_format(cells.iloc[0], dayfirst=d) for d in (False, True))
        if not month_first or not day_first or month_first == day_first or month_first.startswith("%Y"):
            return None
        other = pd.to_datetime(text, format=day_first, errors="coerce")
    if other.isna().sum() != text.isna().sum():  # a day above 12 somewhere: the reading is not in doubt
        return None

    def filled(found: pd.Series) -> float:
        index = pd.DatetimeIndex(found.dropna().unique()).sort_values()
        freq = infer_frequency(index)
        if freq is None:
            return 0.0
        try:
            return len(index) / len(pd.date_range(index[0], index[-1], freq=freq))
        except (ValueError, TypeError):
            return 0.0

    return other if filled(other) >= 0.9 and filled(times) < 0.5 else None


def _mixed_formats(text: pd.Series) -> tuple[int, int] | None:
    """(row of the first cell, row of the first cell written another way) when the cells mix date formats.

    Read cell by cell, 06/01/1981 beside 1981-01-05 is taken month first (June 1st): days and
    months swap without an error, and the damage shows only as merged or filled rows. The
    user is told which lines differ. None when one format (the first cell's) reads every cell.
    """
    from pandas.tseries.api import guess_datetime_format

    cells = text.dropna().astype(str).str.strip()
    if cells.empty:
        return None
    found = guess_datetime_format(cells.iloc[0])
    if found is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = pd.to_datetime(cells, format=found, errors="coerce").isna().to_numpy()
    if not other.any():
        return None
    return text.index.get_loc(cells.index[0]), text.index.get_loc(cells.index[int(np.flatnonzero(other)[0])])


EXCEL_DAYS = (20_000, 80_000)  # Excel's serial dates of 1954-10-03 to 2119-01-08: five-digit day counts


def _numbers_as_times(cells: pd.Series) -> tuple[pd.Series, str] | None:
    """Numbers that can only be times, as (times, what they were read as), else None.

    Years (1000 to 2999, as in `year,value` tables), Unix time in seconds or milliseconds
    (a sensor's export: 1577836800 is 2020-01-01 00:00 UTC) and Excel's serial dates (days
    since 1899-12-30, a fraction for the time of day: 44927 is 2023-01-01). Anything else
    (step numbers, day counts) is left to the caller.
    """
    numbers = pd.to_numeric(cells, errors="coerce")
    if numbers.empty or numbers.isna().any():
        return None
    low, high = numbers.min(), numbers.max()
    if EXCEL_DAYS[0] <= low and high <= EXCEL_DAYS[1]:  # a spreadsheet's dates pasted as numbers (44927.5: noon)
        return (pd.to_datetime(numbers.astype("float64"), unit="D", origin="1899-12-30").dt.round("s"),
                "Excel serial dates (days since 1899-12-30)")
    if (numbers % 1 != 0).any():
        if 1e8 <= low and high < 1e10:  # Unix time with fractions of a second (1577836800.25)
            return (pd.to_datetime(numbers.astype("float64"), unit="s").dt.round("ms"),
                    "Unix time in seconds (UTC)")
        return None
    whole = numbers.astype("int64")
    try:
        if 1000 <= low and high <= 2999:
            return pd.to_datetime(whole.astype(str), format="%Y"), "years"
        for digits, first, last, fmt, what in ((8, 10000101, 29991231, "%Y%m%d", "dates written YYYYMMDD"),
                                                (6, 100001, 299912, "%Y%m", "months written YYYYMM")):
            if first <= low and high <= last:
                parsed = pd.to_datetime(whole.astype(str), format=fmt, errors="coerce")
                if parsed.notna().all():  # 20200132 or 200013 are not dates: step numbers, or other values
                    return parsed, what
        if 1e8 <= low and high < 1e10:
            return pd.to_datetime(whole, unit="s"), "Unix time in seconds (UTC)"
        if 1e11 <= low and high < 1e13:
            return pd.to_datetime(whole, unit="ms"), "Unix time in milliseconds (UTC)"
    except (OverflowError, ValueError):  # pandas 2 holds nanoseconds: years 1678 to 2261 only
        return None
    return None


OFFSET = r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"  # a cell's trailing UTC offset: Z, +01, +0100, +01:00


def _local_dates(text: pd.Series, utc: pd.Series) -> pd.Series | None:
    """The wall-clock times without their offsets, where they all fall at one time of day and the UTC times do not.

    A daily (or coarser) series written in local time with its offset (2024-03-30T00:00+01:00, then
    2024-03-31T00:00+02:00) is a series of dates: in UTC its rows move by an hour at each change of offset,
    so half of them would fall off the daily grid and be dropped. An hourly series keeps UTC (None here).
    """
    local, _, _ = _datetimes(text.astype("string").str.replace(OFFSET, "", regex=True))
    if local.isna().any() or getattr(local.dt, "tz", None) is not None:
        return None

    def one_time_of_day(times):
        return (times - times.dt.normalize()).nunique() == 1
    return local if one_time_of_day(local) and not one_time_of_day(utc) else None


def _parse_times(table: pd.DataFrame, columns: list[str], where: str, notes: list[str]) -> pd.Series:
    """One timestamp per row from one column, or assembled from several (year, month, day, hour...)."""
    text = table[columns[0]]
    if len(columns) > 1:  # "2010 1 2 0": joined column by column (a row-wise join costs seconds per million rows)
        text = text.astype(str)
        for column in columns[1:]:
            text = text + " " + table[column].astype(str)
    if len(columns) == 2 and sorted(c.strip().lower() for c in columns) == ["week", "year"]:
        times = _iso_weeks(table, columns)
    elif len(columns) > 1 and all(c.lower() in DATE_PARTS for c in columns):
        times = _assembled(table, columns, where)
    elif len(columns) == 2 and columns[1].strip().lower() == "hour" and _whole_hours(table[columns[1]]) is not None:
        times = _datetimes(table[columns[0]])[0] + pd.to_timedelta(_whole_hours(table[columns[1]]), unit="h")
    elif len(columns) == 1 and text.notna().all() and (numeric := _numbers_as_times(text)) is not None:
        times, what = numeric
        times.attrs["written_as"] = what  # plain years (1990) are written back as years (Series.years)
        if what != "years":
            notes.append(f"the time column '{columns[0]}' in {where} holds numbers: read as {what}.")
    else:
        written, ends = text, _end_of_day(text)
        if ends is not None:  # ISO 8601's 24:00 (as loggers write a day's end): 00:00 of that day, then one day on
            text = text.mask(ends, text.astype("string").str.strip().str.replace(END_OF_DAY, r"\g<day>00:00\g<zone>",
                                                                                   regex=True))
        times, mixed_offsets, cell_by_cell = _datetimes(text)
        if ends is not None:
            times = times.mask(ends, times + pd.Timedelta(days=1))
            first = int(np.flatnonzero(ends.to_numpy())[0])
            notes.append(f"the time column '{columns[0]}' in {where} writes midnight as 24:00 of the day before "
                         f"({written.iloc[first]!r} on line {_line(written, first)}): read as 00:00 of the next day.")
            text = written
        if mixed_offsets and (local := _local_dates(text, times)) is not None:
            times = local
            notes.append(
                f"the times in {where} carry different UTC offsets (daylight saving) but all fall at "
                f"{local.iloc[0]:%H:%M} local time: read as local dates, the offsets dropped."
            )
        elif mixed_offsets:
            notes.append(f"the times in {where} carry different UTC offsets; they are kept in UTC.")
        if not cell_by_cell and not mixed_offsets and (swapped := _day_first_if_regular(text, times)) is not None:
            differs = int(np.flatnonzero((swapped != times).to_numpy())[0])
            times, day = swapped, swapped.iloc[differs]
            notes.append(
                f"the dates in {where} read either day first or month first; month first, most of a daily grid would "
                f"be made up, day first they are a regular series: read day first ({text.iloc[differs]!r} on line "
                f"{_line(text, differs)} is {day.day} {day:%B %Y}). Write them year first (2012-02-01) to leave no doubt."
            )
        if cell_by_cell and times.notna().all() and (rows := _mixed_formats(text)) is not None:
            first, other = rows
            notes.append(
                f"the time column {', '.join(map(repr, columns))} in {where} mixes date formats "
                f"({text.iloc[first]!r} on line {_line(text, first)}, "
                f"{text.iloc[other]!r} on line {_line(text, other)}): "
                "each cell was read on its own, a day and month that could be either as month first. Write the column "
                "in one format if that swaps days and months."
            )
    bad = times.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        cell = text.iloc[row]
        what = "an empty cell" if pd.isna(cell) or not str(cell).strip() else f"a cell that is not a date: {cell!r}"
        if bad.all() and text.notna().all():  # not a bad row: a way of writing times that is not read
            raise UserError(
                f"time column {', '.join(columns)} in {where} is written in a form that is not read as dates "
                f"({cell!r} on line {_line(text, row)}, and so on for every row). Dates and times are read as ISO 8601 "
                "(2024-01-31, 2024-01-31 13:00, with an offset or Z), as day-first or month-first dates "
                "(31/01/2024, 01/31/2024, 31.01.2024), months and quarters (Jan 2024, 2024-01, 2024Q1), ISO weeks "
                "(2024-W05, 2024-W05-3), years, Unix time and Excel's serial dates. Rewrite the column in one of them "
                "(in a spreadsheet, format it as a date before saving as CSV)."
            )
        raise UserError(
            f"time column {', '.join(columns)} in {where} has {what} on line {_line(text, row)}. Fix or remove that "
            "row, or set data.time_column."
        )
    if len(columns) == 1:
        _refuse_a_century_split(text, times, columns[0], where)
    return times


END_OF_DAY = r"(?P<day>.*\d[ T])24:00(?::00(?:\.0+)?)?(?P<zone>Z|[+-]\d\d:?\d\d)?"


def _end_of_day(cells: pd.Series) -> pd.Series | None:
    """Which cells write midnight as 24:00 of the day before (None: none does)."""
    if cells.dtype != object and not pd.api.types.is_string_dtype(cells):
        return None
    marked = cells.str.contains("24:00", regex=False, na=False)  # the common case: no cell has it, one quick pass
    if not marked.any():
        return None
    found = marked & cells[marked].astype("string").str.strip().str.fullmatch(END_OF_DAY).reindex(cells.index,
                                                                                                 fill_value=False)
    found = found.fillna(False).astype(bool)
    return found if found.any() else None


def _refuse_a_century_split(text: pd.Series, times: pd.Series, column: str, where: str) -> None:
    """Refuse two-digit years that read partly in the 1900s and partly after this century's present.

    1/1/55 ... 12/1/82 read 55 as 2055 and 82 as 1982 (a two-digit year is taken within 50 years of today),
    which sorts the file's first rows after its last and makes the series mostly a made-up gap.
    """
    future = times.dt.year.gt(pd.Timestamp.now().year + 1)
    if times.dt.tz is None and future.all() and len(times):  # Jan-49 ... Dec-60 all read as 2049 ... 2060
        cell = str(text.iloc[0]).strip()
        if not re.search(r"\d{4}", re.split(r"[ T]", cell)[0]):
            raise UserError(
                f"time column '{column}' in {where} writes its years with two digits: {text.iloc[0]!r} on line "
                f"{_line(text, 0)} reads as {times.iloc[0]:%Y-%m-%d}, and every row lies in the future that way (a "
                "two-digit year is taken within 50 years of today). Write four-digit years in the file."
            )
    if times.dt.tz is not None or not times.dt.year.lt(2000).any():
        return
    if not future.any():
        return
    cell = str(text.iloc[int(np.flatnonzero(future.to_numpy())[0])]).strip()
    if re.search(r"\d{4}", re.split(r"[ T]", cell)[0]):  # a four-digit year (or 20200105): nothing to guess
        return
    late, early = int(np.flatnonzero(future.to_numpy())[0]), int(np.flatnonzero(times.dt.year.lt(2000).to_numpy())[0])
    raise UserError(
        f"time column '{column}' in {where} writes its years with two digits: {text.iloc[late]!r} on line "
        f"{_line(text, late)} reads as {times.iloc[late]:%Y-%m-%d}, {text.iloc[early]!r} on line {_line(text, early)} "
        f"as {times.iloc[early]:%Y-%m-%d}: a two-digit year leaves the century to a guess, which here puts the "
        "series' own rows a century apart. Write four-digit years in the file."
    )


def _iso_weeks(table: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The Monday of each row's ISO week, from a year column and a week column (1 to 53), as retail data writes it."""
    by_name = {c.strip().lower(): c for c in columns}
    year, week = (pd.to_numeric(table[by_name[k]], errors="coerce") for k in ("year", "week"))
    text = year.astype("Int64").astype("string") + "-W" + week.astype("Int64").astype("string").str.zfill(2) + "-1"
    return pd.to_datetime(text, format="%G-W%V-%u", errors="coerce")


def _assembled(table: pd.DataFrame, columns: list[str], where: str) -> pd.Series:
    """Times from year, month (day, hour, minute, second) columns; a month without a day is its first day."""
    parts = table[columns].apply(pd.to_numeric, errors="coerce").rename(columns=str.lower)
    if not {"year", "month"} <= set(parts.columns):
        raise UserError(
            f"time columns {', '.join(columns)} in {where}: a date is assembled from year and month at least (then day, "
            "hour, minute, second). Add those columns to data.time_column, or name one column that holds whole dates."
        )
    if "day" not in parts.columns:
        parts["day"] = 1
    return pd.to_datetime(parts[[p for p in DATE_PARTS if p in parts.columns]], errors="coerce")


def _whole_hours(cells: pd.Series) -> pd.Series | None:
    """An hour column's whole numbers 0 to 24 (24: hour ending, as energy data writes it), else None."""
    hours = pd.to_numeric(cells, errors="coerce")
    ok = hours.dropna()
    return hours if len(ok) and ((ok % 1 == 0) & (ok >= 0) & (ok <= 24)).all() else None


def sentinel_note(numbers: pd.Series, column: str, where: str) -> str | None:
    """A note where a column holds a missing-value code read as a number (-999, 9999): a value of nines only, far
    outside every other value. A logger's or a database's code for "no reading" would otherwise be trained on and
    scored as a real value (and MASE, scaled by the training rows' changes, read as nine times better)."""
    values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    finite = values[np.isfinite(values)]
    if len(finite) < 10:
        return None
    for code in np.unique(finite[(np.abs(finite) >= 99) & (finite % 1 == 0)]):
        if set(str(int(abs(code)))) != {"9"}:
            continue
        others = finite[finite != code]
        if len(others) < 5 or (finite == code).sum() > len(finite) // 10:
            continue
        low, high = np.percentile(others, [25, 75])
        spread = max(high - low, np.abs(others).max() * 1e-3, 1e-9)
        below_zero = code < 0 <= others.min()  # -999 among passenger counts: 1,100 under them, not 10 spreads
        if below_zero or code < others.min() - 10 * spread or code > others.max() + 10 * spread:
            rows = np.flatnonzero(values == code)
            lines = ", ".join(str(_line(numbers, int(r))) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            shown = f"{code:g}"
            return (f"column '{column}' in {where} holds {shown} in {len(rows)} cell(s) (line {lines}), far outside its "
                    f"other values ({others.min():g} to {others.max():g}): a missing-value code? It is read as a "
                    f"number. If it marks a missing reading, set data.missing_values: [{shown}].")
    return None


def _line(cells: pd.Series, row: int) -> int:
    """The file's line number of a cell: the header is line 1."""
    return int(cells.index[row]) + 2


# Cells that mean "no value" in any file (compared stripped, in capitals): spreadsheets' and databases' empty
# markers, UCI's `?`, SAS's `.`; data.missing_values adds a file's own (a sentinel such as -999).
MISSING_WORDS = ("", "NA", "NAN", "N/A", "N.A.", "NULL", "NONE", "NIL", "MISSING", "-", "--", "?", ".", "#N/A", "#NA",
                 "<NA>")


def missing_cells(cells: pd.Series, cfg: DataConfig) -> np.ndarray:
    """Which cells hold no value: empty, a missing marker or a sentinel (data.missing_values). Never raises."""
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        return (cells.isna() | cells.isin(_sentinels(cfg.missing_values))).to_numpy()
    raw, words = _parsed(cells, cfg)
    return (words | raw.isin(_sentinels(cfg.missing_values))).to_numpy()


def _parsed(cells: pd.Series, cfg: DataConfig) -> tuple[pd.Series, pd.Series]:
    """Text cells as numbers (NaN where they are not), and which cells are missing words."""
    text = cells.str.strip()
    if cfg.thousands:
        text = text.str.replace(cfg.thousands, "", regex=False)
    if cfg.decimal != ".":
        text = text.str.replace(cfg.decimal, ".", regex=False)
    words = MISSING_WORDS + tuple(str(m).strip().upper() for m in cfg.missing_values if isinstance(m, str))
    return _exact_numbers(text), cells.isna() | cells.str.strip().str.upper().isin(words)


def _exact_numbers(text: pd.Series) -> pd.Series:
    """Text as float64 (NaN where it is not a number), each the nearest float to what the file wrote.

    pandas' fast parser is off by one unit in the last place on about one cell in twenty (13.529999732971193 read
    as ...191), so the file's values could not be joined back on equality; the cells it reads are parsed again
    by Python's correctly rounded conversion (numpy's astype, as fast).
    """
    numbers = pd.to_numeric(text, errors="coerce")
    read = numbers.notna()
    if read.any() and numbers.dtype.kind == "f":  # whole numbers (int64) are exact already
        try:
            numbers[read] = text[read].astype("float64")
        except (ValueError, TypeError):  # a form only pandas reads: its reading stands
            pass
    return numbers


BOOLEANS = {"true": 1.0, "false": 0.0}


def _parquet_flags(cells: pd.Series) -> bool:
    """Whether an object column holds only True, False and empty cells (a Parquet boolean column with nulls)."""
    if cells.dtype != object:
        return False
    given = cells.dropna()
    return len(given) > 0 and isinstance(given.iloc[0], (bool, np.bool_)) and given.map(type).isin([bool, np.bool_]).all()


def _to_numbers(cells: pd.Series, column: str, where: str, cfg: DataConfig) -> pd.Series:
    """Text cells parsed as numbers (numeric Parquet columns pass through); every bad cell is reported."""
    sentinels = _sentinels(cfg.missing_values)
    if pd.api.types.is_bool_dtype(cells) or _parquet_flags(cells):
        return cells.astype("float64")  # a Parquet flag column (a holiday, a promotion): True 1, False 0
    if pd.api.types.is_numeric_dtype(cells):
        numbers = cells.astype("float64")
        return _checked(numbers.mask(numbers.isin(sentinels)), cells, column, where)
    raw, missing_words = _parsed(cells, cfg)
    if raw.isna().all():  # no cell reads as a number: True/False, as pandas and spreadsheets write flags?
        flags = cells.str.strip().str.lower().map(BOOLEANS)
        if flags.notna().any() and (flags.notna() | missing_words).all():
            raw = flags.astype("float64")
    bad = raw.isna() & ~missing_words
    numbers = raw.mask(missing_words | raw.isin(sentinels))
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        unread = [r for r in rows[:10_000] if not UNITS.match(str(cells.iloc[r]).strip())]  # $5 or 3% alone is read
        row = int(unread[0] if unread else rows[0])
        value = cells.iloc[row]
        if re.match(ACCOUNTING_NEGATIVE, str(value)):
            how = ("It writes a negative number the way accounts (0.8) or SAP exports (0.8-) do: write negative numbers "
                   "with a leading minus sign (-0.8) in the file (in a spreadsheet, format the column as a plain number "
                   "before saving it as CSV).")
        elif str(value).strip() == str(column).strip():
            how = ("That line repeats the header: two files joined, or one pasted below the other? Delete the line (and "
                   "check the rows after it are not a second copy of rows above).")
        elif re.fullmatch(r"#(VALUE!|DIV/0!|REF!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA)", str(value).strip()):
            how = ("It is a spreadsheet's error value (a formula that failed): fix the formula in the spreadsheet, or "
                   "clear the cell to mark the value missing, then save the file again.")
        elif _reads_as_time(value):
            how = "It reads as a date or time: is this the time column (data.time_column), not a value to forecast?"
        elif not unread and any(ch in "%$€£¥" for ch in value):  # signs it reads ($5, 3%), mixed in the column
            how = ("The column writes its numbers with different signs ($ and €, or % on some): one currency, or % on "
                   "every cell, is read; write the column one way.")
        elif any(ch.isalpha() or ch in "%$€£¥" for ch in value):
            how = (
                "If it is a category, list the column under data.categorical; if the cells carry units or signs "
                "(kg, °C), remove them from the file (a currency sign before the number, or % after it, is read)."
            )
        else:
            how = "If the file writes 1.234,5 or 1,234.5, set data.decimal and data.thousands (e.g. decimal: ',')."
        raise UserError(
            f"column '{column}' in {where} has a cell that is not a number: {value!r} on line {_line(cells, row)}. "
            f"Targets and features must be numeric. {how}"
        )
    return _checked(numbers, cells, column, where)


ACCOUNTING_NEGATIVE = r"^\s*(\(\s*[$€£¥]?\s*[\d.,]*\d[\d.,]*\s*\)|[$€£¥]?\s*[\d.,]*\d[\d.,]*\s*-)\s*$"
DECIMAL_COMMA = r"^\s*[+-]?\d*,\d+\s*$"  # 20,7 or -,5: a number written with a decimal comma


def with_decimal_comma(table: pd.DataFrame, cfg: DataConfig, columns: list[str], where: str = "the file") -> DataConfig:
    """cfg reading decimal commas, for a ';'-separated file whose numbers are written 20,7; else cfg.

    That is how Excel saves CSV in most European locales. Only when data.decimal and
    data.thousands are left unset, and no cell of these columns has a decimal point
    (1.234,5 needs data.thousands: '.', which the user is asked for).
    """
    if table.attrs.get("separator") != ";" or cfg.decimal != "." or cfg.thousands:
        return cfg
    named = [c for c in columns if c in table and not pd.api.types.is_numeric_dtype(table[c])]  # Parquet's: numbers
    text = [table[c].astype("string").str.strip() for c in named]
    if "decimal" not in cfg.model_fields_set:
        for column, cells in zip(named, text):
            _refuse_dots_between_thousands(column, cells, where)
    if any(cells.str.contains(r"\d\.\d", regex=True).any() for cells in text):
        return cfg
    if not any(cells.str.match(DECIMAL_COMMA).any() for cells in text):
        return cfg
    return cfg.model_copy(update={"decimal": ","})


def _refuse_dots_between_thousands(column: str, cells: pd.Series, where: str) -> None:
    """A ';'-separated column of whole numbers under 1,000 beside others written 1.383 or 12.345.678 (exactly three
    digits after every dot): how Excel in German and most European locales writes 1383. Read as decimals, such a
    series falls from 954 to 1.0 without a word; which one is meant cannot be told, so the user is asked."""
    given = cells.dropna()
    dotted = given.str.fullmatch(r"[+-]?\d{1,3}(?:\.\d{3})+")
    whole = given.str.fullmatch(r"[+-]?\d{1,3}")
    if dotted.sum() < 2 or not whole.any() or not (dotted | whole | ~given.str.contains(r"\d", regex=True)).all():
        return
    example, small = given[dotted].iloc[0], given[whole].iloc[0]
    raise UserError(
        f"column '{column}' in {where} writes numbers such as {example!r} beside {small!r} in a ';'-separated file: "
        f"{example} is either {example.replace('.', '')} (a dot between thousands, as Excel writes in German and most "
        f"European locales) or {example} with a decimal point. Set data.thousands: '.' with data.decimal: ',' if the "
        "dot separates thousands, or data.decimal: '.' if it is a decimal point."
    )


# $1,234.50, -€5, 12.5 %: a number with a currency sign, a percent sign or commas between thousands, as spreadsheets
# and finance exports write them
UNITS = re.compile(r"^(?P<sign>[+-]?)\s*(?P<currency>[$€£¥]?)\s*(?P<sign2>[+-]?)"
                   r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)\s*(?P<percent>%?)$")


def without_units(table: pd.DataFrame, cfg: DataConfig, columns: list[str],
                  where: str) -> tuple[pd.DataFrame, list[str]]:
    """The table with `columns` whose every cell is a number written with a currency sign, a percent sign or commas
    between thousands ($1,234.50, 12.5%) rewritten as plain numbers (1234.50, 12.5: a percent stays in percent), and
    a note for each; else the table as it was.

    Only when data.decimal and data.thousands are left unset and the file is not ';'-separated (where commas are
    decimal marks), and only a whole column: one sign throughout, every other cell empty or a missing marker.
    """
    if cfg.decimal != "." or cfg.thousands or table.attrs.get("separator") == ";":
        return table, []
    words = MISSING_WORDS + tuple(str(m).strip().upper() for m in cfg.missing_values if isinstance(m, str))
    notes, rewritten = [], {}
    for column in columns:
        if column not in table or pd.api.types.is_numeric_dtype(table[column]):
            continue
        if not table[column].str.contains(r"[$€£¥%,]", regex=True, na=False).any():
            continue  # the common case, checked without copying the column
        text = table[column].astype("string").str.strip()
        given = text.notna() & ~text.str.upper().isin(words)
        if not given.any() or pd.to_numeric(text[given], errors="coerce").notna().all():
            continue  # nothing to read, or plain numbers already
        parts = text[given].str.extract(UNITS)
        if parts["number"].isna().any():
            continue  # a cell that is not a number with units: reported by the parser, cell and line
        signs = set(parts["currency"]) | set(parts["percent"])
        if len(signs - {""}) > 1 or (parts["sign"].ne("") & parts["sign2"].ne("")).any():
            continue  # two kinds of sign, or two minus signs: not one column's way of writing numbers
        bare = parts["percent"].eq("") & pd.to_numeric(parts["number"].str.replace(",", ""), errors="coerce").ne(0)
        if "%" in signs and bare.any():  # 0.15 beside 20.7%: 0.15 percent, or a spreadsheet's fraction for 15%?
            row = int(np.flatnonzero(given.to_numpy())[np.flatnonzero(bare.to_numpy())[0]])
            raise UserError(
                f"column '{column}' in {where} writes its numbers as percentages ({text[given][~bare].iloc[0]!r}) but "
                f"line {_line(text, row)} holds {text.iloc[row]!r} without the sign: {text.iloc[row]} percent, or a "
                "fraction (as a spreadsheet writes a cell not formatted as a percentage)? Write every cell of the "
                "column one way, with its % sign or as plain numbers."
            )
        grouped = parts["number"].str.contains(",", regex=False)
        if grouped.any() and not (signs - {""} or parts["number"].str.contains(r",\d{3}[,.]", regex=True).any()):
            continue  # only 1,234 (no sign, no 1,234.5 or 1,234,567): 1.234 with a decimal comma? asked of the user
        number = parts["number"].str.replace(",", "", regex=False)
        values = (parts["sign"] + parts["sign2"]).str.replace("+", "", regex=False) + number
        plain = text.copy()
        plain[given] = values
        rewritten[column] = plain
        shown = text[given].iloc[0]
        what = " and ".join(kind for kind, found in (
            (f"'{next(iter(signs - {''}), '')}' signs", bool(signs - {""})),
            ("commas between thousands", grouped.any())) if found)
        notes.append(f"column '{column}' in {where} writes its numbers with {what} ({shown!r}): read as plain numbers "
                     f"({values.iloc[0]}{' percent' if '%' in signs else ''}).")
    if not rewritten:
        return table, []
    out = table.assign(**rewritten)
    out.attrs = dict(table.attrs)
    return out, notes


def _sentinels(markers: list) -> list[float]:
    """The numbers among data.missing_values (given as numbers, or as text that reads as one)."""
    found = []
    for marker in markers:
        try:
            found.append(float(marker))
        except ValueError:
            pass
    return found


def _reads_as_time(value: str) -> bool:
    """`2024-01-31`, `31/01/2024 10:00`: a date where a number was expected."""
    if not any(sep in value for sep in "-/:") or len(value) < 6:
        return False
    try:
        pd.Timestamp(value.strip())
    except (ValueError, OverflowError):
        return False
    return True


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
            f"column '{column}' in {where} has no numbers at all (every cell is empty). Choose another column "
            f"(a panel: or leave that series' rows out of the file)."
        )
    return numbers.astype("float64")
