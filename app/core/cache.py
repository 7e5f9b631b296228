"""The result cache: a node that already ran with the same inputs is not run again.

Content-addressed, like ComfyUI's input-signature cache: the key is the sha256 of the canonical
JSON of (type id, type version, config, input values[, the node's `cache_key_extra`]). Edit a
node's config or anything upstream that changes its inputs and the key changes; move it on the
canvas or rename its title and it does not.

* Only node types declared `cacheable`, and only nodes whose file-level `cache` flag is true.
  A run may turn reading off (`--no-cache`: results are still written, so the next run can use
  them).
* Stored: the outputs, the outputs deliberately not produced (`Skip` reasons) and the usage the
  execution reported, so a hit can say how many tokens and how much money it saved.
* Values JSON cannot hold exactly (objects, NaN, tuples that would come back as lists, …) are not
  cached; the node simply runs next time. Nothing here raises because of a value.
* SQLite in the user cache dir (survives restarts), WAL journaling and a busy timeout so the app
  and a terminal run can share it. Size is capped (`Settings.cache_max_mb`); the least recently
  used entries are evicted first.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.runs import canonical_json

SCHEMA_VERSION = 1
DEFAULT_MAX_MB = 512


@dataclass
class CacheEntry:
    outputs: dict[str, Any]
    skipped_outputs: dict[str, str] = field(default_factory=dict)
    usage: list[dict[str, Any]] = field(default_factory=list)


def cache_key(
    type_id: str, version: int, config: Any, inputs: dict[str, Any], extra: Any = None
) -> str | None:
    """The key of one node execution, or None when the inputs/config cannot be keyed (not JSON)."""
    signature = {"type": type_id, "version": version, "config": config, "inputs": inputs}
    if extra is not None:
        signature["extra"] = extra
    try:
        text = canonical_json(signature)
    except (TypeError, ValueError, RecursionError):
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _exact_json(value: Any) -> str | None:
    """JSON text that reads back as exactly `value`, or None."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None
    try:
        same = json.loads(text) == value
    except RecursionError:
        return None
    # A tuple reads back as a list, an int key as a str key: neither compares equal.
    return text if same else None


def default_cache_path() -> Path:
    from app.core.settings import cache_dir

    return cache_dir() / "results.sqlite3"


class Cache:
    """The persistent result cache. Safe to share between threads; several processes may use it."""

    def __init__(self, path: str | Path | None = None, *, max_mb: float = DEFAULT_MAX_MB) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS entries (
                    key TEXT PRIMARY KEY,
                    type_id TEXT NOT NULL,
                    outputs TEXT NOT NULL,
                    skipped TEXT NOT NULL,
                    usage TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    created REAL NOT NULL,
                    last_used REAL NOT NULL
                );
                CREATE INDEX IF NOT EXISTS entries_lru ON entries(last_used);
                """
            )
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_settings(cls, settings: Any = None) -> Cache:
        """The user's cache, sized by `Settings.cache_max_mb`."""
        max_mb = getattr(settings, "cache_max_mb", DEFAULT_MAX_MB) if settings is not None else DEFAULT_MAX_MB
        return cls(max_mb=max_mb)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- use --------------------------------------------------------------------------------
    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT outputs, skipped, usage FROM entries WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                self.misses += 1
                return None
            self._db.execute("UPDATE entries SET last_used = ? WHERE key = ?", (time.time(), key))
        self.hits += 1
        return CacheEntry(json.loads(row[0]), json.loads(row[1]), json.loads(row[2]))

    def put(
        self,
        key: str,
        type_id: str,
        outputs: dict[str, Any],
        skipped_outputs: dict[str, str] | None = None,
        usage: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Store a result; False (and nothing stored) when a value cannot be stored exactly."""
        outputs_text = _exact_json(outputs)
        skipped_text = _exact_json(dict(skipped_outputs or {}))
        usage_text = _exact_json(list(usage or []))
        if outputs_text is None or skipped_text is None or usage_text is None:
            return False
        size = len(key) + len(outputs_text.encode("utf-8")) + len(skipped_text) + len(usage_text) + 64
        if size > self.max_bytes:
            return False
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO entries (key, type_id, outputs, skipped, usage, size, created, "
                    "last_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, type_id, outputs_text, skipped_text, usage_text, size, now, now),
                )
                self._evict_locked()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return True

    def _evict_locked(self) -> None:
        total = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        if total <= self.max_bytes:
            return
        excess = total - self.max_bytes
        doomed: list[str] = []
        for key, size in self._db.execute(
            "SELECT key, size FROM entries ORDER BY last_used ASC, created ASC"
        ):
            doomed.append(key)
            excess -= size
            if excess <= 0:
                break
        self._db.executemany("DELETE FROM entries WHERE key = ?", [(key,) for key in doomed])

    # -- housekeeping -------------------------------------------------------------------------
    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM entries")
            self._db.execute("VACUUM")

    def stats(self) -> dict[str, int]:
        with self._lock:
            count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        return {"entries": int(count), "bytes": int(size), "hits": self.hits, "misses": self.misses}

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM entries WHERE key = ?", (key,)).fetchone() is not None
