"""The bad inputs of the catalogue, met inside a real run: the failure names the node (and the
port, field or user's line where it applies), and the branch a logic.if did not take is skipped."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from app.core.executor import Executor
from app.core.graph import analyze, validate
from app.core.model import parse_workflow
from app.core.runs import RunResult
from app.core.settings import Settings
from tests.core.workflows import document, edge, node
from tests.nodes.helpers import LoopbackServer, Reply


def run(doc: dict[str, Any], folder: Path, **inputs: Any) -> RunResult:
    executor = Executor(analyze(parse_workflow(json.dumps(doc))), settings=Settings(), workflow_dir=folder)
    return asyncio.run(executor.run(inputs).wait())


def only_failure(result: RunResult):
    (failed,) = result.failures
    return failed


def test_missing_file(tmp_path: Path):
    doc = document(
        [node("doc", "data.file", {"path": "missing.txt"}), node("out", "io.output", {"name": "text"})],
        [edge("doc", "text", "out", "value")],
    )
    result = run(doc, tmp_path)
    failed = only_failure(result)
    assert failed.node_id == "doc"
    assert failed.error.message == f"file not found: {tmp_path / 'missing.txt'}"
    assert failed.error.field == "config.path"
    assert result.missing_outputs["text"]


def test_bad_json(tmp_path: Path):
    doc = document(
        [node("raw", "data.text", {"text": "{'not': json"}), node("parse", "text.json_parse")],
        [edge("raw", "text", "parse", "text")],
    )
    failed = only_failure(run(doc, tmp_path))
    assert (failed.node_id, failed.error.port) == ("parse", "text")
    assert failed.error.message.startswith(
        "the text is not valid JSON: Expecting property name enclosed in double quotes"
    )


def test_http_error(tmp_path: Path):
    with LoopbackServer({"/api": Reply(401, '{"error": "bad token"}')}) as web:
        doc = document([node("call", "tool.http", {"url": web.url("/api")})], [])
        failed = only_failure(run(doc, tmp_path))
    assert failed.node_id == "call"
    assert (
        failed.error.message
        == f'{web.base.removeprefix("http://")} answered HTTP 401 Unauthorized: {{"error": "bad token"}}'
    )


def test_code_that_raises_names_the_users_line(tmp_path: Path):
    code = "def main(text: str):\n    words = text.split()\n    return words[10]\n"
    doc = document(
        [node("src", "data.text", {"text": "two words"}), node("py", "tool.python", {"code": code})],
        [edge("src", "text", "py", "text")],
    )
    failed = only_failure(run(doc, tmp_path))
    assert (failed.node_id, failed.error.user_line) == ("py", 3)
    assert (
        failed.error.message
        == "your code raised IndexError: list index out of range (line 3: return words[10])"
    )


def test_code_that_hangs(tmp_path: Path):
    code = "def main():\n    while True:\n        pass\n"
    doc = document([node("py", "tool.python", {"code": code, "timeout_seconds": 0.5})], [])
    failed = only_failure(run(doc, tmp_path))
    assert failed.node_id == "py" and failed.error.field == "config.timeout_seconds"
    assert failed.error.message.startswith("your code did not finish within 0.5 s and was stopped")


def test_a_placeholder_left_unconnected_is_found_before_running():
    doc = document(
        [
            node("topic", "io.input", {"name": "topic"}),
            node("ask", "prompt.template", {"template": "{{topic}} in {{style}}"}),
        ],
        [edge("topic", "value", "ask", "topic")],
    )
    problems = [str(problem) for problem in validate(parse_workflow(json.dumps(doc)))]
    assert problems == ["node 'ask', port 'style': this input is required but nothing is connected to it"]


def test_the_branch_not_taken_is_skipped_not_failed(tmp_path: Path):
    doc = document(
        [
            node("label", "data.text", {"text": "Question"}),
            node("route", "logic.if", {"operator": "equals", "compare_to": "complaint"}),
            node("sorry", "prompt.template", {"template": "Sorry: {{x}}"}),
            node("help", "prompt.template", {"template": "Help: {{x}}"}),
            node("merge", "logic.merge"),
            node("out", "io.output", {"name": "reply"}),
        ],
        [
            edge("label", "text", "route", "value"),
            edge("route", "true", "sorry", "x"),
            edge("route", "false", "help", "x"),
            edge("sorry", "text", "merge", "a"),
            edge("help", "text", "merge", "b"),
            edge("merge", "value", "out", "value"),
        ],
    )
    result = run(doc, tmp_path)
    assert result.ok and result.outputs == {"reply": "Help: Question"}
    skipped = result.nodes["sorry"]
    assert skipped.status == "skipped"
    assert "the condition (the value equals 'complaint') was false" in skipped.skip_reason
