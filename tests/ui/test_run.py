"""Running workflows from the editor (issue 7): example workflows run against the fake LLM server
through the UI — Run, the inputs form, live states and previews on the canvas, the inspector's
Run tab (streamed text, inputs at a breakpoint, edit-and-continue), Stop, history replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel

from app.core import trust
from app.core.resources import examples_dir
from app.ui.main_window import MainWindow
from app.ui.run_state import (
    CACHED,
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    REUSED,
    RUNNING,
    SKIPPED,
    RunState,
    frame_slices,
)
from tests.fakes.fake_llm import FakeLLMServer, reply_text
from tests.ui.conftest import item

WAIT = 20_000  # ms: generous, the CI machine is a noisy 2-core VM


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url_openai)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-run-panel-0000")
        yield server


def example(name: str) -> dict[str, Any]:
    """An example from the gallery, its model nodes switched to the fake OpenAI server."""
    data = json.loads((examples_dir() / f"{name}.json").read_text(encoding="utf-8"))
    for node in data["nodes"]:
        if node["type"] == "model.chat":
            node["config"].update(provider="openai", model="fake-small")
    return data


def open_file(window: MainWindow, tmp_path: Path, data: dict[str, Any], name: str = "flow.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    trust.remember(path.read_bytes())  # the user's own workflow (restricted mode has its own tests)
    assert window.open_path(path) is window
    QApplication.processEvents()
    window.view.fit_to_view()
    return path


def select(window: MainWindow, node_id: str) -> None:
    window.editor.scene.select([window.doc.node(node_id)])
    QApplication.processEvents()
    window.inspector.run_tab.follow_selection()


def start(window: MainWindow, qtbot: Any, action: Any = None, **inputs: str) -> None:
    """Trigger a Run action; fill and accept the inputs form if it opens."""
    (action or window.act_run).trigger()
    dialog = window.inputs_dialog
    if dialog is not None:
        for name, text in inputs.items():
            dialog.set_value(name, text)
        QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.runs.shown is not None and not window.runs.shown.replay, timeout=WAIT)


def finished(window: MainWindow, qtbot: Any) -> RunState:
    qtbot.waitUntil(lambda: not window.runs.busy, timeout=WAIT)
    state = window.runs.shown
    assert state is not None and state.ended
    state.flush()
    QApplication.processEvents()
    qtbot.waitUntil(frame_slices().idle, timeout=WAIT)  # the views' share of the last frames
    return state


def statuses(state: RunState) -> dict[str, str]:
    return {node_id: node.status for node_id, node in state.nodes.items()}


def chat_prompts(server: FakeLLMServer) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in server.chat_requests()]


# -- a whole run ------------------------------------------------------------------------------------


def test_a_run_streams_into_the_inspector_and_leaves_states_previews_and_totals(
    window, qtbot, tmp_path, fake_llm
):
    fake_llm.chunk_delay_ms = 25  # drip, so the answer is seen arriving
    open_file(window, tmp_path, example("chain-three-prompts"))
    before = window.doc.to_bytes()
    select(window, "facts")

    start(window, qtbot, topic="tea")
    tab = window.inspector.run_tab
    assert window.inspector.currentWidget() is tab
    assert window.run_dock.isVisible()
    # The answer streams into the Run tab while the node is still running.
    qtbot.waitUntil(
        lambda: tab.stream_view is not None and len(tab.stream_view.copy_text()) > 8, timeout=WAIT
    )
    facts = window.runs.shown.node("facts")
    assert facts.status == RUNNING
    streamed = tab.stream_view.copy_text()
    assert reply_text("fake-small", "List three short key facts about tea, one per line.").startswith(
        streamed
    )
    assert item(window, "facts").strip  # the node shows its run strip
    state = finished(window, qtbot)

    assert state.status == "succeeded"
    assert set(statuses(state).values()) == {DONE}
    answer = reply_text("fake-small", "List three short key facts about tea, one per line.")
    assert state.node("facts").outputs == {"text": answer}
    # The canvas: a preview on each node (first line of text), wires that carried values glow.
    scene = window.editor.scene
    assert scene.run_node(window.doc.node("facts")).preview() == answer
    assert scene.run_node(window.doc.node("topic")).preview() == "tea"
    assert scene.run_wire_state(window.doc.edges[0]) == "carried"
    # The inspector shows what went in and what came out.
    assert tab.input_views["prompt"].copy_text() == "List three short key facts about tea, one per line."
    assert tab.output_views["text"].copy_text() == answer
    assert "Done" in tab.status_label.text() and "tokens" in tab.status_label.text()
    # Totals in the status bar, outputs and the event log in the Run panel.
    assert "Finished" in window.run_label.text() and "tokens" in window.run_label.text()
    report = state.outputs["report"]
    window.run_panel.tabs.setCurrentWidget(window.run_panel.outputs_area)
    assert window.run_panel.output_views["report"].copy_text() == report
    assert any("run finished" in entry.text for entry in state.log)
    assert window.run_panel.log_model.rowCount() == len(state.log)
    # The run never touched the document or its undo stack.
    assert window.doc.to_bytes() == before
    assert window.editor.stack.count() == 0 and window.editor.stack.isClean()


def test_status_changes_keep_the_inspectors_widgets_and_the_nodes_cached_picture(
    window, qtbot, tmp_path, fake_llm
):
    """A status change of the watched node adds or removes a block of the Run tab instead of
    building every value view again (new ones come from views made ahead), and repaints the
    node's status ring and strip, not the node: both would otherwise stall a streaming run's
    frames (issue 7, benchmark P6)."""
    fake_llm.chunk_delay_ms = 25
    open_file(window, tmp_path, example("chain-three-prompts"))
    select(window, "facts")
    node_item = item(window, "facts")
    tab = window.inspector.run_tab
    for _ in range(tab.SPARE_VIEWS):
        tab._make_spare_view()
    made_ahead = list(tab._spare_views)
    start(window, qtbot, topic="tea")
    qtbot.waitUntil(lambda: tab.stream_view is not None and bool(tab.input_views), timeout=WAIT)
    # The views a status change needs were made ahead, in idle turns, and only filled in.
    assert tab.stream_view in made_ahead and tab.input_views["prompt"] in made_ahead
    # The second new view is shown a frame later (one new view per frame, issue 7).
    qtbot.waitUntil(
        lambda: tab.stream_view.isVisible() and tab.input_views["prompt"].isVisible(), timeout=WAIT
    )
    running_input, running_status = tab.input_views["prompt"], tab.status_label
    assert node_item.run_outline is not None and node_item.run_outline.isVisible()
    repaints: list[str] = []
    node_item.update = lambda *args: repaints.append("node")  # type: ignore[method-assign]
    finished(window, qtbot)
    assert window.runs.shown.node("facts").status == DONE
    # The same input view and status line as while it ran; the stream became the output.
    assert tab.input_views["prompt"] is running_input
    assert tab.status_label is running_status
    assert tab.stream_view is None and tab.output_views["text"].copy_text()
    assert tab.findChild(type(running_input), "streamView") is None
    assert repaints == []
    # Done: no ring, so the ring item is hidden (strips' repaints do not ask it to paint nothing).
    assert node_item.run_outline is not None and not node_item.run_outline.isVisible()
    # Another node shows its own values, not the previous node's views.
    select(window, "paragraph")
    assert tab.input_views and tab.input_views["prompt"] is not running_input
    assert tab.input_views["prompt"].copy_text() == window.runs.shown.node("paragraph").inputs["prompt"]


def test_the_inputs_form_remembers_values_per_file_outside_the_workflow(
    window, qtbot, tmp_path, fake_llm, isolated_user_dirs
):
    path = open_file(window, tmp_path, example("chain-three-prompts"))
    window.act_run.trigger()
    dialog = window.inputs_dialog
    assert dialog is not None
    assert dialog.raw_values() == {"topic": "the history of the bicycle"}  # the default
    dialog.set_value("topic", "owls")
    QTest.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    state = finished(window, qtbot)
    assert state.inputs == {"topic": "owls"}
    assert state.node("topic").outputs == {"value": "owls"}

    window.act_run.trigger()
    assert window.inputs_dialog.raw_values() == {"topic": "owls"}  # remembered
    window.inputs_dialog.reject()
    assert "owls" not in path.read_text(encoding="utf-8")  # never in the workflow file
    memory = json.loads(window.input_memory.path.read_text(encoding="utf-8"))
    assert memory[str(path.resolve())] == {"topic": "owls"}
    assert str(window.input_memory.path).startswith(str(isolated_user_dirs))


def test_a_breakpoint_pauses_with_inputs_shown_and_edited_inputs_flow_downstream(
    window, qtbot, tmp_path, fake_llm
):
    open_file(window, tmp_path, example("chain-three-prompts"))
    select(window, "facts")
    QTest.keyClick(window.view, Qt.Key.Key_F9)
    assert window.runs.breakpoints == {"facts"}
    assert window.editor.scene.breakpoints == {"facts"}  # the red dot

    start(window, qtbot, topic="tea")
    qtbot.waitUntil(lambda: window.runs.held_node == "facts", timeout=WAIT)
    state = window.runs.shown
    qtbot.waitUntil(lambda: "prompt" in window.inspector.run_tab.input_views, timeout=WAIT)
    assert state.node("facts").status == PAUSED
    assert state.node("paragraph").status not in (RUNNING, DONE)
    assert fake_llm.chat_requests() == []  # nothing sent yet
    tab = window.inspector.run_tab
    view = tab.input_views["prompt"]
    assert view.editable and view.copy_text() == "List three short key facts about tea, one per line."
    assert window.act_continue.isEnabled() and tab.continue_button is not None

    view.text.setPlainText("Name one fact about owls.")
    QTest.mouseClick(tab.continue_button, Qt.MouseButton.LeftButton)
    state = finished(window, qtbot)

    assert state.status == "succeeded"
    owls = reply_text("fake-small", "Name one fact about owls.")
    assert chat_prompts(fake_llm)[0] == "Name one fact about owls."
    assert state.node("facts").inputs == {"prompt": "Name one fact about owls."}
    assert state.node("facts").replaced == ("prompt",)
    assert state.node("facts").outputs["text"] == owls
    assert owls in state.node("ask_paragraph").outputs["text"]  # flowed downstream
    assert owls in state.outputs["report"]
    assert any("edited input" in entry.text for entry in state.log)
    assert window.doc.node("ask_facts").config["template"].startswith("List three")  # document untouched

    QTest.keyClick(window.view, Qt.Key.Key_F9)
    assert window.runs.breakpoints == set()


def test_stop_aborts_the_request_in_flight_and_keeps_what_finished(window, qtbot, tmp_path, fake_llm):
    fake_llm.chunk_delay_ms = 150  # a slow answer
    open_file(window, tmp_path, example("chain-three-prompts"))
    before = window.doc.to_bytes()
    start(window, qtbot, topic="tea")
    qtbot.waitUntil(lambda: bool(window.runs.shown.node("facts").chunks), timeout=WAIT)
    request = fake_llm.chat_requests()[0]
    assert window.act_stop.isEnabled()
    window.act_stop.trigger()
    assert fake_llm.wait_closed(request, timeout=10) is not None  # the HTTP request was aborted
    state = finished(window, qtbot)

    assert state.status == "cancelled"
    facts = state.node("facts")
    assert facts.status == CANCELLED and facts.text  # the partial answer stays visible
    assert facts.preview().startswith("stopped: ")
    assert state.node("topic").status == DONE and state.node("topic").outputs == {"value": "tea"}
    assert state.node("paragraph").status == CANCELLED and state.node("paragraph").started is None
    assert len(fake_llm.chat_requests()) == 1
    assert "Stopped" in window.run_label.text()
    assert window.doc.to_bytes() == before and window.editor.stack.count() == 0
    assert not window.act_stop.isEnabled() and window.act_run.isEnabled()


def test_a_past_run_reloads_from_the_history_without_running_anything(window, qtbot, tmp_path, fake_llm):
    open_file(window, tmp_path, example("chain-three-prompts"))
    start(window, qtbot, topic="tea")
    live = finished(window, qtbot)
    run_id = live.run_id
    answer = live.node("facts").outputs["text"]
    panel = window.run_panel
    qtbot.waitUntil(lambda: panel.run_ids() == [run_id], timeout=WAIT)

    window.act_clear_run.trigger()
    assert window.runs.shown is None and not item(window, "facts").strip
    requests = len(fake_llm.requests)
    history = panel.history
    row = history.topLevelItem(0)
    QTest.mouseClick(history.viewport(), Qt.MouseButton.LeftButton, pos=history.visualItemRect(row).center())
    replay = window.runs.shown
    assert replay is not None and replay.replay and replay.run_id == run_id
    assert statuses(replay) == statuses(live)
    assert replay.inputs == {"topic": "tea"}
    assert window.editor.scene.run_node(window.doc.node("facts")).preview() == answer
    assert item(window, "facts").strip
    select(window, "facts")
    assert window.inspector.run_tab.output_views["text"].copy_text() == answer
    assert "Past run" in window.run_label.text() and panel.back_button.isVisible()
    assert len(fake_llm.requests) == requests  # nothing was run

    # Editing the workflow ends the replay.
    window.editor.set_config_value(window.doc.node("facts"), "max_tokens", 99)
    assert window.runs.shown is None
    assert not item(window, "facts").strip


# -- failures, cache, partial runs --------------------------------------------------------------------


def test_a_failing_node_is_explained_and_the_other_branches_finish(window, qtbot, tmp_path, fake_llm):
    data = {
        "format": "chainwright.workflow",
        "version": 1,
        "name": "Two branches",
        "nodes": [
            {"id": "n", "type": "io.input", "config": {"name": "n", "type": "number", "default": 3}},
            {"id": "calc", "type": "tool.python",
             "config": {"code": "def main(n):\n    total = n * 2\n    return total / 0\n"}},
            {"id": "out_calc", "type": "io.output", "config": {"name": "result"}},
            {"id": "ask", "type": "prompt.template", "config": {"template": "Say hi"}},
            {"id": "llm", "type": "model.chat", "config": {"provider": "openai", "model": "fake-small"}},
            {"id": "out_llm", "type": "io.output", "config": {"name": "greeting"}},
            {"id": "ask_cut", "type": "prompt.template", "config": {"template": "Tell me a story #disconnect"}},
            {"id": "llm_cut", "type": "model.chat", "config": {"provider": "openai", "model": "fake-small"}},
        ],
        "edges": [
            {"source": "n", "source_port": "value", "target": "calc", "target_port": "n"},
            {"source": "calc", "source_port": "result", "target": "out_calc", "target_port": "value"},
            {"source": "ask", "source_port": "text", "target": "llm", "target_port": "prompt"},
            {"source": "llm", "source_port": "text", "target": "out_llm", "target_port": "value"},
            {"source": "ask_cut", "source_port": "text", "target": "llm_cut", "target_port": "prompt"},
        ],
    }  # fmt: skip
    open_file(window, tmp_path, data)
    before = window.doc.to_bytes()
    select(window, "calc")
    start(window, qtbot, n="3")
    state = finished(window, qtbot)

    assert state.status == "failed"
    assert statuses(state) == {"n": DONE, "calc": FAILED, "out_calc": SKIPPED, "ask": DONE, "llm": DONE,
                               "out_llm": DONE, "ask_cut": DONE, "llm_cut": FAILED}  # fmt: skip
    assert state.outputs == {"greeting": reply_text("fake-small", "Say hi")}
    assert "calc" in state.missing_outputs["result"]
    error = state.node("calc").error
    assert error.user_line == 3 and "ZeroDivisionError" in error.message
    box = window.inspector.run_tab.error_box
    assert box is not None and box.isVisible()
    assert "Line 3 of your code" in box.text() and "return total / 0" in box.text()
    assert "ZeroDivisionError" in item(window, "calc").canvas.run_node(window.doc.node("calc")).preview()
    window.run_panel.tabs.setCurrentWidget(window.run_panel.outputs_area)
    assert window.run_panel.findChild(type(box), "missing_result") is not None
    assert window.run_panel.output_views["greeting"].copy_text() == reply_text("fake-small", "Say hi")
    assert "failures" in window.run_label.text()
    # A connection lost mid-answer fails that node only; what had arrived stays visible.
    cut = state.node("llm_cut")
    assert "connection" in cut.error.message and cut.text
    select(window, "llm_cut")
    assert window.inspector.run_tab.stream_view.copy_text() == cut.text
    assert window.doc.to_bytes() == before


def test_cached_nodes_show_the_saving_and_run_fresh_ignores_the_cache(window, qtbot, tmp_path, fake_llm):
    open_file(window, tmp_path, example("chain-three-prompts"))
    start(window, qtbot, topic="tea")
    first = finished(window, qtbot)
    assert len(fake_llm.chat_requests()) == 3
    select(window, "facts")

    start(window, qtbot, topic="tea")
    second = finished(window, qtbot)
    assert second is not first
    assert {second.node(n).status for n in ("facts", "paragraph", "title")} == {CACHED}
    assert len(fake_llm.chat_requests()) == 3
    facts = second.node("facts")
    assert facts.saved_tokens == first.node("facts").tokens > 0
    note = window.inspector.run_tab.findChild(QLabel, "runCacheNote")
    assert note is not None and f"saved {facts.saved_tokens:,} tokens" in note.text()
    assert "3 cached (saved" in window.run_label.text()
    assert facts.meta() == f"cached, saved {facts.saved_tokens:,} tok"  # on the node's run strip

    start(window, qtbot, action=window.act_run_fresh, topic="tea")
    third = finished(window, qtbot)
    assert CACHED not in statuses(third).values()
    assert len(fake_llm.chat_requests()) == 6


def test_run_selected_node_runs_its_upstream_and_rerun_from_here_reuses_the_rest(
    window, qtbot, tmp_path, fake_llm
):
    open_file(window, tmp_path, example("chain-three-prompts"))
    select(window, "facts")
    assert window.act_run_to.isEnabled()
    start(window, qtbot, action=window.act_run_to, topic="tea")
    partial = finished(window, qtbot)
    assert set(partial.nodes) == {"topic", "ask_facts", "facts"}
    assert window.editor.scene.run_node(window.doc.node("paragraph")) is None
    assert not item(window, "paragraph").strip

    start(window, qtbot, topic="tea")
    finished(window, qtbot)
    requests = len(fake_llm.chat_requests())
    window.editor.set_config_value(window.doc.node("title"), "max_tokens", 25)  # edit, then re-run
    assert window.runs.shown.node("title").stale and window.runs.shown.node("report").stale
    assert not window.runs.shown.node("facts").stale
    select(window, "title")
    start(window, qtbot, action=window.act_rerun_from)  # no form: the last run's inputs are reused
    again = finished(window, qtbot)
    assert again.mode == "run_from" and again.inputs == {"topic": "tea"}
    assert again.node("title").status == DONE and again.node("report").status == DONE
    assert again.node("paragraph").status == REUSED and again.node("facts").status == REUSED
    assert "topic" not in again.nodes
    assert len(fake_llm.chat_requests()) == requests + 1  # only the edited node called the model
    assert fake_llm.chat_requests()[-1].body["max_tokens"] == 25


def test_editing_during_a_run_keeps_the_runs_snapshot_and_marks_nodes_stale(
    window, qtbot, tmp_path, fake_llm
):
    fake_llm.chunk_delay_ms = 60
    open_file(window, tmp_path, example("chain-three-prompts"))
    start(window, qtbot, topic="tea")
    qtbot.waitUntil(lambda: window.runs.shown.node("facts").status == RUNNING, timeout=WAIT)
    window.editor.set_config_value(window.doc.node("paragraph"), "temperature", 0.9)
    state = window.runs.shown
    assert state.node("paragraph").stale and state.node("out").stale
    assert not state.node("facts").stale
    fake_llm.chunk_delay_ms = 0
    state = finished(window, qtbot)
    assert state.status == "succeeded"
    paragraph_request = fake_llm.chat_requests()[1]
    assert paragraph_request.body.get("temperature") == 0  # the snapshot the run started with
    assert window.doc.node("paragraph").config["temperature"] == 0.9  # the edit is kept
    assert window.editor.stack.count() == 1  # ...and is the only undo step
    assert (
        item(window, "paragraph").canvas.run_node(window.doc.node("paragraph")).preview().startswith("edited")
    )


def test_step_mode_runs_one_node_at_a_time_then_continue_finishes(window, qtbot, tmp_path, fake_llm):
    open_file(window, tmp_path, example("chain-three-prompts"))
    window.act_step.trigger()  # from idle: start paused
    window.inputs_dialog.set_value("topic", "tea")
    QTest.mouseClick(window.inputs_dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.runs.paused, timeout=WAIT)
    state = window.runs.shown
    assert not any(node.started for node in state.nodes.values())
    assert (
        window.act_step.isEnabled() and window.act_continue.isEnabled() and not window.act_pause.isEnabled()
    )

    window.act_step.trigger()
    qtbot.waitUntil(lambda: state.node("topic").status == DONE and window.runs.paused, timeout=WAIT)
    assert state.node("ask_facts").started is None
    window.act_continue.trigger()
    state = finished(window, qtbot)
    assert state.status == "succeeded"


def test_the_engine_warms_up_once_the_window_is_shown(window, qtbot):
    """Shortly after the window appears, the engine thread prepares the first run (imports,
    cache, history), so pressing Run does not pay for it while the canvas paints."""
    qtbot.waitUntil(lambda: window.runs._warmed, timeout=WAIT)
    qtbot.waitUntil(lambda: window.runs.engine.running and window.runs.store is not None, timeout=WAIT)


def test_the_event_log_follows_a_live_run_a_frame_later(window, qtbot, tmp_path, fake_llm):
    """New log rows of a live run are shown in a frame of their own (they come with status
    changes, which repaint the canvas: issue 7), and all of them are there when the run ends."""
    fake_llm.chunk_delay_ms = 25
    data = example("chain-three-prompts")
    untitled = next(node for node in data["nodes"] if node["type"] == "model.chat")
    untitled.pop("title", None)
    open_file(window, tmp_path, data)
    start(window, qtbot, topic="tea")
    state = window.runs.shown
    model = window.run_panel.log_model
    qtbot.waitUntil(lambda: state.live and model.rowCount() >= 2, timeout=WAIT)
    assert model.rowCount() <= len(state.log)
    finished(window, qtbot)
    assert model.rowCount() == len(state.log)
    # Nodes are named as on the canvas: the title, else the id (not the node type's name); two
    # nodes with one title ("Report": a template and the output) get their ids after it.
    named = {model.data(model.index(row, 1)) for row in range(model.rowCount())} - {"—"}
    assert untitled["id"] in named
    assert {"Report (report)", "Report (out)"} <= named and "Report" not in named
