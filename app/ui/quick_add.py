"""Quick add (Tab, or double-click the canvas): a fuzzy search over the catalogue that adds the chosen
node at the cursor. The same popup finds nodes in the workflow (Edit ▸ Find)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.fuzzy import Entry, search
from app.ui.theme import category_colour

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 2
MAX_RESULTS = 60


class _TwoLineDelegate(QStyledItemDelegate):
    """Title in bold, then 'Category · description' in a muted colour."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        line = option.fontMetrics.lineSpacing()
        return QSize(option.rect.width(), line * 2 + 10)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        entry: Entry = index.data(ENTRY_ROLE)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        text_colour = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        )
        rect = option.rect.adjusted(26, 4, -8, -4)
        line = option.fontMetrics.lineSpacing()
        painter.save()
        dot = QRect(option.rect.left() + 9, option.rect.top() + 6 + (line - 10) // 2, 10, 10)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(category_colour(entry.category))
        painter.drawRoundedRect(dot, 3, 3)
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text_colour)
        top = QRect(rect.left(), rect.top(), rect.width(), line)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, entry.title)
        painter.setFont(option.font)
        painter.setPen(muted)
        sub = " · ".join(part for part in (entry.category, entry.description) if part)
        sub = option.fontMetrics.elidedText(sub, Qt.TextElideMode.ElideRight, rect.width())
        bottom = QRect(rect.left(), rect.top() + line + 2, rect.width(), line)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, sub)
        painter.restore()


class QuickAddPopup(QFrame):
    """An overlay inside the canvas view. `chosen(entry)` fires on Enter or click."""

    chosen = Signal(object)
    closed = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("quickAdd")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Window)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.heading = QLabel()
        self.heading.setObjectName("quickAddHeading")
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.edit = QLineEdit()
        self.edit.setObjectName("quickAddSearch")
        self.edit.setClearButtonEnabled(True)
        self.edit.textChanged.connect(self._refilter)
        self.edit.installEventFilter(self)
        layout.addWidget(self.edit)
        self.results = QListWidget()
        self.results.setObjectName("quickAddResults")
        self.results.setItemDelegate(_TwoLineDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.itemActivated.connect(self._choose_item)
        self.results.itemClicked.connect(self._choose_item)
        self.results.installEventFilter(self)
        layout.addWidget(self.results, 1)
        self.empty = QLabel("Nothing matches.")
        self.empty.setObjectName("quickAddEmpty")
        layout.addWidget(self.empty)
        self.empty.hide()
        self.entries: list[Entry] = []
        self.hide()

    def open(
        self, at: QPoint, entries: list[Entry], heading: str = "", placeholder: str = "Search nodes…"
    ) -> None:
        self.entries = entries
        self.heading.setText(heading)
        self.heading.setVisible(bool(heading))
        self.edit.setPlaceholderText(placeholder)
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self._refilter("")
        parent = self.parentWidget()
        width = max(320, self.fontMetrics().averageCharWidth() * 44)
        height = min(420, max(220, parent.height() - 20)) if parent is not None else 420
        x, y = at.x(), at.y()
        if parent is not None:
            x = max(8, min(x, parent.width() - width - 8))
            y = max(8, min(y, parent.height() - height - 8))
        self.setGeometry(x, y, width, height)
        self.show()
        self.raise_()
        self.edit.setFocus(Qt.FocusReason.PopupFocusReason)

    def close_popup(self) -> None:
        if self.isVisible():
            self.hide()
            self.closed.emit()

    def _refilter(self, text: str) -> None:
        self.results.clear()
        for entry in search(text, self.entries, limit=MAX_RESULTS):
            item = QListWidgetItem(entry.title)
            item.setData(ENTRY_ROLE, entry)
            item.setToolTip(entry.description)
            self.results.addItem(item)
        has = self.results.count() > 0
        self.empty.setVisible(not has)
        if has:
            self.results.setCurrentRow(0)

    def choose_current(self) -> None:
        item = self.results.currentItem()
        if item is not None:
            self._choose_item(item)

    def _choose_item(self, item: QListWidgetItem) -> None:
        entry = item.data(ENTRY_ROLE)
        self.hide()
        self.closed.emit()
        self.chosen.emit(entry)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key == Qt.Key.Key_Escape:
                self.close_popup()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose_current()
                return True
            if watched is self.edit and key in (
                Qt.Key.Key_Down,
                Qt.Key.Key_Up,
                Qt.Key.Key_PageDown,
                Qt.Key.Key_PageUp,
            ):
                row = self.results.currentRow()
                step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 8, Qt.Key.Key_PageUp: -8}[
                    key
                ]
                self.results.setCurrentRow(max(0, min(self.results.count() - 1, row + step)))
                return True
            if key == Qt.Key.Key_Tab:
                return True
        if event.type() == QEvent.Type.FocusOut:
            QTimer.singleShot(0, self._close_if_focus_left)
        return super().eventFilter(watched, event)

    def _close_if_focus_left(self) -> None:
        focus = QApplication.focusWidget()
        if self.isVisible() and (focus is None or not self.isAncestorOf(focus)):
            self.close_popup()
