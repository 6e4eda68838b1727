"""The model factory: a stacked SimpleRNN/LSTM/GRU with a direct multi-step dense head.

The network is built once the data's shape is known, so a config never states the
number of input columns.
"""

from __future__ import annotations

import keras

from rnnforecast.config import ModelConfig
from rnnforecast.models.layers import (
    GRU,
    LSTM,
    AddHighway,
    AddReference,
    BatchReshape,
    CyclePattern,
    Highway,
    MemberMean,
    MonotoneQuantiles,
    RepeatRows,
    SegmentQueries,
    WindowNormalization,
)

RECURRENT_LAYERS = {
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": LSTM,  # Keras's, with a faster step for forecasts on a CPU
    "gru": GRU,  # Keras's, with a hand-written gradient for training on a CPU
}


def build_model(
    cfg: ModelConfig,
    input_length: int,
    n_inputs: int,
    horizon: int,
    n_targets: int,
    n_known: int = 0,
    season: int = 1,
    name: str | None = None,
    unroll: bool = False,
    cycle: int = 0,
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

    With `cfg.ensemble` > 1 it is that many such networks, each from its own initial
    weights, sharing the inputs and nothing else (see `_ensemble`). `unroll` builds the
    recurrence as a straight graph instead of a loop (a speed choice: training.unroll_on_cpu).
    With `cycle` > 0 the inputs carry one more column, each row's position in a cycle of that
    many steps, and a learned pattern of the cycle is taken out of the window (after the
    normalization) and put back on the forecast (CyclePattern; `model.cycle`).
    """
    if cfg.ensemble > 1:
        return _ensemble(cfg, (input_length, n_inputs, horizon, n_targets, n_known, season), unroll, cycle)
    seg = cfg.segment_length
    if seg is not None and input_length % seg:
        raise ValueError(f"segment_length must divide input_length. Received: {seg} and {input_length}")
    if cfg.channel_independence and n_inputs != n_targets:
        raise ValueError(f"channel_independence needs every input to be a target. Received: {n_inputs} inputs, {n_targets} targets")
    n_quantiles = len(cfg.output.quantiles or [None])
    inputs = keras.Input(shape=(input_length, n_inputs + (1 if cycle else 0)), name="history")
    x = inputs
    if cycle:
        x, cycle_past, cycle_future = CyclePattern(cycle, horizon, n_targets, name="cycle")(x)
    if cfg.normalization != "none":
        x, *stats = WindowNormalization(cfg.normalization, scale=cfg.normalization_scale, name="window_normalization")(x)
    if cycle:
        x = keras.layers.Subtract(name="without_cycle")([x, cycle_past])
    highway = None
    if cfg.highway:
        seasonal = season if cfg.highway in ("seasonal", "fitted") else None  # fitted: training then solves it
        highway = Highway(horizon, n_targets, season=seasonal, trainable=not cfg.freeze_highway, name="highway")(x)
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
            unroll=unroll,
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
        # A seasonal highway starts as the seasonal naive forecast (a fitted one: as the least-squares linear
        # forecast, set by training); a zero head keeps the whole model there at first.
        init = "zeros" if cfg.highway in ("seasonal", "fitted") else "glorot_uniform"
        x = keras.layers.Dense(horizon * out_cols * n_quantiles, kernel_initializer=init, name="head")(x)
    if cfg.channel_independence:
        x = BatchReshape((n_inputs, horizon), name="unfold_channels")(x)
        outputs = keras.layers.Permute((2, 1), name="forecast")(x)
    elif n_quantiles > 1:
        x = keras.layers.Reshape((horizon, n_targets, n_quantiles), name="quantiles")(x)
        outputs = MonotoneQuantiles(list(cfg.output.quantiles).index(0.5), name="forecast")(x)
    else:
        outputs = keras.layers.Reshape((horizon, n_targets), name="forecast")(x)
    if highway is not None:
        outputs = AddHighway(name="add_highway")([outputs, highway])
    if cycle:
        outputs = AddHighway(name="add_cycle")([outputs, cycle_future])
    if cfg.normalization != "none":
        outputs = AddReference(n_targets, scale=cfg.normalization_scale, name="add_reference")([outputs, *stats])
    model_inputs = [inputs, future] if n_known and not by_segments else inputs
    return keras.Model(model_inputs, outputs, name=name or f"rnnforecast_{cfg.type}")


def _ensemble(cfg: ModelConfig, shape: tuple, unroll: bool, cycle: int) -> keras.Model:
    """The members' mean (MemberMean) as the forecast; training fits each member on its own (EnsembleLoss)."""
    one = cfg.model_copy(update={"ensemble": 1})
    members = [build_model(one, *shape, name=f"member_{i + 1}", unroll=unroll, cycle=cycle) for i in range(cfg.ensemble)]
    inputs = [keras.Input(shape=tensor.shape[1:], name=tensor.name.split(":")[0]) for tensor in members[0].inputs]
    args = inputs if len(inputs) > 1 else inputs[0]
    outputs = MemberMean(name="ensemble_mean")([member(args) for member in members])
    return keras.Model(args, outputs, name=f"rnnforecast_{cfg.type}_ensemble")


def leaves_cudnn(cfg: ModelConfig) -> list[str]:
    """The options that make this model skip the fused cuDNN kernel on a GPU, for a warning.

    The other conditions Keras checks (sigmoid recurrent activation, a bias, GRU's
    reset_after, no unroll, no mask) are not config options and always hold on a GPU
    (training.unroll_on_cpu unrolls on a CPU only).
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
