"""The four roles: their checks (the gate each output passes) and their runs over real
HTTP against the scripted server. No Docker: a small local HTTP service stands in for
the running service where a role needs one.
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scripted_llm import ScriptedLLM, sequence, text, tool_call, tool_results

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from pipeline.agent import explorer, instruction_writer, test_writer  # noqa: E402
from pipeline.agent.repairer import AgentRepairStrategy  # noqa: E402
from pipeline.config import LlmSettings, Settings  # noqa: E402
from pipeline.models import EnvSpec, RepoSnapshot  # noqa: E402
from pipeline.stages import explore, repair  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "flask_todo"


def _settings(llm: ScriptedLLM, **overrides) -> LlmSettings:
    return LlmSettings(model="openai/scripted", api_base=llm.api_base, backoff_seconds=0.05, **overrides)


@pytest.fixture(autouse=True)
def fake_key(monkeypatch):
    monkeypatch.setenv("ABC_LLM_API_KEY", "sk-scripted-FAKE-key-roles-0123456789")


@pytest.fixture(scope="module")
def inventory():
    snapshot = RepoSnapshot(path=FIXTURE, commit="0" * 40, origin=str(FIXTURE), owner="local", name="flask_todo")
    return explore.explore(snapshot, Settings())


# --------------------------------------------------------------------------- explorer


def test_explorer_adds_a_routed_endpoint_the_static_pass_missed(inventory, tmp_path):
    missed = next(e for e in inventory.groups[0].endpoints if e.method == "DELETE")
    partial = inventory.model_copy(deep=True)
    for holder in (partial.services[0].endpoints, partial.groups[0].endpoints):
        holder[:] = [e for e in holder if e.key != missed.key]
    submit = {
        "groups": [{"original": "todos", "name": "todo_items", "description": "Todos: create, read, change, delete."}],
        "new_endpoints": [
            {
                "method": "DELETE",
                "path": missed.path,
                "file": "todo/routes.py",
                "handler": "delete_todo",
                "group": "todos",
            },
            {
                "method": "GET",
                "path": "/api/todos/<int:todo_id>/archive",
                "file": "todo/routes.py",
                "handler": "archive_todo",
                "group": "todos",
            },
            {"method": "GET", "path": "/api/x", "file": "todo/routes.py", "handler": "no_such_fn", "group": "todos"},
            {"method": "GET", "path": "/api/x", "file": "../../etc/passwd", "handler": "x", "group": "todos"},
        ],
    }
    with ScriptedLLM(sequence(tool_call("read_file", {"path": "todo/routes.py"}), tool_call("submit", submit))) as llm:
        run, changes = explorer.run(FIXTURE, partial, _settings(llm), tmp_path / "explorer-1.json")
    assert run.ok and changes is not None
    assert changes.added == [f"DELETE {missed.path}"]
    added = next(e for e in changes.inventory.groups[0].endpoints if e.method == "DELETE")
    assert added.handler == missed.handler  # the same byte ranges the static pass finds: maskable
    assert changes.inventory.groups[0].name == "todo_items"
    assert [d.split(": ", 1)[1] for d in changes.dropped] == [
        "todo/routes.py does not route /api/todos/<int:todo_id>/archive to archive_todo",
        "todo/routes.py defines no function no_such_fn",
        "../../etc/passwd defines no function x",
    ]


def test_explorer_names_are_checked_and_a_bad_answer_leaves_the_inventory(inventory, tmp_path):
    bad = {"groups": [{"original": "todos", "name": "Todo Items!", "description": "x"}]}
    problems = explorer.check(inventory)(explorer.ExplorerResult.model_validate(bad))
    assert problems == ["name 'Todo Items!' must match [a-z0-9_]+"]
    dup = {
        "groups": [
            {"original": "todos", "name": "a", "description": "x"},
            {"original": "nope", "name": "a", "description": "y"},
        ]
    }
    problems = explorer.check(inventory)(explorer.ExplorerResult.model_validate(dup))
    assert any("no group 'nope'" in p for p in problems) and "group names must be unique" in problems
    with ScriptedLLM(sequence(tool_call("submit", bad))) as llm:
        run, changes = explorer.run(FIXTURE, inventory, _settings(llm, max_steps=2), tmp_path / "e.json")
    assert changes is None and run.status == "budget_exhausted"
    assert "must match" in tool_results(llm.requests[-1])[0]


# --------------------------------------------------------------------------- instruction writer

PATCH = """--- a/todo/routes.py
+++ b/todo/routes.py
@@ -1,2 +1,3 @@
 def create_todo():
-    return not_implemented()
+    item = store.add(title.strip(), done)
+    return jsonify(item), 201
"""


def test_instruction_gate(inventory):
    group = inventory.groups[0]
    names = "\n".join(f"### `{e.method} {e.path}`\nDoes its job, answering JSON." for e in group.endpoints)
    good = "## Task description\n\nImplement the todo API.\n\n" + names + "\n\n## Important notes\n\nKeep routes."
    assert instruction_writer.problems(good, group, PATCH) == []
    assert instruction_writer.problems("Implement it.", group, PATCH)[0].startswith("the instruction is shorter")
    missing = good.replace(f"`{group.endpoints[0].method} {group.endpoints[0].path}`", "it")
    assert instruction_writer.problems(missing, group, PATCH) == [
        f"the instruction does not name `{group.endpoints[0].method} {group.endpoints[0].path}`"
    ]
    leaky = good + "\n\nHint: `item = store.add(title.strip(), done)`"
    assert "solution code" in instruction_writer.problems(leaky, group, PATCH)[0]


def test_a_leaking_instruction_writer_falls_back_to_static(inventory, tmp_path):
    group = inventory.groups[0]
    names = "\n".join(f"`{e.method} {e.path}`" for e in group.endpoints)
    leaky = "## Task description\n" + names + "\nDo: item = store.add(title.strip(), done)\n" + "x" * 300
    job = instruction_writer.assignment(FIXTURE, group, "flask", "static text", PATCH)
    with ScriptedLLM(sequence(tool_call("submit", {"instruction": leaky}))) as llm:
        run, textout, why = instruction_writer.run(job, _settings(llm, max_steps=3), tmp_path / "i.json", group, PATCH)
    assert textout is None and why.startswith("budget_exhausted")
    assert all("solution code" in r for r in tool_results(llm.requests[-1]))
    assert len(llm.requests) == 3


# --------------------------------------------------------------------------- test writer


def test_written_tests_are_checked_and_renamed():
    bad = test_writer.TestWriterResult.model_validate(
        {
            "tests": [
                {"name": "a", "code": "def test_a(base_url):\n    assert (\n"},
                {"name": "b", "code": "def helper():\n    pass\n\ndef test_b(base_url):\n    pass\n"},
                {"name": "c", "code": "def check_c(base_url):\n    pass\n"},
                {"name": "d", "code": "def test_d():\n    pass\n"},
            ]
        }
    )
    problems = test_writer.check(bad)
    assert len(problems) == 4 and problems[0].startswith("a: ")
    good = test_writer.TestWriterResult.model_validate(
        {"tests": [{"name": "x", "code": "def test_x(base_url):\n    pass\n"}] * 2}
    )
    assert [t.function for t in test_writer.normalize(good)] == ["test_agent_x", "test_agent_x_2"]


class _Service(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits += 1
        status = {"/ok": 200, "/missing": 404, "/flaky": 200 if type(self).hits % 2 else 500}.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_gate_drops_failing_flaky_and_noop_passing_tests(service):
    def t(name: str, path: str, status: int) -> test_writer.AgentTest:
        code = (
            f"def {name}(base_url):\n"
            f"    r = requests.get(base_url + {path!r}, timeout=TIMEOUT)\n"
            f"    assert r.status_code == {status}\n"
        )
        return test_writer.AgentTest(function=name, code=code)

    tests = [t("test_agent_ok", "/ok", 200), t("test_agent_wrong", "/ok", 201), t("test_agent_flaky", "/flaky", 200)]
    kept, dropped = test_writer.gate_on_original(tests, service)
    assert [k.function for k in kept] == ["test_agent_ok"]
    reasons = {d.function: d.reason for d in dropped}
    assert reasons["test_agent_wrong"].startswith("oracle_failed")
    assert reasons["test_agent_flaky"].startswith("oracle_flaky")
    # On the "no-op" the route is gone: /ok answers 200 here, so a test expecting it passes.
    noop = [t("test_agent_ok", "/ok", 200), t("test_agent_gone", "/missing", 200)]
    kept, dropped = test_writer.gate_on_noop(noop, service, PATCH)
    assert [k.function for k in kept] == ["test_agent_gone"]
    assert dropped[0].reason.startswith("noop_passed")


# --------------------------------------------------------------------------- environment repairer

ENV = EnvSpec(
    service_root=".",
    language="python",
    framework="flask",
    base_image="python:3.11-slim-bookworm",
    dockerfile="FROM python:3.11-slim-bookworm\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
    'CMD ["python", "app.py"]\n',
    port=8000,
    start_command=["python", "app.py"],
)
FACTS = repair.ServiceFacts(language="python", framework="flask")


def test_repairer_uses_the_rules_first_then_the_model(tmp_path):
    runs = []
    fixed = ENV.dockerfile.replace("RUN pip install", "RUN sed -i '/does-not-exist/d' requirements.txt && pip install")
    script = sequence(
        tool_call("read_file", {"path": "requirements.txt"}),
        tool_call("submit", {"dockerfile": ENV.dockerfile, "change": "nothing"}),  # rejected: unchanged
        tool_call("submit", {"dockerfile": fixed, "change": "drop the package PyPI does not have", "port": 8000}),
    )
    with ScriptedLLM(script) as llm:
        strategy = AgentRepairStrategy(
            Path(__file__).parent / "fixtures" / "build_fails_app",
            _settings(llm),
            lambda: tmp_path / "r.json",
            runs.append,
        )
        # A class the rules fix: no model call.
        env_log = "KeyError: 'SECRET_KEY'"
        ruled = strategy.propose(repair.classify(env_log, "start"), env_log, ENV, FACTS)
        assert ruled is not None and ruled.change.startswith("rules: set SECRET_KEY")
        assert llm.requests == []
        # An unknown failure: the model is asked, and its unchanged Dockerfile is refused.
        log = "ERROR: No matching distribution found for abc-pipeline-fixture-package-that-does-not-exist==9.9.9"
        proposal = strategy.propose(repair.classify(log, "build"), log, ENV, FACTS)
    assert proposal is not None and proposal.env.dockerfile == fixed
    assert proposal.change == "llm: drop the package PyPI does not have"
    assert "this is the Dockerfile that failed" in tool_results(llm.requests[-1])[1]
    assert len(runs) == 1 and runs[0].ok
    assert "abc-pipeline-fixture-package-that-does-not-exist" in tool_results(llm.requests[-1])[0]


def test_a_silent_model_gives_no_repair(tmp_path):
    with ScriptedLLM(sequence(text("no idea"))) as llm:
        strategy = AgentRepairStrategy(
            FIXTURE, _settings(llm, max_steps=2), lambda: tmp_path / "r.json", lambda r: None
        )
        assert strategy.propose(repair.classify("boom", "build"), "boom", ENV, FACTS) is None
