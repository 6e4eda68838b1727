"""The long-horizon model options: RevIN-style normalization, segments, channel independence, segment decoder."""

import keras
import numpy as np
import pytest

from rnnforecast import config, models
from rnnforecast.errors import UserError

SEGRNN = {"segment_length": 4, "channel_independence": True, "decoder": "segments", "normalization": "last"}


def _model(n_inputs=3, n_targets=3, input_length=12, horizon=7, **keys):
    cfg = config.ModelConfig(**{"type": "gru", "layers": [{"units": 8}], **keys})
    return models.build_model(cfg, input_length, n_inputs, horizon, n_targets)


def _x(batch=4, steps=12, channels=3, seed=0, offset=0.0):
    return (np.random.default_rng(seed).normal(size=(batch, steps, channels)) + offset).astype("float32")


def _zero_head(model):
    head = model.get_layer("head")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])


def _error(raw) -> str:
    with pytest.raises(UserError) as info:
        config.validate(raw)
    return str(info.value)


def _raw(**model):
    return {"data": {"path": "x.csv", "targets": ["a", "b"]}, "window": {"input_length": 12, "horizon": 7}, "model": model}


# ---------------------------------------------------------------------------- shapes and saving

OPTIONS = [
    {},
    {"segment_length": 4},
    {"channel_independence": True},
    {"segment_length": 4, "channel_independence": True},
    {"segment_length": 4, "decoder": "segments"},
    {**SEGRNN, "normalization": "mean", "normalization_scale": True, "head_dropout": 0.5},
    {**SEGRNN, "highway": True},
    {"highway": True, "output": {"quantiles": [0.1, 0.5, 0.9]}},
]


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(o) or "plain")
def test_every_option_gives_batch_horizon_targets(cell, options):
    model = _model(type=cell, layers=[{"units": 6}, {"units": 5}], **options)
    quantiles = (3,) if "output" in options else ()
    assert model.output_shape == (None, 7, 3, *quantiles)
    assert tuple(model(_x(batch=2)).shape) == (2, 7, 3, *quantiles)


def test_horizon_that_is_not_a_multiple_of_the_segment_is_cropped():
    model = _model(horizon=10, **SEGRNN)  # 3 segments of 4 = 12 steps, cropped to 10
    assert tuple(model(_x(batch=2)).shape) == (2, 10, 3)


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_options_save_and_load_in_safe_mode(tmp_path, cell):
    model = _model(type=cell, **SEGRNN, normalization_scale=True, highway=True)
    x = _x(seed=1)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert np.allclose(np.asarray(model(x)), np.asarray(loaded(x)), atol=1e-6)


# ---------------------------------------------------------------------------- normalization


@pytest.mark.parametrize("mode", ["last", "mean"])
@pytest.mark.parametrize("options", [{}, SEGRNN], ids=["plain", "segrnn"])
def test_scaled_normalization_is_undone_exactly(mode, options):
    """A head that outputs zeros (no change from the reference) must return the reference."""
    model = _model(**{**options, "normalization": mode, "normalization_scale": True, "highway": False})
    _zero_head(model)
    x = _x(offset=50.0) * 3
    expected = x[:, -1, :] if mode == "last" else x.mean(axis=1)
    assert np.allclose(np.asarray(model(x)), expected[:, None, :], atol=1e-3)


def test_scaled_normalization_multiplies_back_by_the_window_std():
    layer = models.WindowNormalization("mean", scale=True)
    undo = models.AddReference(1, scale=True)
    x = np.array([[[1.0], [3.0], [5.0], [7.0]]], dtype="float32")  # mean 4, std sqrt(5)
    normalized, reference, std = (np.asarray(t) for t in layer(x))
    assert np.allclose(reference, 4.0) and np.allclose(std, np.sqrt(5.0 + 1e-5))
    assert np.allclose(normalized[0, :, 0], (x[0, :, 0] - 4.0) / np.sqrt(5.0 + 1e-5), atol=1e-6)
    restored = np.asarray(undo([normalized, reference, std]))
    assert np.allclose(restored, x, atol=1e-5)


def test_a_constant_window_is_forecast_as_that_constant():
    """Scaled back by 0, not by sqrt(epsilon): no 1e-4 drift off an all-zero series."""
    model = _model(**SEGRNN, normalization_scale=True)
    out = np.asarray(model(np.full((2, 12, 3), 7.0, dtype="float32")))
    assert np.isfinite(out).all() and np.allclose(out, 7.0, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------- segments


def test_segments_cover_the_look_back_in_order():
    """The embedding sees segment k as rows [k*s, (k+1)*s) of the window, every row exactly once."""
    model = _model(n_inputs=2, n_targets=2, input_length=12, segment_length=4, normalization="none")
    segments = keras.Model(model.input, model.get_layer("segments").output)
    x = np.arange(12 * 2, dtype="float32").reshape(1, 12, 2)
    got = np.asarray(segments(x))
    assert got.shape == (1, 3, 8)
    for k in range(3):
        assert np.array_equal(got[0, k], x[0, 4 * k : 4 * k + 4].ravel())
    assert sorted(got.ravel().tolist()) == x.ravel().tolist()


def test_the_recurrence_runs_over_segments_not_points():
    model = _model(segment_length=4, layers=[{"units": 6}])
    assert model.get_layer("segment_embedding").output.shape == (None, 3, 6)


def test_segment_length_that_does_not_divide_the_look_back_is_refused():
    message = _error(_raw(segment_length=5))
    assert "model.segment_length 5 does not divide window.input_length 12" in message


def test_segment_decoder_needs_a_segment_length():
    message = _error(_raw(decoder="segments"))
    assert "decoder: segments needs segment_length" in message


def test_segment_decoder_emits_one_recurrent_step_per_output_segment():
    model = _model(horizon=8, segment_length=4, decoder="segments", layers=[{"units": 6}])
    queries = model.get_layer("segment_queries")
    assert queries.position.shape == (2, 6)  # 8 / 4 output segments, learned
    x = _x(batch=3)
    assert keras.Model(model.input, queries.output)(x).shape == (3 * 2, 1, 6)


# ---------------------------------------------------------------------------- channel independence


@pytest.mark.parametrize("options", [{"channel_independence": True}, SEGRNN], ids=["points", "segrnn"])
def test_channel_independence_applies_the_same_weights_to_every_channel(options):
    """Without a channel embedding, permuting the input channels permutes the outputs the same way."""
    model = _model(**options)
    if "segment_queries" in [layer.name for layer in model.layers]:
        queries = model.get_layer("segment_queries")
        queries.channel.assign(np.zeros(queries.channel.shape, dtype="float32"))
    x = _x(seed=2)
    order = [2, 0, 1]
    assert np.allclose(np.asarray(model(x[:, :, order])), np.asarray(model(x))[:, :, order], atol=1e-5)


def test_channel_independence_has_no_weight_per_channel():
    narrow = _model(n_inputs=1, n_targets=1, segment_length=4, channel_independence=True)
    wide = _model(n_inputs=5, n_targets=5, segment_length=4, channel_independence=True)
    assert narrow.count_params() == wide.count_params()


def test_channel_embedding_tells_the_channels_apart_in_the_segment_decoder():
    queries = _model(**SEGRNN).get_layer("segment_queries")
    assert queries.channel.shape == (3, 4) and queries.position.shape == (2, 4)


def test_channel_independence_with_extra_features_is_refused():
    raw = _raw(channel_independence=True)
    raw["data"]["features"] = ["c"]
    message = _error(raw)
    assert "channel_independence" in message and "extra inputs c" in message


def test_scale_without_a_reference_is_refused():
    assert "normalization_scale needs normalization" in _error(_raw(normalization_scale=True, normalization="none"))


# ---------------------------------------------------------------------------- highway


@pytest.mark.parametrize("options", [{}, SEGRNN], ids=["plain", "segrnn"])
def test_highway_adds_one_shared_linear_map_of_the_normalized_look_back(options):
    """With the recurrent head silenced, the forecast is the highway's linear map, undone from the reference."""
    model = _model(n_inputs=3, n_targets=2, input_length=12, horizon=7, highway=True,
                   **{**options, "channel_independence": False, "normalization": "last"})
    _zero_head(model)
    kernel, bias = model.get_layer("highway").get_weights()
    assert kernel.shape == (12, 7)  # one map shared by both targets, none for the third input
    x = _x(offset=10.0)
    last = x[:, -1:, :2]
    expected = np.einsum("btc,th->bhc", x[:, :, :2] - last, kernel) + bias[None, :, None] + last
    assert np.allclose(np.asarray(model(x)), expected, atol=1e-4)


# ---------------------------------------------------------------------------- ensembles


def _members(model):
    return [layer for layer in model.layers if layer.name.startswith("member_")]


@pytest.mark.parametrize("options", [{}, {"segment_length": 4}, {"output": {"quantiles": [0.1, 0.5, 0.9]}}],
                         ids=["plain", "segments", "quantiles"])
def test_an_ensemble_forecasts_the_mean_of_independent_members(options):
    model = _model(ensemble=3, highway=False, **options)  # the seasonal highway starts every member at one forecast
    members = _members(model)
    assert len(members) == 3
    x = _x(batch=2)
    outputs = [np.asarray(m(x)) for m in members]
    assert not np.allclose(outputs[0], outputs[1])  # each member starts from its own weights
    np.testing.assert_allclose(np.asarray(model(x)), np.mean(outputs, axis=0), atol=1e-6)
    assert model.output_shape == members[0].output_shape
    stacked = np.asarray(model(x, training=True))  # training sees every member, so each is fitted on its own
    assert stacked.shape == (2, 3, *members[0].output_shape[1:])
    np.testing.assert_allclose(stacked[:, 1], outputs[1], atol=1e-6)


@pytest.mark.parametrize("loss", ["mae", "mse", "huber"])
def test_ensemble_loss_is_the_members_mean_loss_in_training_and_the_forecasts_loss_otherwise(loss):
    y = np.random.default_rng(1).normal(size=(4, 7, 3)).astype("float32")
    members = np.random.default_rng(2).normal(size=(4, 3, 7, 3)).astype("float32")
    ensemble = models.EnsembleLoss(loss)
    plain = {"mae": keras.losses.MeanAbsoluteError(), "mse": keras.losses.MeanSquaredError(),
             "huber": keras.losses.Huber()}[loss]
    each = np.mean([float(plain(y, members[:, i])) for i in range(3)])
    assert float(ensemble(y, members)) == pytest.approx(each, rel=1e-5)
    mean = members.mean(axis=1)
    assert float(ensemble(y, mean)) == pytest.approx(float(plain(y, mean)), rel=1e-5)
    assert float(ensemble(y, members)) > float(ensemble(y, mean))  # not one wide model fitted through its mean


def test_ensemble_of_quantile_members_uses_the_pinball_loss_per_member():
    quantiles = [0.1, 0.5, 0.9]
    y = np.random.default_rng(1).normal(size=(4, 7, 1)).astype("float32")
    members = np.sort(np.random.default_rng(2).normal(size=(4, 2, 7, 1, 3)), axis=-1).astype("float32")
    each = np.mean([float(models.PinballLoss(quantiles)(y, members[:, i])) for i in range(2)])
    assert float(models.EnsembleLoss("mae", quantiles=quantiles)(y, members)) == pytest.approx(each, rel=1e-5)


def test_an_ensemble_saves_and_loads_in_safe_mode(tmp_path):
    model = _model(ensemble=2, segment_length=4)
    model.compile(optimizer="adam", loss=models.EnsembleLoss("mae"))
    x, y = _x(batch=8), np.zeros((8, 7, 3), "float32")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)


def test_ensemble_size_is_bounded_and_counted_in_the_memory_estimate():
    assert "model.ensemble" in _error(_raw(ensemble=0))
    assert "model.ensemble" in _error(_raw(ensemble=1000))
    one = models.training_memory(config.ModelConfig(), 48, 1, 12, 1, 32)
    four = models.training_memory(config.ModelConfig(ensemble=4), 48, 1, 12, 1, 32)
    assert four[0] == 4 * one[0] and four[1] > 3.9 * one[1]


# ---------------------------------------------------------------------------- CycleNet's residual cycle (model.cycle)


def _with_phase(x, last_phase, cycle):
    """Windows with the data module's position column, the last row of window i at position last_phase[i]."""
    steps = x.shape[1]
    phase = np.mod(np.asarray(last_phase)[:, None] + np.arange(1 - steps, 1)[None, :], cycle)
    return np.concatenate([x, phase[:, :, None].astype("float32")], axis=-1)


def test_cycle_pattern_is_taken_at_the_windows_rows_and_the_horizons():
    cycle, steps, horizon = 5, 7, 3
    layer = models.CyclePattern(cycle, horizon, n_targets=1)
    x = _with_phase(_x(batch=2, steps=steps, channels=2), [0, 3], cycle)
    layer.build(x.shape)
    pattern = np.arange(cycle * 2, dtype="float32").reshape(cycle, 2)
    layer.pattern.assign(pattern)
    window, past, future = (np.asarray(t) for t in layer(x))
    np.testing.assert_array_equal(window, x[:, :, :2])
    np.testing.assert_array_equal(past[1], pattern[(3 + np.arange(1 - steps, 1)) % cycle])  # rows ..., 2, 3
    np.testing.assert_array_equal(future[1], pattern[(3 + np.arange(1, horizon + 1)) % cycle, :1])  # 4, 0, 1
    np.testing.assert_array_equal(future[0], pattern[[1, 2, 3], :1])


@pytest.mark.parametrize("options", [{}, SEGRNN, {"normalization": "mean", "normalization_scale": True}])
def test_a_learned_cycle_is_removed_from_the_window_and_added_to_the_forecast(options):
    """With the network's head at zero, the forecast is the reference plus the pattern at the horizon's positions."""
    cfg = config.ModelConfig(**{"type": "gru", "layers": [{"units": 8}], "highway": False, **options})
    cycle, steps, horizon = 6, 12, 7
    model = models.build_model(cfg, steps, 3, horizon, 3, cycle=cycle)
    _zero_head(model)
    pattern = np.random.default_rng(1).normal(size=(cycle, 3)).astype("float32")
    model.get_layer("cycle").pattern.assign(pattern)
    x = _with_phase(_x(batch=3, steps=steps, offset=5.0), [0, 4, 11], cycle)
    out = np.asarray(model(x))
    history = x[:, :, :3]
    reference = history[:, -1:] if cfg.normalization == "last" else history.mean(axis=1, keepdims=True)
    scale = np.sqrt(history.var(axis=1, keepdims=True) + 1e-5) if cfg.normalization_scale else 1.0
    at = np.mod(np.array([0, 4, 11])[:, None] + np.arange(1, horizon + 1), cycle)
    np.testing.assert_allclose(out, reference + scale * pattern[at], rtol=1e-4, atol=1e-4)


def test_a_cycle_model_saves_and_loads_in_safe_mode(tmp_path):
    cfg = config.ModelConfig(type="lstm", layers=[{"units": 4}], **SEGRNN)
    model = models.build_model(cfg, 12, 2, 5, 2, cycle=4)
    model.get_layer("cycle").pattern.assign(np.ones((4, 2), dtype="float32"))
    x = _with_phase(_x(batch=2, steps=12, channels=2), [1, 2], 4)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)


def test_cycle_with_known_future_inputs_is_refused():
    raw = _raw(cycle=True)
    raw["data"]["calendar"] = ["hour_of_day"]
    message = _error(raw)
    assert "model.cycle" in message and "hour_of_day" in message


def test_an_ensemble_with_a_cycle_gives_each_member_its_own_pattern():
    cfg = config.ModelConfig(type="gru", layers=[{"units": 4}], ensemble=2, highway=False)
    model = models.build_model(cfg, 12, 2, 5, 2, cycle=4)
    patterns = [layer.get_layer("cycle").pattern for layer in model.layers if layer.name.startswith("member_")]
    assert len(patterns) == 2 and patterns[0] is not patterns[1]
    x = _with_phase(_x(batch=3, steps=12, channels=2), [0, 1, 2], 4)
    assert np.asarray(model(x)).shape == (3, 5, 2)
