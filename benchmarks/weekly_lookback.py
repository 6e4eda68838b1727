"""The derived look-back on a short weekly series: the rule before and after 2026-12-05, validation only.

    python benchmarks/weekly_lookback.py

Weekly means of the daily minimum temperatures (development data, the last 300 weeks), H=13.
Before, the derived look-back was shortened only until one window fitted the training part
(192 steps in 8 segments: six training windows); now the training part keeps a season of
windows. Prints each one's validation MAE relative to seasonal naive (benchmarks/defaults.py).
"""

import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import defaults  # noqa: E402

folder = Path(tempfile.mkdtemp())
daily = pd.read_csv(defaults.ROOT / "data" / "daily-min-temperatures.csv", parse_dates=["Date"])
weekly = daily.set_index("Date")["Temp"].resample("W-SUN").mean().iloc[-300:]
weekly.rename_axis("date").reset_index().to_csv(folder / "weekly-temps.csv", index=False)
for name, old in (("before: 192 steps in 8 segments, six training windows", True), ("now: derived", False)):
    raw = {"data": {"path": str(folder / "weekly-temps.csv"), "targets": ["Temp"]}, "window": {"horizon": 13},
           "run": {"dir": str(folder / "runs")}}
    if old:
        raw["window"]["input_length"], raw["model"] = 192, {"segment_length": 24}
    found = defaults.validation_score(raw)
    print(name, json.dumps({k: found[k] for k in ("relative_mae", "input_length", "epochs", "val_windows")}))
