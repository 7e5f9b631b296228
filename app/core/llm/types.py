"""Data types and the typed error hierarchy of the model-provider layer.

Nothing here imports httpx or llama_cpp: this module is imported at application start-up.

Every error message is written for a person who is not an engineer: it names the provider and
the host, says what happened in plain words and, where there is one, what to do about it. An API
key never appears in a message: provider text is passed through :func:`redact` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

Role = Literal["system", "user", "assistant"]

#: Human names of the providers, used in messages.
PROVIDER_LABELS: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "ollama": "Ollama",
    "local": "The local model",
}

#: Environment variables that hold each provider's key (DESIGN §1.4).
KEY_ENV_VARS: dict[str, str] = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@dataclass(slots=True)
class ChatRequest:
    """One chat completion request, independent of the provider.

    ``messages`` is a list of ``{"role": ..., "content": ...}`` with roles ``system``, ``user``
    and ``assistant``; providers move system messages where their protocol wants them.
    ``None`` for temperature / max_tokens / seed means "the provider's default" (Anthropic
    needs max_tokens, so its client sends :data:`app.core.llm.anthropic.DEFAULT_MAX_TOKENS`).
    """

    model: str
    messages: list[dict[str, str]]
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    json_mode: bool = False
    stream: bool = True

    @classmethod
    def simple(cls, model: str, prompt: str, system: str | None = None, **kw: Any) -> ChatRequest:
        """A request with an optional system message and one user message."""
        msgs: list[dict[str, str]] = []
        if system:
            msgs.append({"role": "system", "content": system})
        msgs.append({"role": "user", "content": prompt})
        return cls(model=model, messages=msgs, **kw)

    def validate(self) -> None:
        """Raise :class:`BadRequestError` for a request no provider could accept."""
        if not isinstance(self.model, str) or not self.model.strip():
            raise BadRequestError("No model name was given.", retryable=False)
        if not self.messages:
            raise BadRequestError("The request has no messages to send.", retryable=False)
        for m in self.messages:
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
                raise BadRequestError(
                    f"A message has an unknown role {m.get('role') if isinstance(m, dict) else m!r}; "
                    "use system, user or assistant.",
                    retryable=False,
                )
            if not isinstance(m.get("content"), str):
                raise BadRequestError("A message's content must be text.", retryable=False)


@dataclass(slots=True, frozen=True)
class Usage:
    """Token counts reported by the provider (``None`` when it did not say)."""

    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None or self.output_tokens is None:
            return None
        return self.input_tokens + self.output_tokens


@dataclass(slots=True)
class ChatResult:
    """The outcome of a successful chat call."""

    text: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    retries: int = 0
    provider: str = ""
    elapsed_s: float = 0.0

    @property
    def usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens)


@dataclass(slots=True, frozen=True)
class Timeouts:
    """Time limits, in seconds.

    - ``connect``: to open the TCP/TLS connection.
    - ``read``: to wait for the server to start answering (response headers / a non-streamed
      body read), and for any single read.
    - ``stall``: the longest gap between two pieces of a streamed answer.
    - ``total``: a deadline for the whole call - every attempt, the waits between retries and
      the streaming - enforced by the client itself (read timeouts reset on every chunk).
    """

    connect: float = 10.0
    read: float = 120.0
    write: float = 30.0
    stall: float = 60.0
    total: float = 600.0


# --------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------

# Things that look like API keys even when we do not know the exact key.
_KEYLIKE = re.compile(r"\b(sk-(?:ant-)?|key-|Bearer\s+)[A-Za-z0-9_\-\.]{6,}")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove every given secret and anything that looks like an API key from ``text``."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return _KEYLIKE.sub(lambda m: m.group(1) + "***", text)


def host_of(url: str) -> str:
    """``host[:port]`` of a URL for messages (the port only when it is not the default)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or url
        port = parts.port
    except ValueError:
        return url
    if port and not ((parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)):
        return f"{host}:{port}"
    return host


def provider_label(provider: str) -> str:
    return PROVIDER_LABELS.get(provider, provider or "The model server")


def _where(provider: str, host: str) -> str:
    label = provider_label(provider)
    return f"{label} at {host}" if host else label


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class LLMError(Exception):
    """Base of every model-provider error.

    Attributes: ``provider`` (``"openai"``...), ``host``, ``status`` (HTTP status or ``None``),
    ``retryable`` (whether trying again may help), ``partial_text`` (the part of the answer that
    had already streamed, possibly ``""``), ``retries`` (how many retries were made before
    giving up) and ``retry_after`` (seconds the server asked to wait, if it said).
    """

    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        host: str = "",
        status: int | None = None,
        retryable: bool | None = None,
        partial_text: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.host = host
        self.status = status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.partial_text = partial_text
        self.retry_after = retry_after
        self.retries = 0

    def __str__(self) -> str:
        msg = self.message
        if self.retries:
            msg += f" (Tried {self.retries + 1} times.)"
        if self.partial_text:
            msg += f" {len(self.partial_text)} characters of the answer had arrived."
        return msg

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"

    def __reduce__(self) -> Any:  # keep the attributes across pickling (process pools)
        return (_rebuild_error, (type(self), self.message, self.__dict__.copy()))


def _rebuild_error(cls: type[LLMError], message: str, state: dict[str, Any]) -> LLMError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class AuthenticationError(LLMError):
    """HTTP 401/403: the key is missing, wrong or lacks permission."""


class RateLimitError(LLMError):
    """HTTP 429 (after the retries), or a Retry-After longer than the policy accepts."""

    default_retryable = True


class ServerError(LLMError):
    """HTTP 5xx (and 408/409) after the retries."""

    default_retryable = True


class BadRequestError(LLMError):
    """Any other 4xx: the provider refused the request; the message carries its reason."""


class InvalidURLError(LLMError):
    """The base URL cannot be used (not http/https, malformed)."""


class ConnectError(LLMError):
    """The connection could not be opened, or closed before any answer."""

    default_retryable = True


class TimeoutError_(LLMError):
    """The server did not answer in time."""

    default_retryable = True


class DeadlineExceeded(TimeoutError_):
    """The total time limit for the call passed (including retries and streaming)."""

    default_retryable = False


class StallError(TimeoutError_):
    """A streamed answer stopped arriving: no bytes for ``Timeouts.stall`` seconds."""


class MalformedStreamError(LLMError):
    """The server sent a piece of a streamed answer (or a body) that is not valid JSON."""


class StreamErrorEvent(LLMError):
    """The server reported an error in the middle of a streamed answer."""

    def __init__(self, message: str, *, error_type: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.error_type = error_type


class IncompleteStreamError(LLMError):
    """The stream ended (EOF or disconnect) before the terminal event."""

    default_retryable = True


class RedirectRefused(LLMError):
    """The server answered with a redirect; redirects are never followed with a credential."""

    def __init__(self, message: str, *, target_host: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.target_host = target_host


class LocalModelError(LLMError):
    """The in-process model could not be used (not installed, file missing, failed to load)."""


# --------------------------------------------------------------------------------------------
# Building errors with context
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ErrorContext:
    """What an error message needs to know: who was called, and which secret to keep out."""

    provider: str
    host: str
    secret: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return _where(self.provider, self.host)

    def clean(self, text: str, limit: int = 300) -> str:
        text = redact(" ".join(str(text).split()), [self.secret])
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def make(self, cls: type[LLMError], message: str, **kw: Any) -> LLMError:
        return cls(self.clean(message, 2000), provider=self.provider, host=self.host, **kw)


def provider_error_message(body: Any) -> str:
    """Pull the human message out of a provider's error body (OpenAI and Anthropic shapes)."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail") or err.get("type")
            if msg:
                return str(msg)
        elif isinstance(err, str):
            return err
        if body.get("message"):
            return str(body["message"])
    elif isinstance(body, str):
        return body.strip()
    return ""


def error_from_status(
    ctx: ErrorContext,
    status: int,
    body: Any,
    *,
    retry_after: float | None = None,
    key_sent: bool = True,
) -> LLMError:
    """Map an HTTP error status to the typed error, with a plain-words message."""
    detail = ctx.clean(provider_error_message(body))
    why = f": {detail}" if detail else ""
    env = KEY_ENV_VARS.get(ctx.provider)
    where_key = f"in Settings or the {env} environment variable" if env else "in Settings"
    if status in (401, 403):
        if not key_sent:
            msg = (
                f"{ctx.where} asked for an API key, but none was sent (HTTP {status}{why}). "
                f"Add the key {where_key}."
            )
        elif status == 401:
            msg = f"{ctx.where} did not accept the API key (HTTP 401{why}). Check the key {where_key}."
        else:
            msg = (
                f"{ctx.where} refused access with this API key (HTTP 403{why}). "
                "The key may lack permission for this model."
            )
        return ctx.make(AuthenticationError, msg, status=status)
    if status == 429:
        return ctx.make(
            RateLimitError,
            f"{ctx.where} is limiting how fast requests may be sent (HTTP 429{why}). "
            "Wait a little and try again.",
            status=status,
            retry_after=retry_after,
        )
    if status >= 500 or status in (408, 409):
        return ctx.make(
            ServerError,
            f"{ctx.where} had a problem answering (HTTP {status}{why}). This is usually temporary.",
            status=status,
            retry_after=retry_after,
        )
    if status == 404:
        return ctx.make(
            BadRequestError,
            f"{ctx.where} answered 'not found' (HTTP 404{why}). Check the model name and the base URL.",
            status=status,
        )
    return ctx.make(BadRequestError, f"{ctx.where} rejected the request (HTTP {status}{why}).", status=status)


def is_retryable_status(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500
