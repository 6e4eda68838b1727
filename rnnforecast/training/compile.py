"""The model built and compiled as the config says: optimizer, loss, precision, XLA, seeds."""

from __future__ import annotations

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
    set_seeds(config)
    keras.config.set_dtype_policy(precision_policy(config))  # process-wide: set on every build
    model = models.build_model(
        config.model,
        config.window.input_length,
        n_inputs,
        config.window.horizon,
        len(config.data.targets),
        n_known=data.n_known(config.data),
        season=season,
    )
    model.compile(optimizer=optimizer_for(config), loss=loss_for(config),
                  jit_compile=True if xla_on_cpu(config, train_windows) else "auto",
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


def set_seeds(config: Config) -> None:
    """Seed Python, NumPy and the backend from training.seed, so a run can be repeated."""
    keras = environment.import_keras()
    keras.utils.set_random_seed(config.training.seed)
    _make_deterministic(config)


def _make_deterministic(config: Config) -> None:
    """Same seed, same CPU, same numbers: TensorFlow needs op determinism switched on for that.

    An XLA-compiled model is deterministic on the CPU without it, and Keras refuses XLA
    while it is on, so it is switched off for those (it is a process-wide setting).
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if xla_on_cpu(config):
            from tensorflow.python.framework import config as tf_config  # there is no public switch-off

            tf_config.disable_op_determinism()
        else:
            tf.config.experimental.enable_op_determinism()


def precision_policy(config: Config) -> str:
    """The Keras dtype policy: `auto` is mixed float16 on a GPU with tensor cores, float32 elsewhere."""
    if config.training.precision != "auto":
        return config.training.precision
    return "mixed_float16" if environment.mixed_precision_gpu() else "float32"


# XLA pays for the GRU from this many recurrent steps on, and once a training runs this many batches
# (its compile costs seconds; benchmarks/PERFORMANCE.md, section 12).
XLA_MIN_STEPS = 24
XLA_MIN_BATCHES = 500


def xla_on_cpu(config: Config, train_windows: int | None = None) -> bool:
    """Whether to XLA-compile the training step; measured per cell type (benchmarks/PERFORMANCE.md).

    On a CPU with TensorFlow, XLA fuses the GRU's per-step gate arithmetic and trains it
    faster over a long recurrence (24 steps and more), but slows the LSTM and leaves the
    SimpleRNN as it was; over a short one (a few segments, a short look-back) it trains
    no faster and its compile costs seconds on every build. On a GPU Keras's own choice
    stands (the cuDNN kernels cannot be XLA-compiled); JAX always compiles. Not under a
    strategy over several devices (build inside its scope): XLA refuses to reach a
    replica's weights on another device. With `train_windows` (per epoch), a training of
    fewer than XLA_MIN_BATCHES batches in all is not compiled either.
    """
    import keras

    if keras.backend.backend() != "tensorflow" or config.model.type != "gru" or replica_count() > 1:
        return False
    steps = config.window.input_length // (config.model.segment_length or 1)
    if train_windows is not None:
        training = config.training
        per_epoch = training.steps_per_epoch or -(-train_windows // training.batch_size)
        if per_epoch * training.epochs < XLA_MIN_BATCHES:
            return False
    return steps >= XLA_MIN_STEPS and not environment.devices("tensorflow")[0].startswith("GPU")


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
