"""TensorFlow loops for the recurrent layers on a CPU, where Keras's generic loop leaves speed behind.

Imported by `models.layers` only when the TensorFlow backend runs on a CPU, so the other
backends never import TensorFlow through it.
"""

from __future__ import annotations

import tensorflow as tf


def forward_loop(step, sequences, states: list, return_sequences: bool):
    """(last output, outputs, states) of `step` over the time axis, as one TensorFlow while loop.

    What Keras's backend.rnn builds, without its input TensorArray and mask handling: 5% of a
    2x64 LSTM's forecast time on a CPU (benchmarks/PERFORMANCE.md, section 25).
    """
    steps = sequences.shape[1]
    by_time = tf.transpose(sequences, [1, 0, 2])
    outputs = tf.TensorArray(sequences.dtype, size=steps if return_sequences else 0)

    def body(t, outputs, *states):
        h, states = step(by_time[t], list(states))
        return (t + 1, outputs.write(t, h) if return_sequences else outputs, *states)

    _, outputs, *states = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), outputs, *states))
    last = states[0]
    sequence = tf.transpose(outputs.stack(), [1, 0, 2]) if return_sequences else last[:, None]
    return last, sequence, states


def gru_sequence(sequences, kernel, recurrent_kernel, bias, initial_state):
    """Every step's output (steps, batch, units) of Keras's GRU (reset_after, tanh, sigmoid), with its gradient.

    TensorFlow's automatic gradient of a loop takes, at each step backwards, the gradients of
    both kernels as small products (batch x 3 units each) and keeps every intermediate of the
    step. This pass computes the input projection of every step as one product before the loop,
    keeps only the gates the gradient needs, runs the backward loop with one product per step
    (the state's gradient) and then takes both kernels' gradients as one large product each,
    over all steps at once, as cuDNN and PyTorch do. Benchmarks/PERFORMANCE.md, section 27.

    Args:
        sequences: (batch, steps, inputs) float tensor.
        kernel, recurrent_kernel, bias: the cell's weights as tensors: (inputs, 3u), (u, 3u), (2, 3u),
            gates in Keras's order z, r, h.
        initial_state: (batch, u).

    Returns:
        (steps, batch, u): the output at every step, time first.
    """
    units = recurrent_kernel.shape[0]

    @tf.custom_gradient
    def run(sequences, kernel, recurrent_kernel, bias, initial_state):
        steps = tf.shape(sequences)[1]
        width = tf.shape(sequences)[2]
        flat = tf.reshape(tf.transpose(sequences, [1, 0, 2]), [-1, width])  # (steps * batch, inputs), time first
        projected = tf.reshape(tf.matmul(flat, kernel) + bias[0], [steps, -1, 3 * units])

        def new_array():
            return tf.TensorArray(sequences.dtype, size=steps)

        def forward(t, h, hs, gates, candidates, recurrent_h):
            inner = tf.matmul(h, recurrent_kernel) + bias[1]
            x = projected[t]
            zr = tf.sigmoid(x[:, : 2 * units] + inner[:, : 2 * units])  # update and reset gates together
            hh = tf.tanh(x[:, 2 * units :] + zr[:, units:] * inner[:, 2 * units :])
            h = hh + zr[:, :units] * (h - hh)
            return (t + 1, h, hs.write(t, h), gates.write(t, zr), candidates.write(t, hh),
                    recurrent_h.write(t, inner[:, 2 * units :]))

        _, _, *arrays = tf.while_loop(
            lambda t, *_: t < steps, forward,
            (tf.constant(0), initial_state, new_array(), new_array(), new_array(), new_array()),
        )
        hs, gates, candidates, recurrent_h = (array.stack() for array in arrays)

        def gradient(d_hs):
            previous = tf.concat([initial_state[None], hs[:-1]], axis=0)
            recurrent_t = tf.transpose(recurrent_kernel)

            def backward(i, dh, d_projected, d_inner):
                t = steps - 1 - i
                dh = dh + d_hs[t]
                zr, hh = gates[t], candidates[t]
                z, r = zr[:, :units], zr[:, units:]
                d_hh = dh * (1 - z) * (1 - hh * hh)  # through tanh, before the candidate's activation
                d_zr = tf.concat([dh * (previous[t] - hh), d_hh * recurrent_h[t]], axis=-1) * zr * (1 - zr)
                d_step = tf.concat([d_zr, d_hh * r], axis=-1)  # the gradient of h U + recurrent bias
                return (i + 1, dh * z + tf.matmul(d_step, recurrent_t),
                        d_projected.write(t, tf.concat([d_zr, d_hh], axis=-1)), d_inner.write(t, d_step))

            _, d_initial, d_projected, d_inner = tf.while_loop(
                lambda i, *_: i < steps, backward,
                (tf.constant(0), tf.zeros_like(initial_state), new_array(), new_array()),
            )
            d_projected = tf.reshape(d_projected.stack(), [-1, 3 * units])
            d_inner = tf.reshape(d_inner.stack(), [-1, 3 * units])
            d_kernel = tf.matmul(flat, d_projected, transpose_a=True)
            d_recurrent = tf.matmul(tf.reshape(previous, [-1, units]), d_inner, transpose_a=True)
            d_bias = tf.stack([tf.reduce_sum(d_projected, 0), tf.reduce_sum(d_inner, 0)])
            d_sequences = tf.reshape(tf.matmul(d_projected, kernel, transpose_b=True), [steps, -1, width])
            return tf.transpose(d_sequences, [1, 0, 2]), d_kernel, d_recurrent, d_bias, d_initial

        return hs, gradient

    return run(sequences, kernel, recurrent_kernel, bias, initial_state)
