"""The `chainwright` command (DESIGN.md §1.1).

    chainwright [open FILE]           the desktop app
    chainwright run FILE [--input NAME=VALUE]... [--json] [--no-cache] [--restricted]
    chainwright validate FILE
    chainwright export FILE -o OUT.py
    chainwright nodes [--json]

Exit codes: 0 success; 1 the run failed; 2 the file or the arguments are invalid. Every message
names the file and the node id / port / field it concerns; no command prints a traceback for a
problem with the user's input.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
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


def cmd_not_yet(args: argparse.Namespace) -> int:
    _err(f"chainwright {args.command}: not available yet in this version of Chainwright")
    return EXIT_INVALID


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


COMMANDS = {
    "open": cmd_open,
    "run": cmd_not_yet,
    "validate": cmd_validate,
    "export": cmd_not_yet,
    "nodes": cmd_nodes,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
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
