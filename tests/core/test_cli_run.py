"""`chainwright run` (DESIGN.md §1.1), driven through a subprocess as a user or script would."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import _parse_inputs, _Progress
from app.core import events as ev
from app.core.runs import RunStore

REPO = Path(__file__).resolve().parents[2]


def cw(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=120
    )


def _node(id, type, config):
    return {"id": id, "type": type, "title": id.title(), "position": [0, 0], "config": config}


def _edge(s, sp, t, tp):
    return {"source": s, "source_port": sp, "target": t, "target_port": tp}


def _write(folder: Path, name: str, nodes, edges) -> Path:
    doc = {
        "format": "chainwright.workflow",
        "version": 1,
        "name": name,
        "description": "",
        "nodes": nodes,
        "edges": edges,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    (tmp_path / "doc.txt").write_text("Chainwright wires prompts.\nSecond line.", encoding="utf-8")
    return _write(
        tmp_path,
        "summarize",
        [
            _node("doc", "data.file", {"path": "doc.txt"}),
            _node("style", "io.input", {"name": "style", "default": "one line"}),
            _node("count", "io.input", {"name": "count", "type": "number", "default": 1}),
            _node("ask", "prompt.template", {"template": "Summarize in {{style}} ({{n}}):\n{{ text }}"}),
            _node("out", "io.output", {"name": "prompt"}),
            _node("echo", "io.output", {"name": "style"}),
        ],
        [
            _edge("doc", "text", "ask", "text"),
            _edge("style", "value", "ask", "style"),
            _edge("count", "value", "ask", "n"),
            _edge("ask", "text", "out", "value"),
            _edge("style", "value", "echo", "value"),
        ],
    )


def test_json_prints_exactly_one_object_and_progress_goes_to_stderr(flow: Path) -> None:
    done = cw("run", str(flow), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "prompt": "Summarize in one line (1):\nChainwright wires prompts.\nSecond line.",
        "style": "one line",
    }
    assert done.stdout.count("\n") == 1  # one line: the object
    assert "▶ doc (Doc)…" in done.stderr and "✓ ask" in done.stderr
    assert "Traceback" not in done.stderr


def test_inputs_override_defaults_and_are_converted(flow: Path) -> None:
    done = cw("run", str(flow), "--json", "--input", "style=two words", "--input", "count=3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["prompt"].startswith("Summarize in two words (3):")


def test_plain_output_without_json(flow: Path) -> None:
    done = cw("run", str(flow))
    assert done.returncode == 0
    assert done.stdout.startswith("prompt: Summarize in one line (1):")
    assert "style: one line" in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--input", "nope=1"], ["nope", "style", "count"]),
        (["--input", "no equals sign"], ["NAME=VALUE"]),
        (["--input", "style=a", "--input", "style=b"], ["style", "more than once"]),
        (["--input", "count=many"], ["count", "number"]),
    ],
)
def test_bad_arguments_exit_2_naming_what_is_wrong(flow: Path, args: list[str], expected: list[str]) -> None:
    done = cw("run", str(flow), "--json", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    for word in expected:
        assert word in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_required_input_exits_2(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "needs",
        [_node("q", "io.input", {"name": "question"}), _node("o", "io.output", {"name": "o"})],
        [_edge("q", "value", "o", "value")],
    )
    done = cw("run", str(path), "--json")
    assert done.returncode == 2 and "question" in done.stderr and "'q'" in done.stderr
    done = cw("run", str(path), "--json", "--input", "question=hi")
    assert done.returncode == 0 and json.loads(done.stdout) == {"o": "hi"}


def test_an_invalid_file_exits_2_naming_file_and_nodes(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json", encoding="utf-8")
    done = cw("run", str(broken), "--json")
    assert done.returncode == 2 and str(broken) in done.stderr and "line 1" in done.stderr

    cycle = _write(
        tmp_path,
        "cycle",
        [
            _node("x", "prompt.template", {"template": "{{a}}"}),
            _node("y", "prompt.template", {"template": "{{b}}"}),
        ],
        [_edge("x", "text", "y", "b"), _edge("y", "text", "x", "a")],
    )
    done = cw("run", str(cycle), "--json")
    assert done.returncode == 2 and "'x'" in done.stderr and "'y'" in done.stderr and done.stdout == ""

    done = cw("run", str(tmp_path / "missing.json"))
    assert done.returncode == 2 and "missing.json" in done.stderr


def test_a_failing_node_exits_1_naming_the_node_and_the_cause(flow: Path) -> None:
    (flow.parent / "doc.txt").unlink()
    done = cw("run", str(flow), "--json")
    assert done.returncode == 1
    assert "node 'doc'" in done.stderr and "file not found" in done.stderr
    assert "output 'prompt' has no value: upstream node 'doc' failed" in done.stderr
    # stdout is still exactly one JSON object: the outputs that did get a value.
    assert json.loads(done.stdout) == {"style": "one line"}
    assert "Traceback" not in done.stderr


def test_runs_are_recorded_in_the_history(flow: Path) -> None:
    assert cw("run", str(flow), "--json").returncode == 0
    with RunStore() as store:  # the same user data dir: the environment is inherited
        (summary,) = store.list()
        assert summary.status == "succeeded" and summary.workflow_path == str(flow)
        assert store.load(summary.run_id).outputs["style"] == "one line"


def test_parse_inputs() -> None:
    assert _parse_inputs(["a=1", "b==2", "c="]) == {"a": "1", "b": "=2", "c": ""}
    assert isinstance(_parse_inputs(["=1"]), str)
    assert isinstance(_parse_inputs(["1a=1"]), str)


def test_progress_lines_and_streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    show = _Progress({"llm": "Chat model"}, stream_text=True)
    show(ev.NodeStarted(run_id="r", node_id="llm"))
    show(ev.Chunk(run_id="r", node_id="llm", text="Hel"))
    show(ev.Chunk(run_id="r", node_id="llm", text="lo"))
    show(ev.NodeFinished(run_id="r", node_id="llm", duration_s=1.23, input_tokens=30, output_tokens=5))
    show(ev.NodeFailed(run_id="r", node_id="x", message="bad key"))
    show(ev.NodeFinished(run_id="r", node_id="c", cached=True, saved_tokens=35))
    show(ev.NodeSkipped(run_id="r", node_id="s", reason="upstream node 'x' failed"))
    lines = err.getvalue().splitlines()
    assert lines == [
        "▶ llm (Chat model)…",
        "  [llm]",
        "Hello",
        "✓ llm 1.2 s, 35 tokens",
        "✗ x: bad key",
        "✓ c from the cache, saved 35 tokens",
        "– s skipped: upstream node 'x' failed",
    ]

    err.truncate(0)
    err.seek(0)
    quiet = _Progress({}, stream_text=False)
    quiet(ev.Chunk(run_id="r", node_id="llm", text="Hello"))
    assert err.getvalue() == ""
