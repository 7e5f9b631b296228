"""The parts of the run UI on their own: chunk coalescing, the ~30 Hz view updates, value
viewers for long values, the inputs form, and the headless `RunController` API benchmarks use."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from app.core import events as ev
from app.core import secrets
from app.core.llm import retry
from app.core.model import Edge, Node, Workflow
from app.core.settings import Settings
from app.core.values import DataType
from app.ui.run_bridge import RunBridge, RunController, coalesce
from app.ui.run_inputs import InputSpec, RunInputsDialog
from app.ui.run_state import DONE, FRAME_MS, RunState, frame_slices, preview_value
from app.ui.value_view import FETCH, MAX_SHOWN, JsonTreeModel, ValueView
from tests.fakes.fake_llm import FakeLLMServer, reply_text


def chunk(node: str, text: str) -> ev.Chunk:
    return ev.Chunk(run_id="r", node_id=node, text=text)


def test_coalescing_merges_each_nodes_chunks_and_keeps_the_order_of_other_events() -> None:
    events = [
        chunk("a", "he"),
        chunk("b", "x"),
        chunk("a", "llo"),
        ev.NodeLog(run_id="r", node_id="a", message="half way"),
        chunk("a", " world"),
        chunk("b", "y"),
        ev.NodeFinished(run_id="r", node_id="b"),
    ]
    merged = coalesce(events)
    assert [(e.kind, e.node_id, getattr(e, "text", None)) for e in merged] == [
        ("chunk", "a", "hello"),
        ("chunk", "b", "xy"),
        ("node_log", "a", None),
        ("chunk", "a", " world"),
        ("node_finished", "b", None),
    ]


def test_the_bridge_delivers_batches_from_another_thread(qtbot: Any) -> None:
    import threading

    bridge = RunBridge()
    received: list[ev.Event] = []
    bridge.batch.connect(lambda token, kind, payload: received.extend(payload) if kind == "events" else None)
    deliver = bridge.subscriber(1)
    thread = threading.Thread(target=lambda: [deliver(chunk("a", "x")) for _ in range(500)])
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: sum(len(e.text) for e in received) == 500, timeout=5000)
    assert bridge.received == 500 and bridge.delivered < 50  # merged into a few chunks
    bridge.close()


def test_views_are_told_about_changes_at_most_about_30_times_a_second(qtbot: Any) -> None:
    state = RunState("r")
    state.apply([ev.RunStarted(run_id="r", nodes=("a",)), ev.NodeStarted(run_id="r", node_id="a")])
    announced: list[float] = []
    state.nodes_changed.connect(lambda ids: announced.append(time.monotonic()))
    end = time.monotonic() + 0.6
    count = 0
    while time.monotonic() < end:  # a node streaming ~1000 chunks a second
        state.apply([chunk("a", "t")])
        count += 1
        QCoreApplication.processEvents()
        time.sleep(0.001)
    state.flush()
    assert count > 200
    assert len(announced) <= 0.6 * 1000 / FRAME_MS + 3
    gaps = [b - a for a, b in itertools.pairwise(announced)]
    assert min(gaps[:-1], default=1.0) >= (FRAME_MS - 8) / 1000  # the last gap is the manual flush
    assert state.node("a").text == "t" * count


def test_previews_say_what_a_value_is_in_a_few_words() -> None:
    assert preview_value("first line\nsecond\n") == "first line  (+2 lines)"
    assert preview_value({"a": 1, "b": 2}) == "{…} object · 2 keys"
    assert preview_value(list(range(5))) == "[…] list · 5 items"
    assert preview_value(3.5) == "3.5" and preview_value(True) == "true"


def test_a_long_list_opens_as_a_lazy_tree_and_long_text_is_cut_but_copied_whole(qtbot: Any) -> None:
    view = ValueView("rows")
    qtbot.addWidget(view)
    big = [{"n": i} for i in range(200_000)]
    view.set_value(big)
    model = view.tree.model()
    assert isinstance(model, JsonTreeModel)
    top = model.index(0, 0)
    assert view.stack.currentWidget() is view.tree
    assert model.rowCount(top) <= FETCH  # rows are made as they are scrolled to
    assert model.data(model.index(0, 1, top)) == "{…} 1 key"
    view.raw_button.setChecked(True)
    assert view.stack.currentWidget() is view.text

    text = "x" * (MAX_SHOWN + 5000)
    view.set_value(text)
    assert len(view.text.toPlainText()) == MAX_SHOWN
    assert view.note.isVisibleTo(view) and "Copy copies all" in view.note.text()
    assert view.copy_text() == text


def test_markdown_is_rendered_on_demand_and_streaming_appends(qtbot: Any) -> None:
    view = ValueView("answer")
    qtbot.addWidget(view)
    view.set_value("# Title\n\n* one", streaming=True)
    view.set_streaming_text("# Title\n\n* one\n* two")
    assert view.text.toPlainText() == "# Title\n\n* one\n* two"
    assert "streaming" in view.kind_label.text()
    view.markdown_button.setChecked(True)
    assert view.stack.currentWidget() is view.markdown
    assert "Title" in view.markdown.toPlainText() and "#" not in view.markdown.toPlainText()
    view.finish_streaming()
    assert "streaming" not in view.kind_label.text()


def test_an_editable_value_reads_json_and_says_why_not(qtbot: Any) -> None:
    view = ValueView("data", editable=True)
    qtbot.addWidget(view)
    view.set_value({"a": 1})
    edits: list[Any] = []
    view.edited.connect(edits.append)
    view.text.setPlainText('{"a": 2}')
    assert edits[-1] == {"a": 2} and view.is_edited()
    view.text.setPlainText('{"a": ')
    assert hasattr(edits[-1], "reason")
    view.reset()
    assert not view.is_edited()


def test_the_inputs_form_converts_and_explains(qtbot: Any) -> None:
    specs = [
        InputSpec("count", "c", "Count", DataType.NUMBER, 3, ""),
        InputSpec("data", "d", "Data", DataType.JSON, None, "Some JSON"),
        InputSpec("text", "t", "Text", DataType.TEXT, None, ""),
    ]
    dialog = RunInputsDialog(specs, {"text": "remembered"})
    qtbot.addWidget(dialog)
    assert dialog.raw_values() == {"count": "3", "data": "", "text": "remembered"}
    assert dialog.values() is None and dialog.errors["data"].isVisibleTo(dialog)
    dialog.set_value("data", '{"k": [1, 2]}')
    dialog.set_value("count", "four")
    assert dialog.values() is None and "number" in dialog.errors["count"].text()
    dialog.set_value("count", "4")
    assert dialog.values() == {"count": 4, "data": {"k": [1, 2]}, "text": "remembered"}


def test_the_controller_runs_headless_for_scripts_and_benchmarks(qtbot: Any) -> None:
    """What benchmarks/bench_streaming.py can use: no window, only a QApplication."""
    assert QApplication.instance() is not None
    with FakeLLMServer(chunk_delay_ms=2) as server:
        nodes = [
            Node(id="p", type="prompt.template", config={"template": "hello there"}),
            Node(id="m", type="model.chat",
                 config={"provider": "openai", "model": "fake-small", "base_url": server.base_url_openai}),
            Node(id="o", type="io.output", config={"name": "answer"}),
        ]  # fmt: skip
        edges = [
            Edge(source="p", source_port="text", target="m", target_port="prompt"),
            Edge(source="m", source_port="text", target="o", target_port="value"),
        ]
        controller = RunController(Settings())
        try:
            state = controller.start(Workflow(name="headless", nodes=nodes, edges=edges))
            assert state is not None and controller.busy
            assert controller.wait_idle(20)
            assert state.status == "succeeded" and state.node("m").status == DONE
            assert state.outputs == {"answer": reply_text("fake-small", "hello there")}
            assert len(state.node("m").chunks) >= 1
            assert controller.bridge.received >= controller.bridge.delivered
            engine_loop = controller.engine.loop()
            pooled = retry._loop_clients.get(engine_loop)
            assert pooled is not None and pooled.every  # the model call's connection is kept
            clients = list(pooled.every)
        finally:
            controller.shutdown()
        assert not controller.engine.running
        # Shutting down closes the engine loop's pooled connections (no socket left to the GC).
        assert all(client.is_closed for client in clients)
        assert retry._loop_clients.get(engine_loop) is None


def test_warming_up_prepares_the_first_run_in_the_engine_thread(qtbot: Any) -> None:
    """`warm_up` (called once the window is shown) opens the cache and the history and imports
    what a run needs in the engine thread, so the first Run does not pay for it while painting."""
    controller = RunController(Settings())
    seen: list[str] = []
    original = secrets._backend

    def backend() -> Any:
        seen.append(threading.current_thread().name)
        return original()

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(secrets, "_backend", backend)
            controller.warm_up()
            controller.warm_up()  # a second call does nothing more
            qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
        assert seen == [controller.engine.name]
        assert controller.store is not None and controller._cache is not None
    finally:
        controller.shutdown()


def test_work_spread_over_frames_runs_one_piece_per_turn_in_order(qtbot: Any) -> None:
    """`frame_slices` (issue 7): pieces of work that would make one long frame run one per turn
    of the event loop, in the order added; a piece added again keeps one place (the last), and a
    discarded piece never runs."""
    slices = frame_slices()
    done: list[str] = []
    turns: list[int] = []
    slices.add("a", lambda: done.append("a"))
    slices.add("b", lambda: done.append("b"))
    slices.add("c", lambda: done.append("c"))
    slices.add("a", lambda: done.append("a2"))  # moves to the end
    slices.discard("c")
    assert done == [] and slices.pending("b") and not slices.pending("c")

    def count_turn() -> None:
        turns.append(len(done))

    from PySide6.QtCore import QTimer

    ticker = QTimer()
    ticker.setInterval(1)
    ticker.timeout.connect(count_turn)
    ticker.start()
    qtbot.waitUntil(lambda: len(done) == 2, timeout=2000)
    ticker.stop()
    assert done == ["b", "a2"]
    assert 1 in turns  # the event loop turned between the two pieces
    assert not slices.pending("a")


def test_a_runs_frame_announcement_waits_its_turn_with_the_other_per_frame_work(qtbot: Any) -> None:
    """The frame timer does not announce changes itself: it queues the flush in `frame_slices`,
    behind work already waiting there, so two repaints never share one frame (issue 7)."""
    state = RunState("r")
    order: list[str] = []
    state.nodes_changed.connect(lambda ids: order.append("flush"))
    frame_slices().add("earlier", lambda: order.append("earlier"))
    state.apply([ev.RunStarted(run_id="r", nodes=("a",)), ev.NodeStarted(run_id="r", node_id="a")])
    qtbot.waitUntil(lambda: "flush" in order, timeout=2000)
    assert order == ["earlier", "flush"]


def test_the_event_log_shows_each_entrys_time_node_text_and_level(qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    from app.ui.run_panel import EventLogModel

    state = RunState("r", titles={"a": "Ask the model"})
    state.apply(
        [
            ev.RunStarted(run_id="r", nodes=("a",), timestamp=100.0),
            ev.NodeStarted(run_id="r", node_id="a", timestamp=100.5),
            ev.NodeFailed(run_id="r", node_id="a", message="the server said no", timestamp=101.25),
        ]
    )
    model = EventLogModel()
    model.set_state(state)
    assert model.rowCount() == len(state.log) == 3

    def cell(row: int, column: int, role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> Any:
        return model.data(model.index(row, column), role)

    assert [cell(0, column) for column in range(3)] == ["+0.00 s", "—", "Run started (1 node)"]
    assert [cell(2, column) for column in range(3)] == [
        "+1.25 s",
        "Ask the model",
        "failed: the server said no",
    ]
    assert cell(2, 1, Qt.ItemDataRole.ToolTipRole) == "a"  # the title's tooltip is the node id
    assert cell(2, 2, Qt.ItemDataRole.ToolTipRole) == "failed: the server said no"
    assert cell(2, 2, Qt.ItemDataRole.ForegroundRole).color().name() == "#d93025"  # errors in red
    assert cell(1, 2, Qt.ItemDataRole.ForegroundRole) is None
    assert cell(1, 2, Qt.ItemDataRole.DecorationRole) is None
    assert model.node_at(2) == "a" and model.node_at(0) is None and model.node_at(3) is None

    state.apply([ev.NodeLog(run_id="r", node_id="a", message="retrying", level="warning", timestamp=102.0)])
    model.appended()  # a live run's new rows join the rows already worked out
    assert model.rowCount() == 4 and cell(3, 2) == "retrying" and cell(3, 0) == "+2.00 s"
    assert cell(3, 2, Qt.ItemDataRole.ForegroundRole).color().name() == "#b26a00"


def test_a_live_label_grows_with_its_text_but_shrinks_only_when_asked(qtbot: Any) -> None:
    from PySide6.QtWidgets import QHBoxLayout, QWidget

    from app.ui.live_label import LiveLabel

    holder = QWidget()
    layout = QHBoxLayout(holder)
    label = LiveLabel()
    layout.addWidget(label)
    qtbot.addWidget(holder)
    holder.show()
    label.setText("Running · 1.2 s")
    short = label.width()
    label.setText("Running · 12.4 s · 1,204 tokens · $0.0012")
    long = label.width()
    assert long > short
    # Fixed size: a new text repaints the label and asks no layout of its parent.
    assert label.minimumSize() == label.maximumSize()
    label.setText("Running · 13 s")
    assert label.width() == long and label.text() == "Running · 13 s"
    label.allow_shrink()
    assert label.maximumWidth() < long and label.minimumSize() == label.maximumSize()


def test_a_fenced_label_asks_for_a_new_layout_only_when_its_height_changes(qtbot: Any) -> None:
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    from app.ui.live_label import LayoutFence

    class LayoutRequests(QObject):
        count = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.LayoutRequest:
                self.count += 1
            return False

    holder = QWidget()
    layout = QVBoxLayout(holder)
    label = QLabel("Running · 1.2 s so far")
    label.setWordWrap(True)
    fence = LayoutFence(label)
    layout.addWidget(fence)
    layout.addStretch(1)
    qtbot.addWidget(holder)
    holder.resize(220, 300)
    holder.show()
    qtbot.waitExposed(holder)
    QApplication.processEvents()
    one_line = fence.height()
    requests = LayoutRequests()
    holder.installEventFilter(requests)

    label.setText("Running · 1.5 s so far")  # same height: the window is not laid out again
    QApplication.processEvents()
    QApplication.processEvents()
    assert requests.count == 0 and label.text() == "Running · 1.5 s so far"

    label.setText("Running · 12.5 s so far · 1,204 tokens (300 in, 904 out) · 4,210 characters so far")
    QApplication.processEvents()
    qtbot.waitUntil(lambda: fence.height() > one_line, timeout=2000)  # wrapped: it grows
    assert requests.count >= 1 and label.geometry() == fence.rect()
    assert fence.width() <= holder.width()  # its width is the layout's, not the text's
    wrapped = fence.height()
    holder.resize(900, 300)  # wide enough for one line again: the fence follows
    qtbot.waitUntil(lambda: fence.height() < wrapped, timeout=2000)
    assert fence.height() == label.heightForWidth(fence.width())
    holder.resize(150, 300)
    qtbot.waitUntil(lambda: fence.height() > wrapped, timeout=2000)
    assert fence.height() == label.heightForWidth(fence.width()) and label.geometry() == fence.rect()


def test_run_views_name_nodes_as_the_canvas_does_and_tell_shared_titles_apart() -> None:
    from types import SimpleNamespace

    from app.ui.run_state import node_names

    nodes = [
        SimpleNamespace(id="pick", title="Reply"),  # "First available" and "Output" both titled
        SimpleNamespace(id="out", title="Reply"),
        SimpleNamespace(id="facts", title=""),  # untitled: its id, as on the canvas
        SimpleNamespace(id="ask", title="facts"),  # a title equal to another node's id
        SimpleNamespace(id="llm", title="Writer"),
    ]
    assert node_names(nodes) == {
        "pick": "Reply (pick)",
        "out": "Reply (out)",
        "facts": "facts",
        "ask": "facts (ask)",
        "llm": "Writer",
    }
