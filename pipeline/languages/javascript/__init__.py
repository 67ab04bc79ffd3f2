"""JavaScript and TypeScript: Express, Koa, Fastify and NestJS services."""

from pathlib import Path

from pipeline.languages.base import Grammar, Language
from pipeline.languages.javascript import reach, toolchain
from pipeline.languages.javascript.express import ExpressFramework
from pipeline.languages.javascript.fastify import FastifyFramework
from pipeline.languages.javascript.koa import KoaFramework
from pipeline.languages.javascript.nestjs import NestJSFramework

_DEFINITIONS = """
(function_declaration name: (identifier) @name) @def
(method_definition name: (property_identifier) @name) @def
(variable_declarator name: (identifier) @name value: [(arrow_function) (function_expression)]) @def
"""
_CALLS = """
(call_expression function: [(identifier) @name (member_expression property: (property_identifier) @name)])
"""

class JavaScriptLanguage(Language):
    def version_for_failure(self, detail: dict[str, str]) -> str | None:
        # require() of an ES module (ERR_REQUIRE_ESM): Node loads them from 20.19 and 22.12 on;
        # node:20's images (and Debian trixie's Node, the stand-in) are 20.19 or newer.
        return "20" if detail.get("esm") else None

    def outside_paths(self, root: Path, repo_root: Path) -> list[reach.Reach]:
        return reach.outside_paths(root, repo_root)

    def widen_toolchain(
        self, tc: toolchain.Toolchain, root: Path, context: Path, *, offline: bool, entrypoint: str | None = None
    ) -> toolchain.Toolchain:
        return reach.widen(tc, root, context, offline=offline)


LANGUAGE = JavaScriptLanguage(
    name="javascript",
    build_cost=2,
    aliases=("typescript",),
    # NestJS before Express: a Nest application is an Express one underneath.
    frameworks=(NestJSFramework(), ExpressFramework(), KoaFramework(), FastifyFramework()),
    toolchain=toolchain,
    grammars={
        "javascript": Grammar("tree_sitter_javascript"),
        "typescript": Grammar("tree_sitter_typescript", "language_typescript"),
        "tsx": Grammar("tree_sitter_typescript", "language_tsx"),
    },
    suffixes={
        ".js": "javascript",
        ".mjs": "javascript",
        ".cjs": "javascript",
        ".jsx": "javascript",
        ".ts": "typescript",
        ".tsx": "tsx",
    },
    delegate_queries={
        "javascript": (_DEFINITIONS, _CALLS),
        "typescript": (_DEFINITIONS, _CALLS),
        "tsx": (_DEFINITIONS, _CALLS),
    },
    manifest_files=("package.json",),
    server_dependencies={
        "pg": "postgresql",
        "pg-promise": "postgresql",
        "postgres": "postgresql",
        "mysql": "mysql",
        "mysql2": "mysql",
        "mariadb": "mysql",
        "redis": "redis",
        "ioredis": "redis",
        "mongoose": "mongodb",
        "mongodb": "mongodb",
    },
    dockerignore=("node_modules",),
    extra_install="npm install --no-save {}",
    default_build="npm run build",
    unfreeze=(
        (r"\bnpm ci\b", "npm install"),
        (r"pnpm install --frozen-lockfile", "pnpm install --no-frozen-lockfile"),
        (r"yarn install --frozen-lockfile", "yarn install"),
        (r"yarn install --immutable", "yarn install"),
    ),
)
