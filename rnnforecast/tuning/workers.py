"""Workers: trials run in this process or in several, with a progress bar over the study."""

from __future__ import annotations

import math
import multiprocessing
import sys
import time
from pathlib import Path

from rnnforecast import config as config_module
from rnnforecast.config import TuneConfig
from rnnforecast.tuning.space import Dimension, parse_space
from rnnforecast.tuning.study import STALE_S, SURPLUS, counted, open_study, recover_interrupted
from rnnforecast.tuning.trials import run_trial


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
    base = config_module.search_base(config)
    study = open_study(storage, name, config.tune, seed)
    try:
        work(study, base, parse_space(config.tune.space, tune_file), config.tune)
    except KeyboardInterrupt:
        pass  # the parent reports the interrupt; the trial left running is recovered on --resume


def run_workers(n: int, tune_file: Path, storage: str, name: str, seed: int | None, progress, study) -> None:
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


class progress_bar:
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
