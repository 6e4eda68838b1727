"""The model factory: a stacked SimpleRNN/LSTM/GRU with a direct multi-step dense head.

The network is built once the data's shape is known, so a config never states the
number of input columns.
"""

from __future__ import annotations

import keras
from keras import ops

from rnnforecast.config import ModelConfig

RECURRENT_LAYERS = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


@keras.saving.register_keras_serializable(package="rnnforecast")
class WindowNormalization(keras.layers.Layer):
    """Subtract each window's last value or mean per column; return it to add back later.

    Forecasting the change from a reference level instead of the level itself is a large
    accuracy gain on series whose level drifts (RevIN, SegRNN).
    """

    def __init__(self, mode: str = "last", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("last", "mean"):
            raise ValueError(f"mode must be 'last' or 'mean'. Received: mode={mode}")
        self.mode = mode

    def call(self, inputs):
        if self.mode == "last":
            reference = inputs[:, -1:, :]
        else:
            reference = ops.mean(inputs, axis=1, keepdims=True)
        return inputs - reference, reference

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="rnnforecast")
class AddReference(keras.layers.Layer):
    """Undo WindowNormalization on the forecast: add back the target columns' reference."""

    def __init__(self, n_targets: int, **kwargs):
        super().__init__(**kwargs)
        self.n_targets = n_targets

    def call(self, inputs):
        forecast, reference = inputs
        return forecast + reference[:, :, : self.n_targets]

    def get_config(self):
        return {**super().get_config(), "n_targets": self.n_targets}


def build_model(cfg: ModelConfig, input_length: int, n_inputs: int, horizon: int, n_targets: int) -> keras.Model:
    """Inputs (batch, input_length, n_inputs) -> forecasts (batch, horizon, n_targets).

    The target columns must be the first `n_targets` input columns (the data module
    orders them so). Every recurrent layer but the last returns its whole sequence.
    """
    inputs = keras.Input(shape=(input_length, n_inputs), name="history")
    x = inputs
    if cfg.normalization != "none":
        x, reference = WindowNormalization(cfg.normalization, name="window_normalization")(x)
    layer_class = RECURRENT_LAYERS[cfg.type]
    for i, layer in enumerate(cfg.layers):
        recurrent = layer_class(
            layer.units,
            activation=layer.activation,
            dropout=layer.dropout,
            recurrent_dropout=layer.recurrent_dropout,
            return_sequences=i < len(cfg.layers) - 1,
            name=f"{cfg.type}_{i + 1}",
        )
        x = keras.layers.Bidirectional(recurrent, name=f"bidirectional_{i + 1}")(x) if cfg.bidirectional else recurrent(x)
    x = keras.layers.Dense(horizon * n_targets, name="head")(x)
    outputs = keras.layers.Reshape((horizon, n_targets), name="forecast")(x)
    if cfg.normalization != "none":
        outputs = AddReference(n_targets, name="add_reference")([outputs, reference])
    return keras.Model(inputs, outputs, name=f"rnnforecast_{cfg.type}")


def leaves_cudnn(cfg: ModelConfig) -> list[str]:
    """The options that make this model skip the fused cuDNN kernel on a GPU, for a warning."""
    reasons = []
    if cfg.type == "simple_rnn":
        reasons.append("simple_rnn has no fused cuDNN kernel")
    for i, layer in enumerate(cfg.layers):
        if layer.activation != "tanh":
            reasons.append(f"model.layers[{i}].activation is {layer.activation}, not tanh")
        if layer.recurrent_dropout > 0:
            reasons.append(f"model.layers[{i}].recurrent_dropout is above 0")
    return reasons
