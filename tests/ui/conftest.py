"""Fixtures for the editor's UI tests: a real main window, offscreen, driven with QTest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.document import WorkflowDocument
from app.core.model import parse_workflow
from app.core.settings import Settings
from app.ui.canvas.node_item import NodeItem
from app.ui.main_window import MainWindow
from app.ui.theme import apply_theme
from tests.core.workflows import summarize


@pytest.fixture
def window(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, "light")
    win = MainWindow(Settings())
    # Dialogs would block offscreen: tests that care replace these again.
    monkeypatch.setattr(win, "ask_save", lambda name: QMessageBox.StandardButton.Discard)
    errors: list[tuple[str, str]] = []
    monkeypatch.setattr(win, "show_error", lambda title, text: errors.append((title, text)))
    win.errors = errors  # type: ignore[attr-defined]
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    # Windows delete themselves on close (WA_DeleteOnClose); close whatever is still open.
    for other in [win, *MainWindow.windows]:
        if shiboken6.isValid(other):
            monkeypatch.setattr(other, "ask_save", lambda name: QMessageBox.StandardButton.Discard)
            other.close()
    MainWindow.windows.clear()
    # A QMimeData left on the offscreen clipboard crashes Qt's teardown at interpreter exit.
    QGuiApplication.clipboard().clear()
    QApplication.processEvents()


def load(window: MainWindow, doc: dict | None = None) -> WorkflowDocument:
    document = WorkflowDocument(parse_workflow(json.dumps(doc or summarize())), registry=window.registry)
    window.set_document(document)
    QApplication.processEvents()
    window.view.set_zoom(1.0, window.editor.scene.content_rect().center())
    QApplication.processEvents()
    return document


def item(window: MainWindow, node_id: str) -> NodeItem:
    node = window.doc.node(node_id)
    found = window.editor.scene.node_item(node)
    assert found is not None
    return found


def port_point(window: MainWindow, node_id: str, port: str, output: bool) -> QPoint:
    return window.view.mapFromScene(item(window, node_id).port_scene_pos(port, output))


def body_point(window: MainWindow, node_id: str) -> QPoint:
    node_item = item(window, node_id)
    return window.view.mapFromScene(node_item.pos() + QPointF(node_item.width / 2, 12))


def send_mouse(
    widget: Any,
    kind: QMouseEvent.Type,
    pos: QPoint,
    button: Qt.MouseButton = Qt.MouseButton.LeftButton,
    buttons: Qt.MouseButton | None = None,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
) -> None:
    """A mouse event with an explicit button state (QTest.mouseMove does not carry held buttons)."""
    if buttons is None:
        buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else button
    global_pos = widget.mapToGlobal(pos)
    event = QMouseEvent(kind, QPointF(pos), QPointF(global_pos), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(
    widget: Any,
    start: QPoint,
    end: QPoint,
    steps: int = 6,
    button: Qt.MouseButton = Qt.MouseButton.LeftButton,
) -> None:
    """Press, move in steps with the button held, release — as a person drags."""
    send_mouse(widget, QMouseEvent.Type.MouseButtonPress, start, button)
    for step in range(1, steps + 1):
        point = start + (end - start) * step / steps
        send_mouse(widget, QMouseEvent.Type.MouseMove, point, Qt.MouseButton.NoButton, button)
    send_mouse(widget, QMouseEvent.Type.MouseButtonRelease, end, button)
    QApplication.processEvents()


def click(widget: Any, pos: QPoint, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, modifiers, pos)
    QApplication.processEvents()
