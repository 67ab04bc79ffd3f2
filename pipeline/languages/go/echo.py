"""Echo: instances, (nested) groups, Any/Match/Add, handlers, and masking."""

from __future__ import annotations

from pipeline.languages.go.framework import GoFramework
from pipeline.languages.go.interpreter import Dialect, Interpreter
from pipeline.languages.go.masking import Responder
from pipeline.languages.go.project import GoMod
from pipeline.languages.go.syntax import Node, arguments
from pipeline.languages.go.values import UNHANDLED, Ctx, Listen, Router

PACKAGES = ("github.com/labstack/echo/v4", "github.com/labstack/echo")
_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE")


class EchoDialect(Dialect):
    kind = "echo"
    packages = PACKAGES

    def join(self, prefix: str, path: str) -> str:
        # Echo concatenates a group's prefix and the route path, then makes it absolute.
        joined = prefix + path
        return joined if joined.startswith("/") else "/" + joined

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name == "New":
            return it.new_router(self.kind, ctx, call)
        if name in ("WrapHandler",) and args:
            return args[0]
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        nodes = arguments(call)
        # Echo takes the handler first and route middlewares after it: GET(path, h, m...).
        if name in _VERBS or name == "Any":
            if len(args) >= 2 and isinstance(args[0], str):
                it.add_route(router, "ANY" if name == "Any" else name, args[0], args[1], nodes[1], ctx)
        elif name == "Add":
            if len(args) >= 3 and isinstance(args[0], str) and isinstance(args[1], str):
                it.add_route(router, args[0], args[1], args[2], nodes[2], ctx)
        elif name == "Match":
            if len(args) >= 3 and isinstance(args[0], list) and isinstance(args[1], str):
                for method in args[0]:
                    if isinstance(method, str):
                        it.add_route(router, method, args[1], args[2], nodes[2], ctx)
        elif name == "Group":
            return it.add_group(router, args[0] if args and isinstance(args[0], str) else "", ctx, call)
        elif name in ("Start", "StartTLS", "StartAutoTLS") and args:
            it.listens.append(Listen(args[0], serves=router))
        return None


class EchoFramework(GoFramework):
    name = "echo"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("github.com/labstack/echo/v4",)
    language = "go"
    responder = Responder(
        accepts=lambda typ: typ.endswith("echo.Context"),
        statement="return {p}.NoContent(501)",
        default_name="c",
        canned_empty="return {p}.NoContent({status})",
        canned_json='return {p}.Blob({status}, "application/json", []byte({body}))',
        canned_echo='return {p}.Stream({status}, "application/json", {p}.Request().Body)',
    )

    def dialects(self) -> list[Dialect]:
        return [EchoDialect()]

    def claims(self, mod: GoMod) -> bool:
        return mod.requires_any(PACKAGES)
