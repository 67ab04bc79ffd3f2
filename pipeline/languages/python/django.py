"""Django and Django REST framework: URLconfs, views, viewsets and routers, and masking.

How the service is found: a `manage.py` (or `wsgi.py`/`asgi.py`) that sets
DJANGO_SETTINGS_MODULE, or a `settings.py` with ROOT_URLCONF in a folder whose manifest
declares Django. The settings module named there (following `from .base import *`) gives
ROOT_URLCONF; its `urlpatterns` are walked from the top, through `include()` of module
strings, imported modules, pattern lists and `(patterns, app_name)` tuples.

Choices, kept the same in every ground truth:

- Paths are Django's own concatenation of the route strings with a leading "/" and the
  trailing slash kept: "/api/books/<int:pk>/". `re_path()`/`url()` regexes keep their text
  minus the "^"/"$" anchors, and an optional final slash "/?" written "/":
  "/api/search/(?P<term>[\\w-]+)/". A computed include() prefix (settings.BASE_PATH) counts as "".
- DRF routers expand to the routes of SimpleRouter: "<prefix>/" (list, create), the
  `@action(detail=False)` routes, "<prefix>/<lookup>/" (retrieve, update, partial_update,
  destroy) and the `@action(detail=True)` routes, each only for the actions the viewset
  has. The lookup is written `<name>` with the viewset's `lookup_url_kwarg`/`lookup_field`
  (default `pk`), whatever its regex. DefaultRouter's API-root view and the format-suffix
  duplicates (`.json`) are NOT reported: they are library code, not the repository's.
  drf-nested-routers' Nested*Router adds "<parent>/<lookup_parent-lookup>/" in front.
- Library views (admin.site.urls, `include("django.contrib.auth.urls")`, a bare
  `TemplateView.as_view(...)`) are not reported: there is no handler in the repository.
- Methods: `@api_view([...])`, `@require_http_methods([...])`, `@require_GET/POST/safe`;
  otherwise the methods a plain function compares `request.method` with (plus GET when the
  function falls through to a response without answering 405); otherwise ANY. Class-based
  views answer the handler methods they define or inherit (get/post/put/patch/delete).
- Handler: the method that runs (a view's `get`, a viewset's `destroy`, an `@action`); when
  the action is inherited from a library class (ModelViewSet's `list`, ListCreateAPIView's
  `post`) the handler is the view class itself (range = class definition, body = the class
  body up to the first method's body, so that it never encloses another masked body).
  Masking such a class inserts overrides at the top of its body that answer 501 for the
  inherited actions, keeping every attribute (queryset, serializer_class ...) and every
  method the class defines (its own handlers are masked as handlers of their own).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate
from pipeline.languages.python import discovery as py
from pipeline.models import BodyField, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
ObjKey = tuple[str, str]
#: (method, handler, the function that runs or None when the class inherits it)
ViewRoute = tuple[str, Handler, Node | None]

DEFAULT_PORT = 8000
HTTP_NAMES = ("get", "post", "put", "patch", "delete")
_ENTRY_FILES = ("manage.py", "wsgi.py", "asgi.py", "settings.py")
_SETTINGS_RE = re.compile(rb"""DJANGO_SETTINGS_MODULE['"]\s*\]?\s*[,=]\s*['"]([\w.]+)['"]""")
_PORT_RE = re.compile(r"(?:runserver\s+(?:[\w.]+:)?|--bind[\s=]+[\w.]*:|-b\s+[\w.]*:)(\d{2,5})\b")

#: DRF's standard viewset actions, in the order the router lists them.
STANDARD_ACTIONS = ("list", "create", "retrieve", "update", "partial_update", "destroy")
_LIST_ROUTE = {"GET": "list", "POST": "create"}
_DETAIL_ROUTE = {"GET": "retrieve", "PUT": "update", "PATCH": "partial_update", "DELETE": "destroy"}

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
_BODY_SOURCES = ("request.data", "self.request.data")
_RAW_BODY = ("request.body", "self.request.body")
_NOT_IMPLEMENTED = [
    "import django.http",
    'return django.http.JsonResponse({"detail": "Not implemented"}, status=501)',
]
_ENV_SPECIAL = {
    "DATABASE_URL": "sqlite:///db.sqlite3",
    "CACHE_URL": "locmem://",
    "EMAIL_URL": "consolemail://",
    "REDIS_URL": "redis://localhost:6379/0",
    "CELERY_BROKER_URL": "memory://",
}


def _last(node: Node | None) -> str:
    """The last dotted part of an expression's text: `viewsets.ModelViewSet` -> `ModelViewSet`."""
    return ts.text(node).split(".")[-1]


def _strip_anchors(regex: str) -> str:
    """A regex route piece as it reads in a path: no anchors, an optional final slash served with it."""
    piece = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    return piece[:-1] if piece.endswith("/?") else piece


def _module_statements(node: Node) -> Iterator[Node]:
    """Expression statements at module level, also inside if/try/with blocks, in order."""
    for child in node.named_children:
        if child.type == "expression_statement":
            yield child
        elif child.type in (
            "if_statement",
            "elif_clause",
            "else_clause",
            "try_statement",
            "except_clause",
            "finally_clause",
            "with_statement",
            "block",
        ):
            yield from _module_statements(child)


def class_handler(cls: Node, rel: str) -> Handler:
    """A view class as the handler of an action it inherits.

    The range is the class definition; the body range is the class body up to where the
    first method's body begins (its attributes, docstring, at most a method signature).
    The methods' bodies stay outside it because they are masked on their own (as handlers
    or delegates), and the mask stage skips a range that encloses one already masked.
    """
    handler = py.handler_for(cls, rel)
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
    methods: dict[str, tuple[py.PyModule, Node]]


@dataclass
class _ClassInfo:
    mod: py.PyModule
    node: Node
    #: method name -> nearest definition in the project's part of the MRO
    methods: dict[str, tuple[py.PyModule, Node]] = field(default_factory=dict)
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
        return py.handler_for(found[1], found[0].rel) if found is not None else None

    def viewset_actions(self) -> dict[str, tuple[Handler, Node | None]]:
        """The standard actions the viewset has: (handler, function or None when inherited)."""
        provided = {a for name in self.library for a in _VIEWSET_ACTIONS.get(name, ())}
        out: dict[str, tuple[Handler, Node | None]] = {}
        for action in STANDARD_ACTIONS:
            if action in self.methods:
                out[action] = (py.handler_for(self.methods[action][1], self.methods[action][0].rel), None)
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
                out.append((method, py.handler_for(func, mod.rel), func))
            else:
                out.append((method, self.handler, None))
        if not out and "dispatch" in self.methods:
            mod, func = self.methods["dispatch"]
            out.append(("ANY", py.handler_for(func, mod.rel), func))
        return out


def _parse_action(mod: py.PyModule, func: Node, decorator: Node) -> _Action | None:
    if decorator.type != "call":
        return None
    kind = _last(decorator.child_by_field_name("function"))
    if kind not in ("action", "list_route", "detail_route"):
        return None
    name = ts.text(func.child_by_field_name("name"))
    detail = kind == "detail_route" or (kind == "action" and ts.text(py.arg(decorator, 99, "detail")) == "True")
    methods = py.string_list(py.arg(decorator, 0, "methods")) or ["get"]
    url_path = py.string_value(py.arg(decorator, 99, "url_path")) or name
    return _Action(name, detail, url_path, {m.upper(): (mod, func) for m in methods})


# --------------------------------------------------------------------------- routers


@dataclass
class _Router:
    #: "/" or ""; None when not given (a nested router then takes its parent's)
    trailing: str | None = None
    registrations: list[tuple[str, py.PyModule, Node]] = field(default_factory=list)
    #: routers whose registry was merged in with `router.registry.extend(other.registry)`
    extends: list[ObjKey] = field(default_factory=list)
    #: drf-nested-routers: (parent router, parent prefix, lookup)
    parent: tuple[ObjKey, str, str] | None = None


@dataclass
class _Item:
    """One entry of a urlpatterns list: a path()/re_path() call, or all of a router's urls."""

    mod: py.PyModule
    call: Node | None = None
    router: ObjKey | None = None


@dataclass
class _Route:
    method: str
    path: str
    handler: Handler
    func: Node | None


class _UrlWalker:
    """Everything one discovery needs: the project, its routers, cached class and list values."""

    def __init__(self, project: py.PyProject, search_roots: list[Path]) -> None:
        self.project = project
        self.search_roots = search_roots
        self.routers: dict[ObjKey, _Router] = {}
        self._classes: dict[tuple[str, int], _ClassInfo] = {}
        self._vars: dict[ObjKey, list[_Item]] = {}
        self._in_progress: set[ObjKey] = set()
        self._find_routers()

    # ---- modules

    def module_by_dotted(self, dotted: str) -> py.PyModule | None:
        parts = [p for p in dotted.split(".") if p]
        for root in self.search_roots:
            found = self.project.module_at(root.joinpath(*parts)) if parts else None
            if found is not None:
                return found
        return None

    # ---- routers

    def _router_call(self, mod: py.PyModule, value: Node) -> Node | None:
        """The router constructor call of `value` (`DefaultRouter() if DEBUG else SimpleRouter()` too)."""
        value = py.unwrap_parens(value)
        if value.type == "conditional_expression":
            return next((c for c in value.named_children if self._router_call(mod, c) is not None), None)
        if value.type != "call":
            return None
        fn = value.child_by_field_name("function")
        if not _last(fn).endswith("Router"):
            return None  # cheap test first: resolving every call of a large project is not
        ref = self.project.resolve_expr(mod, fn)
        if isinstance(ref, py.ExternalRef):
            return value if (ref.name or "").endswith("Router") else None
        found = self.project.class_def(ref)
        if found is not None:
            bases = found[1].child_by_field_name("superclasses")
            if bases is not None and any(_last(b).endswith("Router") for b in bases.named_children):
                return value
        return None

    def _find_routers(self) -> None:
        for rel in sorted(self.project.modules):
            mod = self.project.modules[rel]
            for var, value in mod.assignments:
                call = self._router_call(mod, value)
                if call is None or (rel, var) in self.routers:
                    continue
                router = _Router()
                trailing = py.arg(call, 99, "trailing_slash")
                if trailing is not None:
                    text = py.string_value(trailing)
                    # "/?" (optional slash) is served with the slash too; False means none.
                    router.trailing = "" if ts.text(trailing) == "False" or text == "" else "/"
                if _last(call.child_by_field_name("function")).startswith("Nested"):
                    parent = self._router_key(mod, py.arg(call, 0, "parent_router"))
                    parent_prefix = py.string_value(py.arg(call, 1, "parent_prefix"))
                    lookup = py.string_value(py.arg(call, 99, "lookup")) or "nested_1"
                    if parent is not None and parent_prefix is not None:
                        router.parent = (parent, parent_prefix, lookup)
                self.routers[(rel, var)] = router
        for mod, call, attr, receiver in self._method_calls((b".register(", b".registry")):
            if attr == "register":
                key = self._router_key(mod, receiver)
                prefix = py.string_value(py.arg(call, 0, "prefix"))
                viewset = py.arg(call, 1, "viewset")
                if key is not None and prefix is not None and viewset is not None:
                    self.routers[key].registrations.append((prefix, mod, viewset))
            elif attr == "extend" and receiver is not None and receiver.type == "attribute":
                source = py.arg(call, 0, "iterable")
                if _last(receiver) != "registry" or source is None or source.type != "attribute":
                    continue
                key = self._router_key(mod, receiver.child_by_field_name("object"))
                other = self._router_key(mod, source.child_by_field_name("object"))
                if key is not None and other is not None and _last(source) == "registry":
                    self.routers[key].extends.append(other)

    def _method_calls(self, needles: tuple[bytes, ...]) -> Iterator[tuple[py.PyModule, Node, str, Node | None]]:
        """(module, call, method name, receiver) of `x.m(...)` calls, in the modules that mention a needle."""
        if not self.routers:
            return
        for rel in sorted(self.project.modules):
            mod = self.project.modules[rel]
            if not any(needle in mod.sf.source for needle in needles):
                continue
            for call in ts.find_all(mod.sf.root, "call"):
                fn = call.child_by_field_name("function")
                if fn is not None and fn.type == "attribute":
                    yield mod, call, _last(fn), fn.child_by_field_name("object")

    def _router_key(self, mod: py.PyModule, node: Node | None) -> ObjKey | None:
        ref = self.project.resolve_expr(mod, node)
        if isinstance(ref, py.LocalRef) and (ref.file, ref.name) in self.routers:
            return (ref.file, ref.name)
        return None

    def _registrations(self, key: ObjKey, trail: tuple[ObjKey, ...] = ()) -> list[tuple[str, py.PyModule, Node]]:
        router = self.routers[key]
        out = list(router.registrations)
        for other in router.extends:
            if other not in trail:
                out += self._registrations(other, (*trail, key))
        return out

    def _parent_prefix(self, router: _Router, depth: int = 0) -> str:
        """drf-nested-routers: "<parent prefix>/<lookup_parent-lookup>/" in front of the routes."""
        if router.parent is None or depth > 5:
            return ""
        parent_key, parent_prefix, lookup = router.parent
        parent = self.routers[parent_key]
        parent_lookup = "pk"
        for prefix, mod, viewset in self._registrations(parent_key):
            info = self.class_info(mod, viewset)
            if prefix == parent_prefix and info is not None:
                parent_lookup = info.attrs.get("lookup_url_kwarg") or info.attrs.get("lookup_field") or "pk"
                break
        return f"{self._parent_prefix(parent, depth + 1)}{parent_prefix}/<{lookup}_{parent_lookup}>/"

    def _trailing(self, router: _Router, depth: int = 0) -> str:
        if router.trailing is not None:
            return router.trailing
        if router.parent is not None and depth < 5:
            return self._trailing(self.routers[router.parent[0]], depth + 1)
        return "/"

    def router_routes(self, key: ObjKey) -> list[_Route]:
        """A router's routes relative to where its urls are included (SimpleRouter's order)."""
        router = self.routers[key]
        nested = self._parent_prefix(router)
        trailing = self._trailing(router)
        out: list[_Route] = []
        for prefix, mod, viewset in self._registrations(key):
            info = self.class_info(mod, viewset)
            if info is None:
                continue
            lookup = info.attrs.get("lookup_url_kwarg") or info.attrs.get("lookup_field") or "pk"
            base = nested + prefix
            actions = info.viewset_actions()

            def add(route: str, mapping: dict[str, tuple[Handler, Node | None]], base: str = base) -> None:
                if not base and route.startswith("/"):
                    route = route[1:]  # what SimpleRouter does for an empty prefix
                for method, (handler, func) in mapping.items():
                    out.append(_Route(method, route, handler, func))

            add(base + trailing, {m: actions[a] for m, a in _LIST_ROUTE.items() if a in actions})
            for extra in (a for a in info.actions if not a.detail):
                add(f"{base}/{extra.url_path}{trailing}", self._action_handlers(extra))
            add(f"{base}/<{lookup}>{trailing}", {m: actions[a] for m, a in _DETAIL_ROUTE.items() if a in actions})
            for extra in (a for a in info.actions if a.detail):
                add(f"{base}/<{lookup}>/{extra.url_path}{trailing}", self._action_handlers(extra))
        return out

    @staticmethod
    def _action_handlers(action: _Action) -> dict[str, tuple[Handler, Node | None]]:
        return {m: (py.handler_for(func, mod.rel), func) for m, (mod, func) in action.methods.items()}

    # ---- classes

    def class_info(self, mod: py.PyModule, node: Node | None) -> _ClassInfo | None:
        found = self.project.class_def(self.project.resolve_expr(mod, node))
        if found is None:
            return None
        key = (found[0].rel, found[1].start_byte)
        if key not in self._classes:
            info = _ClassInfo(mod=found[0], node=found[1])
            self._collect(info)
            self._classes[key] = info
        return self._classes[key]

    def _collect(self, info: _ClassInfo) -> None:
        classes, info.library = py.class_hierarchy(self.project, info.mod, info.node)
        for mod, cls in classes:
            mappings: list[tuple[str, str, Node]] = []
            for func, decorators in py.class_functions(cls):
                name = ts.text(func.child_by_field_name("name"))
                if name in info.methods:
                    continue  # overridden nearer in the MRO
                info.methods[name] = (mod, func)
                for deco in decorators:
                    action = _parse_action(mod, func, deco)
                    if action is not None:
                        info.actions.append(action)
                    elif deco.type == "attribute" and ts.text(deco.child_by_field_name("object")).endswith(".mapping"):
                        # `@checkout.mapping.delete`: another method on the same action route
                        owner = ts.text(deco.child_by_field_name("object")).removesuffix(".mapping")
                        mappings.append((owner, _last(deco).upper(), func))
            for owner, method, func in mappings:
                target = next((a for a in info.actions if a.name == owner), None)
                if target is not None:
                    target.methods.setdefault(method, (mod, func))
            for name, value in py.class_assignments(cls).items():
                text = py.string_value(value)
                if text is not None:
                    info.attrs.setdefault(name, text)

    # ---- url lists

    def var_items(self, rel: str, var: str) -> list[_Item]:
        """The patterns a module-level list variable ends up holding (`=`, `+=`, append, extend)."""
        key = (rel, var)
        if key in self._vars:
            return self._vars[key]
        mod = self.project.modules.get(rel)
        if mod is None or key in self._in_progress:
            return []
        self._in_progress.add(key)
        acc: list[_Item] = []
        for stmt in _module_statements(mod.sf.root):
            node = stmt.named_children[0] if stmt.named_children else None
            if node is None:
                continue
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if node.type == "assignment" and ts.text(left) == var and right is not None:
                acc = self.items(mod, right, (var, acc))
            elif node.type == "augmented_assignment" and ts.text(left) == var and right is not None:
                acc = acc + self.items(mod, right, (var, acc))
            elif node.type == "call":
                fn = node.child_by_field_name("function")
                if fn is None or fn.type != "attribute" or ts.text(fn.child_by_field_name("object")) != var:
                    continue
                positional, _ = py.call_args(node)
                attr = _last(fn)
                if attr in ("append", "insert") and positional:
                    acc = acc + self.items(mod, positional[-1], (var, acc), single=True)
                elif attr == "extend" and positional:
                    acc = acc + self.items(mod, positional[0], (var, acc))
        self._in_progress.discard(key)
        self._vars[key] = acc
        return acc

    def items(
        self, mod: py.PyModule, node: Node | None, current: tuple[str, list[_Item]] | None = None, single: bool = False
    ) -> list[_Item]:
        """The patterns an expression stands for: a list, `a + b`, a name, `router.urls` ..."""
        if node is None:
            return []
        node = py.unwrap_parens(node)
        if node.type in ("list", "tuple") and not single:
            out: list[_Item] = []
            for child in node.named_children:
                if child.type == "list_splat" and child.named_children:
                    out += self.items(mod, child.named_children[0], current)
                elif child.type == "call":
                    out.append(_Item(mod, call=child))
            return out
        if node.type == "binary_operator" and ts.text(node.child_by_field_name("operator")) == "+":
            return self.items(mod, node.child_by_field_name("left"), current) + self.items(
                mod, node.child_by_field_name("right"), current
            )
        if node.type == "identifier" and current is not None and ts.text(node) == current[0]:
            return current[1]
        if node.type == "attribute" and _last(node) == "urls":
            key = self._router_key(mod, node.child_by_field_name("object"))
            if key is not None:
                return [_Item(mod, router=key)]
        if node.type == "call":
            name = _last(node.child_by_field_name("function"))
            if name in ("path", "re_path", "url"):
                return [_Item(mod, call=node)]
            positional, _ = py.call_args(node)
            if name == "format_suffix_patterns" and positional:
                return self.items(mod, positional[0], current)
            if name == "i18n_patterns":
                return [item for p in positional for item in self.items(mod, p, current, single=True)]
            return []
        if node.type in ("identifier", "attribute"):
            return self._ref_items(self.project.resolve_expr(mod, node))
        return []

    def _ref_items(self, ref: py.Ref | None) -> list[_Item]:
        if isinstance(ref, py.ModuleRef):
            target = self.project.module_at(ref.base)
            return self.var_items(target.rel, "urlpatterns") if target is not None else []
        if isinstance(ref, py.LocalRef) and (ref.file, ref.name) not in self.routers:
            return self.var_items(ref.file, ref.name)
        return []

    def include_items(self, mod: py.PyModule, target: Node | None) -> list[_Item]:
        if target is None:
            return []
        target = py.unwrap_parens(target)
        dotted = py.string_value(target)
        if dotted is not None:
            found = self.module_by_dotted(dotted)
            return self.var_items(found.rel, "urlpatterns") if found is not None else []
        if target.type == "tuple" and target.named_children:
            # include((patterns, "app_name")) and include(("app.urls", "app_name"))
            return self.include_items(mod, target.named_children[0])
        return self.items(mod, target)

    # ---- views

    def view_routes(self, mod: py.PyModule, view: Node | None, depth: int = 0) -> list[ViewRoute]:
        """(method, handler, function) of the view a path() points at."""
        if view is None or depth > 10:
            return []
        view = py.unwrap_parens(view)
        if view.type == "call":
            fn = view.child_by_field_name("function")
            if fn is not None and fn.type == "attribute" and _last(fn) == "as_view":
                info = self.class_info(mod, fn.child_by_field_name("object"))
                if info is None:
                    return []
                mapping = py.arg(view, 0, "actions")
                if mapping is not None and mapping.type == "dictionary":
                    return self._mapped_routes(info, mapping)
                return info.view_routes()
            # A wrapper such as login_required(view), csrf_exempt(X.as_view()), cache_page(60)(view).
            positional, _ = py.call_args(view)
            for candidate in positional:
                found = self.view_routes(mod, candidate, depth + 1)
                if found:
                    return found
            return []
        if view.type not in ("identifier", "attribute"):
            return []
        ref = self.project.resolve_expr(mod, view)
        function = self.project.function(ref)
        if function is not None and function[1].parent is not None:
            fmod, func = function
            return [(m, py.handler_for(func, fmod.rel), func) for m in _function_methods(func)]
        if isinstance(ref, py.LocalRef) and ref.file in self.project.modules:
            # `book_list = BookViewSet.as_view({...})` in views.py, used by name in urls.py.
            target = self.project.modules[ref.file]
            value = next((v for name, v in target.assignments if name == ref.name), None)
            if value is not None and value is not view:
                return self.view_routes(target, value, depth + 1)
        return []

    @staticmethod
    def _mapped_routes(info: _ClassInfo, mapping: Node) -> list[ViewRoute]:
        actions = info.viewset_actions()
        out: list[ViewRoute] = []
        for pair in mapping.named_children:
            if pair.type != "pair":
                continue
            method = py.string_value(pair.child_by_field_name("key"))
            action = py.string_value(pair.child_by_field_name("value"))
            if method is None or action is None:
                continue
            if action in info.methods:
                amod, func = info.methods[action]
                out.append((method.upper(), py.handler_for(func, amod.rel), func))
            elif action in actions:
                out.append((method.upper(), actions[action][0], None))
        return out

    # ---- expansion

    def expand(self, items: list[_Item], prefix: str, out: dict[tuple[str, str], Endpoint], depth: int = 0) -> None:
        if depth > 20:
            return
        for item in items:
            if item.router is not None:
                for route in self.router_routes(item.router):
                    self._add(out, route.method, prefix + route.path, route.handler, route.func)
                continue
            call = item.call
            assert call is not None
            kind = _last(call.child_by_field_name("function"))
            route = py.string_value(py.arg(call, 0, "route" if kind != "url" else "regex"))
            view = py.arg(call, 1, "view")
            if view is not None and view.type == "call" and _last(view.child_by_field_name("function")) == "include":
                # A computed prefix (`path(settings.BASE_PATH, include(...))`) is a deployment
                # option that is usually empty: keep the routes under it rather than lose them all.
                piece = "" if route is None else route if kind == "path" else _strip_anchors(route)
                self.expand(self.include_items(item.mod, py.arg(view, 0, "arg")), prefix + piece, out, depth + 1)
                continue
            if route is None:
                continue
            piece = route if kind == "path" else _strip_anchors(route)
            for method, handler, func in self.view_routes(item.mod, view):
                self._add(out, method, prefix + piece, handler, func)

    @staticmethod
    def _add(
        out: dict[tuple[str, str], Endpoint], method: str, route: str, handler: Handler, func: Node | None
    ) -> None:
        path = "/" + route
        if (path, method) in out:
            return  # Django tries patterns in order: the first match serves the request
        fields: list[BodyField] = []
        if func is not None and method not in ("GET", "DELETE"):
            fields = py.json_body_fields(func, _BODY_SOURCES, _RAW_BODY)
        out[(path, method)] = Endpoint(method=method, path=path, handler=handler, body_fields=fields)


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
                values = py.string_list(py.arg(expr, 0, "http_method_names")) if expr.type == "call" else None
                return sorted({v.upper() for v in values}) if values else ["GET"]
            if name == "require_http_methods" and expr.type == "call":
                values = py.string_list(py.arg(expr, 0, "request_method_list"))
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
                    value = py.string_value(other)
                    values = [value] if value is not None else py.string_list(other) or []
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


# --------------------------------------------------------------------------- masking


def _node_starting_at(root: Node, start: int, type_: str) -> Node | None:
    """The node of `type_` that starts at `start` (its end may have moved: inner masks ran first)."""
    current: Node | None = root
    while current is not None:
        if current.start_byte == start and current.type == type_:
            return current
        current = next((c for c in current.children if c.start_byte <= start < c.end_byte), None)
    return None


def _inherited_names(cls: Node, classes: dict[str, Node], seen: set[str]) -> set[str]:
    """The handler methods a class's library bases bring.

    Only this file is known at masking time: same-file bases are followed, library bases
    looked up by name, other bases contribute nothing.
    """
    names: set[str] = set()
    bases = cls.child_by_field_name("superclasses")
    for base in bases.named_children if bases is not None else []:
        if base.type == "keyword_argument":
            continue
        simple = _last(base)
        if simple in _VIEWSET_ACTIONS or simple in _GENERIC_VIEWS:
            names.update(_VIEWSET_ACTIONS.get(simple, ()))
            names.update(_GENERIC_VIEWS.get(simple, {}).values())
        elif base.type == "identifier" and simple in classes and simple not in seen:
            seen.add(simple)
            names |= _inherited_names(classes[simple], classes, seen)
    return names


def mask_class(source: bytes, cls: Node, handler: Handler) -> bytes:
    """Answer 501 for the actions a view class inherits, by overriding them at the top of its body."""
    root = cls
    while root.parent is not None:
        root = root.parent
    classes = {ts.text(c.child_by_field_name("name")): c for c in ts.find_all(root, "class_definition") if c is not cls}
    own = {ts.text(f.child_by_field_name("name")) for f, _ in py.class_functions(cls)}
    names = sorted(_inherited_names(cls, classes, {handler.name}) - own)
    if not names:
        # The inherited handlers come from a base in another file: refuse every request instead.
        names = ["dispatch"]
    block = cls.child_by_field_name("body")
    if block is None:
        raise ValueError(f"no class body for {handler.file}:{handler.name}")
    lines: list[str] = []
    for name in names:
        lines += [f"def {name}(self, request, *args, **kwargs):"] + [f"    {s}" for s in _NOT_IMPLEMENTED] + [""]
    statements = [c for c in block.named_children if c.type != "comment"]
    first = statements[0] if statements else None
    docstring = (
        first is not None
        and first.type == "expression_statement"
        and len(first.named_children) == 1
        and first.named_children[0].type in ("string", "concatenated_string")
    )
    colon = next((c for c in cls.children if c.type == ":"), None)
    one_line = colon is not None and colon.end_point[0] == block.start_point[0]
    # `class V(ModelViewSet): queryset = ...` on one line: the body moves to its own lines.
    indent = ts.line_indent(source, cls.start_byte) + b"    " if one_line else ts.line_indent(source, block.start_byte)
    rendered = b"\n".join(indent + line.encode() if line else b"" for line in lines)
    if one_line:
        assert colon is not None
        masked = ts.replace(source, colon.end_byte, block.start_byte, b"\n" + rendered + b"\n" + indent)
    elif docstring and len(statements) == 1:
        assert first is not None
        masked = ts.replace(source, first.end_byte, first.end_byte, b"\n\n" + rendered.rstrip())
    else:
        at = statements[1] if docstring else statements[0] if statements else block
        masked = ts.replace(source, at.start_byte, at.start_byte, rendered[len(indent) :] + b"\n" + indent)
    return ts.check_reparses(masked, py.LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- environment


def _config_env(files: list[ts.SourceFile]) -> dict[str, str]:
    """Variables read through python-decouple's `config()` or django-environ's `env()` without a default."""
    out: dict[str, str] = {}
    for sf in files:
        if b"decouple" not in sf.source and b"environ" not in sf.source:
            continue
        for call in ts.find_all(sf.root, "call"):
            fn = ts.text(call.child_by_field_name("function"))
            parts = fn.split(".")
            positional, keywords = py.call_args(call)
            kind = ""
            if fn in ("config", "decouple.config"):
                kind = "decouple"
            elif parts[0] == "env" and len(parts) <= 2:
                kind = "environ"
            if not kind or "default" in keywords:
                continue
            cast = parts[1] if len(parts) == 2 else ts.text(keywords.get("cast"))
            if kind == "decouple" and len(positional) > 1:
                continue  # config("X", "fallback"): the second positional is the default
            if kind == "environ" and len(parts) == 2 and len(positional) > 1:
                continue  # env.str("X", "fallback")
            if kind == "environ" and len(parts) == 1 and len(positional) > 2:
                continue  # env("X", cast, default)
            name = py.string_value(positional[0]) if positional else None
            if name is None and cast in ("db", "db_url"):
                name = "DATABASE_URL"
            elif name is None and cast in ("cache", "cache_url"):
                name = "CACHE_URL"
            elif name is None and cast in ("email", "email_url"):
                name = "EMAIL_URL"
            if not name:
                continue
            if cast == "bool":
                value = "True" if "DEBUG" in name else "False"
            elif cast in ("int", "float"):
                value = "1"
            else:
                value = f"dummy-{name}"
            out.setdefault(name, value)
    return out


def _safe_env(env: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in env.items():
        if name.startswith("DJANGO_SETTINGS_MODULE"):
            continue
        if name in _ENV_SPECIAL:
            value = _ENV_SPECIAL[name]
        elif "ALLOWED_HOSTS" in name:
            value = "*"
        elif "SECRET_KEY" in name:
            value = f"dummy-{name.lower()}-for-local-runs-only-0123456789abcdef"
        out[name] = value
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- framework


class DjangoFramework(Framework):
    name = "django"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = (
        "django",
        "djangorestframework",
    )
    language = "python"

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        found: dict[Path, list[tuple[int, int, str]]] = {}
        for path, rel, content in ts.iter_files(repo_root, repo_root, lambda n: n in _ENTRY_FILES):
            if py.is_test_path(rel):
                continue
            if path.name == "settings.py":
                if re.search(rb"^ROOT_URLCONF\s*=", content, re.MULTILINE) is None:
                    continue
            elif _SETTINGS_RE.search(content) is None:
                continue
            root = py.service_root_for(path, repo_root)
            if not py.declares(root, "django"):
                if path.name != "manage.py":
                    continue
                root = path.parent  # manage.py itself says Django; no manifest does
            entry = path.relative_to(root).as_posix()
            found.setdefault(root, []).append((_ENTRY_FILES.index(path.name), entry.count("/"), entry))
        return [
            ServiceCandidate(root=root, entrypoint=sorted(entries)[0][2]) for root, entries in sorted(found.items())
        ]

    # ------------------------------------------------------------------ settings

    def _settings(self, project: py.PyProject, walker: _UrlWalker, root: Path, entry: str | None) -> py.PyModule | None:
        if entry is None:
            return None
        path = root / entry
        if path.name == "settings.py":
            return project.modules.get(path.relative_to(project.repo_root).as_posix())
        try:
            match = _SETTINGS_RE.search(path.read_bytes())
        except OSError:
            return None
        return walker.module_by_dotted(match.group(1).decode()) if match else None

    def _root_urlconf(
        self, project: py.PyProject, walker: _UrlWalker, settings: py.PyModule | None
    ) -> py.PyModule | None:
        seen: set[str] = set()
        pending = [settings] if settings is not None else []
        while pending:
            mod = pending.pop(0)
            if mod.rel in seen:
                continue
            seen.add(mod.rel)
            for name, value in mod.assignments:
                if name == "ROOT_URLCONF" and (dotted := py.string_value(value)):
                    return walker.module_by_dotted(dotted)
            # `from .base import *`: ROOT_URLCONF usually lives in the shared settings.
            for node in ts.find_all(mod.sf.root, "import_from_statement"):
                if not any(c.type == "wildcard_import" for c in node.children):
                    continue
                module_node = node.child_by_field_name("module_name")
                level, dotted = 0, ts.text(module_node)
                if module_node is not None and module_node.type == "relative_import":
                    level = len(ts.text(next((c for c in module_node.children if c.type == "import_prefix"), None)))
                    dotted = ts.text(next((c for c in module_node.children if c.type == "dotted_name"), None))
                base = project.locate(mod, level, dotted)
                target = project.module_at(base) if base is not None else None
                if target is not None:
                    pending.append(target)
        # No settings found, or ROOT_URLCONF set elsewhere: any module that sets it.
        for rel in sorted(project.modules):
            for name, value in project.modules[rel].assignments:
                if name == "ROOT_URLCONF" and (dotted := py.string_value(value)):
                    found = walker.module_by_dotted(dotted)
                    if found is not None:
                        return found
        if settings is not None:
            return project.module_at(settings.path.parent / "urls")
        return None

    # ------------------------------------------------------------------ discover

    def _search_roots(self, root: Path, service: ServiceCandidate) -> list[Path]:
        # manage.py's folder is sys.path[0] when Django runs; the service root and src/ are fallbacks.
        entry = service.entrypoint or "manage.py"
        entry_dir = (root / entry).parent if entry.endswith("manage.py") else root
        return list(dict.fromkeys([entry_dir, root, root / "src"]))

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        project = py.PyProject(repo_root, root)
        walker = _UrlWalker(project, self._search_roots(root, service))
        urlconf = self._root_urlconf(project, walker, self._settings(project, walker, root, service.entrypoint))
        if urlconf is None:
            log.warning("django service at %s: no ROOT_URLCONF found", root)
            return []
        endpoints: dict[tuple[str, str], Endpoint] = {}
        walker.expand(walker.var_items(urlconf.rel, "urlpatterns"), "", endpoints)
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        files = list(py.iter_python_files(root, repo_root))
        port = self._configured_port(root) or DEFAULT_PORT
        entry = service.entrypoint or "manage.py"
        manage = entry if entry.endswith("manage.py") else None
        command = ["python", manage or "manage.py", "runserver", f"0.0.0.0:{port}", "--noreload"]
        wsgi = self._wsgi_application(files)
        if wsgi is not None and (manage is None or py.declares(root, "gunicorn")):
            command = ["python", "-m", "gunicorn", wsgi, "--bind", f"0.0.0.0:{port}"]
            # gunicorn imports the module from its working folder: where that module lives.
            module = Path(*wsgi.split(":")[0].split("."))
            roots = self._search_roots(root, service)
            home = next((d for d in roots if (d / module.with_suffix(".py")).is_file()), roots[0])
            if home != root:
                command += ["--chdir", home.relative_to(root).as_posix()]
        extra = [] if py.declares(root, "django") else ["django"]
        if command[2] == "gunicorn" and not py.declares(root, "gunicorn"):
            extra.append("gunicorn")
        env = {**py.required_env(files), **_config_env(files)}
        return RuntimeHints(start_command=command, port=port, extra_packages=extra, env=_safe_env(env))

    @staticmethod
    def _wsgi_application(files: list[ts.SourceFile]) -> str | None:
        """`config.wsgi.application` from WSGI_APPLICATION, as gunicorn's `config.wsgi:application`."""
        for sf in files:
            if b"WSGI_APPLICATION" not in sf.source:
                continue
            for node in ts.find_all(sf.root, "assignment"):
                if ts.text(node.child_by_field_name("left")) == "WSGI_APPLICATION":
                    value = py.string_value(node.child_by_field_name("right"))
                    if value and "." in value:
                        module, _, attr = value.rpartition(".")
                        return f"{module}:{attr}"
        return None

    @staticmethod
    def _configured_port(root: Path) -> int | None:
        for name in ("Procfile", "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"):
            path = root / name
            try:
                if not path.is_file() or path.stat().st_size > ts.MAX_FILE_BYTES:
                    continue
                match = _PORT_RE.search(path.read_text(errors="replace"))
            except OSError:
                continue
            if match and 0 < int(match.group(1)) < 65536:
                return int(match.group(1))
        return None

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        tree = ts.parse(source, py.LANGUAGE)
        cls = _node_starting_at(tree.root_node, handler.start_byte, "class_definition")
        if cls is not None and ts.text(cls.child_by_field_name("name")) == handler.name:
            return mask_class(source, cls, handler)
        return py.mask_function_body(source, handler, _NOT_IMPLEMENTED)
