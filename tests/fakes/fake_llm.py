"""A fake LLM server on loopback, speaking OpenAI Chat Completions (+ /models, /embeddings) and
Anthropic Messages, streamed (SSE) and not, with knobs for every fault a client must survive.

Replies are deterministic, exactly like ``shared/conformance/fake_llm.py``::

    reply_text(model, prompt) = "<" + model + "> " + prompt.upper()   (prompt = last user message)

and it is as strict: unknown fields, bad roles, a missing ``anthropic-version`` or
``max_tokens`` get HTTP 400 with the reason (for Anthropic, unknown top-level fields too).

In a test::

    from tests.fakes.fake_llm import FakeLLMServer, Step

    with FakeLLMServer() as srv:                      # 127.0.0.1, random port, a thread
        srv.base_url_openai      # "http://127.0.0.1:PORT/v1"
        srv.base_url_anthropic   # "http://127.0.0.1:PORT"
        srv.script(429, Step(status=500, headers={"retry-after-ms": "50"}), 200)
        srv.chunk_delay_ms = 20  # drip
        ...
        srv.requests             # the request log (RequestRecord), arrival order

From the command line (for UI tests, benchmarks, the CLI)::

    python -m tests.fakes.fake_llm --port 0 [--host 127.0.0.1] [--log FILE] [--key K]
                                   [--latency-ms N] [--chunk-chars N] [--chunk-delay-ms N]

prints ``PORT <n>`` on stdout once listening, and serves until SIGTERM/SIGINT.

Knobs (server attributes, all changeable while running):
    key             require this key (Authorization: Bearer / x-api-key), else 401
    latency_ms      wait before answering
    chunk_chars     characters per streamed content chunk (default 4)
    chunk_delay_ms  wait between streamed chunks (drip)
    stall_max_s     how long a "stall" fault holds the connection open (default 30 s)
    script(...)     scripted answers for the next chat/messages requests, in order: an int is a
                    status (200 = a normal answer), a :class:`Step` can also carry headers
                    (Retry-After, retry-after-ms), a body, a redirect Location or a stream fault.

Stream faults (``Step(fault=...)`` or a marker in the prompt), after ``after_chunks`` content
chunks (markers: after 1):
    malformed   a data line that is not JSON                 marker ``#malformed``
    error       a mid-stream error event                      marker ``#error``
    stall       stop sending without closing                  marker ``#stall``
    disconnect  drop the connection mid-body                  marker ``#disconnect``
    eof         end the body cleanly without the final event  marker ``#eof``
Other prompt markers: ``#429`` (first request with this prompt gets 429 + Retry-After: 1),
``#500`` (first two get 500), ``#sleep=N`` (wait N ms), ``#drip=N`` (N ms between chunks).

Every request is logged (method, path, headers incl. authorization / x-api-key, body, arrival
and completion times, status, note) and, when the client closes the connection while the server
is still answering, ``client_closed_at`` records when (see :meth:`FakeLLMServer.wait_closed`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn

OPENAI_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "top_p",
        "response_format",
        "tools",
        "tool_choice",
        "stop",
        "n",
        "user",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "metadata",
    }
)
OPENAI_ROLES = frozenset({"system", "user", "assistant", "tool", "developer"})
ANTHROPIC_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "stream",
        "stop_sequences",
        "top_p",
        "top_k",
        "metadata",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
    }
)
FAULTS = frozenset({"malformed", "error", "stall", "disconnect", "eof"})


def reply_text(model: str, prompt: str) -> str:
    return f"<{model}> {prompt.upper()}"


def chunks(text: str, n: int = 4) -> list[str]:
    n = max(1, n)
    return [text[i : i + n] for i in range(0, len(text), n)] or [""]


def embed(s: str) -> list[float]:
    v = [0.0] * 8
    for j, ch in enumerate(s.lower()):
        v[(ord(ch) + j) % 8] += 1.0
    norm = sum(x * x for x in v) ** 0.5 or 1.0
    return [x / norm for x in v]


@dataclass
class Step:
    """One scripted answer for the next chat/messages request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON body of an error answer (default: provider-shaped error)
    location: str = ""  # for 3xx: the Location header
    fault: str | None = None  # one of FAULTS (streaming answers)
    after_chunks: int = 1  # content chunks sent before the fault
    delay_ms: int = 0  # extra wait before answering

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; use one of {sorted(FAULTS)}")
        if self.location and not 300 <= self.status < 400:
            self.status = 307


@dataclass
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    t_arrive: float
    peer: str = ""
    t_done: float | None = None
    status: int | None = None
    note: str = ""
    client_closed_at: float | None = None

    @property
    def api_key(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth[7:]
        return self.headers.get("x-api-key")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/2"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def fake(self) -> FakeLLMServer:
        return self.server.fake

    def _begin(self, body: Any) -> None:
        self.rec = RequestRecord(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            t_arrive=time.time(),
            peer=f"{self.client_address[0]}:{self.client_address[1]}",
        )
        self.fake._add(self.rec)

    def _finish(self, status: int, note: str = "") -> None:
        self.rec.status, self.rec.note, self.rec.t_done = status, note, time.time()
        self.fake._done(self.rec)

    def _gone(self) -> NoReturn:
        if self.rec.client_closed_at is None:
            self.rec.client_closed_at = time.time()
        self.close_connection = True
        raise _ClientGone

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, OSError):
            self._gone()

    def _wait(self, seconds: float) -> None:
        """Sleep, noticing at once if the client closes the connection (or the server stops)."""
        end = time.monotonic() + max(0.0, seconds)
        sock = self.connection
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            if self.fake._stopping.is_set():
                self._gone()
            try:
                readable, _, _ = select.select([sock], [], [], min(left, 0.05))
            except (OSError, ValueError):
                self._gone()
            if readable:
                try:
                    peek = sock.recv(1, socket.MSG_PEEK)
                except (ConnectionResetError, OSError):
                    self._gone()
                if not peek:
                    self._gone()
                time.sleep(min(left, 0.01))  # unexpected bytes: keep waiting

    def _send_json(
        self, status: int, obj: Any, headers: dict[str, str] | None = None, note: str = ""
    ) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self._write(data)
        self._finish(status, note)

    def _bad(self, reason: str) -> None:
        self._send_json(400, {"error": {"message": reason, "type": "invalid_request_error"}}, note=reason)

    def _error_body(self, kind: str, status: int, message: str) -> Any:
        etype = {
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error" if status >= 500 else "invalid_request_error")
        if kind == "anthropic":
            return {"type": "error", "error": {"type": etype, "message": message}}
        return {"error": {"message": message, "type": etype, "code": None}}

    def _read_body(self) -> tuple[Any, bool]:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}"), True
        except (json.JSONDecodeError, UnicodeDecodeError):
            return raw.decode("utf-8", "replace"), False

    def _key_of(self, kind: str) -> str | None:
        auth = self.headers.get("Authorization", "")
        bearer = auth[7:] if auth.startswith("Bearer ") else None
        if kind == "anthropic":
            return self.headers.get("x-api-key") or bearer
        return bearer

    def _auth_ok(self, kind: str) -> bool:
        key = self.fake.key
        if key and self._key_of(kind) != key:
            self._send_json(
                401, self._error_body(kind, 401, "invalid x-api-key / bearer token"), note="bad key"
            )
            return False
        return True

    # -- routes ---------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._begin(None)
        try:
            if self.path.rstrip("/").endswith("/models"):
                kind = "anthropic" if self.headers.get("anthropic-version") else "openai"
                if not self._auth_ok(kind):
                    return
                self._send_json(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {"id": m, "object": "model", "type": "model", "display_name": m}
                            for m in self.fake.models
                        ],
                        "has_more": False,
                    },
                )
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}}, note="404")
        except _ClientGone:
            self._finish(499, "client closed")

    def do_POST(self) -> None:
        body, ok = self._read_body()
        self._begin(body)
        try:
            if not ok:
                return self._bad("body is not JSON")
            if self.path.endswith("/chat/completions"):
                return self._openai(body)
            if self.path.endswith("/v1/messages"):
                return self._anthropic(body)
            if self.path.endswith("/embeddings"):
                return self._embeddings(body)
            self._send_json(404, {"error": {"message": f"no route {self.path}"}}, note="404")
        except _ClientGone:
            self._finish(499, "client closed")
        except OSError:
            if self.rec.client_closed_at is None:
                self.rec.client_closed_at = time.time()
            self.close_connection = True
            self._finish(499, "client closed")

    # -- shared answer logic --------------------------------------------------------------------
    def _plan(self, kind: str, prompt: str) -> Step | None:
        """Return the Step for this request (a scripted one, or one built from markers).
        Sends the answer itself (and returns None) for non-200 statuses."""
        step = self.fake._next_step()
        m = re.search(r"#sleep=(\d+)", prompt)
        delay_ms = int(m.group(1)) if m else self.fake.latency_ms
        if step is not None:
            delay_ms += step.delay_ms
        if delay_ms:
            self._wait(delay_ms / 1000)
        count = self.fake._seen(prompt)
        if step is None:
            step = Step()
            if "#429" in prompt and count == 1:
                step = Step(status=429, headers={"Retry-After": "1"})
            elif "#500" in prompt and count <= 2:
                step = Step(status=500)
            else:
                for fault in FAULTS:
                    if f"#{fault}" in prompt:
                        step = Step(fault=fault)
                        break
        if step.status == 200:
            return step
        if 300 <= step.status < 400:
            self.send_response(step.status)
            self.send_header("Location", step.location or "http://127.0.0.1:9/")
            self.send_header("Content-Length", "0")
            for k, v in step.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self._finish(step.status, f"redirect to {step.location}")
            return None
        body = (
            step.body
            if step.body is not None
            else self._error_body(kind, step.status, f"fault {step.status}")
        )
        self._send_json(step.status, body, step.headers, note=f"fault {step.status}")
        return None

    def _stream_start(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _sse(self, data: str, event: str | None = None) -> None:
        out = ((f"event: {event}\n" if event else "") + f"data: {data}\n\n").encode()
        self._write(f"{len(out):x}\r\n".encode() + out + b"\r\n")

    def _stream_end(self, note: str) -> None:
        self._write(b"0\r\n\r\n")
        self._finish(200, note)

    def _drip_delay(self, prompt: str) -> float:
        m = re.search(r"#drip=(\d+)", prompt)
        return (int(m.group(1)) if m else self.fake.chunk_delay_ms) / 1000

    def _fault(self, kind: str, step: Step) -> None:
        """Carry out a stream fault; the response ends here."""
        fault = step.fault
        if fault == "malformed":
            self._sse(
                '{"choices": [{"delta": {"content": "oops"',
                "content_block_delta" if kind == "anthropic" else None,
            )
            self._stream_end("fault malformed")
        elif fault == "error":
            if kind == "anthropic":
                self._sse(
                    json.dumps(
                        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
                    ),
                    "error",
                )
            else:
                self._sse(
                    json.dumps(
                        {
                            "error": {
                                "message": "The server had an error while processing your request.",
                                "type": "server_error",
                            }
                        }
                    )
                )
            self._stream_end("fault error event")
        elif fault == "stall":
            self.rec.note = "fault stall"
            self._wait(self.fake.stall_max_s)
            self._stream_end("fault stall (timed out)")
        elif fault == "disconnect":
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            self._finish(200, "fault disconnect")
        elif fault == "eof":
            self._stream_end("fault eof")

    # -- OpenAI ---------------------------------------------------------------------------------
    def _openai(self, body: Any) -> None:
        if not self._auth_ok("openai"):
            return
        if not isinstance(body, dict):
            return self._bad("body must be a JSON object")
        model, msgs = body.get("model"), body.get("messages")
        if not isinstance(model, str) or not model:
            return self._bad("model must be a non-empty string")
        if not isinstance(msgs, list) or not msgs:
            return self._bad("messages must be a non-empty list")
        for m in msgs:
            if not isinstance(m, dict) or m.get("role") not in OPENAI_ROLES:
                return self._bad(f"bad message {m!r}")
            c = m.get("content")
            if not (isinstance(c, (str, list)) or (c is None and m["role"] == "assistant")):
                return self._bad(f"bad content {c!r}")
        for k in body:
            if k not in OPENAI_FIELDS:
                return self._bad(f"unknown field {k!r}")
        prompt = _last_user(msgs)
        step = self._plan("openai", prompt)
        if step is None:
            return
        text = reply_text(model, prompt)
        usage = {
            "prompt_tokens": len(prompt.split()) + 1,
            "completion_tokens": len(text.split()),
            "total_tokens": len(prompt.split()) + 1 + len(text.split()),
        }
        cid, created = "chatcmpl-fake", int(time.time())
        if not body.get("stream"):
            if step.fault in ("stall",):
                self._wait(self.fake.stall_max_s)
            if step.fault == "disconnect":
                return self._fault("openai", step)
            if step.fault == "malformed":
                data = b'{"id": "chatcmpl-fake", "choices": ['
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self._write(data)
                return self._finish(200, "fault malformed")
            return self._send_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
            )
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        self._stream_start()
        self._sse(
            json.dumps(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                    ],
                }
            )
        )
        delay = self._drip_delay(prompt)
        for i, piece in enumerate(chunks(text, self.fake.chunk_chars)):
            if step.fault and i >= step.after_chunks:
                return self._fault("openai", step)
            if i and delay:
                self._wait(delay)
            self._sse(
                json.dumps(
                    {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                )
            )
        if step.fault:
            return self._fault("openai", step)
        self._sse(json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        if (body.get("stream_options") or {}).get("include_usage"):
            self._sse(json.dumps({**base, "choices": [], "usage": usage}))
        self._sse("[DONE]")
        self._stream_end("stream")

    # -- Anthropic ------------------------------------------------------------------------------
    def _anthropic(self, body: Any) -> None:
        if not self._auth_ok("anthropic"):
            return
        if not self.headers.get("anthropic-version"):
            return self._bad("anthropic-version header required")
        if not isinstance(body, dict):
            return self._bad("body must be a JSON object")
        model, msgs, max_tokens = body.get("model"), body.get("messages"), body.get("max_tokens")
        if not isinstance(model, str) or not isinstance(msgs, list) or not msgs:
            return self._bad("model and messages required")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            return self._bad("max_tokens (int) is required")
        for m in msgs:
            if not isinstance(m, dict) or m.get("role") not in {"user", "assistant"}:
                return self._bad(f"bad message {m!r} (system goes in the top-level 'system' field)")
        for k in body:
            if k not in ANTHROPIC_FIELDS:
                return self._bad(f"{k}: Extra inputs are not permitted")
        prompt = _last_user(msgs)
        step = self._plan("anthropic", prompt)
        if step is None:
            return
        text = reply_text(model, prompt)
        usage = {"input_tokens": len(prompt.split()) + 1, "output_tokens": len(text.split())}
        if not body.get("stream"):
            if step.fault == "stall":
                self._wait(self.fake.stall_max_s)
            if step.fault == "disconnect":
                return self._fault("anthropic", step)
            return self._send_json(
                200,
                {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
        self._stream_start()
        self._sse(
            json.dumps(
                {
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1},
                    },
                }
            ),
            "message_start",
        )
        self._sse(
            json.dumps(
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
            ),
            "content_block_start",
        )
        self._sse(json.dumps({"type": "ping"}), "ping")
        delay = self._drip_delay(prompt)
        for i, piece in enumerate(chunks(text, self.fake.chunk_chars)):
            if step.fault and i >= step.after_chunks:
                return self._fault("anthropic", step)
            if i and delay:
                self._wait(delay)
            self._sse(
                json.dumps(
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    }
                ),
                "content_block_delta",
            )
        if step.fault:
            return self._fault("anthropic", step)
        self._sse(json.dumps({"type": "content_block_stop", "index": 0}), "content_block_stop")
        self._sse(
            json.dumps(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": usage["output_tokens"]},
                }
            ),
            "message_delta",
        )
        self._sse(json.dumps({"type": "message_stop"}), "message_stop")
        self._stream_end("stream")

    # -- embeddings -----------------------------------------------------------------------------
    def _embeddings(self, body: Any) -> None:
        if not self._auth_ok("openai"):
            return
        inp = body.get("input") if isinstance(body, dict) else None
        items = [inp] if isinstance(inp, str) else inp
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            return self._bad("input must be a string or a list of strings")
        data = [{"object": "embedding", "index": i, "embedding": embed(s)} for i, s in enumerate(items)]
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            },
        )


def _last_user(msgs: list[Any]) -> str:
    users = [m for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
    prompt = users[-1].get("content") if users else ""
    if isinstance(prompt, list):
        prompt = "".join(p.get("text", "") for p in prompt if isinstance(p, dict))
    return prompt if isinstance(prompt, str) else ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256
    fake: FakeLLMServer


class FakeLLMServer:
    """The fake server, in a background thread. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        key: str | None = None,
        latency_ms: int = 0,
        chunk_chars: int = 4,
        chunk_delay_ms: int = 0,
        stall_max_s: float = 30.0,
        models: Iterable[str] = ("fake-small", "fake-large"),
        log_path: str | None = None,
    ) -> None:
        self.host, self._port = host, port
        self.key = key
        self.latency_ms = latency_ms
        self.chunk_chars = chunk_chars
        self.chunk_delay_ms = chunk_delay_ms
        self.stall_max_s = stall_max_s
        self.models = list(models)
        self.log_path = log_path
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._records: list[RequestRecord] = []
        self._steps: list[Step] = []
        self._seen_prompts: dict[str, int] = {}
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FakeLLMServer:
        self._httpd = _Server((self.host, self._port), _Handler)
        self._httpd.fake = self
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def base_url_openai(self) -> str:
        return f"{self.url}/v1"

    @property
    def base_url_anthropic(self) -> str:
        return self.url

    # -- knobs ----------------------------------------------------------------------------------
    def script(self, *steps: int | Step) -> None:
        """Queue scripted answers for the next chat/messages requests (appended in order)."""
        with self._lock:
            self._steps.extend(s if isinstance(s, Step) else Step(status=int(s)) for s in steps)

    def reset(self) -> None:
        """Forget the log, the script and the prompt counters."""
        with self._lock:
            self._records.clear()
            self._steps.clear()
            self._seen_prompts.clear()

    # -- log ------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def chat_requests(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.method == "POST" and not r.path.endswith("/embeddings")]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RequestRecord]:
        with self._cond:
            self._cond.wait_for(lambda: len(self._records) >= n, timeout)
            return list(self._records)

    def wait_done(self, record: RequestRecord, timeout: float = 5.0) -> bool:
        """Wait until the server has finished answering ``record``."""
        with self._cond:
            return self._cond.wait_for(lambda: record.t_done is not None, timeout)

    def wait_closed(self, record: RequestRecord, timeout: float = 5.0) -> float | None:
        """Wait until the client closed the connection of ``record``; return when (time.time())."""
        with self._cond:
            self._cond.wait_for(lambda: record.client_closed_at is not None, timeout)
            return record.client_closed_at

    # -- used by the handler --------------------------------------------------------------------
    def _add(self, rec: RequestRecord) -> None:
        with self._cond:
            self._records.append(rec)
            self._cond.notify_all()

    def _done(self, rec: RequestRecord) -> None:
        with self._cond:
            self._cond.notify_all()
        if self.log_path:
            with self._lock, open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec.to_json()) + "\n")

    def _next_step(self) -> Step | None:
        with self._lock:
            return self._steps.pop(0) if self._steps else None

    def _seen(self, prompt: str) -> int:
        with self._lock:
            self._seen_prompts[prompt] = self._seen_prompts.get(prompt, 0) + 1
            return self._seen_prompts[prompt]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fakes.fake_llm", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", default=None, help="append one JSON line per request to this file")
    ap.add_argument("--key", default="", help="require this API key")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--chunk-chars", type=int, default=4)
    ap.add_argument("--chunk-delay-ms", type=int, default=0)
    a = ap.parse_args(argv)
    srv = FakeLLMServer(
        a.host,
        a.port,
        key=a.key or None,
        latency_ms=a.latency_ms,
        chunk_chars=a.chunk_chars,
        chunk_delay_ms=a.chunk_delay_ms,
        log_path=a.log,
    ).start()
    done = threading.Event()

    def _stop(*_: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"PORT {srv.port}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
