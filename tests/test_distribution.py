"""Several devices: training runs under the backend's own data-parallel distribution; one device means none.

There is no GPU here, so the CPU is split into two devices: TensorFlow's logical devices,
or XLA's forced host device count under JAX. Both must be set before the backend
initialises, so the real trainings run in a child process.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from rnnforecast import environment
from tests.conftest import jax_compile_cache

CHILD = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np

    if os.environ["KERAS_BACKEND"] == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from rnnforecast import checkpoints, config, errors, forecasting, models, runs, training
    from tests.conftest import DATA, tiny_config

    TWO = ["CPU:0", "CPU:1"]
    raw = tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": sys.argv[1]},
                      model={"type": sys.argv[2], "layers": [{"units": 8}, {"units": 6}]},
                      training={"epochs": 2, "batch_size": 64, "steps_per_epoch": 5, "early_stopping": None})
    cfg = config.validate(raw)
    out = {}

    # An interrupted two-device training (Ctrl-C after epoch 1), resumed on two devices.
    original = checkpoints.callback
    def stop_after_first_epoch(*args, **kwargs):
        saver = original(*args, **kwargs)
        save = saver.on_epoch_end
        def on_epoch_end(epoch, logs=None):
            save(epoch, logs)
            raise KeyboardInterrupt
        saver.on_epoch_end = on_epoch_end
        return saver
    checkpoints.callback = stop_after_first_epoch
    raw["run"]["name"] = "two"
    try:
        training.train(config.validate(raw), devices=TWO)
    except errors.Interrupted as exc:
        out["interrupted"] = str(exc)
    checkpoints.callback = original
    partial = next(p for p in __import__("pathlib").Path(sys.argv[1]).glob(".two-*.partial"))
    two = training.train(None, resume=partial, devices=TWO)

    trained = {"two": two}
    if sys.argv[3] == "compare":
        raw["run"]["name"] = "one"
        trained["one"] = training.train(config.validate(raw))  # one physical CPU: no distribution
    for name, path in trained.items():
        run = runs.load(path)
        forecast = forecasting.forecast_run(run)
        out[name] = {
            "replicas": run.metadata["replicas"],
            "epochs": run.history["epoch"].tolist(),
            "shape": list(forecast.shape),
            "finite": bool(np.isfinite(forecast.select_dtypes("number").to_numpy()).all()),
        }
    # the two-device run scored (the one-device run, a reference for the shapes, is not)
    out["two"]["mae"] = forecasting.evaluate_run(runs.load(two), with_classical=False)["original"]["model"]["overall"]["mae"]

    # Prediction from a model that lives under the strategy (as backtest does): one row per window.
    prepared = training.prepare_data(cfg)
    with training.replicated(cfg, TWO) as replicas:
        model = training.build(cfg, 1)
        out["built_replicas"] = replicas
        out["jit_compile"] = bool(model.jit_compile)
        kernel = model.weights[0].value  # a copy on each device: TensorFlow's MirroredVariable, a JAX sharded array
        out["kernel_copies"] = len(kernel.sharding.device_set) if hasattr(kernel, "sharding") else len(kernel.values)
    starts = prepared.starts["val"][:7]
    got = forecasting.predict_scaled(model, prepared.values, starts, cfg.window.input_length)
    windows = prepared.values[starts[:, None] + np.arange(cfg.window.input_length)]
    out["predict_rows"] = len(got)
    out["predict_gap"] = float(np.abs(got - np.asarray(model(windows))).max())
    print("RESULT " + json.dumps(out))
    """
)


def test_several_gpus_are_used_together_and_one_device_alone():
    assert environment.parallel_devices(["GPU:0 NVIDIA H100", "GPU:1 NVIDIA H100", "CPU:0"]) == [
        "GPU:0 NVIDIA H100", "GPU:1 NVIDIA H100"
    ]
    assert environment.parallel_devices(["GPU:0", "CPU:0"]) == []
    assert environment.parallel_devices(["CPU:0"]) == []
    for backend in ("tensorflow", "jax", "torch"):
        assert environment.data_parallel(backend, []) is None
        assert environment.data_parallel(backend, ["CPU:0"]) is None
    assert environment.data_parallel("torch", ["GPU:0", "GPU:1"]) is None
    assert environment.data_parallel_summary("tensorflow", ["CPU:0"]) == "none (1 device)"
    assert environment.data_parallel_summary("tensorflow", ["GPU:0", "GPU:1", "CPU:0"]) == (
        "tf.distribute.MirroredStrategy, 2 replicas (GPU:0, GPU:1)"
    )
    assert environment.data_parallel_summary("jax", ["GPU:0 NVIDIA H100", "GPU:1 NVIDIA H100", "CPU:0"]) == (
        "keras.distribution.DataParallel, 2 replicas (GPU:0, GPU:1)"
    )


def _train_on_two_devices(tmp_path, backend, cell, compare):
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2", **jax_compile_cache(tmp_path)}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "runs"), cell, compare], capture_output=True,
                            text=True, env=env, cwd=root, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.split("RESULT ", 1)[1]), result.stderr


def _check(out, horizon=7):
    assert "--resume" in out["interrupted"]
    two = out["two"]
    assert two["replicas"] == 2 and two["epochs"] == [1, 2]  # the resumed run finished both epochs
    assert two["shape"] == [horizon, 2 + 3] and two["finite"]  # time, Temp and its three quantiles
    assert 0 < two["mae"] < 10  # degrees Celsius; the series spans 0 to 26
    assert out["built_replicas"] == 2 and out["kernel_copies"] == 2
    assert out["predict_rows"] == 7  # one row per window, not one copy per device
    assert out["predict_gap"] < 1e-5


@pytest.mark.slow
def test_tensorflow_trains_over_two_devices_resumes_saves_and_forecasts(tmp_path):
    # The GRU is XLA-compiled on one CPU, but not under the strategy: the harder case.
    out, log = _train_on_two_devices(tmp_path, "tensorflow", "gru", "compare")
    assert "Training on 2 devices (CPU:0, CPU:1) with tf.distribute.MirroredStrategy" in log
    _check(out)
    assert out["jit_compile"] is False
    one = out["one"]
    assert one["replicas"] == 1 and one["epochs"] == [1, 2] and one["shape"] == out["two"]["shape"] and one["finite"]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e '.[test]')")
def test_jax_trains_over_two_devices_resumes_saves_and_forecasts(tmp_path):
    out, log = _train_on_two_devices(tmp_path, "jax", "lstm", "alone")
    assert "Training on 2 devices (CPU:0, CPU:1) with keras.distribution.DataParallel" in log
    _check(out)
