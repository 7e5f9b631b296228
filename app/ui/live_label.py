"""Labels whose text changes several times a second while a run goes on (totals, clocks).

A plain `QLabel` asks its parent to lay out again on every `setText`, and when its size hint
changes the request climbs to the main window: ~3 ms of layout per update in a full window, in
the frames where eight nodes stream. A `LiveLabel` keeps a fixed size that only grows, so most
updates repaint the label and nothing else; `allow_shrink` (at the start of a run) lets it fit
its text again.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel, QWidget


class LiveLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._width = 0
        # Measures the text: the label's own size hint never drops below its (fixed) minimum.
        self._ruler = QLabel()

    def setText(self, text: str) -> None:  # type: ignore[override]
        if text == self.text():
            return
        super().setText(text)
        hint = self._text_size()
        # A fixed size (minimum == maximum) is what stops Qt from passing the change upwards.
        if hint.width() > self._width or hint.height() != self.maximumHeight():
            self._width = max(self._width, hint.width())
            self.setFixedSize(self._width, hint.height())

    def allow_shrink(self) -> None:
        """Fit the current text again (the next updates grow from there)."""
        hint = self._text_size()
        self._width = hint.width()
        self.setFixedSize(hint)

    def _text_size(self) -> QSize:
        ruler = self._ruler
        ruler.setFont(self.font())
        ruler.setTextFormat(self.textFormat())
        ruler.setContentsMargins(self.contentsMargins())
        ruler.setText(self.text())
        return ruler.sizeHint()
