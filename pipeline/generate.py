"""One repository in, verified tasks out: the stages of DESIGN.md in order.

    acquire -> license -> redact -> explore -> (per service) environment -> bring_up
            -> (per group) mask -> package -> publish (verify, then the output folders)

Every stage goes through the run's `Run.stage` (pipeline/run.py), which the Prefect flow
turns into a Prefect task; the logic stays here, callable without Prefect. Results are
cached by content, so a second run over an unchanged repository rebuilds nothing.
Failures are values: a StageError ends as a verdict in the result, never a traceback, and
one service or group failing does not stop the others. The assistant (pipeline/assistant.py)
is asked at fixed points and may improve a stage's value; the static one changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pipeline import __version__
from pipeline.assistant import Assistant, assistant_for
from pipeline.cache import content_key, tree_hash
from pipeline.config import Settings
from pipeline.gitutil import commit_all
from pipeline.languages import get_language, has_language
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
    TaskOutcome,
    TestSuite,
    Verdict,
)
from pipeline.run import Run, StageRunner, run_plain
from pipeline.runtime import sandbox
from pipeline.stages import (
    acquire,
    bring_up,
    environment,
    explore,
    license,
    mask,
    mask_build,
    package,
    publish,
    redact,
    sign_in,
    stand_ins,
    testgen,
    verify,
)
from pipeline.stages.repair import FailureClass

log = logging.getLogger(__name__)

STAGE_VERSIONS = {
    "acquire": acquire.STAGE_VERSION,
    "license": license.STAGE_VERSION,
    "redact": redact.STAGE_VERSION,
    "explore": explore.STAGE_VERSION,
    "environment": environment.STAGE_VERSION,
    "testgen": testgen.STAGE_VERSION,
    "mask": mask.STAGE_VERSION,
    "mask_build": mask_build.STAGE_VERSION,
    "stand_ins": stand_ins.STAGE_VERSION,
    "package": package.STAGE_VERSION,
    "verify": verify.STAGE_VERSION,
}


#: The start of the reason of a run that a bug of the pipeline's ended: the repository is
#: not to blame, so it is infra_error, but a retry would only crash again (batch.needs_retry).
CRASHED = "crashed: "


def generate(
    source: str,
    settings: Settings,
    runner: StageRunner = run_plain,
    progress: Callable[[str], None] | None = None,
    run_id: str | None = None,
    assistant: Assistant | None = None,
) -> GenerateResult:
    """Every verified task of one repository (a local folder or a git URL), and the verdict."""
    run = Run(settings, runner, progress or log.info, run_id)
    assistant = assistant or assistant_for(settings)
    result = GenerateResult(repo=source, verdict=Verdict.infra_error, reason="not started")
    try:
        # Ctrl-C or SIGTERM: the run's Docker objects go at once, and the block unwinds.
        with sandbox.interruptible_run(run.run_id):
            _generate(source, run, assistant, result)
    except StageError as exc:
        result.verdict, result.reason = exc.verdict, f"{exc.stage}: {exc.reason}" if exc.stage else exc.reason
    except Exception as exc:  # a bug of the pipeline's: a verdict that says so, not a traceback
        log.exception("generate crashed on %s", source)
        result.verdict = Verdict.infra_error
        result.reason = f"{CRASHED}{exc!r} (a bug in abc-pipeline, not the repository)"
    finally:
        # Also after Ctrl-C: a second Ctrl-C waits until the run's containers are gone.
        with sandbox.deferred_interrupts():
            sandbox.cleanup(run.run_id, images=True)
        result.stages = run.timings
        # Reasons quote logs (a crash's last lines): what a service printed at start stays out.
        result.reason = redact.scrub(result.reason)
        for task in result.tasks:
            task.reason = redact.scrub(task.reason)
        result.agent = assistant.summary()  # None for the static assistant
    return result


def _service_settings(settings: Settings, language: str) -> Settings:
    """The settings a service runs under: its language's start allowance when the limits
    give less (Language.startup_timeout), in characterization, in the gate and in run-tests.sh."""
    wanted = get_language(language).startup_timeout if has_language(language) else None
    if wanted is None or wanted <= settings.limits.startup_timeout:
        return settings
    return settings.model_copy(update={"limits": settings.limits.model_copy(update={"startup_timeout": wanted})})


def _generate(source: str, run: Run, assistant: Assistant, result: GenerateResult) -> None:
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
    inventory = assistant.explore(run, snapshot, prepared, inventory)
    result.services = [
        ServiceSummary(root=s.root, language=s.language, framework=s.framework) for s in inventory.services
    ]
    result.endpoints = sum(len(s.endpoints) for s in inventory.services)
    result.groups = [g.name for g in inventory.groups]
    if not inventory.groups:
        raise StageError(Verdict.no_endpoints, "endpoints were found, but none outside health checks", stage="explore")
    run.progress(f"found {result.endpoints} endpoints in {len(inventory.groups)} groups")

    for service in _in_budget_order(inventory.services, settings):
        groups = [g for g in inventory.groups if g.service_root == service.root]
        if groups:
            shared, run.settings = run.settings, _service_settings(run.settings, service.language)
            try:
                result.tasks.extend(
                    _service_tasks(run, assistant, snapshot, prepared, lic, redaction, inventory, service, groups)
                )
            finally:
                run.settings = shared

    verified = [t for t in result.tasks if t.status == "verified"]
    if verified:
        result.verdict, result.reason = Verdict.passed, f"{len(verified)} of {len(result.tasks)} tasks verified"
    elif result.tasks:
        # The task that got furthest says most about the repository: a Java service whose
        # tests were too weak beside a frontend whose registry is out of reach is the former.
        furthest = furthest_task(result.tasks)
        result.verdict, result.reason = furthest.verdict, f"no task verified; {furthest.task_id}: {furthest.reason}"


def _in_budget_order(services: list[Service], settings: Settings) -> list[Service]:
    """Under a time budget the cheaper services go first (a Flask app before a Rust one,
    Language.build_cost), so a large repository ends with as many tasks as the time allows."""
    if settings.time_budget is None:
        return services
    return sorted(services, key=lambda s: get_language(s.language).build_cost if has_language(s.language) else 1)


def _prepare(run: Run, snapshot: RepoSnapshot) -> tuple[RepoSnapshot, RedactionReport]:
    """The redacted copy of the snapshot that every later stage reads (a git tree)."""
    key = content_key(snapshot.commit, STAGE_VERSIONS["redact"])
    target = run.settings.work_dir / "prepared" / f"{snapshot.path.name}-{key}"
    prepared = snapshot.model_copy(update={"path": target})
    report = run.cache.get("redact", key, RedactionReport)
    if report is not None and target.is_dir():
        run.timed("redact", 0.0, cached=True)
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
    return [publish.rejected(vid, verdict, reason, kind) for kind, vid, _ in _variants(settings, task_id, key)]


_NOT_CACHED = {Verdict.infra_error, Verdict.budget_exhausted}

# A repository's verdict when no task verified, from its tasks': the gate's verdicts first
# (the task was made and judged), then the stages before it, latest first; the machine's
# and the clock's last (they say nothing of the repository). The first task wins a tie.
_DEPTH_ORDER = [
    Verdict.tests_weak,
    Verdict.noop_passed,
    Verdict.oracle_flaky,
    Verdict.oracle_failed,
    Verdict.mask_failed,
    Verdict.secret_unredactable,
    Verdict.nothing_testable,
    Verdict.tests_failed,
    Verdict.test_timeout,
    Verdict.connect_failed,
    Verdict.service_crashed,
    Verdict.oom,
    Verdict.startup_timeout,
    Verdict.build_error,
    Verdict.service_unavailable,
    Verdict.infra_error,
    Verdict.budget_exhausted,
]


def furthest_task(tasks: list[TaskOutcome]) -> TaskOutcome:
    """The task whose verdict came latest in the pipeline (_DEPTH_ORDER); the first of equals."""
    return min(tasks, key=lambda t: _DEPTH_ORDER.index(t.verdict) if t.verdict in _DEPTH_ORDER else len(_DEPTH_ORDER))


def _cache_outcomes(run: Run, task_id: str, key: str, outcomes: list[TaskOutcome]) -> None:
    cache_keys = {vid: ckey for _, vid, ckey in _variants(run.settings, task_id, key)}
    for outcome in outcomes:
        # The machine's fault or the clock's, not the content's: the next run tries again
        # (a build cancelled at the timeout may finish with a longer one, ABC_BUILD_TIMEOUT).
        timed_out = outcome.reason.startswith(f"{FailureClass.build_timeout}:")
        if outcome.verdict not in _NOT_CACHED and not timed_out and outcome.task_id in cache_keys:
            run.cache.put("outcome", cache_keys[outcome.task_id], outcome)


def _service_tasks(
    run: Run,
    assistant: Assistant,
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
    spent = run.budget_spent()
    if spent:
        return [
            o for g in groups for o in _rejected_variants(settings, ids[g.name], "", Verdict.budget_exhausted, spent)
        ]
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
        done = [publish.finished(run, vid, ckey, key) for _, vid, ckey in _variants(settings, ids[group.name], key)]
        if all(done):
            outcomes[group.name] = [d for d in done if d]
    todo = [g for g in groups if g.name not in outcomes]
    if not todo:
        run.timed("tasks", 0.0, cached=True)
        return [o for g in groups for o in outcomes[g.name]]

    try:
        # How a client signs in, from the service's own routes and code (used for groups
        # that refuse requests without credentials).
        sign_in_plan = sign_in.detect(service, prepared.path, env.env)
        settled = bring_up.settle(run, snapshot, prepared, env, todo, assistant, sign_in_plan)
    except StageError as exc:
        for group in todo:
            task_id, key = ids[group.name], keys[group.name]
            outcomes[group.name] = _rejected_variants(settings, task_id, key, exc.verdict, exc.reason)
            _cache_outcomes(run, task_id, key, outcomes[group.name])
        return [o for g in groups for o in outcomes[g.name]]

    # The budget goes first to the groups most likely to verify (see _promise); the
    # outcomes keep the groups' order.
    for group in sorted(todo, key=lambda g: -_promise(settled.suites.get(g.name))):
        task_id, key = ids[group.name], keys[group.name]
        suite = settled.suites.get(group.name)
        spent = run.budget_spent()
        if spent:
            made = _rejected_variants(settings, task_id, key, Verdict.budget_exhausted, spent)
        elif isinstance(suite, StageError):
            made = _rejected_variants(settings, task_id, key, suite.verdict, suite.reason)
        else:
            made = _make_task(
                run, assistant, snapshot, prepared, lic, redaction, service, group, settled.env, suite, task_id, key
            )
        _cache_outcomes(run, task_id, key, made)
        outcomes[group.name] = made
    return [o for g in groups for o in outcomes[g.name]]


def _promise(suite: TestSuite | StageError | None) -> int:
    """How much of the group's behaviour its recorded suite pins: the endpoints whose
    successful answer has an asserted body that is neither a refusal in words nor the one
    answer three or more endpoints gave alike (a sign-in wall, an interceptor). Those are
    what its tests cannot tell from the masked code; a repository with more groups than
    its budget allows spends that budget on the others first."""
    if not isinstance(suite, TestSuite):
        return -1
    bodies: dict[tuple[str, str], str] = {}
    for scenario in suite.scenarios:
        for probe in scenario.steps:
            if not 200 <= probe.status < 300:
                continue
            if probe.stable_json not in (None, {}, []):
                bodies[(probe.method, probe.path_template)] = json.dumps(
                    probe.stable_json, sort_keys=True, ensure_ascii=False
                )
            elif probe.body_sha256:
                bodies[(probe.method, probe.path_template)] = probe.body_sha256
    endpoints_per_body = Counter(bodies.values())
    return sum(1 for body in bodies.values() if endpoints_per_body[body] < 3 and not sign_in.says_refused(body))


def _make_task(
    run: Run,
    assistant: Assistant,
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
        # A compiled language's masked tree is built now (in Docker): one that does not
        # compile is mask_failed with the compiler's first error, before anything is packaged.
        run.stage("mask_build", mask_build.check, run, snapshot, masked_tree, env, group.name)
        # With --llm: the agent's tests pass the no-op check, and its instruction the leak check.
        extras = assistant.finish_task(
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
        assistant.record(run, staging, group)  # metadata.json "agent" section, with --llm only
        # The strength gate's wrong solutions, written from the masked tree before it goes.
        fakes = run.stage("stand_ins", stand_ins.make, masked_tree, group, service.framework, extras.suite)
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
        outcomes = []
        for index, (kind, variant_id, folder) in enumerate(stagings):
            spent = run.budget_spent() if index else None  # a group's first variant always gets its gate
            if spent:
                shutil.rmtree(folder, ignore_errors=True)
                outcomes.append(publish.rejected(variant_id, Verdict.budget_exhausted, spent, kind))
            else:
                outcomes.append(publish.verify_and_publish(run, kind, variant_id, folder, fakes))
        return outcomes
    except StageError as exc:
        return _rejected_variants(settings, task_id, key, exc.verdict, exc.reason)
    finally:
        shutil.rmtree(masked_tree, ignore_errors=True)
