"""File nodes of an untrusted workflow read only inside its folder: `..`, absolute paths, symlink escapes
and NUL bytes are refused with a clear message naming the field."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.core.sdk import NodeError, RunContext
from nodes.data import ReadCsv, ReadFile, ReadFolder


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    folder = tmp_path / "flow"
    folder.mkdir()
    (folder / "inside.txt").write_text("fine")
    (tmp_path / "secret.txt").write_text("a,b\n1,2\n")
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "linked-dir").symlink_to(tmp_path)
    return folder


def read(node_type, config: dict, folder: Path, restricted: bool) -> dict:
    return asyncio.run(
        node_type.from_config(config).run(
            {}, RunContext(node_id="f", workflow_dir=folder, restricted=restricted)
        )
    )


@pytest.mark.parametrize(
    ("node_type", "config"),
    [
        (ReadFile, {"path": "../secret.txt"}),
        (ReadFile, {"path": "link.txt"}),
        (ReadCsv, {"path": "link.txt"}),
        (ReadFolder, {"path": "linked-dir"}),
        (ReadFolder, {"path": ".."}),
    ],
)
def test_escapes_are_refused_when_untrusted(node_type, config: dict, layout: Path) -> None:
    assert read(node_type, config, layout, restricted=False)  # a trusted workflow may
    with pytest.raises(NodeError, match="outside the workflow's folder") as caught:
        read(node_type, config, layout, restricted=True)
    assert caught.value.field == "config.path"


def test_absolute_paths_outside_are_refused(layout: Path) -> None:
    outside = str(layout.parent / "secret.txt")
    with pytest.raises(NodeError, match="outside the workflow's folder"):
        read(ReadFile, {"path": outside}, layout, restricted=True)
    inside = str(layout / "inside.txt")
    assert read(ReadFile, {"path": inside}, layout, restricted=True) == {"text": "fine"}


def test_nul_bytes_are_refused(layout: Path) -> None:
    for restricted in (True, False):
        with pytest.raises(NodeError, match="NUL character"):
            read(ReadFile, {"path": "inside.txt\x00.png"}, layout, restricted=restricted)
