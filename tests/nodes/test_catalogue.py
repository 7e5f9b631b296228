"""`chainwright nodes --json` lists every node type with its ports and config fields."""

from __future__ import annotations

import json

import pytest

from app.core.registry import default_registry
from tests.nodes.cli import chainwright

# DESIGN §1.3: the core node types, their config fields and ports (binding).
CORE = {
    "io.input": ({"name", "default", "description"}, [], ["value"]),
    "io.output": ({"name"}, ["value"], []),
    "prompt.template": ({"template"}, [], ["text"]),
    "model.chat": (
        {"provider", "model", "base_url", "system", "temperature", "max_tokens", "seed"},
        ["prompt", "system"],
        ["text"],
    ),
    "data.file": ({"path"}, [], ["text"]),
    "tool.http": ({"method", "url", "headers", "body"}, [], ["body", "status"]),
    "tool.python": ({"code"}, None, ["result"]),  # inputs: the parameters of main
}
FAMILY_TYPES = {
    "io.input", "io.output", "prompt.template", "prompt.chat", "prompt.few_shot", "data.file", "data.csv",
    "data.folder", "data.url", "data.text", "tool.http", "tool.python", "text.join", "text.split", "text.regex",
    "text.json_parse", "text.json_path", "text.format_number", "text.format", "text.parse_json_answer",
    "logic.if", "logic.merge", "model.chat",
}  # fmt: skip


@pytest.fixture(scope="module")
def catalogue() -> dict[str, dict]:
    result = chainwright("nodes", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "chainwright.catalogue"
    return {item["type"]: item for item in document["nodes"]}


def test_every_registered_type_is_listed(catalogue: dict[str, dict]):
    assert set(catalogue) == set(default_registry().type_ids())
    assert set(catalogue) >= FAMILY_TYPES


def test_core_types_keep_their_contract(catalogue: dict[str, dict]):
    for type_id, (fields, inputs, outputs) in CORE.items():
        item = catalogue[type_id]
        assert fields <= {field["name"] for field in item["config"]}, type_id
        if inputs is not None:
            assert [port["name"] for port in item["inputs"]] == inputs, type_id
        assert [port["name"] for port in item["outputs"]][: len(outputs)] == outputs, type_id


@pytest.mark.parametrize("type_id", sorted(FAMILY_TYPES))
def test_each_type_is_described_for_people(catalogue: dict[str, dict], type_id: str):
    item = catalogue[type_id]
    assert item["title"] and item["category"] and len(item["description"]) > 20
    node_type = default_registry().get(type_id)
    assert {field["name"] for field in item["config"]} == set(node_type.config_model.model_fields)
    for field in item["config"]:
        assert field["schema"].get("description"), f"{type_id}.{field['name']} has no description"
    for port in item["inputs"] + item["outputs"]:
        assert set(port) == {"name", "type", "required", "description"}
        assert port["type"] in {"text", "number", "boolean", "json", "list", "any"}
    if item["dynamic_ports"]:
        assert "input" in item["dynamic_ports"]
    json.dumps(item)  # JSON-ready
