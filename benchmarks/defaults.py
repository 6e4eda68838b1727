"""The minimal config against the classical forecasters, on the development collection.

Two steps, kept apart so that no default is ever chosen on a test number:

    python benchmarks/defaults.py select --out /tmp/dev   # candidates' VALIDATION scores; the rule picks one
    python benchmarks/defaults.py report --out /tmp/dev   # the chosen defaults on the TEST periods, with peers
    python benchmarks/defaults.py neuralforecast --out /tmp/dev   # NeuralForecast's LSTM on report's origins
    python benchmarks/defaults.py holdout --out /tmp/dev  # panels: the last H of the TRAINING part, every series
    python benchmarks/defaults.py holdout-single --out /tmp/dev  # single series: the TEST protocol on the first 85%
    python benchmarks/defaults.py mixes-single --out /tmp/dev  # round 19: those runs mixed with AutoTheta
    python benchmarks/defaults.py short-single --out /tmp/dev  # round 20: panels' series one by one, single files
    python benchmarks/defaults.py mid-single --out /tmp/dev  # round 22: the long series cut to 300, 700, 1,500 rows
    python benchmarks/defaults.py combine --out /tmp/dev  # round 15: network + ETS/Theta chosen on validation, holdout
    python benchmarks/defaults.py median --out /tmp/dev  # round 25: a panel's median of three against the thirds
    python benchmarks/defaults.py short-panel --out /tmp/dev  # round 26: a panel's too-short series by ETS and Theta
    python benchmarks/defaults.py short-intervals --out /tmp/dev  # round 26: those series' intervals

`select` trains every candidate of CANDIDATES on every item of the collection
(benchmarks/collection.py) and scores it on the validation windows only, relative to
seasonal naive. The rule that picks the winner was written down (benchmarks/DEFAULTS.md)
before the first score was seen.

`report` runs the minimal config as a user would: `rnnforecast backtest CONFIG --stride H`
for single series (the peers forecast the same origins, read from the run's
forecasts.csv), and `rnnforecast train` then `predict` on the training part of each
competition panel (the last H points of every series held out), scored by MASE.
Results are appended as JSON lines to OUT/select.jsonl and OUT/report.jsonl, so an
interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import collection  # noqa: E402  (benchmarks/collection.py)

# Each candidate is a set of overrides on the minimal config (data and horizon only; input_length derived).
# BEFORE (the defaults before this study) is scored with --before, for reference only: it cannot win.
BEFORE = {"before": {"model.normalization": "none", "window.input_length": 48, "model.highway": False}}
# Round 1 chose among the first three; round 2 (its rule in DEFAULTS.md, also written before scoring)
# re-scores round 1's winner with the code of today beside one lever on top of it.
ROUNDS = {
    1: {
        "last": {"model.normalization": "last", "model.highway": False},
        "last+highway": {"model.normalization": "last", "model.highway": True},
        "last+seasonal": {"model.normalization": "last", "model.highway": "seasonal"},
    },
    2: {
        "r2:seasonal": {},
        "r2:seasonal+mae": {"training.loss": "mae"},
    },
    # Round 3: a look-back of four seasons or horizons instead of two (keys starting with "_" are not config
    # keys: `_lookback_spans` sets data.windows.LOOKBACK_SPANS for that candidate). Its reference is round 2's
    # winner, today's defaults; copy those rows of round 2's select.jsonl into the round's log to reuse them.
    3: {
        "r2:seasonal+mae": {"training.loss": "mae"},
        "r3:lookback4": {"_lookback_spans": 4},
    },
    # Round 4: a derived look-back of 96 steps or more read in eight segments (`_segmented_from` sets
    # data.windows.SEGMENTED_FROM). Below 96 steps the two candidates are the same model.
    4: {
        "r3:lookback4": {"_lookback_spans": 4},
        "r4:segments": {"_lookback_spans": 4, "_segmented_from": 96},
    },
    # Round 5: dropout before the output layer (the benchmark configs' tuned searches all chose 0.5 to 0.64).
    # Its reference, today's defaults, is round 4's winner: its rows come from rounds 3 and 4's logs.
    5: {
        "r4:segments": {},
        "r5:head-dropout": {"model.head_dropout": 0.5},
    },
    # Round 6: an ensemble of independently initialised networks, each fitted by its own loss, forecasting their
    # mean (model.ensemble). Both candidates are trained on this round's machine: no row is reused.
    6: {
        "r4:segments": {},
        "r6:ensemble": {"model.ensemble": 3},  # 5 cost 176 s on ETTh1 (DEFAULTS.md, round 6)
    },
    # Round 7: the highway starts as a ridge fit of the training windows, shrunk toward seasonal naive by an amount
    # chosen on the validation windows (model.highway: fitted), instead of as seasonal naive itself.
    7: {
        "r4:segments": {},
        "r7:fitted-highway": {"model.highway": "fitted"},
    },
    # Round 8: the fitted highway solved toward the absolute error (IRLS), the training loss's criterion. The
    # reference's rows are round 7's (same CPU model, same code for it): copy them into the round's log.
    8: {
        "r7:fitted-highway": {},
        "r8:robust-highway": {"model.highway_fit": "absolute"},
    },
    # Round 9: the look-back chosen by probes (window.input_length: auto) instead of the four-span rule.
    9: {
        "r7:fitted-highway": {},
        "r9:auto-lookback": {"window.input_length": "auto"},
    },
    # Round 10: each window also divided by its own standard deviation (RevIN's scale; model.normalization_scale),
    # so that the linear start and the network fit every window in its own units. The reference's rows are round 9's
    # (same machine, same code for it): copy them into the round's log.
    10: {
        "r7:fitted-highway": {},
        "r10:window-scale": {"model.normalization_scale": True},
    },
    # Round 11: the window's spread for panels only (model.normalization_scale: auto), round 10's reason being one
    # about pooling windows of series of different volatility. Reference rows: round 9's.
    11: {
        "r7:fitted-highway": {},
        "r11:panel-scale": {"model.normalization_scale": "auto"},
    },
    # Round 12: a panel's series each scaled by its MASE denominator (data.scaling: mase) instead of each window by its
    # own spread; scored on the panels (a single series is unchanged by construction). Reference rows: round 11's.
    12: {
        "r11:panel-scale": {},
        "r12:mase-scaling": {"data.scaling": "mase", "model.normalization_scale": False},
    },
    # Round 13: the network's forecast combined with AutoETS's and AutoTheta's, the combination chosen on validation;
    # scored with the choice made on one half of the validation windows and scored on the other (both ways). The
    # reference's rows are the same trained network alone (written by the candidate's run: paired).
    13: {
        "r11:panel-scale": {"_paired": True},
        "r13:combined": {"_combine": True},
    },
    # Round 14: the panels scored by their test metric (validation mean MASE); the challenger scales each series by its
    # MASE denominator. `_classical` also scores AutoETS and AutoTheta on the same windows; `_information` rows are
    # scored and shown but never candidates. The single series' rows are round 11's: copy them under both names.
    14: {
        "r11:panel-scale": {"_classical": True},
        "r12:mase-scaling": {"data.scaling": "mase", "model.normalization_scale": False},
        "r7:no-panel-scale": {"model.normalization_scale": False, "_information": True},
    },
    # Round 16: CycleNet's residual cycle (model.cycle: auto), scored as round 14 scored; both rows run again (paired).
    16: {
        "r11:panel-scale": {},
        "r16:cycle": {"model.cycle": "auto"},
    },
    # Round 17: the cycle's pattern started as the training rows' profile beside the fitted highway (the product's code
    # with model.cycle on); the reference's rows are round 16's (copied: a run without a cycle is unchanged).
    17: {
        "r11:panel-scale": {},
        "r17:cycle-fitted": {"model.cycle": "auto"},
    },
    # Round 18: a smaller learning rate from the fitted start; all three run again on one machine (paired).
    18: {
        "r11:panel-scale": {},
        "r18:lr-3e-4": {"training.optimizer.learning_rate": 3e-4},
        "r18:lr-1e-4": {"training.optimizer.learning_rate": 1e-4},
    },
}

COMBINATIONS = {  # round 13: weights of (network, AutoETS, AutoTheta)
    "network": (1.0, 0.0, 0.0),
    "network+ETS": (0.5, 0.5, 0.0),
    "network+Theta": (0.5, 0.0, 0.5),
    "network+ETS+Theta": (1 / 3, 1 / 3, 1 / 3),
}


def minimal_config(path: Path, target: str, horizon: int, panel: bool, run_dir: Path) -> dict:
    """What a new user writes: the file, the target, the horizon (and the id column of a panel)."""
    raw = {"data": {"path": str(path), "targets": [target]}, "window": {"horizon": horizon}, "run": {"dir": str(run_dir)}}
    if panel:
        raw["data"]["id_column"] = "id"
    return raw


def items(out: Path, data_dir: Path | None, include_held_out: bool = False) -> list[dict]:
    found = []
    for entry in collection.SINGLE:
        path = collection.single_series(entry["name"], out / "data", data_dir)
        found.append({"name": entry["name"], "path": path, "target": entry["target"], "horizon": entry["horizon"],
                      "panel": False})
    panels = list(collection.PANELS) + (list(collection.HELD_OUT_PANELS) if include_held_out else [])
    for entry in panels:
        made = collection.panel(entry["name"], out / "data")
        found.append({"name": entry["name"], "path": Path(made["train"]), "test": Path(made["test"]), "target": "value",
                      "horizon": made["horizon"], "season": made["season"], "panel": True})
    return found


def _done(log: Path) -> set[tuple]:
    if not log.is_file():
        return set()
    return {(r["item"], r["candidate"]) for r in map(json.loads, log.read_text().splitlines())}


# ---------------------------------------------------------------------------- select (validation only)


def _series_rows(prepared) -> list[tuple[int, int, dict]]:
    """(first row, one past the last, its fitted preprocessing) of each series in `prepared.values`; one for a series."""
    if not prepared.offsets:
        return [(0, len(prepared.values), {**prepared.prep, "train_end": prepared.bounds.train_end})]
    bounds = sorted(prepared.offsets.items(), key=lambda item: item[1]) + [(None, len(prepared.values))]
    return [(lo, hi, prepared.prep["series"][key]) for (key, lo), (_, hi) in zip(bounds[:-1], bounds[1:])]


def _standard_units(prepared, config) -> np.ndarray:
    """Per row of a panel: its series' scale over the standard scaler's (its training rows' std); 1 elsewhere.

    Every round's panel score pools errors in the standard scaler's units; a candidate that scales its series otherwise
    (round 12) is converted back to them, so that its score weighs the series as the reference's does.
    """
    factor = np.ones(len(prepared.values))
    if config.data.scaling == "standard" or not prepared.offsets:
        return factor
    for lo, hi, own in _series_rows(prepared):
        scale = own["scale"][0]
        train = prepared.values[lo : lo + own["train_end"], 0] * scale  # data units less the center
        std = float(np.std(train)) if len(train) else 0.0
        factor[lo:hi] = scale / std if std > 1e-12 else 1.0
    return factor


def _classical_scaled(prepared, origins: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """Round 13: AutoETS's and AutoTheta's forecasts at `origins`, fitted on each series' training rows, scaled units."""
    from rnnforecast.forecasting import classical

    season = int(prepared.prep["season_length"])
    out = {name: np.full((len(origins), horizon), np.nan) for name in classical.NAMES}
    for lo, hi, own in _series_rows(prepared):
        chosen = (origins >= lo) & (origins < hi)
        if not chosen.any():
            continue
        scale, center = own["scale"][0], own["center"][0]
        raw = prepared.values[lo:hi, :1].astype("float64") * scale + center
        found = classical.forecasts(raw, origins[chosen] - lo, horizon, season, own["train_end"])
        for name in classical.NAMES:
            out[name][chosen] = (found[name][:, :, 0] - center) / scale
    return out


def _cross_chosen(members: list[np.ndarray], actual: np.ndarray, unit: np.ndarray, halves: np.ndarray) -> tuple:
    """Round 13's score: each half's errors under the combination chosen on the other half (pooled), and the choices."""
    errors = {name: np.abs(sum(w * m for w, m in zip(weights, members)) - actual) * unit
              for name, weights in COMBINATIONS.items()}
    total, chosen = 0.0, []
    for half in (0, 1):
        other = halves != half
        pick = min(errors, key=lambda name: errors[name][other].mean())
        total += errors[pick][halves == half].sum()
        chosen.append(pick)
    on_all = min(errors, key=lambda name: errors[name].mean())
    return total / actual.size, chosen, on_all


def _mean_mase(prepared, origins: np.ndarray, actual: np.ndarray, forecasts: dict[str, np.ndarray]) -> dict:
    """Round 14: each forecaster's validation mean MASE, over the panel's series that have a validation window.

    A series' MASE is its mean absolute error over its validation windows divided by the mean absolute seasonal
    difference of its training rows (the competitions' denominator), so the series weigh as in the test metric.
    """
    from rnnforecast import metrics

    season = int(prepared.prep["season_length"])
    rows = _series_rows(prepared)
    owner = np.searchsorted([lo for lo, _, _ in rows], origins, side="right") - 1
    found = {name: [] for name in forecasts}
    for k in np.unique(owner):
        lo, _, own = rows[k]
        scale = float(metrics.mase_scale(prepared.values[lo : lo + own["train_end"], :1], season)[0]) or 1.0
        mine = owner == k
        for name, forecast in forecasts.items():
            found[name].append(np.abs(forecast[mine] - actual[mine]).mean() / scale)
    return {name: float(np.mean(values)) for name, values in found.items()} | {"series": int(len(np.unique(owner)))}


def validation_score(raw: dict, combine: bool = False, classical: bool = False) -> dict:
    """Train as `train` does (no refit) and score every validation window against seasonal naive, scaled units.

    combine (round 13): also the network combined with AutoETS and AutoTheta, the combination chosen on one half of
    the validation windows and scored on the other (`combined_relative_mae`). A panel also gets its validation mean
    MASE relative to seasonal naive's (`relative_mean_mase`, round 14), and with `classical` AutoETS's and AutoTheta's.
    """
    from rnnforecast import config as config_module
    from rnnforecast import data, environment, forecasting, metrics, training

    config = config_module.validate(raw)
    config.training.refit = False
    started = time.perf_counter()
    prepared = training.prepare_data(config)
    L, H = config.window.input_length, config.window.horizon
    model = training.build(config, len(prepared.series.columns), prepared.prep["season_length"])
    history = training.fit(model, prepared, config, verbose=0).history
    seconds = time.perf_counter() - started
    starts = prepared.starts["val"]
    n = len(config.data.targets)
    output = forecasting.predict_scaled(model, prepared.values, starts, L, H, data.n_known(config.data))
    point = forecasting.point_of(config.model.output.quantiles, output)[0]
    origins = starts + L
    season = int(prepared.prep["season_length"])
    if season * ((H - 1) // season + 1) > L:
        season = 1  # the seasonal lag would reach before the window (into another series of a panel)
    targets = prepared.values[:, :n]
    actual = targets[origins[:, None] + np.arange(H)]
    unit = _standard_units(prepared, config)[origins][:, None, None]  # errors weighed as in the standard scaler's units
    errors = {
        "model": (np.abs(point - actual) * unit).mean(),
        "naive": (np.abs(metrics.naive(targets, origins, H) - actual) * unit).mean(),
        "seasonal_naive": (np.abs(metrics.seasonal_naive(targets, origins, H, season) - actual) * unit).mean(),
    }
    environment.import_keras().backend.clear_session()
    mase = {}
    if prepared.offsets:  # a panel: the test metric's weighing of series (round 14)
        forecasts = {"model": point[:, :, 0], "seasonal_naive": metrics.seasonal_naive(targets, origins, H, season)[:, :, 0]}
        if classical:
            forecasts |= _classical_scaled(prepared, origins, H)
        found = _mean_mase(prepared, origins, actual[:, :, 0], forecasts)
        mase = {"relative_mean_mase": found["model"] / found["seasonal_naive"], "val_series": found["series"],
                "mean_mase": {k: round(v, 4) for k, v in found.items() if k != "series"}}
        mase |= {f"{name}_relative_mean_mase": found[name] / found["seasonal_naive"] for name in forecasts
                 if name not in ("model", "seasonal_naive")}
    combined = {}
    if combine:
        found = _classical_scaled(prepared, origins, H)
        if prepared.offsets:  # a panel: its series alternately
            firsts = [lo for lo, _, _ in _series_rows(prepared)]
            halves = (np.searchsorted(firsts, origins, side="right") - 1) % 2
        else:  # one series: the first and second half in time
            halves = (np.arange(len(origins)) >= len(origins) // 2).astype(int)
        members = [point[:, :, 0], found["AutoETS"], found["AutoTheta"]]
        error, chosen, on_all = _cross_chosen(members, actual[:, :, 0], unit[:, :, 0], halves)
        combined = {"combined_relative_mae": float(error / errors["seasonal_naive"]), "chosen_by_half": chosen,
                    "chosen_on_all": on_all}
    return {
        **combined,
        **mase,
        "relative_mae": float(errors["model"] / errors["seasonal_naive"]),
        "naive_relative_mae": float(errors["naive"] / errors["seasonal_naive"]),
        "val_windows": int(len(starts)),
        "input_length": L,
        "segment_length": config.model.segment_length,
        "epochs": len(history["loss"]),
        "train_seconds": round(seconds, 1),
    }


def select(out: Path, data_dir: Path | None, only: list[str] | None, before: bool = False, round_number: int = 1) -> None:
    from rnnforecast import config as config_module

    log = out / "select.jsonl"
    done = _done(log)
    for item in items(out, data_dir):
        if only and item["name"] not in only:
            continue
        candidates = ROUNDS[round_number]
        for name, overrides in ({**candidates, **BEFORE} if before else candidates).items():
            if (item["name"], name) in done or overrides.get("_paired"):
                continue
            raw = minimal_config(item["path"], item["target"], item["horizon"], item["panel"], out / "runs")
            for key, value in overrides.items():
                if not key.startswith("_"):
                    config_module.set_path(raw, key, value)
            from rnnforecast.data import windows

            spans, segmented = windows.LOOKBACK_SPANS, windows.SEGMENTED_FROM
            if round_number < 5:  # rounds 1 to 4 were scored with the look-back rules of their day
                windows.LOOKBACK_SPANS = overrides.get("_lookback_spans", 2)
                windows.SEGMENTED_FROM = overrides.get("_segmented_from")
            try:
                result = {"item": item["name"], "candidate": name, **validation_score(raw, overrides.get("_combine", False),
                                                                                   overrides.get("_classical", False))}
            finally:
                windows.LOOKBACK_SPANS, windows.SEGMENTED_FROM = spans, segmented
            rows = [result]
            if "combined_relative_mae" in result:  # round 13: the reference is the same network alone (paired)
                reference = next(key for key, value in candidates.items() if value.get("_paired"))
                rows = [{**result, "candidate": reference},
                        {**result, "relative_mae": result["combined_relative_mae"], "network_relative_mae": result["relative_mae"]}]
            for row in rows:
                print(json.dumps(row), flush=True)
                with open(log, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
    summarize_select(log, round_number)


def summarize_select(log: Path, round_number: int = 1) -> None:
    """The rule of DEFAULTS.md: lowest geometric mean of the validation relative MAE over the collection."""
    table = pd.DataFrame(map(json.loads, log.read_text().splitlines()))
    table = table[table["candidate"].isin(ROUNDS[round_number]) | (table["candidate"] == "before")]
    if round_number >= 14 and "relative_mean_mase" in table:  # panels scored by their test metric
        table["relative_mae"] = table["relative_mean_mase"].fillna(table["relative_mae"])
    wide = table.pivot(index="item", columns="candidate", values="relative_mae")
    print(wide.round(3).to_string())
    rule_candidates = tuple(k for k, v in ROUNDS[round_number].items() if not v.get("_information"))
    complete = wide[[c for c in rule_candidates if c in wide]].dropna()
    geo = np.exp(np.log(complete).mean()).sort_values()
    wins = (complete < 1).sum()
    print("\ngeometric mean of validation MAE / seasonal naive MAE over", len(complete), "items:")
    for name, value in geo.items():
        print(f"  {name:16s} {value:.3f}   below 1 on {wins[name]} of {len(complete)}")
    ranked = [name for name in geo.index if name in rule_candidates]
    if not ranked:
        return
    if round_number == 1:  # the lowest (DEFAULTS.md: a simpler one within 1% would be taken instead, by hand)
        print("rule's choice:", ranked[0])
        return
    # Rounds 2 on: the first candidate is today's defaults; a challenger must be 1% lower (round 4, a cost
    # change: at most 1% higher) to replace it.
    reference, bound = rule_candidates[0], 1.01 if round_number == 4 else 0.99
    if reference not in geo:
        return
    for name in ranked:
        if name != reference:
            print(f"  {name} / {reference}: {geo[name] / geo[reference]:.4f} (needs <= {bound})")
    passing = [name for name in ranked if name != reference and geo[name] / geo[reference] <= bound]
    print("rule's choice:", passing[0] if passing else f"{reference} (no change)")


# ---------------------------------------------------------------------------- report (test periods)


def rnnforecast(*args: str) -> str:
    """Run the CLI as a user would; return its last stdout line (the run folder)."""
    command = [str(Path(sys.executable).parent / "rnnforecast"), *args]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"rnnforecast {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def report(out: Path, data_dir: Path | None, only: list[str] | None, held_out: bool,
           reuse_peers: Path | None = None, overrides: tuple[str, ...] = ()) -> None:
    import yaml

    import peers

    log = out / "report.jsonl"
    done = _done(log)
    earlier = {}  # a previous report's rows: their peers' scores are reused where the origins are the same
    if reuse_peers is not None:
        rows = reuse_peers / "report.jsonl" if reuse_peers.is_dir() else reuse_peers
        earlier = {r["item"]: r for r in map(json.loads, rows.read_text().splitlines())}
    for item in items(out, data_dir, include_held_out=held_out):
        if only and item["name"] not in only:
            continue
        if (item["name"], "minimal") in done:
            continue
        raw = minimal_config(item["path"], item["target"], item["horizon"], item["panel"], out / "runs")
        config_path = out / "configs" / f"{item['name']}.yaml"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        started = time.perf_counter()
        if item["panel"]:
            result = _report_panel(item, config_path, out, peers, earlier.get(item["name"]), overrides)
        else:
            result = _report_single(item, config_path, peers, earlier.get(item["name"]), overrides)
        result = {"item": item["name"], "candidate": "minimal", "seconds": round(time.perf_counter() - started, 1),
                  **result}
        print(json.dumps(result), flush=True)
        with open(log, "a") as handle:
            handle.write(json.dumps(result) + "\n")
    summarize_report(log)


PEERS = ("AutoETS", "AutoTheta", "SeasonalNaive")


def _report_single(item: dict, config_path: Path, peers, earlier: dict | None = None,
                   overrides: tuple[str, ...] = ()) -> dict:
    H = item["horizon"]
    sets = [arg for o in overrides for arg in ("--set", o)]
    run = Path(rnnforecast("backtest", str(config_path), "--stride", str(H), "--no-classical", *sets))
    return _single_scores(run, item["target"], H, peers, earlier)


SINGLE_MIXES = {"model+Theta": (0.5, 0.0, 0.5), "model+ETS+Theta": (1 / 3, 1 / 3, 1 / 3)}  # round 19


def _single_scores(run: Path, target: str, H: int, peers, earlier: dict | None = None) -> dict:
    """A single series' backtest run scored beside the peers on its origins, and the network mixed with them.

    The peers' forecasts are kept in the run folder (peers.npz) and reused from `earlier`'s run when the
    origins are the same; an earlier run without them gives its scores only (no mixes).
    """
    forecasts = pd.read_csv(run / "forecasts.csv")
    prep = json.loads((run / "preprocessing.json").read_text())
    season = int(prep["season_length"])
    # The run's grid may have added missing steps: take the series as the run saw it.
    from rnnforecast import config as config_module
    from rnnforecast import data

    config = config_module.load_config(run / "config.yaml")
    series = data.load_series(config.data)
    y = series.frame[target].to_numpy(dtype=float)
    origins = _origin_rows(series.index, forecasts.drop_duplicates("fold")["origin"])
    actual = forecasts["actual"].to_numpy().reshape(len(origins), H)  # empty where the file gave no value (filled)
    scores = {}
    for name in ("model", "seasonal_naive"):
        scores[name] = float(np.nanmean(np.abs(forecasts[name].to_numpy().reshape(len(origins), H) - actual)))
    base = scores["seasonal_naive"]
    relative = {name: round(v / base, 4) for name, v in scores.items()}
    origins_sha = _origins_sha(forecasts)
    same = earlier and (earlier.get("origins_sha256") == origins_sha or _same_origins(Path(earlier["run"]), forecasts))
    kept = Path(earlier["run"]) / "peers.npz" if same else None
    if same and not kept.is_file():
        relative |= {name: earlier["relative_mae"][name] for name in PEERS}
    else:
        found = dict(np.load(kept)) if same else peers.origin_forecasts(y, origins, H, season)
        np.savez(run / "peers.npz", **found)
        floor = (prep.get("floor") or [None])[0]  # data.floor: the peers are kept above it as the network is
        if floor is not None:
            found = {name: np.maximum(values, floor) for name, values in found.items()}
        for name, values in found.items():
            relative[name] = round(float(np.nanmean(np.abs(values - actual))) / base, 4)
        model = forecasts["model"].to_numpy().reshape(len(origins), H)
        for name, (a, b, c) in SINGLE_MIXES.items():
            mixed = a * model + b * found["AutoETS"] + c * found["AutoTheta"]
            relative[name] = round(float(np.nanmean(np.abs(mixed - actual))) / base, 4)
    return {"folds": int(len(origins)), "horizon": H, "season": season, "input_length": config.window.input_length,
            "segment_length": config.model.segment_length, "relative_mae": relative, "run": str(run),
            "origins_sha256": origins_sha}


def _origins_sha(forecasts: pd.DataFrame) -> str:
    """A fingerprint of the folds' origins, steps and actual values: equal fingerprints, equal peer forecasts."""
    columns = [c for c in ("fold", "origin", "step", "actual") if c in forecasts]
    key = forecasts[columns].to_csv(index=False, float_format="%.9g")
    return hashlib.sha256(key.encode()).hexdigest()


def _same_origins(earlier_run: Path, forecasts: pd.DataFrame) -> bool:
    """Whether an earlier backtest forecast the same origins and horizon steps (then its peers' scores hold)."""
    try:
        before = pd.read_csv(earlier_run / "forecasts.csv")
    except OSError:
        return False
    key = ["fold", "origin", "step"] if "step" in forecasts else ["fold", "origin"]
    return before[key].astype(str).equals(forecasts[key].astype(str)) and before["actual"].equals(forecasts["actual"])


def _origin_rows(index: pd.Index, origins: pd.Series) -> np.ndarray:
    """Row positions of the folds' origins (timestamps, or row numbers for a file without a time column)."""
    if isinstance(index, pd.DatetimeIndex):
        rows = index.get_indexer(pd.to_datetime(origins.astype(str)))
    else:
        rows = index.get_indexer(origins.astype(int))
    if (rows < 0).any():
        raise RuntimeError(f"fold origins not found on the series' grid: {origins[rows < 0].tolist()[:3]}")
    return rows


def _report_panel(item: dict, config_path: Path, out: Path, peers, earlier: dict | None = None,
                  overrides: tuple[str, ...] = ()) -> dict:
    H, season = item["horizon"], item["season"]
    run = Path(rnnforecast("train", str(config_path), *[arg for o in overrides for arg in ("--set", o)]))
    forecast_file = out / "forecasts" / f"{item['name']}.csv"
    forecast_file.parent.mkdir(parents=True, exist_ok=True)
    rnnforecast("predict", str(run), "--output", str(forecast_file))
    train = pd.read_csv(item["path"])
    test = pd.read_csv(item["test"])
    ours = pd.read_csv(forecast_file)
    ours["step"] = ours.groupby("id").cumcount() + 1
    ours = ours.rename(columns={"value": "forecast"})[["id", "step", "forecast"]]
    # A series shorter than one input window is not forecast by the tool (`predict` says so in its notes); the
    # competition scores every series, so those get the naive forecast here, and the count is reported.
    missing = sorted(set(test["id"].astype(str)) - set(ours["id"].astype(str)))
    if missing:
        last = train.groupby("id")["value"].last()
        filler = test[test["id"].astype(str).isin(missing)][["id", "step"]].copy()
        filler["forecast"] = filler["id"].map(last)
        ours = pd.concat([ours, filler], ignore_index=True)
    mase = {"model": peers.mean_mase(test, ours, train, season)}
    if earlier and earlier["series"] == test["id"].nunique() and earlier["horizon"] == H:
        mase |= {name: earlier["mean_mase"][name] for name in PEERS}  # the same competition split: the same fits
    else:
        steps = train.assign(time=train.groupby("id").cumcount())  # the peers take integer steps
        for name, frame in peers.panel_forecasts(steps, H, season, None).items():
            mase[name] = peers.mean_mase(test, frame, train, season)
    return {"series": int(test["id"].nunique()), "forecast_series": int(test["id"].nunique()) - len(missing),
            "naive_filled": len(missing), "horizon": H,
            "season": season, "mean_mase": {k: round(float(v), 4) for k, v in mase.items()}, "run": str(run)}


# ---------------------------------------------------------------------------- holdout (panels, development only)


def _holdout_split(name: str, horizon: int, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A panel's training part less each series' last `horizon` points (id,time,value), and those points (id,step,actual)."""
    full = pd.read_csv(collection.panel(name, out / "data")["train"])
    back = full.groupby("id").cumcount(ascending=False)
    test = full[back < horizon].rename(columns={"value": "actual"})
    return full[back >= horizon], test.assign(step=test.groupby("id").cumcount() + 1)[["id", "step", "actual"]]


def holdout(out: Path, only: list[str] | None, overrides: list[str]) -> None:
    """The competition protocol one horizon earlier: each development panel's training part less its last H points.

    Every series is forecast (short ones included) by the model `train` leaves for `predict` (the final model), and
    scored by MASE on those H points, beside AutoETS, AutoTheta and seasonal naive fitted on the same rows; the mean
    is also broken down by series length (quartiles). The test part is never read, and Tourism monthly never used.
    `overrides` are `--set` strings, e.g. training.refit=false. One JSON line per panel in OUT/holdout.jsonl.
    """
    import yaml

    import peers

    label = " ".join(overrides) or "defaults"
    folder = out / "holdout"
    folder.mkdir(parents=True, exist_ok=True)
    for entry in collection.PANELS:
        name, H, season = entry["name"], entry["horizon"], entry["season"]
        if only and name not in only:
            continue
        train, test = _holdout_split(name, H, out)
        train_path = folder / f"{name}-train.csv"
        train.to_csv(train_path, index=False)
        config_path = folder / f"{name}.yaml"
        config_path.write_text(yaml.safe_dump(minimal_config(train_path, "value", H, True, out / "runs")))
        started = time.perf_counter()
        run = rnnforecast("train", str(config_path), *[arg for o in overrides for arg in ("--set", o)])
        slug = "".join(ch if ch.isalnum() else "-" for ch in label)
        forecast_file = folder / f"{name}-forecast-{slug}.csv"
        rnnforecast("predict", run, "--output", str(forecast_file))
        seconds = round(time.perf_counter() - started, 1)
        ours = pd.read_csv(forecast_file).rename(columns={"value": "forecast"})
        ours = ours.assign(step=ours.groupby("id").cumcount() + 1)[["id", "step", "forecast"]]
        cached = folder / f"{name}-peers.pkl"
        if not cached.is_file():
            steps = train.assign(time=train.groupby("id").cumcount())  # the peers take integer steps
            pd.to_pickle(peers.panel_forecasts(steps, H, season, None), cached)
        history = {key: group["value"].to_numpy() for key, group in train.groupby("id")}
        last = train.groupby("id")["value"].last()
        scores = {}
        for forecaster, frame in {"model": ours, **pd.read_pickle(cached)}.items():
            joined = test.merge(frame, on=["id", "step"], how="left")
            joined["forecast"] = joined["forecast"].fillna(joined["id"].map(last))  # as the report fills them
            scores[forecaster] = joined.groupby("id").apply(
                lambda g: peers.mase(g["actual"], g["forecast"], history[g.name], season), include_groups=False)
        table = pd.DataFrame(scores)
        length = pd.Series({key: len(values) for key, values in history.items()}).reindex(table.index)
        quartiles = pd.qcut(length, 4, duplicates="drop")
        by_length = table.groupby(quartiles, observed=True).mean()
        row = {"item": name, "candidate": label, "series": len(table), "mean_mase": table.mean().round(4).to_dict(),
               "by_length": {str(k): v for k, v in by_length.round(4).to_dict("index").items()},
               "not_forecast": int(len(table) - ours["id"].nunique()), "seconds": seconds, "run": run}
        print(f"{name} ({label}): mean MASE " + ", ".join(f"{k} {v:.3f}" for k, v in row["mean_mase"].items()))
        print(by_length.round(3).assign(series=quartiles.value_counts(sort=False)).to_string())
        with open(out / "holdout.jsonl", "a") as handle:
            handle.write(json.dumps(row) + "\n")


def holdout_single(out: Path, data_dir: Path | None, only: list[str] | None, overrides: list[str]) -> None:
    """The single series' test protocol on development rows only: each series cut to its first 85% of rows.

    The report's test period (the last 15%) is never read. The cut is backtested as `report` backtests the full
    series (`rnnforecast backtest --stride H`: the model `train` would give at the cut's test start, origins every H
    steps over the cut's own last 15%), with AutoETS, AutoTheta and seasonal naive on the same origins (fitted once,
    then reused from OUT/holdout-single.jsonl while the origins' fingerprint is the same). One JSON line per series.
    """
    import yaml

    import peers

    label = " ".join(overrides) or "defaults"
    folder = out / "holdout-single"
    folder.mkdir(parents=True, exist_ok=True)
    log = out / "holdout-single.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    done = {(r["item"], r["candidate"]) for r in rows}
    for item in items(out, data_dir):
        if item["panel"] or (only and item["name"] not in only) or (item["name"], label) in done:
            continue
        frame = pd.read_csv(item["path"])
        cut = folder / Path(item["path"]).name
        frame.iloc[: int(len(frame) * 0.85)].to_csv(cut, index=False)
        config_path = folder / f"{item['name']}.yaml"
        config_path.write_text(yaml.safe_dump(minimal_config(cut, item["target"], item["horizon"], False,
                                                             out / "runs"), sort_keys=False))
        earlier = next((r for r in rows if r["item"] == item["name"]), None)
        started = time.perf_counter()
        result = _report_single({**item, "path": cut}, config_path, peers, earlier, tuple(overrides))
        result = {"item": item["name"], "candidate": label, "seconds": round(time.perf_counter() - started, 1),
                  **result}
        print(json.dumps(result), flush=True)
        rows.append(result)
        with open(log, "a") as handle:
            handle.write(json.dumps(result) + "\n")


from rnnforecast.forecasting.combination import SHORT_ROWS  # noqa: E402  (round 21: the product's threshold)


def short_single(out: Path, every: int, overrides: list[str], offset: int = 0) -> None:
    """Round 20: every `every`-th series of the four development panels as its own single-series file.

    `offset`: the first series taken (round 21's sample B starts at the 11th: no series of round 20's sample A).
    Each series' competition training part only (its test points never read), backtested as `report` backtests a
    single series, the peers on the same origins; one JSON line per series in OUT/short-single.jsonl, with whether the
    network's forecast is its seasonal-naive start ("collapsed") and the candidate's score.
    """
    folder = out / "short-single"
    folder.mkdir(parents=True, exist_ok=True)
    log = out / "short-single.jsonl"
    done = {json.loads(line)["item"] for line in log.read_text().splitlines()} if log.is_file() else set()
    for entry in collection.PANELS:
        made = collection.panel(entry["name"], out / "data")
        table = pd.read_csv(made["train"], dtype={"id": str})
        ids = list(dict.fromkeys(table["id"]))[offset::every]
        for sid in ids:
            name = f"{entry['name']}/{sid}"
            if name in done:
                continue
            path = folder / f"{entry['name']}-{sid}.csv"
            table.loc[table["id"] == sid, ["time", "value"]].to_csv(path, index=False)
            row = {"item": name, "set": entry["name"], "rows": int((table["id"] == sid).sum())}
            _backtest_file(path, {"horizon": made["horizon"], "target": "value"}, out, overrides, row, log)
    summarize_short_single(log)


def _backtest_file(path: Path, item: dict, out: Path, overrides: list[str], row: dict, log: Path) -> None:
    """One series file backtested with the minimal config beside the peers; `row` completed and appended to `log`.

    A file too short to backtest is logged as skipped, with train's message.
    """
    import yaml

    import peers

    config_path = path.with_suffix(".yaml")
    config_path.write_text(yaml.safe_dump(minimal_config(path, item["target"], item["horizon"], False, out / "runs"),
                                          sort_keys=False))
    started = time.perf_counter()
    try:
        result = _report_single(item, config_path, peers, None, tuple(overrides))
    except RuntimeError as exc:
        row |= {"skipped": str(exc).splitlines()[-1][:300]}
    else:
        row |= result | _collapsed_scores(Path(result["run"]))
    row["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(row), flush=True)
    with open(log, "a") as handle:
        handle.write(json.dumps(row) + "\n")


def _geometric_mean(values) -> float:
    return float(np.exp(np.mean(np.log(np.maximum(values, 1e-9)))))


MID_LENGTHS = (300, 700, 1500)  # round 22: rows of each piece


def mid_single(out: Path, data_dir: Path | None, only: list[str] | None, overrides: list[str]) -> None:
    """Round 22: the long development series cut into pieces of MID_LENGTHS rows, each backtested as its own file.

    Development rows only: a piece ends at the series' 85% mark (the report's test period, the last 15%, is never
    read), a second one 1,500 rows earlier where the file holds it. Each piece is backtested as `short-single`
    backtests a series (the peers on the same origins); one JSON line per piece in OUT/mid-single.jsonl.
    """
    folder = out / "mid-single"
    folder.mkdir(parents=True, exist_ok=True)
    log = out / "mid-single.jsonl"
    done = {json.loads(line)["item"] for line in log.read_text().splitlines()} if log.is_file() else set()
    for item in items(out, data_dir):
        if item["panel"] or (only and item["name"] not in only):
            continue
        frame = pd.read_csv(item["path"])
        mark = int(len(frame) * 0.85)
        for length in MID_LENGTHS:
            for end in (mark, mark - max(MID_LENGTHS)):
                name = f"{item['name']}/{length}@{end}"
                if end - length < 0 or name in done:
                    continue
                path = folder / f"{item['name']}-{length}-{end}.csv"
                frame.iloc[end - length : end].to_csv(path, index=False)
                row = {"item": name, "set": item["name"], "length": length, "rows": length}
                _backtest_file(path, item, out, overrides, row, log)
    summarize_mid_single(log)


def summarize_mid_single(log: Path) -> None:
    """Per piece length: the geometric mean over the pieces of each forecaster's MAE relative to seasonal naive's,
    and the round's score, the mix's MAE over the network's (paired)."""
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    gm = _geometric_mean
    names = ("model", "model+ETS+Theta", "AutoETS", "AutoTheta", "ets+theta")
    print(f"{'rows':>5s} {'scored':>6s} {'skipped':>7s} {'at start':>8s}  " + "  ".join(names) + "  mix/network")
    for length in sorted({r["length"] for r in rows}):
        scored = [r for r in rows if r["length"] == length and "relative_mae" in r]
        skipped = sum(1 for r in rows if r["length"] == length and "skipped" in r)
        if not scored:
            continue
        value = lambda r, k: r["ets+theta"] if k == "ets+theta" else r["relative_mae"][k]  # noqa: E731
        cells = [gm([value(r, k) for r in scored]) for k in names]
        ratio = gm([r["relative_mae"]["model+ETS+Theta"] / r["relative_mae"]["model"] for r in scored])
        print(f"{length:5d} {len(scored):6d} {skipped:7d} {sum(r['collapsed'] for r in scored):8d}  "
              + "  ".join(f"{v:.4f}" for v in cells) + f"  {ratio:.4f}")


def _collapsed_scores(run: Path) -> dict:
    """Whether the run's forecast is its seasonal-naive start, and round 20's candidate scored on its folds."""
    forecasts = pd.read_csv(run / "forecasts.csv")
    found = dict(np.load(run / "peers.npz"))
    actual, model, naive = (forecasts[c].to_numpy() for c in ("actual", "model", "seasonal_naive"))
    level = max(float(np.abs(actual).mean()), 1e-12)
    collapsed = bool(np.abs(model - naive).max() <= 1e-5 * level)
    base = float(np.abs(naive - actual).mean())
    classical = (found["AutoETS"].ravel() + found["AutoTheta"].ravel()) / 2
    candidate = classical if collapsed else model
    grid_rows = int(json.loads((run / "preprocessing.json").read_text())["test_end"])  # rows on the series' grid
    return {"collapsed": collapsed, "grid_rows": grid_rows,
            "r20": round(float(np.abs(candidate - actual).mean()) / base, 4),
            "ets+theta": round(float(np.abs(classical - actual).mean()) / base, 4)}


def summarize_short_single(log: Path) -> None:
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    gm = _geometric_mean
    overall = {}
    print(f"{'set':20s} {'scored':>6s} {'skipped':>7s} {'collapsed':>9s}  network  r20  r21  AutoETS  AutoTheta  "
          "ETS+Theta")
    for name in dict.fromkeys(r["set"] for r in rows):
        scored = [r for r in rows if r["set"] == name and "relative_mae" in r]
        skipped = sum(1 for r in rows if r["set"] == name and "skipped" in r)
        r21 = [r["relative_mae"]["model+ETS+Theta" if r["rows"] < SHORT_ROWS else "model"] for r in scored]
        cells = {"network": gm([r["relative_mae"]["model"] for r in scored]), "r20": gm([r["r20"] for r in scored]),
                 "r21": gm(r21),
                 "AutoETS": gm([r["relative_mae"]["AutoETS"] for r in scored]),
                 "AutoTheta": gm([r["relative_mae"]["AutoTheta"] for r in scored]),
                 "ets+theta": gm([r["ets+theta"] for r in scored])}
        overall[name] = cells
        print(f"{name:20s} {len(scored):6d} {skipped:7d} {sum(r['collapsed'] for r in scored):9d}  "
              + "  ".join(f"{v:.4f}" for v in cells.values()))
    if overall:
        total = {k: gm([c[k] for c in overall.values()]) for k in next(iter(overall.values()))}
        print("geometric mean over the sets: " + "  ".join(f"{k} {v:.4f}" for k, v in total.items())
              + f"\nr20 / network = {total['r20'] / total['network']:.4f}, r21 / network = "
              f"{total['r21'] / total['network']:.4f} (each adopted at <= 0.98)")


def mixes_single(out: Path) -> None:
    """Round 19: each `holdout-single` row scored again with the network mixed with the peers (SINGLE_MIXES).

    Rows whose run kept no peer forecasts (peers.npz) have the peers fitted again on the same origins.
    One JSON line per row in OUT/holdout-single-mixes.jsonl, then the round's geometric mean ratios.
    """
    import peers

    rows = [json.loads(line) for line in (out / "holdout-single.jsonl").read_text().splitlines()]
    log = out / "holdout-single-mixes.jsonl"
    done = {(r["item"], r["candidate"]) for r in map(json.loads, log.read_text().splitlines())} if log.is_file() else set()
    targets = {entry["name"]: entry["target"] for entry in collection.SINGLE}
    for row in rows:
        if (row["item"], row["candidate"]) in done:
            continue
        scored = _single_scores(Path(row["run"]), targets[row["item"]], row["horizon"], peers)
        result = {"item": row["item"], "candidate": row["candidate"], "folds": scored["folds"],
                  "relative_mae": scored["relative_mae"], "run": row["run"]}
        print(json.dumps(result), flush=True)
        with open(log, "a") as handle:
            handle.write(json.dumps(result) + "\n")
    table = pd.DataFrame({r["item"]: r["relative_mae"] for r in map(json.loads, log.read_text().splitlines())
                          if r["candidate"] == "defaults"}).T
    print(table.round(3).to_string())
    for name in SINGLE_MIXES:
        ratio = float(np.exp(np.log(table[name] / table["model"]).mean()))
        print(f"{name}: geometric mean ratio to the network alone {ratio:.4f} over {len(table)} series "
              f"(round 19's bar: 0.986)")


RECENT_WINDOWS = 8  # round 30: the earlier windows a single series' forecaster is chosen on


def recent_choice_forecast(options: dict[str, np.ndarray], actual: np.ndarray, windows: int) -> np.ndarray:
    """Round 30: at each fold, the option (in `options`' order) with the lowest MAE on the last `windows` folds.

    Folds are consecutive non-overlapping windows (stride H), so fold k's targets are all observed at fold k+1's
    origin. Fold 0, and a tie, take the first option (the network).
    """
    names = list(options)
    stacked = np.stack([options[name] for name in names])  # (option, fold, step)
    errors = np.abs(stacked - actual[None]).mean(axis=2)  # (option, fold)
    chosen = np.zeros(actual.shape[0], dtype=int)
    for fold in range(1, actual.shape[0]):
        chosen[fold] = int(np.argmin(errors[:, max(0, fold - windows):fold].mean(axis=1)))
    return stacked[chosen, np.arange(actual.shape[0])]


def recent_choice(out: Path) -> None:
    """Round 30: `holdout-single`'s reference runs scored with the forecaster chosen by its recent errors.

    Offline: each run's network forecasts (forecasts.csv) and AutoTheta's on the same origins (peers.npz). A short
    series keeps round 21's thirds (ratio 1). One JSON line per item in OUT/round30-recent-choice.jsonl.
    """
    from rnnforecast.forecasting.combination import SHORT_ROWS

    rows = [json.loads(line) for line in (out / "holdout-single.jsonl").read_text().splitlines()]
    rows = [row for row in rows if row["candidate"] == "defaults"]
    log = out / "round30-recent-choice.jsonl"
    log.unlink(missing_ok=True)
    ratios = {windows: [] for windows in (RECENT_WINDOWS, 4, 16)}
    for row in rows:
        run, H = Path(row["run"]), row["horizon"]
        forecasts = pd.read_csv(run / "forecasts.csv")
        n_rows = len(pd.read_csv(json.loads((run / "backtest.json").read_text())["data"]))
        folds = forecasts["fold"].nunique()
        shape = (folds, H)
        actual = forecasts["actual"].to_numpy().reshape(shape)
        network = forecasts["model"].to_numpy().reshape(shape)
        base = float(np.abs(forecasts["seasonal_naive"].to_numpy().reshape(shape) - actual).mean())
        prep = json.loads((run / "preprocessing.json").read_text())
        theta = dict(np.load(run / "peers.npz"))["AutoTheta"]
        floor = (prep.get("floor") or [None])[0]
        if floor is not None:
            theta = np.maximum(theta, floor)
        origins = pd.to_datetime(forecasts.drop_duplicates("fold")["origin"]) if "time" in forecasts else None
        result = {"item": row["item"], "folds": folds, "horizon": H, "rows": n_rows, "short": n_rows < SHORT_ROWS,
                  "reference": row["relative_mae"]["model+ETS+Theta" if n_rows < SHORT_ROWS else "model"],
                  "run": str(run)}
        if origins is not None and folds > 1:
            steps = forecasts["time"].iloc[:H]
            width = pd.to_datetime(steps.iloc[-1]) - pd.to_datetime(steps.iloc[0])
            result["stride_is_horizon"] = bool((origins.diff().dropna() > width).all())
        options = {"network": network, "mean": (network + theta) / 2, "theta": theta}
        for windows, found in ratios.items():
            value = result["reference"] if result["short"] else float(
                np.abs(recent_choice_forecast(options, actual, windows) - actual).mean()) / base
            result[f"last_{windows}"] = round(value, 4)
            found.append(value / result["reference"])
        print(json.dumps(result), flush=True)
        with open(log, "a") as handle:
            handle.write(json.dumps(result) + "\n")
    for windows, found in ratios.items():
        label = "the rule" if windows == RECENT_WINDOWS else "information only"
        print(f"last {windows} windows ({label}): geometric mean ratio {_geometric_mean(found):.4f} over "
              f"{len(found)} series (the bar: 0.986)")


def combine(out: Path, only: list[str] | None) -> None:
    """Round 15: each panel's combination chosen on its holdout run's validation windows, scored on the holdout.

    Reads what `holdout --out OUT` (the defaults) left: the training file, the final model's forecasts and the
    peers' fits. The choice is round 13's (validation_score with combine); one JSON line per panel in
    OUT/combine.jsonl, and the round's rule at the end.
    """
    import yaml

    folder, rows = out / "holdout", []
    for entry in collection.PANELS:
        name, H, season = entry["name"], entry["horizon"], entry["season"]
        if only and name not in only:
            continue
        raw = yaml.safe_load((folder / f"{name}.yaml").read_text())
        chosen = validation_score(raw, combine=True)["chosen_on_all"]
        weights = dict(zip(("model", "AutoETS", "AutoTheta"), COMBINATIONS[chosen]))
        joined, mean_mase = _holdout_forecasts(name, H, season, out, "defaults")
        joined["combined"] = sum(w * joined[k] for k, w in weights.items())
        mase = {forecaster: mean_mase(joined, forecaster) for forecaster in ("model", "combined", "AutoETS", "AutoTheta")}
        row = {"item": name, "chosen": chosen, "mean_mase": {k: round(v, 4) for k, v in mase.items()},
               "ratio": mase["combined"] / mase["model"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(out / "combine.jsonl", "a") as handle:
            handle.write(json.dumps(row) + "\n")
    if len(rows) == len(collection.PANELS):
        ratio = float(np.exp(np.mean([np.log(r["ratio"]) for r in rows])))
        print(f"geometric mean ratio over the panels {ratio:.4f} (needs <= {0.99 ** (14 / 4):.4f}):",
              "build model.combine" if ratio <= 0.99 ** (14 / 4) else "no change")


def _holdout_forecasts(name: str, H: int, season: int, out: Path, label: str) -> tuple[pd.DataFrame, Callable]:
    """A `holdout` run's forecasts joined on the held-back points (id, step, actual, model, AutoETS, AutoTheta), and
    the mean MASE of one of its columns. A series the network did not forecast gets its last value, as in `holdout`."""
    import peers

    folder = out / "holdout"
    train, test = _holdout_split(name, H, out)
    ours = pd.read_csv(folder / f"{name}-forecast-{label}.csv").rename(columns={"value": "forecast"})
    ours = ours.assign(step=ours.groupby("id").cumcount() + 1)[["id", "step", "forecast"]]
    found = {"model": ours, **pd.read_pickle(folder / f"{name}-peers.pkl")}
    joined = test
    for forecaster in ("model", "AutoETS", "AutoTheta"):
        joined = joined.merge(found[forecaster].rename(columns={"forecast": forecaster}), on=["id", "step"], how="left")
    joined["short"] = joined["model"].isna()  # not forecast by the network: fewer rows than one input window
    joined["model"] = joined["model"].fillna(joined["id"].map(train.groupby("id")["value"].last()))
    history = {key: group["value"].to_numpy() for key, group in train.groupby("id")}

    def mean_mase(frame: pd.DataFrame, column: str) -> float:
        return float(frame.groupby("id").apply(
            lambda g: peers.mase(g["actual"], g[column], history[g.name], season), include_groups=False).mean())

    return joined, mean_mase


def _offline_round(out: Path, only: list[str] | None, log_name: str, score: Callable) -> list[dict]:
    """Each development panel's row of a round scored offline from what `holdout --out OUT --set
    model.combine=none` left (the network alone and the peers on the same rows), logged to OUT/`log_name`.

    `score(joined, mean_mase)` gives the row's fields (see _holdout_forecasts)."""
    rows = []
    for entry in collection.PANELS:
        name, H, season = entry["name"], entry["horizon"], entry["season"]
        if only and name not in only:
            continue
        row = {"item": name, **score(*_holdout_forecasts(name, H, season, out, "model-combine-none"))}
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(out / log_name, "a") as handle:
            handle.write(json.dumps(row) + "\n")
    return rows


def median(out: Path, only: list[str] | None) -> None:
    """Round 25: a panel's network, AutoETS and AutoTheta combined by their median against their mean (the thirds)."""
    def score(joined: pd.DataFrame, mean_mase: Callable) -> dict:
        three = joined[["model", "AutoETS", "AutoTheta"]]
        joined["thirds"], joined["median"] = three.mean(axis=1), three.median(axis=1)
        scores = {c: round(mean_mase(joined, c), 4) for c in ("model", "thirds", "median", "AutoETS", "AutoTheta")}
        return {"mean_mase": scores, "ratio": scores["median"] / scores["thirds"]}

    rows = _offline_round(out, only, "median.jsonl", score)
    if len(rows) == len(collection.PANELS):
        ratio = _geometric_mean([r["ratio"] for r in rows])
        print(f"geometric mean ratio median/thirds over the panels {ratio:.4f} (needs <= {0.99 ** (14 / 4):.4f}):",
              "adopt the median" if ratio <= 0.99 ** (14 / 4) else "no change")


def short_panel(out: Path, only: list[str] | None) -> None:
    """Round 26: a panel's series too short for the network forecast by the mean of AutoETS and AutoTheta, against
    the naive fill (the series left out of `predict`); every other series the thirds in both."""
    def score(joined: pd.DataFrame, mean_mase: Callable) -> dict:
        thirds = joined[["model", "AutoETS", "AutoTheta"]].mean(axis=1)
        joined["reference"] = thirds.where(~joined["short"], joined["model"])  # the naive fill where short
        joined["candidate"] = thirds.where(~joined["short"], joined[["AutoETS", "AutoTheta"]].mean(axis=1))
        scores = {c: round(mean_mase(joined, c), 4) for c in ("reference", "candidate", "AutoETS", "AutoTheta")}
        return {"short_series": int(joined.loc[joined["short"], "id"].nunique()), "mean_mase": scores,
                "ratio": scores["candidate"] / scores["reference"]}

    rows = _offline_round(out, only, "short-panel.jsonl", score)
    if len(rows) == len(collection.PANELS):
        ratio = _geometric_mean([r["ratio"] for r in rows])
        print(f"geometric mean ratio over the panels {ratio:.4f} (adopted unless above 1.0):",
              "adopt" if ratio <= 1.0 else "no change")


def short_intervals(out: Path) -> None:
    """Round 26's intervals: the 80% interval of each short series (too short for the network) from the two models'
    mean offsets or their wider side, pooled coverage of the held-back points of the four panels' holdout."""
    from rnnforecast.forecasting import classical

    inside: dict[str, list] = {"mean": [], "wider": []}
    panels = {}
    for entry in collection.PANELS:
        name, H, season = entry["name"], entry["horizon"], entry["season"]
        joined, _ = _holdout_forecasts(name, H, season, out, "model-combine-none")
        train, test = _holdout_split(name, H, out)
        first = {sides: len(found) for sides, found in inside.items()}
        for key in joined.loc[joined["short"], "id"].unique():
            history = train.loc[train["id"] == key, "value"].to_numpy()[:, None]
            actual = test.loc[test["id"] == key, "actual"].to_numpy()
            for sides, found in inside.items():
                bands = classical.mean_with_quantiles(history, H, season, [0.1, 0.9], sides)[1][:, 0, :]
                found.extend((actual >= bands[:, 0]) & (actual <= bands[:, 1]))
        panels[name] = {sides: round(float(np.mean(found[first[sides]:])), 4) for sides, found in inside.items()}
    coverage = {sides: round(float(np.mean(found)), 4) for sides, found in inside.items()}
    row = {"item": "short-series intervals", "points": len(inside["mean"]), "coverage_80": coverage, "panels": panels}
    print(json.dumps(row))
    with open(out / "short-intervals.jsonl", "a") as handle:
        handle.write(json.dumps(row) + "\n")
    best = min(coverage, key=lambda sides: (abs(coverage[sides] - 0.8), sides != "mean"))
    print(f"closer to 0.80: {best}")


def neuralforecast(out: Path, python: Path, only: list[str] | None) -> None:
    """NeuralForecast's LSTM (its defaults) on the same origins as each `report` row; appended to OUT/nf.jsonl.

    It lives in its own virtual environment (benchmarks/requirements-neuralforecast.txt), so it runs
    as a subprocess of benchmarks/nf_peer.py; it reads the series and origins `report` used.
    """
    import peers

    log = out / "nf.jsonl"
    done = {row[0] for row in _done(log)}
    script = ROOT / "benchmarks" / "nf_peer.py"
    work = out / "nf"
    work.mkdir(exist_ok=True)
    for row in map(json.loads, (out / "report.jsonl").read_text().splitlines()):
        name = row["item"]
        if name in done or (only and name not in only):
            continue
        run = Path(row["run"])
        H = row["horizon"]
        started = time.perf_counter()
        if "relative_mae" in row:
            from rnnforecast import config as config_module
            from rnnforecast import data

            series = data.load_series(config_module.load_config(run / "config.yaml").data)
            target = series.targets[0]
            forecasts = pd.read_csv(run / "forecasts.csv")
            origins = _origin_rows(series.index, forecasts.drop_duplicates("fold")["origin"])
            series.frame[[target]].rename(columns={target: "y"}).to_csv(work / f"{name}.csv", index=False)
            np.savetxt(work / f"{name}-origins.txt", origins, fmt="%d")
            subprocess.run([str(python), str(script), "origins", "--csv", str(work / f"{name}.csv"), "--column", "y",
                            "--origins", str(work / f"{name}-origins.txt"), "--horizon", str(H),
                            "--out", str(work / f"{name}.npy")], check=True, capture_output=True)
            actual = forecasts["actual"].to_numpy().reshape(len(origins), H)
            snaive = forecasts["seasonal_naive"].to_numpy().reshape(len(origins), H)
            nf = np.load(work / f"{name}.npy")
            result = {"relative_mae": round(float(np.abs(nf - actual).mean() / np.abs(snaive - actual).mean()), 4)}
        else:
            train_file = out / "data" / f"{name}-train.csv"
            subprocess.run([str(python), str(script), "panel", "--train", str(train_file), "--horizon", str(H),
                            "--out", str(work / f"{name}.csv")], check=True, capture_output=True)
            test = pd.read_csv(out / "data" / f"{name}-test.csv")
            result = {"mean_mase": round(float(peers.mean_mase(test, pd.read_csv(work / f"{name}.csv"),
                                                               pd.read_csv(train_file), row["season"])), 4)}
        result = {"item": name, "candidate": "neuralforecast-lstm", "seconds": round(time.perf_counter() - started, 1),
                  **result}
        print(json.dumps(result), flush=True)
        with open(log, "a") as handle:
            handle.write(json.dumps(result) + "\n")


def summarize_report(log: Path) -> None:
    for row in map(json.loads, log.read_text().splitlines()):
        scores = row.get("relative_mae") or row.get("mean_mase")
        kind = "rel. MAE" if "relative_mae" in row else "mean MASE"
        cells = "  ".join(f"{k} {v:.3f}" for k, v in scores.items())
        print(f"{row['item']:24s} {kind:9s} {cells}   ({row['seconds']} s)")


def refit_map(out: Path, only) -> None:
    """The fitted linear map frozen at the backtest's start against the same map refitted before every origin.

    Offline, on `holdout-single`'s configs (each single series' first 85%, its last 15% at stride H): on the items where
    no epoch beats the fitted start the final model is this map, and AutoTheta, which leads there on the test periods,
    is refitted before every origin. The refit adds each newly observed window to the normal equations and solves
    with the honest fit's shrinkage. One JSON line per item in OUT/refit-map.jsonl: MAE relative to seasonal naive's.
    """
    import yaml

    from rnnforecast import config as config_module, training
    from rnnforecast.models.layers import seasonal_naive_map
    from rnnforecast.training import linear_start

    log = out / "refit-map.jsonl"
    log.unlink(missing_ok=True)
    ratios = []
    for path in sorted((out / "holdout-single").glob("*.yaml")):
        if only and path.stem not in only:
            continue
        config = config_module.validate(yaml.safe_load(path.read_text()))
        prepared = training.prepare_data(config)  # sets the derived look-back in the config
        L, H, season = config.window.input_length, config.window.horizon, prepared.prep["season_length"]
        values, bounds = prepared.values, prepared.bounds
        _, weight = linear_start.fitted_map(values, prepared.starts["train"], prepared.starts["val"], config, season)
        before = np.arange(0, bounds.val_end - L - H + 1)  # every window whose targets precede the backtest
        frozen, _ = linear_start.fitted_map(values, before, np.empty(0, dtype=np.int64), config, season, weight)
        prior = np.vstack([seasonal_naive_map(L, H, season), np.zeros((1, H))])
        gram, cross, rows = linear_start._normal_equations(values, before, config)
        energy = max(np.trace(gram[:L, :L]) / max(rows, 1) / L, 1e-12)
        errors, seen = {"frozen": 0.0, "refit": 0.0, "seasonal_naive": 0.0}, before[-1] + 1
        origins = np.arange(bounds.val_end, bounds.test_end - H + 1, H)
        for origin in origins:
            new = np.arange(seen, origin - L - H + 1)  # windows observed by this origin, not yet in the sums
            if len(new):
                extra_gram, extra_cross, _ = linear_start._normal_equations(values, new, config)
                gram, cross, seen = gram + extra_gram, cross + extra_cross, new[-1] + 1
            refit = linear_start._solve(gram, cross, prior, weight * energy)
            x, y = next(linear_start._design(values, np.array([origin - L]), config, 1))
            for name, solution in (("frozen", frozen), ("refit", refit), ("seasonal_naive", prior)):
                errors[name] += float(np.abs(x @ solution - y).sum())
        result = {"item": path.stem, "folds": len(origins), "shrinkage": weight,
                  **{name: round(errors[name] / errors["seasonal_naive"], 4) for name in ("frozen", "refit")}}
        ratios.append(errors["refit"] / errors["frozen"])
        print(json.dumps(result), flush=True)
        with log.open("a") as handle:
            handle.write(json.dumps(result) + "\n")
    print(f"geometric mean refit / frozen: {float(np.exp(np.mean(np.log(ratios)))):.4f}")


def naive_choice(out: Path, data_dir: Path | None, only) -> None:
    """Round 31 in closed form: the fitted start's choice on each item's validation windows without and with NAIVE.

    An item whose choice does not change trains as it did (the same start, seed and data). One JSON line per item in
    OUT/naive-choice.jsonl: the choice each way and the validation error of NAIVE relative to the reference's choice.
    """
    import math

    from rnnforecast import config as config_module, training
    from rnnforecast.models.layers import seasonal_naive_map
    from rnnforecast.training import linear_start

    log = out / "naive-choice.jsonl"
    log.unlink(missing_ok=True)
    changed = []
    for item in items(out, data_dir):
        if only and item["name"] not in only:
            continue
        config = config_module.validate(minimal_config(item["path"], item["target"], item["horizon"], item["panel"],
                                                       out / "runs"))
        prepared = training.prepare_data(config)  # sets the derived look-back in the config
        season, starts = int(prepared.prep["season_length"]), prepared.starts
        found = {}
        for with_naive in (False, True):
            linear_start.CHOOSE_NAIVE = with_naive
            try:
                found[with_naive] = linear_start.fitted_map(prepared.values, starts["train"], starts["val"], config,
                                                            season)
            finally:
                linear_start.CHOOSE_NAIVE = True
        L, H = config.window.input_length, config.window.horizon
        naive = np.vstack([seasonal_naive_map(L, H, 1), np.zeros((1, H))])
        errors = {"reference": 0.0, "naive": 0.0}
        for x, y in linear_start._design(prepared.values, starts["val"], config, linear_start.MAX_WINDOWS // 5):
            errors["reference"] += float(np.abs(x @ found[False][0] - y).sum())
            errors["naive"] += float(np.abs(x @ naive - y).sum())
        name = lambda w: w if isinstance(w, str) else ("inf" if math.isinf(w) else w)  # noqa: E731
        result = {"item": item["name"], "season": season, "input_length": L, "reference_choice": name(found[False][1]),
                  "candidate_choice": name(found[True][1]),
                  "naive_over_reference": round(errors["naive"] / max(errors["reference"], 1e-12), 4)}
        if result["reference_choice"] != result["candidate_choice"]:
            changed.append(item["name"])
        print(json.dumps(result), flush=True)
        with log.open("a") as handle:
            handle.write(json.dumps(result) + "\n")
    print(f"choice changed on: {', '.join(changed) or 'no item'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = ("select", "report", "holdout", "holdout-single", "mixes-single", "recent-choice", "refit-map", "naive-choice", "short-single", "mid-single", "median", "short-panel", "short-intervals",
             "combine", "neuralforecast", "summary")
    parser.add_argument("step", choices=steps)
    parser.add_argument("--every", type=int, default=20, help="short-single: every N-th series of each panel")
    parser.add_argument("--offset", type=int, default=0, help="short-single: the first series taken (0: the first)")
    parser.add_argument("--nf-python", type=Path, default=Path("/work/nf-venv/bin/python"),
                        help="neuralforecast: the python of the venv of benchmarks/requirements-neuralforecast.txt")
    parser.add_argument("--out", type=Path, default=Path("/tmp/rnnforecast-defaults"))
    parser.add_argument("--data-dir", type=Path, default=None, help="the shared data sets (default ../shared/data)")
    parser.add_argument("--only", nargs="*", help="items of the collection to run (default all)")
    parser.add_argument("--round", type=int, choices=sorted(ROUNDS), default=1, help="select: the round of candidates")
    parser.add_argument("--before", action="store_true", help="select: also score the old defaults (reference)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="holdout, holdout-single, report: a config override for the minimal config, e.g. "
                        "training.seed=1 (repeatable)")
    parser.add_argument("--held-out", action="store_true", help="report: also Tourism monthly (never for choosing)")
    parser.add_argument("--reuse-peers", type=Path, default=None,
                        help="report: a previous report's --out or its report.jsonl (benchmarks/defaults-report.jsonl "
                        "keeps the last recorded one); its peers' scores are reused for an item whose "
                        "forecast origins are the same (they are refitted otherwise)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.step == "select":
        select(args.out, args.data_dir, args.only, args.before, args.round)
    elif args.step == "report":
        report(args.out, args.data_dir, args.only, args.held_out, args.reuse_peers, tuple(args.overrides))
    elif args.step == "holdout":
        holdout(args.out, args.only, args.overrides)
    elif args.step == "holdout-single":
        holdout_single(args.out, args.data_dir, args.only, args.overrides)
    elif args.step == "mixes-single":
        mixes_single(args.out)
    elif args.step == "recent-choice":
        recent_choice(args.out)
    elif args.step == "refit-map":
        refit_map(args.out, args.only)
    elif args.step == "naive-choice":
        naive_choice(args.out, args.data_dir, args.only)
    elif args.step == "short-single":
        short_single(args.out, args.every, args.overrides, args.offset)
    elif args.step == "mid-single":
        mid_single(args.out, args.data_dir, args.only, args.overrides)
    elif args.step == "short-intervals":
        short_intervals(args.out)
    elif args.step == "short-panel":
        short_panel(args.out, args.only)
    elif args.step == "median":
        median(args.out, args.only)
    elif args.step == "combine":
        combine(args.out, args.only)
    elif args.step == "neuralforecast":
        neuralforecast(args.out, args.nf_python, args.only)
    else:
        summarize_select(args.out / "select.jsonl", args.round)
        if (args.out / "report.jsonl").is_file():
            summarize_report(args.out / "report.jsonl")


if __name__ == "__main__":
    main()
