"""Where workflow nodes may send requests (SSRF guard).

`check_url` refuses schemes other than http(s) and hosts that resolve to loopback, private,
link-local (cloud metadata at 169.254.169.254 included), multicast, reserved or unspecified
addresses — checked on the addresses DNS returns, so a public-looking name that points inside
is refused too. Callers check every redirect hop. Hosts the user allowed in Settings pass.

It applies to untrusted workflows (restricted mode) and, as an opt-in setting, to trusted ones.
Known limit: a name whose DNS answer changes between this check and the connection (DNS
rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]


class BlockedURLError(ValueError):
    """A URL a node may not fetch, with the reason in plain words."""


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return sorted({str(info[4][0]) for info in infos})


def address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, what in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "this computer (loopback)"),
        ("is_link_local", "a link-local address (such as a cloud metadata service)"),
        ("is_private", "a private network"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, flag):
            return what
    return None


def check_url(url: str, *, allowed_hosts: Iterable[str] = (), resolve: Resolver | None = None) -> None:
    """Raise BlockedURLError if a restricted workflow may not fetch `url`."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BlockedURLError(f"'{url}' is not a valid address ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedURLError(f"only http and https addresses may be fetched, not '{parts.scheme or url}'")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise BlockedURLError(f"'{url}' names no host")
    if host in {h.strip().lower() for h in allowed_hosts}:
        return
    try:
        addresses = [host] if _is_ip(host) else (resolve or _system_resolver)(host, port)
    except OSError as exc:
        raise BlockedURLError(f"the host '{host}' could not be found ({exc})") from None
    for address in addresses:
        problem = address_problem(address)
        if problem:
            raise BlockedURLError(
                f"'{host}' points to {problem} ({address}); untrusted workflows may not reach it. "
                "Trust the workflow, or allow the host in Settings"
            )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
