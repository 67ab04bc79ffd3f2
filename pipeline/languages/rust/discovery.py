"""Rust knowledge shared by the Rust frameworks: Cargo manifests, the module tree, names, a small evaluator.

Nothing here knows Axum or Actix. A `RustProject` is the set of crates one service builds
(its binary, the library of the same package and path dependencies), each read by
following `mod x;` from the crate root, so files the compiler never sees are never read.
`Interpreter` walks function bodies statically (let bindings, assignments, calls into the
crate's own functions with their arguments bound) and asks a framework subclass what the
framework's own calls and builder methods produce.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import RuntimeHints, ServiceCandidate
from pipeline.models import BodyField, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
LANGUAGE = "rust"
#: folders of build output and vendored crates, never the service's own code
SKIP_PARTS = frozenset({"target", "vendor"})
#: crates that are the web stack itself: read as outside names even when a path dependency
#: points at their source (the frameworks' own example workspaces do that)
FRAMEWORK_CRATES = ("axum", "actix", "tower", "hyper", "tokio", "http", "shuttle")
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT")


# --------------------------------------------------------------------------- Cargo manifests


#: parsed manifests by (path, mtime, size): workspaces make every member ask for the root one
_MANIFESTS: dict[tuple[str, int, int], dict[str, Any] | None] = {}


def read_cargo(path: Path) -> dict[str, Any] | None:
    """The parsed Cargo.toml, or None (with a warning) when it cannot be read."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key in _MANIFESTS:
            return _MANIFESTS[key]
        data = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.warning("skipped %s: not a readable Cargo.toml (%s)", path, exc)
        return None
    if len(_MANIFESTS) > 10_000:
        _MANIFESTS.clear()
    _MANIFESTS[key] = data if isinstance(data, dict) else None
    return _MANIFESTS[key]


def _dependency_tables(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    deps = manifest.get("dependencies")
    if isinstance(deps, dict):
        yield deps
    targets = manifest.get("target")
    if isinstance(targets, dict):
        for table in targets.values():
            if isinstance(table, dict) and isinstance(table.get("dependencies"), dict):
                yield table["dependencies"]


def dependencies(manifest: dict[str, Any]) -> dict[str, Any]:
    """Normal dependencies (not dev/build), keyed by the name the code uses them under."""
    out: dict[str, Any] = {}
    for table in _dependency_tables(manifest):
        out.update(table)
    return out


def depends_on(manifest: dict[str, Any], package: str) -> bool:
    """True when `package` is a normal dependency, also when renamed (`web = { package = "actix-web" }`)."""
    for key, spec in dependencies(manifest).items():
        if key == package or (isinstance(spec, dict) and spec.get("package") == package):
            return True
    return False


def path_dependencies(manifest: dict[str, Any], crate_dir: Path, repo_root: Path) -> dict[str, Path]:
    """Crate name (as the code spells it) -> directory of every `path = ...` dependency.

    `x = { workspace = true }` takes the path from the workspace's [workspace.dependencies].
    """
    out: dict[str, Path] = {}
    inherited: dict[str, Any] | None = None
    ws_root: Path | None = None
    for key, spec in dependencies(manifest).items():
        if not isinstance(spec, dict):
            continue
        base = crate_dir
        if spec.get("workspace") is True:
            if inherited is None:
                ws_root = workspace_root(crate_dir, repo_root)
                ws = read_cargo(ws_root / "Cargo.toml") if ws_root is not None else None
                section = (ws or {}).get("workspace")
                table = section.get("dependencies") if isinstance(section, dict) else None
                inherited = table if isinstance(table, dict) else {}
            spec = inherited.get(key)
            if not isinstance(spec, dict) or ws_root is None:
                continue
            base = ws_root
        if isinstance(spec.get("path"), str):
            out[key.replace("-", "_")] = (base / spec["path"]).resolve()
    return out


def package_name(manifest: dict[str, Any]) -> str | None:
    package = manifest.get("package")
    if isinstance(package, dict) and isinstance(package.get("name"), str):
        return package["name"]
    return None


def lib_target(manifest: dict[str, Any], crate_dir: Path) -> tuple[str, Path] | None:
    """(crate name, root file) of the package's library, if it has one."""
    lib = manifest.get("lib") if isinstance(manifest.get("lib"), dict) else {}
    rel = lib.get("path") if isinstance(lib.get("path"), str) else "src/lib.rs"
    path = crate_dir / rel
    if not path.is_file():
        return None
    name = lib.get("name") if isinstance(lib.get("name"), str) else package_name(manifest)
    return (name or crate_dir.name).replace("-", "_"), path


def bin_targets(manifest: dict[str, Any], crate_dir: Path) -> list[tuple[str, str]]:
    """(binary name, root file relative to the crate) of every binary, as Cargo finds them."""
    out: list[tuple[str, str]] = []
    claimed: set[str] = set()
    package = manifest.get("package") if isinstance(manifest.get("package"), dict) else {}
    for entry in manifest.get("bin") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        rel = entry.get("path")
        if not isinstance(rel, str):
            rel = f"src/bin/{name}.rs" if (crate_dir / f"src/bin/{name}.rs").is_file() else "src/main.rs"
        rel = Path(rel).as_posix().removeprefix("./")
        if (crate_dir / rel).is_file():
            out.append((name, rel))
            claimed.add(rel)
    if package.get("autobins", True) is not False:
        pkg = package_name(manifest) or crate_dir.name
        if (crate_dir / "src/main.rs").is_file() and "src/main.rs" not in claimed:
            out.append((pkg, "src/main.rs"))
        bin_dir = crate_dir / "src" / "bin"
        if bin_dir.is_dir():
            for child in sorted(bin_dir.iterdir()):
                if child.suffix == ".rs" and child.is_file():
                    rel = f"src/bin/{child.name}"
                    name = child.stem
                elif (child / "main.rs").is_file():
                    rel = f"src/bin/{child.name}/main.rs"
                    name = child.name
                else:
                    continue
                if rel not in claimed:
                    out.append((name, rel))
    return out


def workspace_root(crate_dir: Path, repo_root: Path) -> Path | None:
    """The nearest enclosing folder (inside the repository) whose Cargo.toml has [workspace]."""
    current = crate_dir.resolve()
    top = repo_root.resolve()
    while True:
        manifest_path = current / "Cargo.toml"
        if manifest_path.is_file():
            manifest = read_cargo(manifest_path)
            if manifest is not None and isinstance(manifest.get("workspace"), dict):
                return current
        if current == top or current.parent == current:
            return None
        current = current.parent


def iter_manifests(repo_root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(crate folder, manifest) of every package Cargo.toml outside build output and vendored crates."""
    repo_root = repo_root.resolve()
    for path, rel, _content in ts.iter_files(repo_root, repo_root, lambda n: n == "Cargo.toml"):
        if SKIP_PARTS & set(rel.split("/")[:-1]):
            continue
        manifest = read_cargo(path)
        if manifest is not None and package_name(manifest) is not None:
            yield path.parent, manifest


def uses_framework(manifest: dict[str, Any], crate_dir: Path, package: str, repo_root: Path, depth: int = 0) -> bool:
    """The crate depends on `package`, directly or through a path dependency of the same repository."""
    if depends_on(manifest, package):
        return True
    if depth >= 3:
        return False
    for dep_dir in path_dependencies(manifest, crate_dir, repo_root).values():
        if not dep_dir.is_relative_to(repo_root.resolve()):
            continue
        dep = read_cargo(dep_dir / "Cargo.toml") if (dep_dir / "Cargo.toml").is_file() else None
        if dep is not None and uses_framework(dep, dep_dir, package, repo_root, depth + 1):
            return True
    return False


def service_binary(manifest: dict[str, Any], crate_dir: Path, marker: str) -> tuple[str, str] | None:
    """The binary that runs the service: `default-run`, else src/main.rs, else one that mentions `marker`."""
    bins = bin_targets(manifest, crate_dir)
    if not bins:
        return None
    package = manifest.get("package") if isinstance(manifest.get("package"), dict) else {}
    default_run = package.get("default-run")
    for name, rel in bins:
        if name == default_run:
            return name, rel
    for name, rel in bins:
        if rel == "src/main.rs":
            return name, rel
    for name, rel in bins:
        try:
            if marker in (crate_dir / rel).read_text(encoding="utf-8", errors="replace"):
                return name, rel
        except OSError:
            continue
    return bins[0]


def detect_services(repo_root: Path, package: str, marker: str) -> list[ServiceCandidate]:
    """One candidate per crate that uses `package` and builds a binary (found by `marker`)."""
    out: list[ServiceCandidate] = []
    for crate_dir, manifest in iter_manifests(repo_root):
        if not uses_framework(manifest, crate_dir, package, repo_root):
            continue
        binary = service_binary(manifest, crate_dir, marker)
        if binary is None:
            continue  # a library crate: served through the binary that depends on it
        out.append(ServiceCandidate(root=crate_dir, entrypoint=binary[1]))
    return sorted(out, key=lambda c: c.root)


# --------------------------------------------------------------------------- module tree


@dataclass(eq=False)
class RustModule:
    crate: Crate
    path: tuple[str, ...]
    sf: ts.SourceFile
    node: Node
    #: folder where `mod x;` of this module looks for x.rs / x/mod.rs
    child_dir: Path
    parent: RustModule | None = None
    children: dict[str, RustModule] = field(default_factory=dict)
    fns: dict[str, Node] = field(default_factory=dict)
    consts: dict[str, Node] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)
    structs: dict[str, Node] = field(default_factory=dict)
    uses: dict[str, list[str]] = field(default_factory=dict)
    globs: list[list[str]] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.sf.rel


@dataclass(eq=False)
class Crate:
    name: str
    root: RustModule | None = None
    modules: list[RustModule] = field(default_factory=list)
    #: type name -> method name -> (module, function_item), from every `impl` block
    impls: dict[str, dict[str, tuple[RustModule, Node]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleT:
    module: RustModule


@dataclass(frozen=True, eq=False)
class FnT:
    module: RustModule
    node: Node


@dataclass(frozen=True, eq=False)
class ConstT:
    module: RustModule
    node: Node


@dataclass(frozen=True)
class TypeT:
    crate: Crate
    name: str
    #: the module that defines it, when known (for its struct fields)
    module: RustModule | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ExternT:
    """A name from outside the project's crates (axum, actix_web, std, ...), as a full path."""

    segments: tuple[str, ...]


Target = ModuleT | FnT | ConstT | TypeT | ExternT


def load_source(path: Path, repo_root: Path, warnings: list[str] | None = None) -> ts.SourceFile | None:
    """One source file, parsed, with the same skip rules as `ts.iter_source_files`."""
    return ts.load_file(path, repo_root, LANGUAGE, warnings=warnings)


def string_value(node: Node | None) -> str | None:
    """The value of a string or raw string literal (common escapes decoded)."""
    if node is None or node.type not in ("string_literal", "raw_string_literal"):
        return None
    parts: list[str] = []
    for child in node.named_children:
        if child.type == "string_content":
            parts.append(ts.text(child))
        elif child.type == "escape_sequence":
            raw = ts.text(child)
            parts.append({"\\n": "\n", "\\t": "\t", "\\\\": "\\", '\\"': '"', "\\'": "'", "\\0": "\0"}.get(raw, raw))
    return "".join(parts)


def _attribute_path(attr: Node) -> str | None:
    """`x.rs` of the attribute `#[path = "x.rs"]`."""
    if not attr.named_children or ts.text(attr.named_children[0]) != "path":
        return None
    return string_value(attr.child_by_field_name("value"))


def preceding_attributes(node: Node) -> list[Node]:
    """The `attribute` nodes written right before an item (`#[get("/")]`, `#[path = ...]`)."""
    out: list[Node] = []
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in ("attribute_item", "line_comment", "block_comment"):
        if sibling.type == "attribute_item":
            out.extend(c for c in sibling.named_children if c.type == "attribute")
        sibling = sibling.prev_named_sibling
    out.reverse()
    return out


def path_segments(node: Node | None) -> list[str] | None:
    """`a::b::<T>::c` -> ["a", "b", "c"] for identifier-like paths, generics dropped."""
    if node is None:
        return None
    if node.type in ("identifier", "type_identifier", "crate", "self", "super", "metavariable"):
        return [ts.text(node)]
    if node.type in ("scoped_identifier", "scoped_type_identifier"):
        name = node.child_by_field_name("name")
        path = node.child_by_field_name("path")
        head = path_segments(path) if path is not None else [""]
        return None if head is None or name is None else [*head, ts.text(name)]
    if node.type == "generic_type":
        return path_segments(node.child_by_field_name("type"))
    if node.type == "generic_function":
        return path_segments(node.child_by_field_name("function"))
    return None


def _use_entries(node: Node, prefix: list[str], out: list[tuple[str | None, list[str]]]) -> None:
    """Flatten a use tree into (alias, path) pairs; alias None marks a glob import."""
    kind = node.type
    if kind in ("identifier", "scoped_identifier", "crate", "self", "super"):
        segs = path_segments(node) or []
        full = [*prefix, *segs]
        if segs == ["self"] and prefix:
            out.append((prefix[-1], list(prefix)))
        elif full:
            out.append((full[-1], full))
    elif kind == "use_as_clause":
        segs = path_segments(node.child_by_field_name("path")) or []
        alias = ts.text(node.child_by_field_name("alias"))
        if alias != "_":
            out.append((alias, [*prefix, *segs]))
    elif kind == "use_wildcard":
        inner = next((c for c in node.named_children), None)
        out.append((None, [*prefix, *(path_segments(inner) or [])]))
    elif kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        sub = [*prefix, *(path_segments(path) or [])] if path is not None else list(prefix)
        lst = node.child_by_field_name("list")
        if lst is not None:
            _use_entries(lst, sub, out)
    elif kind == "use_list":
        for child in node.named_children:
            _use_entries(child, prefix, out)


def use_entries(use_decl: Node) -> list[tuple[str | None, list[str]]]:
    out: list[tuple[str | None, list[str]]] = []
    arg = use_decl.child_by_field_name("argument")
    if arg is not None:
        _use_entries(arg, [], out)
    return out


def type_name(node: Node | None) -> str | None:
    """Last identifier of a type (`Foo`, `crate::x::Foo<T>` -> Foo)."""
    segs = path_segments(node)
    return segs[-1] if segs else None


class RustProject:
    """The crates one service compiles: its binary, the package's library and path dependencies."""

    def __init__(self, repo_root: Path, crate_dir: Path, entry: str | None, *, warnings: list[str] | None = None):
        self.repo_root = repo_root.resolve()
        self.crate_dir = crate_dir.resolve()
        self.warnings = warnings
        self.crates: dict[str, Crate] = {}
        self.files: list[ts.SourceFile] = []
        self._loaded: dict[Path, ts.SourceFile | None] = {}
        self._active: set[tuple[int, str, bool]] = set()
        manifest = read_cargo(self.crate_dir / "Cargo.toml") or {}
        #: names of crates from outside the project (dependencies and the standard library)
        self.extern_crates = {"std", "core", "alloc"} | {k.replace("-", "_") for k in dependencies(manifest)}
        self._load_package(manifest, self.crate_dir, depth=0)
        self.bin: Crate | None = None
        if entry is not None and (self.crate_dir / entry).is_file():
            lib = lib_target(manifest, self.crate_dir)
            if lib is not None and lib[1].resolve() == (self.crate_dir / entry).resolve():
                self.bin = self.crates.get(lib[0])
            else:
                self.bin = self._load_crate("crate", self.crate_dir / entry)

    def _load_package(self, manifest: dict[str, Any], crate_dir: Path, depth: int) -> None:
        lib = lib_target(manifest, crate_dir)
        if lib is not None and lib[0] not in self.crates:
            self.crates[lib[0]] = self._load_crate(lib[0], lib[1])
        if depth >= 3:
            return
        for name, dep_dir in path_dependencies(manifest, crate_dir, self.repo_root).items():
            if name in self.crates or not dep_dir.is_relative_to(self.repo_root):
                continue
            if name.split("_")[0] in FRAMEWORK_CRATES:
                continue
            dep = read_cargo(dep_dir / "Cargo.toml") if (dep_dir / "Cargo.toml").is_file() else None
            if dep is None:
                continue
            dep_lib = lib_target(dep, dep_dir)
            if dep_lib is not None:
                self.crates[name] = self._load_crate(name, dep_lib[1])
            self._load_package(dep, dep_dir, depth + 1)

    def _source(self, path: Path) -> ts.SourceFile | None:
        key = Path(os.path.normpath(path))
        if key not in self._loaded:
            sf = load_source(path, self.repo_root, self.warnings)
            self._loaded[key] = sf
            if sf is not None:
                self.files.append(sf)
        return self._loaded[key]

    def _load_crate(self, name: str, root_file: Path) -> Crate:
        crate = Crate(name=name)
        sf = self._source(root_file)
        if sf is None:
            return crate
        crate.root = RustModule(crate=crate, path=(), sf=sf, node=sf.root, child_dir=root_file.parent)
        # Iterative, so a deep or cyclic (#[path]) module tree cannot exhaust the stack.
        pending = [crate.root]
        seen_files = {Path(os.path.normpath(root_file))}
        while pending:
            module = pending.pop()
            crate.modules.append(module)
            for child in self._index(module):
                if child.node == child.sf.root:
                    key = Path(os.path.normpath(child.sf.path))
                    if key in seen_files:
                        continue  # a `#[path]` loop, or two modules naming one file
                    seen_files.add(key)
                pending.append(child)
        return crate

    def _index(self, module: RustModule) -> list[RustModule]:
        """Record the items of one module; return its child modules to index next."""
        children: list[RustModule] = []
        for item in module.node.named_children:
            kind = item.type
            name_node = item.child_by_field_name("name")
            name = ts.text(name_node)
            if kind == "function_item":
                module.fns.setdefault(name, item)
            elif kind in ("const_item", "static_item"):
                module.consts.setdefault(name, item)
            elif kind in ("struct_item", "enum_item", "type_item", "trait_item", "union_item"):
                module.types.add(name)
                if kind == "struct_item":
                    module.structs.setdefault(name, item)
            elif kind == "use_declaration":
                self._add_uses(module.uses, module.globs, item)
            elif kind == "impl_item":
                self._index_impl(module, item)
            elif kind == "mod_item" and name:
                child = self._child_module(module, item, name)
                if child is not None:
                    module.children[name] = child
                    children.append(child)
        return children

    @staticmethod
    def _add_uses(uses: dict[str, list[str]], globs: list[list[str]], item: Node) -> None:
        for alias, segs in use_entries(item):
            if alias is None:
                globs.append(segs)
            else:
                uses.setdefault(alias, segs)

    def _index_impl(self, module: RustModule, item: Node) -> None:
        owner = type_name(item.child_by_field_name("type"))
        body = item.child_by_field_name("body")
        if owner is None or body is None:
            return
        methods = module.crate.impls.setdefault(owner, {})
        for fn in body.named_children:
            if fn.type == "function_item":
                methods.setdefault(ts.text(fn.child_by_field_name("name")), (module, fn))

    def _child_module(self, parent: RustModule, item: Node, name: str) -> RustModule | None:
        body = item.child_by_field_name("body")
        if body is not None:
            return RustModule(
                crate=parent.crate,
                path=(*parent.path, name),
                sf=parent.sf,
                node=body,
                child_dir=parent.child_dir / name,
                parent=parent,
            )
        explicit = next((p for a in preceding_attributes(item) if (p := _attribute_path(a))), None)
        if explicit is not None:
            candidates = [parent.sf.path.parent / explicit]
        else:
            candidates = [parent.child_dir / f"{name}.rs", parent.child_dir / name / "mod.rs"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is not None and not path.resolve().is_relative_to(self.repo_root):
            log.warning("%s: module %s points outside the repository; skipped", parent.rel, name)
            return None
        if path is None:
            log.info("%s: module %s has no file", parent.rel, name)
            return None
        sf = self._source(path)
        if sf is None:
            return None
        # src/foo.rs keeps its children in src/foo/; src/foo/mod.rs (and an explicit path) in its own folder.
        own = path.name == "mod.rs" or explicit is not None
        child_dir = path.parent if own else path.parent / path.stem
        return RustModule(
            crate=parent.crate, path=(*parent.path, name), sf=sf, node=sf.root, child_dir=child_dir, parent=parent
        )

    # ------------------------------------------------------------------ names

    def lookup(
        self, module: RustModule, name: str, *, outer: bool = True, value: bool = False, depth: int = 0
    ) -> Target | None:
        """What `name` means inside `module`. `outer` allows extern crates (first segment of a path).

        Rust keeps modules/types and functions/constants in separate namespaces: `value` asks
        for the function of a name that is also a module (`mod home; pub use home::*;`).
        """
        if depth > 12:
            return None
        fallback: Target | None = None
        if name in module.fns:
            return FnT(module, module.fns[name])
        if name in module.consts:
            return ConstT(module, module.consts[name])
        if name in module.children:
            fallback = ModuleT(module.children[name])
        elif name in module.types:
            fallback = TypeT(module.crate, name, module)
        if fallback is not None and not value:
            return fallback
        if name in module.uses:
            found = self.resolve(module, module.uses[name], value=value, depth=depth + 1)
            if not value or isinstance(found, FnT | ConstT | ExternT) or fallback is not None:
                return found if found is not None else fallback
            fallback = found
        key = (id(module), name, value)
        if key in self._active:
            return fallback  # a glob import that leads back here
        self._active.add(key)
        try:
            guess: Target | None = None
            for glob in module.globs:
                base = self.resolve(module, glob, depth=depth + 1)
                if isinstance(base, ModuleT) and base.module is not module:
                    found = self.lookup(base.module, name, outer=False, value=value, depth=depth + 1)
                    if isinstance(found, FnT | ConstT) or (found is not None and fallback is None):
                        return found
                elif isinstance(base, ExternT) and guess is None:
                    guess = ExternT((*base.segments, name))
        finally:
            self._active.discard(key)
        if fallback is not None:
            return fallback
        if outer and name in self.crates and self.crates[name].root is not None:
            return ModuleT(self.crates[name].root)  # type: ignore[arg-type]
        if outer and name in self.extern_crates:
            return ExternT((name,))
        if guess is not None:
            # `use axum::routing::*;` then `get(...)`: the glob's contents are unknown, assume it.
            return guess
        return ExternT((name,)) if outer else None

    def resolve(self, module: RustModule, segments: list[str], *, value: bool = False, depth: int = 0) -> Target | None:
        """What a path means in `module`; `value` looks its last segment up as a function/constant."""
        if not segments or depth > 12:
            return None
        first, rest = segments[0], segments[1:]
        current: Target | None
        if first == "crate":
            current = ModuleT(module.crate.root) if module.crate.root is not None else None
        elif first == "self":
            current = ModuleT(module)
        elif first == "super":
            current = ModuleT(module.parent or module)
        elif first == "":
            current = ExternT(())
        else:
            current = self.lookup(module, first, value=value and not rest, depth=depth + 1)
        for index, seg in enumerate(rest):
            last = index == len(rest) - 1
            if current is None:
                return None
            if isinstance(current, ModuleT):
                if seg == "super":
                    current = ModuleT(current.module.parent or current.module)
                elif seg == "self":
                    continue
                else:
                    current = self.lookup(current.module, seg, outer=False, value=value and last, depth=depth + 1)
            elif isinstance(current, TypeT):
                method = current.crate.impls.get(current.name, {}).get(seg)
                current = FnT(*method) if method is not None else None
            elif isinstance(current, ExternT):
                if not current.segments and seg in self.crates and self.crates[seg].root is not None:
                    current = ModuleT(self.crates[seg].root)  # type: ignore[arg-type]
                else:
                    current = ExternT((*current.segments, seg))
            else:
                return None
        return current

    def methods_named(self, name: str) -> list[tuple[RustModule, Node]]:
        """Every impl method of the project's crates with this name."""
        return [m[name] for crate in self.crates_all() for m in crate.impls.values() if name in m]

    def crates_all(self) -> list[Crate]:
        out = list(self.crates.values())
        if self.bin is not None and self.bin not in out:
            out.append(self.bin)
        return out


# --------------------------------------------------------------------------- evaluator


@dataclass(eq=False)
class FnRef:
    """A function of the project used as a value (a handler, a config function, ...)."""

    module: RustModule
    node: Node

    @property
    def name(self) -> str:
        return ts.text(self.node.child_by_field_name("name"))


@dataclass(eq=False)
class Closure:
    frame: Frame
    node: Node


@dataclass(eq=False)
class Env:
    values: dict[str, Any] = field(default_factory=dict)
    parent: Env | None = None
    #: `use` declarations written inside a function body
    uses: dict[str, list[str]] = field(default_factory=dict)

    def find(self, name: str) -> Env | None:
        env: Env | None = self
        while env is not None:
            if name in env.values:
                return env
            env = env.parent
        return None

    def use_path(self, name: str) -> list[str] | None:
        env: Env | None = self
        while env is not None:
            if name in env.uses:
                return env.uses[name]
            env = env.parent
        return None


@dataclass(eq=False)
class Frame:
    module: RustModule
    env: Env


#: macros whose arguments never build a router or serve one (formatting, logging, asserts)
_QUIET_MACROS = frozenset(
    {
        "println",
        "print",
        "eprintln",
        "eprint",
        "write",
        "writeln",
        "panic",
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "trace",
        "debug",
        "info",
        "warn",
        "error",
        "event",
        "span",
        "info_span",
        "debug_span",
        "json",
        "env",
        "include_str",
        "include_bytes",
        "concat",
        "stringify",
        "matches",
        "todo",
        "unimplemented",
        "unreachable",
        "sql",
        "query",
        "query_as",
        "html",
    }
)


class _Unhandled:
    pass


UNHANDLED: Any = _Unhandled()


class Interpreter:
    """A static walk over function bodies that follows values through the project's own code.

    Subclasses give meaning to the framework's calls (`call_hook`) and builder methods
    (`method_hook`); everything unknown evaluates to None. A step budget and a recursion
    guard keep the walk linear in the code it reaches.
    """

    MAX_DEPTH = 32
    BUDGET = 100_000

    def __init__(self, project: RustProject) -> None:
        self.project = project
        self.steps = 0
        self.stack: list[Node] = []
        self._budget_warned = False
        self._memo: dict[tuple[str, int, tuple[Any, ...]], Any] = {}
        self._keep: list[list[Any]] = []
        #: trees of re-parsed macro arguments, kept alive while their nodes are in use
        self._synthetic: list[tree_sitter.Tree] = []

    # hooks ----------------------------------------------------------------

    def call_hook(self, frame: Frame, call: Node, target: Target | None, args: list[Node]) -> Any:
        return UNHANDLED

    def method_hook(self, frame: Frame, call: Node, receiver: Any, name: str, args: list[Node]) -> Any:
        return UNHANDLED

    def macro_hook(self, frame: Frame, node: Node, name: str) -> Any:
        return UNHANDLED

    def outside_call(self, frame: Frame, call: Node, segments: list[str], values: list[Any]) -> None:
        """Seen after the arguments of a call to something outside the project were evaluated."""

    def bound(self, value: Any) -> None:
        """Seen for every value a `let` binds."""

    # calls ------------------------------------------------------------------

    def run_fn(self, fn: FnRef, args: list[Any]) -> Any:
        """Evaluate a function of the project with its (non-self) parameters bound to `args`.

        A call with the same arguments (same objects, same strings) is evaluated once: its
        side effects already happened, and helpers called from many places stay linear.
        """
        body = fn.node.child_by_field_name("body")
        if body is None or len(self.stack) >= self.MAX_DEPTH or any(n == fn.node for n in self.stack):
            return None
        key = (fn.module.rel, fn.node.start_byte, tuple(a if a is None or isinstance(a, str) else id(a) for a in args))
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None
        self._keep.append(args)  # the ids in the key stay valid while the objects live
        result = self._run_fn(fn, body, args)
        self._memo[key] = result
        return result

    def _run_fn(self, fn: FnRef, body: Node, args: list[Any]) -> Any:
        env = Env()
        params = fn.node.child_by_field_name("parameters")
        names = [_param_name(p) for p in (params.named_children if params is not None else []) if p.type == "parameter"]
        for index, name in enumerate(names):
            if name:
                # Unknown arguments still shadow outer names of the same spelling.
                env.values[name] = args[index] if index < len(args) else None
        self.stack.append(fn.node)
        try:
            return self.eval_block(Frame(fn.module, env), body)
        finally:
            self.stack.pop()

    def call_value(self, value: Any, args: list[Any]) -> Any:
        if isinstance(value, FnRef):
            return self.run_fn(value, args)
        if isinstance(value, Closure):
            return self.run_closure(value, args)
        return None

    def run_closure(self, closure: Closure, args: list[Any]) -> Any:
        if len(self.stack) >= self.MAX_DEPTH or any(n == closure.node for n in self.stack):
            return None
        env = Env(parent=closure.frame.env)
        params = closure.node.child_by_field_name("parameters")
        names: list[str | None] = []
        for p in params.named_children if params is not None else []:
            names.append(ts.text(p) if p.type == "identifier" else _param_name(p) if p.type == "parameter" else None)
        for index, name in enumerate(names):
            if name:
                env.values[name] = args[index] if index < len(args) else None
        body = closure.node.child_by_field_name("body")
        self.stack.append(closure.node)
        try:
            return self.eval(Frame(closure.frame.module, env), body)
        finally:
            self.stack.pop()

    # expressions --------------------------------------------------------------

    def name_value(self, frame: Frame, segments: list[str], node: Node) -> tuple[Any, Target | None]:
        """(value, target) of a path expression: a local, a function, a constant, or an outside name."""
        if len(segments) == 1:
            env = frame.env.find(segments[0])
            if env is not None:
                return env.values[segments[0]], None
        target = self.resolve(frame, segments, node)
        if isinstance(target, FnT):
            return FnRef(target.module, target.node), target
        if isinstance(target, ConstT):
            value_node = target.node.child_by_field_name("value")
            if value_node is not None and len(self.stack) < self.MAX_DEPTH:
                return self.eval(Frame(target.module, Env()), value_node), target
        return None, target

    def resolve(self, frame: Frame, segments: list[str], node: Node) -> Target | None:
        if segments[0] == "Self":
            owner = enclosing_impl_type(node)
            if owner is None:
                return None
            if len(segments) == 1:
                return TypeT(frame.module.crate, owner)
            method = frame.module.crate.impls.get(owner, {}).get(segments[1])
            return FnT(*method) if method is not None and len(segments) == 2 else None
        local = frame.env.use_path(segments[0])
        if local is not None:
            segments = [*local, *segments[1:]]
        return self.project.resolve(frame.module, segments, value=True)

    def eval(self, frame: Frame, node: Node | None) -> Any:
        if node is None:
            return None
        self.steps += 1
        if self.steps > self.BUDGET:
            if not self._budget_warned:
                self._budget_warned = True
                log.warning("%s: static evaluation budget exhausted; routes may be missing", frame.module.rel)
            return None
        kind = node.type
        if kind in ("string_literal", "raw_string_literal"):
            return string_value(node)
        if kind in ("identifier", "scoped_identifier", "generic_function", "self"):
            segs = path_segments(node)
            return self.name_value(frame, segs, node)[0] if segs else None
        if kind in ("parenthesized_expression", "await_expression", "try_expression", "reference_expression"):
            inner = node.child_by_field_name("value") or (node.named_children[0] if node.named_children else None)
            return self.eval(frame, inner)
        if kind == "type_cast_expression":
            return self.eval(frame, node.child_by_field_name("value"))
        if kind == "closure_expression":
            return Closure(frame, node)
        if kind in ("block", "async_block", "unsafe_block", "const_block"):
            block = node if kind == "block" else next((c for c in node.named_children if c.type == "block"), None)
            return self.eval_block(frame, block) if block is not None else None
        if kind == "call_expression":
            return self.eval_call(frame, node)
        if kind == "macro_invocation":
            return self.eval_macro(frame, node)
        if kind == "tuple_expression":
            return tuple(self.eval(frame, c) for c in node.named_children if c.type != "attribute_item")
        if kind == "array_expression":
            return [self.eval(frame, c) for c in node.named_children if c.type != "attribute_item"]
        if kind == "if_expression":
            found = None
            for child in (node.child_by_field_name("consequence"), node.child_by_field_name("alternative")):
                value = self.eval(frame, child)
                found = found if found is not None else value
            return found
        if kind == "else_clause":
            return self.eval(frame, node.named_children[-1] if node.named_children else None)
        if kind == "match_expression":
            self.eval(frame, node.child_by_field_name("value"))
            found = None
            body = node.child_by_field_name("body")
            for arm in body.named_children if body is not None else []:
                value = self.eval(frame, arm.child_by_field_name("value"))
                found = found if found is not None else value
            return found
        if kind == "assignment_expression":
            self._assign(frame, node)
            return None
        if kind in ("for_expression", "while_expression", "loop_expression"):
            self.eval(frame, node.child_by_field_name("body"))
            return None
        if kind == "return_expression":
            return self.eval(frame, node.named_children[0] if node.named_children else None)
        return None

    def _bind(self, env: Env, pattern: Node | None, value: Any) -> None:
        """`let x = v;`, `let mut x = v;`, `let (a, b) = (v1, v2);`."""
        if pattern is None:
            return
        if pattern.type == "mut_pattern":
            pattern = next((c for c in pattern.named_children if c.type == "identifier"), None)
        if pattern is not None and pattern.type == "identifier":
            env.values[ts.text(pattern)] = value
            self.bound(value)
        elif pattern is not None and pattern.type == "tuple_pattern" and isinstance(value, tuple):
            for sub, item in zip(pattern.named_children, value, strict=False):
                self._bind(env, sub, item)

    def _assign(self, frame: Frame, node: Node) -> None:
        left = node.child_by_field_name("left")
        value = self.eval(frame, node.child_by_field_name("right"))
        if left is not None and left.type == "identifier":
            env = frame.env.find(ts.text(left))
            (env or frame.env).values[ts.text(left)] = value

    def eval_block(self, frame: Frame, block: Node) -> Any:
        env = Env(parent=frame.env)
        inner = Frame(frame.module, env)
        # Items and `use` inside a body are visible in the whole block.
        for child in block.named_children:
            if child.type == "function_item":
                env.values.setdefault(ts.text(child.child_by_field_name("name")), FnRef(frame.module, child))
            elif child.type == "use_declaration":
                RustProject._add_uses(env.uses, [], child)
        result = None
        for child in block.named_children:
            kind = child.type
            if kind == "let_declaration":
                value = self.eval(inner, child.child_by_field_name("value"))
                self._bind(env, child.child_by_field_name("pattern"), value)
                alternative = child.child_by_field_name("alternative")
                if alternative is not None:
                    self.eval(inner, alternative)
            elif kind == "expression_statement":
                expr = child.named_children[0] if child.named_children else None
                if expr is not None and expr.type == "return_expression":
                    return self.eval(inner, expr)
                self.eval(inner, expr)
            elif kind.endswith(("_item", "comment")) or kind in ("use_declaration", "empty_statement"):
                continue
            else:
                result = self.eval(inner, child)
        return result

    def eval_call(self, frame: Frame, call: Node) -> Any:
        parts = _method_parts(call)
        if parts is None:
            return self._plain_call(frame, call)
        # Unroll `a.b().c().d()`: a long builder chain must not recurse once per link.
        chain: list[tuple[Node, tuple[Node, str, list[Node]]]] = []
        node = call
        while parts is not None:
            chain.append((node, parts))
            if parts[0].type != "call_expression":
                break
            node = parts[0]
            parts = _method_parts(node)
        value = self._plain_call(frame, node) if parts is None else self.eval(frame, chain[-1][1][0])
        for link, (_, name, args) in reversed(chain):
            value = self._method_call(frame, link, value, name, args)
        return value

    def _method_call(self, frame: Frame, call: Node, receiver: Any, name: str, args: list[Node]) -> Any:
        result = self.method_hook(frame, call, receiver, name, args)
        if result is not UNHANDLED:
            return result
        if name in ("clone", "into", "to_owned", "unwrap", "expect", "boxed", "into_inner"):
            return receiver
        values = [self.eval(frame, a) for a in args]
        if receiver is None:
            # `state.router()`: follow a method only when the project defines exactly one of that name.
            candidates = self.project.methods_named(name)
            if len(candidates) == 1:
                return self.run_fn(FnRef(*candidates[0]), values)
        return None

    def _plain_call(self, frame: Frame, call: Node) -> Any:
        function = call.child_by_field_name("function")
        args = call_args(call)
        if function is None:
            return None
        segs = path_segments(function)
        if segs is None:
            callee = self.eval(frame, function)
            return self.call_value(callee, [self.eval(frame, a) for a in args])
        local = frame.env.find(segs[0]) if len(segs) == 1 else None
        if local is not None:
            return self.call_value(local.values[segs[0]], [self.eval(frame, a) for a in args])
        target = self.resolve(frame, segs, function)
        result = self.call_hook(frame, call, target, args)
        if result is not UNHANDLED:
            return result
        values = [self.eval(frame, a) for a in args]
        if isinstance(target, FnT):
            return self.run_fn(FnRef(target.module, target.node), values)
        self.outside_call(frame, call, segs, values)
        for value in values:
            # `thread::spawn(move || ...)`, `block_on(|| ...)`: a closure without parameters
            # handed to outside code is run by it, so what it builds or serves counts.
            if isinstance(value, Closure) and _closure_arity(value.node) == 0:
                self.run_closure(value, [])
        last = segs[-1]
        if last in ("Ok", "Some", "Box", "from") or segs[-2:] in (["Box", "new"], ["Arc", "new"], ["Rc", "new"]):
            return values[0] if values else None
        return None

    def eval_macro(self, frame: Frame, node: Node) -> Any:
        name = ts.text(node.child_by_field_name("macro")).split("::")[-1]
        result = self.macro_hook(frame, node, name)
        if result is not UNHANDLED:
            return result
        if name == "format":
            return self._format(frame, node)
        if name in _QUIET_MACROS:
            return None
        return self._macro_arguments(frame, node)

    def _macro_arguments(self, frame: Frame, node: Node) -> Any:
        """`tokio::join!(a(), b())`, `vec![...]`: the tokens re-read as expressions and evaluated.

        The tokens are re-parsed in a copy of the file blanked up to them, so every node keeps
        its byte offsets; a handler found there can still not be masked (the real tree only
        has tokens), which discovery checks.
        """
        tokens = next((c for c in node.named_children if c.type == "token_tree"), None)
        if tokens is None or tokens.end_byte - tokens.start_byte < 3:
            return None
        source = frame.module.sf.source
        opener = source[tokens.start_byte : tokens.start_byte + 1]
        wrapper = b"fn _m(){_f" if opener == b"(" else b"fn _m(){let _=" if opener == b"[" else None
        start = tokens.start_byte
        if wrapper is None or start < len(wrapper):
            return None
        head = re.sub(rb"[^\n]", b" ", source[: start - len(wrapper)]) + wrapper
        synthetic = head + source[start : tokens.end_byte] + b";}"
        tree = ts.parse(synthetic, LANGUAGE)
        if ts.has_error(tree.root_node):
            return None
        self._synthetic.append(tree)
        found = ts.find_exact(tree.root_node, start, tokens.end_byte, {"arguments", "array_expression"})
        if found is None:
            return None
        values = [self.eval(frame, c) for c in found.named_children if "comment" not in c.type]
        return tuple(values) if opener == b"(" else values

    def _format(self, frame: Frame, node: Node) -> str | None:
        """`format!("{}/users", PREFIX)` when every argument is a known string."""
        tokens = next((c for c in node.named_children if c.type == "token_tree"), None)
        if tokens is None:
            return None
        items = [c for c in tokens.named_children]
        if not items or items[0].type not in ("string_literal", "raw_string_literal"):
            return None
        template = string_value(items[0]) or ""
        positional: list[str] = []
        for item in items[1:]:
            if item.type in ("string_literal", "raw_string_literal"):
                value = string_value(item)
            elif item.type == "identifier":
                value = self.name_value(frame, [ts.text(item)], item)[0]
            else:
                return None
            if not isinstance(value, str):
                return None
            positional.append(value)
        out: list[str] = []
        index = 0
        for piece in re.split(r"(\{\{|\}\}|\{[^{}]*\})", template):
            if piece in ("{{", "}}"):
                out.append(piece[0])
            elif piece.startswith("{") and piece.endswith("}"):
                inner = piece[1:-1].split(":")[0]
                if inner == "":
                    if index >= len(positional):
                        return None
                    out.append(positional[index])
                    index += 1
                elif inner.isdigit() and int(inner) < len(positional):
                    out.append(positional[int(inner)])
                else:
                    value = self.name_value(frame, [inner], node)[0] if inner.isidentifier() else None
                    if not isinstance(value, str):
                        return None
                    out.append(value)
            else:
                out.append(piece)
        return "".join(out)


def _param_name(param: Node) -> str | None:
    pattern = param.child_by_field_name("pattern")
    if pattern is None:
        return None
    if pattern.type == "identifier":
        return ts.text(pattern)
    if pattern.type == "mut_pattern":
        inner = next((c for c in pattern.named_children if c.type == "identifier"), None)
        return ts.text(inner) if inner is not None else None
    return None


def _method_parts(call: Node) -> tuple[Node, str, list[Node]] | None:
    """(receiver, method name, arguments) of `x.m(...)` / `x.m::<T>(...)`, else None."""
    function = call.child_by_field_name("function")
    if function is not None and function.type == "generic_function":
        function = function.child_by_field_name("function")
    if function is None or function.type != "field_expression":
        return None
    receiver = function.child_by_field_name("value")
    if receiver is None:
        return None
    return receiver, ts.text(function.child_by_field_name("field")), call_args(call)


def _closure_arity(node: Node) -> int:
    params = node.child_by_field_name("parameters")
    return len(params.named_children) if params is not None else 0


def entry_function(root: RustModule) -> Node | None:
    """The function a binary starts in: Shuttle's `#[shuttle_runtime::main]` one, else `main`."""
    for fn in root.fns.values():
        for attr in preceding_attributes(fn):
            segs = path_segments(attr.named_children[0]) if attr.named_children else None
            if segs and segs[-1] == "main" and "shuttle_runtime" in segs:
                return fn
    return root.fns.get("main")


def run_main(interpreter: Interpreter, crate_dir: Path) -> tuple[bool, Any]:
    """Evaluate the binary's entry function: (whether there was one, the value it returned).

    The caller reads what the framework hooks recorded; the returned value matters to
    runtimes (Shuttle, lambda) where main hands the app back instead of serving it.
    """
    binary = interpreter.project.bin
    main = entry_function(binary.root) if binary is not None else None
    if binary is None or main is None:
        log.warning("%s: no main function found; no routes discovered", crate_dir)
        return False, None
    try:
        return True, interpreter.run_fn(FnRef(binary.root, main), [])
    except RecursionError:
        log.warning("%s: code nested too deeply to evaluate; routes may be missing", crate_dir)
        return True, None


def enclosing_impl_type(node: Node) -> str | None:
    for parent in ts.ancestors(node):
        if parent.type == "impl_item":
            return type_name(parent.child_by_field_name("type"))
    return None


def call_args(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [a for a in (args.named_children if args is not None else []) if "comment" not in a.type]


# --------------------------------------------------------------------------- handlers and masking


def handler_for(value: FnRef | Closure) -> Handler:
    """Handler of a function (the `{ ... }` block is the body) or of an inline closure."""
    node = value.node
    if isinstance(value, FnRef):
        body = node.child_by_field_name("body")
        name = value.name
        rel = value.module.rel
    else:
        body = closure_body(node)
        name = "<anonymous>"
        rel = value.frame.module.rel
    assert body is not None
    source = value.module.sf.source if isinstance(value, FnRef) else value.frame.module.sf.source
    return Handler(
        file=rel,
        name=name,
        line=source[: node.start_byte].count(b"\n") + 1,
        start_byte=node.start_byte,
        end_byte=node.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
    )


def is_maskable(value: FnRef | Closure) -> bool:
    """The handler is a real node of its file (not one re-read from macro tokens) with a body."""
    module = value.module if isinstance(value, FnRef) else value.frame.module
    node = ts.find_exact(module.sf.root, value.node.start_byte, value.node.end_byte, {value.node.type})
    body = node.child_by_field_name("body") if node is not None else None
    return body is not None


def methods_in_body(value: FnRef | Closure) -> list[str]:
    """Methods an any-method handler picks itself: `match *req.method() { Method::GET => ... }`.

    Only when the body reads the request method (`.method()`, or a `Method` parameter) and
    names methods; an arm that rejects (`MethodNotAllowed`, `METHOD_NOT_ALLOWED`) does not count.
    """
    node = value.node
    body = closure_body(node) if isinstance(value, Closure) else node.child_by_field_name("body")
    params = ts.text(node.child_by_field_name("parameters"))
    text = ts.text(body)
    if body is None or not (".method()" in text or re.search(r":\s*(?:\w+::)*Method\b", params)):
        return []
    found: set[str] = set()
    for match in re.finditer(r"Method::([A-Z]+)\s*(=>|\)|\|)?", text):
        rest = text[match.end() : match.end() + 80]
        if match.group(2) == "=>" and re.match(r"\s*\{?\s*[\w:]*(?:MethodNotAllowed|METHOD_NOT_ALLOWED)", rest):
            continue
        if match.group(1) in HTTP_METHODS:
            found.add(match.group(1))
    return sorted(found)


def closure_body(node: Node) -> Node | None:
    """The part of a closure that masking replaces: the block of `async { ... }`, else the body."""
    body = node.child_by_field_name("body")
    if body is not None and body.type == "async_block":
        return next((c for c in body.named_children if c.type == "block"), body)
    return body


def compact_type(node: Node | None) -> str:
    """A type's text without whitespace, e.g. `Result<Json<User>,(StatusCode,String)>`."""
    return re.sub(r"\s+", "", ts.text(node))


def split_generic(type_text: str) -> tuple[str, list[str]] | None:
    """`Result<A,B<C,D>>` -> ("Result", ["A", "B<C,D>"]); None when not generic."""
    start = type_text.find("<")
    if start < 0 or not type_text.endswith(">"):
        return None
    head, inner = type_text[:start], type_text[start + 1 : -1]
    parts: list[str] = []
    depth = 0
    current = ""
    for char in inner:
        if char in "<([":
            depth += 1
        elif char in ">)]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return head, parts


def split_tuple(type_text: str) -> list[str] | None:
    if not (type_text.startswith("(") and type_text.endswith(")")):
        return None
    split = split_generic("T<" + type_text[1:-1] + ">")
    return split[1] if split else None


def mask_function(source: bytes, handler: Handler, body_for: Callable[[str, bool], str]) -> bytes:
    """Replace a handler's body with the expression `body_for(return_type_text, is_closure)` gives.

    The signature, attributes and `async` stay; the result must re-parse cleanly.
    """
    tree = ts.parse(source, LANGUAGE)
    node = ts.find_exact(tree.root_node, handler.start_byte, handler.end_byte, {"function_item", "closure_expression"})
    if node is None:
        raise ValueError(f"{handler.file}: no function at bytes {handler.start_byte}-{handler.end_byte}")
    body = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte)
    if body is None:
        raise ValueError(f"{handler.file}: no body at bytes {handler.body_start_byte}-{handler.body_end_byte}")
    if node.type == "function_item":
        expr: str = body_for(compact_type(node.child_by_field_name("return_type")), False)
        indent = ts.line_indent(source, node.start_byte)
        new = b"{\n" + indent + b"    " + expr.encode() + b"\n" + indent + b"}"
    else:
        expr = body_for(compact_type(node.child_by_field_name("return_type")), True)
        # A closure handler must return a future: keep an async block around a non-block body.
        new = b"{ " + expr.encode() + b" }" if body.type == "block" else b"async { " + expr.encode() + b" }"
    masked = ts.replace(source, body.start_byte, body.end_byte, new)
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- request bodies

_INT_TYPES = {f"{p}{n}" for p in "iu" for n in ("8", "16", "32", "64", "128", "size")}
_SCALAR_TYPES = {"String": "str", "str": "str", "Uuid": "str", "char": "str", "bool": "bool", "f32": "float"}
_SCALAR_TYPES |= {"f64": "float", "Decimal": "float", "NaiveDate": "str", "NaiveDateTime": "str", "DateTime": "str"}
_LIST_TYPES = {"Vec", "HashSet", "BTreeSet", "VecDeque"}
_MAP_TYPES = {"HashMap", "BTreeMap", "Map", "IndexMap"}


def _rename(name: str, rule: str | None) -> str:
    """serde's `rename_all` applied to a snake_case field name."""
    words = name.split("_")
    if rule == "camelCase":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if rule == "PascalCase":
        return "".join(w.capitalize() for w in words)
    if rule == "kebab-case":
        return "-".join(words)
    if rule in ("SCREAMING_SNAKE_CASE", "UPPERCASE"):
        return name.upper()
    if rule == "SCREAMING-KEBAB-CASE":
        return "-".join(words).upper()
    if rule == "lowercase":
        return name.lower()
    return name


def _serde_options(attrs: list[Node]) -> dict[str, str | bool]:
    """`#[serde(default, rename = "x", rename_all = "camelCase", skip)]` as a dict."""
    out: dict[str, str | bool] = {}
    for attr in attrs:
        if not attr.named_children or ts.text(attr.named_children[0]) != "serde":
            continue
        tokens = attr.child_by_field_name("arguments")
        # All children: `default` is a keyword token, not a named identifier, in a token tree.
        items = tokens.children if tokens is not None else []
        for index, item in enumerate(items):
            word = ts.text(item)
            if not word.isidentifier():
                continue
            after = items[index + 1 : index + 3]
            value = string_value(after[1]) if len(after) == 2 and ts.text(after[0]) == "=" else None
            out[word] = value if value is not None else True
    return out


def _field_type(project: RustProject, module: RustModule, node: Node | None) -> tuple[str, bool]:
    """(JSON type, optional) of a Rust field type."""
    if node is None:
        return "any", False
    name = type_name(node) or ""
    if node.type == "reference_type":
        return _field_type(project, module, node.child_by_field_name("type"))
    if node.type == "primitive_type" or name in _SCALAR_TYPES or name in _INT_TYPES:
        text = ts.text(node)
        return ("int" if text in _INT_TYPES else _SCALAR_TYPES.get(text) or _SCALAR_TYPES.get(name, "any")), False
    if node.type in ("array_type",) or name in _LIST_TYPES:
        return "list", False
    if name in _MAP_TYPES:
        return "dict", False
    if name == "Option":
        args = node.child_by_field_name("type_arguments")
        inner = args.named_children[0] if args is not None and args.named_children else None
        return _field_type(project, module, inner)[0], True
    if name == "Box" or name == "Arc":
        args = node.child_by_field_name("type_arguments")
        return _field_type(project, module, args.named_children[0] if args is not None else None)
    segs = path_segments(node)
    target = project.resolve(module, segs) if segs else None
    if isinstance(target, TypeT) and target.module is not None and target.name in target.module.structs:
        return "dict", False
    return "any", False


def struct_fields(project: RustProject, module: RustModule, type_node: Node) -> list[BodyField] | None:
    """The JSON fields serde reads into the struct `type_node` names, or None when it is not one."""
    segs = path_segments(type_node)
    target = project.resolve(module, segs) if segs else None
    if not isinstance(target, TypeT) or target.module is None or target.name not in target.module.structs:
        return None
    struct = target.module.structs[target.name]
    container = _serde_options(preceding_attributes(struct))
    body = struct.child_by_field_name("body")
    if body is None or body.type != "field_declaration_list":
        return None
    out: list[BodyField] = []
    for decl in body.named_children:
        if decl.type != "field_declaration":
            continue
        options = _serde_options(preceding_attributes(decl))
        if options.get("skip") or options.get("skip_deserializing") or options.get("flatten"):
            continue
        name = ts.text(decl.child_by_field_name("name"))
        kind, optional = _field_type(project, target.module, decl.child_by_field_name("type"))
        rename = options.get("rename")
        rule = container.get("rename_all")
        json_name = rename if isinstance(rename, str) else _rename(name, rule if isinstance(rule, str) else None)
        required = not (optional or "default" in options or "default" in container)
        out.append(BodyField(name=json_name, type=kind, required=required))
    return out


def json_body_fields(project: RustProject, fn: FnRef | Closure, wrappers: tuple[str, ...]) -> list[BodyField]:
    """Fields of the handler's `Json<T>` (or `web::Json<T>`) parameter, when T is a struct of the project."""
    if not isinstance(fn, FnRef):
        return []
    params = fn.node.child_by_field_name("parameters")
    for param in params.named_children if params is not None else []:
        type_node = param.child_by_field_name("type") if param.type == "parameter" else None
        if type_node is None or type_node.type != "generic_type" or type_name(type_node) not in wrappers:
            continue
        args = type_node.child_by_field_name("type_arguments")
        inner = args.named_children[0] if args is not None and args.named_children else None
        fields = struct_fields(project, fn.module, inner) if inner is not None else None
        return fields or []
    return []


def route_endpoints(project: RustProject, routes: Iterable[tuple[str, str, FnRef | Closure]]) -> list[Endpoint]:
    """Endpoints of (method, path, handler) routes in registration order: the first one wins.

    "ANY" stands for a route that takes every method; when its handler matches on the
    request method itself, those methods are what it serves.
    """
    endpoints: dict[tuple[str, str], Endpoint] = {}
    for method, path, handler in routes:
        if not is_maskable(handler):
            log.warning("%s %s: handler is not a function body of the file; skipped", method, path)
            continue
        for served in (methods_in_body(handler) if method == "ANY" else []) or [method]:
            if (path, served) not in endpoints:
                endpoints[(path, served)] = Endpoint(
                    method=served,
                    path=path,
                    handler=handler_for(handler),
                    body_fields=json_body_fields(project, handler, ("Json",)),
                )
    return [endpoints[k] for k in sorted(endpoints)]


# --------------------------------------------------------------------------- runtime


_ENV_CALLS = ("env::var", "env::var_os", "dotenvy::var", "dotenv::var")
_OPTIONAL_METHODS = {"unwrap_or", "unwrap_or_else", "unwrap_or_default", "ok", "is_ok", "is_err", "map_or", "or"}
_OPTIONAL_PARENTS = {"let_condition", "match_expression", "if_expression", "binary_expression"}
#: always set in a container, never worth a dummy
_SYSTEM_ENV = frozenset({"HOME", "PATH", "PWD", "USER", "SHELL", "HOSTNAME", "LANG", "TMPDIR", "TERM"})
_ADDRESS = re.compile(r"\"(0\.0\.0\.0|127\.0\.0\.1|localhost|\[::1?\]|::1?):(\d{2,5})\"")
_SOCKET_ADDR = re.compile(r"\(\s*\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]\s*,\s*(\d{2,5})\s*\)")
_BIND_TUPLE = re.compile(r"bind\s*\(\s*\(\s*\"([^\"]*)\"\s*,\s*(\d{2,5})\s*\)\s*\)")
_IPV4_ADDR = re.compile(r"Ipv4Addr::(?:new\(\s*(\d+)\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)|(UNSPECIFIED|LOCALHOST))")


#: variables that say where the service itself listens (not MYSQL_HOST, SMTP_PORT, ...)
_LISTEN_VAR = re.compile(
    r"^(?:(?:APP|SERVER|HTTP|LISTEN|BIND|WEB|API|SERVICE|ACTIX|AXUM|ROCKET)_)?"
    r"(PORT|HOST|IP|ADDR|ADDRESS|BIND|BIND_ADDR|BIND_ADDRESS|LISTEN_ADDR|LISTEN_ADDRESS)$"
)


@dataclass
class EnvRead:
    name: str
    required: bool
    numeric: bool
    #: a literal default next to the read (`unwrap_or("3000")`), if any
    default: str | None


_ENV_TEXT = re.compile(rb"(?:\benv::var(?:_os)?|\bdotenvy?::var|\bvar(?:_os)?|\benv!)\s*\(")


def _env_nodes(sf: ts.SourceFile) -> Iterator[Node]:
    """Calls and macros that may read the environment, found from the text (no full tree walk)."""
    seen: set[int] = set()
    for match in _ENV_TEXT.finditer(sf.source):
        node = sf.root.descendant_for_byte_range(match.start(), match.start() + 1)
        while node is not None and node.type not in ("call_expression", "macro_invocation"):
            node = node.parent
        if node is not None and node.start_byte not in seen:
            seen.add(node.start_byte)
            yield node


def env_reads(files: Iterable[ts.SourceFile]) -> list[EnvRead]:
    """Every `std::env::var("X")` / `env!("X")` the code does, with how it is used."""
    out: list[EnvRead] = []
    for sf in files:
        for node in _env_nodes(sf):
            if node.type == "macro_invocation":
                macro = ts.text(node.child_by_field_name("macro"))
                if macro.split("::")[-1] != "env":
                    continue
                tokens = next((c for c in node.named_children if c.type == "token_tree"), None)
                first = tokens.named_children[0] if tokens is not None and tokens.named_children else None
                name = string_value(first)
                if name:
                    out.append(EnvRead(name, True, False, None))
                continue
            fn = ts.text(node.child_by_field_name("function"))
            if not (fn.endswith(_ENV_CALLS) or fn in ("var", "var_os")):
                continue
            args = call_args(node)
            name = string_value(args[0]) if args else None
            if not name:
                continue
            out.append(_classify_env_read(name, node))
    return out


def _classify_env_read(name: str, call: Node) -> EnvRead:
    """Required unless the first thing done with the result tolerates its absence."""
    decided: bool | None = None  # True: required, False: optional
    numeric = False
    default: str | None = None
    current = call
    for _ in range(8):
        parent = current.parent
        if parent is None or parent.type in ("let_declaration", "expression_statement", "block"):
            break
        if parent.type == "try_expression" and decided is None:
            decided = True
        elif parent.type in _OPTIONAL_PARENTS and decided is None:
            decided = False
        elif parent.type == "field_expression":
            method = ts.text(parent.child_by_field_name("field"))
            outer = parent.parent
            if method in _OPTIONAL_METHODS:
                decided = False if decided is None else decided
                args = call_args(outer) if outer is not None and outer.type == "call_expression" else []
                literal = re.search(r"\"?(\d{2,5})\"?", ts.text(args[0])) if args else None
                default = default or (literal.group(1) if literal else None)
            elif method in ("unwrap", "expect") and decided is None:
                decided = True
            elif method == "parse":
                numeric = True
        current = parent
    return EnvRead(name, decided is not False, numeric, default)


def literal_port(files: Iterable[ts.SourceFile]) -> tuple[int, str] | None:
    """(port, host) the code binds to literally: "0.0.0.0:3000", ([0,0,0,0], 3000), ("127.0.0.1", 8080)."""
    files = list(files)
    texts = [sf.source.decode("utf-8", errors="replace") for sf in files]
    # HttpServer's `.bind(("host", port))` first: a plain address string may be another
    # listener (a raw TCP socket, a metrics server).
    for text in texts:
        for match in _BIND_TUPLE.finditer(text):
            return int(match.group(2)), match.group(1)
    for text in texts:
        for match in _SOCKET_ADDR.finditer(text):
            return int(match.group(5)), ".".join(match.group(i) for i in range(1, 5))
    for text in texts:
        for match in _ADDRESS.finditer(text):
            return int(match.group(2)), match.group(1)
    return None


def dotenv_port(folders: Iterable[Path]) -> int | None:
    for folder in folders:
        path = folder / ".env"
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else []
        except OSError:
            continue
        for line in lines:
            match = re.match(r"\s*(?:export\s+)?PORT\s*=\s*[\"']?(\d{2,5})", line)
            if match:
                return int(match.group(1))
    return None


def runtime_env(reads: list[EnvRead], port: int) -> dict[str, str]:
    """Dummy values for the variables the code needs; PORT/HOST/ADDR ones point at 0.0.0.0:port."""
    out: dict[str, str] = {}
    for read in reads:
        listen = _LISTEN_VAR.match(read.name.upper())
        if listen and listen.group(1) == "PORT":
            out[read.name] = str(port)
        elif listen and listen.group(1) in ("HOST", "IP"):
            out[read.name] = "0.0.0.0"
        elif listen:
            out[read.name] = f"0.0.0.0:{port}"
        elif read.name.startswith("CARGO_") or read.name in _SYSTEM_ENV:
            continue  # set by Cargo itself, or by the system
        elif read.required and read.name not in out:
            out[read.name] = "1" if read.numeric else f"dummy-{read.name}"
    return dict(sorted(out.items()))


def binary_command(repo_root: Path, crate_dir: Path, binary: str) -> list[str]:
    """`target/release/<binary>` as seen from the crate, after `cargo build --release`.

    Workspace members share the workspace's target folder.
    """
    base = workspace_root(crate_dir, repo_root) or crate_dir
    rel = os.path.relpath(base / "target" / "release" / binary, crate_dir.resolve())
    return [rel if rel.startswith(".") else "./" + rel]


def runtime_hints(repo_root: Path, service: ServiceCandidate, default_port: int) -> RuntimeHints:
    """Shared by Axum and Actix: build with `cargo build --release`, run the binary."""
    repo_root = repo_root.resolve()
    crate_dir = service.root.resolve()
    manifest = read_cargo(crate_dir / "Cargo.toml") or {}
    binary = next((n for n, rel in bin_targets(manifest, crate_dir) if rel == service.entrypoint), None)
    binary = binary or package_name(manifest) or crate_dir.name
    project = RustProject(repo_root, crate_dir, service.entrypoint)
    reads = env_reads(project.files)
    literal = literal_port(project.files)
    port_read = next((r for r in reads if _LISTEN_VAR.match(r.name.upper()) and r.default), None)
    workspace = workspace_root(crate_dir, repo_root)
    if literal is not None:
        port, host = literal
        if host in ("127.0.0.1", "localhost", "[::1]", "::1"):
            log.warning("%s binds to %s:%d; the environment stage must rewrite it to 0.0.0.0", service.root, host, port)
    elif port_read is not None and port_read.default is not None:
        port = int(port_read.default)
    else:
        folders = [crate_dir] + ([workspace] if workspace is not None else [])
        port = dotenv_port(folders) or default_port
    return RuntimeHints(
        start_command=binary_command(repo_root, crate_dir, binary),
        port=port,
        env=runtime_env(reads, port),
    )
