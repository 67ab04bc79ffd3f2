"""httptreemux: tree muxes, groups, context groups, handlers, and masking.

`httptreemux.New()` is a TreeMux whose handlers take the path parameters as a third
argument (`func(w, r, params map[string]string)`); `UsingContext()` is the same tree and
prefix seen as a ContextGroup, whose handlers are plain `http.HandlerFunc`s or
`http.Handler`s. Either way the ResponseWriter answers, so the net/http responder masks
both. Paths keep the library's syntax (`:id`, catch-all `*path`), as gin's do.
"""

from __future__ import annotations

from pipeline.languages.go.framework import GoFramework
from pipeline.languages.go.interpreter import Dialect, Interpreter
from pipeline.languages.go.nethttp import HTTP_RESPONDER
from pipeline.languages.go.project import GoMod
from pipeline.languages.go.syntax import Node, arguments
from pipeline.languages.go.values import UNHANDLED, Ctx, Router

PACKAGES = ("github.com/dimfeld/httptreemux/v5", "github.com/dimfeld/httptreemux")
_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class HttpTreeMuxDialect(Dialect):
    kind = "httptreemux"
    packages = PACKAGES

    def join(self, prefix: str, path: str) -> str:
        # A group's path is prepended as it is (groups drop their trailing slash).
        return prefix + path or "/"

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name in ("New", "NewContextMux"):
            return it.new_router(self.kind, ctx, call)
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        nodes: list[Node | None] = list(arguments(call))
        if len(args) == 1 and isinstance(args[0], tuple):
            # `g.Handler(instrument("GET", "/x", h))`: the call's results are the arguments.
            args = list(args[0])
            nodes = [None] * len(args)
        if name in _VERBS and len(args) >= 2 and isinstance(args[0], str):
            it.add_route(router, name, args[0], args[1], nodes[1], ctx)
        elif name in ("Handle", "Handler") and len(args) >= 3:
            if isinstance(args[0], str) and isinstance(args[1], str):
                it.add_route(router, args[0], args[1], args[2], nodes[2], ctx)
        elif name in ("NewGroup", "NewContextGroup") and args and isinstance(args[0], str):
            return it.add_group(router, args[0].removesuffix("/"), ctx, call)
        elif name == "UsingContext":
            # The same tree and prefix, with http.HandlerFunc handlers.
            return router
        return None


class HttpTreeMuxFramework(GoFramework):
    name = "httptreemux"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = PACKAGES
    language = "go"
    responder = HTTP_RESPONDER

    def dialects(self) -> list[Dialect]:
        return [HttpTreeMuxDialect()]

    def claims(self, mod: GoMod) -> bool:
        return mod.requires_any(PACKAGES)
