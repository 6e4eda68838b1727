"""A real training process killed mid-run leaves no visible run, and --resume finishes it.

One chain covers both signals: the first process gets Ctrl-C (SIGINT) after its first epoch, the
resumed process is killed outright (SIGKILL) after its next one, and a second resume finishes the run.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import DATA, tiny_config

EPOCHS = 3  # a signal after epoch 1, a kill after epoch 2: one epoch still to run after each


def _config(tmp_path: Path) -> Path:
    # Big enough that an epoch takes a few seconds: each signal must land while epochs remain.
    raw = tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path / "runs")},
                      model={"type": "lstm", "layers": [{"units": 48}, {"units": 48}]},
                      training={"epochs": EPOCHS, "batch_size": 16, "early_stopping": None, "reduce_lr": None})
    config = tmp_path / "slow.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "rnnforecast.cli", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_epoch(runs: Path, process: subprocess.Popen, epoch: int) -> Path:
    """The hidden run folder, once its checkpoint records `epoch` finished epochs."""
    deadline = time.time() + 240
    while time.time() < deadline:
        for state in runs.glob(".*.partial/checkpoint.json") if runs.exists() else []:
            try:
                if json.loads(state.read_text())["epoch"] >= epoch:
                    return state.parent
            except (ValueError, OSError):  # replaced while read
                pass
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    pytest.fail(f"no checkpoint of epoch {epoch} was written in time")


@pytest.mark.slow
def test_interrupted_then_killed_training_resumes_each_time(tmp_path):
    runs = tmp_path / "runs"
    # the same training never interrupted, beside the chain (its own folder): compared at the end
    whole = _start(str(_config(tmp_path)), "--set", f"run.dir={tmp_path / 'whole'}")
    process = _start(str(_config(tmp_path)))
    partial = _wait_for_epoch(runs, process, 1)
    final = partial.with_name(partial.name[1 : -len(".partial")])
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "--resume" in stderr and "Traceback" not in stderr, stderr[-3000:]
    assert not final.exists() and [p.name for p in runs.iterdir()] == [partial.name]  # nothing visible

    process = _start("--resume", str(final))
    _wait_for_epoch(runs, process, 2)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert not final.exists() and [p.name for p in runs.iterdir()] == [partial.name]
    assert json.loads((partial / "checkpoint.json").read_text())["epoch"] < EPOCHS  # killed with epochs left

    process = _start("--resume", str(final))
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(final)
    assert not partial.exists() and (final / "model.keras").is_file()
    history = pd.read_csv(final / "history.csv")
    assert history["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert not list(final.glob("checkpoint*"))
    meta = json.loads((final / "metadata.json").read_text())
    assert meta["resumed"] and meta["highway_prior_windows"] is not None  # the fitted start's shrinkage, chosen again

    # every epoch's losses are the uninterrupted run's (each epoch's batches once followed Keras's count of epochs
    # and Python's global random state, which a resumed process does not share)
    stdout, stderr = whole.communicate(timeout=240)
    assert whole.returncode == 0, stderr
    uninterrupted = pd.read_csv(Path(stdout.strip().splitlines()[-1]) / "history.csv")
    for column in ("loss", "val_loss"):
        assert uninterrupted[column].tolist() == pytest.approx(history[column].tolist(), rel=1e-6), column
