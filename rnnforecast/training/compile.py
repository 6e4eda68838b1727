"""The model built and compiled as the config says: optimizer, loss, precision, XLA, seeds."""

from __future__ import annotations

import json

from rnnforecast import data, environment
from rnnforecast.config import Config
from rnnforecast.errors import UserError
from rnnforecast.training.distribution import replica_count


def build(config: Config, n_inputs: int, season: int = 1, train_windows: int | None = None):
    """The seeded, compiled model for this config and this many input columns (`season`: the data's).

    `train_windows`, the windows one epoch will draw, lets a short training skip XLA's compile.
    """
    keras = environment.import_keras()
    from rnnforecast import models

    check_fits_in_memory(config, n_inputs)
    keras.config.set_dtype_policy(precision_policy(config))  # process-wide: set on every build
    xla = xla_on_cpu(config, train_windows, n_inputs, season)  # may time a few batches: before the seeds
    set_seeds(config, xla)
    model = models.build_model(
        config.model,
        config.window.input_length,
        n_inputs,
        config.window.horizon,
        len(config.data.targets),
        n_known=data.n_known(config.data),
        season=season,
        unroll=unroll_on_cpu(config, train_windows),
        cycle=data.cycle_length(config.model.cycle, season),
    )
    model.compile(optimizer=optimizer_for(config), loss=loss_for(config), jit_compile=True if xla else "auto",
                  steps_per_execution=steps_per_execution())
    # Built now, not lazily inside the first training step: a variable created there makes TensorFlow
    # trace that step twice, about half of a small model's whole training time.
    model.optimizer.build(model.trainable_variables)
    return model


STEPS_PER_EXECUTION = 16  # batches per compiled call: benchmarks/PERFORMANCE.md, section 17


def steps_per_execution() -> int:
    """Batches run in one compiled call of the training (and evaluation) step.

    A small model's step is mostly the Python around it (the data adapter, the callbacks,
    the function call): 16 batches per call cut that sixteenfold, with the same batches in the
    same order and the same weights after every batch. Callbacks' batch hooks then run every
    16 batches (a Ctrl-C stops within 16 batches). The torch backend has no such loop, and
    TensorFlow's MirroredStrategy over several devices fails to build it (a placeholder in the loop's
    condition), so both keep one batch per call.
    """
    keras = environment.import_keras()
    return 1 if keras.backend.backend() == "torch" or replica_count() > 1 else STEPS_PER_EXECUTION


def check_fits_in_memory(config: Config, n_inputs: int) -> None:
    """Refuse, before any allocation, a model whose training would not fit in this machine's memory."""
    from rnnforecast import models

    params, need = models.training_memory(
        config.model, config.window.input_length, n_inputs, config.window.horizon, len(config.data.targets),
        config.training.batch_size,
    )
    have = environment.memory_bytes()
    if have and need > 0.8 * have:
        units = ", ".join(str(layer.units) for layer in config.model.layers)
        raise UserError(
            f"the model would have about {params:,} parameters and training it needs about {need / 2**30:.1f} GiB, "
            f"more than this machine's {have / 2**30:.1f} GiB of memory allows (model.layers units {units}, "
            f"window.input_length {config.window.input_length}, training.batch_size {config.training.batch_size}). "
            "Use fewer units or layers, a shorter look-back or smaller batches."
        )


def set_seeds(config: Config, xla: bool = False) -> None:
    """Seed Python, NumPy and the backend from training.seed, so a run can be repeated."""
    keras = environment.import_keras()
    keras.utils.set_random_seed(config.training.seed)
    _make_deterministic(xla)


def _make_deterministic(xla: bool) -> None:
    """Same seed, same CPU, same numbers: TensorFlow needs op determinism switched on for that.

    An XLA-compiled model is deterministic on the CPU without it, and Keras refuses XLA
    while it is on, so it is switched off for those (it is a process-wide setting).
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if xla:
            from tensorflow.python.framework import config as tf_config  # there is no public switch-off

            tf_config.disable_op_determinism()
        else:
            tf.config.experimental.enable_op_determinism()


def precision_policy(config: Config) -> str:
    """The Keras dtype policy: `auto` is mixed float16 on a GPU with tensor cores, float32 elsewhere."""
    if config.training.precision != "auto":
        return config.training.precision
    return "mixed_float16" if environment.mixed_precision_gpu() else "float32"


# XLA is considered from this many recurrent steps on, and once a training runs this many batches
# (its compile costs seconds; benchmarks/PERFORMANCE.md, sections 12 and 18).
XLA_MIN_STEPS = 24
XLA_MIN_BATCHES = 500
PROBE_STEPS, PROBE_CALLS = 4, 3  # the probe: compiled calls of this many batches each way, the first untimed
PROBE_BYTES = 64 * 2**20  # at most this much made-up input for the probe (fewer batches for huge windows)
_PROBED: dict[str, dict] = {}  # one probe per model shape and batch size per process (the final model, tune trials)


def xla_on_cpu(config: Config, train_windows: int | None = None, n_inputs: int = 1, season: int = 1) -> bool:
    """Whether to XLA-compile the training step (`training.xla`; measured: benchmarks/PERFORMANCE.md).

    On a CPU with TensorFlow, XLA fuses a recurrent cell's per-step arithmetic: on one Intel
    Xeon it trained a 96-step GRU, LSTM and SimpleRNN 1.4 to 2.3 times faster in batches of
    32 and 10 to 67% slower in batches of 128 to 256, while on an AMD EPYC it trained the GRU
    faster in batches of 256 too. No fixed rule holds on every CPU, so `auto` times
    2 compiled calls of PROBE_STEPS batches both ways (after one untimed call) on made-up windows
    of the run's shape and keeps the faster
    (`xla_probe` has the timings; metadata.json records them). It only probes where the
    choice can pay: a recurrence of XLA_MIN_STEPS steps or more (segments count as steps) and,
    with `train_windows` (per epoch), a training of XLA_MIN_BATCHES batches or more; over a
    short one the compile's seconds are never earned back; a recurrence built unrolled instead
    (`unroll_on_cpu`: a SimpleRNN up to 192 steps, faster so) is not probed. On a GPU Keras's own choice stands
    (the cuDNN kernels cannot be XLA-compiled); JAX always compiles. Never under a strategy
    over several devices: XLA refuses to reach a replica's weights on another device.
    """
    import keras

    choice = config.training.xla
    if keras.backend.backend() != "tensorflow" or replica_count() > 1 or choice is False:
        return False
    if choice is True:
        return True
    if environment.devices("tensorflow")[0].startswith("GPU"):
        return False
    if recurrent_steps(config) < XLA_MIN_STEPS or not _long_training(config, train_windows):
        return False
    if unroll_on_cpu(config, train_windows):  # unrolled instead (a SimpleRNN up to UNROLL_MAX_STEPS)
        return False
    return _probe(config, n_inputs, season)["xla"]


def recurrent_steps(config: Config) -> int:
    """The longest recurrence the model runs: over the look-back (segments count as steps) or the output segments."""
    seg = config.model.segment_length
    steps = config.window.input_length // (seg or 1)
    if config.model.decoder == "segments":
        steps = max(steps, -(-config.window.horizon // seg))
    return steps


# The longest recurrence built unrolled, per cell (benchmarks/PERFORMANCE.md, section 20): a SimpleRNN's step
# traces cheaply and gains up to 192 steps; an LSTM's or GRU's tracing grows fast, so only below the XLA probe's range.
UNROLL_MAX_STEPS = {"simple_rnn": 192, "lstm": XLA_MIN_STEPS - 1, "gru": XLA_MIN_STEPS - 1}


def unroll_on_cpu(config: Config, train_windows: int | None = None) -> bool:
    """Whether to build the recurrence unrolled: a short one, trained long, on a CPU under TensorFlow.

    TensorFlow runs a recurrent layer as a graph loop, paying a fixed cost per step and per
    batch; unrolled, the steps are one straight graph, traced once at a cost that grows with
    the steps. Measured on one Intel Xeon (batches of 256, benchmarks/PERFORMANCE.md, section
    20): the default model's 8 segments trained 16% faster, one LSTM over 24 points 13% for
    0.4 s more tracing, a 2x64 GRU over 96 points 2% for 22 s more, a 2x64 SimpleRNN over 96
    points 36% for 1.9 s more and over 192 points 43% for 4.9 s more. So a recurrence of at most
    UNROLL_MAX_STEPS[cell] steps is unrolled (and not XLA-compiled), where the training runs
    XLA_MIN_BATCHES batches or more (`train_windows` per epoch; a short one never earns the
    tracing back). Never on a GPU, where an unrolled layer cannot use the fused cuDNN kernel.
    """
    import keras

    if keras.backend.backend() != "tensorflow" or environment.devices("tensorflow")[0].startswith("GPU"):
        return False
    return recurrent_steps(config) <= UNROLL_MAX_STEPS[config.model.type] and _long_training(config, train_windows)


def _long_training(config: Config, train_windows: int | None) -> bool:
    """Whether a training of `train_windows` per epoch (None: unknown, taken as long) runs XLA_MIN_BATCHES batches."""
    if train_windows is None:
        return True
    training = config.training
    per_epoch = training.steps_per_epoch or -(-train_windows // training.batch_size)
    return per_epoch * training.epochs >= XLA_MIN_BATCHES


def is_unrolled(model) -> bool:
    """Whether any recurrent layer of the model (bidirectional, or an ensemble member's) is built unrolled."""
    return any(getattr(getattr(layer, "forward_layer", layer), "unroll", False)
               or (hasattr(layer, "layers") and is_unrolled(layer)) for layer in model.layers)


def xla_probe(config: Config, n_inputs: int) -> dict | None:
    """The probe's timings for this config's model (seconds per batch each way), if it ran in this process."""
    return _PROBED.get(_probe_key(config, n_inputs))


def _probe_key(config: Config, n_inputs: int) -> str:
    return json.dumps([config.model.model_dump(mode="json"), config.window.input_length, config.window.horizon,
                       n_inputs, len(config.data.targets), data.n_known(config.data), config.training.batch_size,
                       config.training.loss, config.training.precision], sort_keys=True, default=str)


def _probe(config: Config, n_inputs: int, season: int) -> dict:
    """Seconds per training batch with and without XLA, on made-up windows of the run's shape; the faster kept.

    Each way is one `fit` of PROBE_CALLS compiled calls of PROBE_STEPS batches; the first call
    (the trace or the compile) and `fit`'s own set-up are left out of the timing.
    """
    key = _probe_key(config, n_inputs)
    if key in _PROBED:
        return _PROBED[key]
    import time

    import numpy as np

    keras = environment.import_keras()
    from rnnforecast import models

    L, H, batch = config.window.input_length, config.window.horizon, config.training.batch_size
    steps = PROBE_STEPS * PROBE_CALLS
    if 4 * steps * batch * L * n_inputs > PROBE_BYTES:
        steps = PROBE_STEPS * 2  # a huge window: one call timed
    cycle = data.cycle_length(config.model.cycle, season)  # its column: made-up positions, as good as real ones
    values = np.random.default_rng(0).standard_normal((steps * batch + L + H, n_inputs + bool(cycle))).astype("float32")
    x, y = data.gather(values, np.arange(steps * batch), L, H, len(config.data.targets), data.n_known(config.data))
    seconds = {}

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []

        def on_train_batch_end(self, step, logs=None):  # once per compiled call
            self.ends.append(time.perf_counter())

    for xla in (False, True):
        _make_deterministic(xla)
        model = models.build_model(config.model, L, n_inputs, H, len(config.data.targets),
                                   n_known=data.n_known(config.data), season=season, cycle=cycle)
        model.compile(optimizer=optimizer_for(config), loss=loss_for(config), jit_compile=xla,
                      steps_per_execution=PROBE_STEPS)
        clock = Clock()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
        seconds["xla" if xla else "plain"] = (clock.ends[-1] - clock.ends[0]) / (steps - PROBE_STEPS)
    _PROBED[key] = {"xla": seconds["xla"] < seconds["plain"], "seconds_per_batch": seconds}
    return _PROBED[key]


def optimizer_for(config: Config):
    """The Keras optimizer of training.optimizer, with its learning rate and clipping."""
    import keras

    opt = config.training.optimizer
    kwargs = {"learning_rate": opt.learning_rate}
    if opt.clipnorm:
        kwargs["clipnorm"] = opt.clipnorm
    if opt.name == "adamw":
        return keras.optimizers.AdamW(weight_decay=opt.weight_decay or 0.004, **kwargs)
    if opt.weight_decay:
        kwargs["weight_decay"] = opt.weight_decay
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    return classes[opt.name](**kwargs)


def loss_for(config: Config):
    """The Keras loss of training.loss, or the pinball loss when the model outputs quantiles (per member of an ensemble)."""
    import keras

    if config.model.ensemble > 1:
        from rnnforecast.models import EnsembleLoss

        return EnsembleLoss(config.training.loss, quantiles=config.model.output.quantiles)
    if config.model.output.quantiles:
        from rnnforecast.models import PinballLoss

        return PinballLoss(config.model.output.quantiles)

    return {"mse": "mse", "mae": "mae", "huber": keras.losses.Huber()}[config.training.loss]
