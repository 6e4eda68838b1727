"""The Optuna study: its storage (journal file or database), trials counted, lost trials recovered."""

from __future__ import annotations

import re
import threading
import time
import warnings
from pathlib import Path

from rnnforecast.config import TuneConfig
from rnnforecast.errors import UserError

STUDY_FILE = "study.journal"  # the embedded study (Optuna's journal file storage)


INTERRUPTED = "interrupted: the search stopped during this trial; it was run again"


HEARTBEAT_S = 20  # a running trial's worker writes the time this often


STALE_S = 180  # a running trial with no heartbeat for this long lost its worker (killed, machine gone)


SURPLUS = "surplus: the study already had its number of trials when this one started"


def heartbeat(trial) -> threading.Event:
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
    study = optuna.create_study(
        storage=backend, study_name=name, direction="minimize", sampler=sampler,
        pruner=pruners[tune.pruner](), load_if_exists=True,
    )
    done = len(study.get_trials(deepcopy=False))
    if seed is not None and done:  # resumed: the seed alone would draw the first trials' values again
        study.sampler = optuna.samplers.TPESampler(seed=seed + done, constant_liar=True)
    return study


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
            text = f"{type(exc).__name__} {exc}"
            racing = ("IntegrityError", "ProgrammingError", "already exists", "duplicate key", "UniqueViolation")
            if attempt + 1 < attempts and any(word in text for word in racing):
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


def finished(journal: Path, name: str) -> bool:
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
