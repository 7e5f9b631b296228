"""Executor overhead: microseconds per no-op node, against bare asyncio tasks.

    python -m benchmarks.bench_executor [--quick] [--repeat N]

For 1k and 10k nodes in three shapes — a chain, a wide fan-out (one source feeding every other
node) and a random DAG (each node fed by 1–3 earlier ones, fixed seed) — it times:

* `analyze`   : `graph.analyze` (validation and the networkx view), per node;
* `executor`  : `Executor(...)` plus one full run with every event delivered, per node;
* `asyncio`   : the floor — one bare task per node awaiting its predecessors' tasks;

and prints the best of `--repeat` runs. No cache, no run store, default concurrency limits.
Nothing is asserted: issue 11's suite gathers the figures.
"""

from __future__ import annotations

import argparse
import asyncio
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


def measure(preds: list[list[int]], repeat: int) -> dict[str, float]:
    registry = _registry()
    settings = Settings()
    workflow = build(preds)
    n = len(preds)
    best = {"analyze": float("inf"), "executor": float("inf"), "asyncio": float("inf")}
    for _ in range(repeat):
        t0 = time.perf_counter()
        analysis = analyze(workflow, registry)
        best["analyze"] = min(best["analyze"], time.perf_counter() - t0)
        assert analysis.ok, analysis.problems[:3]

        events = 0

        def count(_event: Any) -> None:
            nonlocal events
            events += 1

        async def run_once(analysis: GraphAnalysis = analysis) -> None:
            executor = Executor(analysis, settings=settings)
            run = executor.run()
            run.subscribe(count)
            result = await run
            assert result.ok

        t0 = time.perf_counter()
        asyncio.run(run_once())
        best["executor"] = min(best["executor"], time.perf_counter() - t0)

        t0 = time.perf_counter()
        asyncio.run(bare_asyncio(preds))
        best["asyncio"] = min(best["asyncio"], time.perf_counter() - t0)
    return {key: value / n * 1e6 for key, value in best.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k nodes only, one repetition")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (best is kept; default 3)")
    args = parser.parse_args(argv)
    sizes = [1_000] if args.quick else [1_000, 10_000]
    repeat = args.repeat or (1 if args.quick else 3)

    print(
        f"{'shape':<8} {'nodes':>7} {'analyze µs/node':>16} {'executor µs/node':>17} "
        f"{'asyncio µs/node':>16} {'executor/asyncio':>17}"
    )
    for n in sizes:
        for name, shape in SHAPES.items():
            figures = measure(shape(n), repeat)
            ratio = figures["executor"] / figures["asyncio"] if figures["asyncio"] else float("nan")
            print(
                f"{name:<8} {n:>7} {figures['analyze']:>16.1f} {figures['executor']:>17.1f} "
                f"{figures['asyncio']:>16.1f} {ratio:>16.1f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
