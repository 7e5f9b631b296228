"""The executor's per-node bookkeeping, kept lean for big runs (benchmark P2), behaves like the
plain version it replaced: contexts, plans, the topological order, totals and the event stream."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from app.core import events as ev
from app.core.executor import Executor, Run
from app.core.runs import NodeResult, RunResult
from app.core.sdk import Port, RunContext
from app.core.settings import Settings
from tests.core import fake_nodes
from tests.core.fake_nodes import analyze, fake


def go(run: Run) -> RunResult:
    return asyncio.run(run.wait())


def test_a_node_context_has_every_run_context_field_and_working_callbacks(tmp_path) -> None:
    fake_nodes.reset()
    seen: dict[str, RunContext] = {}

    class Spy(fake_nodes.FakeNode):
        async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
            seen[ctx.node_id] = ctx
            ctx.progress(2.0, "clamped")
            return await super().run(inputs, ctx)

    registry = fake_nodes.fake_registry()
    registry._types["fake.node"] = Spy  # only this test's registry
    from app.core.graph import require_valid

    analysis = require_valid(
        fake_nodes.workflow([fake("a", chunks=["x"], tokens=3, log="hello"), fake("b")], []), registry
    )
    settings = Settings()
    run = Executor(analysis, settings=settings, workflow_path=tmp_path / "f.json").run({}, restricted=True)
    result = go(run)
    plain = RunContext(
        node_id="a",
        workflow_dir=tmp_path.resolve(),
        workflow_inputs={},
        restricted=True,
        settings=settings,
        cancel_event=run.cancel_event,
    )
    ctx = seen["a"]
    assert isinstance(ctx, RunContext) and seen["b"].node_id == "b"
    for item in dataclasses.fields(RunContext):
        if item.name.startswith("on_"):
            assert callable(getattr(ctx, item.name))
        elif item.name != "logger":
            assert getattr(ctx, item.name) == getattr(plain, item.name), item.name
    assert ctx.logger.name == "chainwright.node"
    # the callbacks reach the run: chunk, progress, log (stored) and usage (counted)
    kinds = [e.kind for e in run.history if e.node_id == "a"]
    assert {"chunk", "progress", "node_log"} <= set(kinds)
    progress = next(e for e in run.history if e.kind == "progress" and e.node_id == "a")
    assert progress.fraction == 1.0 and progress.message == "clamped"
    assert result.nodes["a"].log == [("info", "hello")] and result.nodes["a"].input_tokens == 3
    assert not result.nodes["b"].log and not result.nodes["b"].usage  # nothing reported
    assert list(result.nodes["b"].log) == [] and result.nodes["b"].to_dict()["usage"] == []


def test_plans_keep_in_edges_successors_and_predecessors() -> None:
    nodes = [fake("a", outputs=["p", "q"]), fake("b", inputs=["x", "y"]), fake("c", inputs=["x"])]
    edges = [("a", "p", "b", "x"), ("a", "q", "b", "y"), ("a", "p", "c", "x")]
    executor = Executor(analyze(nodes, edges), settings=Settings())
    a, b = executor.plans["a"], executor.plans["b"]
    assert a.successors == ("b", "c") and a.predecessors == ()
    assert b.predecessors == ("a",) and b.successors == ()
    assert [(name, src, port) for name, src, port, _ in b.in_edges] == [("x", "a", "p"), ("y", "a", "q")]
    assert all(isinstance(port, Port) and port.name == name for name, _, _, port in b.in_edges)
    assert "p" in a.output_names and "x" not in a.output_names


def test_the_order_is_the_analysis_topological_order_whatever_the_file_order() -> None:
    # file order is not a topological order here: ties are broken by file order
    nodes = [fake("d", inputs=["x"]), fake("c"), fake("b", inputs=["x"]), fake("a")]
    edges = [("c", "out", "b", "x"), ("b", "out", "d", "x")]
    analysis = analyze(nodes, edges)
    assert Executor(analysis, settings=Settings()).order == analysis.topological_order()
    forward = analyze([fake("a"), fake("b", inputs=["x"]), fake("c")], [("a", "out", "b", "x")])
    assert Executor(forward, settings=Settings()).order == forward.topological_order() == ["a", "b", "c"]


def test_successors_are_distinct_and_in_topological_order_whatever_the_file_and_edge_order() -> None:
    # file order is not topological, edges are listed backwards, and e reads a twice
    nodes = [fake("e", inputs=["x", "y"]), fake("c", inputs=["x", "y"]), fake("a"), fake("b", inputs=["x"])]
    edges = [("a", "out", "e", "y"), ("a", "out", "e", "x"), ("b", "out", "c", "x"), ("a", "out", "c", "y")]
    edges.append(("a", "out", "b", "x"))
    executor = Executor(analyze(nodes, edges), settings=Settings())
    assert executor.order == ["a", "e", "b", "c"]  # ties broken by file order
    assert executor.plans["a"].successors == ("e", "b", "c")
    assert executor.plans["e"].predecessors == ("a",) and executor.plans["c"].predecessors == ("b", "a")


def test_events_compare_and_hash_by_their_fields() -> None:
    first = ev.NodeQueued(run_id="r", node_id="n", timestamp=1.0)
    same = ev.NodeQueued(run_id="r", node_id="n", timestamp=1.0)
    assert first == same and hash(first) == hash(same) and len({first, same}) == 1
    assert first != ev.NodeQueued(run_id="r", node_id="m", timestamp=1.0)
    assert ev.event_from_dict(first.to_dict()) == first


def test_totals_sum_usage_per_node_skipping_reused_nodes() -> None:
    def node(node_id: str, usage: list[dict[str, Any]], **kw: Any) -> NodeResult:
        return NodeResult(node_id, "succeeded", usage=usage, **kw)

    result = RunResult("r", "succeeded")
    result.nodes = {
        "a": node("a", [{"input_tokens": 1, "output_tokens": 2, "cost_usd": 0.1}, {"cost_usd": 0.2}]),
        "b": node("b", [{"input_tokens": 4, "cost_usd": 0.3}]),
        "c": node(
            "c", [], cached=True, saved_usage=[{"input_tokens": 5, "output_tokens": 1, "cost_usd": 1.0}]
        ),
        "d": node("d", [{"input_tokens": 100, "cost_usd": 9.0}], reused=True),
        "e": node("e", []),
    }
    assert result.totals() == {
        "input_tokens": 5,
        "output_tokens": 2,
        "cost_usd": (0.1 + 0.2) + 0.3,
        "cache_hits": 1,
        "saved_tokens": 6,
        "saved_cost_usd": 1.0,
    }
    assert RunResult("r", "succeeded").totals()["cost_usd"] is None


def test_unsubscribing_inside_a_callback_still_delivers_that_event_to_the_others() -> None:
    run = Executor(analyze([fake("a")], []), settings=Settings()).run()
    first: list[ev.Event] = []
    second: list[ev.Event] = []

    def once(event: ev.Event) -> None:
        first.append(event)
        unsubscribe()

    unsubscribe = run.subscribe(once)
    run.subscribe(second.append)
    go(run)
    assert [e.kind for e in first] == ["run_started"]
    assert second == run.history and second[-1].kind == "run_finished"


def test_history_is_kept_compact_until_read_and_then_equals_what_subscribers_saw() -> None:
    nodes = [
        fake("a", tokens=2),
        fake("b", inputs=["x"]),
        fake("c", inputs=["x"], fail=True),
        fake("d", inputs=["x"]),
    ]
    edges = [("a", "out", "b", "x"), ("b", "out", "c", "x"), ("c", "out", "d", "x")]
    run = Executor(analyze(nodes, edges), settings=Settings()).run()
    seen: list[ev.Event] = []
    run.subscribe(seen.append)
    result = go(run)
    assert any(type(item) is tuple for item in run._history)  # compact records before the first read
    history = run.history
    assert history is run.history and all(isinstance(e, ev.Event) for e in history)
    assert history == seen  # same kinds, fields and timestamps, in the same order
    started = next(e for e in history if e.kind == "node_started" and e.node_id == "b")
    assert started.inputs == {"x": "a()"} and started.inputs is result.nodes["b"].inputs
    assert started.type_id == "fake.node" and started.title == "Fake"
    finished = next(e for e in history if e.kind == "node_finished" and e.node_id == "a")
    assert finished.input_tokens == 2 and finished.outputs == {"out": "a()"}


def test_events_are_delivered_and_kept_with_nobody_listening_until_the_end() -> None:
    run = Executor(
        analyze([fake("a"), fake("b", inputs=["x"])], [("a", "out", "b", "x")]), settings=Settings()
    ).run()
    go(run)  # no subscriber, no events() iterator: nothing but records during the run
    kinds = [(e.kind, e.node_id) for e in run.history]
    assert kinds == [
        ("run_started", None),
        ("node_queued", "a"),
        ("node_started", "a"),
        ("node_finished", "a"),
        ("node_queued", "b"),
        ("node_started", "b"),
        ("node_finished", "b"),
        ("run_finished", None),
    ]
    assert [e.timestamp for e in run.history] == sorted(e.timestamp for e in run.history)


def test_an_events_iterator_started_mid_run_gets_the_backlog_then_live_events() -> None:
    nodes = [fake("a", latency=0.05), fake("b", inputs=["x"], latency=0.05)]
    run = Executor(analyze(nodes, [("a", "out", "b", "x")]), settings=Settings()).run()

    async def main() -> tuple[list[ev.Event], list[ev.Event]]:
        run.start()
        await asyncio.sleep(0.02)  # a is running: its queued/started events are records now
        got = [event async for event in run.events()]
        await run
        return got, run.history

    got, history = asyncio.run(main())
    assert got == history and got[-1].kind == "run_finished"
    assert [e.kind for e in got if e.node_id == "b"] == ["node_queued", "node_started", "node_finished"]
