"""Executor overhead: microseconds per no-op node, against bare asyncio tasks.

    python -m benchmarks.bench_executor [--quick] [--repeat N]

For 1k and 10k nodes in three shapes — a chain, a wide fan-out (one source feeding every other
node) and a random DAG (each node fed by 1–3 earlier ones, fixed seed) — it times:

* `analyze`   : `graph.analyze` (validation and the networkx view), per node;
* `executor`  : `Executor(...)` plus one full run with every event delivered, per node;
* `asyncio`   : the floor — one bare task per node awaiting its predecessors' tasks;

each the median of `--repeat` rounds after a warm-up, executor and asyncio interleaved. No cache,
no run store, default concurrency limits. Nothing is asserted. This is P2 of the suite
(`python -m benchmarks --only P2`; figures in benchmarks/README.md): goal executor/asyncio ≤ 3×.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from collections.abc import Callable
from typing import Any

from pydantic import Field

from app.core.executor import Executor
from app.core.graph import GraphAnalysis, analyze
from app.core.model import Edge, Node, Workflow
from app.core.registry import Registry
from app.core.sdk import NodeConfig, NodeType, Port, RunContext
from app.core.settings import Settings
from benchmarks.common import Row, at_most, median, paired, ratio, say

ID = "P2"
TITLE = "Executor overhead per no-op node vs bare asyncio tasks"


class NoOpConfig(NodeConfig):
    inputs: int = Field(default=0, ge=0)


class NoOp(NodeType[NoOpConfig]):
    type_id = "bench.noop"
    title = "No-op"
    category = "Benchmark"
    config_model = NoOpConfig
    outputs = (Port("out"),)
    cacheable = False

    def input_ports(self) -> list[Port]:
        return [Port(f"in{i}") for i in range(self.config.inputs)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"out": None}


def _registry() -> Registry:
    registry = Registry()
    registry.register(NoOp, origin="benchmarks")
    return registry


def chain(n: int) -> list[list[int]]:
    return [[]] + [[i - 1] for i in range(1, n)]


def wide(n: int) -> list[list[int]]:
    return [[]] + [[0] for _ in range(1, n)]


def random_dag(n: int, seed: int = 11) -> list[list[int]]:
    rng = random.Random(seed)
    return [[]] + [sorted(rng.sample(range(i), min(i, rng.randint(1, 3)))) for i in range(1, n)]


SHAPES: dict[str, Callable[[int], list[list[int]]]] = {"chain": chain, "wide": wide, "random": random_dag}


def build(preds: list[list[int]]) -> Workflow:
    nodes = [Node(id=f"n{i}", type="bench.noop", config={"inputs": len(p)}) for i, p in enumerate(preds)]
    edges = [
        Edge(source=f"n{src}", source_port="out", target=f"n{i}", target_port=f"in{k}")
        for i, p in enumerate(preds)
        for k, src in enumerate(p)
    ]
    return Workflow(name="bench", nodes=nodes, edges=edges)


async def bare_asyncio(preds: list[list[int]]) -> None:
    tasks: list[asyncio.Task[None]] = []

    async def node(before: list[asyncio.Task[None]]) -> None:
        for task in before:
            await task

    for p in preds:
        tasks.append(asyncio.ensure_future(node([tasks[j] for j in p])))
    await asyncio.gather(*tasks)


def measure(preds: list[list[int]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median µs per node of `analyze`, `executor` (construction + one run, events on) and bare
    `asyncio`, after `warmup` rounds; executor and asyncio are interleaved round by round."""
    registry = _registry()
    settings = Settings()
    workflow = build(preds)
    n = len(preds)
    analyses: list[GraphAnalysis] = []
    events = 0

    def count(_event: Any) -> None:
        nonlocal events
        events += 1

    def time_analyze() -> float:
        t0 = time.perf_counter()
        analysis = analyze(workflow, registry)
        elapsed = time.perf_counter() - t0
        assert analysis.ok, analysis.problems[:3]
        analyses[:] = [analysis]
        return elapsed

    async def run_once(analysis: GraphAnalysis) -> None:
        executor = Executor(analysis, settings=settings)
        run = executor.run()
        run.subscribe(count)
        result = await run
        assert result.ok

    def time_executor() -> float:
        analysis = analyses[0]
        gc.collect()
        t0 = time.perf_counter()
        asyncio.run(run_once(analysis))
        return time.perf_counter() - t0

    def time_asyncio() -> float:
        gc.collect()
        t0 = time.perf_counter()
        asyncio.run(bare_asyncio(preds))
        return time.perf_counter() - t0

    time_analyze()
    figures = paired(
        {"analyze": time_analyze, "executor": time_executor, "asyncio": time_asyncio},
        repeats=repeats,
        warmup=warmup,
    )
    return {key: median(values) / n * 1e6 for key, values in figures.items()}


def run(quick: bool) -> list[Row]:
    sizes = [1_000] if quick else [1_000, 10_000]
    rows = []
    for n in sizes:
        for name, shape in SHAPES.items():
            repeats = 1 if quick else (7 if n <= 1_000 else 3)
            figures = measure(shape(n), repeats)
            executor, floor = figures["executor"], figures["asyncio"]
            say(f"P2 {name} {n}: executor {executor:.1f} µs/node, asyncio {floor:.1f} µs/node")
            rows.append(
                Row(
                    ID,
                    f"{name} {n:,} no-op nodes: executor µs/node",
                    executor,
                    "µs",
                    floor,
                    "bare asyncio tasks",
                    ratio(executor, floor),
                    "≤ 3×",
                    at_most(ratio(executor, floor), 3.0),
                    f"Executor(...) + one run, events on; graph.analyze adds {figures['analyze']:.1f} µs/node",
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k nodes only, one repetition")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (median is kept; default 5)")
    args = parser.parse_args(argv)
    sizes = [1_000] if args.quick else [1_000, 10_000]
    repeat = args.repeat or (1 if args.quick else 5)

    print(
        f"{'shape':<8} {'nodes':>7} {'analyze µs/node':>16} {'executor µs/node':>17} "
        f"{'asyncio µs/node':>16} {'executor/asyncio':>17}"
    )
    for n in sizes:
        for name, shape in SHAPES.items():
            figures = measure(shape(n), repeat)
            ratio_ = figures["executor"] / figures["asyncio"] if figures["asyncio"] else float("nan")
            print(
                f"{name:<8} {n:>7} {figures['analyze']:>16.1f} {figures['executor']:>17.1f} "
                f"{figures['asyncio']:>16.1f} {ratio_:>16.1f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
