"""JavaScript/TypeScript: what a service's build or start needs outside its folder.

Two kinds: package.json dependencies on a folder (`"lib": "file:../lib"`, `link:`), and
relative `require`/`import` specifiers of its source that climb out of it
(`require('../../webpack-plugin/index')`). Each is reached as the package that holds it
(the nearest folder with a package.json), so its own dependencies are installed too:
npm does not install those of a folder dependency outside the project, and Node resolves a
required file's imports from that file's folder up.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline.languages import treesitter as ts
from pipeline.languages.javascript import toolchain
from pipeline.languages.javascript.project import SUFFIXES, is_test_path
from pipeline.languages.reach import Reach, outside, relative_from
from pipeline.languages.toolchain import Toolchain, existing, read_json

_DEPENDENCY_KEYS = ("dependencies", "devDependencies", "optionalDependencies")
# require('../x'), import('../x'), `import x from '../x'`, `export * from '../x'`, `import '../x'`.
_RELATIVE_SPECIFIER = re.compile(
    r"""(?:\brequire\s*\(\s*|\bimport\s*\(\s*|\bfrom\s+|^\s*import\s+)(['"])(\.\.?/[^'"\n]*)\1""", re.MULTILINE
)


def _package_of(target: Path, root: Path, repo_root: Path) -> Path:
    """The folder that holds `target` as a package: the nearest with a package.json that is
    not the service's own nor an ancestor of it (whose packages the service does not
    install); else the target's own folder."""
    base = target if target.is_dir() else target.parent
    for folder in (base, *base.parents):
        if not folder.is_relative_to(repo_root) or root.is_relative_to(folder):
            break
        if (folder / "package.json").is_file():
            return folder
    return base


def _exists(target: Path) -> bool:
    """Whether Node could resolve `target` to something in the repository (the file, with
    a source suffix, or a folder)."""
    if target.exists():
        return True
    return any(target.with_name(target.name + suffix).is_file() for suffix in (*SUFFIXES, ".json"))


def outside_paths(root: Path, repo_root: Path) -> list[Reach]:
    root = Path(os.path.normpath(root))
    repo_root = Path(os.path.normpath(repo_root))
    named: list[tuple[Path, str]] = []
    manifest = read_json(root / "package.json")
    for key in _DEPENDENCY_KEYS:
        table = manifest.get(key)
        for name, spec in table.items() if isinstance(table, dict) else ():
            if isinstance(spec, str) and spec.startswith(("file:", "link:")):
                named.append((root / spec.split(":", 1)[1], f"package.json: {name} {spec}"))
    for path, rel, content in ts.iter_files(root, repo_root, lambda name: name.endswith(SUFFIXES)):
        if "node_modules" in Path(rel).parts or is_test_path(path.relative_to(root).as_posix()):
            continue
        for match in _RELATIVE_SPECIFIER.finditer(content.decode("utf-8", errors="replace")):
            named.append((path.parent / match.group(2), f"{rel}: {match.group(2)!r}"))
    found: dict[str, Reach] = {}
    for target, reason in named:
        target = Path(os.path.normpath(target))
        # A specifier naming nothing there (a generated file, an example in a comment)
        # is not worth a wider context: the build would not find it anyway.
        if target.is_relative_to(root) or not _exists(target):
            continue
        reach = outside(root, repo_root, _package_of(target, root, repo_root), reason)
        if reach is not None and reach.path not in found:
            found[reach.path] = reach
    return list(found.values())


def _dependencies_only(tc: Toolchain) -> str:
    """A reached package's install without its own lifecycle scripts: a prepublish or
    prepare that builds it needs its source, which is not in the dependency layer (and the
    service requires its source as it is). Its dependencies' scripts (native modules) still
    run, through the rebuild."""
    install = tc.install_command or ""
    if "--ignore-scripts" in install or "corepack" in install:
        return install
    rebuild = "pnpm rebuild" if tc.package_manager == "pnpm" else "npm rebuild"
    return f"{install} --ignore-scripts && {rebuild}"


def widen(tc: Toolchain, root: Path, context: Path, *, offline: bool) -> Toolchain:
    """The service's toolchain, plus each reached package's manifests in the dependency layer
    and its install, run in its folder after the service's own."""
    manifests = list(tc.manifests)
    installs = [tc.install_command] if tc.install_command else []
    for reach in outside_paths(root, context):
        folder = Path(os.path.normpath(context / reach.path))
        if not (folder / "package.json").is_file():
            continue
        own = toolchain.detect(folder, offline=offline)
        named = relative_from(root, folder)
        manifests += [f"{named}/{m}" for m in existing(folder, own.manifests)]
        if own.install_command:
            installs.append(f"(cd {named} && {_dependencies_only(own)})")
    return tc.model_copy(
        update={"manifests": list(dict.fromkeys(manifests)), "install_command": " && ".join(installs) or None}
    )
