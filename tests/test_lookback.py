"""window.input_length: auto or a list: the look-back chosen by short probes on the validation windows."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import config, data, runs, training
from rnnforecast.cli import app
from rnnforecast.errors import UserError
from rnnforecast.training import lookback
from tests.conftest import DATA

runner = CliRunner()


def _raw(tmp_path, input_length, path=DATA / "daily-min-temperatures.csv", target="Temp", horizon=7, **model):
    return {
        "data": {"path": str(path), "targets": [target]},
        "window": {"input_length": input_length, "horizon": horizon},
        "model": {"type": "gru", "layers": [{"units": 4}], **model},
        "training": {"epochs": 1, "batch_size": 256, "seed": 1, "refit": False},
        "run": {"dir": str(tmp_path / "runs")},
    }


def test_auto_candidates_are_one_to_eight_seasons_shortened_to_the_training_rows(tmp_path):
    cfg = config.validate(_raw(tmp_path, "auto", DATA / "airline-passengers.csv", "Passengers", 12))
    panel = data.load_panel(cfg.data)
    # 144 months, 70% for training: a window of look-back plus horizon must fit in its 100 rows
    assert lookback.candidates(cfg, panel) == [12, 24, 48, 88]
    hourly = config.validate(_raw(tmp_path, "auto", DATA / "ETTh1-head2000.csv", "OT", 48))
    assert lookback.candidates(hourly, data.load_panel(hourly.data)) == [48, 96, 192, 384]  # the horizon is longer


def test_a_list_is_probed_and_the_lowest_validation_loss_wins(tmp_path, write_config):
    path = write_config(_raw(tmp_path, [14, 7, 7]))
    result = runner.invoke(app, ["train", str(path)])
    assert result.exit_code == 0, result.output
    run = runs.load(result.stdout.strip().splitlines()[-1])
    search = json.loads((run.path / "metadata.json").read_text())["input_length_search"]
    assert search["given"] == [7, 14]  # sorted, each once
    losses = {int(k): v for k, v in search["probe_val_loss"].items()}
    assert set(losses) == {7, 14}
    assert search["chosen"] == min(losses, key=losses.get)
    saved = yaml.safe_load((run.path / "config.yaml").read_text())
    assert saved["window"]["input_length"] == search["chosen"]  # the run says what it used: it can be repeated
    assert f"chose {search['chosen']}" in result.output


def test_auto_reads_a_long_candidate_in_segments_as_a_derived_look_back_and_a_list_as_given(tmp_path):
    auto = config.validate(_raw(tmp_path, "auto", DATA / "ETTh1-head2000.csv", "OT", 24))
    shapes = {L: (probe.window.input_length, probe.model.segment_length)
              for L in (48, 100, 192) for probe in [lookback._shaped(auto, L, derived=True)]}
    assert shapes == {48: (48, None), 100: (96, 12), 192: (192, 24)}  # eight segments from 96 steps on
    listed = config.validate(_raw(tmp_path, [48, 192], DATA / "ETTh1-head2000.csv", "OT", 24))
    probe = lookback._shaped(listed, 192, derived=False)
    assert (probe.window.input_length, probe.model.segment_length) == (192, None)
    fixed = config.validate(_raw(tmp_path, "auto", DATA / "ETTh1-head2000.csv", "OT", 24, segment_length=24))
    probe = lookback._shaped(fixed, 100, derived=True)
    assert (probe.window.input_length, probe.model.segment_length) == (96, 24)  # whole segments of the given length


def test_candidates_the_split_cannot_hold_are_named_and_none_is_an_error(tmp_path, write_config):
    cfg = config.validate(_raw(tmp_path, [7, 5000]))
    prepared = training.prepare_data(cfg)
    assert prepared.lookback["chosen"] == 7 and "5000" in prepared.lookback["refused"]
    path = write_config(_raw(tmp_path, [4000, 5000]))
    result = runner.invoke(app, ["train", str(path)])
    assert result.exit_code != 0
    assert "none of the look-backs 4000, 5000 fits" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("value", "message"), [("automatic", "input_length"), ([12, 0], "input_length"),
                                                 ([], "input_length")])
def test_bad_input_lengths_are_refused(tmp_path, value, message):
    with pytest.raises(UserError, match=message):
        config.validate(_raw(tmp_path, value))


def test_listed_candidates_must_be_whole_segments(tmp_path):
    with pytest.raises(UserError, match="does not divide window.input_length 30") as refused:
        config.validate(_raw(tmp_path, [24, 30], segment_length=12))
    assert "(top level)" not in str(refused.value)  # a check across sections names its keys itself


def test_a_list_of_one_candidate_is_that_look_back_without_a_probe(tmp_path):
    assert config.validate(_raw(tmp_path, [48])).window.input_length == 48
    assert config.validate(_raw(tmp_path, [48, 48])).window.input_length == 48
    assert config.validate(_raw(tmp_path, [96, 48])).window.input_length == [48, 96]
