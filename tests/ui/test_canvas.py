"""The canvas driven like a person would: palette drops, port-to-port drags, moves, selection,
quick add, comments, problems — with real widgets, offscreen."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.core.document import WorkflowDocument
from app.core.model import Edge, Node, Workflow
from app.ui.canvas.view import NODE_TYPE_MIME
from app.ui.editor import DocumentEditor
from tests.core.workflows import document, node
from tests.ui.conftest import body_point, click, drag, item, load, port_point, send_mouse


def test_dragging_from_the_palette_creates_a_node(window, qtbot) -> None:
    """QDrag.exec blocks offscreen, so the drag is delivered as the real drag-enter / move / drop
    events with the QMimeData the palette itself builds for the dragged item."""
    doc = load(window, document([], []))
    palette = window.palette_widget
    tree_item = palette.item_for("prompt.template")
    data = palette.tree.mimeData([tree_item])
    assert data.hasFormat(NODE_TYPE_MIME)
    viewport = window.view.viewport()
    target = QPoint(400, 300)
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(target, actions, data, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, QDragMoveEvent(target, actions, data, buttons, mods))
    QApplication.sendEvent(viewport, QDropEvent(QPointF(target), actions, data, buttons, mods))
    assert [(n.type, n.id, n.title) for n in doc.nodes] == [
        ("prompt.template", "prompt_template", "Prompt template")
    ]
    expected = window.view.mapToScene(target)
    assert doc.nodes[0].position == [round(expected.x()), round(expected.y())]
    assert doc.nodes[0].config == {"template": ""}
    assert window.editor.stack.count() == 1


def test_double_clicking_a_palette_entry_adds_it_too(window) -> None:
    doc = load(window, document([], []))
    window.palette_widget.search.setText("python")
    tree_item = window.palette_widget.item_for("tool.python")
    assert not tree_item.isHidden() and window.palette_widget.item_for("model.chat").isHidden()
    window.palette_widget.tree.itemActivated.emit(tree_item, 0)
    assert [n.type for n in doc.nodes] == ["tool.python"]


def test_dragging_port_to_port_creates_an_edge(window) -> None:
    doc = load(window)
    window.editor.disconnect([doc.edges[1]])  # ask.text → llm.prompt
    viewport = window.view.viewport()
    drag(viewport, port_point(window, "ask", "text", True), port_point(window, "llm", "prompt", False))
    assert [(e.source, e.source_port, e.target, e.target_port) for e in doc.edges][-1] == (
        "ask",
        "text",
        "llm",
        "prompt",
    )
    assert "Connected ask.text → llm.prompt" in window.statusBar().currentMessage()
    # dragging the other way (from an input to an output) works as well
    window.editor.stack.undo()
    drag(viewport, port_point(window, "llm", "prompt", False), port_point(window, "ask", "text", True))
    assert doc.find_edge("ask", "text", "llm", "prompt") is not None


def test_an_incompatible_connection_is_refused_with_the_reason_in_the_status_bar(window) -> None:
    doc = load(
        window,
        document(
            [
                node("src", "data.file", {"path": "a.txt"}),
                node("calc", "tool.python", {"code": "def main(n: int):\n    return n * 2\n"}, x=320),
            ],
            [],
        ),
    )
    before = doc.to_bytes()
    drag(
        window.view.viewport(),
        port_point(window, "src", "text", True),
        port_point(window, "calc", "n", False),
    )
    assert doc.to_bytes() == before
    message = window.statusBar().currentMessage()
    assert message.startswith("Not connected:") and "text output cannot feed a number input" in message
    assert window.editor.stack.count() == 0


def test_compatible_ports_are_highlighted_while_dragging(window) -> None:
    doc = load(window)
    window.editor.disconnect([doc.edges[1]])
    scene = window.editor.scene
    start = port_point(window, "ask", "text", True)
    viewport = window.view.viewport()
    held = Qt.MouseButton.LeftButton
    send_mouse(viewport, QEvent.Type.MouseButtonPress, start)
    send_mouse(viewport, QEvent.Type.MouseMove, start + QPoint(30, 30), Qt.MouseButton.NoButton, held)
    hint = scene.drag_hint
    assert hint is not None and hint.origin is item(window, "ask") and hint.need_output is False
    image = QImage(viewport.size(), QImage.Format.Format_ARGB32)
    viewport.render(image)  # paints with the highlight state
    send_mouse(
        viewport,
        QEvent.Type.MouseMove,
        port_point(window, "llm", "prompt", False),
        Qt.MouseButton.NoButton,
        held,
    )
    assert window.statusBar().currentMessage() == "Connect ask.text → llm.prompt"
    send_mouse(viewport, QEvent.Type.MouseButtonRelease, port_point(window, "llm", "prompt", False))
    assert scene.drag_hint is None


def test_dropping_a_wire_on_empty_canvas_offers_only_nodes_that_take_it(window) -> None:
    doc = load(
        window, document([node("calc", "tool.python", {"code": "def main(n: int):\n    return n\n"})], [])
    )
    empty = port_point(window, "calc", "n", False) + QPoint(-250, 150)
    drag(window.view.viewport(), port_point(window, "calc", "n", False), empty)
    popup = window.quick_add
    assert popup.isVisible()
    assert "gives number" in popup.heading.text()
    offered = {
        popup.results.item(i).data(Qt.ItemDataRole.UserRole + 2).key for i in range(popup.results.count())
    }
    assert "tool.http" in offered  # its status output is a number
    assert "data.file" not in offered  # gives only text: a text output cannot feed a number input
    QTest.keyClicks(popup.edit, "http")
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    added = doc.nodes[-1]
    assert added.type == "tool.http"
    assert doc.find_edge(added.id, "status", "calc", "n") is not None
    window.editor.stack.undo()  # one step: node and wire
    assert len(doc.nodes) == 1 and not doc.edges


def test_dragging_a_wire_off_an_input_disconnects_it(window) -> None:
    doc = load(window)
    drag(
        window.view.viewport(),
        port_point(window, "llm", "prompt", False),
        port_point(window, "llm", "prompt", False) + QPoint(-60, 200),
    )
    assert doc.find_edge("ask", "text", "llm", "prompt") is None
    window.editor.stack.undo()
    assert doc.find_edge("ask", "text", "llm", "prompt") is not None


def test_moving_a_node_is_one_undo_step_and_wires_follow(window) -> None:
    doc = load(window)
    llm = doc.node("llm")
    wire = window.editor.scene.wire_item(doc.edges[1])
    before_wire = wire.path().pointAtPercent(1.0)
    start = body_point(window, "llm")
    drag(window.view.viewport(), start, start + QPoint(40, 80), steps=10)
    assert llm.position == [560.0, 80.0]
    assert wire.path().pointAtPercent(1.0) == before_wire + QPointF(40, 80)
    assert window.editor.stack.count() == 1
    window.editor.stack.undo()
    assert llm.position == [520.0, 0.0]
    assert item(window, "llm").pos() == QPointF(520, 0)


def test_snap_to_grid(window) -> None:
    doc = load(window)
    window.act_snap.setChecked(True)
    start = body_point(window, "llm")
    drag(window.view.viewport(), start, start + QPoint(33, 47))
    x, y = doc.node("llm").position
    assert x % 20 == 0 and y % 20 == 0 and (x, y) != (520, 0)


def test_rubber_band_and_shift_click_selection(window) -> None:
    load(window)
    scene = window.editor.scene
    viewport = window.view.viewport()
    top_left = window.view.mapFromScene(QPointF(-40, -60))
    bottom_right = window.view.mapFromScene(QPointF(470, 140))
    drag(viewport, top_left, bottom_right)
    assert [n.id for n in scene.selected_nodes()] == ["doc", "ask"]
    click(viewport, body_point(window, "out"), Qt.KeyboardModifier.ShiftModifier)
    assert [n.id for n in scene.selected_nodes()] == ["doc", "ask", "out"]
    click(viewport, body_point(window, "ask"), Qt.KeyboardModifier.ShiftModifier)
    assert [n.id for n in scene.selected_nodes()] == ["doc", "out"]
    click(viewport, body_point(window, "llm"))
    assert [n.id for n in scene.selected_nodes()] == ["llm"]


def test_zoom_to_cursor_pan_and_fit(window) -> None:
    load(window)
    view = window.view
    anchor = QPoint(300, 250)
    under = view.mapToScene(anchor)
    view.zoom_by(1.5, anchor)
    assert abs(view.zoom() - 1.5) < 1e-6
    after = view.mapToScene(anchor)
    assert abs(after.x() - under.x()) < 2 and abs(after.y() - under.y()) < 2
    centre = view.view_centre()
    drag(view.viewport(), QPoint(500, 400), QPoint(400, 350), button=Qt.MouseButton.MiddleButton)
    moved = view.view_centre()
    assert abs((moved.x() - centre.x()) - 100 / 1.5) < 2 and abs((moved.y() - centre.y()) - 50 / 1.5) < 2
    view.fit_to_view()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.editor.scene.content_rect())
    window.editor.scene.select([window.doc.node("llm")])
    view.zoom_to_selection()
    assert view.zoom() == 1.5


def test_space_drag_pans(window) -> None:
    load(window)
    view = window.view
    centre = view.view_centre()
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(view.viewport(), QPoint(500, 400), QPoint(450, 400))
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert abs(view.view_centre().x() - centre.x() - 50) < 2
    assert window.editor.stack.count() == 0


def test_tab_opens_quick_add_and_enter_inserts_the_chosen_node(window) -> None:
    doc = load(window, document([], []))
    view = window.view
    QTest.keyClick(view, Qt.Key.Key_Tab)
    popup = window.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.edit, "templ")
    first = popup.results.item(0).data(Qt.ItemDataRole.UserRole + 2)
    assert first.key == "prompt.template"
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible()
    assert [n.type for n in doc.nodes] == ["prompt.template"]


def test_double_click_on_empty_canvas_adds_at_that_point(window) -> None:
    doc = load(window, document([], []))
    point = QPoint(350, 260)
    QTest.mouseDClick(
        window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point
    )
    popup = window.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.edit, "chat mod")
    QTest.keyClick(popup.edit, Qt.Key.Key_Down)
    QTest.keyClick(popup.edit, Qt.Key.Key_Up)
    QTest.keyClick(popup.edit, Qt.Key.Key_Enter)
    expected = window.view.mapToScene(point)
    assert [(n.type, n.position) for n in doc.nodes] == [
        ("model.chat", [round(expected.x()), round(expected.y())])
    ]


def test_find_selects_and_centres_the_node(window) -> None:
    load(window)
    window.act_find.trigger()
    popup = window.quick_add
    QTest.keyClicks(popup.edit, "out")
    QTest.keyClick(popup.edit, Qt.Key.Key_Return)
    assert [n.id for n in window.editor.scene.selected_nodes()] == ["out"]
    centre = window.view.view_centre()
    assert item(window, "out").sceneBoundingRect().contains(centre)


def test_escape_closes_quick_add_without_adding(window) -> None:
    doc = load(window, document([], []))
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    QTest.keyClick(window.quick_add.edit, Qt.Key.Key_Escape)
    assert not window.quick_add.isVisible() and not doc.nodes


def test_comments_are_added_edited_resized_and_stored_in_ui(window) -> None:
    doc = load(window)
    window.act_add_comment.trigger()
    [comment] = doc.comments()
    note = window.editor.scene.comment_item(comment)
    assert note.editing
    QTest.keyClicks(note.scene().views()[0], "")  # focus stays on the note's text
    note.text_item.setPlainText("Check the summary length")
    note.finish_editing()
    assert comment["text"] == "Check the summary length"
    size_before = list(comment["size"])
    corner = window.view.mapFromScene(note.mapToScene(QPointF(note.width - 4, note.height - 4)))
    drag(window.view.viewport(), corner, corner + QPoint(60, 30))
    assert comment["size"] == [size_before[0] + 60, size_before[1] + 30]
    stack = window.editor.stack
    assert [stack.text(i) for i in range(stack.count())] == [
        "Add comment",
        "Change comment text",
        "Change comment size",
    ]
    saved = doc.to_bytes().decode()
    assert '"comments"' in saved and "Check the summary length" in saved


def test_problems_show_on_nodes_and_the_list_selects_the_node(window, qtbot) -> None:
    doc = load(
        window,
        document([node("ask", "prompt.template", {"template": "{{text}}"}), node("ghost", "no.such")], []),
    )
    window.editor.refresh_problems()
    qtbot.waitUntil(lambda: window.problems_panel.tree.topLevelItemCount() == 2)
    ask, ghost = item(window, "ask"), item(window, "ghost")
    assert [p.code for p in ask.problems] == ["unconnected_input"]
    assert [p.code for p in ghost.problems] == ["unknown_type"]
    ghost._update_tooltip()  # what hovering does
    assert "unknown node type" in ghost.toolTip()
    panel = window.problems_panel
    rows = [panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())]
    ghost_row = next(row for row in rows if row.text(0) == "ghost")
    panel.tree.itemClicked.emit(ghost_row, 0)
    assert [n.id for n in window.editor.scene.selected_nodes()] == ["ghost"]
    assert window.problems_button.text() == "⚠ 2 problems"
    window.act_delete.trigger()
    window.editor.refresh_problems()
    assert not ghost.scene() and window.problems_button.text() == "⚠ 1 problem"
    assert doc.node("ghost") is None


def test_the_canvas_follows_a_palette_change(window) -> None:
    from app.ui.theme import apply_theme

    load(window)
    assert not window.editor.scene.colours.dark
    corner = QPoint(3, 3)  # empty canvas: the (cached) grid's background

    def background() -> str:
        return window.view.viewport().grab().toImage().pixelColor(corner).name()

    light = background()
    assert light == window.editor.scene.colours.background.name()
    apply_theme(QApplication.instance(), "dark")
    QApplication.processEvents()
    try:
        assert window.editor.scene.colours.dark
        # The grid is cached per view; the new theme's background replaces it, nothing stale.
        assert background() == window.editor.scene.colours.background.name() != light
    finally:
        apply_theme(QApplication.instance(), "light")


def test_standard_shortcuts(window) -> None:
    from PySide6.QtGui import QKeySequence

    key = QKeySequence.StandardKey
    expected = {
        window.act_new: key.New, window.act_open: key.Open, window.act_save: key.Save, window.act_save_as: key.SaveAs,
        window.act_undo: key.Undo, window.act_redo: key.Redo, window.act_cut: key.Cut, window.act_copy: key.Copy,
        window.act_paste: key.Paste, window.act_delete: key.Delete, window.act_select_all: key.SelectAll,
        window.act_find: key.Find,
    }  # fmt: skip
    for action, standard in expected.items():
        for sequence in QKeySequence.keyBindings(standard):
            assert sequence in action.shortcuts(), (action.objectName(), sequence.toString())
    doc = load(window)
    window.activateWindow()
    window.view.setFocus()
    window.editor.scene.select([doc.node("out")])
    QTest.keyClick(window.view, Qt.Key.Key_Delete)
    assert doc.node("out") is None
    QTest.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.node("out") is not None
    QTest.keyClick(window.view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.editor.scene.selected_nodes()) == 4


def test_broken_wires_are_kept_and_drawn_to_a_missing_port(window) -> None:
    doc = load(window)
    ask = doc.node("ask")
    window.editor.set_config(ask, {"template": "no placeholders any more"})
    slot = item(window, "ask").port("text", False)
    assert slot is not None and slot.missing
    window.editor.refresh_problems()
    assert window.editor.scene.wire_item(doc.edges[0]).invalid
    window.editor.stack.undo()
    assert not item(window, "ask").port("text", False).missing


def test_a_10000_item_scene_paints(qtbot) -> None:
    """Guards against the PySide6 6.12 refcount abort on void QPainter calls (DESIGN §4)."""
    nodes = [
        Node(id=f"n{i}", type=("data.file", "prompt.template", "io.output")[i % 3], position=[(i % 100) * 230.0, (i // 100) * 120.0],
             config={"template": "{{text}}"} if i % 3 == 1 else {})
        for i in range(6000)
    ]  # fmt: skip
    edges = [
        Edge(
            source=f"n{i}",
            source_port="text",
            target=f"n{i + 1}",
            target_port="text" if i % 3 == 0 else "value",
        )
        for i in range(6000)
        if i % 3 in (0, 1)
    ][:4000]
    doc = WorkflowDocument(Workflow(nodes=nodes, edges=edges))
    editor = DocumentEditor(doc)
    scene = editor.scene
    assert len(scene.items()) >= 10_000
    start = time.perf_counter()
    overview = QImage(1600, 1000, QImage.Format.Format_ARGB32)
    painter = QPainter(overview)
    scene.render(painter)  # everything, zoomed out: block drawing
    painter.end()
    detail = QImage(2400, 1600, QImage.Format.Format_ARGB32)
    painter = QPainter(detail)
    scene.render(painter, source=scene.itemsBoundingRect().adjusted(0, 0, -20000, -5000))  # full detail
    painter.end()
    assert time.perf_counter() - start < 30
    assert overview.pixel(5, 5) is not None
    editor.deleteLater()


def test_the_overview_follows_edits_and_moves_the_view(window, qtbot) -> None:
    doc = load(window)
    overview = window.view.minimap
    assert window.overview_dock.isVisible() and overview.isVisible()
    overview.render_now()
    assert not overview._pixmap.isNull()
    window.editor.add_node("io.output", (3000, 1500))
    assert overview._timer.isActive()  # re-drawn shortly after the edit, not on every frame
    overview.render_now()
    assert overview._world.contains(QPointF(3000, 1500))
    before = window.view.view_centre()
    QTest.mouseClick(
        overview,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(overview.width() - 10, overview.height() - 10),
    )
    after = window.view.view_centre()
    assert after.x() > before.x() + 500 and after.y() > before.y() + 200
    assert len(doc.nodes) == 5


def test_context_menus_offer_the_right_actions(window) -> None:
    doc = load(window)
    scene = window.editor.scene
    shown = [
        [action.text() for action in window.context_menu_for(QPointF(0, 0), target).actions()]
        for target in (item(window, "llm"), scene.wire_item(doc.edges[0]), None)
    ]
    assert shown[0] == ["D&uplicate", "&Copy", "Cu&t", "&Delete", "",
                        "Toggle &Breakpoint", "Run &Selected Node", "Re-run From &Here"]  # fmt: skip
    assert shown[1] == ["Disconnect"]
    assert shown[2] == [
        "Add Node Here…",
        "Add Comment Here",
        "&Paste",
        "",
        "A&rrange Nodes",
        "&Fit to Window",
    ]


def test_toolbar_undo_keeps_a_short_label(window) -> None:
    doc = load(window)
    window.editor.set_node_attribute(doc.node("llm"), "title", "Renamed")
    assert window.tool_undo.text() == "Undo" and window.tool_undo.isEnabled()
    assert window.tool_undo.toolTip() == "Undo Change title of Llm"
    window.tool_undo.trigger()
    assert doc.node("llm").title == "Llm" and not window.tool_undo.isEnabled()


def test_an_empty_canvas_says_how_to_start(window) -> None:
    window.new_document()
    assert window.view._is_empty()
    image = QImage(window.view.viewport().size(), QImage.Format.Format_ARGB32)
    window.view.viewport().render(image)
    window.editor.add_node("io.input", (0, 0))
    assert not window.view._is_empty()


def test_running_nodes_spinners_take_turns_so_one_frame_repaints_a_few_strips(window, qtbot) -> None:
    """Eight streaming nodes (issue 7): each spinner tick repaints one group of the running
    nodes' strips; over SPINNER_GROUPS ticks every running node is repainted exactly once."""
    from app.core import events as ev
    from app.ui.canvas.scene import SPINNER_GROUPS
    from app.ui.run_state import RunState

    ids = [f"t{i}" for i in range(8)]
    load(window, document([node(i, "prompt.template", x=n * 300) for n, i in enumerate(ids)], []))
    scene = window.editor.scene
    state = RunState("r")
    state.apply([ev.RunStarted(run_id="r", nodes=tuple(ids))])
    state.apply([ev.NodeStarted(run_id="r", node_id=i) for i in ids])
    state.flush()
    scene.set_run_view(state)
    qtbot.waitUntil(lambda: all(item(window, i).run_strip is not None for i in ids), timeout=2000)
    spun: list[list[str]] = []
    for i in ids:
        item(window, i).spin = lambda i=i: spun[-1].append(i)  # type: ignore[method-assign]
    for _ in range(SPINNER_GROUPS):
        spun.append([])
        scene._spin()
    assert sorted(i for tick in spun for i in tick) == ids
    assert max(len(tick) for tick in spun) <= -(-len(ids) // SPINNER_GROUPS)
    scene.set_run_view(None)


def test_status_icons_are_pictures_made_once_per_look_scale_and_spinner_step(window, monkeypatch) -> None:
    from types import SimpleNamespace

    from PySide6.QtGui import QColor

    from app.ui.canvas import node_item
    from app.ui.run_state import DONE, RUNNING

    green, ground = QColor("#2e9d57"), QColor("#ffffff")
    done = node_item.status_icon(DONE, green, ground, 1.0)
    assert node_item.status_icon(DONE, green, ground, 1.0) is done  # made once
    assert done.deviceIndependentSize().width() == node_item.ICON_SIZE  # 16 scene units at any scale
    sharp = node_item.status_icon(DONE, green, ground, 2.5)
    assert sharp.width() == 40 and sharp.deviceIndependentSize().width() == node_item.ICON_SIZE
    image = done.toImage()
    assert image.pixelColor(8, 8) != image.pixelColor(0, 0)  # something was drawn, corners clear
    assert image.pixelColor(0, 0).alpha() == 0
    # The spinner turns: a second later it has been drawn in every one of its steps.
    spins = set()
    for step in range(node_item.SPINNER_FRAMES):
        clock = SimpleNamespace(monotonic=lambda step=step: step / node_item.SPINNER_FRAMES + 0.001)
        monkeypatch.setattr(node_item, "time", clock)
        spins.add(node_item.status_icon(RUNNING, green, ground, 1.0).cacheKey())
    assert len(spins) == node_item.SPINNER_FRAMES
