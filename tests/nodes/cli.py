"""Running the `chainwright` command in a subprocess, for the catalogue and gallery tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def chainwright(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    command = shutil.which("chainwright")
    argv = [command] if command else [sys.executable, "-m", "app"]
    return subprocess.run(
        [*argv, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
