"""Data sources: files and other places text comes from."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext
from app.core.values import DataType

MAX_FILE_BYTES = 20 * 1024 * 1024


class FileConfig(NodeConfig):
    path: str = Field(
        default="",
        description="The file to read; a relative path starts from the workflow file's folder.",
        json_schema_extra={"ui": "file"},
    )


class ReadFile(NodeType[FileConfig]):
    type_id = "data.file"
    title = "Read file"
    category = "Data"
    description = "Reads a text file (plain text, Markdown, JSON, CSV) next to the workflow."
    config_model = FileConfig
    outputs = (Port("text", DataType.TEXT),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        if not self.config.path:
            raise NodeError("no file chosen", field="config.path")
        path = ctx.resolve_path(self.config.path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise NodeError(
                    f"{path} is {size / 1e6:.1f} MB; files up to {MAX_FILE_BYTES // 1_000_000} MB can be read",
                    field="config.path",
                )
            data = path.read_bytes()
        except FileNotFoundError:
            raise NodeError(f"file not found: {path}", field="config.path") from None
        except IsADirectoryError:
            raise NodeError(f"{path} is a folder, not a file", field="config.path") from None
        except PermissionError:
            raise NodeError(f"no permission to read {path}", field="config.path") from None
        try:
            return {"text": data.decode("utf-8-sig")}
        except UnicodeDecodeError as exc:
            raise NodeError(
                f"{path} is not UTF-8 text (invalid byte at offset {exc.start})", field="config.path"
            ) from None
