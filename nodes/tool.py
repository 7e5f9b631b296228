"""Tools: call web APIs and run the user's own Python code."""

from __future__ import annotations

import ast
import asyncio
import builtins
import contextlib
import inspect
import json
import linecache
import os
import signal
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from app.core import templates
from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext, Skip
from app.core.values import DataType
from nodes._common import fill_template, preview
from nodes._http import Response, check_url, fetch, fetch_blocking, fill_url, host_of

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
MAX_RESPONSE_BYTES = 20 * 1024 * 1024


class HttpConfig(NodeConfig):
    method: HttpMethod = Field(default="GET", description="The HTTP method.")
    url: str = Field(
        default="https://",
        description="The address; may hold {{placeholders}}. A placeholder at the very start is inserted as "
        "written (e.g. {{base_url}}/search); any other is URL-encoded, so one value stays one value.",
        json_schema_extra={"ui": "template"},
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Request headers; values may hold {{placeholders}}. Sent only to the host of the URL, "
        "never on to another host a redirect points at.",
        json_schema_extra={"ui": "json"},
    )
    body: str = Field(
        default="",
        description="Request body, as plain text; may hold {{placeholders}}. Sent as JSON when it is JSON "
        "and no Content-Type header is set, otherwise as plain text.",
        json_schema_extra={"ui": "template"},
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="Give up after this many seconds.")
    fail_on_http_error: bool = Field(
        default=True,
        description="A status of 400 or more fails the node (with the status and the start of the answer); "
        "switch off to pass the status on instead.",
    )


class HttpRequest(NodeType[HttpConfig]):
    type_id = "tool.http"
    title = "HTTP request"
    category = "Tool"
    description = (
        "Calls a web API and returns the answer's body (as text, and as JSON when it is JSON) and its "
        "status code. Stored keys are never added: put what the API needs in the headers."
    )
    config_model = HttpConfig
    outputs = (
        Port("body", DataType.TEXT, description="The answer's body as text."),
        Port("status", DataType.NUMBER, description="The HTTP status code, e.g. 200."),
        Port(
            "json", DataType.JSON, description="The body parsed as JSON (not produced when it is not JSON)."
        ),
    )
    dynamic_ports = "one text input per distinct {{placeholder}} in the url, headers and body"
    cacheable = False

    def input_ports(self) -> list[Port]:
        text = "\n".join([self.config.url, *self.config.headers.values(), self.config.body])
        return [Port(name, DataType.TEXT) for name in templates.placeholders(text)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        config = self.config
        url, headers, content = prepare_request(
            config.method, config.url, config.headers, config.body, inputs
        )
        response = await fetch(
            ctx,
            config.method,
            url,
            headers=headers,
            body=content,
            timeout=config.timeout_seconds,
            max_bytes=MAX_RESPONSE_BYTES,
        )
        ctx.log(f"{config.method} {host_of(response.url)}: HTTP {response.status} {response.reason}")
        return http_outputs(response, config.fail_on_http_error)

    def export(self, code: Any) -> None:
        config = self.config
        ports = self.input_ports()
        request = code.call(
            http_request,
            config.method,
            config.url,
            headers=config.headers or None,
            body=config.body,
            values=code.dict({port.name: code.input(port.name) for port in ports}) if ports else None,
            timeout=config.timeout_seconds,
            fail_on_http_error=config.fail_on_http_error,
        )
        code.assign_outputs(request, may_skip=("json",))


def prepare_request(
    method: str, url: str, headers: dict[str, str], body: str, values: dict[str, Any]
) -> tuple[str, dict[str, str], bytes | None]:
    """The address, headers and body of a request, with their {{placeholders}} filled in."""
    address = check_url(fill_url(url, values), "config.url")
    filled = {}
    for name, template in headers.items():
        value = fill_template(template, values)
        if "\n" in value or "\r" in value:
            raise NodeError(
                f"the header '{name}' would contain a line break (from a filled-in value); "
                "a header value must be one line",
                field="config.headers",
            )
        filled[name] = value
    text = fill_template(body, values)
    content = None
    if text and method != "HEAD":
        content = text.encode("utf-8")
        if not any(name.lower() == "content-type" for name in filled):
            is_json = _is_json(text)
            filled["Content-Type"] = "application/json" if is_json else "text/plain; charset=utf-8"
    return address, filled, content


def http_outputs(response: Response, fail_on_http_error: bool = True) -> dict[str, Any]:
    """body / status / json of an answer (json: not produced when the body is not JSON)."""
    text = response.text
    if response.status >= 400 and fail_on_http_error:
        shown = preview(text, 300) or "(empty body)"
        raise NodeError(
            f"{host_of(response.url)} answered HTTP {response.status} {response.reason}: {shown}",
            field="config.url",
        )
    is_json, parsed = _parse_json(text, response.content_type)
    return {
        "body": text,
        "status": response.status,
        "json": parsed if is_json else Skip("the answer is not JSON"),
    }


def http_request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: str = "",
    values: dict[str, Any] | None = None,
    timeout: float = 30.0,
    fail_on_http_error: bool = True,
) -> dict[str, Any]:
    """One call of a web API, as tool.http makes it (blocking: what scripts call)."""
    address, sent, content = prepare_request(method, url, headers or {}, body, values or {})
    response = fetch_blocking(
        method, address, headers=sent, body=content, timeout=timeout, max_bytes=MAX_RESPONSE_BYTES
    )
    return http_outputs(response, fail_on_http_error)


def _is_json(text: str) -> bool:
    return _parse_json(text, "application/json")[0]


def _parse_json(text: str, content_type: str) -> tuple[bool, Any]:
    """(True, value) when the text is JSON (as its content type says, or as it looks), else (False, None)."""
    stripped = text.strip()
    if not stripped or ("json" not in content_type and stripped[:1] not in '{["'):
        return False, None
    try:
        return True, json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):
        return False, None


_ANNOTATION_TYPES = {
    "str": DataType.TEXT,
    "int": DataType.NUMBER,
    "float": DataType.NUMBER,
    "bool": DataType.BOOLEAN,
    "list": DataType.LIST,
    "dict": DataType.JSON,
}


@dataclass(frozen=True, slots=True)
class MainSignature:
    parameters: list[Port]


def parse_main(code: str) -> MainSignature:
    """Find `def main(...)` in the code by parsing it — the code is never run here.

    Raises ValueError with the line number when the code does not parse or has no usable main.
    """
    try:
        tree = ast.parse(code, filename="<tool.python code>")
    except SyntaxError as exc:
        raise ValueError(f"line {exc.lineno}: {exc.msg}") from None
    mains = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main"
    ]
    if not mains:
        raise ValueError("the code must define a function `def main(...)` at the top level")
    main = mains[-1]
    args = main.args
    if args.posonlyargs:
        raise ValueError(f"line {main.lineno}: main's parameters cannot be positional-only")
    if args.vararg or args.kwarg:
        raise ValueError(f"line {main.lineno}: main cannot take *args or **kwargs; name each input")
    plain = args.args
    defaults_from = len(plain) - len(args.defaults)
    ports = []
    for index, arg in enumerate(plain):
        ports.append(Port(arg.arg, _annotation_type(arg.annotation), required=index < defaults_from))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        ports.append(Port(arg.arg, _annotation_type(arg.annotation), required=default is None))
    return MainSignature(ports)


def _annotation_type(annotation: ast.expr | None) -> DataType:
    if isinstance(annotation, ast.Name):
        return _ANNOTATION_TYPES.get(annotation.id, DataType.ANY)
    if isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name):
        return _ANNOTATION_TYPES.get(annotation.value.id, DataType.ANY)
    return DataType.ANY


DEFAULT_CODE = "def main(text: str) -> str:\n    return text.strip()\n"


class PythonConfig(NodeConfig):
    code: str = Field(
        default=DEFAULT_CODE,
        description="Python defining `def main(...)`; its parameters become inputs, its return value the result.",
        json_schema_extra={"ui": "code"},
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="Stop the code after this many seconds."
    )

    @field_validator("code")
    @classmethod
    def _main_must_parse(cls, code: str) -> str:
        parse_main(code)
        return code


#: The program the separate process runs: read the code and inputs, call main, write the result.
#: The user's print() output goes to stdout/stderr; the result travels in a file of its own.
RUNNER = r"""
import inspect, json, linecache, os, sys, traceback
FILENAME = "<your code>"

def finish(path, text):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)

def user_frames(exc):
    frames = traceback.extract_tb(exc.__traceback__)
    for index, frame in enumerate(frames):
        if frame.filename == FILENAME:
            return frames[index:]
    return []

def run(in_path, out_path):
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="backslashreplace", line_buffering=True)
    with open(in_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    code = payload["code"]
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    try:
        namespace = {"__name__": "__chainwright__", "__builtins__": __builtins__}
        exec(compile(code, FILENAME, "exec"), namespace)
        result = namespace["main"](**payload["inputs"])
        if inspect.iscoroutine(result):
            import asyncio
            result = asyncio.run(result)
    except BaseException as exc:
        frames = user_frames(exc)
        line = frames[-1].lineno if frames else None
        if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
            line = exc.lineno
        if isinstance(exc, SystemExit):
            kind, message = "exit", repr(exc.code)
        else:
            kind, message = "raised", str(exc)
        shown = "".join(traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc))
        finish(out_path, json.dumps({"ok": False, "kind": kind, "type": type(exc).__name__,
                                     "message": message, "line": line, "traceback": shown}))
    try:
        text = json.dumps({"ok": True, "result": result}, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        finish(out_path, json.dumps({"ok": False, "kind": "not_json", "type": type(result).__name__,
                                     "message": str(exc)}))
    finish(out_path, text)

run(sys.argv[1], sys.argv[2])
"""

#: Environment variables not passed to the user's code (keys of the model providers).
_HIDDEN_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
MAX_LOG_LINES = 1000
MAX_LOG_CHARS = 1_000_000


class PythonCode(NodeType[PythonConfig]):
    type_id = "tool.python"
    title = "Python code"
    category = "Tool"
    description = (
        "Runs your own Python function `main(...)` in a separate process, with a time limit: its "
        "parameters are the inputs, its return value (text, number, list, dict …) the result, and "
        "what it prints goes to the node's log."
    )
    config_model = PythonConfig
    outputs = (Port("result", DataType.ANY, description="What main returned."),)
    dynamic_ports = "one input per parameter of main (found by parsing the code, never by running it)"
    cacheable = False

    def input_ports(self) -> list[Port]:
        return parse_main(self.config.code).parameters

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        if ctx.restricted:
            raise NodeError(
                "this workflow is not trusted, so its Python code is not run; trust the workflow to run it"
            )
        for port in self.input_ports():
            if port.required and port.name not in inputs:
                raise NodeError(
                    f"the input '{port.name}' (a parameter of main) has nothing connected to it",
                    port=port.name,
                )
        with tempfile.TemporaryDirectory(prefix="chainwright-python-") as folder:
            in_path, out_path = Path(folder, "input.json"), Path(folder, "result.json")
            payload = {"code": self.config.code, "inputs": inputs}
            in_path.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
            returncode, stderr_tail = await self._execute(ctx, in_path, out_path)
            try:
                outcome = json.loads(out_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                outcome = None
        if outcome is None:
            raise self._crash(returncode, stderr_tail)
        if outcome["ok"]:
            return {"result": outcome["result"]}
        raise self._failure(outcome)

    def export(self, code: Any) -> None:
        source = code.constant(f"{code.variable}_code", self.config.code)
        inputs = code.inputs_dict([port.name for port in self.input_ports()])
        code.assign("result", code.call(run_python, code.expr(source), inputs, code.folder()))

    async def _execute(self, ctx: RunContext, in_path: Path, out_path: Path) -> tuple[int, list[str]]:
        env = {k: v for k, v in os.environ.items() if k not in _HIDDEN_VARIABLES}
        cwd = ctx.workflow_dir if ctx.workflow_dir.is_dir() else None
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-u",
                "-c",
                RUNNER,
                str(in_path),
                str(out_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd,
                env=env,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise NodeError(f"could not start Python ({sys.executable}): {exc.strerror or exc}") from None
        stderr_tail: list[str] = []
        budget = {"lines": MAX_LOG_LINES, "chars": MAX_LOG_CHARS, "dropped": 0}
        pumps = [
            asyncio.ensure_future(_pump(process.stdout, ctx, "info", budget, None)),
            asyncio.ensure_future(_pump(process.stderr, ctx, "warning", budget, stderr_tail)),
        ]
        waiter = asyncio.ensure_future(process.wait())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout_seconds
        try:
            while True:
                done, _ = await asyncio.wait({waiter}, timeout=max(0.0, min(0.05, deadline - loop.time())))
                if done:
                    break
                if ctx.cancel_event.is_set():
                    raise asyncio.CancelledError()
                if loop.time() >= deadline:
                    _kill(process)
                    raise NodeError(
                        f"your code did not finish within {self.config.timeout_seconds:g} s and was stopped "
                        "(timeout_seconds); does it wait for something, or loop forever?",
                        field="config.timeout_seconds",
                    )
        finally:
            _kill(process)  # also ends anything the code started in its process group
            if not waiter.done():
                waiter.cancel()
            try:
                await asyncio.wait_for(asyncio.gather(*pumps, return_exceptions=True), timeout=2)
            except (TimeoutError, asyncio.CancelledError):
                for pump in pumps:
                    pump.cancel()
        if budget["dropped"]:
            ctx.log(f"… {budget['dropped']} more lines of output not shown", "warning")
        return process.returncode if process.returncode is not None else -9, stderr_tail

    def _failure(self, outcome: dict[str, Any]) -> NodeError:
        return code_failure(self.config.code, outcome)

    def _crash(self, returncode: int, stderr_tail: list[str]) -> NodeError:
        details = "\n".join(stderr_tail)
        if returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            return NodeError(f"the Python process crashed ({name}) before main returned", details=details)
        last = f": {stderr_tail[-1]}" if stderr_tail else ""
        return NodeError(
            f"the Python process ended (exit code {returncode}) before main returned a value{last}",
            details=details,
        )


def code_failure(code: str, outcome: dict[str, Any]) -> NodeError:
    """The NodeError for the user's code that failed (`outcome` as the runner reports it)."""
    line = outcome.get("line")
    lines = code.splitlines()
    source = lines[line - 1].strip() if line is not None and 1 <= line <= len(lines) else ""
    where = f" (line {line}: {source})" if source else (f" (line {line})" if line else "")
    if outcome["kind"] == "exit":
        message = f"your code called sys.exit({outcome['message']}){where}; return a value from main instead"
    elif outcome["kind"] == "not_json":
        message = (
            f"main returned a {outcome['type']} value, which cannot be passed on to other nodes: return text, "
            f"a number, true/false, None, a list or a dict of those ({outcome['message']})"
        )
    else:
        detail = f": {outcome['message']}" if outcome["message"] else ""
        message = f"your code raised {outcome['type']}{detail}{where}"
    return NodeError(message, user_line=line, details=outcome.get("traceback", ""))


#: The file name the user's code runs under (in tracebacks).
CODE_FILENAME = "<your code>"


def run_python(code: str, inputs: dict[str, Any], folder: Path | None = None) -> Any:
    """Call the `main` of tool.python code the way the app does, but in this process: the code
    runs in a namespace of its own, in the workflow's folder; the inputs and the result pass
    through JSON. (The app also stops the code after its timeout; here it runs to the end.)"""
    inputs = json.loads(json.dumps(inputs, ensure_ascii=False, default=str))
    linecache.cache[CODE_FILENAME] = (len(code), None, code.splitlines(True), CODE_FILENAME)
    namespace = {"__name__": "__chainwright__", "__builtins__": builtins}
    try:
        with contextlib.chdir(folder) if folder is not None else contextlib.nullcontext():
            # The workflow's own code, run on purpose (as the app runs it, in a process of its own).
            exec(compile(code, CODE_FILENAME, "exec"), namespace)  # noqa: S102, RUF100
            result = namespace["main"](**inputs)
            if inspect.iscoroutine(result):
                result = asyncio.run(result)
    except (Exception, SystemExit) as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [index for index, frame in enumerate(frames) if frame.filename == CODE_FILENAME]
        frames = frames[ours[0] :] if ours else []
        line = frames[-1].lineno if frames else None
        if isinstance(exc, SyntaxError) and exc.filename == CODE_FILENAME:
            line = exc.lineno
        exited = isinstance(exc, SystemExit)
        shown = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
        outcome = {
            "kind": "exit" if exited else "raised",
            "type": type(exc).__name__,
            "message": repr(exc.code) if isinstance(exc, SystemExit) else str(exc),
            "line": line,
            "traceback": "".join(shown),
        }
        raise code_failure(code, outcome) from exc
    try:
        text = json.dumps(result, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        outcome = {"kind": "not_json", "type": type(result).__name__, "message": str(exc)}
        raise code_failure(code, outcome) from None
    return json.loads(text)


def _kill(process: asyncio.subprocess.Process) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        elif process.returncode is None:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


async def _pump(
    stream: asyncio.StreamReader | None,
    ctx: RunContext,
    level: Literal["info", "warning"],
    budget: dict[str, int],
    tail: list[str] | None,
) -> None:
    """Send each line the code writes to the node's log (within a budget); keep the last stderr lines."""
    if stream is None:
        return
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # a line longer than the stream limit
            raw = await stream.read(65536)
        if not raw:
            return
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if tail is not None:
            tail.append(line)
            del tail[:-20]
        if budget["lines"] > 0 and budget["chars"] > 0:
            budget["lines"] -= 1
            budget["chars"] -= len(line)
            ctx.log(line, level)
        else:
            budget["dropped"] += 1
