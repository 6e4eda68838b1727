"""The losses the model factory's outputs need beyond Keras's own: quantiles, and ensembles' members."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnforecast")
class PinballLoss(keras.losses.Loss):
    """The quantile loss, averaged over the quantiles: targets (..., targets), forecasts (..., targets, quantiles)."""

    def __init__(self, quantiles=(0.1, 0.5, 0.9), name="pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = [float(q) for q in quantiles]

    def call(self, y_true, y_pred):
        q = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
        error = ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1) - y_pred
        return ops.mean(ops.maximum(q * error, (q - 1.0) * error), axis=-1)

    def get_config(self):
        return {**super().get_config(), "quantiles": self.quantiles}


@keras.saving.register_keras_serializable(package="rnnforecast")
class EnsembleLoss(keras.losses.Loss):
    """The members' mean loss when the forecast has MemberMean's member axis, the plain loss when not.

    `loss` is mae, mse or huber; with `quantiles` it is the pinball loss of those quantiles.
    """

    def __init__(self, loss: str = "mae", quantiles=None, name="ensemble", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = loss
        self.quantiles = None if not quantiles else [float(q) for q in quantiles]

    def call(self, y_true, y_pred):
        if len(y_pred.shape) == len(y_true.shape) + 1 + (1 if self.quantiles else 0):
            y_true = ops.expand_dims(y_true, 1)  # one target for every member
        if self.quantiles:
            return PinballLoss(self.quantiles).call(y_true, y_pred)
        functions = {"mae": keras.losses.mean_absolute_error, "mse": keras.losses.mean_squared_error,
                     "huber": keras.losses.huber}
        return functions[self.loss](y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "loss": self.loss, "quantiles": self.quantiles}
