"""Undo commands. Each edit calls `app.core.document.WorkflowDocument` and nothing else.

The canvas, the inspector and the problems list are never touched here: they follow the
document's change signals, so redo, undo and loading a file all update the views the same way.

An edit is made of *steps* (plain Python objects with `redo` / `undo`) wrapped in one
`EditCommand` on the QUndoStack. Compound edits (delete with edges, paste, reconnect) are several
steps in one command: they redo in order and undo in reverse, so every removal goes back to the
index it had and undo restores the file's bytes exactly. (Steps are deliberately not child
QUndoCommands: Python-owned children of a C++-owned parent are freed twice when the stack drops
them.) Drags are pushed once, at release; typing in one field during one focus merges into one
command, as do consecutive keyboard nudges of the same selection.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from typing import Any

from PySide6.QtGui import QUndoCommand

from app.core.document import WorkflowDocument
from app.core.model import Edge, Node

_sessions = itertools.count(1)

#: "Leave this config key out" (the type's default applies), as opposed to storing null.
UNSET: Any = object()

Point = tuple[float, float]


def new_session() -> int:
    """A token for one typing session (one focus of one field); edits within it merge."""
    return next(_sessions)


class Step:
    """One change of the document, reversible."""

    text = "Edit"
    merge_id = -1  # steps with the same id (>= 0) may merge when `merge` agrees

    def redo(self) -> None:
        raise NotImplementedError

    def undo(self) -> None:
        raise NotImplementedError

    def merge(self, other: Step) -> bool:
        return False

    def is_noop(self) -> bool:
        return False


class EditCommand(QUndoCommand):
    """What the undo stack holds: one or more steps under one name."""

    def __init__(self, text: str, steps: Sequence[Step]) -> None:
        super().__init__(text)
        self.steps = list(steps)

    def redo(self) -> None:
        for step in self.steps:
            step.redo()

    def undo(self) -> None:
        for step in reversed(self.steps):
            step.undo()

    def id(self) -> int:
        return self.steps[0].merge_id if len(self.steps) == 1 else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or len(self.steps) != 1 or len(other.steps) != 1:
            return False
        if not self.steps[0].merge(other.steps[0]):
            return False
        self.setObsolete(self.steps[0].is_noop())
        return True


def command(step: Step) -> EditCommand:
    return EditCommand(step.text, [step])


def macro(text: str, steps: Sequence[Step]) -> EditCommand:
    return EditCommand(text, steps)


def _name(node: Node) -> str:
    return node.title or node.id


class AddNode(Step):
    def __init__(self, doc: WorkflowDocument, node: Node, index: int | None = None) -> None:
        self.doc, self.node, self.index = doc, node, index
        self.text = f"Add {_name(node)}"

    def redo(self) -> None:
        self.doc.add_node(self.node, self.index)

    def undo(self) -> None:
        self.index = self.doc.remove_node(self.node)


class RemoveNode(Step):
    def __init__(self, doc: WorkflowDocument, node: Node) -> None:
        self.doc, self.node, self.index = doc, node, -1
        self.text = f"Delete {_name(node)}"

    def redo(self) -> None:
        self.index = self.doc.remove_node(self.node)

    def undo(self) -> None:
        self.doc.add_node(self.node, self.index)


def _edge_text(edge: Edge) -> str:
    return f"{edge.source}.{edge.source_port} → {edge.target}.{edge.target_port}"


class AddEdge(Step):
    def __init__(self, doc: WorkflowDocument, edge: Edge, index: int | None = None) -> None:
        self.doc, self.edge, self.index = doc, edge, index
        self.text = f"Connect {_edge_text(edge)}"

    def redo(self) -> None:
        self.doc.add_edge(self.edge, self.index)

    def undo(self) -> None:
        self.index = self.doc.remove_edge(self.edge)


class RemoveEdge(Step):
    def __init__(self, doc: WorkflowDocument, edge: Edge) -> None:
        self.doc, self.edge, self.index = doc, edge, -1
        self.text = f"Disconnect {_edge_text(edge)}"

    def redo(self) -> None:
        self.index = self.doc.remove_edge(self.edge)

    def undo(self) -> None:
        self.doc.add_edge(self.edge, self.index)


MOVE_ID, CONFIG_ID, NODE_ATTR_ID, WORKFLOW_ATTR_ID, COMMENT_ID = 101, 102, 103, 104, 105


class Move(Step):
    """Nodes and comments moved together by one drag, or by consecutive keyboard nudges."""

    def __init__(
        self,
        doc: WorkflowDocument,
        nodes: Sequence[tuple[Node, Point, Point]],
        comments: Sequence[tuple[dict[str, Any], Point, Point]] = (),
        *,
        nudge: bool = False,
    ) -> None:
        self.doc, self.nodes, self.comments, self.nudge = doc, list(nodes), list(comments), nudge
        count = len(self.nodes) + len(self.comments)
        self.text = (
            f"Move {_name(self.nodes[0][0])}"
            if len(self.nodes) == 1 and not self.comments
            else f"Move {count} items"
        )
        self.merge_id = MOVE_ID if nudge else -1

    def _targets(self) -> tuple[list[int], list[int]]:
        return [id(n) for n, _, _ in self.nodes], [id(c) for c, _, _ in self.comments]

    def merge(self, other: Step) -> bool:
        if not isinstance(other, Move) or not other.nudge or self._targets() != other._targets():
            return False
        self.nodes = [(n, old, new) for (n, old, _), (_, _, new) in zip(self.nodes, other.nodes, strict=True)]
        self.comments = [
            (c, old, new) for (c, old, _), (_, _, new) in zip(self.comments, other.comments, strict=True)
        ]
        return True

    def is_noop(self) -> bool:
        return all(old == new for _, old, new in self.nodes + self.comments)  # type: ignore[operator]

    def redo(self) -> None:
        for node, _old, new in self.nodes:
            self.doc.move_node(node, new)
        for comment, _old, new in self.comments:
            self.doc.update_comment(comment, position=[round(new[0]), round(new[1])])

    def undo(self) -> None:
        for node, old, _new in reversed(self.nodes):
            self.doc.move_node(node, old)
        for comment, old, _new in reversed(self.comments):
            self.doc.update_comment(comment, position=[round(old[0]), round(old[1])])


class SetConfig(Step):
    """Replace a node's config; edits of one field in one typing session merge."""

    merge_id = CONFIG_ID

    def __init__(
        self, doc: WorkflowDocument, node: Node, new: dict[str, Any], *, field: str = "", session: int = 0
    ) -> None:
        self.doc, self.node = doc, node
        self.old, self.new = copy.deepcopy(node.config), copy.deepcopy(new)
        self.field, self.session = field, session
        self.text = f"Change {field.replace('_', ' ') + ' of ' if field else ''}{_name(node)}"
        if not session:
            self.merge_id = -1

    def merge(self, other: Step) -> bool:
        if not (
            isinstance(other, SetConfig)
            and other.node is self.node
            and other.field == self.field
            and other.session == self.session
        ):
            return False
        self.new = other.new
        return True

    def is_noop(self) -> bool:
        return self.new == self.old

    def redo(self) -> None:
        self.doc.set_config(self.node, self.new)

    def undo(self) -> None:
        self.doc.set_config(self.node, self.old)


_NODE_SETTERS = {
    "title": WorkflowDocument.set_title,
    "description": WorkflowDocument.set_node_description,
    "cache": WorkflowDocument.set_cache,
}


class SetNodeAttribute(Step):
    """Title, description or cache flag of a node; typing in one field merges."""

    merge_id = NODE_ATTR_ID

    def __init__(
        self, doc: WorkflowDocument, node: Node, aspect: str, value: Any, *, session: int = 0
    ) -> None:
        self.doc, self.node, self.aspect = doc, node, aspect
        self.old, self.new, self.session = getattr(node, aspect), value, session
        self._set = _NODE_SETTERS[aspect]
        self.text = f"Change {'notes' if aspect == 'description' else aspect} of {_name(node)}"
        if not session:
            self.merge_id = -1

    def merge(self, other: Step) -> bool:
        if not (
            isinstance(other, SetNodeAttribute)
            and other.node is self.node
            and other.aspect == self.aspect
            and other.session == self.session
        ):
            return False
        self.new = other.new
        return True

    def is_noop(self) -> bool:
        return self.new == self.old

    def redo(self) -> None:
        self._set(self.doc, self.node, self.new)

    def undo(self) -> None:
        self._set(self.doc, self.node, self.old)


class RenameNode(Step):
    def __init__(self, doc: WorkflowDocument, node: Node, new_id: str) -> None:
        self.doc, self.node, self.old, self.new = doc, node, node.id, new_id
        self.text = f"Rename {node.id} to {new_id}"

    def redo(self) -> None:
        self.doc.rename_node(self.node, self.new)

    def undo(self) -> None:
        self.doc.rename_node(self.node, self.old)


class SetWorkflowAttribute(Step):
    """The workflow's name or description; typing merges."""

    merge_id = WORKFLOW_ATTR_ID

    def __init__(self, doc: WorkflowDocument, aspect: str, value: str, *, session: int = 0) -> None:
        self.doc, self.aspect, self.session = doc, aspect, session
        self.old = doc.workflow.name if aspect == "name" else doc.workflow.description
        self.new = value
        self.text = f"Change workflow {aspect}"
        if not session:
            self.merge_id = -1

    def merge(self, other: Step) -> bool:
        if not (
            isinstance(other, SetWorkflowAttribute)
            and other.aspect == self.aspect
            and other.session == self.session
        ):
            return False
        self.new = other.new
        return True

    def is_noop(self) -> bool:
        return self.new == self.old

    def _apply(self, value: str) -> None:
        if self.aspect == "name":
            self.doc.set_name(value)
        else:
            self.doc.set_description(value)

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class AddComment(Step):
    text = "Add comment"

    def __init__(self, doc: WorkflowDocument, comment: dict[str, Any], index: int | None = None) -> None:
        self.doc, self.comment, self.index = doc, comment, index

    def redo(self) -> None:
        self.doc.add_comment(self.comment, self.index)

    def undo(self) -> None:
        self.index = self.doc.remove_comment(self.comment)


class RemoveComment(Step):
    text = "Delete comment"

    def __init__(self, doc: WorkflowDocument, comment: dict[str, Any]) -> None:
        self.doc, self.comment, self.index = doc, comment, -1

    def redo(self) -> None:
        self.index = self.doc.remove_comment(self.comment)

    def undo(self) -> None:
        self.doc.add_comment(self.comment, self.index)


class UpdateComment(Step):
    """A comment's text or size; typing in one session merges."""

    merge_id = COMMENT_ID

    def __init__(
        self, doc: WorkflowDocument, comment: dict[str, Any], *, session: int = 0, **changes: Any
    ) -> None:
        self.doc, self.comment, self.session = doc, comment, session
        self.new = copy.deepcopy(changes)
        self.old = {key: copy.deepcopy(comment.get(key)) for key in changes}
        what = "text" if "text" in changes else "size" if "size" in changes else "note"
        self.text = f"Change comment {what}"
        if not session:
            self.merge_id = -1

    def merge(self, other: Step) -> bool:
        if not (
            isinstance(other, UpdateComment)
            and other.comment is self.comment
            and other.session == self.session
            and set(other.new) == set(self.new)
        ):
            return False
        self.new = other.new
        return True

    def is_noop(self) -> bool:
        return self.new == self.old

    def redo(self) -> None:
        self.doc.update_comment(self.comment, **self.new)

    def undo(self) -> None:
        self.doc.update_comment(self.comment, **self.old)
