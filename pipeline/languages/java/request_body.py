"""The JSON request body a Spring handler reads: the fields of its `@RequestBody` class.

Jackson binds the body to the parameter's class: its instance fields (its superclasses'
too, a record's components), by their `@JsonProperty` name when they have one, are the
body's fields. A field is required when a Bean Validation annotation says so (`@NotNull`,
`@NotBlank`, `@NotEmpty`). Test generation sends these fields, so a create request makes
something and the tests follow it, instead of recording only the error an empty object
causes (which the masked handler's error handler answers just the same).
"""

from __future__ import annotations

from tree_sitter import Node

from pipeline.languages import treesitter as ts
from pipeline.languages.java import discovery as jl
from pipeline.models import BodyField

_KINDS = {
    **dict.fromkeys(("String", "char", "Character", "CharSequence"), "str"),
    **dict.fromkeys(("int", "Integer", "long", "Long", "short", "Short", "byte", "Byte", "BigInteger"), "int"),
    **dict.fromkeys(("double", "Double", "float", "Float", "BigDecimal", "Number"), "float"),
    **dict.fromkeys(("boolean", "Boolean"), "bool"),
    **dict.fromkeys(("List", "Set", "Collection", "ArrayList", "LinkedList", "HashSet", "Iterable"), "list"),
    **dict.fromkeys(("Map", "HashMap", "LinkedHashMap", "TreeMap", "JSONObject", "JsonNode", "Object"), "dict"),
}
#: Types no sample value of the test writer parses as (a date, a UUID, an enum constant):
#: such a field is left out (usually the server sets it) rather than failing the request.
_UNSENT = {"Date", "LocalDate", "LocalDateTime", "LocalTime", "Instant", "OffsetDateTime", "ZonedDateTime", "UUID"}
_REQUIRED = {"NotNull", "NotBlank", "NotEmpty"}
#: superclasses followed at most (a DTO hierarchy is shallow; a cycle must end)
_DEPTH = 5


def json_body_fields(project: jl.JavaProject, method: Node) -> list[BodyField]:
    """The fields of the body `method` (a method_declaration) binds with @RequestBody, [] when
    it has none or its class is not one of the repository's."""
    params = method.child_by_field_name("parameters")
    for param in params.named_children if params is not None else []:
        if param.type != "formal_parameter":
            continue
        if not any(jl.annotation_name(a) == "RequestBody" for a in jl.annotations(param)):
            continue
        name = jl.type_name(param.child_by_field_name("type"))
        if name in _KINDS:
            return []  # a map, a list or a scalar: no named fields to send
        jt = project.lookup(name)
        return _fields(project, jt) if jt is not None else []
    return []


def _fields(project: jl.JavaProject, jt: jl.JavaType) -> list[BodyField]:
    out: dict[str, BodyField] = {}
    current: jl.JavaType | None = jt
    for _ in range(_DEPTH):
        if current is None:
            break
        if current.kind == "record_declaration":
            params = current.node.child_by_field_name("parameters")
            for param in params.named_children if params is not None else []:
                if param.type == "formal_parameter":
                    field = _field(project, param, param.child_by_field_name("name"))
                    if field is not None:
                        out.setdefault(field.name, field)
        for decl in current.members("field_declaration"):
            if jl.has_modifier(decl, "static") or jl.has_modifier(decl, "transient"):
                continue
            for declarator in decl.children_by_field_name("declarator"):
                field = _field(project, decl, declarator.child_by_field_name("name"))
                if field is not None:
                    out.setdefault(field.name, field)
        current = project.lookup(current.superclass) if current.superclass else None
    return list(out.values())


def _field(project: jl.JavaProject, decl: Node, name_node: Node | None) -> BodyField | None:
    """`decl` (a field or a record component) as a body field; None when Jackson ignores it."""
    name = ts.text(name_node) if name_node is not None else ""
    annotations = {jl.annotation_name(a): a for a in jl.annotations(decl)}
    if not name or "JsonIgnore" in annotations:
        return None
    renamed = annotations.get("JsonProperty")
    if renamed is not None:
        value = jl.annotation_args(renamed).get("value")
        literal = jl.string_literal_value(value) if value is not None else None
        name = literal or name
    kind = _kind(project, decl.child_by_field_name("type"))
    if kind is None:
        return None
    return BodyField(name=name, type=kind, required=bool(_REQUIRED & set(annotations)))


def _kind(project: jl.JavaProject, node: Node | None) -> str | None:
    """The body field type of a Java type; None for one no sample value fits."""
    if node is None:
        return "any"
    if node.type == "array_type":
        return "list"
    name = jl.type_name(node)
    if name in _UNSENT:
        return None
    if name in _KINDS:
        return _KINDS[name]
    found = project.lookup(name)
    if found is not None and found.kind == "enum_declaration":
        return None
    # Another class of the repository is a nested object; a library's type, unknown.
    return "dict" if found is not None else "any"
