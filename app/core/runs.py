"""Run history: what every run did, kept in SQLite in the user data dir.

A run is stored as one row in `runs` (id, workflow path/name/hash, start and end time, status,
inputs, final outputs, totals) and one row per executed node in `node_results` (status, resolved
inputs, outputs, timing, usage, error, skip reason, log lines). Everything is JSON inside; values
JSON cannot hold are stored as their ``repr``.

`NodeResult` and `RunResult` are the in-memory form of the same records: the executor returns a
`RunResult`, `RunStore.load` gives one back, and run-from-node takes one as its "previous results".

The workflow hash (`workflow_hash`) covers what changes results — node ids, types, configs, the
`cache` flags and the edges — and not layout (positions, titles, descriptions, the `ui` object),
so moving a node does not make a run look like it came from another workflow.

The database uses WAL journaling and a busy timeout, so the app and a `chainwright run` in a
terminal may write to it at the same time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.events import jsonable
from app.core.model import Workflow

NodeStatus = Literal["succeeded", "failed", "skipped", "cancelled"]
RunStatus = Literal["running", "succeeded", "failed", "cancelled"]

SCHEMA_VERSION = 1


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys; raises TypeError/ValueError for values JSON cannot hold."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def workflow_hash(workflow: Workflow) -> str:
    """sha256 over what decides a workflow's results (not its layout)."""
    doc = {
        "nodes": [[node.id, node.type, node.config, node.cache] for node in workflow.nodes],
        "edges": [[edge.source, edge.source_port, edge.target, edge.target_port] for edge in workflow.edges],
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class ErrorInfo:
    error_type: str
    message: str
    port: str | None = None
    field: str | None = None
    user_line: int | None = None
    traceback: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_type": self.error_type,
            "message": self.message,
            "port": self.port,
            "field": self.field,
            "user_line": self.user_line,
            "traceback": self.traceback,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErrorInfo:
        return cls(
            **{key: data.get(key) for key in ("error_type", "message", "port", "field", "user_line")},
            traceback=data.get("traceback") or "",
        )


@dataclass
class NodeResult:
    """What happened to one node in one run."""

    node_id: str
    status: NodeStatus
    type_id: str = ""
    #: Resolved inputs (after conversion and any edit at a breakpoint); None if it never started.
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    #: Outputs deliberately not produced: port → reason.
    skipped_outputs: dict[str, str] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    duration_s: float = 0.0
    #: Usage reports of this execution (none for cache hits), as dicts of `sdk.Usage` fields.
    #: The three sequences below default to an empty *tuple*: a run keeps one `NodeResult` per
    #: node, and empty lists would be three more objects per node for the garbage collector to
    #: scan; the executor makes a list when there is something to add.
    usage: Sequence[dict[str, Any]] = ()
    cached: bool = False
    reused: bool = False
    #: For cache hits: the usage the original execution reported (what the hit saved).
    saved_usage: Sequence[dict[str, Any]] = ()
    error: ErrorInfo | None = None
    skip_reason: str | None = None
    #: The node failed, or was skipped because this node (upstream) failed.
    failed_root: str | None = None
    log: Sequence[tuple[str, str]] = ()

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def input_tokens(self) -> int:
        return sum(int(u.get("input_tokens") or 0) for u in self.usage)

    @property
    def output_tokens(self) -> int:
        return sum(int(u.get("output_tokens") or 0) for u in self.usage)

    @property
    def cost_usd(self) -> float | None:
        return _sum_cost(self.usage)

    @property
    def saved_tokens(self) -> int:
        return sum(
            int(u.get("input_tokens") or 0) + int(u.get("output_tokens") or 0) for u in self.saved_usage
        )

    @property
    def saved_cost_usd(self) -> float | None:
        return _sum_cost(self.saved_usage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "status": self.status,
            "type_id": self.type_id,
            "inputs": jsonable(self.inputs),
            "outputs": jsonable(self.outputs),
            "skipped_outputs": dict(self.skipped_outputs),
            "started": self.started,
            "finished": self.finished,
            "duration_s": self.duration_s,
            "usage": jsonable(self.usage),
            "cached": self.cached,
            "reused": self.reused,
            "saved_usage": jsonable(self.saved_usage),
            "error": self.error.to_dict() if self.error else None,
            "skip_reason": self.skip_reason,
            "failed_root": self.failed_root,
            "log": [list(line) for line in self.log],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeResult:
        error = data.get("error")
        return cls(
            node_id=data["node_id"],
            status=data["status"],
            type_id=data.get("type_id", ""),
            inputs=data.get("inputs"),
            outputs=data.get("outputs") or {},
            skipped_outputs=data.get("skipped_outputs") or {},
            started=data.get("started"),
            finished=data.get("finished"),
            duration_s=data.get("duration_s") or 0.0,
            usage=data.get("usage") or [],
            cached=bool(data.get("cached")),
            reused=bool(data.get("reused")),
            saved_usage=data.get("saved_usage") or [],
            error=ErrorInfo.from_dict(error) if error else None,
            skip_reason=data.get("skip_reason"),
            failed_root=data.get("failed_root"),
            log=[(str(level), str(message)) for level, message in data.get("log") or []],
        )


def _sum_cost(usage: list[dict[str, Any]]) -> float | None:
    costs = [u.get("cost_usd") for u in usage if u.get("cost_usd") is not None]
    return float(sum(costs)) if costs else None


@dataclass
class RunResult:
    """A whole run: the executor's return value and the run store's record."""

    run_id: str
    status: RunStatus
    mode: str = "run"
    workflow_path: str | None = None
    workflow_name: str = ""
    workflow_hash: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    #: {io.output name: value} of every workflow output that received a value.
    outputs: dict[str, Any] = field(default_factory=dict)
    #: {io.output name: reason} of the workflow outputs that did not (reported, never silent).
    missing_outputs: dict[str, str] = field(default_factory=dict)
    #: Node results in the order the nodes settled.
    nodes: dict[str, NodeResult] = field(default_factory=dict)
    started: float = 0.0
    finished: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def failures(self) -> list[NodeResult]:
        return [result for result in self.nodes.values() if result.status == "failed"]

    @property
    def duration_s(self) -> float:
        return (self.finished - self.started) if self.finished else 0.0

    def totals(self) -> dict[str, Any]:
        """Tokens, cost and cache hits of the nodes this run executed (reused ones not counted).

        One pass over the nodes; those with no usage reports (most nodes) cost a couple of checks.
        """
        input_tokens = output_tokens = saved_tokens = cache_hits = 0
        costs: list[float] = []
        saved_costs: list[float] = []
        for r in self.nodes.values():
            if r.reused:
                continue
            if r.cached:
                cache_hits += 1
            if r.usage:
                input_tokens += r.input_tokens
                output_tokens += r.output_tokens
                cost = r.cost_usd
                if cost is not None:
                    costs.append(cost)
            if r.saved_usage:
                saved_tokens += r.saved_tokens
                cost = r.saved_cost_usd
                if cost is not None:
                    saved_costs.append(cost)
        return {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": float(sum(costs)) if costs else None,
            "cache_hits": cache_hits,
            "saved_tokens": saved_tokens,
            "saved_cost_usd": float(sum(saved_costs)) if saved_costs else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "mode": self.mode,
            "workflow_path": self.workflow_path,
            "workflow_name": self.workflow_name,
            "workflow_hash": self.workflow_hash,
            "inputs": jsonable(self.inputs),
            "outputs": jsonable(self.outputs),
            "missing_outputs": dict(self.missing_outputs),
            "started": self.started,
            "finished": self.finished,
            "totals": self.totals(),
            "nodes": [result.to_dict() for result in self.nodes.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        nodes = [NodeResult.from_dict(item) for item in data.get("nodes") or []]
        return cls(
            run_id=data["run_id"],
            status=data["status"],
            mode=data.get("mode", "run"),
            workflow_path=data.get("workflow_path"),
            workflow_name=data.get("workflow_name", ""),
            workflow_hash=data.get("workflow_hash", ""),
            inputs=data.get("inputs") or {},
            outputs=data.get("outputs") or {},
            missing_outputs=data.get("missing_outputs") or {},
            nodes={result.node_id: result for result in nodes},
            started=data.get("started") or 0.0,
            finished=data.get("finished"),
        )


@dataclass(frozen=True)
class RunSummary:
    """One line of the run list."""

    run_id: str
    workflow_path: str | None
    workflow_name: str
    workflow_hash: str
    started: float
    finished: float | None
    status: str
    mode: str
    node_count: int
    failed_nodes: tuple[str, ...]
    totals: dict[str, Any]


def default_runs_path() -> Path:
    from app.core.settings import data_dir

    return data_dir() / "runs.sqlite3"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    workflow_path TEXT,
    workflow_name TEXT NOT NULL DEFAULT '',
    workflow_hash TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT 'run',
    inputs TEXT NOT NULL DEFAULT '{}',
    outputs TEXT NOT NULL DEFAULT '{}',
    missing_outputs TEXT NOT NULL DEFAULT '{}',
    totals TEXT NOT NULL DEFAULT '{}',
    failed_nodes TEXT NOT NULL DEFAULT '[]',
    node_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(started);
CREATE INDEX IF NOT EXISTS runs_by_path ON runs(workflow_path, started);
CREATE TABLE IF NOT EXISTS node_results (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    node_id TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, node_id)
);
"""


def _dumps(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False)


class RunStore:
    """The run history database. Safe to share between threads; several processes may use it."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_runs_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------
    def save(self, result: RunResult) -> None:
        """Insert or replace the whole record of a run."""
        totals = result.totals()
        failed = [r.node_id for r in result.failures]
        rows = [
            (result.run_id, seq, node.node_id, node.status, _dumps(node.to_dict()))
            for seq, node in enumerate(result.nodes.values())
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM node_results WHERE run_id = ?", (result.run_id,))
                self._db.execute(
                    "INSERT OR REPLACE INTO runs (id, workflow_path, workflow_name, workflow_hash, started, "
                    "finished, status, mode, inputs, outputs, missing_outputs, totals, failed_nodes, node_count) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        result.run_id,
                        result.workflow_path,
                        result.workflow_name,
                        result.workflow_hash,
                        result.started,
                        result.finished,
                        result.status,
                        result.mode,
                        _dumps(result.inputs),
                        _dumps(result.outputs),
                        _dumps(result.missing_outputs),
                        _dumps(totals),
                        _dumps(failed),
                        len(result.nodes),
                    ),
                )
                self._db.executemany(
                    "INSERT INTO node_results (run_id, seq, node_id, status, data) VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def delete(self, run_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            return cursor.rowcount > 0

    def prune(self, *, keep: int | None = None, older_than_days: float | None = None) -> int:
        """Delete old runs: all but the newest `keep`, and/or those started before the cut-off.

        Returns how many runs were deleted.
        """
        deleted = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if older_than_days is not None:
                    cutoff = time.time() - older_than_days * 86400
                    deleted += self._db.execute("DELETE FROM runs WHERE started < ?", (cutoff,)).rowcount
                if keep is not None:
                    deleted += self._db.execute(
                        "DELETE FROM runs WHERE id NOT IN (SELECT id FROM runs ORDER BY started DESC, id DESC "
                        "LIMIT ?)",
                        (max(0, keep),),
                    ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return deleted

    # -- reading ----------------------------------------------------------------------------
    def list(
        self,
        *,
        workflow_path: str | None = None,
        workflow_hash: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RunSummary]:
        """Runs, newest first."""
        where, params = self._where(workflow_path, workflow_hash)
        with self._lock:
            rows = self._db.execute(
                "SELECT id, workflow_path, workflow_name, workflow_hash, started, finished, status, mode, "
                f"node_count, failed_nodes, totals FROM runs {where} ORDER BY started DESC, id DESC "
                "LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [
            RunSummary(
                run_id=row[0],
                workflow_path=row[1],
                workflow_name=row[2],
                workflow_hash=row[3],
                started=row[4],
                finished=row[5],
                status=row[6],
                mode=row[7],
                node_count=row[8],
                failed_nodes=tuple(json.loads(row[9])),
                totals=json.loads(row[10]),
            )
            for row in rows
        ]

    def load(self, run_id: str) -> RunResult:
        """The full record of a run; KeyError if there is none with this id."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, workflow_path, workflow_name, workflow_hash, started, finished, status, mode, "
                "inputs, outputs, missing_outputs FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise KeyError(run_id)
            node_rows = self._db.execute(
                "SELECT data FROM node_results WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        nodes = [NodeResult.from_dict(json.loads(data)) for (data,) in node_rows]
        return RunResult(
            run_id=row[0],
            workflow_path=row[1],
            workflow_name=row[2],
            workflow_hash=row[3],
            started=row[4],
            finished=row[5],
            status=row[6],
            mode=row[7],
            inputs=json.loads(row[8]),
            outputs=json.loads(row[9]),
            missing_outputs=json.loads(row[10]),
            nodes={node.node_id: node for node in nodes},
        )

    def latest(
        self, *, workflow_path: str | None = None, workflow_hash: str | None = None
    ) -> RunResult | None:
        """The newest run of a workflow (by path and/or hash), or None."""
        found = self.list(workflow_path=workflow_path, workflow_hash=workflow_hash, limit=1)
        return self.load(found[0].run_id) if found else None

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    @staticmethod
    def _where(workflow_path: str | None, workflow_hash: str | None) -> tuple[str, tuple[Any, ...]]:
        clauses, params = [], []
        if workflow_path is not None:
            clauses.append("workflow_path = ?")
            params.append(workflow_path)
        if workflow_hash is not None:
            clauses.append("workflow_hash = ?")
            params.append(workflow_hash)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)
