"""What every language toolchain module detects, and the small helpers they share.

One module per language (python.py, javascript.py, go.py, ...) reads a service root's
manifests and lock files and returns a `Toolchain`: the facts the language's Dockerfile
template needs (which files to copy before the source so the dependency layer is cached,
how to install, how to build, what the build produces) plus the base image for the
language version the repository asks for.

Base images: the version the repository states picks the official tag when one exists.
When it states none, or the local stand-in's version satisfies it, the stand-in's name is
used (see docker/base/*.Dockerfile), so the same Dockerfile builds online and offline.
Offline (Settings.offline) only the stand-in names exist; a version they cannot satisfy
is kept in `notes`, and the build then fails as wrong_language_version, with that note.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class Toolchain(BaseModel):
    """How one service is installed, built and started, as its manifests say."""

    language: str
    language_version: str | None = Field(default=None, description="the version the image is chosen for, e.g. 3.12")
    version_source: str | None = Field(default=None, description="the file (and key) that stated the version")
    package_manager: str = Field(description="pip, poetry, uv, npm, pnpm, go, maven, gradle, dotnet, bundler, ...")
    manifests: list[str] = Field(
        default_factory=list,
        description="files (or folders, ending in /) copied before the source: the dependency layer's only inputs",
    )
    install_command: str | None = Field(default=None, description="installs dependencies from the manifests alone")
    build_command: str | None = Field(default=None, description="runs after the whole source is copied")
    artifact: str | None = Field(default=None, description="what the build produces, e.g. /app/server")
    start_command: list[str] = Field(
        default_factory=list, description="a start command when the framework module gives none"
    )
    default_port: int = Field(default=8080, description="the port the language's servers usually use")
    system_packages: list[str] = Field(default_factory=list, description="Debian packages the build needs")
    setup_commands: list[str] = Field(
        default_factory=list, description="build-time set-up after the source, e.g. migrating a SQLite database"
    )
    env: dict[str, str] = Field(default_factory=dict, description="env vars the toolchain itself needs at run time")
    base_image: str = Field(description="the FROM image of the Dockerfile")
    runtime_image: str | None = Field(default=None, description="a second, smaller image to run in (multi-stage)")
    facts: dict[str, str] = Field(
        default_factory=dict, description="language-specific facts the template uses (bin name, assembly, ...)"
    )
    notes: list[str] = Field(default_factory=list, description="why an image or command was chosen; what may fail")
    generated_files: dict[str, str] = Field(
        default_factory=dict,
        description="files the build needs that the repository lacks (path under the service root -> text), "
        "written beside the Dockerfile: a pom translated from build.gradle",
    )


# --------------------------------------------------------------------------- files


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def existing(root: Path, names: list[str]) -> list[str]:
    """The names (files, or folders ending in /) that exist under root, in the given order."""
    out = []
    for name in names:
        path = root / name.rstrip("/")
        if (name.endswith("/") and path.is_dir()) or (not name.endswith("/") and path.is_file()):
            out.append(name)
    return out


#: Dependency and build folders: no service's own files are in them.
SKIPPED_FOLDERS = frozenset({"node_modules", "vendor", "target", "build", "dist", "venv", "bin", "obj", "tmp"})


def source_files(
    root: Path, suffix: str | tuple[str, ...], limit: int = 2000, skip: frozenset[str] = SKIPPED_FOLDERS
) -> list[Path]:
    """Files under root whose names end in `suffix`, skipping dependency and build folders and
    hidden ones (bounded: big repos)."""
    out: list[Path] = []
    stack = [root]
    while stack and len(out) < limit:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in skip and not entry.name.startswith("."):
                    stack.append(entry)
            elif entry.name.endswith(suffix):
                out.append(entry)
    return sorted(out)


# --------------------------------------------------------------------------- versions


def parse_version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", text)
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def _cmp(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return (a > b) - (a < b)


def _upper_of_caret(v: tuple[int, ...]) -> tuple[int, ...]:
    for i, part in enumerate(v):
        if part != 0 or i == len(v) - 1:
            return v[:i] + (part + 1,)
    return v


def _one(version: tuple[int, ...], comparator: str) -> bool:
    """One comparator of npm, composer, pip, bundler or cargo syntax, e.g. ^8.1, ~> 3.1, >=3.9, 3.12.*.

    `version` is an image tag's major.minor, which brings the newest patch release: it is
    compared as x.y.999 against lower bounds and as x.y.0 against upper bounds.
    """
    match = re.match(r"(\^|~>|~=|~|>=|<=|>|<|==|=|!=)?\s*v?([\d.*x]+)", comparator.strip())
    if not match:
        return True  # an unknown form (a URL, a tag) constrains nothing we can check
    op, raw = match.group(1) or "", match.group(2).rstrip(".")
    prefix = tuple(int(p) for p in re.findall(r"\d+", re.split(r"[*x]", raw)[0]))
    if not prefix:
        return True
    high = version + (999,) * max(0, len(prefix) - len(version))
    low = version + (0,) * max(0, len(prefix) - len(version))
    if op in ("", "=", "==") or "*" in raw or "x" in raw:
        # "3.12.*", "18.x", "18", "=8.2", "==3.12.1": the version at the tag's precision
        width = min(len(prefix), len(version))
        return version[:width] == prefix[:width]
    if op == "!=":
        return _cmp(version, prefix) != 0
    if op == ">=":
        return _cmp(high, prefix) >= 0
    if op == ">":
        return _cmp(high, prefix) > 0
    if op == "<=":
        return _cmp(low, prefix) <= 0
    if op == "<":
        return _cmp(low, prefix) < 0
    if op == "^":
        upper = _upper_of_caret(prefix)
    elif op in ("~>", "~="):  # pessimistic: ~> 3.1 means >= 3.1, < 4; ~> 3.1.2 means < 3.2
        upper = prefix[:-1] if len(prefix) > 1 else prefix
        upper = upper[:-1] + (upper[-1] + 1,)
    else:  # npm/composer tilde: ~1.2 means >= 1.2, < 1.3
        upper = prefix[:2]
        upper = upper[:-1] + (upper[-1] + 1,)
    return _cmp(high, prefix) >= 0 and _cmp(low, upper) < 0


def satisfies(version: str, constraint: str) -> bool:
    """Whether `version` (an image tag's "3.11") meets a constraint in any ecosystem's syntax.

    Alternatives are separated by || or | (npm, composer); comparators by commas or spaces.
    """
    parsed = parse_version(version)
    if parsed is None:
        return False
    for alternative in re.split(r"\|\|?", constraint):
        parts = re.findall(r"(?:\^|~>|~=|~|>=|<=|>|<|==|=|!=)?\s*v?[\d][\d.*x]*", alternative)
        if all(_one(parsed, part) for part in parts):
            return True
    return False


def pick_version(constraint: str | None, candidates: list[str], preferred: str) -> str | None:
    """The version to build with: `preferred` (the stand-in's) when it meets the constraint,
    else the lowest candidate that does, else None (nothing known meets it)."""
    if not constraint:
        return preferred
    if satisfies(preferred, constraint):
        return preferred
    for candidate in candidates:
        if satisfies(candidate, constraint):
            return candidate
    return None


def major_minor(text: str) -> str | None:
    version = parse_version(text)
    if version is None:
        return None
    return ".".join(str(p) for p in version[:2])


def offline_version(constraint: str | None, stand_ins: list[str], preferred: str) -> tuple[str, bool]:
    """The stand-in to build with offline for a version `constraint` (">=3.12", "^20",
    "==3.12"): the one pick_version takes among the stand-ins, and True; else the oldest
    at least as new as the first version the constraint names (3.13 for "==3.12", closer
    than 3.11), or the newest, and False."""
    picked = pick_version(constraint, stand_ins, preferred)
    if picked is not None:
        return picked, True
    named = re.search(r"\d+(?:\.\d+)?", constraint or "")
    version, _ = local_stand_in(named.group(0) if named else None, stand_ins)
    return version, False


def local_stand_in(minimum: str | None, stand_ins: list[str]) -> tuple[str, bool]:
    """The stand-in version (docker/base recipes; oldest first) to build with offline when a
    repository states `minimum`: the oldest one at least as new, and True; else the newest,
    and False (it cannot satisfy the minimum: the caller says so in a note)."""
    wanted = parse_version(minimum) if minimum else None
    if wanted is None:
        return stand_ins[0], True
    for version in stand_ins:
        if _cmp(parse_version(version) or (0,), wanted[:2]) >= 0:
            return version, True
    return stand_ins[-1], False
