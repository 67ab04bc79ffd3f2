"""C# helpers shared by .NET framework modules: sources, attributes, constants, projects, config.

Sources are parsed with tree-sitter, *.csproj with the XML parser and appsettings.json /
launchSettings.json as (commented) JSON. Nothing is executed.
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PureWindowsPath

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.models import Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
LANGUAGE = "csharp"
SUFFIXES = (".cs",)
#: Build output: compiled copies and generated files (obj/ holds GlobalUsings.g.cs and the like).
OUTPUT_DIRS = frozenset({"bin", "obj"})
TYPE_DECLARATIONS = (
    "class_declaration",
    "interface_declaration",
    "record_declaration",
    "struct_declaration",
    "record_struct_declaration",
)
FUNCTION_TYPES = ("method_declaration", "local_function_statement", "lambda_expression", "anonymous_method_expression")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b"}


def read_cs_sources(
    root: Path, repo_root: Path, *, skip: Iterable[Path] = (), warnings: list[str] | None = None
) -> list[tuple[Path, str, bytes]]:
    """(path, rel, content) of a project's sources, without build output and the folders in `skip`."""
    skipped = tuple(skip)
    out: list[tuple[Path, str, bytes]] = []
    for path, rel, content in ts.iter_files(root, repo_root, lambda n: n.endswith(SUFFIXES), warnings=warnings):
        parts = path.relative_to(root).parts[:-1]
        if not any(p in OUTPUT_DIRS for p in parts) and not any(path.is_relative_to(s) for s in skipped):
            out.append((path, rel, content))
    return out


class LazySources(ts.LazySources):
    """The shared lazy parse (treesitter.LazySources) in this language."""

    def __init__(self, entries: list[tuple[Path, str, bytes]], *, warnings: list[str] | None = None) -> None:
        super().__init__(entries, LANGUAGE, warnings=warnings)


# --------------------------------------------------------------------------- syntax helpers


@cache
def _invocation_query() -> tree_sitter.Query:
    return tree_sitter.Query(ts.get_language(LANGUAGE), "(invocation_expression) @call")


def invocations(node: Node) -> list[Node]:
    """Every call under `node`, in source order (a query: far cheaper than a Python walk)."""
    captures = tree_sitter.QueryCursor(_invocation_query()).captures(node)
    return sorted(captures.get("call", []), key=lambda n: n.start_byte)


def type_declarations(root: Node) -> Iterator[Node]:
    """Type declarations at any nesting of namespaces and types, without entering method bodies."""
    stack = [root]
    while stack:
        node = stack.pop()
        for child in reversed(node.named_children):
            if child.type in TYPE_DECLARATIONS:
                yield child
                body = child.child_by_field_name("body")
                if body is not None:
                    stack.append(body)
            elif child.type in ("namespace_declaration", "file_scoped_namespace_declaration", "declaration_list"):
                stack.append(child)


def attributes(decl: Node) -> list[Node]:
    """The attributes on a declaration, leaving out targeted ones such as `[return: X]`."""
    out: list[Node] = []
    for child in decl.children:
        if child.type != "attribute_list":
            continue
        if any(c.type == "attribute_target_specifier" for c in child.children):
            continue
        out.extend(c for c in child.named_children if c.type == "attribute")
    return out


def attribute_name(attribute: Node) -> str:
    """`HttpGet` for `HttpGet`, `HttpGetAttribute` and `Microsoft.AspNetCore.Mvc.HttpGet`."""
    name = ts.text(attribute.child_by_field_name("name")).split("<", 1)[0].rsplit(".", 1)[-1]
    return name.removesuffix("Attribute") or name


def attribute_args(attribute: Node) -> tuple[list[Node], dict[str, Node]]:
    """Positional argument values and named ones (`Name = "x"` and `template: "x"`)."""
    positional: list[Node] = []
    named: dict[str, Node] = {}
    args = next((c for c in attribute.named_children if c.type == "attribute_argument_list"), None)
    if args is None:
        return positional, named
    for arg in args.named_children:
        if arg.type != "attribute_argument":
            continue
        values = [c for c in arg.named_children if c != arg.child_by_field_name("name") and c.type != "comment"]
        if not values:
            continue
        name = arg.child_by_field_name("name")
        if name is not None:
            named[ts.text(name)] = values[-1]
        else:
            positional.append(values[-1])
    return positional, named


def modifiers(decl: Node) -> set[str]:
    return {ts.text(c) for c in decl.children if c.type == "modifier"}


def type_name(node: Node | None) -> str:
    """`Foo` for `Foo`, `Foo<Bar>`, `Ns.Foo`, `global::Ns.Foo`."""
    if node is None:
        return ""
    return ts.text(node).split("<", 1)[0].rsplit(".", 1)[-1].rsplit("::", 1)[-1].strip()


def _unescape(raw: str) -> str:
    return re.sub(
        r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{1,4}|.)",
        lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] in "ux" else _ESCAPES.get(m.group(1), m.group(1)),
        raw,
    )


def literal_value(node: Node) -> str | None:
    """The value of a plain, verbatim or raw string literal."""
    raw = ts.text(node)
    if node.type == "string_literal":
        return _unescape(raw[1:-1]) if raw.startswith('"') else None
    if node.type == "verbatim_string_literal":
        return raw[2:-1].replace('""', '"')
    if node.type == "raw_string_literal":
        return raw.strip('"').strip("\n")
    return None


def parameters(fn: Node) -> list[Node]:
    params = fn.child_by_field_name("parameters")
    if params is None:
        return []
    if params.type == "implicit_parameter":
        return [params]
    return [p for p in params.named_children if p.type in ("parameter", "implicit_parameter")]


def param_name(param: Node) -> str:
    if param.type == "implicit_parameter":
        return ts.text(param)
    return ts.text(param.child_by_field_name("name"))


def function_body(fn: Node) -> Node | None:
    """The body of a function; an anonymous method's block has no field name in the grammar."""
    body = fn.child_by_field_name("body")
    if body is None and fn.type == "anonymous_method_expression":
        body = next((c for c in reversed(fn.named_children) if c.type == "block"), None)
    return body


def function_name(fn: Node) -> str:
    if fn.type in ("method_declaration", "local_function_statement"):
        return ts.text(fn.child_by_field_name("name"))
    return "<anonymous>"


def handler_for(fn: Node, rel: str) -> Handler | None:
    """A method, local function or lambda as a Handler; an arrow body is its expression."""
    body = function_body(fn)
    if body is None:
        return None
    if body.type == "arrow_expression_clause":
        body = next((c for c in body.named_children if c.type != "comment"), None)
        if body is None:
            return None
    return ts.handler_at(rel, function_name(fn), fn, body)


def body_function(root: Node, handler: Handler) -> tuple[Node, Node]:
    """(function, body node) of a handler's body range in a freshly parsed tree."""
    body = ts.find_exact(root, handler.body_start_byte, handler.body_end_byte)
    # find_exact returns the deepest node; climb to the one that is a function's body.
    while body is not None:
        parent = body.parent
        if parent is not None and parent.type in FUNCTION_TYPES and function_body(parent) == body:
            return parent, body
        arrow = parent is not None and parent.type == "arrow_expression_clause"
        if arrow and parent.parent is not None and parent.parent.type in FUNCTION_TYPES:
            return parent.parent, body
        if parent is None or (parent.start_byte, parent.end_byte) != (body.start_byte, body.end_byte):
            break
        body = parent
    raise ValueError(f"no function body at bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file}")


# --------------------------------------------------------------------------- project index


@dataclass
class CsType:
    name: str
    node: Node
    sf: ts.SourceFile
    bases: list[str]
    #: const / static readonly string fields: name -> initializer
    fields: dict[str, Node] = field(default_factory=dict)

    def members(self, *types: str) -> list[Node]:
        body = self.node.child_by_field_name("body")
        return [c for c in body.named_children if c.type in types] if body is not None else []


class CsProject:
    """Types of a service's files by simple name, plus constant string folding.

    Files that `eager` accepts are indexed up front; any other file is parsed only when a
    lookup needs a type or method it may declare.
    """

    def __init__(self, sources: LazySources, eager: Callable[[bytes], bool] = lambda _: True) -> None:
        self.sources = sources
        self.types: dict[str, list[CsType]] = {}
        #: method name -> (declaring type, declaration), for handlers named as method groups
        self.methods: dict[str, list[tuple[CsType, Node]]] = {}
        self._indexed: set[str] = set()
        self._searched: set[str] = set()
        for sf in sources.matching(eager):
            self._index(sf)

    def _index(self, sf: ts.SourceFile) -> None:
        if sf.rel in self._indexed:
            return
        self._indexed.add(sf.rel)
        for node in type_declarations(sf.root):
            name = ts.text(node.child_by_field_name("name"))
            base_list = next((c for c in node.children if c.type == "base_list"), None)
            bases = [type_name(c) for c in base_list.named_children] if base_list is not None else []
            ct = CsType(name, node, sf, [b for b in bases if b])
            for fdecl in ct.members("field_declaration"):
                decl = next((c for c in fdecl.named_children if c.type == "variable_declaration"), None)
                for declarator in decl.named_children if decl is not None else []:
                    if declarator.type != "variable_declarator":
                        continue
                    value = [c for c in declarator.named_children if c != declarator.child_by_field_name("name")]
                    if value:
                        ct.fields[ts.text(declarator.child_by_field_name("name"))] = value[-1]
            self.types.setdefault(name, []).append(ct)
            for method in ct.members("method_declaration"):
                self.methods.setdefault(ts.text(method.child_by_field_name("name")), []).append((ct, method))

    def _load(self, key: str, name: str, declares: re.Pattern[bytes]) -> None:
        """Index every file whose bytes may declare `name` (once per kind and name)."""
        if name and key not in self._searched:
            self._searched.add(key)
            needle = name.encode()
            for sf in self.sources.containing(needle, lambda b: declares.search(b) is not None):
                self._index(sf)

    def all_types(self) -> list[CsType]:
        """The types indexed so far, by name (a snapshot: lookups may index more)."""
        return [ct for name in sorted(self.types) for ct in self.types[name]]

    def lookup(self, name: str) -> CsType | None:
        if name not in self.types:
            kinds = rb"\b(?:class|interface|record|struct)\s+"
            self._load(f"type {name}", name, re.compile(kinds + re.escape(name.encode()) + rb"\b"))
        found = self.types.get(name)
        return found[0] if found else None

    def methods_named(self, name: str) -> list[tuple[CsType, Node]]:
        # A declaration has a return type before the name: `IResult Name(`, `Task<T> Name<`.
        self._load(f"method {name}", name, re.compile(rb"[\w>\]?]\s+" + re.escape(name.encode()) + rb"\s*[(<]"))
        return self.methods.get(name, [])

    def chain(self, ct: CsType) -> list[CsType]:
        """The type and its base classes found in the project, most derived first."""
        out = [ct]
        while True:
            base = next(
                (
                    b
                    for b in out[-1].bases
                    if (t := self.lookup(b)) is not None and t.node.type != "interface_declaration"
                ),
                None,
            )
            nxt = self.lookup(base) if base else None
            if nxt is None or any(nxt.node == t.node for t in out):
                return out
            out.append(nxt)

    def base_names(self, ct: CsType) -> set[str]:
        """Every base name along the chain, including external ones (ControllerBase)."""
        return {b for t in self.chain(ct) for b in t.bases}

    def enclosing_type(self, node: Node) -> CsType | None:
        for anc in ts.ancestors(node):
            if anc.type in TYPE_DECLARATIONS:
                for ct in self.types.get(ts.text(anc.child_by_field_name("name")), []):
                    if ct.node == anc:
                        return ct
        return None

    def string_value(self, node: Node | None, scope: CsType | None, depth: int = 0) -> str | None:
        """The compile-time string an expression folds to, or None."""
        if node is None or depth > 20:
            return None
        if node.type in ("string_literal", "verbatim_string_literal", "raw_string_literal"):
            return literal_value(node)
        if node.type == "parenthesized_expression":
            return self.string_value(next(iter(node.named_children), None), scope, depth + 1)
        if node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) == "+":
            left = self.string_value(node.child_by_field_name("left"), scope, depth + 1)
            right = self.string_value(node.child_by_field_name("right"), scope, depth + 1)
            return left + right if left is not None and right is not None else None
        if node.type == "interpolated_string_expression":
            parts: list[str] = []
            for child in node.named_children:
                if child.type in ("string_content", "escape_sequence"):
                    parts.append(_unescape(ts.text(child)) if child.type == "escape_sequence" else ts.text(child))
                elif child.type == "interpolation":
                    inner = next((c for c in child.named_children if c.type != "interpolation_brace"), None)
                    value = self.string_value(inner, scope, depth + 1)
                    if value is None:
                        return None
                    parts.append(value)
            return "".join(parts)
        if node.type == "invocation_expression" and ts.text(node.child_by_field_name("function")) == "nameof":
            args = node.child_by_field_name("arguments")
            return ts.text(args.named_children[-1]).rsplit(".", 1)[-1] if args and args.named_children else None
        if node.type == "identifier":
            name = ts.text(node)
            for t in self.chain(scope) if scope is not None else []:
                if name in t.fields:
                    return self.string_value(t.fields[name], t, depth + 1)
            # Nested constant classes are reached through their enclosing type's name.
            for anc in ts.ancestors(node):
                if anc.type in TYPE_DECLARATIONS and (outer := self.enclosing_type(anc)) and name in outer.fields:
                    return self.string_value(outer.fields[name], outer, depth + 1)
            return None
        if node.type == "member_access_expression":
            owner = self.lookup(type_name(node.child_by_field_name("expression")))
            name = ts.text(node.child_by_field_name("name"))
            if owner is not None and name in owner.fields:
                return self.string_value(owner.fields[name], owner, depth + 1)
        return None


# --------------------------------------------------------------------------- projects and settings


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass
class CsprojInfo:
    path: Path
    sdk: str
    assembly_name: str
    target_frameworks: list[str]
    #: folders of the projects it references (ProjectReference), resolved
    references: list[Path]


def read_csproj(path: Path, content: bytes) -> CsprojInfo | None:
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        log.warning("skipped %s: not valid XML (%s)", path, exc)
        return None
    sdk = root.get("Sdk") or ""
    if not sdk:
        sdk = next((e.get("Name") or "" for e in root.iter() if _local(e.tag) == "Sdk"), "")
    values: dict[str, str] = {}
    references: list[Path] = []
    for element in root.iter():
        tag = _local(element.tag)
        if tag in ("AssemblyName", "TargetFramework", "TargetFrameworks") and element.text:
            values.setdefault(tag, element.text.strip())
        elif tag == "ProjectReference" and element.get("Include"):
            # Windows separators are the norm in csproj files.
            rel = PureWindowsPath(element.get("Include") or "").as_posix()
            references.append((path.parent / rel).resolve().parent)
    frameworks = values.get("TargetFrameworks") or values.get("TargetFramework") or ""
    return CsprojInfo(
        path=path,
        sdk=sdk,
        assembly_name=values.get("AssemblyName") or path.stem,
        target_frameworks=[f.strip() for f in frameworks.split(";") if f.strip()],
        references=references,
    )


def read_json_with_comments(path: Path) -> object:
    """appsettings.json and launchSettings.json allow comments and trailing commas."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    # Drop comments outside strings, then trailing commas.
    cleaned = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S)
    cleaned = re.sub(r",(\s*[}\]])", r"\1", cleaned)
    try:
        return json.loads(cleaned)
    except ValueError:
        log.warning("skipped %s: not valid JSON", path)
        return None


def flatten_settings(value: object, prefix: str = "", out: dict[str, str] | None = None) -> dict[str, str]:
    """Configuration keys as .NET sees them: `Section:Key`, arrays as `Section:0`."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, sub in value.items():
            flatten_settings(sub, f"{prefix}:{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            flatten_settings(sub, f"{prefix}:{index}", out)
    elif value is not None and prefix:
        out[prefix] = str(value)
    return out


def _optional_use(node: Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type in ("postfix_unary_expression", "parenthesized_expression"):
        node, parent = parent, parent.parent
    if parent is None:
        return False
    if parent.type == "binary_expression":
        op = ts.text(parent.child_by_field_name("operator"))
        if op == "??" or any(c.type == "null_literal" for c in parent.named_children):
            return True
    if parent.type == "is_pattern_expression":
        return True
    if parent.type == "argument" and parent.parent is not None and parent.parent.parent is not None:
        fn = ts.text(parent.parent.parent.child_by_field_name("function"))
        return fn.endswith(("IsNullOrEmpty", "IsNullOrWhiteSpace"))
    return False


@cache
def _element_access_query() -> tree_sitter.Query:
    return tree_sitter.Query(ts.get_language(LANGUAGE), "(element_access_expression) @access")


def _element_accesses(node: Node) -> list[Node]:
    captures = tree_sitter.QueryCursor(_element_access_query()).captures(node)
    return sorted(captures.get("access", []), key=lambda n: n.start_byte)


def required_env(files: Iterable[ts.SourceFile], settings: dict[str, str]) -> dict[str, str]:
    """Env vars and configuration keys read with no fallback, with dummy values.

    `Environment.GetEnvironmentVariable("X")`, `Configuration["A:B"]`,
    `Configuration.GetConnectionString("Db")` and `GetValue<T>("A:B")` without a default,
    when appsettings.json does not define the key. A key `A:B` is the env var `A__B`.
    """
    out: dict[str, str] = {}
    defined = {k.lower() for k in settings}

    def config_key(key: str | None) -> None:
        if key and key.lower() not in defined and re.fullmatch(r"[\w:.\-]+", key):
            name = key.replace(":", "__")
            out.setdefault(name, f"dummy-{name}")

    for sf in files:
        if b"Environment" not in sf.source and b"onfig" not in sf.source:
            continue
        for node in invocations(sf.root):
            fn = node.child_by_field_name("function")
            if fn is None or fn.type != "member_access_expression":
                continue
            name = type_name(fn.child_by_field_name("name"))
            receiver = ts.text(fn.child_by_field_name("expression")).lower()
            args = node.child_by_field_name("arguments")
            values = [c for c in args.named_children if c.type == "argument"] if args is not None else []
            first = values[0].named_children[-1] if values and values[0].named_children else None
            key = literal_value(first) if first is not None else None
            if len(values) != 1 or key is None or _optional_use(node):
                continue
            if name == "GetEnvironmentVariable" and receiver.endswith("environment"):
                out.setdefault(key, f"dummy-{key}")
            elif name == "GetConnectionString" and "config" in receiver:
                config_key(f"ConnectionStrings:{key}")
            elif name in ("GetValue", "GetRequiredSection") and "config" in receiver:
                config_key(key)
        if b"onfig" not in sf.source or b"[" not in sf.source:
            continue
        for node in _element_accesses(sf.root):
            receiver = ts.text(node.child_by_field_name("expression")).lower()
            subscript = node.child_by_field_name("subscript")
            args = [c for c in subscript.named_children if c.type == "argument"] if subscript is not None else []
            if len(args) == 1 and receiver.endswith(("configuration", "config")) and not _optional_use(node):
                value = args[0].named_children[-1] if args[0].named_children else None
                config_key(literal_value(value) if value is not None else None)
    return dict(sorted(out.items()))
