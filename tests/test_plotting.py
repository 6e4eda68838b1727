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
