"""Devices: one or several replicas, and what the run says about the device it uses."""

from __future__ import annotations

import contextlib
import sys

from rnnforecast import environment
from rnnforecast.config import Config


@contextlib.contextmanager
def replicated(config: Config, devices: list[str] | None = None):
    """Build, load and fit under the backend's own data-parallel distribution when there are several devices.

    By default the devices are every GPU the backend sees, when there are two or more
    (environment.parallel_devices); one device means no distribution. Yields the number
    of replicas (1 without a distribution).
    """
    keras = environment.import_keras()
    backend = keras.backend.backend()
    if devices is None:
        devices = environment.parallel_devices(environment.devices(backend))
    distribution = environment.data_parallel(backend, devices)
    if distribution is None:
        yield 1
        return
    replicas = len(devices)
    batch = config.training.batch_size
    kind = "tf.distribute.MirroredStrategy" if backend == "tensorflow" else "keras.distribution.DataParallel"
    print(
        f"Training on {replicas} devices ({', '.join(d.split()[0] for d in devices)}) with {kind}: "
        f"each batch of {batch} windows is split into about {-(-batch // replicas)} per device.",
        file=sys.stderr,
    )
    with distribution.scope():
        yield replicas


def replica_count() -> int:
    """How many devices the tf.distribute strategy in scope spans: 1 outside one, and on other backends."""
    if sys.modules.get("keras") is None or sys.modules["keras"].backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync


def announce_device(config: Config) -> str:
    """The device training runs on; on a GPU, one line naming the options that leave the fused cuDNN kernel."""
    keras = environment.import_keras()
    from rnnforecast import models

    device = environment.training_device(environment.devices(keras.backend.backend()))
    reasons = models.leaves_cudnn(config.model)
    if device.startswith("GPU") and reasons:
        print(
            f"warning: {'; '.join(reasons)}: the recurrent layers run Keras's step-by-step loop on the GPU "
            "instead of cuDNN's fused kernel, which makes training and prediction slower.",
            file=sys.stderr,
        )
    return device
