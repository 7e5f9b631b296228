"""The Settings dialog: keys go to the keychain (never a file), the no-keychain route, the connection
test against the fake server, and every other setting applied and saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from app.core import secrets
from app.core.settings import Settings
from app.ui.settings_dialog import SettingsDialog, install_settings_action, new_model_node_config
from app.ui.theme import apply_theme, is_dark
from tests.fakes.fake_llm import FakeLLMServer

KEY = "sk-test-Chainwright-0123456789abcdef"


def files_containing(folder: Path, needle: str) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            try:
                if needle.encode() in path.read_bytes():
                    found.append(path)
            except OSError:
                pass
    return found


@pytest.fixture
def dialog(qtbot: Any) -> SettingsDialog:
    dlg = SettingsDialog(Settings())
    qtbot.addWidget(dlg)
    return dlg


def test_a_saved_key_goes_to_the_keychain_and_never_into_a_file(
    dialog: SettingsDialog, qtbot: Any, memory_keyring: Any, isolated_user_dirs: Path
) -> None:
    section = dialog.sections["openai"]
    assert section.key_edit is not None and section.save_key is not None
    assert section.key_edit.echoMode() == section.key_edit.EchoMode.Password
    assert not section.save_key.isEnabled()  # nothing typed yet
    qtbot.keyClicks(section.key_edit, KEY)
    assert section.save_key.isEnabled()
    qtbot.mouseClick(section.save_key, Qt.MouseButton.LeftButton)
    assert memory_keyring.entries[("chainwright", "openai")] == KEY
    assert section.key_edit.text() == ""  # the field does not keep it
    assert "keychain" in section.key_status.text()
    assert section.remove_key is not None and section.remove_key.isEnabled()

    # A key typed but not saved explicitly is stored when OK is pressed, not dropped.
    anthropic = dialog.sections["anthropic"]
    assert anthropic.key_edit is not None
    anthropic.key_edit.setText(KEY + "-anthropic")
    dialog.sections["openai"].url_edit.setText("https://proxy.example.com/v1")
    assert dialog.apply()
    assert memory_keyring.entries[("chainwright", "anthropic")] == KEY + "-anthropic"

    saved = json.loads(Settings.path().read_text(encoding="utf-8"))
    assert saved["providers"]["openai"]["base_url"] == "https://proxy.example.com/v1"
    assert files_containing(isolated_user_dirs, KEY) == []  # not in settings, logs, caches, anything

    qtbot.mouseClick(section.remove_key, Qt.MouseButton.LeftButton)
    assert ("chainwright", "openai") not in memory_keyring.entries
    assert "No key yet" in section.key_status.text()


def test_the_dialog_says_where_a_key_comes_from(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    secrets.set_api_key("anthropic", KEY)
    dlg = SettingsDialog(Settings())
    qtbot.addWidget(dlg)
    assert "environment variable OPENAI_API_KEY" in dlg.sections["openai"].key_status.text()
    assert "keychain" in dlg.sections["anthropic"].key_status.text()
    assert dlg.sections["ollama"].key_edit is None  # Ollama needs no key
    assert dlg.keychain_banner.isHidden()


def test_without_a_keychain_the_dialog_shows_the_environment_route(
    qtbot: Any, isolated_user_dirs: Path
) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # the memory_keyring fixture restores it
    assert not secrets.keyring_available()
    dlg = SettingsDialog(Settings())
    qtbot.addWidget(dlg)
    banner = dlg.keychain_banner
    assert not banner.isHidden()
    assert "No system keychain" in banner.text()
    assert "OPENAI_API_KEY" in banner.text() and "ANTHROPIC_API_KEY" in banner.text()
    section = dlg.sections["openai"]
    assert section.key_edit is not None and not section.key_edit.isEnabled()
    assert section.save_key is not None and not section.save_key.isEnabled()
    assert "OPENAI_API_KEY" in section.key_status.text()
    # Even forced, a key is refused with the reason, and nothing is written anywhere.
    section.key_edit.setText(KEY)
    assert section.store_key() is False
    assert "environment variable" in section.key_status.text()
    assert dlg.apply()
    assert files_containing(isolated_user_dirs, KEY) == []


def test_test_connection_lists_the_servers_models_with_the_typed_key(
    dialog: SettingsDialog, qtbot: Any
) -> None:
    with FakeLLMServer(key=KEY, models=("fake-small", "fake-large", "fake-xl")) as server:
        section = dialog.sections["openai"]
        section.url_edit.setText(server.base_url_openai)
        assert section.key_edit is not None
        section.key_edit.setText(KEY)  # typed, not saved yet: the test uses it
        dialog.default_provider.setCurrentIndex(dialog.default_provider.findData("openai"))
        qtbot.mouseClick(section.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not section.testing, timeout=20000)
        assert section.test_result.text().startswith("✓ Connected: 3 models"), section.test_result.text()
        request = server.requests[-1]
        assert request.method == "GET" and request.path.endswith("/models")
        assert request.api_key == KEY
        models = [dialog.default_model.itemText(i) for i in range(dialog.default_model.count())]
        assert {"fake-small", "fake-large", "fake-xl"} <= set(models)

        section.key_edit.setText("sk-wrong-0000000000000000")
        qtbot.mouseClick(section.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not section.testing, timeout=20000)
        text = section.test_result.text()
        assert text.startswith("✗") and "sk-wrong" not in text


def test_test_connection_reports_an_unreachable_server(dialog: SettingsDialog, qtbot: Any) -> None:
    section = dialog.sections["ollama"]
    with FakeLLMServer() as server:
        url = server.base_url_openai
    section.url_edit.setText(url)  # the server is gone: nothing listens there now
    qtbot.mouseClick(section.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not section.testing, timeout=30000)
    assert section.test_result.text().startswith("✗")


def test_every_setting_is_applied_and_saved(qtbot: Any, tmp_path: Path) -> None:
    settings = Settings()
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    model_file = tmp_path / "tiny.gguf"
    model_file.write_bytes(b"GGUF")
    dlg.default_provider.setCurrentIndex(dlg.default_provider.findData("anthropic"))
    dlg.default_model.setEditText("claude-test")
    dlg.local_path.setText(str(model_file))
    assert dlg.local_file.isChecked()
    assert dlg.local_path_status.text().startswith("✓")
    dlg.cache_size.setValue(64)
    dlg.autosave.setValue(30)
    dlg.theme.setCurrentIndex(dlg.theme.findData("dark"))
    dlg.sections["ollama"].url_edit.setText("http://127.0.0.1:11434/v1")
    app = QApplication.instance()
    try:
        assert dlg.apply()
        assert is_dark()
    finally:
        apply_theme(app, "light")
    assert settings.default_provider == "anthropic" and settings.default_model == "claude-test"
    assert settings.local_model == str(model_file)
    assert (settings.cache_max_mb, settings.autosave_seconds, settings.theme) == (64, 30, "dark")
    loaded = Settings.load()
    assert (
        loaded.local_model == str(model_file)
        and loaded.provider("ollama").base_url == "http://127.0.0.1:11434/v1"
    )
    assert loaded.provider("openai").base_url is None

    again = SettingsDialog(loaded)
    qtbot.addWidget(again)
    assert again.local_path.text() == str(model_file) and again.autosave.value() == 30
    again.local_builtin.setChecked(True)
    again.apply()
    assert Settings.load().local_model == "smollm2-135m"


def test_clear_cache_empties_the_result_cache(dialog: SettingsDialog) -> None:
    from app.core.cache import Cache, default_cache_path

    with Cache(default_cache_path()) as cache:
        assert cache.put("k" * 64, "model.chat", {"text": "cached answer"})
    assert dialog.cache_stats()["entries"] == 1
    dialog.clear_cache()
    assert dialog.cache_stats()["entries"] == 0
    assert "cleared" in dialog.cache_usage.text()


def test_a_settings_file_that_could_not_be_read_is_only_replaced_on_ok(qtbot: Any) -> None:
    Settings.path().parent.mkdir(parents=True, exist_ok=True)
    Settings.path().write_text("{broken", encoding="utf-8")
    settings = Settings.load()
    assert settings.load_problem
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    assert dlg.findChild(type(dlg.keychain_banner), "loadProblem") is not None
    dlg.reject()
    assert Settings.path().read_text(encoding="utf-8") == "{broken"
    dlg.apply()
    assert Settings.load().load_problem is None


def test_edit_menu_gets_a_settings_action(window: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    action = install_settings_action(window)
    edit = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Edit")
    assert action in edit.actions()
    assert action.shortcuts() and not action.shortcuts()[0].isEmpty()
    opened: list[SettingsDialog] = []

    def fake_exec(self: SettingsDialog) -> int:
        opened.append(self)
        self.autosave.setValue(45)
        self.accept()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SettingsDialog, "exec", fake_exec)
    applied: list[int] = []
    window.apply_settings = lambda: applied.append(window.settings.autosave_seconds)  # the window's hook
    action.trigger()
    assert applied == [45]
    assert opened and opened[0].settings is window.settings
    assert window.settings.autosave_seconds == 45
    assert "Settings saved" in window.statusBar().currentMessage()


def test_new_model_nodes_take_the_default_provider_and_model() -> None:
    settings = Settings(default_provider="openai", default_model="gpt-test")
    config = new_model_node_config({"provider": "local", "model": "", "temperature": 0.2}, settings)
    assert config == {"provider": "openai", "model": "gpt-test", "temperature": 0.2}
    assert new_model_node_config({}, Settings())["provider"] == "local"
    from nodes.model import ChatConfig

    ChatConfig.model_validate(config)  # a valid model.chat config
