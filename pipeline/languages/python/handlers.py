"""A handler function once found: its Handler record, its masked body, and the JSON body it reads.

Everything here works on one function definition: the byte ranges the mask stage
replaces, the stub swapped in for its block (docstring and indentation kept), and the
request-body fields the function reads (Flask's `request.get_json()`, DRF's
`request.data`, Django's `json.loads(request.body)`, FastAPI's annotated parameters). It
is separate from project.py because it needs no import resolution, only the function's
own syntax.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.python.project import LANGUAGE
from pipeline.languages.python.syntax import call_args, literal_type, string_value, unwrap_parens
from pipeline.models import BodyField, Handler

Node = tree_sitter.Node


# --------------------------------------------------------------------------- handlers


def handler_for(func: Node, rel: str) -> Handler:
    body = func.child_by_field_name("body")
    assert body is not None
    return ts.handler_at(rel, ts.text(func.child_by_field_name("name")), func, body)


def mask_function_body(source: bytes, handler: Handler, statements: list[str]) -> bytes:
    """Replace a function's block by `statements`, keeping its docstring and indentation."""
    tree = ts.parse(source, LANGUAGE)
    block = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte, {"block"})
    if block is None or block.parent is None or block.parent.type != "function_definition":
        raise ValueError(
            f"no function body at bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file}"
        )
    prefix = b""
    first = block.named_children[0] if block.named_children else None
    if (
        first is not None
        and first.type == "expression_statement"
        and len(first.named_children) == 1
        and first.named_children[0].type in ("string", "concatenated_string")
    ):
        prefix = source[first.start_byte : first.end_byte]
    colon = next((c for c in block.parent.children if c.type == ":"), None)
    if colon is not None and colon.end_point[0] == block.start_point[0]:
        # `def f(): return x` has no indented block to put several lines in.
        new = (prefix + b"; " if prefix else b"") + "; ".join(statements).encode()
    else:
        indent = ts.line_indent(source, block.start_byte)
        joined = (b"\n" + indent).join(s.encode() for s in statements)
        new = prefix + b"\n" + indent + joined if prefix else joined
    masked = ts.replace(source, block.start_byte, block.end_byte, new)
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- JSON body


_JSON_SOURCES = ("request.get_json", "request.json", "flask.request.get_json", "flask.request.json")
_LOADS = ("json.loads", "loads")


def _is_json_source(node: Node) -> bool:
    node = unwrap_parens(node)
    if node.type == "call":
        fn = ts.text(node.child_by_field_name("function"))
        return fn.endswith("get_json") and fn.startswith(("request", "flask.request"))
    if node.type == "boolean_operator":
        left = node.child_by_field_name("left")
        return left is not None and _is_json_source(left)
    return node.type == "attribute" and ts.text(node) in _JSON_SOURCES


@dataclass
class _Field:
    name: str
    type: str = "any"
    required: bool = False
    #: read with a fallback (`data.get("x", 0)`): the handler copes without it
    has_default: bool = False


class _BodyReader:
    """Collect the fields a function reads from the parsed JSON body."""

    def __init__(self, func: Node, sources: Iterable[str] = (), raw_sources: Iterable[str] = ()) -> None:
        self.func = func
        self.sources = frozenset(sources)
        self.raw_sources = frozenset(raw_sources)
        self.aliases: set[str] = set()
        self.vars: dict[str, str] = {}
        self.fields: dict[str, _Field] = {}

    def is_body(self, node: Node) -> bool:
        node = unwrap_parens(node)
        return self.is_source(node) or (node.type == "identifier" and ts.text(node) in self.aliases)

    def is_source(self, node: Node) -> bool:
        """An expression that evaluates to the parsed JSON body."""
        node = unwrap_parens(node)
        if node.type == "boolean_operator":
            left = node.child_by_field_name("left")
            return left is not None and self.is_source(left)
        if ts.text(node) in self.sources:
            return True
        if node.type == "call" and self.raw_sources and ts.text(node.child_by_field_name("function")) in _LOADS:
            positional, _ = call_args(node)
            first = unwrap_parens(positional[0]) if positional else None
            if first is not None and first.type == "boolean_operator":
                first = first.child_by_field_name("left")
            return first is not None and ts.text(first) in self.raw_sources
        return _is_json_source(node)

    def field_of(self, node: Node) -> str | None:
        """The body field an expression stands for: data["x"], data.get("x"), or a var."""
        node = unwrap_parens(node)
        if node.type == "identifier":
            return self.vars.get(ts.text(node))
        if node.type == "subscript":
            value = node.child_by_field_name("value")
            key = node.child_by_field_name("subscript")
            if value is not None and self.is_body(value):
                return string_value(key)
        if node.type == "call":
            fn = node.child_by_field_name("function")
            if fn is not None and fn.type == "attribute" and ts.text(fn.child_by_field_name("attribute")) == "get":
                obj = fn.child_by_field_name("object")
                positional, _ = call_args(node)
                if obj is not None and self.is_body(obj) and positional:
                    return string_value(positional[0])
        return None

    def add(self, name: str, *, required: bool | None = None, type_: str | None = None) -> None:
        entry = self.fields.setdefault(name, _Field(name))
        if required:
            entry.required = True
        if type_ and type_ != "any" and entry.type == "any":
            entry.type = type_

    def run(self) -> list[BodyField]:
        # Aliases first, in source order, so `data = request.get_json()` is known before use.
        for node in ts.find_all(self.func, "assignment"):
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None or left.type != "identifier":
                continue
            if self.is_source(right):
                self.aliases.add(ts.text(left))
        for node in ts.walk(self.func):
            if node.type == "subscript" and (name := self.field_of(node)):
                self.add(name, required=name not in _guarded_keys(node))
            elif node.type == "call" and (name := self.field_of(node)):
                positional, _ = call_args(node)
                self.add(name, type_=literal_type(positional[1]) if len(positional) > 1 else None)
                if len(positional) > 1:
                    self.fields[name].has_default = True
            elif node.type == "assignment":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                if left is not None and right is not None and left.type == "identifier":
                    target = right
                    if target.type == "boolean_operator":
                        target = target.child_by_field_name("left") or target
                    if name := self.field_of(target):
                        self.vars[ts.text(left)] = name
            elif node.type == "comparison_operator":
                self._membership(node)
        for node in ts.find_all(self.func, "call"):
            if ts.text(node.child_by_field_name("function")) == "isinstance":
                positional, _ = call_args(node)
                if len(positional) == 2 and (name := self.field_of(positional[0])):
                    self.add(name, type_=_isinstance_type(positional[1]))
        for node in ts.find_all(self.func, "if_statement"):
            self._validation(node)
        return [
            BodyField(name=f.name, type=f.type, required=f.required and not f.has_default) for f in self.fields.values()
        ]

    def _membership(self, node: Node) -> None:
        children = node.children
        if len(children) != 3 and not (len(children) == 4 and ts.text(children[1]) == "not"):
            return
        left, right = children[0], children[-1]
        op = " ".join(ts.text(c) for c in children[1:-1])
        if op in ("in", "not in") and self.is_body(right) and (key := string_value(left)):
            self.add(key, required=op == "not in" and _guards_4xx(node))

    def _validation(self, node: Node) -> None:
        condition = node.child_by_field_name("condition")
        if condition is None or not _guards_4xx(node):
            return
        positive = _guarded_keys(condition)
        for sub in ts.walk(condition):
            target: Node | None = None
            if sub.type == "not_operator":
                target = sub.child_by_field_name("argument")
                if target is not None and unwrap_parens(target).type == "call":
                    call = unwrap_parens(target)
                    if ts.text(call.child_by_field_name("function")) == "isinstance":
                        positional, _ = call_args(call)
                        target = positional[0] if positional else None
            elif (
                sub.type == "comparison_operator"
                and len(sub.children) == 3
                and ts.text(sub.children[1]) == "is"
                and sub.children[-1].type == "none"
            ):
                target = sub.children[0]
            if target is not None and (name := self.field_of(target)) and name not in positive:
                self.add(name, required=True)


def _guarded_keys(node: Node) -> set[str | None]:
    """Keys checked with `"x" in data` in the conditions around `node` (or in it).

    A read under such a guard means the field is optional, only validated when present.
    """
    conditions = [node] + [
        c
        for a in ts.ancestors(node)
        if a.type in ("if_statement", "conditional_expression", "boolean_operator")
        for c in ([a.child_by_field_name("condition")] if a.type != "boolean_operator" else [a])
        if c is not None
    ]
    return {
        string_value(c.children[0])
        for cond in conditions
        for c in ts.find_all(cond, "comparison_operator")
        if len(c.children) == 3 and ts.text(c.children[1]) == "in"
    }


def _guards_4xx(node: Node) -> bool:
    """Whether the `if` around (or at) `node` answers a client error."""
    if_node = (
        node if node.type == "if_statement" else next((a for a in ts.ancestors(node) if a.type == "if_statement"), None)
    )
    if if_node is None:
        return False
    consequence = if_node.child_by_field_name("consequence")
    if consequence is None:
        return False
    for sub in ts.find_all(consequence, "integer"):
        try:
            if 400 <= int(ts.text(sub)) < 500:
                return True
        except ValueError:
            continue
    return False


def _isinstance_type(node: Node) -> str:
    node = unwrap_parens(node)
    if node.type == "tuple":
        types = [ts.text(c) for c in node.named_children]
        if "float" in types:
            return "float"
        node = node.named_children[0] if node.named_children else node
    return {"str": "str", "int": "int", "float": "float", "bool": "bool", "list": "list", "dict": "dict"}.get(
        ts.text(node), "any"
    )


def json_body_fields(func: Node, sources: Iterable[str] = (), raw_sources: Iterable[str] = ()) -> list[BodyField]:
    """Fields of the JSON body that a handler reads.

    Flask's `request.get_json()` / `request.json` always count; `sources` adds expressions
    that also hold the parsed body (DRF's `request.data`), `raw_sources` the raw bytes that
    `json.loads(...)` turns into it (Django's `request.body`).
    """
    return _BodyReader(func, sources, raw_sources).run()


_TYPE_NAMES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "list": "list",
    "List": "list",
    "set": "list",
    "Set": "list",
    "tuple": "list",
    "Tuple": "list",
    "Sequence": "list",
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "EmailStr": "str",
    "HttpUrl": "str",
    "UUID": "str",
    "datetime": "str",
    "date": "str",
    "Decimal": "float",
}


def annotation_type(node: Node | None) -> tuple[str, bool]:
    """(type, optional) of an annotation: `Optional[int]` -> ("int", True)."""
    if node is None:
        return "any", False
    if node.type == "type" and node.named_children:
        node = node.named_children[0]
    if node.type == "binary_operator":
        parts = [node.child_by_field_name("left"), node.child_by_field_name("right")]
        optional = any(p is not None and p.type == "none" for p in parts)
        for p in parts:
            if p is not None and p.type != "none":
                t, opt = annotation_type(p)
                return t, optional or opt
        return "any", optional
    if node.type == "none":
        return "any", True
    if node.type == "generic_type":
        base = ts.text(node.named_children[0]).split(".")[-1]
        params = [c for c in ts.find_all(node, "type_parameter")]
        inner = params[0].named_children if params else []
        if base == "Optional" and inner:
            return annotation_type(inner[0])[0], True
        if base == "Union" and inner:
            optional = any(ts.text(c) == "None" for c in inner)
            first = next((c for c in inner if ts.text(c) != "None"), None)
            return annotation_type(first)[0] if first is not None else "any", optional
        if base == "Annotated" and inner:
            return annotation_type(inner[0])
        return _TYPE_NAMES.get(base, "any"), False
    if node.type == "subscript":
        base = ts.text(node.child_by_field_name("value")).split(".")[-1]
        inner = node.children_by_field_name("subscript")
        if base == "Optional" and inner:
            return annotation_type(inner[0])[0], True
        return _TYPE_NAMES.get(base, "any"), False
    name = ts.text(node).split(".")[-1]
    return _TYPE_NAMES.get(name, "any"), False
