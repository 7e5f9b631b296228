"""One HTTP request for the nodes that reach the web (tool.http, data.url).

* Only http:// and https:// addresses.
* Redirects are followed by hand (at most 10). When a redirect leads to another origin
  (scheme, host or port), the workflow's own headers are dropped except a few harmless ones
  (Accept, Accept-Language, User-Agent): an Authorization or API-key header is never carried to a
  host the user did not name. A 303 (and a 301/302 after a POST) continues as a GET without body.
* `timeout` bounds the whole exchange, redirects and body included; the body is read up to
  `max_bytes` and a larger answer is an error.
* No credential from the keyring is ever added here.
* In restricted mode (an untrusted workflow), and when Settings ask for it, every hop is checked
  against `app.core.netguard` first: no loopback, private, link-local or metadata addresses.

httpx is imported lazily, when a request is made.

`fetch` (asyncio, for the app) and `fetch_blocking` (for exported scripts) share everything but
the transport: URL checks, the redirect rule (`next_hop`), the size limit and the error messages
(`request_failure`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from app.core.sdk import NodeError, RunContext
from app.core.templates import PLACEHOLDER
from app.core.values import to_text
from nodes._common import missing_placeholder, size_text

if TYPE_CHECKING:
    import httpx

MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers kept when a redirect leads to another origin.
SAFE_HEADERS = frozenset({"accept", "accept-language", "user-agent"})
USER_AGENT = "Chainwright/0.1"

# httpx logs every request URL at INFO; a URL may carry a token in its query.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


@dataclass
class Response:
    status: int
    reason: str
    url: str
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"').lower()
        return None

    @property
    def text(self) -> str:
        charset = self.charset or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name
            return self.content.decode("utf-8", errors="replace")


def fill_url(template: str, values: dict[str, Any]) -> str:
    """Fill the {{placeholders}} of a URL template.

    A placeholder at the very start of the URL is inserted as written: it is (the start of) the
    address, as in `{{base_url}}/search`. Every other placeholder is percent-encoded, so that a
    value such as "fish & chips" or "a/b" arrives as one value of the query or one path segment.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise missing_placeholder(name)
        text = to_text(values[name])
        return text if match.start() == 0 else quote(text, safe="")

    return PLACEHOLDER.sub(replace, template.strip())


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def check_url(url: str, field_name: str) -> str:
    """The URL if it is an absolute http(s) address, else a NodeError naming the field."""
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError as exc:
        message = f"the address {stripped!r} is not a valid URL: {exc}"
        raise NodeError(message, field=field_name) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise NodeError(
            f"the address {stripped!r} must start with http:// or https://",
            field=field_name,
        )
    if not parts.hostname:
        raise NodeError(f"the address {stripped!r} has no host name", field=field_name)
    return stripped


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


@dataclass
class Hop:
    """The request a redirect leads to."""

    url: str
    method: str
    headers: dict[str, str]
    body: bytes | None
    dropped: list[str]


def next_hop(
    response: Response,
    url: str,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    field_name: str,
) -> Hop | None:
    """Where a redirect answer leads (None: it is the final answer). Headers other than a few
    harmless ones are not carried to another origin; a 303 (and a 301/302 after a POST) goes on as
    a GET without body."""
    location = response.headers.get("location")
    if response.status not in REDIRECT_STATUSES or not location:
        return None
    target = check_url(urljoin(url, location), field_name)
    dropped: list[str] = []
    if _origin(target) != _origin(url):
        dropped = sorted(name for name in headers if name.lower() not in SAFE_HEADERS)
        headers = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
    if response.status == 303 or (response.status in (301, 302) and method == "POST"):
        method, body = "GET", None
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return Hop(target, method, headers, body, dropped)


def with_user_agent(headers: dict[str, str] | None) -> dict[str, str]:
    sent = dict(headers or {})
    if not any(name.lower() == "user-agent" for name in sent):
        sent["User-Agent"] = USER_AGENT
    return sent


def request_failure(exc: Exception, url: str, timeout: float, field_name: str) -> NodeError:
    """The plain-words error for a request that failed on the way (no answer to read)."""
    import httpx

    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return NodeError(
            f"no complete answer from {host_of(url)} within {timeout:g} s (timeout_seconds)",
            field="config.timeout_seconds",
        )
    if isinstance(exc, httpx.ConnectError):
        return NodeError(f"could not connect to {host_of(url)}: {_reason(exc)}")
    if isinstance(exc, httpx.InvalidURL):
        return NodeError(f"the address {url!r} is not a valid URL: {exc}", field=field_name)
    return NodeError(f"the request to {host_of(url)} failed: {_reason(exc)}")


def too_many_redirects(url: str) -> NodeError:
    return NodeError(f"{host_of(url)} redirected more than {MAX_REDIRECTS} times; giving up")


def answer_too_large(url: str, received: int, max_bytes: int, declared: bool) -> NodeError:
    host, limit = host_of(url), size_text(max_bytes)
    if declared:
        return NodeError(f"{host} sent {size_text(received)}; answers up to {limit} are read")
    return NodeError(f"{host} sent more than {limit}; the answer was not read")


def build_request(
    client: Any,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
) -> Any:
    try:
        return client.build_request(method, url, headers=headers, content=body)
    except (ValueError, TypeError) as exc:  # e.g. a header value httpx refuses
        raise NodeError(f"the request could not be built: {exc}", field="config.headers") from None


def fetch_blocking(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
    max_bytes: int = 20 * 1024 * 1024,
    field_name: str = "config.url",
    log: Callable[[str, str], None] | None = None,
) -> Response:
    """Send one request (following redirects as described above) and read the whole answer."""
    import httpx

    url = check_url(url, field_name)
    sent_headers = with_user_agent(headers)
    deadline = time.monotonic() + timeout
    try:
        with httpx.Client(follow_redirects=False, timeout=timeout) as client:
            for _ in range(MAX_REDIRECTS + 1):
                request = build_request(client, method, url, sent_headers, body)
                response = client.send(request, stream=True)
                try:
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise answer_too_large(url, int(declared), max_bytes, declared=True)
                    chunks: list[bytes] = []
                    received = 0
                    for chunk in response.iter_bytes():
                        received += len(chunk)
                        if received > max_bytes:
                            raise answer_too_large(url, received, max_bytes, declared=False)
                        if time.monotonic() > deadline:
                            raise TimeoutError()
                        chunks.append(chunk)
                finally:
                    response.close()
                answer = Response(
                    status=response.status_code,
                    reason=response.reason_phrase,
                    url=url,
                    content=b"".join(chunks),
                    headers={k.lower(): v for k, v in response.headers.items()},
                )
                hop = next_hop(answer, url, method, sent_headers, body, field_name)
                if hop is None:
                    return answer
                if hop.dropped and log is not None:
                    dropped = ", ".join(hop.dropped)
                    log(
                        f"redirected to {host_of(hop.url)}: not sending the headers {dropped} there",
                        "warning",
                    )
                url, method, sent_headers, body = hop.url, hop.method, hop.headers, hop.body
            raise too_many_redirects(url)
    except (TimeoutError, httpx.HTTPError) as exc:
        raise request_failure(exc, url, timeout, field_name) from None


async def fetch(
    ctx: RunContext,
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
    max_bytes: int = 20 * 1024 * 1024,
    field_name: str = "config.url",
) -> Response:
    """Send one request (following redirects as described above) and read the whole answer."""
    import httpx

    url = check_url(url, field_name)
    sent_headers = with_user_agent(headers)
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(follow_redirects=False, timeout=timeout) as client,
        ):
            for _ in range(MAX_REDIRECTS + 1):
                await guard_address(ctx, url, field_name)
                response = await _send_once(client, method, url, sent_headers, body, max_bytes)
                hop = next_hop(response, url, method, sent_headers, body, field_name)
                if hop is None:
                    return response
                if hop.dropped:
                    ctx.log(
                        f"redirected to {host_of(hop.url)}: not sending the headers {', '.join(hop.dropped)} there",
                        "warning",
                    )
                ctx.log(f"HTTP {response.status}: redirected to {hop.url}", "debug")
                url, method, sent_headers, body = hop.url, hop.method, hop.headers, hop.body
            raise too_many_redirects(url)
    except (TimeoutError, httpx.HTTPError) as exc:
        raise request_failure(exc, url, timeout, field_name) from None


async def guard_address(ctx: RunContext, url: str, field_name: str) -> None:
    """Untrusted workflows (and trusted ones when the setting asks) may not reach this computer, private
    networks or metadata services: checked on the resolved addresses, for every redirect hop."""
    settings = ctx.get_settings()
    if not (ctx.restricted or settings.guard_network_when_trusted):
        return
    from app.core.netguard import BlockedURLError, check_url

    try:
        await asyncio.to_thread(check_url, url, allowed_hosts=settings.allowed_hosts)
    except BlockedURLError as exc:
        raise NodeError(str(exc), field=field_name) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if not text and exc.__cause__ is not None:
        text = str(exc.__cause__).strip()
    return text or type(exc).__name__


async def _send_once(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    max_bytes: int,
) -> Response:
    request = build_request(client, method, url, headers, body)
    response = await client.send(request, stream=True)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise answer_too_large(url, int(declared), max_bytes, declared=True)
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise answer_too_large(url, received, max_bytes, declared=False)
            chunks.append(chunk)
    finally:
        await response.aclose()
    return Response(
        status=response.status_code,
        reason=response.reason_phrase,
        url=url,
        content=b"".join(chunks),
        headers={k.lower(): v for k, v in response.headers.items()},
    )
