"""Python knowledge shared by the Flask, FastAPI and Django modules.

They all need the same things from a Python code base: every parsed module of a
service, a way to follow a name through `import`/`from ... import` to where it is really
bound, literal values of arguments, the JSON body fields a handler reads, the environment
variables the code cannot start without, and a way to swap a function body for a stub.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.models import BodyField, Handler

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- literals


def string_value(node: Node | None) -> str | None:
    """The value of a plain string literal (no f-string interpolation), else None."""
    if node is None:
        return None
    if node.type == "concatenated_string":
        parts = [string_value(c) for c in node.children if c.type == "string"]
        return None if any(p is None for p in parts) else "".join(p for p in parts if p is not None)
    if node.type != "string":
        return None
    out = []
    for child in node.children:
        if child.type == "interpolation":
            return None
        if child.type == "string_content":
            out.append(ts.text(child))
        if child.type == "escape_sequence":
            out.append(ts.text(child).encode().decode("unicode_escape", errors="replace"))
    return "".join(out)


def string_list(node: Node | None) -> list[str] | None:
    if node is None or node.type not in ("list", "tuple", "set"):
        return None
    values = [string_value(c) for c in node.named_children]
    return None if any(v is None for v in values) else [v for v in values if v is not None]


def literal_type(node: Node | None) -> str:
    if node is None:
        return "any"
    return {
        "string": "str",
        "concatenated_string": "str",
        "integer": "int",
        "float": "float",
        "true": "bool",
        "false": "bool",
        "list": "list",
        "list_comprehension": "list",
        "dictionary": "dict",
        "dictionary_comprehension": "dict",
    }.get(node.type, "any")


def call_args(call: Node) -> tuple[list[Node], dict[str, Node]]:
    """Positional and keyword arguments of a call node."""
    positional: list[Node] = []
    keywords: dict[str, Node] = {}
    args = call.child_by_field_name("arguments")
    if args is None:
        return positional, keywords
    for child in args.named_children:
        if child.type == "keyword_argument":
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            if name is not None and value is not None:
                keywords[ts.text(name)] = value
        elif child.type not in ("comment", "list_splat", "dictionary_splat"):
            positional.append(child)
    return positional, keywords


def arg(call: Node, index: int, keyword: str) -> Node | None:
    positional, keywords = call_args(call)
    if keyword in keywords:
        return keywords[keyword]
    return positional[index] if index < len(positional) else None


def unwrap_parens(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


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


# --------------------------------------------------------------------------- handlers


def handler_for(func: Node, rel: str) -> Handler:
    body = func.child_by_field_name("body")
    assert body is not None
    return ts.handler_at(rel, ts.text(func.child_by_field_name("name")), func, body)


def mask_function_body(source: bytes, handler: Handler, statements: list[str]) -> bytes:
    """Replace a function's block by `statements`, keeping its docstring and indentation."""
    tree = ts.parse(source, LANGUAGE)
    block = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte, {"block"})
    if block is None or block.parent is None or block.parent.type != "function_definition":
        raise ValueError(
            f"no function body at bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file}"
        )
    prefix = b""
    first = block.named_children[0] if block.named_children else None
    if (
        first is not None
        and first.type == "expression_statement"
        and len(first.named_children) == 1
        and first.named_children[0].type in ("string", "concatenated_string")
    ):
        prefix = source[first.start_byte : first.end_byte]
    colon = next((c for c in block.parent.children if c.type == ":"), None)
    if colon is not None and colon.end_point[0] == block.start_point[0]:
        # `def f(): return x` has no indented block to put several lines in.
        new = (prefix + b"; " if prefix else b"") + "; ".join(statements).encode()
    else:
        indent = ts.line_indent(source, block.start_byte)
        joined = (b"\n" + indent).join(s.encode() for s in statements)
        new = prefix + b"\n" + indent + joined if prefix else joined
    masked = ts.replace(source, block.start_byte, block.end_byte, new)
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- JSON body


_JSON_SOURCES = ("request.get_json", "request.json", "flask.request.get_json", "flask.request.json")
_LOADS = ("json.loads", "loads")


def _is_json_source(node: Node) -> bool:
    node = unwrap_parens(node)
    if node.type == "call":
        fn = ts.text(node.child_by_field_name("function"))
        return fn.endswith("get_json") and fn.startswith(("request", "flask.request"))
    if node.type == "boolean_operator":
        left = node.child_by_field_name("left")
        return left is not None and _is_json_source(left)
    return node.type == "attribute" and ts.text(node) in _JSON_SOURCES


@dataclass
class _Field:
    name: str
    type: str = "any"
    required: bool = False
    #: read with a fallback (`data.get("x", 0)`): the handler copes without it
    has_default: bool = False


class _BodyReader:
    """Collect the fields a function reads from the parsed JSON body."""

    def __init__(self, func: Node, sources: Iterable[str] = (), raw_sources: Iterable[str] = ()) -> None:
        self.func = func
        self.sources = frozenset(sources)
        self.raw_sources = frozenset(raw_sources)
        self.aliases: set[str] = set()
        self.vars: dict[str, str] = {}
        self.fields: dict[str, _Field] = {}

    def is_body(self, node: Node) -> bool:
        node = unwrap_parens(node)
        return self.is_source(node) or (node.type == "identifier" and ts.text(node) in self.aliases)

    def is_source(self, node: Node) -> bool:
        """An expression that evaluates to the parsed JSON body."""
        node = unwrap_parens(node)
        if node.type == "boolean_operator":
            left = node.child_by_field_name("left")
            return left is not None and self.is_source(left)
        if ts.text(node) in self.sources:
            return True
        if node.type == "call" and self.raw_sources and ts.text(node.child_by_field_name("function")) in _LOADS:
            positional, _ = call_args(node)
            first = unwrap_parens(positional[0]) if positional else None
            if first is not None and first.type == "boolean_operator":
                first = first.child_by_field_name("left")
            return first is not None and ts.text(first) in self.raw_sources
        return _is_json_source(node)

    def field_of(self, node: Node) -> str | None:
        """The body field an expression stands for: data["x"], data.get("x"), or a var."""
        node = unwrap_parens(node)
        if node.type == "identifier":
            return self.vars.get(ts.text(node))
        if node.type == "subscript":
            value = node.child_by_field_name("value")
            key = node.child_by_field_name("subscript")
            if value is not None and self.is_body(value):
                return string_value(key)
        if node.type == "call":
            fn = node.child_by_field_name("function")
            if fn is not None and fn.type == "attribute" and ts.text(fn.child_by_field_name("attribute")) == "get":
                obj = fn.child_by_field_name("object")
                positional, _ = call_args(node)
                if obj is not None and self.is_body(obj) and positional:
                    return string_value(positional[0])
        return None

    def add(self, name: str, *, required: bool | None = None, type_: str | None = None) -> None:
        entry = self.fields.setdefault(name, _Field(name))
        if required:
            entry.required = True
        if type_ and type_ != "any" and entry.type == "any":
            entry.type = type_

    def run(self) -> list[BodyField]:
        # Aliases first, in source order, so `data = request.get_json()` is known before use.
        for node in ts.find_all(self.func, "assignment"):
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None or left.type != "identifier":
                continue
            if self.is_source(right):
                self.aliases.add(ts.text(left))
        for node in ts.walk(self.func):
            if node.type == "subscript" and (name := self.field_of(node)):
                self.add(name, required=name not in _guarded_keys(node))
            elif node.type == "call" and (name := self.field_of(node)):
                positional, _ = call_args(node)
                self.add(name, type_=literal_type(positional[1]) if len(positional) > 1 else None)
                if len(positional) > 1:
                    self.fields[name].has_default = True
            elif node.type == "assignment":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                if left is not None and right is not None and left.type == "identifier":
                    target = right
                    if target.type == "boolean_operator":
                        target = target.child_by_field_name("left") or target
                    if name := self.field_of(target):
                        self.vars[ts.text(left)] = name
            elif node.type == "comparison_operator":
                self._membership(node)
        for node in ts.find_all(self.func, "call"):
            if ts.text(node.child_by_field_name("function")) == "isinstance":
                positional, _ = call_args(node)
                if len(positional) == 2 and (name := self.field_of(positional[0])):
                    self.add(name, type_=_isinstance_type(positional[1]))
        for node in ts.find_all(self.func, "if_statement"):
            self._validation(node)
        return [
            BodyField(name=f.name, type=f.type, required=f.required and not f.has_default) for f in self.fields.values()
        ]

    def _membership(self, node: Node) -> None:
        children = node.children
        if len(children) != 3 and not (len(children) == 4 and ts.text(children[1]) == "not"):
            return
        left, right = children[0], children[-1]
        op = " ".join(ts.text(c) for c in children[1:-1])
        if op in ("in", "not in") and self.is_body(right) and (key := string_value(left)):
            self.add(key, required=op == "not in" and _guards_4xx(node))

    def _validation(self, node: Node) -> None:
        condition = node.child_by_field_name("condition")
        if condition is None or not _guards_4xx(node):
            return
        positive = _guarded_keys(condition)
        for sub in ts.walk(condition):
            target: Node | None = None
            if sub.type == "not_operator":
                target = sub.child_by_field_name("argument")
                if target is not None and unwrap_parens(target).type == "call":
                    call = unwrap_parens(target)
                    if ts.text(call.child_by_field_name("function")) == "isinstance":
                        positional, _ = call_args(call)
                        target = positional[0] if positional else None
            elif (
                sub.type == "comparison_operator"
                and len(sub.children) == 3
                and ts.text(sub.children[1]) == "is"
                and sub.children[-1].type == "none"
            ):
                target = sub.children[0]
            if target is not None and (name := self.field_of(target)) and name not in positive:
                self.add(name, required=True)


def _guarded_keys(node: Node) -> set[str | None]:
    """Keys checked with `"x" in data` in the conditions around `node` (or in it).

    A read under such a guard means the field is optional, only validated when present.
    """
    conditions = [node] + [
        c
        for a in ts.ancestors(node)
        if a.type in ("if_statement", "conditional_expression", "boolean_operator")
        for c in ([a.child_by_field_name("condition")] if a.type != "boolean_operator" else [a])
        if c is not None
    ]
    return {
        string_value(c.children[0])
        for cond in conditions
        for c in ts.find_all(cond, "comparison_operator")
        if len(c.children) == 3 and ts.text(c.children[1]) == "in"
    }


def _guards_4xx(node: Node) -> bool:
    """Whether the `if` around (or at) `node` answers a client error."""
    if_node = (
        node if node.type == "if_statement" else next((a for a in ts.ancestors(node) if a.type == "if_statement"), None)
    )
    if if_node is None:
        return False
    consequence = if_node.child_by_field_name("consequence")
    if consequence is None:
        return False
    for sub in ts.find_all(consequence, "integer"):
        try:
            if 400 <= int(ts.text(sub)) < 500:
                return True
        except ValueError:
            continue
    return False


def _isinstance_type(node: Node) -> str:
    node = unwrap_parens(node)
    if node.type == "tuple":
        types = [ts.text(c) for c in node.named_children]
        if "float" in types:
            return "float"
        node = node.named_children[0] if node.named_children else node
    return {"str": "str", "int": "int", "float": "float", "bool": "bool", "list": "list", "dict": "dict"}.get(
        ts.text(node), "any"
    )


def json_body_fields(func: Node, sources: Iterable[str] = (), raw_sources: Iterable[str] = ()) -> list[BodyField]:
    """Fields of the JSON body that a handler reads.

    Flask's `request.get_json()` / `request.json` always count; `sources` adds expressions
    that also hold the parsed body (DRF's `request.data`), `raw_sources` the raw bytes that
    `json.loads(...)` turns into it (Django's `request.body`).
    """
    return _BodyReader(func, sources, raw_sources).run()


_TYPE_NAMES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "list": "list",
    "List": "list",
    "set": "list",
    "Set": "list",
    "tuple": "list",
    "Tuple": "list",
    "Sequence": "list",
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "EmailStr": "str",
    "HttpUrl": "str",
    "UUID": "str",
    "datetime": "str",
    "date": "str",
    "Decimal": "float",
}


def annotation_type(node: Node | None) -> tuple[str, bool]:
    """(type, optional) of an annotation: `Optional[int]` -> ("int", True)."""
    if node is None:
        return "any", False
    if node.type == "type" and node.named_children:
        node = node.named_children[0]
    if node.type == "binary_operator":
        parts = [node.child_by_field_name("left"), node.child_by_field_name("right")]
        optional = any(p is not None and p.type == "none" for p in parts)
        for p in parts:
            if p is not None and p.type != "none":
                t, opt = annotation_type(p)
                return t, optional or opt
        return "any", optional
    if node.type == "none":
        return "any", True
    if node.type == "generic_type":
        base = ts.text(node.named_children[0]).split(".")[-1]
        params = [c for c in ts.find_all(node, "type_parameter")]
        inner = params[0].named_children if params else []
        if base == "Optional" and inner:
            return annotation_type(inner[0])[0], True
        if base == "Union" and inner:
            optional = any(ts.text(c) == "None" for c in inner)
            first = next((c for c in inner if ts.text(c) != "None"), None)
            return annotation_type(first)[0] if first is not None else "any", optional
        if base == "Annotated" and inner:
            return annotation_type(inner[0])
        return _TYPE_NAMES.get(base, "any"), False
    if node.type == "subscript":
        base = ts.text(node.child_by_field_name("value")).split(".")[-1]
        inner = node.children_by_field_name("subscript")
        if base == "Optional" and inner:
            return annotation_type(inner[0])[0], True
        return _TYPE_NAMES.get(base, "any"), False
    name = ts.text(node).split(".")[-1]
    return _TYPE_NAMES.get(name, "any"), False


# --------------------------------------------------------------------------- environment


_OPTIONAL_ENV = {"PORT", "HOST", "DEBUG", "PYTHONPATH", "PYTHONUNBUFFERED", "TZ", "HOME", "PATH", "LANG"}


def _in_test_position(node: Node) -> bool:
    """Used only to decide something (if/ternary/or/comparison): the code copes without it."""
    child = node
    for parent in ts.ancestors(node):
        if parent.type in ("if_statement", "elif_clause", "while_statement", "conditional_expression"):
            condition = parent.child_by_field_name("condition")
            if condition is not None and condition.start_byte <= child.start_byte < condition.end_byte:
                return True
        if parent.type in ("boolean_operator", "not_operator", "comparison_operator"):
            return True
        if parent.type in (
            "expression_statement",
            "assignment",
            "return_statement",
            "function_definition",
            "block",
        ):
            return False
        child = parent
    return False


def required_env(files: Iterable[ts.SourceFile]) -> dict[str, str]:
    """Environment variables the code needs, with safe dummy values (never real ones)."""
    out: dict[str, str] = {}
    for sf in files:
        for node in ts.walk(sf.root):
            name: str | None = None
            if node.type == "subscript" and ts.text(node.child_by_field_name("value")).endswith("environ"):
                name = string_value(node.child_by_field_name("subscript"))
            elif node.type == "call":
                fn = ts.text(node.child_by_field_name("function"))
                if fn in ("os.getenv", "getenv", "os.environ.get", "environ.get"):
                    positional, keywords = call_args(node)
                    if len(positional) == 1 and "default" not in keywords and not _in_test_position(node):
                        name = string_value(positional[0])
            if not name or name in _OPTIONAL_ENV or name.startswith(("FLASK_", "PYTHON")):
                continue
            parent = node.parent
            numeric = (
                parent is not None
                and parent.type == "argument_list"
                and parent.parent is not None
                and ts.text(parent.parent.child_by_field_name("function")) in ("int", "float")
            )
            out.setdefault(name, "1" if numeric else f"dummy-{name}")
    return dict(sorted(out.items()))


def literal_port(files: Iterable[ts.SourceFile], call_names: tuple[str, ...]) -> int | None:
    """A port the code itself asks for, e.g. `app.run(port=5001)` or `uvicorn.run(app, port=...)`."""
    for sf in files:
        for node in ts.find_all(sf.root, "call"):
            fn = ts.text(node.child_by_field_name("function"))
            if not fn.endswith(call_names):
                continue
            _, keywords = call_args(node)
            port = keywords.get("port")
            if port is None:
                continue
            for sub in ts.walk(port):
                if sub.type == "integer":
                    value = int(ts.text(sub))
                    if 0 < value < 65536:
                        return value
    return None
