"""The executor: runs a validated workflow graph, ready-driven, on asyncio.

    executor = Executor(require_valid(workflow), workflow_path=path, cache=Cache(), store=RunStore())
    result = await executor.run({"question": "why?"})            # a RunResult
    run = executor.run(inputs, step_mode=True); run.start()      # or drive a run step by step
    async for event in run.events(): ...

Scheduling rules
----------------
* **Ready-driven, no layers.** A node is *ready* the moment every node feeding it has settled
  (succeeded, failed or been skipped); it then starts as soon as the concurrency limits and the
  pause gate allow. There is no barrier between "layers", so a run takes as long as its critical
  path, and independent branches run at the same time.
* **Limits.** At most `Settings.max_concurrency` nodes run at once (default 16), and at most
  `Settings.providers[NAME].concurrency` (default 16) of the nodes whose
  `NodeType.concurrency_group()` is ``"provider:NAME"``. Admission is done by the scheduler
  itself (counters, not tasks parked on semaphores): a node waiting for its provider never holds
  a slot another provider's node could use. Among ready nodes the one earliest in the workflow's
  topological order (file order breaks ties) starts first.
* **Inputs.** A node's inputs are read from its upstream nodes' outputs along the edges and
  converted with `values.coerce(value, port.type)`; a value an input cannot take fails the node
  (error type ``InputTypeError``, naming the port).
* **Skipping** (docs/ARCHITECTURE.md): an output a node left out of its result, or returned as
  `Skip(reason)`, is *not produced*. A *required* input fed by an output that was not produced
  — or by a node that was itself skipped — skips the node, with the reason; an *optional* input
  fed that way is left out of `inputs` and the node runs without it.
* **Failure isolation.** A failing node fails only itself; every node downstream of it (its
  whole downstream cone, whatever the ports' requiredness) is skipped with the reason
  ``upstream node 'x' failed``. Every other branch runs to the end, and the run reports every
  failure (`RunResult.failures`, the `RunFailed` event).
* **Cache** (`app.core.cache`): a node type declared `cacheable`, in a node whose `cache` flag
  is true, is first looked up by (type, version, config, inputs). A hit is reported as
  `NodeFinished(cached=True)` with the tokens and cost it saved. `use_cache=False` (``--no-cache``)
  turns reading off; results are still written.
* **Control.** `pause()` stops new nodes from starting (those in flight finish); `resume()`
  lets them start again; `step()` starts exactly one ready node while paused; step mode starts
  the run paused. A node with a breakpoint pauses the run *before* it starts; the `Paused` event
  carries its resolved inputs, and `continue_(replaced_inputs)` may replace some of them
  (edit-and-continue) — the replaced values flow downstream like any other. At a breakpoint
  `step()` runs just that node. `cancel()` cancels every running node's task (so in-flight HTTP
  requests are aborted), sets `RunContext.cancel_event` for work in threads, waits for every
  task to end, and finishes the run as cancelled. Control methods may be called from any thread.
* **Partial runs.** `run_to(node)` runs only the node and its ancestors. `run_from(node,
  previous)` re-runs the node and everything downstream of it and takes the outputs of the
  nodes feeding that part from `previous` (a `RunResult` from memory or from the run store);
  a needed upstream node without a usable previous result is run too.
* **Workflow outputs.** `RunResult.outputs` maps each `io.output` name to the value that arrived
  at its `value` port. An output that received no value (skipped, failed upstream, cancelled)
  is *not* given a placeholder value: it is listed in `RunResult.missing_outputs` with the
  reason, and the `RunFinished`/`RunFailed` events carry both.
* **Events** (`app.core.events`) are delivered in order to subscribers (called in the event
  loop's thread) and to `events()` iterators; chunks a node streams from another thread are
  handed to the loop thread first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import heapq
import logging
import secrets as _secrets
import threading
import time
import traceback as _traceback
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import networkx as nx

from app.core import events as ev
from app.core.cache import Cache, cache_key
from app.core.graph import GraphAnalysis
from app.core.problems import WorkflowError
from app.core.runs import ErrorInfo, NodeResult, RunResult, RunStore, workflow_hash
from app.core.sdk import NodeError, NodeType, Port, RunContext, Skip, Usage
from app.core.settings import Settings
from app.core.values import DataType, coerce

log = logging.getLogger("chainwright.executor")
_node_logger = logging.getLogger("chainwright.node")

Subscriber = Callable[[ev.Event], None]


class UnknownInputError(ValueError):
    """A run was given a value for an input the workflow does not have."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        listed = ", ".join(self.known) if self.known else "none (it has no io.input nodes)"
        super().__init__(f"the workflow has no input named '{name}'; its inputs are: {listed}")


class _OutputError(Exception):
    pass


class _Plan:
    """What the scheduler needs to know about one node, computed once per executor.

    Everything the plan holds besides itself is either shared with the analysis (the instance,
    the port dicts) or a tuple of strings, which the garbage collector stops tracking: a plan is
    the only tracked object per node that an executor keeps.
    """

    __slots__ = (
        "cacheable",
        "group",
        "has_cache_extra",
        "id",
        "index",
        "input_ports",
        "instance",
        "interface_name",
        "interface_role",
        "output_names",
        "predecessors",
        "sources",
        "successors",
        "title",
        "type_id",
        "version",
    )

    def __init__(
        self,
        id: str,
        index: int,
        instance: NodeType[Any],
        type_id: str,
        title: str,
        version: int,
        group: str | None,
        cacheable: bool,
        sources: tuple[tuple[str, str, str], ...],
        input_ports: Mapping[str, Port],
        successors: tuple[str, ...],
        predecessors: tuple[str, ...],
        output_names: Mapping[str, Port],
        interface_role: str | None,
        interface_name: str | None,
        has_cache_extra: bool,
    ) -> None:
        self.id = id
        self.index = index
        self.instance = instance
        self.type_id = type_id
        self.title = title
        self.version = version
        self.group = group
        self.cacheable = cacheable
        #: (target port name, source node id, source port name) of every edge into the node
        self.sources = sources
        #: the node's input ports (the analysis' own {name: Port} dict, not a copy)
        self.input_ports = input_ports
        #: distinct downstream node ids, in topological order
        self.successors = successors
        #: distinct upstream node ids
        self.predecessors = predecessors
        #: the node's output ports (the analysis' dict): `name in plan.output_names`
        self.output_names = output_names
        self.interface_role = interface_role
        self.interface_name = interface_name
        self.has_cache_extra = has_cache_extra

    @property
    def in_edges(self) -> tuple[tuple[str, str, str, Port], ...]:
        """(target port name, source node id, source port name, target port) of every edge in."""
        ports = self.input_ports
        return tuple((name, source, source_port, ports[name]) for name, source, source_port in self.sources)

    def __repr__(self) -> str:
        return f"_Plan({self.id!r}, {self.type_id!r})"


_CALLBACKS = ("on_chunk", "on_progress", "on_log", "on_usage")


class _NodeContext(RunContext):
    """The `RunContext` of one node execution.

    One is made for every node, so it is not built field by field through the dataclass
    constructor: it starts from a copy of its run's shared fields (`Run._context_fields`, taken
    from a `RunContext` the run built once, so every field has its value or default) and its four
    callbacks are methods of the context instead of four closures per node.
    """

    def __init__(self, run: Run, node_id: str, result: NodeResult | None) -> None:
        self.__dict__.update(run._context_fields)
        self.node_id = node_id
        self._run = run
        self._result = result

    # The callbacks, read-only: `chunk`, `progress`, `log` and `report_usage` call them.
    @property
    def on_chunk(self) -> Callable[[str], None]:  # type: ignore[override]
        return self._on_chunk

    @property
    def on_progress(self) -> Callable[[float, str], None]:  # type: ignore[override]
        return self._on_progress

    @property
    def on_log(self) -> Callable[[str, str], None]:  # type: ignore[override]
        return self._on_log

    @property
    def on_usage(self) -> Callable[[Usage], None]:  # type: ignore[override]
        return self._on_usage

    def _on_chunk(self, text: str) -> None:
        run = self._run
        run._emit_any_thread(ev.Chunk(run_id=run.run_id, node_id=self.node_id, text=text))

    def _on_progress(self, fraction: float, message: str) -> None:
        run = self._run
        run._emit_any_thread(
            ev.Progress(run_id=run.run_id, node_id=self.node_id, fraction=fraction, message=message)
        )

    def _on_log(self, message: str, level: str) -> None:
        run = self._run
        message = ev.redact(str(message), run._secrets)
        result = self._result
        if result is not None:
            if type(result.log) is list:
                result.log.append((level, message))
            else:  # the shared empty default
                result.log = [*result.log, (level, message)]
        run._emit_any_thread(
            ev.NodeLog(run_id=run.run_id, node_id=self.node_id, level=level, message=message)
        )

    def _on_usage(self, usage: Usage) -> None:
        result = self._result
        if result is not None:
            if type(result.usage) is list:
                result.usage.append(asdict(usage))
            else:  # the shared empty default
                result.usage = [*result.usage, asdict(usage)]


#: A per-node event in compact form: (kind code, node id, timestamp). Its other fields are read
#: back from the node's `NodeResult` (the same dicts), so the record holds nothing the garbage
#: collector must track.
_Record = tuple[int, str, float]
_QUEUED, _STARTED, _FINISHED = 0, 1, 2

#: Input types `coerce` passes a (non-tuple) value through unchanged: `_resolve` skips the call.
_PASS_THROUGH = (DataType.ANY, DataType.JSON)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + _secrets.token_hex(4)


class Executor:
    """Runs one validated workflow. Each `run` / `run_to` / `run_from` call makes a `Run`."""

    def __init__(
        self,
        analysis: GraphAnalysis,
        *,
        settings: Settings | None = None,
        cache: Cache | None = None,
        store: RunStore | None = None,
        workflow_path: str | Path | None = None,
        workflow_dir: str | Path | None = None,
    ) -> None:
        if not analysis.ok:
            raise WorkflowError(analysis.problems, source=str(workflow_path or ""))
        self.analysis = analysis
        self.workflow = analysis.workflow
        self.settings = settings if settings is not None else Settings.load()
        self.cache = cache
        self.store = store
        self.workflow_path = str(workflow_path) if workflow_path is not None else None
        if workflow_dir is not None:
            self.workflow_dir = Path(workflow_dir)
        elif workflow_path is not None:
            self.workflow_dir = Path(workflow_path).resolve().parent
        else:
            self.workflow_dir = Path.cwd()
        self.workflow_hash = workflow_hash(self.workflow)
        self.order, self.plans = self._make_plans()
        self.input_nodes = analysis.interface("input")
        #: The io.output nodes (plans), in topological order: what `RunResult.outputs` reads.
        self.output_plans = [
            plan
            for plan in self.plans.values()
            if plan.interface_role == "output" and plan.interface_name is not None
        ]

    def _make_plans(self) -> tuple[list[str], dict[str, _Plan]]:
        """The topological order (`GraphAnalysis.topological_order`: file order breaks ties,
        without networkx's overhead) and every node's plan, in one pass over the edges."""
        nodes = self.analysis.nodes
        position = {node_id: i for i, node_id in enumerate(nodes)}
        in_edges: dict[str, list[tuple[str, str, str]]] = {}
        forward = True
        for edge in self.workflow.edges:
            source, target = edge.source, edge.target
            if forward and position[source] >= position[target]:
                forward = False
            entry = (edge.target_port, source, edge.source_port)
            edges = in_edges.get(target)
            if edges is None:
                in_edges[target] = [entry]
            else:
                edges.append(entry)
        order: list[str] = []
        index: dict[str, int] = {}
        if forward:
            # Every edge goes forward in the file: the file order is a topological order, so it
            # is the one the heap below would produce (ties broken by file order).
            order = list(position)
            index = position
        else:
            waiting = dict.fromkeys(position, 0)
            after: dict[str, list[str]] = {}
            for target, edges in in_edges.items():
                waiting[target] = len(edges)
                for _, source, _ in edges:
                    targets = after.get(source)
                    if targets is None:
                        after[source] = [target]
                    else:
                        targets.append(target)
            heap = [(position[n], n) for n, count in waiting.items() if count == 0]
            heapq.heapify(heap)
            while heap:
                _, node_id = heapq.heappop(heap)
                index[node_id] = len(order)
                order.append(node_id)
                for target in after.get(node_id, ()):
                    left = waiting[target] - 1
                    waiting[target] = left
                    if left == 0:
                        heapq.heappush(heap, (position[target], target))
        # Successor lists are filled while the nodes are visited in topological order, so each
        # is in topological order and without repeats (a node's predecessors are distinct).
        downstream: dict[str, list[str]] = {}
        # What depends only on the node's type, worked out once per type.
        per_type: dict[type[NodeType[Any]], tuple[Any, ...]] = {}
        base = NodeType
        plans: dict[str, _Plan] = {}
        no_edges: tuple[tuple[str, str, str], ...] = ()
        for node_id in order:
            resolved = nodes[node_id]
            instance = resolved.instance
            node_type = resolved.node_type
            assert instance is not None and node_type is not None  # analysis.ok
            node = resolved.node
            facts = per_type.get(node_type)
            if facts is None:
                cls = type(instance)
                facts = per_type[node_type] = (
                    node_type.type_id,
                    node_type.title,
                    int(getattr(node_type, "version", 1)),
                    bool(node_type.cacheable),
                    cls.cache_key_extra is not base.cache_key_extra,
                    cls.concurrency_group is not base.concurrency_group,
                    cls.interface_name is not base.interface_name,
                )
            type_id, type_title, version, cacheable, has_extra, own_group, own_name = facts
            edges = in_edges.get(node_id)
            if edges is None:
                node_edges, predecessors = no_edges, ()
            elif len(edges) == 1:
                source = edges[0][1]
                node_edges, predecessors = (edges[0],), (source,)
                targets = downstream.get(source)
                if targets is None:
                    downstream[source] = [node_id]
                else:
                    targets.append(node_id)
            else:
                distinct: list[str] = []
                for _, source, _ in edges:
                    if source not in distinct:
                        distinct.append(source)
                        targets = downstream.get(source)
                        if targets is None:
                            downstream[source] = [node_id]
                        else:
                            targets.append(node_id)
                node_edges, predecessors = tuple(edges), tuple(distinct)
            plans[node_id] = _Plan(
                node_id,
                index[node_id],
                instance,
                type_id,
                node.title or type_title,
                version,
                instance.concurrency_group() if own_group else None,
                cacheable and node.cache,
                node_edges,
                resolved.inputs,
                (),
                predecessors,
                resolved.outputs,
                instance.interface_role,
                instance.interface_name() if own_name else None,
                has_extra,
            )
        for source, targets in downstream.items():
            plans[source].successors = (targets[0],) if len(targets) == 1 else tuple(targets)
        return order, plans

    # -- making runs ------------------------------------------------------------------------
    def check_inputs(self, inputs: Mapping[str, Any]) -> None:
        """Raise UnknownInputError for a name no `io.input` node has."""
        for name in inputs:
            if name not in self.input_nodes:
                raise UnknownInputError(name, self.input_nodes)

    def run(self, inputs: Mapping[str, Any] | None = None, **options: Any) -> Run:
        """A run of the whole workflow. Options: see `Run`."""
        return self._make_run("run", list(self.order), {}, inputs, options)

    def run_to(self, node_id: str, inputs: Mapping[str, Any] | None = None, **options: Any) -> Run:
        """A run of `node_id` and its ancestors only."""
        self._require_node(node_id)
        wanted = nx.ancestors(self.analysis.graph, node_id) | {node_id}
        return self._make_run("run_to", [n for n in self.order if n in wanted], {}, inputs, options)

    def run_from(
        self,
        node_id: str,
        previous: RunResult | Mapping[str, NodeResult],
        inputs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Run:
        """Re-run `node_id` and its downstream, reusing `previous` results for what feeds them."""
        self._require_node(node_id)
        previous_nodes = previous.nodes if isinstance(previous, RunResult) else previous
        if inputs is None and isinstance(previous, RunResult):
            inputs = previous.inputs
        scope = nx.descendants(self.analysis.graph, node_id) | {node_id}
        reused: dict[str, NodeResult] = {}
        frontier = list(scope)
        while frontier:
            current = frontier.pop()
            for pred in self.plans[current].predecessors:
                if pred in scope or pred in reused:
                    continue
                earlier = previous_nodes.get(pred)
                if earlier is not None and earlier.status == "succeeded":
                    reused[pred] = earlier
                else:
                    scope.add(pred)  # nothing to reuse: run it too
                    frontier.append(pred)
        return self._make_run("run_from", [n for n in self.order if n in scope], reused, inputs, options)

    def _require_node(self, node_id: str) -> None:
        if node_id not in self.plans:
            raise ValueError(f"the workflow has no node '{node_id}'")

    def _make_run(
        self,
        mode: str,
        scope: list[str],
        reused: dict[str, NodeResult],
        inputs: Mapping[str, Any] | None,
        options: dict[str, Any],
    ) -> Run:
        inputs = dict(inputs or {})
        self.check_inputs(inputs)
        return Run(self, mode=mode, scope=scope, reused=reused, inputs=inputs, **options)


class Run:
    """One execution of a workflow (or part of one), with its event stream and controls.

    Options (keywords of `Executor.run` / `run_to` / `run_from`):
    `use_cache` (read the cache, default True), `write_cache` (default True), `restricted`
    (sets `RunContext.restricted`), `step_mode` (start paused; `step()` runs one node),
    `breakpoints` (node ids), `run_id`.

    `await run` starts the run if needed and returns its `RunResult`.
    """

    def __init__(
        self,
        executor: Executor,
        *,
        mode: str,
        scope: list[str],
        reused: dict[str, NodeResult],
        inputs: dict[str, Any],
        use_cache: bool = True,
        write_cache: bool = True,
        restricted: bool = False,
        step_mode: bool = False,
        breakpoints: Iterable[str] = (),
        run_id: str | None = None,
    ) -> None:
        self.executor = executor
        self.run_id = run_id or new_run_id()
        self.mode = mode
        self.scope = scope
        self.inputs = inputs
        self.use_cache = use_cache and executor.cache is not None
        self.write_cache = write_cache and executor.cache is not None
        self.restricted = restricted
        self.step_mode = step_mode
        self.breakpoints: set[str] = set(breakpoints)
        self.cancel_event = threading.Event()
        self.result = RunResult(
            run_id=self.run_id,
            status="running",
            mode=mode,
            workflow_path=executor.workflow_path,
            workflow_name=executor.workflow.name,
            workflow_hash=executor.workflow_hash,
            inputs=dict(inputs),
        )
        self._reused = reused
        self._results = self.result.nodes
        self._in_scope = set(scope)
        plans = executor.plans
        #: node id -> how many of its in-scope predecessors have not settled yet
        self._pending: dict[str, int]
        if len(scope) == len(plans):  # the whole workflow: every predecessor is in scope
            self._pending = {node_id: len(plans[node_id].predecessors) for node_id in scope}
        else:
            in_scope = self._in_scope
            self._pending = {
                node_id: sum(1 for pred in plans[node_id].predecessors if pred in in_scope)
                for node_id in scope
            }
        # ready queues, one heap per concurrency group, with lazy deletion through _queued
        self._ready: dict[str | None, list[tuple[int, str]]] = {}
        self._queued: dict[str, dict[str, Any]] = {}  # node id -> resolved inputs
        self._running: dict[str, asyncio.Task[None]] = {}
        #: the results of the nodes running now (until they are in `result.nodes`)
        self._started: dict[str, NodeResult] = {}
        self._group_running: dict[str | None, int] = {}
        self._settled = 0
        self._failures: list[dict[str, Any]] = []
        self._paused = step_mode
        self._credits = 0
        self._announced = False
        self._held: str | None = None  # node paused at its breakpoint
        self._released: set[str] = set()
        self._cancel_requested = False
        # Replaced, never mutated, so `_emit` can iterate them while a callback unsubscribes.
        self._subscribers: tuple[Subscriber, ...] = ()
        self._queues: tuple[asyncio.Queue[ev.Event], ...] = ()
        #: The events so far; the per-node ones possibly as `_Record`s until `history` is read.
        self._history: list[ev.Event | _Record] = []
        self._history_read = False
        self._task: asyncio.Task[RunResult] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._done: asyncio.Future[None] | None = None
        self._t0 = 0.0
        self._secrets: list[str] = []
        settings = executor.settings
        self._global_limit = settings.max_concurrency
        shared = RunContext(
            node_id="",
            workflow_dir=executor.workflow_dir,
            workflow_inputs=self.inputs,
            restricted=self.restricted,
            settings=settings,
            cancel_event=self.cancel_event,
            logger=_node_logger,
        )
        #: What every node's `_NodeContext` starts from (all but its node id and callbacks).
        self._context_fields = {
            name: value
            for name, value in vars(shared).items()
            if name not in _CALLBACKS and name != "node_id"
        }
        self._group_limits: dict[str | None, int | None] = {}

    # -- observing --------------------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(event)` for every event from now on; returns an unsubscribe function."""
        self._subscribers = (*self._subscribers, callback)

        def unsubscribe() -> None:
            subscribers = list(self._subscribers)
            if callback in subscribers:
                subscribers.remove(callback)
                self._subscribers = tuple(subscribers)

        return unsubscribe

    async def events(self) -> AsyncIterator[ev.Event]:
        """Every event of the run — those already emitted first — until the run has ended."""
        queue: asyncio.Queue[ev.Event] = asyncio.Queue()
        backlog = list(self.history)
        self._queues = (*self._queues, queue)
        try:
            for event in backlog:
                yield event
                if event.kind in ev.TERMINAL_KINDS:
                    return
            while True:
                event = await queue.get()
                yield event
                if event.kind in ev.TERMINAL_KINDS:
                    return
        finally:
            self._queues = tuple(q for q in self._queues if q is not queue)

    @property
    def done(self) -> bool:
        return self.result.status != "running"

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def held_at(self) -> str | None:
        """The node the run is paused before (at its breakpoint), or None."""
        return self._held

    def held_inputs(self) -> dict[str, Any] | None:
        return dict(self._queued[self._held]) if self._held is not None else None

    # -- running ----------------------------------------------------------------------------
    def start(self) -> asyncio.Task[RunResult]:
        """Start the run in the running event loop (once); returns its task."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._main(), name=f"run {self.run_id}")
        return self._task

    async def wait(self) -> RunResult:
        return await self.start()

    def __await__(self) -> Generator[Any, None, RunResult]:
        return self.wait().__await__()

    # -- control (any thread) ---------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the run: running nodes are cancelled, nothing new starts."""
        self._call(self._do_cancel)

    def pause(self) -> None:
        self._call(self._do_pause)

    def resume(self) -> None:
        """Let nodes start again (at a breakpoint: continue without changing the inputs)."""
        self._call(self._do_continue, None, False)

    def step(self) -> None:
        """While paused: start exactly one ready node (at a breakpoint: that node)."""
        self._call(self._do_step)

    def continue_(self, replaced_inputs: Mapping[str, Any] | None = None, *, step: bool = False) -> None:
        """At a breakpoint: run the held node — with `replaced_inputs` (port → value) replacing
        those inputs — and resume (or, with `step=True`, stay paused after starting it)."""
        self._call(self._do_continue, dict(replaced_inputs) if replaced_inputs else None, step)

    def set_breakpoints(self, node_ids: Iterable[str]) -> None:
        self._call(self._do_set_breakpoints, set(node_ids))

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or self._thread == threading.get_ident():
            fn(*args)
        else:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the run is over
                loop.call_soon_threadsafe(fn, *args)

    def _do_set_breakpoints(self, node_ids: set[str]) -> None:
        self.breakpoints = node_ids

    def _do_pause(self) -> None:
        if self.done or self._paused:
            return
        self._paused = True
        self._credits = 0
        self._announced = True
        self._emit(
            ev.Paused(
                run_id=self.run_id,
                reason="pause",
                ready=self._ready_ids(),
                running=tuple(self._running),
            )
        )

    def _do_step(self) -> None:
        if self.done or self._loop is None:
            return
        if not self._paused:
            return
        if self._held is not None:
            self._release_held(None)
        else:
            self._credits += 1
        self._dispatch()

    def _do_continue(self, replaced: dict[str, Any] | None, step: bool) -> None:
        if self.done:
            return
        replaced_ports: tuple[str, ...] = ()
        if self._held is not None:
            replaced_ports = self._release_held(replaced)
        if not step and self._paused:
            self._paused = False
            self._credits = 0
            self._announced = False
            self._emit(ev.Resumed(run_id=self.run_id, replaced=replaced_ports))
        self._dispatch()

    def _release_held(self, replaced: dict[str, Any] | None) -> tuple[str, ...]:
        node_id = self._held
        assert node_id is not None
        plan = self.executor.plans[node_id]
        ports = {name: plan.input_ports[name] for name, _, _ in plan.sources}
        if replaced:
            ports.update({port.name: port for port in plan.instance.input_ports()})
        converted: dict[str, Any] = {}
        for name, value in (replaced or {}).items():
            port = ports.get(name)
            if port is None:
                raise ValueError(f"node '{node_id}' has no input '{name}' (its inputs: {', '.join(ports)})")
            try:
                converted[name] = coerce(value, port.type)
            except TypeError as exc:
                raise ValueError(f"node '{node_id}', input '{name}': {exc}") from None
        self._queued[node_id].update(converted)
        self._held = None
        self._released.add(node_id)
        # Start it now, ahead of anything that became ready meanwhile.
        self._start_node(node_id)
        return tuple(converted)

    def _do_cancel(self) -> None:
        if self.done or self._cancel_requested:
            return
        self._cancel_requested = True
        self.cancel_event.set()
        for task in self._running.values():
            task.cancel()
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    # -- events -----------------------------------------------------------------------------
    @property
    def history(self) -> list[ev.Event]:
        """Every event of the run so far, in order (the same list every time).

        Until it is first read, the three events every node produces (queued, started, finished
        without usage) are kept as plain tuples of their fields, which the garbage collector stops
        tracking; they become events here, once, and from then on events are kept as they are.
        Read it in the event loop's thread, or after the run.
        """
        items = self._history
        if not self._history_read:
            self._history_read = True
            i = 0
            while i < len(items):  # not a for loop: the list may grow meanwhile
                item = items[i]
                if type(item) is tuple:
                    items[i] = self._event_from_record(item)
                i += 1
        return items  # type: ignore[return-value]  # every item is an event now

    def _event_from_record(self, record: _Record) -> ev.Event:
        code, node_id, timestamp = record
        if code == _QUEUED:
            return ev.NodeQueued(run_id=self.run_id, node_id=node_id, timestamp=timestamp)
        result = self._results.get(node_id) or self._started[node_id]
        if code == _STARTED:
            plan = self.executor.plans[node_id]
            return ev.NodeStarted(
                run_id=self.run_id,
                node_id=node_id,
                timestamp=timestamp,
                type_id=plan.type_id,
                title=plan.title,
                inputs=result.inputs if result.inputs is not None else {},
            )
        return ev.NodeFinished(  # a finished node without usage (else the event itself is kept)
            run_id=self.run_id,
            node_id=node_id,
            timestamp=timestamp,
            outputs=result.outputs,
            skipped_outputs=result.skipped_outputs,
            duration_s=result.duration_s,
            cached=result.cached,
        )

    def _emit(self, event: ev.Event, record: _Record | None = None) -> None:
        """Deliver `event`; keep it in the history (or `record`, its compact form, if given)."""
        self._history.append(event if record is None or self._history_read else record)
        for callback in self._subscribers:
            try:
                callback(event)
            except Exception:  # a broken observer must not break the run
                log.exception("run event subscriber failed on %s", event.kind)
        for queue in self._queues:
            queue.put_nowait(event)

    def _emit_any_thread(self, event: ev.Event) -> None:
        if self._thread == threading.get_ident():
            self._emit(event)
        elif self._loop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._emit, event)

    # -- the scheduler ----------------------------------------------------------------------
    async def _main(self) -> RunResult:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._done = self._loop.create_future()
        self._secrets = ev.known_secrets()
        self._t0 = time.perf_counter()
        self.result.started = time.time()
        self._emit(
            ev.RunStarted(
                run_id=self.run_id,
                workflow_name=self.executor.workflow.name,
                workflow_hash=self.executor.workflow_hash,
                mode=self.mode,
                nodes=tuple(self.scope),
                inputs=dict(self.inputs),
            )
        )
        if self._cancel_requested:  # cancelled before it started
            return self._finish()
        for node_id, earlier in self._reused.items():
            reused = dataclasses.replace(earlier, reused=True)
            self._results[node_id] = reused
            self._emit(
                ev.NodeFinished(
                    run_id=self.run_id,
                    node_id=node_id,
                    outputs=reused.outputs,
                    skipped_outputs=reused.skipped_outputs,
                    reused=True,
                )
            )
        self._advance([node_id for node_id in self.scope if self._pending[node_id] == 0])
        self._dispatch()
        self._check_done()
        try:
            await self._done
        except BaseException:
            # The task running this run was cancelled from outside (Ctrl-C, app shutdown), or the
            # engine itself failed: stop every node before letting the exception through.
            self._do_cancel()
            await self._drain()
            self._finish()
            raise
        if self._cancel_requested:
            await self._drain()
        return self._finish()

    async def _drain(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    def _ready_ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._queued, key=lambda n: self.executor.plans[n].index))

    def _group_limit(self, group: str | None) -> int | None:
        if group not in self._group_limits:
            limit = None
            if group is not None and group.startswith("provider:"):
                limit = self.executor.settings.provider(group.split(":", 1)[1]).concurrency
            self._group_limits[group] = limit
        return self._group_limits[group]

    def _advance(self, candidates: list[str]) -> None:
        """Resolve nodes whose upstream has settled: queue them, or settle them as skipped/failed.

        Settling a node here makes its successors candidates in turn (a worklist, not recursion,
        so a long chain of skips cannot overflow the stack).
        """
        work = candidates[::-1]
        plans = self.executor.plans
        pending = self._pending
        in_scope = self._in_scope
        ready = self._ready
        queued = self._queued
        run_id = self.run_id
        while work:
            node_id = work.pop()
            plan = plans[node_id]
            outcome = self._resolve(plan)
            if isinstance(outcome, NodeResult):
                self._record(outcome)
                for succ in reversed(plan.successors):
                    if succ in in_scope:
                        left = pending[succ] - 1
                        pending[succ] = left
                        if left == 0:
                            work.append(succ)
            else:
                queued[node_id] = outcome
                heap = ready.get(plan.group)
                if heap is None:
                    heap = ready[plan.group] = []
                heapq.heappush(heap, (plan.index, node_id))
                now = time.time()
                if self._subscribers or self._queues or self._history_read:  # anyone for an event?
                    self._emit(
                        ev.NodeQueued(run_id=run_id, node_id=node_id, timestamp=now), (_QUEUED, node_id, now)
                    )
                else:
                    self._history.append((_QUEUED, node_id, now))

    def _resolve(self, plan: _Plan) -> dict[str, Any] | NodeResult:
        """The node's inputs, or the result that settles it without running (skipped/failed)."""
        inputs: dict[str, Any] = {}
        failed_roots: list[str] | None = None
        missing: list[str] | None = None
        bad: tuple[str, str] | None = None
        results = self._results
        ports = plan.input_ports
        for port_name, source, source_port in plan.sources:
            upstream = results[source]
            root = upstream.failed_root
            if root is not None:
                if failed_roots is None:
                    failed_roots = [root]
                elif root not in failed_roots:
                    failed_roots.append(root)
                continue
            if upstream.status == "succeeded":
                outputs = upstream.outputs
                if source_port in outputs:
                    value = outputs[source_port]
                    target = ports[port_name].type
                    if target in _PASS_THROUGH and type(value) is not tuple:
                        inputs[port_name] = value
                        continue
                    try:
                        inputs[port_name] = coerce(value, target)
                    except TypeError as exc:
                        bad = bad or (
                            port_name,
                            f"input '{port_name}' cannot take the value from '{source}': {exc}",
                        )
                    continue
                why = upstream.skipped_outputs.get(source_port) or "not produced"
                reason = f"output '{source_port}' of '{source}' was not produced: {why}"
            else:
                # Not nested: a long chain of skips would make ever longer reasons.
                reason = f"upstream node '{source}' was skipped"
            if ports[port_name].required:
                if missing is None:
                    missing = []
                missing.append(f"input '{port_name}': {reason}")
        if failed_roots:
            names = ", ".join(f"'{root}'" for root in failed_roots)
            reason = (
                f"upstream node {names} failed"
                if len(failed_roots) == 1
                else f"upstream nodes {names} failed"
            )
            return NodeResult(
                plan.id, "skipped", type_id=plan.type_id, skip_reason=reason, failed_root=failed_roots[0]
            )
        if missing:
            return NodeResult(plan.id, "skipped", type_id=plan.type_id, skip_reason="; ".join(missing))
        if bad is not None:
            now = time.time()
            return NodeResult(
                plan.id,
                "failed",
                type_id=plan.type_id,
                inputs=inputs,
                started=now,
                finished=now,
                error=ErrorInfo("InputTypeError", bad[1], port=bad[0]),
                failed_root=plan.id,
            )
        return inputs

    def _record(self, result: NodeResult) -> None:
        """Store a settled node's result and report it."""
        node_id = result.node_id
        self._results[node_id] = result
        self._settled += 1
        status = result.status
        if status == "succeeded":
            if result.usage or result.saved_usage:
                event = ev.NodeFinished(
                    run_id=self.run_id,
                    node_id=node_id,
                    outputs=result.outputs,
                    skipped_outputs=result.skipped_outputs,
                    duration_s=result.duration_s,
                    input_tokens=result.input_tokens,
                    output_tokens=result.output_tokens,
                    cost_usd=result.cost_usd,
                    cached=result.cached,
                    saved_tokens=result.saved_tokens,
                    saved_cost_usd=result.saved_cost_usd,
                )
                self._emit(event)
            else:  # nothing to count: the token and cost fields keep their defaults (0, None)
                now = time.time()
                record = (_FINISHED, node_id, now)
                if self._subscribers or self._queues or self._history_read:  # anyone for an event?
                    self._emit(
                        ev.NodeFinished(  # as `_event_from_record` would make it
                            run_id=self.run_id,
                            node_id=node_id,
                            timestamp=now,
                            outputs=result.outputs,
                            skipped_outputs=result.skipped_outputs,
                            duration_s=result.duration_s,
                            cached=result.cached,
                        ),
                        record,
                    )
                else:
                    self._history.append(record)
        elif status == "failed":
            error = result.error or ErrorInfo("Error", "failed")
            self._failures.append(
                {"node_id": node_id, "error_type": error.error_type, "message": error.message}
            )
            self._emit(
                ev.NodeFailed(
                    run_id=self.run_id,
                    node_id=node_id,
                    error_type=error.error_type,
                    message=error.message,
                    port=error.port,
                    field=error.field,
                    user_line=error.user_line,
                    traceback=error.traceback,
                    duration_s=result.duration_s,
                )
            )
        elif status == "skipped":
            self._emit(ev.NodeSkipped(run_id=self.run_id, node_id=node_id, reason=result.skip_reason or ""))

    def _pick(self) -> str | None:
        """The ready node to start next: earliest in topological order among groups with room."""
        best: tuple[int, str] | None = None
        best_group: str | None = None
        queued = self._queued
        for group, heap in self._ready.items():
            while heap and heap[0][1] not in queued:
                heapq.heappop(heap)  # started out of turn (a released breakpoint)
            if not heap:
                continue
            if group is not None:
                limit = self._group_limit(group)
                if limit is not None and self._group_running.get(group, 0) >= limit:
                    continue
            if best is None or heap[0] < best:
                best, best_group = heap[0], group
        if best is None:
            return None
        node_id = best[1]
        if node_id in self.breakpoints and node_id not in self._released:
            if self._held is None:
                self._hold(node_id)
            return None
        heapq.heappop(self._ready[best_group])
        return node_id

    def _hold(self, node_id: str) -> None:
        self._held = node_id
        self._paused = True
        self._credits = 0
        self._announced = True
        self._emit(
            ev.Paused(
                run_id=self.run_id,
                node_id=node_id,
                reason="breakpoint",
                inputs=dict(self._queued[node_id]),
                ready=self._ready_ids(),
                running=tuple(self._running),
            )
        )

    def _dispatch(self) -> None:
        if self._cancel_requested or self._done is None or self._done.done():
            return
        running = self._running
        ready = self._ready
        if not self._paused and not self.breakpoints and len(ready) == 1 and None in ready:
            # The common case: nothing paused or held, and every ready node is in the one group
            # without a limit of its own, so `_pick` would take the heap's top each time.
            heap = ready[None]
            queued = self._queued
            limit = self._global_limit
            started = False
            while heap and len(running) < limit:
                node_id = heapq.heappop(heap)[1]
                if node_id in queued:  # else started out of turn (a released breakpoint)
                    self._start_node(node_id)
                    started = True
            if started:
                self._announced = False
            return
        while len(running) < self._global_limit and self._held is None:
            if self._paused and self._credits <= 0:
                break
            node_id = self._pick()
            if node_id is None:
                break
            if self._paused:
                self._credits -= 1
            self._start_node(node_id)
        if self._paused:
            self._announce_pause()

    def _announce_pause(self) -> None:
        if not self._paused or self._announced or self._running or self._held is not None or not self._queued:
            return
        self._announced = True
        ready = self._ready_ids()
        nxt = ready[0]
        self._emit(
            ev.Paused(
                run_id=self.run_id,
                node_id=nxt,
                reason="step" if self.step_mode else "pause",
                inputs=dict(self._queued[nxt]),
                ready=ready,
            )
        )

    def _start_node(self, node_id: str) -> None:
        inputs = self._queued.pop(node_id)
        plan = self.executor.plans[node_id]
        group_running = self._group_running
        group_running[plan.group] = group_running.get(plan.group, 0) + 1
        self._announced = False
        assert self._loop is not None
        self._running[node_id] = self._loop.create_task(self._execute(plan, inputs), name=f"node {node_id}")

    def _check_done(self) -> None:
        done = self._done
        if done is not None and not done.done() and self._settled >= len(self.scope) and not self._running:
            done.set_result(None)

    # -- one node ---------------------------------------------------------------------------
    async def _execute(self, plan: _Plan, inputs: dict[str, Any]) -> None:
        node_id = plan.id
        started = time.time()
        t0 = time.perf_counter()
        result = NodeResult(node_id, "succeeded", plan.type_id, inputs, started=started)
        self._started[node_id] = result
        record = (_STARTED, node_id, started)
        if self._subscribers or self._queues or self._history_read:  # anyone for an event?
            self._emit(
                ev.NodeStarted(  # as `_event_from_record` would make it
                    run_id=self.run_id,
                    node_id=node_id,
                    timestamp=started,
                    type_id=plan.type_id,
                    title=plan.title,
                    inputs=inputs,
                ),
                record,
            )
        else:
            self._history.append(record)
        try:
            if plan.cacheable and self.executor.cache is not None:
                await self._run_cacheable(plan, inputs, result)
            else:  # `_run_node`, inlined: one coroutine less for every node
                try:
                    raw = await plan.instance.run(inputs, _NodeContext(self, node_id, result))
                    if self._cancel_requested:
                        raise asyncio.CancelledError()
                    result.outputs, result.skipped_outputs = self._split_outputs(plan, raw)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._node_failed(result, plan, exc)
        except asyncio.CancelledError:
            result.status = "cancelled"
        except Exception as exc:  # an engine bug must not hang the run
            self._engine_error(exc)
            result.status = "cancelled"
        finally:
            result.finished = time.time()
            result.duration_s = time.perf_counter() - t0
            del self._running[node_id]
            self._group_running[plan.group] -= 1
        if self._cancel_requested or result.status == "cancelled":
            result.status = "cancelled"
            self._results[node_id] = result
            del self._started[node_id]
            self._check_done()
            return
        try:
            self._record(result)
            del self._started[node_id]
            candidates: list[str] | None = None
            pending = self._pending
            in_scope = self._in_scope
            for succ in plan.successors:
                if succ in in_scope:
                    left = pending[succ] - 1
                    pending[succ] = left
                    if left == 0:
                        if candidates is None:
                            candidates = [succ]
                        else:
                            candidates.append(succ)
            if candidates is not None:
                self._advance(candidates)
            self._dispatch()
            self._check_done()
        except Exception as exc:
            self._engine_error(exc)

    def _engine_error(self, exc: BaseException) -> None:
        log.error("executor error in run %s", self.run_id, exc_info=exc)
        if self._done is not None and not self._done.done():
            self._done.set_exception(exc)

    async def _run_cacheable(self, plan: _Plan, inputs: dict[str, Any], result: NodeResult) -> None:
        """`_run_node` for a cacheable node: look the result up first, store it after."""
        cache = self.executor.cache
        assert cache is not None
        key = None
        if self.use_cache or self.write_cache:
            key = self._cache_key(plan, inputs)
            if key is not None and self.use_cache:
                try:
                    hit = cache.get(key)
                except Exception:
                    log.warning("cache lookup failed for node %s", plan.id, exc_info=True)
                    hit = None
                if hit is not None:
                    result.outputs = hit.outputs
                    result.skipped_outputs = hit.skipped_outputs
                    result.saved_usage = hit.usage
                    result.cached = True
                    return
        await self._run_node(plan, inputs, result)
        if key is not None and self.write_cache and result.status == "succeeded":
            try:
                cache.put(key, plan.type_id, result.outputs, result.skipped_outputs, result.usage)
            except Exception:
                log.warning("cache write failed for node %s", plan.id, exc_info=True)

    async def _run_node(self, plan: _Plan, inputs: dict[str, Any], result: NodeResult) -> None:
        """Run the node itself; its outputs, or its failure, go into `result`."""
        try:
            raw = await plan.instance.run(inputs, _NodeContext(self, plan.id, result))
            if self._cancel_requested:
                raise asyncio.CancelledError()
            result.outputs, result.skipped_outputs = self._split_outputs(plan, raw)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._node_failed(result, plan, exc)

    def _node_failed(self, result: NodeResult, plan: _Plan, exc: Exception) -> None:
        """Record why the node failed (called while `exc` is being handled)."""
        if isinstance(exc, NodeError):
            error = ErrorInfo(
                "NodeError",
                exc.message or str(exc),
                port=exc.port,
                field=exc.field,
                user_line=exc.user_line,
                traceback=exc.details,
            )
        elif isinstance(exc, _OutputError):
            error = ErrorInfo("OutputError", str(exc))
        else:
            text = str(exc)
            message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            error = ErrorInfo(type(exc).__name__, message, traceback=_traceback.format_exc())
        self._fail(result, plan, error)

    def _fail(self, result: NodeResult, plan: _Plan, error: ErrorInfo) -> None:
        error.message = ev.redact(error.message, self._secrets)
        error.traceback = ev.redact(error.traceback, self._secrets)
        result.status = "failed"
        result.error = error
        result.failed_root = plan.id
        result.outputs = {}
        result.skipped_outputs = {}

    def _cache_key(self, plan: _Plan, inputs: dict[str, Any]) -> str | None:
        try:
            config = plan.instance.config.model_dump(mode="json")
        except Exception:
            return None
        extra = None
        if plan.has_cache_extra:
            try:
                extra = plan.instance.cache_key_extra(self._context(plan, None))
            except Exception:
                return None  # a node that cannot say what else matters is not cached
        return cache_key(plan.type_id, plan.version, config, inputs, extra)

    @staticmethod
    def _split_outputs(plan: _Plan, raw: Any) -> tuple[dict[str, Any], dict[str, str]]:
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise _OutputError(f"the node returned {type(raw).__name__} instead of a dict of outputs")
        names = plan.output_names
        outputs: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        for name, value in raw.items():
            if name not in names:
                known = ", ".join(sorted(names)) or "none"
                raise _OutputError(
                    f"the node returned an output '{name}' it does not declare (its outputs: {known})"
                )
            if isinstance(value, Skip):
                skipped[name] = value.reason
            else:
                outputs[name] = value
        return outputs, skipped

    def _context(self, plan: _Plan, result: NodeResult | None) -> RunContext:
        """The `RunContext` for one execution of `plan` (`result` receives its logs and usage)."""
        return _NodeContext(self, plan.id, result)

    # -- the end ----------------------------------------------------------------------------
    def _finish(self) -> RunResult:
        result = self.result
        result.finished = time.time()
        if self._settled < len(self.scope):  # cancelled: the nodes that never settled
            for node_id in self.scope:
                if node_id not in self._results:
                    self._results[node_id] = NodeResult(
                        node_id, "cancelled", type_id=self.executor.plans[node_id].type_id
                    )
        outputs: dict[str, Any] = {}
        missing: dict[str, str] = {}
        for plan in self.executor.output_plans:
            node = self._results.get(plan.id)
            if node is None:
                continue
            name = plan.interface_name
            assert name is not None  # output_plans holds only named outputs
            if node.status == "succeeded" and node.inputs is not None and "value" in node.inputs:
                outputs[name] = node.inputs["value"]
            elif node.status == "skipped":
                missing[name] = node.skip_reason or "skipped"
            elif node.status == "failed":
                missing[name] = node.error.message if node.error else "failed"
            else:
                missing[name] = "the run was cancelled before this output received a value"
        result.outputs = outputs
        result.missing_outputs = missing
        if self._cancel_requested:
            result.status = "cancelled"
        elif self._failures:  # every failed node is reported through `_record`
            result.status = "failed"
        else:
            result.status = "succeeded"
        store = self.executor.store
        if store is not None:
            try:
                store.save(result)
            except Exception:
                log.warning("could not save run %s to the run history", self.run_id, exc_info=True)
        totals = result.totals()
        common: dict[str, Any] = {
            "run_id": self.run_id,
            "outputs": outputs,
            "missing_outputs": missing,
            "duration_s": time.perf_counter() - self._t0,
            **totals,
        }
        if result.status == "cancelled":
            self._emit(ev.RunCancelled(**common))
        elif result.status == "failed":
            self._emit(ev.RunFailed(failures=tuple(self._failures), **common))
        else:
            self._emit(ev.RunFinished(**common))
        return result


async def run_workflow(
    analysis: GraphAnalysis,
    inputs: Mapping[str, Any] | None = None,
    *,
    subscribe: Subscriber | None = None,
    executor_options: Mapping[str, Any] | None = None,
    **run_options: Any,
) -> RunResult:
    """Run a whole workflow once: the convenience form of `Executor(...).run(...)`."""
    executor = Executor(analysis, **dict(executor_options or {}))
    run = executor.run(inputs, **run_options)
    if subscribe is not None:
        run.subscribe(subscribe)
    return await run
