"""model.combine: a panel's forecast averaged with AutoETS's and AutoTheta's, the mix chosen on validation."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast import config, runs, training
from rnnforecast.cli import app
from rnnforecast.forecasting import combination, prepare_panel

pytest.importorskip("statsforecast")
runner = CliRunner()


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    """Four daily series with a weekly cycle and different trends, a tiny network trained for one epoch."""
    folder = tmp_path_factory.mktemp("combine")
    rng = np.random.default_rng(0)
    t = np.arange(150)
    frames = [pd.DataFrame({"id": f"s{k}", "date": pd.date_range("2021-01-01", periods=150).strftime("%Y-%m-%d"),
                            "y": 50 + k * 10 + 0.2 * k * t + 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, 150)})
              for k in range(4)]
    pd.concat(frames).to_csv(folder / "p.csv", index=False)
    raw = {"data": {"path": str(folder / "p.csv"), "targets": ["y"], "id_column": "id"}, "window": {"horizon": 7},
           "model": {"layers": [{"units": 4}]}, "training": {"epochs": 1}, "run": {"dir": str(folder)}}
    path = training.train(config.validate(raw), verbose=0)
    return runs.load(path)


def test_auto_keeps_the_mix_with_the_lowest_validation_error(panel_run):
    notes = combination.choose_new_run(panel_run)
    saved = json.loads((panel_run.path / combination.FILE).read_text())
    errors = saved["validation_mae_scaled"]
    assert set(errors) == set(combination.WEIGHTS) and saved["setting"] == "auto"
    assert saved["chosen"] == min(errors, key=errors.get) and saved["series"] == 4
    assert (notes == []) == (saved["chosen"] == "none")


def test_a_named_mix_is_kept_and_predict_and_evaluate_apply_it(panel_run, monkeypatch):
    monkeypatch.setattr(panel_run.config.model, "combine", "theta")
    combination.choose_new_run(panel_run)
    assert combination.weights(panel_run) == (0.5, 0.0, 0.5)
    # the classical part: AutoTheta fitted on the whole series and forecast from its end, half weight
    one = prepare_panel(panel_run, only=["s2"])["s2"]
    from statsforecast.models import AutoTheta

    history = pd.read_csv(panel_run.config.data.path).query("id == 's2'")["y"].to_numpy()
    reference = AutoTheta(season_length=7).fit(history).predict(7)["mean"]
    np.testing.assert_allclose(combination.future({"s2": one}, 7, (0.5, 0.0, 0.5))["s2"][:, 0], 0.5 * reference,
                               rtol=1e-6)
    result = runner.invoke(app, ["evaluate", str(panel_run.path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "combined" in report["aggregate"] and "AutoTheta" in report["aggregate"]


def test_one_series_and_none_keep_the_network_alone(panel_run, monkeypatch):
    monkeypatch.setattr(panel_run.config.model, "combine", "none")
    (panel_run.path / combination.FILE).unlink(missing_ok=True)
    assert combination.choose_new_run(panel_run) == [] and combination.weights(panel_run) is None
    monkeypatch.setattr(panel_run.config.model, "combine", "auto")
    monkeypatch.setattr(type(panel_run), "is_panel", property(lambda self: False))
    assert combination.choose_new_run(panel_run) == [] and not (panel_run.path / combination.FILE).exists()


def test_above_the_series_cap_auto_keeps_the_network_and_a_named_mix_still_applies(panel_run, monkeypatch):
    monkeypatch.setattr(combination, "MAX_SERIES", 2)  # the fixture has 4 series
    monkeypatch.setattr(panel_run.config.model, "combine", "auto")
    notes = combination.choose_new_run(panel_run)
    assert combination.weights(panel_run) is None and "more than 2" in notes[0]
    monkeypatch.setattr(panel_run.config.model, "combine", "ets")
    combination.choose_new_run(panel_run)
    assert combination.weights(panel_run) == (0.5, 0.5, 0.0)


def test_the_panel_backtest_scores_the_mix_predict_forecasts(panel_run):
    config_path = panel_run.path / "config.yaml"
    result = runner.invoke(app, ["backtest", str(config_path), "--set", "model.combine=theta"])
    assert result.exit_code == 0, result.output
    run = runs.load(result.stdout.strip().splitlines()[-1])
    report = json.loads((run.path / "backtest.json").read_text())
    assert report["combination"]["chosen"] == "theta" and "combined" in report["aggregate"]
    forecasts = pd.read_csv(run.path / "forecasts.csv")
    np.testing.assert_allclose(forecasts["combined"], 0.5 * forecasts["model"] + 0.5 * forecasts["AutoTheta"], rtol=1e-6)
    # auto chooses on the backtest's own honest model's validation windows, as train does
    result = runner.invoke(app, ["backtest", str(config_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((runs.load(result.stdout.strip().splitlines()[-1]).path / "backtest.json").read_text())
    errors = report["combination"]["validation_mae_scaled"]
    assert report["combination"]["chosen"] == min(errors, key=errors.get)
    assert ("combined" in report["aggregate"]) == (report["combination"]["chosen"] != "none")
    # without the classical fits there is nothing to mix
    result = runner.invoke(app, ["backtest", str(config_path), "--no-classical"])
    assert result.exit_code == 0, result.output
    report = json.loads((runs.load(result.stdout.strip().splitlines()[-1]).path / "backtest.json").read_text())
    assert "combination" not in report and "combined" not in report["aggregate"]
