"""Export a workflow as one standalone Python script (DESIGN.md §1.5), and read it back.

The script needs Python ≥ 3.11 and httpx (plus llama-cpp-python for `local` model nodes); it
never imports `app` or `nodes`. It has a docstring, the helper functions the workflow uses,
`run(**inputs) -> dict` with one block per node in topological order, a command-line `main`
that prints what `chainwright run --json` prints, and the original workflow as a literal
(`WORKFLOW = {...}`) so `chainwright open script.py` restores the graph.

How a node becomes code: each node type implements `export(code)` and writes its block through
the `NodeExport` it is given — it asks for its inputs as expressions, registers the helper
functions it calls (`code.helper(fn)`), and assigns its outputs. Helper functions are copied
from their real source with `inspect.getsource`: the names they use are resolved the way Python
would, and must be the standard library, httpx, or other functions and constants that follow
the same rule; anything else (pydantic, `app.core.sdk`…) makes the export fail with a message
naming the node and the name. Many nodes call the very functions the app runs (templates,
value conversion); model calls use `app.core.export_runtime`, checked against the app's
clients by equivalence tests.

Safety: every user string enters the script as a `repr()` literal; identifiers are generated
from titles (sanitised, unique), never taken raw; no key is ever written — scripts read keys
from the environment when they run.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import keyword
import os
import re
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import values
from app.core.graph import GraphAnalysis, require_valid
from app.core.model import Workflow, workflow_from_document, workflow_to_document
from app.core.problems import Problem, WorkflowError
from app.core.registry import Registry
from app.core.values import DataType

SKIPPED_NAME = "SKIPPED"
THIRD_PARTY_IMPORTS = {"httpx", "llama_cpp"}
RESERVED = {"run", "main", "inputs", "outputs", "WORKFLOW", SKIPPED_NAME, "args", "parser", "result"}


class ExportError(WorkflowError):
    """The workflow cannot be exported; each problem names the node."""


# --- names -------------------------------------------------------------------------------------


def identifier(text: str, fallback: str = "value") -> str:
    """A snake_case Python identifier made from a title."""
    words = re.findall(r"[A-Za-z0-9]+", text.encode("ascii", "ignore").decode())
    name = "_".join(word.lower() for word in words)
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name):
        name += "_"
    return name


class Namer:
    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)

    def unique(self, base: str) -> str:
        name, number = base, 2
        while name in self.taken:
            name = f"{base}_{number}"
            number += 1
        self.taken.add(name)
        return name


# --- helper functions: copied from source with their dependencies ------------------------------


@dataclass
class HelperSet:
    """The helper functions, constants and imports a script needs, in dependency order."""

    imports: set[str] = field(default_factory=set)
    definitions: dict[str, str] = field(default_factory=dict)  # name -> source
    origins: dict[str, Any] = field(default_factory=dict)

    def add(self, obj: Any, *, requester: str) -> str:
        name = obj.__name__
        known = self.origins.get(name)
        if known is obj:
            return name
        if known is not None:
            raise ValueError(f"two different helpers are called {name!r}")
        self.origins[name] = obj
        source = textwrap.dedent(inspect.getsource(obj))
        tree = ast.parse(source)
        module = sys.modules[obj.__module__]
        for used in sorted(_free_names(tree)):
            self._resolve(used, vars(module), requester=f"{requester} → {name}")
        # Decorators are the app's business (registration, caching), not the script's.
        definition_line = tree.body[0].lineno
        self.definitions[name] = "\n".join(source.splitlines()[definition_line - 1 :])
        return name

    def _resolve(self, name: str, namespace: dict[str, Any], requester: str) -> None:
        if name in self.origins or name in self.definitions:
            return
        if name not in namespace:
            if hasattr(builtins, name):
                return
            raise ValueError(f"{requester} uses {name!r}, which is not defined where it is written")
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            top = value.__name__.split(".")[0]
            if top not in sys.stdlib_module_names and top not in THIRD_PARTY_IMPORTS:
                raise ValueError(
                    f"{requester} uses the module {value.__name__!r}, which scripts cannot import"
                )
            self.imports.add(
                f"import {value.__name__}"
                if name == value.__name__
                else f"import {value.__name__} as {name}"
                if "." not in value.__name__
                else f"from {value.__name__.rsplit('.', 1)[0]} import {value.__name__.rsplit('.', 1)[1]} as {name}"
            )
            return
        if isinstance(value, re.Pattern):
            self.imports.add("import re")
            self.origins[name] = value
            flags = value.flags & ~re.UNICODE
            self.definitions[name] = f"{name} = re.compile({value.pattern!r}{f', {flags}' if flags else ''})"
            return
        module_name = getattr(value, "__module__", None)
        if callable(value) and module_name and isinstance(getattr(value, "__name__", None), str):
            top = module_name.split(".")[0]
            if top in sys.stdlib_module_names or top in THIRD_PARTY_IMPORTS:
                alias = "" if value.__name__ == name else f" as {name}"
                self.imports.add(f"from {module_name} import {value.__name__}{alias}")
                return
            if (inspect.isfunction(value) or inspect.isclass(value)) and (
                module_name in EXPORTABLE_MODULES or module_name.startswith("nodes.")
            ):
                self.add(value, requester=requester)
                return
            raise ValueError(f"{requester} uses {name!r} from {module_name}, which scripts cannot import")
        if _is_plain_literal(value):
            self.origins[name] = value
            self.definitions[name] = f"{name} = {value!r}"
            return
        raise ValueError(
            f"{requester} uses {name!r} ({type(value).__name__}), which cannot be written into a script"
        )

    def source(self) -> str:
        return "\n\n\n".join(self.definitions.values())


#: Modules whose functions may be copied into scripts: standard library and httpx only.
EXPORTABLE_MODULES = {"app.core.values", "app.core.templates", "app.core.export_runtime"}


def _is_plain_literal(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return True
    if isinstance(value, list | tuple | set | frozenset):
        return all(_is_plain_literal(item) for item in value)
    if isinstance(value, dict):
        return all(_is_plain_literal(k) and _is_plain_literal(v) for k, v in value.items())
    return False


def _free_names(tree: ast.AST) -> set[str]:
    """Global names a definition reads (its own parameters and locals excluded)."""
    bound: set[str] = set()
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store | ast.Del) else used).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    # Annotations are strings at run time in the script (`from __future__ import annotations`),
    # but linters still resolve them, so they count as uses.
    return used - bound


# --- one node's block ----------------------------------------------------------------------------


@dataclass
class Value:
    expression: str
    type: DataType
    may_skip: bool = False


class NodeExport:
    """What a node type's `export(code)` writes through."""

    def __init__(self, script: ScriptWriter, node_id: str, title: str, variable: str) -> None:
        self._script = script
        self.node_id = node_id
        self.title = title
        self.variable = variable
        self.lines: list[str] = []
        self._inputs: dict[str, Value] = {}
        self._outputs: dict[str, Value] = {}
        self.port_types: dict[str, DataType] = {}

    # inputs
    def input(self, port: str) -> str | None:
        """The input's value as an expression, converted to the port's type; None if unconnected."""
        value = self._inputs.get(port)
        if value is None:
            return None
        target = self.port_types.get(port, DataType.ANY)
        if target is DataType.TEXT and value.type is not DataType.TEXT:
            return f"{self.helper(values.to_text)}({value.expression})"
        if target in (DataType.NUMBER, DataType.BOOLEAN, DataType.LIST) and value.type is not target:
            return f"{self.helper(values.coerce)}({value.expression}, {target.value!r})"
        return value.expression

    def input_may_skip(self, port: str) -> bool:
        value = self._inputs.get(port)
        return bool(value and value.may_skip)

    # code
    def helper(self, function: Callable[..., Any]) -> str:
        """Copy a function (and what it uses) into the script; returns the name to call."""
        try:
            return self._script.helpers.add(function, requester=f"node '{self.node_id}'")
        except ValueError as exc:
            raise ExportError(
                [Problem(f"cannot be exported: {exc}", code="not_exportable", node_id=self.node_id)]
            ) from None

    def literal(self, value: Any) -> str:
        return repr(value)

    def line(self, statement: str) -> None:
        self.lines.extend(statement.splitlines())

    def path(self, relative_or_absolute: str) -> str:
        """A file path from the config, resolved as the app resolves it (the workflow's folder)."""
        return self._script.path_expression(relative_or_absolute)

    def reads_environment(self, *names: str) -> None:
        self._script.environment.update(names)

    def requires(self, requirement: str) -> None:
        self._script.requirements.add(requirement)

    def set_streams(self) -> None:
        self._script.streams = True

    # outputs
    def output_variable(self, port: str) -> str:
        if port not in self._outputs:
            several = len(self.port_types_out) > 1
            name = (
                self._script.namer.unique(f"{self.variable}_{identifier(port)}") if several else self.variable
            )
            self._outputs[port] = Value(name, self.port_types_out.get(port, DataType.ANY))
        return self._outputs[port].expression

    def assign(self, port: str, expression: str, *, may_skip: bool = False) -> None:
        self.line(f"{self.output_variable(port)} = {expression}")
        self._outputs[port].may_skip |= may_skip

    def assign_many(self, ports: list[str], expression: str) -> None:
        targets = ", ".join(self.output_variable(port) for port in ports)
        self.line(f"{targets} = {expression}")

    def set_result(self, name: str, expression: str) -> None:
        """For `io.output`: put a value into the dict that run() returns."""
        self.line(f"outputs[{name!r}] = {expression}")

    def workflow_input(self, name: str) -> str:
        self._script.input_names.append(name)
        return f"inputs[{name!r}]"

    port_types_out: dict[str, DataType]


# --- the whole script ------------------------------------------------------------------------------


class ScriptWriter:
    def __init__(self, analysis: GraphAnalysis, workflow_dir: Path, script_dir: Path) -> None:
        self.analysis = analysis
        self.workflow_dir = workflow_dir.resolve()
        self.script_dir = script_dir.resolve()
        self.helpers = HelperSet()
        self.namer = Namer(RESERVED | set(dir(builtins)))
        self.environment: set[str] = set()
        self.requirements: set[str] = {"httpx"}
        self.input_names: list[str] = []
        self.uses_here = False
        self.streams = False
        self.uses_skip = False

    def path_expression(self, configured: str) -> str:
        path = Path(configured).expanduser()
        if path.is_absolute():
            return f"Path({str(path)!r})"
        relative = Path(os.path.relpath((self.workflow_dir / path).resolve(), self.script_dir))
        self.uses_here = True
        return f"HERE / {relative.as_posix()!r}"

    def node_blocks(self) -> list[str]:
        blocks: list[str] = []
        problems: list[Problem] = []
        produced: dict[tuple[str, str], Value] = {}
        for node_id in self.analysis.topological_order():
            resolved = self.analysis.nodes[node_id]
            node, instance = resolved.node, resolved.instance
            assert instance is not None
            title = node.title or resolved.node_type.title  # type: ignore[union-attr]
            code = NodeExport(self, node_id, title, self.namer.unique(identifier(title, fallback="node")))
            code.port_types = {name: port.type for name, port in resolved.inputs.items()}
            code.port_types_out = {name: port.type for name, port in resolved.outputs.items()}
            for edge in self.analysis.incoming(node_id):
                if (edge.source, edge.source_port) in produced:
                    code._inputs[edge.target_port] = produced[(edge.source, edge.source_port)]
            try:
                instance.export(code)
            except ExportError as exc:
                problems.extend(exc.problems)
                continue
            except NotImplementedError as exc:
                problems.append(Problem(f"cannot be exported: {exc}", code="not_exportable", node_id=node_id))
                continue
            skipping_inputs = [
                code._inputs[port].expression
                for port, declared in resolved.inputs.items()
                if declared.required and port in code._inputs and code._inputs[port].may_skip
            ]
            body = code.lines
            if skipping_inputs:
                self.uses_skip = True
                condition = " or ".join(f"{name} is {SKIPPED_NAME}" for name in skipping_inputs)
                skipped = [f"    {value.expression} = {SKIPPED_NAME}" for value in code._outputs.values()]
                body = [
                    f"if {condition}:",
                    *(skipped or ["    pass"]),
                    "else:",
                    *(f"    {line}" for line in body),
                ]
                for value in code._outputs.values():
                    value.may_skip = True
            if any(value.may_skip for value in code._outputs.values()):
                self.uses_skip = True
            header = [f"# {title} ({node.type} '{node_id}')"]
            if node.description:
                header += [f"# {line}".rstrip() for line in node.description.splitlines()]
            blocks.append("\n".join(header + body))
            for port, value in code._outputs.items():
                produced[(node_id, port)] = value
        if problems:
            raise ExportError(problems)
        return blocks


def _docstring(workflow: Workflow, writer: ScriptWriter, script_name: str) -> str:
    lines = [f"{workflow.name or 'Workflow'} — exported from Chainwright."]
    if workflow.description:
        lines += ["", *workflow.description.splitlines()]
    example = " ".join(f"--input {name}=..." for name in writer.input_names)
    lines += ["", "Run it:", f"    python {script_name} {example}".rstrip()]
    if writer.streams:
        lines.append(f"    python {script_name} --stream   # print model tokens as they arrive (stderr)")
    module = identifier(Path(script_name).stem, fallback="workflow")
    call = ", ".join(f"{name}=..." for name in writer.input_names)
    lines += ["", f"From Python: `from {module} import run`; `run({call})` returns the outputs as a dict."]
    if writer.environment:
        lines += ["", "Environment variables it reads: " + ", ".join(sorted(writer.environment)) + "."]
    lines += [
        "",
        "Needs Python >= 3.11 and " + ", ".join(sorted(writer.requirements)) + ".",
        "Open this file in Chainwright (`chainwright open` / File > Open) to get the graph back.",
    ]
    text = "\n".join(lines).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return f'"""{text}\n"""'


MAIN = """
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help="a workflow input")
    {stream_option}
    args = parser.parse_args(argv)
    given = {{}}
    for item in args.input:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--input expects NAME=VALUE, got {{item!r}}")
        given[name] = value
    {stream_flag}
    print(json.dumps(run(**given), ensure_ascii=False))
    return 0
"""


def _run_function(writer: ScriptWriter, blocks: list[str]) -> str:
    interface = writer.analysis.interface("input")
    names = sorted(interface)
    body = [
        f"known = {names!r}",
        "unknown = sorted(set(inputs) - set(known))",
        "if unknown:",
        "    raise TypeError(f\"unknown input(s) {', '.join(unknown)}; this workflow takes: {', '.join(known) or 'none'}\")",
        "outputs = {}",
    ]
    for block in blocks:
        body.append("")
        body.extend(block.splitlines())
    body.append("return outputs")
    indented = "\n".join(f"    {line}" if line else "" for line in body)
    doc = '    """Run the workflow and return its outputs, {output name: value}."""'
    return f"def run(**inputs):\n{doc}\n{indented}\n"


def export_script(
    workflow: Workflow,
    *,
    workflow_path: Path | None = None,
    script_path: Path | None = None,
    registry: Registry | None = None,
) -> str:
    """The script's source text. Raises ExportError naming every node that cannot be exported."""
    analysis = require_valid(workflow, registry, source=str(workflow_path or ""))
    workflow_dir = (workflow_path.parent if workflow_path else Path.cwd()).resolve()
    script_dir = (script_path.parent if script_path else workflow_dir).resolve()
    writer = ScriptWriter(analysis, workflow_dir, script_dir)
    blocks = writer.node_blocks()
    script_name = script_path.name if script_path else "workflow.py"

    imports = {"import argparse", "import json", "import sys"}
    if writer.uses_here:
        imports.add("from pathlib import Path")
    imports |= writer.helpers.imports
    stdlib = {i for i in imports if i.split()[1].split(".")[0] in sys.stdlib_module_names}
    sections = [_import_block(stdlib), _import_block(imports - stdlib)]
    header = "\n\n".join(["from __future__ import annotations", *(block for block in sections if block)])
    parts = [_docstring(workflow, writer, script_name) + "\n\n" + header]
    constants = []
    if writer.uses_here:
        constants.append("HERE = Path(__file__).resolve().parent")
    if writer.uses_skip:
        constants.append(f'{SKIPPED_NAME} = type("Skipped", (), {{"__repr__": lambda self: "SKIPPED"}})()')
    if constants:
        parts.append("\n".join(constants))
    if writer.helpers.definitions:
        parts.append(writer.helpers.source())
    parts.append(_run_function(writer, blocks))
    if writer.streams:
        stream_option = 'parser.add_argument("--stream", action="store_true", help="print model tokens to stderr as they arrive")'
        stream_flag = "export_runtime_stream(args.stream)"
    else:
        stream_option = stream_flag = ""
    main = MAIN.format(stream_option=stream_option, stream_flag=stream_flag)
    main = "\n".join(line for line in main.splitlines() if line.strip() or line == "").strip("\n")
    if writer.streams:
        parts.append(
            "def export_runtime_stream(enabled: bool) -> None:\n"
            "    global STREAM_TO_STDERR\n"
            "    STREAM_TO_STDERR = enabled"
        )
    parts.append(main)
    document = workflow_to_document(workflow)
    parts.append(
        "# The workflow this script was exported from: Chainwright reads it back to restore the graph.\n"
        f"WORKFLOW = {document!r}"
    )
    parts.append('if __name__ == "__main__":\n    sys.exit(main())')
    return format_source("\n\n\n".join(part for part in parts if part) + "\n")


def _import_block(statements: set[str]) -> str:
    """Imports the way isort writes them: plain imports first, then `from` imports merged per module."""
    plain = sorted(s for s in statements if s.startswith("import "))
    merged: dict[str, set[str]] = {}
    for statement in statements - set(plain):
        module, names = statement.removeprefix("from ").split(" import ", 1)
        merged.setdefault(module, set()).add(names)
    froms = [f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(merged.items())]
    return "\n".join(plain + froms)


def format_source(source: str) -> str:
    """Sort imports and format with ruff when it is installed (it is a dependency); the source is valid either way."""
    ast.parse(source)
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        return source
    ruff = find_ruff_bin()
    for command in (
        [ruff, "check", "--isolated", "--quiet", "--select", "I", "--fix", "--exit-zero", "-"],
        [ruff, "format", "--isolated", "--quiet", "--line-length", "100", "-"],
    ):
        result = subprocess.run(command, input=source, capture_output=True, text=True, timeout=60)
        if result.returncode == 0 and result.stdout:
            source = result.stdout
    return source


def export_file(workflow_path: Path, script_path: Path, registry: Registry | None = None) -> str:
    from app.core.model import atomic_write_bytes, load_workflow

    workflow = load_workflow(workflow_path)
    source = export_script(workflow, workflow_path=workflow_path, script_path=script_path, registry=registry)
    atomic_write_bytes(script_path, source.encode("utf-8"))
    return source


# --- back again --------------------------------------------------------------------------------------


def workflow_from_script(source: str | bytes, filename: str = "<script>") -> Workflow:
    """The workflow embedded in an exported script. The script is parsed, never run."""
    from app.core.model import WorkflowFileError

    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError) as exc:
        raise WorkflowFileError(
            [Problem(f"not a readable Python file: {exc}", code="python")], source=filename
        ) from None
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == "WORKFLOW"
        ):
            try:
                document = ast.literal_eval(statement.value)
            except (ValueError, SyntaxError, RecursionError, MemoryError, TypeError):
                raise WorkflowFileError(
                    [Problem("WORKFLOW is not a plain literal", code="python", pointer="WORKFLOW")],
                    source=filename,
                ) from None
            try:
                return workflow_from_document(document)
            except WorkflowFileError as exc:
                exc.source = filename
                exc.args = (exc.render(),)
                raise
    raise WorkflowFileError(
        [Problem("this Python file holds no Chainwright workflow (no WORKFLOW = {...})", code="python")],
        source=filename,
    )
