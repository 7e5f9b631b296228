"""Run history: every run is stored, listed, loadable (and usable for run-from-node), prunable."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from app.core.executor import Executor
from app.core.runs import NodeResult, RunResult, RunStore, default_runs_path, workflow_hash
from app.core.settings import Settings
from tests.core import fake_nodes
from tests.core.fake_nodes import CALLS, analyze, fake, node, workflow


@pytest.fixture(autouse=True)
def _reset_fakes() -> None:
    fake_nodes.reset()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    with RunStore(tmp_path / "runs.sqlite3") as opened:
        yield opened


def _flow():
    nodes = [
        node("q", "io.input", name="question"),
        fake("a", inputs=["x"], tokens=9, cost=0.01, log="working"),
        fake("bad", inputs=["x"], fail=True, fail_message="nope"),
        fake("c", inputs=["x"]),
        node("out", "io.output", name="answer"),
        node("lost", "io.output", name="lost"),
    ]
    edges = [
        ("q", "value", "a", "x"),
        ("a", "out", "out", "value"),
        ("a", "out", "bad", "x"),
        ("bad", "out", "c", "x"),
        ("c", "out", "lost", "value"),
    ]
    return analyze(nodes, edges)


def _run(executor: Executor, run_from=None, **inputs) -> RunResult:
    async def main() -> RunResult:
        if run_from:
            return await executor.run_from(*run_from)
        return await executor.run(inputs)

    return asyncio.run(main())


def test_every_run_is_stored_with_node_details(store: RunStore, tmp_path: Path) -> None:
    executor = Executor(_flow(), settings=Settings(), store=store, workflow_path=tmp_path / "flow.json")
    result = _run(executor, question="why")

    (summary,) = store.list()
    assert summary.run_id == result.run_id and summary.status == "failed"
    assert summary.workflow_path == str(tmp_path / "flow.json")
    assert summary.workflow_hash == executor.workflow_hash and summary.failed_nodes == ("bad",)
    assert summary.totals["input_tokens"] == 9 and summary.totals["cost_usd"] == 0.01

    loaded = store.load(result.run_id)
    assert loaded.inputs == {"question": "why"}
    assert loaded.outputs == {"answer": "a(why)"}
    assert loaded.missing_outputs == {"lost": "upstream node 'bad' failed"}
    a = loaded.nodes["a"]
    assert a.status == "succeeded" and a.inputs == {"x": "why"} and a.outputs == {"out": "a(why)"}
    assert a.usage[0]["input_tokens"] == 9 and a.log == [("info", "working")]
    assert a.started and a.finished and a.finished >= a.started and a.duration_s >= 0
    assert loaded.nodes["bad"].error.message == "nope" and loaded.nodes["bad"].error.port == "x"
    assert loaded.nodes["c"].skip_reason == "upstream node 'bad' failed"
    assert loaded.to_dict() == result.to_dict()


def test_list_is_newest_first_and_filters_by_workflow(store: RunStore) -> None:
    executor = Executor(_flow(), settings=Settings(), store=store, workflow_path="one.json")
    other = Executor(analyze([fake("z")], []), settings=Settings(), store=store, workflow_path="two.json")
    first = _run(executor, question="1")
    second = _run(executor, question="2")
    third = _run(other)
    assert [s.run_id for s in store.list()] == [third.run_id, second.run_id, first.run_id]
    assert [s.run_id for s in store.list(workflow_path="one.json")] == [second.run_id, first.run_id]
    assert store.latest(workflow_path="one.json").inputs == {"question": "2"}
    assert store.latest(workflow_hash=other.workflow_hash).run_id == third.run_id
    assert store.latest(workflow_path="nowhere.json") is None
    with pytest.raises(KeyError):
        store.load("no-such-run")


def test_prune_keeps_the_newest_and_drops_old_runs(store: RunStore) -> None:
    executor = Executor(analyze([fake("z")], []), settings=Settings(), store=store)
    ids = [_run(executor).run_id for _ in range(5)]
    assert store.prune(keep=3) == 2
    assert [s.run_id for s in store.list()] == ids[:1:-1]
    old = store.load(ids[2])
    old.run_id, old.started = "ancient", time.time() - 40 * 86400
    store.save(old)
    assert store.prune(older_than_days=30) == 1
    assert store.count() == 3
    assert store.delete(ids[4]) and not store.delete(ids[4])
    # Node rows go with their run.
    assert (
        store._db.execute("SELECT COUNT(*) FROM node_results WHERE run_id = ?", (ids[4],)).fetchone()[0] == 0
    )


def test_run_from_node_with_results_loaded_from_the_store(store: RunStore) -> None:
    nodes = [fake("a", value={"n": 1}), fake("b", inputs=["x"]), node("out", "io.output", name="b")]
    executor = Executor(
        analyze(nodes, [("a", "out", "b", "x"), ("b", "out", "out", "value")]),
        settings=Settings(),
        store=store,
    )
    first = _run(executor)
    CALLS.clear()
    previous = store.load(first.run_id)
    again = _run(executor, run_from=("b", previous))
    assert CALLS == ["b"]
    assert again.outputs == first.outputs == {"b": 'b({"n": 1})'}
    assert store.load(again.run_id).mode == "run_from"


def test_the_workflow_hash_ignores_layout_but_not_meaning() -> None:
    base = workflow([fake("a", label="x"), fake("b", inputs=["i"])], [("a", "out", "b", "i")])
    moved = base.model_copy(deep=True)
    moved.nodes[0].position = [500.0, 20.0]
    moved.nodes[0].title = "Renamed"
    moved.ui = {"zoom": 2}
    edited = base.model_copy(deep=True)
    edited.nodes[0].config["label"] = "y"
    assert workflow_hash(base) == workflow_hash(moved)
    assert workflow_hash(base) != workflow_hash(edited)


def test_values_json_cannot_hold_are_stored_as_their_repr(store: RunStore) -> None:
    result = RunResult(run_id="r1", status="succeeded", started=time.time(), finished=time.time())
    result.nodes["a"] = NodeResult("a", "succeeded", outputs={"out": {1, 2}})
    store.save(result)
    assert store.load("r1").nodes["a"].outputs == {"out": "{1, 2}"}


def test_the_default_location_is_the_user_data_dir(isolated_user_dirs: Path) -> None:
    assert default_runs_path().is_relative_to(isolated_user_dirs / "data")
