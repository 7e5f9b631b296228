"""The model-provider layer: OpenAI(-compatible), Anthropic and an in-process llama.cpp model.

Importing this package is cheap: it never imports httpx or llama_cpp (the provider modules are
loaded on first use). The usual entry point is :func:`chat`::

    from app.core.llm import ChatRequest, chat
    result = await chat("openai", ChatRequest.simple("gpt-4o-mini", "Hi"),
                        base_url=endpoint.base_url, api_key=endpoint.api_key, on_chunk=print)

Errors are :class:`LLMError` subclasses with plain-words messages that never contain a key.
"""

from __future__ import annotations

import importlib
from typing import Any

from app.core.llm.pricing import cost_usd, merge_prices
from app.core.llm.retry import NO_RETRY, ChunkCallback, RetryPolicy, parse_retry_after
from app.core.llm.types import (
    AuthenticationError,
    BadRequestError,
    ChatRequest,
    ChatResult,
    ConnectError,
    DeadlineExceeded,
    IncompleteStreamError,
    InvalidURLError,
    LLMError,
    LocalModelError,
    MalformedStreamError,
    RateLimitError,
    RedirectRefused,
    ServerError,
    StallError,
    StreamErrorEvent,
    TimeoutError_,
    Timeouts,
    Usage,
)

__all__ = [
    "NO_RETRY",
    "PROVIDERS",
    "AuthenticationError",
    "BadRequestError",
    "ChatRequest",
    "ChatResult",
    "ChunkCallback",
    "ConnectError",
    "DeadlineExceeded",
    "IncompleteStreamError",
    "InvalidURLError",
    "LLMError",
    "LocalModelError",
    "MalformedStreamError",
    "RateLimitError",
    "RedirectRefused",
    "RetryPolicy",
    "ServerError",
    "StallError",
    "StreamErrorEvent",
    "TimeoutError_",
    "Timeouts",
    "Usage",
    "chat",
    "cost_usd",
    "list_models",
    "merge_prices",
    "parse_retry_after",
]

PROVIDERS = ("openai", "anthropic", "ollama", "local")


def _module(provider: str) -> Any:
    name = {"openai": "openai", "ollama": "openai", "anthropic": "anthropic", "local": "local"}.get(provider)
    if name is None:
        raise ValueError(f"Unknown model provider {provider!r}; use one of {', '.join(PROVIDERS)}.")
    return importlib.import_module(f"app.core.llm.{name}")


async def chat(
    provider: str,
    request: ChatRequest,
    on_chunk: ChunkCallback | None = None,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    **kwargs: Any,
) -> ChatResult:
    """Dispatch to the provider's client. For ``openai``/``ollama``/``anthropic``, ``base_url``
    is required (resolve it with :func:`app.core.secrets.resolve_endpoint`) and ``kwargs`` may
    hold ``client``, ``policy``, ``timeouts``. For ``local``, ``request.model`` names the model
    and ``kwargs`` may hold ``cancel`` (a :class:`threading.Event`)."""
    mod = _module(provider)
    if provider == "local":
        return await mod.chat(request, on_chunk, **kwargs)
    if not base_url:
        raise InvalidURLError(f"No base URL was given for {provider}.", provider=provider)
    return await mod.chat(base_url, api_key, request, on_chunk, provider=provider, **kwargs)


async def list_models(
    provider: str, *, base_url: str | None = None, api_key: str | None = None, **kwargs: Any
) -> list[str]:
    """Model ids the provider offers (``local``: the built-in model name)."""
    mod = _module(provider)
    if provider == "local":
        return [mod.DEFAULT_MODEL]
    if not base_url:
        raise InvalidURLError(f"No base URL was given for {provider}.", provider=provider)
    return await mod.list_models(base_url, api_key, provider=provider, **kwargs)
