"""Undo and redo of every kind of edit restore the document exactly — byte for byte."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from app.ui.main_window import MainWindow
from tests.ui.conftest import body_point, drag, load, port_point


def _add(window: MainWindow) -> None:
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    QTest.keyClicks(window.quick_add.edit, "python")
    QTest.keyClick(window.quick_add.edit, Qt.Key.Key_Return)


def _remove(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("ask")])  # has two wires
    window.act_delete.trigger()


def _connect(window: MainWindow) -> None:
    drag(
        window.view.viewport(),
        port_point(window, "ask", "text", True),
        port_point(window, "llm", "system", False),
    )
    assert window.doc.find_edge("ask", "text", "llm", "system") is not None


def _disconnect(window: MainWindow) -> None:
    wire = window.editor.scene.wire_item(window.doc.edges[1])
    wire.setSelected(True)
    window.act_delete.trigger()


def _move(window: MainWindow) -> None:
    start = body_point(window, "ask")
    drag(window.view.viewport(), start, start + QPoint(25, 90))


def _config(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("llm")])
    QGuiApplication.processEvents()
    page = window.inspector.page
    page.fields["provider"][1].setCurrentIndex(0)
    page.fields["provider"][1].activated.emit(1)  # anthropic
    assert window.doc.node("llm").config["provider"] == "anthropic"


def _typing(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("ask")])
    QGuiApplication.processEvents()
    QTest.keyClicks(window.inspector.page.fields["template"][1], " Be brief. {{tone}}")


def _title(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("out")])
    QGuiApplication.processEvents()
    title = window.inspector.page.title
    title.selectAll()
    QTest.keyClicks(title, "Final summary")


def _rename(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("ask")])
    QGuiApplication.processEvents()
    id_edit = window.inspector.page.id_edit
    id_edit.setText("question")
    id_edit.editingFinished.emit()


def _paste(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("ask"), window.doc.node("llm")])
    window.act_copy.trigger()
    window.act_paste.trigger()


def _duplicate(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("doc")])
    window.act_duplicate.trigger()


def _comment(window: MainWindow) -> None:
    window.act_add_comment.trigger()


def _nudge(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("doc"), window.doc.node("out")])
    for _ in range(3):
        QTest.keyClick(window.view, Qt.Key.Key_Right)
    QTest.keyClick(window.view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)


def _workflow_name(window: MainWindow) -> None:
    window.editor.scene.clearSelection()
    QGuiApplication.processEvents()
    QTest.keyClicks(window.inspector.page.name, " (draft)")


def _cache(window: MainWindow) -> None:
    window.editor.scene.select([window.doc.node("llm")])
    QGuiApplication.processEvents()
    window.inspector.page.cache.click()


EDITS: dict[str, Callable[[MainWindow], None]] = {
    "add": _add,
    "remove with its wires": _remove,
    "connect": _connect,
    "disconnect": _disconnect,
    "move": _move,
    "config choice": _config,
    "config typing": _typing,
    "title": _title,
    "rename id": _rename,
    "paste": _paste,
    "duplicate": _duplicate,
    "comment": _comment,
    "keyboard nudges": _nudge,
    "workflow name": _workflow_name,
    "cache flag": _cache,
}


@pytest.mark.parametrize("kind", list(EDITS))
def test_undo_and_redo_restore_the_document_exactly(window, kind: str) -> None:
    load(window)
    stack = window.editor.stack
    before = window.doc.to_bytes()
    base = stack.index()
    EDITS[kind](window)
    after = window.doc.to_bytes()
    assert after != before, "the edit changed nothing"
    assert stack.index() == base + 1, [stack.text(i) for i in range(stack.count())]  # one step
    assert window.isWindowModified()
    stack.undo()
    assert window.doc.to_bytes() == before
    assert not window.isWindowModified()
    stack.redo()
    assert window.doc.to_bytes() == after
    stack.undo()
    assert window.doc.to_bytes() == before


def test_the_scene_mirrors_the_document_after_undo(window) -> None:
    doc = load(window)
    _remove(window)
    scene = window.editor.scene
    assert scene.node_item(doc.node("llm")) is not None and len(scene._wires) == 1
    window.editor.stack.undo()
    assert len(scene.node_items()) == 4 and len(scene._wires) == 3
    for edge in doc.edges:
        wire = scene.wire_item(edge)
        assert wire is not None and wire.source.node.id == edge.source and wire.target.node.id == edge.target


def test_history_lists_every_step(window) -> None:
    load(window)
    _move(window)
    _title(window)
    window.act_history.trigger()
    assert window.history_dock.isVisible()
    model = window.history_view.model()
    labels = [model.index(row, 0).data() for row in range(model.rowCount())]
    assert labels == ["Opened", "Move Ask", "Change title of Out"]
