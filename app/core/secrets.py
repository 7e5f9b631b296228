"""API keys and endpoint resolution (DESIGN §1.4).

Keys live in the system keychain (keyring service ``chainwright``, user = provider name), with
the environment (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``) as a fallback. When there is no
keychain, storing a key raises :class:`NoKeychainError` that tells the user how to use the
environment variable instead: there is never a plaintext fallback.

:func:`resolve_endpoint` decides the base URL of a model call and whether the key goes with it:
a key is attached only when the final URL's origin is the provider's default origin or the
origin of a base URL that the user configured in Settings or the environment - never to a URL
that only a workflow file supplies.

``keyring`` is imported lazily (not at application start-up); nothing here imports httpx.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

SERVICE = "chainwright"
PROVIDERS = ("openai", "anthropic", "ollama", "local")

DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://localhost:11434/v1",
}
KEY_ENV: dict[str, str] = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
BASE_URL_ENV: dict[str, str] = {
    "openai": "OPENAI_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "ollama": "OLLAMA_HOST",
}
KEYLESS = frozenset({"ollama", "local"})
_LABELS = {"openai": "OpenAI", "anthropic": "Anthropic", "ollama": "Ollama", "local": "the local model"}


class NoKeychainError(RuntimeError):
    """There is no system keychain to store a key in."""


class SecretsError(RuntimeError):
    """The keychain failed (locked, refused access...)."""


class Secret:
    """Holds a secret string; shows ``'***'`` and refuses to be pickled or serialised.

    >>> s = Secret("sk-123"); str(s), repr(s), s.reveal()
    ('***', '***', 'sk-123')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        return self._value

    get_secret_value = reveal

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("A Secret cannot be pickled or serialised")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("A Secret cannot be pickled or serialised")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: Any) -> Secret:
        return self

    def __getstate__(self) -> NoReturn:
        raise TypeError("A Secret cannot be pickled or serialised")


# --------------------------------------------------------------------------------------------
# Keychain
# --------------------------------------------------------------------------------------------


def _backend() -> Any | None:
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_keyring()
    except Exception:
        return None


def _usable(backend: Any) -> bool:
    if backend is None:
        return False
    cls = type(backend)
    name = f"{cls.__module__}.{cls.__qualname__}"
    if name in ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"):
        return False
    if name == "keyring.backends.chainer.ChainerBackend":
        subs = getattr(backend, "backends", None) or []
        return any(_usable(b) for b in subs)
    try:
        priority = cls.priority  # a class property on keyring backends
    except Exception:
        return False
    try:
        return float(priority) > 0
    except (TypeError, ValueError):
        return True


def keyring_available() -> bool:
    """True when a real keychain backend is present (not keyring's fail/null backends)."""
    return _usable(_backend())


def _no_keychain(provider: str) -> NoKeychainError:
    env = KEY_ENV.get(provider)
    how = (
        f"Set the {env} environment variable instead (for example in your shell profile) and "
        "restart Chainwright."
        if env
        else "Use the provider's environment variable instead."
    )
    return NoKeychainError(
        "No system keychain is available on this computer, so Chainwright cannot store the key "
        f"safely (it never writes keys to a plain file). {how}"
    )


def _check_provider(provider: str) -> None:
    if not isinstance(provider, str) or not provider.strip():
        raise ValueError("provider must be a non-empty name")


def get_api_key(provider: str, *, env: Mapping[str, str] | None = None) -> str | None:
    """The key for ``provider``: the keychain first, then the environment variable.
    ``None`` for ollama and local (they need none) and when nothing is set."""
    _check_provider(provider)
    if provider in KEYLESS:
        return None
    backend = _backend()
    if _usable(backend):
        try:
            value = backend.get_password(SERVICE, provider)
        except Exception:
            value = None
        if value:
            return _registered(value)
    env = os.environ if env is None else env
    name = KEY_ENV.get(provider)
    value = env.get(name) if name else None
    return _registered(value.strip()) if value and value.strip() else None


def _registered(key: str) -> str:
    """Every key handed out is known to the redaction of logs, events and run history."""
    from app.core.events import register_secret

    register_secret(key)
    return key


def set_api_key(provider: str, key: str) -> None:
    """Store ``key`` in the keychain. Raises :class:`NoKeychainError` when there is none."""
    _check_provider(provider)
    if not isinstance(key, str) or not key.strip():
        raise ValueError("The key is empty; use delete_api_key to remove a key.")
    backend = _backend()
    if not _usable(backend):
        raise _no_keychain(provider)
    try:
        backend.set_password(SERVICE, provider, key.strip())
    except Exception as exc:
        raise SecretsError(
            f"The system keychain refused to store the key for {_LABELS.get(provider, provider)} "
            f"({type(exc).__name__})."
        ) from None


def delete_api_key(provider: str) -> bool:
    """Remove the stored key; True if one was removed. Environment variables are not touched."""
    _check_provider(provider)
    backend = _backend()
    if not _usable(backend):
        return False
    try:
        if backend.get_password(SERVICE, provider) is None:
            return False
        backend.delete_password(SERVICE, provider)
        return True
    except Exception:
        return False


def key_source(provider: str, *, env: Mapping[str, str] | None = None) -> str | None:
    """Where the key comes from: ``"keychain"``, ``"env"`` or ``None``."""
    if provider in KEYLESS:
        return None
    backend = _backend()
    if _usable(backend):
        try:
            if backend.get_password(SERVICE, provider):
                return "keychain"
        except Exception:
            pass
    env = os.environ if env is None else env
    name = KEY_ENV.get(provider)
    return "env" if name and (env.get(name) or "").strip() else None


# --------------------------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where to send a model call and with which key. ``api_key`` is ``None`` when there is no
    key, when the provider needs none, or when it was withheld (then ``key_withheld_reason``
    says why, in words a user can act on)."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    key_withheld_reason: str | None = None
    source: str = "default"  # "workflow", "settings", "env" or "default"

    def __repr__(self) -> str:
        key = "***" if self.api_key else None
        return (
            f"Endpoint(base_url={self.base_url!r}, api_key={key!r}, "
            f"key_withheld_reason={self.key_withheld_reason!r}, source={self.source!r})"
        )

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("An Endpoint holds a key and cannot be pickled or serialised")


def normalise_ollama_host(value: str) -> str:
    """``OLLAMA_HOST`` may be ``host``, ``host:port`` or a URL, usually without ``/v1``: return
    the OpenAI-compatible base URL. Like Ollama's own client: without a scheme the port defaults
    to 11434, with ``http://`` to 80, with ``https://`` to 443."""
    value = value.strip()
    if "://" in value:
        default_port = 443 if value.lower().startswith("https://") else 80
    else:
        value, default_port = "http://" + value, 11434
    parts = urlsplit(value)
    host = parts.hostname or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # a server bind address: connect locally
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or default_port
    except ValueError:
        port = default_port
    path = parts.path.rstrip("/")
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme}://{host}:{port}{path}"


def _clean_url(url: str | None) -> str | None:
    if url is None:
        return None
    url = url.strip()
    return url.rstrip("/") if url else None


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with default ports filled in; ``None`` for an unusable URL."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve_endpoint(
    provider: str,
    workflow_base_url: str | None,
    settings_base_url: str | None,
    *,
    env: Mapping[str, str] | None = None,
    api_key: str | None = None,
) -> Endpoint:
    """The base URL and key for a call (DESIGN §1.4).

    Base URL: the workflow's ``base_url``, else Settings, else the environment variable, else
    the provider's default. The key (``api_key`` if given, else :func:`get_api_key`) is
    attached only if the final URL's origin is the provider's default origin or the origin of a
    base URL configured in Settings or the environment."""
    _check_provider(provider)
    env = os.environ if env is None else env
    if provider == "local":
        return Endpoint(base_url="", api_key=None, source="default")
    env_name = BASE_URL_ENV.get(provider)
    env_url = _clean_url(env.get(env_name)) if env_name else None
    if provider == "ollama" and env_url:
        env_url = normalise_ollama_host(env_url)
    wf_url = _clean_url(workflow_base_url)
    st_url = _clean_url(settings_base_url)
    default = DEFAULT_BASE_URLS.get(provider)
    if wf_url:
        base, source = wf_url, "workflow"
    elif st_url:
        base, source = st_url, "settings"
    elif env_url:
        base, source = env_url, "env"
    elif default:
        base, source = default, "default"
    else:
        raise ValueError(
            f"No base URL for provider {provider!r}: set base_url in the node, in Settings or the environment."
        )
    if provider in KEYLESS:
        return Endpoint(base_url=base, api_key=None, source=source)
    key = api_key if api_key is not None else get_api_key(provider, env=env)
    if not key:
        return Endpoint(base_url=base, api_key=None, source=source)
    trusted = {o for o in (origin(u) for u in (default, st_url, env_url) if u) if o is not None}
    target = origin(base)
    if target is not None and target in trusted:
        return Endpoint(base_url=base, api_key=key, source=source)
    label = _LABELS.get(provider, provider)
    hint = f"add this base URL in Settings or set {env_name}" if env_name else "add this base URL in Settings"
    reason = (
        f"The {label} API key was not sent to {base} because that address comes only from the "
        f"workflow file, not from your Settings or environment. If you trust it, {hint}."
    )
    return Endpoint(base_url=base, api_key=None, key_withheld_reason=reason, source=source)
