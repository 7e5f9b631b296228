"""OpenAI Chat Completions client against the loopback fake (and the strict reference server)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.llm import NO_RETRY, BadRequestError, ChatRequest, RetryPolicy, openai
from app.core.llm import chat as dispatch_chat
from tests.fakes.fake_llm import FakeLLMServer, Step, reply_text

KEY = "sk-test-openai-0123456789"
ALLOWED = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "temperature",
    "max_tokens",
    "seed",
    "response_format",
}


def test_streaming_chat_text_usage_and_exact_body(fake_llm_factory, arun):
    srv = fake_llm_factory(key=KEY)
    chunks: list[str] = []
    req = ChatRequest.simple("fake-small", "hello there, world", system="Be brief.", temperature=0, seed=7)
    res = arun(openai.chat(srv.base_url_openai, KEY, req, chunks.append))

    assert res.text == reply_text("fake-small", "hello there, world")
    assert "".join(chunks) == res.text and len(chunks) > 3  # really streamed, in pieces
    assert (res.input_tokens, res.output_tokens) == (4, 4)  # from the include_usage chunk
    assert res.finish_reason == "stop" and res.retries == 0 and res.model == "fake-small"
    [rec] = srv.requests
    assert rec.path == "/v1/chat/completions"
    assert rec.headers["authorization"] == f"Bearer {KEY}"
    assert rec.body == {
        "model": "fake-small",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there, world"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
        "seed": 7,
    }


def test_non_streaming_json_mode_and_max_tokens(fake_llm, arun):
    chunks: list[str] = []
    req = ChatRequest.simple("m", "give json", stream=False, json_mode=True, max_tokens=20)
    res = arun(openai.chat(fake_llm.base_url_openai, None, req, chunks.append))
    assert res.text == "<m> GIVE JSON" and chunks == [res.text]
    assert res.input_tokens == 3 and res.output_tokens == 3
    [rec] = fake_llm.requests
    assert "authorization" not in rec.headers  # no key, no header
    assert rec.body == {
        "model": "m",
        "messages": [{"role": "user", "content": "give json"}],
        "max_tokens": 20,
        "response_format": {"type": "json_object"},
    }
    assert set(rec.body) <= ALLOWED


def test_max_completion_tokens_only_for_api_openai_com():
    req = ChatRequest.simple("gpt-4o-mini", "x", max_tokens=5)
    assert openai.build_payload(req)["max_tokens"] == 5
    body = openai.build_payload(req, max_tokens_field="max_completion_tokens")
    assert body["max_completion_tokens"] == 5 and "max_tokens" not in body


def test_multi_turn_history_is_sent_as_is(fake_llm, arun):
    msgs = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "second"},
    ]
    res = arun(openai.chat(fake_llm.base_url_openai, None, ChatRequest("m", msgs)))
    assert res.text == "<m> SECOND"
    assert fake_llm.requests[0].body["messages"] == msgs


def test_provider_400_message_reaches_the_user_without_retry(fake_llm, arun):
    fake_llm.script(Step(status=400, body={"error": {"message": "The model 'nope' does not exist"}}))
    with pytest.raises(BadRequestError) as ei:
        arun(openai.chat(fake_llm.base_url_openai, None, ChatRequest.simple("nope", "hi")))
    assert "The model 'nope' does not exist" in str(ei.value)
    assert "OpenAI at 127.0.0.1:" in str(ei.value)
    assert ei.value.status == 400 and not ei.value.retryable
    assert len(fake_llm.requests) == 1


def test_strict_fake_rejects_unknown_fields_and_roles(fake_llm):
    import httpx

    url = fake_llm.base_url_openai + "/chat/completions"
    r = httpx.post(url, json={"model": "m", "messages": [{"role": "user", "content": "x"}], "bogus": 1})
    assert r.status_code == 400 and "bogus" in r.text
    r = httpx.post(url, json={"model": "m", "messages": [{"role": "wizard", "content": "x"}]})
    assert r.status_code == 400


def test_list_models_and_dispatch(fake_llm_factory, arun):
    srv = fake_llm_factory(key=KEY)
    assert arun(openai.list_models(srv.base_url_openai, KEY)) == ["fake-large", "fake-small"]
    assert srv.requests[0].headers["authorization"] == f"Bearer {KEY}"
    res = arun(
        dispatch_chat(
            "ollama", ChatRequest.simple("llama3", "hey"), base_url=srv.base_url_openai, api_key=KEY
        )
    )
    assert res.text == "<llama3> HEY" and res.provider == "ollama"


def test_a_shared_client_is_reused_and_stays_open(fake_llm, arun):
    from app.core.llm.retry import new_client

    async def go():
        async with new_client() as client:
            a = await openai.chat(
                fake_llm.base_url_openai, None, ChatRequest.simple("m", "one"), client=client
            )
            b = await openai.chat(
                fake_llm.base_url_openai, None, ChatRequest.simple("m", "two", stream=False), client=client
            )
            assert not client.is_closed
            return a.text, b.text

    assert arun(go()) == ("<m> ONE", "<m> TWO")


REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "fake_llm.py"


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared/conformance is not beside the checkout")
def test_against_the_strict_reference_server(tmp_path, arun):
    """Everything we send is accepted by the project's strict reference server."""
    log = tmp_path / "log.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(REFERENCE), "--port", "0", "--log", str(log), "--key", KEY],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = int(proc.stdout.readline().split()[1])
        base = f"http://127.0.0.1:{port}"
        from app.core.llm import anthropic

        for stream in (True, False):
            req = ChatRequest.simple(
                "ref",
                "check me",
                system="sys",
                temperature=0.5,
                seed=1,
                max_tokens=9,
                json_mode=True,
                stream=stream,
            )
            assert arun(openai.chat(base + "/v1", KEY, req, policy=NO_RETRY)).text == "<ref> CHECK ME"
            assert arun(anthropic.chat(base, KEY, req, policy=NO_RETRY)).text == "<ref> CHECK ME"
        # its own fault markers: one 429 with Retry-After: 1, then success
        fast = RetryPolicy(retry_after_cap=5)
        assert (
            arun(openai.chat(base + "/v1", KEY, ChatRequest.simple("r", "x #429"), policy=fast)).retries == 1
        )
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    statuses = [line for line in log.read_text().splitlines() if '"status": 400' in line]
    assert not statuses, statuses


def test_fake_server_command_line_prints_port(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_llm", "--port", "0", "--log", str(tmp_path / "l.jsonl")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("PORT ")
        import httpx

        r = httpx.get(f"http://127.0.0.1:{int(line.split()[1])}/v1/models")
        assert r.status_code == 200 and r.json()["data"][0]["id"] == "fake-small"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    assert '"path": "/v1/models"' in (tmp_path / "l.jsonl").read_text()


def test_fake_server_is_usable_as_a_context_manager():
    with FakeLLMServer(chunk_chars=2) as srv:
        assert srv.url.startswith("http://127.0.0.1:") and srv.port > 0
    with pytest.raises(ValueError):
        Step(fault="explode")
