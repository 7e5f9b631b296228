"""The incremental SSE parser, the price table and the import-cost rules of the llm package."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.llm.pricing import Price, cost_usd, find_price, merge_prices
from app.core.llm.sse import SSEEvent, SSEParser, aiter_sse

STREAM = (
    b": keep-alive comment\r\n"
    b"event: message_start\r\n"
    b'data: {"a": 1}\r\n'
    b"\r\n"
    b"data: line one\n"
    b"data: line two\n"
    b"id: 7\n"
    b"retry: 1500\n"
    b"\n"
    b"data:no-space\r\r"
    + "data: caf\u00e9 \u2603\n\n".encode()
    + b"event: ping\ndata\n\n"
    + b"event: dangling\ndata: never terminated"
)
EXPECTED = [
    SSEEvent("message_start", '{"a": 1}'),
    SSEEvent("message", "line one\nline two", id="7", retry=1500),
    SSEEvent("message", "no-space", id="7"),
    SSEEvent("message", "caf\u00e9 \u2603", id="7"),
    SSEEvent("ping", "", id="7"),
]


def test_whole_stream():
    p = SSEParser()
    assert p.feed(STREAM) + p.close() == EXPECTED
    assert p.pending  # the unterminated last event was dropped, as the spec says


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_any_chunking_gives_the_same_events(size):
    p = SSEParser()
    out: list[SSEEvent] = []
    for i in range(0, len(STREAM), size):  # splits CRLFs, UTF-8 sequences, field names
        out += p.feed(STREAM[i : i + size])
    assert out + p.close() == EXPECTED


def test_bom_events_without_data_and_openai_done():
    p = SSEParser()
    assert p.feed("\ufeffdata: x\n\nevent: only-name\n\n".encode()) == [SSEEvent("message", "x")]
    assert p.feed(b"data: [DONE]\n\n") == [SSEEvent("message", "[DONE]")]


def test_aiter_sse_over_an_async_byte_stream():
    async def source():
        for i in range(0, len(STREAM), 4):
            yield STREAM[i : i + 4]

    async def collect():
        return [e async for e in aiter_sse(source())]

    assert asyncio.run(collect()) == EXPECTED


# -- pricing ------------------------------------------------------------------------------------


def test_prices_of_well_known_models_and_dated_variants():
    assert cost_usd("openai", "gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert cost_usd("openai", "gpt-4o-mini-2024-07-18", 1000, 0) == pytest.approx(0.00015)
    assert find_price("openai", "gpt-4o-2024-08-06") == Price(2.5, 10.0)  # not gpt-4o-mini's
    assert find_price("anthropic", "claude-3-5-haiku-20241022") == Price(0.8, 4.0)
    assert find_price("anthropic", "claude-3-5-haiku-latest") == Price(0.8, 4.0)
    assert find_price("anthropic", "claude-sonnet-4-5-20250929") == find_price(
        "anthropic", "claude-sonnet-4-5"
    )
    assert find_price("openai", "gpt-4o-mini-tts") is None  # another model, not a version


def test_free_unknown_and_overrides():
    assert cost_usd("local", "smollm2-135m", 100, 100) == 0.0
    assert cost_usd("ollama", "llama3", 100, 100) == 0.0
    assert cost_usd("openai", "my-finetune", 100, 100) is None
    assert cost_usd("openai", "gpt-4o", None, 5) is None
    over = {"my-finetune": (1.0, 2.0), "gpt-4o": {"input": 1, "output": 1}, "ollama/llama3": [0.5, 0.5]}
    assert cost_usd("openai", "my-finetune", 1_000_000, 1_000_000, over) == pytest.approx(3.0)
    assert cost_usd("openai", "gpt-4o", 1_000_000, 0, over) == pytest.approx(1.0)
    assert cost_usd("ollama", "llama3", 2_000_000, 0, over) == pytest.approx(1.0)
    assert merge_prices(over)["gpt-4o-mini"] == Price(0.15, 0.6)
    with pytest.raises(ValueError):
        merge_prices({"x": "cheap"})


# -- import cost ----------------------------------------------------------------------------------


def test_importing_the_package_and_secrets_pulls_in_no_heavy_module():
    code = (
        "import sys, app.core.llm, app.core.secrets, app.core.llm.retry, app.core.llm.sse\n"
        "heavy = [m for m in ('httpx', 'httpcore', 'llama_cpp', 'keyring', 'PySide6') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
