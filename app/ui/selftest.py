"""`chainwright --self-test`: prove an installation (or a packaged bundle) works, headless.

It opens the main window offscreen, installs the Help and Settings actions, opens the first
example from the welcome page and runs it on the built-in local model (no cache, so the model
really runs), runs a `tool.python` node (the separate Python process user code runs in), checks
that the keychain backends and the icon were packaged, and exits 0 when every check passed.
Each check prints one line: ``ok   NAME  (details)`` or ``FAIL NAME: why``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

WATCHDOG_S = 600.0
RUN_TIMEOUT_S = 300.0

PYTHON_CHECK = {
    "format": "chainwright.workflow",
    "version": 1,
    "name": "Self-test: Python code",
    "nodes": [
        {
            "id": "code",
            "type": "tool.python",
            "title": "Python code",
            "position": [0, 0],
            "config": {
                "code": "import json, statistics\n\ndef main() -> str:\n"
                "    return json.dumps({'mean': statistics.mean([1, 2, 3, 6])})\n"
            },
        },
        {
            "id": "out",
            "type": "io.output",
            "title": "Result",
            "position": [260, 0],
            "config": {"name": "result"},
        },
    ],
    "edges": [{"source": "code", "source_port": "result", "target": "out", "target_port": "value"}],
}


def process_age() -> float | None:
    """Seconds since this process started (Linux: from /proc), or None where that is unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")


class _Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.started = time.monotonic()

    def run(self, name: str, check: Callable[[], str]) -> Any:
        t0 = time.monotonic()
        try:
            detail = check()
        except Exception as exc:
            self.failed.append(name)
            print(f"FAIL {name}: {type(exc).__name__}: {exc}", flush=True)
            return None
        print(f"ok   {name}  ({detail}; {time.monotonic() - t0:.2f} s)", flush=True)
        return detail


def _check_keyring() -> str:
    """keyring finds its backends through its package metadata (entry points); a bundle that
    lost them silently falls back to 'no keychain'."""
    from importlib.metadata import entry_points

    import keyring.backend

    names = sorted(ep.name for ep in entry_points(group="keyring.backends"))
    if not names:
        raise RuntimeError("no keyring backends are registered (keyring's metadata was not packaged)")
    loaded = []
    for ep in entry_points(group="keyring.backends"):
        with contextlib.suppress(ImportError):  # a backend for another OS may not import here
            ep.load()
            loaded.append(ep.name)
    if not loaded:
        raise RuntimeError(f"none of the keyring backends {names} could be imported")
    viable = [type(b).__name__ for b in keyring.backend.get_all_keyring()]
    from app.core.secrets import keyring_available

    state = "a keychain is available" if keyring_available() else "no keychain on this machine"
    return f"backends {', '.join(loaded)}; usable here: {', '.join(viable) or 'none'}; {state}"


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    watchdog = threading.Timer(
        WATCHDOG_S, lambda: (print("FAIL self-test: timed out", flush=True), os._exit(3))
    )
    watchdog.daemon = True
    watchdog.start()
    checks = _Checks()
    print(
        f"Chainwright self-test ({'bundle' if getattr(sys, 'frozen', False) else 'source'}, {sys.executable})"
    )

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0], "-platform", os.environ["QT_QPA_PLATFORM"]])
    assert isinstance(app, QApplication)
    app.setApplicationName("Chainwright")
    from app.core.logs import setup_logging

    checks.run("log file", lambda: str(setup_logging()))
    checks.run("keychain backends", _check_keyring)

    from app.core.settings import Settings
    from app.ui.help import app_icon, install_help_menu, versions
    from app.ui.main_window import MainWindow
    from app.ui.settings_dialog import SettingsDialog, install_settings_action
    from app.ui.theme import apply_theme
    from app.ui.welcome import WorkflowRun, first_example, open_and_run_example

    apply_theme(app, "light")
    state: dict[str, Any] = {}

    def open_window() -> str:
        window = MainWindow(Settings())  # defaults: the built-in model, never the user's file
        install_help_menu(window)
        install_settings_action(window)
        window.resize(1280, 800)
        window.show()
        app.processEvents()
        state["window"] = window
        cards = window.start_page.examples
        age = process_age()
        started = f"; shown {age:.2f} s after the process started" if age is not None else ""
        return f"{len(cards)} examples on the welcome page, platform {app.platformName()}{started}"

    checks.run("main window", open_window)
    checks.run("app icon", lambda: "found" if not app_icon().isNull() else _raise("the icon is missing"))
    checks.run(
        "versions", lambda: ", ".join(f"{k} {v}" for k, v in versions().items() if k != "Operating system")
    )

    def settings_dialog() -> str:
        dialog = SettingsDialog(Settings(), state.get("window"))
        status = dialog.builtin_status.text()
        dialog.deleteLater()
        if not status.startswith("✓"):
            raise RuntimeError(status)
        return status

    checks.run("settings dialog / built-in model", settings_dialog)

    def run_example() -> str:
        window = state.get("window")
        if window is None:
            raise RuntimeError("no window")
        example = first_example()
        if example is None:
            raise RuntimeError("no offline example is installed")
        run = open_and_run_example(window, example, use_cache=False)
        if run is None:
            raise RuntimeError(f"{example.name} did not open")
        if not run.wait(RUN_TIMEOUT_S):
            run.cancel()
            raise RuntimeError(f"the run did not finish within {RUN_TIMEOUT_S:g} s")
        if run.error:
            raise RuntimeError(run.error)
        result = run.result
        if result.status != "succeeded":
            failures = "; ".join(
                f"{f.node_id}: {f.error.message if f.error else 'failed'}" for f in result.failures
            )
            raise RuntimeError(f"run {result.status}: {failures}")
        texts = [str(value) for value in result.outputs.values()]
        if not texts or not any(text.strip() for text in texts):
            raise RuntimeError(f"the outputs are empty: {result.outputs}")
        first = " ".join(texts[0].split())
        return f"{example.name} on the local model: {first[:70]!r}…"

    checks.run("example run", run_example)

    def python_node() -> str:
        from app.core.model import parse_workflow

        run = WorkflowRun(parse_workflow(json.dumps(PYTHON_CHECK)), None, Settings(), use_cache=False)
        run.start()
        if not run.wait(60):
            raise RuntimeError("the Python node did not finish within 60 s")
        if run.error:
            raise RuntimeError(run.error)
        if run.result.status != "succeeded":
            failure = run.result.failures[0].error if run.result.failures else None
            raise RuntimeError(failure.message if failure else run.result.status)
        value = run.result.outputs.get("result")
        if json.loads(str(value)) != {"mean": 3}:
            raise RuntimeError(f"unexpected result {value!r}")
        return f"user code ran in a child process: {value}"

    checks.run("python node", python_node)

    window = state.get("window")
    if window is not None:
        window.close()
    app.processEvents()
    app.clipboard().clear()  # see app.ui.main: the offscreen clipboard and interpreter exit
    watchdog.cancel()
    total = time.monotonic() - checks.started
    if checks.failed:
        print(f"self-test FAILED ({', '.join(checks.failed)}) in {total:.1f} s", flush=True)
        return 1
    print(f"self-test passed in {total:.1f} s", flush=True)
    return 0


def _raise(message: str) -> str:
    raise RuntimeError(message)
