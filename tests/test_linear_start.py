"""model.highway: fitted: the highway starts as a ridge fit of the training windows, shrunk toward seasonal naive."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from rnnforecast import config, runs, training
from rnnforecast.errors import UserError
from rnnforecast.models.layers import seasonal_naive_map
from rnnforecast.training import linear_start
from tests.conftest import DATA


def _config(path, target, horizon, input_length, tmp_path, **training_options):
    return config.validate({
        "data": {"path": str(path), "targets": [target]},
        "window": {"input_length": input_length, "horizon": horizon},
        "model": {"type": "gru", "layers": [{"units": 4}], "highway": "fitted"},
        "training": {"epochs": 1, "batch_size": 64, "seed": 1, "refit": False, **training_options},
        "run": {"dir": str(tmp_path / "runs")},
    })


def _windows(values, starts, L, H):
    rows = starts[:, None] + np.arange(L + H)
    block = values[rows][:, :, 0].astype("float64")
    reference = block[:, L - 1 : L]
    return block[:, :L] - reference, block[:, L:] - reference


def test_a_weak_prior_gives_least_squares_and_an_infinite_one_seasonal_naive(tmp_path):
    cfg = _config(DATA / "daily-min-temperatures.csv", "Temp", 7, 14, tmp_path)
    prepared = training.prepare_data(cfg)
    train = prepared.starts["train"]
    x, y = _windows(prepared.values, train, 14, 7)
    design = np.hstack([x, np.ones((len(x), 1))])
    expected = np.linalg.lstsq(design, y, rcond=None)[0]
    fitted, weight = linear_start.fitted_map(prepared.values, train, [], cfg, 7, prior_windows=1e-6)
    assert weight == 1e-6
    # the same forecasts (the last input is always 0 after normalization, so its weight is free)
    np.testing.assert_allclose(design @ fitted, design @ expected, atol=1e-5)
    naive, weight = linear_start.fitted_map(prepared.values, train, [], cfg, 7, prior_windows=math.inf)
    np.testing.assert_array_equal(naive[:-1], seasonal_naive_map(14, 7, 7))
    assert not naive[-1].any()


def test_the_shrinkage_is_the_one_with_the_lowest_validation_error(tmp_path):
    cfg = _config(DATA / "airline-passengers.csv", "Passengers", 12, 48, tmp_path)
    prepared = training.prepare_data(cfg)
    train, val = prepared.starts["train"], prepared.starts["val"]
    assert len(train) < 48  # fewer windows than weights: plain least squares would fit noise
    x, y = _windows(prepared.values, val, 48, 12)
    design = np.hstack([x, np.ones((len(x), 1))])
    errors = {}
    for weight in linear_start.PRIOR_WINDOWS:
        solution, _ = linear_start.fitted_map(prepared.values, train, [], cfg, 12, prior_windows=weight)
        errors[weight] = np.abs(design @ solution - y).mean()
    _, chosen = linear_start.fitted_map(prepared.values, train, val, cfg, 12)
    assert chosen == min(errors, key=errors.get)
    assert errors[chosen] <= errors[math.inf]  # never worse than seasonal naive on validation
    assert errors[chosen] < 0.9 * errors[linear_start.PRIOR_WINDOWS[0]]  # shrinking helps this short series


def _business_days(tmp_path, values):
    path = tmp_path / "prices.csv"
    pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=len(values)), "close": values}).to_csv(path, index=False)
    return path


def test_a_random_walk_on_business_days_starts_as_the_naive_forecast_not_last_week(tmp_path):
    # a price read as business days has season 5: every shrinkage ends at repeating the last week, whose step-1
    # error is twice the naive forecast's on a random walk (round 31); the naive map is the last choice
    walk = 100 + np.cumsum(np.random.default_rng(3).normal(0, 1, 1000))
    cfg = _config(_business_days(tmp_path, walk), "close", 14, 56, tmp_path)
    prepared = training.prepare_data(cfg)
    assert prepared.prep["season_length"] == 5
    train, val = prepared.starts["train"], prepared.starts["val"]
    solution, chosen = linear_start.fitted_map(prepared.values, train, val, cfg, 5)
    x, y = _windows(prepared.values, val, 56, 14)
    design = np.hstack([x, np.ones((len(x), 1))])
    errors = {w: np.abs(design @ linear_start.fitted_map(prepared.values, train, [], cfg, 5, prior_windows=w)[0] - y)
              .mean() for w in linear_start.PRIOR_WINDOWS}
    assert chosen == linear_start.NAIVE  # the window's last value, every step
    np.testing.assert_array_equal(solution[:-1], seasonal_naive_map(56, 14, 1))
    assert not solution[-1].any() and (solution[-2] == 1).all()
    assert np.abs(y).mean() < min(errors.values())  # strictly better there than every shrinkage
    # the final model reuses the choice
    again, kept = linear_start.fitted_map(prepared.values, prepared.starts["all"], [], cfg, 5, prior_windows=chosen)
    assert kept == linear_start.NAIVE
    np.testing.assert_array_equal(again, solution)


def test_a_seasonal_series_on_business_days_keeps_a_seasonal_start(tmp_path):
    t = np.arange(1000)
    values = 100 + 5 * np.sin(2 * np.pi * t / 5) + np.random.default_rng(3).normal(0, 0.5, len(t))
    cfg = _config(_business_days(tmp_path, values), "close", 14, 56, tmp_path)
    prepared = training.prepare_data(cfg)
    _, chosen = linear_start.fitted_map(prepared.values, prepared.starts["train"], prepared.starts["val"], cfg, 5)
    assert chosen != linear_start.NAIVE


def test_the_untrained_model_forecasts_the_fitted_map(tmp_path):
    t = np.arange(3000)
    values = 10 + 0.001 * t + np.sin(2 * np.pi * t / 24) + 0.05 * np.random.default_rng(0).normal(size=len(t))
    path = tmp_path / "wave.csv"
    pd.DataFrame({"time": pd.date_range("2020-01-01", periods=len(t), freq="h"), "y": values}).to_csv(path, index=False)
    cfg = _config(path, "y", 24, 48, tmp_path)
    prepared = training.prepare_data(cfg)
    model = training.build(cfg, 1, prepared.prep["season_length"])
    train, val = prepared.starts["train"], prepared.starts["val"]
    weight = linear_start.start_highway(model, prepared.values, train, val, cfg, 24)
    solution, _ = linear_start.fitted_map(prepared.values, prepared.starts["train"], [], cfg, 24, prior_windows=weight)
    val = prepared.starts["val"][:100]
    x, y = _windows(prepared.values, val, 48, 24)
    reference = prepared.values[val + 47, 0][:, None]
    expected = np.hstack([x, np.ones((len(x), 1))]) @ solution + reference
    windows = prepared.values[val[:, None] + np.arange(48)]
    np.testing.assert_allclose(model.predict(windows, verbose=0)[:, :, 0], expected, atol=1e-4)
    seasonal = np.abs(windows[:, 24:48, 0] - (y + reference)).mean()
    assert np.abs(expected - (y + reference)).mean() < 0.75 * seasonal  # seasonal naive adds two draws of the noise


def test_train_records_the_shrinkage_and_fits_the_final_model_on_every_window(tmp_path):
    cfg = _config(DATA / "daily-min-temperatures.csv", "Temp", 7, 14, tmp_path, refit=True)
    run = runs.load(training.train(cfg, verbose=0))
    meta = json.loads((run.path / "metadata.json").read_text())
    assert meta["highway_prior_windows"] in [w if math.isfinite(w) else "inf" for w in linear_start.PRIOR_WINDOWS] + ["naive"]
    honest = run.load_model().get_layer("highway").linear.kernel.numpy()
    final = run.load_model(final=True).get_layer("highway").linear.kernel.numpy()
    if meta["highway_prior_windows"] not in ("inf", "naive"):
        assert not np.allclose(honest, final)  # refitted on the validation and test windows too


def test_other_highways_are_left_as_built(tmp_path):
    cfg = _config(DATA / "daily-min-temperatures.csv", "Temp", 7, 14, tmp_path)
    cfg.model.highway = "seasonal"
    prepared = training.prepare_data(cfg)
    model = training.build(cfg, 1, 7)
    before = model.get_layer("highway").linear.kernel.numpy()
    train, val = prepared.starts["train"], prepared.starts["val"]
    assert linear_start.start_highway(model, prepared.values, train, val, cfg, 7) is None
    np.testing.assert_array_equal(model.get_layer("highway").linear.kernel.numpy(), before)


@pytest.mark.parametrize("value", ["fitted", "seasonal", True, False])
def test_highway_options_validate(tmp_path, value):
    raw = {"data": {"path": "x.csv", "targets": ["y"]}, "window": {"horizon": 2}, "model": {"highway": value}}
    assert config.validate(raw).model.highway == value


def _spiky(tmp_path):
    """An hourly wave with rare large spikes: least squares bends toward them, the absolute error does not."""
    rng = np.random.default_rng(3)
    t = np.arange(3000)
    values = 10 + np.sin(2 * np.pi * t / 24) + 0.05 * rng.normal(size=len(t))
    values[rng.choice(len(t), 40, replace=False)] += 15 * rng.standard_exponential(40)
    path = tmp_path / "spiky.csv"
    pd.DataFrame({"time": pd.date_range("2020-01-01", periods=len(t), freq="h"), "y": values}).to_csv(path, index=False)
    return path


def test_highway_fit_absolute_downweights_the_windows_least_squares_fits_worst(tmp_path):
    cfg = _config(_spiky(tmp_path), "y", 24, 48, tmp_path)
    prepared = training.prepare_data(cfg)
    train, val = prepared.starts["train"], prepared.starts["val"]
    squared, _ = linear_start.fitted_map(prepared.values, train, [], cfg, 24, prior_windows=0.01)
    cfg.model.highway_fit = "absolute"
    absolute, _ = linear_start.fitted_map(prepared.values, train, [], cfg, 24, prior_windows=0.01)
    x, y = _windows(prepared.values, val, 48, 24)
    design = np.hstack([x, np.ones((len(x), 1))])
    error = {name: np.median(np.abs(design @ solution - y)) for name, solution in
             (("squared", squared), ("absolute", absolute))}
    assert error["absolute"] < 0.8 * error["squared"]  # the typical window is forecast better
    naive, _ = linear_start.fitted_map(prepared.values, train, [], cfg, 24, prior_windows=math.inf)
    np.testing.assert_array_equal(naive[:-1], seasonal_naive_map(48, 24, 24))  # infinite shrinkage: unchanged


def test_freeze_highway_keeps_the_fitted_map_through_training(tmp_path):
    cfg = _config(DATA / "daily-min-temperatures.csv", "Temp", 7, 14, tmp_path, epochs=2)
    cfg.model.freeze_highway = True
    prepared = training.prepare_data(cfg)
    model = training.build(cfg, 1, 7)
    assert not any("highway" in v.path for v in model.trainable_weights)
    history = training.fit(model, prepared, cfg, verbose=0)
    expected, _ = linear_start.fitted_map(prepared.values, prepared.starts["train"], [], cfg, 7,
                                          prior_windows=history.highway_prior_windows)
    np.testing.assert_allclose(model.get_layer("highway").linear.kernel.numpy(), expected[:-1], atol=1e-6)


@pytest.mark.parametrize("model, message", [
    ({"highway": "seasonal", "highway_fit": "absolute"}, "highway: fitted"),
    ({"highway": True, "freeze_highway": True}, "highway: seasonal or fitted"),
])
def test_highway_fit_and_freeze_need_a_highway_they_apply_to(model, message):
    raw = {"data": {"path": "x.csv", "targets": ["y"]}, "window": {"horizon": 2}, "model": model}
    with pytest.raises(UserError, match=message):
        config.validate(raw)


@pytest.mark.slow
def test_with_a_cycle_the_untrained_model_is_the_fitted_map_plus_the_training_profile(tmp_path):
    """model.cycle beside a fitted highway: the pattern starts as each position's training mean, the map is fitted
    on the windows without it, and the untrained model forecasts exactly that."""
    t = np.arange(3000)
    profile = np.where(t % 24 < 8, 2.0, -1.0)  # a square daily profile: beyond a first harmonic
    values = 10 + profile + 0.3 * np.random.default_rng(0).normal(size=len(t))
    path = tmp_path / "square.csv"
    times = pd.date_range("2020-01-01 03:00", periods=len(t), freq="h")  # row 0 is at position 3
    pd.DataFrame({"time": times, "y": values}).to_csv(path, index=False)
    raw = _config(path, "y", 24, 48, tmp_path).model_dump()
    raw["model"]["cycle"] = True
    cfg = config.validate(raw)
    prepared = training.prepare_data(cfg)
    model = training.build(cfg, 1, 24)
    train = prepared.starts["train"]
    weight = linear_start.start_highway(model, prepared.values, train, prepared.starts["val"], cfg, 24)
    pattern = model.get_layer("cycle").pattern.numpy()[:, 0]
    hours = np.arange(24)
    truth = np.where((hours - 3) % 24 < 8, 2.0, -1.0) * 1.0
    scale = prepared.prep["scale"][0]
    np.testing.assert_allclose(pattern * scale, truth - truth.mean(), atol=0.12)  # the profile (4 standard errors)
    solution, _ = linear_start.fitted_map(prepared.values, train, [], cfg, 24, prior_windows=weight)
    val = prepared.starts["val"][:100]
    rows = val[:, None] + np.arange(72)
    block = prepared.values[rows][:, :, 0].astype("float64")
    at = pattern[prepared.values[rows, 1].astype(int)]
    reference = block[:, 47:48]
    x = block[:, :48] - reference - at[:, :48]
    expected = np.hstack([x, np.ones((len(x), 1))]) @ solution + at[:, 48:] + reference
    windows = prepared.values[val[:, None] + np.arange(48)]
    np.testing.assert_allclose(model.predict(windows, verbose=0)[:, :, 0], expected, atol=1e-4)
    without = training.build(config.validate({**raw, "model": {**raw["model"], "cycle": False}}), 1, 24)
    linear_start.start_highway(without, prepared.values[:, :1], train, prepared.starts["val"], cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"cycle": False})}), 24)
    y = block[:, 48:]
    plain = np.abs(without.predict(windows[:, :, :1], verbose=0)[:, :, 0] - y).mean()
    model_error = np.abs(expected - y).mean()
    assert model_error < plain  # the profile's 24 numbers beat what a linear map of 48 steps can do alone


def test_the_cycle_starts_as_the_training_profile_whatever_the_highway(tmp_path):
    cfg = _config(DATA / "ETTh1-head2000.csv", "OT", 24, 48, tmp_path)
    raw = cfg.model_dump()
    raw["model"].update(cycle=True, highway=False)
    cfg = config.validate(raw)
    prepared = training.prepare_data(cfg)
    model = training.build(cfg, 1, 24)
    assert linear_start.start_highway(model, prepared.values, prepared.starts["train"], [], cfg, 24) is None
    pattern = model.get_layer("cycle").pattern.numpy()[:, 0]
    rows = np.arange(prepared.starts["train"].max() + 72)
    hours = prepared.values[rows, 1].astype(int)
    target = prepared.values[rows, 0]
    expected = np.array([target[hours == h].mean() for h in range(24)]) - target.mean()
    np.testing.assert_allclose(pattern, expected, atol=1e-5)
    assert np.ptp(pattern) > 0.1  # OT has a daily profile


def test_an_untrained_quantile_model_has_the_fitted_map_as_its_median():
    """The quantiles were built up from the lowest by softplus steps: with a zero head the median sat ln 2 (0.69
    scaled units) above the fitted forecast, and early stopping could keep that start."""
    cfg = config.validate({"data": {"path": str(DATA / "airline-passengers.csv"), "targets": ["Passengers"]},
                           "window": {"input_length": 24, "horizon": 6},
                           "model": {"type": "gru", "layers": [{"units": 4}], "output": {"quantiles": [0.1, 0.25, 0.5, 0.9]}}})
    plain = config.validate({**cfg.model_dump(mode="json"), "model": {**cfg.model.model_dump(mode="json"), "output": {}}})
    prepared = training.prepare_data(cfg)
    models = [training.build(c, 1, prepared.prep["season_length"]) for c in (cfg, plain)]
    for model, c in zip(models, (cfg, plain)):
        linear_start.start_highway(model, prepared.values, prepared.starts["train"], prepared.starts["val"], c, 12)
    windows = prepared.values[prepared.starts["val"][:, None] + np.arange(24)]
    quantiles, point = (model.predict(windows, verbose=0) for model in models)
    np.testing.assert_allclose(quantiles[..., 2], point, atol=1e-5)
    assert (np.diff(quantiles, axis=-1) > 0).all()
