"""The node palette: the catalogue by category, with search; drag a node type onto the canvas
(or double-click it) to add it.

Start-up: the main window creates the palette empty (it is on screen at the first paint) and fills
it with `set_entries` once the registry is discovered, after that paint; nothing here imports the
engine (pydantic, the node modules) at module level.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.theme import category_colour

if TYPE_CHECKING:
    from app.core.registry import Registry
    from app.ui.fuzzy import Entry

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1
#: Each registry's catalogue, built once (every type's `describe()` builds its JSON schema): with
#: the type ids it was built from, so a type registered later rebuilds it.
_catalogues: weakref.WeakKeyDictionary[Registry, tuple[tuple[str, ...], list[Entry]]] = (
    weakref.WeakKeyDictionary()
)


def _node_type_mime() -> str:
    from app.ui.canvas.view import NODE_TYPE_MIME  # the canvas imports the engine: only when dragging

    return NODE_TYPE_MIME


def dot_icon(colour: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(size * 2, size * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


def catalogue_entries(registry: Registry) -> list[Entry]:
    """Every node type as a palette / quick-add entry (built once per registry and its types)."""
    from app.ui.fuzzy import Entry

    type_ids = tuple(registry.type_ids())
    cached = _catalogues.get(registry)
    if cached is not None and cached[0] == type_ids:
        return list(cached[1])
    entries = []
    for node_type in registry:
        described = node_type.describe()
        entries.append(
            Entry(
                key=node_type.type_id,
                title=node_type.title,
                category=node_type.category,
                description=node_type.description,
                extra=node_type.type_id,
                payload=described,
            )
        )
    _catalogues[registry] = (type_ids, entries)
    return list(entries)


def ports_summary(described: dict[str, Any]) -> str:
    ins = ", ".join(f"{p['name']} ({p['type']})" for p in described["inputs"]) or "none"
    outs = ", ".join(f"{p['name']} ({p['type']})" for p in described["outputs"]) or "none"
    text = f"Inputs: {ins}\nOutputs: {outs}"
    if described.get("dynamic_ports"):
        text += f"\nInputs come from its settings: {described['dynamic_ports']}"
    return text


class _Tree(QTreeWidget):
    def mimeTypes(self) -> list[str]:
        return [_node_type_mime()]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        type_ids = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        if type_ids:
            data.setData(_node_type_mime(), type_ids[0].encode("utf-8"))
            data.setText(type_ids[0])
        return data


class NodePalette(QWidget):
    """Emits `activated(type_id)` on double-click / Enter; dragging carries NODE_TYPE_MIME.

    `NodePalette(registry)` lists the registry's types; `NodePalette()` starts empty until
    `set_entries` (the main window fills it after its first paint)."""

    activated = Signal(str)

    def __init__(
        self,
        registry: Registry | None = None,
        parent: QWidget | None = None,
        *,
        entries: list[Entry] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("nodePalette")
        self.registry = registry
        if entries is None:
            entries = catalogue_entries(registry) if registry is not None else []
        self.entries = entries
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        self.search = QLineEdit()
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._activate_first)
        layout.addWidget(self.search)
        self.tree = _Tree()
        self.tree.setObjectName("paletteTree")
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(14)
        self.tree.setIconSize(QSize(12, 12))
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.itemActivated.connect(self._on_activated)
        self.tree.currentItemChanged.connect(self._show_info)
        layout.addWidget(self.tree, 1)
        self.info = QLabel()
        self.info.setObjectName("paletteInfo")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        self.info.setMinimumHeight(self.fontMetrics().lineSpacing() * 4)
        self.info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.info.setText("Drag a node onto the canvas, or double-click it.")
        layout.addWidget(self.info)
        self._build()

    def set_entries(self, entries: list[Entry], registry: Registry | None = None) -> None:
        """List these node types (the search text, if any, still applies)."""
        self.entries = list(entries)
        if registry is not None:
            self.registry = registry
        self._build()
        if self.search.text():
            self.filter(self.search.text())

    def _build(self) -> None:
        self.tree.clear()
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._items: dict[str, QTreeWidgetItem] = {}
        for entry in self.entries:
            parent = self._categories.get(entry.category)
            if parent is None:
                parent = QTreeWidgetItem([entry.category])
                parent.setIcon(0, dot_icon(category_colour(entry.category)))
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                font = parent.font(0)
                font.setBold(True)
                parent.setFont(0, font)
                self.tree.addTopLevelItem(parent)
                self._categories[entry.category] = parent
            item = QTreeWidgetItem([entry.title])
            item.setData(0, TYPE_ROLE, entry.key)
            item.setToolTip(0, f"{entry.description}\n\n{ports_summary(entry.payload)}\n\ntype: {entry.key}")
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
            )
            parent.addChild(item)
            self._items[entry.key] = item
        self.tree.expandAll()

    def item_for(self, type_id: str) -> QTreeWidgetItem | None:
        return self._items.get(type_id)

    def filter(self, text: str) -> None:
        from app.ui.fuzzy import search

        matches = search(text, self.entries)
        visible = {entry.key for entry in matches}
        for key, item in self._items.items():
            item.setHidden(key not in visible)
        for category in self._categories.values():
            category.setHidden(all(category.child(i).isHidden() for i in range(category.childCount())))
        self.tree.expandAll()
        if text and matches:
            self.tree.setCurrentItem(self._items[matches[0].key])

    def _activate_first(self) -> None:
        current = self.tree.currentItem()
        if current is not None and not current.isHidden() and current.data(0, TYPE_ROLE):
            self.activated.emit(current.data(0, TYPE_ROLE))

    def _on_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.activated.emit(type_id)

    def _show_info(self, item: QTreeWidgetItem | None, _previous: object = None) -> None:
        type_id = item.data(0, TYPE_ROLE) if item is not None else None
        entry = next((e for e in self.entries if e.key == type_id), None)
        if entry is None:
            self.info.setText("Drag a node onto the canvas, or double-click it.")
            return
        self.info.setText(f"{entry.title} — {entry.description}\n{ports_summary(entry.payload)}")
