"""A config from YAML: read, `--set` overrides applied, validated, data.path resolved; and dumped back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rnnforecast.config.messages import describe_errors
from rnnforecast.config.schema import Config
from rnnforecast.errors import UserError


def load_config(path: Path | str, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a YAML config, apply `key.path=value` overrides, validate, resolve data.path.

    Raises:
        UserError: the file is missing or not YAML, an override is malformed, or the
            schema refuses a value. The message names the key and the allowed values.
    """
    path = Path(path)
    if path.is_dir() and (path / "metadata.json").is_file() and (path / "config.yaml").is_file():
        raise UserError(f"{path} is a run folder; train, backtest and tune read a config file. {_run_configs(path)}")
    if path.is_dir():
        raise UserError(f"config file {path} is a folder, not a file. Give the YAML file, such as configs/quickstart.yaml.")
    if path.exists() and not path.is_file():  # /dev/null, a pipe
        raise UserError(f"config file {path} is not a regular file (a device or a pipe). Give the YAML file, such as "
                        "configs/quickstart.yaml.")
    if not path.is_file():
        raise UserError(f"config file {path} does not exist. Check the path, or start from one in configs/.")
    _refuse_a_data_file(path)
    raw = read_yaml(path)
    if not raw and not overrides:
        raise UserError(f"config file {path} is empty (or holds only comments). A config needs data.path, data.targets "
                        "and window.horizon at least: start from configs/quickstart.yaml.")
    for item in overrides:
        apply_override(raw, item)
    source = str(path) if not overrides else f"{path} with --set {' --set '.join(overrides)}"
    config = validate(raw, source=source)
    config.data.path = str(resolve_path(config.data.path, path.parent, key="data.path"))
    return config


def _run_configs(run: Path) -> str:
    """Which config to give for a run's settings: the file it was trained from, where it still is, or its saved copy."""
    import json

    try:
        source = json.loads((run / "metadata.json").read_text()).get("config_file")
    except (OSError, ValueError, AttributeError):
        source = None
    saved = (f"its saved config, {run / 'config.yaml'} (add --set run.name={run.name.rsplit('-', 2)[0]} to name the "
             "new run as this one; the saved config's run.dir is where it writes)")
    if source and Path(source).is_file():
        return f"Give the config it was trained from, {source}, or {saved}."
    return f"To train again with this run's settings, give {saved}."


MAX_CONFIG_BYTES = 1_000_000
MAX_CONFIG_VALUES = 100_000  # values after alias expansion: an alias bomb stops here, not at 3 GB


class _Cycle(Exception):
    """A block that holds an alias of itself (`data: &d {self: *d}`): written out, it never ends."""


def _values_within(node, budget: int, within: tuple = ()) -> int:
    """What is left of `budget` after counting every value under `node` as written out (aliases expanded).

    Negative once the budget is spent: the walk stops there, so it never takes long. `within`: the ids of the
    blocks above `node`; one of them met again is a cycle (_Cycle).
    """
    budget -= 1
    if isinstance(node, dict):
        children = [*node.keys(), *node.values()]
    elif isinstance(node, list):
        children = node
    else:
        return budget
    if id(node) in within:
        raise _Cycle
    within = (*within, id(node))
    for child in children:
        if budget < 0:
            return budget
        budget = _values_within(child, budget, within)
    return budget


class _TwiceError(yaml.constructor.ConstructorError):
    """A key written twice in one mapping."""


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (YAML keeps the last one silently).

    A second `model:` section pasted below the first, or `epochs:` set twice, would otherwise
    drop the first without a word. Keys brought in by a merge (`<<: *defaults`) may be
    overridden, as YAML means them to be.
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _TwiceError(None, None, f"the key '{key}' is written twice in one section (lines {seen[key]} "
                                      f"and {line}), and YAML would silently keep only the second", key_node.start_mark)
                seen[key] = line
        return super().construct_mapping(node, deep)


# YAML 1.1 reads `010` as octal (8) and `12:00` as base 60 (720): a number that silently is not the one written
_NOT_DECIMAL = re.compile(r"[-+]?(0[0-9_]+|[0-9][0-9_]*(:[0-5]?[0-9])+)")


def _ambiguous_number(text: str) -> str | None:
    """Why YAML would read `text` as another number than the one written, or None."""
    if not _NOT_DECIMAL.fullmatch(text.strip()):
        return None
    written, value = text.strip(), yaml.safe_load(text)
    if ":" in written:
        return (f"YAML reads {written} as the base-60 number {value}. For a time or a name write it in quotes "
                f"('{written}'), for a number as {value}")
    return (f"YAML reads {written} as the octal number {value}. Write it without the leading zero "
            f"({written[0] if written[0] in '+-' else ''}{written.lstrip('+-').lstrip('0_') or 0}), or in quotes ('{written}') for text such as a name")


class _AmbiguousError(yaml.constructor.ConstructorError):
    """A plain number that YAML reads as octal or base 60."""


def _construct_int(loader, node):
    if node.style is None and (why := _ambiguous_number(node.value)):
        raise _AmbiguousError(None, None, why, node.start_mark)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".pq", ".xlsx", ".xls", ".json", ".jsonl")


def _refuse_a_data_file(path: Path) -> None:
    """`rnnforecast train sales.csv`, a newcomer's first try: say what a config is, with one to save beside it."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2", ".xz", ".zip")]
    if not suffixes or suffixes[-1] not in DATA_SUFFIXES:
        return
    if suffixes[-1] == ".json" and len(path.suffixes) == 1 and _a_json_config(path):
        return  # a config written as JSON (which YAML reads): read as one
    stem = path.name[: -len("".join(path.suffixes))] or "config"
    raise UserError(
        f"{path} is a data file; train, backtest and tune read a YAML config that names it. Save these lines as "
        f"{path.with_name(stem + '.yaml')} (your target column and the number of steps to forecast filled in), then run "
        f"`rnnforecast train {path.with_name(stem + '.yaml')}`:\n"
        f"data:\n  path: {path.name}\n  targets: [COLUMN_TO_FORECAST]\nwindow:\n  horizon: STEPS_TO_FORECAST"
    )


def _a_json_config(path: Path) -> bool:
    """Whether a .json file is a config (an object with a `data` section), not a table of records."""
    import json

    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return False
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(found, dict) and isinstance(found.get("data"), dict)


def read_yaml(path: Path) -> dict:
    """The raw mapping of a YAML file; a file that is not YAML, not UTF-8 or not a mapping is a UserError naming it."""
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise UserError(
            f"{path} is {size / 1e6:.1f} MB; a config is a few kB of YAML, at most {MAX_CONFIG_BYTES // 1000} kB. "
            "Check that the path names the config, not a data file."
        )
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506  (a SafeLoader)
    except _TwiceError as exc:
        raise UserError(f"{path}: {exc.problem}. Merge the two into one, or remove the one you do not mean.") from None
    except _AmbiguousError as exc:
        raise UserError(f"{path}, line {exc.problem_mark.line + 1}: {exc.problem}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        fix = ("YAML indents with spaces, never tabs: replace the tabs at the start of the lines with spaces"
               if "'\\t'" in problem else "Check the indentation and the quoting on that line")
        raise UserError(f"{path} is not valid YAML{where}: {problem}. {fix}.") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text file; save the config as UTF-8 YAML.") from None
    if raw is None:
        raw = {}
    try:
        left = _values_within(raw, MAX_CONFIG_VALUES)
    except _Cycle:
        raise UserError(
            f"{path} uses an alias inside the block it names (such as `data: &d` and `*d` within data), which "
            "would repeat without end. Use the alias only after its block ends."
        ) from None
    if left < 0:
        raise UserError(
            f"{path} expands to more than {MAX_CONFIG_VALUES:,} values (YAML aliases such as *a repeat a block "
            "each time they are used). A config needs a few dozen; remove the repeated aliases."
        )
    if not isinstance(raw, dict):
        raise UserError(f"{path} must hold a mapping of sections (data, window, model, training, calibration, run, "
                        "tune), as configs/quickstart.yaml does.")
    return raw


def validate(raw: dict, source: str = "config") -> Config:
    """A Config from a raw mapping; every schema problem listed in one UserError (`source` names the file)."""
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        lines = describe_errors(exc.errors())
        raise UserError(
            f"{source} has {len(lines)} problem{'s' if len(lines) > 1 else ''}:\n  "
            + "\n  ".join(lines)
            + "\nFix the key(s) above; the README's config reference lists every key and its default."
        ) from None


def resolve_path(value: str, config_dir: Path, key: str) -> Path:
    """A relative path is tried from the working directory, then from the config's folder."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", str(value)):
        raise UserError(
            f"{key}: '{value}' is a web or cloud address; rnnforecast reads files on this machine (CSV, or Parquet "
            "files and folders). Download it first (for example `curl -o data.csv URL`) and point the path at the file."
        )
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        if candidate.exists():
            return candidate
        raise UserError(f"{key}: file {candidate} does not exist. Fix the path in the config.")
    tried = [Path.cwd() / candidate, config_dir.resolve() / candidate]
    for place in tried:
        if place.exists():
            return place.resolve()
    raise UserError(
        f"{key}: file '{value}' was not found; tried {tried[0]} (from the working directory) and "
        f"{tried[1]} (from the config's folder). Fix the path in the config or run from another folder."
    )


def apply_override(raw: dict, item: str) -> None:
    """Apply one `--set model.layers[0].units=64` to the raw config, value parsed as YAML."""
    key, sep, text = item.partition("=")
    tokens = re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", key.strip())
    if not sep or not tokens or tokens[0][0] == "" or _key_text(tokens) != key.strip():
        hint = ""
        if re.search(r"\.\d+(\.|$)", key.strip()):
            hint = " A list item is written with its index in brackets: model.layers[0].units, not model.layers.0.units."
        elif re.search(r"\[\s*-", key):
            hint = " Indexes count from 0 ([0] is the first item); negative indexes are not read."
        raise UserError(
            f"--set {item!r} is not of the form key.path=value (e.g. --set training.epochs=3 or "
            f"--set model.layers[0].units=64).{hint}"
        )
    why = _ambiguous_number(text)
    if why:
        raise UserError(f"--set {item!r}: {why} (--set \"{key.strip()}='{text.strip()}'\").")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text  # not YAML (e.g. `data.thousands=,`): the text as it was typed
    written = text.strip()
    if (value is None and written.lower() not in ("", "null", "~")) or written.startswith("!"):
        value = text  # YAML's anchors and tags (`run.name=&a` read as null, `!!binary aGk=` as 'hi'): the text typed
    set_path(raw, key.strip(), value, option=f"--set {key}")


def _merged(earlier: dict, given: dict) -> dict:
    """A section given whole (`--set 'training={epochs: 3}'`) over the one the config has: key by key, at every depth."""
    out = dict(earlier)
    for key, value in given.items():
        out[key] = _merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def set_path(raw: dict, key: str, value: Any, option: str | None = None) -> None:
    """Set `model.layers[0].units` (a key path as --set writes it) in the raw config to `value`."""
    option = option or key
    tokens = re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", key)
    if not tokens or tokens[0][0] == "" or _key_text(tokens) != key:
        raise UserError(f"{option}: '{key}' is not a key path such as training.epochs or model.layers[0].units.")
    node: Any = raw
    for i, (name, idx) in enumerate(tokens):
        last = i == len(tokens) - 1
        here = name if name else int(idx)
        if isinstance(here, int):
            if not isinstance(node, list) or here >= len(node):
                size = len(node) if isinstance(node, list) else 0
                listed = _key_text(tokens[:i])
                unknown = _unknown_key(tokens[:i])
                if unknown:  # `model.layrs[0].units`: the typo, not the index, is what to fix
                    raise UserError(f"{option}: {unknown}")
                example = ("'model.layers=[{units: 64}, {units: 32}]'" if listed == "model.layers" else
                           f"'{listed}=[{', '.join(map(str, node + ['...'])) if isinstance(node, list) else '...'}]'")
                raise UserError(
                    f"{option}: index {here} is out of range; that list has {size} item(s). To add items, give the "
                    f"whole list, e.g. --set {example}."
                )
        elif not isinstance(node, dict):
            parent = _key_text(tokens[:i])
            if parent:  # the config wrote the section as a list or a value: that, not the --set, is what to fix
                kind = "a list" if isinstance(node, list) else "a single value"
                raise UserError(
                    f"{option}: '{parent}' in the config is {kind} ({str(node)[:60]}), not a section of keys, so "
                    f"'{name}' cannot be set inside it. Write `{parent.split('.')[-1]}:` in the config with its keys "
                    "indented below it."
                )
            raise UserError(f"{option}: '{name}' is not inside a section.")
        if last:
            earlier = node.get(here) if isinstance(node, dict) else None
            # `--set 'training={batch_size: 64}'` replaced the section: the file's epochs and earlier --sets were lost
            node[here] = _merged(earlier, value) if isinstance(earlier, dict) and isinstance(value, dict) else value
        else:
            nxt_is_index = tokens[i + 1][1] != ""
            if isinstance(node, dict) and not isinstance(node.get(here), (dict, list)):
                # a list the config leaves to its default (model.layers): index into that default; a section
                # written as its shorthand (`optimizer: sgd`) keeps what it says
                found = node.get(here)
                if nxt_is_index:  # `targets: Temp` is a list of one name
                    node[here] = _default_list(tokens[: i + 1]) if found is None else [found]
                else:
                    node[here] = _section_keys(tokens[: i + 1], found)
            node = node[here]


def _section_keys(tokens: list[tuple[str, str]], value: Any) -> dict:
    """A section's value as keys: `optimizer: sgd` is {name: sgd}, so that --set training.optimizer.learning_rate=0.1
    sets the rate of SGD, not of the default optimizer. {} where there is no value or the schema reads none."""
    from pydantic import BaseModel, ValidationError

    if value is None:
        return {}
    section: Any = Config
    for name, _ in tokens:
        field = getattr(section, "model_fields", {}).get(name) if name else None
        if field is None:
            return {}
        section = field.annotation
    if not (isinstance(section, type) and issubclass(section, BaseModel)):
        return {}
    try:
        return section.model_validate(value).model_dump(mode="json", exclude_unset=True)
    except ValidationError:
        return {}


def _default_list(tokens: list[tuple[str, str]]) -> list:
    """The schema's default for a list-valued key path (plain data, as YAML would give it); [] where there is none."""
    from pydantic import BaseModel

    section: Any = Config
    for name, _ in tokens:
        field = getattr(section, "model_fields", {}).get(name) if name else None
        if field is None:
            return []
        section = field.annotation
    default = field.default
    if not isinstance(default, list):
        return []
    return [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in default]


def _unknown_key(tokens: list[tuple[str, str]]) -> str | None:
    """Why a key path is not in the schema ('layrs' is not a key of model; did you mean 'layers'?), or None."""
    import difflib

    section: Any = Config
    for i, (name, _) in enumerate(tokens):
        fields = getattr(section, "model_fields", None)
        if not name or fields is None:
            return None  # an index, or below what the schema describes by sections
        if name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=1)
            where = _key_text(tokens[:i]) or "the config"
            return (f"'{name}' is not a key of {where}" + (f"; did you mean '{close[0]}'?" if close else ".")
                    + f" Valid keys there: {', '.join(fields)}.")
        section = fields[name].annotation
    return None


def _key_text(tokens: list[tuple[str, str]]) -> str:
    out = ""
    for name, idx in tokens:
        out += (("." if out else "") + name) if name else f"[{idx}]"
    return out


# data keys whose default is decided from the data when the config leaves them out (training.inputs: a panel of a
# few series split by fractions, a short series by its last horizons; a ';' file's decimal comma; stacked rows)
DECIDED_BY_THE_DATA = ("split", "decimal", "duplicates")


def search_base(config: Config) -> dict:
    """The raw config a search's trials start from: every key written out but `tune` and the data keys the user left
    to the data (DECIDED_BY_THE_DATA), so that each trial decides them as `train` would."""
    raw = config.model_dump(mode="json", exclude={"tune"})
    for key in DECIDED_BY_THE_DATA:
        if key not in config.data.model_fields_set:
            raw["data"].pop(key, None)
    return raw


def dump(config: Config) -> str:
    """The resolved config as YAML, every default written out (no `tune` section unless it has one)."""
    return yaml.safe_dump(config.model_dump(mode="json", exclude=None if config.tune else {"tune"}), sort_keys=False)
