"""verify: the gate every task passes before it is emitted.

It runs the package the way Terminal-Bench and Harbor run it (see runtime/trial.py): the
package's client image built from its own Dockerfile, the tests in /tests, solution.sh
and run-tests.sh run inside the client, pytest's summary read as Terminal-Bench reads it.
The oracle (solution.sh applied) must be resolved every time; the no-op (the masked
repository as packaged) must fail test_func while the service still builds and starts.
For the environment variant the no-op has no Dockerfile, so it must fail at the build.

Then the strength gate: each stand-in solution (stages/stand_ins.py: the handlers answer
a canned answer, no logic) is run like the oracle, with its patch in solution.sh, and must
fail; one that passes rejects the task as `tests_weak`. Stand-ins run only when
everything before passed, in parallel, on the client image the oracle used (the
service's build reuses the oracle's layers up to the copied source).
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.config import Settings
from pipeline.models import RunResult, StageError, StandIn, StandInOutcome, Verdict, VerificationReport
from pipeline.runtime import sandbox
from pipeline.runtime.trial import TrialOutcome, build_client_image, run_trial
from pipeline.stages import stand_ins as stand_in_stage
from pipeline.stages.redact import scrub
from pipeline.task_folder import TaskFolder

STAGE_VERSION = "4"


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


def verify(
    task_dir: Path, settings: Settings, parent_run: str | None = None, stand_ins: list[StandIn] | None = None
) -> VerificationReport:
    """The gate. An implementation task's no-op must build, start and fail test_func; an
    environment task's no-op (no Dockerfile) must fail to build; every stand-in must fail."""
    kind = task_kind(task_dir)
    verify_id = uuid.uuid4().hex[:10]
    # Cut before stripping: a name component may not end with a separator.
    slug = re.sub(r"[^a-z0-9]+", "-", task_dir.name.lower())[:60].strip("-") or "task"
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

        def trial(name: str, with_solution: bool, solution: Path | None = None) -> TrialOutcome:
            return run_trial(
                image,
                task_dir,
                with_solution=with_solution,
                run_id=f"{verify_id}-{name}",
                parent_run=parent_run,
                limits=settings.limits,
                solution=solution,
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
        report = judge(kind, oracle_runs, noop_run, noop.failed_files())
        # The environment variant's stand-ins keep its solution.sh's tail, which writes the
        # verified Dockerfile: a weak agent's Dockerfile plus canned answers.
        if report.verdict != Verdict.passed or not stand_ins:
            return report
        runs = _stand_in_trials(task_dir, stand_ins, lambda name, script: trial(f"standin-{name}", True, script))
        return judge_stand_ins(report, stand_ins, runs)
    finally:
        names = [f"-oracle{n}" for n in range(1, settings.oracle_runs + 1)]
        names += ["-noop", *(f"-standin-{s.name}" for s in stand_ins or [])]
        for name in ["", *names]:
            sandbox.cleanup(f"{verify_id}{name}", images=True)


def _stand_in_trials(
    task_dir: Path, stand_ins: list[StandIn], trial: Callable[[str, Path], TrialOutcome]
) -> dict[str, TrialOutcome]:
    """Each stand-in with a patch, run like the oracle with its own solution.sh.

    In parallel: each trial is its own client container, network and service image
    (run-tests.sh names them by run id), so they share nothing but the layer cache."""
    solution = TaskFolder.terminal_bench(task_dir).solution.read_text()
    todo = [s for s in stand_ins if s.patch]
    if not todo:
        return {}
    with tempfile.TemporaryDirectory(prefix="abc-stand-ins-") as folder:
        scripts = {}
        for stand_in in todo:
            scripts[stand_in.name] = Path(folder) / f"{stand_in.name}.sh"
            scripts[stand_in.name].write_text(stand_in_stage.solution_script(solution, stand_in.patch or ""))
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            futures = {name: pool.submit(trial, name, script) for name, script in scripts.items()}
            return {name: future.result() for name, future in futures.items()}


def judge_stand_ins(
    report: VerificationReport, stand_ins: list[StandIn], runs: dict[str, TrialOutcome]
) -> VerificationReport:
    """The strength gate's verdict over a report that passed: `tests_weak` when a stand-in
    resolved the task (its name in the reason), `infra_error` when one could not be run."""
    outcomes: list[StandInOutcome] = []
    results: dict[str, RunResult] = {}
    for stand_in in stand_ins:
        outcome = runs.get(stand_in.name)
        if outcome is None:
            outcomes.append(StandInOutcome(name=stand_in.name, passed=False, skipped=stand_in.skipped or "no patch"))
            continue
        results[stand_in.name] = _run_result(outcome)
        if outcome.setup_error:
            # The pipeline wrote a patch that does not apply: its fault, not the tests'.
            skipped = f"its patch did not apply: {scrub(outcome.setup_error)[-200:]}"
            outcomes.append(StandInOutcome(name=stand_in.name, passed=False, skipped=skipped))
            continue
        outcomes.append(StandInOutcome(name=stand_in.name, passed=outcome.resolved))
    update = {"stand_ins": outcomes, "stand_in_runs": results}
    broken = next((r for r in results.values() if r.verdict == Verdict.infra_error), None)
    if broken is not None:
        return report.model_copy(update={**update, "verdict": Verdict.infra_error, "reason": _last_line(broken)})
    weak = [o.name for o in outcomes if o.passed]
    if weak:
        what = "; ".join(f"{name} ({stand_in_stage.STAND_INS.get(name, name)})" for name in weak)
        reason = f"a stand-in solution passes the tests, they do not test the behaviour: {what}"
        return report.model_copy(update={**update, "verdict": Verdict.tests_weak, "reason": reason})
    ran = [o.name for o in outcomes if o.skipped is None]
    reason = report.reason + (f", stand-ins failed ({', '.join(ran)})" if ran else ", no stand-in ran")
    return report.model_copy(update={**update, "reason": reason})


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
