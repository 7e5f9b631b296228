"""Port data types, their connection rules and the value conversions applied between ports.

Compatibility rules (source port type → target port type):

* the same type always connects;
* `any` connects to and from everything (the value is checked when the node runs);
* a `text` input accepts every type: numbers and booleans are written the JSON way (`3`, `2.5`,
  `true`), JSON values and lists as compact JSON text;
* a `json` input accepts every JSON value: text, number, boolean, json, list;
* `number`, `boolean` and `list` inputs accept only their own type (and `any`).

This module uses only the standard library so that exported scripts can share it.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any


class DataType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    JSON = "json"
    LIST = "list"
    ANY = "any"


_ACCEPTS: dict[DataType, frozenset[DataType]] = {
    DataType.TEXT: frozenset(DataType),
    DataType.JSON: frozenset(DataType),
    DataType.NUMBER: frozenset({DataType.NUMBER, DataType.ANY}),
    DataType.BOOLEAN: frozenset({DataType.BOOLEAN, DataType.ANY}),
    DataType.LIST: frozenset({DataType.LIST, DataType.ANY}),
    DataType.ANY: frozenset(DataType),
}


def can_connect(source: DataType, target: DataType) -> bool:
    return source in _ACCEPTS[target]


def incompatibility_reason(source: DataType, target: DataType) -> str | None:
    if can_connect(source, target):
        return None
    return f"a {source.value} output cannot feed a {target.value} input"


def to_text(value: Any) -> str:
    """The text form of a value, as a `text` input receives it."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


def type_of_value(value: Any) -> DataType:
    if isinstance(value, str):
        return DataType.TEXT
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int | float):
        return DataType.NUMBER
    if isinstance(value, list | tuple):
        return DataType.LIST
    return DataType.JSON


def coerce(value: Any, target: DataType) -> Any:
    """Convert a value arriving at an input of type `target`; raise TypeError with a plain reason."""
    if target in (DataType.ANY, DataType.JSON):
        return list(value) if isinstance(value, tuple) else value
    if target is DataType.TEXT:
        return to_text(value)
    if target is DataType.NUMBER:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise TypeError(f"expected a number, got the text {value[:40]!r}") from None
            return int(number) if number.is_integer() and "." not in value else number
    elif target is DataType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
    elif target is DataType.LIST and isinstance(value, list | tuple):
        return list(value)
    raise TypeError(f"expected {target.value}, got {type_of_value(value).value}")
