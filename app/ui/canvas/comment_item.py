"""Sticky notes: free text on the canvas, stored in the workflow file's "ui" section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFocusEvent, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneMouseEvent,
    QGraphicsTextItem,
    QStyleOptionGraphicsItem,
)

if TYPE_CHECKING:
    from app.ui.canvas.scene import WorkflowScene

MIN_SIZE = (80.0, 40.0)
HANDLE = 14.0
PAD = 8.0


def _size(comment: dict[str, Any]) -> tuple[float, float]:
    size = comment.get("size")
    if isinstance(size, list) and len(size) == 2 and all(isinstance(v, int | float) for v in size):
        return max(MIN_SIZE[0], float(size[0])), max(MIN_SIZE[1], float(size[1]))
    return 240.0, 120.0


def _position(comment: dict[str, Any]) -> tuple[float, float]:
    pos = comment.get("position")
    if isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, int | float) for v in pos):
        return float(pos[0]), float(pos[1])
    return 0.0, 0.0


class _NoteText(QGraphicsTextItem):
    def __init__(self, owner: CommentItem) -> None:
        super().__init__(owner)
        self.owner = owner

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.owner.finish_editing()


class CommentItem(QGraphicsItem):
    def __init__(self, comment: dict[str, Any], canvas: WorkflowScene) -> None:
        super().__init__()
        self.comment = comment
        self.canvas = canvas
        self._resizing: tuple[QPointF, tuple[float, float]] | None = None
        self.width, self.height = _size(comment)
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
        )
        self.setZValue(-1.0)
        self.text_item = _NoteText(self)
        font = QFont()
        font.setPixelSize(13)
        self.text_item.setFont(font)
        self.text_item.setPos(PAD, PAD)
        self.text_item.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.refresh()

    def refresh(self) -> None:
        """Take text, size and position from the comment dict."""
        self.prepareGeometryChange()
        self.width, self.height = _size(self.comment)
        text = str(self.comment.get("text", ""))
        if self.text_item.toPlainText() != text:
            self.text_item.setPlainText(text)
        self.text_item.setTextWidth(self.width - 2 * PAD)
        self.text_item.setDefaultTextColor(self.canvas.colours.comment_text)
        x, y = _position(self.comment)
        if self.pos() != QPointF(x, y):
            self.setPos(x, y)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-1, -1, self.width + 2, self.height + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: object = None) -> None:
        colours = self.canvas.colours
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        selected = self.isSelected()
        painter.setPen(
            QPen(colours.selection if selected else colours.comment_border, 2.0 if selected else 1.0)
        )
        painter.setBrush(colours.comment_fill)
        painter.drawRoundedRect(QRectF(0, 0, self.width, self.height), 4, 4)
        if not self.comment.get("text") and not self.editing:
            painter.setPen(colours.comment_border)
            painter.drawText(
                QRectF(PAD, PAD, self.width - 2 * PAD, self.height - 2 * PAD),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                "Double-click to write a note",
            )
        handle = QPolygonF(
            [
                QPointF(self.width - 2, self.height - HANDLE),
                QPointF(self.width - 2, self.height - 2),
                QPointF(self.width - HANDLE, self.height - 2),
            ]
        )
        path = QPainterPath()
        path.addPolygon(handle)
        painter.fillPath(path, colours.comment_border)

    @property
    def editing(self) -> bool:
        return bool(self.text_item.textInteractionFlags() & Qt.TextInteractionFlag.TextEditorInteraction)

    def start_editing(self) -> None:
        self.text_item.setTextInteractionFlags(Qt.TextInteractionFlag.TextEditorInteraction)
        self.text_item.setFocus(Qt.FocusReason.MouseFocusReason)
        cursor = self.text_item.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.text_item.setTextCursor(cursor)
        self.update()

    def finish_editing(self) -> None:
        if not self.editing:
            return
        self.text_item.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        text = self.text_item.toPlainText()
        if text != self.comment.get("text", ""):
            self.canvas.editor.update_comment(self.comment, text=text)
        self.update()

    def _in_handle(self, pos: QPointF) -> bool:
        return pos.x() >= self.width - HANDLE - 2 and pos.y() >= self.height - HANDLE - 2

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._in_handle(event.pos()):
            self._resizing = (event.scenePos(), (self.width, self.height))
            event.accept()
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            event.setModifiers(event.modifiers() | Qt.KeyboardModifier.ControlModifier)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resizing is not None:
            start, (w, h) = self._resizing
            delta = event.scenePos() - start
            self.prepareGeometryChange()
            self.width = max(MIN_SIZE[0], w + delta.x())
            self.height = max(MIN_SIZE[1], h + delta.y())
            self.text_item.setTextWidth(self.width - 2 * PAD)
            self.update()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._resizing is not None:
            self._resizing = None
            size = [round(self.width), round(self.height)]
            if size != self.comment.get("size"):
                self.canvas.editor.update_comment(self.comment, size=size)
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            event.setModifiers(event.modifiers() | Qt.KeyboardModifier.ControlModifier)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.start_editing()
        event.accept()
