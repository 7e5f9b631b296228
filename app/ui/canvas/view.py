"""The canvas view: zoom to the cursor, pan (middle-drag, space-drag), fit, drops from the palette,
Tab / double-click for quick add, and the overview map in the corner."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmapCache,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from app.ui.canvas.minimap import Minimap
from app.ui.canvas.node_item import NodeItem
from app.ui.canvas.scene import GRID, WorkflowScene

NODE_TYPE_MIME = "application/x-chainwright-node-type"
MIN_ZOOM, MAX_ZOOM = 0.05, 3.0
WORLD = 1_000_000.0
PIXMAP_CACHE_KB = 96 * 1024


class CanvasView(QGraphicsView):
    node_type_dropped = Signal(str, QPointF)  # type id, scene position
    quick_add_requested = Signal(QPointF)  # scene position
    zoom_changed = Signal(float)
    view_moved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasView")
        # Node and wire pictures are cached per item (DeviceCoordinateCache); Qt's default 10 MB
        # pixmap cache is too small for a screenful of nodes on a HiDPI display.
        if QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
            QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        # The grid is drawn once per zoom into a viewport-sized pixmap (Qt drops it when the view
        # is transformed, shifts it when it scrolls): a strip repainting 10 times a second while it
        # streams then blits the grid behind it instead of building its lines in Python.
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setOptimizationFlags(
            QGraphicsView.OptimizationFlag.DontSavePainterState
            | QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing
        )
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSceneRect(QRectF(-WORLD, -WORLD, 2 * WORLD, 2 * WORLD))
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_anchor: QPoint | None = None
        self._space_held = False
        self.user_moved = False  # the person zoomed or panned since the view state was restored
        # The overview lives outside the viewport (in a dock): a widget overlapping the viewport
        # would stop Qt from scrolling it by blitting, and every pan frame would repaint it all.
        self.minimap = Minimap(self)

    # -- scene ---------------------------------------------------------------------------------
    def canvas(self) -> WorkflowScene | None:
        scene = self.scene()
        return scene if isinstance(scene, WorkflowScene) else None

    def setScene(self, scene: WorkflowScene | None) -> None:  # type: ignore[override]
        super().setScene(scene)
        self.resetCachedContent()  # the cached grid has the old scene's colours
        self.minimap.set_scene(scene)

    # -- zoom -------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float, anchor: QPointF | None = None) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        centre = anchor if anchor is not None else self.view_centre()
        self.resetTransform()
        self.scale(factor, factor)
        self.centerOn(centre)
        self.zoom_changed.emit(self.zoom())
        self.view_moved.emit()

    def zoom_by(self, factor: float, viewport_pos: QPoint | None = None) -> None:
        """Zoom keeping the scene point under `viewport_pos` (default: the centre) in place."""
        current = self.zoom()
        target = max(MIN_ZOOM, min(MAX_ZOOM, current * factor))
        if abs(target - current) < 1e-9:
            return
        anchor = viewport_pos if viewport_pos is not None else self.viewport().rect().center()
        fixed = self.mapToScene(anchor)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        step = target / current
        self.scale(step, step)
        moved = self.mapFromScene(fixed) - anchor
        self.pan_by(moved.x(), moved.y())
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.user_moved = True
        self.zoom_changed.emit(self.zoom())
        self.view_moved.emit()

    def view_centre(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    def fit_rect(self, rect: QRectF, max_zoom: float = 1.0) -> None:
        if rect.isNull() or not rect.isValid():
            self.set_zoom(1.0, QPointF(0, 0))
            return
        margin = 40.0
        area = self.viewport().rect()
        sx = (area.width() - 2 * margin) / max(rect.width(), 1.0)
        sy = (area.height() - 2 * margin) / max(rect.height(), 1.0)
        factor = max(MIN_ZOOM, min(max_zoom, sx, sy))
        self.resetTransform()
        self.scale(factor, factor)
        self.centerOn(rect.center())
        self.user_moved = True
        self.zoom_changed.emit(self.zoom())
        self.view_moved.emit()

    def fit_to_view(self) -> None:
        canvas = self.canvas()
        if canvas is not None:
            self.fit_rect(canvas.content_rect())

    def show_opening_view(self, readable_zoom: float = 0.8) -> None:
        """The view a workflow opens with: all of it if that stays readable, otherwise its start
        (top left) at a readable zoom — the overview map shows the rest."""
        canvas = self.canvas()
        if canvas is None:
            return
        rect = canvas.content_rect()
        self.fit_rect(rect)
        if rect.isNull() or self.zoom() >= readable_zoom - 1e-9:
            return
        self.resetTransform()
        self.scale(readable_zoom, readable_zoom)
        area = self.viewport().rect()
        margin = 40.0 / readable_zoom
        half_w = area.width() / 2 / readable_zoom
        half_h = area.height() / 2 / readable_zoom
        x = rect.left() - margin + half_w
        y = rect.center().y() if rect.height() + 2 * margin <= 2 * half_h else rect.top() - margin + half_h
        self.centerOn(QPointF(x, y))
        self.zoom_changed.emit(self.zoom())
        self.view_moved.emit()

    def zoom_to_selection(self) -> None:
        canvas = self.canvas()
        if canvas is None:
            return
        rect = QRectF()
        for item in canvas.selectedItems():
            rect = rect.united(item.sceneBoundingRect())
        if rect.isNull():
            self.fit_to_view()
        else:
            self.fit_rect(rect, max_zoom=1.5)

    def center_on_item(self, item: NodeItem) -> None:
        self.centerOn(item.sceneBoundingRect().center())
        self.user_moved = True
        self.view_moved.emit()

    def pan_by(self, dx: int, dy: int) -> None:
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + dx)
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + dy)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self._is_empty():
            self.viewport().update()  # the hint stays in the middle
        self.view_moved.emit()

    def _is_empty(self) -> bool:
        canvas = self.canvas()
        return (
            canvas is not None
            and canvas.doc is not None
            and not canvas.doc.nodes
            and not canvas.doc.comments()
        )

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """On an empty canvas, say how to start."""
        if not self._is_empty():
            return
        canvas = self.canvas()
        assert canvas is not None
        painter.save()
        painter.resetTransform()
        area = QRectF(self.viewport().rect())
        font = painter.font()
        font.setPixelSize(16)
        painter.setFont(font)
        painter.setPen(canvas.colours.node_muted)
        painter.drawText(
            area,
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            "This workflow is empty.\n\nDrag a node from the Nodes list on the left,\n"
            "or press Tab (or double-click here) to search for one.",
        )
        painter.restore()

    # -- events -----------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and delta != 0:
            self.pan_by(-delta, 0) if event.angleDelta().y() else self.pan_by(0, -delta)
            event.accept()
            return
        if delta == 0:
            pixels = event.pixelDelta()
            self.pan_by(-pixels.x(), -pixels.y())
            event.accept()
            return
        self.zoom_by(1.0015**delta, event.position().toPoint())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        panning = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held
        )
        if panning:
            self._pan_anchor = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_anchor is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_anchor
            self._pan_anchor = pos
            self.pan_by(-delta.x(), -delta.y())
            self.user_moved = True
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_anchor is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_anchor = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.itemAt(event.position().toPoint()) is None:
            self.quick_add_requested.emit(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        canvas = self.canvas()
        editing_text = canvas is not None and canvas.focusItem() is not None
        if not editing_text:
            if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
                self._space_held = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
                event.accept()
                return
            if event.key() == Qt.Key.Key_Tab and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                self.quick_add_requested.emit(self.cursor_scene_pos())
                event.accept()
                return
            arrows = {
                Qt.Key.Key_Left: (-1, 0),
                Qt.Key.Key_Right: (1, 0),
                Qt.Key.Key_Up: (0, -1),
                Qt.Key.Key_Down: (0, 1),
            }
            if event.key() in arrows and canvas is not None and canvas.selectedItems():
                step = GRID if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1.0
                dx, dy = arrows[event.key()]
                canvas.editor.nudge_selection(dx * step, dy * step)
                event.accept()
                return
            if event.key() == Qt.Key.Key_Escape and canvas is not None:
                canvas.cancel_connection()
                canvas.clearSelection()
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self._space_held:
            self._space_held = False
            if self._pan_anchor is None:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab opens quick add instead of moving the focus

    def cursor_scene_pos(self) -> QPointF:
        local = self.viewport().mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(local):
            return self.view_centre()
        return self.mapToScene(local)

    # -- drops from the palette -----------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
            return
        super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            event.acceptProposedAction()
            return
        super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        data = event.mimeData()
        if data.hasFormat(NODE_TYPE_MIME):
            type_id = bytes(data.data(NODE_TYPE_MIME).data()).decode("utf-8")
            self.node_type_dropped.emit(type_id, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
            return
        super().dropEvent(event)

    # -- background grid ----------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        canvas = self.canvas()
        if canvas is None:
            super().drawBackground(painter, rect)
            return
        colours = canvas.colours
        painter.fillRect(rect, colours.background)
        zoom = self.zoom()
        step = GRID
        while step * zoom < 12:
            step *= 5
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        minor_lines: list[QLineF] = []
        major_lines: list[QLineF] = []
        first, last = int(rect.left() // step), int(rect.right() // step) + 1
        for index in range(first, last + 1):
            x = index * step
            (major_lines if index % 5 == 0 else minor_lines).append(QLineF(x, rect.top(), x, rect.bottom()))
        first, last = int(rect.top() // step), int(rect.bottom() // step) + 1
        for index in range(first, last + 1):
            y = index * step
            (major_lines if index % 5 == 0 else minor_lines).append(QLineF(rect.left(), y, rect.right(), y))
        painter.setPen(QPen(colours.grid_minor, 0))
        painter.drawLines(minor_lines)
        painter.setPen(QPen(colours.grid_major, 0))
        painter.drawLines(major_lines)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.view_moved.emit()
