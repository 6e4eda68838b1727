"""The same commands under another Keras backend: a tiny train, predict and evaluate with KERAS_BACKEND=jax."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import tiny_config

# One child process runs the three commands in turn (JAX is imported once, not three times), through
# the same Typer app the console script runs; each command's exit code and output come back as JSON.
COMMANDS = """
import json, sys
from typer.testing import CliRunner
from rnnforecast.cli import app

results = []
for args in json.loads(sys.argv[1]):
    args = [a.replace("{run}", results[0]["stdout"].strip().splitlines()[-1]) if results else a for a in args]
    got = CliRunner().invoke(app, args)
    error = repr(got.exception) if got.exception else ""
    results.append({"code": got.exit_code, "stdout": got.stdout, "stderr": got.stderr + error})
    if got.exit_code:
        break
print("RESULT " + json.dumps(results))
"""


def _run_commands(commands, backend, cwd):
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", COMMANDS, json.dumps(commands)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)
    assert done.returncode == 0 and "RESULT " in done.stdout, done.stderr[-3000:]
    return json.loads(done.stdout.split("RESULT ", 1)[1])


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[test]')")
def test_train_predict_and_evaluate_under_jax(data_dir, tmp_path):
    raw = tiny_config(data_dir / "daily-min-temperatures.csv", run={"dir": str(tmp_path / "runs")})
    raw["model"]["layers"] = [{"units": 4}, {"units": 3}]
    raw["model"]["type"] = "lstm"  # the factory's own LSTM: its forecasts run through Keras's backend loop under JAX
    config_path = tmp_path / "jax.yaml"
    config_path.write_text(yaml.safe_dump(raw))

    trained, predicted, evaluated = _run_commands(
        [["train", str(config_path)], ["predict", "{run}"], ["evaluate", "{run}", "--format", "json"]], "jax", tmp_path
    )
    assert trained["code"] == 0, trained["stderr"]
    run = trained["stdout"].strip().splitlines()[-1]
    meta = json.loads((tmp_path / "runs" / os.path.basename(run) / "metadata.json").read_text())
    assert meta["backend"] == "jax"

    assert predicted["code"] == 0, predicted["stderr"]
    rows = predicted["stdout"].strip().splitlines()
    assert len(rows) == 1 + raw["window"]["horizon"]  # header and one line per forecast step
    assert all(cell not in ("nan", "") for row in rows[1:] for cell in row.split(",")[1:])

    assert evaluated["code"] == 0, evaluated["stderr"]
    assert json.loads(evaluated["stdout"])["windows"] > 0


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
def test_tensorflow_training_does_not_load_jax_or_matplotlib_but_both_still_import():
    """When installed, TensorFlow imports JAX (for TFLite) and Keras imports Matplotlib (for its image gallery):
    165 MB that training never uses. Both import as usual afterwards (`rnnforecast plot` needs Matplotlib)."""
    probe = (
        "import sys\n"
        "from rnnforecast import environment\n"
        "keras = environment.import_keras()\n"
        "import logging\n"
        "print(keras.backend.backend(), 'jax' in sys.modules, 'matplotlib' in sys.modules, 'sklearn' in sys.modules,\n"
        "      logging.getLogger('tensorflow').level)  # its retracing warnings are about our graphs: errors only\n"
        "import jax\n"
        "import matplotlib.pyplot\n"
        "print(jax.numpy.add(1, 2), matplotlib.pyplot.figure().__class__.__name__)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["tensorflow", "False", "False", "False", "40", "3", "Figure"]


def test_a_backend_rnnforecast_cannot_use_is_a_user_error():
    """A KERAS_BACKEND typo, or one whose library is missing, says so; not an internal error."""
    probe = (
        "import sys\n"
        "from rnnforecast import environment\n"
        "from rnnforecast.errors import UserError\n"
        "sys.modules[sys.argv[1]] = None  # as if that library were not installed\n"
        "try:\n"
        "    environment.import_keras()\n"
        "except UserError as exc:\n"
        "    print(exc)\n"
    )
    for backend, missing, expected in [("tensorflwo", "-", "which rnnforecast does not run on. Use one of tensorflow, jax"),
                                       ("numpy", "-", "which rnnforecast does not run on"),
                                       ("jax", "jax", "but jax is not installed here"),
                                       ("torch", "torch", "but torch is not installed here")]:
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
        result = subprocess.run([sys.executable, "-c", probe, missing], capture_output=True, text=True, env=env,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        assert f"backend is set to '{backend}' (the environment variable KERAS_BACKEND)" in result.stdout
        assert expected in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_a_run_trained_on_tensorflow_forecasts_under_torch(data_dir, tmp_path):
    """The saved model runs 16 batches per compiled call; torch's loop takes one, so the load sets that."""
    raw = tiny_config(data_dir / "daily-min-temperatures.csv", run={"dir": str(tmp_path / "runs")})
    config_path = tmp_path / "tf.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    trained, on_tf = _run_commands([["train", str(config_path)], ["predict", "{run}"]], "tensorflow", tmp_path)
    assert trained["code"] == 0 and on_tf["code"] == 0, trained["stderr"] + on_tf["stderr"]
    run = trained["stdout"].strip().splitlines()[-1]
    on_torch, evaluated = _run_commands([["predict", run], ["evaluate", run, "--no-classical"]], "torch", tmp_path)
    assert on_torch["code"] == 0 and evaluated["code"] == 0, on_torch["stderr"] + evaluated["stderr"]
    assert on_torch["stdout"].splitlines()[0] == on_tf["stdout"].splitlines()[0]
    tf_rows = [[float(v) for v in line.split(",")[1:]] for line in on_tf["stdout"].strip().splitlines()[1:]]
    torch_rows = [[float(v) for v in line.split(",")[1:]] for line in on_torch["stdout"].strip().splitlines()[1:]]
    assert len(torch_rows) == raw["window"]["horizon"]
    assert all(abs(a - b) <= 1e-4 * max(1.0, abs(a)) for x, y in zip(tf_rows, torch_rows) for a, b in zip(x, y))
