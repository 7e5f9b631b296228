"""The problems list: every validation problem of the open workflow; click one to select its node."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.core.problems import Problem
from app.ui.editor import DocumentEditor

PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 3


class ProblemsPanel(QWidget):
    problem_activated = Signal(object)  # Problem
    count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("problemsPanel")
        self.editor: DocumentEditor | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setObjectName("problemsList")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Node", "Where", "Problem"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        layout.addWidget(self.tree)

    def set_editor(self, editor: DocumentEditor | None) -> None:
        if self.editor is not None:
            self.editor.doc.problems_changed.disconnect(self.refresh)
        self.editor = editor
        if editor is not None:
            editor.doc.problems_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        problems: list[Problem] = []
        if self.editor is not None and not self.editor.doc.problems_stale:
            problems = self.editor.doc.problems
        items = []
        for problem in problems:
            where = ""
            if problem.port:
                where = f"port {problem.port}"
            elif problem.field:
                where = problem.field.replace("config.", "setting ")
            elif problem.edge_index is not None:
                where = f"wire #{problem.edge_index + 1}"
            item = QTreeWidgetItem([problem.node_id or "—", where, problem.message])
            item.setData(0, PROBLEM_ROLE, problem)
            item.setToolTip(2, problem.message)
            items.append(item)
        self.tree.addTopLevelItems(items)
        self.count_changed.emit(len(problems))

    def problems(self) -> list[Problem]:
        return [self.tree.topLevelItem(i).data(0, PROBLEM_ROLE) for i in range(self.tree.topLevelItemCount())]

    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.problem_activated.emit(item.data(0, PROBLEM_ROLE))

    def _menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is None or self.editor is None:
            return
        problem: Problem = item.data(0, PROBLEM_ROLE)
        menu = QMenu(self)
        menu.addAction("Show on canvas", lambda: self.problem_activated.emit(problem))
        doc = self.editor.doc
        if problem.edge_index is not None and problem.edge_index < len(doc.edges):
            edge = doc.edges[problem.edge_index]
            menu.addAction(
                f"Remove wire {edge.source}.{edge.source_port} → {edge.target}.{edge.target_port}",
                lambda: self.editor.disconnect([edge]) if self.editor is not None else None,
            )
        menu.exec(self.tree.viewport().mapToGlobal(pos))
