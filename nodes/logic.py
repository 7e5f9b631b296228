"""Control: route a value by a condition, and take the first of several values that arrived."""

from __future__ import annotations

import asyncio
import re
import string
import threading
from typing import Any, Literal

from pydantic import Field, model_validator

from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext, Skip
from app.core.values import DataType, to_text
from nodes._common import preview
from nodes._regex import DEFAULT_TIMEOUT_SECONDS, find_matches

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "matches",
    "is_empty",
    "is_not_empty",
    "greater_than",
    "less_than",
]

#: How each operator reads in a sentence ("the value contains 'x'").
OPERATOR_WORDS: dict[str, str] = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "matches": "matches the pattern",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "greater_than": "is greater than",
    "less_than": "is less than",
}
_UNARY = ("is_empty", "is_not_empty")


class IfConfig(NodeConfig):
    operator: Operator = Field(
        default="equals",
        description="How the value is tested: equals, contains, matches (a regular expression), "
        "is_empty, greater_than …",
    )
    compare_to: str = Field(
        default="",
        description="What the value is compared with (text; a number for greater_than / less_than).",
    )
    ignore_case: bool = Field(default=True, description="Upper and lower case count as the same.")
    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS,
        gt=0,
        le=600,
        description="For matches: fail when the pattern searches longer than this many seconds (nested "
        "repetition such as (a+)+ can otherwise search for hours).",
    )

    @model_validator(mode="after")
    def _usable(self) -> IfConfig:
        if self.operator == "matches":
            try:
                re.compile(self.compare_to)
            except re.error as exc:
                raise ValueError(f"compare_to is not a valid regular expression: {exc}") from None
        if self.operator in ("greater_than", "less_than") and _number(self.compare_to) is None:
            raise ValueError(f"{self.operator} needs a number in compare_to, not {self.compare_to!r}")
        return self


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


def _clean(text: str, ignore_case: bool) -> str:
    text = text.strip()
    return text.casefold() if ignore_case else text


def evaluate(
    operator: str,
    value: Any,
    compare_to: str,
    ignore_case: bool = True,
    *,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    stop: threading.Event | None = None,
) -> bool:
    """Whether `value <operator> compare_to` holds (NodeError when a comparison cannot be made).

    `matches` searches with a time limit (nodes/_regex.py); `stop` ends the search early."""
    if operator == "is_empty":
        return _is_empty(value)
    if operator == "is_not_empty":
        return not _is_empty(value)
    if operator in ("greater_than", "less_than"):
        number, limit = _number(value), _number(compare_to)
        if number is None:
            raise NodeError(
                f"'{operator}' compares numbers, but the value is {preview(to_text(value), 40)!r}",
                port="value",
            )
        assert limit is not None  # checked with the config
        return number > limit if operator == "greater_than" else number < limit
    text = to_text(value)
    if operator == "matches":
        flags = re.IGNORECASE if ignore_case else 0
        found = find_matches(
            text,
            compare_to,
            flags,
            first_only=True,
            timeout_seconds=timeout_seconds,
            field="config.compare_to",
            stop=stop,
        )
        return bool(found["matches"])
    left, right = _clean(text, ignore_case), _clean(compare_to, ignore_case)
    if operator in ("equals", "not_equals"):
        same = left == right
        number, other = _number(value), _number(compare_to)
        if not same and number is not None and other is not None:
            same = number == other  # 3 equals "3.0"
        return same if operator == "equals" else not same
    if operator in ("contains", "not_contains"):
        found = right in left
        return found if operator == "contains" else not found
    if operator == "starts_with":
        return left.startswith(right)
    raise NodeError(f"unknown operator {operator!r}", field="config.operator")


class If(NodeType[IfConfig]):
    type_id = "logic.if"
    title = "If"
    category = "Control"
    description = (
        "Tests a value with a simple condition and sends it on to 'true' or 'false'. The nodes on the "
        "branch not taken are skipped (with the reason shown), not failed."
    )
    config_model = IfConfig
    inputs = (
        Port("value", DataType.ANY, description="The value tested."),
        Port(
            "payload",
            DataType.ANY,
            required=False,
            description="What to send down the chosen branch; when nothing is connected, the tested value.",
        ),
    )
    outputs = (
        Port("true", DataType.ANY, description="Produced when the condition holds."),
        Port("false", DataType.ANY, description="Produced when it does not."),
        Port("result", DataType.BOOLEAN, description="Whether the condition held."),
    )
    cacheable = False

    def condition_text(self) -> str:
        return condition_text(self.config.operator, self.config.compare_to)

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        config = self.config
        value = inputs.get("value")
        try:
            # In a thread: `matches` waits for a worker process (nodes/_regex.py), up to the limit.
            outputs = await asyncio.to_thread(
                route,
                config.operator,
                value,
                config.compare_to,
                config.ignore_case,
                payload=inputs.get("payload", value),
                timeout_seconds=config.timeout_seconds,
                stop=ctx.cancel_event,
            )
        except NodeError:
            ctx.check_cancelled()  # stopped because the run was cancelled: not a failure
            raise
        held = outputs["result"]
        ctx.log(
            f"{self.condition_text()}: {'yes' if held else 'no'} (value: {preview(to_text(value), 60)!r})"
        )
        return outputs

    def export(self, code: Any) -> None:
        config = self.config
        value = code.input("value")
        routed = code.call(
            route,
            config.operator,
            value,
            config.compare_to,
            ignore_case=config.ignore_case,
            payload=code.input_or("payload", value),
            timeout_seconds=config.timeout_seconds,
        )
        code.assign_outputs(routed, may_skip=("true", "false"))


def condition_text(operator: str, compare_to: str) -> str:
    """The condition in words: "the value contains 'x'"."""
    words = OPERATOR_WORDS[operator]
    if operator in _UNARY:
        return f"the value {words}"
    return f"the value {words} {compare_to!r}"


def route(
    operator: str,
    value: Any,
    compare_to: str,
    ignore_case: bool = True,
    *,
    payload: Any,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Test the value; the payload goes to "true" or "false", the other branch is not produced."""
    held = evaluate(
        operator,
        value,
        compare_to,
        ignore_case,
        timeout_seconds=timeout_seconds,
        stop=stop,
    )
    condition = condition_text(operator, compare_to)
    if held:
        return {
            "true": payload,
            "false": Skip(f"the condition ({condition}) was true"),
            "result": True,
        }
    return {
        "true": Skip(f"the condition ({condition}) was false"),
        "false": payload,
        "result": False,
    }


_LETTERS = string.ascii_lowercase


class MergeConfig(NodeConfig):
    count: int = Field(default=2, ge=2, le=8, description="How many inputs (a, b, c …).")


class Merge(NodeType[MergeConfig]):
    type_id = "logic.merge"
    title = "First available"
    category = "Control"
    description = (
        "Passes on the first of its inputs that has a value, in the order a, b, c … — e.g. to join "
        "the two branches of an If again."
    )
    config_model = MergeConfig
    outputs = (Port("value", DataType.ANY, description="The first input that has a value."),)
    dynamic_ports = "optional inputs a, b, c … (config count, 2 to 8)"
    cacheable = False

    def input_ports(self) -> list[Port]:
        return [
            Port(_LETTERS[index], DataType.ANY, required=False, description=f"Candidate {index + 1}.")
            for index in range(self.config.count)
        ]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        present = [port.name for port in self.input_ports() if port.name in inputs]
        value = first_available(*(inputs[name] for name in present))
        if not isinstance(value, Skip):
            taken = next(name for name in present if inputs[name] is value)
            ctx.log(f"passing on input '{taken}'")
        return {"value": value}

    def export(self, code: Any) -> None:
        candidates = [code.input(port.name) for port in self.input_ports() if code.connected(port.name)]
        code.assign("value", code.call(first_available, *candidates), may_skip=True)


def first_available(*values: Any) -> Any:
    """The first value that was produced (is not a Skip), else a Skip."""
    return next(
        (value for value in values if not isinstance(value, Skip)),
        Skip("none of the inputs had a value"),
    )
