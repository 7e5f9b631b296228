"""Prompt building: text templates with {{placeholders}}, chat message lists and few-shot prompts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core import templates
from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext
from app.core.templates import fill
from app.core.values import DataType, to_text
from nodes._common import fill_template


class TemplateConfig(NodeConfig):
    template: str = Field(
        default="",
        description="Text with {{name}} placeholders; each placeholder becomes an input of the same name.",
        json_schema_extra={"ui": "template"},
    )


class PromptTemplate(NodeType[TemplateConfig]):
    type_id = "prompt.template"
    title = "Prompt template"
    category = "Prompt"
    description = (
        "Fills the {{placeholders}} of a text with the values connected to them. Plain replacement: "
        "nothing inside the braces is evaluated."
    )
    config_model = TemplateConfig
    outputs = (Port("text", DataType.TEXT, description="The filled-in text."),)
    dynamic_ports = (
        "one text input per distinct {{placeholder}} in the template, in order of first appearance"
    )
    cacheable = False

    def input_ports(self) -> list[Port]:
        return [Port(name, DataType.TEXT) for name in templates.placeholders(self.config.template)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"text": fill_template(self.config.template, inputs)}

    def export(self, code: Any) -> None:
        # Every placeholder is connected (validation sees to it) and arrives as text, so the
        # template's own `fill` is all a script needs.
        ports = self.input_ports()
        if not ports:
            code.assign("text", self.config.template)
            return
        values = code.dict({port.name: code.input(port.name) for port in ports})
        code.assign("text", code.call(fill, self.config.template, values))


Role = Literal["system", "user", "assistant"]


class ChatTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="Who speaks: system (instructions), user or assistant.")
    content: str = Field(default="", description="What is said; may hold {{placeholders}}.")


def _default_turns() -> list[ChatTurn]:
    return [
        ChatTurn(role="system", content="You are a helpful assistant."),
        ChatTurn(role="user", content="{{question}}"),
    ]


class ChatConfig(NodeConfig):
    messages: list[ChatTurn] = Field(
        default_factory=_default_turns,
        description="The conversation, in order: each turn has a role and a text with {{placeholders}}.",
        json_schema_extra={"ui": "json"},
    )


class ChatPrompt(NodeType[ChatConfig]):
    type_id = "prompt.chat"
    title = "Chat messages"
    category = "Prompt"
    description = (
        "Builds a list of chat messages (system / user / assistant turns), each filled in like a "
        'prompt template. The list has the form [{"role": ..., "content": ...}].'
    )
    config_model = ChatConfig
    outputs = (Port("messages", DataType.LIST, description="The messages, as {role, content} objects."),)
    dynamic_ports = (
        "one text input per distinct {{placeholder}} across all turns, in order of first appearance"
    )
    cacheable = False

    def input_ports(self) -> list[Port]:
        text = "\n".join(turn.content for turn in self.config.messages)
        return [Port(name, DataType.TEXT) for name in templates.placeholders(text)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"messages": chat_messages([turn.model_dump() for turn in self.config.messages], inputs)}

    def export(self, code: Any) -> None:
        turns = [turn.model_dump() for turn in self.config.messages]
        values = code.dict({port.name: code.input(port.name) for port in self.input_ports()})
        code.assign("messages", code.call(chat_messages, turns, values))


def chat_messages(turns: list[dict[str, str]], values: dict[str, Any]) -> list[dict[str, str]]:
    """The chat turns ({role, content}) with the placeholders of each content filled in."""
    if not turns:
        raise NodeError("there are no messages: add at least one turn", field="config.messages")
    filled = []
    for turn in turns:
        filled.append({"role": turn["role"], "content": fill_template(turn["content"], values)})
    return filled


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(description="An example input.")
    output: str = Field(description="The answer wanted for it.")


class FewShotConfig(NodeConfig):
    instruction: str = Field(
        default="",
        description="What to do, written before the examples.",
        json_schema_extra={"ui": "multiline"},
    )
    examples: list[Example] = Field(
        default_factory=list,
        description="Worked examples, each an input and the answer wanted.",
        json_schema_extra={"ui": "json"},
    )
    input_label: str = Field(default="Input", description="The label before each input.")
    output_label: str = Field(default="Output", description="The label before each answer.")


class FewShotPrompt(NodeType[FewShotConfig]):
    type_id = "prompt.few_shot"
    title = "Few-shot prompt"
    category = "Prompt"
    description = (
        "Writes a prompt from an instruction, a few worked examples and the new input, so the model "
        "answers in the same way as the examples."
    )
    config_model = FewShotConfig
    inputs = (
        Port("input", DataType.TEXT, description="The new input to answer."),
        Port(
            "examples",
            DataType.LIST,
            required=False,
            description="More examples as a list of {input, output} objects, added after the configured ones.",
        ),
    )
    outputs = (Port("text", DataType.TEXT, description="The prompt."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        config = self.config
        text = few_shot_prompt(
            inputs["input"],
            [example.model_dump() for example in config.examples],
            instruction=config.instruction,
            more_examples=inputs.get("examples"),
            input_label=config.input_label,
            output_label=config.output_label,
        )
        return {"text": text}

    def export(self, code: Any) -> None:
        config = self.config
        text = code.call(
            few_shot_prompt,
            code.input("input"),
            [example.model_dump() for example in config.examples],
            instruction=config.instruction,
            more_examples=code.input_or("examples", None) if code.connected("examples") else None,
            input_label=config.input_label,
            output_label=config.output_label,
        )
        code.assign("text", text)


def few_shot_prompt(
    text: str,
    examples: list[dict[str, Any]],
    *,
    instruction: str = "",
    more_examples: list[Any] | None = None,
    input_label: str = "Input",
    output_label: str = "Output",
) -> str:
    """An instruction, worked examples ({input, output}) and the new input, as one prompt."""
    pairs = [(example["input"], example["output"]) for example in examples]
    for index, item in enumerate(more_examples or [], start=1):
        if not isinstance(item, dict) or "input" not in item or "output" not in item:
            raise NodeError(
                f"example #{index} of the connected list is not an object with 'input' and 'output'",
                port="examples",
            )
        pairs.append((to_text(item["input"]), to_text(item["output"])))
    parts = [instruction.strip()] if instruction.strip() else []
    for example_in, example_out in pairs:
        parts.append(f"{input_label}: {example_in}\n{output_label}: {example_out}")
    parts.append(f"{input_label}: {text}\n{output_label}:")
    return "\n\n".join(parts)
