"""The `chainwright` command, driven through a subprocess exactly as a user or script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.core.workflows import document, edge, node, summarize

CORE = ["io.input", "io.output", "prompt.template", "model.chat", "data.file", "tool.http", "tool.python"]


def chainwright(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def write(tmp_path: Path, doc: dict, name: str = "flow.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_validate_accepts_a_valid_file(tmp_path: Path) -> None:
    result = chainwright("validate", str(write(tmp_path, summarize())))
    assert result.returncode == 0, result.stderr
    assert "valid (4 nodes, 3 edges)" in result.stdout


def test_validate_lists_each_problem_on_its_own_line(tmp_path: Path) -> None:
    doc = document(
        [node("ghost", "no.such.node"), node("llm", "model.chat", {"provider": "openai", "model": "m"})],
        [edge("llm", "text", "nowhere", "value")],
    )
    path = write(tmp_path, doc)
    before = path.read_bytes()
    result = chainwright("validate", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"{path}: node 'ghost', field 'type': unknown node type 'no.such.node'"
    assert lines[1].startswith(f"{path}: node 'llm', field 'target': edge #1 (llm.text → nowhere.value)")
    assert (
        lines[2]
        == f"{path}: node 'llm', port 'prompt': this input is required but nothing is connected to it"
    )
    assert lines[3] == f"{path}: 3 problem(s) found"
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


def test_validate_reports_an_unreadable_file_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "chainwright.workflow", "version": 1, "nodes": [')
    result = chainwright("validate", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}: not valid JSON: ")
    assert "Traceback" not in result.stderr


def test_validate_refuses_a_newer_version_and_leaves_it_untouched(tmp_path: Path) -> None:
    doc = summarize()
    doc["version"] = 7
    path = write(tmp_path, doc)
    before = path.read_bytes()
    result = chainwright("validate", str(path))
    assert result.returncode == 2
    assert "version 7" in result.stderr
    assert path.read_bytes() == before


def test_missing_file_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    result = chainwright("validate", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "nope.json: no such file" in result.stderr
    result = chainwright("validate")
    assert result.returncode == 2
    assert "the following arguments are required: file" in result.stderr
    result = chainwright("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_nodes_json_lists_the_catalogue_with_ports_and_config() -> None:
    result = chainwright("nodes", "--json")
    assert result.returncode == 0, result.stderr
    catalogue = json.loads(result.stdout)
    by_type = {item["type"]: item for item in catalogue["nodes"]}
    assert set(CORE) <= set(by_type)
    chat = by_type["model.chat"]
    assert [(p["name"], p["type"], p["required"]) for p in chat["inputs"]] == [
        ("prompt", "any", True),
        ("system", "text", False),
    ]
    assert [p["name"] for p in chat["outputs"]] == ["text"]
    assert {"provider", "model", "base_url", "system", "temperature", "max_tokens", "seed"} <= {
        field["name"] for field in chat["config"]
    }
    assert by_type["prompt.template"]["dynamic_ports"]


def test_nodes_plain_listing_groups_by_category() -> None:
    result = chainwright("nodes")
    assert result.returncode == 0
    assert "model.chat" in result.stdout and "Chat model" in result.stdout


def test_python_dash_m_app_and_the_console_script_agree() -> None:
    script = subprocess.run(["chainwright", "nodes", "--json"], capture_output=True, text=True, timeout=120)
    assert script.returncode == 0
    assert json.loads(script.stdout) == json.loads(chainwright("nodes", "--json").stdout)


def test_app_without_a_display_says_so_plainly() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(
        [sys.executable, "-m", "app"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 1
    assert "needs a graphical display" in result.stderr
    assert "chainwright run FILE --json" in result.stderr
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr
