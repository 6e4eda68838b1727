"""Where the training and prediction time goes: one lever at a time, against the path as it ships.

    python benchmarks/variants.py train --cell gru     # pipeline, XLA, steps_per_execution, threads
    python benchmarks/variants.py predict --cell lstm  # model.predict vs one compiled call per chunk, XLA, unroll, PyTorch

Training variants run `training.fit` (or model.fit on the same windows materialised as
arrays, for the pipeline's cost) one epoch at a time in turns, so that every variant
sees the same load from whatever else the machine runs; the first epoch of each is a
warm-up. Prints windows/s per epoch and the median of the timed ones. Shapes as in
throughput.py (2 layers of 64, input 96, horizon 24, batch 256); fewer windows.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from throughput import epoch_timer, make_config, write_series


def _set_threads(n: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(n)


def unrolled_copy(model):
    """The same layers with `unroll=True` (fresh weights): a static graph of input_length steps, no loop."""
    import keras

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN):
            config["unroll"] = True
        return layer.__class__.from_config(config)

    return keras.models.clone_model(model, clone_function=clone)


def train_variants(args) -> None:
    from tensorflow.python.framework import config as tf_config

    from rnnforecast import data, training

    tmp = Path(tempfile.mkdtemp())
    args.train_fraction, args.epochs = 0.9, 1
    span = args.input_length + args.horizon
    series = write_series(tmp, int((args.windows + span) / 0.9) + span)
    cfg = make_config(series, args.cell, args, tmp / "runs")
    prepared = training.prepare_data(cfg)
    prepared.starts["train"] = prepared.starts["train"][: args.windows]
    prepared.starts["val"] = prepared.starts["val"][: args.batch_size]
    n = len(prepared.starts["train"])

    def compiled(unroll: bool = False, **kwargs):
        model = training.build(cfg, 1)
        if unroll:  # the steps as one straight graph (PERFORMANCE.md, section 24)
            model = unrolled_copy(model)
        if kwargs:
            if kwargs.get("jit_compile"):
                tf_config.disable_op_determinism()  # Keras refuses XLA while it is on
            else:
                tf_config.enable_op_determinism()
            model.compile(optimizer=training.optimizer_for(cfg), loss=training.loss_for(cfg), **kwargs)
        return model

    x, y = data.gather(prepared.values, prepared.starts["train"], args.input_length, args.horizon, 1)
    variants = {
        "as shipped": (compiled(), "fit"),
        "arrays (no pipeline)": (compiled(), "arrays"),
        "xla off": (compiled(jit_compile=False), "fit"),
        "xla on": (compiled(jit_compile=True), "fit"),
        "xla unrolled": (compiled(unroll=True, jit_compile=True), "fit"),
        "steps_per_execution=16": (compiled(steps_per_execution=16, jit_compile=training.xla_on_cpu(cfg)), "fit"),
    }
    if args.only:
        variants = {name: v for name, v in variants.items() if name in args.only.split(",")}
    timers = {name: epoch_timer() for name in variants}
    for _ in range(args.epochs_timed + 1):
        for name, (model, how) in variants.items():
            if how == "arrays":
                model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, callbacks=[timers[name]])
                continue
            training.fit(model, prepared, cfg, verbose=0, extra_callbacks=[timers[name]])
    for name, timer in timers.items():
        rates = [n / s for s in timer.seconds]
        print(f"{args.cell:<10} {name:<24} {' '.join(f'{r:6.0f}' for r in rates)}   median {statistics.median(rates[1:]):6.0f}")


def predict_variants(args) -> None:
    from rnnforecast import config, forecasting, models

    cfg = config.ModelConfig(type=args.cell, layers=[{"units": args.units}] * args.layers)
    values = np.random.default_rng(0).standard_normal((args.windows + args.input_length, 1)).astype("float32")
    starts = np.arange(args.windows)
    model = models.build_model(cfg, args.input_length, 1, args.horizon, 1)
    model.compile(loss="mse")

    def model_predict(batch_size):
        def call():
            out = []
            for i in range(0, len(starts), 4096):
                chunk = starts[i : i + 4096]
                windows = values[chunk[:, None] + np.arange(args.input_length)]
                out.append(model.predict(windows, batch_size=batch_size, verbose=0))
            return out

        return call

    def on_batch(size):
        def call():
            for i in range(0, len(starts), size):
                chunk = starts[i : i + size]
                model.predict_on_batch(values[chunk[:, None] + np.arange(args.input_length)])

        return call

    def compiled_call(net, jit_compile, size=4096):
        import tensorflow as tf

        function = tf.function(lambda x: net(x, training=False), jit_compile=jit_compile, reduce_retracing=True)

        def call():
            for i in range(0, len(starts), size):
                chunk = starts[i : i + size]
                np.asarray(function(values[chunk[:, None] + np.arange(args.input_length)]))

        return call

    def unrolled():
        copy = unrolled_copy(model)
        copy.set_weights(model.get_weights())
        return copy

    def encoder_calls():
        """The LSTM stack alone, as Keras runs it and as a prototype with the input projection hoisted.

        The prototype (TensorFlow ops, LSTM only, not shipped) multiplies every step's inputs by
        the input kernel in one product per layer, then loops over the recurrent product only.
        Returns Keras's, the prototype's, the prototype's under XLA, and the largest difference
        of Keras's and the prototype's outputs on the first chunk.
        """
        import keras
        import tensorflow as tf

        recurrent = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
        encoder = keras.Model(model.inputs, recurrent[-1].output)
        cells = [(layer.cell.kernel.value, layer.cell.recurrent_kernel.value, layer.cell.bias.value) for layer in recurrent]

        def hoisted(x):
            sequence = x
            for n, (kernel, recurrent_kernel, bias) in enumerate(cells):
                steps = tf.transpose(tf.einsum("btf,fg->btg", sequence, kernel) + bias, [1, 0, 2])
                units = recurrent_kernel.shape[0]
                h = c = tf.zeros([tf.shape(x)[0], units])
                outputs = tf.TensorArray(tf.float32, size=args.input_length)
                for t in tf.range(args.input_length):
                    z = steps[t] + tf.matmul(h, recurrent_kernel)
                    i, f, g, o = tf.split(z, 4, axis=1)
                    c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
                    h = tf.sigmoid(o) * tf.tanh(c)
                    if n < len(cells) - 1:
                        outputs = outputs.write(t, h)
                if n < len(cells) - 1:
                    sequence = tf.transpose(outputs.stack(), [1, 0, 2])
            return h

        plain = tf.function(lambda x: encoder(x, training=False), reduce_retracing=True)
        hoisted_xla = tf.function(hoisted, reduce_retracing=True, jit_compile=True)
        hoisted = tf.function(hoisted, reduce_retracing=True)
        first = values[starts[:4096, None] + np.arange(args.input_length)]
        gap = float(np.abs(np.asarray(hoisted(first)) - np.asarray(plain(first))).max())

        def over_chunks(function):
            def call():
                for i in range(0, len(starts), 4096):
                    chunk = starts[i : i + 4096]
                    np.asarray(function(values[chunk[:, None] + np.arange(args.input_length)]))

            return call

        return over_chunks(plain), over_chunks(hoisted), over_chunks(hoisted_xla), gap

    variants = {
        "model.predict, batch 1024 (before)": model_predict(1024),
        "predict_on_batch 1024": on_batch(1024),
        "predict_on_batch 4096": on_batch(4096),
        "predict_on_batch 8192": on_batch(8192),
        "predict_on_batch all": on_batch(len(starts)),
        "tf.function 4096": compiled_call(model, False),
        "tf.function xla 4096": compiled_call(model, True),
        "unrolled tf.function 4096": compiled_call(unrolled(), False),
        "unrolled tf.function xla 4096": compiled_call(unrolled(), True),
        "predict_scaled (as shipped)": lambda: forecasting.predict_scaled(model, values, starts, args.input_length),
    }
    if args.cell == "lstm" and (not args.only or "encoder" in args.only):
        plain_encoder, hoisted_encoder, hoisted_xla, gap = encoder_calls()
        print(f"hoisted prototype vs Keras LSTM stack: largest difference {gap:.2e}")
        variants["keras encoder 4096"] = plain_encoder
        variants["hoisted encoder 4096 (prototype)"] = hoisted_encoder
        variants["hoisted encoder xla 4096 (prototype)"] = hoisted_xla
    if importlib.util.find_spec("torch") is not None:
        from throughput import Torch

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        reference = Torch(args.cell, values, starts, args)
        variants["torch reference (batch 1024)"] = reference.predict
    if args.only:
        variants = {name: v for name, v in variants.items() if name in args.only.split(",")}
    rates = {name: [] for name in variants}
    for _ in range(args.epochs_timed + 1):
        for name, call in variants.items():
            start = time.perf_counter()
            call()
            rates[name].append(len(starts) / (time.perf_counter() - start))
    for name, found in rates.items():
        print(f"{args.cell:<10} {name:<36} {' '.join(f'{r:6.0f}' for r in found)}   median {statistics.median(found[1:]):6.0f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["train", "predict"])
    parser.add_argument("--cell", default="lstm", choices=["lstm", "gru", "simple_rnn"])
    parser.add_argument("--windows", type=int, default=4096)
    parser.add_argument("--epochs-timed", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow intra/inter-op threads (default: its own)")
    parser.add_argument("--only", default="", help="comma-separated variant names to run")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--input-length", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    args = parser.parse_args(argv)
    from rnnforecast import environment

    environment.import_keras()
    if args.threads:
        _set_threads(args.threads)
    print(f"{args.what}: {args.windows} windows, threads {args.threads or 'default'}")
    (train_variants if args.what == "train" else predict_variants)(args)


if __name__ == "__main__":
    main()
