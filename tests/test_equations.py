"""Keras recurrent layers against a small NumPy reference of their equations.

Each reference runs in float64 on the Keras layer's own weights (from
``layer.get_weights()``), so a mismatch means the recurrence (gate order, bias
layout, state update) differs from the one written down here.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from rnnforecast.models.layers import GRU, LSTM

BATCH, TIME, FEATURES, UNITS = 3, 7, 4, 5
SEED = 1234
ATOL = 1e-5


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras's default recurrent_activation, in float64."""
    return 1.0 / (1.0 + np.exp(-x))


def simple_rnn_ref(x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """SimpleRNN written out: h_t = tanh(x_t W_x + h_{t-1} W_h + b)."""
    w_x, w_h, b = (w.astype(np.float64) for w in weights)
    h = np.zeros((x.shape[0], w_h.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w_x + h @ w_h + b)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def lstm_ref(x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """LSTM written out with Keras's gate order i, f, c, o in the columns."""
    w_x, w_h, b = (w.astype(np.float64) for w in weights)
    units = w_h.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros((x.shape[0], units))
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w_x + h @ w_h + b
        z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
        i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)
        c = f * c + i * np.tanh(z_c)
        h = o * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def gru_ref(x: np.ndarray, weights: list[np.ndarray]) -> np.ndarray:
    """GRU with reset_after=True: gate order z, r, h; bias rows are input, recurrent."""
    w_x, w_h, b = (w.astype(np.float64) for w in weights)
    b_x, b_h = b
    h = np.zeros((x.shape[0], w_h.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        x_z, x_r, x_h = np.split(x[:, t] @ w_x + b_x, 3, axis=-1)
        h_z, h_r, h_h = np.split(h @ w_h + b_h, 3, axis=-1)
        z = sigmoid(x_z + h_z)
        r = sigmoid(x_r + h_r)
        hh = np.tanh(x_h + r * h_h)
        h = z * h + (1.0 - z) * hh
        outputs.append(h)
    return np.stack(outputs, axis=1)


CASES = [
    pytest.param(keras.layers.SimpleRNN, simple_rnn_ref, id="simple_rnn"),
    pytest.param(keras.layers.LSTM, lstm_ref, id="lstm"),
    pytest.param(LSTM, lstm_ref, id="lstm-one-product"),  # the factory's: [x_t, h] times both kernels at once
    pytest.param(keras.layers.GRU, gru_ref, id="gru"),
    pytest.param(GRU, gru_ref, id="gru-hand-written-gradient"),  # the factory's: its forecasts are Keras's
]


@pytest.fixture
def inputs() -> np.ndarray:
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    return rng.normal(size=(BATCH, TIME, FEATURES)).astype("float32")


def make_layer(layer_cls, return_sequences: bool, seed: int = SEED):
    # Non-zero biases, so that a wrong bias layout cannot hide behind zeros.
    return layer_cls(
        UNITS,
        return_sequences=return_sequences,
        bias_initializer=keras.initializers.RandomNormal(stddev=0.5, seed=seed),
    )


@pytest.mark.parametrize("layer_cls, reference", CASES)
def test_sequence_matches_reference(layer_cls, reference, inputs):
    layer = make_layer(layer_cls, return_sequences=True)
    out = keras.ops.convert_to_numpy(layer(inputs))
    ref = reference(inputs.astype(np.float64), layer.get_weights())
    assert out.shape == (BATCH, TIME, UNITS)
    assert np.allclose(out, ref, atol=ATOL)


@pytest.mark.parametrize("layer_cls, reference", CASES)
def test_final_state_is_last_reference_step(layer_cls, reference, inputs):
    layer = make_layer(layer_cls, return_sequences=False)
    out = keras.ops.convert_to_numpy(layer(inputs))
    ref = reference(inputs.astype(np.float64), layer.get_weights())
    assert out.shape == (BATCH, UNITS)
    assert np.allclose(out, ref[:, -1], atol=ATOL)


def test_stacked_lstm_matches_chained_references(inputs):
    first = make_layer(keras.layers.LSTM, return_sequences=True)
    second = make_layer(keras.layers.LSTM, return_sequences=False, seed=SEED + 1)
    model = keras.Sequential([keras.Input((TIME, FEATURES)), first, second])
    out = keras.ops.convert_to_numpy(model(inputs))
    hidden = lstm_ref(inputs.astype(np.float64), first.get_weights())
    ref = lstm_ref(hidden, second.get_weights())[:, -1]
    assert out.shape == (BATCH, UNITS)
    assert np.allclose(out, ref, atol=ATOL)


@pytest.mark.parametrize("options", [
    {"go_backwards": True}, {"unroll": True, "return_sequences": True}, {"return_state": True}, {"use_bias": False},
])
def test_one_product_lstm_forecasts_as_keras_does_under_every_option(inputs, options):
    keras_layer, ours = keras.layers.LSTM(UNITS, **options), LSTM(UNITS, **options)
    expected = keras_layer(inputs)
    ours.build(inputs.shape)
    ours.set_weights(keras_layer.get_weights())
    found = ours(inputs)
    for want, got in zip(*(x if isinstance(x, list) else [x] for x in (expected, found))):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), atol=1e-6)


def test_one_product_lstm_reads_a_mask_as_keras_does(inputs):
    masked = inputs.copy()
    masked[:, 4:] = 0.0  # padded steps: the state carries through them
    source = keras.Input((TIME, FEATURES))
    hidden = keras.layers.Masking(0.0)(source)
    keras_model = keras.Model(source, keras.layers.LSTM(UNITS)(hidden))
    ours = keras.Model(source, LSTM(UNITS)(hidden))
    ours.set_weights(keras_model.get_weights())
    np.testing.assert_allclose(ours.predict(masked, verbose=0), keras_model.predict(masked, verbose=0), atol=1e-6)


def test_one_product_lstm_trains_with_keras_own_step(inputs, monkeypatch):
    trained = []  # the `training` of every call that reached Keras's own loop
    keras_loop = keras.layers.LSTM.inner_loop

    def spy(self, sequences, initial_state, mask, training=False):
        trained.append(training)
        return keras_loop(self, sequences, initial_state, mask, training)

    monkeypatch.setattr(keras.layers.LSTM, "inner_loop", spy)
    layer = LSTM(UNITS)
    layer(inputs, training=True)
    layer(inputs)
    assert trained == [True]  # the forecast took the one-product step


def _loss_and_gradients(model, inputs):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        output = model(inputs, training=True)
        loss = tf.reduce_mean(tf.square(output - 0.3))
    return output, tape.gradient(loss, model.trainable_variables)


@pytest.mark.parametrize("options", [
    {}, {"go_backwards": True}, {"return_state": True}, {"bidirectional": True},
])
def test_hand_written_gru_gradient_is_keras_automatic_one(inputs, options, monkeypatch):
    from rnnforecast.models import loops

    passes = []  # calls that took the hand-written pass
    real = loops.gru_sequence
    monkeypatch.setattr(loops, "gru_sequence", lambda *args: passes.append(1) or real(*args))
    bidirectional = options.pop("bidirectional", False)
    models = []
    for layer in (keras.layers.GRU, GRU):
        keras.utils.set_random_seed(SEED)
        wrap = keras.layers.Bidirectional if bidirectional else (lambda layer: layer)
        first = wrap(make_layer(layer, return_sequences=True))
        last = wrap(layer(UNITS, **options))
        source = keras.Input((TIME, FEATURES))
        out = last(first(source))
        out = out[0] if options.get("return_state") else out
        models.append(keras.Model(source, keras.layers.Dense(2)(out)))
    models[1].set_weights(models[0].get_weights())
    (want, want_grads), (got, got_grads) = (_loss_and_gradients(model, inputs) for model in models)
    assert passes, "the factory's GRU trained through Keras's automatic gradient"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got), keras.ops.convert_to_numpy(want), atol=1e-6)
    for variable, a, b in zip(models[0].trainable_variables, want_grads, got_grads):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(b), keras.ops.convert_to_numpy(a), atol=1e-6,
                                   err_msg=variable.path)


@pytest.mark.parametrize("options", [
    {"dropout": 0.2}, {"recurrent_dropout": 0.2}, {"unroll": True}, {"activation": "relu"}, {"reset_after": False},
])
def test_hand_written_gru_gradient_leaves_other_options_to_keras(inputs, options, monkeypatch):
    from rnnforecast.models import loops

    passes = []
    monkeypatch.setattr(loops, "gru_sequence", lambda *args: passes.append(1))
    layer = GRU(UNITS, **options)
    layer(inputs, training=True)
    layer(inputs)
    assert passes == []


def test_hand_written_gru_runs_in_training_only(inputs, monkeypatch):
    from rnnforecast.models import loops

    passes = []
    real = loops.gru_sequence
    monkeypatch.setattr(loops, "gru_sequence", lambda *args: passes.append(1) or real(*args))
    layer = GRU(UNITS)
    layer(inputs)
    assert passes == []  # forecasts: Keras's loop
    layer(inputs, training=True)
    assert passes == [1]


def test_hand_written_gru_leaves_a_masked_sequence_to_keras(inputs, monkeypatch):
    from rnnforecast.models import loops

    passes = []
    monkeypatch.setattr(loops, "gru_sequence", lambda *args: passes.append(1))
    source = keras.Input((TIME, FEATURES))
    masked = inputs.copy()
    masked[:, 4:] = 0.0
    model = keras.Model(source, GRU(UNITS)(keras.layers.Masking(0.0)(source)))
    assert np.isfinite(keras.ops.convert_to_numpy(model(masked, training=True))).all()
    assert passes == []
