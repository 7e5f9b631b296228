"""The first-run welcome page: how it works, pictures of each example's graph, and the button that
opens the first example and runs it offline on the built-in model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from app.core.model import parse_workflow
from app.core.resources import examples_dir
from app.core.settings import Settings
from app.ui.start_page import HOW_IT_WORKS, StartPage, _Card, list_examples
from app.ui.welcome import (
    FIRST_EXAMPLE,
    GraphPicture,
    RunOutputPanel,
    WorkflowRun,
    first_example,
    graph_thumbnail,
    is_offline,
)


def distinct_colours(image: QImage, step: int = 3) -> int:
    return len(
        {image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)}
    )


def test_the_first_example_runs_offline() -> None:
    first = first_example()
    assert first is not None and first.name == FIRST_EXAMPLE
    assert is_offline(first)
    assert not is_offline(examples_dir() / "call-a-web-api.json")  # needs the internet


def test_the_first_offline_example_is_chosen_when_the_preferred_one_is_missing(tmp_path: Path) -> None:
    online = json.loads((examples_dir() / "call-a-web-api.json").read_text(encoding="utf-8"))
    offline = json.loads((examples_dir() / "extract-json.json").read_text(encoding="utf-8"))
    (tmp_path / "a.json").write_text(json.dumps(online), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(offline), encoding="utf-8")
    assert first_example(tmp_path) == tmp_path / "b.json"
    (tmp_path / "b.json").unlink()
    assert first_example(tmp_path) is None


def test_the_welcome_page_explains_and_shows_a_picture_of_every_example(qtbot: Any) -> None:
    page = StartPage()
    qtbot.addWidget(page)
    page.resize(1100, 900)
    page.show()
    qtbot.waitExposed(page)
    texts = [label.text() for label in page.findChildren(QLabel)]
    assert HOW_IT_WORKS in texts
    cards = page.findChildren(_Card)
    assert [card.example.path for card in cards] == [example.path for example in list_examples()]
    for card in cards:
        picture = card.findChild(GraphPicture)
        assert picture is not None and picture.node_count() == card.example.nodes > 0
        image = picture.grab().toImage()
        assert distinct_colours(image) > 8, card.example.name  # a drawn graph, not a blank box
    assert page.run_button is not None and "Summarize a file" in page.run_button.text()


def test_graph_thumbnail_draws_the_workflow(qapp: Any) -> None:
    pixmap = graph_thumbnail(examples_dir() / "classify-and-route.json")
    assert not pixmap.isNull() and distinct_colours(pixmap.toImage()) > 8
    empty = graph_thumbnail(Path("/nonexistent/workflow.json"))
    assert distinct_colours(empty.toImage()) == 1  # unreadable: just the background


def test_the_run_button_opens_the_first_example_and_runs_it_offline(window: Any, qtbot: Any) -> None:
    page = window.start_page
    assert window.central.currentWidget() is page and page.run_button is not None
    page.run_button.click()
    assert window.doc is not None and window.doc.workflow.name == "Summarize a file"
    assert window.doc.path is None  # an untitled copy: the gallery file is never changed
    run = window._example_run
    assert isinstance(run, WorkflowRun)
    qtbot.waitUntil(lambda: run.done, timeout=240_000)
    assert run.error is None
    assert run.result.status == "succeeded", run.result.failures
    summary = run.result.outputs["summary"]
    assert isinstance(summary, str) and summary.strip()
    panel = window._example_panel
    assert isinstance(panel, RunOutputPanel)
    dock = window.findChild(type(window.problems_dock), "exampleRunDock")
    assert dock is not None and dock.isVisible()
    qtbot.waitUntil(lambda: "Finished" in panel.status.text(), timeout=5000)
    text = panel.text()
    assert "✓ Summary prompt" in text and "✓ Model" in text and "summary:" in text
    assert summary.strip()[:20] in text


def test_a_workflow_with_problems_is_reported_not_run(qtbot: Any) -> None:
    workflow = parse_workflow(
        json.dumps(
            {
                "format": "chainwright.workflow",
                "version": 1,
                "name": "broken",
                "nodes": [{"id": "out", "type": "io.output", "position": [0, 0], "config": {"name": "x"}}],
                "edges": [],
            }
        )
    )
    run = WorkflowRun(workflow, None, Settings())
    panel = RunOutputPanel()
    qtbot.addWidget(panel)
    panel.follow(run, "broken")
    run.start()
    assert run.wait(30)
    assert run.error and "problems" in run.error
    assert panel.status.text().startswith("✗")
