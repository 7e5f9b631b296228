"""Workspace trust: which workflow files may run code, read outside their folder or call any host.

A workflow file is something people download and share. One that was not written by this
machine's Chainwright, or that changed outside the app, opens in *restricted mode* until the
user trusts it. Trust is keyed on the file's content: an HMAC (SHA-256) of the bytes under a
secret made on first use and kept in the user config dir (mode 0600), so a file cannot claim to
be trusted and a trust list copied from elsewhere is worthless. Editing the file outside the app
changes the content, so the app asks again.

Files the app saves itself are recorded as trusted (`remember`), and so is the bundled gallery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from app.core.resources import examples_dir
from app.core.settings import config_dir

MAX_ENTRIES = 5000


def _secret_path() -> Path:
    return config_dir() / "trust.key"


def _store_path() -> Path:
    return config_dir() / "trusted.json"


def _secret() -> bytes:
    path = _secret_path()
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return data


def fingerprint(content: bytes) -> str:
    return hmac.new(_secret(), content, hashlib.sha256).hexdigest()


def _load() -> dict[str, float]:
    try:
        data = json.loads(_store_path().read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, OSError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, int | float)}


def _save(entries: dict[str, float]) -> None:
    from app.core.model import atomic_write_bytes

    newest = dict(sorted(entries.items(), key=lambda item: item[1])[-MAX_ENTRIES:])
    path = _store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(newest, indent=1, sort_keys=True) + "\n").encode())


def remember(content: bytes) -> None:
    """Trust this exact content (the user trusted it, or the app just saved it)."""
    entries = _load()
    entries[fingerprint(content)] = time.time()
    _save(entries)


def is_bundled_example(path: str | os.PathLike[str]) -> bool:
    try:
        return Path(path).resolve().parent == examples_dir().resolve()
    except OSError:
        return False


def is_trusted(content: bytes, path: str | os.PathLike[str] | None = None) -> bool:
    if path is not None and is_bundled_example(path):
        return True
    return fingerprint(content) in _load()


def is_trusted_file(path: str | os.PathLike[str]) -> bool:
    try:
        content = Path(path).read_bytes()
    except OSError:
        return False
    return is_trusted(content, path)
