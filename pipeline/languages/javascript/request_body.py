"""The request-body fields a Node handler reads: `req.body.x`, `req.body["x"]`, destructuring, and their checks.

A reader over one handler function that collects the fields of the request body it uses,
with a type when a default or a check (`typeof`, `Number.isInteger`, ...) tells it, and
whether the handler copes without them. It looks at the handler's own syntax only, so it
sits apart from the interpreter; routes.py asks it for the body of every endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.languages import treesitter as ts
from pipeline.languages.javascript.syntax import (
    Node,
    arguments,
    literal_type,
    member_parts,
    param_name,
    parameters,
    string_value,
    unwrap,
)
from pipeline.models import BodyField

_PRESENCE_OPS = {"!==", "!="}


@dataclass
class _Field:
    name: str
    type: str = "any"
    has_default: bool = False
    optional: bool = False


class _BodyReader:
    def __init__(self, fn: Node, body_path: tuple[str, ...]) -> None:
        self.fn = fn
        params = parameters(fn)
        first = param_name(params[0]) if params else None
        # `req.body` is read as member "body" of the object `req`; `ctx.request.body` as
        # member "body" of `ctx.request`.
        self.req = ".".join((first, *body_path[:-1])) if first else None
        self.body_name = body_path[-1]
        self.aliases: set[str] = set()
        self.vars: dict[str, str] = {}
        self.fields: dict[str, _Field] = {}

    def is_body(self, node: Node) -> bool:
        node = unwrap(node)
        # `req.body || {}`, `req.body ?? {}`: the body, with a fallback for a request without one
        if node.type == "binary_expression" and node.child_by_field_name("operator") is not None:
            operator = ts.text(node.child_by_field_name("operator"))
            left = node.child_by_field_name("left")
            if operator in ("||", "??") and left is not None:
                return self.is_body(left)
        if node.type == "identifier":
            return ts.text(node) in self.aliases
        parts = member_parts(node)
        return parts is not None and parts[1] == self.body_name and ts.text(unwrap(parts[0])) == self.req

    def field_of(self, node: Node) -> str | None:
        node = unwrap(node)
        if node.type == "identifier":
            return self.vars.get(ts.text(node))
        parts = member_parts(node)
        if parts is not None and self.is_body(parts[0]):
            return parts[1]
        return None

    def add(self, name: str, *, type_: str | None = None, has_default: bool = False) -> _Field:
        entry = self.fields.setdefault(name, _Field(name))
        if type_ and type_ != "any" and entry.type == "any":
            entry.type = type_
        entry.has_default = entry.has_default or has_default
        return entry

    def run(self) -> list[BodyField]:
        if self.req is None:
            return []
        for node in ts.find_all(self.fn, "variable_declarator"):
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is not None and value is not None and name.type == "identifier" and self.is_body(value):
                self.aliases.add(ts.text(name))
        for node in ts.walk(self.fn):
            if node.type in ("member_expression", "subscript_expression") and (name := self.field_of(node)):
                parent = node.parent
                default = (
                    parent is not None
                    and parent.type == "binary_expression"
                    and ts.text(parent.child_by_field_name("operator")) in ("||", "??")
                    and parent.child_by_field_name("left") == node
                )
                right = parent.child_by_field_name("right") if default and parent is not None else None
                self.add(name, has_default=default, type_=literal_type(right) if right is not None else None)
            elif node.type == "variable_declarator":
                self._declarator(node)
        for node in ts.find_all(self.fn, "binary_expression", "call_expression"):
            self._checks(node)
        return [
            BodyField(name=f.name, type=f.type, required=not (f.has_default or f.optional))
            for f in self.fields.values()
        ]

    def _declarator(self, node: Node) -> None:
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        if name is None or value is None:
            return
        if name.type == "identifier":
            target = unwrap(value)
            if target.type == "binary_expression" and ts.text(target.child_by_field_name("operator")) in ("||", "??"):
                target = target.child_by_field_name("left") or target
            if field_name := self.field_of(target):
                self.vars[ts.text(name)] = field_name
            return
        if name.type != "object_pattern" or not self.is_body(value):
            return
        for prop in name.named_children:
            if prop.type == "shorthand_property_identifier_pattern":
                self.vars[ts.text(prop)] = ts.text(prop)
                self.add(ts.text(prop))
            elif prop.type == "object_assignment_pattern":
                left, right = prop.child_by_field_name("left"), prop.child_by_field_name("right")
                key = ts.text(left)
                self.vars[key] = key
                self.add(key, has_default=True, type_=literal_type(right))
            elif prop.type == "pair_pattern":
                key_node, local = prop.child_by_field_name("key"), prop.child_by_field_name("value")
                key = string_value(key_node) or ts.text(key_node)
                if local is not None and local.type == "identifier":
                    self.vars[ts.text(local)] = key
                elif local is not None and local.type == "assignment_pattern":
                    inner = local.child_by_field_name("left")
                    if inner is not None:
                        self.vars[ts.text(inner)] = key
                    self.add(key, has_default=True, type_=literal_type(local.child_by_field_name("right")))
                    continue
                self.add(key)

    def _checks(self, node: Node) -> None:
        if node.type == "call_expression":
            fn = ts.text(node.child_by_field_name("function"))
            args = arguments(node)
            kinds = {"Number.isInteger": "int", "Array.isArray": "list", "Number.isFinite": "float"}
            if fn in kinds and args and (name := self.field_of(args[0])):
                self.add(name, type_=kinds[fn])
            return
        op = ts.text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None:
            return
        if left.type == "unary_expression" and ts.text(left.child_by_field_name("operator")) == "typeof":
            name = self.field_of(left.child_by_field_name("argument") or left)
            kind = string_value(right)
            if name and kind:
                if kind == "undefined":
                    if op in _PRESENCE_OPS:
                        self.add(name).optional = True
                    return
                mapped = {"string": "str", "number": "float", "boolean": "bool", "object": "dict"}.get(kind)
                self.add(name, type_=mapped)
            return
        if op in _PRESENCE_OPS and right.type in ("undefined", "null") and (name := self.field_of(left)):
            # `if (title !== undefined)`: the handler copes without the field.
            self.add(name).optional = True
        if op == "in" and self.is_body(right) and (key := string_value(left)):
            self.add(key).optional = True


# multer's middleware: `upload.single("avatar")` takes one file, `upload.array("photos", 8)`
# several under one name, `upload.fields([{ name: "a" }, ...])` several names.
_MULTER_METHODS = {"single": "file", "array": "files"}


def upload_fields(handler: Node) -> list[BodyField]:
    """The file fields the middleware registered before a route's handler accepts (multer)."""
    arguments_node = handler.parent
    if arguments_node is None or arguments_node.type != "arguments":
        return []
    fields: list[BodyField] = []
    for argument in arguments_node.named_children:
        if argument == handler:
            break
        call = unwrap(argument)
        if call.type != "call_expression":
            continue
        callee = member_parts(call.child_by_field_name("function") or call)
        args = arguments(call)
        if callee is None or not args:
            continue
        method = callee[1]
        if method in _MULTER_METHODS and (name := string_value(args[0])):
            fields.append(BodyField(name=name, type=_MULTER_METHODS[method]))
        elif method == "fields" and args[0].type == "array":
            for spec in args[0].named_children:
                for pair in (c for c in spec.named_children if c.type == "pair"):
                    key = pair.child_by_field_name("key")
                    value = pair.child_by_field_name("value")
                    if key is not None and ts.text(key).strip("'\"") == "name" and (name := string_value(value)):
                        fields.append(BodyField(name=name, type="files"))
    return fields


def uploaded_files(fn: Node) -> list[BodyField]:
    """The files a handler reads from `req.files.<name>` (express-fileupload's shape)."""
    params = parameters(fn)
    first = param_name(params[0]) if params else None
    if first is None:
        return []
    names: dict[str, None] = {}
    for node in ts.walk(fn):
        parts = member_parts(node) if node.type in ("member_expression", "subscript_expression") else None
        if parts is None:
            continue
        inner = member_parts(unwrap(parts[0]))
        if inner is not None and inner[1] == "files" and ts.text(unwrap(inner[0])) == first:
            names[parts[1]] = None
    return [BodyField(name=name, type="file") for name in names if name not in ("length", "forEach", "map")]


def body_fields(fn: Node, body_path: tuple[str, ...] = ("body",)) -> list[BodyField]:
    """Fields of the request body a handler reads: `req.body.x`, `req.body["x"]`, destructuring.

    `body_path` is where the body hangs off the first parameter: ("body",) for Express and
    Fastify's `req.body`, ("request", "body") for Koa's `ctx.request.body`.
    """
    return _BodyReader(fn, body_path).run()
