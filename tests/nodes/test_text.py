from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.sdk import Skip
from nodes.text import parse_path, split_text
from tests.nodes.helpers import node_error, node_type, run_node

# --- join / split ----------------------------------------------------------------------------


def test_join_with_separator_skipping_empty_items():
    ran = run_node("text.join", {"separator": " | "}, {"items": ["a", "", "  ", 3, {"k": 1}]})
    assert ran.outputs == {"text": 'a | 3 | {"k": 1}'}
    assert run_node("text.join", {"skip_empty": False, "separator": ","}, {"items": ["a", ""]}).outputs == {
        "text": "a,"
    }


def test_split_into_overlapping_chunks_at_word_breaks():
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    ran = run_node("text.split", {"chunk_size": 20, "overlap": 8}, {"text": text})
    assert ran.outputs == {
        "chunks": ["alpha beta gamma", "gamma delta epsilon", "epsilon zeta eta", "eta theta iota kappa"],
        "count": 4,
    }
    assert all(len(chunk) <= 20 for chunk in ran.outputs["chunks"])


def test_split_without_spaces_and_edge_cases():
    assert split_text("x" * 25, 10, 3) == ["x" * 10, "x" * 10, "x" * 10, "x" * 4]
    assert split_text("", 10, 3) == []
    assert split_text("short", 100, 0) == ["short"]


def test_split_overlap_must_be_smaller_than_the_chunk():
    with pytest.raises(ValidationError, match=r"overlap \(10\) must be smaller than chunk_size \(10\)"):
        node_type("text.split").parse_config({"chunk_size": 10, "overlap": 10})


# --- regex -----------------------------------------------------------------------------------


def test_regex_first_match_all_matches_and_named_groups():
    ran = run_node(
        "text.regex", {"pattern": r"(?P<year>\d{4})-(?P<month>\d\d)"}, {"text": "from 2024-05 to 2025-01"}
    )
    assert ran.outputs == {
        "match": "2024",
        "matches": ["2024", "2025"],
        "groups": {"year": "2024", "month": "05"},
        "found": True,
    }
    whole = run_node(
        "text.regex", {"pattern": r"cat\w*", "ignore_case": True}, {"text": "Cats and CATERPILLARS"}
    )
    assert whole.outputs["matches"] == ["Cats", "CATERPILLARS"]


def test_regex_no_match_is_empty_or_an_error_when_required():
    ran = run_node("text.regex", {"pattern": r"\d+"}, {"text": "none here"})
    assert ran.outputs == {"match": "", "matches": [], "groups": {}, "found": False}
    error = node_error("text.regex", {"pattern": r"\d+", "require_match": True}, {"text": "none here"})
    assert error.message == "the pattern '\\\\d+' matches nothing in the text (it starts with 'none here')"


def test_regex_invalid_or_missing_pattern():
    with pytest.raises(
        ValidationError, match="not a valid regular expression: missing \\), unterminated subpattern"
    ):
        node_type("text.regex").parse_config({"pattern": "(oops"})
    error = node_error("text.regex", {}, {"text": "x"})
    assert error.message == "no pattern given: write the regular expression to look for"


# --- JSON ------------------------------------------------------------------------------------


def test_json_parse():
    assert run_node("text.json_parse", {}, {"text": ' {"a": [1, 2.5, null]} '}).outputs == {
        "value": {"a": [1, 2.5, None]}
    }


def test_json_parse_bad_json_names_line_and_column():
    error = node_error("text.json_parse", {}, {"text": '{"a": 1,\n "b": }'})
    assert error.message == (
        'the text is not valid JSON: Expecting value (line 2, column 7); it starts with \'{"a": 1, "b": }\''
    )
    assert error.port == "text"
    assert node_error("text.json_parse", {}, {"text": "  "}).message == "the text is empty, so it is not JSON"


DATA = {"items": [{"name": "a", "tags": ["x"]}, {"name": "b", "tags": []}], "total": 2, "odd key": {"v": 1}}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", DATA),
        ("$", DATA),
        ("total", 2),
        ("$.items[0].name", "a"),
        ("items[-1].name", "b"),
        ("items.1.name", "b"),
        ("items[*].name", ["a", "b"]),
        ("items[*].tags[*]", ["x"]),
        ('["odd key"].v', 1),
        ("$['odd key']", {"v": 1}),
    ],
)
def test_json_path(path: str, expected: object):
    assert run_node("text.json_path", {"path": path}, {"value": DATA}).outputs == {"value": expected}


def test_json_path_reads_json_text():
    assert run_node("text.json_path", {"path": "a"}, {"value": '{"a": 5}'}).outputs == {"value": 5}


def test_json_path_missing_step_names_what_is_there():
    error = node_error("text.json_path", {"path": "items[0].title"}, {"value": DATA})
    assert (
        error.message
        == "the path 'items[0].title' leads nowhere: items[0] has no key 'title' (its keys: 'name', 'tags')"
    )
    error = node_error("text.json_path", {"path": "items[5]"}, {"value": DATA})
    assert (
        error.message
        == "the path 'items[5]' leads nowhere: items is a list of 2 items, so it has no item [5]"
    )
    error = node_error("text.json_path", {"path": "total.x"}, {"value": DATA})
    assert error.message == "the path 'total.x' leads nowhere: total is a number, so it has no key 'x'"


def test_json_path_missing_can_skip_or_give_null():
    assert run_node("text.json_path", {"path": "nope", "if_missing": "null"}, {"value": DATA}).outputs == {
        "value": None
    }
    skipped = run_node("text.json_path", {"path": "nope", "if_missing": "skip"}, {"value": DATA}).outputs[
        "value"
    ]
    assert isinstance(skipped, Skip) and "has no key 'nope'" in skipped.reason


def test_json_path_bad_path_and_bad_json_text():
    with pytest.raises(ValueError, match=r"cannot read the path at '\[0'; write it like items\[0\].name"):
        parse_path("items[0")
    with pytest.raises(ValidationError, match="cannot read the path at"):
        node_type("text.json_path").parse_config({"path": "items[0"})
    with pytest.raises(ValidationError):
        node_type("text.json_path").parse_config({"path": "a..b["})
    error = node_error("text.json_path", {"path": "a"}, {"value": "{broken"})
    assert error.message.startswith("the connected text is not valid JSON: Expecting property name")


# --- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "value", "expected"),
    [
        ({}, 3.14159, "3.14"),
        ({"decimals": 0, "thousands_separator": ","}, 1234567.5, "1,234,568"),
        ({"decimals": None}, 1234567, "1234567"),
        ({"decimals": 2, "thousands_separator": ".", "decimal_point": ","}, 1234.5, "1.234,50"),
        ({"decimals": 1, "percent": True}, 0.256, "25.6%"),
        ({"prefix": "$", "suffix": " USD", "decimals": 2}, 5, "$5.00 USD"),
        ({"decimals": None, "thousands_separator": " "}, 98765.25, "98 765.25"),
    ],
)
def test_format_number(config: dict, value: float, expected: str):
    assert run_node("text.format_number", config, {"value": value}).outputs == {"text": expected}


def test_format_number_refuses_the_same_marks():
    with pytest.raises(ValidationError, match="must differ"):
        node_type("text.format_number").parse_config({"thousands_separator": ".", "decimal_point": "."})


def test_tidy_text():
    text = "  \n  hello   wide\tworld  \nsecond line\n"
    assert run_node("text.format", {}, {"text": text}).outputs == {
        "text": "hello   wide\tworld  \nsecond line"
    }
    ran = run_node(
        "text.format", {"first_line_only": True, "collapse_spaces": True, "case": "upper"}, {"text": text}
    )
    assert ran.outputs == {"text": "HELLO WIDE WORLD"}
    assert run_node("text.format", {"max_length": 8}, {"text": "abcdefghijkl"}).outputs == {
        "text": "abcdefg…"
    }
    assert run_node("text.format", {"case": "sentence"}, {"text": "yes."}).outputs == {"text": "Yes."}


# --- the model's JSON answer -----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        '{"name": "Ada", "year": 1815}',
        'Sure! Here is the JSON:\n```json\n{"name": "Ada", "year": 1815}\n```\nAnything else?',
        'The data is {"name": "Ada", "year": 1815}. I hope this helps.',
        "{'name': 'Ada', 'year': 1815}",
        "Result: {'name': 'Ada', 'year': 1815} done",
    ],
)
def test_parse_answer_finds_the_json(answer: str):
    ran = run_node("text.parse_json_answer", {"required_keys": ["name"]}, {"text": answer})
    assert ran.outputs == {"value": {"name": "Ada", "year": 1815}}


def test_parse_answer_list_and_any():
    assert run_node("text.parse_json_answer", {"expect": "list"}, {"text": 'Tags: ["a", "b"]'}).outputs == {
        "value": ["a", "b"]
    }
    assert run_node("text.parse_json_answer", {"expect": "any"}, {"text": "42"}).outputs == {"value": 42}


def test_parse_answer_that_is_not_json():
    error = node_error("text.parse_json_answer", {}, {"text": "Sure, the name is Ada Lovelace."})
    assert error.message == (
        "the model's answer is not the JSON expected (there is no JSON in it); it starts with "
        "'Sure, the name is Ada Lovelace.'. Ask for JSON only in the prompt, e.g. 'Answer with a JSON object and "
        "nothing else.'"
    )
    assert error.port == "text"


def test_parse_answer_of_the_wrong_kind_or_missing_keys():
    error = node_error("text.parse_json_answer", {"expect": "object"}, {"text": "[1, 2]"})
    assert "(it is JSON, but a list where an object was expected)" in error.message
    error = node_error(
        "text.parse_json_answer",
        {"required_keys": ["name", "email", "year"]},
        {"text": '{"name": "Ada", "year": 1}'},
    )
    assert error.message == "the model's JSON answer lacks the key 'email' (its keys: 'name', 'year')"
    assert (
        node_error("text.parse_json_answer", {}, {"text": " "}).message
        == "the model's answer is empty, so it holds no JSON"
    )


def test_parse_answer_never_evaluates_code():
    error = node_error(
        "text.parse_json_answer", {"expect": "any"}, {"text": "__import__('os').system('echo hi')"}
    )
    assert "there is no JSON in it" in error.message
