"""The quick-add search (no Qt)."""

from __future__ import annotations

from app.core.registry import default_registry
from app.ui.fuzzy import Entry, search, subsequence_score
from app.ui.palette import catalogue_entries


def test_subsequence_prefers_word_starts_and_runs() -> None:
    assert subsequence_score("cm", "chat model") is not None
    assert subsequence_score("xq", "chat model") is None
    assert subsequence_score("cha", "chat model") > subsequence_score("cha", "a chair of bach")


def test_search_matches_every_word_in_title_category_type_or_description() -> None:
    entries = catalogue_entries(default_registry())
    assert search("chat model", entries)[0].key == "model.chat"
    assert search("templ", entries)[0].key == "prompt.template"
    assert search("tool.py", entries)[0].key == "tool.python"
    assert search("http", entries)[0].key == "tool.http"
    by_description = [e.key for e in search("placeholders", entries)]
    assert "prompt.template" in by_description
    assert search("zzzz", entries) == []
    assert len(search("", entries)) == len(entries)


def test_ties_keep_catalogue_order() -> None:
    entries = [Entry("a", "Alpha"), Entry("b", "Alpha")]
    assert [e.key for e in search("alpha", entries)] == ["a", "b"]
