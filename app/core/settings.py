"""User settings and the per-user folders (config, data, cache) Chainwright uses.

Settings are a pydantic model saved as JSON in the user config dir. Folders follow the platform's
conventions (XDG on Linux), so tests can redirect everything with XDG_* / HOME variables.
A settings file that cannot be read is never overwritten silently: loading falls back to the
defaults and reports the problem in `Settings.load_problem`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

APP_NAME = "chainwright"


def config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


class ProviderSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    base_url: str | None = None
    concurrency: int = Field(default=16, ge=1, le=256)


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    default_provider: str = "local"
    default_model: str = "smollm2-135m"
    local_model: str = "smollm2-135m"
    max_concurrency: int = Field(default=16, ge=1, le=1024)
    cache_max_mb: int = Field(default=512, ge=1)
    autosave_seconds: int = Field(default=10, ge=0)
    theme: Literal["system", "light", "dark"] = "system"
    price_overrides: dict[str, tuple[float, float]] = Field(default_factory=dict)
    #: Hosts that web nodes of untrusted workflows may reach even though they are local or private.
    allowed_hosts: list[str] = Field(default_factory=list)
    #: Apply the untrusted-workflow network limits to trusted workflows too.
    guard_network_when_trusted: bool = False
    recent_files: list[str] = Field(default_factory=list)

    load_problem: str | None = Field(default=None, exclude=True)

    def provider(self, name: str) -> ProviderSettings:
        return self.providers.get(name) or ProviderSettings()

    @classmethod
    def path(cls) -> Path:
        return config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        path = cls.path()
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            return cls(load_problem=f"{path}: cannot be read ({exc.strerror}); using default settings")
        try:
            return cls.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            return cls(load_problem=f"{path}: not valid settings ({first}); using default settings")

    def save(self) -> None:
        from app.core.model import atomic_write_bytes

        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(path, text.encode("utf-8"))
