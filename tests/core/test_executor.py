"""The executor: scheduling, failure isolation, skipping, control, partial runs, events.

Timing claims are made as ratios against a deliberately layered scheduler run in the same test
(with the same fake nodes), never as absolute times, so they hold on a slow, noisy machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import networkx as nx
import pytest

from app.core import events as ev
from app.core.executor import Executor, Run, UnknownInputError
from app.core.graph import analyze as analyze_workflow
from app.core.problems import WorkflowError
from app.core.runs import RunResult
from app.core.sdk import RunContext
from app.core.settings import ProviderSettings, Settings
from tests.core import fake_nodes
from tests.core.fake_nodes import CALLS, STATS, analyze, fake, fake_registry, node, workflow


@pytest.fixture(autouse=True)
def _reset_fakes() -> None:
    fake_nodes.reset()


def make(nodes, edges, settings: Settings | None = None, **kw: Any) -> Executor:
    return Executor(analyze(nodes, edges), settings=settings or Settings(), **kw)


def go(run: Run) -> RunResult:
    async def main() -> RunResult:
        result = await run
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftover == [], f"tasks left running: {leftover}"
        return result

    return asyncio.run(main())


def kinds(run: Run, kind: str) -> list[ev.Event]:
    return [e for e in run.history if e.kind == kind]


# --- scheduling ---------------------------------------------------------------------------------


async def _layered(executor: Executor) -> None:
    """The baseline: run the graph generation by generation, with a barrier after each."""
    results: dict[str, dict[str, Any]] = {}
    for layer in nx.topological_generations(executor.analysis.graph):

        async def one(node_id: str) -> None:
            plan = executor.plans[node_id]
            inputs = {port: results[src][sport] for port, src, sport, _ in plan.in_edges}
            results[node_id] = await plan.instance.run(inputs, RunContext(node_id=node_id))

        await asyncio.gather(*(one(n) for n in layer))


def test_wall_time_follows_the_critical_path_not_the_layers() -> None:
    # A skewed diamond: one slow node on one side, a chain of quick ones on the other.
    #   src → slow(0.5) ─────────────────────→ sink
    #   src → q1(0.1) → q2(0.1) → q3(0.1) ──→ sink
    # Critical path ≈ 0.5 s; layer by layer ≈ 0.5 + 0.1 + 0.1 = 0.7 s.
    nodes = [
        fake("src"),
        fake("slow", inputs=["x"], latency=0.5),
        fake("q1", inputs=["x"], latency=0.1),
        fake("q2", inputs=["x"], latency=0.1),
        fake("q3", inputs=["x"], latency=0.1),
        fake("sink", inputs=["a", "b"]),
    ]
    edges = [
        ("src", "out", "slow", "x"),
        ("src", "out", "q1", "x"),
        ("q1", "out", "q2", "x"),
        ("q2", "out", "q3", "x"),
        ("slow", "out", "sink", "a"),
        ("q3", "out", "sink", "b"),
    ]
    executor = make(nodes, edges)

    start = time.perf_counter()
    asyncio.run(_layered(executor))
    layered = time.perf_counter() - start

    start = time.perf_counter()
    result = go(executor.run())
    ours = time.perf_counter() - start

    assert result.ok
    # Ideal ratio 0.5 / 0.7 ≈ 0.71; a layered executor would be ≈ 1.0.
    assert ours / layered < 0.88, (ours, layered)


def test_a_typical_fan_out_runs_at_once_by_default() -> None:
    nodes = [fake("src")] + [fake(f"n{i}", inputs=["x"], latency=0.2) for i in range(20)]
    edges = [("src", "out", f"n{i}", "x") for i in range(20)]
    assert go(make(nodes, edges).run()).ok
    assert STATS["max_running"] >= 16


def test_global_concurrency_limit() -> None:
    nodes = [fake(f"n{i}", latency=0.05) for i in range(10)]
    assert go(make(nodes, [], Settings(max_concurrency=3)).run()).ok
    assert STATS["max_running"] == 3
    assert len(CALLS) == 10


def test_per_provider_limit_does_not_hold_back_other_providers() -> None:
    nodes = [fake(f"a{i}", latency=0.1, group="provider:slowpoke") for i in range(6)]
    nodes += [fake(f"b{i}", latency=0.1, group="provider:other") for i in range(6)]
    settings = Settings(providers={"slowpoke": ProviderSettings(concurrency=2)})
    assert go(make(nodes, [], settings).run()).ok
    assert STATS["group_max"]["provider:slowpoke"] == 2
    assert STATS["group_max"]["provider:other"] == 6  # queued slowpoke nodes hold no slots


def test_inputs_are_converted_to_the_port_type() -> None:
    nodes = [fake("a", value="42"), fake("b", inputs=["x"], input_type="number", value=None)]
    executor = make(nodes, [("a", "out", "b", "x")])
    run = executor.run()
    go(run)
    started = {e.node_id: e for e in kinds(run, "node_started")}
    assert started["b"].inputs == {"x": 42}


def test_a_value_an_input_cannot_take_fails_the_node_naming_the_port() -> None:
    nodes = [fake("a", value="abc"), fake("b", inputs=["x"], input_type="number"), fake("c", inputs=["x"])]
    result = go(make(nodes, [("a", "out", "b", "x"), ("b", "out", "c", "x")]).run())
    failure = result.nodes["b"]
    assert failure.status == "failed"
    assert failure.error.error_type == "InputTypeError"
    assert failure.error.port == "x" and "'x'" in failure.error.message
    assert result.nodes["c"].skip_reason == "upstream node 'b' failed"
    assert CALLS == ["a"]


# --- failure isolation and skipping -------------------------------------------------------------


def test_a_failure_skips_only_its_downstream_cone_and_every_failure_is_reported() -> None:
    #   a → bad → c → d          a → e → f          lone_bad          bad → g (optional input)
    nodes = [
        fake("a"),
        fake("bad", inputs=["x"], fail=True, fail_message="it broke"),
        fake("c", inputs=["x"]),
        fake("d", inputs=["x"]),
        fake("e", inputs=["x"], latency=0.05),
        fake("f", inputs=["x"]),
        fake("lone_bad", crash=True, fail_message="kaboom"),
        fake("g", inputs=["y"], optional_inputs=["x"]),
        node("out_d", "io.output", name="d"),
        node("out_f", "io.output", name="f"),
    ]
    edges = [
        ("a", "out", "bad", "x"),
        ("bad", "out", "c", "x"),
        ("c", "out", "d", "x"),
        ("a", "out", "e", "x"),
        ("e", "out", "f", "x"),
        ("a", "out", "g", "y"),
        ("bad", "out", "g", "x"),
        ("d", "out", "out_d", "value"),
        ("f", "out", "out_f", "value"),
    ]
    run = make(nodes, edges).run()
    result = go(run)

    assert result.status == "failed"
    assert {r.node_id for r in result.failures} == {"bad", "lone_bad"}
    assert result.nodes["bad"].error.message == "it broke"
    assert result.nodes["bad"].error.port == "x"
    crash = result.nodes["lone_bad"].error
    assert crash.error_type == "RuntimeError" and "kaboom" in crash.message and "Traceback" in crash.traceback
    for skipped in ("c", "d", "g", "out_d"):
        assert result.nodes[skipped].status == "skipped"
        assert result.nodes[skipped].skip_reason == "upstream node 'bad' failed"
    assert result.nodes["f"].status == "succeeded"
    assert result.outputs == {"f": "f(e(a()))"}
    assert result.missing_outputs == {"d": "upstream node 'bad' failed"}
    assert sorted(CALLS) == ["a", "bad", "e", "f", "lone_bad"]

    (ended,) = kinds(run, "run_failed")
    assert {f["node_id"] for f in ended.failures} == {"bad", "lone_bad"}
    assert ended.missing_outputs == {"d": "upstream node 'bad' failed"}
    assert {e.node_id for e in kinds(run, "node_skipped")} == {"c", "d", "g", "out_d"}


def test_skip_rules_required_inputs_skip_optional_inputs_are_left_out() -> None:
    nodes = [
        fake("branch", outputs=["yes", "no", "gone"], skip=["no"], omit=["gone"], label="br"),
        fake("needs_no", inputs=["x"]),
        fake("after", inputs=["x"]),
        fake("needs_gone", inputs=["x"]),
        fake("merge", inputs=["a"], optional_inputs=["b"]),
        node("out_merge", "io.output", name="merged"),
        node("out_no", "io.output", name="no_branch"),
    ]
    edges = [
        ("branch", "no", "needs_no", "x"),
        ("needs_no", "out", "after", "x"),
        ("branch", "gone", "needs_gone", "x"),
        ("branch", "yes", "merge", "a"),
        ("branch", "no", "merge", "b"),
        ("merge", "out", "out_merge", "value"),
        ("branch", "no", "out_no", "value"),
    ]
    run = make(nodes, edges).run()
    result = go(run)

    assert result.status == "succeeded"  # skipping is not failing
    assert result.nodes["branch"].skipped_outputs == {"no": "br chose not to"}
    assert "input 'x'" in result.nodes["needs_no"].skip_reason
    assert "br chose not to" in result.nodes["needs_no"].skip_reason
    assert "not produced" in result.nodes["needs_gone"].skip_reason
    assert result.nodes["after"].skip_reason == "input 'x': upstream node 'needs_no' was skipped"
    started = {e.node_id: e for e in kinds(run, "node_started")}
    assert started["merge"].inputs == {"a": "br()"}  # the optional input is left out
    assert result.outputs == {"merged": "merge(br())"}
    assert "br chose not to" in result.missing_outputs["no_branch"]
    assert sorted(CALLS) == ["branch", "merge"]


# --- cancel, pause, step, breakpoints -----------------------------------------------------------


def test_cancel_mid_run_aborts_running_nodes_and_leaves_no_tasks() -> None:
    nodes = [fake("quick")]
    nodes += [fake(f"slow{i}", inputs=["x"], latency=30) for i in range(3)]
    nodes += [fake("in_thread", inputs=["x"], latency=30, blocking=True), fake("later", inputs=["x"])]
    edges = [("quick", "out", f"slow{i}", "x") for i in range(3)]
    edges += [("quick", "out", "in_thread", "x"), ("slow0", "out", "later", "x")]
    run = make(nodes, edges).run()

    async def main() -> RunResult:
        started = 0
        t0 = time.perf_counter()
        run.start()
        async for event in run.events():
            if event.kind == "node_started":
                started += 1
                if started == 5:
                    run.cancel()
        result = await run
        assert time.perf_counter() - t0 < 10
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftover == []
        return result

    result = asyncio.run(main())
    assert result.status == "cancelled"
    assert run.cancel_event.is_set()
    assert result.nodes["quick"].status == "succeeded"
    assert all(
        result.nodes[n].status == "cancelled" for n in ("slow0", "slow1", "slow2", "in_thread", "later")
    )
    assert run.history[-1].kind == "run_cancelled"
    assert "later" not in CALLS


def test_cancel_from_another_thread() -> None:
    import threading

    run = make([fake("a", latency=30)], []).run()

    async def main() -> RunResult:
        task = run.start()
        async for event in run.events():
            if event.kind == "node_started":
                threading.Thread(target=run.cancel).start()
        return await task

    assert asyncio.run(main()).status == "cancelled"


def test_pause_holds_new_nodes_and_resume_lets_them_start() -> None:
    nodes = [fake("a", latency=0.05), fake("b", inputs=["x"]), fake("c", inputs=["x"])]
    run = make(nodes, [("a", "out", "b", "x"), ("b", "out", "c", "x")]).run()

    async def main() -> RunResult:
        run.start()
        async for event in run.events():
            if event.kind == "node_started" and event.node_id == "a":
                run.pause()
            if event.kind == "node_finished" and event.node_id == "a":
                await asyncio.sleep(0.2)
                assert CALLS == ["a"]  # b is ready but held
                assert run.paused
                run.resume()
        return await run

    result = asyncio.run(main())
    assert result.ok and CALLS == ["a", "b", "c"]
    paused, resumed = kinds(run, "paused"), kinds(run, "resumed")
    assert len(paused) == 1 and paused[0].reason == "pause" and paused[0].running == ("a",)
    assert len(resumed) == 1


def test_step_mode_runs_exactly_one_ready_node_per_step_in_a_valid_order() -> None:
    #   a → b → d,  a → c → d,  e (independent),  d → f
    nodes = [
        fake("a"),
        fake("b", inputs=["x"]),
        fake("c", inputs=["x"]),
        fake("d", inputs=["x", "y"]),
        fake("e"),
        fake("f", inputs=["x"]),
    ]
    edges = [
        ("a", "out", "b", "x"),
        ("a", "out", "c", "x"),
        ("b", "out", "d", "x"),
        ("c", "out", "d", "y"),
        ("d", "out", "f", "x"),
    ]
    executor = make(nodes, edges)
    run = executor.run(step_mode=True)
    steps = 0

    async def main() -> RunResult:
        nonlocal steps
        run.start()
        async for event in run.events():
            if event.kind == "paused":
                assert event.reason == "step"
                assert len(CALLS) == steps  # one node per step, none in between
                assert event.node_id == event.ready[0] and event.inputs is not None
                steps += 1
                run.step()
        return await run

    result = asyncio.run(main())
    assert result.ok
    assert steps == len(nodes) and len(CALLS) == len(nodes)
    position = {n: i for i, n in enumerate(CALLS)}
    for source, _, target, _ in edges:
        assert position[source] < position[target]
    # Between two pauses exactly one node started.
    started_between = 0
    for event in run.history:
        if event.kind == "node_started":
            started_between += 1
        elif event.kind == "paused":
            assert started_between <= 1
            started_between = 0


def test_breakpoint_pauses_with_inputs_and_edited_inputs_flow_downstream() -> None:
    nodes = [
        fake("a"),
        fake("b", inputs=["x"]),
        fake("c", inputs=["x"]),
        node("out", "io.output", name="result"),
    ]
    edges = [("a", "out", "b", "x"), ("b", "out", "c", "x"), ("c", "out", "out", "value")]
    run = make(nodes, edges).run(breakpoints={"b"})
    seen: dict[str, Any] = {}

    async def main() -> RunResult:
        run.start()
        async for event in run.events():
            if event.kind == "paused":
                seen["event"] = event
                await asyncio.sleep(0.05)
                assert CALLS == ["a"]  # b has not run
                assert run.held_at == "b" and run.held_inputs() == {"x": "a()"}
                run.continue_({"x": "edited"})
        return await run

    result = asyncio.run(main())
    paused = seen["event"]
    assert paused.reason == "breakpoint" and paused.node_id == "b"
    assert paused.inputs == {"x": "a()"}
    assert result.nodes["b"].inputs == {"x": "edited"}
    assert result.outputs == {"result": "c(b(edited))"}
    (resumed,) = kinds(run, "resumed")
    assert resumed.replaced == ("x",)
    assert CALLS == ["a", "b", "c"]


def test_breakpoint_rejects_an_unknown_port_and_keeps_holding() -> None:
    run = make([fake("a"), fake("b", inputs=["x"])], [("a", "out", "b", "x")]).run(breakpoints=["b"])

    async def main() -> RunResult:
        run.start()
        async for event in run.events():
            if event.kind == "paused":
                with pytest.raises(ValueError, match="no input 'nope'"):
                    run.continue_({"nope": 1})
                assert run.held_at == "b"
                run.resume()
        return await run

    assert asyncio.run(main()).ok and CALLS == ["a", "b"]


def test_step_at_a_breakpoint_runs_only_that_node() -> None:
    nodes = [fake("a"), fake("b", inputs=["x"]), fake("c", inputs=["x"])]
    run = make(nodes, [("a", "out", "b", "x"), ("b", "out", "c", "x")]).run(breakpoints={"b"})
    reasons = []

    async def main() -> RunResult:
        run.start()
        async for event in run.events():
            if event.kind == "paused":
                reasons.append((event.reason, event.node_id, list(CALLS)))
                if event.reason == "breakpoint":
                    run.step()
                else:
                    run.resume()
        return await run

    assert asyncio.run(main()).ok
    assert reasons == [("breakpoint", "b", ["a"]), ("pause", "c", ["a", "b"])]


# --- partial runs -------------------------------------------------------------------------------


def _partial_graph():
    nodes = [
        fake("a"),
        fake("b", inputs=["x"]),
        fake("c", inputs=["x", "y"]),
        fake("d", inputs=["x"]),
        fake("z"),
        node("out", "io.output", name="c"),
    ]
    edges = [
        ("a", "out", "b", "x"),
        ("b", "out", "c", "x"),
        ("z", "out", "c", "y"),
        ("a", "out", "d", "x"),
        ("c", "out", "out", "value"),
    ]
    return nodes, edges


def test_run_to_runs_only_the_node_and_its_ancestors() -> None:
    executor = make(*_partial_graph())
    run = executor.run_to("b")
    result = go(run)
    assert CALLS == ["a", "b"]
    assert set(result.nodes) == {"a", "b"}
    assert result.outputs == {} and result.missing_outputs == {}
    assert kinds(run, "run_started")[0].nodes == ("a", "b")


def test_run_from_reruns_the_node_and_its_downstream_reusing_upstream_results() -> None:
    executor = make(*_partial_graph())
    first = go(executor.run())
    assert sorted(CALLS) == ["a", "b", "c", "d", "z"]
    CALLS.clear()

    run = executor.run_from("b", first)
    result = go(run)
    assert CALLS == ["b", "c"]
    assert result.outputs == {"c": "c(b(a()),z())"}
    reused = {e.node_id for e in kinds(run, "node_finished") if e.reused}
    assert reused == {"a", "z"}
    assert result.nodes["a"].reused and not result.nodes["b"].reused


def test_run_from_runs_needed_upstream_nodes_that_have_no_previous_result() -> None:
    executor = make(*_partial_graph())
    first = go(executor.run_to("b"))  # z never ran
    CALLS.clear()
    result = go(executor.run_from("c", first))
    assert sorted(CALLS) == ["c", "z"]
    assert result.outputs == {"c": "c(b(a()),z())"}


def test_run_to_unknown_node() -> None:
    with pytest.raises(ValueError, match="no node 'ghost'"):
        make(*_partial_graph()).run_to("ghost")


# --- events and context -------------------------------------------------------------------------


def test_events_are_typed_ordered_and_json_serialisable() -> None:
    nodes = [
        fake("a", chunks=["Hel", "lo"], tokens=12, cost=0.5, log="thinking"),
        fake("b", inputs=["x"], chunks=["x", "y"], chunks_in_thread=True),
        fake("c", inputs=["x"], value_kind="set"),
    ]
    run = make(nodes, [("a", "out", "b", "x"), ("b", "out", "c", "x")]).run()
    go(run)
    assert run.history[0].kind == "run_started" and run.history[-1].kind == "run_finished"
    order = [(e.kind, e.node_id) for e in run.history if e.node_id == "a"]
    assert order == [
        ("node_queued", "a"),
        ("node_started", "a"),
        ("node_log", "a"),
        ("chunk", "a"),
        ("chunk", "a"),
        ("node_finished", "a"),
    ]
    assert [e.text for e in kinds(run, "chunk") if e.node_id == "b"] == ["x", "y"]
    b_kinds = [e.kind for e in run.history if e.node_id == "b"]
    assert b_kinds.index("node_finished") > max(i for i, k in enumerate(b_kinds) if k == "chunk")
    finished = {e.node_id: e for e in kinds(run, "node_finished")}
    assert finished["a"].input_tokens == 12 and finished["a"].cost_usd == 0.5 and not finished["a"].cached
    assert run.history[-1].input_tokens == 12 and run.history[-1].cost_usd == 0.5
    for event in run.history:
        data = event.to_dict()
        json.dumps(data)  # JSON-ready, including the set the last node produced
        again = ev.event_from_dict(json.loads(json.dumps(data)))
        assert type(again) is type(event) and again.to_dict() == data
        assert event.run_id == run.run_id and event.timestamp > 0


def test_secrets_never_appear_in_events(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "hunter2-very-secret-value"
    monkeypatch.setenv("SOME_SERVICE_TOKEN", secret)
    nodes = [
        fake("a", log=f"using {secret}"),
        fake("b", fail=True, fail_message=f"rejected {secret} and sk-abcdefghijkl"),
    ]
    run = make(nodes, []).run()
    result = go(run)
    text = json.dumps([e.to_dict() for e in run.history])
    assert secret not in text and "sk-abcdefghijkl" not in text
    assert "***" in result.nodes["b"].error.message


def test_context_is_filled_for_each_node(tmp_path) -> None:
    seen: dict[str, RunContext] = {}

    class Spy(fake_nodes.FakeNode):
        async def run(self, inputs, ctx):
            seen[ctx.node_id] = ctx
            return await super().run(inputs, ctx)

    registry = fake_registry()
    registry._types["fake.node"] = Spy  # only this test's registry
    analysis = analyze_workflow(workflow([fake("a")], []), registry)
    settings = Settings()
    executor = Executor(analysis, settings=settings, workflow_path=tmp_path / "flow.json")
    go(executor.run({}, restricted=True))
    ctx = seen["a"]
    assert ctx.workflow_dir == tmp_path.resolve()
    assert ctx.restricted is True and ctx.settings is settings
    assert not ctx.cancel_event.is_set()


def test_workflow_inputs_reach_io_input_and_unknown_names_are_refused() -> None:
    nodes = [
        node("q", "io.input", name="question"),
        fake("a", inputs=["x"]),
        node("o", "io.output", name="answer"),
    ]
    executor = make(nodes, [("q", "value", "a", "x"), ("a", "out", "o", "value")])
    assert go(executor.run({"question": "why"})).outputs == {"answer": "a(why)"}
    with pytest.raises(UnknownInputError) as info:
        executor.run({"questoin": "why"})
    assert "questoin" in str(info.value) and "question" in str(info.value)


def test_a_failing_subscriber_does_not_break_the_run() -> None:
    run = make([fake("a")], []).run()

    def broken(_event: ev.Event) -> None:
        raise RuntimeError("observer bug")

    run.subscribe(broken)
    assert go(run).ok


def test_an_invalid_workflow_is_refused() -> None:
    bad = analyze_workflow(workflow([fake("a", inputs=["x"])], []), fake_registry())
    with pytest.raises(WorkflowError):
        Executor(bad, settings=Settings())
