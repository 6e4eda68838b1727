"""Prediction intervals that hold their stated coverage: conformal calibration per horizon step.

A forecaster's errors on windows it was not fitted on are an honest sample of its errors
to come. Each residual (actual - forecast) is divided by its window's spread, the
standard deviation of the target over the window's inputs (normalized conformal
prediction): calm stretches get narrow intervals and volatile ones wide. For each
forecaster (the model and both baselines), each horizon step and each target, the
q-quantile of these scaled residuals, times the spread of the window being forecast, is
added to the forecast to give its q-quantile. With n residuals the rank is rounded
outward ((n + 1) q), the finite-sample correction that makes a central interval cover at
least its nominal level on exchangeable data. Quantiles never cross: the offsets are
sorted residuals, monotone in q.

Two methods choose which residuals. "split": those of the validation windows, one fixed
set. "rolling" (sequential split conformal): at every forecast origin, the last `window`
residuals known by then, those of the validation windows and of every later window whose
targets all lie before the origin. A time series drifts, so the errors of the recent past
describe the next ones better than one fixed period does, and no residual is used before
its targets are observed.
"""

from __future__ import annotations

import math

import numpy as np

from rnnforecast import metrics, runs
from rnnforecast.config.schema import windows_needed
from rnnforecast.data.preprocessing import lowest

CALIBRATION_FILE = "calibration.json"
SCORES_FILE = "calibration-scores.npz"  # the validation windows' scores, in time order


def conformal_rank(n: int, q: float) -> int:
    """The 1-based rank of the q-quantile of n scores, rounded outward and kept within 1..n."""
    rank = math.ceil((n + 1) * q) if q >= 0.5 else math.floor((n + 1) * q)
    return min(max(rank, 1), n)


def too_few_windows(calibration: dict) -> str | None:
    """A note when the calibration has fewer validation windows than its outer quantiles need, else None.

    With n scores the q-quantile's conformal rank, (n + 1) q rounded outward, falls outside
    1..n below 1 / min(q, 1 - q) - 1 windows (9 for 0.1 and 0.9); it is then clamped to the
    extreme score, and the interval is narrower than its level promises.
    """
    n, levels = int(calibration["windows"]), [q for q in calibration["quantiles"] if q != 0.5]
    needed = windows_needed(calibration["quantiles"])
    if n >= needed:
        return None
    pooled = calibration.get("pooled_steps")
    if pooled and n * pooled >= needed:
        return (f"the intervals are calibrated on {n} validation window(s), fewer than the {needed} that the "
                f"{min(levels)} and {max(levels)} quantiles need per horizon step: every step's interval comes from "
                f"the errors of all {pooled} steps together, so it does not widen with the step as later steps' errors "
                "would make it (a step's width still moves with its own misses). Give the validation "
                "part more rows (data.split) or the file more history.")
    return (f"the intervals are calibrated on {n} validation window(s), and the {min(levels)} and {max(levels)} "
            f"quantiles need at least {needed} to hold their level: they come out too narrow. Give the validation "
            "part more rows (data.split) or the file more history.")




def conformal_offsets(residuals: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Residual quantiles (quantiles, horizon, targets) from residuals (windows, horizon, targets)."""
    ordered = np.sort(residuals, axis=0)
    return np.stack([ordered[conformal_rank(len(ordered), q) - 1] for q in quantiles])


def rolling_conformal(scores: np.ndarray, levels: list[float], known: np.ndarray, window: int, ranked=None) -> np.ndarray:
    """At each entry of `known`, the conformal quantiles of the last `window` of the first `known` scores.

    scores (windows, ...) are in time order; the result is (len(known), levels, ...). Full
    windows are read from a pool of order statistics slid forward through the scores (one
    sort in all; `ranked` is one already built on these scores); a pool shorter than the
    window is sorted directly.
    """
    known = np.asarray(known, dtype=np.int64)
    if len(known) and known.min() < 1:
        raise ValueError("no calibration score is known before the first origin")
    flat = scores.reshape(len(scores), -1)
    out = np.empty((len(known), len(levels), flat.shape[1]))
    full = known >= window
    if full.any():
        stops, where = np.unique(known[full], return_inverse=True)
        ranked = ranked if ranked is not None else _order_statistics(flat, window)
        ranked.fill(stops[0] - window, stops[0])
        found, at = np.empty((len(stops), len(levels), flat.shape[1])), int(stops[0])
        ranks = [np.full(flat.shape[1], conformal_rank(window, q)) for q in levels]
        for i, stop in enumerate(stops):
            at = _advance(ranked, at, int(stop), window)
            for j, rank in enumerate(ranks):
                found[i, j] = ranked.kth(rank, j)
        out[full] = found[where]
    for k in np.unique(known[~full]):
        out[known == k] = conformal_offsets(flat[:k], levels)
    return out.reshape((len(known), len(levels)) + scores.shape[1:])


def scores(forecast: np.ndarray, actual: np.ndarray, quantiles: list[float], base: str = "point", spread=1.0):
    """Nonconformity scores of each window, scaled by its spread.

    base "point": the residual (windows, horizon, targets). base "quantiles" (a model's own
    quantiles, last axis): per central pair (lo, hi) the score max(q_lo - y, y - q_hi), by
    how much the interval missed y (negative: by how much it held it), as
    (windows, horizon, targets, pairs): conformalized quantile regression.
    """
    if base == "point":
        return (actual - forecast) / spread
    index = _index(quantiles)
    pairs = [(index[round(lo, 10)], index[round(hi, 10)]) for lo, hi in central_pairs(quantiles)]
    found = [np.maximum(forecast[..., i] - actual, actual - forecast[..., j]) / spread for i, j in pairs]
    return np.stack(found, -1) if found else np.zeros(actual.shape + (0,))  # no central pair: nothing to move


def offsets(scores_: np.ndarray, quantiles: list[float], base: str = "point", known=None, window=None) -> np.ndarray:
    """The offsets (len(known), quantiles, horizon, targets) from the last `window` of the first `known` scores.

    Without `known`, every score is used once: (quantiles, horizon, targets). base
    "quantiles" moves each central pair of the model's own quantiles out (or in) by the
    conformal quantile of its scores at the pair's level; quantiles outside a pair (the
    median) stay as the model gave them.
    """
    single = known is None
    known = np.array([len(scores_)]) if single else np.asarray(known)
    window = window or len(scores_)
    if base == "point":
        out = rolling_conformal(scores_, quantiles, known, window)
    else:
        out = np.zeros((len(known), len(quantiles)) + scores_.shape[1:-1])
        index = _index(quantiles)
        for p, (low, high) in enumerate(central_pairs(quantiles)):
            amount = rolling_conformal(scores_[..., p], [high - low], known, window)[:, 0]
            out[:, index[round(low, 10)]], out[:, index[round(high, 10)]] = -amount, amount
    return out[0] if single else out


def apply(forecast: np.ndarray, offsets_: np.ndarray, base: str = "point", spread=1.0) -> np.ndarray:
    """Calibrated quantile forecasts (..., horizon, targets, quantiles).

    base "point": forecast is (..., horizon, targets) and each quantile is it plus its
    offset. base "quantiles": forecast already holds the model's own quantiles, and the
    offsets widen or narrow them. offsets are (quantiles, horizon, targets), or one set
    per window (windows, quantiles, horizon, targets); `spread` (..., 1, targets) scales
    them to each window.
    """
    moved = np.moveaxis(offsets_, -3, -1) * np.asarray(spread)[..., None]
    # sorted: pairs calibrated apart (or adapted apart) never cross, and sorting never raises the pinball loss
    return np.sort(forecast + moved if base == "quantiles" else forecast[..., None] + moved, axis=-1)


def calibration(
    forecasts: dict,
    actual: np.ndarray,
    quantiles: list[float],
    model_quantiles=None,
    spread=1.0,
    method: str = "split",
    window: int | None = None,
    gamma: float | None = None,
    floor: float | None = None,
) -> dict:
    """Every forecaster's scores on the validation windows (in time order), and how to use them.

    With `model_quantiles` (a quantile model's own forecasts, their last axis the
    quantiles) the model's scores are those of its quantiles instead of its point forecast.
    The rolling window defaults to the number of validation windows: at the first origin
    it is the split calibration, then it slides forward.
    """
    bases = {name: "point" for name in forecasts}
    found = {name: scores(forecast, actual, quantiles, "point", spread) for name, forecast in forecasts.items()}
    if model_quantiles is not None:
        bases["model"] = "quantiles"
        found["model"] = scores(model_quantiles, actual, quantiles, "quantiles", spread)
    n, horizon = int(len(actual)), int(actual.shape[1])
    pooled = 1 < horizon and 0 < n < windows_needed(quantiles)
    if pooled:  # too few windows for a quantile per step (one, for a short series split by its last horizons)
        found = {name: _pool_steps(value) for name, value in found.items()}
    count = n * horizon if pooled else n
    window = count if method == "split" or pooled else (window or count)
    return {
        "method": method,
        "window": int(window),
        "gamma": gamma if method == "rolling" else None,
        "floor": (floor or None) if method == "rolling" and gamma else None,  # 0: no bound
        "quantiles": list(quantiles),
        "windows": n,
        **({"pooled_steps": horizon} if pooled else {}),
        "bases": bases,
        "scores": {name: value[max(count - window, 0) :] for name, value in found.items()},
    }


def _pool_steps(values: np.ndarray) -> np.ndarray:
    """Scores (windows, horizon, ...) as windows x horizon pseudo-windows, each holding one score at every step:
    a quantile over them per step is the quantile of all steps' scores together."""
    n, horizon = values.shape[:2]
    flat = values.reshape((n * horizon, 1) + values.shape[2:])
    return np.repeat(flat, horizon, axis=1)


def offsets_at(calibration: dict, name: str, origins, horizon: int, recent=None, recent_origins=None) -> np.ndarray:
    """The offsets (origins, quantiles, horizon, targets) of forecaster `name` at each forecast origin.

    The validation scores are known at every origin. With the rolling method, `recent`
    holds the scores of later windows (in time order) whose first target rows are
    `recent_origins`; a window joins the pool only once all of its `horizon` targets lie
    before the origin (origin' + horizon <= origin), so no origin sees an error from its
    own future.
    """
    history = calibration["scores"][name]
    origins = np.asarray(origins, dtype=np.int64)
    base, quantiles = calibration["bases"].get(name, "point"), calibration["quantiles"]
    if calibration["method"] == "split" or recent is None or len(recent) == 0:
        single = offsets(history, quantiles, base)
        return np.broadcast_to(single, (len(origins),) + single.shape)
    known = len(history) + np.searchsorted(np.asarray(recent_origins), origins - horizon, side="right")
    pool, window = np.concatenate([history, recent]), calibration["window"]
    if not calibration.get("gamma"):
        return offsets(pool, quantiles, base, known, window)
    index = _index(quantiles)
    paired = {index[round(q, 10)] for pair in central_pairs(quantiles) for q in pair}
    alone = [i for i in range(len(quantiles)) if i not in paired]  # the median: rolling; the pairs: adaptive
    found = np.zeros((len(origins), len(quantiles)) + pool.shape[1:3])
    # the point forecast's pool of order statistics is built once (a sort of every score) for all its quantiles
    ranked = _order_statistics(pool.reshape(len(pool), -1), window) if base == "point" else None
    if alone and base == "point":
        found[:, alone] = rolling_conformal(pool, [quantiles[i] for i in alone], known, window, ranked)
    for p, (low, high) in enumerate(central_pairs(quantiles)):
        i, j = index[round(low, 10)], index[round(high, 10)]
        lo, hi = adaptive(pool if base == "point" else pool[..., p], len(history), np.asarray(recent_origins),
                          origins, horizon, window, 1 - (high - low), calibration["gamma"], base == "point",
                          calibration.get("floor"), ranked)
        found[:, i], found[:, j] = (lo, hi) if base == "point" else (-hi, hi)
    return found


def adaptive(pool, n_history, recent_origins, origins, horizon, window, alpha, gamma, two_sided=True, floor=None,
             ranked=None):
    """Adaptive conformal inference (Gibbs & Candes 2021) on the rolling pool, for one central interval.

    Per horizon step and target, the miscoverage level moves after every observed window:
    alpha_t = alpha + gamma * sum(alpha - miss) over the windows known at t (a window is
    known, as in the pool, once all its targets precede the origin). Too many misses
    widen the interval, too few narrow it, which keeps the long-run coverage near nominal
    even when the errors drift. The level used is clipped to [0, 1]; the sum is not.
    With `floor` (a fraction of alpha) the level itself is projected onto [floor alpha, 1]
    after every update instead: no debt is carried while it is clipped, and the interval
    is never wider than the one at level floor alpha.
    Returns the (lower, upper) thresholds (origins, horizon, targets) of the scores: for
    two_sided, the residual quantiles at alpha_t / 2 and 1 - alpha_t / 2; else the
    1 - alpha_t quantile (as upper) of conformalized-quantile scores. `ranked`: the pool's
    order statistics, when already built.
    """
    shape = pool.shape[1:]
    flat = pool.reshape(len(pool), -1)
    ranked = ranked if ranked is not None else _order_statistics(flat, window)

    def ranks(n, level):
        """The 1-based ranks, per column, of the lower and upper thresholds in a pool of n at this level."""
        a = np.clip(level, 0.0, 1.0)
        lo = np.clip(np.floor((n + 1) * a / 2), 1, n).astype(np.int64)
        hi = np.clip(np.ceil((n + 1) * (1 - a / 2 if two_sided else 1 - a)), 1, n).astype(np.int64)
        return lo, hi

    def level(known_recent, misses):
        if floor is not None:
            return projected[known_recent]
        return alpha + gamma * (known_recent * alpha - misses[known_recent])

    seen = np.searchsorted(recent_origins, recent_origins - horizon, side="right")
    misses = np.zeros((len(recent_origins) + 1, flat.shape[1]))  # misses[m]: of the first m recent windows
    projected = None if floor is None else np.full_like(misses, alpha)  # the level after the first m windows
    own = []
    k = n_history + int(seen[0]) if len(seen) else n_history
    ranked.fill(max(k - window, 0), k)
    for j, m in enumerate(seen):
        k = _advance(ranked, k, n_history + m, window)
        lo, hi = (ranked.kth(rank, side) for side, rank in enumerate(ranks(min(k, window), level(m, misses))))
        score = flat[n_history + j]
        miss = (score > hi) | (two_sided & (score < lo))
        misses[j + 1] = misses[j] + miss
        if floor is not None:
            projected[j + 1] = np.clip(projected[j] + gamma * (alpha - miss), floor * alpha, 1.0)
        own.append((lo, hi))
    lows, highs = [], []
    for origin in origins:
        j = int(np.searchsorted(recent_origins, origin))
        if j < len(recent_origins) and recent_origins[j] == origin:  # one of the pool's windows: as computed
            lo, hi = own[j]
        else:
            m = int(np.searchsorted(recent_origins, origin - horizon, side="right"))
            known = n_history + m
            ordered = np.sort(flat[max(known - window, 0) : known], axis=0)
            at = ranks(len(ordered), level(m, misses))
            lo, hi = (np.take_along_axis(ordered, rank[None] - 1, 0)[0] for rank in at)
        lows.append(lo.reshape(shape))
        highs.append(hi.reshape(shape))
    return np.stack(lows), np.stack(highs)


def _order_statistics(flat: np.ndarray, window: int):
    """The sliding pool of order statistics that suits a pool of `window` rows of `flat`."""
    return (_SortedWindow if window * flat.shape[1] <= SORT_LIMIT else _RankedPool)(flat)


def _advance(ranked, at: int, stop: int, window: int) -> int:
    """Slide the pool, rows [at - window, at), forward one row at a time to [stop - window, stop)."""
    while at < stop:
        if at >= window:
            ranked.remove(at - window)
        ranked.add(at)
        at += 1
    return at


# Below this many values in a full pool, sorting it at each step (one C call) is faster than the
# bitmask's few dozen vectorized numpy calls; above it the bitmask wins (measured with `adaptive`:
# the sort 0.14 s against 0.43 s at 200 x 24 values, 2.64 s against 0.44 s at 2,000 x 24; 0.43 against
# 0.52 at 200 x 168, 5.0 against 0.6 at 800 x 168).
SORT_LIMIT = 20_000


class _SortedWindow:
    """The order statistics of `_RankedPool` for a small pool: rows [start, stop) sorted when asked.

    The pool only ever slides forward (rows join at the end and leave at the start), so it is
    two bounds; the sort is kept until the pool changes.
    """

    def __init__(self, values: np.ndarray):
        self.values, self.start, self.stop, self.ordered = values, 0, 0, None

    def fill(self, start: int, stop: int) -> None:
        self.start, self.stop, self.ordered = start, stop, None

    def add(self, row: int) -> None:
        assert row == self.stop, "rows join the pool in order"
        self.stop, self.ordered = row + 1, None

    def remove(self, row: int) -> None:
        assert row == self.start, "rows leave the pool in order"
        self.start, self.ordered = row + 1, None

    def kth(self, k: np.ndarray, cursor=0) -> np.ndarray:
        """The k-th smallest value (1-based k, one per column) of each column's pool (`cursor`: see _RankedPool)."""
        if self.ordered is None:
            self.ordered = np.sort(self.values[self.start : self.stop], axis=0)
        rank = np.minimum(np.asarray(k, dtype=np.int64), len(self.ordered))
        return np.take_along_axis(self.ordered, rank[None] - 1, 0)[0]


class _RankedPool:
    """Order statistics of a sliding set of rows of `values`, per column, in a few vectorized steps each.

    Each column's values are ranked once, and the pool is a bitmask over those ranks (64 to a
    word, each column's words side by side: a few MB, held in cache). A query keeps a cursor
    per caller, the word its answer was in and how many pool members lie before that word:
    the adaptive level moves the rank it asks for by a few places per step, so the cursor
    moves a word or none, and the answer is the right set bit of that word. (A Fenwick tree
    over the same ranks costs a cache miss per tree level and column: most of the 17 minutes
    ETTm1's evaluation took at horizon 720.)
    """

    def __init__(self, values: np.ndarray):
        n, columns = values.shape
        # sorted column by column (each column's values side by side: a query's answer lies near its last one),
        # a block of columns at a time so that the sort's scratch stays small beside ETTm1's 78M scores at H=720
        self.sorted = np.empty((columns, n), dtype=values.dtype)
        self.rank = np.empty((n, columns), dtype=np.int32)  # row by row: a row joins or leaves the pool in one read
        for first in range(0, columns, 256):
            block = np.ascontiguousarray(values[:, first : first + 256].T)
            order = np.argsort(block, axis=1)  # ties in any order: the k-th value is the same
            self.sorted[first : first + 256] = np.take_along_axis(block, order, 1)
            rank = np.empty(order.shape, dtype=np.int32)
            np.put_along_axis(rank, order, np.arange(n, dtype=np.int32)[None, :], 1)
            self.rank[:, first : first + 256] = rank.T
        self.columns = np.arange(columns)
        self.words = np.zeros((columns, (n + 63) // 64), dtype=np.uint64)
        self.cursors: dict = {}

    def fill(self, start: int, stop: int) -> None:
        """The pool is rows [start, stop)."""
        member = np.zeros((len(self.columns), self.words.shape[1] * 64), dtype=bool)
        member[self.columns, self.rank[start:stop]] = True
        self.words = np.packbits(member, axis=1, bitorder="little").view("<u8").astype(np.uint64)
        self.cursors = {}

    def _update(self, row: int, delta: int) -> None:
        rank = self.rank[row]
        word, bit = rank >> 6, np.left_shift(np.uint64(1), (rank & 63).astype(np.uint64))
        if delta > 0:
            self.words[self.columns, word] |= bit
        else:
            self.words[self.columns, word] &= ~bit
        for cursor in self.cursors.values():
            cursor[1] += delta * (word < cursor[0])

    def add(self, row: int) -> None:
        self._update(row, 1)

    def remove(self, row: int) -> None:
        self._update(row, -1)

    def kth(self, k: np.ndarray, cursor=0) -> np.ndarray:
        """The k-th smallest value (1-based k, one per column) of each column's pool.

        `cursor` names the caller's sequence of queries (the lower and the upper threshold
        each have one): each starts its search where its last answer was.
        """
        k, columns = np.asarray(k, dtype=np.int64), self.columns
        word, before = self.cursors.setdefault(cursor, [np.zeros(len(columns), np.int64), np.zeros(len(columns), np.int64)])
        for _ in range(4):  # a word or two either way; a longer move counts every word afresh
            count = _popcount(self.words[columns, word])
            ahead, back = before + count < k, before >= k
            if not (ahead.any() or back.any()):
                break
            before += np.where(ahead, count, 0)
            word += ahead.astype(np.int64) - back
            before -= np.where(back, _popcount(self.words[columns, word]), 0)
        else:
            counts = np.cumsum(_popcount(self.words), axis=1)
            word[:] = (counts < k[:, None]).sum(axis=1)
            before[:] = np.where(word > 0, counts[columns, np.maximum(word - 1, 0)], 0)
        bits, left, position = self.words[columns, word], k - before, np.zeros(len(columns), np.int64)
        for width in (32, 16, 8, 4, 2, 1):  # the left-th set bit: halve the word, keep the half that holds it
            low = _popcount((bits >> position.astype(np.uint64)) & np.uint64((1 << width) - 1))
            up = low < left
            left -= np.where(up, low, 0)
            position += np.where(up, width, 0)
        return self.sorted[columns, word * 64 + position]


_BYTE_COUNTS = np.array([bin(b).count("1") for b in range(256)], dtype=np.int64)


def _popcount(words: np.ndarray) -> np.ndarray:
    """The number of set bits of each uint64 (numpy 2 has it built in; numpy 1.26 counts bytes)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).astype(np.int64)
    return _BYTE_COUNTS[np.ascontiguousarray(words)[..., None].view(np.uint8)].sum(axis=-1)


def save(run_path, calibration: dict) -> None:
    """calibration.json (how, which quantiles) and the validation scores beside it.

    The old calibration.json goes first and the new one is written last, so a write cut short (a full disk)
    leaves no calibration, computed again on first use, never a new file beside the old scores.
    """
    (run_path / CALIBRATION_FILE).unlink(missing_ok=True)
    runs.atomic_write(run_path / SCORES_FILE, lambda path: np.savez(path, **calibration["scores"]))
    runs.write_json(run_path / CALIBRATION_FILE, {k: v for k, v in calibration.items() if k != "scores"})


def load(run) -> dict | None:
    """A run's calibration, or None for a run that has none (a panel, or one calibrated by an older version)."""
    path, scores_path = run.path / CALIBRATION_FILE, run.path / SCORES_FILE
    for found in (path, scores_path):
        if found.exists() and not found.is_file():  # computed again, save() would first delete the good file beside it
            raise runs.damaged(found, "a folder or another kind of file where the run keeps a file")
    if not (path.is_file() and scores_path.is_file()):
        return None
    found = runs.json_file(path, ("method", "quantiles", "bases"))
    found["scores"] = runs.npz_arrays(scores_path)
    problem = calibration_problem(found)
    if problem:
        raise runs.damaged(path, problem)
    missing = [name for name in found["bases"] if found["scores"].get(name, np.array("")).dtype.kind not in "fi"]
    if missing:
        raise runs.damaged(scores_path, f"no scores of {', '.join(missing)}, which {CALIBRATION_FILE} names")
    return found


def calibration_problem(found: dict) -> str | None:
    """What is wrong with a saved calibration (None: nothing). A value edited or cut (an unknown method, quantiles out
    of order, which would label the columns wrongly) gave an internal error or a wrong forecast, not this message."""
    quantiles, bases = found["quantiles"], found["bases"]
    if found["method"] not in ("split", "rolling"):
        return f"method {found['method']!r} is not split or rolling"
    if not (isinstance(quantiles, list) and quantiles and all(_number(q) and 0 < q < 1 for q in quantiles)
            and all(a < b for a, b in zip(quantiles, quantiles[1:]))):
        return f"quantiles {quantiles!r} are not levels between 0 and 1 in increasing order"
    for key in ("window", "windows"):
        if not (_number(found.get(key)) and float(found[key]).is_integer() and found[key] >= (key == "window")):
            return f"{key} {found.get(key)!r} is not a count of windows"
    for key in ("gamma", "floor"):
        if found.get(key) is not None and not (_number(found[key]) and 0 <= found[key] < 1):
            return f"{key} {found[key]!r} is not a rate between 0 and 1"
    if not (isinstance(bases, dict) and "model" in bases and set(bases.values()) <= {"point", "quantiles"}):
        return f"bases {bases!r} do not name the model's base (point or quantiles)"
    return None


def _number(value) -> bool:
    """A finite number as JSON gives it (not a boolean, which Python counts as one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def quantile_column(target: str, q: float) -> str:
    """The forecast table's column of a target's quantile: `Temp_q0.1`."""
    return f"{target}_q{float(q):g}"


def quantile_columns(columns, target: str) -> list[str]:
    """A target's quantile columns among `columns`, in their order: not another target's that starts the same
    (`sales_qty` and its `sales_qty_q0.1` are not quantiles of `sales`)."""
    return [column for column in columns if quantile_level(column, target) is not None]


def quantile_level(column, target: str) -> float | None:
    """The level of a target's quantile column (`Temp_q0.1`: 0.1); None for any other column."""
    text = str(column)[len(target) + 2 :] if str(column).startswith(f"{target}_q") else ""
    try:
        level = float(text) if text else None
    except ValueError:
        return None
    return level if level is not None and column == quantile_column(target, level) else None


def central_pairs(quantiles: list[float]) -> list[tuple[float, float]]:
    """The (lower, upper) quantile pairs that make central intervals, e.g. (0.1, 0.9) -> 80%."""
    return [(q, 1 - q) for q in quantiles if q < 0.5 and any(math.isclose(1 - q, p) for p in quantiles)]


def level_label(low: float, high: float) -> str:
    """A central interval's level as a label: 80%, 99.6% (not 100%), 79.6% beside 80% (not both 80%)."""
    return f"{round(100 * (high - low), 6):g}%"


def band_scores(actual: np.ndarray, bands: np.ndarray, quantiles: list[float], floor=None) -> dict:
    """Pinball loss, and the coverage and mean width of each central interval, of quantile forecasts.

    Pinball and coverage are over the observed actuals (NaN: missing in the file); the width over every forecast.

    `floor` (one per target, None for none: data.floor) keeps the bands at or above it, as `predict` writes them.
    """
    if floor and any(f is not None for f in floor):
        bands = np.maximum(bands, lowest(floor, bands.shape[-2])[:, None])
    index = _index(quantiles)
    observed = ~np.isnan(actual)  # a target cell missing in the file (filled for the windows) is not scored
    entry = {"pinball": metrics.pinball(actual, bands, quantiles), "coverage": {}, "width": {}}
    for low, high in central_pairs(quantiles):
        lo, hi = bands[..., index[round(low, 10)]], bands[..., index[round(high, 10)]]
        label = level_label(low, high)
        inside = (actual >= lo) & (actual <= hi)
        entry["coverage"][label] = float(inside[observed].mean()) if observed.any() else None
        entry["width"][label] = float((hi - lo).mean())
    return entry


def interval_scores(actual: np.ndarray, forecasts: dict, calibration: dict, spread=1.0, origins=None,
                    floor=None, observed=None) -> dict:
    """band_scores of every forecaster on these windows, each calibrated as the calibration says (and floored).

    With the rolling method, `origins` (the first target row of each window, increasing,
    every origin of the period) says when each window's own errors join the pool (filled
    values included, as in calibration); `observed` (like `actual`, False where the file had
    no value) says which actual values are scored.
    """
    if calibration["method"] == "rolling" and origins is None:
        raise ValueError("rolling calibration needs the origin of each scored window")
    quantiles, horizon = calibration["quantiles"], actual.shape[1]
    scored = actual if observed is None else np.where(observed, actual, np.nan)
    found = {}
    for name, forecast in forecasts.items():
        base = calibration["bases"].get(name, "point")
        at = np.zeros(len(actual), dtype=np.int64) if origins is None else origins
        recent = scores(forecast, actual, quantiles, base, spread)
        shifts = offsets_at(calibration, name, at, horizon, recent, origins)
        found[name] = band_scores(scored, apply(forecast, shifts, base, spread), quantiles, floor)
    return found


def _index(quantiles: list[float]) -> dict:
    return {round(q, 10): i for i, q in enumerate(quantiles)}
