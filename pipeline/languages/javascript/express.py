"""Express: apps, routers mounted across files, handlers in controllers, and masking.

JavaScript and TypeScript alike (javascript_lang parses .ts/.tsx with their grammars).
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
from pipeline.languages.javascript.project import (
    dependencies,
    detect_services,
    files_by_package,
    is_nest_manifest,
    read_package_json,
    uses_without_nest,
)
from pipeline.languages.javascript.request_body import body_fields, upload_fields, uploaded_files
from pipeline.languages.javascript.routes import (
    Route,
    function_node,
    is_path_argument,
    join_path,
    method_calls,
    route_paths,
)
from pipeline.languages.javascript.runtime import (
    entrypoint,
    listen_port,
    service_env,
    start_command,
    undeclared_packages,
)
from pipeline.languages.javascript.static_files import (
    StaticMount,
    is_middleware_range,
    static_endpoints,
    static_middleware,
)
from pipeline.languages.javascript.syntax import (
    FUNCTION_TYPES,
    arguments,
    handler_for,
    param_name,
    parameters,
    string_value,
    unwrap,
)
from pipeline.languages.javascript.toolchain import production_install
from pipeline.models import BodyField, CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
ObjKey = tuple[str, int]

_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "all"}
DEFAULT_PORT = 3000
#: Node frameworks whose own module claims a package that declares them
_OTHER_FRAMEWORKS = frozenset({"koa", "fastify", "@nestjs/core"})


express_join = join_path
#: what a masked static-file middleware becomes: 501 to what it served, the rest passed on
STATIC_STUB = (
    "({params}) => /* static files: not implemented */ "
    '(req.method === "GET" || req.method === "HEAD" ? res.status(501).json({{ error: "Not implemented" }}) : next())'
)


@dataclass
class _Analysis:
    apps: list[ObjKey] = field(default_factory=list)
    routers: set[ObjKey] = field(default_factory=set)
    mounts: dict[ObjKey, list[tuple[ObjKey, str]]] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    #: (module, listen call) of every `<app>.listen(...)`
    listens: list[tuple[JsModule, Node]] = field(default_factory=list)
    #: every other `.listen(...)`, used only when no app listens directly
    other_listens: list[tuple[JsModule, Node]] = field(default_factory=list)
    #: static-file middlewares (`app.use(express.static(dir))`), in registration order
    statics: list[StaticMount] = field(default_factory=list)

    def all_listens(self) -> list[tuple[JsModule, Node]]:
        return self.listens or self.other_listens


def _construction(project: JsProject, module: JsModule, call: Node) -> str | None:
    """ "app" for `express()`, "router" for `express.Router()` / `Router()`, else None."""
    if call.type not in ("call_expression", "new_expression"):
        return None
    callee = call.child_by_field_name("function") or call.child_by_field_name("constructor")
    if callee is None:
        return None
    value = project.evaluate(module, callee)
    if value is None or value.kind != "external" or value.package != "express":
        return None
    if value.members == ():
        return "app"
    if value.members == ("Router",):
        return "router"
    return None


class _Analyser:
    def __init__(self, project: JsProject) -> None:
        self.project = project
        self.out = _Analysis()
        #: (file, function start byte, parameter index) -> the app/router passed there
        self.params: dict[tuple[str, int, int], ObjKey] = {}

    def parameter_object(self, module: JsModule, node: Node) -> ObjKey | None:
        """The app/router a parameter receives, for `require('./routes')(app)` style setup."""
        name = ts.text(node)
        for fn in ts.ancestors(node):
            if fn.type not in FUNCTION_TYPES:
                continue
            for index, param in enumerate(parameters(fn)):
                if param_name(param) == name:
                    return self.params.get((module.rel, fn.start_byte, index))
        return None

    def bind_parameters(self, module: JsModule, call: Node) -> None:
        args = arguments(call)
        keys = [self.object_of(module, a) for a in args]
        if not any(keys):
            return
        defined = self.project.definition(module, call.child_by_field_name("function"))
        if defined is None:
            return
        fn = unwrap(defined[1])
        if fn.type not in FUNCTION_TYPES:
            return
        for index, key in enumerate(keys):
            if key is not None:
                self.params.setdefault((defined[0].rel, fn.start_byte, index), key)

    def object_of(self, module: JsModule, node: Node | None, depth: int = 0) -> ObjKey | None:
        if node is None or depth > 10:
            return None
        if unwrap(node).type == "identifier" and (bound := self.parameter_object(module, unwrap(node))):
            return bound
        defined = self.project.definition(module, node)
        if defined is None:
            return None
        target = unwrap(defined[1])
        kind = _construction(self.project, defined[0], target)
        if kind is None and target.type == "call_expression":
            # `const app = createApp()`: the app a project function makes and returns.
            made = self.project.returned(defined[0], target)
            if made is not None and made.kind == "node" and made.module is not None and made.node is not None:
                return self.object_of(made.module, made.node, depth + 1)
        if kind is None:
            return None
        key = (defined[0].rel, target.start_byte)
        if kind == "app" and key not in self.out.apps:
            self.out.apps.append(key)
        elif kind == "router":
            self.out.routers.add(key)
        return key

    def route_base(self, module: JsModule, node: Node) -> tuple[ObjKey, str] | None:
        """Owner and path of a `x.route('/p').get(h).post(h)` chain link."""
        node = unwrap(node)
        if node.type != "call_expression":
            return None
        fn = node.child_by_field_name("function")
        if fn is None or fn.type != "member_expression":
            return None
        prop = ts.text(fn.child_by_field_name("property"))
        if prop == "route":
            args = arguments(node)
            path = string_value(args[0]) if args else None
            owner = self.object_of(module, fn.child_by_field_name("object"))
            return (owner, path) if owner is not None and path is not None else None
        if prop in _VERBS:
            return self.route_base(module, fn.child_by_field_name("object") or node)
        return None

    def run(self) -> _Analysis:
        # Setup functions first (`module.exports = (app) => {...}` called with the app), so
        # their parameters are known when their routes are read.
        for rel in sorted(self.project.modules):
            module = self.project.modules[rel]
            for call in module.calls:
                fn = call.child_by_field_name("function")
                if fn is not None and fn.type in ("identifier", "call_expression", "member_expression"):
                    self.bind_parameters(module, call)
        for module, call, prop, obj, args in method_calls(self.project):
            if prop in _VERBS:
                self._route(module, prop, obj, args)
            elif prop == "use":
                self._use(module, obj, args)
            elif prop == "listen" and args:
                if self.object_of(module, obj) in self.out.apps:
                    self.out.listens.append((module, call))
                else:
                    # http.createServer(app).listen(...), server.listen(...)
                    self.out.other_listens.append((module, call))
        return self.out

    def _route(self, module: JsModule, verb: str, obj: Node | None, args: list[Node]) -> None:
        method = "ANY" if verb == "all" else verb.upper()
        base = self.route_base(module, obj) if obj is not None else None
        if base is not None:
            owner, path = base
            paths = [path]
            handlers = args
        else:
            owner = self.object_of(module, obj)
            if owner is None or not args:
                return
            paths = route_paths(self.project, module, args[0], f"{verb} route")
            handlers = args[1:]
        if owner is None or not paths or not handlers:
            return
        served = static_middleware(self.project, module, handlers[-1])
        if served is not None:
            # app.get('/*', express.static(dir)): the folder answers GET (and HEAD) only.
            if method in ("GET", "ANY"):
                self.out.statics += [StaticMount(owner, path, True, *served) for path in paths]
            return
        # Middlewares come first: the last function is the one that answers.
        for path in paths:
            self.out.routes.append(Route(owner, path, method, module, handlers[-1]))

    def _use(self, module: JsModule, obj: Node | None, args: list[Node]) -> None:
        owner = self.object_of(module, obj)
        if owner is None or not args:
            return
        first = unwrap(args[0])
        is_path = is_path_argument(self.project, module, first)
        prefixes = route_paths(self.project, module, first, "mount") if is_path else [""]
        for arg in args[1:] if is_path else args:
            served = static_middleware(self.project, module, arg)
            if served is not None:
                self.out.statics += [StaticMount(owner, prefix, False, *served) for prefix in prefixes]
                continue
            child = self.object_of(module, arg)
            if child is not None and child != owner:
                for prefix in prefixes:
                    self.out.mounts.setdefault(owner, []).append((child, prefix))


def _prefixes(analysis: _Analysis) -> dict[ObjKey, list[str]]:
    found: dict[ObjKey, list[str]] = {}

    def visit(obj: ObjKey, prefix: str, trail: tuple[ObjKey, ...]) -> None:
        seen = found.setdefault(obj, [])
        if prefix not in seen:
            seen.append(prefix)
        for child, mount in analysis.mounts.get(obj, []):
            if child not in trail:
                visit(child, express_join(prefix, mount) if mount else prefix, (*trail, child))

    for app in analysis.apps:
        visit(app, "", (app,))
    return found


def _declares_express(manifest: dict) -> bool:
    return uses_without_nest(manifest, "express")


class ExpressFramework(JsFramework):
    name = "express"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("express",)
    language = "javascript"
    echoes = True

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        declared = detect_services(repo_root, _declares_express, self._entrypoint)
        found = declared + self._undeclared_servers(repo_root, {c.root for c in declared})
        return sorted(found, key=lambda c: c.root)

    def _undeclared_servers(self, repo_root: Path, claimed: set[Path]) -> list[ServiceCandidate]:
        """Packages whose package.json does not declare Express (nor another Node framework)
        but whose code makes an Express app, routes it and listens: a server kept beside a tool
        or a library, its dependencies left to a global install. It is started from its
        shallowest listening file; the environment installs what its manifest lacks. A
        package inside a declared service is read as part of it already, and a nested
        package's server is that package's."""
        repo_root = repo_root.resolve()
        out: list[ServiceCandidate] = []
        found = files_by_package(repo_root, lambda source: b"express" in source and b"listen" in source)
        for root, own in found.items():
            manifest = read_package_json(root / "package.json")
            if any(root.is_relative_to(c) for c in claimed) or is_nest_manifest(manifest):
                continue
            if dependencies(manifest) & _OTHER_FRAMEWORKS:
                continue
            analysis = _Analyser(JsProject(repo_root, root)).run()
            direct = [(m, call) for m, call in analysis.listens if m.rel in own]
            listens = direct or [(m, call) for m, call in analysis.other_listens if m.rel in own and analysis.apps]
            if not listens or not (analysis.routes or analysis.statics):
                continue
            files = sorted({m.path.relative_to(root).as_posix() for m, _ in listens})
            out.append(ServiceCandidate(root=root, entrypoint=min(files, key=lambda f: (f.count("/"), f))))
        return out

    def _entrypoint(self, repo_root: Path, root: Path, manifest: dict) -> str | None:
        def listening() -> list[str]:
            analysis = _Analyser(JsProject(repo_root, root)).run()
            return [m.path.relative_to(root).as_posix() for m, _ in analysis.all_listens()]

        return entrypoint(root, manifest, listening)

    # ------------------------------------------------------------------ discover

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        project = JsProject(repo_root, service.root.resolve())
        analysis = _Analyser(project).run()
        prefixes = _prefixes(analysis)
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in analysis.routes:
            target = function_node(project, route.module, route.handler)
            if target is None:
                log.warning(
                    "%s: handler of %s %s is not a function found statically",
                    route.module.rel,
                    route.method,
                    route.path,
                )
                continue
            module, fn = target
            if fn.child_by_field_name("body") is None:
                continue
            for prefix in prefixes.get(route.owner, []):
                path = express_join(prefix, route.path)
                if (path, route.method) in endpoints:
                    continue
                endpoints[(path, route.method)] = Endpoint(
                    method=route.method,
                    path=path,
                    handler=handler_for(fn, module.rel),
                    body_fields=_with_files(body_fields(fn), upload_fields(route.handler) + uploaded_files(fn)),
                )
        for endpoint in static_endpoints(project, analysis.statics, prefixes):
            endpoints.setdefault((endpoint.path, endpoint.method), endpoint)
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        project = JsProject(repo_root, root)
        analysis = _Analyser(project).run()
        port = listen_port(project, analysis.all_listens(), DEFAULT_PORT)
        manifest = read_package_json(root / "package.json")
        entry = service.entrypoint or self._entrypoint(repo_root, root, manifest)
        env = service_env(project, port)
        if _declares_express(manifest):
            return RuntimeHints(start_command=start_command(root, manifest, entry), port=port, env=env)
        # A server its manifest does not declare: its own file starts it (the package's
        # scripts run something else), with what the manifest lacks installed beside it.
        return RuntimeHints(
            start_command=start_command(root, {}, entry),
            port=port,
            env=env,
            extra_packages=undeclared_packages(
                project, manifest, entry, dev_installed=not production_install(root, manifest)
            ),
        )

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        if is_middleware_range(source, handler):
            return mask_middleware(source, handler, STATIC_STUB)
        return mask_handler(source, handler, '{res}.status(501).json({{ error: "Not implemented" }});')

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        if is_middleware_range(source, handler):
            return self.mask_body(source, handler)  # a static-file server has no canned answer
        literal = canned_literal(answer)
        if answer.echo:
            # `res.req` is the request: no need to name (or add) the first parameter.
            body = "JSON.stringify({res}.req.body === undefined ? null : {res}.req.body)"
            statement = f'{{res}}.status({answer.status}).type("application/json").send({body});'
            return mask_handler(source, handler, statement)
        if literal is None:
            return mask_handler(source, handler, f"{{res}}.status({answer.status}).end();")
        statement = f'{{res}}.status({answer.status}).type("application/json").send({literal});'
        return mask_handler(source, handler, statement)


def _with_files(fields: list[BodyField], files: list[BodyField]) -> list[BodyField]:
    """The body's fields and the files the route takes, a file named twice once."""
    taken = {f.name for f in files}
    unique = list({f.name: f for f in files}.values())
    return [*unique, *(f for f in fields if f.name not in taken)]
