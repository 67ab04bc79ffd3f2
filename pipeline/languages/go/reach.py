"""Go: what a module's build needs outside its folder: the folders its go.mod `replace`s
name (`replace example.com/lib => ../lib`, a plugin's `=> ../..`).

Only the main module's replaces count (Go ignores those of the modules it replaces), and a
replace by a folder outside the repository is left to the toolchain (it builds the
published version, toolchain._outside_replaces)."""

from __future__ import annotations

from pathlib import Path

from pipeline.languages.go.toolchain import detect, local_replaces
from pipeline.languages.reach import Reach, outside
from pipeline.languages.toolchain import Toolchain, read_text


def outside_paths(root: Path, repo_root: Path) -> list[Reach]:
    gomod = read_text(root / "go.mod")
    if not gomod or (root / "vendor" / "modules.txt").is_file():
        return []
    found = []
    for spec, target in local_replaces(gomod).items():
        folder = root / target
        # A replace whose folder holds no module fails the build wherever the context ends.
        if not (folder / "go.mod").is_file():
            continue
        reach = outside(root, repo_root, folder, f"go.mod: replace {spec} => {target}")
        if reach is not None:
            found.append(reach)
    return found


def widen(root: Path, context: Path, *, offline: bool, entrypoint: str | None) -> Toolchain:
    """The toolchain again, with the replaced folders inside `context` kept (not dropped)
    and their go.mod in the dependency layer."""
    return detect(root, offline=offline, entrypoint=entrypoint, context=context)
