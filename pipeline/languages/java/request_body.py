"""The JSON request body a Spring handler reads: the fields of its `@RequestBody` class, or
the keys it reads from a `@RequestBody` map (`Map<String, String>`, a JSONObject).

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
        type_node = param.child_by_field_name("type")
        name = jl.type_name(type_node)
        if _KINDS.get(name) == "dict":
            # A map (or a JSON object type): the keys the handler reads from it.
            return _keys_read(method, ts.text(param.child_by_field_name("name")), _value_kind(project, type_node))
        if name in _KINDS:
            return []  # a list or a scalar: no named fields to send
        jt = project.lookup(name)
        return _fields(project, jt) if jt is not None else []
    return []


#: What a map-like body's getter gives, by its name (None: the map's value type): Map's own,
#: fastjson's and Hutool's JSONObject, Jackson's JsonNode.
_GETTERS: dict[str, str | None] = {
    **dict.fromkeys(("get", "getOrDefault", "containsKey", "remove", "path", "has", "opt"), None),
    **dict.fromkeys(("getString", "getStr", "optString"), "str"),
    **dict.fromkeys(("getInteger", "getInt", "getIntValue", "getLong", "getLongValue", "optInt", "optLong"), "int"),
    **dict.fromkeys(("getBoolean", "getBooleanValue", "getBool", "optBoolean"), "bool"),
    **dict.fromkeys(("getDouble", "getDoubleValue", "getFloat", "getBigDecimal", "optDouble"), "float"),
    **dict.fromkeys(("getJSONObject", "getJsonObject"), "dict"),
    **dict.fromkeys(("getJSONArray", "getJsonArray"), "list"),
}


def _keys_read(method: Node, param: str, value_kind: str) -> list[BodyField]:
    """The keys `method` reads from its map-like body `param` with a literal
    (`body.get("owner")`, `json.getString("token")`), in the order it reads them."""
    out: dict[str, BodyField] = {}
    body = method.child_by_field_name("body")
    for call in ts.walk(body) if body is not None else []:
        if call.type != "method_invocation":
            continue
        target, name = call.child_by_field_name("object"), ts.text(call.child_by_field_name("name"))
        if target is None or target.type != "identifier" or ts.text(target) != param or name not in _GETTERS:
            continue
        args = call.child_by_field_name("arguments")
        first = next((a for a in args.named_children if a.type != "comment"), None) if args is not None else None
        key = jl.string_literal_value(first) if first is not None and first.type == "string_literal" else None
        if key:
            out.setdefault(key, BodyField(name=key, type=_GETTERS[name] or value_kind, required=False))
    return list(out.values())


def _value_kind(project: jl.JavaProject, type_node: Node | None) -> str:
    """The kind of a map's values from its type arguments (`Map<String, String>`: str)."""
    args = next((c for c in type_node.named_children if c.type == "type_arguments"), None) if type_node else None
    types = [c for c in args.named_children if c.type != "comment"] if args is not None else []
    if len(types) != 2 or jl.type_name(types[1]) == "Object":
        return "any"
    return _kind(project, types[1]) or "any"


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


#: parameter types the framework fills itself (the request, the session, the model, ...):
#: never a query parameter, annotated or not
_INJECTED = {
    "HttpServletRequest",
    "HttpServletResponse",
    "ServletRequest",
    "ServletResponse",
    "HttpSession",
    "Model",
    "ModelMap",
    "ModelAndView",
    "RedirectAttributes",
    "BindingResult",
    "Errors",
    "Principal",
    "Authentication",
    "Locale",
    "Pageable",
    "Sort",
    "WebRequest",
    "NativeWebRequest",
    "ServerHttpRequest",
    "ServerHttpResponse",
    "ServerWebExchange",
    "MultipartFile",
    "InputStream",
    "OutputStream",
    "Reader",
    "Writer",
}
_SCALARS = {"str", "int", "float", "bool"}
#: the annotations a parameter bound from the query as an object may carry (any other, such
#: as a project's own `@LoginUser`, is an argument resolver that fills it from elsewhere)
_BINDS_AN_OBJECT = {"ModelAttribute", "Valid", "Validated"}
#: annotations that bind a parameter from elsewhere than the query string
_OTHER_SOURCES = {
    "PathVariable",
    "RequestBody",
    "RequestHeader",
    "CookieValue",
    "RequestAttribute",
    "SessionAttribute",
    "ModelAttribute",
    "RequestPart",
    "AuthenticationPrincipal",
    "CurrentUser",
    "Value",
}


def query_fields(method: Node, project: jl.JavaProject | None = None) -> list[BodyField]:
    """The query parameters `method` (a handler's method_declaration) binds.

    `@RequestParam` ones are required unless `required = false`, a `defaultValue` or an
    `Optional<...>` type says otherwise. A parameter of a simple type without any binding
    annotation is bound from the query string too (Spring MVC's default), optionally,
    except a primitive, which fails the request without a value. So is a parameter whose
    type is one of the repository's classes (`searchEmojis(SearchEmojisRequest request)`,
    or `@ModelAttribute`): Spring sets its fields from the query parameters of their names,
    each optional; its simple fields are the parameters."""
    params = method.child_by_field_name("parameters")
    out: list[BodyField] = []
    for param in params.named_children if params is not None else []:
        if param.type != "formal_parameter":
            continue
        annotations = {jl.annotation_name(a): a for a in jl.annotations(param)}
        type_node = param.child_by_field_name("type")
        type_name = jl.type_name(type_node)
        name = ts.text(param.child_by_field_name("name"))
        if type_name in _INJECTED or "MultipartFile" in ts.text(type_node) or not name:
            continue
        optional_type = type_name == "Optional"
        kind = _KINDS.get(_inner_type(type_node) if optional_type else type_name)
        primitive = type_node is not None and type_node.type in ("integral_type", "floating_point_type", "boolean_type")
        request_param = annotations.get("RequestParam")
        if request_param is not None:
            if kind == "dict":
                continue  # @RequestParam Map<...>: every parameter, none named
            args = jl.annotation_args(request_param)
            literals = [jl.string_literal_value(args[key]) for key in ("value", "name") if key in args]
            named = next((v for v in literals if v), None)
            required_arg = args.get("required")
            optional = (
                optional_type
                or "defaultValue" in args
                or (required_arg is not None and ts.text(required_arg).strip() == "false")
            )
            out.append(BodyField(name=named or name, type=kind or "any", required=not optional))
        elif not annotations.keys() & _OTHER_SOURCES and kind in _SCALARS:
            out.append(BodyField(name=name, type=kind, required=primitive))
        elif project is not None and kind is None and annotations.keys() <= _BINDS_AN_OBJECT:
            out.extend(_bound_object_fields(project, type_name))
    return out


def _bound_object_fields(project: jl.JavaProject, type_name: str) -> list[BodyField]:
    """The simple fields of a repository class Spring binds from the query string."""
    found = project.lookup(type_name)
    if found is None or found.kind not in ("class_declaration", "record_declaration"):
        return []
    return [f.model_copy(update={"required": False}) for f in _fields(project, found) if f.type in _SCALARS]


def _inner_type(node: Node | None) -> str:
    """`Optional<Integer>` -> `Integer`."""
    if node is None:
        return ""
    for child in ts.find_all(node, "type_arguments"):
        named = child.named_children
        return jl.type_name(named[0]) if named else ""
    return ""
