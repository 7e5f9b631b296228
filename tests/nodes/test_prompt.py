from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.nodes.helpers import node_error, node_type, run_node


def ports(type_id: str, config: dict) -> list[str]:
    return [port.name for port in node_type(type_id).from_config(config).input_ports()]


def test_template_ports_follow_the_placeholders_in_order():
    assert ports("prompt.template", {"template": "{{b}} and {{ a }} then {{b}}"}) == ["b", "a"]
    assert ports("prompt.template", {"template": "no placeholders, {{7*7}}, {{ x.y }}"}) == []


def test_template_fills_placeholders_as_plain_text():
    ran = run_node("prompt.template", {"template": "Hi {{name}}, {{ n }} {{x.y}}"}, {"name": "{{n}}", "n": 3})
    assert ran.outputs == {"text": "Hi {{n}}, 3 {{x.y}}"}


def test_a_placeholder_left_unconnected_names_its_port():
    error = node_error("prompt.template", {"template": "Summarize {{text}} in {{style}}"}, {"text": "x"})
    assert (
        error.message
        == "the placeholder {{style}} has nothing connected to it: connect a value to the input 'style'"
    )
    assert error.port == "style"


def test_chat_builds_messages_with_each_turn_filled():
    config = {
        "messages": [
            {"role": "system", "content": "You translate into {{language}}."},
            {"role": "user", "content": "cat"},
            {"role": "assistant", "content": "chat"},
            {"role": "user", "content": "{{word}}"},
        ]
    }
    assert ports("prompt.chat", config) == ["language", "word"]
    ran = run_node("prompt.chat", config, {"language": "French", "word": "dog"})
    assert ran.outputs == {
        "messages": [
            {"role": "system", "content": "You translate into French."},
            {"role": "user", "content": "cat"},
            {"role": "assistant", "content": "chat"},
            {"role": "user", "content": "dog"},
        ]
    }


def test_chat_default_is_a_system_and_a_user_turn():
    assert ports("prompt.chat", {}) == ["question"]
    messages = run_node("prompt.chat", {}, {"question": "Why?"}).outputs["messages"]
    assert [m["role"] for m in messages] == ["system", "user"] and messages[1]["content"] == "Why?"


def test_chat_refuses_unknown_roles_and_no_turns():
    with pytest.raises(ValidationError):
        node_type("prompt.chat").parse_config({"messages": [{"role": "wizard", "content": "x"}]})
    error = node_error("prompt.chat", {"messages": []})
    assert (
        error.message == "there are no messages: add at least one turn" and error.field == "config.messages"
    )


def test_chat_placeholder_left_unconnected():
    error = node_error("prompt.chat", {"messages": [{"role": "user", "content": "{{q}}"}]})
    assert error.port == "q" and "{{q}} has nothing connected" in error.message


def test_few_shot_writes_instruction_examples_and_the_new_input():
    config = {
        "instruction": "Classify the sentiment.",
        "examples": [{"input": "I love it", "output": "positive"}, {"input": "Awful", "output": "negative"}],
        "input_label": "Review",
        "output_label": "Sentiment",
    }
    ran = run_node(
        "prompt.few_shot", config, {"input": "Not bad", "examples": [{"input": "Meh", "output": "neutral"}]}
    )
    assert ran.outputs["text"] == (
        "Classify the sentiment.\n\n"
        "Review: I love it\nSentiment: positive\n\n"
        "Review: Awful\nSentiment: negative\n\n"
        "Review: Meh\nSentiment: neutral\n\n"
        "Review: Not bad\nSentiment:"
    )


def test_few_shot_refuses_a_malformed_example_list():
    error = node_error("prompt.few_shot", {}, {"input": "x", "examples": [{"input": "only"}]})
    assert error.message == "example #1 of the connected list is not an object with 'input' and 'output'"
    assert error.port == "examples"
