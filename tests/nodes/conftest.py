from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nodes.helpers import LoopbackServer


@pytest.fixture
def web() -> Iterator[LoopbackServer]:
    """A loopback HTTP server; set `web.routes[path]` to a Reply or a handler."""
    with LoopbackServer() as running:
        yield running
