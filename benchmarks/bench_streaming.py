"""P6 — event-loop stalls while 8 model nodes stream at 50 tokens/s.

    python -m benchmarks --only P6            (or: python -m benchmarks.bench_streaming)

Headless: eight independent `prompt.template → model.chat → io.output` branches run by the real
`Executor` against the fake LLM server, which streams each answer in 4-character chunks (a
"token") 20 ms apart — 50 tokens/s per node, 400 chunks/s in all — while a subscriber takes every
event the way the UI's run panel would (appending the chunks per node). A ticker task in the
same event loop asks to wake every 2 ms and records how late it woke: each lateness is one
stall of the loop. Reported: the 99th percentile and the longest stall, median over the repeats
after a warm-up; the control is the same ticker on an idle loop.

Then the same workflow runs in the desktop app's main window (`bench_streaming_ui`): the stalls
of the Qt event loop while everything a user sees is painted — the goal of issue 7 is that it
never stalls more than 16 ms.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

from benchmarks.common import (
    Row,
    at_most,
    fake_llm_server,
    isolate_user_dirs,
    median,
    percentile,
    say,
)

ID = "P6"
TITLE = "Longest event-loop stall while 8 model nodes stream"

NODES = 8
TICK_S = 0.002
TOKEN_CHARS = 4
TOKEN_DELAY_MS = 20  # 50 tokens/s


BRANCH_SPACING = (300.0, 150.0)  # x between a branch's nodes, y between branches


def build_workflow(tokens: int, base_url: str) -> Any:
    from app.core.model import Edge, Node, Workflow

    nodes, edges = [], []
    # The fake answers "<fake-small> " + the prompt in capitals: pad the prompt to `tokens` chunks.
    # One branch per row, laid out as a person would (the UI part paints them; stacked on one
    # spot, every strip's repaint would also repaint the 23 nodes under it).
    for i in range(NODES):
        text = f"stream {i} " + "lorem ipsum dolor sit amet " * (tokens * TOKEN_CHARS // 27 + 1)
        text = text[: tokens * TOKEN_CHARS - len("<fake-small> ")]
        row = [0.0, i * BRANCH_SPACING[1]]
        nodes.append(Node(id=f"p{i}", type="prompt.template", config={"template": text}, position=row))
        nodes.append(Node(id=f"m{i}", type="model.chat", position=[BRANCH_SPACING[0], row[1]],
                          config={"provider": "openai", "model": "fake-small", "base_url": base_url}))  # fmt: skip
        nodes.append(
            Node(
                id=f"o{i}",
                type="io.output",
                config={"name": f"out{i}"},
                position=[2 * BRANCH_SPACING[0], row[1]],
            )
        )
        edges.append(Edge(source=f"p{i}", source_port="text", target=f"m{i}", target_port="prompt"))
        edges.append(Edge(source=f"m{i}", source_port="text", target=f"o{i}", target_port="value"))
    return Workflow(name="P6 streaming", nodes=nodes, edges=edges)


async def ticker(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        expected = loop.time() + TICK_S
        await asyncio.sleep(TICK_S)
        lags.append(max(0.0, loop.time() - expected))


async def measure_run(analysis: Any, settings: Any) -> tuple[list[float], int, float]:
    from app.core.executor import Executor

    chunks: dict[str, list[str]] = {}

    def panel(event: Any) -> None:
        if event.kind == "chunk":
            chunks.setdefault(event.node_id, []).append(event.text)

    lags: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(lags, stop))
    await asyncio.sleep(0.05)
    lags.clear()
    start = time.perf_counter()
    run = Executor(analysis, settings=settings).run()
    run.subscribe(panel)
    result = await run
    elapsed = time.perf_counter() - start
    stop.set()
    await tick
    if not result.ok:
        raise RuntimeError(f"the run failed: {result.failures[:2]}")
    return lags, sum(len(c) for c in chunks.values()), elapsed


async def measure_idle(seconds: float) -> list[float]:
    lags: list[float] = []
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(lags, stop))
    await asyncio.sleep(seconds)
    stop.set()
    await tick
    return lags


def run(quick: bool) -> list[Row]:
    from app.core.graph import require_valid
    from app.core.registry import default_registry
    from app.core.settings import Settings

    tokens = 25 if quick else 150  # 0.5 s / 3 s of streaming
    repeats, warmup = (1, 0) if quick else (5, 1)
    settings = Settings()
    with (
        isolate_user_dirs(),
        fake_llm_server(chunk_delay_ms=TOKEN_DELAY_MS, chunk_chars=TOKEN_CHARS) as server,
    ):
        analysis = require_valid(build_workflow(tokens, server.base_url_openai), default_registry())

        async def main() -> tuple[list[tuple[float, float, int, int, float]], list[float]]:
            results = []
            for index in range(warmup + repeats):
                lags, chunk_count, elapsed = await measure_run(analysis, settings)
                if index >= warmup:
                    results.append((percentile(lags, 0.99), max(lags), len(lags), chunk_count, elapsed))
            idle = await measure_idle(0.5 if quick else 3.0)
            return results, idle

        results, idle = asyncio.run(main())
    from benchmarks import bench_streaming_ui

    ui_rows = bench_streaming_ui.measure_in_fresh_process(quick)  # a freshly started app
    p99 = median([r[0] for r in results])
    longest = median([r[1] for r in results])
    idle_p99 = percentile(idle, 0.99)
    samples, chunk_count, elapsed = results[-1][2], results[-1][3], results[-1][4]
    say(
        f"P6: p99 stall {p99 * 1000:.1f} ms, longest {longest * 1000:.1f} ms "
        f"(runs: {[(round(r[0] * 1000, 1), round(r[1] * 1000, 1)) for r in results]}); idle p99 {idle_p99 * 1000:.2f} ms"
    )
    note = (
        f"{NODES} nodes × {tokens} tokens at 50/s; {chunk_count} chunk events in {elapsed:.1f} s, "
        f"{samples} ticks of {TICK_S * 1000:.0f} ms; control = the idle loop"
    )
    return [
        Row(
            ID,
            "engine: event-loop stall while streaming: p99",
            p99 * 1000,
            "ms",
            control=idle_p99 * 1000,
            control_label="idle loop",
            goal="p99 ≤ 16 ms",
            met=at_most(p99 * 1000, 16.0),
            note=note,
        ),
        Row(
            ID,
            "engine: event-loop stall while streaming: longest",
            longest * 1000,
            "ms",
            control=max(idle) * 1000,
            control_label="idle loop",
            note="median over the runs of each run's longest stall",
        ),
        *ui_rows,
    ]


if __name__ == "__main__":
    from benchmarks.common import print_table

    print_table(run("--quick" in sys.argv))
