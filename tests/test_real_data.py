"""Every ready config in configs/ trains, evaluates, predicts and plots, on its real data (cut short)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast import config as config_module
from rnnforecast import data
from rnnforecast.cli import app
from tests.conftest import DATA

runner = CliRunner()
CONFIGS = Path(__file__).parent.parent / "configs"
TEMPS = "daily-min-temperatures.csv"
TEST_FILE = {
    "quickstart": TEMPS, "quickstart-lstm-2x32": TEMPS, "quickstart-tune": TEMPS, "simple_rnn": TEMPS, "lstm": TEMPS, "gru": TEMPS,
    "classic-stacked-lstm": TEMPS, "classic-stacked-simple-rnn": TEMPS,
    "classic-lstm-next-value": TEMPS, "classic-lstm-relu": TEMPS,
    "airline-passengers": "airline-passengers.csv", "monthly-sunspots": "monthly-sunspots.csv",
    "pollution": "pollution-head3000.csv", "exchange-rate": "exchange_rate-head1500.csv",
    "weather": "weather-slice.csv", "etth1": "ETTh1-head2000.csv", "etth2": "ETTh2-head2000.csv",
    "ettm1": "ETTm1-head3000.csv", "ettm2": "ETTm1-head3000.csv", "ettm1-quarters": "ETTm1-head3000.csv",
}

# The configs on the temperatures differ in their models, not in what a plot draws (one daily target, a
# week or a day ahead, point losses): one of each horizon is plotted.
PLOTTED_TEMPS = {"quickstart", "classic-lstm-next-value"}
# evaluate fits AutoETS and AutoTheta beside the model (a third of this test's time); they are the same fits
# whatever the model, so they run for the quick start, an hourly config and the panel (tests/test_classical.py has
# the rest of their tests), and `--no-classical` elsewhere.
WITH_CLASSICAL = {"quickstart", "etth1", "ettm1-quarters"}


def _as_four_series(source: Path, folder: Path) -> Path:
    """The ETTm1 slice cut into four consecutive series, as the quarters of configs/ettm1-quarters.yaml."""
    table = pd.read_csv(source)
    table.insert(0, "quarter", [f"part{1 + i * 4 // len(table)}" for i in range(len(table))])
    path = folder / "quarters.csv"
    table.to_csv(path, index=False)
    return path


def test_every_ready_config_is_covered_here():
    assert {p.stem for p in CONFIGS.glob("*.yaml")} == set(TEST_FILE)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TEST_FILE))
def test_config_runs_end_to_end(name, tmp_path):
    source = CONFIGS / f"{name}.yaml"
    path = DATA / TEST_FILE[name]
    if name == "ettm1-quarters":
        path = _as_four_series(path, tmp_path)
    overrides = [f"data.path={path}", f"run.dir={tmp_path}", "training.epochs=1",
                 "training.batch_size=256", "model.layers=[{units: 4}]"]
    if name not in ("quickstart", "ettm1-quarters"):  # the final model: the first config users run, and a panel's
        overrides.append("training.refit=false")
    cfg = config_module.load_config(source, overrides)  # the config as shipped, only smaller
    args = ["train", str(source)] + [x for o in overrides for x in ("--set", o)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])

    classical = [] if name in WITH_CLASSICAL else ["--no-classical"]
    report = json.loads(runner.invoke(app, ["evaluate", str(run), "--format", "json", *classical]).stdout)
    assert report["windows"] > 0
    if "original" in report:  # one series: the classical forecasters are scored where asked, only there
        assert ("AutoETS" in report["original"]) == (name in WITH_CLASSICAL)
    scores = report["aggregate"] if "aggregate" in report else report["original"]
    assert all(np.isfinite(s["mean"]["mase"] if "mean" in s else s["overall"]["mae"]) for s in scores.values())

    out = tmp_path / "forecast.csv"
    assert runner.invoke(app, ["predict", str(run), "--output", str(out)]).exit_code == 0
    forecast = pd.read_csv(out)
    assert np.isfinite(forecast[cfg.data.targets].to_numpy()).all()
    if cfg.data.id_column:
        assert forecast.groupby(cfg.data.id_column).size().eq(cfg.window.horizon).all()
        bands = [f"{t}_q{q:g}" for t in cfg.data.targets for q in cfg.calibration.quantiles]
        assert report["series_scored"] == 4 and list(forecast.columns[2:]) == cfg.data.targets + bands
        assert (forecast[bands[0]] <= forecast[bands[-1]]).all()
    else:
        _check_future_steps(forecast, cfg, run)

    if TEST_FILE[name] != TEMPS or name in PLOTTED_TEMPS:
        png = tmp_path / "plot.png"
        assert runner.invoke(app, ["plot", str(run), "--output", str(png)]).exit_code == 0
        assert png.stat().st_size > 20_000


def _check_future_steps(forecast: pd.DataFrame, cfg, run: Path) -> None:
    """The forecast's first column continues the data: the next timestamps, or the next row numbers."""
    assert len(forecast) == cfg.window.horizon and list(forecast.columns[1 : 1 + len(cfg.data.targets)]) == cfg.data.targets
    prep = json.loads((run / "preprocessing.json").read_text())
    if prep["frequency"]:
        series = data.load_series(cfg.data)
        step = pd.tseries.frequencies.to_offset(prep["frequency"])
        expected = [series.index[-1] + step * (i + 1) for i in range(cfg.window.horizon)]
        assert pd.to_datetime(forecast.iloc[:, 0]).tolist() == [t.tz_localize(None) for t in expected]
    else:
        rows = len(pd.read_csv(cfg.data.path))
        assert forecast.iloc[:, 0].tolist() == list(range(rows, rows + cfg.window.horizon))
