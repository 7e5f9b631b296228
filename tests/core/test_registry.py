from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from app.core.registry import DuplicateNodeTypeError, Registry, default_registry
from app.core.sdk import NodeType, Port
from app.core.values import DataType

CORE = ["io.input", "io.output", "prompt.template", "model.chat", "data.file", "tool.http", "tool.python"]


def install_pack(site: Path, dist: str, module: str, source: str, entry_value: str | None = None) -> None:
    """Install a node pack into `site` exactly as pip lays it out: a module plus dist-info metadata."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[chainwright.nodes]\n{dist} = {entry_value or module}\n")
    (info / "RECORD").write_text("")


PACK = """
    from app.core.sdk import NodeType, Port, NodeConfig
    from app.core.values import DataType

    class Shout(NodeType[NodeConfig]):
        type_id = "example.shout"
        title = "Shout"
        category = "Example pack"
        inputs = (Port("text", DataType.TEXT),)
        outputs = (Port("text", DataType.TEXT),)

        async def run(self, inputs, ctx):
            return {"text": inputs["text"].upper()}
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("cw_pack_")]:
        del sys.modules[name]


def test_builtin_pack_has_every_core_type() -> None:
    registry = default_registry()
    assert set(CORE) <= set(registry.type_ids())
    assert registry.errors == []
    assert registry.origin("model.chat") == "pack 'nodes'"


def test_every_builtin_type_is_fully_declared() -> None:
    for node_type in default_registry():
        assert node_type.title and node_type.category and node_type.description, node_type.type_id
        assert node_type.__module__.startswith("nodes."), node_type.type_id
        described = node_type.describe()
        assert described["type"] == node_type.type_id
        assert isinstance(described["config"], list)


def test_entry_point_pack_is_discovered(site: Path) -> None:
    install_pack(site, "cw-pack-shout", "cw_pack_shout", PACK)
    registry = Registry.discover()
    assert "example.shout" in registry
    assert registry.origin("example.shout") == "pack 'cw-pack-shout'"
    assert set(CORE) <= set(registry.type_ids())


def test_duplicate_type_id_from_a_pack_is_refused(site: Path) -> None:
    clash = PACK.replace('"example.shout"', '"prompt.template"')
    install_pack(site, "cw-pack-clash", "cw_pack_clash", clash)
    registry = Registry.discover()
    assert registry.get("prompt.template").__module__ == "nodes.prompt"
    (error,) = [e for e in registry.errors if e.pack == "cw-pack-clash"]
    assert "node type id 'prompt.template' is declared twice" in str(error)
    assert "the second was refused" in str(error)


def test_a_broken_pack_is_reported_not_fatal(site: Path) -> None:
    install_pack(site, "cw-pack-broken", "cw_pack_broken", "raise RuntimeError('boom')\n")
    registry = Registry.discover()
    (error,) = [e for e in registry.errors if e.pack == "cw-pack-broken"]
    assert "could not be loaded: boom" in str(error)
    assert "model.chat" in registry


def test_entry_point_may_name_a_class(site: Path) -> None:
    install_pack(site, "cw-pack-class", "cw_pack_class", PACK, entry_value="cw_pack_class:Shout")
    assert "example.shout" in Registry.discover()


def test_register_refuses_duplicates_directly() -> None:
    class A(NodeType):
        type_id = "x.same"
        title = "A"
        category = "X"

    class B(NodeType):
        type_id = "x.same"
        title = "B"
        category = "X"
        outputs = (Port("v", DataType.TEXT),)

    registry = Registry()
    registry.register(A, origin="first")
    registry.register(A, origin="first")  # the same class again is harmless
    with pytest.raises(DuplicateNodeTypeError, match="declared twice: by first"):
        registry.register(B, origin="second")
