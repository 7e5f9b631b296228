"""The node catalogue: every node type known to this installation.

Node types come from *packs*. The built-in pack is the `nodes` package; external packs are
published through the entry-point group `chainwright.nodes`. An entry point may name a package
(every module in it is searched), a module (its NodeType subclasses are taken), a single NodeType
subclass, or a callable returning an iterable of them.

A type id may be registered once. A second type with the same id is refused, and a pack that
fails to import is reported in `Registry.errors` instead of breaking the app.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from types import ModuleType
from typing import Any

from app.core.sdk import NodeType

ENTRY_POINT_GROUP = "chainwright.nodes"
BUILTIN_PACK = "nodes"


class DuplicateNodeTypeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PackError:
    pack: str
    message: str

    def __str__(self) -> str:
        return f"node pack '{self.pack}': {self.message}"


def _types_in_module(module: ModuleType) -> list[type[NodeType[Any]]]:
    found = []
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if (
            issubclass(obj, NodeType)
            and obj.__module__ == module.__name__
            and "type_id" in vars(obj)
            and not inspect.isabstract(obj)
        ):
            found.append(obj)
    return found


def _types_in_package(package: ModuleType) -> list[type[NodeType[Any]]]:
    found = _types_in_module(package)
    for info in pkgutil.iter_modules(package.__path__, prefix=package.__name__ + "."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        found.extend(_types_in_module(importlib.import_module(info.name)))
    return found


def types_from_object(obj: Any) -> list[type[NodeType[Any]]]:
    """The node types an entry point's object stands for."""
    if isinstance(obj, ModuleType):
        return _types_in_package(obj) if hasattr(obj, "__path__") else _types_in_module(obj)
    if inspect.isclass(obj) and issubclass(obj, NodeType):
        return [obj]
    if callable(obj):
        return list(obj())
    raise TypeError(f"{obj!r} is not a module, a NodeType subclass or a callable returning node types")


class Registry:
    def __init__(self) -> None:
        self._types: dict[str, type[NodeType[Any]]] = {}
        self._origins: dict[str, str] = {}
        self.errors: list[PackError] = []

    def register(self, node_type: type[NodeType[Any]], origin: str = "") -> None:
        type_id = getattr(node_type, "type_id", None)
        if not isinstance(type_id, str) or not type_id:
            raise ValueError(f"{node_type.__qualname__} declares no type_id")
        existing = self._types.get(type_id)
        if existing is not None and existing is not node_type:
            raise DuplicateNodeTypeError(
                f"node type id '{type_id}' is declared twice: by {self._origins[type_id]} "
                f"({existing.__module__}.{existing.__qualname__}) and by {origin or 'another pack'} "
                f"({node_type.__module__}.{node_type.__qualname__}); the second was refused"
            )
        self._types[type_id] = node_type
        self._origins[type_id] = origin or node_type.__module__

    def register_pack(self, name: str, types: Iterable[type[NodeType[Any]]]) -> None:
        for node_type in types:
            try:
                self.register(node_type, origin=f"pack '{name}'")
            except (DuplicateNodeTypeError, ValueError) as exc:
                self.errors.append(PackError(name, str(exc)))

    def get(self, type_id: str) -> type[NodeType[Any]] | None:
        return self._types.get(type_id)

    def origin(self, type_id: str) -> str | None:
        return self._origins.get(type_id)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types

    def __iter__(self) -> Iterator[type[NodeType[Any]]]:
        return iter(sorted(self._types.values(), key=lambda t: (t.category, t.title, t.type_id)))

    def __len__(self) -> int:
        return len(self._types)

    def type_ids(self) -> list[str]:
        return sorted(self._types)

    @classmethod
    def discover(cls, *, builtin: str | None = BUILTIN_PACK, entry_points: bool = True) -> Registry:
        registry = cls()
        loaded: set[str] = set()
        if builtin:
            registry.register_pack(builtin, _types_in_package(importlib.import_module(builtin)))
            loaded.add(builtin)
        if entry_points:
            for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
                if entry_point.value in loaded:
                    continue
                loaded.add(entry_point.value)
                try:
                    types = types_from_object(entry_point.load())
                except Exception as exc:  # a broken pack must not take the app down
                    registry.errors.append(PackError(entry_point.name, f"could not be loaded: {exc}"))
                    continue
                registry.register_pack(entry_point.name, types)
        return registry


@cache
def default_registry() -> Registry:
    """The built-in catalogue plus every installed pack, discovered once per process."""
    return Registry.discover()
