"""The result cache: keys, storage, eviction, and what the executor does with it (counted by calls)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from app.core.cache import Cache, cache_key, default_cache_path
from app.core.executor import Executor
from app.core.runs import RunResult
from app.core.settings import Settings
from tests.core import fake_nodes
from tests.core.fake_nodes import CALLS, analyze, fake, node

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _reset_fakes() -> None:
    fake_nodes.reset()


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    with Cache(tmp_path / "cache.sqlite3") as opened:
        yield opened


def run(executor: Executor, **options) -> RunResult:
    async def main() -> RunResult:
        return await executor.run(**options)

    return asyncio.run(main())


# --- keys and storage ---------------------------------------------------------------------------


def test_key_is_stable_and_covers_type_version_config_and_inputs() -> None:
    base = cache_key("t", 1, {"a": 1, "b": [1, 2]}, {"x": "hi"})
    assert base == cache_key("t", 1, {"b": [1, 2], "a": 1}, {"x": "hi"})  # key order does not matter
    assert (
        len(
            {
                base,
                cache_key("u", 1, {"a": 1, "b": [1, 2]}, {"x": "hi"}),
                cache_key("t", 2, {"a": 1, "b": [1, 2]}, {"x": "hi"}),
                cache_key("t", 1, {"a": 2, "b": [1, 2]}, {"x": "hi"}),
                cache_key("t", 1, {"a": 1, "b": [1, 2]}, {"x": "ho"}),
                cache_key("t", 1, {"a": 1, "b": [1, 2]}, {"x": 1}),
                cache_key("t", 1, {"a": 1, "b": [1, 2]}, {"x": True}),
                cache_key("t", 1, {"a": 1, "b": [1, 2]}, {"x": "hi"}, extra={"base_url": "http://h"}),
            }
        )
        == 8
    )


def test_values_json_cannot_hold_give_no_key_and_are_not_stored(cache: Cache) -> None:
    assert cache_key("t", 1, {}, {"x": {1, 2}}) is None
    assert cache_key("t", 1, {}, {"x": float("nan")}) is None
    assert cache_key("t", 1, {}, {"x": object()}) is None
    assert cache.put("k1", "t", {"out": object()}) is False
    assert cache.put("k2", "t", {"out": (1, 2)}) is False  # would come back as a list
    assert cache.put("k3", "t", {"out": {1: "a"}}) is False  # would come back with a str key
    assert cache.put("k4", "t", {"out": float("inf")}) is False
    assert cache.stats()["entries"] == 0


def test_put_get_round_trip_with_skips_and_usage(cache: Cache) -> None:
    usage = [{"provider": "p", "model": "m", "input_tokens": 3, "output_tokens": 4, "cost_usd": 0.01}]
    assert cache.put("k", "t", {"text": "hello", "n": [1, {"a": None}]}, {"other": "not taken"}, usage)
    hit = cache.get("k")
    assert hit.outputs == {"text": "hello", "n": [1, {"a": None}]}
    assert hit.skipped_outputs == {"other": "not taken"}
    assert hit.usage == usage
    assert cache.get("missing") is None
    assert "k" in cache and cache.stats()["hits"] == 1 and cache.stats()["misses"] == 1


def test_size_cap_evicts_least_recently_used_first(tmp_path: Path) -> None:
    with Cache(tmp_path / "c.sqlite3", max_mb=2000 / (1024 * 1024)) as small:  # 2000 bytes
        for name in ("a", "b", "c"):
            assert small.put(name, "t", {"out": name * 500})
        small.get("a")  # a is now more recently used than b
        assert small.put("d", "t", {"out": "d" * 500})
        assert "b" not in small
        assert "a" in small and "d" in small
        assert small.stats()["bytes"] <= 2000
        assert small.put("huge", "t", {"out": "x" * 5000}) is False  # larger than the whole cache


def test_two_processes_worth_of_connections_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    with Cache(path) as one, Cache(path) as two:
        errors: list[BaseException] = []

        def writer(c: Cache, prefix: str) -> None:
            try:
                for i in range(50):
                    c.put(f"{prefix}{i}", "t", {"out": i})
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(c, p)) for c, p in ((one, "x"), (two, "y"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert one.get("y49").outputs == {"out": 49} and two.get("x0").outputs == {"out": 0}


def test_the_default_location_is_the_user_cache_dir(isolated_user_dirs: Path) -> None:
    assert default_cache_path().is_relative_to(isolated_user_dirs / "cache")


# --- with the executor --------------------------------------------------------------------------


def _chain(b_label: str = "b"):
    #   a → b → c → out      a → d
    nodes = [
        fake("a", tokens=5, cost=0.25),
        fake("b", inputs=["x"], label=b_label, tokens=7),
        fake("c", inputs=["x"]),
        fake("d", inputs=["x"]),
        node("out", "io.output", name="c"),
    ]
    edges = [
        ("a", "out", "b", "x"),
        ("b", "out", "c", "x"),
        ("c", "out", "out", "value"),
        ("a", "out", "d", "x"),
    ]
    return analyze(nodes, edges)


def test_an_unchanged_rerun_makes_no_calls_and_reports_what_it_saved(cache: Cache) -> None:
    first = run(Executor(_chain(), settings=Settings(), cache=cache))
    assert sorted(CALLS) == ["a", "b", "c", "d"]
    CALLS.clear()

    executor = Executor(_chain(), settings=Settings(), cache=cache)
    captured = []
    second_run = executor.run()

    async def main() -> RunResult:
        second_run.subscribe(captured.append)
        return await second_run

    second = asyncio.run(main())
    assert CALLS == []
    assert second.outputs == first.outputs
    finished = {e.node_id: e for e in captured if e.kind == "node_finished"}
    assert finished["a"].cached and finished["a"].saved_tokens == 5 and finished["a"].saved_cost_usd == 0.25
    assert finished["a"].input_tokens == 0 and finished["a"].cost_usd is None
    assert not finished["out"].cached  # io nodes are not cacheable; they always run
    ended = captured[-1]
    assert ended.cache_hits == 4 and ended.saved_tokens == 12 and ended.input_tokens == 0


def test_editing_one_node_reruns_exactly_its_downstream_cone(cache: Cache) -> None:
    run(Executor(_chain(), settings=Settings(), cache=cache))
    CALLS.clear()
    result = run(Executor(_chain(b_label="B2"), settings=Settings(), cache=cache))
    assert sorted(CALLS) == ["b", "c"]
    assert result.outputs == {"c": "c(B2(a()))"}


def test_no_cache_turns_reading_off_but_still_writes(cache: Cache) -> None:
    run(Executor(_chain(), settings=Settings(), cache=cache), use_cache=False)
    assert len(CALLS) == 4
    CALLS.clear()
    run(Executor(_chain(), settings=Settings(), cache=cache), use_cache=False)
    assert len(CALLS) == 4  # reads are off
    CALLS.clear()
    run(Executor(_chain(), settings=Settings(), cache=cache))
    assert CALLS == []  # ...but the results were written


def test_always_run_nodes_run_every_time_and_their_downstream_still_hits(cache: Cache) -> None:
    def flow():
        nodes = [always_run("a"), fake("b", inputs=["x"])]
        return analyze(nodes, [("a", "out", "b", "x")])

    run(Executor(flow(), settings=Settings(), cache=cache))
    CALLS.clear()
    run(Executor(flow(), settings=Settings(), cache=cache))
    assert CALLS == ["a"]


def always_run(node_id: str):
    made = fake(node_id)
    return made.model_copy(update={"cache": False})


def test_what_a_node_resolves_outside_its_config_joins_the_key(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = analyze([fake("a")], [])
    monkeypatch.setenv("FAKE_ENDPOINT", "http://one")
    run(Executor(flow, settings=Settings(), cache=cache))
    run(Executor(flow, settings=Settings(), cache=cache))
    monkeypatch.setenv("FAKE_ENDPOINT", "http://two")
    run(Executor(flow, settings=Settings(), cache=cache))
    assert CALLS == ["a", "a"]


def test_failures_are_not_cached(cache: Cache) -> None:
    flow = analyze([fake("a", fail=True)], [])
    run(Executor(flow, settings=Settings(), cache=cache))
    run(Executor(flow, settings=Settings(), cache=cache))
    assert CALLS == ["a", "a"]


def test_outputs_json_cannot_hold_are_not_cached_and_do_not_crash(cache: Cache) -> None:
    flow = analyze([fake("a", value_kind="object"), fake("b", inputs=["x"])], [("a", "out", "b", "x")])
    for _ in range(2):
        assert run(Executor(flow, settings=Settings(), cache=cache)).ok
    assert CALLS == ["a", "b", "a", "b"]


def test_a_cache_hit_survives_a_restart(tmp_path: Path) -> None:
    """Two separate processes sharing the user cache dir: the second makes no calls."""
    script = textwrap.dedent(
        """
        import asyncio, json
        from app.core.cache import Cache
        from app.core.executor import Executor
        from app.core.settings import Settings
        from tests.core import fake_nodes
        from tests.core.fake_nodes import analyze, fake

        flow = analyze([fake("a", tokens=3), fake("b", inputs=["x"])], [("a", "out", "b", "x")])
        with Cache() as cache:
            result = asyncio.run(Executor(flow, settings=Settings(), cache=cache).run().wait())
        print(json.dumps({"calls": fake_nodes.CALLS, "hits": result.totals()["cache_hits"]}))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    outcomes = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
        )
        assert done.returncode == 0, done.stderr
        outcomes.append(json.loads(done.stdout))
    assert outcomes[0] == {"calls": ["a", "b"], "hits": 0}
    assert outcomes[1] == {"calls": [], "hits": 2}
