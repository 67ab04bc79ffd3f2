"""package: the Terminal-Bench task folder, as ABC-Bench ships it.

The folder is written whole into a staging area; only the verify gate moves it to the
output folder (see publish), so a finished task is never half-written.
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
from pipeline.models import (
    ApiGroup,
    EnvSpec,
    LicenseVerdict,
    MaskResult,
    RedactionReport,
    RepoSnapshot,
    Service,
    TestSuite,
    VerificationReport,
)
from pipeline.templates import render

STAGE_VERSION = "1"


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
    }
    (staging / "Dockerfile").write_text(render("task/Dockerfile.j2", **values))
    (staging / "docker-compose.yaml").write_text(render("task/docker-compose.yaml.j2", **values))
    for script, text in (
        ("run-tests.sh", render("task/run-tests.sh.j2", **values)),
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
    (staging / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    return staging


def record_verification(task_dir: Path, report: VerificationReport) -> None:
    path = task_dir / "metadata.json"
    metadata = json.loads(path.read_text())
    metadata["verification_report"] = report.model_dump(mode="json")
    path.write_text(json.dumps(metadata, indent=2) + "\n")


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
