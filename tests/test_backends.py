"""The same commands under another Keras backend: a tiny train, predict and evaluate with KERAS_BACKEND=jax."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import tiny_config

CLI = "from rnnforecast.cli import app; app()"


def _run(args, backend, cwd):
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[test]')")
def test_train_predict_and_evaluate_under_jax(data_dir, tmp_path):
    raw = tiny_config(data_dir / "daily-min-temperatures.csv", run={"dir": str(tmp_path / "runs")})
    raw["model"]["layers"] = [{"units": 4}, {"units": 3}]
    config_path = tmp_path / "jax.yaml"
    config_path.write_text(yaml.safe_dump(raw))

    trained = _run(["train", str(config_path)], "jax", tmp_path)
    assert trained.returncode == 0, trained.stderr
    run = trained.stdout.strip().splitlines()[-1]
    meta = json.loads((tmp_path / "runs" / os.path.basename(run) / "metadata.json").read_text())
    assert meta["backend"] == "jax"

    predicted = _run(["predict", run], "jax", tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    rows = predicted.stdout.strip().splitlines()
    assert len(rows) == 1 + raw["window"]["horizon"]  # header and one line per forecast step
    assert all(cell not in ("nan", "") for row in rows[1:] for cell in row.split(",")[1:])

    evaluated = _run(["evaluate", run, "--format", "json"], "jax", tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["windows"] > 0


def test_help_never_imports_a_backend():
    """`--help` answers without TensorFlow or Keras: they take seconds to import."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "import typer\n"
        "from rnnforecast.cli import app\n"
        "for command in [[]] + [[name] for name in typer.main.get_command(app).commands]:\n"
        "    assert CliRunner().invoke(app, [*command, '--help']).exit_code == 0, command\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_tensorflow_training_does_not_load_jax_but_jax_still_imports():
    """TensorFlow would import JAX (for TFLite) when it is installed: 140 MB that training never uses."""
    probe = (
        "import sys\n"
        "from rnnforecast import environment\n"
        "keras = environment.import_keras()\n"
        "print(keras.backend.backend(), 'jax' in sys.modules)\n"
        "import jax\n"
        "print(jax.numpy.add(1, 2))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["tensorflow", "False", "3"]
