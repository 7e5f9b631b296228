"""The node SDK: how a node type is declared, and what a running node may use.

A node type is one class in one module of a node pack (the built-in pack is the `nodes`
package). Its declaration drives everything else — ports on the canvas, the inspector form,
validation, the cache key and export:

    class Shout(NodeType[ShoutConfig]):
        type_id = "text.shout"            # stable id stored in workflow files
        title = "Shout"
        category = "Text"
        description = "Upper-cases its input."
        version = 1                       # bump when outputs change for the same inputs
        config_model = ShoutConfig        # a NodeConfig (pydantic, unknown keys refused)
        inputs = (Port("text", DataType.TEXT),)
        outputs = (Port("text", DataType.TEXT),)

        async def run(self, inputs, ctx):
            return {"text": inputs["text"].upper()}

Ports may also depend on the config (override `input_ports` / `output_ports`); they must be found
by *reading* the config — parsing, never executing user code.

Config fields may carry UI hints for the inspector in `json_schema_extra={"ui": ...}`:
`"multiline"`, `"template"` (multiline with `{{placeholder}}` highlighting), `"code"` (Python),
`"file"` (a file picker), `"folder"` (a folder picker), `"credential"` (a credential *name*, never a value), `"json"`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from app.core.values import DataType

if TYPE_CHECKING:
    from app.core.settings import Settings


@dataclass(frozen=True, slots=True)
class Port:
    name: str
    type: DataType = DataType.ANY
    required: bool = True
    description: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "required": self.required,
            "description": self.description,
        }


class NodeConfig(BaseModel):
    """Base of every node's config model: unknown keys are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class NodeError(Exception):
    """A failure to show to the person running the workflow, in plain words.

    The executor adds the node id; set `port` or `field` when the cause is one of them, and
    `user_line` when it is a line of the user's own code.
    """

    def __init__(
        self,
        message: str,
        *,
        port: str | None = None,
        field: str | None = None,
        user_line: int | None = None,
        details: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.port = port
        self.field = field
        self.user_line = user_line
        self.details = details


@dataclass(frozen=True, slots=True)
class Skip:
    """An output deliberately not produced (e.g. the branch `logic.if` did not take).

    A node may return `Skip(reason)` for an output port, or leave the port out of its result.
    Downstream, an input fed by a port that was not produced is *skipped*: a node with such a
    required input is skipped (not failed) with the reason shown; an optional input is left out
    of the node's inputs and the node runs without it.
    """

    reason: str = "not produced"


@dataclass(slots=True)
class Usage:
    """Tokens and cost of one model call, reported by a node through its context."""

    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    return None


@dataclass
class RunContext:
    """What a node's `run` may use. The executor makes one per node execution.

    Everything has a harmless default so a node can be run directly in a test:
    `await Node(config).run(inputs, RunContext(node_id="n"))`.
    """

    node_id: str
    workflow_dir: Path = field(default_factory=Path.cwd)
    #: The values given for the workflow's inputs (`io.input` nodes read theirs from here).
    workflow_inputs: dict[str, Any] = field(default_factory=dict)
    restricted: bool = False
    settings: Settings | None = None
    on_chunk: Callable[[str], None] = _ignore
    on_progress: Callable[[float, str], None] = _ignore
    on_log: Callable[[str, str], None] = _ignore
    on_usage: Callable[[Usage], None] = _ignore
    cancel_event: threading.Event = field(default_factory=threading.Event)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("chainwright.node"))

    def chunk(self, text: str) -> None:
        """Stream a piece of the node's text output as it is produced."""
        if text:
            self.on_chunk(text)

    def progress(self, fraction: float, message: str = "") -> None:
        self.on_progress(max(0.0, min(1.0, fraction)), message)

    def log(self, message: str, level: Literal["debug", "info", "warning", "error"] = "info") -> None:
        """A line in the node's log, shown in the inspector and stored with the run."""
        self.on_log(message, level)

    def report_usage(self, usage: Usage) -> None:
        self.on_usage(usage)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """For work outside the event loop (threads, subprocesses): stop if the run was cancelled."""
        if self.cancel_event.is_set():
            raise asyncio.CancelledError()

    def get_settings(self) -> Settings:
        if self.settings is None:
            from app.core.settings import Settings

            self.settings = Settings.load()
        return self.settings

    def resolve_path(self, path: str) -> Path:
        """A config path: relative paths resolve against the workflow file's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.workflow_dir / candidate


ConfigT = TypeVar("ConfigT", bound=NodeConfig)


class NodeType(Generic[ConfigT]):
    """Base class of every node type. Subclasses declare the class attributes below."""

    type_id: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]
    description: ClassVar[str] = ""
    version: ClassVar[int] = 1
    config_model: ClassVar[type[NodeConfig]] = NodeConfig
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    #: How ports that depend on the config are derived, for the catalogue ("one per {{placeholder}}").
    dynamic_ports: ClassVar[str] = ""
    #: False for nodes whose result depends on the outside world (files, HTTP) or that are cheap:
    #: they always run, and their downstream is still cached by the values they produce.
    cacheable: ClassVar[bool] = True
    #: "input" / "output" for the nodes that form the workflow's interface (`io.input`, `io.output`).
    interface_role: ClassVar[Literal["input", "output"] | None] = None

    def __init__(self, config: ConfigT) -> None:
        self.config = config

    # -- declaration helpers ----------------------------------------------------------------
    @classmethod
    def parse_config(cls, raw: dict[str, Any]) -> ConfigT:
        """Validate a config dict; raises pydantic.ValidationError naming the field."""
        return cls.config_model.model_validate(raw)  # type: ignore[return-value]

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> NodeType[ConfigT]:
        return cls(cls.parse_config(raw))

    def input_ports(self) -> list[Port]:
        return list(self.inputs)

    def output_ports(self) -> list[Port]:
        return list(self.outputs)

    def interface_name(self) -> str | None:
        """The workflow input/output name this node provides (for interface nodes)."""
        return None

    def concurrency_group(self) -> str | None:
        """A name shared by nodes that count against one limit (e.g. a provider), or None."""
        return None

    def cache_key_extra(self, ctx: RunContext) -> Any:
        """What else, besides type, version, config and inputs, decides this node's outputs.

        A JSON value joined to the node's cache key (e.g. the endpoint a provider resolves from
        the settings or the environment), or None. Called before `run`; never return a secret.
        """
        return None

    # -- running ----------------------------------------------------------------------------
    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        """Compute the outputs from the inputs. Raise NodeError for failures users should read."""
        raise NodeError(f"the node type '{self.type_id}' cannot run yet")

    # -- export -----------------------------------------------------------------------------
    def export(self, code: Any) -> None:
        """Write this node's block of an exported script through `code` (`app.core.export.NodeExport`).

        The block must compute what `run` computes; the export equivalence tests hold every
        node type to that.
        """
        raise NotImplementedError(f"the node type '{self.type_id}' has no Python export yet")

    # -- catalogue --------------------------------------------------------------------------
    @classmethod
    def describe(cls) -> dict[str, Any]:
        """A JSON-ready description of the type, for `chainwright nodes --json` and the palette."""
        try:
            example = cls.from_config({})
            inputs, outputs = example.input_ports(), example.output_ports()
        except Exception:
            inputs, outputs = list(cls.inputs), list(cls.outputs)
        schema = cls.config_model.model_json_schema()
        fields = []
        for name, prop in schema.get("properties", {}).items():
            fields.append(
                {
                    "name": name,
                    "required": name in schema.get("required", []),
                    "schema": prop,
                }
            )
        return {
            "type": cls.type_id,
            "title": cls.title,
            "category": cls.category,
            "description": cls.description,
            "version": cls.version,
            "inputs": [port.describe() for port in inputs],
            "outputs": [port.describe() for port in outputs],
            "dynamic_ports": cls.dynamic_ports,
            "config": fields,
            "config_schema": schema,
            "cacheable": cls.cacheable,
        }
