"""The model's own Keras layers: window normalization, segments, the highway, quantiles, ensembles.

Each is registered for saving (`rnnforecast>Name`), so a run's model.keras loads in safe mode.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="rnnforecast")
class WindowNormalization(keras.layers.Layer):
    """Subtract each window's last value or mean per column; return it to add back later.

    Forecasting the change from a reference level instead of the level itself is a large
    accuracy gain on series whose level drifts (RevIN, SegRNN). With `scale`, the window is
    also divided by its own standard deviation, sqrt(var + epsilon) so that a constant
    window stays finite, and the layer returns (normalized, reference, std). A constant window
    (variance under `CONSTANT`) returns std 0: it is forecast as that constant, not as it plus the
    network's output times sqrt(epsilon) (an all-zero series forecast at 1e-4).
    """

    CONSTANT = 1e-10  # in the scaled units the windows are in (order 1): float32 noise of equal values is far below

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
        var = ops.var(inputs, axis=1, keepdims=True)
        std = ops.sqrt(var + self.epsilon)
        return (inputs - reference) / std, reference, ops.where(var > self.CONSTANT, std, ops.zeros_like(std))

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
    """Quantiles that never cross: the median as given, each one above it a softplus step over the one below,
    each one below it a softplus step under the one above.

    Anchored at the median, a zero head leaves the median on the highway's forecast, which the point forecast
    is; anchored at the lowest quantile (`median_index` None: models saved before 2026-12-07), softplus(0) = ln 2
    put the untrained median 0.69 scaled units above it, which early stopping could keep.
    """

    def __init__(self, median_index: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.median_index = median_index

    def call(self, inputs):
        m = self.median_index
        if m is None:
            steps = ops.softplus(inputs[..., 1:])
            return ops.concatenate([inputs[..., :1], inputs[..., :1] + ops.cumsum(steps, axis=-1)], axis=-1)
        median = inputs[..., m : m + 1]
        parts = [median]
        if m + 1 < inputs.shape[-1]:
            parts.append(median + ops.cumsum(ops.softplus(inputs[..., m + 1 :]), axis=-1))
        if m > 0:  # the steps below, accumulated from the median outward, then put back in increasing order
            down = ops.cumsum(ops.softplus(ops.flip(inputs[..., :m], axis=-1)), axis=-1)
            parts.insert(0, ops.flip(median - down, axis=-1))
        return ops.concatenate(parts, axis=-1)

    def get_config(self):
        return {**super().get_config(), "median_index": self.median_index}


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
        self.linear = keras.layers.Dense(self.horizon, name="linear", trainable=self.trainable)  # frozen with its owner

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
    """Add a (batch, horizon, targets) term (the highway, or the cycle's pattern) to the forecast, to every quantile."""

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
class CyclePattern(keras.layers.Layer):
    """CycleNet's residual cycle: a learned pattern of `cycle` steps per column, taken out and put back.

    The input's last column is each row's position in the cycle (the data module adds it:
    `data.cycle_phase`). The layer returns the window without that column, the pattern at
    the window's rows (to subtract) and at the horizon's (to add to the forecast), so the
    recurrent network forecasts what the cycle does not explain (Lin et al. 2024, CycleNet).
    Built at zero; training starts it at the training rows' profile (training.linear_start).
    Inputs (batch, steps, columns + 1) -> ((batch, steps, columns), same, (batch, horizon, n_targets)).
    """

    def __init__(self, cycle: int, horizon: int, n_targets: int, **kwargs):
        super().__init__(**kwargs)
        if cycle < 1:
            raise ValueError(f"cycle must be at least 1. Received: cycle={cycle}")
        self.cycle, self.horizon, self.n_targets = int(cycle), int(horizon), int(n_targets)

    def build(self, input_shape):
        self.steps, self.columns = int(input_shape[1]), int(input_shape[2]) - 1
        self.pattern = self.add_weight(shape=(self.cycle, self.columns), initializer="zeros", name="pattern")

    def call(self, inputs):
        last = ops.cast(ops.round(inputs[:, -1, -1]), "int32")[:, None]  # the last input row's position
        past = ops.mod(last + ops.arange(1 - self.steps, 1, dtype="int32")[None, :], self.cycle)
        future = ops.mod(last + ops.arange(1, self.horizon + 1, dtype="int32")[None, :], self.cycle)
        at_past = ops.take(self.pattern, past, axis=0)
        at_future = ops.take(self.pattern[:, : self.n_targets], future, axis=0)
        return inputs[:, :, :-1], at_past, at_future

    def compute_output_shape(self, input_shape):
        window = (input_shape[0], input_shape[1], input_shape[2] - 1)
        return window, window, (input_shape[0], self.horizon, self.n_targets)

    def get_config(self):
        return {**super().get_config(), "cycle": self.cycle, "horizon": self.horizon, "n_targets": self.n_targets}


@keras.saving.register_keras_serializable(package="rnnforecast")
class LSTM(keras.layers.LSTM):
    """Keras's LSTM, whose forecasts on a CPU take one matrix product per step instead of two.

    Keras's step multiplies x_t by the input kernel and h by the recurrent kernel, then adds;
    [x_t, h] times the two kernels stacked is the same sum in one larger product, which a CPU runs
    at a better rate (benchmarks/PERFORMANCE.md, section 25). Training keeps Keras's step (its
    gradient measured no faster this way), and so does a GPU, where cuDNN runs the whole recurrence.
    The weights, the saved file's layout and the results (to float rounding) are Keras's.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if training or _accelerator():
            return super().inner_loop(sequences, initial_state, mask, training)
        cell = self.cell
        weights = ops.concatenate([cell.kernel, cell.recurrent_kernel], axis=0)
        bias = cell.bias

        def step(inputs, states):
            z = ops.matmul(ops.concatenate([inputs, states[0]], axis=-1), weights)
            z = z if bias is None else z + bias
            i, f, g, o = ops.split(z, 4, axis=-1)
            c = cell.recurrent_activation(f) * states[1] + cell.recurrent_activation(i) * cell.activation(g)
            h = cell.recurrent_activation(o) * cell.activation(c)
            return h, [h, c]

        if keras.backend.backend() == "tensorflow" and mask is None and not self.go_backwards and not self.unroll:
            from rnnforecast.models.loops import forward_loop

            return forward_loop(step, sequences, list(initial_state), self.return_sequences)
        try:
            from keras.src.backend import rnn  # the loop Keras's own layers run (JAX, torch; masks, unrolled)
        except ImportError:  # a later Keras that moved it: its own step
            return super().inner_loop(sequences, initial_state, mask, training)
        return rnn(
            step, sequences, list(initial_state), go_backwards=self.go_backwards, mask=mask, unroll=self.unroll,
            input_length=sequences.shape[1], zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences,
        )


@keras.saving.register_keras_serializable(package="rnnforecast")
class GRU(keras.layers.GRU):
    """Keras's GRU, whose training on a CPU takes a hand-written gradient (`models.loops.gru_sequence`).

    TensorFlow's automatic gradient of the recurrence computes both kernels' gradients as small
    products at every step; the hand-written pass takes them as one large product each after the
    loop: 16% faster training plain, 21% with XLA (benchmarks/PERFORMANCE.md, section 27). Forecasts,
    a GPU (cuDNN), other backends and the options the pass does not cover (masks, dropout, other
    activations, reset_after off, unrolled recurrences) keep Keras's path. The weights, the saved
    file's layout and the gradients (to float rounding) are Keras's.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not (training and self._hand_written_gradient(sequences, mask)):
            return super().inner_loop(sequences, initial_state, mask, training)
        import tensorflow as tf

        from rnnforecast.models.loops import gru_sequence

        cell = self.cell
        state = initial_state[0] if isinstance(initial_state, (list, tuple)) else initial_state
        if self.go_backwards:
            sequences = tf.reverse(sequences, axis=[1])
        read = [tf.identity(weight.value) for weight in (cell.kernel, cell.recurrent_kernel, cell.bias)]
        outputs = gru_sequence(sequences, *read, state)  # (steps, batch, units)
        last = outputs[-1]
        sequence = tf.transpose(outputs, [1, 0, 2]) if self.return_sequences else last[:, None]
        return last, sequence, [last]

    def _hand_written_gradient(self, sequences, mask) -> bool:
        """Whether the hand-written pass computes this call: the GRU Keras builds by default, on a CPU."""
        cell = self.cell
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.unroll
            and cell.reset_after
            and cell.use_bias
            and not cell.dropout
            and not cell.recurrent_dropout
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
            and sequences.dtype == cell.kernel.dtype
            and not _accelerator()
        )


def _accelerator() -> bool:
    """Whether the backend computes on a GPU (or another accelerator) rather than the CPU."""
    from rnnforecast import environment

    return not environment.devices(keras.backend.backend())[0].startswith("CPU")
