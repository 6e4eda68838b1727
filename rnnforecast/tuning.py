"""`rnnforecast tune`: search a config's hyperparameters with Optuna, scored on the validation windows.

The study lives in Optuna's storage: by default a journal file inside the (hidden,
until finished) run folder, so that a killed search resumes; with `--storage` a database
that any number of workers, on one machine or many, share. Every trial goes through the
training path of `rnnforecast train` (prepare_data, build, fit); the test windows are
never looked at. The number of trials is a study-wide total, counted in the storage.
"""

from __future__ import annotations

import copy
import logging
import math
import multiprocessing
import os
import re
import shutil
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from rnnforecast import config as config_module
from rnnforecast import runs
from rnnforecast.config import Config, TuneConfig
from rnnforecast.errors import Interrupted, UserError

N_LAYERS = "model.n_layers"  # not a config key: resizes model.layers before any model.layers[i] value
TUNE_FILE = "tune.yaml"  # the search's config, in the run folder: what --resume and the workers read
STUDY_FILE = "study.journal"  # the embedded study (Optuna's journal file storage)
INTERRUPTED = "interrupted: the search stopped during this trial; it was run again"
HEARTBEAT_S = 20  # a running trial's worker writes the time this often
STALE_S = 180  # a running trial with no heartbeat for this long lost its worker (killed, machine gone)
SURPLUS = "surplus: the study already had its number of trials when this one started"
LAYER_KEY = re.compile(r"^model\.layers\[(\d+)\]")


@dataclass
class Dimension:
    """One axis of the search space: a config key and the values it may take."""

    key: str
    choices: list | None = None
    kind: str = "choice"  # choice, int, float
    low: float = 0
    high: float = 0
    log: bool = False
    step: float | None = None

    def corners(self) -> list:
        """The values checked against the schema before any trial runs."""
        return list(self.choices) if self.kind == "choice" else [self.low, self.high]

    def suggest(self, trial) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, self.choices)
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    @property
    def layer(self) -> int | None:
        found = LAYER_KEY.match(self.key)
        return int(found.group(1)) if found else None


# ---------------------------------------------------------------------------- the search space


def parse_space(space: dict[str, Any], source: str) -> list[Dimension]:
    """tune.space as Dimensions; a malformed entry is a UserError naming it."""
    dims = []
    for key, spec in space.items():
        where = f"{source}: tune.space.{key}"
        if isinstance(spec, list):
            if not spec or any(isinstance(v, (list, dict)) for v in spec):
                raise UserError(f"{where} must list at least one plain value (number, text, true/false), e.g. [lstm, gru].")
            dims.append(Dimension(key, list(spec)))
            continue
        kinds = [k for k in ("int", "float") if isinstance(spec, dict) and k in spec]
        extra = set(spec) - {"int", "float", "log", "step"} if isinstance(spec, dict) else set()
        bounds = spec.get(kinds[0]) if len(kinds) == 1 else None
        if len(kinds) != 1 or extra or not isinstance(bounds, list) or len(bounds) != 2:
            raise UserError(
                f"{where} must be a list of choices, {{int: [low, high]}} or {{float: [low, high]}} (with optional "
                "log: true and step), e.g. {int: [16, 256], log: true}."
            )
        kind, (low, high) = kinds[0], bounds
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if not numbers or (kind == "int" and not all(float(v).is_integer() for v in (low, high))) or low > high:
            raise UserError(f"{where}: the bounds {bounds} must be two {kind}s with low <= high.")
        log, step = spec.get("log", False), spec.get("step")
        if log and low <= 0:
            raise UserError(f"{where}: log: true needs a positive low bound (got {low}).")
        if log and step is not None:
            raise UserError(f"{where}: give log: true or a step, not both (Optuna samples one or the other).")
        dims.append(Dimension(key, None, kind, low, high, bool(log), step))
    layers = [d for d in dims if d.key == N_LAYERS]
    if layers and not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in layers[0].corners()):
        raise UserError(f"{source}: tune.space.{N_LAYERS} must be positive whole numbers, e.g. [1, 2, 3].")
    return sorted(dims, key=lambda d: d.key != N_LAYERS)  # the number of layers is sampled first


def configure(base: dict, params: dict[str, Any]) -> dict:
    """The raw config for one trial: the base with the layers resized, then every sampled value set."""
    raw = copy.deepcopy(base)
    if N_LAYERS in params:
        layers = raw.setdefault("model", {}).get("layers") or [{}]
        n = int(params[N_LAYERS])
        raw["model"]["layers"] = [copy.deepcopy(layers[min(i, len(layers) - 1)]) for i in range(n)]
    for key, value in params.items():
        if key != N_LAYERS:
            config_module.set_path(raw, key, value, option=f"tune.space.{key}")
    return raw


def check_space(base: dict, dims: list[Dimension], source: str) -> None:
    """Each value of each dimension must give a valid config: a bad search space fails before any trial."""
    most = {N_LAYERS: max(dims[0].corners())} if dims and dims[0].key == N_LAYERS else {}
    for dim in dims:
        for value in dim.corners():
            params = most | {dim.key: value}
            try:
                config_module.validate(configure(base, params), source="the trial's config")
            except UserError as exc:
                raise UserError(
                    f"{source}: tune.space.{dim.key} value {value!r} makes an invalid config. {exc}"
                ) from None


def sample(trial, dims: list[Dimension]) -> dict[str, Any]:
    """Draw one trial's values; the settings of layers that this trial does not have are not drawn."""
    params: dict[str, Any] = {}
    for dim in dims:
        n = params.get(N_LAYERS)
        if n is not None and dim.layer is not None and dim.layer >= n:
            continue
        params[dim.key] = dim.suggest(trial)
    return params


# ---------------------------------------------------------------------------- one trial


def validation_scores(config: Config, prep: dict, model, history: dict) -> dict[str, float]:
    """Every metric `evaluate` reports, on the validation windows (a panel: the mean over its series)."""
    from rnnforecast import forecasting, metrics

    run = runs.Run(Path(config.run.dir), config, prep, {}, pd.DataFrame())
    if forecasting.is_panel(run):
        prepared = list(forecasting.prepare_panel(run).values())
    else:
        prepared = [forecasting.prepare(run)]
    per_series = []
    for one in prepared:
        result = forecasting.validation_forecasts(one, model)
        view = one.run.prep
        unit = np.asarray(view["scale"][: one.n_targets])
        center = np.asarray(view["center"][: one.n_targets])
        scored = metrics.score(result.actual, result.forecasts["model"], np.asarray(view["mase_scale"]))["overall"]
        scaled = metrics.score((result.actual - center) / unit, (result.forecasts["model"] - center) / unit, 1.0)
        per_series.append(scored | {"scaled_mae": scaled["overall"]["mae"]})
    scores = {
        key: float(np.mean([s[key] for s in per_series])) if all(s[key] is not None for s in per_series) else None
        for key in per_series[0]
    }
    return scores | {"val_loss": float(np.nanmin(history["val_loss"]))}


def _train_trial(config: Config, trial) -> tuple[dict[str, float], int, int]:
    """Train the trial's config as `train` would (in memory), reporting val_loss each epoch for pruning."""
    import optuna

    from rnnforecast import environment, training

    keras = environment.import_keras()

    class Pruning(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get("val_loss")
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} (val_loss {float(value):.4g})")

    keras.backend.clear_session()  # each trial builds a new graph; do not keep the old ones
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # "retracing" warnings: every trial is a new model
    prepared = training.prepare_data(config)
    model = training.build(config, len(prepared.series.columns), prepared.prep["season_length"])
    history = training.fit(model, prepared, config, verbose=0, extra_callbacks=[Pruning()]).history
    val = np.asarray(history["val_loss"], dtype=float)
    best_epoch = int(np.nanargmin(val)) + 1 if np.isfinite(val).any() else len(val)
    return validation_scores(config, prepared.prep, model, history), best_epoch, len(val)


def run_trial(study, trial, base: dict, dims: list[Dimension], objective: str) -> None:
    """Run one trial and tell the study; a failure is recorded with its reason and the search goes on."""
    import optuna
    from optuna.trial import TrialState

    started = time.monotonic()
    state, value = TrialState.FAIL, None
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    beating = _heartbeat(trial)
    try:
        params = sample(trial, dims)
        config = config_module.validate(configure(base, params), source=f"trial {trial.number}'s config")
        trial.set_user_attr("config", config.model_dump(mode="json", exclude={"tune"}))
        scores, best_epoch, epochs = _train_trial(config, trial)
        trial.set_user_attr("epochs", epochs)
        trial.set_user_attr("best_epoch", best_epoch)
        trial.set_user_attr("scores", scores)
        value = scores.get(objective)
        if value is None or not math.isfinite(value):
            trial.set_user_attr("reason", f"the validation {objective} is {value} (undefined for this series)")
        else:
            state = TrialState.COMPLETE
    except optuna.TrialPruned as exc:
        state = TrialState.PRUNED
        trial.set_user_attr("reason", str(exc) or "pruned")
    except Exception as exc:  # NaN loss, a config the schema refuses, out of memory: record it and go on
        text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        trial.set_user_attr("reason", " ".join(text.split())[:1000])
    finally:
        beating.set()
    try:
        trial.set_user_attr("duration_s", round(time.monotonic() - started, 1))
        study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
    except optuna.exceptions.UpdateFinishedTrialError:  # another worker took this one for dead and ran it again
        print(f"note: trial {trial.number} was given up by another worker (no heartbeat); its result is dropped.",
              file=sys.stderr)


def _heartbeat(trial) -> threading.Event:
    """Write the time into the running trial every HEARTBEAT_S seconds, until the returned event is set."""
    stop = threading.Event()
    trial.set_user_attr("heartbeat", time.time())

    def beat():
        while not stop.wait(HEARTBEAT_S):
            try:
                trial.set_user_attr("heartbeat", time.time())
            except Exception:  # the trial was finished meanwhile, or the database is briefly away
                pass

    threading.Thread(target=beat, daemon=True, name=f"heartbeat-{trial.number}").start()
    return stop


# ---------------------------------------------------------------------------- the study


def open_study(storage: str, name: str, tune: TuneConfig, seed: int | None):
    """Create or load the study; a journal file for a path, a database for a URL (postgresql://, sqlite:///)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if "://" in storage:
        backend = _database(storage)
    else:
        from optuna.storages.journal import JournalFileBackend

        backend = optuna.storages.JournalStorage(JournalFileBackend(storage))
    pruners = {
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(min_resource=1),
        "none": optuna.pruners.NopPruner,
    }
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)  # constant liar: workers spread out
    return optuna.create_study(
        storage=backend, study_name=name, direction="minimize", sampler=sampler,
        pruner=pruners[tune.pruner](), load_if_exists=True,
    )


def _database(storage: str, attempts: int = 5):
    """Optuna's storage on a database URL; workers that start together race to create its tables, so retry."""
    import optuna

    url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", storage)  # psycopg 3, whatever SQLAlchemy's default
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url)
        except ImportError as exc:
            raise UserError(
                f"--storage {_hide_password(storage)} needs a database driver that is not installed ({exc}). For "
                "PostgreSQL: pip install 'rnnforecast[cluster]' (psycopg 3)."
            ) from None
        except Exception as exc:
            if attempt + 1 < attempts and "IntegrityError" in type(exc).__name__ + str(exc):
                time.sleep(0.5 + attempt)  # another worker is creating the same tables right now
                continue
            raise UserError(
                f"could not open the study storage {_hide_password(storage)} ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:300]}). Check the URL, that the server runs and accepts this user."
            ) from None


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def counted(study) -> list:
    """The trials that use up the budget: running or finished, but not the surplus or interrupted ones.

    An interrupted trial is queued to run again (waiting); it counts once a worker takes it.
    """
    from optuna.trial import TrialState

    return [
        t for t in study.get_trials(deepcopy=False)
        if t.state != TrialState.WAITING and t.user_attrs.get("reason") not in (SURPLUS, INTERRUPTED)
    ]


def recover_interrupted(study, older_than: float | None = None) -> int:
    """Mark the trials whose worker is gone as interrupted, and queue their values to run again.

    With `older_than` (seconds), only running trials with no heartbeat for that long: their
    worker was killed. Without it (`--resume` of the embedded study), every running trial.
    """
    from optuna.trial import TrialState

    now = time.time()
    stale = [
        t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if older_than is None or now - float(t.user_attrs.get("heartbeat", now)) > older_than
    ]
    for trial in stale:
        study._storage.set_trial_user_attr(trial._trial_id, "reason", INTERRUPTED)
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        study.enqueue_trial(trial.params, skip_if_exists=False)
    return len(stale)


def work(study, base: dict, dims: list[Dimension], tune: TuneConfig, progress=None) -> None:
    """Run trials until the study holds tune.trials of them (all workers together) or time is up.

    Then wait for the trials other workers are still running, so that the outputs cover
    the whole study; a trial whose worker died is run again here.
    """
    from optuna.trial import TrialState

    deadline = time.monotonic() + 60 * tune.timeout_minutes if tune.timeout_minutes else math.inf
    said = False
    while True:
        recover_interrupted(study, older_than=STALE_S)
        if time.monotonic() >= deadline or len(counted(study)) >= tune.trials:
            running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if not running:
                return
            if not said:
                print(f"Waiting for {len(running)} trial(s) that other workers are running (Ctrl-C stops waiting; "
                      "the study keeps every trial).", file=sys.stderr)
                said = True
            time.sleep(2.0)
        else:
            trial = study.ask()
            ahead = sorted(t.number for t in counted(study))
            if trial.number not in ahead[: tune.trials]:  # another worker took the last one meanwhile
                trial.set_user_attr("reason", SURPLUS)
                study.tell(trial, state=TrialState.FAIL)
                continue
            run_trial(study, trial, base, dims, tune.objective)
        if progress is not None:
            progress(study)


def _worker(tune_file: str, storage: str, name: str, seed: int | None) -> None:
    """A local worker process (--workers N): load the search's config and join the study."""
    raw = config_module.read_yaml(Path(tune_file))
    config = config_module.validate(raw, source=tune_file)
    base = config.model_dump(mode="json", exclude={"tune"})
    study = open_study(storage, name, config.tune, seed)
    try:
        work(study, base, parse_space(config.tune.space, tune_file), config.tune)
    except KeyboardInterrupt:
        pass  # the parent reports the interrupt; the trial left running is recovered on --resume


# ---------------------------------------------------------------------------- the command


def tune(
    config_path: Path | None,
    overrides: list[str] | tuple[str, ...] = (),
    resume: Path | None = None,
    refit: bool = False,
    workers: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
) -> Path:
    """Run (or resume, or join) a search and write its run folder; return the folder's path."""
    if resume is not None:
        final, tmp = _resumable(Path(resume))
        source = str(tmp / TUNE_FILE)
        config = config_module.validate(config_module.read_yaml(tmp / TUNE_FILE), source=source)
    else:
        config = config_module.load_config(config_path, overrides)
        source = str(config_path)
        if config.tune is None:
            raise UserError(
                f"{config_path} has no `tune` section, so there is nothing to search. Add one (the README's "
                "`rnnforecast tune` section has an example, as does configs/quickstart-tune.yaml)."
            )
        name = (config.run.name or Path(config_path).stem) + ("" if Path(config_path).stem.endswith("tune") else "-tune")
        final = runs.new_run_path(Path(config.run.dir), name)
        tmp = runs.partial_path(final)
    base = config.model_dump(mode="json", exclude={"tune"})
    dims = parse_space(config.tune.space, source)
    check_space(base, dims, source)
    if resume is None:
        tmp.mkdir(parents=True)
        (tmp / TUNE_FILE).write_text(config_module.dump(config))
    embedded = storage is None
    storage = storage or str(tmp / STUDY_FILE)
    study_name = study_name or final.name
    seed = config.tune.seed if embedded else (config.tune.seed + os.getpid()) % 2**31
    try:
        study = open_study(storage, study_name, config.tune, seed)
        if resume is not None:
            again = recover_interrupted(study)
            cut = f"; {again} cut short will run again" if again else ""
            print(f"Resuming {final}: {len(counted(study))} of {config.tune.trials} trials finished{cut}.", file=sys.stderr)
        else:
            print(f"Searching {final} (if interrupted: rnnforecast tune --resume {final}).", file=sys.stderr)
        with _progress_bar(config.tune, study) as progress:
            if workers > 1:
                _run_workers(workers, tmp / TUNE_FILE, storage, study_name, seed, progress, study)
            else:
                work(study, base, dims, config.tune, progress)
    except KeyboardInterrupt:
        if not embedded or (resume is None and not _finished(tmp / STUDY_FILE, study_name)):
            shutil.rmtree(tmp, ignore_errors=True)  # the study itself is in the database
            if embedded:
                raise
        raise Interrupted(
            f"the search was interrupted; every finished trial is kept. Resume with: rnnforecast tune --resume {final}"
            if embedded else f"the search was interrupted; the study {study_name} keeps every finished trial. "
            "Run the same command again to go on."
        ) from None
    except BaseException:
        if resume is None and (not embedded or not _finished(tmp / STUDY_FILE, study_name)):
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    best = write_outputs(study, tmp, config.tune, final.name)
    tmp.rename(final)
    if best is None:
        raise UserError(
            f"no trial of the search finished; {final / 'trials.csv'} gives each one's reason. Fix the config or "
            "narrow tune.space, then search again."
        )
    if refit:
        print(f"Refitting the best config on train+validation: {_refit(best, final)}", file=sys.stderr)
    return final


def _finished(journal: Path, name: str) -> bool:
    """Whether the embedded study holds at least one finished trial (worth keeping for --resume)."""
    if not journal.is_file():
        return False
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return False
    return any(t.state.is_finished() for t in study.get_trials(deepcopy=False))


def _resumable(path: Path) -> tuple[Path, Path]:
    if path.name.startswith(".") and path.name.endswith(".partial"):
        path = path.with_name(path.name[1 : -len(".partial")])
    tmp = runs.partial_path(path)
    if path.is_dir():
        raise UserError(f"search {path} is already complete; there is nothing to resume.")
    if not (tmp / TUNE_FILE).is_file():
        waiting = sorted(p.name[1 : -len(".partial")] for p in path.parent.glob(".*.partial") if (p / TUNE_FILE).is_file())
        listed = f" Interrupted searches in {path.parent}: {', '.join(waiting)}." if waiting else ""
        raise UserError(f"there is no interrupted search named {path}.{listed} Start one with `rnnforecast tune CONFIG`.")
    return path, tmp


def _run_workers(n: int, tune_file: Path, storage: str, name: str, seed: int | None, progress, study) -> None:
    """Start n local worker processes on the same study and wait for them, showing the study's progress."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter each: no forked TensorFlow state
    seeds = [None if seed is None else seed + i for i in range(n)]
    procs = [context.Process(target=_worker, args=(str(tune_file), storage, name, s)) for s in seeds]
    for proc in procs:
        proc.start()
    try:
        while any(proc.is_alive() for proc in procs):
            time.sleep(1.0)
            progress(study)
    except KeyboardInterrupt:
        for proc in procs:
            proc.join(timeout=60)  # each stops at the end of its current batch
        raise
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
    progress(study)
    failed = [str(proc.exitcode) for proc in procs if proc.exitcode]
    if failed:
        raise RuntimeError(f"{len(failed)} worker process(es) exited with status {', '.join(failed)}; see above.")


class _progress_bar:
    """A rich progress bar over the study's trials, with the best validation score so far."""

    def __init__(self, tune: TuneConfig, study):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.objective = tune.objective
        self.bar = Progress(
            TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"), console=Console(stderr=True), transient=False,
        )
        self.task = self.bar.add_task("search", total=tune.trials, best="")
        self(study)

    def __call__(self, study) -> None:
        trials = [t for t in counted(study) if t.state.is_finished()]
        values = [t.value for t in trials if t.state.name == "COMPLETE"]
        best = f"best validation {self.objective}: {min(values):.4g}" if values else ""
        self.bar.update(self.task, completed=len(trials), best=best)

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc):
        self.bar.stop()


# ---------------------------------------------------------------------------- the run folder


TRIAL_FACTS = ("epochs", "best_epoch", "duration_s", "worker", "reason")


def trials_frame(study, objective: str) -> pd.DataFrame:
    """One row per trial: number, state, validation score, every sampled value, epochs, time, reason."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("reason") == SURPLUS or t.state.name == "WAITING":
            continue
        scores = t.user_attrs.get("scores") or {}
        complete = t.state.name == "COMPLETE"  # Optuna gives a pruned trial its last val_loss as its value
        row = {"trial": t.number, "state": t.state.name.lower(), score_column(objective): t.value if complete else None}
        row |= {score_column(k): v for k, v in scores.items() if k != objective}
        if not complete and t.intermediate_values:
            row["val_loss"] = t.intermediate_values[max(t.intermediate_values)]
        row |= dict(t.params)
        row |= {k: t.user_attrs.get(k) for k in TRIAL_FACTS}
        rows.append(row)
    frame = pd.DataFrame(rows)
    facts = [c for c in TRIAL_FACTS if c in frame]
    return frame[[c for c in frame if c not in facts] + facts]  # the sampled values before the facts


def score_column(metric: str) -> str:
    """trials.csv's name for a validation score: val_mae, val_rmse, ..., val_loss."""
    return metric if metric == "val_loss" else f"val_{metric}"


def write_outputs(study, folder: Path, tune: TuneConfig, name: str) -> dict | None:
    """trials.csv, best.yaml and search.png; returns the best trial's config (None when no trial completed)."""
    from optuna.trial import TrialState

    from rnnforecast import plotting

    frame = trials_frame(study, tune.objective)
    runs.atomic_write(folder / "trials.csv", lambda p: frame.to_csv(p, index=False))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    importances = _importances(study) if len(complete) >= 2 else {}
    figure = plotting.search_figure(frame, score_column(tune.objective), importances, name)
    runs.atomic_write(folder / "search.png", lambda p: figure.savefig(p, format="png", dpi=110))
    if not complete:
        return None
    best = min(complete, key=lambda t: t.value)
    raw = copy.deepcopy(best.user_attrs["config"])
    raw.setdefault("run", {})["name"] = f"{name}-best"
    header = (
        f"# The best of {len(frame)} trials of the search {name}: trial {best.number}, validation {tune.objective} "
        f"{best.value:.6g}.\n# Train it with: rnnforecast train best.yaml\n"
    )
    text = header + yaml.safe_dump(raw, sort_keys=False)
    runs.atomic_write(folder / "best.yaml", lambda p: p.write_text(text))
    runs.write_json(folder / "best.json", {
        "trial": best.number, "objective": tune.objective, "value": best.value, "params": best.params,
        "scores": best.user_attrs.get("scores"), "best_epoch": best.user_attrs.get("best_epoch"),
    })
    return raw | {"_best_epoch": best.user_attrs.get("best_epoch")}


def _importances(study) -> dict[str, float]:
    """Parameter importances by Optuna's default evaluator; empty when the trials cannot support them."""
    import optuna

    try:
        with warnings.catch_warnings():  # "few trials in a regime": the plot is read with that in mind
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}


def _refit(best: dict, folder: Path) -> Path:
    """The best config retrained on train+validation for its best trial's number of epochs, saved in the folder."""
    from rnnforecast import training

    raw = {k: v for k, v in best.items() if not k.startswith("_")}
    raw = copy.deepcopy(raw)
    raw["training"]["epochs"] = int(best.get("_best_epoch") or raw["training"]["epochs"])
    raw["training"]["early_stopping"] = None  # the validation windows are training windows now
    raw["run"] = {"dir": str(folder), "name": "refit"}
    config = config_module.validate(raw, source=str(folder / "best.yaml"))
    return training.train(config, folder / "best.yaml", train_on_validation=True)
