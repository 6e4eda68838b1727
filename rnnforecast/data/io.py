"""Reading a table: CSV (encoding and separator sniffed, compressed or not), Parquet; and its time column."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from rnnforecast.config.types import plain_name
from rnnforecast.data.parse import DATE_PARTS, _datetimes, _numbers_as_times, _whole_hours
from rnnforecast.errors import UserError

TIME_NAMES = ("date", "datetime", "time", "timestamp", "ds", "ts", "month", "day", "period")
TIME_WORDS = ("date", "time", "week", "month", "year", "day", "period", "quarter", "hour", "epoch", "unix")  # in a longer name
YEAR_NAMES = ("date", "ds", "period")  # numbers 1000 to 2999 under these names (or any with "year") are years


COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}  # read as pandas does, sniffed inside
NOT_TABLES = {  # suffixes of files that hold a table, but not as CSV text: refused by name, never guessed at
    ".json": "JSON", ".jsonl": "JSON lines", ".xlsx": "Excel", ".xls": "Excel", ".feather": "Feather",
    ".arrow": "Arrow", ".h5": "HDF5", ".hdf5": "HDF5", ".pkl": "pickle", ".pickle": "pickle", ".sqlite": "SQLite",
    ".db": "database", ".npy": "NumPy", ".npz": "NumPy",
}


def _article(word: str) -> str:
    """'an' before a vowel sound (an Excel, an HDF5, an SQLite file), else 'a'."""
    return "an" if word[0] in "AEIO" or word in ("HDF5", "SQLite") else "a"


def read_table(path: Path, columns: list[str] | None = None, rows: tuple[str, list[str]] | None = None,
               ids: str | None = None) -> pd.DataFrame:
    """Read a CSV file as text cells, so that every number is checked by us, not guessed.

    The encoding (UTF-8, UTF-8 with BOM, UTF-16/32 with BOM, else Windows-1252 or Latin-1) and the
    separator (, ; tab |) are detected from the start of the file, after decompressing
    a .gz, .bz2, .xz or .zip file. Parquet (.parquet, .pq) keeps its own types; a folder
    of Parquet files (a partitioned dataset) is read as one table. `columns`: the ones the
    config uses; Parquet reads only those (when the file has them all), CSV reads every one.
    `rows` (column, values): Parquet reads only the rows whose column, as stripped text, is one
    of the values (a cluster worker reads its series only); CSV reads every row. `ids`: a column of
    names (data.id_column), whose cells are missing only when empty: `NA` is Namibia, `None` a name.

    Raises:
        UserError: the path is missing or a folder without Parquet files, the file is of another
            kind, empty, binary, has two columns of one name, or cannot be parsed.
    """
    path = Path(path)
    if path.is_dir():
        if any(path.rglob("*.parquet")) or any(path.rglob("*.pq")):
            return _read_parquet(path, columns, rows)
        raise UserError(
            f"data file {path} is a folder, not a file. Point data.path (or --data) at a CSV or Parquet file inside "
            "it, or at a folder of Parquet files (a partitioned dataset)."
        )
    if not path.is_file():
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", str(path)):  # https://, s3:// (a Path keeps one slash)
            typed = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", r"\1://", str(path))  # a Path keeps one slash of two
            raise UserError(
                f"data file {typed} is a web or cloud address; rnnforecast reads files on this machine. Download it "
                "first (for example `curl -o data.csv URL`) and give the file's path."
            )
        if path.exists():  # a device, a pipe, a socket: nothing a table can be read from twice
            raise UserError(f"data file {path} is not a regular file (a device or a pipe). Point data.path or --data at "
                            "a CSV or Parquet file.")
        raise UserError(f"data file {path} does not exist. Fix data.path in the config or the --data option.")
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    compression = COMPRESSION.get(suffixes[-1]) if suffixes else None
    kind = suffixes[-2] if compression and len(suffixes) == 2 else (suffixes[-1] if suffixes else "")
    if kind in (".parquet", ".pq") and not compression:
        return _read_parquet(path, columns, rows)
    if kind in NOT_TABLES:
        raise UserError(
            f"data file {path} is {_article(NOT_TABLES[kind])} {NOT_TABLES[kind]} file; rnnforecast reads CSV text "
            "(also .tsv, and .gz, .bz2, .xz or .zip compressed) and Parquet. Save the table as CSV or Parquet and point "
            "data.path at it."
        )
    head = _head(path, compression)
    encoding = _encoding(head)
    if encoding is None:
        raise UserError(
            f"data file {path} is not text (it holds binary bytes). Point data.path at a CSV file, or a Parquet "
            "file ending in .parquet."
        )
    sample = head.decode(encoding, errors="ignore")
    if not sample.strip():
        raise UserError(f"data file {path} is empty. Point data.path at a CSV file with a header row.")
    lines = sample.splitlines()
    preamble = _comment_lines(sample)
    hint = re.fullmatch(r'\s*"?sep=(.)"?[,;\t|]*\s*', lines[preamble], re.IGNORECASE) if preamble < len(lines) else None
    if hint:  # Excel's first line naming the separator (sep=;), as its CSV exports for other locales write it
        preamble += 1
    sep = hint.group(1) if hint else _separator("\n".join(lines[preamble:]))
    commented_header = preamble > 0 and not hint and _header_in_comment(lines[preamble - 1],
                                                                         lines[preamble:preamble + 1], sep)
    preamble -= commented_header
    def read(encoding: str) -> tuple[pd.DataFrame, pd.Series, str]:
        with warnings.catch_warnings(record=True) as cut:  # rows longer than the header: checked below
            warnings.simplefilter("always", pd.errors.ParserWarning)
            try:
                frame = pd.read_csv(path, sep=sep, encoding=encoding, dtype=str, skipinitialspace=True,
                                    compression=compression, skiprows=preamble, index_col=False)  # no index column
            except pd.errors.ParserError as exc:
                # a later row longer than the first ("Expected 2 fields in line 5, saw 3"): pandas raises, not warns
                if not re.search(r"Expected \d+ fields in line \d+", str(exc)):
                    raise
                every = _head(path, compression, -1).decode(encoding, errors="replace").splitlines()  # a rare path
                _refuse_cells_past_the_header(path, every[preamble:], sep, preamble)
                names = every[preamble].count(sep) + 1  # the extra cells are empty: dropped, as in the first row
                frame = pd.read_csv(path, sep=sep, encoding=encoding, dtype=str, skipinitialspace=True,
                                    compression=compression, skiprows=preamble, index_col=False, engine="python",
                                    on_bad_lines=lambda cells: cells[:names])
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in cut):
            _refuse_cells_past_the_header(path, lines[preamble:], sep, preamble)
        header = pd.read_csv(path, sep=sep, encoding=encoding, dtype=str, skipinitialspace=True,
                             compression=compression, header=None, nrows=1, skiprows=preamble).iloc[0]
        return frame, header, encoding

    try:
        try:
            frame, header, encoding = read(encoding)
        except UnicodeDecodeError:  # UTF-8 in the first 64 KiB, another encoding after it (a name sorted last)
            if not encoding.startswith("utf-8"):
                raise
            try:
                frame, header, encoding = read("cp1252")
            except UnicodeDecodeError:
                frame, header, encoding = read("latin-1")  # every byte is a character
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError, EOFError) as exc:
        _refuse_a_title(path, lines, sep, preamble)
        raise UserError(f"data file {path} could not be read as CSV: {str(exc).strip()}. Check that it is a CSV file.") from None
    # An empty header cell (pandas' `to_csv` of a date index writes one) is named as pandas names it, not "nan".
    names = [f"Unnamed: {i}" if pd.isna(c) or not str(c).strip() else plain_name(str(c)) for i, c in enumerate(header)]
    if commented_header:
        names[0] = names[0].lstrip("#").strip()
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(
            f"data file {path} has more than one column named {', '.join(repr(n) for n in twice)}; which one is "
            "meant cannot be told. Rename or remove the extra column(s) in the file."
        )
    frame.columns = names
    source = {"path": str(path), "sep": sep, "encoding": encoding, "compression": compression, "skiprows": preamble,
              "names": names}
    if ids in names and frame[ids].isna().any():  # `NA` is Namibia, `None` a name: only an empty id is missing
        written = _column_as_written(source, ids, skip_spaces=True)
        frame[ids] = written.where(written.str.strip() != "").to_numpy()
    frame.index += preamble  # messages name a row by its line in the file
    # Rows with every cell empty (`,,` lines a spreadsheet export leaves at the end) hold nothing: dropped, the
    # other rows keep their index, so a message still names their line in the file.
    frame = frame[frame.notna().any(axis=1)]
    if frame.empty:
        raise UserError(f"data file {path} has a header but no rows. Point data.path at a file with data.")
    frame.attrs["separator"] = sep
    frame.attrs["source"] = source
    return frame


def written_cells(table: pd.DataFrame, column: str) -> pd.Series | None:
    """A CSV column's cells as the file writes them, spaces after the separator kept (the table reads past them);
    None for a table that was not read from a CSV file. For messages only: it reads the file again."""
    source = table.attrs.get("source")
    if not source or column not in source["names"]:
        return None
    return _column_as_written(source, column, skip_spaces=False)


def _column_as_written(source: dict, column: str, skip_spaces: bool) -> pd.Series:
    """One column of a CSV file read again alone, every cell as text (`NA` too); `source`: how read_table read it."""
    return pd.read_csv(source["path"], sep=source["sep"], encoding=source["encoding"], dtype=str, index_col=False,
                       compression=source["compression"], skiprows=source["skiprows"], skipinitialspace=skip_spaces,
                       usecols=[source["names"].index(column)], keep_default_na=False).iloc[:, 0]


def _head(path: Path, compression: str | None, size: int = 64 * 1024) -> bytes:
    """The first 64 KiB of the file's text (`size` bytes; -1: all of it), decompressed."""
    import bz2
    import gzip
    import lzma
    import zipfile

    try:
        if compression == "zip":
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise UserError(
                        f"data file {path} is a zip archive of {len(members)} files; it must hold exactly one CSV file."
                    )
                with archive.open(members[0]) as handle:
                    return handle.read(size)
        opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(compression, open)
        with opener(path, "rb") as handle:
            return handle.read(size)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        what = f"a valid {compression} file" if compression else "readable"
        raise UserError(f"data file {path} is not {what} ({exc}). Check the file, or its name's ending.") from None


def is_parquet(path: Path) -> bool:
    """A Parquet file, or a folder of them (a partitioned dataset), as read_table sees it."""
    path = Path(path)
    if path.is_dir():
        return any(path.rglob("*.parquet")) or any(path.rglob("*.pq"))
    return path.suffix.lower() in (".parquet", ".pq")


def _text_or_integer(kind) -> bool:
    """Arrow types whose text form is pandas' too (a float id would be '7' to Arrow, '7.0' to pandas)."""
    import pyarrow

    if pyarrow.types.is_dictionary(kind):
        kind = kind.value_type
    return pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind) or pyarrow.types.is_integer(kind)


def _read_parquet(path: Path, columns: list[str] | None = None, rows: tuple[str, list[str]] | None = None) -> pd.DataFrame:
    """Parquet keeps its column types: numbers stay numbers, text columns become strings.

    Only `columns` are read when the file has every one of them: a wide file costs what the
    config uses. When one is missing, every column is read, so that the message about it can
    list what the file holds. `rows`: see read_table.
    """
    try:
        if columns or rows:
            import pyarrow
            import pyarrow.compute as pc
            import pyarrow.dataset

            dataset = pyarrow.dataset.dataset(path, partitioning="hive")
            names = set(dataset.schema.names)
            columns = list(dict.fromkeys(columns)) if columns and set(columns) <= names else None
        if rows and rows[0] in names and _text_or_integer(dataset.schema.field(rows[0]).type):
            text = pc.utf8_trim_whitespace(pyarrow.dataset.field(rows[0]).cast(pyarrow.string()))
            wanted = pc.is_in(text, value_set=pyarrow.array(list(rows[1]), type=pyarrow.string()))
            frame = dataset.to_table(columns=columns, filter=wanted).to_pandas()
        else:
            frame = pd.read_parquet(path, columns=columns or None)
    except (OSError, ValueError, ImportError) as exc:
        raise UserError(f"data file {path} could not be read as Parquet: {exc}.") from None
    frame.columns = [plain_name(str(c)) for c in frame.columns]
    if frame.empty:
        raise UserError(f"data file {path} has no rows. Point data.path at a file with data.")
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].astype("string")
    return frame.reset_index(drop=True)


def _encoding(head: bytes) -> str | None:
    """The text encoding of a file's first bytes; None when they are not text."""
    for bom, name in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
                      (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if head.startswith(bom):
            return name
    if b"\x00" in head:  # UTF-16 without a BOM puts a NUL beside every ASCII character; else it is binary
        if head[1::2].count(0) > len(head) // 4:
            return "utf-16-le"
        if head[0::2].count(0) > len(head) // 4:
            return "utf-16-be"
        return None
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:
            return "utf-8"  # a character cut at the sample's end
    try:
        head.decode("cp1252")  # what Excel on Windows writes: Latin-1 with – € ’ in 0x80-0x9F
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _refuse_cells_past_the_header(path: Path, lines: list[str], sep: str, preamble: int) -> None:
    """Rows with more cells than the header names: empty ones (a separator ending each row, as some exports write)
    are dropped; a value there would be lost, so the file is refused, naming its line."""
    _refuse_a_title(path, lines, sep, 0, preamble)  # "Sales report" read as a header of one column
    names = lines[0].count(sep) + 1
    for number, line in enumerate(lines[1:], preamble + 2):
        extra = [cell for cell in line.split(sep)[names:] if cell.strip()]
        if extra:
            raise UserError(
                f"data file {path} has a row with more cells than its header has names (line {number}: "
                f"{line.strip()[:60]!r}; the header, line {preamble + 1}, names {names}). Name every column in the "
                "header, or remove the extra cells."
            )


def _refuse_a_title(path: Path, lines: list[str], sep: str, start: int, skipped: int = 0) -> None:
    """Refuse lines above the header (a report's title, an export date), naming the header's line; `lines[start:]`
    are the file's lines from line `skipped + start + 1` on."""
    title = _title_lines(lines[start:], sep)
    if title:
        raise UserError(
            f"data file {path} has {title} line(s) above its header (line {skipped + start + title + 1}: "
            f"{lines[start + title].strip()[:60]!r}), such as a report's title: delete them, or start each "
            "with #, which marks a comment line to skip."
        ) from None


def _title_lines(lines: list[str], sep: str) -> int:
    """How many leading lines (a title, an export date, blank lines) hold fewer fields than the table below them.

    0 when the first line already has the table's field count, or no table follows.
    """
    counts = [line.count(sep) for line in lines[:50]]
    if len(counts) < 3 or counts[0] >= max(counts):
        return 0
    table = max(set(counts[1:]), key=counts[1:].count)  # the count most lines have
    first = next((i for i, count in enumerate(counts) if count == table), 0)
    if not all(count < table for count in counts[:first]):
        return 0
    return first if not any(_is_number(cell) for cell in lines[first].split(sep)) else 0  # names, not a data row


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip())
    except ValueError:
        return False
    return True


def _comment_lines(sample: str) -> int:
    """How many lines before the header are comments (`# source: ...`, as data portals write): they are skipped.

    Only leading lines: a `#` inside the table is a value (an id such as `#12`), never a comment.
    """
    count = 0
    for line in sample.splitlines():
        if not line.lstrip().startswith("#"):
            break
        count += 1
    return count


def _header_in_comment(comment: str, following: list[str], sep: str) -> bool:
    """`# time,value` over rows of numbers: the header written as a comment (gnuplot, some loggers)."""
    if not following or comment.count(sep) == 0 or comment.count(sep) != following[0].count(sep):
        return False
    cells = [cell.strip().strip("\"'") for cell in following[0].split(sep)]
    return all(pd.notna(pd.to_numeric(cell, errors="coerce")) or _looks_like_time(cell) for cell in cells)


def _looks_like_time(cell: str) -> bool:
    if not any(ch in cell for ch in "-/:"):
        return False
    try:
        pd.Timestamp(cell)
    except (ValueError, OverflowError):
        return False
    return True


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


def detect_time_columns(frame: pd.DataFrame) -> list[str]:
    """The time as the file holds it: one column (detect_time_column), or the date spread over year, month (day,
    hour, minute, second) columns of whole numbers, as in the Beijing PM2.5 file: those columns together."""
    found = detect_time_column(frame)
    parts = _date_part_columns(frame)
    if parts and (found is None or found in parts):
        return parts
    hour = next((c for c in frame.columns if str(c).strip().lower() == "hour"), None)
    if found is not None and hour is not None and hour != found and _hours_of_repeated_days(frame[found], frame[hour]):
        return [found, hour]  # "date,hour,load": the day's date on every row, the hour beside it
    return [found] if found else []


def _hours_of_repeated_days(dates: pd.Series, hours: pd.Series) -> bool:
    """Whether a date column repeats its days while an hour column (whole numbers 0 to 24) moves on."""
    sample = pd.DataFrame({"date": dates, "hour": pd.to_numeric(hours, errors="coerce")}).dropna().head(50)
    return (len(sample) > 1 and sample["date"].duplicated().any() and sample["hour"].nunique() > 1
            and _whole_hours(sample["hour"]) is not None)


def _date_part_columns(frame: pd.DataFrame) -> list[str]:
    """year, month and the parts after them that follow without a gap, when all hold whole numbers; else []."""
    by_name = {str(c).strip().lower(): c for c in frame.columns}
    parts = []
    for part in DATE_PARTS:
        if part not in by_name:
            break
        sample = pd.to_numeric(frame[by_name[part]].dropna().head(50), errors="coerce")
        if sample.empty or sample.isna().any() or (sample % 1 != 0).any():
            break
        parts.append(by_name[part])
    return parts if len(parts) >= 2 else []


def detect_time_column(frame: pd.DataFrame) -> str | None:
    """The first column whose name looks like a time and whose cells parse as dates, else None.

    A column named like a time needs most of its sampled cells to be dates, not all: a stray
    "not a date" there is then reported with its line (parse._parse_times) instead of the
    column being silently read as no time at all. Any other first column needs every cell.
    Numbers are times only in a column named like one, and only years (where the name says
    year or date) or Unix time (`timestamp` in seconds): elsewhere they are values.
    """
    named = [c for c in frame.columns if str(c).lower() in TIME_NAMES]
    named += [c for c in frame.columns if any(word in str(c).lower() for word in TIME_WORDS)]  # week, order_date
    for column in dict.fromkeys(named + list(frame.columns[:1])):
        sample = frame[column].dropna().head(50)
        if sample.empty:
            continue
        if pd.api.types.is_datetime64_any_dtype(sample):  # Parquet's own timestamps (to_numeric would make them ints)
            return column
        if pd.to_numeric(sample, errors="coerce").notna().all():
            found = _numbers_as_times(sample) if column in named else None
            # years only where the name says so: a `time` of 1000 to 2999 may be seconds elapsed
            if found and (found[1] != "years" or "year" in str(column).lower() or str(column).lower() in YEAR_NAMES):
                return column
            continue
        dates = _datetimes(sample)[0].notna()
        if dates.all() or (column in named and dates.mean() >= 0.8):
            return column
    typed = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    return typed[0] if typed else None  # a Parquet timestamp column under any name
