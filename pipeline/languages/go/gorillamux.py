"""gorilla/mux: routers, routes built by chained matchers, subrouters under a prefix, and masking.

A gorilla route is a builder: `r.HandleFunc("/x", h).Methods("GET")` gives the path and
handler first and the methods after, `r.Methods("GET").Path("/x").HandlerFunc(h)` the other
way round. So a route is a value of its own (`MuxRoute`) that re-records its endpoints each
time a link of the chain adds to it. A subrouter (`r.PathPrefix("/api").Subrouter()`)
is a child router mounted under the route's path, and keeps the route's methods, which
gorilla copies into every route made on it. Handlers are plain net/http ones.
"""

from __future__ import annotations

from pipeline.languages.go.framework import GoFramework
from pipeline.languages.go.interpreter import Dialect, Interpreter
from pipeline.languages.go.nethttp import HTTP_RESPONDER
from pipeline.languages.go.project import GoMod
from pipeline.languages.go.syntax import Node, arguments
from pipeline.languages.go.values import UNHANDLED, Ctx, Edge, RawRoute, Router, Strip

PACKAGES = ("github.com/gorilla/mux",)
KIND = "gorillamux"
#: Route matchers that do not change the path or the methods: the chain goes on.
_MATCHERS = frozenset(
    {"Name", "Host", "Headers", "HeadersRegexp", "Queries", "Schemes", "MatcherFunc", "BuildVarsFunc"}
)
#: Router settings that return the router itself.
_SETTINGS = frozenset({"StrictSlash", "SkipClean", "UseEncodedPath"})


def template_path(template: str) -> str:
    """`/x/{id:[0-9]{3}}` -> `/x/{id}`: a variable's pattern (which may hold braces) dropped."""
    out: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(template):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                out.append("{" + template[start + 1 : index].split(":", 1)[0].strip() + "}")
        elif depth == 0:
            out.append(char)
    return "".join(out)


class MuxRouter(Router):
    """A gorilla Router; a subrouter's routes answer only the methods its route matched."""

    def __init__(self, label: str, methods: tuple[str, ...] = ()) -> None:
        super().__init__(KIND, label)
        self.methods = methods


class MuxRoute(Router):
    """A gorilla Route being built along a chain of calls.

    A Router to the interpreter, which hands the calls on Router values to their dialect.
    """

    def __init__(self, router: MuxRouter, label: str) -> None:
        super().__init__(KIND, label)
        self.router = router
        #: the path template, relative to the router's prefix; None until Path/PathPrefix
        self.path: str | None = None
        self.prefix = False
        self.methods: tuple[str, ...] = ()
        self.handler: tuple[object, Node | None, Ctx] | None = None
        #: the endpoints recorded so far, replaced when the chain adds to the route
        self.recorded: list[RawRoute] = []


def _spread(args: list[object], nodes: list[Node]) -> tuple[list[object], list[Node | None]]:
    """`f(g())` passes all of g's results: the arguments, and their nodes where known."""
    if len(args) == 1 and isinstance(args[0], tuple):
        return list(args[0]), [None] * len(args[0])
    return args, list(nodes)


class GorillaMuxDialect(Dialect):
    kind = KIND
    packages = PACKAGES

    def join(self, prefix: str, path: str) -> str:
        # gorilla prepends the parent's template less its trailing slashes.
        if not prefix:
            return path or "/"
        return prefix.rstrip("/") + path or "/"

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name == "NewRouter":
            return self.new_router(it, ctx, call, ())
        return UNHANDLED

    def new_router(self, it: Interpreter, ctx: Ctx, node: Node, methods: tuple[str, ...]) -> MuxRouter:
        router = MuxRouter(f"{ctx.file.rel}:{node.start_point.row + 1}", methods)
        it.routers.append(router)
        return router

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        if isinstance(router, MuxRoute):
            return self.route_call(it, router, name, call, args, ctx)
        if not isinstance(router, MuxRouter):
            return None
        if name in _SETTINGS:
            return router
        if name in ("HandleFunc", "Handle"):
            # Router.Handle(path, h) is NewRoute().Path(path).Handler(h).
            route = MuxRoute(router, f"{ctx.file.rel}:{call.start_point.row + 1}")
            args, nodes = _spread(args, arguments(call))
            if len(args) >= 2 and isinstance(args[0], str):
                route.path = template_path(args[0])
                self.set_handler(it, route, args[1], nodes[1], ctx)
            return route
        if name == "NewRoute" or name in _MATCHERS or name in ("Path", "PathPrefix", "Methods"):
            route = MuxRoute(router, f"{ctx.file.rel}:{call.start_point.row + 1}")
            return route if name == "NewRoute" else self.route_call(it, route, name, call, args, ctx)
        return None

    def route_call(
        self, it: Interpreter, route: MuxRoute, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        if name in ("Path", "PathPrefix") and args and isinstance(args[0], str):
            template = template_path(args[0])
            # A second path matcher on one route extends the first, as gorilla does.
            route.path = template if route.path is None else route.path.rstrip("/") + template
            route.prefix = name == "PathPrefix"
            self.record(it, route)
        elif name == "Methods":
            flat = [m for a in args for m in (a if isinstance(a, list) else [a])]
            route.methods = tuple(m.upper() for m in flat if isinstance(m, str))
            self.record(it, route)
        elif name in ("Handler", "HandlerFunc") and args:
            args, nodes = _spread(args, arguments(call))
            self.set_handler(it, route, args[0], nodes[0], ctx)
        elif name == "Subrouter":
            child = self.new_router(it, ctx, call, route.methods or route.router.methods)
            it.edges.append(Edge(route.router, route.path or "", child))
            return child
        elif name not in _MATCHERS:
            return None
        return route

    def set_handler(self, it: Interpreter, route: MuxRoute, value: object, node: Node | None, ctx: Ctx) -> None:
        if isinstance(value, Strip) and isinstance(value.inner, Router):
            it.edges.append(Edge(route.router, value.prefix, value.inner))
        elif isinstance(value, Router):
            # Another router handed the request sees the full path: its routes are absolute.
            it.edges.append(Edge(route.router, "", value))
        else:
            # StripPrefix around a function changes what it sees, not who answers.
            route.handler = (value.inner if isinstance(value, Strip) else value, node, ctx)
            self.record(it, route)

    def record(self, it: Interpreter, route: MuxRoute) -> None:
        """(Re-)record the route's endpoints: one per method, or ANY when no method matcher."""
        if route.recorded:
            gone = {id(raw) for raw in route.recorded}
            it.routes[:] = [raw for raw in it.routes if id(raw) not in gone]
            route.recorded = []
        if route.handler is None or route.path is None:
            return
        value, node, ctx = route.handler
        # A prefix route answers everything below it; `/*` as chi writes a catch-all.
        path = route.path.rstrip("/") + "/*" if route.prefix else route.path
        for method in route.methods or route.router.methods or ("ANY",):
            it.add_route(route.router, method, path, value, node, ctx)
            route.recorded.append(it.routes[-1])


class GorillaMuxFramework(GoFramework):
    name = "gorillamux"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = PACKAGES
    language = "go"
    responder = HTTP_RESPONDER

    def dialects(self) -> list[Dialect]:
        return [GorillaMuxDialect()]

    def claims(self, mod: GoMod) -> bool:
        return mod.requires_any(PACKAGES)
