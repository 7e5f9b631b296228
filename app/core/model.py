"""The workflow file format (DESIGN.md §1.2): pydantic models, loading, migrations and saving.

Loading is strict about *structure* (a node without a type, a position that is not two numbers, an
unknown top-level key) and lenient about *meaning* (unknown node types, dangling edges, cycles):
those are reported by `app.core.graph.validate` so that a file with mistakes still opens in the
editor and can be fixed. Loading never executes anything and never writes to the file.

Saving is atomic (temp file in the same folder, fsync, `os.replace`) and deterministic: the same
workflow always serializes to the same bytes — structural keys in a fixed order, keys inside
`config` and `ui` sorted, 2-space indent, UTF-8, trailing newline.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.problems import Problem, WorkflowError

FORMAT_NAME = "chainwright.workflow"
CURRENT_VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NESTING = 200

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class Node(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    type: str
    title: str = ""
    position: Annotated[list[FiniteFloat], Field(min_length=2, max_length=2)] = Field(
        default_factory=lambda: [0.0, 0.0]
    )
    config: dict[str, Any] = Field(default_factory=dict)
    description: str = ""
    cache: bool = True


class Edge(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    source: str
    source_port: str
    target: str
    target_port: str


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["chainwright.workflow"] = FORMAT_NAME
    version: int = CURRENT_VERSION
    name: str = ""
    description: str = ""
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    ui: dict[str, Any] | None = None

    def node(self, node_id: str) -> Node | None:
        return next((node for node in self.nodes if node.id == node_id), None)


class WorkflowFileError(WorkflowError):
    """The file cannot be read as a workflow at all."""


class NewerVersionError(WorkflowFileError):
    """The file was written by a newer Chainwright; it is refused and never overwritten."""


# --- migrations ------------------------------------------------------------------------------
# One function per step, keyed by the version it upgrades *from*. Each takes and returns a plain
# JSON document and must not fail on documents that are merely semantically wrong.


def _migrate_v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Pre-release drafts (version 0) had no `format` key and called edges `links`."""
    upgraded = dict(doc)
    upgraded.setdefault("format", FORMAT_NAME)
    if "links" in upgraded and "edges" not in upgraded:
        upgraded["edges"] = upgraded.pop("links")
    upgraded["version"] = 1
    return upgraded


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _migrate_v0_to_v1}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    version = doc.get("version")
    while isinstance(version, int) and version < CURRENT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise WorkflowFileError(
                [
                    Problem(
                        f"format version {version} is too old to be read",
                        code="old_version",
                        pointer="/version",
                    )
                ]
            )
        doc = step(doc)
        version = doc.get("version")
    return doc


# --- loading ---------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a workflow file (JSON has no such number)")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether anything in `value` sits more than `limit` levels deep (only containers are
    walked: a big workflow's many strings and numbers are checked through their container)."""
    if not isinstance(value, dict | list):
        return limit < 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        if children and depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json_text(text: str) -> Any:
    """Parse JSON text, turning every failure into a `WorkflowFileError` with a line and column."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise WorkflowFileError(
            [Problem(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", code="json")]
        ) from None
    except ValueError as exc:
        raise WorkflowFileError([Problem(f"not valid JSON: {exc}", code="json")]) from None
    except RecursionError:
        raise WorkflowFileError(
            [Problem(f"nested more than {MAX_NESTING} levels deep", code="too_deep")]
        ) from None


def _plain_words(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    simple = {
        "missing": "is required but missing",
        "extra_forbidden": "is not a known field",
        "string_type": "must be text",
        "int_type": "must be a whole number",
        "float_type": "must be a number",
        "finite_number": "must be a finite number",
        "bool_type": "must be true or false",
        "list_type": "must be a list",
        "dict_type": "must be an object",
        "model_type": "must be an object",
    }
    if kind in simple:
        return simple[kind]
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')}"
    if kind in {"too_short", "too_long"} and error["loc"][-1:] == ("position",):
        return "must be a list of two numbers [x, y]"
    return str(error.get("msg", "is not valid"))


def problems_from_validation(
    exc: ValidationError, doc: Any, base_pointer: str = "", node_id: str | None = None
) -> list[Problem]:
    """Turn a pydantic error into located, plain-word problems."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        pointer = base_pointer + "".join(f"/{part}" for part in loc)
        this_node, field_path = node_id, loc
        edge_index = None
        if node_id is None and len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            raw = doc["nodes"][loc[1]] if isinstance(doc, dict) else None
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            this_node = raw_id if isinstance(raw_id, str) else f"#{loc[1] + 1}"
            field_path = loc[2:]
        elif len(loc) >= 2 and loc[0] == "edges" and isinstance(loc[1], int):
            edge_index, field_path = loc[1], loc[2:]
        field = ".".join(str(part) for part in field_path) or None
        problems.append(
            Problem(
                _plain_words(error),
                code=error["type"],
                node_id=this_node,
                field=field,
                edge_index=edge_index,
                pointer=pointer,
            )
        )
    return problems


def workflow_from_document(doc: Any) -> Workflow:
    """Validate a parsed JSON document (any version this app knows) into a `Workflow`."""
    if not isinstance(doc, dict):
        raise WorkflowFileError([Problem("the file must contain a JSON object", code="not_object")])
    if _depth_exceeds(doc, MAX_NESTING):
        raise WorkflowFileError([Problem(f"nested more than {MAX_NESTING} levels deep", code="too_deep")])
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise WorkflowFileError(
            [
                Problem(
                    "'version' must be a whole number such as 1",
                    code="version",
                    field="version",
                    pointer="/version",
                )
            ]
        )
    if version > CURRENT_VERSION:
        raise NewerVersionError(
            [
                Problem(
                    f"this file uses workflow format version {version}, but this Chainwright reads "
                    f"versions up to {CURRENT_VERSION}; update Chainwright to open it (the file was not changed)",
                    code="newer_version",
                    field="version",
                    pointer="/version",
                )
            ]
        )
    if version >= 1 and doc.get("format") != FORMAT_NAME:
        raise WorkflowFileError(
            [
                Problem(
                    f"this is not a Chainwright workflow: 'format' must be \"{FORMAT_NAME}\"",
                    code="format",
                    field="format",
                    pointer="/format",
                )
            ]
        )
    doc = migrate(doc)
    try:
        return Workflow.model_validate(doc)
    except ValidationError as exc:
        raise WorkflowFileError(problems_from_validation(exc, doc)) from None


def parse_workflow(text: str | bytes, source: str = "") -> Workflow:
    try:
        if isinstance(text, bytes):
            if len(text) > MAX_FILE_BYTES:
                raise WorkflowFileError(
                    [
                        Problem(
                            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB", code="too_large"
                        )
                    ]
                )
            try:
                text = text.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise WorkflowFileError(
                    [Problem(f"not UTF-8 text (invalid byte at offset {exc.start})", code="encoding")]
                ) from None
        return workflow_from_document(parse_json_text(text))
    except WorkflowFileError as exc:
        exc.source = source
        exc.args = (exc.render(),)
        raise


def load_workflow(path: str | os.PathLike[str]) -> Workflow:
    """Read a workflow file, or the workflow embedded in a script Chainwright exported (`.py`,
    parsed, never run). Raises `WorkflowFileError` (or `NewerVersionError`) naming the file."""
    path = Path(path)
    if path.suffix == ".py":
        from app.core.export import workflow_from_script

        try:
            source = path.read_bytes()
        except OSError as exc:
            raise WorkflowFileError(
                [Problem(f"cannot be read: {exc.strerror or exc}", code="io")], source=str(path)
            ) from None
        return workflow_from_script(source, filename=str(path))
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise WorkflowFileError([Problem("no such file", code="not_found")], source=str(path)) from None
    except IsADirectoryError:
        raise WorkflowFileError(
            [Problem("is a folder, not a file", code="not_file")], source=str(path)
        ) from None
    except OSError as exc:
        raise WorkflowFileError(
            [Problem(f"cannot be read: {exc.strerror or exc}", code="io")], source=str(path)
        ) from None
    return parse_workflow(data, source=str(path))


# --- saving ----------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _coordinate(value: float) -> int | float:
    if math.isfinite(value) and value == int(value):
        return int(value)
    return round(value, 3)


def workflow_to_document(workflow: Workflow) -> dict[str, Any]:
    nodes = []
    for node in workflow.nodes:
        item: dict[str, Any] = {
            "id": node.id,
            "type": node.type,
            "title": node.title,
            "position": [_coordinate(v) for v in node.position],
            "config": _canonical(node.config),
        }
        if node.description:
            item["description"] = node.description
        if not node.cache:
            item["cache"] = False
        nodes.append(item)
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": CURRENT_VERSION,
        "name": workflow.name,
        "description": workflow.description,
        "nodes": nodes,
        "edges": [edge.model_dump() for edge in workflow.edges],
    }
    if workflow.ui is not None:
        doc["ui"] = _canonical(workflow.ui)
    return doc


def workflow_to_bytes(workflow: Workflow) -> bytes:
    text = json.dumps(workflow_to_document(workflow), indent=2, ensure_ascii=False) + "\n"
    # A lone surrogate cannot be UTF-8 encoded; "backslashreplace" writes it as \udXXX, which is
    # exactly the JSON escape that reads back as the same string.
    return text.encode("utf-8", "backslashreplace")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` so that readers see either the old or the new file, never a mix."""
    path = Path(path)
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_workflow(workflow: Workflow, path: str | os.PathLike[str]) -> None:
    atomic_write_bytes(path, workflow_to_bytes(workflow))
