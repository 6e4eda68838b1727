"""Train a model from a config and write the run folder."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from rnnforecast import config as config_module
from rnnforecast import checkpoints, data, environment, metrics, runs
from rnnforecast.config import Config
from rnnforecast.errors import UserError


class NaNLoss(Exception):
    """Raised by the NaN guard; turned into a UserError that names the epoch."""


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


def prepare_data(config: Config) -> TrainingData:
    """Read, split, fit the preprocessing on the training rows, and index the windows.

    `starts` holds the training and validation windows, and under "all" every window
    of the file, which the final model (training.refit) is trained on. A config without
    window.input_length gets the derived one here (data.default_input_length), so that
    the run's saved config says what was used.
    """
    panel = data.load_panel(config.data)
    resolve_input_length(config, panel)
    if not config.data.id_column:
        (series,) = panel.values()
        bounds, prep, values, valid, starts = _prepare_one(series, config)
        return TrainingData(series, bounds, prep, values, starts, series.notes, valid)
    kept, arrays, masks, offsets, indexes, skipped, untrained, notes = {}, [], [], {}, {}, [], [], []
    starts: dict[str, list] = {"train": [], "val": [], "all": []}
    offset, first = 0, None
    fixed = data.static_scaling(panel, list(config.data.static_features))
    for key, series in panel.items():
        try:
            bounds, prep, values, valid, own = _prepare_one(series, config, fixed)
        except UserError:
            try:  # too short to split: still forecast, and trained on by the final model, when it holds a window
                prep, values, valid, own = _prepare_unsplit(series, config, fixed)
            except UserError:
                skipped.append(key)
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
    if first is None:
        raise UserError(
            f"no series in {Path(config.data.path).name} is long enough for a training, a validation and a test "
            f"window (input_length {config.window.input_length}, horizon {config.window.horizon}). "
            "Shorten the window or change data.split."
        )
    if len(notes) > 3:
        notes = notes[:3] + [f"... and {len(notes) - 3} more such notes"]
    if untrained:
        notes.append(f"{len(untrained)} of {len(panel)} series are too short for a window in every part of the split: "
                     f"the honest model is not trained or scored on them, the final model is, and `predict` forecasts "
                     f"them: {_examples(untrained)}")
    if skipped:
        notes.append(f"{len(skipped)} of {len(panel)} series are shorter than one input window "
                     f"({config.window.input_length} steps) and are left out: {_examples(skipped)}")
    shared = ("columns", "targets", "features", "known", "future_features", "calendar", "categories", "frequency",
              "missing", "scaling", "season_length")
    some = next(iter(kept.values()))
    prep = {key: some[key] for key in shared} | {
        "id_column": config.data.id_column, "series": kept, "untrained": untrained, "skipped": skipped
    }
    stacked = {part: np.concatenate(found) for part, found in starts.items()}
    return TrainingData(first[0], first[1], prep, np.concatenate(arrays), stacked, notes, np.concatenate(masks), offsets, indexes)


def _examples(keys: list[str]) -> str:
    return ", ".join(map(str, keys[:10])) + (" ..." if len(keys) > 10 else "")


def resolve_input_length(config: Config, panel: dict[str, data.Series]) -> None:
    """Set window.input_length from the season, the horizon and the typical series when the config leaves it out."""
    window = config.window
    if window.input_length is not None:
        return
    some = next(iter(panel.values()))
    season = config.data.season_length or data.season_length(some.frequency)
    rows = []
    for series in panel.values():
        try:
            rows.append(data.split_rows(series, config.data)[0])
        except UserError:
            rows.append(0)
    length = data.default_input_length(season, window.horizon, int(np.median(rows)))
    seg = config.model.segment_length
    if seg is not None:
        length = max(seg, length - length % seg)
    window.input_length = length


def _prepare_one(series: data.Series, config: Config, fixed: dict | None = None):
    """One series: split, fit its preprocessing on its training rows, prepare, index its windows."""
    bounds = data.split_bounds(series, config.data, config.window)
    prep = data.fit_preprocessing(series, bounds, config.data, fixed)
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
    prep = data.fit_preprocessing(series, data.Bounds(n, n, n), config.data, fixed)
    values, valid = data.prepare(series, prep)
    prep["mase_scale"] = metrics.mase_scale(data.unscale(values[:, : len(series.targets)], prep), prep["season_length"]).tolist()
    return prep, values, valid, {"all": data.window_starts(valid, L, H, 0, n, config.window.stride)}


def build(config: Config, n_inputs: int, season: int = 1):
    """The seeded, compiled model for this config and this many input columns (`season`: the data's)."""
    keras = environment.import_keras()
    from rnnforecast import models

    _seed(config)
    keras.config.set_dtype_policy(_precision(config))  # process-wide: set on every build
    model = models.build_model(
        config.model,
        config.window.input_length,
        n_inputs,
        config.window.horizon,
        len(config.data.targets),
        n_known=data.n_known(config.data),
        season=season,
    )
    model.compile(optimizer=_optimizer(config), loss=_loss(config), jit_compile=True if _xla_on_cpu(config) else "auto")
    return model


def fit(
    model,
    prepared: TrainingData,
    config: Config,
    verbose: int | None = None,
    checkpoint_dir: Path | None = None,
    resume_state: dict | None = None,
    extra_callbacks: list | None = None,
):
    """Keras's fit loop over window batches with early stopping, LR schedule and the NaN guard.

    With `checkpoint_dir`, every epoch is checkpointed there; `resume_state` (a
    checkpoint) continues from its epoch. The model ends with the weights of the best
    validation epoch. Returns Keras's History; its `history` covers every epoch run.
    """
    keras = environment.import_keras()
    callbacks = _callbacks(config) + list(extra_callbacks or [])
    early = next((c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None)
    reduce = next((c for c in callbacks if isinstance(c, keras.callbacks.ReduceLROnPlateau)), None)
    saver = None
    if checkpoint_dir is not None:
        saver = checkpoints.callback(checkpoint_dir, prepared.prep.get("data_sha256", ""), resume_state, early, reduce)
        callbacks.append(saver)
    first_epoch = resume_state["epoch"] if resume_state else 0
    train_batches = window_batches(
        prepared.values, prepared.starts["train"], config, config.training.shuffle, first_epoch,
        steps=config.training.steps_per_epoch,
    )
    val_batches = window_batches(prepared.values, prepared.starts["val"], config, shuffle=False)
    initial = None
    if early is not None and resume_state is None:
        # The untrained model is a candidate too: with `highway: seasonal` it is the seasonal naive forecast,
        # and early stopping then keeps it unless some epoch beats it on validation.
        initial = float(model.evaluate(val_batches, verbose=0))
        early.initial = (initial, model.get_weights()) if math.isfinite(initial) else None
    try:
        with _interrupts_between_batches() as interrupted:
            callbacks.insert(0, _interrupt_guard(interrupted))
            history = model.fit(
                train_batches,
                validation_data=val_batches,
                epochs=config.training.epochs,
                initial_epoch=first_epoch,
                callbacks=callbacks,
                verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
            )
    except NaNLoss as exc:
        raise UserError(str(exc)) from None
    if early is not None and early.best_weights is not None:
        model.set_weights(early.best_weights)  # Keras restores them only when it stops early
    if saver is not None:
        history.history = saver.history
    epochs_run = len(history.history.get("loss", []))
    # 0-based epoch whose weights the model ends with; -1: the untrained model won
    history.best_epoch = int(early.best_epoch) if early is not None and early.best_weights is not None else epochs_run - 1
    history.initial_val_loss = initial
    return history


def train(
    config: Config | None,
    config_path: Path | None = None,
    verbose: int | None = None,
    resume: Path | None = None,
    train_on_validation: bool = False,
    devices: list[str] | None = None,
) -> Path:
    """Fit the configured model and write a complete run folder; return its path.

    The folder appears under its final name only once every file is written. With
    `resume` (an interrupted run), training continues from its last completed epoch
    with the config and data that run started with. `train_on_validation` (tune's
    refit) also trains on the validation windows. `devices` (default: every GPU
    when there are several) are the devices to train on together; tests pass CPUs.
    """
    started = datetime.now(timezone.utc)
    if resume is not None:
        final, tmp = runs.resumable(resume)
        config = config_module.validate(config_module.read_yaml(tmp / "config.yaml"), source=str(tmp / "config.yaml"))
    else:
        final = None
    prepared = prepare_data(config)
    _release_freed_memory()
    prepared.prep["data_sha256"] = runs.sha256(prepared.series.path)
    if train_on_validation:
        stride = config.window.stride
        prepared.starts["train"] = np.concatenate([prepared.starts["train"], prepared.starts["val"][::stride]])
    for note in prepared.notes:
        print(f"note: {note}", file=sys.stderr)
    device = _announce_device(config)
    if final is None:  # named now, right before its folder is made: no half-made folder if the data fail
        name = config.run.name or (Path(config_path).stem if config_path else "run")
        final = runs.new_run_path(Path(config.run.dir), name, claim=True)
    with runs.creating(final, resume=resume is not None, claimed=True) as tmp, replicated(config, devices) as replicas:
        state = checkpoints.load_state(tmp) if resume is not None else None
        if state is not None and state["data_sha256"] != prepared.prep["data_sha256"]:
            raise UserError(
                f"{prepared.series.path} has changed since run {final.name} started, so it cannot be resumed. "
                "Start a new run with `rnnforecast train`."
            )
        if state is not None:
            _seed(config)
            model = checkpoints.load_model(tmp, state)
            if replicas > 1 and model.jit_compile:  # saved by a one-device run: XLA cannot reach other replicas
                model.jit_compile = False
            print(f"Resuming {final} after epoch {state['epoch']}.", file=sys.stderr)
        else:
            model = build(config, len(prepared.series.columns), prepared.prep["season_length"])
            (tmp / "config.yaml").write_text(config_module.dump(config))
            print(f"Training {final} (if interrupted: rnnforecast train --resume {final}).", file=sys.stderr)
        fitted = fit(model, prepared, config, verbose, checkpoint_dir=tmp, resume_state=state)
        history = fitted.history
        model.save(tmp / runs.MODEL_FILE)
        final_meta = {}
        if config.training.refit and not train_on_validation and len(prepared.starts.get("all", [])):
            print("Training the final model on every window of the data (training.refit).", file=sys.stderr)
            final_model, final_meta = refit(config, prepared, history, fitted.best_epoch + 1, verbose)
            final_model.save(tmp / runs.FINAL_MODEL_FILE)
            final_meta["final_model_sha256"] = runs.sha256(tmp / runs.FINAL_MODEL_FILE)
        checkpoints.clear(tmp)
        (tmp / "preprocessing.json").write_text(json.dumps(prepared.prep, indent=2) + "\n")
        _history_frame(history).to_csv(tmp / "history.csv", index=False)
        meta = {
            **environment.describe(),
            "device": device,
            "replicas": replicas,
            "seed": config.training.seed,
            "precision": model.dtype_policy.name,
            "data_file": str(prepared.series.path),
            "data_sha256": prepared.prep["data_sha256"],
            "model_sha256": runs.sha256(tmp / runs.MODEL_FILE),
            "config_file": str(config_path) if config_path else None,
            "windows": {part: int(len(found)) for part, found in prepared.starts.items()},
            "epochs_run": len(history.get("loss", [])),
            "best_val_loss": float(np.nanmin([*history["val_loss"], np.nan if fitted.initial_val_loss is None else fitted.initial_val_loss])),
            "best_epoch": fitted.best_epoch + 1,  # 0: no epoch beat the untrained model on validation
            "initial_val_loss": fitted.initial_val_loss,
            **final_meta,
            "resumed": resume is not None,
            "trained_on": "train+validation" if train_on_validation else "train",
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    return final


def refit(config: Config, prepared: TrainingData, history: dict, epochs: int, verbose: int | None = None):
    """The final model: a fresh one trained on every window for the honest fit's best epoch count.

    The learning rate of each epoch is the one the honest fit used in that epoch, so
    the final model follows the same schedule without needing a validation set. With
    `epochs` 0 (no epoch beat the untrained model) it is the untrained model, as the
    honest one is. Returns the model and what metadata.json records about it.
    """
    keras = environment.import_keras()
    rates = [float(r) for r in history.get("learning_rate", [])] or [config.training.optimizer.learning_rate]
    plain = config.model_copy(deep=True)
    plain.training.early_stopping = plain.training.reduce_lr = plain.training.lr_decay = None
    model = build(plain, len(prepared.series.columns), prepared.prep["season_length"])
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: rates[min(epoch, len(rates) - 1)])
    batches = window_batches(
        prepared.values, prepared.starts["all"], plain, plain.training.shuffle, steps=plain.training.steps_per_epoch
    )
    if epochs == 0:
        return model, {"final_epochs": 0, "final_windows": int(len(prepared.starts["all"]))}
    try:
        with _interrupts_between_batches() as interrupted:
            model.fit(
                batches,
                epochs=epochs,
                callbacks=[_interrupt_guard(interrupted), *_callbacks(plain), schedule],
                verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
            )
    except NaNLoss as exc:
        raise UserError(f"{exc} (while training the final model; training.refit: false skips it)") from None
    return model, {"final_epochs": epochs, "final_windows": int(len(prepared.starts["all"]))}


@contextlib.contextmanager
def replicated(config: Config, devices: list[str] | None = None):
    """Build, load and fit under the backend's own data-parallel distribution when there are several devices.

    By default the devices are every GPU the backend sees, when there are two or more
    (environment.parallel_devices); one device means no distribution. Yields the number
    of replicas (1 without a distribution).
    """
    keras = environment.import_keras()
    backend = keras.backend.backend()
    if devices is None:
        devices = environment.parallel_devices(environment.devices(backend))
    distribution = environment.data_parallel(backend, devices)
    if distribution is None:
        yield 1
        return
    replicas = len(devices)
    batch = config.training.batch_size
    kind = "tf.distribute.MirroredStrategy" if backend == "tensorflow" else "keras.distribution.DataParallel"
    print(
        f"Training on {replicas} devices ({', '.join(d.split()[0] for d in devices)}) with {kind}: "
        f"each batch of {batch} windows is split into about {-(-batch // replicas)} per device.",
        file=sys.stderr,
    )
    with distribution.scope():
        yield replicas


def _replicas() -> int:
    """How many devices the tf.distribute strategy in scope spans: 1 outside one, and on other backends."""
    if sys.modules.get("keras") is None or sys.modules["keras"].backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def _release_freed_memory() -> None:
    """Hand the memory that reading the file used back to the system before the model needs its own.

    pandas keeps text cells in Arrow buffers whose allocator holds on to freed memory:
    about 220 MB after a 1,000,000-row, 7-column file (benchmarks/PERFORMANCE.md).
    """
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()


def _seed(config: Config) -> None:
    keras = environment.import_keras()
    keras.utils.set_random_seed(config.training.seed)
    _make_deterministic(config)


def _announce_device(config: Config) -> str:
    """The device training runs on; on a GPU, one line naming the options that leave the fused cuDNN kernel."""
    keras = environment.import_keras()
    from rnnforecast import models

    device = environment.training_device(environment.devices(keras.backend.backend()))
    reasons = models.leaves_cudnn(config.model)
    if device.startswith("GPU") and reasons:
        print(
            f"warning: {'; '.join(reasons)}: the recurrent layers run Keras's step-by-step loop on the GPU "
            "instead of cuDNN's fused kernel, which makes training and prediction slower.",
            file=sys.stderr,
        )
    return device


def _make_deterministic(config: Config) -> None:
    """Same seed, same CPU, same numbers: TensorFlow needs op determinism switched on for that.

    An XLA-compiled model is deterministic on the CPU without it, and Keras refuses XLA
    while it is on, so it is switched off for those (it is a process-wide setting).
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if _xla_on_cpu(config):
            from tensorflow.python.framework import config as tf_config  # there is no public switch-off

            tf_config.disable_op_determinism()
        else:
            tf.config.experimental.enable_op_determinism()


def _precision(config: Config) -> str:
    """The Keras dtype policy: `auto` is mixed float16 on a GPU with tensor cores, float32 elsewhere."""
    if config.training.precision != "auto":
        return config.training.precision
    return "mixed_float16" if environment.mixed_precision_gpu() else "float32"


def _xla_on_cpu(config: Config) -> bool:
    """Whether to XLA-compile the training step; measured per cell type (benchmarks/PERFORMANCE.md).

    On a CPU with TensorFlow, XLA fuses the GRU's per-step gate arithmetic and trains it
    faster, but slows the LSTM and leaves the SimpleRNN as it was. On a GPU Keras's own
    choice stands (the cuDNN kernels cannot be XLA-compiled); JAX always compiles. Not
    under a strategy over several devices (build inside its scope): XLA refuses to
    reach a replica's weights on another device.
    """
    import keras

    if keras.backend.backend() != "tensorflow" or config.model.type != "gru" or _replicas() > 1:
        return False
    return not environment.devices("tensorflow")[0].startswith("GPU")


def _optimizer(config: Config):
    import keras

    opt = config.training.optimizer
    kwargs = {"learning_rate": opt.learning_rate}
    if opt.clipnorm:
        kwargs["clipnorm"] = opt.clipnorm
    if opt.name == "adamw":
        return keras.optimizers.AdamW(weight_decay=opt.weight_decay or 0.004, **kwargs)
    if opt.weight_decay:
        kwargs["weight_decay"] = opt.weight_decay
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    return classes[opt.name](**kwargs)


def _loss(config: Config):
    import keras

    if config.model.output.quantiles:
        from rnnforecast.models import PinballLoss

        return PinballLoss(config.model.output.quantiles)

    return {"mse": "mse", "mae": "mae", "huber": keras.losses.Huber()}[config.training.loss]


@contextlib.contextmanager
def _interrupts_between_batches():
    """Turn Ctrl-C into a flag that the training loop acts on at the end of the current batch.

    A KeyboardInterrupt raised wherever the signal lands can be swallowed inside the
    backend's data pipeline, and training then runs on; a flag checked between batches
    always stops it, after the last checkpoint. A second Ctrl-C interrupts at once.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def handler(signum, frame):
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_guard(interrupted: threading.Event):
    """A callback that raises KeyboardInterrupt at the end of a batch once Ctrl-C was pressed."""
    keras = environment.import_keras()

    class InterruptGuard(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if interrupted.is_set():
                raise KeyboardInterrupt

        on_test_batch_end = on_train_batch_end

    return InterruptGuard()


def _callbacks(config: Config) -> list:
    import keras

    class NaNGuard(keras.callbacks.Callback):
        """Stop at once with the epoch and the likely causes, instead of training on NaN."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                opt = config.training.optimizer
                raise NaNLoss(
                    f"the training loss became {float(loss)} in epoch {self.epoch + 1}, batch {batch + 1}. "
                    f"The usual causes are a learning rate that is too high (training.optimizer.learning_rate "
                    f"is {opt.learning_rate:g}) or unscaled data (data.scaling is {config.data.scaling}). "
                    "Lower the learning rate, set training.optimizer.clipnorm: 1.0, or use data.scaling: standard."
                )

    found = [NaNGuard()]
    if config.training.early_stopping:
        es = config.training.early_stopping

        class EarlyStopping(keras.callbacks.EarlyStopping):
            """Keras's, with the untrained model's validation loss and weights as the first best (`initial`)."""

            initial = None

            def on_train_begin(self, logs=None):
                super().on_train_begin(logs)
                if self.initial is not None:
                    self.best, self.best_weights = self.initial
                    self.best_epoch = -1

        found.append(EarlyStopping(monitor="val_loss", patience=es.patience, min_delta=es.min_delta, restore_best_weights=True))
    if config.training.reduce_lr:
        rl = config.training.reduce_lr
        found.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", patience=rl.patience, factor=rl.factor, min_lr=rl.min_learning_rate
            )
        )
    if config.training.lr_decay:
        base, decay = config.training.optimizer.learning_rate, config.training.lr_decay
        found.append(keras.callbacks.LearningRateScheduler(lambda epoch: base * decay.factor ** max(0, epoch - decay.after)))
    return found


def window_batches(
    values: np.ndarray, starts: np.ndarray, config: Config, shuffle: bool, first_epoch: int = 0,
    steps: int | None = None,
):
    """A Keras PyDataset that gathers each batch's windows when it is drawn: nothing is materialised.

    Epoch e's order depends only on (seed, e), so a resumed run draws the same batches.
    With `steps`, an epoch is at most that many batches: the first ones of a fresh
    permutation when shuffled, else the next ones in order, so that epochs take turns.
    A Python-side gather costs about 1% of a step here (benchmarks/PERFORMANCE.md), so
    this stays a PyDataset, which every Keras backend reads.
    """
    keras = environment.import_keras()

    window, n_targets, n_known = config.window, len(config.data.targets), data.n_known(config.data)
    batch_size, seed = config.training.batch_size, config.training.seed
    total = data.n_batches(len(starts), batch_size)

    class WindowBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = first_epoch
            self.order = self._order()

        def _order(self):
            return np.random.default_rng([seed, self.epoch]).permutation(starts) if shuffle else starts

        def __len__(self):
            return min(total, steps) if steps else total

        def __getitem__(self, i):
            if steps and not shuffle:
                i = (self.epoch * len(self) + i) % total
            chunk = self.order[i * batch_size : (i + 1) * batch_size]
            return data.gather(values, chunk, window.input_length, window.horizon, n_targets, n_known)

        def on_epoch_end(self):
            self.epoch += 1
            self.order = self._order()

    return WindowBatches()


def _history_frame(history: dict) -> pd.DataFrame:
    frame = pd.DataFrame({k: [float(x) for x in v] for k, v in history.items()})
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame
