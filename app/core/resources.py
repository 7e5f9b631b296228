"""Where the app's bundled resources (examples, icons, styles) are.

`resources/` sits next to the `app` package in a source checkout and an editable install; a
frozen bundle (PyInstaller) puts it under `sys._MEIPASS`.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def examples_dir() -> Path:
    return resources_dir() / "examples"
