"""OpenAI Chat Completions client (also for Ollama and any OpenAI-compatible server).

``POST {base}/chat/completions``, streamed (SSE with ``stream_options.include_usage``) or not.
Only the fields the protocol defines are sent: model, messages (role + content), stream,
stream_options, temperature, max_tokens (``max_completion_tokens`` on api.openai.com, which newer
OpenAI models require), seed and response_format - each only when set. ``Authorization: Bearer``
is sent only when a key is given.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from app.core.llm.retry import (
    ChunkCallback,
    HTTPCall,
    RetryPolicy,
    StreamState,
    execute,
    fetch_model_ids,
    quiet_http_loggers,
)
from app.core.llm.sse import SSEEvent
from app.core.llm.types import (
    ChatRequest,
    ChatResult,
    ErrorContext,
    IncompleteStreamError,
    MalformedStreamError,
    StreamErrorEvent,
    Timeouts,
    host_of,
    provider_error_message,
)

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.openai.com/v1"
quiet_http_loggers()


def chat_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/chat/completions"


def build_payload(request: ChatRequest, *, max_tokens_field: str = "max_tokens") -> dict[str, Any]:
    """The JSON body for ``request`` (nothing the protocol does not define)."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
    }
    if request.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    if request.seed is not None:
        body["seed"] = request.seed
    if request.json_mode:
        body["response_format"] = {"type": "json_object"}
    return body


def build_headers(api_key: str | None, *, stream: bool) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if stream else "application/json",
    }
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


async def chat(
    base_url: str,
    api_key: str | None,
    request: ChatRequest,
    on_chunk: ChunkCallback | None = None,
    *,
    client: httpx.AsyncClient | None = None,
    policy: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    provider: str = "openai",
) -> ChatResult:
    """Run one chat completion. ``on_chunk`` receives the text as it streams (for a
    non-streamed request it is called once with the whole text). Raises an
    :class:`~app.core.llm.types.LLMError` subclass on failure."""
    import time

    request.validate()
    t0 = time.monotonic()
    url = chat_url(base_url)
    ctx = ErrorContext(provider, host_of(url), api_key)
    field_name = "max_completion_tokens" if host_of(url) == "api.openai.com" else "max_tokens"
    state = StreamState(on_chunk=on_chunk, model=request.model)

    def on_event(ev: SSEEvent, st: StreamState) -> str | None:
        return _handle_event(ev, st, ctx)

    def on_eof(st: StreamState) -> None:
        # Some compatible servers end the stream without "[DONE]": accept it once the choice has
        # finished; otherwise the answer is incomplete.
        if st.finish_reason is not None:
            st.done = True

    call = HTTPCall(
        ctx=ctx,
        method="POST",
        url=url,
        headers=build_headers(api_key, stream=request.stream),
        body=build_payload(request, max_tokens_field=field_name),
        stream=request.stream,
        key_sent=bool(api_key),
        on_event=on_event,
        on_eof=on_eof,
    )
    data, retries = await execute(call, client=client, policy=policy, timeouts=timeouts, state=state)
    if data is not None:  # a JSON answer (not streamed, or the server ignored "stream")
        text = _parse_completion(data, state, ctx)
        await state.emit(text)
    return ChatResult(
        text=state.text,
        model=state.model or request.model,
        input_tokens=state.input_tokens,
        output_tokens=state.output_tokens,
        finish_reason=state.finish_reason,
        retries=retries,
        provider=provider,
        elapsed_s=time.monotonic() - t0,
    )


def _handle_event(ev: SSEEvent, st: StreamState, ctx: ErrorContext) -> str | None:
    data = ev.data.strip()
    if data == "[DONE]":
        st.done = True
        return None
    if not data:
        return None
    try:
        obj = json.loads(data)
    except json.JSONDecodeError:
        raise ctx.make(
            MalformedStreamError,
            f"{ctx.where} sent a piece of the answer that is not valid JSON ({ctx.clean(data, 60)!r}).",
            partial_text=st.text,
        ) from None
    if not isinstance(obj, dict):
        raise ctx.make(
            MalformedStreamError, f"{ctx.where} sent an unexpected piece of the answer.", partial_text=st.text
        )
    if obj.get("error") or ev.event == "error":
        err = obj.get("error")
        etype = err.get("type", "") if isinstance(err, dict) else ""
        msg = ctx.clean(provider_error_message(obj)) or "no details"
        raise ctx.make(
            StreamErrorEvent,
            f"{ctx.where} reported an error in the middle of the answer: {msg}",
            partial_text=st.text,
            error_type=str(etype or ""),
        )
    if isinstance(obj.get("model"), str) and obj["model"]:
        st.model = obj["model"]
    usage = obj.get("usage")
    if isinstance(usage, dict):
        _take_usage(usage, st)
    text_parts: list[str] = []
    for choice in obj.get("choices") or []:
        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str):
            text_parts.append(content)
        if choice.get("finish_reason"):
            st.finish_reason = str(choice["finish_reason"])
    return "".join(text_parts)


def _take_usage(usage: dict[str, Any], st: StreamState) -> None:
    if isinstance(usage.get("prompt_tokens"), int):
        st.input_tokens = usage["prompt_tokens"]
    if isinstance(usage.get("completion_tokens"), int):
        st.output_tokens = usage["completion_tokens"]


def _parse_completion(data: Any, st: StreamState, ctx: ErrorContext) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        if isinstance(data, dict) and "error" in data:
            raise ctx.make(
                StreamErrorEvent,
                f"{ctx.where} answered with an error: {ctx.clean(provider_error_message(data))}",
            )
        raise ctx.make(MalformedStreamError, f"{ctx.where} sent an answer without any choices.")
    choice = data["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise ctx.make(IncompleteStreamError, f"{ctx.where} sent an answer without a message.")
    content = message.get("content")
    if isinstance(data.get("model"), str) and data["model"]:
        st.model = data["model"]
    if choice.get("finish_reason"):
        st.finish_reason = str(choice["finish_reason"])
    if isinstance(data.get("usage"), dict):
        _take_usage(data["usage"], st)
    st.done = True
    return content if isinstance(content, str) else ""


async def list_models(
    base_url: str,
    api_key: str | None,
    *,
    client: httpx.AsyncClient | None = None,
    policy: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    provider: str = "openai",
) -> list[str]:
    """Model ids from ``GET {base}/models``, sorted."""
    url = base_url.rstrip("/") + "/models"
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return await fetch_model_ids(
        url, headers, provider=provider, api_key=api_key, client=client, policy=policy, timeouts=timeouts
    )
