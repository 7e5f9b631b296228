"""`model.chat` against the loopback fake server (both protocols) and the real local model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from app.core.sdk import NodeError, RunContext, Usage
from app.core.settings import ProviderSettings, Settings
from nodes.model import ChatModel
from tests.fakes.fake_llm import FakeLLMServer

KEY = "sk-canary-model-chat-0042"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(key=KEY) as srv:
        yield srv


def run_node(
    config: dict[str, Any], inputs: dict[str, Any], **ctx: Any
) -> tuple[dict, list[str], list[Usage]]:
    chunks: list[str] = []
    usage: list[Usage] = []
    context = RunContext(node_id="llm", on_chunk=chunks.append, on_usage=usage.append, **ctx)
    result = asyncio.run(ChatModel.from_config(config).run(inputs, context))
    return result, chunks, usage


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_streams_the_answer_and_reports_usage(
    provider: str, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = "OPENAI" if provider == "openai" else "ANTHROPIC"
    base = server.base_url_openai if provider == "openai" else server.base_url_anthropic
    monkeypatch.setenv(f"{variable}_BASE_URL", base)
    monkeypatch.setenv(f"{variable}_API_KEY", KEY)
    result, chunks, usage = run_node({"provider": provider, "model": "fake-a"}, {"prompt": "hello there"})
    assert result == {"text": "<fake-a> HELLO THERE"}
    assert len(chunks) > 1 and "".join(chunks) == result["text"]
    assert usage == [Usage(provider, "fake-a", input_tokens=3, output_tokens=3, cost_usd=None)]
    (request,) = server.chat_requests()
    assert request.api_key == KEY


def test_config_and_the_system_input_reach_the_request(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url_openai)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    config = {"provider": "openai", "system": "from config", "temperature": 0, "max_tokens": 50, "seed": 7}
    run_node(config, {"prompt": "p"})
    run_node(config, {"prompt": "p", "system": "from the input"})
    first, second = (request.body for request in server.chat_requests())
    assert first["model"] == "gpt-4o-mini"  # empty model = the provider's default
    assert first["messages"] == [
        {"role": "system", "content": "from config"},
        {"role": "user", "content": "p"},
    ]
    assert (first["temperature"], first["max_tokens"], first["seed"]) == (0, 50, 7)
    assert second["messages"][0] == {"role": "system", "content": "from the input"}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_conversation_from_chat_messages_is_sent_as_it_is(
    provider: str, server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`prompt.chat` gives a list of {role, content} messages: model.chat sends the conversation,
    with its system message first unless the conversation has its own."""
    variable = "OPENAI" if provider == "openai" else "ANTHROPIC"
    base = server.base_url_openai if provider == "openai" else server.base_url_anthropic
    monkeypatch.setenv(f"{variable}_BASE_URL", base)
    monkeypatch.setenv(f"{variable}_API_KEY", KEY)
    turns = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and now?"},
    ]
    config = {"provider": provider, "model": "fake-a", "system": "from config"}
    result, _, _ = run_node(config, {"prompt": turns})
    run_node(config, {"prompt": [{"role": "system", "content": "its own"}, *turns]})
    assert result == {"text": "<fake-a> AND NOW?"}
    first, second = (request.body for request in server.chat_requests())
    if provider == "openai":
        assert first["messages"] == [{"role": "system", "content": "from config"}, *turns]
        assert second["messages"] == [{"role": "system", "content": "its own"}, *turns]
    else:  # Anthropic takes the system message apart
        assert (first["system"], first["messages"]) == ("from config", turns)
        assert (second["system"], second["messages"]) == ("its own", turns)


def test_a_list_that_is_not_a_conversation_is_refused_on_the_prompt_port(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url_openai)
    with pytest.raises(NodeError) as raised:
        run_node({"provider": "openai"}, {"prompt": [{"role": "user", "content": "ok"}, "just text"]})
    assert raised.value.port == "prompt" and "item 2" in str(raised.value)
    with pytest.raises(NodeError, match="no messages"):
        run_node({"provider": "openai"}, {"prompt": []})
    assert server.chat_requests() == []  # nothing was sent


def test_settings_base_url_receives_the_key(server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    settings = Settings(providers={"openai": ProviderSettings(base_url=server.base_url_openai)})
    result, _, _ = run_node({"provider": "openai", "model": "m"}, {"prompt": "x"}, settings=settings)
    assert result == {"text": "<m> X"}
    assert server.chat_requests()[0].api_key == KEY


def test_a_rejected_key_is_a_plain_error_without_the_key(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url_openai)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-zz9")
    with pytest.raises(NodeError) as caught:
        run_node({"provider": "openai", "model": "m"}, {"prompt": "x"})
    message = str(caught.value)
    assert "did not accept the API key" in message
    assert "zz9" not in message + repr(caught.value) + caught.value.details


def test_a_base_url_only_the_workflow_names_gets_no_key(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(NodeError) as caught:
        run_node({"provider": "openai", "model": "m", "base_url": server.base_url_openai}, {"prompt": "x"})
    assert server.chat_requests()[0].api_key is None
    assert "comes only from the workflow file" in str(caught.value)
    assert KEY not in str(caught.value)


def test_restricted_mode_refuses_a_workflow_base_url(server: FakeLLMServer) -> None:
    with pytest.raises(NodeError) as caught:
        run_node({"provider": "openai", "base_url": server.base_url_openai}, {"prompt": "x"}, restricted=True)
    assert caught.value.field == "config.base_url"
    assert server.requests == []


def test_a_missing_key_says_how_to_provide_one(
    server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url_anthropic)
    with pytest.raises(NodeError, match="set ANTHROPIC_API_KEY"):
        run_node({"provider": "anthropic", "model": "m"}, {"prompt": "x"})


def test_the_local_model_answers_offline() -> None:
    result, chunks, usage = run_node(
        {"provider": "local", "max_tokens": 8, "temperature": 0}, {"prompt": "Say hello in one word."}
    )
    assert result["text"].strip()
    assert "".join(chunks) == result["text"]
    (report,) = usage
    assert report.provider == "local" and report.cost_usd == 0.0
    assert 0 < report.output_tokens <= 8


def test_the_cache_key_follows_the_server_and_model_actually_used(monkeypatch: pytest.MonkeyPatch) -> None:
    node = ChatModel.from_config({"provider": "openai"})
    context = RunContext(node_id="llm")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    first = node.cache_key_extra(context)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:2/v1")
    second = node.cache_key_extra(context)
    assert first == {"model": "gpt-4o-mini", "base_url": "http://127.0.0.1:1/v1"}
    assert second["base_url"] == "http://127.0.0.1:2/v1"
    assert KEY not in repr(first) + repr(second)
    local = ChatModel.from_config({"provider": "local"}).cache_key_extra(context)
    assert local == {"model": "smollm2-135m"}
