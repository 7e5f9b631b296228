"""At start-up: take the instance lock, clean leftovers of interrupted saves, offer autosaved work back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from app.core.autosave import (
    InstanceLock,
    Recoverable,
    discard_autosave,
    recoverable_autosaves,
    remove_stray_temp_files,
)
from app.ui.main_window import MainWindow


def ask_user(window: MainWindow, records: list[Recoverable]) -> bool:
    lines = []
    for record in records:
        name = record.original_path.name if record.original_path else "an unsaved workflow"
        when = datetime.fromtimestamp(record.saved_at).strftime("%Y-%m-%d %H:%M")
        lines.append(f"• {name} (autosaved {when}): {record.summary}")
    box = QMessageBox(window)
    box.setWindowTitle("Recover unsaved work")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText("Chainwright did not close normally last time. Unsaved changes were kept:")
    box.setInformativeText("\n".join(lines))
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.exec()
    return box.clickedButton() is recover


def start_up(
    window: MainWindow, ask: Callable[[MainWindow, list[Recoverable]], bool] = ask_user
) -> InstanceLock | None:
    """Returns the held lock (release it at exit), or None when another instance is running."""
    lock = InstanceLock()
    if not lock.acquire():
        window.statusBar().showMessage(
            "Another Chainwright window is open elsewhere: autosaved work stays with it", 10000
        )
        return None
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(lock.release)
    for folder in {Path(recent).parent for recent in window.settings.recent_files}:
        remove_stray_temp_files(folder)
    records = recoverable_autosaves()
    if records:
        if ask(window, records):
            for record in records:
                window.open_recovered(record.workflow, record.original_path, record.key)
        else:
            for record in records:
                discard_autosave(record.key)
    return lock
