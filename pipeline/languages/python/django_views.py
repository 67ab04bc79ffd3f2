"""Django views: which HTTP methods a view answers, and which function handles each.

The tables of DRF's viewsets, mixins and generic views, the model of a view class
(methods along its MRO, `@action`s, lookup attributes) and the methods of a function view
(`@api_view`, `@require_http_methods`, its `request.method` checks). The URLconf walk
(django_urls.py) asks it what each view answers, and masking (django.py) needs the same
tables to know what a class inherits; keeping them here lets both use them without
depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.python.handlers import handler_for
from pipeline.languages.python.project import PyModule
from pipeline.languages.python.syntax import arg, string_list, string_value
from pipeline.models import Handler

Node = tree_sitter.Node
#: (method, handler, the function that runs or None when the class inherits it)
ViewRoute = tuple[str, Handler, Node | None]

HTTP_NAMES = ("get", "post", "put", "patch", "delete")

#: DRF's standard viewset actions, in the order the router lists them.
STANDARD_ACTIONS = ("list", "create", "retrieve", "update", "partial_update", "destroy")

_MIXIN_ACTIONS: dict[str, tuple[str, ...]] = {
    "ListModelMixin": ("list",),
    "CreateModelMixin": ("create",),
    "RetrieveModelMixin": ("retrieve",),
    "UpdateModelMixin": ("update", "partial_update"),
    "DestroyModelMixin": ("destroy",),
}
#: library viewsets -> the actions they bring
_VIEWSET_ACTIONS: dict[str, tuple[str, ...]] = {
    **_MIXIN_ACTIONS,
    "ModelViewSet": STANDARD_ACTIONS,
    "ReadOnlyModelViewSet": ("list", "retrieve"),
}

_GET, _POST, _PUT = {"GET": "list"}, {"POST": "create"}, {"PUT": "update", "PATCH": "partial_update"}
_RETRIEVE, _DESTROY = {"GET": "retrieve"}, {"DELETE": "destroy"}
#: library class-based views -> {HTTP method: the method its handler delegates to}. For
#: DRF's generic views that is the mixin action (`get` calls `list`); for Django's generic
#: views the HTTP handler itself.
_GENERIC_VIEWS: dict[str, dict[str, str]] = {
    "ListAPIView": _GET,
    "CreateAPIView": _POST,
    "RetrieveAPIView": _RETRIEVE,
    "UpdateAPIView": _PUT,
    "DestroyAPIView": _DESTROY,
    "ListCreateAPIView": {**_GET, **_POST},
    "RetrieveUpdateAPIView": {**_RETRIEVE, **_PUT},
    "RetrieveDestroyAPIView": {**_RETRIEVE, **_DESTROY},
    "RetrieveUpdateDestroyAPIView": {**_RETRIEVE, **_PUT, **_DESTROY},
    "TemplateView": {"GET": "get"},
    "ListView": {"GET": "get"},
    "DetailView": {"GET": "get"},
    "ArchiveIndexView": {"GET": "get"},
    "YearArchiveView": {"GET": "get"},
    "MonthArchiveView": {"GET": "get"},
    "WeekArchiveView": {"GET": "get"},
    "DayArchiveView": {"GET": "get"},
    "TodayArchiveView": {"GET": "get"},
    "DateDetailView": {"GET": "get"},
    "RedirectView": {m.upper(): m for m in HTTP_NAMES},
    "FormView": {"GET": "get", "POST": "post", "PUT": "put"},
    "CreateView": {"GET": "get", "POST": "post", "PUT": "put"},
    "UpdateView": {"GET": "get", "POST": "post", "PUT": "put"},
    "DeleteView": {"GET": "get", "POST": "post", "DELETE": "delete"},
}
_REQUIRE_DECORATORS = {"require_GET": ["GET"], "require_POST": ["POST"], "require_safe": ["GET"]}
_NOT_ALLOWED = ("HttpResponseNotAllowed", "http_method_not_allowed")


def _last(node: Node | None) -> str:
    """The last dotted part of an expression's text: `viewsets.ModelViewSet` -> `ModelViewSet`."""
    return ts.text(node).split(".")[-1]


def class_handler(cls: Node, rel: str) -> Handler:
    """A view class as the handler of an action it inherits.

    The range is the class definition; the body range is the class body up to where the
    first method's body begins (its attributes, docstring, at most a method signature).
    The methods' bodies stay outside it because they are masked on their own (as handlers
    or delegates), and the mask stage skips a range that encloses one already masked.
    """
    handler = handler_for(cls, rel)
    first = next(ts.find_all(cls.child_by_field_name("body"), "function_definition"), None)
    if first is not None:
        handler.body_end_byte = first.child_by_field_name("body").start_byte
    return handler


# --------------------------------------------------------------------------- classes


@dataclass
class _Action:
    """An `@action` (or old `@list_route`/`@detail_route`) method of a viewset."""

    name: str
    detail: bool
    url_path: str
    #: HTTP method -> (module, method definition); `@x.mapping.delete` adds to it
    methods: dict[str, tuple[PyModule, Node]]


@dataclass
class _ClassInfo:
    mod: PyModule
    node: Node
    #: method name -> nearest definition in the project's part of the MRO
    methods: dict[str, tuple[PyModule, Node]] = field(default_factory=dict)
    #: simple names of the library bases, in MRO order
    library: list[str] = field(default_factory=list)
    #: class attributes with a string value (lookup_field ...), nearest first
    attrs: dict[str, str] = field(default_factory=dict)
    actions: list[_Action] = field(default_factory=list)

    @property
    def handler(self) -> Handler:
        return class_handler(self.node, self.mod.rel)

    def handler_of(self, name: str) -> Handler | None:
        found = self.methods.get(name)
        return handler_for(found[1], found[0].rel) if found is not None else None

    def viewset_actions(self) -> dict[str, tuple[Handler, Node | None]]:
        """The standard actions the viewset has: (handler, function or None when inherited)."""
        provided = {a for name in self.library for a in _VIEWSET_ACTIONS.get(name, ())}
        out: dict[str, tuple[Handler, Node | None]] = {}
        for action in STANDARD_ACTIONS:
            if action in self.methods:
                out[action] = (handler_for(self.methods[action][1], self.methods[action][0].rel), None)
            elif action in provided:
                out[action] = (self.handler, None)
        return out

    def view_routes(self) -> list[ViewRoute]:
        """(method, handler, function) of a class-based view used with `.as_view()`."""
        generic: dict[str, str] = {}
        for name in self.library:
            for method, action in _GENERIC_VIEWS.get(name, {}).items():
                generic.setdefault(method, action)
        out: list[ViewRoute] = []
        for name in HTTP_NAMES:
            method = name.upper()
            target = name if name in self.methods else generic.get(method)
            if target is None:
                continue
            if target in self.methods:
                mod, func = self.methods[target]
                out.append((method, handler_for(func, mod.rel), func))
            else:
                out.append((method, self.handler, None))
        if not out and "dispatch" in self.methods:
            mod, func = self.methods["dispatch"]
            out.append(("ANY", handler_for(func, mod.rel), func))
        return out


def _parse_action(mod: PyModule, func: Node, decorator: Node) -> _Action | None:
    if decorator.type != "call":
        return None
    kind = _last(decorator.child_by_field_name("function"))
    if kind not in ("action", "list_route", "detail_route"):
        return None
    name = ts.text(func.child_by_field_name("name"))
    detail = kind == "detail_route" or (kind == "action" and ts.text(arg(decorator, 99, "detail")) == "True")
    methods = string_list(arg(decorator, 0, "methods")) or ["get"]
    url_path = string_value(arg(decorator, 99, "url_path")) or name
    return _Action(name, detail, url_path, {m.upper(): (mod, func) for m in methods})


# --------------------------------------------------------------------------- function views


def _function_methods(func: Node) -> list[str]:
    """The methods a function view answers, from its decorators or its own checks."""
    parent = func.parent
    if parent is not None and parent.type == "decorated_definition":
        for deco in parent.children:
            if deco.type != "decorator" or not deco.named_children:
                continue
            expr = deco.named_children[0]
            name = _last(expr.child_by_field_name("function") if expr.type == "call" else expr)
            if name == "api_view":
                values = string_list(arg(expr, 0, "http_method_names")) if expr.type == "call" else None
                return sorted({v.upper() for v in values}) if values else ["GET"]
            if name == "require_http_methods" and expr.type == "call":
                values = string_list(arg(expr, 0, "request_method_list"))
                if values:
                    return sorted({v.upper() for v in values})
            if name in _REQUIRE_DECORATORS:
                return _REQUIRE_DECORATORS[name]
    return _body_methods(func)


def _body_methods(func: Node) -> list[str]:
    """Methods a plain function view checks `request.method` against; ANY when it checks none."""
    methods: set[str] = set()
    answers_405 = False
    for node in ts.walk(func):
        if node.type == "comparison_operator" and len(node.named_children) == 2:
            left, right = node.named_children
            for side, other in ((left, right), (right, left)):
                if ts.text(side).removesuffix(".upper()").endswith("request.method"):
                    value = string_value(other)
                    values = [value] if value is not None else string_list(other) or []
                    methods.update(v.upper() for v in values)
        elif node.type == "call" and _last(node.child_by_field_name("function")) in _NOT_ALLOWED:
            answers_405 = True
        elif node.type == "keyword_argument" and ts.text(node.child_by_field_name("value")) == "405":
            answers_405 = True  # JsonResponse(..., status=405)
    if not methods:
        return ["ANY"]
    if not answers_405:
        # The function falls through to a response for the other methods: at least GET.
        methods.add("GET")
    return sorted(methods)
