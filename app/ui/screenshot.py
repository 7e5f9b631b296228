"""Render the main window to a PNG (offscreen), for the docs and for looking at the UI.

    python -m app.ui.screenshot docs/screenshot-light.png --theme light \\
        --open resources/examples/classify-and-route.json --select classify
    python -m app.ui.screenshot docs/start-page.png        # the start page
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the Chainwright window to a PNG.")
    parser.add_argument("output")
    parser.add_argument("--theme", choices=["light", "dark"], default="light")
    parser.add_argument("--open", dest="path", help="a workflow file to open")
    parser.add_argument("--select", help="the id of a node to select (the inspector shows it)")
    parser.add_argument("--size", default="1440x900", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (2 for HiDPI)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.scale != 1.0:
        os.environ["QT_SCALE_FACTOR"] = str(args.scale)

    from PySide6.QtWidgets import QApplication

    from app.core.settings import Settings
    from app.ui.main_window import MainWindow
    from app.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Chainwright")
    apply_theme(app, args.theme)
    window = MainWindow(Settings())
    width, height = (int(part) for part in args.size.split("x"))
    window.resize(width, height)
    window.show()
    if args.path:
        window.open_path(args.path)
    settle(app)
    if args.select and window.editor is not None:
        node = window.editor.doc.node(args.select)
        if node is not None:
            window.editor.scene.select([node])
    settle(app)
    window.grab().save(args.output)
    print(args.output)
    return 0


def settle(app: object, seconds: float = 0.6) -> None:
    """Let Qt process events (layouts, paints, timers) for `seconds`."""
    from PySide6.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
