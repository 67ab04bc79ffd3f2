"""A run's time budget (ABC_TIME_BUDGET): once spent, no further service or group starts;
those end budget_exhausted, which is never cached, so the next run takes them up."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import Verdict
from pipeline.run import Run
from pipeline.runtime import sandbox

FIXTURES = Path(__file__).parent / "fixtures"


def test_the_budget_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("ABC_TIME_BUDGET", "600")
    assert Settings().time_budget == 600.0
    monkeypatch.delenv("ABC_TIME_BUDGET")
    assert Settings().time_budget is None


@pytest.mark.docker
def test_a_spent_budget_leaves_the_groups_to_the_next_run(docker_engine, tmp_path, monkeypatch):
    settings = Settings(
        work_dir=tmp_path / "work",
        out_dir=tmp_path / "out",
        offline=True,
        oracle_runs=1,
        variants=["implementation"],
        time_budget=0,
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    spent = generate(str(FIXTURES / "flask_todo"), settings, run_id=run_id)
    assert spent.verdict == Verdict.budget_exhausted, spent.model_dump_json(indent=2)
    assert spent.tasks and all(t.verdict == Verdict.budget_exhausted for t in spent.tasks)
    assert "time budget of 0 s" in spent.tasks[0].reason
    assert not any((settings.work_dir / "cache").glob("outcome/*.json"))
    assert sandbox.leftovers(run_id) == []

    # The next run has time for the service and one variant's gate: the group's first variant
    # is verified, the second is left to the run after (and not cached).
    settings.time_budget = 3600
    settings.variants = ["implementation", "environment"]
    calls: list[str] = []

    def spent_at_the_second_variant(run):
        calls.append("asked")
        return None if len(calls) <= 2 else "the run's time budget was spent (test)"

    monkeypatch.setattr(Run, "budget_spent", spent_at_the_second_variant)
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    resumed = generate(str(FIXTURES / "flask_todo"), settings, run_id=run_id)
    assert resumed.verdict == Verdict.passed, resumed.model_dump_json(indent=2)
    by_kind = {t.kind: t for t in resumed.tasks}
    assert by_kind["implementation"].status == "verified"
    assert by_kind["environment"].verdict == Verdict.budget_exhausted
    assert len(list((settings.work_dir / "cache").glob("outcome/*.json"))) == 1  # the verified one only
    assert not (settings.out_dir / by_kind["environment"].task_id).exists()
    assert sandbox.leftovers(run_id) == []


def test_under_a_budget_the_cheaper_services_go_first():
    from pipeline.generate import _in_budget_order
    from pipeline.models import Service

    services = [
        Service(root=f"{lang}-svc", language=lang, framework="x", endpoints=[]) for lang in ("rust", "go", "python")
    ]
    assert [s.language for s in _in_budget_order(services, Settings(time_budget=None))] == ["rust", "go", "python"]
    assert [s.language for s in _in_budget_order(services, Settings(time_budget=600))] == ["python", "go", "rust"]


def test_a_build_cancelled_at_the_timeout_is_left_to_the_next_run(tmp_path):
    """Like a spent budget, a build cancelled at ABC_BUILD_TIMEOUT says more of the machine
    than of the repository: its outcome is not cached, so a run with a longer timeout builds
    again. A build that failed on its own is cached."""
    from pipeline.generate import _cache_outcomes
    from pipeline.run import run_plain
    from pipeline.stages import publish

    settings = Settings(work_dir=tmp_path / "work", variants=["implementation"])
    run = Run(settings, run_plain, lambda _message: None, "test-cache")
    timed_out = "build_timeout: [abc-pipeline] build timed out after 900 s and was cancelled (...)"
    _cache_outcomes(run, "t", "key", [publish.rejected("t", Verdict.build_error, timed_out, "implementation")])
    assert not any((settings.work_dir / "cache").glob("outcome/*.json"))
    failed = "unknown: error[E0425]: cannot find value `x` in this scope"
    _cache_outcomes(run, "t", "key", [publish.rejected("t", Verdict.build_error, failed, "implementation")])
    assert len(list((settings.work_dir / "cache").glob("outcome/*.json"))) == 1
