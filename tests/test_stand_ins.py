"""The strength gate's stand-ins and the task's strength, without Docker.

Stand-ins are masks that answer a canned answer: every supported framework must write
one that still parses (and, for Flask and FastAPI, answers it when called); `make` turns
them into patches that apply to the masked repository; `judge_stand_ins` turns a passing
stand-in into `tests_weak`. The whole gate path (real containers) is in
test_gate_rejects.py (`gate_tests_weak`) and test_e2e.py (`strength` recorded).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from toolbox import check_files

from pipeline.gitutil import commit_all
from pipeline.languages import FRAMEWORKS, get_framework
from pipeline.languages import treesitter as ts
from pipeline.languages.go.syntax import LANGUAGE as GO
from pipeline.models import (
    ApiGroup,
    CannedAnswer,
    Endpoint,
    Handler,
    Probe,
    RunResult,
    Scenario,
    StandIn,
    TestSuite,
    Verdict,
    VerificationReport,
)
from pipeline.runtime.trial import TrialOutcome
from pipeline.stages import stand_ins
from pipeline.stages.mask import mask_group
from pipeline.stages.verify import judge_stand_ins

FIXTURES = Path(__file__).parent / "fixtures"
SUPPORTED = {
    "flask_todo": "flask",
    "fastapi_notes": "fastapi",
    "django_library": "django",
    "express_books": "express",
    "koa_blog": "koa",
    "fastify_shop": "fastify",
    "nestjs_library": "nestjs",
    "gin_library": "gin",
    "echo_tasks": "echo",
    "chi_blog": "chi",
    "nethttp_notes": "nethttp",
    "spring_store": "spring",
    "axum_bookmarks": "axum",
    "actix_library": "actix",
    "aspnetcore_todo": "aspnetcore",
    "aspnetcore_catalog": "aspnetcore",
    "rails_blog": "rails",
    "sinatra_notes": "sinatra",
    "laravel_blog": "laravel",
    "slim_notes": "slim",
    "symfony_shop": "symfony",
}
#: A body with what breaks a string literal somewhere: quotes of both kinds, backslashes,
#: braces and placeholders, interpolation (`#{}`, `$x`), and text past ASCII.
ANSWER = CannedAnswer(
    status=207,
    json_body={"canned": ["{x}", "{p}", 1, None], "quote": 'it\'s "here" \\ #{x} $y', "name": "Zoë"},
)


def _endpoints(fixture: str, framework_name: str, root: Path) -> list[Endpoint]:
    framework = get_framework(framework_name)
    service = framework.detect(root)[0]
    return framework.discover(root, service)


@pytest.mark.parametrize("fixture", sorted(SUPPORTED))
@pytest.mark.parametrize(
    "answer", [ANSWER, CannedAnswer(status=204), CannedAnswer(status=202, echo=True)], ids=["json", "empty", "echo"]
)
def test_every_supported_framework_writes_a_stand_in_that_parses(fixture, answer, tmp_path, request):
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    name = SUPPORTED[fixture]
    endpoints = _endpoints(fixture, name, root)
    group = ApiGroup(name="all", description="", service_root=".", endpoints=endpoints)
    commit_all(root, "original")
    mask_group(root, group, name, {e.key: answer for e in endpoints})  # raises when a file does not reparse
    changed = sorted({e.handler.file for e in endpoints})
    texts = "".join((root / rel).read_text() for rel in changed)
    assert str(answer.status) in texts
    if name in ("flask", "fastapi", "django"):
        assert "Not implemented" not in texts  # (Express and Koa static-file middleware keep their 501)
    if answer.json_body is not None and name not in ("koa", "nestjs"):
        # The body reaches the source as the literal of its JSON text (Koa and NestJS
        # write it as an object literal instead).
        assert "u00eb" in texts
    scripts = [root / rel for rel in changed if rel.endswith(".js")]
    if scripts:
        for path, (code, output) in check_files(request, ["node", "--check"], "node", scripts).items():
            assert code == 0, (path, output)
    php = [root / rel for rel in changed if rel.endswith(".php")]
    if php:
        for path, (code, output) in check_files(request, ["php", "-l"], "php", php).items():
            assert code == 0, (path, output)


def test_every_framework_writes_stand_ins():
    # A framework added without stand_in_body would have its tasks' strength unchecked.
    assert [f.name for f in FRAMEWORKS if not f.supports_stand_ins] == []


def test_echo_is_skipped_when_the_tests_send_no_body_or_the_framework_cannot_echo(tmp_path):
    masked, group, suite = _flask_case(tmp_path)
    by_name = {s.name: s for s in stand_ins.make(masked, group, "flask", suite)}
    assert by_name["echo"].patch is None and by_name["echo"].skipped == "the tests send no request body"
    # FastAPI validates the body into the handler's model: echoing it back is not natural there.
    assert get_framework("fastapi").echoes is False and get_framework("gin").echoes is True


def _probe(method: str, path: str, status: int, body: object = None) -> Probe:
    return Probe(method=method, path_template=path, path=path, status=status, json_body=body)


def _flask_case(tmp_path: Path) -> tuple[Path, ApiGroup, TestSuite]:
    root = tmp_path / "masked"
    shutil.copytree(FIXTURES / "flask_todo", root)
    endpoints = [e for e in _endpoints("flask_todo", "flask", root) if e.path.startswith("/api/todos")]
    group = ApiGroup(name="todos", description="", service_root=".", endpoints=endpoints)
    steps = [
        _probe("POST", "/api/todos", 201, {"id": 1, "title": "x", "done": False}),
        _probe("GET", "/api/todos/{todo_id}", 200, {"id": 1, "title": "x", "done": False}),
        _probe("GET", "/api/todos/{todo_id}", 404, {"error": "not found"}),
        _probe("GET", "/api/todos/{todo_id}", 200, {"id": 2, "title": "y", "done": True}),
    ]
    suite = TestSuite(group="todos", test_connect="", test_func="", scenarios=[Scenario(name="s", steps=steps)])
    commit_all(root, "original")
    mask_group(root, group, "flask", None)
    return root, group, suite


def test_answers_take_the_most_recorded_status_and_its_first_body(tmp_path):
    _, group, suite = _flask_case(tmp_path)
    by_path = {e.key: e for e in group.endpoints}
    get_one = next(k for k, e in by_path.items() if e.method == "GET" and "<" in e.path)
    status_only = stand_ins.answers_for("status_only", group, suite)
    fixed = stand_ins.answers_for("fixed_body", group, suite)
    assert status_only[get_one] == CannedAnswer(status=200)
    assert fixed[get_one] == CannedAnswer(status=200, json_body={"id": 1, "title": "x", "done": False})
    # Endpoints the tests never call keep the plain mask.
    assert len(fixed) == 2 < len(group.endpoints)


def _client_answers(root: Path) -> list[str]:
    code = textwrap.dedent(
        """
        from app import app
        c = app.test_client()
        for r in (c.get("/api/todos/5"), c.post("/api/todos", json={}), c.get("/api/todos")):
            print(r.status_code, r.get_data(as_text=True).strip().replace("\\n", " ") or "-")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_stand_in_patches_apply_to_the_masked_repository_and_answer_canned(tmp_path):
    masked, group, suite = _flask_case(tmp_path)
    made = {s.name: s for s in stand_ins.make(masked, group, "flask", suite)}
    assert set(made) == {"status_only", "fixed_body", "echo"}
    assert made["status_only"].patch and made["fixed_body"].patch
    assert not masked.with_name("masked.stand-ins").exists()
    for name, expected_get in (("status_only", "200 -"), ("fixed_body", '200 {"id": 1, "title": "x", "done": false}')):
        copy = tmp_path / name
        shutil.copytree(masked, copy, ignore=shutil.ignore_patterns(".git"))
        subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
        subprocess.run(["git", "apply"], cwd=copy, input=made[name].patch, text=True, check=True)
        get_one, post, listing = _client_answers(copy)
        assert get_one == expected_get
        assert post.startswith("201")  # every request gets the canned answer, whatever it sent
        assert listing.startswith("501")  # not called by the tests: the plain mask stays


GO_HANDLERS = """package main

import "net/http"

func named(w http.ResponseWriter, r *http.Request) {
\tw.WriteHeader(200)
}

func blank(w http.ResponseWriter, _ *http.Request) {
\tw.WriteHeader(200)
}
"""


def _go_handler(name: str) -> Handler:
    root = ts.parse(GO_HANDLERS.encode(), GO).root_node
    fn = next(
        n
        for n in root.named_children
        if n.type == "function_declaration" and ts.text(n.child_by_field_name("name")) == name
    )
    return ts.handler_at("main.go", name, fn, fn.child_by_field_name("body"))


def test_net_http_echo_reads_the_named_request_else_answers_the_status_alone():
    framework = get_framework("nethttp")
    echo = CannedAnswer(status=201, echo=True)
    named = framework.stand_in_body(GO_HANDLERS.encode(), _go_handler("named"), echo).decode()
    assert "r.Body.Read(abcChunk)" in named and "w.WriteHeader(201)" in named
    # `_ *http.Request`: no request to read, so the echo answers as status_only does.
    blank = framework.stand_in_body(GO_HANDLERS.encode(), _go_handler("blank"), echo).decode()
    assert "func blank(w http.ResponseWriter, _ *http.Request) {\n\tw.WriteHeader(201)\n}" in blank
    assert blank.count("abcChunk") == 0


def test_echo_answers_the_request_body_where_the_tests_send_one(tmp_path):
    masked, group, suite = _flask_case(tmp_path)
    suite.scenarios[0].steps[0].body = {"title": "x"}  # the POST sends a body, the GETs do not
    answers = stand_ins.answers_for("echo", group, suite)
    assert sorted((a.status, a.echo) for a in answers.values()) == [(200, False), (201, True)]
    echo = next(s for s in stand_ins.make(masked, group, "flask", suite) if s.name == "echo")
    assert echo.patch and echo.skipped is None
    copy = tmp_path / "echo"
    shutil.copytree(masked, copy, ignore=shutil.ignore_patterns(".git"))
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "apply"], cwd=copy, input=echo.patch, text=True, check=True)
    get_one, post, listing = _client_answers(copy)
    assert (get_one, post, listing.split()[0]) == ("200 -", "201 {}", "501")


def test_solution_script_swaps_only_the_patch():
    script = "#!/bin/bash\ncat > f <<'ABC_PIPELINE_SOLUTION_PATCH'\nold\nABC_PIPELINE_SOLUTION_PATCH\ngit apply f\n"
    swapped = stand_ins.solution_script(script, "new\n")
    assert swapped == script.replace("old\n", "new\n")
    with pytest.raises(ValueError):
        stand_ins.solution_script("#!/bin/bash\n", "new\n")


# --------------------------------------------------------------------------- strength


@pytest.mark.parametrize(
    ("masked", "endpoints", "level"),
    [(14, 2, "easy"), (15, 2, "medium"), (14, 3, "medium"), (59, 5, "medium"), (60, 1, "hard"), (3, 6, "hard")],
)
def test_difficulty_thresholds(masked, endpoints, level):
    assert stand_ins.difficulty(masked, endpoints) == level


def test_measure_counts_asserts_and_restored_lines():
    test_func = textwrap.dedent(
        """
        def test_a(client):
            r = client.get("/x")
            assert r.status_code == 200
            for item in r.json():
                assert item["id"]
        def test_b(client):
            assert client.get("/y").status_code == 404
        """
    )
    patch = "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,4 @@\n-    return 501\n+    x = 1\n+\n+    return x\n"
    group = ApiGroup(name="g", description="", service_root=".", endpoints=[])
    strength = stand_ins.measure(group, test_func, patch)
    assert (strength.assertions, strength.masked_lines, strength.difficulty) == (3, 2, "easy")
    assert strength.stand_ins == []


# --------------------------------------------------------------------------- judging


def _report() -> VerificationReport:
    ok = RunResult(verdict=Verdict.passed, exit_code=0, seconds=1.0)
    failed = RunResult(verdict=Verdict.tests_failed, exit_code=1, seconds=1.0)
    return VerificationReport(oracle_runs=[ok], noop_run=failed, verdict=Verdict.passed, reason="oracle passed 1/1")


def _outcome(resolved: bool, code: int | None = None) -> TrialOutcome:
    tests = {"test_connect.py::test_up": True, "test_func.py::test_x": resolved}
    exit_code = code if code is not None else (0 if resolved else 1)
    return TrialOutcome(exit_code=exit_code, output="", seconds=2.0, tests=tests)


PATCHED = [StandIn(name="status_only", patch="p"), StandIn(name="fixed_body", patch="p")]


def test_a_passing_stand_in_makes_the_tests_weak_and_is_named():
    report = judge_stand_ins(_report(), PATCHED, {"status_only": _outcome(False), "fixed_body": _outcome(True)})
    assert report.verdict == Verdict.tests_weak
    assert "fixed_body" in report.reason and "status_only" not in report.reason
    assert [(o.name, o.passed) for o in report.stand_ins] == [("status_only", False), ("fixed_body", True)]
    assert set(report.stand_in_runs) == {"status_only", "fixed_body"}


def test_failing_stand_ins_keep_the_pass():
    report = judge_stand_ins(_report(), PATCHED, {"status_only": _outcome(False), "fixed_body": _outcome(False)})
    assert report.verdict == Verdict.passed
    assert report.reason == "oracle passed 1/1, stand-ins failed (status_only, fixed_body)"


def test_skipped_and_unappliable_stand_ins_are_recorded_not_judged():
    broken = TrialOutcome(exit_code=1, output="", seconds=0.1, setup_error="solution.sh exited 1: patch failed")
    skipped = [StandIn(name="status_only", skipped="gin has no stand-in answers"), PATCHED[1]]
    report = judge_stand_ins(_report(), skipped, {"fixed_body": broken})
    assert report.verdict == Verdict.passed
    assert [(o.name, o.passed, bool(o.skipped)) for o in report.stand_ins] == [
        ("status_only", False, True),
        ("fixed_body", False, True),
    ]
    assert report.reason.endswith("no stand-in ran")


def test_a_machine_fault_in_a_stand_in_is_infra_error():
    report = judge_stand_ins(_report(), PATCHED, {"status_only": _outcome(False, 20), "fixed_body": _outcome(False)})
    assert report.verdict == Verdict.infra_error


def test_the_verdict_is_in_the_vocabulary_and_the_schema():
    schema = json.loads((Path(stand_ins.__file__).parents[1] / "schemas" / "metadata.schema.json").read_text())
    assert Verdict.tests_weak == "tests_weak"
    assert "tests_weak" in json.dumps(schema) and "Strength" in schema["$defs"]


def test_fastapi_stand_in_answers_canned_past_its_response_model(tmp_path):
    root = tmp_path / "fastapi_notes"
    shutil.copytree(FIXTURES / "fastapi_notes", root)
    endpoints = _endpoints("fastapi_notes", "fastapi", root)
    group = ApiGroup(name="all", description="", service_root=".", endpoints=endpoints)
    answers = {e.key: CannedAnswer(status=200, json_body={"id": 7}) for e in endpoints if e.method == "POST"}
    answers |= {e.key: CannedAnswer(status=404) for e in endpoints if e.method == "GET" and "{" in e.path}
    commit_all(root, "original")
    mask_group(root, group, "fastapi", answers)
    code = textwrap.dedent(
        """
        from fastapi.testclient import TestClient
        from main import app
        c = TestClient(app)
        for r in (c.post("/api/notes/", json={"title": "x"}), c.get("/api/notes/1"), c.get("/health")):
            print(r.status_code, r.text or "-")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ['200 {"id": 7}', "404 -", '501 {"detail":"Not implemented"}']


def test_a_group_no_handler_of_which_takes_a_canned_answer_has_its_stand_ins_skipped(tmp_path):
    """A static-files group: its handlers are middleware mounts, which the 501 mask replaces
    and no stand-in answers otherwise; an empty patch is no stand-in (it broke solution.sh)."""
    root = tmp_path / "masked"
    shutil.copytree(FIXTURES / "express_assets", root)
    endpoints = [e for e in _endpoints("express_assets", "express", root) if e.group == "static"]
    assert endpoints
    group = ApiGroup(name="static", description="", service_root=".", endpoints=endpoints)
    steps = [_probe("GET", endpoints[0].path, 200)]
    suite = TestSuite(group="static", test_connect="", test_func="", scenarios=[Scenario(name="s", steps=steps)])
    commit_all(root, "original")
    mask_group(root, group, "express", None)
    made = stand_ins.make(root, group, "express", suite)
    assert [s.patch for s in made] == [None, None, None]
    assert {s.name: s.skipped for s in made}["status_only"] == "no handler of the group takes a canned answer"
