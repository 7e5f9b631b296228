"""The canvas scene: a mirror of the document, plus the gestures that edit it.

`set_document` subscribes to the document's change signals and builds the items through the same
handlers that later follow each edit, so opening a file, editing and undoing take one path (the
orange-canvas-core pattern). The scene never changes the document itself: gestures (move, connect,
disconnect, resize a note) call the `DocumentEditor`, which pushes undo commands.

A run is shown over the document, never in it: `set_run_view` gives the scene a
`run_state.RunState` (or None) that node and wire items read when they paint, and
`refresh_run_nodes(ids)` repaints only the nodes (and their wires) whose state changed, at most
`RUN_NODES_PER_TURN` of them per frame (the rest follow in the next frames, through
`run_state.frame_slices`; changes that arrive while some are waiting join the queue), so a run starting or ending in a large workflow never makes one long frame.
Running nodes' spinners are animated by one timer that touches only the running nodes, a group
of them per tick (`SPINNER_GROUPS`), so their repaints are spread over several frames.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsSceneContextMenuEvent,
    QGraphicsSceneMouseEvent,
)

from app.core.document import WorkflowDocument, edge_key
from app.core.model import Edge, Node
from app.core.values import DataType, can_connect
from app.ui.canvas.comment_item import CommentItem
from app.ui.canvas.node_item import NodeItem, PortSlot
from app.ui.canvas.wire_item import DragWireItem, WireItem
from app.ui.run_state import frame_slices
from app.ui.theme import CanvasColours, port_colour

if TYPE_CHECKING:
    from app.ui.editor import DocumentEditor

GRID = 20.0
SPINNER_MS = 100  # running nodes' strips (spinner, streamed preview): 10 repaints a second
#: The running nodes take turns: each spinner tick repaints one group of them, so eight nodes
#: streaming at once repaint two strips per frame, not eight in one frame every 100 ms.
SPINNER_GROUPS = 4
RUN_NODES_PER_TURN = 4  # nodes whose run state is repainted in one frame (the rest: `frame_slices`)
#: Problems that make a wire itself wrong (drawn red and dashed).
WIRE_PROBLEMS = {"incompatible_types", "unknown_port", "multiple_edges"}


@dataclass
class DragHint:
    """A wire being dragged: from which port, and what kind of port it needs at the other end."""

    origin: NodeItem
    slot: PortSlot
    need_output: bool
    type: DataType
    detached: Edge | None = None  # an existing edge being re-routed off its input


@dataclass
class WireDrop:
    """A wire dropped on empty canvas: offer the node types that can take it."""

    node: Node
    port: str
    from_output: bool
    type: DataType
    scene_pos: QPointF


class WorkflowScene(QGraphicsScene):
    status_message = Signal(str)
    wire_dropped = Signal(object)  # WireDrop
    node_activated = Signal(object)  # Node (double-clicked)
    context_menu_requested = Signal(object, object, object)  # QPoint (screen), QPointF (scene), item | None

    def __init__(self, editor: DocumentEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        self.doc: WorkflowDocument | None = None
        self.colours = CanvasColours.from_palette()
        self.snap_enabled = False
        self.snapping_now = False
        self.drag_hint: DragHint | None = None
        self._drag_wire: DragWireItem | None = None
        self._drag_target: tuple[NodeItem, PortSlot] | None = None
        self._drag_refusal: str | None = None
        self._nodes: dict[int, NodeItem] = {}
        self._wires: dict[int, WireItem] = {}
        self._comments: dict[int, CommentItem] = {}
        self._pending: dict[int, Edge] = {}
        self._move_start: dict[QGraphicsItem, QPointF] | None = None
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        #: The run shown on the canvas (`run_state.RunState`), or None. Never part of the document.
        self.run_view: Any = None
        #: Node ids with a breakpoint (red dot).
        self.breakpoints: frozenset[str] = frozenset()
        self._spinner = QTimer(self)
        self._spinner.setInterval(SPINNER_MS // SPINNER_GROUPS)
        self._spin_phase = 0
        self._spinner.timeout.connect(self._spin)
        self._run_refresh_queue: dict[str, None] = {}  # ordered set of node ids

    # -- following the document -------------------------------------------------------------
    def set_document(self, doc: WorkflowDocument) -> None:
        if self.doc is not None:
            self._subscribe(self.doc, connect=False)
        self.doc = doc
        self._subscribe(doc, connect=True)
        self._rebuild()

    def _subscribe(self, doc: WorkflowDocument, connect: bool) -> None:
        pairs = (
            (doc.node_added, self._on_node_added),
            (doc.node_removed, self._on_node_removed),
            (doc.node_moved, self._on_node_moved),
            (doc.node_changed, self._on_node_changed),
            (doc.node_renamed, self._on_node_renamed),
            (doc.edge_added, self._on_edge_added),
            (doc.edge_removed, self._on_edge_removed),
            (doc.comment_added, self._on_comment_added),
            (doc.comment_removed, self._on_comment_removed),
            (doc.comment_changed, self._on_comment_changed),
            (doc.reset, self._rebuild),
            (doc.problems_changed, self._on_problems_changed),
        )
        for signal, slot in pairs:
            (signal.connect if connect else signal.disconnect)(slot)

    def _rebuild(self) -> None:
        gc_was_on = gc.isenabled()
        gc.disable()  # thousands of new objects at once: skip the collector's repeated full passes
        try:
            self._rebuild_items()
        finally:
            if gc_was_on:
                gc.enable()

    def _rebuild_items(self) -> None:
        self.cancel_connection()
        for item in list(self._nodes.values()) + list(self._wires.values()) + list(self._comments.values()):
            self.removeItem(item)
        self._nodes.clear()
        self._wires.clear()
        self._comments.clear()
        self._pending.clear()
        assert self.doc is not None
        for comment in self.doc.comments():
            self._on_comment_added(comment)
        for node in self.doc.nodes:
            self._on_node_added(node)
        for index, edge in enumerate(self.doc.edges):
            self._on_edge_added(edge, index)
        if not self.doc.problems_stale:
            self._on_problems_changed()

    def _on_node_added(self, node: Node) -> None:
        item = NodeItem(node, self)
        self._nodes[id(node)] = item
        self.addItem(item)
        if self._pending and self.doc is not None and self.doc.is_first_with_id(node):
            self._attach_pending(node.id)

    def _on_node_removed(self, node: Node, _index: int) -> None:
        item = self._nodes.pop(id(node), None)
        if item is None:
            return
        for wire in list(item.wires):
            self._drop_wire(wire)
            self._pending[id(wire.edge)] = wire.edge
        self.removeItem(item)
        if self.doc is not None and node.id and self.doc.node(node.id) is not None:
            self._attach_pending(node.id)

    def _on_node_moved(self, node: Node) -> None:
        item = self._nodes.get(id(node))
        if item is not None:
            item.setPos(node.position[0], node.position[1])
            for wire in item.wires:
                wire.update_path()

    def _on_node_changed(self, node: Node, aspect: str) -> None:
        item = self._nodes.get(id(node))
        if item is None:
            return
        if aspect in ("config", "title"):
            self._refresh_node(item)
        else:
            item.rebuild()

    def _on_node_renamed(self, node: Node, _old_id: str) -> None:
        item = self._nodes.get(id(node))
        if item is not None:
            self._refresh_node(item)
        if self._pending:
            self._attach_pending(node.id)

    def _on_edge_added(self, edge: Edge, _index: int) -> None:
        assert self.doc is not None
        source = self.doc.node(edge.source)
        target = self.doc.node(edge.target)
        source_item = self._nodes.get(id(source)) if source is not None else None
        target_item = self._nodes.get(id(target)) if target is not None else None
        if source_item is None or target_item is None:
            self._pending[id(edge)] = edge
            return
        if source_item.port(edge.source_port, True) is None:
            self._refresh_node(source_item)
        if target_item.port(edge.target_port, False) is None:
            self._refresh_node(target_item)
        wire = WireItem(edge, source_item, target_item, self)
        self._wires[id(edge)] = wire
        self.addItem(wire)

    def _on_edge_removed(self, edge: Edge, _index: int) -> None:
        if self._pending.pop(id(edge), None) is not None:
            return
        wire = self._wires.get(id(edge))
        if wire is None:
            return
        self._drop_wire(wire)
        for end, output, port in (
            (wire.source, True, edge.source_port),
            (wire.target, False, edge.target_port),
        ):
            slot = end.port(port, output)
            if slot is not None and slot.missing:
                self._refresh_node(end)

    def _drop_wire(self, wire: WireItem) -> None:
        self._wires.pop(id(wire.edge), None)
        wire.detach()
        self.removeItem(wire)

    def _attach_pending(self, node_id: str) -> None:
        for key, edge in list(self._pending.items()):
            if node_id in (edge.source, edge.target):
                del self._pending[key]
                self._on_edge_added(edge, -1)

    def _refresh_node(self, item: NodeItem) -> None:
        item.rebuild()
        for wire in item.wires:
            wire.update_path()

    def _on_comment_added(self, comment: dict[str, Any]) -> None:
        item = CommentItem(comment, self)
        self._comments[id(comment)] = item
        self.addItem(item)

    def _on_comment_removed(self, comment: dict[str, Any], _index: int) -> None:
        item = self._comments.pop(id(comment), None)
        if item is not None:
            self.removeItem(item)

    def _on_comment_changed(self, comment: dict[str, Any]) -> None:
        item = self._comments.get(id(comment))
        if item is not None:
            item.refresh()

    def _on_problems_changed(self) -> None:
        assert self.doc is not None
        grouped = self.doc.problems_by_node()
        for key, item in self._nodes.items():
            problems = grouped.get(key, [])
            if problems != item.problems:
                item.set_problems(problems)
        bad_edges: set[int] = set()
        edges = self.doc.edges
        for problem in self.doc.problems:
            if (
                problem.code in WIRE_PROBLEMS
                and problem.edge_index is not None
                and problem.edge_index < len(edges)
            ):
                bad_edges.add(id(edges[problem.edge_index]))
        for key, wire in self._wires.items():
            wire.set_invalid(key in bad_edges)

    # -- the run shown over the document ------------------------------------------------------------
    def run_node(self, node: Node) -> Any:
        """The run state of a node (`run_state.NodeRunState`), or None."""
        view = self.run_view
        if view is None or self.doc is None or not self.doc.is_first_with_id(node):
            return None
        return view.node(node.id)

    def run_wire_state(self, edge: Edge) -> str | None:
        view = self.run_view
        return None if view is None else view.wire_state(edge.source, edge.source_port, edge.target)

    def set_run_view(self, view: Any) -> None:
        """Show a run (a `RunState`) on the canvas, or none."""
        old, self.run_view = self.run_view, view
        ids: set[str] = set()
        for state in (old, view):
            if state is not None:
                ids.update(state.nodes)
        # A live run starting is spread over frames; showing a past run or none is the person's
        # own action, and the whole canvas follows at once.
        self.refresh_run_nodes(ids, at_once=not (view is not None and view.live))

    def refresh_run_nodes(self, node_ids: Iterable[str], *, at_once: bool = False) -> None:
        """Repaint the nodes whose run state changed, and the wires whose look changed."""
        queue = self._run_refresh_queue
        for node_id in node_ids:
            queue[node_id] = None
        if at_once:
            self._refresh_run_batch(len(queue))
        elif not frame_slices().pending(("canvas run", id(self))):
            self._refresh_run_batch(RUN_NODES_PER_TURN)
        # else: this frame had its share; the queued slice takes these in the next frames

    def _refresh_run_batch(self, limit: int = RUN_NODES_PER_TURN) -> None:
        queue = self._run_refresh_queue
        if self.doc is None:
            queue.clear()
            return
        batch = list(itertools.islice(queue, limit))
        for node_id in batch:
            del queue[node_id]
            node = self.doc.node(node_id)
            item = self._nodes.get(id(node)) if node is not None else None
            if item is None:
                continue
            if item.run_changed():  # a new status: the wires' look may follow
                for wire in item.wires:
                    wire.refresh_flow()
        if queue:
            frame_slices().add(("canvas run", id(self)), self._refresh_run_batch)
        view = self.run_view
        running = bool(view is not None and view.running)
        if running and not self._spinner.isActive():
            self._spinner.start()
        elif not running and self._spinner.isActive():
            self._spinner.stop()

    def _spin(self) -> None:
        view = self.run_view
        if view is None or not view.running or self.doc is None:
            self._spinner.stop()
            return
        phase = self._spin_phase = (self._spin_phase + 1) % SPINNER_GROUPS
        for node_id in sorted(view.running)[phase::SPINNER_GROUPS]:
            node = self.doc.node(node_id)
            item = self._nodes.get(id(node)) if node is not None else None
            if item is not None:
                item.spin()

    def set_breakpoints(self, node_ids: Iterable[str]) -> None:
        new = frozenset(node_ids)
        changed, self.breakpoints = new ^ self.breakpoints, new
        if self.doc is None:
            return
        for node_id in changed:
            node = self.doc.node(node_id)
            item = self._nodes.get(id(node)) if node is not None else None
            if item is not None:
                item.update()

    # -- lookups ----------------------------------------------------------------------------------
    def node_item(self, node: Node) -> NodeItem | None:
        return self._nodes.get(id(node))

    def wire_item(self, edge: Edge) -> WireItem | None:
        return self._wires.get(id(edge))

    def comment_item(self, comment: dict[str, Any]) -> CommentItem | None:
        return self._comments.get(id(comment))

    def node_items(self) -> list[NodeItem]:
        return list(self._nodes.values())

    def ports_used(self, node: Node) -> tuple[list[str], list[str]]:
        """Port names the edges of this node use (inputs, outputs), in file order."""
        if self.doc is None or not self.doc.is_first_with_id(node):
            return [], []
        ins: dict[str, None] = {}
        outs: dict[str, None] = {}
        for edge in self.doc.edges_of(node.id):
            if edge.target == node.id:
                ins.setdefault(edge.target_port, None)
            if edge.source == node.id:
                outs.setdefault(edge.source_port, None)
        return list(ins), list(outs)

    def selected_nodes(self) -> list[Node]:
        chosen = {id(item.node) for item in self.selectedItems() if isinstance(item, NodeItem)}
        assert self.doc is not None
        return [node for node in self.doc.nodes if id(node) in chosen]

    def selected_edges(self) -> list[Edge]:
        chosen = {id(item.edge) for item in self.selectedItems() if isinstance(item, WireItem)}
        assert self.doc is not None
        return [edge for edge in self.doc.edges if id(edge) in chosen]

    def selected_comments(self) -> list[dict[str, Any]]:
        chosen = {id(item.comment) for item in self.selectedItems() if isinstance(item, CommentItem)}
        assert self.doc is not None
        return [comment for comment in self.doc.comments() if id(comment) in chosen]

    def select(self, nodes: list[Node] = (), comments: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        self.clearSelection()
        for node in nodes:
            item = self._nodes.get(id(node))
            if item is not None:
                item.setSelected(True)
        for comment in comments:
            citem = self._comments.get(id(comment))
            if citem is not None:
                citem.setSelected(True)

    def content_rect(self) -> QRectF:
        return self.itemsBoundingRect()

    # -- look ---------------------------------------------------------------------------------------
    def set_colours(self, colours: CanvasColours) -> None:
        self.colours = colours
        for item in self._nodes.values():
            item.update()
            for child in (item.run_strip, item.run_outline):
                if child is not None:
                    child.update()  # children keep their own cached pictures
        for wire in self._wires.values():
            wire.refresh()
        for comment in self._comments.values():
            comment.refresh()
        for view in self.views():
            view.resetCachedContent()  # the grid is cached per view
        self.update()

    def set_snap(self, enabled: bool) -> None:
        self.snap_enabled = enabled

    @staticmethod
    def snap(value: QPointF) -> QPointF:
        return QPointF(round(value.x() / GRID) * GRID, round(value.y() / GRID) * GRID)

    # -- moving -------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mousePressEvent(event)
        grabber = self.mouseGrabberItem()
        if self.drag_hint is None and isinstance(grabber, NodeItem | CommentItem):
            movable = [item for item in self.selectedItems() if isinstance(item, NodeItem | CommentItem)]
            if grabber not in movable:
                movable.append(grabber)
            self._move_start = {item: item.pos() for item in movable}
            self.snapping_now = self.snap_enabled

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseMoveEvent(event)
        if self._move_start and self.mouseGrabberItem() is not None:
            self._follow_drag()

    def _follow_drag(self) -> None:
        """While items are dragged: snap them to the grid if asked, and bend their wires along."""
        assert self._move_start is not None
        wires: dict[int, WireItem] = {}
        for item in self._move_start:
            if self.snapping_now:
                snapped = self.snap(item.pos())
                if snapped != item.pos():
                    item.setPos(snapped)
            if isinstance(item, NodeItem):
                for wire in item.wires:
                    wires[id(wire)] = wire
        for wire in wires.values():
            wire.update_path()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        self.snapping_now = False
        start, self._move_start = self._move_start, None
        if not start:
            return
        moved = [
            (item, old, item.pos())
            for item, old in start.items()
            if item.scene() is self and item.pos() != old
        ]
        if moved:
            self.editor.move_items(moved)

    def contextMenuEvent(self, event: QGraphicsSceneContextMenuEvent) -> None:
        item = self.itemAt(event.scenePos(), QTransform())
        while item is not None and not isinstance(item, NodeItem | WireItem | CommentItem):
            item = item.parentItem()
        if item is not None and not item.isSelected():
            self.clearSelection()
            item.setSelected(True)
        self.context_menu_requested.emit(event.screenPos(), event.scenePos(), item)
        event.accept()

    # -- connecting ---------------------------------------------------------------------------------
    def begin_connection(self, item: NodeItem, slot: PortSlot, scene_pos: QPointF) -> bool:
        assert self.doc is not None
        detached: Edge | None = None
        if not slot.output:
            existing = (
                self.doc.edges_into(item.node.id, slot.name) if self.doc.is_first_with_id(item.node) else []
            )
            if existing:
                detached = existing[-1]
                wire = self._wires.get(id(detached))
                if wire is not None:
                    wire.setVisible(False)
                    item, slot = wire.source, wire.source.port(detached.source_port, True) or slot
        if slot.missing and detached is None:
            self.status_message.emit(f"'{slot.name}' no longer exists on this node; connect another port")
            return False
        if slot.output:
            self.drag_hint = DragHint(item, slot, need_output=False, type=slot.type, detached=detached)
        else:
            self.drag_hint = DragHint(item, slot, need_output=True, type=slot.type)
        self._drag_wire = DragWireItem(self, port_colour(slot.type))
        self.addItem(self._drag_wire)
        self._drag_target = None
        self._drag_refusal = None
        self._update_drag_wire(scene_pos)
        self._refresh_port_highlights()
        if detached is not None:
            self.status_message.emit("Drop on another input to reconnect, or on empty canvas to disconnect")
        elif slot.output:
            self.status_message.emit(
                "Drag to a highlighted input · drop on empty canvas to add a node that takes it"
            )
        else:
            self.status_message.emit(
                "Drag to a highlighted output · drop on empty canvas to add a node that feeds it"
            )
        return True

    def _refresh_port_highlights(self) -> None:
        for node_item in self._nodes.values():
            node_item.update()

    def _target_at(self, scene_pos: QPointF) -> tuple[NodeItem, PortSlot] | None:
        hint = self.drag_hint
        assert hint is not None
        area = QRectF(scene_pos.x() - 12, scene_pos.y() - 12, 24, 24)
        for candidate in self.items(area):
            if not isinstance(candidate, NodeItem) or candidate is hint.origin:
                continue
            local = candidate.mapFromScene(scene_pos)
            slot = candidate.port_at(local)
            if slot is not None and slot.output == hint.need_output:
                return candidate, slot
            if candidate.body().contains(local):
                best = self._best_port(candidate)
                return (candidate, best) if best is not None else None
        return None

    def _best_port(self, item: NodeItem) -> PortSlot | None:
        """Dropping on a node's body: its first compatible port (free inputs first)."""
        hint = self.drag_hint
        assert hint is not None and self.doc is not None
        slots = item.outputs if hint.need_output else item.inputs
        compatible = [
            slot
            for slot in slots
            if not slot.missing
            and (can_connect(slot.type, hint.type) if hint.need_output else can_connect(hint.type, slot.type))
        ]
        if not hint.need_output:
            free = [slot for slot in compatible if not self.doc.edges_into(item.node.id, slot.name)]
            compatible = free or compatible
        return compatible[0] if compatible else None

    def _ends(self, target: tuple[NodeItem, PortSlot]) -> tuple[Node, str, Node, str]:
        hint = self.drag_hint
        assert hint is not None
        item, slot = target
        if hint.need_output:
            return item.node, slot.name, hint.origin.node, hint.slot.name
        return hint.origin.node, hint.slot.name, item.node, slot.name

    def _refusal(self, target: tuple[NodeItem, PortSlot]) -> str | None:
        assert self.doc is not None and self.drag_hint is not None
        source, source_port, dest, dest_port = self._ends(target)
        detached = self.drag_hint.detached
        if detached is not None and edge_key(detached) == (source.id, source_port, dest.id, dest_port):
            return None  # put back where it was
        return self.doc.connection_refusal(source, source_port, dest, dest_port)

    def _update_drag_wire(self, scene_pos: QPointF) -> None:
        hint = self.drag_hint
        wire = self._drag_wire
        if hint is None or wire is None:
            return
        target = self._target_at(scene_pos)
        if target != self._drag_target:
            self._drag_target = target
            self._drag_refusal = self._refusal(target) if target is not None else None
            if target is None:
                self.status_message.emit("")
            elif self._drag_refusal:
                self.status_message.emit(f"Can't connect: {self._drag_refusal}")
            else:
                source, source_port, dest, dest_port = self._ends(target)
                self.status_message.emit(f"Connect {source.id}.{source_port} → {dest.id}.{dest_port}")
        anchor = hint.origin.port_scene_pos(hint.slot.name, hint.slot.output)
        end = scene_pos
        if target is not None:
            end = target[0].port_scene_pos(target[1].name, target[1].output)
        valid = target is None or self._drag_refusal is None
        if hint.slot.output:
            wire.set_ends(anchor, end, valid)
        else:
            wire.set_ends(end, anchor, valid)

    def update_connection(self, scene_pos: QPointF) -> None:
        self._update_drag_wire(scene_pos)

    def cancel_connection(self) -> None:
        hint = self.drag_hint
        if hint is None:
            return
        self.drag_hint = None
        if self._drag_wire is not None:
            self.removeItem(self._drag_wire)
            self._drag_wire = None
        if hint.detached is not None:
            wire = self._wires.get(id(hint.detached))
            if wire is not None:
                wire.setVisible(True)
        self._drag_target = None
        self._refresh_port_highlights()

    def finish_connection(self, scene_pos: QPointF) -> None:
        hint = self.drag_hint
        if hint is None:
            return
        self._update_drag_wire(scene_pos)
        target, refusal = self._drag_target, self._drag_refusal
        ends = self._ends(target) if target is not None else None
        self.cancel_connection()
        if ends is not None:
            if refusal:
                self.status_message.emit(f"Not connected: {refusal}")
                return
            source, source_port, dest, dest_port = ends
            self.editor.connect(source, source_port, dest, dest_port, replacing=hint.detached)
            return
        if hint.detached is not None:
            self.editor.disconnect([hint.detached])
            self.status_message.emit("Disconnected")
            return
        over_node = any(isinstance(item, NodeItem) for item in self.items(scene_pos))
        if over_node:
            kind = "output" if hint.need_output else "input"
            self.status_message.emit(f"Not connected: that node has no {kind} that takes {hint.type.value}")
            return
        self.wire_dropped.emit(
            WireDrop(hint.origin.node, hint.slot.name, hint.slot.output, hint.slot.type, QPointF(scene_pos))
        )
