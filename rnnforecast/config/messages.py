"""Schema errors as a user reads them: the key path, what was found, the valid keys or values."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel

from rnnforecast.config.schema import Config


def _path_text(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out or "(top level)"


def _section_at(loc: tuple) -> type[BaseModel] | None:
    """The schema class that holds the key at `loc`, to list its valid keys."""
    node: Any = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = node.model_fields.get(part) if isinstance(node, type) and issubclass(node, BaseModel) else None
        if field is None:
            return None
        node = _inner_model(field.annotation)
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


# Names users bring from Keras, Darts, NeuralForecast, GluonTS and PyTorch Forecasting, and what this schema calls
# them (a key of ours written in the wrong section is found in the schema itself).
SYNONYMS = {
    **dict.fromkeys(("lookback", "look_back", "input_size", "input_chunk_length", "context_length", "window_size",
                     "seq_len", "sequence_length", "lags", "n_lags"), "window.input_length"),
    **dict.fromkeys(("output_chunk_length", "prediction_length", "pred_len", "forecast_horizon", "h", "n_ahead",
                     "output_length"), "window.horizon"),
    **dict.fromkeys(("lr",), "training.optimizer.learning_rate"),
    **dict.fromkeys(("max_epochs", "n_epochs", "num_epochs"), "training.epochs"),
    **dict.fromkeys(("hidden_size", "hidden_units", "hidden_dim", "num_units", "encoder_hidden_size", "num_cells"),
                    "model.layers.units"),
    **dict.fromkeys(("num_layers", "n_layers", "n_rnn_layers", "encoder_n_layers"), "model.layers"),
    **dict.fromkeys(("cell", "cell_type", "rnn_type", "layer_type", "model_type", "model"), "model.type"),
    **dict.fromkeys(("output_dir", "out_dir", "save_dir", "log_dir", "runs_dir", "work_dir"), "run.dir"),
    **dict.fromkeys(("target", "target_column", "target_col", "y"), "data.targets"),
    **dict.fromkeys(("time", "timestamp", "date", "date_column", "time_col", "ds", "index_col"), "data.time_column"),
    **dict.fromkeys(("unique_id", "id", "series_id", "group_column", "group_ids", "item_id"), "data.id_column"),
    **dict.fromkeys(("covariates", "exogenous", "past_covariates", "hist_exog_list"), "data.features"),
    **dict.fromkeys(("future_covariates", "futr_exog_list"), "data.future_features"),
    **dict.fromkeys(("static_covariates", "stat_exog_list"), "data.static_features"),
    **dict.fromkeys(("freq",), "data.frequency"),
    **dict.fromkeys(("season", "seasonality", "period", "m"), "data.season_length"),
    **dict.fromkeys(("early_stop_patience_steps",), "training.early_stopping.patience"),
    **dict.fromkeys(("random_state", "random_seed"), "training.seed"),
}


def _schema_paths(model: Any = Config, prefix: tuple = ()) -> list[tuple]:
    """Every key path of the schema, sections included (model.layers' items' keys under model.layers)."""
    paths = []
    for name, field in model.model_fields.items():
        paths.append((*prefix, name))
        inner = _inner_model(field.annotation)
        if inner is not None:
            paths.extend(_schema_paths(inner, (*prefix, name)))
    return paths


def _written(path: tuple) -> str:
    text = ".".join(path)
    return text.replace("model.layers.", "model.layers[i].") if len(path) > 2 and path[:2] == ("model", "layers") else text


def _elsewhere(loc: tuple) -> str:
    """Where an unknown key belongs, when it is a key of another section or another tool's name for one of ours."""
    key = str(loc[-1])
    here = tuple(part for part in loc[:-1] if not isinstance(part, int))
    paths = _schema_paths()
    found = [p for p in paths if p[-1] == key and p[:-1] != here]
    if found:
        return f"; it belongs in another section: {' or '.join(_written(p) for p in found[:2])}"
    target = SYNONYMS.get(key.lower())
    if target is not None and tuple(target.split(".")) != (*here, key):
        return f"; this tool calls it {_written(tuple(target.split('.')))}"
    return ""


def describe_errors(errors: list[dict]) -> list[str]:
    """Every pydantic error as a line; a value refused by each branch of a `true/false or a name` key is one line.

    pydantic reports such a key (model.highway: bool or seasonal/fitted) once per branch, with the
    branch's name appended to the path; the user wrote one value and gets one line with every choice.
    """
    lines, merged = [], {}
    for err in errors:
        loc, branch = err["loc"], str(err["loc"][-1]) if err["loc"] else ""
        number = _number_branch(branch)
        if len(loc) > 1 and (branch == "bool" or branch.startswith("literal[") or number):
            key = loc[:-1]
            if key not in merged:
                merged[key] = (len(lines), err.get("input"), [])
                lines.append(None)
            merged[key][2].append("true, false" if branch == "bool" else number or err["ctx"]["expected"].replace(
                "'", "").replace(" or ", ", "))
        else:
            lines.append(describe_error(err))
    for key, (at, value, choices) in merged.items():
        lines[at] = f"{_path_text(key)}: {value!r} is not one of {', '.join(choices)}"
    return lines


def _number_branch(branch: str) -> str:
    """The choice a union's number branch stands for ('a positive whole number'), or '' for another branch.

    pydantic names such a branch by its validators (`function-after[...greater_than_validator...gt=0...]`).
    """
    whole = "int" in branch and "float" not in branch
    if branch in ("int", "float") or (branch.startswith(("function-after[", "function-before[")) and (
            whole or "float" in branch)):
        kind = "whole number" if whole else "number"
        return f"a positive {kind}" if "gt=0" in branch else f"a {kind}"
    return ""


def describe_error(err: dict) -> str:
    """One pydantic error as a line a user reads: the key path, what was wrong, what is allowed."""
    loc, kind, value = err["loc"], err["type"], err.get("input")
    where = _path_text(loc)
    if kind == "extra_forbidden":
        section = _section_at(loc)
        valid = list(section.model_fields) if section else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        elsewhere = "" if close else _elsewhere(loc)
        hint = f"; did you mean '{close[0]}'?" if close else (f"{elsewhere}." if elsewhere else ".")
        key = str(loc[-1])
        if ":" in key and key.split(":", 1)[0].strip() in valid:  # `{after:3}`: YAML's key 'after:3', a value of null
            name, value = (part.strip() for part in key.split(":", 1))
            hint = f"; YAML needs a space after the colon: write `{name}: {value}`."
        return f"{where}: unknown key{hint} Valid keys here: {', '.join(valid)}."
    if kind == "literal_error":
        allowed = err["ctx"]["expected"].replace("'", "").replace(" or ", ", ")
        return f"{where}: {value!r} is not one of {allowed}"
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind in ("model_type", "model_attributes_type", "dict_type") and (section := _section_at((*loc, "_"))):
        keys = ", ".join(section.model_fields)
        how = (f"each item as keys, e.g. {{{next(iter(section.model_fields))}: ...}}" if isinstance(loc[-1], int)
               else f"`{loc[-1]}:` with the keys indented below it")
        return (f"{where}: is a section of keys ({keys}), not a single value (got {value!r:.50}). Write {how}; "
                "the README's config reference lists them.")
    message = err["msg"].removeprefix("Value error, ")
    if not loc:  # a check across sections: its message names the keys it involves
        return message
    if isinstance(value, bool):
        return (
            f"{where}: got the boolean {value}, because YAML reads unquoted yes/no/on/off/true/false as "
            "booleans; write the number, or put the text in quotes (e.g. \"off\")"
        )
    if isinstance(value, (dict, list)):
        return f"{where}: {message}"  # a whole section (or an alias-expanded one) is no help to read
    shown = repr(value)
    return f"{where}: {message} (got {shown if len(shown) <= 60 else shown[:50] + '...'})"
