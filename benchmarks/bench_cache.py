"""P4 — the result cache: model calls after an edit, and after a restart with no edits.

    python -m benchmarks --only P4            (or: python -m benchmarks.bench_cache)

A 50-call DAG in six layers: call `i` is a `model.chat` whose prompt is a `prompt.template`
``q{i} {{u0}} {{u1}}`` filled with the answers of the calls feeding it (one or two, from the layer
before, fixed seed), so a changed answer changes every prompt downstream of it. Every run is the
real command line — `python -m app run FILE --json`, a fresh process each time, with the user's
cache folder (a temporary one) kept between runs — against the fake LLM server, whose request log
counts the model calls:

1. a cold run: every call is made (control: the number of calls);
2. the template of one call in the second layer is edited: only the calls in the edited node's
   downstream cone may be made (control: the number of model calls in that cone);
3. a restart with no edits: nothing is called (control: 0), and the outputs are the same.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Row, child_env, fake_llm_server, isolate_user_dirs, say

ID = "P4"
TITLE = "Result cache: model calls after an edit and after a restart"

LAYERS = (6, 8, 9, 9, 9, 9)  # 50 calls


def make_dag(layers: tuple[int, ...] = LAYERS, seed: int = 4) -> list[list[int]]:
    """preds of each call; every call after the first layer is fed by 1–2 calls of the layer
    before (so its depth is exact and prompts stay short enough: at most 2^depth pieces)."""
    rng = random.Random(seed)
    preds: list[list[int]] = []
    previous: list[int] = []
    for size in layers:
        current = []
        for _ in range(size):
            index = len(preds)
            preds.append(
                sorted(rng.sample(previous, min(len(previous), rng.randint(1, 2)))) if previous else []
            )
            current.append(index)
        previous = current
    return preds


def workflow_json(preds: list[list[int]]) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, str]] = []
    has_successor = {p for ps in preds for p in ps}
    for i, ps in enumerate(preds):
        template = f"q{i}" + "".join(f" {{{{u{k}}}}}" for k in range(len(ps)))
        nodes.append(
            {"id": f"t{i}", "type": "prompt.template", "position": [0, 0], "config": {"template": template}}
        )
        nodes.append({"id": f"m{i}", "type": "model.chat", "position": [0, 0],
                      "config": {"provider": "openai", "model": "fake-small"}})  # fmt: skip
        edges.append({"source": f"t{i}", "source_port": "text", "target": f"m{i}", "target_port": "prompt"})
        for k, p in enumerate(ps):
            edges.append(
                {"source": f"m{p}", "source_port": "text", "target": f"t{i}", "target_port": f"u{k}"}
            )
        if i not in has_successor:
            nodes.append(
                {"id": f"o{i}", "type": "io.output", "position": [0, 0], "config": {"name": f"out{i}"}}
            )
            edges.append(
                {"source": f"m{i}", "source_port": "text", "target": f"o{i}", "target_port": "value"}
            )
    return {"format": "chainwright.workflow", "version": 1, "name": "P4 cache", "description": "",
            "nodes": nodes, "edges": edges}  # fmt: skip


def cone(preds: list[list[int]], start: int) -> set[int]:
    """`start` and every call downstream of it."""
    succ: dict[int, list[int]] = {i: [] for i in range(len(preds))}
    for i, ps in enumerate(preds):
        for p in ps:
            succ[p].append(i)
    seen, todo = {start}, [start]
    while todo:
        for s in succ[todo.pop()]:
            if s not in seen:
                seen.add(s)
                todo.append(s)
    return seen


def pick_edited(preds: list[list[int]], layers: tuple[int, ...] = LAYERS) -> int:
    """The second-layer call with the median-sized downstream cone."""
    second = list(range(layers[0], layers[0] + layers[1]))
    second.sort(key=lambda i: (len(cone(preds, i)), i))
    return second[len(second) // 2]


def cli_run(path: Path, base_url: str) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "app", "run", str(path), "--json"],
        cwd=REPO,
        env=child_env(OPENAI_BASE_URL=base_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"chainwright run exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout), elapsed


def run(quick: bool) -> list[Row]:
    layers = (3, 4, 4) if quick else LAYERS
    preds = make_dag(layers)
    edited = pick_edited(preds, layers)
    expected = len(cone(preds, edited))
    rows: list[Row] = []
    with isolate_user_dirs(), fake_llm_server(log=True) as server, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p4.json"
        data = workflow_json(preds)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

        first, t_cold = cli_run(path, server.base_url_openai)
        cold = server.logged_requests()
        say(f"P4: cold run made {cold} calls in {t_cold:.1f} s")

        for node in data["nodes"]:
            if node["id"] == f"t{edited}":
                node["config"]["template"] = node["config"]["template"].replace(
                    f"q{edited}", f"q{edited} (edited)"
                )
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        after_edit, t_edit = cli_run(path, server.base_url_openai)
        edit_calls = server.logged_requests() - cold
        say(f"P4: after editing t{edited}: {edit_calls} calls (cone {expected}) in {t_edit:.1f} s")

        again, t_restart = cli_run(path, server.base_url_openai)
        restart_calls = server.logged_requests() - cold - edit_calls
        say(f"P4: restart, no edits: {restart_calls} calls in {t_restart:.1f} s")
        same = again == after_edit
        changed = sorted(k for k in first if first[k] != after_edit.get(k))

    rows.append(
        Row(
            ID,
            f"cold run of {len(preds)} calls: model calls",
            cold,
            "calls",
            control=len(preds),
            control_label="calls in the DAG",
            goal="equal",
            met=cold == len(preds),
            note=f"{t_cold:.1f} s through `python -m app run`",
        )
    )
    rows.append(
        Row(
            ID,
            f"after editing one prompt (t{edited}): model calls",
            edit_calls,
            "calls",
            control=expected,
            control_label="its downstream cone",
            goal="equal",
            met=edit_calls == expected,
            note=f"{len(changed)} of {len(first)} outputs changed; {t_edit:.1f} s",
        )
    )
    rows.append(
        Row(
            ID,
            "after a restart, no edits: model calls",
            restart_calls,
            "calls",
            control=0,
            control_label="0",
            goal="equal",
            met=restart_calls == 0 and same,
            note=f"outputs {'identical' if same else 'DIFFERENT'} to the run before; {t_restart:.1f} s",
        )
    )
    return rows


if __name__ == "__main__":
    from benchmarks.common import print_table

    print_table(run("--quick" in sys.argv))
