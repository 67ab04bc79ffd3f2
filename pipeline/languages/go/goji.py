"""Goji (github.com/zenazn/goji): muxes, the default mux, sub-routers, and masking.

`web.New()` is a Mux with sinatra-like methods (`m.Get("/jobs/:id", h)`); the `goji`
package registers on its default mux (`goji.Get(...)`) and `goji.Serve()` serves it. Either
server listens where goji's `bind.Default()` says: `:$PORT` when PORT is set, else :8000.
Handlers take a `web.C` before the ResponseWriter (`func(c web.C, w, r)`), or are plain
`http.Handler`s; the ResponseWriter answers either way, so the net/http responder masks
them. Paths keep the library's syntax (`:id`, a trailing `*`), as gin's do. Patterns given
as regular expressions are left out: no path can be read from them.
"""

from __future__ import annotations

from pipeline.languages.go.framework import GoFramework
from pipeline.languages.go.interpreter import Dialect, Interpreter
from pipeline.languages.go.nethttp import HTTP_RESPONDER
from pipeline.languages.go.project import GoMod
from pipeline.languages.go.syntax import METHOD_NAMED_VERBS, Node, arguments
from pipeline.languages.go.values import UNHANDLED, Ctx, Edge, Listen, Router, Strip

MODULE = "github.com/zenazn/goji"
PACKAGES = (MODULE, f"{MODULE}/web", f"{MODULE}/bind")
#: goji's bind package listens on :$PORT, else on this port
DEFAULT_PORT = 8000
_VERBS = METHOD_NAMED_VERBS


class GojiDialect(Dialect):
    kind = "goji"
    packages = PACKAGES
    default_port = DEFAULT_PORT

    def __init__(self) -> None:
        self._default_mux: Router | None = None

    def join(self, prefix: str, path: str) -> str:
        # A sub-router mounted at `/admin/*` sees paths without `/admin` (middleware.SubRouter).
        return prefix + path if prefix else path or "/"

    def default_mux(self, it: Interpreter, ctx: Ctx, call: Node) -> Router:
        if self._default_mux is None:
            self._default_mux = it.new_router(self.kind, ctx, call)
        return self._default_mux

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name == "New":  # web.New()
            return it.new_router(self.kind, ctx, call)
        if name == "DefaultMux":
            return self.default_mux(it, ctx, call)
        if name in _VERBS or name == "Handle":  # goji.Get(...): the default mux
            self.router_call(it, self.default_mux(it, ctx, call), name, call, args, ctx)
            return None
        if name in ("Serve", "ServeTLS", "ServeListener"):
            it.listens.append(Listen(None, default=DEFAULT_PORT, serves=self.default_mux(it, ctx, call)))
            return None
        if name == "Default":  # bind.Default(): the listener `http.Serve` is then handed
            it.listens.append(Listen(None, default=DEFAULT_PORT))
            return None
        if name in ("Use", "Abandon", "Insert", "NotFound", "WithFlag"):
            return None
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        nodes = arguments(call)
        if len(args) < 2 or not isinstance(args[0], str):
            return router if name in ("Use", "Abandon", "Insert") else None
        pattern, value = args[0], args[1]
        if isinstance(value, Strip):
            value = value.inner
        if name in _VERBS:
            it.add_route(router, _VERBS[name], pattern, value, nodes[1], ctx)
        elif name == "Handle":
            if isinstance(value, Router):
                # `m.Handle("/admin/*", admin)`: the sub-router answers under the prefix.
                it.edges.append(Edge(router, pattern.removesuffix("*").rstrip("/"), value))
            else:
                it.add_route(router, "ANY", pattern, value, nodes[1], ctx)
        return None


class GojiFramework(GoFramework):
    name = "goji"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = (MODULE,)
    language = "go"
    responder = HTTP_RESPONDER

    def dialects(self) -> list[Dialect]:
        return [GojiDialect()]

    def claims(self, mod: GoMod) -> bool:
        return mod.requires_any([MODULE])
