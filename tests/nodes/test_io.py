from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.nodes.helpers import node_error, node_type, run_node


def test_input_gives_the_run_value_converted_to_its_type():
    ran = run_node("io.input", {"name": "n", "type": "number"}, workflow_inputs={"n": "42"})
    assert ran.outputs == {"value": 42}


def test_input_falls_back_to_its_default():
    assert run_node("io.input", {"name": "style", "default": "one line"}).outputs == {"value": "one line"}
    assert run_node("io.input", {"name": "xs", "type": "list", "default": "[1, 2]"}).outputs == {
        "value": [1, 2]
    }
    assert run_node("io.input", {"name": "empty", "default": ""}).outputs == {"value": ""}


def test_a_run_value_wins_over_the_default():
    ran = run_node("io.input", {"name": "q", "default": "x"}, workflow_inputs={"q": "asked"})
    assert ran.outputs == {"value": "asked"}


def test_input_without_value_or_default_names_itself_and_its_description():
    error = node_error("io.input", {"name": "city", "description": "Where you travel to"})
    assert error.message == (
        "the workflow needs a value for input 'city' (Where you travel to): for example --input city=..."
    )


def test_a_value_of_the_wrong_type_is_refused_in_plain_words():
    error = node_error("io.input", {"name": "n", "type": "number"}, workflow_inputs={"n": "many"})
    assert error.message == "input 'n': expected a number, got the text 'many'"
    error = node_error("io.input", {"name": "data", "type": "json"}, workflow_inputs={"data": "{oops"})
    assert error.message.startswith("input 'data' must be json written as JSON: Expecting property name")


def test_a_default_that_does_not_suit_the_type_is_a_config_error():
    with pytest.raises(ValidationError) as info:
        node_type("io.input").parse_config({"name": "n", "type": "number", "default": "lots"})
    (error,) = info.value.errors()
    assert error["loc"] == ("default",)
    assert "the default does not suit the type number" in error["msg"]


def test_input_port_carries_type_and_description():
    node = node_type("io.input").from_config({"name": "n", "type": "number", "description": "How many"})
    (port,) = node.output_ports()
    assert (port.name, port.type.value, port.description) == ("value", "number", "How many")
    assert node.interface_name() == "n"


def test_output_is_an_interface_node_with_one_input():
    node = node_type("io.output").from_config({"name": "summary"})
    assert node.interface_role == "output" and node.interface_name() == "summary"
    assert [port.name for port in node.input_ports()] == ["value"]
    assert run_node("io.output", {"name": "summary"}, {"value": "x"}).outputs == {}


def test_names_must_be_identifiers():
    with pytest.raises(ValidationError):
        node_type("io.output").parse_config({"name": "two words"})
