"""The benchmark suite: `python -m benchmarks [--quick] [--only P1,P2] [--json FILE] [--markdown]`.

Runs each benchmark module (see `benchmarks/common.py` for the interface) in a fresh Python
process, one after another, then prints the machine and one table: id, measure, figure, control,
ratio, goal, met?. Progress goes to stderr, the table to stdout.

`--quick` checks that every benchmark still works (small graphs, one repeat): CI runs it; it
asserts nothing about speed. The exit status is 0 when every benchmark ran (goals met or not),
1 when one crashed or timed out.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import subprocess
import sys
import threading
import time
from collections import deque
from typing import Any

from benchmarks.common import REPO, WHAT_IFS, Row, apply_what_if, child_env, machine, print_table

#: id → module in this package. P7 is not part of issue 11.
BENCHMARKS: dict[str, str] = {
    "P1": "bench_scheduling",
    "P2": "bench_executor",
    "P3": "bench_canvas",
    "P4": "bench_cache",
    "P5": "bench_startup",
    "P6": "bench_streaming",
    "P8": "bench_memory",
}
TIMEOUT_S = {"full": 420.0, "quick": 90.0}
MARK = "@@ROWS "


# -- running ---------------------------------------------------------------------------------------
def run_child(bench_id: str, quick: bool, what_if: str = "") -> list[Row]:
    """Run one benchmark module in-process and return its rows (the child side)."""
    name = BENCHMARKS[bench_id]
    if what_if:
        apply_what_if(what_if)
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"benchmarks.{name}":
            raise
        return [Row(bench_id, f"benchmarks/{name}.py", None, note="not written yet")]
    run = getattr(module, "run", None)
    if not callable(run):
        return [
            Row(
                bench_id,
                f"benchmarks/{name}.py",
                None,
                note="has no run(quick) -> list[Row] yet (the interface in benchmarks/common.py); "
                f"run it alone: python -m benchmarks.{name}",
            )
        ]
    with contextlib.redirect_stdout(sys.stderr):
        rows = list(run(quick))
    return rows


def spawn(bench_id: str, quick: bool, what_if: str = "") -> tuple[list[Row], float]:
    """Run one benchmark in a fresh Python process; its progress is passed through to stderr."""
    command = [sys.executable, "-m", "benchmarks", "--child", bench_id]
    command += ["--quick"] if quick else []
    command += ["--what-if", what_if] if what_if else []
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tail: deque[str] = deque(maxlen=15)

    def forward() -> None:
        assert process.stderr is not None
        for text in process.stderr:
            tail.append(text.rstrip("\n"))
            sys.stderr.write(text)
            sys.stderr.flush()

    forwarder = threading.Thread(target=forward, daemon=True)
    forwarder.start()
    timeout = TIMEOUT_S["quick" if quick else "full"]
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        process.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        assert process.stdout is not None
        stdout = process.stdout.read()
        process.wait()
    finally:
        timer.cancel()
    forwarder.join(5)
    elapsed = time.perf_counter() - start
    if expired.is_set():
        return [Row(bench_id, BENCHMARKS[bench_id], None, note=f"timed out after {timeout:.0f} s")], elapsed
    for text in reversed(stdout.splitlines()):
        if text.startswith(MARK):
            return [Row.from_json(item) for item in json.loads(text[len(MARK) :])], elapsed
    last = next((t for t in reversed(tail) if t.strip()), "no output")
    return [
        Row(bench_id, BENCHMARKS[bench_id], None, note=f"crashed (exit {process.returncode}): {last}")
    ], elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="check every benchmark works (small, one repeat)"
    )
    parser.add_argument("--only", default="", help="comma-separated ids, e.g. P1,P2")
    parser.add_argument("--json", metavar="FILE", help="also write the machine and the rows as JSON")
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown (for the README)"
    )
    parser.add_argument(
        "--what-if",
        default="",
        choices=["", *WHAT_IFS],
        help="measure with a proposed change to the app applied: "
        + "; ".join(f"{k}: {v}" for k, v in WHAT_IFS.items()),
    )
    parser.add_argument("--child", metavar="ID", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        rows = run_child(args.child, args.quick, args.what_if)
        sys.stdout.write(MARK + json.dumps([row.to_json() for row in rows]) + "\n")
        return 0

    wanted = [part.strip().upper() for part in args.only.split(",") if part.strip()] or list(BENCHMARKS)
    unknown = [bench_id for bench_id in wanted if bench_id not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark id(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    before = machine()
    started = time.perf_counter()
    rows: list[Row] = []
    failed = False
    timings: dict[str, float] = {}
    for bench_id in wanted:
        print(f"== {bench_id} ({BENCHMARKS[bench_id]}) ==", file=sys.stderr, flush=True)
        got, elapsed = spawn(bench_id, args.quick, args.what_if)
        timings[bench_id] = elapsed
        failed = failed or any(
            row.figure is None and ("crashed" in row.note or "timed out" in row.note) for row in got
        )
        rows += got
    total = time.perf_counter() - started
    after = machine()

    mode = "quick (checks the benchmarks work; figures are not meaningful)" if args.quick else "full"
    print(f"Chainwright benchmarks — {mode}")
    if args.what_if:
        print(f"WHAT-IF {args.what_if}: {WHAT_IFS[args.what_if]} (not the code as it is)")
    print(f"machine: {before.describe()}")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in after.load)}")
    busiest = max(before.load[0], after.load[0])
    if busiest > before.cores * 0.75:
        print(
            f"NOTE: a load average of {busiest:.1f} on {before.cores} cores means other work competed for the "
            "CPU: CPU-bound figures (and ratios where the control is less CPU-bound) read high."
        )
    print(f"took {total:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + ")\n")
    print_table(rows, args.markdown)
    if args.json:
        data: dict[str, Any] = {
            "quick": args.quick,
            "what_if": args.what_if,
            "machine": before.describe(),
            "load_after": after.load,
            "elapsed_s": total,
            "timings_s": timings,
            "rows": [row.to_json() for row in rows],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
