"""Ruby helpers shared by the Rails and Sinatra modules.

Reading literal arguments of DSL calls, an index of classes and modules (methods with their
visibility, superclasses, included modules, lexical nesting), Gemfile parsing, English
inflection for Rails resource names, handler byte ranges, masking and environment variables.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.models import Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
LANGUAGE = "ruby"
SUFFIXES = (".rb", ".ru")
#: Folders of tests, vendored gems and runtime state: rack-test's `get '/x'` is not a route.
TEST_DIRS = frozenset({"spec", "test", "tests", "features", "vendor", "tmp", "log", "db", "node_modules", "public"})


def _warn(message: str, warnings: list[str] | None) -> None:
    log.warning(message)
    if warnings is not None:
        warnings.append(message)


def iter_ruby_files(
    root: Path,
    repo_root: Path,
    *,
    warnings: list[str] | None = None,
    skip_tests: bool = True,
    contains: bytes | None = None,
) -> Iterator[ts.SourceFile]:
    """Parsed Ruby files under `root`; test and vendored folders (and, with `contains`, files
    without that text) are left out before parsing. A file that does not parse is skipped with
    a warning."""
    for path, rel, source in ts.iter_files(root, repo_root, lambda n: n.endswith(SUFFIXES), warnings=warnings):
        try:
            folders = set(path.relative_to(root).parts[:-1])
        except ValueError:
            folders = set()
        if (skip_tests and TEST_DIRS & folders) or (contains is not None and contains not in source):
            continue
        tree = ts.parse_cached(rel, source, LANGUAGE)
        if tree is None or ts.has_error(tree.root_node):
            _warn(f"skipped {rel}: does not parse as {LANGUAGE}", warnings)
            continue
        yield ts.SourceFile(path=path, rel=rel, source=source, tree=tree)


def parse_file(path: Path, repo_root: Path, *, warnings: list[str] | None = None) -> ts.SourceFile | None:
    """One named file parsed (e.g. config/routes.rb), or None with a warning when it cannot be."""
    return ts.load_file(path, repo_root, LANGUAGE, warnings=warnings)


# --------------------------------------------------------------------------- literals


def string_value(node: Node | None) -> str | None:
    """The value of a literal string or symbol without interpolation, else None."""
    if node is None:
        return None
    if node.type == "simple_symbol":
        return ts.text(node)[1:]
    if node.type == "hash_key_symbol":
        return ts.text(node)
    if node.type in ("string", "delimited_symbol", "bare_string", "bare_symbol"):
        parts = []
        for child in node.named_children:
            if child.type == "string_content":
                parts.append(ts.text(child))
            elif child.type == "escape_sequence":
                parts.append(ts.text(child)[1:])
            else:
                return None  # interpolation: not a static value
        return "".join(parts)
    return None


def string_list(node: Node | None) -> list[str] | None:
    """`[:a, "b"]`, `%i[a b]`, `%w[a b]` or a single literal, as strings."""
    if node is None:
        return None
    if node.type in ("array", "symbol_array", "string_array"):
        values = [string_value(child) for child in node.named_children]
        return [v for v in values if v is not None]
    value = string_value(node)
    return [value] if value is not None else None


def constant_name(node: Node | None) -> str | None:
    """`Foo::Bar` -> "Foo::Bar", `::Foo` -> "::Foo", anything else -> None."""
    if node is None:
        return None
    if node.type == "constant":
        return ts.text(node)
    if node.type == "scope_resolution":
        name = node.child_by_field_name("name")
        scope = node.child_by_field_name("scope")
        if name is None or name.type != "constant":
            return None
        if scope is None:
            return "::" + ts.text(name)
        outer = constant_name(scope)
        return None if outer is None else f"{outer}::{ts.text(name)}"
    return None


@dataclass
class Call:
    """A method call split into the parts a DSL reader needs."""

    node: Node
    receiver: Node | None
    name: str
    args: list[Node]
    #: keyword options: `only: [...]`, `:to => "x"`, `"path" => "c#a"` (string keys too)
    options: dict[str, Node]
    #: the pairs in source order with their key node, for `"path" => "c#a"` forms
    pairs: list[tuple[Node, Node]]
    block: Node | None


def as_call(node: Node) -> Call | None:
    """A `call` node, or a bare identifier statement such as `private` or `member`."""
    if node.type == "identifier":
        return Call(node, None, ts.text(node), [], {}, [], None)
    if node.type != "call":
        return None
    method = node.child_by_field_name("method")
    if method is None:
        return None
    args: list[Node] = []
    options: dict[str, Node] = {}
    pairs: list[tuple[Node, Node]] = []
    arguments = node.child_by_field_name("arguments")
    for child in arguments.named_children if arguments is not None else []:
        entries = [child]
        if child.type == "hash":
            entries = child.named_children
        elif child.type != "pair":
            args.append(child)
            continue
        for pair in entries:
            if pair.type != "pair":
                continue
            key, value = pair.child_by_field_name("key"), pair.child_by_field_name("value")
            if key is None or value is None:
                continue
            pairs.append((key, value))
            name = string_value(key)
            if name is not None:
                options.setdefault(name, value)
    return Call(node, node.child_by_field_name("receiver"), ts.text(method), args, options, pairs, block_of(node))


def block_of(call: Node) -> Node | None:
    block = call.child_by_field_name("block")
    return block if block is not None and block.type in ("do_block", "block") else None


def statements(node: Node | None) -> list[Node]:
    """The statements of a program, a class/module/method body, a block or an if branch."""
    if node is None:
        return []
    if node.type in ("do_block", "block", "class", "module", "method", "singleton_method", "begin"):
        body = node.child_by_field_name("body")
        if body is None:
            body = next((c for c in node.named_children if c.type in ("body_statement", "block_body")), None)
        return statements(body)
    if node.type in ("program", "body_statement", "block_body", "then", "else", "begin_block"):
        return [c for c in node.named_children if c.type not in ("comment", "empty_statement")]
    return []


def branches(node: Node) -> list[Node]:
    """The statement lists of an `if`/`unless` (all branches: routes may sit in any)."""
    out: list[Node] = []
    for child in node.named_children:
        if child.type in ("then", "else"):
            out.extend(statements(child))
        elif child.type in ("elsif", "if", "unless"):
            out.extend(branches(child))
    return out


# --------------------------------------------------------------------------- classes


@dataclass
class MethodDef:
    name: str
    node: Node
    rel: str
    public: bool


@dataclass
class ClassDef:
    """One `class`/`module` definition (a class reopened in several files has several)."""

    name: str
    kind: str  # "class" or "module"
    rel: str
    node: Node
    #: enclosing module/class names, innermost last, for resolving relative constants
    nesting: tuple[str, ...]
    superclass: str | None
    methods: dict[str, MethodDef] = field(default_factory=dict)
    #: names of privatized methods (`private :foo`) without their definition
    hidden: set[str] = field(default_factory=set)
    includes: list[str] = field(default_factory=list)


def _visibility_statements(defn: ClassDef, body: list[Node]) -> None:
    public = True
    for stmt in body:
        if stmt.type == "method":
            name = ts.text(stmt.child_by_field_name("name"))
            defn.methods.setdefault(name, MethodDef(name, stmt, defn.rel, public))
            continue
        call = as_call(stmt)
        if call is None or call.receiver is not None:
            continue
        if call.name in ("private", "protected", "public"):
            if not call.args:
                public = call.name == "public"
                continue
            for arg in call.args:
                if arg.type == "method":
                    name = ts.text(arg.child_by_field_name("name"))
                    defn.methods.setdefault(name, MethodDef(name, arg, defn.rel, call.name == "public"))
                else:
                    for name in string_list(arg) or []:
                        if call.name == "public":
                            defn.hidden.discard(name)
                        else:
                            defn.hidden.add(name)
        elif call.name == "include":
            defn.includes.extend(n for n in (constant_name(a) for a in call.args) if n)


class ClassIndex:
    """Every class and module of a set of files, by fully-qualified name (case-insensitive).

    Names are compared case-insensitively so that `Api::V1::PostsController` is found for the
    controller "api/v1/posts" even when an inflection acronym makes it `API::V1::...`.
    """

    def __init__(self, files: Iterable[ts.SourceFile]) -> None:
        self.defs: dict[str, list[ClassDef]] = {}
        for sf in files:
            self._collect(sf.rel, statements(sf.root), ())

    def _collect(self, rel: str, body: list[Node], nesting: tuple[str, ...]) -> None:
        for stmt in body:
            if stmt.type in ("class", "module"):
                own = constant_name(stmt.child_by_field_name("name"))
                if own is None:
                    continue
                full = own[2:] if own.startswith("::") else "::".join((*nesting[-1:], own)) if nesting else own
                superclass = None
                if stmt.type == "class":
                    sup = stmt.child_by_field_name("superclass")
                    if sup is not None and sup.named_children:
                        superclass = constant_name(sup.named_children[0])
                defn = ClassDef(full, stmt.type, rel, stmt, nesting, superclass)
                inner = statements(stmt)
                _visibility_statements(defn, inner)
                self.defs.setdefault(full.lower(), []).append(defn)
                self._collect(rel, inner, (*nesting, full))
            elif stmt.type in ("if", "unless"):
                self._collect(rel, branches(stmt), nesting)

    def get(self, name: str) -> list[ClassDef]:
        return self.defs.get(name.removeprefix("::").lower(), [])

    def resolve(self, name: str, nesting: tuple[str, ...]) -> str | None:
        """The qualified name a constant written inside `nesting` refers to, if defined here."""
        if name.startswith("::"):
            return name[2:] if self.get(name) else None
        for outer in reversed(nesting):
            candidate = f"{outer}::{name}"
            if self.get(candidate):
                return self.get(candidate)[0].name
        return self.get(name)[0].name if self.get(name) else None

    def superclass_of(self, name: str) -> tuple[str | None, str | None]:
        """(superclass as written, its qualified name when it is defined in the index)."""
        for defn in self.get(name):
            if defn.superclass is not None:
                return defn.superclass, self.resolve(defn.superclass, defn.nesting)
        return None, None

    def ancestors(self, name: str) -> Iterator[str]:
        """The class itself and its superclasses that are defined in the index, nearest first."""
        seen: set[str] = set()
        current: str | None = name
        while current is not None and current.lower() not in seen and self.get(current):
            seen.add(current.lower())
            yield self.get(current)[0].name
            current = self.superclass_of(current)[1]

    def find_method(self, name: str, method: str) -> MethodDef | None:
        """A public instance method as Ruby's lookup finds it: class, included modules, superclass."""
        for klass in self.ancestors(name):
            for defn in self.get(klass):
                if method in defn.hidden:
                    return None
                found = defn.methods.get(method)
                if found is not None:
                    return found if found.public else None
            for defn in self.get(klass):
                for included in reversed(defn.includes):
                    target = self.resolve(included, (*defn.nesting, defn.name))
                    for module in self.get(target) if target else []:
                        found = module.methods.get(method)
                        if found is not None:
                            return found if found.public else None
        return None


# --------------------------------------------------------------------------- handlers


def _empty_body_range(node: Node, after: Node | None) -> tuple[int, int]:
    """Where the statements of an empty `def`/`do` would go: between the header and `end`."""
    end = next((c for c in reversed(node.children) if c.type in ("end", "}")), None)
    stop = end.start_byte if end is not None else node.end_byte
    start = after.end_byte if after is not None else node.start_byte
    return start, max(start, stop)


def method_handler(method: Node, rel: str) -> Handler:
    """A `def name ... end` (or endless `def name = expr`) as a handler."""
    body = method.child_by_field_name("body")
    if body is not None:
        start, end = body.start_byte, body.end_byte
    else:
        header = method.child_by_field_name("parameters") or method.child_by_field_name("name")
        start, end = _empty_body_range(method, header)
    return Handler(
        file=rel,
        name=ts.text(method.child_by_field_name("name")),
        line=method.start_point[0] + 1,
        start_byte=method.start_byte,
        end_byte=method.end_byte,
        body_start_byte=start,
        body_end_byte=end,
    )


def block_handler(call: Node, block: Node, rel: str, name: str = "<anonymous>") -> Handler:
    """A DSL call with a block (`get '/x' do ... end`): the whole call, the block's statements."""
    body = block.child_by_field_name("body")
    if body is None:
        body = next((c for c in block.named_children if c.type in ("body_statement", "block_body")), None)
    if body is not None:
        start, end = body.start_byte, body.end_byte
    else:
        header = block.child_by_field_name("parameters") or block.children[0]
        start, end = _empty_body_range(block, header)
    return Handler(
        file=rel,
        name=name,
        line=call.start_point[0] + 1,
        start_byte=call.start_byte,
        end_byte=call.end_byte,
        body_start_byte=start,
        body_end_byte=end,
    )


def ruby_string(text: str) -> str:
    """A single-quoted Ruby literal: no interpolation, only backslash and quote escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def mask_body(source: bytes, handler: Handler, statement: str) -> bytes:
    """Replace a method's or block's statements by `statement`, keeping signature and params."""
    root = ts.parse(source, LANGUAGE).root_node
    start, end = handler.body_start_byte, handler.body_end_byte
    owner = ts.find_exact(root, handler.start_byte, handler.end_byte, {"method", "call"})
    if owner is None or not (owner.start_byte <= start <= end <= owner.end_byte):
        raise ValueError(f"no handler at bytes {handler.start_byte}-{handler.end_byte} of {handler.file}")
    new = statement
    endless = owner.type == "method" and any(c.type == "=" for c in owner.children)
    if endless:
        # `def show = render(...)`: the body is one expression, so call with parentheses.
        new = re.sub(r"^(\w+) (.*)$", r"\1(\2)", statement)
    elif end <= start or ts.find_exact(root, start, end, {"body_statement", "block_body"}) is None:
        # An empty body: the range is the blank between the header and `end` / `}`.
        if source[end : end + 1] == b"}":
            new = f" {statement} "
        elif b"\n" not in source[start:end]:
            new = f"; {statement}; "
        else:
            indent = ts.line_indent(source, owner.start_byte).decode()
            new = f"\n{indent}  {statement}\n{indent}"
    elif source[start:end].rstrip().endswith(b";"):
        new += ";"  # `def x; a; end`: the body holds the `;` that separates it from `end`
    masked = ts.replace(source, start, end, new.encode())
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- manifests


_GEM = re.compile(r"""^\s*gem\s*\(?\s*['"]([A-Za-z0-9_.\-]+)['"]""", re.MULTILINE)
_GEMSPEC_DEP = re.compile(r"""\.add_(?:runtime_)?dependency\s*\(?\s*['"]([A-Za-z0-9_.\-]+)['"]""")


def gems(root: Path) -> set[str]:
    """Gem names the Gemfile (and gemspecs) of a folder declare; development ones included."""
    names: set[str] = set()
    for path in [root / "Gemfile", *sorted(root.glob("*.gemspec"))]:
        try:
            content = path.read_text(errors="replace")
        except OSError:
            continue
        pattern = _GEM if path.name == "Gemfile" else _GEMSPEC_DEP
        names.update(pattern.findall(content))
    return names


# --------------------------------------------------------------------------- environment


#: Variables a Ruby web server sets itself or reads with an implicit default.
_OPTIONAL_ENV = frozenset(
    {
        "PORT",
        "RAILS_ENV",
        "RACK_ENV",
        "APP_ENV",
        "RAILS_MAX_THREADS",
        "RAILS_MIN_THREADS",
        "WEB_CONCURRENCY",
        "PIDFILE",
        "RAILS_LOG_TO_STDOUT",
        "RAILS_SERVE_STATIC_FILES",
        "RAILS_LOG_LEVEL",
        "HOME",
        "PATH",
    }
)


def _optional_read(node: Node) -> bool:
    """`ENV['X'] || default`, `ENV['X'].presence || ...`, `if ENV['X']`: the code copes without."""
    current = node
    while (
        current.parent is not None
        and current.parent.type == "call"
        and current.parent.child_by_field_name("receiver") == current
    ):
        current = current.parent
    parent = current.parent
    if parent is None:
        return False
    if parent.type == "binary" and ts.text(parent.child_by_field_name("operator")) in ("||", "or", "&&", "and", "??"):
        return True
    if parent.type in ("if", "unless", "if_modifier", "unless_modifier", "conditional", "while"):
        return parent.child_by_field_name("condition") == current
    return parent.type == "operator_assignment"  # x ||= ENV['X']


def env_reads(files: Iterable[ts.SourceFile]) -> dict[str, str]:
    """Environment variables read with no fallback, with dummy values (never real ones)."""
    out: dict[str, str] = {}
    for sf in files:
        if b"ENV" not in sf.source:
            continue
        for node in ts.walk(sf.root):
            name = None
            if node.type == "element_reference" and ts.text(node.child_by_field_name("object")) == "ENV":
                keys = [c for c in node.named_children if c != node.child_by_field_name("object")]
                name = string_value(keys[0]) if len(keys) == 1 else None
                if name is not None and _optional_read(node):
                    name = None
            elif node.type == "call" and ts.text(node.child_by_field_name("receiver")) == "ENV":
                call = as_call(node)
                if call is not None and call.name == "fetch" and len(call.args) == 1 and call.block is None:
                    name = string_value(call.args[0])
            if not name or name in _OPTIONAL_ENV or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                continue
            numeric = node.parent is not None and ts.text(node.parent.child_by_field_name("method")) in ("to_i", "to_f")
            out.setdefault(name, "1" if numeric else f"dummy-{name}")
    return dict(sorted(out.items()))


def env_default_port(files: Iterable[ts.SourceFile]) -> int | None:
    """The fallback of `ENV['PORT'] || 4567` / `ENV.fetch('PORT', 3000)` / `ENV.fetch('PORT') { 3000 }`."""
    for sf in files:
        if b"PORT" not in sf.source:
            continue
        for node in ts.walk(sf.root):
            left = ts.text(node.child_by_field_name("left")) if node.type == "binary" else ""
            if "ENV" in left and "PORT" in left:
                port = int_value(node.child_by_field_name("right"))
                if port:
                    return port
            call = as_call(node) if node.type == "call" else None
            if call is None or call.name != "fetch" or ts.text(call.receiver) != "ENV":
                continue
            if not call.args or string_value(call.args[0]) != "PORT":
                continue
            fallback = call.args[1] if len(call.args) > 1 else None
            if fallback is None and call.block is not None:
                body = statements(call.block)
                fallback = body[-1] if body else None
            port = int_value(fallback)
            if port:
                return port
    return None


def int_value(node: Node | None) -> int | None:
    if node is None:
        return None
    value = string_value(node) if node.type == "string" else ts.text(node) if node.type == "integer" else None
    if value is None or not value.replace("_", "").isdigit():
        return None
    port = int(value.replace("_", ""))
    return port if 0 < port < 65536 else None


# --------------------------------------------------------------------------- inflection

_UNCOUNTABLE = frozenset(
    {"equipment", "information", "rice", "money", "species", "series", "fish", "sheep", "jeans", "police"}
)
_IRREGULAR = {
    "person": "people",
    "man": "men",
    "child": "children",
    "sex": "sexes",
    "move": "moves",
    "zombie": "zombies",
}
# ActiveSupport's English rules, most specific first (the order Rails tries them).
_SINGULAR_RULES = [
    (r"(database)s$", r"\1"),
    (r"(quiz)zes$", r"\1"),
    (r"(matr)ices$", r"\1ix"),
    (r"(vert|ind)ices$", r"\1ex"),
    (r"^(ox)en", r"\1"),
    (r"(alias|status)(es)?$", r"\1"),
    (r"(octop|vir)(us|i)$", r"\1us"),
    (r"^(a)x[ie]s$", r"\1xis"),
    (r"(cris|test)(is|es)$", r"\1is"),
    (r"(shoe)s$", r"\1"),
    (r"(o)es$", r"\1"),
    (r"(bus)(es)?$", r"\1"),
    (r"^(m|l)ice$", r"\1ouse"),
    (r"(x|ch|ss|sh)es$", r"\1"),
    (r"(m)ovies$", r"\1ovie"),
    (r"(s)eries$", r"\1eries"),
    (r"([^aeiouy]|qu)ies$", r"\1y"),
    (r"([lr])ves$", r"\1f"),
    (r"(tive)s$", r"\1"),
    (r"(hive)s$", r"\1"),
    (r"([^f])ves$", r"\1fe"),
    (r"(^analy)(sis|ses)$", r"\1sis"),
    (r"((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)(sis|ses)$", r"\1sis"),
    (r"([ti])a$", r"\1um"),
    (r"(n)ews$", r"\1ews"),
    (r"(ss)$", r"\1"),
    (r"s$", ""),
]
_PLURAL_RULES = [
    (r"(quiz)$", r"\1zes"),
    (r"^(oxen)$", r"\1"),
    (r"^(ox)$", r"\1en"),
    (r"^(m|l)ice$", r"\1ice"),
    (r"^(m|l)ouse$", r"\1ice"),
    (r"(matr|vert|ind)(?:ix|ex)$", r"\1ices"),
    (r"(x|ch|ss|sh)$", r"\1es"),
    (r"([^aeiouy]|qu)y$", r"\1ies"),
    (r"(hive)$", r"\1s"),
    (r"(?:([^f])fe|([lr])f)$", r"\1\2ves"),
    (r"sis$", "ses"),
    (r"([ti])a$", r"\1a"),
    (r"([ti])um$", r"\1a"),
    (r"(buffal|tomat)o$", r"\1oes"),
    (r"(bu)s$", r"\1ses"),
    (r"(alias|status)$", r"\1es"),
    (r"(octop|vir)i$", r"\1i"),
    (r"(octop|vir)us$", r"\1i"),
    (r"^(ax|test)is$", r"\1es"),
    (r"s$", "s"),
    (r"$", "s"),
]


def _inflect(word: str, rules: list[tuple[str, str]], irregular: dict[str, str]) -> str:
    head, _, last = word.rpartition("_")
    lower = last.lower()
    if not last or lower in _UNCOUNTABLE:
        return word
    if lower in irregular:
        result = irregular[lower]
    else:
        result = last
        for pattern, replacement in rules:
            if re.search(pattern, lower, re.IGNORECASE):
                result = re.sub(pattern, replacement, last, count=1, flags=re.IGNORECASE)
                break
    return f"{head}_{result}" if head else result


def singularize(word: str) -> str:
    return _inflect(word, _SINGULAR_RULES, {v: k for k, v in _IRREGULAR.items()})


def pluralize(word: str) -> str:
    return _inflect(word, _PLURAL_RULES, _IRREGULAR)


def camelize(path: str) -> str:
    """ "api/v1/user_posts" -> "Api::V1::UserPosts" (ActiveSupport's camelize)."""
    return "::".join("".join(p[:1].upper() + p[1:] for p in part.split("_")) for part in path.split("/") if part)
