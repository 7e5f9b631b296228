"""P8 — memory growth over 2,000 consecutive runs of a small workflow.

    python -m benchmarks --only P8            (or: python -m benchmarks.bench_memory)

The workflow: `io.input → prompt.template → model.chat → io.output`, the model being the fake LLM
server (its own process; streamed answers). Each run is what the app does when Run is pressed:
a new `Executor` on the analysed workflow, with the result cache and the run history (one of
each for the whole session, in temporary folders) and a subscriber taking every event; every run
saves its record. Every fourth run has a new input, so the model is called and the cache written;
the others repeat the last input and are answered from the cache — as when someone re-runs a
workflow, changing an input now and then. (Every run calling the model would take ~70 ms a run
here, mostly building an SSL context per call — see the README — and the suite must stay under
10 minutes; `--every-call` does that.) All runs share one event loop, as they do in the app.

After 200 warm-up runs, the resident set size (RSS) is read after a full garbage collection every
250 runs; the figure is the least-squares slope through those readings, in MB per 1,000 runs
(less noisy than the difference of the two ends, which is in the note).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Row, fake_llm_server, isolate_user_dirs, print_table, rss_bytes, say

ID = "P8"
TITLE = "Memory growth over consecutive runs"

MB = 1024 * 1024


def build_workflow(base_url: str) -> Any:
    from app.core.model import Edge, Node, Workflow

    return Workflow(
        name="P8 small",
        nodes=[
            Node(id="q", type="io.input", config={"name": "question"}),
            Node(id="ask", type="prompt.template", config={"template": "Answer briefly: {{question}}"}),
            Node(
                id="llm",
                type="model.chat",
                config={"provider": "openai", "model": "fake-small", "base_url": base_url},
            ),
            Node(id="out", type="io.output", config={"name": "answer"}),
        ],
        edges=[
            Edge(source="q", source_port="value", target="ask", target_port="question"),
            Edge(source="ask", source_port="text", target="llm", target_port="prompt"),
            Edge(source="llm", source_port="text", target="out", target_port="value"),
        ],
    )


def slope(points: list[tuple[int, int]]) -> float:
    """Least-squares slope of (runs, bytes), in bytes per run."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def run(
    quick: bool, sqlite_cache_kb: int | None = None, total: int | None = None, new_input_every: int = 4
) -> list[Row]:
    from app.core.cache import Cache
    from app.core.executor import Executor
    from app.core.graph import require_valid
    from app.core.registry import default_registry
    from app.core.runs import RunStore
    from app.core.settings import Settings

    warmup, runs, every = (4, 20, 5) if quick else (200, 2000, 250)
    total = total or runs
    settings = Settings()
    with isolate_user_dirs(), fake_llm_server() as server, tempfile.TemporaryDirectory() as folder:
        analysis = require_valid(build_workflow(server.base_url_openai), default_registry())
        cache = Cache(Path(folder) / "cache.sqlite3")
        store = RunStore(Path(folder) / "runs.sqlite3")
        if sqlite_cache_kb is not None:  # the diagnostic: cap SQLite's page cache per connection
            for db in (cache._db, store._db):
                db.execute(f"PRAGMA cache_size = -{int(sqlite_cache_kb)}")
        seen = 0

        def panel(_event: Any) -> None:
            nonlocal seen
            seen += 1

        async def one(index: int) -> None:
            run = Executor(analysis, settings=settings, cache=cache, store=store).run(
                {"question": f"question {index // new_input_every}"}
            )
            run.subscribe(panel)
            result = await run
            if not result.ok:
                raise RuntimeError(f"run {index} failed: {result.failures}")

        async def main() -> tuple[list[tuple[int, int]], float]:
            for index in range(warmup):
                await one(-1 - index)
            points = []
            start = time.perf_counter()
            for index in range(total + 1):
                if index % every == 0:
                    gc.collect()
                    points.append((index, rss_bytes()))
                    say(f"P8: after {index} runs RSS {points[-1][1] / MB:.1f} MB")
                if index < total:
                    await one(index)
            return points, time.perf_counter() - start

        points, elapsed = asyncio.run(main())
        cache.close()
        store.close()
    growth = slope(points) * 1000 / MB
    ends = (points[-1][1] - points[0][1]) / MB
    return [
        Row(
            ID,
            f"RSS growth over {total:,} runs (after {warmup} warm-up runs)"
            + (f", SQLite page cache capped at {sqlite_cache_kb} KB" if sqlite_cache_kb is not None else ""),
            growth,
            "MB/1k runs",
            None,
            "",
            None,
            "< 1 MB per 1,000 runs",
            growth < 1.0,
            f"RSS {points[0][1] / MB:.1f} → {points[-1][1] / MB:.1f} MB ({ends:+.2f} MB end to end); "
            f"{elapsed / total * 1000:.1f} ms per run; a model call every {new_input_every} runs; {seen} events",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=None, help="runs measured (default 2000)")
    parser.add_argument("--every-call", action="store_true", help="a new input (a model call) every run")
    parser.add_argument(
        "--sqlite-cache-kb",
        type=int,
        default=None,
        help="diagnostic: cap the page cache of the cache's and the run history's SQLite connections",
    )
    args = parser.parse_args(argv)
    print_table(run(args.quick, args.sqlite_cache_kb, args.runs, 1 if args.every_call else 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
