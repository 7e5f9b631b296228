"""Export a workflow as one standalone Python script (DESIGN.md §1.5), and read it back.

The script needs Python ≥ 3.11 and httpx (plus llama-cpp-python for `local` model nodes); it
never imports `app` or `nodes`. It has a docstring, the helper functions the workflow uses,
`run(**inputs) -> dict` with one block per node in topological order, a command-line `main`
that prints what `chainwright run --json` prints, and the original workflow as a literal
(`WORKFLOW = {...}`) so `chainwright open script.py` restores the graph.

One source of truth
-------------------
A node's behaviour lives in plain module-level functions (standard library, httpx and
`NodeError` / `Skip` only) that the node's `run` calls. Its `export(code)` emits calls to the very
same functions, and the engine copies their source into the script (`inspect.getsource`), with
everything they use: other such functions, constants (copied as written), compiled regexes,
imports of the standard library or httpx. What cannot be copied (pydantic, `RunContext`, a
module outside that set …) makes the export fail, naming the node and the name. So the script
cannot drift from the app. The few places where the app and the script need different code
(model calls through the app's clients with retries and cancellation; HTTP with asyncio; the
user's Python in a subprocess) are held together by equivalence tests that run both against the
same servers (tests/nodes/test_export_equivalence.py, tests/core/test_export_gallery.py).

`NodeError` in a copied function becomes the script's own small `NodeError` class
(`export_runtime.NodeError`, same constructor); `Skip` is copied as it is. An output that a node
did not produce is a `Skip` value in the script, and a block whose required input is a `Skip` is
skipped the way the executor skips it.

Formatting without a formatter
------------------------------
Exporting starts no process (it runs in the desktop app and on untrusted files), so the script
is laid out here the way `ruff format --line-length 100` lays it out: expressions are small
trees (`Atom`, `Bracket`, `Pair`, `Strings`) printed flat when they fit, else (calls only) with
their arguments on one indented line, else one item per line with a trailing comma. Copied
helpers are kept stable under that layout in their own modules. The tests run ruff on the
scripts to hold this to account.

Where a script differs from the app, by design: it stops at the first failure (the app goes on
with the other branches and prints what they produced); keys and base URLs come only from the
environment (not the keychain or Settings); tool.python code runs in the script's own process,
without the app's time limit; there is no cache and no run history.

Safety: every user string enters the script through `string_literal` (checked to read back as
the same string); identifiers are generated from titles (sanitised, unique), never taken raw;
comments have every line break and control character escaped; no key is ever written — scripts
read keys from the environment when they run.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import keyword
import math
import os
import re
import sys
import textwrap
import types
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path, PurePath
from typing import Any

from app.core import export_runtime, values
from app.core.events import jsonable
from app.core.graph import GraphAnalysis, require_valid
from app.core.model import Workflow, workflow_from_document, workflow_to_document
from app.core.problems import Problem, WorkflowError
from app.core.registry import Registry
from app.core.sdk import Skip
from app.core.values import DataType

LINE_LENGTH = 100
INDENT = 4
THIRD_PARTY_IMPORTS = {"httpx", "llama_cpp"}
#: Names the script defines or run() uses itself; node variables never take them.
RESERVED = {
    "run",
    "main",
    "inputs",
    "outputs",
    "known",
    "unknown",
    "skipped",
    "WORKFLOW",
    "HERE",
    "annotations",
    "self",
    "cls",
}
#: Modules whose functions, classes and constants may be copied into scripts (besides `nodes.*`
#: and the module of the node type being exported).
EXPORTABLE_MODULES = {"app.core.values", "app.core.templates", "app.core.export_runtime"}
#: Single objects of other app modules that scripts may carry.
EXPORTABLE_OBJECTS = {
    "app.core.sdk.Skip",
    "app.core.events.jsonable",
    "app.core.secrets.normalise_ollama_host",
    "app.core.secrets.origin",
    "app.core.llm.local.DEFAULT_ALIASES",
}
#: App objects replaced by a script-sized stand-in with the same interface.
SUBSTITUTES: dict[str, Any] = {"app.core.sdk.NodeError": export_runtime.NodeError}


class ExportError(WorkflowError):
    """The workflow cannot be exported; each problem names the node."""


# --- literals ------------------------------------------------------------------------------------


def text_width(text: str) -> int:
    """Columns a line takes, counted as ruff counts them (wide East Asian characters take two)."""
    total = 0
    for char in text:
        if char.isascii():
            total += 1
        elif unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me"):
            continue
        else:
            total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def _escape(char: str, quote: str) -> str:
    if char == "\\":
        return "\\\\"
    if char == quote:
        return "\\" + quote
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


@lru_cache(maxsize=8192)
def string_literal(text: str) -> str:
    """A Python literal for `text`, quoted as ruff quotes it; it always reads back as `text`."""
    if (
        "\\" in text
        and not text.endswith("\\")
        and all(char.isprintable() and char not in "\"'" for char in text)
    ):
        literal = f'r"{text}"'  # a pattern or a Windows path reads better raw
    else:
        quote = "'" if text.count('"') > text.count("'") else '"'
        literal = quote + "".join(_escape(char, quote) for char in text) + quote
    assert ast.literal_eval(literal) == text, text
    return literal


def block_string_literal(text: str) -> str | None:
    """A triple-quoted literal with one line of `text` per line (for code), or None if none fits."""
    for quote in ('"""', "'''"):
        if quote in text or text.endswith(quote[0]):
            continue
        body = "".join(
            char if char in "\n\t" or (char.isprintable() and char != "\\") else _escape(char, "")
            for char in text
        )
        literal = f"{quote}\\\n{body}{quote}"
        try:
            if ast.literal_eval(literal) == text:
                return literal
        except (SyntaxError, ValueError):
            continue
    return None


def comment_lines(text: str) -> list[str]:
    """`# ` lines holding `text`: one per line of it, control characters and odd spaces escaped."""
    lines = []
    for line in re.split(r"\r\n|\r|\n", text):
        shown = "".join(char if char == " " or char.isprintable() else _escape(char, "") for char in line)
        lines.append(f"# {shown}".rstrip())
    return lines


# --- expressions as small trees, printed the way ruff format prints them -------------------------


class Doc:
    """An expression of the script."""


@dataclass
class Atom(Doc):
    text: str


@dataclass
class Strings(Doc):
    """A text with line breaks: one literal per line of it when it does not fit on one line."""

    text: str

    def parts(self) -> list[str]:
        return [part for part in re.split(r"(?<=\n)", self.text) if part]


@dataclass
class Pair(Doc):
    """`name=value` in a call, `"key": value` in a dict."""

    prefix: str
    value: Doc


@dataclass
class Bracket(Doc):
    """`head(items)`, `[items]`, `{items}`, optionally followed by `tail` (e.g. `["rows"]`)."""

    head: str
    open: str
    items: list[Doc]
    close: str
    tail: str = ""


@dataclass
class Paren(Doc):
    """Parentheses that are only written when the content needs more than one line."""

    inner: Doc


def flat(doc: Doc) -> str:
    if isinstance(doc, Atom):
        return doc.text
    if isinstance(doc, Strings):
        return string_literal(doc.text)
    if isinstance(doc, Pair):
        return doc.prefix + flat(doc.value)
    if isinstance(doc, Paren):
        return flat(doc.inner)
    assert isinstance(doc, Bracket)
    return f"{doc.head}{doc.open}{', '.join(flat(item) for item in doc.items)}{doc.close}{doc.tail}"


def layout(doc: Doc, indent: int, prefix: str = "", suffix: str = "") -> list[str]:
    """`prefix + doc + suffix` as lines indented by `indent` spaces, laid out as ruff lays it out."""
    pad = " " * indent
    text = flat(doc)
    if "\n" in text:  # a triple-quoted literal: written as it is
        return (pad + prefix + text + suffix).split("\n")
    one = pad + prefix + text + suffix
    if text_width(one) <= LINE_LENGTH:
        return [one]
    if isinstance(doc, Pair):
        return layout(doc.value, indent, prefix + doc.prefix, suffix)
    if isinstance(doc, Strings) and len(doc.parts()) > 1:
        parts = [string_literal(part) for part in doc.parts()]
        return [pad + prefix + parts[0], *(pad + part for part in parts[1:-1]), pad + parts[-1] + suffix]
    if isinstance(doc, Paren):
        return [pad + prefix + "(", *layout(doc.inner, indent + INDENT), pad + ")" + suffix]
    if isinstance(doc, Bracket) and doc.items:
        first = pad + prefix + doc.head + doc.open
        last = pad + doc.close + doc.tail + suffix
        body = " " * (indent + INDENT) + ", ".join(flat(item) for item in doc.items)
        if doc.head and text_width(body) <= LINE_LENGTH:  # a call's arguments may share a line;
            return [first, body, last]  # a list's or dict's items never do
        if len(doc.items) == 1:
            return [first, *layout(doc.items[0], indent + INDENT), last]
        lines = [first]
        for item in doc.items:
            lines.extend(layout(item, indent + INDENT, suffix=","))
        return [*lines, last]
    return [one]


def _calls(doc: Doc) -> bool:
    """Whether evaluating the expression calls something (else it is a plain value)."""
    if isinstance(doc, Bracket):
        return bool(doc.head) or any(_calls(item) for item in doc.items)
    if isinstance(doc, Pair | Paren):
        return _calls(doc.value if isinstance(doc, Pair) else doc.inner)
    return isinstance(doc, Atom) and "(" in doc.text


def literal(value: Any) -> Doc:
    """A JSON-like value (str, number, bool, None, list, tuple, dict) as an expression."""
    if isinstance(value, str):
        return Strings(value) if "\n" in value.rstrip("\n") else Atom(string_literal(value))
    if value is None or isinstance(value, bool | int):
        return Atom(repr(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written into a script")
        return Atom(repr(value))
    if isinstance(value, list | tuple):
        items = [literal(item) for item in value]
        if isinstance(value, tuple):
            return Bracket("", "(", items, ",)" if len(items) == 1 else ")")
        return Bracket("", "[", items, "]")
    if isinstance(value, dict):
        return Bracket(
            "", "{", [Pair(f"{flat(literal(key))}: ", literal(item)) for key, item in value.items()], "}"
        )
    raise ValueError(f"a {type(value).__name__} value cannot be written into a script")


# --- statements ----------------------------------------------------------------------------------


@dataclass
class Statement:
    """`prefix + expression` (e.g. `x = f(...)`, `raise NodeError(...)`) or a bare expression."""

    prefix: str
    value: Doc

    def lines(self, indent: int) -> list[str]:
        value = Paren(self.value) if isinstance(self.value, Strings) else self.value
        return layout(value, indent, self.prefix)


@dataclass
class Line:
    """A line written as it is (short by construction)."""

    text: str

    def lines(self, indent: int) -> list[str]:
        return [" " * indent + self.text if self.text else ""]


@dataclass
class If:
    condition: str
    body: list[Any]
    orelse: list[Any] = field(default_factory=list)

    def lines(self, indent: int) -> list[str]:
        pad = " " * indent
        lines = [f"{pad}if {self.condition}:"]
        lines += render_block(self.body or [Line("pass")], indent + INDENT)
        if self.orelse:
            lines.append(f"{pad}else:")
            lines += render_block(self.orelse, indent + INDENT)
        return lines


def render_block(statements: list[Any], indent: int) -> list[str]:
    return [line for statement in statements for line in statement.lines(indent)]


# --- names ---------------------------------------------------------------------------------------

MAX_IDENTIFIER = 32


def identifier(text: str, fallback: str = "value") -> str:
    """A snake_case Python identifier made from a title (ASCII letters and digits only)."""
    words = re.findall(
        r"[A-Za-z0-9]+", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    )
    name = "_".join(word.lower() for word in words)
    if len(name) > MAX_IDENTIFIER:
        name = name[:MAX_IDENTIFIER].rsplit("_", 1)[0] or name[:MAX_IDENTIFIER]
    if not name:
        name = fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or hasattr(builtins, name) or name == "l":
        name += "_"
    return name


class Namer:
    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self.given: set[str] = set()

    def unique(self, base: str) -> str:
        name, number = base, 2
        while name in self.taken:
            name = f"{base}_{number}"
            number += 1
        self.taken.add(name)
        self.given.add(name)
        return name


# --- helper functions: copied from source with their dependencies --------------------------------


def _qualified(value: Any) -> str:
    return (
        f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', getattr(value, '__name__', ''))}"
    )


@cache
def _module_tree(module_name: str) -> tuple[ast.Module, list[str]] | None:
    module = sys.modules.get(module_name)
    try:
        source = inspect.getsource(module)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
    return ast.parse(source), source.splitlines()


@cache
def _constant_source(module_name: str, name: str) -> tuple[str, frozenset[str]] | None:
    """The top-level `name = ...` statement of a module as written (with the comments just
    above it), and the names its value uses."""
    found = _module_tree(module_name)
    if found is None:
        return None
    tree, lines = found
    matches = [
        statement
        for statement in tree.body
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == name
        )
        or (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == name
            and statement.value is not None
        )
    ]
    if len(matches) != 1:
        return None
    statement = matches[0]
    assert statement.end_lineno is not None and statement.value is not None
    start = statement.lineno - 1
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    source = "\n".join(lines[start : statement.end_lineno])
    return source, frozenset(_free_names(ast.Expression(statement.value)))


@cache
def _definition(obj: Any) -> tuple[str, frozenset[str]]:
    """A function's or class's source as written (dedented) and the global names it uses."""
    source = textwrap.dedent(inspect.getsource(obj))
    return source.rstrip("\n"), frozenset(_free_names(ast.parse(source)) - {obj.__name__})


def _same_value(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _defining_module(name: str, value: Any, used_in: str) -> str | None:
    """The module whose top level assigns the constant (where it is used, or where it came from)."""
    others = sorted(module for module in list(sys.modules) if module.startswith(("app.", "nodes.")))
    candidates = [used_in, *(module for module in others if module != used_in)]
    for module in candidates:
        namespace = vars(sys.modules[module]) if module in sys.modules else {}
        if namespace.get(name) is value and _constant_source(module, name) is not None:
            return module
    return None


@dataclass
class HelperSet:
    """The helper functions, classes, constants and imports a script needs, in dependency order."""

    imports: set[str] = field(default_factory=set)
    definitions: dict[str, str] = field(default_factory=dict)  # name -> source
    origins: dict[str, Any] = field(default_factory=dict)
    needs: dict[str, frozenset[str]] = field(default_factory=dict)  # name -> global names it uses
    allowed_modules: set[str] = field(default_factory=lambda: set(EXPORTABLE_MODULES))

    def add(self, obj: Any, *, requester: str, name: str | None = None) -> str:
        """Copy a function or class (and what it uses); returns the name the script calls it by."""
        substitute = SUBSTITUTES.get(_qualified(obj))
        if substitute is not None:
            obj = substitute
        own = obj.__name__
        name = name or own
        known = self.origins.get(name)
        if known is obj:
            return name
        if known is not None:
            raise ValueError(
                f"{requester} needs two different helpers called {name!r} "
                f"({_qualified(known)} and {_qualified(obj)}); rename one of them"
            )
        self.origins[name] = obj
        if own != name:  # imported under another name where it is used
            self.add(obj, requester=requester)
            self.definitions[name] = f"{name} = {own}"
            self.needs[name] = frozenset({own})
            return name
        try:
            source, needs = _definition(obj)
        except (OSError, TypeError) as exc:
            raise ValueError(f"{requester}: the source of {_qualified(obj)} cannot be read ({exc})") from None
        module = sys.modules[obj.__module__]
        for used in sorted(needs):
            self._resolve(used, vars(module), obj.__module__, requester=f"{requester} → {own}")
        self.definitions[name] = source
        self.needs[name] = needs
        return name

    def _resolve(self, name: str, namespace: dict[str, Any], module_name: str, requester: str) -> None:
        if name not in namespace:
            if hasattr(builtins, name):
                return
            raise ValueError(f"{requester} uses {name!r}, which is not defined where it is written")
        value = namespace[name]
        if name in self.origins:
            known = self.origins[name]
            if known is value or SUBSTITUTES.get(_qualified(value)) is known:
                return
            if not (inspect.isfunction(value) or inspect.isclass(value)) and _same_value(known, value):
                return
            raise ValueError(
                f"{requester} needs two different things called {name!r} "
                f"({_qualified(known)} and {_qualified(value)}); rename one of them"
            )
        if isinstance(value, types.ModuleType):
            top = value.__name__.split(".")[0]
            if top not in sys.stdlib_module_names and top not in THIRD_PARTY_IMPORTS:
                raise ValueError(
                    f"{requester} uses the module {value.__name__!r}, which scripts cannot import"
                )
            if name == value.__name__:
                self.imports.add(f"import {name}")
            elif "." in value.__name__:
                parent, child = value.__name__.rsplit(".", 1)
                self.imports.add(f"from {parent} import {child}" + ("" if child == name else f" as {name}"))
            else:
                self.imports.add(f"import {value.__name__} as {name}")
            return
        qualified = _qualified(value)
        if qualified in SUBSTITUTES:
            self.add(value, requester=requester, name=name)
            return
        module_of = getattr(value, "__module__", None)
        if (inspect.isfunction(value) or inspect.isclass(value)) and isinstance(module_of, str):
            top = module_of.split(".")[0]
            if top in sys.stdlib_module_names or top in THIRD_PARTY_IMPORTS:
                alias = "" if value.__name__ == name else f" as {name}"
                self.imports.add(f"from {module_of} import {value.__name__}{alias}")
                return
            if self._copyable(module_of, qualified):
                self.add(value, requester=requester, name=name)
                return
            raise ValueError(f"{requester} uses {name!r} from {module_of}, which scripts cannot import")
        importable = self._importable(name, value)
        if importable is not None:
            self.imports.add(importable)
            return
        if not self._copyable(module_name, f"{module_name}.{name}"):
            raise ValueError(f"{requester} uses {name!r} from {module_name}, which scripts cannot carry")
        self._constant(name, value, module_name, namespace, requester)

    @staticmethod
    def _importable(name: str, value: Any) -> str | None:
        """`from module import name` when the value is something of the standard library or httpx."""
        module_of = getattr(value, "__module__", None)
        if not isinstance(module_of, str) or isinstance(
            value, str | int | float | bytes | tuple | list | dict
        ):
            return None
        if module_of.split(".")[0] not in sys.stdlib_module_names | THIRD_PARTY_IMPORTS:
            return None
        module = sys.modules.get(module_of)
        for own in (name, getattr(value, "__name__", None), getattr(value, "_name", None)):
            if isinstance(own, str) and getattr(module, own, None) is value:
                return f"from {module_of} import {own}" + ("" if own == name else f" as {name}")
        return None

    def _copyable(self, module_name: str, qualified: str) -> bool:
        return (
            module_name in self.allowed_modules
            or module_name.startswith("nodes.")
            or qualified in EXPORTABLE_OBJECTS
        )

    def _constant(
        self, name: str, value: Any, module_name: str, namespace: dict[str, Any], requester: str
    ) -> None:
        self.origins[name] = value
        home = _defining_module(name, value, module_name)
        written = _constant_source(home, name) if home else None
        if written is not None:
            source, needs = written
            home_namespace = vars(sys.modules[home])  # type: ignore[index]
            for used in sorted(needs):
                self._resolve(used, home_namespace, home, requester=f"{requester} → {name}")  # type: ignore[arg-type]
            self.definitions[name] = source
            self.needs[name] = needs
            return
        if isinstance(value, re.Pattern):
            self.imports.add("import re")
            flags = value.flags & ~re.UNICODE
            pattern = flat(literal(value.pattern))
            self.definitions[name] = f"{name} = re.compile({pattern}{f', {flags}' if flags else ''})"
            return
        if isinstance(value, frozenset | set) and all(isinstance(item, str | int) for item in value):
            items = ", ".join(flat(literal(item)) for item in sorted(value, key=repr))
            self.definitions[name] = f"{name} = {type(value).__name__}({{{items}}})"
            return
        try:
            self.definitions[name] = "\n".join(layout(literal(value), 0, f"{name} = "))
        except ValueError:
            raise ValueError(
                f"{requester} uses {name!r} ({type(value).__name__}), which cannot be written into a script"
            ) from None

    def sections(self) -> tuple[list[str], list[str]]:
        """(constants, the rest): the constants that need nothing but imports and each other, which
        a script lists first, and every other definition in dependency order."""
        constants: list[str] = []
        simple: set[str] = set()
        rest: list[str] = []
        for name, source in self.definitions.items():
            is_def = source.lstrip().startswith(("def ", "class ", "@", "async def "))
            needs = self.needs.get(name, frozenset())
            if not is_def and all(used in simple or used not in self.definitions for used in needs):
                constants.append(source)
                simple.add(name)
            else:
                rest.append(source)
        return constants, rest

    def names(self) -> set[str]:
        """Every module-level name the helpers define or import."""
        names = set(self.definitions)
        for statement in self.imports:
            if statement.startswith("import "):
                names.add(statement.split(" as ")[-1].split()[-1].split(".")[0])
            else:
                names |= {
                    part.split(" as ")[-1].strip() for part in statement.split(" import ", 1)[1].split(",")
                }
        return names


def _free_names(tree: ast.AST) -> set[str]:
    """Global names a definition reads (its own parameters and locals excluded)."""
    bound: set[str] = set()
    used: set[str] = set()
    declared_global: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            declared_global.update(node.names)
        elif isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store | ast.Del) else used).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    # With `from __future__ import annotations` annotations are never evaluated, but linters still
    # resolve them, so they count as uses.
    return (used - bound) | declared_global


# --- one node's block ----------------------------------------------------------------------------


@dataclass
class Value:
    """An output as the script holds it: the variable, its port type, whether it may be a Skip."""

    expression: str
    type: DataType
    may_skip: bool = False


class NodeExport:
    """What a node type's `export(code)` writes through.

    Expressions are `Doc`s; plain Python values passed where an expression is expected become
    literals. A typical export::

        def export(self, code):
            code.assign("text", code.call(join_texts, code.input("items"), separator=self.config.separator))
    """

    def __init__(self, script: ScriptWriter, node_id: str, title: str, variable: str) -> None:
        self._script = script
        self.node_id = node_id
        self.title = title
        self.variable = variable
        self.statements: list[Any] = []
        self._inputs: dict[str, Value] = {}
        self._outputs: dict[str, Value] = {}
        self.port_types: dict[str, DataType] = {}
        self.port_types_out: dict[str, DataType] = {}
        self.used_outputs: list[str] = []

    # -- inputs ------------------------------------------------------------------------------
    def connected(self, port: str) -> bool:
        return port in self._inputs

    def may_skip(self, port: str) -> bool:
        """Whether the value arriving at `port` may be a Skip (an output not produced upstream)."""
        value = self._inputs.get(port)
        return bool(value and value.may_skip)

    def input(self, port: str) -> Doc | None:
        """The input's value, converted to the port's type as the executor converts it; None if unconnected."""
        value = self._inputs.get(port)
        if value is None:
            return None
        return self._converted(port, Atom(value.expression))

    def _converted(self, port: str, value: Doc) -> Doc:
        source = self._inputs[port].type
        target = self.port_types.get(port, DataType.ANY)
        if target is DataType.TEXT and source is not DataType.TEXT:
            return self.call(values.to_text, value)
        if target in (DataType.NUMBER, DataType.BOOLEAN, DataType.LIST) and source is not target:
            return self.call(values.coerce, value, target)
        return value

    def input_or(self, port: str, default: Any) -> Doc:
        """The input, or `default` when nothing is connected or what arrives was not produced.

        This is the executor's rule for optional inputs: one fed by an output that was not
        produced is left out, and the node runs without it.
        """
        fallback = self.value(default)
        value = self._inputs.get(port)
        if value is None:
            return fallback
        converted = self.input(port)
        assert converted is not None
        if not value.may_skip:
            return converted
        skip = self.helper(Skip)
        return Atom(f"{flat(fallback)} if isinstance({value.expression}, {skip}) else {flat(converted)}")

    def inputs_dict(self, ports: Iterable[str]) -> Doc:
        """{port: value} of the connected inputs, as the executor hands them to a node's run: an
        optional input whose value was not produced (a Skip) is left out."""
        items: list[Doc] = []
        for port in ports:
            value = self._inputs.get(port)
            converted = self.input(port)
            if value is None or converted is None:
                continue
            key = string_literal(port)
            if value.may_skip:  # (a required one never gets here: the block is skipped instead)
                skip = self.helper(Skip)
                present = f"{{{key}: {flat(converted)}}}"
                items.append(Atom(f"**({{}} if isinstance({value.expression}, {skip}) else {present})"))
            else:
                items.append(Pair(f"{key}: ", converted))
        return Bracket("", "{", items, "}")

    # -- expressions -------------------------------------------------------------------------
    def helper(self, function: Callable[..., Any] | type) -> str:
        """Copy a function or class (and what it uses) into the script; returns its name there."""
        try:
            return self._script.helpers.add(function, requester=f"node '{self.node_id}'")
        except ValueError as exc:
            raise ExportError(
                [Problem(f"cannot be exported: {exc}", code="not_exportable", node_id=self.node_id)]
            ) from None

    def value(self, value: Any) -> Doc:
        """An expression: a `Doc` as it is, an enum member by name, anything else as a literal."""
        if isinstance(value, Doc):
            return value
        if isinstance(value, Enum):
            return Atom(f"{self.helper(type(value))}.{value.name}")
        if isinstance(value, PurePath):
            return self.path(str(value))
        try:
            return literal(value)
        except ValueError as exc:
            self.refuse(str(exc))
            raise AssertionError("unreachable") from None

    def literal(self, value: Any) -> Doc:
        return self.value(value)

    def expr(self, text: str) -> Doc:
        """Code written by the node type itself (never user text)."""
        return Atom(text)

    def call(self, function: Callable[..., Any] | type, *args: Any, **kwargs: Any) -> Doc:
        """`function(args..., name=value...)`, leaving out keywords equal to the parameter's default."""
        name = self.helper(function)
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        items = [self.value(arg) for arg in args]
        for key, item in kwargs.items():
            parameter = parameters.get(key)
            if (
                not isinstance(item, Doc)
                and parameter is not None
                and parameter.default is not inspect.Parameter.empty
                and type(item) is type(parameter.default)
                and item == parameter.default
            ):
                continue
            items.append(Pair(f"{key}=", self.value(item)))
        return Bracket(name, "(", items, ")")

    def dict(self, items: dict[str, Any]) -> Doc:
        return Bracket(
            "",
            "{",
            [Pair(f"{string_literal(key)}: ", self.value(value)) for key, value in items.items()],
            "}",
        )

    def list(self, items: Iterable[Any]) -> Doc:
        return Bracket("", "[", [self.value(item) for item in items], "]")

    def path(self, configured: str) -> Doc:
        """A file path from the config, resolved as the app resolves it (against the workflow's folder)."""
        return self._script.path_expression(configured)

    def folder(self) -> Doc:
        """The workflow's folder, as the script finds it."""
        return self._script.path_expression(".")

    def constant(self, hint: str, value: str) -> str:
        """A module-level constant holding a long text (e.g. the user's code); returns its name."""
        return self._script.add_constant(hint, value, self)

    def inputs(self, name: str) -> Doc:
        """For `io.input`: the dict of the values run() was called with (and `name` is one of them)."""
        self._script.input_names.append(name)
        return Atom("inputs")

    # -- statements --------------------------------------------------------------------------
    def statement(self, value: Doc) -> None:
        self.statements.append(Statement("", value))

    def line(self, text: str) -> None:
        self.statements.append(Line(text))

    def refuse(self, reason: str) -> None:
        """This node cannot be exported as configured: fail the export, naming the node."""
        raise ExportError(
            [Problem(f"cannot be exported: {reason}", code="not_exportable", node_id=self.node_id)]
        )

    # -- outputs -----------------------------------------------------------------------------
    def uses(self, port: str) -> bool:
        """Whether anything downstream reads this output."""
        return port in self.used_outputs

    def _variable(self, port: str, may_skip: bool, *, own: bool | None = None) -> str:
        """The variable of an output: the node's own name when it is the only output read."""
        if port not in self._outputs:
            if own is None:
                own = self.used_outputs == [port]
            name = self.variable if own else self._script.namer.unique(f"{self.variable}_{identifier(port)}")
            self._outputs[port] = Value(name, self.port_types_out.get(port, DataType.ANY))
        self._outputs[port].may_skip |= may_skip
        return self._outputs[port].expression

    def assign(self, port: str, value: Any, *, may_skip: bool = False, keep: bool = False) -> str | None:
        """Compute one output. If nothing reads it (and not `keep`) it is computed but not kept."""
        doc = self.value(value)
        if not self.uses(port) and not keep:
            if _calls(doc):  # computed for what it does (it may fail, stream, cost tokens)
                self.statement(doc)
            return None
        variable = self._variable(port, may_skip)
        self.statements.append(Statement(f"{variable} = ", doc))
        return variable

    def assign_outputs(self, value: Doc, *, may_skip: Iterable[str] = ()) -> None:
        """Compute several outputs at once: `value` is a dict {port: value}."""
        skipping = set(may_skip)
        used = [port for port in self.port_types_out if self.uses(port)]
        if not used:
            self.statement(value)
            return
        if len(used) == 1 and isinstance(value, Bracket) and not value.tail:
            subscript = f"[{string_literal(used[0])}]"
            # Deepest indentation a block gets (inside a skip check), so it fits there too.
            widest = " " * (2 * INDENT) + f"{self.variable} = " + flat(value) + subscript
            if text_width(widest) <= LINE_LENGTH:
                target = self._variable(used[0], used[0] in skipping)
                picked = Bracket(value.head, value.open, value.items, value.close, subscript)
                self.statements.append(Statement(f"{target} = ", picked))
                return
        holder = self.variable
        self.statements.append(Statement(f"{holder} = ", value))
        for port in used:
            target = self._variable(port, port in skipping, own=False)
            self.statements.append(Statement(f"{target} = ", Atom(f"{holder}[{string_literal(port)}]")))

    def set_result(self, name: str, value: Doc) -> None:
        """For `io.output`: put a value into the dict that run() returns."""
        self.statements.append(Statement(f"outputs[{string_literal(name)}] = ", value))

    # -- the script as a whole ---------------------------------------------------------------
    def reads_environment(self, *names: str) -> None:
        self._script.environment.update(names)

    def requires(self, requirement: str) -> None:
        self._script.requirements.add(requirement)

    def set_streams(self) -> None:
        self._script.streams = True


# --- the whole script ----------------------------------------------------------------------------


@dataclass
class _Block:
    node_id: str
    comments: list[str]
    statements: list[Any]


class ScriptWriter:
    def __init__(
        self,
        analysis: GraphAnalysis,
        workflow_dir: Path,
        script_dir: Path,
        reserved: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        self.analysis = analysis
        self.workflow_dir = workflow_dir.resolve()
        self.script_dir = script_dir.resolve()
        self.helpers = HelperSet()
        self.namer = Namer(RESERVED | set(dir(builtins)) | set(reserved))
        self.constant_namer = Namer(RESERVED | set(dir(builtins)) | set(reserved))
        self.constants: dict[str, tuple[str, str]] = {}  # name -> (comment, literal)
        self.environment: set[str] = set()
        self.requirements: set[str] = set()
        self.input_names: list[str] = []
        self.uses_here = False
        self.streams = False

    def path_expression(self, configured: str) -> Doc:
        text = configured.strip()
        self.helpers.imports.add("from pathlib import Path")
        if text.startswith("~"):
            return Atom(f"Path({string_literal(text)}).expanduser()")
        if os.path.isabs(text):
            return Atom(f"Path({string_literal(text)})")
        target = os.path.normpath(os.path.join(self.workflow_dir, text))
        relative = Path(os.path.relpath(target, self.script_dir)).as_posix()
        self.uses_here = True
        return Atom("HERE" if relative == "." else f"HERE / {string_literal(relative)}")

    def add_constant(self, hint: str, value: str, code: NodeExport) -> str:
        name = self.constant_namer.unique(identifier(hint, fallback="code").upper())
        # Code holding both kinds of triple quote: one literal per line, in parentheses so the lines
        # stay one expression.
        written = block_string_literal(value) or "\n".join(layout(Paren(literal(value)), 0))
        node_type = self.analysis.nodes[code.node_id].node.type
        comment = (
            f"The code of {code.title!r} ({node_type} '{code.node_id}'), which run() passes to run_python()."
        )
        self.constants[name] = (comment, written)
        return name

    def node_blocks(self) -> list[_Block]:
        blocks: list[_Block] = []
        problems: list[Problem] = []
        produced: dict[tuple[str, str], Value] = {}
        consumed = {(edge.source, edge.source_port) for edge in self.analysis.workflow.edges}
        for node_id in self.analysis.topological_order():
            resolved = self.analysis.nodes[node_id]
            node, instance = resolved.node, resolved.instance
            assert instance is not None and resolved.node_type is not None
            title = node.title or resolved.node_type.title
            code = NodeExport(self, node_id, title, self.namer.unique(identifier(title, fallback="node")))
            code.port_types = {name: port.type for name, port in resolved.inputs.items()}
            code.port_types_out = {name: port.type for name, port in resolved.outputs.items()}
            code.used_outputs = [port for port in resolved.outputs if (node_id, port) in consumed]
            for edge in self.analysis.incoming(node_id):
                if (edge.source, edge.source_port) in produced:
                    code._inputs[edge.target_port] = produced[(edge.source, edge.source_port)]
            self.helpers.allowed_modules.add(type(instance).__module__)
            try:
                instance.export(code)
            except ExportError as exc:
                problems.extend(exc.problems)
                continue
            except NotImplementedError as exc:
                problems.append(Problem(f"cannot be exported: {exc}", code="not_exportable", node_id=node_id))
                continue
            statements = self._skip_when_inputs_skipped(code, resolved.inputs)
            comments = comment_lines(f"{title} ({node.type} '{node_id}')")
            if node.description:
                comments += comment_lines(node.description)
            blocks.append(_Block(node_id, comments, statements))
            for port, value in code._outputs.items():
                produced[(node_id, port)] = value
        if problems:
            raise ExportError(problems)
        return blocks

    def _skip_when_inputs_skipped(self, code: NodeExport, ports: dict[str, Any]) -> list[Any]:
        """A node whose required input was not produced is skipped, and its outputs with it."""
        skipping = [
            code._inputs[port].expression
            for port, declared in ports.items()
            if declared.required and port in code._inputs and code._inputs[port].may_skip
        ]
        if not skipping:
            return code.statements
        outputs = list(code._outputs.values())
        for value in outputs:
            value.may_skip = True
        if len(skipping) == 1:
            prelude: list[Any] = []
            reason = skipping[0]
            test = f"isinstance({reason}, {code.helper(Skip)})"
            positive, negative = test, f"not {test}"
        else:
            first = code.helper(export_runtime.first_skipped)
            prelude = [Statement("skipped = ", Bracket(first, "(", [Atom(name) for name in skipping], ")"))]
            reason, positive, negative = "skipped", "skipped", "not skipped"
        if not outputs:
            return [*prelude, If(negative, code.statements)]
        passed_on = [Line(f"{value.expression} = {reason}") for value in outputs]
        return [*prelude, If(positive, passed_on, code.statements)]


def _docstring(workflow: Workflow, writer: ScriptWriter, script_name: str) -> str:
    name = (workflow.name or "Workflow").strip() or "Workflow"
    lines = [f"{name} — exported from Chainwright."]
    if workflow.description.strip():
        lines += ["", *workflow.description.strip("\n").splitlines()]
    example = " ".join(f"--input {input_name}=..." for input_name in writer.input_names)
    lines += ["", "Run it:", f"    python {script_name} {example}".rstrip()]
    if writer.streams:
        lines.append(f"    python {script_name} --stream   (print the models' answers as they arrive)")
    call = ", ".join(f"{input_name}=..." for input_name in writer.input_names)
    module = identifier(Path(script_name).stem, fallback="workflow")
    lines += ["", f"From Python: `from {module} import run`, then `run({call})` returns the outputs."]
    if writer.environment:
        lines += ["", "Environment variables it reads: " + ", ".join(sorted(writer.environment)) + "."]
    lines += [
        "",
        "Needs Python >= 3.11" + "".join(f", {name}" for name in sorted(writer.requirements)) + ".",
        "Open this file in Chainwright (`chainwright open` or File > Open) to get the graph back.",
    ]
    escaped = [_doc_line(line) for line in lines]
    escaped[0] = escaped[0].lstrip()
    return '"""' + "\n".join(escaped) + '\n"""'


MAIN = '''
def main(argv: list[str] | None = None) -> int:
    """The command line: --input NAME=VALUE ...; prints the outputs as one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--input", action="append", default=[], metavar="NAME=VALUE", help="a workflow input"
    )
    parser.add_argument(
        "--stream", action="store_true", help="print the models' answers to stderr as they arrive"
    )
    args = parser.parse_args(argv)
    given = {}
    for item in args.input:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not (name.isidentifier() and name.isascii()):
            parser.error(f"--input {item!r}: write it as NAME=VALUE")
        if name in given:
            parser.error(f"--input {name}: given more than once")
        given[name] = value
    show_tokens(args.stream)
    try:
        # What the workflow prints goes to stderr: stdout carries only the JSON result.
        with contextlib.redirect_stdout(sys.stderr):
            outputs = run(**given)
    except NodeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(jsonable(outputs), ensure_ascii=False))
    except UnicodeEncodeError:
        print(json.dumps(jsonable(outputs)))
    return 0
'''


def _main_function(writer: ScriptWriter) -> str:
    main = MAIN.strip("\n")
    if not writer.streams:
        main = main.replace(
            '    parser.add_argument(\n        "--stream", action="store_true", help="print the models\' answers to stderr as they arrive"\n    )\n',
            "",
        ).replace("    show_tokens(args.stream)\n", "")
    return main


def _doc_line(text: str) -> str:
    """A line of a docstring: backslashes, control characters and triple quotes escaped."""
    escaped = "".join(
        "\\\\" if char == "\\" else char if char == " " or char.isprintable() else _escape(char, "")
        for char in text
    )
    return escaped.replace('"""', '\\"\\"\\"').rstrip()


def _run_function(writer: ScriptWriter, blocks: list[_Block]) -> str:
    interface = sorted(writer.analysis.interface("input"))
    doc = ['    """Run the workflow and return its outputs, {output name: value}.']
    if interface:
        doc += ["", "    " + _doc_line(f"Inputs: {', '.join(interface)}."), '    """']
    else:
        doc[0] += '"""'
    node_error = writer.helpers.add(export_runtime.NodeError, requester="the script")
    statements: list[Any] = []
    if interface:
        names = [Atom(string_literal(name)) for name in interface]
        statements.append(Statement("known = ", Bracket("", "{", names, "}")))
        statements.append(Line("unknown = sorted(set(inputs) - known)"))
        message = (
            "f\"the workflow has no input named {unknown[0]!r}; its inputs are: {', '.join(sorted(known))}\""
        )
    else:
        statements.append(Line("unknown = sorted(inputs)"))
        message = 'f"the workflow has no input named {unknown[0]!r}; it has no inputs"'
    statements.append(If("unknown", [Statement("raise ", Bracket(node_error, "(", [Atom(message)], ")"))]))
    statements.append(Line("outputs = {}"))
    lines = ["def run(**inputs) -> dict:", *doc, *render_block(statements, INDENT)]
    for block in blocks:
        lines.append("")
        lines += [" " * INDENT + comment for comment in block.comments]
        lines += render_block(block.statements, INDENT)
    lines.append("    return outputs")
    return "\n".join(lines)


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
    script_name = script_path.name if script_path else "workflow.py"
    reserved: set[str] = set()
    while True:
        # Variables are named before the helpers are known; a name a helper turns out to need
        # is taken away and the script written again (at most once more: helpers do not depend
        # on names).
        writer = ScriptWriter(analysis, workflow_dir, script_dir, reserved)
        source = _write(workflow, writer, script_name)
        module_names = writer.helpers.names() | FIXED_NAMES
        if not (writer.namer.given | writer.constant_namer.given) & module_names or module_names <= reserved:
            return source
        reserved |= module_names


#: Module-level names every script has.
FIXED_NAMES = {
    "annotations",
    "argparse",
    "contextlib",
    "json",
    "sys",
    "Path",
    "HERE",
    "run",
    "main",
    "WORKFLOW",
}


def _write(workflow: Workflow, writer: ScriptWriter, script_name: str) -> str:
    blocks = writer.node_blocks()
    helpers = writer.helpers
    for function in (export_runtime.NodeError, jsonable):
        helpers.add(function, requester="the script")
    if writer.streams:
        helpers.add(export_runtime.show_tokens, requester="the script")
    run = _run_function(writer, blocks)
    if any(statement.split()[1].split(".")[0] == "httpx" for statement in helpers.imports):
        writer.requirements.add("httpx")
    imports = {"import argparse", "import contextlib", "import json", "import sys"} | helpers.imports
    if writer.uses_here:
        imports.add("from pathlib import Path")
    stdlib = {i for i in imports if i.split()[1].split(".")[0] in sys.stdlib_module_names}
    sections = [_import_block(stdlib), _import_block(imports - stdlib)]
    parts = [
        _docstring(workflow, writer, script_name),
        "from __future__ import annotations",
        "\n\n".join(block for block in sections if block),
    ]
    constants, definitions = helpers.sections()
    if writer.uses_here:
        constants.insert(0, "HERE = Path(__file__).resolve().parent")
    for name, (comment, written) in writer.constants.items():
        definitions.append("\n".join([*comment_lines(comment), f"{name} = {written}"]))
    definitions.append(run)
    definitions.append(_main_function(writer))
    workflow_lines = layout(literal(workflow_to_document(workflow)), 0, "WORKFLOW = ")
    definitions.append(
        "# The workflow this script was exported from: Chainwright reads it back to restore the graph.\n"
        + "\n".join(workflow_lines)
    )
    definitions.append('if __name__ == "__main__":\n    sys.exit(main())')
    source = "\n\n".join(parts) + "\n\n"
    if constants:
        source += "\n".join(constants) + "\n\n\n"
    else:
        source += "\n"
    source += "\n\n\n".join(definitions) + "\n"
    try:
        ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. a value nested too deeply
        message = getattr(exc, "msg", None) or type(exc).__name__
        raise ExportError(
            [Problem(f"the script cannot be written: {message}", code="not_exportable")]
        ) from None
    return source


def _import_block(statements: set[str]) -> str:
    """Imports the way isort writes them: plain imports first, then `from` imports merged per module."""
    plain = sorted(s for s in statements if s.startswith("import "))
    merged: dict[str, set[str]] = {}
    for statement in statements - set(plain):
        module, names = statement.removeprefix("from ").split(" import ", 1)
        merged.setdefault(module, set()).add(names)
    froms = [f"from {module} import {', '.join(sorted(names))}" for module, names in sorted(merged.items())]
    return "\n".join(plain + froms)


def export_file(workflow_path: Path, script_path: Path, registry: Registry | None = None) -> str:
    from app.core.model import atomic_write_bytes, load_workflow

    workflow = load_workflow(workflow_path)
    source = export_script(workflow, workflow_path=workflow_path, script_path=script_path, registry=registry)
    atomic_write_bytes(script_path, source.encode("utf-8"))
    return source


# --- back again ----------------------------------------------------------------------------------


def workflow_from_script(source: str | bytes, filename: str = "<script>") -> Workflow:
    """The workflow embedded in an exported script. The script is parsed, never run."""
    from app.core.model import WorkflowFileError

    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
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
