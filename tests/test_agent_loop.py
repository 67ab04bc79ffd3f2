"""The agent loop over real HTTP: litellm against the scripted OpenAI-compatible server.

No Docker: the tools used here read a fixture repository.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel
from scripted_llm import ScriptedLLM, error, sequence, text, tool_call, tool_results

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from pipeline.agent import loop  # noqa: E402
from pipeline.agent.tools import REPO_TOOLS, Tool, Toolbox, Workspace  # noqa: E402
from pipeline.config import LlmSettings  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "flask_todo"
FAKE_KEY = "sk-scripted-FAKE-key-abcdef0123456789"


class Answer(BaseModel):
    answer: str


def _broken(ws: Workspace) -> str:
    raise RuntimeError("disk on fire")


def _job(check=None) -> loop.Assignment:
    tools = Toolbox().add(*REPO_TOOLS, Tool("broken", "always raises", {"type": "object", "properties": {}}, _broken))
    return loop.Assignment(
        role="tester",
        prompt="# Role: tester\nAnswer.",
        result_model=Answer,
        toolbox=tools,
        workspace=Workspace(repo_root=FIXTURE),
        check=check,
    )


def _settings(llm: ScriptedLLM, **overrides) -> LlmSettings:
    return LlmSettings(model="openai/scripted", api_base=llm.api_base, backoff_seconds=0.05, **overrides)


@pytest.fixture(autouse=True)
def fake_key(monkeypatch):
    monkeypatch.setenv("ABC_LLM_API_KEY", FAKE_KEY)
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-very-secret-value-42")


def test_malformed_calls_go_back_to_the_model_and_the_run_still_submits(tmp_path):
    script = sequence(
        tool_call("read_file", '{"path": "app.py"'),  # invalid JSON
        tool_call("no_such_tool", {}),
        tool_call("broken", {}),  # a tool that raises
        tool_call("read_file", {"path": "../../../etc/passwd"}),
        tool_call("read_file", {"wrong": 1}),
        text("thinking out loud"),
        tool_call("submit", {"nope": 1}),  # schema error
        tool_call("submit", {"answer": "done"}),
    )
    with ScriptedLLM(script) as llm:
        run = loop.run(_job(), _settings(llm), tmp_path / "t.json")
    assert run.ok and run.result == {"answer": "done"}
    answers = tool_results(llm.requests[-1])
    assert answers[0].startswith("error: the arguments are not valid JSON")
    assert answers[1].startswith("error: there is no tool 'no_such_tool'")
    assert answers[2] == "error: the tool broken failed: RuntimeError: disk on fire"
    assert "outside the repository" in answers[3]
    assert answers[4].startswith("error: bad arguments for read_file")
    assert answers[5].startswith("error: the result does not match the schema")
    assert run.usage.calls == 8 and run.usage.prompt_tokens == 800 and run.usage.completion_tokens == 160


def test_a_rejected_result_is_explained_and_can_be_fixed(tmp_path):
    check = lambda r: [] if r.answer == "42" else ["the answer must be 42"]  # noqa: E731
    script = sequence(tool_call("submit", {"answer": "41"}), tool_call("submit", {"answer": "42"}))
    with ScriptedLLM(script) as llm:
        run = loop.run(_job(check), _settings(llm), tmp_path / "t.json")
    assert run.result == {"answer": "42"}
    assert "the answer must be 42" in tool_results(llm.requests[-1])[0]


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"max_steps": 3}, "step budget exhausted (3 of 3 model calls)"),
        ({"max_tokens": 250}, "token budget exhausted (360 of 250 tokens)"),
        ({"max_dollars": 0.1, "input_cost_per_1k": 0.05, "output_cost_per_1k": 1.0}, "dollar budget exhausted"),
        ({"max_seconds": 0.0}, "time budget exhausted"),
    ],
)
def test_budgets_stop_the_run(tmp_path, limits, reason):
    with ScriptedLLM(sequence(tool_call("list_files", {}))) as llm:
        run = loop.run(_job(), _settings(llm, **limits), tmp_path / "t.json")
    assert run.status == "budget_exhausted" and not run.ok
    assert run.reason.startswith(reason)
    assert len(llm.requests) == run.usage.calls
    if "max_dollars" in limits:
        assert run.usage.cost == pytest.approx(0.025 * run.usage.calls)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_provider_errors_are_retried_with_backoff(tmp_path, status):
    script = sequence(error(status), error(status), tool_call("submit", {"answer": "ok"}))
    with ScriptedLLM(script) as llm:
        run = loop.run(_job(), _settings(llm), tmp_path / "t.json")
    assert run.ok
    # Exactly three requests: litellm's and the OpenAI client's own retries are off.
    assert len(llm.requests) == 3
    saved = json.loads((tmp_path / "t.json").read_text())
    events = saved["steps"][0]["events"]
    assert [e["retry_in"] for e in events] == [0.05, 0.1]


def test_retries_run_out_and_a_client_error_is_not_retried(tmp_path):
    with ScriptedLLM(sequence(error(500))) as llm:
        run = loop.run(_job(), _settings(llm, max_retries=2), tmp_path / "a.json")
    assert run.status == "provider_error" and len(llm.requests) == 3
    with ScriptedLLM(sequence(error(401, "bad key"))) as llm:
        run = loop.run(_job(), _settings(llm), tmp_path / "b.json")
    assert run.status == "provider_error" and len(llm.requests) == 1


def test_the_transcript_is_redacted(tmp_path):
    leaky = f"the key is {FAKE_KEY}, the token tok-very-secret-value-42, AKIAIOSFODNN7EXAMPLE"
    script = sequence(text(leaky), tool_call("submit", {"answer": leaky}))
    with ScriptedLLM(script) as llm:
        run = loop.run(_job(), _settings(llm), tmp_path / "t.json")
    assert any(FAKE_KEY in h.get("Authorization", "") for h in llm.headers)  # it was used
    saved = (tmp_path / "t.json").read_text()
    for secret in (FAKE_KEY, "tok-very-secret-value-42", "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in saved
    assert "[REDACTED]" in saved
    data = json.loads(saved)
    assert data["usage"]["calls"] == 2 and data["status"] == "submitted"
    assert run.transcript == str(tmp_path / "t.json")
