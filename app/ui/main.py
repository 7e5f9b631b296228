"""Start the desktop app: `run_app(path)` is what `chainwright open [FILE]` calls."""

from __future__ import annotations

import sys
from pathlib import Path


def run_app(path: str | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from app.core.settings import Settings
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme, follow_system_scheme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Chainwright")
    app.setApplicationDisplayName("Chainwright")
    app.setOrganizationName("Chainwright")
    app.setDesktopFileName("chainwright")
    _start_logging(app)
    settings = Settings.load()
    apply_theme(app, settings.theme)
    follow_system_scheme(app, lambda: settings.theme)
    window = MainWindow(settings)
    if path:
        opened = window.open_path(Path(path))
        if opened is None:
            window.show()
    window.show()
    if settings.load_problem:
        window.statusBar().showMessage(settings.load_problem, 15000)
    from app.ui.recovery import start_up

    lock = start_up(window)  # held until exit: tells a crash from a second instance next time
    code = app.exec()
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
