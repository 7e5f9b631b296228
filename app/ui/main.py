"""Start the desktop app."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QMainWindow


def run_app(path: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Chainwright")
    window = QMainWindow()
    window.setWindowTitle(f"{path or 'Untitled'} — Chainwright")
    window.setCentralWidget(QLabel("Chainwright"))
    window.resize(1200, 800)
    window.show()
    return app.exec()
