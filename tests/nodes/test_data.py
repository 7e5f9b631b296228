from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from nodes import _common
from tests.nodes.helpers import LoopbackServer, Reply, node_error, node_type, run_node

# --- data.file -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["notes.txt", "notes.md", "data.json", "table.csv"])
def test_file_reads_text_relative_to_the_workflow_folder(tmp_path: Path, name: str):
    (tmp_path / name).write_text("first line\nsecond ✓\n", encoding="utf-8")
    assert run_node("data.file", {"path": name}, tmp_path=tmp_path).outputs == {
        "text": "first line\nsecond ✓\n"
    }


def test_file_strips_a_utf8_byte_order_mark(tmp_path: Path):
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfhello")
    assert run_node("data.file", {"path": "bom.txt"}, tmp_path=tmp_path).outputs == {"text": "hello"}


def test_file_missing(tmp_path: Path):
    error = node_error("data.file", {"path": "nope.txt"}, tmp_path=tmp_path)
    assert error.message == f"file not found: {tmp_path / 'nope.txt'}" and error.field == "config.path"


def test_file_not_chosen_folder_or_binary(tmp_path: Path):
    assert node_error("data.file", {"path": ""}, tmp_path=tmp_path).message == "no file chosen"
    (tmp_path / "sub").mkdir()
    assert (
        node_error("data.file", {"path": "sub"}, tmp_path=tmp_path).message
        == f"{tmp_path / 'sub'} is a folder, not a file"
    )
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\x00")
    error = node_error("data.file", {"path": "image.png"}, tmp_path=tmp_path)
    assert (
        error.message
        == f"{tmp_path / 'image.png'} is not UTF-8 text (invalid byte at offset 0); save it as UTF-8 text"
    )


def test_file_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(_common, "MAX_FILE_BYTES", 1024)
    (tmp_path / "big.txt").write_text("x" * 3000)
    error = node_error("data.file", {"path": "big.txt"}, tmp_path=tmp_path)
    assert error.message == f"{tmp_path / 'big.txt'} is 2.9 KB; files up to 1.0 KB can be read"


def test_restricted_mode_reads_only_inside_the_workflow_folder(tmp_path: Path):
    inside = tmp_path / "flow"
    inside.mkdir()
    (tmp_path / "secret.txt").write_text("s")
    (inside / "ok.txt").write_text("fine")
    assert run_node("data.file", {"path": "ok.txt"}, tmp_path=inside, restricted=True).outputs == {
        "text": "fine"
    }
    error = node_error("data.file", {"path": "../secret.txt"}, tmp_path=inside, restricted=True)
    assert error.message.startswith("../secret.txt is outside the workflow's folder; an untrusted workflow")


# --- data.text -------------------------------------------------------------------------------


def test_text_gives_its_text():
    assert run_node("data.text", {"text": "Hello {{not a placeholder}}"}).outputs == {
        "text": "Hello {{not a placeholder}}"
    }


# --- data.csv --------------------------------------------------------------------------------


def test_csv_rows_as_objects(tmp_path: Path):
    (tmp_path / "t.csv").write_text('name,amount\nAda,3\n"Lovelace, A.",4.5\n\n')
    ran = run_node("data.csv", {"path": "t.csv"}, tmp_path=tmp_path)
    assert ran.outputs == {
        "rows": [{"name": "Ada", "amount": "3"}, {"name": "Lovelace, A.", "amount": "4.5"}],
        "columns": ["name", "amount"],
        "count": 2,
    }
    numbers = run_node("data.csv", {"path": "t.csv", "convert_numbers": True}, tmp_path=tmp_path).outputs[
        "rows"
    ]
    assert [row["amount"] for row in numbers] == [3, 4.5]


def test_csv_guesses_the_delimiter_and_reads_connected_text():
    ran = run_node("data.csv", {"has_header": False}, {"text": "a;b;c\nd;e;f\n"})
    assert ran.outputs["columns"] == ["column1", "column2", "column3"]
    assert ran.outputs["rows"][1] == {"column1": "d", "column2": "e", "column3": "f"}


def test_csv_row_of_the_wrong_length_names_the_line(tmp_path: Path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,4,5\n")
    error = node_error("data.csv", {"path": "bad.csv", "delimiter": ","}, tmp_path=tmp_path)
    assert (
        error.message
        == f"{tmp_path / 'bad.csv'}, line 3: the row has 3 values but there are 2 columns (a, b)"
    )


def test_csv_missing_file_and_nothing_chosen(tmp_path: Path):
    assert (
        node_error("data.csv", {"path": "none.csv"}, tmp_path=tmp_path).message
        == f"file not found: {tmp_path / 'none.csv'}"
    )
    assert node_error("data.csv", {}).message == "no CSV file chosen and no CSV text connected"


def test_csv_empty_and_duplicate_columns():
    assert run_node("data.csv", {}, {"text": "\n"}).outputs == {"rows": [], "columns": [], "count": 0}
    error = node_error("data.csv", {"delimiter": ","}, {"text": "a,a\n1,2\n"})
    assert error.message == "the connected CSV text: the column name 'a' appears twice in the header"


# --- data.folder -----------------------------------------------------------------------------


def make_folder(root: Path) -> Path:
    folder = root / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("bee")
    (folder / "a.txt").write_text("ay")
    (folder / "c.md").write_text("sea")
    (folder / ".hidden.txt").write_text("no")
    (folder / "sub" / "d.txt").write_text("dee")
    return folder


def test_folder_lists_and_reads_matching_files_sorted(tmp_path: Path):
    make_folder(tmp_path)
    ran = run_node("data.folder", {"path": "docs", "pattern": "*.txt"}, tmp_path=tmp_path)
    assert ran.outputs == {
        "files": [
            {"name": "a.txt", "path": "a.txt", "text": "ay"},
            {"name": "b.txt", "path": "b.txt", "text": "bee"},
        ],
        "paths": ["a.txt", "b.txt"],
        "count": 2,
    }
    deep = run_node(
        "data.folder", {"path": "docs", "pattern": "**/*.txt", "read_contents": False}, tmp_path=tmp_path
    )
    assert deep.outputs["paths"] == ["a.txt", "b.txt", "sub/d.txt"]
    assert "text" not in deep.outputs["files"][0]


def test_folder_errors(tmp_path: Path):
    make_folder(tmp_path)
    assert (
        node_error("data.folder", {"path": "nowhere"}, tmp_path=tmp_path).message
        == f"folder not found: {tmp_path / 'nowhere'}"
    )
    error = node_error("data.folder", {"path": "docs", "pattern": "**/*", "max_files": 2}, tmp_path=tmp_path)
    assert (
        error.message
        == f"4 files in {tmp_path / 'docs'} match '**/*'; at most 2 are read (raise max_files or narrow the pattern)"
    )
    with pytest.raises(ValidationError):
        node_type("data.folder").parse_config({"pattern": "/etc/*"})


def test_folder_without_matches_is_empty_with_a_warning(tmp_path: Path):
    make_folder(tmp_path)
    ran = run_node("data.folder", {"path": "docs", "pattern": "*.pdf"}, tmp_path=tmp_path)
    assert ran.outputs["count"] == 0
    assert ran.logs[-1][0] == "warning" and "no file" in ran.logs[-1][1]


# --- data.url --------------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title> The  Title </title><style>p{color:red}</style>
<script>var tracking = 1;</script></head>
<body><nav>Menu</nav><main><h1>Heading</h1>
<p>First   paragraph with a <a href="/x">link</a>
and a line break<br>here.</p>
<ul><li>one</li><li>two</li></ul><!-- a comment -->
<table><tr><td>cell 1</td><td>cell 2</td></tr></table></main></body></html>"""


def test_url_returns_readable_text_and_title(web: LoopbackServer):
    web.routes["/page"] = Reply(200, PAGE, {"Content-Type": "text/html; charset=utf-8"})
    ran = run_node("data.url", {"url": web.url("/page")})
    assert ran.outputs["title"] == "The Title"
    assert ran.outputs["text"] == (
        "Heading\n\nFirst paragraph with a link and a line break\nhere.\n\n- one\n- two\n\ncell 1 cell 2"
    )


def test_url_decodes_the_declared_charset(web: LoopbackServer):
    web.routes["/latin"] = Reply(
        200, "<p>café</p>".encode("latin-1"), {"Content-Type": "text/html; charset=iso-8859-1"}
    )
    assert run_node("data.url", {"url": web.url("/latin")}).outputs["text"] == "café"


def test_url_placeholders_and_plain_text(web: LoopbackServer):
    web.routes["/search"] = lambda request: Reply(200, request.path)
    ran = run_node("data.url", {"url": web.url("/search?q={{q}}")}, {"q": "fish & chips"})
    assert ran.outputs == {"text": "/search?q=fish%20%26%20chips", "title": ""}


def test_url_cut_to_max_characters(web: LoopbackServer):
    web.routes["/long"] = Reply(200, "abcdefghij")
    ran = run_node("data.url", {"url": web.url("/long"), "max_characters": 4})
    assert ran.outputs["text"] == "abcd"


def test_url_http_error(web: LoopbackServer):
    error = node_error("data.url", {"url": web.url("/missing")})
    assert (
        error.message
        == f"127.0.0.1:{web.url('').rsplit(':', 1)[1]} answered HTTP 404 Not Found for {web.url('/missing')}"
    )


def test_url_binary_content_and_bad_addresses(web: LoopbackServer):
    web.routes["/file.pdf"] = Reply(200, b"%PDF-1.4", {"Content-Type": "application/pdf"})
    error = node_error("data.url", {"url": web.url("/file.pdf")})
    assert (
        error.message
        == f"{web.url('/file.pdf')} is a application/pdf file, not a web page or text; it cannot be read as text"
    )
    assert (
        node_error("data.url", {"url": "ftp://example.org/x"}).message
        == "the address 'ftp://example.org/x' must start with http:// or https://"
    )
    assert node_error("data.url", {"url": "https://"}).message == "the address 'https://' has no host name"


def test_url_connection_refused():
    error = node_error("data.url", {"url": "http://127.0.0.1:9/"})
    assert error.message.startswith("could not connect to 127.0.0.1:9:")


def test_url_timeout(web: LoopbackServer):
    web.routes["/slow"] = Reply(200, "late", delay=1.0)
    error = node_error("data.url", {"url": web.url("/slow"), "timeout_seconds": 0.2})
    host = web.base.removeprefix("http://")
    assert error.message == f"no complete answer from {host} within 0.2 s (timeout_seconds)"


def test_url_json_is_returned_as_text(web: LoopbackServer):
    web.routes["/api"] = Reply.json({"a": 1})
    assert json.loads(run_node("data.url", {"url": web.url("/api")}).outputs["text"]) == {"a": 1}
