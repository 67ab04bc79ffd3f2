"""Static files as endpoints: a folder served by `express.static`, `serve-static` or `koa-static`.

A service whose HTTP surface is a folder of files (a documentation site, a demo page, the
assets of a single-page app) answers GET requests as surely as one with routes. Each
mount becomes GET endpoints the rest of the pipeline can test and mask:

- when the folder exists in the repository, one endpoint per file served, for a few of
  its files (index.html first, then small text files, shallowest first);
- when it does not (a build step makes it, or its path is only known at run time), none:
  no file is known that a test could ask for and compare.

The handler of such an endpoint is the middleware expression itself (`express.static(dir)`,
its definition range equal to its body range): masking replaces it with a middleware
that answers 501 to GET and HEAD and passes every other request on. Every static
endpoint is put in one API group, `static`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.languages import treesitter as ts
from pipeline.languages.javascript.interpreter import JsModule, JsProject
from pipeline.languages.javascript.project import grammar_of
from pipeline.languages.javascript.routes import ObjKey, external_call, join_path, static_string
from pipeline.languages.javascript.syntax import FUNCTION_TYPES, Node, arguments, member_parts, unwrap
from pipeline.models import Endpoint, Handler

#: the API group every static-file endpoint goes to
STATIC_GROUP = "static"
#: files reported per mount, and static endpoints per service (one task's worth)
MAX_FILES_PER_MOUNT = 3
MAX_STATIC_ENDPOINTS = 8
#: a file larger than this is not worth a test of its own
MAX_FILE_BYTES = 64 * 1024
#: files whose content a test can read (text), in order of preference; any other small
#: file (a font, an image) comes after them
TEXT_SUFFIXES = (".html", ".htm", ".txt", ".md", ".css", ".json", ".svg", ".xml", ".csv", ".js", ".mjs")
#: folders a walk of a served folder never enters
_SKIP_DIRS = frozenset({"node_modules", ".git"})
#: a path segment that needs no URL encoding
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._~-]+$")
#: (package, member path) of the calls that make a static-file middleware
STATIC_FACTORIES = frozenset(
    {
        ("express", ("static",)),
        ("serve-static", ()),
        ("serve-static", ("default",)),
        ("koa-static", ()),
        ("koa-static", ("default",)),
    }
)
_PATH_MODULES = ("path", "node:path", "path/posix", "node:path/posix")


@dataclass
class StaticMount:
    """A static-file middleware an app or router serves.

    `path` is the mount path (`app.use('/docs', ...)`, "" without one) or, when `route` is
    true, the route path it answers (`app.get('/*', express.static(dir))`): a route does
    not strip its path from the URL, so the files are served at their own path there.
    """

    owner: ObjKey
    path: str
    route: bool
    module: JsModule
    #: the middleware call (`express.static(dir)`): the range masking replaces
    middleware: Node


def static_middleware(project: JsProject, module: JsModule, node: Node) -> tuple[JsModule, Node] | None:
    """The static-file middleware call a handler argument is (or names), else None."""
    node = unwrap(node)
    if node.type in ("identifier", "member_expression"):
        defined = project.definition(module, node)
        if defined is None:
            return None
        module, node = defined[0], unwrap(defined[1])
    value = external_call(project, module, node)
    if value is None or (value.package, value.members) not in STATIC_FACTORIES:
        return None
    return module, node


def middleware_handler(module: JsModule, call: Node) -> Handler:
    """The Handler of a middleware expression: its whole range is what masking replaces."""
    callee = call.child_by_field_name("function")
    name = ts.text(callee) if callee is not None else ""
    if not name or len(name) > 60 or "\n" in name:
        name = "static"
    return ts.handler_at(module.rel, name, call, call)


# --------------------------------------------------------------------------- the served folder


def _is_path_module(project: JsProject, module: JsModule, node: Node | None) -> bool:
    value = project.evaluate(module, node) if node is not None else None
    return value is not None and value.kind == "external" and value.package in _PATH_MODULES and not value.members


def path_value(project: JsProject, module: JsModule, node: Node | None, cwd: str, depth: int = 0) -> str | None:
    """A file-system path an expression holds, when static reading knows it (absolute when
    it names `__dirname` or `process.cwd()`, else as written).

    Strings and constants, `__dirname`, `process.cwd()`, `path.join(...)` / `path.resolve(...)`,
    `+` and template literals of those.
    """
    if node is None or depth > 10:
        return None
    node = unwrap(node)
    if node.type == "identifier" and ts.text(node) == "__dirname":
        return os.path.dirname(str(module.path))
    if node.type == "call_expression":
        callee = node.child_by_field_name("function")
        if callee is not None and ts.text(callee) == "process.cwd":
            return cwd
        parts = member_parts(callee) if callee is not None else None
        if parts is not None and parts[1] in ("join", "resolve") and _is_path_module(project, module, parts[0]):
            values = [path_value(project, module, a, cwd, depth + 1) for a in arguments(node)]
            if not values or any(v is None for v in values):
                return None
            if parts[1] == "resolve":
                return os.path.normpath(os.path.join(cwd, *values))  # type: ignore[arg-type]
            return os.path.normpath(os.path.join(*values))  # type: ignore[arg-type]
        return None
    if node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) == "+":
        left = path_value(project, module, node.child_by_field_name("left"), cwd, depth + 1)
        right = path_value(project, module, node.child_by_field_name("right"), cwd, depth + 1)
        return left + right if left is not None and right is not None else None
    if node.type == "template_string":
        out = []
        for child in node.named_children:
            if child.type == "template_substitution":
                inner = child.named_children[0] if child.named_children else None
                value = path_value(project, module, inner, cwd, depth + 1)
            elif child.type == "string_fragment":
                value = ts.text(child)
            elif child.type == "escape_sequence":
                value = ts.text(child).encode().decode("unicode_escape", errors="replace")
            else:
                continue
            if value is None:
                return None
            out.append(value)
        return "".join(out)
    if node.type in ("identifier", "member_expression", "subscript_expression"):
        value = project.evaluate(module, node)
        if value is not None and value.kind == "node" and value.module is not None and value.node not in (None, node):
            return path_value(project, value.module, value.node, cwd, depth + 1)
        return None
    return static_string(project, module, node)


def served_folder(project: JsProject, module: JsModule, middleware: Node) -> Path | None:
    """The folder of the repository a static middleware serves, when it is known and exists.

    A relative path is relative to the working directory, the service root (where the
    service is started).
    """
    args = arguments(middleware)
    cwd = str(project.service_root)
    value = path_value(project, module, args[0], cwd) if args else None
    if value is None:
        return None
    folder = Path(os.path.normpath(os.path.join(cwd, value)))
    repo = project.repo_root.resolve()
    try:
        folder.resolve().relative_to(repo)
    except ValueError:
        return None
    return folder if folder.is_dir() else None


def served_files(folder: Path, limit: int = MAX_FILES_PER_MOUNT) -> list[str]:
    """A few files of a served folder worth a test each, as paths relative to it.

    index.html at the top first (what a browser asks for), then small text files, then
    other small files, shallowest first. Dot files (which serve-static refuses), large
    files and names a URL would have to encode are left out.
    """
    found: list[tuple[tuple[int, bool, int, int, str], str]] = []
    for current, dirs, files in os.walk(folder):
        rel_dir = os.path.relpath(current, folder)
        depth = 0 if rel_dir == "." else rel_dir.count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and _PLAIN_NAME.match(d) and not d.startswith("."))
        if depth >= 3:
            dirs[:] = []
        for name in sorted(files):
            if name.startswith(".") or not _PLAIN_NAME.match(name):
                continue
            path = Path(current) / name
            if path.is_symlink() or not 0 < path.stat().st_size <= MAX_FILE_BYTES:
                continue
            rel = name if rel_dir == "." else f"{Path(rel_dir).as_posix()}/{name}"
            kind = next((i for i, s in enumerate(TEXT_SUFFIXES) if name.lower().endswith(s)), len(TEXT_SUFFIXES))
            found.append(((0 if rel == "index.html" else 1, kind == len(TEXT_SUFFIXES), depth, kind, rel), rel))
        if len(found) >= 200:
            break
    return [rel for _, rel in sorted(found)[:limit]]


# --------------------------------------------------------------------------- endpoints


def _literal_prefix(route: str) -> str:
    """The part of a route path before its first parameter or wildcard."""
    return re.split(r"[:*(]", route, maxsplit=1)[0]


def mount_endpoints(project: JsProject, mount: StaticMount, prefix: str) -> list[Endpoint]:
    """The GET endpoints of one static mount served under an owner prefix, best first."""
    handler = middleware_handler(mount.module, mount.middleware)
    base = prefix if mount.route else join_path(prefix, mount.path) if mount.path else prefix
    folder = served_folder(project, mount.module, mount.middleware)
    paths: list[str] = []
    if folder is not None:
        wanted = _literal_prefix(join_path(prefix, mount.path)) if mount.route else ""
        for rel in served_files(folder, limit=MAX_FILES_PER_MOUNT * 4):
            path = join_path(base, "/" + rel)
            if path.startswith(wanted):
                paths.append(path)
        paths = paths[:MAX_FILES_PER_MOUNT]
    # A folder made by a build step or named at run time has no file a test could ask for
    # and compare: the mount gives no endpoint (a test of `/*` would only see a 404).
    return [Endpoint(method="GET", path=p, handler=handler, group=STATIC_GROUP) for p in paths]


def static_endpoints(
    project: JsProject, mounts: list[StaticMount], prefixes: dict[ObjKey, list[str]]
) -> list[Endpoint]:
    """The endpoints of every served static mount, at most MAX_STATIC_ENDPOINTS in all.

    Taken round-robin over the mounts (the first file of each, then the second, ...), so
    every mount a task masks has a test.
    """
    per_mount = [
        mount_endpoints(project, mount, prefix) for mount in mounts for prefix in prefixes.get(mount.owner, [])
    ]
    out: dict[str, Endpoint] = {}
    for rank in range(MAX_FILES_PER_MOUNT):
        for endpoints in per_mount:
            if rank < len(endpoints) and len(out) < MAX_STATIC_ENDPOINTS:
                out.setdefault(endpoints[rank].path, endpoints[rank])
    return list(out.values())


def is_middleware_range(source: bytes, handler: Handler) -> bool:
    """True when a handler's body range is a middleware call (a static mount), not a function body."""
    tree = ts.parse(source, grammar_of(handler.file))
    node = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte, {"call_expression"})
    if node is None:
        return False
    parent = node.parent
    return not (parent is not None and parent.type in FUNCTION_TYPES and parent.child_by_field_name("body") == node)
