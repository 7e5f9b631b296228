"""Data sources: files, folders, CSV tables, web pages and inline text."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from app.core import templates
from app.core.sdk import NodeConfig, NodeError, NodeType, Port, RunContext
from app.core.values import DataType
from nodes._common import MEGABYTE, read_text_file, resolve_readable
from nodes._http import Response, check_url, fetch, fetch_blocking, fill_url, host_of


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

    def export(self, code: Any) -> None:
        if not self.config.path.strip():
            code.refuse("no file chosen (config.path)")
        code.assign("text", code.call(read_text_file, code.path(self.config.path)))


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

    def export(self, code: Any) -> None:
        code.assign("text", self.config.text)


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
        whole = number.is_integer() and re.fullmatch(r"\s*[+-]?\d+\s*", value)
        return int(number) if whole else number
    return value


def parse_csv(
    text: str,
    delimiter: str = "auto",
    has_header: bool = True,
    convert_numbers: bool = False,
    where: str = "",
) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) of a CSV text; NodeError naming the line for a row of the wrong length."""
    if not text.strip():
        return [], []
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
    if has_header:
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
        cells = zip(columns, record, strict=True)
        rows.append({name: _cell(value, convert_numbers) for name, value in cells})
    return columns, rows


def read_csv(
    text: str | None = None,
    path: Path | None = None,
    *,
    delimiter: str = "auto",
    has_header: bool = True,
    convert_numbers: bool = False,
) -> dict[str, Any]:
    """The rows ({column: value}), columns and row count of CSV text, or of the file at `path`."""
    if text is not None:
        where = "the connected CSV text"
    elif path is not None:
        text, where = read_text_file(path), str(path)
    else:
        raise NodeError("no CSV file chosen and no CSV text connected", field="config.path")
    columns, rows = parse_csv(text, delimiter, has_header, convert_numbers, where)
    return {"rows": rows, "columns": columns, "count": len(rows)}


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
        config = self.config
        path = None
        if "text" not in inputs and config.path.strip():
            path = resolve_readable(ctx, config.path)
        options = {"delimiter": config.delimiter, "has_header": config.has_header}
        return read_csv(inputs.get("text"), path, **options, convert_numbers=config.convert_numbers)

    def export(self, code: Any) -> None:
        config = self.config
        path = code.path(config.path) if config.path.strip() else None
        text = code.input_or("text", None) if code.connected("text") else None
        if text is None and path is None:
            code.refuse("no CSV file chosen and no CSV text connected (config.path)")
        read = code.call(
            read_csv,
            text=text,
            path=path,
            delimiter=config.delimiter,
            has_header=config.has_header,
            convert_numbers=config.convert_numbers,
        )
        code.assign_outputs(read)


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
        config = self.config
        folder = resolve_readable(ctx, config.path)

        def check(path: Path) -> None:
            if ctx.restricted:
                resolve_readable(ctx, str(path.resolve()), field="config.pattern")
            ctx.check_cancelled()

        found = read_folder(folder, config.pattern, config.read_contents, config.max_files, check=check)
        if not found["count"]:
            ctx.log(f"no file in {folder} matches {config.pattern!r}", "warning")
        return found

    def export(self, code: Any) -> None:
        config = self.config
        read = code.call(
            read_folder,
            code.path(config.path),
            pattern=config.pattern,
            read_contents=config.read_contents,
            max_files=config.max_files,
        )
        code.assign_outputs(read)


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def read_folder(
    folder: Path,
    pattern: str = "*.txt",
    read_contents: bool = True,
    max_files: int = 100,
    *,
    check: Callable[[Path], None] | None = None,
) -> dict[str, Any]:
    """The files of a folder that match a glob pattern, sorted by path, hidden ones left out:
    {"files": [{name, path, text}], "paths": [...], "count": n}, paths relative to the folder."""
    if not folder.exists():
        raise NodeError(f"folder not found: {folder}", field="config.path")
    if not folder.is_dir():
        raise NodeError(f"{folder} is a file, not a folder", field="config.path")
    try:
        matches = sorted(
            (p for p in folder.glob(pattern) if p.is_file()),
            key=lambda p: p.relative_to(folder).as_posix(),
        )
    except (ValueError, OSError) as exc:
        message = f"the pattern {pattern!r} cannot be used: {exc}"
        raise NodeError(message, field="config.pattern") from None
    matches = [p for p in matches if not _hidden(p.relative_to(folder))]
    if len(matches) > max_files:
        raise NodeError(
            f"{len(matches)} files in {folder} match {pattern!r}; at most {max_files} "
            "are read (raise max_files or narrow the pattern)",
            field="config.max_files",
        )
    files, paths = [], []
    for match in matches:
        if check is not None:
            check(match)
        relative = match.relative_to(folder).as_posix()
        entry: dict[str, Any] = {"name": match.name, "path": relative}
        if read_contents:
            entry["text"] = read_text_file(match, field="config.pattern")
        files.append(entry)
        paths.append(relative)
    return {"files": files, "paths": paths, "count": len(files)}


# --- web page --------------------------------------------------------------------------------

MAX_PAGE_BYTES = 10 * MEGABYTE
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_DROP = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "head",
)
_BLOCKS = (
    "address", "article", "aside", "blockquote", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tr",
    "ul", "caption", "title",
)  # fmt: skip


#: Elements that have no content and no end tag.
_VOID = frozenset({
    "area", "base", "basefont", "bgsound", "br", "col", "command", "embed", "frame", "hr", "image",
    "img", "input", "isindex", "keygen", "link", "menuitem", "meta", "nextid", "param", "source",
    "spacer", "track", "wbr",
})  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def decode_html(data: bytes, declared: str | None = None) -> str:
    """The text of a page: in its declared charset, else by its byte-order mark, its
    <meta charset>, UTF-8, Windows-1252 — the first that decodes."""
    candidates = [declared] if declared else []
    for bom, name in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            candidates.append(name)
    meta = _META_CHARSET.search(data[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii", "ignore"))
    for name in [*candidates, "utf-8", "windows-1252"]:
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


class HtmlTree(HTMLParser):
    """A page as nested lists, [tag, child, …], with text as strings — built the way
    BeautifulSoup's "html.parser" builds it: an end tag closes the nearest open element of its
    name (and those inside it); an end tag with nothing to close is ignored."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: list[Any] = [""]
        self.open: list[list[Any]] = [self.root]

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        element: list[Any] = [tag]
        self.open[-1].append(element)
        if tag not in _VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        self.open[-1].append([tag])

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].append(data)


def _find(
    root: list[Any],
    tag: str,
    skip: tuple[str, ...] = _DROP,
) -> tuple[list[Any] | None, bool]:
    """The first element named `tag` (not inside a skipped one) and whether it is inside a <pre>."""
    stack = [(child, False) for child in reversed(root[1:])]
    while stack:
        item, in_pre = stack.pop()
        if isinstance(item, str) or item[0] in skip:
            continue
        if item[0] == tag:
            return item, in_pre
        stack.extend((child, in_pre or item[0] == "pre") for child in reversed(item[1:]))
    return None, False


def _all_text(element: list[Any]) -> str:
    parts, stack = [], list(reversed(element[1:]))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        else:
            stack.extend(reversed(item[1:]))
    return "".join(parts)


def _readable_pieces(root: list[Any], in_pre: bool) -> list[str]:
    """The texts of `root` in order: whitespace collapsed outside <pre>, a line break around each
    block, "- " before a list item, a space after a table cell; scripts, styles … left out."""
    pieces: list[str] = []
    stack: list[tuple[Any, bool, bool]] = [(child, in_pre, False) for child in reversed(root[1:])]
    while stack:
        item, pre, mark = stack.pop()
        if isinstance(item, str):
            pieces.append(item if pre or mark else re.sub(r"\s+", " ", item))
            continue
        tag = item[0]
        if tag in _DROP:
            continue
        if tag == "br":
            pieces.append("\n")
            continue
        after = "\n" if tag in _BLOCKS else " " if tag in ("td", "th") else ""
        if tag in _BLOCKS:
            pieces.append("\n- " if tag == "li" else "\n")
        if after:
            stack.append((after, pre, True))
        stack.extend((child, pre or tag == "pre", False) for child in reversed(item[1:]))
    return pieces


def html_to_text(html: bytes | str, encoding: str | None = None) -> tuple[str, str]:
    """(title, readable text) of an HTML page: scripts, styles and markup removed, one block per line.

    Standard library only (html.parser), so exported scripts read pages exactly as the app does.
    """
    page = HtmlTree()
    page.feed(html if isinstance(html, str) else decode_html(html, encoding))
    page.close()
    title_element, _ = _find(page.root, "title", skip=())
    title = " ".join(_all_text(title_element).split()) if title_element else ""
    candidates = [_find(page.root, tag) for tag in ("main", "article", "body")]
    root, in_pre = next((found for found in candidates if found[0]), (page.root, False))
    lines = [
        re.sub(r"[ \t\u00a0]+", " ", line).strip()
        for line in "".join(_readable_pieces(root, in_pre)).splitlines()
    ]
    kept: list[str] = []
    for index, line in enumerate(lines):
        if not line and kept and kept[-1].startswith("- "):
            following = next((later for later in lines[index + 1 :] if later), "")
            if following.startswith("- "):
                continue  # no blank line between the items of a list
        kept.append(line)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return title, text


def page_text(
    response: Response,
    url: str,
    max_characters: int = 0,
    log: Callable[[str, str], None] | None = None,
) -> dict[str, str]:
    """The readable text and title of a fetched page (plain text and JSON as they are)."""
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
    if max_characters and len(text) > max_characters:
        if log is not None:
            log(
                f"the page's text was cut from {len(text)} to {max_characters} characters (max_characters)",
                "info",
            )
        text = text[:max_characters]
    if not text.strip() and log is not None:
        log(f"the page at {url} has no readable text", "warning")
    return {"text": text, "title": title}


def read_web_page(
    url: str,
    values: dict[str, Any] | None = None,
    *,
    timeout: float = 30.0,
    max_characters: int = 0,
) -> dict[str, str]:
    """Fetch a page and return its readable text and title (blocking: what scripts call)."""
    address = check_url(fill_url(url, values or {}), "config.url")
    response = fetch_blocking("GET", address, timeout=timeout, max_bytes=MAX_PAGE_BYTES)
    return page_text(response, address, max_characters)


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
        config = self.config
        url = check_url(fill_url(config.url, inputs), "config.url")
        response = await fetch(ctx, "GET", url, timeout=config.timeout_seconds, max_bytes=MAX_PAGE_BYTES)
        return page_text(response, url, config.max_characters, log=ctx.log)

    def export(self, code: Any) -> None:
        config = self.config
        ports = self.input_ports()
        values = [code.dict({port.name: code.input(port.name) for port in ports})] if ports else []
        read = code.call(
            read_web_page,
            config.url,
            *values,
            timeout=config.timeout_seconds,
            max_characters=config.max_characters,
        )
        code.assign_outputs(read)
