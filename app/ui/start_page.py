"""The start page, which is also the first-run welcome: how Chainwright works in one paragraph, a
button that opens the first example and runs it offline, new / open, recent files, and the example
gallery with a picture of each example's graph (drawn from the workflow files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QIcon
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

from app.core import resources

HOW_IT_WORKS = (
    "A workflow is a small graph: data flows along the wires from left to right. A file or an input "
    "gives text, a prompt puts that text into instructions, a model answers, and an output shows the "
    "result. Add nodes from the Nodes panel (or press Tab on the canvas), drag from one node's output "
    "to another's input to connect them, and run the workflow: every node's result stays there to "
    "inspect. The built-in model runs on this computer, so nothing leaves it unless you choose a "
    "hosted model in Settings. When the workflow does what you want, export it as a Python script."
)
COLUMNS = 3


def app_icon() -> QIcon:
    """Chainwright's icon: `app.ui.help.app_icon`, without importing `help` (it imports
    importlib.metadata, which the first paint can do without)."""
    path = resources.resources_dir() / "icons" / "chainwright.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def examples_dir() -> Path:
    """The gallery folder (resources/examples; inside the bundle when frozen)."""
    return resources.examples_dir()


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
    """A gallery card: the picture of the example's graph, its name and description."""

    def __init__(self, example: Example) -> None:
        from app.ui.welcome import THUMB_SIZE, GraphPicture

        super().__init__()
        self.example = example
        self.setObjectName("exampleCard")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAutoRaise(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        self.picture = GraphPicture(example.path, THUMB_SIZE.height())
        layout.addWidget(self.picture)
        title = QLabel(f"<b>{_html(example.name)}</b>")
        title.setTextFormat(Qt.TextFormat.RichText)
        title.setWordWrap(True)
        title.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        title.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        line = title.fontMetrics().lineSpacing()
        title.setFixedHeight(line * 2 + 2)
        layout.addWidget(title)
        text = example.description or f"{example.nodes} nodes"
        description = QLabel(text)
        description.setWordWrap(True)
        description.setTextFormat(Qt.TextFormat.PlainText)
        description.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        description.setFixedHeight(line * 4 + 2)
        layout.addWidget(description)
        self.setToolTip(
            f"<b>{_html(example.name)}</b><br>{_html(text)}<br><i>Click to open it as a new workflow</i>"
        )
        self.setFixedHeight(THUMB_SIZE.height() + line * 6 + 4 + 6 * 2 + 16)
        self.setMinimumWidth(210)


class StartPage(QScrollArea):
    new_requested = Signal()
    open_requested = Signal()
    path_chosen = Signal(str)  # a recent file
    example_chosen = Signal(str)  # an example file (opened as a new, untitled copy)
    run_example_requested = Signal(str)  # open this example and run it now

    def __init__(self, parent: QWidget | None = None, *, recent: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPage")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._recent: list[str] = []
        self._examples_given: list[Example] | None = None
        #: The page opens and runs the example itself in the window it belongs to; set to False
        #: when the window handles `run_example_requested` on its own.
        self.runs_examples_itself = True
        self.run_example_requested.connect(self._run_example)
        self.refresh(recent or [])

    def refresh(self, recent: list[str], examples: list[Example] | None = None) -> None:
        from app.ui.welcome import first_example

        self._recent, self._examples_given = list(recent), examples
        examples = list_examples() if examples is None else examples
        self.examples = examples
        body = QWidget()
        outer = QHBoxLayout(body)
        outer.addStretch(1)
        column = QWidget()
        column.setMaximumWidth(1020)
        column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(column)
        layout.setContentsMargins(28, 28, 28, 28)
        layout.setSpacing(10)
        outer.addWidget(column, 8)
        outer.addStretch(1)

        header = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(56, 56))
        header.addWidget(icon)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        title = QLabel("Welcome to Chainwright")
        title.setObjectName("welcomeTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.0)
        font.setBold(True)
        title.setFont(font)
        titles.addWidget(title)
        intro = QLabel(
            "Wire prompts, models, tools and data into a workflow, run it step by step, and export it as Python."
        )
        intro.setWordWrap(True)
        titles.addWidget(intro)
        header.addLayout(titles, 1)
        layout.addLayout(header)

        layout.addWidget(_section_label("How it works"))
        how = QLabel(HOW_IT_WORKS)
        how.setObjectName("howItWorks")
        how.setWordWrap(True)
        layout.addWidget(how)

        self.first_example = first_example(examples[0].path.parent) if examples else None
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.run_button: QPushButton | None = None
        if self.first_example is not None:
            name = next((e.name for e in examples if e.path == self.first_example), self.first_example.stem)
            run = QPushButton(f"▶  Try it: run “{name}”")
            run.setObjectName("runFirstExample")
            run.setDefault(True)
            run.setToolTip("Opens the example and runs it on the built-in model, on this computer")
            font = run.font()
            font.setBold(True)
            run.setFont(font)
            run.setMinimumHeight(34)
            run.setStyleSheet(
                "QPushButton#runFirstExample { background: palette(highlight); color: palette(highlighted-text);"
                " border: none; border-radius: 4px; padding: 6px 16px; }"
                "QPushButton#runFirstExample:hover { background: palette(link); }"
            )
            path = str(self.first_example)
            run.clicked.connect(lambda _=False, p=path: self.run_example_requested.emit(p))
            buttons.addWidget(run)
            self.run_button = run
        new = QPushButton("New Workflow")
        new.setObjectName("startNew")
        new.setMinimumHeight(34)
        new.clicked.connect(self.new_requested)
        open_ = QPushButton("Open…")
        open_.setObjectName("startOpen")
        open_.setMinimumHeight(34)
        open_.clicked.connect(self.open_requested)
        buttons.addWidget(new)
        buttons.addWidget(open_)
        buttons.addStretch(1)
        layout.addSpacing(4)
        layout.addLayout(buttons)
        if self.run_button is not None:
            note = QLabel("Runs offline on the built-in model: no account, key or internet needed.")
            note.setObjectName("hint")
            layout.addWidget(note)

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
            grid.setSpacing(12)
            for index, example in enumerate(examples):
                card = _Card(example)
                card.clicked.connect(lambda _=False, p=str(example.path): self.example_chosen.emit(p))
                grid.addWidget(card, index // COLUMNS, index % COLUMNS)
            for column_index in range(COLUMNS):
                grid.setColumnStretch(column_index, 1)
            layout.addLayout(grid)
        layout.addStretch(1)
        self.setWidget(body)

    def repaint_pictures(self) -> None:
        """Paint the gallery's pictures again (their node colours come from the registry once it
        is discovered; see `welcome._category`)."""
        from app.ui.welcome import GraphPicture

        for picture in self.findChildren(GraphPicture):
            picture.update()

    def _run_example(self, path: str) -> None:
        if not self.runs_examples_itself:
            return
        from app.ui.welcome import open_and_run_example

        window = self.window()
        if callable(getattr(window, "open_example", None)):
            open_and_run_example(window, path)  # type: ignore[arg-type]

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and hasattr(
            self, "examples"
        ):
            self.refresh(self._recent, self._examples_given)  # redraw the pictures in the new scheme


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
