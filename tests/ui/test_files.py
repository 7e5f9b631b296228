"""New, open, save, save as, recent files, the start page and the example gallery."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from app.core.document import WorkflowDocument
from app.core.model import parse_workflow, save_workflow
from app.core.settings import Settings
from app.ui.main_window import MainWindow
from app.ui.start_page import StartPage, list_examples
from tests.core.workflows import document, edge, node, summarize
from tests.ui.conftest import body_point, drag, load


def write(path: Path, doc: dict) -> Path:
    save_workflow(parse_workflow(json.dumps(doc)), path)
    return path


def test_save_then_reopen_is_byte_identical(window, tmp_path: Path) -> None:
    original = write(tmp_path / "summarize.json", summarize())
    opened = window.open_path(original)
    assert opened is window and window.doc.path == original
    assert window.windowTitle() == "summarize.json[*] — Chainwright" and not window.isWindowModified()
    copy = tmp_path / "copy.json"
    assert window.save_as(copy)
    assert copy.read_bytes() == original.read_bytes()
    other = MainWindow(Settings())
    try:
        other.set_document(WorkflowDocument.open(copy))
        again = tmp_path / "again.json"
        assert other.save_as(again)
        assert again.read_bytes() == original.read_bytes()
    finally:
        other.close()


def test_the_dirty_mark_follows_the_undo_stack(window, tmp_path: Path) -> None:
    path = write(tmp_path / "flow.json", summarize())
    window.open_path(path)
    start = body_point(window, "llm")
    drag(window.view.viewport(), start, start.__class__(start.x() + 30, start.y()))
    assert window.isWindowModified()
    window.editor.stack.undo()
    assert not window.isWindowModified()
    window.editor.stack.redo()
    assert window.save()
    assert not window.isWindowModified()
    assert path.read_bytes() == window.doc.to_bytes()
    assert json.loads(path.read_text())["nodes"][2]["position"][0] > 520
    window.editor.stack.undo()
    assert window.isWindowModified()  # differs from the saved file again


def test_closing_with_unsaved_changes_asks(window, tmp_path: Path, monkeypatch) -> None:
    load(window)
    window.editor.set_node_attribute(window.doc.node("llm"), "title", "Changed")
    asked: list[str] = []

    def cancel(name: str) -> QMessageBox.StandardButton:
        asked.append(name)
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(window, "ask_save", cancel)
    assert not window.close()
    assert asked == ["Untitled"] and window.isVisible()
    target = tmp_path / "saved.json"
    monkeypatch.setattr(window, "ask_save", lambda name: QMessageBox.StandardButton.Save)
    monkeypatch.setattr(window, "save_as", lambda path=None: window._save_to(target))
    assert window.close()
    assert json.loads(target.read_text())["nodes"][2]["title"] == "Changed"


def test_a_file_with_mistakes_opens_and_lists_them(window, tmp_path: Path) -> None:
    broken = document(
        [
            node("a", "prompt.template", {"template": "{{x}}"}),
            node("b", "no.such.type"),
            node("a", "io.output"),
        ],
        [edge("a", "text", "ghost", "value")],
    )
    path = write(tmp_path / "broken.json", broken)
    assert window.open_path(path) is window
    window._after_open()
    codes = {p.code for p in window.problems_panel.problems()}
    assert {"unknown_type", "duplicate_id", "dangling_edge", "unconnected_input"} <= codes
    assert window.problems_dock.isVisible()
    assert len(window.editor.scene.node_items()) == 3  # both nodes called "a" are on the canvas


def test_unreadable_and_newer_files_are_refused_with_a_message(window, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    assert window.open_path(bad) is None
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**summarize(), "version": 7}))
    assert window.open_path(future) is None
    titles = [title for title, _ in window.errors]
    assert titles == ["This workflow cannot be opened"] * 2
    assert "version 7" in window.errors[1][1] and "update Chainwright" in window.errors[1][1]
    assert json.loads(future.read_text())["version"] == 7


def test_save_never_overwrites_a_newer_file(window, tmp_path: Path) -> None:
    load(window)
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**summarize(), "version": 9}))
    assert not window.save_as(future)
    assert json.loads(future.read_text())["version"] == 9
    assert window.errors and "newer" in window.errors[-1][1]


def test_recent_files_are_remembered(window, tmp_path: Path) -> None:
    first = write(tmp_path / "one.json", summarize())
    second = write(tmp_path / "two.json", summarize())
    window.open_path(first)
    other = window.open_path(second)
    assert other is not window  # the first window holds a file: a new window opens
    assert window.settings.recent_files[:2] == [str(second.resolve()), str(first.resolve())]
    assert Settings.load().recent_files[:2] == [str(second.resolve()), str(first.resolve())]
    window._fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()][:2] == ["two.json", "one.json"]
    assert window.open_path(first) is window  # already open: that window is brought forward


def test_new_replaces_the_start_page_then_opens_new_windows(window) -> None:
    assert window.central.currentWidget() is window.start_page
    assert window.new_document() is window
    assert window.central.currentWidget() is window.canvas_page
    window.editor.add_node("io.input", (0, 0))
    other = window.new_document()
    assert other is not window and other.doc is not None and not other.doc.nodes


def test_start_page_lists_examples_and_handles_an_empty_gallery(window, tmp_path: Path) -> None:
    gallery = tmp_path / "examples"
    gallery.mkdir()
    assert list_examples(gallery) == []
    page = StartPage()
    page.refresh([], [])
    assert page.findChild(type(page.widget()), "noExamples") is not None or page.findChildren(object)
    labels = [w.text() for w in page.findChildren(__import__("PySide6.QtWidgets").QtWidgets.QLabel)]
    assert any("No examples are installed" in text for text in labels)
    write(gallery / "b_second.json", {**summarize(), "name": "Second", "description": "Two"})
    write(gallery / "a_first.json", {**summarize(), "name": "First", "description": "One thing"})
    (gallery / "notes.json").write_text("[1, 2]")
    examples = list_examples(gallery)
    assert [(e.name, e.description, e.nodes) for e in examples] == [
        ("First", "One thing", 4),
        ("Second", "Two", 4),
    ]
    page.refresh([], examples)
    chosen: list[str] = []
    page.example_chosen.connect(chosen.append)
    from app.ui.start_page import _Card

    cards = page.findChildren(_Card)
    assert [c.example.name for c in cards] == ["First", "Second"]
    cards[0].click()
    assert chosen == [str(gallery / "a_first.json")]


def test_an_example_opens_as_an_untitled_copy(window, tmp_path: Path) -> None:
    example = write(tmp_path / "example.json", summarize())
    before = example.read_bytes()
    assert window.open_example(example) is window
    assert window.doc.path is None and window.doc.workflow.name == "Summarize a file"
    assert window.windowTitle().startswith("Summarize a file (unsaved)")
    window.editor.set_node_attribute(window.doc.node("llm"), "title", "Mine")
    assert example.read_bytes() == before


def test_view_state_is_saved_only_after_the_view_moved(window, tmp_path: Path) -> None:
    path = write(tmp_path / "flow.json", summarize())
    window.open_path(path)
    window.save()
    assert "ui" not in json.loads(path.read_text())
    window.view.zoom_by(1.5)
    window.save()
    view = json.loads(path.read_text())["ui"]["view"]
    assert view["zoom"] == round(window.view.zoom(), 3)
    again = MainWindow(Settings())
    try:
        again.set_document(WorkflowDocument.open(path))
        assert abs(again.view.zoom() - view["zoom"]) < 1e-6
        saved = path.read_bytes()
        again.save()
        assert path.read_bytes() == saved
    finally:
        again.close()


def _without_positions(doc: dict) -> dict:
    for entry in doc["nodes"]:
        entry.pop("position", None)
    return doc


def test_a_file_without_positions_opens_laid_out_left_to_right(window, tmp_path: Path) -> None:
    """A workflow written by a script or another tool often has no positions: all its nodes
    would sit on one spot. It opens laid out in the order data flows; that is its first look,
    not an edit (nothing to undo, nothing unsaved), and Save keeps it."""
    path = tmp_path / "generated.json"
    path.write_text(json.dumps(_without_positions(summarize())), encoding="utf-8")
    window.open_path(path)
    doc = window.doc
    x = {n.id: n.position[0] for n in doc.nodes}
    assert x["doc"] < x["ask"] < x["llm"] < x["out"]
    rects = [window.editor.scene.node_item(n).sceneBoundingRect() for n in doc.nodes]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1 :])
    assert window.editor.stack.count() == 0 and not window.isWindowModified()
    assert "no node positions" in window.statusBar().currentMessage()
    assert window.save_as(tmp_path / "saved.json")
    saved = json.loads((tmp_path / "saved.json").read_text(encoding="utf-8"))
    assert [entry["position"] for entry in saved["nodes"]] == [n.position for n in doc.nodes]


def test_a_laid_out_file_opens_as_it_was_saved(window, tmp_path: Path) -> None:
    path = write(tmp_path / "flow.json", summarize())
    window.open_path(path)
    assert [n.position for n in window.doc.nodes] == [[0, 0], [260, 0], [520, 0], [780, 0]]


def test_arrange_nodes_is_one_undo_step_and_takes_the_selection_when_there_is_one(window) -> None:
    scrambled = summarize()
    for entry, position in zip(scrambled["nodes"], ([900, 500], [0, 0], [400, 900], [100, 300]), strict=True):
        entry["position"] = position
    doc = load(window, scrambled)
    before = {n.id: list(n.position) for n in doc.nodes}

    window.act_arrange.trigger()
    after = {n.id: list(n.position) for n in doc.nodes}
    assert after["doc"][0] < after["ask"][0] < after["llm"][0] < after["out"][0]
    assert window.editor.stack.count() == 1 and window.editor.stack.undoText() == "Arrange 4 nodes"
    window.editor.stack.undo()
    assert {n.id: list(n.position) for n in doc.nodes} == before
    window.editor.stack.redo()
    assert {n.id: list(n.position) for n in doc.nodes} == after

    window.act_arrange.trigger()  # already arranged: nothing to undo, and it says so
    assert window.editor.stack.count() == 1
    assert "already arranged" in window.statusBar().currentMessage()

    window.editor.stack.undo()
    window.editor.scene.select([doc.node("llm"), doc.node("ask")])
    window.act_arrange.trigger()  # only the selected two move, from the selection's top left
    moved = {n.id: list(n.position) for n in doc.nodes}
    assert moved["doc"] == before["doc"] and moved["out"] == before["out"]
    assert moved["ask"][0] < moved["llm"][0]
    assert min(moved["ask"][0], moved["llm"][0]) == min(before["ask"][0], before["llm"][0])
    assert window.editor.stack.undoText() == "Arrange 2 nodes"
