"""The final word on emitted tasks: the real harnesses from PyPI.

Generates the Flask and Express fixture tasks (both variants, both formats; express_pg_notes
needs PostgreSQL, which each task's run-tests.sh starts beside the service) and runs them
through Terminal-Bench's `tb run` and Harbor's `harbor run -e docker`, each with its oracle
and nop agent: the oracle must resolve every task and the nop none. The harnesses are
installed on first use (their own virtual environments, kept under the work folder).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import harness
from pipeline.config import Settings
from pipeline.generate import generate

pytestmark = [pytest.mark.docker, pytest.mark.e2e]

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def emitted(docker_engine, tmp_path_factory) -> tuple[Settings, list[str]]:
    base = tmp_path_factory.mktemp("harnesses")
    settings = Settings(
        work_dir=base / "work",
        out_dir=base / "tasks",
        variants=["implementation", "environment"],
        formats=["terminal-bench", "harbor"],
    )
    task_ids: list[str] = []
    for fixture in ("flask_todo", "express_books", "express_pg_notes"):
        source = base / fixture
        shutil.copytree(FIXTURES / fixture, source)
        result = generate(str(source), settings)
        verified = [t for t in result.tasks if t.status == "verified"]
        assert {t.kind for t in verified} == {"implementation", "environment"}, result.model_dump_json(indent=2)
        task_ids += [t.task_id for t in verified]
    return settings, task_ids


def test_oracle_resolves_and_nop_fails_in_both_harnesses(emitted):
    settings, task_ids = emitted
    report = harness.check(
        [settings.out_dir, settings.harbor_out_dir],
        harnesses=["terminal-bench", "harbor"],
        tools_dir=Settings().work_dir / "harness",  # shared across runs: installing takes a minute
        concurrency=2,
    )
    assert not report.problems, report.problems
    for name in ("terminal-bench", "harbor"):
        ran = sorted(r.task_id for r in report.results if r.harness == name)
        assert ran == sorted(task_ids), name
        assert report.rate(name, "oracle") == (len(task_ids), len(task_ids)), report.model_dump_json(indent=2)
        assert report.rate(name, "nop") == (0, len(task_ids)), report.model_dump_json(indent=2)
    assert report.ok


def test_harness_lint_findings_are_the_explained_ones(emitted):
    """`harbor lint` on an emitted task: only the findings the README explains (the Docker
    socket mount the service needs, and the verifier sharing the agent's sandbox)."""
    settings, task_ids = emitted
    command = harness.ensure_harness("harbor", Settings().work_dir / "harness")
    findings = harness.harbor_lint(command, settings.harbor_out_dir / task_ids[0])
    assert set(findings) <= harness.EXPLAINED_HARBOR_LINT, findings
