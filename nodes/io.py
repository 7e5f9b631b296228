"""Workflow inputs and outputs: the names a run is called with and the values it returns."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext
from app.core.values import DataType, coerce

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class InputConfig(NodeConfig):
    name: str = Field(default="input", pattern=IDENTIFIER, description="The input's name, as in --input NAME=VALUE.")
    type: DataType = Field(default=DataType.TEXT, description="What kind of value this input takes.")
    default: Any = Field(default=None, description="Used when the run gives no value (leave empty to require one).")
    description: str = Field(default="", description="Shown to the person asked for this value.")


class WorkflowInput(NodeType[InputConfig]):
    type_id = "io.input"
    title = "Input"
    category = "Input / Output"
    description = "A value the workflow is run with; --input NAME=VALUE or the run form sets it."
    config_model = InputConfig
    cacheable = False
    interface_role = "input"

    def output_ports(self) -> list[Port]:
        return [Port("value", self.config.type, description=self.config.description)]

    def interface_name(self) -> str:
        return self.config.name

    def accept(self, raw: Any) -> Any:
        """The run's value for this input, converted to the declared type."""
        value = raw
        if isinstance(raw, str) and self.config.type in (DataType.JSON, DataType.LIST):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise NodeError(
                    f"input '{self.config.name}' must be {self.config.type.value} written as JSON: {exc.msg}",
                    field="value",
                ) from None
        try:
            return coerce(value, self.config.type)
        except TypeError as exc:
            raise NodeError(f"input '{self.config.name}': {exc}", field="value") from None

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        name = self.config.name
        if name in ctx.workflow_inputs:
            return {"value": self.accept(ctx.workflow_inputs[name])}
        if self.config.default is not None:
            return {"value": self.accept(self.config.default)}
        raise NodeError(f"the workflow needs a value for input '{name}' (for example --input {name}=...)")


class OutputConfig(NodeConfig):
    name: str = Field(default="output", pattern=IDENTIFIER, description="The key of this value in the run's result.")


class WorkflowOutput(NodeType[OutputConfig]):
    type_id = "io.output"
    title = "Output"
    category = "Input / Output"
    description = "A value the workflow returns, under this name."
    config_model = OutputConfig
    inputs = (Port("value", DataType.ANY),)
    cacheable = False
    interface_role = "output"

    def interface_name(self) -> str:
        return self.config.name

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {}
