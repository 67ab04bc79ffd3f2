"""One repository in, verified tasks out: the stages of DESIGN.md in order.

Every stage goes through `StageRunner`, which the Prefect flow replaces with one that runs
each stage as a Prefect task; the logic stays here, callable without Prefect. Results are
cached by content, so a second run over an unchanged repository rebuilds nothing.
Failures are values: a StageError ends as a verdict in the result, never a traceback, and
one service or group failing does not stop the others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import docker.errors
from pydantic import BaseModel

from pipeline import __version__
from pipeline.cache import StageCache, content_key, tree_hash
from pipeline.config import Settings
from pipeline.gitutil import commit_all
from pipeline.models import (
    ApiGroup,
    EnvSpec,
    GenerateResult,
    Inventory,
    LicenseVerdict,
    RedactionReport,
    RepoSnapshot,
    Service,
    ServiceSummary,
    StageError,
    StageTiming,
    TaskOutcome,
    TestSuite,
    Verdict,
    VerificationReport,
)
from pipeline.runtime import sandbox
from pipeline.stages import (
    acquire,
    environment,
    explore,
    license,
    mask,
    package,
    redact,
    repair,
    testgen,
    verify,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

STAGE_VERSIONS = {
    "acquire": acquire.STAGE_VERSION,
    "license": license.STAGE_VERSION,
    "redact": redact.STAGE_VERSION,
    "explore": explore.STAGE_VERSION,
    "environment": environment.STAGE_VERSION,
    "testgen": testgen.STAGE_VERSION,
    "mask": mask.STAGE_VERSION,
    "package": package.STAGE_VERSION,
    "verify": verify.STAGE_VERSION,
}


class StageRunner(Protocol):
    def __call__(self, name: str, fn: Callable[..., T], *args: Any) -> T: ...


def run_plain(name: str, fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class _Run:
    """State of one generate run: settings, cache, timings, the run id for cleanup."""

    def __init__(self, settings: Settings, runner: StageRunner, progress: Callable[[str], None]) -> None:
        self.settings = settings
        self.runner = runner
        self.progress = progress
        self.cache = StageCache(settings.work_dir / "cache")
        self.timings: list[StageTiming] = []
        self.run_id = uuid.uuid4().hex[:12]

    def stage(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        started = time.monotonic()
        try:
            return self.runner(name, fn, *args)
        except StageError as exc:
            exc.stage = exc.stage or name
            raise
        finally:
            self.timings.append(StageTiming(name=name, seconds=round(time.monotonic() - started, 3), cached=False))

    def cached_stage(self, name: str, key: str, model: type[M], fn: Callable[..., M], *args: Any) -> M:
        hit = self.cache.get(name, key, model)
        if hit is not None:
            self.timings.append(StageTiming(name=name, seconds=0.0, cached=True))
            return hit
        value = self.stage(name, fn, *args)
        self.cache.put(name, key, value)
        return value


def generate(
    source: str,
    settings: Settings,
    runner: StageRunner = run_plain,
    progress: Callable[[str], None] | None = None,
) -> GenerateResult:
    run = _Run(settings, runner, progress or log.info)
    result = GenerateResult(repo=source, verdict=Verdict.infra_error, reason="not started")
    try:
        _generate(source, run, result)
    except StageError as exc:
        result.verdict, result.reason = exc.verdict, f"{exc.stage}: {exc.reason}" if exc.stage else exc.reason
    finally:
        sandbox.cleanup(run.run_id, images=True)
        result.stages = run.timings
    return result


def _generate(source: str, run: _Run, result: GenerateResult) -> None:
    settings = run.settings
    run.progress(f"acquiring {source}")
    snapshot = run.stage("acquire", acquire.acquire, source, settings)
    result.repo = f"{snapshot.owner}/{snapshot.name}"
    result.commit = snapshot.commit
    config = settings.config_hash_input()

    lic = run.cached_stage(
        "license",
        content_key(snapshot.commit, STAGE_VERSIONS["license"]),
        LicenseVerdict,
        license.check_license,
        snapshot,
    )
    if not lic.accepted:
        raise StageError(Verdict.license_rejected, lic.reason, stage="license")

    prepared, redaction = _prepare(run, snapshot)
    inventory = run.cached_stage(
        "explore",
        content_key(snapshot.commit, STAGE_VERSIONS["explore"], config, "explore"),
        Inventory,
        explore.explore,
        prepared,
        settings,
    )
    result.services = [
        ServiceSummary(root=s.root, language=s.language, framework=s.framework) for s in inventory.services
    ]
    result.endpoints = sum(len(s.endpoints) for s in inventory.services)
    result.groups = [g.name for g in inventory.groups]
    if not inventory.groups:
        raise StageError(Verdict.no_endpoints, "endpoints were found, but none outside health checks", stage="explore")
    run.progress(f"found {result.endpoints} endpoints in {len(inventory.groups)} groups")

    for service in inventory.services:
        groups = [g for g in inventory.groups if g.service_root == service.root]
        if groups:
            result.tasks.extend(_service_tasks(run, snapshot, prepared, lic, redaction, inventory, service, groups))

    verified = [t for t in result.tasks if t.status == "verified"]
    if verified:
        result.verdict, result.reason = Verdict.passed, f"{len(verified)} of {len(result.tasks)} tasks verified"
    elif result.tasks:
        first = result.tasks[0]
        result.verdict, result.reason = first.verdict, f"no task verified; {first.task_id}: {first.reason}"


def _prepare(run: _Run, snapshot: RepoSnapshot) -> tuple[RepoSnapshot, RedactionReport]:
    """The redacted copy of the snapshot that every later stage reads (a git tree)."""
    key = content_key(snapshot.commit, STAGE_VERSIONS["redact"])
    target = run.settings.work_dir / "prepared" / f"{snapshot.path.name}-{key}"
    prepared = snapshot.model_copy(update={"path": target})
    report = run.cache.get("redact", key, RedactionReport)
    if report is not None and target.is_dir():
        run.timings.append(StageTiming(name="redact", seconds=0.0, cached=True))
        return prepared, report

    def redact_copy() -> RedactionReport:
        tmp = target.with_name(target.name + f".tmp-{run.run_id}")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(snapshot.path, tmp, symlinks=True)
        try:
            found = redact.redact_tree(tmp)
            commit_all(tmp, "redacted")
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return found

    report = run.stage("redact", redact_copy)
    run.cache.put("redact", key, report)
    return prepared, report


def _task_key(snapshot: RepoSnapshot, group: ApiGroup, env: EnvSpec, settings: Settings) -> str:
    return content_key(snapshot.commit, STAGE_VERSIONS, settings.config_hash_input(), group, env, __version__)


def _rejected(task_id: str, verdict: Verdict, reason: str) -> TaskOutcome:
    return TaskOutcome(task_id=task_id, path=None, status="rejected", verdict=verdict, reason=reason)


def _service_tasks(
    run: _Run,
    snapshot: RepoSnapshot,
    prepared: RepoSnapshot,
    lic: LicenseVerdict,
    redaction: RedactionReport,
    inventory: Inventory,
    service: Service,
    groups: list[ApiGroup],
) -> list[TaskOutcome]:
    settings = run.settings
    ids = {g.name: package.task_id_for(snapshot, g) for g in groups}
    try:
        env = run.stage("environment", environment.synthesize, prepared, inventory, service, settings)
    except StageError as exc:
        return [_rejected(ids[g.name], exc.verdict, exc.reason) for g in groups]

    # Finished work first: a task published or rejected for the same content is done.
    outcomes: dict[str, TaskOutcome] = {}
    keys = {g.name: _task_key(snapshot, g, env, settings) for g in groups}
    for group in groups:
        done = _finished(run, ids[group.name], keys[group.name])
        if done:
            outcomes[group.name] = done
    todo = [g for g in groups if g.name not in outcomes]
    if not todo:
        run.timings.append(StageTiming(name="tasks", seconds=0.0, cached=True))
        return [outcomes[g.name] for g in groups]

    environment.write_environment(env, prepared.path)
    commit_all(prepared.path, "environment")
    try:
        suites = _characterize(run, snapshot, prepared, env, todo)
    except StageError as exc:
        for group in todo:
            outcomes[group.name] = _rejected(ids[group.name], exc.verdict, exc.reason)
            run.cache.put("outcome", keys[group.name], outcomes[group.name])
        return [outcomes[g.name] for g in groups]

    for group in todo:
        task_id, key = ids[group.name], keys[group.name]
        suite = suites.get(group.name)
        if isinstance(suite, StageError):
            outcome = _rejected(task_id, suite.verdict, suite.reason)
        else:
            outcome = _make_task(run, snapshot, prepared, lic, redaction, service, group, env, suite, task_id, key)
        if outcome.verdict != Verdict.infra_error:
            run.cache.put("outcome", key, outcome)
        outcomes[group.name] = outcome
    return [outcomes[g.name] for g in groups]


def _finished(run: _Run, task_id: str, key: str) -> TaskOutcome | None:
    outcome = run.cache.get("outcome", key, TaskOutcome)
    if outcome is None:
        return None
    if outcome.status == "verified":
        metadata = run.settings.out_dir / task_id / "metadata.json"
        if not metadata.is_file():
            return None
        try:
            if json.loads(metadata.read_text()).get("stage_hashes", {}).get("task") != key:
                return None
        except ValueError:
            return None
        outcome = outcome.model_copy(update={"path": str(metadata.parent)})
    return outcome


def _characterize(
    run: _Run, snapshot: RepoSnapshot, prepared: RepoSnapshot, env: EnvSpec, groups: list[ApiGroup]
) -> dict[str, TestSuite | StageError]:
    """Build and start the original once, then record every group's tests against it.

    The repository's own Dockerfile is tried first when it ships one, then the synthesized
    one; a failed build or start is classified and repaired (pipeline/stages/repair.py) up
    to settings.repair_attempts times. Every attempt's Dockerfile and log go to the
    evidence folder. `env` is updated in place to the spec that worked (Dockerfile, port),
    and the prepared tree holds that Dockerfile, so the task ships what was verified.
    """
    settings = run.settings
    suites: dict[str, TestSuite | StageError] = {}
    context = prepared.path / env.service_root
    tag = f"abc-pipeline/{re.sub(r'[^a-z0-9._-]+', '-', snapshot.name.lower())}:{run.run_id}"
    evidence = settings.work_dir / "evidence" / f"{snapshot.path.name}"
    shutil.rmtree(evidence, ignore_errors=True)
    evidence.mkdir(parents=True, exist_ok=True)

    failed_layers: list[str] = []

    def try_once(spec: EnvSpec) -> repair.TryResult:
        environment.write_environment(spec, prepared.path)
        _ensure_base_image(spec, settings)
        name = getattr(spec, "dockerfile_name", "Dockerfile")
        run.progress(f"building {snapshot.name} ({env.framework}, {name})")
        build = run.stage(
            "build",
            lambda: sandbox.build_image(
                context,
                tag,
                labels={"abc-pipeline.run": run.run_id},
                timeout=settings.limits.build_timeout,
                dockerfile=name,
            ),
        )
        if not build.ok:
            failed_layers.extend(_new_layers(build.log)[-1:])
            return repair.TryResult(ok=False, phase="build", log=build.log, verdict=Verdict.build_error)
        run.progress("starting the service and recording its behaviour")
        started = time.monotonic()
        try:
            with sandbox.running_service(
                tag, port=spec.port, env={}, health_path=spec.health_path, limits=settings.limits, run_id=run.run_id
            ) as service:
                run.timings.append(
                    StageTiming(name="start", seconds=round(time.monotonic() - started, 3), cached=False)
                )
                for group in groups:
                    try:
                        suites[group.name] = run.stage("testgen", testgen.characterize, service.base_url, group)
                    except StageError as exc:
                        suites[group.name] = exc
        except StageError as exc:
            if exc.verdict not in (Verdict.service_crashed, Verdict.startup_timeout):
                raise
            return repair.TryResult(ok=False, phase="start", log=exc.reason, verdict=exc.verdict)
        return repair.TryResult(ok=True, phase="start", log=build.log)

    first: EnvSpec = env
    fallback: EnvSpec | None = None
    if isinstance(env, environment.ServiceEnv) and env.dockerfile_source == "repository":
        fallback = environment.fallback(env)
    facts = repair.ServiceFacts(
        language=env.language,
        framework=env.framework,
        toolchain=getattr(env, "toolchain", None),
        offline=settings.offline,
    )
    # Containers and networks go with each running_service block; the run's image stays
    # until generate() ends, so the verify builds reuse its dependency layers.
    outcome = repair.run_attempts(
        first,
        facts,
        try_once,
        strategy=repair.RuleBasedStrategy(),
        max_repairs=settings.repair_attempts,
        fallback=fallback,
        first_change="the repository's own Dockerfile" if fallback else "synthesized from the template",
    )
    remove_failed_layers(failed_layers)
    _write_attempts(evidence, outcome)
    if not outcome.ok:
        log_path = evidence / "build.log"
        raise StageError(outcome.verdict, f"{outcome.reason} (log: {log_path})".replace("\n", " "))
    # The spec that worked becomes the task's: its Dockerfile is in the prepared tree.
    for field in type(env).model_fields:
        setattr(env, field, getattr(outcome.env, field))
    environment.write_environment(env, prepared.path)
    commit_all(prepared.path, "environment")
    return suites


def _new_layers(build_log: str) -> list[str]:
    """Ids of the layers a (legacy builder) build made anew, in order; cached steps and FROM excluded."""
    layers = []
    for step in re.split(r"^Step \d+/\d+ : ", build_log, flags=re.MULTILINE)[1:]:
        if step.upper().startswith("FROM ") or "Using cache" in step:
            continue
        ids = re.findall(r"^ ---> ([0-9a-f]{12})\s*$", step, flags=re.MULTILINE)
        layers += ids[-1:]
    return layers


def remove_failed_layers(layers: list[str]) -> None:
    """Remove what failed builds left: their last layer and the untagged layers under it.

    Those layers inherit the base image's labels (abc-pipeline=1) but carry no run label,
    so the run's cleanup cannot find them. Done after the repair loop, so a retry still
    reuses them; Docker keeps any layer a successful image is built on (it has children).
    """
    from pipeline.runtime.engine import DAEMON_ERRORS, docker_client

    client = docker_client()
    for layer in layers:
        with contextlib.suppress(docker.errors.APIError, *DAEMON_ERRORS):
            client.images.remove(layer)


def _ensure_base_image(spec: EnvSpec, settings: Settings) -> None:
    """A FROM image with a local recipe (docker/base) is made to exist: pulled or built."""
    from pipeline.runtime import base_images

    recipe = base_images.recipe_for_image(spec.base_image)
    if recipe is not None:
        base_images.ensure([recipe.name], settings)


def _write_attempts(evidence: Path, outcome: repair.RepairOutcome) -> None:
    """Each attempt's Dockerfile and log, a summary, and the last log as build.log."""
    for attempt in outcome.attempts:
        folder = evidence / f"attempt-{attempt.number}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "Dockerfile").write_text(attempt.dockerfile)
        (folder / "build.log").write_text(attempt.log)
    summary = [a.model_dump(mode="json", exclude={"log", "dockerfile"}) for a in outcome.attempts]
    (evidence / "attempts.json").write_text(json.dumps(summary, indent=2) + "\n")
    if outcome.attempts:
        (evidence / "build.log").write_text(outcome.attempts[-1].log)


def _make_task(
    run: _Run,
    snapshot: RepoSnapshot,
    prepared: RepoSnapshot,
    lic: LicenseVerdict,
    redaction: RedactionReport,
    service: Service,
    group: ApiGroup,
    env: EnvSpec,
    suite: TestSuite,
    task_id: str,
    key: str,
) -> TaskOutcome:
    settings = run.settings
    masked_tree = settings.work_dir / "masked" / task_id
    staging = settings.work_dir / "staging" / task_id
    try:
        shutil.rmtree(masked_tree, ignore_errors=True)
        shutil.copytree(prepared.path, masked_tree, symlinks=True)
        mask_result = run.stage("mask", mask.mask_group, masked_tree, group, service.framework)
        run.stage(
            "package",
            lambda: package.write_task(
                staging,
                settings=settings,
                snapshot=snapshot,
                license_verdict=lic,
                service=service,
                group=group,
                env=env,
                suite=suite,
                masked_tree=masked_tree,
                mask=mask_result,
                redaction=redaction,
                stage_hashes={"task": key, "tree": tree_hash(masked_tree)},
            ),
        )
        # Tests and instruction are written from what the service answered: scan again.
        # metadata.json is left out: its commit SHA and content hashes look like
        # high-entropy secrets, and everything else in it comes from redacted inputs.
        leftover = [f for f in redact.scan(staging) if f[0].name != "metadata.json"]
        if leftover:
            where = ", ".join(sorted({f"{p.name}:{line}" for p, line, _, _ in leftover}))
            raise StageError(Verdict.secret_unredactable, f"secrets in the generated files: {where}")
        run.progress(f"verifying {task_id}")
        report: VerificationReport = run.stage("verify", verify.verify, staging, settings)
        package.record_verification(staging, report)
        if report.verdict != Verdict.passed:
            evidence = settings.work_dir / "rejected" / task_id
            shutil.rmtree(evidence, ignore_errors=True)
            shutil.move(str(staging), evidence)
            return _rejected(task_id, report.verdict, f"{report.reason} (evidence: {evidence})")
        final = package.publish(staging, settings.out_dir, task_id)
        shutil.rmtree(staging, ignore_errors=True)
        return TaskOutcome(
            task_id=task_id, path=str(final), status="verified", verdict=Verdict.passed, reason=report.reason
        )
    except StageError as exc:
        return _rejected(task_id, exc.verdict, exc.reason)
    finally:
        shutil.rmtree(masked_tree, ignore_errors=True)
