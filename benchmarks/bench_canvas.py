"""Canvas speed: load to first paint, and pan frame times, for large workflows (issue 6 §7).

    python -m benchmarks.bench_canvas            # 500 and 2000 nodes
    python -m benchmarks.bench_canvas --quick    # 500 nodes, fewer frames
    python -m benchmarks.bench_canvas --sizes 2000 5000

Runs offscreen. For each size it reports:
* load → first paint: parse the file bytes, build the document and the scene, fit the view and
  paint the viewport once (what a user waits for after File ▸ Open);
* pan frame time (median, p95, max) at 100% zoom and zoomed out to fit the whole graph: each
  frame scrolls the view a few pixels and repaints the viewport synchronously;
* the same pans over a plain scene of QGraphicsRectItems and QGraphicsLineItems (no Python
  painting at all) as the floor to compare with.
No assertions: the figures are for reading (targets: first paint ≤ 0.5 s, pan p95 ≤ 16 ms at 2000).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_workflow(count: int) -> bytes:
    """`count` nodes in chains of four (file → template → chat → output), laid out on a grid."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    columns = max(4, int((count / 4) ** 0.5) * 4)
    for index in range(count):
        kind = index % 4
        x = (index % columns) * 260
        y = (index // columns) * 160
        node_id = f"n{index}"
        if kind == 0:
            nodes.append({"id": node_id, "type": "data.file", "title": f"Document {index}", "position": [x, y],
                          "config": {"path": f"notes{index}.txt"}})  # fmt: skip
        elif kind == 1:
            nodes.append({"id": node_id, "type": "prompt.template", "title": f"Prompt {index}", "position": [x, y],
                          "config": {"template": "Summarize:\n{{text}}"}})  # fmt: skip
            edges.append(
                {"source": f"n{index - 1}", "source_port": "text", "target": node_id, "target_port": "text"}
            )
        elif kind == 2:
            nodes.append({"id": node_id, "type": "model.chat", "title": f"Model {index}", "position": [x, y],
                          "config": {"provider": "openai", "model": "gpt-4o-mini"}})  # fmt: skip
            edges.append(
                {"source": f"n{index - 1}", "source_port": "text", "target": node_id, "target_port": "prompt"}
            )
        else:
            nodes.append({"id": node_id, "type": "io.output", "title": f"Output {index}", "position": [x, y],
                          "config": {"name": f"out{index}"}})  # fmt: skip
            edges.append(
                {"source": f"n{index - 1}", "source_port": "text", "target": node_id, "target_port": "value"}
            )
    doc = {"format": "chainwright.workflow", "version": 1, "name": f"{count} nodes", "description": "",
           "nodes": nodes, "edges": edges}  # fmt: skip
    return json.dumps(doc).encode("utf-8")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def pan_frames(view: Any, app: Any, frames: int, full: bool = False) -> list[float]:
    """Scroll a few pixels per frame and let Qt paint what the scroll exposed (as on screen);
    with `full`, repaint the whole viewport every frame (the worst case)."""
    times = []
    viewport = view.viewport()
    app.processEvents()
    for frame in range(frames):
        dx, dy = (7, 3) if (frame // 40) % 2 == 0 else (-7, -3)
        start = time.perf_counter()
        view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + dx)
        view.verticalScrollBar().setValue(view.verticalScrollBar().value() + dy)
        if full:
            viewport.repaint()
        else:
            app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(label: str, times: list[float]) -> str:
    return (
        f"  {label:<34} median {statistics.median(times):6.2f} ms   p95 {percentile(times, 0.95):6.2f} ms"
        f"   max {max(times):6.2f} ms"
    )


def load_once(data: bytes, app: Any) -> tuple[float, float, Any, Any]:
    from app.core.document import WorkflowDocument
    from app.core.model import parse_workflow
    from app.ui.canvas.view import CanvasView
    from app.ui.editor import DocumentEditor

    view = CanvasView()
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    start, cpu_start = time.perf_counter(), time.process_time()
    doc = WorkflowDocument(parse_workflow(data))
    editor = DocumentEditor(doc)
    built = time.perf_counter()
    view.setScene(editor.scene)
    view.set_zoom(1.0, editor.scene.node_items()[0].sceneBoundingRect().center())
    view.viewport().repaint()
    painted, cpu = time.perf_counter(), time.process_time() - cpu_start
    return painted - start, built - start, cpu, view, editor


def bench_chainwright(count: int, frames: int, app: Any, loads: int) -> dict[str, float]:
    from app.core.registry import default_registry

    default_registry()  # discovered once per process, as in the app
    data = make_workflow(count)
    results = []
    for _ in range(loads):
        total, built, cpu, view, editor = load_once(data, app)
        results.append((total, built, cpu))
        if len(results) < loads:
            view.setScene(None)
            view.close()
            editor.deleteLater()
            app.processEvents()
    doc = editor.doc
    totals = sorted(r[0] for r in results)
    print(f"{count} nodes, {len(doc.edges)} wires")
    print(f"  load → first paint at 100%: median {1000 * statistics.median(totals):6.1f} ms, "
          f"best {1000 * totals[0]:6.1f} ms of {loads} (document + scene {1000 * min(r[1] for r in results):.1f} ms;"
          f" CPU time {1000 * statistics.median(r[2] for r in results):.1f} ms)")  # fmt: skip

    start = time.perf_counter()
    editor.refresh_problems()
    print(f"  problems (graph.analyze, after paint)  {1000 * (time.perf_counter() - start):5.1f} ms")

    pan_frames(view, app, 10)
    print(summary("pan at 100%", pan_frames(view, app, frames)))
    view.set_zoom(0.5, view.view_centre())
    pan_frames(view, app, 10)
    print(summary("pan at 50%", pan_frames(view, app, frames)))
    view.fit_to_view()
    view.viewport().repaint()
    pan_frames(view, app, 10)
    fit = pan_frames(view, app, frames)
    print(summary(f"pan at fit-to-window ({view.zoom() * 100:.0f}%)", fit))
    print(summary("  same, full repaint every frame", pan_frames(view, app, frames, full=True)))
    zoom = view.zoom()
    view.setScene(None)
    view.close()
    editor.deleteLater()
    app.processEvents()
    return {"load_s": statistics.median(totals), "fit_p95_ms": percentile(fit, 0.95), "fit_zoom": zoom}


def bench_plain(count: int, frames: int, app: Any) -> dict[str, float]:
    from PySide6.QtCore import QLineF, QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView

    workflow = json.loads(make_workflow(count))
    scene = QGraphicsScene()
    start = time.perf_counter()
    positions = {}
    for node in workflow["nodes"]:
        x, y = node["position"]
        positions[node["id"]] = (x, y)
        scene.addItem(QGraphicsRectItem(QRectF(x, y, 180, 70)))
    for edge in workflow["edges"]:
        (x1, y1), (x2, y2) = positions[edge["source"]], positions[edge["target"]]
        scene.addItem(QGraphicsLineItem(QLineF(x1 + 180, y1 + 40, x2, y2 + 40)))
    view = QGraphicsView(scene)
    view.setRenderHints(QPainter.RenderHint.Antialiasing)
    view.setSceneRect(QRectF(-1e6, -1e6, 2e6, 2e6))
    view.resize(1280, 800)
    view.show()
    view.centerOn(90, 35)
    view.viewport().repaint()
    first_paint = time.perf_counter() - start
    print(f"  plain QGraphicsRectItem scene: first paint {1000 * first_paint:7.1f} ms")
    pan_frames(view, app, 10)
    print(summary("plain: pan at 100%", pan_frames(view, app, frames)))
    rect = scene.itemsBoundingRect()
    view.fitInView(rect)
    pan_frames(view, app, 10)
    fit = pan_frames(view, app, frames)
    print(summary("plain: pan at fit-to-window", fit))
    print(summary("  same, full repaint every frame", pan_frames(view, app, frames, full=True)))
    view.close()
    return {"load_s": first_paint, "fit_p95_ms": percentile(fit, 0.95)}


ID = "P3"
TITLE = "Canvas: load to first paint, pan frame time at fit-to-view"


def run(quick: bool) -> list[Any]:
    """P3 of `python -m benchmarks`: the interface in benchmarks/common.py."""
    from PySide6.QtWidgets import QApplication

    from app.ui.theme import apply_theme
    from benchmarks.common import Row, at_most, ratio

    sizes, frames, loads = ([500], 60, 1) if quick else ([500, 2000], 200, 3)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, "light")  # type: ignore[arg-type]
    rows = []
    for count in sizes:
        ours = bench_chainwright(count, frames, app, loads)
        plain = bench_plain(count, frames, app)
        rows.append(
            Row(
                ID,
                f"{count} nodes: load → first paint",
                ours["load_s"],
                "s",
                control=plain["load_s"],
                control_label="plain QGraphicsRectItem scene",
                ratio=ratio(ours["load_s"], plain["load_s"]),
                goal="≤ 0.5 s",
                met=at_most(ours["load_s"], 0.5),
                note=f"median of {loads} loads, offscreen; control: the plain scene's first paint",
            )
        )
        pan = ratio(ours["fit_p95_ms"], plain["fit_p95_ms"])
        fast = at_most(ours["fit_p95_ms"], 16.0)
        rows.append(
            Row(
                ID,
                f"{count} nodes: pan frame p95 at fit-to-view",
                ours["fit_p95_ms"],
                "ms",
                control=plain["fit_p95_ms"],
                control_label="plain QGraphicsRectItem scene",
                ratio=pan,
                goal="p95 ≤ 16 ms; ours/plain ≤ 1.5",
                met=None if fast is None or pan is None else fast and pan <= 1.5,
                note=f"{frames} frames at {ours['fit_zoom'] * 100:.0f}% zoom",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 nodes, 60 frames")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--frames", type=int, default=None)
    parser.add_argument("--loads", type=int, default=None, help="loads per size (median reported)")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([500] if args.quick else [500, 2000])
    frames = args.frames or (60 if args.quick else 200)
    loads = args.loads or (1 if args.quick else 3)

    from PySide6 import __version__ as pyside_version
    from PySide6.QtWidgets import QApplication

    from app.ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, "light")  # type: ignore[arg-type]
    print(f"PySide6 {pyside_version}, Python {sys.version.split()[0]}, platform {app.platformName()}")
    for count in sizes:
        bench_chainwright(count, frames, app, loads)
        bench_plain(count, frames, app)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
