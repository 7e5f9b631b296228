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

The server: by default this module's own fake (`serve`, below; `--fake threaded` uses the suite's
`tests.fakes.fake_llm` instead). It answers exactly like the test fake - same reply text, same
OpenAI stream (a role chunk, 4-character content chunks, the finish chunk, usage, ``[DONE]``),
each event written to the socket on its own, the latency waited before the answer - but on one
asyncio loop instead of a thread per connection, so the client receives the same bytes in the
same pieces. Why: the threaded fake spends ~1 ms of CPU per answer under its GIL, one answer
after another - 50-80 ms of server CPU for 64 answers due at once against 20-30 ms for the
asyncio fake (from /proc, with a raw-socket client that costs next to nothing; 64 simultaneous
calls of 100 ms then ended after 143-158 ms against 125-153 ms, at load average 3.5 on 2 cores).
That is time the critical path (one call alone) never pays; it is not the app's.

Also: a deliberately layered (barrier) scheduler — nodes grouped by depth, each layer started
only when the one before it has finished — running the very same node instances; on the skewed
diamond it takes 17L where ours takes 10L (run on that shape only, to keep the suite short).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from benchmarks.common import (
    FakeServer,
    Row,
    at_least,
    at_most,
    fake_llm_server,
    isolate_user_dirs,
    median,
    paired_async,
    ratio,
    say,
    server_process,
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


# -- the fake server -------------------------------------------------------------------------------
def _reply(body: dict[str, Any]) -> tuple[str, str, dict[str, int]]:
    """(prompt, text, usage) exactly as `tests.fakes.fake_llm` answers."""
    model = str(body.get("model") or "")
    users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    prompt = users[-1].get("content") if users else ""
    prompt = prompt if isinstance(prompt, str) else ""
    text = f"<{model}> {prompt.upper()}"
    usage = {
        "prompt_tokens": len(prompt.split()) + 1,
        "completion_tokens": len(text.split()),
        "total_tokens": len(prompt.split()) + 1 + len(text.split()),
    }
    return prompt, text, usage


class _FakeProtocol(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of the fake: POST .../chat/completions, streamed or not."""

    def __init__(self, latency_ms: int, chunk_chars: int) -> None:
        self.latency_ms, self.chunk_chars = latency_ms, chunk_chars
        self.buffer = b""
        self.transport: Any = None
        self.pending: Any = None  # the timer of the answer being waited for

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pending is not None:
            self.pending.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.pending is None:
            self._next()

    def _next(self) -> None:
        import json
        import re

        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        lines = self.buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        size = int(headers.get("content-length") or 0)
        if len(self.buffer) < head_end + 4 + size:
            return
        raw = self.buffer[head_end + 4 : head_end + 4 + size]
        self.buffer = self.buffer[head_end + 4 + size :]
        method, path = [*lines[0].split(" "), "", ""][:2]
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if method != "POST" or not path.endswith("/chat/completions") or not isinstance(body, dict):
            self._send(404, "application/json", b'{"error": {"message": "not here"}}')
            return self._next()
        prompt, text, usage = _reply(body)
        sleep = re.search(r"#sleep=(\d+)", prompt)
        delay = (int(sleep.group(1)) if sleep else self.latency_ms) / 1000
        loop = asyncio.get_running_loop()
        self.pending = loop.call_later(delay, self._answer, body, text, usage)

    def _send(self, status: int, ctype: str, data: bytes) -> None:
        self.transport.write(
            f"HTTP/1.1 {status} OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )

    def _answer(self, body: dict[str, Any], text: str, usage: dict[str, int]) -> None:
        import json

        self.pending = None
        if self.transport.is_closing():
            return
        model, created = body["model"], int(time.time())
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            answer = {
                **base,
                "object": "chat.completion",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            }
            self._send(200, "application/json", json.dumps(answer).encode())
            return self._next()
        write = self.transport.write
        write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        n = max(1, self.chunk_chars)
        events = [
            {
                **base,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            }
        ]
        events += [
            {**base, "choices": [{"index": 0, "delta": {"content": text[i : i + n]}, "finish_reason": None}]}
            for i in range(0, len(text), n)
        ]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        for data in [*(json.dumps(e) for e in events), "[DONE]"]:
            out = f"data: {data}\n\n".encode()
            write(f"{len(out):x}\r\n".encode() + out + b"\r\n")  # one event, one write, as the test fake
        write(b"0\r\n\r\n")
        self._next()


def serve(latency_ms: int, chunk_chars: int = 4) -> None:
    """Run the fake on 127.0.0.1 (a free port, printed as ``PORT n``) until killed."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _FakeProtocol(latency_ms, chunk_chars), "127.0.0.1", 0, backlog=512
        )
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()

    asyncio.run(main())


@contextlib.contextmanager
def fake_server(kind: str, latency_ms: int) -> Iterator[Any]:
    """`kind` "async": this module's fake in its own process; "threaded": the suite's test fake."""
    if kind == "threaded":
        with fake_llm_server(latency_ms=latency_ms) as server:
            yield server
        return
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_scheduling",
        "--serve",
        "--latency-ms",
        str(latency_ms),
    ]
    with server_process(command) as (port, process):
        yield FakeServer(port, process)  # type: ignore[arg-type]


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
def run(quick: bool, fake: str = "async") -> list[Row]:
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
    with isolate_user_dirs(), fake_server(fake, latency) as server:
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
                        f"(latency {latency} ms); {fake} fake server",
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
    parser.add_argument(
        "--fake",
        choices=("async", "threaded"),
        default="async",
        help="the fake LLM server: this module's asyncio one (default) or tests.fakes.fake_llm",
    )
    parser.add_argument("--serve", action="store_true", help="run the asyncio fake server (prints PORT n)")
    parser.add_argument("--latency-ms", type=int, default=100, help="with --serve: the default latency")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.latency_ms)
        return 0
    from benchmarks.common import print_table

    print_table(run(args.quick, args.fake))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
