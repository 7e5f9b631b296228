"""The overview map in the canvas corner: the whole workflow in miniature, the visible area as a
frame; click or drag in it to move there.

The miniature is rendered into a pixmap only after the scene has stopped changing for a moment;
panning repaints just the pixmap and the frame, whatever the size of the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QWidget

from app.ui.theme import mix

if TYPE_CHECKING:
    from app.ui.canvas.scene import WorkflowScene
    from app.ui.canvas.view import CanvasView

RENDER_DELAY_MS = 250


class Minimap(QWidget):
    """Shown in a dock beside the canvas (not over it)."""

    def __init__(self, view: CanvasView) -> None:
        super().__init__()
        self.setObjectName("minimap")
        self.view = view
        self._scene: WorkflowScene | None = None
        self._pixmap = QPixmap()
        self._world = QRectF()  # the scene area the pixmap shows
        self._scale = 1.0
        self._offset = QPointF()
        self._content = QRectF()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RENDER_DELAY_MS)
        self._timer.timeout.connect(self.render_now)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        view.view_moved.connect(self._view_moved)

    def _view_moved(self) -> None:
        if self.isVisible():
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, 140)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 80)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.schedule_render()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.schedule_render()

    def set_scene(self, scene: WorkflowScene | None) -> None:
        """Follow the document (not QGraphicsScene.changed: that fires on every repaint and makes
        the scene track every updated rectangle)."""
        if self._scene is not None and self._scene.doc is not None:
            self._scene.doc.changed.disconnect(self.schedule_render)
            self._scene.doc.reset.disconnect(self.schedule_render)
        self._scene = scene
        if scene is not None and scene.doc is not None:
            scene.doc.changed.connect(self.schedule_render)
            scene.doc.reset.connect(self.schedule_render)
        self.schedule_render()

    def schedule_render(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def render_now(self) -> None:
        """Draw every node as a small block in its category colour."""
        if not self.isVisible():
            return

        scene = self._scene
        size = self.size()
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(round(size.width() * ratio), round(size.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        if scene is None:
            self._pixmap = QPixmap()
            self.update()
            return
        colours = scene.colours
        pixmap.fill(Qt.GlobalColor.transparent)
        items = [item for item in scene.node_items()]
        world = QRectF()
        for item in items:
            world = world.united(item.sceneBoundingRect())
        self._content = QRectF(world)
        if world.isNull():
            world = QRectF(-200, -150, 400, 300)
        world = world.adjusted(-60, -60, 60, 60)
        inner = QRectF(4, 4, size.width() - 8, size.height() - 8)
        scale = min(inner.width() / world.width(), inner.height() / world.height())
        offset = QPointF(
            inner.left() + (inner.width() - world.width() * scale) / 2 - world.left() * scale,
            inner.top() + (inner.height() - world.height() * scale) / 2 - world.top() * scale,
        )
        painter = QPainter(pixmap)
        by_colour: dict[int, tuple[QColor, list[QRectF]]] = {}
        for item in items:
            rect = item.sceneBoundingRect()
            mapped = QRectF(
                rect.left() * scale + offset.x(),
                rect.top() * scale + offset.y(),
                max(rect.width() * scale, 1.5),
                max(rect.height() * scale, 1.5),
            )
            colour = mix(colours.node_body, item.accent, 0.7)
            entry = by_colour.setdefault(colour.rgba(), (colour, []))
            entry[1].append(mapped)
        painter.setPen(Qt.PenStyle.NoPen)
        for colour, rects in by_colour.values():
            painter.setBrush(colour)
            painter.drawRects(rects)
        painter.end()
        self._pixmap, self._world, self._scale, self._offset = pixmap, world, scale, offset
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        scene = self._scene
        painter = QPainter(self)
        if scene is None:
            painter.fillRect(self.rect(), self.palette().window())
            return
        colours = scene.colours
        painter.fillRect(self.rect(), colours.background)
        if not self._pixmap.isNull():
            painter.drawPixmap(0, 0, self._pixmap)
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        mapped = QRectF(
            visible.left() * self._scale + self._offset.x(),
            visible.top() * self._scale + self._offset.y(),
            visible.width() * self._scale,
            visible.height() * self._scale,
        ).intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        highlight = QColor(colours.selection)
        painter.setPen(QPen(highlight, 1.5))
        highlight.setAlpha(40)
        painter.setBrush(highlight)
        painter.drawRect(mapped)

    def _move_view(self, pos: QPointF) -> None:
        if self._scale <= 0:
            return
        target = QPointF(
            (pos.x() - self._offset.x()) / self._scale, (pos.y() - self._offset.y()) / self._scale
        )
        self.view.centerOn(target)
        self.view.user_moved = True

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._move_view(event.position())
            event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._move_view(event.position())
            event.accept()
