"""Prompt building: text templates with {{placeholders}}."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.core import templates
from app.core.sdk import NodeConfig, NodeType, Port, RunContext
from app.core.values import DataType, to_text


class TemplateConfig(NodeConfig):
    template: str = Field(
        default="",
        description="Text with {{name}} placeholders; each placeholder becomes an input.",
        json_schema_extra={"ui": "template"},
    )


class PromptTemplate(NodeType[TemplateConfig]):
    type_id = "prompt.template"
    title = "Prompt template"
    category = "Prompt"
    description = "Fills {{placeholders}} in a text with the values connected to them."
    config_model = TemplateConfig
    outputs = (Port("text", DataType.TEXT),)
    dynamic_ports = "one text input per distinct {{placeholder}} in the template, in order of first appearance"
    cacheable = False

    def input_ports(self) -> list[Port]:
        return [Port(name, DataType.TEXT) for name in templates.placeholders(self.config.template)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"text": templates.fill(self.config.template, inputs, to_text)}
