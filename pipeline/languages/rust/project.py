"""The Rust project model: the crates one service compiles, their module trees and name resolution.

A `RustProject` is the set of crates one service builds (its binary, the library of the
same package and path dependencies), each read by following `mod x;` from the crate root,
so files the compiler never sees are never read. `lookup`/`resolve` say what a name or a
path means inside a module. The small syntax helpers (string literals, paths, `use`
trees, attributes) live here too, since every layer above reads them. Nothing here knows
Axum or Actix, and nothing here evaluates code: that is `interpreter.py`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.rust.cargo import default_features, dependencies, lib_target, path_dependencies, read_cargo

log = logging.getLogger(__name__)

Node = tree_sitter.Node
LANGUAGE = "rust"
#: crates that are the web stack itself: read as outside names even when a path dependency
#: points at their source (the frameworks' own example workspaces do that)
FRAMEWORK_CRATES = ("axum", "actix", "tower", "hyper", "tokio", "http", "shuttle")


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
        #: the service's features in a plain build: code behind another feature's cfg is not in it
        self.features = default_features(manifest)
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
