"""Java: Spring Boot services."""

from pathlib import Path

from pipeline.config import gradle_distributions_reachable
from pipeline.languages.base import Grammar, Language
from pipeline.languages.java import discovery, toolchain
from pipeline.languages.java.spring import SpringFramework
from pipeline.languages.reach import Reach
from pipeline.languages.toolchain import Toolchain


class JavaLanguage(Language):
    def detect_toolchain(self, root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
        return toolchain.detect(
            root, offline=offline, entrypoint=entrypoint, gradle_reachable=gradle_distributions_reachable()
        )

    def outside_paths(self, root: Path, repo_root: Path) -> list[Reach]:
        return discovery.aggregator_reach(root, repo_root)

    def widen_toolchain(
        self, tc: Toolchain, root: Path, context: Path, *, offline: bool, entrypoint: str | None = None
    ) -> Toolchain:
        return toolchain.widen(
            root, context, offline=offline, entrypoint=entrypoint, gradle_reachable=gradle_distributions_reachable()
        )

    def version_for_failure(self, detail: dict[str, str]) -> str | None:
        # "class file version 61.0": class file 61 is Java 17.
        return str(int(detail["classfile"]) - 44) if detail.get("classfile") else None


LANGUAGE = JavaLanguage(
    name="java",
    build_cost=8,
    aliases=(),
    frameworks=(SpringFramework(),),
    toolchain=toolchain,
    grammars={"java": Grammar("tree_sitter_java")},
    suffixes={".java": "java"},
    delegate_queries={
        "java": (
            "(method_declaration name: (identifier) @name) @def",
            "(method_invocation name: (identifier) @name)",
        ),
    },
    manifest_files=("pom.xml", "build.gradle"),
    server_dependencies={
        "postgresql": "postgresql",
        "mysql-connector-java": "mysql",
        "mysql-connector-j": "mysql",
        "mariadb-java-client": "mysql",
        "spring-boot-starter-data-redis": "redis",
        "jedis": "redis",
        "redisson": "redis",
        "redisson-spring-boot-starter": "redis",
        "spring-boot-starter-data-mongodb": "mongodb",
        "mongodb-driver-sync": "mongodb",
    },
    dockerignore=("target", "build", ".gradle"),
    default_build="mvn -B -DskipTests package",
    bind_env={"SERVER_ADDRESS": "0.0.0.0"},
    major_versions=True,
    # javac through Maven (`[ERROR] /app/src/.../A.java:[12,5] cannot find symbol`) or Gradle
    # and plain javac (`A.java:12: error: cannot find symbol`)
    compile_error=r"^(?:\[ERROR\] )?\S+\.java(?::\[\d+,\d+\]|:\d+: error:) .+$",
    # Spring Boot 3 took 46 s to start (51 s with the JVM) on one CPU of a loaded machine,
    # past the 60 s every service gets once the image's first run is counted in.
    startup_timeout=180,
)
