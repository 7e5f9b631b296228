"""Fuzzy search over the node catalogue (name, category, description, type id). No Qt here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Entry:
    key: str  # what choosing it yields (a type id, a node id, …)
    title: str
    category: str = ""
    description: str = ""
    extra: str = ""  # more searchable text (the type id)
    payload: Any = None


def subsequence_score(query: str, text: str) -> float | None:
    """Score `query` as an in-order subsequence of `text` (both lower case); None if it is not.
    Consecutive letters and letters at word starts score higher."""
    if not query:
        return 0.0
    score, position, run = 0.0, 0, 0
    for char in query:
        found = text.find(char, position)
        if found < 0:
            return None
        at_word_start = found == 0 or not text[found - 1].isalnum()
        run = run + 1 if found == position and position > 0 else 0
        score += 1.0 + (1.5 if at_word_start else 0.0) + run * 0.8 - min(found - position, 8) * 0.05
        position = found + 1
    return score


def token_score(token: str, entry: Entry) -> float | None:
    best: float | None = None
    fields: Sequence[tuple[str, float, bool]] = (
        (entry.title.lower(), 3.0, True),
        (entry.extra.lower(), 2.0, True),
        (entry.category.lower(), 1.5, False),
        (entry.description.lower(), 1.0, False),
    )
    for text, weight, fuzzy in fields:
        if not text:
            continue
        found = text.find(token)
        if found >= 0:
            start_bonus = 2.0 if found == 0 else (1.0 if not text[found - 1].isalnum() else 0.0)
            candidate = weight * (len(token) * 2.0 + start_bonus)
        elif fuzzy and len(token) > 1:
            sub = subsequence_score(token, text)
            candidate = weight * sub * 0.6 if sub is not None else None
        else:
            candidate = None
        if candidate is not None and (best is None or candidate > best):
            best = candidate
    return best


def search(query: str, entries: Iterable[Entry], limit: int | None = None) -> list[Entry]:
    """Entries matching every word of the query, best first; all of them (in order) for ''."""
    items = list(entries)
    tokens = query.lower().split()
    if not tokens:
        return items[:limit] if limit else items
    scored: list[tuple[float, int, Entry]] = []
    for order, entry in enumerate(items):
        total = 0.0
        for token in tokens:
            score = token_score(token, entry)
            if score is None:
                break
            total += score
        else:
            scored.append((-total, order, entry))
    scored.sort(key=lambda item: (item[0], item[1]))
    result = [entry for _, _, entry in scored]
    return result[:limit] if limit else result
