"""AutoETS and AutoTheta beside the network when statsforecast is installed: does a classical model beat it?

A user's first question about a network's forecast is whether exponential smoothing or Theta, a
second's work each, would have done as well. With the `classical` extra, `evaluate` and
`backtest` score statsforecast's AutoETS and AutoTheta on the same windows as the model and the
naive baselines. Each is fitted once, on the rows the model saw before the test period (as the
network is trained once), and run forward to every origin with those parameters: its state is
updated with every value up to the origin, its parameters are not refitted.

A panel's series are fitted by `forecasts_many`: in worker processes over the machine's cores
when the fits would take long (a fit of both reads up to HISTORY rows: about 1.8 s at 2,000 daily
rows, 0.1 s at 200), with a progress bar.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnnforecast.errors import UserError

NAMES = ("AutoETS", "AutoTheta")
HISTORY = 2000  # rows a fit reads: ETS and Theta hardly use older ones, and a fit stays under a second
FORWARD = 1000  # rows each origin's forecast runs over: Theta's forward costs 1 ms at 1,000 rows, 3.4 ms at 2,000
ETS_MAX_SEASON = 24  # longer seasons make ETS slow (10 s a fit at 365) and R's ets refuses them: non-seasonal above
MAX_PANEL_SERIES = 1000  # a fit per series: above this many, only when asked for (--classical)
SECONDS_PER_ROW = 1e-3  # both fits together, per row read (AMD EPYC, season 7: 1.8 s at 2,000 rows, 0.2 s at 300)
SECONDS_PER_ORIGIN = 4e-3  # both models run forward to one origin over FORWARD rows (Intel Xeon, season 96)
ORIGINS_PER_PIECE = 1000  # a long test period's origins are run forward in pieces of this many, over the cores
SECONDS_PER_SHORT_SERIES = 0.04  # both fits with their intervals, a series under a window (AMD EPYC, 12 to 60 rows)
PARALLEL_FROM = 20.0  # estimated seconds of fitting from which worker processes pay their start (4 s to import)
PROGRESS_FROM = 5.0  # estimated seconds of fitting from which a progress bar is shown
INSTALL = "pip install 'rnnforecast[classical]'"
DESCRIPTION = (
    "AutoETS and AutoTheta (statsforecast) fitted once on the rows before the test period (at most the last "
    f"{HISTORY}), then run forward to each origin over about its last {FORWARD} rows (whole seasons from the fit's "
    "first row) with those parameters"
)


def installed() -> bool:
    return importlib.util.find_spec("statsforecast") is not None


def wanted(requested: bool | None, n_series: int = 1) -> bool:
    """Whether to fit the classical baselines: `requested` is --classical (True), --no-classical (False) or neither.

    Neither means yes when statsforecast is installed and the data has at most
    MAX_PANEL_SERIES series (a note says why when a larger panel is skipped).
    """
    if requested is False:
        return False
    if not installed():
        if requested:
            raise UserError(
                f"--classical fits statsforecast's AutoETS and AutoTheta, and statsforecast is not installed. "
                f"Install it with `{INSTALL}`, or leave --classical out."
            )
        return False
    if requested is None and n_series > MAX_PANEL_SERIES:
        print(f"note: AutoETS and AutoTheta not fitted: {n_series} series is more than {MAX_PANEL_SERIES} "
              "(a fit per series); add --classical to fit them anyway.", file=sys.stderr)
        return False
    return True


def forecasts(values: np.ndarray, origins: np.ndarray, horizon: int, season: int, fitted_until) -> dict[str, np.ndarray]:
    """AutoETS's and AutoTheta's forecasts from each origin, each target on its own.

    Args:
        values: (rows, targets) the series in the data's units (gaps are interpolated over).
        origins: (windows,) row of each window's first forecast step.
        horizon: steps forecast.
        season: the season length (ETS is non-seasonal above ETS_MAX_SEASON).
        fitted_until: one past the last row each window's model may be fitted on: one number,
            or one per window (a backtest that retrains moves it forward).

    Returns:
        {name: (windows, horizon, targets)} in the data's units. A model that cannot be fitted
        with the season (too few rows for it) is fitted without one; on fewer rows than
        either fits (about 8), its row is the naive forecast.
    """
    origins = np.asarray(origins, dtype=np.int64)
    ends = np.broadcast_to(np.asarray(fitted_until, dtype=np.int64), origins.shape)
    out = {name: np.empty((len(origins), horizon, values.shape[1])) for name in NAMES}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsforecast's numerical warnings on short or flat series
        for j in range(values.shape[1]):
            y = pd.Series(values[:, j], dtype="float64").interpolate(limit_direction="both").to_numpy()
            for end in np.unique(ends):
                chosen = ends == end
                first = max(0, int(end) - HISTORY)
                history = y[first : int(end)]
                for name in NAMES:
                    model = _fitted(name, history, season)
                    out[name][chosen, :, j] = [
                        model.forward(y[forward_start(o, first, season) : o], horizon)["mean"] for o in origins[chosen]
                    ]
    return out


def forward_start(origin: int, first: int, season: int) -> int:
    """The row a forecast from `origin` runs forward from: about FORWARD rows back, in phase with the fit's first row.

    ETS runs forward from its fitted initial states, and its seasonal ones belong to the season's
    positions counted from the first row it was fitted on (`first`): started a number of rows
    from there that is not a whole number of seasons, its season is out of phase (a weekly peak
    forecast on the wrong day). A start a whole number of seasons from `first` keeps it in phase.
    """
    start = max(0, int(origin) - FORWARD)
    start -= (start - first) % max(season, 1)
    return start if start >= 0 else start + max(season, 1)


def _fitted(name: str, history: np.ndarray, season: int):
    """The model fitted on `history`, with the season where the data allows it, else without, else naive."""
    from statsforecast import models

    make = getattr(models, name)
    seasons = [season, 1] if season > 1 else [1]
    if name == "AutoETS" and season > ETS_MAX_SEASON:
        seasons = [1]
    for length in seasons:
        try:
            return make(season_length=length).fit(history)
        except Exception:  # statsforecast raises bare errors ("tiny datasets") for what the history cannot support
            continue
    return models.Naive().fit(history)


def mean_with_quantiles(values: np.ndarray, horizon: int, season: int, quantiles,
                        sides: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """The mean of AutoETS's and AutoTheta's forecasts from the end of a short series, with quantiles from the two
    models' own prediction intervals: what a panel series too short for the network is forecast by (round 26).

    Args:
        values: (rows, targets) in the data's units, a few rows at least one of them observed (gaps interpolated).
        quantiles: the levels to return, e.g. [0.1, 0.5, 0.9].

    Returns:
        (point (horizon, targets), bands (horizon, targets, quantiles)). Each quantile is the point plus the two
        models' offset from their own forecast at the central interval of that level (0.1 and 0.9: the 80% one),
        their mean (`sides="mean"`) or the wider of the two (`"wider"`), kept on its side of the point and in order.
        A target with a single observed value gives no spread (both models return a zero-width interval): its
        quantiles other than the median are NaN, no interval rather than one of zero width.
    """
    levels = {q: round(abs(1 - 2 * float(q)) * 100, 6) for q in quantiles}
    wanted = sorted({level for level in levels.values() if level > 0})
    point = np.empty((horizon, values.shape[1]))
    bands = np.empty((horizon, values.shape[1], len(quantiles)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(values.shape[1]):
            y = pd.Series(values[:, j], dtype="float64").interpolate(limit_direction="both").to_numpy()
            found = [_fitted(name, y[-HISTORY:], season).predict(horizon, level=wanted or None) for name in NAMES]
            point[:, j] = np.mean([f["mean"] for f in found], axis=0)
            for k, q in enumerate(quantiles):
                level, side = levels[q], ("lo" if q < 0.5 else "hi")
                if level == 0:
                    bands[:, j, k] = point[:, j]
                    continue
                offsets = [np.asarray(f[f"{side}-{level}"], dtype="float64") - f["mean"] for f in found]
                widest = np.min(offsets, axis=0) if side == "lo" else np.max(offsets, axis=0)
                offset = np.mean(offsets, axis=0) if sides == "mean" else widest
                if np.isfinite(values[:, j]).sum() < 2:  # one value: no spread to draw an interval from
                    offset = np.full_like(offset, np.nan)
                bands[:, j, k] = point[:, j] + (np.minimum(offset, 0) if side == "lo" else np.maximum(offset, 0))
    unordered = np.isnan(bands).any(axis=-1, keepdims=True)  # sorting would move the NaN past the median
    return point, np.where(unordered, bands, np.sort(bands, axis=-1))


def means_with_quantiles(series: list[np.ndarray], horizon: int, season: int, quantiles,
                         skip_hint: str = "") -> list[tuple[np.ndarray, np.ndarray]]:
    """`mean_with_quantiles` for each of many short series, in order, with a progress bar when it takes a while."""
    found = []
    with _progress(f"{len(series)} short series", "series", len(series), SECONDS_PER_SHORT_SERIES * len(series), 1,
                   skip_hint) as progress:
        for values in series:
            found.append(mean_with_quantiles(values, horizon, season, quantiles))
            progress.advance()
    return found


@dataclass(frozen=True)
class Job:
    """One series' fits: the arguments of `forecasts`."""

    values: np.ndarray
    origins: np.ndarray
    horizon: int
    season: int
    fitted_until: object  # one row number, or one per origin


def forecasts_many(jobs: list[Job], skip_hint: str = "") -> list[dict[str, np.ndarray]]:
    """`forecasts` for each job, in order: over the machine's cores when it is worth it, with a progress bar.

    A fit is single-threaded, and a panel of hundreds of long series takes minutes of them
    (300 daily series of 2,000 rows: 9 minutes on one core), so each core fits its share in
    a worker process. A job of many origins (a long test period: 10,000 windows of 15-minute
    rows take a minute) is cut into pieces of ORIGINS_PER_PIECE origins, each fitted again
    (the same fit: the same rows) and run forward on its own, so that the cores share it and
    the bar moves. `skip_hint`: how to skip the fits, shown beside the bar.
    """
    pieces = [(i, piece) for i, job in enumerate(jobs) for piece in _pieces(job)]
    seconds = sum(_estimate(piece) for _, piece in pieces)
    workers = min(_cores(), len(pieces)) if seconds >= PARALLEL_FROM else 1
    origins = sum(len(job.origins) for job in jobs)
    what = f"{len(jobs)} series" if len(jobs) > 1 else f"the {origins:,} forecast origins"
    found: list = []
    with _progress(what, "origins", origins, seconds, workers, skip_hint) as progress:
        if workers > 1:
            from concurrent.futures.process import BrokenProcessPool

            try:
                found = _in_workers([piece for _, piece in pieces], workers, progress.advance)
            except (OSError, BrokenProcessPool) as error:  # no worker could start (a sandbox, a limit) or one died
                print(f"note: fitting AutoETS and AutoTheta in this process instead ({error}).", file=sys.stderr)
                progress.restart()
        if not found:
            for _, piece in pieces:
                found.append(_run(piece))
                progress.advance(len(piece.origins))
    joined: list[list] = [[] for _ in jobs]
    for (i, _), one in zip(pieces, found):
        joined[i].append(one)
    return [{name: np.concatenate([one[name] for one in parts]) for name in NAMES} if len(parts) > 1 else parts[0]
            for parts in joined]


def _pieces(job: Job) -> list[Job]:
    """The job cut into runs of at most ORIGINS_PER_PIECE origins (itself when it is shorter)."""
    n = len(job.origins)
    if n <= ORIGINS_PER_PIECE:
        return [job]
    ends = np.broadcast_to(np.asarray(job.fitted_until, dtype=np.int64), (n,))
    cuts = np.array_split(np.arange(n), -(-n // ORIGINS_PER_PIECE))
    return [Job(job.values, job.origins[rows], job.horizon, job.season, ends[rows].copy()) for rows in cuts]


def _estimate(job: Job) -> float:
    fits = SECONDS_PER_ROW * min(int(np.max(job.fitted_until)), HISTORY) * len(np.unique(job.fitted_until))
    return (fits + SECONDS_PER_ORIGIN * len(job.origins)) * job.values.shape[1]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _run(job: Job) -> dict[str, np.ndarray]:
    return forecasts(job.values, job.origins, job.horizon, job.season, job.fitted_until)


def _quiet_worker() -> None:
    """Ctrl-C stops the parent, which cancels the work left; the workers do not print tracebacks of their own."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_workers(jobs: list[Job], workers: int, advance) -> list[dict[str, np.ndarray]]:
    """The jobs fitted by `workers` fresh processes (spawned: the parent's TensorFlow threads are not forked)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    found: list = [None] * len(jobs)
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker)
    try:
        pending = {pool.submit(_run, job): i for i, job in enumerate(jobs)}
        for done in as_completed(pending):
            found[pending[done]] = done.result()
            advance(len(jobs[pending[done]].origins))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return found


class _progress:
    """A note and a progress bar on stderr, for fits estimated at PROGRESS_FROM seconds or more.

    `what`: what is fitted, for the note ("30 series"); `unit`: what the bar counts, `total` of them.
    """

    def __init__(self, what: str, unit: str, total: int, seconds: float, workers: int, skip_hint: str):
        self.bar = None
        if seconds < PROGRESS_FROM:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        where = f"{workers} processes" if workers > 1 else "one process"
        wall = seconds / workers
        took = f"{max(5, round(wall / 5) * 5)} seconds" if wall < 90 else f"{round(wall / 60)} minutes"
        print(f"note: fitting AutoETS and AutoTheta to {what} in {where}, about {took}"
              f"{' ' + skip_hint if skip_hint else ''}.", file=sys.stderr)
        self.bar = Progress(TextColumn(f"AutoETS, AutoTheta ({unit})"), BarColumn(bar_width=30), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True))
        self.task = self.bar.add_task("fits", total=total)

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, n)

    def restart(self) -> None:
        if self.bar is not None:
            self.bar.reset(self.task)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
