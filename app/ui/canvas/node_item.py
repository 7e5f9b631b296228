"""A node on the canvas: title, category colour, typed ports, problem badge, and — while a run
is shown — its run status, a one-line output preview and its breakpoint (a red dot).

Ports are drawn by the node itself (no child items): fewer Python objects, one cached pixmap per
node (DeviceCoordinateCache), and painting scales with what is visible, not with the graph.
When zoomed out the node is drawn as a coloured block (level of detail).

Run state is read, never stored, here: `WorkflowScene.run_node(node)` gives the node's
`run_state.NodeRunState` (or None), and the scene repaints only the nodes whose state changed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
)

from app.core.document import NodePorts
from app.core.model import Node
from app.core.problems import Problem
from app.core.values import DataType, can_connect
from app.ui.run_state import (
    CACHED,
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    PENDING,
    QUEUED,
    REUSED,
    RUNNING,
    SKIPPED,
    STATUS_COLOURS,
    STATUS_LABELS,
    NodeRunState,
)
from app.ui.theme import category_colour, mix, port_colour

if TYPE_CHECKING:
    from app.ui.canvas.scene import WorkflowScene
    from app.ui.canvas.wire_item import WireItem

MIN_WIDTH, MAX_WIDTH = 180.0, 340.0
HEADER = 32.0
ROW = 24.0
PORT_RADIUS = 5.5
PORT_HIT = 11.0
BOTTOM_PAD = 8.0
CORNER = 6.0
_NO_PEN = QPen(Qt.PenStyle.NoPen)
_FLAGS = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
BLOCK_LOD = 0.3  # below this scale: a plain block
LABEL_LOD = 0.55  # below this scale: no port labels
STRIP = 22.0  # the run strip under the ports: status, preview, time
BREAKPOINT_RADIUS = 6.0
_status_colours = {status: QColor(hex_) for status, hex_ in STATUS_COLOURS.items()}
_BORDER_STATUSES = {RUNNING, PAUSED, FAILED}
_MUTED_STATUSES = {PENDING, QUEUED, SKIPPED, CANCELLED}


def _font(pixels: int, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


class Fonts:
    """Created lazily, after the QGuiApplication exists."""

    title: QFont
    port: QFont
    small: QFont
    title_metrics: QFontMetricsF
    port_metrics: QFontMetricsF
    ready = False

    @classmethod
    def ensure(cls) -> None:
        if cls.ready:
            return
        cls.title = _font(13, bold=True)
        cls.port = _font(12)
        cls.small = _font(11)
        cls.title_metrics = QFontMetricsF(cls.title)
        cls.port_metrics = QFontMetricsF(cls.port)
        cls.small_metrics = QFontMetricsF(cls.small)
        cls.ready = True


_widths: dict[tuple[int, str], float] = {}


def text_width(metrics: QFontMetricsF, text: str) -> float:
    key = (id(metrics), text)
    width = _widths.get(key)
    if width is None:
        if len(_widths) > 20000:
            _widths.clear()
        width = _widths[key] = metrics.horizontalAdvance(text)
    return width


def elide(metrics: QFontMetricsF, text: str, width: float) -> str:
    if text_width(metrics, text) <= width:
        return text
    return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)


@dataclass(slots=True)
class PortSlot:
    name: str
    output: bool
    type: DataType
    required: bool
    description: str
    missing: bool  # an edge uses it but the node (with its current config) has no such port
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class _PortLayout:
    """The part of a node's layout that depends only on its ports (shared by similar nodes)."""

    inputs: tuple[
        tuple[str, DataType, bool, str, bool, str], ...
    ]  # name, type, required, help, missing, label
    outputs: tuple[tuple[str, DataType, bool, str, bool, str], ...]
    widest_in: float
    widest_out: float


_port_layouts: dict[tuple[Any, ...], _PortLayout] = {}
_slot_layouts: dict[tuple[Any, ...], tuple[list[PortSlot], list[PortSlot]]] = {}
_accents: dict[str, QColor] = {}


def _port_layout(ports: NodePorts, used_in: tuple[str, ...], used_out: tuple[str, ...]) -> _PortLayout:
    key = (ports, used_in, used_out)
    layout = _port_layouts.get(key)
    if layout is not None:
        return layout
    known_in = {p.name for p in ports.inputs}
    known_out = {p.name for p in ports.outputs}
    rows_in = [(p.name, p.type, p.required, p.description, False) for p in ports.inputs]
    rows_out = [(p.name, p.type, True, p.description, False) for p in ports.outputs]
    rows_in += [(n, DataType.ANY, True, "", True) for n in used_in if n not in known_in]
    rows_out += [(n, DataType.ANY, True, "", True) for n in used_out if n not in known_out]
    metrics = Fonts.port_metrics
    with_labels_in = tuple((*row, f"{row[0]} (missing)" if row[4] else row[0]) for row in rows_in)
    with_labels_out = tuple((*row, f"{row[0]} (missing)" if row[4] else row[0]) for row in rows_out)
    layout = _PortLayout(
        with_labels_in,
        with_labels_out,
        max((text_width(metrics, row[5]) for row in with_labels_in), default=0.0),
        max((text_width(metrics, row[5]) for row in with_labels_out), default=0.0),
    )
    if len(_port_layouts) > 4096:
        _port_layouts.clear()
        _slot_layouts.clear()
    _port_layouts[key] = layout
    return layout


def _slots(layout: _PortLayout, width: float, header: float) -> tuple[list[PortSlot], list[PortSlot]]:
    key = (layout, width, header)
    slots = _slot_layouts.get(key)
    if slots is not None:
        return slots
    half = (width - 40) / 2 if layout.inputs and layout.outputs else width - 40
    label_width = max(half, 24.0)
    metrics = Fonts.port_metrics
    ins = [
        PortSlot(
            n, False, t, req, desc, miss, header + ROW * (i + 0.5) + 2, elide(metrics, label, label_width)
        )
        for i, (n, t, req, desc, miss, label) in enumerate(layout.inputs)
    ]
    outs = [
        PortSlot(
            n, True, t, req, desc, miss, header + ROW * (i + 0.5) + 2, elide(metrics, label, label_width)
        )
        for i, (n, t, req, desc, miss, label) in enumerate(layout.outputs)
    ]
    _slot_layouts[key] = (ins, outs)
    return ins, outs


def _accent(category: str | None) -> QColor:
    key = category or ""
    colour = _accents.get(key)
    if colour is None:
        colour = _accents[key] = category_colour(category) if category is not None else QColor("#8c8f96")
    return colour


class NodeItem(QGraphicsRectItem):
    """A QGraphicsRectItem so that Qt computes bounds and hit shapes in C++ (no Python call per
    item per frame); only `paint` is Python."""

    def __init__(self, node: Node, canvas: WorkflowScene) -> None:
        super().__init__()
        Fonts.ensure()
        self.node = node
        self.canvas = canvas
        self.wires: list[WireItem] = []
        self.problems: list[Problem] = []
        self._hover_port: tuple[str, bool] | None = None
        self._connecting = False
        self._in_scene = False
        self.run_strip: RunStripItem | None = None
        self.run_outline: RunOutlineItem | None = None
        self._run_look: tuple[str, bool] | None = None
        self.setFlags(_FLAGS)
        self.setPen(_NO_PEN)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1.0)
        self.rebuild()
        self.setPos(node.position[0], node.position[1])
        self._in_scene = True

    # -- layout -------------------------------------------------------------------------------
    def rebuild(self) -> None:
        """Recompute ports, texts and size from the node (after a config or title change)."""
        canvas, node = self.canvas, self.node
        doc = canvas.doc
        node_type = doc.node_type(node)
        if node_type is not None:
            self.type_title, self.category, self.unknown_type = node_type.title, node_type.category, False
        else:
            self.type_title, self.category, self.unknown_type = node.type, "Unknown", True
        self.accent = _accent(node_type.category if node_type is not None else None)
        used_in, used_out = canvas.ports_used(node)
        layout = _port_layout(doc.ports(node), tuple(used_in), tuple(used_out))

        self.title = title = node.title or node.id
        title_width = text_width(Fonts.title_metrics, title) + 44
        width = max(MIN_WIDTH, title_width, layout.widest_in + layout.widest_out + 56)
        self.width = width = MAX_WIDTH if width > MAX_WIDTH else width
        self.subtitle = self.type_title if title != self.type_title else ""
        header = HEADER + 14.0 if self.subtitle else HEADER
        rows = max(len(layout.inputs), len(layout.outputs))
        self.header_height = header
        self.strip = STRIP if canvas.run_node(node) is not None else 0.0
        self.height = header + rows * ROW + BOTTOM_PAD + self.strip
        self._place_strip()
        self.inputs, self.outputs = _slots(layout, width, header)
        self.elided_title = elide(Fonts.title_metrics, title, width - 44)
        self.elided_subtitle = elide(Fonts.small_metrics, self.subtitle, width - 24) if self.subtitle else ""
        self._rect = QRectF(0, 0, width, self.height)
        self.setRect(-PORT_RADIUS - 4, -9, width + 2 * PORT_RADIUS + 8, self.height + 13)
        if self._in_scene:
            self.update()  # setRect repaints only when the size changed

    def _place_strip(self) -> None:
        if self.strip:
            if self.run_strip is None:
                self.run_outline = RunOutlineItem(self)
                self.run_strip = RunStripItem(self)
            assert self.run_outline is not None
            self.run_outline.set_rect(QRectF(0, 0, self.width, self.height))
            state = self.canvas.run_node(self.node)
            self.run_outline.setVisible(state is not None and state.status in _BORDER_STATUSES)
            self.run_strip.set_geometry(self.width, self.strip)
            self.run_strip.setPos(0, self.height - self.strip)
        elif self.run_strip is not None:
            for child in (self.run_strip, self.run_outline):
                if child is None:
                    continue
                child.setParentItem(None)
                if child.scene() is not None:
                    child.scene().removeItem(child)
            self.run_strip = self.run_outline = None
        self._run_look = None

    def run_changed(self) -> bool:
        """The node's run state changed: repaint what changed. A new status repaints the run
        strip and the status ring and returns True (its wires change too); new streamed text
        repaints only the strip. The node's own cached picture never depends on the run."""
        state = self.canvas.run_node(self.node)
        if (state is not None) != bool(self.strip):
            self.rebuild()
            return True
        if state is None:
            return False
        look = (state.status, state.stale)
        assert self.run_strip is not None
        if look == self._run_look and state.status == RUNNING:
            return False  # streamed text: the spinner's tick repaints the strip (~10 a second)
        self.run_strip.update()
        if look != self._run_look:
            self._run_look = look
            assert self.run_outline is not None
            # Hidden without a ring, so the strips' repaints do not ask it to paint nothing.
            ring = state.status in _BORDER_STATUSES
            if ring != self.run_outline.isVisible():
                self.run_outline.setVisible(ring)
            elif ring:
                self.run_outline.update()
            if self.isUnderMouse() and self._hover_port is None:
                self._update_tooltip()
            return True
        return False

    def spin(self) -> None:
        """A running node's strip, ~10 times a second: the spinner turns, the preview shows the
        text streamed so far."""
        if self.run_strip is not None:
            self.run_strip.update()

    def _update_tooltip(self) -> None:
        """Tooltips are set when the pointer arrives (building 2000 of them up front is slow)."""
        lines = [
            f"<b>{_html(self.title)}</b> — {_html(self.type_title)} (<code>{_html(self.node.id)}</code>)"
        ]
        if self.node.description:
            lines.append(_html(self.node.description))
        if self.node.id in self.canvas.breakpoints:
            lines.append(
                "<span style='color:#d93025'>●</span> Breakpoint: the run pauses before this node (F9)"
            )
        state = self.canvas.run_node(self.node)
        if state is not None:
            colour = STATUS_COLOURS[state.status]
            detail = f" — {_html(state.preview()[:160])}" if state.status not in (PENDING, QUEUED) else ""
            lines.append(f"<span style='color:{colour}'>■</span> {STATUS_LABELS[state.status]}{detail}")
        for problem in self.problems:
            where = f"{problem.port or problem.field}: " if (problem.port or problem.field) else ""
            lines.append(f"<span style='color:#d93025'>⚠ {_html(where + problem.message)}</span>")
        self.setToolTip("<br>".join(lines))

    def set_problems(self, problems: list[Problem]) -> None:
        self.problems = problems
        if self.isUnderMouse():
            self._update_tooltip()
        self.update()

    # -- geometry used by wires and hit tests ---------------------------------------------------
    def body(self) -> QRectF:
        """The node's box, without the ports that stick out of it."""
        return self._rect

    def port(self, name: str, output: bool) -> PortSlot | None:
        for slot in self.outputs if output else self.inputs:
            if slot.name == name:
                return slot
        return None

    def port_scene_pos(self, name: str, output: bool) -> QPointF:
        slot = self.port(name, output)
        pos = self.pos()
        x = pos.x() + (self.width if output else 0.0)
        y = pos.y() + (slot.y if slot is not None else self.header_height / 2)
        return QPointF(x, y)

    def port_at(self, local: QPointF, radius: float = PORT_HIT) -> PortSlot | None:
        x, y = local.x(), local.y()
        for slots, edge_x in ((self.inputs, 0.0), (self.outputs, self.width)):
            if abs(x - edge_x) > radius + 2:
                continue
            for slot in slots:
                if abs(y - slot.y) <= ROW / 2:
                    return slot
        return None

    # -- painting -------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: object = None) -> None:
        colours = self.canvas.colours
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        selected = self.isSelected()
        rect = self._rect
        accent = self.accent
        if lod < BLOCK_LOD:
            painter.setPen(QPen(colours.selection, 3 / max(lod, 0.05)) if selected else Qt.PenStyle.NoPen)
            painter.setBrush(mix(colours.node_body, accent, 0.55))
            painter.drawRect(rect)
            if self.problems:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(colours.error)
                painter.drawRect(QRectF(rect.right() - 40, 0, 40, 40))
            return  # the run strip paints the status colour over the block's bottom

        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        # body (a run's status ring is the RunOutlineItem behind it, so this picture stays cached)
        border = colours.selection if selected else colours.node_border
        border_width = 2.0 if selected else 1.0
        painter.setPen(QPen(border, border_width))
        painter.setBrush(colours.node_body)
        painter.drawRoundedRect(rect, CORNER, CORNER)
        # header
        header = QRectF(0.5, 0.5, self.width - 1, self.header_height)
        header_fill = mix(colours.node_body, accent, 0.28 if colours.dark else 0.16)
        path = QPainterPath()
        path.addRoundedRect(header, CORNER - 0.5, CORNER - 0.5)
        path.addRect(QRectF(header.left(), header.center().y(), header.width(), header.height() / 2))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillPath(path.simplified(), header_fill)
        painter.fillRect(QRectF(0.5, 0.5 + CORNER, 4, self.header_height - CORNER), accent)
        painter.fillRect(QRectF(0.5 + CORNER / 2, 0.5, self.width - CORNER - 1, 3), accent)
        if selected:
            painter.setPen(QPen(colours.selection, 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, CORNER, CORNER)
        # title
        painter.setPen(colours.error if self.unknown_type else colours.node_text)
        painter.setFont(Fonts.title)
        painter.drawText(
            QRectF(14, 4, self.width - 44, HEADER - 4),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            self.elided_title,
        )
        if self.subtitle:
            painter.setPen(colours.node_muted)
            painter.setFont(Fonts.small)
            painter.drawText(
                QRectF(14, HEADER - 4, self.width - 24, 16),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                self.elided_subtitle,
            )
        # ports
        self._paint_ports(painter, lod >= LABEL_LOD)
        if self.node.id in self.canvas.breakpoints:
            self._paint_breakpoint(painter)
        # problem badge
        if self.problems:
            centre = QPointF(self.width - 16, HEADER / 2 + 1)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colours.error)
            painter.drawEllipse(centre, 8.5, 8.5)
            painter.setPen(QColor("#ffffff"))
            painter.setFont(Fonts.title)
            painter.drawText(
                QRectF(centre.x() - 8.5, centre.y() - 9, 17, 17), Qt.AlignmentFlag.AlignCenter, "!"
            )

    def _paint_breakpoint(self, painter: QPainter) -> None:
        centre = QPointF(0.0, self.header_height / 2)
        painter.setPen(QPen(self.canvas.colours.node_body, 1.5))
        painter.setBrush(_status_colours[FAILED])
        painter.drawEllipse(centre, BREAKPOINT_RADIUS, BREAKPOINT_RADIUS)

    def _paint_ports(self, painter: QPainter, labels: bool) -> None:
        hint = self.canvas.drag_hint
        painter.setFont(Fonts.port)
        for slot in self.inputs:
            self._paint_port(painter, slot, 0.0, hint, labels)
        for slot in self.outputs:
            self._paint_port(painter, slot, self.width, hint, labels)

    def _paint_port(self, painter: QPainter, slot: PortSlot, x: float, hint: object, labels: bool) -> None:
        colours = self.canvas.colours
        colour = colours.error if slot.missing else port_colour(slot.type)
        dim = False
        halo = False
        if (
            hint is not None
            and hint.origin is not self
            and slot.output == hint.need_output
            and not slot.missing
        ):
            ok = (
                can_connect(hint.type, slot.type)
                if hint.need_output is False
                else can_connect(slot.type, hint.type)
            )
            dim, halo = not ok, ok
        if dim:
            colour = QColor(colour)
            colour.setAlphaF(0.25)
        centre = QPointF(x, slot.y)
        if halo:
            painter.setPen(QPen(colours.selection, 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(centre, PORT_RADIUS + 4, PORT_RADIUS + 4)
        if slot.required or slot.output:
            painter.setPen(QPen(colours.node_body, 1.5))
            painter.setBrush(colour)
        else:
            painter.setPen(QPen(colour, 2.0))
            painter.setBrush(colours.node_body)
        painter.drawEllipse(centre, PORT_RADIUS, PORT_RADIUS)
        if not labels:
            return
        text_colour = colours.error if slot.missing else colours.node_text
        if dim:
            text_colour = QColor(colours.node_muted)
            text_colour.setAlphaF(0.5)
        painter.setPen(text_colour)
        if slot.output:
            rect = QRectF(self.width / 2, slot.y - ROW / 2, self.width / 2 - 12, ROW)
            align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        else:
            rect = QRectF(12, slot.y - ROW / 2, self.width - 24, ROW)
            align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(rect, align, slot.label)

    # -- interaction ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            slot = self.port_at(event.pos())
            if slot is not None and self.canvas.begin_connection(self, slot, event.scenePos()):
                self._connecting = True
                event.accept()
                return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            event.setModifiers(event.modifiers() | Qt.KeyboardModifier.ControlModifier)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._connecting:
            self.canvas.update_connection(event.scenePos())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._connecting:
            self._connecting = False
            self.canvas.finish_connection(event.scenePos())
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:  # Shift toggles, like Ctrl
            event.setModifiers(event.modifiers() | Qt.KeyboardModifier.ControlModifier)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if not self.isSelected():
            self.canvas.clearSelection()
            self.setSelected(True)
        self.canvas.node_activated.emit(self.node)
        event.accept()

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        slot = self.port_at(event.pos())
        key = (slot.name, slot.output) if slot is not None else None
        if key != self._hover_port:
            self._hover_port = key
            if slot is None:
                self._update_tooltip()
            else:
                kind = "output" if slot.output else ("input" if slot.required else "optional input")
                text = f"<b>{_html(slot.name)}</b> — {slot.type.value} {kind}"
                if slot.missing:
                    text += "<br>This node has no such port any more; the connected wire is broken."
                elif slot.description:
                    text += f"<br>{_html(slot.description)}"
                self.setToolTip(text)
            self.setCursor(Qt.CursorShape.CrossCursor if slot is not None else Qt.CursorShape.ArrowCursor)
        super().hoverMoveEvent(event)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        self._hover_port = None
        self._update_tooltip()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if self._hover_port is not None:
            self._hover_port = None
            self._update_tooltip()
            self.unsetCursor()
        super().hoverLeaveEvent(event)


_ALIGN_LEFT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
_ALIGN_RIGHT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight


class RunStripItem(QGraphicsRectItem):
    """The run strip under a node's ports: status icon, one-line preview, time. A child item
    with its own cached picture, so streamed text repaints this strip and not the whole node.
    A rect item (never drawn with its pen) so that Qt finds its bounds in C++: the scene asks
    for them on every repaint near it, and a Python `boundingRect` costs a call into Python."""

    def __init__(self, node_item: NodeItem) -> None:
        super().__init__(0, 0, MIN_WIDTH, STRIP, node_item)
        self.node_item = node_item
        self.setPen(_NO_PEN)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_geometry(self, width: float, height: float) -> None:
        self.setRect(0, 0, width, height)  # Qt repaints only when the rect changed

    def icon_rect(self) -> QRectF:
        return QRectF(2, 0, 22, self.rect().height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: object = None) -> None:
        node_item = self.node_item
        state = node_item.canvas.run_node(node_item.node)
        if state is None:
            return
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        if lod < BLOCK_LOD:  # zoomed far out, the node is a block: its bottom shows the status colour
            painter.fillRect(self.rect(), _status_colours[state.status])
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self._paint(painter, state)

    def _paint(self, painter: QPainter, state: NodeRunState) -> None:
        colours = self.node_item.canvas.colours
        status = state.status
        colour = _status_colours[status]
        rect = self.rect()
        width, height = rect.width(), rect.height()
        top = 0.0
        fill, line = _strip_colours(colours, status)
        painter.fillPath(_strip_band(width, height), fill)
        painter.setPen(line)
        painter.drawLine(QPointF(1, top), QPointF(width - 1, top))
        icon = status_icon(status, colour, colours.node_body, painter.deviceTransform().m11())
        painter.drawPixmap(QPointF(13 - ICON_SIZE / 2, top + (height - ICON_SIZE) / 2), icon)
        meta = state.meta()
        painter.setFont(Fonts.small)
        meta_width = text_width(Fonts.small_metrics, meta) + 8 if meta else 0.0
        if meta:
            painter.setPen(colours.node_muted)
            painter.drawText(
                QRectF(width - meta_width - 8, top, meta_width, height),
                _ALIGN_RIGHT,
                meta,
            )
        muted = status in _MUTED_STATUSES or state.stale
        painter.setPen(
            colours.error if status == FAILED else colours.node_muted if muted else colours.node_text
        )
        text_rect = QRectF(25, top, width - 33 - meta_width, height)
        # Streaming text is cut on the left, so what is arriving now stays in view.
        mode = Qt.TextElideMode.ElideLeft if status == RUNNING else Qt.TextElideMode.ElideRight
        text = Fonts.small_metrics.elidedText(state.preview(), mode, text_rect.width())
        if state.stale:
            font = QFont(Fonts.small)
            font.setItalic(True)
            painter.setFont(font)
        painter.drawText(text_rect, _ALIGN_LEFT, text)


class RunOutlineItem(QGraphicsRectItem):
    """The status ring around a running, paused or failed node. A child stacked behind the node,
    so a status change repaints this ring and the node's cached picture stays valid. Its rect is
    the node's grown by the ring (bounds in C++, like the strip's)."""

    RING = 2.0

    def __init__(self, node_item: NodeItem) -> None:
        super().__init__(node_item)
        self.node_item = node_item
        self._node_rect = QRectF()
        self.setPen(_NO_PEN)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        # Cached: any repaint near the ring (a strip's spinner tick) blits it instead of stroking
        # an antialiased rounded rectangle again; only a status change redraws it.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.set_rect(QRectF(0, 0, MIN_WIDTH, STRIP))

    def set_rect(self, node_rect: QRectF) -> None:
        if node_rect != self._node_rect:
            self._node_rect = QRectF(node_rect)
            grow = self.RING + 1.0
            self.setRect(node_rect.adjusted(-grow, -grow, grow, grow))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: object = None) -> None:
        state = self.node_item.canvas.run_node(self.node_item.node)
        if state is None or state.status not in _BORDER_STATUSES:
            return
        if QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform()) < BLOCK_LOD:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(_status_colours[state.status], self.RING + 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        half = (self.RING + 1.0) / 2 - 0.5
        painter.drawRoundedRect(
            self._node_rect.adjusted(-half, -half, half, half), CORNER + half, CORNER + half
        )


_bands: dict[tuple[float, float], QPainterPath] = {}
_strip_palette: dict[tuple[int, str], tuple[QColor, QPen]] = {}


def _strip_band(width: float, height: float) -> QPainterPath:
    """The strip's background: square on top, rounded at the bottom (made once per size)."""
    key = (width, height)
    path = _bands.get(key)
    if path is None:
        band = QRectF(0.5, 0.0, width - 1, height - 0.5)
        path = QPainterPath()
        path.addRoundedRect(band, CORNER - 0.5, CORNER - 0.5)
        path.addRect(QRectF(band.left(), band.top(), band.width(), band.height() / 2))
        path = path.simplified()
        if len(_bands) > 512:
            _bands.clear()
        _bands[key] = path
    return path


def _strip_colours(colours: Any, status: str) -> tuple[QColor, QPen]:
    key = (id(colours), status)
    found = _strip_palette.get(key)
    if found is None:
        colour = _status_colours[status]
        fill = mix(colours.node_body, colour, 0.24 if colours.dark else 0.12)
        found = _strip_palette[key] = (fill, QPen(mix(colours.node_border, colour, 0.35), 1.0))
    return found


_pens: dict[tuple[Any, ...], Any] = {}


def _spinner_pens(colour: QColor, ground: QColor) -> tuple[QPen, QPen]:
    """The spinner's track and arc (made once per colour: a strip repaints ~10 times a second)."""
    key = ("spinner", colour.rgba(), ground.rgba())
    found = _pens.get(key)
    if found is None:
        arc = QPen(colour, 2.2)
        arc.setCapStyle(Qt.PenCapStyle.RoundCap)
        found = _pens[key] = (QPen(mix(ground, colour, 0.3), 2.2), arc)
    return found


def _mark_pen(ground: QColor) -> QPen:
    key = ("mark", ground.rgba())
    pen = _pens.get(key)
    if pen is None:
        pen = _pens[key] = QPen(ground, 1.8)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


ICON_SIZE = 16.0  # a status icon's square, in scene units
SPINNER_FRAMES = 12  # the spinner turns once a second, in this many steps
_icons: dict[tuple[str, int, int, float, int], QPixmap] = {}


def status_icon(status: str, colour: QColor, ground: QColor, scale: float) -> QPixmap:
    """The status icon as a picture made once per look and scale (a strip repaints ~10 times a
    second while its node runs; drawing a picture is a fraction of drawing the icon)."""
    frame = int(time.monotonic() * SPINNER_FRAMES) % SPINNER_FRAMES if status == RUNNING else 0
    scale = round(max(scale, 0.05), 2)
    key = (status, colour.rgba(), ground.rgba(), scale, frame)
    icon = _icons.get(key)
    if icon is None:
        side = max(1, math.ceil(ICON_SIZE * scale))
        icon = QPixmap(side, side)
        icon.setDevicePixelRatio(side / ICON_SIZE)
        icon.fill(Qt.GlobalColor.transparent)
        painter = QPainter(icon)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        centre = QPointF(ICON_SIZE / 2, ICON_SIZE / 2)
        paint_status_icon(painter, centre, status, colour, ground, spinner_turn=frame / SPINNER_FRAMES)
        painter.end()
        if len(_icons) > 512:
            _icons.clear()
        _icons[key] = icon
    return icon


def paint_status_icon(
    painter: QPainter, centre: QPointF, status: str, colour: QColor, ground: QColor, spinner_turn: float = 0.0
) -> None:
    """A small round status icon: spinner (running), check (done), bolt (cached), cross (failed)…
    `spinner_turn` (0–1) is how far the running spinner has turned."""
    r = 6.5
    x, y = centre.x(), centre.y()
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if status == RUNNING:
        track, arc = _spinner_pens(colour, ground)
        painter.setPen(track)
        painter.drawEllipse(centre, r - 1, r - 1)
        painter.setPen(arc)
        start = int(-(spinner_turn * 360.0) % 360.0 * 16)
        painter.drawArc(QRectF(x - r + 1, y - r + 1, 2 * r - 2, 2 * r - 2), start, 100 * 16)
        return
    if status in (PENDING, SKIPPED):
        pen = QPen(colour, 1.5)
        if status == SKIPPED:
            pen.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(pen)
        painter.drawEllipse(centre, r - 1, r - 1)
        if status == SKIPPED:
            painter.drawLine(QPointF(x - 3, y), QPointF(x + 3, y))
        return
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawEllipse(centre, r, r)
    painter.setPen(_mark_pen(ground))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if status == DONE:
        painter.drawPolyline([QPointF(x - 3, y + 0.2), QPointF(x - 0.8, y + 2.5), QPointF(x + 3.2, y - 2.4)])
    elif status in (CACHED, REUSED):
        painter.setBrush(ground)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawPolygon(
            [QPointF(x + 0.8, y - 4.2), QPointF(x - 3, y + 0.8), QPointF(x - 0.2, y + 0.8),
             QPointF(x - 0.8, y + 4.2), QPointF(x + 3, y - 0.8), QPointF(x + 0.2, y - 0.8)]
        )  # fmt: skip
    elif status == FAILED:
        painter.drawLine(QPointF(x - 2.6, y - 2.6), QPointF(x + 2.6, y + 2.6))
        painter.drawLine(QPointF(x - 2.6, y + 2.6), QPointF(x + 2.6, y - 2.6))
    elif status == PAUSED:
        painter.drawLine(QPointF(x - 1.6, y - 2.8), QPointF(x - 1.6, y + 2.8))
        painter.drawLine(QPointF(x + 1.6, y - 2.8), QPointF(x + 1.6, y + 2.8))
    elif status == CANCELLED:
        painter.setBrush(ground)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRect(QRectF(x - 2.4, y - 2.4, 4.8, 4.8))
    elif status == QUEUED:
        painter.setBrush(ground)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawEllipse(centre, 1.8, 1.8)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
