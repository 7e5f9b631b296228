"""File ▸ Export as Python with its preview, opening an exported script back, new model nodes' defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.core.export import workflow_from_script
from app.core.model import parse_workflow, save_workflow
from app.ui.export_dialog import ExportDialog, export_current
from app.ui.main_window import MainWindow
from tests.core.workflows import document, edge, node, summarize


def test_export_previews_the_script_and_saves_it(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "flow.json"
    (tmp_path / "notes.txt").write_text("notes")
    save_workflow(parse_workflow(json.dumps(summarize())), source)
    opened = window.open_path(source)
    assert opened is not None
    action = next(a for a in window.actions() if a.objectName() == "actionExportPython")
    assert action.text() == "&Export as Python…"
    dialog = export_current(opened)
    assert isinstance(dialog, ExportDialog)
    text = dialog.preview.toPlainText()
    assert "def run(**inputs)" in text and "WORKFLOW = {" in text
    target = tmp_path / "out" / "summary.py"
    target.parent.mkdir()
    monkeypatch.setattr(dialog, "choose_path", lambda: target)
    dialog.save()
    assert dialog.saved_to == target
    assert workflow_from_script(target.read_text()) == opened.doc.workflow
    assert 'HERE / "../notes.txt"' in target.read_text()  # file paths follow the script's new folder
    dialog.close()


def test_a_workflow_that_cannot_export_says_why(window: MainWindow) -> None:
    broken = document([node("llm", "model.chat", {"provider": "openai"})], [])
    from tests.ui.conftest import load

    load(window, broken)
    dialog = export_current(window)
    assert dialog is not None
    assert "cannot be exported" in dialog.note.text()
    assert "node 'llm', port 'prompt'" in dialog.preview.toPlainText()
    dialog.close()


def test_an_exported_script_opens_as_an_untitled_graph(window: MainWindow, tmp_path: Path) -> None:
    from app.core.export import export_script

    workflow = parse_workflow(
        json.dumps(
            document(
                [node("q", "io.input", {"name": "q"}), node("o", "io.output", {"name": "o"}, 260)],
                [edge("q", "value", "o", "value")],
            )
        )
    )
    script = tmp_path / "flow.py"
    script.write_text(export_script(workflow, workflow_path=tmp_path / "flow.json", script_path=script))
    before = script.read_bytes()
    opened = window.open_path(script)
    assert opened is not None and opened.doc.workflow == workflow
    assert opened.doc.path is None  # Save asks for a .json file: the script is never overwritten
    QApplication.processEvents()
    assert script.read_bytes() == before


def test_new_model_nodes_use_the_default_provider_and_model(window: MainWindow) -> None:
    from tests.ui.conftest import load

    window.settings.default_provider = "anthropic"
    window.settings.default_model = "claude-x"
    load(window, document([], []))
    added = window.editor.add_node("model.chat", (0, 0))
    assert (added.config["provider"], added.config["model"]) == ("anthropic", "claude-x")
