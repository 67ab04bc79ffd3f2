"""End to end with the agent: `abc-pipeline generate tests/fixtures/flask_todo --llm
openai/<name> --llm-api-base <scripted server>` through the real CLI, the real Prefect
engine, real Docker and litellm over real HTTP.

One run with a scripted model that does useful work (renames the group, adds a
validation test that survives the gate plus two that the gate drops, writes the
instruction), one with a model that answers nonsense: the static tasks are still emitted
and the metadata says why the agent's output was not used.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripted_llm import Reply, ScriptedLLM, role_of, text, tool_call, tool_results
from typer.testing import CliRunner

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from pipeline.cli import app  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FAKE_KEY = "sk-scripted-FAKE-key-0123456789abcdef"
pytestmark = [pytest.mark.docker, pytest.mark.e2e]


def _endpoints(request: dict[str, Any]) -> list[str]:
    system = request["messages"][0]["content"]
    return re.findall(r"^- `([A-Z]+ [^`]+)`: handler", system, flags=re.M)


GOOD_TEST = """def test_create_rejects_blank_title(base_url):
    response = requests.post(base_url + "/api/todos", json={"title": "   "}, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json() == {"error": "title is required"}
"""
FAILING_TEST = """def test_missing_todo_is_found(base_url):
    response = requests.get(base_url + "/api/todos/987654", timeout=TIMEOUT)
    assert response.status_code == 200
"""
NOOP_PASSING_TEST = """def test_unknown_route_is_404(base_url):
    response = requests.get(base_url + "/api/no-such-route", timeout=TIMEOUT)
    assert response.status_code == 404
"""


def good_model(request: dict[str, Any]) -> Reply:
    """A scripted model that looks first, then submits, per role."""
    role, done = role_of(request), len(tool_results(request))
    if role == "explorer":
        if done == 0:
            return tool_call("grep", {"pattern": "route", "path": "todo"})
        return tool_call(
            "submit",
            {
                "groups": [
                    {"original": "todos", "name": "todo_items", "description": "Create, read, update and delete todos."}
                ],
                # Defined, but no route points at it: the explorer's check must drop it.
                "new_endpoints": [
                    {
                        "method": "POST",
                        "path": "/api/todos/<int:todo_id>/archive",
                        "file": "todo/routes.py",
                        "handler": "archive_todo",
                        "group": "todos",
                    }
                ],
            },
        )
    if role == "test_writer":
        if done == 0:
            return tool_call("http_request", {"method": "POST", "path": "/api/todos", "json_body": {"title": "   "}})
        return tool_call(
            "submit",
            {
                "tests": [
                    {"name": "blank_title", "code": GOOD_TEST},
                    {"name": "missing", "code": FAILING_TEST},
                    {"name": "unknown_route", "code": NOOP_PASSING_TEST},
                ]
            },
        )
    if role == "instruction_writer":
        sections = "\n\n".join(
            f"### `{e}`\n\nImplement this endpoint as the existing conventions of the service suggest; answer JSON."
            for e in _endpoints(request)
        )
        instruction = (
            "## Task description\n\nThe todo API of this Flask service lost its handlers: implement them again.\n\n"
            f"## Endpoint specifications and requirements\n\n{sections}\n\n"
            "## Important notes\n\nKeep routes, the store and the response formats; a blank title answers 400.\n"
        )
        return tool_call("submit", {"instruction": instruction})
    return text("I cannot help with that.")


def nonsense_model(request: dict[str, Any]) -> Reply:
    """A model that never calls a tool usefully: prose, and broken tool calls."""
    if len(request["messages"]) % 2:
        return text("Bananas are berries. " * 5)
    return tool_call("submit", "{this is not json")


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("agent-work")


@contextlib.contextmanager
def _captured_logs() -> Iterator[io.StringIO]:
    """Every log record of the run at INFO (the pipeline's, litellm's, Prefect's); the
    pipeline's and the agent's at DEBUG."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root, ours = logging.getLogger(), logging.getLogger("pipeline")
    levels = (root.level, ours.level)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ours.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        ours.setLevel(levels[1])


def _generate(
    model: str, script, work_dir: Path, out: Path, oracle_runs: int = 2
) -> tuple[int, dict, ScriptedLLM, str]:
    env = {
        "ABC_WORK_DIR": str(work_dir),
        "ABC_LLM_API_KEY": FAKE_KEY,
        "ABC_LLM_MAX_STEPS": "6",
        "ABC_ORACLE_RUNS": str(oracle_runs),
    }
    args = ["generate", str(FIXTURES / "flask_todo"), "--out", str(out), "--json", "--llm", model]
    with ScriptedLLM(script) as llm, _captured_logs() as logs:
        result = CliRunner().invoke(app, [*args, "--llm-api-base", llm.api_base], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout), llm, logs.getvalue() + result.output


@pytest.fixture(scope="module")
def good_run(docker_engine, prefect_engine, work_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("good-out")
    code, payload, llm, logs = _generate("openai/scripted-good", good_model, work_dir, out)
    return code, payload, llm, out, logs


def test_the_agent_improves_the_task(good_run, work_dir):
    code, payload, llm, out, _logs = good_run
    assert code == 0, payload
    assert payload["groups"] == ["todo_items"]  # the explorer's name
    task = next(t for t in payload["tasks"] if t["status"] == "verified" and t["kind"] == "implementation")
    assert task["task_id"].endswith("__todo_items")
    folder = Path(task["path"])
    metadata = json.loads((folder / "metadata.json").read_text())
    agent = metadata["agent"]
    assert metadata["group"]["description"] == "Create, read, update and delete todos."
    assert agent["explorer"]["used"] is True
    assert agent["explorer"]["details"]["dropped"] == [
        "POST /api/todos/<int:todo_id>/archive: todo/routes.py does not route /api/todos/<int:todo_id>/archive "
        "to archive_todo"
    ]
    # The gate: one test kept, one dropped on the original, one dropped on the no-op.
    writer = agent["test_writer"]
    assert writer["used"] is True
    assert writer["details"]["kept"] == ["test_agent_create_rejects_blank_title"]
    reasons = {d["function"]: d["reason"] for d in writer["details"]["dropped"]}
    assert reasons["test_agent_missing_todo_is_found"].startswith("oracle_failed")
    assert reasons["test_agent_unknown_route_is_404"].startswith("noop_passed")
    test_func = (folder / "tests" / "test_func.py").read_text()
    assert "def test_agent_create_rejects_blank_title(base_url):" in test_func
    assert "test_agent_missing_todo_is_found" not in test_func
    # The verify gate ran the shipped suite, agent test included.
    assert metadata["verification_report"]["verdict"] == "passed"
    # The instruction is the model's.
    instruction = (folder / "task.yaml").read_text()
    assert "Important notes" in instruction
    assert agent["instruction_writer"]["used"] is True
    assert payload["agent"]["calls"] == len(llm.requests)
    assert payload["agent"]["calls"] == 5  # explorer 2, test writer 2, instruction writer 1


def test_transcripts_are_saved_redacted_and_outside_the_task(good_run, work_dir):
    _code, payload, llm, out, logs = good_run
    transcripts = sorted((work_dir / "evidence").glob("*/agent/*.json"))
    roles = {p.stem.rsplit("-", 1)[0] for p in transcripts}
    assert roles == {"explorer", "test_writer", "instruction_writer"}
    first = json.loads(transcripts[0].read_text())
    assert first["usage"]["calls"] >= 1 and first["steps"]
    # The key went to the server (so the test can fail), and nowhere else.
    assert any(FAKE_KEY in h.get("Authorization", "") for h in llm.headers)
    for path in [*work_dir.rglob("*"), *out.rglob("*")]:
        if path.is_file() and path.stat().st_size < 5_000_000:
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    assert FAKE_KEY not in logs
    assert FAKE_KEY not in json.dumps(payload)
    assert not list(out.rglob("agent/*.json"))


def test_a_nonsense_model_leaves_the_static_tasks(docker_engine, prefect_engine, work_dir, tmp_path):
    code, payload, llm, logs = _generate("openai/nonsense", nonsense_model, work_dir, tmp_path / "out", oracle_runs=1)
    assert code == 0, payload
    assert payload["groups"] == ["todos"]  # static names
    task = next(t for t in payload["tasks"] if t["status"] == "verified" and t["kind"] == "implementation")
    metadata = json.loads((Path(task["path"]) / "metadata.json").read_text())
    agent = metadata["agent"]
    for role in ("explorer", "test_writer", "instruction_writer"):
        assert agent[role]["used"] is False
        assert "budget exhausted" in agent[role]["reason"], agent[role]
    assert "test_agent" not in (Path(task["path"]) / "tests" / "test_func.py").read_text()
    assert any("not used" in note for note in payload["agent"]["notes"])
    assert FAKE_KEY not in logs
