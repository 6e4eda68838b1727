"""The forecast after the last row, with calibrated intervals: what `predict` writes."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import data, intervals
from rnnforecast.errors import UserError
from rnnforecast.forecasting import combination
from rnnforecast.forecasting.calibration import calibrated, calibrated_panel
from rnnforecast.forecasting.inference import (
    Prepared,
    load_panel_of,
    point_of,
    predict_stacked,
    prepare,
    prepare_panel,
    reading_notes,
    spread,
    unscale_quantiles,
    window_forecasts,
)
from rnnforecast.runs import Run


def future(prepared: Prepared, model=None) -> pd.DataFrame:
    """The next `horizon` steps after the last row, in the data's units, indexed by their timestamps."""
    run = prepared.run
    H = run.config.window.horizon
    model = model or run.load_model()
    output = np.asarray(model.predict(_future_inputs(prepared), verbose=0))[0]
    scaled, _ = point_of(run.config.model.output.quantiles, output)
    index = data.future_index(prepared.series.index, prepared.series.frequency, H)
    return pd.DataFrame(data.unscale(scaled, run.prep), index=index, columns=run.prep["targets"])


def panel_future(run: Run, prepared: dict[str, Prepared], model, calibration: dict | None = None) -> pd.DataFrame:
    """The future of many series from one model as one long table (id, time, targets, quantile columns).

    Every series' last window is forecast in a few large batches, and the table is built from
    whole arrays: a model call, a data frame or a date range per series would each cost
    milliseconds per series (366 Tourism series: 22 s with one model call each; 30,490 M5 series:
    minutes), see benchmarks/PERFORMANCE.md, section 16. With `calibration` (calibrated_panel), each
    series gets its calibrated quantile columns, as one series does.
    """
    keys = list(prepared)
    if not keys:
        return pd.DataFrame()
    n, H = prepared[keys[0]].n_targets, run.config.window.horizon
    inputs = _panel_inputs(prepared, keys)
    with_known = isinstance(inputs[0], list)
    history = np.concatenate([x[0] if with_known else x for x in inputs])
    known = np.concatenate([x[1] for x in inputs]) if with_known else None
    output = predict_stacked(model, history, known)
    center = np.array([prepared[key].run.prep["center"][:n] for key in keys])[:, None, :]  # (series, 1, targets)
    floor = np.array([data.lowest(prepared[key].run.prep.get("floor"), n) for key in keys])[:, None, :]  # data.floor
    scale = np.array([prepared[key].run.prep["scale"][:n] for key in keys])[:, None, :]
    point, own = point_of(run.config.model.output.quantiles, output)
    network = point * scale + center  # (series, H, targets), data units
    mix = combination.weights(run)
    forecast = network if mix is None else (
        mix[0] * network + np.stack(list(combination.future({k: prepared[k] for k in keys}, H, mix).values())))
    bands, quantiles = None, []
    if calibration is not None:
        quantiles, base = calibration["quantiles"], calibration["bases"].get("model", "point")
        offsets = intervals.offsets(calibration["scores"]["model"], quantiles, base)
        spread = np.maximum(history[:, :, :n].std(axis=1, keepdims=True), 0.01)  # scaled units, as calibrated
        bands = intervals.apply(own if base == "quantiles" else point, offsets, base, spread)  # (series, H, n, Q)
        bands = bands * scale[..., None] + center[..., None] + (forecast - network)[..., None]  # around the forecast
    return _long_table(run, keys, [prepared[key].series for key in keys], forecast, floor, bands, quantiles)


def _panel_inputs(prepared: dict[str, Prepared], keys: list) -> list:
    """Every series' inputs for its future; a series that has none (its future features not given, a gap) is named
    with the others, and how to forecast the rest."""
    inputs, lacking = [], []
    for key in keys:
        try:
            inputs.append(_future_inputs(prepared[key]))
        except UserError as exc:
            lacking.append((key, exc))
    if not lacking:
        return inputs
    others = [key for key in keys if key not in dict(lacking)]
    rest = ("".join(f" --series {shlex.quote(str(key))}" for key in others) if len(others) <= 8 else
            f" the {len(others)} other series' ids with --series (or a file without the lacking series, --data)")
    raise UserError(
        f"{len(lacking)} of {len(keys)} series cannot be forecast: {lacking[0][1]}"
        + (f" Also: {', '.join(str(key) for key, _ in lacking[1:6])}{' ...' if len(lacking) > 6 else ''}."
           if len(lacking) > 1 else "")
        + (f" To forecast the others now, give{rest}." if others else "")
    )


def _long_table(run: Run, keys: list, series: list, forecast: np.ndarray, floor: np.ndarray,
                bands: np.ndarray | None, quantiles) -> pd.DataFrame:
    """A panel's forecast table (id, time, targets, quantile columns) from whole arrays: forecast (series, H,
    targets), floor (series, 1, targets), bands (series, H, targets, quantiles) or None; data.floor applied."""
    H = forecast.shape[1]
    times = _future_times(series, H)
    table = {run.prep["id_column"]: np.repeat(np.asarray(keys, dtype=object), H), times.name or "step": times}
    targets = run.prep["targets"]
    for t, target in enumerate(targets):
        table[target] = np.maximum(forecast[:, :, t], floor[:, :, t]).ravel()
    if bands is not None:
        bands = np.maximum(bands, floor[..., None])
        for t, target in enumerate(targets):
            for k, q in enumerate(quantiles):
                table[intervals.quantile_column(target, q)] = bands[:, :, t, k].ravel()
    return pd.DataFrame(table)


def _future_times(series: list, horizon: int) -> pd.Index:
    """The `horizon` future timestamps (or step numbers) of every series, one after another.

    A date range is made once per distinct last timestamp, not once per series: the series of
    a panel mostly end together.
    """
    made: dict = {}
    parts = []
    for one in series:
        index = one.index
        key = (index[-1], one.frequency) if isinstance(index, pd.DatetimeIndex) else len(index)
        if key not in made:
            made[key] = data.future_index(index, one.frequency, horizon)
        parts.append(made[key])
    return parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]  # one concatenation; a time zone kept


def future_quantiles(prepared: Prepared, model) -> np.ndarray | None:
    """A quantile model's own quantiles for the future (horizon, targets, quantiles), data units; else None."""
    run = prepared.run
    if not run.config.model.output.quantiles:
        return None
    output = np.asarray(model.predict(_future_inputs(prepared), verbose=0))[0]
    return unscale_quantiles(output, run.prep)


def _future_inputs(prepared: Prepared):
    """The model's inputs for the forecast after the last row: the last window, and the known future."""
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    gaps = int((~prepared.valid[-L:]).sum())
    if gaps:
        raise UserError(
            f"the last {L} rows of {prepared.series.label}, which the forecast starts from, hold {gaps} missing "
            "value(s) that data.missing: drop leaves unfilled. Fill them, or use data.missing: interpolate or ffill."
        )
    history = prepared.values[None, len(prepared.values) - L :]
    known = data.known_future(prepared.series, run.prep, H)
    return history if known is None else [history, known[None]]


def models_for_future(run: Run):
    """(honest, final): the final model forecasts the future; the honest one's errors calibrate its intervals."""
    honest = run.load_model()
    return honest, (run.load_model(final=True) if run.has_final_model else honest)


def backtest_notes(run: Run) -> list[str]:
    """A note when the run is a backtest's folder: `predict` reads it, but it is not the run to forecast with."""
    if not (run.path / "backtest.json").is_file():
        return []
    return ["this is a backtest's folder: its model is the last honest one the backtest trained, without the final "
            "model or the mix with AutoETS and AutoTheta that `rnnforecast train`'s run forecasts with. For the "
            "forecast to use, train the config and predict from that run."]


def forecast_run(run: Run, data_path: Path | None = None, only: list[str] | None = None) -> pd.DataFrame:
    """The future of one series (time, targets) or of every series of a panel (id, time, targets), as a table.

    The forecast comes from the final model (trained on every row) when the run has one. The
    table carries `attrs["notes"]` for `predict` to print: a panel's series left out, never seen
    in training or forecast otherwise, and whether the run is a backtest's folder.
    """
    notes = backtest_notes(run)
    if not run.is_panel:
        if only:
            raise UserError("--series is for runs trained on many series (data.id_column); this run has one.")
        honest, final = models_for_future(run)
        prepared = prepare(run, data_path)
        table = single_future(prepared, honest, final).reset_index()
        if prepared.series.years:  # `year,value` in, `year,value` out (not 2021-01-01)
            table[table.columns[0]] = table[table.columns[0]].dt.year
        table.attrs["sub_daily"] = _sub_daily(run.prep.get("frequency"))
        table.attrs["notes"] = (reading_notes([prepared.series], data_path) + notes + below_zero_notes(run, table)
                                + earlier_data_notes(run, prepared, data_path))
        return table
    table = panel_table(run, data_path, only, run.load_model(final=True), notes)
    if table.empty:
        raise UserError(f"no series of {run.path.name}'s data holds one input window to forecast from. " + " ".join(notes))
    table.attrs["notes"] = notes + below_zero_notes(run, table)  # left out or treated apart, for `predict` to print
    table.attrs["sub_daily"] = _sub_daily(run.prep.get("frequency"))
    return table


def _sub_daily(frequency: str | None) -> bool:
    """Whether the run's steps are shorter than a day (its forecast's times are written with the time of day)."""
    if not frequency:
        return False
    start = pd.Timestamp("2001-01-01")
    try:
        return start + pd.tseries.frequencies.to_offset(frequency) - start < pd.Timedelta(days=1)
    except ValueError:
        return False


def below_zero_notes(run: Run, table: pd.DataFrame) -> list[str]:
    """A note per target whose forecast or interval goes below 0 though its training rows never did and it has no floor.

    data.floor: auto floors counts only (a fractional measurement can turn negative later), so a sunspot number's 0.1
    quantile can read -51: the user decides whether the target can go below 0, and how to say so. In a panel, each
    series answers for its own rows: one that went below 0 in training may forecast below 0 without a note.
    """
    if run.is_panel:
        preps = run.prep["series"]
        owners = [preps.get(key) for key in table[run.prep["id_column"]].astype(str)]
    else:
        owners = [run.prep] * len(table)
    notes = []
    for t, target in enumerate(run.prep["targets"]):
        watched = np.array([p is not None and p.get("never_negative", [False] * (t + 1))[t] and p["floor"][t] is None
                            for p in owners], dtype=bool)
        columns = [target, *intervals.quantile_columns(table.columns, target)]
        values = table[columns].to_numpy(dtype="float64")[watched]
        if not (values < 0).any():
            continue
        where = ""
        if run.is_panel:
            below = table[run.prep["id_column"]].to_numpy()[watched][(values < 0).any(axis=1)]
            where = f" of {len(set(below))} series ({data.id_examples(list(dict.fromkeys(below)))})"
        others = sum(not p.get("never_negative", [True] * (t + 1))[t] for p in preps.values()) if run.is_panel else 0
        how = ("train with data.floor: 0 to keep them at 0 or above" if not others else
               f"clip these series' forecasts at 0 yourself: data.floor applies to every series, and {others} of "
               "this panel's went below 0 in training (train refuses a floor of 0 for them)")
        notes.append(f"'{target}' never went below 0 in the training rows{where}, but its forecast or interval does "
                     f"here (down to {np.nanmin(values):.4g}). If it cannot go below 0 (rainfall, prices, sunspots), "
                     f"{how}.")
    return notes


def earlier_data_notes(run: Run, prepared: Prepared, data_path: Path | None) -> list[str]:
    """A note when the data read (--data, or the training file changed since) ends before the file trained on did:
    the forecast then starts inside the period the model saw (a file cut short by mistake, or an old copy)."""
    end = run.prep.get("data_end")  # runs trained before it was recorded have none
    index = prepared.series.index
    if data_path is None or not isinstance(end, str) or not isinstance(index, pd.DatetimeIndex):
        return []
    try:
        trained_to = pd.Timestamp(end)
    except ValueError:  # a hand-edited run file: nothing to compare with
        return []
    observed = prepared.series.frame[run.prep["targets"]].notna().any(axis=1).to_numpy()
    if not observed.any():
        return []
    last = index[observed][-1]  # not the future features' rows after it
    if (last.tzinfo is None) != (trained_to.tzinfo is None) or last >= trained_to:
        return []
    return [f"{Path(data_path).name} ends at {str(last).removesuffix(' 00:00:00')}, before the end of the data "
            f"{run.path.name} was trained on ({end.removesuffix(' 00:00:00')}): the forecast starts there, inside "
            "the period the model saw. Give the full (or a newer) file to forecast what follows."]


def single_future(prepared: Prepared, honest, final) -> pd.DataFrame:
    """One series' future with its quantile columns, as `predict` writes it (time index).

    The final model forecasts; a run whose combination.json names a mix (a single series: the network with
    AutoETS and AutoTheta when it is short, those two alone where the network added nothing to its
    seasonal-naive start; forecasting.combination) forecasts the mix, and its
    interval keeps the shape calibrated on the network's errors, centred on the mix: the network's
    median (or the middle of its outermost quantiles) moved onto the mix's forecast. A quantile at a target's
    floor (data.floor) stays at it: on intermittent counts the mix, a mean, sits above the network's median
    of 0, and moved with it an 80% interval excluded the zeros of most days. Seasonal naive's
    errors on a trending series are one-sided, so moved by the forecasts' difference alone the interval
    could leave the mix outside it.
    """
    network = future(prepared, final)
    table = with_quantiles(prepared, network, honest, final)
    mix = combination.weights(prepared.run)
    if mix is None:
        return _floored_table(table, prepared.run.prep)
    H = prepared.run.config.window.horizon
    forecast = mix[0] * network.to_numpy() + combination.future({"": prepared}, H, mix)[""]
    for t, target in enumerate(network.columns):
        table[target] = forecast[:, t]
        columns = intervals.quantile_columns(table.columns, target)
        if not columns:
            continue
        middle = intervals.quantile_column(target, 0.5)
        outer = [intervals.quantile_level(column, target) for column in (columns[0], columns[-1])]
        if middle in columns:
            centre = table[middle].to_numpy()
        elif len(columns) > 1 and abs(sum(outer) - 1) < 1e-9:  # a central interval (0.05 and 0.95)
            centre = ((table[columns[0]] + table[columns[-1]]) / 2).to_numpy()
        else:  # quantiles on one side of the median (0.1 and 0.3): moved as the point forecast moved
            centre = network[target].to_numpy()
        shift = forecast[:, t] - centre
        floor = (prepared.run.prep.get("floor") or [None] * len(network.columns))[t]
        for column in columns:
            moved = table[column].to_numpy() + shift
            if floor is not None:  # a quantile at the floor (a day of no sales) stays there: the mix moves the rest
                moved = np.where(table[column].to_numpy() <= floor, floor, moved)
            table[column] = moved
    return _floored_table(table, prepared.run.prep)


def _floored_table(table: pd.DataFrame, prep: dict) -> pd.DataFrame:
    """Each target's forecast and quantile columns kept at or above its floor (data.floor)."""
    for target, floor in zip(prep["targets"], prep.get("floor") or []):
        if floor is not None:
            for column in [target, *intervals.quantile_columns(table.columns, target)]:
                table[column] = np.maximum(table[column].to_numpy(), floor)
    return table


def panel_table(run: Run, data_path: Path | None, only: list[str] | None, model, notes: list[str],
                panel: dict | None = None) -> pd.DataFrame:
    """The future of a panel's series (id, time, targets, quantiles) from `model`; empty when none holds a window.

    `panel`: the data already read (a cluster worker reads it once for all its partitions).
    """
    panel = load_panel_of(run, data_path) if panel is None else panel
    short: dict | None = {} if combination.forecasts_short_series(run) else None
    prepared = prepare_panel(run, data_path, only, unseen=True, notes=notes, panel=panel, too_short=short)
    calibration = calibrated_panel(run) if prepared else intervals.load(run)
    table = panel_future(run, prepared, model, calibration)
    if not short:
        return table
    notes.append(combination.short_series_note(list(short), run.config.window.input_length))
    order = {key: k for k, key in enumerate(only if only is not None else panel)}  # the file's order, or --series's
    # the quantiles the network's series get (`calibrate --quantiles` may have changed them since training)
    quantiles = [float(q) for q in (calibration or {}).get("quantiles") or run.config.calibration.quantiles]
    classical = short_future(run, short, quantiles)
    bounds = [intervals.quantile_column(target, q) for target in run.prep["targets"] for q in quantiles if q != 0.5]
    no_interval = classical.loc[classical[bounds].isna().any(axis=1), run.prep["id_column"]].unique()
    if len(no_interval):
        notes.append(combination.no_interval_note(list(no_interval)))
    both = pd.concat([table, classical], ignore_index=True)
    return both.sort_values(run.prep["id_column"], key=lambda ids: ids.map(order), kind="stable", ignore_index=True)


def short_future(run: Run, short: dict, quantiles: list[float]) -> pd.DataFrame:
    """The series too short for the network (fewer rows than one input window): each forecast by the mean of AutoETS
    and AutoTheta fitted on its rows, `quantiles` from their prediction intervals (round 26), as panel_future's table."""
    from rnnforecast.forecasting import classical

    targets, H = run.prep["targets"], run.config.window.horizon
    values = {key: series.frame[targets].to_numpy(dtype="float64") for key, series in short.items()}
    fits = classical.means_with_quantiles(list(values.values()), H, int(run.prep["season_length"]), quantiles,
                                          combination.SKIP_HINT)
    floors = []
    for key, series in short.items():
        try:  # counts stay at or above 0 (data.floor: auto), as the network's forecasts do
            floors.append(data.lowest(data.target_floors(values[key].T, run.config.data.floor, targets, series.label),
                                      len(targets)))
        except UserError:  # below a floor the user set: the series' own values say otherwise; none applied
            floors.append(data.lowest(None, len(targets)))
    return _long_table(run, list(short), list(short.values()), np.stack([point for point, _ in fits]),
                       np.array(floors)[:, None, :], np.stack([bands for _, bands in fits]), quantiles)


def describe_forecast(run: Run, forecast: pd.DataFrame) -> str:
    """'7 steps', or '366 series x 24 steps' for a panel's table."""
    if not run.is_panel:
        return f"{len(forecast)} steps"
    n = forecast[run.prep["id_column"]].nunique()
    return f"{n} series x {run.config.window.horizon} steps"


def future_spread(prepared: Prepared) -> np.ndarray:
    """The spread (1, targets) of the last window, which the future is forecast from.

    Over the values the file gave: a gap filled in that window by a straight line shrank its spread, and so the
    future's intervals, by half where data were missing (a week of daily temperatures), when the forecast is least
    sure. With fewer than two values given, the filled window's spread.
    """
    L = prepared.run.config.window.input_length
    found = spread(prepared, np.array([len(prepared.values) - L]))[0]
    given = prepared.truth[-L:]  # data units, NaN where the file had no value
    if given.shape[0] < L or not np.isnan(given).any():
        return found
    counted = (~np.isnan(given)).sum(axis=0)
    floor = 0.01 * np.asarray(prepared.run.prep["scale"][: prepared.n_targets])
    with np.errstate(invalid="ignore"):
        observed = np.maximum(np.nanstd(given, axis=0), floor)
    return np.where(counted >= 2, observed, found[0])[None]


def future_offsets(prepared: Prepared, model, calibration: dict) -> np.ndarray:
    """The model's offsets (quantiles, horizon, targets) for the forecast after the last row.

    Rolling calibration: the last `window` windows of the data after the validation
    period (all of their targets are observed), after the validation scores.
    """
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    origin = len(prepared.values)
    recent = recent_origins = None
    if calibration["method"] == "rolling":
        starts = data.window_starts(prepared.valid, L, H, prepared.test_lo, origin)[-calibration["window"] :]
        if len(starts):
            found = window_forecasts(prepared, starts, model)
            base = calibration["bases"].get("model", "point")
            recent = intervals.scores(
                found.for_intervals()["model"], found.actual, calibration["quantiles"], base, found.spread
            )
            recent_origins = found.origins
    return intervals.offsets_at(calibration, "model", [origin], H, recent, recent_origins)[0]


def with_quantiles(prepared: Prepared, point: pd.DataFrame, model, final=None) -> pd.DataFrame:
    """The point forecast with its calibrated quantile columns beside it: OT, OT_q0.1, OT_q0.5, OT_q0.9.

    A quantile model's own quantile forecast is what the calibration adjusts. The
    calibration comes from `model` (the honest one: its errors on rows it never saw);
    `final`, when given, is the model whose forecast (and own quantiles) it widens.
    """
    calibration = calibrated(prepared.run, model)
    base = calibration["bases"].get("model", "point")
    start = future_quantiles(prepared, final or model) if base == "quantiles" else point.to_numpy()
    offsets = future_offsets(prepared, model, calibration)
    bands = intervals.apply(start, offsets, base, future_spread(prepared))
    out = point.copy()
    for t, target in enumerate(point.columns):
        for k, q in enumerate(calibration["quantiles"]):
            out[intervals.quantile_column(target, q)] = bands[:, t, k]
    return out
