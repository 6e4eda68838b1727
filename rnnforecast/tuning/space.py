"""The search space: `tune.space` parsed into dimensions, checked against the config, sampled per trial."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from rnnforecast import config as config_module
from rnnforecast.config.types import number_text
from rnnforecast.errors import UserError

N_LAYERS = "model.n_layers"  # not a config key: resizes model.layers before any model.layers[i] value


LAYER_KEY = re.compile(r"^model\.layers\[(\d+)\]")


@dataclass
class Dimension:
    """One axis of the search space: a config key and the values it may take."""

    key: str
    choices: list | None = None
    kind: str = "choice"  # choice, int, float
    low: float = 0
    high: float = 0
    log: bool = False
    step: float | None = None

    def corners(self) -> list:
        """The values checked against the schema before any trial runs: a float range's ends and a fraction inside
        it (4 and 8 are whole numbers; what {float: [4, 8]} draws is not)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "float" and self.step is None and self.high > self.low:
            inside = (self.low * (self.high / self.low) ** 0.382 if self.log
                      else self.low + 0.382 * (self.high - self.low))
            return [self.low, self.high, inside]
        return [self.low, self.high]

    def suggest(self, trial) -> Any:
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, self.choices)
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, step=self.step, log=self.log)

    @property
    def layer(self) -> int | None:
        found = LAYER_KEY.match(self.key)
        return int(found.group(1)) if found else None


def parse_space(space: dict[str, Any], source: str) -> list[Dimension]:
    """tune.space as Dimensions; a malformed entry is a UserError naming it."""
    dims = []
    for key, spec in space.items():
        where = f"{source}: tune.space.{key}"
        if isinstance(spec, list):
            if not spec or any(isinstance(v, (list, dict)) for v in spec):
                raise UserError(f"{where} must list at least one plain value (number, text, true/false), e.g. [lstm, gru].")
            dims.append(Dimension(key, list(spec)))
            continue
        kinds = [k for k in ("int", "float") if isinstance(spec, dict) and k in spec]
        extra = set(spec) - {"int", "float", "log", "step"} if isinstance(spec, dict) else set()
        bounds = spec.get(kinds[0]) if len(kinds) == 1 else None
        if len(kinds) != 1 or extra or not isinstance(bounds, list) or len(bounds) != 2:
            raise UserError(
                f"{where} must be a list of choices, {{int: [low, high]}} or {{float: [low, high]}} (with optional "
                "log: true and step), e.g. {int: [16, 256], log: true}."
            )
        kind, (low, high) = kinds[0], [number_text(v) for v in bounds]  # 1e-4: YAML's text, our number
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if not numbers or (kind == "int" and not all(float(v).is_integer() for v in (low, high))) or low > high:
            raise UserError(f"{where}: the bounds {bounds} must be two {kind}s with low <= high.")
        if kind == "int":
            low, high = int(low), int(high)
        log, step = spec.get("log", False), spec.get("step")
        if log and low <= 0:
            raise UserError(f"{where}: log: true needs a positive low bound (got {low}).")
        if log and step is not None:
            raise UserError(f"{where}: give log: true or a step, not both (Optuna samples one or the other).")
        if step is not None:  # 0 failed every trial; a step wider than the range searched one value in silence
            step = number_text(step)
            whole = kind == "float" or (isinstance(step, (int, float)) and float(step).is_integer())
            if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0 or not whole:
                raise UserError(f"{where}: step must be a positive {'whole number' if kind == 'int' else 'number'} "
                                f"(got {spec['step']!r}).")
            if high > low and step > high - low:
                raise UserError(f"{where}: a step of {step} is wider than the range {low} to {high}, which would "
                                "search its low bound alone. Give a smaller step, or leave step out.")
        dims.append(Dimension(key, None, kind, low, high, bool(log), step))
    layers = [d for d in dims if d.key == N_LAYERS]
    if layers and not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in layers[0].corners()):
        raise UserError(f"{source}: tune.space.{N_LAYERS} must be positive whole numbers, e.g. [1, 2, 3].")
    return sorted(dims, key=lambda d: d.key != N_LAYERS)  # the number of layers is sampled first


def configure(base: dict, params: dict[str, Any]) -> dict:
    """The raw config for one trial: the base with the layers resized, then every sampled value set."""
    raw = copy.deepcopy(base)
    if N_LAYERS in params:
        layers = raw.setdefault("model", {}).get("layers") or [{}]
        n = int(params[N_LAYERS])
        raw["model"]["layers"] = [copy.deepcopy(layers[min(i, len(layers) - 1)]) for i in range(n)]
    for key, value in params.items():
        if key != N_LAYERS:
            config_module.set_path(raw, key, value, option=f"tune.space.{key}")
    return raw


def check_space(base: dict, dims: list[Dimension], source: str) -> None:
    """Each value of each dimension must give a valid config: a bad search space fails before any trial."""
    most = {N_LAYERS: max(dims[0].corners())} if dims and dims[0].key == N_LAYERS else {}
    for dim in dims:
        for value in dim.corners():
            params = most | {dim.key: value}
            try:
                config_module.validate(configure(base, params), source="the trial's config")
            except UserError as exc:
                drawn = dim.kind == "float" and value not in (dim.low, dim.high)
                how = (f" A float range draws fractions such as {value:.4g}; for whole numbers write "
                       f"{{int: [{dim.low:g}, {dim.high:g}]}}." if drawn else "")
                raise UserError(
                    f"{source}: tune.space.{dim.key} value {value!r} makes an invalid config.{how} {exc}"
                ) from None


def sample(trial, dims: list[Dimension]) -> dict[str, Any]:
    """Draw one trial's values; the settings of layers that this trial does not have are not drawn."""
    params: dict[str, Any] = {}
    for dim in dims:
        n = params.get(N_LAYERS)
        if n is not None and dim.layer is not None and dim.layer >= n:
            continue
        params[dim.key] = dim.suggest(trial)
    return params
