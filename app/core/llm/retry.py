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
- Calls made without a ``client`` lease one of the event loop's shared clients
  (:func:`shared_client`): one origin (scheme + host + port) each, one call at a time, no cookies,
  no default headers; their connections are reused by later calls to the same origin, and they
  are closed when the loop shuts down (``asyncio.run``) or by :func:`aclose_shared_clients`.

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
import os
import random
import socket
import ssl
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

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


_HTTP_LOGGERS = (logging.getLogger("httpx"), logging.getLogger("httpcore"))


def _httpx() -> Any:
    import httpx

    for logger in _HTTP_LOGGERS:  # they log full URLs at INFO
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
def _tls_context(cert_file: str | None = None, cert_dir: str | None = None) -> ssl.SSLContext:
    """One TLS context per process (and CA bundle setting): building one loads the whole CA bundle
    (~55 ms of CPU on the event loop), which httpx would otherwise do for every new client."""
    return _httpx().create_ssl_context()


#: Environment variables that shape a client when it is made (proxies and the CA bundle, read by
#: httpx at construction): a change to any of them gets a new shared client.
_CLIENT_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def _client_config() -> tuple[str | None, ...]:
    env = os.environ
    return tuple(env.get(name) for name in _CLIENT_ENV)


class _NoCookies(CookieJar):
    """A cookie jar that never keeps anything: a shared client must not carry what one answer set
    (a session cookie, say) into the next request."""

    def set_cookie(self, cookie: Any) -> None:
        pass

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass


def new_client(timeouts: Timeouts | None = None) -> httpx.AsyncClient:
    """An AsyncClient configured the way this layer needs it: no redirects, the shared TLS context,
    no cookie jar and no default headers (every request brings its own, credential included)."""
    httpx = _httpx()
    cfg = _client_config()
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx_timeout(timeouts or Timeouts()),
        verify=_tls_context(cfg[-2], cfg[-1]),
        cookies=_NoCookies(),
    )


# -- clients shared within an event loop -----------------------------------------------------------
#
# Why not one AsyncClient for everything: httpcore 1.0's pool rescans every connection (asking
# each socket whether it is readable) whenever a request starts or an answer ends, so with 64
# calls in flight one pool costs more CPU than the connections save. Instead each event loop keeps
# idle clients per configuration and origin; a call leases one for its whole life (retries
# included) and gives it back, so every client has one connection, to one host, used by one call at
# a time, and the next call to that host reuses it (no new client, no TCP connect, no TLS
# handshake).

_IDLE_PER_ORIGIN = 64  # idle clients kept per origin and configuration; more are closed on return

_Key = tuple[tuple[str | None, ...], str, str, int | None]


def _origin_key(url: str) -> _Key:
    try:
        parts = urlsplit(url)
        origin = (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)
    except ValueError:
        origin = ("", url, None)
    return (_client_config(), *origin)


class _LoopClients:
    """The shared clients of one event loop.

    They are closed when the loop shuts down its async generators - ``asyncio.run`` and
    ``asyncio.Runner`` do, after cancelling the loop's tasks - through :meth:`_closer`, an async
    generator started on the loop for that purpose (so no task is left behind), or by
    :func:`aclose_shared_clients`."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop_ref = weakref.ref(loop)
        self.idle: dict[_Key, list[httpx.AsyncClient]] = {}
        self.every: set[httpx.AsyncClient] = set()
        self.closer: AsyncGenerator[None, None] | None = None
        self.closed = False

    async def start(self) -> None:
        self.closer = self._closer()
        await anext(self.closer)  # registers it with the running loop's async-generator hooks

    async def _closer(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await self.aclose()

    def lease(self, key: _Key) -> httpx.AsyncClient:
        idle = self.idle.get(key)
        while idle:
            client = idle.pop()
            if not client.is_closed:
                return client
            self.every.discard(client)
        client = new_client()
        self.every.add(client)
        return client

    async def give_back(self, key: _Key, client: httpx.AsyncClient) -> None:
        if client.is_closed:
            self.every.discard(client)
            return
        idle = self.idle.setdefault(key, [])
        if self.closed or len(idle) >= _IDLE_PER_ORIGIN or key[0] != _client_config():
            self.every.discard(client)
            await client.aclose()
        else:
            idle.append(client)

    async def aclose(self) -> None:
        self.closed = True
        loop = self.loop_ref()
        with _loop_clients_lock:
            if loop is not None and _loop_clients.get(loop) is self:
                del _loop_clients[loop]
        clients, self.every, self.idle = list(self.every), set(), {}
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()


_loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
    weakref.WeakKeyDictionary()
)
_loop_clients_lock = threading.Lock()


async def _loop_entry() -> _LoopClients:
    loop = asyncio.get_running_loop()
    entry = _loop_clients.get(loop)
    if entry is None or entry.closed:
        entry = _LoopClients(loop)
        with _loop_clients_lock:
            # loops closed without shutting down their async generators: forget their clients
            for old in [lp for lp in _loop_clients if lp.is_closed()]:
                del _loop_clients[old]
            _loop_clients[loop] = entry
        await entry.start()
    return entry


@contextlib.asynccontextmanager
async def shared_client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Lease the running loop's shared client for ``url``'s origin (scheme, host, port) for one
    call; it goes back to the loop's idle clients afterwards, keeping its connection open for the
    next call to that origin.

    Safe to share: a client only ever talks to one origin, so its connection never carries a
    request to another host; requests bring their own headers and the client keeps no cookies, so
    nothing of one request reaches another; one call at a time uses it."""
    entry = await _loop_entry()
    key = _origin_key(url)
    client = entry.lease(key)
    try:
        yield client
    finally:
        await entry.give_back(key, client)


async def aclose_shared_clients() -> None:
    """Close the running loop's shared clients now (a loop that is stopped and closed without
    ``loop.shutdown_asyncgens()`` should call this before it stops). The next call makes new ones."""
    entry = _loop_clients.get(asyncio.get_running_loop())
    if entry is not None:
        closer = entry.closer
        await entry.aclose()
        if closer is not None:
            await closer.aclose()


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
    policy = policy or RetryPolicy()
    timeouts = timeouts or Timeouts()
    state = state if state is not None else StreamState()
    if client is None:
        async with shared_client(call.url) as leased:
            return await _execute(call, leased, policy, timeouts, state)
    return await _execute(call, client, policy, timeouts, state)


async def _execute(
    call: HTTPCall, client: httpx.AsyncClient, policy: RetryPolicy, timeouts: Timeouts, state: StreamState
) -> tuple[Any, int]:
    httpx = _httpx()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeouts.total
    retries = 0
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


class _StallTimer:
    """Expires an entered :func:`asyncio.timeout` once nothing has happened for ``seconds``.

    Moving the deadline with every chunk costs one clock read (:meth:`touch`): the timer re-arms
    itself when it fires before the deadline. Rescheduling the ``asyncio.Timeout`` itself on every
    chunk would make and cancel a timer handle each time, which the event loop then sifts out of
    its heap - CPU that, with many calls streaming at once, one call takes from the others."""

    __slots__ = ("_handle", "_last", "_loop", "_seconds", "_timeout")

    def __init__(self, timeout: asyncio.Timeout, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._seconds = seconds
        self._last = self._loop.time()
        self._handle = self._loop.call_at(self._last + seconds, self._check)

    def touch(self) -> None:
        self._last = self._loop.time()

    def shorten(self, seconds: float) -> None:
        """From now on allow at most ``seconds`` of silence (counted from now)."""
        self._last = self._loop.time()
        if seconds < self._seconds:
            self._seconds = seconds
            self._handle.cancel()
            self._handle = self._loop.call_at(self._last + seconds, self._check)

    def cancel(self) -> None:
        self._handle.cancel()

    def _check(self) -> None:
        due = self._last + self._seconds
        now = self._loop.time()
        if now < due:
            self._handle = self._loop.call_at(due, self._check)
        else:
            with contextlib.suppress(RuntimeError):  # the block has already been left
                self._timeout.reschedule(now)


async def _consume_sse(
    httpx: Any, response: httpx.Response, call: HTTPCall, state: StreamState, timeouts: Timeouts
) -> None:
    ctx = call.ctx
    on_event = call.on_event
    assert on_event is not None
    parser = SSEParser()
    stall = asyncio.timeout(None)
    try:
        async with stall, contextlib.aclosing(response.aiter_bytes()) as byte_chunks:
            timer = _StallTimer(stall, timeouts.stall)
            try:
                async for chunk in byte_chunks:
                    if state.done:
                        continue  # drain what follows the final event (normally nothing) to reuse the connection
                    timer.touch()
                    for ev in parser.feed(chunk):
                        delta = on_event(ev, state)
                        if delta:
                            await state.emit(delta)
                        if state.done:
                            timer.shorten(min(timeouts.stall, _DRAIN_SECONDS))
                            break
                    else:
                        timer.touch()  # the consumer may have taken a while with the chunks
            finally:
                timer.cancel()
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
