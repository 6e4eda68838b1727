import io

import numpy as np
import pandas as pd

from rnnforecast import plotting


def test_names_with_dollar_signs_are_drawn_as_text():
    """A column `cost $_$` is not TeX: matplotlib would raise a parse error when saving."""
    index = pd.date_range("2024-01-01", periods=40, freq="D", name="day $x$")
    actual = pd.DataFrame({"cost $_$": np.arange(40.0)}, index=index)
    future = pd.DataFrame({"cost $_$": np.arange(5.0)}, index=pd.date_range("2024-02-10", periods=5, freq="D"))
    history = pd.DataFrame({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})
    figure = plotting.forecast_figure("run $^$", actual, actual.iloc[-10:], future, history, index[0])
    figure.savefig(io.BytesIO(), format="png")
    labels = [text.get_text() for ax in figure.axes for text in (ax.title, ax.yaxis.label)]
    assert "cost $_$" in labels

    steps = plotting.error_by_step_figure("$_$", {"model": {"mae": [1.0, 2.0]}})
    steps.savefig(io.BytesIO(), format="png")


def _curves(history: pd.DataFrame):
    index = pd.date_range("2024-01-01", periods=40, freq="D")
    actual = pd.DataFrame({"y": np.arange(40.0)}, index=index)
    future = pd.DataFrame({"y": np.arange(5.0)}, index=pd.date_range("2024-02-10", periods=5, freq="D"))
    figure = plotting.forecast_figure("run", actual, actual.iloc[-10:], future, history, index[0])
    figure.canvas.draw()
    return next(ax for ax in figure.axes if ax.get_title(loc="left") == "Training curves")


def test_one_epoch_of_training_curves_has_epoch_1_and_plain_loss_ticks():
    ax = _curves(pd.DataFrame({"epoch": [1], "loss": [0.595], "val_loss": [0.577]}))
    assert [tick for tick in ax.get_xticks() if ax.get_xlim()[0] <= tick <= ax.get_xlim()[1]] == [1.0]
    assert ax.get_yscale() == "linear"  # a flat loss: 0.58, not 5.8 x 10^-1
    falling = _curves(pd.DataFrame({"epoch": [1, 2, 3], "loss": [5.0, 0.5, 0.2], "val_loss": [4.0, 0.6, 0.3]}))
    assert falling.get_yscale() == "log"


def test_error_by_step_has_no_step_0_and_names_its_units():
    """Two targets' MAEs in their own units do not add up: a backtest of several targets draws scaled units."""
    per_step = {"model": {"mae": [1.0, 2.0, None]}, "naive": {"mae": [2.0, 2.5, 3.0]}}
    fig = plotting.error_by_step_figure("t", per_step, units="scaled units: each target in its training std")
    ax = fig.axes[0]
    assert ax.get_xlim() == (0.5, 3.5) and ax.get_ylabel() == "MAE (scaled units: each target in its training std)"
    model = next(line for line in ax.get_lines() if line.get_label() == "model")
    assert np.isnan(model.get_ydata()[2])  # a step with nothing observed is a gap, not a zero


def test_dates_on_the_main_axis_are_concise():
    """Hourly data over a month: AutoDateLocator's days 29 and 1 drew '2016-09-29' over '2016-10-01'."""
    index = pd.date_range("2016-09-20", periods=24 * 45, freq="h", name="date")
    actual = pd.DataFrame({"OT": np.sin(np.arange(len(index)) / 24)}, index=index)
    future = pd.DataFrame({"OT": [0.0] * 24}, index=pd.date_range(index[-1] + pd.Timedelta(hours=1), periods=24, freq="h"))
    fig = plotting.forecast_figure("t", actual, actual.iloc[-200:], future, pd.DataFrame({"loss": [1.0]}), index[0])
    fig.canvas.draw()
    labels = [label.get_text() for label in fig.axes[0].get_xticklabels() if label.get_text()]
    assert labels and all(len(label) <= 5 for label in labels)  # "29", "Oct", "05": never a whole date each


def test_the_band_is_opaque_under_the_lines_and_the_legend_is_above_the_panels():
    """EPS has no transparency: the 20% red band became solid red over the red forecast line. And a legend inside a
    panel hid the data (a summer peak just before the forecast)."""
    index = pd.date_range("2024-01-01", periods=40, freq="D")
    actual = pd.DataFrame({"y": np.arange(40.0)}, index=index)
    future = pd.DataFrame({"y": np.arange(5.0)}, index=pd.date_range("2024-02-10", periods=5, freq="D"))
    bands = {"y": (future["y"] - 1, future["y"] + 1, "80% interval (calibrated)")}
    history = pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.9], "val_loss": [1.1, 1.2]})
    fig = plotting.forecast_figure("run", actual, actual.iloc[-10:], future, history, index[0], bands,
                                   "test forecast (network alone)", kept=(0, 1.0))
    fig.savefig(io.BytesIO(), format="eps")
    band = next(c for c in fig.axes[1].collections if c.get_label().startswith("80%"))
    line = next(line for line in fig.axes[1].get_lines() if line.get_label() == "forecast")
    assert band.get_alpha() is None and band.get_zorder() < line.get_zorder()
    assert tuple(band.get_facecolor()[0][:3]) == plotting.BAND
    assert [ax.get_legend() for ax in fig.axes[:2]] == [None, None] and len(fig.legends) == 1
    assert "test forecast (network alone)" in [t.get_text() for t in fig.legends[0].get_texts()]
    curves = fig.axes[2]  # which epoch the model is: here its untrained start, drawn at epoch 0
    assert "kept: the untrained start" in [line.get_label() for line in curves.get_lines()]
    assert curves.get_xlim()[0] < 0 and curves.get_xlabel() == "epoch"


def test_failed_trials_sit_on_the_axis_edge_not_at_a_score():
    """Drawn at the axis' lowest value, a failed trial read as a better score than the best line."""
    trials = pd.DataFrame({"trial": [0, 1, 2, 3], "state": ["complete", "fail", "fail", "complete"],
                           "val_mae": [2.99, np.nan, np.nan, 2.98]})
    fig = plotting.search_figure(trials, "val_mae", {}, "t")
    fig.canvas.draw()
    ax = fig.axes[0]
    failed = next(c for c in ax.collections if c.get_label().startswith("fail"))
    assert failed.get_label() == "fail (2, no score)" and failed.get_transform() != ax.transData
    assert ax.get_ylim()[0] > 2.9  # the score axis is the scores' alone
