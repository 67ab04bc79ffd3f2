"""Batches: many repositories from a mining manifest through `generate`, one at a time each.

This module holds the batch's logic without Prefect (flows/batch.py runs it as a flow):
- one repository's run (`run_repo`) never raises: its failure is a verdict in its result;
- a finished repository is recorded by content (pinned commit, stage versions, settings),
  so a re-run of the batch skips it (`finished`) as long as its published tasks are still
  in the output folder; an infra_error is never recorded, so it is tried again;
- Docker-heavy stages (build, verify) take a slot of a process-wide limit, so a batch
  running many repositories at once never builds more than `docker_slots` images at once;
- each repository's Docker objects carry a run id derived from the work folder and the
  repository, so a run killed midway is cleaned up when the batch starts again.

`run` skips finished repositories, then hands the rest to the `run_todo` it is given: the
Prefect flow of flows/batch.py (`flows.batch.run_flow`). This module never imports flows/:
the flows compose the pipeline, and the CLI imports the flow only when something is left
to run, so a batch with nothing to do never pays for Prefect's import or server.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from pipeline import __version__
from pipeline.cache import StageCache, content_key
from pipeline.config import Settings
from pipeline.generate import CRASHED, STAGE_VERSIONS, generate
from pipeline.mining.models import Candidate, read_manifest
from pipeline.models import GenerateResult, TaskOutcome, Verdict
from pipeline.runtime import sandbox
from pipeline.runtime.engine import DAEMON_ERRORS
from pipeline.task_folder import TaskFolder

log = logging.getLogger(__name__)
T = TypeVar("T")
DOCKER_STAGES = {"build", "verify"}


class RepoResult(BaseModel):
    """One repository's line in the batch report."""

    full_name: str
    source: str
    commit: str | None
    language: str | None = Field(default=None, description="from mining (the API's language)")
    framework_hints: list[str] = Field(default_factory=list, description="from mining (manifest dependencies)")
    languages: list[str] = Field(default_factory=list, description="what explore found")
    frameworks: list[str] = Field(default_factory=list, description="what explore found")
    verdict: Verdict
    reason: str
    tasks: list[TaskOutcome] = Field(default_factory=list)
    seconds: float = 0.0
    cached: bool = Field(default=False, description="taken from an earlier run of the batch, not run again")
    worker: str = Field(default="", description="host:pid that ran it (on a Dask cluster, which worker)")
    cached_stages: list[str] = Field(default_factory=list, description="stages taken from the content cache")

    @property
    def verified(self) -> list[TaskOutcome]:
        return [t for t in self.tasks if t.status == "verified"]


class BatchReport(BaseModel):
    manifest: str
    out_dir: str
    seconds: float
    repos: list[RepoResult]
    verdicts: dict[str, int] = Field(description="repositories per verdict")
    tasks_verified: int
    tasks_rejected: int
    repos_cached: int = Field(description="finished by an earlier run, not run again")
    repos_per_hour: float = Field(description="repositories run (not cached) per hour of this run")
    tasks_per_hour: float = Field(description="tasks verified by repositories run, per hour of this run")


def load_candidates(manifest: Path) -> list[Candidate]:
    """The accepted candidates of a manifest, each repository once."""
    seen: dict[str, Candidate] = {}
    for candidate in read_manifest(manifest):
        if candidate.decision == "accepted":
            seen.setdefault(candidate.full_name, candidate)
    return list(seen.values())


def _record_key(candidate: Candidate, settings: Settings) -> str | None:
    if not candidate.commit:
        return None  # an unpinned source may have moved: always run it
    return content_key(
        "batch-repo", candidate.clone_url, candidate.commit, STAGE_VERSIONS, settings.config_hash_input(), __version__
    )


def run_id_for(candidate: Candidate, settings: Settings) -> str:
    """Stable per work folder and repository: a killed run's leftovers are found again."""
    return "batch-" + content_key(str(settings.work_dir.resolve()), candidate.full_name)[:12]


def finished(candidate: Candidate, settings: Settings) -> RepoResult | None:
    """The recorded result of an earlier run, if its verified tasks are all still published."""
    key = _record_key(candidate, settings)
    if key is None:
        return None
    recorded = StageCache(settings.work_dir / "cache").get("batch", key, RepoResult)
    if recorded is None:
        return None
    for task in recorded.verified:
        if not TaskFolder.terminal_bench(settings.out_dir / task.task_id).metadata_file.is_file():
            return None
    tasks = [
        t.model_copy(update={"path": str(settings.out_dir / t.task_id)}) if t.status == "verified" else t
        for t in recorded.tasks
    ]
    return recorded.model_copy(update={"cached": True, "seconds": 0.0, "tasks": tasks})


class DockerSlots:
    """A process-wide limit on concurrent Docker builds and verifications."""

    _lock = threading.Lock()
    _slots: threading.BoundedSemaphore | None = None
    _size = 0

    @classmethod
    def get(cls, size: int) -> threading.BoundedSemaphore:
        with cls._lock:
            if cls._slots is None or cls._size != size:
                cls._slots, cls._size = threading.BoundedSemaphore(size), size
            return cls._slots


def docker_limited_runner(slots: int) -> Callable[..., Any]:
    semaphore = DockerSlots.get(slots)

    def runner(name: str, fn: Callable[..., T], *args: Any) -> T:
        if name in DOCKER_STAGES:
            with semaphore:
                return fn(*args)
        return fn(*args)

    return runner


def run_repo(candidate: Candidate, settings: Settings, docker_slots: int = 2) -> RepoResult:
    """Generate one repository's tasks; any failure ends as a verdict in the result."""
    started = time.monotonic()
    run_id = run_id_for(candidate, settings)
    try:
        # What a killed earlier attempt left in Docker (containers, networks, images).
        sandbox.cleanup(run_id, images=True)
        result = generate(candidate.source, settings, runner=docker_limited_runner(docker_slots), run_id=run_id)
    except (*DAEMON_ERRORS, OSError) as exc:  # the machine's fault: retried
        reason = f"infrastructure: {exc!r}"
        result = GenerateResult(repo=candidate.full_name, verdict=Verdict.infra_error, reason=reason)
    except Exception as exc:  # a bug must not end the batch: it becomes this repository's verdict
        log.exception("generate crashed on %s", candidate.full_name)
        result = GenerateResult(repo=candidate.full_name, verdict=Verdict.infra_error, reason=f"{CRASHED}{exc!r}")
    repo = RepoResult(
        full_name=candidate.full_name,
        source=candidate.source,
        commit=result.commit or candidate.commit,
        language=candidate.language,
        framework_hints=candidate.framework_hints,
        languages=sorted({s.language for s in result.services}),
        frameworks=sorted({s.framework for s in result.services}),
        verdict=result.verdict,
        reason=result.reason,
        tasks=result.tasks,
        seconds=round(time.monotonic() - started, 3),
        worker=f"{socket.gethostname()}:{os.getpid()}",
        cached_stages=sorted({s.name for s in result.stages if s.cached}),
    )
    key = _record_key(candidate, settings)
    if key and repo.verdict != Verdict.infra_error and not needs_retry(repo):
        StageCache(settings.work_dir / "cache").put("batch", key, repo)
    return repo


def needs_retry(result: RepoResult) -> bool:
    """Only the machine's faults are retried; a repository's own failure is final.

    A crash (a bug in the pipeline) is reported as infra_error, since the repository is not
    to blame, but retrying it would only crash again; it is not recorded either, so the
    batch runs it again once the pipeline is fixed.
    """
    if result.reason.startswith(CRASHED):
        return False
    return result.verdict == Verdict.infra_error or any(t.verdict == Verdict.infra_error for t in result.tasks)


def sweep_partial(out_dir: Path) -> list[str]:
    """Remove what a killed publish left (`.<id>.incoming`, `.<id>.old`): never a task."""
    removed = []
    if out_dir.is_dir():
        for path in out_dir.iterdir():
            if path.name.startswith(".") and path.name.endswith((".incoming", ".old")) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
    return removed


def summarize(manifest: Path, settings: Settings, results: list[RepoResult], seconds: float) -> BatchReport:
    verified = sum(len(r.verified) for r in results)
    rejected = sum(len(r.tasks) - len(r.verified) for r in results)
    # Throughput counts the work this run did: repositories taken from the record cost nothing.
    ran = [r for r in results if not r.cached]
    hours = max(seconds, 1e-9) / 3600
    return BatchReport(
        manifest=str(manifest),
        out_dir=str(settings.out_dir),
        seconds=round(seconds, 3),
        repos=results,
        verdicts=dict(Counter(str(r.verdict) for r in results)),
        tasks_verified=verified,
        tasks_rejected=rejected,
        repos_cached=len(results) - len(ran),
        repos_per_hour=round(len(ran) / hours, 1),
        tasks_per_hour=round(sum(len(r.verified) for r in ran) / hours, 1),
    )


def format_table(report: BatchReport) -> str:
    rows = [("repository", "verdict", "tasks", "seconds", "reason")]
    for r in report.repos:
        seconds = "cached" if r.cached else f"{r.seconds:.1f}"
        rows.append((r.full_name, str(r.verdict), f"{len(r.verified)}/{len(r.tasks)}", seconds, r.reason[:70]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)) for row in rows]
    lines.append(
        f"{len(report.repos)} repositories ({report.repos_cached} finished before), {report.tasks_verified} tasks "
        f"verified, {report.tasks_rejected} rejected in {report.seconds:.1f}s "
        f"({report.repos_per_hour:.0f} repositories/h, {report.tasks_per_hour:.0f} tasks/h)"
    )
    return "\n".join(lines)


def default_report_path(settings: Settings) -> Path:
    return settings.work_dir / "batches" / "latest.json"


def write_report(report: BatchReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(report.model_dump_json(indent=2) + "\n")
    os.replace(tmp, path)


def read_report(path: Path) -> BatchReport:
    return BatchReport.model_validate(json.loads(path.read_text()))


def select(report: BatchReport, framework: str | None = None, language: str | None = None) -> list[RepoResult]:
    """The repositories of a framework or language: what explore found, else mining's hints."""

    def matches(r: RepoResult) -> bool:
        if framework and framework.lower() in {f.lower() for f in (r.frameworks or r.framework_hints)}:
            return True
        found = r.languages or ([r.language] if r.language else [])
        return bool(language and language.lower() in {x.lower() for x in found})

    return [r for r in report.repos if matches(r)]


#: Runs the repositories a batch has not finished and returns one result per repository.
RunTodo = Callable[[list[Candidate]], list[RepoResult]]


def run(
    candidates: list[Candidate],
    settings: Settings,
    *,
    manifest: Path,
    run_todo: RunTodo,
    force: bool = False,
) -> BatchReport:
    """Run the candidates not finished before (all of them with force); report every one."""
    started = time.monotonic()
    sweep_partial(settings.out_dir)
    done = {} if force else {c.full_name: r for c in candidates if (r := finished(c, settings))}
    todo = [c for c in candidates if c.full_name not in done]
    ran = {r.full_name: r for r in run_todo(todo)} if todo else {}
    results = [done.get(c.full_name) or ran[c.full_name] for c in candidates]
    return summarize(manifest, settings, results, time.monotonic() - started)


def candidate_of(result: RepoResult) -> Candidate:
    """The manifest line a report's repository came from (for regenerate)."""
    url, _, _commit = result.source.partition("#")
    return Candidate(
        full_name=result.full_name,
        clone_url=url,
        default_branch="",
        commit=result.commit,
        language=result.language,
        framework_hints=result.framework_hints,
        decision="accepted",
        reason="selected for regeneration",
    )
