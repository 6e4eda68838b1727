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


def describe_errors(errors: list[dict]) -> list[str]:
    """Every pydantic error as a line; a value refused by each branch of a `true/false or a name` key is one line.

    pydantic reports such a key (model.highway: bool or seasonal/fitted) once per branch, with the
    branch's name appended to the path; the user wrote one value and gets one line with every choice.
    """
    lines, merged = [], {}
    for err in errors:
        loc, branch = err["loc"], str(err["loc"][-1]) if err["loc"] else ""
        if len(loc) > 1 and (branch == "bool" or branch.startswith("literal[")):
            key = loc[:-1]
            if key not in merged:
                merged[key] = (len(lines), err.get("input"), [])
                lines.append(None)
            merged[key][2].append("true, false" if branch == "bool" else err["ctx"]["expected"].replace("'", "").replace(" or ", ", "))
        else:
            lines.append(describe_error(err))
    for key, (at, value, choices) in merged.items():
        lines[at] = f"{_path_text(key)}: {value!r} is not one of {', '.join(choices)}"
    return lines


def describe_error(err: dict) -> str:
    """One pydantic error as a line a user reads: the key path, what was wrong, what is allowed."""
    loc, kind, value = err["loc"], err["type"], err.get("input")
    where = _path_text(loc)
    if kind == "extra_forbidden":
        section = _section_at(loc)
        valid = list(section.model_fields) if section else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "."
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
    if isinstance(value, bool):
        return (
            f"{where}: got the boolean {value}, because YAML reads unquoted yes/no/on/off/true/false as "
            "booleans; write the number, or put the text in quotes (e.g. \"off\")"
        )
    if isinstance(value, (dict, list)):
        return f"{where}: {message}"  # a whole section (or an alias-expanded one) is no help to read
    shown = repr(value)
    return f"{where}: {message} (got {shown if len(shown) <= 60 else shown[:50] + '...'})"
