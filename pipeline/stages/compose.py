"""compose: what a repository's compose files say about its services.

Read by the environment stage (the Dockerfile a compose service builds, and the environment
it runs the service with) and by the sidecars stage (the database servers it runs beside
it). Only what can be read without running compose: files named as compose names them,
services, build contexts, environment and published ports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

# The names `docker compose` looks for, then the per-environment variants projects commit.
FILE_NAMES = (
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "docker-compose.dev.yml",
    "docker-compose.local.yml",
)
DOCKERFILE = "Dockerfile"
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`: compose fills these from the shell.
_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}")


def files(root: Path) -> list[Path]:
    """The compose files at a folder, in the order compose prefers them."""
    return [root / name for name in FILE_NAMES if (root / name).is_file()]


def services(path: Path) -> dict[str, dict]:
    """The service definitions of one compose file ({} when it does not parse)."""
    try:
        data = yaml.safe_load(path.read_text(errors="replace")) or {}
    except (yaml.YAMLError, OSError):
        return {}
    found = data.get("services") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        return {}
    return {str(name): definition for name, definition in found.items() if isinstance(definition, dict)}


def environment(definition: dict) -> dict[str, str]:
    """A service's `environment:` (mapping or KEY=VALUE list); unset entries are left out."""
    raw = definition.get("environment") or {}
    if isinstance(raw, list):
        pairs = (str(item).split("=", 1) for item in raw)
        return {p[0]: p[1] for p in pairs if len(p) == 2}
    return {str(k): _scalar(v) for k, v in raw.items() if v is not None} if isinstance(raw, dict) else {}


def _scalar(value: object) -> str:
    # YAML reads `true` as a bool; compose passes the text the file says.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build(definition: dict) -> tuple[str, str] | None:
    """(context, dockerfile) of a service compose builds, None for one it only pulls."""
    if "build" not in definition:
        return None
    spec = definition["build"]
    if isinstance(spec, str):
        return spec, DOCKERFILE
    if isinstance(spec, dict):
        return str(spec.get("context", ".")), str(spec.get("dockerfile", DOCKERFILE))
    return ".", DOCKERFILE


def published_ports(definition: dict) -> list[int]:
    """The container ports a service publishes (`3000:3000`, `8080`, long syntax's target)."""
    found = []
    for entry in definition.get("ports") or []:
        text = str(entry.get("target", "")) if isinstance(entry, dict) else str(entry)
        match = re.search(r"(\d+)(?:/tcp)?\s*$", text)
        if match:
            found.append(int(match.group(1)))
    return found


def built_from(repo_root: Path, service_root: str) -> Iterator[tuple[Path, str, dict]]:
    """(compose file, service name, definition) of every compose service that builds the
    service root, from compose files at the service root and at the repository's root."""
    target = (repo_root / service_root).resolve()
    folders = dict.fromkeys([repo_root / service_root, repo_root])
    for folder in folders:
        for path in files(folder):
            for name, definition in services(path).items():
                context = build(definition)
                if context is not None and (path.parent / context[0]).resolve() == target:
                    yield path, name, definition


@dataclass(frozen=True)
class ComposeRun:
    """How the repository's own compose files run the service: the environment of the first
    compose service that builds it and gives one, and the ports they all publish."""

    environment: dict[str, str] = field(default_factory=dict)
    published_ports: list[int] = field(default_factory=list)
    #: where the environment was found (`docker-compose.yml: backend`), None without one
    source: str | None = None


def how_compose_runs(repo_root: Path, service_root: str) -> ComposeRun:
    """The compose services that build the service root, read once. A value compose would
    take from the shell keeps its default, or is left out when it has none."""
    env: dict[str, str] = {}
    ports: list[int] = []
    source = None
    for path, name, definition in built_from(repo_root, service_root):
        ports += published_ports(definition)
        if env:
            continue
        for key, value in environment(definition).items():
            resolved = _interpolated(value)
            if resolved:
                env[key] = resolved
        if env:
            source = f"{path.relative_to(repo_root).as_posix()}: {name}"
    return ComposeRun(environment=env, published_ports=ports, source=source)


def _interpolated(value: str) -> str | None:
    unresolved = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unresolved
        if match.group("default") is None:
            unresolved = True
            return ""
        return match.group("default")

    text = _INTERPOLATION.sub(fill, value)
    return None if unresolved or "$" in text else text
