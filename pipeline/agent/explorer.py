"""Explorer: confirms and extends the static inventory and names and describes the groups.

The model's word is never taken as is: names must be `[a-z0-9_]+` and unique; an added
endpoint is kept only when the file it names (inside the service) defines the handler and
routes the path there: the path, or its tail after a mount prefix, appears as a string in
the handler's definition (a decorator) or on a line that names the handler (a route table).
Routes registered in another file than the handler's cannot be verified this way and are
dropped with that reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.agent import loop, prompts
from pipeline.agent.tools import REPO_TOOLS, Toolbox, Workspace
from pipeline.config import LlmSettings
from pipeline.languages import get_framework
from pipeline.languages import treesitter as ts
from pipeline.models import Endpoint, Inventory, normalize_path

NAME = re.compile(r"[a-z0-9_]+")
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}


class GroupNaming(BaseModel):
    original: str = Field(description="the group's current name")
    name: str = Field(description="new name: [a-z0-9_]+, unique")
    description: str = Field(description="one or two sentences for a client of the API")


class NewEndpoint(BaseModel):
    method: str
    path: str = Field(description="full path with every prefix, in the framework's syntax")
    file: str = Field(description="the handler's file, relative to the repository root")
    handler: str = Field(description="the handler's function name")
    group: str = Field(description="the current name of the group it belongs to")


class ExplorerResult(BaseModel):
    groups: list[GroupNaming]
    new_endpoints: list[NewEndpoint] = Field(default_factory=list)


class ExplorerChanges(BaseModel):
    inventory: Inventory
    renamed: dict[str, str] = Field(default_factory=dict)
    added: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list, description="additions refused, with why")


def check(inventory: Inventory) -> object:
    originals = {g.name for g in inventory.groups}

    def problems(result: ExplorerResult) -> list[str]:
        found: list[str] = []
        names = [g.name for g in result.groups]
        for naming in result.groups:
            if naming.original not in originals:
                found.append(f"there is no group {naming.original!r}; the groups are {sorted(originals)}")
            if not NAME.fullmatch(naming.name):
                found.append(f"name {naming.name!r} must match [a-z0-9_]+")
            if not naming.description.strip() or len(naming.description) > 600:
                found.append(f"the description of {naming.name!r} must be 1 to 600 characters")
        if len(set(names)) != len(names):
            found.append("group names must be unique")
        if len({g.original for g in result.groups}) != len(result.groups):
            found.append("each group may be named once")
        return found

    return problems


def assignment(repo_root: Path, inventory: Inventory) -> loop.Assignment:
    prompt = prompts.render("explorer.md.j2", services=inventory.services, groups=inventory.groups)
    return loop.Assignment(
        role="explorer",
        prompt=prompt,
        result_model=ExplorerResult,
        toolbox=Toolbox().add(*REPO_TOOLS),
        workspace=Workspace(repo_root=repo_root),
        check=check(inventory),
    )


def _find_handler(repo_root: Path, rel: str, name: str, language: str) -> tuple[ts.tree_sitter.Node, bytes] | None:
    """The definition node of function `name` in `rel`, and the file's bytes."""
    path = repo_root / rel
    try:
        if not path.resolve().is_relative_to(repo_root.resolve()) or not path.is_file():
            return None
        source = path.read_bytes()
        tree = ts.parse(source, language)
    except (OSError, KeyError, ValueError):
        return None
    for node in ts.walk(tree.root_node):
        named = node.child_by_field_name("name")
        if named is not None and node.child_by_field_name("body") is not None and ts.text(named) == name:
            return node, source
    return None


def _routed(path: str, source: bytes, node: ts.tree_sitter.Node, handler: str) -> bool:
    """Does a string literal that ends the route path sit just above or in the definition
    (a decorator, an attribute) or on a line that names the handler (a route table)?"""
    segments = path.strip("/").split("/")
    tails = {"/" + "/".join(segments[i:]) for i in range(len(segments))} | {path}
    text = source.decode("utf-8", errors="replace")
    # Decorators and attributes sit right above the definition: a few lines before it.
    before = source[: node.start_byte].decode("utf-8", errors="replace").splitlines()[-6:]
    span = "\n".join(before) + source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")
    for literal in set(re.findall(r"""["'`]([^"'`\n]+)["'`]""", text)):
        if literal not in tails or len(literal) < 2:
            continue
        if any(f"{q}{literal}{q}" in span for q in "\"'`"):
            return True
        for line in text.splitlines():
            if literal in line and re.search(rf"\b{re.escape(handler)}\b", line):
                return True
    return False


def apply(result: ExplorerResult, inventory: Inventory, repo_root: Path) -> ExplorerChanges:
    """The inventory with the checked changes: renames, descriptions, verified endpoints."""
    inv = inventory.model_copy(deep=True)
    by_name = {g.name: g for g in inv.groups}
    services = {s.root: s for s in inv.services}
    added: list[str] = []
    dropped: list[str] = []
    for new in result.new_endpoints:
        key = f"{new.method.upper()} {new.path}"
        group = by_name.get(new.group)
        if group is None:
            dropped.append(f"{key}: no group {new.group!r}")
            continue
        service = services[group.service_root]
        method = new.method.upper()
        prefix = "" if service.root == "." else service.root.rstrip("/") + "/"
        known = {(e.method, e.normalized_path) for s in inv.services for e in s.endpoints}
        if method not in METHODS:
            dropped.append(f"{key}: unknown method")
        elif (method, normalize_path(new.path)) in known:
            dropped.append(f"{key}: already in the inventory")
        elif not new.file.startswith(prefix):
            dropped.append(f"{key}: {new.file} is not in service {service.root}")
        elif (found := _find_handler(repo_root, new.file, new.handler, service.language)) is None:
            dropped.append(f"{key}: {new.file} defines no function {new.handler}")
        elif not _routed(new.path, found[1], found[0], new.handler):
            dropped.append(f"{key}: {new.file} does not route {new.path} to {new.handler}")
        else:
            node = found[0]
            body = node.child_by_field_name("body")
            assert body is not None
            handler = ts.handler_at(new.file, new.handler, node, body)
            endpoint = Endpoint(method=method, path=new.path, handler=handler)
            # What the handler reads from the query string, as for the endpoints found statically.
            endpoint.query_fields = get_framework(service.framework).query_fields(repo_root, endpoint)
            service.endpoints.append(endpoint)
            group.endpoints.append(endpoint)
            added.append(key)
    renamed: dict[str, str] = {}
    for naming in result.groups:
        group = by_name[naming.original]
        group.description = naming.description.strip()
        if naming.name != group.name:
            renamed[group.name] = naming.name
            group.name = naming.name
    return ExplorerChanges(inventory=inv, renamed=renamed, added=added, dropped=dropped)


def run(
    repo_root: Path, inventory: Inventory, settings: LlmSettings, transcript: Path
) -> tuple[loop.AgentRun, ExplorerChanges | None]:
    outcome = loop.run(assignment(repo_root, inventory), settings, transcript)
    if not outcome.ok:
        return outcome, None
    return outcome, apply(ExplorerResult.model_validate(outcome.result), inventory, repo_root)
