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
