"""Turn results into text for the terminal: the metrics table and the environment summary."""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table

NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive", "combined": "combined (predict)"}


def metrics_table(report: dict) -> Table:
    """Model against baselines on the test windows: data units first, then scaled units."""
    season = report["season_length"]
    table = _scores_table(
        f"Test period {' to '.join(_when(report['period']))}: "
        f"{report['windows']} window{'s' * (report['windows'] != 1)}, horizon {report['horizon']}, "
        f"target {_names(report['targets'])}",
        ("MAE", "RMSE", "MAPE%", "sMAPE%", "MASE", "scaled MAE"),
    )
    best = _best({name: scores["overall"]["mae"] for name, scores in report["original"].items()})
    for name, scores in report["original"].items():
        o, s = scores["overall"], report["scaled"][name]["overall"]
        label = NAMES.get(name, name)
        row = [o["mae"], o["rmse"], o["mape"], o["smape"], o["mase"], s["mae"]]
        style = "bold green" if name == best else None
        table.add_row(label, *(_fmt(v) for v in row), style=style)
    notes = [f"naive repeats the last value; seasonal naive repeats the last {season} steps."] + _classical_note(report)
    skipped = report["original"]["model"]["mape_skipped_zeros"]
    if len(report["targets"]) > 1:
        notes.append("MAE and RMSE here average the targets' units; compare scaled MAE, or each target's table below.")
    if report["original"]["model"]["overall"]["mape"] is None:
        which = "a target takes" if len(report["targets"]) > 1 else "the series takes"
        notes.append(f"MAPE is n/a: {which} both signs, where a percentage error says nothing.")
    elif skipped:
        notes.append(f"MAPE skips {skipped} zero actual value(s), where it is undefined.")
    table.caption = " ".join(notes)
    table.caption_justify = "left"
    return table


def target_table(report: dict, target: str) -> Table:
    """One target's scores in its own units (a run of several targets): the overall table averages their units."""
    table = _scores_table(f"Target {_names([target])} alone, in its own units", ("MAE", "RMSE", "MAPE%", "sMAPE%", "MASE"))
    found = {name: scores["per_target"][target] for name, scores in report["original"].items()}
    best = _best({name: o["mae"] for name, o in found.items()})
    for name, o in found.items():
        row = [o["mae"], o["rmse"], o["mape"], o["smape"], o["mase"]]
        table.add_row(NAMES.get(name, name), *(_fmt(v) for v in row), style="bold green" if name == best else None)
    return table


def _scores_table(title: str, columns: tuple[str, ...]) -> Table:
    """An empty table of forecasters (rows) by scores (columns), as every score table here is."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("forecaster", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right")
    return table


def environment_table(info: dict) -> Table:
    """The `env` command's facts (versions, backend, devices) as a two-column table."""
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(escape(key), escape(", ".join(value) if isinstance(value, list) else str(value)))
    return table


def _names(columns: list) -> str:
    """The user's column names as they are: rich would read `price[usd]` as a style tag and drop it."""
    return escape(", ".join(str(column) for column in columns))


def _best(scores: dict[str, float | None]) -> str | None:
    """The forecaster with the lowest score (None: undefined, never the best)."""
    defined = {name: value for name, value in scores.items() if value is not None}
    return min(defined, key=defined.get) if defined else None


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"


def _when(labels: list[str]) -> list[str]:
    """Midnight timestamps read as dates, where both ends fall at midnight (hourly data's first row at 00:00 keeps it)."""
    if all(label.endswith(" 00:00:00") for label in labels):
        return [label.removesuffix(" 00:00:00") for label in labels]
    return labels


def print_tables(tables: list[Table], stderr: bool = False) -> None:
    """Print tables whole: rich fits a table to the terminal (80 columns when piped) by cutting cells to '3.942e+…'.

    A number is never cut: a table wider than the terminal is printed at its own width (the lines wrap). Into a
    file or a pipe the title is kept on one line too (it wrapped at 80 columns, splitting a target's name).
    """
    from rich.console import Console

    console = Console(stderr=stderr)
    for table in tables:
        if not console.is_terminal and isinstance(table.title, str):  # a file or a pipe: the title on one line
            table.min_width = max(table.min_width or 0, len(table.title) + 2)
        whole = console.measure(table, options=console.options.update(max_width=10_000)).maximum
        (console if whole <= console.width else Console(stderr=stderr, width=whole)).print(table)


def report_tables(report: dict) -> list[Table]:
    """The tables `evaluate` prints: one for a single series, aggregate and per-series ones for a panel."""
    if "series" not in report:
        per_target = [target_table(report, target) for target in report["original"]["model"].get("per_target", {})]
        return [metrics_table(report), *per_target] + ([intervals_table(report)] if "intervals" in report else [])
    per_target = [panel_target_table(report, target) for target in report["aggregate"]["model"].get("per_target", {})]
    return [panel_table(report), *per_target, series_table(report)] + \
        ([panel_intervals_table(report)] if "intervals" in report else [])


def panel_table(report: dict) -> Table:
    """Mean and median of the per-series scores, for the model and both baselines."""
    table = _scores_table(
        f"{report['series_scored']} series ({escape(str(report['id_column']))}), {report['windows']} test windows, "
        f"horizon {report['horizon']}, target {_names(report['targets'])}: per-series scores aggregated",
        ("mean MASE", "median MASE", "mean sMAPE%", "median sMAPE%", "mean scaled MAE"),
    )
    best = _best({name: agg["mean"]["mase"] for name, agg in report["aggregate"].items()})
    for name, agg in report["aggregate"].items():
        row = [agg["mean"]["mase"], agg["median"]["mase"], agg["mean"]["smape"], agg["median"]["smape"],
               agg["mean"]["scaled_mae"]]
        table.add_row(NAMES.get(name, name), *(_fmt(v) for v in row), style="bold green" if name == best else None)
    notes = _classical_note(report) if "classical" in report else []
    flat = [key for key, scores in report["series"].items() if scores["model"]["mase"] is None]
    if flat:
        notes.append(f"MASE is n/a for {len(flat)} series whose training rows never change (constant; "
                     f"{', '.join(escape(str(key)) for key in flat[:5])}{' ...' if len(flat) > 5 else ''}): they are "
                     "left out of the MASE mean and median.")
    if notes:
        table.caption, table.caption_justify = " ".join(notes), "left"
    return table


def panel_target_table(report: dict, target: str) -> Table:
    """One target's per-series scores aggregated (a panel of several targets: the table above averages them)."""
    table = _scores_table(f"Target {_names([target])} alone: per-series scores aggregated",
                          ("mean MASE", "median MASE", "mean sMAPE%", "median sMAPE%"))
    found = {name: agg["per_target"][target] for name, agg in report["aggregate"].items()}
    best = _best({name: agg["mean"]["mase"] for name, agg in found.items()})
    for name, agg in found.items():
        row = [agg["mean"]["mase"], agg["median"]["mase"], agg["mean"]["smape"], agg["median"]["smape"]]
        table.add_row(NAMES.get(name, name), *(_fmt(v) for v in row), style="bold green" if name == best else None)
    return table


MIXES = {"ets": "AutoETS", "theta": "AutoTheta", "ets+theta": "AutoETS and AutoTheta"}


def _classical_note(report: dict) -> list[str]:
    notes = [report["classical"] + "."] if "classical" in report else []
    chosen = report.get("combination", {}).get("chosen", "none")
    if chosen == "classical":
        notes.append("combined: the mean of AutoETS and AutoTheta where the network was still its seasonal-naive start "
                     f"on every validation window ({report['combination']['folds']} of {report['windows']} folds), "
                     "the network elsewhere: what predict forecasts.")
    elif chosen == "ets+theta" and "rows" in report["combination"]:  # one short series
        found = report["combination"]
        notes.append(f"combined: the network averaged with AutoETS and AutoTheta in equal thirds, as for every series "
                     f"under {found['short_rows']} rows (this one: {found['rows']}): what predict forecasts.")
    elif chosen != "none":
        how = "model.combine: auto, a panel's default" if report["combination"].get("setting") == "auto" \
            else "model.combine"
        notes.append(f"combined: the network averaged with {MIXES[chosen]} ({how}): what predict forecasts.")
    return notes


def series_table(report: dict, limit: int = 12) -> Table:
    """MASE of each series (the first `limit`), model against the baselines."""
    scored = report["series_scored"]
    which = f"first {limit} of {scored}; all" if scored > limit else f"all {scored}; also"
    saved = "backtest.json" if "stride" in report else "metrics.json"  # a backtest's report, or evaluate's
    table = Table(title=f"MASE per series ({which} in {saved})", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(escape(str(report["id_column"])), no_wrap=True)
    names = list(report["aggregate"])
    for name in names:
        table.add_column(NAMES.get(name, name), justify="right")
    for key, scores in list(report["series"].items())[:limit]:
        table.add_row(escape(str(key)), *(_fmt(scores[name]["mase"]) for name in names))
    return table


def intervals_table(report: dict) -> Table:
    """Calibrated intervals on the test windows: is each forecaster's interval honest, and how narrow?"""
    found = report["intervals"]
    labels = list(next(iter(found.values()))["coverage"])
    table = Table(
        title=f"Calibrated quantiles {', '.join(f'{q:g}' for q in report['quantiles'])} on the test windows",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        caption=_calibration_caption(report.get("calibration", {}), paired=bool(labels)),
        caption_justify="left",
    )
    table.add_column("forecaster", no_wrap=True)
    table.add_column("pinball", justify="right")
    for label in labels:
        table.add_column(f"{label} coverage", justify="right")
        table.add_column(f"{label} width", justify="right")
    for name, scores in found.items():
        row = [_fmt(scores["pinball"])]
        for label in labels:
            covered = scores["coverage"][label]
            row += ["n/a" if covered is None else f"{100 * covered:.1f}%", _fmt(scores["width"][label])]
        table.add_row(NAMES.get(name, name), *row)
    return table


def panel_intervals_table(report: dict) -> Table:
    """The model's calibrated intervals over a panel's series: coverage and scaled pinball, mean and median."""
    found = report["intervals"]
    table = Table(
        title=f"Calibrated quantiles {', '.join(f'{q:g}' for q in report['quantiles'])} of the model on the test "
              "windows, over the series",
        title_justify="left", box=box.SIMPLE_HEAD, caption_justify="left",
        caption="One pool of every series' validation errors (split conformal), scaled to each window's spread; "
                "pinball and width in each series' scaled units.",
    )
    table.add_column("over the series", no_wrap=True)
    table.add_column("pinball", justify="right")
    for label in found["coverage"]:
        table.add_column(f"{label} coverage", justify="right")
        table.add_column(f"{label} width", justify="right")
    for stat in ("mean", "median"):
        row = [_fmt((found["pinball"] or {}).get(stat))]
        for label, covered in found["coverage"].items():
            value = (covered or {}).get(stat)
            row += ["n/a" if value is None else f"{100 * value:.1f}%", _fmt((found["width"][label] or {}).get(stat))]
        table.add_row(stat, *row)
    return table


def _calibration_caption(settings: dict, paired: bool = True) -> str:
    """Where each forecaster's interval comes from, in a sentence. `paired`: the quantiles make a central interval
    (0.1 and 0.9), whose level gamma adapts; lone quantiles (0.25, 0.9) are not adapted."""
    if settings.get("method") == "split":
        source = "its own validation errors"
    else:
        source = f"its last {settings.get('window', '?')} errors known at each origin (validation, then test)"
        if settings.get("gamma") and paired:
            source += f", its level adapted to its misses (gamma {settings['gamma']:g}"
            source += f", at least {settings['floor']:g} of the nominal miss rate)" if settings.get("floor") else ")"
    return f"Each forecaster's interval comes from {source}, per horizon step, scaled to each window's spread."
