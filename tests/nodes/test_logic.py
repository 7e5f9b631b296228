from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.sdk import Skip
from tests.nodes.helpers import node_error, node_type, run_node


def route(config: dict, value: object, **extra: object) -> dict:
    return run_node("logic.if", config, {"value": value, **extra}).outputs


@pytest.mark.parametrize(
    ("operator", "compare_to", "value", "held"),
    [
        ("equals", "complaint", " Complaint\n", True),
        ("equals", "3", 3.0, True),
        ("equals", "yes", "no", False),
        ("not_equals", "yes", "no", True),
        ("contains", "refund", "I want a REFUND now", True),
        ("not_contains", "refund", "Thanks!", True),
        ("starts_with", "yes", "Yes, it is.", True),
        ("matches", r"^\d{3}-\d{4}$", "555-1234", True),
        ("matches", r"^\d+$", "12a", False),
        ("is_empty", "", "  ", True),
        ("is_empty", "", [], True),
        ("is_empty", "", 0, False),
        ("is_not_empty", "", {"a": 1}, True),
        ("greater_than", "10", 12, True),
        ("greater_than", "10", "9.5", False),
        ("less_than", "0.5", 0.25, True),
        ("equals", "true", True, True),
    ],
)
def test_conditions(operator: str, compare_to: str, value: object, held: bool):
    outputs = route({"operator": operator, "compare_to": compare_to}, value)
    assert outputs["result"] is held
    taken, skipped = ("true", "false") if held else ("false", "true")
    assert outputs[taken] == value
    assert isinstance(outputs[skipped], Skip)


def test_the_branch_not_taken_is_skipped_with_the_reason():
    outputs = route({"operator": "contains", "compare_to": "refund"}, "hello")
    assert outputs["true"] == Skip("the condition (the value contains 'refund') was false")
    assert outputs["false"] == "hello"
    outputs = route({"operator": "is_empty"}, "")
    assert outputs["false"] == Skip("the condition (the value is empty) was true")


def test_payload_is_routed_instead_of_the_tested_value():
    outputs = route(
        {"operator": "equals", "compare_to": "complaint"}, "complaint", payload="the original message"
    )
    assert outputs["true"] == "the original message"


def test_case_can_matter():
    assert route({"operator": "equals", "compare_to": "Yes", "ignore_case": False}, "yes")["result"] is False


def test_comparing_a_text_with_a_number_is_an_error():
    error = node_error("logic.if", {"operator": "greater_than", "compare_to": "3"}, {"value": "many"})
    assert (
        error.message == "'greater_than' compares numbers, but the value is 'many'" and error.port == "value"
    )


def test_bad_conditions_are_config_errors():
    with pytest.raises(ValidationError, match="compare_to is not a valid regular expression"):
        node_type("logic.if").parse_config({"operator": "matches", "compare_to": "(["})
    with pytest.raises(ValidationError, match="greater_than needs a number in compare_to, not 'ten'"):
        node_type("logic.if").parse_config({"operator": "greater_than", "compare_to": "ten"})
    with pytest.raises(ValidationError):
        node_type("logic.if").parse_config({"operator": "is_bigger"})


def test_merge_ports_are_optional_and_configurable():
    node = node_type("logic.merge").from_config({"count": 4})
    assert [(port.name, port.required) for port in node.input_ports()] == [(n, False) for n in "abcd"]
    with pytest.raises(ValidationError):
        node_type("logic.merge").parse_config({"count": 9})


def test_merge_passes_the_first_available_input():
    assert run_node("logic.merge", {"count": 3}, {"b": "from b", "c": "from c"}).outputs == {
        "value": "from b"
    }
    assert run_node("logic.merge", {}, {"a": "", "b": "x"}).outputs == {"value": ""}
    assert run_node("logic.merge", {}, {"a": Skip("no"), "b": "x"}).outputs == {"value": "x"}


def test_merge_with_nothing_is_skipped():
    assert run_node("logic.merge", {}, {}).outputs == {"value": Skip("none of the inputs had a value")}
