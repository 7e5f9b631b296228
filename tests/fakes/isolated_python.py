"""Run a script in a Python that can import only the distributions we name (and their dependencies).

`isolated_site(["httpx"])` builds a folder of symlinks to exactly those distributions' files
(packages, modules and their .dist-info metadata, so importlib.metadata works too);
`run_isolated(script, site)` runs the script with `python -S` (no site-packages) and only that
folder on sys.path. An exported script that tried to `import app`, `nodes` or pydantic would fail
there, which is the point.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(names: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if _normal(name) in seen:
            continue
        seen.add(_normal(name))
        for line in metadata.distribution(name).requires or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not Marker(str(requirement.marker)).evaluate({"extra": ""}):
                continue
            todo.append(requirement.name)
    return seen


@cache
def isolated_site(with_deps: tuple[str, ...], without_deps: tuple[str, ...] = ()) -> Path:
    site = Path(tempfile.mkdtemp(prefix="cw-isolated-site-"))
    for name in sorted(dependency_closure(with_deps) | {_normal(n) for n in without_deps}):
        distribution = metadata.distribution(name)
        tops = {Path(str(file)).parts[0] for file in distribution.files or []}
        for top in tops:
            source = Path(str(distribution.locate_file(top)))
            if top in ("..", "__pycache__") or not source.exists() or (site / top).exists():
                continue
            (site / top).symlink_to(source)
    return site


def run_isolated(
    script: Path,
    site: Path,
    args: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    bootstrap = (
        "import sys, runpy; "
        f"sys.path[:] = [{str(site)!r}] + [p for p in sys.path if 'site-packages' not in p and p not in ('', '.')]; "
        f"sys.argv = [{str(script)!r}] + sys.argv[1:]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-S", "-c", bootstrap, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tempfile.mkdtemp(prefix="cw-isolated-cwd-"),
        env=dict(env or {}),
    )
