"""Autosave in the editor, and recovery after a session that did not end cleanly."""

from __future__ import annotations

import json
from pathlib import Path

from app.core import trust
from app.core.autosave import InstanceLock, recoverable_autosaves
from app.core.model import parse_workflow, save_workflow
from app.ui.main_window import MainWindow
from app.ui.recovery import start_up
from tests.core.workflows import summarize


def edited_window(window: MainWindow, tmp_path: Path) -> Path:
    path = tmp_path / "flow.json"
    save_workflow(parse_workflow(json.dumps(summarize())), path)
    trust.remember(path.read_bytes())
    window.open_path(path)
    window.editor.add_node("io.input", (0, 300))
    return path


def test_unsaved_changes_are_autosaved_and_a_save_discards_them(window: MainWindow, tmp_path: Path) -> None:
    assert window.autosave() is False  # nothing open
    path = edited_window(window, tmp_path)
    before = path.read_bytes()
    assert window.autosave() is True
    (record,) = recoverable_autosaves()
    assert record.original_path == path.resolve()
    assert record.summary.startswith("added 1 node (input)")
    assert path.read_bytes() == before  # never written over the user's file
    assert window.save()
    assert recoverable_autosaves() == []
    assert window.autosave() is False  # clean: nothing to write


def test_the_timer_follows_the_setting(window: MainWindow) -> None:
    window.settings.autosave_seconds = 3
    window.apply_settings()
    assert window._autosave_timer.isActive() and window._autosave_timer.interval() == 3000
    window.settings.autosave_seconds = 0
    window.apply_settings()
    assert not window._autosave_timer.isActive()


def test_after_a_crash_the_work_is_offered_back(window: MainWindow, tmp_path: Path) -> None:
    edited_window(window, tmp_path)
    window.autosave()
    edited = window.doc.workflow.model_copy(deep=True)
    asked: list[int] = []
    lock = start_up(window, ask=lambda _w, records: asked.append(len(records)) or True)
    assert lock is not None and asked == [1]
    recovered = [w for w in MainWindow.windows if w.doc is not None and w.doc.path is None]
    assert recovered and recovered[-1].doc.workflow == edited
    assert not recovered[-1].editor.stack.isClean()  # shown as unsaved: closing asks first
    assert InstanceLock(lock.path).acquire() is False  # a second instance would see this one running
    lock.release()


def test_declining_recovery_discards_the_autosaves(window: MainWindow, tmp_path: Path) -> None:
    edited_window(window, tmp_path)
    window.autosave()
    lock = start_up(window, ask=lambda _w, _records: False)
    assert recoverable_autosaves() == []
    lock.release()
