"""From route registrations to endpoints: handler functions, framework objects, mount paths.

What the Node frameworks share when they turn `app.get(...)`, `router.use(...)` and their
kin into endpoints: the function a handler argument stands for, which app or router object
an expression refers to across files (`ObjectResolver`), static paths and their joining,
and `mounted_endpoints`, which makes an Endpoint of every route served under its prefixes.
It sits on top of the interpreter and the request-body reader.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from pipeline.languages import treesitter as ts
from pipeline.languages.javascript.interpreter import JsModule, JsProject, JsValue
from pipeline.languages.javascript.request_body import body_fields
from pipeline.languages.javascript.syntax import (
    FUNCTION_TYPES,
    Node,
    arguments,
    handler_for,
    param_name,
    parameters,
    string_value,
    unwrap,
)
from pipeline.models import Endpoint, Handler

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- functions


def function_node(project: JsProject, module: JsModule, node: Node, depth: int = 0) -> tuple[JsModule, Node] | None:
    """The function a handler argument stands for, following names and wrapper calls."""
    if depth > 10:
        return None
    node = unwrap(node)
    if node.type in FUNCTION_TYPES:
        return module, node
    if node.type == "call_expression":
        callee = node.child_by_field_name("function")
        if (
            callee is not None
            and callee.type == "member_expression"
            and ts.text(callee.child_by_field_name("property")) == "bind"
        ):
            # ctl.list.bind(ctl): the bound function
            inner = callee.child_by_field_name("object")
            return function_node(project, module, inner, depth + 1) if inner is not None else None
        # asyncHandler(fn), catchAsync(fn): the real handler is the wrapped function.
        args = arguments(node)
        return function_node(project, module, args[-1], depth + 1) if args else None
    value = project.evaluate(module, node)
    if value is None or value.kind != "node" or value.module is None or value.node is None:
        return None
    if value.node == node:
        return None
    return function_node(project, value.module, value.node, depth + 1)


def route_function(
    project: JsProject, module: JsModule, handler: Node, method: str, path: str
) -> tuple[JsModule, Node] | None:
    """The function with a body that answers a route; None (with a warning) when it cannot be read statically."""
    target = function_node(project, module, handler)
    if target is None or target[1].child_by_field_name("body") is None:
        log.warning("%s: handler of %s %s is not a function found statically", module.rel, method, path)
        return None
    return target


# --------------------------------------------------------------------------- framework objects


ObjKey = tuple[str, int]


@dataclass
class Route:
    """A route a router object (`owner`) registers; `handler` is the expression that answers it."""

    owner: ObjKey
    path: str
    method: str
    module: JsModule
    handler: Node


def mounted_endpoints(
    project: JsProject,
    routes: Iterable[Route],
    prefixes: dict[ObjKey, list[str]],
    join: Callable[[str, str], str],
    handler: Callable[[Node, str], Handler] = handler_for,
    body_path: tuple[str, ...] = ("body",),
) -> list[Endpoint]:
    """Endpoints of the routes whose owner is served, once under each prefix it is mounted at.

    The first registration of a method and path wins, as in the Node routers. The
    frameworks differ only in how a prefix and a path join, how a handler is named and
    where the request body is read from.
    """
    endpoints: dict[tuple[str, str], Endpoint] = {}
    for route in routes:
        if route.owner not in prefixes:
            continue
        target = route_function(project, route.module, route.handler, route.method, route.path)
        if target is None:
            continue
        module, fn = target
        for prefix in prefixes[route.owner]:
            path = join(prefix, route.path)
            endpoints.setdefault(
                (path, route.method),
                Endpoint(
                    method=route.method,
                    path=path,
                    handler=handler(fn, module.rel),
                    body_fields=body_fields(fn, body_path),
                ),
            )
    return [endpoints[k] for k in sorted(endpoints)]


class MethodCall(NamedTuple):
    """A `receiver.method(args)` call of the project: the shape every app and router call has."""

    module: JsModule
    call: Node
    method: str
    receiver: Node | None
    args: list[Node]


def method_calls(project: JsProject) -> Iterator[MethodCall]:
    """Every `x.m(...)` call of the project, file by file in path order (so results are stable)."""
    for rel in sorted(project.modules):
        module = project.modules[rel]
        for call in module.calls:
            fn = call.child_by_field_name("function")
            if fn is None or fn.type != "member_expression":
                continue
            method = ts.text(fn.child_by_field_name("property"))
            yield MethodCall(module, call, method, fn.child_by_field_name("object"), arguments(call))


def external_call(project: JsProject, module: JsModule, call: Node) -> JsValue | None:
    """What a `f(...)` / `new F(...)` calls, when it is a package's export (kind "external")."""
    if call.type not in ("call_expression", "new_expression"):
        return None
    callee = call.child_by_field_name("function") or call.child_by_field_name("constructor")
    value = project.evaluate(module, callee) if callee is not None else None
    return value if value is not None and value.kind == "external" else None


_OBJECT_ARGUMENTS = frozenset(
    {"identifier", "member_expression", "call_expression", "new_expression", "parenthesized_expression"}
)


class ObjectResolver:
    """Which framework object (app, router, ...) an expression refers to, across files.

    `classify(module, node)` names the kind of object a construction creates ("app",
    "router"), or None. Objects are keyed by (file, byte offset of the construction).
    Parameters are followed too: `require('./routes')(app)` binds the function's parameter
    to the app, once `bind_parameters` has seen every call of the project.
    `through(node)`, if given, maps an expression to the object it stands for
    (Koa's `router.routes()` is the router).
    """

    def __init__(
        self,
        project: JsProject,
        classify: Callable[[JsModule, Node], str | None],
        through: Callable[[Node], Node | None] | None = None,
    ) -> None:
        self.project = project
        self.classify = classify
        self.through = through
        self.kinds: dict[ObjKey, str] = {}
        self.nodes: dict[ObjKey, tuple[JsModule, Node]] = {}
        #: (file, function start byte, parameter index) -> the object passed there
        self.params: dict[tuple[str, int, int], ObjKey] = {}

    def bind_parameters(self) -> None:
        for rel in sorted(self.project.modules):
            module = self.project.modules[rel]
            for call in module.calls:
                self._bind_call(module, call)

    def _bind_call(self, module: JsModule, call: Node) -> None:
        fn = call.child_by_field_name("function")
        if fn is None or fn.type not in ("identifier", "call_expression", "member_expression"):
            return
        args = arguments(call)
        # Only names, members and calls can stand for an app or router: skip the rest cheaply.
        if not any(a.type in _OBJECT_ARGUMENTS for a in args) or ts.text(fn) == "require":
            return
        keys = [self.object_of(module, a) if a.type in _OBJECT_ARGUMENTS else None for a in args]
        if not any(keys):
            return
        defined = self.project.definition(module, fn)
        if defined is None:
            return
        target = unwrap(defined[1])
        if target.type not in FUNCTION_TYPES:
            return
        for index, key in enumerate(keys):
            if key is not None:
                self.params.setdefault((defined[0].rel, target.start_byte, index), key)

    def parameter_object(self, module: JsModule, node: Node) -> ObjKey | None:
        name = ts.text(node)
        for fn in ts.ancestors(node):
            if fn.type not in FUNCTION_TYPES:
                continue
            for index, param in enumerate(parameters(fn)):
                if param_name(param) == name:
                    return self.params.get((module.rel, fn.start_byte, index))
        return None

    def object_of(self, module: JsModule, node: Node | None, depth: int = 0) -> ObjKey | None:
        if node is None or depth > 10:
            return None
        node = unwrap(node)
        if self.through is not None and (inner := self.through(node)) is not None:
            return self.object_of(module, inner, depth + 1)
        if node.type == "identifier" and (bound := self.parameter_object(module, node)):
            return bound
        defined = self.project.definition(module, node)
        if defined is None:
            return None
        where, target = defined[0], unwrap(defined[1])
        if self.through is not None and self.through(target) is not None:
            return self.object_of(where, target, depth + 1)
        kind = self.classify(where, target)
        if kind is None:
            return None
        key = (where.rel, target.start_byte)
        self.kinds[key] = kind
        self.nodes[key] = (where, target)
        return key


def join_path(prefix: str, path: str) -> str:
    """A route path under a mount prefix, as the Node routers join them (`/api` + `/` is `/api`)."""
    if not prefix or prefix == "/":
        return path or "/"
    if path in ("", "/"):
        return prefix
    return prefix.rstrip("/") + (path if path.startswith("/") else "/" + path)


def static_string(project: JsProject, module: JsModule, node: Node | None, depth: int = 0) -> str | None:
    """A string known without running the code: a literal, a constant (across files), a
    template literal or `+` of such (`${API_PREFIX}/users`)."""
    if node is None or depth > 10:
        return None
    node = unwrap(node)
    if node.type == "string":
        return string_value(node)
    if node.type == "template_string":
        parts = []
        for child in node.children:
            if child.type == "string_fragment":
                parts.append(ts.text(child))
            elif child.type == "escape_sequence":
                parts.append(ts.text(child).encode().decode("unicode_escape", errors="replace"))
            elif child.type == "template_substitution":
                inner = child.named_children[0] if child.named_children else None
                value = static_string(project, module, inner, depth + 1)
                if value is None:
                    return None
                parts.append(value)
        return "".join(parts)
    if node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) == "+":
        left = static_string(project, module, node.child_by_field_name("left"), depth + 1)
        right = static_string(project, module, node.child_by_field_name("right"), depth + 1)
        return left + right if left is not None and right is not None else None
    if node.type in ("identifier", "member_expression", "subscript_expression"):
        value = project.evaluate(module, node)
        if value is not None and value.kind == "node" and value.module is not None and value.node not in (None, node):
            return static_string(project, value.module, value.node, depth + 1)
    return None


def route_paths(project: JsProject, module: JsModule, node: Node, what: str) -> list[str]:
    """The path(s) of a route or mount: a string, or an array of strings (`['/a', '/b']`).

    Constants and template literals are followed. Regular-expression paths have no static
    path to report; they are skipped with a warning.
    """
    node = unwrap(node)
    items = [unwrap(c) for c in node.named_children if c.type != "comment"] if node.type == "array" else [node]
    out = []
    for item in items:
        value = static_string(project, module, item)
        if value is not None:
            out.append(value)
        elif item.type == "regex":
            log.warning("%s:%d: skipped %s with a regular-expression path", module.rel, item.start_point[0] + 1, what)
        else:
            log.warning("%s:%d: skipped %s with a dynamic path", module.rel, item.start_point[0] + 1, what)
    return out


def is_path_argument(project: JsProject, module: JsModule, node: Node) -> bool:
    """True when the first argument of a `use(...)` is a mount path rather than a middleware."""
    node = unwrap(node)
    if node.type in ("string", "template_string", "array", "regex"):
        return True
    return node.type in ("identifier", "member_expression", "binary_expression") and (
        static_string(project, module, node) is not None
    )


def object_property(obj: Node | None, name: str) -> Node | None:
    """The value of `name` in an object literal `{ name: value }` (or `{ name }`)."""
    if obj is None:
        return None
    obj = unwrap(obj)
    if obj.type != "object":
        return None
    for prop in obj.named_children:
        if prop.type == "pair":
            key = prop.child_by_field_name("key")
            if (string_value(key) or ts.text(key)) == name:
                return prop.child_by_field_name("value")
        elif prop.type in ("shorthand_property_identifier", "method_definition"):
            key = prop if prop.type == "shorthand_property_identifier" else prop.child_by_field_name("name")
            if ts.text(key) == name:
                return prop
    return None
