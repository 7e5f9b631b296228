"""Settings: model providers (keys in the OS keychain, base URLs, a connection test), the default
provider and model for new model nodes, the local model, the result cache, autosave and theme.

Keys go to the system keychain only (`app.core.secrets`), the moment the user saves one; they are
never part of `Settings` and never written to a file. Where there is no keychain the dialog says
so and shows how to give the key through the environment variable instead. Everything else is
applied to the window's `Settings` object (shared by every window) and saved when OK is pressed.

`install_settings_action(window)` adds Edit ▸ Settings… (Preferences on macOS).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core import secrets
from app.core.settings import ProviderSettings, Settings

PROVIDER_LABELS = {
    "local": "Built-in local model (offline)",
    "openai": "OpenAI (or any OpenAI-compatible server)",
    "anthropic": "Anthropic",
    "ollama": "Ollama",
}
SHORT_LABELS = {"openai": "OpenAI", "anthropic": "Anthropic", "ollama": "Ollama", "local": "Local model"}
HOSTED = ("openai", "anthropic", "ollama")
BUILT_IN_MODEL = "smollm2-135m"
TEST_TIMEOUT_S = 20.0


def default_models() -> dict[str, str]:
    from nodes.model import DEFAULT_MODELS

    return dict(DEFAULT_MODELS)


def env_commands() -> tuple[list[str], str]:
    """The lines that set the key variables on this OS, and where to put them."""
    names = list(secrets.KEY_ENV.values())
    if sys.platform == "win32":
        return [f'setx {name} "your-key"' for name in names], (
            "Run these in a Command Prompt, then sign out and in again."
        )
    profile = "~/.zprofile" if sys.platform == "darwin" else "~/.profile"
    return [
        f'export {name}="your-key"' for name in names
    ], f"Put these lines in {profile}, then log in again."


def no_keychain_text() -> str:
    from html import escape

    lines, where = env_commands()
    code = "<br>".join(f"<code>{escape(line)}</code>" for line in lines)
    return (
        "<b>No system keychain was found on this computer</b>, so Chainwright cannot store API keys "
        "here (it never writes keys to a plain file). Give each key through its environment variable "
        f"instead:<br>{code}<br>{escape(where)} Then restart Chainwright; the status below each "
        "provider says when its key is found."
    )


def hint_label(text: str = "", name: str = "hint", muted: bool = True) -> QLabel:
    """A wrapping label that takes the whole width of its form row (a plain wrapping QLabel in a
    QFormLayout shrinks to a narrow column)."""
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class _Relay(QObject):
    """Carries a worker thread's result back to the GUI thread (queued signal)."""

    done = Signal(object)


class ProviderSection(QGroupBox):
    """One hosted provider: key (keychain), base URL and the connection test."""

    models_found = Signal(str, list)
    key_changed = Signal(str)

    def __init__(self, provider: str, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(SHORT_LABELS[provider], parent)
        self.provider = provider
        self.setObjectName(f"provider_{provider}")
        self.needs_key = provider not in secrets.KEYLESS
        self.key_env = secrets.KEY_ENV.get(provider, "")
        self.url_env = secrets.BASE_URL_ENV.get(provider, "")
        self._relay = _Relay(self)
        self._relay.done.connect(self._test_finished)
        self.testing = False

        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(4)
        grid.setHorizontalSpacing(8)
        label_align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        self.key_edit: QLineEdit | None = None
        self.save_key: QPushButton | None = None
        self.remove_key: QPushButton | None = None
        if self.needs_key:
            self.key_edit = QLineEdit()
            self.key_edit.setObjectName(f"key_{provider}")
            self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
            self.key_edit.setClearButtonEnabled(True)
            self.save_key = QPushButton("Save in Keychain")
            self.save_key.setObjectName(f"saveKey_{provider}")
            self.save_key.setToolTip("Store the key in the system keychain (never in a file)")
            self.save_key.clicked.connect(self.store_key)
            self.remove_key = QPushButton("Remove")
            self.remove_key.setObjectName(f"removeKey_{provider}")
            self.remove_key.setToolTip("Delete the key stored in the keychain")
            self.remove_key.clicked.connect(self.forget_key)
            row = QHBoxLayout()
            row.addWidget(self.key_edit, 1)
            row.addWidget(self.save_key)
            row.addWidget(self.remove_key)
            grid.addWidget(QLabel("API key:"), 0, 0, label_align)
            grid.addLayout(row, 0, 1)
            self.key_status = hint_label(name=f"keyStatus_{provider}", muted=False)
            grid.addWidget(self.key_status, 1, 1)
            self.key_edit.textChanged.connect(self._update_buttons)
        self.url_edit = QLineEdit(settings.provider(provider).base_url or "")
        self.url_edit.setObjectName(f"baseUrl_{provider}")
        self.url_edit.setPlaceholderText(secrets.DEFAULT_BASE_URLS[provider])
        self.url_edit.setClearButtonEnabled(True)
        grid.addWidget(QLabel("Base URL:"), 2, 0, label_align)
        grid.addWidget(self.url_edit, 2, 1)
        url_hint = hint_label(
            "Empty: the provider's own address"
            + (f" (or the {self.url_env} variable)" if self.url_env else "")
            + (". Keys are sent only to this address or the provider's own." if self.needs_key else ".")
        )
        grid.addWidget(url_hint, 3, 1)
        self.test_button = QPushButton("Test Connection")
        self.test_button.setObjectName(f"test_{provider}")
        self.test_button.setToolTip("Ask the server for its list of models")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = hint_label(name=f"testResult_{provider}", muted=False)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.test_result, 1)
        grid.addLayout(row, 4, 1)
        self.refresh_key_status()

    # -- keys ------------------------------------------------------------------------------------
    def key_source(self) -> str | None:
        return secrets.key_source(self.provider) if self.needs_key else None

    def refresh_key_status(self) -> None:
        if not self.needs_key or self.key_edit is None:
            return
        available = secrets.keyring_available()
        source = self.key_source()
        self.key_edit.setEnabled(available)
        if available:
            self.key_edit.setPlaceholderText(
                "Paste a new key to replace the stored one" if source == "keychain" else "Paste your API key"
            )
        else:
            self.key_edit.setPlaceholderText(f"No keychain: set {self.key_env} instead")
        if source == "keychain":
            text = "✓ Stored in the system keychain."
        elif source == "env":
            text = f"✓ From the environment variable {self.key_env}."
        elif available:
            text = f"No key yet: paste one and save it, or set {self.key_env}."
        else:
            text = f"No key: set {self.key_env} and restart Chainwright."
        self.key_status.setText(text)
        self._update_buttons()

    def _update_buttons(self) -> None:
        if self.key_edit is None or self.save_key is None or self.remove_key is None:
            return
        available = secrets.keyring_available()
        self.save_key.setEnabled(available and bool(self.key_edit.text().strip()))
        self.remove_key.setEnabled(available and self.key_source() == "keychain")

    def store_key(self) -> bool:
        """Save the typed key in the keychain (and clear the field). False (with the reason shown)
        when there is no keychain or it refused."""
        if self.key_edit is None:
            return False
        key = self.key_edit.text().strip()
        if not key:
            return False
        try:
            secrets.set_api_key(self.provider, key)
        except (secrets.NoKeychainError, secrets.SecretsError) as exc:
            self.key_status.setText(str(exc))
            return False
        self.key_edit.clear()
        self.refresh_key_status()
        self.key_changed.emit(self.provider)
        return True

    def forget_key(self) -> None:
        secrets.delete_api_key(self.provider)
        self.refresh_key_status()
        if self.key_source() == "env":
            self.key_status.setText(
                f"The stored key was removed; the key from {self.key_env} is still used "
                "(unset that variable to stop using it)."
            )
        self.key_changed.emit(self.provider)

    # -- connection test ---------------------------------------------------------------------------
    def test_connection(self) -> None:
        """List the provider's models in a worker thread, with the typed (unsaved) key and base URL."""
        if self.testing:
            return
        typed_key = self.key_edit.text().strip() if self.key_edit is not None else ""
        base_url = self.url_edit.text().strip() or None
        try:
            endpoint = secrets.resolve_endpoint(self.provider, None, base_url, api_key=typed_key or None)
        except ValueError as exc:
            self._show_result(False, str(exc))
            return
        self.testing = True
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Connecting to {endpoint.base_url} …")
        relay, provider = self._relay, self.provider

        def work() -> None:
            from app.core import llm
            from app.core.llm.types import Timeouts

            async def ask() -> list[str]:
                return await asyncio.wait_for(
                    llm.list_models(
                        provider,
                        base_url=endpoint.base_url,
                        api_key=endpoint.api_key,
                        policy=llm.NO_RETRY,
                        timeouts=Timeouts(connect=8.0, read=TEST_TIMEOUT_S, total=TEST_TIMEOUT_S),
                    ),
                    TEST_TIMEOUT_S + 2,
                )

            try:
                outcome: tuple[bool, Any] = (True, asyncio.run(ask()))
            except llm.LLMError as exc:
                outcome = (False, str(exc))
            except TimeoutError:
                outcome = (False, f"No answer from {endpoint.base_url} within {TEST_TIMEOUT_S:g} s.")
            except Exception as exc:  # report anything in words, never crash the dialog
                outcome = (False, f"{type(exc).__name__}: {exc}")
            with contextlib.suppress(RuntimeError):  # the dialog was closed meanwhile
                relay.done.emit(outcome)

        threading.Thread(target=work, name=f"chainwright-test-{provider}", daemon=True).start()

    def _test_finished(self, outcome: tuple[bool, Any]) -> None:
        self.testing = False
        self.test_button.setEnabled(True)
        ok, value = outcome
        if ok:
            models = list(value)
            shown = ", ".join(models[:4]) + (f" and {len(models) - 4} more" if len(models) > 4 else "")
            self._show_result(True, f"Connected: {len(models)} models ({shown})." if models else "Connected.")
            self.models_found.emit(self.provider, models)
        else:
            self._show_result(False, str(value))

    def _show_result(self, ok: bool, text: str) -> None:
        from app.core.events import redact

        self.test_result.setProperty("ok", ok)
        self.test_result.setText(("✓ " if ok else "✗ ") + redact(text))
        self.test_result.setStyleSheet("color: #2e8b57;" if ok else "color: #c0392b;")

    def base_url(self) -> str | None:
        return self.url_edit.text().strip() or None


class SettingsDialog(QDialog):
    """Edits `settings` in place when accepted (then saves it); keys go straight to the keychain."""

    applied = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.resize(680, 600)
        self.save_error: str | None = None
        layout = QVBoxLayout(self)
        if settings.load_problem:
            warning = QLabel(
                f"{settings.load_problem}. Pressing OK replaces that file with the settings shown here."
            )
            warning.setObjectName("loadProblem")
            warning.setWordWrap(True)
            layout.addWidget(warning)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("settingsTabs")
        self.tabs.addTab(self._models_tab(), "Models")
        self.tabs.addTab(self._local_tab(), "Local Model")
        self.tabs.addTab(self._general_tab(), "General")
        layout.addWidget(self.tabs, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout.addWidget(buttons)

    # -- Models tab ----------------------------------------------------------------------------------
    def _models_tab(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget()
        layout = QVBoxLayout(body)

        defaults = QGroupBox("New model nodes use")
        form = QFormLayout(defaults)
        self.default_provider = QComboBox()
        self.default_provider.setObjectName("defaultProvider")
        for provider in ("local", *HOSTED):
            self.default_provider.addItem(PROVIDER_LABELS[provider], provider)
        index = self.default_provider.findData(self.settings.default_provider)
        self.default_provider.setCurrentIndex(max(0, index))
        self.default_model = QComboBox()
        self.default_model.setObjectName("defaultModel")
        self.default_model.setEditable(True)
        self.default_model.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        form.addRow("Provider:", self.default_provider)
        form.addRow("Model:", self.default_model)
        self._models_by_provider: dict[str, list[str]] = {}
        self._fill_default_models(self.settings.default_model)
        self.default_provider.currentIndexChanged.connect(lambda _i: self._fill_default_models(""))
        layout.addWidget(defaults)

        self.keychain_banner = QLabel()
        self.keychain_banner.setObjectName("noKeychain")
        self.keychain_banner.setWordWrap(True)
        self.keychain_banner.setTextFormat(Qt.TextFormat.RichText)
        self.keychain_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.keychain_banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.keychain_banner.setStyleSheet(
            "QLabel#noKeychain { border: 1px solid #d9822b; border-radius: 4px; padding: 8px; }"
        )
        if not secrets.keyring_available():
            self.keychain_banner.setText(no_keychain_text())
        else:
            self.keychain_banner.hide()
        layout.addWidget(self.keychain_banner)

        self.sections: dict[str, ProviderSection] = {}
        for provider in HOSTED:
            section = ProviderSection(provider, self.settings)
            section.models_found.connect(self._models_found)
            self.sections[provider] = section
            layout.addWidget(section)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll)
        return page

    def _fill_default_models(self, current: str) -> None:
        provider = self.default_provider.currentData()
        self.default_model.blockSignals(True)
        self.default_model.clear()
        if provider == "local":
            self.default_model.addItem("")
            current = ""
        else:
            self.default_model.addItems(["", *self._models_by_provider.get(provider, [])])
        self.default_model.setEditText(current)
        fallback = default_models().get(provider, "")
        line = self.default_model.lineEdit()
        if line is not None:
            line.setPlaceholderText(
                "the model chosen under Local Model"
                if provider == "local"
                else f"empty: the provider's default ({fallback})"
            )
        self.default_model.setEnabled(provider != "local")
        self.default_model.blockSignals(False)

    def _models_found(self, provider: str, models: list[str]) -> None:
        self._models_by_provider[provider] = models
        if self.default_provider.currentData() == provider:
            self._fill_default_models(self.default_model.currentText())

    # -- Local model tab ---------------------------------------------------------------------------
    def _local_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel(
            "Model nodes whose provider is “local” run on this computer, offline, through llama.cpp. "
            "Choose which model they use when the node leaves its model empty."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.local_builtin = QRadioButton(
            "The built-in model: SmolLM2-135M-Instruct (small and fast, included)"
        )
        self.local_builtin.setObjectName("localBuiltin")
        self.local_file = QRadioButton("A model file (.gguf) on this computer:")
        self.local_file.setObjectName("localFile")
        group = QButtonGroup(page)
        group.addButton(self.local_builtin)
        group.addButton(self.local_file)
        layout.addWidget(self.local_builtin)
        self.builtin_status = QLabel(self._builtin_status())
        self.builtin_status.setObjectName("builtinStatus")
        self.builtin_status.setWordWrap(True)
        self.builtin_status.setContentsMargins(24, 0, 0, 6)
        layout.addWidget(self.builtin_status)
        layout.addWidget(self.local_file)
        row = QHBoxLayout()
        row.setContentsMargins(24, 0, 0, 0)
        self.local_path = QLineEdit()
        self.local_path.setObjectName("localPath")
        self.local_path.setPlaceholderText("/path/to/model.gguf")
        browse = QPushButton("Browse…")
        browse.setObjectName("localBrowse")
        browse.clicked.connect(self._browse_model)
        row.addWidget(self.local_path, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        self.local_path_status = QLabel()
        self.local_path_status.setObjectName("localPathStatus")
        self.local_path_status.setWordWrap(True)
        self.local_path_status.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(self.local_path_status)
        layout.addSpacing(8)
        layout.addWidget(
            hint_label(
                "Any chat model in llama.cpp's GGUF format works; larger models answer better and run "
                "slower. A model node can also name its own model file."
            )
        )
        layout.addStretch(1)
        current = (self.settings.local_model or BUILT_IN_MODEL).strip()
        if current.lower() in (BUILT_IN_MODEL, "smollm2", "smollm2-135m-instruct", ""):
            self.local_builtin.setChecked(True)
        else:
            self.local_file.setChecked(True)
            self.local_path.setText(current)
        self.local_path.textChanged.connect(self._check_local_path)
        self.local_path.textChanged.connect(
            lambda text: self.local_file.setChecked(True) if text.strip() else None
        )
        self.local_file.toggled.connect(lambda _on: self._check_local_path())
        self._check_local_path()
        return page

    @staticmethod
    def _builtin_status() -> str:
        from app.core.llm.local import bundled_model_path
        from app.core.llm.types import LLMError

        try:
            path = bundled_model_path()
        except LLMError as exc:
            return f"✗ {exc}"
        return f"✓ Installed ({path.stat().st_size / 1e6:.0f} MB)."

    def _browse_model(self) -> None:
        start = self.local_path.text().strip() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model file", start, "GGUF models (*.gguf)")
        if path:
            self.local_path.setText(path)
            self.local_file.setChecked(True)

    def _check_local_path(self) -> None:
        text = self.local_path.text().strip()
        if not self.local_file.isChecked():
            self.local_path_status.setText("")
        elif not text:
            self.local_path_status.setText("Choose a .gguf file.")
        elif not Path(text).expanduser().is_file():
            self.local_path_status.setText("✗ There is no file at this path.")
        elif not text.lower().endswith(".gguf"):
            self.local_path_status.setText("This file does not end in .gguf; is it a llama.cpp model?")
        else:
            size = Path(text).expanduser().stat().st_size / 1e6
            self.local_path_status.setText(f"✓ {size:,.0f} MB")

    # -- General tab -------------------------------------------------------------------------------
    def _general_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)

        cache = QGroupBox("Result cache")
        form = QFormLayout(cache)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(
            hint_label(
                "Results of model calls are kept, so running an unchanged node again is instant and free."
            )
        )
        self.cache_size = QSpinBox()
        self.cache_size.setObjectName("cacheSize")
        self.cache_size.setRange(1, 1_000_000)
        self.cache_size.setSuffix(" MB")
        self.cache_size.setValue(self.settings.cache_max_mb)
        self.cache_size.setMinimumWidth(130)
        form.addRow("Keep at most:", self.cache_size)
        self.cache_usage = QLabel()
        self.cache_usage.setObjectName("cacheUsage")
        self.cache_usage.setWordWrap(True)
        self.clear_cache_button = QPushButton("Clear Cache")
        self.clear_cache_button.setObjectName("clearCache")
        self.clear_cache_button.clicked.connect(self.clear_cache)
        row = QHBoxLayout()
        row.addWidget(self.cache_usage, 1)
        row.addWidget(self.clear_cache_button)
        form.addRow("In use:", row)
        layout.addWidget(cache)
        self._show_cache_usage()

        saving = QGroupBox("Saving")
        form = QFormLayout(saving)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.autosave = QSpinBox()
        self.autosave.setObjectName("autosave")
        self.autosave.setRange(0, 3600)
        self.autosave.setSingleStep(5)
        self.autosave.setSuffix(" s")
        self.autosave.setSpecialValueText("Off")
        self.autosave.setValue(self.settings.autosave_seconds)
        self.autosave.setMinimumWidth(130)
        form.addRow("Recovery copy every:", self.autosave)
        form.addRow(
            hint_label(
                "While a workflow has unsaved changes, a recovery copy is kept so nothing is lost if "
                "the app or the computer stops. Your own file is only written when you save."
            )
        )
        layout.addWidget(saving)

        appearance = QGroupBox("Appearance")
        form = QFormLayout(appearance)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.theme = QComboBox()
        self.theme.setObjectName("theme")
        for value, label in (("system", "Same as the system"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(self.settings.theme)))
        form.addRow("Theme:", self.theme)
        layout.addWidget(appearance)
        layout.addStretch(1)
        return page

    def _cache_path(self) -> Path:
        from app.core.cache import default_cache_path

        return default_cache_path()

    def cache_stats(self) -> dict[str, int]:
        from app.core.cache import Cache

        path = self._cache_path()
        if not path.exists():
            return {"entries": 0, "bytes": 0}
        with Cache(path) as cache:
            return cache.stats()

    def _show_cache_usage(self) -> None:
        try:
            stats = self.cache_stats()
        except Exception as exc:  # a locked or damaged cache must not stop the dialog
            self.cache_usage.setText(f"unknown ({type(exc).__name__})")
            return
        self.cache_usage.setText(f"{stats['entries']} results, {stats['bytes'] / 1e6:.1f} MB")

    def clear_cache(self) -> None:
        from app.core.cache import Cache

        path = self._cache_path()
        try:
            if path.exists():
                with Cache(path) as cache:
                    cache.clear()
        except Exception as exc:
            self.cache_usage.setText(f"Could not clear the cache ({type(exc).__name__}: {exc})")
            return
        self._show_cache_usage()
        self.cache_usage.setText(self.cache_usage.text() + " (cleared)")

    # -- applying ----------------------------------------------------------------------------------
    def local_model_choice(self) -> str:
        if self.local_file.isChecked() and self.local_path.text().strip():
            return str(Path(self.local_path.text().strip()).expanduser())
        return BUILT_IN_MODEL

    def apply(self) -> bool:
        """Copy the dialog into `settings`, store typed keys, save; apply the theme. False if saving failed."""
        for section in self.sections.values():
            if section.key_edit is not None and section.key_edit.text().strip():
                section.store_key()  # a typed key is never silently dropped
        settings = self.settings
        providers = dict(settings.providers)
        for provider, section in self.sections.items():
            current = providers.get(provider) or ProviderSettings()
            providers[provider] = current.model_copy(update={"base_url": section.base_url()})
        settings.providers = {
            name: value
            for name, value in providers.items()
            if value.base_url or value.concurrency != ProviderSettings().concurrency
        }
        settings.default_provider = self.default_provider.currentData()
        settings.default_model = (
            "" if settings.default_provider == "local" else self.default_model.currentText().strip()
        )
        settings.local_model = self.local_model_choice()
        settings.cache_max_mb = self.cache_size.value()
        settings.autosave_seconds = self.autosave.value()
        settings.theme = self.theme.currentData()
        settings.load_problem = None  # the user chose to replace an unreadable file
        self.save_error = None
        try:
            settings.save()
        except OSError as exc:
            self.save_error = f"{Settings.path()}: {exc.strerror or exc}"
        app = QApplication.instance()
        if isinstance(app, QApplication):
            from app.ui.theme import apply_theme

            apply_theme(app, settings.theme)
        self.applied.emit()
        return self.save_error is None

    def accept(self) -> None:
        if not self.apply():
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(
                self, "Settings not saved", f"The settings could not be saved: {self.save_error}"
            )
        super().accept()


# -- wiring ------------------------------------------------------------------------------------------
def open_settings(window: QMainWindow) -> SettingsDialog:
    settings = getattr(window, "settings", None)
    if not isinstance(settings, Settings):
        settings = Settings.load()
    dialog = SettingsDialog(settings, window)
    if dialog.exec() == QDialog.DialogCode.Accepted:
        window.statusBar().showMessage("Settings saved", 5000)
        for other in QApplication.topLevelWidgets():
            hook = getattr(other, "apply_settings", None)  # e.g. restart the autosave timer
            if callable(hook) and getattr(other, "settings", None) is settings:
                hook()
    return dialog


def new_model_node_config(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The config for a new `model.chat` node with the user's default provider and model (Settings ▸
    Models ▸ "New model nodes use"); other keys are kept."""
    updated = dict(config)
    updated["provider"] = settings.default_provider
    updated["model"] = "" if settings.default_provider == "local" else settings.default_model
    return updated


def install_settings_action(window: QMainWindow) -> QAction:
    """Add Edit ▸ Settings… (the Preferences key; Ctrl+, where the platform has none). On macOS Qt
    moves it to the application menu as Preferences."""
    action = QAction("Se&ttings…", window)
    action.setObjectName("actionSettings")
    keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
    action.setShortcuts(keys or [QKeySequence("Ctrl+,")])
    action.setMenuRole(QAction.MenuRole.PreferencesRole)
    action.setStatusTip("Model providers and keys, the local model, cache, autosave and theme")
    action.triggered.connect(lambda _checked=False: open_settings(window))
    window.addAction(action)
    menu = None
    for bar_action in window.menuBar().actions():
        if isinstance(bar_action.menu(), QMenu) and bar_action.text().replace("&", "") == "Edit":
            menu = bar_action.menu()
            break
    if menu is None:
        menu = window.menuBar().addMenu("&Edit")
    menu.addSeparator()
    menu.addAction(action)
    return action
