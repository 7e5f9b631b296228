"""The Run panel (bottom dock): the run's event log, its final outputs, and the history of past
runs of this workflow. Selecting a past run shows its values on the canvas again, read-only —
nothing is run."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QTreeView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.runs import RunSummary
from app.ui.live_label import LayoutFence
from app.ui.run_bridge import RunController
from app.ui.run_state import (
    STATUS_COLOURS,
    RunState,
    format_cost,
    format_duration,
    frame_slices,
    run_headline,
    run_totals_text,
)
from app.ui.value_view import ValueView

_NO_INDEX = QModelIndex()
#: A live run's log shows its new rows at most this often (ms).
LOG_ROWS_MS = 250
_DISPLAY_ROLE = Qt.ItemDataRole.DisplayRole.value
_TOOLTIP_ROLE = Qt.ItemDataRole.ToolTipRole.value
_FOREGROUND_ROLE = Qt.ItemDataRole.ForegroundRole.value
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 7
_LEVEL_COLOURS = {"error": "#d93025", "warning": "#b26a00"}
_RESULT_TEXT = {
    "succeeded": "✓ finished",
    "failed": "✕ failed",
    "cancelled": "■ stopped",
    "running": "… running",
}
_RESULT_COLOURS = {"succeeded": STATUS_COLOURS["done"], "failed": STATUS_COLOURS["failed"],
                   "cancelled": STATUS_COLOURS["cancelled"]}  # fmt: skip


class EventLogModel(QAbstractTableModel):
    """The run's log (node started / finished / failed / logs / pauses), one row per entry.

    The view asks `data` for seven roles of every visible cell on each repaint, so a row's cells
    are worked out once and the roles are compared as plain ints (a Qt enum attribute costs more
    than the rest of the call)."""

    HEADERS = ("Time", "Node", "What happened")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.state: RunState | None = None
        self._rows = 0
        self._cells: list[tuple[tuple[str, str, str], tuple[str | None, str | None, str], QBrush | None]] = []

    def set_state(self, state: RunState | None) -> None:
        self.beginResetModel()
        self.state = state
        self._rows = len(state.log) if state is not None else 0
        self._cells.clear()
        self.endResetModel()

    def appended(self) -> None:
        if self.state is None:
            return
        total = len(self.state.log)
        if total > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, total - 1)
            self._rows = total
            self.endInsertRows()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_INDEX) -> int:
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _NO_INDEX) -> int:
        return 0 if parent.isValid() else 3

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == _DISPLAY_ROLE:
            return self.HEADERS[section]
        return None

    def node_at(self, row: int) -> str | None:
        if self.state is None or not 0 <= row < self._rows:
            return None
        return self.state.log[row].node_id

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != _DISPLAY_ROLE and role != _TOOLTIP_ROLE and role != _FOREGROUND_ROLE:
            return None
        row = index.row()
        if self.state is None or not 0 <= row < self._rows:
            return None
        texts, tooltips, foreground = self._row(row)
        column = index.column()
        if role == _DISPLAY_ROLE:
            return texts[column]
        if role == _TOOLTIP_ROLE:
            return tooltips[column]
        return foreground if column == 2 else None

    def _row(
        self, row: int
    ) -> tuple[tuple[str, str, str], tuple[str | None, str | None, str], QBrush | None]:
        cells = self._cells
        state = self.state
        assert state is not None
        while len(cells) <= row:  # rows are only ever added at the end while a model is shown
            entry = state.log[len(cells)]
            start = state.started or entry.timestamp
            texts = (
                f"+{max(0.0, entry.timestamp - start):.2f} s",
                state.title(entry.node_id) if entry.node_id else "—",
                entry.text,
            )
            colour = _LEVEL_COLOURS.get(entry.level)
            cells.append(
                (texts, (None, entry.node_id or None, entry.text), QBrush(QColor(colour)) if colour else None)
            )
        return cells[row]


class RunPanel(QWidget):
    """Bottom panel: what the shown run did (events, outputs) and the runs before it."""

    node_activated = Signal(str)  # a log row was clicked: show this node

    def __init__(self, controller: RunController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runPanel")
        self.controller = controller
        self.state: RunState | None = None
        self._outputs_key: tuple[Any, ...] | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        top = QHBoxLayout()
        self.headline = QLabel("No run yet — press Run (F5) to run the workflow.")
        self.headline.setObjectName("runHeadline")
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.back_button = QPushButton("Back to Editing")
        self.back_button.setObjectName("backToEditing")
        self.back_button.setToolTip("Stop showing this past run on the canvas")
        self.back_button.clicked.connect(controller.clear_replay)
        self.back_button.hide()
        # Fenced: the headline changes four times a second while a run goes on, and each new text
        # would lay out the whole window; its width is the panel's (a long error is cut, the
        # whole of it is in the tooltip).
        top.addWidget(LayoutFence(self.headline), 1)
        top.addWidget(self.back_button)
        layout.addLayout(top)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        history_box = QWidget()
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.setSpacing(2)
        history_title = QLabel("<b>Past runs</b> <span style='color:palette(placeholder-text)'>— "
                               "click one to see its values again (nothing is run)</span>")  # fmt: skip
        history_title.setWordWrap(True)
        history_layout.addWidget(history_title)
        self.history = QTreeWidget()
        self.history.setObjectName("runHistory")
        self.history.setHeaderLabels(["Started", "Result", "Time", "Tokens", "Cost"])
        self.history.setRootIsDecorated(False)
        self.history.setUniformRowHeights(True)
        self.history.setAlternatingRowColors(True)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.history.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.history.itemClicked.connect(self._history_clicked)
        self.history.itemActivated.connect(self._history_clicked)
        history_layout.addWidget(self.history)
        splitter.addWidget(history_box)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("runTabs")
        self.log_model = EventLogModel(self)
        self.log_view = QTreeView()
        self.log_view.setObjectName("runLog")
        self.log_view.setModel(self.log_model)
        self.log_view.setRootIsDecorated(False)
        self.log_view.setUniformRowHeights(True)
        self.log_view.setAlternatingRowColors(True)
        # Fixed widths: measuring every row on every insert would cost time while a run streams.
        self.log_view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.log_view.header().resizeSection(0, 70)
        self.log_view.header().resizeSection(1, 150)
        self.log_view.header().setStretchLastSection(True)
        self.log_view.clicked.connect(self._log_clicked)
        self.tabs.addTab(self.log_view, "Events")
        self.outputs_area = QScrollArea()
        self.outputs_area.setObjectName("runOutputs")
        self.outputs_area.setWidgetResizable(True)
        self.outputs_area.setFrameShape(QFrame.Shape.NoFrame)
        self.outputs_area.setWidget(QWidget())
        self.tabs.addTab(self.outputs_area, "Outputs")
        self.tabs.currentChanged.connect(lambda _index: self._refresh_outputs())
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([380, 900])
        layout.addWidget(splitter, 1)

        controller.state_changed.connect(self.set_state)
        controller.run_changed.connect(self._run_changed_soon)
        self._clock = QTimer(self)
        self._clock.setInterval(250)
        self._clock.timeout.connect(self._run_changed)
        controller.busy_changed.connect(self._run_busy)
        self._log_throttle = QTimer(self)
        self._log_throttle.setSingleShot(True)
        self._log_throttle.timeout.connect(self._queue_new_rows)
        self._log_shown_at = 0.0
        controller.log_appended.connect(self._log_appended)
        controller.history_changed.connect(self.refresh_history)
        self.output_views: dict[str, ValueView] = {}
        self.set_state(controller.shown)

    # -- the shown run ------------------------------------------------------------------------------
    def set_state(self, state: RunState | None) -> None:
        self.state = state
        self.log_model.set_state(state)
        self._outputs_key = None
        self._run_changed()
        self._select_history(state.run_id if state is not None and state.replay else None)

    def _log_appended(self, _first: int) -> None:
        if self.state is None or self.state.replay:
            self._show_new_rows()
            return
        # A live run's new rows are shown at most LOG_ROWS_MS apart (a repaint of the log costs a
        # few ms and a run start brings dozens of rows), each time in a frame of its own: they
        # come with status changes, which repaint the canvas.
        if self._log_throttle.isActive() or frame_slices().pending(("run log", id(self))):
            return
        wait = LOG_ROWS_MS - (time.monotonic() - self._log_shown_at) * 1000
        if wait > 0:
            self._log_throttle.start(round(wait))
        else:
            self._queue_new_rows()

    def _queue_new_rows(self) -> None:
        self._log_throttle.stop()
        frame_slices().add(("run log", id(self)), self._show_new_rows)

    def _run_busy(self, busy: bool) -> None:
        if busy:
            self._clock.start()
            return
        self._clock.stop()
        if self._log_throttle.isActive():
            self._queue_new_rows()  # the run ended: its last rows now

    def _show_new_rows(self) -> None:
        self._log_shown_at = time.monotonic()
        bar = self.log_view.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.log_model.appended()
        if at_end:
            self.log_view.scrollToBottom()

    def _run_changed_soon(self) -> None:
        if self.state is not None and self.state.live and self._clock.isActive():
            return  # while running, the headline follows four times a second
        self._run_changed()

    def _run_changed(self) -> None:
        state = self.state
        self.back_button.setVisible(state is not None and state.replay)
        if state is None:
            self.headline.setText("No run shown — press Run (F5) to run the workflow, or pick a past run.")
        else:
            colour = _RESULT_COLOURS.get(state.status, STATUS_COLOURS["running"])
            if state.live and state.paused:
                colour = STATUS_COLOURS["paused"]
            what = run_headline(state)
            if state.replay:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.started or 0))
                prefix = f"<b>Past run of {when}</b> (read-only, nothing is run) — "
            else:
                prefix = ""
            error = f" — <span style='color:#d93025'>{_html(state.error)}</span>" if state.error else ""
            self.headline.setText(
                f"{prefix}<b style='color:{colour}'>{_html(what)}</b> · {_html(run_totals_text(state))}{error}"
            )
        tooltip = state.error if state is not None and state.error else ""
        if tooltip != self.headline.toolTip():
            self.headline.setToolTip(tooltip)
        self._refresh_outputs()

    def _refresh_outputs(self) -> None:
        """Build the Outputs tab (only when it is shown: value views are not free)."""
        if self.tabs.currentWidget() is not self.outputs_area:
            return
        state = self.state
        key = None
        if state is not None:
            key = (id(state), state.status, tuple(state.outputs), tuple(state.missing_outputs))
        if key == self._outputs_key:
            return
        self._outputs_key = key
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(6, 6, 6, 6)
        self.output_views = {}
        if state is None:
            column.addWidget(_muted("The workflow's outputs (its Output nodes) appear here after a run."))
        elif not state.ended:
            column.addWidget(_muted("The outputs appear here when the run ends."))
        else:
            for name, value in state.outputs.items():
                view = ValueView(name)
                view.setObjectName(f"output_{name}")
                view.set_value(value)
                column.addWidget(view)
                self.output_views[name] = view
            for name, reason in state.missing_outputs.items():
                label = QLabel(f"<b>{_html(name)}</b>: no value — {_html(reason)}")
                label.setObjectName(f"missing_{name}")
                label.setWordWrap(True)
                label.setStyleSheet("color: #b26a00;")
                column.addWidget(label)
            if not state.outputs and not state.missing_outputs:
                column.addWidget(_muted("This workflow has no Output nodes."))
        column.addStretch(1)
        self.outputs_area.setWidget(page)

    # -- history --------------------------------------------------------------------------------
    def refresh_history(self) -> None:
        runs = self.controller.history()
        blocker = self.history.blockSignals(True)
        try:
            self.history.clear()
            for summary in runs:
                self.history.addTopLevelItem(self._history_item(summary))
        finally:
            self.history.blockSignals(blocker)
        shown = self.state.run_id if self.state is not None and self.state.replay else None
        self._select_history(shown)

    def _history_item(self, summary: RunSummary) -> QTreeWidgetItem:
        totals = summary.totals or {}
        tokens = int(totals.get("input_tokens") or 0) + int(totals.get("output_tokens") or 0)
        duration = (summary.finished - summary.started) if summary.finished else None
        mode = {"run_to": " (to a node)", "run_from": " (from a node)"}.get(summary.mode, "")
        item = QTreeWidgetItem(
            [
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(summary.started)),
                _RESULT_TEXT.get(summary.status, summary.status) + mode,
                format_duration(duration) if duration is not None else "",
                f"{tokens:,}",
                format_cost(totals.get("cost_usd")),
            ]
        )
        item.setData(0, RUN_ID_ROLE, summary.run_id)
        colour = _RESULT_COLOURS.get(summary.status)
        if colour:
            item.setForeground(1, QBrush(QColor(colour)))
        tip = f"Run {summary.run_id}: {summary.node_count} nodes"
        if summary.failed_nodes:
            tip += f"; failed: {', '.join(summary.failed_nodes)}"
        for column in range(5):
            item.setToolTip(column, tip)
        return item

    def run_ids(self) -> list[str]:
        return [
            self.history.topLevelItem(i).data(0, RUN_ID_ROLE) for i in range(self.history.topLevelItemCount())
        ]

    def _select_history(self, run_id: str | None) -> None:
        blocker = self.history.blockSignals(True)
        try:
            self.history.clearSelection()
            for i in range(self.history.topLevelItemCount()):
                item = self.history.topLevelItem(i)
                if run_id is not None and item.data(0, RUN_ID_ROLE) == run_id:
                    item.setSelected(True)
                    self.history.setCurrentItem(item)
        finally:
            self.history.blockSignals(blocker)

    def _history_clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        run_id = item.data(0, RUN_ID_ROLE)
        shown = self.state is not None and self.state.replay and self.state.run_id == run_id
        if run_id and not shown and self.controller.replay(run_id) is None:
            self._select_history(None)

    def show_run(self, run_id: str) -> None:
        """Replay a past run as if its row had been clicked."""
        for i in range(self.history.topLevelItemCount()):
            item = self.history.topLevelItem(i)
            if item.data(0, RUN_ID_ROLE) == run_id:
                self._history_clicked(item)
                return

    def _log_clicked(self, index: QModelIndex) -> None:
        node_id = self.log_model.node_at(index.row())
        if node_id:
            self.node_activated.emit(node_id)


def _muted(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
