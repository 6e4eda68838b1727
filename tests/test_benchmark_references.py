"""The closed-form NLinear reference in benchmarks/nlinear.py: a wrong fit would misstate what linear models reach."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import nlinear  # noqa: E402


def test_windows_follow_the_protocol_and_keep_channels_apart():
    values = np.arange(40, dtype=float)[:, None] * [1, 100]  # two channels
    inputs, targets, n = nlinear.windows(values, 20, 30, lookback=4, horizon=3)
    assert n == 8  # starts 16..23: the first window starts L rows before the part, the last one ends at row 29
    assert inputs.shape == (2 * n, 4) and targets.shape == (2 * n, 3)
    np.testing.assert_array_equal(inputs[0], [16, 17, 18, 19])
    np.testing.assert_array_equal(targets[0], [20, 21, 22])
    np.testing.assert_array_equal(inputs[1], [1600, 1700, 1800, 1900])  # channel 2 of the same window
    np.testing.assert_array_equal(targets[-2], [27, 28, 29])


def test_fit_recovers_an_nlinear_map_exactly():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(500, 6)).cumsum(axis=1)
    true = rng.normal(size=(6, 2))  # rows 0-4: weights on inputs minus the last value; row 5: the bias
    targets = np.c_[inputs[:, :-1] - inputs[:, -1:], np.ones(500)] @ true + inputs[:, -1:]
    weights = nlinear.fit(inputs, targets)
    np.testing.assert_allclose(weights, true, atol=1e-9)
    np.testing.assert_allclose(nlinear.forecast(weights, inputs), targets, atol=1e-9)
