"""environment: a Dockerfile for one service, from its language's template.

The language decides how dependencies are installed (one template per language, under
pipeline/templates/dockerfiles/); the framework module decides how the service starts.
Base images carry official names whose versions match Debian bookworm's packages, so the
same Dockerfile works where images are pulled and where they are built locally.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.frameworks import get_framework
from pipeline.frameworks.base import ServiceCandidate
from pipeline.models import EnvSpec, Inventory, RepoSnapshot, Service, StageError, Verdict
from pipeline.templates import render

STAGE_VERSION = "1"

BASE_IMAGES = {
    "python": "python:3.11-slim-bookworm",
    "javascript": "node:18-bookworm-slim",
}
_HEALTH_NAMES = ("health", "healthz", "healthcheck", "ping", "status")

DOCKERIGNORE = """\
.git
node_modules
.venv
venv
__pycache__
*.pyc
.env
"""


def _python_context(root: Path) -> dict[str, Any]:
    requirements = next(
        (
            name
            for name in ("requirements.txt", "requirements/base.txt", "requirements/prod.txt")
            if (root / name).is_file()
        ),
        None,
    )
    installable = (root / "pyproject.toml").is_file() or (root / "setup.py").is_file()
    return {"requirements": requirements, "installable": installable}


def _javascript_context(root: Path) -> dict[str, Any]:
    manifest = json.loads((root / "package.json").read_text()) if (root / "package.json").is_file() else {}
    scripts = manifest.get("scripts", {}) if isinstance(manifest, dict) else {}
    return {
        "lockfile": (root / "package-lock.json").is_file(),
        "build_script": "build" in scripts,
    }


# How each language installs its dependencies: the template's inputs.
_LANGUAGE_CONTEXT = {
    "python": _python_context,
    "javascript": _javascript_context,
}


def health_path(service: Service) -> str:
    """A real GET endpoint without parameters, preferring the ones named like a health check."""
    plain_gets = [e for e in service.endpoints if e.method in ("GET", "ANY") and "{" not in e.normalized_path]
    for endpoint in plain_gets:
        if endpoint.normalized_path.strip("/").split("/")[-1] in _HEALTH_NAMES:
            return endpoint.normalized_path
    if plain_gets:
        return sorted(plain_gets, key=lambda e: len(e.normalized_path))[0].normalized_path
    return "/"


def synthesize(snapshot: RepoSnapshot, inventory: Inventory, service: Service) -> EnvSpec:
    framework = get_framework(service.framework)
    root = snapshot.path / service.root
    if service.language not in BASE_IMAGES:
        raise StageError(Verdict.build_error, f"no Dockerfile template for {service.language} yet", stage="environment")
    hints = framework.runtime_hints(snapshot.path, ServiceCandidate(root=root, entrypoint=service.entrypoint))
    context = _LANGUAGE_CONTEXT[service.language](root)
    base_image = BASE_IMAGES[service.language]
    dockerfile = render(
        f"dockerfiles/{service.language}.Dockerfile.j2",
        framework=service.framework,
        base_image=base_image,
        port=hints.port,
        start_command=hints.start_command,
        env=hints.env,
        extra_packages=hints.extra_packages,
        **context,
    )
    return EnvSpec(
        service_root=service.root,
        language=service.language,
        framework=service.framework,
        base_image=base_image,
        dockerfile=dockerfile,
        port=hints.port,
        start_command=hints.start_command,
        env=hints.env,
        health_path=health_path(service),
    )


def write_environment(spec: EnvSpec, repo_dir: Path) -> None:
    """Write the Dockerfile (and a .dockerignore, unless the repository has one)."""
    service_dir = repo_dir / spec.service_root
    (service_dir / "Dockerfile").write_text(spec.dockerfile)
    if not (service_dir / ".dockerignore").exists():
        (service_dir / ".dockerignore").write_text(DOCKERIGNORE)
