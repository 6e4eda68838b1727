"""Forecasts from a trained run: the future, the test period, and their scores.

Shared by `predict`, `evaluate` and `plot`. New data (`--data`) goes through the
preprocessing fitted at training time, never a refit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import data, intervals, metrics
from rnnforecast.errors import UserError
from rnnforecast.runs import Run

PREDICT_CHUNK = 4096  # windows gathered per predict call: memory stays flat on long series
PREDICT_STEPS = 4096 * 96  # and at most this many window time steps per call, for long windows


@dataclass
class Prepared:
    """A run's data, on its grid, filled and scaled with the training-time state."""

    run: Run
    series: data.Series
    values: np.ndarray
    valid: np.ndarray
    test_lo: int  # first row whose target is scored
    test_hi: int  # one past the last row whose target is scored (data.split.test_end, else the end)

    @property
    def n_targets(self) -> int:
        return len(self.run.prep["targets"])


@dataclass
class TestForecasts:
    """Every test window: where it starts, its actuals and each forecaster's output (data units)."""

    origins: np.ndarray  # row of the first forecast step of each window
    actual: np.ndarray  # (windows, horizon, targets)
    forecasts: dict[str, np.ndarray]  # model, naive, seasonal_naive -> same shape as actual
    model_quantiles: np.ndarray | None = None  # a quantile model's own quantiles (..., quantiles last)
    spread: np.ndarray | None = None  # (windows, 1, targets): the std of each window's inputs, data units

    def for_intervals(self) -> dict[str, np.ndarray]:
        """What intervals are built on: the model's own quantiles when it has them, else the point forecasts."""
        found = dict(self.forecasts)
        if self.model_quantiles is not None:
            found["model"] = self.model_quantiles
        return found


def prepare(run: Run, data_path: Path | None = None) -> Prepared:
    """Load the training file, or newer data with the same columns, the way training saw it.

    With newer data, only targets after the last time the model saw in training or
    validation are scored (all of them when the data has no time column).
    """
    series = data.load_series(
        run.config.data, path=data_path, frequency=run.prep["frequency"], categories=run.prep.get("categories")
    )
    return _prepared(run, series, data_path)


def _prepared(run: Run, series: data.Series, data_path: Path | None) -> Prepared:
    values, valid = data.prepare(series, run.prep)
    L = run.config.window.input_length
    if len(values) < L:
        raise UserError(
            f"{series.label} has {len(values)} rows on its grid, fewer than the model's input_length of {L}. "
            "Give a file with at least that much history."
        )
    if data_path is None:
        test_lo = run.prep["val_end"]
    elif isinstance(series.index, pd.DatetimeIndex):
        last_seen = pd.Timestamp(run.prep["last_seen"])
        if series.index.tz is not None and last_seen.tz is None:
            last_seen = last_seen.tz_localize(series.index.tz)
        test_lo = max(int(series.index.searchsorted(last_seen, side="right")), L)
    else:
        test_lo = L
    test_hi = min(run.prep.get("test_end") or len(values), len(values)) if data_path is None else len(values)
    return Prepared(run, series, values, valid, test_lo, test_hi)


def predict_scaled(
    model, values: np.ndarray, starts: np.ndarray, input_length: int, horizon: int = 0, n_known: int = 0
) -> np.ndarray:
    """Model forecasts (scaled units) for windows starting at `starts`, gathered chunk by chunk.

    With n_known known-future columns (the last ones), the model also reads them over
    the `horizon` rows after each window's history.
    """
    out = []
    size = max(1, min(PREDICT_CHUNK, PREDICT_STEPS // input_length))
    for i in range(0, len(starts), size):
        chunk = starts[i : i + size]
        inputs = values[chunk[:, None] + np.arange(input_length)]
        if n_known:
            known = values[chunk[:, None] + input_length + np.arange(horizon)][:, :, -n_known:]
            inputs = [inputs, known]
        out.append(np.asarray(_predict_chunk(model, inputs, len(chunk))))
    return np.concatenate(out) if out else np.empty((0,))


def _predict_chunk(model, inputs, n: int):
    """One compiled call per chunk: model.predict's own batching and data pipeline cost more
    than the forecast itself here (benchmarks/PERFORMANCE.md).

    A model built under a strategy over several devices (TensorFlow's MirroredStrategy) goes
    through model.predict instead, which splits the chunk over the devices:
    predict_on_batch would run the whole chunk on every device and return every copy.
    """
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        return model.predict(inputs, batch_size=n, verbose=0)
    return model.predict_on_batch(inputs)


def future(prepared: Prepared, model=None) -> pd.DataFrame:
    """The next `horizon` steps after the last row, in the data's units, indexed by their timestamps."""
    run = prepared.run
    H = run.config.window.horizon
    model = model or run.load_model()
    scaled, _ = split_quantiles(run, np.asarray(model.predict(_future_inputs(prepared), verbose=0))[0])
    index = data.future_index(prepared.series.index, prepared.series.frequency, H)
    return pd.DataFrame(data.unscale(scaled, run.prep), index=index, columns=run.prep["targets"])


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


def test_forecasts(prepared: Prepared, model=None, stride: int = 1) -> TestForecasts:
    """Forecasts of the model and both baselines for every test origin (every `stride`-th)."""
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    starts = data.window_starts(prepared.valid, L, H, prepared.test_lo, prepared.test_hi, stride)
    if len(starts) == 0:
        raise UserError(
            f"{prepared.series.label} has no complete window to score after {run.prep['last_seen']} "
            f"(each needs {L} rows of history and {H} rows to compare). Give newer or longer data."
        )
    return window_forecasts(prepared, starts, model)


def validation_forecasts(prepared: Prepared, model=None) -> TestForecasts:
    """Forecasts for every validation window of the training file: what the intervals are calibrated on."""
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    starts = data.window_starts(prepared.valid, L, H, run.prep["train_end"], run.prep["val_end"])
    return window_forecasts(prepared, starts, model)


def window_forecasts(prepared: Prepared, starts: np.ndarray, model=None) -> TestForecasts:
    """The model's and both baselines' forecasts, and the actual values, for windows starting at `starts`."""
    run = prepared.run
    L, H = run.config.window.input_length, run.config.window.horizon
    model = model or run.load_model()
    n_targets = prepared.n_targets
    scaled_targets = prepared.values[:, :n_targets]
    origins = starts + L
    season = int(run.prep["season_length"])
    if origins.min() < season:
        season = 1  # not one season of history before the first origin: fall back to naive
    point, quantiles = split_quantiles(run, predict_scaled(model, prepared.values, starts, L, H, len(run.prep.get("known", []))))
    scaled = {
        "model": point,
        "naive": metrics.naive(scaled_targets, origins, H),
        "seasonal_naive": metrics.seasonal_naive(scaled_targets, origins, H, season),
    }
    actual = scaled_targets[origins[:, None] + np.arange(H)]
    return TestForecasts(
        origins,
        data.unscale(actual, run.prep),
        {name: data.unscale(value, run.prep) for name, value in scaled.items()},
        None if quantiles is None else unscale_quantiles(quantiles, run.prep),
        spread(prepared, starts),
    )


def spread(prepared: Prepared, starts: np.ndarray) -> np.ndarray:
    """Each window's spread (windows, 1, targets): the std of its input rows of each target, data units.

    Floored at 1% of the target's training std, so that a flat window still gets an interval.
    """
    run = prepared.run
    L, n = run.config.window.input_length, prepared.n_targets
    unit = np.asarray(run.prep["scale"][:n])
    rows = starts[:, None] + np.arange(L)
    std = prepared.values[rows][:, :, :n].std(axis=1, keepdims=True) * unit
    return np.maximum(std, 0.01 * unit)


def split_quantiles(run: Run, output: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A quantile model's output (..., quantiles) as its point forecast (the quantile nearest 0.5) and all of them."""
    return point_of(run.config.model.output.quantiles, output)


def point_of(quantiles: list[float] | None, output: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The point forecast and the quantiles of a model output, for models with quantiles or without."""
    if not quantiles:
        return output, None
    middle = int(np.argmin(np.abs(np.asarray(quantiles) - 0.5)))
    return output[..., middle], output


def unscale_quantiles(values: np.ndarray, prep: dict) -> np.ndarray:
    """data.unscale for arrays whose last axis is the quantiles and the one before it the targets."""
    return np.moveaxis(data.unscale(np.moveaxis(values, -1, 0), prep), 0, -1)


def calibrated(
    run: Run, model=None, quantiles: list[float] | None = None, refresh: bool = False, settings=None
) -> dict:
    """The run's interval calibration: its validation windows' scores, computed and saved on first use.

    `settings` (a CalibrationConfig) replaces the run's config section, as `calibrate` does.
    """
    saved = None if refresh else intervals.load(run)
    if saved is not None:
        return saved
    validation = validation_forecasts(prepare(run), model)  # always the training file's validation part
    own = run.config.model.output.quantiles  # a quantile model is calibrated at its own quantiles
    wanted = own or quantiles or run.config.calibration.quantiles
    settings = settings or run.config.calibration
    result = intervals.calibration(
        validation.forecasts, validation.actual, wanted, validation.model_quantiles, validation.spread,
        settings.method, settings.window, settings.gamma, settings.floor,
    )
    intervals.save(run.path, result)
    return result


def recalibrate(run: Run, quantiles: list[float], settings=None) -> dict:
    """Calibrate (again) with these quantiles and settings; only runs on one series have intervals."""
    if is_panel(run):
        raise UserError("intervals are calibrated for runs on one series; this run holds a panel (data.id_column).")
    return calibrated(run, None, quantiles, refresh=True, settings=settings)


def evaluate(prepared: Prepared, model=None) -> dict:
    """Model and baselines scored on the test windows, in data units and in scaled units.

    With the run's calibration, each forecaster's quantiles are scored too: pinball
    loss, and the coverage and mean width of each central interval.
    """
    run = prepared.run
    model = model or run.load_model()
    result = test_forecasts(prepared, model)
    scale = np.asarray(run.prep["mase_scale"])
    unit = np.asarray(run.prep["scale"][: prepared.n_targets])
    center = np.asarray(run.prep["center"][: prepared.n_targets])
    index = prepared.series.index
    report = {
        "run": str(run.path),
        "data": str(prepared.series.path),
        "targets": run.prep["targets"],
        "windows": int(len(result.origins)),
        "horizon": run.config.window.horizon,
        "season_length": int(run.prep["season_length"]),
        "period": [str(index[result.origins[0]]), str(index[result.origins[-1] + run.config.window.horizon - 1])],
        "original": {},
        "scaled": {},
    }
    actual_scaled = (result.actual - center) / unit
    for name, forecast in result.forecasts.items():
        report["original"][name] = metrics.score(result.actual, forecast, scale)
        report["scaled"][name] = metrics.score(actual_scaled, (forecast - center) / unit, scale / unit)
    if not run.config.data.id_column:  # intervals are calibrated for single-series runs
        calibration = calibrated(run, model)
        report["quantiles"] = calibration["quantiles"]
        report["calibration"] = {key: calibration.get(key) for key in ("method", "window", "gamma", "floor")}
        report["intervals"] = intervals.interval_scores(
            result.actual, result.for_intervals(), calibration, result.spread, result.origins
        )
    return report


def test_path(prepared: Prepared, model=None) -> pd.DataFrame:
    """Non-overlapping forecasts across the test period (one every `horizon` steps), for the plot."""
    H = prepared.run.config.window.horizon
    result = test_forecasts(prepared, model, stride=H)
    rows = (result.origins[:, None] + np.arange(H)).ravel()
    targets = prepared.run.prep["targets"]
    forecast = result.forecasts["model"].reshape(-1, len(targets))
    return pd.DataFrame(forecast, index=prepared.series.index[rows], columns=targets)


# ---------------------------------------------------------------------------- whole runs (one series or a panel)


def is_panel(run: Run) -> bool:
    return "series" in run.prep


def prepare_panel(run: Run, data_path: Path | None = None, only: list[str] | None = None) -> dict[str, Prepared]:
    """Each series of a panel run, prepared with its own fitted preprocessing.

    Series the model was not trained on (new ids in newer data) have no fitted scaler
    and are left out, as are series shorter than input_length.
    """
    panel = data.load_panel(
        run.config.data, path=data_path, frequency=run.prep["frequency"], categories=run.prep.get("categories")
    )
    wanted = only if only is not None else list(panel)
    unknown = [key for key in wanted if key not in panel or key not in run.prep["series"]]
    if only is not None and unknown:
        raise UserError(
            f"series {', '.join(unknown[:5])} not found among the trained series of {run.path.name} in "
            f"{Path(data_path or run.config.data.path).name}. Use ids from the column '{run.prep['id_column']}'."
        )
    prepared = {}
    for key in wanted:
        if key in unknown:
            continue
        view = replace(run, prep=run.prep["series"][key])
        try:
            prepared[key] = _prepared(view, panel[key], data_path)
        except UserError:
            continue
    return prepared


def evaluate_run(run: Run, data_path: Path | None = None) -> dict:
    """The evaluate report: one series, or every series of a panel with the aggregate over them."""
    model = run.load_model()
    if not is_panel(run):
        return evaluate(prepare(run, data_path), model)
    reports = {}
    for key, prepared in prepare_panel(run, data_path).items():
        try:
            reports[key] = evaluate(prepared, model)
        except UserError:
            continue  # no complete test window in this series
    if not reports:
        raise UserError(f"no series in {run.path.name}'s data has a complete test window to score.")
    return panel_report(run, reports)


def panel_report(run: Run, reports: dict[str, dict]) -> dict:
    """Per-series scores and their mean and median, so that large series do not drown small ones."""
    return {
        "run": str(run.path),
        "id_column": run.prep["id_column"],
        "targets": run.prep["targets"],
        "horizon": run.config.window.horizon,
        "season_length": int(run.prep["season_length"]),
        **panel_summary(reports),
    }


def panel_summary(reports: dict[str, dict]) -> dict:
    """From one evaluate-shaped report per series: each series' MASE, sMAPE, MAE and scaled MAE, and their mean and median."""
    first = next(iter(reports.values()))
    per_series = {
        key: {name: {"mase": r["original"][name]["overall"]["mase"], "smape": r["original"][name]["overall"]["smape"],
                     "mae": r["original"][name]["overall"]["mae"], "scaled_mae": r["scaled"][name]["overall"]["mae"]}
              for name in r["original"]} | {"windows": r["windows"]}
        for key, r in reports.items()
    }
    aggregate = {}
    for name in first["original"]:
        table = pd.DataFrame({key: scores[name] for key, scores in per_series.items()}).T
        aggregate[name] = {"mean": table.mean().to_dict(), "median": table.median().to_dict()}
    return {
        "series_scored": len(reports),
        "windows": int(sum(r["windows"] for r in reports.values())),
        "aggregate": aggregate,
        "series": per_series,
    }


def models_for_future(run: Run):
    """(honest, final): the final model forecasts the future; the honest one's errors calibrate its intervals."""
    honest = run.load_model()
    return honest, (run.load_model(final=True) if run.has_final_model else honest)


def forecast_run(run: Run, data_path: Path | None = None, only: list[str] | None = None) -> pd.DataFrame:
    """The future of one series (time, targets) or of every series of a panel (id, time, targets), as a table.

    The forecast comes from the final model (trained on every row) when the run has one.
    """
    if not is_panel(run):
        if only:
            raise UserError("--series is for runs trained on many series (data.id_column); this run has one.")
        honest, final = models_for_future(run)
        prepared = prepare(run, data_path)
        return with_quantiles(prepared, future(prepared, final), honest, final).reset_index()
    model = run.load_model(final=True)
    frames = []
    for key, prepared in prepare_panel(run, data_path, only).items():
        frame = future(prepared, model).reset_index()
        frame.insert(0, run.prep["id_column"], key)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def describe_forecast(run: Run, forecast: pd.DataFrame) -> str:
    """'7 steps', or '366 series x 24 steps' for a panel's table."""
    if not is_panel(run):
        return f"{len(forecast)} steps"
    n = forecast[run.prep["id_column"]].nunique()
    return f"{n} series x {run.config.window.horizon} steps"


def future_spread(prepared: Prepared) -> np.ndarray:
    """The spread (1, targets) of the last window, which the future is forecast from."""
    return spread(prepared, np.array([len(prepared.values) - prepared.run.config.window.input_length]))[0]


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
            out[f"{target}_q{q:g}"] = bands[:, t, k]
    return out
