"""Model calls: chat with OpenAI-compatible servers, Anthropic, Ollama or the embedded local model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.core.sdk import NodeConfig, NodeType, Port, RunContext
from app.core.values import DataType

Provider = Literal["openai", "anthropic", "ollama", "local"]


class ChatConfig(NodeConfig):
    provider: Provider = Field(
        default="local", description="Who answers: a hosted API, Ollama, or the built-in model."
    )
    model: str = Field(default="", description="Model name; empty uses the provider's default model.")
    base_url: str | None = Field(default=None, description="Another server speaking the provider's protocol.")
    system: str = Field(
        default="",
        description="Instructions sent as the system message.",
        json_schema_extra={"ui": "multiline"},
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Randomness, 0 = most repeatable."
    )
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000, description="Longest answer, in tokens.")
    seed: int | None = Field(default=None, description="Fixed seed for repeatable answers where supported.")


class ChatModel(NodeType[ChatConfig]):
    type_id = "model.chat"
    title = "Chat model"
    category = "Model"
    description = "Sends the prompt to a chat model and returns its answer, streamed as it arrives."
    config_model = ChatConfig
    inputs = (
        Port("prompt", DataType.TEXT, description="The user message."),
        Port("system", DataType.TEXT, required=False, description="Overrides the configured system message."),
    )
    outputs = (Port("text", DataType.TEXT, description="The model's answer."),)

    def concurrency_group(self) -> str:
        return f"provider:{self.config.provider}"

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return await super().run(inputs, ctx)
