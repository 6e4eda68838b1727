"""Scoring: the one scorer (data and scaled units) used by evaluate, backtest and tune; panel aggregates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import data, intervals, metrics
from rnnforecast.errors import UserError
from rnnforecast.forecasting import classical, combination
from rnnforecast.forecasting.calibration import calibrated, calibrated_panel
from rnnforecast.forecasting.inference import (
    Prepared, load_panel_of, prepare, prepare_panel, reading_notes, test_forecasts, window_forecasts,
)
from rnnforecast.runs import Run


def score_forecasts(actual: np.ndarray, forecasts: dict[str, np.ndarray], prep: dict) -> dict:
    """Every forecaster scored in the data's units and in scaled units: the one scorer of evaluate, backtest and tune.

    Args:
        actual: (windows, horizon, targets) observed values, in the data's units; NaN where the file had none
            (a filled gap), which no metric counts.
        forecasts: forecaster name -> array shaped like `actual`, in the data's units; each is kept at or
            above the targets' floors (data.floor) first, as `predict` writes it.
        prep: the fitted preprocessing of the series (its `center`, `scale`, `mase_scale` and `floor`).

    Returns:
        {"original": {name: metrics.score(...)}, "scaled": {name: metrics.score(...)}}; scaled units are
        the training scaler's, so that targets of different sizes weigh alike. With several targets,
        each forecaster's "original" entry also has "per_target": {target: overall scores of that
        target alone}, in its own units (MAPE decided per target: one that takes both signs leaves
        the other's defined).
    """
    n = actual.shape[-1]
    unit = np.asarray(prep["scale"][:n])
    center = np.asarray(prep["center"][:n])
    mase_scale = np.asarray(prep["mase_scale"])
    actual_scaled = (actual - center) / unit
    report = {"original": {}, "scaled": {}}
    for name, forecast in forecasts.items():
        forecast = data.floored(forecast, prep)
        report["original"][name] = metrics.score(actual, forecast, mase_scale)
        report["scaled"][name] = metrics.score(actual_scaled, (forecast - center) / unit, mase_scale / unit)
        if n > 1:
            report["original"][name]["per_target"] = {
                target: metrics.score(actual[..., [t]], forecast[..., [t]], mase_scale[[t]])["overall"]
                for t, target in enumerate(prep["targets"][:n])
            }
    return report


def evaluate(prepared: Prepared, model=None, with_classical: bool = False, fitted: dict | None = None,
             calibration: dict | None = None) -> dict:
    """Model and baselines scored on the test windows, in data units and in scaled units.

    With the run's calibration, each forecaster's quantiles are scored too: pinball
    loss, and the coverage and mean width of each central interval. `with_classical`:
    AutoETS and AutoTheta (statsforecast) are scored beside them, point forecasts only
    (`fitted`: their forecasts of the test windows, already made by `classical_job`'s job).
    A panel's series (`calibration`: the panel's pooled one) has the model's intervals scored
    in its scaled units, so that the series' scores can be averaged.
    """
    run = prepared.run
    model = model or run.load_model()
    result = test_forecasts(prepared, model)
    if not result.observed.any():
        raise UserError(
            f"no target value of the test period of {prepared.series.label} ({prepared.series.index[result.origins[0]]} "
            f"on) is in the file: every one was missing and filled, so there is nothing to score. Give data whose "
            "test period has values (--data), or move the split (data.split)."
        )
    index = prepared.series.index
    point = dict(result.forecasts)
    if with_classical:
        point |= fitted or classical.forecasts_many([classical_job(prepared)])[0]
        mix = combination.weights(run)
        if mix is not None:  # what `predict` forecasts: the network averaged with the classical models
            point["combined"] = mix[0] * point["model"] + mix[1] * point["AutoETS"] + mix[2] * point["AutoTheta"]
    report = {
        "run": str(run.path),
        "data": str(prepared.series.path),
        "targets": run.prep["targets"],
        "windows": int(len(result.origins)),
        "horizon": run.config.window.horizon,
        "season_length": int(run.prep["season_length"]),
        "period": [data.time_text(index[result.origins[0]], prepared.series.years),  # `year,value`: 2002, as written
                   data.time_text(index[result.origins[-1] + run.config.window.horizon - 1], prepared.series.years)],
        **score_forecasts(result.scored, point, run.prep),
    }
    if with_classical:
        report["classical"] = classical.DESCRIPTION
    if not run.config.data.id_column:
        calibration = calibrated(run, model)
        report["quantiles"] = calibration["quantiles"]
        report["calibration"] = {key: calibration.get(key) for key in ("method", "window", "gamma", "floor")}
        report["intervals"] = intervals.interval_scores(
            result.actual, result.for_intervals(), calibration, result.spread, result.origins, run.prep.get("floor"),
            result.observed,
        )
    elif calibration is not None:
        report["intervals"] = _scaled_interval_scores(result, calibration, run.prep)
    return report


def _scaled_interval_scores(result, calibration: dict, prep: dict) -> dict:
    """A panel series' model intervals (the pooled split calibration) scored in its scaled units."""
    n = len(prep["targets"])
    center, unit = np.asarray(prep["center"][:n]), np.asarray(prep["scale"][:n])
    model = result.for_intervals()["model"]
    own = model.ndim > result.actual.ndim  # a quantile model's own quantiles, the last axis
    model = (model - center[:, None]) / unit[:, None] if own else (model - center) / unit
    return intervals.interval_scores((result.actual - center) / unit, {"model": model}, calibration,
                                     result.spread / unit, floor=data.scaled_floors(prep, n),
                                     observed=result.observed)["model"]


def test_path(prepared: Prepared, model=None) -> pd.DataFrame:
    """Non-overlapping forecasts across the test period (one every `horizon` steps), for the plot.

    The rows after the last whole horizon come from one more window, the one that ends on the test period's last
    row (each row keeps its first forecast), so that the line reaches the end of the data.
    """
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    starts = data.window_starts(prepared.valid, L, H, prepared.test_lo, prepared.test_hi, H)
    last = prepared.test_hi - L - H
    if len(starts) and starts[-1] < last and prepared.valid[last : prepared.test_hi].all():
        starts = np.append(starts, last)
    if not len(starts):
        test_forecasts(prepared, model, stride=H)  # says why there is none
    result = window_forecasts(prepared, starts, model)
    rows = (result.origins[:, None] + np.arange(H)).ravel()
    targets = run.prep["targets"]
    forecast = data.floored(result.forecasts["model"], run.prep).reshape(-1, len(targets))
    path = pd.DataFrame(forecast, index=prepared.series.index[rows], columns=targets)
    return path[~path.index.duplicated(keep="first")]


def filled_targets_note(series, lo: int, hi: int, missing: str, where: str) -> list[str]:
    """A note when target cells of rows [lo, hi) were missing in the file: they are filled, and left out of the scores.

    Under data.missing: drop no window holds a gap, so there is nothing to say.
    """
    count, size = filled_targets(series, lo, hi)
    if not count or missing == "drop":
        return []
    return [f"{count} of the {size} target values of {where} were missing in {series.label}: they are filled "
            f"(data.missing: {missing}) so that windows can be read across them, and left out of every score."]


def filled_targets(series, lo: int, hi: int) -> tuple[int, int]:
    """(missing, all) target cells of rows [lo, hi) of a series."""
    cells = series.frame[series.targets].iloc[lo:hi]
    return int(cells.isna().to_numpy().sum()), int(cells.size)


def evaluate_run(run: Run, data_path: Path | None = None, with_classical: bool | None = None) -> dict:
    """The evaluate report: one series, or every series of a panel with the aggregate over them.

    `with_classical`: score AutoETS and AutoTheta too (True), not (False), or when statsforecast
    is installed and the panel is not too large for a fit per series (None).
    """
    model = run.load_model()
    with_classical = classical.wanted(with_classical, len(run.prep["series"]) if run.is_panel else 1)
    if not run.is_panel:
        prepared = prepare(run, data_path)
        notes = reading_notes([prepared.series], data_path) + filled_targets_note(
            prepared.series, prepared.test_lo, prepared.test_hi, run.config.data.missing, "the test period")
        return evaluate(prepared, model, with_classical) | ({"notes": notes} if notes else {})
    notes: list[str] = []
    reports = series_reports(run, data_path, None, model, with_classical=with_classical, notes=notes)
    if not reports:
        raise UserError(f"no series in {run.path.name}'s data has a complete test window to score.")
    return panel_report(run, reports) | ({"notes": notes} if notes else {})


def series_reports(run: Run, data_path: Path | None, only: list[str] | None, model, panel: dict | None = None,
                   with_classical: bool = False, notes: list[str] | None = None) -> dict:
    """Each series' evaluate report (those with a complete test window), keyed by id; `panel`: the data, read.

    `notes` gets a line for each kind of series left out (new in newer data, too short), for the user.
    With `with_classical`, every series' AutoETS and AutoTheta are fitted first, together (over the cores).
    """
    reports = {}
    panel = load_panel_of(run, data_path) if panel is None else panel
    prepared = prepare_panel(run, data_path, only, panel=panel, notes=notes)
    jobs = {key: classical_job(one) for key, one in prepared.items()}
    # The others have no complete test window, or not one value observed in it (every target filled).
    scored = [key for key, job in jobs.items() if len(job.origins) and _observed_in(prepared[key], job)]
    fits = dict(zip(scored, classical.forecasts_many([jobs[key] for key in scored],
                                                     "(--no-classical skips them)"))) if with_classical else {}
    calibration = calibrated_panel(run, model) if scored else None
    for key in scored:
        reports[key] = evaluate(prepared[key], model, with_classical, fits.get(key), calibration)
    filled = [filled_targets(prepared[key].series, prepared[key].test_lo, prepared[key].test_hi) for key in scored]
    if notes is not None and sum(count for count, _ in filled) and run.config.data.missing != "drop":
        notes.append(f"{sum(count for count, _ in filled)} of the {sum(size for _, size in filled)} target values of "
                     f"the scored series' test periods were missing in the file: they are filled "
                     f"(data.missing: {run.config.data.missing}) so that windows can be read across them, and left "
                     "out of every score.")
    if notes is not None and only is None:  # 28 of 30 series scored: say which two, and why
        empty = set(getattr(panel, "empty", []))  # prepare_panel has noted those
        left = [key for key in prepared if key not in reports]
        left += [key for key in run.prep.get("skipped", []) if key not in empty] if data_path is None else []
        if left:
            notes.append(f"{len(left)} series have no complete test window, or no value in it, and are not scored "
                         f"(too short for the split, every test value missing, or left out in training as its notes "
                         f"say): {data.id_examples(left)}")
    return reports


def _observed_in(prepared: Prepared, job: classical.Job) -> bool:
    """Whether a series' test windows hold at least one target value the file gave."""
    H = prepared.run.config.window.horizon
    return bool((~np.isnan(prepared.truth[job.origins[:, None] + np.arange(H)])).any())


def classical_job(prepared: Prepared) -> classical.Job:
    """AutoETS's and AutoTheta's fits for the test windows `evaluate` scores: fitted on the rows before them."""
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    starts = data.window_starts(prepared.valid, L, H, prepared.test_lo, prepared.test_hi)
    history = data.unscale(prepared.values[:, : prepared.n_targets], run.prep)
    return classical.Job(history, starts + L, H, int(run.prep["season_length"]), prepared.test_lo)


def panel_report(run: Run, reports: dict[str, dict]) -> dict:
    """Per-series scores and their mean and median, so that large series do not drown small ones."""
    first = next(iter(reports.values()))
    return {
        "run": str(run.path),
        "id_column": run.prep["id_column"],
        "targets": run.prep["targets"],
        "horizon": run.config.window.horizon,
        "season_length": int(run.prep["season_length"]),
        **panel_summary(reports),
        **({"classical": first["classical"]} if "classical" in first else {}),
    } | ({"quantiles": intervals.load(run)["quantiles"]} if "intervals" in first else {})


def panel_summary(reports: dict[str, dict]) -> dict:
    """From one evaluate-shaped report per series: each series' MASE, sMAPE, MAE and scaled MAE, and their mean and median."""
    first = next(iter(reports.values()))
    def scores(r: dict, name: str) -> dict:
        o = r["original"][name]
        found = {"mase": o["overall"]["mase"], "smape": o["overall"]["smape"], "mae": o["overall"]["mae"],
                 "scaled_mae": r["scaled"][name]["overall"]["mae"]}
        if "per_target" in o:  # several targets: each one's scores in its own units
            found["per_target"] = {target: {k: t[k] for k in ("mase", "smape", "mae")}
                                   for target, t in o["per_target"].items()}
        return found

    per_series = {key: {name: scores(r, name) for name in r["original"]} | {"windows": r["windows"]}
                  for key, r in reports.items()}
    aggregate = {}
    for name in first["original"]:
        aggregate[name] = _mean_and_median([{k: v for k, v in s[name].items() if k != "per_target"}
                                            for s in per_series.values()])
        if "per_target" in first["original"][name]:
            aggregate[name]["per_target"] = {
                target: _mean_and_median([s[name]["per_target"][target] for s in per_series.values()])
                for target in first["original"][name]["per_target"]
            }
    summary = {
        "series_scored": len(reports),
        "windows": int(sum(r["windows"] for r in reports.values())),
        "aggregate": aggregate,
        "series": per_series,
    }
    if "intervals" in first:  # the model's calibrated intervals, each series in its scaled units
        for key, r in reports.items():
            per_series[key]["intervals"] = r["intervals"]
        summary["intervals"] = interval_summary([r["intervals"] for r in reports.values()])
    return summary


def _mean_and_median(rows: list[dict]) -> dict:
    """{"mean": {score: value}, "median": {...}} over the series; a series' undefined score (None: a constant
    series' MASE) is left out of both."""
    table = pd.DataFrame(rows).astype("float64")
    return {stat: {k: None if v != v else v for k, v in getattr(table, stat)().to_dict().items()}
            for stat in ("mean", "median")}


def interval_summary(found: list[dict]) -> dict:
    """Mean and median over the series of the scaled pinball loss and of each interval's coverage and width."""
    def stats(values):
        values = [v for v in values if v is not None]
        return {"mean": float(np.mean(values)), "median": float(np.median(values))} if values else None

    labels = list(found[0]["coverage"])
    return {
        "units": "scaled",
        "pinball": stats([f["pinball"] for f in found]),
        "coverage": {label: stats([f["coverage"][label] for f in found]) for label in labels},
        "width": {label: stats([f["width"][label] for f in found]) for label in labels},
    }
