"""Tools: call web APIs and run the user's own Python code."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator

from app.core import templates
from app.core.sdk import NodeConfig, NodeType, Port, RunContext
from app.core.values import DataType

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class HttpConfig(NodeConfig):
    method: HttpMethod = Field(default="GET", description="The HTTP method.")
    url: str = Field(default="https://", description="The address; may hold {{placeholders}}.", json_schema_extra={"ui": "template"})
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers; values may hold {{placeholders}}.")
    body: str = Field(default="", description="Request body; may hold {{placeholders}}.", json_schema_extra={"ui": "template"})
    timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="Give up after this many seconds.")


class HttpRequest(NodeType[HttpConfig]):
    type_id = "tool.http"
    title = "HTTP request"
    category = "Tool"
    description = "Calls a web API and returns the response body and status code."
    config_model = HttpConfig
    outputs = (Port("body", DataType.TEXT), Port("status", DataType.NUMBER))
    dynamic_ports = "one text input per distinct {{placeholder}} in the url, headers and body"
    cacheable = False

    def input_ports(self) -> list[Port]:
        text = "\n".join([self.config.url, *self.config.headers.values(), self.config.body])
        return [Port(name, DataType.TEXT) for name in templates.placeholders(text)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return await super().run(inputs, ctx)


_ANNOTATION_TYPES = {
    "str": DataType.TEXT,
    "int": DataType.NUMBER,
    "float": DataType.NUMBER,
    "bool": DataType.BOOLEAN,
    "list": DataType.LIST,
    "dict": DataType.JSON,
}


@dataclass(frozen=True, slots=True)
class MainSignature:
    parameters: list[Port]


def parse_main(code: str) -> MainSignature:
    """Find `def main(...)` in the code by parsing it — the code is never run here.

    Raises ValueError with the line number when the code does not parse or has no usable main.
    """
    try:
        tree = ast.parse(code, filename="<tool.python code>")
    except SyntaxError as exc:
        raise ValueError(f"line {exc.lineno}: {exc.msg}") from None
    mains = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "main"
    ]
    if not mains:
        raise ValueError("the code must define a function `def main(...)` at the top level")
    main = mains[-1]
    args = main.args
    if args.posonlyargs:
        raise ValueError(f"line {main.lineno}: main's parameters cannot be positional-only")
    if args.vararg or args.kwarg:
        raise ValueError(f"line {main.lineno}: main cannot take *args or **kwargs; name each input")
    plain = args.args
    defaults_from = len(plain) - len(args.defaults)
    ports = []
    for index, arg in enumerate(plain):
        ports.append(Port(arg.arg, _annotation_type(arg.annotation), required=index < defaults_from))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        ports.append(Port(arg.arg, _annotation_type(arg.annotation), required=default is None))
    return MainSignature(ports)


def _annotation_type(annotation: ast.expr | None) -> DataType:
    if isinstance(annotation, ast.Name):
        return _ANNOTATION_TYPES.get(annotation.id, DataType.ANY)
    if isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name):
        return _ANNOTATION_TYPES.get(annotation.value.id, DataType.ANY)
    return DataType.ANY


DEFAULT_CODE = 'def main(text: str) -> str:\n    return text.strip()\n'


class PythonConfig(NodeConfig):
    code: str = Field(
        default=DEFAULT_CODE,
        description="Python defining `def main(...)`; its parameters become inputs, its return value the result.",
        json_schema_extra={"ui": "code"},
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="Stop the code after this many seconds.")

    @field_validator("code")
    @classmethod
    def _main_must_parse(cls, code: str) -> str:
        parse_main(code)
        return code


class PythonCode(NodeType[PythonConfig]):
    type_id = "tool.python"
    title = "Python code"
    category = "Tool"
    description = "Runs your own Python function `main(...)` in a separate process."
    config_model = PythonConfig
    outputs = (Port("result", DataType.ANY),)
    dynamic_ports = "one input per parameter of main (found by parsing the code, never by running it)"
    cacheable = False

    def input_ports(self) -> list[Port]:
        return parse_main(self.config.code).parameters

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return await super().run(inputs, ctx)
