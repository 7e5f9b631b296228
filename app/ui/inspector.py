"""The inspector: the selected node's title, id, notes, settings (a form built from its config
schema), problems and ports; with nothing selected, the workflow's name and description.

Its Run tab shows what the selected node did in the run on the canvas (live or replayed): the
resolved inputs and outputs, the answer streaming in as it arrives, time, tokens, cost, cache
use, logs and errors in plain words. At a breakpoint the node's inputs are editable there, and
Continue runs the node with the edited values (edit-and-continue). Run state is read from
`run_state.RunState`; nothing here writes to the document.

Edits go through the `DocumentEditor` (undoable; typing in one field is one step). The form
follows the document's signals, so undo and redo show up here too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from html import escape
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.model import Edge, Node
from app.core.problems import Problem
from app.ui.editor import DocumentEditor
from app.ui.fields import (
    CheckField,
    FieldSpec,
    JsonField,
    LineField,
    TextAreaField,
    field_specs,
    make_field,
    monospace,
)
from app.ui.live_label import LayoutFence
from app.ui.run_bridge import RunController
from app.ui.run_state import (
    CACHED,
    CANCELLED,
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
    RunState,
    format_cost,
    format_duration,
    frame_slices,
    run_headline,
)
from app.ui.theme import category_colour, port_colour
from app.ui.value_view import ValueView, value_to_text


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


class SettingsView(QScrollArea):
    """The Settings tab: the page for what is selected (node, workflow or a selection)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspectorSettings")
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


# -- the Run tab -----------------------------------------------------------------------------------


def _box(text: str, background: str, name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(
        f"QLabel {{ color: #ffffff; background: {background}; border-radius: 4px; padding: 6px; }}"
    )
    return label


class _Same:
    """A value in a block key that matches only the very same object (values need not be hashable)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    def __hash__(self) -> int:
        return id(self.value)


class _Holder(QWidget):
    """Several widgets that make one block."""

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)

    def add(self, widget: QWidget) -> QWidget:
        self.layout_.addWidget(widget)
        return widget


class _Blocks:
    """The widgets of a page as keyed blocks. `add(key, build)` takes the previous layout's widget
    for `key` or builds one; `finish()` lays the page out in the order added and deletes the
    blocks that were not asked for again."""

    def __init__(self, page: _Page, previous: dict[Any, QWidget]) -> None:
        self.page = page
        self.previous = dict(previous)
        self.blocks: dict[Any, QWidget] = {}
        self.built = False  # whether the last `add` built its widget

    def add(self, key: Any, build: Callable[[], Any]) -> Any:
        while key in self.blocks:  # the same text twice on one page
            key = (key, "again")
        widget = self.previous.pop(key, None)
        self.built = widget is None
        if widget is None:
            widget = build()
        self.blocks[key] = widget
        return widget

    def finish(self, spread: bool = False) -> dict[Any, QWidget]:
        """Remove the blocks not asked for again and insert the new ones in place; blocks kept
        stay where they are in the layout (re-adding a widget to a layout is not free). With
        `spread`, value views made ahead (hidden) after the first are shown one per frame:
        showing one takes a millisecond or two (issue 7)."""
        layout = self.page.layout_
        shown = 0
        for widget in self.previous.values():
            frame_slices().discard(("show", id(widget)))
            layout.removeWidget(widget)
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
        for index, widget in enumerate(self.blocks.values()):
            item = layout.itemAt(index)
            if item is not None and item.widget() is widget:
                continue
            if layout.indexOf(widget) >= 0:
                layout.removeWidget(widget)
            layout.insertWidget(index, widget)
            if widget.isHidden():  # a spare value view, made hidden ahead of time
                if spread and shown:
                    frame_slices().add(("show", id(widget)), widget.show)
                else:
                    widget.show()
                shown += 1
        return self.blocks


def _status_label() -> QLabel:
    label = QLabel()
    label.setObjectName("runStatus")
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


def _logs_view() -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setObjectName("runLogs")
    view.setReadOnly(True)
    view.setFont(monospace())
    view.setFixedHeight(90)
    return view


class RunTab(QScrollArea):
    """What the selected node did in the run shown on the canvas."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspectorRun")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.editor: DocumentEditor | None = None
        self.controller: RunController | None = None
        self.state: RunState | None = None
        self.node: Node | None = None
        self.node_id: str | None = None
        self.input_views: dict[str, ValueView] = {}
        self.output_views: dict[str, ValueView] = {}
        self.stream_view: ValueView | None = None
        self.status_label: QLabel | None = None
        self.logs_view: QPlainTextEdit | None = None
        self.error_box: QLabel | None = None
        self.continue_button: QPushButton | None = None
        self._key: tuple[Any, ...] | None = None
        self._logs_shown = 0
        self._status_at = 0.0
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.follow_selection)
        self._page = _Page()
        self._page.setObjectName("runPage")
        self._page.layout_.addStretch(1)  # the blocks are inserted above it
        self._spare_views: list[ValueView] = []
        self._spare_timer = QTimer(self)
        self._spare_timer.setSingleShot(True)
        self._spare_timer.setInterval(30)
        self._spare_timer.timeout.connect(self._make_spare_view)
        self._blocks: dict[Any, QWidget] = {}
        self.setWidget(self._page)
        self._rebuild()

    # -- wiring -----------------------------------------------------------------------------------
    def set_controller(self, controller: RunController | None) -> None:
        self.controller = controller
        if controller is not None:
            controller.state_changed.connect(self.set_state)
            controller.nodes_changed.connect(self.refresh)
            controller.run_changed.connect(self._run_changed)
            self.set_state(controller.shown)

    def set_editor(self, editor: DocumentEditor | None) -> None:
        if self.editor is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self.editor.scene.selectionChanged.disconnect(self._pending.start)
        self.editor = editor
        if editor is not None:
            editor.scene.selectionChanged.connect(self._pending.start)
        self.follow_selection()

    def follow_selection(self) -> None:
        self._pending.stop()
        node = None
        if self.editor is not None:
            nodes = self.editor.scene.selected_nodes()
            if len(nodes) == 1 and len(self.editor.scene.selectedItems()) == 1:
                node = nodes[0]
        self.show_node(node)

    def show_node(self, node: Node | None) -> None:
        self.node = node
        self.node_id = node.id if node is not None else None
        self._update(force=True)

    def set_state(self, state: RunState | None) -> None:
        self.state = state
        self._update(force=True)
        self._spare_timer.start()

    # A live run's status changes add value views (inputs when the node starts, the answer as it
    # streams, outputs when it ends). Making one takes a few milliseconds, so a few are made
    # ahead, one per idle turn of the event loop, and the status change only fills them in. They
    # are made while no run is live: made as a run starts, each would land in the frames where
    # every node changes state at once (issue 7); a live run only makes one when none is left.
    SPARE_VIEWS = 3

    def _new_view(self, title: str) -> ValueView:
        if self._spare_views:
            view = self._spare_views.pop()
            view.set_title(title)
        else:
            view = ValueView(title)
        self._spare_timer.start()
        return view

    def _make_spare_view(self) -> None:
        live = self.state is not None and self.state.live
        if live and self._spare_views:
            return  # topped up when the run ends
        if len(self._spare_views) < self.SPARE_VIEWS:
            view = ValueView(parent=self._page)
            view.hide()
            view.ensurePolished()  # styled now (with its children), not when it is first shown
            self._spare_views.append(view)
        if len(self._spare_views) < self.SPARE_VIEWS:
            self._spare_timer.start()

    def refresh(self, node_ids: Any) -> None:
        if self.node_id is not None and self.node_id in node_ids:
            self._update()

    def _run_changed(self) -> None:
        if self.node_id is None:
            self._update()
        elif self._spare_wanted():  # the run ended: top up for the next one
            self._spare_timer.start()

    def _spare_wanted(self) -> bool:
        return (
            self.state is not None
            and not self.state.live
            and not self._spare_timer.isActive()
            and len(self._spare_views) < self.SPARE_VIEWS
        )

    # -- building -----------------------------------------------------------------------------------
    def _node_state(self) -> NodeRunState | None:
        if self.state is None or self.node_id is None:
            return None
        return self.state.node(self.node_id)

    def _update(self, force: bool = False) -> None:
        node_state = self._node_state()
        if node_state is None:
            key: tuple[Any, ...] = ("none", id(self.state), self.node_id, self._summary_text())
        else:
            held_here = self.state is not None and self.state.held == self.node_id and self.state.live
            key = (
                id(self.state),
                self.node_id,
                node_state.status,
                node_state.stale,
                held_here,
                bool(node_state.logs),
            )
        if len(self._spare_views) < self.SPARE_VIEWS and not self._spare_timer.isActive():
            self._spare_timer.start()
        if force or key != self._key:
            self._key = key
            if not force and self.state is not None and not self.state.replay and self._blocks:
                # A run's status change of the watched node (its end included) is laid out in a
                # frame of its own: the flush that brings it also repaints the canvas (issue 7).
                frame_slices().add(("run tab", id(self)), lambda: self._rebuild(spread=True))
            else:
                self._rebuild()
        elif node_state is not None and not frame_slices().pending(("run tab", id(self))):
            self._refresh_live(node_state)

    def _summary_text(self) -> str:
        if self.state is None:
            return ""
        return run_headline(self.state)

    def _rebuild(self, spread: bool = False) -> None:
        """Lay the page out for the node's current state. Blocks whose key is unchanged keep their
        widgets (a status change of the watched node adds or removes a block or two instead of
        building every value view again, which would stall a streaming run's frames)."""
        frame_slices().discard(("run tab", id(self)))
        self.input_views, self.output_views = {}, {}
        self.stream_view = None
        self.status_label = self.logs_view = self.error_box = self.continue_button = None
        blocks = _Blocks(self._page, self._blocks)
        state, node_state = self.state, self._node_state()
        if self.node is None:
            blocks.add(("heading", "Run"), lambda: _heading("Run"))
            if state is None:
                text = ("Run the workflow (F5) to see what goes into and comes out of each node. "
                        "Answers appear here as they stream in.")  # fmt: skip
            else:
                text = f"{self._summary_text()}. Select a node to see its inputs and outputs in this run."
            blocks.add(("help", text), lambda: _help(text))
        else:
            title = self.node.title or self.node.id
            blocks.add(("heading", title), lambda: _heading(title))
            if state is None:
                text = ("No run is shown. Run the workflow (F5), or pick a past run in the Run panel, "
                        "to see this node's inputs and outputs.")  # fmt: skip
                blocks.add(("help", text), lambda: _help(text))
            elif node_state is None:
                text = "This node was not part of the run shown on the canvas."
                blocks.add(("help", text), lambda: _help(text))
            else:
                self._build_state(blocks, state, node_state)
        self._blocks = blocks.finish(spread)

    def _build_state(self, blocks: _Blocks, state: RunState, node: NodeRunState) -> None:
        self.status_label = blocks.add(("status",), lambda: LayoutFence(_status_label())).label
        self._set_status(node)
        if state.replay:
            text = "From a past run (read-only): nothing is run again."
            blocks.add(("help", text), lambda: _help(text))
        if node.stale:
            blocks.add(("stale",), lambda: _box("You edited this node, or something before it, after this run: "
                                                "these values are from before the edit. Run again to update them.",
                                                "#8a6d1a", "runStale"))  # fmt: skip
        held_here = state.live and state.held == node.node_id and node.status == PAUSED
        if held_here:
            held = blocks.add(("held", node.node_id), self._held_controls)
            self.continue_button = held.findChild(QPushButton, "runContinue")
        if node.status in (CACHED, REUSED):
            note = self._cache_note_text(node)
            blocks.add(("cache", note), lambda: _box(note, STATUS_COLOURS[CACHED], "runCacheNote"))
        if node.status == FAILED and node.error is not None:
            error = node.error
            box = blocks.add(("error", _Same(error)), lambda: self._error_block(error))
            self.error_box = box.findChild(QLabel, "runError")
        if node.status == SKIPPED:
            reason = node.skip_reason
            blocks.add(
                ("skipped", reason),
                lambda: _box(f"<b>Skipped</b>: {escape(reason)}", "#6b6f76", "runSkipped"),
            )
        if node.status == CANCELLED:
            text = "The run was stopped " + ("while this node ran; what it had produced is kept below."
                                             if node.started is not None else "before this node ran.")  # fmt: skip
            blocks.add(("help", text), lambda: _help(text))

        # inputs
        if node.inputs is not None:
            blocks.add(("section", "Inputs"), lambda: _section("Inputs"))
            if not node.inputs:
                text = "This node has no inputs."
                blocks.add(("help", text), lambda: _help(text))
            edits = self.controller.edits.get(node.node_id, {}) if (self.controller and held_here) else {}
            for name, value in node.inputs.items():
                replaced = name in node.replaced
                key = ("input", name, _Same(value), replaced, held_here)
                self.input_views[name] = blocks.add(
                    key, lambda n=name, v=value, r=replaced: self._input_view(n, v, r, held_here, edits)
                )
        elif node.status in (PENDING, QUEUED):
            text = "Waiting: its inputs are not resolved yet."
            blocks.add(("help", text), lambda: _help(text))

        # outputs
        running = node.status == RUNNING
        if running or (node.chunks and not node.outputs):
            heading = "Answer (streaming)" if running else "Partial answer"
            blocks.add(("section", heading), lambda: _section(heading))
            if not node.chunks and running:
                text = "Nothing streamed yet…"
                blocks.add(("help", text), lambda: _help(text))
            self.stream_view = blocks.add(("stream", running), lambda: self._stream_view(node))
        if node.outputs or node.skipped_outputs:
            blocks.add(("section", "Outputs"), lambda: _section("Outputs"))
            for name, value in node.outputs.items():
                self.output_views[name] = blocks.add(
                    ("output", name, _Same(value)), lambda n=name, v=value: self._output_view(n, v)
                )
            for name, reason in node.skipped_outputs.items():
                text = f"{name}: not produced — {reason}"
                blocks.add(("help", text), lambda t=text: _help(t))

        # logs
        if node.logs:
            blocks.add(("section", "Log"), lambda: _section("Log"))
            logs_view = blocks.add(("logs",), _logs_view)
            if blocks.built:
                self._logs_shown = 0
            self.logs_view = logs_view
            self._refresh_logs(node)

    def _held_controls(self) -> QWidget:
        holder = _Holder()
        holder.add(_box("<b>Paused before this node runs.</b> Its inputs are below and can be edited; "
                        "Continue runs it with the edited values, and they flow on downstream.",
                        STATUS_COLOURS[PAUSED], "runPausedBanner"))  # fmt: skip
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        continue_button = QPushButton("Continue (F8)")
        continue_button.setObjectName("runContinue")
        continue_button.clicked.connect(lambda: self.controller.continue_() if self.controller else None)
        step = QPushButton("Step (F10)")
        step.setObjectName("runStep")
        step.setToolTip("Run only this node, then pause again")
        step.clicked.connect(lambda: self.controller.step() if self.controller else None)
        row.addWidget(continue_button)
        row.addWidget(step)
        row.addStretch(1)
        holder.layout_.addLayout(row)
        return holder

    def _input_view(
        self, name: str, value: Any, replaced: bool, held_here: bool, edits: dict[str, Any]
    ) -> ValueView:
        title = name + (" · edited at the breakpoint" if replaced else "")
        view = ValueView(title, editable=True) if held_here else self._new_view(title)
        view.setObjectName(f"input_{name}")
        view.set_value(value)
        if held_here:
            if name in edits and not hasattr(edits[name], "reason"):
                view.text.setPlainText(value_to_text(edits[name]))
            view.edited.connect(lambda edited, port=name, v=view: self._input_edited(port, edited, v))
        return view

    def _output_view(self, name: str, value: Any) -> ValueView:
        view = self._new_view(name)
        view.setObjectName(f"output_{name}")
        view.set_value(value)
        return view

    def _stream_view(self, node: NodeRunState) -> ValueView:
        view = self._new_view("text")
        view.setObjectName("streamView")
        if node.chunks:
            view.set_value(node.text, streaming=node.status == RUNNING)
        elif node.status == RUNNING:
            view.set_value("", streaming=True)
        return view

    @staticmethod
    def _cache_note_text(node: NodeRunState) -> str:
        if node.status == REUSED:
            return "Reused from the previous run: this node was not run again."
        saving = f"{node.saved_tokens:,} tokens" if node.saved_tokens else "a run"
        cost = format_cost(node.saved_cost_usd)
        return (f"<b>From the cache</b>: same settings and inputs as an earlier run, so its result was "
                f"reused — saved {saving}{' (' + cost + ')' if cost else ''}.")  # fmt: skip

    def _error_block(self, error: Any) -> QWidget:
        holder = _Holder()
        where = []
        if error.port:
            where.append(f"input '{escape(error.port)}'")
        if error.field:
            where.append(f"setting '{escape(error.field.replace('config.', ''))}'")
        kind = "" if error.error_type in ("NodeError", "") else f" ({escape(error.error_type)})"
        lines = [f"<b>Failed{kind}</b>: {escape(error.message)}"]
        if where:
            lines.append("Where: " + ", ".join(where))
        if error.user_line is not None:
            code_line = self._code_line(error.user_line)
            lines.append(
                f"Line {error.user_line} of your code"
                + (f": <code>{escape(code_line)}</code>" if code_line else "")
            )
        holder.add(_box("<br>".join(lines), STATUS_COLOURS[FAILED], "runError"))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        copy = QToolButton()
        copy.setText("Copy Error")
        copy.setObjectName("copyError")
        copy.setAutoRaise(True)
        text = error.message + (f"\n\n{error.traceback}" if error.traceback else "")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(text))
        row.addWidget(copy)
        details = None
        if error.traceback:
            toggle = QToolButton()
            toggle.setText("Details")
            toggle.setObjectName("errorDetails")
            toggle.setCheckable(True)
            toggle.setAutoRaise(True)
            row.addWidget(toggle)
            details = QPlainTextEdit(error.traceback)
            details.setReadOnly(True)
            details.setFont(monospace())
            details.setFixedHeight(140)
            details.hide()
            toggle.toggled.connect(details.setVisible)
        row.addStretch(1)
        holder.layout_.addLayout(row)
        if details is not None:
            holder.add(details)
        return holder

    def _code_line(self, line: int) -> str:
        node = self.node
        code = node.config.get("code") if node is not None and isinstance(node.config, dict) else None
        if not isinstance(code, str):
            return ""
        lines = code.splitlines()
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    def _set_status(self, node: NodeRunState) -> None:
        if self.status_label is None:
            return
        colour = STATUS_COLOURS[node.status]
        parts = [f"<b style='color:{colour}'>● {STATUS_LABELS[node.status]}</b>"]
        elapsed = node.elapsed()
        if elapsed is not None:
            parts.append(format_duration(elapsed) + (" so far" if node.status == RUNNING else ""))
        if node.tokens:
            parts.append(f"{node.tokens:,} tokens ({node.input_tokens:,} in, {node.output_tokens:,} out)")
        if node.cost_usd is not None:
            parts.append(format_cost(node.cost_usd))
        if node.status == RUNNING and node.chunks:
            parts.append(f"{len(node.text):,} characters so far")
        self.status_label.setText(" · ".join(parts))

    def _refresh_live(self, node: NodeRunState) -> None:
        now = time.monotonic()
        if now - self._status_at >= 0.25:  # time and counts: a few times a second is enough
            self._status_at = now
            self._set_status(node)
        if self.stream_view is not None and node.chunks:
            self.stream_view.set_streaming_text(node.text)
        if self.logs_view is not None:
            self._refresh_logs(node)

    def _refresh_logs(self, node: NodeRunState) -> None:
        assert self.logs_view is not None
        for level, message in node.logs[self._logs_shown :]:
            prefix = "" if level == "info" else f"[{level}] "
            self.logs_view.appendPlainText(prefix + message)
        self._logs_shown = len(node.logs)
        if not node.logs and not self.logs_view.toPlainText():
            self.logs_view.setPlaceholderText("No log lines yet.")

    def _input_edited(self, port: str, value: Any, view: ValueView) -> None:
        if self.controller is None or self.node_id is None:
            return
        if view.is_edited():
            self.controller.set_edit(self.node_id, port, value)
        else:
            self.controller.discard_edit(self.node_id, port)


class Inspector(QTabWidget):
    """The right-hand dock: the selected node's Settings, and what it did in the Run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setDocumentMode(True)
        self.settings_view = SettingsView()
        self.run_tab = RunTab()
        self.addTab(self.settings_view, "Settings")
        self.addTab(self.run_tab, "Run")
        self.setTabToolTip(
            1, "Inputs, outputs, streamed text, timing and errors of the selected node in the last run"
        )

    @property
    def editor(self) -> DocumentEditor | None:
        return self.settings_view.editor

    @property
    def page(self) -> QWidget | None:
        return self.settings_view.page

    def set_editor(self, editor: DocumentEditor | None) -> None:
        self.settings_view.set_editor(editor)
        self.run_tab.set_editor(editor)

    def set_run_controller(self, controller: RunController) -> None:
        self.run_tab.set_controller(controller)

    def follow_selection(self) -> None:
        self.settings_view.follow_selection()
        self.run_tab.follow_selection()

    def show_node(self, node: Node | None) -> None:
        self.settings_view.show_node(node)

    def show_settings(self) -> None:
        self.setCurrentWidget(self.settings_view)

    def show_run(self) -> None:
        self.setCurrentWidget(self.run_tab)
