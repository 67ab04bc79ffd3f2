"""package: the Terminal-Bench task folder, as ABC-Bench ships it, its environment
variant, and the Harbor layout of either.

The implementation task is written from the stages' models (write_task); the environment
variant (write_environment_variant) and the Harbor export (write_harbor) are derived from
a written folder, so all three say the same thing. Each folder is written whole into a
staging area; only the verify gate moves it to the output folder (see publish), so a
finished task is never half-written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from pipeline import __version__
from pipeline.config import Settings
from pipeline.languages import LANGUAGES
from pipeline.models import (
    ApiGroup,
    EnvSpec,
    LicenseVerdict,
    MaskResult,
    RedactionReport,
    RepoSnapshot,
    Service,
    StageError,
    TestSuite,
    Verdict,
    VerificationReport,
)
from pipeline.runtime import failures, sidecar_containers
from pipeline.schemas.metadata import (
    EndpointInfo,
    EnvironmentVariantInfo,
    GroupInfo,
    ServiceInfo,
    SourceInfo,
    TaskMetadata,
)
from pipeline.stages import build_context, sidecars, sign_in, stand_ins, testgen
from pipeline.task_folder import TaskFolder, repo_dir_name
from pipeline.templates import render

STAGE_VERSION = "12"  # 12: the environment variant keeps source files named like Dockerfiles

# The agent's (client) container: the official Python image the harnesses' own tasks use,
# and what run-tests.sh needs inside it, pinned (Harbor's lint asks for exact versions).
CLIENT_BASE_IMAGE = "python:3.11-slim-bookworm"
TEST_REQUIREMENTS = ("pytest==8.3.5", "requests==2.32.3")


def task_id_for(snapshot: RepoSnapshot, group: ApiGroup) -> str:
    raw = f"{snapshot.owner}_{snapshot.name}__{group.name}".lower()
    return re.sub(r"[^a-z0-9_]+", "_", raw).strip("_")


def source_of(snapshot: RepoSnapshot) -> SourceInfo:
    return SourceInfo(origin=snapshot.origin, owner=snapshot.owner, name=snapshot.name)


def _behaviour(group: ApiGroup, suite: TestSuite) -> dict[str, list[str]]:
    """What the original answered, per endpoint, in words (no code)."""
    lines: dict[str, list[str]] = defaultdict(list)
    for scenario in suite.scenarios:
        for probe in scenario.steps:
            key = f"{probe.method} {probe.path_template}"
            shape = _shape(probe.stable_json)
            if probe.body_sha256 and probe.body_text is not None:
                shape = f" with the text body {json.dumps(probe.body_text)} (a JSON string: exactly these bytes)"
            elif probe.body_sha256:
                shape = " with a body that is not JSON (a file, a page), compared byte for byte"
            line = f"Answers `{probe.status}`{shape}."
            if probe.body == {}:
                # The request's body, not the answer's: "with an empty JSON body" read as either.
                line = f"Sent an empty JSON object: answers `{probe.status}`{shape}."
            if probe.signed_in is False:
                line = f"Without credentials: answers `{probe.status}`{shape}."
            if line not in lines[key]:
                lines[key].append(line)
    return lines


def _shape(value: Any) -> str:
    if isinstance(value, dict) and value:
        return " with a JSON object containing " + ", ".join(f"`{k}`" for k in sorted(value))
    if isinstance(value, list) or value == "<any list>":
        return " with a JSON array"
    return ""


def instruction_for(snapshot: RepoSnapshot, service: Service, group: ApiGroup, suite: TestSuite, env: EnvSpec) -> str:
    behaviour = _behaviour(group, suite)
    endpoints = [
        {
            "method": e.method,
            "path": e.path,
            "handler": e.handler.name,
            "file": e.handler.file,
            "body_fields": e.body_fields,
            "query_fields": e.query_fields,
            "behaviour": behaviour.get(f"{e.method} {e.normalized_path}", ["Must answer without a server error."]),
        }
        for e in group.endpoints
    ]
    return render(
        "task/instruction.md.j2",
        framework=service.framework.capitalize(),
        repo_dir=repo_dir_name(snapshot.owner, snapshot.name),
        service_root=service.root,
        group=group,
        endpoints=endpoints,
        port=env.port,
        sign_in=sign_in.describe(suite.sign_in) if suite.sign_in else None,
    )


def run_tests_script(**values: Any) -> str:
    """run-tests.sh for a task (task_id, repo_dir, service_root, port, health_path, limits).

    Its exit codes and the signs of a machine's fault in a failed build are the pipeline's
    own table (runtime/failures.py), rendered into it."""
    # A task with no server beside its service starts none.
    values = {"sidecars": [], "service_env": {}, "sidecar_limits": sidecar_containers.LIMITS, **values}
    return render("task/run-tests.sh.j2", **failures.template_values(), **values)


def write_task(
    staging: Path,
    *,
    settings: Settings,
    snapshot: RepoSnapshot,
    license_verdict: LicenseVerdict,
    service: Service,
    group: ApiGroup,
    env: EnvSpec,
    suite: TestSuite,
    masked_tree: Path,
    mask: MaskResult,
    redaction: RedactionReport,
    stage_hashes: dict[str, str],
    instruction: str | None = None,
) -> Path:
    """Write the task folder at `staging` (replacing anything there) and return it.

    `instruction` replaces the templated one (the LLM instruction writer's text, already
    checked by the gate); None means the static template.
    """
    task_id = task_id_for(snapshot, group)
    source = source_of(snapshot)
    task = TaskFolder.terminal_bench(staging)
    repo = task.repo_dir(source)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    shutil.copytree(masked_tree, repo, symlinks=True, ignore=shutil.ignore_patterns(".git"))

    if instruction is None:
        instruction = instruction_for(snapshot, service, group, suite, env)
    # From what can be counted (stand_ins.difficulty); metadata.json's strength says why.
    strength = stand_ins.measure(group, suite.test_func, mask.solution_patch)
    task_yaml = {
        "instruction": instruction,
        "author_name": settings.author_name,
        "author_email": settings.author_email,
        "difficulty": strength.difficulty,
        "category": "backend",
        "tags": [service.language, service.framework, "api", group.name],
        "max_agent_timeout_sec": 1800,
        "max_test_timeout_sec": settings.limits.build_timeout + settings.limits.test_timeout,
    }
    task.config.write_text(yaml.safe_dump(task_yaml, sort_keys=False, allow_unicode=True, width=100))
    values = {
        "task_id": task_id,
        "repo_dir": repo.name,
        "service_root": service.root,
        "port": env.port,
        "health_path": env.health_path,
        "limits": settings.limits,
        "group": group.name,
        "client_base_image": CLIENT_BASE_IMAGE,
        "test_requirements": TEST_REQUIREMENTS,
        # The servers run-tests.sh starts beside the service, and the variables that say where.
        "sidecars": env.sidecars,
        "service_env": sidecars.run_env(env),
        "sidecar_limits": sidecar_containers.LIMITS,
    }
    task.dockerfile.write_text(render("task/Dockerfile.j2", **values))
    task.compose.write_text(render("task/docker-compose.yaml.j2", **values))
    for script, text in (
        (task.run_tests, run_tests_script(**values)),
        (task.solution, render("task/solution.sh.j2", patch=mask.solution_patch, **values)),
    ):
        script.write_text(text)
        os.chmod(script, 0o755)
    task.tests.mkdir()
    conftest, test_connect, test_func = task.test_files()
    conftest.write_text(testgen.conftest_source())
    test_connect.write_text(suite.test_connect)
    test_func.write_text(suite.test_func)

    metadata = TaskMetadata(
        task_id=task_id,
        kind="implementation",
        source=source,
        commit=snapshot.commit,
        license=license_verdict,
        service=ServiceInfo(root=service.root, language=service.language, framework=service.framework),
        group=GroupInfo(name=group.name, description=group.description),
        endpoints=[EndpointInfo(method=e.method, path=e.path, handler=e.handler) for e in group.endpoints],
        masked_symbols=mask.masked_symbols,
        environment=env.model_dump(mode="json", exclude={"dockerfile"}),
        redaction_report=redaction,
        verification_report=None,
        pipeline_version=__version__,
        stage_hashes=stage_hashes,
        strength=strength,
    )
    task.write_metadata(metadata)
    return staging


# --------------------------------------------------------------------------- variants

ENVIRONMENT_SUFFIX = "__env"
# What the environment variant removes: every file that says how the service is built or
# run (the synthesized Dockerfile.abc too), anywhere in the repository.
ENVIRONMENT_FILE = re.compile(
    r"(?i)^(dockerfile(\..+)?|.+\.dockerfile|(docker-)?compose(\.[\w.-]+)?\.ya?ml|\.dockerignore)$"
)
# A source file named after the format is code, not a build file: monaco's
# `dockerfile.js` (its syntax colouring), a linter's `dockerfile.go`. Removing it would
# take part of the service away from the variant's repository.
_CODE_SUFFIXES = {suffix.lower() for language in LANGUAGES for suffix in language.suffixes} | {
    ".json",
    ".md",
    ".txt",
    ".html",
    ".css",
    ".snap",
}


def is_environment_file(name: str) -> bool:
    """Whether the environment variant removes a file of this name (ENVIRONMENT_FILE)."""
    return ENVIRONMENT_FILE.match(name) is not None and Path(name).suffix.lower() not in _CODE_SUFFIXES


def environment_task_id(task_id: str) -> str:
    return f"{task_id}{ENVIRONMENT_SUFFIX}"


def verified_dockerfile(service_dir: Path) -> Path:
    """The file run-tests.sh builds: Dockerfile.abc when the pipeline wrote one, else Dockerfile."""
    synthesized = service_dir / "Dockerfile.abc"
    return synthesized if synthesized.is_file() else service_dir / "Dockerfile"


def write_environment_variant(task_dir: Path, staging: Path) -> Path:
    """The environment variant of a written implementation task, at `staging`.

    The same masked repository without its environment files; the instruction gains the
    Dockerfile requirements (appended whatever wrote the instruction); solution.sh applies
    the code patch and then writes the Dockerfile the implementation task is verified
    with, as `<service root>/Dockerfile`. run-tests.sh is unchanged: with no Dockerfile
    it ends `build_error`, which is what the no-op must do.
    """
    metadata = TaskFolder.terminal_bench(task_dir).metadata()
    env = metadata.environment
    service_root = metadata.service.root
    variant = TaskFolder.terminal_bench(staging)
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(task_dir, staging, symlinks=True)
    repo = variant.repo_dir(metadata.source)
    service_dir = repo / service_root
    source = verified_dockerfile(service_dir)
    if not source.is_file():
        raise StageError(Verdict.mask_failed, f"no Dockerfile under {service_root} to build the variant from")
    dockerfile = source.read_text()
    ignore_file = service_dir / ".dockerignore"
    dockerignore = ignore_file.read_text() if ignore_file.is_file() else None

    removed = []
    for path in sorted(repo.rglob("*")):
        if path.is_file() and is_environment_file(path.name) and ".git" not in path.relative_to(repo).parts:
            removed.append(path.relative_to(repo).as_posix())
            path.unlink()
    dockerfile_path = (Path(service_root) / "Dockerfile").as_posix()
    values = {
        "repo_dir": repo.name,
        "service_root": service_root,
        "dockerfile_path": dockerfile_path,
        "base_image": env["base_image"],
        "language": metadata.service.language.capitalize(),
        "start_command": env["start_command"],
        "port": env["port"],
        "health_path": env["health_path"],
        "env_vars": env.get("env") or {},
        "sidecars": env.get("sidecars") or [],
        # A service built from a folder wider than its root: the instruction names it.
        "build_context": build_context.for_instruction(env),
    }
    task_yaml = yaml.safe_load(variant.config.read_text())
    task_yaml["instruction"] = (
        task_yaml["instruction"].rstrip() + "\n" + render("task/environment-requirements.md.j2", **values)
    )
    task_yaml["tags"] = [*task_yaml["tags"], "environment"]
    task_yaml["difficulty"] = stand_ins.harder(task_yaml["difficulty"])
    variant.config.write_text(yaml.safe_dump(task_yaml, sort_keys=False, allow_unicode=True, width=100))

    solution = variant.solution
    solution.write_text(
        solution.read_text()
        + render(
            "task/solution-environment.sh.j2",
            dockerfile=dockerfile if dockerfile.endswith("\n") else dockerfile + "\n",
            dockerfile_path=dockerfile_path,
            dockerignore=dockerignore,
            dockerignore_path=(Path(service_root) / ".dockerignore").as_posix(),
        )
    )
    variant.write_metadata(
        metadata.model_copy(
            update={
                "task_id": environment_task_id(metadata.task_id),
                "kind": "environment",
                "verification_report": None,
                "environment_variant": EnvironmentVariantInfo(dockerfile=dockerfile_path, removed_files=removed),
                # Its difficulty is one level up, in both files.
                "strength": metadata.strength.model_copy(update={"difficulty": task_yaml["difficulty"]})
                if metadata.strength
                else None,
            }
        )
    )
    return staging


# --------------------------------------------------------------------------- Harbor

SOLUTION_MARK = "ABC_PIPELINE_SOLUTION_PATCH"


def solution_patch(solution_sh: str) -> str:
    """The code patch inside a solution.sh (the heredoc solution.sh.j2 writes)."""
    match = re.search(rf"<<'{SOLUTION_MARK}'\n(.*?){SOLUTION_MARK}\n", solution_sh, flags=re.DOTALL)
    return match.group(1) if match else ""


def write_harbor(task_dir: Path, staging: Path, settings: Settings) -> Path:
    """The Harbor layout of a verified Terminal-Bench task, at `staging`.

    Same task, other files: task.yaml becomes task.toml + instruction.md; the agent's
    Dockerfile and the masked repository become environment/; solution.sh becomes
    solution/solve.sh; tests/ gains test.sh, which runs the verified run-tests.sh and
    writes Harbor's reward file.
    """
    source = TaskFolder.terminal_bench(task_dir)
    target = TaskFolder.harbor(staging)
    metadata = source.metadata()
    task_yaml = yaml.safe_load(source.config.read_text())
    if staging.exists():
        shutil.rmtree(staging)
    target.repo_parent.mkdir(parents=True)
    shutil.copytree(source.repo_dir(metadata.source), target.repo_dir(metadata.source), symlinks=True)
    shutil.copy2(source.dockerfile, target.dockerfile)
    values = {"task_id": metadata.task_id, "kind": metadata.kind}
    target.compose.write_text(render("harbor/docker-compose.yaml.j2", **values))
    assert target.instruction is not None and target.test_sh is not None
    target.instruction.write_text(task_yaml["instruction"].rstrip() + "\n")
    limits = settings.limits
    memory_mb = _megabytes(limits.memory)
    target.config.write_text(
        render(
            "harbor/task.toml.j2",
            **values,
            package_name=f"{settings.harbor_org}/{metadata.task_id}",
            description=f"{metadata.group.name}: {metadata.group.description or ''}".strip(": "),
            author_name=task_yaml["author_name"],
            author_email=task_yaml["author_email"],
            difficulty=task_yaml["difficulty"],
            category=task_yaml["category"],
            tags=task_yaml["tags"],
            source=metadata.source.origin,
            verifier_timeout_sec=float(task_yaml["max_test_timeout_sec"] + limits.startup_timeout),
            agent_timeout_sec=float(task_yaml["max_agent_timeout_sec"]),
            build_timeout_sec=float(limits.build_timeout),
            # The agent's container also builds and runs the service through Docker.
            cpus=max(1, int(limits.cpus)),
            memory_mb=max(2048, memory_mb * 2),
        )
    )
    target.solution.parent.mkdir()
    shutil.copy2(source.solution, target.solution)
    shutil.copytree(source.tests, target.tests)
    shutil.copy2(source.run_tests, target.run_tests)
    target.test_sh.write_text(render("harbor/test.sh.j2", **failures.template_values(), **values))
    for script in target.executables():
        os.chmod(script, 0o755)
    shutil.copy2(source.metadata_file, target.metadata_file)
    return staging


def _megabytes(size: str) -> int:
    units = {"k": 1 / 1024, "m": 1, "g": 1024}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg])b?", size.strip().lower())
    return int(float(match.group(1)) * units[match.group(2)]) if match else 1024


def record_verification(task_dir: Path, report: VerificationReport) -> None:
    task = TaskFolder.terminal_bench(task_dir)
    metadata = task.metadata()
    update: dict[str, Any] = {"verification_report": report}
    if metadata.strength is not None:
        update["strength"] = metadata.strength.model_copy(update={"stand_ins": report.stand_ins})
    task.write_metadata(metadata.model_copy(update=update))


def published_dirs(settings: Settings, task_id: str) -> dict[str, Path]:
    """Where a task is published in each asked-for format: Terminal-Bench folders directly
    in the output folder (as ABC-Bench ships them), Harbor folders in their own."""
    dirs: dict[str, Path] = {}
    if "terminal-bench" in settings.formats:
        dirs["terminal-bench"] = settings.out_dir / task_id
    if "harbor" in settings.formats:
        dirs["harbor"] = settings.harbor_out_dir / task_id
    return dirs


def publish(staging: Path, out_dir: Path, task_id: str) -> Path:
    """Move a verified task into the output folder in one rename."""
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / task_id
    incoming = out_dir / f".{task_id}.incoming"
    if incoming.exists():
        shutil.rmtree(incoming)
    shutil.copytree(staging, incoming, symlinks=True)
    if final.exists():
        old = out_dir / f".{task_id}.old"
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
        os.replace(incoming, final)
        shutil.rmtree(old)
    else:
        os.replace(incoming, final)
    return final
