"""Arranging nodes left to right in the order data flows (app.core.arrange)."""

from __future__ import annotations

from app.core.arrange import COLUMN_GAP, DEFAULT_SIZE, ROW_GAP, arrange, needs_arrangement


def test_a_file_without_positions_needs_arranging_and_a_laid_out_one_does_not() -> None:
    assert needs_arrangement([[0, 0], [0, 0], [0.0, 0.0]])
    assert needs_arrangement([[40, 40], [40, 40]])  # any one spot: still a pile
    assert not needs_arrangement([[0, 0], [260, 0]])
    assert not needs_arrangement([[0, 0]])  # one node is not a pile
    assert not needs_arrangement([])


def test_every_wire_runs_left_to_right_and_columns_follow_the_longest_path() -> None:
    ids = ["out", "model", "prompt", "doc", "note"]
    edges = [("doc", "prompt"), ("prompt", "model"), ("model", "out"), ("doc", "out")]
    positions = arrange(ids, edges)
    x = {node_id: positions[node_id][0] for node_id in ids}
    for source, target in edges:
        assert x[source] < x[target]
    # "out" is fed by "doc" directly too, but its column is after "model" (the longest path).
    column = DEFAULT_SIZE[0] + COLUMN_GAP
    assert [x["doc"], x["prompt"], x["model"], x["out"]] == [0, column, 2 * column, 3 * column]
    assert x["note"] == 0  # a node without wires starts a row of its own in the first column
    assert len(set(positions.values())) == len(ids)  # nobody on top of anybody


def test_a_column_is_ordered_by_its_upstream_nodes_and_nodes_do_not_overlap() -> None:
    # a feeds c and b feeds d; the file lists d before c.
    ids = ["a", "b", "d", "c"]
    sizes = {"a": (200.0, 150.0), "b": (200.0, 60.0), "c": (100.0, 80.0), "d": (300.0, 80.0)}
    positions = arrange(ids, [("a", "c"), ("b", "d")], sizes, origin=(100.0, 50.0))
    assert positions["a"][1] < positions["b"][1]
    assert positions["c"][1] < positions["d"][1]  # c follows a, which is above b
    assert positions["a"] == (100, 50)
    # The second column starts after the first one's widest node; rows are a gap apart.
    assert positions["c"][0] == positions["d"][0] == 100 + 200 + COLUMN_GAP
    assert positions["b"][1] == 50 + 150 + ROW_GAP
    # The shorter column is centred on the taller one.
    first = 150 + ROW_GAP + 60
    second = 80 + ROW_GAP + 80
    assert positions["c"][1] == 50 + (first - second) / 2


def test_a_cycle_and_wires_to_unknown_nodes_do_not_break_it() -> None:
    ids = ["a", "b", "c"]
    positions = arrange(ids, [("a", "b"), ("b", "a"), ("b", "c"), ("c", "ghost"), ("a", "a")])
    assert set(positions) == set(ids)
    assert positions["a"][0] == positions["b"][0] < positions["c"][0]  # a cycle shares a column
    assert positions["a"][1] != positions["b"][1]
