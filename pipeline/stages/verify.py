"""verify: the gate every task passes before it is emitted.

It runs the package the way Terminal-Bench and Harbor run it (see runtime/trial.py): the
package's client image built from its own Dockerfile, the tests in /tests, solution.sh
and run-tests.sh run inside the client, pytest's summary read as Terminal-Bench reads it.
The oracle (solution.sh applied) must be resolved every time; the no-op (the masked
repository as packaged) must fail test_func while the service still builds and starts.
For the environment variant the no-op has no Dockerfile, so it must fail at the build.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from pipeline.config import Settings
from pipeline.models import RunResult, StageError, Verdict, VerificationReport
from pipeline.runtime import sandbox
from pipeline.runtime.trial import TrialOutcome, build_client_image, run_trial
from pipeline.stages.redact import scrub
from pipeline.task_folder import TaskFolder

STAGE_VERSION = "3"


def task_kind(task_dir: Path) -> str:
    """implementation or environment, from the task's metadata.json."""
    return TaskFolder.terminal_bench(task_dir).summary().kind or "implementation"


def _run_result(outcome: TrialOutcome) -> RunResult:
    return RunResult(
        verdict=outcome.verdict,
        exit_code=outcome.exit_code,
        seconds=outcome.seconds,
        log_tail=scrub(outcome.output[-4000:]),  # the service's log is in it: metadata.json keeps it
        tests=outcome.tests,
    )


def verify(task_dir: Path, settings: Settings, parent_run: str | None = None) -> VerificationReport:
    """The gate. An implementation task's no-op must build, start and fail test_func; an
    environment task's no-op (no Dockerfile) must fail to build."""
    kind = task_kind(task_dir)
    verify_id = uuid.uuid4().hex[:10]
    slug = re.sub(r"[^a-z0-9]+", "-", task_dir.name.lower()).strip("-")[:60] or "task"
    oracle_runs: list[RunResult] = []
    try:
        try:
            image = build_client_image(
                task_dir,
                f"abc-client-{slug}:verify-{verify_id}",
                run_id=verify_id,
                parent_run=parent_run,
                timeout=settings.limits.build_timeout,
            )
        except StageError as exc:
            return VerificationReport(oracle_runs=[], noop_run=None, verdict=exc.verdict, reason=exc.reason)

        def trial(name: str, with_solution: bool) -> TrialOutcome:
            return run_trial(
                image,
                task_dir,
                with_solution=with_solution,
                run_id=f"{verify_id}-{name}",
                parent_run=parent_run,
                limits=settings.limits,
            )

        for attempt in range(1, settings.oracle_runs + 1):
            outcome = trial(f"oracle{attempt}", with_solution=True)
            if outcome.setup_error:
                return VerificationReport(
                    oracle_runs=[_run_result(outcome)],
                    noop_run=None,
                    verdict=Verdict.oracle_failed,
                    reason=scrub(outcome.setup_error),
                )
            oracle_runs.append(_run_result(outcome))
            if outcome.verdict == Verdict.infra_error:
                break
        noop = trial("noop", with_solution=False)
        noop_run = _run_result(noop)
    finally:
        for name in ["", *(f"-oracle{n}" for n in range(1, settings.oracle_runs + 1)), "-noop"]:
            sandbox.cleanup(f"{verify_id}{name}", images=True)
    return judge(kind, oracle_runs, noop_run, noop.failed_files())


def judge(
    kind: str, oracle_runs: list[RunResult], noop_run: RunResult, noop_failed_files: set[str]
) -> VerificationReport:
    """The gate's verdict from its trials."""

    def report(verdict: Verdict, reason: str) -> VerificationReport:
        return VerificationReport(oracle_runs=oracle_runs, noop_run=noop_run, verdict=verdict, reason=reason)

    passes = sum(r.verdict == Verdict.passed for r in oracle_runs)
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
