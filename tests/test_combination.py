"""model.combine: the network's forecast averaged with AutoETS's and AutoTheta's (a panel's in thirds by default)."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import config, forecasting, runs, training
from rnnforecast.cli import app
from rnnforecast.errors import UserError
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


def test_auto_averages_a_panel_in_thirds_with_no_classical_fit_in_train(panel_run, monkeypatch):
    def no_fits(*args, **kwargs):
        raise AssertionError("train fitted AutoETS or AutoTheta for a panel's choice")

    monkeypatch.setattr(combination.classical, "forecasts_many", no_fits)
    notes = combination.choose_new_run(panel_run)
    saved = json.loads((panel_run.path / combination.FILE).read_text())
    assert saved == {"chosen": "ets+theta", "setting": "auto"}
    assert combination.weights(panel_run) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert "AutoETS's and AutoTheta's" in notes[0] and "round 24" in notes[0] and "model.combine: none" in notes[0]


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


def test_none_keeps_the_network_alone(panel_run, monkeypatch):
    monkeypatch.setattr(panel_run.config.model, "combine", "none")
    (panel_run.path / combination.FILE).unlink(missing_ok=True)
    assert combination.choose_new_run(panel_run) == [] and combination.weights(panel_run) is None


def test_predict_says_which_series_training_left_out_and_evaluate_leaves_it_to_its_own_note(panel_run, monkeypatch):
    monkeypatch.setitem(panel_run.prep, "skipped", ["s3"])  # as if train had left it out (too short, model.combine: none)
    notes = []
    prepared = forecasting.prepare_panel(panel_run, unseen=True, notes=notes)
    assert "s3" not in prepared and len(prepared) == 3
    assert notes == [f"1 series of p.csv was left out when {panel_run.path.name} was trained (too short, or their data "
                     "refused: train's notes say which) and is not forecast: s3"]
    notes = []
    assert "s3" not in forecasting.prepare_panel(panel_run, notes=notes) and notes == []


def _single_series_run(folder, learning_rate: float, highway: str = "seasonal", months: int = 504):
    """A noisy monthly cycle with a trend (42 years), trained through the CLI (which makes the choice) with a tiny
    network. The tests of a long series' paths lower SHORT_ROWS under 504 rather than train on 2,000 rows."""
    t = np.arange(months)
    y = 100 + 10 * np.sin(2 * np.pi * t / 12) + 0.3 * t + np.random.default_rng(1).normal(0, 3, months)
    dates = pd.date_range("1970-01-01", periods=months, freq="MS").strftime("%Y-%m-%d")
    pd.DataFrame({"month": dates, "y": y}).to_csv(folder / "s.csv", index=False)
    raw = {"data": {"path": str(folder / "s.csv"), "targets": ["y"]}, "window": {"input_length": 24, "horizon": 12},
           "model": {"layers": [{"units": 4}], "highway": highway},
           "training": {"epochs": 1, "optimizer": {"learning_rate": learning_rate}}, "run": {"dir": str(folder)}}
    (folder / "s.yaml").write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(folder / "s.yaml")])
    assert result.exit_code == 0, result.output
    return runs.load(result.stdout.strip().splitlines()[-1]), y, result.output


def test_a_single_series_still_at_its_seasonal_naive_start_is_forecast_by_the_classical_mean(tmp_path, monkeypatch):
    monkeypatch.setattr(combination, "SHORT_ROWS", 500)  # 504 rows: a long series here
    # the seasonal highway starts as seasonal naive; a learning rate of 1e-9 cannot move it off
    run, y, output = _single_series_run(tmp_path, 1e-9)
    saved = json.loads((run.path / combination.FILE).read_text())
    assert saved["chosen"] == "classical" and saved["largest_gap_scaled"] <= combination.START_TOLERANCE
    assert "seasonal-naive start" in output and "mean of AutoETS's and AutoTheta's" in output
    from statsforecast.models import AutoETS, AutoTheta

    reference = 0.5 * AutoETS(season_length=12).fit(y).predict(12)["mean"] + \
        0.5 * AutoTheta(season_length=12).fit(y).predict(12)["mean"]
    predicted = runner.invoke(app, ["predict", str(run.path)])
    assert predicted.exit_code == 0, predicted.output
    table = pd.read_csv(io.StringIO(predicted.stdout))
    np.testing.assert_allclose(table["y"], reference, rtol=1e-5)
    # the interval's shape from the network's calibration, its median on the mix
    np.testing.assert_allclose(table["y_q0.5"], table["y"], rtol=1e-9)
    assert (table["y_q0.1"] < table["y"]).all() and (table["y"] < table["y_q0.9"]).all()
    evaluated = runner.invoke(app, ["evaluate", str(run.path), "--format", "json"])
    report = json.loads(evaluated.stdout)
    scaled = report["scaled"]
    assert "combined" in scaled and scaled["model"]["overall"]["mae"] == \
        pytest.approx(scaled["seasonal_naive"]["overall"]["mae"], rel=1e-4)
    tested = runner.invoke(app, ["backtest", str(tmp_path / "s.yaml"), "--stride", "12"])
    assert tested.exit_code == 0, tested.output
    folder = Path(tested.stdout.strip().splitlines()[-1])
    assert json.loads((folder / "backtest.json").read_text())["combination"]["chosen"] == "classical"
    forecasts = pd.read_csv(folder / "forecasts.csv")
    np.testing.assert_allclose(forecasts["combined"], 0.5 * forecasts["AutoETS"] + 0.5 * forecasts["AutoTheta"],
                               rtol=1e-6)
    assert "combined (predict)" in tested.output


def test_a_single_series_whose_network_learned_keeps_it_and_none_keeps_it_anyway(tmp_path, monkeypatch):
    monkeypatch.setattr(combination, "SHORT_ROWS", 500)  # 504 rows: a long series here
    run, _, _ = _single_series_run(tmp_path, 1e-3, highway="fitted")  # the fitted map learns the trend
    assert not (run.path / combination.FILE).exists() and combination.weights(run) is None
    found = combination.start_check(forecasting.validation_forecasts(forecasting.prepare(run)), run.prep)
    assert found["largest_gap_scaled"] > combination.START_TOLERANCE
    monkeypatch.setattr(run.config.model, "combine", "none")
    monkeypatch.setattr(combination, "START_TOLERANCE", np.inf)  # as if at the start: none still keeps the network
    assert combination.choose_new_run(run) == [] and combination.weights(run) is None


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
    # auto: the thirds, as train records them
    result = runner.invoke(app, ["backtest", str(config_path)])
    assert result.exit_code == 0, result.output
    run = runs.load(result.stdout.strip().splitlines()[-1])
    report = json.loads((run.path / "backtest.json").read_text())
    assert report["combination"]["chosen"] == "ets+theta" and "combined" in report["aggregate"]
    forecasts = pd.read_csv(run.path / "forecasts.csv")
    np.testing.assert_allclose(forecasts["combined"], (forecasts["model"] + forecasts["AutoETS"] + forecasts["AutoTheta"])
                               / 3, rtol=1e-6)
    # without the classical fits there is nothing to mix
    result = runner.invoke(app, ["backtest", str(config_path), "--no-classical"])
    assert result.exit_code == 0, result.output
    report = json.loads((runs.load(result.stdout.strip().splitlines()[-1]).path / "backtest.json").read_text())
    assert "combination" not in report and "combined" not in report["aggregate"]


def test_a_short_single_series_is_averaged_with_the_classical_models(tmp_path):
    run, y, output = _single_series_run(tmp_path, 1e-3, highway="fitted", months=120)  # under SHORT_ROWS
    saved = json.loads((run.path / combination.FILE).read_text())
    assert saved["chosen"] == "ets+theta" and saved["rows"] == 120 and "under 2,000" in output
    from statsforecast.models import AutoETS, AutoTheta

    network = forecasting.future(forecasting.prepare(run), run.load_model(final=True))["y"].to_numpy()
    classical_part = AutoETS(season_length=12).fit(y).predict(12)["mean"] + \
        AutoTheta(season_length=12).fit(y).predict(12)["mean"]
    table = forecasting.forecast_run(run)
    np.testing.assert_allclose(table["y"], (network + classical_part) / 3, rtol=1e-5)
    tested = runner.invoke(app, ["backtest", str(tmp_path / "s.yaml"), "--stride", "12"])
    assert tested.exit_code == 0, tested.output
    folder = Path(tested.stdout.strip().splitlines()[-1])
    assert json.loads((folder / "backtest.json").read_text())["combination"]["chosen"] == "ets+theta"
    forecasts = pd.read_csv(folder / "forecasts.csv")
    np.testing.assert_allclose(forecasts["combined"],
                               (forecasts["model"] + forecasts["AutoETS"] + forecasts["AutoTheta"]) / 3, rtol=1e-6)


def test_a_short_quantile_model_says_it_is_not_mixed(tmp_path):
    """A quantile head's intervals are its own: auto keeps the network alone, and says so (it was silent)."""
    months = 120
    y = 100 + 10 * np.sin(2 * np.pi * np.arange(months) / 12)
    dates = pd.date_range("1970-01-01", periods=months, freq="MS").strftime("%Y-%m-%d")
    pd.DataFrame({"month": dates, "y": y}).to_csv(tmp_path / "s.csv", index=False)
    raw = {"data": {"path": str(tmp_path / "s.csv"), "targets": ["y"]}, "window": {"input_length": 24, "horizon": 12},
           "model": {"layers": [{"units": 4}], "output": {"quantiles": [0.1, 0.5, 0.9]}},
           "training": {"epochs": 1}, "run": {"dir": str(tmp_path)}}
    (tmp_path / "q.yaml").write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(tmp_path / "q.yaml")])
    assert result.exit_code == 0, result.output
    assert "does not mix a quantile model (model.output.quantiles) with AutoETS and AutoTheta" in result.stderr
    assert not (Path(result.stdout.strip().splitlines()[-1]) / combination.FILE).exists()


def test_a_mix_named_for_one_series_is_the_one_it_forecasts(tmp_path):
    """model.combine: theta on one series (it was ignored there: only panels took a named mix)."""
    months = 120
    y = 100 + 10 * np.sin(2 * np.pi * np.arange(months) / 12) + 0.2 * np.arange(months)
    dates = pd.date_range("1970-01-01", periods=months, freq="MS").strftime("%Y-%m-%d")
    pd.DataFrame({"month": dates, "y": y}).to_csv(tmp_path / "s.csv", index=False)
    raw = {"data": {"path": str(tmp_path / "s.csv"), "targets": ["y"]}, "window": {"input_length": 24, "horizon": 12},
           "model": {"layers": [{"units": 4}], "combine": "theta"}, "training": {"epochs": 1, "refit": False},
           "run": {"dir": str(tmp_path)}}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(tmp_path / "t.yaml")])
    assert result.exit_code == 0, result.output
    assert "averaged with AutoTheta's" in result.stderr and "model.combine: theta" in result.stderr
    run = runs.load(result.stdout.strip().splitlines()[-1])
    assert json.loads((run.path / combination.FILE).read_text())["chosen"] == "theta"
    from statsforecast.models import AutoTheta

    network = forecasting.future(forecasting.prepare(run), run.load_model())["y"].to_numpy()
    theta = AutoTheta(season_length=12).fit(y).predict(12)["mean"]
    np.testing.assert_allclose(forecasting.forecast_run(run)["y"], (network + theta) / 2, rtol=1e-5)
    tested = runner.invoke(app, ["backtest", str(tmp_path / "t.yaml"), "--stride", "12"])  # it scored no mix
    assert tested.exit_code == 0, tested.output
    folder = Path(tested.stdout.strip().splitlines()[-1])
    assert json.loads((folder / "backtest.json").read_text())["combination"]["chosen"] == "theta"
    forecasts = pd.read_csv(folder / "forecasts.csv")
    np.testing.assert_allclose(forecasts["combined"], (forecasts["model"] + forecasts["AutoTheta"]) / 2, rtol=1e-6)


def test_quantiles_on_one_side_of_the_median_move_with_the_mixed_point_forecast(tmp_path):
    """Calibrated to 0.1 and 0.3, a mixed run's quantiles were centred as if 0.2 were its median (0.3 above it)."""
    run, _, _ = _single_series_run(tmp_path, 1e-3, highway="fitted", months=120)  # short: the thirds
    forecasting.recalibrate(run, [0.1, 0.3])
    prepared = forecasting.prepare(run)
    honest, final = forecasting.models_for_future(run)
    network = forecasting.future(prepared, final)
    alone = forecasting.with_quantiles(prepared, network, honest, final)
    mixed = forecasting.forecast_run(run).set_index(network.index.name or "index")
    moved = mixed["y"].to_numpy() - network["y"].to_numpy()
    for q in ("y_q0.1", "y_q0.3"):
        np.testing.assert_allclose(mixed[q].to_numpy(), alone[q].to_numpy() + moved, rtol=1e-6)


def test_which_single_series_auto_mixes():
    """Under SHORT_ROWS rows a series alone is mixed in thirds (rounds 21 and 22); one whose network reads other
    columns keeps it unless the network is still at its start; a long one is mixed only at its start."""
    short, long_ = combination.SHORT_ROWS - 1, combination.SHORT_ROWS
    assert combination.SHORT_ROWS == 2000
    assert combination.single_choice(short, at_start=False) == "ets+theta"
    assert combination.single_choice(short, at_start=True) == "ets+theta"
    assert combination.single_choice(short, at_start=False, covariates=True) is None
    assert combination.single_choice(short, at_start=True, covariates=True) == "classical"
    assert combination.single_choice(long_, at_start=False) is None
    assert combination.single_choice(long_, at_start=True) == "classical"
    plain = config.validate({"data": {"path": "x.csv", "targets": ["y"]}, "window": {"horizon": 3}})
    priced = config.validate({"data": {"path": "x.csv", "targets": ["y"], "future_features": ["price"]},
                              "window": {"input_length": 6, "horizon": 3}})
    assert not combination.reads_covariates(plain) and combination.reads_covariates(priced)


def test_a_panel_series_without_inputs_for_its_future_is_named_with_how_to_forecast_the_others(panel_run):
    """One series that cannot be forecast (here a gap left unfilled by data.missing: drop) must not hide the others."""
    import importlib

    future = importlib.import_module("rnnforecast.forecasting.future")  # the module, not the function of its name

    prepared = forecasting.prepare_panel(panel_run)
    prepared["s2"].valid[-2] = False
    with pytest.raises(UserError) as refused:
        future._panel_inputs(prepared, list(prepared))
    message = str(refused.value)
    assert message.startswith("1 of 4 series cannot be forecast: the last") and "id=s2" in message
    assert message.endswith("To forecast the others now, give --series s0 --series s1 --series s3.")
    spaced = {("ETT h1" if key == "s1" else key): one for key, one in prepared.items()}  # ids to paste into a shell
    with pytest.raises(UserError, match=r"give --series s0 --series 'ETT h1' --series s3\.$"):
        future._panel_inputs(spaced, list(spaced))
    many = {f"k{i}": prepared["s0"] for i in range(9)} | {"s2": prepared["s2"]}  # "give and the 9 other..." before
    with pytest.raises(UserError, match=r"To forecast the others now, give the 9 other series' ids with --series"):
        future._panel_inputs(many, list(many))


def test_a_quantile_at_the_floor_of_intermittent_counts_stays_there_when_the_mix_moves_the_interval(tmp_path):
    """Sales on 30% of days: the mix (a mean) sits above the network's median of 0, and moved with it the 80%
    interval's lower end rose to about 0.5 on every day, excluding the zeros of most days."""
    rng = np.random.default_rng(4)
    sales = np.where(rng.random(300) < 0.3, rng.integers(1, 6, 300), 0)
    dates = pd.date_range("2023-01-01", periods=300).strftime("%Y-%m-%d")
    pd.DataFrame({"date": dates, "units": sales}).to_csv(tmp_path / "c.csv", index=False)
    raw = {"data": {"path": str(tmp_path / "c.csv"), "targets": ["units"]}, "window": {"horizon": 14},
           "model": {"layers": [{"units": 4}]}, "training": {"epochs": 1, "refit": False},
           "run": {"dir": str(tmp_path)}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml")])
    assert result.exit_code == 0, result.output
    run = runs.load(result.stdout.strip().splitlines()[-1])
    assert run.prep["floor"] == [0.0] and json.loads((run.path / combination.FILE).read_text())["chosen"] == "ets+theta"
    prepared = forecasting.prepare(run)
    honest, final = forecasting.models_for_future(run)
    network = forecasting.future(prepared, final)
    alone = forecasting.with_quantiles(prepared, network, honest, final)
    mixed = forecasting.forecast_run(run).set_index(network.index.name or "index")
    moved = mixed["units"].to_numpy() - alone["units_q0.5"].to_numpy()  # the median moved onto the mix
    low = alone["units_q0.1"].to_numpy()
    assert ((low <= 0) & (moved > 0.1)).any()  # a day the interval's low end was moved off the floor before
    np.testing.assert_allclose(mixed["units_q0.1"].to_numpy(), np.maximum(np.where(low <= 0, 0.0, low + moved), 0), atol=1e-6)
    np.testing.assert_allclose(mixed["units_q0.9"].to_numpy(), alone["units_q0.9"].to_numpy() + moved, rtol=1e-6)
