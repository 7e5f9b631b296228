from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nodes.helpers import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running
