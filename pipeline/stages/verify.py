"""verify: the gate every task passes before it is emitted.

It runs the package's own run-tests.sh, so what is verified is what ships: the oracle
(solution.sh applied) must pass every time, the no-op (the masked repository as packaged)
must fail test_func while the service still builds and starts. For the environment
variant the no-op has no Dockerfile, so it must fail at the build instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from pipeline.config import Settings
from pipeline.models import RunResult, Verdict, VerificationReport
from pipeline.runtime import sandbox

STAGE_VERSION = "2"

EXIT_VERDICTS = {
    0: Verdict.passed,
    1: Verdict.tests_failed,
    10: Verdict.build_error,
    11: Verdict.startup_timeout,
    12: Verdict.service_crashed,
    13: Verdict.test_timeout,
    14: Verdict.oom,
    20: Verdict.infra_error,
}


def run_tests(
    task_copy: Path, run_id: str, settings: Settings, junit: Path | None = None, parent_run: str | None = None
) -> RunResult:
    """Run the package's run-tests.sh once, keeping its image for the next run's cache.

    `parent_run` (generate's run id) labels what the script makes, so that run's clean-up
    removes it even when this process is killed before its own clean-up."""
    env = dict(os.environ)
    env.update(
        {
            "ABC_RUN_ID": run_id,
            "KEEP_IMAGE": "1",
            "PYTHON": sys.executable,
            "BUILD_TIMEOUT": str(settings.limits.build_timeout),
            "STARTUP_TIMEOUT": str(settings.limits.startup_timeout),
            "TEST_TIMEOUT": str(settings.limits.test_timeout),
        }
    )
    if junit:
        env["JUNIT_XML"] = str(junit)
    if parent_run:
        env["ABC_PARENT_RUN"] = parent_run
    limit = settings.limits.build_timeout + settings.limits.startup_timeout + settings.limits.test_timeout + 60
    started = time.monotonic()
    try:
        proc = subprocess.run(
            ["bash", str(task_copy / "run-tests.sh")],
            cwd=task_copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit,
        )
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = 13, f"run-tests.sh exceeded {limit}s\n{exc.stdout or ''}"
    verdict = EXIT_VERDICTS.get(code, Verdict.infra_error)
    return RunResult(
        verdict=verdict, exit_code=code, seconds=round(time.monotonic() - started, 2), log_tail=output[-4000:]
    )


def _failed_files(junit: Path) -> set[str]:
    """Test files with at least one failing or erroring test, from a JUnit report."""
    if not junit.is_file():
        return set()
    failed = set()
    for case in ET.parse(junit).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add((case.get("classname") or "").split(".")[-1])
    return failed


def task_kind(task_dir: Path) -> str:
    """implementation or environment, from the task's metadata.json."""
    try:
        return json.loads((task_dir / "metadata.json").read_text()).get("kind", "implementation")
    except (OSError, ValueError):
        return "implementation"


def verify(task_dir: Path, settings: Settings, parent_run: str | None = None) -> VerificationReport:
    """The gate. An implementation task's no-op must build, start and fail test_func; an
    environment task's no-op (no Dockerfile) must fail to build."""
    kind = task_kind(task_dir)
    verify_id = uuid.uuid4().hex[:10]
    run_ids: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="verify-", dir=settings.work_dir))
    try:
        oracle = scratch / "oracle"
        shutil.copytree(task_dir, oracle, symlinks=True)
        applied = subprocess.run(["bash", "solution.sh"], cwd=oracle, capture_output=True, text=True, timeout=120)
        if applied.returncode != 0:
            return VerificationReport(
                oracle_runs=[],
                noop_run=None,
                verdict=Verdict.oracle_failed,
                reason=f"solution.sh failed: {(applied.stderr or applied.stdout).strip()[-300:]}",
            )
        oracle_runs: list[RunResult] = []
        for attempt in range(1, settings.oracle_runs + 1):
            run_ids.append(f"{verify_id}-oracle{attempt}")
            oracle_runs.append(run_tests(oracle, run_ids[-1], settings, parent_run=parent_run))
            if oracle_runs[-1].verdict == Verdict.infra_error:
                break
        passes = sum(r.verdict == Verdict.passed for r in oracle_runs)

        noop = scratch / "noop"
        shutil.copytree(task_dir, noop, symlinks=True)
        junit = scratch / "noop-junit.xml"
        run_ids.append(f"{verify_id}-noop")
        noop_run = run_tests(noop, run_ids[-1], settings, junit=junit, parent_run=parent_run)
        noop_failed_files = _failed_files(junit)
    finally:
        for run_id in run_ids:
            sandbox.cleanup(run_id, images=True)
        shutil.rmtree(scratch, ignore_errors=True)

    def report(verdict: Verdict, reason: str) -> VerificationReport:
        return VerificationReport(oracle_runs=oracle_runs, noop_run=noop_run, verdict=verdict, reason=reason)

    if any(r.verdict == Verdict.infra_error for r in [*oracle_runs, noop_run]):
        bad = next(r for r in [*oracle_runs, noop_run] if r.verdict == Verdict.infra_error)
        return report(Verdict.infra_error, _last_line(bad))
    if passes == 0:
        first = oracle_runs[0]
        return report(Verdict.oracle_failed, f"the original fails its tests ({first.verdict}): {_last_line(first)}")
    if passes < len(oracle_runs):
        return report(Verdict.oracle_flaky, f"the original passed {passes} of {len(oracle_runs)} runs")
    if noop_run.verdict == Verdict.passed:
        return report(Verdict.noop_passed, "the masked repository passes the tests: they do not test the masked code")
    if kind == "environment":
        # Nothing to build is the point of the variant: the no-op must stop at the build.
        if noop_run.verdict != Verdict.build_error:
            return report(
                Verdict.mask_failed,
                f"without a Dockerfile the service must not build; the no-op ended {noop_run.verdict}",
            )
        return report(Verdict.passed, f"oracle passed {passes}/{len(oracle_runs)}, no-op did not build")
    if noop_run.verdict != Verdict.tests_failed or "test_func" not in noop_failed_files:
        return report(
            Verdict.mask_failed, f"the masked service must build, start and fail test_func; it ended {noop_run.verdict}"
        )
    return report(Verdict.passed, f"oracle passed {passes}/{len(oracle_runs)}, no-op failed test_func")


def _last_line(run: RunResult) -> str:
    lines = [line for line in run.log_tail.splitlines() if line.strip()]
    return lines[-1][:300] if lines else f"exit code {run.exit_code}"
