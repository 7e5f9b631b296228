"""The start page: new, open, recent files and the example gallery (resources/examples)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import app


def examples_dir() -> Path:
    """The gallery folder: resources/examples next to the `app` package."""
    return Path(app.__file__).resolve().parent.parent / "resources" / "examples"


@dataclass(frozen=True)
class Example:
    path: Path
    name: str
    description: str
    nodes: int


def list_examples(folder: Path | None = None) -> list[Example]:
    """Every *.json in the gallery folder with its name and description (files that do not read
    as workflows are left out). An absent or empty folder gives an empty list."""
    folder = folder or examples_dir()
    found = []
    try:
        paths = sorted(folder.glob("*.json"))
    except OSError:
        return []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("format") != "chainwright.workflow":
            continue
        name = data.get("name") if isinstance(data.get("name"), str) and data.get("name") else path.stem
        description = data.get("description") if isinstance(data.get("description"), str) else ""
        nodes = len(data["nodes"]) if isinstance(data.get("nodes"), list) else 0
        found.append(Example(path, name.replace("_", " ") if name == path.stem else name, description, nodes))
    return found


class _Card(QToolButton):
    def __init__(self, example: Example) -> None:
        super().__init__()
        self.example = example
        self.setObjectName("exampleCard")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAutoRaise(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        title = QLabel(f"<b>{_html(example.name)}</b>")
        title.setTextFormat(Qt.TextFormat.RichText)
        title.setWordWrap(True)
        title.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        layout.addWidget(title)
        text = example.description or f"{example.nodes} nodes"
        description = QLabel(text)
        description.setWordWrap(True)
        description.setTextFormat(Qt.TextFormat.PlainText)
        description.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(description, 1)
        self.setToolTip(str(example.path.name))
        self.setMinimumHeight(92)


class StartPage(QScrollArea):
    new_requested = Signal()
    open_requested = Signal()
    path_chosen = Signal(str)  # a recent file
    example_chosen = Signal(str)  # an example file (opened as a new, untitled copy)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.refresh([])

    def refresh(self, recent: list[str], examples: list[Example] | None = None) -> None:
        examples = list_examples() if examples is None else examples
        self.examples = examples
        body = QWidget()
        outer = QHBoxLayout(body)
        outer.addStretch(1)
        column = QWidget()
        column.setMaximumWidth(900)
        column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(column)
        layout.setContentsMargins(24, 32, 24, 32)
        layout.setSpacing(10)
        outer.addWidget(column, 8)
        outer.addStretch(1)

        title = QLabel("Chainwright")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        intro = QLabel(
            "Wire prompts, models, tools and data into a workflow, run it step by step, and export it as Python."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        buttons = QHBoxLayout()
        new = QPushButton("New workflow")
        new.setObjectName("startNew")
        new.clicked.connect(self.new_requested)
        open_ = QPushButton("Open…")
        open_.setObjectName("startOpen")
        open_.clicked.connect(self.open_requested)
        buttons.addWidget(new)
        buttons.addWidget(open_)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        existing = [path for path in recent if Path(path).exists()]
        if existing:
            layout.addWidget(_section_label("Recent"))
            for path in existing[:8]:
                link = QPushButton(f"{Path(path).name}   —   {Path(path).parent}")
                link.setObjectName("recentFile")
                link.setFlat(True)
                link.setStyleSheet("text-align: left; padding: 4px 2px;")
                link.setCursor(Qt.CursorShape.PointingHandCursor)
                link.clicked.connect(lambda _=False, p=path: self.path_chosen.emit(p))
                layout.addWidget(link)

        layout.addWidget(_section_label("Start from an example"))
        if not examples:
            none = QLabel("No examples are installed. Start with a new workflow instead.")
            none.setObjectName("noExamples")
            none.setWordWrap(True)
            layout.addWidget(none)
        else:
            grid = QGridLayout()
            grid.setSpacing(10)
            for index, example in enumerate(examples):
                card = _Card(example)
                card.clicked.connect(lambda _=False, p=str(example.path): self.example_chosen.emit(p))
                grid.addWidget(card, index // 2, index % 2)
            layout.addLayout(grid)
        layout.addStretch(1)
        self.setWidget(body)


def _section_label(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    label.setContentsMargins(0, 14, 0, 2)
    return label


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
