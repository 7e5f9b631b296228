"""P1 — scheduling: the wall time of DAGs of model calls against their critical path.

    python -m benchmarks --only P1            (or: python -m benchmarks.bench_scheduling [--quick])

Every node of these graphs is a real `model.chat` call to the fake LLM server (its own process on
127.0.0.1, streamed answers), run by the real `Executor` with every event delivered. Each call
`i` is fed by a `prompt.template` holding ``call i #sleep=MS`` (the fake answers after MS ms) and
receives its upstream calls' answers on its `system` port (through a joining `prompt.template`
when there are several), so answers stay short and every edge is a real dependency.

Shapes (L = the server's fixed latency, 100 ms; 20 ms with --quick):
* wide      1 → 64 → 1 calls of L;
* deep      a chain of 20 calls of L;
* skewed    a diamond: a source, then one slow call of 8L beside a chain of 8 calls of L, then a
            sink — both branches take 8L, but no layer does;
* random    200 calls, each fed by 1–3 of the 30 calls before it (fixed seed), latencies L/2, L
            or 2L.

Control: the critical path — over every path through the graph, the sum of its calls' times,
where a call of latency MS takes what one call alone takes (MS plus the measured per-call cost
of the HTTP client, the request and the stream, `solo`), measured in every round beside the
graph (the median of three single calls). Ratio = wall /
critical path: 1.0 is a perfect scheduler with unlimited parallelism. The concurrency limits are
raised to 256 so the critical path is reachable at all.

Also: a deliberately layered (barrier) scheduler — nodes grouped by depth, each layer started
only when the one before it has finished — running the very same node instances; on the skewed
diamond it takes 17L where ours takes 10L (run on that shape only, to keep the suite short).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.common import (
    Row,
    at_least,
    at_most,
    fake_llm_server,
    isolate_user_dirs,
    median,
    paired_async,
    ratio,
    say,
)

ID = "P1"
TITLE = "Scheduling: wall time of model-call DAGs vs their critical path"

MODEL = "fake-small"


@dataclass
class Call:
    latency_ms: int
    preds: list[int]


# -- shapes ----------------------------------------------------------------------------------------
def wide(width: int, latency: int) -> list[Call]:
    return [
        Call(latency, []),
        *(Call(latency, [0]) for _ in range(width)),
        Call(latency, list(range(1, width + 1))),
    ]


def deep(length: int, latency: int) -> list[Call]:
    return [Call(latency, [i - 1] if i else []) for i in range(length)]


def skewed_diamond(branch: int, latency: int) -> list[Call]:
    """source → {one call of branch×L, a chain of `branch` calls of L} → sink."""
    calls = [Call(latency, []), Call(branch * latency, [0])]
    for k in range(branch):
        calls.append(Call(latency, [0] if k == 0 else [len(calls) - 1]))
    calls.append(Call(latency, [1, len(calls) - 1]))
    return calls


def random_dag(count: int, latency: int, seed: int = 11, window: int = 30) -> list[Call]:
    rng = random.Random(seed)
    calls = []
    for i in range(count):
        ms = rng.choice([latency // 2, latency, 2 * latency])
        if i < 3:
            calls.append(Call(ms, []))
            continue
        earlier = range(max(0, i - window), i)
        calls.append(Call(ms, sorted(rng.sample(earlier, min(len(earlier), rng.randint(1, 3))))))
    return calls


def critical_path(calls: list[Call], cost: Callable[[int], float]) -> tuple[float, int]:
    """(time of the slowest path, number of calls on it); `cost(ms)` is one call's time."""
    finish: list[float] = []
    length: list[int] = []
    for call in calls:
        before = max(call.preds, key=lambda p: finish[p], default=None)
        start = finish[before] if before is not None else 0.0
        finish.append(start + cost(call.latency_ms))
        length.append((length[before] if before is not None else 0) + 1)
    last = max(range(len(calls)), key=finish.__getitem__)
    return finish[last], length[last]


def layered_depth(calls: list[Call]) -> float:
    """The time a barrier scheduler needs, in units of latency (for the docstring's claims)."""
    depth: list[int] = []
    for call in calls:
        depth.append(max((depth[p] + 1 for p in call.preds), default=0))
    return sum(max(c.latency_ms for c, d in zip(calls, depth, strict=True) if d == k) for k in set(depth))


# -- the workflow ----------------------------------------------------------------------------------
def build_workflow(calls: list[Call], base_url: str, name: str = "bench") -> Any:
    from app.core.model import Edge, Node, Workflow

    nodes: list[Node] = []
    edges: list[Edge] = []
    config = {"provider": "openai", "model": MODEL, "base_url": base_url}
    for i, call in enumerate(calls):
        nodes.append(
            Node(
                id=f"p{i}", type="prompt.template", config={"template": f"call {i} #sleep={call.latency_ms}"}
            )
        )
        edges.append(Edge(source=f"p{i}", source_port="text", target=f"m{i}", target_port="prompt"))
        if len(call.preds) == 1:
            edges.append(
                Edge(source=f"m{call.preds[0]}", source_port="text", target=f"m{i}", target_port="system")
            )
        elif call.preds:
            template = " ".join(f"{{{{u{k}}}}}" for k in range(len(call.preds)))
            nodes.append(Node(id=f"j{i}", type="prompt.template", config={"template": template}))
            for k, pred in enumerate(call.preds):
                edges.append(Edge(source=f"m{pred}", source_port="text", target=f"j{i}", target_port=f"u{k}"))
            edges.append(Edge(source=f"j{i}", source_port="text", target=f"m{i}", target_port="system"))
        nodes.append(Node(id=f"m{i}", type="model.chat", config=config))
    return Workflow(name=name, nodes=nodes, edges=edges)


def bench_settings() -> Any:
    from app.core.settings import ProviderSettings, Settings

    return Settings(max_concurrency=256, providers={"openai": ProviderSettings(concurrency=256)})


# -- the schedulers --------------------------------------------------------------------------------
async def run_ours(analysis: Any, settings: Any) -> float:
    from app.core.executor import Executor

    events = 0

    def count(_event: Any) -> None:
        nonlocal events
        events += 1

    start = time.perf_counter()
    run = Executor(analysis, settings=settings).run()
    run.subscribe(count)
    result = await run
    elapsed = time.perf_counter() - start
    if not result.ok:
        raise RuntimeError(f"the run failed: {result.failures[:3]}")
    return elapsed


async def run_layered(analysis: Any, settings: Any) -> float:
    """A barrier scheduler: nodes grouped by their depth in the graph; a layer starts when every
    node of the layer before it has finished. Same node instances, same input conversion."""
    from app.core.sdk import RunContext
    from app.core.values import coerce

    order = analysis.topological_order()
    incoming: dict[str, list[Any]] = {node_id: [] for node_id in order}
    for edge in analysis.workflow.edges:
        incoming[edge.target].append(edge)
    depth: dict[str, int] = {}
    for node_id in order:
        depth[node_id] = max((depth[e.source] + 1 for e in incoming[node_id]), default=0)
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for node_id in order:
        layers[depth[node_id]].append(node_id)
    outputs: dict[str, dict[str, Any]] = {}

    async def one(node_id: str) -> None:
        resolved = analysis.nodes[node_id]
        inputs = {
            e.target_port: coerce(outputs[e.source][e.source_port], resolved.inputs[e.target_port].type)
            for e in incoming[node_id]
        }
        ctx = RunContext(node_id=node_id, settings=settings, on_chunk=lambda _text: None)
        outputs[node_id] = await resolved.instance.run(inputs, ctx)

    start = time.perf_counter()
    for layer in layers:
        await asyncio.gather(*(one(node_id) for node_id in layer))
    return time.perf_counter() - start


async def run_solo(analysis: Any, settings: Any) -> float:
    """One model call alone: the `m0` node of a one-call workflow, run directly."""
    from app.core.sdk import RunContext

    resolved = analysis.nodes["m0"]
    prompt = analysis.workflow.nodes[0].config["template"]
    start = time.perf_counter()
    await resolved.instance.run({"prompt": prompt}, RunContext(node_id="m0", settings=settings))
    return time.perf_counter() - start


# -- the benchmark ---------------------------------------------------------------------------------
def run(quick: bool) -> list[Row]:
    from app.core.graph import require_valid
    from app.core.registry import default_registry

    latency = 20 if quick else 100
    repeats, warmup = (1, 0) if quick else (5, 1)
    width, length, branch, count = (6, 3, 2, 10) if quick else (64, 20, 8, 200)
    shapes: list[tuple[str, str, list[Call], float, bool]] = [
        # (key, label, calls, goal for wall / critical path, also run the layered scheduler)
        ("wide", f"wide 1→{width}→1", wide(width, latency), 1.05, False),
        ("deep", f"deep chain of {length}", deep(length, latency), 1.02, False),
        ("skewed", f"skewed diamond ({branch}L ‖ {branch}×L)", skewed_diamond(branch, latency), 1.02, True),
        ("random", f"random {count}-call DAG", random_dag(count, latency), 1.02, False),
    ]
    rows: list[Row] = []
    registry = default_registry()
    settings = bench_settings()
    with isolate_user_dirs(), fake_llm_server(latency_ms=latency) as server:
        solo_analysis = require_valid(build_workflow([Call(latency, [])], server.base_url_openai), registry)

        async def solo_call() -> float:
            """One call alone (the median of three), measured in every round beside the graph."""
            return median([await run_solo(solo_analysis, settings) for _ in range(3)])

        async def main() -> None:
            await solo_call()  # connections, imports
            for key, label, calls, goal, layered in shapes:
                analysis = require_valid(build_workflow(calls, server.base_url_openai, key), registry)
                measures: dict[str, Callable[[], Any]] = {
                    "ours": lambda a=analysis: run_ours(a, settings),
                    "solo": solo_call,
                }
                if layered:
                    measures["layered"] = lambda a=analysis: run_layered(a, settings)
                # the 200-call DAG takes ~10 s a round: fewer rounds keep the suite under 10 minutes
                rounds = min(repeats, 3) if len(calls) > 100 else repeats
                figures = await paired_async(measures, repeats=rounds, warmup=warmup)
                solo = median(figures["solo"])
                per_call = max(0.0, solo - latency / 1000)
                path, hops = critical_path(calls, lambda ms, c=per_call: ms / 1000 + c)
                ours = median(figures["ours"])
                say(
                    f"P1 {label}: ours {ours:.3f} s, critical path {path:.3f} s ({hops} calls; "
                    f"one call of {latency} ms alone {solo * 1000:.1f} ms)"
                )
                rows.append(
                    Row(
                        ID,
                        f"{label}: wall / critical path",
                        ours,
                        "s",
                        path,
                        "critical path",
                        ratio(ours, path),
                        f"≤ {goal:.2f}",
                        at_most(ratio(ours, path), goal),
                        f"{len(calls)} calls, {hops} on the critical path; one call alone {solo * 1000:.0f} ms "
                        f"(latency {latency} ms)",
                    )
                )
                if layered:
                    barrier = median(figures["layered"])
                    say(f"P1 {label}: layered {barrier:.3f} s")
                    rows.append(
                        Row(
                            ID,
                            f"{label}: layered scheduler / ours",
                            barrier,
                            "s",
                            ours,
                            "ours",
                            ratio(barrier, ours),
                            "≥ 1.5" if key == "skewed" else "",
                            at_least(ratio(barrier, ours), 1.5) if key == "skewed" else None,
                            f"a barrier scheduler waits {layered_depth(calls) / 1000:.2f} s of latency alone",
                        )
                    )

        asyncio.run(main())
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from benchmarks.common import print_table

    print_table(run(args.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
