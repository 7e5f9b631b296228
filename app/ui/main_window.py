"""The main window: palette (left), canvas (centre), inspector (right), problems and the Run
panel (bottom), menus, toolbar and status bar; one document per window.

Runs: the Run menu and toolbar drive a `run_bridge.RunController` (the executor on its own
thread). Its state is shown on the canvas, in the inspector's Run tab, in the Run panel and in
the status bar, and is never written to the document or its undo stack.

Start-up: the window is built in two steps. The *shell* — menus, toolbar, status bar, the docks'
frames, the start page — needs only Qt and the standard library. The rest — the user settings and
the node registry (pydantic, every node module), the canvas, the palette's catalogue, the
inspector, the problems list, the run layer — is built by `ensure_ready`. `MainWindow(...)` does
both at once; `MainWindow(defer=True)` (what `run_app` uses) builds the shell, and `ensure_ready`
runs right after the window's first paint, so the window is on screen before the engine is
imported. Anything that reads a part of the second step before then builds it on the spot
(`__getattr__`), so no caller sees a half-built window.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QPaintEvent,
    QShowEvent,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QStackedWidget,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

# Only Qt, the standard library and light modules here: the first paint needs nothing else. The
# engine and the heavy UI parts are imported where they are used (see the module docstring).
from app.core.arrange import needs_arrangement
from app.ui.live_label import LiveLabel
from app.ui.palette import NodePalette
from app.ui.start_page import StartPage, app_icon, list_examples
from app.ui.theme import CanvasColours

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox, QUndoView

    from app.core.document import WorkflowDocument
    from app.core.model import Workflow
    from app.core.problems import Problem
    from app.core.registry import Registry
    from app.core.settings import Settings
    from app.ui.canvas.scene import WireDrop
    from app.ui.canvas.view import CanvasView
    from app.ui.editor import DocumentEditor
    from app.ui.fuzzy import Entry
    from app.ui.inspector import Inspector
    from app.ui.problems_panel import ProblemsPanel
    from app.ui.quick_add import QuickAddPopup
    from app.ui.run_bridge import RunController
    from app.ui.run_inputs import InputMemory, RunInputsDialog
    from app.ui.run_panel import RunPanel
    from app.ui.run_state import RunState
    from app.ui.trust_banner import TrustBanner

MAX_RECENT = 10
FILE_FILTER = "Chainwright workflows (*.json);;All files (*)"
OPEN_FILTER = "Chainwright workflows (*.json);;Scripts exported by Chainwright (*.py);;All files (*)"


WARM_UP_AFTER_SHOW_MS = 400  # the engine warms up after the window is up (`RunController.warm_up`)


class MainWindow(QMainWindow):
    windows: ClassVar[list[MainWindow]] = []
    #: What `ensure_ready` builds (the second step of start-up, see the module docstring).
    _DEFERRED: ClassVar[frozenset[str]] = frozenset(
        {
            "settings", "registry", "_catalogue", "view", "canvas_page", "trust_banner", "quick_add",
            "inspector", "problems_panel", "runs", "input_memory", "inputs_dialog", "run_panel",
            "history_view",
        }
    )  # fmt: skip

    settings: Settings
    registry: Registry
    view: CanvasView
    canvas_page: QWidget
    trust_banner: TrustBanner
    quick_add: QuickAddPopup
    inspector: Inspector
    problems_panel: ProblemsPanel
    runs: RunController
    input_memory: InputMemory
    inputs_dialog: RunInputsDialog | None
    run_panel: RunPanel
    history_view: QUndoView

    def __init__(
        self,
        settings: Settings | None = None,
        registry: Registry | None = None,
        *,
        defer: bool = False,
        recent_files: list[str] | None = None,
    ) -> None:
        """`settings` default to the user's (loaded in `ensure_ready` when deferred), `registry` to
        the installed node types. `defer=True` builds only what the first paint needs and the rest
        right after that paint; `recent_files` are then shown on the start page until the settings
        are loaded (`run_app` reads them from the settings file without the engine)."""
        super().__init__()
        self._ready = False
        self._finish_after_paint = False
        self._when_ready: list[Callable[[], None]] = []
        self.setObjectName("mainWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        if settings is None and not defer:
            from app.core.settings import Settings

            settings = Settings.load()
        if settings is not None:
            self.settings = settings
            recent_files = settings.recent_files
        self._registry_given = registry
        self.editor: DocumentEditor | None = None
        self.undo_group = QUndoGroup(self)
        self._quick_context: dict[str, Any] = {}

        self.central = QStackedWidget()
        self.central.setObjectName("centralStack")
        self.start_page = StartPage(recent=list(recent_files or []))
        self.restricted = False
        self.autosave_key: str | None = None
        self._autosave_timer = QTimer(self)
        self._autosave_timer.timeout.connect(self.autosave)
        self.central.addWidget(self.start_page)
        self.setCentralWidget(self.central)

        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._build_run_actions()
        self._connect()
        self.setDockNestingEnabled(True)
        self.resize(1360, 860)
        self.setWindowIcon(app_icon())
        self._show_start_page()
        MainWindow.windows.append(self)
        if defer:
            self._finish_after_paint = True
        else:
            self.ensure_ready()

    # -- start-up, second step -----------------------------------------------------------------------
    @property
    def is_ready(self) -> bool:
        """True once `ensure_ready` has built the whole window."""
        return self._ready

    def __getattr__(self, name: str) -> Any:
        # Only reached when ordinary lookup fails: a part built by `ensure_ready` asked for before
        # the deferred step ran (a shortcut pressed within the first moment) is built now.
        if name in MainWindow._DEFERRED and not self.__dict__.get("_ready", True):
            self.ensure_ready()
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._finish_after_paint:
            # The first frame is being painted: the rest of the window is built once it is on screen.
            self._finish_after_paint = False
            QTimer.singleShot(0, self, self.ensure_ready)

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the window is fully built (now, if it is)."""
        if self._ready:
            callback()
        else:
            self._when_ready.append(callback)

    def ensure_ready(self) -> None:
        """Build what the shell left out: settings (if not given), the registry and catalogue, the
        canvas, the palette's entries, the inspector, the problems list and the run layer."""
        if self._ready:
            return
        self._ready = True
        self._finish_after_paint = False
        from PySide6.QtWidgets import QUndoView

        from app.core.registry import default_registry
        from app.ui.canvas.view import CanvasView
        from app.ui.export_dialog import install_export_action
        from app.ui.help import install_help_menu
        from app.ui.inspector import Inspector
        from app.ui.palette import catalogue_entries
        from app.ui.problems_panel import ProblemsPanel
        from app.ui.quick_add import QuickAddPopup
        from app.ui.settings_dialog import install_settings_action
        from app.ui.trust_banner import TrustBanner

        if "settings" not in self.__dict__:
            from app.core.settings import Settings

            self.settings = Settings.load()
        self.registry = self._registry_given or default_registry()
        self._catalogue = catalogue_entries(self.registry)
        self.palette_widget.set_entries(self._catalogue, self.registry)

        self.view = CanvasView()
        self.trust_banner = TrustBanner()
        self.trust_banner.trust_requested.connect(self.trust_document)
        self.canvas_page = QWidget()
        canvas_layout = QVBoxLayout(self.canvas_page)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.setSpacing(0)
        canvas_layout.addWidget(self.trust_banner)
        canvas_layout.addWidget(self.view, 1)
        self.central.addWidget(self.canvas_page)
        self.quick_add = QuickAddPopup(self.view)
        self.quick_add.chosen.connect(self._quick_chosen)
        self.inspector = Inspector()
        self.problems_panel = ProblemsPanel()
        self.history_view = QUndoView(self.undo_group)
        self.history_view.setObjectName("historyView")
        self.history_view.setEmptyLabel("Opened")
        self._fill_dock(self.overview_dock, self.view.minimap)
        self._fill_dock(self.inspector_dock, self.inspector)
        self._fill_dock(self.history_dock, self.history_view)
        self._fill_dock(self.problems_dock, self.problems_panel)
        self._build_run()
        install_settings_action(self)
        install_export_action(self)
        install_help_menu(self)
        self.view.node_type_dropped.connect(self._add_node_at)
        self.view.quick_add_requested.connect(self.open_quick_add)
        self.view.zoom_changed.connect(self._show_zoom)
        self.problems_panel.problem_activated.connect(self.reveal_problem)
        self.problems_panel.count_changed.connect(self._show_problem_count)
        self.apply_settings()
        if self.start_page._recent != list(self.settings.recent_files):
            self.start_page.refresh(self.settings.recent_files)
        else:
            self.start_page.repaint_pictures()  # in the registry's categories, now it is discovered
        if getattr(self, "_sized_docks", False):
            self._size_docks()
        self._update_actions()
        callbacks, self._when_ready = self._when_ready, []
        for callback in callbacks:
            callback()

    def _fill_dock(self, dock: QDockWidget, widget: QWidget) -> None:
        placeholder = dock.widget()
        dock.setWidget(widget)
        if placeholder is not None and placeholder is not widget:
            placeholder.deleteLater()

    # -- construction -----------------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        """Every dock; the palette is filled, and the overview map, inspector, problems list and
        Run panel put in, by `ensure_ready`."""
        self.palette_widget = NodePalette()
        self.palette_dock = self._dock(
            "Nodes", "paletteDock", self.palette_widget, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.overview_dock = self._dock(
            "Overview", "overviewDock", _placeholder("overview"), Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.splitDockWidget(self.palette_dock, self.overview_dock, Qt.Orientation.Vertical)
        self.inspector_dock = self._dock(
            "Inspector", "inspectorDock", _placeholder("inspector"), Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.history_dock = self._dock(
            "History", "historyDock", _placeholder("history"), Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tabifyDockWidget(self.inspector_dock, self.history_dock)
        self.history_dock.hide()
        self.problems_dock = self._dock(
            "Problems", "problemsDock", _placeholder("problems"), Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.resizeDocks([self.palette_dock, self.inspector_dock], [230, 340], Qt.Orientation.Horizontal)
        self.resizeDocks([self.problems_dock], [150], Qt.Orientation.Vertical)
        self.problems_dock.hide()  # shown when a workflow has problems, or from the status bar
        self.run_dock = self.add_bottom_panel(_placeholder("run"), "Run", "runDock")
        self.run_dock.hide()  # shown when a run starts

    def add_bottom_panel(self, widget: QWidget, title: str, name: str) -> QDockWidget:
        """Add a panel to the bottom area, as a tab next to Problems (run output goes here)."""
        dock = self._dock(title, name, widget, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.problems_dock, dock)
        return dock

    def _action(
        self,
        text: str,
        name: str,
        slot: Any,
        shortcut: QKeySequence.StandardKey | str | list[Any] | None = None,
        *,
        icon: QStyle.StandardPixmap | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif isinstance(shortcut, QKeySequence.StandardKey):
            action.setShortcuts(shortcut)
        elif shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{text.replace('&', '').rstrip('…')} — {tip}")
        action.setCheckable(checkable)
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        key = QKeySequence.StandardKey
        self.act_new = self._action(
            "&New",
            "actionNew",
            self.new_document,
            key.New,
            icon=sp.SP_FileIcon,
            tip="Start an empty workflow",
        )
        self.act_open = self._action(
            "&Open…",
            "actionOpen",
            self.open_dialog,
            key.Open,
            icon=sp.SP_DialogOpenButton,
            tip="Open a workflow file",
        )
        self.act_save = self._action(
            "&Save", "actionSave", self.save, key.Save, icon=sp.SP_DialogSaveButton, tip="Save the workflow"
        )
        self.act_save_as = self._action(
            "Save &As…", "actionSaveAs", self.save_as, key.SaveAs, tip="Save under a new name"
        )
        self.act_close = self._action("&Close Window", "actionClose", self.close, key.Close)
        self.act_quit = self._action("&Quit", "actionQuit", self.quit_all, key.Quit)
        self.act_undo = self.undo_group.createUndoAction(self, "&Undo")
        self.act_undo.setObjectName("actionUndo")
        self.act_undo.setShortcuts(key.Undo)
        self.act_undo.setIcon(self.style().standardIcon(sp.SP_ArrowBack))
        self.act_redo = self.undo_group.createRedoAction(self, "&Redo")
        self.act_redo.setObjectName("actionRedo")
        self.act_redo.setShortcuts(key.Redo)
        self.act_redo.setIcon(self.style().standardIcon(sp.SP_ArrowForward))
        self.addAction(self.act_undo)
        self.addAction(self.act_redo)
        # The toolbar's buttons keep a short, fixed label; the menu items name the step.
        self.tool_undo = self._toolbar_twin(self.act_undo, "Undo", "toolUndo")
        self.tool_redo = self._toolbar_twin(self.act_redo, "Redo", "toolRedo")
        self.act_cut = self._action("Cu&t", "actionCut", self.cut, key.Cut)
        self.act_copy = self._action(
            "&Copy", "actionCopy", self.copy, key.Copy, tip="Copy the selection as workflow JSON"
        )
        self.act_paste = self._action("&Paste", "actionPaste", self.paste, key.Paste)
        self.act_duplicate = self._action("D&uplicate", "actionDuplicate", self.duplicate, "Ctrl+D")
        delete_keys = [QKeySequence(k) for k in QKeySequence.keyBindings(key.Delete)] + [
            QKeySequence("Backspace")
        ]
        self.act_delete = self._action("&Delete", "actionDelete", self.delete, None)
        self.act_delete.setShortcuts(delete_keys)
        self.act_select_all = self._action("Select &All", "actionSelectAll", self.select_all, key.SelectAll)
        self.act_find = self._action(
            "&Find Node…", "actionFind", self.find_node, key.Find, tip="Find a node by title or id"
        )
        self.act_arrange = self._action(
            "A&rrange Nodes",
            "actionArrange",
            self.arrange_nodes,
            "Ctrl+Shift+L",
            tip="Lay the nodes out left to right as data flows (the selected ones, if two or more)",
        )
        self.act_history = self._action(
            "&History", "actionHistory", self.show_history, "Ctrl+H", tip="Every edit, to step back to"
        )
        self.act_add_node = self._action(
            "Add &Node…",
            "actionAddNode",
            self.quick_add_at_cursor,
            None,
            tip="Search the catalogue (Tab on the canvas)",
        )
        self.act_add_comment = self._action(
            "Add &Comment", "actionAddComment", self.add_comment, None, tip="A sticky note on the canvas"
        )
        self.act_zoom_in = self._action(
            "Zoom &In", "actionZoomIn", lambda: self.view.zoom_by(1.25), key.ZoomIn
        )
        self.act_zoom_out = self._action(
            "Zoom &Out", "actionZoomOut", lambda: self.view.zoom_by(0.8), key.ZoomOut
        )
        self.act_zoom_reset = self._action(
            "&Actual Size", "actionZoomReset", lambda: self.view.set_zoom(1.0), "Ctrl+0"
        )
        self.act_fit = self._action(
            "&Fit to Window",
            "actionFit",
            lambda: self.view.fit_to_view(),
            "Ctrl+1",
            tip="Show the whole workflow",
        )
        self.act_zoom_selection = self._action(
            "Zoom to &Selection", "actionZoomSelection", lambda: self.view.zoom_to_selection(), "Ctrl+2"
        )
        self.act_snap = self._action(
            "Snap to &Grid",
            "actionSnap",
            self.set_snap,
            "Ctrl+'",
            checkable=True,
            tip="Line nodes up on the grid",
        )
        self.act_minimap = self.overview_dock.toggleViewAction()
        self.act_minimap.setText("&Overview Map")
        self.act_minimap.setObjectName("actionMinimap")
        self.act_about = self._action("&About Chainwright", "actionAbout", self.about, None)
        self.document_actions = [
            self.act_save, self.act_save_as, self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
            self.act_delete, self.act_select_all, self.act_find, self.act_arrange, self.act_add_node,
            self.act_add_comment, self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset, self.act_fit, self.act_zoom_selection,
        ]  # fmt: skip
        for action in self.document_actions:
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    def _toolbar_twin(self, action: QAction, text: str, name: str) -> QAction:
        twin = QAction(action.icon(), text, self)
        twin.setObjectName(name)
        twin.setEnabled(action.isEnabled())
        twin.triggered.connect(action.trigger)
        action.changed.connect(
            lambda: (twin.setEnabled(action.isEnabled()), twin.setToolTip(action.text().replace("&", "")))
        )
        return twin

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        self.examples_menu = file_menu.addMenu("New from &Example")
        self.examples_menu.setObjectName("menuExamples")
        self.examples_menu.aboutToShow.connect(self._fill_examples_menu)
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("menuRecent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        file_menu.addAction(self.act_close)
        file_menu.addAction(self.act_quit)

        edit = bar.addMenu("&Edit")
        for action in (self.act_undo, self.act_redo, None, self.act_cut, self.act_copy, self.act_paste,
                       self.act_duplicate, self.act_delete, None, self.act_select_all, self.act_find,
                       self.act_arrange, None, self.act_history):  # fmt: skip
            edit.addSeparator() if action is None else edit.addAction(action)

        insert = bar.addMenu("&Insert")
        insert.addAction(self.act_add_node)
        insert.addAction(self.act_add_comment)

        view = bar.addMenu("&View")
        for action in (self.act_zoom_in, self.act_zoom_out, self.act_zoom_reset, self.act_fit,
                       self.act_zoom_selection, None, self.act_snap, self.act_minimap, None):  # fmt: skip
            view.addSeparator() if action is None else view.addAction(action)
        for dock in (self.palette_dock, self.inspector_dock, self.problems_dock, self.history_dock):
            view.addAction(dock.toggleViewAction())

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in (self.act_new, self.act_open, self.act_save, None, self.tool_undo, self.tool_redo, None,
                       self.act_add_node, self.act_add_comment, None, self.act_fit, self.act_snap):  # fmt: skip
            bar.addSeparator() if action is None else bar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        self.counts_label = QLabel()
        self.counts_label.setObjectName("countsLabel")
        self.problems_button = QPushButton()
        self.problems_button.setObjectName("problemsButton")
        self.problems_button.setFlat(True)
        self.problems_button.clicked.connect(self.show_problems)
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("zoomLabel")
        status.addPermanentWidget(self.counts_label)
        status.addPermanentWidget(self.problems_button)
        status.addPermanentWidget(self.zoom_label)

    def _connect(self) -> None:
        self.start_page.new_requested.connect(self.new_document)
        self.start_page.open_requested.connect(self.open_dialog)
        self.start_page.path_chosen.connect(self.open_path)
        self.start_page.example_chosen.connect(self.open_example)
        self.palette_widget.activated.connect(self._palette_activated)
        self.undo_group.cleanChanged.connect(self._update_title)

    # -- documents ------------------------------------------------------------------------------------
    @property
    def doc(self) -> WorkflowDocument | None:
        return self.editor.doc if self.editor is not None else None

    def is_pristine(self) -> bool:
        """Nothing here worth keeping: the start page, or an untitled, unchanged, empty workflow."""
        if self.editor is None:
            return True
        doc = self.editor.doc
        return doc.path is None and self.editor.stack.isClean() and not doc.nodes and not doc.comments()

    def _target_window(self) -> MainWindow:
        if self.is_pristine():
            return self
        window = MainWindow(self.settings, self.registry)
        window.show()
        return window

    def new_document(self) -> MainWindow:
        from app.core.document import WorkflowDocument

        window = self._target_window()
        window.set_document(WorkflowDocument(registry=self.registry))
        return window

    def open_dialog(self) -> None:
        start = (
            str(Path(self.doc.path).parent) if self.doc is not None and self.doc.path else str(Path.home())
        )
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Open workflow", start, OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> MainWindow | None:
        """Open a file (in this window if it holds nothing worth keeping, else in a new one).
        A file that cannot be read is reported; one with mistakes opens, with its problems listed."""
        from app.core import trust
        from app.core.document import WorkflowDocument
        from app.core.model import WorkflowFileError, load_workflow

        path = Path(path)
        for window in MainWindow.windows:
            if window.doc is not None and window.doc.path is not None and _same(window.doc.path, path):
                window.raise_()
                window.activateWindow()
                return window
        try:
            if path.suffix == ".py":
                # A script Chainwright exported: its embedded workflow opens as a new, untitled
                # document, so Save never writes JSON over the script.
                doc = WorkflowDocument(load_workflow(path), registry=self.registry)
            else:
                doc = WorkflowDocument.open(path, registry=self.registry)
        except WorkflowFileError as exc:
            self.show_error("This workflow cannot be opened", exc.render())
            self._forget_recent(path)
            return None
        window = self._target_window()
        window.set_document(doc, restricted=not trust.is_trusted_file(path))
        if path.suffix == ".py":
            window._status(
                f"Opened the workflow inside {path.name}; Save asks where to keep it as a workflow file"
            )
        else:
            window.remember_recent(path)
        return window

    def open_example(self, path: str | Path) -> MainWindow | None:
        """An example opens as a new, untitled workflow, so the gallery itself is never changed."""
        from app.core.document import WorkflowDocument
        from app.core.model import WorkflowFileError, load_workflow

        try:
            workflow = load_workflow(path)
        except WorkflowFileError as exc:
            self.show_error("This example cannot be opened", exc.render())
            return None
        window = self._target_window()
        window.set_document(WorkflowDocument(workflow, registry=self.registry))
        return window

    def set_document(self, doc: WorkflowDocument, *, restricted: bool = False) -> None:
        """Show `doc`; `restricted` for a file this computer's Chainwright did not write (runs are limited
        until the user trusts it)."""
        from app.core.autosave import discard_autosave, document_key
        from app.ui.editor import DocumentEditor

        self.ensure_ready()
        self.restricted = restricted
        self.trust_banner.setVisible(restricted)
        if self.autosave_key is not None:
            discard_autosave(self.autosave_key)
        self.autosave_key = document_key(doc.path)
        old = self.editor
        if old is not None:
            self.undo_group.removeStack(old.stack)
        editor = DocumentEditor(doc, self)
        self.editor = editor
        arranged = needs_arrangement([node.position for node in doc.nodes]) and editor.arrange(
            list(doc.nodes), undoable=False
        )
        self.undo_group.addStack(editor.stack)
        self.undo_group.setActiveStack(editor.stack)
        editor.scene.set_snap(self.act_snap.isChecked())
        editor.status_message.connect(self._status)
        editor.scene.wire_dropped.connect(self._wire_dropped)
        editor.scene.context_menu_requested.connect(self._context_menu)
        editor.scene.node_activated.connect(self._focus_inspector)
        editor.scene.selectionChanged.connect(self._update_actions)
        doc.changed.connect(self._update_counts)
        doc.path_changed.connect(lambda _path: self._update_title())
        doc.workflow_changed.connect(lambda _aspect: self._update_title())
        self.view.setScene(editor.scene)
        self._attach_run(editor)
        self.inspector.set_editor(editor)
        self.problems_panel.set_editor(editor)
        self.central.setCurrentWidget(self.canvas_page)
        self._restore_view(doc)
        self._update_title()
        self._update_counts()
        self._update_actions()
        if old is not None:
            old.deleteLater()
        if arranged:
            self._status(
                "This workflow had no node positions: its nodes were laid out left to right "
                "(Edit ▸ Arrange Nodes); Save keeps this layout"
            )
        QTimer.singleShot(0, self._after_open)

    def arrange_nodes(self) -> None:
        """Edit ▸ Arrange Nodes: the selection if two or more nodes are selected, else all."""
        if self.editor is None:
            return
        nodes = self.editor.nodes_to_arrange()
        if not self.editor.arrange(nodes):
            self._status("The nodes are already arranged")
        elif len(nodes) == len(self.editor.doc.nodes):
            self.view.show_opening_view()  # the whole workflow moved: show it from its start

    def apply_settings(self) -> None:
        """Settings changed (the Settings dialog calls this): restart the autosave timer."""
        seconds = self.settings.autosave_seconds
        if seconds > 0:
            self._autosave_timer.start(seconds * 1000)
        else:
            self._autosave_timer.stop()

    def autosave(self) -> bool:
        """Write unsaved changes to the user data dir (never over the user's file). True if written."""
        if self.editor is None or self.autosave_key is None or self.editor.stack.isClean():
            return False
        from app.core.autosave import write_autosave

        try:
            write_autosave(self.autosave_key, self.editor.doc.workflow, self.editor.doc.path)
        except OSError as exc:
            self._status(f"Autosave failed: {exc.strerror or exc}")
            return False
        return True

    def open_recovered(self, workflow: Workflow, original: Path | None, key: str) -> MainWindow:
        """An autosaved workflow, opened as unsaved changes (Save asks where to keep it). Its autosave
        stays until those changes are saved or discarded."""
        from app.core.document import WorkflowDocument

        window = self._target_window()
        window.set_document(WorkflowDocument(workflow, registry=self.registry))
        window.autosave_key = key
        assert window.editor is not None
        window.editor.stack.resetClean()
        window._status(
            f"Recovered unsaved changes{f' to {original.name}' if original else ''}: save them to keep them"
        )
        return window

    def trust_document(self) -> None:
        """The user trusts the open workflow: remember its content (if it is a file) and lift the limits."""
        if self.editor is None:
            return
        from app.core import trust

        path = self.editor.doc.path
        if path is not None and Path(path).is_file():
            trust.remember(Path(path).read_bytes())
        self.restricted = False
        self.trust_banner.hide()
        self._status("This workflow is trusted: its runs are no longer restricted")

    def _after_open(self) -> None:
        if self.editor is None:
            return
        self.editor.refresh_problems()
        problems = self.editor.doc.problems
        if problems:
            self.problems_dock.show()
            self._status(f"This workflow has {len(problems)} problem(s); they are listed under Problems")

    def _restore_view(self, doc: WorkflowDocument) -> None:
        state = doc.ui_value("view")
        zoom = state.get("zoom") if isinstance(state, dict) else None
        centre = state.get("center") if isinstance(state, dict) else None
        if isinstance(zoom, int | float) and isinstance(centre, list) and len(centre) == 2:
            self.view.set_zoom(float(zoom), QPointF(float(centre[0]), float(centre[1])))
        else:
            self.view.show_opening_view()
            QTimer.singleShot(0, self._fit_if_untouched)
        self.view.user_moved = False
        self._show_zoom(self.view.zoom())

    def _fit_if_untouched(self) -> None:
        if (
            not self.view.user_moved
            and self.editor is not None
            and self.doc is not None
            and not self.doc.ui_value("view")
        ):
            self.view.show_opening_view()
            self.view.user_moved = False

    def _store_view(self) -> None:
        if self.doc is None or not self.view.user_moved:
            return
        centre = self.view.view_centre()
        self.doc.set_ui_value(
            "view", {"zoom": round(self.view.zoom(), 3), "center": [round(centre.x()), round(centre.y())]}
        )

    def save(self) -> bool:
        if self.doc is None:
            return False
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self, path: str | Path | None = None) -> bool:
        if self.doc is None:
            return False
        if path is None:
            suggested = self.doc.path or Path.home() / f"{_file_stem(self.doc.workflow.name)}.json"
            from PySide6.QtWidgets import QFileDialog

            chosen, _ = QFileDialog.getSaveFileName(self, "Save workflow", str(suggested), FILE_FILTER)
            if not chosen:
                return False
            path = chosen if Path(chosen).suffix else chosen + ".json"
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        from app.core import trust
        from app.core.autosave import discard_autosave, document_key
        from app.core.model import WorkflowFileError

        assert self.editor is not None
        self._store_view()
        try:
            saved = self.editor.doc.save(path)
        except WorkflowFileError as exc:
            self.show_error("Not saved", exc.render())
            return False
        except OSError as exc:
            self.show_error("Not saved", f"{path}: {exc.strerror or exc}")
            return False
        self.editor.stack.setClean()
        if self.autosave_key is not None:
            discard_autosave(self.autosave_key)
        self.autosave_key = document_key(saved)
        if not self.restricted:
            # Files the app writes itself are trusted; saving an untrusted one does not launder it.
            trust.remember(Path(saved).read_bytes())
        self.remember_recent(saved)
        self._status(f"Saved {saved}")
        self._update_title()
        return True

    def maybe_save(self) -> bool:
        """Before closing: True if the window may close (saved, discarded or nothing to save)."""
        if self.editor is None or self.editor.stack.isClean():
            return True
        from PySide6.QtWidgets import QMessageBox

        answer = self.ask_save(self.editor.doc.display_name)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def ask_save(self, name: str) -> QMessageBox.StandardButton:
        from PySide6.QtWidgets import QMessageBox

        buttons = (
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        return QMessageBox.question(
            self, "Unsaved changes", f"Save the changes to {name} before closing?", buttons,
            QMessageBox.StandardButton.Save,
        )  # fmt: skip

    def show_error(self, title: str, text: str) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.warning(self, title, text)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        if self in MainWindow.windows:
            MainWindow.windows.remove(self)
        self._autosave_timer.stop()
        if self.autosave_key is not None:
            from app.core.autosave import discard_autosave

            discard_autosave(self.autosave_key)  # saved, or the user chose to discard
        if self._ready:  # no run controller before then
            self.runs.shutdown()
        event.accept()

    def quit_all(self) -> None:
        for window in list(MainWindow.windows):
            if not window.close():
                return
        QApplication.quit()

    # -- recent files --------------------------------------------------------------------------------
    def remember_recent(self, path: Path) -> None:
        text = str(Path(path).resolve())
        recent = [p for p in self.settings.recent_files if p != text]
        self.settings.recent_files = [text, *recent][:MAX_RECENT]
        self._save_settings()

    def _forget_recent(self, path: Path) -> None:
        text = str(Path(path).resolve())
        if text in self.settings.recent_files:
            self.settings.recent_files = [p for p in self.settings.recent_files if p != text]
            self._save_settings()

    def _save_settings(self) -> None:
        if self.settings.load_problem:
            return  # never overwrite a settings file we could not read
        with contextlib.suppress(OSError):
            self.settings.save()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        if not self.settings.recent_files:
            self.recent_menu.addAction("No recent files").setEnabled(False)
            return
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_path(p))
            action.setToolTip(path)
            action.setStatusTip(path)

    def _fill_examples_menu(self) -> None:
        self.examples_menu.clear()
        examples = list_examples()
        if not examples:
            self.examples_menu.addAction("No examples installed").setEnabled(False)
        for example in examples:
            action = self.examples_menu.addAction(example.name, lambda p=example.path: self.open_example(p))
            action.setStatusTip(example.description)

    def _show_start_page(self) -> None:
        self.central.setCurrentWidget(self.start_page)
        self._update_title()
        self._update_actions()

    # -- edit actions -------------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000 if text else 1)

    def copy(self) -> bool:
        if self.editor is None:
            return False
        nodes, comments = self.editor.scene.selected_nodes(), self.editor.scene.selected_comments()
        if not nodes and not comments:
            self._status("Nothing selected to copy")
            return False
        from app.ui.editor import CLIPBOARD_MIME

        text = self.editor.copy_text(nodes, comments)
        data = QMimeData()
        data.setText(text)
        data.setData(CLIPBOARD_MIME, text.encode("utf-8"))
        QGuiApplication.clipboard().setMimeData(data)
        self._status(f"Copied {len(nodes)} node(s) as workflow JSON")
        return True

    def cut(self) -> None:
        if self.copy() and self.editor is not None:
            self.editor.delete_selection()
            self._status("Cut to the clipboard")

    def paste(self) -> None:
        if self.editor is None:
            return
        from app.ui.editor import CLIPBOARD_MIME

        data = QGuiApplication.clipboard().mimeData()
        text = ""
        if data is not None and data.hasFormat(CLIPBOARD_MIME):
            text = bytes(data.data(CLIPBOARD_MIME).data()).decode("utf-8")
        elif data is not None and data.hasText():
            text = data.text()
        at = self._cursor_in_view()
        pasted = self.editor.paste_text(text, at)
        if pasted is None:
            self._status("The clipboard holds no Chainwright nodes (copy nodes, or a workflow file's JSON)")
        else:
            self._status(f"Pasted {len(pasted)} node(s)")

    def _cursor_in_view(self) -> QPointF | None:
        local = self.view.viewport().mapFromGlobal(self.view.cursor().pos())
        if self.view.viewport().rect().contains(local) and self.central.currentWidget() is self.canvas_page:
            return self.view.mapToScene(local)
        return None

    def duplicate(self) -> None:
        if self.editor is not None:
            self.editor.duplicate(self.editor.scene.selected_nodes(), self.editor.scene.selected_comments())

    def delete(self) -> None:
        if self.editor is not None:
            self.editor.delete_selection()

    def select_all(self) -> None:
        if self.editor is None:
            return
        from app.ui.canvas.comment_item import CommentItem
        from app.ui.canvas.node_item import NodeItem

        for item in self.editor.scene.items():
            if isinstance(item, NodeItem | CommentItem):
                item.setSelected(True)

    def show_history(self) -> None:
        self.history_dock.show()
        self.history_dock.raise_()

    def show_problems(self) -> None:
        self.problems_dock.show()
        self.problems_dock.raise_()

    def set_snap(self, enabled: bool) -> None:
        if self.editor is not None:
            self.editor.scene.set_snap(enabled)

    def add_comment(self) -> None:
        if self.editor is not None:
            pos = self._cursor_in_view() or self.view.view_centre()
            comment = self.editor.add_comment(pos)
            item = self.editor.scene.comment_item(comment)
            if item is not None:
                self.editor.scene.clearSelection()
                item.setSelected(True)
                item.start_editing()

    # -- adding nodes --------------------------------------------------------------------------------------
    def _add_node_at(self, type_id: str, scene_pos: QPointF) -> None:
        if self.editor is None:
            self.new_document()
        if self.editor is not None and type_id in self.registry:
            node = self.editor.add_node(type_id, scene_pos)
            self._status(f"Added {node.title} ({node.id})")

    def _palette_activated(self, type_id: str) -> None:
        if self.editor is None:
            self.new_document()
        pos = self.view.view_centre() - QPointF(90, 30)
        self._add_node_at(type_id, pos)

    def quick_add_at_cursor(self) -> None:
        if self.editor is None:
            return
        self.open_quick_add(self._cursor_in_view() or self.view.view_centre())

    def open_quick_add(self, scene_pos: QPointF, drop: WireDrop | None = None) -> None:
        entries = self._catalogue
        heading = ""
        if drop is not None:
            entries = [entry for entry in self._catalogue if _accepts(entry.payload, drop)]
            need = "takes" if drop.from_output else "gives"
            heading = f"Add a node that {need} {drop.type.value} ({drop.node.id}.{drop.port})"
        self._quick_context = {"mode": "add", "pos": scene_pos, "drop": drop}
        self.quick_add.open(self.view.mapFromScene(scene_pos), entries, heading, "Search nodes…")

    def _wire_dropped(self, drop: WireDrop) -> None:
        self.open_quick_add(drop.scene_pos, drop)

    def find_node(self) -> None:
        if self.editor is None:
            return
        from app.ui.fuzzy import Entry

        entries = [
            Entry(
                key=node.id,
                title=node.title or node.id,
                category=node.id,
                description=node.type,
                extra=node.id,
                payload=node,
            )
            for node in self.editor.doc.nodes
        ]
        self._quick_context = {"mode": "find"}
        width = self.quick_add.sizeHint().width()
        self.quick_add.open(
            QPoint(max(8, (self.view.width() - width) // 2), 12), entries, "", "Find a node by title or id…"
        )

    def _quick_chosen(self, entry: Entry) -> None:
        context, self._quick_context = self._quick_context, {}
        if self.editor is None:
            return
        if context.get("mode") == "find":
            node = entry.payload
            item = self.editor.scene.node_item(node)
            if item is not None:
                self.editor.scene.select([node])
                self.view.center_on_item(item)
            return
        pos: QPointF = context.get("pos") or self.view.view_centre()
        drop: WireDrop | None = context.get("drop")
        if drop is not None:
            y_offset = 30.0
            at = QPointF(pos.x() + (20 if drop.from_output else -200), pos.y() - y_offset)
            node, port = self.editor.add_node_connected(entry.key, at, drop)
            self._status(f"Added {node.title}" + (f", connected to {port}" if port else ""))
        else:
            node = self.editor.add_node(entry.key, pos)
            self._status(f"Added {node.title} ({node.id})")
        self.view.setFocus()

    # -- problems and selection ------------------------------------------------------------------------------
    def reveal_problem(self, problem: Problem) -> None:
        if self.editor is None:
            return
        node = self.editor.doc.problem_node(problem)
        if node is None:
            self._status(str(problem))
            return
        item = self.editor.scene.node_item(node)
        if item is not None:
            self.editor.scene.select([node])
            self.view.center_on_item(item)
            self._status(str(problem))

    def _focus_inspector(self, _node: object) -> None:
        self.inspector_dock.show()
        self.inspector_dock.raise_()
        self.inspector.show_settings()
        self.inspector.follow_selection()
        page = self.inspector.page
        title = getattr(page, "title", None)
        if isinstance(title, QWidget):
            title.setFocus()

    def _context_menu(self, screen_pos: QPoint, scene_pos: QPointF, item: object) -> None:
        menu = self.context_menu_for(scene_pos, item)
        if menu is not None:
            menu.exec(screen_pos)
            menu.deleteLater()

    def context_menu_for(self, scene_pos: QPointF, item: object) -> QMenu | None:
        """The canvas's right-click menu for a node, a wire, a comment or empty canvas (None)."""
        if self.editor is None:
            return None
        from app.ui.canvas.comment_item import CommentItem
        from app.ui.canvas.node_item import NodeItem
        from app.ui.canvas.wire_item import WireItem

        menu = QMenu(self)
        if isinstance(item, NodeItem):
            menu.addAction(self.act_duplicate)
            menu.addAction(self.act_copy)
            menu.addAction(self.act_cut)
            menu.addAction(self.act_delete)
            menu.addSeparator()
            menu.addAction(self.act_breakpoint)
            menu.addAction(self.act_run_to)
            menu.addAction(self.act_rerun_from)
        elif isinstance(item, WireItem):
            edge = item.edge
            menu.addAction("Disconnect", lambda: self.editor.disconnect([edge]) if self.editor else None)
        elif isinstance(item, CommentItem):
            menu.addAction("Edit Text", item.start_editing)
            menu.addAction(self.act_delete)
        else:
            menu.addAction("Add Node Here…", lambda: self.open_quick_add(QPointF(scene_pos)))
            menu.addAction(
                "Add Comment Here",
                lambda: self.editor.add_comment(QPointF(scene_pos)) if self.editor else None,
            )
            menu.addAction(self.act_paste)
            menu.addSeparator()
            menu.addAction(self.act_arrange)
            menu.addAction(self.act_fit)
        return menu

    def about(self) -> None:
        from app.ui.help import show_about

        show_about(self)

    # -- runs ----------------------------------------------------------------------------------------------------
    def _build_run_actions(self) -> None:
        """The Run menu, toolbar buttons and status-bar totals (the shell; `_build_run` adds the
        run controller and the Run panel)."""
        sp = QStyle.StandardPixmap
        self.act_run = self._action(
            "&Run",
            "actionRun",
            self.run_workflow,
            "F5",
            icon=sp.SP_MediaPlay,
            tip="Run the workflow (asks for its inputs); at a breakpoint, continue",
        )
        self.act_run_fresh = self._action(
            "Run &Fresh",
            "actionRunFresh",
            lambda: self.run_workflow(fresh=True),
            "Ctrl+F5",
            tip="Run every node again, ignoring cached results",
        )
        self.act_run_to = self._action(
            "Run &Selected Node",
            "actionRunTo",
            self.run_selected,
            "Ctrl+Return",
            tip="Run the selected node and the nodes that feed it",
        )
        self.act_rerun_from = self._action(
            "Re-run From &Here",
            "actionRerunFrom",
            self.rerun_from_selected,
            "Ctrl+Shift+Return",
            tip="Run the selected node and everything after it again, reusing the last results before it",
        )
        self.act_pause = self._action(
            "&Pause",
            "actionPause",
            self.pause_run,
            "F6",
            icon=sp.SP_MediaPause,
            tip="Start no new nodes (those running finish)",
        )
        self.act_step = self._action(
            "S&tep",
            "actionStep",
            self.step_run,
            "F10",
            icon=sp.SP_MediaSkipForward,
            tip="Run one node, then pause again (when no run is going: start one paused)",
        )
        self.act_continue = self._action(
            "&Continue",
            "actionContinue",
            self.continue_run,
            "F8",
            icon=sp.SP_MediaSeekForward,
            tip="Carry on; at a breakpoint, with the inputs as edited in the inspector",
        )
        self.act_stop = self._action(
            "St&op",
            "actionStop",
            self.stop_run,
            "Shift+F5",
            icon=sp.SP_MediaStop,
            tip="Stop the run: requests in flight are aborted, finished results stay",
        )
        self.act_breakpoint = self._action(
            "Toggle &Breakpoint",
            "actionBreakpoint",
            self.toggle_breakpoint,
            "F9",
            tip="Pause the run before the selected node runs (a red dot)",
        )
        self.act_clear_breakpoints = self._action(
            "Remove All Breakpoints",
            "actionClearBreakpoints",
            lambda: self.runs.set_breakpoints(()),
            "Ctrl+Shift+F9",
        )
        self.act_clear_run = self._action(
            "C&lear Run From Canvas",
            "actionClearRun",
            lambda: self.runs.clear(),
            None,
            tip="Hide the run's states and previews on the canvas",
        )
        self.act_run_panel = self.run_dock.toggleViewAction()
        self.act_run_panel.setText("Run Pa&nel")
        self.act_run_panel.setObjectName("actionRunPanel")
        self.run_actions = [
            self.act_run, self.act_run_fresh, self.act_run_to, self.act_rerun_from, self.act_pause, self.act_step,
            self.act_continue, self.act_stop, self.act_breakpoint, self.act_clear_breakpoints, self.act_clear_run,
        ]  # fmt: skip
        for action in self.run_actions:
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

        menu = QMenu("&Run", self)
        menu.setObjectName("menuRun")
        for action in (self.act_run, self.act_run_fresh, self.act_run_to, self.act_rerun_from, None,
                       self.act_pause, self.act_step, self.act_continue, self.act_stop, None,
                       self.act_breakpoint, self.act_clear_breakpoints, None, self.act_clear_run,
                       self.act_run_panel):  # fmt: skip
            menu.addSeparator() if action is None else menu.addAction(action)
        bar = self.menuBar()
        help_action = next((a for a in bar.actions() if a.text() == "&Help"), None)
        if help_action is not None:
            bar.insertMenu(help_action, menu)
        else:
            bar.addMenu(menu)
        self.run_menu = menu
        view_action = next((a for a in bar.actions() if a.text() == "&View"), None)
        if view_action is not None and view_action.menu() is not None:
            view_action.menu().addAction(self.act_run_panel)
        self.toolbar.addSeparator()
        for action in (self.act_run, self.act_pause, self.act_step, self.act_continue, self.act_stop):
            self.toolbar.addAction(action)

        self.run_label = LiveLabel()
        self.run_label.setObjectName("runTotals")
        self.run_label.setTextFormat(Qt.TextFormat.RichText)
        self.run_label.hide()
        self.statusBar().insertPermanentWidget(0, self.run_label)
        self._run_clock = QTimer(self)
        self._run_clock.setInterval(250)
        self._run_clock.timeout.connect(self._update_run_label)

    def _build_run(self) -> None:
        """The run controller (the executor on its own thread, see `run_bridge`) and the Run panel."""
        from app.ui.run_bridge import RunController
        from app.ui.run_inputs import InputMemory
        from app.ui.run_panel import RunPanel

        self.runs = RunController(self.settings, self.registry, self)
        self.input_memory = InputMemory()
        self.inputs_dialog = None
        self.run_panel = RunPanel(self.runs)
        self._fill_dock(self.run_dock, self.run_panel)
        self.inspector.set_run_controller(self.runs)
        runs = self.runs
        runs.state_changed.connect(self._run_state_changed)
        runs.nodes_changed.connect(self._run_nodes_changed)
        runs.run_changed.connect(self._run_changed)
        runs.busy_changed.connect(self._run_busy_changed)
        runs.paused_changed.connect(self._run_paused)
        runs.breakpoints_changed.connect(self._breakpoints_changed)
        runs.message.connect(self._status)
        runs.run_ended.connect(self._run_ended)
        self.run_panel.node_activated.connect(self.reveal_node)

    def _attach_run(self, editor: DocumentEditor) -> None:
        if self.inputs_dialog is not None:
            self.inputs_dialog.reject()
        self.runs.set_document(editor.doc)
        self.runs.set_breakpoints(())
        editor.scene.set_run_view(self.runs.shown)
        editor.scene.set_breakpoints(self.runs.breakpoints)
        self.run_panel.refresh_history()

    def run_workflow(self, fresh: bool = False) -> None:
        """Run (F5): ask for the inputs, then run the whole workflow; when paused, continue."""
        if self.runs.paused and not fresh:
            self.continue_run()
            return
        self.start_run(fresh=fresh)

    def run_selected(self) -> None:
        node = self._single_selected()
        if node is not None:
            self.start_run(mode="run_to", node_id=node.id)

    def rerun_from_selected(self) -> None:
        node = self._single_selected()
        if node is not None:
            self.start_run(mode="run_from", node_id=node.id)

    def _single_selected(self) -> Any:
        if self.editor is None:
            return None
        nodes = self.editor.scene.selected_nodes()
        if len(nodes) != 1:
            self._status("Select one node first")
            return None
        return nodes[0]

    def start_run(
        self,
        inputs: dict[str, Any] | None = None,
        *,
        mode: str = "run",
        node_id: str | None = None,
        fresh: bool = False,
        restricted: bool = False,
        step: bool = False,
    ) -> RunState | None:
        """Start a run of the open workflow. With `inputs` None the inputs form asks for them
        first (when the workflow has any; the run then starts when the form is accepted)."""
        if self.editor is None or self.runs.busy:
            return None
        from app.ui.run_inputs import workflow_inputs

        doc = self.editor.doc
        specs = workflow_inputs(doc.workflow)
        has_previous = self.runs.last_result is not None or self.runs.replaying
        if inputs is None and specs and not (mode == "run_from" and has_previous):
            self._ask_inputs(specs, mode=mode, node_id=node_id, fresh=fresh, restricted=restricted, step=step)
            return None
        restricted = restricted or self.restricted
        options = {"mode": mode, "node_id": node_id, "fresh": fresh, "restricted": restricted, "step": step}
        state = self.runs.start(doc.workflow, inputs=inputs, workflow_path=doc.path, **options)
        if state is None:
            self.editor.refresh_problems()
            if doc.problems:
                self.show_problems()
            return None
        if not self.run_dock.isVisible():
            self.run_dock.show()
            if not getattr(self, "_run_dock_sized", False):  # the first time: room for the log
                self._run_dock_sized = True
                self.resizeDocks([self.run_dock], [max(220, self.height() // 4)], Qt.Orientation.Vertical)
        self.run_dock.raise_()
        self.inspector_dock.show()
        self.inspector.show_run()
        what = {"run_to": "to the selected node", "run_from": "from the selected node"}.get(mode, "")
        self._status(f"Running{' ' + what if what else ''}{' without the cache' if fresh else ''}…")
        return state

    def _ask_inputs(self, specs: list[Any], **options: Any) -> None:
        from app.ui.run_bridge import workflow_key
        from app.ui.run_inputs import RunInputsDialog

        assert self.editor is not None
        doc = self.editor.doc
        key = workflow_key(doc.path)
        session = str(id(doc))
        remembered = self.input_memory.recall(key, session)
        dialog = RunInputsDialog(specs, remembered, title=doc.workflow.name or doc.display_name, parent=self)
        self.inputs_dialog = dialog

        def accepted() -> None:
            values = dialog.values()
            self.inputs_dialog = None
            if values is None or self.editor is None or self.editor.doc is not doc:
                return
            self.input_memory.remember(key, dialog.raw_values(), session)
            self.start_run(values, **options)

        def finished(_result: int) -> None:
            if self.inputs_dialog is dialog:
                self.inputs_dialog = None
            dialog.deleteLater()
            self.activateWindow()  # keyboard shortcuts (F8, F9…) go to this window again

        dialog.accepted.connect(accepted)
        dialog.finished.connect(finished)
        dialog.open()

    def pause_run(self) -> None:
        if self.runs.pause():
            self._status("Pausing: running nodes finish, no new ones start")

    def step_run(self) -> None:
        if self.runs.busy:
            self.runs.step()
        else:
            self.start_run(step=True)

    def continue_run(self) -> None:
        self.runs.continue_()

    def stop_run(self) -> None:
        if self.runs.cancel():
            self._status("Stopping the run…")

    def toggle_breakpoint(self) -> None:
        if self.editor is None:
            return
        nodes = self.editor.scene.selected_nodes()
        if not nodes:
            self._status("Select a node to put a breakpoint on")
            return
        for node in nodes:
            on = self.runs.toggle_breakpoint(node.id)
        if len(nodes) == 1:
            name = nodes[0].title or nodes[0].id
            self._status(
                f"Breakpoint on {name}: runs pause before it" if on else f"Breakpoint removed from {name}"
            )

    def reveal_node(self, node_id: str) -> None:
        if self.editor is None:
            return
        node = self.editor.doc.node(node_id)
        item = self.editor.scene.node_item(node) if node is not None else None
        if node is not None and item is not None:
            self.editor.scene.select([node])
            if (
                not self.view.mapToScene(self.view.viewport().rect())
                .boundingRect()
                .contains(item.sceneBoundingRect())
            ):
                self.view.center_on_item(item)

    def _run_changed(self) -> None:
        state = self.runs.shown
        if state is not None and state.live and self._run_clock.isActive():
            return  # while running, the clock refreshes the totals four times a second
        self._update_run_label()

    def _run_state_changed(self, state: RunState | None) -> None:
        if self.editor is not None:
            self.editor.scene.set_run_view(state)
        self._update_run_label()
        self.run_label.allow_shrink()  # a new run: the totals start short again
        self._update_run_actions()

    def _run_nodes_changed(self, node_ids: Any) -> None:
        if self.editor is not None:
            self.editor.scene.refresh_run_nodes(node_ids)

    def _run_busy_changed(self, busy: bool) -> None:
        if busy:
            self._run_clock.start()
        else:
            self._run_clock.stop()
        self._update_run_label()
        self._update_run_actions()

    def _run_paused(self, reason: str, node_id: str) -> None:
        self._update_run_actions()
        self._update_run_label()
        if reason == "breakpoint" and node_id:
            self.reveal_node(node_id)
            self.inspector_dock.show()
            self.inspector_dock.raise_()
            self.inspector.show_run()
            title = self.runs.live.title(node_id) if self.runs.live is not None else node_id
            self._status(
                f"Paused before {title}: its inputs can be edited in the inspector; Continue (F8) runs it"
            )
        elif reason:
            self._status("Paused: Continue (F8) carries on, Step (F10) runs one node")

    def _run_ended(self, state: RunState) -> None:
        if state.status == "succeeded":
            self._status(
                "Run finished: select a node to see what went in and out; outputs are in the Run panel"
            )
        elif state.status == "failed":
            failed = [n for n, s in state.nodes.items() if s.status == "failed"]
            names = ", ".join(state.title(node_id) for node_id in failed[:3]) + (
                "…" if len(failed) > 3 else ""
            )
            count = f"{len(failed)} node{'s' if len(failed) != 1 else ''} failed"
            self._status(f"Run finished: {count} ({names}); select one to see why" if failed else state.error)
        else:
            self._status("Run stopped: finished results are kept on the canvas")

    def _breakpoints_changed(self, node_ids: Any) -> None:
        if self.editor is not None:
            self.editor.scene.set_breakpoints(node_ids)
        self._update_run_actions()

    def _update_run_label(self) -> None:
        from app.ui.run_state import run_headline, run_totals_text

        state = self.runs.shown
        if state is None:
            self.run_label.hide()
            return
        colour = {"succeeded": "#2e9d57", "failed": "#d93025", "cancelled": "#a0785a"}.get(
            state.status, "#2f7de1"
        )
        if state.live and state.paused:
            colour = "#e08a00"
        prefix = "Past run · " if state.replay else ""
        self.run_label.setText(
            f"<span style='color:{colour}'>●</span> {prefix}{run_headline(state)} · {run_totals_text(state)}"
        )
        self.run_label.show()

    def _update_run_actions(self) -> None:
        if not hasattr(self, "act_run"):
            return
        has_doc = self.editor is not None
        runs = self.runs if self._ready else None  # no run controller yet: nothing has run
        busy, paused = (runs.busy, runs.paused) if runs is not None else (False, False)
        selected = self.editor.scene.selected_nodes() if self.editor is not None else []
        one = len(selected) == 1
        self.act_run.setEnabled(has_doc and (not busy or paused))
        self.act_run_fresh.setEnabled(has_doc and not busy)
        self.act_run_to.setEnabled(one and not busy)
        self.act_rerun_from.setEnabled(one and not busy)
        self.act_pause.setEnabled(busy and not paused)
        self.act_step.setEnabled(has_doc and (not busy or paused))
        self.act_continue.setEnabled(busy and paused)
        self.act_stop.setEnabled(busy)
        self.act_breakpoint.setEnabled(bool(selected))
        self.act_clear_breakpoints.setEnabled(runs is not None and bool(runs.breakpoints))
        self.act_clear_run.setEnabled(runs is not None and runs.shown is not None and not busy)

    # -- window state ---------------------------------------------------------------------------------------------
    def _update_title(self, *_args: object) -> None:
        if self.editor is None:
            self.setWindowTitle("Chainwright")
            self.setWindowModified(False)
            return
        doc = self.editor.doc
        name = doc.display_name
        if doc.path is None and doc.workflow.name:
            name = f"{doc.workflow.name} (unsaved)"
        self.setWindowTitle(f"{name}[*] — Chainwright")
        self.setWindowModified(not self.editor.stack.isClean())

    def _update_counts(self) -> None:
        if self.doc is None:
            self.counts_label.setText("")
            return
        self.counts_label.setText(f"{len(self.doc.nodes)} nodes · {len(self.doc.edges)} wires")

    def _show_problem_count(self, count: int) -> None:
        self.problems_button.setText(
            f"⚠ {count} problem{'s' if count != 1 else ''}" if count else "✓ No problems"
        )
        self.problems_button.setVisible(self.editor is not None)

    def _show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def _update_actions(self) -> None:
        has_doc = self.editor is not None
        for action in self.document_actions:
            action.setEnabled(has_doc)
        self.problems_button.setVisible(has_doc)
        self._update_run_actions()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not getattr(self, "_sized_docks", False):
            self._sized_docks = True
            self._size_docks()
            # Once the window is up, the engine prepares the first run in its own thread.
            QTimer.singleShot(WARM_UP_AFTER_SHOW_MS, self, lambda: self.when_ready(self._warm_up_runs))

    def _warm_up_runs(self) -> None:
        runs = self.__dict__.get("runs")
        if runs is not None:
            runs.warm_up()

    def _size_docks(self) -> None:
        self.resizeDocks(
            [self.palette_dock, self.overview_dock], [self.height(), 150], Qt.Orientation.Vertical
        )
        self.resizeDocks([self.palette_dock, self.inspector_dock], [220, 340], Qt.Orientation.Horizontal)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) and self.editor:
            self.editor.scene.set_colours(CanvasColours.from_palette())
            self.view.viewport().update()
            self.view.minimap.schedule_render()
        super().changeEvent(event)


def _placeholder(name: str) -> QWidget:
    """A dock's content until `ensure_ready` puts the real one in."""
    widget = QWidget()
    widget.setObjectName(f"{name}Placeholder")
    return widget


def _accepts(described: dict[str, Any], drop: WireDrop) -> bool:
    from app.core.values import DataType, can_connect

    if drop.from_output:
        return any(can_connect(drop.type, DataType(port["type"])) for port in described["inputs"])
    return any(can_connect(DataType(port["type"]), drop.type) for port in described["outputs"])


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _file_stem(name: str) -> str:
    stem = (
        "".join(ch if ch.isalnum() or ch in "-_ " else "_" for ch in name).strip().replace(" ", "-").lower()
    )
    return stem or "workflow"
