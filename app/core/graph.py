"""Checking a workflow as a graph, and the resolved view the executor and the editor use.

`analyze` never raises on a bad workflow: it returns every problem at once, each naming the node
id (and port or config field) it concerns, so the editor can badge the nodes and the CLI can list
them. Checks: node ids (format, duplicates), unknown node types, config fields, dangling edges,
unknown ports, incompatible port types, more than one edge into one input, required inputs with
nothing connected, cycles (naming the nodes on each), and clashing workflow input/output names.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.core.model import Edge, Node, Workflow, problems_from_validation
from app.core.problems import Problem, WorkflowError
from app.core.registry import Registry, default_registry
from app.core.sdk import NodeType, Port
from app.core.values import incompatibility_reason

if TYPE_CHECKING:
    import networkx as nx

NODE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass
class ResolvedNode:
    node: Node
    node_type: type[NodeType[Any]] | None = None
    instance: NodeType[Any] | None = None
    inputs: dict[str, Port] = field(default_factory=dict)
    outputs: dict[str, Port] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.node.id


@dataclass
class GraphAnalysis:
    workflow: Workflow
    nodes: dict[str, ResolvedNode]
    graph: nx.MultiDiGraph
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not any(problem.severity == "error" for problem in self.problems)

    def problems_for(self, node_id: str) -> list[Problem]:
        return [problem for problem in self.problems if problem.node_id == node_id]

    def incoming(self, node_id: str) -> list[Edge]:
        return [data["edge"] for _, _, data in self.graph.in_edges(node_id, data=True)]

    def outgoing(self, node_id: str) -> list[Edge]:
        return [data["edge"] for _, _, data in self.graph.out_edges(node_id, data=True)]

    def topological_order(self) -> list[str]:
        """Node ids in a stable topological order (file order breaks ties). Requires `ok`."""
        import networkx as nx  # imported on first use: it costs ~0.3 s at start-up

        position = {node_id: index for index, node_id in enumerate(self.nodes)}
        return list(nx.lexicographical_topological_sort(self.graph, key=position.__getitem__))

    def interface(self, role: str) -> dict[str, str]:
        """{name: node id} of the workflow's inputs (role "input") or outputs ("output")."""
        found: dict[str, str] = {}
        for resolved in self.nodes.values():
            instance = resolved.instance
            if instance is not None and instance.interface_role == role:
                name = instance.interface_name()
                if name is not None:
                    found.setdefault(name, resolved.id)
        return found


def _unknown_type_message(type_id: str, registry: Registry) -> str:
    close = difflib.get_close_matches(type_id, registry.type_ids(), n=3, cutoff=0.6)
    hint = f" — did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown node type '{type_id}'{hint}"


def _resolve_nodes(
    workflow: Workflow, registry: Registry, problems: list[Problem]
) -> dict[str, ResolvedNode]:
    resolved: dict[str, ResolvedNode] = {}
    for index, node in enumerate(workflow.nodes):
        pointer = f"/nodes/{index}"
        if not NODE_ID.fullmatch(node.id):
            problems.append(
                Problem(
                    "node ids start with a letter or underscore and contain only letters, digits, '_' and '-'",
                    code="bad_id",
                    node_id=node.id,
                    field="id",
                    pointer=pointer + "/id",
                )
            )
        if node.id in resolved:
            problems.append(
                Problem(
                    f"the id '{node.id}' is used by more than one node; ids must be unique",
                    code="duplicate_id",
                    node_id=node.id,
                    field="id",
                    pointer=pointer + "/id",
                )
            )
            continue
        entry = ResolvedNode(node)
        resolved[node.id] = entry
        node_type = registry.get(node.type)
        if node_type is None:
            problems.append(
                Problem(
                    _unknown_type_message(node.type, registry),
                    code="unknown_type",
                    node_id=node.id,
                    field="type",
                    pointer=pointer + "/type",
                )
            )
            continue
        entry.node_type = node_type
        try:
            instance = node_type.from_config(node.config)
        except ValidationError as exc:
            for problem in problems_from_validation(exc, node.config, pointer + "/config", node_id=node.id):
                field_name = f"config.{problem.field}" if problem.field else "config"
                problems.append(
                    Problem(
                        problem.message,
                        code=problem.code,
                        node_id=node.id,
                        field=field_name,
                        pointer=problem.pointer,
                    )
                )
            continue
        entry.instance = instance
        entry.inputs = {port.name: port for port in instance.input_ports()}
        entry.outputs = {port.name: port for port in instance.output_ports()}
    return resolved


def _check_edges(
    workflow: Workflow, nodes: dict[str, ResolvedNode], graph: nx.MultiDiGraph, problems: list[Problem]
) -> None:
    fed: dict[tuple[str, str], int] = {}
    for index, edge in enumerate(workflow.edges):
        pointer = f"/edges/{index}"
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if source is None or target is None:
            missing = edge.source if source is None else edge.target
            end = "source" if source is None else "target"
            problems.append(
                Problem(
                    f"edge #{index + 1} ({edge.source}.{edge.source_port} → {edge.target}.{edge.target_port}) "
                    f"points to a node that does not exist: '{missing}'",
                    code="dangling_edge",
                    node_id=target.id if target is not None else (source.id if source is not None else None),
                    edge_index=index,
                    field=end,
                    pointer=f"{pointer}/{end}",
                )
            )
            continue
        ok = True
        source_port = source.outputs.get(edge.source_port)
        target_port = target.inputs.get(edge.target_port)
        if source.instance is not None and source_port is None:
            ok = False
            known = ", ".join(source.outputs) or "none"
            problems.append(
                Problem(
                    f"has no output port '{edge.source_port}' (its outputs: {known})",
                    code="unknown_port",
                    node_id=source.id,
                    port=edge.source_port,
                    edge_index=index,
                    pointer=f"{pointer}/source_port",
                )
            )
        if target.instance is not None and target_port is None:
            ok = False
            known = ", ".join(target.inputs) or "none"
            problems.append(
                Problem(
                    f"has no input port '{edge.target_port}' (its inputs: {known})",
                    code="unknown_port",
                    node_id=target.id,
                    port=edge.target_port,
                    edge_index=index,
                    pointer=f"{pointer}/target_port",
                )
            )
        if source_port is not None and target_port is not None:
            reason = incompatibility_reason(source_port.type, target_port.type)
            if reason:
                ok = False
                problems.append(
                    Problem(
                        f"input '{edge.target_port}' cannot take output '{edge.source_port}' of '{source.id}': {reason}",
                        code="incompatible_types",
                        node_id=target.id,
                        port=edge.target_port,
                        edge_index=index,
                        pointer=pointer,
                    )
                )
        key = (target.id, edge.target_port)
        fed[key] = fed.get(key, 0) + 1
        if fed[key] == 2:
            problems.append(
                Problem(
                    "more than one edge goes into this input; an input takes exactly one value",
                    code="multiple_edges",
                    node_id=target.id,
                    port=edge.target_port,
                    edge_index=index,
                    pointer=pointer,
                )
            )
        graph.add_edge(source.id, target.id, edge=edge, index=index, valid=ok)


def _check_required_inputs(
    nodes: dict[str, ResolvedNode], graph: nx.MultiDiGraph, problems: list[Problem]
) -> None:
    for resolved in nodes.values():
        connected = {data["edge"].target_port for _, _, data in graph.in_edges(resolved.id, data=True)}
        for port in resolved.inputs.values():
            if port.required and port.name not in connected:
                problems.append(
                    Problem(
                        "this input is required but nothing is connected to it",
                        code="unconnected_input",
                        node_id=resolved.id,
                        port=port.name,
                    )
                )


def _check_cycles(nodes: dict[str, ResolvedNode], graph: nx.MultiDiGraph, problems: list[Problem]) -> None:
    import networkx as nx

    order = {node_id: index for index, node_id in enumerate(nodes)}
    for component in nx.strongly_connected_components(graph):
        if len(component) == 1:
            (only,) = component
            if not graph.has_edge(only, only):
                continue
        members = sorted(component, key=order.__getitem__)
        cycle = [u for u, _, *_ in nx.find_cycle(graph.subgraph(component), source=members[0])]
        path = " → ".join([*cycle, cycle[0]])
        others = ", ".join(f"'{m}'" for m in members)
        problems.append(
            Problem(
                f"the workflow loops back on itself ({path}); nodes on the cycle: {others}. "
                "A workflow must be a graph without cycles",
                code="cycle",
                node_id=members[0],
            )
        )


def _check_interface_names(nodes: dict[str, ResolvedNode], problems: list[Problem]) -> None:
    for role in ("input", "output"):
        owners: dict[str, str] = {}
        for resolved in nodes.values():
            instance = resolved.instance
            if instance is None or instance.interface_role != role:
                continue
            name = instance.interface_name()
            if name is None:
                continue
            if name in owners:
                problems.append(
                    Problem(
                        f"the workflow {role} name '{name}' is already used by node '{owners[name]}'; "
                        f"each {role} needs its own name",
                        code=f"duplicate_{role}_name",
                        node_id=resolved.id,
                        field="config.name",
                    )
                )
            else:
                owners[name] = resolved.id


def analyze(workflow: Workflow, registry: Registry | None = None) -> GraphAnalysis:
    registry = registry or default_registry()
    problems: list[Problem] = []
    nodes = _resolve_nodes(workflow, registry, problems)
    import networkx as nx  # imported on first use: it costs ~0.3 s at start-up

    graph = nx.MultiDiGraph()
    graph.add_nodes_from(nodes)
    _check_edges(workflow, nodes, graph, problems)
    _check_required_inputs(nodes, graph, problems)
    _check_cycles(nodes, graph, problems)
    _check_interface_names(nodes, problems)
    return GraphAnalysis(workflow, nodes, graph, problems)


def validate(workflow: Workflow, registry: Registry | None = None) -> list[Problem]:
    return analyze(workflow, registry).problems


def require_valid(workflow: Workflow, registry: Registry | None = None, source: str = "") -> GraphAnalysis:
    analysis = analyze(workflow, registry)
    if not analysis.ok:
        raise WorkflowError(analysis.problems, source=source)
    return analysis
