"""Fastify: routes on the instance and in plugins registered with prefixes across files, masking.

Routing model (as Fastify builds it): `fastify.register(plugin, { prefix })` runs the plugin
with a child instance (its first parameter) whose routes get the prefix; registrations
nest. A plugin wrapped in `fastify-plugin` is not encapsulated, so it runs on its
parent's instance and a prefix given to it is ignored. `@fastify/autoload` registers every
file of a folder as a plugin, prefixed with its sub-folder. Only plugins reachable from a
Fastify instance (or the root plugin of a `fastify start` app) are served: a plugin that is
never registered is a decoy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import RuntimeHints, ServiceCandidate
from pipeline.languages.javascript.interpreter import JsModule, JsProject
from pipeline.languages.javascript.masking import JsFramework, canned_literal, mask_handler
from pipeline.languages.javascript.project import (
    SUFFIXES,
    dependencies,
    detect_services,
    read_package_json,
    script_words,
    uses_without_nest,
)
from pipeline.languages.javascript.routes import (
    ObjectResolver,
    ObjKey,
    Route,
    external_call,
    join_path,
    method_calls,
    mounted_endpoints,
    object_property,
    route_paths,
    static_string,
)
from pipeline.languages.javascript.runtime import entrypoint, listen_port, service_env, start_command
from pipeline.languages.javascript.syntax import (
    FUNCTION_TYPES,
    arguments,
    handler_for,
    is_require,
    param_name,
    parameters,
    string_value,
    unwrap,
)
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "all"}
_PLUGIN_WRAPPERS = {"fastify-plugin"}
_AUTOLOAD = {"@fastify/autoload", "fastify-autoload"}
DEFAULT_PORT = 3000
#: an async handler returns the reply (Fastify's "return reply"); a sync one must not
#: return it, or Fastify sends the returned value again and warns
MASK_STATEMENT = '{ret}{res}.code(501).send({{ error: "Not implemented" }});'


@dataclass
class _Register:
    """`owner.register(plugin, { prefix })`: plugin (a function) runs under owner."""

    owner: ObjKey
    plugin: ObjKey
    prefix: str
    #: fastify-plugin: runs on the owner's instance, the prefix does not apply
    shared: bool


@dataclass
class _Analysis:
    apps: list[ObjKey] = field(default_factory=list)
    registers: list[_Register] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    listens: list[tuple[JsModule, Node]] = field(default_factory=list)
    reads_host: bool = False


def _fastify_join(prefix: str, url: str) -> str:
    """Fastify's prefix + url: a trailing slash of the prefix goes, `/` under a prefix is the prefix."""
    return join_path(prefix.rstrip("/"), url)


def _route_path(prefix: str, url: str) -> str:
    """A route's served path: unprefixed routes keep their url as written (an empty one is `/`)."""
    return _fastify_join(prefix, url) if prefix else url or "/"


class _Analyser:
    def __init__(self, project: JsProject, root_plugins: list[tuple[JsModule, Node]]) -> None:
        self.project = project
        self.resolver = ObjectResolver(project, self._classify)
        self.out = _Analysis()
        #: (file, function start) of every function registered as a plugin
        self.plugins: set[ObjKey] = set()
        self.seen: set[tuple[ObjKey, ObjKey, str]] = set()
        self.root_plugins = root_plugins

    def _classify(self, module: JsModule, node: Node) -> str | None:
        value = external_call(self.project, module, node)
        if value is not None and value.package == "fastify" and value.members in ((), ("default",), ("fastify",)):
            return "app"
        return None

    # ---- plugins

    def plugin_function(
        self, module: JsModule, node: Node | None, depth: int = 0
    ) -> tuple[JsModule, Node, bool] | None:
        """(module, function, wrapped in fastify-plugin) of a register argument."""
        if node is None or depth > 10:
            return None
        node = unwrap(node)
        if node.type in FUNCTION_TYPES:
            return module, node, False
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            args = arguments(node)
            if callee is not None and callee.type == "import" and args:
                # register(import('./routes/users')): the module's default export
                target = self.project.locate(module, string_value(args[0]) or "")
                value = self.project.default_of(target) if target is not None else None
                if value is None or value.module is None or value.node is None:
                    return None
                return self.plugin_function(value.module, value.node, depth + 1)
            wrapper = external_call(self.project, module, node)
            if wrapper is not None and wrapper.package in _PLUGIN_WRAPPERS and args:
                found = self.plugin_function(module, args[0], depth + 1)
                return (found[0], found[1], True) if found is not None else None
            if is_require(node) is None:
                return None
        defined = self.project.definition(module, node)
        if defined is None or defined[1] == node:
            return None
        return self.plugin_function(defined[0], defined[1], depth + 1)

    def instance_of(self, module: JsModule, node: Node | None) -> ObjKey | None:
        """The instance an expression is: an app, or the first parameter of a plugin."""
        if node is None:
            return None
        node = unwrap(node)
        if node.type == "call_expression":
            # fastify.register(a).register(b), fastify.get(...).post(...): the receiver
            fn = node.child_by_field_name("function")
            if fn is not None and fn.type == "member_expression":
                prop = ts.text(fn.child_by_field_name("property"))
                if prop in _VERBS | {"register", "route", "after"}:
                    return self.instance_of(module, fn.child_by_field_name("object"))
        if node.type == "identifier":
            name = ts.text(node)
            for fn in ts.ancestors(node):
                if fn.type not in FUNCTION_TYPES:
                    continue
                params = parameters(fn)
                if params and param_name(params[0]) == name:
                    key = (module.rel, fn.start_byte)
                    if key in self.plugins:
                        return key
                if any(param_name(p) == name for p in params):
                    break
        key = self.resolver.object_of(module, node)
        if key is not None and key not in self.out.apps:
            self.out.apps.append(key)
        return key

    # ---- the walk

    def run(self) -> _Analysis:
        self.resolver.bind_parameters()
        for module, fn in self.root_plugins:
            self.plugins.add((module.rel, fn.start_byte))
        calls = list(method_calls(self.project))
        self.out.reads_host = any(b"process.env.HOST" in m.sf.source for m in self.project.modules.values())
        # Plugins first, then the routes on the instances. Every function passed to
        # `register` is a plugin; which ones are served is decided from the roots later.
        for module, call, prop, _obj, _args in calls:
            if prop == "register":
                self._plugin_of(module, call)
        # Registrations in rounds, so a plugin registered inside an autoloaded plugin is
        # known whatever the file order.
        for _ in range(3):
            before = len(self.out.registers)
            for module, _call, prop, obj, args in calls:
                if prop == "register":
                    self._register(module, obj, args)
            if len(self.out.registers) == before:
                break
        for module, call, prop, obj, args in calls:
            if prop in _VERBS:
                self._shorthand(module, prop, obj, args)
            elif prop == "route" and args:
                self._route_options(module, self.instance_of(module, obj), args[0])
            elif prop == "listen":
                owner = self.instance_of(module, obj)
                if owner in self.out.apps:
                    self.out.listens.insert(0, (module, call))
                else:
                    self.out.listens.append((module, call))
        return self.out

    def _plugin_of(self, module: JsModule, call: Node) -> None:
        args = arguments(call)
        found = self.plugin_function(module, args[0]) if args else None
        if found is not None:
            self.plugins.add((found[0].rel, found[1].start_byte))

    def _add(self, register: _Register) -> None:
        if (register.owner, register.plugin, register.prefix) not in self.seen:
            self.seen.add((register.owner, register.plugin, register.prefix))
            self.plugins.add(register.plugin)
            self.out.registers.append(register)

    def _register(self, module: JsModule, obj: Node | None, args: list[Node]) -> None:
        owner = self.instance_of(module, obj)
        if owner is None or not args:
            return
        options = self._object(module, args[1]) if len(args) > 1 else None
        prefix = static_string(self.project, module, object_property(options, "prefix")) or ""
        plugin = unwrap(args[0])
        loaded = self.project.evaluate(module, plugin)
        if loaded is not None and loaded.kind == "external" and loaded.package in _AUTOLOAD:
            self._autoload(module, owner, options)
            return
        found = self.plugin_function(module, plugin)
        if found is None:
            return
        self._add(_Register(owner, (found[0].rel, found[1].start_byte), prefix, found[2]))

    def _autoload(self, module: JsModule, owner: ObjKey, options: Node | None) -> None:
        """@fastify/autoload: every file of `dir` is a plugin, prefixed with its sub-folder."""
        folder = self._dir_of(module, object_property(options, "dir"))
        if folder is None:
            log.warning("%s: @fastify/autoload folder is not static; its routes are not found", module.rel)
            return
        inner = self._object(module, object_property(options, "options"))
        base = string_value(object_property(inner, "prefix")) or ""
        for rel in sorted(self.project.modules):
            target = self.project.modules[rel]
            if not target.path.is_relative_to(folder):
                continue
            parts = target.path.relative_to(folder).parts
            found = self.plugin_function(target, target.default_export) if target.default_export is not None else None
            if found is None:
                continue
            prefix = base + "".join(f"/{p}" for p in parts[:-1])
            auto = target.exports.get("autoPrefix")
            if auto is not None and (value := string_value(unwrap(auto))) is not None:
                prefix = join_path(prefix, value)
            self._add(_Register(owner, (found[0].rel, found[1].start_byte), prefix, found[2]))

    def _dir_of(self, module: JsModule, node: Node | None) -> Path | None:
        """The folder of `path.join(__dirname, 'routes')` (or `join`, `resolve`), if static."""
        if node is None:
            return None
        node = unwrap(node)
        if node.type != "call_expression":
            return None
        args = arguments(node)
        if not args or ts.text(args[0]) not in ("__dirname", "import.meta.dirname"):
            return None
        parts = [string_value(a) for a in args[1:]]
        if any(p is None for p in parts):
            return None
        return module.path.parent.joinpath(*[p for p in parts if p]).resolve()

    def _object(self, module: JsModule, node: Node | None) -> Node | None:
        """An object literal, directly or through a name."""
        if node is None:
            return None
        node = unwrap(node)
        if node.type == "object":
            return node
        value = self.project.evaluate(module, node)
        if value is not None and value.kind == "node" and value.node is not None:
            target = unwrap(value.node)
            return target if target.type == "object" else None
        return None

    def _shorthand(self, module: JsModule, verb: str, obj: Node | None, args: list[Node]) -> None:
        """fastify.get(path, [options], handler) or fastify.get(path, { handler })."""
        owner = self.instance_of(module, obj)
        if owner is None or len(args) < 2:
            return
        options = self._object(module, args[1]) if len(args) == 2 else None
        handler = object_property(options, "handler") if options is not None else args[-1]
        if handler is None:
            return
        method = "ANY" if verb == "all" else verb.upper()
        for path in route_paths(self.project, module, args[0], f"{verb} route"):
            self.out.routes.append(Route(owner, path, method, module, handler))

    def _route_options(self, module: JsModule, owner: ObjKey | None, arg: Node) -> None:
        """fastify.route({ method: 'GET' | ['GET', 'POST'], url, handler })."""
        options = self._object(module, arg)
        if owner is None or options is None:
            return
        handler = object_property(options, "handler")
        url = object_property(options, "url") or object_property(options, "path")
        method_node = object_property(options, "method")
        if handler is None or url is None or method_node is None:
            return
        method_node = unwrap(method_node)
        items = method_node.named_children if method_node.type == "array" else [method_node]
        methods = [m.upper() for m in (string_value(unwrap(i)) for i in items) if m]
        for path in route_paths(self.project, module, url, "route"):
            for method in methods:
                self.out.routes.append(Route(owner, path, method, module, handler))


def _prefixes(analysis: _Analysis, roots: list[ObjKey]) -> dict[ObjKey, list[str]]:
    children: dict[ObjKey, list[_Register]] = {}
    for register in analysis.registers:
        children.setdefault(register.owner, []).append(register)
    found: dict[ObjKey, list[str]] = {}

    def visit(obj: ObjKey, prefix: str, trail: tuple[ObjKey, ...]) -> None:
        seen = found.setdefault(obj, [])
        if prefix in seen:
            return
        seen.append(prefix)
        for register in children.get(obj, []):
            if register.plugin not in trail:
                inner = prefix if register.shared or not register.prefix else _fastify_join(prefix, register.prefix)
                visit(register.plugin, inner, (*trail, register.plugin))

    for root in roots:
        visit(root, "", (root,))
    return found


def _handler(fn: Node, rel: str) -> Handler:
    """The handler; a function written inline as `handler: async (req, reply) => ...` is anonymous."""
    handler = handler_for(fn, rel)
    parent = fn.parent
    if fn.type == "arrow_function" and parent is not None and parent.type == "pair" and handler.name == "handler":
        return handler.model_copy(update={"name": "<anonymous>"})
    return handler


def _cli_entry(manifest: dict) -> str | None:
    """The app file of a fastify-cli start script (`fastify start -l info app.js`)."""
    for script in ("start", "dev"):
        words = script_words(manifest, script)
        for index, word in enumerate(words):
            if word == "fastify" and index + 1 < len(words) and words[index + 1] == "start":
                files = [w for w in words[index + 2 :] if w.endswith(SUFFIXES)]
                if files:
                    return files[0].removeprefix("./")
    return None


def _source_of(root: Path, entry: str) -> str | None:
    """The source file of an entry that may name a build output (dist/app.js -> src/app.ts)."""
    if (root / entry).is_file():
        return entry
    stem = Path(entry).with_suffix("")
    name = Path(*stem.parts[1:]) if len(stem.parts) > 1 else stem
    for candidate in (f"src/{name}.ts", f"{name}.ts", f"src/{name}.js"):
        if (root / candidate).is_file():
            return candidate
    return None


class FastifyFramework(JsFramework):
    name = "fastify"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("fastify",)
    language = "javascript"

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return detect_services(repo_root, lambda m: uses_without_nest(m, "fastify"), self._entrypoint)

    def _entrypoint(self, repo_root: Path, root: Path, manifest: dict) -> str | None:
        cli = _cli_entry(manifest)
        if cli is not None:
            return _source_of(root, cli) or cli

        def listening() -> list[str]:
            analysis = _Analyser(JsProject(repo_root, root), []).run()
            return [m.path.relative_to(root).as_posix() for m, _ in analysis.listens]

        return entrypoint(root, manifest, listening)

    def _analyse(self, repo_root: Path, service: ServiceCandidate) -> tuple[JsProject, _Analysis, list[ObjKey]]:
        root = service.root.resolve()
        project = JsProject(repo_root, root)
        manifest = read_package_json(root / "package.json")
        # A fastify-cli app: the entry file's default export is the root plugin.
        root_plugins: list[tuple[JsModule, Node]] = []
        cli = _cli_entry(manifest)
        entry = _source_of(root, cli) if cli is not None else None
        module = project.modules.get((root / entry).relative_to(repo_root).as_posix()) if entry else None
        if module is not None and module.default_export is not None:
            analyser = _Analyser(project, [])
            found = analyser.plugin_function(module, module.default_export)
            if found is not None:
                root_plugins.append((found[0], found[1]))
        analysis = _Analyser(project, root_plugins).run()
        roots = sorted(set(analysis.apps) | {(m.rel, fn.start_byte) for m, fn in root_plugins})
        return project, analysis, roots

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        project, analysis, roots = self._analyse(repo_root, service)
        prefixes = _prefixes(analysis, roots)
        return mounted_endpoints(project, analysis.routes, prefixes, _route_path, _handler)

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        project, analysis, _roots = self._analyse(repo_root, service)
        port = listen_port(project, analysis.listens, DEFAULT_PORT)
        manifest = read_package_json(root / "package.json")
        # Fastify listens on localhost unless told otherwise; a container needs 0.0.0.0.
        env = service_env(project, port, host="0.0.0.0" if analysis.reads_host else None)
        cli = _cli_entry(manifest)
        if cli is not None:
            extra = [] if "fastify-cli" in dependencies(manifest) else ["fastify-cli"]
            command = ["npx", "fastify", "start", "-a", "0.0.0.0", "-p", str(port), cli]
            return RuntimeHints(start_command=command, port=port, env=env, extra_packages=extra)
        entry = service.entrypoint or self._entrypoint(repo_root, root, manifest)
        return RuntimeHints(start_command=start_command(root, manifest, entry), port=port, env=env)

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return mask_handler(source, handler, MASK_STATEMENT, param_index=1, filler_names=("_request", "_reply"))

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        literal = canned_literal(answer)
        send = "send();" if literal is None else f'type("application/json").send({literal});'
        statement = f"{{ret}}{{res}}.code({answer.status}).{send}"
        return mask_handler(source, handler, statement, param_index=1, filler_names=("_request", "_reply"))
