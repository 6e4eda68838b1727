import numpy as np
import pytest

from rnnforecast import metrics


def test_naive_repeats_the_value_before_the_origin():
    series = np.arange(10.0)[:, None]
    forecast = metrics.naive(series, np.array([4, 7]), horizon=3)
    assert forecast[:, :, 0].tolist() == [[3, 3, 3], [6, 6, 6]]


def test_seasonal_naive_repeats_the_last_season():
    series = np.array([1, 2, 3, 4, 5, 6, 7, 8], dtype=float)[:, None]
    # origin 6, season 3: the last season is rows 3, 4, 5 = 4, 5, 6, repeated
    forecast = metrics.seasonal_naive(series, np.array([6]), horizon=5, season=3)
    assert forecast[0, :, 0].tolist() == [4, 5, 6, 4, 5]


def test_seasonal_naive_with_season_one_is_naive():
    series = np.random.default_rng(0).normal(size=(30, 2))
    origins = np.array([5, 9, 20])
    assert np.array_equal(metrics.seasonal_naive(series, origins, 4, 1), metrics.naive(series, origins, 4))


def test_seasonal_naive_refuses_too_little_history():
    with pytest.raises(ValueError):
        metrics.seasonal_naive(np.zeros((10, 1)), np.array([2]), 3, 7)


def test_scores_against_hand_computed_values():
    actual = np.array([[[1.0], [2.0]], [[0.0], [4.0]]])  # 2 windows, horizon 2, 1 target
    forecast = np.array([[[2.0], [2.0]], [[1.0], [2.0]]])
    result = metrics.score(actual, forecast, scale=np.array([2.0]))
    overall = result["overall"]
    # errors: 1, 0, 1, -2
    assert overall["mae"] == pytest.approx(1.0)
    assert overall["rmse"] == pytest.approx(np.sqrt(6 / 4))
    # MAPE skips the zero actual: |1|/1, 0/2, 2/4 -> mean of 100, 0, 50
    assert overall["mape"] == pytest.approx(50.0)
    assert result["mape_skipped_zeros"] == 1
    # sMAPE: 2*1/3, 0, 2*1/1, 2*2/6 -> mean * 100
    assert overall["smape"] == pytest.approx(100 * (2 / 3 + 0 + 2 + 2 / 3) / 4)
    assert overall["mase"] == pytest.approx(0.5)
    assert result["per_step"]["mae"] == pytest.approx([1.0, 1.0])
    assert result["per_step"]["rmse"] == pytest.approx([1.0, np.sqrt(2)])


def test_mape_is_none_when_every_actual_is_zero():
    result = metrics.score(np.zeros((1, 2, 1)), np.ones((1, 2, 1)), np.array([1.0]))
    assert result["overall"]["mape"] is None


def test_mase_scale_is_the_mean_seasonal_difference():
    train = np.array([1, 3, 2, 6, 4], dtype=float)[:, None]
    assert metrics.mase_scale(train, 2).tolist() == [pytest.approx((1 + 3 + 2) / 3)]
    assert metrics.mase_scale(np.ones((5, 1)), 1).tolist() == [0.0]  # constant: MASE undefined


def test_mase_is_none_where_the_training_rows_never_changed():
    """A constant series' MASE was its MAE (a scale of 1 put in for 0); it is undefined, the other target's is not."""
    actual = np.array([[[5.0, 1.0], [5.0, 3.0]]])
    result = metrics.score(actual, actual + 0.5, scale=np.array([0.0, 2.0]))
    assert result["overall"]["mase"] == pytest.approx(0.25) and result["per_step"]["mase"] == [0.25, 0.25]
    assert metrics.score(actual[..., :1], actual[..., :1] + 0.5, np.array([0.0]))["overall"]["mase"] is None


def test_mape_is_none_for_a_series_that_crosses_zero():
    actual = np.array([[[-1.0], [2.0]]])
    result = metrics.score(actual, actual + 0.5, np.array([1.0]))
    assert result["overall"]["mape"] is None and result["overall"]["smape"] > 0


def test_mape_skips_zeros_that_went_through_float32_and_back():
    """An intermittent series' zeros come back from the scaled float32 array as 4e-8: not a divisor for MAPE."""
    actual = np.array([0.0, 5.0, 0.0, 7.0, 12.0, 0.0])
    center, scale = 2.0, 4.2
    round_trip = ((actual - center) / scale).astype("float32").astype("float64") * scale + center
    assert not (round_trip == 0).any()  # the case: no exact zero left
    found = metrics.score(round_trip.reshape(1, 6, 1), np.full((1, 6, 1), 1.0), np.ones(1))
    assert found["mape_skipped_zeros"] == 3
    assert found["overall"]["mape"] == pytest.approx(np.mean([80.0, 100 * 6 / 7, 100 * 11 / 12]), rel=1e-5)


def test_unobserved_actuals_are_left_out_of_every_metric():
    """A NaN actual (a gap in the file, filled for the windows) counts in no metric; a step with none observed is None."""
    actual = np.array([[[1.0], [np.nan]], [[2.0], [np.nan]]])
    forecast = np.array([[[2.0], [50.0]], [[4.0], [-50.0]]])
    result = metrics.score(actual, forecast, scale=np.array([1.0]))
    overall = result["overall"]
    assert overall["mae"] == pytest.approx(1.5) and overall["mase"] == pytest.approx(1.5)
    assert overall["rmse"] == pytest.approx(np.sqrt((1 + 4) / 2))
    assert overall["mape"] == pytest.approx(100.0)  # |1|/1 and |2|/2
    assert overall["smape"] == pytest.approx(100 * (2 / 3 + 4 / 6) / 2)
    assert result["per_step"]["mae"] == [pytest.approx(1.5), None]
    assert result["unobserved"] == 2
    assert metrics.pinball(actual, forecast[..., None], [0.5]) == pytest.approx(0.75)


def test_a_series_that_crosses_zero_only_in_its_gaps_keeps_its_mape():
    """A missing value is no sign: MAPE stays defined when the observed values are all positive."""
    actual = np.array([[[1.0], [np.nan], [4.0]]])
    assert metrics.score(actual, actual + 1, np.ones(1))["overall"]["mape"] is not None
