"""Shared Go plumbing: go.mod, the packages of a module, a small route interpreter, masking.

Go routers are plain values handed around between functions and packages
(`api.Register(r.Group("/api"))`, `r.Mount("/users", users.Routes())`), so the routes are
found by a small abstract interpreter that starts at `func main()` and follows calls into
the module's own functions, tracking router values, struct fields and closures. Code that
`main` never reaches (a decoy handler, an unused router) never registers anything. The
framework modules (gin.py, echo.py, chi.py, nethttp.py) add a `Dialect` that says what
their constructors and router methods do; net/http itself is understood by every dialect
because every Go service uses it (`http.ListenAndServe`, `http.HandlerFunc`, ...).
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import ClassVar

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate
from pipeline.models import Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
LANGUAGE = "go"
NET_HTTP = "net/http"
#: Folders that never hold the service's own packages.
SKIP_GO_DIRS = frozenset({"vendor", "testdata"})
#: Folders whose `main` packages are examples or tools rather than the service.
_SIDE_DIRS = frozenset({"example", "examples", "_examples", "tools", "scripts", "test", "tests", "hack"})
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE")
FUNCTION_TYPES = frozenset({"function_declaration", "method_declaration", "func_literal"})
DECLARATION_TYPES = frozenset({"function_declaration", "method_declaration"})
#: The binary the Dockerfile builds with `go build -o /app/server <entrypoint>`.
BINARY = "/app/server"
DEFAULT_PORT = 8080
#: Limits that keep the interpreter linear on odd code (deep recursion, huge call graphs).
_MAX_DEPTH = 40
_MAX_CALLS = 20_000
_MAX_STATEMENTS = 300_000
_MAX_ITEMS = 500


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
    """Every go.mod under the repository (outside vendored folders), sorted by folder."""
    out = []
    for path, rel, content in ts.iter_files(repo_root, repo_root, lambda n: n == "go.mod"):
        if _skipped_dir(rel):
            continue
        out.append(parse_go_mod(content.decode("utf-8", errors="replace"), path.parent))
    return sorted(out, key=lambda m: m.root)


def _skipped_dir(rel: str) -> bool:
    return any(part in SKIP_GO_DIRS or part.startswith((".", "_")) for part in rel.split("/")[:-1])


# --------------------------------------------------------------------------- small node helpers


def string_value(node: Node | None) -> str | None:
    """The value of a Go string literal, or None when the node is not one."""
    if node is None:
        return None
    raw = ts.text(node)
    if node.type == "raw_string_literal":
        return raw[1:-1]
    if node.type == "interpreted_string_literal":
        body = raw[1:-1]
        if "\\" not in body:
            return body
        try:
            return body.encode("latin-1", errors="backslashreplace").decode("unicode_escape")
        except UnicodeDecodeError:
            return body
    return None


def arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [a for a in args.named_children if a.type != "comment"] if args is not None else []


def statements(block: Node | None) -> list[Node]:
    """The statements of a block (the grammar wraps them in a statement_list)."""
    if block is None:
        return []
    out = []
    for child in block.named_children:
        if child.type == "statement_list":
            out.extend(c for c in child.named_children if c.type != "comment")
        elif child.type != "comment":
            out.append(child)
    return out


def parameters(fn: Node, fieldname: str = "parameters") -> list[tuple[str | None, Node | None]]:
    """(name, type) of every parameter, one entry per declared name; name None when unnamed."""
    plist = fn.child_by_field_name(fieldname)
    out: list[tuple[str | None, Node | None]] = []
    if plist is None or plist.type != "parameter_list":
        return out
    for decl in plist.named_children:
        if decl.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        typ = decl.child_by_field_name("type")
        names = decl.children_by_field_name("name")
        if not names:
            out.append((None, typ))
        out.extend((ts.text(n), typ) for n in names)
    return out


def function_name(fn: Node) -> str:
    return ts.text(fn.child_by_field_name("name")) if fn.type in DECLARATION_TYPES else "<anonymous>"


def receiver_type(method: Node) -> str | None:
    """`Handler` for `func (h *Handler) m()` (generic receivers `*Box[T]` give `Box`)."""
    params = parameters(method, "receiver")
    if not params or params[0][1] is None:
        return None
    typ = params[0][1]
    while typ is not None and typ.type in ("pointer_type", "generic_type", "parenthesized_type"):
        typ = typ.child_by_field_name("type") or (typ.named_children[0] if typ.named_children else None)
    return ts.text(typ) if typ is not None and typ.type == "type_identifier" else None


@cache
def guess_package_name(import_path: str) -> str:
    """The package name an import path most likely declares (`.../echo/v4` -> echo)."""
    parts = [p for p in import_path.split("/") if p]
    if not parts:
        return import_path
    last = parts[-1]
    if re.fullmatch(r"v\d+", last) and len(parts) > 1:
        last = parts[-2]
    last = re.sub(r"\.v\d+$", "", last)
    last = last.removeprefix("go-").removesuffix("-go").removesuffix(".go")
    return re.sub(r"[^A-Za-z0-9_]", "", last) or last


def imports_of(root: Node) -> list[tuple[Node, str | None, str]]:
    """(import_spec, explicit name or None, import path) of every import of a file."""
    out = []
    for decl in root.named_children:
        if decl.type in ("package_clause", "comment"):
            continue
        if decl.type != "import_declaration":
            break  # imports come right after the package clause
        for child in decl.named_children:
            specs = child.named_children if child.type == "import_spec_list" else [child]
            for spec in specs:
                if spec.type != "import_spec":
                    continue
                name = spec.child_by_field_name("name")
                path = string_value(spec.child_by_field_name("path"))
                if path is not None:
                    out.append((spec, ts.text(name) if name is not None else None, path))
    return out


def qualifiers(root: Node) -> set[str]:
    """Identifiers used as `x.` qualifiers: package names (and, harmlessly, variables)."""
    out = set()
    for node in ts.walk(root):
        if node.type == "selector_expression":
            operand = node.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier":
                out.add(ts.text(operand))
        elif node.type == "qualified_type":
            out.add(ts.text(node.child_by_field_name("package")))
    return out


def _declared_names(root: Node) -> set[str]:
    """Identifiers a file declares (parameters, variables, constants, functions)."""
    out = set()
    for node in ts.walk(root):
        if node.type in ("parameter_declaration", "variadic_parameter_declaration", "var_spec", "const_spec"):
            out.update(ts.text(n) for n in node.children_by_field_name("name"))
        elif node.type in ("short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            if left is not None:
                out.update(ts.text(n) for n in left.named_children if n.type == "identifier")
        elif node.type == "function_declaration":
            out.add(ts.text(node.child_by_field_name("name")))
    return out


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


# --------------------------------------------------------------------------- interpreter values


class Router:
    """A router object (gin engine or group, echo instance or group, chi mux, ServeMux)."""

    def __init__(self, kind: str, label: str) -> None:
        self.kind = kind
        self.label = label

    def __repr__(self) -> str:
        return f"Router({self.kind}, {self.label})"


@dataclass(eq=False)
class FuncVal:
    node: Node
    file: GoFile
    #: the defining scope of a closure
    env: Env | None = None
    receiver: object = None
    #: the variable a package-level `var h = func(...)` is bound to
    name: str | None = None


@dataclass(eq=False)
class Obj:
    """A struct value: its type ((package folder or import path), name) and known fields."""

    type: tuple[str, str] | None
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PkgRef:
    path: str
    #: package folder when the import belongs to the module
    internal: str | None


@dataclass(frozen=True)
class EnvVar:
    name: str


@dataclass(frozen=True)
class Partial:
    """A string built from known text and environment variables (`":" + os.Getenv("PORT")`)."""

    parts: tuple[object, ...]


@dataclass(frozen=True)
class Strip:
    """`http.StripPrefix(prefix, handler)`."""

    prefix: str
    inner: object


@dataclass
class Edge:
    parent: Router
    prefix: str
    child: Router


@dataclass
class RawRoute:
    router: Router
    method: str
    path: str
    value: object
    node: Node | None
    file: GoFile


#: What `http.ListenAndServe(addr, nil)` serves.
DEFAULT_MUX = "http.DefaultServeMux"


@dataclass
class Listen:
    value: object
    #: the port the framework uses when the address is empty (gin's `r.Run()`)
    default: int | None = None
    #: the handler served: a Router or function, DEFAULT_MUX, or None when unknown
    serves: object = None


class Env:
    def __init__(self, parent: Env | None = None) -> None:
        self.vars: dict[str, object] = {}
        self.parent = parent

    def lookup(self, name: str) -> tuple[bool, object]:
        env: Env | None = self
        while env is not None:
            found, value = env.own(name)
            if found:
                return True, value
            env = env.parent
        return False, None

    def own(self, name: str) -> tuple[bool, object]:
        if name in self.vars:
            return True, self.vars[name]
        return False, None

    def assign(self, name: str, value: object) -> None:
        env: Env | None = self
        while env is not None:
            if env.own(name)[0]:
                env.vars[name] = value
                return
            env = env.parent
        self.vars[name] = value


class PackageScope(Env):
    """Package-level names: functions, and variables evaluated lazily on first use."""

    def __init__(self, interp: Interpreter, pkg: GoPackage) -> None:
        super().__init__(None)
        self.interp = interp
        self.pkg = pkg

    def own(self, name: str) -> tuple[bool, object]:
        if name in self.vars:
            return True, self.vars[name]
        if name in self.pkg.vars:
            spec, index, gf = self.pkg.vars[name]
            self.vars[name] = None  # guards against initialisers that refer to themselves
            self.vars[name] = self.interp.eval_spec_value(spec, index, gf)
            return True, self.vars[name]
        if name in self.pkg.funcs:
            node, gf = self.pkg.funcs[name]
            return True, FuncVal(node, gf)
        return False, None


@dataclass
class Frame:
    returns: list[list[object]] = field(default_factory=list)

    def best(self) -> object:
        """The most informative return: a function returns a router on one path, nil on another."""
        best: list[object] | None = None
        best_score = -1
        for values in self.returns:
            score = sum(1 for v in values if _known(v))
            if score > best_score:
                best, best_score = values, score
        if best is None:
            return None
        return best[0] if len(best) == 1 else tuple(best)


def _known(value: object) -> bool:
    return value is not None and not isinstance(value, (EnvVar, Partial))


@dataclass
class Ctx:
    file: GoFile
    env: Env
    frame: Frame


UNHANDLED = object()


class Dialect:
    """What one framework's constructors and router methods do in the interpreter."""

    #: router kind this dialect owns ("gin", "echo", "chi", "mux")
    kind: ClassVar[str]
    #: import paths of the framework's package
    packages: ClassVar[tuple[str, ...]] = ()
    default_port: ClassVar[int] = DEFAULT_PORT

    def join(self, prefix: str, path: str) -> str:
        """A route path under a mount/group prefix, as the framework joins them."""
        if not prefix:
            return path or "/"
        if not path:
            return prefix
        return prefix.rstrip("/") + (path if path.startswith("/") else "/" + path)

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        """A call of a package-level function of the framework; UNHANDLED when not understood."""
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        return None


class NetHttpDialect(Dialect):
    """net/http: ServeMux, the default mux, StripPrefix mounts, servers."""

    kind = "mux"
    packages = (NET_HTTP,)

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name == "NewServeMux":
            return it.new_router(self.kind, ctx, call)
        if name in ("HandleFunc", "Handle"):
            self.register(it, it.default_mux(), call, args, ctx)
            return None
        if name == "StripPrefix" and len(args) == 2 and isinstance(args[0], str):
            return Strip(args[0], args[1])
        if name in ("HandlerFunc", "TimeoutHandler", "MaxBytesHandler", "AllowQuerySemicolons") and args:
            return args[0]
        if name in ("ListenAndServe", "ListenAndServeTLS") and args:
            at = 1 if name == "ListenAndServe" else 3
            nodes = arguments(call)
            serves = DEFAULT_MUX if len(nodes) > at and ts.text(nodes[at]) == "nil" else None
            it.listens.append(Listen(args[0], serves=args[at] if len(args) > at and args[at] is not None else serves))
            return None
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        if name in ("HandleFunc", "Handle"):
            self.register(it, router, call, args, ctx)
        return None

    def register(self, it: Interpreter, router: Router, call: Node, args: list[object], ctx: Ctx) -> None:
        if len(args) < 2 or not isinstance(args[0], str):
            return
        method, path = split_pattern(args[0])
        value = args[1]
        if isinstance(value, Strip) and isinstance(value.inner, Router):
            it.edges.append(Edge(router, value.prefix, value.inner))
        elif isinstance(value, Router):
            # A sub-mux handed the full path sees its own patterns unchanged.
            it.edges.append(Edge(router, "", value))
        else:
            it.add_route(router, method or "ANY", path, value, arguments(call)[1], ctx)


def split_pattern(pattern: str) -> tuple[str | None, str]:
    """Go 1.22 ServeMux pattern `[METHOD ][HOST]/PATH` -> (method or None, path)."""
    pattern = pattern.strip()
    method = None
    head, sep, rest = pattern.partition(" ")
    if sep and head.upper() == head and head.isalpha():
        method, pattern = head, rest.lstrip(" \t")
    if not pattern.startswith("/") and "/" in pattern:
        pattern = pattern[pattern.index("/") :]  # host-specific pattern: the path part
    return method, pattern


class Interpreter:
    """Runs `main` (and the `init`s it pulls in) abstractly, recording routers and routes."""

    def __init__(self, project: GoProject, dialects: list[Dialect]) -> None:
        self.project = project
        self.dialects = [*dialects, NetHttpDialect()] if not any(d.kind == "mux" for d in dialects) else dialects
        self.by_kind = {d.kind: d for d in self.dialects}
        self.routes: list[RawRoute] = []
        self.edges: list[Edge] = []
        self.routers: list[Router] = []
        self.listens: list[Listen] = []
        self.scopes: dict[str, PackageScope] = {}
        self.active: set[tuple[str, int]] = set()
        self.calls = 0
        self.statements = 0
        #: results of calls whose arguments are plain values: a helper called from many
        #: places runs once, which keeps the walk linear in the size of the call graph
        self.memo: dict[tuple[object, ...], object] = {}
        self._default_mux: Router | None = None

    # ------------------------------------------------------------------ entry points

    def run_main(self, pkg: GoPackage) -> None:
        for pkg_dir in self.project.imported_dirs(pkg.dir):
            for node, gf in self.project.packages[pkg_dir].inits:
                self.invoke(FuncVal(node, gf), [])
        node, gf = pkg.funcs["main"]
        self.invoke(FuncVal(node, gf), [])

    def scope(self, pkg_dir: str) -> PackageScope:
        if pkg_dir not in self.scopes:
            self.scopes[pkg_dir] = PackageScope(self, self.project.packages[pkg_dir])
        return self.scopes[pkg_dir]

    # ------------------------------------------------------------------ recording

    def new_router(self, kind: str, ctx: Ctx, node: Node) -> Router:
        router = Router(kind, f"{ctx.file.rel}:{node.start_point.row + 1}")
        self.routers.append(router)
        return router

    def default_mux(self) -> Router:
        if self._default_mux is None:
            self._default_mux = Router("mux", DEFAULT_MUX)
            self.routers.append(self._default_mux)
        return self._default_mux

    def add_route(self, router: Router, method: str, path: str, value: object, node: Node | None, ctx: Ctx) -> None:
        self.routes.append(RawRoute(router, method.upper(), path, value, node, ctx.file))

    def add_group(self, parent: Router, prefix: str, ctx: Ctx, node: Node) -> Router:
        child = self.new_router(parent.kind, ctx, node)
        self.edges.append(Edge(parent, prefix, child))
        return child

    # ------------------------------------------------------------------ calls

    def invoke(self, fn: FuncVal, args: list[object]) -> object:
        node = fn.node
        key = (fn.file.rel, node.start_byte)
        body = node.child_by_field_name("body")
        if body is None or key in self.active or len(self.active) >= _MAX_DEPTH or self.calls >= _MAX_CALLS:
            return None
        memo_key: tuple[object, ...] | None = None
        if all(isinstance(a, (str, int, EnvVar, Partial)) or a is None for a in args):
            memo_key = (key, fn.receiver if isinstance(fn.receiver, (Obj, Router)) else None, fn.env, *args)
            if memo_key in self.memo:
                return self.memo[memo_key]
        self.calls += 1
        env = Env(fn.env if fn.env is not None else self.scope(fn.file.pkg_dir))
        if node.type == "method_declaration":
            recv = parameters(node, "receiver")
            if recv and recv[0][0] not in (None, "_"):
                value = fn.receiver if fn.receiver is not None else self.typed_value(recv[0][1], fn.file)
                env.vars[str(recv[0][0])] = value
        params = parameters(node)
        plist = node.child_by_field_name("parameters")
        variadic = plist is not None and any(c.type == "variadic_parameter_declaration" for c in plist.named_children)
        for index, (name, typ) in enumerate(params):
            if name in (None, "_"):
                continue
            if variadic and index == len(params) - 1:
                value: object = list(args[index:])
            else:
                value = args[index] if index < len(args) else None
                if value is None:
                    value = self.typed_value(typ, fn.file)
            env.vars[str(name)] = value
        frame = Frame()
        self.active.add(key)
        try:
            self.exec_block(body, Ctx(fn.file, env, frame))
        finally:
            self.active.discard(key)
        result = frame.best()
        if result is None and node.type in DECLARATION_TYPES:
            result = self.typed_value(node.child_by_field_name("result"), fn.file)
        if memo_key is not None:
            self.memo[memo_key] = result
        return result

    def typed_value(self, typ: Node | None, gf: GoFile) -> object:
        """An empty struct value of a module type (`*Handler`, `handlers.Users`), else None."""
        while typ is not None and typ.type in ("pointer_type", "parenthesized_type"):
            typ = typ.named_children[0] if typ.named_children else None
        if typ is None:
            return None
        if typ.type == "type_identifier":
            name = ts.text(typ)
            pkg = self.project.packages.get(gf.pkg_dir)
            return Obj((gf.pkg_dir, name)) if pkg is not None and name in pkg.types else None
        if typ.type == "qualified_type":
            path = gf.imports.get(ts.text(typ.child_by_field_name("package")))
            target = self.project.internal_dir(path) if path else None
            name = ts.text(typ.child_by_field_name("name"))
            if target is not None and target in self.project.packages and name in self.project.packages[target].types:
                return Obj((target, name))
        return None

    def member(self, obj: Obj, name: str) -> object:
        """A field or method of a struct value, looking through embedded fields."""
        if name in obj.fields:
            return obj.fields[name]
        if obj.type is None or obj.type[0] not in self.project.packages:
            return None
        pkg = self.project.packages[obj.type[0]]
        method = pkg.methods.get((obj.type[1], name))
        if method is not None:
            return FuncVal(method[0], method[1], receiver=obj)
        spec = pkg.types.get(obj.type[1])
        if spec is None:
            return None
        struct = spec[0].child_by_field_name("type")
        if struct is None or struct.type != "struct_type":
            return None
        for decl in ts.find_all(struct, "field_declaration"):
            names = [ts.text(n) for n in decl.children_by_field_name("name")]
            typ = decl.child_by_field_name("type")
            if name in names:
                value = self.typed_value(typ, spec[1])
                obj.fields[name] = value
                return value
            if not names and typ is not None:  # embedded field: promoted members
                inner = self.typed_value(typ, spec[1])
                if isinstance(inner, Obj) and inner.type != obj.type:
                    found = self.member(inner, name)
                    if found is not None:
                        return found
        return None

    def package_member(self, pkg_dir: str, name: str) -> object:
        if pkg_dir not in self.project.packages:
            return None
        return self.scope(pkg_dir).own(name)[1]

    def call(self, node: Node, ctx: Ctx) -> object:
        fn_node = node.child_by_field_name("function")
        if fn_node is None:
            return None
        arg_nodes = arguments(node)
        if fn_node.type == "selector_expression":
            operand = fn_node.child_by_field_name("operand")
            name = ts.text(fn_node.child_by_field_name("field"))
            base = self.eval(operand, ctx)
            args = [self.eval(a, ctx) for a in arg_nodes]
            if isinstance(base, PkgRef) and base.internal is None:
                result = self.external_call(base.path, name, node, args, ctx)
                return self.unknown_call(args) if result is UNHANDLED else result
            if isinstance(base, Router):
                dialect = self.by_kind.get(base.kind)
                return dialect.router_call(self, base, name, node, args, ctx) if dialect else None
            if isinstance(base, PkgRef):
                target = self.package_member(str(base.internal), name)
            elif isinstance(base, Obj):
                if base.type == (NET_HTTP, "Server") and name in ("ListenAndServe", "ListenAndServeTLS"):
                    serves = base.fields.get("Handler") if "Handler" in base.fields else DEFAULT_MUX
                    self.listens.append(Listen(base.fields.get("Addr"), serves=serves))
                    return None
                target = self.member(base, name)
            else:
                target = None
        else:
            target = self.eval(fn_node, ctx)
            args = [self.eval(a, ctx) for a in arg_nodes]
        if isinstance(target, FuncVal):
            result = self.invoke(target, args)
            if isinstance(result, FuncVal) and result.node.type == "func_literal" and _inside(result.node, target.node):
                # A module function that takes a handler and returns a closure is a
                # middleware (`auth(next)`): the wrapped handler is what answers.
                wrapped = [a for a in args if isinstance(a, (FuncVal, Router))]
                if wrapped:
                    return wrapped[-1]
            return result
        return self.unknown_call(args)

    def unknown_call(self, args: list[object]) -> object:
        """A call the interpreter does not know: wrappers pass their handler through."""
        for arg in args:
            # sync.Once.Do(func() {...}), errgroup.Go(func() error {...}) run their closure.
            if isinstance(arg, FuncVal) and arg.node.type == "func_literal" and not parameters(arg.node):
                self.invoke(arg, [])
        wrapped = [a for a in args if isinstance(a, (FuncVal, Router))]
        return wrapped[0] if len(wrapped) == 1 else None

    def external_call(self, path: str, name: str, node: Node, args: list[object], ctx: Ctx) -> object:
        for dialect in self.dialects:
            if path in dialect.packages:
                result = dialect.external_call(self, name, node, args, ctx)
                if result is not UNHANDLED:
                    return result
        return _stdlib_call(path, name, node, args, ctx)

    # ------------------------------------------------------------------ expressions

    def eval(self, node: Node | None, ctx: Ctx) -> object:
        if node is None:
            return None
        kind = node.type
        if kind in ("interpreted_string_literal", "raw_string_literal"):
            return string_value(node)
        if kind == "int_literal":
            try:
                return int(ts.text(node).replace("_", ""), 0)
            except ValueError:
                return None
        if kind == "identifier":
            return self.identifier(ts.text(node), ctx)
        if kind == "parenthesized_expression":
            return self.eval(node.named_children[0] if node.named_children else None, ctx)
        if kind == "unary_expression":
            return self.eval(node.child_by_field_name("operand"), ctx)
        if kind == "call_expression":
            return self.call(node, ctx)
        if kind == "func_literal":
            return FuncVal(node, ctx.file, env=ctx.env)
        if kind == "selector_expression":
            base = self.eval(node.child_by_field_name("operand"), ctx)
            name = ts.text(node.child_by_field_name("field"))
            if isinstance(base, PkgRef):
                if base.internal is None:
                    return _METHOD_CONSTANTS.get(name) if base.path == NET_HTTP else None
                return self.package_member(base.internal, name)
            if isinstance(base, Obj):
                return self.member(base, name)
            return None
        if kind == "composite_literal":
            return self.composite(node, ctx)
        if kind == "binary_expression":
            return self.binary(node, ctx)
        if kind in ("type_assertion_expression", "type_conversion_expression"):
            return self.eval(node.child_by_field_name("operand"), ctx)
        return None

    def identifier(self, name: str, ctx: Ctx) -> object:
        found, value = ctx.env.lookup(name)
        if found:
            return value
        path = ctx.file.imports.get(name)
        if path is not None:
            return PkgRef(path, self.project.internal_dir(path))
        return None

    def binary(self, node: Node, ctx: Ctx) -> object:
        if ts.text(node.child_by_field_name("operator")) != "+":
            self.eval(node.child_by_field_name("left"), ctx)
            self.eval(node.child_by_field_name("right"), ctx)
            return None
        left = self.eval(node.child_by_field_name("left"), ctx)
        right = self.eval(node.child_by_field_name("right"), ctx)
        return concat([left, right])

    def composite(self, node: Node, ctx: Ctx) -> object:
        return self.literal(node.child_by_field_name("type"), node.child_by_field_name("body"), ctx)

    def literal(self, typ: Node | None, body: Node | None, ctx: Ctx) -> object:
        """A slice (list), map (dict) or struct (Obj) literal; route tables are made of these."""
        elements = [e for e in body.named_children if e.type != "comment"] if body is not None else []
        while typ is not None and typ.type == "pointer_type" and typ.named_children:
            typ = typ.named_children[0]
        if typ is not None and typ.type in ("slice_type", "array_type", "implicit_length_array_type"):
            element_type = typ.child_by_field_name("element")
            items = [e for e in elements if e.type == "literal_element"][:_MAX_ITEMS]
            return [self.element_value(e, element_type, ctx) for e in items]
        if typ is not None and typ.type == "map_type":
            out: dict[object, object] = {}
            for element in elements[:_MAX_ITEMS]:
                if element.type == "keyed_element" and len(element.named_children) == 2:
                    key = self.eval(_element(element.named_children[0]), ctx)
                    value = self.element_value(element.named_children[1], typ.child_by_field_name("value"), ctx)
                    if isinstance(key, (str, int)):
                        out[key] = value
            return out
        obj = Obj(self.type_key(typ, ctx.file))
        positional = self.struct_fields(typ, ctx.file)
        for index, element in enumerate(elements):
            if element.type == "keyed_element" and len(element.named_children) == 2:
                key, value = element.named_children
                obj.fields[ts.text(_element(key))] = self.element_value(value, None, ctx)
            else:
                value = self.element_value(element, None, ctx)
                if index < len(positional):
                    obj.fields[positional[index]] = value
        return obj

    def element_value(self, element: Node, typ: Node | None, ctx: Ctx) -> object:
        inner = _element(element)
        if inner.type == "literal_value":  # `{"GET", "/x", h}` inside `[]route{...}`: the type is elided
            return self.literal(typ, inner, ctx)
        return self.eval(inner, ctx)

    def type_key(self, typ: Node | None, gf: GoFile) -> tuple[str, str] | None:
        if typ is not None and typ.type == "qualified_type":
            path = gf.imports.get(ts.text(typ.child_by_field_name("package")))
            if path is not None:
                internal = self.project.internal_dir(path)
                return (internal if internal is not None else path, ts.text(typ.child_by_field_name("name")))
        elif typ is not None and typ.type == "type_identifier":
            return (gf.pkg_dir, ts.text(typ))
        return None

    def struct_fields(self, typ: Node | None, gf: GoFile) -> list[str]:
        """Field names in order, for positional struct literals."""
        struct = typ
        key = self.type_key(typ, gf)
        if key is not None and key[0] in self.project.packages:
            spec = self.project.packages[key[0]].types.get(key[1])
            struct = spec[0].child_by_field_name("type") if spec is not None else None
        if struct is None or struct.type != "struct_type":
            return []
        names = []
        for decl in ts.find_all(struct, "field_declaration"):
            declared = [ts.text(n) for n in decl.children_by_field_name("name")]
            if not declared:  # embedded: the field is named after its type
                declared = [ts.text(decl.child_by_field_name("type")).lstrip("*").split(".")[-1]]
            names.extend(declared)
        return names

    def eval_spec_value(self, spec: Node, index: int, gf: GoFile) -> object:
        values = spec.child_by_field_name("value")
        ctx = Ctx(gf, self.scope(gf.pkg_dir), Frame())
        if values is None:
            return self.typed_value(spec.child_by_field_name("type"), gf)
        exprs = values.named_children
        if len(exprs) == 1 and len(spec.children_by_field_name("name")) > 1:
            result = self.eval(exprs[0], ctx)
            return result[index] if isinstance(result, tuple) and index < len(result) else None
        return self.eval(exprs[index], ctx) if index < len(exprs) else None

    # ------------------------------------------------------------------ statements

    def exec_block(self, block: Node | None, ctx: Ctx) -> None:
        for stmt in statements(block):
            self.exec(stmt, ctx)

    def exec(self, node: Node, ctx: Ctx) -> None:
        self.statements += 1
        if self.statements > _MAX_STATEMENTS:
            return
        kind = node.type
        if kind == "expression_statement":
            for child in node.named_children:
                self.eval(child, ctx)
        elif kind in ("short_var_declaration", "assignment_statement"):
            define = kind == "short_var_declaration"
            self.assign(node.child_by_field_name("left"), node.child_by_field_name("right"), ctx, define=define)
        elif kind in ("var_declaration", "const_declaration"):
            for spec in specs_of(node):
                names = spec.children_by_field_name("name")
                for index, name_node in enumerate(names):
                    value = self.eval_spec_value_local(spec, index, len(names), ctx)
                    ctx.env.vars[ts.text(name_node)] = value
        elif kind == "return_statement":
            exprs = node.named_children[0].named_children if node.named_children else []
            ctx.frame.returns.append([self.eval(e, ctx) for e in exprs])
        elif kind == "block":
            self.exec_block(node, Ctx(ctx.file, Env(ctx.env), ctx.frame))
        elif kind == "if_statement":
            inner = Ctx(ctx.file, Env(ctx.env), ctx.frame)
            init = node.child_by_field_name("initializer")
            if init is not None:
                self.exec(init, inner)
            self.eval(node.child_by_field_name("condition"), inner)
            # Both branches run: routes registered under a flag are still routes.
            for branch in (node.child_by_field_name("consequence"), node.child_by_field_name("alternative")):
                if branch is not None:
                    self.exec(branch, inner)
        elif kind in ("go_statement", "defer_statement"):
            for child in node.named_children:
                self.eval(child, ctx)
        elif kind == "for_statement" and self.range_loop(node, ctx):
            pass
        elif kind in (
            "for_statement",
            "expression_switch_statement",
            "type_switch_statement",
            "select_statement",
            "labeled_statement",
            "expression_case",
            "default_case",
            "type_case",
            "communication_case",
            "statement_list",
            "for_clause",
        ):
            inner = Ctx(ctx.file, Env(ctx.env), ctx.frame)
            for child in node.named_children:
                if child.type in _EXPRESSIONS:
                    self.eval(child, inner)
                elif child.type not in ("expression_list", "range_clause"):
                    self.exec(child, inner)

    def range_loop(self, node: Node, ctx: Ctx) -> bool:
        """Run a `for k, v := range <literal slice or map>` once per element; False if not one."""
        clause = next((c for c in node.named_children if c.type == "range_clause"), None)
        if clause is None:
            return False
        seq = self.eval(clause.child_by_field_name("right"), ctx)
        if isinstance(seq, list):
            items: list[tuple[object, object]] = list(enumerate(seq))
        elif isinstance(seq, dict):
            items = sorted(seq.items(), key=lambda kv: str(kv[0]))
        else:
            return False
        left = clause.child_by_field_name("left")
        names = [ts.text(n) for n in left.named_children] if left is not None else []
        for key, value in items[:_MAX_ITEMS]:
            inner = Ctx(ctx.file, Env(ctx.env), ctx.frame)
            for name, bound in zip(names, (key, value), strict=False):
                inner.env.vars[name] = bound
            self.exec_block(node.child_by_field_name("body"), inner)
        return True

    def eval_spec_value_local(self, spec: Node, index: int, count: int, ctx: Ctx) -> object:
        values = spec.child_by_field_name("value")
        if values is None:
            return self.typed_value(spec.child_by_field_name("type"), ctx.file)
        exprs = values.named_children
        if len(exprs) == 1 and count > 1:
            result = self.eval(exprs[0], ctx) if index == 0 else None
            return result[index] if isinstance(result, tuple) and index < len(result) else None
        return self.eval(exprs[index], ctx) if index < len(exprs) else None

    def assign(self, left: Node | None, right: Node | None, ctx: Ctx, *, define: bool = False) -> None:
        if left is None or right is None:
            return
        targets = left.named_children
        exprs = right.named_children if right.type == "expression_list" else [right]
        if len(exprs) == 1 and len(targets) > 1:
            result = self.eval(exprs[0], ctx)
            values = list(result) if isinstance(result, tuple) else [result]
        else:
            values = [self.eval(e, ctx) for e in exprs]
        for index, target in enumerate(targets):
            value = values[index] if index < len(values) else None
            if target.type == "identifier" and ts.text(target) != "_":
                if define:
                    ctx.env.vars[ts.text(target)] = value
                else:
                    ctx.env.assign(ts.text(target), value)
            elif target.type == "selector_expression":
                base = self.eval(target.child_by_field_name("operand"), ctx)
                if isinstance(base, Obj):
                    base.fields[ts.text(target.child_by_field_name("field"))] = value


_EXPRESSIONS = frozenset(
    {
        "call_expression",
        "selector_expression",
        "identifier",
        "binary_expression",
        "unary_expression",
        "parenthesized_expression",
    }
)


def specs_of(decl: Node) -> list[Node]:
    """The var_spec/const_spec of a declaration, grouped or not (never those of nested code)."""
    out = []
    for child in decl.named_children:
        if child.type in ("var_spec", "const_spec"):
            out.append(child)
        elif child.type in ("var_spec_list", "const_spec_list"):
            out.extend(c for c in child.named_children if c.type in ("var_spec", "const_spec"))
    return out


def _element(node: Node) -> Node:
    """The expression inside a literal_element wrapper."""
    if node.type == "literal_element" and node.named_children:
        return node.named_children[0]
    return node


def _inside(node: Node, outer: Node) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def concat(values: list[object]) -> object:
    """`a + b` over known text, environment variables and partial strings."""
    parts: list[object] = []
    for value in values:
        if isinstance(value, (str, EnvVar)):
            parts.append(value)
        elif isinstance(value, Partial):
            parts.extend(value.parts)
        else:
            return None
    if all(isinstance(p, str) for p in parts):
        return "".join(str(p) for p in parts)
    return Partial(tuple(parts))


def _stdlib_call(path: str, name: str, node: Node, args: list[object], ctx: Ctx) -> object:
    """The few standard-library calls that matter for addresses and ports."""
    if path == "os" and name == "Getenv" and args and isinstance(args[0], str):
        return EnvVar(args[0])
    if path == "os" and name == "LookupEnv" and args and isinstance(args[0], str):
        return (EnvVar(args[0]), None)
    if path == "flag" and name in ("String", "Int", "Uint") and len(args) >= 2:
        return args[1]
    if path == "flag" and name in ("StringVar", "IntVar") and len(args) >= 3:
        target = arguments(node)[0]
        if target.type == "unary_expression":
            operand = target.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier":
                ctx.env.assign(ts.text(operand), args[2])
        return None
    if path == "strconv" and name == "Itoa" and args and isinstance(args[0], int):
        return str(args[0])
    if path == "cmp" and name == "Or":
        return next((a for a in args if isinstance(a, str) and a), None)
    if path == "fmt" and name == "Sprintf" and args and isinstance(args[0], str):
        pieces = re.split(r"(%[-+# 0-9.]*[a-zA-Z%])", args[0])
        out: list[object] = []
        rest = list(args[1:])
        for piece in pieces:
            if piece.startswith("%") and piece != "%%":
                value = rest.pop(0) if rest else None
                out.append(str(value) if isinstance(value, int) else value)
            else:
                out.append(piece.replace("%%", "%"))
        return concat(out)
    wrapped = [a for a in args if isinstance(a, (FuncVal, Router))]
    return wrapped[0] if len(wrapped) == 1 else None


# --------------------------------------------------------------------------- routes -> endpoints


@dataclass
class Target:
    name: str
    file: GoFile
    #: the whole definition reported as the handler
    definition: Node
    #: the block masking replaces
    body: Node
    #: the function whose body answers the request (the closure of a factory)
    answers: Node


def returned_literal(fn: Node) -> tuple[Node, Node] | None:
    """(return statement, func literal) when `fn` returns a closure built in its own body."""
    body = fn.child_by_field_name("body")
    if body is None:
        return None
    for node in ts.walk(body):
        if node.type != "func_literal":
            continue
        ret = None
        for anc in ts.ancestors(node):
            if anc.type == "return_statement" and ret is None:
                ret = anc
            if anc.type in FUNCTION_TYPES or anc == body:
                break
        if ret is not None and anc == body:
            return ret, node
    return None


def handler_target(project: GoProject, value: object, node: Node | None, gf: GoFile | None = None) -> Target | None:
    """Where the function answering a route is defined."""
    if isinstance(value, FuncVal):
        fn = value.node
        if fn.type in DECLARATION_TYPES:
            return Target(function_name(fn), value.file, fn, fn.child_by_field_name("body"), fn)
        enclosing = next((a for a in ts.ancestors(fn) if a.type in FUNCTION_TYPES), None)
        if enclosing is not None and enclosing.type in DECLARATION_TYPES:
            found = returned_literal(enclosing)
            if found is not None and found[1] == fn:
                # A factory (`func listItems(s *Store) http.HandlerFunc { return func... }`):
                # the factory is the handler, so masking can drop the locals the closure used.
                return Target(
                    function_name(enclosing), value.file, enclosing, enclosing.child_by_field_name("body"), fn
                )
        return Target(value.name or "<anonymous>", value.file, fn, fn.child_by_field_name("body"), fn)
    operand = node.child_by_field_name("operand") if node is not None else None
    external = gf is not None and operand is not None and ts.text(operand) in gf.imports
    if value is None and node is not None and node.type == "selector_expression" and not external:
        # `h.List` on a value the interpreter lost track of: a method defined once in the module.
        candidates = project.methods_by_name.get(ts.text(node.child_by_field_name("field")), [])
        if len(candidates) == 1:
            fn, gf = candidates[0]
            return Target(function_name(fn), gf, fn, fn.child_by_field_name("body"), fn)
    return None


_METHOD_CONSTANTS = {f"Method{m.capitalize()}": m for m in HTTP_METHODS}


def _method_constant(node: Node | None) -> str | None:
    if node is None:
        return None
    value = string_value(node)
    if value is None and node.type == "selector_expression":
        return _METHOD_CONSTANTS.get(ts.text(node.child_by_field_name("field")))
    return value.upper() if value is not None and value.upper() in HTTP_METHODS else None


def methods_in_body(fn: Node) -> list[str]:
    """Methods a handler picks itself: `switch r.Method {case ...}`, `if r.Method != "POST"`."""
    names = [n for n, _ in parameters(fn) if n]
    wanted = {f"{n}{suffix}" for n in names for suffix in (".Method", ".Request.Method", ".Request().Method")}
    found: set[str] = set()
    body = fn.child_by_field_name("body")
    if body is None:
        return []
    for node in ts.walk(body):
        if node.type == "expression_switch_statement" and ts.text(node.child_by_field_name("value")) in wanted:
            for case in node.named_children:
                values = case.child_by_field_name("value") if case.type == "expression_case" else None
                for value in values.named_children if values is not None else []:
                    method = _method_constant(value)
                    if method:
                        found.add(method)
        elif node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) in ("==", "!="):
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            for side, other in ((left, right), (right, left)):
                if ts.text(side) in wanted:
                    method = _method_constant(other)
                    if method:
                        found.add(method)
    return sorted(found, key=HTTP_METHODS.index)


def to_handler(target: Target) -> Handler:
    return ts.handler_at(target.file.rel, target.name, target.definition, target.body)


def router_prefixes(it: Interpreter) -> dict[int, list[str]]:
    """Every absolute prefix each router is reachable under, from the routers nobody mounts."""
    children: dict[int, list[Edge]] = {}
    mounted: set[int] = set()
    for edge in it.edges:
        children.setdefault(id(edge.parent), []).append(edge)
        mounted.add(id(edge.child))
    found: dict[int, list[str]] = {}

    def visit(router: Router, prefix: str, trail: tuple[int, ...]) -> None:
        seen = found.setdefault(id(router), [])
        if prefix in seen:
            return
        seen.append(prefix)
        dialect = it.by_kind.get(router.kind) or NetHttpDialect()
        for edge in children.get(id(router), []):
            if id(edge.child) not in trail:
                visit(
                    edge.child, dialect.join(prefix, edge.prefix) if edge.prefix else prefix, (*trail, id(edge.child))
                )

    # The default mux only answers when some server is handed nil (or nothing else is known).
    default_served = not it.listens or any(not isinstance(x.serves, (Router, FuncVal)) for x in it.listens)
    for router in it.routers:
        if router.label == DEFAULT_MUX and not default_served:
            continue
        if id(router) not in mounted:
            visit(router, "", (id(router),))
    return found


def endpoints_of(it: Interpreter) -> list[Endpoint]:
    prefixes = router_prefixes(it)
    out: dict[tuple[str, str], Endpoint] = {}
    for route in it.routes:
        target = handler_target(it.project, route.value, route.node, route.file)
        if target is None or target.body is None:
            log.warning(
                "%s: handler of %s %s is not a function found statically", route.file.rel, route.method, route.path
            )
            continue
        methods = [route.method]
        if route.method == "ANY":
            methods = methods_in_body(target.answers) or methods
        dialect = it.by_kind.get(route.router.kind) or NetHttpDialect()
        handler = to_handler(target)
        for prefix in prefixes.get(id(route.router), []):
            path = dialect.join(prefix, route.path)
            for method in methods:
                out.setdefault((path, method), Endpoint(method=method, path=path, handler=handler))
    return [out[k] for k in sorted(out)]


# --------------------------------------------------------------------------- runtime hints


def port_of(value: object) -> int | None:
    if isinstance(value, int):
        return value if 0 < value < 65536 else None
    if isinstance(value, str):
        digits = value.rsplit(":", 1)[-1]
        return int(digits) if digits.isdigit() and 0 < int(digits) < 65536 else None
    return None


def _env_names(value: object) -> list[str]:
    if isinstance(value, EnvVar):
        return [value.name]
    if isinstance(value, Partial):
        return [p.name for p in value.parts if isinstance(p, EnvVar)]
    return []


def _env_fallback(call: Node) -> bool:
    """True when the code gives the variable read by `call` a default (or only tests it)."""
    parent = call.parent
    if parent is None:
        return False
    if parent.type == "binary_expression":
        return True  # if os.Getenv("DEBUG") == "true"
    if parent.type == "argument_list" and any(string_value(a) is not None for a in parent.named_children if a != call):
        return True  # cmp.Or(os.Getenv("PORT"), "8080")
    holder = parent.parent if parent.type == "expression_list" else None
    if holder is None or holder.type not in ("short_var_declaration", "assignment_statement", "var_spec"):
        return False
    left = holder.child_by_field_name("left") or holder
    names = [ts.text(n) for n in (left.named_children if left != holder else holder.children_by_field_name("name"))]
    scope = next((a for a in ts.ancestors(holder) if a.type in FUNCTION_TYPES), None) or holder.parent
    if scope is None:
        return False
    for node in ts.find_all(scope, "if_statement"):
        condition = ts.text(node.child_by_field_name("condition"))
        if not any(re.search(rf"\b{re.escape(n)}\b", condition) for n in names if n != "_"):
            continue
        consequence = node.child_by_field_name("consequence")
        for assign in ts.find_all(consequence, "assignment_statement") if consequence is not None else []:
            targets = assign.child_by_field_name("left")
            if targets is not None and any(ts.text(t) in names for t in targets.named_children):
                return True
    return False


def env_reads(project: GoProject) -> dict[str, bool]:
    """Environment variables the code reads -> True when it falls back to a default."""
    out: dict[str, bool] = {}
    helpers: dict[str, int] = {}  # getEnv(key, fallback) style helpers -> their parameter count
    for gf in project.files():
        env_alias = {name for name, path in gf.imports.items() if path == "os"}
        if not env_alias or b"env" not in gf.sf.source:
            continue  # walking every call of every file is the slow part: read only likely files
        for call in ts.find_all(gf.root, "call_expression"):
            fn = call.child_by_field_name("function")
            if fn is None or fn.type != "selector_expression":
                continue
            if ts.text(fn.child_by_field_name("operand")) not in env_alias:
                continue
            if ts.text(fn.child_by_field_name("field")) not in ("Getenv", "LookupEnv"):
                continue
            args = arguments(call)
            name = string_value(args[0]) if args else None
            if name is not None:
                # LookupEnv exists to tell "unset" apart: its callers handle the unset case.
                optional = ts.text(fn.child_by_field_name("field")) == "LookupEnv" or _env_fallback(call)
                out[name] = out.get(name, True) and optional
            elif args and args[0].type == "identifier":
                decl = next((a for a in ts.ancestors(call) if a.type == "function_declaration"), None)
                if decl is not None and ts.text(args[0]) in [n for n, _ in parameters(decl)]:
                    helpers[function_name(decl)] = len(parameters(decl))
    for gf in project.files() if helpers else []:
        if not any(name.encode() in gf.sf.source for name in helpers):
            continue
        for call in ts.find_all(gf.root, "call_expression"):
            fn = call.child_by_field_name("function")
            if fn is not None and fn.type == "selector_expression":
                fn = fn.child_by_field_name("field")
            if ts.text(fn) in helpers:
                args = arguments(call)
                key = string_value(args[0]) if args else None
                if key is not None:
                    out[key] = out.get(key, True) and len(args) > 1
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- masking


@dataclass
class Responder:
    """How a framework's handler answers 501."""

    #: does a parameter's type (text) hold what answers, e.g. `http.ResponseWriter`?
    accepts: Callable[[str], bool]
    #: the statement, with {p} for that parameter and {http} for net/http's local name
    statement: str
    #: name given to the parameter when it is unnamed or `_`
    default_name: str
    #: the statement when the file does not import net/http by name (adding an import
    #: would shift the byte offsets of the handlers still to be masked)
    without_http: str | None = None


def _indent_of(source: bytes, node: Node) -> str:
    return ts.line_indent(source, node.start_byte).decode()


def _locals_outside(body: Node | None, literal: Node) -> set[str]:
    """Names declared in `body` (`:=`, `var`, range) outside `literal`."""
    out: set[str] = set()
    for node in ts.walk(body) if body is not None else []:
        if _inside(node, literal):
            continue
        if node.type in ("short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            out.update(ts.text(n) for n in (left.named_children if left is not None else []))
        elif node.type == "var_spec":
            out.update(ts.text(n) for n in node.children_by_field_name("name"))
    return out


def _captured_locals(literal: Node) -> list[str]:
    """Locals of the enclosing function that only this closure uses.

    Once the closure's body is gone they would be "declared and not used", which Go refuses.
    """
    enclosing = next((a for a in ts.ancestors(literal) if a.type in FUNCTION_TYPES), None)
    body = enclosing.child_by_field_name("body") if enclosing is not None else None
    inner = literal.child_by_field_name("body")
    if body is None or inner is None:
        return []
    declared: set[str] = set()
    declaring: set[int] = set()
    used_outside: set[str] = set()
    for node in ts.walk(body):
        if _inside(node, literal):
            continue
        if node.type in ("short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            for name in left.named_children if left is not None else []:
                declared.add(ts.text(name))
                declaring.add(name.start_byte)
        elif node.type == "var_spec":
            for name in node.children_by_field_name("name"):
                declared.add(ts.text(name))
                declaring.add(name.start_byte)
        elif node.type == "identifier" and node.start_byte not in declaring:
            used_outside.add(ts.text(node))
    used_inside = {ts.text(n) for n in ts.find_all(inner, "identifier")}
    return sorted((declared & used_inside) - used_outside - {"_"})


def _stub_edits(
    source: bytes, fn: Node, responder: Responder, http_name: str | None, *, keep_captured: bool = True
) -> list[tuple[int, int, bytes]]:
    """Edits that make `fn` answer 501: a new body, and a name for an unnamed parameter."""
    edits: list[tuple[int, int, bytes]] = []
    params = parameters(fn)
    index = next((i for i, (_, typ) in enumerate(params) if typ is not None and responder.accepts(ts.text(typ))), None)
    name = params[index][0] if index is not None else None
    if index is not None and name in (None, "_"):
        name = responder.default_name
        plist = fn.child_by_field_name("parameters")
        assert plist is not None
        kinds = ("parameter_declaration", "variadic_parameter_declaration")
        decls = [d for d in plist.named_children if d.type in kinds]
        name_nodes = [n for d in decls for n in d.children_by_field_name("name")]
        if name_nodes:
            # `_ http.ResponseWriter`: every parameter is named, rename the blank one.
            edits.append((name_nodes[index].start_byte, name_nodes[index].end_byte, name.encode()))
        else:
            # Unnamed parameters: Go wants all named or none, so `_` names the others.
            rebuilt = []
            for position, decl in enumerate(decls):
                dots = "..." if decl.type == "variadic_parameter_declaration" else ""
                own = name if position == index else "_"
                rebuilt.append(f"{own} {dots}{ts.text(decl.child_by_field_name('type'))}")
            edits.append((plist.start_byte, plist.end_byte, ("(" + ", ".join(rebuilt) + ")").encode()))
    lines = []
    if fn.type == "func_literal" and keep_captured:
        lines.extend(f"_ = {local}" for local in _captured_locals(fn))
    template = responder.statement if http_name is not None or "{http}" not in responder.statement else None
    template = template or responder.without_http
    answer = template.format(p=name, http=http_name) if name is not None and template is not None else None
    if answer is not None:
        lines.append(answer)
    result = fn.child_by_field_name("result")
    if answer is None or not answer.startswith("return "):
        if result is not None and ts.text(result) == "error":
            lines.append("return nil")
        elif result is not None or answer is None:
            lines.append('panic("not implemented")')
    indent = _indent_of(source, fn)
    body = fn.child_by_field_name("body")
    assert body is not None
    text = "{\n" + "".join(f"{indent}\t{line}\n" for line in lines) + indent + "}"
    edits.append((body.start_byte, body.end_byte, text.encode()))
    return edits


def _apply(source: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for start, end, new in sorted(edits, reverse=True):
        source = ts.replace(source, start, end, new)
    return source


def _http_name(root: Node) -> str | None:
    for _spec, name, path in imports_of(root):
        if path == NET_HTTP and name not in ("_", "."):
            return name or "http"
    return None


def mask_handler(source: bytes, handler: Handler, responder: Responder) -> bytes:
    """The file with the handler's body answering 501, and the imports that became unused blanked.

    Only the handler's own bytes and unused import specs change, and the specs keep their
    length, so the offsets of the other handlers of the file stay valid.
    """
    tree = ts.parse(source, LANGUAGE)
    fn = ts.find_exact(tree.root_node, handler.start_byte, handler.end_byte, set(FUNCTION_TYPES))
    body = fn.child_by_field_name("body") if fn is not None else None
    if (
        fn is None
        or body is None
        or (body.start_byte, body.end_byte) != (handler.body_start_byte, handler.body_end_byte)
    ):
        where = f"bytes {handler.start_byte}-{handler.end_byte} of {handler.file}"
        raise ValueError(f"no Go function with that body at {where}")
    http_name = _http_name(tree.root_node)
    factory = returned_literal(fn) if fn.type in DECLARATION_TYPES else None
    if factory is not None:
        ret, literal = factory
        exprs = ret.named_children[0].named_children if ret.named_children else []
        expr = exprs[0] if len(exprs) == 1 else None
        # `return http.HandlerFunc(func...)` / `return wrap(func...)` survive without the
        # factory's locals; `return mw(func...)` with a local `mw` does not.
        locals_ = _locals_outside(fn.child_by_field_name("body"), literal)
        outside = {ts.text(n) for n in ts.find_all(expr, "identifier") if not _inside(n, literal)} if expr else set()
        if expr is not None and not outside & locals_:
            # The factory keeps only `return <closure answering 501>`: its locals go with the old body.
            indent = _indent_of(source, fn)
            literal_edits = _stub_edits(source, literal, responder, http_name, keep_captured=False)
            shifted = [(s - expr.start_byte, e - expr.start_byte, new) for s, e, new in literal_edits]
            # The closure now sits one level below the factory's own lines.
            old_indent = _indent_of(source, literal)
            new_expr = _apply(source[expr.start_byte : expr.end_byte], shifted).decode()
            new_expr = new_expr.replace("\n" + old_indent, "\n" + indent + "\t")
            text = "{\n" + indent + "\treturn " + new_expr + "\n" + indent + "}"
            masked = ts.replace(source, body.start_byte, body.end_byte, text.encode())
        else:
            masked = _apply(source, _stub_edits(source, literal, responder, http_name))
    else:
        masked = _apply(source, _stub_edits(source, fn, responder, http_name))
    masked = blank_unused_imports(source, masked)
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")


def import_names(original_root: Node, root: Node) -> dict[int, str]:
    """import_spec start byte -> the package name the file uses for it (blank/dot left out).

    Unaliased imports are named by their path (`.../echo/v4` -> echo); one whose package
    name differs from its path (`package storage` in .../store) is paired with the one
    qualifier of the original file that no import and no declaration accounts for.
    """
    specs = imports_of(root)
    names: dict[int, str] = {}
    for spec, name, path in specs:
        if name not in ("_", "."):
            names[spec.start_byte] = name or guess_package_name(path)
    undeclared = qualifiers(original_root) - _declared_names(original_root)
    unmatched = [(s, p) for s, n, p in specs if n is None and names[s.start_byte] not in undeclared]
    free = sorted(undeclared - set(names.values()))
    for spec, path in unmatched:
        squashed = re.sub(r"[^a-z0-9]", "", path.lower())
        guesses = free if len(unmatched) == 1 and len(free) == 1 else [q for q in free if q.lower() in squashed]
        if len(guesses) == 1:
            names[spec.start_byte] = guesses[0]
    return names


def blank_unused_imports(original: bytes, masked: bytes) -> bytes:
    """`masked` with the imports it no longer uses (but `original` did) blanked out.

    Go refuses to compile an unused import. The spec is overwritten with spaces of the same
    length rather than deleted so that byte offsets elsewhere in the file stay valid.
    """
    original_root = ts.parse(original, LANGUAGE).root_node
    before = qualifiers(original_root)
    root = ts.parse(masked, LANGUAGE).root_node
    after = qualifiers(root)
    names = import_names(original_root, root)
    out = bytearray(masked)
    for spec, _name, _path in imports_of(root):
        local = names.get(spec.start_byte)
        if local is None or local not in before or local in after:
            continue
        decl = spec.parent if spec.parent is not None and spec.parent.type == "import_declaration" else spec
        for offset in range(decl.start_byte, decl.end_byte):
            if out[offset] not in (0x0A, 0x0D):
                out[offset] = 0x20
    return bytes(out)


# --------------------------------------------------------------------------- the shared Framework


def _entry(pkg: GoPackage) -> str:
    return "./" + pkg.dir if pkg.dir else "."


class GoFramework(Framework):
    """detect / discover / runtime_hints / mask_body shared by the Go frameworks."""

    language = "go"
    responder: ClassVar[Responder]

    def finish_masked_file(self, rel: str, original: bytes, masked: bytes) -> bytes:
        # Go refuses to compile an import the masked bodies no longer use.
        return blank_unused_imports(original, masked) if rel.endswith(".go") else masked

    def dialects(self) -> list[Dialect]:
        raise NotImplementedError

    def claims(self, mod: GoMod) -> bool:
        """Whether the module's manifest makes it this framework's (before looking at code)."""
        raise NotImplementedError

    #: net/http claims a module only when its code registers routes
    needs_routes: ClassVar[bool] = False

    # ------------------------------------------------------------------ analysis

    def _analyse(self, project: GoProject, pkg: GoPackage) -> Interpreter:
        it = Interpreter(project, self.dialects())
        it.run_main(pkg)
        return it

    def _best_main(self, project: GoProject) -> tuple[GoPackage, Interpreter] | None:
        ranked = []
        for pkg in project.main_packages():
            it = self._analyse(project, pkg)
            side = any(part in _SIDE_DIRS for part in pkg.dir.split("/"))
            ranked.append(
                ((not it.routes, side, pkg.dir.count("/") if pkg.dir else -1, -len(it.routes), pkg.dir), pkg, it)
            )
        if not ranked:
            return None
        _, pkg, it = min(ranked, key=lambda r: r[0])
        return pkg, it

    def _service_main(self, project: GoProject, service: ServiceCandidate) -> tuple[GoPackage, Interpreter] | None:
        if service.entrypoint:
            pkg = project.packages.get(service.entrypoint.removeprefix(".").removeprefix("/"))
            if pkg is not None and pkg.is_main:
                return pkg, self._analyse(project, pkg)
        return self._best_main(project)

    def _project(self, repo_root: Path, service: ServiceCandidate) -> GoProject:
        root = service.root.resolve()
        gomod = root / "go.mod"
        text = gomod.read_text(errors="replace") if gomod.is_file() else ""
        return GoProject(repo_root.resolve(), parse_go_mod(text, root))

    # ------------------------------------------------------------------ Framework

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        out = []
        for mod in find_go_mods(repo_root):
            if not self.claims(mod):
                continue
            project = GoProject(repo_root, mod)
            best = self._best_main(project)
            if best is None:
                continue  # a library, not a service
            pkg, it = best
            if self.needs_routes and not endpoints_of(it):
                continue
            out.append(ServiceCandidate(root=mod.root, entrypoint=_entry(pkg)))
        return sorted(out, key=lambda c: c.root)

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        project = self._project(repo_root, service)
        found = self._service_main(project, service)
        return endpoints_of(found[1]) if found is not None else []

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        project = self._project(repo_root, service)
        found = self._service_main(project, service)
        listens = found[1].listens if found is not None else []
        port = None
        names: list[str] = []
        for listen in listens:
            port = port_of(listen.value)
            names = _env_names(listen.value)
            if port is None and listen.value is None and listen.default is not None:
                port, names = listen.default, ["PORT"]
            if port is not None or names:
                break
        port = port or self.dialects()[0].default_port
        env: dict[str, str] = {}
        for name, has_default in env_reads(project).items():
            if name == "PORT" or name in names:
                env[name] = f":{port}" if "ADDR" in name.upper() else str(port)
            elif not has_default:
                env[name] = f"dummy-{name}"
        for name in names:
            env.setdefault(name, f":{port}" if "ADDR" in name.upper() else str(port))
        return RuntimeHints(start_command=[BINARY], port=port, env=dict(sorted(env.items())))

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return mask_handler(source, handler, self.responder)
