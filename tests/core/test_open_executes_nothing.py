"""Opening, validating, diffing and exporting a workflow runs no user code, opens no socket and
starts no process — checked with an audit hook (sys.addaudithook) on files whose code nodes carry
the payloads that hurt other tools: module-level code, decorators, default arguments, class
bodies, annotations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.workflows import document, edge, node

PAYLOADS = {
    "module level": "import os\nos.system('touch {mark}')\ndef main(text):\n    return text\n",
    "decorator": "@(lambda f: (__import__('os').system('touch {mark}'), f)[1])\ndef main(text):\n    return text\n",
    "default argument": "def main(text, extra=__import__('os').system('touch {mark}')):\n    return text\n",
    "class body": "class Evil:\n    __import__('os').system('touch {mark}')\n\ndef main(text):\n    return text\n",
    "annotation": "def main(text: __import__('os').system('touch {mark}')):\n    return text\n",
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', 9))\ndef main(text):\n    return text\n",
}


def workflow_with_code(code: str) -> dict:
    return document(
        [
            node("q", "io.input", {"name": "q", "default": "hi"}),
            node("py", "tool.python", {"code": code}, 250),
            node("web", "tool.http", {"url": "http://127.0.0.1:9/{{x}}"}, 250, 150),
            node("out", "io.output", {"name": "out"}, 500),
            node("out2", "io.output", {"name": "out2"}, 500, 150),
        ],
        [
            edge("q", "value", "py", "text"),
            edge("py", "result", "out", "value"),
            edge("q", "value", "web", "x"),
            edge("web", "body", "out2", "value"),
        ],
    )


@pytest.fixture
def hostile_files(tmp_path: Path) -> list[Path]:
    paths = []
    for index, (name, template) in enumerate(PAYLOADS.items()):
        mark = tmp_path / f"MARK-{index}"
        path = tmp_path / f"hostile-{index}.json"
        doc = workflow_with_code(template.format(mark=mark))
        doc["name"] = name
        path.write_text(json.dumps(doc))
        paths.append(path)
    return paths


def audit(tmp_path: Path, hostile_files: list[Path], render: bool = False) -> list[list[str]]:
    """Handle the files in a child process under the audit hook; the suspicious events it saw."""
    benign = tmp_path / "benign.json"
    benign.write_text(json.dumps(workflow_with_code("def main(text):\n    return text\n")))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **({"CW_AUDIT_RENDER": "1"} if render else {})}
    result = subprocess.run(
        [sys.executable, "-m", "tests.core.audit_child", str(benign), *map(str, hostile_files)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_opening_checking_and_exporting_execute_nothing(tmp_path: Path, hostile_files: list[Path]) -> None:
    assert audit(tmp_path, hostile_files) == []
    assert not list(tmp_path.glob("MARK-*"))


def test_the_audit_hook_does_see_execution(tmp_path: Path) -> None:
    """The check above can fail: running one of the payloads is seen and leaves its mark."""
    mark = tmp_path / "MARK-run"
    code = PAYLOADS["default argument"].format(mark=mark)
    probe = (
        "import sys, json\n"
        "from tests.core import audit_child as a\n"
        "sys.addaudithook(a.hook)\n"
        "a.armed = True\n"
        f"exec(compile({code!r}, '<tool.python code>', 'exec'), {{}})\n"
        "print(json.dumps(a.seen))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    events = json.loads(result.stdout.strip().splitlines()[-1])
    assert ["exec", "<tool.python code>"] in events
    assert any(event[0] == "os.system" for event in events)
    assert mark.exists()
