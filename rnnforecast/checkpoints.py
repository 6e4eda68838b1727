"""Per-epoch checkpoints in a run's temporary folder, so an interrupted training can resume.

After every epoch the model (with its optimizer state), the history so far and the
early-stopping and learning-rate schedule state are written to the hidden
`.<run>.partial` folder: the model to a new file, then `checkpoint.json` is replaced
atomically to point at it. A crash at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rnnforecast import runs
from rnnforecast.errors import UserError

STATE_FILE = runs.RESUMABLE_MARK


def load_state(folder: Path) -> dict | None:
    """The last completed epoch's state, or None when no epoch has finished yet."""
    path = folder / STATE_FILE
    if not path.is_file():
        return None
    state = runs.json_file(path, ("epoch", "model_file", "model_sha256"))
    if state.get("early_stopping") and not (folder / "best.npz").is_file():
        raise UserError(
            f"{folder / 'best.npz'} is missing: it holds the weights of the best epoch so far, which early stopping "
            "ends the run with. Resumed without it, the run would keep its last epoch's weights instead. Copy the file "
            "back if you moved it, or start a new run (rnnforecast train CONFIG); nothing was deleted."
        )
    return state


def check_config(folder: Path) -> None:
    """Refuse a resume whose config.yaml changed since the checkpoint: the epochs trained so far followed the old one
    (a horizon changed failed deep in Keras; a learning rate changed was certified in the finished run's config)."""
    path = folder / STATE_FILE
    if not path.is_file():
        return
    recorded = runs.json_file(path, ("epoch", "model_file", "model_sha256")).get("config_sha256")
    if recorded and (folder / "config.yaml").is_file() and runs.sha256(folder / "config.yaml") != recorded:
        raise UserError(
            f"{folder / 'config.yaml'} has changed since training started: a resumed run continues with the config it "
            "started with, and its epochs so far were trained with that one. Put the file back as it was, or start a "
            "new run with the changed config (rnnforecast train CONFIG); nothing was deleted."
        )


def load_model(folder: Path, state: dict):
    """The checkpointed model, with its optimizer state, loaded in safe mode."""
    from rnnforecast import environment

    keras = environment.import_keras()
    from rnnforecast import models  # noqa: F401  registers the custom layers

    path = folder / state["model_file"]
    if runs.sha256(path) != state["model_sha256"]:
        raise UserError(f"{path} does not match its checkpoint record; start a new run instead of resuming.")
    return keras.saving.load_model(path, safe_mode=True)


def callback(folder: Path, data_sha256: str, state: dict | None, early_stopping, reduce_lr):
    """A Keras callback that writes a checkpoint after every epoch and restores schedule state on resume."""
    from rnnforecast import environment

    keras = environment.import_keras()

    class EpochCheckpoint(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.history = {k: list(v) for k, v in (state or {}).get("history", {}).items()}
            if state:  # runs after the other callbacks' own resets, so these values stick
                _restore(early_stopping, state.get("early_stopping"), ("wait", "best", "best_epoch"))
                _restore(reduce_lr, state.get("reduce_lr"), ("wait", "best", "cooldown_counter"))
                if early_stopping is not None and (folder / "best.npz").is_file():
                    saved = runs.npz_arrays(folder / "best.npz")
                    early_stopping.best_weights = [saved[f"w{i}"] for i in range(len(saved))]

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            model_file = f"checkpoint-{epoch + 1}.keras"
            self.model.save(folder / model_file)
            if early_stopping is not None and early_stopping.best_weights is not None:
                weights = {f"w{i}": w for i, w in enumerate(early_stopping.best_weights)}
                runs.atomic_write(folder / "best.npz", lambda path: _save_npz(path, weights))
            record = {
                "epoch": epoch + 1,
                "model_file": model_file,
                "model_sha256": runs.sha256(folder / model_file),
                "data_sha256": data_sha256,
                "config_sha256": runs.sha256(folder / "config.yaml") if (folder / "config.yaml").is_file() else None,
                "xla": self.model.jit_compile is True,  # a resumed run compiles the same way (training.xla_on_cpu)
                "history": self.history,
                "early_stopping": _snapshot(early_stopping, ("wait", "best", "best_epoch")),
                "reduce_lr": _snapshot(reduce_lr, ("wait", "best", "cooldown_counter")),
            }
            runs.write_json(folder / STATE_FILE, record)
            for old in folder.glob("checkpoint-*.keras"):
                if old.name != model_file:
                    old.unlink(missing_ok=True)

    return EpochCheckpoint()


def clear(folder: Path) -> None:
    """Remove the checkpoint files once the run is complete."""
    for path in [*folder.glob("checkpoint-*.keras"), folder / STATE_FILE, folder / "best.npz"]:
        path.unlink(missing_ok=True)


def _save_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _snapshot(callback, names) -> dict | None:
    if callback is None:
        return None
    out = {}
    for name in names:
        value = getattr(callback, name, None)
        out[name] = None if value is None else (float(value) if math.isfinite(float(value)) else str(value))
    return out


def _restore(callback, saved: dict | None, names) -> None:
    if callback is None or not saved:
        return
    for name in names:
        value = saved.get(name)
        if value is not None:
            value = float(value)
            setattr(callback, name, int(value) if name in ("wait", "best_epoch", "cooldown_counter") else value)
