"""Rolling-origin backtest: score a model at every forecast origin of the test period.

The model is trained once on the training split (validation for early stopping), then,
with training.refit (the default), refit on every window before the test period, as
`train`'s final model is; that model forecasts from every `stride`-th origin of the test
period, and each origin is one fold. No fold is scored by a model that saw its targets.
With `retrain_every=k`, a fresh model is trained before every k-th fold on all the
history before that fold: the training part grows, the validation part keeps its length
and ends at the fold's first origin, so no fold is scored by a model that saw its targets.
The preprocessing (fill values, scaler) stays the one fitted on the training split.

The run folder holds what `train` writes (of the last model trained) and:
    backtest.json       overall and per-step scores of the model and both baselines (and AutoETS and AutoTheta
                        when statsforecast is installed: forecasting.classical), data and scaled units; for a
                        panel, also model.combine's mix (`combined`, chosen as `train` chooses it)
    folds.csv           one row per fold: origin, the model used, MAE and RMSE of each forecaster
    forecasts.csv       every forecast of every fold: origin, step, time, target, actual and each forecaster's value,
                        then the calibrated quantiles of the model and both baselines (a panel: the model's)
    error_by_step.png   MAE by horizon step, model against the baselines (a panel: MASE, the mean over its series)
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import data, forecasting, intervals, plotting, runs, training
from rnnforecast.config import Config
from rnnforecast.errors import UserError

FORECASTERS = ("model", "naive", "seasonal_naive")  # with calibrated intervals; the classical ones have point forecasts


@dataclass
class Folds:
    """Every scored origin, the training that produced its forecast, and each forecaster's output (data units)."""

    origins: np.ndarray  # first forecast row of each fold
    trained_on: np.ndarray  # per fold: one past the last row whose target the model was trained or validated on
    actual: np.ndarray  # (folds, horizon, targets): the file's values; NaN where it had none (a filled gap: not scored)
    forecasts: dict[str, np.ndarray]


def backtest(
    config: Config,
    config_path: Path | None = None,
    stride: int | None = None,
    retrain_every: int | None = None,
    verbose: int | None = None,
    with_classical: bool | None = None,
) -> Path:
    """Train, forecast every test origin, score per fold and overall; return the run folder written.

    Args:
        stride: steps between forecast origins; default the horizon (folds do not overlap).
        retrain_every: train a fresh model before every this many folds; default never (train once).
        with_classical: score AutoETS and AutoTheta too, each fitted on what the model was trained
            on before the fold (True), not (False), or when statsforecast is installed (None).
    """
    started = datetime.now(timezone.utc)
    H = config.window.horizon
    for name, value in (("--stride", stride), ("--retrain-every", retrain_every)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be a positive whole number of steps; got {value}.")
    stride = stride or H
    if config.data.id_column:
        if retrain_every:
            raise UserError(
                "--retrain-every moves one series' training up to each fold; a panel (data.id_column) is backtested "
                "with one model trained once. Leave --retrain-every out, or backtest one series at a time."
            )
        return backtest_panel(config, config_path, stride, verbose, started, with_classical)
    with_classical = forecasting.classical.wanted(with_classical)
    prepared = training.prepare_data(config)
    L = config.window.input_length  # known now: derived from the data when the config leaves it out
    for note in prepared.series.notes:
        print(f"note: {note}", file=sys.stderr)
    _, valid = data.prepare(prepared.series, prepared.prep)
    starts = data.part_starts(valid, prepared.bounds, config.window, "test", stride)
    if len(starts) == 0:
        raise UserError(
            f"the test part of {prepared.series.path.name} has no complete window (input_length {L}, horizon {H}). "
            "Shorten the window or give the test part more rows (data.split)."
        )
    groups = [starts] if not retrain_every else [starts[i : i + retrain_every] for i in range(0, len(starts), retrain_every)]
    n_targets = len(prepared.series.targets)
    predicted, trained_on, history, model, bands = [], [], {}, None, []
    with training.replicated(config):  # several GPUs: every fold trains on all of them
        for i, group in enumerate(groups):
            fold_data = prepared if i == 0 else _rolled_forward(prepared, valid, config, first_origin=int(group[0]) + L)
            model = training.build(config, len(prepared.series.columns), prepared.prep["season_length"],
                                   train_windows=len(fold_data.starts["train"]))
            fitted = training.fit(model, fold_data, config, verbose)
            history = fitted.history
            before = data.window_starts(valid, L, H, 0, fold_data.bounds.val_end, config.window.stride)
            scored = deployed(model, fitted, replace(fold_data, starts={**fold_data.starts, "all": before}), config,
                              verbose)
            output = forecasting.predict_scaled(scored, prepared.values, group, L, H, data.n_known(config.data))
            predicted.append(forecasting.point_of(config.model.output.quantiles, output)[0])
            trained_on.append(np.full(len(group), fold_data.bounds.val_end))
            bands.append(_fold_bands(config, prepared, valid, fold_data.bounds, group, model, scored))
    truth = data.target_values(prepared.series, n_targets)
    folds = _with_baselines(prepared, truth, starts, np.concatenate(predicted), np.concatenate(trained_on), L, H,
                            with_classical)
    mix = _single_mix(config, prepared, groups, bands) if with_classical else None
    if mix is not None:  # what `predict` forecasts: the network mixed with the classical models, fold by fold
        weights = np.array([forecasting.combination.WEIGHTS[name] for name in mix["per_fold"]])[:, :, None, None]
        members = (folds.forecasts["model"], folds.forecasts["AutoETS"], folds.forecasts["AutoTheta"])
        folds.forecasts["combined"] = sum(weights[:, k] * member for k, member in enumerate(members))
    if np.isnan(folds.actual).all():
        raise UserError(
            f"no target value of the test part of {prepared.series.path.name} is in the file: every one was missing "
            "and filled, so there is nothing to score. Move the split (data.split) to a period with values."
        )
    report = score(folds, prepared, config)
    first = int(starts[0]) + L
    for note in forecasting.filled_targets_note(prepared.series, first, int(starts[-1]) + L + H, config.data.missing,
                                                "the folds") + _unscored_tail(prepared, int(starts[-1]) + L + H, stride):
        print(f"note: {note}", file=sys.stderr)
    if mix is not None:
        report["combination"] = {key: value for key, value in mix.items() if key != "per_fold"}
    report.update(_interval_report(config, prepared, folds, bands))
    report.update(stride=stride, retrain_every=retrain_every, trainings=len(groups), model_scored=_scored(config))
    if with_classical:
        report["classical"] = forecasting.classical.DESCRIPTION.replace("the test period", "each fold's training end")
    quantile_bands = {name: np.concatenate([group["bands"][name] for group in bands]) for name in FORECASTERS}
    tables = {"folds.csv": fold_table(folds, prepared),
              "forecasts.csv": forecast_table(folds, prepared, bands[0]["quantiles"], quantile_bands)}
    units = "original" if n_targets == 1 else "scaled"  # several targets: their units differ, the scaler's do not
    per_step = {n: report[units][n]["per_step"] for n in folds.forecasts}
    summary = {"folds": int(len(starts)), "stride": stride, "retrain_every": retrain_every,
               "model_scored": report["model_scored"]}
    # the folder keeps the last model trained: its split is that model's (evaluate and calibrate on the folder then
    # score and calibrate it on rows it was not fitted on), not the first fold's
    held = replace(prepared, prep={**prepared.prep, "train_end": int(fold_data.bounds.train_end),
                                   "val_end": int(fold_data.bounds.val_end)})
    return _write_run(config, config_path, held, model, history, report, tables, summary, started, per_step,
                      units="data units" if n_targets == 1 else "scaled units: each target in its training std")


def _unscored_tail(prepared: training.TrainingData, last: int, stride: int) -> list[str]:
    """A note when the last rows of the test part fall after the last fold (no origin left with a whole horizon)."""
    end = prepared.bounds.test_end
    if end <= last:
        return []
    first, final = (str(prepared.series.index[row]).removesuffix(" 00:00:00") for row in (last, end - 1))
    return [f"the last {end - last} row(s) of the test part ({first} to {final}) are not scored: an "
            f"origin {stride} step(s) after the last fold would need rows past them for its whole horizon. "
            "--stride 1 scores a window ending on every row."]


def deployed(model, fitted, fold_data: training.TrainingData, config: Config, verbose: int | None):
    """The model a user would forecast with at the test period's start, which the folds score.

    With training.refit (the default) it is the final model of `train`, refit on every
    window whose targets lie before the test period (`fold_data.starts["all"]`) for the
    honest fit's best epoch count: the test rows stay unseen, and the last validation
    rows, the nearest to the test period, are learned from (on the development series,
    benchmarks/DEFAULTS.md round 8, it forecast the next period better on 8 of 10). With
    refit off, the honest model itself.
    """
    if not config.training.refit or len(fold_data.starts["all"]) == 0:
        return model
    print("Training the final model on every window before the test period (training.refit).", file=sys.stderr)
    final, _ = training.refit(config, fold_data, fitted.history, fitted.best_epoch + 1, verbose,
                              fitted.highway_prior_windows)
    return final


def _single_mix(config: Config, prepared: training.TrainingData, groups: list, bands: list) -> dict | None:
    """model.combine's choice for one series, as `train` makes it, for every fold (each training's own check).

    A named mix (ets, theta, ets+theta) is every fold's. Under `auto`: the network averaged with AutoETS and AutoTheta for a short series, their mean where a
    fold's honest model is still its seasonal-naive start (forecasting.combination.single_choice); None
    where every fold keeps the network.
    """
    if config.model.combine == "none" or config.model.output.quantiles:
        return None
    rows = len(prepared.series.frame)
    if config.model.combine != "auto":  # a mix the user named: every fold's, as `train` and `predict` use it
        folds = sum(len(group) for group in groups)
        return {"chosen": config.model.combine, "setting": config.model.combine, "rows": rows,
                "short_rows": forecasting.combination.SHORT_ROWS, "folds": folds, "per_fold": [config.model.combine] * folds}
    covariates = forecasting.combination.reads_covariates(config)
    per_group = [forecasting.combination.single_choice(rows, found["at_start"], covariates) or "none" for found in bands]
    if all(name == "none" for name in per_group):
        return None
    per_fold = [name for group, name in zip(groups, per_group) for _ in group]
    chosen = next(name for name in per_group if name != "none")
    return {"chosen": chosen, "setting": "auto", "rows": rows, "short_rows": forecasting.combination.SHORT_ROWS,
            "folds": sum(name != "none" for name in per_fold),
            "per_fold": per_fold}


def _scored(config: Config) -> str:
    return "final (refit on every window before the test period)" if config.training.refit else "honest"


def _fold_bands(config: Config, prepared: training.TrainingData, valid, bounds: data.Bounds, group, model,
                scored=None) -> dict:
    """Each forecaster's calibrated quantiles (folds, horizon, targets, quantiles) for these folds, data units.

    Calibrated like `evaluate`: the scores of the honest model's validation windows (the
    `scored` final model has learned from them, so its own would be too narrow), then
    (rolling) those of `scored` on every window whose targets were all observed before the
    fold's origin.
    """
    scored = model if scored is None else scored
    L, H = config.window.input_length, config.window.horizon
    run = runs.Run(Path(config.run.dir), config, prepared.prep, {}, pd.DataFrame())
    view = forecasting.Prepared(run, prepared.series, prepared.values, valid, bounds.val_end, bounds.test_end)
    val = forecasting.window_forecasts(view, data.window_starts(valid, L, H, bounds.train_end, bounds.val_end), model)
    quantiles = config.model.output.quantiles or config.calibration.quantiles
    settings = config.calibration
    calibration = intervals.calibration(
        val.forecasts, val.actual, quantiles, val.model_quantiles, val.spread,
        settings.method, settings.window, settings.gamma, settings.floor,
    )
    folds = forecasting.window_forecasts(view, group, scored)
    seen = data.window_starts(valid, L, H, bounds.val_end, int(group[-1]) + L)  # targets before the last fold
    recent = forecasting.window_forecasts(view, seen, scored) if len(seen) else None
    out = {}
    for name, forecast in folds.for_intervals().items():
        base = calibration["bases"][name]
        pool = None if recent is None else intervals.scores(
            recent.for_intervals()[name], recent.actual, quantiles, base, recent.spread
        )
        shifts = intervals.offsets_at(calibration, name, folds.origins, H, pool, None if recent is None else recent.origins)
        out[name] = intervals.apply(forecast, shifts, base, folds.spread)
    settings_used = {
        "method": settings.method, "window": calibration["window"], "gamma": calibration["gamma"], "floor": calibration.get("floor")
    }
    at_start = forecasting.combination.start_check(val, prepared.prep)["at_start"]  # as `train` checks it
    return {"quantiles": quantiles, "calibration": settings_used, "bands": out, "at_start": at_start}


def _interval_report(config: Config, prepared: training.TrainingData, folds: Folds, groups: list[dict]) -> dict:
    """Pinball loss, coverage and mean width of every forecaster's calibrated intervals over the folds."""
    actual = folds.actual
    first = groups[0]
    found = {}
    for name in FORECASTERS:
        bands = np.concatenate([group["bands"][name] for group in groups])
        found[name] = intervals.band_scores(actual, bands, first["quantiles"], prepared.prep.get("floor"))
    return {
        "quantiles": first["quantiles"],
        "calibration": first["calibration"],
        "intervals": found,
    }


def _test_views(prepared: training.TrainingData, config: Config, trained: list, stride: int) -> dict:
    """{series: (its folds' window starts, its rows up to its test end)}, each series with a test fold, own rows."""
    L, H = config.window.input_length, config.window.horizon
    found = {}
    for key in trained:
        own, offset = prepared.prep["series"][key], prepared.offsets[key]
        rows = slice(offset, offset + own["test_end"])
        view = replace(prepared, prep=own, values=prepared.values[rows], valid=prepared.valid[rows])
        starts = data.window_starts(view.valid, L, H, own["val_end"], own["test_end"], stride)
        if len(starts):
            found[key] = (starts, view)
    return found


def _classical_job(prepared: training.TrainingData, origins: np.ndarray, n_targets: int, H: int, fitted_until):
    """AutoETS's and AutoTheta's fits for these origins of one series, in the data's units."""
    targets = data.unscale(prepared.values[:, :n_targets], prepared.prep)
    return forecasting.classical.Job(targets, origins, H, int(prepared.prep["season_length"]), fitted_until)


def _rolled_forward(prepared: training.TrainingData, valid: np.ndarray, config: Config, first_origin: int):
    """Training data moved up to `first_origin`: validation is the same length, ending just before it."""
    val_length = prepared.bounds.val_end - prepared.bounds.train_end
    bounds = data.Bounds(first_origin - val_length, first_origin, prepared.bounds.test_end)
    starts = {part: data.part_starts(valid, bounds, config.window, part) for part in ("train", "val")}
    starts["train"] = starts["train"][:: config.window.stride]
    return replace(prepared, bounds=bounds, starts=starts)


def _with_baselines(prepared, truth: np.ndarray, starts, model_scaled, trained_on, L, H, with_classical=False,
                    fitted: dict | None = None) -> Folds:
    """The baselines' forecasts (classical ones too, fitted where the model was) and the actual values, same origins,
    all in the data's units: the file's own values (`truth`, data.target_values), not their float32 round trip.

    `fitted`: AutoETS's and AutoTheta's forecasts (data units), when `with_classical` and already made.
    """
    n_targets = truth.shape[-1]
    targets = data.exact_targets(prepared.values, truth, prepared.prep)
    origins = starts + L
    baselines = forecasting.baseline_forecasts(targets, origins, H, int(prepared.prep["season_length"]))
    if with_classical:
        baselines |= fitted or forecasting.classical.forecasts_many(
            [_classical_job(prepared, origins, n_targets, H, trained_on)])[0]
    rows = origins[:, None] + np.arange(H)
    return Folds(origins, trained_on, truth[rows], {"model": data.unscale(model_scaled, prepared.prep), **baselines})


def score(folds: Folds, prepared: training.TrainingData, config: Config) -> dict:
    """Scores over every fold, in the data's units and in scaled units, shaped like `evaluate`'s report."""
    prep = prepared.prep
    H = config.window.horizon
    origins = folds.origins
    index = prepared.series.index
    report = {
        "data": str(prepared.series.path),
        "targets": prep["targets"],
        "windows": int(len(origins)),
        "horizon": H,
        "season_length": int(prep["season_length"]),
        "period": [str(index[origins[0]]), str(index[origins[-1] + H - 1])],
        **forecasting.score_forecasts(folds.actual, folds.forecasts, prep),
    }
    return report


def fold_table(folds: Folds, prepared: training.TrainingData) -> pd.DataFrame:
    """One row per fold: its first forecast step, the last row the model had seen, each forecaster's MAE and RMSE."""
    prep, index = prepared.prep, prepared.series.index
    table = pd.DataFrame({"fold": np.arange(1, len(folds.origins) + 1)})
    years = prepared.series.years  # `year,value` in: years out, to join back on the user's column
    table["origin"] = [data.time_text(index[row], years) for row in folds.origins]
    table["trained_until"] = [data.time_text(index[row - 1], years) for row in folds.trained_on]
    for name in folds.forecasts:
        err = data.floored(folds.forecasts[name], prep) - folds.actual
        table[f"{name}_mae"] = _fold_means(np.abs(err))
        table[f"{name}_rmse"] = np.sqrt(_fold_means(err**2))
    return table


def _fold_means(values: np.ndarray) -> np.ndarray:
    """Each fold's mean over its observed cells (NaN ones are filled gaps); NaN for a fold with none."""
    observed = ~np.isnan(values)
    count = observed.sum(axis=(1, 2))
    total = np.where(observed, values, 0.0).sum(axis=(1, 2))
    return np.divide(total, count, out=np.full(len(values), np.nan), where=count > 0)


def forecast_table(folds: Folds, prepared: training.TrainingData, quantiles: list[float] | None = None,
                   bands: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Every fold's forecasts in the data's units, one row per (fold, step, target), so any metric can be computed.

    `bands`: {forecaster: (folds, horizon, targets, quantiles)} calibrated quantiles in the data's units, written
    as `<forecaster>_q<level>` columns (as `predict` names its own), so interval scores can be computed too.
    """
    prep, index = prepared.prep, prepared.series.index
    n_folds, H, n_targets = folds.actual.shape
    rows = folds.origins[:, None] + np.arange(H)
    table = pd.DataFrame({
        "fold": np.repeat(np.arange(1, n_folds + 1), H * n_targets),
        "origin": np.repeat([data.time_text(index[row], prepared.series.years) for row in folds.origins], H * n_targets),
        "step": np.tile(np.repeat(np.arange(1, H + 1), n_targets), n_folds),
        "time": np.repeat([data.time_text(t, prepared.series.years) for t in index[rows.ravel()]], n_targets),
        "target": np.tile(prep["targets"], n_folds * H),
        "actual": folds.actual.ravel(),
    })
    for name in folds.forecasts:
        table[name] = data.floored(folds.forecasts[name], prep).ravel()
    for name, band in (bands or {}).items():
        for k, level in enumerate(quantiles):
            table[f"{name}_q{level:g}"] = data.floored(band[..., k], prep).ravel()
    return table


def backtest_panel(config: Config, config_path: Path | None, stride: int, verbose: int | None, started,
                   with_classical: bool | None = None) -> Path:
    """Every series of a panel: one model trained once, every `stride`-th test origin of each series a fold.

    Scored per series in its own units and summarised by the mean and median over the
    series (as `evaluate` does for panels); series too short for the split have no test
    origin and are not scored. The model's intervals are calibrated as `train` calibrates a panel's (the honest
    model's validation errors of every series, pooled) and scored per series in its scaled units.
    """
    panel = data.load_panel(config.data)  # kept: each series' own values are what its folds are scored on
    prepared = training.prepare_data(config, panel)
    L, H = config.window.input_length, config.window.horizon
    for note in prepared.notes:
        print(f"note: {note}", file=sys.stderr)
    trained = [key for key in prepared.prep["series"] if key not in prepared.prep["untrained"]]
    with_classical = forecasting.classical.wanted(with_classical, len(trained))
    with training.replicated(config):
        model = training.build(config, len(prepared.series.columns), prepared.prep["season_length"],
                               train_windows=len(prepared.starts["train"]))
        fitted = training.fit(model, prepared, config, verbose)
        history = fitted.history
        before = np.concatenate([  # every trained series' windows whose targets lie before its test period
            data.window_starts(prepared.valid, L, H, prepared.offsets[key],
                               prepared.offsets[key] + prepared.prep["series"][key]["val_end"], config.window.stride)
            for key in trained
        ])
        scored = deployed(model, fitted, replace(prepared, starts={**prepared.starts, "all": before}), config, verbose)
    mix = _panel_mix(config, len(trained), with_classical)
    calibration = forecasting.pooled_calibration(model, config, [  # as `train` calibrates a panel: the honest model
        (prepared.values, data.window_starts(prepared.valid, L, H, prepared.offsets[key] + own["train_end"],
                                             prepared.offsets[key] + own["val_end"]))
        for key, own in ((key, prepared.prep["series"][key]) for key in trained)
    ], len(prepared.prep["targets"]))
    reports, folds_tables, forecast_tables = {}, [], []
    views = _test_views(prepared, config, trained, stride)
    fits = dict(zip(views, forecasting.classical.forecasts_many(
        [_classical_job(view, starts + L, len(view.prep["targets"]), H, view.prep["val_end"])
         for starts, view in views.values()], "(--no-classical skips them)"
    ))) if with_classical else {}
    for key, (starts, view) in views.items():
        own, offset = prepared.prep["series"][key], prepared.offsets[key]
        output = forecasting.predict_scaled(scored, prepared.values, starts + offset, L, H, data.n_known(config.data))
        point, own_quantiles = forecasting.point_of(config.model.output.quantiles, output)
        truth = data.target_values(panel[key], len(own["targets"]))[: own["test_end"]]
        folds = _with_baselines(view, truth, starts, point, np.full(len(starts), own["val_end"]), L, H, with_classical,
                                fits.get(key))
        if mix:  # what `predict` forecasts: the network averaged with them
            weights = forecasting.combination.WEIGHTS[mix["chosen"]]
            members = (folds.forecasts["model"], folds.forecasts["AutoETS"], folds.forecasts["AutoTheta"])
            folds.forecasts["combined"] = sum(w * m for w, m in zip(weights, members))
        if np.isnan(folds.actual).all():  # every target of its folds missing in the file: nothing to score
            continue
        frame = pd.DataFrame(index=prepared.indexes[key][: own["test_end"]])
        series_view = replace(view, series=replace(prepared.series, frame=frame, name=str(key)))
        reports[key] = score(folds, series_view, config)
        quantile_bands = {}
        if calibration is not None:
            start = point if own_quantiles is None else own_quantiles
            scaled, scores = _scaled_band_scores(calibration, start, view, starts, folds, L)
            reports[key]["intervals"] = scores
            n = folds.actual.shape[-1]
            unit, center = np.asarray(own["scale"][:n])[:, None], np.asarray(own["center"][:n])[:, None]
            quantile_bands["model"] = scaled * unit + center
        for table, found in ((folds_tables, fold_table(folds, series_view)),
                             (forecast_tables, forecast_table(folds, series_view, calibration and calibration["quantiles"],
                                                              quantile_bands))):
            found.insert(0, config.data.id_column, key)
            table.append(found)
    if not reports:
        raise UserError(
            f"no series of {Path(config.data.path).name} has a complete test window (input_length {L}, horizon {H}). "
            "Shorten the window or change data.split."
        )
    report = {
        "data": str(prepared.series.path),
        "id_column": config.data.id_column,
        "targets": prepared.prep["targets"],
        "horizon": H,
        "season_length": int(prepared.prep["season_length"]),
        "stride": stride,
        "model_scored": _scored(config),
        **forecasting.panel_summary(reports),
        **({"classical": forecasting.classical.DESCRIPTION} if with_classical else {}),
        **({"combination": mix} if mix else {}),
        **({"quantiles": calibration["quantiles"]} if calibration is not None else {}),
    }
    tables = {name: pd.concat(found, ignore_index=True)
              for name, found in (("folds.csv", folds_tables), ("forecasts.csv", forecast_tables))}
    summary = {"series": len(reports), "folds": int(report["windows"]), "stride": stride,
               "model_scored": report["model_scored"]}
    per_step = {name: {"mase": _mean_over_series([r["original"][name]["per_step"]["mase"] for r in reports.values()])}
                for name in report["aggregate"]}  # MASE: the series' units differ
    return _write_run(config, config_path, prepared, model, history, report, tables, summary, started, per_step,
                      metric="mase")


def _mean_over_series(per_step: list[list]) -> list:
    """Each horizon step's mean over the series that have a value there (None: no observed target)."""
    table = np.array([[np.nan if v is None else v for v in steps] for steps in per_step], dtype="float64")
    counts = (~np.isnan(table)).sum(axis=0)
    means = np.where(np.isnan(table), 0.0, table).sum(axis=0) / np.maximum(counts, 1)
    return [float(m) if c else None for m, c in zip(means, counts)]


def _scaled_band_scores(calibration: dict, forecast: np.ndarray, view, starts: np.ndarray, folds: Folds,
                        L: int) -> tuple[np.ndarray, dict]:
    """One panel series' folds: the model's calibrated intervals (split conformal, pooled) in scaled units, and their
    scores."""
    n, prep = folds.actual.shape[-1], view.prep
    center, unit = np.asarray(prep["center"][:n]), np.asarray(prep["scale"][:n])
    rows = view.values[starts[:, None] + np.arange(L)][:, :, :n]
    spread = np.maximum(rows.std(axis=1, keepdims=True), 0.01)  # as the calibration's scores were scaled
    base = calibration["bases"]["model"]
    bands = intervals.apply(forecast, intervals.offsets_at(calibration, "model", folds.origins, folds.actual.shape[1]),
                            base, spread)
    return bands, intervals.band_scores((folds.actual - center) / unit, bands, calibration["quantiles"],
                                        data.scaled_floors(prep, n))


def _panel_mix(config: Config, n_series: int, with_classical: bool) -> dict | None:
    """model.combine's mix as `train` records it, so the folds score what `predict` would forecast as `combined`.

    None where no mix can be: combine `none`, a quantile model, no classical fits (--no-classical,
    statsforecast missing, a very large panel).
    """
    if config.model.combine == "none" or config.model.output.quantiles or not with_classical:
        return None
    found = forecasting.combination.panel_choice(config.model.combine, n_series)
    return None if found["chosen"] == "none" else found


def _write_run(config, config_path, prepared, model, history, report, tables, summary, started, per_step=None,
               metric: str = "mae", units: str = "data units") -> Path:
    """The backtest's run folder: the usual run files of the last model, backtest.json, the tables (and the plot)."""
    name = config.run.name or (Path(config_path).stem if config_path else "run")
    final = runs.new_run_path(Path(config.run.dir), f"{name}-backtest", claim=True)
    with runs.creating(final, claimed=True) as tmp:
        report["run"] = str(final)
        (tmp / "backtest.json").write_text(json.dumps(report, indent=2) + "\n")
        for file_name, table in tables.items():
            table.to_csv(tmp / file_name, index=False)
        if per_step is not None:
            title = f"{final.name}: {config.model.type} on {prepared.series.path.name}"
            plotting.error_by_step_figure(title, per_step, metric, units).savefig(tmp / "error_by_step.png", dpi=110)
        meta = {
            "seed": config.training.seed,
            "data_file": str(prepared.series.path),
            "data_sha256": runs.sha256(prepared.series.path),
            "config_file": str(config_path) if config_path else None,
            "backtest": summary,
            "epochs_run": len(history.get("loss", [])),
            "best_val_loss": float(np.nanmin(history["val_loss"])),
            "started": started.isoformat(timespec="seconds"),
        }
        runs.write_run_files(tmp, config, prepared.prep, model, history, meta)
    return final
