"""Reading JavaScript/TypeScript syntax nodes on their own: literals, calls, members, function shapes.

Helpers that look at one tree-sitter node (and its children or parents) and need nothing
else: the value of a string literal, the arguments of a call, `a.b` / `a["b"]`, `require("x")`,
the parameters and the name of a function, the method of a class, the Handler record of a
function. They are kept apart from the interpreter (interpreter.py) because the interpreter,
the request-body reader, masking and the frameworks all build on them, and none of these
helpers needs to follow a name to another file.
"""

from __future__ import annotations

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.models import Handler

FUNCTION_TYPES = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function",
        "function_declaration",
        "generator_function",
        "generator_function_declaration",
        "method_definition",
    }
)


Node = tree_sitter.Node


# --------------------------------------------------------------------------- literals


def string_value(node: Node | None) -> str | None:
    """The value of a string literal or a template literal without substitutions."""
    if node is None:
        return None
    if node.type not in ("string", "template_string"):
        return None
    out = []
    for child in node.children:
        if child.type == "template_substitution":
            return None
        if child.type == "string_fragment":
            out.append(ts.text(child))
        elif child.type == "escape_sequence":
            out.append(ts.text(child).encode().decode("unicode_escape", errors="replace"))
    return "".join(out)


def literal_type(node: Node | None) -> str:
    if node is None:
        return "any"
    if node.type == "number":
        return "float" if "." in ts.text(node) else "int"
    return {
        "string": "str",
        "template_string": "str",
        "true": "bool",
        "false": "bool",
        "array": "list",
        "object": "dict",
    }.get(node.type, "any")


def arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [c for c in args.named_children if c.type != "comment"] if args is not None else []


_TYPE_WRAPPERS = ("as_expression", "satisfies_expression", "non_null_expression")


def unwrap(node: Node) -> Node:
    """The expression inside parentheses, `await` and TypeScript's `x as T`, `x!`, `<T>x`."""
    while node.named_children:
        if node.type in ("parenthesized_expression", "await_expression", "type_assertion"):
            node = node.named_children[-1]
        elif node.type in _TYPE_WRAPPERS:
            node = node.named_children[0]
        else:
            break
    return node


def member_parts(node: Node) -> tuple[Node, str] | None:
    """(object, property name) of `a.b` or `a["b"]`."""
    if node.type == "member_expression":
        obj = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        if obj is not None and prop is not None:
            return obj, ts.text(prop)
    if node.type == "subscript_expression":
        obj = node.child_by_field_name("object")
        key = string_value(node.child_by_field_name("index"))
        if obj is not None and key is not None:
            return obj, key
    return None


def is_require(node: Node) -> str | None:
    """The specifier of `require("x")`, else None."""
    node = unwrap(node)
    if node.type != "call_expression" or ts.text(node.child_by_field_name("function")) != "require":
        return None
    args = arguments(node)
    return string_value(args[0]) if len(args) == 1 else None


# --------------------------------------------------------------------------- functions


def class_member(cls: Node, name: str) -> Node | None:
    """The method, or the function assigned to the field, `name` of a class."""
    body = cls.child_by_field_name("body")
    for member in body.named_children if body is not None else []:
        if member.type == "method_definition" and ts.text(member.child_by_field_name("name")) == name:
            return member
        if member.type in ("public_field_definition", "field_definition"):
            key = member.child_by_field_name("name") or member.child_by_field_name("property")
            value = member.child_by_field_name("value")
            if ts.text(key) == name and value is not None:
                return value
    return None


def function_name(fn: Node) -> str:
    name = fn.child_by_field_name("name")
    if name is not None and fn.type != "arrow_function":
        return ts.text(name)
    parent = fn.parent
    if parent is None:
        return "<anonymous>"
    if parent.type == "variable_declarator":
        return ts.text(parent.child_by_field_name("name"))
    if parent.type == "pair":
        key = parent.child_by_field_name("key")
        return string_value(key) or ts.text(key)
    if parent.type in ("public_field_definition", "field_definition"):
        return ts.text(parent.child_by_field_name("name") or parent.child_by_field_name("property"))
    if parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "member_expression":
            return ts.text(left.child_by_field_name("property"))
        if left is not None and left.type == "identifier":
            return ts.text(left)
    return "<anonymous>"


def _definition_node(fn: Node) -> Node:
    """The whole statement that defines a named handler, or the function itself."""
    parent = fn.parent
    if parent is not None and parent.type == "variable_declarator":
        decl = parent.parent
        if decl is not None and len(decl.named_children) == 1:
            outer = decl.parent
            return outer if outer is not None and outer.type == "export_statement" else decl
        return parent
    if parent is not None and parent.type == "assignment_expression":
        stmt = parent.parent
        return stmt if stmt is not None and stmt.type == "expression_statement" else parent
    if parent is not None and parent.type in ("export_statement", "public_field_definition", "field_definition"):
        return parent
    return fn


def handler_for(fn: Node, rel: str) -> Handler:
    body = fn.child_by_field_name("body")
    assert body is not None
    definition = _definition_node(fn)
    return ts.handler_at(rel, function_name(fn), definition, body)


def _is_this_param(node: Node) -> bool:
    # TypeScript's `function (this: FastifyInstance, req, reply)`: a type, not a parameter.
    pattern = node.child_by_field_name("pattern") if node.type == "required_parameter" else None
    return pattern is not None and pattern.type == "this"


def parameters(fn: Node) -> list[Node]:
    single = fn.child_by_field_name("parameter")
    if single is not None:
        return [single]
    params = fn.child_by_field_name("parameters")
    if params is None:
        return []
    return [p for p in params.named_children if p.type != "comment" and not _is_this_param(p)]


def param_name(node: Node) -> str | None:
    if node.type in ("required_parameter", "optional_parameter"):
        # TypeScript: `res: Response`, `res?: Response`, `res = x`
        pattern = node.child_by_field_name("pattern")
        if pattern is None or pattern.type == "this":
            return None
        return ts.text(pattern) if pattern.type == "identifier" else None
    if node.type == "identifier":
        return ts.text(node)
    if node.type == "assignment_pattern":
        left = node.child_by_field_name("left")
        return ts.text(left) if left is not None and left.type == "identifier" else None
    return None
