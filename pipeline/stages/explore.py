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
from pipeline.languages import FRAMEWORKS
from pipeline.languages import treesitter as ts
from pipeline.languages.delegates import find_delegates
from pipeline.languages.framework import Framework, ServiceCandidate
from pipeline.models import ApiGroup, Endpoint, Inventory, RepoSnapshot, Service, StageError, Verdict

STAGE_VERSION = "10"
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
    # One walk, read and parse of the repository, shared by every framework module.
    with ts.exploring(root) as index:
        for framework in FRAMEWORKS:
            for candidate, endpoints in _discover_with(framework, root, warnings):
                # One service root belongs to the first framework that claims it (e.g. a
                # Gin app is not also reported as a plain net/http one).
                key = candidate.root.resolve()
                if key in claimed:
                    continue
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
        _add_delegates(root, services, groups, settings, warnings)
        warnings = index.warnings + [w for w in warnings if w not in index.warnings]
    return Inventory(services=services, groups=groups, warnings=warnings)


def _discover_with(
    framework: Framework, root: Path, warnings: list[str]
) -> list[tuple[ServiceCandidate, list[Endpoint]]]:
    """Every service the framework claims, with its endpoints.

    A framework module that fails on an odd repository costs that framework's answer,
    with a warning, never the exploration: the other frameworks still get their turn.
    """
    try:
        candidates = framework.detect(root)
    except Exception as exc:
        log.warning("%s detection failed", framework.name, exc_info=True)
        warnings.append(f"{framework.name}: detection failed ({type(exc).__name__}: {exc})")
        return []
    found = []
    for candidate in candidates:
        try:
            endpoints = framework.discover(root, candidate)
            endpoints = [_with_query_fields(framework, root, e) for e in endpoints]
        except Exception as exc:
            log.warning("%s discovery failed at %s", framework.name, candidate.root, exc_info=True)
            warnings.append(
                f"{framework.name} app at {_rel(candidate.root, root)}: discovery failed ({type(exc).__name__}: {exc})"
            )
            continue
        found.append((candidate, endpoints))
    return found


def _with_query_fields(framework: Framework, root: Path, endpoint: Endpoint) -> Endpoint:
    """The endpoint with the query parameters its handler reads, when discovery (which
    reads declared ones) found none."""
    if endpoint.query_fields:
        return endpoint
    fields = framework.query_fields(root, endpoint)
    return endpoint.model_copy(update={"query_fields": fields}) if fields else endpoint


def _add_delegates(
    root: Path, services: list[Service], groups: list[ApiGroup], settings: Settings, warnings: list[str]
) -> None:
    for service in services:
        own = [g for g in groups if g.service_root == service.root]
        if not own:
            continue
        try:
            found = find_delegates(
                root,
                root / service.root,
                [g.endpoints for g in own],
                service.endpoints,
                settings.delegate_depth,
            )
        except Exception as exc:  # the inventory is still right without them
            log.warning("delegate search failed for %s", service.root, exc_info=True)
            warnings.append(f"delegates of {service.root} not searched ({type(exc).__name__}: {exc})")
            continue
        for group, delegates in zip(own, found, strict=True):
            group.delegates = delegates


def _rel(path: Path, root: Path) -> str:
    rel = path.resolve().relative_to(root.resolve()).as_posix()
    return rel or "."


def _static_segments(endpoint: Endpoint) -> list[str]:
    """The path's segments up to the first parameter, without API prefixes like /api or /v1."""
    out = []
    for segment in (s for s in endpoint.normalized_path.split("/") if s):
        if segment.startswith("{"):
            break
        if _API_PREFIXES.match(segment):
            continue
        out.append(segment)
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "root"


def is_infra(endpoint: Endpoint) -> bool:
    segments = _static_segments(endpoint)
    return bool(segments) and _slug(segments[0]) in _INFRA_RESOURCES


def service_prefix(endpoints: list[Endpoint]) -> list[str]:
    """Static segments every (non-health) endpoint of a service starts with, e.g. ["catalog"].

    A service mounted under its own name (/catalog/products, /catalog/prices) has its
    resources one level down; grouping by the shared segment would make one big group.
    """
    # Endpoints their framework module groups itself (static files) name no resource.
    paths = [_static_segments(e) for e in endpoints if not is_infra(e) and e.group is None]
    if not paths:
        return []
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return common


def resource_of(endpoint: Endpoint, prefix: list[str] | None = None) -> str:
    """The resource an endpoint acts on: its first static segment after API and service prefixes."""
    segments = _static_segments(endpoint)
    skip = len(prefix or [])
    if len(segments) > skip:
        return _slug(segments[skip])
    # Everything is shared (a service with one resource): the deepest shared segment names it.
    return _slug(segments[-1]) if segments else "root"


def _service_slugs(services: list[Service]) -> dict[str, str]:
    """A short name per service for group names: its folder, or its whole root if folders clash."""
    short = {s.root: _slug(Path(s.root).name if s.root != "." else "root") for s in services}
    if len(set(short.values())) == len(short):
        return short
    return {s.root: _slug(s.root) for s in services}


def make_groups(services: list[Service], settings: Settings) -> list[ApiGroup]:
    """API groups: the endpoints of one resource in one service, split when too large.

    Deterministic: endpoints are sorted, so the same repository gives the same groups.
    """
    groups: list[ApiGroup] = []
    slugs = _service_slugs(services)
    several = len(services) > 1
    for service in services:
        prefix = service_prefix(service.endpoints)
        by_resource: dict[str, list[Endpoint]] = defaultdict(list)
        for endpoint in sorted(service.endpoints, key=lambda e: (e.normalized_path, e.method)):
            if endpoint.group is None and is_infra(endpoint):
                continue  # health and readiness checks only tell whether the service is up
            by_resource[endpoint.group or resource_of(endpoint, prefix)].append(endpoint)
        for resource, endpoints in sorted(by_resource.items()):
            if len(endpoints) < settings.min_group_endpoints:
                continue
            base = f"{slugs[service.root]}_{resource}" if several else resource
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
