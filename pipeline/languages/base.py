"""What the core knows about a language, and only through this: the `Language` protocol.

Each language folder (pipeline/languages/<name>/) holds its discovery helpers, its
frameworks, its toolchain module (manifests, lock files, base images), its Dockerfile
template, and a `Language` instance in its `__init__.py` that carries the rest of its
knowledge: grammars and delegate queries, environment rules and repair rules. The stages
ask the instance; they never branch on a language's name.

The defaults below are what most languages need; a language overrides what differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from pipeline.languages.framework import Framework
from pipeline.languages.reach import Reach
from pipeline.languages.toolchain import Toolchain

#: Variables a server commonly reads its bind address from (set when it listens on loopback).
DEFAULT_BIND_ENV = {"HOST": "0.0.0.0", "BIND": "0.0.0.0", "BIND_ADDRESS": "0.0.0.0"}


@dataclass(frozen=True)
class Grammar:
    """A tree-sitter grammar: its wheel and the function that returns it."""

    module: str
    function: str = "language"


@dataclass
class Language:
    """One language: its frameworks, toolchain, template, and its environment and repair rules."""

    name: str
    #: Service.language values this language also answers to ("typescript" for JavaScript).
    aliases: tuple[str, ...]
    #: its framework instances, the more specific first where two could claim one service root
    frameworks: tuple[Framework, ...]
    #: the toolchain module: detect(root, offline=, entrypoint=), and image(version),
    #: STAND_IN and OFFICIAL where the language's images are named by version
    toolchain: ModuleType
    #: tree-sitter grammars by name, and the grammar of each source file suffix
    grammars: dict[str, Grammar]
    suffixes: dict[str, str]
    #: per grammar: (definitions query, calls query) for delegate resolution (@def / @name)
    delegate_queries: dict[str, tuple[str, str]]
    #: root files a repository declares its dependencies (and framework) in
    manifest_files: tuple[str, ...] = ()
    #: dependency (driver) names in those manifests that mean the service talks to a server:
    #: name -> server kind (pipeline/stages/sidecars.py KINDS)
    server_dependencies: dict[str, str] = field(default_factory=dict)
    #: .dockerignore lines beyond the common ones
    dockerignore: tuple[str, ...] = ()
    #: installs a framework's extra packages: a format string for the package names
    extra_install: str | None = None
    #: the build step a missing_build_step failure adds when the toolchain names none
    default_build: str | None = None
    #: frozen-lock install commands and their "update the lock" forms (regex, replacement)
    unfreeze: tuple[tuple[str, str], ...] = ()
    #: what makes a server that listens on loopback listen on all interfaces
    bind_env: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BIND_ENV))
    #: a bare version in a build log is a minimum (Go, Rust), not the exact version wanted
    log_version_is_minimum: bool = False
    #: versions are named by their major number alone (Java 17, not 17.0)
    major_versions: bool = False
    #: the compiler's first error in a failed build's output (a regex, multiline): a language
    #: with one has each masked tree built before it is packaged (stages/mask_build.py), and a
    #: build that fails with it is `mask_failed`; None when the image build compiles nothing
    compile_error: str | None = None
    #: seconds its services get to answer after they start, when more than Limits gives
    #: every service (a JVM with Spring on one CPU of a loaded machine takes a minute)
    startup_timeout: int | None = None
    #: how long a cold build and a gate of one of its services usually takes, relative to a
    #: Python one (1): under a time budget the cheaper services of a repository go first
    build_cost: int = 1

    # -- toolchain and images

    @property
    def template(self) -> str:
        """The Dockerfile template's name for pipeline.templates.render."""
        return f"{self.name}/Dockerfile.j2"

    def detect_toolchain(self, root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
        return self.toolchain.detect(root, offline=offline, entrypoint=entrypoint)

    @property
    def official_versions(self) -> list[str]:
        return list(getattr(self.toolchain, "OFFICIAL", []))

    @property
    def stand_in_version(self) -> str | None:
        return getattr(self.toolchain, "STAND_IN", None)

    def image(self, version: str) -> str | None:
        """The official image at `version`; None when the images are not named by version this way."""
        image = getattr(self.toolchain, "image", None)
        return image(version) if image is not None else None

    def stand_in_image(self) -> str | None:
        """The image name a local stand-in exists for (docker/base), None when there is none."""
        version = self.stand_in_version
        return self.image(version) if version else None

    # -- a build that needs files outside the service root

    def outside_paths(self, root: Path, repo_root: Path) -> list[Reach]:
        """What the service at `root` names outside its own folder that its build or start
        needs (a module replaced by a folder above it, a workspace it belongs to, a sibling
        folder its code requires). The build context becomes the smallest folder holding them
        (stages/build_context.py); none by default."""
        return []

    def widen_toolchain(
        self, tc: Toolchain, root: Path, context: Path, *, offline: bool, entrypoint: str | None = None
    ) -> Toolchain:
        """The toolchain of the service at `root` when its build context is `context`, an
        ancestor of `root`: manifests may then name files above `root` (`../lib/go.mod`),
        and commands still run in `root`. Unchanged by default."""
        return tc

    # -- environment rules

    def service_env(self, port: int) -> dict[str, str]:
        """Variables every service of the language gets by default (beyond PORT)."""
        return {}

    def extra_install_for(self, tc: Toolchain, packages: list[str]) -> tuple[str | None, list[str]]:
        """The install command for a framework's extra packages, and Debian packages to add."""
        if not packages or self.extra_install is None:
            return None, []
        return self.extra_install.format(" ".join(packages)), []

    # -- repair rules

    def version_for_failure(self, detail: dict[str, str]) -> str | None:
        """A version a failure's details imply by themselves (a lock file's format, a class
        file's version), before the generic reading of "wants version X"; None when none."""
        return None

    def package_for_module(self, module: str) -> str:
        """The registry package that provides an imported top-level `module` (the same name
        unless the language's ecosystem names them apart: Python's `yaml` is PyYAML)."""
        return module

    def fetch_toolchain(self, dockerfile: str, version: str) -> str | None:
        """The Dockerfile with a step that installs `version` of the toolchain over the
        image's own, when no image of that version can be pulled (offline) but the
        toolchain's own distribution server answers; None when the language has no such
        route or the Dockerfile already installs it."""
        return None

    def unlock(self, dockerfile: str) -> str:
        """The Dockerfile after a lock-file mismatch: the language's extra step, if any."""
        return dockerfile

    def declared_versions(self, root: Path) -> dict[str, str]:
        """The versions the service's manifest asks for, by package name (`"0.6.4"`); {} by default."""
        return {}

    def pin_dependency(self, dockerfile: str, package: str, version: str) -> str | None:
        """The Dockerfile building with `package` at exactly `version` (a newer compatible
        release that the build resolved breaks the code), or None when the language cannot."""
        return None

    def version_as_of(self, package: str, moment: str) -> str | None:
        """The newest release of `package` published before `moment` (ISO 8601) in the
        language's registry, or None when unknown or the language cannot ask."""
        return None

    def bind_everywhere(self, port: int) -> dict[str, str]:
        """Variables that make a server listening on loopback listen on all interfaces."""
        return dict(self.bind_env)


def replace_all(text: str, rules: tuple[tuple[str, str], ...]) -> str:
    for pattern, replacement in rules:
        text = re.sub(pattern, replacement, text)
    return text
