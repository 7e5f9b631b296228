"""Text and data: join, split into chunks, regex extract, JSON parse and paths, formatting, and
reading a model's JSON answer."""

from __future__ import annotations

import ast
import asyncio
import json
import math
import re
import threading
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext, Skip
from app.core.values import DataType, to_text
from nodes._common import preview
from nodes._regex import DEFAULT_TIMEOUT_SECONDS, find_matches, regex_flags

# --- join ------------------------------------------------------------------------------------


class JoinConfig(NodeConfig):
    separator: str = Field(
        default="\n\n",
        description="Written between the items (\\n is a new line).",
        json_schema_extra={"ui": "multiline"},
    )
    skip_empty: bool = Field(default=True, description="Leave out items that are empty or only spaces.")


class Join(NodeType[JoinConfig]):
    type_id = "text.join"
    title = "Join texts"
    category = "Text"
    description = "Joins the items of a list into one text, with a separator between them."
    config_model = JoinConfig
    inputs = (
        Port("items", DataType.LIST, description="The list to join; non-text items are written as JSON."),
    )
    outputs = (Port("text", DataType.TEXT, description="The joined text."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"text": join_texts(inputs["items"], self.config.separator, self.config.skip_empty)}

    def export(self, code: Any) -> None:
        config = self.config
        joined = code.call(
            join_texts, code.input("items"), separator=config.separator, skip_empty=config.skip_empty
        )
        code.assign("text", joined)


def join_texts(items: list[Any], separator: str = "\n\n", skip_empty: bool = True) -> str:
    """The items as one text (non-text items written as JSON), with the separator between them."""
    texts = [to_text(item) for item in items]
    if skip_empty:
        texts = [text for text in texts if text.strip()]
    return separator.join(texts)


# --- split -----------------------------------------------------------------------------------


class SplitConfig(NodeConfig):
    chunk_size: int = Field(
        default=1000, ge=1, le=10_000_000, description="The longest chunk, in characters."
    )
    overlap: int = Field(
        default=100,
        ge=0,
        description="How many characters each chunk repeats from the end of the one before.",
    )

    @model_validator(mode="after")
    def _overlap_smaller(self) -> SplitConfig:
        if self.overlap >= self.chunk_size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than chunk_size ({self.chunk_size})")
        return self


def split_text(text: str, size: int, overlap: int) -> list[str]:
    """Chunks of at most `size` characters, each starting `overlap` characters before the previous
    one ended. A chunk ends at a space or line break when there is one in its second half."""
    chunks: list[str] = []
    start, length = 0, len(text)
    while start < length:
        end = min(start + size, length)
        if end < length:
            window = text[start + size // 2 : end]
            breaks = [window.rfind(mark) for mark in ("\n\n", "\n", " ")]
            best = next((position for position in breaks if position >= 0), -1)
            if best >= 0:
                end = start + size // 2 + best + 1
        chunk = text[start:end].strip()
        if chunk:
            chunks.append(chunk)
        if end >= length:
            break
        next_start = max(end - overlap, start + 1)
        if overlap and not text[next_start - 1].isspace():  # begin the overlap at a word
            space = re.search(r"\s", text[next_start:end])
            if space:
                next_start += space.end()
        start = next_start
    return chunks


class Split(NodeType[SplitConfig]):
    type_id = "text.split"
    title = "Split into chunks"
    category = "Text"
    description = (
        "Cuts a long text into chunks of a given size that overlap a little, breaking at spaces "
        "and line breaks where it can — e.g. to summarize a long document piece by piece."
    )
    config_model = SplitConfig
    inputs = (Port("text", DataType.TEXT, description="The text to cut."),)
    outputs = (
        Port("chunks", DataType.LIST, description="The chunks, in order."),
        Port("count", DataType.NUMBER, description="How many chunks."),
    )
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        chunks = split_text(inputs["text"], self.config.chunk_size, self.config.overlap)
        return {"chunks": chunks, "count": len(chunks)}

    def export(self, code: Any) -> None:
        split = code.call(split_text, code.input("text"), self.config.chunk_size, self.config.overlap)
        chunks = code.assign("chunks", split, keep=code.uses("count"))
        if code.uses("count"):
            code.assign("count", code.expr(f"len({chunks})"))


# --- regex -----------------------------------------------------------------------------------


class RegexConfig(NodeConfig):
    pattern: str = Field(
        default="",
        description="A Python regular expression. With a group ( … ) the group is extracted, otherwise the whole match.",
    )
    ignore_case: bool = Field(default=False, description="Upper and lower case match each other.")
    multiline: bool = Field(default=False, description="^ and $ match at the start and end of every line.")
    dot_all: bool = Field(default=False, description=". also matches line breaks.")
    require_match: bool = Field(
        default=False, description="Fail when nothing matches (otherwise give empty results)."
    )
    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS,
        gt=0,
        le=600,
        description="Fail when the search takes longer than this many seconds (a pattern with nested "
        "repetition such as (a+)+ can otherwise search for hours).",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern


def regex_extract(
    text: str,
    pattern: str,
    *,
    ignore_case: bool = False,
    multiline: bool = False,
    dot_all: bool = False,
    require_match: bool = False,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """The first match, every match, the first match's groups and whether anything matched.

    With a group in the pattern the (first) group is taken, otherwise the whole match. The search
    fails after `timeout_seconds` (see nodes/_regex.py); `stop` ends it when a run is cancelled.
    """
    if not pattern:
        message = "no pattern given: write the regular expression to look for"
        raise NodeError(message, field="config.pattern")
    flags = regex_flags(ignore_case, multiline, dot_all)
    result = find_matches(text, pattern, flags, timeout_seconds=timeout_seconds, stop=stop)
    found, count = result["matches"], result["groups"]
    if not found and require_match:
        raise NodeError(
            f"the pattern {pattern!r} matches nothing in the text (it starts with {preview(text, 60)!r})",
            port="text",
        )

    def value(match: list[str | None]) -> str:
        return (match[1] or "") if count else (match[0] or "")

    groups: dict[str, Any] = {}
    if found:
        names = {index: name for name, index in result["names"].items()}
        groups = {names.get(i, str(i)): found[0][i] for i in range(1, count + 1)}
    return {
        "match": value(found[0]) if found else "",
        "matches": [value(match) for match in found],
        "groups": groups,
        "found": bool(found),
    }


class RegexExtract(NodeType[RegexConfig]):
    type_id = "text.regex"
    title = "Regex extract"
    category = "Text"
    description = (
        "Finds a pattern (a regular expression) in a text and returns the first match and all matches."
    )
    config_model = RegexConfig
    inputs = (Port("text", DataType.TEXT, description="The text to search."),)
    outputs = (
        Port(
            "match",
            DataType.TEXT,
            description="The first match (its first group, if the pattern has one); empty if none.",
        ),
        Port("matches", DataType.LIST, description="Every match, in order."),
        Port("groups", DataType.JSON, description="The groups of the first match, by name (or number)."),
        Port("found", DataType.BOOLEAN, description="Whether anything matched."),
    )
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        config = self.config
        try:
            # In a thread: the search waits for a worker process (nodes/_regex.py), up to the limit.
            return await asyncio.to_thread(
                regex_extract,
                inputs["text"],
                config.pattern,
                ignore_case=config.ignore_case,
                multiline=config.multiline,
                dot_all=config.dot_all,
                require_match=config.require_match,
                timeout_seconds=config.timeout_seconds,
                stop=ctx.cancel_event,
            )
        except NodeError:
            ctx.check_cancelled()  # stopped because the run was cancelled: not a failure
            raise

    def export(self, code: Any) -> None:
        config = self.config
        extracted = code.call(
            regex_extract,
            code.input("text"),
            config.pattern,
            ignore_case=config.ignore_case,
            multiline=config.multiline,
            dot_all=config.dot_all,
            require_match=config.require_match,
            timeout_seconds=config.timeout_seconds,
        )
        code.assign_outputs(extracted)


# --- JSON ------------------------------------------------------------------------------------


def json_error(exc: json.JSONDecodeError, text: str, what: str) -> str:
    return f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}); it starts with {preview(text, 60)!r}"


class ParseJson(NodeType[NodeConfig]):
    type_id = "text.json_parse"
    title = "Parse JSON"
    category = "Text"
    description = "Reads a text written as JSON into a JSON value (object, list, number …)."
    inputs = (Port("text", DataType.TEXT, description="JSON text."),)
    outputs = (Port("value", DataType.JSON, description="The value the text describes."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"value": parse_json_text(inputs["text"])}

    def export(self, code: Any) -> None:
        code.assign("value", code.call(parse_json_text, code.input("text")))


def parse_json_text(text: str) -> Any:
    """The value a JSON text describes."""
    if not text.strip():
        raise NodeError("the text is empty, so it is not JSON", port="text")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NodeError(json_error(exc, text, "the text"), port="text") from None
    except RecursionError:
        raise NodeError("the JSON is nested too deeply to be read", port="text") from None


_PATH_TOKEN = re.compile(
    r"""\.?(?P<name>[^.\[\]]+)        # .name or name
      | \[\s*(?P<index>-?\d+)\s*\]      # [0], [-1]
      | \[\s*(?P<star>\*)\s*\]          # [*]
      | \[\s*(?P<quote>["'])(?P<key>.*?)(?P=quote)\s*\]   # ["key with spaces"]
    """,
    re.VERBOSE,
)

PathStep = tuple[Literal["key", "index", "all"], Any]


def parse_path(path: str) -> list[PathStep]:
    """Steps of a path such as `$.items[0].name`, `items[*].name` or `["a key"].x` (ValueError if bad)."""
    text = path.strip().removeprefix("$")
    steps: list[PathStep] = []
    position = 0
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if not match or match.end() == position:
            rest = text[position:]
            raise ValueError(f"cannot read the path at {rest!r}; write it like items[0].name")
        if match.group("name") is not None:
            name = match.group("name")
            steps.append(("all", None) if name == "*" else ("key", name))
        elif match.group("index") is not None:
            steps.append(("index", int(match.group("index"))))
        elif match.group("star") is not None:
            steps.append(("all", None))
        else:
            steps.append(("key", match.group("key")))
        position = match.end()
    return steps


def _describe_step(step: PathStep) -> str:
    kind, value = step
    return f"[{value}]" if kind == "index" else ("[*]" if kind == "all" else repr(value))


def _walk(value: Any, steps: list[PathStep], done: str) -> list[Any]:
    """The values at `steps` below `value` (a KeyError with a plain message when a step is missing)."""
    if not steps:
        return [value]
    (kind, key), rest = steps[0], steps[1:]
    here = done or "the value"
    if kind == "all":
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, list):
            items = value
        else:
            raise KeyError(f"{here} is {_kind(value)}, so [*] has nothing to go through")
        found: list[Any] = []
        for index, item in enumerate(items):
            found.extend(_walk(item, rest, f"{done}[{index}]"))
        return found
    if kind == "index":
        if isinstance(value, list):
            if -len(value) <= key < len(value):
                return _walk(value[key], rest, f"{done}[{key}]")
            raise KeyError(f"{here} is a list of {len(value)} items, so it has no item [{key}]")
        if isinstance(value, dict) and str(key) in value:
            return _walk(value[str(key)], rest, f"{done}.{key}")
        raise KeyError(f"{here} is {_kind(value)}, not a list, so it has no item [{key}]")
    if isinstance(value, dict):
        if key in value:
            return _walk(value[key], rest, f"{done}.{key}" if done else key)
        keys = ", ".join(repr(k) for k in list(value)[:12]) or "none"
        raise KeyError(f"{here} has no key {key!r} (its keys: {keys})")
    if isinstance(value, list) and key.isdigit():
        return _walk(value, [("index", int(key)), *rest], done)
    raise KeyError(f"{here} is {_kind(value)}, so it has no key {key!r}")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "empty (null)" if value is None else type(value).__name__


class JsonPathConfig(NodeConfig):
    path: str = Field(
        default="",
        description="Where the value is: keys separated by dots, [0] for a list item, [*] for every item — "
        "e.g. items[0].name or results[*].title. Empty = the whole value.",
    )
    if_missing: Literal["fail", "skip", "null"] = Field(
        default="fail",
        description="When the path leads nowhere: fail the node, skip what depends on it, or give null.",
    )

    @field_validator("path")
    @classmethod
    def _parses(cls, path: str) -> str:
        parse_path(path)
        return path


class JsonPath(NodeType[JsonPathConfig]):
    type_id = "text.json_path"
    title = "Get from JSON"
    category = "Text"
    description = (
        "Picks one value out of a JSON value by its path, such as items[0].name; with [*] it "
        "collects a value from every item into a list."
    )
    config_model = JsonPathConfig
    inputs = (
        Port("value", DataType.JSON, description="The JSON value to look into (JSON text is read first)."),
    )
    outputs = (Port("value", DataType.ANY, description="The value found at the path."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"value": json_path_value(inputs["value"], self.config.path, self.config.if_missing)}

    def export(self, code: Any) -> None:
        config = self.config
        found = code.call(json_path_value, code.input("value"), config.path, if_missing=config.if_missing)
        code.assign("value", found, may_skip=config.if_missing == "skip")


def json_path_value(value: Any, path: str, if_missing: str = "fail") -> Any:
    """The value at `path` inside `value` (JSON text is read first); with [*] a list of them.

    When the path leads nowhere: a NodeError (if_missing "fail"), a Skip ("skip") or None ("null").
    """
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise NodeError(json_error(exc, value, "the connected text"), port="value") from None
    steps = parse_path(path)
    try:
        found = _walk(value, steps, "")
    except KeyError as exc:
        reason = str(exc.args[0])
        if if_missing == "skip":
            return Skip(f"the path {path!r} leads nowhere: {reason}")
        if if_missing == "null":
            return None
        raise NodeError(f"the path {path!r} leads nowhere: {reason}", field="config.path") from None
    wildcard = any(kind == "all" for kind, _ in steps)
    return found if wildcard else found[0]


# --- formatting ------------------------------------------------------------------------------


class FormatNumberConfig(NodeConfig):
    decimals: int | None = Field(
        default=2, ge=0, le=20, description="Digits after the decimal point (empty = as many as needed)."
    )
    thousands_separator: Literal["", ",", ".", " ", "'", "_"] = Field(
        default="", description="Written between groups of three digits, e.g. 1,234,567."
    )
    decimal_point: Literal[".", ","] = Field(default=".", description="The decimal mark.")
    percent: bool = Field(default=False, description="Show as a percentage (0.25 → 25%).")
    prefix: str = Field(default="", description="Written before the number, e.g. $.")
    suffix: str = Field(default="", description="Written after the number, e.g. ' kg'.")

    @model_validator(mode="after")
    def _distinct_marks(self) -> FormatNumberConfig:
        if self.thousands_separator and self.thousands_separator == self.decimal_point:
            raise ValueError("the thousands separator and the decimal point must differ")
        return self


class FormatNumber(NodeType[FormatNumberConfig]):
    type_id = "text.format_number"
    title = "Format number"
    category = "Text"
    description = "Writes a number as text: rounded, with separators, as a percentage, with a unit."
    config_model = FormatNumberConfig
    inputs = (Port("value", DataType.NUMBER, description="The number (text that is a number works too)."),)
    outputs = (Port("text", DataType.TEXT, description="The formatted number."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"text": format_number(inputs["value"], **self.config.model_dump())}

    def export(self, code: Any) -> None:
        code.assign("text", code.call(format_number, code.input("value"), **self.config.model_dump()))


def format_number(
    number: float,
    decimals: int | None = 2,
    thousands_separator: str = "",
    decimal_point: str = ".",
    percent: bool = False,
    prefix: str = "",
    suffix: str = "",
) -> str:
    """A number as text: rounded, with separators, as a percentage, with a unit."""
    if isinstance(number, float) and math.isnan(number):
        raise NodeError("the value is not a number (NaN)", port="value")
    if percent:
        number = number * 100
    grouping = "," if thousands_separator else ""
    text = format(number, grouping + (f".{decimals}f" if decimals is not None else ""))
    text = text.replace(",", "\0").replace(".", decimal_point).replace("\0", thousands_separator)
    return f"{prefix}{text}{'%' if percent else ''}{suffix}"


class FormatTextConfig(NodeConfig):
    trim: bool = Field(default=True, description="Remove spaces and blank lines at the start and end.")
    collapse_spaces: bool = Field(
        default=False, description="Turn every run of spaces and line breaks into one space."
    )
    case: Literal["keep", "lower", "upper", "title", "sentence"] = Field(
        default="keep", description="Change the letters' case (sentence = first letter upper case)."
    )
    first_line_only: bool = Field(default=False, description="Keep only the first non-empty line.")
    max_length: int = Field(default=0, ge=0, description="Cut longer text, ending it with … (0 = no limit).")


class FormatText(NodeType[FormatTextConfig]):
    type_id = "text.format"
    title = "Tidy text"
    category = "Text"
    description = "Cleans up a text: trims it, changes case, keeps the first line, shortens it."
    config_model = FormatTextConfig
    inputs = (Port("text", DataType.TEXT, description="The text to tidy."),)
    outputs = (Port("text", DataType.TEXT, description="The tidied text."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"text": tidy_text(inputs["text"], **self.config.model_dump())}

    def export(self, code: Any) -> None:
        code.assign("text", code.call(tidy_text, code.input("text"), **self.config.model_dump()))


def tidy_text(
    text: str,
    trim: bool = True,
    collapse_spaces: bool = False,
    case: str = "keep",
    first_line_only: bool = False,
    max_length: int = 0,
) -> str:
    """The text trimmed, with its case changed, cut to its first line or to a length."""
    if first_line_only:
        text = next((line for line in text.splitlines() if line.strip()), "")
    if collapse_spaces:
        text = re.sub(r"\s+", " ", text)
    if trim:
        text = text.strip()
    if case == "lower":
        text = text.lower()
    elif case == "upper":
        text = text.upper()
    elif case == "title":
        text = text.title()
    elif case == "sentence" and text:
        text = text[0].upper() + text[1:]
    if max_length and len(text) > max_length:
        text = text[: max(0, max_length - 1)].rstrip() + "…"
    return text


# --- the model's JSON answer -----------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|javascript)?[ \t]*\n(.*?)```", re.DOTALL)


def _literal(text: str) -> Any:
    """A Python-style literal such as {'a': 1} (small models write them), or raise ValueError."""
    value = ast.literal_eval(text)
    json.dumps(value, allow_nan=False)  # only JSON-like values
    return value


def _candidates(text: str) -> list[str]:
    found = [block.strip() for block in _FENCE.findall(text)]
    found.append(text.strip())
    return found


def find_json(text: str, expect: str) -> Any:
    """The JSON value in a model's answer: the whole answer, a ```json block, or the first {…} / […]
    inside surrounding prose. Raises ValueError saying why there is none."""
    anything = (dict, list, str, int, float, bool, type(None))
    wanted = {"object": dict, "list": list}.get(expect, anything)
    decoder = json.JSONDecoder()
    wrong_type: Any = None
    for candidate in _candidates(text):
        for parse in (json.loads, _literal):
            try:
                value = parse(candidate)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(value, wanted) and not isinstance(value, tuple):
                return value
            wrong_type = value if wrong_type is None else wrong_type
            break
        openers = [index for index, char in enumerate(candidate) if char in "{["][:200]
        for index in openers:
            try:
                value, _ = decoder.raw_decode(candidate, index)
            except (json.JSONDecodeError, RecursionError):
                try:
                    value = _literal(_balanced(candidate, index))
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                    continue
            if isinstance(value, wanted):
                return value
            wrong_type = value if wrong_type is None else wrong_type
    if wrong_type is not None:
        raise ValueError(
            f"it is JSON, but {_kind(wrong_type)} where {'an object' if expect == 'object' else 'a list'} was expected"
        )
    raise ValueError("there is no JSON in it")


def _balanced(text: str, start: int) -> str:
    """The text from `start` to the bracket that closes the one there (ignoring quoted text)."""
    pairs = {"{": "}", "[": "]"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for position in range(start, len(text)):
        char = text[position]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in pairs:
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return text[start : position + 1]
    raise ValueError("unbalanced brackets")


class ParseAnswerConfig(NodeConfig):
    expect: Literal["any", "object", "list"] = Field(
        default="object", description="What kind of JSON value the answer must hold."
    )
    required_keys: list[str] = Field(
        default_factory=list,
        description="Keys the object must have; a missing one fails the node (for expect = object).",
    )


class ParseModelJson(NodeType[ParseAnswerConfig]):
    type_id = "text.parse_json_answer"
    title = "Read JSON answer"
    category = "Text"
    description = (
        "Reads the JSON in a model's answer — also inside a ```json block or surrounded by prose — "
        "and fails with a clear message when the model did not answer in JSON."
    )
    config_model = ParseAnswerConfig
    inputs = (Port("text", DataType.TEXT, description="The model's answer."),)
    outputs = (Port("value", DataType.JSON, description="The JSON value in the answer."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"value": read_json_answer(inputs["text"], self.config.expect, self.config.required_keys)}

    def export(self, code: Any) -> None:
        config = self.config
        read = code.call(
            read_json_answer,
            code.input("text"),
            expect=config.expect,
            required_keys=config.required_keys or None,
        )
        code.assign("value", read)


def read_json_answer(
    text: str,
    expect: str = "object",
    required_keys: list[str] | None = None,
) -> Any:
    """The JSON value in a model's answer, checked for the kind expected and the keys required."""
    if not text.strip():
        raise NodeError("the model's answer is empty, so it holds no JSON", port="text")
    try:
        value = find_json(text, expect)
    except ValueError as exc:
        raise NodeError(
            f"the model's answer is not the JSON expected ({exc}); it starts with {preview(text, 80)!r}. "
            "Ask for JSON only in the prompt, e.g. 'Answer with a JSON object and nothing else.'",
            port="text",
        ) from None
    if required_keys and isinstance(value, dict):
        missing = [key for key in required_keys if key not in value]
        if missing:
            present = ", ".join(repr(key) for key in value) or "none"
            raise NodeError(
                f"the model's JSON answer lacks the key{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(key) for key in missing)} (its keys: {present})",
                port="text",
            )
    return value
