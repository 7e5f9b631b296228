"""Wires: smooth curves from an output port to an input port, coloured by the data type.

While a run is shown, a wire that carried a value glows (brighter while the node it feeds is
running or paused on it), and one that will carry nothing (not produced, skipped, failed) fades.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsSceneHoverEvent,
    QStyleOptionGraphicsItem,
)

from app.core.model import Edge
from app.core.values import DataType
from app.ui.run_state import STATUS_COLOURS
from app.ui.theme import port_colour

if TYPE_CHECKING:
    from app.ui.canvas.node_item import NodeItem
    from app.ui.canvas.scene import WorkflowScene

WIRE_WIDTH = 2.2
WIRE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
#: Glow of a wire that carried a value in the run shown (and of one feeding a running node).
_CARRIED = STATUS_COLOURS["done"]
_FLOWING = STATUS_COLOURS["running"]


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal S-curve; wires going backwards loop out instead of crossing the nodes."""
    dx = end.x() - start.x()
    bend = max(50.0, abs(dx) * 0.5) if dx >= 0 else max(80.0, min(-dx * 0.5, 240.0))
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + bend, start.y()), QPointF(end.x() - bend, end.y()), end)
    return path


_HIT_PEN = QPen(Qt.GlobalColor.transparent, 10.0)  # not drawn: sets the clickable width


class WireItem(QGraphicsPathItem):
    """A QGraphicsPathItem so that bounds and hit shapes are computed in C++; only `paint` is
    Python. The item's pen is never drawn: its width makes thin wires easy to click."""

    def __init__(self, edge: Edge, source: NodeItem, target: NodeItem, canvas: WorkflowScene) -> None:
        super().__init__()
        self.edge = edge
        self.source = source
        self.target = target
        self.canvas = canvas
        self.invalid = False
        self._flow: str | None = None  # the run's look it was last painted or refreshed with
        self.setPen(_HIT_PEN)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(WIRE_CACHE)
        source.wires.append(self)
        target.wires.append(self)
        self.update_path()

    def detach(self) -> None:
        for end in (self.source, self.target):
            if self in end.wires:
                end.wires.remove(self)

    def data_type(self) -> DataType:
        slot = self.source.port(self.edge.source_port, True)
        return slot.type if slot is not None else DataType.ANY

    def update_path(self) -> None:
        start = self.source.port_scene_pos(self.edge.source_port, True)
        end = self.target.port_scene_pos(self.edge.target_port, False)
        self._colour = port_colour(self.data_type())
        self.setPath(curve(start, end))

    def refresh(self) -> None:
        self._colour = port_colour(self.data_type())
        self.update()

    def refresh_flow(self) -> None:
        """Its nodes' run state changed: repaint if what the wire shows (carried, flowing,
        blocked or nothing) changed."""
        flow = self.canvas.run_wire_state(self.edge) if self.canvas.run_view is not None else None
        if flow != self._flow:
            self._flow = flow
            self.update()

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        edge = self.edge
        self.setToolTip(f"{edge.source}.{edge.source_port} → {edge.target}.{edge.target_port}")
        super().hoverEnterEvent(event)

    def set_invalid(self, invalid: bool) -> None:
        if invalid != self.invalid:
            self.invalid = invalid
            self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: object = None) -> None:
        colours = self.canvas.colours
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        flow = self._flow = (
            self.canvas.run_wire_state(self.edge) if self.canvas.run_view is not None else None
        )
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod >= 0.4)
        if self.isSelected():
            colour, width = colours.selection, WIRE_WIDTH + 1.5
        elif self.invalid:
            colour, width = colours.error, WIRE_WIDTH
        else:
            colour, width = self._colour, WIRE_WIDTH
            if flow in ("carried", "flowing") and lod >= 0.4:
                glow = QColor(_FLOWING if flow == "flowing" else _CARRIED)
                glow.setAlphaF(0.5 if flow == "flowing" else 0.4)
                painter.setPen(QPen(glow, width + (6.0 if flow == "flowing" else 4.0)))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(self.path())
                width += 0.6
            elif flow == "blocked":
                colour = QColor(colour)
                colour.setAlphaF(0.35)
        pen = QPen(colour, width if lod >= 0.4 else 0.0)  # 0 = one device pixel when zoomed out
        if self.invalid:
            pen.setStyle(Qt.PenStyle.DashLine)
        elif flow == "blocked":
            pen.setStyle(Qt.PenStyle.DotLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())


class DragWireItem(QGraphicsPathItem):
    """The wire being dragged out of a port."""

    def __init__(self, canvas: WorkflowScene, colour: QColor) -> None:
        super().__init__()
        self.canvas = canvas
        self.colour = colour
        self.valid = True
        self.setPen(_HIT_PEN)
        self.setZValue(10.0)

    def set_ends(self, start: QPointF, end: QPointF, valid: bool) -> None:
        self.valid = valid
        self.setPath(curve(start, end))
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: object = None) -> None:
        pen = QPen(self.colour if self.valid else self.canvas.colours.error, WIRE_WIDTH)
        if not self.valid:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(pen)
        painter.drawPath(self.path())
