"""P5 — start-up: process start to the first window shown, against a bare PySide6 hello-world.

    python -m benchmarks --only P5            (or: python -m benchmarks.bench_startup)

Both are fresh Python processes (QT_QPA_PLATFORM=offscreen, fresh user folders); the time runs
from just before the process is spawned to the first paint of a top-level window, which the
child reports on stdout with its wall-clock time, then leaves at once (`os._exit`).

* Chainwright: what `python -m app` runs — `app.cli.main([])`, i.e. `chainwright` with no
  arguments: parse the command line, `app.ui.main.run_app()` (settings, theme, `MainWindow`,
  `show()`), then the event loop. A harness creates the QApplication first (`run_app` reuses an
  existing one) only to install the event filter that sees the first paint; the app has no hook
  for this yet. The hook wanted: `CHAINWRIGHT_BENCH_EXIT_ON_SHOW=1` makes `run_app` print
  ``CHAINWRIGHT_SHOWN <time.time()>`` at the main window's first paint and exit — then this
  benchmark would spawn exactly `python -m app`.
* control: a script that imports PySide6, shows a QLabel and runs the event loop, with the same
  filter.

Goal: Chainwright / hello-world ≤ 2×; the median of 7 interleaved pairs after a warm-up pair.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.common import REPO, Row, at_most, child_env, isolate_user_dirs, median, paired, ratio, say

ID = "P5"
TITLE = "Start-up: process start to first window shown"

HARNESS = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication


class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj.isWidgetType() and obj.isWindow():
            print("SHOWN", repr(time.time()), type(obj).__name__, flush=True)
            os._exit(0)
        return False


app = QApplication(sys.argv[:1])
spy = FirstPaint()
app.installEventFilter(spy)
"""

APP = (
    HARNESS
    + r"""
from app.cli import main
sys.exit(main([]))
"""
)

HELLO = (
    HARNESS
    + r"""
from PySide6.QtWidgets import QLabel
label = QLabel("Hello, world")
label.show()
sys.exit(app.exec())
"""
)


def time_to_show(code: str, expect: str | None = None) -> float:
    env = child_env(QT_QPA_PLATFORM="offscreen")
    start = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    for line in done.stdout.splitlines():
        if line.startswith("SHOWN "):
            _, when, widget = line.split()
            if expect and widget != expect:
                raise RuntimeError(f"the first window painted was a {widget}, not the {expect}")
            return float(when) - start
    raise RuntimeError(f"no window was shown (exit {done.returncode}): {done.stderr.strip()[-400:]}")


def run(quick: bool) -> list[Row]:
    repeats, warmup = (1, 0) if quick else (7, 1)
    with isolate_user_dirs():
        figures = paired(
            {"app": lambda: time_to_show(APP, "MainWindow"), "hello": lambda: time_to_show(HELLO)},
            repeats=repeats,
            warmup=warmup,
        )
    app, hello = median(figures["app"]), median(figures["hello"])
    say(
        f"P5: Chainwright {[round(x, 3) for x in figures['app']]}, hello {[round(x, 3) for x in figures['hello']]}"
    )
    return [
        Row(
            ID,
            "start → first window shown (`python -m app`, offscreen)",
            app,
            "s",
            hello,
            "bare PySide6 hello-world",
            ratio(app, hello),
            "≤ 2×",
            at_most(ratio(app, hello), 2.0),
            f"median of {len(figures['app'])}; measured with a harness around app.cli.main([]) (no app hook yet)",
        )
    ]


if __name__ == "__main__":
    from benchmarks.common import print_table

    print_table(run("--quick" in sys.argv))
