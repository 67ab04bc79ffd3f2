"""Rust: what a crate's build needs outside its folder: the workspace it belongs to and the
crates its `path =` dependencies name, followed through each of them (cargo loads every
member of a workspace and their path dependencies before it builds any one crate).

An example crate of a workspace at the repository's `examples/` whose workspace
dependencies name `../crates/x`, itself a member of the root workspace, reaches the root:
cargo needs all of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.languages.reach import Reach, outside, relative_from
from pipeline.languages.rust import cargo
from pipeline.languages.rust.toolchain import NO_LAYER_NOTE, PLACEHOLDER_MAIN, Widening, detect
from pipeline.languages.toolchain import Toolchain, existing

_DEPENDENCY_KEYS = ("dependencies", "dev-dependencies", "build-dependencies")
# A repository of many crates is followed this far, no further (each step reads one manifest).
_MAX_CRATES = 400


def _path_specs(manifest: dict[str, Any]) -> list[str]:
    """Every `path = ...` of the manifest's dependency tables (dev and build ones too: cargo
    reads their manifests to resolve), and of [workspace.dependencies]."""
    tables: list[Any] = [manifest.get(key) for key in _DEPENDENCY_KEYS]
    for target in (manifest.get("target") or {}).values() if isinstance(manifest.get("target"), dict) else ():
        if isinstance(target, dict):
            tables += [target.get(key) for key in _DEPENDENCY_KEYS]
    workspace = manifest.get("workspace")
    if isinstance(workspace, dict):
        tables.append(workspace.get("dependencies"))
    paths = []
    for table in tables:
        for spec in table.values() if isinstance(table, dict) else ():
            if isinstance(spec, dict) and isinstance(spec.get("path"), str):
                paths.append(spec["path"])
    return paths


def _members(workspace_dir: Path, manifest: dict[str, Any]) -> list[Path]:
    section = manifest.get("workspace")
    if not isinstance(section, dict):
        return []
    excluded = {(workspace_dir / e).resolve() for e in section.get("exclude") or [] if isinstance(e, str)}
    found = []
    for pattern in section.get("members") or []:
        if not isinstance(pattern, str):
            continue
        # "." names the workspace's own package (rustpbx's `members = [".", "crates/x"]`):
        # pathlib's glob takes no empty pattern.
        pattern = pattern.strip().removeprefix("./").rstrip("/")
        folders = [workspace_dir] if pattern in ("", ".") else sorted(workspace_dir.glob(pattern))
        for folder in folders:
            if (folder / "Cargo.toml").is_file() and folder.resolve() not in excluded:
                found.append(folder.resolve())
    return found


def _excluded(workspace_dir: Path, crate_dir: Path) -> bool:
    """Whether the workspace above a crate leaves it out (`exclude = [...]`): cargo then
    builds the crate on its own."""
    manifest = cargo.read_cargo(workspace_dir / "Cargo.toml") or {}
    section = manifest.get("workspace")
    excluded = section.get("exclude") if isinstance(section, dict) else None
    return any(isinstance(e, str) and crate_dir.is_relative_to((workspace_dir / e).resolve()) for e in excluded or [])


def crates_needed(root: Path, repo_root: Path) -> dict[Path, str]:
    """Every crate or workspace folder building `root` loads, with what first named it."""
    top = repo_root.resolve()
    start = root.resolve()
    seen: dict[Path, str] = {start: "the service"}
    queue = [start]
    while queue and len(seen) < _MAX_CRATES:
        crate_dir = queue.pop(0)
        manifest = cargo.read_cargo(crate_dir / "Cargo.toml")
        if manifest is None:
            continue
        named: list[tuple[Path, str]] = []
        rel = crate_dir.relative_to(top).as_posix() if crate_dir.is_relative_to(top) else str(crate_dir)
        workspace = cargo.workspace_root(crate_dir, top)
        if workspace is not None and workspace != crate_dir and not _excluded(workspace, crate_dir):
            named.append((workspace, f"{rel}/Cargo.toml: a member of the workspace at {workspace.relative_to(top)}"))
        named += [(m, f"a member of the workspace at {rel}") for m in _members(crate_dir, manifest)]
        named += [((crate_dir / p).resolve(), f"{rel}/Cargo.toml: path = {p!r}") for p in _path_specs(manifest)]
        for folder, reason in named:
            if folder not in seen and folder.is_relative_to(top) and (folder / "Cargo.toml").is_file():
                seen[folder] = reason
                queue.append(folder)
    return seen


def outside_paths(root: Path, repo_root: Path) -> list[Reach]:
    found = []
    for folder, reason in crates_needed(root, repo_root).items():
        reach = outside(root.resolve(), repo_root.resolve(), folder, reason)
        if reach is not None:
            found.append(reach)
    return found


def widen(root: Path, context: Path, *, offline: bool, entrypoint: str | None) -> Toolchain:
    """The toolchain again, built from the whole context: the workspace's Cargo.lock, the
    newest rustc any crate it loads asks for (a workspace's edition 2024 crate), and a
    dependency layer of everything but the service's own source (dependency_layer)."""
    top = context.resolve()
    crates = crates_needed(root, top)
    manifests = [m for m in (cargo.read_cargo(c / "Cargo.toml") for c in crates) if m is not None]
    workspace = cargo.workspace_root(root.resolve(), top)
    target_dir = relative_from(root.resolve(), (workspace or root.resolve()) / "target")
    tc = detect(
        root,
        offline=offline,
        entrypoint=entrypoint,
        widened=Widening(
            lock_dir=workspace or root.resolve(),
            manifests=manifests,
            target_dir=target_dir,
        ),
    )
    return dependency_layer(tc, root.resolve(), list(crates), target_dir=target_dir)


#: More folders than this to copy one by one and the source is copied whole instead.
_MAX_LAYER_FOLDERS = 60


def _placeholders(root: Path, manifest: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(binary target files, library target files) of the crate at root, relative to it:
    where placeholders stand while its dependencies build."""
    bins = []
    for entry in manifest.get("bin") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            default = "src/main.rs" if entry["name"] == (manifest.get("package") or {}).get("name") else None
            bins.append(str(entry.get("path") or default or f"src/bin/{entry['name']}.rs"))
    if not bins:
        bins = ["src/main.rs"]
    lib = manifest.get("lib")
    libs = [str(lib["path"])] if isinstance(lib, dict) and isinstance(lib.get("path"), str) else []
    if not libs and (root / "src" / "lib.rs").is_file():
        libs = ["src/lib.rs"]
    return list(dict.fromkeys(bins)), libs


def dependency_layer(tc: Toolchain, root: Path, crates: list[Path], *, target_dir: str = "target") -> Toolchain:
    """The service's dependencies built in a layer of their own, from everything but its
    source: the crates it loads (whole folders: their source is compiled too), the manifests
    and lock of the workspaces above it, its own manifest with placeholder targets. A masked
    tree changes only the service's own files, so every gate build reuses this layer.
    Unchanged (source first) when the crates are too many to copy one by one."""
    manifest = cargo.read_cargo(root / "Cargo.toml")
    if manifest is None or "cargo build" not in (tc.build_command or ""):
        return tc
    folders = [c for c in crates if c != root and not root.is_relative_to(c)]
    above = [c for c in crates if c != root and root.is_relative_to(c)]
    if len(folders) + len(above) > _MAX_LAYER_FOLDERS:
        return tc
    copies = existing(root, ["Cargo.toml", "build.rs"])
    for folder in above:
        named = relative_from(root, folder)
        copies += [f"{named}/{name}" for name in existing(folder, ["Cargo.toml", "Cargo.lock"])]
    copies += [relative_from(root, folder) + "/" for folder in folders]
    bins, libs = _placeholders(root, manifest)
    # The cargo build alone: a loopback rewrite before it edits the service's own source,
    # which is not in this layer.
    build = "cargo build" + (tc.build_command or "").split("cargo build", 1)[1].split(" && cp ", 1)[0]
    package = manifest.get("package") if isinstance(manifest.get("package"), dict) else {}
    crate = str(package.get("name", "app")).replace("-", "_")
    made = " && ".join(
        [f'mkdir -p "$(dirname {path})" && {PLACEHOLDER_MAIN} > {path}' for path in bins]
        + [f'mkdir -p "$(dirname {path})" && touch {path}' for path in libs]
    )
    # The placeholders' outputs and fingerprints go, or cargo would take the real source
    # (older mtimes after COPY) for already built. Cargo's hashes are 16 characters: a member
    # named after the package (`rustpbx-media` beside `rustpbx`) keeps its own.
    hashed = "?" * 16
    install = (
        f"{made} && {build} && rm -f {' '.join(bins + libs)}"
        f" && rm -rf {target_dir}/release/deps/{crate}-{hashed}* {target_dir}/release/deps/lib{crate}-{hashed}.*"
        f" {target_dir}/release/.fingerprint/{package.get('name', 'app')}-{hashed}"
    )
    return tc.model_copy(update={"manifests": list(dict.fromkeys(copies)), "install_command": install})


def workspace_root_layer(tc: Toolchain, root: Path) -> Toolchain:
    """A package that is also its workspace's root (rustpbx: `[package]` beside `members =
    [".", "crates/*"]`) gets the dependency layer a widened crate gets: its members and path
    dependencies (whole folders) and the registry's crates build before its own source is
    copied, so a masked tree rebuilds only the package. Unchanged for anything else."""
    manifest = cargo.read_cargo(root / "Cargo.toml")
    if manifest is None or not isinstance(manifest.get("package"), dict) or tc.install_command:
        return tc
    if not _members(root.resolve(), manifest):
        return tc
    layered = dependency_layer(tc, root.resolve(), list(crates_needed(root, root)))
    if layered is tc:
        return tc
    notes = [n for n in tc.notes if n != NO_LAYER_NOTE]
    notes.append(
        "a Cargo workspace whose root is the package: its members and dependencies build in a layer of their own"
    )
    return layered.model_copy(update={"notes": notes})
