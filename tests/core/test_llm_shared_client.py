"""The clients model calls share within an event loop (app.core.llm.retry.shared_client).

A call made without its own client leases one of the running loop's idle clients for the call's
origin (scheme + host + port) and gives it back afterwards, so the next call to that server reuses
the connection. These tests pin down what must hold for that to be safe: reuse within a loop,
nothing shared between loops, everything closed when the loop ends, and nothing of one request
(credential, cookie) reaching another request or another host.
"""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from app.core.llm import ChatRequest, RetryPolicy, anthropic, openai, retry
from tests.core.conftest import second_loopback_host
from tests.fakes.fake_llm import Step

KEY_A = "sk-shared-client-key-aaaaaaaaaaaa"
KEY_B = "sk-ant-shared-client-key-bbbbbbbbbbbb"
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=0)


def req(prompt: str = "hi", **kw) -> ChatRequest:
    return ChatRequest.simple("m", prompt, **kw)


def idle_clients(url: str) -> list:
    entry = retry._loop_clients.get(asyncio.get_running_loop())
    assert entry is not None
    return list(entry.idle.get(retry._origin_key(url), []))


def test_calls_in_one_loop_reuse_the_client_and_its_connection(fake_llm, arun):
    async def go():
        await openai.chat(fake_llm.base_url_openai, None, req("one"))
        [first] = idle_clients(fake_llm.base_url_openai)
        await openai.chat(fake_llm.base_url_openai, None, req("two", stream=False))
        [second] = idle_clients(fake_llm.base_url_openai)
        return first, second

    first, second = arun(go())
    assert first is second
    a, b = fake_llm.chat_requests()
    assert a.peer == b.peer  # the same TCP connection


def test_concurrent_calls_never_share_a_client(fake_llm, arun):
    fake_llm.latency_ms = 100
    seen: list = []
    lease = retry._LoopClients.lease

    def spy(self, key):
        client = lease(self, key)
        seen.append(client)
        return client

    async def go():
        original, retry._LoopClients.lease = retry._LoopClients.lease, spy
        try:
            await asyncio.gather(
                *(openai.chat(fake_llm.base_url_openai, None, req(f"c{i}")) for i in range(4))
            )
        finally:
            retry._LoopClients.lease = original
        return idle_clients(fake_llm.base_url_openai)

    idle = arun(go())
    assert len({id(c) for c in seen}) == 4 and len(idle) == 4
    assert len({r.peer for r in fake_llm.chat_requests()}) == 4


def test_each_loop_has_its_own_clients_and_they_are_closed_when_it_ends(fake_llm):
    got: list = []

    async def go():
        await openai.chat(fake_llm.base_url_openai, None, req())
        got.extend(idle_clients(fake_llm.base_url_openai))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(go())
        asyncio.run(go())
        with asyncio.Runner() as runner:
            runner.run(go())
        gc.collect()
    first, second, third = got
    assert first is not second and second is not third
    assert first.is_closed and second.is_closed and third.is_closed
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)], [
        str(w.message) for w in caught
    ]
    assert len({r.peer for r in fake_llm.chat_requests()}) == 3  # no connection outlived its loop


def test_a_loop_stopped_without_shutdown_can_close_its_clients_explicitly(fake_llm):
    loop = asyncio.new_event_loop()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")

            async def go():
                await openai.chat(fake_llm.base_url_openai, None, req())
                [client] = idle_clients(fake_llm.base_url_openai)
                await retry.aclose_shared_clients()
                return client

            client = loop.run_until_complete(go())
            assert client.is_closed and loop not in retry._loop_clients
    finally:
        loop.close()
    del loop
    gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_clients_of_a_loop_closed_without_shutdown_are_forgotten(fake_llm):
    loop = asyncio.new_event_loop()
    loop.run_until_complete(openai.chat(fake_llm.base_url_openai, None, req()))
    loop.close()  # no shutdown_asyncgens: nothing closed the clients
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the sockets are closed by the collector
        asyncio.run(openai.chat(fake_llm.base_url_openai, None, req()))
        assert all(not lp.is_closed() for lp in list(retry._loop_clients))
        del loop
        gc.collect()


def test_keys_go_only_to_their_own_hosts_on_shared_clients(fake_llm_factory, arun):
    a = fake_llm_factory()
    b = fake_llm_factory(host=second_loopback_host())

    async def go():
        for _ in range(2):
            await openai.chat(a.base_url_openai, KEY_A, req("a"))
            await anthropic.chat(b.base_url_anthropic, KEY_B, req("b"))
            await openai.chat(a.base_url_openai, None, req("a keyless"))
            await openai.chat(b.base_url_openai, None, req("b keyless"))
        assert idle_clients(a.base_url_openai)[0] is not idle_clients(b.base_url_openai)[0]

    arun(go())
    for rec in a.requests:
        auth = rec.headers.get("authorization")
        assert "x-api-key" not in rec.headers
        assert auth == (f"Bearer {KEY_A}" if "keyless" not in str(rec.body) else None)
    for rec in b.requests:
        assert "authorization" not in rec.headers
        assert rec.headers.get("x-api-key") == (KEY_B if "keyless" not in str(rec.body) else None)
    assert KEY_A not in repr([r.headers for r in b.requests]) and KEY_B not in repr(
        [r.headers for r in a.requests]
    )


def test_cookies_set_by_one_answer_are_never_sent_again(fake_llm, arun):
    fake_llm.script(Step(status=500, headers={"Set-Cookie": "session=s3cr3t; Path=/"}), 200)

    async def go():
        await openai.chat(fake_llm.base_url_openai, KEY_A, req("first"), policy=FAST)
        await openai.chat(fake_llm.base_url_openai, None, req("second"))

    arun(go())
    assert len(fake_llm.chat_requests()) == 3
    assert all("cookie" not in r.headers for r in fake_llm.chat_requests())


def test_a_cancelled_call_leaves_a_client_the_next_call_can_use(fake_llm, arun):
    fake_llm.chunk_delay_ms = 50

    async def go():
        got: list[str] = []
        task = asyncio.create_task(openai.chat(fake_llm.base_url_openai, None, req("x" * 80), got.append))
        while not got:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        fake_llm.chunk_delay_ms = 0
        return (await openai.chat(fake_llm.base_url_openai, None, req("after"))).text

    assert arun(go()) == "<m> AFTER"
    first, second = fake_llm.chat_requests()
    assert first.client_closed_at is not None and first.peer != second.peer


def test_a_change_of_proxy_or_ca_settings_gets_other_clients(monkeypatch):
    before = retry._origin_key("https://api.example.com/v1")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    assert retry._origin_key("https://api.example.com/v1") != before
    assert retry._origin_key("https://API.example.com:443/x")[1:] == ("https", "api.example.com", 443)
