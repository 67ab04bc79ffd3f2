"""Routes to endpoints: the methods a route serves and the JSON body fields of its handler.

The frameworks collect (method, path, handler) routes; `route_endpoints` turns them into
`Endpoint`s: an any-method route serves the methods its handler matches on
(`methods_in_body`), and a `Json<T>` parameter whose T is a struct of the project gives
the body fields serde reads (renames, defaults and `Option` included). Separate from the
masking of handler bodies (`masking.py`), which it builds on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.rust.interpreter import Closure, FnRef
from pipeline.languages.rust.masking import closure_body, handler_for, is_maskable
from pipeline.languages.rust.project import (
    RustModule,
    RustProject,
    TypeT,
    path_segments,
    preceding_attributes,
    string_value,
    type_name,
)
from pipeline.models import BodyField, Endpoint

log = logging.getLogger(__name__)

Node = tree_sitter.Node
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")


def methods_in_body(value: FnRef | Closure) -> list[str]:
    """Methods an any-method handler picks itself: `match *req.method() { Method::GET => ... }`.

    Only when the body reads the request method (`.method()`, or a `Method` parameter) and
    names methods; an arm that rejects (`MethodNotAllowed`, `METHOD_NOT_ALLOWED`) does not count.
    """
    node = value.node
    body = closure_body(node) if isinstance(value, Closure) else node.child_by_field_name("body")
    params = ts.text(node.child_by_field_name("parameters"))
    text = ts.text(body)
    if body is None or not (".method()" in text or re.search(r":\s*(?:\w+::)*Method\b", params)):
        return []
    found: set[str] = set()
    for match in re.finditer(r"Method::([A-Z]+)\s*(=>|\)|\|)?", text):
        rest = text[match.end() : match.end() + 80]
        if match.group(2) == "=>" and re.match(r"\s*\{?\s*[\w:]*(?:MethodNotAllowed|METHOD_NOT_ALLOWED)", rest):
            continue
        if match.group(1) in HTTP_METHODS:
            found.add(match.group(1))
    return sorted(found)


# --------------------------------------------------------------------------- request bodies

_INT_TYPES = {f"{p}{n}" for p in "iu" for n in ("8", "16", "32", "64", "128", "size")}
_SCALAR_TYPES = {"String": "str", "str": "str", "Uuid": "str", "char": "str", "bool": "bool", "f32": "float"}
_SCALAR_TYPES |= {"f64": "float", "Decimal": "float", "NaiveDate": "str", "NaiveDateTime": "str", "DateTime": "str"}
_LIST_TYPES = {"Vec", "HashSet", "BTreeSet", "VecDeque"}
_MAP_TYPES = {"HashMap", "BTreeMap", "Map", "IndexMap"}


def _rename(name: str, rule: str | None) -> str:
    """serde's `rename_all` applied to a snake_case field name."""
    words = name.split("_")
    if rule == "camelCase":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if rule == "PascalCase":
        return "".join(w.capitalize() for w in words)
    if rule == "kebab-case":
        return "-".join(words)
    if rule in ("SCREAMING_SNAKE_CASE", "UPPERCASE"):
        return name.upper()
    if rule == "SCREAMING-KEBAB-CASE":
        return "-".join(words).upper()
    if rule == "lowercase":
        return name.lower()
    return name


def _serde_options(attrs: list[Node]) -> dict[str, str | bool]:
    """`#[serde(default, rename = "x", rename_all = "camelCase", skip)]` as a dict."""
    out: dict[str, str | bool] = {}
    for attr in attrs:
        if not attr.named_children or ts.text(attr.named_children[0]) != "serde":
            continue
        tokens = attr.child_by_field_name("arguments")
        # All children: `default` is a keyword token, not a named identifier, in a token tree.
        items = tokens.children if tokens is not None else []
        for index, item in enumerate(items):
            word = ts.text(item)
            if not word.isidentifier():
                continue
            after = items[index + 1 : index + 3]
            value = string_value(after[1]) if len(after) == 2 and ts.text(after[0]) == "=" else None
            out[word] = value if value is not None else True
    return out


def _field_type(project: RustProject, module: RustModule, node: Node | None) -> tuple[str, bool]:
    """(JSON type, optional) of a Rust field type."""
    if node is None:
        return "any", False
    name = type_name(node) or ""
    if node.type == "reference_type":
        return _field_type(project, module, node.child_by_field_name("type"))
    if node.type == "primitive_type" or name in _SCALAR_TYPES or name in _INT_TYPES:
        text = ts.text(node)
        return ("int" if text in _INT_TYPES else _SCALAR_TYPES.get(text) or _SCALAR_TYPES.get(name, "any")), False
    if node.type in ("array_type",) or name in _LIST_TYPES:
        return "list", False
    if name in _MAP_TYPES:
        return "dict", False
    if name == "Option":
        args = node.child_by_field_name("type_arguments")
        inner = args.named_children[0] if args is not None and args.named_children else None
        return _field_type(project, module, inner)[0], True
    if name == "Box" or name == "Arc":
        args = node.child_by_field_name("type_arguments")
        return _field_type(project, module, args.named_children[0] if args is not None else None)
    segs = path_segments(node)
    target = project.resolve(module, segs) if segs else None
    if isinstance(target, TypeT) and target.module is not None and target.name in target.module.structs:
        return "dict", False
    return "any", False


def struct_fields(project: RustProject, module: RustModule, type_node: Node) -> list[BodyField] | None:
    """The JSON fields serde reads into the struct `type_node` names, or None when it is not one."""
    segs = path_segments(type_node)
    target = project.resolve(module, segs) if segs else None
    if not isinstance(target, TypeT) or target.module is None or target.name not in target.module.structs:
        return None
    struct = target.module.structs[target.name]
    container = _serde_options(preceding_attributes(struct))
    body = struct.child_by_field_name("body")
    if body is None or body.type != "field_declaration_list":
        return None
    out: list[BodyField] = []
    for decl in body.named_children:
        if decl.type != "field_declaration":
            continue
        options = _serde_options(preceding_attributes(decl))
        if options.get("skip") or options.get("skip_deserializing") or options.get("flatten"):
            continue
        name = ts.text(decl.child_by_field_name("name"))
        kind, optional = _field_type(project, target.module, decl.child_by_field_name("type"))
        rename = options.get("rename")
        rule = container.get("rename_all")
        json_name = rename if isinstance(rename, str) else _rename(name, rule if isinstance(rule, str) else None)
        required = not (optional or "default" in options or "default" in container)
        out.append(BodyField(name=json_name, type=kind, required=required))
    return out


def json_body_fields(project: RustProject, fn: FnRef | Closure, wrappers: tuple[str, ...]) -> list[BodyField]:
    """Fields of the handler's `Json<T>` (or `web::Json<T>`) parameter, when T is a struct of the project."""
    if not isinstance(fn, FnRef):
        return []
    params = fn.node.child_by_field_name("parameters")
    for param in params.named_children if params is not None else []:
        type_node = param.child_by_field_name("type") if param.type == "parameter" else None
        if type_node is None or type_node.type != "generic_type" or type_name(type_node) not in wrappers:
            continue
        args = type_node.child_by_field_name("type_arguments")
        inner = args.named_children[0] if args is not None and args.named_children else None
        fields = struct_fields(project, fn.module, inner) if inner is not None else None
        return fields or []
    return []


def route_endpoints(project: RustProject, routes: Iterable[tuple[str, str, FnRef | Closure]]) -> list[Endpoint]:
    """Endpoints of (method, path, handler) routes in registration order: the first one wins.

    "ANY" stands for a route that takes every method; when its handler matches on the
    request method itself, those methods are what it serves.
    """
    endpoints: dict[tuple[str, str], Endpoint] = {}
    for method, path, handler in routes:
        if not is_maskable(handler):
            log.warning("%s %s: handler is not a function body of the file; skipped", method, path)
            continue
        for served in (methods_in_body(handler) if method == "ANY" else []) or [method]:
            if (path, served) not in endpoints:
                endpoints[(path, served)] = Endpoint(
                    method=served,
                    path=path,
                    handler=handler_for(handler),
                    body_fields=json_body_fields(project, handler, ("Json",)),
                )
    return [endpoints[k] for k in sorted(endpoints)]
