"""Keras callbacks of a training run: early stopping, learning-rate schedules, checkpoints, Ctrl-C."""

from __future__ import annotations

import contextlib
import math
import signal
import threading

from rnnforecast import environment
from rnnforecast.config import Config


class NaNLoss(Exception):
    """Raised by the NaN guard; turned into a UserError that names the epoch."""


@contextlib.contextmanager
def interrupts_between_batches():
    """Turn Ctrl-C into a flag that the training loop acts on at the end of the current batch.

    A KeyboardInterrupt raised wherever the signal lands can be swallowed inside the
    backend's data pipeline, and training then runs on; a flag checked between batches
    always stops it, after the last checkpoint. A second Ctrl-C interrupts at once; one that
    comes after the last batch (the last epoch's checkpoint being written) stops the run when
    the block ends, before the next stage (the final model) starts.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return

    def handler(signum, frame):
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()

    previous = {kind: signal.signal(kind, handler) for kind in (signal.SIGINT, signal.SIGTERM)}  # kill as Ctrl-C
    try:
        yield interrupted
    finally:
        for kind, handled in previous.items():
            signal.signal(kind, handled)
    if interrupted.is_set():  # pressed after the last batch (while the last epoch's checkpoint was saved): not lost
        raise KeyboardInterrupt


def interrupt_guard(interrupted: threading.Event):
    """A callback that raises KeyboardInterrupt at the end of a batch once Ctrl-C was pressed."""
    keras = environment.import_keras()

    class InterruptGuard(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if interrupted.is_set():
                raise KeyboardInterrupt

        on_test_batch_end = on_train_batch_end

    return InterruptGuard()


def make_callbacks(config: Config) -> list:
    """The Keras callbacks the config asks for: early stopping, learning-rate reduction or decay, NaN guard."""
    import keras

    class NaNGuard(keras.callbacks.Callback):
        """Stop at once with the epoch and the likely causes, instead of training on NaN."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                opt = config.training.optimizer
                scaled = config.data.scaling == "standard"
                raise NaNLoss(
                    f"the training loss became {float(loss)} in epoch {self.epoch + 1}, batch {batch + 1}. "
                    f"The usual causes are a learning rate that is too high (training.optimizer.learning_rate "
                    f"is {opt.learning_rate:g})" + ("" if scaled else f" or unscaled data (data.scaling is "
                                                                       f"{config.data.scaling})") + ". "
                    "Lower the learning rate" + ("" if opt.clipnorm else ", set training.optimizer.clipnorm: 1.0")
                    + ("." if scaled else ", or use data.scaling: standard.")
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
