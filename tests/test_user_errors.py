"""Twenty-odd mistakes a user can make: each is one clear message on stderr and exit status 2."""

import errno
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import intervals, runs
from rnnforecast.cli import app
from rnnforecast.errors import UserError
from rnnforecast.forecasting import calibration, combination
from tests.conftest import DATA, tiny_config

runner = CliRunner()
TEMPS = DATA / "daily-min-temperatures.csv"


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _days(n, value=lambda d: d):
    return "date,y\n" + "".join(f"{(pd.Timestamp('2024-01-01') + pd.Timedelta(days=d)).date()},{value(d)}\n" for d in range(n))


CASES = {
    # name: (config changes or a raw YAML text, what the message must say)
    "unknown model type": (lambda t: tiny_config(TEMPS, model={"type": "lstmm"}), "not one of simple_rnn, lstm, gru"),
    "typo key": (lambda t: tiny_config(TEMPS, training={"epoch": 3}), "did you mean 'epochs'"),
    "negative units": (lambda t: tiny_config(TEMPS, model={"layers": [{"units": -1}]}), "model.layers[0].units"),
    "boolean epochs": (lambda t: tiny_config(TEMPS, training={"epochs": "off"}) | {"training": {"epochs": False}}, "quotes"),
    "yaml syntax": ("data:\n  path: x.csv\n  targets: [y\n", "line"),
    "config not a mapping": ("- just\n- a list\n", "mapping"),
    "data file missing": (lambda t: tiny_config(t / "nope.csv"), "nope.csv does not exist"),
    "empty data file": (lambda t: tiny_config(_csv(t, "")), "is empty"),
    "header only": (lambda t: tiny_config(_csv(t, "Date,Temp\n")), "no rows"),
    "column not found": (lambda t: tiny_config(TEMPS) | {"data": {"path": str(TEMPS), "targets": ["temp"]}}, "Columns there: Date, Temp"),
    "too few rows": (lambda t: tiny_config(TEMPS, window={"input_length": 3000, "horizon": 7}), "input_length 3000"),
    "split leaves no test window": (
        lambda t: tiny_config(TEMPS, data={"split": {"train": 0.7, "val": 0.299}}), "the test part"),
    "non-numeric cell": (lambda t: tiny_config(_csv(t, "Date,Temp\n2024-01-01,1\n2024-01-02,?x\n")), "'?x' on line 3"),
    "all-NaN column": (lambda t: tiny_config(_csv(t, "Date,Temp\n" + "".join(f"2024-01-{d:02d},\n" for d in range(1, 29)))), "no numbers"),
    "bad date": (lambda t: tiny_config(_csv(t, "Date,Temp\n2024-01-01,1\nyesterday,2\n"), data={"time_column": "Date"}), "not a date"),
    "duplicates refused": (lambda t: tiny_config(_csv(t, "Date,Temp\n2024-01-01,1\n2024-01-01,2\n2024-01-02,3\n"),
                                                 data={"duplicates": "error"}), "duplicated timestamp"),
    "missing refused": (lambda t: tiny_config(TEMPS, data={"missing": "error"}), "missing value at 1984-12-31"),
    "bad frequency": (lambda t: tiny_config(TEMPS, data={"frequency": "fortnightly"}),
                      "data.frequency 'fortnightly' is not a pandas frequency alias. Use one such as D (days)"),
    "infinite value": (lambda t: tiny_config(_csv(t, "Date,Temp\n2024-01-01,1\n2024-01-02,-inf\n")), "infinite"),
    "dates half given": (lambda t: tiny_config(TEMPS, data={"split": {"val_start": "1988-01-01"}}), "val_start and test_start"),
    "loss turns NaN": (
        lambda t: tiny_config(_csv(t, _days(300, lambda d: 1e25 * (1 + d % 5)), "huge.csv"), data={"scaling": "none", "targets": ["y"]},
                              training={"loss": "mse"}),  # the squared error of 1e25 overflows float32
        "epoch 1"),
    "binary file": (lambda t: tiny_config(t / "bin.csv"), "is not text"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_mistake_gives_one_clear_message(name, tmp_path):
    make, expected = CASES[name]
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 40)
    config = tmp_path / "c.yaml"
    if isinstance(make, str):
        config.write_text(make)
    else:
        raw = make(tmp_path)
        raw["run"] = {"dir": str(tmp_path / "runs")}
        config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2, result.output
    message = result.stderr[result.stderr.index("Error: "):]
    assert expected in message and message.count("Error: ") == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_set_with_bad_syntax(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_config(TEMPS)))
    result = runner.invoke(app, ["train", str(config), "--set", "epochs"])
    assert result.exit_code == 2 and "key.path=value" in result.stderr


def test_train_needs_a_config_or_resume():
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 2 and "--resume" in result.stderr


def test_resume_of_an_unknown_run(tmp_path):
    result = runner.invoke(app, ["train", "--resume", str(tmp_path / "runs" / "x-1")])
    assert result.exit_code == 2 and "no interrupted run" in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = runner.invoke(app, ["--debug", "predict", str(tmp_path / "nope")])
    assert result.exit_code != 0 and result.exception is not None


# ------------------------------------------------------------------------ a trained run, damaged or read-only


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run with a final model and a mix of AutoETS and AutoTheta (400 days: a short series)."""
    pytest.importorskip("statsforecast")
    root = tmp_path_factory.mktemp("trained")
    data = root / "temps.csv"
    frame = pd.read_csv(TEMPS)
    frame.iloc[-400:].to_csv(data, index=False)
    config = root / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_config(data, run={"dir": str(root / "runs")}, training={"refit": True})))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def run(trained, tmp_path):
    return Path(shutil.copytree(trained, tmp_path / "run"))


def _edit(path, change):
    found = json.loads(path.read_text())
    change(found)
    path.write_text(json.dumps(found))


def _drop_model_scores(run):
    with np.load(run / "calibration-scores.npz") as saved:
        kept = {name: saved[name] for name in saved.files if name != "model"}
    np.savez(run / "calibration-scores.npz", **kept)


WRONG_CONTENT = {  # valid JSON, wrong values: each was an internal error, or NaN forecasts with exit status 0
    "center deleted": ("preprocessing.json", lambda p: p.pop("center"), "center missing"),
    "season_length deleted": ("preprocessing.json", lambda p: p.pop("season_length"), "season_length missing"),
    "season_length text": ("preprocessing.json", lambda p: p.update(season_length="x"), "season_length 'x'"),
    "scale text": ("preprocessing.json", lambda p: p.update(scale="abc"), "scale 'abc'"),
    "scale zero": ("preprocessing.json", lambda p: p.update(scale=[0.0]), "scale [0.0]"),
    "scale infinite": ("preprocessing.json", lambda p: p.update(scale=[float("inf")]), "scale [inf]"),
    "targets renamed": ("preprocessing.json", lambda p: p.update(targets=["Nope"]), "targets ['Nope'] are not"),
    "floor text": ("preprocessing.json", lambda p: p.update(floor=["x"]), "floor ['x']: not a number or null"),
    "cycle negative": ("preprocessing.json", lambda p: p.update(cycle=-3), "cycle -3 is not a whole number"),
    "cycle text": ("preprocessing.json", lambda p: p.update(cycle="x"), "cycle 'x' is not a whole number"),
    "frequency unknown": ("preprocessing.json", lambda p: p.update(frequency="zz"), "frequency 'zz' is not a pandas"),
    "scaling unknown": ("preprocessing.json", lambda p: p.update(scaling="log"), "scaling 'log' is not one of"),
    "never_negative text": ("preprocessing.json", lambda p: p.update(never_negative="yes"), "never_negative 'yes'"),
    "split out of order": ("preprocessing.json", lambda p: p.update(val_end=10), "are not rows in order"),
    "bases deleted": ("calibration.json", lambda c: c.pop("bases"), "bases missing"),
    "window negative": ("calibration.json", lambda c: c.update(window=-3), "window -3"),
    "window text": ("calibration.json", lambda c: c.update(window="x"), "window 'x'"),
    "gamma text": ("calibration.json", lambda c: c.update(gamma="x"), "gamma 'x'"),
    "unknown method": ("calibration.json", lambda c: c.update(method="bogus"), "method 'bogus'"),
    "quantiles unsorted": ("calibration.json", lambda c: c.update(quantiles=[0.9, 0.5, 0.1]), "increasing order"),
    "quantile over 1": ("calibration.json", lambda c: c.update(quantiles=[0.1, 0.5, 1.5]), "between 0 and 1"),
}


@pytest.mark.parametrize("name", list(WRONG_CONTENT))
def test_a_run_file_with_wrong_values_is_refused_as_damaged(run, name):
    file_name, change, fact = WRONG_CONTENT[name]
    _edit(run / file_name, change)
    with pytest.raises(UserError, match=rf"{file_name} is damaged \(.*{re.escape(fact)}"):
        intervals.load(runs.load(run))


def test_a_history_with_text_for_its_losses_is_refused_as_damaged(run):
    (run / "history.csv").write_text("epoch,loss,val_loss,learning_rate\n1,abc,def,ghi\n")
    with pytest.raises(UserError, match=r"history.csv is damaged \(column 'loss' holds text"):
        runs.load(run)


def test_calibration_scores_without_the_models_are_refused(run):
    _drop_model_scores(run)
    with pytest.raises(UserError, match=r"calibration-scores.npz is damaged \(no scores of model"):
        intervals.load(runs.load(run))


def test_a_zero_scale_is_refused_by_predict_not_forecast_as_nan(run):
    _edit(run / "preprocessing.json", lambda p: p.update(scale=[0.0]))
    result = runner.invoke(app, ["predict", str(run)])
    assert result.exit_code == 2 and "preprocessing.json is damaged" in result.stderr, result.output
    assert result.stdout == "" and "Traceback" not in result.output


def test_train_records_the_mix_and_a_deleted_combination_is_refused(run):
    recorded = json.loads((run / "metadata.json").read_text())["combination"]
    assert recorded == json.loads((run / "combination.json").read_text())["chosen"] == "ets+theta"
    (run / "combination.json").unlink()
    with pytest.raises(UserError, match=r"combination.json is damaged \(missing.*'ets\+theta'"):
        combination.weights(runs.load(run))
    _edit(run / "metadata.json", lambda m: m.pop("combination"))  # a run of an older version: no record, no file
    assert combination.weights(runs.load(run)) is None


def test_a_final_model_without_its_checksum_is_refused(run):
    _edit(run / "metadata.json", lambda m: m.pop("final_model_sha256"))
    result = runner.invoke(app, ["predict", str(run)])
    assert result.exit_code == 2 and "metadata.json is damaged (final_model_sha256 missing" in result.stderr
    (run / "final.keras").unlink()  # "final_windows" still says that a final model was trained
    with pytest.raises(UserError, match="final_model_sha256 missing"):
        runs.load(run)


def test_a_recalibration_whose_scores_file_is_gone_is_redone_with_a_note(run):
    """calibrate's quantiles were replaced by the config's without a word when calibration-scores.npz was deleted."""
    assert runner.invoke(app, ["calibrate", str(run), "--quantiles", "0.05,0.5,0.95"]).exit_code == 0
    (run / "calibration-scores.npz").unlink()
    result = runner.invoke(app, ["predict", str(run)])
    assert result.exit_code == 0, result.output
    assert "calibration-scores.npz is missing from" in result.stderr and "run it again" in result.stderr
    assert "Temp_q0.9" in result.stdout.splitlines()[0]  # the config's quantiles, as the note says


def test_a_read_only_run_is_calibrated_in_memory(run, monkeypatch):
    """A run without calibration.json (a backtest's, an older version's) in a folder that cannot be written."""
    (run / "calibration.json").unlink()
    (run / "calibration-scores.npz").unlink()

    def read_only(target, write):
        raise OSError(errno.EROFS, "Read-only file system", str(target))

    monkeypatch.setattr(runs, "atomic_write", read_only)
    result = runner.invoke(app, ["predict", str(run)])
    assert result.exit_code == 0, result.output
    assert "Temp_q0.9" in result.stdout.splitlines()[0] and len(result.stdout.splitlines()) == 8  # 7 steps
    assert "is missing from" not in result.stderr  # neither file: an older version's run, calibrated in silence
    assert not (run / "calibration.json").exists()
    with pytest.raises(OSError, match="Read-only"):  # `calibrate` is asked to save: it says it cannot
        calibration.recalibrate(runs.load(run), [0.1, 0.5, 0.9])


def test_a_read_only_folder_is_named_by_the_file_asked_for_not_our_temporary_one(tmp_path, monkeypatch):
    """On a read-only mount even removing the temporary file fails (EROFS): that second error named `.f.csv.partial.csv`."""
    import errno
    from pathlib import Path as P

    def refuse(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(P, "write_text", refuse)
    monkeypatch.setattr(P, "unlink", refuse)
    with pytest.raises(OSError) as found:
        runs.write_json(tmp_path / "metrics.json", {"a": 1})
    assert found.value.filename == str(tmp_path / "metrics.json")
