"""The small form Run shows for the workflow's inputs (its `io.input` nodes).

Each input is filled with the value given last time for this file, else its default. Values are
remembered per workflow file in the user config dir (``run-inputs.json``), never in the workflow
file; an unsaved workflow's values are remembered while the app runs.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.core.model import Workflow
from app.core.values import DataType
from nodes.io import convert_input

MEMORY_FILE = "run-inputs.json"
MAX_REMEMBERED_FILES = 200


@dataclass
class InputSpec:
    """One workflow input, as its `io.input` node declares it."""

    name: str
    node_id: str
    title: str
    type: DataType
    default: Any
    description: str

    @property
    def required(self) -> bool:
        return self.default is None


def workflow_inputs(workflow: Workflow) -> list[InputSpec]:
    specs: list[InputSpec] = []
    seen: set[str] = set()
    for node in workflow.nodes:
        if node.type != "io.input":
            continue
        config = node.config or {}
        name = str(config.get("name", "input"))
        if name in seen:
            continue
        seen.add(name)
        try:
            kind = DataType(config.get("type", "text"))
        except ValueError:
            kind = DataType.TEXT
        specs.append(
            InputSpec(
                name=name,
                node_id=node.id,
                title=node.title or name,
                type=kind,
                default=config.get("default"),
                description=str(config.get("description") or ""),
            )
        )
    return specs


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class InputMemory:
    """The values last given to each workflow file's inputs (user config dir, not the file)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._session: dict[str, dict[str, Any]] = {}

    @property
    def path(self) -> Path:
        if self._path is None:
            from app.core.settings import config_dir

            self._path = config_dir() / MEMORY_FILE
        return self._path

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def recall(self, key: str | None, session_key: str = "") -> dict[str, Any]:
        if key is None:
            return dict(self._session.get(session_key, {}))
        found = self._load().get(key)
        return dict(found) if isinstance(found, dict) else {}

    def remember(self, key: str | None, values: dict[str, Any], session_key: str = "") -> None:
        if key is None:
            self._session[session_key] = dict(values)
            return
        from app.core.model import atomic_write_bytes

        data = self._load()
        data.pop(key, None)
        data[key] = dict(values)  # newest last
        while len(data) > MAX_REMEMBERED_FILES:
            data.pop(next(iter(data)))
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
            atomic_write_bytes(self.path, text.encode("utf-8"))


class _TextBox(QPlainTextEdit):
    """A few lines of text; Ctrl+Enter runs."""

    submit = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier
        ):
            self.submit.emit()
            return
        super().keyPressEvent(event)


class RunInputsDialog(QDialog):
    """Asks for the inputs; `values()` gives them converted to each input's type."""

    def __init__(
        self,
        specs: list[InputSpec],
        remembered: dict[str, Any],
        *,
        title: str = "",
        action: str = "Run",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("runInputsDialog")
        self.setWindowTitle(f"{action} — inputs")
        self.specs = specs
        self.editors: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        heading = QLabel(
            f"<b>{_html(title or 'This workflow')}</b> takes "
            f"{len(specs)} input{'s' if len(specs) != 1 else ''}:"
        )
        heading.setWordWrap(True)
        layout.addWidget(heading)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for spec in specs:
            value = remembered.get(spec.name, spec.default)
            editor = self._editor(spec, value)
            editor.setObjectName(f"input_{spec.name}")
            self.editors[spec.name] = editor
            label = QLabel(f"<b>{_html(spec.title)}</b><br><span style='color:palette(placeholder-text)'>"
                           f"{_html(spec.name)} · {spec.type.value}</span>")  # fmt: skip
            label.setTextFormat(Qt.TextFormat.RichText)
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(editor)
            hint = spec.description
            if spec.default is not None:
                hint = (hint + " " if hint else "") + f"Default: {_short(as_text(spec.default))}"
            elif not hint:
                hint = "Required: there is no default."
            if hint:
                help_label = QLabel(hint)
                help_label.setWordWrap(True)
                help_label.setStyleSheet("color: palette(placeholder-text);")
                column.addWidget(help_label)
            error = QLabel()
            error.setObjectName(f"error_{spec.name}")
            error.setWordWrap(True)
            error.setStyleSheet("color: #d93025;")
            error.hide()
            column.addWidget(error)
            self.errors[spec.name] = error
            form.addRow(label, box)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox()
        self.run_button = self.buttons.addButton(action, QDialogButtonBox.ButtonRole.AcceptRole)
        self.run_button.setObjectName("runButton")
        self.run_button.setDefault(True)
        self.defaults_button = self.buttons.addButton("Use Defaults", QDialogButtonBox.ButtonRole.ResetRole)
        self.defaults_button.clicked.connect(self.use_defaults)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())

    def _editor(self, spec: InputSpec, value: Any) -> QWidget:
        if spec.type is DataType.BOOLEAN:
            box = QCheckBox("true")
            box.setChecked(bool(value) if not isinstance(value, str) else value.strip().lower() == "true")
            return box
        if spec.type is DataType.NUMBER:
            line = QLineEdit(as_text(value))
            line.returnPressed.connect(self.accept)
            return line
        text = _TextBox()
        text.setPlainText(as_text(value))
        text.setTabChangesFocus(True)
        text.submit.connect(self.accept)
        lines = 2 if spec.type is DataType.TEXT else 4
        text.setFixedHeight(text.fontMetrics().lineSpacing() * (lines + 1) + 10)
        return text

    def raw_values(self) -> dict[str, Any]:
        """What is typed in each field (text; booleans as bool)."""
        values: dict[str, Any] = {}
        for name, editor in self.editors.items():
            if isinstance(editor, QCheckBox):
                values[name] = editor.isChecked()
            elif isinstance(editor, QLineEdit):
                values[name] = editor.text()
            elif isinstance(editor, QPlainTextEdit):
                values[name] = editor.toPlainText()
        return values

    def set_value(self, name: str, text: str) -> None:
        editor = self.editors[name]
        if isinstance(editor, QCheckBox):
            editor.setChecked(text.strip().lower() == "true")
        elif isinstance(editor, QLineEdit):
            editor.setText(text)
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(text)

    def use_defaults(self) -> None:
        for spec in self.specs:
            self.set_value(spec.name, as_text(spec.default))

    def values(self) -> dict[str, Any] | None:
        """The inputs converted to their types, or None (with the reasons shown) if one is wrong."""
        converted: dict[str, Any] = {}
        ok = True
        raw = self.raw_values()
        for spec in self.specs:
            value = raw[spec.name]
            error = ""
            if isinstance(value, str) and not value.strip() and spec.type is not DataType.TEXT:
                error = "Give a value." if spec.default is None else ""
                if not error:
                    converted[spec.name] = spec.default
            else:
                try:
                    converted[spec.name] = convert_input(spec.name, spec.type, value)
                except (TypeError, ValueError) as exc:
                    error = str(exc)
            label = self.errors[spec.name]
            label.setText(error)
            label.setVisible(bool(error))
            ok = ok and not error
        return converted if ok else None

    def accept(self) -> None:
        if self.values() is None:
            return
        super().accept()


def _short(text: str, limit: int = 80) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
