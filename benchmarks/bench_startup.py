"""P5 — start-up: process start to the first window shown, against a bare PySide6 hello-world.

    python -m benchmarks --only P5            (or: python -m benchmarks.bench_startup)

Both are fresh Python processes (QT_QPA_PLATFORM=offscreen, fresh user folders); the time runs
from just before the process is spawned to the moment the first frame of its window has been
painted, which the child reports on stdout with its wall-clock time before it
leaves at once (`os._exit`). Both report through the same code, `app.ui.main.exit_after_first_frame`:
an event filter on the window that, at its first paint event, posts a zero timer — it fires once
the whole window has been painted and control is back in the event loop. (The earlier harness used
an application-wide filter, which sees every event of every object; wrapping those objects for
Python added ~60 ms of CPU to the main window's first frame, and much less to the hello-world's.)

* Chainwright: exactly `python -m app` (`chainwright` with no arguments), with
  `CHAINWRIGHT_BENCH_EXIT_ON_SHOW=1`, which makes `app.ui.main.run_app` install that filter on
  its `MainWindow` before showing it (the class is reported and checked). What that first frame holds: menus, toolbar,
  status bar, the start page (gallery, recent files, theme from the settings file), the docks'
  frames. The palette's node list, the overview map, the inspector and the run layer are filled
  in right after it (`MainWindow.ensure_ready`: settings, registry, canvas), as are the log file,
  the instance lock and the recovery of autosaves — see `app/ui/main.py`.
* control: a script that imports PySide6, creates a QLabel, installs the same filter on it
  (importing `app.ui.main`, which imports only the standard library at module level), shows it and
  runs the event loop.

Goal: Chainwright / hello-world ≤ 2×; the median of 7 interleaved pairs after a warm-up pair.
"""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.common import REPO, Row, at_most, child_env, isolate_user_dirs, median, paired, ratio, say

ID = "P5"
TITLE = "Start-up: process start to first window shown"

APP = ["-m", "app"]

HELLO = [
    "-c",
    r"""
import sys
from PySide6.QtWidgets import QApplication, QLabel
from app.ui.main import exit_after_first_frame

app = QApplication(sys.argv[:1])
label = QLabel("Hello, world")
exit_after_first_frame(label)
label.show()
sys.exit(app.exec())
""",
]


def time_to_show(args: list[str], expect: str | None = None) -> float:
    env = child_env(QT_QPA_PLATFORM="offscreen", CHAINWRIGHT_BENCH_EXIT_ON_SHOW="1")
    start = time.time()
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    for line in done.stdout.splitlines():
        if line.startswith("CHAINWRIGHT_SHOWN "):
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
            f"median of {len(figures['app'])}; first frame painted (CHAINWRIGHT_BENCH_EXIT_ON_SHOW)",
        )
    ]


if __name__ == "__main__":
    from benchmarks.common import print_table

    print_table(run("--quick" in sys.argv))
