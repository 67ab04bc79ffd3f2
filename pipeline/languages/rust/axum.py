"""Axum: routers built across functions and modules, nested/merged, method routers, and masking.

Discovery evaluates the service's code statically from `main`: the router values that
reach `axum::serve(listener, app)` (or `.serve(app.into_make_service())`) are the served
ones, so a router-building function that nothing calls is never reported.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.rust import runtime
from pipeline.languages.rust.cargo import detect_services
from pipeline.languages.rust.interpreter import UNHANDLED, Closure, FnRef, Frame, Interpreter, run_main
from pipeline.languages.rust.masking import mask_function, split_generic, split_tuple
from pipeline.languages.rust.project import (
    ConstT,
    ExternT,
    FnT,
    ModuleT,
    RustProject,
    Target,
    path_segments,
    preceding_attributes,
    string_value,
)
from pipeline.languages.rust.routes import HTTP_METHODS, route_endpoints
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
HandlerValue = FnRef | Closure

DEFAULT_PORT = 3000
_METHOD_FNS = {m.lower(): m for m in HTTP_METHODS}
_STATUS = "axum::http::StatusCode::NOT_IMPLEMENTED"
_RESPONSE = f"axum::response::IntoResponse::into_response({_STATUS})"
_MESSAGE = '"Not Implemented"'


def axum_join(prefix: str, path: str) -> str:
    """A route path under a `nest` prefix: `/api` + `/` is `/api`, `/api` + `/x` is `/api/x`."""
    if not prefix or prefix == "/":
        return path or "/"
    if path in ("", "/"):
        return prefix
    return prefix.rstrip("/") + (path if path.startswith("/") else "/" + path)


@dataclass(frozen=True, eq=False)
class _Route:
    method: str
    path: str
    handler: HandlerValue


@dataclass(frozen=True)
class _Router:
    routes: tuple[_Route, ...] = ()


@dataclass(frozen=True)
class _MethodRouter:
    entries: tuple[tuple[str, HandlerValue], ...] = ()


@dataclass(frozen=True)
class _Service:
    """A tower service (ServeDir, get_service(...)): served, but not a handler we can mask."""


def _is_axum(target: Target | None, segs: list[str]) -> bool:
    """True for a name that comes from axum (or that nothing in the project defines)."""
    if isinstance(target, ExternT):
        segments = target.segments
        # `axum::routing::get`, re-exported as `shuttle_axum::axum::routing::get`, or a bare name.
        return len(segments) == 1 or "axum" in segments or segments[0] in ("routing", "Router", "MethodRouter")
    return target is None and bool(segs)


class _Evaluator(Interpreter):
    def __init__(self, project: RustProject) -> None:
        super().__init__(project)
        self.served: list[_Router] = []
        #: routers passed to an outside function (`lambda_http::run(app)`), used when nothing is served
        self.handed_out: list[_Router] = []
        #: every router a `let` binds, for servers driven by hyper directly
        self.let_bound: list[_Router] = []

    def handler(self, frame: Frame, node: Node | None) -> HandlerValue | None:
        value = self.eval(frame, node)
        if isinstance(value, FnRef | Closure):
            return value
        if node is not None:
            log.warning(
                "%s:%d: handler %s is not statically known",
                frame.module.rel,
                node.start_point[0] + 1,
                ts.text(node)[:60],
            )
        return None

    def call_hook(self, frame: Frame, call: Node, target: Target | None, args: list[Node]) -> Any:
        segs = (
            list(target.segments)
            if isinstance(target, ExternT)
            else path_segments(call.child_by_field_name("function")) or []
        )
        if not segs or isinstance(target, FnT | ModuleT | ConstT):
            return UNHANDLED
        last = segs[-1]
        if segs[-2:] in (["Router", "new"], ["Router", "default"], ["OpenApiRouter", "new"]):
            return _Router()
        if segs[-2:] == ["OpenApiRouter", "with_openapi"]:
            return _Router()
        if last == "serve" and len(args) >= 2:
            return self._serve(frame, args[1])
        if not _is_axum(target, segs):
            return UNHANDLED
        if last in _METHOD_FNS and len(args) == 1:
            h = self.handler(frame, args[0])
            return _MethodRouter(((_METHOD_FNS[last], h),) if h else ())
        if last == "any" and len(args) == 1:
            h = self.handler(frame, args[0])
            return _MethodRouter((("ANY", h),) if h else ())
        if last == "on" and len(args) == 2:
            h = self.handler(frame, args[1])
            return _MethodRouter(tuple((m, h) for m in _filter_methods(args[0])) if h else ())
        if last.endswith("_service") and last.removesuffix("_service") in (*_METHOD_FNS, "any") and args:
            return _MethodRouter(self._service_entry(frame, last.removesuffix("_service"), args[-1]))
        if last == "on_service":
            return _Service()
        return UNHANDLED

    def _service_entry(self, frame: Frame, verb: str, node: Node) -> tuple[tuple[str, HandlerValue], ...]:
        """`post_service(handler.with_state(s))` still routes to a handler; other services do not."""
        value = self.eval(frame, node)
        if isinstance(value, FnRef | Closure):
            return ((_METHOD_FNS.get(verb, "ANY"), value),)
        log.warning(
            "%s: %s_service(%s) is a tower service, not a handler; skipped", frame.module.rel, verb, ts.text(node)[:60]
        )
        return ()

    def macro_hook(self, frame: Frame, node: Node, name: str) -> Any:
        if name != "routes":
            return UNHANDLED
        routes: list[_Route] = []
        tokens = next((c for c in node.named_children if c.type == "token_tree"), None)
        for part in (ts.text(tokens)[1:-1] if tokens is not None else "").split(","):
            segs = [s.strip() for s in part.strip().split("::")]
            if not segs or not all(s.isidentifier() for s in segs):
                continue
            value = self.name_value(frame, segs, node)[0]
            if not isinstance(value, FnRef):
                log.warning("%s: routes!(%s) handler is not statically known", frame.module.rel, part.strip())
                continue
            routes.extend(_Route(m, p, value) for m, p in utoipa_routes(value.node))
        return _Router(tuple(routes))

    def _serve(self, frame: Frame, node: Node) -> Any:
        value = self.eval(frame, node)
        if isinstance(value, _Router):
            self.served.append(value)
        return None

    def bound(self, value: Any) -> None:
        if isinstance(value, _Router):
            self.let_bound.append(value)

    def outside_call(self, frame: Frame, call: Node, segments: list[str], values: list[Any]) -> None:
        self.handed_out.extend(v for v in values if isinstance(v, _Router))

    def method_hook(self, frame: Frame, call: Node, receiver: Any, name: str, args: list[Node]) -> Any:
        if isinstance(receiver, _Router):
            return self._router_method(frame, call, receiver, name, args)
        if isinstance(receiver, _MethodRouter):
            if name in _METHOD_FNS and len(args) == 1:
                h = self.handler(frame, args[0])
                return _MethodRouter(receiver.entries + (((_METHOD_FNS[name], h),) if h else ()))
            if name == "on" and len(args) == 2:
                h = self.handler(frame, args[1])
                extra = tuple((m, h) for m in _filter_methods(args[0])) if h else ()
                return _MethodRouter(receiver.entries + extra)
            verb = name.removesuffix("_service")
            if name.endswith("_service") and verb in (*_METHOD_FNS, "any") and args:
                return _MethodRouter(receiver.entries + self._service_entry(frame, verb, args[-1]))
            if name == "merge" and len(args) == 1:
                other = self.eval(frame, args[0])
                return _MethodRouter(receiver.entries + (other.entries if isinstance(other, _MethodRouter) else ()))
            return receiver
        if isinstance(receiver, FnRef | Closure) and name in ("layer", "with_state", "into_service"):
            return receiver  # Handler::layer / Handler::with_state keep the same handler
        if name == "serve" and args:
            for arg in args:
                self._serve(frame, arg)
            return None
        return UNHANDLED

    def _router_method(self, frame: Frame, call: Node, router: _Router, name: str, args: list[Node]) -> Any:
        where = f"{frame.module.rel}:{call.start_point[0] + 1}"
        if name == "route" and len(args) == 2:
            path = self.eval(frame, args[0])
            methods = self.eval(frame, args[1])
            if not isinstance(path, str):
                log.warning("%s: route path %s is not a literal", where, ts.text(args[0])[:60])
                return router
            if isinstance(methods, _Service):
                log.warning("%s: route %s serves a tower service, not a handler; skipped", where, path)
                return router
            if not isinstance(methods, _MethodRouter):
                log.warning("%s: method router of %s is not statically known", where, path)
                return router
            return _Router(router.routes + tuple(_Route(m, path, h) for m, h in methods.entries))
        if name == "route_service" and len(args) == 2:
            path = self.eval(frame, args[0])
            value = self.eval(frame, args[1])
            if isinstance(path, str) and isinstance(value, FnRef | Closure):
                return _Router(router.routes + (_Route("ANY", path, value),))
        if name in ("route_service", "nest_service"):
            path = self.eval(frame, args[0]) if args else None
            log.warning("%s: %s %s serves a tower service (static files?), not a handler; skipped", where, name, path)
            return router
        if name == "nest" and len(args) == 2:
            prefix = self.eval(frame, args[0])
            inner = self.eval(frame, args[1])
            if not isinstance(prefix, str) or not isinstance(inner, _Router):
                log.warning("%s: nest(%s, ...) is not statically known", where, ts.text(args[0])[:60])
                return router
            nested = tuple(_Route(r.method, axum_join(prefix, r.path), r.handler) for r in inner.routes)
            return _Router(router.routes + nested)
        if name == "routes" and len(args) == 1:
            # utoipa-axum: `.routes(routes!(a, b))`, paths and methods from `#[utoipa::path]`.
            other = self.eval(frame, args[0])
            return _Router(router.routes + other.routes) if isinstance(other, _Router) else router
        if name == "split_for_parts":
            return (router, None)
        if name == "merge" and len(args) == 1:
            other = self.eval(frame, args[0])
            if isinstance(other, _Router):
                return _Router(router.routes + other.routes)
            log.warning("%s: merge(%s) is not statically known", where, ts.text(args[0])[:60])
            return router
        for arg in args:
            # `.layer(...)`, `.with_state(...)` and friends keep the routes; their arguments
            # are still evaluated, for the side effects they may have.
            self.eval(frame, arg)
        return router


def utoipa_routes(fn: Node) -> list[tuple[str, str]]:
    """(method, path) of `#[utoipa::path(get, path = "/x")]` / `#[utoipa::path(method(get, head), ...)]`."""
    for attr in preceding_attributes(fn):
        if not attr.named_children or (path_segments(attr.named_children[0]) or [""])[-1] != "path":
            continue
        tokens = attr.child_by_field_name("arguments")
        items = tokens.named_children if tokens is not None else []
        methods: list[str] = []
        path: str | None = None
        prefix = ""
        for index, item in enumerate(items):
            word = ts.text(item)
            nxt = items[index + 1] if index + 1 < len(items) else None
            if item.type == "identifier" and word in _METHOD_FNS:
                methods.append(_METHOD_FNS[word])
            elif item.type == "identifier" and word == "method" and nxt is not None and nxt.type == "token_tree":
                methods.extend(_METHOD_FNS[w] for w in re.findall(r"\w+", ts.text(nxt)) if w in _METHOD_FNS)
            elif item.type == "identifier" and word in ("path", "context_path") and nxt is not None:
                value = string_value(nxt)
                if value is not None and word == "path":
                    path = value
                elif value is not None:
                    prefix = value
        if path is not None:
            return [(m, axum_join(prefix, path) if prefix else path) for m in methods]
    return []


def _filter_methods(node: Node) -> list[str]:
    """Methods of `MethodFilter::GET | MethodFilter::POST` / `MethodFilter::GET.or(MethodFilter::POST)`."""
    found = re.findall(r"MethodFilter::([A-Z]+)", ts.text(node))
    return sorted({m for m in found if m in HTTP_METHODS})


def _axum_body(return_type: str, is_closure: bool) -> str:
    if is_closure and not return_type:
        return _RESPONSE
    return _value_for(return_type) or "unimplemented!()"


def _value_for(t: str) -> str | None:
    """An expression of type `t` that answers 501, or None when the type cannot carry it."""
    if not t:
        return None
    last = re.sub(r"<.*", "", t).split("::")[-1]
    if t.startswith("impl") and "IntoResponse" in t:
        return _STATUS
    if last == "StatusCode":
        return _STATUS
    if t in ("Response", "axum::response::Response", "response::Response"):
        return _RESPONSE
    parts = split_tuple(t)
    if parts is not None and len(parts) == 2 and parts[0].split("::")[-1] == "StatusCode":
        if parts[1] == "String":
            return f"({_STATUS}, String::from({_MESSAGE}))"
        if parts[1] in ("&'staticstr", "&str"):
            return f"({_STATUS}, {_MESSAGE})"
        return None
    generic = split_generic(t)
    if generic is not None and generic[0].split("::")[-1] == "Result" and generic[1]:
        ok = _value_for(generic[1][0])
        if ok is not None:
            return f"Ok({ok})"
        if len(generic[1]) == 2:
            err = _value_for(generic[1][1])
            if err is not None:
                return f"Err({err})"
    return None


def _canned_value(t: str, answer: CannedAnswer, is_closure: bool) -> str | None:
    """An expression of type `t` (a handler's return type) that answers `answer`, or None
    when the type cannot carry its status (`Json<T>`: only the 501 mask fits then)."""
    status = f"axum::http::StatusCode::from_u16({answer.status}).unwrap()"
    text = canned_json(answer)
    literal = json.dumps(text) if text is not None else '""'  # ASCII: JSON's escapes are Rust's
    full = (
        status if text is None else f'({status}, [(axum::http::header::CONTENT_TYPE, "application/json")], {literal})'
    )
    if not t:
        return f"axum::response::IntoResponse::into_response({full})" if is_closure else None
    last = re.sub(r"<.*", "", t).split("::")[-1]
    if t.startswith("impl") and "IntoResponse" in t:
        return full
    if last == "StatusCode":
        return status  # the type holds no body
    if t in ("Response", "axum::response::Response", "response::Response"):
        return f"axum::response::IntoResponse::into_response({full})"
    parts = split_tuple(t)
    if parts is not None and len(parts) == 2 and parts[0].split("::")[-1] == "StatusCode":
        if parts[1] == "String":
            return f"({status}, String::from({literal}))"
        if parts[1] in ("&'staticstr", "&str"):
            return f"({status}, {literal})"
        return None
    generic = split_generic(t)
    if generic is not None and generic[0].split("::")[-1] == "Result" and generic[1]:
        # The error side answers as well as the success side: whichever can carry it.
        ok = _canned_value(generic[1][0], answer, False)
        if ok is not None:
            return f"Ok({ok})"
        if len(generic[1]) == 2:
            err = _canned_value(generic[1][1], answer, False)
            if err is not None:
                return f"Err({err})"
    return None


class AxumFramework(Framework):
    name = "axum"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("axum",)
    language = "rust"

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return detect_services(repo_root, "axum", "axum")

    # ------------------------------------------------------------------ discover

    def _evaluate(self, repo_root: Path, service: ServiceCandidate) -> tuple[RustProject, list[_Router]]:
        project = RustProject(repo_root, service.root, service.entrypoint)
        evaluator = _Evaluator(project)
        found, returned = run_main(evaluator, service.root)
        if not found:
            return project, []
        if evaluator.served:
            return project, evaluator.served
        # Shuttle / lambda style: the router is returned from main or handed to a runner; a
        # server driven by hyper directly only binds it: take the largest router bound then.
        if isinstance(returned, _Router):
            return project, [returned]
        if evaluator.handed_out:
            return project, evaluator.handed_out
        largest = max(evaluator.let_bound, key=lambda r: len(r.routes), default=None)
        return project, [largest] if largest is not None else []

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        project, routers = self._evaluate(repo_root.resolve(), service)
        routes = ((route.method, route.path, route.handler) for router in routers for route in router.routes)
        return route_endpoints(project, routes)

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        return runtime.runtime_hints(repo_root, service, DEFAULT_PORT)

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return mask_function(source, handler, _axum_body)

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        return mask_function(
            source, handler, lambda t, closure: _canned_value(t, answer, closure) or _axum_body(t, closure)
        )
