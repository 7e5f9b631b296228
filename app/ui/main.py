"""Start the desktop app: `run_app(path)` is what `chainwright open [FILE]` calls.

Without a file, the window is on screen before the engine is imported (see `MainWindow`): the
first paint needs only the theme and the recent files, which `peek_settings` reads from the
settings file with the standard library; the settings proper (a pydantic model), the log file, the
node registry, the instance lock and the offer to recover autosaved work follow right after that
paint. With a file, everything is built before the window is shown, so it opens showing the file.

Only the standard library at module level here: `benchmarks/bench_startup.py` imports
`exit_after_first_frame` into its bare hello-world control.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from app.ui.main_window import MainWindow

#: `CHAINWRIGHT_BENCH_EXIT_ON_SHOW=1`: print ``CHAINWRIGHT_SHOWN <time.time()> <window class>``
#: once the first window's first frame is painted, and exit at once (the P5 start-up benchmark).
EXIT_ON_SHOW = "CHAINWRIGHT_BENCH_EXIT_ON_SHOW"
THEMES = ("system", "light", "dark")


@dataclass(frozen=True)
class EarlySettings:
    """What the first paint needs from the user settings."""

    theme: str = "system"
    recent_files: tuple[str, ...] = ()


def settings_path() -> Path:
    """`app.core.settings.Settings.path()`, without importing that module (it imports pydantic).
    On Linux it is platformdirs' rule, written out (importing platformdirs costs ~10 ms)."""
    if sys.platform == "linux":
        config = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return Path(config) / "chainwright" / "settings.json"
    import platformdirs

    return Path(platformdirs.user_config_dir("chainwright", appauthor=False)) / "settings.json"


def peek_settings(path: Path | None = None) -> EarlySettings:
    """The theme and recent files from the settings file, read with the standard library. A value
    that is missing or not what `Settings` accepts gives the default; `Settings.load()` follows
    right after the first paint and the window follows it where it differs (a file `Settings`
    rejects as a whole, say)."""
    try:
        data = json.loads((path or settings_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return EarlySettings()
    if not isinstance(data, dict):
        return EarlySettings()
    theme = data.get("theme")
    recent = data.get("recent_files")
    return EarlySettings(
        theme=theme if theme in THEMES else "system",
        recent_files=tuple(recent)
        if isinstance(recent, list) and all(isinstance(p, str) for p in recent)
        else (),
    )


def run_app(path: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme, follow_system_scheme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Chainwright")
    app.setApplicationDisplayName("Chainwright")
    app.setOrganizationName("Chainwright")
    app.setDesktopFileName("chainwright")
    exit_on_show = os.environ.get(EXIT_ON_SHOW) == "1"
    held: dict[str, Any] = {}

    def started(window: MainWindow, theme_shown: str) -> None:
        """After the first paint (or right after show, with a file): the parts the paint did not need."""
        if path is None:
            _start_logging(app)
        settings = held["settings"] = window.settings
        if settings.theme != theme_shown:
            apply_theme(app, settings.theme)
        if settings.load_problem:
            window.statusBar().showMessage(settings.load_problem, 15000)
        from app.ui.recovery import start_up

        held["lock"] = start_up(window)  # held until exit: tells a crash from a second instance next time

    if path:
        from app.core.settings import Settings

        _start_logging(app)
        settings = Settings.load()
        apply_theme(app, settings.theme)
        held["settings"] = settings
        window = MainWindow(settings)
        follow_system_scheme(app, lambda: held["settings"].theme)
        window.open_path(Path(path))
        if exit_on_show:
            exit_after_first_frame(window)
        window.show()
        started(window, settings.theme)
    else:
        from app.ui.start_page import app_icon

        early = peek_settings()
        apply_theme(app, early.theme)
        app.setWindowIcon(app_icon())
        held["settings"] = early
        window = MainWindow(defer=True, recent_files=list(early.recent_files))
        follow_system_scheme(app, lambda: held["settings"].theme)
        window.when_ready(lambda: started(window, early.theme))
        if exit_on_show:
            exit_after_first_frame(window)
        window.show()
    code = app.exec()
    lock = held.get("lock")
    if lock is not None:
        lock.release()
    if app.platformName() == "offscreen":
        # PySide6 6.11 on the offscreen platform crashes at interpreter exit when its
        # process-local clipboard still holds a QMimeData; nothing outside the process can read it.
        app.clipboard().clear()
    return code


def _start_logging(app: object) -> None:
    """The rotated log file in the user log dir (app.core.logs), and the app icon."""
    import logging
    import platform

    from PySide6.QtCore import qVersion

    from app.core.logs import setup_logging
    from app.ui.help import app_icon, app_version

    try:
        path = setup_logging()
    except OSError as exc:  # a read-only home must not stop the app
        print(f"chainwright: no log file ({exc})", file=sys.stderr)
    else:
        logging.getLogger("chainwright").info(
            "Chainwright %s started (Qt %s, Python %s, %s); log file %s",
            app_version(), qVersion(), platform.python_version(), platform.platform(), path,
        )  # fmt: skip
    app.setWindowIcon(app_icon())  # type: ignore[attr-defined]


_first_frame_watch: Any = None


def exit_after_first_frame(window: QWidget) -> None:
    """When `window` gets its first paint event, wait for that frame to be painted (a zero timer
    runs once control is back in the event loop, after the whole window has been painted and
    flushed), then print ``CHAINWRIGHT_SHOWN <time.time()> <window class>`` and leave at once with
    `os._exit(0)` (no clean-up: nothing is saved, no lock was taken).

    Used by `benchmarks/bench_startup.py` for Chainwright (`CHAINWRIGHT_BENCH_EXIT_ON_SHOW`) and for
    its hello-world control alike, so both are timed the same way. The filter watches that one
    window: an application-wide filter would see every event of every object, and wrapping each of
    those objects for Python costs the main window's first frame ~60 ms of CPU that a user's start
    does not pay."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstFrame(QObject):
        seen = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if not self.seen and event.type() == QEvent.Type.Paint:
                self.seen = True
                name = type(obj).__name__
                QTimer.singleShot(0, lambda: _report_shown(name))
            return False

    global _first_frame_watch
    _first_frame_watch = FirstFrame()
    window.installEventFilter(_first_frame_watch)


def _report_shown(name: str) -> None:
    print(f"CHAINWRIGHT_SHOWN {time.time()!r} {name}", flush=True)
    os._exit(0)
