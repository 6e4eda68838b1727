"""A real training process killed mid-run leaves no visible run, and --resume finishes it."""

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

EPOCHS = 5


def _start(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    raw = tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path / "runs")},
                      model={"type": "lstm", "layers": [{"units": 48}, {"units": 48}]},
                      training={"epochs": EPOCHS, "batch_size": 16, "early_stopping": None, "reduce_lr": None})
    config = tmp_path / "slow.yaml"
    config.write_text(yaml.safe_dump(raw))
    command = [sys.executable, "-m", "rnnforecast.cli", "train", str(config)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return process, tmp_path / "runs"


def _wait_for_checkpoint(runs: Path, process: subprocess.Popen) -> Path:
    deadline = time.time() + 240
    while time.time() < deadline:
        found = list(runs.glob(".*.partial/checkpoint.json")) if runs.exists() else []
        if found:
            return found[0].parent
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    pytest.fail("no checkpoint was written in time")


def _resume_and_check(partial: Path, runs: Path) -> None:
    final = partial.with_name(partial.name[1 : -len(".partial")])
    assert not final.exists() and [p.name for p in runs.iterdir()] == [partial.name]  # nothing visible
    result = subprocess.run([sys.executable, "-m", "rnnforecast.cli", "train", "--resume", str(final)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(final)
    assert not partial.exists() and (final / "model.keras").is_file()
    history = pd.read_csv(final / "history.csv")
    assert history["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert not list(final.glob("checkpoint*"))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_training_resumes(tmp_path, sig):
    process, runs = _start(tmp_path)
    partial = _wait_for_checkpoint(runs, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    if sig == signal.SIGINT:
        assert process.returncode == 130 and "--resume" in stderr and "Traceback" not in stderr, stderr[-3000:]
    else:
        assert process.returncode == -signal.SIGKILL
    _resume_and_check(partial, runs)
