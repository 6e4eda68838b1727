"""AutoETS and AutoTheta beside the network (forecasting.classical), in evaluate and backtest."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnforecast import backtest, config, data
from rnnforecast.cli import app
from rnnforecast.errors import UserError
from rnnforecast.forecasting import classical
from tests.conftest import tiny_config

pytest.importorskip("statsforecast")  # a dependency since model.combine (2026-12-05); skipped where it is missing

TEMPS = Path(__file__).parent / "data" / "daily-min-temperatures.csv"
runner = CliRunner()


def _seasonal(n: int, season: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (20 + 0.01 * t + 3 * np.sin(2 * np.pi * t / season) + rng.normal(0, 0.3, n))[:, None]


def test_forecasts_use_no_value_at_or_after_the_origin():
    values = _seasonal(600)
    origins = np.array([450, 500, 550])
    before = classical.forecasts(values, origins, 7, 7, fitted_until=400)
    changed = values.copy()
    changed[550:] += 100.0  # after the last origin's history
    after = classical.forecasts(changed, origins, 7, 7, fitted_until=400)
    for name in classical.NAMES:
        assert before[name].shape == (3, 7, 1)
        np.testing.assert_allclose(before[name], after[name])


def test_forecasts_follow_the_data_up_to_each_origin_with_the_parameters_fitted_once():
    values = _seasonal(600)
    shifted = values.copy()
    shifted[420:] += 5.0  # a level shift after the fit, before the origin
    a = classical.forecasts(values, np.array([500]), 7, 7, fitted_until=400)
    b = classical.forecasts(shifted, np.array([500]), 7, 7, fitted_until=400)
    for name in classical.NAMES:
        # the state is run forward over the shifted rows: the forecast moves up toward the new level
        assert 0.5 < (b[name] - a[name]).mean() < 5.5, name
        # and it is a forecast of the season, not a flat line
        assert np.ptp(a[name][0, :, 0]) > 2.0, name


@pytest.mark.parametrize("n, fitted_until", [(1500, 1500), (3003, 1000)])
def test_a_long_series_is_run_forward_with_its_season_in_phase(n, fitted_until):
    # ETS runs forward from the seasonal states of the fit's first row: a start FORWARD rows back from the origin
    # (500 rows after that first row at 1,500, not whole weeks) put its weekly peak on the wrong day
    from statsforecast.models import AutoETS

    values = 20 + 5 * np.sin(2 * np.pi * np.arange(n + 14) / 7)
    values = (values + np.random.default_rng(1).normal(0, 0.3, n + 14))[:, None]
    found = classical.forecasts(values[:n], np.array([n]), 14, 7, fitted_until=fitted_until)["AutoETS"][0, :, 0]
    first = max(0, fitted_until - classical.HISTORY)
    everything = AutoETS(season_length=7).fit(values[first:fitted_until, 0]).forward(values[first:n, 0], 14)["mean"]
    np.testing.assert_allclose(found, everything, atol=0.05)  # what running over every row since the fit gives
    assert np.abs(found - values[n:, 0]).mean() < 0.6  # the season's 10-unit swing followed, not shifted
    assert classical.forward_start(n, first, 7) >= n - classical.FORWARD - 6  # still about FORWARD rows, not all

def test_a_history_too_short_for_any_fit_gets_the_naive_forecast():
    values = np.array([[1.0], [2.0], [4.0], [3.0], [5.0], [6.0]])
    found = classical.forecasts(values, np.array([5]), 2, 4, fitted_until=3)
    for name in classical.NAMES:
        np.testing.assert_allclose(found[name][0, :, 0], [5.0, 5.0])


def test_many_series_are_fitted_in_worker_processes_in_order_with_a_note_and_a_bar(monkeypatch, capsys):
    monkeypatch.setattr(classical, "PARALLEL_FROM", 0.0)  # two tiny series: worker processes all the same
    monkeypatch.setattr(classical, "PROGRESS_FROM", 0.0)
    monkeypatch.setattr(classical, "_cores", lambda: 2)
    jobs = [classical.Job(_seasonal(120, seed=seed) * (1 + seed), np.array([100, 110]), 5, 7, 100) for seed in range(3)]
    found = classical.forecasts_many(jobs, "(--no-classical skips them)")
    err = capsys.readouterr().err
    assert "fitting AutoETS and AutoTheta to 3 series in 2 processes" in err and "--no-classical skips them" in err
    assert "6/6" in err  # the bar over the origins, finished
    for job, one in zip(jobs, found):  # each series' own fits, in the jobs' order, as one process fits them
        alone = classical.forecasts(job.values, job.origins, job.horizon, job.season, job.fitted_until)
        for name in classical.NAMES:
            np.testing.assert_allclose(one[name], alone[name])


def test_a_long_test_period_is_run_forward_in_pieces_over_the_cores_with_a_bar(monkeypatch, capsys):
    """One series of many origins (evaluate's 10,000 windows of 15-minute rows took a minute with no sign of life)."""
    monkeypatch.setattr(classical, "ORIGINS_PER_PIECE", 4)
    monkeypatch.setattr(classical, "PARALLEL_FROM", 0.0)
    monkeypatch.setattr(classical, "PROGRESS_FROM", 0.0)
    monkeypatch.setattr(classical, "_cores", lambda: 2)
    values = _seasonal(160, seed=4)
    origins = np.arange(120, 131)  # 11 origins: pieces of 4, 4 and 3
    ends = np.where(origins < 125, 100, 110)  # a backtest that retrains: two fits, and a piece holds both
    one_fit = classical._pieces(classical.Job(values, origins, 5, 7, 100))
    assert [len(piece.origins) for piece in one_fit] == [4, 4, 3] and all((p.fitted_until == 100).all() for p in one_fit)
    job = classical.Job(values, origins, 5, 7, ends)
    assert [list(piece.fitted_until) for piece in classical._pieces(job)] == [[100] * 4, [100, 110, 110, 110], [110] * 3]
    (found,) = classical.forecasts_many([job])
    err = capsys.readouterr().err
    assert "fitting AutoETS and AutoTheta to the 11 forecast origins in 2 processes" in err and "11/11" in err
    alone = classical.forecasts(values, origins, 5, 7, ends)
    for name in classical.NAMES:
        np.testing.assert_array_equal(found[name], alone[name])


def test_workers_that_cannot_start_or_die_leave_the_fits_to_this_process(monkeypatch, capsys):
    from concurrent.futures.process import BrokenProcessPool

    def broken(*args):
        raise BrokenProcessPool("a worker process died")

    monkeypatch.setattr(classical, "PARALLEL_FROM", 0.0)
    monkeypatch.setattr(classical, "_cores", lambda: 2)
    monkeypatch.setattr(classical, "_in_workers", broken)
    jobs = [classical.Job(_seasonal(120, seed=seed), np.array([100]), 5, 7, 100) for seed in range(2)]
    found = classical.forecasts_many(jobs)
    assert "in this process instead (a worker process died)" in capsys.readouterr().err
    alone = classical.forecasts(jobs[1].values, jobs[1].origins, 5, 7, 100)
    np.testing.assert_allclose(found[1]["AutoTheta"], alone["AutoTheta"])


def test_a_few_short_series_are_fitted_here_without_a_bar(monkeypatch, capsys):
    def no_workers(*args):
        raise AssertionError("worker processes started for a second of fitting")

    monkeypatch.setattr(classical, "_in_workers", no_workers)
    jobs = [classical.Job(_seasonal(120, seed=seed), np.array([100]), 5, 7, 100) for seed in range(3)]
    assert len(classical.forecasts_many(jobs)) == 3
    assert capsys.readouterr().err == ""


def test_asking_for_it_without_statsforecast_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setattr(classical, "installed", lambda: False)
    assert classical.wanted(None) is False
    with pytest.raises(UserError, match=r"rnnforecast\[classical\]"):
        classical.wanted(True)
    monkeypatch.setattr(classical, "installed", lambda: True)
    assert classical.wanted(None, classical.MAX_PANEL_SERIES + 1) is False
    assert "add --classical" in capsys.readouterr().err
    assert classical.wanted(True, classical.MAX_PANEL_SERIES + 1) is True
    assert classical.wanted(False) is False


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classical")
    raw = tiny_config(TEMPS, run={"dir": str(folder / "runs")})
    path = folder / "config.yaml"
    path.write_text(json.dumps(raw))
    result = runner.invoke(app, ["train", str(path)])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def test_evaluate_scores_them_beside_the_model_and_says_how(run):
    result = runner.invoke(app, ["evaluate", str(run)])
    assert result.exit_code == 0, result.output
    assert "AutoETS" in result.stdout and "AutoTheta" in result.stdout and "run forward" in result.stdout
    report = json.loads((run / "metrics.json").read_text())
    assert set(report["original"]) == {"model", "naive", "seasonal_naive", "AutoETS", "AutoTheta"}
    assert set(report["intervals"]) == {"model", "naive", "seasonal_naive"}  # point forecasts only
    # Melbourne's minimum temperature: a smoother beats repeating last week
    original = report["original"]
    assert original["AutoETS"]["overall"]["mae"] < original["seasonal_naive"]["overall"]["mae"]

    result = runner.invoke(app, ["evaluate", str(run), "--no-classical"])
    assert result.exit_code == 0, result.output
    assert set(json.loads((run / "metrics.json").read_text())["original"]) == {"model", "naive", "seasonal_naive"}


@pytest.mark.slow
def test_backtest_fits_them_where_each_fold_was_trained(tmp_path):
    cfg = config.validate(tiny_config(TEMPS, run={"dir": str(tmp_path / "runs")}))
    path = backtest.backtest(cfg, stride=7, retrain_every=40, verbose=0, with_classical=True)
    forecasts = pd.read_csv(path / "forecasts.csv")
    folds = pd.read_csv(path / "folds.csv")
    assert {"AutoETS", "AutoTheta"} <= set(forecasts.columns)
    assert {"AutoETS_mae", "AutoTheta_rmse"} <= set(folds.columns)
    report = json.loads((path / "backtest.json").read_text())
    assert "AutoETS" in report["original"] and "fold's training end" in report["classical"]

    # The second training's folds: AutoETS fitted on the rows before that training's end, run to each origin.
    series = data.load_series(cfg.data)  # on the run's grid: two missing days added
    values = series.frame[["Temp"]].to_numpy(float)
    times = series.index
    later = folds.iloc[40:43]
    origins = np.array([times.searchsorted(pd.Timestamp(o)) for o in later["origin"]])
    until = times.searchsorted(pd.Timestamp(later["trained_until"].iloc[0])) + 1
    expected = classical.forecasts(values, origins, 7, 7, fitted_until=until)["AutoETS"]
    got = forecasts[forecasts["fold"].isin(later["fold"])]["AutoETS"].to_numpy().reshape(3, 7)
    np.testing.assert_allclose(got, expected[:, :, 0], rtol=1e-5)


def test_a_short_series_gets_the_two_models_mean_inside_their_own_intervals(capsys):
    """Round 26: a panel series under one input window; its quantiles sit around the mean and never cross."""
    from statsforecast.models import AutoETS, AutoTheta

    values = _seasonal(15, season=4)
    point, bands = classical.mean_with_quantiles(values, 6, 4, [0.1, 0.5, 0.9])
    ets = AutoETS(season_length=4).fit(values[:, 0]).predict(6, level=[80])
    theta = AutoTheta(season_length=4).fit(values[:, 0]).predict(6, level=[80])
    np.testing.assert_allclose(point[:, 0], (ets["mean"] + theta["mean"]) / 2, rtol=1e-9)
    assert np.array_equal(bands[:, 0, 1], point[:, 0]) and (np.diff(bands[:, 0, :], axis=-1) > 0).all()
    upper = ((ets["hi-80"] - ets["mean"]) + (theta["hi-80"] - theta["mean"])) / 2
    np.testing.assert_allclose(bands[:, 0, 2], point[:, 0] + np.maximum(upper, 0), rtol=1e-6)
    one = classical.mean_with_quantiles(np.array([[3.0]]), 2, 4, [0.1, 0.5, 0.9])  # a single value: flat, no interval
    assert np.array_equal(one[0], [[3.0], [3.0]]) and np.array_equal(one[1][..., 1], one[0])
    assert np.isnan(one[1][..., [0, 2]]).all()  # empty, not an interval of zero width
    many = classical.means_with_quantiles([values, values[:8]], 6, 4, [0.1, 0.5, 0.9])
    assert np.array_equal(many[0][0], point) and capsys.readouterr().err == ""  # two series: no note, no bar
