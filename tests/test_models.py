import keras
import numpy as np
import pytest

from rnnforecast import config, models


def _model_cfg(**keys):
    return config.ModelConfig(**keys)


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_stack_order_return_sequences_and_output_shape(cell):
    cfg = _model_cfg(type=cell, layers=[{"units": 8}, {"units": 6}, {"units": 4}])
    model = models.build_model(cfg, input_length=12, n_inputs=3, horizon=5, n_targets=2)
    recurrent = [layer for layer in model.layers if isinstance(layer, models.RECURRENT_LAYERS[cell])]
    assert [layer.units for layer in recurrent] == [8, 6, 4]
    assert [layer.return_sequences for layer in recurrent] == [True, True, False]
    assert model.output_shape == (None, 5, 2)
    assert model.get_layer("head").units == 10
    out = model(np.zeros((2, 12, 3), dtype="float32"))
    assert tuple(out.shape) == (2, 5, 2)


def test_layer_options_reach_the_keras_layer():
    cfg = _model_cfg(type="lstm", layers=[{"units": 5, "dropout": 0.2, "recurrent_dropout": 0.1, "activation": "relu"}])
    layer = models.build_model(cfg, 4, 1, 2, 1).get_layer("lstm_1")
    assert layer.dropout == pytest.approx(0.2) and layer.recurrent_dropout == pytest.approx(0.1)
    assert layer.activation.__name__ == "relu"
    assert models.leaves_cudnn(cfg) == [
        "model.layers[0].activation is relu, not tanh",
        "model.layers[0].recurrent_dropout is above 0",
    ]
    assert models.leaves_cudnn(_model_cfg()) == []


def test_bidirectional_wraps_every_layer():
    cfg = _model_cfg(type="gru", layers=[{"units": 4}, {"units": 3}], bidirectional=True)
    model = models.build_model(cfg, 6, 2, 3, 1)
    wrapped = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert len(wrapped) == 2 and wrapped[-1].output.shape[-1] == 6


@pytest.mark.parametrize("mode", ["last", "mean"])
def test_window_normalization_is_added_back_exactly(mode):
    cfg = _model_cfg(type="gru", layers=[{"units": 4}], normalization=mode, highway=False)
    model = models.build_model(cfg, 6, 2, 3, 1)
    head = model.get_layer("head")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])  # the network predicts no change
    x = np.random.default_rng(0).normal(size=(4, 6, 2)).astype("float32") + 50
    expected = x[:, -1, 0] if mode == "last" else x[:, :, 0].mean(axis=1)
    out = np.asarray(model(x))
    assert np.allclose(out[:, :, 0], expected[:, None], atol=1e-4)


@pytest.mark.parametrize("kind, ours, keras_own", [
    ("lstm", models.layers.LSTM, keras.layers.LSTM), ("gru", models.layers.GRU, keras.layers.GRU),
])
def test_model_saves_and_loads_in_safe_mode(tmp_path, kind, ours, keras_own):
    cfg = _model_cfg(type=kind, layers=[{"units": 4}], normalization="last")
    model = models.build_model(cfg, 6, 2, 3, 1)
    x = np.random.default_rng(1).normal(size=(2, 6, 2)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert np.allclose(np.asarray(model(x)), np.asarray(loaded(x)), atol=1e-6)
    # the factory's layer comes back as itself; a model saved with Keras's own layer (runs before it) as that
    assert [type(layer) for layer in loaded.layers if isinstance(layer, keras_own)] == [ours]
    plain = keras.Sequential([keras.Input((6, 2)), keras_own(4)])
    plain.save(tmp_path / "plain.keras")
    again = keras.saving.load_model(tmp_path / "plain.keras", safe_mode=True)
    assert type(again.layers[0]) is keras_own
