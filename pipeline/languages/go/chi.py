"""Chi: routers, Route/Mount/Group/With, Method, HandleFunc, handlers, and masking."""

from __future__ import annotations

from pipeline.languages.go.framework import GoFramework
from pipeline.languages.go.interpreter import Dialect, Interpreter
from pipeline.languages.go.nethttp import HTTP_RESPONDER
from pipeline.languages.go.project import GoMod
from pipeline.languages.go.syntax import METHOD_NAMED_VERBS, Node, arguments
from pipeline.languages.go.values import UNHANDLED, Ctx, Edge, FuncVal, Router, Strip

PACKAGES = ("github.com/go-chi/chi/v5", "github.com/go-chi/chi")
_VERBS = METHOD_NAMED_VERBS


def _mount_prefix(pattern: str) -> str:
    """`/api/*` handed a sub-router serves it under `/api`."""
    return pattern.removesuffix("*").rstrip("/")


class ChiDialect(Dialect):
    kind = "chi"
    packages = PACKAGES

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name in ("NewRouter", "NewMux"):
            return it.new_router(self.kind, ctx, call)
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        nodes = arguments(call)
        pattern = args[0] if args and isinstance(args[0], str) else None
        if name in _VERBS and pattern is not None and len(args) >= 2:
            it.add_route(router, _VERBS[name], pattern, args[1], nodes[1], ctx)
        elif name in ("Method", "MethodFunc") and len(args) >= 3 and isinstance(args[0], str):
            if isinstance(args[1], str):
                it.add_route(router, args[0], args[1], args[2], nodes[2], ctx)
        elif name in ("Handle", "HandleFunc", "Mount") and pattern is not None and len(args) >= 2:
            value = args[1]
            if isinstance(value, Strip):
                value = value.inner
            if isinstance(value, Router):
                it.edges.append(Edge(router, _mount_prefix(pattern), value))
            elif name == "Mount":
                # A plain handler mounted answers everything under the pattern.
                it.add_route(router, "ANY", pattern.rstrip("/") + "/*", value, nodes[1], ctx)
            else:
                it.add_route(router, "ANY", pattern, value, nodes[1], ctx)
        elif name == "Route" and pattern is not None:
            child = it.add_group(router, pattern, ctx, call)
            if len(args) >= 2 and isinstance(args[1], FuncVal):
                it.invoke(args[1], [child])
            return child
        elif name == "Group":
            # An inline group shares the parent's path: only middlewares differ.
            child = it.add_group(router, "", ctx, call)
            if args and isinstance(args[0], FuncVal):
                it.invoke(args[0], [child])
            return child
        elif name in ("With", "Use"):
            return router
        return None


class ChiFramework(GoFramework):
    name = "chi"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("github.com/go-chi/chi/v5",)
    language = "go"
    responder = HTTP_RESPONDER

    def dialects(self) -> list[Dialect]:
        return [ChiDialect()]

    def claims(self, mod: GoMod) -> bool:
        return mod.requires_any(PACKAGES)
