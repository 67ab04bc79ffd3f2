"""bring_up: build the service, start it, repair what fails, and record what it answers.

`settle` is the stage: it tries the repository's own Dockerfile first when it ships one,
then the synthesized one; a failed build or start is classified and repaired
(stages/repair.py) up to Settings.repair_attempts times. While the original runs, each
group's tests are recorded from its answers (stages/testgen.py, and the assistant's). It
returns the environment spec it settled on, and writes that spec's Dockerfile into the
prepared tree once, committed, so the task ships what was verified. Every attempt's
Dockerfile and log go to the evidence folder.

`build` and `started` are the one build-and-start path: the assistant's no-op check of
its tests (agent/assistant.py) uses them too.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import docker.errors

from pipeline.config import Settings
from pipeline.gitutil import commit_all, committed_at
from pipeline.languages import get_language, has_language
from pipeline.models import ApiGroup, EnvSpec, RepoSnapshot, StageError, TestSuite, Verdict
from pipeline.run import Run
from pipeline.runtime import sandbox
from pipeline.stages import environment, redact, repair, sidecars, testgen
from pipeline.stages.environment import ServiceEnv
from pipeline.stages.sign_in import SignInPlan

if TYPE_CHECKING:
    from pipeline.assistant import Assistant


@dataclass
class Settled:
    """The spec the service built and served with, and each group's recorded tests (or why not)."""

    env: ServiceEnv
    suites: dict[str, TestSuite | StageError]


def image_tag(snapshot: RepoSnapshot, run: Run, suffix: str = "") -> str:
    # A repository name component must start and end with a letter or digit (".git" does not).
    repo_part = re.sub(r"[^a-z0-9._-]+", "-", snapshot.name.lower()).strip("._-") or "repo"
    return f"abc-pipeline/{repo_part}{suffix}:{run.run_id}"


def evidence_dir(run: Run, snapshot: RepoSnapshot) -> Path:
    """Where a repository's build attempts and the assistant's transcripts go."""
    return run.settings.work_dir / "evidence" / snapshot.path.name


def build(run: Run, tree: Path, env: ServiceEnv, tag: str) -> sandbox.BuildResult:
    """Build `env`'s Dockerfile (already written into `tree`, a copy of the repository) as
    `tag`, labelled with the run, from its build context (the service root, or the wider
    folder its Dockerfile names: stages/build_context.py)."""
    ensure_base_image(env.base_image, run.settings)
    context, dockerfile = environment.build_paths(env, tree)
    return sandbox.build_image(
        context,
        tag,
        labels={sandbox.RUN_LABEL: run.run_id},
        timeout=run.settings.limits.build_timeout,
        dockerfile=dockerfile,
        keep_dependencies=True,
    )


@contextlib.contextmanager
def started(run: Run, tag: str, env: ServiceEnv, service_dir: Path) -> Iterator[sandbox.RunningService]:
    """The built image running as the service, once its health path answers, with the
    servers it needs beside it (their init files read under `service_dir`); gone afterwards."""
    for sidecar in env.sidecars:
        ensure_base_image(sidecar.image, run.settings)
    with sandbox.running_service(
        tag,
        port=env.port,
        env=sidecars.run_env(env),
        health_path=env.health_path,
        limits=run.settings.limits,
        run_id=run.run_id,
        sidecars=env.sidecars,
        files_root=service_dir,
    ) as service:
        yield service


def settle(
    run: Run,
    snapshot: RepoSnapshot,
    prepared: RepoSnapshot,
    env: ServiceEnv,
    groups: list[ApiGroup],
    assistant: Assistant,
    sign_in_plan: SignInPlan | None = None,
) -> Settled:
    """Build and start the original once, repairing as needed, and record every group's tests
    (signed in where a group refuses strangers and `sign_in_plan` says how to get in)."""
    suites: dict[str, TestSuite | StageError] = {}
    context = prepared.path / env.service_root
    tag = image_tag(snapshot, run)
    evidence = evidence_dir(run, snapshot)
    # The last run's build attempts go; the assistant's transcripts (agent/) stay beside them.
    for stale in [*evidence.glob("attempt-*"), evidence / "attempts.json", evidence / "build.log"]:
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink(missing_ok=True)
    evidence.mkdir(parents=True, exist_ok=True)
    failed_layers: list[str] = []
    dump_warnings: list[str] = []

    def try_once(attempt: EnvSpec) -> repair.TryResult:
        spec = service_env(attempt)
        # The attempt's Dockerfile is what gets built: it goes into the build context.
        environment.write_environment(spec, prepared.path)
        run.progress(f"building {snapshot.name} ({env.framework}, {spec.dockerfile_name})")
        built = run.stage("build", lambda: build(run, prepared.path, spec, tag))
        if not built.ok:
            failed_layers.extend(built.layers[-1:])
            # A full disk, the host's OOM killer or an unreachable registry is the machine's fault.
            verdict = Verdict.infra_error if built.infra_reason else Verdict.build_error
            return repair.TryResult(
                ok=False, phase="build", log=built.log, verdict=verdict, reason=built.infra_reason or ""
            )
        run.progress("starting the service and recording its behaviour")
        starting = time.monotonic()
        try:
            with started(run, tag, spec, context) as service:
                run.timed("start", time.monotonic() - starting)
                dump_warnings[:] = service.sidecar_warnings
                for warning in service.sidecar_warnings:
                    run.progress(f"sidecar {warning}")
                left = _record_until_stopped(run, service, prepared, groups, env.framework, assistant, sign_in_plan)
                suites.update(left.suites)
        except StageError as exc:
            if exc.verdict not in (Verdict.service_crashed, Verdict.startup_timeout):
                raise
            return repair.TryResult(ok=False, phase="start", log=exc.reason, verdict=exc.verdict)
        # A group whose requests stopped the service is that group's failure; the others are
        # recorded on a fresh start (a few times: a service that every group stops is broken).
        restarts = 0
        while left.remaining:
            if restarts == MAX_RESTARTS:
                why = f"not recorded: the service stopped {restarts + 1} times while groups were recorded"
                verdict = left.stop.verdict if left.stop else Verdict.service_crashed
                suites.update({g.name: StageError(verdict, why, stage="testgen") for g in left.remaining})
                break
            restarts += 1
            run.progress(f"restarting the service for {len(left.remaining)} group(s) not yet recorded")
            try:
                with started(run, tag, spec, context) as service:
                    left = _record_until_stopped(
                        run, service, prepared, left.remaining, env.framework, assistant, sign_in_plan
                    )
                    suites.update(left.suites)
            except StageError as exc:
                if exc.verdict not in (Verdict.service_crashed, Verdict.startup_timeout, Verdict.oom):
                    raise
                why = f"not recorded: the service did not start again after it stopped: {exc.reason}"
                suites.update({g.name: StageError(exc.verdict, why, stage="testgen") for g in left.remaining})
                break
        return repair.TryResult(ok=True, phase="start", log=built.log)

    fallback = environment.fallback(env) if env.dockerfile_source == "repository" else None
    facts = repair.ServiceFacts(
        language=env.language,
        framework=env.framework,
        toolchain=env.toolchain,
        offline=run.settings.offline,
        env_names=sidecars.mentioned_names(context, env.language),
        own_names={path.stem for folder in (context, context / "src") if folder.is_dir() for path in folder.iterdir()},
        top_level={path.name for path in context.iterdir()} if context.is_dir() else set(),
        declared_versions=get_language(env.language).declared_versions(context) if has_language(env.language) else {},
        committed_at=committed_at(snapshot.path, snapshot.commit),
    )
    # Containers and networks go with each running service; the run's image stays until
    # generate() ends, so the verify builds reuse its dependency layers.
    outcome = repair.run_attempts(
        env,
        facts,
        try_once,
        strategy=assistant.repair_strategy(run, prepared, env),
        max_repairs=run.settings.repair_attempts,
        fallback=fallback,
        first_change="the repository's own Dockerfile" if fallback else "synthesized from the template",
    )
    remove_failed_layers(failed_layers)
    _write_attempts(evidence, outcome)
    if not outcome.ok:
        log_path = evidence / "build.log"
        raise StageError(outcome.verdict, f"{outcome.reason} (log: {log_path})".replace("\n", " "))
    # The spec that worked becomes the task's: its Dockerfile goes into the prepared tree;
    # what of its sidecars' dumps did not load is recorded with them (the task's metadata).
    settled = _with_init_warnings(service_env(outcome.env), dump_warnings)
    environment.write_environment(settled, prepared.path)
    commit_all(prepared.path, "environment")
    return Settled(env=settled, suites=suites)


def _with_init_warnings(env: ServiceEnv, warnings: list[str]) -> ServiceEnv:
    """`env` with each sidecar's warnings (sidecar_containers.start leads each by its kind)."""
    if not warnings:
        return env
    sidecars_now = [
        s.model_copy(
            update={"init_warnings": [w.removeprefix(f"{s.kind}: ") for w in warnings if w.startswith(f"{s.kind}: ")]}
        )
        for s in env.sidecars
    ]
    return env.model_copy(update={"sidecars": sidecars_now})


def service_env(spec: EnvSpec) -> ServiceEnv:
    """The spec as the environment stage made it (the repair loop and the assistant see an
    EnvSpec; every spec they hand back is a copy of one of ours)."""
    assert isinstance(spec, ServiceEnv), type(spec)
    return spec


#: fresh starts after the service stopped while its groups' tests were recorded
MAX_RESTARTS = 3


@dataclass
class _Recorded:
    suites: dict[str, TestSuite | StageError]
    #: the groups not yet recorded when the service stopped (empty when it never did)
    remaining: list[ApiGroup]
    #: why it stopped
    stop: StageError | None = None


#: seconds to wait for the container to be marked exited after it dropped a connection
STOP_PATIENCE = 3.0


def _stop_of(service: sandbox.RunningService, patience: float) -> StageError | None:
    """Why the service stopped, waiting up to `patience` seconds for it to be seen stopped."""
    deadline = time.monotonic() + patience
    while True:
        stop = service.stopped()
        if stop is not None or time.monotonic() >= deadline:
            return stop
        time.sleep(0.2)


def _record_until_stopped(
    run: Run,
    service: sandbox.RunningService,
    prepared: RepoSnapshot,
    groups: list[ApiGroup],
    framework: str,
    assistant: Assistant,
    sign_in_plan: SignInPlan | None,
) -> _Recorded:
    """Each group's tests, in order, until the service stops running: the group being
    recorded then fails with the service's own reason (its exit code or OOM kill, and its
    last log lines), not with a refused connection, and the groups after it are left."""
    suites: dict[str, TestSuite | StageError] = {}
    for index, group in enumerate(groups):
        suites[group.name] = _record_tests(run, service, prepared, group, framework, assistant, sign_in_plan)
        # A connection the service dropped may be its process ending: Docker marks the
        # container exited a moment later.
        refused = isinstance(suites[group.name], StageError) and suites[group.name].verdict == Verdict.connect_failed
        stop = _stop_of(service, patience=STOP_PATIENCE if refused else 0.0)
        if stop is not None:
            reason = f"the service stopped while group {group.name} was recorded: {stop.reason}"
            suites[group.name] = StageError(stop.verdict, reason, stage="testgen")
            return _Recorded(suites, groups[index + 1 :], stop)
    return _Recorded(suites, [])


def _record_tests(
    run: Run,
    service: sandbox.RunningService,
    prepared: RepoSnapshot,
    group: ApiGroup,
    framework: str,
    assistant: Assistant,
    sign_in_plan: SignInPlan | None = None,
) -> TestSuite | StageError:
    try:
        suite = run.stage("testgen", testgen.characterize, service.base_url, group, sign_in_plan)
        # With --llm: the test writer's tests that pass this original twice.
        return assistant.add_tests(run, service, prepared, group, framework, suite)
    except StageError as exc:
        return exc


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


def ensure_base_image(image: str, settings: Settings) -> None:
    """A FROM image with a local recipe (docker/base) is made to exist: pulled or built."""
    from pipeline.runtime import base_images

    recipe = base_images.recipe_for_image(image)
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
