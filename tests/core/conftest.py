"""Fixtures for the model-provider tests: loopback fake LLM servers and an asyncio runner.

(tests/conftest.py already isolates HOME/XDG, removes provider variables and installs an
in-memory keyring for every test.)
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from tests.fakes.fake_llm import FakeLLMServer

T = TypeVar("T")


def second_loopback_host() -> str:
    """127.0.0.2 when it can be bound (Linux: all of 127/8 is loopback), else 127.0.0.1."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.2", 0))
        return "127.0.0.2"
    except OSError:
        return "127.0.0.1"


@pytest.fixture
def fake_llm() -> Iterator[FakeLLMServer]:
    """A fake OpenAI + Anthropic server on 127.0.0.1 (random port), no key required."""
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
def fake_llm_factory() -> Iterator[Callable[..., FakeLLMServer]]:
    """Start more fake servers: ``fake_llm_factory(host=..., key=..., ...)``; all stopped at the end."""
    started: list[FakeLLMServer] = []

    def make(**kw: Any) -> FakeLLMServer:
        srv = FakeLLMServer(**kw).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


def run_async(coro: Coroutine[Any, Any, T], *, check_tasks: bool = True) -> T:
    """``asyncio.run`` that also fails if the coroutine left tasks running behind it."""

    async def wrapper() -> T:
        result = await coro
        if check_tasks:
            # a few loop turns: finalizers of abandoned async generators (httpx streams after an
            # error or a cancellation) are scheduled as short tasks that end at once
            for _ in range(5):
                await asyncio.sleep(0)
            left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
            assert not left, f"tasks left running: {left}"
        return result

    return asyncio.run(wrapper())


@pytest.fixture
def arun() -> Callable[..., Any]:
    return run_async
