"""The loader never crashes: every document is either a workflow or one clear, located error.

Together the properties below feed the loader more than 10,000 generated documents per run
(derandomised in CI, see tests/conftest.py): random JSON, random bytes, mutations of a valid
workflow (wrong types, missing and unknown keys, dangling edges…) and truncations.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.graph import analyze
from app.core.model import WorkflowFileError, parse_workflow, workflow_to_bytes
from tests.core.workflows import summarize

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

FIELDS = ["format", "version", "name", "description", "nodes", "edges", "ui"]
NODE_FIELDS = ["id", "type", "title", "position", "config", "description", "cache"]
EDGE_FIELDS = ["source", "source_port", "target", "target_port"]


def check(text: str | bytes) -> None:
    try:
        workflow = parse_workflow(text, source="fuzz.json")
    except WorkflowFileError as exc:
        assert exc.problems, "a rejection must say why"
        for problem in exc.problems:
            assert problem.message and "Traceback" not in problem.message
        return
    # A document that loads must analyze without raising and save to bytes that load again.
    for problem in analyze(workflow).problems:
        assert problem.message
    assert parse_workflow(workflow_to_bytes(workflow)) == workflow


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_random_json_documents(value: object) -> None:
    check(json.dumps(value))


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    check(data)


@st.composite
def mutated_workflows(draw: st.DrawFn) -> dict:
    doc = summarize()
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["top", "node", "edge", "config"]))
        target = doc
        key = draw(st.sampled_from([*FIELDS, "extra"]))
        nodes, edges = doc.get("nodes"), doc.get("edges")
        if where in ("node", "config") and isinstance(nodes, list) and nodes:
            target = nodes[draw(st.integers(0, len(nodes) - 1))]
            key = draw(st.sampled_from(NODE_FIELDS))
            if where == "config" and isinstance(target, dict) and isinstance(target.get("config"), dict):
                target = target["config"]
                key = draw(
                    st.sampled_from(["path", "template", "provider", "model", "name", "temperature", "zzz"])
                )
        elif where == "edge" and isinstance(edges, list) and edges:
            target = edges[draw(st.integers(0, len(edges) - 1))]
            key = draw(st.sampled_from(EDGE_FIELDS))
        if not isinstance(target, dict):
            continue
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(json_values)
    return doc


@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_workflows())
def test_mutated_workflows(doc: dict) -> None:
    check(json.dumps(doc))


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, 2000))
def test_truncated_files(cut: int) -> None:
    text = json.dumps(summarize(), indent=2)
    check(text[: cut % (len(text) + 1)])


def _depth(value: object) -> int:
    """How many levels deep the deepest value sits (the top level is 0)."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((1 + _depth(child) for child in children), default=0)


_json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=30,
)


@given(_json_values, st.integers(min_value=-1, max_value=8))
def test_the_nesting_check_agrees_with_the_depth_of_the_value(value: object, limit: int) -> None:
    from app.core.model import _depth_exceeds

    assert _depth_exceeds(value, limit) == (_depth(value) > limit)
