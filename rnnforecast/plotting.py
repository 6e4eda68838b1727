"""Figures a person reads: forecast against actual, the future, and the loss curves.

Figures are built with matplotlib's object API and returned, never shown: no display,
no pyplot state. The caller saves them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from matplotlib import rc_context
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rnnforecast import forecasting, intervals, runs
from rnnforecast.errors import UserError

MAX_TARGET_PANELS = 6
# The interval's shade: tab:red at 20% on white, opaque. EPS and PS have no transparency, and an alpha band there was
# solid red over the forecast line of the same red; drawn under the lines (zorder 1) it looks the same in every format.
BAND = (0.967, 0.830, 0.831)
PANEL_SERIES = 6  # series drawn by default for a panel run
# Titles and labels carry the user's column, series and file names: `$` in one is text, not TeX (`cost $_$`
# would make matplotlib raise at save time). Text objects take the setting when created, so the builders run in it.
_literal_text = rc_context({"text.parse_math": False})


@_literal_text
def forecast_figure(
    title: str,
    actual: pd.DataFrame,
    test_forecast: pd.DataFrame,
    future: pd.DataFrame,
    history: pd.DataFrame,
    history_start,
    bands: dict | None = None,
    test_label: str = "forecast (test period)",
    kept: tuple[int, float | None] | None = None,
) -> Figure:
    """One panel per target (history tail, test forecast vs actual, future), then the loss curves.

    Args:
        actual: the observed series (the data's units), indexed by time.
        test_forecast: the model's forecasts over the test period, one per row.
        future: the forecast after the last row.
        history: per-epoch `loss` and `val_loss` (history.csv).
        history_start: first index label of `actual` to draw.
        bands: per target, (lower, upper, label) of the future's calibrated interval.
        test_label: the test-period line's name (the network alone, where the future is a mix).
        kept: (the epoch early stopping kept, 0 for the untrained start; the start's validation loss), from
            metadata.json, marked on the loss curves.

    One legend for the figure, above the panels: in a panel it hid the data (a summer peak, a spike).
    """
    targets = list(future.columns)[:MAX_TARGET_PANELS]
    n = len(targets)
    fig = Figure(figsize=(13, 3.2 * n + 3.2), layout="constrained")  # 0.4 in. for the legend above the panels
    grid = fig.add_gridspec(n + 1, 2, height_ratios=[3] * n + [2], width_ratios=[3, 1])
    time_label = actual.index.name or "step"
    shown = actual.loc[history_start:]
    recent = actual.iloc[-max(3 * len(future), 30) :]
    for i, target in enumerate(targets):
        ax = fig.add_subplot(grid[i, 0])
        ax.plot(shown.index, shown[target], color="0.35", lw=1, label="actual")
        ax.plot(test_forecast.index, test_forecast[target], color="tab:blue", lw=1.2, label=test_label)
        ax.plot(future.index, future[target], color="tab:red", lw=1.8, label=f"forecast ({len(future)} steps ahead)")
        ax.axvline(test_forecast.index[0], color="tab:blue", ls=":", lw=1, label="test period starts")
        ax.set_ylabel(target)
        ax.set_xlabel(time_label)
        heading = f"{target}: forecast vs actual over the test period"
        ax.set_title(f"{title}\n{heading}" if i == 0 else heading, loc="left")
        if isinstance(shown.index, pd.DatetimeIndex):  # short labels: 2016-09-29 and 2016-10-01 drew over each other
            locator = AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.grid(alpha=0.3)
        zoom = fig.add_subplot(grid[i, 1])
        zoom.plot(recent.index, recent[target], color="0.35", lw=1, marker=".", ms=3, label="actual")
        zoom.plot(future.index, future[target], color="tab:red", lw=1.8, marker=".", ms=4, label="forecast")
        if bands and target in bands:
            lower, upper, label = bands[target]
            for axis in (ax, zoom):
                axis.fill_between(future.index, lower, upper, color=BAND, lw=0, zorder=1, label=label)
        zoom.set_title(f"{target}: the next {len(future)} steps", loc="left")
        zoom.set_xlabel(time_label)
        zoom.tick_params(axis="x", labelrotation=30)
        if isinstance(recent.index, pd.DatetimeIndex):
            locator = AutoDateLocator(minticks=2, maxticks=4)
            zoom.xaxis.set_major_locator(locator)
            zoom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        else:
            zoom.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        zoom.grid(alpha=0.3)
    entries = fig.axes[0].get_legend_handles_labels()
    ax = fig.add_subplot(grid[n, :])
    if "loss" not in history or history.empty:  # tune's refit of a best trial whose untrained start won
        ax.text(0.5, 0.5, "no epoch trained: the model is its fitted start", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_axis_off()
        fig.legend(*entries, loc="outside upper center", ncols=5, fontsize="small")
        return fig
    epochs = history["epoch"] if "epoch" in history else range(1, len(history) + 1)
    ax.plot(epochs, history["loss"], marker="o", ms=3, label="training loss")
    if "val_loss" in history:
        ax.plot(epochs, history["val_loss"], marker="o", ms=3, label="validation loss")
    if kept is not None:  # which epoch the model is: early stopping may keep an earlier one, or the untrained start
        best, start = kept
        if start is not None:
            ax.plot([0], [start], marker="s", ms=5, color="tab:orange", ls="", label="validation loss, untrained start")
        ax.axvline(best, color="0.3", ls="--", lw=1,
                   label="kept: the untrained start" if best == 0 else f"kept: epoch {best}")
        epochs = [0, *epochs] if start is not None or best == 0 else epochs
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (scaled units)")
    losses = history[[c for c in ("loss", "val_loss") if c in history]].to_numpy().ravel()
    losses = losses[pd.notna(losses)]
    # log only where the loss falls by more than 10x: a flat curve on a log axis gets unreadable 5.9 x 10^-1 ticks
    ax.set_yscale("log" if len(losses) and losses.min() > 0 and losses.max() / losses.min() > 10 else "linear")
    ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)  # one epoch: tick 1, not 0.945 to 1.050
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_title("Training curves", loc="left")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.legend(*entries, loc="outside upper center", ncols=5, fontsize="small")  # added last: constrained layout
    return fig


@_literal_text
def error_by_step_figure(title: str, per_step: dict[str, dict], metric: str = "mae", units: str = "data units") -> Figure:
    """The error at each horizon step, one line per forecaster (a backtest's scores; a panel's: MASE over its series).

    Args:
        per_step: forecaster name -> the `per_step` dict of metrics.score, e.g. {"model": {"mae": [...]}}.
        units: what the values are in, for the axis ("scaled units" for several targets: their units differ).
    """
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.add_subplot()
    styles = {"model": ("tab:blue", "-"), "naive": ("0.45", "--"), "seasonal_naive": ("tab:orange", ":"),
              "AutoETS": ("tab:green", "-."), "AutoTheta": ("tab:purple", "-."), "combined": ("tab:red", "-")}
    for name, scores in per_step.items():
        values = [float("nan") if v is None else v for v in scores[metric]]  # None: no observed value at that step
        color, line = styles.get(name, (None, "-"))
        ax.plot(range(1, len(values) + 1), values, color=color, ls=line, marker=".", ms=4, label=name.replace("_", " "))
    ax.set_xlabel("horizon step")
    ax.set_ylabel("MASE (mean over the series)" if metric == "mase" else f"{metric.upper()} ({units})")
    ax.set_title(f"{title}\n{metric.upper()} by horizon step over every backtest fold", loc="left")
    ax.set_xlim(0.5, max((len(s[metric]) for s in per_step.values()), default=1) + 0.5)  # no step 0 on the axis
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


@_literal_text
def search_figure(trials: pd.DataFrame, score: str, importances: dict[str, float], title: str) -> Figure:
    """A hyperparameter search: each trial's validation score with the best so far, and what mattered.

    Args:
        trials: trials.csv (columns trial, state and `score`).
        importances: parameter -> importance (Optuna's, summing to 1); empty draws a note instead.
    """
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=[3, 2])
    ax = fig.add_subplot(grid[0, 0])
    done = trials[trials["state"] == "complete"] if len(trials) else trials
    if len(done):
        ax.scatter(done["trial"], done[score], color="tab:blue", s=18, label="complete")
        best = done.sort_values("trial")[score].cummin()
        ax.step(done.sort_values("trial")["trial"], best, where="post", color="tab:red", label="best so far")
        for state, marker in (("pruned", "x"), ("fail", "v")):
            count = int((trials["state"] == state).sum())
            if count:  # on the axis' bottom edge, not at a score: below the best line they read as better ones
                ax.scatter(trials.loc[trials["state"] == state, "trial"], [0.0] * count, marker=marker, color="0.45",
                           label=f"{state} ({count}, no score)", transform=ax.get_xaxis_transform(), clip_on=False)
        ax.set_yscale("log" if done[score].min() > 0 and done[score].max() / done[score].min() > 20 else "linear")
    else:
        ax.text(0.5, 0.5, "no trial completed (trials.csv gives each reason)", ha="center", transform=ax.transAxes)
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{score} (validation windows)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_title(f"{title}\nValidation score by trial", loc="left")
    ax.grid(alpha=0.3)
    if len(done):
        ax.legend(fontsize="small")
    imp = fig.add_subplot(grid[0, 1])
    if importances:
        names = list(importances)[::-1]
        imp.barh(names, [importances[n] for n in names], color="tab:blue")
        imp.set_xlabel("importance (Optuna's evaluator, sums to 1)")
    else:
        imp.text(0.5, 0.5, "importances need at least two\ncompleted trials that differ", ha="center",
                 va="center", transform=imp.transAxes)
        imp.set_xticks([])
        imp.set_yticks([])
    imp.set_title("Parameter importances", loc="left")
    return fig


IMAGE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "webp", "tif", "tiff", "eps", "ps")
# Formats Pillow writes carry no "Matplotlib" stamp of their own: a comment says who made the file, so that the next
# plot may replace it (runs.made_by_matplotlib) while a photo of the same name is refused.
STAMP = "Made by rnnforecast with Matplotlib"
PIL_STAMPS = {"jpg": {"comment": STAMP.encode()}, "jpeg": {"comment": STAMP.encode()},
              "webp": {"xmp": f"<x:xmpmeta>{STAMP}</x:xmpmeta>".encode()},
              "tif": {"description": STAMP}, "tiff": {"description": STAMP}}


def image_format(output: Path) -> str:
    """The image format an output's name asks for (png when it has no suffix); anything else is refused."""
    suffix = Path(output).suffix.lower().lstrip(".")
    if not suffix:
        return "png"
    if suffix not in IMAGE_FORMATS:
        raise UserError(
            f"--output {output}: '.{suffix}' is not an image format plot writes. End the name with .png (or "
            f"{', '.join('.' + f for f in IMAGE_FORMATS[1:])})."
        )
    return suffix


def save_run_plot(run: runs.Run, data_path: Path | None, output: Path, only: list[str] | None = None) -> list[str]:
    """Forecast the test period and the future with a run's model, draw them, save a PNG atomically; return notes.

    A panel run draws small multiples of a few series (the first ones, or `only`); of the first ones, a series
    shorter than one input window (no network forecast to draw) is left out with a note.
    """
    _check(output)  # an output that is no image, or an image it may not replace, is refused before any work
    model, final = forecasting.models_for_future(run)
    if run.is_panel:
        chosen = only or list(run.prep["series"])[:PANEL_SERIES]
        short: dict = {}
        notes: list[str] = []  # what reading --data noticed, as predict says it
        prepared = forecasting.prepare_panel(run, data_path, chosen, too_short=short, notes=notes)
        named = ", ".join(map(str, list(short)[:5])) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
        them = "it" if len(short) == 1 else "them"
        why = (f"fewer rows than one input window ({run.config.window.input_length} steps): the network does not "
               f"forecast {them}, so there is no model forecast to draw (`predict` forecasts {them} by AutoETS and "
               "AutoTheta)")
        if short and (only or not prepared):
            raise UserError(f"series {named} {'holds' if len(short) == 1 else 'hold'} {why}. Plot other series.")
        fig = panel_figure(run, prepared, model, final)
        _save(fig, output, dpi=100)
        return notes + forecasting.backtest_notes(run) + ([f"series {named} left out of the plot: {'it holds' if len(short) == 1 else 'they hold'} "
                         f"{why}."] if short else [])
    if only:
        raise UserError("--series is for runs trained on many series (data.id_column); this run has one.")
    prepared = forecasting.prepare(run, data_path)
    test_forecast = forecasting.test_path(prepared, model)
    table = forecasting.single_future(prepared, model, final)  # what `predict` writes, a mix included
    future = table[run.prep["targets"]]
    actual = prepared.series.frame[future.columns]
    context = max(4 * run.config.window.input_length, 2 * run.config.window.horizon)
    first = actual.index[max(prepared.test_lo - context, 0)]
    title = f"{run.path.name}: {run.config.model.type} on {prepared.series.path.name}"
    targets = run.prep["targets"]
    notes = forecasting.reading_notes([prepared.series], data_path) + forecasting.backtest_notes(run)
    if len(targets) > MAX_TARGET_PANELS:  # the seventh target was left out without a word
        title += f" (first {MAX_TARGET_PANELS} of {len(targets)} targets)"
        notes.append(f"the plot draws the first {MAX_TARGET_PANELS} of the {len(targets)} targets; "
                     f"{', '.join(targets[MAX_TARGET_PANELS:])} {'is' if len(targets) == MAX_TARGET_PANELS + 1 else 'are'} "
                     "in `predict`'s table and `evaluate`'s scores.")
    mix = forecasting.combination.weights(run)
    test_label = "forecast (test period)"
    if mix is not None:  # the future line is what `predict` forecasts; the test-period line is the network's
        what = "AutoETS and AutoTheta" if mix[0] == 0 else "the network with AutoETS and AutoTheta"
        title += f" (forecast: {what}; test period: the network)"
        test_label = "test forecast (network alone)"
    bands = _bands(run, table)
    best = run.metadata.get("best_epoch")
    kept = (int(best), run.metadata.get("initial_val_loss")) if isinstance(best, int) else None
    fig = forecast_figure(title, actual, test_forecast, future, run.history, first, bands, test_label, kept)
    _save(fig, output, dpi=110)
    return notes  # --data's filled gaps or other units, a backtest's folder: as predict says them


def _check(output: Path) -> None:
    image_format(output)
    runs.check_output(output, replaceable=runs.made_by_matplotlib, what="plot")


def _save(fig, output: Path, dpi: int) -> None:
    """The figure written where the user asked, atomically; an existing image not drawn by Matplotlib is refused."""
    kind = image_format(output)
    extra = {"pil_kwargs": PIL_STAMPS[kind]} if kind in PIL_STAMPS else {}
    def write(tmp: Path) -> None:
        # EPS and PS: Matplotlib logs that the shaded interval is drawn opaque there, a fact of the format, not advice.
        postscript = logging.getLogger("matplotlib.backends.backend_ps")
        level = postscript.level
        postscript.setLevel(logging.ERROR)
        try:
            fig.savefig(tmp, dpi=dpi, format=kind, **extra)
        finally:
            postscript.setLevel(level)

    if str(output) == "-":
        import sys

        runs.write_to_stream(sys.stdout.buffer, write, f".{kind}")
        return
    runs.write_output(output, write, replaceable=runs.made_by_matplotlib, what="plot")


@_literal_text
def panel_figure(run: runs.Run, prepared: dict, model, final=None) -> Figure:
    """Small multiples: for each series, the recent history, the last test forecasts (of the honest `model`)
    and the future (of the `final` model when given); a run of several targets draws a row per series, a
    column per target (the first MAX_TARGET_PANELS)."""
    targets = run.prep["targets"][:MAX_TARGET_PANELS]
    n = len(prepared)
    cols = min(3, n) if len(targets) == 1 else len(targets)
    rows = -(-n // cols) if len(targets) == 1 else n
    fig = Figure(figsize=(5 * cols, 3 * rows + 0.6), layout="constrained")
    shown = ", ".join(map(str, targets)) + (f" (first {len(targets)} of {len(run.prep['targets'])} targets)"
                                            if len(targets) < len(run.prep["targets"]) else "")
    fig.suptitle(f"{run.path.name}: {shown}, {n} of {len(run.prep['series'])} series", ha="left", x=0.01)
    calibration = forecasting.calibrated_panel(run, model)
    table = forecasting.panel_future(run, prepared, final or model, calibration)  # what `predict` writes, a mix included
    ids = table[run.prep["id_column"]].to_numpy()
    time = table.columns[1]
    pairs = intervals.central_pairs(calibration["quantiles"])
    mix = forecasting.combination.weights(run)
    for i, (key, one) in enumerate(prepared.items()):
        try:
            test = forecasting.test_path(one, model)
        except UserError:
            test = None  # a series without a full test window still gets its future drawn
        own = table[ids == key]
        for j, target in enumerate(targets):
            ax = fig.add_subplot(rows, cols, i * len(targets) + j + 1)
            _draw_series(ax, one, target, None if test is None else test[target], own, time, pairs, mix)
            ax.set_title(f"{run.prep['id_column']} = {key}" + (f": {target}" if len(targets) > 1 else ""),
                         loc="left", fontsize="medium")
    handles = {}  # one legend for the figure: over the first series it hid data; some entries only some series have
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=len(handles), fontsize="small")
    return fig


def _draw_series(ax, one, target: str, test, own: pd.DataFrame, time: str, pairs: list, mix) -> None:
    """One panel series' target on one axis: its recent history, the test forecasts and the future with its band."""
    H, L = one.run.config.window.horizon, one.run.config.window.input_length
    actual = one.series.frame[target]
    tail = actual.iloc[-max(L + 3 * H, 4 * H) :]
    ax.plot(tail.index, tail, color="0.35", lw=1, label="actual")
    if len(actual) - len(tail) <= one.test_lo < len(actual):  # where the scored part begins, when it is in view
        ax.axvline(actual.index[one.test_lo], color="tab:blue", ls=":", lw=1, label="test period starts")
    if test is not None:
        test = test.loc[tail.index[0] :]
        label = "test forecast" if mix is None else "test forecast (network alone)"
        ax.plot(test.index, test, color="tab:blue", lw=1.1, label=label)
    when = pd.Index(own[time])
    if pairs:
        low, high = pairs[0]
        ax.fill_between(when, own[intervals.quantile_column(target, low)], own[intervals.quantile_column(target, high)],
                        color=BAND, lw=0, zorder=1, label=f"{intervals.level_label(low, high)} interval (calibrated)")
    ax.plot(when, own[target], color="tab:red", lw=1.6, label="forecast")
    ax.set_ylabel(target)
    ax.tick_params(axis="x", labelrotation=30, labelsize="small")
    ax.grid(alpha=0.3)


def _bands(run: runs.Run, table: pd.DataFrame) -> dict:
    """The widest calibrated central interval of the future forecast (single_future's table), per target."""
    pairs = intervals.central_pairs(forecasting.calibrated(run)["quantiles"])
    if not pairs:
        return {}
    low, high = pairs[0]
    label = f"{intervals.level_label(low, high)} interval (calibrated)"
    return {t: (table[intervals.quantile_column(t, low)], table[intervals.quantile_column(t, high)], label)
            for t in run.prep["targets"]}
