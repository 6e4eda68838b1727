import re

import numpy as np
import pandas as pd
import pytest

from rnnforecast import config, data
from rnnforecast.errors import UserError


def _cfg(path, **data_keys):
    window = data_keys.pop("window", {"input_length": 3, "horizon": 2})
    return config.validate({"data": {"path": str(path), "targets": ["y"], **data_keys}, "window": window})


def _write(tmp_path, values, start="2024-01-01", freq="D", name="s.csv", dates=None):
    dates = dates if dates is not None else pd.date_range(start, periods=len(values), freq=freq)
    frame = pd.DataFrame({"date": dates, "y": values})
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_window_starts_hand_computed():
    valid = np.ones(10, dtype=bool)
    starts = data.window_starts(valid, input_length=3, horizon=2, target_lo=0, target_hi=10)
    assert starts.tolist() == [0, 1, 2, 3, 4, 5]
    values = np.arange(10, dtype="float32")[:, None]
    x, y = data.gather(values, starts, 3, 2, 1)
    assert x.shape == (6, 3, 1) and y.shape == (6, 2, 1)
    assert x[0, :, 0].tolist() == [0, 1, 2] and y[0, :, 0].tolist() == [3, 4]
    assert x[-1, :, 0].tolist() == [5, 6, 7] and y[-1, :, 0].tolist() == [8, 9]


def test_window_starts_stride_and_part_with_history_before_it():
    valid = np.ones(20, dtype=bool)
    # targets of the part are rows [10, 20): inputs may start 3 rows earlier
    starts = data.window_starts(valid, 3, 2, 10, 20, stride=2)
    assert starts.tolist() == [7, 9, 11, 13, 15]


def test_window_starts_too_short_is_empty():
    assert data.window_starts(np.ones(4, dtype=bool), 3, 2, 0, 4).size == 0


def test_windows_skip_rows_marked_invalid():
    valid = np.ones(10, dtype=bool)
    valid[5] = False
    starts = data.window_starts(valid, 3, 2, 0, 10)
    # any window whose 5 rows include row 5 is dropped: starts 1..5 touch it
    assert starts.tolist() == [0]


def test_no_window_crosses_a_split_boundary(data_dir):
    cfg = config.validate(
        {"data": {"path": str(data_dir / "daily-min-temperatures.csv"), "targets": ["Temp"]},
         "window": {"input_length": 30, "horizon": 7}}
    )
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    valid = np.ones(bounds.test_end, dtype=bool)
    L, H = 30, 7
    train = data.part_starts(valid, bounds, cfg.window, "train")
    val = data.part_starts(valid, bounds, cfg.window, "val")
    test = data.part_starts(valid, bounds, cfg.window, "test")
    assert (train + L + H <= bounds.train_end).all() and train[-1] + L + H == bounds.train_end
    assert (val + L >= bounds.train_end).all() and (val + L + H <= bounds.val_end).all()
    assert (test + L >= bounds.val_end).all() and test[-1] + L + H == bounds.test_end
    assert test[0] + L == bounds.val_end  # every test target row is scored
    assert len(test) == bounds.test_end - bounds.val_end - H + 1


def test_scaler_is_fitted_on_the_training_rows_only(tmp_path):
    values = np.r_[np.full(70, 1.0), np.full(70, 3.0), np.full(60, 1000.0)]
    values[:70:2] = -1.0  # training rows: mean 0, std 1
    path = _write(tmp_path, values)
    cfg = _cfg(path, split={"train": 0.35, "val": 0.35})
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    prep = data.fit_preprocessing(series, bounds, cfg.data)
    assert prep["center"] == [pytest.approx(0.0)] and prep["scale"] == [pytest.approx(1.0)]
    scaled, _ = data.prepare(series, prep)
    assert scaled[-1, 0] == pytest.approx(1000.0)
    assert data.unscale(scaled[:, :1], prep)[-1, 0] == pytest.approx(1000.0)


def test_minmax_scaling_and_constant_column_stay_finite(tmp_path):
    path = _write(tmp_path, np.full(50, 7.0))
    cfg = _cfg(path, scaling="minmax")
    series = data.load_series(cfg.data)
    prep = data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)
    scaled, _ = data.prepare(series, prep)
    assert np.isfinite(scaled).all() and prep["scale"] == [1.0]


def test_values_too_large_to_scale_are_refused_by_column_not_forecast_as_nan(tmp_path):
    path = _write(tmp_path, 1e300 * (1 + np.sin(np.arange(60.0))))  # the spread's squares overflow 64-bit floats
    cfg = _cfg(path)
    series = data.load_series(cfg.data)
    with pytest.raises(UserError, match="column 'y' .* too large to compute with .* Rescale"):
        data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)


def test_tiny_values_are_scaled_by_their_own_spread_and_vanishing_ones_refused(tmp_path):
    """A current of 1e-12 amperes was taken for a constant (scale 1): the network saw zeros and the 'scaled' scores
    were raw units. Values near 1e-300 have squares that underflow: refused, as 1e300 is."""
    wave = 1 + 0.5 * np.sin(np.arange(60.0))
    for size in (1e-13, 1e-100):
        cfg = _cfg(_write(tmp_path, size * wave))
        series = data.load_series(cfg.data)
        prep = data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)
        assert prep["scale"][0] == pytest.approx(size * np.std(wave[:42]), rel=0.1)
    cfg = _cfg(_write(tmp_path, 1e-300 * wave))
    series = data.load_series(cfg.data)
    with pytest.raises(UserError, match="column 'y' .* too small to compute with .*multiply it by a power of ten"):
        data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)


def test_mase_scaling_divides_by_the_mean_absolute_seasonal_difference_of_the_training_rows(tmp_path):
    rng = np.random.default_rng(0)
    values = 50 + 10 * np.sin(2 * np.pi * np.arange(200) / 7) + rng.normal(0, 1, 200)
    values[150:] += 1000.0  # after training: must not move the scale
    path = _write(tmp_path, values)
    cfg = _cfg(path, scaling="mase", split={"train": 0.7, "val": 0.1})
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    prep = data.fit_preprocessing(series, bounds, cfg.data)
    train = values[: bounds.train_end]
    assert prep["season_length"] == 7
    assert prep["scale"] == [pytest.approx(np.abs(train[7:] - train[:-7]).mean())]
    assert prep["center"] == [pytest.approx(train.mean())]
    flat = _write(tmp_path, np.full(50, 3.0), name="flat.csv")  # no differences at all: the scale stays finite
    flat_cfg = _cfg(flat, scaling="mase")
    flat_series = data.load_series(flat_cfg.data)
    flat_prep = data.fit_preprocessing(flat_series, data.split_bounds(flat_series, flat_cfg.data, flat_cfg.window),
                                       flat_cfg.data)
    assert flat_prep["scale"] == [1.0]


def test_gap_is_put_on_the_grid_and_interpolated(tmp_path):
    dates = pd.date_range("2024-01-01", periods=40, freq="D").delete([10, 11])
    path = _write(tmp_path, np.arange(38, dtype=float), dates=dates)
    series = data.load_series(_cfg(path).data)
    assert series.frequency == "D" and len(series.frame) == 40
    assert series.frame["y"].isna().sum() == 2 and "2 missing time step" in series.notes[0]
    cfg = _cfg(path)
    prep = data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)
    filled, valid = data.prepare(series, prep)
    restored = data.unscale(filled[:, :1], prep)[:, 0]
    assert restored[9:13] == pytest.approx([9, 9 + 1 / 3, 9 + 2 / 3, 10], abs=1e-4)
    assert valid.all()


def test_drop_policy_marks_rows_so_windows_avoid_the_hole(tmp_path):
    values = np.arange(40, dtype=float)
    values[20] = np.nan
    path = _write(tmp_path, values)
    cfg = _cfg(path, missing="drop")
    series = data.load_series(cfg.data)
    prep = data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)
    _, valid = data.prepare(series, prep)
    assert not valid[20] and valid.sum() == 39


def test_error_policy_names_the_column_and_time(tmp_path):
    values = np.arange(40, dtype=float)
    values[5] = np.nan
    cfg = _cfg(_write(tmp_path, values), missing="error")
    series = data.load_series(cfg.data)
    prep = data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)
    with pytest.raises(UserError, match="column 'y'.*2024-01-06"):
        data.prepare(series, prep)


def test_unsorted_rows_are_sorted_by_time(tmp_path):
    path = _write(tmp_path, np.arange(30, dtype=float))
    frame = pd.read_csv(path).iloc[::-1]
    frame.to_csv(path, index=False)
    series = data.load_series(_cfg(path).data)
    assert series.frame["y"].tolist() == list(range(30))


def test_time_column_is_detected_and_monthly_frequency_inferred(data_dir):
    cfg = config.validate({"data": {"path": str(data_dir / "airline-passengers.csv"), "targets": ["Passengers"]}})
    series = data.load_series(cfg.data)
    assert series.index.name == "Month" and series.frequency == "MS"
    assert data.season_length(series.frequency) == 12


def test_no_time_column_gives_a_step_index(tmp_path):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"y": np.arange(30.0)}).to_csv(path, index=False)
    series = data.load_series(_cfg(path).data)
    assert series.frequency is None
    assert list(data.future_index(series.index, None, 3)) == [30, 31, 32]


def test_future_index_continues_the_frequency():
    index = pd.date_range("2024-01-30", periods=3, freq="D")
    assert [str(d.date()) for d in data.future_index(index, "D", 2)] == ["2024-02-02", "2024-02-03"]


def test_missing_column_lists_the_columns_that_exist(data_dir):
    cfg = config.validate({"data": {"path": str(data_dir / "airline-passengers.csv"), "targets": ["passengers"]}})
    with pytest.raises(UserError, match="Columns there: Month, Passengers"):
        data.load_series(cfg.data)


def test_non_numeric_cell_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("date,y\n2024-01-01,1\n2024-01-02,abc\n2024-01-03,3\n")
    with pytest.raises(UserError, match="'abc' on line 3"):
        data.load_series(_cfg(path).data)


def test_too_short_series_names_the_numbers(data_dir):
    cfg = config.validate(
        {"data": {"path": str(data_dir / "airline-passengers.csv"), "targets": ["Passengers"]},
         "window": {"input_length": 96, "horizon": 24}}
    )
    series = data.load_series(cfg.data)
    with pytest.raises(UserError, match="input_length 96, horizon 24"):
        data.split_bounds(series, cfg.data, cfg.window)


def test_windowing_does_not_copy_the_series_per_window():
    values = np.arange(1_000_000, dtype="float32")[:, None]
    starts = data.window_starts(np.ones(len(values), dtype=bool), 336, 24, 0, len(values))
    assert starts.shape == (1_000_000 - 336 - 24 + 1,)  # one row number per window: an index, not 360 copies
    some = starts[[0, 5000, -1]]
    x, y = data.gather(values, some, 336, 24, 1)
    assert x.shape == (3, 336, 1) and y.shape == (3, 24, 1)
    assert (x[:, :, 0] == some[:, None] + np.arange(336)).all()  # each window the rows it starts at
    assert (y[:, :, 0] == some[:, None] + 336 + np.arange(24)).all()


@pytest.mark.parametrize(
    ("freq", "season"),
    [("15min", 96), ("h", 24), ("D", 7), ("B", 5), ("W-SUN", 52), ("MS", 12), ("QS-JAN", 4), ("YS", 1),
     # pandas' month-end and business spellings, and multiples of a step (they had a season of 1, 52 or 12)
     ("ME", 12), ("BME", 12), ("BMS", 12), ("SMS", 24), ("SME", 24), ("BQE-DEC", 4), ("2W-SUN", 26), ("2MS", 6), ("2QS-JAN", 2)],
)
def test_season_length_of_each_common_frequency(tmp_path, freq, season):
    path = _write(tmp_path, np.arange(60.0), freq=freq)
    series = data.load_series(_cfg(path).data)
    assert data.season_length(series.frequency) == season


@pytest.mark.parametrize(("freq", "after"), [("SMS", ["2026-04-01", "2026-04-15"]), ("SME", ["2026-04-15", "2026-04-30"])])
def test_semi_monthly_rows_are_read_as_such_and_forecast_on_their_days(tmp_path, freq, after):
    """pandas infers neither: the rows were refused, with a suggestion of 14D or 15D that drifted off the days."""
    dates = pd.date_range("2020-01-01", periods=150, freq=freq).delete([40, 41, 90])  # a few missing
    series = data.load_series(_cfg(_write(tmp_path, np.arange(147.0), dates=dates)).data)
    assert series.frequency == freq and len(series.frame) == 150
    assert list(data.future_index(series.index, series.frequency, 2).strftime("%Y-%m-%d")) == after


def test_season_length_of_spellings_the_grid_reads_from_the_gaps():
    assert [data.season_length(f) for f in ("SME", "14D", "7D", "2D", "5ME", "2h")] == [24, 26, 52, 1, 1, 12]


def test_weekly_data_with_missing_weeks_keeps_its_yearly_season(tmp_path):
    """Gaps make pandas infer no weekly frequency; the 7-day step the grid reads is still a week."""
    dates = pd.date_range("2015-01-04", periods=120, freq="W-SUN").delete([30, 31, 32, 80])
    path = tmp_path / "weekly.csv"
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "y": np.arange(len(dates), dtype=float)}).to_csv(path, index=False)
    series = data.load_series(_cfg(path).data)
    assert len(series.frame) == 120 and data.season_length(series.frequency) == 52


def test_trading_days_are_business_days_weekends_neither_filled_nor_forecast(tmp_path):
    """Stock prices: weekdays only, a few holidays missing; a daily grid would fill every weekend."""
    dates = pd.bdate_range("2021-01-04", periods=200).delete([12, 30, 95])  # three holidays
    path = tmp_path / "prices.csv"
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "y": np.arange(len(dates), dtype=float)})
    frame.to_csv(path, index=False)
    series = data.load_series(_cfg(path).data)
    assert series.frequency == "B" and len(series.frame) == 200 and (series.index.dayofweek < 5).all()
    assert data.season_length(series.frequency) == 5
    assert any("business days" in note for note in series.notes)
    assert any("3 missing time step(s)" in note for note in series.notes)
    ahead = data.future_index(series.index, series.frequency, 5)
    assert (ahead.dayofweek < 5).all() and ahead[0] > series.index[-1]
    every_day = data.load_series(_cfg(path, frequency="D").data)  # asked for: every day counts
    assert every_day.frequency == "D" and len(every_day.frame) > 270


def test_date_split_bounds_are_the_first_rows_on_or_after_each_date(tmp_path):
    path = _write(tmp_path, np.arange(100.0))  # daily from 2024-01-01: row i is day i
    cfg = _cfg(path, split={"val_start": "2024-02-10", "test_start": "2024-03-01"})
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    assert (bounds.train_end, bounds.val_end, bounds.test_end) == (40, 60, 100)
    assert str(series.index[bounds.train_end].date()) == "2024-02-10"
    assert str(series.index[bounds.train_end - 1].date()) == "2024-02-09"


def test_date_split_written_as_yaml_dates_and_its_mistakes_said_plainly(tmp_path):
    import datetime

    path = _write(tmp_path, np.arange(100.0))  # daily from 2024-01-01 to 2024-04-09
    as_yaml = _cfg(path, split={"val_start": datetime.date(2024, 2, 10), "test_start": datetime.date(2024, 3, 1)})
    assert (as_yaml.data.split.val_start, as_yaml.data.split.test_start) == ("2024-02-10", "2024-03-01")
    bounds = data.split_bounds(data.load_series(as_yaml.data), as_yaml.data, as_yaml.window)
    assert (bounds.train_end, bounds.val_end) == (40, 60)
    for split, words in [({"val_start": "2024-03-01", "test_start": "2024-02-10"}, "must come after data.split.val_start"),
                         ({"val_start": "2030-01-01", "test_start": "2030-02-01"}, "val_start (2030-01-01) is outside"),
                         ({"val_start": "2024-02-10", "test_start": "2031-01-01"}, "test_start (2031-01-01) is outside"),
                         ({"val_start": "soon", "test_start": "2024-03-01"}, "'soon', which is not a date")]:
        cfg = _cfg(path, split=split)
        with pytest.raises(UserError, match=re.escape(words)):
            data.split_bounds(data.load_series(cfg.data), cfg.data, cfg.window)


def test_cycle_positions_come_from_the_timestamps_not_the_row_numbers():
    hours = pd.date_range("2024-03-01 05:00", periods=30, freq="h")
    assert data.cycle_phase(hours, "h", 24)[:3].tolist() == [5, 6, 7] and data.cycle_phase(hours, "h", 24)[19] == 0
    quarters = pd.date_range("2024-03-01 05:00", periods=4, freq="15min")
    assert data.cycle_phase(quarters, "15min", 96).tolist() == [20, 21, 22, 23]  # 05:00 is the 21st quarter hour
    months = pd.date_range("2023-11-01", periods=4, freq="MS")
    assert data.cycle_phase(months, "MS", 12).tolist() == [10, 11, 0, 1]
    zoned = pd.date_range("2024-03-01 05:00", periods=2, freq="h", tz="Europe/Berlin")
    assert data.cycle_phase(zoned, "h", 24).tolist() == [4, 5]  # counted in UTC
    assert data.cycle_phase(pd.RangeIndex(5), None, 3).tolist() == [0, 1, 2, 0, 1]
    assert data.cycle_length(True, 24) == 24 and data.cycle_length(7, 24) == 7 and data.cycle_length(False, 24) == 0
    assert data.cycle_length("auto", 12) == 12 and data.cycle_length("auto", 1) == 0 and data.cycle_length(True, 1) == 1


def test_prepare_adds_the_cycle_position_column_only_with_model_cycle(tmp_path):
    path = _write(tmp_path, np.arange(40.0), start="2024-01-01 22:00", freq="h")
    cfg = _cfg(path)
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    plain, _ = data.prepare(series, data.fit_preprocessing(series, bounds, cfg.data))
    prep = data.fit_preprocessing(series, bounds, cfg.data, cycle=True)
    with_cycle, _ = data.prepare(series, prep)
    assert prep["cycle"] == 24 and plain.shape == (40, 1) and with_cycle.shape == (40, 2)
    np.testing.assert_array_equal(with_cycle[:, 0], plain[:, 0])
    assert with_cycle[:3, 1].tolist() == [22, 23, 0]


def test_a_count_column_is_floored_at_zero_and_a_measurement_is_not():
    counts = np.array([[0.0, 3.0, np.nan, 1.0, 0.0]])  # (targets, rows); a gap is no value
    names = ["units"]
    assert data.preprocessing.target_floors(counts, "auto", names, "s.csv") == [0.0]
    assert data.preprocessing.target_floors(counts + 0.5, "auto", names, "s.csv") == [None]  # a fraction
    assert data.preprocessing.target_floors(counts - 1, "auto", names, "s.csv") == [None]  # below zero
    assert data.preprocessing.target_floors(counts, "none", names, "s.csv") == [None]
    assert data.preprocessing.target_floors(counts, -2, names, "s.csv") == [-2.0]
    with pytest.raises(UserError, match=r"data.floor is 1, but 'units' in s.csv goes below it .*to 0\)"):
        data.preprocessing.target_floors(counts, 1, names, "s.csv")
    forecast = np.array([[[-1.0, -1.0], [2.0, np.nan]]])  # (windows, horizon, targets): only the first has a floor
    np.testing.assert_array_equal(data.floored(forecast, {"floor": [0.0, None]}), [[[0.0, -1.0], [2.0, np.nan]]])
    assert data.floored(forecast, {"targets": ["a", "b"]}) is forecast  # a run saved before data.floor


def test_the_floor_is_fitted_on_the_training_rows_and_saved(tmp_path):
    values = np.r_[np.arange(60) % 4, -np.ones(40)]  # counts while training, negative later
    cfg = _cfg(_write(tmp_path, values), split={"train": 0.5, "val": 0.2})
    series = data.load_series(cfg.data)
    prep = data.fit_preprocessing(series, data.split_bounds(series, cfg.data, cfg.window), cfg.data)
    assert prep["floor"] == [0.0]
    whole = data.fit_preprocessing(series, data.Bounds(100, 100, 100), cfg.data)
    assert whole["floor"] == [None]


def test_read_once_reuses_the_read_of_an_unchanged_file(tmp_path, monkeypatch):
    from rnnforecast.data import series as series_module

    path = _write(tmp_path, np.arange(30, dtype=float))
    cfg = _cfg(path)
    reads = []
    real = series_module.read_table
    monkeypatch.setattr(series_module, "read_table", lambda *a, **k: reads.append(1) or real(*a, **k))
    with data.read_once():
        panel = data.load_panel(cfg.data)  # as training reads it
        again = data.load_series(cfg.data, frequency="D", categories={})  # as the calibration reads the run's file
        assert len(reads) == 1
        pd.testing.assert_frame_equal(again.frame, panel[""].frame)
        again.notes.append("a note of the calibration's")
        assert "a note of the calibration's" not in panel[""].notes  # each read gets its own notes
        with pytest.raises(UserError, match="fall between the steps of the W grid"):
            data.load_series(cfg.data, frequency="W")  # another grid: read (and refused: most rows are off it)
        data.load_series(cfg.data, frequency="D", strict_frequency=True)  # newer data is checked: read
        assert len(reads) == 3
        _write(tmp_path, np.arange(31, dtype=float))  # the file changed on disk: read again, the change seen
        assert len(data.load_series(cfg.data).frame) == 31 and len(reads) == 4
    data.load_series(cfg.data)
    data.load_series(cfg.data)
    assert len(reads) == 6  # outside the block every call reads the file
