"""Rolling-origin backtest and the benchmark protocol's split by row index, on small real files."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import backtest, config, data, runs
from rnnforecast.cli import app
from rnnforecast.errors import UserError
from tests.conftest import tiny_config

TEMPS = Path(__file__).parent / "data" / "daily-min-temperatures.csv"
runner = CliRunner()


def _config(tmp_path, **sections):
    raw = tiny_config(TEMPS, run={"dir": str(tmp_path / "runs")}, **sections)
    return config.validate(raw)


@pytest.fixture(scope="module")
def retrained(tmp_path_factory):
    """One tiny backtest that retrains every 40 folds (two trainings), shared by the read-only tests."""
    folder = tmp_path_factory.mktemp("backtest")
    cfg = _config(folder)
    path = backtest.backtest(cfg, stride=7, retrain_every=40, verbose=0, with_classical=False)  # test_classical's
    return cfg, path


def test_backtest_writes_a_complete_run_folder(retrained):
    _, path = retrained
    assert path.name.startswith("run-backtest-")
    for name in ("model.keras", "config.yaml", "preprocessing.json", "history.csv", "metadata.json",
                 "backtest.json", "folds.csv", "error_by_step.png"):
        assert (path / name).is_file(), name
    assert not list(path.parent.glob(".*partial*"))
    # a usual run folder, so predict reads it, and says which model that is
    predicted = runner.invoke(app, ["predict", str(path)])
    assert predicted.exit_code == 0, predicted.output
    assert "this is a backtest's folder" in predicted.stderr and "train the config and predict" in predicted.stderr


def test_every_stride_th_test_origin_is_one_fold(retrained):
    cfg, path = retrained
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    expected = np.arange(bounds.val_end, bounds.test_end - cfg.window.horizon + 1, 7)
    folds = pd.read_csv(path / "folds.csv")
    assert list(folds["origin"]) == [str(series.index[row]) for row in expected]
    report = json.loads((path / "backtest.json").read_text())
    assert report["windows"] == len(expected) and report["trainings"] == 2


def test_retraining_moves_the_training_up_to_the_fold_and_never_past_it(retrained):
    _, path = retrained
    folds = pd.read_csv(path / "folds.csv", parse_dates=["origin", "trained_until"])
    assert folds["trained_until"].nunique() == 2
    assert (folds["trained_until"] < folds["origin"]).all()
    first_of_second = folds.iloc[40]
    assert first_of_second["trained_until"] == first_of_second["origin"] - pd.Timedelta(days=1)
    assert (folds["trained_until"].iloc[:40] == folds["trained_until"].iloc[0]).all()
    # the folder holds the last model: its split is that model's, so evaluate on the folder scores only rows after its
    # validation (it kept the first fold's split, and scored the model on its own training and validation rows)
    prep = json.loads((path / "preprocessing.json").read_text())
    series = data.load_series(runs.load(path).config.data)
    assert series.index[prep["val_end"] - 1] == first_of_second["trained_until"]
    evaluated = runner.invoke(app, ["evaluate", str(path), "--no-classical"])
    assert evaluated.exit_code == 0, evaluated.output
    assert f"Test period {first_of_second['origin']:%Y-%m-%d} to" in evaluated.stdout


def test_naive_fold_errors_match_a_hand_computation(retrained):
    cfg, path = retrained
    series = data.load_series(cfg.data)
    temps = series.frame["Temp"].interpolate(method="time")
    folds = pd.read_csv(path / "folds.csv")
    origin = series.index.get_loc(pd.Timestamp(folds["origin"].iloc[3]))
    actual = temps.iloc[origin : origin + 7].to_numpy()
    expected = np.abs(actual - temps.iloc[origin - 1]).mean()
    assert folds["naive_mae"].iloc[3] == pytest.approx(expected, rel=1e-5)


def test_overall_scores_cover_the_model_and_both_baselines(retrained):
    _, path = retrained
    report = json.loads((path / "backtest.json").read_text())
    for units in ("original", "scaled"):
        assert set(report[units]) == {"model", "naive", "seasonal_naive"}
        assert len(report[units]["model"]["per_step"]["mae"]) == 7
    folds = pd.read_csv(path / "folds.csv")
    assert report["original"]["naive"]["overall"]["mae"] == pytest.approx(folds["naive_mae"].mean(), rel=1e-5)


def test_forecasts_csv_holds_the_calibrated_quantiles_the_interval_scores_come_from(retrained):
    """forecasts.csv had point forecasts only: no interval score could be computed from it."""
    _, path = retrained
    report = json.loads((path / "backtest.json").read_text())
    forecasts = pd.read_csv(path / "forecasts.csv")
    for name in ("model", "naive", "seasonal_naive"):
        assert [f"{name}_q{q:g}" for q in report["quantiles"]] == [c for c in forecasts if c.startswith(f"{name}_q")]
        low, high = forecasts[f"{name}_q0.1"], forecasts[f"{name}_q0.9"]
        inside = ((forecasts["actual"] >= low) & (forecasts["actual"] <= high))[forecasts["actual"].notna()]
        assert inside.mean() == pytest.approx(report["intervals"][name]["coverage"]["80%"], abs=1e-6)
        assert (high - low).mean() == pytest.approx(report["intervals"][name]["width"]["80%"], rel=1e-4)


def test_backtest_command_prints_the_table_and_the_folder(tmp_path, write_config):
    path = write_config(tiny_config(TEMPS, run={"dir": str(tmp_path / "runs")}))
    result = runner.invoke(app, ["backtest", str(path), "--stride", "30"])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert (folder / "backtest.json").is_file()
    assert "seasonal naive" in result.output and "Backtest saved to" in result.output
    forecasts = pd.read_csv(folder / "forecasts.csv")  # folds 30 steps apart: the test part's last rows said
    last = pd.Timestamp(forecasts["time"].max())
    assert "are not scored: an origin 30 step(s) after the last fold" in result.stderr
    assert str((last + pd.Timedelta(days=1)).date()) in result.stderr


def test_backtest_refuses_a_zero_stride(tmp_path, write_config):
    path = write_config(tiny_config(TEMPS))
    result = runner.invoke(app, ["backtest", str(path), "--stride", "0"])
    assert result.exit_code == 2


# ---------------------------------------------------------------------------- split by row index


def test_split_by_row_index_sets_the_bounds_and_leaves_later_rows_unused():
    cfg = config.validate(tiny_config(TEMPS, data={"split": {"train_end": 2000, "val_end": 2500, "test_end": 3000}}))
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    assert (bounds.train_end, bounds.val_end, bounds.test_end) == (2000, 2500, 3000)
    _, valid = data.prepare(series, data.fit_preprocessing(series, bounds, cfg.data))
    test = data.part_starts(valid, bounds, cfg.window, "test")
    L, H = cfg.window.input_length, cfg.window.horizon
    assert test[0] == 2500 - L  # the first test window reads L rows of validation history
    assert test[-1] + L + H == 3000  # and the last target is the row before test_end
    assert len(test) == 3000 - 2500 - H + 1


def test_split_by_row_index_needs_all_three_rows_in_order():
    with pytest.raises(UserError, match="give all of train_end, val_end and test_end"):
        config.validate(tiny_config(TEMPS, data={"split": {"train_end": 10, "val_end": 20}}))
    with pytest.raises(UserError, match="must hold"):
        config.validate(tiny_config(TEMPS, data={"split": {"train_end": 30, "val_end": 20, "test_end": 40}}))


def test_test_end_past_the_file_is_a_clear_error():
    cfg = config.validate(tiny_config(TEMPS, data={"split": {"train_end": 2000, "val_end": 2500, "test_end": 9000}}))
    series = data.load_series(cfg.data)
    with pytest.raises(UserError, match="test_end is 9000, but daily-min-temperatures.csv has only 3652 rows"):
        data.split_bounds(series, cfg.data, cfg.window)


def test_benchmark_configs_are_valid():
    for path in sorted((Path(__file__).parent.parent / "configs" / "benchmarks").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text())
        cfg = config.validate(raw, source=str(path))
        split = cfg.data.split  # the protocol's split: by row index (ETT), or by the dates of its rows (Weather)
        assert split.test_end is not None or split.test_start is not None, path.name


def test_backtest_reports_calibrated_intervals_for_every_forecaster(retrained):
    _, path = retrained
    report = json.loads((path / "backtest.json").read_text())
    assert report["quantiles"] == [0.1, 0.5, 0.9] and report["calibration"]["method"] == "rolling"
    assert set(report["intervals"]) == {"model", "naive", "seasonal_naive"}
    for scores in report["intervals"].values():
        assert 0.5 < scores["coverage"]["80%"] < 1.0 and scores["width"]["80%"] > 0 and scores["pinball"] > 0


@pytest.mark.slow
def test_with_refit_the_folds_score_a_model_refit_on_every_window_before_the_test_period(tmp_path, monkeypatch):
    from rnnforecast import training

    cfg = _config(tmp_path, training={"refit": True})
    seen = []
    real = training.refit

    def spy(config, prepared, *args):
        seen.append(prepared.starts["all"])
        return real(config, prepared, *args)

    monkeypatch.setattr(training, "refit", spy)
    path = backtest.backtest(cfg, stride=7, verbose=0)
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    L, H = cfg.window.input_length, cfg.window.horizon
    (starts,) = seen
    assert starts.max() + L + H == bounds.val_end  # up to the last validation target, and no test row
    assert starts.min() == 0 and len(starts) == bounds.val_end - L - H + 1
    report = json.loads((path / "backtest.json").read_text())
    assert report["model_scored"].startswith("final")
    honest = backtest.backtest(_config(tmp_path), stride=7, verbose=0)  # refit off: the honest model
    assert json.loads((honest / "backtest.json").read_text())["model_scored"] == "honest"
    scored, unscored = pd.read_csv(path / "forecasts.csv"), pd.read_csv(honest / "forecasts.csv")
    pd.testing.assert_series_equal(scored["seasonal_naive"], unscored["seasonal_naive"])
    assert not np.allclose(scored["model"], unscored["model"])
