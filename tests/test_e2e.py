"""End to end: a fixture repository in, a verified Terminal-Bench task out, through the
real Prefect engine, a real Docker engine and real HTTP.

These tests need Docker: in CI they fail when it is missing (see conftest.docker_engine).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.models import Verdict

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = [pytest.mark.docker, pytest.mark.e2e]


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("work")


def _pipeline_leftovers() -> list[str]:
    """Containers, networks and non-base images the pipeline made that still exist."""
    from pipeline.runtime import sandbox

    return sandbox.leftovers()


@pytest.mark.parametrize("fixture", ["flask_todo", "fastapi_notes", "express_books"])
def test_generate_emits_a_verified_task(fixture, fixture_tasks):
    made = fixture_tasks(fixture)  # shared with test_real_harnesses (tests/conftest.py)
    out, result = made.settings.out_dir, made.result

    verified = made.verified
    assert verified, result.model_dump_json(indent=2)
    assert result.verdict == Verdict.passed
    task = Path(verified[0].path)
    assert task.parent == out
    for name in ("task.yaml", "Dockerfile", "docker-compose.yaml", "run-tests.sh", "solution.sh", "metadata.json"):
        assert (task / name).is_file(), name
    for name in ("conftest.py", "test_connect.py", "test_func.py"):
        assert (task / "tests" / name).is_file(), name
    assert os.access(task / "run-tests.sh", os.X_OK)
    metadata = json.loads((task / "metadata.json").read_text())
    report = metadata["verification_report"]
    assert report["verdict"] == "passed"
    assert [r["verdict"] for r in report["oracle_runs"]] == ["passed", "passed"]
    assert report["noop_run"]["verdict"] == "tests_failed"
    assert metadata["license"]["spdx_id"] == "MIT"
    assert metadata["masked_symbols"]
    # The strength gate ran its stand-ins and every one failed; difficulty is task.yaml's.
    strength = metadata["strength"]
    # echo runs where the framework echoes and the tests send a body (a create); FastAPI
    # validates the body into a model, so it has no echo stand-in.
    echo = {"name": "echo", "passed": False, "skipped": None}
    if fixture == "fastapi_notes":
        echo["skipped"] = "fastapi does not echo a request's body"
    assert strength["stand_ins"] == [
        {"name": "status_only", "passed": False, "skipped": None},
        {"name": "fixed_body", "passed": False, "skipped": None},
        echo,
    ]
    ran = {"status_only", "fixed_body"} | ({"echo"} if echo["skipped"] is None else set())
    assert set(report["stand_in_runs"]) == ran
    assert strength["endpoints"] == len(metadata["endpoints"]) and strength["masked_lines"] > 0
    assert strength["assertions"] > 0 and strength["difficulty"] in ("easy", "medium", "hard")
    assert yaml.safe_load((task / "task.yaml").read_text())["difficulty"] == strength["difficulty"]
    # Nothing half-written or left over in the output folder, nothing left running.
    assert sorted(p.name for p in out.iterdir()) == sorted(t.task_id for t in verified)
    harbor = made.settings.harbor_out_dir
    assert sorted(p.name for p in harbor.iterdir()) == sorted(t.task_id for t in verified)
    assert made.leftovers == set()


def test_second_run_is_cached_and_task_reverifies(fixture_tasks):
    from flows.generate import generate_flow

    made = fixture_tasks("flask_todo")  # the first run (shared, tests/conftest.py)
    first, settings = made.result, made.settings
    second = generate_flow(str(FIXTURES / "flask_todo"), settings)
    assert [t.task_id for t in second.tasks] == [t.task_id for t in first.tasks]
    assert second.verdict == Verdict.passed
    ran = [s.name for s in second.stages if not s.cached and s.seconds > 0.5]
    assert ran == [], f"warm run recomputed {ran}"
    assert not any(s.name in ("build", "verify", "testgen") for s in second.stages)

    # The shipped run-tests.sh passes with solution.sh applied and fails without it.
    task = Path(next(t.path for t in second.tasks if t.status == "verified"))
    result = CliRunner().invoke(app, ["verify", str(task)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verdict"] == "passed"


def _generate_json(source: Path, work_dir: Path, out: Path) -> tuple[int, dict]:
    env = {**os.environ, "ABC_WORK_DIR": str(work_dir)}
    result = CliRunner().invoke(app, ["generate", str(source), "--out", str(out), "--json"], env=env)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize(
    ("fixture", "verdict"),
    [
        ("not_mit_app", "license_rejected"),
        ("no_endpoints_lib", "no_endpoints"),
        ("build_fails_app", "build_error"),
        (None, "license_rejected"),  # an empty folder: there is no LICENSE to accept
    ],
)
def test_bad_repositories_end_with_a_verdict(fixture, verdict, docker_engine, prefect_engine, work_dir, tmp_path):
    source = FIXTURES / fixture if fixture else tmp_path / "empty"
    source.mkdir(exist_ok=True)
    before = set(_pipeline_leftovers())
    code, payload = _generate_json(source, work_dir, tmp_path / "out")
    assert code == 1
    assert payload["verdict"] == verdict, payload
    reason = payload["reason"] if not payload["tasks"] else payload["tasks"][0]["reason"]
    assert reason and "\n" not in payload["reason"]
    assert not any(t["status"] == "verified" for t in payload["tasks"])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert set(_pipeline_leftovers()) - before == set()


def test_cli_generate_runs_standalone_with_an_ephemeral_prefect(tmp_path):
    """The real command, in its own process: its own ephemeral Prefect, exit code 1."""
    source = tmp_path / "repo"
    shutil.copytree(FIXTURES / "not_mit_app", source)
    env = {**os.environ, "ABC_WORK_DIR": str(tmp_path / "work"), "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "generate", str(source), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["verdict"] == "license_rejected"
    assert "Apache-2.0" in payload["reason"]


def test_usage_error_exits_2():
    result = CliRunner().invoke(app, ["generate"])
    assert result.exit_code == 2
