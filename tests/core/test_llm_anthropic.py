"""Anthropic Messages client against the loopback fake."""

from __future__ import annotations

import pytest

from app.core.llm import ChatRequest, RetryPolicy, ServerError, StreamErrorEvent, anthropic
from tests.fakes.fake_llm import Step, reply_text

KEY = "sk-ant-test-0123456789"
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=0)


def test_streaming_headers_system_usage(fake_llm_factory, arun):
    srv = fake_llm_factory(key=KEY)
    chunks: list[str] = []
    req = ChatRequest.simple(
        "claude-fake", "tell me a thing", system="You are terse.", temperature=0.2, seed=3
    )
    res = arun(anthropic.chat(srv.base_url_anthropic, KEY, req, chunks.append))

    assert res.text == reply_text("claude-fake", "tell me a thing") == "".join(chunks)
    assert len(chunks) > 3
    assert res.input_tokens == 5  # message_start
    assert res.output_tokens == 5  # message_delta (not message_start's placeholder 1)
    assert res.finish_reason == "end_turn" and res.provider == "anthropic"
    [rec] = srv.requests
    assert rec.path == "/v1/messages"
    assert rec.headers["x-api-key"] == KEY and "authorization" not in rec.headers
    assert rec.headers["anthropic-version"] == "2023-06-01"
    assert rec.body == {
        "model": "claude-fake",
        "messages": [{"role": "user", "content": "tell me a thing"}],
        "max_tokens": 1024,  # always sent; seed never (the API has none)
        "system": "You are terse.",
        "temperature": 0.2,
        "stream": True,
    }


def test_non_streaming(fake_llm, arun):
    req = ChatRequest.simple("c", "hi", stream=False, max_tokens=50, json_mode=True)
    res = arun(anthropic.chat(fake_llm.base_url_anthropic, None, req))
    assert res.text == "<c> HI" and res.input_tokens == 2 and res.output_tokens == 2
    [rec] = fake_llm.requests
    assert rec.body == {"model": "c", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}
    assert "x-api-key" not in rec.headers


def test_several_system_messages_are_joined():
    req = ChatRequest(
        "c",
        [
            {"role": "system", "content": "A"},
            {"role": "system", "content": "B"},
            {"role": "user", "content": "u"},
        ],
    )
    body = anthropic.build_payload(req)
    assert body["system"] == "A\n\nB" and body["messages"] == [{"role": "user", "content": "u"}]


def test_mid_stream_error_event_keeps_partial_text_and_is_not_retried(fake_llm, arun):
    fake_llm.script(Step(fault="error", after_chunks=2))
    got: list[str] = []
    with pytest.raises(StreamErrorEvent) as ei:
        arun(
            anthropic.chat(
                fake_llm.base_url_anthropic,
                None,
                ChatRequest.simple("c", "abcdefgh"),
                got.append,
                policy=FAST,
            )
        )
    err = ei.value
    assert err.error_type == "overloaded_error" and "Overloaded" in str(err)
    assert err.partial_text == "".join(got) == "<c> ABCD"
    assert len(fake_llm.requests) == 1


def test_overloaded_529_is_retried(fake_llm, arun):
    fake_llm.script(529, 200)
    res = arun(anthropic.chat(fake_llm.base_url_anthropic, None, ChatRequest.simple("c", "x"), policy=FAST))
    assert res.text == "<c> X" and res.retries == 1
    assert [r.status for r in fake_llm.requests] == [529, 200]


def test_529_exhausted_is_a_server_error(fake_llm, arun):
    fake_llm.script(529, 529)
    with pytest.raises(ServerError) as ei:
        arun(
            anthropic.chat(
                fake_llm.base_url_anthropic,
                None,
                ChatRequest.simple("c", "x"),
                policy=RetryPolicy(max_retries=1, base_delay=0.01),
            )
        )
    assert ei.value.status == 529 and ei.value.retries == 1
    assert "Anthropic at 127.0.0.1:" in str(ei.value) and "Tried 2 times" in str(ei.value)


def test_list_models(fake_llm_factory, arun):
    srv = fake_llm_factory(key=KEY)
    assert arun(anthropic.list_models(srv.base_url_anthropic, KEY)) == ["fake-large", "fake-small"]
    rec = srv.requests[0]
    assert rec.path == "/v1/models" and rec.headers["x-api-key"] == KEY


def test_strict_fake_rejects_missing_version_and_max_tokens(fake_llm):
    import httpx

    url = fake_llm.base_url_anthropic + "/v1/messages"
    body = {"model": "c", "messages": [{"role": "user", "content": "x"}], "max_tokens": 5}
    assert httpx.post(url, json=body).status_code == 400  # no anthropic-version
    h = {"anthropic-version": "2023-06-01"}
    assert httpx.post(url, json={**body, "seed": 1}, headers=h).status_code == 400
    assert (
        httpx.post(url, json={k: v for k, v in body.items() if k != "max_tokens"}, headers=h).status_code
        == 400
    )
    bad = {**body, "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]}
    assert httpx.post(url, json=bad, headers=h).status_code == 400
    assert httpx.post(url, json=body, headers=h).status_code == 200
