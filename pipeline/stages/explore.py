"""explore: find every service, its framework and endpoints, and group them.

Static only: tree-sitter, no repository code executed. Framework modules do the reading;
this stage asks each of them and turns the endpoints into API groups sized for a task.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path

from pipeline.config import Settings
from pipeline.frameworks import FRAMEWORKS
from pipeline.models import ApiGroup, Endpoint, Inventory, RepoSnapshot, Service, StageError, Verdict

STAGE_VERSION = "1"
log = logging.getLogger(__name__)

# Leading path segments that name an API, not a resource.
_API_PREFIXES = re.compile(r"^(api|rest|v\d+(\.\d+)?)$", re.IGNORECASE)
# Groups of these only tell whether the service is up; they make no task.
_INFRA_RESOURCES = {"health", "healthz", "healthcheck", "ping", "status", "ready", "readiness", "live", "liveness"}


def explore(snapshot: RepoSnapshot, settings: Settings) -> Inventory:
    root = snapshot.path
    services: list[Service] = []
    warnings: list[str] = []
    claimed: set[Path] = set()
    for framework in FRAMEWORKS:
        for candidate in framework.detect(root):
            # One service root belongs to the first framework that claims it (e.g. a
            # FastAPI app is not also reported as a Starlette one).
            key = candidate.root.resolve()
            if key in claimed:
                continue
            endpoints = framework.discover(root, candidate)
            if not endpoints:
                warnings.append(f"{framework.name} app at {_rel(candidate.root, root)} has no routes")
                continue
            claimed.add(key)
            services.append(
                Service(
                    root=_rel(candidate.root, root),
                    language=framework.language,
                    framework=framework.name,
                    entrypoint=candidate.entrypoint,
                    endpoints=endpoints,
                )
            )
    if not services:
        raise StageError(Verdict.no_endpoints, "no HTTP endpoints of a supported framework found", stage="explore")
    services.sort(key=lambda s: s.root)
    groups = make_groups(services, settings)
    return Inventory(services=services, groups=groups, warnings=warnings)


def _rel(path: Path, root: Path) -> str:
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    return rel or "."


def resource_of(endpoint: Endpoint) -> str:
    """The resource an endpoint acts on: its first static path segment after API prefixes."""
    segments = [s for s in endpoint.normalized_path.split("/") if s]
    for segment in segments:
        if segment.startswith("{") or _API_PREFIXES.match(segment):
            continue
        return re.sub(r"[^a-z0-9]+", "_", segment.lower()).strip("_") or "root"
    return "root"


def make_groups(services: list[Service], settings: Settings) -> list[ApiGroup]:
    """API groups: the endpoints of one resource in one service, split when too large.

    Deterministic: endpoints are sorted, so the same repository gives the same groups.
    """
    groups: list[ApiGroup] = []
    several = len(services) > 1
    for service in services:
        by_resource: dict[str, list[Endpoint]] = defaultdict(list)
        for endpoint in sorted(service.endpoints, key=lambda e: (e.normalized_path, e.method)):
            by_resource[resource_of(endpoint)].append(endpoint)
        for resource, endpoints in sorted(by_resource.items()):
            if resource in _INFRA_RESOURCES:
                continue
            if len(endpoints) < settings.min_group_endpoints:
                continue
            base = resource
            if several:
                service_slug = re.sub(r"[^a-z0-9]+", "_", service.root.lower()).strip("_") or "root"
                base = f"{service_slug}_{resource}"
            size = settings.max_group_endpoints
            chunks = [endpoints[i : i + size] for i in range(0, len(endpoints), size)]
            for index, chunk in enumerate(chunks, start=1):
                name = base if len(chunks) == 1 else f"{base}_{index}"
                groups.append(
                    ApiGroup(
                        name=name,
                        description=describe_group(resource, chunk),
                        service_root=service.root,
                        endpoints=chunk,
                    )
                )
    return groups


def describe_group(resource: str, endpoints: list[Endpoint]) -> str:
    verbs = {
        "GET": "read",
        "POST": "create",
        "PUT": "replace",
        "PATCH": "update",
        "DELETE": "delete",
        "ANY": "handle",
    }
    actions = sorted({verbs.get(e.method, e.method.lower()) for e in endpoints})
    noun = resource.replace("_", " ")
    return f"The {noun} API: {', '.join(actions)} {noun} ({len(endpoints)} endpoints)."
