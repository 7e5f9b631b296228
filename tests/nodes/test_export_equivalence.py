"""Every node type, exported: the script's block computes what the app's `run` computes.

Each case is a small workflow (io.input nodes feeding the node, io.output nodes reading every
output). It runs twice, in this process: through the app's executor, and through the exported
script (its source executed as a module, `run(**inputs)` called). Both must give the same outputs
— the same names missing where an output was not produced — or fail with the same message.
HTTP goes to loopback servers, models to the fake LLM server; nothing touches the internet.
(tests/core/test_export_gallery.py runs whole scripts in a Python that can import only httpx.)
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.core.events import jsonable
from app.core.executor import Executor
from app.core.export import export_script
from app.core.graph import analyze
from app.core.model import workflow_from_document
from app.core.registry import default_registry
from app.core.settings import Settings
from tests.core.workflows import document, edge, node
from tests.fakes.fake_llm import FakeLLMServer
from tests.nodes.helpers import LoopbackServer, Reply


@dataclass
class Outcome:
    outputs: dict[str, Any] | None = None
    error: str | None = None  # the NodeError's message
    other_error: str | None = None  # any other failure (its type)


def run_app(doc: dict[str, Any], inputs: dict[str, Any], folder: Path) -> Outcome:
    analysis = analyze(workflow_from_document(doc))
    assert analysis.ok, [str(problem) for problem in analysis.problems]
    executor = Executor(analysis, settings=Settings(), workflow_path=folder / "flow.json")
    with contextlib.redirect_stdout(io.StringIO()):
        result = asyncio.run(executor.run(inputs, use_cache=False).wait())
    if result.failures:
        error = result.failures[0].error
        assert error is not None
        if error.error_type == "NodeError":
            return Outcome(error=error.message)
        return Outcome(other_error=error.error_type)
    return Outcome(outputs=jsonable(result.outputs))


def export(doc: dict[str, Any], folder: Path) -> tuple[str, Path]:
    script = folder / "flow.py"
    source = export_script(
        workflow_from_document(doc), workflow_path=folder / "flow.json", script_path=script
    )
    script.write_text(source, encoding="utf-8")
    return source, script


def load_script(source: str, script: Path) -> types.ModuleType:
    """The script as a module (what `import flow` gives), never as __main__."""
    module = types.ModuleType("exported_flow")
    module.__file__ = str(script)
    sys.modules[module.__name__] = module  # dataclasses look their module up
    try:
        exec(compile(source, str(script), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module


def run_script(doc: dict[str, Any], inputs: dict[str, Any], folder: Path) -> Outcome:
    source, script = export(doc, folder)
    module = load_script(source, script)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            outputs = module.run(**inputs)
    except module.NodeError as exc:
        return Outcome(error=exc.message)
    except Exception as exc:
        return Outcome(other_error=type(exc).__name__)
    return Outcome(outputs=jsonable(outputs))


def assert_same(doc: dict[str, Any], inputs: dict[str, Any], folder: Path) -> Outcome:
    app = run_app(doc, inputs, folder)
    script = run_script(doc, inputs, folder)
    if app.other_error is not None:  # e.g. an input of the wrong type: both fail
        assert script.outputs is None, (app, script)
    else:
        assert script == app
    return app


def single(type_id: str, config: dict[str, Any], feeds: dict[str, Any] | None = None) -> dict[str, Any]:
    """The node `n` fed by one io.input (type any) per port in `feeds`, every output read by an
    io.output named after it. Returns the document; the inputs to run it with are `feeds`."""
    nodes = [node("n", type_id, config, 300)]
    edges = []
    for index, port in enumerate(feeds or {}):
        nodes.append(node(f"in_{port}", "io.input", {"name": port, "type": "any"}, 0, 100 * index))
        edges.append(edge(f"in_{port}", "value", "n", port))
    resolved = analyze(workflow_from_document(document(nodes, edges))).nodes["n"]
    for index, port in enumerate(resolved.outputs):
        nodes.append(node(f"out_{port}", "io.output", {"name": f"{port}_out"}, 600, 100 * index))
        edges.append(edge("n", port, f"out_{port}", "value"))
    return document(nodes, edges, name=f"one {type_id}")


# --- the environment the cases run in ----------------------------------------------------------

PAGE = """<!doctype html><html><head><title> The  Title </title><style>p{color:red}</style></head>
<body><nav>Menu</nav><main><h1>Heading</h1><p>First   paragraph with a <a href="/x">link</a>
and a break<br>here.</p><ul><li>one</li><li>two</li></ul><pre>  kept
   as is</pre><table><tr><td>cell 1</td><td>cell 2</td></tr></table></main></body></html>"""


def _echo(request: Any) -> Reply:
    return Reply.json(
        {
            "method": request.method,
            "path": request.path,
            "type": request.headers.get("content-type"),
            "auth": request.headers.get("authorization"),
            "body": request.body.decode(),
        }
    )


@dataclass
class Env:
    folder: Path
    web: LoopbackServer
    llm: FakeLLMServer

    def url(self, path: str) -> str:
        return self.web.url(path)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    (tmp_path / "notes.txt").write_text("First line.\nSecond line, with ✓.\n", encoding="utf-8")
    (tmp_path / "table.csv").write_text("name;amount\nAda;3\nGrace;4.5\n", encoding="utf-8")
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "b.txt").write_text("bee")
    (tmp_path / "docs" / "a.txt").write_text("ay")
    (tmp_path / "docs" / ".hidden.txt").write_text("no")
    (tmp_path / "docs" / "sub" / "c.txt").write_text("sea")
    routes: dict[str, Any] = {
        "/page": Reply(200, PAGE, {"Content-Type": "text/html; charset=utf-8"}),
        "/latin": Reply(
            200, "<p>café</p>".encode("latin-1"), {"Content-Type": "text/html; charset=iso-8859-1"}
        ),
        "/plain": Reply(200, "just text"),
        "/api": Reply.json({"items": [{"name": "a"}, {"name": "b"}], "total": 2}),
        "/echo": _echo,
        "/broken": Reply(500, "database is down"),
        "/old": Reply(302, "", {"Location": "/api"}),
        "/file.pdf": Reply(200, b"%PDF-1.4", {"Content-Type": "application/pdf"}),
    }
    with LoopbackServer(routes) as web, FakeLLMServer() as llm:
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url_openai)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", llm.base_url_anthropic)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-anthropic")
        monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{llm.port}")
        yield Env(tmp_path, web, llm)


@dataclass
class Case:
    type_id: str
    config: dict[str, Any] | Callable[[Env], dict[str, Any]]
    feeds: dict[str, Any] | Callable[[Env], dict[str, Any]] | None = None

    def __call__(self, env: Env) -> tuple[dict[str, Any], dict[str, Any]]:
        config = self.config(env) if callable(self.config) else self.config
        feeds = self.feeds(env) if callable(self.feeds) else dict(self.feeds or {})
        return single(self.type_id, config, feeds), feeds


case = Case


CODE = (
    "def main(rows: list, factor: int = 2):\n    return {'total': sum(r['amount'] for r in rows) * factor}\n"
)

CASES: dict[str, Case] = {
    # prompts
    "template": case(
        "prompt.template", {"template": "Hi {{name}}, {{ name }}: {{n}} {{7*7}} ✓"}, {"name": "Ada", "n": 3}
    ),
    "template without placeholders": case("prompt.template", {"template": "fixed\n'text' \"quoted\""}),
    "template with a list": case(
        "prompt.template", {"template": "items: {{items}}"}, {"items": [1, "two", None]}
    ),
    "chat messages": case("prompt.chat", {}, {"question": "why?"}),
    "chat messages, several turns": case(
        "prompt.chat",
        {
            "messages": [
                {"role": "system", "content": "Be {{tone}}."},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": "{{q}} and {{tone}}"},
            ]
        },
        {"tone": "brief", "q": {"a": 1}},
    ),
    "chat messages, none": case("prompt.chat", {"messages": []}),
    "few-shot": case(
        "prompt.few_shot",
        {
            "instruction": " Label it. ",
            "examples": [{"input": "a", "output": "b"}],
            "input_label": "Q",
            "output_label": "A",
        },
        {"input": "new", "examples": [{"input": 1, "output": {"x": 2}}]},
    ),
    "few-shot, bad connected example": case(
        "prompt.few_shot", {}, {"input": "x", "examples": [{"input": "only"}]}
    ),
    "few-shot, defaults": case("prompt.few_shot", {}, {"input": "x"}),
    # models
    "openai": case(
        "model.chat",
        {"provider": "openai", "model": "fake-small", "system": "Be brief."},
        {"prompt": "hello"},
    ),
    "openai, options": case(
        "model.chat",
        {"provider": "openai", "temperature": 0.5, "max_tokens": 30, "seed": 7},
        {"prompt": "hi ✓"},
    ),
    "openai, system input": case(
        "model.chat", {"provider": "openai", "system": "x"}, {"prompt": "p", "system": "s"}
    ),
    "openai, workflow base_url": case(
        "model.chat", lambda env: {"provider": "openai", "base_url": env.llm.base_url_openai}, {"prompt": "q"}
    ),
    "anthropic": case(
        "model.chat", {"provider": "anthropic", "model": "fake-c", "system": "S"}, {"prompt": "hello"}
    ),
    "ollama": case(
        "model.chat", {"provider": "ollama", "model": "llama-fake", "seed": 1}, {"prompt": "hello"}
    ),
    "openai, a conversation": case(
        "model.chat",
        {"provider": "openai", "model": "fake-small", "system": "Be brief."},
        {
            "prompt": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "again ✓"},
            ]
        },
    ),
    "anthropic, a conversation with its own system message": case(
        "model.chat",
        {"provider": "anthropic", "model": "fake-c", "system": "S"},
        {"prompt": [{"role": "system", "content": "own"}, {"role": "user", "content": "hey"}]},
    ),
    "openai, a list that is not a conversation": case(
        "model.chat", {"provider": "openai"}, {"prompt": [1, 2]}
    ),
    "openai, a number as the prompt": case("model.chat", {"provider": "openai"}, {"prompt": 42}),
    # data
    "file": case("data.file", {"path": "notes.txt"}),
    "file, missing": case("data.file", {"path": "nope.txt"}),
    "file, a folder": case("data.file", {"path": "docs"}),
    "text": case("data.text", {"text": "Hello {{not}}\n\t'\"\\ \u2028 end"}),
    "csv file": case("data.csv", {"path": "table.csv", "convert_numbers": True}),
    "csv text": case("data.csv", {"delimiter": ",", "has_header": False}, {"text": "a,b\n1,2\n"}),
    "csv, bad row": case("data.csv", {"delimiter": ","}, {"text": "a,b\n1,2,3\n"}),
    "csv, missing file": case("data.csv", {"path": "none.csv"}),
    "folder": case("data.folder", {"path": "docs", "pattern": "**/*.txt"}),
    "folder, names only": case("data.folder", {"path": "docs", "pattern": "*", "read_contents": False}),
    "folder, too many": case("data.folder", {"path": "docs", "pattern": "**/*", "max_files": 1}),
    "folder, missing": case("data.folder", {"path": "nowhere"}),
    "web page": case("data.url", lambda env: {"url": env.url("/page")}),
    "web page, charset": case("data.url", lambda env: {"url": env.url("/latin")}),
    "web page, placeholder and cut": case(
        "data.url", lambda env: {"url": env.url("/plain?q={{q}}"), "max_characters": 4}, {"q": "fish & chips"}
    ),
    "web page, json": case("data.url", lambda env: {"url": env.url("/api")}),
    "web page, 404": case("data.url", lambda env: {"url": env.url("/missing")}),
    "web page, binary": case("data.url", lambda env: {"url": env.url("/file.pdf")}),
    "web page, bad address": case("data.url", {"url": "ftp://example.invalid/x"}),
    # tools
    "http get json": case("tool.http", lambda env: {"url": env.url("/api")}),
    "http text (no json)": case("tool.http", lambda env: {"url": env.url("/plain")}),
    "http post with templates": case(
        "tool.http",
        lambda env: {
            "method": "POST",
            "url": "{{base}}/echo?q={{q}}",
            "headers": {"Authorization": "Bearer {{token}}"},
            "body": '{"text": "{{q}}"}',
        },
        lambda env: {"base": env.web.base, "q": "fish & chips", "token": "t0k"},
    ),
    "http put plain text": case(
        "tool.http", lambda env: {"method": "PUT", "url": env.url("/echo"), "body": "words"}
    ),
    "http error": case("tool.http", lambda env: {"url": env.url("/broken")}),
    "http error passed on": case(
        "tool.http", lambda env: {"url": env.url("/broken"), "fail_on_http_error": False}
    ),
    "http redirect": case("tool.http", lambda env: {"url": env.url("/old"), "headers": {"X-Api-Key": "k"}}),
    "http header with a line break": case(
        "tool.http",
        lambda env: {"url": env.url("/api"), "headers": {"X-Note": "{{n}}"}},
        {"n": "a\r\nEvil: 1"},
    ),
    "python": case("tool.python", {"code": CODE}, {"rows": [{"amount": 1}, {"amount": 2.5}]}),
    "python, every parameter": case("tool.python", {"code": CODE}, {"rows": [{"amount": 1}], "factor": 10}),
    "python, async and json round trip": case(
        "tool.python",
        {"code": "async def main(s: str):\n    print('to the log')\n    return {1: (s, None)}\n"},
        {"s": "ok ✓"},
    ),
    "python, reads the workflow folder": case(
        "tool.python", {"code": "def main():\n    return open('notes.txt').read()\n"}
    ),
    "python, raises": case(
        "tool.python",
        {"code": "def helper(x):\n    return 10 / x\n\n\ndef main(x: int):\n    return helper(x)\n"},
        {"x": 0},
    ),
    "python, exits": case("tool.python", {"code": "import sys\ndef main():\n    sys.exit(3)\n"}),
    "python, not json": case("tool.python", {"code": "def main():\n    return {1, 2}\n"}),
    # text
    "join": case("text.join", {}, {"items": ["a", " ", 3, {"b": [1]}, None]}),
    "join, keep empty": case(
        "text.join", {"separator": " | ", "skip_empty": False}, {"items": ["a", "", "c"]}
    ),
    "split": case(
        "text.split", {"chunk_size": 30, "overlap": 5}, {"text": "word " * 40 + "\n\nend of the text"}
    ),
    "regex groups": case(
        "text.regex", {"pattern": r"(?P<key>\w+)=(\d+)", "ignore_case": True}, {"text": "a=1, B=2 and c=x"}
    ),
    "regex whole match, multiline": case(
        "text.regex", {"pattern": "^x.*$", "multiline": True}, {"text": "ab\nxy\nxz"}
    ),
    "regex, nothing found": case("text.regex", {"pattern": "zzz"}, {"text": "abc"}),
    "regex, required": case("text.regex", {"pattern": "zzz", "require_match": True}, {"text": "abc"}),
    "regex, no pattern": case("text.regex", {}, {"text": "abc"}),
    "json parse": case("text.json_parse", {}, {"text": '{"a": [1, 2.5, null, true]}'}),
    "json parse, bad": case("text.json_parse", {}, {"text": "{nope"}),
    "json parse, empty": case("text.json_parse", {}, {"text": "  "}),
    "json path": case(
        "text.json_path", {"path": "$.items[*].name"}, {"value": {"items": [{"name": "a"}, {"name": "b"}]}}
    ),
    "json path from text": case("text.json_path", {"path": "a[1]"}, {"value": '{"a": [5, 6]}'}),
    "json path, missing": case("text.json_path", {"path": "b"}, {"value": {"a": 1}}),
    "json path, missing skip": case(
        "text.json_path", {"path": "b", "if_missing": "skip"}, {"value": {"a": 1}}
    ),
    "json path, missing null": case(
        "text.json_path", {"path": "b", "if_missing": "null"}, {"value": {"a": 1}}
    ),
    "format number": case(
        "text.format_number",
        {"decimals": 1, "thousands_separator": ".", "decimal_point": ",", "prefix": "€ "},
        {"value": 1234567.891},
    ),
    "format number, percent": case(
        "text.format_number", {"percent": True, "decimals": None}, {"value": "0.25"}
    ),
    "format number, not a number": case("text.format_number", {}, {"value": "many"}),
    "tidy text": case(
        "text.format",
        {"collapse_spaces": True, "case": "sentence", "max_length": 12},
        {"text": "  hello   there\n general kenobi "},
    ),
    "tidy text, first line": case(
        "text.format", {"first_line_only": True, "case": "title"}, {"text": "\n\nab cd\nef"}
    ),
    "json answer": case(
        "text.parse_json_answer",
        {"required_keys": ["name"]},
        {"text": 'Sure!\n```json\n{"name": "Ada", "n": 1}\n```'},
    ),
    "json answer, python literal": case(
        "text.parse_json_answer", {"expect": "list"}, {"text": "It is [1, 'two', None]."}
    ),
    "json answer, missing key": case(
        "text.parse_json_answer", {"required_keys": ["x", "y"]}, {"text": '{"a": 1}'}
    ),
    "json answer, none": case("text.parse_json_answer", {}, {"text": "no json here"}),
    # control
    "if true": case(
        "logic.if", {"operator": "contains", "compare_to": "COMPLAINT"}, {"value": "a complaint."}
    ),
    "if false, payload": case(
        "logic.if", {"operator": "greater_than", "compare_to": "10"}, {"value": "3", "payload": {"x": 1}}
    ),
    "if, matches": case(
        "logic.if", {"operator": "matches", "compare_to": r"^\d+$", "ignore_case": False}, {"value": 42}
    ),
    "if, empty": case("logic.if", {"operator": "is_empty"}, {"value": []}),
    "if, not a number": case("logic.if", {"operator": "less_than", "compare_to": "1"}, {"value": "many"}),
    "merge": case("logic.merge", {"count": 3}, {"b": "second", "c": "third"}),
    "merge, nothing": case("logic.merge", {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_node_export_matches_the_app(name: str, env: Env):
    doc, inputs = CASES[name](env)
    assert_same(doc, inputs, env.folder)


# --- workflow inputs ---------------------------------------------------------------------------


def inputs_flow(kind: str, default: Any = None) -> dict[str, Any]:
    config = {"name": "x", "type": kind, "description": "the value"}
    if default is not None:
        config["default"] = default
    return document(
        [node("x", "io.input", config), node("out", "io.output", {"name": "x"}, 300)],
        [edge("x", "value", "out", "value")],
    )


@pytest.mark.parametrize(
    ("kind", "default", "given"),
    [
        ("text", "fallback", {}),
        ("text", None, {"x": "given ✓"}),
        ("text", None, {}),
        ("number", None, {"x": "3"}),
        ("number", None, {"x": "2.50"}),
        ("number", 4, {}),
        ("number", None, {"x": "abc"}),
        ("boolean", None, {"x": "TRUE"}),
        ("json", None, {"x": '{"a": [1, 2]}'}),
        ("json", None, {"x": "{nope"}),
        ("json", {"k": "v"}, {}),
        ("list", None, {"x": "[1, 2]"}),
        ("list", None, {"x": [3, 4]}),
        ("any", None, {"x": {"a": None}}),
        ("text", None, {"x": "a", "y": "unknown input"}),
    ],
)
def test_workflow_inputs_match_the_app(kind: str, default: Any, given: dict[str, Any], tmp_path: Path):
    doc = inputs_flow(kind, default)
    script = run_script(doc, given, tmp_path)
    if "y" in given:  # the app refuses an unknown input before running (UnknownInputError)
        assert script.error == "the workflow has no input named 'y'; its inputs are: x"
        return
    assert script == run_app(doc, given, tmp_path)


# --- what is not produced, and what runs without it ----------------------------------------------


def routed(value: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An If whose branches each feed a template, joined again by a merge; the untaken branch
    also feeds optional inputs (model.chat's system, few-shot examples, a code parameter, CSV text)."""
    nodes = [
        node("msg", "io.input", {"name": "msg"}),
        node("ex", "io.input", {"name": "ex", "type": "list", "default": [{"input": "i", "output": "o"}]}),
        node("route", "logic.if", {"operator": "contains", "compare_to": "urgent"}, 200),
        node("route_ex", "logic.if", {"operator": "contains", "compare_to": "urgent"}, 200, 100),
        node("yes", "prompt.template", {"template": "URGENT: {{m}}"}, 400),
        node("no", "prompt.template", {"template": "later: {{m}}"}, 400, 100),
        node("merge", "logic.merge", {"count": 2}, 600),
        node("llm", "model.chat", {"provider": "openai", "system": "default system"}, 800),
        node("shots", "prompt.few_shot", {}, 800, 100),
        node("py", "tool.python", {"code": "def main(a, b=None):\n    return [a, b]\n"}, 800, 200),
        node("csv", "data.csv", {"path": "table.csv"}, 800, 300),
        node("label", "data.text", {"text": "x"}, 200, 300),
        node("o_merge", "io.output", {"name": "merged"}, 1000),
        node("o_yes", "io.output", {"name": "yes"}, 1000, 100),
        node("o_true", "io.output", {"name": "true_branch"}, 1000, 200),
        node("o_llm", "io.output", {"name": "llm"}, 1000, 300),
        node("o_shots", "io.output", {"name": "shots"}, 1000, 400),
        node("o_py", "io.output", {"name": "py"}, 1000, 500),
        node("o_csv", "io.output", {"name": "rows"}, 1000, 600),
        node("o_result", "io.output", {"name": "result"}, 1000, 700),
    ]
    edges = [
        edge("msg", "value", "route", "value"),
        edge("route", "true", "yes", "m"),
        edge("route", "false", "no", "m"),
        edge("yes", "text", "merge", "a"),
        edge("no", "text", "merge", "b"),
        edge("merge", "value", "llm", "prompt"),
        edge("yes", "text", "llm", "system"),
        edge("merge", "value", "shots", "input"),
        edge("msg", "value", "route_ex", "value"),
        edge("ex", "value", "route_ex", "payload"),
        edge("route_ex", "true", "shots", "examples"),
        edge("label", "text", "py", "a"),
        edge("route", "true", "py", "b"),
        edge("route", "false", "csv", "text"),
        edge("merge", "value", "o_merge", "value"),
        edge("yes", "text", "o_yes", "value"),
        edge("route", "true", "o_true", "value"),
        edge("llm", "text", "o_llm", "value"),
        edge("shots", "text", "o_shots", "value"),
        edge("py", "result", "o_py", "value"),
        edge("csv", "rows", "o_csv", "value"),
        edge("route", "result", "o_result", "value"),
    ]
    return document(nodes, edges, name="routed"), {"msg": value}


@pytest.mark.parametrize("message", ["urgent: the server is down", "a,b\nfor,later"])
def test_skipped_branches_and_optional_inputs_match_the_app(message: str, env: Env):
    (env.folder / "table.csv").write_text("name,amount\nAda,3\n")
    doc, inputs = routed(message)
    outcome = assert_same(doc, inputs, env.folder)
    assert outcome.outputs is not None
    if message.startswith("urgent"):
        assert "rows" in outcome.outputs and "yes" in outcome.outputs
    else:  # the true branch is skipped: its outputs are missing, the optional inputs left out
        assert "yes" not in outcome.outputs and "true_branch" not in outcome.outputs
        assert outcome.outputs["py"] == ["x", None]


def test_a_skip_passes_through_a_chain_of_blocks(env: Env):
    doc = document(
        [
            node("v", "io.input", {"name": "v", "type": "json"}),
            node("get", "text.json_path", {"path": "missing", "if_missing": "skip"}, 200),
            node("fmt", "text.format", {"case": "upper"}, 400),
            node("join", "prompt.template", {"template": "{{a}} {{b}}"}, 600),
            node("other", "data.text", {"text": "t"}, 400, 100),
            node("out", "io.output", {"name": "out"}, 800),
            node("out2", "io.output", {"name": "other"}, 800, 100),
        ],
        [
            edge("v", "value", "get", "value"),
            edge("get", "value", "fmt", "text"),
            edge("fmt", "text", "join", "a"),
            edge("other", "text", "join", "b"),
            edge("join", "text", "out", "value"),
            edge("other", "text", "out2", "value"),
        ],
    )
    assert assert_same(doc, {"v": '{"a": 1}'}, env.folder).outputs == {"other": "t"}
    source, _ = export(doc, env.folder)
    assert "skipped = first_skipped(" in source or "isinstance(" in source


def test_the_scripts_are_lint_clean_and_formatted(env: Env, tmp_path_factory: pytest.TempPathFactory):
    """Every case's script passes `ruff check` and `ruff format --line-length 100 --check` as written."""
    from tests.core.test_export import ruff

    folder = tmp_path_factory.mktemp("scripts")
    docs = [CASES[name](env)[0] for name in sorted(CASES)] + [routed("x")[0]]
    for index, doc in enumerate(docs):
        source, _ = export(doc, env.folder)
        (folder / f"case_{index}.py").write_text(source, encoding="utf-8")
    ruff("check", "--isolated", "--quiet", str(folder))
    ruff("format", "--isolated", "--line-length", "100", "--check", "--quiet", str(folder))


def test_every_node_type_is_covered():
    covered = {item.type_id for item in CASES.values()} | {"io.input", "io.output"}
    assert covered == {node_type.type_id for node_type in default_registry()}
