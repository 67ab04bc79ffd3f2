"""The Django URLconf walk: urlpatterns lists, include()s and DRF routers, expanded into endpoints.

_UrlWalker follows `urlpatterns` from ROOT_URLCONF through include() of module strings,
imported modules, pattern lists and router `.urls`, expands each router registration into
SimpleRouter's routes (drf-nested-routers too), and asks django_views.py what each view
answers. It is the largest part of Django discovery and only the framework (django.py)
drives it, so it stands on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.python.django_views import (
    ViewRoute,
    _Action,
    _ClassInfo,
    _function_methods,
    _last,
    _parse_action,
)
from pipeline.languages.python.handlers import handler_for, json_body_fields
from pipeline.languages.python.project import (
    ExternalRef,
    LocalRef,
    ModuleRef,
    PyModule,
    PyProject,
    Ref,
    class_assignments,
    class_functions,
    class_hierarchy,
)
from pipeline.languages.python.syntax import arg, call_args, string_value, unwrap_parens
from pipeline.models import BodyField, Endpoint, Handler

Node = tree_sitter.Node
ObjKey = tuple[str, str]

_LIST_ROUTE = {"GET": "list", "POST": "create"}
_DETAIL_ROUTE = {"GET": "retrieve", "PUT": "update", "PATCH": "partial_update", "DELETE": "destroy"}
_BODY_SOURCES = ("request.data", "self.request.data")
_RAW_BODY = ("request.body", "self.request.body")


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


# --------------------------------------------------------------------------- routers


@dataclass
class _Router:
    #: "/" or ""; None when not given (a nested router then takes its parent's)
    trailing: str | None = None
    registrations: list[tuple[str, PyModule, Node]] = field(default_factory=list)
    #: routers whose registry was merged in with `router.registry.extend(other.registry)`
    extends: list[ObjKey] = field(default_factory=list)
    #: drf-nested-routers: (parent router, parent prefix, lookup)
    parent: tuple[ObjKey, str, str] | None = None


@dataclass
class _Item:
    """One entry of a urlpatterns list: a path()/re_path() call, or all of a router's urls."""

    mod: PyModule
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

    def __init__(self, project: PyProject, search_roots: list[Path]) -> None:
        self.project = project
        self.search_roots = search_roots
        self.routers: dict[ObjKey, _Router] = {}
        self._classes: dict[tuple[str, int], _ClassInfo] = {}
        self._vars: dict[ObjKey, list[_Item]] = {}
        self._in_progress: set[ObjKey] = set()
        self._find_routers()

    # ---- modules

    def module_by_dotted(self, dotted: str) -> PyModule | None:
        parts = [p for p in dotted.split(".") if p]
        for root in self.search_roots:
            found = self.project.module_at(root.joinpath(*parts)) if parts else None
            if found is not None:
                return found
        return None

    # ---- routers

    def _router_call(self, mod: PyModule, value: Node) -> Node | None:
        """The router constructor call of `value` (`DefaultRouter() if DEBUG else SimpleRouter()` too)."""
        value = unwrap_parens(value)
        if value.type == "conditional_expression":
            return next((c for c in value.named_children if self._router_call(mod, c) is not None), None)
        if value.type != "call":
            return None
        fn = value.child_by_field_name("function")
        if not _last(fn).endswith("Router"):
            return None  # cheap test first: resolving every call of a large project is not
        ref = self.project.resolve_expr(mod, fn)
        if isinstance(ref, ExternalRef):
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
                trailing = arg(call, 99, "trailing_slash")
                if trailing is not None:
                    text = string_value(trailing)
                    # "/?" (optional slash) is served with the slash too; False means none.
                    router.trailing = "" if ts.text(trailing) == "False" or text == "" else "/"
                if _last(call.child_by_field_name("function")).startswith("Nested"):
                    parent = self._router_key(mod, arg(call, 0, "parent_router"))
                    parent_prefix = string_value(arg(call, 1, "parent_prefix"))
                    lookup = string_value(arg(call, 99, "lookup")) or "nested_1"
                    if parent is not None and parent_prefix is not None:
                        router.parent = (parent, parent_prefix, lookup)
                self.routers[(rel, var)] = router
        for mod, call, attr, receiver in self._method_calls((b".register(", b".registry")):
            if attr == "register":
                key = self._router_key(mod, receiver)
                prefix = string_value(arg(call, 0, "prefix"))
                viewset = arg(call, 1, "viewset")
                if key is not None and prefix is not None and viewset is not None:
                    self.routers[key].registrations.append((prefix, mod, viewset))
            elif attr == "extend" and receiver is not None and receiver.type == "attribute":
                source = arg(call, 0, "iterable")
                if _last(receiver) != "registry" or source is None or source.type != "attribute":
                    continue
                key = self._router_key(mod, receiver.child_by_field_name("object"))
                other = self._router_key(mod, source.child_by_field_name("object"))
                if key is not None and other is not None and _last(source) == "registry":
                    self.routers[key].extends.append(other)

    def _method_calls(self, needles: tuple[bytes, ...]) -> Iterator[tuple[PyModule, Node, str, Node | None]]:
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

    def _router_key(self, mod: PyModule, node: Node | None) -> ObjKey | None:
        ref = self.project.resolve_expr(mod, node)
        if isinstance(ref, LocalRef) and (ref.file, ref.name) in self.routers:
            return (ref.file, ref.name)
        return None

    def _registrations(self, key: ObjKey, trail: tuple[ObjKey, ...] = ()) -> list[tuple[str, PyModule, Node]]:
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
        return {m: (handler_for(func, mod.rel), func) for m, (mod, func) in action.methods.items()}

    # ---- classes

    def class_info(self, mod: PyModule, node: Node | None) -> _ClassInfo | None:
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
        classes, info.library = class_hierarchy(self.project, info.mod, info.node)
        for mod, cls in classes:
            mappings: list[tuple[str, str, Node]] = []
            for func, decorators in class_functions(cls):
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
            for name, value in class_assignments(cls).items():
                text = string_value(value)
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
                positional, _ = call_args(node)
                attr = _last(fn)
                if attr in ("append", "insert") and positional:
                    acc = acc + self.items(mod, positional[-1], (var, acc), single=True)
                elif attr == "extend" and positional:
                    acc = acc + self.items(mod, positional[0], (var, acc))
        self._in_progress.discard(key)
        self._vars[key] = acc
        return acc

    def items(
        self, mod: PyModule, node: Node | None, current: tuple[str, list[_Item]] | None = None, single: bool = False
    ) -> list[_Item]:
        """The patterns an expression stands for: a list, `a + b`, a name, `router.urls` ..."""
        if node is None:
            return []
        node = unwrap_parens(node)
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
            positional, _ = call_args(node)
            if name == "format_suffix_patterns" and positional:
                return self.items(mod, positional[0], current)
            if name == "i18n_patterns":
                return [item for p in positional for item in self.items(mod, p, current, single=True)]
            return []
        if node.type in ("identifier", "attribute"):
            return self._ref_items(self.project.resolve_expr(mod, node))
        return []

    def _ref_items(self, ref: Ref | None) -> list[_Item]:
        if isinstance(ref, ModuleRef):
            target = self.project.module_at(ref.base)
            return self.var_items(target.rel, "urlpatterns") if target is not None else []
        if isinstance(ref, LocalRef) and (ref.file, ref.name) not in self.routers:
            return self.var_items(ref.file, ref.name)
        return []

    def include_items(self, mod: PyModule, target: Node | None) -> list[_Item]:
        if target is None:
            return []
        target = unwrap_parens(target)
        dotted = string_value(target)
        if dotted is not None:
            found = self.module_by_dotted(dotted)
            return self.var_items(found.rel, "urlpatterns") if found is not None else []
        if target.type == "tuple" and target.named_children:
            # include((patterns, "app_name")) and include(("app.urls", "app_name"))
            return self.include_items(mod, target.named_children[0])
        return self.items(mod, target)

    # ---- views

    def view_routes(self, mod: PyModule, view: Node | None, depth: int = 0) -> list[ViewRoute]:
        """(method, handler, function) of the view a path() points at."""
        if view is None or depth > 10:
            return []
        view = unwrap_parens(view)
        if view.type == "call":
            fn = view.child_by_field_name("function")
            if fn is not None and fn.type == "attribute" and _last(fn) == "as_view":
                info = self.class_info(mod, fn.child_by_field_name("object"))
                if info is None:
                    return []
                mapping = arg(view, 0, "actions")
                if mapping is not None and mapping.type == "dictionary":
                    return self._mapped_routes(info, mapping)
                return info.view_routes()
            # A wrapper such as login_required(view), csrf_exempt(X.as_view()), cache_page(60)(view).
            positional, _ = call_args(view)
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
            return [(m, handler_for(func, fmod.rel), func) for m in _function_methods(func)]
        if isinstance(ref, LocalRef) and ref.file in self.project.modules:
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
            method = string_value(pair.child_by_field_name("key"))
            action = string_value(pair.child_by_field_name("value"))
            if method is None or action is None:
                continue
            if action in info.methods:
                amod, func = info.methods[action]
                out.append((method.upper(), handler_for(func, amod.rel), func))
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
            route = string_value(arg(call, 0, "route" if kind != "url" else "regex"))
            view = arg(call, 1, "view")
            if view is not None and view.type == "call" and _last(view.child_by_field_name("function")) == "include":
                # A computed prefix (`path(settings.BASE_PATH, include(...))`) is a deployment
                # option that is usually empty: keep the routes under it rather than lose them all.
                piece = "" if route is None else route if kind == "path" else _strip_anchors(route)
                self.expand(self.include_items(item.mod, arg(view, 0, "arg")), prefix + piece, out, depth + 1)
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
            fields = json_body_fields(func, _BODY_SOURCES, _RAW_BODY)
        out[(path, method)] = Endpoint(method=method, path=path, handler=handler, body_fields=fields)
