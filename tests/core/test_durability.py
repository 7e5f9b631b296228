"""Saves survive being killed at any moment; autosave, crash recovery and the instance lock."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

from app.core.autosave import (
    InstanceLock,
    diff_summary,
    discard_autosave,
    document_key,
    recoverable_autosaves,
    remove_stray_temp_files,
    stray_temp_files,
    write_autosave,
)
from app.core.model import Workflow, load_workflow, parse_workflow, save_workflow
from tests.core.workflows import document, edge, node, summarize


def workflow_of_size(size: int) -> Workflow:
    nodes = [
        node(f"n{i}", "prompt.template", {"template": f"step {i} " + "x" * (i * 37 % 500)}, i * 10)
        for i in range(size)
    ]
    return parse_workflow(json.dumps(document(nodes, [])))


def save_forever(path: Path, autosave: bool) -> None:
    """The child: save ever-changing workflows of very different sizes until it is killed."""
    rng = random.Random(os.getpid())
    key = document_key(path)
    while True:
        workflow = workflow_of_size(rng.choice([1, 5, 50, 400]))
        if autosave:
            write_autosave(key, workflow, path)
        else:
            save_workflow(workflow, path)


def test_two_hundred_kills_during_save_and_autosave_leave_no_unparseable_file(tmp_path: Path) -> None:
    target = tmp_path / "flow.json"
    save_workflow(workflow_of_size(3), target)
    rng = random.Random(1234)
    unparseable = []
    for kill in range(200):
        autosave = kill % 2 == 1
        pid = os.fork()
        if pid == 0:  # child
            try:
                save_forever(target, autosave)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        try:
            load_workflow(target)
        except Exception as exc:
            unparseable.append(f"kill {kill}: {exc}")
        for record in recoverable_autosaves():
            assert record.workflow.nodes
    assert unparseable == []
    # Interrupted saves may leave temp files; they are cleaned up, never mistaken for the file.
    leftovers = stray_temp_files(tmp_path)
    assert remove_stray_temp_files(tmp_path, older_than_seconds=0) == len(leftovers)
    assert stray_temp_files(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["flow.json"]


def test_autosave_is_offered_back_with_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    original = parse_workflow(json.dumps(summarize()))
    save_workflow(original, path)
    edited_doc = summarize()
    edited_doc["nodes"][2]["config"]["model"] = "gpt-4o"
    edited_doc["nodes"].append(node("extra", "io.input", {"name": "extra"}))
    edited_doc["edges"].pop()
    edited = parse_workflow(json.dumps(edited_doc))
    key = document_key(path)
    write_autosave(key, edited, path)
    (record,) = recoverable_autosaves()
    assert record.key == key and record.original_path == path.resolve()
    assert record.workflow == edited
    assert record.summary == "added 1 node (extra); changed 1 node (llm); 1 removed connection(s)"
    assert load_workflow(path) == original  # the user's file is never written over
    discard_autosave(key)
    assert recoverable_autosaves() == []


def test_diff_summary_for_a_new_document_and_no_change() -> None:
    workflow = parse_workflow(json.dumps(summarize()))
    assert diff_summary(None, workflow) == "4 nodes, 3 edges (no saved file to compare with)"
    assert diff_summary(workflow, workflow) == "no differences"
    moved = workflow.model_copy(deep=True)
    moved.nodes[0].position = [5, 5]
    assert diff_summary(workflow, moved) == "moved 1 node (doc)"
    rewired_doc = summarize()
    rewired_doc["edges"].append(edge("doc", "text", "out", "value"))
    assert "1 new connection(s)" in diff_summary(workflow, parse_workflow(json.dumps(rewired_doc)))


def test_untitled_documents_get_distinct_keys() -> None:
    assert document_key(None) != document_key(None)
    assert document_key("/a/flow.json") == document_key("/a/flow.json")


def test_the_lock_tells_a_second_instance_from_a_crash(tmp_path: Path) -> None:
    lock_path = tmp_path / "instance.lock"
    pid = os.fork()
    if pid == 0:  # a session that crashes while holding the lock
        InstanceLock(lock_path).acquire()
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)

    first = InstanceLock(lock_path)
    assert first.acquire() is True
    assert first.previous_crashed is True
    second = InstanceLock(lock_path)
    assert second.acquire() is False  # another instance is running
    first.release()

    again = InstanceLock(lock_path)
    assert again.acquire() is True
    assert again.previous_crashed is False  # the last session ended cleanly
    again.release()
