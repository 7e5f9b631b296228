"""Helpers shared by the built-in node families (not a node module: the registry skips `_` names).

The plain functions here (no RunContext) are also what exported scripts run: `app.core.export`
copies their source, so keep them to the standard library and NodeError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app.core.sdk import NodeError, RunContext
from app.core.templates import fill
from app.core.values import to_text

MEGABYTE = 1024 * 1024
#: The largest file a data node reads (data.file, data.csv, each file of data.folder).
MAX_FILE_BYTES = 20 * MEGABYTE


def missing_placeholder(name: str) -> NodeError:
    return NodeError(
        f"the placeholder {{{{{name}}}}} has nothing connected to it: connect a value to the input '{name}'",
        port=name,
    )


def fill_template(
    template: str,
    values: Mapping[str, Any],
    convert: Callable[[Any], str] = to_text,
) -> str:
    """`templates.fill`, with a placeholder left unconnected reported as a NodeError naming its port."""
    try:
        return fill(template, values, convert)
    except KeyError as exc:
        raise missing_placeholder(str(exc.args[0])) from None


def preview(text: str, limit: int = 80) -> str:
    """The start of a text on one line, for error messages."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def size_text(size: int) -> str:
    if size >= MEGABYTE:
        return f"{size / MEGABYTE:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"


def resolve_readable(ctx: RunContext, path_text: str, field: str = "config.path") -> Path:
    """A config path resolved against the workflow folder.

    In restricted mode (an untrusted workflow) only files inside the workflow's folder may be read.
    """
    if not path_text.strip():
        raise NodeError("no path given: choose a file or folder", field=field)
    if "\0" in path_text:
        raise NodeError("the path contains a NUL character, which no file name can hold", field=field)
    path = ctx.resolve_path(path_text.strip())
    if ctx.restricted:
        folder = ctx.workflow_dir.resolve()
        target = path.resolve()
        if target != folder and folder not in target.parents:
            raise NodeError(
                f"{path_text} is outside the workflow's folder; an untrusted workflow may only read "
                "files inside its own folder (trust the workflow to lift this limit)",
                field=field,
            )
    return path


def read_text_file(path: Path, *, field: str = "config.path", limit: int | None = None) -> str:
    """Read a UTF-8 text file with a size limit, turning every failure into a plain NodeError."""
    limit = MAX_FILE_BYTES if limit is None else limit
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError(str(path))
        if size > limit:
            raise NodeError(
                f"{path} is {size_text(size)}; files up to {size_text(limit)} can be read",
                field=field,
            )
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise NodeError(f"file not found: {path}", field=field) from None
    except IsADirectoryError:
        raise NodeError(f"{path} is a folder, not a file", field=field) from None
    except PermissionError:
        raise NodeError(f"no permission to read {path}", field=field) from None
    except OSError as exc:
        raise NodeError(f"cannot read {path}: {exc.strerror or exc}", field=field) from None
    if len(data) > limit:  # the file grew while it was read
        raise NodeError(f"{path} is larger than {size_text(limit)}; it cannot be read", field=field)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NodeError(
            f"{path} is not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8 text",
            field=field,
        ) from None
