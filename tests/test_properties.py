"""Random messy CSV files: the CLI either forecasts finite values at the right times or refuses clearly."""

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rnnforecast.cli import app

runner = CliRunner()


@st.composite
def messy_frames(draw):
    n = draw(st.integers(min_value=5, max_value=160))
    days = np.arange(n + draw(st.integers(0, 20)))
    keep = draw(st.lists(st.booleans(), min_size=len(days), max_size=len(days)))
    days = days[np.array(keep, dtype=bool) | (days == 0)]
    repeat = draw(st.lists(st.integers(0, len(days) - 1), max_size=5))
    days = np.sort(np.concatenate([days, days[repeat]]))
    values = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=len(days), max_size=len(days)))
    values = np.array(values, dtype=object)
    for _ in range(draw(st.integers(0, 3))):  # runs of empty cells
        start = draw(st.integers(0, len(days) - 1))
        values[start : start + draw(st.integers(1, 6))] = ""
    if draw(st.integers(0, 3)) == 0:  # a stray text cell
        values[draw(st.integers(0, len(days) - 1))] = draw(st.sampled_from(["n/a", "abc", "12kg", "NaN"]))
    frame = pd.DataFrame({"when": (pd.Timestamp("2021-03-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
                          "value": values})
    order = draw(st.sampled_from(["sorted", "reversed", "shuffled"]))
    if order == "reversed":
        frame = frame.iloc[::-1]
    elif order == "shuffled":
        frame = frame.sample(frac=1.0, random_state=draw(st.integers(0, 100)))
    sep = draw(st.sampled_from([",", ";"]))
    return frame, sep


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=messy_frames(), missing=st.sampled_from(["interpolate", "ffill", "drop", "error"]), refit=st.booleans())
def test_messy_csv_forecasts_or_fails_clearly(tmp_path_factory, case, missing, refit):
    frame, sep = case
    folder = tmp_path_factory.mktemp("messy")
    path = folder / "messy.csv"
    frame.to_csv(path, index=False, sep=sep)
    raw = {
        "data": {"path": str(path), "targets": ["value"], "missing": missing},
        "window": {"input_length": 6, "horizon": 3},
        "model": {"type": "gru", "layers": [{"units": 3}]},
        "training": {"epochs": 1, "batch_size": 64, "refit": refit},  # the final model on every row, or not
        "run": {"dir": str(folder / "runs")},
    }
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    runs_dir = folder / "runs"
    leftovers = [p.name for p in runs_dir.iterdir()] if runs_dir.exists() else []
    event(f"train exit {result.exit_code}")
    if result.exit_code != 0:
        event(result.stderr.split(" in ")[0][:60])
        assert result.exit_code == 2, result.output
        assert "Error: " in result.stderr and "Traceback" not in result.output
        assert leftovers == []
        return
    assert len(leftovers) == 1 and not leftovers[0].startswith(".")
    run = runs_dir / leftovers[0]
    out = folder / "f.csv"
    result = runner.invoke(app, ["predict", str(run), "--output", str(out)])
    if result.exit_code != 0:  # e.g. the last window holds gaps that data.missing: drop leaves unfilled
        assert result.exit_code == 2 and "Error: " in result.stderr and "Traceback" not in result.output
        assert missing == "drop" and not out.exists()
        return
    forecast = pd.read_csv(out)
    assert np.isfinite(forecast["value"]).all()
    observed = pd.to_numeric(frame["value"], errors="coerce").notna()  # "", "n/a" and "NaN" are missing
    # interpolate and drop leave out the steps after the last value (not observed yet); ffill and mean fill them
    last = pd.to_datetime(frame["when"][observed if missing in ("interpolate", "drop") else slice(None)]).max()
    assert pd.to_datetime(forecast["when"]).tolist() == [last + pd.Timedelta(days=d) for d in (1, 2, 3)]
