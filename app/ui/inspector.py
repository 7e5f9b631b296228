"""The inspector: the selected node's title, id, notes, settings (a form built from its config
schema), problems and ports; with nothing selected, the workflow's name and description.

Edits go through the `DocumentEditor` (undoable; typing in one field is one step). The form
follows the document's signals, so undo and redo show up here too.
"""

from __future__ import annotations

import contextlib
from html import escape
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.model import Edge, Node
from app.core.problems import Problem
from app.ui.editor import DocumentEditor
from app.ui.fields import CheckField, FieldSpec, JsonField, LineField, TextAreaField, field_specs, make_field
from app.ui.theme import category_colour, port_colour


def _muted(label: QLabel) -> QLabel:
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    return label


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def _section(text: str) -> QLabel:
    label = _heading(text.upper())
    font = label.font()
    font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
    font.setLetterSpacing(font.SpacingType.AbsoluteSpacing, 0.8)
    label.setFont(font)
    _muted(label)
    label.setContentsMargins(0, 10, 0, 0)
    return label


def _help(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    font = label.font()
    font.setPointSizeF(max(7.0, font.pointSizeF() - 0.5))
    label.setFont(font)
    return _muted(label)


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, Qt.GlobalColor.red)
    label.setStyleSheet("color: #d93025;")
    label.hide()
    return label


class _Page(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(12, 12, 12, 12)
        self.layout_.setSpacing(4)

    def add(self, widget: QWidget) -> QWidget:
        self.layout_.addWidget(widget)
        return widget


class _EmptyPage(_Page):
    def __init__(self) -> None:
        super().__init__()
        self.add(_help("Open or create a workflow; the settings of the selected node appear here."))
        self.layout_.addStretch(1)


class WorkflowPage(_Page):
    """Nothing selected: the workflow's own name and description."""

    def __init__(self, editor: DocumentEditor) -> None:
        super().__init__()
        self.setObjectName("workflowPage")
        self.editor = editor
        doc = editor.doc
        self.add(_heading("Workflow"))
        self.add(_help("Select a node to see its settings. Press Tab or double-click the canvas to add one."))
        self.add(_section("Name"))
        self.name = LineField(FieldSpec("name", "Name", "text"))
        self.name.setObjectName("workflowName")
        self.name.setPlaceholderText("What this workflow does")
        self.name.set_value(doc.workflow.name)
        self.name.edited.connect(
            lambda value, session: editor.set_workflow_attribute("name", value, session=session)
        )
        self.add(self.name)
        self.add(_section("Description"))
        self.description = TextAreaField(FieldSpec("description", "Description", "multiline"), lines=4)
        self.description.setObjectName("workflowDescription")
        self.description.set_value(doc.workflow.description)
        self.description.edited.connect(
            lambda value, session: editor.set_workflow_attribute("description", value, session=session)
        )
        self.add(self.description)
        self.summary = self.add(_help(""))
        self.refresh()
        self.layout_.addStretch(1)

    def refresh(self) -> None:
        doc = self.editor.doc
        self.name.set_value(doc.workflow.name)
        self.description.set_value(doc.workflow.description)
        problems = len(doc.problems) if not doc.problems_stale else None
        parts = [f"{len(doc.nodes)} nodes", f"{len(doc.edges)} wires"]
        if problems is not None:
            parts.append(f"{problems} problem{'s' if problems != 1 else ''}" if problems else "no problems")
        self.summary.setText(" · ".join(parts))


class SelectionPage(_Page):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.setObjectName("selectionPage")
        self.add(_heading(f"{count} items selected"))
        self.add(
            _help(
                "Drag to move them together. Delete removes them; Copy puts them on the clipboard as workflow JSON."
            )
        )
        self.layout_.addStretch(1)


class NodePage(_Page):
    def __init__(self, editor: DocumentEditor, node: Node) -> None:
        super().__init__()
        self.setObjectName("nodePage")
        self.editor = editor
        self.node = node
        doc = editor.doc
        node_type = doc.node_type(node)
        self.node_type = node_type
        base_dir = doc.path.parent if doc.path is not None else None

        title = node_type.title if node_type is not None else node.type
        category = node_type.category if node_type is not None else "Unknown type"
        colour = category_colour(category).name()
        header = QLabel(
            f"<span style='color:{colour}'>■</span> <b>{escape(title)}</b>"
            f" <span style='color:palette(placeholder-text)'>· {escape(category)}</span>"
        )
        header.setObjectName("inspectorHeader")
        header.setTextFormat(Qt.TextFormat.RichText)
        self.add(header)
        if node_type is not None and node_type.description:
            self.add(_help(node_type.description))
        elif node_type is None:
            self.add(_help(f"The type '{node.type}' is not installed. Its settings are kept as they are."))

        self.problems_box = QLabel()
        self.problems_box.setObjectName("nodeProblems")
        self.problems_box.setWordWrap(True)
        self.problems_box.setTextFormat(Qt.TextFormat.RichText)
        self.problems_box.setStyleSheet(
            "QLabel { color: #ffffff; background: #c62828; border-radius: 4px; padding: 6px; }"
        )
        self.problems_box.hide()
        self.add(self.problems_box)

        self.add(_section("Title"))
        self.title = LineField(FieldSpec("title", "Title", "text"))
        self.title.setObjectName("nodeTitle")
        self.title.setPlaceholderText(node.id)
        self.title.edited.connect(
            lambda value, session: editor.set_node_attribute(node, "title", value, session=session)
        )
        self.add(self.title)

        self.add(_section("Id"))
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("nodeId")
        self.id_edit.setToolTip("How the command line, problems and exported code refer to this node.")
        self.id_edit.editingFinished.connect(self._commit_id)
        self.add(self.id_edit)
        self.id_error = self.add(_error_label())

        self.add(_section("Notes"))
        self.notes = TextAreaField(FieldSpec("description", "Notes", "multiline"), lines=3)
        self.notes.setObjectName("nodeDescription")
        self.notes.setPlaceholderText("What this step is for (shown on export as a comment)")
        self.notes.edited.connect(
            lambda value, session: editor.set_node_attribute(node, "description", value, session=session)
        )
        self.add(self.notes)

        self.fields: dict[str, tuple[FieldSpec, QWidget, QLabel]] = {}
        if node_type is not None:
            specs = field_specs(node_type.config_model.model_json_schema())
            if specs:
                self.add(_section("Settings"))
            for spec in specs:
                widget = make_field(spec, base_dir)
                if not isinstance(widget, CheckField):
                    self.add(QLabel(spec.label))
                self.add(widget)
                if spec.description:
                    self.add(_help(spec.description))
                error = _error_label()
                error.setObjectName(f"error_{spec.name}")
                self.add(error)
                self.fields[spec.name] = (spec, widget, error)
                widget.edited.connect(
                    lambda value, session, name=spec.name: self._commit(name, value, session)
                )  # type: ignore[attr-defined]
                if isinstance(widget, JsonField):
                    widget.invalid.connect(lambda message, label=error: self._show_error(label, message))
        else:
            self.add(_section("Settings (as stored)"))
            raw = JsonField(FieldSpec("config", "Config", "json", json_type="object"))
            raw.setObjectName("field_config")
            raw.edited.connect(
                lambda value, session: editor.set_config(
                    node, value if isinstance(value, dict) else {}, session=session
                )
            )
            self.raw_config = raw
            self.add(raw)

        self.cache = QCheckBox("Reuse cached results")
        self.cache.setObjectName("nodeCache")
        self.cache.clicked.connect(lambda checked: editor.set_node_attribute(node, "cache", bool(checked)))
        if node_type is not None and not node_type.cacheable:
            self.cache.setEnabled(False)
            cache_help = (
                "This kind of node always runs: what it gives depends on the world outside the workflow."
            )
        else:
            cache_help = "When its inputs and settings are unchanged, the node gives its last result again instead of running."
        self.add(_section("Results"))
        self.add(self.cache)
        self.add(_help(cache_help))

        self.add(_section("Ports"))
        self.ports = QLabel()
        self.ports.setObjectName("nodePorts")
        self.ports.setTextFormat(Qt.TextFormat.RichText)
        self.ports.setWordWrap(True)
        self.ports.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.add(self.ports)
        self.layout_.addStretch(1)
        self.refresh()

    # -- from the document --------------------------------------------------------------------
    def refresh(self, aspect: str | None = None) -> None:
        node = self.node
        if aspect in (None, "title"):
            self.title.set_value(node.title)
        if aspect in (None, "description"):
            self.notes.set_value(node.description)
        if aspect in (None, "cache"):
            self.cache.setChecked(node.cache and self.cache.isEnabled())
        if aspect in (None, "id") and not self.id_edit.hasFocus():
            self.id_edit.setText(node.id)
            self.title.setPlaceholderText(node.id)
        if aspect in (None, "config"):
            for spec, widget, _ in self.fields.values():
                widget.set_value(spec.value_in(node.config))  # type: ignore[attr-defined]
            if hasattr(self, "raw_config"):
                self.raw_config.set_value(node.config)
            self.validate()
        if aspect in (None, "config", "edges", "id"):
            self.refresh_ports()

    def validate(self) -> None:
        """Show what is wrong with each setting, right under it, as the user types."""
        messages: dict[str, list[str]] = {}
        if self.node_type is not None:
            try:
                self.node_type.parse_config(self.node.config)
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    loc = error.get("loc") or ("",)
                    message = str(error.get("msg", "is not valid"))
                    if message.startswith("Value error, "):
                        message = message[len("Value error, ") :]
                    messages.setdefault(str(loc[0]), []).append(message)
        for name, (_spec, _widget, label) in self.fields.items():
            self._show_error(label, "\n".join(messages.get(name, [])))

    @staticmethod
    def _show_error(label: QLabel, message: str) -> None:
        label.setText(message)
        label.setVisible(bool(message))

    def show_problems(self, problems: list[Problem]) -> None:
        lines = []
        for problem in problems:
            where = (problem.port and f"input '{problem.port}'") or (
                problem.field and problem.field.replace("config.", "")
            )
            text = f"{escape(where)}: {escape(problem.message)}" if where else escape(problem.message)
            lines.append(f"⚠ {text}")
        self.problems_box.setText("<br>".join(lines))
        self.problems_box.setVisible(bool(lines))

    def refresh_ports(self) -> None:
        doc = self.editor.doc
        ports = doc.ports(self.node)
        connected_in = (
            {e.target_port: e for e in doc.edges_into(self.node.id)}
            if doc.is_first_with_id(self.node)
            else {}
        )
        feeds: dict[str, list[Edge]] = {}
        if doc.is_first_with_id(self.node):
            for edge in doc.edges_of(self.node.id):
                if edge.source == self.node.id:
                    feeds.setdefault(edge.source_port, []).append(edge)
        rows = ["<b>Inputs</b>"]
        for port in ports.inputs:
            edge = connected_in.get(port.name)
            state = (
                f"from {escape(edge.source)}.{escape(edge.source_port)}"
                if edge
                else ("required, not connected" if port.required else "optional")
            )
            rows.append(self._port_row(port.name, port.type.value, state))
        if not ports.inputs:
            rows.append("<i>none</i>")
        rows.append("<b>Outputs</b>")
        for port in ports.outputs:
            users = feeds.get(port.name, [])
            state = f"to {len(users)} input{'s' if len(users) != 1 else ''}" if users else "not connected"
            rows.append(self._port_row(port.name, port.type.value, state))
        if not ports.outputs:
            rows.append("<i>none</i>")
        if not ports.ok and self.node_type is not None:
            rows.append("<i>The settings are not valid, so these may change once they are fixed.</i>")
        self.ports.setText("<br>".join(rows))

    @staticmethod
    def _port_row(name: str, type_name: str, state: str) -> str:
        from app.core.values import DataType

        colour = port_colour(DataType(type_name)).name()
        return (
            f"<span style='color:{colour}'>●</span> {escape(name)} "
            f"<span style='color:{colour}'>{escape(type_name)}</span>"
            f" <span style='color:palette(placeholder-text)'>— {state}</span>"
        )

    # -- to the document ------------------------------------------------------------------------
    def _commit(self, name: str, value: Any, session: int) -> None:
        self.editor.set_config_value(self.node, name, value, session=session)
        self.validate()

    def _commit_id(self) -> None:
        new_id = self.id_edit.text().strip()
        if new_id == self.node.id:
            self._show_error(self.id_error, "")
            return
        refusal = self.editor.rename_node(self.node, new_id)
        self._show_error(self.id_error, f"Not renamed: {refusal}" if refusal else "")


class Inspector(QScrollArea):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.editor: DocumentEditor | None = None
        self.page: QWidget | None = None
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.follow_selection)
        self.set_editor(None)

    def set_editor(self, editor: DocumentEditor | None) -> None:
        if self.editor is not None:
            self._subscribe(self.editor, connect=False)
            with contextlib.suppress(RuntimeError, TypeError):
                self.editor.scene.selectionChanged.disconnect(self._pending.start)
        self.editor = editor
        if editor is not None:
            self._subscribe(editor, connect=True)
            editor.scene.selectionChanged.connect(self._pending.start)
        self.follow_selection()

    def _subscribe(self, editor: DocumentEditor, connect: bool) -> None:
        doc = editor.doc
        pairs = (
            (doc.node_changed, self._on_node_changed),
            (doc.node_renamed, self._on_node_renamed),
            (doc.node_removed, self._on_node_removed),
            (doc.edge_added, self._on_edges_changed),
            (doc.edge_removed, self._on_edges_changed),
            (doc.workflow_changed, self._on_workflow_changed),
            (doc.problems_changed, self._on_problems_changed),
            (doc.reset, self.follow_selection),
        )
        for signal, slot in pairs:
            (signal.connect if connect else signal.disconnect)(slot)

    def _set_page(self, page: QWidget | None) -> None:
        self.page = page
        self.setWidget(page if page is not None else QWidget())

    def show_node(self, node: Node | None) -> None:
        if self.editor is None:
            self._set_page(_EmptyPage())
            return
        if node is None:
            self._set_page(WorkflowPage(self.editor))
            return
        if isinstance(self.page, NodePage) and self.page.node is node:
            return
        page = NodePage(self.editor, node)
        self._set_page(page)
        self._on_problems_changed()

    def follow_selection(self) -> None:
        """Show what is selected now (normally called a moment after the selection changes)."""
        self._pending.stop()
        if self.editor is None:
            self._set_page(_EmptyPage())
            return
        scene = self.editor.scene
        nodes = scene.selected_nodes()
        others = len(scene.selectedItems()) - len(nodes)
        if len(nodes) == 1 and others == 0:
            self.show_node(nodes[0])
        elif len(nodes) + others > 1:
            self._set_page(SelectionPage(len(nodes) + others))
        else:
            self.show_node(None)

    def _on_node_changed(self, node: Node, aspect: str) -> None:
        if isinstance(self.page, NodePage) and self.page.node is node:
            self.page.refresh(aspect)

    def _on_node_renamed(self, node: Node, _old: str) -> None:
        if isinstance(self.page, NodePage) and self.page.node is node:
            self.page.refresh("id")

    def _on_node_removed(self, node: Node, _index: int) -> None:
        if isinstance(self.page, NodePage) and self.page.node is node:
            self._pending.start()

    def _on_edges_changed(self, edge: Edge, _index: int) -> None:
        if isinstance(self.page, NodePage) and self.page.node.id in (edge.source, edge.target):
            self.page.refresh("edges")

    def _on_workflow_changed(self, aspect: str) -> None:
        if isinstance(self.page, WorkflowPage) and aspect in ("name", "description"):
            self.page.refresh()

    def _on_problems_changed(self) -> None:
        if self.editor is None:
            return
        doc = self.editor.doc
        if isinstance(self.page, NodePage):
            if doc.problems_stale:
                return
            self.page.show_problems(doc.problems_by_node().get(id(self.page.node), []))
        elif isinstance(self.page, WorkflowPage):
            self.page.refresh()
