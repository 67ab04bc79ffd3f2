"""The Go project model: go.mod files, and the packages, files and declarations of a module.

A module is parsed once (every .go file outside tests, vendored folders and nested
modules) and indexed by package folder: its functions, methods, package-level variables
and types, `init` functions, and each file's imports. Everything above this layer (the
interpreter, environment reads, the framework's detect) starts from a `GoMod` or a
`GoProject`; it only reads the repository, it never interprets code.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.languages import treesitter as ts
from pipeline.languages.go.syntax import LANGUAGE, Node, guess_package_name, imports_of, receiver_type, specs_of

log = logging.getLogger(__name__)

#: Folders that never hold the service's own packages.
SKIP_GO_DIRS = frozenset({"vendor", "testdata"})


# --------------------------------------------------------------------------- go.mod


@dataclass
class GoMod:
    root: Path
    module: str
    go: str | None
    #: direct requirements (import path -> version); `// indirect` ones are left out
    requires: dict[str, str]

    def requires_any(self, paths: Iterable[str]) -> bool:
        return any(p in self.requires for p in paths)


def parse_go_mod(text: str, root: Path) -> GoMod:
    """The module path, go directive and direct requirements of a go.mod file."""
    module = ""
    go: str | None = None
    requires: dict[str, str] = {}
    block: str | None = None
    for raw in text.splitlines():
        indirect = "// indirect" in raw
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if block is not None:
            if line == ")":
                block = None
                continue
            directive, rest = block, line
        else:
            directive, _, rest = line.partition(" ")
            rest = rest.strip()
            if rest == "(":
                block = directive
                continue
        if directive == "module":
            module = rest.strip('"')
        elif directive == "go":
            go = rest
        elif directive == "require" and not indirect:
            words = rest.split()
            if len(words) >= 2:
                requires[words[0].strip('"')] = words[1]
    return GoMod(root=root, module=module, go=go, requires=requires)


def find_go_mods(repo_root: Path) -> list[GoMod]:
    """Every go.mod under the repository (outside vendored folders), sorted by folder; a
    repository with Go source and no go.mod at all is one GOPATH-era module (`gopath_go_mod`)."""
    out = []
    for path, rel, content in ts.iter_files(repo_root, repo_root, lambda n: n == "go.mod"):
        if _skipped_dir(rel):
            continue
        out.append(parse_go_mod(content.decode("utf-8", errors="replace"), path.parent))
    if not out and (gopath := gopath_go_mod(repo_root)) is not None:
        out.append(gopath)
    return sorted(out, key=lambda m: m.root)


def load_go_mod(root: Path) -> GoMod:
    """The module rooted at `root`: its go.mod, else the GOPATH-era module it stands for."""
    gomod = root / "go.mod"
    if gomod.is_file():
        return parse_go_mod(gomod.read_text(errors="replace"), root)
    return gopath_go_mod(root) or parse_go_mod("", root)


def gopath_go_mod(root: Path) -> GoMod | None:
    """A repository written before Go modules (no go.mod; its packages lived in
    $GOPATH/src/<import path>) as the module it stands for: named as its own imports name it,
    and requiring every outside package it imports, with the paths above each (a framework
    is claimed by its module's path, `github.com/zenazn/goji` for `.../goji/web`).
    None when the folder holds no Go source."""
    imported: set[str] = set()
    any_source = False
    for _path, rel, content in ts.iter_files(root, root, _is_go_source):
        if _skipped_dir(rel):
            continue
        any_source = True
        tree = ts.parse_cached(rel, content, LANGUAGE)
        if tree is not None:
            imported.update(path for _spec, _name, path in imports_of(tree.root_node))
    if not any_source:
        return None
    module = gopath_module(root, imported)
    requires: dict[str, str] = {}
    for path in imported:
        parts = path.split("/")
        # The standard library's paths have no dot in their first element.
        if "." not in parts[0] or path == module or path.startswith(module + "/"):
            continue
        for end in range(2, len(parts) + 1):
            requires["/".join(parts[:end])] = ""
    return GoMod(root=root, module=module, go=None, requires=requires)


def gopath_module(root: Path, imported: Iterable[str]) -> str:
    """The import path a GOPATH-era repository's own packages have: github.com/x/todo when
    it imports github.com/x/todo/internal/task and internal/task is a folder here; "app"
    when no import points into the repository."""
    votes: dict[str, int] = {}
    for path in imported:
        parts = path.split("/")
        for cut in range(1, len(parts)):
            if (root / "/".join(parts[cut:])).is_dir():
                module = "/".join(parts[:cut])
                votes[module] = votes.get(module, 0) + 1
                break
    return max(votes, key=lambda m: (votes[m], -len(m))) if votes else "app"


def _skipped_dir(rel: str) -> bool:
    return any(part in SKIP_GO_DIRS or part.startswith((".", "_")) for part in rel.split("/")[:-1])


# --------------------------------------------------------------------------- the module's packages


@dataclass
class GoFile(ts.HasSourceFile):
    sf: ts.SourceFile
    #: folder of the package relative to the module root, "" for the root
    pkg_dir: str
    package: str
    #: local name -> import path (blank and dot imports left out)
    imports: dict[str, str] = field(default_factory=dict)


@dataclass
class GoPackage:
    dir: str
    name: str
    files: list[GoFile] = field(default_factory=list)
    funcs: dict[str, tuple[Node, GoFile]] = field(default_factory=dict)
    #: (receiver type, method name) -> definition
    methods: dict[tuple[str, str], tuple[Node, GoFile]] = field(default_factory=dict)
    #: package-level variable or constant -> (var_spec/const_spec, index of the name, file)
    vars: dict[str, tuple[Node, int, GoFile]] = field(default_factory=dict)
    types: dict[str, tuple[Node, GoFile]] = field(default_factory=dict)
    #: `func init()`, which a package may declare several times
    inits: list[tuple[Node, GoFile]] = field(default_factory=list)

    @property
    def is_main(self) -> bool:
        return self.name == "main" and "main" in self.funcs


class GoProject:
    """Every package of one Go module, each file parsed once."""

    def __init__(self, repo_root: Path, mod: GoMod, *, warnings: list[str] | None = None) -> None:
        self.repo_root = repo_root
        self.mod = mod
        self.root = mod.root
        self.packages: dict[str, GoPackage] = {}
        #: method name -> every definition of it in the module (for the by-name fallback)
        self.methods_by_name: dict[str, list[tuple[Node, GoFile]]] = {}
        nested = self._nested_modules()
        files: list[GoFile] = []
        skip = len(self.root.as_posix()) + 1
        for path, rel, content in ts.iter_files(self.root, repo_root, _is_go_source, warnings=warnings):
            inside = path.as_posix()[skip:]
            if _skipped_dir(inside) or any(inside.startswith(n) for n in nested):
                continue
            sf = _parse(path, rel, content, warnings)
            if sf is None:
                continue
            pkg_clause = next((c for c in sf.root.named_children if c.type == "package_clause"), None)
            if pkg_clause is None:
                continue
            pkg_dir = posixpath.dirname(inside)
            files.append(GoFile(sf=sf, pkg_dir=pkg_dir, package=ts.text(pkg_clause.named_children[0])))
        for gf in files:
            pkg = self.packages.setdefault(gf.pkg_dir, GoPackage(dir=gf.pkg_dir, name=gf.package))
            pkg.files.append(gf)
            self._index(pkg, gf)
        for gf in files:
            for _spec, name, path in imports_of(gf.root):
                if name in ("_", "."):
                    continue
                target = self.internal_dir(path)
                local = name or (self.packages[target].name if target in self.packages else guess_package_name(path))
                gf.imports[local] = path

    def _nested_modules(self) -> list[str]:
        """Folders (relative to the module root, with a trailing slash) of nested modules."""
        out = []
        for path, rel, _content in ts.iter_files(self.root, self.repo_root, lambda n: n == "go.mod"):
            if path.parent != self.root and not _skipped_dir(rel):
                out.append(path.parent.relative_to(self.root).as_posix() + "/")
        return out

    def _index(self, pkg: GoPackage, gf: GoFile) -> None:
        for node in gf.root.named_children:
            if node.type == "function_declaration":
                name = ts.text(node.child_by_field_name("name"))
                if name == "init":
                    pkg.inits.append((node, gf))
                else:
                    pkg.funcs.setdefault(name, (node, gf))
            elif node.type == "method_declaration":
                name = ts.text(node.child_by_field_name("name"))
                recv = receiver_type(node)
                if recv is not None:
                    pkg.methods.setdefault((recv, name), (node, gf))
                self.methods_by_name.setdefault(name, []).append((node, gf))
            elif node.type in ("var_declaration", "const_declaration"):
                for spec in specs_of(node):
                    for index, name_node in enumerate(spec.children_by_field_name("name")):
                        pkg.vars.setdefault(ts.text(name_node), (spec, index, gf))
            elif node.type == "type_declaration":
                for spec in node.named_children:
                    if spec.type in ("type_spec", "type_alias"):
                        pkg.types.setdefault(ts.text(spec.child_by_field_name("name")), (spec, gf))

    def internal_dir(self, import_path: str) -> str | None:
        """The package folder of an import path of this module, else None."""
        module = self.mod.module
        if not module:
            return None
        if import_path == module:
            return ""
        if import_path.startswith(module + "/"):
            return import_path[len(module) + 1 :]
        return None

    def files(self) -> Iterator[GoFile]:
        for key in sorted(self.packages):
            yield from self.packages[key].files

    def main_packages(self) -> list[GoPackage]:
        return [self.packages[k] for k in sorted(self.packages) if self.packages[k].is_main]

    def imported_dirs(self, start: str) -> list[str]:
        """The module's packages `start` imports, transitively, dependencies first."""
        order: list[str] = []
        seen: set[str] = set()

        def visit(pkg_dir: str) -> None:
            if pkg_dir in seen or pkg_dir not in self.packages:
                return
            seen.add(pkg_dir)
            for gf in self.packages[pkg_dir].files:
                for path in sorted(gf.imports.values()):
                    target = self.internal_dir(path)
                    if target is not None:
                        visit(target)
            order.append(pkg_dir)

        visit(start)
        return order


def _is_go_source(name: str) -> bool:
    return name.endswith(".go") and not name.endswith("_test.go")


def _parse(path: Path, rel: str, content: bytes, warnings: list[str] | None) -> ts.SourceFile | None:
    # parse_cached shares the tree with the other calls of one exploration.
    tree = ts.parse_cached(rel, content, LANGUAGE)
    if tree is not None and not ts.has_error(tree.root_node):
        return ts.SourceFile(path=path, rel=rel, source=content, tree=tree)
    message = f"skipped {rel}: does not parse as go"
    log.warning(message)
    if warnings is not None:
        warnings.append(message)
    return None
