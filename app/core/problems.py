"""A problem found in a workflow: what is wrong and exactly where.

Every error the engine reports to a person — a file that does not parse, a node whose config is
wrong, an edge into a missing port — is a `Problem`. Its location is given the way people think
about a workflow (node id, port, config field) and, when it comes from the file itself, as a JSON
pointer into the file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    code: str = "invalid"
    node_id: str | None = None
    port: str | None = None
    field: str | None = None
    edge_index: int | None = None
    pointer: str | None = None
    severity: str = "error"

    def location(self) -> str:
        parts: list[str] = []
        if self.node_id is not None:
            parts.append(f"node '{self.node_id}'")
        elif self.edge_index is not None:
            parts.append(f"edge #{self.edge_index + 1}")
        if self.port is not None:
            parts.append(f"port '{self.port}'")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        if not parts and self.pointer:
            parts.append(f"at {self.pointer}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class WorkflowError(Exception):
    """A workflow that cannot be used as it is, with every problem found in it."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        return "\n".join(prefix + str(problem) for problem in self.problems)
