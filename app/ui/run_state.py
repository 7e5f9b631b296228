"""What a run did to each node, kept outside the document (never saved, never on the undo stack).

`RunState` is built from the executor's event stream (`apply`, in batches from `run_bridge`) or
from a stored `RunResult` (`from_result`, the read-only replay of a past run). The canvas, the
inspector's Run tab, the run panel and the status bar all read it; none of them writes to it.

Views are told what changed through `nodes_changed(ids)` / `run_changed()` / `log_appended(first)`.
These are *coalesced*: changes are collected and announced by one timer at most every
`FRAME_MS` (about 30 times a second), so a node streaming 100 tokens per second is repainted at
most ~30 times per second, and an idle node not at all.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.core import events as ev
from app.core.runs import ErrorInfo, RunResult

#: Views are updated at most this often (ms): ~30 repaints per second per node.
FRAME_MS = 33

# Node statuses, in the order a node goes through them.
PENDING = "pending"  # in the run, waiting for its upstream
QUEUED = "queued"  # inputs ready, waiting for a free slot
RUNNING = "running"
PAUSED = "paused"  # held at its breakpoint, inputs resolved and editable
DONE = "done"
CACHED = "cached"  # the result came from the cache
REUSED = "reused"  # taken from an earlier run (re-run from here)
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"  # the run was stopped before or while the node ran

FINISHED_OK = frozenset({DONE, CACHED, REUSED})
SETTLED = frozenset({DONE, CACHED, REUSED, FAILED, SKIPPED, CANCELLED})

STATUS_LABELS = {
    PENDING: "Waiting",
    QUEUED: "Queued",
    RUNNING: "Running",
    PAUSED: "Paused at breakpoint",
    DONE: "Done",
    CACHED: "From the cache",
    REUSED: "Reused from the last run",
    FAILED: "Failed",
    SKIPPED: "Skipped",
    CANCELLED: "Stopped",
}

#: Status colours (hex), readable on light and dark canvases.
STATUS_COLOURS = {
    PENDING: "#8c8f96",
    QUEUED: "#8c8f96",
    RUNNING: "#2f7de1",
    PAUSED: "#e08a00",
    DONE: "#2e9d57",
    CACHED: "#1f9e9a",
    REUSED: "#1f9e9a",
    FAILED: "#d93025",
    SKIPPED: "#8c8f96",
    CANCELLED: "#a0785a",
}


@dataclass
class NodeRunState:
    """One node in one run."""

    node_id: str
    status: str = PENDING
    #: Resolved inputs (after any edit at a breakpoint); None until the node starts.
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    skipped_outputs: dict[str, str] = field(default_factory=dict)
    chunks: list[str] = field(default_factory=list)
    started: float | None = None  # wall clock
    duration_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    saved_tokens: int = 0
    saved_cost_usd: float | None = None
    error: ErrorInfo | None = None
    skip_reason: str = ""
    logs: list[tuple[str, str]] = field(default_factory=list)
    progress: tuple[float, str] | None = None
    #: Input ports whose values were replaced at the breakpoint (edit-and-continue).
    replaced: tuple[str, ...] = ()
    #: The node (or something upstream of it) was edited after this run started.
    stale: bool = False
    #: Bumped on every change, so a view can tell whether it is up to date.
    version: int = 0
    _text: str = ""
    _text_parts: int = 0

    @property
    def text(self) -> str:
        """The text streamed so far."""
        if self._text_parts != len(self.chunks):
            self._text = "".join(self.chunks)
            self._text_parts = len(self.chunks)
        return self._text

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def settled(self) -> bool:
        return self.status in SETTLED

    def elapsed(self) -> float | None:
        if self.duration_s is not None:
            return self.duration_s
        if self.started is not None and self.status in (RUNNING,):
            return max(0.0, time.time() - self.started)
        return None

    def main_value(self) -> tuple[bool, Any]:
        """(found, value): the value the node's preview shows (its first output; for an output
        node the value it received)."""
        for value in self.outputs.values():
            return True, value
        if self.inputs and "value" in self.inputs and not self.outputs:
            return True, self.inputs["value"]
        return False, None

    def preview(self) -> str:
        """One short line for the canvas."""
        stale = "edited since · " if self.stale else ""
        status = self.status
        if status == RUNNING:
            if self.chunks:
                return stale + tail_line(self.text)
            if self.progress is not None:
                return stale + (self.progress[1] or f"{self.progress[0]:.0%}")
            return stale + "running…"
        if status == FAILED and self.error is not None:
            return stale + first_line(self.error.message)
        if status == SKIPPED:
            return stale + "skipped: " + short_reason(self.skip_reason)
        if status == PAUSED:
            return "paused before running — inputs editable"
        if status == PENDING:
            return "waiting for upstream"
        if status == QUEUED:
            return "queued"
        found, value = self.main_value()
        if status == CANCELLED:
            if self.chunks:
                return "stopped: " + tail_line(self.text)
            return "stopped" if self.started is not None else "not run (stopped)"
        if found:
            return stale + preview_value(value)
        if self.skipped_outputs:
            return stale + "no output: " + first_line(next(iter(self.skipped_outputs.values())))
        return stale + "no output"

    def meta(self) -> str:
        """A short right-aligned note: time, or where the result came from."""
        if self.status == CACHED:  # what the cache hit saved
            if self.saved_cost_usd:
                return f"cached, saved {format_cost(self.saved_cost_usd)}"
            return f"cached, saved {self.saved_tokens:,} tok" if self.saved_tokens else "cached"
        if self.status == REUSED:
            return "reused"
        elapsed = self.elapsed()
        if elapsed is None:
            return ""
        return format_duration(elapsed)


def node_names(nodes: Iterable[Any]) -> dict[str, str]:
    """How the run views name nodes: as the canvas does (the title, else the id), and a title two
    nodes share with its node's id after it, so a log line never leaves the reader guessing."""
    nodes = list(nodes)
    shown = {node.id: node.title or node.id for node in nodes}
    counts: dict[str, int] = {}
    for name in shown.values():
        counts[name] = counts.get(name, 0) + 1
    return {
        node_id: f"{name} ({node_id})" if counts[name] > 1 and name != node_id else name
        for node_id, name in shown.items()
    }


def short_reason(reason: str) -> str:
    """The heart of a skip reason: "input 'x': output 'y' of 'z' was not produced: the condition
    was true" becomes "the condition was true"."""
    text = first_line(reason)
    if text.startswith("input '") and "': " in text:
        text = text.split("': ", 1)[1]
    if " was not produced: " in text:
        text = text.split(" was not produced: ", 1)[1]
    return text


def first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def tail_line(text: str, limit: int = 120) -> str:
    """The end of streamed text, on one line (what is arriving now)."""
    tail = text[-limit * 2 :].replace("\r", " ").replace("\n", " ").strip()
    return tail[-limit:] if tail else "…"


def preview_value(value: Any) -> str:
    """A value in a few words: first line of text, or the JSON type and size."""
    if isinstance(value, str):
        line = first_line(value)
        if not value.strip():
            return "(empty text)"
        lines = value.count("\n") + 1
        return line + (f"  (+{lines - 1} lines)" if lines > 1 and len(line) < 60 else "")
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, dict):
        count = len(value)
        return f"{{…}} object · {count} key{'s' if count != 1 else ''}"
    if isinstance(value, list | tuple):
        count = len(value)
        return f"[…] list · {count} item{'s' if count != 1 else ''}"
    return first_line(repr(value))


def describe_value(value: Any) -> str:
    """The type and size of a value, for headings ("text · 3 lines", "object · 4 keys")."""
    if isinstance(value, str):
        lines = value.count("\n") + 1 if value else 0
        if lines > 1:
            return f"text · {lines:,} lines"
        return f"text · {len(value):,} char{'s' if len(value) != 1 else ''}"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return f"object · {len(value):,} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, list | tuple):
        return f"list · {len(value):,} item{'s' if len(value) != 1 else ''}"
    return type(value).__name__


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def format_cost(cost: float | None) -> str:
    if cost is None:
        return ""
    if cost == 0:
        return "$0"
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


@dataclass
class LogEntry:
    timestamp: float
    node_id: str | None
    kind: str  # started, finished, cached, failed, skipped, log, paused, resumed, run
    text: str
    level: str = "info"


@dataclass(frozen=True)
class EdgeRef:
    source: str
    source_port: str
    target: str
    target_port: str


#: Pause between two pieces of work spread over frames by `later` (ms): a real interval, not 0,
#: so each piece's repaint is painted, and other timers get their turn, before the next piece.
SLICE_MS = 4


class _FrameSlices(QObject):
    """Work a run's change brings that is too much for one frame (a status change of many nodes
    repaints their strips, the inspector lays out new blocks): one piece per frame, in order."""

    def __init__(self) -> None:
        super().__init__()
        self._jobs: dict[Any, Any] = {}  # key -> callable, in order
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SLICE_MS)
        self._timer.timeout.connect(self._run_one)
        # The interval is counted from the event loop's next turn, not from `add`: work added by
        # a long call (starting a run) must not fall due before that call's frame is painted.
        self._arm = QTimer(self)
        self._arm.setSingleShot(True)
        self._arm.setInterval(0)
        self._arm.timeout.connect(self._timer.start)

    def add(self, key: Any, job: Any) -> None:
        self._jobs.pop(key, None)
        self._jobs[key] = job
        if not self._timer.isActive() and not self._arm.isActive():
            self._arm.start()

    def discard(self, key: Any) -> None:
        self._jobs.pop(key, None)

    def pending(self, key: Any) -> bool:
        return key in self._jobs

    def idle(self) -> bool:
        """Nothing is waiting (for tests and scripts that check the views after a run)."""
        return not self._jobs

    def _run_one(self) -> None:
        if not self._jobs:
            return
        key = next(iter(self._jobs))
        job = self._jobs.pop(key)
        with contextlib.suppress(RuntimeError):  # its widget was deleted meanwhile
            job()
        if self._jobs and not self._arm.isActive():
            self._timer.start()  # counted from now: this piece's frame is painted first


_slices: _FrameSlices | None = None


def frame_slices() -> _FrameSlices:
    """The one queue of per-frame work (made on first use, in the GUI thread)."""
    global _slices
    if _slices is None:
        _slices = _FrameSlices()
    return _slices


class RunState(QObject):
    """The state of one run (live or replayed), node by node."""

    nodes_changed = Signal(object)  # frozenset[str] of node ids
    run_changed = Signal()
    log_appended = Signal(int)  # index of the first new entry

    def __init__(
        self,
        run_id: str = "",
        *,
        edges: Iterable[EdgeRef] = (),
        titles: dict[str, str] | None = None,
        replay: bool = False,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.run_id = run_id
        self.replay = replay
        self.mode = "run"
        #: "starting", "running", "succeeded", "failed", "cancelled"
        self.status = "starting"
        self.paused = False
        self.pause_reason = ""
        self.held: str | None = None  # node held at its breakpoint
        self.next_node: str | None = None  # the node a step would start
        self.started: float | None = None
        self.duration_s: float | None = None
        self.inputs: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.missing_outputs: dict[str, str] = {}
        self.failures: list[dict[str, Any]] = []
        self.scope: tuple[str, ...] = ()
        self.nodes: dict[str, NodeRunState] = {}
        self.titles = dict(titles or {})
        self.edges: list[EdgeRef] = list(edges)
        self.log: list[LogEntry] = []
        self.error: str = ""  # an engine error that ended the run
        self.running: set[str] = set()
        self.final_totals: dict[str, Any] | None = None
        self._out: dict[str, list[EdgeRef]] = {}
        self._in: dict[str, list[EdgeRef]] = {}
        for edge in self.edges:
            self._out.setdefault(edge.source, []).append(edge)
            self._in.setdefault(edge.target, []).append(edge)
        self._dirty: set[str] = set()
        self._run_dirty = False
        self._log_first: int | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        # The frame's announcement waits its turn with the other per-frame work (`frame_slices`),
        # so what it repaints is not painted in the same frame as another piece's repaint.
        self._timer.timeout.connect(self._flush_in_turn)

    # -- reading ------------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        return not self.replay and self.status in ("starting", "running")

    @property
    def ended(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    def node(self, node_id: str) -> NodeRunState | None:
        return self.nodes.get(node_id)

    def title(self, node_id: str | None) -> str:
        if node_id is None:
            return ""
        return self.titles.get(node_id) or node_id

    def elapsed(self) -> float:
        if self.duration_s is not None:
            return self.duration_s
        if self.started is None:
            return 0.0
        return max(0.0, time.time() - self.started)

    def totals(self) -> dict[str, Any]:
        if self.final_totals is not None:
            return self.final_totals
        costs = [n.cost_usd for n in self.nodes.values() if n.cost_usd is not None]
        saved = [n.saved_cost_usd for n in self.nodes.values() if n.saved_cost_usd is not None]
        return {
            "input_tokens": sum(n.input_tokens for n in self.nodes.values()),
            "output_tokens": sum(n.output_tokens for n in self.nodes.values()),
            "cost_usd": float(sum(costs)) if costs else None,
            "cache_hits": sum(1 for n in self.nodes.values() if n.status == CACHED),
            "saved_tokens": sum(n.saved_tokens for n in self.nodes.values()),
            "saved_cost_usd": float(sum(saved)) if saved else None,
        }

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for node in self.nodes.values():
            counts[node.status] = counts.get(node.status, 0) + 1
        return counts

    def wire_state(self, source: str, source_port: str, target: str) -> str | None:
        """How a wire looks: "flowing" (its value is being used now), "carried" (a value went
        along it), "blocked" (no value will come: not produced, skipped, failed) or None."""
        upstream = self.nodes.get(source)
        if upstream is None:
            return None
        if upstream.status in FINISHED_OK:
            if source_port in upstream.outputs:
                downstream = self.nodes.get(target)
                if downstream is not None and downstream.status in (RUNNING, PAUSED):
                    return "flowing"
                return "carried"
            return "blocked"
        if upstream.status in (FAILED, SKIPPED):
            return "blocked"
        return None

    def downstream(self, node_ids: Iterable[str]) -> set[str]:
        """The nodes and everything downstream of them, along the run's own edges."""
        seen: set[str] = set()
        work = list(node_ids)
        while work:
            current = work.pop()
            if current in seen:
                continue
            seen.add(current)
            work.extend(edge.target for edge in self._out.get(current, ()))
        return seen

    def neighbours(self, node_id: str) -> set[str]:
        found = {edge.target for edge in self._out.get(node_id, ())}
        found.update(edge.source for edge in self._in.get(node_id, ()))
        return found

    # -- changes ------------------------------------------------------------------------------
    def _touch(self, node: NodeRunState) -> None:
        node.version += 1
        self._dirty.add(node.node_id)
        self._schedule()

    def _touch_run(self) -> None:
        self._run_dirty = True
        self._schedule()

    def _add_log(self, entry: LogEntry) -> None:
        if self._log_first is None:
            self._log_first = len(self.log)
        self.log.append(entry)
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _flush_in_turn(self) -> None:
        frame_slices().add(("flush", id(self)), self.flush)

    def flush(self) -> None:
        """Announce what changed since the last flush (normally called by the frame timer)."""
        self._timer.stop()
        frame_slices().discard(("flush", id(self)))
        dirty, self._dirty = self._dirty, set()
        run_dirty, self._run_dirty = self._run_dirty, False
        first, self._log_first = self._log_first, None
        if dirty:
            self.nodes_changed.emit(frozenset(dirty))
        if run_dirty or dirty:
            self.run_changed.emit()
        if first is not None:
            self.log_appended.emit(first)

    def mark_stale(self, node_ids: Iterable[str]) -> set[str]:
        """Nodes edited after the run started: they and their downstream are marked stale."""
        changed = set()
        for node_id in self.downstream(node_ids):
            node = self.nodes.get(node_id)
            if node is not None and not node.stale:
                node.stale = True
                self._touch(node)
                changed.add(node_id)
        return changed

    def _state(self, node_id: str) -> NodeRunState:
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = NodeRunState(node_id)
        return node

    def begin(self, mode: str, scope: Iterable[str], inputs: dict[str, Any]) -> None:
        """What is known before the first event: every node in the run is waiting."""
        self.mode = mode
        self.scope = tuple(scope)
        self.inputs = dict(inputs)
        self.started = time.time()
        for node_id in self.scope:
            self._touch(self._state(node_id))
        self._touch_run()

    # -- from the event stream ------------------------------------------------------------------
    def apply(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            handler = _HANDLERS.get(event.kind)
            if handler is not None:
                handler(self, event)

    def _on_run_started(self, event: ev.RunStarted) -> None:
        self.run_id = event.run_id
        self.status = "running"
        self.mode = event.mode
        self.started = event.timestamp
        self.inputs = dict(event.inputs)
        self.scope = tuple(event.nodes)
        for node_id in event.nodes:
            node = self._state(node_id)
            node.status = PENDING
            self._touch(node)
        given = ", ".join(f"{k}={_short(v)}" for k, v in event.inputs.items())
        mode = {"run": "Run", "run_to": "Run to a node", "run_from": "Re-run from a node"}.get(
            event.mode, "Run"
        )
        self._add_log(
            LogEntry(
                event.timestamp,
                None,
                "run",
                f"{mode} started ({len(event.nodes)} node{'' if len(event.nodes) == 1 else 's'})"
                + (f" with {given}" if given else ""),
            )
        )
        self._touch_run()

    def _on_node_queued(self, event: ev.NodeQueued) -> None:
        node = self._state(event.node_id or "")
        if node.status in (PENDING, QUEUED):
            node.status = QUEUED
            self._touch(node)

    def _on_node_started(self, event: ev.NodeStarted) -> None:
        node_id = event.node_id or ""
        node = self._state(node_id)
        node.status = RUNNING
        node.inputs = dict(event.inputs)
        node.started = event.timestamp
        node.chunks = []
        node.duration_s = None
        self.running.add(node_id)
        if event.title:
            self.titles.setdefault(node_id, event.title)
        if self.next_node == node_id:
            self.next_node = None
        if self.held == node_id:  # released by a step
            self.held = None
            self._touch_run()
        self._touch(node)
        self._add_log(LogEntry(event.timestamp, node_id, "started", "started"))

    def _on_chunk(self, event: ev.Chunk) -> None:
        node = self._state(event.node_id or "")
        node.chunks.append(event.text)
        self._touch(node)

    def _on_progress(self, event: ev.Progress) -> None:
        node = self._state(event.node_id or "")
        node.progress = (event.fraction, event.message)
        self._touch(node)

    def _on_log(self, event: ev.NodeLog) -> None:
        node = self._state(event.node_id or "")
        node.logs.append((event.level, event.message))
        self._touch(node)
        self._add_log(LogEntry(event.timestamp, event.node_id, "log", event.message, event.level))

    def _on_finished(self, event: ev.NodeFinished) -> None:
        node_id = event.node_id or ""
        node = self._state(node_id)
        node.status = CACHED if event.cached else REUSED if event.reused else DONE
        node.outputs = dict(event.outputs)
        node.skipped_outputs = dict(event.skipped_outputs)
        node.duration_s = event.duration_s
        node.input_tokens, node.output_tokens = event.input_tokens, event.output_tokens
        node.cost_usd = event.cost_usd
        node.saved_tokens, node.saved_cost_usd = event.saved_tokens, event.saved_cost_usd
        self.running.discard(node_id)
        self._touch(node)
        if event.reused:
            text = "reused from the earlier run"
        elif event.cached:
            saved = f"saved {event.saved_tokens:,} tokens" if event.saved_tokens else "no model call"
            cost = format_cost(event.saved_cost_usd)
            text = f"from the cache ({saved}{', ' + cost if cost else ''})"
        else:
            parts = [format_duration(event.duration_s)]
            if event.tokens:
                parts.append(f"{event.tokens:,} tokens")
            if event.cost_usd:
                parts.append(format_cost(event.cost_usd))
            if node.chunks:
                count = len(node.chunks)
                parts.append(f"{count} chunk{'s' if count != 1 else ''} streamed")
            text = "done (" + ", ".join(parts) + ")"
        self._add_log(LogEntry(event.timestamp, node_id, "cached" if event.cached else "finished", text))

    def _on_failed(self, event: ev.NodeFailed) -> None:
        node_id = event.node_id or ""
        node = self._state(node_id)
        node.status = FAILED
        node.duration_s = event.duration_s
        node.error = ErrorInfo(
            event.error_type, event.message, event.port, event.field, event.user_line, event.traceback
        )
        self.running.discard(node_id)
        self._touch(node)
        self._add_log(LogEntry(event.timestamp, node_id, "failed", f"failed: {event.message}", "error"))

    def _on_skipped(self, event: ev.NodeSkipped) -> None:
        node_id = event.node_id or ""
        node = self._state(node_id)
        node.status = SKIPPED
        node.skip_reason = event.reason
        self._touch(node)
        self._add_log(LogEntry(event.timestamp, node_id, "skipped", f"skipped: {event.reason}", "warning"))

    def _on_paused(self, event: ev.Paused) -> None:
        self.paused = True
        self.pause_reason = event.reason
        if event.reason == "breakpoint" and event.node_id:
            self.held = event.node_id
            node = self._state(event.node_id)
            node.status = PAUSED
            node.inputs = dict(event.inputs or {})
            self._touch(node)
            text = "paused at the breakpoint — its inputs can be edited before it runs"
        else:
            self.next_node = event.node_id
            waiting = f"; next: {self.title(event.node_id)}" if event.node_id else ""
            running = f"; {len(event.running)} node(s) still finishing" if event.running else ""
            text = ("paused" if event.reason == "pause" else "waiting for the next step") + waiting + running
        self._add_log(LogEntry(event.timestamp, event.node_id, "paused", text))
        self._touch_run()

    def _on_resumed(self, event: ev.Resumed) -> None:
        self.paused = False
        self.pause_reason = ""
        held, self.held = self.held, None
        if held is not None:
            node = self._state(held)
            node.replaced = tuple(event.replaced)
            if node.status == PAUSED:
                node.status = QUEUED
            self._touch(node)
        edited = f" with edited input(s): {', '.join(event.replaced)}" if event.replaced else ""
        self._add_log(LogEntry(event.timestamp, held, "resumed", "continued" + edited))
        self._touch_run()

    def released(self, node_id: str, replaced: Iterable[str]) -> None:
        """A held node was started by a step (the run stays paused): note the edited inputs."""
        if self.held == node_id:
            self.held = None
        node = self._state(node_id)
        node.replaced = tuple(replaced)
        self._touch(node)
        self._touch_run()

    def _on_run_ended(self, event: ev._RunEnded) -> None:
        self.status = {"run_finished": "succeeded", "run_failed": "failed"}.get(event.kind, "cancelled")
        self.duration_s = event.duration_s
        self.outputs = dict(event.outputs)
        self.missing_outputs = dict(event.missing_outputs)
        self.paused = False
        self.held = None
        self.next_node = None
        self.final_totals = {
            "input_tokens": event.input_tokens,
            "output_tokens": event.output_tokens,
            "cost_usd": event.cost_usd,
            "cache_hits": event.cache_hits,
            "saved_tokens": event.saved_tokens,
            "saved_cost_usd": event.saved_cost_usd,
        }
        if isinstance(event, ev.RunFailed):
            self.failures = [dict(f) for f in event.failures]
        self._settle_leftovers()
        tokens = event.input_tokens + event.output_tokens
        parts = [format_duration(event.duration_s)]
        if tokens:
            parts.append(f"{tokens:,} tokens")
        if event.cost_usd:
            parts.append(format_cost(event.cost_usd))
        if event.cache_hits:
            parts.append(f"{event.cache_hits} from the cache")
        verb = {"succeeded": "finished", "failed": "finished with failures", "cancelled": "stopped"}[
            self.status
        ]
        level = {"succeeded": "info", "failed": "error", "cancelled": "warning"}[self.status]
        self._add_log(LogEntry(event.timestamp, None, "run", f"run {verb} ({', '.join(parts)})", level))
        for name, reason in event.missing_outputs.items():
            self._add_log(
                LogEntry(event.timestamp, None, "run", f"output '{name}' has no value: {reason}", "warning")
            )
        self._touch_run()

    def _settle_leftovers(self) -> None:
        """After a stop: what was still waiting or running is shown as stopped (partial text kept)."""
        now = time.time()
        for node in self.nodes.values():
            if node.status in (PENDING, QUEUED, RUNNING, PAUSED):
                if node.status == RUNNING and node.started is not None:
                    node.duration_s = max(0.0, now - node.started)
                node.status = CANCELLED
                self._touch(node)
        self.running.clear()

    def engine_failed(self, message: str) -> None:
        """The run ended because of an error outside any node (shown, never raised)."""
        self.error = message
        if not self.ended:
            self.status = "failed"
            self.duration_s = self.elapsed()
        self._settle_leftovers()
        self._add_log(LogEntry(time.time(), None, "run", f"the run stopped: {message}", "error"))
        self._touch_run()

    # -- from the run history -------------------------------------------------------------------
    @classmethod
    def from_result(
        cls,
        result: RunResult,
        *,
        edges: Iterable[EdgeRef] = (),
        titles: dict[str, str] | None = None,
        parent: QObject | None = None,
    ) -> RunState:
        """A finished run, rebuilt from the run store (read-only; nothing is run)."""
        state = cls(result.run_id, edges=edges, titles=titles, replay=True, parent=parent)
        state.mode = result.mode
        state.status = result.status if result.status != "running" else "cancelled"
        state.started = result.started
        state.duration_s = result.duration_s
        state.inputs = dict(result.inputs)
        state.outputs = dict(result.outputs)
        state.missing_outputs = dict(result.missing_outputs)
        state.scope = tuple(result.nodes)
        state.final_totals = result.totals()
        state.log.append(
            LogEntry(
                result.started,
                None,
                "run",
                f"run of {_when(result.started)} — read-only replay, nothing is run",
            )
        )
        for node_id, stored in result.nodes.items():
            node = state._state(node_id)
            if stored.status == "succeeded":
                node.status = CACHED if stored.cached else REUSED if stored.reused else DONE
            elif stored.status == "cancelled":
                node.status = CANCELLED
            else:
                node.status = FAILED if stored.status == "failed" else SKIPPED
            node.inputs = stored.inputs
            node.outputs = dict(stored.outputs)
            node.skipped_outputs = dict(stored.skipped_outputs)
            node.started = stored.started
            node.duration_s = stored.duration_s
            node.input_tokens, node.output_tokens = stored.input_tokens, stored.output_tokens
            node.cost_usd = stored.cost_usd
            node.saved_tokens, node.saved_cost_usd = stored.saved_tokens, stored.saved_cost_usd
            node.skip_reason = stored.skip_reason or ""
            node.logs = list(stored.log)
            node.error = stored.error
            when = stored.finished or stored.started or result.started
            if node.status == FAILED and node.error is not None:
                state.log.append(LogEntry(when, node_id, "failed", f"failed: {node.error.message}", "error"))
            elif node.status == SKIPPED:
                state.log.append(
                    LogEntry(when, node_id, "skipped", f"skipped: {node.skip_reason}", "warning")
                )
            elif node.status == CANCELLED:
                state.log.append(LogEntry(when, node_id, "run", "stopped", "warning"))
            else:
                state.log.append(
                    LogEntry(
                        when,
                        node_id,
                        "finished",
                        STATUS_LABELS[node.status].lower() + f" ({format_duration(node.duration_s or 0.0)})",
                    )
                )
            for level, message in node.logs:
                state.log.append(LogEntry(when, node_id, "log", message, level))
        return state


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(ev.jsonable(value), ensure_ascii=False)
    text = text.replace("\n", " ")
    return repr(text[:limit] + "…") if len(text) > limit else repr(text)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp)) if timestamp else "an earlier time"


_HANDLERS = {
    "run_started": RunState._on_run_started,
    "node_queued": RunState._on_node_queued,
    "node_started": RunState._on_node_started,
    "chunk": RunState._on_chunk,
    "progress": RunState._on_progress,
    "node_log": RunState._on_log,
    "node_finished": RunState._on_finished,
    "node_failed": RunState._on_failed,
    "node_skipped": RunState._on_skipped,
    "paused": RunState._on_paused,
    "resumed": RunState._on_resumed,
    "run_finished": RunState._on_run_ended,
    "run_failed": RunState._on_run_ended,
    "run_cancelled": RunState._on_run_ended,
}


RUN_STATUS_LABELS = {
    "starting": "Starting",
    "running": "Running",
    "succeeded": "Finished",
    "failed": "Finished with failures",
    "cancelled": "Stopped",
}


def run_headline(state: RunState) -> str:
    """What the run is doing, in a few words ("Paused at 'Facts'", "Finished with failures")."""
    if state.live and state.paused:
        if state.held:
            return f"Paused at breakpoint: {state.title(state.held)}"
        return "Paused" + (f" (next: {state.title(state.next_node)})" if state.next_node else "")
    return RUN_STATUS_LABELS.get(state.status, state.status)


def run_totals_text(state: RunState) -> str:
    """Time, tokens, cost and cache use of a run, for the status bar and the run panel."""
    totals = state.totals()
    parts = [format_duration(state.elapsed())]
    tokens = int(totals.get("input_tokens") or 0) + int(totals.get("output_tokens") or 0)
    parts.append(f"{tokens:,} tokens")
    cost = totals.get("cost_usd")
    if cost is not None:
        parts.append(format_cost(cost))
    hits = int(totals.get("cache_hits") or 0)
    if hits:
        saved_tokens = int(totals.get("saved_tokens") or 0)
        saved_cost = format_cost(totals.get("saved_cost_usd"))
        saving = f"{saved_tokens:,} tokens" + (f", {saved_cost}" if saved_cost else "")
        parts.append(f"{hits} cached (saved {saving})")
    return " · ".join(parts)
