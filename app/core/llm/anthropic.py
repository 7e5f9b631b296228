"""Anthropic Messages client.

``POST {base}/v1/messages`` with ``x-api-key`` (only when a key is given) and
``anthropic-version: 2023-06-01``. System messages go into the top-level ``system`` field;
``max_tokens`` is always sent (the API requires it). Streaming events: message_start,
content_block_start/delta/stop, message_delta, message_stop, ping and error. Usage comes from
message_start (input) and message_delta (output).

The Messages API has no ``seed`` and no JSON mode: ``seed`` is not sent (the API rejects unknown
fields) and ``json_mode`` is ignored - ask for JSON in the prompt instead.
"""

from __future__ import annotations

import json
import time
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
    MalformedStreamError,
    StreamErrorEvent,
    Timeouts,
    host_of,
    provider_error_message,
)

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
quiet_http_loggers()


def messages_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/v1/messages"


def build_payload(request: ChatRequest) -> dict[str, Any]:
    """The JSON body for ``request``: system messages joined (blank line between) into the
    top-level ``system`` field; the other messages are sent as they are."""
    system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system" and m["content"])
    turns = [{"role": m["role"], "content": m["content"]} for m in request.messages if m["role"] != "system"]
    body: dict[str, Any] = {
        "model": request.model,
        "messages": turns,
        "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.stream:
        body["stream"] = True
    return body


def build_headers(api_key: str | None, *, stream: bool) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream" if stream else "application/json",
        "anthropic-version": API_VERSION,
    }
    if api_key:
        headers["x-api-key"] = api_key
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
    provider: str = "anthropic",
) -> ChatResult:
    """Run one Messages call; same contract as :func:`app.core.llm.openai.chat`."""
    request.validate()
    t0 = time.monotonic()
    url = messages_url(base_url)
    ctx = ErrorContext(provider, host_of(url), api_key)
    state = StreamState(on_chunk=on_chunk, model=request.model)

    def on_event(ev: SSEEvent, st: StreamState) -> str | None:
        return _handle_event(ev, st, ctx)

    call = HTTPCall(
        ctx=ctx,
        method="POST",
        url=url,
        headers=build_headers(api_key, stream=request.stream),
        body=build_payload(request),
        stream=request.stream,
        key_sent=bool(api_key),
        on_event=on_event,
    )
    data, retries = await execute(call, client=client, policy=policy, timeouts=timeouts, state=state)
    if data is not None:
        text = _parse_message(data, state, ctx)
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


def _take_usage(usage: Any, st: StreamState) -> None:
    if not isinstance(usage, dict):
        return
    if isinstance(usage.get("input_tokens"), int):
        st.input_tokens = usage["input_tokens"]
    if isinstance(usage.get("output_tokens"), int):
        st.output_tokens = usage["output_tokens"]


def _handle_event(ev: SSEEvent, st: StreamState, ctx: ErrorContext) -> str | None:
    try:
        obj = json.loads(ev.data)
    except json.JSONDecodeError:
        raise ctx.make(
            MalformedStreamError,
            f"{ctx.where} sent a piece of the answer that is not valid JSON ({ctx.clean(ev.data, 60)!r}).",
            partial_text=st.text,
        ) from None
    if not isinstance(obj, dict):
        raise ctx.make(
            MalformedStreamError, f"{ctx.where} sent an unexpected piece of the answer.", partial_text=st.text
        )
    kind = obj.get("type") or ev.event
    if kind == "content_block_delta":
        delta = obj.get("delta") or {}
        if isinstance(delta, dict) and delta.get("type", "text_delta") == "text_delta":
            text = delta.get("text")
            return text if isinstance(text, str) else None
        return None
    if kind == "message_start":
        msg = obj.get("message") or {}
        if isinstance(msg, dict):
            if isinstance(msg.get("model"), str) and msg["model"]:
                st.model = msg["model"]
            _take_usage(msg.get("usage"), st)
        return None
    if kind == "message_delta":
        delta = obj.get("delta") or {}
        if isinstance(delta, dict) and delta.get("stop_reason"):
            st.finish_reason = str(delta["stop_reason"])
        _take_usage(obj.get("usage"), st)
        return None
    if kind == "message_stop":
        st.done = True
        return None
    if kind == "error":
        err = obj.get("error")
        etype = err.get("type", "") if isinstance(err, dict) else ""
        msg = ctx.clean(provider_error_message(obj)) or "no details"
        raise ctx.make(
            StreamErrorEvent,
            f"{ctx.where} reported an error in the middle of the answer: {msg}",
            partial_text=st.text,
            error_type=str(etype or ""),
        )
    return None  # ping, content_block_start/stop, and event types added later


def _parse_message(data: Any, st: StreamState, ctx: ErrorContext) -> str:
    if not isinstance(data, dict) or not isinstance(data.get("content"), list):
        if isinstance(data, dict) and data.get("type") == "error":
            raise ctx.make(
                StreamErrorEvent,
                f"{ctx.where} answered with an error: {ctx.clean(provider_error_message(data))}",
            )
        raise ctx.make(MalformedStreamError, f"{ctx.where} sent an answer in an unknown shape.")
    if isinstance(data.get("model"), str) and data["model"]:
        st.model = data["model"]
    if data.get("stop_reason"):
        st.finish_reason = str(data["stop_reason"])
    _take_usage(data.get("usage"), st)
    st.done = True
    return "".join(
        b.get("text", "") for b in data["content"] if isinstance(b, dict) and b.get("type") == "text"
    )


async def list_models(
    base_url: str,
    api_key: str | None,
    *,
    client: httpx.AsyncClient | None = None,
    policy: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    provider: str = "anthropic",
) -> list[str]:
    """Model ids from ``GET {base}/v1/models``, sorted."""
    url = base_url.rstrip("/") + "/v1/models"
    headers = {"Accept": "application/json", "anthropic-version": API_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return await fetch_model_ids(
        url, headers, provider=provider, api_key=api_key, client=client, policy=policy, timeouts=timeouts
    )
