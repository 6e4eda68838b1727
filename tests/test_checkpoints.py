"""Resume in one process: schedule state restored, refusals that keep the checkpoint, one writer at a time."""

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from rnnforecast import checkpoints, config, runs, training
from rnnforecast.errors import Interrupted, UserError
from rnnforecast.training import fitting
from tests.conftest import DATA, tiny_config

EPOCHS = 5


def _interrupted_run(tmp_path, monkeypatch, stop_at: int = 3):
    """A run stopped (as by Ctrl-C) at the start of epoch `stop_at + 1`: its checkpoint holds `stop_at` epochs."""
    data_file = tmp_path / "temps.csv"
    shutil.copy(DATA / "daily-min-temperatures.csv", data_file)
    raw = tiny_config(data_file, run={"dir": str(tmp_path / "runs"), "name": "r"},
                      # min_delta: at this rate an epoch's val_loss moves by float noise only (its sign differs
                      # between CPUs), so no epoch may count as better than the untrained start
                      training={"epochs": EPOCHS, "early_stopping": {"patience": 50, "min_delta": 0.01},
                                "optimizer": {"learning_rate": 1e-9},  # too small to improve: the rate is cut
                                "reduce_lr": {"patience": 1, "factor": 0.5, "min_learning_rate": 0.0}})
    module = fitting
    original = module.make_callbacks

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == stop_at:
                raise KeyboardInterrupt

    raw["training"]["refit"] = False
    monkeypatch.setattr(module, "make_callbacks", lambda cfg: original(cfg) + [Stop()])
    with pytest.raises(Interrupted, match="--resume"):
        training.train(config.validate(raw))
    monkeypatch.setattr(module, "make_callbacks", original)
    (partial,) = (tmp_path / "runs").glob(".r-*.partial")
    return partial, data_file


def test_checkpoint_holds_the_schedules_state_and_resume_restores_it(tmp_path, monkeypatch):
    partial, _ = _interrupted_run(tmp_path, monkeypatch)
    state = checkpoints.load_state(partial)
    assert state["epoch"] == 3 and len(state["history"]["loss"]) == 3
    # a rate too small to improve: early stopping still holds the untrained start (epoch -1) and has waited all
    # 3 epochs; reduce_lr cut the rate after epochs 2 and 3
    assert state["early_stopping"]["wait"] == 3 and state["early_stopping"]["best_epoch"] == -1
    assert state["reduce_lr"]["wait"] == 0 and state["history"]["learning_rate"] == pytest.approx([1e-9, 1e-9, 5e-10])
    assert (partial / "best.npz").is_file()

    early = keras.callbacks.EarlyStopping(patience=50)
    reduce = keras.callbacks.ReduceLROnPlateau(patience=1)
    saver = checkpoints.callback(partial, state["data_sha256"], state, early, reduce)
    for callback in (early, reduce, saver):
        callback.on_train_begin()
    assert early.wait == state["early_stopping"]["wait"] and early.best == pytest.approx(state["early_stopping"]["best"])
    assert early.best_epoch == state["early_stopping"]["best_epoch"]
    assert reduce.best == pytest.approx(state["reduce_lr"]["best"])
    with np.load(partial / "best.npz") as saved:
        assert all(np.array_equal(a, saved[f"w{i}"]) for i, a in enumerate(early.best_weights))
    model = checkpoints.load_model(partial, state)
    assert float(model.optimizer.learning_rate) == pytest.approx(state["history"]["learning_rate"][-1] * 0.5)

    final = training.train(None, resume=partial)
    history = json.loads(json.dumps(runs.load(final).history.to_dict("list")))
    assert history["epoch"] == list(range(1, EPOCHS + 1))
    assert history["learning_rate"][:3] == pytest.approx(state["history"]["learning_rate"])


def test_resume_refused_after_the_data_changed_keeps_the_checkpoint(tmp_path, monkeypatch):
    partial, data_file = _interrupted_run(tmp_path, monkeypatch)
    before = {p.name: p.read_bytes() for p in partial.iterdir() if p.name != runs.LOCK_FILE}
    original = data_file.read_bytes()
    data_file.write_bytes(original.replace(b"20.7", b"20.8", 1))
    with pytest.raises(UserError, match="has changed since run.*Put the file back as it was and resume"):
        training.train(None, resume=partial)
    assert {p.name: p.read_bytes() for p in partial.iterdir() if p.name != runs.LOCK_FILE} == before
    data_file.write_bytes(original)  # put the data back: the run resumes after all
    final = training.train(None, resume=partial)
    assert runs.load(final).history["epoch"].tolist() == list(range(1, EPOCHS + 1))


def test_an_interrupt_before_the_first_epoch_keeps_nothing_and_does_not_offer_a_resume(tmp_path):
    """The train log names the resume command up front; stopped before any checkpoint, the message takes it back."""
    path = tmp_path / "runs" / "r-1"
    with pytest.raises(Interrupted, match="nothing to resume") as stopped:
        with runs.creating(path) as tmp:
            (tmp / "config.yaml").write_text("data: {}")
            raise KeyboardInterrupt
    assert "--resume" not in str(stopped.value) and str(path) in str(stopped.value)
    assert list((tmp_path / "runs").iterdir()) == []  # the hidden partial folder is gone too


def test_a_run_being_written_is_locked_against_a_second_writer(tmp_path):
    path = tmp_path / "runs" / "r-1"
    with runs.creating(path) as tmp:
        (tmp / runs.RESUMABLE_MARK).write_text("{}")
        with pytest.raises(UserError, match="being trained by process"):
            with runs.creating(path, resume=True):
                pass
        assert tmp.is_dir()  # the refusal removed nothing
    assert path.is_dir() and not (path / runs.LOCK_FILE).exists()


def test_a_full_disk_keeps_the_last_checkpoint_and_says_how_to_resume(tmp_path, monkeypatch):
    import errno

    data_file = tmp_path / "temps.csv"
    shutil.copy(DATA / "daily-min-temperatures.csv", data_file)
    raw = tiny_config(data_file, run={"dir": str(tmp_path / "runs"), "name": "r"},
                      training={"epochs": EPOCHS, "early_stopping": None, "reduce_lr": None, "refit": False})
    original, calls = runs.write_json, []

    def fills_up(target, payload):
        calls.append(target)
        if len(calls) == 3:  # the third epoch's checkpoint record: the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        original(target, payload)

    monkeypatch.setattr(runs, "write_json", fills_up)
    with pytest.raises(UserError, match="no space left on the device") as refused:
        training.train(config.validate(raw))
    assert "rnnforecast train --resume" in str(refused.value) and "MB" in str(refused.value)
    (partial,) = (tmp_path / "runs").glob(".r-*.partial")
    assert checkpoints.load_state(partial)["epoch"] == 2  # the last complete checkpoint is whole
    monkeypatch.setattr(runs, "write_json", original)
    final = training.train(None, resume=partial)
    assert runs.load(final).history["epoch"].tolist() == list(range(1, EPOCHS + 1))


@pytest.mark.parametrize(("text", "fact"), [("{", "not JSON"), ('{"epoch": 2}', "model_file, model_sha256 missing")])
def test_a_damaged_checkpoint_record_is_refused_in_words(tmp_path, text, fact):
    """A torn checkpoint.json (a full disk, a copy cut short) was a JSONDecodeError or a KeyError on --resume."""
    (tmp_path / runs.RESUMABLE_MARK).write_text(text)
    with pytest.raises(UserError, match=f"checkpoint.json is damaged.*{fact}"):
        checkpoints.load_state(tmp_path)
    (tmp_path / "best.npz").write_bytes(b"PK\x03\x04 torn")
    with pytest.raises(UserError, match="best.npz is damaged"):
        runs.npz_arrays(tmp_path / "best.npz")


def _disk_full_on_flush(monkeypatch):
    """The lock file, a new run's first write, fails to flush, as on a disk with no byte left."""
    import builtins
    import errno

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def flush(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    def full_open(file, *args, **kwargs):
        handle = builtins.open(file, *args, **kwargs)
        return Full(handle) if Path(file).name == runs.LOCK_FILE else handle

    monkeypatch.setattr(runs, "open", full_open, raising=False)


def test_a_full_disk_at_the_start_of_train_leaves_no_folder(tmp_path, monkeypatch):
    """The claimed folder held only its lock: predict called it unfinished, --resume said there was no such run."""
    from typer.testing import CliRunner

    from rnnforecast.cli import app

    config_path = tmp_path / "c.yaml"
    config_path.write_text(json.dumps(tiny_config(DATA / "daily-min-temperatures.csv",
                                                  run={"dir": str(tmp_path / "runs"), "name": "r"})))
    _disk_full_on_flush(monkeypatch)
    result = CliRunner().invoke(app, ["train", str(config_path)])
    assert result.exit_code == 2 and "no space left on the device while writing" in result.stderr, result.output
    assert "/lock" in result.stderr and list((tmp_path / "runs").iterdir()) == []


def test_a_run_claimed_but_never_trained_is_not_offered_for_resume(tmp_path):
    """What a killed process leaves (or a full disk under an older version): the lock alone. Both commands agree."""
    path = tmp_path / "runs" / "r-1"
    runs.partial_path(path).mkdir(parents=True)
    (runs.partial_path(path) / runs.LOCK_FILE).write_text("process 1\n")
    with pytest.raises(UserError, match="was never trained.*nothing to resume") as refused:
        runs.load(path)
    assert "--resume" not in str(refused.value)
    with pytest.raises(UserError, match="was never trained.*nothing to resume.*delete") as again:
        runs.resumable(path)  # `train --resume` said "no interrupted run named", which hid the folder to delete
    assert str(again.value) == str(refused.value)
    other = tmp_path / "runs" / "r-2"
    with pytest.raises(UserError, match="no interrupted run named") as refused:
        runs.resumable(other)
    assert "Interrupted runs in" not in str(refused.value)  # the never-trained one is not listed as one either
    (tmp_path / "c.yaml").write_text("data: {}\n")  # `train --resume c.yaml`: the config where the run goes
    with pytest.raises(UserError, match=r"c.yaml is a file; --resume takes the folder of an interrupted run.*"
                                        r"To start a new run from it: rnnforecast train .*c.yaml"):
        runs.resumable(tmp_path / "c.yaml")


def test_a_kill_is_handled_as_ctrl_c_so_nothing_is_left_half_written(tmp_path):
    """SIGTERM (kill, a job scheduler's stop) ended the process where it was: a training stopped before its first
    epoch left its hidden folder behind. The commands turn it into Ctrl-C's interrupt."""
    import os
    import signal
    import time

    import typer

    from rnnforecast import cli

    path = tmp_path / "runs" / "r-1"

    @cli._user_errors
    def killed_while_writing():
        with runs.creating(path):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the signal lands here

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(typer.Exit) as stopped:
        killed_while_writing()
    assert stopped.value.exit_code == 130
    assert list((tmp_path / "runs").iterdir()) == [] and signal.getsignal(signal.SIGTERM) is before


def test_a_run_that_early_stopping_had_ended_resumes_without_another_epoch(tmp_path, monkeypatch):
    # stopped by early stopping, then interrupted while its final model trained: the resumed run trained one epoch more
    partial, _ = _interrupted_run(tmp_path, monkeypatch)
    record = json.loads((partial / checkpoints.STATE_FILE).read_text())
    record["early_stopping"]["wait"] = 50.0  # the patience reached at the last epoch: the fit had ended there
    (partial / checkpoints.STATE_FILE).write_text(json.dumps(record))
    final = training.train(None, resume=partial)
    assert runs.load(final).history["epoch"].tolist() == [1, 2, 3]
    assert json.loads((Path(final) / "metadata.json").read_text())["epochs_run"] == 3


def test_resume_refuses_a_missing_best_epoch_or_an_edited_config_and_deletes_nothing(tmp_path, monkeypatch, capsys):
    # without best.npz the resumed run ended with its last epoch's weights (and a final model of as many epochs); with
    # config.yaml edited, a changed horizon failed deep in Keras and a changed learning rate was accepted, the
    # finished run's config then certifying a rate its first epochs never used
    partial, _ = _interrupted_run(tmp_path, monkeypatch)
    before = sorted(p.name for p in partial.iterdir())
    best = (partial / "best.npz").read_bytes()
    (partial / "best.npz").unlink()
    with pytest.raises(UserError, match=r"best.npz is missing: it holds the weights of the best epoch.*nothing was "
                                        r"deleted"):
        training.train(None, resume=partial)
    assert sorted(p.name for p in partial.iterdir()) == sorted(set(before) - {"best.npz"})
    (partial / "best.npz").write_bytes(best)
    written = (partial / "config.yaml").read_text()
    (partial / "config.yaml").write_text(written.replace("learning_rate: 1.0e-09", "learning_rate: 0.05"))
    assert (partial / "config.yaml").read_text() != written
    with pytest.raises(UserError, match=r"config.yaml has changed since training started.*nothing was deleted"):
        training.train(None, resume=partial)
    assert sorted(p.name for p in partial.iterdir()) == before
    (partial / "config.yaml").write_text(written)  # both put back, the record deleted: it starts again, and says so
    (partial / checkpoints.STATE_FILE).unlink()  # (a kill between the model's write and the record's): it was silent
    capsys.readouterr()
    assert runs.load(training.train(None, resume=partial)).history["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert "holds a checkpoint model but no checkpoint.json" in capsys.readouterr().err

