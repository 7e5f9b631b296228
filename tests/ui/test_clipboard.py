"""Copy and paste as workflow JSON: between windows and to and from a text editor."""

from __future__ import annotations

import json

from PySide6.QtGui import QGuiApplication

from app.core.model import parse_workflow
from app.ui.editor import CLIPBOARD_MIME
from app.ui.main_window import MainWindow
from tests.core.workflows import document
from tests.ui.conftest import load


def test_copy_puts_a_readable_workflow_on_the_clipboard(window) -> None:
    doc = load(window)
    window.editor.scene.select([doc.node("ask"), doc.node("llm")])
    window.act_copy.trigger()
    clipboard = QGuiApplication.clipboard()
    text = clipboard.text()
    copied = json.loads(text)
    assert copied["format"] == "chainwright.workflow" and copied["version"] == 1
    assert [n["id"] for n in copied["nodes"]] == ["ask", "llm"]
    assert copied["edges"] == [
        {"source": "ask", "source_port": "text", "target": "llm", "target_port": "prompt"}
    ]
    assert clipboard.mimeData().hasFormat(CLIPBOARD_MIME)
    assert parse_workflow(text).nodes[0].config == doc.node("ask").config


def test_copy_and_paste_round_trip_into_another_window(window) -> None:
    doc = load(window)
    window.editor.scene.select([doc.node("ask"), doc.node("llm")])
    window.act_copy.trigger()
    other = window.new_document()
    assert other is not window and other.doc is not None
    other.act_paste.trigger()
    pasted = other.doc
    assert [(n.id, n.type, n.config, n.title) for n in pasted.nodes] == [
        (n.id, n.type, n.config, n.title) for n in (doc.node("ask"), doc.node("llm"))
    ]
    assert [(e.source, e.target) for e in pasted.edges] == [("ask", "llm")]
    # copying the pasted nodes gives the same JSON back (positions aside)
    other.editor.scene.select(pasted.nodes)
    other.act_copy.trigger()
    again = json.loads(QGuiApplication.clipboard().text())
    first = json.loads(window.editor.copy_text([doc.node("ask"), doc.node("llm")]))
    for item in (again, first):
        for n in item["nodes"]:
            n.pop("position")
    assert again == first


def test_paste_in_the_same_window_renames_and_selects_the_copies(window) -> None:
    doc = load(window)
    window.editor.scene.select([doc.node("ask"), doc.node("llm")])
    window.act_copy.trigger()
    window.act_paste.trigger()
    assert [n.id for n in doc.nodes] == ["doc", "ask", "llm", "out", "ask_2", "llm_2"]
    assert doc.find_edge("ask_2", "text", "llm_2", "prompt") is not None
    assert [n.id for n in window.editor.scene.selected_nodes()] == ["ask_2", "llm_2"]
    window.editor.stack.undo()
    assert len(doc.nodes) == 4


def test_pasting_text_from_a_text_editor(window) -> None:
    doc = load(window, document([], []))
    hand_written = json.dumps(
        {
            "format": "chainwright.workflow",
            "version": 1,
            "nodes": [{"id": "greet", "type": "prompt.template", "config": {"template": "Hello {{name}}"}}],
            "edges": [],
        }
    )
    QGuiApplication.clipboard().setText(hand_written)
    window.act_paste.trigger()
    assert [(n.id, n.config) for n in doc.nodes] == [("greet", {"template": "Hello {{name}}"})]
    QGuiApplication.clipboard().setText("just some words")
    window.act_paste.trigger()
    assert len(doc.nodes) == 1
    assert "no Chainwright nodes" in window.statusBar().currentMessage()


def test_cut_removes_and_copies(window) -> None:
    doc = load(window)
    window.editor.scene.select([doc.node("out")])
    window.act_cut.trigger()
    assert doc.node("out") is None and len(doc.edges) == 2
    assert json.loads(QGuiApplication.clipboard().text())["nodes"][0]["id"] == "out"
    window.act_paste.trigger()
    assert doc.node("out") is not None  # the id is free again


def test_duplicate_keeps_inner_wires(window) -> None:
    doc = load(window)
    window.editor.scene.select([doc.node("doc"), doc.node("ask")])
    window.act_duplicate.trigger()
    assert doc.find_edge("doc_2", "text", "ask_2", "text") is not None
    assert doc.node("doc_2").position == [40.0, 40.0]
    assert isinstance(window, MainWindow)
