"""The project model of a Python service: its files, manifests, modules and imports.

Which files belong to the service (tests left out), what its dependency manifests declare,
each module indexed once (imports, definitions, assignments), and PyProject, which follows
a name through `import`/`from ... import` to where it is really bound, with the class
helpers built on it (hierarchy, methods, class attributes). Flask, FastAPI and Django all
find their apps, routers and views through it; it is the bulk of the shared Python
knowledge, and it needs only syntax.py below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.python.syntax import unwrap_parens

LANGUAGE = "python"
MANIFESTS = ("requirements.txt", "pyproject.toml", "setup.py", "setup.cfg", "Pipfile")

Node = tree_sitter.Node


# --------------------------------------------------------------------------- files


def is_test_path(rel: str) -> bool:
    """Tests often build throwaway apps; their routes are not the service's."""
    parts = rel.split("/")
    name = parts[-1]
    if any(p in ("tests", "test", "testing") for p in parts[:-1]):
        return True
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def iter_python_files(
    root: Path,
    repo_root: Path,
    *,
    warnings: list[str] | None = None,
    include_tests: bool = False,
    mentioning: bytes | None = None,
) -> Iterator[ts.SourceFile]:
    """Every Python file of the service, parsed; with `mentioning`, only files whose bytes
    contain it (case-insensitively), checked before parsing: parsing dominates on large
    repositories, and detection only cares about the few files that import the framework."""
    needle = mentioning.lower() if mentioning else None
    for path, rel, source in ts.iter_files(root, repo_root, lambda n: n.endswith(".py"), warnings=warnings):
        if not include_tests and is_test_path(path.relative_to(root).as_posix()):
            continue
        if needle is not None and needle not in source.lower():
            continue
        sf = ts.parse_source(path, rel, source, LANGUAGE, warnings=warnings)
        if sf is not None:
            yield sf


def service_root_for(file: Path, repo_root: Path, manifests: Iterable[str] = MANIFESTS) -> Path:
    """The nearest folder at or above `file` holding a manifest, else the repository root."""
    names = tuple(manifests)
    current = file.parent
    while True:
        if any((current / m).is_file() for m in names):
            return current
        if current == repo_root or repo_root not in current.parents:
            return repo_root
        current = current.parent


def manifest_text(root: Path) -> str:
    """All dependency manifests of a service, lower-cased, for "is X declared" checks."""
    chunks = []
    for name in sorted(root.glob("requirements*.txt")) + [root / m for m in MANIFESTS[1:]]:
        try:
            if name.is_file() and name.stat().st_size < ts.MAX_FILE_BYTES:
                chunks.append(name.read_text(errors="replace").lower())
        except OSError:
            continue
    return "\n".join(chunks)


def declares(root: Path, package: str) -> bool:
    """Whether a manifest of the service names `package` (a loose, word-boundary match)."""
    return re.search(rf"(?<![a-z0-9_-]){re.escape(package.lower())}(?![a-z0-9_-])", manifest_text(root)) is not None


# --------------------------------------------------------------------------- modules


@dataclass(frozen=True)
class ImportSpec:
    level: int
    dotted: str
    #: the imported name for `from X import name`; None for `import X`
    name: str | None


@dataclass(frozen=True)
class ModuleRef:
    """A module or package of the project, as its path without the `.py`."""

    base: Path


@dataclass(frozen=True)
class ExternalRef:
    """Something imported from outside the project, e.g. ExternalRef("flask", "Flask")."""

    module: str
    name: str | None


@dataclass(frozen=True)
class LocalRef:
    """A name bound in a project module (module-level or inside a function)."""

    file: str
    name: str


Ref = ModuleRef | ExternalRef | LocalRef


@dataclass
class PyModule(ts.HasSourceFile):
    sf: ts.SourceFile
    imports: dict[str, ImportSpec] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)
    functions: dict[str, Node] = field(default_factory=dict)
    classes: dict[str, Node] = field(default_factory=dict)
    #: `name = value` bindings (any scope, first one wins) for constructor lookups
    assignments: list[tuple[str, Node]] = field(default_factory=list)


#: The statements indexing needs; the query runs in C, which matters on large services
#: (walking every node from Python cost seconds on a 5,000-file repository).
_INDEX_QUERY = """
(import_statement) @node
(import_from_statement) @node
(function_definition) @node
(class_definition) @node
(assignment) @node
"""


@cache
def _index_query() -> tree_sitter.Query:
    return tree_sitter.Query(ts.get_language(LANGUAGE), _INDEX_QUERY)


def _statements(root: Node) -> list[Node]:
    """Imports, definitions and assignments at any depth, in source order (outer first)."""
    nodes = tree_sitter.QueryCursor(_index_query()).captures(root).get("node", [])
    return sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte))


def index_module(sf: ts.SourceFile) -> PyModule:
    """The module's imports, definitions and assignments (shared while exploring: Flask,
    FastAPI and Django all index the same files)."""
    return ts.memo(("python-module", sf.rel, id(sf.tree)), lambda: _index_module(sf))


def _index_module(sf: ts.SourceFile) -> PyModule:
    mod = PyModule(sf=sf)
    for node in _statements(sf.root):
        if node.type == "import_statement":
            for child in node.named_children:
                if child.type == "dotted_name":
                    dotted = ts.text(child)
                    # `import a.b` binds `a`, and `a.b` is then reached through attributes.
                    top = dotted.split(".")[0]
                    mod.imports.setdefault(top, ImportSpec(0, top, None))
                elif child.type == "aliased_import":
                    name = child.child_by_field_name("name")
                    alias = child.child_by_field_name("alias")
                    mod.imports[ts.text(alias)] = ImportSpec(0, ts.text(name), None)
        elif node.type == "import_from_statement":
            module_node = node.child_by_field_name("module_name")
            level, dotted = 0, ""
            if module_node is not None and module_node.type == "relative_import":
                prefix = next((c for c in module_node.children if c.type == "import_prefix"), None)
                level = len(ts.text(prefix)) if prefix is not None else 0
                inner = next((c for c in module_node.children if c.type == "dotted_name"), None)
                dotted = ts.text(inner) if inner is not None else ""
            elif module_node is not None:
                dotted = ts.text(module_node)
            for child in node.children_by_field_name("name"):
                if child.type == "aliased_import":
                    name = ts.text(child.child_by_field_name("name"))
                    alias = ts.text(child.child_by_field_name("alias"))
                else:
                    name = alias = ts.text(child)
                mod.imports[alias] = ImportSpec(level, dotted, name)
        elif node.type == "function_definition":
            name = ts.text(node.child_by_field_name("name"))
            mod.defined.add(name)
            mod.functions.setdefault(name, node)
        elif node.type == "class_definition":
            name = ts.text(node.child_by_field_name("name"))
            mod.defined.add(name)
            mod.classes.setdefault(name, node)
        elif node.type == "assignment":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            if left is not None and left.type == "identifier":
                mod.defined.add(ts.text(left))
                if right is not None:
                    mod.assignments.append((ts.text(left), right))
    return mod


class PyProject:
    """Every Python module of one service, with import resolution between them."""

    def __init__(
        self,
        repo_root: Path,
        service_root: Path,
        *,
        files: Iterable[ts.SourceFile] | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.repo_root = repo_root
        self.service_root = service_root
        self.modules: dict[str, PyModule] = {}
        self._by_path: dict[Path, PyModule] = {}
        if files is None:
            files = iter_python_files(service_root, repo_root, warnings=warnings)
        for sf in files:
            mod = index_module(sf)
            self.modules[sf.rel] = mod
            self._by_path[sf.path] = mod

    # ---- the call shapes every Python framework registers routes with

    def method_decorators(self) -> Iterator[tuple[PyModule, tree_sitter.Node, tree_sitter.Node, str, tree_sitter.Node]]:
        """(module, function, decorator call, method name, receiver) for each `@x.m(...) def f`."""
        for rel in sorted(self.modules):
            mod = self.modules[rel]
            for node in ts.find_all(mod.sf.root, "decorated_definition"):
                func = node.child_by_field_name("definition")
                if func is None or func.type != "function_definition":
                    continue
                for deco in node.children:
                    call = deco.named_children[0] if deco.type == "decorator" and deco.named_children else None
                    if call is None or call.type != "call":
                        continue
                    fn = call.child_by_field_name("function")
                    if fn is not None and fn.type == "attribute":
                        attr = ts.text(fn.child_by_field_name("attribute"))
                        yield mod, func, call, attr, fn.child_by_field_name("object")

    def method_calls(self) -> Iterator[tuple[PyModule, tree_sitter.Node, str, tree_sitter.Node]]:
        """(module, call, method name, receiver) for each `x.m(...)` call."""
        for rel in sorted(self.modules):
            mod = self.modules[rel]
            for call in ts.find_all(mod.sf.root, "call"):
                fn = call.child_by_field_name("function")
                if fn is not None and fn.type == "attribute":
                    yield mod, call, ts.text(fn.child_by_field_name("attribute")), fn.child_by_field_name("object")

    # ---- locating modules

    def module_at(self, base: Path) -> PyModule | None:
        return self._by_path.get(base.parent / f"{base.name}.py") or self._by_path.get(base / "__init__.py")

    def _exists(self, base: Path) -> bool:
        return self.module_at(base) is not None or (base.is_dir() and base.is_relative_to(self.service_root))

    def _roots(self, module: PyModule) -> list[Path]:
        source_root = module.path.parent
        while (source_root / "__init__.py").is_file() and source_root != self.repo_root:
            source_root = source_root.parent
        roots = [
            source_root,
            module.path.parent,
            self.service_root,
            self.service_root / "src",
            self.repo_root,
        ]
        return list(dict.fromkeys(roots))

    def locate(self, module: PyModule, level: int, dotted: str) -> Path | None:
        parts = [p for p in dotted.split(".") if p]
        if level > 0:
            base = module.path.parent
            for _ in range(level - 1):
                base = base.parent
            candidate = base.joinpath(*parts)
            return candidate if self._exists(candidate) else None
        for root in self._roots(module):
            candidate = root.joinpath(*parts)
            if parts and self._exists(candidate):
                return candidate
        return None

    # ---- resolving names

    def resolve_name(self, module: PyModule, name: str, depth: int = 0) -> Ref:
        spec = module.imports.get(name)
        if spec is None or depth > 20:
            return LocalRef(module.rel, name)
        target = self.locate(module, spec.level, spec.dotted)
        if spec.name is None:
            if target is None:
                return ExternalRef(spec.dotted, None)
            return ModuleRef(target)
        if target is None:
            if spec.level > 0:
                return LocalRef(module.rel, name)
            return ExternalRef(spec.dotted, spec.name)
        return self.member(ModuleRef(target), spec.name, depth + 1)

    def member(self, ref: ModuleRef, name: str, depth: int = 0) -> Ref:
        target = self.module_at(ref.base)
        spec = target.imports.get(name) if target is not None else None
        if (
            target is not None
            and spec is not None
            and spec.name == name
            and self.locate(target, spec.level, spec.dotted) == ref.base
        ):
            # `from . import views` inside the package itself: the name is the submodule.
            return ModuleRef(ref.base / name) if self._exists(ref.base / name) else LocalRef(target.rel, name)
        if target is not None and (name in target.imports or name in target.defined):
            return self.resolve_name(target, name, depth)
        if self._exists(ref.base / name):
            return ModuleRef(ref.base / name)
        if target is not None:
            return LocalRef(target.rel, name)
        return ExternalRef(ref.base.name, name)

    def resolve_expr(self, module: PyModule, node: Node | None) -> Ref | None:
        if node is None:
            return None
        node = unwrap_parens(node)
        if node.type == "identifier":
            return self.resolve_name(module, ts.text(node))
        if node.type == "attribute":
            obj = self.resolve_expr(module, node.child_by_field_name("object"))
            attr = ts.text(node.child_by_field_name("attribute"))
            if isinstance(obj, ModuleRef):
                return self.member(obj, attr)
            if isinstance(obj, ExternalRef):
                return ExternalRef(obj.module if obj.name is None else f"{obj.module}.{obj.name}", attr)
        return None

    def is_external(self, module: PyModule, node: Node | None, package: str, names: Iterable[str]) -> bool:
        """Whether `node` names one of `names` imported from `package` (or a submodule)."""
        ref = self.resolve_expr(module, node)
        if not isinstance(ref, ExternalRef) or ref.name not in set(names):
            return False
        return ref.module == package or ref.module.startswith(package + ".")

    def function(self, ref: Ref | None) -> tuple[PyModule, Node] | None:
        if not isinstance(ref, LocalRef):
            return None
        mod = self.modules.get(ref.file)
        if mod is None or ref.name not in mod.functions:
            return None
        return mod, mod.functions[ref.name]

    def class_def(self, ref: Ref | None) -> tuple[PyModule, Node] | None:
        if not isinstance(ref, LocalRef):
            return None
        mod = self.modules.get(ref.file)
        if mod is None or ref.name not in mod.classes:
            return None
        return mod, mod.classes[ref.name]


def iter_constructions(project: PyProject, package: str, names: Iterable[str]) -> Iterator[tuple[PyModule, str, Node]]:
    """Every `var = Constructor(...)` whose constructor is one of `names` from `package`."""
    wanted = tuple(names)
    for rel in sorted(project.modules):
        mod = project.modules[rel]
        for var, value in mod.assignments:
            if value.type == "call" and project.is_external(
                mod, value.child_by_field_name("function"), package, wanted
            ):
                yield mod, var, value


def class_hierarchy(project: PyProject, mod: PyModule, cls: Node) -> tuple[list[tuple[PyModule, Node]], list[str]]:
    """The class and its project bases in (depth-first, left-to-right) MRO order, and the
    simple names of the bases that come from outside the project (`MethodView`, `ModelViewSet`).
    """
    classes: list[tuple[PyModule, Node]] = []
    library: list[str] = []
    seen: set[tuple[str, int]] = set()

    def visit(m: PyModule, c: Node) -> None:
        seen.add((m.rel, c.start_byte))
        classes.append((m, c))
        bases = c.child_by_field_name("superclasses")
        for base in bases.named_children if bases is not None else []:
            if base.type == "keyword_argument":
                continue
            found = project.class_def(project.resolve_expr(m, base))
            if found is None:
                library.append(ts.text(base).split(".")[-1])
            elif (found[0].rel, found[1].start_byte) not in seen and len(seen) < 50:
                visit(found[0], found[1])

    visit(mod, cls)
    return classes, library


def class_functions(cls: Node) -> list[tuple[Node, list[Node]]]:
    """(method, decorator expressions) of each function defined directly in a class body."""
    body = cls.child_by_field_name("body")
    out: list[tuple[Node, list[Node]]] = []
    for stmt in body.named_children if body is not None else []:
        if stmt.type == "function_definition":
            out.append((stmt, []))
        elif stmt.type == "decorated_definition":
            func = stmt.child_by_field_name("definition")
            if func is not None and func.type == "function_definition":
                decorators = [d.named_children[0] for d in stmt.children if d.type == "decorator" and d.named_children]
                out.append((func, decorators))
    return out


def class_assignments(cls: Node) -> dict[str, Node]:
    """`name = value` statements directly in a class body (e.g. `methods = ["GET"]`)."""
    body = cls.child_by_field_name("body")
    out: dict[str, Node] = {}
    for stmt in body.named_children if body is not None else []:
        if stmt.type != "expression_statement" or not stmt.named_children:
            continue
        assign = stmt.named_children[0]
        left, right = assign.child_by_field_name("left"), assign.child_by_field_name("right")
        if assign.type == "assignment" and left is not None and left.type == "identifier" and right is not None:
            out.setdefault(ts.text(left), right)
    return out


def enclosing_function(node: Node) -> Node | None:
    return next((a for a in ts.ancestors(node) if a.type == "function_definition"), None)


def returned_names(func: Node) -> set[str]:
    return {
        ts.text(n.named_children[0])
        for n in ts.find_all(func, "return_statement")
        if n.named_children and n.named_children[0].type == "identifier"
    }
