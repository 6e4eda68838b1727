"""The typed config schema: every section and key, its default, and the checks across keys.

A config is a YAML file with four sections (data, window, model, training) and an
optional `run` section. Every key has a default except `data.path` and
`data.targets`, so a user writes only what differs. Unknown keys, wrong types and
out-of-range values are refused here, before any data is read.
"""

from __future__ import annotations

import datetime
import math
import os
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, ValidationError, field_validator, model_validator

from rnnforecast.config.types import (
    Activation,
    CalendarFeatures,
    CalibrationMethod,
    CellType,
    Column,
    Columns,
    DateText,
    DecoderType,
    DuplicatePolicy,
    Float,
    Floor,
    InputLength,
    Fraction,
    Int,
    LossName,
    MissingMarkers,
    MissingPolicy,
    OptimizerName,
    PosInt,
    Precision,
    Rate,
    Scaling,
    Section,
    Str,
    WindowNorm,
)
from rnnforecast.errors import UserError


class SplitConfig(Section):
    """Chronological split: by fractions of the rows, by the last steps, by dates, or by row index.

    By the last steps (the forecasting competitions' protocol, for one series or every
    series of a panel): the last `test_length` rows are the test period and the
    `val_length` rows before them (default: as many) validation. By row index (the LTSF
    benchmark protocol): training targets are rows [0, train_end), validation
    [train_end, val_end), test [val_end, test_end); rows from test_end on are unused.
    With none of these given, a panel is split by its horizon (test and validation the
    last `window.horizon` steps of every series each) and one series by fractions.
    """

    train: Optional[Fraction] = None  # 0.7 when the split is by fractions
    val: Optional[Fraction] = None  # 0.15 when the split is by fractions
    test_length: Optional[PosInt] = None
    val_length: Optional[PosInt] = None
    val_start: Optional[DateText] = None
    test_start: Optional[DateText] = None
    train_end: Optional[PosInt] = None
    val_end: Optional[PosInt] = None
    test_end: Optional[PosInt] = None

    @property
    def fractions(self) -> tuple[float, float]:
        return (0.7 if self.train is None else self.train, 0.15 if self.val is None else self.val)

    @property
    def by_fractions(self) -> bool:
        return self.test_length is None and self.val_start is None and self.train_end is None

    @model_validator(mode="after")
    def _check(self) -> "SplitConfig":
        kinds = [
            name
            for name, keys in (
                ("fractions (train, val)", ("train", "val")),
                ("last steps (test_length, val_length)", ("test_length", "val_length")),
                ("dates (val_start, test_start)", ("val_start", "test_start")),
                ("rows (train_end, val_end, test_end)", ("train_end", "val_end", "test_end")),
            )
            if any(getattr(self, key) is not None for key in keys)
        ]
        if len(kinds) > 1:
            raise ValueError(f"split one way only; this split gives {' and '.join(kinds)}")
        if self.val_length is not None and self.test_length is None:
            raise ValueError("val_length needs test_length (the steps at the end that are the test period)")
        rows = (self.train_end, self.val_end, self.test_end)
        if any(r is not None for r in rows):
            if any(r is None for r in rows):
                raise ValueError("give all of train_end, val_end and test_end (row numbers), or none of them")
            if not self.train_end < self.val_end < self.test_end:
                raise ValueError(
                    f"train_end ({self.train_end}) < val_end ({self.val_end}) < test_end ({self.test_end}) must hold"
                )
            return self
        if (self.val_start is None) != (self.test_start is None):
            raise ValueError("give both val_start and test_start (dates), or neither to split by fractions")
        train, val = self.fractions
        if self.by_fractions and train + val >= 1:
            raise ValueError(f"train + val is {train + val:g}, which leaves no test rows; make it less than 1")
        return self


class DataConfig(Section):
    path: Str
    time_column: Union[Column, Annotated[list[Column], Field(min_length=1)], None] = None
    targets: Annotated[Columns, Field(min_length=1)]
    features: Columns = []
    categorical: Columns = []
    future_features: Columns = []
    static_features: Columns = []
    calendar: CalendarFeatures = []
    id_column: Optional[Column] = None
    frequency: Optional[Str] = None
    decimal: Annotated[Str, Field(min_length=1, max_length=1)] = "."
    thousands: Optional[Annotated[Str, Field(min_length=1, max_length=1)]] = None
    missing_values: MissingMarkers = []  # cells that mean "no value" besides the usual markers (a sentinel: -999)
    missing: MissingPolicy = "interpolate"
    duplicates: DuplicatePolicy = "auto"  # mean, but many repeats (several series in one file) refused
    scaling: Scaling = "standard"
    season_length: Optional[PosInt] = None
    split: SplitConfig = SplitConfig()
    # the lowest value a target can take; forecasts and interval bounds are kept at or above it. auto: 0 for a
    # target whose training rows are all whole numbers >= 0 (counts: units sold, visitors), else none
    floor: Floor = "auto"

    @model_validator(mode="after")
    def _check(self) -> "DataConfig":
        both = sorted(set(self.targets) & set(self.features + self.categorical + self.future_features + self.static_features))
        if both:
            raise ValueError(f"{', '.join(both)} is both a target and an input; targets are always inputs too")
        if self.static_features and not self.id_column:
            raise ValueError("static_features describe each series of a panel; they need data.id_column")
        lists = [self.features, self.categorical, self.future_features, self.static_features]
        named = [c for group in lists for c in group]
        if len(set(named)) != len(named):
            raise ValueError("a column is listed twice among features, categorical and future_features; keep one")
        if self.id_column is not None and self.id_column in named + list(self.targets):
            raise ValueError(f"id_column '{self.id_column}' names the series; it cannot also be a target or an input")
        times = [self.time_column] if isinstance(self.time_column, str) else list(self.time_column or [])
        clash = [c for c in times if c in named + list(self.targets) + [self.id_column]]
        if clash:
            role = ("the id_column" if clash[0] == self.id_column else
                    "a target" if clash[0] in self.targets else "an input")
            raise ValueError(f"time_column '{clash[0]}' is also {role}; the time column holds the rows' times only. "
                             "Name the column of dates or times as time_column")
        if self.decimal == self.thousands:
            raise ValueError("decimal and thousands are the same character")
        if len(set(self.targets)) != len(self.targets):
            raise ValueError("targets lists a column twice")
        twice = sorted({c for c in self.calendar if list(self.calendar).count(c) > 1})
        if twice:
            raise ValueError(f"calendar lists {', '.join(twice)} twice; keep one")
        return self


class WindowConfig(Section):
    """input_length left out is derived from the season and the horizon when the data are read
    (data.default_input_length); `auto` or a list of candidates is chosen by short probes on the
    validation windows (training.lookback), and the run's saved config holds the one chosen."""

    input_length: InputLength = None
    horizon: PosInt = 12
    stride: PosInt = 1


class LayerConfig(Section):
    units: PosInt = 64
    dropout: Rate = 0.0
    recurrent_dropout: Rate = 0.0  # > 0 leaves the fused cuDNN kernel
    activation: Activation = "tanh"  # anything but tanh leaves the fused cuDNN kernel


class OutputConfig(Section):
    """quantiles: train on the pinball loss with one output per quantile (monotone: they never cross)."""

    quantiles: Optional[Annotated[list[Fraction], Field(min_length=2)]] = None

    @model_validator(mode="after")
    def _check(self) -> "OutputConfig":
        if self.quantiles is not None and sorted(set(self.quantiles)) != list(self.quantiles):
            raise ValueError("quantiles must be distinct and in increasing order, e.g. [0.1, 0.5, 0.9]")
        if self.quantiles is not None and 0.5 not in self.quantiles:
            raise ValueError(f"quantiles {self.quantiles} need 0.5 among them: the model's median is its point "
                             "forecast, e.g. [0.1, 0.5, 0.9]")
        return self


class ModelConfig(Section):
    """A stacked recurrent network and the options that make it strong on long horizons.

    normalization subtracts each window's last value or mean per channel (and, with
    normalization_scale, divides by the window's std: RevIN; auto: for a panel only); it is
    undone on the output.
    segment_length cuts the look-back into segments, each embedded by a dense layer, so the
    recurrence runs over segments, not points. channel_independence passes each channel
    through the same weights as its own sample. decoder: segments runs one recurrent step
    per output segment from the encoder's final state, with a learned position embedding
    (SegRNN's parallel multi-step forecasting); direct maps the final state to the horizon.
    ensemble trains that many copies of the network side by side, each from its own
    initial weights and fitted on its own, and forecasts their mean.
    cycle learns one pattern of a cycle (the season, or that many steps) per column,
    indexed by each row's position in it, takes it out of the window and puts it back on
    the forecast: the network forecasts what the cycle does not explain (CycleNet).
    combine (a panel's point forecast): the network's averaged with AutoETS's (ets), AutoTheta's
    (theta) or both (ets+theta); auto is a panel's network and both in equal thirds
    (benchmarks/DEFAULTS.md, rounds 15 and 24). Under auto, one series of fewer than 2,000 rows that
    reads no other columns is averaged with both (rounds 21 and 22), and one whose network is
    still its seasonal-naive start on every validation window is forecast by their mean (round
    20); other single series keep the network.
    """

    type: CellType = "lstm"
    layers: Annotated[list[LayerConfig], Field(min_length=1)] = [LayerConfig()]
    bidirectional: bool = False
    normalization: WindowNorm = "last"  # the defaults were chosen on a development collection: benchmarks/DEFAULTS.md
    # auto: a panel's windows are scaled (their series differ in volatility), one series' are not (DEFAULTS.md, round 11)
    normalization_scale: Union[bool, Literal["auto"]] = "auto"
    segment_length: Optional[PosInt] = None
    channel_independence: bool = False
    decoder: DecoderType = "direct"
    head_dropout: Rate = 0.0
    highway: Union[bool, Literal["seasonal", "fitted"]] = "fitted"  # benchmarks/DEFAULTS.md, round 7
    highway_fit: Literal["squared", "absolute"] = "squared"  # the error a fitted highway's map minimises
    freeze_highway: bool = False  # the highway keeps its start; the network learns what it misses
    output: OutputConfig = OutputConfig()
    ensemble: Annotated[Int, Field(ge=1, le=64)] = 1  # bounded: a typo must not build thousands of models
    combine: Literal["auto", "none", "ets", "theta", "ets+theta"] = "auto"
    # CycleNet's residual cycle: true learns a pattern of the data's season (24 hourly, 96 for 15 minutes), a number
    # a pattern of that many steps, auto the season's where it is longer than 1; false: off
    cycle: Union[bool, PosInt, Literal["auto"]] = False

    @model_validator(mode="after")
    def _check(self) -> "ModelConfig":
        if self.output.quantiles and (self.decoder != "direct" or self.channel_independence):
            raise ValueError("model.output.quantiles needs the direct decoder without channel_independence")
        if self.normalization_scale is True and self.normalization == "none":
            raise ValueError("normalization_scale needs normalization: last or mean (the level to subtract first)")
        if self.highway_fit != "squared" and self.highway != "fitted":
            raise ValueError("highway_fit says how a fitted highway is solved, so it needs highway: fitted")
        if self.freeze_highway and self.highway not in ("seasonal", "fitted"):
            raise ValueError("freeze_highway keeps the highway's start, so it needs highway: seasonal or fitted")
        if self.decoder == "segments":
            if self.segment_length is None:
                raise ValueError("decoder: segments needs segment_length (the output is cut into segments of that length)")
            if self.bidirectional:
                raise ValueError("decoder: segments runs the recurrence forward over the output; set bidirectional: false")
        return self


class OptimizerConfig(Section):
    name: OptimizerName = "adam"
    learning_rate: Annotated[Float, Field(gt=0)] = 1e-3
    clipnorm: Optional[Annotated[Float, Field(gt=0)]] = None
    weight_decay: Annotated[Float, Field(ge=0)] = 0.0

    @model_validator(mode="before")
    @classmethod
    def _a_name_alone(cls, value: Any) -> Any:
        """`optimizer: adam`, as Keras's compile takes it, is the optimizer of that name at its defaults."""
        return {"name": value} if isinstance(value, str) else value


class EarlyStoppingConfig(Section):
    patience: PosInt = 5
    min_delta: Annotated[Float, Field(ge=0)] = 0.0


class ReduceLRConfig(Section):
    patience: PosInt = 3
    factor: Fraction = 0.5
    min_learning_rate: Annotated[Float, Field(ge=0)] = 1e-6


class LRDecayConfig(Section):
    """The learning rate holds for `after` epochs, then shrinks by `factor` every epoch.

    The schedule SegRNN and LTSF-Linear train with ("type3"): it ignores the validation
    loss, so a noisy validation set cannot cut the rate too early.
    """

    after: Annotated[Int, Field(ge=0)] = 3
    factor: Fraction = 0.9


class TrainingConfig(Section):
    epochs: PosInt = 20
    batch_size: PosInt = 32
    seed: Annotated[Int, Field(ge=0, lt=2**32)] = 0  # what NumPy and TensorFlow take
    loss: LossName = "mae"  # chosen on the development collection: benchmarks/DEFAULTS.md (round 2)
    optimizer: OptimizerConfig = OptimizerConfig()
    early_stopping: Optional[EarlyStoppingConfig] = EarlyStoppingConfig()
    reduce_lr: Optional[ReduceLRConfig] = ReduceLRConfig()
    lr_decay: Optional[LRDecayConfig] = None
    shuffle: bool = True
    # At most this many batches per epoch, a fresh sample of the windows each epoch: for series
    # so long that one pass over every window is more than an epoch should be.
    steps_per_epoch: Optional[PosInt] = None
    # auto: mixed float16 on a GPU with tensor cores (compute capability 7.0 or newer), float32 elsewhere.
    precision: Precision = "auto"
    # XLA for the training step on a CPU: auto times a few batches both ways and keeps the faster
    # (only for a recurrence of 24 steps or more trained for 500 batches or more); true or false forces it.
    xla: Union[bool, Literal["auto"]] = "auto"
    # After the honest fit, train the final model on every window of the file, validation and test included,
    # for the best epoch count at the same learning rates; `predict` forecasts with it, `evaluate` never does.
    refit: bool = True

    @model_validator(mode="after")
    def _one_schedule(self):
        if self.lr_decay is not None and self.reduce_lr is not None:
            if "reduce_lr" in self.model_fields_set:
                raise ValueError("lr_decay and reduce_lr both set the learning rate; set reduce_lr: null to use lr_decay")
            self.reduce_lr = None  # the default plateau schedule gives way to an explicit decay
        return self


class RunConfig(Section):
    """Where runs are written: `dir/<name>-<date>-<time>`; name defaults to the config file's stem."""

    dir: Str = "runs"
    name: Optional[Str] = None

    @field_validator("dir")
    @classmethod
    def _home_expanded(cls, folder):  # `~/runs`: pandas expanded it, os.makedirs did not (a folder named ~ here)
        return os.path.expanduser(folder)

    @field_validator("name", mode="before")
    @classmethod
    def _name_as_written(cls, name):  # `name: 2024` or `2024-01-01`: YAML's number or date, the text the user wrote
        if isinstance(name, (int, datetime.date)) and not isinstance(name, bool):
            return str(name)
        return name

    @field_validator("name")
    @classmethod
    def _name_is_a_name(cls, name):
        if name is not None:
            if not name.strip() or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
                raise ValueError(
                    "must be a plain folder name (no '/', no '..'); run.dir says which folder the runs go in"
                )
            if name.startswith("."):
                raise ValueError("starts with '.', which would hide the run; drop the dot")
            if len(name.encode()) > 120:
                raise ValueError(f"is {len(name.encode())} bytes long; at most 120 (a date and time are added to it)")
        return name


class CalibrationConfig(Section):
    """Quantiles of the forecast, conformally calibrated per horizon step (see intervals.py).

    rolling: at each forecast origin, the last `window` errors known by then (validation
    windows, then every later window whose targets are observed); split: the validation
    windows only. `window` defaults to the number of validation windows. `gamma` adds
    adaptive conformal inference to rolling, its level kept at or above `floor` times the
    nominal miss rate. The defaults were chosen on data sets the interval targets are not
    measured on (benchmarks/RESULTS.md, the calibration study).
    """

    quantiles: Annotated[list[Fraction], Field(min_length=1)] = [0.1, 0.5, 0.9]
    method: CalibrationMethod = "rolling"
    window: Optional[PosInt] = None
    # rolling only: adaptive conformal inference, the miscoverage level moves by this step after each observed window
    gamma: Optional[Rate] = 0.005  # 0 or null: off
    # rolling with gamma: the level never falls below floor x (1 - coverage), so a burst of misses cannot widen
    # the interval past that level's (0.25: an 80% interval at most as wide as the 95% one); 0 or null: no bound
    floor: Optional[Rate] = 0.25

    @model_validator(mode="after")
    def _check(self) -> "CalibrationConfig":
        if sorted(set(self.quantiles)) != list(self.quantiles):
            raise ValueError("quantiles must be distinct and in increasing order, e.g. [0.1, 0.5, 0.9]")
        if self.method == "split":
            given = [key for key in ("window", "gamma", "floor") if key in self.model_fields_set and getattr(self, key) is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)}: window, gamma and floor apply to method: rolling (split uses every "
                    "validation window, as it is); remove them or use rolling"
                )
            self.gamma = self.floor = None  # the defaults are rolling's: a split config saves without them
        problem = window_too_small(self.window, self.quantiles)
        if problem:
            raise ValueError(problem)
        return self


def windows_needed(quantiles: list[float]) -> int:
    """Errors the outer quantiles need for their conformal rank to fall inside 1..n: 9 for 0.1 and 0.9."""
    levels = [q for q in quantiles if q != 0.5]
    return max([math.ceil(1 / min(q, 1 - q) - 1e-9) - 1 for q in levels] or [0])


def window_too_small(window: int | None, quantiles: list[float]) -> str | None:
    """Why a rolling window of this many errors cannot hold these quantiles' level, or None.

    With n errors the q-quantile's conformal rank falls outside 1..n below 1 / min(q, 1 - q) - 1 (9 for 0.1
    and 0.9): a window of 1 made every quantile that one error, a zero-width interval beside the forecast.
    """
    levels, needed = [q for q in quantiles if q != 0.5], windows_needed(quantiles)
    if window is None or window >= needed:
        return None
    return (f"window {window} keeps too few errors for the quantiles {min(levels):g} and {max(levels):g}: they need "
            f"at least {needed} to hold their level (with fewer, the interval collapses onto the extreme errors); "
            f"give a window of {needed} or more, or leave it out (all the validation windows)")


Objective = Literal["mae", "rmse", "mape", "smape", "mase", "scaled_mae", "val_loss"]


PrunerName = Literal["median", "hyperband", "none"]


class TuneConfig(Section):
    """The hyperparameter search of `rnnforecast tune` (ignored by `train`).

    space maps a config key (as in --set: `model.layers[0].units`, plus `model.n_layers`)
    to a list of choices, `{int: [low, high], log: bool, step: n}` or `{float: [low, high],
    log: bool, step: x}`. The objective is scored on the validation windows, never the test.
    """

    space: Annotated[dict[Str, Any], Field(min_length=1)]
    objective: Objective = "mae"
    trials: PosInt = 20
    timeout_minutes: Optional[Annotated[Float, Field(gt=0)]] = None
    pruner: PrunerName = "median"
    seed: Annotated[Int, Field(ge=0, lt=2**32)] = 0  # what NumPy and TensorFlow take


class Config(Section):
    data: DataConfig
    window: WindowConfig = WindowConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    run: RunConfig = RunConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    tune: Optional[TuneConfig] = None

    @model_validator(mode="after")
    def _check_model_fits_data(self) -> "Config":
        model, window, split = self.model, self.window, self.data.split
        if self.data.id_column and split.by_fractions and split.train is None and split.val is None:
            split.test_length = split.val_length = window.horizon  # a panel's default: the competition split
        elif split.by_fractions:
            split.train, split.val = split.fractions  # written out, so the saved config says what was used
        if model.normalization_scale == "auto":  # resolved here, so every later step and the saved config see a bool
            model.normalization_scale = bool(self.data.id_column) and model.normalization != "none"
        lengths = window.input_length if isinstance(window.input_length, list) else [window.input_length]
        for length in lengths:
            if model.segment_length is not None and isinstance(length, int) and length % model.segment_length:
                raise ValueError(
                    f"model.segment_length {model.segment_length} does not divide window.input_length "
                    f"{length}; the segments must cover the look-back exactly. Choose a segment_length "
                    f"that divides it (or an input_length that is a multiple of {model.segment_length})"
                )
        known = list(self.data.future_features) + list(self.data.calendar)
        if known and model.cycle == "auto":  # auto: where it applies; the positions come from the time alone
            model.cycle = False
        if known and model.cycle is not False:
            raise ValueError(
                f"model.cycle reads each row's position in the cycle from the time column; it cannot be combined "
                f"with known-future inputs ({', '.join(known)}) yet. Remove those, or set model.cycle: false"
            )
        if known and (model.channel_independence or model.decoder != "direct"):
            raise ValueError(
                f"known-future inputs ({', '.join(known)}) are fed to the direct dense head; they cannot be used with "
                "model.channel_independence or model.decoder: segments. Remove them or use the direct decoder"
            )
        own = model.output.quantiles
        if own and "quantiles" in self.calibration.model_fields_set and list(self.calibration.quantiles) != list(own):
            raise ValueError(
                f"calibration.quantiles {list(self.calibration.quantiles)} differ from model.output.quantiles {own}: a "
                "quantile model's intervals are its own quantiles, recalibrated. Leave calibration.quantiles out, or "
                "give both the same list"
            )
        if own:
            self.calibration.quantiles = list(own)  # what is calibrated, written out in the run's config.yaml
        extra = list(self.data.features) + list(self.data.categorical) + list(self.data.static_features) + known
        if model.channel_independence and extra:
            raise ValueError(
                f"model.channel_independence passes each target through the same weights as its own sample, so "
                f"every input must be a target; data has the extra inputs {', '.join(extra)}. Move them to "
                "data.targets, remove them, or set channel_independence: false"
            )
        return self


def parse_quantiles(text: str) -> list[float]:
    """`--quantiles 0.1,0.5,0.9` checked like calibration.quantiles in a config."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
        return CalibrationConfig(quantiles=values).quantiles
    except (ValueError, ValidationError):
        raise UserError(
            f"--quantiles {text!r} must be increasing numbers between 0 and 1, separated by commas (0.1,0.5,0.9)."
        ) from None


def check_model_quantiles(config: "Config", quantiles: list[float]) -> None:
    """`calibrate --quantiles` on a quantile model: its intervals are its own quantiles, so another list is refused
    (as train refuses it in the config), not silently replaced by the model's."""
    own = config.model.output.quantiles
    if own and list(quantiles) != list(own):
        raise UserError(
            f"--quantiles {','.join(f'{q:g}' for q in quantiles)} differ from the model's own quantiles "
            f"({','.join(f'{q:g}' for q in own)}, model.output.quantiles): a quantile model's intervals are its own "
            "quantiles, recalibrated. Leave --quantiles out, or train a model with the quantiles you want."
        )


def calibration_settings(current: CalibrationConfig, **changes) -> CalibrationConfig:
    """A run's calibration section with `calibrate`'s options applied (None: keep), checked like the config."""
    values = current.model_dump()
    if changes.get("method") == "split":
        values.update(window=None, gamma=None, floor=None)  # what rolling needed does not carry over
    values.update({key: value for key, value in changes.items() if value is not None})
    rolling_only = [f"--{key}" for key in ("window", "gamma", "floor") if changes.get(key) is not None]
    if values["method"] == "split" and rolling_only:
        one = len(rolling_only) == 1
        raise UserError(f"{' and '.join(rolling_only)} {'applies' if one else 'apply'} to --method rolling only (split "
                        f"uses every validation window, as it is): remove {'it' if one else 'them'}, or use --method "
                        "rolling.")
    problem = window_too_small(values["window"], values["quantiles"]) if values["method"] == "rolling" else None
    if problem:
        raise UserError(f"--{problem.replace('give a window of', 'give --window')}.")
    try:
        return CalibrationConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'calibration'}: {err['msg']}" for err in exc.errors())
        raise UserError(
            f"calibrate options rejected ({problems}). --method is rolling or split, --window a positive whole "
            "number of windows, --gamma a step from 0 (off) to below 1, --floor from 0 (no bound) to below 1; --window, "
            "--gamma and --floor go with rolling."
        ) from None
