"""Express: apps, routers mounted across files, handlers in controllers, and masking."""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.frameworks import javascript_lang as js
from pipeline.frameworks import treesitter as ts
from pipeline.frameworks.base import Framework, RuntimeHints, ServiceCandidate
from pipeline.models import Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
ObjKey = tuple[str, int]

_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "all"}
_ENTRY_NAMES = ("server.js", "index.js", "app.js", "main.js", "src/server.js", "src/index.js", "src/app.js")
DEFAULT_PORT = 3000


def express_join(prefix: str, path: str) -> str:
    """A route path under a mount path, as Express matches it (`/api` + `/` is `/api`)."""
    if not prefix or prefix == "/":
        return path or "/"
    if path in ("", "/"):
        return prefix
    return prefix.rstrip("/") + (path if path.startswith("/") else "/" + path)


@dataclass
class _Route:
    owner: ObjKey
    path: str
    method: str
    module: js.JsModule
    handler: Node


@dataclass
class _Analysis:
    apps: list[ObjKey] = field(default_factory=list)
    routers: set[ObjKey] = field(default_factory=set)
    mounts: dict[ObjKey, list[tuple[ObjKey, str]]] = field(default_factory=dict)
    routes: list[_Route] = field(default_factory=list)
    #: (module, listen call) of every `<app>.listen(...)`
    listens: list[tuple[js.JsModule, Node]] = field(default_factory=list)
    #: every other `.listen(...)`, used only when no app listens directly
    other_listens: list[tuple[js.JsModule, Node]] = field(default_factory=list)

    def all_listens(self) -> list[tuple[js.JsModule, Node]]:
        return self.listens or self.other_listens


def _construction(project: js.JsProject, module: js.JsModule, call: Node) -> str | None:
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
    def __init__(self, project: js.JsProject) -> None:
        self.project = project
        self.out = _Analysis()
        #: (file, function start byte, parameter index) -> the app/router passed there
        self.params: dict[tuple[str, int, int], ObjKey] = {}

    def parameter_object(self, module: js.JsModule, node: Node) -> ObjKey | None:
        """The app/router a parameter receives, for `require('./routes')(app)` style setup."""
        name = ts.text(node)
        for fn in ts.ancestors(node):
            if fn.type not in js.FUNCTION_TYPES:
                continue
            for index, param in enumerate(js.parameters(fn)):
                if js.param_name(param) == name:
                    return self.params.get((module.rel, fn.start_byte, index))
        return None

    def bind_parameters(self, module: js.JsModule, call: Node) -> None:
        args = js.arguments(call)
        keys = [self.object_of(module, a) for a in args]
        if not any(keys):
            return
        value = self.project.evaluate(module, call.child_by_field_name("function"))
        if value is not None and value.kind == "module" and value.module is not None:
            value = self.project.default_of(value.module)
        if value is None or value.kind != "node" or value.module is None or value.node is None:
            return
        fn = js.unwrap(value.node)
        if fn.type not in js.FUNCTION_TYPES:
            return
        for index, key in enumerate(keys):
            if key is not None:
                self.params.setdefault((value.module.rel, fn.start_byte, index), key)

    def object_of(self, module: js.JsModule, node: Node | None) -> ObjKey | None:
        if node is None:
            return None
        if js.unwrap(node).type == "identifier" and (bound := self.parameter_object(module, js.unwrap(node))):
            return bound
        value = self.project.evaluate(module, node)
        if value is not None and value.kind == "module" and value.module is not None:
            value = self.project.default_of(value.module)
        if value is None or value.kind != "node" or value.module is None or value.node is None:
            return None
        target = js.unwrap(value.node)
        kind = _construction(self.project, value.module, target)
        if kind is None:
            return None
        key = (value.module.rel, target.start_byte)
        if kind == "app" and key not in self.out.apps:
            self.out.apps.append(key)
        elif kind == "router":
            self.out.routers.add(key)
        return key

    def route_base(self, module: js.JsModule, node: Node) -> tuple[ObjKey, str] | None:
        """Owner and path of a `x.route('/p').get(h).post(h)` chain link."""
        node = js.unwrap(node)
        if node.type != "call_expression":
            return None
        fn = node.child_by_field_name("function")
        if fn is None or fn.type != "member_expression":
            return None
        prop = ts.text(fn.child_by_field_name("property"))
        if prop == "route":
            args = js.arguments(node)
            path = js.string_value(args[0]) if args else None
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
            for call in ts.find_all(module.sf.root, "call_expression"):
                fn = call.child_by_field_name("function")
                if fn is not None and fn.type in ("identifier", "call_expression", "member_expression"):
                    self.bind_parameters(module, call)
        for rel in sorted(self.project.modules):
            module = self.project.modules[rel]
            for call in ts.find_all(module.sf.root, "call_expression"):
                fn = call.child_by_field_name("function")
                if fn is None or fn.type != "member_expression":
                    continue
                prop = ts.text(fn.child_by_field_name("property"))
                obj = fn.child_by_field_name("object")
                args = js.arguments(call)
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

    def _route(self, module: js.JsModule, verb: str, obj: Node | None, args: list[Node]) -> None:
        method = "ANY" if verb == "all" else verb.upper()
        base = self.route_base(module, obj) if obj is not None else None
        if base is not None:
            owner, path = base
            handlers = args
        else:
            owner = self.object_of(module, obj)
            path = js.string_value(args[0]) if args else None
            handlers = args[1:]
        if owner is None or path is None or not handlers:
            return
        # Middlewares come first: the last function is the one that answers.
        self.out.routes.append(_Route(owner, path, method, module, handlers[-1]))

    def _use(self, module: js.JsModule, obj: Node | None, args: list[Node]) -> None:
        owner = self.object_of(module, obj)
        if owner is None or not args:
            return
        prefix = js.string_value(args[0])
        rest = args[1:] if prefix is not None else args
        for arg in rest:
            child = self.object_of(module, arg)
            if child is not None and child != owner:
                self.out.mounts.setdefault(owner, []).append((child, prefix or ""))


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


def _port_of(project: js.JsProject, module: js.JsModule, node: Node | None, depth: int = 0) -> int | None:
    """The port a `listen` argument evaluates to, taking the fallback of `env.PORT || 3000`."""
    if node is None or depth > 10:
        return None
    node = js.unwrap(node)
    if node.type == "number":
        try:
            value = int(ts.text(node))
        except ValueError:
            return None
        return value if 0 < value < 65536 else None
    if node.type == "string":
        value_text = js.string_value(node) or ""
        return int(value_text) if value_text.isdigit() else None
    if node.type == "binary_expression":
        for side in ("right", "left"):
            port = _port_of(project, module, node.child_by_field_name(side), depth + 1)
            if port is not None:
                return port
        return None
    if node.type == "identifier":
        binding = module.bindings.get(ts.text(node))
        return _port_of(project, module, binding, depth + 1) if isinstance(binding, Node) else None
    if node.type == "call_expression":
        fn = ts.text(node.child_by_field_name("function"))
        args = js.arguments(node)
        if fn in ("Number", "parseInt", "parseFloat", "Math.floor") and args:
            return _port_of(project, module, args[0], depth + 1)
        if fn.endswith(".get") and args and js.string_value(args[0]) == "port":
            # app.listen(app.get('port')) after app.set('port', ...)
            for call in ts.find_all(module.sf.root, "call_expression"):
                if ts.text(call.child_by_field_name("function")).endswith(".set"):
                    set_args = js.arguments(call)
                    if len(set_args) == 2 and js.string_value(set_args[0]) == "port":
                        return _port_of(project, module, set_args[1], depth + 1)
    return None


class ExpressFramework(Framework):
    name = "express"
    language = "javascript"

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        out: list[ServiceCandidate] = []
        for path, _rel, _content in ts.iter_files(repo_root, repo_root, lambda n: n == "package.json"):
            manifest = js.read_package_json(path)
            deps = manifest.get("dependencies") or {}
            if not isinstance(deps, dict) or "express" not in deps:
                continue
            root = path.parent
            project = js.JsProject(repo_root, root)
            out.append(ServiceCandidate(root=root, entrypoint=self._entrypoint(project, root, manifest)))
        return sorted(out, key=lambda c: c.root)

    def _entrypoint(self, project: js.JsProject, root: Path, manifest: dict) -> str | None:
        analysis = _Analyser(project).run()
        listening = sorted({m.path.relative_to(root).as_posix() for m, _ in analysis.all_listens()})
        if listening:
            return min(listening, key=lambda p: (p.count("/"), p))
        main = manifest.get("main")
        if isinstance(main, str) and (root / main).is_file():
            return Path(main).as_posix().removeprefix("./")
        start = (manifest.get("scripts") or {}).get("start") if isinstance(manifest.get("scripts"), dict) else None
        if isinstance(start, str):
            try:
                words = shlex.split(start)
            except ValueError:
                words = []
            for word in words:
                candidate = word if word.endswith(js.SUFFIXES) else None
                if candidate and (root / candidate).is_file():
                    return Path(candidate).as_posix().removeprefix("./")
        return next((name for name in _ENTRY_NAMES if (root / name).is_file()), None)

    # ------------------------------------------------------------------ discover

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        project = js.JsProject(repo_root, service.root.resolve())
        analysis = _Analyser(project).run()
        prefixes = _prefixes(analysis)
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in analysis.routes:
            target = js.function_node(project, route.module, route.handler)
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
                    handler=js.handler_for(fn, module.rel),
                    body_fields=js.body_fields(fn),
                )
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        project = js.JsProject(repo_root, root)
        analysis = _Analyser(project).run()
        port = None
        for module, call in analysis.all_listens():
            args = js.arguments(call)
            port = _port_of(project, module, args[0] if args else None)
            if port is not None:
                break
        port = port or DEFAULT_PORT
        entry = service.entrypoint or self._entrypoint(project, root, js.read_package_json(root / "package.json"))
        env = {"PORT": str(port)}
        env.update(js.required_env(m.sf for m in project.modules.values()))
        return RuntimeHints(start_command=["node", entry or "index.js"], port=port, env=env)

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return js.mask_handler(source, handler, '{res}.status(501).json({{ error: "Not implemented" }});')
