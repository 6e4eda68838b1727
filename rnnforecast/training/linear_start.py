"""`model.highway: fitted`: the highway starts as a ridge-fitted linear forecast of the training windows.

A linear map from the look-back to the horizon is convex to fit, but fitted by the same
gradient steps as the recurrent stack it is far from converged when early stopping ends
the run a few epochs in. Solved in closed form first, on the windows as the model sees
them (window-normalized), it starts the network at a strong linear forecast, and training
learns what that forecast misses (the head starts at zero). The fit is shrunk toward the
seasonal naive map, not toward zero: a short series with fewer windows than weights stays
near seasonal naive, a long one reaches least squares. How far is chosen on the
validation windows, seasonal naive itself included, so the start is never worse there.
With model.cycle, the cycle's pattern starts here too, as the training rows' seasonal profile.
"""

from __future__ import annotations

import math

import numpy as np

from rnnforecast.config import Config
from rnnforecast.data import cycle_length

MAX_WINDOWS = 50_000  # a sample this large fixes a map of at most a few hundred inputs well
# The shrinkage toward seasonal naive, in windows' worth of evidence: the prior weighs as much as this many windows.
PRIOR_WINDOWS = (0.01, 0.1, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, math.inf)
# The last choice, taken only where it beats every shrinkage on validation (round 31): the naive forecast, for a series
# whose persistence outweighs its season (a price on business days: seasonal naive repeats the last week).
NAIVE = "naive"
CHOOSE_NAIVE = True  # benchmarks/defaults.py naive-choice turns it off to score the choice without it


def highways(model) -> list:
    """The model's Highway layers, an ensemble's members' included."""
    from rnnforecast.models.layers import Highway

    return _layers_of(model, Highway)


def _layers_of(model, kind) -> list:
    found = []
    for layer in model.layers:
        if isinstance(layer, kind):
            found.append(layer)
        elif hasattr(layer, "layers"):
            found.extend(_layers_of(layer, kind))
    return found


def cycle_profile(values: np.ndarray, starts: np.ndarray, config: Config, cycle: int) -> np.ndarray:
    """Each target's mean at each position of the cycle less its overall mean, over the rows these windows cover.

    The start of model.cycle's pattern beside a fitted highway: the seasonal profile that
    seasonal indices or dummies would estimate, in the scaled units the pattern is used in.
    """
    n, span = len(config.data.targets), config.window.input_length + config.window.horizon
    cover = np.zeros(len(values) + 1, dtype=np.int64)
    np.add.at(cover, starts, 1)
    np.add.at(cover, np.minimum(starts + span, len(values)), -1)
    rows = np.flatnonzero(np.cumsum(cover[:-1]) > 0)
    if len(rows) == 0:
        return np.zeros((cycle, n))
    target, phase = values[rows, :n].astype("float64"), np.rint(values[rows, -1]).astype(np.int64) % cycle
    counts = np.bincount(phase, minlength=cycle)
    sums = np.stack([np.bincount(phase, weights=target[:, j], minlength=cycle) for j in range(n)], axis=1)
    means = np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
    return np.where(counts[:, None] > 0, means - target.mean(axis=0), 0.0)


def cycle_start(values: np.ndarray, starts: np.ndarray, config: Config, season: int) -> np.ndarray | None:
    """model.cycle's starting pattern, whatever the highway (None without a cycle)."""
    cycle = cycle_length(config.model.cycle, season)
    return cycle_profile(values, np.asarray(starts), config, cycle) if cycle else None


def _design(values: np.ndarray, starts: np.ndarray, config: Config, cap: int, pattern: np.ndarray | None = None):
    """Yield (inputs with a bias column, targets) in the model's normalized units, one chunk at a time.

    With a cycle `pattern` (cycle, targets), it is taken out of both at each row's position, as the model does.
    """
    L, H, n = config.window.input_length, config.window.horizon, len(config.data.targets)
    if len(starts) > cap:
        starts = np.sort(np.random.default_rng(config.training.seed).choice(starts, cap, replace=False))
    for lo in range(0, len(starts), 4096):  # chunks: a bounded gather, whatever the data's size
        rows = starts[lo : lo + 4096, None] + np.arange(L + H)
        block = values[rows][:, :, :n].astype("float64")  # (windows, L + H, targets)
        past, future = block[:, :L], block[:, L:]
        if config.model.normalization != "none":
            reference = past[:, -1:] if config.model.normalization == "last" else past.mean(axis=1, keepdims=True)
            past, future = past - reference, future - reference
            if config.model.normalization_scale:
                std = np.sqrt(past.var(axis=1, keepdims=True) + 1e-5)
                past, future = past / std, future / std
        if pattern is not None:
            cycle = pattern.shape[0]
            at = pattern[np.rint(values[rows, -1]).astype(np.int64) % cycle]  # (windows, L + H, targets)
            past, future = past - at[:, :L], future - at[:, L:]
        x = np.concatenate([past.transpose(0, 2, 1).reshape(-1, L), np.ones((past.shape[0] * n, 1))], axis=1)
        yield x, future.transpose(0, 2, 1).reshape(-1, H)


def _normal_equations(values, starts, config, weights=None, pattern=None):
    """X'WX, X'WY and the row count (W: one weight per row of the design, default 1)."""
    L, H = config.window.input_length, config.window.horizon
    gram, cross, rows = np.zeros((L + 1, L + 1)), np.zeros((L + 1, H)), 0
    for x, y in _design(values, starts, config, MAX_WINDOWS, pattern):
        wx = x if weights is None else x * weights[rows : rows + len(x), None]
        gram += wx.T @ x
        cross += wx.T @ y
        rows += len(x)
    return gram, cross, rows


IRLS_STEPS = 4  # reweightings of the least-squares start; on the development data the error settles in three


def _robust(values, starts, config, prior, weight, solution, pattern=None):
    """Iteratively reweighted least squares toward the absolute error (`model.highway_fit: absolute`).

    Each row (a window's target) is weighted by 1 / its mean absolute error, floored at a
    tenth of the median so a row fitted exactly cannot take over, and the weights are
    scaled to mean 1 so that the shrinkage keeps its meaning in windows' worth. One weight
    per row, not per step, keeps one Gram matrix; it downweights the windows the map fits
    worst (a break in a series, a spike), as the absolute-error loss does for the network.
    """
    for _ in range(IRLS_STEPS):
        error = np.concatenate([np.abs(x @ solution - y).mean(axis=1)
                                for x, y in _design(values, starts, config, MAX_WINDOWS, pattern)])
        weights = 1.0 / np.maximum(error, 0.1 * np.median(error) + 1e-12)
        gram, cross, _ = _normal_equations(values, starts, config, weights / weights.mean(), pattern)
        solution = _solve(gram, cross, prior, weight)
    return solution


def _solve(gram, cross, prior, weight):
    """argmin |XW - Y|^2 + weight |W - prior|^2 over the kernel (the bias is not shrunk)."""
    if math.isinf(weight):
        return prior
    L = gram.shape[0] - 1
    lhs, rhs = gram.copy(), cross.copy()
    lhs[np.arange(L), np.arange(L)] += weight
    rhs[:L] += weight * prior[:L]
    return np.linalg.solve(lhs, rhs)


def fitted_map(values: np.ndarray, train: np.ndarray, val: np.ndarray, config: Config, season: int,
               prior_windows: float | str | None = None) -> tuple[np.ndarray, float | str]:
    """The highway's (input_length + 1, horizon) map, kernel rows then the bias row, and its prior weight (or NAIVE).

    Args:
        values: the prepared (scaled) array; train: the window starts to fit on.
        val: the window starts that choose the shrinkage from PRIOR_WINDOWS, or NAIVE, the naive forecast, where it
            is strictly better there than all of them (ignored with `prior_windows`).
        config: the run's config (window, targets, model.normalization, training.loss); season: the data's.
        prior_windows: a shrinkage already chosen (the final model reuses the honest fit's).

    Returns:
        The map in the normalized units the Highway layer reads and writes, and the shrinkage used.
        With model.cycle, the map is fitted on the windows without the cycle's start (cycle_start).
    """
    from rnnforecast.models.layers import seasonal_naive_map

    pattern = cycle_start(values, train, config, season)
    L, H = config.window.input_length, config.window.horizon
    prior = np.vstack([seasonal_naive_map(L, H, season), np.zeros((1, H))]).astype("float64")
    gram, cross, rows = _normal_equations(values, train, config, pattern=pattern)
    energy = max(np.trace(gram[:L, :L]) / max(rows, 1) / L, 1e-12)  # one window's mean square input
    candidates = PRIOR_WINDOWS + ((NAIVE,) if CHOOSE_NAIVE else ()) if prior_windows is None else (prior_windows,)
    naive = np.vstack([seasonal_naive_map(L, H, 1), np.zeros((1, H))]).astype("float64")
    solutions = {w: naive if w == NAIVE else _solve(gram, cross, prior, w * energy) for w in candidates}
    if config.model.highway_fit == "absolute":
        solutions = {w: s if w == NAIVE or math.isinf(w) else _robust(values, train, config, prior, w * energy, s,
                                                                       pattern)
                     for w, s in solutions.items()}
    if len(solutions) == 1 or len(val) == 0:
        chosen = candidates[0] if len(solutions) == 1 else math.inf
        return solutions.get(chosen, prior), chosen
    squared = config.training.loss == "mse"
    errors = dict.fromkeys(solutions, 0.0)
    for x, y in _design(values, val, config, MAX_WINDOWS // 5, pattern):
        for w, solution in solutions.items():
            residual = x @ solution - y
            errors[w] += float((residual**2).sum() if squared else np.abs(residual).sum())
    chosen = min(errors, key=errors.get)  # a tie goes to the earlier choice: NAIVE only where strictly better
    return solutions[chosen], chosen


def start_highway(model, values: np.ndarray, train: np.ndarray, val: np.ndarray, config: Config, season: int,
                  prior_windows: float | str | None = None) -> float | str | None:
    """Set every Highway of the model to the fitted map (highway: fitted only); return the shrinkage used.

    With model.cycle, the cycle's pattern starts as the training rows' profile (cycle_profile), whatever
    the highway, and a fitted map is fitted on the windows without it: together, a linear forecast with
    seasonal terms.
    """
    from rnnforecast.models.layers import CyclePattern

    if len(train) == 0:
        return None
    pattern = cycle_start(values, np.asarray(train), config, season)
    for layer in _layers_of(model, CyclePattern) if pattern is not None else []:
        start = np.zeros(tuple(layer.pattern.shape))
        start[:, : pattern.shape[1]] = pattern  # the targets' columns; other inputs' start at zero
        layer.pattern.assign(start.astype("float32"))
    if config.model.highway != "fitted":
        return None
    solution, chosen = fitted_map(values, np.asarray(train), np.asarray(val), config, season, prior_windows)
    for layer in highways(model):
        layer.linear.kernel.assign(solution[:-1].astype("float32"))
        layer.linear.bias.assign(solution[-1].astype("float32"))
    return chosen
