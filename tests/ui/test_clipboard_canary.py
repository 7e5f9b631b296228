"""A key in the keychain never reaches the clipboard (copy is workflow JSON, which holds no key)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from app.core import secrets
from app.ui.main_window import MainWindow
from tests.core.test_secret_canary import CANARY, hits
from tests.ui.conftest import load


def test_copying_nodes_never_copies_a_key(window: MainWindow, memory_keyring) -> None:
    secrets.set_api_key("openai", CANARY)
    assert secrets.get_api_key("openai") == CANARY
    doc = load(window)
    window.editor.scene.select(list(doc.nodes))
    window.act_copy.trigger()
    data = QGuiApplication.clipboard().mimeData()
    blobs = [data.text().encode(), *(bytes(data.data(fmt)) for fmt in data.formats())]
    assert blobs[0].startswith(b"{")
    assert [form for blob in blobs for form in hits(blob)] == []
