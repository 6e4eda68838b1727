"""Careless users and damaged files: every case is a clear refusal (exit 2) or a correct result, never a traceback.

Each case hashes every file under its folder before and after the command: nothing but the output it names
may change, and a refusal leaves no new file behind.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import json
import os
import random
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rnnforecast import config as config_module
from rnnforecast import errors
from rnnforecast.cli import app
from tests.conftest import DATA, tiny_config

runner = CliRunner()
TEMPS = DATA / "daily-min-temperatures.csv"
ROWS = 400  # the tiny data's length: a run trains in a second or two


def _temps(path: Path, rows: int = ROWS, **to_csv) -> Path:
    pd.read_csv(TEMPS).tail(rows).to_csv(path, index=False, **to_csv)
    return path


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def _invoke(root: Path, args: list[str], allowed: tuple[str, ...] = ()):
    """Run the CLI; check that no file under `root` changed or appeared, except the `allowed` relative paths."""
    before = _snapshot(root)
    result = runner.invoke(app, [str(a) for a in args])
    after = _snapshot(root)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    unexpected = sorted(k for k in changed if not any(k == a or k.startswith(a.rstrip("/") + "/") for a in allowed))
    assert not unexpected, f"files changed that the command did not name: {unexpected}\n{result.output}"
    assert "Traceback" not in result.output and "Internal error" not in result.output, result.output
    return result


def _refused(result, *facts: str) -> None:
    assert result.exit_code == 2, result.output
    message = result.stderr[result.stderr.index("Error: "):]
    assert message.count("Error: ") == 1, message
    for fact in facts:
        assert fact in message, f"{fact!r} not in: {message}"


def _config(root: Path, raw: dict, name: str = "c.yaml") -> Path:
    path = root / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One tiny trained run on 400 days (its folder is copied by each test that changes it)."""
    root = tmp_path_factory.mktemp("trained")
    data = _temps(root / "temps.csv")
    raw = tiny_config(data, run={"dir": str(root / "runs"), "name": "tiny"}, training={"refit": True})
    result = runner.invoke(app, ["train", str(_config(root, raw))])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def run(trained, tmp_path) -> Path:
    shutil.copytree(trained, tmp_path / "run")
    shutil.copy(trained.parent.parent / "temps.csv", tmp_path / "temps.csv")
    return tmp_path / "run"


@pytest.fixture
def base(tmp_path) -> dict:
    """A valid tiny config on a copy of the data, in tmp_path, with run.dir inside it."""
    return tiny_config(_temps(tmp_path / "temps.csv"), run={"dir": str(tmp_path / "runs")})


# ------------------------------------------------------------------------------------------- configs and --set


def test_set_value_that_is_not_yaml_is_taken_as_text():
    raw = {"data": {"path": "x.csv", "targets": ["y"]}}
    config_module.apply_override(raw, "data.thousands=,")
    assert raw["data"]["thousands"] == ","


def test_set_thousands_comma_is_no_internal_error(tmp_path, base):
    base["training"]["refit"] = False
    result = _invoke(tmp_path, ["train", _config(tmp_path, base), "--set", "data.thousands=,"], allowed=("runs",))
    assert result.exit_code in (0, 2), result.output


@pytest.mark.parametrize(("item", "fact"), [
    ("training.epochs", "key.path=value"),
    ("trainin.epochs=1", "did you mean 'training'"),
    ("model.layers[5].units=3", "out of range"),
    ("model.layrs[0].units=3", "'layrs' is not a key of model; did you mean 'layers'?"),  # the typo, not the index
    ("training.epochs=-1", "training.epochs"),
    ("model.type=lstmm", "not one of simple_rnn, lstm, gru"),
    ("window.horizon=[1, 2]", "window.horizon"),
])
def test_set_mistakes(tmp_path, base, item, fact):
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base), "--set", item]), fact)


def test_config_that_is_a_folder(tmp_path):
    (tmp_path / "configs").mkdir()
    _refused(_invoke(tmp_path, ["train", tmp_path / "configs"]), "is a folder")


def test_config_that_does_not_exist(tmp_path):
    _refused(_invoke(tmp_path, ["train", tmp_path / "nope.yaml"]), "does not exist")


def test_config_far_too_large(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * 200_000)
    _refused(_invoke(tmp_path, ["train", path]), "MB", "at most 1000 kB")


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines.append("data: {path: x.csv, targets: [y], features: *a8}")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    _refused(_invoke(tmp_path, ["train", path]), "expands to more than 100,000 values")


@pytest.mark.parametrize("text", ["data: &d\n  path: x.csv\n  targets: [y]\n  self: *d\n", "a: &a [*a]\ndata: *a\n"])
def test_a_yaml_block_that_holds_an_alias_of_itself_is_refused(tmp_path, text):
    """It expands without end: the counter recursed into it until Python's recursion limit (an Internal error)."""
    path = tmp_path / "self.yaml"
    path.write_text(text)
    _refused(_invoke(tmp_path, ["train", path]), "uses an alias inside the block it names")


@pytest.mark.parametrize(("content", "fact"), [
    (b"", "is empty (or holds only comments)"),
    (b"# data: {path: x.csv}\n", "is empty (or holds only comments)"),
    ("data:\n  path: x.csv\n".encode("utf-16"), "not a UTF-8 text file"),
    (bytes(range(256)) * 8, "UTF-8"),
    (b"data: [1, 2\n", "not valid YAML"),
    (b"data:\n\tpath: x.csv\n", "indents with spaces, never tabs"),
    (b"- a\n- b\n", "must hold a mapping"),
    (b"data: {path: x.csv, targets: [y]}\nwindow: {horizon: 0}\n", "window.horizon"),
])
def test_config_file_contents(tmp_path, content, fact):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    _refused(_invoke(tmp_path, ["train", path]), fact)


def test_a_config_that_is_not_a_regular_file_is_named_so(tmp_path):
    _refused(_invoke(tmp_path, ["train", os.devnull]), "is not a regular file (a device or a pipe)")


def test_set_values_yaml_would_read_as_anchors_or_tags_are_the_text_typed():
    from rnnforecast.config.loading import apply_override

    for typed in ("&a", "!!binary aGk=", "*b"):
        raw: dict = {}
        apply_override(raw, f"run.name={typed}")
        assert raw == {"run": {"name": typed}}
    for typed, value in (("null", None), ("~", None), ("3", 3), ("[a, b]", ["a", "b"])):  # YAML as before
        raw = {}
        apply_override(raw, f"run.name={typed}")
        assert raw["run"]["name"] == value


@pytest.mark.parametrize(("name", "fact"), [
    ("../../escape", "plain folder name"),
    ("/tmp/absolute-run", "plain folder name"),
    ("a/b", "plain folder name"),
    ("x" * 300, "bytes long"),
    (".hidden", "starts with '.'"),
    ("..", "plain folder name"),
])
def test_run_name_must_be_a_name(tmp_path, base, name, fact):
    base["run"]["name"] = name
    _refused(_invoke(tmp_path.parent, ["train", _config(tmp_path, base)]), "run.name", fact)
    assert not Path("/tmp/absolute-run").exists()


def test_run_dir_that_is_a_file(tmp_path, base):
    (tmp_path / "runs").write_text("not a folder")
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "is a file, not a folder")


def test_model_too_large_for_memory_is_refused_before_allocating(tmp_path, base):
    base["model"]["layers"] = [{"units": 1_000_000_000}]
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "parameters", "GiB", "fewer units")


# ------------------------------------------------------------------------------------------------- data files


def test_data_path_that_is_a_folder(tmp_path, base):
    (tmp_path / "folder").mkdir()
    base["data"]["path"] = str(tmp_path / "folder")
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "is a folder, not a file")


def test_data_path_that_is_a_device_or_a_pipe(tmp_path, base):
    import os

    os.mkfifo(tmp_path / "pipe.csv")  # reading it would block forever
    for path in ("/dev/null", str(tmp_path / "pipe.csv")):
        base["data"]["path"] = path
        _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "is not a regular file")


@pytest.mark.parametrize(("suffix", "kind"), [(".json", "a JSON"), (".xlsx", "an Excel"), (".feather", "a Feather")])
def test_data_file_of_another_kind_is_named(tmp_path, base, suffix, kind):
    path = tmp_path / f"table{suffix}"
    path.write_bytes(b'{"Date": ["2024-01-01"], "Temp": [1]}')
    base["data"]["path"] = str(path)
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), f"is {kind} file", "CSV")


def test_binary_data_file(tmp_path, base):
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(256)) * 40)
    base["data"]["path"] = str(path)
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "is not text")


def test_duplicate_column_names_are_refused_by_name(tmp_path, base):
    path = tmp_path / "twice.csv"
    frame = pd.read_csv(tmp_path / "temps.csv")
    frame["Temp2"] = frame["Temp"] + 1
    path.write_text(frame.to_csv(index=False).replace("Temp2", "Temp", 1))
    base["data"]["path"] = str(path)
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "more than one column named 'Temp'")


def _same_table(path: Path, plain: Path) -> None:
    from rnnforecast import data

    pd.testing.assert_frame_equal(data.read_table(path), data.read_table(plain))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "latin-1"])
def test_data_in_another_encoding_reads_the_same_table(tmp_path, encoding):
    _same_table(_temps(tmp_path / "wide.csv", encoding=encoding), _temps(tmp_path / "plain.csv"))


def test_utf16_data_trains_as_a_user_would(tmp_path, base):
    base["data"]["path"] = str(_temps(tmp_path / "wide.csv", encoding="utf-16"))
    base["training"]["refit"] = False
    result = _invoke(tmp_path, ["train", _config(tmp_path, base)], allowed=("runs",))
    assert result.exit_code == 0, result.output
    saved = config_module.load_config(Path(result.stdout.strip().splitlines()[-1]) / "config.yaml")
    assert saved.data.targets == ["Temp"] and "\x00" not in result.output


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zip"])
def test_compressed_csv_is_sniffed_after_decompressing(tmp_path, suffix):
    import lzma

    text = pd.read_csv(_temps(tmp_path / "plain.csv")).to_csv(index=False, sep=";").encode()
    (tmp_path / "semicolons.csv").write_bytes(text)
    path = tmp_path / f"temps.csv{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("temps.csv", text)
    else:
        path.write_bytes({".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}[suffix](text))
    _same_table(path, tmp_path / "semicolons.csv")


def test_gz_name_on_a_plain_file(tmp_path, base):
    path = tmp_path / "plain.csv.gz"
    path.write_bytes((tmp_path / "temps.csv").read_bytes())
    base["data"]["path"] = str(path)
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "not a valid gzip file")


def test_zip_of_two_files(tmp_path, base):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "Date,Temp\n")
        archive.writestr("b.csv", "Date,Temp\n")
    base["data"]["path"] = str(path)
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "exactly one CSV file")


@pytest.mark.parametrize(("key", "value"), [
    ("future_features", ["holiday"]), ("features", ["rain"]), ("categorical", ["kind"]),
])
def test_named_column_that_the_file_lacks(tmp_path, base, key, value):
    base["data"][key] = value
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), f"data.{key}", "Columns there: Date, Temp")


def test_static_feature_that_the_file_lacks(tmp_path, base):
    frame = pd.read_csv(tmp_path / "temps.csv").assign(id="a")
    frame.to_csv(tmp_path / "panel.csv", index=False)
    base["data"].update(path=str(tmp_path / "panel.csv"), id_column="id", static_features=["size"])
    _refused(_invoke(tmp_path, ["train", _config(tmp_path, base)]), "data.static_features", "'size'")


def test_panel_series_refused_for_missing_values_says_so(tmp_path, base):
    frame = pd.read_csv(tmp_path / "temps.csv")
    gappy = frame.assign(id="gappy")
    gappy.loc[gappy.index[50], "Temp"] = None
    pd.concat([frame.assign(id="whole"), gappy]).to_csv(tmp_path / "panel.csv", index=False)
    base["data"].update(path=str(tmp_path / "panel.csv"), id_column="id", missing="error")
    result = _invoke(tmp_path, ["train", _config(tmp_path, base)], allowed=("runs",))
    assert result.exit_code == 0, result.output
    assert "left out because their data were refused: gappy: " in result.stderr and "missing value" in result.stderr
    assert "shorter than one input window" not in result.stderr


# ------------------------------------------------------------------------------------------------ resume


def test_resume_of_a_folder_that_is_no_run(tmp_path):
    (tmp_path / "runs" / "holiday-photos").mkdir(parents=True)
    _refused(_invoke(tmp_path, ["train", "--resume", tmp_path / "runs" / "holiday-photos"]), "is a folder but not a run")


def test_resume_of_a_complete_run(run):
    _refused(_invoke(run.parent, ["train", "--resume", run]), "already complete")


# ------------------------------------------------------------------------------------- damaged run folders


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


DAMAGE = {
    "metadata truncated": (lambda r: _truncate(r / "metadata.json"), ["metadata.json is damaged", "not JSON"]),
    "metadata a list": (lambda r: (r / "metadata.json").write_text("[1, 2]"), ["metadata.json is damaged", "object"]),
    "metadata without model hash": (
        lambda r: (r / "metadata.json").write_text(json.dumps(
            {k: v for k, v in json.loads((r / "metadata.json").read_text()).items() if k != "model_sha256"})),
        ["model_sha256 missing"]),
    "metadata not utf-8": (lambda r: (r / "metadata.json").write_bytes(b"\xff\xfe{}"), ["metadata.json is damaged"]),
    "preprocessing truncated": (lambda r: _truncate(r / "preprocessing.json"), ["preprocessing.json is damaged"]),
    "preprocessing empty": (lambda r: (r / "preprocessing.json").write_text(""), ["preprocessing.json is damaged"]),
    "history empty": (lambda r: (r / "history.csv").write_text(""), ["history.csv is damaged"]),
    "history without epochs": (lambda r: (r / "history.csv").write_text("a,b\n1,2\n"), ["history.csv is damaged"]),
    "config edited": (
        lambda r: (r / "config.yaml").write_text((r / "config.yaml").read_text().replace("units: 4", "units: 8")),
        ["edited since training"]),
    "config deleted": (lambda r: (r / "config.yaml").unlink(), ["missing config.yaml"]),
    # plausible values, so no check of the values refused it: forecasts and 127 scores changed without a word
    "preprocessing scale doubled": (
        lambda r: (r / "preprocessing.json").write_text(json.dumps(
            {**(p := json.loads((r / "preprocessing.json").read_text())), "scale": [2 * v for v in p["scale"]]})),
        ["preprocessing.json has been edited since training"]),
    "model truncated": (lambda r: _truncate(r / "model.keras"), ["has changed since training"]),
    "model deleted": (lambda r: (r / "model.keras").unlink(), ["missing model.keras"]),
    # a checksum edited into a number blamed model.keras ("has changed since training")
    "model checksum a number": (
        lambda r: (r / "metadata.json").write_text(json.dumps(
            {**json.loads((r / "metadata.json").read_text()), "model_sha256": 123})),
        ["metadata.json is damaged (model_sha256 is 123, not a SHA-256"]),
    "final model truncated": (lambda r: _truncate(r / "final.keras"), ["final.keras has changed since training"]),
    # these three were internal errors (JSONDecodeError, TypeError, BadZipFile)
    "combination truncated": (lambda r: _truncate(r / "combination.json"), ["combination.json is damaged"]),
    "combination of an unknown mix": (lambda r: (r / "combination.json").write_text('{"chosen": "magic"}'),
                                      ["combination.json is damaged", "unknown mix 'magic'"]),
    "calibration not an object": (lambda r: (r / "calibration.json").write_text("[1, 2]"),
                                  ["calibration.json is damaged", "not a JSON object"]),
    # it was "is a folder; give a file name to write", an output the user never named
    "calibration scores a folder": (lambda r: ((r / "calibration-scores.npz").unlink(),
                                               (r / "calibration-scores.npz").mkdir()),
                                    ["calibration-scores.npz is damaged", "a folder or another kind of file"]),
    "calibration scores truncated": (lambda r: _truncate(r / "calibration-scores.npz"),
                                     ["calibration-scores.npz is damaged"]),
}


@pytest.mark.parametrize(("damage", "command"), [
    (damage, command) for damage in DAMAGE for command in ("predict", "evaluate", "plot")
    if not (damage == "final model truncated" and command == "evaluate")  # evaluate scores the honest model only
    and not (damage.startswith(("combination", "calibration")) and command != "predict")  # one reader serves all three
])
def test_damaged_run_is_refused_by_file(run, damage, command):
    make, facts = DAMAGE[damage]
    make(run)
    result = _invoke(run.parent, [command, run])
    _refused(result, *facts)


def test_run_folder_that_does_not_exist(tmp_path):
    _refused(_invoke(tmp_path, ["predict", tmp_path / "runs" / "nope"]), "does not exist")


@pytest.mark.parametrize("named", ["final", "partial"])
def test_a_run_still_training_or_stopped_says_so_and_how_to_resume(tmp_path, named):
    partial = tmp_path / "runs" / ".sales-20260101-120000.partial"
    partial.mkdir(parents=True)
    (partial / "config.yaml").write_text("data: {}\n")
    given = partial if named == "partial" else tmp_path / "runs" / "sales-20260101-120000"
    for command in ("predict", "evaluate", "plot"):
        _refused(_invoke(tmp_path, [command, given]), "is not finished", "still going",
                 f"rnnforecast train --resume {tmp_path / 'runs' / 'sales-20260101-120000'}")


def test_the_folder_of_runs_instead_of_a_run_names_the_newest(run):
    older = run.parent / "older"
    shutil.copytree(run, older)
    os.utime(older / "metadata.json", (1, 1))  # the folder itself newer: evaluate wrote metrics.json into it
    _refused(_invoke(run.parent, ["predict", run.parent]), "is not a complete run folder", "holds 2 run(s)",
             f"the newest {run}: pass one of them")


# ------------------------------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("name", ["model.keras", "config.yaml", "metadata.json", "final.keras"])
def test_output_never_lands_on_the_runs_own_files(run, name):
    _refused(_invoke(run.parent, ["predict", run, "--output", run / name]), "would overwrite", name)


def test_output_never_replaces_the_data_the_forecast_was_made_from(run, tmp_path):
    import yaml

    trained_on = Path(yaml.safe_load((run / "config.yaml").read_text())["data"]["path"])
    _refused(_invoke(trained_on.parent, ["predict", run, "--output", trained_on]), "is the data file", "replace your data")
    newer = tmp_path / "temps.csv"
    (tmp_path / "link.csv").symlink_to(newer)
    _refused(_invoke(tmp_path, ["predict", run, "--data", newer, "--output", tmp_path / "link.csv"]), "is the data file")


def test_output_never_replaces_a_file_that_is_not_an_earlier_forecast(run, tmp_path, monkeypatch):
    (tmp_path / "notes.py").write_text("print('mine')\n")
    _refused(_invoke(tmp_path, ["predict", run, "--output", tmp_path / "notes.py"]), "notes.py already exists",
             "not an earlier forecast")
    assert (tmp_path / "notes.py").read_text() == "print('mine')\n"
    for _ in range(2):  # a name without a suffix: written, then replaced by the next forecast (its header is ours)
        result = _invoke(tmp_path, ["predict", run, "--output", tmp_path / "forecast"], allowed=("forecast",))
        assert result.exit_code == 0, result.output
    (tmp_path / "sales.csv").write_text("date,sales\n2020-01-01,3\n")  # the user's own table: kept
    with monkeypatch.context() as patched:  # and refused before any forecasting (a panel's can take minutes)
        patched.setattr("rnnforecast.forecasting.forecast_run", lambda *a: pytest.fail("forecast before the refusal"))
        _refused(_invoke(tmp_path, ["predict", run, "--output", tmp_path / "sales.csv"]), "sales.csv already exists",
                 "not an earlier forecast")
    (tmp_path / "old.csv").write_text("date,x,x_q0.1\n")  # another run's forecast: replaced, as a rerun expects
    assert _invoke(tmp_path, ["predict", run, "--output", tmp_path / "old.csv"], allowed=("old.csv",)).exit_code == 0
    assert "Temp_q0.9" in (tmp_path / "old.csv").read_text()


def test_plot_output_never_replaces_an_image_it_did_not_draw(run, tmp_path, monkeypatch):
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 a camera's file")
    with monkeypatch.context() as patched:
        patched.setattr("rnnforecast.forecasting.models_for_future", lambda *a: pytest.fail("work before the refusal"))
        _refused(_invoke(tmp_path, ["plot", run, "--output", tmp_path / "photo.jpg"]), "photo.jpg already exists",
                 "not an earlier plot")
    assert (tmp_path / "photo.jpg").read_bytes().endswith(b"a camera's file")
    for _ in range(2):  # its own plot (a stamp in the JPEG comment) is replaced by the next one
        result = _invoke(tmp_path, ["plot", run, "--output", tmp_path / "plot.jpg"], allowed=("plot.jpg",))
        assert result.exit_code == 0, result.output


def test_plot_output_never_lands_on_the_runs_own_files(run):
    _refused(_invoke(run.parent, ["plot", run, "--output", run / "metadata.json"]), "not an image format")


def test_output_that_is_a_folder(run, tmp_path):
    (tmp_path / "out").mkdir()
    _refused(_invoke(tmp_path, ["predict", run, "--output", tmp_path / "out"]), "is a folder")


@pytest.mark.parametrize("command, example", [("predict", "forecast.csv"), ("plot", "forecast.png")])
def test_output_ending_in_a_slash_is_a_folder_not_a_file(run, tmp_path, command, example):
    """`-o newdir/` once wrote a file named newdir: Path drops the slash the user typed."""
    _refused(_invoke(tmp_path, [command, run, "--output", f"{tmp_path / 'newdir'}/"]), "names a folder",
             str(tmp_path / "newdir" / example))
    assert not (tmp_path / "newdir").exists()
    # `-o "$OUT"` with OUT unset: it said ". is a folder"
    _refused(_invoke(tmp_path, [command, run, "--output", ""]), "--output is empty", f"(for example {example})")


def test_output_through_a_symlink_keeps_the_link(run, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("date,Temp,Temp_q0.5\n")  # an earlier forecast
    (tmp_path / "link.csv").symlink_to(real)
    result = _invoke(tmp_path, ["predict", run, "--output", tmp_path / "link.csv"], allowed=("real.csv",))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "link.csv").is_symlink() and len(pd.read_csv(real)) == 7


def test_output_dash_is_standard_output(run):
    result = _invoke(run.parent, ["predict", run, "--output", "-"])
    assert result.exit_code == 0 and result.stdout.startswith("Date,Temp,Temp_q0.1") and len(result.stdout.splitlines()) == 8


def test_output_to_a_device(run):
    result = _invoke(run.parent, ["predict", run, "--output", os.devnull])
    assert result.exit_code == 0 and Path(os.devnull).is_char_device()


def test_output_to_a_pipe_through_its_dev_fd_link(run, tmp_path):
    """`-o /dev/stdout | head`: the link resolves to "pipe:[...]", a name no file has; the pipe is written to."""
    read, write = os.pipe()
    try:
        result = _invoke(tmp_path, ["predict", run, "--output", f"/dev/fd/{write}"])
    finally:
        os.close(write)
    with os.fdopen(read) as pipe:
        got = pipe.read()
    assert result.exit_code == 0, result.output
    assert got.startswith("Date,Temp,Temp_q0.1") and len(got.splitlines()) == 8


@pytest.mark.parametrize(("command", "name", "magic"), [("plot", "p.png", b"\x89PNG"), ("predict", "f.parquet", b"PAR1")])
def test_formats_that_seek_while_writing_go_to_a_pipe(run, tmp_path, command, name, magic):
    """PNG (Pillow) and Parquet seek as they write, which a pipe cannot: they are written whole, then copied in."""
    import threading

    pipe = tmp_path / name
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()))
    reader.start()
    result = _invoke(tmp_path, [command, run, "--output", pipe])
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert got and got[0].startswith(magic) and len(got[0]) > 1000


def test_plot_to_dash_is_standard_output(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _invoke(tmp_path, ["plot", run, "--output", "-"])
    assert result.exit_code == 0 and result.stdout_bytes.startswith(b"\x89PNG") and not (tmp_path / "-").exists()
    assert "Written: standard output" in result.stderr


@pytest.mark.parametrize("name", ["f.png", "f.feather", "f.yaml"])
def test_a_forecast_named_as_another_format_is_refused(run, name):
    _refused(_invoke(run.parent, ["predict", run, "--output", run.parent / name]), "and the forecast is a table")


def test_a_folder_as_the_plots_output_suggests_an_image_name(run, tmp_path):
    (tmp_path / "charts").mkdir()
    _refused(_invoke(tmp_path, ["plot", run, "--output", tmp_path / "charts"]), "is a folder",
             str(tmp_path / "charts" / "forecast.png"))


def test_plot_never_replaces_a_backtests_own_chart(run):
    (run / "error_by_step.png").write_bytes(b"\x89PNG matplotlib")  # as a backtest's folder holds it
    _refused(_invoke(run.parent, ["plot", run, "--output", run / "error_by_step.png"]),
             "would overwrite error_by_step.png, a file of the run")


def test_output_under_a_file_as_if_it_were_a_folder(run, tmp_path):
    (tmp_path / "data.csv").write_text("x\n1\n")
    _refused(_invoke(tmp_path, ["predict", run, "--output", tmp_path / "data.csv" / "f.csv"]),
             "data.csv is a file, not a folder")


def test_output_in_a_new_folder(run, tmp_path):
    result = _invoke(tmp_path, ["predict", run, "--output", tmp_path / "new" / "f.csv"], allowed=("new/f.csv",))
    assert result.exit_code == 0 and len(pd.read_csv(tmp_path / "new" / "f.csv")) == 7


def test_plot_as_postscript_says_nothing_about_the_formats_transparency(run, tmp_path, caplog):
    result = _invoke(tmp_path, ["plot", run, "--output", tmp_path / "p.eps"], allowed=("p.eps",))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.eps").read_bytes().startswith(b"%!PS")
    assert "transparency" not in result.output + caplog.text


@pytest.mark.parametrize("name", ["plot.txt", "plot.csv", "plot.keras", "plot.gif"])
def test_plot_output_that_is_no_image(run, name):
    _refused(_invoke(run.parent, ["plot", run, "--output", run.parent / name]), "not an image format")


def test_output_name_too_long(run, tmp_path):
    _refused(_invoke(tmp_path, ["predict", run, "--output", tmp_path / ("f" * 300 + ".csv")]), "too long")


# ------------------------------------------------------------------------------------ newer data (--data)


def _newer(run: Path, name: str, frame: pd.DataFrame) -> Path:
    path = run.parent / name
    frame.to_csv(path, index=False)
    return path


def test_data_at_another_frequency_is_refused(run):
    frame = pd.read_csv(run.parent / "temps.csv")
    weekly = _newer(run, "weekly.csv", frame.iloc[::7])
    _refused(_invoke(run.parent, ["predict", run, "--data", weekly]), "time steps of W", "trained on steps of D")


def test_data_without_the_time_zone_the_run_was_trained_on(tmp_path):
    frame = pd.read_csv(TEMPS).tail(ROWS)
    frame["Date"] = pd.to_datetime(frame["Date"]).dt.tz_localize("UTC").astype(str)
    frame.to_csv(tmp_path / "utc.csv", index=False)
    raw = tiny_config(tmp_path / "utc.csv", run={"dir": str(tmp_path / "runs"), "name": "utc"})
    trained = runner.invoke(app, ["train", str(_config(tmp_path, raw))])
    assert trained.exit_code == 0, trained.output
    run = Path(trained.stdout.strip().splitlines()[-1])
    naive = frame.assign(Date=pd.to_datetime(frame["Date"]).dt.tz_localize(None).astype(str))
    naive.to_csv(tmp_path / "naive.csv", index=False)
    _refused(_invoke(tmp_path, ["predict", run, "--data", tmp_path / "naive.csv"]), "no time zone", "UTC")


@pytest.mark.parametrize(("change", "fact"), [
    (lambda f: f.rename(columns={"Temp": "temperature"}), "column 'Temp'"),
    (lambda f: f.tail(5), "fewer than the model's input_length of 14"),
    (lambda f: f.assign(Temp=f["Temp"].astype(str).where(f.index != f.index[3], "n/a?")), "line 5"),
    (lambda f: f.drop(columns=["Date"]), "has no time column that reads as dates, but the run was trained on dated rows"),
])
def test_newer_data_checked_against_the_run(run, change, fact):
    path = _newer(run, "newer.csv", change(pd.read_csv(run.parent / "temps.csv")))
    _refused(_invoke(run.parent, ["predict", run, "--data", path]), fact)


def test_newer_data_says_what_its_reading_noticed_as_train_does(run):
    frame = pd.read_csv(run.parent / "temps.csv")
    frame.loc[frame.index[-3:], "Temp"] = None  # the last three days not reported yet
    path = _newer(run, "newer.csv", frame)
    result = _invoke(run.parent, ["predict", run, "--data", path])
    assert result.exit_code == 0, result.output
    assert "note: the last 3 row(s) of newer.csv have no target value: they are left out" in result.stderr


def test_a_data_file_changed_since_training_is_read_as_newer_data_not_by_its_old_row_numbers(base, tmp_path):
    """Older history added at the front moves every row: the split's row numbers would score training rows."""
    result = runner.invoke(app, ["train", str(_config(tmp_path, base))])
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    scored = runner.invoke(app, ["evaluate", str(run), "--format", "json", "--no-classical"])
    assert scored.exit_code == 0, scored.output
    before = json.loads(scored.stdout)
    frame = pd.read_csv(tmp_path / "temps.csv")
    older = frame.head(60).assign(Date=lambda f: (pd.to_datetime(f["Date"]) - pd.Timedelta(days=60)).dt.strftime(
        "%Y-%m-%d"), Temp=100.0)
    pd.concat([older, frame]).to_csv(tmp_path / "temps.csv", index=False)
    scored = _invoke(tmp_path, ["evaluate", run, "--format", "json", "--no-classical"],
                     allowed=(f"runs/{run.name}/metrics-temps.json",))
    assert scored.exit_code == 0, scored.output
    assert f"temps.csv has changed since {run.name} was trained" in scored.stderr
    after = json.loads(scored.stdout)
    assert after["period"] == before["period"] and after["windows"] == before["windows"]
    assert after["original"]["model"]["overall"]["mae"] == pytest.approx(before["original"]["model"]["overall"]["mae"])
    _refused(_invoke(tmp_path, ["calibrate", run]), f"temps.csv has changed since {run.name} was trained", "Put the file back")


def test_scores_leave_filled_gaps_out_and_say_so(base, tmp_path):
    """Cells missing in the test period are filled so that windows can be read, but no score counts them."""
    frame = pd.read_csv(tmp_path / "temps.csv")
    frame.loc[frame.index[-20:-17], "Temp"] = None  # three days in the test period not reported
    frame.to_csv(tmp_path / "temps.csv", index=False)
    trained = runner.invoke(app, ["train", str(_config(tmp_path, base))])
    assert trained.exit_code == 0, trained.output
    run = trained.stdout.strip().splitlines()[-1]
    scored = runner.invoke(app, ["evaluate", run, "--no-classical"])
    assert scored.exit_code == 0, scored.output
    assert "3 of the " in scored.stderr and "target values of the test period were missing in temps.csv" in scored.stderr
    tested = runner.invoke(app, ["backtest", str(tmp_path / "c.yaml"), "--no-classical"])
    assert tested.exit_code == 0, tested.output
    assert "target values of the folds were missing in temps.csv: they are filled" in tested.stderr
    folder = Path(tested.stdout.strip().splitlines()[-1])
    forecasts = pd.read_csv(folder / "forecasts.csv")
    assert forecasts["actual"].isna().sum() == 3  # the three days, each in one non-overlapping fold
    kept = forecasts.dropna(subset=["actual"])
    report = json.loads((folder / "backtest.json").read_text())
    for name in ("model", "seasonal_naive"):
        mae = (kept[name] - kept["actual"]).abs().mean()
        assert report["original"][name]["overall"]["mae"] == pytest.approx(mae, rel=1e-5)
    folds = pd.read_csv(folder / "folds.csv")
    assert folds["model_mae"].notna().all()


@pytest.mark.parametrize("kind", ["folder", "missing"])
def test_newer_data_path_that_is_no_file(run, kind):
    path = run.parent / "newer"
    if kind == "folder":
        path.mkdir()
    _refused(_invoke(run.parent, ["predict", run, "--data", path]), "is a folder" if kind == "folder" else "does not exist")


def test_data_file_moved_since_training_is_named_with_the_way_out(base, tmp_path):
    result = runner.invoke(app, ["train", str(_config(tmp_path, base))])
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.strip().splitlines()[-1])
    (tmp_path / "temps.csv").rename(tmp_path / "moved.csv")
    for command in (["predict", run], ["evaluate", run], ["plot", run, "-o", tmp_path / "p.png"]):
        _refused(_invoke(tmp_path, command), "temps.csv, which is no longer there", "--data FILE")
    result = _invoke(tmp_path, ["predict", run, "--data", tmp_path / "moved.csv"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("panel")
    frame = pd.read_csv(TEMPS).tail(ROWS)
    pd.concat([frame.assign(id="a"), frame.assign(id="b", Temp=frame["Temp"] * 2)]).to_csv(root / "p.csv", index=False)
    raw = tiny_config(root / "p.csv", data={"id_column": "id"}, run={"dir": str(root / "runs"), "name": "p"},
                      training={"refit": True})
    result = runner.invoke(app, ["train", str(_config(root, raw))])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def test_panel_series_never_seen_is_forecast_with_a_note(panel_run, tmp_path):
    frame = pd.read_csv(panel_run.parent.parent / "p.csv")
    newer = pd.concat([frame, frame[frame["id"] == "a"].assign(id="c", Temp=lambda f: f["Temp"] + 100)])
    newer.to_csv(tmp_path / "newer.csv", index=False)
    out = tmp_path / "f.csv"
    result = _invoke(tmp_path, ["predict", panel_run, "--data", tmp_path / "newer.csv", "--output", out],
                     allowed=("f.csv",))
    assert result.exit_code == 0, result.output
    assert "never seen in training" in result.stderr and "c" in result.stderr
    forecast = pd.read_csv(out)
    assert sorted(forecast["id"].unique()) == ["a", "b", "c"]
    level = forecast.groupby("id")["Temp"].mean()
    assert level["c"] > level["a"] + 50  # forecast on its own level, not another series' scaling
    _refused(_invoke(tmp_path, ["plot", panel_run, "--data", tmp_path / "newer.csv", "--series", "c"]),
             "were not among the series", "`predict` forecasts them", "`plot --series` takes the trained ones")


def test_panel_series_without_a_single_value_is_left_out_with_a_note(panel_run, tmp_path):
    frame = pd.read_csv(panel_run.parent.parent / "p.csv")
    newer = pd.concat([frame, frame[frame["id"] == "a"].assign(id="c", Temp="?")])  # a store that never reported
    newer.to_csv(tmp_path / "newer.csv", index=False)
    out = tmp_path / "f.csv"
    result = _invoke(tmp_path, ["predict", panel_run, "--data", tmp_path / "newer.csv", "--output", out],
                     allowed=("f.csv",))
    assert result.exit_code == 0, result.output
    assert "1 series of newer.csv has no value of Temp at all and is left out: c" in result.stderr
    assert sorted(pd.read_csv(out)["id"].unique()) == ["a", "b"]
    _refused(_invoke(tmp_path, ["predict", panel_run, "--data", tmp_path / "newer.csv", "--series", "c"]),
             "series c of newer.csv has no value of Temp at all", "nothing to forecast")
    # training: the series is left out with a note, not the whole run stopped
    from rnnforecast import training

    cfg = config_module.validate(tiny_config(tmp_path / "newer.csv", data={"id_column": "id"}))
    prepared = training.prepare_data(cfg)
    assert "c" in prepared.prep["skipped"] and "c" not in prepared.prep["series"]
    assert any("1 of 3 series has no value of Temp at all and is left out: c" in note for note in prepared.notes)


@pytest.mark.parametrize("spec", ["local:2", "locl:2"])
def test_cluster_on_one_series_or_a_spec_that_is_no_cluster(run, spec):
    fact = "--cluster is for runs trained on many series" if spec == "local:2" else "is not a cluster"
    _refused(_invoke(run.parent, ["predict", run, "--cluster", spec]), fact)


def test_calibrate_options_a_panel_cannot_use_are_refused_not_ignored(panel_run, tmp_path):
    _refused(_invoke(panel_run.parent, ["calibrate", panel_run, "--method", "rolling", "--window", "12"]),
             "--method rolling, --window 12 are for one series", "split conformal", "--method split")


@pytest.mark.parametrize("args, facts", [
    (["--window", "1", "--gamma", "0"], ["--window 1 keeps too few errors for the quantiles 0.1 and 0.9", "at least 9",
                                         "give --window 9 or more"]),
    (["--quantiles", "0.05,0.5,0.95", "--window", "10"], ["at least 19"]),
])
def test_a_rolling_window_too_small_for_the_quantiles_is_refused(run, args, facts):
    """--window 1 calibrated silently: every quantile the one error, 0% coverage at width 0 (sweep 5)."""
    _refused(_invoke(run.parent, ["calibrate", run, *args]), *facts)
    with pytest.raises(errors.UserError, match="window 3 keeps too few errors"):
        config_module.validate({"data": {"path": "x.csv", "targets": ["y"]}, "calibration": {"window": 3}})
    assert config_module.validate({"data": {"path": "x.csv", "targets": ["y"]},
                            "calibration": {"window": 3, "quantiles": [0.25, 0.5, 0.75]}}).calibration.window == 3


def test_a_panel_series_in_other_units_is_named(panel_run, tmp_path):
    frame = pd.read_csv(panel_run.parent.parent / "p.csv")
    frame.loc[frame["id"] == "b", "Temp"] *= 1000  # b's file in thousandths: forecast in silence before
    frame.to_csv(tmp_path / "newer.csv", index=False)
    result = _invoke(tmp_path, ["predict", panel_run, "--data", tmp_path / "newer.csv"])
    assert result.exit_code == 0, result.output
    assert "1 series of newer.csv is far outside the values the model was trained on" in result.stderr
    assert "training range, their median beyond it by over half its width): b. If the file" in result.stderr


def test_panel_series_not_in_the_file(panel_run, tmp_path):
    _refused(_invoke(tmp_path, ["predict", panel_run, "--series", "zzz"]), "series 'zzz' not found", "'a', 'b'")
    # `--series ot` for 'OT' listed the file's first ids; the same letters in another case come first
    _refused(_invoke(tmp_path, ["predict", panel_run, "--series", "B"]), "series 'B' not found", "Did you mean 'b'?")


# --------------------------------------------------------------------------------- the machine's failures


@pytest.mark.parametrize(("exc", "fact"), [
    (OSError(errno.ENOSPC, "No space left on device", "/data/run/model.keras"), "no space left"),
    (OSError(errno.EACCES, "Permission denied", "/data/run"), "permission denied"),
    (OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300), "too long"),
    (MemoryError(), "ran out of memory"),
    # `--output /proc/version`: "No such file or directory: /proc/version", a file that is there
    (OSError(errno.ENOENT, "No such file or directory", __file__), "its folder takes no new files"),
    (OSError(errno.ENOENT, "No such file or directory", "/nowhere/f.csv"), "No such file or directory: /nowhere"),
])
def test_failures_of_the_machine_are_user_errors(run, monkeypatch, exc, fact):
    from rnnforecast import forecasting

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(forecasting, "forecast_run", fail)
    _refused(_invoke(run.parent, ["predict", run]), fact)


def test_a_failed_write_names_the_users_file_not_the_temporary_one(tmp_path):
    from rnnforecast import runs

    target = tmp_path / "forecast.csv"

    def fill_the_disk(path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    def fill_the_disk_unnamed(path):  # a write() that fails says no file name
        raise OSError(errno.ENOSPC, "No space left on device")

    for write in (fill_the_disk, fill_the_disk_unnamed):
        with pytest.raises(OSError) as failed:
            runs.atomic_write(target, write)
        message = str(errors.from_environment(failed.value))
        assert str(target) in message and "partial" not in message
        assert not list(tmp_path.iterdir())


def test_evaluate_shows_its_scores_when_the_run_folder_cannot_be_written(run, monkeypatch):
    from rnnforecast import runs

    def read_only(target, payload):
        raise OSError(errno.EROFS, "Read-only file system", str(target))

    monkeypatch.setattr(runs, "write_json", read_only)
    result = _invoke(run.parent, ["evaluate", run, "--no-classical"])
    assert result.exit_code == 0 and "seasonal naive" in result.stdout
    assert "warning: the scores above are not saved: permission denied on" in result.stderr
    assert "metrics.json" in result.stderr and "Written:" not in result.stderr


def test_a_symlink_loop_a_file_size_limit_and_a_deep_json_are_the_users_to_fix(tmp_path):
    # each was an Internal error (exit 1): a link looping in place of a run file, `ulimit -f` during train, a
    # metadata.json of 100,000 '['
    from rnnforecast import runs

    loop = tmp_path / "calibration-scores.npz"
    loop.symlink_to(loop)
    with pytest.raises(OSError) as failed:
        loop.read_bytes()
    assert "leads back to itself" in str(errors.from_environment(failed.value))
    assert str(loop) in str(errors.from_environment(RuntimeError(f"Symlink loop from {str(loop)!r}")))
    big = errors.from_environment(OSError(errno.EFBIG, "File too large", str(tmp_path / "checkpoint-3.keras")))
    assert "limit on file size" in str(big) and "checkpoint-3.keras" in str(big)
    deep = tmp_path / "metadata.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(errors.UserError, match="nested too deep to be a run file"):
        runs.json_file(deep)


def test_a_runs_own_file_replaced_by_a_folder_is_named_as_damage_not_as_an_output(tmp_path):
    # "metrics.json is a folder; give a file name to write (for example metrics.json/forecast.csv)": no such name given
    from rnnforecast import runs

    (tmp_path / "metadata.json").write_text("{}")
    (tmp_path / "metrics.json").mkdir()
    with pytest.raises(errors.UserError, match=r"metrics.json is a folder where the run keeps a file of that name: "
                                               r"the run folder is damaged"):
        runs.write_json(tmp_path / "metrics.json", {"mae": 1.0})
    with pytest.raises(errors.UserError, match=r"give a file name to write"):  # a folder the user named stays so
        runs.atomic_write(tmp_path / "metrics.json" / "..", lambda path: path.write_text(""))


def test_a_real_bug_is_still_an_internal_error(run, monkeypatch):
    from rnnforecast import forecasting

    monkeypatch.setattr(forecasting, "forecast_run", lambda *a, **k: {}["missing"])
    result = runner.invoke(app, ["predict", str(run)])
    assert result.exit_code == 1 and "Internal error: KeyError" in result.stderr
    assert "(rnnforecast --debug predict ...)" in result.stderr  # `predict RUN --debug` is refused as an option
    assert errors.from_environment(KeyError("x")) is None


# --------------------------------------------------------------------------------------------- properties


def test_random_bytes_as_a_config_never_crash(tmp_path):
    rng = random.Random(7)
    for case in range(25):
        path = tmp_path / f"r{case}.yaml"
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
        result = _invoke(tmp_path, ["train", path])
        assert result.exit_code == 2, (case, result.output)


MUTANTS = [None, True, -1, 0, 10**12, 0.5, "", "nope", [], [1, "a"], {"x": 1}, "../x", "\x00", 1e308]


def test_random_mutations_of_a_valid_config_never_crash(tmp_path, base):
    rng = random.Random(11)
    keys = [("data", "targets"), ("data", "missing"), ("data", "split"), ("window", "input_length"),
            ("window", "horizon"), ("window", "stride"), ("model", "type"), ("model", "layers"),
            ("model", "normalization"), ("model", "highway"), ("training", "epochs"), ("training", "batch_size"),
            ("training", "loss"), ("training", "optimizer"), ("run", "name"), ("data", "frequency"),
            ("data", "scaling"), ("model", "dropout"), ("training", "early_stopping")]
    codes = []
    for case in range(30):
        raw = json.loads(json.dumps(base))
        for _ in range(rng.randrange(1, 3)):
            section, key = rng.choice(keys)
            raw[section][key] = rng.choice(MUTANTS)
        result = _invoke(tmp_path, ["train", _config(tmp_path, raw, f"m{case}.yaml")], allowed=("runs",))
        assert result.exit_code in (0, 2), (case, raw, result.output)
        codes.append(result.exit_code)
    assert codes.count(2) >= 20  # most mutations are mistakes, and each was refused in words


def test_the_futures_spread_reads_the_values_the_file_gave_in_its_last_window(run, tmp_path):
    """A gap in the last window, filled by a straight line, shrank the spread the future's intervals scale by."""
    import numpy as np

    from rnnforecast import forecasting, runs

    loaded = runs.load(run)
    L = loaded.config.window.input_length
    frame = pd.read_csv(tmp_path / "temps.csv")
    frame.drop(frame.index[-L + 2 : -2]).to_csv(tmp_path / "gap.csv", index=False)  # the window's middle missing
    prepared = forecasting.prepare(loaded, tmp_path / "gap.csv")
    given = prepared.truth[-L:, 0]
    assert np.isnan(given).sum() == L - 4
    from rnnforecast.forecasting.future import future_spread
    from rnnforecast.forecasting.inference import spread

    found = future_spread(prepared)
    assert found.shape == (1, 1) and found[0, 0] == pytest.approx(np.nanstd(given))
    filled = spread(prepared, np.array([len(prepared.values) - L]))[0]
    assert found[0, 0] > filled[0, 0]  # the straight line between the ends is flatter than the values given


def test_a_run_folder_given_with_a_quoted_tilde_is_found(run, monkeypatch):
    """`predict "~/runs/r"`: the shell leaves a quoted ~ alone, data.path expanded it, the run folder did not."""
    monkeypatch.setenv("HOME", str(Path(run).parent))
    result = runner.invoke(app, ["predict", f"~/{Path(run).name}"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Date,Temp")


def test_a_full_device_given_as_the_output_is_named_in_the_message(tmp_path):
    # `-o /dev/full` (or a link to it) said "no space left on the device while writing." and named no file
    from rnnforecast import runs

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    link = tmp_path / "full.csv"
    link.symlink_to("/dev/full")
    for target in (Path("/dev/full"), link):
        with pytest.raises(OSError) as failed:
            runs.atomic_write(target, lambda path: path.write_text("a,b\n1,2\n"))
        message = str(errors.from_environment(failed.value))
        assert "no space left on the device while writing" in message and str(target) in message  # the name given


def test_newer_data_in_another_offset_is_read_in_the_runs_zone_with_its_calendar(tmp_path):
    """Trained on Berlin times across a DST change (held in UTC), winter-only newer data (+01:00) was read in +01:00:
    its hour-of-day features were an hour off the training's, and the forecast changed with what the file held."""
    from rnnforecast import forecasting, runs

    times = pd.date_range("2021-10-25", periods=400, freq="h", tz="Europe/Berlin")
    frame = pd.DataFrame({"time": [t.isoformat() for t in times], "y": np.sin(np.arange(400) * 2 * np.pi / 24) + 5})
    frame.to_csv(tmp_path / "berlin.csv", index=False)
    raw = tiny_config(tmp_path / "berlin.csv", data={"targets": ["y"], "calendar": ["hour_of_day"]},
                      window={"input_length": 24, "horizon": 6}, run={"dir": str(tmp_path / "runs"), "name": "b"})
    trained = runner.invoke(app, ["train", str(_config(tmp_path, raw))])
    assert trained.exit_code == 0, trained.output
    run = runs.load(Path(trained.stdout.strip().splitlines()[-1]))
    winter = frame.tail(200)
    assert all(t.endswith("+01:00") for t in winter["time"])
    winter.to_csv(tmp_path / "winter.csv", index=False)
    series = forecasting.prepare(run, tmp_path / "winter.csv").series
    assert str(series.frame.index.tz) == "UTC"
    hours = series.frame.index.hour.to_numpy()
    np.testing.assert_allclose(series.frame["hour_of_day_sin"], np.sin(2 * np.pi * hours / 24), atol=1e-9)
    # a run trained on local times without a zone cannot place a zoned file's hours: refused, not shifted
    naive = frame.assign(time=times.tz_localize(None).astype(str))
    naive.to_csv(tmp_path / "naive.csv", index=False)
    raw = {**raw, "data": {**raw["data"], "path": str(tmp_path / "naive.csv")}, "run": {**raw["run"], "name": "n"}}
    trained = runner.invoke(app, ["train", str(_config(tmp_path, raw))])
    assert trained.exit_code == 0, trained.output
    _refused(_invoke(tmp_path, ["predict", Path(trained.stdout.strip().splitlines()[-1]), "--data",
                                tmp_path / "winter.csv"]), "carry a time zone", "calendar features (hour_of_day)")
