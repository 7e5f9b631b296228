"""Running one node directly, and loopback HTTP servers for the node tests (never the internet)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app.core.registry import default_registry
from app.core.sdk import NodeError, RunContext


@dataclass
class Ran:
    outputs: dict[str, Any]
    logs: list[tuple[str, str]]


def node_type(type_id: str):
    found = default_registry().get(type_id)
    assert found is not None, f"{type_id} is not in the catalogue"
    return found


def make_context(tmp_path: Path | None = None, **kwargs: Any) -> tuple[RunContext, list[tuple[str, str]]]:
    logs: list[tuple[str, str]] = []
    ctx = RunContext(
        node_id="n",
        workflow_dir=tmp_path or Path.cwd(),
        on_log=lambda message, level: logs.append((level, message)),
        **kwargs,
    )
    return ctx, logs


def run_node(
    type_id: str,
    config: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    tmp_path: Path | None = None,
    **ctx: Any,
) -> Ran:
    node = node_type(type_id).from_config(config)
    context, logs = make_context(tmp_path, **ctx)
    outputs = asyncio.run(node.run(dict(inputs or {}), context))
    return Ran(outputs, logs)


def node_error(
    type_id: str,
    config: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    tmp_path: Path | None = None,
    **ctx: Any,
) -> NodeError:
    try:
        run_node(type_id, config, inputs, tmp_path, **ctx)
    except NodeError as exc:
        return exc
    raise AssertionError(f"{type_id} did not fail")


# --- a loopback HTTP server ------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def json(cls, value: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(value), {"Content-Type": "application/json"})


Handler = Callable[[Request], Reply]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1: `routes` maps a path (without the query) to a handler."""

    def __init__(self, routes: dict[str, Handler | Reply] | None = None) -> None:
        self.routes: dict[str, Handler | Reply] = dict(routes or {})
        self.requests: list[Request] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                server.requests.append(request)
                route = server.routes.get(self.path.split("?", 1)[0])
                reply = (
                    Reply(404, "no such page")
                    if route is None
                    else (route if isinstance(route, Reply) else route(request))
                )
                if reply.delay:
                    threading.Event().wait(reply.delay)
                data = reply.body.encode() if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "text/plain; charset=utf-8", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
