"""Small workflow documents shared by the core tests."""

from __future__ import annotations

from typing import Any


def node(
    node_id: str, type_id: str, config: dict[str, Any] | None = None, x: float = 0, y: float = 0
) -> dict:
    return {
        "id": node_id,
        "type": type_id,
        "title": node_id.title(),
        "position": [x, y],
        "config": config or {},
    }


def edge(source: str, source_port: str, target: str, target_port: str) -> dict:
    return {"source": source, "source_port": source_port, "target": target, "target_port": target_port}


def document(nodes: list[dict], edges: list[dict], **extra: Any) -> dict:
    return {
        "format": "chainwright.workflow",
        "version": 1,
        "name": extra.pop("name", "Test"),
        "description": extra.pop("description", ""),
        "nodes": nodes,
        "edges": edges,
        **extra,
    }


def summarize() -> dict:
    """The example of DESIGN §1.2."""
    return document(
        [
            node("doc", "data.file", {"path": "notes.txt"}),
            node("ask", "prompt.template", {"template": "Summarize in one line:\n{{text}}"}, 260),
            node("llm", "model.chat", {"provider": "openai", "model": "gpt-4o-mini"}, 520),
            node("out", "io.output", {"name": "summary"}, 780),
        ],
        [
            edge("doc", "text", "ask", "text"),
            edge("ask", "text", "llm", "prompt"),
            edge("llm", "text", "out", "value"),
        ],
        name="Summarize a file",
    )
