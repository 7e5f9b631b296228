from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.document import DocumentError, WorkflowDocument, default_config, newer_version_on_disk
from app.core.model import Edge, NewerVersionError, parse_workflow, save_workflow, workflow_to_bytes
from app.core.registry import default_registry
from tests.core.workflows import document, edge, node, summarize


def make(doc: dict | None = None) -> WorkflowDocument:
    return WorkflowDocument(parse_workflow(json.dumps(doc or summarize())))


class Recorder:
    def __init__(self, document: WorkflowDocument) -> None:
        self.events: list[tuple] = []
        for name in (
            "node_added",
            "node_removed",
            "node_moved",
            "node_changed",
            "node_renamed",
            "edge_added",
            "edge_removed",
            "comment_added",
            "comment_removed",
            "comment_changed",
            "workflow_changed",
            "reset",
        ):
            getattr(document, name).connect(lambda *args, name=name: self.events.append((name, *args)))

    def names(self) -> list[str]:
        return [event[0] for event in self.events]


def test_mutations_emit_signals_and_removal_undo_restores_bytes_exactly() -> None:
    doc = make()
    before = doc.to_bytes()
    events = Recorder(doc)
    ask = doc.node("ask")
    removed = [(e, doc.remove_edge(e)) for e in doc.edges_of("ask")]
    index = doc.remove_node(ask)
    assert events.names() == ["edge_removed", "edge_removed", "node_removed"]
    assert doc.node("ask") is None and len(doc.edges) == 1
    doc.add_node(ask, index)
    for e, i in reversed(removed):
        doc.add_edge(e, i)
    assert doc.to_bytes() == before


def test_a_node_with_edges_cannot_be_removed_before_its_edges() -> None:
    doc = make()
    with pytest.raises(DocumentError, match="still has edges"):
        doc.remove_node(doc.node("llm"))


def test_config_title_description_cache_and_move() -> None:
    doc = make()
    events = Recorder(doc)
    ask = doc.node("ask")
    doc.set_config(ask, {"template": "{{a}} and {{b}}"})
    assert [p.name for p in doc.ports(ask).inputs] == ["a", "b"]
    doc.set_title(ask, "Question")
    doc.set_node_description(ask, "asks")
    doc.set_cache(ask, False)
    doc.move_node(ask, (10, 20.5))
    doc.move_node(ask, (10, 20.5))  # no change, no signal
    assert events.names() == ["node_changed"] * 4 + ["node_moved"]
    saved = json.loads(doc.to_bytes())["nodes"][1]
    assert saved == {
        "id": "ask",
        "type": "prompt.template",
        "title": "Question",
        "position": [10, 20.5],
        "config": {"template": "{{a}} and {{b}}"},
        "description": "asks",
        "cache": False,
    }


def test_invalid_config_is_kept_and_reported_and_ports_fall_back() -> None:
    doc = make()
    code = doc.new_node("tool.python")
    doc.add_node(code)
    doc.set_config(code, {"code": "def main(x:\n"})
    assert not doc.ports(code).ok
    assert [p.name for p in doc.ports(code).outputs] == ["result"]
    assert any(p.node_id == code.id and p.field == "config.code" for p in doc.problems)


def test_new_nodes_get_readable_unique_ids_and_default_config() -> None:
    doc = make(document([], []))
    first = doc.new_node("model.chat", (10.4, 20.6))
    doc.add_node(first)
    second = doc.new_node("model.chat")
    assert (first.id, second.id) == ("chat_model", "chat_model_2")
    assert first.position == [10.0, 21.0]
    assert first.title == "Chat model"
    assert first.config == default_config(default_registry().get("model.chat"))
    assert "base_url" not in first.config  # unset optionals are left out
    assert doc.unique_node_id("chat_model_2") == "chat_model_2"


def test_connection_rules_give_reasons() -> None:
    doc = make()
    doc_node, ask, llm, out = (doc.node(i) for i in ("doc", "ask", "llm", "out"))
    assert doc.connection_refusal(llm, "text", llm, "prompt") == "a node cannot feed itself"
    assert "already connected" in doc.connection_refusal(doc_node, "text", ask, "text")
    assert "has no output 'value'" in doc.connection_refusal(out, "value", doc_node, "text")
    http = doc.new_node("tool.http")
    doc.add_node(http)
    number_in = doc.new_node("tool.python")
    doc.add_node(number_in)
    doc.set_config(number_in, {"code": "def main(n: int):\n    return n\n"})
    reason = doc.connection_refusal(http, "body", number_in, "n")
    assert reason is not None and "text output cannot feed a number input" in reason
    assert doc.connection_refusal(http, "status", number_in, "n") is None


def test_cycle_refused() -> None:
    doc = make(
        document(
            [
                node("a", "prompt.template", {"template": "{{x}}"}),
                node("b", "prompt.template", {"template": "{{y}}"}),
            ],
            [edge("a", "text", "b", "y")],
        )
    )
    reason = doc.connection_refusal(doc.node("b"), "text", doc.node("a"), "x")
    assert reason is not None and "loop" in reason


def test_problems_are_recomputed_lazily() -> None:
    doc = make()
    seen: list[int] = []
    doc.problems_changed.connect(lambda: seen.append(len(doc.problems)))
    assert doc.refresh_problems() == []
    doc.remove_edge(doc.edges[0])
    assert doc.problems_stale
    doc.refresh_problems()
    doc.refresh_problems()  # nothing changed: no second announcement
    assert seen == [0, 1]
    [problem] = doc.problems
    assert problem.node_id == "ask" and problem.port == "text"
    assert list(doc.problems_by_node()) == [id(doc.node("ask"))]


def test_rename_moves_edges_with_the_node() -> None:
    doc = make()
    events = Recorder(doc)
    ask = doc.node("ask")
    assert doc.id_refusal(ask, "doc") is not None
    assert doc.id_refusal(ask, "2x") is not None
    old = doc.rename_node(ask, "question")
    assert old == "ask" and doc.node("question") is ask and doc.node("ask") is None
    assert [(e.source, e.target) for e in doc.edges_of("question")] == [
        ("doc", "question"),
        ("question", "llm"),
    ]
    assert events.names() == ["node_renamed"]
    doc.rename_node(ask, "ask")
    assert doc.to_bytes() == make().to_bytes()


def test_duplicate_ids_open_and_each_node_can_be_fixed() -> None:
    doc = make(document([node("a", "io.output", {"name": "x"}), node("a", "io.output", {"name": "y"})], []))
    first, second = doc.nodes
    assert doc.node("a") is first
    problem = next(p for p in doc.problems if p.code == "duplicate_id")
    assert doc.problem_node(problem) is second
    doc.rename_node(second, "b")
    assert not any(p.code == "duplicate_id" for p in doc.problems)


def test_comments_live_in_the_ui_section() -> None:
    doc = make()
    events = Recorder(doc)
    note = doc.new_comment((5.2, 6.7), "remember")
    doc.add_comment(note)
    assert note["id"] == "note_1" and doc.new_comment((0, 0))["id"] == "note_2"
    previous = doc.update_comment(note, text="changed", size=[300, 100])
    assert previous == {"text": "remember", "size": [240, 120]}
    saved = json.loads(doc.to_bytes())
    assert saved["ui"] == {
        "comments": [{"id": "note_1", "position": [5, 7], "size": [300, 100], "text": "changed"}]
    }
    index = doc.remove_comment(note)
    assert index == 0 and "ui" not in json.loads(doc.to_bytes())
    assert events.names() == ["comment_added", "comment_changed", "comment_removed"]


def test_view_state_does_not_count_as_an_edit() -> None:
    doc = make()
    changes: list[None] = []
    doc.changed.connect(lambda: changes.append(None))
    doc.set_ui_value("zoom", 1.5)
    assert doc.ui_value("zoom") == 1.5 and changes == []
    with pytest.raises(DocumentError):
        doc.set_ui_value("comments", [])


def test_fragment_and_paste_plan_rename_clashing_ids_and_move_to_the_cursor() -> None:
    doc = make()
    note = doc.new_comment((100, 100), "n")
    doc.add_comment(note)
    fragment = doc.fragment([doc.node("ask"), doc.node("llm")], [note])
    assert [(e.source, e.target) for e in fragment.edges] == [("ask", "llm")]
    text = workflow_to_bytes(fragment).decode()
    plan = doc.plan_paste(parse_workflow(text), at=(1000, 500))
    assert [n.id for n in plan.nodes] == ["ask_2", "llm_2"]
    assert [n.position for n in plan.nodes] == [[1160.0, 500.0], [1420.0, 500.0]]
    assert [(e.source, e.source_port, e.target, e.target_port) for e in plan.edges] == [
        ("ask_2", "text", "llm_2", "prompt")
    ]
    assert plan.comments[0]["position"] == [1000, 600] and plan.comments[0]["id"] == "note_2"
    other = make(document([], []))
    plan = other.plan_paste(fragment)
    assert [n.id for n in plan.nodes] == ["ask", "llm"] and plan.renamed == {}


def test_save_is_deterministic_and_reopens_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    doc = make()
    seen: list[Path | None] = []
    doc.path_changed.connect(seen.append)
    doc.save(path)
    assert seen == [path] and doc.display_name == "flow.json"
    first = path.read_bytes()
    again = WorkflowDocument.open(path)
    again.save()
    assert path.read_bytes() == first


def test_a_newer_file_on_disk_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "future.json"
    future = {**summarize(), "version": 99}
    path.write_text(json.dumps(future))
    assert newer_version_on_disk(path) == 99
    with pytest.raises(NewerVersionError):
        make().save(path)
    assert json.loads(path.read_text())["version"] == 99
    with pytest.raises(DocumentError):
        make().save()


def test_replace_emits_reset(tmp_path: Path) -> None:
    doc = make()
    events = Recorder(doc)
    other = parse_workflow(json.dumps(document([node("x", "io.output")], [])))
    doc.replace(other)
    assert events.names() == ["reset"] and doc.node("x") is not None and doc.node("ask") is None


def test_open_reads_a_file_with_semantic_errors(tmp_path: Path) -> None:
    broken = document([node("a", "no.such.type")], [edge("a", "x", "ghost", "y")])
    path = tmp_path / "broken.json"
    save_workflow(parse_workflow(json.dumps(broken)), path)
    doc = WorkflowDocument.open(path)
    codes = {p.code for p in doc.problems}
    assert {"unknown_type", "dangling_edge"} <= codes
    assert isinstance(doc.edges[0], Edge)
