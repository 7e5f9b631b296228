"""Render the window after a real run to a PNG (offscreen), for the docs and for looking at it.

    python -m app.ui.run_screenshot docs/screenshot-run.png \\
        --example classify-and-route --select writer_complaint

The example runs as it is (its model nodes use the built-in local model, so nothing leaves the
machine); `--fake-llm` answers with the test fake instead. Nothing is saved.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run an example and render the window to a PNG.")
    parser.add_argument("output")
    parser.add_argument(
        "--example", default="classify-and-route", help="an example's file name, without .json"
    )
    parser.add_argument("--select", help="the node whose Run tab is shown")
    parser.add_argument("--centre", help="the node to centre the canvas on (default: fit the workflow)")
    parser.add_argument("--zoom", type=float, default=0.8, help="canvas zoom with --centre")
    parser.add_argument("--theme", choices=["light", "dark"], default="light")
    parser.add_argument("--size", default="1600x1000", help="window size, WIDTHxHEIGHT")
    parser.add_argument("--fake-llm", action="store_true", help="answer with the test fake server instead")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not os.environ.get("CHAINWRIGHT_SCREENSHOT_KEEP_HOME"):
        home = tempfile.mkdtemp(prefix="chainwright-shot-")  # an empty cache and history
        for variable, folder in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                                 ("XDG_CACHE_HOME", "cache")):  # fmt: skip
            os.environ[variable] = str(Path(home) / folder)

    from PySide6.QtWidgets import QApplication

    from app.core.model import load_workflow
    from app.core.resources import examples_dir
    from app.core.settings import Settings
    from app.ui.main_window import MainWindow
    from app.ui.screenshot import settle
    from app.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Chainwright")
    apply_theme(app, args.theme)
    server = None
    source = examples_dir() / f"{args.example}.json"
    workflow = load_workflow(source)
    if args.fake_llm:
        from tests.fakes.fake_llm import FakeLLMServer

        server = FakeLLMServer(chunk_delay_ms=5).start()
        os.environ["OPENAI_BASE_URL"] = server.base_url_openai
        os.environ.setdefault("OPENAI_API_KEY", "sk-fake-screenshot")
        for node in workflow.nodes:
            if node.type == "model.chat":
                node.config.update(provider="openai", model="fake-small")
    try:
        window = MainWindow(Settings())
        width, height = (int(part) for part in args.size.split("x"))
        window.resize(width, height)
        window.show()
        window.palette_dock.hide()
        window.overview_dock.hide()
        # A copy next to the example, so relative paths (notes.txt, sales.csv) still resolve.
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / source.name
            for sibling in examples_dir().iterdir():
                if sibling.is_file():
                    (Path(folder) / sibling.name).write_bytes(sibling.read_bytes())
            from app.core.model import save_workflow

            save_workflow(workflow, copy)
            window.open_path(copy)
            window.trust_document()  # a gallery example, as when opened from the welcome page
            settle(app, 0.3)
            state = window.start_run({})
            if state is None:
                print("the run did not start", file=sys.stderr)
                return 1
            end = time.monotonic() + args.timeout
            while window.runs.busy and time.monotonic() < end:
                app.processEvents()
                time.sleep(0.01)
            settle(app, 0.3)
            if args.select and window.editor is not None:
                node = window.editor.doc.node(args.select)
                if node is not None:
                    window.editor.scene.select([node])
            window.inspector.show_run()
            centre = window.editor.doc.node(args.centre) if args.centre and window.editor else None
            item = window.editor.scene.node_item(centre) if centre is not None and window.editor else None
            if item is not None:
                window.view.set_zoom(args.zoom, item.sceneBoundingRect().center())
            else:
                window.view.fit_to_view()
            settle(app, 0.6)
            window.grab().save(args.output)
            print(f"{args.output}: {state.status}, {len(state.nodes)} nodes")
            window.runs.shutdown()
            window.close()
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
