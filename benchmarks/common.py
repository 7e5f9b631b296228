"""What every benchmark shares: the row it reports, timing, the fake LLM server, the machine.

The interface a benchmark module follows (the runner, `python -m benchmarks`, relies on it)::

    ID = "P1"                                   # the issue's benchmark id
    TITLE = "Scheduling: wall time vs the critical path"

    def run(quick: bool) -> list[Row]:          # measure, return one Row per figure
        ...

`run` may print progress freely (the runner sends it to stderr); it must not assert anything
about speed. With `quick` it checks that the benchmark still works, in a few seconds. The runner
starts each module in a fresh Python process (`python -m benchmarks --child ID`), so a module may
create a QApplication, change the garbage collector or leave the event loop as it likes.

How figures are measured, everywhere:
* every figure is compared with a *control* measured in the same process, in the same run,
  interleaved with it (ABAB…), so machine noise hits both alike; the ratio is what the goal judges;
* each is the *median* of several repeats after at least one warm-up that is thrown away
  (`paired`, `median_of`);
* user folders (settings, cache, run history) are fresh temporary folders (`isolate_user_dirs`),
  provider keys are removed from the environment, and model calls go only to the fake server on
  127.0.0.1 (`fake_llm_server`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

PROVIDER_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OLLAMA_HOST",
)


# -- the row ---------------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the table.

    `figure` and `control` are in `unit`; `ratio` is figure / control unless the benchmark sets
    it otherwise. `met` is True/False against `goal`, or None when there is no goal to judge
    (informational rows) or the figure could not be measured (`note` says why).
    """

    id: str
    measure: str
    figure: float | None
    unit: str = ""
    control: float | None = None
    control_label: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def ratio(figure: float | None, control: float | None) -> float | None:
    if figure is None or control is None or control == 0 or math.isnan(control):
        return None
    return figure / control


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


# -- the table -------------------------------------------------------------------------------------
def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "s" and abs(value) < 1:
        value, unit = value * 1000, "ms"
    if unit in ("calls", "runs", "nodes"):
        text = f"{value:.0f}"
    elif value == 0:
        text = "0"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def fmt_met(met: bool | None, figure: float | None) -> str:
    if met is None:
        return "n/a" if figure is None else "—"
    return "yes" if met else "NO"


def cells(row: Row) -> list[str]:
    return [
        row.id,
        row.measure,
        fmt(row.figure, row.unit),
        fmt(row.control, row.unit),
        fmt_ratio(row.ratio),
        row.goal or "—",
        fmt_met(row.met, row.figure),
    ]


HEADER = ["id", "measure", "figure", "control", "ratio", "goal", "met?"]


def table(rows: Sequence[Row], markdown: bool = False) -> str:
    body = [cells(row) for row in rows]
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(line[i]) for line in body)) if body else len(h) for i, h in enumerate(HEADER)]
    right = {2, 3, 4}

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *(line(values) for values in body)])


def notes(rows: Sequence[Row]) -> str:
    return "\n".join(f"  {row.id} {row.measure}: {row.note}" for row in rows if row.note)


def print_table(rows: Sequence[Row], markdown: bool = False) -> None:
    print(table(rows, markdown))
    text = notes(rows)
    if text:
        print("\nnotes:" if not markdown else "\nNotes:\n")
        print(text)


# -- timing ----------------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def timed(fn: Callable[[], Any]) -> Callable[[], float]:
    """A function that calls `fn` and returns how long it took, in seconds."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def median_of(measure: Callable[[], float], *, repeats: int, warmup: int = 1) -> float:
    """`measure()` returns one sample; run it `warmup` times (thrown away), then `repeats` times,
    and return the median."""
    return median(samples(measure, repeats=repeats, warmup=warmup))


def samples(measure: Callable[[], float], *, repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        measure()
    return [measure() for _ in range(max(1, repeats))]


def paired_order(names: Sequence[str], *, repeats: int, warmup: int = 1) -> list[tuple[str, bool]]:
    """The interleaved order of `paired`: [(name, kept?)…] — A B C, B C A, C A B, …; the first
    `warmup` rounds are not kept."""
    names = list(names)
    order = []
    for round_ in range(warmup + max(1, repeats)):
        shift = round_ % len(names)
        order += [(name, round_ >= warmup) for name in names[shift:] + names[:shift]]
    return order


def paired(
    measures: dict[str, Callable[[], float]], *, repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Run several measurements interleaved (A B C A B C …, the order rotating each round so no
    one always goes first): `warmup` rounds thrown away, then `repeats` rounds kept.
    Returns {name: samples}; take the median of each."""
    kept: dict[str, list[float]] = {name: [] for name in measures}
    for name, keep in paired_order(list(measures), repeats=repeats, warmup=warmup):
        value = measures[name]()
        if keep:
            kept[name].append(value)
    return kept


async def paired_async(
    measures: dict[str, Callable[[], Awaitable[float]]], *, repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """`paired` for coroutine measurements, awaited one after another in the running loop."""
    kept: dict[str, list[float]] = {name: [] for name in measures}
    for name, keep in paired_order(list(measures), repeats=repeats, warmup=warmup):
        value = await measures[name]()
        if keep:
            kept[name].append(value)
    return kept


# -- the environment -------------------------------------------------------------------------------
@contextlib.contextmanager
def isolate_user_dirs() -> Iterator[Path]:
    """Fresh user folders (XDG config/data/cache/state) in a temporary folder and no
    provider keys or base URLs in the environment, for this process and its children."""
    saved = dict(os.environ)
    root = Path(tempfile.mkdtemp(prefix="chainwright-bench-"))
    try:
        for variable, folder in (
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_STATE_HOME", "state"),
        ):
            (root / folder).mkdir()
            os.environ[variable] = str(root / folder)
        for variable in PROVIDER_VARIABLES:
            os.environ.pop(variable, None)
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        yield root
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python: this one, with the repository importable and bytecode
    caching on, as in any installed copy (if this environment turns it off with
    PYTHONDONTWRITEBYTECODE, the bytecode goes to a folder under the temporary directory instead
    of the source tree)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    if env.pop("PYTHONDONTWRITEBYTECODE", None) and "PYTHONPYCACHEPREFIX" not in env:
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "chainwright-bench-pycache")
    env.update(extra)
    return env


@dataclass
class FakeServer:
    port: int
    process: subprocess.Popen[str]
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url_openai(self) -> str:
        return f"{self.url}/v1"

    def logged_requests(self, *, settle_s: float = 0.3, timeout_s: float = 10.0) -> int:
        """How many chat requests the server has finished answering (needs `log=True`); waits
        until the count has not changed for `settle_s` (the server logs after the last byte)."""
        assert self.log_path is not None, "start the server with log=True"
        deadline = time.monotonic() + timeout_s
        last, stable_since = -1, time.monotonic()
        while True:
            try:
                text = self.log_path.read_text(encoding="utf-8")
            except FileNotFoundError:
                text = ""
            count = sum(1 for line in text.splitlines() if '"/v1/chat/completions"' in line)
            now = time.monotonic()
            if count != last:
                last, stable_since = count, now
            elif now - stable_since >= settle_s or now > deadline:
                return count
            time.sleep(0.05)


@contextlib.contextmanager
def fake_llm_server(
    *, latency_ms: int = 0, chunk_delay_ms: int = 0, chunk_chars: int = 4, log: bool = False
) -> Iterator[FakeServer]:
    """The test fake (`tests.fakes.fake_llm`) as its own process on 127.0.0.1: OpenAI and
    Anthropic protocols, streamed answers, a fixed `latency_ms` before each answer (a prompt may
    ask for another with ``#sleep=N``) and `chunk_delay_ms` between streamed chunks of
    `chunk_chars` characters. With `log`, every request is logged to a file (`logged_requests`)."""
    log_dir = Path(tempfile.mkdtemp(prefix="chainwright-fake-llm-")) if log else None
    log_path = log_dir / "requests.jsonl" if log_dir else None
    command = [
        sys.executable,
        "-m",
        "tests.fakes.fake_llm",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
        "--chunk-delay-ms",
        str(chunk_delay_ms),
        "--chunk-chars",
        str(chunk_chars),
    ]
    if log_path is not None:
        command += ["--log", str(log_path)]
    try:
        with server_process(command) as (port, process):
            yield FakeServer(port, process, log_path)
    finally:
        if log_dir is not None:
            shutil.rmtree(log_dir, ignore_errors=True)


@contextlib.contextmanager
def server_process(command: list[str]) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """Start a server process that prints ``PORT n`` when it listens; stop it afterwards."""
    process = subprocess.Popen(
        command, cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the fake LLM server did not start (it printed {line!r})")
        yield int(line.split()[1]), process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# -- what-ifs --------------------------------------------------------------------------------------
#: Changes to the app a run of the suite may apply in each benchmark process (`--what-if NAME`),
#: to measure a proposed fix before it lands. The table is marked when one is on.
WHAT_IFS: dict[str, str] = {}  # name → what it changes; none is pending now


def apply_what_if(name: str) -> None:
    if name:
        raise ValueError(f"unknown what-if {name!r}; known: {', '.join(WHAT_IFS) or 'none'}")


# -- the machine -----------------------------------------------------------------------------------
@dataclass
class Machine:
    cpu: str
    cores: int
    load: tuple[float, float, float]
    memory_gb: float | None
    system: str
    python: str
    pyside6: str
    extra: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        memory = f", {self.memory_gb:.1f} GB RAM" if self.memory_gb else ""
        load = " ".join(f"{x:.2f}" for x in self.load)
        return (
            f"{self.cpu}, {self.cores} cores{memory}; load average {load}; {self.system}; "
            f"Python {self.python}; PySide6 {self.pyside6}"
        )


def machine() -> Machine:
    cpu = platform.processor() or platform.machine()
    memory_gb = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = int(line.split()[1]) / 1024 / 1024
                break
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    try:
        from importlib.metadata import version

        pyside6 = version("PySide6-Essentials")
    except Exception:
        pyside6 = "not installed"
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 1,
        load=(load[0], load[1], load[2]),
        memory_gb=memory_gb,
        system=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        pyside6=pyside6,
    )


def rss_bytes() -> int:
    """This process's resident set size now (Linux /proc; elsewhere the peak from `resource`)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def say(*parts: Any) -> None:
    """Progress for the reader, on stderr (the runner keeps stdout for the table)."""
    print(*parts, file=sys.stderr, flush=True)
