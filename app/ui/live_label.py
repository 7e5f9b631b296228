"""Labels whose text changes several times a second while a run goes on (totals, clocks).

A `QLabel` asks for a new layout on every `setText`, and Qt passes that request up through every
parent to the main window (each layout that runs asks its own parent again), whether or not any
size changed: a few milliseconds of layout per update in a full window, in the frames where eight
nodes stream. Two ways to stop it:

* `LiveLabel` keeps a fixed size that only grows (Qt does not pass a fixed-size widget's requests
  on); `allow_shrink` lets it fit its text again. For the status bar's totals.
* `LayoutFence` holds a label that takes its width from the layout (the run panel's headline, the
  inspector's status line): the label's requests stop at the fence, which asks for a new layout
  only when the height the label needs has changed (a wrapped line more or less).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


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


class LayoutFence(QWidget):
    """Holds one label without a layout of its own, so the label's layout requests end here. Its
    width comes from the parent layout (a long line is cut, not widening the window); its height
    follows the label's, and only a change of that height is passed on."""

    def __init__(self, label: QLabel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        label.setParent(self)
        policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(label.hasHeightForWidth())
        self.setSizePolicy(policy)
        self._height = self._wanted_height(max(self.width(), 1))

    def _wanted_height(self, width: int) -> int:
        label = self.label
        if label.hasHeightForWidth():
            return max(label.heightForWidth(width), label.minimumSizeHint().height())
        return label.sizeHint().height()

    def sizeHint(self) -> QSize:
        return QSize(self.label.sizeHint().width(), self._height)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.label.minimumSizeHint().height())

    def hasHeightForWidth(self) -> bool:
        return self.label.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:
        return self._wanted_height(width)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # posted by the label's new text
            height = self._wanted_height(max(self.width(), 1))
            if height != self._height:
                self._height = height
                self.updateGeometry()
            return True
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.label.setGeometry(self.rect())
        height = self._wanted_height(max(self.width(), 1))
        if height != self._height:  # a new width wraps the text into more or fewer lines
            self._height = height
            self.updateGeometry()
