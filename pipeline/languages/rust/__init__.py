"""Rust: Axum and Actix Web services."""

from pathlib import Path

from pipeline.languages.base import Grammar, Language
from pipeline.languages.rust import cargo, reach, toolchain
from pipeline.languages.rust.actix import ActixFramework
from pipeline.languages.rust.axum import AxumFramework


class RustLanguage(Language):
    def version_for_failure(self, detail: dict[str, str]) -> str | None:
        # Cargo.lock version 4 needs cargo 1.78; edition 2024 needs 1.85.
        if detail.get("lock") == "4":
            return "1.78"
        if detail.get("edition"):
            return "1.85"
        return None

    def detect_toolchain(self, root: Path, *, offline: bool, entrypoint: str | None = None) -> toolchain.Toolchain:
        detected = toolchain.detect(root, offline=offline, entrypoint=entrypoint)
        return reach.workspace_root_layer(detected, root)

    def declared_versions(self, root: Path) -> dict[str, str]:
        return cargo.declared_versions(root)

    def pin_dependency(self, dockerfile: str, package: str, version: str) -> str | None:
        return toolchain.with_pinned(dockerfile, package, version)

    def fetch_toolchain(self, dockerfile: str, version: str) -> str | None:
        return toolchain.with_rustup(dockerfile, version)

    def outside_paths(self, root: Path, repo_root: Path) -> list[reach.Reach]:
        return reach.outside_paths(root, repo_root)

    def widen_toolchain(
        self, tc: toolchain.Toolchain, root: Path, context: Path, *, offline: bool, entrypoint: str | None = None
    ) -> toolchain.Toolchain:
        return reach.widen(root, context, offline=offline, entrypoint=entrypoint)


LANGUAGE = RustLanguage(
    name="rust",
    build_cost=12,
    aliases=(),
    frameworks=(AxumFramework(), ActixFramework()),
    toolchain=toolchain,
    grammars={"rust": Grammar("tree_sitter_rust")},
    suffixes={".rs": "rust"},
    delegate_queries={
        "rust": (
            "(function_item name: (identifier) @name) @def",
            """
            (call_expression function: [
              (identifier) @name
              (field_expression field: (field_identifier) @name)
              (scoped_identifier name: (identifier) @name)
            ])
            """,
        ),
    },
    manifest_files=("Cargo.toml",),
    server_dependencies={
        "tokio-postgres": "postgresql",
        "postgres": "postgresql",
        "mysql": "mysql",
        "mysql_async": "mysql",
        "redis": "redis",
        "mongodb": "mongodb",
    },
    dockerignore=("target",),
    default_build="cargo build --release",
    unfreeze=((r" --locked\b", ""),),
    log_version_is_minimum=True,
    # rustc: `error[E0308]: mismatched types` and the `--> src/main.rs:3:5` under it
    compile_error=r"^error(?:\[E\d+\])?: .+\n\s*--> .+$",
)
