"""In-process fake node types for executor tests, registered in their own `Registry` (never in
the built-in pack).

`fake.node` is configurable: its inputs and outputs, how long it takes, whether it fails, what it
streams, what usage it reports, which concurrency group it counts against. Every execution is
counted in `CALLS` (node id, in order) and the highest number running at once in `STATS`.

    registry = fake_registry()
    wf = workflow([fake("a", latency=0.1), fake("b", inputs=["x"])], [("a", "out", "b", "x")])
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from typing import Any

from pydantic import Field

from app.core.graph import GraphAnalysis, require_valid
from app.core.model import Edge, Node, Workflow
from app.core.registry import Registry
from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext, Skip, Usage
from app.core.values import DataType

CALLS: list[str] = []
STATS: dict[str, Any] = {"running": 0, "max_running": 0, "group_running": {}, "group_max": {}}
_lock = threading.Lock()


def reset() -> None:
    CALLS.clear()
    STATS.update(running=0, max_running=0, group_running={}, group_max={})


class FakeConfig(NodeConfig):
    label: str = ""
    inputs: list[str] = Field(default_factory=list)
    optional_inputs: list[str] = Field(default_factory=list)
    input_type: DataType = DataType.ANY
    outputs: list[str] = Field(default_factory=lambda: ["out"])
    #: Fixed output value; otherwise "label(in1,in2,...)".
    value: Any = None
    #: "set" / "object" / "tuple": output a value JSON cannot hold exactly.
    value_kind: str = ""
    latency: float = 0.0
    fail: bool = False
    fail_message: str = "fake failure"
    crash: bool = False
    #: Output ports to return as Skip(reason) / to leave out of the result.
    skip: list[str] = Field(default_factory=list)
    omit: list[str] = Field(default_factory=list)
    chunks: list[str] = Field(default_factory=list)
    chunks_in_thread: bool = False
    tokens: int = 0
    cost: float | None = None
    group: str | None = None
    log: str = ""
    #: Sleep in a worker thread (honouring ctx.cancel_event) instead of asyncio.sleep.
    blocking: bool = False


class FakeNode(NodeType[FakeConfig]):
    type_id = "fake.node"
    title = "Fake"
    category = "Test"
    config_model = FakeConfig
    cacheable = True

    def input_ports(self) -> list[Port]:
        required = [Port(name, self.config.input_type) for name in self.config.inputs]
        optional = [
            Port(name, self.config.input_type, required=False) for name in self.config.optional_inputs
        ]
        return required + optional

    def output_ports(self) -> list[Port]:
        return [Port(name, DataType.ANY) for name in self.config.outputs]

    def concurrency_group(self) -> str | None:
        return self.config.group

    def cache_key_extra(self, ctx: RunContext) -> Any:
        # Stands for what a real node resolves outside its config (a provider's endpoint).
        return os.environ.get("FAKE_ENDPOINT")

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        config = self.config
        group = config.group
        with _lock:
            CALLS.append(ctx.node_id)
            STATS["running"] += 1
            STATS["max_running"] = max(STATS["max_running"], STATS["running"])
            if group:
                per, top = STATS["group_running"], STATS["group_max"]
                per[group] = per.get(group, 0) + 1
                top[group] = max(top.get(group, 0), per[group])
        try:
            if config.log:
                ctx.log(config.log)
            if config.chunks:
                if config.chunks_in_thread:
                    await asyncio.to_thread(lambda: [ctx.chunk(text) for text in config.chunks])
                else:
                    for text in config.chunks:
                        ctx.chunk(text)
            if config.latency:
                if config.blocking:
                    await asyncio.to_thread(ctx.cancel_event.wait, config.latency)
                else:
                    await asyncio.sleep(config.latency)
            if config.tokens or config.cost is not None:
                ctx.report_usage(
                    Usage(
                        "fake",
                        "fake-model",
                        input_tokens=config.tokens,
                        output_tokens=0,
                        cost_usd=config.cost,
                    )
                )
            if config.crash:
                raise RuntimeError(config.fail_message)
            if config.fail:
                raise NodeError(config.fail_message, port=config.inputs[0] if config.inputs else None)
            label = config.label or ctx.node_id
            if config.value_kind:
                value = {"set": {1, 2}, "object": object(), "tuple": (1, 2)}[config.value_kind]
            elif config.value is not None:
                value = config.value
            else:
                args = ",".join(
                    v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=repr)
                    for _, v in sorted(inputs.items())
                )
                value = f"{label}({args})"
            result: dict[str, Any] = {}
            for name in config.outputs:
                if name in config.omit:
                    continue
                result[name] = Skip(f"{label} chose not to") if name in config.skip else value
            return result
        finally:
            with _lock:
                STATS["running"] -= 1
                if group:
                    STATS["group_running"][group] -= 1


def fake_registry() -> Registry:
    """A registry with the fake types plus the built-in io types (io.input / io.output)."""
    from nodes.io import WorkflowInput, WorkflowOutput

    registry = Registry()
    registry.register(FakeNode, origin="tests")
    registry.register(WorkflowInput, origin="tests")
    registry.register(WorkflowOutput, origin="tests")
    return registry


def fake(node_id: str, **config: Any) -> Node:
    return Node(id=node_id, type="fake.node", config=config)


def node(node_id: str, type_id: str, cache: bool = True, **config: Any) -> Node:
    return Node(id=node_id, type=type_id, config=config, cache=cache)


def workflow(nodes: list[Node], edges: list[tuple[str, str, str, str]], name: str = "test") -> Workflow:
    return Workflow(
        name=name,
        nodes=nodes,
        edges=[Edge(source=s, source_port=sp, target=t, target_port=tp) for s, sp, t, tp in edges],
    )


def analyze(nodes: list[Node], edges: list[tuple[str, str, str, str]]) -> GraphAnalysis:
    return require_valid(workflow(nodes, edges), fake_registry())
