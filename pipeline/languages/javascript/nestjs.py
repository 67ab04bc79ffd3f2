"""NestJS: controllers reachable from the root module, decorators, prefixes, and masking.

Routing model (as Nest's RoutePathFactory builds it): a route's path is the global prefix
(`app.setGlobalPrefix`), the URI version (`app.enableVersioning`), the module's path
(`RouterModule.register`), the controller's path (`@Controller`) and the method's path
(`@Get(':id')`), joined with single slashes. A controller serves only when a module
reachable from the module given to `NestFactory.create` lists it in `controllers`; a
controller class that no module lists is a decoy.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import RuntimeHints, ServiceCandidate
from pipeline.languages.javascript.interpreter import JsModule, JsProject
from pipeline.languages.javascript.masking import JsFramework, canned_literal
from pipeline.languages.javascript.project import (
    detect_services,
    grammar_of,
    is_nest_manifest,
    read_jsonc,
    read_package_json,
)
from pipeline.languages.javascript.routes import method_calls, object_property
from pipeline.languages.javascript.runtime import listen_port, service_env, start_command
from pipeline.languages.javascript.syntax import (
    FUNCTION_TYPES,
    arguments,
    function_name,
    handler_for,
    parameters,
    string_value,
    unwrap,
)
from pipeline.models import BodyField, CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

COMMON = "@nestjs/common"
CORE = "@nestjs/core"
_HTTP_DECORATORS = {
    "Get": "GET",
    "Post": "POST",
    "Put": "PUT",
    "Patch": "PATCH",
    "Delete": "DELETE",
    "Options": "OPTIONS",
    "Head": "HEAD",
    "Search": "SEARCH",
    "All": "ANY",
}
_CLASS_TYPES = ("class_declaration", "abstract_class_declaration", "class")
DEFAULT_PORT = 3000
NEUTRAL = ""
EXCEPTION = "NotImplementedException"
MASK_MESSAGE = '"Not implemented"'


def nest_path(*parts: str) -> str:
    """Nest's join: every part without its outer slashes, empty parts dropped."""
    kept = [p.strip("/") for p in parts if p and p.strip("/")]
    return "/" + "/".join(kept)


@dataclass
class _Versioning:
    prefix: str = "v"
    default: list[str] = field(default_factory=list)


@dataclass
class _App:
    """What the bootstrap file configures."""

    root_module: tuple[JsModule, Node] | None = None
    global_prefix: str = ""
    #: (path without slashes, method or None) of routes outside the global prefix
    exclude: list[tuple[str, str | None]] = field(default_factory=list)
    versioning: _Versioning | None = None
    listens: list[tuple[JsModule, Node]] = field(default_factory=list)


def _decorators(node: Node) -> list[Node]:
    """The decorators of a class: its own children, or those of the `export` around it."""
    found = [c for c in node.children if c.type == "decorator"]
    parent = node.parent
    if parent is not None and parent.type == "export_statement":
        found = [c for c in parent.children if c.type == "decorator"] + found
    return found


def _decorator_call(decorator: Node) -> tuple[Node, list[Node]] | None:
    """(callee, arguments) of `@Name(...)`; a bare `@Name` has no arguments."""
    inner = next((c for c in decorator.named_children if c.type != "comment"), None)
    if inner is None:
        return None
    if inner.type == "call_expression":
        callee = inner.child_by_field_name("function")
        return (callee, arguments(inner)) if callee is not None else None
    return inner, []


def _class_members(cls: Node) -> list[tuple[list[Node], Node]]:
    """(decorators, method) of every method of a class body, decorators in source order."""
    body = cls.child_by_field_name("body")
    out: list[tuple[list[Node], Node]] = []
    pending: list[Node] = []
    for child in body.named_children if body is not None else []:
        if child.type == "decorator":
            pending.append(child)
        elif child.type == "method_definition":
            out.append((pending, child))
            pending = []
        elif child.type != "comment":
            pending = []
    return out


class _Nest:
    def __init__(self, project: JsProject) -> None:
        self.project = project

    # ---- values

    def common_name(self, module: JsModule, callee: Node | None) -> str | None:
        """The @nestjs/common (or @nestjs/core) export a decorator/callee refers to."""
        if callee is None:
            return None
        value = self.project.evaluate(module, callee)
        if value is None or value.kind != "external" or value.package not in (COMMON, CORE) or not value.members:
            return None
        return value.members[-1]

    def class_of(self, module: JsModule, node: Node | None, depth: int = 0) -> tuple[JsModule, Node] | None:
        if node is None or depth > 10:
            return None
        node = unwrap(node)
        if node.type in ("call_expression",):
            callee = node.child_by_field_name("function")
            args = arguments(node)
            if self.common_name(module, callee) == "forwardRef" and args:
                arrow = unwrap(args[0])
                body = arrow.child_by_field_name("body")
                return self.class_of(module, body, depth + 1) if body is not None else None
            return None
        value = self.project.evaluate(module, node)
        if value is None or value.kind != "node" or value.module is None or value.node is None:
            return None
        target = unwrap(value.node)
        if target.type == "export_statement":
            target = target.child_by_field_name("declaration") or target
        return (value.module, target) if target.type in _CLASS_TYPES else None

    def items(self, module: JsModule, node: Node | None, depth: int = 0) -> list[tuple[JsModule, Node]]:
        """The elements of an array literal, through names and `...spread`."""
        if node is None or depth > 10:
            return []
        node = unwrap(node)
        if node.type != "array":
            value = self.project.evaluate(module, node)
            if value is None or value.kind != "node" or value.module is None or value.node is None:
                return []
            if unwrap(value.node).type != "array" or value.node == node:
                return []
            return self.items(value.module, value.node, depth + 1)
        out: list[tuple[JsModule, Node]] = []
        for child in node.named_children:
            if child.type == "spread_element":
                inner = child.named_children[0] if child.named_children else None
                out += self.items(module, inner, depth + 1)
            elif child.type != "comment":
                out.append((module, child))
        return out

    def decorator_args(self, module: JsModule, cls: Node, name: str) -> list[Node] | None:
        for decorator in _decorators(cls):
            call = _decorator_call(decorator)
            if call is not None and self.common_name(module, call[0]) == name:
                return call[1]
        return None

    def strings(self, module: JsModule, node: Node | None) -> list[str]:
        """A path argument: a string, or an array of strings; [""] when absent."""
        if node is None:
            return [""]
        node = unwrap(node)
        if node.type == "array":
            return [v for c in node.named_children if (v := self.string(module, c)) is not None]
        value = self.string(module, node)
        return [value] if value is not None else []

    def string(self, module: JsModule, node: Node) -> str | None:
        node = unwrap(node)
        value = string_value(node)
        if value is not None:
            return value
        if node.type in ("identifier", "member_expression"):
            found = self.project.evaluate(module, node)
            if found is not None and found.kind == "node" and found.node is not None and found.node != node:
                return string_value(unwrap(found.node))
        return None

    # ---- bootstrap

    def app(self) -> _App:
        app = _App()
        for module, call, prop, obj, args in method_calls(self.project):
            if prop in ("create", "createMicroservice") and args and app.root_module is None:
                if self.common_name(module, obj) == "NestFactory":
                    app.root_module = self.class_of(module, args[0])
            elif prop == "setGlobalPrefix" and args:
                app.global_prefix = self.string(module, args[0]) or ""
                options = object_property(args[1], "exclude") if len(args) > 1 else None
                for _m, item in self.items(module, options):
                    app.exclude += self._exclusion(module, item)
            elif prop == "enableVersioning":
                app.versioning = self._versioning(module, args[0] if args else None)
            elif prop == "listen":
                app.listens.append((module, call))
        return app

    def _exclusion(self, module: JsModule, item: Node) -> list[tuple[str, str | None]]:
        item = unwrap(item)
        path = self.string(module, item)
        if path is not None:
            return [(path.strip("/"), None)]
        route = self.string(module, object_property(item, "path")) if item.type == "object" else None
        if route is None:
            return []
        method = object_property(item, "method")
        name = ts.text(method).rsplit(".", 1)[-1] if method is not None else "ALL"
        return [(route.strip("/"), None if name == "ALL" else name)]

    def _versioning(self, module: JsModule, options: Node | None) -> _Versioning | None:
        kind = object_property(options, "type")
        if kind is None or not ts.text(kind).endswith("URI"):
            return None
        versioning = _Versioning()
        prefix = object_property(options, "prefix")
        if prefix is not None:
            versioning.prefix = self.string(module, prefix) or ""
        versioning.default = self.versions(module, object_property(options, "defaultVersion"))
        return versioning

    def versions(self, module: JsModule, node: Node | None) -> list[str]:
        """Version strings; VERSION_NEUTRAL (served without a version segment) is NEUTRAL."""
        if node is None:
            return []
        node = unwrap(node)
        items = node.named_children if node.type == "array" else [node]
        out = []
        for item in items:
            if self.common_name(module, item) == "VERSION_NEUTRAL":
                out.append(NEUTRAL)
            elif (value := self.string(module, item)) is not None:
                out.append(value)
        return out

    # ---- modules

    def controllers(self, root: tuple[JsModule, Node]) -> list[tuple[JsModule, Node, str]]:
        """(module, controller class, RouterModule path) of every reachable controller."""
        module_paths: dict[tuple[str, int], str] = {}
        order: list[tuple[JsModule, Node]] = []
        seen: set[tuple[str, int]] = set()
        stack = [root]
        while stack:
            module, cls = stack.pop()
            key = (module.rel, cls.start_byte)
            if key in seen:
                continue
            seen.add(key)
            order.append((module, cls))
            options = self.decorator_args(module, cls, "Module")
            meta = options[0] if options else None
            for item_module, item in reversed(self.items(module, object_property(meta, "imports"))):
                stack += reversed(self._imported(item_module, item, module_paths))
        out: list[tuple[JsModule, Node, str]] = []
        done: set[tuple[str, int]] = set()
        for module, cls in order:
            options = self.decorator_args(module, cls, "Module")
            meta = options[0] if options else None
            for item_module, item in self.items(module, object_property(meta, "controllers")):
                found = self.class_of(item_module, item)
                if found is None:
                    log.warning("%s: controller %s is not a class found statically", module.rel, ts.text(item))
                    continue
                ckey = (found[0].rel, found[1].start_byte)
                if ckey not in done:
                    done.add(ckey)
                    out.append((found[0], found[1], module_paths.get((module.rel, cls.start_byte), "")))
        return out

    def _imported(
        self, module: JsModule, item: Node, module_paths: dict[tuple[str, int], str]
    ) -> list[tuple[JsModule, Node]]:
        """The module classes an `imports` entry brings in."""
        node = unwrap(item)
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            args = arguments(node)
            if callee is not None and callee.type == "member_expression":
                owner = callee.child_by_field_name("object")
                if self.common_name(module, owner) == "RouterModule":
                    if args:
                        self._router_routes(module, args[0], "", module_paths)
                    return []
                # XModule.forRoot(...) / .register(...): X's own metadata, plus a returned
                # `{ module, controllers }` is not read (controllers there are rare).
                found = self.class_of(module, owner)
                return [found] if found is not None else []
        found = self.class_of(module, node)
        return [found] if found is not None else []

    def _router_routes(
        self, module: JsModule, routes: Node, prefix: str, module_paths: dict[tuple[str, int], str]
    ) -> None:
        for item_module, item in self.items(module, routes):
            item = unwrap(item)
            if item.type != "object":
                found = self.class_of(item_module, item)
                if found is not None:
                    module_paths.setdefault((found[0].rel, found[1].start_byte), prefix)
                continue
            path = nest_path(prefix, self.string(item_module, object_property(item, "path") or item) or "")
            target = self.class_of(item_module, object_property(item, "module"))
            if target is not None:
                module_paths.setdefault((target[0].rel, target[1].start_byte), path)
            children = object_property(item, "children")
            if children is not None:
                self._router_routes(item_module, children, path, module_paths)

    # ---- controllers

    def methods(self, module: JsModule, cls: Node, depth: int = 0) -> list[tuple[JsModule, list[Node], Node]]:
        """Every method with its decorators, the inherited ones (from `extends`) first."""
        out: list[tuple[JsModule, list[Node], Node]] = []
        heritage = next((c for c in cls.named_children if c.type == "class_heritage"), None)
        extends = next((c for c in heritage.named_children if c.type == "extends_clause"), None) if heritage else None
        if extends is not None and depth < 5:
            base = self.class_of(module, extends.child_by_field_name("value"))
            if base is not None:
                own = {ts.text(m.child_by_field_name("name")) for _d, m in _class_members(cls)}
                out += [
                    entry
                    for entry in self.methods(base[0], base[1], depth + 1)
                    if ts.text(entry[2].child_by_field_name("name")) not in own
                ]
        out += [(module, decorators, method) for decorators, method in _class_members(cls)]
        return out


def _body_type(type_text: str) -> str:
    text = type_text.lstrip(":").strip()
    if text.endswith("[]") or text.startswith(("Array<", "ReadonlyArray<")):
        return "list"
    if text.startswith(("Record<", "{", "Map<")) or text == "object":
        return "dict"
    return {"string": "str", "number": "float", "boolean": "bool", "Date": "str"}.get(text, "any")


def _dto_fields(nest: _Nest, module: JsModule, type_node: Node | None, depth: int = 0) -> list[BodyField]:
    """Fields of a DTO class: its properties, typed; `?` or @IsOptional() means optional."""
    if type_node is None or depth > 3:
        return []
    name = ts.text(type_node).lstrip(":").strip()
    if not re.fullmatch(r"[A-Za-z_$][\w$]*", name):
        return []
    value = nest.project.lookup(module, name)
    if value is None or value.kind != "node" or value.module is None or value.node is None:
        return []
    cls = value.node
    if cls.type == "export_statement":
        cls = cls.child_by_field_name("declaration") or cls
    if cls.type not in _CLASS_TYPES:
        return []
    out: list[BodyField] = []
    heritage = next((c for c in cls.named_children if c.type == "class_heritage"), None)
    extends = next((c for c in heritage.named_children if c.type == "extends_clause"), None) if heritage else None
    if extends is not None and (base := extends.child_by_field_name("value")) is not None:
        out += _dto_fields(nest, value.module, base, depth + 1)
    body = cls.child_by_field_name("body")
    for prop in body.named_children if body is not None else []:
        if prop.type != "public_field_definition":
            continue
        key = prop.child_by_field_name("name")
        if key is None or any(c.type in ("static", "accessibility_modifier") for c in prop.children):
            continue
        calls = [_decorator_call(d) for d in prop.children if d.type == "decorator"]
        decorators = {ts.text(call[0]) for call in calls if call is not None}
        type_ = _body_type(ts.text(prop.child_by_field_name("type")))
        if "IsInt" in decorators:
            type_ = "int"
        optional = any(c.type == "?" for c in prop.children) or "IsOptional" in decorators
        optional = optional or prop.child_by_field_name("value") is not None
        out = [f for f in out if f.name != ts.text(key)]
        out.append(BodyField(name=ts.text(key), type=type_, required=not optional))
    return out


def _body_fields(nest: _Nest, module: JsModule, method: Node) -> list[BodyField]:
    fields: list[BodyField] = []
    for param in parameters(method):
        for decorator in (c for c in param.children if c.type == "decorator"):
            call = _decorator_call(decorator)
            if call is None or nest.common_name(module, call[0]) != "Body":
                continue
            key = string_value(unwrap(call[1][0])) if call[1] else None
            type_node = param.child_by_field_name("type")
            if key is not None:
                optional = param.type == "optional_parameter"
                fields.append(BodyField(name=key, type=_body_type(ts.text(type_node)), required=not optional))
            else:
                fields += _dto_fields(nest, module, type_node)
    return fields


class NestJSFramework(JsFramework):
    name = "nestjs"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("@nestjs/core",)
    language = "javascript"

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return detect_services(repo_root, is_nest_manifest, lambda _repo, root, _manifest: self._entrypoint(root))

    def _entrypoint(self, root: Path) -> str | None:
        config = read_jsonc(root / "nest-cli.json") if (root / "nest-cli.json").is_file() else {}
        source_root = config.get("sourceRoot") if isinstance(config.get("sourceRoot"), str) else "src"
        entry_file = config.get("entryFile") if isinstance(config.get("entryFile"), str) else "main"
        for candidate in (f"{source_root}/{entry_file}.ts", f"{source_root}/{entry_file}.js", "src/main.ts"):
            if (root / candidate).is_file():
                return candidate
        return None

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        project = JsProject(repo_root, service.root.resolve())
        nest = _Nest(project)
        app = nest.app()
        root = app.root_module or self._fallback_root(nest)
        if root is None:
            log.warning("%s: no root module (NestFactory.create) found", service.root)
            return []
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for module, cls, module_path in nest.controllers(root):
            args = nest.decorator_args(module, cls, "Controller")
            if args is None:
                log.warning("%s: %s is listed as a controller but has no @Controller", module.rel, ts.text(cls)[:40])
                continue
            options = unwrap(args[0]) if args else None
            if options is not None and options.type == "object":
                controller_paths = nest.strings(module, object_property(options, "path"))
                controller_versions = nest.versions(module, object_property(options, "version"))
            else:
                controller_paths = nest.strings(module, options)
                controller_versions = []
            for method_module, decorators, method in nest.methods(module, cls):
                self._routes(nest, app, method_module, decorators, method, module_path, controller_paths,
                             controller_versions, endpoints)  # fmt: skip
        return [endpoints[k] for k in sorted(endpoints)]

    def _routes(
        self,
        nest: _Nest,
        app: _App,
        module: JsModule,
        decorators: list[Node],
        method: Node,
        module_path: str,
        controller_paths: list[str],
        controller_versions: list[str],
        endpoints: dict[tuple[str, str], Endpoint],
    ) -> None:
        verbs: list[tuple[str, list[str]]] = []
        versions = controller_versions
        for decorator in decorators:
            call = _decorator_call(decorator)
            name = nest.common_name(module, call[0]) if call is not None else None
            if call is None or name is None:
                continue
            if name in _HTTP_DECORATORS:
                verbs.append((_HTTP_DECORATORS[name], nest.strings(module, call[1][0] if call[1] else None)))
            elif name == "Version" and call[1]:
                versions = nest.versions(module, call[1][0])
        if not verbs or method.child_by_field_name("body") is None:
            return
        if app.versioning is not None:
            chosen = versions or app.versioning.default
            segments = [app.versioning.prefix + v if v != NEUTRAL else "" for v in chosen] or [""]
        else:
            segments = [""]
        handler = handler_for(method, module.rel)
        fields = _body_fields(nest, module, method)
        for verb, method_paths in verbs:
            for controller_path in controller_paths:
                for method_path in method_paths:
                    local = nest_path(module_path, controller_path, method_path)
                    excluded = any(
                        p == local.strip("/") and (m is None or m == verb) for p, m in app.exclude
                    )  # fmt: skip
                    prefix = "" if excluded else app.global_prefix
                    for segment in segments:
                        path = nest_path(prefix, segment, local)
                        endpoints.setdefault(
                            (path, verb), Endpoint(method=verb, path=path, handler=handler, body_fields=fields)
                        )

    def _fallback_root(self, nest: _Nest) -> tuple[JsModule, Node] | None:
        """Without a readable bootstrap, the class named AppModule is the root module."""
        for rel in sorted(nest.project.modules):
            module = nest.project.modules[rel]
            value = module.bindings.get("AppModule")
            if isinstance(value, Node) and value.type in _CLASS_TYPES:
                return module, value
        return None

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        project = JsProject(repo_root, root)
        app = _Nest(project).app()
        port = listen_port(project, app.listens, DEFAULT_PORT)
        manifest = read_package_json(root / "package.json")
        env = service_env(project, port)
        # The Dockerfile template runs `npm run build` (nest build) when a build script
        # exists; the service then starts from the compiled entry (dist/main.js).
        entry = service.entrypoint or self._entrypoint(root) or "src/main.ts"
        return RuntimeHints(start_command=start_command(root, manifest, entry), port=port, env=env)

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        """`throw new NotImplementedException(...)`, importing it from @nestjs/common.

        The import is added inside the braces of the existing `import { ... } from
        '@nestjs/common'`, on the same line, so line numbers do not move. Byte offsets of
        the other handlers of the file do move, so a handler whose offsets no longer point
        at a body is found again by its name and line.
        """
        return self._throw(source, handler, EXCEPTION, MASK_MESSAGE)

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        """`throw new HttpException(body, status)`: Nest's exception filter answers any
        status with it; an empty body reads `{"statusCode": status, "message": ""}`."""
        literal = canned_literal(answer, for_format=False)
        body = '""' if literal is None else f"JSON.parse({literal})"
        return self._throw(source, handler, "HttpException", f"{body}, {answer.status}")

    def _throw(self, source: bytes, handler: Handler, exception: str, arguments: str) -> bytes:
        grammar = grammar_of(handler.file)
        tree = ts.parse(source, grammar)
        method = self._method(tree.root_node, handler)
        body = method.child_by_field_name("body")
        assert body is not None
        edits: list[tuple[int, int, bytes]] = []
        name = self._exception_name(tree.root_node, edits, exception)
        edits.append((body.start_byte, body.end_byte, f"{{ throw new {name}({arguments}); }}".encode()))
        masked = source
        for start, end, new in sorted(edits, reverse=True):
            masked = ts.replace(masked, start, end, new)
        return ts.check_reparses(masked, grammar, f"{handler.file}:{handler.name}")

    def _method(self, root: Node, handler: Handler) -> Node:
        body = ts.find_exact(root, handler.body_start_byte, handler.body_end_byte, {"statement_block"})
        fn = body.parent if body is not None else None
        if (
            fn is not None
            and fn.type in FUNCTION_TYPES
            and fn.child_by_field_name("body") == body
            and function_name(fn) == handler.name
        ):
            return fn
        length = handler.body_end_byte - handler.body_start_byte
        for node in ts.find_all(root, "method_definition", "function_declaration"):
            candidate = node.child_by_field_name("body")
            if (
                candidate is not None
                and node.start_point[0] + 1 == handler.line
                and function_name(node) == handler.name
                and candidate.end_byte - candidate.start_byte == length
            ):
                return node
        raise ValueError(f"no handler body {handler.name} at line {handler.line} of {handler.file}")

    def _exception_name(self, root: Node, edits: list[tuple[int, int, bytes]], exception: str = EXCEPTION) -> str:
        """The local name of `exception` (NotImplementedException), adding the import if needed."""
        named: Node | None = None
        for statement in root.named_children:
            if statement.type != "import_statement":
                continue
            if string_value(statement.child_by_field_name("source")) != COMMON:
                continue
            clause = next((c for c in statement.named_children if c.type == "import_clause"), None)
            for child in clause.named_children if clause is not None else []:
                if child.type == "namespace_import":
                    ident = next((c for c in child.named_children if c.type == "identifier"), None)
                    if ident is not None:
                        return f"{ts.text(ident)}.{exception}"
                if child.type != "named_imports":
                    continue
                if "type" in {c.type for c in statement.children}:
                    continue  # `import type { ... }` brings no value
                named = named or child
                for spec in child.named_children:
                    if spec.type == "import_specifier" and ts.text(spec.child_by_field_name("name")) == exception:
                        return ts.text(spec.child_by_field_name("alias") or spec.child_by_field_name("name"))
        if named is not None:
            brace = named.children[0]
            spaced = ts.text(named)[1:2].isspace()
            edits.append((brace.end_byte, brace.end_byte, f" {exception},{'' if spaced else ' '}".encode()))
        else:
            # No value import from @nestjs/common: imports are hoisted, so one at the end of
            # the file is valid and moves no offset of the handlers above it.
            end = root.end_byte
            edits.append((end, end, f"\nimport {{ {exception} }} from '{COMMON}';\n".encode()))
        return exception
