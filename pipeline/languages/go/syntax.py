"""Go syntax helpers: what one tree-sitter node or file says, with no notion of a module.

The lowest layer of Go discovery: string literals, call arguments, statements, parameters,
receivers, imports and `x.` qualifiers, var/const specs, and the node-type sets and HTTP
method names the layers above share. The project model, the interpreter, route reading,
runtime hints and masking all read Go source through these pure functions, so they sit
apart from all of them and import none.
"""

from __future__ import annotations

import re
from functools import cache

import tree_sitter

from pipeline.languages import treesitter as ts

Node = tree_sitter.Node
LANGUAGE = "go"
NET_HTTP = "net/http"
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE")
#: Router methods named after the HTTP method they register (`r.Get`, chi and Goji).
METHOD_NAMED_VERBS = {m.capitalize(): m for m in HTTP_METHODS}
FUNCTION_TYPES = frozenset({"function_declaration", "method_declaration", "func_literal"})
DECLARATION_TYPES = frozenset({"function_declaration", "method_declaration"})
_METHOD_CONSTANTS = {f"Method{m.capitalize()}": m for m in HTTP_METHODS}


def string_value(node: Node | None) -> str | None:
    """The value of a Go string literal, or None when the node is not one."""
    if node is None:
        return None
    raw = ts.text(node)
    if node.type == "raw_string_literal":
        return raw[1:-1]
    if node.type == "interpreted_string_literal":
        body = raw[1:-1]
        if "\\" not in body:
            return body
        try:
            return body.encode("latin-1", errors="backslashreplace").decode("unicode_escape")
        except UnicodeDecodeError:
            return body
    return None


def arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [a for a in args.named_children if a.type != "comment"] if args is not None else []


def statements(block: Node | None) -> list[Node]:
    """The statements of a block (the grammar wraps them in a statement_list)."""
    if block is None:
        return []
    out = []
    for child in block.named_children:
        if child.type == "statement_list":
            out.extend(c for c in child.named_children if c.type != "comment")
        elif child.type != "comment":
            out.append(child)
    return out


def parameters(fn: Node, fieldname: str = "parameters") -> list[tuple[str | None, Node | None]]:
    """(name, type) of every parameter, one entry per declared name; name None when unnamed."""
    plist = fn.child_by_field_name(fieldname)
    out: list[tuple[str | None, Node | None]] = []
    if plist is None or plist.type != "parameter_list":
        return out
    for decl in plist.named_children:
        if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        typ = decl.child_by_field_name("type")
        names = decl.children_by_field_name("name")
        if not names:
            out.append((None, typ))
        out.extend((ts.text(n), typ) for n in names)
    return out


def function_name(fn: Node) -> str:
    return ts.text(fn.child_by_field_name("name")) if fn.type in DECLARATION_TYPES else "<anonymous>"


def receiver_type(method: Node) -> str | None:
    """`Handler` for `func (h *Handler) m()` (generic receivers `*Box[T]` give `Box`)."""
    params = parameters(method, "receiver")
    if not params or params[0][1] is None:
        return None
    typ = params[0][1]
    while typ is not None and typ.type in ("pointer_type", "generic_type", "parenthesized_type"):
        typ = typ.child_by_field_name("type") or (typ.named_children[0] if typ.named_children else None)
    return ts.text(typ) if typ is not None and typ.type == "type_identifier" else None


@cache
def guess_package_name(import_path: str) -> str:
    """The package name an import path most likely declares (`.../echo/v4` -> echo)."""
    parts = [p for p in import_path.split("/") if p]
    if not parts:
        return import_path
    last = parts[-1]
    if re.fullmatch(r"v\d+", last) and len(parts) > 1:
        last = parts[-2]
    last = re.sub(r"\.v\d+$", "", last)
    last = last.removeprefix("go-").removesuffix("-go").removesuffix(".go")
    return re.sub(r"[^A-Za-z0-9_]", "", last) or last


def imports_of(root: Node) -> list[tuple[Node, str | None, str]]:
    """(import_spec, explicit name or None, import path) of every import of a file."""
    out = []
    for decl in root.named_children:
        if decl.type in ("package_clause", "comment"):
            continue
        if decl.type != "import_declaration":
            break  # imports come right after the package clause
        for child in decl.named_children:
            specs = child.named_children if child.type == "import_spec_list" else [child]
            for spec in specs:
                if spec.type != "import_spec":
                    continue
                name = spec.child_by_field_name("name")
                path = string_value(spec.child_by_field_name("path"))
                if path is not None:
                    out.append((spec, ts.text(name) if name is not None else None, path))
    return out


def qualifiers(root: Node) -> set[str]:
    """Identifiers used as `x.` qualifiers: package names (and, harmlessly, variables)."""
    out = set()
    for node in ts.walk(root):
        if node.type == "selector_expression":
            operand = node.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier":
                out.add(ts.text(operand))
        elif node.type == "qualified_type":
            out.add(ts.text(node.child_by_field_name("package")))
    return out


def _declared_names(root: Node) -> set[str]:
    """Identifiers a file declares (parameters, variables, constants, functions)."""
    out = set()
    for node in ts.walk(root):
        if node.type in ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec"):
            out.update(ts.text(n) for n in node.children_by_field_name("name"))
        elif node.type in ("short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            if left is not None:
                out.update(ts.text(n) for n in left.named_children if n.type == "identifier")
        elif node.type == "function_declaration":
            out.add(ts.text(node.child_by_field_name("name")))
    return out


def specs_of(decl: Node) -> list[Node]:
    """The var_spec/const_spec of a declaration, grouped or not (never those of nested code)."""
    out = []
    for child in decl.named_children:
        if child.type in ("var_spec", "const_spec"):
            out.append(child)
        elif child.type in ("var_spec_list", "const_spec_list"):
            out.extend(c for c in child.named_children if c.type in ("var_spec", "const_spec"))
    return out


def _inside(node: Node, outer: Node) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def returned_literal(fn: Node) -> tuple[Node, Node] | None:
    """(return statement, func literal) when `fn` returns a closure built in its own body."""
    body = fn.child_by_field_name("body")
    if body is None:
        return None
    for node in ts.walk(body):
        if node.type != "func_literal":
            continue
        ret = None
        for anc in ts.ancestors(node):
            if anc.type == "return_statement" and ret is None:
                ret = anc
            if anc.type in FUNCTION_TYPES or anc == body:
                break
        if ret is not None and anc == body:
            return ret, node
    return None
