from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.core import model
from app.core.model import (
    NewerVersionError,
    Workflow,
    WorkflowFileError,
    load_workflow,
    parse_workflow,
    save_workflow,
    workflow_to_bytes,
)
from tests.core.workflows import document, node, summarize


def write(tmp_path: Path, doc: dict | str, name: str = "flow.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2), encoding="utf-8")
    return path


def messages(exc: WorkflowFileError) -> list[str]:
    return [str(problem) for problem in exc.problems]


def test_canonical_file_round_trips_byte_for_byte(tmp_path: Path) -> None:
    original = workflow_to_bytes(parse_workflow(json.dumps(summarize())))
    path = tmp_path / "flow.json"
    path.write_bytes(original)
    save_workflow(load_workflow(path), path)
    assert path.read_bytes() == original
    assert original.endswith(b"}\n")
    assert b'\n  "nodes": [\n' in original  # 2-space indent


def test_saved_bytes_follow_the_design_example_layout() -> None:
    text = workflow_to_bytes(parse_workflow(json.dumps(summarize()))).decode()
    doc = json.loads(text)
    assert list(doc) == ["format", "version", "name", "description", "nodes", "edges"]
    assert list(doc["nodes"][0]) == ["id", "type", "title", "position", "config"]
    assert doc["nodes"][1]["position"] == [260, 0]


def test_same_workflow_same_bytes_whatever_the_key_order() -> None:
    first = summarize()
    second = summarize()
    second["nodes"][2]["config"] = {"model": "gpt-4o-mini", "provider": "openai"}
    second["ui"] = {"zoom": 1.5, "center": [1, 2]}
    first["ui"] = {"center": [1, 2], "zoom": 1.5}
    second = dict(reversed(list(second.items())))
    assert workflow_to_bytes(parse_workflow(json.dumps(first))) == workflow_to_bytes(
        parse_workflow(json.dumps(second))
    )


def test_optional_node_fields_and_ui_are_preserved(tmp_path: Path) -> None:
    doc = summarize()
    doc["nodes"][2]["description"] = "Asks the model"
    doc["nodes"][2]["cache"] = False
    doc["ui"] = {"zoom": 0.75, "comments": [{"text": "hi", "position": [1.5, 2]}]}
    workflow = parse_workflow(json.dumps(doc))
    assert workflow.nodes[2].description == "Asks the model"
    assert workflow.nodes[2].cache is False
    again = parse_workflow(workflow_to_bytes(workflow))
    assert again == workflow


def test_non_ascii_and_lone_surrogates_survive_a_round_trip() -> None:
    doc = summarize()
    doc["name"] = "Résumé ✓ \u2028 \ud800 end"
    workflow = parse_workflow(json.dumps(doc))
    data = workflow_to_bytes(workflow)
    data.decode("utf-8")  # always valid UTF-8
    assert "Résumé ✓".encode() in data
    assert parse_workflow(data).name == doc["name"]


def test_newer_version_is_refused_and_the_file_left_untouched(tmp_path: Path) -> None:
    doc = summarize()
    doc["version"] = 99
    path = write(tmp_path, doc)
    before = path.read_bytes()
    with pytest.raises(NewerVersionError) as caught:
        load_workflow(path)
    text = str(caught.value)
    assert str(path) in text
    assert "version 99" in text and "update Chainwright" in text
    assert path.read_bytes() == before


def test_version_0_is_migrated_to_version_1() -> None:
    doc = summarize()
    del doc["format"]
    doc["version"] = 0
    doc["links"] = doc.pop("edges")
    workflow = parse_workflow(json.dumps(doc))
    assert workflow.version == 1
    assert len(workflow.edges) == 3
    assert json.loads(workflow_to_bytes(workflow))["format"] == "chainwright.workflow"


def test_every_version_below_current_has_a_migration_step() -> None:
    assert set(model.MIGRATIONS) == set(range(model.CURRENT_VERSION))


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        ("[1, 2]", "the file must contain a JSON object"),
        (
            '{"format": "chainwright.workflow", "version": "1"}',
            "field 'version': 'version' must be a whole number",
        ),
        ('{"format": "other", "version": 1}', "field 'format': this is not a Chainwright workflow"),
        ('{"format": "chainwright.workflow", "version": 1, "x": NaN}', "NaN is not allowed"),
    ],
)
def test_unreadable_documents_get_one_clear_message(doc: str, expected: str) -> None:
    with pytest.raises(WorkflowFileError) as caught:
        parse_workflow(doc, source="flow.json")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("flow.json: ")


def test_structural_errors_name_the_node_and_field() -> None:
    doc = summarize()
    del doc["nodes"][1]["type"]
    doc["nodes"][2]["position"] = [1]
    doc["nodes"][3]["config"] = "summary"
    doc["edges"][0]["target_port"] = 7
    doc["extra"] = True
    with pytest.raises(WorkflowFileError) as caught:
        parse_workflow(json.dumps(doc))
    assert messages(caught.value) == [
        "node 'ask', field 'type': is required but missing",
        "node 'llm', field 'position': must be a list of two numbers [x, y]",
        "node 'out', field 'config': must be an object",
        "edge #1, field 'target_port': must be text",
        "field 'extra': is not a known field",
    ]
    pointers = [problem.pointer for problem in caught.value.problems]
    assert pointers == [
        "/nodes/1/type",
        "/nodes/2/position",
        "/nodes/3/config",
        "/edges/0/target_port",
        "/extra",
    ]


def test_a_node_without_an_id_is_named_by_its_position() -> None:
    doc = document([{"type": "io.input"}], [])
    with pytest.raises(WorkflowFileError) as caught:
        parse_workflow(json.dumps(doc))
    assert messages(caught.value) == ["node '#1', field 'id': is required but missing"]


def test_deep_nesting_is_refused_clearly() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(WorkflowFileError) as caught:
        parse_workflow('{"format": "chainwright.workflow", "version": 1, "ui": {"x": ' + deep + "}}")
    assert "nested more than" in str(caught.value)


def test_missing_file_and_folder_are_reported_with_their_path(tmp_path: Path) -> None:
    with pytest.raises(WorkflowFileError, match=r"nope\.json: no such file"):
        load_workflow(tmp_path / "nope.json")
    with pytest.raises(WorkflowFileError, match="is a folder"):
        load_workflow(tmp_path)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(WorkflowFileError, match="not UTF-8 text"):
        load_workflow(path)


def test_save_is_atomic_and_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "flow.json"
    workflow = parse_workflow(json.dumps(summarize()))
    save_workflow(workflow, path)
    good = path.read_bytes()

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    changed = workflow.model_copy(update={"name": "changed"})
    with pytest.raises(OSError):
        save_workflow(changed, path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flow.json"]


def test_save_keeps_the_existing_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text("{}")
    path.chmod(0o640)
    save_workflow(Workflow(), path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_empty_workflow_defaults() -> None:
    workflow = parse_workflow('{"format": "chainwright.workflow", "version": 1}')
    assert workflow.nodes == [] and workflow.edges == [] and workflow.ui is None
    assert parse_workflow(workflow_to_bytes(workflow)) == workflow


def test_node_lookup() -> None:
    workflow = parse_workflow(json.dumps(document([node("a", "io.input")], [])))
    assert workflow.node("a") is workflow.nodes[0]
    assert workflow.node("b") is None
