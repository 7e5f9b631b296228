"""`{{name}}` placeholders: plain text replacement, nothing is ever evaluated.

A placeholder is `{{`, optional spaces, an identifier, optional spaces, `}}`. Anything else between
double braces (`{{7*7}}`, `{{ x.y }}`, `{% raw %}`) is ordinary text and stays as written.
Substitution is a single pass: text inserted for one placeholder is never scanned again.

Standard library only, so exported scripts can share it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def placeholders(template: str) -> list[str]:
    """Distinct placeholder names in order of first appearance."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(template):
        seen.setdefault(match.group(1), None)
    return list(seen)


def fill(template: str, values: Mapping[str, Any], to_text: Callable[[Any], str] = str) -> str:
    """Replace every placeholder with `to_text(values[name])`; a missing name raises KeyError."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(name)
        return to_text(values[name])

    return PLACEHOLDER.sub(replace, template)
