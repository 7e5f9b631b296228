"""The bundle's entry point: `chainwright` (the app and its command line), and a Python interpreter
for the user's own code.

Inside a PyInstaller bundle `sys.executable` is this program, not `python`. The `tool.python` node
runs user code as ``sys.executable -I -u -c RUNNER IN OUT`` (nodes/tool.py), so when the bundle is
started with interpreter options (``-c``, ``-I``, ``-u``, ``-E``, ``-s``, ``-B``), it behaves like
``python -c``: the code runs with the bundle's standard library and packages, as ``__main__``,
with ``sys.argv[0] == "-c"``. Any other arguments go to Chainwright's command line.
"""

from __future__ import annotations

import sys

#: Interpreter options that take no value (they are accepted and otherwise ignored).
PYTHON_FLAGS = frozenset({"-I", "-u", "-E", "-s", "-S", "-B", "-O", "-OO", "-q"})


def python_child_args(argv: list[str]) -> tuple[str, list[str]] | None:
    """(code, argv for the code) if `argv` asks for ``python [flags] -c CODE [args]``, else None."""
    index = 0
    while index < len(argv) and argv[index] in PYTHON_FLAGS:
        index += 1
    if index < len(argv) and argv[index] == "-c" and index + 1 < len(argv):
        return argv[index + 1], ["-c", *argv[index + 2 :]]
    if index < len(argv) and argv[index].startswith("-c") and len(argv[index]) > 2:
        return argv[index][2:], ["-c", *argv[index + 1 :]]
    return None


def run_python_child(code: str, args: list[str]) -> int:
    import builtins

    sys.argv = args
    for stream in (sys.stdout, sys.stderr):  # like -u: the parent reads the output as it comes
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    namespace = {"__name__": "__main__", "__builtins__": builtins, "__file__": "<string>"}
    try:
        exec(compile(code, "<string>", "exec"), namespace)
    except SystemExit as exc:
        code_ = exc.code
        if code_ is None:
            return 0
        if isinstance(code_, int):
            return code_
        print(code_, file=sys.stderr)
        return 1
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1
    return 0


def main() -> int:
    child = python_child_args(sys.argv[1:])
    if child is not None:
        return run_python_child(*child)
    import multiprocessing

    multiprocessing.freeze_support()
    from app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
