"""Regular expressions with a time limit, for text.regex and logic.if (not a node module: the
registry skips `_` names).

Python's `re` cannot be stopped once it has started: a pattern with nested repetition such as
`(a+)+$` backtracks exponentially on an input like "aaaa…ab" and holds the GIL inside C for as
long as that takes (years, for a few dozen characters), so neither a timer thread nor a cancelled
run can end it. The only thing that ends it is ending the process it runs in. So the match runs
in a small Python worker process (`REGEX_WORKER`, standard library only), which is killed when it
searches for longer than the node's limit; idle workers are kept for the next match, so a match
costs a process start only the first time.

The app's nodes and exported scripts run this same code (`app.core.export` copies it), with the
same engine: the standard library's `re` in a Python like the caller's (`sys.executable`).
Why not the `regex` package, which takes `timeout=`: exported scripts may import only the
standard library and httpx (DESIGN.md §1.5), and `regex` matches differently from `re` — its `\\w`
takes combining marks, so `\\w+` finds one word in "हिन्दी" where `re` finds four — so the app and
its scripts would disagree on the same input.
"""

from __future__ import annotations

import atexit
import json
import queue
import re
import subprocess
import sys
import threading
import time
from typing import Any, ClassVar

from app.core.sdk import NodeError

#: How long a pattern may search by default, in seconds. Long enough for any sane pattern on the
#: largest text a node reads (the 20 MB a data node may load takes about 2 s with `\w+` here);
#: short enough that a runaway pattern fails soon instead of hanging the run.
DEFAULT_TIMEOUT_SECONDS = 5.0
#: How long a worker may take to start and to read a request (a cold start of a bundled app, a
#: text of many megabytes), and to send its answer back. Never spent on matching.
WORKER_SECONDS = 60.0

#: The worker: reads one JSON request per line; answers "started" once it has the compiled
#: pattern, "matched" once the search is over, then the matches (each as [group 0, group 1, …]).
REGEX_WORKER = """\
import json, re, sys

def say(value):
    sys.stdout.buffer.write(json.dumps(value).encode() + b"\\n")
    sys.stdout.buffer.flush()

for line in sys.stdin.buffer:
    try:
        request = json.loads(line)
        regex = re.compile(request["pattern"], request["flags"])
        say("started")
        found = []
        for match in regex.finditer(request["text"]):
            found.append([match.group(0), *match.groups()])
            if request["first_only"]:
                break
        say("matched")
        say({"groups": regex.groups, "names": dict(regex.groupindex), "matches": found})
    except Exception as exc:
        say({"error": f"{type(exc).__name__}: {exc}"})
"""


def regex_flags(ignore_case: bool = False, multiline: bool = False, dot_all: bool = False) -> int:
    return (
        (re.IGNORECASE if ignore_case else 0)
        | (re.MULTILINE if multiline else 0)
        | (re.DOTALL if dot_all else 0)
    )


class RegexWorkerGone(Exception):
    """The worker process ended (it crashed, or was out of memory)."""


class RegexWorker:
    """A Python process that runs regular expressions, killed when a search takes too long.

    (`re` cannot be interrupted from inside the process that runs it, so a runaway pattern is
    stopped by ending its process.) Idle workers wait in a small pool for the next search.
    """

    idle: ClassVar[list[RegexWorker]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()
    max_idle: ClassVar[int] = 2
    closed_at_exit: ClassVar[bool] = False

    def __init__(self) -> None:
        command = [sys.executable, "-I", "-S", "-c", REGEX_WORKER]
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        except OSError as exc:
            raise NodeError(
                f"could not start Python ({sys.executable}) to run the regular expression: {exc.strerror or exc}"
            ) from None
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, name="regex-worker-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    @classmethod
    def take(cls) -> RegexWorker:
        with cls.lock:
            if cls.idle:
                return cls.idle.pop()
            if not cls.closed_at_exit:
                cls.closed_at_exit = True
                atexit.register(cls.close_idle)
        return cls()

    @classmethod
    def close_idle(cls) -> None:
        with cls.lock:
            idle, cls.idle[:] = list(cls.idle), []
        for worker in idle:
            worker.close()

    def give_back(self) -> None:
        with self.lock:
            if self.process.poll() is None and len(self.idle) < self.max_idle:
                self.idle.append(self)
                return
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def send(self, request: bytes) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(request)
            self.process.stdin.flush()
        except OSError:
            raise RegexWorkerGone() from None

    def receive(self, seconds: float, stop: threading.Event | None = None) -> Any:
        """The worker's next answer. TimeoutError after `seconds`; NodeError when `stop` is set."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            try:
                line = self.lines.get(timeout=left if stop is None else min(left, 0.05))
            except queue.Empty:
                if stop is not None and stop.is_set():
                    raise NodeError("stopped: the run was cancelled") from None
                continue
            if line is None:
                raise RegexWorkerGone()
            return json.loads(line)


def find_matches(
    text: str,
    pattern: str,
    flags: int = 0,
    *,
    first_only: bool = False,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    field: str = "config.pattern",
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """The matches of `pattern` in `text` as {"groups": count, "names": {name: number}, "matches":
    [[group 0, group 1, …], …]} (only the first match with `first_only`).

    The search runs in a worker process that is killed when it takes longer than
    `timeout_seconds`: that fails with a NodeError naming the pattern and the limit. Setting
    `stop` (from another thread) ends the search at once.
    """
    request = {"pattern": pattern, "flags": flags, "text": text, "first_only": first_only}
    message = json.dumps(request).encode() + b"\n"
    worker = RegexWorker.take()
    answer: Any = None
    try:
        worker.send(message)
        answer = worker.receive(WORKER_SECONDS, stop)
        if answer == "started":
            answer = worker.receive(timeout_seconds, stop)
        if answer == "matched":
            answer = worker.receive(WORKER_SECONDS, stop)
    except TimeoutError:
        worker.close()
        if answer == "started":
            raise NodeError(
                f"the pattern {pattern!r} took longer than {timeout_seconds:g} s on a {len(text):,}-character "
                "text and was stopped; simplify it (nested repetition such as (a+)+ can backtrack "
                "exponentially) or raise timeout_seconds",
                field=field,
            ) from None
        raise NodeError(
            f"the Python process that runs regular expressions did not answer within {WORKER_SECONDS:g} s"
        ) from None
    except RegexWorkerGone:
        worker.close()
        raise NodeError(
            "the Python process that runs regular expressions ended unexpectedly "
            f"(exit code {worker.process.returncode}); is the text too large for the memory?"
        ) from None
    except BaseException:
        worker.close()
        raise
    worker.give_back()
    if "error" in answer:
        problem = answer["error"]
        raise NodeError(f"the pattern {pattern!r} could not be used: {problem}", field=field)
    return answer
