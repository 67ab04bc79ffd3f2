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
import shlex
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from pipeline import __version__
from pipeline.config import Settings
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
from pipeline.runtime import sandbox
from pipeline.schemas.metadata import TaskMetadata
from pipeline.templates import render

STAGE_VERSION = "5"

# The agent's (client) container: the official Python image the harnesses' own tasks use,
# and what run-tests.sh needs inside it, pinned (Harbor's lint asks for exact versions).
CLIENT_BASE_IMAGE = "python:3.11-slim-bookworm"
TEST_REQUIREMENTS = ("pytest==8.3.5", "requests==2.32.3")


def task_id_for(snapshot: RepoSnapshot, group: ApiGroup) -> str:
    raw = f"{snapshot.owner}_{snapshot.name}__{group.name}".lower()
    return re.sub(r"[^a-z0-9_]+", "_", raw).strip("_")


def repo_dir_name(snapshot: RepoSnapshot) -> str:
    name = f"{snapshot.owner[:1].upper()}{snapshot.owner[1:]}_{snapshot.name}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _behaviour(group: ApiGroup, suite: TestSuite) -> dict[str, list[str]]:
    """What the original answered, per endpoint, in words (no code)."""
    lines: dict[str, list[str]] = defaultdict(list)
    for scenario in suite.scenarios:
        for probe in scenario.steps:
            key = f"{probe.method} {probe.path_template}"
            sent = " with an empty JSON body" if probe.body == {} else ""
            shape = _shape(probe.stable_json)
            line = f"Answers `{probe.status}`{sent}{shape}."
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
            "behaviour": behaviour.get(f"{e.method} {e.normalized_path}", ["Must answer without a server error."]),
        }
        for e in group.endpoints
    ]
    return render(
        "task/instruction.md.j2",
        framework=service.framework.capitalize(),
        repo_dir=repo_dir_name(snapshot),
        service_root=service.root,
        group=group,
        endpoints=endpoints,
        port=env.port,
    )


def run_tests_script(**values: Any) -> str:
    """run-tests.sh for a task (task_id, repo_dir, service_root, port, health_path, limits).

    It tells a machine's fault from the repository's in a failed build by the pipeline's
    own table (sandbox.BUILD_INFRA_PATTERNS), rendered into it."""
    return render("task/run-tests.sh.j2", build_infra_pattern=shlex.quote(sandbox.build_infra_grep_pattern()), **values)


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
    repo_dir = repo_dir_name(snapshot)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    shutil.copytree(masked_tree, staging / repo_dir, symlinks=True, ignore=shutil.ignore_patterns(".git"))

    if instruction is None:
        instruction = instruction_for(snapshot, service, group, suite, env)
    task_yaml = {
        "instruction": instruction,
        "author_name": settings.author_name,
        "author_email": settings.author_email,
        "difficulty": "medium" if len(group.endpoints) > 2 else "easy",
        "category": "backend",
        "tags": [service.language, service.framework, "api", group.name],
        "max_agent_timeout_sec": 1800,
        "max_test_timeout_sec": settings.limits.build_timeout + settings.limits.test_timeout,
    }
    (staging / "task.yaml").write_text(yaml.safe_dump(task_yaml, sort_keys=False, allow_unicode=True, width=100))
    values = {
        "task_id": task_id,
        "repo_dir": repo_dir,
        "service_root": service.root,
        "port": env.port,
        "health_path": env.health_path,
        "limits": settings.limits,
        "group": group.name,
        "client_base_image": CLIENT_BASE_IMAGE,
        "test_requirements": TEST_REQUIREMENTS,
    }
    (staging / "Dockerfile").write_text(render("task/Dockerfile.j2", **values))
    (staging / "docker-compose.yaml").write_text(render("task/docker-compose.yaml.j2", **values))
    for script, text in (
        ("run-tests.sh", run_tests_script(**values)),
        ("solution.sh", render("task/solution.sh.j2", patch=mask.solution_patch, **values)),
    ):
        (staging / script).write_text(text)
        os.chmod(staging / script, 0o755)
    tests = staging / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(render("tests/conftest.py.j2"))
    (tests / "test_connect.py").write_text(suite.test_connect)
    (tests / "test_func.py").write_text(suite.test_func)

    metadata = {
        "task_id": task_id,
        "kind": "implementation",
        "source": {"origin": snapshot.origin, "owner": snapshot.owner, "name": snapshot.name},
        "commit": snapshot.commit,
        "license": license_verdict.model_dump(mode="json"),
        "service": {"root": service.root, "language": service.language, "framework": service.framework},
        "group": {"name": group.name, "description": group.description},
        "endpoints": [{"method": e.method, "path": e.path, "handler": e.handler.model_dump()} for e in group.endpoints],
        "masked_symbols": mask.masked_symbols,
        "environment": env.model_dump(mode="json", exclude={"dockerfile"}),
        "redaction_report": redaction.model_dump(mode="json"),
        "verification_report": None,
        "pipeline_version": __version__,
        "stage_hashes": stage_hashes,
    }
    _write_metadata(staging, metadata)
    return staging


def _write_metadata(task_dir: Path, metadata: dict) -> None:
    # Checked against the shipped schema's model on the way out: a task never carries
    # metadata that `abc-pipeline lint` would reject.
    TaskMetadata.model_validate(metadata)
    (task_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")


# --------------------------------------------------------------------------- variants

ENVIRONMENT_SUFFIX = "__env"
# What the environment variant removes: every file that says how the service is built or
# run (the synthesized Dockerfile.abc too), anywhere in the repository.
ENVIRONMENT_FILE = re.compile(
    r"(?i)^(dockerfile(\..+)?|.+\.dockerfile|(docker-)?compose(\.[\w.-]+)?\.ya?ml|\.dockerignore)$"
)


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
    metadata = json.loads((task_dir / "metadata.json").read_text())
    env = metadata["environment"]
    service_root = metadata["service"]["root"]
    repo_dir = repo_dir_name_from(task_dir, metadata)
    if staging.exists():
        shutil.rmtree(staging)
    shutil.copytree(task_dir, staging, symlinks=True)
    repo = staging / repo_dir
    service_dir = repo / service_root
    source = verified_dockerfile(service_dir)
    if not source.is_file():
        raise StageError(Verdict.mask_failed, f"no Dockerfile under {service_root} to build the variant from")
    dockerfile = source.read_text()
    ignore_file = service_dir / ".dockerignore"
    dockerignore = ignore_file.read_text() if ignore_file.is_file() else None

    removed = []
    for path in sorted(repo.rglob("*")):
        if path.is_file() and ENVIRONMENT_FILE.match(path.name) and ".git" not in path.relative_to(repo).parts:
            removed.append(path.relative_to(repo).as_posix())
            path.unlink()
    dockerfile_path = (Path(service_root) / "Dockerfile").as_posix()
    values = {
        "repo_dir": repo_dir,
        "service_root": service_root,
        "dockerfile_path": dockerfile_path,
        "base_image": env["base_image"],
        "language": metadata["service"]["language"].capitalize(),
        "start_command": env["start_command"],
        "port": env["port"],
        "health_path": env["health_path"],
        "env_vars": env.get("env") or {},
    }
    task_yaml_path = staging / "task.yaml"
    task_yaml = yaml.safe_load(task_yaml_path.read_text())
    task_yaml["instruction"] = (
        task_yaml["instruction"].rstrip() + "\n" + render("task/environment-requirements.md.j2", **values)
    )
    task_yaml["tags"] = [*task_yaml["tags"], "environment"]
    task_yaml["difficulty"] = "hard" if task_yaml["difficulty"] == "medium" else "medium"
    task_yaml_path.write_text(yaml.safe_dump(task_yaml, sort_keys=False, allow_unicode=True, width=100))

    solution = staging / "solution.sh"
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
    metadata.update(
        {
            "task_id": environment_task_id(metadata["task_id"]),
            "kind": "environment",
            "verification_report": None,
            "environment_variant": {"dockerfile": dockerfile_path, "removed_files": removed},
        }
    )
    _write_metadata(staging, metadata)
    return staging


def repo_dir_name_from(task_dir: Path, metadata: dict) -> str:
    """The repository folder's name in a written task, from its metadata."""
    source = metadata["source"]
    snapshot = RepoSnapshot(
        path=task_dir,
        commit=str(metadata.get("commit")),
        origin=source["origin"],
        owner=source["owner"],
        name=source["name"],
    )
    return repo_dir_name(snapshot)


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
    metadata = json.loads((task_dir / "metadata.json").read_text())
    task_yaml = yaml.safe_load((task_dir / "task.yaml").read_text())
    repo_dir = repo_dir_name_from(task_dir, metadata)
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "environment").mkdir(parents=True)
    shutil.copytree(task_dir / repo_dir, staging / "environment" / repo_dir, symlinks=True)
    shutil.copy2(task_dir / "Dockerfile", staging / "environment" / "Dockerfile")
    values = {"task_id": metadata["task_id"], "kind": metadata["kind"]}
    (staging / "environment" / "docker-compose.yaml").write_text(render("harbor/docker-compose.yaml.j2", **values))
    (staging / "instruction.md").write_text(task_yaml["instruction"].rstrip() + "\n")
    limits = settings.limits
    memory_mb = _megabytes(limits.memory)
    (staging / "task.toml").write_text(
        render(
            "harbor/task.toml.j2",
            **values,
            package_name=f"{settings.harbor_org}/{metadata['task_id']}",
            description=f"{metadata['group']['name']}: {metadata['group'].get('description') or ''}".strip(": "),
            author_name=task_yaml["author_name"],
            author_email=task_yaml["author_email"],
            difficulty=task_yaml["difficulty"],
            category=task_yaml["category"],
            tags=task_yaml["tags"],
            source=metadata["source"]["origin"],
            verifier_timeout_sec=float(task_yaml["max_test_timeout_sec"] + limits.startup_timeout),
            agent_timeout_sec=float(task_yaml["max_agent_timeout_sec"]),
            build_timeout_sec=float(limits.build_timeout),
            # The agent's container also builds and runs the service through Docker.
            cpus=max(1, int(limits.cpus)),
            memory_mb=max(2048, memory_mb * 2),
        )
    )
    (staging / "solution").mkdir()
    shutil.copy2(task_dir / "solution.sh", staging / "solution" / "solve.sh")
    shutil.copytree(task_dir / "tests", staging / "tests")
    shutil.copy2(task_dir / "run-tests.sh", staging / "tests" / "run-tests.sh")
    (staging / "tests" / "test.sh").write_text(render("harbor/test.sh.j2", **values))
    for script in ("solution/solve.sh", "tests/test.sh", "tests/run-tests.sh"):
        os.chmod(staging / script, 0o755)
    shutil.copy2(task_dir / "metadata.json", staging / "metadata.json")
    return staging


def _megabytes(size: str) -> int:
    units = {"k": 1 / 1024, "m": 1, "g": 1024}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg])b?", size.strip().lower())
    return int(float(match.group(1)) * units[match.group(2)]) if match else 1024


def record_verification(task_dir: Path, report: VerificationReport) -> None:
    path = task_dir / "metadata.json"
    metadata = json.loads(path.read_text())
    metadata["verification_report"] = report.model_dump(mode="json")
    _write_metadata(task_dir, metadata)


def published_dirs(settings: Settings, task_id: str) -> dict[str, Path]:
    """Where a task is published in each asked-for format: Terminal-Bench folders directly
    in the output folder (as ABC-Bench ships them), Harbor folders in their own."""
    dirs = {}
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
