"""Training: from a config to a run folder.

    inputs.prepare_data (every series read, split, preprocessed; window starts per part;
                         lookback.choose_input_length when the look-back is auto or a list)
      -> compile.build (the model factory's model, compiled as the config says)
      -> fitting.fit (linear_start.start_highway, batches.window_batches, callbacks.make_callbacks,
                      distribution.replicated)
      -> fitting.train (the honest fit, its run folder), then fitting.refit (the final model on every row)

Its public names are importable from `rnnforecast.training` itself.
"""

from rnnforecast.training.batches import window_batches  # noqa: F401
from rnnforecast.training.callbacks import NaNLoss, interrupt_guard, interrupts_between_batches, make_callbacks  # noqa: F401
from rnnforecast.training.compile import (  # noqa: F401
    UNROLL_MAX_STEPS,
    XLA_MIN_BATCHES,
    XLA_MIN_STEPS,
    build,
    is_unrolled,
    loss_for,
    optimizer_for,
    precision_policy,
    set_seeds,
    unroll_on_cpu,
    xla_on_cpu,
    xla_probe,
)
from rnnforecast.training.distribution import announce_device, replica_count, replicated  # noqa: F401
from rnnforecast.training.fitting import fit, refit, train  # noqa: F401
from rnnforecast.training.inputs import TrainingData, prepare_data, resolve_input_length  # noqa: F401
