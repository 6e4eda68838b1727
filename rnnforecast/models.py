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
    accuracy gain on series whose level drifts (RevIN, SegRNN). With `scale`, the window is
    also divided by its own standard deviation, sqrt(var + epsilon) so that a constant
    window stays finite, and the layer returns (normalized, reference, std).
    """

    def __init__(self, mode: str = "last", scale: bool = False, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("last", "mean"):
            raise ValueError(f"mode must be 'last' or 'mean'. Received: mode={mode}")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon}")
        self.mode = mode
        self.scale = bool(scale)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        if self.mode == "last":
            reference = inputs[:, -1:, :]
        else:
            reference = ops.mean(inputs, axis=1, keepdims=True)
        if not self.scale:
            return inputs - reference, reference
        std = ops.sqrt(ops.var(inputs, axis=1, keepdims=True) + self.epsilon)
        return (inputs - reference) / std, reference, std

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "scale": self.scale, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="rnnforecast")
class AddReference(keras.layers.Layer):
    """Undo WindowNormalization on the forecast: times the std (when scaled), plus the reference."""

    def __init__(self, n_targets: int, scale: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.n_targets = n_targets
        self.scale = bool(scale)

    def call(self, inputs):
        forecast, reference = inputs[0], inputs[1][:, :, : self.n_targets]
        std = inputs[2][:, :, : self.n_targets] if self.scale else None
        if len(forecast.shape) == 4:  # quantile forecasts: (batch, horizon, targets, quantiles)
            reference = ops.expand_dims(reference, -1)
            std = None if std is None else ops.expand_dims(std, -1)
        if std is not None:
            forecast = forecast * std
        return forecast + reference

    def get_config(self):
        return {**super().get_config(), "n_targets": self.n_targets, "scale": self.scale}


@keras.saving.register_keras_serializable(package="rnnforecast")
class MonotoneQuantiles(keras.layers.Layer):
    """Quantiles that never cross: the lowest as given, each next one a softplus step above it."""

    def call(self, inputs):
        steps = ops.softplus(inputs[..., 1:])
        return ops.concatenate([inputs[..., :1], inputs[..., :1] + ops.cumsum(steps, axis=-1)], axis=-1)


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
class BatchReshape(keras.layers.Layer):
    """Reshape that may change the batch size: (B, C, L) -> (B*C, L, 1) for channel independence and back.

    keras.layers.Reshape keeps the batch axis; folding channels into the batch needs this.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs):
        return ops.reshape(inputs, (-1, *self.target_shape))

    def compute_output_shape(self, input_shape):
        return (None, *self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@keras.saving.register_keras_serializable(package="rnnforecast")
class RepeatRows(keras.layers.Layer):
    """Repeat every row of the batch `times` times in place: row n becomes rows n*times .. n*times+times-1."""

    def __init__(self, times: int, **kwargs):
        super().__init__(**kwargs)
        self.times = int(times)

    def call(self, inputs):
        return ops.repeat(inputs, self.times, axis=0)

    def compute_output_shape(self, input_shape):
        return (None, *input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "times": self.times}


@keras.saving.register_keras_serializable(package="rnnforecast")
class SegmentQueries(keras.layers.Layer):
    """The decoder's inputs for parallel multi-step forecasting (SegRNN's PMF).

    One learned position embedding per output segment and, for channel-independent
    models, a learned channel embedding (half the width each). Given the encoder's
    final output (N, d) it returns (N * n_segments, 1, units): row n*n_segments + j is
    segment j of sample n; sample n is channel n % n_channels.
    """

    def __init__(self, n_segments: int, units: int, n_channels: int = 1, channel_embedding: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.n_segments = int(n_segments)
        self.units = int(units)
        self.n_channels = int(n_channels)
        self.channel_embedding = bool(channel_embedding)

    def build(self, input_shape):
        init = keras.initializers.RandomNormal(stddev=1.0)
        pos_units = self.units // 2 if self.channel_embedding else self.units
        self.position = self.add_weight(shape=(self.n_segments, pos_units), initializer=init, name="position")
        if self.channel_embedding:
            self.channel = self.add_weight(
                shape=(self.n_channels, self.units - pos_units), initializer=init, name="channel"
            )

    def call(self, inputs):
        m, c = self.n_segments, self.n_channels
        if self.channel_embedding:
            queries = ops.concatenate(
                [
                    ops.broadcast_to(self.position[None], (c, m, self.position.shape[-1])),
                    ops.broadcast_to(self.channel[:, None], (c, m, self.channel.shape[-1])),
                ],
                axis=-1,
            )  # (channels, segments, units)
            zeros = ops.zeros_like(ops.reshape(inputs[:, :1], (-1, c, 1, 1)))
        else:
            queries = self.position[None]  # (1, segments, units)
            zeros = ops.zeros_like(inputs[:, :1])[:, :, None]
        return ops.reshape(zeros + queries, (-1, 1, self.units))

    def compute_output_shape(self, input_shape):
        return (None, 1, self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "n_segments": self.n_segments,
            "units": self.units,
            "n_channels": self.n_channels,
            "channel_embedding": self.channel_embedding,
        }


@keras.saving.register_keras_serializable(package="rnnforecast")
class Highway(keras.layers.Layer):
    """LSTNet's autoregressive highway: one linear map from a target's look-back to its horizon.

    The same weights serve every target (as in channel independence). Added to the
    recurrent forecast, it carries the part of the future that is a linear function of
    the past, so the recurrent stack only has to learn what is not: on short, smooth
    univariate series a linear model is hard to beat, and this keeps its strength.
    With `season`, the map starts as the seasonal naive forecast (step h copies the
    value one season before it; the last value when the look-back is shorter than a
    season), so training starts from the baseline every forecast is measured against.
    Inputs (batch, steps, columns) -> (batch, horizon, n_targets).
    """

    def __init__(self, horizon: int, n_targets: int, season: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.horizon = int(horizon)
        self.n_targets = int(n_targets)
        self.season = None if season is None else int(season)
        self.linear = keras.layers.Dense(self.horizon, name="linear")

    def build(self, input_shape):
        self.linear.build((None, self.n_targets, input_shape[1]))
        if self.season is not None:
            self.linear.kernel.assign(seasonal_naive_map(int(input_shape[1]), self.horizon, self.season))

    def call(self, inputs):
        past = ops.transpose(inputs[:, :, : self.n_targets], (0, 2, 1))  # (batch, targets, steps)
        return ops.transpose(self.linear(past), (0, 2, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.horizon, self.n_targets)

    def get_config(self):
        return {**super().get_config(), "horizon": self.horizon, "n_targets": self.n_targets, "season": self.season}


def seasonal_naive_map(input_length: int, horizon: int, season: int):
    """The (input_length, horizon) 0/1 matrix that maps a look-back to its seasonal naive forecast.

    Column h picks the row one season (or as many as it takes) before step h. When the
    look-back does not reach that far for every step, every column picks the last row
    (the naive forecast), as the seasonal naive baseline does without a season of history.
    """
    import numpy as np

    steps = np.arange(horizon)
    rows = input_length + steps - season * (steps // season + 1)
    if rows.min() < 0:
        rows = np.full(horizon, input_length - 1)
    matrix = np.zeros((input_length, horizon), dtype="float32")
    matrix[rows, steps] = 1.0
    return matrix


@keras.saving.register_keras_serializable(package="rnnforecast")
class AddHighway(keras.layers.Layer):
    """Add the highway (batch, horizon, targets) to the forecast, to every quantile of a quantile forecast."""

    def call(self, inputs):
        forecast, highway = inputs
        return forecast + (ops.expand_dims(highway, -1) if len(forecast.shape) == 4 else highway)


@keras.saving.register_keras_serializable(package="rnnforecast")
class MemberMean(keras.layers.Layer):
    """An ensemble's forecast: the members' mean, and in training each member's own.

    Training sees (batch, members, ...) so that EnsembleLoss fits every member to the
    targets by itself (independent models trained side by side, not one wide model
    fitted through its average); validation, evaluation and prediction see the mean.
    """

    def call(self, inputs, training=None):
        stacked = ops.stack(inputs, axis=1)
        return stacked if training else ops.mean(stacked, axis=1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


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


def build_model(
    cfg: ModelConfig,
    input_length: int,
    n_inputs: int,
    horizon: int,
    n_targets: int,
    n_known: int = 0,
    season: int = 1,
) -> keras.Model:
    """The network of `cfg`, or with `cfg.ensemble` > 1 that many, independently initialised, averaged.

    Args and shapes as `build_network`. An ensemble's members share the inputs and
    nothing else; the forecast is their mean (MemberMean), and training fits each
    member on its own (compile it with EnsembleLoss).
    """
    shape = (cfg, input_length, n_inputs, horizon, n_targets, n_known, season)
    if cfg.ensemble == 1:
        return build_network(*shape)
    members = [build_network(*shape, name=f"member_{i + 1}") for i in range(cfg.ensemble)]
    inputs = [keras.Input(shape=tensor.shape[1:], name=tensor.name.split(":")[0]) for tensor in members[0].inputs]
    args = inputs if len(inputs) > 1 else inputs[0]
    outputs = MemberMean(name="ensemble_mean")([member(args) for member in members])
    return keras.Model(args, outputs, name=f"rnnforecast_{cfg.type}_ensemble")


def build_network(
    cfg: ModelConfig,
    input_length: int,
    n_inputs: int,
    horizon: int,
    n_targets: int,
    n_known: int = 0,
    season: int = 1,
    name: str | None = None,
) -> keras.Model:
    """Inputs (batch, input_length, n_inputs) -> forecasts (batch, horizon, n_targets).

    `season` is the data's season length, which `highway: seasonal` starts from.
    With n_known > 0 the model takes a second input, the known-future columns over
    the horizon (batch, horizon, n_known), which the direct head reads beside the
    recurrent state: a forecast can follow a planned price or the calendar.

    The target columns must be the first `n_targets` input columns (the data module
    orders them so). Every recurrent layer but the last returns its whole sequence.
    The steps, in order, each an option of `cfg`: window normalization; channel
    independence (channels folded into the batch); segment embedding; the recurrent
    stack; a direct head or the segment decoder; channels unfolded; the highway added;
    normalization undone.
    """
    seg = cfg.segment_length
    if seg is not None and input_length % seg:
        raise ValueError(f"segment_length must divide input_length. Received: {seg} and {input_length}")
    if cfg.channel_independence and n_inputs != n_targets:
        raise ValueError(f"channel_independence needs every input to be a target. Received: {n_inputs} inputs, {n_targets} targets")
    n_quantiles = len(cfg.output.quantiles or [None])
    inputs = keras.Input(shape=(input_length, n_inputs), name="history")
    x = inputs
    if cfg.normalization != "none":
        x, *stats = WindowNormalization(cfg.normalization, scale=cfg.normalization_scale, name="window_normalization")(x)
    highway = None
    if cfg.highway:
        seasonal = season if cfg.highway == "seasonal" else None
        highway = Highway(horizon, n_targets, season=seasonal, name="highway")(x)
    width, out_cols = n_inputs, n_targets
    if cfg.channel_independence:
        x = keras.layers.Permute((2, 1), name="channels_first")(x)
        x = BatchReshape((input_length, 1), name="fold_channels")(x)  # (batch * channels, steps, 1)
        width, out_cols = 1, 1
    if seg is not None:
        x = keras.layers.Reshape((input_length // seg, seg * width), name="segments")(x)
        x = keras.layers.Dense(cfg.layers[0].units, activation="relu", name="segment_embedding")(x)
    layer_class = RECURRENT_LAYERS[cfg.type]
    by_segments = cfg.decoder == "segments"
    recurrent_layers, states = [], []
    for i, layer in enumerate(cfg.layers):
        recurrent = layer_class(
            layer.units,
            activation=layer.activation,
            dropout=layer.dropout,
            recurrent_dropout=layer.recurrent_dropout,
            return_sequences=i < len(cfg.layers) - 1,
            return_state=by_segments,
            name=f"{cfg.type}_{i + 1}",
        )
        if cfg.bidirectional:
            x = keras.layers.Bidirectional(recurrent, name=f"bidirectional_{i + 1}")(x)
        elif by_segments:
            x, *layer_states = recurrent(x)
            recurrent_layers.append(recurrent)
            states.append(layer_states)
        else:
            x = recurrent(x)
    if by_segments:
        n_out = -(-horizon // seg)
        x = SegmentQueries(
            n_out,
            cfg.layers[0].units,
            n_channels=n_inputs,
            channel_embedding=cfg.channel_independence and n_inputs > 1,
            name="segment_queries",
        )(x)
        for i, (recurrent, layer_states) in enumerate(zip(recurrent_layers, states)):
            repeated = [RepeatRows(n_out, name=f"repeat_state_{i + 1}_{j + 1}")(s) for j, s in enumerate(layer_states)]
            x, *_ = recurrent(x, initial_state=repeated)  # one step per output segment, shared weights
    if cfg.head_dropout > 0:
        x = keras.layers.Dropout(cfg.head_dropout, name="head_dropout")(x)
    if by_segments:
        x = keras.layers.Dense(seg * out_cols, name="head")(x)
        x = BatchReshape((n_out * seg, out_cols), name="join_segments")(x)
        if n_out * seg > horizon:
            x = keras.layers.Cropping1D((0, n_out * seg - horizon), name="crop_horizon")(x)
    else:
        if n_known:
            future = keras.Input(shape=(horizon, n_known), name="known_future")
            x = keras.layers.Concatenate(name="with_known_future")([x, keras.layers.Flatten(name="flat_future")(future)])
        # A seasonal highway starts as the seasonal naive forecast; a zero head keeps the whole model there at first.
        init = "zeros" if cfg.highway == "seasonal" else "glorot_uniform"
        x = keras.layers.Dense(horizon * out_cols * n_quantiles, kernel_initializer=init, name="head")(x)
    if cfg.channel_independence:
        x = BatchReshape((n_inputs, horizon), name="unfold_channels")(x)
        outputs = keras.layers.Permute((2, 1), name="forecast")(x)
    elif n_quantiles > 1:
        x = keras.layers.Reshape((horizon, n_targets, n_quantiles), name="quantiles")(x)
        outputs = MonotoneQuantiles(name="forecast")(x)
    else:
        outputs = keras.layers.Reshape((horizon, n_targets), name="forecast")(x)
    if highway is not None:
        outputs = AddHighway(name="add_highway")([outputs, highway])
    if cfg.normalization != "none":
        outputs = AddReference(n_targets, scale=cfg.normalization_scale, name="add_reference")([outputs, *stats])
    model_inputs = [inputs, future] if n_known and not by_segments else inputs
    return keras.Model(model_inputs, outputs, name=name or f"rnnforecast_{cfg.type}")


def leaves_cudnn(cfg: ModelConfig) -> list[str]:
    """The options that make this model skip the fused cuDNN kernel on a GPU, for a warning.

    The other conditions Keras checks (sigmoid recurrent activation, a bias, GRU's
    reset_after, no unroll, no mask) are not config options and always hold here.
    """
    reasons = []
    if cfg.type == "simple_rnn":
        reasons.append("simple_rnn has no fused cuDNN kernel")
    for i, layer in enumerate(cfg.layers):
        if layer.activation != "tanh":
            reasons.append(f"model.layers[{i}].activation is {layer.activation}, not tanh")
        if layer.recurrent_dropout > 0:
            reasons.append(f"model.layers[{i}].recurrent_dropout is above 0")
    return reasons


GATES = {"simple_rnn": 1, "gru": 3, "lstm": 4}


def training_memory(cfg: ModelConfig, input_length: int, n_inputs: int, horizon: int, n_targets: int,
                    batch_size: int) -> tuple[int, int]:
    """An estimate of a model's parameters and of the bytes training it takes, before anything is built.

    Args:
        cfg: the model section; input_length, n_inputs, horizon, n_targets: the window's shape;
        batch_size: windows per training step.

    Returns:
        (parameters, bytes): weights, their gradients and two Adam moments in float32, plus every
        recurrent step's gate activations of one batch kept for the backward pass.
    """
    gates, sides = GATES[cfg.type], 2 if cfg.bidirectional else 1
    steps = input_length // cfg.segment_length if cfg.segment_length else input_length
    params, width, activations = 0, n_inputs, 0
    if cfg.segment_length:  # each segment embedded by a dense layer to the first layer's width
        params += (cfg.segment_length * n_inputs + 1) * cfg.layers[0].units
        width = cfg.layers[0].units
    for layer in cfg.layers:
        params += sides * gates * (layer.units * (width + layer.units) + 2 * layer.units)
        activations += sides * gates * layer.units * steps
        width = sides * layer.units
    outputs = horizon * n_targets * max(1, len(cfg.output.quantiles or []))
    params += width * outputs + (input_length * horizon if cfg.highway else 0)
    params, activations = params * cfg.ensemble, activations * cfg.ensemble
    return params, 16 * params + 8 * batch_size * (activations + cfg.ensemble * width * outputs)

