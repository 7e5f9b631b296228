"""First run: pictures of the examples' graphs, and "open and run the first example, offline".

* `graph_thumbnail(path)` draws a workflow file's graph (nodes at their saved positions, coloured
  by category, wired as in the file) — the pictures on the start page's gallery cards.
* `WorkflowRun` runs a workflow through the headless engine (`app.core.executor`) on a worker
  thread and reports its events to the GUI thread as Qt signals.
* `open_and_run_example(window)` opens the first example in a main window and runs it on the
  built-in local model, with its progress and result in a bottom panel ("Example run").

The run features of the editor (run panel, live node states) are a separate module; until a
window offers its own run controller, this module drives the engine directly.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QPlainTextEdit, QVBoxLayout, QWidget

from app.core.resources import examples_dir
from app.ui.theme import category_colour, is_dark

#: The example the welcome page runs: it needs nothing but the built-in model (no network).
FIRST_EXAMPLE = "summarize-a-file.json"
#: Node types that reach the network or run code: an example with one is not "offline".
ONLINE_TYPES = frozenset({"tool.http", "data.url"})
NODE_W, NODE_H = 180.0, 64.0
THUMB_SIZE = QSize(300, 120)
_PREFIX_CATEGORY = {
    "io": "Input / Output",
    "prompt": "Prompt",
    "model": "Model",
    "tool": "Tool",
    "data": "Data",
    "text": "Text",
    "logic": "Control",
    "control": "Control",
}
_thumb_cache: dict[tuple[str, int, int, int, bool, float], QPixmap] = {}


# -- which example -------------------------------------------------------------------------------------
def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == "chainwright.workflow" else None


def is_offline(path: Path) -> bool:
    data = _read(path)
    if data is None:
        return False
    nodes = data.get("nodes") if isinstance(data.get("nodes"), list) else []
    for node in nodes:
        if not isinstance(node, dict):
            return False
        if node.get("type") in ONLINE_TYPES:
            return False
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        if node.get("type") == "model.chat" and config.get("provider", "local") != "local":
            return False
    return True


def first_example(folder: Path | None = None) -> Path | None:
    """The example the welcome page opens and runs: `FIRST_EXAMPLE`, else the first offline one."""
    folder = folder or examples_dir()
    preferred = folder / FIRST_EXAMPLE
    if preferred.is_file() and is_offline(preferred):
        return preferred
    try:
        candidates = sorted(folder.glob("*.json"))
    except OSError:
        return None
    return next((path for path in candidates if is_offline(path)), None)


# -- graph pictures ------------------------------------------------------------------------------------------
def _category(type_id: str) -> str:
    """The type's category from the registry once it is discovered; before that (the start page is
    painted before the engine is imported, see `MainWindow`) from the id's prefix, which gives
    the built-in types' own categories. The window repaints the pictures when the registry is in."""
    registry = sys.modules.get("app.core.registry")
    if registry is not None and registry.default_registry.cache_info().currsize:
        node_type = registry.default_registry().get(type_id)
        if node_type is not None:
            return str(node_type.category)
    return _PREFIX_CATEGORY.get(type_id.split(".", 1)[0], type_id)


def graph_thumbnail(path: Path, size: QSize = THUMB_SIZE, dark: bool | None = None) -> QPixmap:
    """A picture of the workflow's graph, fitted into `size` (cached per file version and size)."""
    dark = is_dark() if dark is None else dark
    app = QGuiApplication.instance()
    ratio = app.devicePixelRatio() if isinstance(app, QGuiApplication) else 1.0
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0
    key = (str(path), mtime, size.width(), size.height(), dark, ratio)
    cached = _thumb_cache.get(key)
    if cached is not None:
        return cached
    pixmap = QPixmap(round(size.width() * ratio), round(size.height() * ratio))
    pixmap.setDevicePixelRatio(ratio)
    background = QColor("#262930") if dark else QColor("#f3f4f7")
    pixmap.fill(background)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    try:
        _paint_graph(painter, _read(path) or {}, QRectF(0, 0, size.width(), size.height()), dark)
    finally:
        painter.end()
    _thumb_cache[key] = pixmap
    return pixmap


def _paint_graph(painter: QPainter, data: dict[str, Any], area: QRectF, dark: bool) -> None:
    """Nodes at their saved positions, fitted into `area`. Width and height are scaled separately
    (a long chain stays legible) and boxes keep a readable minimum height."""
    nodes = [n for n in data.get("nodes") or [] if isinstance(n, dict) and isinstance(n.get("id"), str)]
    if not nodes:
        return
    positions: dict[str, QPointF] = {}
    for node in nodes:
        pos = node.get("position")
        ok = isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, int | float) for v in pos)
        positions[node["id"]] = QPointF(float(pos[0]), float(pos[1])) if ok else QPointF(0, 0)
    left = min(p.x() for p in positions.values())
    top = min(p.y() for p in positions.values())
    span_x = max(p.x() for p in positions.values()) - left + NODE_W
    span_y = max(p.y() for p in positions.values()) - top + NODE_H
    margin = 10.0
    sx = min((area.width() - 2 * margin) / span_x, 0.8)
    sy = min((area.height() - 2 * margin) / span_y, 0.8)
    width = max(10.0, NODE_W * sx * 0.92)
    height = min(max(12.0, min(NODE_H * sy, width * 0.7)), 30.0)
    used_w = (span_x - NODE_W) * sx + width
    used_h = (span_y - NODE_H) * sy + height
    offset_x = area.left() + (area.width() - used_w) / 2
    offset_y = area.top() + (area.height() - used_h) / 2

    def place(point: QPointF) -> QPointF:
        return QPointF(offset_x + (point.x() - left) * sx, offset_y + (point.y() - top) * sy)

    wire = QColor("#7d8496") if dark else QColor("#a3a9b6")
    painter.setPen(QPen(wire, 1.6))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for edge in data.get("edges") or []:
        if not isinstance(edge, dict):
            continue
        source, target = positions.get(edge.get("source")), positions.get(edge.get("target"))
        if source is None or target is None:
            continue
        start = place(source) + QPointF(width, height / 2)
        end = place(target) + QPointF(0, height / 2)
        bend = max(10.0, abs(end.x() - start.x()) / 2)
        path = QPainterPath(start)
        path.cubicTo(start + QPointF(bend, 0), end - QPointF(bend, 0), end)
        painter.drawPath(path)

    body = QColor("#3a3e48") if dark else QColor("#ffffff")
    border = QColor("#555b69") if dark else QColor("#cfd3db")
    text_colour = QColor("#e8eaef") if dark else QColor("#262a33")
    font = QFont(painter.font())
    font.setPixelSize(max(8, min(12, round(height * 0.42))))
    metrics = QFontMetrics(font)
    radius = 4.0
    stripe = 4.0
    for node in nodes:
        top_left = place(positions[node["id"]])
        rect = QRectF(top_left.x(), top_left.y(), width, height)
        accent = category_colour(_category(str(node.get("type", ""))))
        painter.setPen(QPen(border, 1.0))
        painter.setBrush(body)
        painter.drawRoundedRect(rect, radius, radius)
        clip = QPainterPath()
        clip.addRoundedRect(rect, radius, radius)
        painter.save()
        painter.setClipPath(clip)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        painter.drawRect(QRectF(rect.left(), rect.top(), rect.width(), stripe))
        painter.restore()
        text_rect = rect.adjusted(4, stripe, -3, 0)
        if text_rect.width() >= metrics.horizontalAdvance("Abc…") and text_rect.height() >= metrics.height():
            title = str(node.get("title") or node["id"])
            painter.setFont(font)
            painter.setPen(text_colour)
            shown = metrics.elidedText(title, Qt.TextElideMode.ElideRight, int(text_rect.width()))
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, shown)


class GraphPicture(QWidget):
    """A workflow file's graph, drawn to fit the widget's current size (the gallery cards' picture)."""

    def __init__(self, path: Path, height: int = THUMB_SIZE.height(), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exampleGraph")
        self.path = path
        self.data = _read(path) or {}
        self.setFixedHeight(height)
        self.setMinimumWidth(120)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)

    def node_count(self) -> int:
        return len(self.data.get("nodes") or [])

    def paintEvent(self, _event: object) -> None:
        dark = is_dark(self.palette())
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#262930") if dark else QColor("#f3f4f7"))
        painter.drawRoundedRect(rect, 6, 6)
        _paint_graph(painter, self.data, rect, dark)
        painter.end()


# -- running a workflow ---------------------------------------------------------------------------------------
class WorkflowRun(QObject):
    """One run of a workflow through the engine on a worker thread. Signals arrive in the GUI thread."""

    event = Signal(object)  # app.core.events.Event
    finished = Signal(object)  # app.core.runs.RunResult
    failed = Signal(str)  # the run could not start (invalid workflow, engine error)

    def __init__(
        self,
        workflow: Any,
        workflow_path: str | Path | None,
        settings: Any = None,
        *,
        use_cache: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.workflow = workflow
        self.workflow_path = Path(workflow_path) if workflow_path else None
        self.settings = settings
        self.use_cache = use_cache
        self.result: Any = None
        self.error: str | None = None
        self.done = False
        self._run: Any = None
        self._thread: threading.Thread | None = None
        self.finished.connect(self._mark_done)
        self.failed.connect(self._mark_failed)

    def _mark_done(self, result: Any) -> None:
        self.result, self.done = result, True

    def _mark_failed(self, message: str) -> None:
        self.error, self.done = message, True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="chainwright-example-run", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        if self._run is not None:
            self._run.cancel()

    def wait(self, timeout_s: float = 120.0) -> bool:
        """Process Qt events until the run ends (for the self-test and tests). True if it ended."""
        if self.done:
            return True
        loop = QEventLoop()
        self.finished.connect(loop.quit)
        self.failed.connect(loop.quit)
        QTimer.singleShot(round(timeout_s * 1000), loop.quit)
        if not self.done:
            loop.exec()
        return self.done

    def _work(self) -> None:
        import asyncio

        from app.core.cache import Cache
        from app.core.executor import Executor
        from app.core.graph import analyze
        from app.core.registry import default_registry
        from app.core.runs import RunStore
        from app.core.settings import Settings

        cache = store = None
        try:
            analysis = analyze(self.workflow, default_registry())
            if not analysis.ok:
                problems = "; ".join(str(problem) for problem in analysis.problems[:5])
                self._emit(self.failed, f"The workflow has problems: {problems}")
                return
            settings = self.settings if self.settings is not None else Settings.load()
            with contextlib.suppress(Exception):
                cache = Cache.for_settings(settings)
            with contextlib.suppress(Exception):
                store = RunStore()
            executor = Executor(
                analysis, settings=settings, cache=cache, store=store, workflow_path=self.workflow_path
            )
            run = executor.run({}, use_cache=self.use_cache)
            self._run = run
            run.subscribe(lambda event: self._emit(self.event, event))
            result = asyncio.run(run.wait())
            self._emit(self.finished, result)
        except Exception as exc:  # report in words; never let the worker die silently
            self._emit(self.failed, f"{type(exc).__name__}: {exc}")
        finally:
            for resource in (cache, store):
                if resource is not None:
                    with contextlib.suppress(Exception):
                        resource.close()

    @staticmethod
    def _emit(signal: Any, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the receiver was deleted meanwhile
            signal.emit(value)


class RunOutputPanel(QWidget):
    """Shows a `WorkflowRun`: one line per node as it starts and ends, streamed text, the outputs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exampleRunPanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        self.status = QLabel()
        self.status.setObjectName("exampleRunStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.output = QPlainTextEdit()
        self.output.setObjectName("exampleRunOutput")
        self.output.setReadOnly(True)
        layout.addWidget(self.output, 1)
        self.titles: dict[str, str] = {}
        self._streaming: str | None = None

    def follow(self, run: WorkflowRun, name: str) -> None:
        from app.ui.run_state import node_names

        self.titles = node_names(getattr(run.workflow, "nodes", []))
        self.output.clear()
        self._streaming = None
        self.status.setText(f"Running “{name}” on the built-in model, offline…")
        run.event.connect(self._event)
        run.finished.connect(self._finished)
        run.failed.connect(self._failed)

    def _line(self, text: str) -> None:
        if self._streaming is not None:
            self._streaming = None
            self.output.appendPlainText("")
        self.output.appendPlainText(text)

    def _event(self, event: Any) -> None:
        kind, node_id = event.kind, getattr(event, "node_id", None)
        title = self.titles.get(node_id or "", node_id or "")
        if kind == "node_started":
            self._line(f"▶ {title}…")
        elif kind == "chunk":
            if self._streaming != node_id:
                self._streaming = node_id
                self.output.appendPlainText("")
            cursor = self.output.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            cursor.insertText(event.text)
            self.output.setTextCursor(cursor)
        elif kind == "node_finished" and not getattr(event, "reused", False):
            where = " (from the cache)" if getattr(event, "cached", False) else ""
            self._line(f"✓ {title}{where}, {event.duration_s:.1f} s")
        elif kind == "node_failed":
            self._line(f"✗ {title}: {event.message}")
        elif kind == "node_skipped":
            self._line(f"– {title} skipped: {event.reason}")

    def _finished(self, result: Any) -> None:
        from app.core.values import to_text

        seconds = (result.finished - result.started) if result.finished else 0.0
        if result.status == "succeeded":
            self.status.setText(
                f"✓ Finished in {seconds:.1f} s, on this computer. The result is below; double-click a "
                "node on the canvas to change it (the prompt, say) and try your own."
            )
        else:
            self.status.setText(f"The run {result.status}: see the lines below.")
        self._line("")
        start = self.output.document().characterCount()
        for name, value in result.outputs.items():
            self._line(f"{name}:\n{to_text(value)}")
        for name, reason in result.missing_outputs.items():
            self._line(f"{name}: no value ({reason})")
        cursor = self.output.textCursor()  # show the result from its first line
        cursor.setPosition(min(start, self.output.document().characterCount() - 1))
        self.output.setTextCursor(cursor)
        self.output.ensureCursorVisible()

    def _failed(self, message: str) -> None:
        self.status.setText(f"✗ The example could not run: {message}")

    def text(self) -> str:
        return self.output.toPlainText()


def _panel_dock(window: QMainWindow) -> tuple[QDockWidget | None, RunOutputPanel]:
    dock = window.findChild(QDockWidget, "exampleRunDock")
    if dock is not None and isinstance(dock.widget(), RunOutputPanel):
        return dock, dock.widget()
    panel = RunOutputPanel()
    add = getattr(window, "add_bottom_panel", None)
    if callable(add):
        dock = add(panel, "Example Run", "exampleRunDock")
        return dock, panel
    panel.setWindowTitle("Example Run")
    panel.resize(640, 320)
    return None, panel


def open_and_run_example(
    window: QMainWindow, path: str | Path | None = None, *, use_cache: bool = True
) -> WorkflowRun | None:
    """Open the example (the first offline one by default) in `window` — or the new window it
    opens in — and run it; the progress and result appear in the "Example Run" panel."""
    example = Path(path) if path else first_example()
    status = getattr(window, "statusBar", None)
    if example is None:
        if callable(status):
            window.statusBar().showMessage("No examples are installed", 8000)
        return None
    opener = getattr(window, "open_example", None)
    target = opener(example) if callable(opener) else None
    if target is None:
        return None
    doc = getattr(target, "doc", None)
    if doc is None:
        return None
    dock, panel = _panel_dock(target)
    run = WorkflowRun(
        doc.workflow, example, getattr(target, "settings", None), use_cache=use_cache, parent=target
    )
    panel.follow(run, doc.workflow.name or example.stem)
    if dock is not None:
        dock.show()
        dock.raise_()
        target.resizeDocks([dock], [260], Qt.Orientation.Vertical)
    else:
        panel.show()
    target._example_run = run  # type: ignore[attr-defined]  # kept alive with the window
    target._example_panel = panel  # type: ignore[attr-defined]
    run.start()
    return run
