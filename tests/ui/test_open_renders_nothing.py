"""Opening hostile workflows in the editor and painting them runs no user code, opens no socket and
starts no process (the same audit-hook check as tests/core/test_open_executes_nothing.py, in the window)."""

from __future__ import annotations

from pathlib import Path

from tests.core.test_open_executes_nothing import PAYLOADS, audit, hostile_files  # noqa: F401 (fixture)


def test_opening_and_rendering_execute_nothing(tmp_path: Path, hostile_files: list[Path]) -> None:  # noqa: F811
    assert len(hostile_files) == len(PAYLOADS)
    assert audit(tmp_path, hostile_files, render=True) == []
    assert not list(tmp_path.glob("MARK-*"))
