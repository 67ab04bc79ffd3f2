"""Python syntax helpers: literal values and call arguments, read from one tree-sitter node.

Plain string values and lists of them, the type a literal stands for, a call's positional
and keyword arguments, an expression without its parentheses: the lowest layer, through
which every other module of this folder reads Python syntax. It imports nothing else from
here, so the project model, the handler helpers and the runtime hints can all build on it
without import cycles.
"""

from __future__ import annotations

import tree_sitter

from pipeline.languages import treesitter as ts

Node = tree_sitter.Node


# --------------------------------------------------------------------------- literals


def string_value(node: Node | None) -> str | None:
    """The value of a plain string literal (no f-string interpolation), else None."""
    if node is None:
        return None
    if node.type == "concatenated_string":
        parts = [string_value(c) for c in node.children if c.type == "string"]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
    if node.type != "string":
        return None
    out = []
    for child in node.children:
        if child.type == "interpolation":
            return None
        if child.type == "string_content":
            out.append(ts.text(child))
        if child.type == "escape_sequence":
            out.append(ts.text(child).encode().decode("unicode_escape", errors="replace"))
    return "".join(out)


def string_list(node: Node | None) -> list[str] | None:
    if node is None or node.type not in ("list", "tuple", "set"):
        return None
    values = [string_value(c) for c in node.named_children]
    return None if any(v is None for v in values) else [v for v in values if v is not None]


def literal_type(node: Node | None) -> str:
    if node is None:
        return "any"
    return {
        "string": "str",
        "concatenated_string": "str",
        "integer": "int",
        "float": "float",
        "true": "bool",
        "false": "bool",
        "list": "list",
        "list_comprehension": "list",
        "dictionary": "dict",
        "dictionary_comprehension": "dict",
    }.get(node.type, "any")


def call_args(call: Node) -> tuple[list[Node], dict[str, Node]]:
    """Positional and keyword arguments of a call node."""
    positional: list[Node] = []
    keywords: dict[str, Node] = {}
    args = call.child_by_field_name("arguments")
    if args is None:
        return positional, keywords
    for child in args.named_children:
        if child.type == "keyword_argument":
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            if name is not None and value is not None:
                keywords[ts.text(name)] = value
        elif child.type not in ("comment", "list_splat", "dictionary_splat"):
            positional.append(child)
    return positional, keywords


def arg(call: Node, index: int, keyword: str) -> Node | None:
    positional, keywords = call_args(call)
    if keyword in keywords:
        return keywords[keyword]
    return positional[index] if index < len(positional) else None


def unwrap_parens(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node
