"""Koa with @koa/router (or koa-router): routers, prefixes, nested routers across files, masking.

Routing model (as @koa/router builds it): a router's own `prefix` applies to its routes
and to every router mounted on it; `parent.use('/x', child.routes())` puts `/x` plus the
child's prefix in front of the child's routes; `app.use(router.routes())` serves them, and
koa-mount's `mount('/x', ...)` adds a prefix. Only routers reachable from a Koa app are
served, so a router that is never mounted is a decoy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import RuntimeHints, ServiceCandidate
from pipeline.languages.javascript.interpreter import JsModule, JsProject
from pipeline.languages.javascript.masking import JsFramework, canned_literal, mask_handler, mask_middleware
from pipeline.languages.javascript.project import detect_services, read_package_json, uses_without_nest
from pipeline.languages.javascript.routes import (
    ObjectResolver,
    ObjKey,
    Route,
    external_call,
    is_path_argument,
    join_path,
    method_calls,
    mounted_endpoints,
    object_property,
    route_paths,
    static_string,
)
from pipeline.languages.javascript.runtime import entrypoint, listen_port, service_env, start_command
from pipeline.languages.javascript.static_files import (
    StaticMount,
    is_middleware_range,
    static_endpoints,
    static_middleware,
)
from pipeline.languages.javascript.syntax import arguments, string_value, unwrap
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

_VERBS = {"get", "post", "put", "patch", "delete", "del", "head", "options", "all"}
_ROUTER_PACKAGES = {"@koa/router", "koa-router"}
DEFAULT_PORT = 3000
MASK_STATEMENT = '{res}.status = 501; {res}.body = {{ error: "Not implemented" }};'
#: for an arrow function whose context parameter is destructured: Koa answers err.status
MASK_FALLBACK = 'throw Object.assign(new Error("Not implemented"), { status: 501, expose: true });'
#: what a masked koa-static middleware becomes: 501 to what it served, the rest passed on
STATIC_STUB = (
    "async ({params}) => {{ /* static files: not implemented */ "
    'if (ctx.method === "GET" || ctx.method === "HEAD") '
    '{{ ctx.status = 501; ctx.body = {{ error: "Not implemented" }}; }} '
    "else {{ await next(); }} }}"
)


@dataclass
class _Analysis:
    resolver: ObjectResolver
    prefixes: dict[ObjKey, str] = field(default_factory=dict)
    #: parent -> (child, mount path)
    mounts: dict[ObjKey, list[tuple[ObjKey, str]]] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    listens: list[tuple[JsModule, Node]] = field(default_factory=list)
    #: koa-static middlewares (`app.use(serve(dir))`, under koa-mount's prefix), in order
    statics: list[StaticMount] = field(default_factory=list)

    def apps(self) -> list[ObjKey]:
        return sorted(k for k, kind in self.resolver.kinds.items() if kind == "app")


def _through(node: Node) -> Node | None:
    """`router.routes()` / `router.middleware()` stand for the router itself, and the chained
    `app.use(a).use(b)` / `router.get(...).post(...)` return their receiver."""
    if node.type != "call_expression":
        return None
    fn = node.child_by_field_name("function")
    if fn is None or fn.type != "member_expression":
        return None
    prop = ts.text(fn.child_by_field_name("property"))
    if (prop in ("routes", "middleware") and not arguments(node)) or prop in _VERBS | {"use", "prefix"}:
        return fn.child_by_field_name("object")
    return None


class _Analyser:
    def __init__(self, project: JsProject) -> None:
        self.project = project
        self.resolver = ObjectResolver(project, self._classify, _through)
        self.out = _Analysis(self.resolver)

    def _classify(self, module: JsModule, node: Node) -> str | None:
        value = external_call(self.project, module, node)
        if value is None:
            return None
        if value.package == "koa" and value.members in ((), ("default",)):
            return "app"
        if value.package in _ROUTER_PACKAGES and value.members in ((), ("default",), ("Router",)):
            # new Router({ prefix: '/api' })
            args = arguments(node)
            prefix = static_string(self.project, module, object_property(args[0], "prefix")) if args else None
            key = (module.rel, node.start_byte)
            if prefix is not None:
                self.out.prefixes.setdefault(key, prefix)
            return "router"
        return None

    def run(self) -> _Analysis:
        self.resolver.bind_parameters()
        for module, call, prop, obj, args in method_calls(self.project):
            if prop in _VERBS:
                self._route(module, prop, obj, args)
            elif prop == "use":
                self._use(module, obj, args)
            elif prop == "prefix" and len(args) == 1:
                owner = self.resolver.object_of(module, obj)
                prefix = static_string(self.project, module, args[0])
                if owner is not None and prefix is not None and self.resolver.kinds.get(owner) == "router":
                    self.out.prefixes[owner] = prefix
            elif prop == "listen":
                # app.listen(...) first; http.createServer(app.callback()).listen(...) also counts
                owner = self.resolver.object_of(module, obj)
                if owner is not None and self.resolver.kinds.get(owner) == "app":
                    self.out.listens.insert(0, (module, call))
                else:
                    self.out.listens.append((module, call))
        return self.out

    def _route(self, module: JsModule, verb: str, obj: Node | None, args: list[Node]) -> None:
        owner = self.resolver.object_of(module, obj)
        if owner is None or self.resolver.kinds.get(owner) != "router" or len(args) < 2:
            return
        # router.get('user', '/users/:id', handler): an optional route name comes first.
        named = len(args) >= 3 and string_value(args[0]) is not None and string_value(args[1]) is not None
        path_arg, handlers = (args[1], args[2:]) if named else (args[0], args[1:])
        method = {"all": "ANY", "del": "DELETE"}.get(verb, verb.upper())
        for path in route_paths(self.project, module, path_arg, f"{verb} route"):
            # Middlewares come first: the last function is the one that answers.
            self.out.routes.append(Route(owner, path, method, module, handlers[-1]))

    def _use(self, module: JsModule, obj: Node | None, args: list[Node]) -> None:
        owner = self.resolver.object_of(module, obj)
        if owner is None or not args:
            return
        first = unwrap(args[0])
        is_path = is_path_argument(self.project, module, first)
        mount_paths = route_paths(self.project, module, first, "mount") if is_path else [""]
        for arg in args[1:] if is_path else args:
            served = self._static(module, arg)
            if served is not None:
                extra, found = served
                paths = [join_path(m, extra) if extra else m for m in mount_paths]
                self.out.statics += [StaticMount(owner, path, False, *found) for path in paths]
                continue
            for child, extra in self._mounted(module, arg):
                if child != owner:
                    for mount in mount_paths:
                        path = join_path(mount, extra) if extra else mount
                        self.out.mounts.setdefault(owner, []).append((child, path))

    def _static(self, module: JsModule, arg: Node) -> tuple[str, tuple[JsModule, Node]] | None:
        """(mount path, middleware) of a koa-static argument: `serve(dir)`, `mount('/x', serve(dir))`."""
        node = unwrap(arg)
        value = external_call(self.project, module, node)
        if value is not None and value.package == "koa-mount":
            inner = arguments(node)
            if len(inner) == 2 and (prefix := string_value(inner[0])) is not None:
                found = static_middleware(self.project, module, inner[1])
                return (prefix, found) if found is not None else None
            return None
        found = static_middleware(self.project, module, node)
        return ("", found) if found is not None else None

    def _mounted(self, module: JsModule, arg: Node) -> list[tuple[ObjKey, str]]:
        """Routers/apps a middleware argument serves: `r.routes()`, `mount('/x', r.routes())`."""
        node = unwrap(arg)
        value = external_call(self.project, module, node)
        if value is not None and value.package == "koa-mount":
            inner = arguments(node)
            if len(inner) == 2 and (prefix := string_value(inner[0])) is not None:
                child = self.resolver.object_of(module, inner[1])
                return [(child, prefix)] if child is not None else []
            return []
        child = self.resolver.object_of(module, node)
        return [(child, "")] if child is not None else []


def _full_prefixes(analysis: _Analysis) -> dict[ObjKey, list[str]]:
    """Every path prefix under which each router's routes are served."""
    found: dict[ObjKey, list[str]] = {}

    def visit(obj: ObjKey, outer: str, trail: tuple[ObjKey, ...]) -> None:
        prefix = join_path(outer, own) if (own := analysis.prefixes.get(obj)) else outer
        seen = found.setdefault(obj, [])
        if prefix in seen:
            return
        seen.append(prefix)
        for child, mount in analysis.mounts.get(obj, []):
            if child not in trail:
                visit(child, join_path(prefix, mount) if mount else prefix, (*trail, child))

    roots = analysis.apps()
    if not roots:
        # No app found statically (created by a factory we cannot read): serve the routers
        # that nothing mounts.
        mounted = {child for children in analysis.mounts.values() for child, _ in children}
        roots = sorted(k for k, kind in analysis.resolver.kinds.items() if kind == "router" and k not in mounted)
    for root in roots:
        visit(root, "", (root,))
    return found


class KoaFramework(JsFramework):
    name = "koa"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = (
        "koa",
        "@koa/router",
    )
    language = "javascript"

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return detect_services(repo_root, lambda m: uses_without_nest(m, "koa"), self._entrypoint)

    def _entrypoint(self, repo_root: Path, root: Path, manifest: dict) -> str | None:
        def listening() -> list[str]:
            analysis = _Analyser(JsProject(repo_root, root)).run()
            return [m.path.relative_to(root).as_posix() for m, _ in analysis.listens]

        return entrypoint(root, manifest, listening)

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        project = JsProject(repo_root, service.root.resolve())
        analysis = _Analyser(project).run()
        prefixes = _full_prefixes(analysis)
        endpoints = mounted_endpoints(project, analysis.routes, prefixes, join_path, body_path=("request", "body"))
        routed = {(e.path, e.method) for e in endpoints}
        served = [e for e in static_endpoints(project, analysis.statics, prefixes) if (e.path, e.method) not in routed]
        return sorted(endpoints + served, key=lambda e: (e.path, e.method))

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        project = JsProject(repo_root, root)
        analysis = _Analyser(project).run()
        port = listen_port(project, analysis.listens, DEFAULT_PORT)
        manifest = read_package_json(root / "package.json")
        entry = service.entrypoint or self._entrypoint(repo_root, root, manifest)
        env = service_env(project, port)
        return RuntimeHints(start_command=start_command(root, manifest, entry), port=port, env=env)

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        if is_middleware_range(source, handler):
            return mask_middleware(source, handler, STATIC_STUB, names=("ctx", "next"))
        return mask_handler(
            source, handler, MASK_STATEMENT, param_index=0, filler_names=("ctx",), fallback=MASK_FALLBACK
        )

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        if is_middleware_range(source, handler):
            return self.mask_body(source, handler)  # a static-file server has no canned answer
        literal = canned_literal(answer)
        statement = f"{{res}}.status = {answer.status}; " + (
            '{res}.body = "";' if literal is None else f'{{res}}.type = "application/json"; {{res}}.body = {literal};'
        )
        # A destructured ctx cannot be named: that handler keeps the 501 of the plain mask.
        return mask_handler(source, handler, statement, param_index=0, filler_names=("ctx",), fallback=MASK_FALLBACK)
