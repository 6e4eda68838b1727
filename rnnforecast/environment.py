"""The machine a run uses: backend, versions, devices. Imported before Keras to quiet TensorFlow."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from importlib import metadata

from rnnforecast.errors import UserError


def import_keras():
    """Import Keras (and its backend) with TensorFlow's C++ start-up chatter hidden.

    TensorFlow prints oneDNN and CPU-feature notices straight to file descriptor 2
    while it loads, before its own log level applies; users read them as errors.
    Python exceptions from the import still propagate.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    backend = configured_backend()
    if backend not in BACKENDS:
        raise UserError(
            f"the Keras backend is set to {backend!r} ({_backend_source()}), which rnnforecast does not run on. "
            f"Use one of {', '.join(BACKENDS)} (tensorflow is the default), or unset it."
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    hidden = [name for name in _unused_by_keras(backend) if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` raise ImportError, which the importer expects
    try:
        os.dup2(null, 2)
        import keras
    except ImportError as exc:
        if backend == "tensorflow" or (exc.name or backend).split(".")[0] not in (backend, "jaxlib"):
            raise
        raise UserError(
            f"the Keras backend is set to {backend!r} ({_backend_source()}), but {backend} is not installed here "
            f"({exc}). Install it (pip install {backend}), or set the backend to tensorflow."
        ) from None
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]  # a later import works as usual (`rnnforecast plot` imports Matplotlib)
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
    # TensorFlow's Python warnings (a function "retraced" when the look-back probes or a new model build one) are
    # about our code's graphs, not the user's data: errors only, as TF_CPP_MIN_LOG_LEVEL does for its C++ side.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return keras


def _unused_by_keras(backend: str) -> list[str]:
    """Libraries that TensorFlow and Keras import when installed, for parts rnnforecast never uses.

    TensorFlow imports JAX for TFLite only: 140 MB and a second of start-up that training on
    TensorFlow never uses. Keras imports scikit-learn for its estimator wrappers (57 MB and a
    second, where something else installed it) and Matplotlib for its image gallery (25 MB).
    Each import is guarded there; hidden while Keras loads, they cost nothing
    (benchmarks/PERFORMANCE.md, sections 6 and 30).
    """
    return ["sklearn", "matplotlib"] + (["jax"] if backend == "tensorflow" else [])


BACKENDS = ("tensorflow", "jax", "torch")  # Keras's numpy and openvino backends cannot train


def _backend_source() -> str:
    """Where the backend setting came from, for a message."""
    if os.environ.get("KERAS_BACKEND"):
        return "the environment variable KERAS_BACKEND"
    return "keras.json, in KERAS_HOME or ~/.keras"


def configured_backend() -> str:
    """The backend Keras will load: KERAS_BACKEND, else keras.json's, else TensorFlow (Keras's own order)."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    for folder in (home, os.path.join("/tmp", ".keras")):
        try:
            with open(os.path.join(folder, "keras.json")) as file:
                return str(json.load(file).get("backend", "tensorflow"))
        except (OSError, ValueError, AttributeError):
            continue
    return "tensorflow"


def describe() -> dict:
    """Versions, the Keras backend and the devices it sees: printed by `info`, kept in metadata.json."""
    keras = import_keras()
    backend = keras.backend.backend()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "rnnforecast": _version("rnnforecast"),
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": _backend_version(backend),
        "numpy": _version("numpy"),
        "pandas": _version("pandas"),
        "devices": devices(backend),
        "data_parallel": data_parallel_summary(backend, devices(backend)),
    }


def devices(backend: str) -> list[str]:
    """Accelerators first, then the CPU, as the backend names them."""
    if backend == "tensorflow":
        import tensorflow as tf

        found = [f"{d.device_type}:{d.name.split(':', 2)[-1]}" for d in tf.config.list_physical_devices()]
    elif backend == "jax":
        import jax

        found = [f"{d.platform.upper()}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in jax.devices()]
        if not any(d.startswith("CPU") for d in found):
            found.append("CPU:0")
    elif backend == "torch":
        import torch

        found = [f"GPU:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())] + ["CPU:0"]
    else:
        found = ["CPU:0"]
    return sorted(found, key=lambda d: d.startswith("CPU"))


def mixed_precision_gpu() -> bool:
    """Whether the backend sees a GPU with tensor cores (compute capability 7.0 or newer) for float16."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        capabilities = [
            tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0)
            for gpu in tf.config.list_physical_devices("GPU")
        ]
    elif backend == "jax":
        import jax

        capabilities = [
            tuple(int(p) for p in str(getattr(d, "compute_capability", "0.0")).split(".")[:2])
            for d in jax.devices()
            if d.platform == "gpu"
        ]
    elif backend == "torch":
        import torch

        capabilities = [torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())]
    else:
        capabilities = []
    return any(tuple(c) >= (7, 0) for c in capabilities)


def training_device(found: list[str]) -> str:
    """The device Keras places the model on: the first GPU when there is one."""
    gpus = [d for d in found if d.startswith("GPU")]
    return gpus[0] if gpus else "CPU"


def parallel_devices(found: list[str]) -> list[str]:
    """The devices training mirrors the model over: every GPU when there are two or more, else none."""
    gpus = [d for d in found if d.startswith("GPU")]
    return gpus if len(gpus) > 1 else []


def data_parallel(backend: str, chosen: list[str]):
    """The backend's own data-parallel distribution over `chosen` (names like "GPU:0"); None for fewer than two.

    TensorFlow: tf.distribute.MirroredStrategy; JAX: keras.distribution.DataParallel.
    Both keep a copy of the weights on every device, split each batch evenly over them
    (training.batch_size stays the global batch) and combine the gradients. Enter its
    `scope()` before building or loading the model. Other backends: None.
    """
    if len(chosen) < 2 or backend not in ("tensorflow", "jax"):
        return None
    names = [d.split()[0] for d in chosen]
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy([f"/device:{name}" for name in names])
    import keras

    return keras.distribution.DataParallel(devices=[name.lower() for name in names])


def data_parallel_summary(backend: str, found: list[str]) -> str:
    """What `info` and metadata.json say about training on several devices."""
    chosen = parallel_devices(found)
    if not chosen:
        return "none (1 device)"
    gpus = len([d for d in found if d.startswith("GPU")])
    if backend not in ("tensorflow", "jax"):
        return f"none: {gpus} GPUs, but multi-GPU training needs the tensorflow or jax backend"
    kind = "tf.distribute.MirroredStrategy" if backend == "tensorflow" else "keras.distribution.DataParallel"
    return f"{kind}, {len(chosen)} replicas ({', '.join(d.split()[0] for d in chosen)})"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _backend_version(backend: str) -> str:
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    if module is None:
        return "unknown"
    return getattr(sys.modules.get(module) or __import__(module), "__version__", "unknown")


def memory_bytes() -> int | None:
    """This machine's physical memory in bytes (None where the system does not say)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Hand the memory a finished step freed back to the system, so that the next one starts from less.

    pandas keeps text cells in Arrow buffers whose allocator holds on to freed memory (about 220 MB
    after a 1,000,000-row, 7-column file), and glibc's malloc keeps freed heap pages mapped: 420 MB
    after training on that file, which a run's calibration and combination then read the file on top of
    (benchmarks/PERFORMANCE.md, sections 6 and 26).
    """
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # another C library (musl): nothing to hand back this way
            pass
