"""`model.combine`: the network's forecast averaged with AutoETS's and AutoTheta's.

A pooled network reads each series through a window; exponential smoothing and Theta see each
series' whole history, its own smoothing weight and trend. A panel's forecast under `auto` is
the three in equal thirds (benchmarks/DEFAULTS.md: round 15 found a mix better than the network
alone on every development panel one horizon before the test; round 24 found the fixed thirds
as good as a mix chosen on validation, 0.990 of its mean MASE, with no fit inside `train`). A
named mix (`ets`, `theta`, `ets+theta`) is kept as given. The choice is saved as the run's
combination.json; `predict` and `evaluate` apply it. One series keeps the network alone (round 13:
a choice did not carry from one half of the validation windows to the other), except in two
cases. A series of fewer than SHORT_ROWS rows is averaged with both in equal thirds (round 21: on
short series sampled from the development panels the network alone was far behind them; round 22:
on the long development series cut to 300, 700 and 1,500 rows, still behind at 1,500). A longer
one whose trained model is still its seasonal-naive start on every validation window, where the
network added nothing, is forecast by the mean of AutoETS and AutoTheta ("classical"; round 20).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnforecast import data, runs
from rnnforecast.forecasting import classical
from rnnforecast.forecasting.inference import Prepared
from rnnforecast.runs import Run, write_json

FILE = "combination.json"
WEIGHTS = {  # (network, AutoETS, AutoTheta)
    "none": (1.0, 0.0, 0.0),
    "ets": (0.5, 0.5, 0.0),
    "theta": (0.5, 0.0, 0.5),
    "ets+theta": (1 / 3, 1 / 3, 1 / 3),
    "classical": (0.0, 0.5, 0.5),  # one series whose network is its seasonal-naive start (round 20)
}
SHORT_ROWS = 2000  # one series with fewer rows is averaged with AutoETS and AutoTheta (rounds 21 and 22)
PANEL_AUTO = "ets+theta"  # a panel's mix under `auto` (round 24)
START_TOLERANCE = 1e-4  # scaled units: a forecast this close to seasonal naive's on every window is the start
MAX_SERIES = 5000  # a fit of each classical model per series at predict: 0.1 to 2 s each


def load(run: Run) -> dict | None:
    """The run's saved choice, or None (a run without one, or one of an older version).

    `train` records the mix in metadata.json too: a file deleted or edited since is refused by name, not
    read as the network alone (a run that records none, from an older version or a backtest, may lack it).
    """
    path = Path(run.path) / FILE
    recorded = run.metadata.get("combination")
    if not path.is_file():
        if recorded not in (None, "none"):
            raise runs.damaged(path, f"missing, though metadata.json records that the forecast mixes {recorded!r}")
        return None
    found = runs.json_file(path, ("chosen",))
    if found["chosen"] != "none" and found["chosen"] not in WEIGHTS:
        raise runs.damaged(path, f"unknown mix {found['chosen']!r}")
    if recorded is not None and found["chosen"] != recorded:
        raise runs.damaged(path, f"it holds the mix {found['chosen']!r}, metadata.json records {recorded!r}")
    return found


def weights(run: Run) -> tuple[float, float, float] | None:
    """The (network, AutoETS, AutoTheta) weights `predict` and `evaluate` apply; None: the network alone."""
    found = load(run)
    chosen = found["chosen"] if found else "none"
    return None if chosen == "none" else WEIGHTS[chosen]


def choose_new_run(run: Run, model=None, prepared: Prepared | None = None, validation=None) -> list[str]:
    """Choose and save a just-trained run's combination; returns notes for the user.

    A panel: `auto` is the thirds (PANEL_AUTO), a named mix is kept as given; `none`, a quantile
    model or, under `auto`, a panel of more than MAX_SERIES series keeps the network alone. One
    series: only `auto` mixes, by `single_choice` (a short series, or a network still at its start);
    `prepared` and `validation` (its validation forecasts), when the caller has them, are not computed again.
    """
    setting = run.config.model.combine
    if setting != "none" and run.config.model.output.quantiles:
        short = prepared is not None and len(prepared.series.frame) < SHORT_ROWS and not reads_covariates(run.config)
        if run.is_panel or short:
            return [f"model.combine: {setting} does not mix a quantile model (model.output.quantiles) with AutoETS and "
                    "AutoTheta: its quantiles are the network's own, so the forecast is the network's alone."]
        return []
    if setting == "none":
        return []
    if not run.is_panel:
        return _choose_single(run, model, prepared, validation) if setting == "auto" else _named_single(run, setting)
    if not classical.installed():
        write_json(Path(run.path) / FILE, {"chosen": "none", "reason": "statsforecast is not installed"})
        return [f"model.combine: the forecast is the network's alone: statsforecast is not installed "
                f"({classical.INSTALL})."]
    found = panel_choice(setting, len(run.prep["series"]))
    write_json(Path(run.path) / FILE, found)
    if found["chosen"] == "none":
        return [f"model.combine: the forecast is the network's alone: {len(run.prep['series'])} series is more than "
                f"{MAX_SERIES} (a fit of AutoETS and AutoTheta per series at predict); name a mix in model.combine to "
                "force one."]
    parts = {"ets": "AutoETS's", "theta": "AutoTheta's", "ets+theta": "AutoETS's and AutoTheta's"}[found["chosen"]]
    why = ("model.combine: auto; on the development panels the thirds were as good as a mix chosen on validation, "
           "benchmarks/DEFAULTS.md round 24" if setting == "auto" else f"model.combine: {setting}")
    return [f"the forecast is the network's averaged with {parts}, fitted on each series at predict ({why}; "
            f"{FILE}; model.combine: none keeps the network alone)."]


def _named_single(run: Run, setting: str) -> list[str]:
    """One series with a mix named in model.combine (ets, theta, ets+theta): that mix, as a panel takes it."""
    parts = {"ets": "AutoETS's", "theta": "AutoTheta's", "ets+theta": "AutoETS's and AutoTheta's"}[setting]
    if not classical.installed():
        write_json(Path(run.path) / FILE, {"chosen": "none", "setting": setting, "reason": "statsforecast is not installed"})
        return [f"model.combine: {setting}: the forecast is the network's alone, statsforecast is not installed "
                f"({classical.INSTALL})."]
    write_json(Path(run.path) / FILE, {"chosen": setting, "setting": setting})
    return [f"the forecast is the network's averaged with {parts}, fitted on every row at predict (model.combine: "
            f"{setting}; {FILE}; model.combine: none keeps the network alone)."]


def forecasts_short_series(run: Run) -> bool:
    """Whether `predict` forecasts a panel's series too short for the network by AutoETS and AutoTheta (round 26):
    when the run mixes the network with them (statsforecast installed, model.combine not none)."""
    return run.is_panel and weights(run) is not None and classical.installed()


def short_series_note(keys: list, input_length: int) -> str:
    examples = data.id_examples(keys)
    return (f"{len(keys)} series hold fewer rows than one input window ({input_length} steps): each is forecast by the "
            f"mean of AutoETS and AutoTheta fitted on its own rows, with their prediction intervals "
            f"(benchmarks/DEFAULTS.md round 26): {examples}")


def no_interval_note(keys: list) -> str:
    examples = data.id_examples(keys)
    holds, their = ("holds", "its") if len(keys) == 1 else ("hold", "their")
    return (f"{len(keys)} of them {holds} a single value, which gives no spread to draw an interval from: {their} "
            f"quantile columns other than the median are left empty rather than an interval of zero width: {examples}")


def panel_choice(setting: str, n_series: int) -> dict:
    """What a panel's combination.json holds: `auto`'s thirds (the network alone above MAX_SERIES), or the named mix."""
    if setting == "auto" and n_series > MAX_SERIES:
        return {"chosen": "none", "setting": setting, "reason": f"more than {MAX_SERIES} series"}
    return {"chosen": PANEL_AUTO if setting == "auto" else setting, "setting": setting}


def _choose_single(run: Run, model=None, prepared: Prepared | None = None, validation=None) -> list[str]:
    """One series: a short one averaged with the classical models, a network at its start replaced by them."""
    from rnnforecast.forecasting.inference import prepare, validation_forecasts

    prepared = prepared or prepare(run)
    if validation is None:
        validation = validation_forecasts(prepared, model or run.load_model())
    found = start_check(validation, run.prep)
    rows = len(prepared.series.frame)
    chosen = single_choice(rows, found["at_start"], reads_covariates(run.config))
    if chosen is None:
        return []
    found |= {"rows": rows, "reason": "short" if chosen == "ets+theta" else "at its seasonal-naive start"}
    if chosen == "ets+theta":
        why = (f"{prepared.series.label} has {rows} rows, under {SHORT_ROWS:,}: on series this short the network alone "
               "was behind its average with AutoETS and AutoTheta (benchmarks/DEFAULTS.md, rounds 21 and 22)")
        what = "the network's averaged with AutoETS's and AutoTheta's in equal thirds (those two fitted on every row)"
    else:
        why = (f"the network learned nothing that beats its seasonal-naive start (its forecast on all "
               f"{found['windows']} validation windows is seasonal naive's)")
        what = "the mean of AutoETS's and AutoTheta's, fitted on every row"
    if not classical.installed():
        write_json(Path(run.path) / FILE, {"chosen": "none", **found, "reason": "statsforecast is not installed"})
        return [f"{why}; with statsforecast installed the forecast would be {what}: {classical.INSTALL}."]
    write_json(Path(run.path) / FILE, {"chosen": chosen, "setting": "auto", **found})
    return [f"{why}: the forecast is {what} ({FILE}; set model.combine: none to keep the network alone)."]


def single_choice(rows: int, at_start: bool, covariates: bool = False) -> str | None:
    """`auto`'s mix for one series: the three-way mix under SHORT_ROWS rows, the classical mean for a network still
    at its seasonal-naive start, else None (the network alone).

    A network that reads other columns than its targets (`covariates`) is not mixed for being short: the
    evidence is from series alone, and AutoETS and AutoTheta would dilute what a known price or calendar tells it.
    """
    if rows < SHORT_ROWS and not covariates:
        return "ets+theta"
    return "classical" if at_start else None


def reads_covariates(config) -> bool:
    """Whether the network reads columns besides its targets (features, categories, known-future inputs)."""
    found = config.data
    return bool(found.features or found.categorical or found.future_features or found.calendar)


def start_check(validation, prep: dict) -> dict:
    """Whether a single series' network forecasts are its seasonal-naive start: the largest gap, scaled units."""
    n = validation.actual.shape[-1]
    unit = np.asarray(prep["scale"][:n])
    gap = float((np.abs(validation.forecasts["model"] - validation.forecasts["seasonal_naive"]) / unit).max())
    return {"at_start": gap <= START_TOLERANCE, "largest_gap_scaled": gap, "windows": int(len(validation.actual))}


SKIP_HINT = "(model.combine: none skips them)"


def future(prepared: dict[str, Prepared], horizon: int, mix: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Each series' classical part of the combined future forecast (horizon, targets), data units.

    AutoETS and AutoTheta are fitted on the series' last rows (at most classical.HISTORY) and
    forecast from its end; the network's part is added by the caller.
    """
    jobs = []
    for one in prepared.values():
        run, n = one.run, one.n_targets
        history = data.unscale(one.values[:, :n], run.prep)
        observed = np.flatnonzero(~np.isnan(history).all(axis=1))
        end = int(observed[-1]) + 1 if len(observed) else len(history)  # not past the last observed row
        jobs.append(classical.Job(history, np.array([end]), horizon, int(run.prep["season_length"]), end))
    fits = classical.forecasts_many(jobs, SKIP_HINT)
    return {key: mix[1] * fit["AutoETS"][0] + mix[2] * fit["AutoTheta"][0] for key, fit in zip(prepared, fits)}
