"""The restricted-mode banner shown above the canvas for a workflow this computer did not write."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

TEXT = (
    "<b>Restricted mode.</b> This workflow was not saved by Chainwright on this computer, or it changed "
    "outside the app. Until you trust it, runs use no Python code nodes, read no files outside its "
    "folder, reach no local or private network addresses and use no custom model servers."
)


class TrustBanner(QFrame):
    trust_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("trustBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#trustBanner { background: #fff4ce; border: 1px solid #e0c060; }"
            "#trustBanner QLabel { color: #3a2f00; }"
        )
        self.label = QLabel(TEXT)
        self.label.setWordWrap(True)
        self.button = QPushButton("Trust this workflow")
        self.button.setObjectName("trustButton")
        self.button.setToolTip(
            "Only if you know where it comes from: trusted workflows may run code with your rights"
        )
        self.button.clicked.connect(self.trust_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        self.hide()
