"""Form fields built from a node's pydantic config schema (JSON Schema), for the inspector.

`field_specs(config_model)` reads the schema into `FieldSpec`s; `make_field(spec)` builds the
matching editor. Every editor emits `edited(value, session)` — the value in the file's terms
(`UNSET` = leave the key out so the default applies) and the typing session it belongs to, so
that the inspector can merge a run of keystrokes into one undo step.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFocusEvent, QFont, QFontDatabase, QKeyEvent, QTextOption
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from app.ui.commands import UNSET, new_session
from app.ui.highlighters import JsonHighlighter, PlaceholderHighlighter, PythonHighlighter

CHOICE_LABELS = {
    "": "(none)",
    " ": "space",
    "\t": "tab",
    ",": ", (comma)",
    ";": "; (semicolon)",
    "|": "| (bar)",
}


@dataclass
class FieldSpec:
    name: str
    label: str
    kind: str  # text, multiline, template, code, file, folder, credential, json, any, integer, number, boolean, choice
    description: str = ""
    default: Any = None
    has_default: bool = True
    optional: bool = False  # None is allowed
    choices: list[Any] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    pattern: str | None = None
    json_type: str | None = None  # "object" / "array" for JSON fields

    def value_in(self, config: dict[str, Any]) -> Any:
        return config.get(self.name, self.default)

    def to_file(self, value: Any) -> Any:
        """What to store for a value: UNSET (drop the key) when it is None and None is the default."""
        if value is None and (self.default is None or not self.has_default):
            return UNSET
        return value


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root.get("$defs", {}).get(ref.split("/")[-1], {})
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return merged
    return schema


def field_specs(schema: dict[str, Any]) -> list[FieldSpec]:
    specs = []
    for name, raw in schema.get("properties", {}).items():
        prop = _resolve(raw, schema)
        optional = False
        inner = prop
        if "anyOf" in prop:
            options = [_resolve(option, schema) for option in prop["anyOf"]]
            non_null = [option for option in options if option.get("type") != "null"]
            optional = len(non_null) < len(options)
            inner = {
                **(non_null[0] if len(non_null) == 1 else {}),
                **{k: v for k, v in prop.items() if k != "anyOf"},
            }
        ui = prop.get("ui") or inner.get("ui")
        kind_type = inner.get("type")
        spec = FieldSpec(
            name=name,
            label=name.replace("_", " ").capitalize(),
            kind="text",
            description=str(prop.get("description", "")),
            default=prop.get("default"),
            has_default="default" in prop,
            optional=optional,
            pattern=inner.get("pattern"),
            json_type=kind_type if kind_type in ("object", "array") else None,
        )
        if "enum" in inner:
            spec.kind, spec.choices = "choice", list(inner["enum"])
        elif ui in ("multiline", "template", "code", "file", "folder", "credential", "json"):
            spec.kind = ui
        elif kind_type == "boolean":
            spec.kind = "boolean"
        elif kind_type in ("integer", "number"):
            spec.kind = kind_type
            spec.minimum = inner.get("minimum", inner.get("exclusiveMinimum"))
            spec.maximum = inner.get("maximum", inner.get("exclusiveMaximum"))
            spec.exclusive_minimum = "exclusiveMinimum" in inner
            spec.exclusive_maximum = "exclusiveMaximum" in inner
        elif kind_type == "string":
            spec.kind = "text"
        elif kind_type in ("object", "array"):
            spec.kind = "json"
        else:
            spec.kind = "any"
        if spec.kind == "json" and ui == "json" and kind_type is None:
            spec.kind = "any"
        specs.append(spec)
    return specs


# -- editors ----------------------------------------------------------------------------------


class _Sessioned:
    """Mixin: a new typing session each time the field gets the focus."""

    session = 0

    def _new_session(self) -> None:
        self.session = new_session()


class LineField(QLineEdit, _Sessioned):
    edited = Signal(object, int)

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__()
        self.spec = spec
        self.session = new_session()
        if spec.optional:
            self.setPlaceholderText("(not set)")
        elif spec.default not in (None, ""):
            self.setPlaceholderText(str(spec.default))
        self.textEdited.connect(self._emit)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self._new_session()
        super().focusInEvent(event)

    def _emit(self, text: str) -> None:
        value: Any = text
        if text == "" and self.spec.optional:
            value = None
        self.edited.emit(self.spec.to_file(value), self.session)

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.text() != text:
            self.setText(text)


class TextAreaField(QPlainTextEdit, _Sessioned):
    edited = Signal(object, int)

    def __init__(self, spec: FieldSpec, lines: int = 5) -> None:
        super().__init__()
        self.spec = spec
        self.session = new_session()
        self._setting = False
        self.setTabChangesFocus(spec.kind not in ("code",))
        self.setWordWrapMode(
            QTextOption.WrapMode.NoWrap if spec.kind == "code" else QTextOption.WrapMode.WordWrap
        )
        if spec.kind in ("code", "json", "any"):
            font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
            self.setFont(font)
        if spec.kind == "template":
            self.highlighter: Any = PlaceholderHighlighter(self.document())
        elif spec.kind == "code":
            self.highlighter = PythonHighlighter(self.document())
            self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        elif spec.kind in ("json", "any"):
            self.highlighter = JsonHighlighter(self.document())
        line = self.fontMetrics().lineSpacing()
        rows = 14 if spec.kind == "code" else lines
        self.setFixedHeight(line * rows + 2 * self.frameWidth() + 10)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.textChanged.connect(self._changed)

    def focusInEvent(self, event: QFocusEvent) -> None:
        self._new_session()
        super().focusInEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.spec.kind == "code" and event.key() == Qt.Key.Key_Tab and not event.modifiers():
            self.insertPlainText("    ")
            return
        super().keyPressEvent(event)

    def _changed(self) -> None:
        if self._setting:
            return
        self.edited.emit(self.spec.to_file(self.toPlainText()), self.session)

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.toPlainText() != text:
            self._setting = True
            try:
                self.setPlainText(text)
            finally:
                self._setting = False


class JsonField(TextAreaField):
    """JSON text. Only valid JSON is stored; for a field of any type, text that is not JSON is
    stored as text. `problem` says what is wrong with the current text."""

    invalid = Signal(str)

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__(spec, lines=4)
        if spec.kind == "any":
            self.setPlaceholderText('Plain text, or JSON: 3, true, [1, 2], {"key": "value"}')
        else:
            self.setPlaceholderText("JSON")

    def _changed(self) -> None:
        if self._setting:
            return
        text = self.toPlainText()
        if not text.strip():
            empty = {"object": {}, "array": []}.get(self.spec.json_type or "")
            value: Any = None if (self.spec.kind == "any" or self.spec.optional or empty is None) else empty
            self.invalid.emit("")
            self.edited.emit(self.spec.to_file(value), self.session)
            return
        try:
            value = json.loads(text)
        except ValueError as exc:
            if self.spec.kind == "any":
                self.invalid.emit("")
                self.edited.emit(text, self.session)
                return
            self.invalid.emit(f"not valid JSON yet: {exc}")
            return
        self.invalid.emit("")
        self.edited.emit(value, self.session)

    def set_value(self, value: Any) -> None:
        try:
            current = json.loads(self.toPlainText()) if self.toPlainText().strip() else None
        except ValueError:
            current = self.toPlainText() if self.spec.kind == "any" else UNSET
        if current == value and type(current) is type(value):
            return
        if value is None:
            text = ""
        elif isinstance(value, str) and self.spec.kind == "any":
            text = value
            try:
                json.loads(value)
                text = json.dumps(value)  # text that would read as JSON is shown quoted
            except ValueError:
                pass
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False)
        self._setting = True
        try:
            self.setPlainText(text)
        finally:
            self._setting = False


class CheckField(QCheckBox):
    edited = Signal(object, int)

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__(spec.label)
        self.spec = spec
        self.clicked.connect(lambda checked: self.edited.emit(bool(checked), 0))

    def set_value(self, value: Any) -> None:
        checked = bool(value)
        if self.isChecked() != checked:
            self.setChecked(checked)


class ChoiceField(QComboBox):
    edited = Signal(object, int)

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__()
        self.spec = spec
        self._values: list[Any] = []
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)
        if spec.optional:
            self._values.append(None)
            self.addItem("(not set)")
        for choice in spec.choices:
            self._values.append(choice)
            self.addItem(CHOICE_LABELS.get(choice, str(choice)) if isinstance(choice, str) else str(choice))
        self.activated.connect(self._emit)

    def _emit(self, index: int) -> None:
        if 0 <= index < len(self._values):
            self.edited.emit(self.spec.to_file(self._values[index]), 0)

    def set_value(self, value: Any) -> None:
        if value in self._values:
            index = self._values.index(value)
        else:
            self._values.append(value)
            self.addItem(f"{value} (not a known choice)")
            index = len(self._values) - 1
        if self.currentIndex() != index:
            self.setCurrentIndex(index)


class _DecimalBox(QDoubleSpinBox):
    """Shows 0.7 and 30 rather than 0.700 and 30.000."""

    def textFromValue(self, value: float) -> str:
        text = f"{value:.{self.decimals()}f}".rstrip("0").rstrip(".")
        return text or "0"


class NumberField(QWidget, _Sessioned):
    """A spin box with the schema's range. Optional numbers have a "(not set)" value below the
    range (the spin box's special value)."""

    edited = Signal(object, int)

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__()
        self.spec = spec
        self.session = new_session()
        self._setting = False
        integer = spec.kind == "integer"
        self.box: QSpinBox | QDoubleSpinBox = QSpinBox() if integer else _DecimalBox()
        if not integer:
            assert isinstance(self.box, QDoubleSpinBox)
            self.box.setDecimals(3)
            self.box.setSingleStep(0.1 if spec.maximum is not None and spec.maximum <= 10 else 1.0)
        low = spec.minimum if spec.minimum is not None else (-(2**31) + 2 if integer else -1e12)
        high = spec.maximum if spec.maximum is not None else (2**31 - 1 if integer else 1e12)
        step = 1 if integer else 0.001
        if spec.exclusive_minimum and spec.minimum is not None:
            low = spec.minimum + step
        if spec.exclusive_maximum and spec.maximum is not None:
            high = spec.maximum - step
        self.low = low
        if spec.optional:
            self.sentinel = low - (1 if integer else 0.1 if not spec.exclusive_minimum else 0.001)
            self.box.setMinimum(int(self.sentinel) if integer else self.sentinel)
            self.box.setSpecialValueText("(not set)")
        else:
            self.sentinel = None
            self.box.setMinimum(int(low) if integer else low)
        self.box.setMaximum(int(high) if integer else high)
        self.box.setKeyboardTracking(True)
        self.box.setAccelerated(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box)
        if spec.minimum is not None or spec.maximum is not None:
            self.box.setToolTip(_range_text(spec))
        self.box.valueChanged.connect(self._emit)
        self.box.installEventFilter(self)
        self.setFocusProxy(self.box)

    def eventFilter(self, watched: object, event: Any) -> bool:
        if event.type() == event.Type.FocusIn:
            self._new_session()
        return super().eventFilter(watched, event)  # type: ignore[arg-type]

    def _emit(self, value: float) -> None:
        if self._setting:
            return
        if self.sentinel is not None and value <= self.sentinel:
            self.edited.emit(self.spec.to_file(None), self.session)
            return
        number: Any = int(value) if self.spec.kind == "integer" else _clean_float(value)
        self.edited.emit(number, self.session)

    def set_value(self, value: Any) -> None:
        self._setting = True
        try:
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                target = self.sentinel if self.sentinel is not None else self.low
            else:
                target = value
            if self.box.value() != target:
                self.box.setValue(target)  # type: ignore[arg-type]
        finally:
            self._setting = False


def _clean_float(value: float) -> float | int:
    rounded = round(value, 6)
    return rounded if not math.isclose(rounded, round(rounded)) else float(round(rounded))


def _range_text(spec: FieldSpec) -> str:
    parts = []
    if spec.minimum is not None:
        parts.append(f"{'more than' if spec.exclusive_minimum else 'at least'} {spec.minimum:g}")
    if spec.maximum is not None:
        parts.append(f"{'less than' if spec.exclusive_maximum else 'at most'} {spec.maximum:g}")
    return "Allowed: " + " and ".join(parts)


class PathField(QWidget):
    """A path with a Browse… button; files inside the workflow's folder are stored relative."""

    edited = Signal(object, int)

    def __init__(self, spec: FieldSpec, base_dir: Path | None) -> None:
        super().__init__()
        self.spec = spec
        self.base_dir = base_dir
        self.line = LineField(spec)
        self.line.setObjectName(f"field_{spec.name}_path")
        self.line.edited.connect(self.edited)
        self.button = QPushButton("Browse…")
        self.button.clicked.connect(self.browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.button)
        self.setFocusProxy(self.line)

    def browse(self) -> None:
        start = str(self.base_dir or Path.home())
        if self.spec.kind == "folder":
            chosen = QFileDialog.getExistingDirectory(self, "Choose a folder", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose a file", start)
        if chosen:
            self.choose(chosen)

    def choose(self, chosen: str) -> None:
        path = Path(chosen)
        if self.base_dir is not None:
            with contextlib.suppress(ValueError):
                path = path.resolve().relative_to(self.base_dir.resolve())
        text = path.as_posix()
        self.line.setText(text)
        self.edited.emit(text, new_session())

    def set_value(self, value: Any) -> None:
        self.line.set_value(value)


def credential_names() -> list[str]:
    """Names of credentials the user can pick — names only, never the stored values."""
    names = ["openai", "anthropic"]
    try:
        from app.core import secrets

        listing = getattr(secrets, "credential_names", None)
        if callable(listing):
            names = sorted({*names, *listing()})
    except Exception:  # the picker still works with the provider names
        pass
    return names


class CredentialField(QComboBox):
    edited = Signal(object, int)

    def __init__(self, spec: FieldSpec) -> None:
        super().__init__()
        self.spec = spec
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)
        self.addItems(credential_names())
        self.lineEdit().setPlaceholderText("credential name (the key itself stays in your keychain)")
        self.setToolTip(
            "The name of a stored credential. The key itself is never written into the workflow file."
        )
        self.currentTextChanged.connect(self._emit)
        self._setting = False

    def _emit(self, text: str) -> None:
        if not self._setting:
            self.edited.emit(self.spec.to_file(text if text or not self.spec.optional else None), 0)

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.currentText() != text:
            self._setting = True
            try:
                self.setCurrentText(text)
            finally:
                self._setting = False


def make_field(spec: FieldSpec, base_dir: Path | None = None) -> QWidget:
    if spec.kind == "boolean":
        widget: QWidget = CheckField(spec)
    elif spec.kind == "choice":
        widget = ChoiceField(spec)
    elif spec.kind in ("integer", "number"):
        widget = NumberField(spec)
    elif spec.kind in ("multiline", "template", "code"):
        widget = TextAreaField(spec, lines=6 if spec.kind == "template" else 3)
    elif spec.kind in ("json", "any"):
        widget = JsonField(spec)
    elif spec.kind in ("file", "folder"):
        widget = PathField(spec, base_dir)
    elif spec.kind == "credential":
        widget = CredentialField(spec)
    else:
        widget = LineField(spec)
    widget.setObjectName(f"field_{spec.name}")
    return widget


def monospace() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
