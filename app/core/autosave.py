"""Autosave, crash recovery and the single-instance lock.

While a document has unsaved changes the editor writes it every N seconds (Settings.autosave_seconds)
to the user data dir, atomically, never over the user's own file. A clean save or close discards
the autosave. On the next start, autosaves left behind by a session that did not end cleanly are
offered for recovery, with a summary of how they differ from the file on disk.

The instance lock tells a crash from a second running instance: a running app holds an exclusive
`flock` on `instance.lock`. The OS releases it when the process dies, however it dies, so a lock
file that can be taken although it still names a process means the last session crashed; one
that cannot be taken means another instance is running, and its autosaves are not touched.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.core.model import (
    Workflow,
    WorkflowFileError,
    atomic_write_bytes,
    load_workflow,
    workflow_from_document,
    workflow_to_document,
)
from app.core.settings import data_dir


def autosave_dir() -> Path:
    return data_dir() / "autosave"


def document_key(path: str | os.PathLike[str] | None) -> str:
    """A stable file name for a document's autosave: from its path, or new for an untitled one."""
    if path is None:
        return f"untitled-{uuid.uuid4().hex[:12]}"
    return hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:24]


def write_autosave(key: str, workflow: Workflow, original_path: str | os.PathLike[str] | None) -> Path:
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "original_path": str(Path(original_path).resolve()) if original_path else None,
        "saved_at": time.time(),
        "pid": os.getpid(),
        "workflow": workflow_to_document(workflow),
    }
    target = folder / f"{key}.json"
    atomic_write_bytes(
        target, (json.dumps(record, indent=1, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
    )
    return target


def discard_autosave(key: str) -> None:
    (autosave_dir() / f"{key}.json").unlink(missing_ok=True)


@dataclass
class Recoverable:
    key: str
    original_path: Path | None
    saved_at: float
    workflow: Workflow
    summary: str


def recoverable_autosaves() -> list[Recoverable]:
    """Autosaves left by sessions that ended without saving (call only while holding the instance lock)."""
    found = []
    folder = autosave_dir()
    if not folder.is_dir():
        return []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            workflow = workflow_from_document(record["workflow"])
        except (OSError, ValueError, KeyError, TypeError, WorkflowFileError):
            continue
        original = Path(record["original_path"]) if record.get("original_path") else None
        on_disk = None
        if original is not None:
            try:
                on_disk = load_workflow(original)
            except WorkflowFileError:
                on_disk = None
        found.append(
            Recoverable(
                path.stem,
                original,
                float(record.get("saved_at", 0)),
                workflow,
                diff_summary(on_disk, workflow),
            )
        )
    return found


def diff_summary(before: Workflow | None, after: Workflow) -> str:
    """How `after` differs from `before`, in a line a person can read."""
    if before is None:
        return f"{len(after.nodes)} nodes, {len(after.edges)} edges (no saved file to compare with)"
    old_nodes = {node.id: node for node in before.nodes}
    new_nodes = {node.id: node for node in after.nodes}
    added = sorted(new_nodes.keys() - old_nodes.keys())
    removed = sorted(old_nodes.keys() - new_nodes.keys())
    changed = sorted(
        node_id
        for node_id in new_nodes.keys() & old_nodes.keys()
        if new_nodes[node_id].model_dump(exclude={"position"})
        != old_nodes[node_id].model_dump(exclude={"position"})
    )
    moved = sorted(
        node_id
        for node_id in new_nodes.keys() & old_nodes.keys()
        if node_id not in changed and new_nodes[node_id].position != old_nodes[node_id].position
    )
    edge = lambda e: (e.source, e.source_port, e.target, e.target_port)  # noqa: E731
    old_edges, new_edges = {edge(e) for e in before.edges}, {edge(e) for e in after.edges}
    parts = []
    for label, ids in (("added", added), ("removed", removed), ("changed", changed), ("moved", moved)):
        if ids:
            parts.append(
                f"{label} {len(ids)} node{'s' * (len(ids) != 1)} ({', '.join(ids[:5])}{', …' * (len(ids) > 5)})"
            )
    if new_edges - old_edges:
        parts.append(f"{len(new_edges - old_edges)} new connection(s)")
    if old_edges - new_edges:
        parts.append(f"{len(old_edges - new_edges)} removed connection(s)")
    if before.name != after.name or before.description != after.description:
        parts.append("name or description changed")
    return "; ".join(parts) or "no differences"


class InstanceLock:
    """Held for the life of the app. `acquire` tells whether the previous session crashed."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or data_dir() / "instance.lock"
        self._handle: IO[str] | None = None
        self.previous_crashed = False

    def acquire(self) -> bool:
        """True if this is the only running instance (then `previous_crashed` is meaningful)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        self.previous_crashed = bool(handle.read().strip())
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": time.time()}))
        handle.flush()
        self._handle = handle
        return True

    def release(self) -> None:
        """A clean exit: empty the file so the next start knows nothing crashed."""
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.flush()
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def stray_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Temp files an interrupted atomic save left behind (`.NAME.XXXX.tmp`)."""
    return sorted(Path(folder).glob(".*.tmp"))


def remove_stray_temp_files(folder: str | os.PathLike[str], older_than_seconds: float = 60) -> int:
    """Delete leftovers of interrupted saves; recent ones may belong to a save in progress."""
    removed = 0
    now = time.time()
    for path in stray_temp_files(folder):
        try:
            if now - path.stat().st_mtime >= older_than_seconds:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
