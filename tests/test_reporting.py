import pytest
from rich.console import Console

from rnnforecast import reporting


def _scores(mae):
    return {"overall": {"mae": mae, "rmse": mae, "mape": 1.0, "smape": 1.0, "mase": mae}, "mape_skipped_zeros": 0}


def _render(table):
    console = Console(width=400, record=True)
    console.print(table)
    return console.export_text()


def test_column_and_series_names_print_as_written_not_as_markup():
    """`price[usd]` is a column name, not a style tag; `[/x]` would make rich raise."""
    single = {
        "season_length": 7, "period": ["2024-01-01", "2024-02-01"], "windows": 3, "horizon": 7,
        "targets": ["price[usd]", "x[/x]"],
        "original": {"model": _scores(1.0), "naive": _scores(2.0)},
        "scaled": {"model": {"overall": {"mae": 0.5}}, "naive": {"overall": {"mae": 1.0}}},
    }
    assert "target price[usd], x[/x]" in _render(reporting.metrics_table(single))

    panel = {
        "series_scored": 1, "id_column": "store[id]", "windows": 3, "horizon": 7, "targets": ["y[bold]"],
        "aggregate": {name: {stat: {"mase": 1.0, "smape": 1.0, "scaled_mae": 1.0} for stat in ("mean", "median")}
                      for name in ("model", "naive")},
        "series": {"[/shop]": {"model": {"mase": 0.9}, "naive": {"mase": 1.1}}},
    }
    text = "".join(_render(table) for table in reporting.report_tables(panel))
    assert "(store[id])" in text and "target y[bold]" in text and "[/shop]" in text


def test_series_table_says_how_many_it_shows():
    """A panel of 5 is shown whole; of 20, the first 12 (never 'first 12 of 5')."""
    def panel(n):
        return {"series_scored": n, "id_column": "id", "aggregate": {"model": {}},
                "series": {str(i): {"model": {"mase": 1.0}} for i in range(n)}}

    assert reporting.series_table(panel(5)).title == "MASE per series (all 5; also in metrics.json)"
    table = reporting.series_table(panel(20))
    assert table.title == "MASE per series (first 12 of 20; all in metrics.json)" and table.row_count == 12
    backtested = panel(5) | {"stride": 7}  # a backtest's report is saved as backtest.json
    assert reporting.series_table(backtested).title == "MASE per series (all 5; also in backtest.json)"


def test_printed_tables_never_cut_a_number_on_a_narrow_or_piped_output(monkeypatch, capsys):
    """Piped, rich takes 80 columns and would write 3.942e+… for 3.942e+05: the table keeps its width instead."""
    monkeypatch.setenv("COLUMNS", "80")
    wide = {
        "season_length": 7, "period": ["2024-01-01", "2024-02-01"], "windows": 3, "horizon": 7,
        "targets": ["small", "big"],
        "original": {"model": _scores(0.0003034), "naive": _scores(394200.0), "seasonal_naive": _scores(579800.0)},
        "scaled": {name: {"overall": {"mae": 0.0001994}} for name in ("model", "naive", "seasonal_naive")},
    }
    reporting.print_tables([reporting.metrics_table(wide)])
    out = capsys.readouterr().out
    assert "3.942e+05" in out and "0.0003034" in out and "…" not in out


def test_a_long_title_stays_on_one_line_in_a_file_or_a_pipe(monkeypatch, capsys):
    # "... horizon 14, target" then "readings" on the next line: the title wrapped at the table's width
    monkeypatch.setenv("COLUMNS", "80")
    name = "daily_minimum_temperature_in_melbourne_degrees"
    report = {
        "season_length": 7, "period": ["2024-01-01", "2024-02-01"], "windows": 3, "horizon": 7, "targets": [name],
        "original": {n: _scores(1.5) for n in ("model", "naive", "seasonal_naive")},
        "scaled": {n: {"overall": {"mae": 0.5}} for n in ("model", "naive", "seasonal_naive")},
    }
    reporting.print_tables([reporting.metrics_table(report)])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.strip().startswith("Test period") and first.rstrip().endswith(f"target {name}")


def test_two_targets_are_scored_each_in_its_own_units():
    """MAE over degrees and megawatts together says little: each target gets its scores, and its own MAPE."""
    import numpy as np

    from rnnforecast.forecasting import score_forecasts

    actual = np.stack([np.array([[-2.0, 3.0], [1.0, 4.0]]), np.array([[100.0, 200.0], [300.0, 400.0]])], axis=-1)
    forecast = actual + np.array([1.0, 10.0])  # errors of 1 degree and 10 MW everywhere
    prep = {"targets": ["temp", "load"], "center": [0.0, 0.0], "scale": [1.0, 100.0], "mase_scale": [2.0, 50.0],
            "floor": [None, None]}
    scored = score_forecasts(actual, {"model": forecast, "naive": actual + 20.0}, prep)
    per_target = scored["original"]["model"]["per_target"]
    assert per_target["temp"]["mae"] == 1.0 and per_target["load"]["mae"] == 10.0
    assert per_target["temp"]["mase"] == 0.5 and per_target["load"]["mase"] == 0.2
    assert per_target["temp"]["mape"] is None  # temperatures cross zero
    assert per_target["load"]["mape"] == pytest.approx(np.mean([10 / 100, 10 / 200, 10 / 300, 10 / 400]) * 100)
    assert scored["original"]["model"]["overall"]["mape"] is None  # over both: one takes both signs
    report = {"season_length": 1, "period": ["1", "2"], "windows": 2, "horizon": 2, "targets": ["temp", "load"],
              **scored}
    text = "".join(_render(table) for table in reporting.report_tables(report))
    assert "Target temp alone" in text and "Target load alone" in text and "average the targets' units" in text


def test_a_constant_series_has_no_mase_and_stays_out_of_the_panels_mean():
    """Its training rows never change: MASE is undefined (was its MAE), and averaging a 0 in flattered the panel."""
    import numpy as np

    from rnnforecast.forecasting import panel_summary, score_forecasts

    prep = {"targets": ["y"], "center": [0.0], "scale": [1.0], "floor": [None]}
    actual = np.array([[[5.0], [5.0]]])
    reports = {
        key: {"windows": 1, **score_forecasts(actual, {"model": actual + error}, prep | {"mase_scale": [scale]})}
        for key, error, scale in (("flat", 0.0, 0.0), ("a", 1.0, 2.0), ("b", 2.0, 2.0))
    }
    summary = panel_summary(reports)
    assert summary["series"]["flat"]["model"]["mase"] is None
    assert summary["aggregate"]["model"]["mean"]["mase"] == pytest.approx(0.75)  # (0.5 + 1.0) / 2
    assert summary["aggregate"]["model"]["mean"]["mae"] == pytest.approx(1.0)  # MAE 0 is a real score: kept
    report = {"id_column": "id", "horizon": 2, "targets": ["y"], **summary}
    assert "MASE is n/a for 1 series whose training rows never change (constant; flat)" in _render(
        reporting.panel_table(report))


def test_the_intervals_caption_says_gamma_adapts_only_a_central_interval():
    """calibrate --quantiles 0.25,0.9 has no central pair: the caption said its level was adapted all the same."""
    def caption(quantiles, coverage):
        report = {"quantiles": quantiles, "calibration": {"method": "rolling", "window": 50, "gamma": 0.005, "floor": 0.25},
                  "intervals": {"model": {"pinball": 0.1, "coverage": coverage, "width": dict.fromkeys(coverage, 1.0)}}}
        return str(reporting.intervals_table(report).caption)
    assert "adapted to its misses (gamma 0.005" in caption([0.1, 0.5, 0.9], {"80%": 0.8})
    assert "adapted" not in caption([0.25, 0.9], {})


@pytest.mark.parametrize(("period", "shown"), [
    (["2022-04-07 00:00:00", "2022-04-15 00:00:00"], "Test period 2022-04-07 to 2022-04-15:"),  # daily: dates
    (["2022-04-07 00:00:00", "2022-04-15 02:00:00"], "Test period 2022-04-07 00:00:00 to 2022-04-15 02:00:00:"),
])
def test_the_test_period_reads_as_dates_only_where_both_ends_fall_at_midnight(period, shown):
    """Hourly data starting at 00:00 read 'from 2022-04-07 to 2022-04-15 02:00:00', as if from a whole day."""
    report = {"season_length": 24, "period": period, "windows": 3, "horizon": 6, "targets": ["y"],
              "original": {"model": _scores(1.0)}, "scaled": {"model": {"overall": {"mae": 0.5}}}}
    assert shown in _render(reporting.metrics_table(report))
