"""Syntax highlighting for the inspector's text editors: {{placeholders}}, Python and JSON."""

from __future__ import annotations

import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from app.core.templates import PLACEHOLDER
from app.ui.theme import is_dark


def _format(
    colour: str, *, bold: bool = False, italic: bool = False, background: str | None = None
) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(colour))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    if italic:
        fmt.setFontItalic(True)
    if background:
        fmt.setBackground(QColor(background))
    return fmt


class PlaceholderHighlighter(QSyntaxHighlighter):
    """Marks each `{{name}}` (exactly what becomes an input port) and, more faintly, double braces
    that are *not* placeholders (they stay as plain text)."""

    LOOSE = re.compile(r"\{\{.*?\}\}")

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        dark = is_dark()
        self.placeholder = _format(
            "#d7b8ff" if dark else "#5b2aa8", bold=True, background="#3d2b5c" if dark else "#eee4ff"
        )
        self.not_placeholder = _format("#a0a4ad" if dark else "#80858f", italic=True)

    def highlightBlock(self, text: str) -> None:
        for match in self.LOOSE.finditer(text):
            self.setFormat(match.start(), match.end() - match.start(), self.not_placeholder)
        for match in PLACEHOLDER.finditer(text):
            self.setFormat(match.start(), match.end() - match.start(), self.placeholder)


class PythonHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        dark = is_dark()
        self.rules: list[tuple[re.Pattern[str], QTextCharFormat, int]] = []
        keyword_format = _format("#ff8fb5" if dark else "#a3195b", bold=True)
        builtin_format = _format("#7cc7ff" if dark else "#005cc5")
        number_format = _format("#f2b36d" if dark else "#b35900")
        definition_format = _format("#8fe0a0" if dark else "#22863a", bold=True)
        decorator_format = _format("#d0a6ff" if dark else "#6f42c1")
        self.string_format = _format("#e6c07b" if dark else "#8a5a00")
        self.comment_format = _format("#8b949e" if dark else "#6a737d", italic=True)
        words = "|".join(sorted(keyword.kwlist + keyword.softkwlist, key=len, reverse=True))
        self.rules.append((re.compile(rf"\b(?:{words})\b"), keyword_format, 0))
        builtins = "print|len|range|str|int|float|bool|list|dict|set|tuple|min|max|sum|sorted|enumerate|zip|open|isinstance"
        self.rules.append((re.compile(rf"\b(?:{builtins})\b"), builtin_format, 0))
        self.rules.append(
            (re.compile(r"\b(?:0[xob][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?)\b"), number_format, 0)
        )
        self.rules.append((re.compile(r"\b(?:def|class)\s+([A-Za-z_]\w*)"), definition_format, 1))
        self.rules.append((re.compile(r"^\s*@[\w.]+"), decorator_format, 0))
        self.strings = re.compile(
            r"""(?:[rRbBfFuU]{0,2})("[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')"""
        )
        self.triple = re.compile(r'"""|\'\'\'')

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt, group in self.rules:
            for match in pattern.finditer(text):
                self.setFormat(match.start(group), match.end(group) - match.start(group), fmt)
        # strings and comments win over everything before them
        position = 0
        state = self.previousBlockState()
        if state in (1, 2):
            delimiter = '"""' if state == 1 else "'''"
            end = text.find(delimiter)
            if end < 0:
                self.setFormat(0, len(text), self.string_format)
                self.setCurrentBlockState(state)
                return
            self.setFormat(0, end + 3, self.string_format)
            position = end + 3
        self.setCurrentBlockState(0)
        while position < len(text):
            triple = self.triple.search(text, position)
            single = self.strings.search(text, position)
            hash_at = text.find("#", position)
            candidates = [m.start() for m in (triple, single) if m is not None]
            if hash_at >= 0:
                candidates.append(hash_at)
            if not candidates:
                break
            first = min(candidates)
            if hash_at == first:
                self.setFormat(hash_at, len(text) - hash_at, self.comment_format)
                break
            if triple is not None and triple.start() == first:
                delimiter = triple.group(0)
                end = text.find(delimiter, triple.end())
                if end < 0:
                    self.setFormat(first, len(text) - first, self.string_format)
                    self.setCurrentBlockState(1 if delimiter == '"""' else 2)
                    return
                self.setFormat(first, end + 3 - first, self.string_format)
                position = end + 3
                continue
            assert single is not None
            self.setFormat(single.start(), single.end() - single.start(), self.string_format)
            position = single.end()


class JsonHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        dark = is_dark()
        self.key = _format("#7cc7ff" if dark else "#005cc5")
        self.string = _format("#e6c07b" if dark else "#8a5a00")
        self.literal = _format("#ff8fb5" if dark else "#a3195b")
        self.number = _format("#f2b36d" if dark else "#b35900")
        self.pattern = re.compile(
            r'(?P<key>"(?:[^"\\]|\\.)*"\s*:)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<literal>\b(?:true|false|null)\b)'
            r"|(?P<number>-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)"
        )

    def highlightBlock(self, text: str) -> None:
        for match in self.pattern.finditer(text):
            kind = match.lastgroup or "string"
            self.setFormat(match.start(), match.end() - match.start(), getattr(self, kind))
