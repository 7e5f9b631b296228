"""A committed corpus of malformed workflow files: each loads, or fails with one clear located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.graph import analyze
from app.core.model import WorkflowFileError, load_workflow

CORPUS = sorted((Path(__file__).parents[1] / "data" / "nasty").iterdir())

EXPECTED = {
    "empty.json": "not valid JSON: Expecting value (line 1, column 1)",
    "truncated.json": "not valid JSON",
    "array.json": "the file must contain a JSON object",
    "null.json": "the file must contain a JSON object",
    "latin1.json": "not UTF-8 text (invalid byte at offset 13)",
    "nan.json": "NaN is not allowed",
    "deep-nesting.json": "nested more than",
    "huge-version.json": "this Chainwright reads versions up to 1",
    "newer-version.json": "uses workflow format version 2",
    "negative-version.json": "format version -3 is too old",
    "float-version.json": "'version' must be a whole number",
    "bool-version.json": "'version' must be a whole number",
    "wrong-format.json": "this is not a Chainwright workflow",
    "nodes-not-list.json": "field 'nodes': must be a list",
    "node-not-object.json": "node '#1': must be an object",
    "edge-missing-target.json": "edge #1, field 'target': is required but missing",
    "position-strings.json": "node 'a', field 'position.0': must be a number",
    "position-infinite.json": "Infinity is not allowed in a workflow file",
    "config-not-object.json": "node 'a', field 'config': must be an object",
    "unknown-top-level.json": "field 'plugins': is not a known field",
    "duplicate-keys.json": "uses workflow format version 99",
}


def test_every_corpus_file_has_an_expectation() -> None:
    loadable = {"huge-string.json", "whitespace.json", "string.json", "bom-then-garbage.json"}
    assert {path.name for path in CORPUS} == set(EXPECTED) | loadable


@pytest.mark.parametrize("path", CORPUS, ids=[path.name for path in CORPUS])
def test_nasty_file(path: Path) -> None:
    try:
        workflow = load_workflow(path)
    except WorkflowFileError as exc:
        text = exc.render()
        assert text.startswith(f"{path}: "), text
        assert "Traceback" not in text
        if path.name in EXPECTED:
            assert EXPECTED[path.name] in text
    else:
        assert path.name not in EXPECTED, f"{path.name} should have been refused"
        analyze(workflow)
