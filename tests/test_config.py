import json
import re
import typing

import pytest
import yaml

from rnnforecast import config
from rnnforecast.errors import UserError
from rnnforecast.models import RECURRENT_LAYERS

ISSUE_EXAMPLE = """
data:
  path: data/daily-min-temperatures.csv
  time_column: Date
  targets: [Temp]
window:
  input_length: 60
  horizon: 7
model:
  type: lstm
  layers:
    - {units: 32}
    - {units: 32, dropout: 0.1}
training:
  epochs: 5
  batch_size: 64
  seed: 1
"""


def _raw(**overrides):
    raw = {"data": {"path": "x.csv", "targets": ["y"]}}
    raw.update(overrides)
    return raw


def _error(raw) -> str:
    with pytest.raises(UserError) as info:
        config.validate(raw)
    return str(info.value)


def test_issue_example_is_accepted_with_defaults_filled(tmp_path, data_dir):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "daily-min-temperatures.csv").write_bytes((data_dir / "daily-min-temperatures.csv").read_bytes())
    path = tmp_path / "quick.yaml"
    path.write_text(ISSUE_EXAMPLE)
    cfg = config.load_config(path)
    assert cfg.model.layers[1].dropout == 0.1
    assert cfg.training.optimizer.name == "adam"
    assert cfg.data.split.train == 0.7


def test_every_schema_type_has_a_layer():
    assert set(typing.get_args(config.CellType)) == set(RECURRENT_LAYERS)


def test_unknown_type_names_the_allowed_values():
    message = _error(_raw(model={"type": "lstmm"}))
    assert "model.type: 'lstmm' is not one of simple_rnn, lstm, gru" in message


def test_typo_key_suggests_the_closest_valid_key():
    message = _error(_raw(training={"epoch": 3}))
    assert "training.epoch" in message and "did you mean 'epochs'" in message
    # `--set training.lr_decay={after:3}`: YAML reads a key named 'after:3' without the space
    message = _error(_raw(training={"lr_decay": {"after:3": None}}))
    assert "YAML needs a space after the colon: write `after: 3`" in message


@pytest.mark.parametrize(("raw", "fact"), [
    ({"model": {"epochs": 3}}, "model.epochs: unknown key; it belongs in another section: training.epochs."),
    ({"data": {"horizon": 12}}, "it belongs in another section: window.horizon."),
    ({"training": {"learning_rate": 0.01}}, "another section: training.optimizer.learning_rate."),
    ({"model": {"units": 32}}, "another section: model.layers[i].units."),
    ({"window": {"lookback": 24}}, "window.lookback: unknown key; this tool calls it window.input_length."),
    ({"training": {"output_dir": "out"}}, "this tool calls it run.dir."),
    ({"model": {"layers": [{"units": 8, "cell": "lstm"}]}}, "model.layers[0].cell: unknown key; this tool calls it model.type."),
])
def test_a_key_in_the_wrong_section_or_by_another_tools_name_says_where_it_goes(raw, fact):
    base = _raw()
    for section, keys in raw.items():
        base.setdefault(section, {}).update(keys)
    assert fact in _error(base)


def test_nested_list_path_is_named():
    message = _error(_raw(model={"layers": [{"units": 8}, {"units": -3}]}))
    assert "model.layers[1].units" in message and "greater than 0" in message


def test_out_of_range_dropout_is_refused():
    assert "model.layers[0].dropout" in _error(_raw(model={"layers": [{"dropout": 1.5}]}))


def test_a_calendar_feature_listed_twice_is_refused():
    """It reached the model as five inputs where the data held three: an internal error after "Training"."""
    message = _error({"data": {"path": "x.csv", "targets": ["y"], "calendar": ["day_of_week", "day_of_week"]}})
    assert "calendar lists day_of_week twice" in message


def test_yaml_scientific_string_is_a_number():
    cfg = config.validate(_raw(training={"optimizer": {"learning_rate": "1e-3"}}))
    assert cfg.training.optimizer.learning_rate == pytest.approx(0.001)


def test_yaml_scientific_string_is_a_whole_number_where_one_is_expected():
    """YAML reads 1e3 as text; an integer key takes it when it is whole, and says so plainly when it is not."""
    cfg = config.validate(_raw(training={"epochs": "1e1", "batch_size": "3.2e1"}, window={"horizon": " 7E0 "}))
    assert (cfg.training.epochs, cfg.training.batch_size, cfg.window.horizon) == (10, 32, 7)
    assert isinstance(cfg.training.epochs, int)
    with pytest.raises(UserError, match="fractional part"):
        config.validate(_raw(training={"epochs": "2.5e0"}))
    with pytest.raises(UserError, match="training.epochs"):
        config.validate(_raw(training={"epochs": "ten"}))


def test_boolean_where_a_number_is_expected_explains_yaml():
    message = _error(_raw(training={"epochs": False}))
    assert "training.epochs" in message and "quotes" in message


def test_a_single_value_where_a_section_belongs_lists_the_sections_keys():
    message = _error(_raw(data={"path": "x", "targets": ["y"], "split": 0.5}))
    assert "data.split: is a section of keys (train, val, test_length" in message and "got 0.5" in message
    assert "valid dictionary" not in message
    message = _error(_raw(model={"layers": [3]}))
    assert "model.layers[0]: is a section of keys (units" in message and "each item as keys, e.g. {units: ...}" in message


def test_an_optimizer_given_by_name_alone_is_that_optimizer_at_its_defaults():
    cfg = config.validate(_raw(training={"optimizer": "sgd"}))
    assert cfg.training.optimizer.name == "sgd" and cfg.training.optimizer.learning_rate == pytest.approx(1e-3)
    assert "'nadam' is not one of adam" in _error(_raw(training={"optimizer": "nadam"}))


def test_fractions_that_leave_no_test_rows_are_refused():
    assert "leaves no test rows" in _error(_raw(data={"path": "x", "targets": ["y"], "split": {"train": 0.8, "val": 0.2}}))


def test_override_sets_nested_and_indexed_keys():
    raw = _raw(model={"layers": [{"units": 8}]})
    config.apply_override(raw, "model.layers[0].units=64")
    config.apply_override(raw, "training.optimizer.learning_rate=1e-2")
    cfg = config.validate(raw)
    assert cfg.model.layers[0].units == 64
    assert cfg.training.optimizer.learning_rate == pytest.approx(0.01)


def test_a_section_set_whole_is_merged_into_the_configs(tmp_path):
    """`--set 'training={batch_size: 64}'` trained 20 epochs: the file's `epochs: 1` was dropped with the section."""
    raw = _raw(training={"epochs": 1, "optimizer": {"name": "adam", "learning_rate": 0.1}})
    config.apply_override(raw, "training={batch_size: 64, optimizer: {clipnorm: 1.0}}")
    assert raw["training"] == {"epochs": 1, "batch_size": 64,
                               "optimizer": {"name": "adam", "learning_rate": 0.1, "clipnorm": 1.0}}
    config.apply_override(raw, "training.optimizer=sgd")  # a section's shorthand still replaces it (at its defaults)
    assert raw["training"]["optimizer"] == "sgd"


def test_set_inside_a_section_the_file_wrote_as_a_list_blames_the_file():
    """`training:` written as a list (`- epochs: 2`) made `--set training.epochs=1` the culprit."""
    with pytest.raises(UserError, match=r"'training' in the config is a list .*Write `training:` in the config"):
        config.apply_override(_raw(training=[{"epochs": 2}]), "training.epochs=1")


def test_override_indexes_into_a_default_list_the_config_leaves_out():
    raw = _raw()  # no model section: model.layers is the schema's default
    config.apply_override(raw, "model.layers[0].units=8")
    cfg = config.validate(raw)
    assert [layer.units for layer in cfg.model.layers] == [8]  # the default single layer, narrowed
    with pytest.raises(UserError, match=r"index 1 is out of range; that list has 1 item\(s\)\. To add items"):
        config.apply_override(_raw(), "model.layers[1].units=8")
    with pytest.raises(UserError, match=r"e\.g\. --set 'data\.targets=\[y, \.\.\.\]'\.$"):  # its own list, not layers'
        config.apply_override(_raw(), "data.targets[3]=x")


def test_an_override_inside_a_shorthand_keeps_what_the_shorthand_says():
    """`optimizer: sgd` then --set training.optimizer.learning_rate=0.1 is SGD at 0.1 (it was Adam, unsaid)."""
    raw = _raw(training={"optimizer": "sgd"})
    config.apply_override(raw, "training.optimizer.learning_rate=0.1")
    cfg = config.validate(raw)
    assert (cfg.training.optimizer.name, cfg.training.optimizer.learning_rate) == ("sgd", 0.1)
    raw = _raw(data={"path": "x.csv", "targets": "Temp"})  # one target name: a list of one
    config.apply_override(raw, "data.targets[0]=Min")
    assert config.validate(raw).data.targets == ["Min"]


@pytest.mark.parametrize(("bad", "hint"), [("model.layers.0.units=5", "model.layers[0].units, not model.layers.0.units"),
                                           ("model.layers[-1].units=4", "negative indexes are not read")])
def test_a_list_index_written_another_way_is_refused_with_the_way_to_write_it(bad, hint):
    with pytest.raises(UserError, match=re.escape(hint)):
        config.apply_override(_raw(), bad)


@pytest.mark.parametrize("bad", ["epochs", "=3", "model.layers[3].units=1"])
def test_malformed_or_out_of_range_override_is_refused(bad):
    with pytest.raises(UserError):
        config.apply_override(_raw(model={"layers": [{"units": 8}]}), bad)


@pytest.mark.parametrize(("item", "fact"), [
    ("window.input_length=010", "YAML reads 010 as the octal number 8. Write it without the leading zero (10)"),
    ("window.input_length=-007", "YAML reads -007 as the octal number -7. Write it without the leading zero (-7)"),
    ("run.name=12:00", "YAML reads 12:00 as the base-60 number 720. For a time or a name write it in quotes"),
])
def test_a_number_yaml_reads_as_another_is_refused(item, fact, tmp_path):
    """`--set window.input_length=010` trained with 8 steps, in silence."""
    with pytest.raises(UserError, match=re.escape(fact)):
        config.apply_override(_raw(), item)
    key, _, text = item.partition("=")
    section, name = key.split(".")
    (tmp_path / "c.yaml").write_text(f"data: {{path: x.csv, targets: [y]}}\n{section}:\n  {name}: {text}\n")
    with pytest.raises(UserError, match=r"c.yaml, line 3: " + re.escape(fact)):
        config.read_yaml(tmp_path / "c.yaml")
    (tmp_path / "c.yaml").write_text(f"data: {{path: x.csv, targets: [y]}}\n{section}:\n  {name}: '{text}'\n")
    assert config.read_yaml(tmp_path / "c.yaml")[section][name] == text  # quoted: the text as written


@pytest.mark.parametrize("key, value, fact", [
    ("training.seed", 2**32, "less than 4294967296"),  # an internal error from NumPy after the data was read
    ("training.optimizer.clipnorm", float("inf"), "finite number"),  # trained into a NaN loss blamed on the rate
    ("training.optimizer.learning_rate", float("inf"), "finite number"),
])
def test_a_seed_past_32_bits_or_an_infinite_setting_is_refused(key, value, fact):
    raw = _raw()
    config.set_path(raw, key, value)
    assert fact in _error(raw)


def test_run_dir_under_home_and_a_name_yaml_reads_as_a_number_or_a_date(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    raw = _raw(run={"dir": "~/runs", "name": 2024})  # a folder named ~ in the working directory; "not a string"
    cfg = config.validate(raw)
    assert cfg.run.dir == str(tmp_path / "runs") and cfg.run.name == "2024"
    import datetime

    assert config.validate(_raw(run={"name": datetime.date(2024, 1, 1)})).run.name == "2024-01-01"


@pytest.mark.parametrize("value", [-3, 2.5, "weekly"])
def test_a_value_no_branch_of_a_true_false_or_number_key_takes_is_one_plain_line(value):
    message = _error(_raw(model={"cycle": value}))
    assert f"model.cycle: {value!r} is not one of true, false, a positive whole number, auto" in message
    assert "1 problem" in message and "function-" not in message and "0x" not in message


def test_a_quantile_model_needs_its_median_and_calibrates_its_own_quantiles():
    """Without 0.5 the point forecast was the lowest quantile; calibration.quantiles apart were dropped unsaid."""
    assert "need 0.5 among them" in _error(_raw(model={"output": {"quantiles": [0.2, 0.8]}}))
    assert "differ from model.output.quantiles" in _error(
        _raw(model={"output": {"quantiles": [0.2, 0.5, 0.8]}}, calibration={"quantiles": [0.05, 0.5, 0.95]}))
    cfg = config.validate(_raw(model={"output": {"quantiles": [0.2, 0.5, 0.8]}}))
    assert cfg.calibration.quantiles == [0.2, 0.5, 0.8]
    again = config.validate(yaml.safe_load(config.dump(cfg)))  # the run's config.yaml reads back
    assert again.calibration.quantiles == again.model.output.quantiles == [0.2, 0.5, 0.8]


def test_a_value_from_set_is_not_blamed_on_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_raw()))
    with pytest.raises(UserError, match=r"c.yaml with --set training.epochs=abc has 1 problem:\n  training.epochs"):
        config.load_config(path, ["training.epochs=abc"])


def test_relative_path_falls_back_to_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "series.csv").write_text("t,y\n")
    monkeypatch.chdir(tmp_path)
    assert config.resolve_path("series.csv", folder, "data.path") == (folder / "series.csv").resolve()


def test_missing_file_error_names_both_places_tried(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as info:
        config.resolve_path("nope.csv", tmp_path / "configs", "data.path")
    message = str(info.value)
    assert str(tmp_path / "nope.csv") in message and str(tmp_path / "configs" / "nope.csv") in message


@pytest.mark.parametrize("name", ["sales.csv", "sales.csv.gz", "Sales.Parquet"])
def test_a_data_file_given_as_the_config_gets_a_config_to_save(tmp_path, name):
    (tmp_path / name).write_text("date,sales\n2024-01-01,3\n")
    with pytest.raises(UserError, match="is a data file") as refused:
        config.load_config(tmp_path / name)
    saved = tmp_path / (name.split(".")[0] + ".yaml")
    assert f"as {saved}" in str(refused.value) and "  path: " + name in str(refused.value)


def test_a_config_written_as_json_is_read_as_one(tmp_path):
    """JSON is YAML: `train cfg.json` was told it had given a data file."""
    (tmp_path / "cfg.json").write_text(json.dumps(_raw()))
    (tmp_path / "x.csv").write_text("date,y\n2024-01-01,3\n")
    assert config.read_yaml(tmp_path / "cfg.json")["data"]["targets"] == ["y"]
    config.load_config(tmp_path / "cfg.json")  # not refused as a data file
    (tmp_path / "records.json").write_text('[{"date": "2024-01-01", "y": 3}]')  # a table of records is data
    with pytest.raises(UserError, match="is a data file"):
        config.load_config(tmp_path / "records.json")


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  path: x.csv\n  targets: [y\nwindow: {}\n")
    with pytest.raises(UserError, match="line"):
        config.load_config(path)


def test_a_key_written_twice_is_refused_with_both_lines(tmp_path):
    """YAML keeps the last of two `model:` sections silently; the first one's settings would be lost."""
    path = tmp_path / "twice.yaml"
    path.write_text("data: {path: x.csv, targets: [y]}\nmodel: {type: gru}\nwindow: {horizon: 2}\nmodel: {layers: []}\n")
    with pytest.raises(UserError, match=r"'model' is written twice in one section \(lines 2 and 4\)"):
        config.load_config(path)
    merged = tmp_path / "merged.yaml"  # a merge key's values may be overridden: that is what it is for
    merged.write_text("data: {path: x.csv, targets: [y]}\nwindow: {horizon: 2}\nmodel:\n  layers:\n"
                      "    - &b {units: 4, type: gru}\n    - <<: *b\n      units: 8\n")
    assert config.read_yaml(merged)["model"]["layers"][1] == {"units": 8, "type": "gru"}


def test_a_web_address_as_the_data_path_is_named_as_one(tmp_path):
    path = tmp_path / "url.yaml"
    path.write_text("data: {path: 'https://example.com/y.csv', targets: [y]}\nwindow: {horizon: 2}\n")
    with pytest.raises(UserError, match="web or cloud address.*Download it first"):
        config.load_config(path)
    from pathlib import Path as P

    from rnnforecast import data

    with pytest.raises(UserError, match="data file https://x.org/y.csv is a web"):  # --data: a Path keeps one slash
        data.read_table(P("https://x.org/y.csv"))


def test_dump_round_trips(tmp_path):
    cfg = config.validate(_raw(model={"type": "gru"}))
    path = tmp_path / "resolved.yaml"
    path.write_text(config.dump(cfg))
    assert config.validate(config.read_yaml(path)) == cfg


def test_lr_decay_and_an_explicit_reduce_lr_are_refused():
    raw = {"data": {"path": "x.csv", "targets": ["a"]}, "training": {"lr_decay": {}, "reduce_lr": {"patience": 2}}}
    with pytest.raises(UserError, match="reduce_lr: null"):
        config.validate(raw)


def _within(doc, value) -> bool:
    """Whether the README's default `doc` says what the schema's `value` is (a mapping may name fewer keys)."""
    if isinstance(doc, dict):
        return isinstance(value, dict) and all(k in value and _within(v, value[k]) for k, v in doc.items())
    if isinstance(doc, list):
        return isinstance(value, list) and len(doc) == len(value) and all(map(_within, doc, value))
    if isinstance(doc, (int, float)) and not isinstance(doc, bool):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and float(doc) == float(value)
    if isinstance(doc, str) and isinstance(value, float):  # YAML 1.1 reads 1e-6 (no dot) as text
        return float(doc) == value
    return doc == value or (doc == "none" and value is None)


def test_the_readme_states_every_default_the_schema_has():
    """The config reference's "default" column, wherever it gives a literal, is the schema's default."""
    import re
    from pathlib import Path

    import yaml

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    defaults = config.validate(_raw()).model_dump(mode="json")
    # The model section as declared: `normalization_scale: auto` is resolved against the data (no panel here) on validation.
    defaults["model"] = config.Config.model_fields["model"].default.model_dump(mode="json")
    checked, wrong = 0, []
    for key, doc in re.findall(r"^\| `([a-z_]+(?:\.[a-z_]+)+)`(?:, `[^`]+`)* \| `([^`]*)` \|", readme, flags=re.M):
        value = defaults
        for part in key.split("."):
            value = value.get(part, KeyError) if isinstance(value, dict) else KeyError
        if value is KeyError:
            continue  # a key of a section that is off by default (tune, calibration's options)
        checked += 1
        if not _within(yaml.safe_load(doc), value):
            wrong.append(f"{key}: README {doc!r}, schema {value!r}")
    assert checked > 30 and not wrong, wrong


def test_a_value_no_branch_of_a_key_takes_is_one_line_with_every_choice():
    with pytest.raises(UserError) as caught:
        config.validate({"data": {"path": "x.csv", "targets": ["y"]}, "model": {"highway": "sometimes",
                                                                              "normalization_scale": "maybe"}})
    text = str(caught.value)
    assert "has 2 problems" in text
    assert "model.highway: 'sometimes' is not one of true, false, seasonal, fitted" in text
    assert "model.normalization_scale: 'maybe' is not one of true, false, auto" in text


@pytest.mark.parametrize(("id_column", "scaled"), [(None, False), ("store", True)])
def test_normalization_scale_auto_scales_a_panels_windows_only(id_column, scaled):
    data = {"path": "x.csv", "targets": ["y"], **({"id_column": id_column} if id_column else {})}
    resolved = config.validate({"data": data, "model": {"normalization_scale": "auto"}})
    assert resolved.model.normalization_scale is scaled  # resolved once: the saved config says which
    assert config.validate({"data": data, "model": {"normalization": "none", "normalization_scale": "auto"}}
                           ).model.normalization_scale is False


def test_a_lone_column_name_is_a_list_of_one():
    """`targets: sales` is what people write first; a boolean is still refused (YAML's `no`)."""
    cfg = config.validate({"data": {"path": "x.csv", "targets": "sales", "features": 0, "categorical": "wind dir"}})
    assert cfg.data.targets == ["sales"] and cfg.data.features == ["0"] and cfg.data.categorical == ["wind dir"]
    assert "boolean" in _error({"data": {"path": "x.csv", "targets": True}})
    assert config.validate({"data": {"path": "x.csv", "targets": "y", "calendar": "month"}}).data.calendar == ["month"]


def test_a_run_folder_given_as_a_config_points_to_the_config_it_was_trained_from(tmp_path):
    original = tmp_path / "sales.yaml"
    original.write_text(yaml.safe_dump(_raw()))
    run = tmp_path / "runs" / "sales-20261207-120000"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(_raw()))
    (run / "metadata.json").write_text(json.dumps({"config_file": str(original)}))
    with pytest.raises(UserError, match="is a run folder") as refused:
        config.load_config(run)
    assert f"Give the config it was trained from, {original}" in str(refused.value)
    assert "--set run.name=sales " in str(refused.value)
    original.unlink()  # moved since: the saved copy is what there is
    with pytest.raises(UserError, match=f"give its saved config, {re.escape(str(run / 'config.yaml'))}"):
        config.load_config(run)
