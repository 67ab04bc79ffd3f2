"""The gate's reject paths, each produced by a real repository made for it.

Three fixtures go through the whole pipeline (real Docker, real HTTP, the real gate) and
must end with the gate's verdict, reported and not published:

- gate_oracle_failed: its answers name the instance that served them (a random id), so what
  the pipeline recorded cannot hold in the gate's containers (`oracle_failed`);
- gate_noop_passed: a response cache ahead of the views answers for the masked view
  (`noop_passed`);
- gate_mask_failed: a start-up self-check calls the view; masked, the service never
  starts (`mask_failed`);
- gate_tests_weak: its views answer constants, so the strength gate's `fixed_body`
  stand-in (each view answers its recorded status and body) passes (`tests_weak`).

`oracle_flaky` needs an original that passes some of the gate's runs and fails others;
no fixture does that deterministically (each trial is a fresh container with nothing
shared between them), so that verdict is tested on `verify.judge`, the function that
decides it, with the run results a flaky original gives.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import RunResult, Verdict
from pipeline.runtime import sandbox
from pipeline.stages.verify import judge

FIXTURES = Path(__file__).parent / "fixtures"


def _run(verdict: Verdict, tests: dict[str, bool] | None = None, tail: str = "") -> RunResult:
    codes = {Verdict.passed: 0, Verdict.tests_failed: 1, Verdict.build_error: 10, Verdict.infra_error: 20}
    return RunResult(verdict=verdict, exit_code=codes.get(verdict, 12), seconds=1.0, log_tail=tail, tests=tests)


PASSED = {"test_connect.py::test_get": True, "test_func.py::test_get": True}
FUNC_FAILED = {"test_connect.py::test_get": True, "test_func.py::test_get": False}


@pytest.mark.docker
@pytest.mark.e2e
@pytest.mark.parametrize(
    ("fixture", "verdict", "noop"),
    [
        ("gate_oracle_failed", Verdict.oracle_failed, "tests_failed"),
        ("gate_noop_passed", Verdict.noop_passed, "passed"),
        ("gate_mask_failed", Verdict.mask_failed, "service_crashed"),
        ("gate_tests_weak", Verdict.tests_weak, "tests_failed"),
    ],
)
def test_the_gate_rejects_and_nothing_is_published(fixture, verdict, noop, docker_engine, tmp_path):
    source = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, source)
    settings = Settings(
        work_dir=tmp_path / "work",
        out_dir=tmp_path / "out",
        oracle_runs=1,
        variants=["implementation"],
        formats=["terminal-bench", "harbor"],
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(source), settings, run_id=run_id)

    assert len(result.tasks) == 1, result.model_dump_json(indent=2)
    task = result.tasks[0]
    assert (task.status, task.verdict) == ("rejected", verdict), result.model_dump_json(indent=2)
    assert result.verdict == verdict
    assert task.path is None and task.harbor_path is None
    # Nothing published in either format; the package stays as evidence of the verdict.
    for out in (settings.out_dir, settings.harbor_out_dir):
        assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
    evidence = settings.work_dir / "rejected" / task.task_id
    assert f"(evidence: {evidence})" in task.reason
    report = json.loads((evidence / "metadata.json").read_text())["verification_report"]
    assert report["verdict"] == verdict
    assert report["noop_run"]["verdict"] == noop
    if verdict == Verdict.tests_weak:
        # The stand-in that passed is named, in the reason and in the task's strength.
        assert "fixed_body" in task.reason and "status_only" not in task.reason
        stand_ins = json.loads((evidence / "metadata.json").read_text())["strength"]["stand_ins"]
        assert {s["name"]: s["passed"] for s in stand_ins} == {"status_only": False, "fixed_body": True, "echo": False}
    assert sandbox.leftovers(run_id) == []


@pytest.mark.docker
@pytest.mark.e2e
def test_a_masked_tree_that_does_not_compile_is_mask_failed_with_the_compilers_error(docker_engine, tmp_path):
    # gate_mask_uncompiled: a Go service whose only handler of its group uses a dot import;
    # masked, the import is unused and go build refuses the tree. The mask stage builds it
    # in Docker and says so before anything is packaged or verified.
    source = tmp_path / "gate_mask_uncompiled"
    shutil.copytree(FIXTURES / "gate_mask_uncompiled", source)
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True, oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(source), settings, run_id=run_id)

    assert [(t.status, t.verdict) for t in result.tasks] == [("rejected", Verdict.mask_failed)], result
    reason = result.tasks[0].reason
    assert reason.startswith("the masked tree does not compile: ") and "words.go:" in reason, reason
    # Go 1.19 says `"strings" imported and not used`, newer ones `imported and not used: "strings"`.
    assert "imported and not used" in reason and '"strings"' in reason, reason
    assert not settings.out_dir.exists() or not any(settings.out_dir.iterdir())
    timings = {s.name for s in result.stages}
    assert "mask_build" in timings and "verify" not in timings and "package" not in timings
    assert sandbox.leftovers(run_id) == []


# --------------------------------------------------------------------------- judge


def test_an_original_that_passes_one_run_of_two_is_flaky():
    report = judge(
        "implementation",
        [_run(Verdict.passed, PASSED), _run(Verdict.tests_failed, FUNC_FAILED)],
        _run(Verdict.tests_failed, FUNC_FAILED),
        {"test_func"},
    )
    assert report.verdict == Verdict.oracle_flaky
    assert report.reason == "the original passed 1 of 2 runs"


@pytest.mark.parametrize(
    "second",
    [Verdict.tests_failed, Verdict.startup_timeout, Verdict.service_crashed, Verdict.oom, Verdict.test_timeout],
)
def test_any_failing_oracle_run_after_a_pass_is_flaky(second):
    report = judge(
        "implementation",
        [_run(Verdict.passed, PASSED), _run(second)],
        _run(Verdict.tests_failed, FUNC_FAILED),
        {"test_func"},
    )
    assert report.verdict == Verdict.oracle_flaky


def test_flaky_is_judged_before_the_noop():
    # A no-op that passes says nothing more once the original is not reliable.
    report = judge(
        "implementation",
        [_run(Verdict.tests_failed, FUNC_FAILED), _run(Verdict.passed, PASSED)],
        _run(Verdict.passed, PASSED),
        set(),
    )
    assert report.verdict == Verdict.oracle_flaky


def test_a_machine_fault_in_any_run_is_infra_error_not_flaky():
    tail = "run-tests: verdict=infra_error (the build failed for a reason of the machine: no space left on device)"
    report = judge(
        "implementation",
        [_run(Verdict.passed, PASSED), _run(Verdict.infra_error, tail=tail)],
        _run(Verdict.tests_failed, FUNC_FAILED),
        {"test_func"},
    )
    assert report.verdict == Verdict.infra_error
    assert report.reason == tail


def test_an_environment_task_whose_noop_builds_is_mask_failed():
    report = judge(
        "environment", [_run(Verdict.passed, PASSED)], _run(Verdict.tests_failed, FUNC_FAILED), {"test_func"}
    )
    assert report.verdict == Verdict.mask_failed


def test_a_noop_that_fails_only_test_connect_is_mask_failed():
    connect_only = {"test_connect.py::test_get": False, "test_func.py::test_get": True}
    report = judge(
        "implementation", [_run(Verdict.passed, PASSED)], _run(Verdict.tests_failed, connect_only), {"test_connect"}
    )
    assert report.verdict == Verdict.mask_failed
