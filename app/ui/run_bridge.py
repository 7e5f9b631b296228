"""Runs in the desktop app: the executor on its own thread, its events delivered to Qt.

Threads
-------
* **The engine thread** (`EngineThread`) owns an asyncio event loop and nothing else. Every run
  executes there: the scheduler, HTTP streaming, cache and run-store writes. The GUI thread never
  awaits anything and never blocks on a run.
* **The GUI thread** owns every QObject here (`RunController`, `RunState`, the widgets).

Events
------
The executor calls its subscribers in the engine thread. The subscriber installed here only
appends the event to a locked list (`_Inbox`) and, when the list was empty, emits a signal that is
connected with ``Qt.QueuedConnection``: the GUI thread then takes the whole batch at once. So
however fast a model streams, the GUI thread gets at most one wake-up per batch, and consecutive
chunks of one node in a batch are merged into one (`coalesce`). `RunState` then announces changes
to the views at most every `run_state.FRAME_MS` (≈30 per second per node).

Control
-------
`cancel`, `pause`, `step`, `continue_` and `set_breakpoints` are handed to the engine thread with
``loop.call_soon_threadsafe`` and run there, as the executor expects (`Run`'s control methods are
thread-safe). Cancelling cancels every running node's task, which aborts its in-flight HTTP
request. Errors in a control call (an edited value a port cannot take) come back as a `message`.

Garbage collection
------------------
When the engine has warmed up (and again when the first run starts), the objects alive then
(modules, widgets, node schemas: tens of thousands, nearly all kept until exit) are moved out of
the collector's generations with `gc.freeze()` — after the warm-up, once a full collection has
dropped what start-up left behind. A full collection otherwise walks all of them and stops both threads for ~100 ms
in the middle of a streaming run; afterwards it walks only what was made since.

Headless use (benchmarks, tests)
--------------------------------
`RunController` needs a `QApplication` (any platform, offscreen is fine) and no window::

    controller = RunController(Settings())
    state = controller.start(workflow, inputs={"topic": "bicycles"})
    # spin the Qt event loop until controller.busy is False; state.nodes holds every node's result
    controller.shutdown()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from app.core import events as ev
from app.core.graph import analyze
from app.core.model import Workflow
from app.core.registry import Registry, default_registry
from app.core.runs import NodeResult, RunResult, RunStore, RunSummary
from app.core.settings import Settings
from app.core.values import coerce
from app.ui.run_state import EdgeRef, RunState, node_names

log = logging.getLogger("chainwright.ui.run")


_frozen = False


def _freeze_long_lived_objects() -> None:
    """Once per process, before the first run (see "Garbage collection" above)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


class EngineThread:
    """An asyncio event loop running on its own (daemon) thread, started on first use."""

    def __init__(self, name: str = "chainwright-engine") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def main() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=main, name=self.name, daemon=True)
                self._thread.start()
                ready.wait(5.0)
                self._loop = loop
            return self._loop

    def submit(self, coroutine: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop())

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Call `fn(*args)` in the engine thread, soon (never waits)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what is still running on the loop, stop it and join the thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def finish() -> None:
            current = asyncio.current_task()
            tasks = [task for task in asyncio.all_tasks() if task is not current]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=timeout / 2)
            # The model clients' pooled connections belong to this loop: close them here.
            await loop.shutdown_asyncgens()
            if "app.core.llm.retry" in sys.modules:
                from app.core.llm.retry import aclose_shared_clients

                await aclose_shared_clients()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(finish(), loop).result(timeout)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()


class _Inbox:
    """Items handed from the engine thread to the GUI thread; `wake` fires once per batch."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[int, str, Any]] = []
        self._wake = wake
        self.closed = False

    def put(self, item: tuple[int, str, Any]) -> None:
        with self._lock:
            if self.closed:
                return
            first = not self._items
            self._items.append(item)
        if first:
            self._wake()

    def take(self) -> list[tuple[int, str, Any]]:
        with self._lock:
            items, self._items = self._items, []
        return items

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._items = []


def coalesce(events: Iterable[ev.Event]) -> list[ev.Event]:
    """Merge the chunks of one node that arrive together into one chunk, keeping every other
    event (and the order of each node's events) as it was."""
    out: list[ev.Event] = []
    open_chunk: dict[str | None, int] = {}  # node id -> index in `out` of its mergeable chunk
    for event in events:
        if isinstance(event, ev.Chunk):
            index = open_chunk.get(event.node_id)
            if index is not None:
                previous = out[index]
                assert isinstance(previous, ev.Chunk)
                out[index] = ev.Chunk(
                    run_id=previous.run_id,
                    node_id=previous.node_id,
                    timestamp=event.timestamp,
                    text=previous.text + event.text,
                )
            else:
                open_chunk[event.node_id] = len(out)
                out.append(event)
            continue
        if event.node_id is None:
            open_chunk.clear()
        else:
            open_chunk.pop(event.node_id, None)
        out.append(event)
    return out


class RunBridge(QObject):
    """Carries a run's events from the engine thread to the GUI thread, in coalesced batches."""

    batch = Signal(int, str, object)  # token, kind ("events" | "done" | "error"), payload
    _wake = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.inbox = _Inbox(self._wake.emit)
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self.received = 0  # events taken (before coalescing), for tests and benchmarks
        self.delivered = 0  # events delivered after coalescing

    def subscriber(self, token: int) -> Callable[[ev.Event], None]:
        """The executor subscriber for one run (called in the engine thread)."""
        put = self.inbox.put

        def deliver(event: ev.Event) -> None:
            put((token, "event", event))

        return deliver

    def post(self, token: int, kind: str, payload: Any) -> None:
        """Hand a "done" / "error" notice to the GUI thread (from any thread)."""
        self.inbox.put((token, kind, payload))

    def _drain(self) -> None:
        items = self.inbox.take()
        if not items:
            return
        events: list[ev.Event] = []
        token = items[0][0]
        for item_token, kind, payload in items:
            if kind == "event" and item_token == token:
                events.append(payload)
                continue
            if events:
                self._send_events(token, events)
                events = []
            token = item_token
            if kind == "event":
                events.append(payload)
            else:
                self.batch.emit(item_token, kind, payload)
        if events:
            self._send_events(token, events)

    def _send_events(self, token: int, events: list[ev.Event]) -> None:
        self.received += len(events)
        merged = coalesce(events)
        self.delivered += len(merged)
        self.batch.emit(token, "events", merged)

    def close(self) -> None:
        self.inbox.close()


def workflow_key(path: str | Path | None) -> str | None:
    """How a saved workflow is named in the run history (its resolved path)."""
    if path is None:
        return None
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(path)


class RunController(QObject):
    """Starts runs of a workflow, controls them and keeps the state the views show.

    One live run at a time. `shown` is the state the canvas shows: the live run, the last run,
    a replayed past run (read-only), or None.
    """

    state_changed = Signal(object)  # RunState | None — the state the views should show now
    nodes_changed = Signal(object)  # frozenset[str] — nodes of the shown state that changed
    run_changed = Signal()  # status / totals of the shown state
    log_appended = Signal(int)  # first new entry of the shown state's log
    busy_changed = Signal(bool)  # a live run started (True) or ended (False)
    paused_changed = Signal(str, str)  # reason ("" = resumed), node id ("" if none)
    run_ended = Signal(object)  # RunState of the run that just ended
    history_changed = Signal()
    breakpoints_changed = Signal(object)  # frozenset[str]
    message = Signal(str)  # something to tell the person, in plain words

    def __init__(
        self,
        settings: Settings | None = None,
        registry: Registry | None = None,
        parent: QObject | None = None,
        *,
        cache: Any = None,
        store: RunStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings.load()
        self.registry = registry or default_registry()
        self.engine = EngineThread()
        self.bridge = RunBridge(self)
        self.bridge.batch.connect(self._on_batch)
        self._cache = cache
        self._store = store
        self._own_cache = cache is None
        self._own_store = store is None
        self._resources_tried = False
        self._warmed = False
        self._warming: concurrent.futures.Future[None] | None = None
        self.live: RunState | None = None
        self.shown: RunState | None = None
        #: The last finished run (its result), the source of "re-run from here".
        self.last_result: RunResult | None = None
        self._replayed: RunResult | None = None
        self._run: Any = None  # app.core.executor.Run
        self._executor: Any = None
        self._token = 0
        self._closed = False
        self.breakpoints: set[str] = set()
        #: Edited inputs of the node held at its breakpoint: port -> value.
        self.edits: dict[str, dict[str, Any]] = {}
        self._doc: Any = None
        self.workflow_path: str | None = None

    # -- what is going on -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._run is not None

    @property
    def paused(self) -> bool:
        return self.live is not None and self.busy and self.live.paused

    @property
    def held_node(self) -> str | None:
        return self.live.held if self.live is not None and self.busy else None

    @property
    def replaying(self) -> bool:
        return self.shown is not None and self.shown.replay

    # -- resources ------------------------------------------------------------------------------
    def warm_up(self) -> concurrent.futures.Future[None] | None:
        """Prepare the first run in the engine thread while the person looks at the window: the
        executor, the model clients and the keychain are imported there and the result cache
        and run history are opened. Otherwise the first Run pays for ~240 modules while the
        canvas is painting. Call it once the window is shown; calling it again only returns the
        future of the warm-up in the engine thread (None when the controller is closed)."""
        if self._warmed or self._closed:
            return self._warming
        self._warmed = True
        self._open_resources()
        self._warming = self.engine.submit(_warm_engine())
        return self._warming

    def _open_resources(self) -> None:
        if self._resources_tried:
            return
        self._resources_tried = True
        if self._cache is None:
            try:
                from app.core.cache import Cache

                self._cache = Cache.for_settings(self.settings)
            except Exception as exc:
                self.message.emit(f"The result cache cannot be used ({exc}); every node will run.")
        if self._store is None:
            try:
                self._store = RunStore()
            except Exception as exc:
                self.message.emit(f"The run history cannot be written ({exc}).")

    @property
    def store(self) -> RunStore | None:
        self._open_resources()
        return self._store

    # -- the document ---------------------------------------------------------------------------
    def set_document(self, doc: Any) -> None:
        """Follow a `WorkflowDocument`'s edits: they mark the shown run's nodes stale (or end a
        replay). A live run of the previous document is stopped."""
        if self._doc is not None:
            self._follow(self._doc, False)
        if self.busy:
            self.cancel()
        self._doc = doc
        self.workflow_path = workflow_key(doc.path) if doc is not None else None
        self.last_result = None
        self._replayed = None
        self._show(None)
        if doc is not None:
            self._follow(doc, True)
        self.history_changed.emit()

    def _follow(self, doc: Any, connect: bool) -> None:
        pairs = (
            (doc.node_changed, self._doc_node_changed),
            (doc.node_removed, self._doc_node_removed),
            (doc.node_renamed, self._doc_node_renamed),
            (doc.edge_added, self._doc_edge_changed),
            (doc.edge_removed, self._doc_edge_changed),
            (doc.reset, self._doc_reset),
            (doc.path_changed, self._doc_path_changed),
        )
        for signal, slot in pairs:
            (signal.connect if connect else signal.disconnect)(slot)

    def _doc_node_changed(self, node: Any, aspect: str) -> None:
        if aspect in ("config", "cache"):
            self.document_edited([node.id])
        elif aspect == "title" and self.shown is not None:
            self.shown.titles.update(self._doc_titles())

    def _doc_node_removed(self, node: Any, _index: int) -> None:
        self.document_edited([node.id])

    def _doc_node_renamed(self, node: Any, old_id: str) -> None:
        if old_id in self.breakpoints:
            self.breakpoints.discard(old_id)
            self.breakpoints.add(node.id)
            self.breakpoints_changed.emit(frozenset(self.breakpoints))
        self.document_edited([old_id])

    def _doc_edge_changed(self, edge: Any, _index: int) -> None:
        self.document_edited([edge.target])

    def _doc_reset(self) -> None:
        if self.shown is not None:
            self.document_edited(list(self.shown.nodes))

    def _doc_path_changed(self, path: Any) -> None:
        self.workflow_path = workflow_key(path)
        self.history_changed.emit()

    def document_edited(self, node_ids: Iterable[str]) -> None:
        """The person edited these nodes: a replay ends; the run shown marks them (and what is
        downstream of them) stale. A live run carries on with the workflow it started with."""
        if self.shown is None:
            return
        if self.shown.replay:
            self.clear_replay()
            return
        self.shown.mark_stale(node_ids)

    # -- showing --------------------------------------------------------------------------------
    def _show(self, state: RunState | None) -> None:
        old = self.shown
        if old is state:
            return
        if old is not None:
            old.nodes_changed.disconnect(self.nodes_changed)
            old.run_changed.disconnect(self.run_changed)
            old.log_appended.disconnect(self.log_appended)
            if old is not self.live:
                old.deleteLater()
        self.shown = state
        if state is not None:
            state.nodes_changed.connect(self.nodes_changed)
            state.run_changed.connect(self.run_changed)
            state.log_appended.connect(self.log_appended)
        self.state_changed.emit(state)

    def clear(self) -> None:
        """Show no run on the canvas (the live run, if any, carries on and is shown again)."""
        if self.busy and self.live is not None:
            self._show(self.live)
            return
        self._replayed = None
        self._show(None)

    # -- history and replay ---------------------------------------------------------------------
    def history(self, limit: int = 100) -> list[RunSummary]:
        """Past runs of the current workflow, newest first."""
        store = self.store
        if store is None or self._doc is None:
            return []
        try:
            if self.workflow_path is not None:
                return store.list(workflow_path=self.workflow_path, limit=limit)
            name = self._doc.workflow.name
            return [
                summary
                for summary in store.list(limit=max(limit * 4, 200))
                if summary.workflow_path is None and summary.workflow_name == name
            ][:limit]
        except Exception as exc:
            self.message.emit(f"The run history cannot be read ({exc}).")
            return []

    def replay(self, run_id: str) -> RunState | None:
        """Show a past run on the canvas, read-only. Nothing is run."""
        if self.busy:
            self.message.emit("A run is in progress: stop it or let it finish before looking at past runs.")
            return None
        store = self.store
        if store is None:
            return None
        try:
            result = store.load(run_id)
        except KeyError:
            self.message.emit(f"The run {run_id} is no longer in the history.")
            self.history_changed.emit()
            return None
        except Exception as exc:
            self.message.emit(f"The run {run_id} cannot be read ({exc}).")
            return None
        state = RunState.from_result(result, edges=self._doc_edges(), titles=self._doc_titles(), parent=self)
        self._replayed = result
        self._show(state)
        return state

    def clear_replay(self) -> None:
        if self.replaying:
            self._replayed = None
            self._show(None)

    def _doc_edges(self) -> list[EdgeRef]:
        if self._doc is None:
            return []
        return [EdgeRef(e.source, e.source_port, e.target, e.target_port) for e in self._doc.edges]

    def _doc_titles(self) -> dict[str, str]:
        if self._doc is None:
            return {}
        return node_names(self._doc.nodes)

    # -- breakpoints and edits ------------------------------------------------------------------
    def toggle_breakpoint(self, node_id: str) -> bool:
        """Add or remove a breakpoint; returns whether the node has one now."""
        if node_id in self.breakpoints:
            self.breakpoints.discard(node_id)
        else:
            self.breakpoints.add(node_id)
        self._breakpoints_updated()
        return node_id in self.breakpoints

    def set_breakpoints(self, node_ids: Iterable[str]) -> None:
        self.breakpoints = set(node_ids)
        self._breakpoints_updated()

    def _breakpoints_updated(self) -> None:
        run = self._run
        if run is not None:
            self.engine.call(self._guarded, self._token, run.set_breakpoints, set(self.breakpoints))
        self.breakpoints_changed.emit(frozenset(self.breakpoints))

    def set_edit(self, node_id: str, port: str, value: Any) -> None:
        """An input of the held node, edited (it replaces the resolved value on Continue)."""
        self.edits.setdefault(node_id, {})[port] = value

    def discard_edit(self, node_id: str, port: str) -> None:
        self.edits.get(node_id, {}).pop(port, None)

    def input_ports(self, node_id: str) -> dict[str, Any]:
        """The live run's input ports of a node (name -> `sdk.Port`)."""
        executor = self._executor
        if executor is None or node_id not in executor.plans:
            return {}
        plan = executor.plans[node_id]
        ports = {port.name: port for port in plan.instance.input_ports()}
        ports.update({port.name: port for _, _, _, port in plan.in_edges})
        return ports

    def _checked_edits(self, node_id: str) -> dict[str, Any] | None:
        """The edits of a held node, converted to its ports' types; None (and a message) if one
        cannot be used."""
        edits = dict(self.edits.get(node_id, {}))
        ports = self.input_ports(node_id)
        checked = {}
        for name, value in edits.items():
            if isinstance(value, _Invalid):
                self.message.emit(f"Not continued: input '{name}' is not valid JSON ({value.reason}).")
                return None
            port = ports.get(name)
            if port is None:
                continue
            try:
                checked[name] = coerce(value, port.type)
            except TypeError as exc:
                self.message.emit(f"Not continued: input '{name}' must be {port.type.value}: {exc}.")
                return None
        return checked

    # -- starting runs --------------------------------------------------------------------------
    def start(
        self,
        workflow: Workflow,
        *,
        inputs: Mapping[str, Any] | None = None,
        mode: str = "run",
        node_id: str | None = None,
        fresh: bool = False,
        restricted: bool = False,
        step: bool = False,
        workflow_path: str | Path | None = None,
    ) -> RunState | None:
        """Start a run of (a snapshot of) `workflow`. `mode` is "run", "run_to" (`node_id` and
        what feeds it) or "run_from" (`node_id` and what follows it, reusing the last results for
        what feeds it). `fresh` ignores cached results; `step` starts paused. Returns the live
        state, or None (with a `message`) when the run cannot start."""
        from app.core.executor import Executor, UnknownInputError

        if self._closed:
            return None
        if self.busy:
            self.message.emit("A run is already in progress.")
            return None
        _freeze_long_lived_objects()
        snapshot = workflow.model_copy(deep=True)
        analysis = analyze(snapshot, self.registry)
        if not analysis.ok:
            first = analysis.problems[0]
            count = len(analysis.problems)
            self.message.emit(
                f"Not run: the workflow has {count} problem{'s' if count != 1 else ''} "
                f"(first: {first}). Fix them and run again."
            )
            return None
        if node_id is not None and node_id not in analysis.nodes:
            self.message.emit(f"Not run: the workflow has no node '{node_id}'.")
            return None
        self._open_resources()
        path = workflow_key(workflow_path) if workflow_path is not None else self.workflow_path
        try:
            executor = Executor(
                analysis,
                settings=self.settings,
                cache=self._cache,
                store=self._store,
                workflow_path=path,
                workflow_dir=Path(path).parent if path else None,
            )
        except Exception as exc:
            self.message.emit(f"Not run: {exc}")
            return None
        previous: dict[str, NodeResult] = {}
        if mode == "run_from":
            base = self._replayed or self.last_result
            stale = {n for n, s in self.shown.nodes.items() if s.stale} if self.shown is not None else set()
            if base is not None:
                previous = {k: v for k, v in base.nodes.items() if k not in stale}
                if inputs is None:
                    inputs = dict(base.inputs)
        options = {
            "use_cache": not fresh,
            "restricted": restricted,
            "step_mode": step,
            "breakpoints": self.breakpoints & set(executor.plans),
        }
        try:
            if mode == "run_to" and node_id is not None:
                run = executor.run_to(node_id, inputs, **options)
            elif mode == "run_from" and node_id is not None:
                run = executor.run_from(node_id, previous, inputs, **options)
            else:
                run = executor.run(inputs, **options)
        except (UnknownInputError, ValueError) as exc:
            self.message.emit(f"Not run: {exc}")
            return None

        self._token += 1
        token = self._token
        edges = [EdgeRef(e.source, e.source_port, e.target, e.target_port) for e in snapshot.edges]
        titles = node_names(snapshot.nodes)  # as a replayed run's log names them
        state = RunState(run.run_id, edges=edges, titles=titles, parent=self)
        state.begin(mode, run.scope, run.inputs)
        old_live = self.live
        self.live = state
        self._replayed = None
        self.edits.clear()
        self._run = run
        self._executor = executor
        self._show(state)
        if old_live is not None and old_live is not state:
            old_live.deleteLater()
        run.subscribe(self.bridge.subscriber(token))
        future = self.engine.submit(run.wait())
        future.add_done_callback(lambda done: self.bridge.post(token, "done", done))
        self.busy_changed.emit(True)
        return state

    # -- controlling the live run ---------------------------------------------------------------
    def _guarded(self, token: int, fn: Callable[..., Any], *args: Any) -> None:
        """Runs in the engine thread: a control call whose failure comes back as a message."""
        try:
            fn(*args)
        except Exception as exc:
            self.bridge.post(token, "error", str(exc))

    def _control(self, name: str, *args: Any, **kwargs: Any) -> bool:
        run = self._run
        if run is None:
            return False
        method = getattr(run, name)
        self.engine.call(self._guarded, self._token, lambda: method(*args, **kwargs))
        return True

    def cancel(self) -> bool:
        """Stop the run: nodes in flight are cancelled (their requests aborted); what finished stays."""
        return self._control("cancel")

    def pause(self) -> bool:
        if not self.busy or self.paused:
            return False
        return self._control("pause")

    def resume(self) -> bool:
        """Continue (at a breakpoint: with the edited inputs)."""
        return self.continue_()

    def continue_(self) -> bool:
        if not self.busy:
            return False
        held = self.held_node
        replaced = None
        if held is not None:
            replaced = self._checked_edits(held)
            if replaced is None:
                return False
        return self._control("continue_", replaced or None)

    def step(self) -> bool:
        """While paused: start one node (at a breakpoint: the held one, with its edited inputs)."""
        if not self.busy or not self.paused:
            return False
        held = self.held_node
        if held is not None:
            replaced = self._checked_edits(held)
            if replaced is None:
                return False
            if self.live is not None:
                self.live.released(held, replaced)
            return self._control("continue_", replaced or None, step=True)
        return self._control("step")

    # -- events from the engine thread ----------------------------------------------------------
    def _on_batch(self, token: int, kind: str, payload: Any) -> None:
        if token != self._token or self._closed:
            return
        state = self.live
        if kind == "events":
            if state is None:
                return
            state.apply(payload)
            for event in payload:
                if event.kind == "paused":
                    self.paused_changed.emit(event.reason, event.node_id or "")
                elif event.kind == "resumed":
                    self.paused_changed.emit("", "")
                elif event.kind == "node_started" and event.node_id in self.edits:
                    del self.edits[event.node_id]
        elif kind == "error":
            self.message.emit(f"The run did not take that: {payload}")
        elif kind == "done":
            self._finished(payload)

    def _finished(self, future: concurrent.futures.Future[Any]) -> None:
        state = self.live
        result: RunResult | None = None
        problem = ""
        try:
            result = future.result()
        except concurrent.futures.CancelledError:
            problem = "the run was stopped"
        except Exception as exc:
            log.error("run failed inside the engine", exc_info=exc)
            problem = f"{type(exc).__name__}: {exc}"
        run = self._run
        self._run = None
        self.edits.clear()
        if result is None and run is not None and run.done:
            result = run.result
        if result is not None:
            self.last_result = result
        if state is not None:
            if problem:
                state.engine_failed(problem)
            state.flush()
            self.run_ended.emit(state)
        self.busy_changed.emit(False)
        self.paused_changed.emit("", "")
        self.history_changed.emit()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Process Qt events until no run is live (for scripts and benchmarks)."""
        import time

        from PySide6.QtCore import QCoreApplication, QEventLoop

        end = time.monotonic() + timeout
        while self.busy and time.monotonic() < end:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        if self.shown is not None:
            self.shown.flush()
        return not self.busy

    # -- the end --------------------------------------------------------------------------------
    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop any run, stop the engine thread and close the cache and run history."""
        if self._closed:
            return
        self._closed = True
        run = self._run
        if run is not None:
            self.engine.call(run.cancel)
        self.engine.stop(timeout)
        self.bridge.close()
        self._run = None
        if self._doc is not None:
            self._follow(self._doc, False)
            self._doc = None
        for resource, own in ((self._cache, self._own_cache), (self._store, self._own_store)):
            if resource is not None and own:
                with contextlib.suppress(Exception):
                    resource.close()
        self._cache = self._store = None


async def _warm_engine() -> None:
    """Runs in the engine thread (see `RunController.warm_up`); a failure here only means the
    first run imports what it needs itself."""
    try:
        import app.core.executor
        import app.core.llm.anthropic
        import app.core.llm.openai  # noqa: F401
        from app.core import secrets

        await asyncio.sleep(0)
        secrets._backend()  # the keychain's backends are found by importing them (D-Bus and all)
    except Exception:
        log.debug("warming up the engine failed", exc_info=True)
    # Start-up and the warm-up leave many young objects that would otherwise be walked by a full
    # collection in the middle of the first run: collect once now, while nothing is animating,
    # and keep what survives out of later collections (see "Garbage collection" above).
    gc.collect()
    gc.freeze()


class _Invalid:
    """An edited input that could not be read (kept so Continue can say why)."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def invalid_edit(text: str, reason: str) -> Any:
    return _Invalid(text, reason)
