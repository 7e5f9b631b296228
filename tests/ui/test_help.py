"""Help ▸ Keyboard Shortcuts, About (versions), Copy Diagnostics, and the log file the app writes."""

from __future__ import annotations

import logging
import platform
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu

from app.core import secrets
from app.core.logs import log_file
from app.ui import help as help_module
from app.ui.help import AboutDialog, ShortcutsDialog, diagnostics_text, install_help_menu, versions

KEY = "sk-diagnostics-0123456789abcdefXYZ"


@pytest.fixture
def quiet_logging() -> Any:
    """Remove the app's log handler again after a test that installed it."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "chainwright", False):
            root.removeHandler(handler)
            handler.close()


def help_menu(window: Any) -> QMenu:
    return next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help")


def test_install_help_menu_adds_the_actions_and_takes_over_about(
    window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    actions = install_help_menu(window)
    menu = help_menu(window)
    names = [a.objectName() for a in menu.actions() if not a.isSeparator()]
    assert names[:3] == ["actionShortcuts", "actionCopyDiagnostics", "actionOpenLogFolder"]
    assert "actionAbout" in names
    assert actions["actionShortcuts"].shortcut().toString() == "Ctrl+/"
    shown: list[str] = []
    monkeypatch.setattr(AboutDialog, "exec", lambda self: shown.append("about") or 0)
    monkeypatch.setattr(ShortcutsDialog, "exec", lambda self: shown.append("shortcuts") or 0)
    window.act_about.trigger()  # the window's own About action now opens the dialog with versions
    actions["actionShortcuts"].trigger()
    assert shown == ["about", "shortcuts"]


def test_about_lists_the_versions(qtbot: Any) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    text = dialog.text.text()
    for needle in ("Chainwright", qVersion(), platform.python_version(), "llama.cpp"):
        assert needle in text
    found = versions()
    assert set(found) >= {"Chainwright", "Qt", "PySide6", "Python", "llama.cpp"}
    assert found["llama.cpp"].startswith("llama-cpp-python ")  # installed with the [local] extra


def test_shortcuts_come_from_the_menus_and_can_be_filtered(window: Any, qtbot: Any) -> None:
    install_help_menu(window)
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    rows = dialog.rows()
    assert ("Edit", "Undo", "Ctrl+Z") in [(s, w, k.split(", ")[0]) for s, w, k in rows]
    assert any(section == "File" and what == "Save" for section, what, _ in rows)
    assert any(section == "Canvas" and keys == "Tab" for section, _, keys in rows)
    assert all(keys != "New" for _, _, keys in rows)  # no multimedia-keyboard names
    dialog.filter.setText("zoom")
    shown = dialog.rows()
    assert shown and all("zoom" in (what + keys).lower() for _, what, keys in shown)


def test_copy_diagnostics_has_versions_and_sources_but_never_a_key(
    window: Any, monkeypatch: pytest.MonkeyPatch, quiet_logging: None
) -> None:
    from app.core.logs import setup_logging

    setup_logging()
    secrets.set_api_key("openai", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY + "-env")
    secrets.get_api_key("openai")  # registers the key for redaction, as a real call does
    logging.getLogger("chainwright.test").warning("calling with key %s", KEY)
    window.settings.providers = {}
    install_help_menu(window)
    window.findChild(type(window.act_about), "actionCopyDiagnostics").trigger()
    text = QGuiApplication.clipboard().text()
    assert text.startswith("Chainwright diagnostics")
    assert qVersion() in text and platform.python_version() in text
    assert "openai: key in the keychain" in text
    assert "anthropic: key from the environment" in text
    assert "calling with key ***" in text  # the log's tail, redacted
    assert KEY not in text
    assert "Diagnostics copied" in window.statusBar().currentMessage()
    assert KEY not in log_file().read_text(encoding="utf-8")


def test_diagnostics_without_a_keychain_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())
    assert "Keychain: NOT available" in diagnostics_text()


def test_the_app_start_writes_the_rotated_log_file(qapp: QApplication, quiet_logging: None) -> None:
    from app.ui.main import _start_logging

    _start_logging(qapp)
    path = log_file()
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "chainwright", False)]
    assert len(handlers) == 1 and handlers[0].maxBytes > 0 and handlers[0].backupCount > 0
    for handler in handlers:
        handler.flush()
    assert path.is_file() and "Chainwright" in path.read_text(encoding="utf-8")
    assert Path(path).parent.name == "log" or "log" in str(path).lower()
    assert not qapp.windowIcon().isNull()


def test_open_log_folder_asks_the_desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(
        help_module.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True
    )
    assert help_module.open_log_folder()
    assert opened == [str(log_file().parent)]
