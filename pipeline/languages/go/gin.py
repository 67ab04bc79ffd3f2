"""Gin: engines, (nested) groups handed across packages, handlers, and masking."""

from __future__ import annotations

import posixpath
import re

from pipeline.languages.go.framework import GoFramework
from pipeline.languages.go.interpreter import Dialect, Interpreter
from pipeline.languages.go.masking import Responder
from pipeline.languages.go.project import GoMod
from pipeline.languages.go.syntax import Node, arguments
from pipeline.languages.go.values import UNHANDLED, Ctx, Listen, Router

PACKAGE = "github.com/gin-gonic/gin"
_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def gin_join(prefix: str, path: str) -> str:
    """gin's joinPaths: path.Join, keeping the trailing slash the relative path asks for."""
    if not path:
        return prefix or "/"
    joined = posixpath.normpath(re.sub(r"/+", "/", (prefix or "/") + "/" + path))
    if path.endswith("/") and not joined.endswith("/"):
        joined += "/"
    return joined


class GinDialect(Dialect):
    kind = "gin"
    packages = (PACKAGE,)

    def join(self, prefix: str, path: str) -> str:
        return gin_join(prefix, path)

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name in ("Default", "New"):
            return it.new_router(self.kind, ctx, call)
        if name in ("WrapF", "WrapH") and args:
            return args[0]
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        nodes = arguments(call)
        if name in _VERBS or name == "Any":
            if len(args) >= 2 and isinstance(args[0], str):
                # Middlewares come first: the last handler is the one that answers.
                it.add_route(router, "ANY" if name == "Any" else name, args[0], args[-1], nodes[-1], ctx)
        elif name == "Handle":
            if len(args) >= 3 and isinstance(args[0], str) and isinstance(args[1], str):
                it.add_route(router, args[0], args[1], args[-1], nodes[-1], ctx)
        elif name == "Match":
            if len(args) >= 3 and isinstance(args[0], list) and isinstance(args[1], str):
                for method in args[0]:
                    if isinstance(method, str):
                        it.add_route(router, method, args[1], args[-1], nodes[-1], ctx)
        elif name == "Group":
            return it.add_group(router, args[0] if args and isinstance(args[0], str) else "", ctx, call)
        elif name in ("Run", "RunTLS"):
            # r.Run() with no address listens on $PORT, else :8080.
            it.listens.append(Listen(args[0] if args else None, default=8080, serves=router))
        elif name in ("Use", "Handler"):
            return router
        return None


class GinFramework(GoFramework):
    name = "gin"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("github.com/gin-gonic/gin",)
    language = "go"
    responder = Responder(
        accepts=lambda typ: typ.startswith("*") and typ.endswith("gin.Context"),
        statement="{p}.AbortWithStatus(501)",
        default_name="c",
        canned_empty="{p}.AbortWithStatus({status})",
        canned_json='{p}.Data({status}, "application/json", []byte({body}))',
        canned_echo='abcBody, _ := {p}.GetRawData(); {p}.Data({status}, "application/json", abcBody)',
    )

    def dialects(self) -> list[Dialect]:
        return [GinDialect()]

    def claims(self, mod: GoMod) -> bool:
        return mod.requires_any([PACKAGE])
