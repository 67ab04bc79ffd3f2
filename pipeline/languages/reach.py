"""What a service's build reaches outside its own folder, as each language finds it.

A service root is the folder the service's manifests are in, but its code or manifests may
name files above it: a go.mod `replace ... => ../..`, a Cargo workspace or `path = "../x"`
dependency, a package.json `file:../lib`, a `require('../../lib')`. Each language lists them
(`Language.outside_paths`, in its own reach.py); the environment stage then builds from the
smallest folder holding them all (stages/build_context.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field


class Reach(BaseModel):
    """A folder (or file) outside the service root that its build or start needs."""

    path: str = Field(description="relative to the repository root, posix; never above it")
    reason: str = Field(description="what names it, in words: `go.mod: replace x => ../lib`")


def outside(root: Path, repo_root: Path, target: Path, reason: str) -> Reach | None:
    """`target` as a Reach when it is outside `root` but inside the repository, else None.

    Paths are compared without resolving symbolic links (a repository's link to a sibling
    folder is reached through the link's own place)."""
    target_abs = Path(os.path.normpath(target))
    root_abs = Path(os.path.normpath(root))
    repo_abs = Path(os.path.normpath(repo_root))
    if target_abs.is_relative_to(root_abs) or not target_abs.is_relative_to(repo_abs):
        return None
    return Reach(path=target_abs.relative_to(repo_abs).as_posix() or ".", reason=reason)


def relative_from(root: Path, target: Path) -> str:
    """`target` relative to `root`, with `..` where it is above (posix): how a service's
    manifests and commands name a file outside its root."""
    return Path(os.path.relpath(os.path.normpath(target), os.path.normpath(root))).as_posix()
