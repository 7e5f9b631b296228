"""Every fault a provider can throw at the client, with exact expectations.

Retry counts and timings are read from the fake server's request log (arrival times), not from
the client's own account.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import traceback
from email.utils import formatdate

import pytest

from app.core.llm import (
    AuthenticationError,
    BadRequestError,
    ChatRequest,
    ConnectError,
    DeadlineExceeded,
    IncompleteStreamError,
    LLMError,
    MalformedStreamError,
    RateLimitError,
    RedirectRefused,
    RetryPolicy,
    ServerError,
    StallError,
    StreamErrorEvent,
    TimeoutError_,
    Timeouts,
    anthropic,
    openai,
)
from app.core.llm.retry import parse_retry_after
from app.core.secrets import resolve_endpoint
from tests.core.conftest import second_loopback_host
from tests.fakes.fake_llm import Step

CANARY = "sk-canary-7f3a9c1e5b2d4f60"
FAST = RetryPolicy(base_delay=0.05, max_delay=0.2, jitter=0)


def req(prompt: str = "hello world", **kw) -> ChatRequest:
    return ChatRequest.simple("m", prompt, **kw)


def gaps(records) -> list[float]:
    return [b.t_arrive - a.t_arrive for a, b in itertools.pairwise(records)]


def assert_no_key(err: BaseException, key: str = CANARY) -> None:
    text = "".join(traceback.format_exception(err)) + repr(err) + str(err) + repr(err.__dict__)
    assert key not in text
    assert key[8:] not in text  # not even the tail


# -- retries ------------------------------------------------------------------------------------


def test_retries_429_and_500_then_success_with_exponential_backoff(fake_llm, arun):
    fake_llm.script(429, 500, 200)
    res = arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=FAST))
    assert res.text == "<m> HELLO WORLD" and res.retries == 2
    recs = fake_llm.chat_requests()
    assert [r.status for r in recs] == [429, 500, 200]
    g = gaps(recs)
    assert g[0] >= 0.05 and g[1] >= 0.10  # base 0.05 s, doubled
    assert g[0] < 0.5 and g[1] < 0.6


def test_retry_after_seconds_is_honoured(fake_llm, arun):
    fake_llm.script(Step(status=429, headers={"Retry-After": "1"}), 200)
    res = arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=FAST))
    assert res.retries == 1
    [g] = gaps(fake_llm.chat_requests())
    assert 1.0 <= g < 1.6


def test_retry_after_ms_is_honoured_on_a_503(fake_llm, arun):
    fake_llm.script(Step(status=503, headers={"retry-after-ms": "300"}), 200)
    res = arun(anthropic.chat(fake_llm.base_url_anthropic, None, req(), policy=FAST))
    assert res.retries == 1
    [g] = gaps(fake_llm.chat_requests())
    assert 0.3 <= g < 0.8


def test_retry_after_http_date_is_honoured(fake_llm, arun):
    waits: list[float] = []

    async def sleep(d: float) -> None:  # records the wait, really sleeps a tenth of it
        waits.append(d)
        await asyncio.sleep(d / 10)

    when = formatdate(time.time() + 5, usegmt=True)
    fake_llm.script(Step(status=429, headers={"Retry-After": when}), 200)
    res = arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=RetryPolicy(sleep=sleep)))
    assert res.retries == 1 and len(waits) == 1 and 3.0 < waits[0] <= 5.0


def test_retry_after_above_the_cap_fails_fast(fake_llm, arun):
    fake_llm.script(Step(status=429, headers={"Retry-After": "120"}), 200)
    t0 = time.monotonic()
    with pytest.raises(RateLimitError) as ei:
        arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=RetryPolicy(retry_after_cap=30)))
    assert time.monotonic() - t0 < 1.0
    assert len(fake_llm.chat_requests()) == 1
    assert "120 s" in str(ei.value) and "30 s" in str(ei.value) and ei.value.retry_after == 120


def test_retries_exhausted(fake_llm, arun):
    fake_llm.script(500, 502, 503, 504, 200)
    with pytest.raises(ServerError) as ei:
        arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=FAST))
    assert ei.value.retries == 3 and ei.value.status == 504
    assert "Tried 4 times" in str(ei.value)
    assert [r.status for r in fake_llm.chat_requests()] == [500, 502, 503, 504]


@pytest.mark.parametrize("status", [408, 409])
def test_408_and_409_are_retried(fake_llm, arun, status):
    fake_llm.script(status, 200)
    assert arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=FAST)).retries == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, BadRequestError),
        (422, BadRequestError),
    ],
)
def test_other_4xx_are_not_retried(fake_llm, arun, status, cls):
    fake_llm.script(status, 200)
    with pytest.raises(cls) as ei:
        arun(openai.chat(fake_llm.base_url_openai, CANARY, req(), policy=FAST))
    assert type(ei.value) is cls and ei.value.status == status and not ei.value.retryable
    assert len(fake_llm.chat_requests()) == 1
    assert_no_key(ei.value)


def test_connection_refused_is_retried_then_connect_error(arun):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits: list[float] = []

    async def sleep(d: float) -> None:
        waits.append(d)

    with pytest.raises(ConnectError) as ei:
        arun(
            openai.chat(
                f"http://127.0.0.1:{port}/v1",
                CANARY,
                req(),
                policy=RetryPolicy(max_retries=2, sleep=sleep, jitter=0),
            )
        )
    assert waits == [0.5, 1.0] and ei.value.retries == 2
    assert f"127.0.0.1:{port}" in str(ei.value) and "connection refused" in str(ei.value)
    assert_no_key(ei.value)


def test_disconnect_before_any_answer_is_retried(fake_llm, arun):
    fake_llm.script(Step(fault="disconnect"), 200)
    res = arun(openai.chat(fake_llm.base_url_openai, None, req(stream=False), policy=FAST))
    assert res.retries == 1 and res.text == "<m> HELLO WORLD"


# -- broken streams: typed errors, partial text kept, never retried after tokens -----------------


@pytest.mark.parametrize(
    ("fault", "cls"),
    [
        ("malformed", MalformedStreamError),
        ("error", StreamErrorEvent),
        ("disconnect", IncompleteStreamError),
        ("eof", IncompleteStreamError),
    ],
)
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_stream_faults_after_tokens(fake_llm, arun, fault, cls, provider):
    fake_llm.script(Step(fault=fault, after_chunks=2), 200)
    got: list[str] = []
    mod, base = (
        (openai, fake_llm.base_url_openai)
        if provider == "openai"
        else (anthropic, fake_llm.base_url_anthropic)
    )
    with pytest.raises(cls) as ei:
        arun(mod.chat(base, CANARY, req("abcdefghijkl"), got.append, policy=FAST))
    err = ei.value
    assert err.partial_text == "".join(got) == "<m> ABCD"  # two 4-character chunks had arrived
    assert err.retries == 0
    assert len(fake_llm.chat_requests()) == 1  # never retried once tokens streamed
    assert err.provider == provider and err.host.startswith("127.0.0.1:")
    assert "8 characters of the answer had arrived" in str(err)
    assert_no_key(err)


def test_a_broken_stream_before_any_token_is_retried(fake_llm, arun):
    fake_llm.script(Step(fault="disconnect", after_chunks=0), 200)
    res = arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=FAST))
    assert res.retries == 1 and res.text == "<m> HELLO WORLD"


def test_stall_mid_stream(fake_llm, arun):
    fake_llm.script(Step(fault="stall", after_chunks=1), 200)
    got: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(StallError) as ei:
        arun(
            openai.chat(
                fake_llm.base_url_openai, None, req(), got.append, policy=FAST, timeouts=Timeouts(stall=0.3)
            )
        )
    took = time.monotonic() - t0
    assert 0.3 <= took < 1.5
    assert ei.value.partial_text == "<m> " == "".join(got)
    assert "nothing arrived for 0.3 s" in str(ei.value)
    [rec] = fake_llm.chat_requests()
    assert fake_llm.wait_closed(rec, 2.0) is not None  # the client hung up


def test_stall_before_any_token_is_retried(fake_llm, arun):
    fake_llm.script(Step(fault="stall", after_chunks=0), 200)
    res = arun(openai.chat(fake_llm.base_url_openai, None, req(), policy=FAST, timeouts=Timeouts(stall=0.2)))
    assert res.retries == 1


def test_read_timeout_waiting_for_the_answer(fake_llm, arun):
    fake_llm.latency_ms = 800
    with pytest.raises(TimeoutError_) as ei:
        arun(
            openai.chat(
                fake_llm.base_url_openai,
                None,
                req(),
                policy=RetryPolicy(max_retries=0),
                timeouts=Timeouts(read=0.2),
            )
        )
    assert type(ei.value) is TimeoutError_ and "did not start answering within 0.2 s" in str(ei.value)


def test_total_deadline_while_streaming(fake_llm, arun):
    fake_llm.chunk_delay_ms = 100  # drip: ~40 chunks, 4 s
    got: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded) as ei:
        arun(
            openai.chat(
                fake_llm.base_url_openai, None, req("x" * 160), got.append, timeouts=Timeouts(total=0.5)
            )
        )
    assert 0.5 <= time.monotonic() - t0 < 1.0
    assert ei.value.partial_text == "".join(got) and 2 <= len(got) <= 8
    assert "0.5 s time limit" in str(ei.value)


def test_total_deadline_covers_the_waits_between_retries(fake_llm, arun):
    fake_llm.script(500, 500, 500, 200)
    t0 = time.monotonic()
    with pytest.raises(ServerError) as ei:  # the next wait (0.4 s) would pass the deadline: stop now
        arun(
            openai.chat(
                fake_llm.base_url_openai,
                None,
                req(),
                policy=RetryPolicy(base_delay=0.2, jitter=0),
                timeouts=Timeouts(total=0.5),
            )
        )
    assert time.monotonic() - t0 < 0.5
    assert ei.value.retries == 1 and len(fake_llm.chat_requests()) == 2


# -- cancellation -------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
def test_cancellation_closes_the_connection_at_once(fake_llm, arun, stream):
    if stream:
        fake_llm.chunk_delay_ms = 50
    else:
        fake_llm.latency_ms = 3000

    async def scenario() -> float:
        got: list[str] = []
        task = asyncio.create_task(
            openai.chat(fake_llm.base_url_openai, None, req("y" * 200, stream=stream), got.append)
        )
        while not (got if stream else fake_llm.chat_requests()):
            await asyncio.sleep(0.005)
        t_cancel = time.time()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return t_cancel

    t_cancel = arun(scenario())  # arun also asserts that no task was left behind
    [rec] = fake_llm.chat_requests()
    closed = fake_llm.wait_closed(rec, 2.0)
    assert closed is not None and closed - t_cancel < 0.25


# -- credentials ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_redirects_are_refused_and_the_key_stays_home(fake_llm_factory, arun, provider):
    other = fake_llm_factory(host=second_loopback_host())
    home = fake_llm_factory()
    path = "/v1/chat/completions" if provider == "openai" else "/v1/messages"
    home.script(Step(status=307, location=other.url + path))
    mod, base = (
        (openai, home.base_url_openai) if provider == "openai" else (anthropic, home.base_url_anthropic)
    )
    with pytest.raises(RedirectRefused) as ei:
        arun(mod.chat(base, CANARY, req(), policy=FAST))
    err = ei.value
    assert err.target_host == f"{other.host}:{other.port}" and err.target_host in str(err)
    assert not err.retryable and len(home.chat_requests()) == 1
    assert home.chat_requests()[0].api_key == CANARY
    assert other.requests == []  # the other host never saw anything, let alone the key
    assert_no_key(err)


def test_canary_key_reaches_only_its_bound_host(fake_llm_factory, arun, monkeypatch, memory_keyring):
    trusted = fake_llm_factory()
    stranger = fake_llm_factory(host=second_loopback_host())
    memory_keyring.set_password("chainwright", "openai", CANARY)

    # the trusted server is configured in Settings; the stranger only in the workflow file
    ep = resolve_endpoint("openai", None, trusted.base_url_openai)
    assert ep.api_key == CANARY and CANARY not in repr(ep)
    ep2 = resolve_endpoint("openai", stranger.base_url_openai, trusted.base_url_openai)
    assert ep2.api_key is None and "Settings" in (ep2.key_withheld_reason or "")

    arun(openai.chat(ep.base_url, ep.api_key, req()))
    arun(openai.chat(ep2.base_url, ep2.api_key, req()))
    # the env route is trusted too: OPENAI_BASE_URL pointing at the stranger
    monkeypatch.setenv("OPENAI_BASE_URL", stranger.base_url_openai)
    ep3 = resolve_endpoint("openai", None, None)
    assert ep3.api_key == CANARY and ep3.base_url == stranger.base_url_openai

    assert [r.api_key for r in trusted.requests] == [CANARY]
    assert [r.api_key for r in stranger.requests] == [None]
    assert all(CANARY not in str(r.headers) + str(r.body) for r in stranger.requests)


def test_key_echoed_by_the_provider_is_redacted(fake_llm, arun):
    body = {"error": {"message": f"Incorrect API key provided: {CANARY}. Find yours at ...", "type": "x"}}
    fake_llm.script(
        Step(status=401, body=body), Step(status=400, body={"error": {"message": f"bad {CANARY}"}})
    )
    for _ in range(2):
        with pytest.raises(LLMError) as ei:
            arun(openai.chat(fake_llm.base_url_openai, CANARY, req()))
        assert "***" in str(ei.value)
        assert_no_key(ei.value)


def test_errors_survive_pickling_with_their_attributes():
    import pickle

    err = StallError("x stalled", provider="openai", host="h", partial_text="abc")
    err.retries = 2
    back = pickle.loads(pickle.dumps(err))
    assert (
        type(back) is StallError
        and back.partial_text == "abc"
        and back.retries == 2
        and str(back) == str(err)
    )


def test_http_loggers_never_log_urls_at_info(fake_llm, arun, caplog):
    with caplog.at_level(logging.INFO):
        arun(openai.chat(fake_llm.base_url_openai, CANARY, req()))
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert not [r for r in caplog.records if "127.0.0.1" in r.getMessage() or CANARY in r.getMessage()]


# -- pure helpers -------------------------------------------------------------------------------


def test_parse_retry_after():
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    now = time.time()
    assert 9 <= parse_retry_after({"Retry-After": formatdate(now + 10, usegmt=True)}, now=now) <= 10


def test_backoff_is_exponential_capped_and_jittered():
    p = RetryPolicy(base_delay=0.5, max_delay=4, jitter=0.25, random=lambda: 1.0)
    assert [p.backoff(i) for i in range(5)] == [0.375, 0.75, 1.5, 3.0, 3.0]
    q = RetryPolicy(base_delay=0.5, max_delay=4, jitter=0.25, random=lambda: 0.0)
    assert [q.backoff(i) for i in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert q.delay_for(0, 7.0) == 7.0
