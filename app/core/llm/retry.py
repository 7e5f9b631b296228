"""Retries, time limits and the one HTTP request loop shared by the OpenAI and Anthropic clients.

Rules (binding for every provider):

- Retry on HTTP 408, 409, 429 and 5xx, on connection failures and on timeouts before the answer
  started; never on any other 4xx; **never once a piece of the answer has been handed to the
  caller** (``on_chunk``), whatever went wrong afterwards.
- Back off exponentially with jitter (``base_delay * 2**n``, capped at ``max_delay``, shortened by
  up to ``jitter`` of itself). A ``retry-after-ms`` or ``Retry-After`` header (seconds or an HTTP
  date) is honoured exactly; when it asks for longer than ``retry_after_cap`` the call fails at
  once with the typed error (a :class:`RateLimitError` for a 429) instead of hanging.
- ``Timeouts.total`` is a deadline for the whole call, attempts and waits included; no retry is
  started that could not finish its wait before it. ``Timeouts.stall`` bounds the gap between two
  chunks of a streamed answer.
- Redirects are never followed (the request carries a credential); a 3xx becomes
  :class:`RedirectRefused` naming the target host.
- Cancelling the calling task closes the connection at once.

httpx is imported lazily (only when a request is actually made), so importing this module is
cheap; the ``httpx``/``httpcore`` loggers are set to WARNING so URLs are never logged at INFO.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from app.core.llm.sse import SSEEvent, SSEParser
from app.core.llm.types import (
    ConnectError,
    DeadlineExceeded,
    ErrorContext,
    IncompleteStreamError,
    InvalidURLError,
    LLMError,
    MalformedStreamError,
    RateLimitError,
    RedirectRefused,
    StallError,
    TimeoutError_,
    Timeouts,
    error_from_status,
    host_of,
)

if TYPE_CHECKING:
    import httpx

ChunkCallback = Callable[[str], Any]
"""Receives each piece of streamed text, in order, on the caller's event loop thread.
It may be a plain function or return an awaitable (which is awaited)."""

_MAX_ERROR_BODY = 64 * 1024
_DRAIN_SECONDS = 2.0  # after the final event, how long to wait for the body to end


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait between attempts. ``sleep`` and ``random`` are injectable
    so tests can observe the waits (they still really wait, just for less)."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    retry_after_cap: float = 30.0
    sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep, compare=False)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, retry_index: int) -> float:
        """Delay before retry number ``retry_index + 1`` when the server gave no Retry-After."""
        delay = min(self.max_delay, self.base_delay * (2**retry_index))
        return max(0.0, delay * (1.0 - self.jitter * self.random()))

    def delay_for(self, retry_index: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(0.0, retry_after)
        return self.backoff(retry_index)


NO_RETRY = RetryPolicy(max_retries=0)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait according to ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date).

    ``None`` when neither header is present or readable."""
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000.0
            if value >= 0:
                return value
        except ValueError:
            pass
    ra = lower.get("retry-after")
    if not ra:
        return None
    ra = ra.strip()
    try:
        value = float(ra)
        return value if value >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(ra)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _httpx() -> Any:
    import httpx

    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
    return httpx


def quiet_http_loggers() -> None:
    """Set the httpx/httpcore loggers to WARNING (they log full URLs at INFO)."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def httpx_timeout(t: Timeouts) -> httpx.Timeout:
    httpx = _httpx()
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.connect)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one loads the whole CA bundle (~55 ms of CPU on the
    event loop), which httpx would otherwise do for every new client, i.e. every model call."""
    return _httpx().create_ssl_context()


def new_client(timeouts: Timeouts | None = None) -> httpx.AsyncClient:
    """An AsyncClient configured the way this layer needs it (no redirects, the shared TLS context)."""
    httpx = _httpx()
    return httpx.AsyncClient(
        follow_redirects=False, timeout=httpx_timeout(timeouts or Timeouts()), verify=_tls_context()
    )


@dataclass(slots=True)
class StreamState:
    """What has been received so far; shared by the request loop and the provider parsers."""

    on_chunk: ChunkCallback | None = None
    parts: list[str] = field(default_factory=list)
    model: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    done: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def delivered(self) -> bool:
        return bool(self.parts)

    async def emit(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        if self.on_chunk is not None:
            res = self.on_chunk(text)
            if inspect.isawaitable(res):
                await res


EventHandler = Callable[[SSEEvent, StreamState], str | None]
"""Interprets one SSE event: returns the text delta (or None), sets ``state.done`` at the
terminal event, raises an :class:`LLMError` for error events / bad JSON."""

EofHandler = Callable[[StreamState], None]
"""Called when a stream ended without the terminal event: raise, or accept what arrived."""


@dataclass(slots=True)
class HTTPCall:
    """One logical request (the loop may send it several times)."""

    ctx: ErrorContext
    method: str
    url: str
    headers: dict[str, str]
    body: Any | None = None
    stream: bool = False
    key_sent: bool = False
    on_event: EventHandler | None = None
    on_eof: EofHandler | None = None
    on_body: Callable[[Any], Any] = lambda data: data


async def execute(
    call: HTTPCall,
    *,
    client: httpx.AsyncClient | None = None,
    policy: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    state: StreamState | None = None,
) -> tuple[Any, int]:
    """Send ``call`` with retries, deadline, stall detection and redirect refusal.

    Returns ``(value, retries)``: ``value`` is ``call.on_body(json)`` for a JSON answer, or
    ``None`` when the answer was an event stream (then ``state`` holds it)."""
    httpx = _httpx()
    policy = policy or RetryPolicy()
    timeouts = timeouts or Timeouts()
    state = state if state is not None else StreamState()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeouts.total
    own = client is None
    if client is None:
        client = new_client(timeouts)
    retries = 0
    try:
        while True:
            dl = asyncio.timeout_at(deadline)
            try:
                async with dl:
                    value = await _attempt(httpx, client, call, state, timeouts)
                return value, retries
            except TimeoutError:
                if not dl.expired():
                    raise
                err: LLMError = call.ctx.make(
                    DeadlineExceeded,
                    f"{call.ctx.where} did not finish within the {_secs(timeouts.total)} time limit "
                    "for one request.",
                    partial_text=state.text,
                )
                err.retries = retries
                raise err from None
            except LLMError as exc:
                exc.retries = retries
                if state.delivered and not exc.partial_text:
                    exc.partial_text = state.text
                if not exc.retryable or state.delivered or retries >= policy.max_retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > policy.retry_after_cap:
                    raise _fail_fast(exc, policy) from None
                delay = policy.delay_for(retries, exc.retry_after)
                if loop.time() + delay >= deadline:
                    raise
                await policy.sleep(delay)
                retries += 1
    finally:
        if own:
            await client.aclose()


def _fail_fast(exc: LLMError, policy: RetryPolicy) -> LLMError:
    cls = RateLimitError if exc.status == 429 else type(exc)
    err = cls(
        exc.message + f" It asked to wait {_secs(exc.retry_after or 0)} before trying again, longer than the "
        f"{_secs(policy.retry_after_cap)} Chainwright waits, so it stopped; try again later.",
        provider=exc.provider,
        host=exc.host,
        status=exc.status,
        retryable=False,
        retry_after=exc.retry_after,
    )
    err.retries = exc.retries
    return err


def _secs(s: float) -> str:
    return f"{s:.0f} s" if s >= 10 or float(s).is_integer() else f"{s:.1f} s"


async def _attempt(
    httpx: Any, client: httpx.AsyncClient, call: HTTPCall, state: StreamState, timeouts: Timeouts
) -> Any:
    ctx = call.ctx
    try:
        request = client.build_request(
            call.method, call.url, headers=call.headers, json=call.body, timeout=httpx_timeout(timeouts)
        )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, TypeError, ValueError) as exc:
        raise ctx.make(
            InvalidURLError, f"The address {call.url!r} for {ctx.where} cannot be used: {exc}."
        ) from None
    try:
        response = await client.send(request, stream=True, follow_redirects=False)
    except httpx.ConnectTimeout:
        raise ctx.make(
            ConnectError,
            f"Could not connect to {ctx.where} within {_secs(timeouts.connect)}. "
            "Check the base URL and your network.",
        ) from None
    except httpx.TimeoutException:
        raise ctx.make(
            TimeoutError_, f"{ctx.where} did not start answering within {_secs(timeouts.read)}."
        ) from None
    except httpx.UnsupportedProtocol as exc:
        raise ctx.make(
            InvalidURLError,
            f"The address for {ctx.where} must start with http:// or https:// ({exc}).",
        ) from None
    except httpx.ConnectError as exc:
        raise ctx.make(
            ConnectError,
            f"Could not connect to {ctx.where} ({_reason(exc)}). "
            "Check that the server is running and the base URL is right.",
        ) from exc
    except httpx.TransportError as exc:
        raise ctx.make(
            ConnectError, f"The connection to {ctx.where} failed before an answer arrived ({_reason(exc)})."
        ) from exc
    try:
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            target = urljoin(call.url, location) if location else ""
            target_host = host_of(target) if target else "another address"
            raise ctx.make(
                RedirectRefused,
                f"{ctx.where} redirected the request to {target_host} (HTTP {status}). Chainwright does "
                "not follow redirects for model requests, so your API key stays with the host it "
                "belongs to. If that address is right, use it as the base URL.",
                status=status,
                target_host=target_host,
            )
        if status >= 400:
            data = await _read_error_body(httpx, response)
            raise error_from_status(
                ctx,
                status,
                data,
                retry_after=parse_retry_after(response.headers),
                key_sent=call.key_sent,
            )
        ctype = response.headers.get("content-type", "").lower()
        if call.stream and "text/event-stream" in ctype and call.on_event is not None:
            await _consume_sse(httpx, response, call, state, timeouts)
            return None
        try:
            raw = await response.aread()
        except httpx.TimeoutException:
            raise ctx.make(
                TimeoutError_, f"{ctx.where} did not send the whole answer within {_secs(timeouts.read)}."
            ) from None
        except httpx.TransportError as exc:
            raise ctx.make(
                IncompleteStreamError,
                f"The connection to {ctx.where} ended before the answer was complete ({_reason(exc)}).",
            ) from None
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ctx.make(
                MalformedStreamError,
                f"{ctx.where} sent an answer that is not valid JSON"
                + (f" (starting {raw[:60].decode('utf-8', 'replace')!r})." if raw else " (it was empty)."),
            ) from None
        return call.on_body(data)
    finally:
        await response.aclose()


async def _consume_sse(
    httpx: Any, response: httpx.Response, call: HTTPCall, state: StreamState, timeouts: Timeouts
) -> None:
    ctx = call.ctx
    assert call.on_event is not None
    loop = asyncio.get_running_loop()
    parser = SSEParser()
    stall = asyncio.timeout(timeouts.stall)
    try:
        async with stall, contextlib.aclosing(response.aiter_bytes()) as byte_chunks:
            async for chunk in byte_chunks:
                if state.done:
                    continue  # drain what follows the final event (normally nothing) to reuse the connection
                stall.reschedule(loop.time() + timeouts.stall)
                for ev in parser.feed(chunk):
                    delta = call.on_event(ev, state)
                    if delta:
                        await state.emit(delta)
                    if state.done:
                        stall.reschedule(loop.time() + min(timeouts.stall, _DRAIN_SECONDS))
                        break
                else:
                    stall.reschedule(loop.time() + timeouts.stall)
    except TimeoutError:
        if not stall.expired():
            raise
        if state.done:
            return
        raise _stall_error(ctx, state, timeouts.stall) from None
    except httpx.TimeoutException:
        if state.done:
            return
        raise _stall_error(ctx, state, timeouts.read) from None
    except httpx.TransportError as exc:
        if state.done:
            return
        raise ctx.make(
            IncompleteStreamError,
            f"The connection to {ctx.where} ended before the answer was complete ({_reason(exc)}).",
            partial_text=state.text,
        ) from None
    if state.done:
        return
    parser.close()
    if call.on_eof is not None:
        call.on_eof(state)
    if not state.done:
        raise ctx.make(
            IncompleteStreamError,
            f"The stream from {ctx.where} ended before the answer was complete.",
            partial_text=state.text,
        )


def _stall_error(ctx: ErrorContext, state: StreamState, seconds: float) -> LLMError:
    return ctx.make(
        StallError,
        f"{ctx.where} stopped sending the answer: nothing arrived for {_secs(seconds)}.",
        partial_text=state.text,
    )


async def _read_error_body(httpx: Any, response: httpx.Response) -> Any:
    raw = b""
    try:
        async with contextlib.aclosing(response.aiter_bytes()) as byte_chunks:
            async for chunk in byte_chunks:
                raw += chunk
                if len(raw) > _MAX_ERROR_BODY:
                    break
    except httpx.HTTPError:
        pass
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:500].decode("utf-8", "replace")


def _reason(exc: BaseException) -> str:
    """A short plain reason for a transport failure, found along the exception chain."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 20:
        e = todo.pop(0)
        seen.append(e)
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return "the host name could not be found"
        if isinstance(e, ConnectionResetError):
            return "the connection was reset"
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        for nxt in (e.__cause__, e.__context__):
            if nxt is not None and nxt not in seen:
                todo.append(nxt)
    text = str(exc).strip()
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name could not be found"
    return text or type(exc).__name__


async def fetch_model_ids(
    url: str,
    headers: dict[str, str],
    *,
    provider: str,
    api_key: str | None,
    client: httpx.AsyncClient | None = None,
    policy: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
) -> list[str]:
    """Sorted model ids from a `GET .../models` answer shaped `{"data": [{"id": ...}, ...]}` (both protocols)."""
    ctx = ErrorContext(provider, host_of(url), api_key)

    def on_body(data: Any) -> list[str]:
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ctx.make(MalformedStreamError, f"{ctx.where} sent a model list in an unknown shape.")
        return sorted({str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")})

    call = HTTPCall(ctx=ctx, method="GET", url=url, headers=headers, key_sent=bool(api_key), on_body=on_body)
    value, _ = await execute(call, client=client, policy=policy, timeouts=timeouts or Timeouts(total=60.0))
    return value
