from __future__ import annotations

import json

import pytest

from app.core.graph import analyze, require_valid, validate
from app.core.model import parse_workflow
from app.core.problems import WorkflowError
from tests.core.workflows import document, edge, node, summarize


def problems(doc: dict) -> list[str]:
    return [str(problem) for problem in validate(parse_workflow(json.dumps(doc)))]


def test_the_design_example_is_valid() -> None:
    assert problems(summarize()) == []


def test_template_placeholders_become_ports_in_order_of_first_appearance() -> None:
    doc = document([node("t", "prompt.template", {"template": "{{b}} {{ a }} {{b}} {{7*7}} {{x.y}}"})], [])
    analysis = analyze(parse_workflow(json.dumps(doc)))
    assert list(analysis.nodes["t"].inputs) == ["b", "a"]


def test_python_ports_come_from_main_parameters_without_running_it() -> None:
    code = "import os\nos.system('touch /tmp/never')\ndef main(text: str, count: int = 2, *, flag: bool = False):\n    pass\n"
    doc = document([node("py", "tool.python", {"code": code})], [])
    ports = analyze(parse_workflow(json.dumps(doc))).nodes["py"].inputs
    assert [(p.name, p.type.value, p.required) for p in ports.values()] == [
        ("text", "text", True),
        ("count", "number", False),
        ("flag", "boolean", False),
    ]


def test_unknown_node_type_suggests_close_matches() -> None:
    (found,) = problems(document([node("ghost", "prompt.templat")], []))
    assert found.startswith(
        "node 'ghost', field 'type': unknown node type 'prompt.templat' — did you mean 'prompt.template'"
    )


def test_unknown_config_key_and_bad_value_name_the_field() -> None:
    doc = document([node("llm", "model.chat", {"provider": "openai", "modle": "x", "temperature": 9})], [])
    doc["edges"] = []
    found = problems(doc)
    assert "node 'llm', field 'config.modle': is not a known field" in found
    assert "node 'llm', field 'config.temperature': Input should be less than or equal to 2" in found


def test_python_code_that_does_not_parse_names_the_line() -> None:
    found = problems(document([node("py", "tool.python", {"code": "def main(:\n"})], []))
    assert len(found) == 1
    assert found[0].startswith("node 'py', field 'config.code': ")
    assert "line 1" in found[0]


def test_unknown_ports_on_both_ends() -> None:
    doc = document(
        [node("i", "io.input", {"name": "i"}), node("o", "io.output", {"name": "o"})],
        [edge("i", "nope", "o", "value"), edge("i", "value", "o", "nada")],
    )
    assert problems(doc) == [
        "node 'i', port 'nope': has no output port 'nope' (its outputs: value)",
        "node 'o', port 'nada': has no input port 'nada' (its inputs: value)",
    ]


def test_dangling_edge_names_the_missing_node() -> None:
    doc = document([node("o", "io.output", {"name": "o"})], [edge("gone", "value", "o", "value")])
    found = problems(doc)
    assert found[0] == (
        "node 'o', field 'source': edge #1 (gone.value → o.value) points to a node that does not exist: 'gone'"
    )


def test_duplicate_and_malformed_ids() -> None:
    doc = document(
        [
            node("a", "io.input", {"name": "a"}),
            node("a", "io.input", {"name": "b"}),
            node("bad id", "io.input", {"name": "c"}),
        ],
        [],
    )
    assert problems(doc) == [
        "node 'a', field 'id': the id 'a' is used by more than one node; ids must be unique",
        "node 'bad id', field 'id': node ids start with a letter or underscore and contain only letters, "
        "digits, '_' and '-'",
    ]


def test_incompatible_port_types_are_refused_with_a_reason() -> None:
    code = "def main(n: int):\n    return n\n"
    doc = document(
        [node("t", "prompt.template", {"template": "hi"}), node("py", "tool.python", {"code": code})],
        [edge("t", "text", "py", "n")],
    )
    assert problems(doc) == [
        "node 'py', port 'n': input 'n' cannot take output 'text' of 't': a text output cannot feed a number input"
    ]


def test_more_than_one_edge_into_an_input() -> None:
    doc = document(
        [
            node("a", "io.input", {"name": "a"}),
            node("b", "io.input", {"name": "b"}),
            node("o", "io.output", {"name": "o"}),
        ],
        [edge("a", "value", "o", "value"), edge("b", "value", "o", "value")],
    )
    assert problems(doc) == [
        "node 'o', port 'value': more than one edge goes into this input; an input takes exactly one value"
    ]


def test_required_input_with_nothing_connected() -> None:
    doc = document([node("llm", "model.chat", {"provider": "openai", "model": "m"})], [])
    assert problems(doc) == [
        "node 'llm', port 'prompt': this input is required but nothing is connected to it"
    ]


def test_optional_input_may_stay_unconnected() -> None:
    doc = document(
        [
            node("q", "io.input", {"name": "q"}),
            node("llm", "model.chat", {"provider": "openai", "model": "m"}),
        ],
        [edge("q", "value", "llm", "prompt")],
    )
    assert problems(doc) == []


def test_cycles_name_every_node_on_them() -> None:
    doc = document(
        [
            node("x", "prompt.template", {"template": "{{a}}"}),
            node("y", "prompt.template", {"template": "{{b}}"}),
            node("z", "prompt.template", {"template": "{{c}}"}),
            node("solo", "prompt.template", {"template": "{{d}}"}),
        ],
        [
            edge("x", "text", "y", "b"),
            edge("y", "text", "z", "c"),
            edge("z", "text", "x", "a"),
            edge("solo", "text", "solo", "d"),
        ],
    )
    found = problems(doc)
    assert len(found) == 2
    assert found[0].startswith("node 'x': the workflow loops back on itself (x → y → z → x)")
    assert "'x', 'y', 'z'" in found[0]
    assert found[1].startswith("node 'solo': the workflow loops back on itself (solo → solo)")


def test_interface_name_clashes() -> None:
    doc = document(
        [
            node("a", "io.input", {"name": "q"}),
            node("b", "io.input", {"name": "q"}),
            node("c", "io.output", {"name": "r"}),
            node("d", "io.output", {"name": "r"}),
        ],
        [edge("a", "value", "c", "value"), edge("b", "value", "d", "value")],
    )
    assert problems(doc) == [
        "node 'b', field 'config.name': the workflow input name 'q' is already used by node 'a'; each input needs its own name",
        "node 'd', field 'config.name': the workflow output name 'r' is already used by node 'c'; each output needs its own name",
    ]


def test_every_problem_is_reported_at_once() -> None:
    doc = document(
        [node("ghost", "no.such.node"), node("llm", "model.chat", {"provider": "openai", "model": "m"})],
        [edge("llm", "text", "nowhere", "value")],
    )
    codes = [problem.code for problem in validate(parse_workflow(json.dumps(doc)))]
    assert sorted(codes) == ["dangling_edge", "unconnected_input", "unknown_type"]


def test_topological_order_and_interface() -> None:
    analysis = require_valid(parse_workflow(json.dumps(summarize())))
    assert analysis.topological_order() == ["doc", "ask", "llm", "out"]
    assert analysis.interface("output") == {"summary": "out"}
    assert [e.source for e in analysis.incoming("llm")] == ["ask"]
    assert [e.target for e in analysis.outgoing("llm")] == ["out"]


def test_require_valid_raises_with_every_problem() -> None:
    doc = document([node("llm", "model.chat", {"provider": "openai", "model": "m"})], [])
    with pytest.raises(WorkflowError, match=r"flow\.json: node 'llm', port 'prompt'"):
        require_valid(parse_workflow(json.dumps(doc)), source="flow.json")
