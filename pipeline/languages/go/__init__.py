"""Go: Gin, Echo, Chi, gorilla/mux, httptreemux, Goji and net/http services."""

import re
from pathlib import Path

from pipeline.languages.base import Grammar, Language
from pipeline.languages.go import reach, toolchain
from pipeline.languages.go.chi import ChiFramework
from pipeline.languages.go.echo import EchoFramework
from pipeline.languages.go.gin import GinFramework
from pipeline.languages.go.goji import GojiFramework
from pipeline.languages.go.gorillamux import GorillaMuxFramework
from pipeline.languages.go.httptreemux import HttpTreeMuxFramework
from pipeline.languages.go.nethttp import NetHttpFramework


class GoLanguage(Language):
    def unlock(self, dockerfile: str) -> str:
        # go.sum out of date: let the module graph be recomputed before the build.
        if "go mod tidy" in dockerfile:
            return dockerfile
        return re.sub(r"RUN (CGO_ENABLED=0 )?go build", r"RUN go mod tidy && \1go build", dockerfile, count=1)

    def outside_paths(self, root: Path, repo_root: Path) -> list[reach.Reach]:
        return reach.outside_paths(root, repo_root)

    def widen_toolchain(
        self, tc: toolchain.Toolchain, root: Path, context: Path, *, offline: bool, entrypoint: str | None = None
    ) -> toolchain.Toolchain:
        return reach.widen(root, context, offline=offline, entrypoint=entrypoint)


LANGUAGE = GoLanguage(
    name="go",
    build_cost=4,
    aliases=(),
    # The routers before plain net/http, which every Go service also imports.
    frameworks=(
        GinFramework(),
        EchoFramework(),
        ChiFramework(),
        GorillaMuxFramework(),
        HttpTreeMuxFramework(),
        GojiFramework(),
        NetHttpFramework(),
    ),
    toolchain=toolchain,
    grammars={"go": Grammar("tree_sitter_go")},
    suffixes={".go": "go"},
    delegate_queries={
        "go": (
            """
            (function_declaration name: (identifier) @name) @def
            (method_declaration name: (field_identifier) @name) @def
            """,
            "(call_expression function: [(identifier) @name (selector_expression field: (field_identifier) @name)])",
        ),
    },
    manifest_files=("go.mod",),
    server_dependencies={
        "github.com/lib/pq": "postgresql",
        "github.com/jackc/pgx/v4": "postgresql",
        "github.com/jackc/pgx/v5": "postgresql",
        "gorm.io/driver/postgres": "postgresql",
        "github.com/go-sql-driver/mysql": "mysql",
        "gorm.io/driver/mysql": "mysql",
        "github.com/go-redis/redis/v8": "redis",
        "github.com/redis/go-redis/v9": "redis",
        "github.com/gomodule/redigo": "redis",
        "go.mongodb.org/mongo-driver": "mongodb",
    },
    default_build="CGO_ENABLED=0 go build -o /app/server .",
    log_version_is_minimum=True,
    # go build: `./handlers.go:12:2: "strings" imported and not used`
    compile_error=r"^\S+\.go:\d+:\d+: .+$",
)
