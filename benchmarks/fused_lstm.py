"""Prediction speed of Keras's LSTM stack against TensorFlow's fused CPU kernel with the same weights.

    python benchmarks/fused_lstm.py [--windows 4096] [--passes 3]

The issue's candidate lever for LSTM prediction: run the recurrence in one fused op
(`tf.raw_ops.BlockLSTMV2`, a C++ loop over the steps) instead of TensorFlow's graph loop. Two
stacked LSTMs of 64 units over 96 steps of 1 feature, one thread, both compiled with
tf.function, passes interleaved. Prints the largest difference between the two (the fused
kernel takes Keras's weights and gate order unchanged) and windows/s of each pass.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras  # noqa: E402

STEPS, FEATURES, UNITS = 96, 1, 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=4096)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    x = np.random.default_rng(0).normal(size=(args.windows, STEPS, FEATURES)).astype("float32")
    inputs = keras.Input((STEPS, FEATURES))
    model = keras.Model(inputs, keras.layers.LSTM(UNITS)(keras.layers.LSTM(UNITS, return_sequences=True)(inputs)))
    weights = []
    for layer in model.layers[1:]:
        kernel, recurrent, bias = (v.numpy() for v in layer.cell.weights)
        weights.append((tf.constant(np.concatenate([kernel, recurrent])), tf.constant(bias)))

    @tf.function
    def fused(x):
        sequence, zeros = tf.transpose(x, [1, 0, 2]), tf.zeros([tf.shape(x)[0], UNITS])
        for w, b in weights:
            peephole = tf.zeros([UNITS])
            sequence = tf.raw_ops.BlockLSTMV2(
                seq_len_max=tf.constant(STEPS, tf.int64), x=sequence, cs_prev=zeros, h_prev=zeros, w=w,
                wci=peephole, wcf=peephole, wco=peephole, b=b, cell_clip=0.0, use_peephole=False,
            )[6]  # h: every step's output, the next layer's input
        return sequence[-1]

    plain = tf.function(lambda x: model(x, training=False))
    print(f"largest difference: {np.abs(plain(x).numpy() - fused(x).numpy()).max():.2g}")
    for _ in range(args.passes):
        for name, function in (("keras", plain), ("fused", fused)):
            started = time.perf_counter()
            function(x)
            print(f"{name}: {args.windows / (time.perf_counter() - started):.0f} windows/s", flush=True)


if __name__ == "__main__":
    main()
