"""A config's data made ready for training: every series read, split, preprocessed and windowed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import data, metrics
from rnnforecast.config import Config
from rnnforecast.errors import UserError


@dataclass
class TrainingData:
    """What training needs from the data: the prepared array and where its windows start.

    For a panel (data.id_column) the series are stacked in one array and the window
    starts of each are offset into it, so that no window crosses from one series into
    the next; `prep["series"]` holds each series' own fitted preprocessing.
    """

    series: data.Series  # the only series, or the first of a panel: its columns and file
    bounds: data.Bounds  # the split of that series
    prep: dict
    values: np.ndarray
    starts: dict[str, np.ndarray]  # "train", "val" and "all" (every window of the file: the final model's)
    notes: list[str] = field(default_factory=list)
    valid: np.ndarray | None = None  # rows a window may use (gaps under data.missing: drop are not)
    offsets: dict[str, int] = field(default_factory=dict)  # a panel: the first row of each series in `values`
    indexes: dict[str, pd.Index] = field(default_factory=dict)  # a panel: each series' time index
    lookback: dict | None = None  # window.input_length auto or a list: the probes' record (training.lookback)


def prepare_data(config: Config, panel: dict[str, data.Series] | None = None) -> TrainingData:
    """Read, split, fit the preprocessing on the training rows, and index the windows.

    `starts` holds the training and validation windows, and under "all" every window
    of the file, which the final model (training.refit) is trained on. A config without
    window.input_length gets the derived one here (data.default_input_length), one with
    `auto` or a list the one its probes choose, so that the run's saved config says what
    was used. `panel`: the series, already read (the probes read the file once).
    """
    panel = data.load_panel(config.data) if panel is None else panel
    few = config.data.id_column and "split" not in config.data.model_fields_set and len(panel) < FEW_SERIES
    found = _few_series_split(config, panel) if few else None  # the panel default, not a split the user gave
    if not config.data.id_column and "split" not in config.data.model_fields_set:
        found = _short_series_split(config, panel)
    cut: list[str] = []  # a derived look-back a panel's short series cut: said
    lookback, prepared = found or (resolve_input_length(config, panel, cut), None)
    if prepared is None:
        prepared = _prepare(config, panel)
        prepared.notes.extend(cut)
    if lookback is not None:
        from rnnforecast.training.lookback import describe

        prepared.lookback = lookback
        prepared.notes.append(describe(lookback))
    return prepared


FEW_SERIES = 30  # a panel of fewer series than this gets fewer validation windows than this from its default split


def _few_series_split(config: Config, panel: dict[str, data.Series]) -> tuple | None:
    """A panel of a few long series: each split by fractions, where that gives more validation windows.

    The panel default (test and validation the last `horizon` steps of every series) suits
    many short series, a window each. Five stores with years of daily sales would get five
    validation windows: noise for early stopping and degenerate intervals. Then each series
    is split 70/15/15 instead (the look-back derived for that split), and `config` records it,
    so the run's saved config, which evaluate and predict read, says so. Returns the probes'
    record and the prepared data, or None to keep the default.
    """
    found = _with_split(config, panel, type(config.data.split)(train=0.7, val=0.15))
    if found is None or len(found[2].starts["val"]) <= len(panel):  # the default gives at most one per series
        return None
    lookback, prepared = _adopt(config, *found)
    prepared.notes.append(
        f"a panel of {len(panel)} series: each is split by fractions (train 0.7, validation 0.15, test the rest), "
        f"{len(prepared.starts['val'])} validation windows, rather than by its last {config.window.horizon} steps "
        "(one window per series). Set data.split to choose the split yourself."
    )
    return lookback, prepared


def _short_series_split(config: Config, panel: dict[str, data.Series]) -> tuple | None:
    """One series too short for the default fractions: the last horizon is the test period, the one before validation.

    With 70/15/15, a 108-row monthly series and a horizon of 18 leaves 16 validation rows, under one window, and
    `train` stopped there, while AutoETS and AutoTheta forecast such a series. The competitions split it by its last
    steps (panels already default to that), so a short series gets the same, and `config` records it. Returns the
    probes' record and the prepared data, or None to keep the fractions (long enough, or too short for either).
    """
    (series,) = panel.values()
    H = config.window.horizon
    train_end, val_end, n = data.split_rows(series, config.data)
    if val_end - train_end >= H and n - val_end >= H:
        return None
    found = _with_split(config, panel, type(config.data.split)(test_length=H))
    L = config.window.input_length if isinstance(config.window.input_length, int) else 1  # set, or the least
    if found is None and n - 2 * H < H + L:
        reads = f"{L} step{'s' * (L != 1)} to read" if isinstance(config.window.input_length, int) else "one step to read"
        raise UserError(
            f"{series.label} has {n} rows, too few for a training, a validation and a test window of horizon {H}: "
            f"split 70/15/15, validation gets {val_end - train_end} row{'s' * (val_end - train_end != 1)}; split by "
            f"its last horizons (test and validation {H} rows each), training keeps {max(n - 2 * H, 0)}, and a window "
            f"needs at least {H + L} ({reads} and {H} to forecast). Shorten window.horizon (at most "
            f"{max((n - L) // 3, 0)} here) or give the file more history."
        )
    if found is None:
        return None
    lookback, prepared = _adopt(config, *found)
    prepared.notes.append(
        f"{series.label} has {n} rows: its last {H} steps (one horizon) are the test period and the {H} before them "
        f"validation, since 15% of the rows ({val_end - train_end}) would not hold a window of {H} steps. "
        "Set data.split to choose the split yourself."
    )
    return lookback, prepared


def _with_split(config: Config, panel: dict[str, data.Series], split) -> tuple | None:
    """(trial config, look-back record, prepared data) under another default split; None where it does not fit."""
    trial = config.model_copy(deep=True)
    trial.data.split = split
    cut: list[str] = []
    try:
        lookback, prepared = resolve_input_length(trial, panel, cut), _prepare(trial, panel)
    except UserError:
        return None
    prepared.notes.extend(cut)
    return trial, lookback, prepared


def _adopt(config: Config, trial: Config, lookback, prepared) -> tuple:
    """Make a trial's split (and the look-back derived for it) the run's, so its saved config, which evaluate and
    predict read, says so."""
    config.data.split, config.window, config.model = trial.data.split, trial.window, trial.model
    return lookback, prepared


def _future_rows_note(series: data.Series, prep: dict, horizon: int) -> list[str]:
    """Say at train time what `predict` will refuse: future features missing on a step to forecast (a row left out
    after the last target); the training itself does not need them, and said only that a gap was filled."""
    if not prep.get("future_features"):
        return []
    try:
        data.known_future(series, prep, horizon)
    except UserError as exc:
        return [f"{exc} Until then `predict` refuses to forecast; training, evaluate and backtest do not need them."]
    return []


def _prepare(config: Config, panel: dict[str, data.Series]) -> TrainingData:
    if not config.data.id_column:
        (series,) = panel.values()
        bounds, prep, values, valid, starts = _prepare_one(series, config)
        notes = list(series.notes) + constant_notes(series, prep) + floor_notes(config, [prep])
        notes += _future_rows_note(series, prep, config.window.horizon)
        return TrainingData(series, bounds, prep, values, starts, notes, valid)
    kept, arrays, masks, offsets, indexes, skipped, untrained, notes = {}, [], [], {}, {}, [], [], []
    refused: list[str] = []  # series left out for another reason than their length, with that reason
    below_floor: list[tuple[str, data.FloorBroken]] = []  # a data.floor the series' training rows break: refused whole
    starts: dict[str, list] = {"train": [], "val": [], "all": []}
    offset, first = 0, None
    fixed = data.static_scaling(panel, list(config.data.static_features))
    for key, series in panel.items():
        try:
            bounds, prep, values, valid, own = _prepare_one(series, config, fixed)
        except data.FloorBroken as exc:
            below_floor.append((key, exc))
            continue
        except UserError:
            try:  # too short to split: still forecast, and trained on by the final model, when it holds a window
                prep, values, valid, own = _prepare_unsplit(series, config, fixed)
            except data.FloorBroken as exc:
                below_floor.append((key, exc))
                continue
            except UserError as exc:
                skipped.append(key)
                if len(series.frame) >= config.window.input_length:  # not too short: say what was wrong
                    refused.append(f"{key}: {exc}")
                continue
            untrained.append(key)
        else:
            first = first or (series, bounds)
        kept[key] = prep
        offsets[key], indexes[key] = offset, series.index
        arrays.append(values)
        masks.append(valid)
        for part in starts:
            starts[part].append(own.get(part, np.empty(0, dtype=np.int64)) + offset)
        offset += len(values)
        notes.extend(series.notes)
    if below_floor:
        shown = "; ".join(f"{key}: '{exc.target}' to {exc.lowest:g}" for key, exc in below_floor[:5])
        raise UserError(
            f"data.floor is {config.data.floor:g}, but {len(below_floor)} of {len(panel)} series of "
            f"{Path(config.data.path).name} go below it in their training rows ({shown}"
            f"{'; ...' if len(below_floor) > 5 else ''}). The floor applies to every series: set it to the lowest value "
            "the targets can take, to auto (0 for the series whose training rows are counts: whole numbers, never "
            "negative), or to none."
        )
    if first is None:
        longest, H = max(len(series.frame) for series in panel.values()), config.window.horizon
        raise UserError(
            f"no series in {Path(config.data.path).name} is long enough for a training, a validation and a test "
            f"window of horizon {H}: the longest has {longest} rows, and with its last horizon for the "
            f"test and the one before for validation, a horizon of at most {max((longest - 1) // 3, 0)} fits (with a "
            "look-back of 1). Shorten window.horizon (or window.input_length), change data.split, or give the series "
            "more history."
        )
    if len(notes) > 3:
        notes = notes[:3] + [f"... and {len(notes) - 3} more such notes"]
    if "" in panel:
        notes.append(f"{getattr(panel, 'blank_rows', 0) or len(panel[''].frame)} row(s) of {Path(config.data.path).name} have an empty "
                     f"{config.data.id_column} (data.id_column): they are read as one series with an empty id. "
                     "Fill in the id where they belong to a series.")
    empty = list(getattr(panel, "empty", []))  # rows without a single target value: left out when read
    if empty:
        skipped.extend(empty)
        notes.append(data.empty_series_note(empty, config.data.targets, f"{len(empty)} of {len(panel) + len(empty)} series"))
    if untrained:
        windowed = [key for key, found in zip(kept, starts["all"]) if key in untrained and len(found)]
        if not config.training.refit:
            final = "no model trains on them (training.refit is off)"
        elif len(windowed) == len(untrained):
            final = "the final model trains on their windows"
        else:
            final = (f"the final model trains on the windows of {len(windowed)} of them (the others hold fewer than "
                     f"input_length + horizon = {config.window.input_length + config.window.horizon} rows)")
        notes.append(f"{len(untrained)} of {len(panel)} series have no window in some part of the split (too short, or "
                     f"ending before data.split's dates): the honest model is not trained or scored on them, {final}, "
                     f"and `predict` forecasts them: {_examples(untrained)}")
    short = [key for key in skipped if key in panel and len(panel[key].frame) < config.window.input_length]
    if short:
        notes.append(f"{len(short)} of {len(panel)} series are shorter than one input window "
                     f"({config.window.input_length} steps) and are left out of training; `predict` forecasts them by "
                     f"AutoETS and AutoTheta where the forecast mixes those in (model.combine): {_examples(short)}")
    if refused:
        notes.append(f"{len(refused)} of {len(panel)} series are left out because their data were refused: "
                     + "; ".join(refused[:3]) + (f"; and {len(refused) - 3} more" if len(refused) > 3 else ""))
    notes.extend(floor_notes(config, list(kept.values())))
    shared = ("columns", "targets", "features", "known", "future_features", "calendar", "categories", "frequency",
              "missing", "scaling", "season_length")
    some = next(iter(kept.values()))
    prep = {key: some[key] for key in shared} | {
        "id_column": config.data.id_column, "series": kept, "untrained": untrained, "skipped": skipped,
        "too_short": short,  # of `skipped`: fewer rows than one input window (predict may forecast them otherwise)
    }
    stacked = {part: np.concatenate(found) for part, found in starts.items()}
    sample = validation_sample(stacked["val"], [len(found) for found in starts["val"]], config.training.seed,
                               VALIDATION_WINDOWS)
    if sample is not None:
        stacked["val_sample"], note = sample
        notes.append(note)
    return TrainingData(first[0], first[1], prep, np.concatenate(arrays), stacked, notes, np.concatenate(masks), offsets, indexes)


def constant_notes(series: data.Series, prep: dict) -> list[str]:
    """A note for each target of one series whose training rows never change (a launch: zeros, then sales).

    The honest model learns nothing there (a loss of 0), its MASE is undefined, and its intervals are calibrated on
    errors divided by windows with no spread: the user should hear it before reading any score.
    """
    notes = []
    rows = series.frame.iloc[: prep["train_end"]]
    for target in prep["targets"]:
        values, later = rows[target].dropna(), series.frame[target].iloc[prep["train_end"] :].dropna()
        # a series constant throughout is forecast as that value: nothing to say; one that changes later is a launch
        if len(values) and values.min() == values.max() and (later != values.iloc[0]).any():
            last = str(series.index[prep["train_end"] - 1]).removesuffix(" 00:00:00")
            notes.append(f"'{target}' never changes over its {prep['train_end']:,} training rows (every value "
                         f"{values.iloc[0]:g}, up to {last}): the honest model learns nothing from them, its MASE "
                         "is undefined and its intervals are calibrated on the change that follows. If the series "
                         "starts later (a launch), remove the rows before its start from the file; else move "
                         "data.split so that training holds its changes.")
    return notes


def floor_notes(config: Config, preps: list[dict]) -> list[str]:
    """What `data.floor: auto` decided, one note per target it floored (in how many series, for a panel).

    A target whose training rows never go below 0 but hold fractions gets no floor; `predict` says so where its
    forecast goes below 0 (forecasting.future.below_zero_notes).
    """
    if config.data.floor != "auto":
        return []
    notes = []
    for t, target in enumerate(config.data.targets):
        floored = sum(prep["floor"][t] is not None for prep in preps)
        if floored:
            where = f" in {floored} of {len(preps)} series" if config.data.id_column else ""
            notes.append(f"'{target}' holds whole numbers >= 0{where} in the training rows (counts): its forecasts and "
                         "interval bounds are kept at 0 or above (set data.floor: none to turn this off).")
    return notes


VALIDATION_WINDOWS = 200_000  # above this many, a panel's epochs are scored on a fixed sample of its series


def validation_sample(starts: np.ndarray, per_series: list[int], seed: int, cap: int):
    """(starts, note) of the validation windows each epoch is scored on, when a panel holds more than `cap`; else None.

    Every window of a fixed random sample of series (the same every epoch, so epochs compare),
    as many series as `cap` windows hold: the loss early stopping reads stays a few seconds
    however many series the panel has. The fitted highway, the calibration and `evaluate`
    still use every validation window.
    """
    if len(starts) <= cap:
        return None
    counts = np.asarray(per_series)
    series = np.repeat(np.arange(len(counts)), counts)  # the series of each window, in `starts`' order
    order = np.random.default_rng(seed).permutation(np.flatnonzero(counts))
    kept = order[: max(1, int(np.searchsorted(np.cumsum(counts[order]), cap, side="right")))]
    chosen = starts[np.isin(series, kept)]
    note = (f"each epoch's validation loss is scored on the {len(chosen):,} windows of {len(kept):,} of the "
            f"{np.count_nonzero(counts):,} series with validation windows, a fixed sample (all {len(starts):,} windows "
            f"are over {cap:,}); the fitted highway, the calibration and evaluate use every one")
    return chosen, note


def _examples(keys: list[str]) -> str:
    return data.id_examples(keys, 10)


def resolve_input_length(config: Config, panel: dict[str, data.Series], notes: list[str] | None = None) -> dict | None:
    """Set window.input_length from the season, the horizon and the typical series when the config leaves it out.

    `auto` or a list of candidates is chosen by probes (training.lookback); their record is returned. `notes` gets
    a line when a panel's short series cut the derived look-back (one 10-row series in nine: 28 days became 10).
    """
    window = config.window
    if window.input_length == "auto" or isinstance(window.input_length, list):
        from rnnforecast.training.lookback import choose_input_length

        return choose_input_length(config, panel)
    if window.input_length is not None:
        return None
    some = next(iter(panel.values()))
    season = config.data.season_length or data.season_length(some.frequency)
    span = max(season, window.horizon)
    few = len(panel) < FEW_SERIES  # one series or a few: each must keep a span of training windows of its own
    length = data.default_input_length(season, window.horizon, typical_training_rows(config, panel), span if few else 1)
    if len(panel) > 1:
        floor = min(length, span)  # never under a season or a horizon for a few short series
        lengths = [len(series.frame) for series in panel.values()]
        capped = min(length, data.panel_input_cap(lengths, floor))
        if capped < length and notes is not None:
            shorter = sum(n < length for n in lengths)
            notes.append(f"window.input_length: {capped} (derived), not {length}: {shorter} of the {len(panel)} series "
                         f"{'holds' if shorter == 1 else 'hold'} fewer than {length} rows, and a series shorter than the look-back gets no forecast from "
                         f"the network (the derived look-back fits {data.FORECAST_SHARE:.0%} of the series that hold {floor} rows). Set "
                         "window.input_length to choose.")
        length = capped
    window.input_length, config.model.segment_length = derived_segments(config, length)
    return None


def typical_training_rows(config: Config, panel: dict[str, data.Series]) -> int:
    """The median series' training rows (0 for a series too short to split): what a derived look-back must fit."""
    rows = []
    for series in panel.values():
        try:
            rows.append(data.split_rows(series, config.data)[0])
        except UserError:
            rows.append(0)
    return int(np.median(rows))


def derived_segments(config: Config, length: int) -> tuple[int, int | None]:
    """(input_length, segment_length) for a derived look-back: whole segments of a given segment_length,
    else (direct decoder) eight segments from 96 steps on (data.default_segments)."""
    seg = config.model.segment_length
    if seg is not None:
        return max(seg, length - length % seg), seg
    if config.model.decoder == "direct":
        return data.default_segments(length)
    return length, None


def _prepare_one(series: data.Series, config: Config, fixed: dict | None = None):
    """One series: split, fit its preprocessing on its training rows, prepare, index its windows."""
    bounds = data.split_bounds(series, config.data, config.window)
    prep = data.fit_preprocessing(series, bounds, config.data, fixed, config.model.cycle)
    values, valid = data.prepare(series, prep)
    train_targets = data.unscale(values[: bounds.train_end, : len(series.targets)], prep)
    prep["mase_scale"] = metrics.mase_scale(train_targets, prep["season_length"]).tolist()
    starts = {part: data.part_starts(valid, bounds, config.window, part) for part in ("train", "val")}
    starts["train"] = starts["train"][:: config.window.stride]
    for part, found in starts.items():
        if len(found) == 0:
            raise UserError(
                f"no complete {part} window is left after the gaps in {series.label} were dropped "
                "(data.missing: drop). Use data.missing: interpolate, or a shorter window."
            )
    L, H = config.window.input_length, config.window.horizon
    starts["all"] = data.window_starts(valid, L, H, 0, len(values), config.window.stride)
    return bounds, prep, values, valid, starts


def _prepare_unsplit(series: data.Series, config: Config, fixed: dict | None = None):
    """A panel series too short for the split: preprocessing fitted on all its rows, every window it holds.

    It must hold one input window, so that `predict` can forecast it.
    """
    n = len(series.frame)
    L, H = config.window.input_length, config.window.horizon
    if n < L:
        raise UserError(f"{series.label} has {n} rows, fewer than input_length {L}")
    prep = data.fit_preprocessing(series, data.Bounds(n, n, n), config.data, fixed, config.model.cycle)
    values, valid = data.prepare(series, prep)
    prep["mase_scale"] = metrics.mase_scale(data.unscale(values[:, : len(series.targets)], prep), prep["season_length"]).tolist()
    return prep, values, valid, {"all": data.window_starts(valid, L, H, 0, n, config.window.stride)}
