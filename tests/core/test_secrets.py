"""Keys in the keychain (never in plain files) and endpoint resolution (DESIGN §1.4).

tests/conftest.py gives every test an in-memory keyring and an environment without provider
variables.
"""

from __future__ import annotations

import copy
import json
import pickle

import keyring
import keyring.backend
import pytest

from app.core import secrets
from app.core.secrets import (
    Endpoint,
    NoKeychainError,
    Secret,
    delete_api_key,
    get_api_key,
    key_source,
    keyring_available,
    normalise_ollama_host,
    resolve_endpoint,
    set_api_key,
)

KEY = "sk-secret-test-0123456789"


class BrokenKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service, username):
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError(f"cannot store {password}")

    def delete_password(self, service, username):
        raise keyring.errors.PasswordDeleteError("no")


def test_set_get_delete_roundtrip(memory_keyring):
    assert keyring_available()
    set_api_key("openai", KEY)
    assert memory_keyring.entries == {("chainwright", "openai"): KEY}  # service chainwright, user = provider
    assert get_api_key("openai") == KEY and key_source("openai") == "keychain"
    assert delete_api_key("openai") is True
    assert get_api_key("openai") is None and delete_api_key("openai") is False


def test_environment_fallback_and_keychain_first(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", " sk-ant-env ")
    assert get_api_key("anthropic") == "sk-ant-env" and key_source("anthropic") == "env"
    set_api_key("anthropic", "sk-ant-keychain")
    assert get_api_key("anthropic") == "sk-ant-keychain"


def test_keyless_providers(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert get_api_key("ollama") is None and get_api_key("local") is None


@pytest.mark.parametrize("backend_name", ["fail", "null", "empty-chainer"])
def test_no_keychain_refuses_to_store_and_says_how(backend_name, tmp_path, monkeypatch, isolated_user_dirs):
    from keyring.backends import chainer, fail, null

    backend = {
        "fail": fail.Keyring,
        "null": null.Keyring,
        "empty-chainer": lambda: _empty_chainer(chainer, monkeypatch),
    }[backend_name]()
    keyring.set_keyring(backend)
    assert not keyring_available()
    with pytest.raises(NoKeychainError) as ei:
        set_api_key("openai", KEY)
    msg = str(ei.value)
    assert "OPENAI_API_KEY" in msg and "environment variable" in msg and KEY not in msg
    # never a plaintext fallback: nothing anywhere under HOME holds the key
    for f in isolated_user_dirs.rglob("*"):
        assert not f.is_file() or KEY not in f.read_text(errors="ignore")
    # reading still works from the environment
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert get_api_key("openai") == "sk-from-env"
    assert delete_api_key("openai") is False


def _empty_chainer(chainer, monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", property(lambda self: []), raising=False)
    return chainer.ChainerBackend()


def test_a_failing_keychain_is_reported_without_the_key():
    keyring.set_keyring(BrokenKeyring())
    assert get_api_key("openai") is None  # locked: fall back to env (unset here)
    with pytest.raises(secrets.SecretsError) as ei:
        set_api_key("openai", KEY)
    assert KEY not in str(ei.value) and KEY not in repr(ei.value.__cause__) and ei.value.__cause__ is None


def test_empty_key_is_refused():
    with pytest.raises(ValueError):
        set_api_key("openai", "  ")


def test_secret_wrapper_never_shows_or_serialises():
    s = Secret(KEY)
    assert str(s) == repr(s) == f"{s}" == "***" and s.reveal() == KEY and s.get_secret_value() == KEY
    assert KEY not in repr([s, {"k": s}])
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        json.dumps({"k": s})
    assert copy.deepcopy(s) == s and bool(Secret("")) is False
    with pytest.raises(AttributeError):
        s._value = "x"  # type: ignore[misc]


# -- endpoint resolution ------------------------------------------------------------------------


def test_defaults_get_the_key(memory_keyring):
    set_api_key("openai", KEY)
    ep = resolve_endpoint("openai", None, None)
    assert ep == Endpoint("https://api.openai.com/v1", KEY, None, "default")
    assert KEY not in repr(ep) and KEY not in str(ep)
    with pytest.raises(TypeError):
        pickle.dumps(ep)
    set_api_key("anthropic", KEY)
    assert resolve_endpoint("anthropic", None, None).base_url == "https://api.anthropic.com"


def test_precedence_workflow_settings_env_default(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.example:1/v1/")
    assert resolve_endpoint("openai", None, None).base_url == "http://env.example:1/v1"
    assert resolve_endpoint("openai", None, "http://settings.example/v1").source == "settings"
    ep = resolve_endpoint("openai", "http://wf.example/v1", "http://settings.example/v1")
    assert (ep.base_url, ep.source) == ("http://wf.example/v1", "workflow")


def test_workflow_only_url_gets_no_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    ep = resolve_endpoint("openai", "https://evil.example/v1", None)
    assert ep.api_key is None
    reason = ep.key_withheld_reason or ""
    assert "workflow file" in reason and "Settings" in reason and "OPENAI_BASE_URL" in reason
    assert "https://evil.example/v1" in reason and KEY not in reason


def test_workflow_url_on_a_trusted_origin_gets_the_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # same origin as the default (path may differ; default port spelled out)
    assert resolve_endpoint("openai", "https://api.openai.com:443/v1", None).api_key == KEY
    # same origin as the Settings URL
    assert (
        resolve_endpoint("openai", "http://127.0.0.1:8080/other", "http://127.0.0.1:8080/v1").api_key == KEY
    )
    # same origin as the env URL
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9000/v1")
    assert resolve_endpoint("openai", "http://127.0.0.1:9000/v1", None).api_key == KEY
    # a different port or scheme is another origin
    assert resolve_endpoint("openai", "http://127.0.0.1:9001/v1", None).api_key is None
    assert resolve_endpoint("openai", "http://api.openai.com/v1", None).api_key is None


def test_no_key_means_no_reason(monkeypatch):
    ep = resolve_endpoint("openai", "https://x.example/v1", None)
    assert ep.api_key is None and ep.key_withheld_reason is None


def test_ollama_and_local(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert resolve_endpoint("ollama", None, None) == Endpoint(
        "http://localhost:11434/v1", None, None, "default"
    )
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box:11500")
    assert resolve_endpoint("ollama", None, None).base_url == "http://gpu-box:11500/v1"
    assert resolve_endpoint("local", None, None).api_key is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:11434", "http://127.0.0.1:11434/v1"),
        ("myhost", "http://myhost:11434/v1"),
        ("0.0.0.0", "http://127.0.0.1:11434/v1"),
        ("http://myhost:8000", "http://myhost:8000/v1"),
        ("https://ollama.example.com", "https://ollama.example.com:443/v1"),
        ("http://myhost:8000/v1/", "http://myhost:8000/v1"),
        ("[::1]:11434", "http://[::1]:11434/v1"),
    ],
)
def test_ollama_host_normalisation(value, expected):
    assert normalise_ollama_host(value) == expected
