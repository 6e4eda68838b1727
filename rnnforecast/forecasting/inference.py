"""Forecasts from a trained model: a run's data prepared as in training, and windows forecast in chunks."""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import data
from rnnforecast.errors import UserError
from rnnforecast.forecasting.baselines import baseline_forecasts
from rnnforecast.runs import Run

# Windows gathered per predict call. On a CPU, chunks of 1,024 keep a call's per-step tensors in the core's cache:
# 8% (the default model) to 40% (a 2x64 GRU) more windows/s than 4,096 (benchmarks/PERFORMANCE.md, section 22).
# A GPU keeps 4,096 (large batches are what it is fast at; not measured here). Memory stays flat on long series.
PREDICT_CHUNK = 1024
PREDICT_CHUNK_GPU = 4096


# And at most this many window time steps per call, for long windows: a first layer's outputs for the whole chunk
# (steps x windows x units) are held at once. On a CPU, 1,024 windows of 336 steps raised a forecast's peak memory by
# 430 MB, 585 of them by 190 MB, at the same speed (benchmarks/PERFORMANCE.md, section 28). A GPU keeps its larger calls.
PREDICT_STEPS = 2048 * 96
PREDICT_STEPS_GPU = 4096 * 96


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

    @functools.cached_property
    def truth(self) -> np.ndarray:
        """The targets as the file gave them (data.target_values), read once for every window forecast of this data."""
        return data.target_values(self.series, self.n_targets)

    @functools.cached_property
    def targets(self) -> np.ndarray:
        """The targets in the data's units (data.exact_targets): the file's values, the filled ones in its gaps."""
        return data.exact_targets(self.values, self.truth, self.run.prep)


@dataclass
class TestForecasts:
    """Every test window: where it starts, its actuals and each forecaster's output (data units)."""

    origins: np.ndarray  # row of the first forecast step of each window
    actual: np.ndarray  # (windows, horizon, targets)
    forecasts: dict[str, np.ndarray]  # model, naive, seasonal_naive -> same shape as actual
    model_quantiles: np.ndarray | None = None  # a quantile model's own quantiles (..., quantiles last)
    spread: np.ndarray | None = None  # (windows, 1, targets): the std of each window's inputs, data units
    observed: np.ndarray | None = None  # like actual: False where the target was missing in the file (filled)

    @property
    def scored(self) -> np.ndarray:
        """The actual values with NaN where they were missing in the file: what every score is taken over.

        `actual` keeps the filled values, which the calibration's residual pools are built on.
        """
        return self.actual if self.observed is None else np.where(self.observed, self.actual, np.nan)

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
        run.config.data, path=data_path, frequency=run.prep["frequency"], categories=run.prep.get("categories"),
        strict_frequency=data_path is not None,
    )
    prepared = _prepared(run, series, data_path)
    far = data.far_from_training(series, run.prep) if data_path is not None else []
    if far:  # said where --data's reading notes are (predict, evaluate)
        series.notes.append(data.far_note(far, Path(data_path).name))
    return prepared


def _in_the_runs_zone(run: Run, series: data.Series) -> data.Series:
    """Newer data's times in the zone the run was trained in, its calendar features computed there again.

    A run trained on times with changing offsets (summer and winter) holds them in UTC; newer data of winter
    alone (+01:00) was read in +01:00, so its hour-of-day features were an hour off the training's and the
    forecast changed with what the file held. A run trained on times without a zone cannot say which zone a
    zoned file's hours belong in: with calendar features that is refused.
    """
    index, seen = series.frame.index, pd.Timestamp(run.prep["last_seen"]) if run.prep.get("last_seen") else None
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None or seen is None:
        return series
    calendar = list(run.config.data.calendar)
    if seen.tz is None:
        if calendar:
            raise UserError(
                f"the times in {series.label} carry a time zone ({index.tz}), but the run was trained on times without "
                f"one, and its calendar features ({', '.join(calendar)}) read the hour and day in that local time. "
                "Write the file's times as the training file wrote them (local times, without offsets)."
            )
        return series
    if str(index.tz) == str(seen.tz):
        return series

    def moved(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        frame = frame.copy()
        frame.index = frame.index.tz_convert(seen.tz)
        if calendar:
            features = data.calendar_features(frame.index, calendar)
            for column in features.columns.intersection(frame.columns):
                frame[column] = features[column].to_numpy()
        return frame

    return replace(series, frame=moved(series.frame), future=moved(series.future))


def _prepared(run: Run, series: data.Series, data_path: Path | None) -> Prepared:
    if data_path is not None:
        series = _in_the_runs_zone(run, series)
    values, valid = data.prepare(series, run.prep)
    L = run.config.window.input_length
    if len(values) < L:
        raise UserError(
            f"{series.label} has {len(values)} row{'s' * (len(values) != 1)} on its grid, fewer than the model's "
            f"input_length of {L}. "
            "Give a file with at least that much history."
        )
    if data_path is None:
        test_lo = run.prep["val_end"]
    elif isinstance(series.index, pd.DatetimeIndex):
        last_seen = pd.Timestamp(run.prep["last_seen"])
        if series.index.tz is not None and last_seen.tz is None:
            last_seen = last_seen.tz_localize(series.index.tz)
        elif series.index.tz is None and last_seen.tz is not None:
            raise UserError(
                f"the times in {series.label} have no time zone, but the run was trained on times in {last_seen.tz} "
                f"(last seen {last_seen}). Write the zone in the file's times (e.g. 2024-01-01 00:00:00+00:00), so "
                "that no hour is misplaced."
            )
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
    size = _chunk_size(input_length)
    for i in range(0, len(starts), size):
        chunk = starts[i : i + size]
        inputs = values[chunk[:, None] + np.arange(input_length)]
        if n_known:
            known = values[chunk[:, None] + input_length + np.arange(horizon)][:, :, -n_known:]
            inputs = [inputs, known]
        out.append(np.asarray(_predict_chunk(model, inputs, len(chunk))))
    return np.concatenate(out) if out else np.empty((0,))


def predict_stacked(model, history: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    """Model forecasts for windows already gathered (windows, input_length, columns), in large chunks.

    A panel's windows come from many arrays (one per series), so they are stacked first; one
    compiled call per chunk instead of one per series. `known`: (windows, horizon, n_known).
    """
    size = _chunk_size(history.shape[1])
    out = [np.asarray(_predict_chunk(model, history[lo : lo + size] if known is None
                                     else [history[lo : lo + size], known[lo : lo + size]], len(history[lo : lo + size])))
           for lo in range(0, len(history), size)]
    return np.concatenate(out) if out else np.empty((0,))


def _chunk_size(input_length: int) -> int:
    """Windows per predict call: the device's chunk, fewer for windows so long that memory would not stay flat."""
    chunk, steps = (PREDICT_CHUNK_GPU, PREDICT_STEPS_GPU) if _on_gpu() else (PREDICT_CHUNK, PREDICT_STEPS)
    return max(1, min(chunk, steps // max(input_length, 1)))


@functools.cache
def _on_gpu() -> bool:
    import keras

    from rnnforecast import environment

    return environment.devices(keras.backend.backend())[0].startswith("GPU")


def _predict_chunk(model, inputs, n: int):
    """One compiled call per chunk: model.predict's own batching and data pipeline cost more
    than the forecast itself here (benchmarks/PERFORMANCE.md).

    A model built under a strategy over several devices (TensorFlow's MirroredStrategy) goes
    through model.predict instead, which splits the chunk over the devices:
    predict_on_batch would run the whole chunk on every device and return every copy.
    """
    _forecast_without_xla(model)
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow backend only
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        return model.predict(inputs, batch_size=n, verbose=0)
    return model.predict_on_batch(inputs)


def _forecast_without_xla(model) -> None:
    """On a CPU under TensorFlow, forecast through a plain graph even where training chose XLA.

    training.xla_on_cpu decides for the training step; a model compiled with XLA (and one loaded
    from such a run) would forecast through XLA too: a 2x64 GRU's forecasts measured 40% faster plain
    on a CPU, and a command is spared the compile (benchmarks/PERFORMANCE.md, section 27). The model
    keeps `jit_compile` as trained; only its forecast function (until a new compile) is plain.
    """
    import keras

    plain = getattr(model, "_plain_forecasts", None)
    if (getattr(model, "_jit_compile", None) is not True or (plain is not None and plain is model.predict_function)
            or keras.backend.backend() != "tensorflow" or _on_gpu()):
        return
    model.jit_compile = False
    try:
        model.make_predict_function(force=True)
    finally:
        model.jit_compile = True
    model._plain_forecasts = model.predict_function


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
    truth, targets = prepared.truth, prepared.targets  # data units, the file's values where it has them
    origins = starts + L
    output = predict_scaled(model, prepared.values, starts, L, H, data.n_known(run.config.data))
    point, quantiles = point_of(run.config.model.output.quantiles, output)
    rows = origins[:, None] + np.arange(H)
    return TestForecasts(
        origins,
        targets[rows],
        {"model": data.unscale(point, run.prep),
         **baseline_forecasts(targets, origins, H, int(run.prep["season_length"]))},
        None if quantiles is None else unscale_quantiles(quantiles, run.prep),
        spread(prepared, starts),
        ~np.isnan(truth[rows]),
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


def point_of(quantiles: list[float] | None, output: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The point forecast and the quantiles of a model output, for models with quantiles or without."""
    if not quantiles:
        return output, None
    middle = int(np.argmin(np.abs(np.asarray(quantiles) - 0.5)))
    return output[..., middle], output


def unscale_quantiles(values: np.ndarray, prep: dict) -> np.ndarray:
    """data.unscale for arrays whose last axis is the quantiles and the one before it the targets."""
    return np.moveaxis(data.unscale(np.moveaxis(values, -1, 0), prep), 0, -1)


def prepare_panel(
    run: Run,
    data_path: Path | None = None,
    only: list[str] | None = None,
    unseen: bool = False,
    notes: list[str] | None = None,
    panel: dict[str, data.Series] | None = None,
    too_short: dict[str, data.Series] | None = None,
) -> dict[str, Prepared]:
    """Each series of a panel run, prepared with its own fitted preprocessing.

    Args:
        run: a panel run.
        data_path: newer data (the training file when None).
        only: these series ids only; an id the file lacks is refused by name.
        unseen: series the model was never trained on (new ids in newer data) are prepared with
            preprocessing fitted on their own rows, so that a global model can forecast them;
            otherwise they are left out.
        notes: a list that gets one line for every kind of series left out or treated so, for the user.
        panel: the data, already read by `load_panel_of(run, data_path)` (a cluster worker reads it once).
        too_short: when given, the series with fewer rows than one input window go here (id -> Series), for the
            caller to forecast otherwise, instead of being left out (or refused when asked for by --series).

    Returns:
        Series id -> Prepared, in the file's order.
    """
    panel = load_panel_of(run, data_path) if panel is None else panel
    notes = notes if notes is not None else []
    source = Path(data_path or run.config.data.path).name
    wanted = only if only is not None else list(panel)
    empty = list(getattr(panel, "empty", []))
    asked = sorted(set(wanted) & set(empty)) if only is not None else []
    if asked:
        has, them = ("has", "it") if len(asked) == 1 else ("have", "them")
        raise UserError(
            f"series {', '.join(asked[:5])} of {source} {has} no value of {', '.join(run.config.data.targets)} at all: "
            f"there is nothing to forecast {them} from. Fill in {'its' if len(asked) == 1 else 'their'} history, or leave "
            f"{them} out of --series."
        )
    if empty:
        notes.append(data.empty_series_note(empty, run.config.data.targets, f"{len(empty)} series of {source}"))
    notes.extend(reading_notes([panel[key] for key in wanted if key in panel], data_path))
    absent = [key for key in wanted if key not in panel]
    if absent:
        close = _close_ids(absent[0], list(panel))
        hint = (f"Did you mean {' or '.join(map(repr, close))}?" if close else
                f"Use ids from that column, such as {', '.join(map(repr, list(panel)[:3]))}.")
        raise UserError(
            f"series {', '.join(map(repr, absent[:5]))} not found in {source} (column '{run.prep['id_column']}'). {hint}"
        )
    if too_short is not None:
        L = run.config.window.input_length
        too_short.update({key: panel[key] for key in wanted if key in panel and len(panel[key].frame) < L})
        wanted = [key for key in wanted if key not in too_short]
    left_out = set(run.prep.get("skipped", [])) - set(empty) if data_path is None else set()  # train's notes said why
    if only is not None and left_out & set(wanted):
        raise UserError(
            f"series {', '.join(sorted(left_out & set(wanted))[:5])} were left out when {run.path.name} was trained "
            "(too short, or their data refused: train's notes say which). Give them more history with --data."
        )
    dropped = [key for key in wanted if key in left_out]
    if dropped and unseen:  # predict's: said by train too, but a forecast that lacks series says so itself
        was, are = ("was", "is") if len(dropped) == 1 else ("were", "are")
        notes.append(f"{len(dropped)} series of {source} {was} left out when {run.path.name} was trained (too short, "
                     f"or their data refused: train's notes say which) and {are} not forecast: "
                     + data.id_examples(dropped))
    wanted = [key for key in wanted if key not in left_out]
    new = [key for key in wanted if key not in run.prep["series"]]
    if new and not unseen and only is not None:
        raise UserError(
            f"series {', '.join(new[:5])} of {source} were not among the series {run.path.name} was trained on, so "
            "they have no fitted scaling to score them with nor a test period of theirs to draw. `predict` forecasts "
            "them (with a note); `plot --series` takes the trained ones."
        )
    if new:
        notes.append(f"{len(new)} series of {source} {'was' if len(new) == 1 else 'were'} never seen in training"
                     + (", forecast with scaling fitted on their own rows: " if unseen else ", left out: ")
                     + ", ".join(new[:5]) + (" ..." if len(new) > 5 else ""))
    prepared, short, far = {}, [], []
    for key in wanted:
        if key in new and not unseen:
            continue
        try:
            own = run.prep["series"].get(key) or _own_preprocessing(run, panel[key])
            prepared[key] = _prepared(replace(run, prep=own), panel[key], data_path)
        except UserError as exc:
            short.append(f"{key} ({exc})" if len(short) < 3 else key)
            continue
        if data_path is not None and key in run.prep["series"] and data.far_from_training(panel[key], own):
            far.append(key)
    if far:
        notes.append(f"{len(far)} series of {source} {'is' if len(far) == 1 else 'are'} far outside the values the model was trained on (under 5% "
                     "of their values inside their training range, their median beyond it by over half its width): "
                     + data.id_examples(far) + ". " + data.FAR_ADVICE)
    if short:
        notes.append(f"{len(short)} series of {source} could not be prepared and are left out: " + "; ".join(short[:5])
                     + (" ..." if len(short) > 5 else ""))
    return prepared


def reading_notes(series: list, data_path: Path | None, most: int = 3) -> list[str]:
    """What reading newer data (--data) noticed, as `train` says it of its file: rows left out, cells filled.

    The training file's own were said by `train`; none then. A panel's: the first `most`, and how many more.
    """
    if data_path is None:
        return []
    found = list(dict.fromkeys(note for one in series for note in one.notes))
    return found[:most] + ([f"... and {len(found) - most} more such notes"] if len(found) > most else [])


def load_panel_of(run: Run, data_path: Path | None = None, only: list[str] | None = None) -> dict[str, data.Series]:
    """A panel run's training file, or newer data, read on the run's grid and categories (`only`: see load_panel)."""
    return data.load_panel(
        run.config.data, path=data_path, frequency=run.prep["frequency"], categories=run.prep.get("categories"),
        strict_frequency=data_path is not None, only=only,
    )


def _own_preprocessing(run: Run, series: data.Series) -> dict:
    """Preprocessing fitted on all of a new series' rows; static features keep the panel's scaling."""
    n = len(series.frame)
    some = next(iter(run.prep["series"].values()))
    fixed = {
        column: (some["center"][some["columns"].index(column)], some["scale"][some["columns"].index(column)])
        for column in run.config.data.static_features
    }
    return data.fit_preprocessing(series, data.Bounds(n, n, n), run.config.data, fixed, run.config.model.cycle)


def _close_ids(asked: str, ids: list) -> list:
    """The ids a mistyped --series value most likely meant: the same letters in another case first, then near spellings."""
    folded = [key for key in ids if str(key).casefold() == asked.casefold()]
    if folded:
        return folded[:2]
    by_text = {str(key): key for key in ids}
    return [by_text[text] for text in difflib.get_close_matches(asked, list(by_text), n=2, cutoff=0.7)]
