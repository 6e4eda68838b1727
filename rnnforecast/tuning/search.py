"""`rnnforecast tune`: a search started or resumed in its run folder, run by workers, its outputs written."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import yaml

from rnnforecast import config as config_module
from rnnforecast import runs
from rnnforecast.errors import Interrupted, UserError
from rnnforecast.tuning.outputs import refit_best, write_outputs
from rnnforecast.tuning.space import check_space, parse_space
from rnnforecast.tuning.study import STUDY_FILE, counted, finished, open_study, recover_interrupted
from rnnforecast.tuning.workers import progress_bar, run_workers, work

TUNE_FILE = "tune.yaml"  # the search's config, in the run folder: what --resume and the workers read


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
    if resume is not None and refit and _finished_without_refit(Path(resume)):
        return _refit_only(runs.final_name(Path(resume)))
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
    base = config_module.search_base(config)
    dims = parse_space(config.tune.space, source)
    check_space(base, dims, source)
    if resume is None and dims and all(len(set(map(str, dim.corners()))) == 1 for dim in dims):
        print("note: every key of tune.space takes one value, so every trial trains the same "
              "config (they differ only by chance). Give a key two or more values to search it.", file=sys.stderr)
    if resume is None:
        final = runs.new_run_path(Path(config.run.dir), name, claim=True)  # two workers may start in one second
        tmp = runs.partial_path(final)
        try:
            raw = {**base, "tune": config.tune.model_dump(mode="json")}  # the keys left to the data stay left
            (tmp / TUNE_FILE).write_text(yaml.safe_dump(raw, sort_keys=False))
        except OSError:  # a full disk: nothing half-made is left behind to resume
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    lock = runs.lock_folder(tmp, final, "search", "run")  # a second `--resume` of it: refused (it failed trials)
    try:
        embedded = storage is None
        storage = storage or str(tmp / STUDY_FILE)
        study_name = study_name or final.name
        seed = config.tune.seed if embedded else (config.tune.seed + os.getpid()) % 2**31
        try:
            study = open_study(storage, study_name, config.tune, seed)
            if resume is not None:
                again = recover_interrupted(study)
                cut = f"; {again} cut short will run again" if again else ""
                print(f"Resuming {final}: {len(counted(study))} of {config.tune.trials} trials finished{cut}.",
                      file=sys.stderr)
            else:
                print(f"Searching {final} (if interrupted: rnnforecast tune --resume {shlex.quote(str(final))}).", file=sys.stderr)
            workers = _worker_count(workers, config.tune.trials - len(counted(study)))
            with progress_bar(config.tune, study) as progress:
                if workers > 1:
                    run_workers(workers, tmp / TUNE_FILE, storage, study_name, seed, progress, study)
                else:
                    work(study, base, dims, config.tune, progress)
        except KeyboardInterrupt:
            if not embedded or (resume is None and not finished(tmp / STUDY_FILE, study_name)):
                shutil.rmtree(tmp, ignore_errors=True)  # the study itself is in the database
                if embedded:
                    raise
            raise Interrupted(
                f"the search was interrupted; every finished trial is kept. Resume with: rnnforecast tune --resume {shlex.quote(str(final))}"
                if embedded else f"the search was interrupted; the study {study_name} keeps every finished trial. "
                "Run the same command again to go on."
            ) from None
        except BaseException:
            if resume is None and (not embedded or not finished(tmp / STUDY_FILE, study_name)):
                shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            best = write_outputs(study, tmp, config.tune, final.name)
            kept_start = all_kept_their_start(study)  # read while the study's journal is still in the partial folder
        except KeyboardInterrupt:  # every trial done, the outputs not yet written: the hidden folder is the search
            if not embedded:
                shutil.rmtree(tmp, ignore_errors=True)  # the study itself is in the database
                raise Interrupted(f"the search was interrupted; the study {study_name} keeps every finished trial. Run "
                                  "the same command again to go on.") from None
            raise Interrupted(f"the search was interrupted while writing its results; every finished trial is kept. "
                              f"Resume with: rnnforecast tune --resume {shlex.quote(str(final))}") from None
        (tmp / runs.LOCK_FILE).unlink(missing_ok=True)
        tmp.rename(final)
        if best is None:
            raise UserError(
                f"no trial of the search finished; {final / 'trials.csv'} gives each one's reason. Fix the config or "
                "narrow tune.space, then search again."
            )
    finally:
        lock.close()  # interrupted in a process that goes on (a test, a notebook): released
    if kept_start:
        print("note: every trial kept its untrained start (best_epoch 0 in trials.csv): no epoch of training beat "
              "the model's starting forecast on validation (with model.highway: fitted, a linear forecast fitted to "
              "the training windows), so the values searched made no difference to the scores. Search "
              "window.input_length or model.highway instead.", file=sys.stderr)
    if refit:
        print(f"Refitting the best config on train+validation: {_refit(best, final)}", file=sys.stderr)
    return final


def _worker_count(asked: int, left: int) -> int:
    """--workers, at most one per trial left (each worker imports TensorFlow: 1,000 of them stalled the machine),
    with a note where it was cut or exceeds the cores."""
    cores = os.cpu_count() or 1
    count = max(1, min(asked, left))
    if count < asked:
        print(f"note: {count} worker(s), not {asked}: the search has {left} trial(s) left to run.", file=sys.stderr)
    if count > cores:
        print(f"note: {count} workers on {cores} CPU core(s): they share the cores, and each trial runs slower; "
              f"--workers {cores} runs as many trials at once as the machine has cores.", file=sys.stderr)
    return count


def _refit(best: dict, final: Path) -> Path:
    """refit_best; interrupted, its half-trained folder is removed and the way to refit again is named (a
    `train --resume` of it would not know it trains on the validation windows too)."""
    try:
        return refit_best(best, final)
    except (Interrupted, KeyboardInterrupt):
        for partial in final.glob(".refit-*.partial"):
            shutil.rmtree(partial, ignore_errors=True)
        raise Interrupted(f"the refit was interrupted; the search itself is complete in {final}. Refit again with: "
                          f"rnnforecast tune --resume {shlex.quote(str(final))} --refit") from None


def all_kept_their_start(study) -> bool:
    """Whether every complete trial kept its untrained model (best_epoch 0): the network added nothing."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    return bool(done) and all(t.user_attrs.get("best_epoch") == 0 for t in done)


def _finished_without_refit(path: Path) -> bool:
    """A search that finished but whose --refit did not (interrupted, or never asked for)."""
    path = runs.final_name(path)
    return (path.is_dir() and (path / TUNE_FILE).is_file() and (path / "best.yaml").is_file()
            and not any((found / "metadata.json").is_file() for found in path.glob("refit-*")))


def _refit_only(final: Path) -> Path:
    """`tune --resume SEARCH --refit` on a finished search: the refit alone, from best.yaml and best.json."""
    raw = config_module.read_yaml(final / "best.yaml")
    found = runs.json_file(final / "best.json").get("best_epoch")
    print(f"Search {final} is complete; refitting its best config on train+validation.", file=sys.stderr)
    print(f"Refitting the best config on train+validation: {_refit(raw | {'_best_epoch': found}, final)}",
          file=sys.stderr)
    return final


def _resumable(path: Path) -> tuple[Path, Path]:
    path = runs.final_name(path)
    tmp = runs.partial_path(path)
    if path.is_dir() and (path / TUNE_FILE).is_file():
        refits = sorted(found.name for found in path.glob("refit-*") if (found / "metadata.json").is_file())
        if refits:
            what = f"its refit is there too ({refits[-1]})"
        elif (path / "best.yaml").is_file():
            what = f"to train its best config on train+validation: rnnforecast tune --resume {shlex.quote(str(path))} --refit"
        else:
            what = f"no trial of it finished, so there is no best config to refit ({path / 'trials.csv'} says why)"
        raise UserError(f"search {path} is already complete; there is nothing to resume: {what}.")
    if path.is_dir():
        kind = "a training run's folder" if (path / "metadata.json").is_file() else "a folder that no search wrote"
        raise UserError(f"{path} is {kind}, not a search's; `tune --resume` takes the folder an interrupted "
                        "`rnnforecast tune` printed (a stopped training goes on with `rnnforecast train --resume RUN`).")
    if not (tmp / TUNE_FILE).is_file():
        waiting = sorted(runs.final_name(p).name for p in path.parent.glob(".*.partial") if (p / TUNE_FILE).is_file())
        listed = f" Interrupted searches in {path.parent}: {', '.join(waiting)}." if waiting else ""
        raise UserError(f"there is no interrupted search named {path}.{listed} Start one with `rnnforecast tune CONFIG`.")
    return path, tmp
