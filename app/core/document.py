"""The editable workflow: one open document, its mutations and their change signals (no Qt).

`WorkflowDocument` wraps an `app.core.model.Workflow`. Every edit the editor makes goes through
one of its mutation methods, and every mutation announces itself on a `Signal`; the canvas, the
inspector and the problems list redraw from those signals only. Undo commands (in `app.ui`) call
these methods and nothing else, so loading a file, editing and undoing share one path.

Nodes, edges and comments are addressed by *object identity* (`Node`, `Edge`, comment dicts held
by the document), not by id string: a file with duplicate node ids still opens and each of its
nodes can be moved, fixed or deleted. Look objects up with `node(id)` / `find_edge(...)`.
Removals return the index the item had, and insertions accept an index, so an undo puts the
item back exactly where it was — undo restores the saved bytes, not just the meaning.

Problems (`app.core.graph.analyze`) are recomputed lazily: a mutation only marks them stale;
`analysis` / `problems` recompute on first use and `refresh_problems()` announces the result.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.core.graph import NODE_ID, GraphAnalysis, analyze
from app.core.model import (
    CURRENT_VERSION,
    Edge,
    NewerVersionError,
    Node,
    Workflow,
    load_workflow,
    save_workflow,
    workflow_to_bytes,
)
from app.core.problems import Problem
from app.core.registry import Registry, default_registry
from app.core.sdk import NodeType, Port
from app.core.values import incompatibility_reason

COMMENTS_KEY = "comments"
DEFAULT_COMMENT_SIZE = (240.0, 120.0)


class Signal:
    """A tiny synchronous observer: `connect(callable)`, `emit(*args)` calls each in order."""

    __slots__ = ("_slots", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._slots: list[Callable[..., Any]] = []

    def connect(self, slot: Callable[..., Any]) -> None:
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[..., Any]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        for slot in list(self._slots):
            slot(*args)

    def __repr__(self) -> str:
        return f"<Signal {self.name} ({len(self._slots)} slots)>"


EdgeKey = tuple[str, str, str, str]


def edge_key(edge: Edge) -> EdgeKey:
    return (edge.source, edge.source_port, edge.target, edge.target_port)


@dataclass(frozen=True, slots=True)
class NodePorts:
    """A node's ports as its config declares them; `ok` is False when the config is invalid
    (the type's static ports are shown then) or the type is unknown."""

    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    ok: bool = True

    def input(self, name: str) -> Port | None:
        return next((port for port in self.inputs if port.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((port for port in self.outputs if port.name == name), None)


@dataclass
class PastePlan:
    """New objects ready to be added: copies of a fragment with fresh ids and moved positions."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)


class DocumentError(ValueError):
    """A mutation that would break the document's own bookkeeping (e.g. an id already in use)."""


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", text.strip().lower()).strip("_")
    if not slug or not (slug[0].isalpha() or slug[0] == "_"):
        slug = f"node_{slug}" if slug else "node"
    return slug


def default_config(node_type: type[NodeType[Any]]) -> dict[str, Any]:
    """The config a new node of this type starts with: every field's default that has a value.

    Fields whose default is `None` (unset optionals) are left out, which is also what the
    inspector does when a field is cleared — so a file lists exactly the fields that are set.
    """
    try:
        return node_type.config_model().model_dump(mode="json", exclude_none=True)
    except ValidationError:
        return {}


class WorkflowDocument:
    """One open workflow: the model, where it lives on disk, and its change signals."""

    def __init__(
        self,
        workflow: Workflow | None = None,
        path: str | Path | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.registry = registry or default_registry()
        self.workflow = workflow if workflow is not None else Workflow()
        self.path: Path | None = Path(path) if path is not None else None

        # nodes
        self.node_added = Signal("node_added")  # (node)
        self.node_removed = Signal("node_removed")  # (node, index)
        self.node_moved = Signal("node_moved")  # (node)
        self.node_changed = Signal("node_changed")  # (node, aspect: config|title|description|cache)
        self.node_renamed = Signal("node_renamed")  # (node, old_id)
        # edges
        self.edge_added = Signal("edge_added")  # (edge, index)
        self.edge_removed = Signal("edge_removed")  # (edge, index)
        # comments (sticky notes, stored in the file's "ui" section)
        self.comment_added = Signal("comment_added")  # (comment)
        self.comment_removed = Signal("comment_removed")  # (comment, index)
        self.comment_changed = Signal("comment_changed")  # (comment)
        # the workflow as a whole
        self.workflow_changed = Signal("workflow_changed")  # (aspect: name|description|ui)
        self.reset = Signal("reset")  # () — everything was replaced; rebuild from scratch
        self.changed = Signal("changed")  # () — after every mutation of the saved content
        self.problems_changed = Signal("problems_changed")  # ()
        self.path_changed = Signal("path_changed")  # (path | None)

        self._analysis: GraphAnalysis | None = None
        self._ports_cache: dict[tuple[str, Any], NodePorts] = {}
        self._rebuild_index()

    # -- loading and saving -----------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, registry: Registry | None = None) -> WorkflowDocument:
        """Read a file. Raises `WorkflowFileError` (`NewerVersionError`) when it cannot be used at
        all; semantic mistakes (unknown types, bad edges, cycles) are only problems."""
        return cls(load_workflow(path), path=Path(path), registry=registry)

    def to_bytes(self) -> bytes:
        return workflow_to_bytes(self.workflow)

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically and deterministically; `path` defaults to where the file came from.

        A file on disk written by a newer Chainwright is never overwritten (`NewerVersionError`).
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise DocumentError("the workflow has no file yet; choose where to save it")
        newer = newer_version_on_disk(target)
        if newer is not None:
            raise NewerVersionError(
                [
                    Problem(
                        f"{target} was written by a newer Chainwright (format version {newer}); "
                        "it was not overwritten — save under another name",
                        code="newer_version",
                    )
                ],
                source=str(target),
            )
        save_workflow(self.workflow, target)
        if self.path != target:
            self.path = target
            self.path_changed.emit(target)
        return target

    def replace(self, workflow: Workflow) -> None:
        """Swap in a whole new workflow (e.g. revert); listeners rebuild on `reset`."""
        self.workflow = workflow
        self._rebuild_index()
        self._stale()
        self.reset.emit()
        self.changed.emit()

    def set_path(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.path_changed.emit(self.path)

    @property
    def display_name(self) -> str:
        return self.path.name if self.path is not None else "Untitled"

    # -- reading ----------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        return self.workflow.nodes

    @property
    def edges(self) -> list[Edge]:
        return self.workflow.edges

    def node(self, node_id: str) -> Node | None:
        """The node with this id (the first one, if a broken file repeats an id)."""
        return self._by_id.get(node_id)

    def node_index(self, node: Node) -> int:
        for index, candidate in enumerate(self.workflow.nodes):
            if candidate is node:
                return index
        raise DocumentError(f"node '{node.id}' is not in this workflow")

    def edge_index(self, edge: Edge) -> int:
        for index, candidate in enumerate(self.workflow.edges):
            if candidate is edge:
                return index
        raise DocumentError(f"edge {edge_key(edge)} is not in this workflow")

    def find_edge(self, source: str, source_port: str, target: str, target_port: str) -> Edge | None:
        key = (source, source_port, target, target_port)
        return next((edge for edge in self._incident.get(target, ()) if edge_key(edge) == key), None)

    def edges_of(self, node_id: str) -> list[Edge]:
        """Every edge that starts or ends at this node id."""
        return list(self._incident.get(node_id, ()))

    def edges_into(self, node_id: str, port: str | None = None) -> list[Edge]:
        return [
            edge
            for edge in self._incident.get(node_id, ())
            if edge.target == node_id and (port is None or edge.target_port == port)
        ]

    def is_first_with_id(self, node: Node) -> bool:
        return self._by_id.get(node.id) is node

    def node_type(self, node: Node) -> type[NodeType[Any]] | None:
        return self.registry.get(node.type)

    def ports(self, node: Node) -> NodePorts:
        """The node's ports for its current config (cached by type and config)."""
        key = (node.type, _config_key(node.config))
        cached = self._ports_cache.get(key)
        if cached is not None:
            return cached
        node_type = self.registry.get(node.type)
        if node_type is None:
            result = NodePorts((), (), ok=False)
        else:
            try:
                instance = node_type.from_config(node.config)
                result = NodePorts(tuple(instance.input_ports()), tuple(instance.output_ports()))
            except Exception:  # an invalid config: show the type's declared ports meanwhile
                result = NodePorts(tuple(node_type.inputs), tuple(node_type.outputs), ok=False)
        if len(self._ports_cache) > 8192:
            self._ports_cache.clear()
        self._ports_cache[key] = result
        return result

    def comments(self) -> list[dict[str, Any]]:
        ui = self.workflow.ui or {}
        found = ui.get(COMMENTS_KEY)
        return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []

    def comment(self, comment_id: str) -> dict[str, Any] | None:
        return next((item for item in self.comments() if item.get("id") == comment_id), None)

    def ui_value(self, key: str, default: Any = None) -> Any:
        return (self.workflow.ui or {}).get(key, default)

    # -- problems -----------------------------------------------------------------------------
    @property
    def analysis(self) -> GraphAnalysis:
        if self._analysis is None:
            self._analysis = analyze(self.workflow, self.registry)
        return self._analysis

    @property
    def problems(self) -> list[Problem]:
        return self.analysis.problems

    @property
    def problems_stale(self) -> bool:
        return self._analysis is None

    def refresh_problems(self) -> list[Problem]:
        """Recompute the problems now (if anything changed) and announce them."""
        was_stale = self._analysis is None
        problems = self.problems
        if was_stale:
            self.problems_changed.emit()
        return problems

    def problem_node(self, problem: Problem) -> Node | None:
        """The node a problem is about (a duplicate id is found by the pointer's index)."""
        if problem.pointer and problem.pointer.startswith("/nodes/"):
            part = problem.pointer.split("/")[2]
            if part.isdigit() and int(part) < len(self.workflow.nodes):
                return self.workflow.nodes[int(part)]
        if problem.node_id is not None:
            return self.node(problem.node_id)
        return None

    def problems_by_node(self) -> dict[int, list[Problem]]:
        """{id(node): problems} for every node that has one."""
        grouped: dict[int, list[Problem]] = {}
        for problem in self.problems:
            node = self.problem_node(problem)
            if node is not None:
                grouped.setdefault(id(node), []).append(problem)
        return grouped

    # -- connection rules ---------------------------------------------------------------------
    def connection_refusal(
        self, source: Node, source_port: str, target: Node, target_port: str
    ) -> str | None:
        """Why an edge source.port → target.port cannot be made, in plain words; None if it can."""
        if source is target:
            return "a node cannot feed itself"
        out = self.ports(source).output(source_port)
        into = self.ports(target).input(target_port)
        if out is None:
            return f"'{source.id}' has no output '{source_port}'"
        if into is None:
            return f"'{target.id}' has no input '{target_port}'"
        reason = incompatibility_reason(out.type, into.type)
        if reason:
            return f"{reason} ({source.id}.{source_port} → {target.id}.{target_port})"
        if self.find_edge(source.id, source_port, target.id, target_port) is not None:
            return "these ports are already connected"
        if self._reaches(target.id, source.id):
            return f"this would make a loop: '{target.id}' already leads to '{source.id}'"
        return None

    def _reaches(self, start: str, goal: str) -> bool:
        seen, stack = {start}, [start]
        while stack:
            current = stack.pop()
            if current == goal:
                return True
            for edge in self._incident.get(current, ()):
                if edge.source == current and edge.target not in seen:
                    seen.add(edge.target)
                    stack.append(edge.target)
        return False

    # -- creating new objects (not yet added) ---------------------------------------------------
    def unique_node_id(self, base: str, taken: Iterable[str] = ()) -> str:
        base = _slug(base)
        used = set(self._by_id) | set(taken)
        if base not in used:
            return base
        match = re.fullmatch(r"(.*?)_(\d+)", base)
        stem, number = (match.group(1), int(match.group(2))) if match else (base, 1)
        while True:
            number += 1
            candidate = f"{stem}_{number}"
            if candidate not in used:
                return candidate

    def new_node(self, type_id: str, position: tuple[float, float] = (0.0, 0.0)) -> Node:
        """A node of this type with a readable unique id (`chat_model`, `chat_model_2`, …), the
        type's title and its default config. Not added yet."""
        node_type = self.registry.get(type_id)
        title = node_type.title if node_type is not None else type_id
        config = default_config(node_type) if node_type is not None else {}
        return Node(
            id=self.unique_node_id(title),
            type=type_id,
            title=title,
            position=[float(round(position[0])), float(round(position[1]))],
            config=config,
        )

    def unique_comment_id(self, taken: Iterable[str] = ()) -> str:
        used = {str(item.get("id")) for item in self.comments()} | set(taken)
        number = 1
        while f"note_{number}" in used:
            number += 1
        return f"note_{number}"

    def new_comment(self, position: tuple[float, float], text: str = "") -> dict[str, Any]:
        return {
            "id": self.unique_comment_id(),
            "text": text,
            "position": [round(position[0]), round(position[1])],
            "size": [round(DEFAULT_COMMENT_SIZE[0]), round(DEFAULT_COMMENT_SIZE[1])],
        }

    # -- clipboard fragments --------------------------------------------------------------------
    def fragment(self, nodes: Iterable[Node], comments: Iterable[dict[str, Any]] = ()) -> Workflow:
        """A standalone workflow holding copies of these nodes, the edges between them and the
        comments: what Copy puts on the clipboard (as the §1.2 file format)."""
        chosen = list(nodes)
        ids = {node.id for node in chosen}
        edges = [
            edge.model_copy() for edge in self.workflow.edges if edge.source in ids and edge.target in ids
        ]
        notes = [copy.deepcopy(item) for item in comments]
        return Workflow(
            nodes=[node.model_copy(deep=True) for node in chosen],
            edges=edges,
            ui={COMMENTS_KEY: notes} if notes else None,
        )

    def plan_paste(self, fragment: Workflow, at: tuple[float, float] | None = None) -> PastePlan:
        """Copies of a fragment's nodes, edges and comments with ids that do not clash, placed so
        the fragment's top-left corner lands at `at` (kept where it was when `at` is None)."""
        plan = PastePlan()
        raw_comments = (fragment.ui or {}).get(COMMENTS_KEY)
        notes = (
            [item for item in raw_comments if isinstance(item, dict)]
            if isinstance(raw_comments, list)
            else []
        )
        corners = [tuple(node.position) for node in fragment.nodes]
        corners += [tuple(_pair(item.get("position"))) for item in notes]
        dx = dy = 0.0
        if at is not None and corners:
            dx = at[0] - min(x for x, _ in corners)
            dy = at[1] - min(y for _, y in corners)
        taken: set[str] = set()
        for node in fragment.nodes:
            new_id = node.id if node.id not in self._by_id and node.id not in taken else None
            if new_id is None or not NODE_ID.fullmatch(new_id):
                new_id = self.unique_node_id(node.id if NODE_ID.fullmatch(node.id) else node.type, taken)
            taken.add(new_id)
            if new_id != node.id:
                plan.renamed.setdefault(node.id, new_id)
            copy_ = node.model_copy(deep=True)
            copy_.id = new_id
            copy_.position = [float(round(node.position[0] + dx)), float(round(node.position[1] + dy))]
            plan.nodes.append(copy_)
        pasted = {node.id for node in fragment.nodes}
        for edge in fragment.edges:
            if edge.source in pasted and edge.target in pasted:
                plan.edges.append(
                    Edge(
                        source=plan.renamed.get(edge.source, edge.source),
                        source_port=edge.source_port,
                        target=plan.renamed.get(edge.target, edge.target),
                        target_port=edge.target_port,
                    )
                )
        note_ids: set[str] = set()
        for item in notes:
            note = copy.deepcopy(item)
            x, y = _pair(item.get("position"))
            note["position"] = [round(x + dx), round(y + dy)]
            note["id"] = self.unique_comment_id(note_ids)
            note_ids.add(note["id"])
            plan.comments.append(note)
        return plan

    # -- mutations: nodes ---------------------------------------------------------------------
    def add_node(self, node: Node, index: int | None = None) -> None:
        if any(candidate is node for candidate in self.workflow.nodes):
            raise DocumentError(f"node '{node.id}' is already in the workflow")
        nodes = self.workflow.nodes
        nodes.insert(len(nodes) if index is None else index, node)
        self._by_id.setdefault(node.id, node)
        if index is not None and index < len(nodes) - 1:
            self._rebuild_by_id()
        self._stale()
        self.node_added.emit(node)
        self.changed.emit()

    def remove_node(self, node: Node) -> int:
        """Remove a node (remove its edges first); returns the index it had."""
        index = self.node_index(node)
        if self.is_first_with_id(node) and self._incident.get(node.id):
            raise DocumentError(f"node '{node.id}' still has edges; remove them first")
        del self.workflow.nodes[index]
        if self._by_id.get(node.id) is node:
            self._rebuild_by_id()
        self._stale()
        self.node_removed.emit(node, index)
        self.changed.emit()
        return index

    def move_node(self, node: Node, position: tuple[float, float]) -> None:
        new = [float(position[0]), float(position[1])]
        if node.position == new:
            return
        node.position = new
        self.node_moved.emit(node)
        self.changed.emit()

    def set_config(self, node: Node, config: dict[str, Any]) -> None:
        """Replace the node's whole config (valid or not — problems report what is wrong)."""
        if node.config == config:
            return
        node.config = copy.deepcopy(config)
        self._stale()
        self.node_changed.emit(node, "config")
        self.changed.emit()

    def set_title(self, node: Node, title: str) -> None:
        self._set_node_attr(node, "title", title)

    def set_node_description(self, node: Node, description: str) -> None:
        self._set_node_attr(node, "description", description)

    def set_cache(self, node: Node, cache: bool) -> None:
        self._set_node_attr(node, "cache", bool(cache))

    def _set_node_attr(self, node: Node, aspect: str, value: Any) -> None:
        if getattr(node, aspect) == value:
            return
        setattr(node, aspect, value)
        if aspect == "cache":
            self._stale()
        self.node_changed.emit(node, aspect)
        self.changed.emit()

    def id_refusal(self, node: Node, new_id: str) -> str | None:
        """Why a node cannot be renamed to `new_id`; None if it can."""
        if new_id == node.id:
            return None
        if not NODE_ID.fullmatch(new_id):
            return "an id starts with a letter or underscore and holds only letters, digits, '_' and '-'"
        if new_id in self._by_id:
            return f"the id '{new_id}' is already used by another node"
        return None

    def rename_node(self, node: Node, new_id: str) -> str:
        """Give a node a new id; edges that lead to it follow. Returns the old id."""
        old_id = node.id
        if new_id == old_id:
            return old_id
        refusal = self.id_refusal(node, new_id)
        if refusal:
            raise DocumentError(refusal)
        follows = self.is_first_with_id(node)
        node.id = new_id
        if follows:
            for edge in self._incident.get(old_id, ()):
                if edge.source == old_id:
                    edge.source = new_id
                if edge.target == old_id:
                    edge.target = new_id
        self._rebuild_index()
        self._stale()
        self.node_renamed.emit(node, old_id)
        self.changed.emit()
        return old_id

    # -- mutations: edges ---------------------------------------------------------------------
    def add_edge(self, edge: Edge, index: int | None = None) -> None:
        if any(candidate is edge for candidate in self.workflow.edges):
            raise DocumentError(f"edge {edge_key(edge)} is already in the workflow")
        edges = self.workflow.edges
        position = len(edges) if index is None else index
        edges.insert(position, edge)
        self._index_edge(edge)
        self._stale()
        self.edge_added.emit(edge, position)
        self.changed.emit()

    def remove_edge(self, edge: Edge) -> int:
        index = self.edge_index(edge)
        del self.workflow.edges[index]
        self._unindex_edge(edge)
        self._stale()
        self.edge_removed.emit(edge, index)
        self.changed.emit()
        return index

    # -- mutations: comments ------------------------------------------------------------------
    def add_comment(self, comment: dict[str, Any], index: int | None = None) -> None:
        ui = dict(self.workflow.ui or {})
        notes = list(ui.get(COMMENTS_KEY) or []) if isinstance(ui.get(COMMENTS_KEY), list) else []
        notes.insert(len(notes) if index is None else index, comment)
        ui[COMMENTS_KEY] = notes
        self.workflow.ui = ui
        self.comment_added.emit(comment)
        self.changed.emit()

    def remove_comment(self, comment: dict[str, Any]) -> int:
        ui = dict(self.workflow.ui or {})
        notes = list(ui.get(COMMENTS_KEY) or [])
        index = next((i for i, item in enumerate(notes) if item is comment), None)
        if index is None:
            raise DocumentError(f"comment '{comment.get('id')}' is not in this workflow")
        del notes[index]
        if notes:
            ui[COMMENTS_KEY] = notes
        else:
            ui.pop(COMMENTS_KEY, None)
        self.workflow.ui = ui or None
        self.comment_removed.emit(comment, index)
        self.changed.emit()
        return index

    def update_comment(self, comment: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """Change a comment's `text`, `position` or `size`; returns the previous values."""
        previous = {key: copy.deepcopy(comment.get(key)) for key in changes}
        if all(comment.get(key) == value for key, value in changes.items()):
            return previous
        for key, value in changes.items():
            if value is None:
                comment.pop(key, None)
            else:
                comment[key] = value
        self.comment_changed.emit(comment)
        self.changed.emit()
        return previous

    # -- mutations: the workflow ----------------------------------------------------------------
    def set_name(self, name: str) -> None:
        if self.workflow.name != name:
            self.workflow.name = name
            self.workflow_changed.emit("name")
            self.changed.emit()

    def set_description(self, description: str) -> None:
        if self.workflow.description != description:
            self.workflow.description = description
            self.workflow_changed.emit("description")
            self.changed.emit()

    def set_ui_value(self, key: str, value: Any) -> None:
        """View state kept in the file's "ui" section (zoom, view centre). Not an edit of the
        workflow: emits `workflow_changed("ui")` but not `changed`."""
        if key == COMMENTS_KEY:
            raise DocumentError("comments change through add_comment / update_comment / remove_comment")
        ui = dict(self.workflow.ui or {})
        if value is None:
            if key not in ui:
                return
            ui.pop(key)
        else:
            if ui.get(key) == value:
                return
            ui[key] = value
        self.workflow.ui = ui or None
        self.workflow_changed.emit("ui")

    # -- bookkeeping ----------------------------------------------------------------------------
    def _stale(self) -> None:
        self._analysis = None

    def _rebuild_by_id(self) -> None:
        self._by_id: dict[str, Node] = {}
        for node in self.workflow.nodes:
            self._by_id.setdefault(node.id, node)

    def _rebuild_index(self) -> None:
        self._rebuild_by_id()
        self._incident: dict[str, list[Edge]] = {}
        for edge in self.workflow.edges:
            self._index_edge(edge)

    def _index_edge(self, edge: Edge) -> None:
        self._incident.setdefault(edge.source, []).append(edge)
        if edge.target != edge.source:
            self._incident.setdefault(edge.target, []).append(edge)

    def _unindex_edge(self, edge: Edge) -> None:
        for end in {edge.source, edge.target}:
            bucket = self._incident.get(end)
            if bucket is None:
                continue
            bucket[:] = [candidate for candidate in bucket if candidate is not edge]
            if not bucket:
                del self._incident[end]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.workflow.nodes)


_SCALARS = (str, int, float, bool, type(None))


def _config_key(config: dict[str, Any]) -> Any:
    """A hashable key for a config (fast for flat configs, JSON text otherwise)."""
    if all(isinstance(value, _SCALARS) for value in config.values()):
        return tuple(sorted((key, type(value).__name__, value) for key, value in config.items()))
    try:
        return json.dumps(config, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(config)


def _pair(value: Any) -> tuple[float, float]:
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int | float) for v in value):
        return float(value[0]), float(value[1])
    return 0.0, 0.0


def newer_version_on_disk(path: str | Path) -> int | None:
    """The format version of the workflow file at `path` if it is newer than this app's."""
    try:
        with Path(path).open("rb") as handle:
            head = handle.read(64 * 1024 * 1024)
    except OSError:
        return None
    try:
        data = json.loads(head.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > CURRENT_VERSION:
        return version
    return None
