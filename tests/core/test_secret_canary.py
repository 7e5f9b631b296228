"""A known key in the keychain never appears in anything Chainwright produces.

With a canary key stored for OpenAI and Anthropic, workflows run through success and failure
paths (accepted key, rejected key, a server that echoes what it was sent, code that raises, a
missing file), with the log at DEBUG; then every artifact — run history, result cache, log file,
the event stream, CLI output, saved and autosaved files and exported scripts — is searched for the
canary, raw, base64 and URL-encoded. Zero hits.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from app.core import secrets
from app.core.autosave import autosave_dir, document_key, write_autosave
from app.core.cache import Cache
from app.core.executor import run_workflow
from app.core.graph import require_valid
from app.core.logs import log_file, setup_logging
from app.core.model import parse_workflow, save_workflow
from app.core.runs import RunStore
from app.core.settings import cache_dir, data_dir
from tests.core.workflows import document, edge, node
from tests.fakes.fake_llm import FakeLLMServer

CANARY = "sk-canary-9b7e4c2a1f6d3e8b"


def encodings(secret: str) -> list[str]:
    raw = secret.encode()
    forms = [secret, quote(secret), quote_plus(secret)]
    for data in (raw, b"Bearer " + raw):
        forms += [base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode().rstrip("=")]
    forms.append(raw.hex())
    return forms


def hits(blob: bytes, secret: str = CANARY) -> list[str]:
    return [form for form in encodings(secret) if form.encode() in blob]


def workflow(tmp_path: Path) -> dict:
    (tmp_path / "notes.txt").write_text("Some notes about keys.")
    return document(
        [
            node("q", "io.input", {"name": "q", "default": "hello"}),
            node("doc", "data.file", {"path": "notes.txt"}),
            node("missing", "data.file", {"path": "nope.txt"}),
            node("ask", "prompt.template", {"template": "{{q}} / {{text}}"}),
            node("gpt", "model.chat", {"provider": "openai", "model": "m"}),
            node("claude", "model.chat", {"provider": "anthropic", "model": "m", "system": "be brief"}),
            node(
                "py",
                "tool.python",
                {
                    "code": "import os\ndef main(text):\n    print(sorted(os.environ))\n    raise ValueError(text)\n"
                },
            ),
            node("web", "tool.http", {"url": "{{base}}/models", "headers": {"X-Probe": "{{q}}"}}),
            node("base", "io.input", {"name": "base"}),
            node("o1", "io.output", {"name": "gpt"}),
            node("o2", "io.output", {"name": "claude"}),
            node("o3", "io.output", {"name": "py"}),
            node("o4", "io.output", {"name": "web"}),
            node("o5", "io.output", {"name": "missing"}),
        ],
        [
            edge("q", "value", "ask", "q"),
            edge("doc", "text", "ask", "text"),
            edge("ask", "text", "gpt", "prompt"),
            edge("ask", "text", "claude", "prompt"),
            edge("gpt", "text", "py", "text"),
            edge("q", "value", "web", "q"),
            edge("base", "value", "web", "base"),
            edge("gpt", "text", "o1", "value"),
            edge("claude", "text", "o2", "value"),
            edge("py", "result", "o3", "value"),
            edge("web", "body", "o4", "value"),
            edge("missing", "text", "o5", "value"),
        ],
    )


@pytest.mark.parametrize("server_key", [CANARY, "sk-the-server-wants-another"])
def test_the_canary_key_appears_in_no_artifact(
    server_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring
) -> None:
    secrets.set_api_key("openai", CANARY)
    secrets.set_api_key("anthropic", CANARY)
    setup_logging(logging.DEBUG)
    produced: list[bytes] = []
    with FakeLLMServer(key=server_key) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url_openai)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url_anthropic)
        doc = workflow(tmp_path)
        path = tmp_path / "flow.json"
        path.write_text(json.dumps(doc))
        parsed = parse_workflow(json.dumps(doc))
        analysis = require_valid(parsed)
        events: list[dict] = []
        store, cache = RunStore(), Cache()
        result = asyncio.run(
            run_workflow(
                analysis,
                {"base": server.base_url_openai},
                subscribe=lambda event: events.append(event.to_dict()),
                executor_options={"store": store, "cache": cache, "workflow_path": path},
            )
        )
        assert result.status == "failed"  # the code node raises, the missing file fails
        logging.getLogger("chainwright.test").debug("run result %s", result.to_dict())
        produced.append(json.dumps(events).encode())
        produced.append(json.dumps(result.to_dict()).encode())

        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "app",
                "run",
                str(path),
                "--json",
                "--no-cache",
                "--input",
                f"base={server.base_url_openai}",
            ],
            capture_output=True,
            timeout=300,
            env={**os.environ, "OPENAI_API_KEY": CANARY, "ANTHROPIC_API_KEY": CANARY},
        )
        produced += [cli.stdout, cli.stderr]
        # the servers saw the key (so the test is real), but only as the auth header
        assert any(record.api_key == CANARY for record in server.chat_requests())

    from app.core.export import export_script

    produced.append(export_script(parsed, workflow_path=path, script_path=tmp_path / "flow.py").encode())
    save_workflow(parsed, tmp_path / "saved.json")
    write_autosave(document_key(path), parsed, path)
    store.close()
    cache.close()
    for handler in logging.getLogger().handlers:
        handler.flush()
    files = [
        log_file(),
        *data_dir().rglob("*"),
        *cache_dir().rglob("*"),
        *autosave_dir().rglob("*"),
        *tmp_path.rglob("*"),
    ]
    for file in files:
        if file.is_file():
            produced.append(file.read_bytes())
    found = [form for blob in produced for form in hits(blob)]
    assert found == []


def test_the_search_finds_a_planted_canary() -> None:
    """The search above can fail: each encoding of the key is recognised."""
    for form in encodings(CANARY):
        assert hits(b"prefix " + form.encode() + b" suffix")
