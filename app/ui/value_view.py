"""Viewers for the values that go in and out of nodes: text (plain or as Markdown), JSON as a
collapsible tree, each with a copy button.

Long values stay cheap: plain text is shown in a `QPlainTextEdit` (lays out only what is
visible) and cut at `MAX_SHOWN` characters (Copy still copies all of it); the JSON tree creates
rows only when a branch is opened and then `FETCH` at a time (`canFetchMore`/`fetchMore`), so
a list of a million items opens at once. Markdown is rendered only when asked for.

`ValueView(editable=True)` is the editor of a breakpoint's inputs: text is edited as text, other
values as JSON, and `edited` carries the new value (or an `invalid_edit` marker saying why it
cannot be read).
"""

from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QStackedWidget,
    QTextBrowser,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.core.events import jsonable
from app.ui.live_label import LayoutFence
from app.ui.run_bridge import invalid_edit
from app.ui.run_state import describe_value

_NO_INDEX = QModelIndex()
MAX_SHOWN = 200_000  # characters of text shown (Copy copies everything)
MAX_MARKDOWN = 100_000  # characters rendered as Markdown
FETCH = 200  # JSON tree rows created per fetch
MAX_LINES = 14  # a view grows with its content up to this many lines, then scrolls
SLOW_UPDATE_S = 0.25  # while text streams in: how often the heading and the height follow


def value_to_text(value: Any) -> str:
    """Text for copying and editing: text as it is, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return json.dumps(jsonable(value), indent=2, ensure_ascii=False)


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        text = value.replace("\n", "⏎ ")
        return json.dumps(text[:300] + ("…" if len(text) > 300 else ""), ensure_ascii=False)
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class _JsonNode:
    __slots__ = ("children", "key", "parent", "row", "value")

    def __init__(self, key: str, value: Any, parent: _JsonNode | None, row: int) -> None:
        self.key = key
        self.value = value
        self.parent = parent
        self.row = row
        self.children: list[_JsonNode] = []

    @property
    def container(self) -> bool:
        return isinstance(self.value, dict | list | tuple)

    def size(self) -> int:
        return len(self.value) if self.container else 0

    def fetch(self, count: int) -> list[_JsonNode]:
        start = len(self.children)
        value = self.value
        if isinstance(value, dict):
            keys = list(value)[start : start + count]
            new = [_JsonNode(str(k), value[k], self, start + i) for i, k in enumerate(keys)]
        else:
            new = [
                _JsonNode(f"[{start + i}]", item, self, start + i)
                for i, item in enumerate(value[start : start + count])
            ]
        self.children.extend(new)
        return new


class JsonTreeModel(QAbstractItemModel):
    """A JSON value as a two-column tree (key, value); rows are made when a branch opens."""

    def __init__(self, value: Any, parent: Any = None) -> None:
        super().__init__(parent)
        self.root = _JsonNode("", {"": value}, None, 0)
        self.root.fetch(1)
        self.top = self.root.children[0]

    def _node(self, index: QModelIndex | QPersistentModelIndex) -> _JsonNode:
        return index.internalPointer() if index.isValid() else self.root  # type: ignore[return-value]

    def index(
        self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = _NO_INDEX
    ) -> QModelIndex:
        node = self._node(parent)
        if 0 <= row < len(node.children) and 0 <= column < 2:
            return self.createIndex(row, column, node.children[row])
        return QModelIndex()

    def parent(self, index: QModelIndex | QPersistentModelIndex = _NO_INDEX) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node: _JsonNode = index.internalPointer()  # type: ignore[assignment]
        up = node.parent
        if up is None or up is self.root:
            return QModelIndex()
        return self.createIndex(up.row, 0, up)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_INDEX) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_INDEX) -> int:
        return 2

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = _NO_INDEX) -> bool:
        node = self._node(parent)
        return node is self.root or (node.container and node.size() > 0)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:
        node = self._node(parent)
        return node is not self.root and node.container and len(node.children) < node.size()

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:
        node = self._node(parent)
        start = len(node.children)
        count = min(FETCH, node.size() - start)
        if count <= 0:
            return
        self.beginInsertRows(parent, start, start + count - 1)
        node.fetch(count)
        self.endInsertRows()

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        node: _JsonNode = index.internalPointer()  # type: ignore[assignment]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return node.key if node.parent is not self.root else "value"
            if isinstance(node.value, dict):
                return f"{{…}} {len(node.value):,} key{'s' if len(node.value) != 1 else ''}"
            if isinstance(node.value, list | tuple):
                return f"[…] {len(node.value):,} item{'s' if len(node.value) != 1 else ''}"
            return _scalar_text(node.value)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1 and isinstance(node.value, str):
            return node.value[:2000]
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Key", "Value")[section]
        return None


def _tool_button(text: str, tip: str, *, checkable: bool = False) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    button.setAutoRaise(True)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


class ValueView(QFrame):
    """One value with a heading (name, type and size), view switches and a copy button."""

    edited = Signal(object)  # (editable views) the edited value, or an invalid_edit marker

    def __init__(self, title: str = "", *, editable: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("valueView")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.editable = editable
        self._value: Any = None
        self._has_value = False
        self._streaming = False
        self._text_value = True
        self._original_text = ""
        self._full_text = ""  # what Copy copies
        self._markdown_dirty = True
        self._slow_at = 0.0

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(2)
        head = QHBoxLayout()
        head.setSpacing(4)
        self.title_label = QLabel(f"<b>{_html(title)}</b>" if title else "")
        self.title_label.setObjectName("valueTitle")
        self.kind_label = QLabel()
        self.kind_label.setObjectName("valueKind")
        self.kind_label.setStyleSheet("color: palette(placeholder-text);")
        head.addWidget(self.title_label)
        # Fenced: while text streams in, "… chars · streaming…" changes a few times a second.
        head.addWidget(LayoutFence(self.kind_label), 1)
        self.markdown_button = _tool_button("Markdown", "Show the text rendered as Markdown", checkable=True)
        self.markdown_button.setObjectName("markdownButton")
        self.markdown_button.toggled.connect(self._show_mode)
        self.raw_button = _tool_button(
            "JSON text", "Show the value as JSON text instead of a tree", checkable=True
        )
        self.raw_button.setObjectName("rawButton")
        self.raw_button.toggled.connect(self._show_mode)
        self.reset_button = _tool_button("Reset", "Put back the value the run resolved")
        self.reset_button.setObjectName("resetButton")
        self.reset_button.clicked.connect(self.reset)
        self.copy_button = _tool_button("Copy", "Copy the whole value to the clipboard")
        self.copy_button.setObjectName("copyButton")
        self.copy_button.clicked.connect(self.copy)
        for button in (self.markdown_button, self.raw_button, self.reset_button, self.copy_button):
            head.addWidget(button)
        layout.addLayout(head)

        self.stack = QStackedWidget()
        self.text = QPlainTextEdit()
        self.text.setObjectName("valueText")
        self.text.setReadOnly(not editable)
        self.text.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.text.setFrameShape(QFrame.Shape.NoFrame)
        if editable:
            self.text.textChanged.connect(self._text_edited)
        self._markdown: QTextBrowser | None = None  # made when first needed
        self._tree: QTreeView | None = None
        self.note = QLabel()
        self.note.setObjectName("valueNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.note.hide()
        self.stack.addWidget(self.text)
        layout.addWidget(self.stack)
        layout.addWidget(self.note)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._update_buttons()

    @property
    def markdown(self) -> QTextBrowser:
        if self._markdown is None:
            self._markdown = QTextBrowser()
            self._markdown.setObjectName("valueMarkdown")
            self._markdown.setOpenExternalLinks(True)
            self._markdown.setFrameShape(QFrame.Shape.NoFrame)
            self._markdown.setFixedHeight(
                int(max(self.text.maximumHeight(), 6 * self.text.fontMetrics().lineSpacing()))
            )
            self.stack.addWidget(self._markdown)
        return self._markdown

    @property
    def tree(self) -> QTreeView:
        if self._tree is None:
            self._tree = QTreeView()
            self._tree.setObjectName("valueTree")
            self._tree.setUniformRowHeights(True)
            self._tree.setAlternatingRowColors(True)
            self._tree.setFrameShape(QFrame.Shape.NoFrame)
            self._tree.header().setStretchLastSection(True)
            self._tree.setFixedHeight(int(9 * (self.text.fontMetrics().lineSpacing() + 6) + 24))
            self.stack.addWidget(self._tree)
        return self._tree

    def set_title(self, title: str) -> None:
        self.title_label.setText(f"<b>{_html(title)}</b>" if title else "")

    # -- values -----------------------------------------------------------------------------
    def set_value(self, value: Any, *, streaming: bool = False) -> None:
        self._value = value
        self._has_value = True
        self._streaming = streaming
        self._text_value = isinstance(value, str) or self.editable
        text = value_to_text(value)
        self._full_text = text
        self._original_text = text
        note = " · streaming…" if streaming else " · editable" if self.editable else ""
        self.kind_label.setText(describe_value(value) + note)
        self._markdown_dirty = True
        if isinstance(value, dict | list | tuple) and not self.editable:
            self.tree.setModel(JsonTreeModel(value, self.tree))
            top = self.tree.model().index(0, 0)
            self.tree.expand(top)
            self.tree.resizeColumnToContents(0)
        self._set_plain(text)
        self._show_mode()
        self._update_buttons()

    def set_streaming_text(self, text: str) -> None:
        """Streamed text so far: only what is new is appended (the view keeps its scroll)."""
        if not self._has_value or not self._streaming or not text.startswith(self._full_text):
            self.set_value(text, streaming=True)
            return
        more = text[len(self._full_text) :]
        if not more:
            return
        self._full_text = text
        self._value = text
        self._markdown_dirty = True
        now = time.monotonic()
        slow = now - self._slow_at >= SLOW_UPDATE_S
        if slow:  # the heading and the height follow a few times a second, not every chunk
            self._slow_at = now
            self.kind_label.setText(describe_value(text) + " · streaming…")
        if len(text) - len(more) >= MAX_SHOWN:
            return
        room = MAX_SHOWN - (len(text) - len(more))
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(more[:room])
        if at_end:
            bar.setValue(bar.maximum())
        if len(more) > room:
            self._cut_note(len(text))
        if slow and self.text.height() < self._max_text_height():
            self._fit_height()
        if slow and self.markdown_button.isChecked():
            self._render_markdown()

    def finish_streaming(self) -> None:
        if self._streaming:
            self._streaming = False
            self.kind_label.setText(describe_value(self._value))
            self._fit_height()

    def _max_text_height(self) -> int:
        document = self.text.document()
        return int(
            MAX_LINES * self.text.fontMetrics().lineSpacing()
            + 2 * (self.text.frameWidth() + document.documentMargin())
            + 2
        )

    def value(self) -> Any:
        """The shown (for editable views: the edited) value."""
        if not self.editable:
            return self._value
        return self._read_edit()

    def is_edited(self) -> bool:
        return self.editable and self.text.toPlainText() != self._original_text

    def reset(self) -> None:
        if self.editable:
            self.text.setPlainText(self._original_text)

    def copy_text(self) -> str:
        return self.text.toPlainText() if self.editable else self._full_text

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.copy_text())

    # -- inside ---------------------------------------------------------------------------------
    def _read_edit(self) -> Any:
        text = self.text.toPlainText()
        if isinstance(self._value, str):
            return text
        try:
            return json.loads(text)
        except ValueError as exc:
            return invalid_edit(text, f"line {getattr(exc, 'lineno', '?')}: {getattr(exc, 'msg', exc)}")

    def _text_edited(self) -> None:
        edited = self.is_edited()
        self.reset_button.setEnabled(edited)
        self.kind_label.setText(describe_value(self._value) + (" · edited" if edited else " · editable"))
        self.edited.emit(self._read_edit())

    def _set_plain(self, text: str) -> None:
        blocker = self.text.blockSignals(True)
        try:
            if len(text) > MAX_SHOWN and not self.editable:
                self.text.setPlainText(text[:MAX_SHOWN])
                self._cut_note(len(text))
            else:
                self.text.setPlainText(text)
                self.note.hide()
        finally:
            self.text.blockSignals(blocker)
        self._fit_height()

    def _cut_note(self, total: int) -> None:
        self.note.setText(
            f"Showing the first {MAX_SHOWN:,} of {total:,} characters; Copy copies all of them."
        )
        self.note.show()

    def _fit_height(self) -> None:
        """Grow with the content (wrapped at the current width) up to MAX_LINES, then scroll."""
        metrics = self.text.fontMetrics()
        margins = self.layout().contentsMargins()
        document = self.text.document()
        width = self.contentsRect().width() - margins.left() - margins.right()
        width -= int(2 * self.text.frameWidth() + 2 * document.documentMargin() + 4)
        width = max(80, width)
        lines = 0
        for block in _first_blocks(document, MAX_LINES):
            advance = metrics.horizontalAdvance(block[:4000]) * 1.08 if block else 0
            lines += max(1, -int(-advance // width))
            if lines >= MAX_LINES:
                break
        lines = max(1, min(MAX_LINES, lines))
        height = lines * metrics.lineSpacing() + 2 * (self.text.frameWidth() + document.documentMargin()) + 2
        self.text.setFixedHeight(int(height))
        if self._markdown is not None:
            self._markdown.setFixedHeight(int(max(height, 6 * metrics.lineSpacing())))
        self.stack.setFixedHeight(self.stack.currentWidget().maximumHeight())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self._fit_height()

    def _show_mode(self) -> None:
        is_tree_value = isinstance(self._value, dict | list | tuple) and not self.editable
        if is_tree_value and not self.raw_button.isChecked():
            self.stack.setCurrentWidget(self.tree)
        elif self._text_value and self.markdown_button.isChecked() and not self.editable:
            self._render_markdown()
            self.stack.setCurrentWidget(self.markdown)
        else:
            self.stack.setCurrentWidget(self.text)
        self.stack.setFixedHeight(self.stack.currentWidget().maximumHeight())

    def _render_markdown(self) -> None:
        if not self._markdown_dirty:
            return
        self._markdown_dirty = False
        text = self._full_text
        if len(text) > MAX_MARKDOWN:
            self.markdown.setPlainText(
                text[:MAX_MARKDOWN] + "\n\n(too long to preview as Markdown: showing the text)"
            )
        else:
            self.markdown.setMarkdown(text)

    def _update_buttons(self) -> None:
        is_tree_value = isinstance(self._value, dict | list | tuple) and not self.editable
        self.markdown_button.setVisible(
            self._has_value and isinstance(self._value, str) and not self.editable
        )
        self.raw_button.setVisible(is_tree_value)
        self.reset_button.setVisible(self.editable)
        self.reset_button.setEnabled(self.is_edited())
        self.copy_button.setEnabled(self._has_value)


def _first_blocks(document: Any, count: int) -> list[str]:
    blocks = []
    block = document.begin()
    while block.isValid() and len(blocks) < count:
        blocks.append(block.text())
        block = block.next()
    return blocks


def monospace_text(widget: QPlainTextEdit) -> None:
    widget.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
