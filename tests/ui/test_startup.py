"""Start-up: the window is shown before the engine is imported, and the rest follows after the
first paint (`MainWindow(defer=True)`, `run_app`); nothing users see changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.ui import main as app_main
from app.ui.main import EarlySettings, peek_settings, settings_path
from app.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]


def close_all(monkeypatch: pytest.MonkeyPatch) -> None:
    for window in list(MainWindow.windows):
        if shiboken6.isValid(window):
            monkeypatch.setattr(window, "ask_save", lambda name: QMessageBox.StandardButton.Discard)
            window.close()
    MainWindow.windows.clear()
    QApplication.processEvents()


@pytest.fixture
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        folder = tmp_path / variable.lower()
        folder.mkdir()
        monkeypatch.setenv(variable, str(folder))
    return tmp_path


def write_settings(data: object) -> Path:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -- the settings the first paint reads without the engine ---------------------------------------------
def test_settings_path_is_the_settings_file(user_dirs: Path) -> None:
    from app.core.settings import Settings

    assert settings_path() == Settings.path()


def test_peek_settings_reads_theme_and_recent_files(user_dirs: Path) -> None:
    assert peek_settings() == EarlySettings()  # no file yet
    write_settings({"theme": "dark", "recent_files": ["/a.json", "/b.json"], "autosave_seconds": 5})
    assert peek_settings() == EarlySettings("dark", ("/a.json", "/b.json"))


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[1, 2]",
        json.dumps({"theme": "purple", "recent_files": "x"}),
        json.dumps({"recent_files": [1]}),
    ],
)
def test_peek_settings_falls_back_to_defaults(user_dirs: Path, content: str) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    assert peek_settings() == EarlySettings()


# -- the deferred window -----------------------------------------------------------------------------------
def test_deferred_window_is_finished_after_its_first_paint(
    qtbot: Any, user_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recent = user_dirs / "recent.json"
    recent.write_text("{}", encoding="utf-8")
    window = MainWindow(defer=True, recent_files=[str(recent)])
    try:
        assert not window.is_ready
        assert window.palette_widget.entries == []  # the shell: the palette is filled afterwards
        assert window.start_page._recent == [str(recent)]
        assert window.inspector_dock.widget().objectName() == "inspectorPlaceholder"
        called: list[bool] = []
        window.when_ready(lambda: called.append(window.is_ready))
        window.show()
        qtbot.waitUntil(lambda: window.is_ready)
        assert called == [True]
        # Everything the synchronous construction builds is there.
        assert {entry.key for entry in window.palette_widget.entries} == set(window.registry.type_ids())
        assert window.palette_widget.item_for("model.chat") is not None
        assert window.inspector_dock.widget() is window.inspector
        assert window.overview_dock.widget() is window.view.minimap
        assert window.problems_dock.widget() is window.problems_panel
        assert window.run_dock.widget() is window.run_panel
        assert window.history_dock.widget() is window.history_view
        assert window.findChild(object, "actionExportPython") is not None
        assert window.findChild(object, "actionSettings") is not None
        assert window.findChild(object, "actionShortcuts") is not None
        # The settings file had no recent files: the start page follows the loaded settings.
        assert window.settings.recent_files == []
        assert window.start_page._recent == []
        after: list[str] = []
        window.when_ready(lambda: after.append("now"))  # already ready: called at once
        assert after == ["now"]
    finally:
        close_all(monkeypatch)


def test_deferred_parts_asked_for_early_are_built_on_the_spot(
    qtbot: Any, user_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = MainWindow(defer=True)
    try:
        assert not window.is_ready
        window.new_document()  # e.g. Ctrl+N before the deferred step ran
        assert window.is_ready
        assert window.editor is not None
        assert window.view.scene() is window.editor.scene
    finally:
        close_all(monkeypatch)


def test_a_window_built_at_once_is_ready(
    qtbot: Any, user_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = MainWindow()
    try:
        assert window.is_ready
        assert window.palette_widget.entries
    finally:
        close_all(monkeypatch)


def test_missing_attributes_still_raise(qtbot: Any, user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window = MainWindow(defer=True)
    try:
        with pytest.raises(AttributeError):
            _ = window.no_such_thing  # type: ignore[attr-defined]
        assert not window.is_ready
    finally:
        close_all(monkeypatch)


# -- run_app ----------------------------------------------------------------------------------------------------
def run_app_until_ready(monkeypatch: pytest.MonkeyPatch, path: str | None = None) -> dict[str, Any]:
    """`run_app(path)` in this process; once its window is fully built, look at it and quit."""
    seen: dict[str, Any] = {}

    def fake_start_up(window: MainWindow, *args: Any, **kwargs: Any) -> None:
        seen["recovery_offered_when_ready"] = window.is_ready
        return None

    monkeypatch.setattr("app.ui.recovery.start_up", fake_start_up)
    monkeypatch.setattr(app_main, "_start_logging", lambda app: seen.setdefault("logging", True))

    def look() -> None:
        windows = [w for w in MainWindow.windows if shiboken6.isValid(w)]
        if not windows or not windows[0].is_ready or "recovery_offered_when_ready" not in seen:
            QTimer.singleShot(20, look)
            return
        window = windows[0]
        seen["window"] = window
        seen["doc_path"] = window.doc.path if window.doc is not None else None
        seen["palette"] = len(window.palette_widget.entries)
        seen["theme_dark"] = QApplication.palette().window().color().lightness() < 128
        close_all(monkeypatch)
        QApplication.quit()

    QTimer.singleShot(0, look)
    seen["code"] = app_main.run_app(path)
    return seen


def test_run_app_shows_the_start_page_then_finishes(
    qtbot: Any, user_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_settings({"theme": "dark"})
    try:
        seen = run_app_until_ready(monkeypatch)
    finally:
        from app.ui.theme import apply_theme

        apply_theme(QApplication.instance(), "light")  # type: ignore[arg-type]
    assert seen["code"] == 0
    assert seen["doc_path"] is None
    assert seen["palette"] > 10
    assert seen["recovery_offered_when_ready"] is True
    assert seen["logging"] is True
    assert seen["theme_dark"] is True


def test_run_app_with_a_file_opens_it(qtbot: Any, user_dirs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = REPO / "resources" / "examples" / "summarize-a-file.json"
    target = user_dirs / "mine.json"
    target.write_bytes(example.read_bytes())
    seen = run_app_until_ready(monkeypatch, str(target))
    assert seen["code"] == 0
    assert seen["doc_path"] is not None and Path(seen["doc_path"]).resolve() == target.resolve()
    assert seen["recovery_offered_when_ready"] is True


# -- what the first frame costs -------------------------------------------------------------------------------
def test_the_first_frame_needs_no_engine(user_dirs: Path) -> None:
    """`python -m app` paints its first frame before pydantic, the registry, the node modules or
    the run layer are imported (the P5 start-up benchmark depends on it)."""
    script = textwrap.dedent(
        """
        import os, sys
        import app.ui.main as main

        def report(name):
            heavy = sorted(m for m in ("pydantic", "httpx", "networkx", "app.core.settings",
                                       "app.core.registry", "app.core.document", "nodes",
                                       "app.ui.run_bridge", "app.ui.canvas.view", "importlib.metadata")
                           if m in sys.modules)
            print("FIRST_FRAME", name, ",".join(heavy) or "-", flush=True)
            os._exit(0)

        main._report_shown = report
        from app.cli import main as cli_main
        sys.exit(cli_main([]))
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CHAINWRIGHT_BENCH_EXIT_ON_SHOW="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("FIRST_FRAME")]
    assert lines, done.stderr[-2000:]
    assert lines[0].split() == ["FIRST_FRAME", "MainWindow", "-"]


def test_the_benchmark_hook_reports_the_first_frame(user_dirs: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CHAINWRIGHT_BENCH_EXIT_ON_SHOW="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[0] == "CHAINWRIGHT_SHOWN" and float(words[1]) > 0 and words[2] == "MainWindow"


def test_port_colours_cover_every_data_type() -> None:
    """theme keys its port colours by the DataType values (it is imported before the first paint,
    without app.core.values): every type has its own colour."""
    from app.core.values import DataType
    from app.ui.theme import PORT_COLOURS, port_colour

    assert set(PORT_COLOURS) == {data_type.value for data_type in DataType}
    assert len({port_colour(data_type).name() for data_type in DataType}) == len(DataType)
