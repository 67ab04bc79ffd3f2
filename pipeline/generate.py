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
from pipeline.agent import hooks as agent_hooks
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
        if sandbox.interrupted(self.run_id):
            raise KeyboardInterrupt(f"run {self.run_id} was interrupted; {name} not started")
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
    run_id: str | None = None,
) -> GenerateResult:
    run = _Run(settings, runner, progress or log.info)
    if run_id:
        # A caller-chosen id (the batch's) lets a later run remove what a killed one left in Docker.
        run.run_id = run_id
    result = GenerateResult(repo=source, verdict=Verdict.infra_error, reason="not started")
    try:
        # Ctrl-C or SIGTERM: the run's Docker objects go at once, and the block unwinds.
        with sandbox.interruptible_run(run.run_id):
            _generate(source, run, result)
    except StageError as exc:
        result.verdict, result.reason = exc.verdict, f"{exc.stage}: {exc.reason}" if exc.stage else exc.reason
    finally:
        # Also after Ctrl-C: a second Ctrl-C waits until the run's containers are gone.
        with sandbox.deferred_interrupts():
            sandbox.cleanup(run.run_id, images=True)
        result.stages = run.timings
        # Reasons quote logs (a crash's last lines): what a service printed at start stays out.
        result.reason = redact.scrub(result.reason)
        for task in result.tasks:
            task.reason = redact.scrub(task.reason)
        result.agent = agent_hooks.summary(run)  # None without --llm
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
    for warning in lic.warnings:
        run.progress(f"license: {warning}")

    prepared, redaction = _prepare(run, snapshot)
    inventory = run.cached_stage(
        "explore",
        content_key(snapshot.commit, STAGE_VERSIONS["explore"], config, "explore"),
        Inventory,
        explore.explore,
        prepared,
        settings,
    )
    # With --llm: the explorer's checked names, descriptions and endpoints (else unchanged).
    inventory = agent_hooks.explore(run, snapshot, prepared, inventory)
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


def _rejected(task_id: str, verdict: Verdict, reason: str, kind: str = "implementation") -> TaskOutcome:
    return TaskOutcome(task_id=task_id, path=None, kind=kind, status="rejected", verdict=verdict, reason=reason)


def _variants(settings: Settings, task_id: str, key: str) -> list[tuple[str, str, str]]:
    """(kind, task id, outcome cache key) of every variant of a group the settings ask for."""
    out = []
    for kind in settings.variants:
        if kind == "environment":
            out.append((kind, package.environment_task_id(task_id), content_key(key, kind)))
        else:
            out.append((kind, task_id, key))
    return out


def _rejected_variants(settings: Settings, task_id: str, key: str, verdict: Verdict, reason: str) -> list[TaskOutcome]:
    return [_rejected(vid, verdict, reason, kind) for kind, vid, _ in _variants(settings, task_id, key)]


def _cache_outcomes(run: _Run, task_id: str, key: str, outcomes: list[TaskOutcome]) -> None:
    cache_keys = {vid: ckey for _, vid, ckey in _variants(run.settings, task_id, key)}
    for outcome in outcomes:
        if outcome.verdict != Verdict.infra_error and outcome.task_id in cache_keys:
            run.cache.put("outcome", cache_keys[outcome.task_id], outcome)


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
        return [o for g in groups for o in _rejected_variants(settings, ids[g.name], "", exc.verdict, exc.reason)]
    # The service gets these values: a log that prints one is scrubbed of it.
    redact.remember_env_secrets(env.env)

    # Finished work first: a task published or rejected for the same content is done
    # (every variant of the group).
    outcomes: dict[str, list[TaskOutcome]] = {}
    keys = {g.name: _task_key(snapshot, g, env, settings) for g in groups}
    for group in groups:
        key = keys[group.name]
        done = [_finished(run, vid, ckey, key) for _, vid, ckey in _variants(settings, ids[group.name], key)]
        if all(done):
            outcomes[group.name] = [d for d in done if d]
    todo = [g for g in groups if g.name not in outcomes]
    if not todo:
        run.timings.append(StageTiming(name="tasks", seconds=0.0, cached=True))
        return [o for g in groups for o in outcomes[g.name]]

    environment.write_environment(env, prepared.path)
    commit_all(prepared.path, "environment")
    try:
        suites = _characterize(run, snapshot, prepared, env, todo)
    except StageError as exc:
        for group in todo:
            task_id, key = ids[group.name], keys[group.name]
            outcomes[group.name] = _rejected_variants(settings, task_id, key, exc.verdict, exc.reason)
            _cache_outcomes(run, task_id, key, outcomes[group.name])
        return [o for g in groups for o in outcomes[g.name]]

    for group in todo:
        task_id, key = ids[group.name], keys[group.name]
        suite = suites.get(group.name)
        if isinstance(suite, StageError):
            made = _rejected_variants(settings, task_id, key, suite.verdict, suite.reason)
        else:
            made = _make_task(run, snapshot, prepared, lic, redaction, service, group, env, suite, task_id, key)
        _cache_outcomes(run, task_id, key, made)
        outcomes[group.name] = made
    return [o for g in groups for o in outcomes[g.name]]


def _finished(run: _Run, task_id: str, cache_key: str, task_key: str) -> TaskOutcome | None:
    """The cached outcome of a task, if it still holds: a verified one must still be
    published, in every asked-for format, from the same content (`task_key`)."""
    outcome = run.cache.get("outcome", cache_key, TaskOutcome)
    if outcome is None:
        return None
    if outcome.status == "verified":
        published = package.published_dirs(run.settings, task_id)
        for folder in published.values():
            try:
                metadata = json.loads((folder / "metadata.json").read_text())
            except (OSError, ValueError):
                return None
            if metadata.get("stage_hashes", {}).get("task") != task_key:
                return None
        harbor = published.get("harbor")
        path = published.get("terminal-bench", harbor)
        outcome = outcome.model_copy(update={"path": str(path), "harbor_path": str(harbor) if harbor else None})
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
    # A repository name component must start and end with a letter or digit (".git" does not).
    repo_part = re.sub(r"[^a-z0-9._-]+", "-", snapshot.name.lower()).strip("._-") or "repo"
    tag = f"abc-pipeline/{repo_part}:{run.run_id}"
    evidence = settings.work_dir / "evidence" / f"{snapshot.path.name}"
    # The last run's build attempts go; the agent's transcripts (agent/) stay beside them.
    for stale in [*evidence.glob("attempt-*"), evidence / "attempts.json", evidence / "build.log"]:
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
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
            failed_layers.extend(build.layers[-1:])
            # A full disk, the host's OOM killer or an unreachable registry is the machine's fault.
            verdict = Verdict.infra_error if build.infra_reason else Verdict.build_error
            return repair.TryResult(
                ok=False, phase="build", log=build.log, verdict=verdict, reason=build.infra_reason or ""
            )
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
                        # With --llm: the test writer's tests that pass this original twice.
                        suites[group.name] = agent_hooks.add_tests(
                            run, service, prepared, group, env.framework, suites[group.name]
                        )
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
        strategy=_repair_strategy(run, prepared, env),
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


def _repair_strategy(run: _Run, prepared: RepoSnapshot, env: EnvSpec) -> repair.RepairStrategy:
    """The rules; with --llm, the rules and then the model (pipeline/agent/repairer.py)."""
    return agent_hooks.repair_strategy(run, prepared, env)


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
        (folder / "build.log").write_text(redact.scrub(attempt.log))
    summary = [a.model_dump(mode="json", exclude={"log", "dockerfile"}) for a in outcome.attempts]
    (evidence / "attempts.json").write_text(json.dumps(summary, indent=2) + "\n")
    if outcome.attempts:
        (evidence / "build.log").write_text(redact.scrub(outcome.attempts[-1].log))


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
) -> list[TaskOutcome]:
    """Mask, package and verify one group: one outcome per variant the settings ask for."""
    settings = run.settings
    masked_tree = settings.work_dir / "masked" / task_id
    staging = settings.work_dir / "staging" / task_id
    try:
        shutil.rmtree(masked_tree, ignore_errors=True)
        shutil.copytree(prepared.path, masked_tree, symlinks=True)
        mask_result = run.stage("mask", mask.mask_group, masked_tree, group, service.framework)
        # With --llm: the agent's tests pass the no-op check, and its instruction the leak check.
        extras = agent_hooks.finish_task(
            run,
            snapshot,
            service,
            group,
            env,
            suite,
            masked_tree,
            mask_result,
            lambda: package.instruction_for(snapshot, service, group, suite, env),
        )
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
                suite=extras.suite,
                masked_tree=masked_tree,
                mask=mask_result,
                redaction=redaction,
                stage_hashes={"task": key, "tree": tree_hash(masked_tree)},
                instruction=extras.instruction,
            ),
        )
        agent_hooks.record(run, staging, group)  # metadata.json "agent" section, with --llm only
        # Every variant is written before any is verified: the environment variant is
        # derived from the implementation folder, which verification may move away.
        stagings: list[tuple[str, str, Path]] = []
        for kind, variant_id, _ in _variants(settings, task_id, key):
            if kind == "environment":
                variant_staging = settings.work_dir / "staging" / variant_id
                run.stage("package", package.write_environment_variant, staging, variant_staging)
                stagings.append((kind, variant_id, variant_staging))
            else:
                stagings.append((kind, variant_id, staging))
        if "implementation" not in settings.variants:
            shutil.rmtree(staging, ignore_errors=True)
        return [_verify_and_publish(run, kind, variant_id, folder) for kind, variant_id, folder in stagings]
    except StageError as exc:
        return _rejected_variants(settings, task_id, key, exc.verdict, exc.reason)
    finally:
        shutil.rmtree(masked_tree, ignore_errors=True)


def _verify_and_publish(run: _Run, kind: str, task_id: str, staging: Path) -> TaskOutcome:
    """The gate for one written variant, then publication in every asked-for format.

    The Terminal-Bench folder is what is verified; the Harbor folder is written from it
    after verification and published the same atomic way.
    """
    settings = run.settings
    try:
        # Tests and instruction are written from what the service answered: scan again.
        leftover = redact.leftover_secrets(staging)
        if leftover:
            where = ", ".join(sorted({f"{f.file}:{f.line}" for f in leftover}))
            raise StageError(Verdict.secret_unredactable, f"secrets in the generated files: {where}")
        run.progress(f"verifying {task_id}")
        report: VerificationReport = run.stage("verify", verify.verify, staging, settings, run.run_id)
        package.record_verification(staging, report)
        if report.verdict != Verdict.passed:
            evidence = settings.work_dir / "rejected" / task_id
            shutil.rmtree(evidence, ignore_errors=True)
            shutil.move(str(staging), evidence)
            return _rejected(task_id, report.verdict, f"{report.reason} (evidence: {evidence})", kind)
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
        return _rejected(task_id, exc.verdict, exc.reason, kind)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
