"""One open document in the editor: the document, its undo stack and its scene.

Every edit the UI makes is a method here that builds undo commands (`app.ui.commands`) and pushes
them; the views follow the document's signals. Problems are recomputed shortly after edits stop
(debounced), never inside a keystroke.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, QPointF, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QGraphicsItem

from app.core.document import WorkflowDocument
from app.core.model import Edge, Node, WorkflowFileError, parse_workflow, workflow_to_bytes
from app.core.values import can_connect
from app.ui import commands as cmd
from app.ui.canvas.comment_item import CommentItem
from app.ui.canvas.node_item import NodeItem
from app.ui.canvas.scene import WorkflowScene
from app.ui.commands import UNSET

PROBLEMS_DELAY_MS = 150
CLIPBOARD_MIME = "application/x-chainwright-workflow+json"


class DocumentEditor(QObject):
    status_message = Signal(str)
    problems_refreshed = Signal()

    def __init__(self, doc: WorkflowDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.stack = QUndoStack(self)
        self.scene = WorkflowScene(self)
        self.scene.status_message.connect(self.status_message)
        self.scene.set_document(doc)
        self._problems_timer = QTimer(self)
        self._problems_timer.setSingleShot(True)
        self._problems_timer.setInterval(PROBLEMS_DELAY_MS)
        self._problems_timer.timeout.connect(self.refresh_problems)
        doc.changed.connect(self._problems_timer.start)
        doc.reset.connect(self._problems_timer.start)
        doc.problems_changed.connect(self.problems_refreshed.emit)
        self._paste_count = 0
        QTimer.singleShot(0, self.refresh_problems)

    def _new_node(self, type_id: str, position: tuple[float, float]) -> Node:
        """A new node; model nodes start with the provider and model chosen in Settings."""
        node = self.doc.new_node(type_id, position)
        settings = getattr(self.parent(), "settings", None)
        if type_id == "model.chat" and settings is not None:
            from app.ui.settings_dialog import new_model_node_config

            node.config = new_model_node_config(node.config, settings)
        return node

    def refresh_problems(self) -> None:
        self._problems_timer.stop()
        self.doc.refresh_problems()

    def push(self, command: QUndoCommand) -> None:
        self.stack.push(command)

    # -- nodes --------------------------------------------------------------------------------
    def add_node(self, type_id: str, position: QPointF | tuple[float, float], *, select: bool = True) -> Node:
        x, y = (position.x(), position.y()) if isinstance(position, QPointF) else position
        if self.scene.snap_enabled:
            snapped = self.scene.snap(QPointF(x, y))
            x, y = snapped.x(), snapped.y()
        node = self._new_node(type_id, (x, y))
        self.push(cmd.command(cmd.AddNode(self.doc, node)))
        if select:
            self.scene.select([node])
        return node

    def add_node_connected(self, type_id: str, position: QPointF, drop: Any) -> tuple[Node, str | None]:
        """Add a node where a wire was dropped and connect the wire to its first fitting port
        (one undo step). Returns the node and the port it was connected to (None if none fits)."""
        node = self._new_node(type_id, (position.x(), position.y()))
        ports = self.doc.ports(node)
        if drop.from_output:
            candidates = [p for p in ports.inputs if can_connect(drop.type, p.type)]
        else:
            candidates = [p for p in ports.outputs if can_connect(p.type, drop.type)]
        steps: list[cmd.Step] = [cmd.AddNode(self.doc, node)]
        text = f"Add {node.title}"
        chosen = candidates[0].name if candidates else None
        if chosen is not None:
            if drop.from_output:
                edge = Edge(source=drop.node.id, source_port=drop.port, target=node.id, target_port=chosen)
            else:
                edge = Edge(source=node.id, source_port=chosen, target=drop.node.id, target_port=drop.port)
                for old in self.doc.edges_into(drop.node.id, drop.port):
                    steps.append(cmd.RemoveEdge(self.doc, old))
            steps.append(cmd.AddEdge(self.doc, edge))
            text = f"Add {node.title} and connect it"
        self.push(cmd.macro(text, steps))
        self.scene.select([node])
        return node, chosen

    def move_items(self, moved: list[tuple[QGraphicsItem, QPointF, QPointF]], *, nudge: bool = False) -> None:
        nodes = [
            (i.node, (o.x(), o.y()), (round(n.x()), round(n.y())))
            for i, o, n in moved
            if isinstance(i, NodeItem)
        ]
        notes = [
            (i.comment, (o.x(), o.y()), (round(n.x()), round(n.y())))
            for i, o, n in moved
            if isinstance(i, CommentItem)
        ]
        if nodes or notes:
            self.push(cmd.command(cmd.Move(self.doc, nodes, notes, nudge=nudge)))

    def nodes_to_arrange(self) -> list[Node]:
        """What Arrange Nodes lays out: the selected nodes if two or more are, else all of them."""
        selected = self.scene.selected_nodes()
        return selected if len(selected) >= 2 else list(self.doc.nodes)

    def arrange(self, nodes: list[Node], *, undoable: bool = True) -> int:
        """Lay `nodes` out left to right in the order data flows (`app.core.arrange`), as one undo
        step. With `undoable=False` the document is changed directly (a file opened without
        positions: its first look, not an edit). Returns how many nodes moved."""
        from app.core.arrange import arrange

        items = [item for item in (self.scene.node_item(node) for node in nodes) if item is not None]
        if len(items) < 2:
            return 0
        ids = [item.node.id for item in items]
        top_left = (
            min(item.node.position[0] for item in items),
            min(item.node.position[1] for item in items),
        )
        sizes = {item.node.id: (item.width, item.height) for item in items}
        edges = [(edge.source, edge.target) for edge in self.doc.edges]
        targets = arrange(ids, edges, sizes, origin=top_left)
        moves = [
            (item.node, tuple(item.node.position), targets[item.node.id])
            for item in items
            if list(targets[item.node.id]) != item.node.position
        ]
        if undoable:
            if moves:
                self.push(cmd.macro(f"Arrange {len(items)} nodes", [cmd.Move(self.doc, moves)]))
        else:
            for node, _old, new in moves:
                self.doc.move_node(node, new)
        return len(moves)

    def nudge_selection(self, dx: float, dy: float) -> None:
        items = [item for item in self.scene.selectedItems() if isinstance(item, NodeItem | CommentItem)]
        if items:
            self.move_items([(item, item.pos(), item.pos() + QPointF(dx, dy)) for item in items], nudge=True)

    def set_config(self, node: Node, config: dict[str, Any], *, field: str = "", session: int = 0) -> None:
        if config != node.config:
            self.push(cmd.command(cmd.SetConfig(self.doc, node, config, field=field, session=session)))

    def set_config_value(self, node: Node, key: str, value: Any, *, session: int = 0) -> None:
        """Set one config field; `UNSET` removes the key so the type's default applies."""
        config = dict(node.config)
        if value is UNSET:
            config.pop(key, None)
        else:
            config[key] = value
        self.set_config(node, config, field=key, session=session)

    def set_node_attribute(self, node: Node, aspect: str, value: Any, *, session: int = 0) -> None:
        if getattr(node, aspect) != value:
            self.push(cmd.command(cmd.SetNodeAttribute(self.doc, node, aspect, value, session=session)))

    def rename_node(self, node: Node, new_id: str) -> str | None:
        """Change a node's id; returns why not (and changes nothing) when the id cannot be used."""
        refusal = self.doc.id_refusal(node, new_id)
        if refusal:
            return refusal
        if new_id != node.id:
            self.push(cmd.command(cmd.RenameNode(self.doc, node, new_id)))
        return None

    def set_workflow_attribute(self, aspect: str, value: str, *, session: int = 0) -> None:
        current = self.doc.workflow.name if aspect == "name" else self.doc.workflow.description
        if current != value:
            self.push(cmd.command(cmd.SetWorkflowAttribute(self.doc, aspect, value, session=session)))

    # -- edges --------------------------------------------------------------------------------
    def connect(
        self, source: Node, source_port: str, target: Node, target_port: str, *, replacing: Edge | None = None
    ) -> str | None:
        """Connect two ports. An input takes one value: an edge already going into it is replaced
        (one undo step). Returns why not, in plain words, when the connection is refused."""
        if replacing is not None and edge_matches(replacing, source, source_port, target, target_port):
            return None
        refusal = self.doc.connection_refusal(source, source_port, target, target_port)
        if refusal:
            self.status_message.emit(f"Not connected: {refusal}")
            return refusal
        edge = Edge(source=source.id, source_port=source_port, target=target.id, target_port=target_port)
        old = list(self.doc.edges_into(target.id, target_port))
        if replacing is not None and replacing not in old:
            old.append(replacing)
        if old:
            steps: list[cmd.Step] = [cmd.RemoveEdge(self.doc, previous) for previous in old]
            steps.append(cmd.AddEdge(self.doc, edge))
            self.push(cmd.macro(f"Connect {source.id}.{source_port} → {target.id}.{target_port}", steps))
        else:
            self.push(cmd.command(cmd.AddEdge(self.doc, edge)))
        self.status_message.emit(f"Connected {source.id}.{source_port} → {target.id}.{target_port}")
        return None

    def disconnect(self, edges: list[Edge]) -> None:
        if not edges:
            return
        if len(edges) == 1:
            self.push(cmd.command(cmd.RemoveEdge(self.doc, edges[0])))
            return
        self.push(
            cmd.macro(f"Disconnect {len(edges)} wires", [cmd.RemoveEdge(self.doc, edge) for edge in edges])
        )

    # -- comments -----------------------------------------------------------------------------
    def add_comment(self, position: QPointF, text: str = "") -> dict[str, Any]:
        comment = self.doc.new_comment((position.x(), position.y()), text)
        self.push(cmd.command(cmd.AddComment(self.doc, comment)))
        return comment

    def update_comment(self, comment: dict[str, Any], *, session: int = 0, **changes: Any) -> None:
        if any(comment.get(key) != value for key, value in changes.items()):
            self.push(cmd.command(cmd.UpdateComment(self.doc, comment, session=session, **changes)))

    # -- selection-wide edits --------------------------------------------------------------------
    def delete(self, nodes: list[Node], edges: list[Edge] = (), comments: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        """Delete nodes (with every edge touching them), edges and comments: one undo step."""
        doomed_edges: dict[int, Edge] = {id(edge): edge for edge in edges}
        for node in nodes:
            if self.doc.is_first_with_id(node):
                for edge in self.doc.edges_of(node.id):
                    doomed_edges[id(edge)] = edge
        if not (nodes or doomed_edges or comments):
            return
        count = len(nodes) + len(comments)
        if len(nodes) == 1 and not comments:
            label = f"Delete {nodes[0].title or nodes[0].id}"
        elif count:
            label = f"Delete {count} items"
        else:
            label = f"Disconnect {len(doomed_edges)} wire{'s' if len(doomed_edges) > 1 else ''}"
        order = {id(edge): index for index, edge in enumerate(self.doc.edges)}
        steps: list[cmd.Step] = [
            cmd.RemoveEdge(self.doc, edge)
            for edge in sorted(doomed_edges.values(), key=lambda e: -order.get(id(e), -1))
        ]
        steps += [cmd.RemoveNode(self.doc, node) for node in nodes]
        steps += [cmd.RemoveComment(self.doc, comment) for comment in comments]
        self.push(cmd.macro(label, steps))

    def delete_selection(self) -> None:
        self.delete(self.scene.selected_nodes(), self.scene.selected_edges(), self.scene.selected_comments())

    # -- clipboard ---------------------------------------------------------------------------------
    def copy_text(self, nodes: list[Node], comments: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
        """The selection as a standalone workflow file (§1.2): pastes here, in another window, or
        into a text editor."""
        self._paste_count = 0
        return workflow_to_bytes(self.doc.fragment(nodes, comments)).decode("utf-8")

    def paste_text(self, text: str, at: QPointF | None = None) -> list[Node] | None:
        """Paste workflow JSON; returns the new nodes, or None if the text is not a workflow."""
        try:
            fragment = parse_workflow(text)
        except WorkflowFileError:
            return None
        if not fragment.nodes and not (fragment.ui or {}).get("comments"):
            return None
        if at is None:
            self._paste_count += 1
            corner = _top_left(fragment)
            shift = 30.0 * self._paste_count
            target = (corner[0] + shift, corner[1] + shift) if corner else None
        else:
            target = (at.x(), at.y())
        plan = self.doc.plan_paste(fragment, target)
        count = len(plan.nodes) + len(plan.comments)
        steps: list[cmd.Step] = [cmd.AddNode(self.doc, node) for node in plan.nodes]
        steps += [cmd.AddEdge(self.doc, edge) for edge in plan.edges]
        steps += [cmd.AddComment(self.doc, comment) for comment in plan.comments]
        self.push(cmd.macro(f"Paste {count} item{'s' if count != 1 else ''}", steps))
        self.scene.select(plan.nodes, plan.comments)
        return plan.nodes

    def duplicate(self, nodes: list[Node], comments: list[dict[str, Any]] = ()) -> list[Node]:  # type: ignore[assignment]
        if not nodes and not comments:
            return []
        text = workflow_to_bytes(self.doc.fragment(nodes, comments)).decode("utf-8")
        corner = _top_left(parse_workflow(text))
        at = QPointF(corner[0] + 40, corner[1] + 40) if corner else None
        return self.paste_text(text, at) or []


def edge_matches(edge: Edge, source: Node, source_port: str, target: Node, target_port: str) -> bool:
    return (edge.source, edge.source_port, edge.target, edge.target_port) == (
        source.id,
        source_port,
        target.id,
        target_port,
    )


def _top_left(fragment: Any) -> tuple[float, float] | None:
    points = [tuple(node.position) for node in fragment.nodes]
    for item in (fragment.ui or {}).get("comments") or []:
        pos = item.get("position") if isinstance(item, dict) else None
        if isinstance(pos, list) and len(pos) == 2:
            points.append((float(pos[0]), float(pos[1])))
    if not points:
        return None
    return min(p[0] for p in points), min(p[1] for p in points)


def is_workflow_text(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("format") == "chainwright.workflow"
