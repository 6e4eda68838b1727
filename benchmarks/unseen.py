"""The minimal config on public series outside the development collection: a new user's first try, scored.

    pip install -r benchmarks/requirements.txt      # statsmodels (with statsforecast) and pmdarima ship these series
    python benchmarks/unseen.py --out /tmp/unseen   # one JSON line per series, then a table

Never used to choose a default (benchmarks/DEFAULTS.md chooses on the development collection only): this is the
check the issue describes, run on series the project has never trained on. Each series is written as a user would
have it (a CSV with its time column as the source gives it, gaps kept), the minimal config (file, target, horizon)
is backtested with `rnnforecast backtest --stride H`, and AutoETS, AutoTheta and seasonal naive forecast the same
origins (benchmarks/defaults.py's scoring, so the numbers read like the report's), refitted before every origin. The
network's backtest runs without the classical models, and what `predict` would forecast (the network mixed with them
under `model.combine: auto`, forecasting.combination.single_choice) is computed from the same forecasts. Relative
MAE: each forecaster's MAE over seasonal naive's on the same folds; below 1 is better.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import defaults  # noqa: E402  (benchmarks/defaults.py: the CLI runner and the scoring)


def _pmdarima(name: str) -> pd.Series:
    from pmdarima import datasets

    return getattr(datasets, f"load_{name}")(as_series=True)


def _frame(index, values, time_name: str = "date", value_name: str = "value") -> pd.DataFrame:
    return pd.DataFrame({time_name: index, value_name: np.asarray(values, dtype=float)})


def series_frames() -> dict[str, tuple[pd.DataFrame, str, int]]:
    """name -> (the file's rows, its target column, the horizon), each as its source publishes it."""
    from statsmodels.datasets import co2, nile

    found = {}
    weekly = co2.load_pandas().data  # Mauna Loa, weekly from 1958, 59 missing weeks kept as empty cells
    co2_frame = _frame(weekly.index.strftime("%Y-%m-%d"), weekly["co2"], value_name="co2")
    found["co2 (weekly, gaps)"] = (co2_frame, "co2", 13)
    taylor = _pmdarima("taylor")  # half-hourly electricity demand, England and Wales, from Monday 2000-06-05
    stamps = pd.date_range("2000-06-05", periods=len(taylor), freq="30min").strftime("%Y-%m-%d %H:%M")
    found["taylor (half-hourly)"] = (_frame(stamps, taylor.to_numpy(), value_name="demand"), "demand", 48)
    wine = _pmdarima("wineind")  # index "Jan 1980"
    found["wineind (monthly)"] = (_frame(wine.index, wine.to_numpy(), "month", "sales"), "sales", 12)
    wool = _pmdarima("woolyrnq")  # index "Q1 1965"
    found["woolyrnq (quarterly)"] = (_frame(wool.index, wool.to_numpy(), "quarter", "tonnes"), "tonnes", 8)
    beer = _pmdarima("ausbeer")  # quarterly from 1956 Q1, no index in the source
    quarters = pd.period_range("1956Q1", periods=len(beer), freq="Q").strftime("%Y-Q%q")
    found["ausbeer (quarterly)"] = (_frame(quarters, beer.to_numpy(), "quarter", "megalitres"), "megalitres", 8)
    lynx = _pmdarima("lynx")  # yearly, the year as a number
    found["lynx (yearly)"] = (_frame(lynx.index.astype(int), lynx.to_numpy(), "year", "trappings"), "trappings", 5)
    nile_frame = nile.load_pandas().data  # yearly flow, 1871 to 1970
    found["nile (yearly)"] = (_frame(nile_frame["year"].astype(int), nile_frame["volume"], "year", "volume"),
                              "volume", 5)
    heart = _pmdarima("heartrate")  # no time column: 150 readings half a second apart
    found["heartrate (no time)"] = (pd.DataFrame({"bpm": heart.to_numpy(dtype=float)}), "bpm", 10)
    from pmdarima import datasets

    stock = datasets.load_msft()[["Date", "Close"]]  # trading days, 1986 to 2017 (load_msft has no as_series)
    found["msft close (trading days)"] = (stock, "Close", 5)
    return found


def hourly_temperatures(data_dir: Path) -> dict[str, tuple[pd.DataFrame, str, int]]:
    """The issue's "hourly temperature (H=24)" row on two columns of the development files that no round scored (their
    targets are pm2.5 and OT): Beijing's TEMP as published (date over year, month, day, hour columns; the last 10,000
    rows) and Jena's air temperature averaged to hours."""
    beijing = pd.read_csv(data_dir / "pollution.csv").drop(columns=["No"]).tail(10000)
    jena = pd.read_csv(data_dir / "weather.csv", encoding="latin-1", usecols=["date", "T (degC)"])
    jena = jena.assign(date=pd.to_datetime(jena["date"])).set_index("date")["T (degC)"].resample("h").mean()
    return {"beijing TEMP (hourly)": (beijing, "TEMP", 24),
            "jena T (hourly)": (jena.rename("T").reset_index().assign(date=lambda f: f["date"].astype(str)), "T", 24)}


def forecast_score(row: dict) -> float:
    """The relative MAE of what `predict` forecasts under model.combine: auto (forecasting.combination.single_choice):
    the three-way mix under SHORT_ROWS rows, the classical mean for a network at its start, else the network."""
    if row["grid_rows"] < defaults.SHORT_ROWS:
        return row["relative_mae"]["model+ETS+Theta"]
    return row["ets+theta"] if row["collapsed"] else row["relative_mae"]["model"]


def main() -> None:
    import yaml

    import peers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/rnnforecast-unseen"))
    parser.add_argument("--only", nargs="*", help="series names (a prefix is enough), default all")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="a config override (repeatable)")
    parser.add_argument("--data-dir", type=Path, help="the shared data sets: adds hourly_temperatures' two series")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "unseen.jsonl"
    done = {json.loads(line)["item"] for line in log.read_text().splitlines()} if log.is_file() else set()
    found = series_frames() | (hourly_temperatures(args.data_dir) if args.data_dir else {})
    for name, (frame, target, horizon) in found.items():
        if name in done or (args.only and not any(name.startswith(o) for o in args.only)):
            continue
        path = args.out / "data" / (name.split(" ")[0] + ".csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        config_path = args.out / "configs" / (name.split(" ")[0] + ".yaml")
        config_path.parent.mkdir(parents=True, exist_ok=True)
        raw = defaults.minimal_config(path, target, horizon, False, args.out / "runs")
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        started = time.perf_counter()
        result = defaults._report_single({"horizon": horizon, "target": target}, config_path, peers, None,
                                         tuple(args.overrides))
        result |= defaults._collapsed_scores(Path(result["run"]))
        result = {"item": name, "rows": len(frame), "seconds": round(time.perf_counter() - started, 1), **result}
        print(json.dumps(result), flush=True)
        with open(log, "a") as handle:
            handle.write(json.dumps(result) + "\n")
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    print("\n| series (rows, H, season, look-back, folds) | minimal config (what predict forecasts) | network alone | "
          "AutoETS | AutoTheta | better of ETS/Theta beaten? |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        m, ours = r["relative_mae"], forecast_score(r)
        best = min(m["AutoETS"], m["AutoTheta"])
        print(f"| {r['item']} ({r['rows']}, {r['horizon']}, {r['season']}, {r['input_length']}, {r['folds']}) | "
              f"**{ours:.3f}** | {m['model']:.3f} | {m['AutoETS']:.3f} | {m['AutoTheta']:.3f} | "
              f"{'yes' if ours < best else 'no'} |")
    wins = sum(forecast_score(r) < min(r["relative_mae"]["AutoETS"], r["relative_mae"]["AutoTheta"]) for r in rows)
    naive = sum(forecast_score(r) < 1 for r in rows)
    print(f"\nbelow seasonal naive on {naive} of {len(rows)}; below the better of AutoETS and AutoTheta on {wins} of "
          f"{len(rows)}")


if __name__ == "__main__":
    main()
