"""Training: fit the honest model, write the run folder, then refit the final model on every row."""

from __future__ import annotations

import math
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rnnforecast import checkpoints, environment, runs
from rnnforecast import config as config_module
from rnnforecast.config import Config
from rnnforecast.errors import UserError
from rnnforecast.training.batches import window_batches
from rnnforecast.training.callbacks import NaNLoss, interrupt_guard, interrupts_between_batches, make_callbacks
from rnnforecast.training.compile import build, is_unrolled, set_seeds, xla_probe
from rnnforecast.training.distribution import announce_device, replicated
from rnnforecast.training.inputs import TrainingData, prepare_data
from rnnforecast.training.linear_start import fitted_map, start_highway


def fit(
    model,
    prepared: TrainingData,
    config: Config,
    verbose: int | None = None,
    checkpoint_dir: Path | None = None,
    resume_state: dict | None = None,
    extra_callbacks: list | None = None,
    epochs: int | None = None,
):
    """Keras's fit loop over window batches with early stopping, LR schedule and the NaN guard.

    With `checkpoint_dir`, every epoch is checkpointed there; `resume_state` (a
    checkpoint) continues from its epoch. The model ends with the weights of the best
    validation epoch. `epochs` (default training.epochs) may be 0: the model stays at its
    start. Returns Keras's History; its `history` covers every epoch run.
    """
    keras = environment.import_keras()
    callbacks = make_callbacks(config) + list(extra_callbacks or [])
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
    val_starts = prepared.starts.get("val_sample", prepared.starts["val"])  # a large panel's: a fixed sample
    val_batches = window_batches(prepared.values, val_starts, config, shuffle=False)
    ridge = None
    if resume_state is None:
        ridge = start_highway(model, prepared.values, prepared.starts["train"], prepared.starts["val"], config,
                              int(prepared.prep["season_length"]))
    initial = None
    if early is not None and resume_state is None:
        # The untrained model is a candidate too: with `highway: seasonal` it is the seasonal naive forecast
        # (`fitted`: the least-squares linear one), and early stopping keeps it unless some epoch beats it.
        initial = float(model.evaluate(val_batches, verbose=0))
        early.initial = (initial, model.get_weights()) if math.isfinite(initial) else None
    epochs = config.training.epochs if epochs is None else epochs
    waited = ((resume_state or {}).get("early_stopping") or {}).get("wait")
    if early is not None and waited is not None and float(waited) >= early.patience:
        epochs = first_epoch  # early stopping had ended the fit before the interruption: no epoch is left to run
    history = keras.callbacks.History()  # what no epoch leaves (tune's refit of a trial that kept its start)
    history.history = {"loss": [], "val_loss": []}
    try:
        with interrupts_between_batches() as interrupted:
            callbacks.insert(0, interrupt_guard(interrupted))
            if epochs:
                history = model.fit(
                    train_batches,
                    validation_data=val_batches,
                    epochs=epochs,
                    initial_epoch=first_epoch,
                    shuffle=False,  # the batches shuffle themselves by (seed, epoch): window_batches
                    callbacks=callbacks,
                    verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
                )
    except NaNLoss as exc:
        raise UserError(str(exc)) from None
    if early is not None and early.best_weights is not None:
        model.set_weights(early.best_weights)  # Keras restores them only when it stops early
    if saver is not None and epochs:
        history.history = saver.history
    epochs_run = len(history.history.get("loss", []))
    # 0-based epoch whose weights the model ends with; -1: the untrained model won
    history.best_epoch = int(early.best_epoch) if early is not None and early.best_weights is not None else epochs_run - 1
    history.initial_val_loss = initial
    history.highway_prior_windows = ridge  # highway: fitted: the shrinkage its start was fitted with
    return history


def train(
    config: Config | None,
    config_path: Path | None = None,
    verbose: int | None = None,
    resume: Path | None = None,
    train_on_validation: bool = False,
    devices: list[str] | None = None,
    epochs: int | None = None,
) -> Path:
    """Fit the configured model and write a complete run folder; return its path.

    The folder appears under its final name only once every file is written. With
    `resume` (an interrupted run), training continues from its last completed epoch
    with the config and data that run started with. `train_on_validation` (tune's
    refit) also trains on the validation windows, for `epochs` (default training.epochs;
    0 keeps the model's start). `devices` (default: every GPU when there are several) are
    the devices to train on together; tests pass CPUs.
    """
    started = datetime.now(timezone.utc)
    if resume is not None:
        final, tmp = runs.resumable(resume)
        checkpoints.check_config(tmp)
        config = config_module.validate(config_module.read_yaml(tmp / "config.yaml"), source=str(tmp / "config.yaml"))
    else:
        final = None
    prepared = prepare_data(config)
    environment.release_freed_memory()
    prepared.prep["data_sha256"] = runs.sha256(prepared.series.path)
    if train_on_validation:
        stride = config.window.stride
        prepared.starts["train"] = np.concatenate([prepared.starts["train"], prepared.starts["val"][::stride]])
    for note in prepared.notes:
        print(f"note: {note}", file=sys.stderr)
    device = announce_device(config)
    if final is None:  # named now, right before its folder is made: no half-made folder if the data fail
        name = config.run.name or (Path(config_path).stem if config_path else "run")
        final = runs.new_run_path(Path(config.run.dir), name, claim=True)
    with runs.creating(final, resume=resume is not None, claimed=True) as tmp, replicated(config, devices) as replicas:
        state = checkpoints.load_state(tmp) if resume is not None else None
        if state is not None and state["data_sha256"] != prepared.prep["data_sha256"]:
            raise UserError(
                f"{prepared.series.path} has changed since run {final.name} started (its SHA-256 differs from the "
                "checkpoint's), so the epochs kept were trained on other rows. Put the file back as it was and resume "
                "again, or start a new run on the file as it is with `rnnforecast train`."
            )
        if state is not None:
            set_seeds(config, xla=bool(state.get("xla", False)))
            model = checkpoints.load_model(tmp, state)
            if replicas > 1 and model.jit_compile:  # saved by a one-device run: XLA cannot reach other replicas
                model.jit_compile = False
            print(f"Resuming {final} after epoch {state['epoch']}.", file=sys.stderr)
        else:
            if resume is not None and any(tmp.glob("checkpoint-*.keras")):  # a model without its record (deleted, or
                # a kill between the two writes): which epoch it holds, and the schedules' state, cannot be known
                print(f"note: {tmp} holds a checkpoint model but no {checkpoints.STATE_FILE} to say which epoch it "
                      "is: training starts again from epoch 1.", file=sys.stderr)
            model = build(config, len(prepared.series.columns), prepared.prep["season_length"],
                          train_windows=len(prepared.starts["train"]))
            (tmp / "config.yaml").write_text(config_module.dump(config))
            again = (f"rnnforecast tune --resume {shlex.quote(str(final.parent))} --refit" if train_on_validation  # tune's refit
                     else f"rnnforecast train --resume {shlex.quote(str(final))}")
            print(f"Training {final} (if interrupted: {again}).", file=sys.stderr)
        fitted = fit(model, prepared, config, verbose, checkpoint_dir=tmp, resume_state=state, epochs=epochs)
        environment.release_freed_memory()  # 400 MB of a long file's training: the refit and calibration start lower
        history = fitted.history
        final_meta = {}
        prior = fitted.highway_prior_windows
        if prior is None and state is not None and config.model.highway == "fitted":  # resumed: chosen again
            prior = fitted_map(prepared.values, prepared.starts["train"], prepared.starts["val"], config,
                               int(prepared.prep["season_length"]))[1]
        if config.training.refit and not train_on_validation and len(prepared.starts.get("all", [])):
            print("Training the final model on every window of the data (training.refit).", file=sys.stderr)
            final_model, final_meta = refit(config, prepared, history, fitted.best_epoch + 1, verbose, prior)
            final_model.save(tmp / runs.FINAL_MODEL_FILE)
            del final_model
            environment.release_freed_memory()
            final_meta["final_model_sha256"] = runs.sha256(tmp / runs.FINAL_MODEL_FILE)
        checkpoints.clear(tmp)
        initial = np.nan if fitted.initial_val_loss is None else fitted.initial_val_loss
        meta = {
            "device": device,
            "replicas": replicas,
            "seed": config.training.seed,
            "precision": model.dtype_policy.name,
            "xla": model.jit_compile is True,  # training.xla_on_cpu's choice for this model on this machine
            "xla_probe": xla_probe(config, len(prepared.series.columns)),  # its timings, when it probed
            "unrolled": is_unrolled(model),  # training.unroll_on_cpu's choice: a short recurrence as a straight graph
            "data_file": str(prepared.series.path),
            "data_sha256": prepared.prep["data_sha256"],
            "config_file": str(config_path) if config_path else None,
            "windows": {part: int(len(found)) for part, found in prepared.starts.items()},
            "input_length_search": prepared.lookback,
            "epochs_run": len(history.get("loss", [])),
            "best_val_loss": _least([*history.get("val_loss", []), initial]),
            "best_epoch": fitted.best_epoch + 1,  # 0: no epoch beat the untrained model on validation
            "initial_val_loss": fitted.initial_val_loss,
            "highway_prior_windows": _number(prior),
            **final_meta,
            "resumed": resume is not None,
            "trained_on": "train+validation" if train_on_validation else "train",
            "started": started.isoformat(timespec="seconds"),
        }
        runs.write_run_files(tmp, config, prepared.prep, model, history, meta)
    return final


def _least(values: list) -> float | None:
    """The smallest finite value; None when there is none (tune's refit of an untrained start has no loss)."""
    found = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    return float(found[np.isfinite(found)].min()) if np.isfinite(found).any() else None


def _number(value: float | None):
    """A float as JSON takes it: infinity as the string "inf" (a name, linear_start.NAIVE, as it is)."""
    return value if value is None or isinstance(value, str) or math.isfinite(value) else "inf"


def refit(config: Config, prepared: TrainingData, history: dict, epochs: int, verbose: int | None = None,
          prior_windows: float | str | None = None):
    """The final model: a fresh one trained on every window for the honest fit's best epoch count.

    The learning rate of each epoch is the one the honest fit used in that epoch, so
    the final model follows the same schedule without needing a validation set. With
    `epochs` 0 (no epoch beat the untrained model) it is the untrained model, as the
    honest one is. `prior_windows` is the shrinkage the honest fit chose for a fitted
    highway (it has no validation set to choose its own). Returns the model and what
    metadata.json records about it.
    """
    keras = environment.import_keras()
    rates = [float(r) for r in history.get("learning_rate", [])] or [config.training.optimizer.learning_rate]
    plain = config.model_copy(deep=True)
    plain.training.early_stopping = plain.training.reduce_lr = plain.training.lr_decay = None
    model = build(plain, len(prepared.series.columns), prepared.prep["season_length"],
                  train_windows=len(prepared.starts["all"]))
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: rates[min(epoch, len(rates) - 1)])
    batches = window_batches(
        prepared.values, prepared.starts["all"], plain, plain.training.shuffle, steps=plain.training.steps_per_epoch
    )
    season = int(prepared.prep["season_length"])
    if prior_windows is None and config.model.highway == "fitted":  # not given: chosen as the honest fit chose it
        prior_windows = fitted_map(prepared.values, prepared.starts["train"], prepared.starts["val"], config, season)[1]
    start_highway(model, prepared.values, prepared.starts["all"], [], plain, season, prior_windows)
    if epochs == 0:
        return model, {"final_epochs": 0, "final_windows": int(len(prepared.starts["all"]))}
    try:
        with interrupts_between_batches() as interrupted:
            model.fit(
                batches,
                epochs=epochs,
                shuffle=False,  # the batches shuffle themselves by (seed, epoch): window_batches
                callbacks=[interrupt_guard(interrupted), *make_callbacks(plain), schedule],
                verbose=verbose if verbose is not None else (1 if sys.stdout.isatty() else 2),
            )
    except NaNLoss as exc:
        raise UserError(f"{exc} (while training the final model; training.refit: false skips it)") from None
    return model, {"final_epochs": epochs, "final_windows": int(len(prepared.starts["all"]))}
