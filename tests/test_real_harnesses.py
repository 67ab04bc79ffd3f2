"""The final word on emitted tasks: the real harnesses from PyPI.

Generates the Flask and Express fixture tasks (both variants, both formats; express_pg_notes
needs PostgreSQL, which each task's run-tests.sh starts beside the service) and runs them
through Terminal-Bench's `tb run` and Harbor's `harbor run -e docker`, each with its oracle
and nop agent: the oracle must resolve every task and the nop none. The harnesses are
installed on first use (their own virtual environments, kept under the work folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import harness
from pipeline.config import Settings

pytestmark = [pytest.mark.docker, pytest.mark.e2e]


HARNESS_FIXTURES = ("flask_todo", "express_books", "express_pg_notes")


@pytest.fixture(scope="module")
def emitted(fixture_tasks) -> tuple[list[Path], list[str]]:
    """The task folders of both layouts, and the verified task ids. flask_todo and
    express_books are test_e2e's own tasks (tests/conftest.py generates each once)."""
    folders: list[Path] = []
    task_ids: list[str] = []
    for fixture in HARNESS_FIXTURES:
        made = fixture_tasks(fixture)
        assert {t.kind for t in made.verified} == {"implementation", "environment"}, made.result.model_dump_json(
            indent=2
        )
        folders += [made.settings.out_dir, made.settings.harbor_out_dir]
        task_ids += [t.task_id for t in made.verified]
    return folders, task_ids


def test_oracle_resolves_and_nop_fails_in_both_harnesses(emitted):
    folders, task_ids = emitted
    report = harness.check(
        folders,
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
    folders, task_ids = emitted
    command = harness.ensure_harness("harbor", Settings().work_dir / "harness")
    harbor_task = next(folder / task_ids[0] for folder in folders if (folder / task_ids[0] / "task.toml").is_file())
    findings = harness.harbor_lint(command, harbor_task)
    assert set(findings) <= harness.EXPLAINED_HARBOR_LINT, findings
