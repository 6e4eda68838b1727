"""Many series in one long table, and inputs known in advance."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import config, data, training
from rnnforecast.cli import app
from rnnforecast.errors import UserError

runner = CliRunner()


def _panel_csv(path: Path, n_series: int = 120, seed: int = 0) -> Path:
    """Daily series of different lengths, starts and levels; two are too short for any window."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        n = 12 if i in (3, 7) else int(rng.integers(70, 240))
        days = pd.date_range(pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 90))), periods=n)
        level = 10 ** rng.uniform(0, 3)
        y = level * (1 + 0.3 * np.sin(2 * np.pi * np.arange(n) / 7)) + rng.normal(0, level * 0.03, n)
        frames.append(pd.DataFrame({"store": f"s{i:03d}", "day": days.strftime("%Y-%m-%d"), "sales": y}))
    table = pd.concat(frames).sample(frac=1.0, random_state=1)  # rows in any order
    table.to_csv(path, index=False)
    return path


def _config(tmp_path, csv, **data_keys):
    raw = {
        "data": {"path": str(csv), "id_column": "store", "time_column": "day", "targets": ["sales"], **data_keys},
        "window": {"input_length": 21, "horizon": 7},
        "model": {"type": "gru", "layers": [{"units": 8}], "normalization": "last"},
        "training": {"epochs": 2, "batch_size": 256, "seed": 2},
        "run": {"dir": str(tmp_path / "runs")},
    }
    path = tmp_path / "panel.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_windows_never_cross_series_and_scaling_is_per_series(tmp_path):
    cfg = config.load_config(_config(tmp_path, _panel_csv(tmp_path / "p.csv", n_series=20)))
    prepared = training.prepare_data(cfg)
    assert prepared.prep["skipped"] == ["s003", "s007"]
    panel = data.load_panel(cfg.data)
    lengths = [len(panel[k].frame) for k in prepared.prep["series"]]
    ends = np.cumsum(lengths)
    for part in ("train", "val"):
        starts = prepared.starts[part]
        series_of_start = np.searchsorted(ends, starts, side="right")
        series_of_last = np.searchsorted(ends, starts + 21 + 7 - 1, side="right")
        assert (series_of_start == series_of_last).all()
    for key, prep in prepared.prep["series"].items():
        train = panel[key].frame["sales"].iloc[: prep["train_end"]]
        assert prep["center"][0] == pytest.approx(train.mean(), rel=1e-6)


@pytest.mark.slow
def test_panel_trains_evaluates_predicts_and_plots(tmp_path, monkeypatch):
    cfg_path = _config(tmp_path, _panel_csv(tmp_path / "p.csv", n_series=30))
    result = runner.invoke(app, ["train", str(cfg_path)])
    assert result.exit_code == 0, result.output
    assert "2 of 30 series are shorter than one input window (21 steps) and are left out of training" in result.stderr
    run = Path(result.stdout.strip().splitlines()[-1])

    result = runner.invoke(app, ["evaluate", str(run)])
    assert result.exit_code == 0, result.output
    assert "28 series" in result.stdout and "median" in result.stdout and "s000" in result.stdout
    assert "2 series have no complete test window, or no value in it, and are not scored" in result.stderr
    assert "s003, s007" in result.stderr
    report = json.loads((run / "metrics.json").read_text())
    assert len(report["series"]) == 28
    mase = pd.Series({k: v["model"]["mase"] for k, v in report["series"].items()})
    assert report["aggregate"]["model"]["median"]["mase"] == pytest.approx(mase.median())
    table = pd.read_csv(tmp_path / "p.csv")  # newer data with a series the model never saw: left out, and said so
    newer = pd.concat([table, table[table.store == "s010"].assign(store="s999")], ignore_index=True)
    gap = newer[newer.store == "s010"].sort_values("day").index[-3]  # and a value in s010's test days not reported
    newer.loc[newer.index == gap, "sales"] = None
    newer.to_csv(tmp_path / "newer.csv", index=False)
    result = runner.invoke(app, ["evaluate", str(run), "--data", str(tmp_path / "newer.csv")])
    assert result.exit_code == 0, result.output
    assert "never seen in training, left out: s003, s007, s999" in result.stderr
    assert "1 of the 196 target values of the scored series' test periods were missing" in result.stderr
    newer_report = json.loads((run / "metrics-newer.json").read_text())
    assert "s999" not in newer_report["series"]
    unchanged = ("s000", "s029")  # the series without the gap score as before; s010 is scored on its 6 other days
    assert [newer_report["series"][k]["model"]["mae"] for k in unchanged] == pytest.approx(
        [report["series"][k]["model"]["mae"] for k in unchanged])

    # The panel is forecast in stacked batches (here of 25 series, so the last is short): each series' rows are
    # what forecasting it alone gives (checked below).
    import importlib

    monkeypatch.setattr(importlib.import_module("rnnforecast.forecasting.inference"), "PREDICT_CHUNK", 25)
    out = tmp_path / "all.csv"
    result = runner.invoke(app, ["predict", str(run), "--output", str(out)])
    assert result.exit_code == 0, result.output
    forecast = pd.read_csv(out)
    assert list(forecast.columns) == ["store", "day", "sales", "sales_q0.1", "sales_q0.5", "sales_q0.9"]
    assert (forecast["sales_q0.1"] <= forecast["sales_q0.5"]).all() and (forecast["sales_q0.5"] <= forecast["sales_q0.9"]).all()
    assert forecast.groupby("store").size().eq(7).all() and forecast["store"].nunique() == 30
    assert list(forecast["store"].unique()) == sorted(forecast["store"].unique())  # the panel's order, short ones in it
    # The two series of 12 days (fewer than the 21-step window): the mean of AutoETS and AutoTheta on their own rows,
    # with the two models' own intervals around it (round 26), and a note that says so.
    assert "2 series hold fewer rows than one input window (21 steps)" in result.stderr and "s003, s007" in result.stderr
    from rnnforecast.forecasting import classical

    for key in ("s003", "s007"):
        own = pd.read_csv(tmp_path / "p.csv").query("store == @key").sort_values("day")
        point, bands = classical.mean_with_quantiles(own[["sales"]].to_numpy(), 7, 7, [0.1, 0.5, 0.9])
        rows = forecast[forecast.store == key]
        np.testing.assert_allclose(rows["sales"].to_numpy(), point[:, 0], rtol=1e-9)
        np.testing.assert_allclose(rows["sales_q0.9"].to_numpy(), bands[:, 0, 2], rtol=1e-9)
        assert (rows["sales_q0.9"] > rows["sales"]).all() and rows["day"].iloc[0] > own["day"].iloc[-1]
    # newer data in which s003 holds one value: its forecast, with no interval rather than one of zero width
    one = table[(table.store != "s003") | (table.day == table[table.store == "s003"].day.min())]
    one.to_csv(tmp_path / "one.csv", index=False)
    result = runner.invoke(app, ["predict", str(run), "--data", str(tmp_path / "one.csv"), "--series", "s003"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(io.StringIO(result.stdout))
    assert rows["sales"].notna().all() and rows["sales_q0.1"].isna().all() and rows["sales_q0.9"].isna().all()
    assert "1 of them holds a single value" in result.stderr and "quantile columns other than the median are left empty" in result.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    last = pd.to_datetime(table[table.store == "s010"]["day"]).max()
    first = pd.to_datetime(forecast[forecast.store == "s010"]["day"]).min()
    assert first == last + pd.Timedelta(days=1)

    from rnnforecast import forecasting, runs

    loaded = runs.load(run)
    model = loaded.load_model(final=True)
    prepared = forecasting.prepare_panel(loaded, only=["s000", "s010", "s029"])
    # model.combine (auto): the forecast is the network's, AutoETS's and AutoTheta's in equal thirds (round 24)
    mix = forecasting.combination.weights(loaded)
    assert json.loads((run / "combination.json").read_text()) == {"chosen": "ets+theta", "setting": "auto"}
    for key, one in prepared.items():
        alone = forecasting.future(one, model)
        expected = mix[0] * alone["sales"].to_numpy() + forecasting.combination.future({key: one}, 7, mix)[key][:, 0]
        rows = forecast[forecast.store == key]
        np.testing.assert_allclose(rows["sales"].to_numpy(), expected, rtol=1e-5)
        assert pd.DatetimeIndex(rows["day"]).equals(pd.DatetimeIndex(alone.index))

    # The intervals: one pool of every series' validation scores (in scaled units per window spread), applied to each
    # series' point forecast times the spread of its own last window, in its own units.
    from rnnforecast import intervals

    calibration = intervals.load(loaded)
    assert calibration["method"] == "split" and calibration["windows"] == 28  # one validation window per series
    offsets = intervals.offsets(calibration["scores"]["model"], [0.1, 0.5, 0.9])  # (quantiles, horizon, targets)
    for key, one in prepared.items():
        spread = max(one.values[-21:, 0].std(), 0.01)
        scale = one.run.prep["scale"][0]
        rows = forecast[forecast.store == key]
        expected = rows["sales"].to_numpy() + offsets[2, :, 0] * spread * scale
        np.testing.assert_allclose(rows["sales_q0.9"].to_numpy(), expected, rtol=1e-4)
    # evaluate scores those intervals on each series' test windows (the honest model's, as for one series)
    test = forecasting.test_forecasts(prepared["s000"], loaded.load_model())
    low = test.forecasts["model"] + offsets[0] * test.spread
    high = test.forecasts["model"] + offsets[2] * test.spread
    covered = ((test.actual >= low) & (test.actual <= high)).mean()
    assert report["series"]["s000"]["intervals"]["coverage"]["80%"] == pytest.approx(covered)
    per_series = [scores["intervals"]["coverage"]["80%"] for scores in report["series"].values()]
    assert report["intervals"]["coverage"]["80%"]["mean"] == pytest.approx(np.mean(per_series))

    result = runner.invoke(app, ["predict", str(run), "--series", "s001", "--series", "s002"])
    assert sorted(set(pd.read_csv(__import__("io").StringIO(result.stdout))["store"])) == ["s001", "s002"]
    result = runner.invoke(app, ["predict", str(run), "--series", "s001, s004"])  # comma-separated, as typed
    assert sorted(set(pd.read_csv(__import__("io").StringIO(result.stdout))["store"])) == ["s001", "s004"]
    result = runner.invoke(app, ["predict", str(run), "--series", "nope"])
    assert result.exit_code == 2 and "nope" in result.stderr

    png = tmp_path / "panel.png"
    assert runner.invoke(app, ["plot", str(run), "--output", str(png), "--series", "s000", "--series", "s005"]).exit_code == 0
    assert png.stat().st_size > 20_000
    result = runner.invoke(app, ["plot", str(run), "--output", str(tmp_path / "short.png"), "--series", "s003"])
    assert result.exit_code == 2 and "s003 holds fewer rows than one input window" in result.stderr
    # newer data in which s001, one of the first series the default plot draws, is too short: the plot was refused
    # whole (predict forecasts it); it leaves s001 out and says so
    newer = pd.read_csv(tmp_path / "p.csv")
    newer = newer[(newer.store != "s001") | newer.index.isin(newer[newer.store == "s001"].sort_values("day").index[-10:])]
    newer.to_csv(tmp_path / "newer.csv", index=False)
    result = runner.invoke(app, ["plot", str(run), "--data", str(tmp_path / "newer.csv"),
                                 "--output", str(tmp_path / "first.png")])
    assert result.exit_code == 0, result.output
    assert "series s001 left out of the plot: it holds fewer rows than one input window" in result.stderr
    # each small multiple draws what `predict` wrote: the forecast line and its 80% band
    from rnnforecast import plotting

    honest, final = forecasting.models_for_future(loaded)
    drawn = plotting.panel_figure(loaded, forecasting.prepare_panel(loaded, only=["s000", "s010"]), honest, final)
    for ax, key in zip(drawn.axes, ["s000", "s010"]):
        rows = forecast[forecast.store == key]
        line = next(line for line in ax.get_lines() if line.get_label() == "forecast")
        np.testing.assert_allclose(line.get_ydata(), rows["sales"].to_numpy(), rtol=1e-5)
        (band,) = [c for c in ax.collections if c.get_label() == "80% interval (calibrated)"]
        low, high = band.get_paths()[0].vertices[:, 1].min(), band.get_paths()[0].vertices[:, 1].max()
        assert low == pytest.approx(rows["sales_q0.1"].min(), rel=1e-5)
        assert high == pytest.approx(rows["sales_q0.9"].max(), rel=1e-5)
        one = forecasting.prepare_panel(loaded, only=[key])[key]  # the scored part's start, marked
        (start,) = [line for line in ax.get_lines() if line.get_label() == "test period starts"]
        assert start.get_xdata()[0] == one.series.index[one.test_lo]
    # calibrated again at other quantiles: every series, the two short ones too, gets those columns and only those
    assert runner.invoke(app, ["calibrate", str(run), "--quantiles", "0.05,0.5,0.95"]).exit_code == 0
    result = runner.invoke(app, ["predict", str(run), "--series", "s003", "--series", "s010"])
    assert result.exit_code == 0, result.output
    again = pd.read_csv(io.StringIO(result.stdout))
    assert list(again.columns) == ["store", "day", "sales", "sales_q0.05", "sales_q0.5", "sales_q0.95"]
    assert again.notna().all().all() and set(again["store"]) == {"s003", "s010"}


def test_a_panel_is_cut_into_its_series_as_a_groupby_would(tmp_path):
    """Each id's rows in file order, as `table.groupby(ids)` gives them, row for row; ids in their read order (c9, c10)."""
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"store": rng.choice(["b", "a", "c10", "c9", ""], size=60), "x": np.arange(60)})
    table.index = rng.permutation(1000)[:60]  # labels that are not positions
    ids = table["store"]
    got = data.series._groups(table, ids)
    expected = {key: rows for key, rows in table.groupby(ids, sort=True)}
    assert list(got) == ["", "a", "b", "c9", "c10"] and set(got) == set(expected)
    for key in expected:
        pd.testing.assert_frame_equal(got[key], expected[key])
    assert data.series._groups(table.iloc[:0], ids.iloc[:0]) == {}


def test_parquet_panel_reads_like_csv(tmp_path):
    csv = _panel_csv(tmp_path / "p.csv", n_series=5)
    table = pd.read_csv(csv)
    table["day"] = pd.to_datetime(table["day"])
    table.to_parquet(tmp_path / "p.parquet")
    cfg_csv = config.load_config(_config(tmp_path, csv)).data
    cfg_pq = cfg_csv.model_copy(update={"path": str(tmp_path / "p.parquet")})
    a, b = data.load_panel(cfg_csv), data.load_panel(cfg_pq)
    assert list(a) == list(b)
    for key in a:
        pd.testing.assert_frame_equal(a[key].frame, b[key].frame, check_freq=False, check_index_type=False)


def test_calendar_features_are_sine_and_cosine_of_the_position():
    index = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 06:00", "2024-01-03 18:00"])
    frame = data.calendar_features(index, ["hour_of_day", "day_of_week"])
    assert frame["hour_of_day_sin"].tolist() == pytest.approx([0, 1, -1], abs=1e-12)
    assert frame["hour_of_day_cos"].tolist() == pytest.approx([1, 0, 0], abs=1e-12)
    assert frame["day_of_week_sin"].iloc[2] == pytest.approx(np.sin(2 * np.pi * 2 / 7))  # a Wednesday


def _priced_demand(path: Path, future_price=None) -> Path:
    """Demand is 50 - 4 * price (+ small noise); the price is random, so only its known future tells the demand."""
    rng = np.random.default_rng(5)
    n = 900
    price = rng.uniform(0, 10, n)
    demand = 50 - 4 * price + rng.normal(0, 0.3, n)
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    table = pd.DataFrame({"day": days, "demand": demand, "price": price})
    if future_price is not None:
        extra = pd.DataFrame({"day": pd.date_range(days[-1], periods=4, freq="D")[1:], "demand": np.nan,
                              "price": future_price})
        table = pd.concat([table, extra])
    table.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_future_covariates_drive_the_forecast(tmp_path):
    raw = {
        "data": {"path": str(_priced_demand(tmp_path / "train.csv", [5, 5, 5])), "targets": ["demand"],
                 "future_features": ["price"]},
        "window": {"input_length": 7, "horizon": 3},
        "model": {"type": "gru", "layers": [{"units": 8}]},
        "training": {"epochs": 40, "batch_size": 32, "optimizer": {"learning_rate": 0.01}},
        "run": {"dir": str(tmp_path / "runs")},
    }
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(cfg_path)])
    assert result.exit_code == 0, result.output
    run = result.stdout.strip().splitlines()[-1]
    report = json.loads(runner.invoke(app, ["evaluate", run, "--format", "json"]).stdout)
    assert report["original"]["model"]["overall"]["mae"] < 0.25 * report["original"]["naive"]["overall"]["mae"]
    cheap = _priced_demand(tmp_path / "cheap.csv", [1, 2, 3])
    dear = _priced_demand(tmp_path / "dear.csv", [9, 8, 7])
    low = pd.read_csv(__import__("io").StringIO(runner.invoke(app, ["predict", run, "--data", str(dear)]).stdout))
    high = pd.read_csv(__import__("io").StringIO(runner.invoke(app, ["predict", run, "--data", str(cheap)]).stdout))
    # the forecast answers the future prices as demand does: 4 units per unit of price (8, 6 and 4 apart here);
    # its level at these extreme prices is a few units under 50 - 4 * price for every seed tried (a small GRU's
    # shrinkage toward the typical price), which the evaluate check above bounds on the test windows
    response = high["demand"].to_numpy() - low["demand"].to_numpy()
    assert response == pytest.approx(4 * np.array([8, 6, 4]), abs=2.5)


def test_missing_future_rows_name_the_steps(tmp_path):
    path = _priced_demand(tmp_path / "short.csv", [5, 5, 5])
    table = pd.read_csv(path).iloc[:-2]  # only one future row of three
    table.to_csv(path, index=False)
    cfg = config.validate({"data": {"path": str(path), "targets": ["demand"], "future_features": ["price"]},
                           "window": {"input_length": 7, "horizon": 3}})
    series = data.load_series(cfg.data)
    bounds = data.split_bounds(series, cfg.data, cfg.window)
    prep = data.fit_preprocessing(series, bounds, cfg.data)
    with pytest.raises(Exception, match=r"missing at 2022-06-20, 2022-06-21"):
        data.known_future(series, prep, 3)


def test_static_features_are_scaled_across_series(tmp_path):
    csv = _panel_csv(tmp_path / "p.csv", n_series=6)
    table = pd.read_csv(csv)
    sizes = {f"s{i:03d}": float(i) for i in range(6)}
    table["size"] = table["store"].map(sizes)
    table.to_csv(csv, index=False)
    cfg = config.load_config(_config(tmp_path, csv, static_features=["size"]))
    prepared = training.prepare_data(cfg)
    kept = prepared.prep["series"]
    column = kept["s000"]["columns"].index("size")
    present = [sizes[k] for k in kept]
    center, scale = np.mean(list(sizes.values())), np.std(list(sizes.values()))
    for key, prep in kept.items():
        assert prep["center"][column] == pytest.approx(center) and prep["scale"][column] == pytest.approx(scale)
    assert len(set(present)) == len(present)  # each series keeps its own, distinct scaled value
    table.loc[table.index[5], "size"] = 99.0
    table.to_csv(csv, index=False)
    with pytest.raises(Exception, match="static feature 'size' takes 2 different values"):
        training.prepare_data(config.load_config(_config(tmp_path, csv, static_features=["size"])))


def test_static_features_beside_future_features_read_without_a_pandas_warning(tmp_path):
    """The future rows split off leave a slice of the table; filling the static column there must not warn."""
    import warnings

    rows = []
    for store, n in (("A", 60), ("B", 45)):
        for d, day in enumerate(pd.date_range("2022-01-01", periods=n + 7)):
            rows.append({"store": store, "day": day.strftime("%Y-%m-%d"), "sales": d % 7 + 1 if d < n else None,
                         "price": 2.0 + d % 3, "size": 10.0 if store == "A" else 20.0})
    pd.DataFrame(rows).to_csv(tmp_path / "p.csv", index=False)
    cfg = config.load_config(_config(tmp_path, tmp_path / "p.csv", static_features=["size"],
                                     future_features=["price"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        panel = data.load_panel(cfg.data)
    assert (panel["A"].frame["size"] == 10.0).all() and (panel["B"].frame["size"] == 20.0).all()
    assert len(panel["A"].frame) == 60 and len(panel["A"].future) == 7


def test_static_features_need_a_panel():
    with pytest.raises(Exception, match="need data.id_column"):
        config.validate({"data": {"path": "x.csv", "targets": ["y"], "static_features": ["size"]}})


def _messy_panel(path: Path) -> tuple[Path, set]:
    """Hourly series in shuffled rows; some with gaps, duplicated stamps or a missing value. Returns the ids
    that are not already unique and on the grid."""
    rng = np.random.default_rng(5)
    frames, irregular = [], set()
    for k in range(24):
        n = 40 + k
        frame = pd.DataFrame({
            "id": f"s{k:02d}", "time": pd.date_range("2020-01-01", periods=n, freq="h") + pd.Timedelta(hours=k),
            "y": rng.normal(size=n), "x": rng.normal(size=n), "kind": rng.choice(["a", "b"], n), "site": float(k % 3),
        })
        if k % 5 == 1:
            frame, _ = frame.drop(frame.index[10:13]), irregular.add(f"s{k:02d}")  # missing steps
        if k % 7 == 2:
            frame, _ = pd.concat([frame, frame.iloc[[5]]]), irregular.add(f"s{k:02d}")  # a duplicated stamp
        if k % 9 == 4:
            frame.loc[frame.index[3], "y"] = np.nan
        frames.append(frame)
    pd.concat(frames).sample(frac=1.0, random_state=2).to_csv(path, index=False)
    return path, irregular


def test_the_columnar_panel_reader_gives_what_reading_series_by_series_gives(tmp_path, monkeypatch):
    """Bit for bit: the frames, notes and prepared arrays; only the series that need it go the per-series way."""
    from rnnforecast.data import columnar

    path, irregular = _messy_panel(tmp_path / "messy.csv")
    cfg = config.validate({
        "data": {"path": str(path), "targets": ["y"], "features": ["x"], "categorical": ["kind"],
                 "static_features": ["site"], "id_column": "id", "duplicates": "mean", "missing": "interpolate"},
        "window": {"input_length": 6, "horizon": 3},
    })
    slow_reads = []
    real = data.series.table_to_series
    def counted(rows, *args, **kwargs):
        slow_reads.append(len(rows))
        return real(rows, *args, **kwargs)

    monkeypatch.setattr(data.series, "table_to_series", counted)
    fast = data.load_panel(cfg.data)
    assert len(slow_reads) == 1 + len(irregular)  # the frequency probe, and the series with gaps or duplicates
    monkeypatch.setattr(columnar, "read_panel", lambda *args: None)
    slow = data.load_panel(cfg.data)
    assert list(fast) == list(slow) == sorted(slow, key=lambda key: int(key[1:]))
    for key in slow:
        pd.testing.assert_frame_equal(fast[key].frame, slow[key].frame, check_exact=True)
        assert fast[key].notes == slow[key].notes and fast[key].name == slow[key].name
        assert (fast[key].features, fast[key].categories) == (slow[key].features, slow[key].categories)
    a = training.prepare_data(cfg.model_copy(deep=True), fast)
    b = training.prepare_data(cfg.model_copy(deep=True), slow)
    np.testing.assert_array_equal(a.values, b.values)
    for part in ("train", "val", "all"):
        np.testing.assert_array_equal(a.starts[part], b.starts[part])
    assert a.prep == b.prep


def test_ids_written_as_numbers_keep_their_numeric_order_in_both_readers(tmp_path, monkeypatch):
    """Ids 1..12 read as 1, 2, ..., 12 (not 1, 10, 11, 12, 2); store2 before store10; "007" stays "007"."""
    from rnnforecast.data import columnar

    ids = [12, 2, 10, 1, 11, 3, "007", "store10", "store2"]
    days = pd.date_range("2024-01-01", periods=20).strftime("%Y-%m-%d")
    rows = [{"id": key, "day": day, "y": float(i + j)} for i, key in enumerate(ids) for j, day in enumerate(days)]
    pd.DataFrame(rows).sample(frac=1.0, random_state=0).to_csv(tmp_path / "n.csv", index=False)
    cfg = config.validate({"data": {"path": str(tmp_path / "n.csv"), "targets": ["y"], "id_column": "id"},
                           "window": {"input_length": 4, "horizon": 2}})
    expected = ["1", "2", "3", "007", "10", "11", "12", "store2", "store10"]
    assert list(data.load_panel(cfg.data)) == expected
    monkeypatch.setattr(columnar, "read_panel", lambda *args: None)
    assert list(data.load_panel(cfg.data)) == expected
    monkeypatch.undo()
    # whole-number ids beside an empty one (pandas reads the column as floats): 1, not 1.0; the blank ones named
    numbers = [{"id": key, "day": day, "y": 1.0} for key in (1, 2, 10, None) for day in days]
    pd.DataFrame(numbers).astype({"id": "Int64"}).to_csv(tmp_path / "n.csv", index=False)  # 1, 2, 10 and blanks
    assert list(data.load_panel(cfg.data)) == ["", "1", "2", "10"]
    assert data.id_examples(["", "1", "2"], 2) == "(the rows with an empty id), 1 ..."


def test_the_columnar_reader_leaves_a_bad_cell_to_the_per_series_message(tmp_path):
    path, _ = _messy_panel(tmp_path / "messy.csv")
    table = pd.read_csv(path)
    table["y"] = table["y"].astype(object)
    table.loc[table.index[table["id"] == "s03"][2], "y"] = "12 kg"
    table.to_csv(path, index=False)
    cfg = config.validate({"data": {"path": str(path), "targets": ["y"], "id_column": "id", "duplicates": "mean"},
                           "window": {"input_length": 6, "horizon": 3}})
    with pytest.raises(UserError, match=r"id=s03.*'12 kg'"):
        data.load_panel(cfg.data)


def test_a_large_panels_epochs_are_scored_on_a_fixed_sample_of_whole_series():
    from rnnforecast.training.inputs import validation_sample

    counts = [5, 0, 7, 3, 9, 4]
    starts = np.arange(sum(counts)) * 10
    assert validation_sample(starts, counts, seed=1, cap=28) is None  # all of them fit
    chosen, note = validation_sample(starts, counts, seed=1, cap=12)
    series = np.repeat(np.arange(len(counts)), counts)
    kept = set(series[np.isin(starts, chosen)])
    assert sum(counts[k] for k in kept) == len(chosen) <= 12  # whole series, no more windows than the cap
    assert 1 not in kept and "of the 5 series with validation windows" in note
    again, _ = validation_sample(starts, counts, seed=1, cap=12)
    np.testing.assert_array_equal(chosen, again)  # the same sample every time: epochs compare


def test_the_validation_sample_reaches_early_stopping_and_the_log(tmp_path, monkeypatch):
    from rnnforecast.training import inputs

    monkeypatch.setattr(inputs, "VALIDATION_WINDOWS", 200)
    cfg = config.load_config(_config(tmp_path, _panel_csv(tmp_path / "p.csv", n_series=60),
                                     split={"train": 0.6, "val": 0.2}))
    prepared = training.prepare_data(cfg)
    sample = prepared.starts["val_sample"]
    assert len(prepared.starts["val"]) > 200 >= len(sample) > 0 and np.isin(sample, prepared.starts["val"]).all()
    assert any("validation loss is scored on the" in note for note in prepared.notes)


def test_series_named_with_a_comma_in_their_id_are_found_whole():
    """--series A,B names two series; an id that itself has a comma (as the run knows it) is taken whole."""
    from rnnforecast import runs

    run = runs.Run(Path("r"), None, {"series": {"North, big": {}, "South": {}, "East": {}}, "skipped": ["West"]}, {},
                   pd.DataFrame())
    assert runs.series_ids(run, ["North, big"]) == ["North, big"]
    assert runs.series_ids(run, [" North, big ", "South,East", "West"]) == ["North, big", "South", "East", "West"]
    assert runs.series_ids(run, ["South, South"]) == ["South"]
    assert runs.series_ids(run, None) is None
    with pytest.raises(UserError, match="names no series"):
        runs.series_ids(run, [" ", ","])



def test_a_horizon_no_series_can_hold_names_the_longest_that_fits(tmp_path):
    """It said "input_length 1" (a look-back the user never set) and no horizon to try; one series names one."""
    csv = _panel_csv(tmp_path / "p.csv", n_series=6)
    longest = pd.read_csv(csv).groupby("store").size().max()
    cfg = config.validate({"data": {"path": str(csv), "targets": ["sales"], "id_column": "store"},
                           "window": {"horizon": 400}})
    with pytest.raises(UserError, match=rf"horizon 400: the longest has {longest} rows.*at most {(longest - 1) // 3} fits"):
        training.prepare_data(cfg)


def test_a_panel_of_two_targets_is_scored_and_drawn_per_target(tmp_path):
    """Each target's per-series scores, aggregated in a table of its own; the plot draws every target of each series."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2021-01-01", periods=84).strftime("%Y-%m-%d")
    t = np.arange(84)
    frames = [pd.DataFrame({"store": f"s{i}", "day": days,
                            "sales": 10 ** i * (2 + np.sin(2 * np.pi * t / 7)) + rng.normal(0, 0.05 * 10 ** i, 84),
                            "visits": 50 + 5 * np.cos(2 * np.pi * t / 7) + rng.normal(0, 3, 84)})
              for i in range(3)]
    pd.concat(frames).to_csv(tmp_path / "two.csv", index=False)
    cfg_path = _config(tmp_path, tmp_path / "two.csv", targets=["sales", "visits"])
    result = runner.invoke(app, ["train", str(cfg_path), "--set", "training.epochs=1", "--set", "training.refit=false",
                                 "--set", "model.combine=none"])
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    result = runner.invoke(app, ["evaluate", str(run), "--no-classical"])
    assert result.exit_code == 0, result.output
    assert "Target sales alone" in result.stdout and "Target visits alone" in result.stdout
    report = json.loads((run / "metrics.json").read_text())
    for name in ("model", "seasonal_naive"):
        for target in ("sales", "visits"):
            own = [scores[name]["per_target"][target]["mase"] for scores in report["series"].values()]
            assert report["aggregate"][name]["per_target"][target]["mean"]["mase"] == pytest.approx(np.mean(own))
            assert report["aggregate"][name]["per_target"][target]["median"]["mase"] == pytest.approx(np.median(own))
        for scores in report["series"].values():  # a series' MASE weighs its two targets alike
            per_target = [scores[name]["per_target"][t]["mase"] for t in ("sales", "visits")]
            assert scores[name]["mase"] == pytest.approx(np.mean(per_target))
    # MAE in each target's own units: sales grow tenfold from series to series, visits do not
    mae = pd.DataFrame({key: {t: s["seasonal_naive"]["per_target"][t]["mae"] for t in ("sales", "visits")}
                        for key, s in report["series"].items()}).T
    assert (mae["sales"] / mae["sales"].shift()).dropna().between(5, 20).all()
    assert (mae["visits"] / mae["visits"].shift()).dropna().between(0.5, 2).all()

    from rnnforecast import forecasting, plotting, runs

    loaded = runs.load(run)
    honest, final = forecasting.models_for_future(loaded)
    drawn = plotting.panel_figure(loaded, forecasting.prepare_panel(loaded, only=["s0", "s2"]), honest, final)
    assert [ax.get_title(loc="left") for ax in drawn.axes] == [
        "store = s0: sales", "store = s0: visits", "store = s2: sales", "store = s2: visits"]
    forecast = pd.read_csv(io.StringIO(runner.invoke(app, ["predict", str(run)]).stdout))
    for ax, (key, target) in zip(drawn.axes, [("s0", "sales"), ("s0", "visits"), ("s2", "sales"), ("s2", "visits")]):
        line = next(line for line in ax.get_lines() if line.get_label() == "forecast")
        np.testing.assert_allclose(line.get_ydata(), forecast[forecast.store == key][target].to_numpy(), rtol=1e-5)
