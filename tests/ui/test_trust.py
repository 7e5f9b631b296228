"""Restricted mode in the editor: a file this computer did not write opens with a banner until trusted."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.core import trust
from app.ui.main_window import MainWindow
from tests.core.workflows import document, edge, node

CODE = "def main(text):\n    return text.upper()\n"


def downloaded(tmp_path: Path) -> Path:
    path = tmp_path / "shared.json"
    doc = document(
        [
            node("q", "io.input", {"name": "q", "default": "hi"}),
            node("py", "tool.python", {"code": CODE}),
            node("o", "io.output", {"name": "o"}),
        ],
        [edge("q", "value", "py", "text"), edge("py", "result", "o", "value")],
    )
    path.write_text(json.dumps(doc, indent=2))
    return path


def wait_idle(qtbot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.runs.busy, timeout=60_000)


def test_an_outside_file_opens_restricted_and_its_code_does_not_run(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    path = downloaded(tmp_path)
    opened = window.open_path(path)
    assert opened is window and window.restricted
    assert window.trust_banner.isVisible()
    state = window.start_run({}, fresh=True)
    assert state is not None
    wait_idle(qtbot, window)
    result = window.runs.last_result
    assert result is not None and result.status == "failed"
    assert "trust" in json.dumps(result.to_dict()).lower()


def test_trusting_lifts_the_limits_and_is_remembered(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = downloaded(tmp_path)
    window.open_path(path)
    window.trust_banner.button.click()
    QApplication.processEvents()
    assert not window.restricted and not window.trust_banner.isVisible()
    assert trust.is_trusted_file(path)
    window.start_run({}, fresh=True)
    wait_idle(qtbot, window)
    assert window.runs.last_result.status == "succeeded"
    assert window.runs.last_result.outputs == {"o": "HI"}


def test_files_the_app_saves_are_trusted_until_changed_outside(window: MainWindow, tmp_path: Path) -> None:
    path = downloaded(tmp_path)
    window.open_path(path)
    window.trust_document()
    target = tmp_path / "mine.json"
    assert window.save_as(target)
    assert trust.is_trusted_file(target)
    target.write_text(target.read_text().replace("upper", "lower"))  # an edit outside the app
    assert not trust.is_trusted_file(target)


def test_saving_an_untrusted_file_does_not_make_it_trusted(window: MainWindow, tmp_path: Path) -> None:
    path = downloaded(tmp_path)
    window.open_path(path)
    target = tmp_path / "copy.json"
    assert window.save_as(target)
    assert window.restricted
    assert not trust.is_trusted_file(target)
