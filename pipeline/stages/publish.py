"""publish: the gate for a written task, then its publication in every asked-for format.

A staged Terminal-Bench folder is scanned for secrets once more (its tests and
instruction quote what the service answered), verified the way the harnesses run it
(stages/verify.py), and moved into the output folder atomically; the Harbor folder is
written from it after verification and published the same way. A rejected task's folder
goes to the evidence folder instead, with the report that says why.

`finished` answers whether a task's earlier outcome still holds, so a second run over
unchanged content does nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.models import StageError, StandIn, TaskOutcome, Verdict, VerificationReport
from pipeline.run import Run
from pipeline.stages import package, redact, verify
from pipeline.task_folder import published_task_key


def rejected(task_id: str, verdict: Verdict, reason: str, kind: str = "implementation") -> TaskOutcome:
    return TaskOutcome(task_id=task_id, path=None, kind=kind, status="rejected", verdict=verdict, reason=reason)


def verify_and_publish(
    run: Run, kind: str, task_id: str, staging: Path, stand_ins: list[StandIn] | None = None
) -> TaskOutcome:
    """The gate for one written variant (with the strength gate's `stand_ins`, if any), then
    publication; the staging folder is gone afterwards."""
    settings = run.settings
    try:
        leftover = redact.leftover_secrets(staging)
        if leftover:
            where = ", ".join(sorted({f"{f.file}:{f.line}" for f in leftover}))
            raise StageError(Verdict.secret_unredactable, f"secrets in the generated files: {where}")
        run.progress(f"verifying {task_id}")
        report: VerificationReport = run.stage("verify", verify.verify, staging, settings, run.run_id, stand_ins)
        package.record_verification(staging, report)
        if report.verdict != Verdict.passed:
            evidence = settings.work_dir / "rejected" / task_id
            shutil.rmtree(evidence, ignore_errors=True)
            shutil.move(str(staging), evidence)
            return rejected(task_id, report.verdict, f"{report.reason} (evidence: {evidence})", kind)
        published: dict[str, Path] = {}
        if "harbor" in settings.formats:
            harbor_staging = settings.work_dir / "staging-harbor" / task_id
            run.stage("harbor", package.write_harbor, staging, harbor_staging, settings)
            published["harbor"] = package.publish(harbor_staging, settings.harbor_out_dir, task_id)
            shutil.rmtree(harbor_staging, ignore_errors=True)
        if "terminal-bench" in settings.formats:
            published["terminal-bench"] = package.publish(staging, settings.out_dir, task_id)
        harbor = published.get("harbor")
        return TaskOutcome(
            task_id=task_id,
            path=str(published.get("terminal-bench", harbor)),
            harbor_path=str(harbor) if harbor else None,
            kind=kind,
            status="verified",
            verdict=Verdict.passed,
            reason=report.reason,
        )
    except StageError as exc:
        return rejected(task_id, exc.verdict, exc.reason, kind)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def finished(run: Run, task_id: str, cache_key: str, task_key: str) -> TaskOutcome | None:
    """The cached outcome of a task, if it still holds: a verified one must still be
    published, in every asked-for format, from the same content (`task_key`)."""
    outcome = run.cache.get("outcome", cache_key, TaskOutcome)
    if outcome is None:
        return None
    if outcome.status == "verified":
        published = package.published_dirs(run.settings, task_id)
        if any(published_task_key(folder) != task_key for folder in published.values()):
            return None
        harbor = published.get("harbor")
        path = published.get("terminal-bench", harbor)
        outcome = outcome.model_copy(update={"path": str(path), "harbor_path": str(harbor) if harbor else None})
    return outcome
