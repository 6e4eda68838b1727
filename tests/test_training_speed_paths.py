"""The fast paths compute what the plain Keras layers compute: XLA on the CPU, batched prediction, capped epochs."""

import json

import keras
import numpy as np
import pytest

from rnnforecast import config, environment, forecasting, models, runs, training
from tests.conftest import tiny_config


def _config(data_dir, cell="gru", input_length=14, **training_keys):
    raw = tiny_config(data_dir / "daily-min-temperatures.csv", model={"type": cell, "layers": [{"units": 8}, {"units": 6}]})
    raw["window"]["input_length"] = input_length
    raw["training"].update(training_keys)
    return config.validate(raw)


def _xla_config(data_dir, **training_keys):
    """A GRU over enough steps to be XLA-compiled, compiled so without a probe."""
    return _config(data_dir, "gru", input_length=training.XLA_MIN_STEPS, xla=True, **training_keys)


def _plain_copy(model, cfg):
    """The same network and weights, compiled the plain way: no XLA, the recurrence a loop."""
    plain = models.build_model(cfg.model, cfg.window.input_length, 1, cfg.window.horizon, 1)
    plain.set_weights(model.get_weights())
    plain.compile(optimizer=training.optimizer_for(cfg), loss=training.loss_for(cfg), jit_compile=False)
    return plain


def _random_batch(cfg, seed=0, n=16):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, cfg.window.input_length, 1)).astype("float32")
    y = rng.normal(size=(n, cfg.window.horizon, 1)).astype("float32")
    return x, y


def test_xla_is_probed_only_where_it_can_pay(data_dir, monkeypatch):
    from rnnforecast.training import compile as compile_module

    probed = []
    monkeypatch.setattr(compile_module, "_probe", lambda cfg, n, season: probed.append(cfg.model.type) or {"xla": True})
    long_run = training.XLA_MIN_BATCHES * 256  # windows per epoch: 500 batches in one epoch
    for cell in ("gru", "lstm"):
        assert training.xla_on_cpu(_config(data_dir, cell, input_length=training.XLA_MIN_STEPS), train_windows=long_run)
    # a SimpleRNN is unrolled instead up to its UNROLL_MAX_STEPS, and probed past them
    assert not training.xla_on_cpu(_config(data_dir, "simple_rnn", input_length=training.XLA_MIN_STEPS), long_run)
    simple_long = _config(data_dir, "simple_rnn", input_length=training.UNROLL_MAX_STEPS["simple_rnn"] + 1)
    assert training.xla_on_cpu(simple_long, train_windows=long_run)
    assert probed == ["gru", "lstm", "simple_rnn"]
    assert not training.xla_on_cpu(_config(data_dir, "gru", input_length=training.XLA_MIN_STEPS - 1), long_run)
    segmented = _config(data_dir, "gru", input_length=96)
    segmented.model.segment_length = 12  # 8 recurrent steps: the compile would not pay
    assert not training.xla_on_cpu(segmented, long_run)
    # A short training (here 2 epochs of one batch of 256) does not pay for the compile; 2 of 250 batches do.
    short = _config(data_dir, "gru", input_length=training.XLA_MIN_STEPS, epochs=2)
    assert not training.xla_on_cpu(short, train_windows=256)
    assert training.xla_on_cpu(short, train_windows=training.XLA_MIN_BATCHES * 256 // 2)
    assert len(probed) == 4
    # training.xla forces it either way, without a probe
    assert not training.xla_on_cpu(_config(data_dir, "gru", input_length=96, xla=False), long_run)
    assert training.xla_on_cpu(_config(data_dir, "lstm", xla=True), train_windows=256)
    assert len(probed) == 4
    assert training.build(_xla_config(data_dir), 1).jit_compile is True
    assert training.build(_config(data_dir, "lstm"), 1).jit_compile is False


@pytest.mark.slow
def test_the_probe_keeps_the_faster_way_and_the_run_records_it(data_dir, monkeypatch, tmp_path):
    from rnnforecast.training import compile as compile_module

    monkeypatch.setattr(compile_module, "_PROBED", {})
    monkeypatch.setattr(compile_module, "XLA_MIN_BATCHES", 1)  # a tiny training counts as long here
    cfg = _config(data_dir, "gru", input_length=training.XLA_MIN_STEPS)
    cfg.run.dir = str(tmp_path / "runs")
    prepared = training.prepare_data(cfg)
    model = training.build(cfg, 1, train_windows=len(prepared.starts["train"]))
    found = training.xla_probe(cfg, 1)
    times = found["seconds_per_batch"]
    assert times["plain"] > 0 and times["xla"] > 0
    assert found["xla"] == (times["xla"] < times["plain"]) == (model.jit_compile is True)
    # once per process for the same model and batches: the final model and a retraining reuse it
    assert compile_module._probe(cfg, 1, 1) is found
    run = training.train(cfg, verbose=0)
    meta = json.loads((run / "metadata.json").read_text())
    assert meta["xla_probe"] == found and meta["xla"] == found["xla"]


def test_xla_gru_forecasts_match_the_plain_keras_layers(data_dir):
    cfg = _xla_config(data_dir)
    fast = training.build(cfg, 1)
    plain = _plain_copy(fast, cfg)
    x, _ = _random_batch(cfg)
    np.testing.assert_allclose(fast.predict_on_batch(x), plain.predict_on_batch(x), rtol=1e-5, atol=1e-5)


def test_an_xla_trained_model_forecasts_through_a_plain_graph_on_a_cpu(data_dir, monkeypatch):
    cfg = _xla_config(data_dir)
    fast = training.build(cfg, 1)
    plain = _plain_copy(fast, cfg)
    built_with = []  # jit_compile when the forecast function is built
    real = fast.make_predict_function
    monkeypatch.setattr(fast, "make_predict_function", lambda force=False: built_with.append(fast.jit_compile) or real(force))
    values = np.random.default_rng(4).normal(size=(80, 1)).astype("float32")
    got = forecasting.predict_scaled(fast, values, np.arange(40), cfg.window.input_length)
    assert built_with[0] is False  # XLA measured slower for forecasts on a CPU
    assert fast.jit_compile is True  # the training's choice stands (metadata.json records it)
    expected = forecasting.predict_scaled(plain, values, np.arange(40), cfg.window.input_length)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    forecasting.predict_scaled(fast, values, np.arange(40), cfg.window.input_length)
    assert built_with.count(False) == 1  # built once, then reused


def test_an_xla_training_step_matches_the_plain_one(data_dir):
    cfg = _xla_config(data_dir)
    fast = training.build(cfg, 1)
    plain = _plain_copy(fast, cfg)
    x, y = _random_batch(cfg, seed=1)
    for _ in range(3):
        loss_fast, loss_plain = fast.train_on_batch(x, y), plain.train_on_batch(x, y)
        assert loss_fast == pytest.approx(loss_plain, rel=1e-5, abs=1e-6)
    for a, b in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_short_recurrences_trained_long_are_unrolled(data_dir, tmp_path, monkeypatch):
    long_run = training.XLA_MIN_BATCHES * 256  # windows per epoch: 500 batches in one epoch
    for cell, most in training.UNROLL_MAX_STEPS.items():
        assert training.unroll_on_cpu(_config(data_dir, cell, input_length=most), long_run)
        assert not training.unroll_on_cpu(_config(data_dir, cell, input_length=most + 1), long_run)
    assert training.UNROLL_MAX_STEPS["gru"] < training.XLA_MIN_STEPS <= training.UNROLL_MAX_STEPS["simple_rnn"]
    assert not training.unroll_on_cpu(_config(data_dir, "gru", epochs=2), train_windows=256)  # too short to pay
    segmented = _config(data_dir, "lstm", input_length=96)
    segmented.model.segment_length = 12  # the default model's 8 segments
    assert training.unroll_on_cpu(segmented, long_run)
    segmented.model.decoder = "segments"
    segmented.window.horizon = 12 * training.XLA_MIN_STEPS  # the decoder's recurrence is the long one
    assert not training.unroll_on_cpu(segmented, long_run)
    built = training.build(_config(data_dir, "lstm"), 1)
    assert [layer.unroll for layer in built.layers if isinstance(layer, keras.layers.LSTM)] == [True, True]
    assert training.is_unrolled(built)
    assert not training.is_unrolled(training.build(_config(data_dir, "lstm", epochs=1), 1, train_windows=256))
    ensemble = _config(data_dir, "gru")
    ensemble.model.ensemble = 2
    assert training.is_unrolled(training.build(ensemble, 1))
    both_ways = _config(data_dir, "gru")
    both_ways.model.bidirectional = True
    assert training.is_unrolled(training.build(both_ways, 1))
    # the run records the choice (a tiny training counts as long here)
    from rnnforecast.training import compile as compile_module

    monkeypatch.setattr(compile_module, "XLA_MIN_BATCHES", 1)
    cfg = _config(data_dir, "gru")
    cfg.run.dir = str(tmp_path / "runs")
    run = training.train(cfg, verbose=0)
    assert json.loads((run / "metadata.json").read_text())["unrolled"] is True
    # the saved model keeps its unrolled layers and forecasts from the run folder
    report = forecasting.evaluate_run(runs.load(run), with_classical=False)
    assert np.isfinite(report["original"]["model"]["overall"]["mae"])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_an_unrolled_training_step_matches_the_loop(data_dir, cell):
    cfg = _config(data_dir, cell)
    unrolled = training.build(cfg, 1)
    loop = _plain_copy(unrolled, cfg)
    assert not training.is_unrolled(loop)
    x, y = _random_batch(cfg, seed=3)
    np.testing.assert_allclose(unrolled.predict_on_batch(x), loop.predict_on_batch(x), rtol=1e-5, atol=1e-6)
    for _ in range(3):
        assert unrolled.train_on_batch(x, y) == pytest.approx(loop.train_on_batch(x, y), rel=1e-5, abs=1e-6)
    for a, b in zip(unrolled.get_weights(), loop.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_xla_training_repeats_exactly_with_the_same_seed(data_dir):
    # Four sampled batches of 256 an epoch: every training batch has one shape, so XLA compiles it once.
    cfg = _xla_config(data_dir, steps_per_epoch=4)
    weights = []
    for _ in range(2):
        prepared = training.prepare_data(cfg)
        model = training.build(cfg, 1)
        assert model.jit_compile is True
        training.fit(model, prepared, cfg, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_predict_scaled_matches_calling_the_model_window_by_window(data_dir, monkeypatch, cell):
    cfg = _config(data_dir, cell)
    model = models.build_model(cfg.model, cfg.window.input_length, 1, cfg.window.horizon, 1)
    values = np.random.default_rng(2).normal(size=(200, 1)).astype("float32")
    starts = np.arange(0, 150, 7)  # 22 windows: three chunks of 7 and a short last one
    monkeypatch.setattr(forecasting.inference, "PREDICT_CHUNK", 7)  # several chunks and a short last one
    got = forecasting.predict_scaled(model, values, starts, cfg.window.input_length)
    windows = values[starts[:, None] + np.arange(cfg.window.input_length)]
    expected = np.concatenate([np.asarray(model(windows[i : i + 1])) for i in range(len(starts))])
    assert got.shape == (len(starts), cfg.window.horizon, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_long_windows_are_predicted_in_smaller_chunks(data_dir, monkeypatch):
    cfg = _config(data_dir, "lstm")
    model = models.build_model(cfg.model, cfg.window.input_length, 1, cfg.window.horizon, 1)
    sizes = []
    original = model.predict_on_batch
    monkeypatch.setattr(model, "predict_on_batch", lambda x: sizes.append(len(x)) or original(x))
    monkeypatch.setattr(forecasting.inference, "PREDICT_STEPS", 5 * cfg.window.input_length)
    values = np.zeros((100, 1), dtype="float32")
    forecasting.predict_scaled(model, values, np.arange(12), cfg.window.input_length)
    assert sizes == [5, 5, 2]


def test_the_predict_chunk_is_the_devices():
    """1,024 windows a call on a CPU (cache-sized, PERFORMANCE.md section 22), 4,096 on a GPU, fewer for long windows
    (fewer still on a CPU, where a call's outputs for every step are the peak of a forecast's memory: section 28)."""
    inference = forecasting.inference
    assert not inference._on_gpu() and inference._chunk_size(96) == 1024
    assert inference._chunk_size(720) == inference.PREDICT_STEPS // 720 < 1024
    inference._on_gpu.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(environment, "devices", lambda backend: ["GPU:0", "CPU:0"])
            assert inference._chunk_size(96) == 4096
            assert inference._chunk_size(336) == inference.PREDICT_STEPS_GPU // 336 > inference.PREDICT_STEPS // 336
    finally:
        inference._on_gpu.cache_clear()


def test_steps_per_epoch_caps_an_epoch_and_draws_fresh_windows(data_dir):
    cfg = _config(data_dir, "gru", steps_per_epoch=2, batch_size=16)
    starts = np.arange(100)
    values = np.arange(200, dtype="float32")[:, None]
    shuffled = training.window_batches(values, starts, cfg, shuffle=True, steps=2)
    assert len(shuffled) == 2
    first = shuffled[0][0][:, 0, 0].copy()
    shuffled[1]  # the epoch's last batch: the next draw of index 0 starts a new epoch
    assert not np.array_equal(first, shuffled[0][0][:, 0, 0])
    ordered = training.window_batches(values, starts, cfg, shuffle=False, steps=2)
    seen = []
    for _ in range(4):  # 7 batches in all: epochs take turns through them, then wrap around
        seen += [int(ordered[i][0][0, 0, 0]) for i in range(len(ordered))]
    assert seen == [0, 16, 32, 48, 64, 80, 96, 0]


def test_precision_is_float32_on_the_cpu_and_can_be_set(data_dir):
    assert training.build(_config(data_dir, "gru"), 1).dtype_policy.name == "float32"
    try:
        model = training.build(_config(data_dir, "lstm", precision="mixed_bfloat16"), 1)
        assert model.dtype_policy.name == "mixed_bfloat16"
    finally:
        keras.config.set_dtype_policy("float32")
    assert training.build(_config(data_dir, "lstm"), 1).dtype_policy.name == "float32"


def test_auto_precision_is_mixed_float16_on_a_gpu_with_tensor_cores(data_dir, monkeypatch):
    monkeypatch.setattr(environment, "mixed_precision_gpu", lambda: True)
    assert training.precision_policy(_config(data_dir, "lstm")) == "mixed_float16"
    assert training.precision_policy(_config(data_dir, "lstm", precision="float32")) == "float32"
    monkeypatch.setattr(environment, "mixed_precision_gpu", lambda: False)
    assert training.precision_policy(_config(data_dir, "lstm")) == "float32"


@pytest.mark.parametrize("capability, expected", [((7, 0), True), ((8, 9), True), ((6, 1), False), (None, False)])
def test_tensor_cores_mean_compute_capability_7_or_newer(monkeypatch, capability, expected):
    import tensorflow as tf

    from rnnforecast import environment

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["gpu"] if kind == "GPU" else [])
    monkeypatch.setattr(tf.config.experimental, "get_device_details", lambda d: {"compute_capability": capability})
    assert environment.mixed_precision_gpu() is expected


def test_one_warning_line_on_a_gpu_when_options_leave_cudnn(data_dir, monkeypatch, capsys):
    raw = tiny_config(data_dir / "daily-min-temperatures.csv",
                      model={"type": "lstm", "layers": [{"units": 4, "activation": "relu", "recurrent_dropout": 0.1}]})
    leaving, plain = config.validate(raw), _config(data_dir, "lstm")
    assert training.announce_device(leaving) == "CPU"  # this machine: no GPU, no warning
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(environment, "devices", lambda backend: ["GPU:0 NVIDIA H100", "CPU:0"])
    assert training.announce_device(plain) == "GPU:0 NVIDIA H100"
    assert capsys.readouterr().err == ""
    training.announce_device(leaving)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ")
    assert "activation is relu" in lines[0] and "recurrent_dropout" in lines[0] and "cuDNN" in lines[0]
