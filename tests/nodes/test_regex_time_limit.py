"""User regular expressions cannot hang a run: text.regex and logic.if (matches) search in a worker
process that is killed at the node's time limit (nodes/_regex.py), in the app and in exported
scripts alike. No assertion here is about how long anything took."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.export import export_script
from app.core.model import workflow_from_document
from nodes import _regex
from nodes._regex import DEFAULT_TIMEOUT_SECONDS, RegexWorker, find_matches
from nodes.text import regex_extract
from tests.core.workflows import document, edge, node
from tests.fakes.isolated_python import isolated_site, run_isolated
from tests.nodes.helpers import make_context, node_error, node_type, run_node
from tests.nodes.test_export_equivalence import assert_same, single

#: Exponential backtracking: each extra "a" doubles the work, and the final "b" makes it fail.
RUNAWAY = r"(a+)+$"
RUNAWAY_TEXT = "a" * 60 + "b"


def timeout_message(pattern: str, seconds: str, length: int) -> str:
    return (
        f"the pattern {pattern!r} took longer than {seconds} s on a {length:,}-character text and was "
        "stopped; simplify it (nested repetition such as (a+)+ can backtrack exponentially) or raise "
        "timeout_seconds"
    )


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[RegexWorker]:
    """Every worker a search takes (from the pool or new), in order."""
    taken: list[RegexWorker] = []
    take = RegexWorker.take.__func__  # type: ignore[attr-defined]

    def spy(cls: type[RegexWorker]) -> RegexWorker:
        worker = take(cls)
        taken.append(worker)
        return worker

    monkeypatch.setattr(RegexWorker, "take", classmethod(spy))
    return taken


# --- the limit -------------------------------------------------------------------------------


def test_a_runaway_pattern_fails_the_regex_node_naming_pattern_and_limit(workers: list[RegexWorker]):
    error = node_error("text.regex", {"pattern": RUNAWAY, "timeout_seconds": 0.2}, {"text": RUNAWAY_TEXT})
    assert error.message == timeout_message(RUNAWAY, "0.2", 61)
    assert error.field == "config.pattern"
    assert workers[-1].process.poll() is not None  # the search was killed, not left running


def test_a_runaway_pattern_fails_the_if_node(workers: list[RegexWorker]):
    config = {"operator": "matches", "compare_to": RUNAWAY, "timeout_seconds": 0.2, "ignore_case": False}
    error = node_error("logic.if", config, {"value": "a" * 12_000 + "b"})
    assert error.message == timeout_message(RUNAWAY, "0.2", 12_001)
    assert error.field == "config.compare_to"
    assert workers[-1].process.poll() is not None


def test_after_a_timeout_the_next_search_works_and_idle_workers_are_reused(workers: list[RegexWorker]):
    with pytest.raises(Exception, match="took longer than"):
        regex_extract(RUNAWAY_TEXT, RUNAWAY, timeout_seconds=0.1)
    first = regex_extract("a1 b22", r"[a-z](\d+)")
    second = regex_extract("a1 b22", r"[a-z](\d+)")
    assert first == second == {"match": "1", "matches": ["1", "22"], "groups": {"1": "1"}, "found": True}
    killed, reused, again = workers[-3:]
    assert killed.process.poll() is not None
    assert reused is again and reused.process.poll() is None  # one process served both searches


def test_searches_in_several_threads_at_once():
    results: dict[int, Any] = {}

    def search(index: int) -> None:
        results[index] = regex_extract(f"n={index};" * 3, r"n=(\d+)")["matches"]

    threads = [threading.Thread(target=search, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {index: [str(index)] * 3 for index in range(6)}


def test_what_the_worker_reports():
    found = find_matches("x=1 y=", r"(?P<name>\w)=(\d)?", first_only=False)
    assert found == {"groups": 2, "names": {"name": 1}, "matches": [["x=1", "x", "1"], ["y=", "y", None]]}
    assert find_matches("x=1 y=2", r"\w=\d", first_only=True)["matches"] == [["x=1"]]
    # Texts that JSON handles with care reach the worker and come back as they were.
    odd = "line\nbreak \u2028 \x00 \ud800 🙂 हिन्दी"
    assert find_matches(odd, r"(?s).+")["matches"] == [[odd]]


def test_unicode_words_are_re_words():
    """The engine is the standard library's `re` (as in exported scripts): combining marks are not
    word characters, so `\\w+` splits "हिन्दी" where the `regex` package would not."""
    assert regex_extract("हिन्दी", r"\w+")["matches"] == ["ह", "न", "द"]


# --- cancelling ------------------------------------------------------------------------------


def test_cancelling_the_task_ends_the_search(workers: list[RegexWorker]):
    regex = node_type("text.regex").from_config({"pattern": RUNAWAY, "timeout_seconds": 600})
    ctx, _ = make_context()

    async def scenario() -> None:
        task = asyncio.ensure_future(regex.run({"text": RUNAWAY_TEXT}, ctx))
        while not workers:
            await asyncio.sleep(0.01)
        task.cancel()
        ctx.cancel_event.set()  # what the executor's cancel() does besides cancelling the task
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())  # returns once the search's thread has ended, so its worker was killed
    assert workers[0].process.poll() is not None


def test_the_cancel_event_stops_the_if_node(workers: list[RegexWorker]):
    config = {"operator": "matches", "compare_to": RUNAWAY, "timeout_seconds": 600}
    condition = node_type("logic.if").from_config(config)
    ctx, _ = make_context()

    def cancel_once_searching() -> None:
        while not workers:
            threading.Event().wait(0.01)
        ctx.cancel_event.set()

    threading.Thread(target=cancel_once_searching, daemon=True).start()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(condition.run({"value": RUNAWAY_TEXT}, ctx))
    assert workers[0].process.poll() is not None


def test_the_shared_function_reports_a_stop_as_a_node_error():
    stop = threading.Event()
    stop.set()
    with pytest.raises(Exception, match="stopped: the run was cancelled"):
        find_matches(RUNAWAY_TEXT, RUNAWAY, timeout_seconds=600, stop=stop)


# --- the config ------------------------------------------------------------------------------


def test_old_files_stay_valid_and_the_limit_is_checked():
    regex = node_type("text.regex").parse_config({"pattern": r"\d+"})
    condition = node_type("logic.if").parse_config({"operator": "matches", "compare_to": "x"})
    assert regex.timeout_seconds == condition.timeout_seconds == DEFAULT_TIMEOUT_SECONDS
    for bad in (0, -1, 601, "soon"):
        with pytest.raises(ValidationError, match="timeout_seconds"):
            node_type("text.regex").parse_config({"pattern": "x", "timeout_seconds": bad})
        with pytest.raises(ValidationError, match="timeout_seconds"):
            node_type("logic.if").parse_config({"operator": "matches", "timeout_seconds": bad})


def test_patterns_are_still_checked_when_the_file_is_read():
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        node_type("text.regex").parse_config({"pattern": "(a+"})
    with pytest.raises(ValidationError, match="compare_to is not a valid regular expression"):
        node_type("logic.if").parse_config({"operator": "matches", "compare_to": "(a+"})


def test_an_unusual_limit_and_a_normal_match():
    ran = run_node("text.regex", {"pattern": r"b+", "timeout_seconds": 0.5}, {"text": "abbbc"})
    assert ran.outputs == {"match": "bbb", "matches": ["bbb"], "groups": {}, "found": True}


# --- exported scripts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_id", "config", "feeds"),
    [
        ("text.regex", {"pattern": RUNAWAY, "timeout_seconds": 0.2}, {"text": RUNAWAY_TEXT}),
        (
            "logic.if",
            {"operator": "matches", "compare_to": RUNAWAY, "timeout_seconds": 0.2},
            {"value": RUNAWAY_TEXT},
        ),
        ("text.regex", {"pattern": r"\w+", "timeout_seconds": 3}, {"text": "हिन्दी भाषा ไทย"}),
        ("logic.if", {"operator": "matches", "compare_to": r"^\w+$"}, {"value": "हिन्दी"}),
    ],
    ids=["regex runaway", "if runaway", "regex unicode", "if unicode"],
)
def test_the_script_fails_or_matches_as_the_app_does(
    type_id: str, config: dict[str, Any], feeds: dict[str, Any], tmp_path: Path
):
    assert_same(single(type_id, config, feeds), feeds, tmp_path)


def test_the_script_writes_the_limit_only_when_it_is_not_the_default():
    def source(limit: float | None) -> str:
        config: dict[str, Any] = {"pattern": "x"}
        if limit is not None:
            config["timeout_seconds"] = limit
        return export_script(workflow_from_document(single("text.regex", config, {"text": "x"})))

    assert "timeout_seconds=" not in source(None).split("def run(", 1)[1]
    assert "timeout_seconds=0.25" in source(0.25).split("def run(", 1)[1]


def test_a_script_stops_a_runaway_pattern_in_a_python_without_packages(tmp_path: Path):
    doc = document(
        [
            node("text", "io.input", {"name": "text"}),
            node("find", "text.regex", {"pattern": RUNAWAY, "timeout_seconds": 0.2}, 200),
            node("found", "io.output", {"name": "found"}, 400),
        ],
        [edge("text", "value", "find", "text"), edge("find", "found", "found", "value")],
    )
    script = tmp_path / "flow.py"
    script.write_text(export_script(workflow_from_document(doc), script_path=script), encoding="utf-8")
    site = isolated_site(("httpx",))
    failed = run_isolated(script, site, ["--input", f"text={RUNAWAY_TEXT}"], {})
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == f"error: {timeout_message(RUNAWAY, '0.2', 61)}"
    matched = run_isolated(script, site, ["--input", "text=aaa"], {})
    assert matched.returncode == 0, matched.stderr
    assert json.loads(matched.stdout) == {"found": True}


def test_the_worker_program_uses_only_the_standard_library():
    import ast
    import sys

    tree = ast.parse(_regex.REGEX_WORKER)
    imported = {alias.name for item in ast.walk(tree) if isinstance(item, ast.Import) for alias in item.names}
    assert imported <= set(sys.stdlib_module_names)
