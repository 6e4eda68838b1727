"""The value types of the schema: the allowed names (Literals), and numbers and texts that YAML cannot mistype."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal, Union

from pydantic import AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field

CellType = Literal["simple_rnn", "lstm", "gru"]


MissingPolicy = Literal["interpolate", "ffill", "mean", "drop", "error"]


DuplicatePolicy = Literal["auto", "mean", "last", "first", "error"]


Scaling = Literal["standard", "minmax", "mase", "none"]


WindowNorm = Literal["none", "last", "mean"]


CalendarFeature = Literal["minute_of_hour", "hour_of_day", "day_of_week", "day_of_month", "day_of_year", "month"]


DecoderType = Literal["direct", "segments"]


Activation = Literal["tanh", "relu", "sigmoid", "linear"]


OptimizerName = Literal["adam", "adamw", "rmsprop", "sgd"]


CalibrationMethod = Literal["rolling", "split"]


LossName = Literal["mse", "mae", "huber"]


Precision = Literal["auto", "float32", "mixed_float16", "mixed_bfloat16"]


def _not_bool(value: Any) -> Any:
    """YAML turns unquoted yes/no/on/off into booleans; never let one pass as a number."""
    if isinstance(value, bool):
        raise ValueError("is a boolean here (YAML reads unquoted yes/no/on/off/true/false as booleans)")
    return value


def plain_name(name: str) -> str:
    """A column name as it is compared: Unicode's composed form (NFC), non-breaking spaces as spaces, ends stripped.

    `Température` typed on one machine and written decomposed (e + a combining accent, as macOS
    file names are) by another, or `Min\u00a0Temp` from a spreadsheet, look alike in every message
    and would never match; the file's header and the config's names are both read this way.
    """
    return unicodedata.normalize("NFC", re.sub(r"[\u00a0\u2007\u202f]", " ", name)).strip()


def _column_name(value: Any) -> Any:
    """A header like `0` is read by YAML as a number; a column name is always text (plain_name)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    value = _not_bool(value)
    return plain_name(value) if isinstance(value, str) and value.strip() else value


Float = Annotated[float, BeforeValidator(_not_bool), AllowInfNan(False)]  # .inf passed every "> 0"


Column = Annotated[str, BeforeValidator(_column_name)]


def _one_or_many(value: Any) -> Any:
    """`targets: sales` means the one column `sales`: a lone name is a list of one."""
    return [value] if isinstance(value, (str, int)) and not isinstance(value, bool) else value


Columns = Annotated[list[Column], BeforeValidator(_one_or_many)]


CalendarFeatures = Annotated[list[CalendarFeature], BeforeValidator(_one_or_many)]  # `calendar: month` is [month]


def _one_or_more_markers(value: Any) -> Any:
    """`missing_values: -999` means the one marker -999."""
    return [value] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value


def number_text(value: Any) -> Any:
    """YAML reads `1e-4` and `1e3` (no dot before the e) as text: such text becomes the number it writes.

    A whole number (`1e3`) becomes an int, so an integer key takes it; anything else is returned as it came.
    """
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        if number == number and abs(number) != float("inf"):
            return int(number) if number.is_integer() and "." not in value else number
    return value


def _whole_number(value: Any) -> Any:
    return number_text(_not_bool(value))


Int = Annotated[int, BeforeValidator(_whole_number)]


Str = Annotated[str, BeforeValidator(_not_bool)]


def _date_text(value: Any) -> Any:
    """YAML reads an unquoted 2020-05-01 as a date (and 2020-05-01 10:00:00 as a datetime): the date it writes."""
    import datetime

    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    return _not_bool(value)


DateText = Annotated[str, BeforeValidator(_date_text)]
MissingMarkers = Annotated[list[Union[Float, Str]], BeforeValidator(_one_or_more_markers), Field(max_length=100)]


PosInt = Annotated[Int, Field(gt=0)]


def _input_length(value: Any) -> Any:
    """A look-back in steps, `auto`, or a list of candidate look-backs (sorted, each once); None: derived.

    A list of one candidate ([48], or [48, 48]) is that look-back: there is nothing to probe.
    """
    def whole(item: Any) -> bool:
        return isinstance(item, int) and not isinstance(item, bool) and item > 0

    if isinstance(value, str) and value.strip().isdigit():  # "96" from a --set or a quoted YAML value
        value = int(value)
    if value is None or value == "auto" or whole(value):
        return value
    if isinstance(value, list) and value and all(whole(item) for item in value):
        candidates = sorted(set(value))
        return candidates[0] if len(candidates) == 1 else candidates
    raise ValueError(
        "must be a positive whole number of steps, auto (chosen by short probes), or a list of candidates "
        "such as [48, 96, 192]; leave it out to derive it from the season and the horizon"
    )


InputLength = Annotated[Any, BeforeValidator(_input_length)]


def _floor(value: Any) -> Any:
    """data.floor: auto, none (or null), or a number ("0" from a --set too)."""
    if value is None or value in ("auto", "none"):
        return value
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if number == number and abs(number) != float("inf"):
            return number
    raise ValueError("must be auto (0 for whole numbers that are never negative: counts), none, or a number such as 0")


Floor = Annotated[Any, BeforeValidator(_floor)]


Fraction = Annotated[Float, Field(gt=0, lt=1)]


Rate = Annotated[Float, Field(ge=0, lt=1)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)
