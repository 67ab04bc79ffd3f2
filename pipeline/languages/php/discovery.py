"""Shared PHP knowledge: composer.json, namespaces and `use`, PSR-4 class lookup, masking.

Laravel, Symfony and Slim all resolve controllers the same way (a class name made fully
qualified by the file's namespace and `use` statements, then found through composer's
PSR-4 map), so that lives here; what each framework does with routes lives in its module.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import ServiceCandidate
from pipeline.models import Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
LANGUAGE = "php"
SUFFIXES = (".php",)
#: Folders of a PHP service that never hold its own routes: dependencies, caches, tests.
SKIP_DIRS = frozenset({"vendor", "var", "storage", "cache", "tests", "test", "node_modules"})
FUNCTION_TYPES = ("method_declaration", "function_definition", "anonymous_function", "arrow_function")
CALL_TYPES = ("member_call_expression", "nullsafe_member_call_expression", "scoped_call_expression")
REQUIRE_TYPES = ("require_expression", "require_once_expression", "include_expression", "include_once_expression")
#: $_SERVER keys the web server fills in; reading them is not reading configuration.
_SERVER_KEYS = re.compile(
    r"^(HTTP_|REQUEST_|SERVER_|REMOTE_|SCRIPT_|PHP_|QUERY_STRING|DOCUMENT_ROOT|PATH_INFO|HTTPS|argv|argc)"
)


# --------------------------------------------------------------------------- manifests


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def composer_requires(manifest: dict) -> set[str]:
    """Packages the project itself requires (require-dev is tooling, not the runtime)."""
    require = manifest.get("require")
    return {k.lower() for k in require} if isinstance(require, dict) else set()


def _in_vendor(rel: str) -> bool:
    return any(part in ("vendor", "node_modules") for part in rel.split("/")[:-1])


def composer_roots(repo_root: Path, package: str) -> list[Path]:
    """Folders whose composer.json requires `package`, vendored copies excluded."""
    out = []
    for path, rel, _content in ts.iter_files(repo_root, repo_root, lambda n: n == "composer.json"):
        if _in_vendor(rel):
            continue
        if package in composer_requires(read_json(path)):
            out.append(path.parent)
    return sorted(out)


def detect_services(
    repo_root: Path, package: str, entrypoint: Callable[[Path, Path], str | None]
) -> list[ServiceCandidate]:
    """One candidate per composer root requiring `package`; `entrypoint(repo_root, root)` names its front file."""
    repo_root = repo_root.resolve()
    return [
        ServiceCandidate(root=root, entrypoint=entrypoint(repo_root, root))
        for root in composer_roots(repo_root, package)
    ]


def psr4_map(root: Path) -> list[tuple[str, list[Path]]]:
    """composer.json's PSR-4 prefixes (longest first), with folders absolute under `root`."""
    manifest = read_json(root / "composer.json")
    found: dict[str, list[Path]] = {}
    for section in ("autoload", "autoload-dev"):
        autoload = manifest.get(section)
        psr4 = autoload.get("psr-4") if isinstance(autoload, dict) else None
        if not isinstance(psr4, dict):
            continue
        for prefix, dirs in psr4.items():
            if not isinstance(prefix, str):
                continue
            for d in [dirs] if isinstance(dirs, str) else dirs if isinstance(dirs, list) else []:
                if isinstance(d, str):
                    found.setdefault(prefix.strip("\\"), []).append(root / d)
    if not found:
        # Laravel keeps App\ in app/, Symfony and Slim in src/.
        found["App"] = [root / "app", root / "src"]
    return sorted(found.items(), key=lambda item: -len(item[0]))


# --------------------------------------------------------------------------- nodes


def string_value(node: Node | None) -> str | None:
    """The value of a constant string literal, None for anything interpolated or computed."""
    if node is None:
        return None
    if node.type == "argument":
        return string_value(node.named_children[-1] if node.named_children else None)
    if node.type == "parenthesized_expression" and node.named_children:
        return string_value(node.named_children[0])
    if node.type == "string":
        raw = ts.text(node)
        inner = raw[1:-1] if len(raw) >= 2 else ""
        return inner.replace("\\\\", "\\").replace("\\'", "'")
    if node.type == "encapsed_string":
        parts = []
        for child in node.named_children:
            if child.type == "string_content":
                parts.append(ts.text(child))
            elif child.type == "escape_sequence":
                escaped = ts.text(child)
                parts.append({"\\n": "\n", "\\t": "\t"}.get(escaped, escaped[1:]))
            else:
                return None
        return "".join(parts)
    if node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) == ".":
        left = string_value(node.child_by_field_name("left"))
        right = string_value(node.child_by_field_name("right"))
        return left + right if left is not None and right is not None else None
    return None


def arguments(call: Node | None) -> list[tuple[str | None, Node]]:
    """(named-argument name or None, value) of a call's or attribute's arguments."""
    if call is None:
        return []
    args = call.child_by_field_name("arguments") or call.child_by_field_name("parameters")
    if args is None:
        args = next((c for c in call.named_children if c.type == "arguments"), None)
    out: list[tuple[str | None, Node]] = []
    for arg in args.named_children if args is not None else []:
        if arg.type != "argument" or not arg.named_children:
            continue
        name = arg.child_by_field_name("name")
        value = arg.named_children[-1]
        out.append((ts.text(name) if name is not None else None, value))
    return out


def arg(call: Node | None, index: int, name: str | None = None) -> Node | None:
    """A call's argument by name, else by position among the positional ones."""
    args = arguments(call)
    if name is not None:
        for key, value in args:
            if key == name:
                return value
    positional = [v for k, v in args if k is None]
    return positional[index] if 0 <= index < len(positional) else None


def array_items(node: Node | None) -> list[tuple[Node | None, Node]]:
    """(key or None, value) of every element of an array literal."""
    if node is None or node.type != "array_creation_expression":
        return []
    out = []
    for element in node.named_children:
        if element.type != "array_element_initializer" or not element.named_children:
            continue
        children = element.named_children
        out.append((children[0], children[-1]) if len(children) >= 2 else (None, children[0]))
    return out


def string_list(node: Node | None) -> list[str]:
    """['a', 'b'] or 'a' as a list of strings (non-constant items dropped)."""
    single = string_value(node)
    if single is not None:
        return [single]
    return [v for _, item in array_items(node) if (v := string_value(item)) is not None]


def call_name(call: Node) -> str:
    return ts.text(call.child_by_field_name("name"))


def call_chain(node: Node) -> tuple[Node, list[tuple[str, Node]]]:
    """`A::x(..)->y(..)->z(..)` as (root, [(x, call), (y, call), (z, call)]), innermost first.

    For a static call the root is the scoped call itself (its scope says which class).
    """
    links: list[tuple[str, Node]] = []
    current = node
    while current.type in ("member_call_expression", "nullsafe_member_call_expression"):
        links.append((call_name(current), current))
        obj = current.child_by_field_name("object")
        if obj is None:
            break
        current = obj
    if current.type == "scoped_call_expression":
        links.append((call_name(current), current))
    links.reverse()
    return current, links


def is_closure(node: Node | None) -> bool:
    return node is not None and node.type in ("anonymous_function", "arrow_function")


def parameter_names(fn: Node) -> list[str]:
    params = fn.child_by_field_name("parameters")
    out = []
    for param in params.named_children if params is not None else []:
        name = param.child_by_field_name("name")
        if name is not None:
            out.append(ts.text(name).lstrip("$"))
    return out


def parameter_types(fn: Node) -> list[str]:
    params = fn.child_by_field_name("parameters")
    out = []
    for param in params.named_children if params is not None else []:
        if param.child_by_field_name("name") is not None:
            out.append(ts.text(param.child_by_field_name("type")).lstrip("?\\"))
    return out


def closure_uses(fn: Node) -> list[str]:
    clause = next((c for c in fn.named_children if c.type == "anonymous_function_use_clause"), None)
    if clause is None:
        return []
    return [ts.text(v).lstrip("&$") for v in clause.named_children]


def property_default(cls: Node | None, name: str) -> Node | None:
    """The initial value of a class property `$name`."""
    body = cls.child_by_field_name("body") if cls is not None else None
    for decl in body.named_children if body is not None else []:
        if decl.type != "property_declaration":
            continue
        for element in decl.named_children:
            if element.type == "property_element" and ts.text(element.named_children[0]).lstrip("$") == name:
                return element.child_by_field_name("default_value")
    return None


def php_class_of(node: Node) -> Node | None:
    """The class or trait declaring a method."""
    return next((a for a in ts.ancestors(node) if a.type in ("class_declaration", "trait_declaration")), None)


def enclosing_class(node: Node) -> Node | None:
    return next((a for a in ts.ancestors(node) if a.type == "class_declaration"), None)


def docblock(node: Node) -> str:
    """The comment right before a declaration (its docblock), or ''."""
    prev = node.prev_named_sibling
    return ts.text(prev) if prev is not None and prev.type == "comment" else ""


# --------------------------------------------------------------------------- files and classes


@dataclass
class PhpFile(ts.HasSourceFile):
    sf: ts.SourceFile
    namespace: str = ""
    #: alias -> fully qualified class name, from `use` statements
    uses: dict[str, str] = field(default_factory=dict)

    def resolve_class(self, name: str) -> str:
        """The fully qualified name PHP gives a class name written in this file."""
        name = name.strip()
        if name.startswith("\\"):
            return name.lstrip("\\")
        if name.lower().startswith("namespace\\"):
            return f"{self.namespace}\\{name[10:]}".strip("\\")
        first, _, rest = name.partition("\\")
        if first in self.uses:
            return self.uses[first] + ("\\" + rest if rest else "")
        return f"{self.namespace}\\{name}" if self.namespace else name

    def class_of(self, node: Node | None) -> str | None:
        """The class of `X::class`, `'App\\X'` or `X` (a bare name), fully qualified."""
        if node is None:
            return None
        if node.type == "class_constant_access_expression":
            children = node.named_children
            if (
                len(children) == 2
                and ts.text(children[1]) == "class"
                and children[0].type in ("name", "qualified_name")
            ):
                return self.resolve_class(ts.text(children[0]))
            return None
        if node.type in ("name", "qualified_name"):
            return self.resolve_class(ts.text(node))
        value = string_value(node)
        return value.lstrip("\\") if value else None

    def classes(self) -> Iterator[Node]:
        return ts.find_all(self.root, "class_declaration", "trait_declaration")


def index_file(sf: ts.SourceFile) -> PhpFile:
    out = PhpFile(sf=sf)
    for node in sf.root.named_children:
        if node.type == "namespace_definition" and not out.namespace:
            out.namespace = ts.text(node.child_by_field_name("name"))
        elif node.type == "namespace_use_declaration":
            _index_use(out, node)
    for ns in (n for n in sf.root.named_children if n.type == "namespace_definition"):
        body = ns.child_by_field_name("body")
        for node in body.named_children if body is not None else []:
            if node.type == "namespace_use_declaration":
                _index_use(out, node)
    return out


def _index_use(out: PhpFile, decl: Node) -> None:
    if any(c.type in ("function", "const") for c in decl.children):
        return  # `use function` / `use const` import no class
    group = decl.child_by_field_name("body")
    prefix = ""
    clauses = [c for c in decl.named_children if c.type == "namespace_use_clause"]
    if group is not None:
        prefix = ts.text(next((c for c in decl.named_children if c.type == "namespace_name"), None)) + "\\"
        clauses = [c for c in group.named_children if c.type == "namespace_use_clause"]
    for clause in clauses:
        alias = clause.child_by_field_name("alias")
        target = next((c for c in clause.named_children if c != alias), None)
        if target is None:
            continue
        full = (prefix + ts.text(target)).lstrip("\\")
        out.uses[ts.text(alias) if alias is not None else full.rsplit("\\", 1)[-1]] = full


def _load_source(path: Path, repo_root: Path) -> ts.SourceFile | None:
    """One file, read and parsed with the same rules as the walk in treesitter.py."""
    try:
        rel = path.relative_to(repo_root).as_posix()
    except ValueError:
        return None
    try:
        if not path.is_file() or not path.resolve().is_relative_to(repo_root.resolve()):
            return None
        if path.stat().st_size > ts.MAX_FILE_BYTES:
            log.warning("skipped %s: larger than %s bytes", rel, ts.MAX_FILE_BYTES)
            return None
        source = path.read_bytes()
    except OSError as exc:
        log.warning("skipped %s: cannot read (%s)", rel, exc)
        return None
    if b"\x00" in source[:8192]:
        log.warning("skipped %s: binary content", rel)
        return None
    try:
        tree = ts.parse(source, LANGUAGE)
    except Exception as exc:  # a grammar crash on odd input must not stop discovery
        log.warning("skipped %s: parser failed (%s)", rel, exc)
        return None
    if ts.has_error(tree.root_node):
        log.warning("skipped %s: does not parse as php", rel)
        return None
    return ts.SourceFile(path=path, rel=rel, source=source, tree=tree)


class PhpProject:
    """The PHP files of one service, parsed at most once, and its classes found via PSR-4."""

    def __init__(self, repo_root: Path, root: Path) -> None:
        self.repo_root = repo_root.resolve()
        self.root = root.resolve()
        self.psr4 = psr4_map(self.root)
        self._files: dict[Path, PhpFile | None] = {}

    def add(self, sf: ts.SourceFile) -> PhpFile:
        key = Path(os.path.normpath(sf.path))
        known = self._files.get(key)
        if known is None:
            known = self._files[key] = index_file(sf)
        return known

    def load(self, path: Path) -> PhpFile | None:
        key = Path(os.path.normpath(path))
        if key not in self._files:
            sf = _load_source(key, self.repo_root)
            self._files[key] = index_file(sf) if sf is not None else None
        return self._files[key]

    def files_under(self, folder: Path) -> list[PhpFile]:
        """Every parseable PHP file under `folder` (dependencies, caches and tests skipped)."""
        out = []
        if not folder.is_dir():
            return out
        for sf in ts.iter_source_files(folder, self.repo_root, SUFFIXES, LANGUAGE):
            inner = sf.path.relative_to(folder).as_posix().split("/")[:-1]
            if any(part in SKIP_DIRS for part in inner):
                continue
            out.append(self.add(sf))
        return out

    def service_files(self) -> list[PhpFile]:
        """Every PHP file of the service: top-level files plus each folder that is not skipped."""
        out = []
        try:
            entries = sorted(self.root.iterdir())
        except OSError:
            return out
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in SKIP_DIRS and entry.name not in ts.SKIP_DIRS:
                    out.extend(self.files_under(entry))
            elif entry.name.endswith(SUFFIXES) and (loaded := self.load(entry)) is not None:
                out.append(loaded)
        return out

    def class_file(self, fqcn: str) -> PhpFile | None:
        fqcn = fqcn.strip("\\")
        for prefix, dirs in self.psr4:
            if prefix and not fqcn.startswith(prefix + "\\"):
                continue
            rest = fqcn[len(prefix) :].strip("\\").replace("\\", "/")
            for d in dirs:
                candidate = d / f"{rest}.php"
                if candidate.is_file() and (loaded := self.load(candidate)) is not None:
                    return loaded
        return None

    def find_class(self, fqcn: str) -> tuple[PhpFile, Node] | None:
        file = self.class_file(fqcn)
        if file is None:
            return None
        short = fqcn.strip("\\").rsplit("\\", 1)[-1]
        for cls in file.classes():
            if ts.text(cls.child_by_field_name("name")).lower() == short.lower():
                return file, cls
        return None

    def action_method(self, fqcn: str, method: str) -> tuple[PhpFile, Node] | None:
        """The method that really answers when `method` is called on `fqcn`.

        When `method` (say `__invoke`) is inherited from an abstract base that calls an
        abstract hook (Slim skeleton's `Action::__invoke` -> `action()`), the class's own
        implementation of that hook is the handler: masking the shared base would mask all.
        """
        found = self.find_method(fqcn, method)
        own = self.find_class(fqcn)
        if found is None or own is None or php_class_of(found[1]) == own[1]:
            return found
        base = php_class_of(found[1])
        if base is None or not any(c.type == "abstract_modifier" for c in base.children):
            return found
        body = base.child_by_field_name("body")
        hooks = [
            ts.text(m.child_by_field_name("name")).lower()
            for m in (body.named_children if body is not None else [])
            if m.type == "method_declaration" and any(c.type == "abstract_modifier" for c in m.children)
        ]
        own_body = own[1].child_by_field_name("body")
        for member in own_body.named_children if own_body is not None else []:
            if member.type == "method_declaration" and ts.text(member.child_by_field_name("name")).lower() in hooks:
                return own[0], member
        return found

    def find_method(self, fqcn: str, method: str, depth: int = 0) -> tuple[PhpFile, Node] | None:
        """A method of a class, looked up through its parents and traits as PHP does."""
        found = self.find_class(fqcn)
        if found is None or depth > 6:
            return None
        file, cls = found
        body = cls.child_by_field_name("body")
        parents: list[str] = []
        for member in body.named_children if body is not None else []:
            if member.type == "method_declaration":
                if ts.text(member.child_by_field_name("name")).lower() == method.lower():
                    return file, member
            elif member.type == "use_declaration":
                parents.extend(file.resolve_class(ts.text(n)) for n in member.named_children if n.type != "use_list")
        base = next((c for c in cls.named_children if c.type == "base_clause"), None)
        if base is not None and base.named_children:
            parents.insert(0, file.resolve_class(ts.text(base.named_children[0])))
        for parent in parents:
            inherited = self.find_method(parent, method, depth + 1)
            if inherited is not None:
                return inherited
        return None


def eval_path(file: PhpFile, node: Node | None, base: Path) -> Path | None:
    """The file a `require`/`group()` path expression names (__DIR__, dirname(), base_path())."""
    if node is None:
        return None
    text = _path_text(file, node, base)
    if text is None:
        return None
    path = Path(text)
    return Path(os.path.normpath(path if path.is_absolute() else file.path.parent / path))


def _path_text(file: PhpFile, node: Node, base: Path) -> str | None:
    if node.type == "parenthesized_expression" and node.named_children:
        return _path_text(file, node.named_children[0], base)
    if node.type == "name" and ts.text(node) == "__DIR__":
        return str(file.path.parent)
    if node.type == "name" and ts.text(node) == "__FILE__":
        return str(file.path)
    if node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) == ".":
        left = _path_text(file, node.child_by_field_name("left"), base)
        right = _path_text(file, node.child_by_field_name("right"), base)
        return left + right if left is not None and right is not None else None
    if node.type == "function_call_expression":
        fn = ts.text(node.child_by_field_name("function")).lstrip("\\")
        first = arg(node, 0)
        if fn == "dirname" and first is not None:
            inner = _path_text(file, first, base)
            levels = int(ts.text(arg(node, 1))) if ts.text(arg(node, 1)).isdigit() else 1
            if inner is None:
                return None
            out = Path(inner)
            for _ in range(levels):
                out = out.parent
            return str(out)
        helpers = {"base_path": "", "app_path": "app", "config_path": "config", "database_path": "database"}
        if fn in helpers:
            inner = string_value(first) if first is not None else ""
            if inner is None:
                return None
            return str(base / helpers[fn] / inner.lstrip("/")) if inner else str(base / helpers[fn])
        return None
    return string_value(node)


# --------------------------------------------------------------------------- handlers and masking


def body_of(fn: Node) -> Node | None:
    return fn.child_by_field_name("body")


def handler_for(fn: Node, rel: str) -> Handler | None:
    """The Handler of a method, function or closure (None when it has no body, e.g. abstract)."""
    body = body_of(fn)
    if body is None:
        return None
    if fn.type in ("method_declaration", "function_definition"):
        name = ts.text(fn.child_by_field_name("name"))
    else:
        name = "<anonymous>"
    return ts.handler_at(rel, name, fn, body)


def handler_function(source: bytes, handler: Handler) -> tuple[Node, Node]:
    """(function node, body node) of a Handler in `source`, or ValueError."""
    tree = ts.parse(source, LANGUAGE)
    fn = ts.find_exact(tree.root_node, handler.start_byte, handler.end_byte, set(FUNCTION_TYPES))
    body = body_of(fn) if fn is not None else None
    if (
        fn is None
        or body is None
        or (body.start_byte, body.end_byte)
        != (
            handler.body_start_byte,
            handler.body_end_byte,
        )
    ):
        raise ValueError(f"no PHP function with that body at bytes {handler.start_byte}-{handler.end_byte}")
    return fn, body


def php_string(text: str) -> str:
    """A single-quoted PHP literal: no interpolation, only backslash and quote escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: The request's raw body: php://input can be read again after the framework read it.
RAW_BODY = "file_get_contents('php://input')"


def mask_handler(source: bytes, handler: Handler, statement: str, expression: str | None = None) -> bytes:
    """Replace the body by `{ statement }` (or by `expression` for an arrow function `fn () => ...`).

    Only the body changes: the signature, attributes and a closure's `use (...)` stay.
    """
    fn, body = handler_function(source, handler)
    if fn.type == "arrow_function":
        if expression is None:
            raise ValueError(f"no expression form to mask the arrow function in {handler.file}")
        new = expression.encode()
    else:
        indent = ts.line_indent(source, fn.start_byte).decode()
        new = ("{\n" + indent + "    " + statement + "\n" + indent + "}").encode()
    out = ts.replace(source, body.start_byte, body.end_byte, new)
    return ts.check_reparses(out, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- environment


def env_reads(files: Iterable[PhpFile]) -> dict[str, bool]:
    """Environment variables the code reads -> whether every read has a fallback.

    env('X', default), getenv('X'), $_ENV['X'], $_SERVER['X'] (server-filled keys ignored).
    """
    out: dict[str, bool] = {}
    for file in files:
        for node in ts.walk(file.root):
            name: str | None = None
            has_default = False
            if node.type == "function_call_expression":
                fn = ts.text(node.child_by_field_name("function")).lstrip("\\")
                if fn in ("env", "getenv"):
                    name = string_value(arg(node, 0))
                    has_default = arg(node, 1) is not None or _guarded(node)
            elif node.type == "subscript_expression" and node.named_children:
                array = ts.text(node.named_children[0])
                if array in ("$_ENV", "$_SERVER") and len(node.named_children) > 1:
                    name = string_value(node.named_children[1])
                    has_default = _guarded(node)
            if name and re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and not _SERVER_KEYS.match(name):
                out[name] = out.get(name, True) and has_default
    return dict(sorted(out.items()))


def _guarded(node: Node) -> bool:
    """`$_ENV['X'] ?? 'x'`, `getenv('X') ?: 'x'`, `isset($_ENV['X'])`: the read has a fallback."""
    parent = node.parent
    if parent is not None and parent.type == "argument" and parent.parent is not None:
        call = parent.parent.parent
        return call is not None and ts.text(call.child_by_field_name("function")) in ("isset", "empty")
    if parent is not None and parent.type == "binary_expression":
        operator = ts.text(parent.child_by_field_name("operator"))
        return operator in ("??", "?:", "||") and parent.child_by_field_name("left") == node
    return parent is not None and parent.type == "conditional_expression"


SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSPHRASE|PASSWORD|SALT|_KEY$")


def dummy_env(names: Iterable[str], examples: dict[str, str] | None = None) -> dict[str, str]:
    """A value for each name: the example file's (never for secrets), else `dummy-NAME`.

    An example value keeps settings such as a database driver meaningful, where a dummy
    would be an invalid choice.
    """
    examples = examples or {}
    out = {}
    for name in sorted(names):
        example = examples.get(name)
        usable = example is not None and not SECRET_NAME.search(name)
        out[name] = example if usable else f"dummy-{name}"
    return out


def example_env(root: Path) -> dict[str, str]:
    """The committed example environment (.env.example, .env.dist, .env.sample)."""
    for name in (".env.example", ".env.dist", ".env.sample"):
        if (root / name).is_file():
            return dotenv_keys(root / name)
    return {}


def dotenv_keys(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file (values unquoted; never used as secrets, only as hints)."""
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$", line)
        if match:
            out[match.group(1)] = match.group(2).strip().strip("'\"")
    return out


def document_root(root: Path, entry: str | None) -> str:
    """The folder `php -S` serves: the entry script's folder, `public` by convention."""
    if entry and entry.endswith(".php") and "/" in entry:
        return entry.rsplit("/", 1)[0]
    if entry and entry.endswith(".php"):
        return "."
    return "public" if (root / "public").is_dir() else "."


def builtin_server_command(root: Path, entry: str | None, port: int) -> list[str]:
    """`php -S` with the front controller as router script, so every path reaches the app."""
    docroot = document_root(root, entry)
    script = entry if entry and entry.endswith(".php") else f"{docroot}/index.php".removeprefix("./")
    return ["php", "-S", f"0.0.0.0:{port}", "-t", docroot, script]


def param_named(fn: Node, names: tuple[str, ...], type_suffixes: tuple[str, ...]) -> str | None:
    """The variable of the first parameter (or closure `use`) with one of `names` or a type ending so."""
    params = fn.child_by_field_name("parameters")
    for param in params.named_children if params is not None else []:
        name_node = param.child_by_field_name("name")
        if name_node is None:
            continue
        name = ts.text(name_node).lstrip("$")
        type_ = ts.text(param.child_by_field_name("type")).lstrip("?\\").rsplit("\\", 1)[-1]
        if name in names or (type_ and type_.endswith(type_suffixes)):
            return name
    for name in closure_uses(fn):
        if name in names:
            return name
    return None
