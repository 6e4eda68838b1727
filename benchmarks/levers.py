"""Speed levers: two measured and not adopted (benchmarks/PERFORMANCE.md, section 18), unrolling (section 20), the
one-product LSTM step (section 25), the GRU's hand-written gradient (section 27).

    python benchmarks/levers.py pipeline [--cell default|lstm|gru|simple_rnn] [--batch 256]
        the shipped PyDataset against batches gathered inside tf.data from a constant array
    python benchmarks/levers.py bfloat16 [--cell lstm|gru|simple_rnn]
        float32 against mixed_bfloat16, the 2x64 stack over 96 steps, batches of 256
    python benchmarks/levers.py unroll [--cell default|default-points|lstm|gru|simple_rnn] [--input-length 96] [--batch 256]
        the recurrence as a graph loop against the same model unrolled (section 20); also prediction
    python benchmarks/levers.py hoist [--cell lstm|gru]
        Keras's layers against the same stack with each layer's input projection computed for every step at once,
        outside the recurrence (one large product instead of 96 small ones); the 2x64 stack over 96 steps
    python benchmarks/levers.py chunk [--cell default|lstm|gru|simple_rnn] [--windows 20000]
        prediction (`forecasting.predict_scaled`) in chunks of 256 to 4,096 windows per compiled call
    python benchmarks/levers.py gradient
        Keras's GRU against the factory's, whose training takes a hand-written gradient (section 27), plain and
        XLA-compiled; then the XLA-compiled model's forecasts through `predict_scaled`, which runs them plain on a CPU
    python benchmarks/levers.py product
        Keras's LSTM against the factory's, whose forecasts take one product of [x_t, h] per step (section 25);
        the 2x64 stack over 96 steps, prediction in calls of 1,024 windows
    python benchmarks/levers.py gates
        the LSTM's training: Keras's layer, the same recurrence as a bare TensorFlow loop, and that loop with the
        gates' element-wise arithmetic cut to one tanh (not a model: the most that fusing the gates could give)

Windows/s per epoch (the first a warm-up), then the median; one thread, epochs interleaved.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import throughput


def pipeline(cell: str, batch: int) -> None:
    import tensorflow as tf

    from rnnforecast import training

    shape = argparse.Namespace(input_length=96, horizon=24, units=64, layers=2, epochs=1, batch_size=batch,
                               train_fraction=0.9)
    folder = Path(tempfile.mkdtemp())
    cfg = throughput.make_config(throughput.write_series(folder, int(10_000 / 0.9) + 240), cell, shape, folder / "runs")
    prepared = training.prepare_data(cfg)
    prepared.starts["train"] = prepared.starts["train"][:10_000]
    prepared.starts["val"] = prepared.starts["val"][:256]
    n = len(prepared.starts["train"])
    shipped = training.build(cfg, 1, prepared.prep["season_length"], train_windows=n)
    gathered = training.build(cfg, 1, prepared.prep["season_length"], train_windows=n)
    values = tf.constant(prepared.values.astype("float32"))
    L, H = shape.input_length, shape.horizon

    def dataset(epoch: int):
        order = np.random.default_rng([0, epoch]).permutation(prepared.starts["train"]).astype("int64")

        def windows(idx):
            x = tf.gather(values, idx[:, None] + tf.range(L, dtype=tf.int64))
            y = tf.gather(values[:, :1], idx[:, None] + L + tf.range(H, dtype=tf.int64))
            return x, y

        return tf.data.Dataset.from_tensor_slices(order).batch(batch).map(windows).prefetch(2)

    timers = {"PyDataset (shipped)": throughput.epoch_timer(), "tf.data gather": throughput.epoch_timer()}
    for epoch in range(6):
        training.fit(shipped, prepared, cfg, verbose=0, extra_callbacks=[timers["PyDataset (shipped)"]])
        gathered.fit(dataset(epoch), epochs=1, verbose=0, callbacks=[timers["tf.data gather"]])
    for name, timer in timers.items():
        rates = [n / s for s in timer.seconds]
        print(f"{cell} batch {batch} {name:<20} {' '.join(f'{r:6.0f}' for r in rates)}  median {statistics.median(rates[1:]):6.0f}")


def unroll(cell: str, batch: int, input_length: int = 96) -> None:
    """The recurrence as a graph loop against the same model with its recurrent layers unrolled."""
    from rnnforecast import forecasting, training
    from rnnforecast.training import compile as compile_module

    shape = argparse.Namespace(input_length=input_length, horizon=24, units=64, layers=2, epochs=1, batch_size=batch,
                               train_fraction=0.9)
    folder = Path(tempfile.mkdtemp())
    series = throughput.write_series(folder, int(10_000 / 0.9) + 240)
    cfg = throughput.make_config(series, cell.removesuffix("-points"), shape, folder / "runs")
    if cell == "default-points":  # the default model over a look-back too short for segments (under 96)
        cfg.model.segment_length = None
    prepared = training.prepare_data(cfg)
    prepared.starts["train"] = prepared.starts["train"][:10_000]
    prepared.starts["val"] = prepared.starts["val"][:256]
    n, season = len(prepared.starts["train"]), prepared.prep["season_length"]
    chooser = compile_module.unroll_on_cpu
    compile_module.unroll_on_cpu = lambda *args: False
    loop = training.build(cfg, 1, season, train_windows=n)
    compile_module.unroll_on_cpu = lambda *args: True
    unrolled = training.build(cfg, 1, season, train_windows=n)
    compile_module.unroll_on_cpu = chooser
    models = {"while loop": loop, "unrolled": unrolled}
    timers = {name: throughput.epoch_timer() for name in models}
    predict = {name: [] for name in models}
    for _ in range(6):
        for name, model in models.items():
            training.fit(model, prepared, cfg, verbose=0, extra_callbacks=[timers[name]])
            start = time.perf_counter()
            forecasting.predict_scaled(model, prepared.values, prepared.starts["train"], shape.input_length)
            predict[name].append(n / (time.perf_counter() - start))
    for name, timer in timers.items():
        rates = [n / s for s in timer.seconds]
        print(f"{cell} L={input_length} batch {batch} {name:<20} train {' '.join(f'{r:6.0f}' for r in rates)}  median "
              f"{statistics.median(rates[1:]):6.0f}; predict median {statistics.median(predict[name][1:]):6.0f}")


def _interleaved(models: dict, x, y, rounds: int, chunk: int = 4096) -> tuple[dict, dict]:
    """Windows/s of each model's training epoch (batches of 256) and prediction (4,096 windows in calls of
    `chunk`), in turns."""
    train, predict = {k: [] for k in models}, {k: [] for k in models}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=256, epochs=1, verbose=0)
            train[name].append(len(x) / (time.perf_counter() - start))
            start = time.perf_counter()
            for first in range(0, 4096, chunk):
                model.predict_on_batch(x[first : first + chunk])
            predict[name].append(4096 / (time.perf_counter() - start))
    return train, predict


def _stack(layer):
    """The 2x64 stack over 96 steps with a 24-step head, `layer` its recurrent layer, compiled as the benchmark's."""
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((96, 1)), layer(64, return_sequences=True), layer(64), keras.layers.Dense(24)])
    model.compile(optimizer="adam", loss="mse", steps_per_execution=16)
    return model


def product(rounds: int = 6) -> None:
    """Keras's LSTM against the factory's, whose forecasts take one product of [x_t, h] per step (section 25)."""
    import keras

    from rnnforecast.models.layers import LSTM

    rng = np.random.default_rng(0)
    x = rng.standard_normal((10_240, 96, 1)).astype("float32")
    y = rng.standard_normal((10_240, 24)).astype("float32")

    models = {"keras's step": _stack(keras.layers.LSTM), "one product (shipped)": _stack(LSTM)}
    models["one product (shipped)"].set_weights(models["keras's step"].get_weights())
    first, second = models.values()
    gap = np.abs(first.predict_on_batch(x[:1024]) - second.predict_on_batch(x[:1024]))
    print(f"largest difference between the two forecasts: {gap.max():.2e}")
    train, predict = _interleaved(models, x, y, rounds, chunk=1024)
    for name in models:
        print(f"lstm {name:<22} train median {statistics.median(train[name][1:]):6.0f}; predict "
              f"{' '.join(f'{r:6.0f}' for r in predict[name])}  median {statistics.median(predict[name][1:]):6.0f}")


def gradient(rounds: int = 6) -> None:
    """Keras's GRU against the factory's, whose training takes a hand-written gradient (section 27), plain and with
    XLA; then forecasts of the XLA-compiled model through its own compiled call and through `predict_scaled`."""
    import keras

    from rnnforecast import forecasting
    from rnnforecast.models.layers import GRU

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4_096, 96, 1)).astype("float32")
    y = rng.standard_normal((4_096, 24)).astype("float32")

    def build(layer, xla: bool):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((96, 1)), layer(64, return_sequences=True), layer(64),
                                  keras.layers.Dense(24)])
        model.compile(optimizer="adam", loss="mse", steps_per_execution=16, jit_compile=xla)
        return model

    models = {f"{name}, {'xla' if xla else 'plain'}": build(layer, xla)
              for name, layer in (("keras's gradient", keras.layers.GRU), ("hand-written", GRU)) for xla in (False, True)}
    train, predict = _interleaved(models, x, y, rounds, chunk=1024)
    for name in models:
        print(f"gru {name:<24} train {' '.join(f'{r:6.0f}' for r in train[name])}  median "
              f"{statistics.median(train[name][1:]):6.0f}; predict_on_batch median {statistics.median(predict[name][1:]):6.0f}")
    model = models["hand-written, xla"]
    values, starts = x[:, 0, :], np.arange(4_096 - 96)  # one series of 4,096 steps: its 4,000 windows
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        forecasting.predict_scaled(model, values, starts, 96)
        rates.append(len(starts) / (time.perf_counter() - start))
    print(f"gru hand-written, xla: forecasts through predict_scaled (a plain graph on a CPU) {' '.join(f'{r:6.0f}' for r in rates)}"
          f"  median {statistics.median(rates[1:]):6.0f}")


def bfloat16(cell: str) -> None:
    import keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((10_240, 96, 1)).astype("float32")
    y = rng.standard_normal((10_240, 24)).astype("float32")
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simple_rnn": keras.layers.SimpleRNN}[cell]

    def build(policy: str):
        keras.mixed_precision.set_global_policy(policy)
        model = keras.Sequential([keras.Input((96, 1)), layer(64, return_sequences=True), layer(64),
                                  keras.layers.Dense(24, dtype="float32")])
        model.compile(optimizer="adam", loss="mse")
        keras.mixed_precision.set_global_policy("float32")
        return model

    models = {"float32": build("float32"), "mixed_bfloat16": build("mixed_bfloat16")}
    train, predict = _interleaved(models, x, y, rounds=4)
    for name in models:
        print(f"{cell} {name:<15} train {statistics.median(train[name][1:]):6.0f}  predict {statistics.median(predict[name][1:]):6.0f}")


def hoist(cell: str) -> None:
    """The input projection x W hoisted out of the loop: the recurrence keeps only h U and the gates."""
    import keras
    from keras import ops

    class Hoisted(keras.layers.Layer):  # a cell whose inputs are already x W + b, for keras.layers.RNN
        def __init__(self, units, kind, **kwargs):
            super().__init__(**kwargs)
            self.units, self.kind = units, kind
            self.state_size = [units, units] if kind == "lstm" else [units]
            self.output_size = units

        def build(self, input_shape):
            gates = 4 if self.kind == "lstm" else 3
            self.recurrent_kernel = self.add_weight(shape=(self.units, gates * self.units), initializer="orthogonal")
            if self.kind == "gru":  # reset_after: the recurrent bias sits inside the reset gate's product
                self.recurrent_bias = self.add_weight(shape=(3 * self.units,), initializer="zeros")

        def call(self, inputs, states):
            h = states[0]
            inner = ops.matmul(h, self.recurrent_kernel)
            if self.kind == "lstm":
                i, f, g, o = ops.split(inputs + inner, 4, axis=-1)
                c = ops.sigmoid(f) * states[1] + ops.sigmoid(i) * ops.tanh(g)
                h = ops.sigmoid(o) * ops.tanh(c)
                return h, [h, c]
            inner = inner + self.recurrent_bias
            xz, xr, xh = ops.split(inputs, 3, axis=-1)
            hz, hr, hh = ops.split(inner, 3, axis=-1)
            z, r = ops.sigmoid(xz + hz), ops.sigmoid(xr + hr)
            h = z * h + (1 - z) * ops.tanh(xh + r * hh)
            return h, [h]

    rng = np.random.default_rng(0)
    x = rng.standard_normal((10_240, 96, 1)).astype("float32")
    y = rng.standard_normal((10_240, 24)).astype("float32")
    gates = 4 if cell == "lstm" else 3
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    keras_stack = keras.Sequential([keras.Input((96, 1)), layer(64, return_sequences=True), layer(64),
                                    keras.layers.Dense(24)])
    hoisted = keras.Sequential([keras.Input((96, 1)),
                                keras.layers.Dense(gates * 64), keras.layers.RNN(Hoisted(64, cell), return_sequences=True),
                                keras.layers.Dense(gates * 64), keras.layers.RNN(Hoisted(64, cell)),
                                keras.layers.Dense(24)])
    models = {"keras layers": keras_stack, "projection hoisted": hoisted}
    for model in models.values():
        model.compile(optimizer="adam", loss="mse", steps_per_execution=16)
    train, predict = _interleaved(models, x, y, rounds=6)
    for name in models:
        print(f"{cell} {name:<20} train {' '.join(f'{r:6.0f}' for r in train[name])}  median "
              f"{statistics.median(train[name][1:]):6.0f}; predict median {statistics.median(predict[name][1:]):6.0f}")


def chunk(cell: str, windows: int) -> None:
    """The windows per predict call: a chunk's per-step tensors should stay in the core's cache."""
    from rnnforecast import forecasting, training
    from rnnforecast.forecasting import inference

    shape = argparse.Namespace(input_length=96, horizon=24, units=64, layers=2, epochs=1, batch_size=256,
                               train_fraction=0.9)
    folder = Path(tempfile.mkdtemp())
    cfg = throughput.make_config(throughput.write_series(folder, int(windows / 0.9) + 240), cell, shape, folder / "runs")
    prepared = training.prepare_data(cfg)
    starts = prepared.starts["train"][:windows]
    model = training.build(cfg, 1, prepared.prep["season_length"], train_windows=len(starts))
    shipped = inference.PREDICT_CHUNK
    sizes = [256, 512, 1024, 2048, 4096]
    rates = {size: [] for size in sizes}
    for _ in range(6):
        for size in sizes:
            inference.PREDICT_CHUNK = size
            start = time.perf_counter()
            forecasting.predict_scaled(model, prepared.values, starts, shape.input_length)
            rates[size].append(len(starts) / (time.perf_counter() - start))
    inference.PREDICT_CHUNK = shipped
    for size, found in rates.items():
        print(f"{cell} predict, chunks of {size:>4}: {' '.join(f'{r:6.0f}' for r in found)}  median "
              f"{statistics.median(found[1:]):6.0f} windows/s")


def gates(rounds: int = 7) -> None:
    """The LSTM's training time that is not its matrix products (section 31): Keras's layer, a bare loop with the same
    step, and the bare loop with the step's element-wise work cut to one tanh (an upper bound, not a model)."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4096, 96, 1)).astype("float32")
    y = rng.standard_normal((4096, 24)).astype("float32")

    def bare(kind):
        class Bare(keras.layers.LSTM):
            def inner_loop(self, sequences, initial_state, mask, training=False):
                cell, steps = self.cell, sequences.shape[1]
                kernel, recurrent, bias = cell.kernel, cell.recurrent_kernel, cell.bias
                inputs = tf.TensorArray(sequences.dtype, size=steps).unstack(tf.transpose(sequences, [1, 0, 2]))
                outputs = tf.TensorArray(sequences.dtype, size=steps if self.return_sequences else 0)

                def body(t, h, c, outputs):
                    z = tf.matmul(inputs.read(t), kernel) + tf.matmul(h, recurrent) + bias
                    if kind == "gates":
                        i, f, g, o = tf.split(z, 4, axis=-1)
                        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
                        h = tf.sigmoid(o) * tf.tanh(c)
                    else:  # the products and the loop only
                        h = tf.tanh(z[:, : h.shape[-1]])
                    return t + 1, h, c, outputs.write(t, h) if self.return_sequences else outputs

                _, h, c, outputs = tf.while_loop(lambda t, *_: t < steps, body,
                                                 (tf.constant(0), initial_state[0], initial_state[1], outputs))
                sequence = tf.transpose(outputs.stack(), [1, 0, 2]) if self.return_sequences else h[:, None]
                return h, sequence, [h, c]

        return Bare

    models = {"keras's layer": _stack(keras.layers.LSTM), "bare loop, same step": _stack(bare("gates")),
              "bare loop, one tanh (bound)": _stack(bare("bound"))}
    train, _ = _interleaved(models, x, y, rounds)
    for name in models:
        print(f"lstm {name:<28} train {' '.join(f'{r:5.0f}' for r in train[name])}  median "
              f"{statistics.median(train[name][1:]):5.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lever", choices=["pipeline", "bfloat16", "unroll", "hoist", "chunk", "product", "gradient", "gates"])
    parser.add_argument("--cell", default=None)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--input-length", type=int, default=96, help="unroll: the look-back (steps)")
    parser.add_argument("--windows", type=int, default=20_000, help="chunk: windows predicted per pass")
    args = parser.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if args.lever == "pipeline":
        pipeline(args.cell or "default", args.batch)
    elif args.lever == "hoist":
        hoist(args.cell or "lstm")
    elif args.lever == "chunk":
        chunk(args.cell or "lstm", args.windows)
    elif args.lever == "product":
        product()
    elif args.lever == "gradient":
        gradient()
    elif args.lever == "gates":
        gates()
    elif args.lever == "unroll":
        unroll(args.cell or "default", args.batch, args.input_length)
    else:
        bfloat16(args.cell or "lstm")


if __name__ == "__main__":
    main()
