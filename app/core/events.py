"""The typed stream of events a run produces.

The executor reports everything that happens in a run as one of the dataclasses below. The
command line, the desktop app (through `app.ui.run_bridge`) and the tests all consume the same
stream, so what a person sees in one place is what they would see in any other.

Every event has a `kind` (a stable string, e.g. ``"node_finished"``), the `run_id`, a `node_id`
(``None`` for run-level events) and a wall-clock `timestamp`. `to_dict` gives a JSON-ready dict
(values that JSON cannot hold become their ``repr``); `event_from_dict` reads one back.

Events are values: every consumer sees the same instance, so none may change one. They are not
declared ``frozen`` only because a frozen dataclass sets each field through `object.__setattr__`,
which made building the three events of every node a tenth of the executor's per-node cost; they
still compare and hash by their fields as before.

Order within a run:

    run_started
      node_queued → node_started → (chunk | progress | node_log)* → node_finished | node_failed
      node_skipped                                      (instead of the three above)
      paused → resumed                                  (any time, when paused or at a breakpoint)
    run_finished | run_failed | run_cancelled           (always last, exactly once)

Secrets never appear in events: node configs (which hold credential *names* anyway) are not part
of any event, and every free text that can come from a failure or a log line (messages,
tracebacks) is passed through `redact` — which removes the values of secret-looking environment
variables and anything shaped like an API key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

# --- values and secrets ------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
#: Anything shaped like an API key or a bearer token (the same rule as `app.core.llm.types`).
_KEYLIKE = re.compile(r"\b(sk-(?:ant-)?|key-|Bearer\s+)[A-Za-z0-9_\-\.]{6,}")
_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Make sure `value` (a key read from the keyring, say) is never shown in an event."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def known_secrets() -> list[str]:
    """Secret values to scrub: registered ones and secret-looking environment variables."""
    found = set(_extra_secrets)
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_NAME.search(name):
            found.add(value)
    # Longest first, so a secret that contains another is removed whole.
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """`text` with every known secret and anything shaped like an API key replaced by ``***``."""
    if not text:
        return text
    for secret in known_secrets() if secrets is None else secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEYLIKE.sub(lambda match: match.group(1) + "***", text)


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of `value`: tuples become lists, keys strings, other objects their repr."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    return repr(value)


# --- events ------------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class Event:
    """Base of every event."""

    kind: ClassVar[str] = "event"
    run_id: str
    node_id: str | None = None
    timestamp: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for item in dataclasses.fields(self):
            data[item.name] = jsonable(getattr(self, item.name))
        return data


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class RunStarted(Event):
    kind: ClassVar[str] = "run_started"
    workflow_name: str = ""
    workflow_hash: str = ""
    #: "run", "run_to" or "run_from"
    mode: str = "run"
    #: The nodes this run will execute (in topological order); reused ones are not listed.
    nodes: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class NodeQueued(Event):
    """All of the node's inputs are ready; it starts as soon as a slot (and the gate) allows."""

    kind: ClassVar[str] = "node_queued"


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class NodeStarted(Event):
    kind: ClassVar[str] = "node_started"
    type_id: str = ""
    title: str = ""
    #: The resolved inputs, already converted to each port's type.
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class Chunk(Event):
    """A piece of streamed text output."""

    kind: ClassVar[str] = "chunk"
    text: str = ""


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class Progress(Event):
    kind: ClassVar[str] = "progress"
    fraction: float = 0.0
    message: str = ""


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class NodeLog(Event):
    kind: ClassVar[str] = "node_log"
    level: str = "info"
    message: str = ""


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class NodeFinished(Event):
    """The node produced its outputs (ran, came from the cache, or was reused from an earlier run).

    Token and cost fields count what *this* run spent; for a cache hit they are zero and the
    `saved_*` fields say what the hit saved.
    """

    kind: ClassVar[str] = "node_finished"
    outputs: dict[str, Any] = field(default_factory=dict)
    #: Outputs deliberately not produced (port → reason), see `sdk.Skip`.
    skipped_outputs: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    cached: bool = False
    #: Taken over from a previous run (run-from-node), not executed.
    reused: bool = False
    saved_tokens: int = 0
    saved_cost_usd: float | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class NodeFailed(Event):
    kind: ClassVar[str] = "node_failed"
    #: "NodeError" for failures the node explains, "InputTypeError" for a value an input cannot
    #: take, otherwise the exception's class name (a bug in the node type).
    error_type: str = ""
    message: str = ""
    port: str | None = None
    field: str | None = None
    user_line: int | None = None
    #: For code nodes the user's own traceback; for unexpected exceptions the engine traceback.
    traceback: str = ""
    duration_s: float = 0.0


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class NodeSkipped(Event):
    kind: ClassVar[str] = "node_skipped"
    reason: str = ""


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class Paused(Event):
    """No new node starts until `resume`, `step` or `continue_`.

    `reason` is "pause" (asked for), "step" (step mode, waiting for the next step) or
    "breakpoint" (`node_id` is about to run and `inputs` are its resolved inputs, which
    `continue_(replaced_inputs=...)` may replace). `ready` lists the nodes waiting to start and
    `running` those still in flight.
    """

    kind: ClassVar[str] = "paused"
    reason: str = "pause"
    inputs: dict[str, Any] | None = None
    ready: tuple[str, ...] = ()
    running: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class Resumed(Event):
    kind: ClassVar[str] = "resumed"
    #: Input ports whose values were replaced at a breakpoint (edit-and-continue).
    replaced: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class _RunEnded(Event):
    kind: ClassVar[str] = "run_ended"
    #: {io.output name: value} for every workflow output that received a value.
    outputs: dict[str, Any] = field(default_factory=dict)
    #: {io.output name: reason} for the workflow outputs that did not (skipped, failed upstream).
    missing_outputs: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    cache_hits: int = 0
    saved_tokens: int = 0
    saved_cost_usd: float | None = None


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class RunFinished(_RunEnded):
    """Every node that ran succeeded (some may have been skipped by `sdk.Skip`)."""

    kind: ClassVar[str] = "run_finished"


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class RunFailed(_RunEnded):
    """At least one node failed; the other branches still finished. `failures` lists them all."""

    kind: ClassVar[str] = "run_failed"
    #: ({"node_id", "error_type", "message"}, ...) in the order the failures happened.
    failures: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True, kw_only=True, unsafe_hash=True)
class RunCancelled(_RunEnded):
    kind: ClassVar[str] = "run_cancelled"


TERMINAL_KINDS = frozenset({"run_finished", "run_failed", "run_cancelled"})

EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunStarted,
        NodeQueued,
        NodeStarted,
        Chunk,
        Progress,
        NodeLog,
        NodeFinished,
        NodeFailed,
        NodeSkipped,
        Paused,
        Resumed,
        RunFinished,
        RunFailed,
        RunCancelled,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `Event.to_dict` output (unknown keys are ignored)."""
    cls = EVENT_TYPES[data["kind"]]
    names = {item.name for item in dataclasses.fields(cls)}
    values = {key: value for key, value in data.items() if key in names}
    for key in ("nodes", "ready", "running", "replaced", "failures"):
        if key in values and isinstance(values[key], list):
            values[key] = tuple(values[key])
    return cls(**values)
