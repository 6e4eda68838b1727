"""Quantiles and calibrated intervals: the loss, no crossing, the coverage they promise."""

import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast import intervals, metrics, plotting
from rnnforecast.cli import app
from tests.conftest import DATA, tiny_config

runner = CliRunner()


def test_pinball_loss_against_hand_computed_values():
    actual = np.array([[[1.0]], [[3.0]]])  # 2 windows, 1 step, 1 target
    forecast = np.array([[[[0.0, 2.0]]], [[[0.0, 2.0]]]])  # quantiles 0.1 and 0.9
    # window 1: errors 1 and -1 -> 0.1*1 = 0.1 and (0.9-1)*(-1) = 0.1
    # window 2: errors 3 and 1  -> 0.1*3 = 0.3 and 0.9*1 = 0.9
    assert metrics.pinball(actual, forecast, [0.1, 0.9]) == pytest.approx((0.1 + 0.1 + 0.3 + 0.9) / 4)


def test_conformal_offsets_use_the_outward_rank():
    residuals = np.arange(1, 10, dtype=float)[:, None, None]  # n = 9
    offsets = intervals.conformal_offsets(residuals, [0.1, 0.5, 0.9])
    # (n + 1) q = 1, 5, 9: the 1st, 5th and 9th smallest
    assert offsets[:, 0, 0].tolist() == [1.0, 5.0, 9.0]


def test_quantiles_never_cross_on_random_inputs():
    rng = np.random.default_rng(3)
    quantiles = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    offsets = intervals.conformal_offsets(rng.standard_t(3, size=(300, 12, 2)), quantiles)
    bands = intervals.apply(rng.normal(size=(50, 12, 2)) * 100, offsets)
    assert (np.diff(bands, axis=-1) >= 0).all()


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_calibration_reaches_the_nominal_coverage_on_known_noise(level):
    rng = np.random.default_rng(11)
    low, high = (1 - level) / 2, (1 + level) / 2
    forecast_val, forecast_test = rng.normal(size=(2000, 3, 1)), rng.normal(size=(20000, 3, 1))
    noise_scale = np.array([1.0, 2.0, 4.0])[None, :, None]  # wider noise at later steps
    actual_val = forecast_val + rng.normal(size=forecast_val.shape) * noise_scale
    actual_test = forecast_test + rng.normal(size=forecast_test.shape) * noise_scale
    calibration = intervals.calibration({"model": forecast_val}, actual_val, [low, 0.5, high])
    scores = intervals.interval_scores(actual_test, {"model": forecast_test}, calibration)["model"]
    label = f"{round(100 * level)}%"
    assert abs(scores["coverage"][label] - level) < 0.02  # 2000 calibration windows: +-0.015 sampling error
    z = {0.8: 1.2816, 0.9: 1.6449}[level]
    assert scores["width"][label] == pytest.approx(2 * z * noise_scale.mean(), rel=0.08)


@pytest.mark.slow
def test_predict_writes_quantile_columns_and_evaluate_scores_them(tmp_path, write_config):
    raw = tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path)})
    run = runner.invoke(app, ["train", str(write_config(raw))]).stdout.strip().splitlines()[-1]
    out = tmp_path / "f.csv"
    assert runner.invoke(app, ["predict", run, "--output", str(out)]).exit_code == 0
    forecast = pd.read_csv(out)
    assert list(forecast.columns) == ["Date", "Temp", "Temp_q0.1", "Temp_q0.5", "Temp_q0.9"]
    assert (forecast["Temp_q0.1"] <= forecast["Temp_q0.5"]).all() and (forecast["Temp_q0.5"] <= forecast["Temp_q0.9"]).all()
    result = runner.invoke(app, ["evaluate", run])
    assert "coverage" in result.stdout and "pinball" in result.stdout
    report = __import__("json").loads(runner.invoke(app, ["evaluate", run, "--format", "json"]).stdout)
    assert set(report["intervals"]) == {"model", "naive", "seasonal_naive"}
    assert 0.5 < report["intervals"]["model"]["coverage"]["80%"] < 1.0
    result = runner.invoke(app, ["calibrate", run, "--quantiles", "0.05,0.5,0.95"])
    assert result.exit_code == 0 and "0.05, 0.5, 0.95" in result.stdout
    assert "Temp_q0.95" in runner.invoke(app, ["predict", run]).stdout


def test_plot_legend_names_the_interval():
    index = pd.date_range("2024-01-01", periods=40, freq="D")
    actual = pd.DataFrame({"y": np.arange(40.0)}, index=index)
    future_index = pd.date_range("2024-02-10", periods=3, freq="D")
    future = pd.DataFrame({"y": [40.0, 41, 42]}, index=future_index)
    bands = {"y": (future["y"] - 2, future["y"] + 2, "80% interval (calibrated)")}
    history = pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})
    fig = plotting.forecast_figure("t", actual, actual.iloc[30:], future, history, index[0], bands)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # one legend, above the panels
    assert "80% interval (calibrated)" in labels and "forecast (3 steps ahead)" in labels


def test_quantile_model_never_crosses_and_round_trips(tmp_path):
    import keras

    from rnnforecast import config, models

    cfg = config.ModelConfig(type="gru", layers=[{"units": 4}], normalization="last",
                             output={"quantiles": [0.1, 0.5, 0.9]})
    model = models.build_model(cfg, 8, 2, 5, 2)
    assert model.output_shape == (None, 5, 2, 3)
    head = model.get_layer("head")
    rng = np.random.default_rng(0)
    head.set_weights([w + rng.normal(0, 5, w.shape) for w in head.get_weights()])  # wild, untrained outputs
    x = rng.normal(0, 10, (64, 8, 2)).astype("float32")
    out = np.asarray(model(x))
    assert (np.diff(out, axis=-1) >= 0).all()
    model.save(tmp_path / "q.keras")
    again = keras.saving.load_model(tmp_path / "q.keras", safe_mode=True)
    assert np.allclose(np.asarray(again(x)), out, atol=1e-5)


def test_pinball_loss_layer_matches_the_numpy_metric():
    from rnnforecast.models import PinballLoss

    rng = np.random.default_rng(1)
    actual = rng.normal(size=(4, 3, 2)).astype("float32")
    forecast = np.sort(rng.normal(size=(4, 3, 2, 3)), axis=-1).astype("float32")
    loss = float(PinballLoss([0.1, 0.5, 0.9])(actual, forecast))
    assert loss == pytest.approx(metrics.pinball(actual, forecast, [0.1, 0.5, 0.9]), rel=1e-5)


def test_conformalized_quantiles_move_a_too_narrow_interval_out():
    rng = np.random.default_rng(2)
    actual = rng.normal(size=(4000, 1, 1))
    too_narrow = np.stack([np.full_like(actual, -0.5), np.zeros_like(actual), np.full_like(actual, 0.5)], axis=-1)
    scores = intervals.scores(too_narrow, actual, [0.1, 0.5, 0.9], "quantiles", 1.0)
    offsets = intervals.offsets(scores, [0.1, 0.5, 0.9], "quantiles")
    # the 80% interval of N(0, 1) is +-1.2816: the offsets move each end out by about 0.78
    assert offsets[0, 0, 0] == pytest.approx(-0.7816, abs=0.06) and offsets[2, 0, 0] == pytest.approx(0.7816, abs=0.06)
    assert offsets[1, 0, 0] == 0.0


def test_scaling_by_window_spread_keeps_coverage_when_the_test_period_is_wilder():
    rng = np.random.default_rng(4)
    calm, wild = rng.uniform(0.5, 1.5, (3000, 1, 1)), rng.uniform(2.0, 3.0, (20000, 1, 1))
    forecast_val, forecast_test = np.zeros((3000, 2, 1)), np.zeros((20000, 2, 1))
    actual_val = rng.normal(size=forecast_val.shape) * calm  # the noise is proportional to the spread
    actual_test = rng.normal(size=forecast_test.shape) * wild
    plain = intervals.calibration({"model": forecast_val}, actual_val, [0.1, 0.5, 0.9])
    scaled = intervals.calibration({"model": forecast_val}, actual_val, [0.1, 0.5, 0.9], spread=calm)
    unscaled_cover = intervals.interval_scores(actual_test, {"model": forecast_test}, plain)["model"]["coverage"]["80%"]
    cover = intervals.interval_scores(actual_test, {"model": forecast_test}, scaled, wild)["model"]["coverage"]["80%"]
    assert unscaled_cover < 0.6  # a global interval fitted on a calm period fails in a wild one
    assert abs(cover - 0.8) < 0.02


@pytest.mark.parametrize("pool", ["tree", "sort"])
def test_rolling_quantiles_match_a_sort_of_each_pool(pool, monkeypatch):
    monkeypatch.setattr(intervals, "SORT_LIMIT", 0 if pool == "tree" else 10**9)
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(60, 3, 2))
    known = np.array([1, 5, 9, 20, 21, 40, 60])
    for window in (1, 7, 20, 100):
        got = intervals.rolling_conformal(scores, [0.1, 0.5, 0.9], known, window)
        for row, k in enumerate(known):
            expected = intervals.conformal_offsets(scores[max(k - window, 0) : k], [0.1, 0.5, 0.9])
            assert np.array_equal(got[row], expected), (window, k)


def test_a_residual_joins_the_calibration_only_once_all_its_targets_are_observed():
    horizon = 3
    history = np.arange(9.0)[:, None, None] * np.ones((1, horizon, 1))  # validation residuals 0..8 at every step
    calibration = {"method": "rolling", "window": 10, "quantiles": [0.1, 0.5, 0.9], "bases": {}, "scores": {"m": history}}
    recent = np.full((1, horizon, 1), 1000.0)  # a huge error in the window whose targets are rows 100, 101, 102
    at = intervals.offsets_at(calibration, "m", [101, 102, 103], horizon, recent, np.array([100]))
    # at origins 101 and 102 row 102 is not yet observed: only the validation residuals count (upper: the 9th of 9)
    assert at[0, 2, 0, 0] == 8.0 and at[1, 2, 0, 0] == 8.0
    # at 103 it is, and the 10th of 10 is that error: using it one step early would have changed the interval
    assert at[2, 2, 0, 0] == 1000.0


def _shifted_series(rng, calm_rows, wild_rows, horizon):
    """A noise series whose level jumps from 1 to 3 at `calm_rows`, as windows forecast by zero."""
    noise = rng.normal(size=calm_rows + wild_rows) * np.where(np.arange(calm_rows + wild_rows) < calm_rows, 1.0, 3.0)
    origins = np.arange(len(noise) - horizon + 1)
    actual = noise[origins[:, None] + np.arange(horizon)][..., None]
    validation = origins + horizon <= calm_rows
    test = origins >= calm_rows
    return origins, actual, validation, test


def test_rolling_calibration_recovers_the_nominal_coverage_after_a_shift_where_split_does_not():
    rng = np.random.default_rng(6)
    horizon = 2
    origins, actual, validation, test = _shifted_series(rng, 600, 30000, horizon)
    zero = np.zeros_like(actual)
    covered = {}
    for method in ("split", "rolling"):
        calibration = intervals.calibration(
            {"model": zero[validation]}, actual[validation], [0.1, 0.5, 0.9], method=method
        )
        assert calibration["window"] == validation.sum()  # default window: as many as the validation windows
        found = intervals.interval_scores(actual[test], {"model": zero[test]}, calibration, origins=origins[test])
        covered[method] = found["model"]["coverage"]["80%"]
    # split keeps the calm period's +-1.28: it holds N(0, 9) only P(|Z| < 0.43) = 33% of the time
    assert covered["split"] < 0.4
    # rolling has forgotten the calm period after ~600 windows of 30,000: sampling error about +-0.005
    assert abs(covered["rolling"] - 0.8) < 0.015


def test_rolling_calibration_needs_the_origins_and_split_takes_no_window():
    from rnnforecast import config
    from rnnforecast.errors import UserError

    calibration = intervals.calibration({"model": np.zeros((20, 2, 1))}, np.ones((20, 2, 1)), [0.1, 0.9], method="rolling")
    with pytest.raises(ValueError, match="origin"):
        intervals.interval_scores(np.ones((5, 2, 1)), {"model": np.zeros((5, 2, 1))}, calibration)
    for wrong in ({"window": 50}, {"gamma": 0.005}, {"floor": 0.5}):
        raw = tiny_config(DATA / "daily-min-temperatures.csv", calibration={"method": "split", **wrong})
        with pytest.raises(UserError, match=f"{next(iter(wrong))}: window, gamma and floor apply to method: rolling"):
            config.validate(raw)
    # rolling's defaults (gamma, floor) are dropped from a split config, so that the run's saved config loads again
    split = config.validate(tiny_config(DATA / "daily-min-temperatures.csv", calibration={"method": "split"}))
    assert split.calibration.gamma is None and split.calibration.floor is None
    assert config.validate(__import__("yaml").safe_load(config.dump(split))) == split


def test_calibrate_with_rolling_options_for_split_names_them_in_its_own_words():
    # it said "calibrate options rejected (calibration: Value error, window, gamma: window, gamma and floor apply to
    # method: rolling ...)": the schema library's wording, the keys twice
    from rnnforecast.config.schema import CalibrationConfig, calibration_settings
    from rnnforecast.errors import UserError

    rolling = CalibrationConfig(method="rolling")
    with pytest.raises(UserError, match=r"^--window and --gamma apply to --method rolling only \(split uses every"):
        calibration_settings(rolling, method="split", window=20, gamma=0.1)
    split = calibration_settings(rolling, method="split")
    with pytest.raises(UserError, match=r"^--floor applies to --method rolling only"):
        calibration_settings(split, floor=0.5)
    assert calibration_settings(split, method="rolling", window=30).window == 30


@pytest.mark.slow
def test_adaptive_conformal_keeps_the_coverage_while_the_noise_keeps_growing():
    rng = np.random.default_rng(7)
    horizon, rows, calm = 2, 15000, 1000
    t = np.arange(rows)
    noise = rng.normal(size=rows) * np.where(t < calm, 1.0, 1.0 + 9.0 * (t - calm) / (rows - calm))
    origins = np.arange(rows - horizon + 1)
    actual = noise[origins[:, None] + np.arange(horizon)][..., None]
    validation, test = origins + horizon <= calm, origins >= calm
    zero = np.zeros_like(actual)
    covered = {}
    for gamma, floor in ((None, None), (0.01, None), (0.01, 0.25)):
        calibration = intervals.calibration(
            {"model": zero[validation]}, actual[validation], [0.1, 0.5, 0.9], method="rolling", gamma=gamma, floor=floor
        )
        found = intervals.interval_scores(actual[test], {"model": zero[test]}, calibration, origins=origins[test])
        covered[gamma, floor] = found["model"]["coverage"]["80%"]
    assert covered[None, None] < 0.78  # the last 1,000 errors lag a noise that grows all the time
    # ACI's bound: |coverage - 0.8| <= (1 + gamma) / (gamma T) = 0.0072 for T = 14,000 windows
    assert abs(covered[0.01, None] - 0.8) < 0.01
    # a steady drift keeps the level well above the floor, where the projection changes nothing
    assert abs(covered[0.01, 0.25] - 0.8) < 0.01


def test_floor_zero_is_plain_aci_and_the_floor_only_goes_with_gamma():
    found = lambda **kw: intervals.calibration({"model": np.zeros((9, 2, 1))}, np.ones((9, 2, 1)), [0.1, 0.9], **kw)  # noqa: E731
    assert found(method="rolling", gamma=0.01, floor=0)["floor"] is None
    assert found(method="rolling", gamma=0.01, floor=0.25)["floor"] == 0.25
    assert found(method="rolling", gamma=0, floor=0.25)["floor"] is None
    assert found(method="split", floor=0.25)["floor"] is None


def test_the_floor_stops_a_burst_of_misses_from_widening_the_interval_to_the_largest_error():
    rng = np.random.default_rng(5)
    n_history, n_recent, horizon, window = 300, 600, 3, 300
    pool = rng.normal(size=(n_history + n_recent, horizon, 1))
    pool[n_history + 100 : n_history + 250] *= 8  # 150 windows of errors eight times as large
    origins = np.arange(n_recent) + 2000
    _, plain = intervals.adaptive(pool, n_history, origins, origins, horizon, window, 0.2, 0.05)
    _, floored = intervals.adaptive(pool, n_history, origins, origins, horizon, window, 0.2, 0.05, floor=0.25)
    known = n_history + np.searchsorted(origins, origins - horizon, side="right")  # the pool at each origin
    ordered = [np.sort(pool[max(k - window, 0) : k], axis=0) for k in known]
    # with the floor, the upper threshold is never above the pool's 97.5% order statistic (level 0.25 x 0.2)
    bound = np.stack([part[min(int(np.ceil((len(part) + 1) * 0.975)), len(part)) - 1] for part in ordered])
    assert (floored <= bound).all()
    # without it, the level falls to 0 during the burst and stays there while the debt is paid back:
    # the interval is the largest error in the pool
    widest = np.stack([part[-1] for part in ordered])
    assert (plain == widest).sum() > 100 and (floored == widest).sum() == 0


@pytest.mark.parametrize("gamma", [None, 0.05])
@pytest.mark.parametrize("base", ["point", "quantiles"])
def test_no_origin_sees_an_error_whose_targets_come_after_it(gamma, base):
    rng = np.random.default_rng(8)
    horizon, quantiles = 4, [0.1, 0.5, 0.9]
    shape = (30, horizon, 1) + ((1,) if base == "quantiles" else ())
    calibration = {"method": "rolling", "window": 25, "gamma": gamma, "quantiles": quantiles,
                   "bases": {"m": base}, "scores": {"m": rng.normal(size=shape)}}
    recent_origins = np.arange(100, 160)
    recent = rng.normal(size=(60,) + shape[1:])
    origins = np.arange(100, 170)
    before = intervals.offsets_at(calibration, "m", origins, horizon, recent, recent_origins)
    changed = recent.copy()
    changed[40:] *= 50  # the windows from origin 140 on: their targets end at 143 and later
    after = intervals.offsets_at(calibration, "m", origins, horizon, changed, recent_origins)
    unchanged = origins < 140 + horizon  # origins up to 143 cannot know them yet
    assert np.array_equal(before[unchanged], after[unchanged])
    assert not np.array_equal(before[~unchanged], after[~unchanged])


@pytest.mark.parametrize("kind", ["_RankedPool", "_SortedWindow"])
def test_ranked_pool_gives_the_order_statistics_of_a_fresh_sort(kind):
    rng = np.random.default_rng(9)
    values = np.round(rng.normal(size=(60, 5)), 1)  # rounded: ties too
    pool = getattr(intervals, kind)(values)
    pool.fill(0, 10)
    for k in range(10, 60):
        if k >= 25:  # first growing, then sliding
            pool.remove(k - 25)
        pool.add(k)
        expected = np.sort(values[max(k - 24, 0) : k + 1], axis=0)
        for rank in (1, 2, len(expected) // 2, len(expected)):
            assert np.array_equal(pool.kth(np.full(5, rank)), expected[rank - 1])
        ranks = rng.integers(1, len(expected) + 1, size=5)  # a different rank in every column
        assert np.array_equal(pool.kth(ranks), expected[ranks - 1, np.arange(5)])


def test_ranked_pool_follows_long_jumps_of_the_rank_across_many_words():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(3000, 4))
    pool = intervals._RankedPool(values)
    pool.fill(0, 2000)
    expected = np.sort(values[:2000], axis=0)
    for rank in (1, 2000, 700, 701, 699, 1500, 3):  # far (the count from the start), then near (the cursor's words)
        assert np.array_equal(pool.kth(np.full(4, rank), "a"), expected[rank - 1])
    pool.remove(0)
    pool.add(2000)
    expected = np.sort(values[1:2001], axis=0)
    assert np.array_equal(pool.kth(np.full(4, 3), "a"), expected[2])


def test_popcount_without_numpy_2_counts_bytes(monkeypatch):
    words = np.array([0, 1, 2**63, 2**64 - 1, 0x0F0F_0000_0000_00FF], dtype=np.uint64)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert intervals._popcount(words).tolist() == [0, 1, 1, 64, 16]


def _adaptive_by_sorting(pool, n_history, recent_origins, horizon, window, alpha, gamma, floor=None):
    """The definition, one fresh sort per origin: what intervals.adaptive must match."""
    flat = pool.reshape(len(pool), -1)
    misses = np.zeros(flat.shape[1])
    misses_at, lows, highs = [misses.copy()], [], []
    levels = [np.full(flat.shape[1], alpha)]  # with a floor: the projected level after each known window
    for j, origin in enumerate(recent_origins):
        m = int(np.searchsorted(recent_origins, origin - horizon, side="right"))
        known = n_history + m
        ordered = np.sort(flat[max(known - window, 0) : known], axis=0)
        n = len(ordered)
        a = np.clip(alpha + gamma * (m * alpha - misses_at[m]), 0, 1) if floor is None else levels[m]
        lo = ordered[np.clip(np.floor((n + 1) * a / 2), 1, n).astype(int) - 1, np.arange(flat.shape[1])]
        hi = ordered[np.clip(np.ceil((n + 1) * (1 - a / 2)), 1, n).astype(int) - 1, np.arange(flat.shape[1])]
        score = flat[n_history + j]
        miss = (score > hi) | (score < lo)
        misses = misses + miss
        misses_at.append(misses.copy())
        if floor is not None:
            levels.append(np.clip(levels[-1] + gamma * (alpha - miss), floor * alpha, 1))
        lows.append(lo)
        highs.append(hi)
    return np.stack(lows), np.stack(highs)


@pytest.mark.parametrize("pool", ["tree", "sort"])
@pytest.mark.parametrize("floor", [None, 0.25])
@pytest.mark.parametrize("window", [30, 500])
def test_adaptive_matches_its_definition(window, floor, pool, monkeypatch):
    monkeypatch.setattr(intervals, "SORT_LIMIT", 0 if pool == "tree" else 10**9)
    rng = np.random.default_rng(4)
    n_history, n_recent, horizon = 80, 300, 5
    values = rng.normal(size=(n_history + n_recent, horizon, 2))
    values *= np.linspace(1, 3, n_history + n_recent)[:, None, None]
    recent_origins = np.arange(n_recent) + 1000
    lows, highs = intervals.adaptive(values, n_history, recent_origins, recent_origins, horizon, window, 0.2, 0.05,
                                     floor=floor)
    expected_lows, expected_highs = _adaptive_by_sorting(values, n_history, recent_origins, horizon, window, 0.2, 0.05,
                                                         floor)
    assert np.array_equal(lows.reshape(n_recent, -1), expected_lows)
    assert np.array_equal(highs.reshape(n_recent, -1), expected_highs)


def test_a_quantile_model_with_adaptive_calibration_end_to_end(tmp_path, write_config):
    raw = tiny_config(DATA / "daily-min-temperatures.csv", run={"dir": str(tmp_path)},
                      model={"output": {"quantiles": [0.1, 0.5, 0.9]}}, calibration={"gamma": 0.05, "window": 200})
    run = runner.invoke(app, ["train", str(write_config(raw))]).stdout.strip().splitlines()[-1]
    report = __import__("json").loads(runner.invoke(app, ["evaluate", run, "--format", "json"]).stdout)
    assert report["calibration"] == {"method": "rolling", "window": 200, "gamma": 0.05, "floor": 0.25}
    for scores in report["intervals"].values():
        # ACI's bound over 535 test windows at gamma 0.05: within (1 + gamma) / (gamma T) = 0.04 of 0.8
        # (this 1-epoch model's own quantiles, calibrated by split, cover 68%)
        assert 0.75 < scores["coverage"]["80%"] < 0.85
    forecast = pd.read_csv(__import__("io").StringIO(runner.invoke(app, ["predict", run]).stdout))
    assert (forecast["Temp_q0.1"] <= forecast["Temp_q0.5"]).all() and (forecast["Temp_q0.5"] <= forecast["Temp_q0.9"]).all()
    result = runner.invoke(app, ["calibrate", run, "--method", "split"])
    assert result.exit_code == 0 and "(split)" in result.stdout
    refused = runner.invoke(app, ["calibrate", run, "--quantiles", "0.05,0.5,0.95"])  # once: "Calibrated 0.1, 0.5, 0.9"
    assert refused.exit_code == 2 and "differ from the model's own quantiles (0.1,0.5,0.9" in refused.output


def test_too_few_validation_windows_for_the_outer_quantiles_are_named():
    """(n + 1) q rounded outward must fall in 1..n: 9 windows for 0.1 and 0.9, 19 for 0.05 and 0.95."""
    assert intervals.too_few_windows({"windows": 9, "quantiles": [0.1, 0.5, 0.9]}) is None
    note = intervals.too_few_windows({"windows": 8, "quantiles": [0.1, 0.5, 0.9]})
    assert "8 validation window(s)" in note and "at least 9" in note and "too narrow" in note
    assert "at least 19" in intervals.too_few_windows({"windows": 18, "quantiles": [0.05, 0.5, 0.95]})
    assert intervals.too_few_windows({"windows": 1, "quantiles": [0.5]}) is None
    for n in range(1, 30):  # the note appears exactly where conformal_rank has to clamp
        clamped = any(not 1 <= (math.floor((n + 1) * q) if q < 0.5 else math.ceil((n + 1) * q)) <= n for q in (0.1, 0.9))
        assert (intervals.too_few_windows({"windows": n, "quantiles": [0.1, 0.5, 0.9]}) is not None) == clamped


def test_one_validation_window_pools_the_steps_instead_of_a_zero_width_interval():
    """A short series split by its last horizons has one validation window: per step, every quantile would be its
    one residual (a zero-width interval once centred); pooled, each step gets the quantiles of all 12 residuals."""
    rng = np.random.default_rng(0)
    actual = rng.normal(0, 1, (1, 12, 1))
    found = intervals.calibration({"model": np.zeros_like(actual)}, actual, [0.1, 0.5, 0.9], method="rolling",
                                  gamma=0.005, floor=0.25)
    assert found["windows"] == 1 and found["pooled_steps"] == 12 and found["window"] == 12
    offsets = intervals.offsets_at(found, "model", [100], 12)[0]  # (quantiles, horizon, targets)
    residuals = np.sort(actual.ravel())
    for k, q in enumerate([0.1, 0.5, 0.9]):  # every step: the conformal quantile of the 12 pooled residuals
        np.testing.assert_allclose(offsets[k, :, 0], residuals[intervals.conformal_rank(12, q) - 1])
    assert (offsets[2] - offsets[0] > 0).all()
    note = intervals.too_few_windows(found)
    assert "all 12 steps together" in note and "too narrow" not in note
    enough = intervals.calibration({"model": np.zeros((9, 12, 1))}, rng.normal(0, 1, (9, 12, 1)), [0.1, 0.5, 0.9])
    assert "pooled_steps" not in enough and enough["windows"] == 9  # nine windows: per step, as before


def test_a_targets_quantile_columns_are_not_another_targets_that_starts_the_same():
    from rnnforecast.forecasting.future import _floored_table

    columns = ["sales", "sales_qty", "sales_q0.1", "sales_q0.9", "sales_qty_q0.1", "sales_qty_q0.9"]
    assert intervals.quantile_columns(columns, "sales") == ["sales_q0.1", "sales_q0.9"]
    assert intervals.quantile_columns(columns, "sales_qty") == ["sales_qty_q0.1", "sales_qty_q0.9"]
    table = pd.DataFrame({c: [-5.0] for c in columns})
    floored = _floored_table(table, {"targets": ["sales", "sales_qty"], "floor": [0.0, None]})
    assert floored[["sales", "sales_q0.1", "sales_q0.9"]].to_numpy().tolist() == [[0.0, 0.0, 0.0]]
    assert floored[["sales_qty", "sales_qty_q0.1", "sales_qty_q0.9"]].to_numpy().tolist() == [[-5.0, -5.0, -5.0]]


def test_interval_levels_are_labelled_exactly_so_that_none_hides_another():
    """A 99.6% interval was shown as 100%, and 79.6% beside 80% overwrote it in metrics.json."""
    quantiles = [0.002, 0.1, 0.102, 0.5, 0.898, 0.9, 0.998]
    actual = np.linspace(-1, 1, 50)[:, None]
    bands = np.stack([np.full_like(actual, v) for v in (-3, -0.8, -0.79, 0, 0.79, 0.8, 3)], axis=-1)
    scores = intervals.band_scores(actual, bands, quantiles)
    assert list(scores["coverage"]) == ["99.6%", "80%", "79.6%"]
    assert scores["coverage"]["99.6%"] == 1.0 and scores["coverage"]["79.6%"] < scores["coverage"]["80%"]


def test_calibrate_says_when_its_window_cannot_be_used():
    """Pooled steps keep every error: --window 50 was dropped without a word (sweep 5)."""
    from rnnforecast import forecasting

    pooled = {"windows": 2, "quantiles": [0.1, 0.5, 0.9], "pooled_steps": 12}
    notes = forecasting.recalibration_notes(pooled, {"window": 50})
    assert any("--window 50 is not used" in note for note in notes)
    assert not any("--window" in note for note in forecasting.recalibration_notes(pooled, {"window": None}))
