"""Actix-web: attribute-macro handlers, App/scope/resource builders, configure functions, masking.

Discovery evaluates `HttpServer::new(|| App::new()...)` statically, following `.service`,
`.route`, `.configure` and scopes through the project's functions and modules. A handler
with `#[get("/x")]` that no `.service(...)` registers is not served, so it is not reported.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.rust import runtime
from pipeline.languages.rust.cargo import detect_services
from pipeline.languages.rust.interpreter import UNHANDLED, Closure, FnRef, Frame, Interpreter, run_main
from pipeline.languages.rust.masking import mask_function, split_generic
from pipeline.languages.rust.project import (
    ConstT,
    ExternT,
    FnT,
    ModuleT,
    RustProject,
    Target,
    TypeT,
    path_segments,
    preceding_attributes,
    string_value,
)
from pipeline.languages.rust.routes import HTTP_METHODS, route_endpoints
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
HandlerValue = FnRef | Closure

DEFAULT_PORT = 8080
_METHOD_NAMES = {m.lower(): m for m in HTTP_METHODS}
_GUARDS = {m.capitalize(): m for m in HTTP_METHODS}
_NOT_IMPLEMENTED = "actix_web::HttpResponse::NotImplemented().finish()"
_ERROR = 'actix_web::error::ErrorNotImplemented("Not Implemented")'


def actix_join(prefix: str, path: str) -> str:
    """A resource path under a scope prefix; Actix inserts the slash a non-empty path lacks."""
    if path and not path.startswith("/"):
        path = "/" + path
    if prefix.endswith("/") and path.startswith("/"):
        prefix = prefix[:-1]
    return prefix + path


@dataclass(eq=False)
class _Route:
    method: str
    path: str
    handler: HandlerValue


@dataclass(eq=False)
class _Scope:
    """An App, a web::scope or a ServiceConfig: routes relative to `prefix`, registered in order."""

    prefix: str = ""
    routes: list[_Route] = field(default_factory=list)


@dataclass(eq=False)
class _Resource:
    paths: list[str]
    entries: list[tuple[str, HandlerValue]] = field(default_factory=list)


@dataclass(eq=False)
class _RouteSpec:
    """`web::get()`, `web::route().guard(guard::Post())`, ...; no method means any method."""

    methods: list[str] = field(default_factory=list)
    handler: HandlerValue | None = None

    def entries(self) -> list[tuple[str, HandlerValue]]:
        if self.handler is None:
            return []
        return [(m, self.handler) for m in (self.methods or ["ANY"])]


@dataclass(frozen=True)
class _Static:
    """actix_files::Files and other services that are not handlers."""


@dataclass(frozen=True)
class _Server:
    pass


def route_attributes(fn: Node) -> list[tuple[str, str]]:
    """(method, path) of `#[get("/x")]`, `#[actix_web::post("/x")]`, `#[route("/x", method = "GET", ...)]`."""
    out: list[tuple[str, str]] = []
    for attr in preceding_attributes(fn):
        if not attr.named_children:
            continue
        segs = path_segments(attr.named_children[0]) or []
        name = segs[-1] if segs else ""
        if name not in _METHOD_NAMES and name != "route":
            continue
        tokens = attr.child_by_field_name("arguments")
        items = tokens.named_children if tokens is not None else []
        path = string_value(items[0]) if items else None
        if path is None:
            continue
        if name != "route":
            out.append((_METHOD_NAMES[name], path))
            continue
        methods = [
            (string_value(value) or "").upper()
            for key, value in zip(items, items[1:], strict=False)
            if key.type == "identifier" and ts.text(key) == "method"
        ]
        out.extend((m, path) for m in (methods or ["ANY"]) if m)
    return out


def _methods_in(node: Node) -> list[str]:
    """Methods named by `Method::GET`, `http::Method::POST`, `guard::Get()` in an expression."""
    text = ts.text(node)
    found = set(re.findall(r"Method::([A-Z]+)", text))
    found |= {_GUARDS[g] for g in re.findall(r"guard::([A-Z][a-z]+)\s*\(", text) if g in _GUARDS}
    return sorted(m for m in found if m in HTTP_METHODS)


class _Evaluator(Interpreter):
    def __init__(self, project: RustProject) -> None:
        super().__init__(project)
        self.served: list[_Scope] = []

    def handler(self, frame: Frame, node: Node | None) -> HandlerValue | None:
        value = self.eval(frame, node)
        if isinstance(value, FnRef | Closure):
            return value
        if node is not None:
            where = f"{frame.module.rel}:{node.start_point[0] + 1}"
            log.warning("%s: handler %s is not statically known", where, ts.text(node)[:60])
        return None

    def call_hook(self, frame: Frame, call: Node, target: Target | None, args: list[Node]) -> Any:
        if isinstance(target, FnT | ModuleT | ConstT | TypeT):
            return UNHANDLED
        segs = list(target.segments) if isinstance(target, ExternT) else []
        if not segs:
            segs = path_segments(call.child_by_field_name("function")) or []
        tail = segs[-2:]
        last = segs[-1] if segs else ""
        if tail == ["App", "new"]:
            return _Scope()
        if tail == ["HttpServer", "new"] and args:
            app = self.call_value(self.eval(frame, args[0]), [])
            if isinstance(app, _Scope):
                self.served.append(app)
            else:
                log.warning("%s: the App of HttpServer::new is not statically known", frame.module.rel)
            return _Server()
        if tail == ["Files", "new"]:
            return _Static()
        # `web::scope`, a bare imported `scope`, utoipa-actix-web's `scope`: not `thread::scope`.
        web = len(segs) == 1 or any(s in ("web", "actix_web", "utoipa_actix_web") for s in segs)
        if (last == "scope" and web) or tail == ["Scope", "new"]:
            prefix = self.eval(frame, args[0]) if args else None
            if not isinstance(prefix, str):
                log.warning("%s: scope prefix %s is not a literal", frame.module.rel, ts.text(call)[:60])
                return None
            return _Scope(prefix="/" + prefix if prefix and not prefix.startswith("/") else prefix)
        if (last == "resource" and web) or tail == ["Resource", "new"]:
            value = self.eval(frame, args[0]) if args else None
            paths = [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]
            if isinstance(value, list | tuple | str) and paths:
                return _Resource(paths=paths)
            log.warning("%s: resource path %s is not a literal", frame.module.rel, ts.text(call)[:60])
            return None
        if not web:
            return UNHANDLED
        if last in _METHOD_NAMES and not args:
            return _RouteSpec([_METHOD_NAMES[last]])
        if last == "route" and not args or tail == ["Route", "new"]:
            return _RouteSpec()
        if last == "method" and args:
            return _RouteSpec(_methods_in(args[0]))
        if last == "to" and len(args) == 1:
            return _RouteSpec(handler=self.handler(frame, args[0]))
        return UNHANDLED

    def method_hook(self, frame: Frame, call: Node, receiver: Any, name: str, args: list[Node]) -> Any:
        if isinstance(receiver, _Scope):
            return self._scope_method(frame, call, receiver, name, args)
        if isinstance(receiver, _Resource):
            if name == "route" and len(args) == 1:
                spec = self.eval(frame, args[0])
                if isinstance(spec, _RouteSpec):
                    receiver.entries.extend(spec.entries())
                return receiver
            if name == "to" and len(args) == 1:
                h = self.handler(frame, args[0])
                if h is not None:
                    receiver.entries.append(("ANY", h))
                return receiver
            if name in _METHOD_NAMES and len(args) == 1:
                h = self.handler(frame, args[0])
                if h is not None:
                    receiver.entries.append((_METHOD_NAMES[name], h))
                return receiver
            self._args(frame, args)
            return receiver
        if isinstance(receiver, _RouteSpec):
            if name == "to" and len(args) == 1:
                receiver.handler = self.handler(frame, args[0])
            elif name in ("method", "guard") and args:
                receiver.methods = sorted(set(receiver.methods) | set(_methods_in(args[0])))
            else:
                self._args(frame, args)
            return receiver
        if isinstance(receiver, _Server | _Static):
            self._args(frame, args)
            return receiver
        return UNHANDLED

    def _args(self, frame: Frame, args: list[Node]) -> None:
        for arg in args:
            self.eval(frame, arg)

    def _scope_method(self, frame: Frame, call: Node, scope: _Scope, name: str, args: list[Node]) -> Any:
        where = f"{frame.module.rel}:{call.start_point[0] + 1}"
        if name == "service" and len(args) == 1:
            self._register(scope, self.eval(frame, args[0]), where, ts.text(args[0]))
        elif name == "route" and len(args) == 2:
            path = self.eval(frame, args[0])
            spec = self.eval(frame, args[1])
            if isinstance(path, str) and isinstance(spec, _RouteSpec):
                scope.routes.extend(_Route(m, actix_join("", path), h) for m, h in spec.entries())
            else:
                log.warning("%s: route %s is not statically known", where, ts.text(args[0])[:60])
        elif name == "split_for_parts":
            return (scope, None)  # utoipa-actix-web: (App, OpenApi)
        elif name == "configure" and len(args) == 1:
            # ServiceConfig registers into the App or scope that calls configure.
            self.call_value(self.eval(frame, args[0]), [scope])
        else:
            self._args(frame, args)
        return scope

    def _register(self, scope: _Scope, value: Any, where: str, what: str) -> None:
        if isinstance(value, tuple | list):
            for item in value:
                self._register(scope, item, where, what)
        elif isinstance(value, FnRef):
            routes = route_attributes(value.node)
            if not routes:
                log.warning("%s: service %s has no route attribute", where, value.name)
            scope.routes.extend(_Route(m, actix_join("", p), value) for m, p in routes)
        elif isinstance(value, _Scope):
            scope.routes.extend(_Route(r.method, actix_join(value.prefix, r.path), r.handler) for r in value.routes)
        elif isinstance(value, _Resource):
            for path in value.paths:
                scope.routes.extend(_Route(m, actix_join("", path), h) for m, h in value.entries)
        elif isinstance(value, _Static):
            log.warning("%s: service %s serves files, not a handler; skipped", where, what[:60])
        else:
            log.warning("%s: service %s is not statically known", where, what[:60])


def _actix_body(return_type: str, is_closure: bool, error_imported: bool) -> str:
    if is_closure and not return_type:
        return _NOT_IMPLEMENTED
    return _value_for(return_type, error_imported) or "unimplemented!()"


def _value_for(t: str, error_imported: bool) -> str | None:
    if not t:
        return None
    head = re.sub(r"<.*", "", t)
    if t.startswith("impl") and "Responder" in t:
        return _NOT_IMPLEMENTED
    if head.split("::")[-1] == "HttpResponse":
        return _NOT_IMPLEMENTED
    generic = split_generic(t)
    if generic is not None and head.split("::")[-1] == "Result" and generic[1]:
        ok = _value_for(generic[1][0], error_imported)
        if ok is not None:
            return f"Ok({ok})"
        error = generic[1][1] if len(generic[1]) == 2 else None
        if head == "actix_web::Result" or error == "actix_web::Error" or (error == "Error" and error_imported):
            return f"Err({_ERROR})"
    return None


def _error_imported(source: bytes) -> bool:
    """`Result<T, Error>` can take actix's error only when `Error` is actix_web's."""
    text = source.decode("utf-8", errors="replace")
    return bool(re.search(r"use\s+actix_web::(?:Error\s*;|\{[^;]*\bError\b(?!\s*as)[^;]*\}\s*;)", text))


def _canned_value(t: str, answer: CannedAnswer, is_closure: bool, error_imported: bool) -> str | None:
    """An expression of type `t` (a handler's return type) that answers `answer`, or None
    when the type cannot carry it (only the 501 mask fits then)."""
    text = canned_json(answer)
    builder = f"actix_web::HttpResponse::build(actix_web::http::StatusCode::from_u16({answer.status}).unwrap())"
    # ASCII JSON text: its escapes are Rust's.
    response = (
        f"{builder}.finish()"
        if text is None
        else f'{builder}.content_type("application/json").body({json.dumps(text)})'
    )
    if not t:
        return response if is_closure else None
    head = re.sub(r"<.*", "", t)
    if (t.startswith("impl") and "Responder" in t) or head.split("::")[-1] == "HttpResponse":
        return response
    generic = split_generic(t)
    if generic is not None and head.split("::")[-1] == "Result" and generic[1]:
        ok = _canned_value(generic[1][0], answer, False, error_imported)
        if ok is not None:
            return f"Ok({ok})"
        error = generic[1][1] if len(generic[1]) == 2 else None
        if head == "actix_web::Result" or error == "actix_web::Error" or (error == "Error" and error_imported):
            return f'Err(actix_web::error::InternalError::from_response("", {response}).into())'
    return None


class ActixFramework(Framework):
    name = "actix"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("actix-web",)
    language = "rust"

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return detect_services(repo_root, "actix-web", "HttpServer")

    # ------------------------------------------------------------------ discover

    def _served(self, repo_root: Path, service: ServiceCandidate) -> tuple[RustProject, list[_Scope]]:
        project = RustProject(repo_root, service.root, service.entrypoint)
        evaluator = _Evaluator(project)
        found, returned = run_main(evaluator, service.root)
        if not found:
            return project, []
        if not evaluator.served and isinstance(returned, Closure | FnRef):
            # Shuttle style: main returns the ServiceConfig closure the runtime applies.
            config = _Scope()
            evaluator.call_value(returned, [config])
            evaluator.served.append(config)
        return project, evaluator.served

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        project, apps = self._served(repo_root.resolve(), service)
        routes = ((route.method, route.path or "/", route.handler) for app in apps for route in app.routes)
        return route_endpoints(project, routes)

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        return runtime.runtime_hints(repo_root, service, DEFAULT_PORT)

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        error_imported = _error_imported(source)
        return mask_function(source, handler, lambda t, closure: _actix_body(t, closure, error_imported))

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        imported = _error_imported(source)

        def body(t: str, closure: bool) -> str:
            return _canned_value(t, answer, closure, imported) or _actix_body(t, closure, imported)

        return mask_function(source, handler, body)
