"""Turn results into text for the terminal: the metrics table and the environment summary."""

from __future__ import annotations

from rich import box
from rich.table import Table

NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive"}


def metrics_table(report: dict) -> Table:
    """Model against baselines on the test windows: data units first, then scaled units."""
    season = report["season_length"]
    table = Table(
        title=f"Test period {_when(report['period'][0])} to {_when(report['period'][1])}: "
        f"{report['windows']} windows, horizon {report['horizon']}, target {', '.join(report['targets'])}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("forecaster", no_wrap=True)
    for column in ("MAE", "RMSE", "MAPE%", "sMAPE%", "MASE", "scaled MAE"):
        table.add_column(column, justify="right")
    best = min(report["original"], key=lambda name: report["original"][name]["overall"]["mae"])
    for name, scores in report["original"].items():
        o, s = scores["overall"], report["scaled"][name]["overall"]
        label = NAMES.get(name, name)
        row = [o["mae"], o["rmse"], o["mape"], o["smape"], o["mase"], s["mae"]]
        style = "bold green" if name == best else None
        table.add_row(label, *(_fmt(v) for v in row), style=style)
    notes = [f"naive repeats the last value; seasonal naive repeats the last {season} steps."]
    skipped = report["original"]["model"]["mape_skipped_zeros"]
    if skipped:
        notes.append(f"MAPE skips {skipped} zero actual value(s), where it is undefined.")
    table.caption = " ".join(notes)
    table.caption_justify = "left"
    return table


def environment_table(info: dict) -> Table:
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value))
    return table


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"


def _when(label: str) -> str:
    """A midnight timestamp reads as a date."""
    return label.removesuffix(" 00:00:00")
