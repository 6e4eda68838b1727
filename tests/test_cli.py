"""End to end through the command line, as a user runs it, on a small real series."""

import json
from pathlib import Path
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast.cli import app
from tests.conftest import tiny_config

runner = CliRunner()

READS = []  # the files `train` read, in the `trained` fixture


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run on the daily temperatures, shared by the read-only tests below."""
    from pathlib import Path

    folder = tmp_path_factory.mktemp("e2e")
    source = Path(__file__).parent / "data" / "daily-min-temperatures.csv"
    config_path = folder / "temps.yaml"
    import yaml

    config_path.write_text(yaml.safe_dump(tiny_config(source, run={"dir": str(folder / "runs")})))
    from rnnforecast.data import series

    real = series.read_table
    READS.clear()  # xdist's worksteal can split this module over workers: the fixture may be made again in one
    series.read_table = lambda *args, **kwargs: READS.append(args[0]) or real(*args, **kwargs)
    try:
        result = runner.invoke(app, ["train", str(config_path), "--set", "training.epochs=2"])
    finally:
        series.read_table = real
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    return run


def test_train_writes_a_complete_run_folder(trained):
    assert trained.name.startswith("temps-")
    for name in ("model.keras", "config.yaml", "preprocessing.json", "history.csv", "metadata.json"):
        assert (trained / name).is_file(), name
    history = pd.read_csv(trained / "history.csv")
    assert list(history["epoch"]) == [1, 2] and {"loss", "val_loss"} <= set(history.columns)
    meta = json.loads((trained / "metadata.json").read_text())
    assert meta["seed"] == 1 and len(meta["data_sha256"]) == 64 and meta["device"].startswith("CPU")
    assert "training.epochs" not in (trained / "config.yaml").read_text()
    assert "epochs: 2" in (trained / "config.yaml").read_text()  # the override is kept in the resolved config
    assert not list(trained.parent.glob(".*partial"))


def test_train_reads_the_data_file_once(trained):
    # the calibration and combination after training reuse its read (data.read_once): a long file's peak memory
    assert [path.name for path in READS] == ["daily-min-temperatures.csv"]


def test_evaluate_prints_the_table_and_writes_metrics(trained):
    result = runner.invoke(app, ["evaluate", str(trained)])
    assert result.exit_code == 0, result.output
    for word in ("model", "naive", "seasonal naive", "MAE", "MASE"):
        assert word in result.stdout
    report = json.loads((trained / "metrics.json").read_text())
    assert set(report["original"]) == {"model", "naive", "seasonal_naive", "AutoETS", "AutoTheta"}  # statsforecast: a test extra
    assert len(report["original"]["model"]["per_step"]["mae"]) == 7
    assert report["period"][1].startswith("1990-12-31")


def test_a_reader_that_closes_standard_output_stops_no_command_halfway(trained, monkeypatch):
    """`evaluate | head -1`: rich's table exited 1 at its next write, before metrics.json (and Keras's progress line
    took `train | head` down with the run it was training)."""
    import io
    import sys

    from rnnforecast import cli

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    closed = Closed()
    monkeypatch.setattr(sys, "stdout", closed)
    (trained / "metrics.json").unlink(missing_ok=True)
    cli.evaluate(trained, classical=False)
    assert json.loads((trained / "metrics.json").read_text())["windows"] > 500
    assert sys.stdout is closed  # given back as it was
    monkeypatch.setattr(sys, "stdout", None)  # `>&-`: evaluate writes its file; predict, whose output it is, says so
    cli.evaluate(trained, classical=False)
    import typer

    with pytest.raises(typer.Exit) as stopped:
        cli.predict(trained)
    assert stopped.value.exit_code == 2


def test_evaluate_json_format(trained):
    result = runner.invoke(app, ["evaluate", str(trained), "--format", "json"])
    report = json.loads(result.stdout)
    assert report["windows"] > 500 and report["season_length"] == 7


def test_predict_writes_the_next_week_with_real_dates(trained, tmp_path):
    out = tmp_path / "forecast.csv"
    result = runner.invoke(app, ["predict", str(trained), "--output", str(out)])
    assert result.exit_code == 0, result.output
    forecast = pd.read_csv(out)
    assert list(forecast.columns) == ["Date", "Temp", "Temp_q0.1", "Temp_q0.5", "Temp_q0.9"]
    assert forecast["Date"].tolist() == [f"1991-01-0{d}" for d in range(1, 8)]
    assert forecast["Temp"].between(-5, 40).all()


def test_predict_writes_the_format_its_file_name_says(trained, tmp_path):
    names = ("forecast.parquet", "forecast.csv.gz", "forecast.json", "forecast.jsonl.gz", "forecast.tsv",
             "forecast.csv.zip")
    for name in names:
        result = runner.invoke(app, ["predict", str(trained), "--output", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    table = pd.read_parquet(tmp_path / "forecast.parquet")
    others = [pd.read_csv(tmp_path / "forecast.csv.gz"),  # pandas reads the gzip it wrote
              pd.read_json(tmp_path / "forecast.json", orient="records"),
              pd.read_json(tmp_path / "forecast.jsonl.gz", lines=True),
              pd.read_csv(tmp_path / "forecast.tsv", sep="\t"),
              pd.read_csv(tmp_path / "forecast.csv.zip")]
    import zipfile

    with zipfile.ZipFile(tmp_path / "forecast.csv.zip") as archive:  # the file inside named as given, not .partial
        assert archive.namelist() == ["forecast.csv"]
    for other in others:
        assert list(table.columns) == list(other.columns) and len(table) == len(other) == 7
        np.testing.assert_allclose(table["Temp"].to_numpy(), other["Temp"].to_numpy(), rtol=1e-12)
        assert (pd.to_datetime(other["Date"]) == pd.to_datetime(table["Date"])).all()
    assert not list(tmp_path.glob(".*partial*"))  # written through a temporary file, renamed when complete

    # A spreadsheet name would get CSV text that Excel refuses to open: refused, before any forecast is made.
    # So would a compression pandas cannot write without another package, or a gzip around Parquet.
    for name in ("forecast.xlsx", "forecast.csv.zst", "forecast.parquet.gz"):
        result = runner.invoke(app, ["predict", str(trained), "--output", str(tmp_path / name)])
        assert result.exit_code == 2 and "Error: --output" in result.stderr and "Traceback" not in result.output
        assert not (tmp_path / name).exists()


def test_predict_prints_without_output(trained):
    result = runner.invoke(app, ["predict", str(trained)])
    assert result.stdout.splitlines()[0].startswith("Date,Temp,") and len(result.stdout.splitlines()) == 8


def test_predict_and_evaluate_on_newer_data_use_the_fitted_preprocessing(trained, tmp_path, data_dir):
    full = pd.read_csv(data_dir / "daily-min-temperatures.csv")
    newer = full.copy()
    newer["Date"] = pd.to_datetime(newer["Date"]) + pd.DateOffset(years=10)
    path = tmp_path / "newer.csv"
    newer.to_csv(path, index=False)
    result = runner.invoke(app, ["predict", str(trained), "--data", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("2001-01-01")
    assert "before the end of the data" not in result.stderr
    assert "far outside" not in result.stderr  # the same temperatures, ten years on
    stacked = pd.concat([newer, newer.assign(Temp=newer["Temp"] + 30)])  # two stations, no id column: averaged before
    stacked.to_csv(tmp_path / "two.csv", index=False)
    for command in ("predict", "evaluate"):
        result = runner.invoke(app, [command, str(trained), "--data", str(tmp_path / "two.csv")])
        assert result.exit_code == 2 and "looks like several series in one file" in result.stderr, result.output
    fahrenheit = newer.assign(Temp=newer["Temp"] * 9 / 5 + 32)  # read and forecast in silence before
    fahrenheit.to_csv(tmp_path / "f.csv", index=False)
    for command in ("predict", "evaluate", "plot"):  # plot said none of --data's notes
        result = runner.invoke(app, [command, str(trained), "--data", str(tmp_path / "f.csv")]
                               + (["-o", str(tmp_path / "f.png")] if command == "plot" else []))
        assert result.exit_code == 0, result.output
        assert "the values in f.csv are far outside those the model was trained on (Temp: median 51.8 there" in result.stderr, result.stderr
        assert "other units" in result.stderr
    full.head(100).to_csv(tmp_path / "cut.csv", index=False)  # an old copy, or a file cut short: said
    result = runner.invoke(app, ["predict", str(trained), "--data", str(tmp_path / "cut.csv")])
    assert "cut.csv ends at 1981-04-10, before the end of the data" in result.stderr and "(1990-12-31)" in result.stderr
    result = runner.invoke(app, ["evaluate", str(trained), "--data", str(path), "--format", "json"])
    report = json.loads(result.stdout)
    assert report["windows"] > 3000  # a whole new period: every window is scored
    prep = json.loads((trained / "preprocessing.json").read_text())
    assert prep["center"][0] == pytest.approx(full["Temp"].iloc[:2556].mean(), abs=0.05)


def test_a_quoted_home_folder_is_the_home_folder(trained, tmp_path):
    """`--output=~/f.csv` (no shell expands ~ after `=`) made a folder named ~ here and left a .partial file at home."""
    home = tmp_path / "home"
    home.mkdir()
    result = runner.invoke(app, ["predict", str(trained), "--output=~/f.csv"], env={"HOME": str(home)})
    assert result.exit_code == 0, result.output
    assert (home / "f.csv").is_file() and sorted(p.name for p in home.iterdir()) == ["f.csv"]
    assert runner.invoke(app, ["plot", str(trained), "-o", "~/p.png"], env={"HOME": str(home)}).exit_code == 0
    assert (home / "p.png").is_file() and not Path("~").exists()


def test_plot_writes_a_png(trained, tmp_path):
    out = tmp_path / "forecast.png"
    result = runner.invoke(app, ["plot", str(trained), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_the_plots_test_forecast_reaches_the_last_row_each_row_once(trained):
    """One forecast every horizon left the last rows (up to horizon - 1) undrawn; one more window ends on the last."""
    from rnnforecast import forecasting, runs

    prepared = forecasting.prepare(runs.load(trained))
    path = forecasting.test_path(prepared)
    index = prepared.series.index
    assert path.index[0] == index[prepared.test_lo] and path.index[-1] == index[prepared.test_hi - 1]
    assert path.index.is_unique and len(path) == prepared.test_hi - prepared.test_lo


def test_info_names_backend_and_devices():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0 and "backend" in result.stdout and "CPU" in result.stdout
    assert "data_parallel    none (1 device)" in result.stdout  # no GPU here: no strategy


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["predict"], ["plot"], ["info"]])
def test_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"rnnforecast {version('rnnforecast')}\n"


def test_help_says_when_the_classical_models_are_scored_without_an_install_to_do():
    """statsforecast is a dependency (the forecast mixes its models in): the help asked for an extra already there."""
    result = runner.invoke(app, ["backtest", "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert "at most 1,000 series" in result.stdout and "pip install" not in result.stdout


def test_config_error_is_one_message_and_exit_2(write_config, data_dir):
    raw = tiny_config(data_dir / "daily-min-temperatures.csv", model={"type": "lstmm"})
    result = runner.invoke(app, ["train", str(write_config(raw))])
    assert result.exit_code == 2
    assert "model.type: 'lstmm' is not one of simple_rnn, lstm, gru" in result.stderr
    assert "Traceback" not in result.output


def test_missing_run_folder_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["predict", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_a_config_or_data_file_where_a_run_folder_goes_and_back_says_which_is_which(trained, tmp_path):
    (tmp_path / "c.yaml").write_text("data: {}\n")
    (tmp_path / "d.csv").write_text("date,y\n")
    result = runner.invoke(app, ["predict", str(tmp_path / "c.yaml")])
    assert result.exit_code == 2 and "is a config file, not a run folder. Train it first" in result.stderr
    result = runner.invoke(app, ["evaluate", str(tmp_path / "d.csv")])
    assert result.exit_code == 2 and "a data file goes after --data" in result.stderr
    result = runner.invoke(app, ["backtest", str(trained)])
    assert result.exit_code == 2 and "is a run folder" in result.stderr
    assert f"its saved config, {trained / 'config.yaml'}" in " ".join(result.stderr.split())


def test_newer_data_without_the_trained_column_asks_for_the_file_to_be_fixed_not_the_config(trained, data_dir, tmp_path):
    newer = tmp_path / "newer.csv"
    pd.read_csv(data_dir / "daily-min-temperatures.csv").rename(columns={"Temp": "temperature"}).to_csv(newer, index=False)
    result = runner.invoke(app, ["predict", str(trained), "--data", str(newer)])
    assert result.exit_code == 2 and "rename the column in the file" in result.stderr
    assert "Fix the name in the config" not in result.stderr


def test_loss_overflow_stops_with_the_epoch_and_leaves_no_run_folder(write_config, tmp_path):
    huge = tmp_path / "huge.csv"
    dates = pd.date_range("2020-01-01", periods=300, freq="D")
    pd.DataFrame({"Date": dates, "Temp": [1e25 * (1 + (i % 7)) for i in range(300)]}).to_csv(huge, index=False)
    # unscaled values of 1e25: their squared error overflows float32 in the first epoch
    raw = tiny_config(huge, run={"dir": str(tmp_path / "runs")}, data={"scaling": "none"}, training={"loss": "mse"})
    result = runner.invoke(app, ["train", str(write_config(raw))])
    assert result.exit_code == 2, result.output
    assert "epoch 1" in result.stderr and "learning rate" in result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_same_seed_same_losses(write_config, data_dir, tmp_path):
    raw = tiny_config(data_dir / "daily-min-temperatures.csv", run={"dir": str(tmp_path / "runs")})
    path = write_config(raw)
    runs = [runner.invoke(app, ["train", str(path)]).stdout.strip().splitlines()[-1] for _ in range(2)]
    assert runs[0] != runs[1]  # a second run never overwrites the first
    losses = [pd.read_csv(f"{run}/history.csv")["loss"].tolist() for run in runs]
    assert losses[0] == losses[1]


def test_ctrl_c_while_the_command_loads_exits_130_without_a_traceback(monkeypatch):
    # pressed in the first tenth of a second, it printed a traceback ending in `from rnnforecast.cli import app`
    import types

    import rnnforecast

    class Loading(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "rnnforecast.cli", Loading("rnnforecast.cli"))
    with pytest.raises(SystemExit) as stopped:
        rnnforecast.main()
    assert stopped.value.code == 130


def test_an_hourly_forecast_at_midnight_keeps_its_time(tmp_path):
    """pandas wrote a time column of midnights as dates (`2021-02-20`), which reads as a daily forecast."""
    times = pd.date_range("2021-02-01 00:00", "2021-02-19 23:00", freq="h")
    pd.DataFrame({"time": times, "y": np.sin(np.arange(len(times)) / 4)}).to_csv(tmp_path / "h.csv", index=False)
    raw = tiny_config(tmp_path / "h.csv", data={"targets": ["y"]}, window={"input_length": 12, "horizon": 1},
                      run={"dir": str(tmp_path / "runs")})
    (tmp_path / "h.yaml").write_text(yaml.safe_dump(raw))
    trained = runner.invoke(app, ["train", str(tmp_path / "h.yaml")])
    assert trained.exit_code == 0, trained.output
    run = trained.stdout.strip().splitlines()[-1]
    result = runner.invoke(app, ["predict", run])
    assert result.stdout.splitlines()[1].startswith("2021-02-20 00:00:00,"), result.stdout
    assert runner.invoke(app, ["predict", run, "-o", str(tmp_path / "f.csv")]).exit_code == 0
    assert (tmp_path / "f.csv").read_text().splitlines()[1].startswith("2021-02-20 00:00:00,")


def test_a_series_dated_by_plain_years_is_forecast_in_years(tmp_path):
    # `year,flow` in gave `1990-01-01,...` out
    years = np.arange(1900, 1960)
    pd.DataFrame({"year": years, "flow": 1000 + 10 * np.sin(years / 3.0)}).to_csv(tmp_path / "y.csv", index=False)
    raw = tiny_config(tmp_path / "y.csv", data={"targets": ["flow"]}, window={"input_length": 10, "horizon": 3},
                      run={"dir": str(tmp_path / "my runs")})
    (tmp_path / "y.yaml").write_text(yaml.safe_dump(raw))
    trained = runner.invoke(app, ["train", str(tmp_path / "y.yaml")])
    assert trained.exit_code == 0, trained.output
    # a folder with a space: the command printed to paste into a shell is quoted
    assert f"(if interrupted: rnnforecast train --resume '{tmp_path / 'my runs'}/y-" in trained.stderr
    result = runner.invoke(app, ["predict", trained.stdout.strip().splitlines()[-1]])
    assert result.exit_code == 0, result.output
    assert [line.split(",")[0] for line in result.stdout.strip().splitlines()] == ["year", "1960", "1961", "1962"]
    evaluated = runner.invoke(app, ["evaluate", trained.stdout.strip().splitlines()[-1], "--no-classical"])
    assert "Test period 19" in evaluated.stdout and "-01-01" not in evaluated.stdout  # it said 1951-01-01 to ...
    tested = runner.invoke(app, ["backtest", str(tmp_path / "y.yaml"), "--no-classical"])
    assert tested.exit_code == 0, tested.output
    folds = pd.read_csv(Path(tested.stdout.strip().splitlines()[-1]) / "forecasts.csv")
    assert folds["time"].between(1900, 1959).all() and folds["origin"].between(1900, 1959).all()  # joins on `year`
