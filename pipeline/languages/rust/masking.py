"""Handlers and masking: the `Handler` record of a Rust function or closure, and replacing its body.

`handler_for` gives the byte ranges of a handler and its body, `is_maskable` checks that
the handler is a real node of its file, and `mask_function` swaps the body for the
expression a framework supplies; the type-text helpers (`split_generic`, `split_tuple`)
let the frameworks pick that expression from the return type. Separate from the routes
(`routes.py`), which decide which handlers are endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.rust.interpreter import Closure, FnRef
from pipeline.languages.rust.project import LANGUAGE
from pipeline.languages.text import split_top_level
from pipeline.models import Handler

Node = tree_sitter.Node


# --------------------------------------------------------------------------- handlers and masking


def handler_for(value: FnRef | Closure) -> Handler:
    """Handler of a function (the `{ ... }` block is the body) or of an inline closure."""
    node = value.node
    if isinstance(value, FnRef):
        body = node.child_by_field_name("body")
        name = value.name
        rel = value.module.rel
    else:
        body = closure_body(node)
        name = "<anonymous>"
        rel = value.frame.module.rel
    assert body is not None
    source = value.module.sf.source if isinstance(value, FnRef) else value.frame.module.sf.source
    return Handler(
        file=rel,
        name=name,
        line=source[: node.start_byte].count(b"\n") + 1,
        start_byte=node.start_byte,
        end_byte=node.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
    )


def is_maskable(value: FnRef | Closure) -> bool:
    """The handler is a real node of its file (not one re-read from macro tokens) with a body."""
    module = value.module if isinstance(value, FnRef) else value.frame.module
    node = ts.find_exact(module.sf.root, value.node.start_byte, value.node.end_byte, {value.node.type})
    body = node.child_by_field_name("body") if node is not None else None
    return body is not None


def closure_body(node: Node) -> Node | None:
    """The part of a closure that masking replaces: the block of `async { ... }`, else the body."""
    body = node.child_by_field_name("body")
    if body is not None and body.type == "async_block":
        return next((c for c in body.named_children if c.type == "block"), body)
    return body


def compact_type(node: Node | None) -> str:
    """A type's text without whitespace, e.g. `Result<Json<User>,(StatusCode,String)>`."""
    return re.sub(r"\s+", "", ts.text(node))


def split_generic(type_text: str) -> tuple[str, list[str]] | None:
    """`Result<A,B<C,D>>` -> ("Result", ["A", "B<C,D>"]); None when not generic."""
    start = type_text.find("<")
    if start < 0 or not type_text.endswith(">"):
        return None
    head, inner = type_text[:start], type_text[start + 1 : -1]
    parts = split_top_level(inner, "<([", ">)]")
    if not parts[-1]:
        parts.pop()
    return head, parts


def split_tuple(type_text: str) -> list[str] | None:
    if not (type_text.startswith("(") and type_text.endswith(")")):
        return None
    split = split_generic("T<" + type_text[1:-1] + ">")
    return split[1] if split else None


def mask_function(source: bytes, handler: Handler, body_for: Callable[[str, bool], str]) -> bytes:
    """Replace a handler's body with the expression `body_for(return_type_text, is_closure)` gives.

    The signature, attributes and `async` stay; the result must re-parse cleanly.
    """
    tree = ts.parse(source, LANGUAGE)
    node = ts.find_exact(tree.root_node, handler.start_byte, handler.end_byte, {"function_item", "closure_expression"})
    if node is None:
        raise ValueError(f"{handler.file}: no function at bytes {handler.start_byte}-{handler.end_byte}")
    body = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte)
    if body is None:
        raise ValueError(f"{handler.file}: no body at bytes {handler.body_start_byte}-{handler.body_end_byte}")
    if node.type == "function_item":
        expr: str = body_for(compact_type(node.child_by_field_name("return_type")), False)
        indent = ts.line_indent(source, node.start_byte)
        new = b"{\n" + indent + b"    " + expr.encode() + b"\n" + indent + b"}"
    else:
        expr = body_for(compact_type(node.child_by_field_name("return_type")), True)
        # A closure handler must return a future: keep an async block around a non-block body.
        new = b"{ " + expr.encode() + b" }" if body.type == "block" else b"async { " + expr.encode() + b" }"
    masked = ts.replace(source, body.start_byte, body.end_byte, new)
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")
