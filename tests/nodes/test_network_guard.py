"""tool.http and data.url in restricted mode: no loopback, private or metadata addresses, redirects included."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.core.sdk import NodeError, RunContext
from app.core.settings import Settings
from nodes.data import FetchPage
from nodes.tool import HttpRequest


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = b"<html><title>t</title><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run(node: Any, restricted: bool, settings: Settings | None = None) -> dict:
    context = RunContext(node_id="web", restricted=restricted, settings=settings or Settings())
    return asyncio.run(node.run({}, context))


@pytest.mark.parametrize(
    "make",
    [lambda url: HttpRequest.from_config({"url": url}), lambda url: FetchPage.from_config({"url": url})],
)
def test_restricted_workflows_cannot_reach_this_computer(make: Any, local_server: str) -> None:
    node = make(local_server + "/page")
    assert run(node, restricted=False)  # trusted: allowed
    with pytest.raises(NodeError, match="loopback") as caught:
        run(node, restricted=True)
    assert caught.value.field == "config.url"


def test_a_redirect_to_the_metadata_service_is_refused_at_the_hop(local_server: str) -> None:
    node = HttpRequest.from_config({"url": local_server + "/redirect"})
    allow_local = Settings(allowed_hosts=["127.0.0.1"])
    with pytest.raises(NodeError, match=r"link-local .*169\.254\.169\.254"):
        run(node, restricted=True, settings=allow_local)


def test_allowed_hosts_and_the_opt_in_setting(local_server: str) -> None:
    node = HttpRequest.from_config({"url": local_server + "/page"})
    assert run(node, restricted=True, settings=Settings(allowed_hosts=["127.0.0.1"]))["status"] == 200
    with pytest.raises(NodeError, match="loopback"):
        run(node, restricted=False, settings=Settings(guard_network_when_trusted=True))


def test_non_http_schemes_are_refused(local_server: str) -> None:
    with pytest.raises(NodeError, match="http"):
        run(HttpRequest.from_config({"url": "file:///etc/passwd"}), restricted=False)
