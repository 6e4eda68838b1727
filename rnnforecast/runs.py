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
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from rnnforecast import config as config_module
from rnnforecast.errors import Interrupted, UserError, disk_full

MODEL_FILE = "model.keras"  # the honest model: trained on the training rows, scored by `evaluate`
FINAL_MODEL_FILE = "final.keras"  # trained on every row (training.refit): what `predict` forecasts with
RESUMABLE_MARK = "checkpoint.json"  # written after each completed epoch while training
LOCK_FILE = "lock"  # held (flock) by the process writing a run folder
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
            model = keras.saving.load_model(model_path, safe_mode=True)
        except Exception as exc:  # a truncated zip, a file from another Keras version
            raise UserError(f"{model_path} could not be loaded ({type(exc).__name__}: {exc}). Train the run again.") from None
        if keras.backend.backend() == "torch":
            model.steps_per_execution = 1  # compiled with 16 on TensorFlow or JAX; torch's loop takes one batch per call
        return model

    @property
    def is_panel(self) -> bool:
        """A run on many series (data.id_column): one model, one fitted preprocessing per series."""
        return bool(self.config.data.id_column)

    @property
    def has_final_model(self) -> bool:
        return bool(self.metadata.get("final_model_sha256"))


def new_run_path(base: Path, name: str, claim: bool = False) -> Path:
    """A fresh folder name, `<name>-<date>-<time>`, never one that exists.

    With `claim`, its hidden temporary folder is created here, atomically, so two runs
    started in the same second (two seeds launched together) never get the same name.
    """
    if base.exists() and not base.is_dir():
        raise UserError(f"run.dir {base} is a file, not a folder. Point run.dir at a folder (it is created if missing).")
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
    """The hidden folder a run is written in until it is complete."""
    return path.with_name(f".{path.name}.partial")


def final_name(path: Path) -> Path:
    """A run's folder named as `train` prints it, when given its unfinished one (`.NAME.partial`)."""
    if path.name.startswith(".") and path.name.endswith(".partial"):
        return path.with_name(path.name[1 : -len(".partial")])
    return path


@contextlib.contextmanager
def creating(path: Path, resume: bool = False, claimed: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary folder; rename it to `path` only when the block succeeds.

    A failure removes the folder of a new run; a resumed run's folder is kept as it was
    (its last checkpoint whole), so that fixing the cause and resuming again still works.
    An interrupt (Ctrl-C) after at least one completed epoch keeps it, hidden, so that
    `train --resume` can finish the run; a killed process leaves it the same way.
    While the block runs the folder is locked: a second process training or resuming
    the same run is refused. `claimed`: new_run_path(claim=True) made the folder.
    """
    tmp = partial_path(path)
    if not (resume or claimed):
        tmp.mkdir(parents=True)
    with _locked(tmp, path, remove_on_refusal=not resume):
        try:
            yield tmp
        except KeyboardInterrupt:
            if not (tmp / RESUMABLE_MARK).is_file() and not resume:
                shutil.rmtree(tmp, ignore_errors=True)
                raise Interrupted(
                    f"stopped before a first epoch (or fold) was complete, so nothing was kept: {path} was not "
                    "created and there is nothing to resume. Run the same command again to start over."
                ) from None
            raise Interrupted(
                f"training was interrupted; the last completed epoch is kept. Resume with: "
                f"rnnforecast train --resume {shlex.quote(str(path))}"
            ) from None
        except OSError as exc:
            if disk_full(exc) and (tmp / RESUMABLE_MARK).is_file():
                size = sum(f.stat().st_size for f in tmp.iterdir() if f.is_file())
                raise UserError(
                    f"no space left on the device while writing {exc.filename or tmp}. The last complete epoch is "
                    f"kept in {tmp} ({size / 1e6:.1f} MB); finishing needs about that much free space again (a "
                    f"checkpoint is written beside the last, then the models). Free some space, then: "
                    f"rnnforecast train --resume {shlex.quote(str(path))}"
                ) from None
            if not resume:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        except BaseException:
            if not resume:
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        (tmp / LOCK_FILE).unlink(missing_ok=True)
    tmp.rename(path)


@contextlib.contextmanager
def _locked(folder: Path, path: Path, remove_on_refusal: bool) -> Iterator[None]:
    """An exclusive lock on a run folder being written (released when the process ends, even killed).

    `remove_on_refusal`: the folder is a new run's, removed when the lock cannot be taken or written (a full
    disk before anything was trained leaves no folder that predict calls unfinished and --resume does not know).
    """
    try:
        handle = lock_folder(folder, path)
    except (UserError, OSError):
        if remove_on_refusal:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    try:
        yield
    finally:
        handle.close()


def lock_folder(folder: Path, path: Path, what: str = "run", doing: str = "trained"):
    """The open lock file of `folder`, locked and holding this process's id; refused while another process holds it."""
    import fcntl

    lock = folder / LOCK_FILE
    handle = open(lock, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "another process"
        handle.close()
        raise UserError(
            f"{what} {path} is being {doing} by {owner} right now; wait for it to finish (or stop it) before "
            f"resuming it. Two processes writing one {what} would corrupt it."
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
    except OSError as exc:
        with contextlib.suppress(OSError):  # closing flushes the unwritten bytes again
            handle.close()
        exc.filename = exc.filename or str(lock)  # a full disk: name where, as every other write does
        raise
    return handle


def resumable(path: Path | str) -> tuple[Path, Path]:
    """The final and the temporary folder of an interrupted run, named either way."""
    path = final_name(Path(path))
    tmp = partial_path(path)
    if path.is_dir():
        if all((path / name).is_file() for name in REQUIRED):
            raise UserError(f"run {path} is already complete; there is nothing to resume.")
        raise UserError(
            f"{path} is a folder but not a run (it lacks {', '.join(n for n in REQUIRED if not (path / n).is_file())}); "
            "--resume takes an interrupted run's folder, as `train` printed it. Start a new run with `rnnforecast train`."
        )
    if _never_started(tmp):
        raise UserError(_never_trained(path))
    if not (tmp / "config.yaml").is_file():
        waiting = sorted(final_name(p).name for p in path.parent.glob(".*.partial") if (p / "config.yaml").is_file())
        listed = f" Interrupted runs in {path.parent}: {', '.join(waiting)}." if waiting else ""
        if path.is_file():  # `train --resume config.yaml`: the config, where the run folder goes
            raise UserError(f"{path} is a file; --resume takes the folder of an interrupted run, as `train` printed it "
                            f"(runs/NAME-DATE-TIME).{listed} To start a new run from it: rnnforecast train "
                            f"{shlex.quote(str(path))}")
        raise UserError(f"there is no interrupted run named {path}.{listed} Start a new run with `rnnforecast train`.")
    return path, tmp


def output_path(text: str | None, example: str) -> Path | None:
    """The path an --output option names, refused when it ends in a slash (a folder) that Path would drop.

    Path("new/") is Path("new"), so without this check `-o new/` writes a file named `new`.
    """
    if text is None:
        return None
    if not text.strip():  # `-o ''` (an unset shell variable) read as the folder `.`
        raise UserError(f"--output is empty; give a file name to write (for example {example}), or - to print.")
    if text.endswith(("/", os.sep)) and text.strip("/" + os.sep):
        folder = Path(text)
        raise UserError(f"--output {text} names a folder; give a file name to write (for example {folder / example}).")
    return Path(text)


def atomic_write(target: Path, write: Callable[[Path], None], example: str = "forecast.csv") -> None:
    """Write through a temporary file and rename, so a reader never sees half a file.

    A symbolic link is written through (its target replaced, the link kept), and a target
    that is not a regular file (/dev/stdout, a named pipe) is written to directly. `example`:
    the file name a message suggests inside a folder given as the target.
    """
    target = Path(target)
    if target.is_dir() and target.name in PROTECTED and (target.parent / "metadata.json").is_file():
        raise UserError(f"{target} is a folder where the run keeps a file of that name: the run folder is damaged. "
                        "Remove that folder (the command writes the file again), or copy the run again.")
    if target.is_dir():
        raise UserError(f"{target} is a folder; give a file name to write (for example {target / example}).")
    if target.exists() and not target.is_file():
        _write_to_stream(target, write)  # a device or a pipe (/dev/stdout into `| head`): nothing to replace
        return
    if target.is_symlink():
        target = target.resolve()
    blocking = next((folder for folder in target.parents if folder.exists() and not folder.is_dir()), None)
    if blocking is not None:
        raise UserError(f"cannot write {target}: {blocking} is a file, not a folder. Choose another path.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.partial{target.suffix}")
    try:
        write(tmp)
        tmp.replace(target)
    except OSError as exc:
        if exc.filename in (str(tmp), tmp, None):
            exc.filename = str(target)  # the user named the target, not our temporary file (a full disk names none)
        raise
    finally:
        with contextlib.suppress(OSError):  # a read-only folder refuses even this (EROFS): the first error is the one
            tmp.unlink(missing_ok=True)


def _write_to_stream(target: Path, write: Callable[[Path], None]) -> None:
    """Write into a temporary regular file, then copy its bytes to a pipe or device in order.

    Formats that seek while writing (PNG through Pillow, PDF, Parquet) fail on a pipe; a CSV does
    not, but one path for all keeps the behaviour the same whatever the format.
    """
    try:
        with open(target, "wb") as sink:
            write_to_stream(sink, write, "".join(target.suffixes[-2:]))
    except OSError as exc:
        if not exc.filename:  # a device's write (/dev/full) names no file: the message names the one the user gave
            exc.filename = str(target)
        raise


def write_to_stream(sink, write: Callable[[Path], None], suffix: str) -> None:
    """`write` into a temporary file named with `suffix` (the format), then its bytes into the binary stream `sink`."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="rnnforecast-") as folder:
        tmp = Path(folder) / f"out{suffix}"
        write(tmp)
        with open(tmp, "rb") as source:
            shutil.copyfileobj(source, sink)
        sink.flush()


# A run's own files: a user's --output never lands on one (PROTECTED in a folder holding metadata.json).
PROTECTED = (*REQUIRED, FINAL_MODEL_FILE, RESUMABLE_MARK, LOCK_FILE, "calibration.json", "calibration-scores.npz",
             "combination.json",
             "backtest.json", "folds.csv", "forecasts.csv", "error_by_step.png", "metrics.json", "tune.yaml",
             "study.journal", "trials.csv", "best.yaml", "best.json", "search.png")


def write_output(target: Path, write: Callable[[Path], None], option: str = "--output", inputs=(),
                 replaceable: Callable[[Path], bool] | None = None, what: str = "forecast") -> None:
    """A file the user named, written atomically once `check_output` allows it."""
    check_output(target, option, inputs, replaceable, what)
    atomic_write(Path(target), write, "forecast.png" if what == "plot" else "forecast.csv")


def check_output(target: Path, option: str = "--output", inputs=(),
                 replaceable: Callable[[Path], bool] | None = None, what: str = "forecast") -> None:
    """Refuse a file the user named when writing it would replace a run's own file, an input or a file this tool did
    not write; commands call it before their work too, so a refusal does not come after minutes of forecasting.

    `inputs`: the files the command read (the run's data file, a newer one): a forecast written
    over them would destroy the data it was made from (`-o data.csv` for `-o forecast.csv`).
    `replaceable`: whether an existing file may be replaced (an earlier forecast or plot: a rerun expects that; a
    user's own table of the same name, a photo, notes.py: never). Empty files are always replaceable.
    """
    target = Path(target)
    real = target.resolve() if target.is_symlink() else target
    if real.name in PROTECTED and (real.parent / "metadata.json").is_file():
        raise UserError(
            f"{option} {target} would overwrite {real.name}, a file of the run in {real.parent}. "
            "Choose another file name (for example forecast.csv)."
        )
    for source in inputs:
        if source is not None and real.is_file() and Path(source).is_file() and os.path.samefile(real, source):
            raise UserError(
                f"{option} {target} is the data file {source} that this command read: writing there would replace "
                "your data with the forecast. Choose another file name (for example forecast.csv)."
            )
    if replaceable is not None and real.is_file() and real.stat().st_size > 0 and not replaceable(real):
        example = "forecast.png" if what == "plot" else "forecast.csv"
        raise UserError(
            f"{option} {target} already exists and is not an earlier {what} written by rnnforecast: writing the "
            f"{what} there would replace that file. Choose another name (for example {example}), or delete the file "
            "first if it is not needed."
        )


COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")  # what pandas writes without another package
SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods")
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
           ".tsv": "tsv", ".tab": "tsv"}


# Names of formats a table is not written in: CSV text under them would be a file that lies about its contents.
OTHER_FORMATS = {
    **dict.fromkeys((".png", ".jpg", ".jpeg", ".pdf", ".svg", ".eps", ".ps", ".gif", ".tif", ".tiff", ".webp"),
                    "an image"),
    **dict.fromkeys((".feather", ".arrow", ".h5", ".hdf5", ".npy", ".npz", ".pkl", ".pickle", ".orc", ".avro"),
                    "a binary data format"),
    **dict.fromkeys((".html", ".htm", ".xml", ".yaml", ".yml", ".py", ".md"), "another kind of text file"),
}


def table_format(target: Path) -> str:
    """How a table is written, from its name: parquet, json, jsonl, tsv or csv (a compression suffix is looked past)."""
    suffixes = [s.lower() for s in Path(target).suffixes]
    compressed = bool(suffixes) and suffixes[-1] in COMPRESSIONS
    last = (suffixes[:-1] if compressed else suffixes)[-1:] or [""]
    kind = FORMATS.get(last[0], "csv")
    if last[0] in SPREADSHEETS:
        raise UserError(
            f"--output {target}: spreadsheet files are not written (it would be CSV text under an Excel name, which "
            "Excel refuses to open). Write forecast.csv (Excel opens it), or .parquet, .json or .tsv."
        )
    if last[0] in OTHER_FORMATS:
        raise UserError(
            f"--output {target}: '{last[0]}' names {OTHER_FORMATS[last[0]]}, and the forecast is a table. Name it "
            ".csv (the default), .tsv, .json, .jsonl or .parquet (.gz compresses the text ones); `plot` draws images."
        )
    if last[0] in (".zst", ".zstd", ".lz4", ".7z", ".rar") or kind == "parquet" and compressed:
        raise UserError(
            f"--output {target}: that compression is not written. Use .gz, .bz2, .xz or .zip after .csv, .tsv, .json "
            "or .jsonl (Parquet compresses inside: name it forecast.parquet)."
        )
    return kind


# A forecast's quantile columns, beside each target (`Temp_q0.1`).
QUANTILE_COLUMN = re.compile(r".+_q(0(\.\d+)?|1(\.0+)?)$")


def earlier_forecast(target: Path) -> bool:
    """Whether a file holds a forecast this tool wrote (every forecast has quantile columns): a rerun replaces it;
    any other table of that name is the user's and is kept."""
    try:
        columns = _columns(target)
    except (OSError, ValueError, ImportError, UserError):  # unreadable, not a table, not UTF-8, not a table's name
        return False
    return any(QUANTILE_COLUMN.match(str(column)) for column in columns)


def check_table_output(target: Path, inputs=()) -> None:
    """`predict --output`, checked before the forecast is made: a name it cannot write or a file it may not replace."""
    check_output(target, inputs=inputs, replaceable=earlier_forecast)  # a file of the user's first: the gravest
    table_format(target)


def _columns(target: Path) -> list:
    """A table file's column names, read without reading its rows where the format allows."""
    kind = table_format(target)
    if kind == "parquet":
        import pyarrow.parquet

        return pyarrow.parquet.read_schema(target).names
    if kind == "jsonl":
        return list(pd.read_json(target, lines=True, nrows=1).columns)
    if kind == "json":
        return list(pd.read_json(target, orient="records").columns)
    return list(pd.read_csv(target, sep="\t" if kind == "tsv" else ",", nrows=0).columns)


def made_by_matplotlib(target: Path) -> bool:
    """Whether an image was drawn by Matplotlib (its own stamp, or ours in formats Pillow writes): a plot to replace."""
    try:
        with open(target, "rb") as handle:
            head = handle.read(8192)
            handle.seek(max(target.stat().st_size - 8192, 0))
            tail = handle.read()
    except OSError:
        return False
    return b"matplotlib" in (head + tail).lower()


def write_table(target: Path, frame: pd.DataFrame, option: str = "--output", inputs=()) -> None:
    """A table the user named, in the format its name says (`table_format`; .gz, .bz2, .xz, .zip compress), atomically.

    JSON is a list of records (one per row, times in ISO 8601), JSON Lines one record per line.
    """
    kind = table_format(target)
    # a zip archive names its file after the path written, our temporary one: the name the user gave, less .zip
    packed = {"method": "zip", "archive_name": Path(target).name[:-4]} if Path(target).suffix.lower() == ".zip" \
        else "infer"
    writers = {
        "parquet": lambda tmp: frame.to_parquet(tmp, index=False),
        "json": lambda tmp: frame.to_json(tmp, orient="records", date_format="iso", double_precision=15, indent=1,
                                          compression=packed),
        "jsonl": lambda tmp: frame.to_json(tmp, orient="records", date_format="iso", double_precision=15, lines=True,
                                           compression=packed),
        "tsv": lambda tmp: frame.to_csv(tmp, index=False, sep="\t", compression=packed, **csv_options(frame)),
        "csv": lambda tmp: frame.to_csv(tmp, index=False, compression=packed, **csv_options(frame)),
    }
    write_output(target, writers[kind], option, inputs, replaceable=earlier_forecast)


def csv_options(frame: pd.DataFrame) -> dict:
    """to_csv's options for a forecast table: an hourly forecast whose steps all fall at midnight kept its times.

    pandas writes a time column of midnights as dates alone (`2021-02-20`), which reads as a daily forecast; a
    table of sub-daily steps (attrs["sub_daily"]) writes its times whole. Zoned times are always written whole.
    """
    naive = all(getattr(frame[c].dtype, "tz", None) is None for c in frame.select_dtypes(include=["datetime"]))
    return {"date_format": "%Y-%m-%d %H:%M:%S"} if frame.attrs.get("sub_daily") and naive else {}


def write_json(target: Path, payload: dict) -> None:
    """A JSON file written atomically (never half-written)."""
    atomic_write(target, lambda p: p.write_text(json.dumps(payload, indent=2, default=str) + "\n"))


def history_frame(history: dict) -> pd.DataFrame:
    """A Keras history (metric -> per-epoch values) as history.csv's table, epochs counted from 1."""
    frame = pd.DataFrame({k: [float(x) for x in v] for k, v in history.items()})
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame


def write_run_files(folder: Path, config, prep: dict, model, history: dict, meta: dict) -> None:
    """The files every run folder holds (REQUIRED), written by `train` and `backtest` alike.

    Args:
        folder: the run's temporary folder (inside `creating`).
        config: the resolved Config; written out with every default.
        prep: the fitted preprocessing (JSON-ready).
        model: the honest Keras model, saved as model.keras.
        history: the Keras history of its fit.
        meta: the command's own facts; the machine's, the model's SHA-256 and the finishing time are added.
    """
    from rnnforecast import environment

    model.save(folder / MODEL_FILE)
    (folder / "config.yaml").write_text(config_module.dump(config))
    (folder / "preprocessing.json").write_text(json.dumps(prep, indent=2) + "\n")
    history_frame(history).to_csv(folder / "history.csv", index=False)
    meta = {
        **environment.describe(),
        **meta,
        "model_sha256": sha256(folder / MODEL_FILE),
        "config_sha256": sha256(folder / "config.yaml"),
        "preprocessing_sha256": sha256(folder / "preprocessing.json"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks: the run records its data's and models' hashes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def series_ids(run: Run, values: list[str] | None) -> list[str] | None:
    """The ids --series names: each value as given when the run knows such a series, else split at its commas.

    `--series A,B` names two series, and `--series "North, big"` the one id with a comma that training saw.
    """
    if not values:
        return values
    known = set(run.prep.get("series", {})) | set(run.prep.get("skipped", []))
    found = []
    for value in values:
        whole = value.strip()
        found.extend([whole] if whole in known else [part.strip() for part in value.split(",") if part.strip()])
    if not found:
        raise UserError(f"--series {' '.join(map(repr, values))} names no series. Give ids from the data's "
                        f"{run.prep.get('id_column') or 'id'} column, or leave --series out to forecast every series.")
    return list(dict.fromkeys(found))


def load(path: Path | str, data: Path | None = None, reads_data: bool = False) -> Run:
    """Read a run folder written by `rnnforecast train`.

    `reads_data`: the command reads the run's data file unless `data` (--data) names another, so a
    file moved or deleted since training is refused here, in the run's terms, not deep in the reading.
    """
    run = _load(Path(path).expanduser())  # a quoted ~ (the shell expands only a bare one)
    source = Path(run.config.data.path)
    if reads_data and data is None and not source.exists():
        raise UserError(
            f"run {run.path} was trained on {source}, which is no longer there (moved or deleted). Pass the data "
            "with --data FILE (the same columns; newer rows are fine), or put the file back."
        )
    return run


def data_to_read(run: Run, data: Path | None) -> tuple[Path | None, str | None]:
    """The data a command on `run` reads: --data, else the training file; read as newer data when it has changed.

    The run's split is row numbers of the file as it was: on a file grown at the front, or edited, they
    would name other rows (rows it trained on scored as its test period). A changed file (its SHA-256
    differs from metadata.json's) is therefore read as --data reads newer data, placed by its times.
    Returns the path to pass on as --data (None: the training file as it was) and a note saying so.
    """
    expected = run.metadata.get("data_sha256")
    source = Path(run.config.data.path)
    if data is not None or not expected or not source.is_file() or sha256(source) == expected:
        return data, None
    return source, (
        f"{source.name} has changed since {run.path.name} was trained (its SHA-256 differs from metadata.json's): it "
        "is read as newer data, as --data reads it, so only rows after the last one the model saw are scored and "
        "the forecast starts after its last row."
    )


def _load(path: Path) -> Run:
    if path.is_file() and path.suffix.lower() in (".yaml", ".yml"):
        raise UserError(
            f"{path} is a config file, not a run folder. Train it first (`rnnforecast train {path}`), then give the run "
            "folder that train prints (runs/<name>-<time>)."
        )
    if path.is_file():
        raise UserError(
            f"{path} is a file, not a run folder. Give the folder `rnnforecast train` wrote (runs/<name>-<time>); a "
            "data file goes after --data."
        )
    path = final_name(path)
    if not path.is_dir() and _never_started(partial_path(path)):
        raise UserError(_never_trained(path))
    if not path.is_dir() and partial_path(path).is_dir():
        raise UserError(
            f"run {path} is not finished: its training is still going, or it was stopped (its files wait in "
            f"{partial_path(path)}). Wait for `train` to print \"Run saved to: {path}\", or go on with a stopped one: "
            f"`rnnforecast train --resume {shlex.quote(str(path))}`."
        )
    if not path.is_dir():
        raise UserError(f"run folder {path} does not exist. `rnnforecast train` prints the folder it wrote.")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing and (path / "tune.yaml").is_file():
        refits = sorted(path.glob("refit-*"))
        refit = f"; the run refit on it is {refits[-1]}, which predict reads" if refits else (
            " (`rnnforecast tune --refit` trains it)")
        raise UserError(f"{path} is a search's folder (`rnnforecast tune`), not a run: its best config is "
                        f"{path / 'best.yaml'}, to train with `rnnforecast train`{refit}.")
    if missing:
        inside = sorted((p for p in path.iterdir() if (p / "metadata.json").is_file()),  # written when a run ends:
                        key=lambda p: (p / "metadata.json").stat().st_mtime)  # evaluate's metrics.json touches the folder
        hint = (f"{path} holds {len(inside)} run(s), the newest {inside[-1]}: pass one of them"
                if inside else "Pass a folder that `rnnforecast train` wrote, such as runs/quickstart-20260101-120000")
        raise UserError(f"{path} is not a complete run folder (missing {', '.join(missing)}). {hint}.")
    metadata = json_file(path / "metadata.json", ("model_sha256",))
    for key, value in metadata.items():  # a checksum edited into a number blamed the file it checks
        if key.endswith("_sha256") and value is not None and not (
                isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)):
            raise damaged(path / "metadata.json", f"{key} is {_short(value)}, not a SHA-256 (64 hexadecimal digits)")
    if not metadata.get("final_model_sha256") and ((path / FINAL_MODEL_FILE).is_file() or "final_windows" in metadata):
        raise damaged(path / "metadata.json", "final_model_sha256 missing: the run was trained with a final model, "
                      "final.keras, which predict forecasts with")
    config_file = path / "config.yaml"
    expected = metadata.get("config_sha256")
    if expected is not None and sha256(config_file) != expected:
        raise UserError(
            f"{config_file} has been edited since training (its SHA-256 differs from metadata.json), so it no longer "
            "describes the saved model. Restore the original file, or train a new run with the edited config."
        )
    config = config_module.validate(config_module.read_yaml(config_file), source=str(config_file))
    prep = json_file(path / "preprocessing.json", ("targets",))
    check_prep(path / "preprocessing.json", prep)
    if prep["targets"] != list(config.data.targets):
        raise damaged(path / "preprocessing.json", f"targets {_short(prep['targets'])} are not config.yaml's "
                                                   f"data.targets {_short(list(config.data.targets))}")
    fitted = metadata.get("preprocessing_sha256")  # a plausible edit (a scale doubled) passes every check above
    if fitted is not None and sha256(path / "preprocessing.json") != fitted:
        raise UserError(
            f"{path / 'preprocessing.json'} has been edited since training (its SHA-256 differs from metadata.json): "
            "it holds the scaling and split the model was trained with, and every forecast and score is unscaled with "
            "it. Restore the original file (copy the run again), or train a new run."
        )
    try:
        history = pd.read_csv(path / "history.csv")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise damaged(path / "history.csv", f"not a CSV table ({type(exc).__name__})") from None
    if "epoch" not in history.columns:
        raise damaged(path / "history.csv", "no epoch column")
    text = [c for c in history.columns if not pd.api.types.is_numeric_dtype(history[c]) and history[c].notna().any()]
    if text:
        raise damaged(path / "history.csv", f"column {text[0]!r} holds text where numbers belong")
    return Run(path, config, prep, metadata, history)


def _never_trained(path: Path) -> str:
    return (f"run {path} was never trained: {partial_path(path)} holds nothing yet, so training is starting this "
            "moment or stopped before it began (a full disk, a kill), and there is nothing to resume. Wait for `train` "
            f"to print \"Run saved to: {path}\", or delete {partial_path(path)} and run `rnnforecast train` again.")


def _never_started(partial: Path) -> bool:
    """Whether a run's hidden folder holds nothing but its lock: claimed, then stopped (or starting right now)."""
    return partial.is_dir() and all(found.name == LOCK_FILE for found in partial.iterdir())


def json_file(path: Path, required: tuple[str, ...] = ()) -> dict:
    """A run's JSON file, parsed and checked for the keys everything after relies on (damaged: a UserError)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise damaged(path, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise damaged(path, f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:  # [[[[... thousands deep: valid JSON that no run file is
        raise damaged(path, "nested too deep to be a run file") from None
    if not isinstance(found, dict):
        raise damaged(path, "not a JSON object")
    missing = [key for key in required if not found.get(key)]
    if missing:
        raise damaged(path, f"{', '.join(missing)} missing")
    return found


def check_prep(path: Path, prep: dict) -> None:
    """Refuse a preprocessing.json whose values are wrong, not only unreadable: every forecast is unscaled with it,
    and a key deleted or a scale of 0 or text gave an internal error or NaN forecasts instead of this message."""
    problem = _prep_problem(prep)
    if problem:
        raise damaged(path, problem)


def _prep_problem(prep: dict) -> str | None:
    """What is wrong with a run's fitted preprocessing (None: nothing), one series' or each of a panel's."""
    columns = prep.get("columns")
    if not _names(prep["targets"]):
        return "targets is not a list of column names"
    if not (_names(columns) and len(columns) >= len(prep["targets"])):
        return "columns missing or not a list of column names"
    problem = _settings_problem(prep)
    if problem:
        return problem
    n = len(prep["targets"])
    if "series" not in prep:
        return _scaler_problem(prep, len(columns)) or _fitted_problem(prep, n)
    if not isinstance(prep["series"], dict):
        return "series is not an object"
    for key, one in prep["series"].items():  # a panel: one fitted scaler per series, and its own season length
        problem = (_scaler_problem(one, len(columns)) or _fitted_problem(one, n)) if isinstance(one, dict) \
            else "not an object"
        if problem:
            return f"series {key!r}: {problem}"
    return _season_problem(prep)


def _settings_problem(prep: dict) -> str | None:
    """The data settings training recorded: a frequency pandas knows, a missing-value policy and a scaling it has."""
    from typing import get_args

    from rnnforecast.config.types import MissingPolicy, Scaling

    frequency = prep.get("frequency")
    if frequency is not None:
        try:
            pd.tseries.frequencies.to_offset(frequency)
        except (TypeError, ValueError):
            return f"frequency {_short(frequency)} is not a pandas frequency"
    for key, allowed in (("missing", get_args(MissingPolicy)), ("scaling", get_args(Scaling))):
        if key in prep and prep[key] not in allowed:
            return f"{key} {_short(prep[key])} is not one of {', '.join(allowed)}"
    return None


def _fitted_problem(prep: dict, n: int) -> str | None:
    """One series' fitted values beyond its scaler (None: nothing wrong): each of the n targets' floor, MASE scale
    and sign, the cycle, and the split's rows, where the run has them (older runs lack some)."""
    for key, ok, what in (
        ("floor", lambda v: v is None or _finite(v), "a number or null"),
        ("mase_scale", lambda v: v is None or (_finite(v) and v >= 0), "a number of 0 or more"),
        ("never_negative", lambda v: isinstance(v, bool), "true or false"),
    ):
        if key in prep and not _each(prep[key], n, ok):
            return f"{key} {_short(prep[key])}: not {what} for each of the {n} target(s)"
    cycle = prep.get("cycle")
    if cycle is not None and (isinstance(cycle, bool) or not isinstance(cycle, int) or cycle < 0):
        return f"cycle {_short(cycle)} is not a whole number of steps"
    rows = [prep.get(key) for key in ("train_end", "val_end", "test_end")]
    if any(row is not None for row in rows) and not (
            all(isinstance(row, int) and not isinstance(row, bool) for row in rows) and 0 <= rows[0] <= rows[1] <= rows[2]):
        return f"train_end, val_end, test_end {_short(rows)} are not rows in order"
    return None


def _names(value) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def _season_problem(prep: dict) -> str | None:
    if "season_length" not in prep:
        return "season_length missing"
    season = prep["season_length"]
    if isinstance(season, bool) or not isinstance(season, int) or season < 1:
        return f"season_length {_short(season)} is not a whole number of steps"
    return None


def _scaler_problem(prep: dict, n: int) -> str | None:
    """What is wrong with one series' fitted values (None: nothing): its season length, n centers and n scales."""
    problem = _season_problem(prep)
    for key, ok in (("center", _finite), ("scale", lambda v: _finite(v) and v > 0)):
        if problem or key not in prep:
            return problem or f"{key} missing"
        values = prep[key]
        if not _each(values, n, ok):
            kind = "positive finite number" if key == "scale" else "finite number"
            return f"{key} {_short(values)}: not one {kind} for each of the {n} column(s)"
    return None


def _each(values, n: int, ok) -> bool:
    """Whether `values` is a list of n values that each pass `ok`."""
    return isinstance(values, list) and len(values) == n and all(ok(v) for v in values)


def _finite(value) -> bool:
    """A finite number, not a bool (JSON's true is no scale)."""
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _short(value) -> str:
    """A value as a message quotes it, cut to a line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def npz_arrays(path: Path) -> dict:
    """The arrays of a run's .npz file (calibration scores, a checkpoint's best weights); damaged: a UserError."""
    import zipfile

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise damaged(path, f"not a NumPy archive ({type(exc).__name__})") from None


def unwritable(exc: OSError) -> bool:
    """Whether a write failed because the folder may not be written (permissions, a read-only file system)."""
    import errno

    return exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def damaged(path: Path, what: str) -> UserError:
    return UserError(
        f"{path} is damaged ({what}): the run folder cannot be trusted. Copy the run again from where it was "
        "written, or train it again."
    )
