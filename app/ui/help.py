"""The Help menu: Keyboard Shortcuts, Copy Diagnostics, Open Log Folder and About (with versions).

`install_help_menu(window)` adds them to a main window's Help menu (it creates the menu if the
window has none) and points the window's existing About action at the About dialog here.
Nothing here holds or shows a key: diagnostics say only *where* a provider's key comes from.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import sys
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.resources import resources_dir

SHORTCUTS_KEY = "Ctrl+/"
#: What the canvas does with keys and the mouse (these are not menu actions, so they are listed here).
CANVAS_GESTURES: tuple[tuple[str, str], ...] = (
    ("Tab", "Add a node at the mouse pointer (search the catalogue)"),
    ("Double-click empty canvas", "Add a node there"),
    ("Drag from a port", "Draw a wire; drop it on empty canvas to add a connected node"),
    ("Space + drag, or middle-drag", "Pan the canvas"),
    ("Mouse wheel", "Zoom at the pointer (Shift + wheel: scroll sideways)"),
    ("Arrow keys", "Nudge the selected nodes (Shift: by one grid step)"),
    ("Escape", "Cancel a wire being drawn and clear the selection"),
    ("Double-click a node", "Show it in the Inspector"),
)


# -- versions ---------------------------------------------------------------------------------------
def _dist_version(name: str) -> str | None:
    import importlib.metadata  # ~40 ms, not needed before Help is opened

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def app_version() -> str:
    return _dist_version("chainwright") or "development"


def versions() -> dict[str, str]:
    """Versions a bug report needs: Chainwright, Qt, PySide6, Python, llama.cpp, the OS."""
    import PySide6
    from PySide6.QtCore import qVersion

    llama = _dist_version("llama-cpp-python")
    return {
        "Chainwright": app_version() + (" (bundle)" if getattr(sys, "frozen", False) else ""),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "llama.cpp": f"llama-cpp-python {llama}"
        if llama
        else "not installed (the local model is unavailable)",
        "Operating system": platform.platform(),
    }


def app_icon() -> QIcon:
    """Chainwright's icon (resources/icons/chainwright.svg)."""
    path = resources_dir() / "icons" / "chainwright.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


# -- diagnostics --------------------------------------------------------------------------------------
def _keyring_backend() -> str:
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring must not stop the report
        return f"unavailable ({type(exc).__name__})"
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _local_model() -> str:
    from app.core.llm.local import bundled_model_path
    from app.core.llm.types import LLMError

    try:
        path = bundled_model_path()
    except LLMError as exc:
        return f"missing: {exc}"
    return f"{path.name} ({path.stat().st_size / 1e6:.0f} MB)"


def _cpu_features() -> str:
    """llama.cpp's view of the CPU (AVX2, FMA …); only if llama.cpp is already loaded."""
    module = sys.modules.get("llama_cpp")
    if module is None:
        return "(llama.cpp not loaded in this session)"
    try:
        info = module.llama_print_system_info()
    except Exception as exc:
        return f"unknown ({type(exc).__name__})"
    return info.decode("utf-8", "replace").strip() if isinstance(info, bytes) else str(info).strip()


def diagnostics_text(settings: Any = None, log_lines: int = 120) -> str:
    """A plain-text report for bug reports: versions, platform, folders, providers (where each
    key comes from, never the key), settings that matter and the end of the log file. Every
    line passes through the log redaction as well."""
    from app.core import secrets
    from app.core.events import redact
    from app.core.logs import log_file, recent_lines
    from app.core.settings import Settings, cache_dir, config_dir, data_dir

    if settings is None:
        settings = Settings.load()
    lines = ["Chainwright diagnostics", "======================="]
    lines += [f"{name}: {value}" for name, value in versions().items()]
    app = QGuiApplication.instance()
    if app is not None:
        screen = QGuiApplication.primaryScreen()
        ratio = f", device pixel ratio {screen.devicePixelRatio():g}" if screen is not None else ""
        lines.append(f"Qt platform: {QGuiApplication.platformName()}{ratio}")
    lines.append(f"Frozen bundle: {'yes' if getattr(sys, 'frozen', False) else 'no'}")
    lines.append(f"CPU: {platform.machine()}, {os.cpu_count()} cores; llama.cpp: {_cpu_features()}")
    lines.append(f"Local model: {_local_model()}")
    lines.append("")
    lines.append("Folders")
    for name, folder in (
        ("settings", config_dir()),
        ("data", data_dir()),
        ("cache", cache_dir()),
        ("log file", log_file()),
    ):
        lines.append(f"  {name}: {folder}")
    lines.append("")
    keychain = (
        "available" if secrets.keyring_available() else "NOT available (keys come from the environment)"
    )
    lines.append(f"Keychain: {keychain}; backend {_keyring_backend()}")
    lines.append("Providers (where the key comes from; keys are never included)")
    for provider in ("openai", "anthropic", "ollama"):
        source = secrets.key_source(provider) if provider not in secrets.KEYLESS else None
        key_text = {"keychain": "key in the keychain", "env": "key from the environment"}.get(
            source or "", "no key" if provider not in secrets.KEYLESS else "needs no key"
        )
        base = settings.provider(provider).base_url or "(default)"
        lines.append(f"  {provider}: {key_text}; base URL {base}")
    lines.append("")
    lines.append(
        f"Settings: default provider {settings.default_provider}, default model "
        f"{settings.default_model or '(provider default)'}, local model {settings.local_model}, "
        f"cache {settings.cache_max_mb} MB, autosave every {settings.autosave_seconds} s, theme {settings.theme}"
    )
    if settings.load_problem:
        lines.append(f"Settings problem: {settings.load_problem}")
    tail = recent_lines(log_lines)
    lines.append("")
    lines.append(f"Last {len(tail)} lines of the log")
    lines.extend(f"  {line}" for line in tail)
    return redact("\n".join(lines)) + "\n"


def copy_diagnostics(window: QMainWindow | None = None) -> str:
    settings = getattr(window, "settings", None)
    text = diagnostics_text(settings)
    QGuiApplication.clipboard().setText(text)
    if window is not None:
        window.statusBar().showMessage(
            "Diagnostics copied to the clipboard: paste them into your bug report (they contain no keys)",
            10000,
        )
    return text


def open_log_folder() -> bool:
    from app.core.logs import log_file

    folder = log_file().parent
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


# -- keyboard shortcuts ---------------------------------------------------------------------------------
def _native(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


def _typable(text: str) -> bool:
    """A key a keyboard has (Ctrl+S, Del, F5), not a multimedia-keyboard key named like an action."""
    return (
        "+" in text
        or text in ("Del", "Delete", "Backspace", "Esc", "Tab")
        or bool(re.fullmatch(r"F\d+", text))
    )


def _menu_rows(menu: QMenu, prefix: str) -> list[tuple[str, str]]:
    rows = []
    for action in menu.actions():
        if action.isSeparator():
            continue
        sub = action.menu()
        if isinstance(sub, QMenu):
            rows += _menu_rows(sub, f"{prefix} ▸ {action.text().replace('&', '')}")
            continue
        keys = [
            text for text in (_native(s) for s in action.shortcuts() if not s.isEmpty()) if _typable(text)
        ]
        if keys:
            rows.append((action.text().replace("&", "").rstrip("…").strip(), ", ".join(keys)))
    return rows


def shortcut_sections(window: QMainWindow | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(what, keys)]) from the window's menus (so the list is always current), then the
    canvas's own keys and gestures."""
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    if window is not None:
        for action in window.menuBar().actions():
            menu = action.menu()
            if isinstance(menu, QMenu):
                rows = _menu_rows(menu, action.text().replace("&", ""))
                if rows:
                    sections.append((action.text().replace("&", ""), rows))
    sections.append(("Canvas", [(what, keys) for keys, what in CANVAS_GESTURES]))
    return sections


class ShortcutsDialog(QDialog):
    def __init__(self, window: QMainWindow | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(560, 620)
        layout = QVBoxLayout(self)
        self.filter = QLineEdit()
        self.filter.setObjectName("shortcutsFilter")
        self.filter.setPlaceholderText("Filter, e.g. zoom or Ctrl+S")
        self.filter.setClearButtonEnabled(True)
        layout.addWidget(self.filter)
        self.tree = QTreeWidget()
        self.tree.setObjectName("shortcutsTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for section, rows in shortcut_sections(window):
            top = QTreeWidgetItem([section, ""])
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            top.setFirstColumnSpanned(True)
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(top)
            for what, keys in rows:
                top.addChild(QTreeWidgetItem([what, keys]))
            top.setExpanded(True)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.filter.textChanged.connect(self._filter)

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, what, keys) of the rows currently shown."""
        shown = []
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            for child_index in range(top.childCount()):
                child = top.child(child_index)
                if not child.isHidden():
                    shown.append((top.text(0), child.text(0), child.text(1)))
        return shown

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for index in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(index)
            visible = 0
            for child_index in range(top.childCount()):
                child = top.child(child_index)
                hit = not needle or needle in child.text(0).lower() or needle in child.text(1).lower()
                child.setHidden(not hit)
                visible += hit
            top.setHidden(visible == 0)


# -- about ------------------------------------------------------------------------------------------------
class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Chainwright")
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(72, 72))
        icon.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(icon)
        self.versions = versions()
        rows = "".join(
            f"<tr><td style='padding-right:14px'><b>{escape(name)}</b></td><td>{escape(value)}</td></tr>"
            for name, value in self.versions.items()
        )
        self.text = QLabel(
            f"<h2 style='margin-bottom:2px'>Chainwright {escape(app_version())}</h2>"
            "<p>A workbench for LLM workflows: wire prompts, models, tools and data into a graph, "
            "run it step by step, and export it as plain Python.</p>"
            f"<table>{rows}</table>"
            "<p>Open source under the Apache License 2.0. The built-in model is SmolLM2-135M-Instruct "
            "(Apache 2.0), run by llama.cpp (MIT); the interface uses Qt through PySide6 (LGPLv3).</p>"
        )
        self.text.setObjectName("aboutText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setMinimumWidth(460)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy Diagnostics", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("aboutCopyDiagnostics")
        copy.clicked.connect(lambda: copy_diagnostics(parent if isinstance(parent, QMainWindow) else None))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


# -- wiring --------------------------------------------------------------------------------------------------
def _menu(window: QMainWindow, title: str) -> QMenu:
    plain = title.replace("&", "")
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == plain:
            return menu
    return window.menuBar().addMenu(title)


def show_shortcuts(window: QMainWindow) -> None:
    ShortcutsDialog(window).exec()


def show_about(window: QWidget | None) -> None:
    AboutDialog(window).exec()


def install_help_menu(window: QMainWindow) -> dict[str, QAction]:
    """Add Keyboard Shortcuts, Copy Diagnostics and Open Log Folder to the window's Help menu
    and make its About action (`window.act_about`, if any) open the About dialog with versions.
    Returns the actions by name."""
    menu = _menu(window, "&Help")
    actions: dict[str, QAction] = {}

    def add(text: str, name: str, slot: Any, shortcut: str | None = None) -> QAction:
        action = QAction(text, window)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        window.addAction(action)
        actions[name] = action
        return action

    existing = list(menu.actions())
    first = existing[0] if existing else None
    for action in (
        add("&Keyboard Shortcuts", "actionShortcuts", lambda: show_shortcuts(window), SHORTCUTS_KEY),
        add("Copy &Diagnostics", "actionCopyDiagnostics", lambda: copy_diagnostics(window)),
        add("Open &Log Folder", "actionOpenLogFolder", open_log_folder),
    ):
        menu.insertAction(first, action)
    if first is not None:
        menu.insertSeparator(first)
    about = getattr(window, "act_about", None)
    if isinstance(about, QAction):
        with contextlib.suppress(RuntimeError, TypeError):
            about.triggered.disconnect()
        about.setMenuRole(QAction.MenuRole.AboutRole)
    else:
        about = QAction("&About Chainwright", window)
        about.setObjectName("actionAbout")
        menu.addAction(about)
    about.triggered.connect(lambda _checked=False: show_about(window))
    actions["actionAbout"] = about
    return actions


def log_path() -> Path:
    from app.core.logs import log_file

    return log_file()
