"""Laying nodes out left to right, in the order data flows (Edit ▸ Arrange Nodes, and a file whose
nodes have no positions).

Each node goes in the column after its furthest upstream node (the longest path from a source,
so every wire runs left to right; the nodes of a cycle share a column). Within a column, nodes are
ordered by where their upstream nodes sit, so wires cross as little as a single sweep allows, and
otherwise keep the order they have in the file. Columns are as wide as their widest node and are
centred on the tallest one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

#: Width and height assumed for a node whose size is not given (a small node on the canvas).
DEFAULT_SIZE = (180.0, 100.0)
COLUMN_GAP = 80.0
ROW_GAP = 40.0


def needs_arrangement(positions: Sequence[Sequence[float]]) -> bool:
    """True when two or more nodes all sit on the same spot: a file written without positions
    (they default to 0, 0), which would open as one pile."""
    return len(positions) >= 2 and all(list(p) == list(positions[0]) for p in positions)


def arrange(
    node_ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    sizes: Mapping[str, tuple[float, float]] | None = None,
    origin: tuple[float, float] = (0.0, 0.0),
) -> dict[str, tuple[float, float]]:
    """New top-left positions for `node_ids`; `edges` are (source, target) pairs (others are
    ignored); `sizes` gives (width, height) per node."""
    import networkx as nx  # here, not at import: the window imports this module while it starts

    sizes = sizes or {}
    order = {node_id: index for index, node_id in enumerate(node_ids)}
    graph = nx.DiGraph()
    graph.add_nodes_from(node_ids)
    graph.add_edges_from((s, t) for s, t in edges if s in order and t in order and s != t)
    condensed = nx.condensation(graph)  # a DAG of strongly connected parts (a cycle is one part)
    part_of = condensed.graph["mapping"]
    part_column: dict[int, int] = {}
    for part in nx.topological_sort(condensed):
        part_column[part] = max((part_column[p] + 1 for p in condensed.predecessors(part)), default=0)

    columns: dict[int, list[str]] = {}
    for node_id in node_ids:
        columns.setdefault(part_column[part_of[node_id]], []).append(node_id)
    row_of: dict[str, float] = {}
    for column in sorted(columns):
        members = columns[column]
        for node_id in members:
            upstream = [row_of[p] for p in graph.predecessors(node_id) if p in row_of]
            row_of[node_id] = sum(upstream) / len(upstream) if upstream else float(order[node_id])
        members.sort(key=lambda n: (row_of[n], order[n]))
        for row, node_id in enumerate(members):
            row_of[node_id] = float(row)

    def size(node_id: str) -> tuple[float, float]:
        return sizes.get(node_id, DEFAULT_SIZE)

    heights = {
        column: sum(size(n)[1] for n in members) + ROW_GAP * (len(members) - 1)
        for column, members in columns.items()
    }
    tallest = max(heights.values(), default=0.0)
    positions: dict[str, tuple[float, float]] = {}
    x = origin[0]
    for column in sorted(columns):
        members = columns[column]
        y = origin[1] + (tallest - heights[column]) / 2
        for node_id in members:
            positions[node_id] = (round(x), round(y))
            y += size(node_id)[1] + ROW_GAP
        x += max(size(n)[0] for n in members) + COLUMN_GAP
    return positions
