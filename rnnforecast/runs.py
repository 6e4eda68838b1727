"""The run folder: created under a temporary name, renamed when complete, read back whole.

A run folder holds:
    model.keras         the honest model, trained on the training rows (Keras format, loaded in safe mode)
    final.keras         the final model, trained on every row (training.refit), which `predict` uses
    config.yaml         the resolved config, every default written out
    preprocessing.json  the fitted fill values, scaler and split, needed to forecast new data
    history.csv         per-epoch loss, validation loss and learning rate
    metadata.json       versions, backend, device, seed, data file's sha256, model's sha256, times
    metrics.json        written by `rnnforecast evaluate`
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from rnnforecast import config as config_module
from rnnforecast.errors import Interrupted, UserError

MODEL_FILE = "model.keras"  # the honest model: trained on the training rows, scored by `evaluate`
FINAL_MODEL_FILE = "final.keras"  # trained on every row (training.refit): what `predict` forecasts with
RESUMABLE_MARK = "checkpoint.json"  # written after each completed epoch while training
REQUIRED = (MODEL_FILE, "config.yaml", "preprocessing.json", "history.csv", "metadata.json")


@dataclass
class Run:
    path: Path
    config: config_module.Config
    prep: dict
    metadata: dict
    history: pd.DataFrame

    def load_model(self, final: bool = False):
        """The trained Keras model, after checking it is the file this tool wrote.

        `final`: the model trained on every row (training.refit), when the run has one;
        otherwise the honest model, which is what a run without a refit forecasts with.
        """
        from rnnforecast import environment

        keras = environment.import_keras()
        from rnnforecast import models  # noqa: F401  registers the custom layers

        name, key = MODEL_FILE, "model_sha256"
        if final and self.metadata.get("final_model_sha256"):
            name, key = FINAL_MODEL_FILE, "final_model_sha256"
        model_path = self.path / name
        expected = self.metadata.get(key)
        if not model_path.is_file():
            raise UserError(f"{model_path} is missing from the run folder. Train the run again, or restore the file.")
        if expected and sha256(model_path) != expected:
            raise UserError(
                f"{model_path} has changed since training (its SHA-256 differs from metadata.json). "
                "Train again, or restore the original file."
            )
        try:
            return keras.saving.load_model(model_path, safe_mode=True)
        except Exception as exc:  # a truncated zip, a file from another Keras version
            raise UserError(f"{model_path} could not be loaded ({type(exc).__name__}: {exc}). Train the run again.") from None

    @property
    def has_final_model(self) -> bool:
        return bool(self.metadata.get("final_model_sha256"))


def new_run_path(base: Path, name: str, claim: bool = False) -> Path:
    """A fresh folder name, `<name>-<date>-<time>`, never one that exists.

    With `claim`, its hidden temporary folder is created here, atomically, so two runs
    started in the same second (two seeds launched together) never get the same name.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path, n = base / f"{name}-{stamp}", 2
    while True:
        if not (path.exists() or partial_path(path).exists()):
            if not claim:
                return path
            try:
                partial_path(path).mkdir(parents=True)
                return path
            except FileExistsError:  # another process took it between the check and the mkdir
                pass
        path = base / f"{name}-{stamp}-{n}"
        n += 1


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


@contextlib.contextmanager
def creating(path: Path, resume: bool = False, claimed: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder; rename it to `path` only when the block succeeds.

    A failure removes the folder. An interrupt (Ctrl-C) after at least one completed
    epoch keeps it, hidden, so that `train --resume` can finish the run; a killed
    process leaves it the same way. `claimed`: new_run_path(claim=True) made the folder.
    """
    tmp = partial_path(path)
    if not (resume or claimed):
        tmp.mkdir(parents=True)
    try:
        yield tmp
    except KeyboardInterrupt:
        if not (tmp / RESUMABLE_MARK).is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        raise Interrupted(
            f"training was interrupted; the last completed epoch is kept. Resume with: "
            f"rnnforecast train --resume {path}"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rename(path)


def resumable(path: Path | str) -> tuple[Path, Path]:
    """The final and the temporary folder of an interrupted run, named either way."""
    path = Path(path)
    if path.name.startswith(".") and path.name.endswith(".partial"):
        path = path.with_name(path.name[1 : -len(".partial")])
    tmp = partial_path(path)
    if path.is_dir():
        raise UserError(f"run {path} is already complete; there is nothing to resume.")
    if not (tmp / "config.yaml").is_file():
        waiting = sorted(p.name[1 : -len(".partial")] for p in path.parent.glob(".*.partial"))
        listed = f" Interrupted runs in {path.parent}: {', '.join(waiting)}." if waiting else ""
        raise UserError(f"there is no interrupted run named {path}.{listed} Start a new run with `rnnforecast train`.")
    return path, tmp


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial{target.suffix}")
    try:
        write(tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(target: Path, payload: dict) -> None:
    atomic_write(target, lambda p: p.write_text(json.dumps(payload, indent=2, default=str) + "\n"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(path: Path | str) -> Run:
    """Read a run folder written by `rnnforecast train`."""
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"run folder {path} does not exist. `rnnforecast train` prints the folder it wrote.")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise UserError(
            f"{path} is not a complete run folder (missing {', '.join(missing)}). "
            "Pass a folder that `rnnforecast train` wrote, such as runs/quickstart-20260101-120000."
        )
    raw = config_module.read_yaml(path / "config.yaml")
    config = config_module.validate(raw, source=str(path / "config.yaml"))
    prep = json.loads((path / "preprocessing.json").read_text())
    metadata = json.loads((path / "metadata.json").read_text())
    history = pd.read_csv(path / "history.csv")
    return Run(path, config, prep, metadata, history)
