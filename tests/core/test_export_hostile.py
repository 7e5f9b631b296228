"""Hostile strings through every string field of every node type, every title and description,
the workflow's name and description: every exported script compiles, the embedded workflow reads
back exactly, each config text reaches run() as the very same literal, and nothing escapes its
literal or comment (no stray statement, no import inside run(), one comment header per node)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from app.core.export import ExportError, export_script, workflow_from_script
from app.core.graph import analyze
from app.core.model import workflow_from_document, workflow_to_document
from tests.core.workflows import document, edge, node

NASTY = [
    "",
    "'",
    '"',
    '"""',
    "'''",
    "\\",
    "\\n",
    "\n",
    "\r\n",
    "\r",
    "\x00",
    "\u2028",
    "\u2029",
    "\x0c",
    "\x1b[31m",
    "\t",
    "{{ x }}",
    "{{x}}",
    "{",
    "}}",
    "%s",
    "\ud800",
    "🙂",
    "中文",
    "\u202e",
    '"); import os; os.system("echo pwned"); ("',
    "\nimport os\nos.system('x')\n",
    "# comment\n",
    "'''\nimport os\n'''",
    '"""\nimport os\n"""',
    "\\\n",
    "x\\",
    "def main():\n    return 1\n",
]
hostile = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)), min_size=1, max_size=4).map(
    "".join
)


def flow(texts: list[str]) -> dict[str, Any]:
    """Every node type, each string field holding one of `texts` (cycled)."""
    pool = iter(texts * 40)

    def t() -> str:
        return next(pool)

    code = f"def main(rows: list, extra=None):\n    return {t()!r}  # {t()!r}\n"
    nodes = [
        node("inp", "io.input", {"name": "topic", "default": t(), "description": t()}),
        node("tpl", "prompt.template", {"template": t() + "{{topic}}" + t()}),
        node("chat", "prompt.chat", {"messages": [{"role": "system", "content": t()}, {"role": "user", "content": t() + "{{q}}"}]}),
        node("shots", "prompt.few_shot", {"instruction": t(), "examples": [{"input": t(), "output": t()}],
                                          "input_label": t(), "output_label": t()}),
        node("llm", "model.chat", {"provider": "openai", "model": t() or "m", "system": t(), "base_url": t() or None}),
        node("llm2", "model.chat", {"provider": "anthropic", "model": t() or "m"}),
        node("file", "data.file", {"path": "f" + t()}),
        node("text", "data.text", {"text": t()}),
        node("csv", "data.csv", {"path": "c" + t()}),
        node("folder", "data.folder", {"path": t() or ".", "pattern": "*" + t()}),
        node("url", "data.url", {"url": "https://example.invalid/" + t()}),
        node("http", "tool.http", {"url": "https://example.invalid/" + t(), "headers": {"X-A" + str(len(t())): t()},
                                   "body": t()}),
        node("py", "tool.python", {"code": code}),
        node("join", "text.join", {"separator": t()}),
        node("split", "text.split", {"chunk_size": 10, "overlap": 2}),
        node("regex", "text.regex", {"pattern": re.escape(t())}),
        node("parse", "text.json_parse", {}),
        node("path", "text.json_path", {"path": "a.b", "if_missing": "skip"}),
        node("num", "text.format_number", {"prefix": t(), "suffix": t()}),
        node("tidy", "text.format", {}),
        node("answer", "text.parse_json_answer", {"required_keys": [t()]}),
        node("if", "logic.if", {"operator": "contains", "compare_to": t()}),
        node("merge", "logic.merge", {}),
        node("out", "io.output", {"name": "out"}),
        node("out2", "io.output", {"name": "out2"}),
    ]  # fmt: skip
    for item in nodes:
        item["title"] = t()
        item["description"] = t()
    edges = [
        edge("inp", "value", "tpl", "topic"),
        edge("text", "text", "chat", "q"),
        edge("tpl", "text", "shots", "input"),
        edge("tpl", "text", "llm", "prompt"),
        edge("shots", "text", "llm2", "prompt"),
        edge("csv", "rows", "py", "rows"),
        edge("chat", "messages", "join", "items"),
        edge("file", "text", "split", "text"),
        edge("url", "text", "regex", "text"),
        edge("text", "text", "parse", "text"),
        edge("http", "json", "path", "value"),
        edge("folder", "count", "num", "value"),
        edge("llm", "text", "tidy", "text"),
        edge("llm2", "text", "answer", "text"),
        edge("tidy", "text", "if", "value"),
        edge("if", "true", "merge", "a"),
        edge("py", "result", "merge", "b"),
        edge("merge", "value", "out", "value"),
        edge("path", "value", "out2", "value"),
    ]
    doc = document(nodes, edges, name=t(), description=t())
    # Placeholders the hostile texts happen to write ({{x}}) are inputs too: feed them text.
    try:
        problems = analyze(workflow_from_document(doc)).problems
    except Exception:  # refused by the file format: the test assumes it away
        return doc
    for problem in problems:
        if problem.code == "unconnected_input" and problem.node_id and problem.port:
            edges.append(edge("text", "text", problem.node_id, problem.port))
    return doc


LITERAL_FIELDS = {  # node id -> config fields that reach run() as literals, exactly as written
    "tpl": ["template"],
    "text": ["text"],
    "join": ["separator"],
    "if": ["compare_to"],
    "num": ["prefix", "suffix"],
    "py": ["code"],
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(st.lists(hostile, min_size=3, max_size=8))
# Found by CI: code holding both kinds of triple quote was written as lines without parentheses.
@example(["'''\nimport os\n'''", '"""\nimport os\n"""', ""])
def test_hostile_strings_stay_inside_their_literals_and_comments(texts: list[str]):
    doc = flow(texts)
    try:
        workflow = workflow_from_document(doc)
    except Exception:  # a value the file format itself refuses (e.g. a pattern that is no glob)
        assume(False)
    assume(analyze(workflow).ok)
    try:
        source = export_script(workflow)
    except ExportError as exc:  # only for a reason a person can act on, naming the node
        assert all(problem.node_id for problem in exc.problems), exc
        assume(False)
    tree = ast.parse(source)
    compile(tree, "hostile.py", "exec")

    restored = workflow_from_script(source)
    assert restored == workflow
    assert workflow_to_document(restored) == workflow_to_document(workflow)

    # The module holds a docstring, imports, definitions and assignments, and the main guard.
    body = tree.body
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    for statement in body[1:-1]:
        assert isinstance(
            statement,
            ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign | ast.FunctionDef | ast.ClassDef,
        )
    assert isinstance(body[-1], ast.If)
    for statement in body:
        if isinstance(statement, ast.Assign):
            assert all(isinstance(target, ast.Name) for target in statement.targets)

    # run() holds one commented block per node and nothing that was not generated.
    run = next(item for item in body if isinstance(item, ast.FunctionDef) and item.name == "run")
    for item in ast.walk(run):
        assert not isinstance(item, ast.Import | ast.ImportFrom | ast.Global | ast.Lambda)
    for statement in run.body[1:]:
        assert isinstance(statement, ast.Assign | ast.If | ast.Expr | ast.Return)
        if isinstance(statement, ast.Expr):
            assert isinstance(statement.value, ast.Call)
    run_lines = source.splitlines(keepends=True)[run.lineno - 1 : run.end_lineno]
    comments = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO("".join(run_lines)).readline)
        if token.type == tokenize.COMMENT
    ]
    headers = [
        comment for comment in comments if re.search(r" \([a-z]+\.[a-z_]+ '[A-Za-z0-9_-]+'\)$", comment)
    ]
    ids = {item["id"] for item in doc["nodes"]}
    assert sum(
        1 for comment in headers if re.search(r"'([A-Za-z0-9_-]+)'\)$", comment).group(1) in ids
    ) >= len(ids)
    for comment in comments:
        assert "\n" not in comment and "\r" not in comment

    # Config texts reach run() (or their constant) as the same literal.
    constants = {
        item.value for item in ast.walk(run) if isinstance(item, ast.Constant) and isinstance(item.value, str)
    }
    constants |= {
        item.value.value
        for item in body
        if isinstance(item, ast.Assign)
        and isinstance(item.value, ast.Constant)
        and isinstance(item.value.value, str)
    }
    by_id = {item["id"]: item for item in doc["nodes"]}
    for node_id, fields in LITERAL_FIELDS.items():
        for name in fields:
            value = by_id[node_id]["config"][name]
            if value not in ("", "\n\n"):  # (a value equal to the default is left out of the call)
                assert value in constants, (node_id, name, value)
