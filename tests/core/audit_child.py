"""Child process of test_open_executes_nothing: open, check, export and render hostile workflows under an audit hook.

Usage: python -m tests.core.audit_child BENIGN.json HOSTILE.json... — prints one JSON list of the
suspicious audit events seen while handling the hostile files (after a warm-up on the benign one,
so that lazy imports of the app's own modules are not counted). With CW_AUDIT_RENDER=1 the files
are opened in the editor window (offscreen) and painted instead.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from app.core.autosave import diff_summary
from app.core.export import export_script, workflow_from_script
from app.core.graph import analyze
from app.core.model import WorkflowFileError, load_workflow
from app.core.registry import default_registry

WATCHED = (
    "subprocess.",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "socket.connect",
    "socket.getaddrinfo",
    "ctypes.",
)
armed = False
seen: list[list[str]] = []


def hook(event: str, args: tuple) -> None:
    if not armed:
        return
    if event == "exec":
        code = args[0] if args else None
        filename = getattr(code, "co_filename", "")
        if not (filename.startswith("<frozen") or os.path.isfile(filename)):
            seen.append([event, filename])
    elif event.startswith(WATCHED):
        seen.append([event, repr(args)[:200]])
    elif event == "open" and args and "MARK" in str(args[0]):
        seen.append([event, str(args[0])])


def handle(path: Path) -> None:
    try:
        workflow = load_workflow(path)
    except WorkflowFileError:
        return
    analysis = analyze(workflow)
    diff_summary(workflow, workflow)
    if analysis.ok:
        script = export_script(workflow, workflow_path=path, script_path=path.with_suffix(".py"))
        workflow_from_script(script)
    for node_type in default_registry():
        node_type.describe()


def render(paths: list[Path], arm_after_first: bool) -> None:
    """Open the files in the editor window (offscreen) and paint it."""
    global armed
    from PySide6.QtWidgets import QApplication

    from app.core.settings import Settings
    from app.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(Settings())
    window.show()
    for index, path in enumerate(paths):
        if arm_after_first and index == 1:
            armed = True
        window.open_path(path)
        for _ in range(5):
            app.processEvents()
        window.grab()
        if index == 0:  # the engine's warm-up (library imports in its thread) is not the file's doing
            warming = window.runs.warm_up()
            if warming is not None:
                warming.result(60)
    armed = False
    window.editor.stack.setClean()
    window.close()
    app.clipboard().clear()


def main() -> None:
    global armed
    sys.addaudithook(hook)
    benign, *hostile = (Path(p) for p in sys.argv[1:])
    if os.environ.get("CW_AUDIT_RENDER"):
        render([benign, *hostile], arm_after_first=True)
    else:
        handle(benign)
        armed = True
        for path in hostile:
            handle(path)
        armed = False
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
