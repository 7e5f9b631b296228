"""One HTTP request for the nodes that reach the web (tool.http, data.url).

* Only http:// and https:// addresses.
* Redirects are followed by hand (at most 10). When a redirect leads to another origin
  (scheme, host or port), the workflow's own headers are dropped except a few harmless ones
  (Accept, Accept-Language, User-Agent): an Authorization or API-key header is never carried to a
  host the user did not name. A 303 (and a 301/302 after a POST) continues as a GET without body.
* `timeout` bounds the whole exchange, redirects and body included; the body is read up to
  `max_bytes` and a larger answer is an error.
* No credential from the keyring is ever added here.

httpx is imported lazily, when a request is made.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from app.core import templates
from app.core.sdk import NodeError, RunContext
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

    return templates.PLACEHOLDER.sub(replace, template.strip())


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def check_url(url: str, field_name: str) -> str:
    """The URL if it is an absolute http(s) address, else a NodeError naming the field."""
    stripped = url.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError as exc:
        raise NodeError(f"the address {stripped!r} is not a valid URL: {exc}", field=field_name) from None
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
    sent_headers = dict(headers or {})
    if not any(name.lower() == "user-agent" for name in sent_headers):
        sent_headers["User-Agent"] = USER_AGENT
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(follow_redirects=False, timeout=timeout) as client,
        ):
            for _ in range(MAX_REDIRECTS + 1):
                response = await _send_once(client, method, url, sent_headers, body, max_bytes)
                location = response.headers.get("location")
                if response.status not in REDIRECT_STATUSES or not location:
                    return response
                target = urljoin(url, location)
                check_url(target, field_name)
                if _origin(target) != _origin(url):
                    dropped = sorted(name for name in sent_headers if name.lower() not in SAFE_HEADERS)
                    if dropped:
                        ctx.log(
                            f"redirected to {host_of(target)}: not sending the headers {', '.join(dropped)} there",
                            "warning",
                        )
                    sent_headers = {k: v for k, v in sent_headers.items() if k.lower() in SAFE_HEADERS}
                if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                    method, body = "GET", None
                    sent_headers = {k: v for k, v in sent_headers.items() if k.lower() != "content-type"}
                ctx.log(f"HTTP {response.status}: redirected to {target}", "debug")
                url = target
            raise NodeError(f"{host_of(url)} redirected more than {MAX_REDIRECTS} times; giving up")
    except (TimeoutError, httpx.TimeoutException):
        raise NodeError(
            f"no complete answer from {host_of(url)} within {timeout:g} s (timeout_seconds)",
            field="config.timeout_seconds",
        ) from None
    except httpx.ConnectError as exc:
        raise NodeError(f"could not connect to {host_of(url)}: {_reason(exc)}") from None
    except httpx.InvalidURL as exc:
        raise NodeError(f"the address {url!r} is not a valid URL: {exc}", field=field_name) from None
    except httpx.HTTPError as exc:
        raise NodeError(f"the request to {host_of(url)} failed: {_reason(exc)}") from None


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
    try:
        request = client.build_request(method, url, headers=headers, content=body)
    except (ValueError, TypeError) as exc:  # e.g. a header value httpx refuses
        raise NodeError(f"the request could not be built: {exc}", field="config.headers") from None
    response = await client.send(request, stream=True)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise NodeError(
                f"{host_of(url)} sent {size_text(int(declared))}; answers up to {size_text(max_bytes)} are read"
            )
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise NodeError(
                    f"{host_of(url)} sent more than {size_text(max_bytes)}; the answer was not read"
                )
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
