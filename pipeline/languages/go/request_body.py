"""The JSON request body a Go handler reads: the struct it decodes into, field by field.

Gin (`c.ShouldBindJSON(&in)`, `c.BindJSON`, `c.ShouldBind`, `c.Bind`), Echo (`c.Bind(&in)`)
and net/http or chi (`json.NewDecoder(r.Body).Decode(&in)`) all decode into a variable whose
type is a struct of this module. Its exported fields, by their `json` tag (or their Go
name), are the body's fields; a field is required when its tag says so (`binding:"required"`,
`validate:"required"`) or when the handler rejects the zero value (`in.Title == ""`).
Test generation sends these fields, so a create request makes something and the tests
follow it, instead of only recording a 400.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from pipeline.languages import treesitter as ts
from pipeline.languages.go.project import GoProject
from pipeline.models import BodyField

_DECODE = re.compile(r"\.(?:ShouldBindJSON|BindJSON|ShouldBind|Bind|Decode)\(\s*&(\w+)\s*\)")
_TAG = re.compile(r'(\w+):"([^"]*)"')
_SCALARS = {
    "string": "str",
    "bool": "bool",
    **{t: "int" for t in ("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64")},
    "float32": "float",
    "float64": "float",
}


def json_body_fields(project: GoProject, handler: Node) -> list[BodyField]:
    """The fields of the body `handler` (a function node) decodes, [] when none is found."""
    body = ts.text(handler)
    match = _DECODE.search(body)
    if match is None:
        return []
    var = match.group(1)
    struct = _inline_struct(handler, var)
    if struct is None and (type_name := _declared_type(body, var)):
        struct = _struct(project, type_name)
    if struct is None:
        return []
    fields = []
    for declaration in (c for c in struct.named_children if c.type == "field_declaration"):
        names = [ts.text(n) for n in declaration.children_by_field_name("name")]
        type_node = declaration.child_by_field_name("type")
        tag_node = declaration.child_by_field_name("tag")
        tags = dict(_TAG.findall(ts.text(tag_node))) if tag_node is not None else {}
        for name in names:
            if not name[:1].isupper():
                continue  # unexported: encoding/json never fills it
            json_name = tags.get("json", "").split(",")[0] or name
            if json_name == "-":
                continue
            required = any("required" in tags.get(key, "").split(",") for key in ("binding", "validate"))
            required = required or bool(re.search(rf"\b{var}\.{name}\s*==\s*(\"\"|0|nil)", body))
            fields.append(BodyField(name=json_name, type=_json_type(type_node), required=required))
    return fields


def _declared_type(body: str, var: str) -> str | None:
    """The struct type `var` is declared with in the handler: `var in T`, `in := T{}`, `in := &T{}`."""
    match = re.search(rf"\bvar\s+{var}\s+\*?([\w.]+)", body) or re.search(rf"\b{var}\s*:=\s*&?([\w.]+)\s*\{{", body)
    return match.group(1) if match else None


def _inline_struct(handler: Node, var: str) -> Node | None:
    """The field list of a struct type written where `var` is declared: `var in struct{...}`
    or `in := struct{...}{}`."""
    for spec in ts.find_all(handler, "var_spec"):
        if var in (ts.text(n) for n in spec.children_by_field_name("name")):
            typ = spec.child_by_field_name("type")
            if typ is not None and typ.type == "struct_type":
                return next((c for c in typ.named_children if c.type == "field_declaration_list"), None)
    for short in ts.find_all(handler, "short_var_declaration"):
        left, right = short.child_by_field_name("left"), short.child_by_field_name("right")
        if left is None or right is None or ts.text(left) != var:
            continue
        literal = right.named_children[0] if right.named_children else None
        if literal is None or literal.type != "composite_literal":
            continue
        typ = literal.child_by_field_name("type")
        if typ is not None and typ.type == "struct_type":
            return next((c for c in typ.named_children if c.type == "field_declaration_list"), None)
    return None


def _struct(project: GoProject, type_name: str) -> Node | None:
    """The field list of the struct type named `type_name` (`T` or `pkg.T`) in the module:
    the one named so, when exactly one package declares it."""
    name = type_name.rsplit(".", 1)[-1]
    found = [pkg.types[name][0] for pkg in project.packages.values() if name in pkg.types]
    if len(found) != 1:
        return None
    struct = found[0].child_by_field_name("type")
    if struct is None or struct.type != "struct_type":
        return None
    return next((c for c in struct.named_children if c.type == "field_declaration_list"), None)


def _json_type(node: Node | None) -> str:
    if node is None:
        return "any"
    text = ts.text(node).lstrip("*")
    if text.startswith("[]"):
        return "list"
    if text.startswith("map["):
        return "dict"
    return _SCALARS.get(text, "any")
