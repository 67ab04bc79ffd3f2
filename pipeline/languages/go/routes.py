"""Routes -> endpoints: the handler, methods and full paths of every route the interpreter recorded.

Each recorded route is resolved to the function that answers it (a named function, a
closure, a factory returning a closure, or a method found by name when the receiver was
lost), the methods a catch-all handler picks itself (`switch r.Method`) are read from its
body, and the tree of mounts and groups gives every absolute path. It only reads a
finished interpreter run, so it sits above interpreter.py and nothing below imports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.languages import treesitter as ts
from pipeline.languages.go.interpreter import Interpreter, NetHttpDialect
from pipeline.languages.go.project import GoFile, GoProject
from pipeline.languages.go.request_body import json_body_fields
from pipeline.languages.go.syntax import (
    _METHOD_CONSTANTS,
    DECLARATION_TYPES,
    FUNCTION_TYPES,
    HTTP_METHODS,
    Node,
    function_name,
    parameters,
    returned_literal,
    string_value,
)
from pipeline.languages.go.values import DEFAULT_MUX, Edge, FuncVal, Router
from pipeline.models import Endpoint, Handler

log = logging.getLogger(__name__)


@dataclass
class Target:
    name: str
    file: GoFile
    #: the whole definition reported as the handler
    definition: Node
    #: the block masking replaces
    body: Node
    #: the function whose body answers the request (the closure of a factory)
    answers: Node


def handler_target(project: GoProject, value: object, node: Node | None, gf: GoFile | None = None) -> Target | None:
    """Where the function answering a route is defined."""
    if isinstance(value, FuncVal):
        fn = value.node
        if fn.type in DECLARATION_TYPES:
            return Target(function_name(fn), value.file, fn, fn.child_by_field_name("body"), fn)
        enclosing = next((a for a in ts.ancestors(fn) if a.type in FUNCTION_TYPES), None)
        if enclosing is not None and enclosing.type in DECLARATION_TYPES:
            found = returned_literal(enclosing)
            if found is not None and found[1] == fn:
                # A factory (`func listItems(s *Store) http.HandlerFunc { return func... }`):
                # the factory is the handler, so masking can drop the locals the closure used.
                return Target(
                    function_name(enclosing), value.file, enclosing, enclosing.child_by_field_name("body"), fn
                )
        return Target(value.name or "<anonymous>", value.file, fn, fn.child_by_field_name("body"), fn)
    operand = node.child_by_field_name("operand") if node is not None else None
    external = gf is not None and operand is not None and ts.text(operand) in gf.imports
    if value is None and node is not None and node.type == "selector_expression" and not external:
        # `h.List` on a value the interpreter lost track of: a method defined once in the module.
        candidates = project.methods_by_name.get(ts.text(node.child_by_field_name("field")), [])
        if len(candidates) == 1:
            fn, gf = candidates[0]
            return Target(function_name(fn), gf, fn, fn.child_by_field_name("body"), fn)
    return None


def _method_constant(node: Node | None) -> str | None:
    if node is None:
        return None
    value = string_value(node)
    if value is None and node.type == "selector_expression":
        return _METHOD_CONSTANTS.get(ts.text(node.child_by_field_name("field")))
    return value.upper() if value is not None and value.upper() in HTTP_METHODS else None


def methods_in_body(fn: Node) -> list[str]:
    """Methods a handler picks itself: `switch r.Method {case ...}`, `if r.Method != "POST"`."""
    names = [n for n, _ in parameters(fn) if n]
    wanted = {f"{n}{suffix}" for n in names for suffix in (".Method", ".Request.Method", ".Request().Method")}
    found: set[str] = set()
    body = fn.child_by_field_name("body")
    if body is None:
        return []
    for node in ts.walk(body):
        if node.type == "expression_switch_statement" and ts.text(node.child_by_field_name("value")) in wanted:
            for case in node.named_children:
                values = case.child_by_field_name("value") if case.type == "expression_case" else None
                for value in values.named_children if values is not None else []:
                    method = _method_constant(value)
                    if method:
                        found.add(method)
        elif node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) in ("==", "!="):
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            for side, other in ((left, right), (right, left)):
                if ts.text(side) in wanted:
                    method = _method_constant(other)
                    if method:
                        found.add(method)
    return sorted(found, key=HTTP_METHODS.index)


def to_handler(target: Target) -> Handler:
    return ts.handler_at(target.file.rel, target.name, target.definition, target.body)


def router_prefixes(it: Interpreter) -> dict[int, list[str]]:
    """Every absolute prefix each router is reachable under, from the routers nobody mounts."""
    children: dict[int, list[Edge]] = {}
    mounted: set[int] = set()
    for edge in it.edges:
        children.setdefault(id(edge.parent), []).append(edge)
        mounted.add(id(edge.child))
    found: dict[int, list[str]] = {}

    def visit(router: Router, prefix: str, trail: tuple[int, ...]) -> None:
        seen = found.setdefault(id(router), [])
        if prefix in seen:
            return
        seen.append(prefix)
        dialect = it.by_kind.get(router.kind) or NetHttpDialect()
        for edge in children.get(id(router), []):
            if id(edge.child) not in trail:
                visit(
                    edge.child, dialect.join(prefix, edge.prefix) if edge.prefix else prefix, (*trail, id(edge.child))
                )

    # The default mux only answers when some server is handed nil (or nothing else is known).
    default_served = not it.listens or any(not isinstance(x.serves, (Router, FuncVal)) for x in it.listens)
    for router in it.routers:
        if router.label == DEFAULT_MUX and not default_served:
            continue
        if id(router) not in mounted:
            visit(router, "", (id(router),))
    return found


def endpoints_of(it: Interpreter) -> list[Endpoint]:
    prefixes = router_prefixes(it)
    out: dict[tuple[str, str], Endpoint] = {}
    for route in it.routes:
        target = handler_target(it.project, route.value, route.node, route.file)
        if target is None or target.body is None:
            log.warning(
                "%s: handler of %s %s is not a function found statically", route.file.rel, route.method, route.path
            )
            continue
        methods = [route.method]
        if route.method == "ANY":
            methods = methods_in_body(target.answers) or methods
        dialect = it.by_kind.get(route.router.kind) or NetHttpDialect()
        handler = to_handler(target)
        fields = json_body_fields(it.project, target.answers)
        for prefix in prefixes.get(id(route.router), []):
            path = dialect.join(prefix, route.path)
            for method in methods:
                endpoint = Endpoint(method=method, path=path, handler=handler, body_fields=fields)
                out.setdefault((path, method), endpoint)
    return [out[k] for k in sorted(out)]
