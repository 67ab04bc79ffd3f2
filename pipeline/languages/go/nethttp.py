"""net/http: ServeMux and the default mux, Go 1.22 method patterns, StripPrefix mounts."""

from __future__ import annotations

from typing import ClassVar

from pipeline.languages.go.framework import GoFramework
from pipeline.languages.go.interpreter import Dialect, NetHttpDialect
from pipeline.languages.go.masking import Responder
from pipeline.languages.go.project import GoMod

#: Modules that require one of these belong to the router's own framework module.
ROUTER_PACKAGES = (
    "github.com/gin-gonic/gin",
    "github.com/labstack/echo/v4",
    "github.com/labstack/echo",
    "github.com/go-chi/chi/v5",
    "github.com/go-chi/chi",
    "github.com/gorilla/mux",
    "github.com/dimfeld/httptreemux/v5",
    "github.com/dimfeld/httptreemux",
    "github.com/zenazn/goji",
)

#: `http.Error(w, "not implemented", http.StatusNotImplemented)`, shared with chi.
HTTP_RESPONDER = Responder(
    accepts=lambda typ: typ.endswith("ResponseWriter"),
    statement='{http}.Error({p}, "not implemented", {http}.StatusNotImplemented)',
    default_name="w",
    without_http="{p}.WriteHeader(501)",
    canned_empty="{p}.WriteHeader({status})",
    canned_json=(
        '{p}.Header().Set("Content-Type", "application/json"); {p}.WriteHeader({status}); {p}.Write([]byte({body}))'
    ),
    # Read and written in chunks with no import: adding `io` would shift the offsets of
    # the handlers still to be masked in the file.
    canned_echo=(
        '{p}.Header().Set("Content-Type", "application/json"); {p}.WriteHeader({status}); '
        "abcChunk := make([]byte, 4096); "
        "for { n, err := {r}.Body.Read(abcChunk); {p}.Write(abcChunk[:n]); if err != nil { break } }"
    ),
)


class NetHttpFramework(GoFramework):
    name = "nethttp"
    language = "go"
    responder = HTTP_RESPONDER
    needs_routes: ClassVar[bool] = True

    def dialects(self) -> list[Dialect]:
        return [NetHttpDialect()]

    def claims(self, mod: GoMod) -> bool:
        return not mod.requires_any(ROUTER_PACKAGES)
