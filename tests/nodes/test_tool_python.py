from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.sdk import NodeError
from tests.nodes.helpers import make_context, node_error, node_type, run_node


def code(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_ports_come_from_the_parameters_of_main():
    node = node_type("tool.python").from_config(
        {"code": code("def main(text: str, n: int = 2, *, flags: list, extra=None):", "    return 1")}
    )
    ports = [(p.name, p.type.value, p.required) for p in node.input_ports()]
    assert ports == [
        ("text", "text", True),
        ("n", "number", False),
        ("flags", "list", True),
        ("extra", "any", False),
    ]


def test_code_without_main_or_with_a_syntax_error_is_a_config_error():
    with pytest.raises(ValidationError, match="must define a function `def main"):
        node_type("tool.python").parse_config({"code": "x = 1\n"})
    with pytest.raises(ValidationError, match="line 2"):
        node_type("tool.python").parse_config({"code": "def main():\n    return (\n"})


def test_main_runs_with_the_inputs_and_its_result_comes_back():
    source = code(
        "import json", "def main(text: str, n: int = 2):", "    return {'words': text.split()[:n], 'n': n}"
    )
    ran = run_node("tool.python", {"code": source}, {"text": "one two three"})
    assert ran.outputs == {"result": {"words": ["one", "two"], "n": 2}}


def test_async_main_and_unicode():
    source = code("async def main(s):", "    return s + ' ✓'")
    assert run_node("tool.python", {"code": source}, {"s": "ok"}).outputs == {"result": "ok ✓"}


def test_prints_go_to_the_log_not_the_result():
    source = code(
        "import sys",
        "def main():",
        "    print('hello')",
        "    print('careful', file=sys.stderr)",
        "    return 5",
    )
    ran = run_node("tool.python", {"code": source})
    assert ran.outputs == {"result": 5}
    assert ("info", "hello") in ran.logs and ("warning", "careful") in ran.logs


def test_code_runs_in_the_workflow_folder(tmp_path: Path):
    (tmp_path / "data.txt").write_text("from disk")
    source = code("def main():", "    return open('data.txt').read()")
    assert run_node("tool.python", {"code": source}, tmp_path=tmp_path).outputs == {"result": "from disk"}


def test_an_exception_shows_the_users_line():
    source = code("def helper(x):", "    return 10 / x", "", "def main(x: int):", "    return helper(x)")
    error = node_error("tool.python", {"code": source}, {"x": 0})
    assert error.message == "your code raised ZeroDivisionError: division by zero (line 2: return 10 / x)"
    assert error.user_line == 2
    assert 'File "<your code>", line 5, in main' in error.details
    assert 'File "<your code>", line 2, in helper' in error.details
    assert "ZeroDivisionError: division by zero" in error.details


def test_an_error_at_import_time_names_its_line():
    source = code("import no_such_module_here", "def main():", "    return 1")
    error = node_error("tool.python", {"code": source})
    assert error.message == (
        "your code raised ModuleNotFoundError: No module named 'no_such_module_here' (line 1: import no_such_module_here)"
    )
    assert error.user_line == 1


def test_a_result_that_is_not_json():
    error = node_error("tool.python", {"code": code("def main():", "    return {1, 2}")})
    assert error.message.startswith(
        "main returned a set value, which cannot be passed on to other nodes: return text, a number, true/false, "
        "None, a list or a dict of those"
    )
    error = node_error("tool.python", {"code": code("def main():", "    return float('nan')")})
    assert error.message.startswith("main returned a float value, which cannot be passed on")


def test_sys_exit_is_an_error_naming_the_line():
    error = node_error("tool.python", {"code": code("import sys", "def main():", "    sys.exit(3)")})
    assert (
        error.message
        == "your code called sys.exit(3) (line 3: sys.exit(3)); return a value from main instead"
    )
    assert error.user_line == 3


def test_a_hard_exit_or_a_crash_is_a_clear_error():
    error = node_error("tool.python", {"code": code("import os", "def main():", "    os._exit(7)")})
    assert error.message == "the Python process ended (exit code 7) before main returned a value"
    crash = code("import ctypes", "def main():", "    ctypes.string_at(0)")
    error = node_error("tool.python", {"code": crash})
    assert error.message == "the Python process crashed (SIGSEGV) before main returned"


def test_code_that_hangs_is_stopped_after_the_timeout(tmp_path: Path):
    marker = tmp_path / "child.pid"
    source = code(
        "import os, subprocess, sys, time",
        "def main():",
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])",
        f"    open({str(marker)!r}, 'w').write(str(child.pid))",
        "    while True:",
        "        time.sleep(0.01)",
    )
    started = time.monotonic()
    error = node_error("tool.python", {"code": source, "timeout_seconds": 1})
    assert time.monotonic() - started < 5
    assert error.message == (
        "your code did not finish within 1 s and was stopped (timeout_seconds); does it wait for something, or loop forever?"
    )
    assert error.field == "config.timeout_seconds"
    child = int(marker.read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "a process the code started was left running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_cancelling_the_task_kills_the_process_at_once(tmp_path: Path):
    marker = tmp_path / "pid"
    source = code(
        "import os, time",
        "def main():",
        f"    open({str(marker)!r}, 'w').write(str(os.getpid()))",
        "    time.sleep(60)",
    )
    node = node_type("tool.python").from_config({"code": source})
    ctx, _ = make_context(tmp_path)

    async def scenario() -> None:
        task = asyncio.ensure_future(node.run({}, ctx))
        while not marker.exists() or not marker.read_text():
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 5
    assert not _alive(int(marker.read_text()))


def test_the_cancel_event_kills_the_process(tmp_path: Path):
    source = code("import time", "def main():", "    time.sleep(60)")
    node = node_type("tool.python").from_config({"code": source})
    ctx, _ = make_context(tmp_path)
    threading.Timer(0.3, ctx.cancel_event.set).start()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(node.run({}, ctx))
    assert time.monotonic() - started < 3


def test_a_missing_input():
    error = node_error("tool.python", {"code": code("def main(a, b=1):", "    return a")})
    assert (
        error.message == "the input 'a' (a parameter of main) has nothing connected to it"
        and error.port == "a"
    )


def test_restricted_mode_does_not_run_code():
    error = node_error("tool.python", {"code": code("def main():", "    return 1")}, restricted=True)
    assert (
        error.message
        == "this workflow is not trusted, so its Python code is not run; trust the workflow to run it"
    )


def test_provider_keys_are_not_passed_to_the_code(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-hidden")
    source = code("import os", "def main():", "    return os.environ.get('OPENAI_API_KEY')")
    assert run_node("tool.python", {"code": source}).outputs == {"result": None}


def test_a_flood_of_output_is_capped(monkeypatch: pytest.MonkeyPatch):
    import nodes.tool

    monkeypatch.setattr(nodes.tool, "MAX_LOG_LINES", 10)
    ran = run_node(
        "tool.python",
        {"code": code("def main():", "    for i in range(100):", "        print(i)", "    return 'done'")},
    )
    assert ran.outputs == {"result": "done"}
    assert ran.logs[:10] == [("info", str(i)) for i in range(10)]
    assert ran.logs[-1] == ("warning", "… 90 more lines of output not shown")


def test_errors_are_node_errors():
    assert issubclass(
        type(node_error("tool.python", {"code": code("def main():", "    raise ValueError('bad')")})),
        NodeError,
    )
