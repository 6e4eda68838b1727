"""AutoETS and AutoTheta beside the network when statsforecast is installed: does a classical model beat it?

A user's first question about a network's forecast is whether exponential smoothing or Theta, a
second's work each, would have done as well. With the `classical` extra, `evaluate` and
`backtest` score statsforecast's AutoETS and AutoTheta on the same windows as the model and the
naive baselines. Each is fitted once, on the rows the model saw before the test period (as the
network is trained once), and run forward to every origin with those parameters: its state is
updated with every value up to the origin, its parameters are not refitted.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np
import pandas as pd

from rnnforecast.errors import UserError

NAMES = ("AutoETS", "AutoTheta")
HISTORY = 2000  # rows a fit reads: ETS and Theta hardly use older ones, and a fit stays under a second
FORWARD = 1000  # rows each origin's forecast runs over: Theta's forward costs 1 ms at 1,000 rows, 3.4 ms at 2,000
ETS_MAX_SEASON = 24  # longer seasons make ETS slow (10 s a fit at 365) and R's ets refuses them: non-seasonal above
MAX_PANEL_SERIES = 1000  # a fit per series: above this many, only when asked for (--classical)
INSTALL = "pip install 'rnnforecast[classical]'"
DESCRIPTION = (
    "AutoETS and AutoTheta (statsforecast) fitted once on the rows before the test period (at most the last "
    f"{HISTORY}), then run forward to each origin over its last {FORWARD} rows with those parameters"
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
    if n_series > 100:
        print(f"note: fitting AutoETS and AutoTheta to each of {n_series} series (about 0.1 s each); "
              "--no-classical skips them.", file=sys.stderr)
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
                history = y[max(0, int(end) - HISTORY) : int(end)]
                for name in NAMES:
                    model = _fitted(name, history, season)
                    out[name][chosen, :, j] = [
                        model.forward(y[max(0, o - FORWARD) : o], horizon)["mean"] for o in origins[chosen]
                    ]
    return out


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
