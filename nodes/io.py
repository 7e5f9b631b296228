"""Workflow inputs and outputs: the names a run is called with and the values it returns."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext
from app.core.values import DataType, coerce

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


def convert_input(name: str, kind: DataType, raw: Any) -> Any:
    """A value given for a workflow input, converted to the input's type (TypeError/ValueError if not)."""
    value = raw
    if isinstance(raw, str) and kind in (DataType.JSON, DataType.LIST):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            message = f"input '{name}' must be {kind.value} written as JSON: {exc.msg}"
            raise ValueError(message) from None
    try:
        return coerce(value, kind)
    except TypeError as exc:
        raise ValueError(f"input '{name}': {exc}") from None


def input_value(
    given: dict[str, Any], name: str, kind: DataType, default: Any = None, description: str = ""
) -> Any:
    """The value a run gives for a workflow input (else its default), converted to the input's type."""
    if name in given:
        raw = given[name]
    elif default is not None:
        raw = default
    else:
        hint = f" ({description})" if description else ""
        raise NodeError(
            f"the workflow needs a value for input '{name}'{hint}: for example --input {name}=..."
        )
    try:
        return convert_input(name, kind, raw)
    except ValueError as exc:
        raise NodeError(str(exc), field="value") from None


class InputConfig(NodeConfig):
    name: str = Field(
        default="input", pattern=IDENTIFIER, description="The input's name, as in --input NAME=VALUE."
    )
    type: DataType = Field(default=DataType.TEXT, description="What kind of value this input takes.")
    default: Any = Field(
        default=None,
        description="Used when the run gives no value (leave empty to require one). Must suit the type.",
        json_schema_extra={"ui": "json"},
    )
    description: str = Field(
        default="",
        description="Shown to the person asked for this value when the workflow is run.",
        json_schema_extra={"ui": "multiline"},
    )

    @field_validator("default")
    @classmethod
    def _default_suits_type(cls, default: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("type")
        if default is not None and kind is not None:
            try:
                convert_input(info.data.get("name", "input"), kind, default)
            except ValueError as exc:
                raise ValueError(f"the default does not suit the type {kind.value}: {exc}") from None
        return default


class WorkflowInput(NodeType[InputConfig]):
    type_id = "io.input"
    title = "Input"
    category = "Input / Output"
    description = (
        "A value the workflow is run with: the run form asks for it (showing the description), "
        "or --input NAME=VALUE sets it. Without a value the default is used."
    )
    config_model = InputConfig
    cacheable = False
    interface_role = "input"

    def output_ports(self) -> list[Port]:
        return [Port("value", self.config.type, description=self.config.description or "The value given.")]

    def interface_name(self) -> str:
        return self.config.name

    def accept(self, raw: Any) -> Any:
        """The run's value for this input, converted to the declared type."""
        try:
            return convert_input(self.config.name, self.config.type, raw)
        except ValueError as exc:
            raise NodeError(str(exc), field="value") from None

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        config = self.config
        value = input_value(ctx.workflow_inputs, config.name, config.type, config.default, config.description)
        return {"value": value}

    def export(self, code: Any) -> None:
        config = self.config
        given = code.inputs(config.name)
        if config.default is None:
            value = code.call(input_value, given, config.name, config.type, description=config.description)
        else:
            value = code.call(input_value, given, config.name, config.type, config.default)
        code.assign("value", value)


class OutputConfig(NodeConfig):
    name: str = Field(
        default="output", pattern=IDENTIFIER, description="The key of this value in the run's result."
    )


class WorkflowOutput(NodeType[OutputConfig]):
    type_id = "io.output"
    title = "Output"
    category = "Input / Output"
    description = "A value the workflow returns, under this name (a key of `chainwright run --json`)."
    config_model = OutputConfig
    inputs = (Port("value", DataType.ANY, description="The value to return."),)
    cacheable = False
    interface_role = "output"

    def interface_name(self) -> str:
        return self.config.name

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {}

    def export(self, code: Any) -> None:
        code.set_result(self.config.name, code.input("value"))
