"""The `chainwright` command (DESIGN.md §1.1).

    chainwright [open FILE]           the desktop app
    chainwright run FILE [--input NAME=VALUE]... [--json] [--no-cache] [--restricted]
    chainwright validate FILE
    chainwright export FILE -o OUT.py
    chainwright nodes [--json]
    chainwright --self-test           open the window offscreen, run an example, exit 0 if all is well

Exit codes: 0 success; 1 the run failed; 2 the file or the arguments are invalid. Every message
names the file and the node id / port / field it concerns; no command prints a traceback for a
problem with the user's input.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

EXIT_OK, EXIT_RUN_FAILED, EXIT_INVALID = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"chainwright: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="chainwright", description="A workbench for LLM workflows.")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start the app offscreen, open and run an example on the local model, then exit (0 = all well)",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    open_cmd = commands.add_parser("open", help="open a workflow in the desktop app")
    open_cmd.add_argument("file", nargs="?")

    run = commands.add_parser("run", help="run a workflow headless")
    run.add_argument("file")
    run.add_argument(
        "--input", action="append", default=[], metavar="NAME=VALUE", help="a workflow input value"
    )
    run.add_argument("--json", action="store_true", help="print exactly one JSON object of the outputs")
    run.add_argument("--no-cache", action="store_true", help="run every node, ignoring cached results")
    run.add_argument("--restricted", action="store_true", help="apply the limits of an untrusted workflow")

    validate = commands.add_parser("validate", help="check a workflow file without running it")
    validate.add_argument("file")

    export = commands.add_parser("export", help="write the workflow as a standalone Python script")
    export.add_argument("file")
    export.add_argument("-o", "--output", required=True, metavar="OUT.py")

    nodes = commands.add_parser("nodes", help="list the node catalogue")
    nodes.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _load_or_report(path: str):  # -> Workflow | None
    from app.core.model import WorkflowFileError, load_workflow

    try:
        return load_workflow(path)
    except WorkflowFileError as exc:
        for line in exc.render().splitlines():
            _err(line)
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    from app.core.graph import validate
    from app.core.registry import default_registry

    workflow = _load_or_report(args.file)
    if workflow is None:
        return EXIT_INVALID
    registry = default_registry()
    for pack_error in registry.errors:
        _err(f"warning: {pack_error}")
    problems = validate(workflow, registry)
    for problem in problems:
        _err(f"{args.file}: {problem}")
    if any(problem.severity == "error" for problem in problems):
        _err(f"{args.file}: {len(problems)} problem(s) found")
        return EXIT_INVALID
    print(f"{args.file}: valid ({len(workflow.nodes)} nodes, {len(workflow.edges)} edges)")
    return EXIT_OK


def cmd_nodes(args: argparse.Namespace) -> int:
    from app.core.registry import default_registry

    registry = default_registry()
    for pack_error in registry.errors:
        _err(f"warning: {pack_error}")
    described = [node_type.describe() for node_type in registry]
    if args.json:
        print(
            json.dumps({"format": "chainwright.catalogue", "nodes": described}, indent=2, ensure_ascii=False)
        )
        return EXIT_OK
    category = None
    for item in described:
        if item["category"] != category:
            category = item["category"]
            print(f"\n{category}")
        ins = ", ".join(f"{p['name']}:{p['type']}" for p in item["inputs"]) or "—"
        outs = ", ".join(f"{p['name']}:{p['type']}" for p in item["outputs"]) or "—"
        print(f"  {item['type']:<20} {item['title']:<18} ({ins}) → ({outs})")
        if item["dynamic_ports"]:
            print(f"  {'':<20} inputs: {item['dynamic_ports']}")
    return EXIT_OK


_INPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _symbols() -> dict[str, str]:
    """Progress marks, in plain ASCII when stderr cannot show the nicer ones."""
    fancy = {"start": "▶", "ok": "✓", "fail": "✗", "skip": "–", "ellipsis": "…"}
    encoding = getattr(sys.stderr, "encoding", None)
    if encoding is None:  # an in-memory text stream holds any character
        return fancy
    try:
        "".join(fancy.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return {"start": ">", "ok": "ok", "fail": "x", "skip": "-", "ellipsis": "..."}
    return fancy


class _Progress:
    """Prints a run's events on stderr, node by node (and streamed text, when asked)."""

    def __init__(self, titles: dict[str, str], stream_text: bool) -> None:
        self.titles = titles
        self.stream_text = stream_text
        self.marks = _symbols()
        self.mid_line = False
        self.streaming: str | None = None

    def line(self, text: str) -> None:
        if self.mid_line:
            sys.stderr.write("\n")
            self.mid_line = False
        self.streaming = None
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def __call__(self, event) -> None:  # app.core.events.Event
        kind, node_id, marks = event.kind, event.node_id, self.marks
        if kind == "node_started":
            self.line(f"{marks['start']} {node_id} ({self.titles.get(node_id, '')}){marks['ellipsis']}")
        elif kind == "chunk" and self.stream_text:
            if self.streaming != node_id:
                self.line(f"  [{node_id}]")
                self.streaming = node_id
            sys.stderr.write(event.text)
            sys.stderr.flush()
            self.mid_line = not event.text.endswith("\n")
        elif kind == "node_finished" and not event.reused:
            if event.cached:
                saved = f", saved {event.saved_tokens} tokens" if event.saved_tokens else ""
                self.line(f"{marks['ok']} {node_id} from the cache{saved}")
            else:
                details = [f"{event.duration_s:.1f} s"]
                if event.tokens:
                    details.append(f"{event.tokens} tokens")
                if event.cost_usd:
                    details.append(f"${event.cost_usd:.4f}")
                self.line(f"{marks['ok']} {node_id} {', '.join(details)}")
        elif kind == "node_failed":
            where = f" (input '{event.port}')" if event.port else (f" ({event.field})" if event.field else "")
            line = f" at line {event.user_line}" if event.user_line else ""
            self.line(f"{marks['fail']} {node_id}{where}{line}: {event.message}")
        elif kind == "node_skipped":
            self.line(f"{marks['skip']} {node_id} skipped: {event.reason}")
        elif kind in ("run_finished", "run_failed", "run_cancelled"):
            parts = [f"{event.duration_s:.1f} s"]
            tokens = event.input_tokens + event.output_tokens
            if tokens:
                parts.append(f"{tokens} tokens")
            if event.cost_usd:
                parts.append(f"${event.cost_usd:.4f}")
            if event.cache_hits:
                parts.append(f"{event.cache_hits} from the cache")
            verb = {"run_finished": "finished", "run_failed": "failed", "run_cancelled": "cancelled"}[kind]
            self.line(f"run {verb} ({', '.join(parts)})")


def _parse_inputs(pairs: list[str]) -> dict[str, str] | str:
    """{name: value} from NAME=VALUE arguments, or the message for a malformed one."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not _INPUT_NAME.fullmatch(name):
            return f"--input {pair!r}: write it as NAME=VALUE, where NAME is a workflow input's name"
        if name in values:
            return f"--input {name}: given more than once"
        values[name] = value
    return values


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from app.core.cache import Cache
    from app.core.events import jsonable
    from app.core.executor import Executor, UnknownInputError
    from app.core.graph import analyze
    from app.core.registry import default_registry
    from app.core.runs import RunStore
    from app.core.sdk import NodeError
    from app.core.settings import Settings
    from app.core.values import to_text

    workflow = _load_or_report(args.file)
    if workflow is None:
        return EXIT_INVALID
    registry = default_registry()
    for pack_error in registry.errors:
        _err(f"warning: {pack_error}")
    analysis = analyze(workflow, registry)
    if not analysis.ok:
        for problem in analysis.problems:
            _err(f"{args.file}: {problem}")
        _err(f"{args.file}: {len(analysis.problems)} problem(s) found; nothing was run")
        return EXIT_INVALID

    inputs = _parse_inputs(args.input)
    if isinstance(inputs, str):
        _err(f"chainwright run: {inputs}")
        return EXIT_INVALID
    known = analysis.interface("input")
    bad = False
    for name in inputs:
        if name not in known:
            _err(f"chainwright run: {UnknownInputError(name, known)}")
            bad = True
    for name, node_id in known.items():
        instance = analysis.nodes[node_id].instance
        if name in inputs:
            accept = getattr(instance, "accept", None)
            if accept is not None:
                try:
                    accept(inputs[name])
                except NodeError as exc:
                    _err(f"{args.file}: node '{node_id}': {exc.message}")
                    bad = True
        elif getattr(getattr(instance, "config", None), "default", None) is None:
            _err(
                f"{args.file}: node '{node_id}': the workflow needs a value for input '{name}'; "
                f"give it with --input {name}=VALUE"
            )
            bad = True
    if bad:
        return EXIT_INVALID

    settings = Settings.load()
    if settings.load_problem:
        _err(f"warning: {settings.load_problem}")
    cache = store = None
    try:
        cache = Cache.for_settings(settings)
    except Exception as exc:
        _err(f"warning: the result cache cannot be used ({exc}); every node will run")
    try:
        store = RunStore()
    except Exception as exc:
        _err(f"warning: the run history cannot be written ({exc})")

    executor = Executor(analysis, settings=settings, cache=cache, store=store, workflow_path=args.file)
    run = executor.run(inputs, use_cache=not args.no_cache, restricted=args.restricted)
    titles = {node_id: plan.title for node_id, plan in executor.plans.items()}
    run.subscribe(_Progress(titles, stream_text=sys.stdout.isatty()))
    try:
        # Nodes must not write to stdout: it carries the result (exactly one JSON object with --json).
        with contextlib.redirect_stdout(sys.stderr):
            result = asyncio.run(run.wait())
    finally:
        for resource in (cache, store):
            if resource is not None:
                resource.close()

    for name, reason in result.missing_outputs.items():
        _err(f"output '{name}' has no value: {reason}")
    for failure in result.failures:
        error = failure.error
        message = error.message if error else "failed"
        title = titles.get(failure.node_id, "")
        _err(f"run failed: node '{failure.node_id}' ({title}): {message}")

    outputs = jsonable(result.outputs)
    if args.json:
        try:
            print(json.dumps(outputs, ensure_ascii=False))
        except UnicodeEncodeError:
            print(json.dumps(outputs))
    else:
        for name, value in outputs.items():
            text = to_text(value)
            print(text if len(outputs) == 1 else f"{name}: {text}")
    sys.stdout.flush()
    if result.status == "cancelled":
        return 130
    return EXIT_OK if result.status == "succeeded" else EXIT_RUN_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    from app.core.export import ExportError, export_script
    from app.core.model import atomic_write_bytes
    from app.core.problems import WorkflowError

    workflow = _load_or_report(args.file)
    if workflow is None:
        return EXIT_INVALID
    output = Path(args.output)
    if output.resolve() == Path(args.file).resolve():
        _err(f"{args.output}: refusing to write the script over the workflow file itself")
        return EXIT_INVALID
    try:
        source = export_script(workflow, workflow_path=Path(args.file), script_path=output)
    except ExportError as exc:
        for problem in exc.problems:
            _err(f"{args.file}: {problem}")
        return EXIT_INVALID
    except WorkflowError as exc:
        for line in exc.render().splitlines():
            _err(line)
        return EXIT_INVALID
    try:
        atomic_write_bytes(output, source.encode("utf-8"))
    except OSError as exc:
        _err(f"{args.output}: cannot be written ({exc.strerror or exc})")
        return EXIT_INVALID
    _err(f"wrote {args.output}")
    return EXIT_OK


def _display_problem() -> str | None:
    """Why a window cannot be shown here, or None. Checked before Qt is imported so Qt never aborts."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "Chainwright's window needs a graphical display, and none was found (DISPLAY and WAYLAND_DISPLAY "
            "are not set).\nOn a machine without a screen use the command line instead, for example:\n"
            "  chainwright run FILE --json\n  chainwright validate FILE\n"
            "or run the window offscreen with QT_QPA_PLATFORM=offscreen."
        )
    return None


def cmd_open(args: argparse.Namespace) -> int:
    problem = _display_problem()
    if problem:
        _err(problem)
        return EXIT_RUN_FAILED
    if args.file and not Path(args.file).exists():
        _err(f"{args.file}: no such file")
        return EXIT_INVALID
    try:
        gui = importlib.import_module("app.ui.main")
    except ImportError as exc:
        _err(f"the desktop app cannot start: {exc}. Reinstall with: pip install -e .")
        return EXIT_RUN_FAILED
    return int(gui.run_app(args.file))


def cmd_self_test(_args: argparse.Namespace) -> int:
    try:
        selftest = importlib.import_module("app.ui.selftest")
    except ImportError as exc:
        _err(f"the self-test cannot start: {exc}. Reinstall with: pip install -e .")
        return EXIT_RUN_FAILED
    return int(selftest.run_self_test())


COMMANDS = {
    "open": cmd_open,
    "run": cmd_run,
    "validate": cmd_validate,
    "export": cmd_export,
    "nodes": cmd_nodes,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.self_test:
        return cmd_self_test(args)
    if args.command is None:
        args.command, args.file = "open", None
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
