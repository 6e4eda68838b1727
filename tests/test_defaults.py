"""The minimal config's defaults: derived look-back, the competition split, the seasonal start, the final model."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import backtest, config, data, forecasting, models, runs, training
from rnnforecast.cli import app
from rnnforecast.errors import UserError
from tests.conftest import DATA

runner = CliRunner()


def _minimal(tmp_path, path=DATA / "airline-passengers.csv", target="Passengers", horizon=12, **extra):
    """What a new user writes: the file, the target and the horizon; every other key its default."""
    raw = {"data": {"path": str(path), "targets": [target], **extra.pop("data", {})}, "window": {"horizon": horizon},
           "training": {"epochs": 2, "seed": 1, **extra.pop("training", {})}, "run": {"dir": str(tmp_path / "runs")}}
    raw.update(extra)
    return config.validate(raw)


def test_default_input_length_is_four_seasons_or_four_horizons_and_fits_the_training_rows():
    assert data.default_input_length(season=12, horizon=12, training_rows=1000) == 48
    assert data.default_input_length(season=24, horizon=24, training_rows=10_000) == 96
    assert data.default_input_length(season=96, horizon=96, training_rows=10_000) == 336  # capped
    assert data.default_input_length(season=672, horizon=24, training_rows=10_000) == 336  # capped
    assert data.default_input_length(season=12, horizon=18, training_rows=40) == 22  # a window must fit
    assert data.default_input_length(season=1, horizon=2, training_rows=1000) == 8
    # weekly data (season 52), 300 rows: four seasons would leave one training window; a season of them is kept
    assert data.default_input_length(season=52, horizon=13, training_rows=210, min_windows=52) == 146
    assert data.default_input_length(season=52, horizon=13, training_rows=100, min_windows=52) == 43  # half the rows


def test_a_long_derived_look_back_is_read_in_eight_segments():
    assert data.default_segments(96) == (96, 12)
    assert data.default_segments(336) == (336, 42)
    assert data.default_segments(101) == (96, 12)  # shortened to a multiple of eight
    assert data.default_segments(95) == (95, None)  # short: point by point


def test_a_config_without_input_length_saves_the_derived_one(tmp_path):
    cfg = _minimal(tmp_path)
    assert cfg.window.input_length is None
    prepared = training.prepare_data(cfg)
    assert cfg.window.input_length == 48  # monthly: four seasons of 12
    assert cfg.model.segment_length is None
    assert prepared.prep["season_length"] == 12


def test_an_hourly_minimal_config_trains_on_segments_and_saves_them(tmp_path):
    cfg = _minimal(tmp_path, DATA / "ETTh1-head2000.csv", "OT", 24, model={"layers": [{"units": 4}]},
                   training={"epochs": 1, "refit": False, "batch_size": 256})
    run = runs.load(training.train(cfg, verbose=0))
    saved = config.validate(yaml.safe_load((run.path / "config.yaml").read_text()))
    assert (saved.window.input_length, saved.model.segment_length) == (96, 12)  # four days, in eight half-days
    assert run.load_model().get_layer("segments").output.shape[1:] == (8, 12)
    given = _minimal(tmp_path, DATA / "ETTh1-head2000.csv", "OT", 24, window={"input_length": 96, "horizon": 24})
    training.resolve_input_length(given, {"x": data.load_series(given.data)})
    assert given.model.segment_length is None  # a look-back the user gave is read as they gave it


def test_split_by_the_last_steps_puts_exactly_those_rows_in_test_and_validation(tmp_path):
    cfg = _minimal(tmp_path, horizon=6, data={"split": {"test_length": 12, "val_length": 6}})
    bounds = training.prepare_data(cfg).bounds
    assert (bounds.train_end, bounds.val_end, bounds.test_end) == (144 - 18, 144 - 12, 144)


def test_split_is_one_kind_only():
    with pytest.raises(Exception, match="split one way only"):
        config.validate({"data": {"path": "x.csv", "targets": ["y"], "split": {"train": 0.6, "test_length": 5}}})
    with pytest.raises(Exception, match="val_length needs test_length"):
        config.validate({"data": {"path": "x.csv", "targets": ["y"], "split": {"val_length": 5}}})


def test_a_panel_is_split_by_its_horizon_and_one_series_by_fractions():
    panel = config.validate({"data": {"path": "x.csv", "targets": ["y"], "id_column": "id"}, "window": {"horizon": 8}})
    assert (panel.data.split.test_length, panel.data.split.val_length) == (8, 8)
    single = config.validate({"data": {"path": "x.csv", "targets": ["y"]}})
    assert (single.data.split.train, single.data.split.val, single.data.split.test_length) == (0.7, 0.15, None)
    again = config.validate(yaml.safe_load(config.dump(panel)))  # the saved config loads as it was
    assert again.data.split == panel.data.split


def test_seasonal_highway_starts_as_the_seasonal_naive_forecast():
    matrix = models.seasonal_naive_map(input_length=10, horizon=6, season=4)
    window = np.arange(10.0)
    assert (window @ matrix).tolist() == [6, 7, 8, 9, 6, 7]  # the last season, repeated
    assert (np.arange(3.0) @ models.seasonal_naive_map(3, 2, 4)).tolist() == [2, 2]  # shorter than a season: last value
    cfg = config.ModelConfig(normalization="last", highway="seasonal", layers=[{"units": 4}])
    model = models.build_model(cfg, input_length=14, n_inputs=1, horizon=7, n_targets=1, season=7)
    x = np.random.default_rng(0).normal(size=(5, 14, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), x[:, 7:14, :], atol=1e-6)


def test_predict_uses_the_final_model_trained_on_every_row_and_evaluate_the_honest_one(tmp_path):
    cfg = _minimal(tmp_path, DATA / "daily-min-temperatures.csv", "Temp", 7,
                   model={"type": "gru", "layers": [{"units": 4}]}, training={"batch_size": 256})
    path = training.train(cfg, verbose=0)
    run = runs.load(path)
    meta = run.metadata
    prepared = training.prepare_data(config.validate(yaml.safe_load((path / "config.yaml").read_text())))
    assert meta["final_windows"] == len(prepared.starts["all"]) > meta["windows"]["train"] + meta["windows"]["val"]
    assert 1 <= meta["final_epochs"] <= 2
    assert (path / runs.FINAL_MODEL_FILE).is_file()
    honest, final = forecasting.models_for_future(run)
    one = forecasting.prepare(run)
    by_final = forecasting.future(one, final)
    assert not np.allclose(by_final.to_numpy(), forecasting.future(one, honest).to_numpy())
    table = forecasting.forecast_run(run)
    np.testing.assert_allclose(table["Temp"].to_numpy(), by_final["Temp"].to_numpy(), rtol=1e-6)
    assert (table["Temp_q0.1"] < table["Temp"]).all() and (table["Temp"] < table["Temp_q0.9"]).all()
    report = forecasting.evaluate(one)
    assert report["original"]["model"]["overall"]["mae"] == pytest.approx(
        forecasting.evaluate(one, honest)["original"]["model"]["overall"]["mae"]
    )


def test_refit_false_keeps_one_model(tmp_path):
    cfg = _minimal(tmp_path, training={"refit": False}, model={"layers": [{"units": 4}]})
    run = runs.load(training.train(cfg, verbose=0))
    assert not (run.path / runs.FINAL_MODEL_FILE).exists() and not run.has_final_model


def _short_panel(path):
    """Monthly series; s2 is too short for the split but holds an input window."""
    rows = []
    for key, n in (("s0", 120), ("s1", 100), ("s2", 40), ("s3", 5)):
        t = np.arange(n)
        y = 100 + 10 * np.sin(2 * np.pi * t / 12) + t
        rows.append(pd.DataFrame({"id": key, "month": pd.date_range("2010-01-01", periods=n, freq="MS"), "y": y}))
    pd.concat(rows).to_csv(path, index=False)
    return path


def test_a_panel_series_too_short_to_train_on_is_still_forecast(tmp_path):
    raw = {"data": {"path": str(_short_panel(tmp_path / "p.csv")), "targets": ["y"], "id_column": "id"},
           "window": {"input_length": 24, "horizon": 6},
           "model": {"type": "gru", "layers": [{"units": 4}]}, "training": {"epochs": 1}, "run": {"dir": str(tmp_path)}}
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(raw))
    run_dir = training.train(config.load_config(path), verbose=0)
    prep = json.loads((run_dir / "preprocessing.json").read_text())
    assert prep["untrained"] == ["s2"] and prep["skipped"] == ["s3"]
    said = [n for n in training.prepare_data(config.load_config(path)).notes if "no window in some part" in n]
    assert len(said) == 1 and "1 of 4 series" in said[0] and "the final model trains on their windows" in said[0]
    raw["training"]["refit"] = False  # no final model: the note does not promise one
    path.write_text(yaml.safe_dump(raw))
    said = [n for n in training.prepare_data(config.load_config(path)).notes if "no window in some part" in n]
    assert "no model trains on them (training.refit is off)" in said[0]
    result = runner.invoke(app, ["predict", str(run_dir), "--output", str(tmp_path / "f.csv")])
    assert result.exit_code == 0, result.output
    assert "3 series x 6 steps" in result.output
    forecast = pd.read_csv(tmp_path / "f.csv")
    assert sorted(forecast["id"].unique()) == ["s0", "s1", "s2"]
    assert forecast.loc[forecast["id"] == "s2", "month"].iloc[0] == "2013-05-01"  # right after its last month
    only = runner.invoke(app, ["predict", str(run_dir), "--series", "s2"])
    assert only.exit_code == 0, only.output


def test_backtest_of_a_panel_scores_every_series_and_writes_every_forecast(tmp_path):
    # the competition split, given: two long series alone would be split by fractions (too few validation windows)
    raw = {"data": {"path": str(_short_panel(tmp_path / "p.csv")), "targets": ["y"], "id_column": "id",
                    "split": {"test_length": 6}},
           "window": {"input_length": 24, "horizon": 6},
           "model": {"type": "gru", "layers": [{"units": 4}]}, "training": {"epochs": 1}, "run": {"dir": str(tmp_path)}}
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["backtest", str(path), "--stride", "3"])
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    report = json.loads((run / "backtest.json").read_text())
    assert report["series_scored"] == 2 and set(report["series"]) == {"s0", "s1"}  # s2 has no test period
    forecasts = pd.read_csv(run / "forecasts.csv")
    # test = the last 6 months of each series; origins every 3 steps: only the first fits a whole horizon
    assert forecasts.groupby("id")["fold"].nunique().to_dict() == {"s0": 1, "s1": 1}
    s0 = forecasts[forecasts["id"] == "s0"]
    assert s0["time"].tolist() == [str(t) for t in pd.date_range("2010-01-01", periods=120, freq="MS")[-6:]]
    t = np.arange(120)
    np.testing.assert_allclose(s0["actual"], (100 + 10 * np.sin(2 * np.pi * t / 12) + t)[-6:], rtol=1e-6)
    np.testing.assert_allclose(s0["seasonal_naive"], (100 + 10 * np.sin(2 * np.pi * t / 12) + t)[-18:-12], rtol=1e-6)
    mae = np.abs(s0["model"] - s0["actual"]).mean()
    assert report["series"]["s0"]["model"]["mae"] == pytest.approx(mae, rel=1e-6)
    inside = (s0["actual"] >= s0["model_q0.1"]) & (s0["actual"] <= s0["model_q0.9"])  # the intervals, in data units
    assert inside.mean() == pytest.approx(report["series"]["s0"]["intervals"]["coverage"]["80%"])
    # the model's calibrated intervals per series (its 6 test values) and over the series; MASE by step drawn
    covered = [report["series"][key]["intervals"]["coverage"]["80%"] for key in ("s0", "s1")]
    assert all(6 * c == pytest.approx(round(6 * c)) for c in covered) and report["quantiles"] == [0.1, 0.5, 0.9]
    assert report["intervals"]["coverage"]["80%"]["mean"] == pytest.approx(np.mean(covered))
    assert (run / "error_by_step.png").stat().st_size > 10_000
    refused = runner.invoke(app, ["backtest", str(path), "--retrain-every", "2"])
    assert refused.exit_code == 2 and "panel" in refused.output


def test_a_panel_of_few_long_series_is_split_by_fractions_and_a_one_row_series_cannot_shrink_the_look_back(tmp_path):
    """The last-steps default would give two validation windows here, and the one-row series a look-back of 1."""
    t = np.arange(400)
    rows = [pd.DataFrame({"id": key, "date": pd.date_range("2020-01-01", periods=400, freq="D").strftime("%Y-%m-%d"),
                          "y": 10 + np.sin(2 * np.pi * t / 7) + 0.1 * k * t}) for k, key in enumerate("AB")]
    rows.append(pd.DataFrame({"id": ["C"], "date": ["2020-01-01"], "y": [3.0]}))
    pd.concat(rows).to_csv(tmp_path / "few.csv", index=False)
    raw = {"data": {"path": str(tmp_path / "few.csv"), "targets": ["y"], "id_column": "id"}, "window": {"horizon": 7},
           "model": {"layers": [{"units": 4}]}, "training": {"epochs": 1, "refit": False}, "run": {"dir": str(tmp_path)}}
    cfg = config.validate(raw)
    prepared = training.prepare_data(cfg)
    assert (cfg.data.split.train, cfg.data.split.val, cfg.data.split.test_length) == (0.7, 0.15, None)
    assert cfg.window.input_length >= 7  # at least a season, though C holds one row
    assert len(prepared.starts["val"]) >= training.inputs.FEW_SERIES
    assert any("each is split by fractions" in note for note in prepared.notes)
    given = config.validate({**raw, "data": {**raw["data"], "split": {"test_length": 7}}})
    training.prepare_data(given)
    assert given.data.split.test_length == 7  # a split the user gave is kept


def test_a_single_series_too_short_for_the_fractions_is_split_by_its_last_horizons(tmp_path):
    """108 monthly rows and a horizon of 18: 15% of the rows (16) would not hold a validation window."""
    t = np.arange(108)
    dates = pd.date_range("2000-01-01", periods=108, freq="MS").strftime("%Y-%m-%d")
    pd.DataFrame({"date": dates, "y": 100 + 10 * np.sin(2 * np.pi * t / 12) + 0.5 * t}).to_csv(tmp_path / "s.csv",
                                                                                                index=False)
    raw = {"data": {"path": str(tmp_path / "s.csv"), "targets": ["y"]}, "window": {"horizon": 18},
           "run": {"dir": str(tmp_path)}}
    cfg = config.validate(raw)
    prepared = training.prepare_data(cfg)
    assert (prepared.bounds.train_end, prepared.bounds.val_end, prepared.bounds.test_end) == (72, 90, 108)
    assert cfg.data.split.test_length == 18 and cfg.data.split.by_fractions is False  # recorded for evaluate/predict
    assert cfg.window.input_length + 18 <= 72 and len(prepared.starts["val"]) == 1
    assert any("last 18 steps (one horizon) are the test period" in note for note in prepared.notes)
    given = config.validate({**raw, "data": {**raw["data"], "split": {"train": 0.7, "val": 0.15}}})
    with pytest.raises(UserError, match="validation part"):  # a split the user gave is kept, and explained
        training.prepare_data(given)
    longer = config.validate({**raw, "window": {"horizon": 12}})  # 16 rows hold a 12-step window: fractions kept
    training.prepare_data(longer)
    assert longer.data.split.by_fractions
    pd.read_csv(tmp_path / "s.csv").head(50).to_csv(tmp_path / "s50.csv", index=False)
    too_short = config.validate({**raw, "data": {**raw["data"], "path": str(tmp_path / "s50.csv")}})
    with pytest.raises(UserError, match=r"50 rows.*training keeps 14.*at most 16 here"):
        training.prepare_data(too_short)
    read_20 = config.validate({**raw, "data": {**raw["data"], "path": str(tmp_path / "s50.csv")},
                               "window": {"horizon": 18, "input_length": 20}})
    with pytest.raises(UserError, match=r"needs at least 38 \(20 steps to read and 18 to forecast\).*at most 10 here"):
        training.prepare_data(read_20)  # it said 16, for a look-back of 1, and 16 failed again


def test_rows_without_an_id_are_one_series_and_a_note_says_so(tmp_path):
    t = np.arange(120)
    frame = pd.DataFrame({"id": ["a"] * 120 + [""] * 120, "date": list(pd.date_range("2020-01-01", periods=120,
                          freq="D").strftime("%Y-%m-%d")) * 2, "y": np.r_[np.sin(t), np.cos(t)]})
    frame.to_csv(tmp_path / "ids.csv", index=False)
    cfg = config.validate({"data": {"path": str(tmp_path / "ids.csv"), "targets": ["y"], "id_column": "id"},
                           "window": {"horizon": 7}, "run": {"dir": str(tmp_path)}})
    prepared = training.prepare_data(cfg)
    assert set(prepared.offsets) == {"", "a"}
    assert any("120 row(s) of ids.csv have an empty id" in note for note in prepared.notes)


def test_the_rows_without_an_id_are_counted_as_the_file_has_them_not_after_gaps_are_filled(tmp_path):
    days = pd.date_range("2020-01-01", periods=120, freq="D").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"id": ["a"] * 120, "date": days, "y": np.sin(np.arange(120))})
    frame.loc[[5, 50], "id"] = ""  # two rows lost their id, 45 days apart
    frame.to_csv(tmp_path / "ids.csv", index=False)
    cfg = config.validate({"data": {"path": str(tmp_path / "ids.csv"), "targets": ["y"], "id_column": "id"},
                           "window": {"horizon": 7}, "run": {"dir": str(tmp_path)}})
    notes = training.prepare_data(cfg).notes
    assert any(note.startswith("2 row(s) of ids.csv have an empty id") for note in notes), notes


def test_backtest_writes_each_folds_forecasts_in_the_data_units(tmp_path):
    cfg = {"data": {"path": str(DATA / "airline-passengers.csv"), "targets": ["Passengers"]},
           "window": {"input_length": 24, "horizon": 12}, "model": {"type": "gru", "layers": [{"units": 4}]},
           "training": {"epochs": 1}, "run": {"dir": str(tmp_path)}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = runner.invoke(app, ["backtest", str(path)])
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    forecasts, folds = pd.read_csv(run / "forecasts.csv"), pd.read_csv(run / "folds.csv")
    assert len(forecasts) == 12 * len(folds)
    table = pd.read_csv(DATA / "airline-passengers.csv")
    actual = pd.Series(table["Passengers"].to_numpy(), index=pd.to_datetime(table["Month"]))
    np.testing.assert_allclose(forecasts["actual"], actual.loc[pd.to_datetime(forecasts["time"])].to_numpy(), rtol=1e-6)
    by_fold = forecasts.assign(err=(forecasts["model"] - forecasts["actual"]).abs()).groupby("fold")["err"].mean()
    np.testing.assert_allclose(by_fold.to_numpy(), folds["model_mae"].to_numpy(), rtol=1e-5)


def test_the_untrained_seasonal_start_is_kept_when_no_epoch_beats_it(tmp_path):
    """A learning rate that only makes the model worse: early stopping keeps the untrained model (seasonal naive)."""
    cfg = _minimal(tmp_path, DATA / "daily-min-temperatures.csv", "Temp", 7,
                   model={"layers": [{"units": 4}], "normalization": "last", "highway": "seasonal"},
                   training={"epochs": 2, "batch_size": 256, "optimizer": {"learning_rate": 3.0}})
    run = runs.load(training.train(cfg, verbose=0))
    assert run.metadata["best_epoch"] == 0 and run.metadata["final_epochs"] == 0
    assert run.metadata["best_val_loss"] == pytest.approx(run.metadata["initial_val_loss"])
    result = forecasting.test_forecasts(forecasting.prepare(run))
    np.testing.assert_allclose(result.forecasts["model"], result.forecasts["seasonal_naive"], rtol=1e-5, atol=1e-4)


def test_a_panels_derived_look_back_leaves_no_more_than_a_tenth_of_its_series_unforecast(tmp_path):
    assert data.panel_input_cap([30] + [120] * 9) == 30
    assert data.panel_input_cap([5] + [120] * 19) == 120  # one series in twenty may be too short
    assert data.panel_input_cap([10, 400, 400], floor=7) == 10  # a few series: a short one cuts it,
    assert data.panel_input_cap([5, 400, 400], floor=7) == 400  # but not for a series under a season, out at any length
    # (two stray series of 1 and 3 rows cut ten series' 28 steps to 7 for nothing)
    assert data.panel_input_cap([1, 3] + [365] * 10, floor=7) == 365
    assert data.panel_input_cap([1, 3], floor=7) == 7
    rows = []
    for key, n in [("short", 30)] + [(f"s{i}", 120) for i in range(9)]:
        t = np.arange(n)
        rows.append(pd.DataFrame({"id": key, "month": pd.date_range("2010-01-01", periods=n, freq="MS"),
                                  "y": 100 + 10 * np.sin(2 * np.pi * t / 12) + t}))
    path = tmp_path / "panel.csv"
    pd.concat(rows).to_csv(path, index=False)
    cfg = _minimal(tmp_path, path, "y", 6, data={"id_column": "id"})
    prepared = training.prepare_data(cfg)
    assert cfg.window.input_length == 30  # four seasons (48) would leave "short" without a forecast
    assert "short" in prepared.prep["series"] and not prepared.prep["skipped"]
    (said,) = [note for note in prepared.notes if note.startswith("window.input_length: 30 (derived), not 48")]
    assert "1 of the 10 series holds fewer than 48 rows" in said and "Set window.input_length" in said


def _counts(path, keys=("",), n=400):
    """Daily units sold: zero on weekends, a few on weekdays (a panel with `keys`)."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    frames = [pd.DataFrame({"id": key, "date": days, "units": rng.poisson(3.0, n) * (days.dayofweek < 5)})
              for key in keys]
    pd.concat(frames).drop(columns=[] if keys != ("",) else ["id"]).to_csv(path, index=False)
    return path


def test_counts_are_never_forecast_below_zero_and_scored_as_written(tmp_path, capsys):
    cfg = _minimal(tmp_path, _counts(tmp_path / "units.csv"), "units", 7,
                   model={"type": "gru", "layers": [{"units": 4}]}, training={"epochs": 1, "refit": False})
    run = runs.load(training.train(cfg, verbose=0))
    assert "'units' holds whole numbers >= 0 in the training rows (counts)" in capsys.readouterr().err
    assert run.prep["floor"] == [0.0]
    table = forecasting.forecast_run(run)
    columns = ["units", "units_q0.1", "units_q0.5", "units_q0.9"]
    assert (table[columns] >= 0).all().all() and (table["units_q0.1"] == 0).any()  # a weekend's lower bound, clipped
    one = forecasting.prepare(run)
    raw = forecasting.test_forecasts(one)
    assert (raw.forecasts["model"] < 0).any()  # what the floor is for
    units = pd.read_csv(tmp_path / "units.csv")["units"]  # scored on the file's own values: zeros are exact zeros
    assert (raw.actual == 0).sum() >= 10 and np.array_equal(raw.actual[:, 0, 0], units.iloc[raw.origins].to_numpy())
    assert raw.forecasts["seasonal_naive"][0, :, 0].tolist() == units.iloc[raw.origins[0] - 7 : raw.origins[0]].tolist()
    report = forecasting.evaluate(one)
    mae = np.abs(np.maximum(raw.forecasts["model"], 0) - raw.actual).mean()
    assert report["original"]["model"]["overall"]["mae"] == pytest.approx(mae, rel=1e-6)


def test_counts_are_scored_on_the_files_own_values_and_their_zeros_inside_a_floored_interval(tmp_path):
    """A zero went through the float32 scaled array as -4e-8: below an interval floored at 0, so every zero counted as
    a miss (80% intervals read 57% covered) and forecasts.csv did not hold the file's values."""
    path = _counts(tmp_path / "units.csv")
    cfg = _minimal(tmp_path, path, "units", 7, model={"type": "gru", "layers": [{"units": 4}]},
                   training={"epochs": 1})
    folder = backtest.backtest(cfg, with_classical=False)
    forecasts = pd.read_csv(folder / "forecasts.csv")
    units = pd.read_csv(path).set_index("date")["units"]
    assert (forecasts["actual"].to_numpy() == units.loc[forecasts["time"].str[:10]].to_numpy()).all()
    assert (forecasts["actual"] == 0).sum() >= 10 and (forecasts["naive"] % 1 == 0).all()
    report = json.loads((folder / "backtest.json").read_text())
    assert report["intervals"]["naive"]["coverage"]["80%"] > 0.7  # a zero inside a band floored at 0 is covered


def test_a_never_negative_measurement_with_fractions_gets_no_floor_but_predict_says_how_where_it_goes_below_0(tmp_path):
    """Sunspots: fractions, never below 0 in training; no automatic floor (a measurement can turn negative later), and a
    note from predict where the forecast or its interval goes below 0, not one in every training run."""
    path = tmp_path / "s.csv"
    frame = pd.read_csv(_counts(path))
    frame.assign(units=frame["units"] * 0.7 + 0.1).to_csv(path, index=False)
    cfg = _minimal(tmp_path, path, "units", 7, model={"type": "gru", "layers": [{"units": 4}]},
                   training={"epochs": 1, "refit": False})
    run = runs.load(training.train(cfg, verbose=0))
    assert run.prep["floor"] == [None] and run.prep["never_negative"] == [True]
    table = forecasting.forecast_run(run)
    below = (table[["units", "units_q0.1"]] < 0).any().any()
    said = [note for note in table.attrs["notes"] if "never went below 0 in the training rows" in note]
    assert bool(said) == below and (not said or "data.floor: 0" in said[0])
    table.loc[0, "units_q0.1"] = -1.0  # wherever the forecast goes below 0, the note is there
    assert forecasting.below_zero_notes(run, table)
    run.prep["never_negative"] = [False]  # a target that went below 0 in training: nothing to say
    assert not forecasting.below_zero_notes(run, table)


def test_a_panel_of_counts_is_forecast_at_zero_or_above(tmp_path):
    cfg = _minimal(tmp_path, _counts(tmp_path / "units.csv", ("a", "b", "c"), 200), "units", 7,
                   data={"id_column": "id"}, model={"type": "gru", "layers": [{"units": 4}]},
                   training={"epochs": 1, "refit": False})
    prepared = training.prepare_data(cfg)
    assert any("'units' holds whole numbers >= 0 in 3 of 3 series" in note for note in prepared.notes)
    run = runs.load(training.train(cfg, verbose=0))
    table = forecasting.forecast_run(run)
    bounds = [c for c in table.columns if c.startswith("units")]
    assert len(bounds) == 4 and (table[bounds] >= 0).all().all() and (table["units_q0.1"] == 0).any()

    # below 0: each series answers for its own rows (a note for b, which never went below 0 in training; none for a)
    for key, never_negative in (("a", False), ("b", True), ("c", True)):
        run.prep["series"][key].update(floor=[None], never_negative=[never_negative])
    table = table.assign(units=np.where(table["id"].astype(str) == "a", -5.0, 1.0))
    assert not forecasting.below_zero_notes(run, table)
    table.loc[table["id"].astype(str) == "b", "units"] = -2.0
    (note,) = forecasting.below_zero_notes(run, table)
    assert "in the training rows of 1 series (b), but its forecast or interval does here (down to -2)" in note
    assert "clip these series' forecasts at 0 yourself" in note and "1 of this panel's went below 0" in note
    # a data.floor of 0 that one series' training rows break refuses the panel, naming it (it left the series out)
    frame = pd.read_csv(tmp_path / "units.csv")
    frame.loc[(frame["id"] == "c") & (frame.index % 50 == 3), "units"] = -1
    frame.to_csv(tmp_path / "units.csv", index=False)
    with pytest.raises(UserError, match=r"data.floor is 0, but 1 of 3 series of units.csv go below it in their "
                                        r"training rows \(c: 'units' to -1\)"):
        training.prepare_data(_minimal(tmp_path, tmp_path / "units.csv", "units", 7, data={"id_column": "id", "floor": 0}))
