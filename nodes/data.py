"""Data sources: files, folders, CSV tables, web pages and inline text."""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Literal

from pydantic import Field, field_validator

from app.core import templates
from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext
from app.core.values import DataType
from nodes._common import MEGABYTE, read_text_file, resolve_readable
from nodes._http import check_url, fetch, fill_url, host_of


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
    description = (
        "Reads a text file (plain text, Markdown, JSON, CSV …) as text. A relative path starts from "
        "the workflow file's folder; files up to 20 MB."
    )
    config_model = FileConfig
    outputs = (Port("text", DataType.TEXT, description="The file's contents."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        if not self.config.path.strip():
            raise NodeError("no file chosen", field="config.path")
        path = resolve_readable(ctx, self.config.path)
        return {"text": read_text_file(path)}


class TextConfig(NodeConfig):
    text: str = Field(
        default="", description="The text this node gives.", json_schema_extra={"ui": "multiline"}
    )


class Text(NodeType[TextConfig]):
    type_id = "data.text"
    title = "Text"
    category = "Data"
    description = "A fixed piece of text written in the node itself."
    config_model = TextConfig
    outputs = (Port("text", DataType.TEXT, description="The text."),)
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        return {"text": self.config.text}


# --- CSV -------------------------------------------------------------------------------------

Delimiter = Literal["auto", ",", ";", "\t", "|"]
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class CsvConfig(NodeConfig):
    path: str = Field(
        default="",
        description="The CSV file; a relative path starts from the workflow file's folder. "
        "Leave empty when CSV text is connected to the input.",
        json_schema_extra={"ui": "file"},
    )
    delimiter: Delimiter = Field(default="auto", description="What separates the columns; auto guesses it.")
    has_header: bool = Field(
        default=True, description="The first row names the columns (otherwise they are column1, column2 …)."
    )
    convert_numbers: bool = Field(
        default=False,
        description="Turn cells that look like numbers into numbers (otherwise every cell is text).",
    )


def _cell(value: str, convert: bool) -> Any:
    if convert and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and re.fullmatch(r"\s*[+-]?\d+\s*", value) else number
    return value


def parse_csv(text: str, config: CsvConfig, where: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of a CSV text; NodeError naming the line for a row of the wrong length."""
    if not text.strip():
        return [], []
    delimiter = config.delimiter
    if delimiter == "auto":
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            if record and any(cell.strip() for cell in record):
                records.append((reader.line_num, record))
    except csv.Error as exc:
        raise NodeError(f"{where} is not valid CSV (line {reader.line_num}): {exc}") from None
    if not records:
        return [], []
    if config.has_header:
        (_, header), body = records[0], records[1:]
        columns = [name.strip() or f"column{index}" for index, name in enumerate(header, start=1)]
        seen: set[str] = set()
        for name in columns:
            if name in seen:
                raise NodeError(f"{where}: the column name '{name}' appears twice in the header")
            seen.add(name)
    else:
        body = records
        columns = [f"column{index}" for index in range(1, max(len(r) for _, r in records) + 1)]
    rows = []
    for line, record in body:
        if len(record) != len(columns):
            raise NodeError(
                f"{where}, line {line}: the row has {len(record)} values but there are "
                f"{len(columns)} columns ({', '.join(columns)})"
            )
        rows.append(
            {name: _cell(value, config.convert_numbers) for name, value in zip(columns, record, strict=True)}
        )
    return columns, rows


class ReadCsv(NodeType[CsvConfig]):
    type_id = "data.csv"
    title = "Read CSV"
    category = "Data"
    description = "Reads a CSV table as a list of rows, each an object {column: value}."
    config_model = CsvConfig
    inputs = (
        Port("text", DataType.TEXT, required=False, description="CSV text to read instead of the file."),
    )
    outputs = (
        Port("rows", DataType.LIST, description="One object per row, keyed by column name."),
        Port("columns", DataType.LIST, description="The column names."),
        Port("count", DataType.NUMBER, description="How many rows."),
    )
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        if "text" in inputs:
            text, where = inputs["text"], "the connected CSV text"
        elif self.config.path.strip():
            path = resolve_readable(ctx, self.config.path)
            text, where = read_text_file(path), str(path)
        else:
            raise NodeError("no CSV file chosen and no CSV text connected", field="config.path")
        columns, rows = parse_csv(text, self.config, where)
        return {"rows": rows, "columns": columns, "count": len(rows)}


# --- folder ----------------------------------------------------------------------------------


class FolderConfig(NodeConfig):
    path: str = Field(
        default=".",
        description="The folder; a relative path starts from the workflow file's folder.",
        json_schema_extra={"ui": "folder"},
    )
    pattern: str = Field(
        default="*.txt",
        description="Which files, as a glob: *.md, report-*.txt, **/*.csv (** also searches subfolders).",
    )
    read_contents: bool = Field(default=True, description="Read each file's text (otherwise only list them).")
    max_files: int = Field(
        default=100, ge=1, le=10_000, description="More matching files than this is an error."
    )

    @field_validator("pattern")
    @classmethod
    def _relative_pattern(cls, pattern: str) -> str:
        if not pattern.strip():
            raise ValueError("the pattern is empty; use * for every file")
        if pattern.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", pattern):
            raise ValueError("the pattern must be relative to the folder (put the folder in 'path')")
        return pattern


class ReadFolder(NodeType[FolderConfig]):
    type_id = "data.folder"
    title = "Read folder"
    category = "Data"
    description = (
        "Lists the files of a folder that match a pattern (sorted by path) and reads their text. "
        "Hidden files are left out."
    )
    config_model = FolderConfig
    outputs = (
        Port(
            "files",
            DataType.LIST,
            description="One {name, path, text} object per file (path relative to the folder).",
        ),
        Port("paths", DataType.LIST, description="The matching paths, relative to the folder."),
        Port("count", DataType.NUMBER, description="How many files matched."),
    )
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        folder = resolve_readable(ctx, self.config.path)
        if not folder.exists():
            raise NodeError(f"folder not found: {folder}", field="config.path")
        if not folder.is_dir():
            raise NodeError(f"{folder} is a file, not a folder", field="config.path")
        try:
            matches = sorted(
                (p for p in folder.glob(self.config.pattern) if p.is_file()),
                key=lambda p: p.relative_to(folder).as_posix(),
            )
        except (ValueError, OSError) as exc:
            raise NodeError(
                f"the pattern {self.config.pattern!r} cannot be used: {exc}", field="config.pattern"
            ) from None
        matches = [
            p for p in matches if not any(part.startswith(".") for part in p.relative_to(folder).parts)
        ]
        if len(matches) > self.config.max_files:
            raise NodeError(
                f"{len(matches)} files in {folder} match {self.config.pattern!r}; at most {self.config.max_files} "
                "are read (raise max_files or narrow the pattern)",
                field="config.max_files",
            )
        files, paths = [], []
        for match in matches:
            relative = match.relative_to(folder).as_posix()
            if ctx.restricted:
                resolve_readable(ctx, str(match.resolve()), field="config.pattern")
            entry: dict[str, Any] = {"name": match.name, "path": relative}
            if self.config.read_contents:
                entry["text"] = read_text_file(match, field="config.pattern")
            files.append(entry)
            paths.append(relative)
            ctx.check_cancelled()
        if not matches:
            ctx.log(f"no file in {folder} matches {self.config.pattern!r}", "warning")
        return {"files": files, "paths": paths, "count": len(files)}


# --- web page --------------------------------------------------------------------------------

MAX_PAGE_BYTES = 10 * MEGABYTE
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_DROP = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "head")
_BLOCKS = (
    "address", "article", "aside", "blockquote", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tr",
    "ul", "caption", "title",
)  # fmt: skip


def html_to_text(html: bytes | str, encoding: str | None = None) -> tuple[str, str]:
    """(title, readable text) of an HTML page: scripts, styles and markup removed, one block per line."""
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(html, "html.parser", from_encoding=encoding if isinstance(html, bytes) else None)
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    for string in list(root.find_all(string=True)):
        if type(string) is NavigableString and not string.find_parent("pre"):
            string.replace_with(re.sub(r"\s+", " ", str(string)))
        elif type(string) is not NavigableString:  # comments, doctype, CDATA
            string.extract()
    for br in root.find_all("br"):
        br.replace_with("\n")
    for tag in root.find_all(_BLOCKS):
        if tag.name == "li":
            tag.insert(0, "- ")
        tag.insert_before("\n")
        tag.insert_after("\n")
    for cell in root.find_all(("td", "th")):
        cell.insert_after(" ")
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in root.get_text().splitlines()]
    kept: list[str] = []
    for index, line in enumerate(lines):
        if not line and kept and kept[-1].startswith("- "):
            following = next((later for later in lines[index + 1 :] if later), "")
            if following.startswith("- "):
                continue  # no blank line between the items of a list
        kept.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return title, text


class UrlConfig(NodeConfig):
    url: str = Field(
        default="https://",
        description="The page's address; may hold {{placeholders}} (values after the start are URL-encoded).",
        json_schema_extra={"ui": "template"},
    )
    timeout_seconds: float = Field(default=30.0, gt=0, le=600, description="Give up after this many seconds.")
    max_characters: int = Field(
        default=0, ge=0, description="Cut the text after this many characters (0 = keep everything)."
    )


class FetchPage(NodeType[UrlConfig]):
    type_id = "data.url"
    title = "Read web page"
    category = "Data"
    description = (
        "Fetches a web page and returns its readable text, with scripts, styles and markup removed "
        "(plain-text and JSON answers are returned as they are)."
    )
    config_model = UrlConfig
    outputs = (
        Port("text", DataType.TEXT, description="The page's readable text."),
        Port("title", DataType.TEXT, description="The page's title (empty when it has none)."),
    )
    dynamic_ports = "one text input per distinct {{placeholder}} in the url"
    cacheable = False

    def input_ports(self) -> list[Port]:
        return [Port(name, DataType.TEXT) for name in templates.placeholders(self.config.url)]

    async def run(self, inputs: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
        url = check_url(fill_url(self.config.url, inputs), "config.url")
        response = await fetch(ctx, "GET", url, timeout=self.config.timeout_seconds, max_bytes=MAX_PAGE_BYTES)
        if response.status >= 400:
            raise NodeError(
                f"{host_of(url)} answered HTTP {response.status} {response.reason} for {url}",
                field="config.url",
            )
        kind = response.content_type
        looks_html = response.content.lstrip()[:1] == b"<"
        if kind in _HTML_TYPES or (not kind and looks_html):
            title, text = html_to_text(response.content, response.charset)
        elif not kind or kind.startswith("text/") or kind.endswith(("json", "xml")):
            title, text = "", response.text
        else:
            raise NodeError(
                f"{url} is a {kind} file, not a web page or text; it cannot be read as text",
                field="config.url",
            )
        limit = self.config.max_characters
        if limit and len(text) > limit:
            ctx.log(f"the page's text was cut from {len(text)} to {limit} characters (max_characters)")
            text = text[:limit]
        if not text.strip():
            ctx.log(f"the page at {url} has no readable text", "warning")
        return {"text": text, "title": title}
