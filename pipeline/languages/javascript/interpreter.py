"""The static evaluator of a Node service: its modules, their imports and exports, and what an expression refers to.

It follows `require()`, `import`, `module.exports`, `exports.x` and `export` between the
files of one service (with tsconfig `paths` and `baseUrl`), so that a framework module can
ask "what does this expression refer to" (a router object, a function defined in a
controllers file, ...) without running any code. TypeScript files (.ts with the
"typescript" grammar, .tsx with "tsx") go through the same evaluator; type syntax is looked
through. `JsModule` is one indexed file, `JsProject` every file of a service, `JsValue` what
an evaluation yields. Routes, runtime hints and masking are built on top of it elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.javascript.project import grammar_of, iter_js_files, read_jsonc
from pipeline.languages.javascript.syntax import (
    FUNCTION_TYPES,
    Node,
    arguments,
    class_member,
    is_require,
    member_parts,
    param_name,
    parameters,
    string_value,
    unwrap,
)

#: resolution order of an extension-less specifier, as Node and tsc try them
_RESOLVE_SUFFIXES = (".js", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts", ".jsx")


@dataclass(frozen=True)
class ImportBinding:
    specifier: str
    #: "default", a named export, or None for the whole module (`require`, `import * as`)
    name: str | None


@dataclass(frozen=True)
class MemberBinding:
    """`const { name: local } = source`: the local is `source.name`."""

    source: Node
    name: str


@dataclass
class JsModule(ts.HasSourceFile):
    sf: ts.SourceFile
    bindings: dict[str, Node | ImportBinding | MemberBinding] = field(default_factory=dict)
    exports: dict[str, Node] = field(default_factory=dict)
    default_export: Node | None = None
    #: every call expression of the file, in source order
    calls: list[Node] = field(default_factory=list)


def _bind_pattern(mod: JsModule, pattern: Node, source: Node) -> None:
    spec = is_require(source)
    for prop in pattern.named_children:
        key = local = None
        if prop.type == "shorthand_property_identifier_pattern":
            key = local = ts.text(prop)
        elif prop.type == "object_assignment_pattern":
            left = prop.child_by_field_name("left")
            key = local = ts.text(left)
        elif prop.type == "pair_pattern":
            key_node, value = prop.child_by_field_name("key"), prop.child_by_field_name("value")
            key = string_value(key_node) or ts.text(key_node)
            if value is not None and value.type == "identifier":
                local = ts.text(value)
        if key is None or local is None:
            continue
        binding = ImportBinding(spec, key) if spec is not None else MemberBinding(source, key)
        mod.bindings.setdefault(local, binding)


_INDEXED_TYPES = (
    "variable_declarator",
    "function_declaration",
    "generator_function_declaration",
    "class_declaration",
    "abstract_class_declaration",
    "assignment_expression",
    "import_statement",
    "export_statement",
)


@cache
def _query(grammar: str, types: tuple[str, ...]) -> tree_sitter.Query:
    language = ts.get_language(grammar)
    # A node type unknown to this grammar (TypeScript-only ones in JavaScript) cannot be queried.
    known = [t for t in types if language.id_for_node_kind(t, True)]
    return tree_sitter.Query(language, "[" + " ".join(f"({t})" for t in known) + "] @node")


def nodes_of(sf: ts.SourceFile, types: tuple[str, ...]) -> list[Node]:
    """Every node of the given types in a file, in source (pre-)order.

    A tree-sitter query walks the tree in C; a Python walk over every node of a large
    repository is what would make exploring slow.
    """
    captures = tree_sitter.QueryCursor(_query(grammar_of(sf.rel), types)).captures(sf.root)
    return sorted(captures.get("node", []), key=lambda n: (n.start_byte, -n.end_byte))


def index_module(sf: ts.SourceFile) -> JsModule:
    mod = JsModule(sf=sf)
    for node in nodes_of(sf, (*_INDEXED_TYPES, "call_expression")):
        if node.type == "call_expression":
            mod.calls.append(node)
        elif node.type == "variable_declarator":
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is None or value is None:
                continue
            if name.type == "identifier":
                spec = is_require(value)
                mod.bindings.setdefault(ts.text(name), ImportBinding(spec, None) if spec is not None else value)
            elif name.type == "object_pattern":
                _bind_pattern(mod, name, value)
        elif node.type in (
            "function_declaration",
            "generator_function_declaration",
            "class_declaration",
            "abstract_class_declaration",
        ):
            name = node.child_by_field_name("name")
            if name is not None:
                mod.bindings.setdefault(ts.text(name), node)
        elif node.type == "assignment_expression":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is None or right is None:
                continue
            target = ts.text(left)
            if target == "module.exports":
                mod.default_export = right
                if unwrap(right).type == "object":
                    _object_exports(mod, unwrap(right))
            elif (
                target.startswith(("module.exports.", "exports."))
                and target.count(".") == target.startswith("module.") + 1
            ):
                mod.exports[target.rsplit(".", 1)[1]] = right
            elif left.type == "identifier":
                mod.bindings.setdefault(ts.text(left), right)
        elif node.type == "import_statement":
            source = string_value(node.child_by_field_name("source"))
            required = next((c for c in node.named_children if c.type == "import_require_clause"), None)
            if required is not None:
                # TypeScript's `import x = require("y")`
                ident = next((c for c in required.named_children if c.type == "identifier"), None)
                spec = string_value(next((c for c in required.named_children if c.type == "string"), None))
                if ident is not None and spec is not None:
                    mod.bindings[ts.text(ident)] = ImportBinding(spec, None)
                continue
            clause = next((c for c in node.named_children if c.type == "import_clause"), None)
            if source is None or clause is None:
                continue
            for child in clause.named_children:
                if child.type == "identifier":
                    mod.bindings[ts.text(child)] = ImportBinding(source, "default")
                elif child.type == "namespace_import":
                    ident = next((c for c in child.named_children if c.type == "identifier"), None)
                    if ident is not None:
                        mod.bindings[ts.text(ident)] = ImportBinding(source, None)
                elif child.type == "named_imports":
                    for spec in child.named_children:
                        if spec.type != "import_specifier":
                            continue
                        name, alias = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
                        mod.bindings[ts.text(alias or name)] = ImportBinding(source, ts.text(name))
        elif node.type == "export_statement":
            _export_statement(mod, node)
    return mod


def _object_exports(mod: JsModule, obj: Node) -> None:
    for prop in obj.named_children:
        if prop.type == "shorthand_property_identifier":
            mod.exports.setdefault(ts.text(prop), prop)
        elif prop.type == "pair":
            key = prop.child_by_field_name("key")
            value = prop.child_by_field_name("value")
            if key is not None and value is not None:
                mod.exports.setdefault(string_value(key) or ts.text(key), value)
        elif prop.type == "method_definition":
            mod.exports.setdefault(ts.text(prop.child_by_field_name("name")), prop)


def _export_statement(mod: JsModule, node: Node) -> None:
    is_default = any(c.type == "default" for c in node.children)
    declaration = node.child_by_field_name("declaration")
    value = node.child_by_field_name("value")
    if is_default:
        mod.default_export = declaration or value
        return
    if declaration is not None:
        if declaration.type in ("lexical_declaration", "variable_declaration"):
            for decl in declaration.named_children:
                name, init = decl.child_by_field_name("name"), decl.child_by_field_name("value")
                if decl.type == "variable_declarator" and name is not None and init is not None:
                    mod.exports[ts.text(name)] = init
        else:
            name = declaration.child_by_field_name("name")
            if name is not None:
                mod.exports[ts.text(name)] = declaration
        return
    clause = next((c for c in node.named_children if c.type == "export_clause"), None)
    if clause is None or node.child_by_field_name("source") is not None:
        return
    for spec in clause.named_children:
        name, alias = spec.child_by_field_name("name"), spec.child_by_field_name("alias")
        if name is not None:
            exported = ts.text(alias or name)
            if exported == "default":
                mod.default_export = name
            else:
                mod.exports[exported] = name


@dataclass(frozen=True)
class JsValue:
    """What an expression evaluates to, as far as static reading can tell.

    kind "module": a project module (module set); "external": a package, `package` and the
    member path `members`; "node": an expression or declaration `node` in `module`.
    """

    kind: str
    module: JsModule | None = None
    node: Node | None = None
    package: str = ""
    members: tuple[str, ...] = ()


class JsProject:
    """Every JavaScript module of one service, with require/import resolution."""

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
        self.modules: dict[str, JsModule] = {}
        #: module by normalized absolute path (strings: pathlib is slow in this hot loop)
        self._by_path: dict[str, JsModule] = {}
        self._located: dict[tuple[str, str], JsModule | None] = {}
        self._aliases = _path_aliases(service_root)
        if files is None:
            files = iter_js_files(service_root, repo_root, warnings=warnings)
        for sf in files:
            mod = index_module(sf)
            self.modules[sf.rel] = mod
            self._by_path[os.path.normpath(str(sf.path))] = mod

    def _find(self, base: str) -> JsModule | None:
        base = os.path.normpath(base)
        candidates = [base] + [base + s for s in _RESOLVE_SUFFIXES]
        stem, suffix = os.path.splitext(base)
        if suffix in (".js", ".mjs", ".cjs", ".jsx"):
            # TypeScript ESM imports name the compiled file: "./users.js" is users.ts.
            candidates += [stem + s for s in (".ts", ".tsx", ".mts", ".cts")]
        candidates += [os.path.join(base, f"index{s}") for s in _RESOLVE_SUFFIXES]
        for candidate in candidates:
            resolved = self._by_path.get(candidate)
            if resolved is not None:
                return resolved
        return None

    def locate(self, module: JsModule, specifier: str) -> JsModule | None:
        key = (module.rel, specifier)
        if key not in self._located:
            self._located[key] = self._locate(module, specifier)
        return self._located[key]

    def _locate(self, module: JsModule, specifier: str) -> JsModule | None:
        if specifier.startswith("."):
            return self._find(os.path.join(os.path.dirname(str(module.path)), specifier))
        # tsconfig `paths` and `baseUrl`: "@/users/service", "src/users/users.module".
        for pattern, targets in self._aliases:
            if pattern.endswith("*"):
                if not specifier.startswith(pattern[:-1]):
                    continue
                rest = specifier[len(pattern) - 1 :]
            elif specifier != pattern:
                continue
            else:
                rest = ""
            for target in targets:
                found = self._find(target.replace("*", rest))
                if found is not None:
                    return found
        return None

    # ---- evaluation

    def _import(self, module: JsModule, binding: ImportBinding, depth: int) -> JsValue | None:
        target = self.locate(module, binding.specifier)
        if target is None:
            if binding.specifier.startswith("."):
                return None
            members = () if binding.name in (None, "default") else (binding.name,)
            return JsValue("external", package=binding.specifier, members=members)
        if binding.name is None:
            return JsValue("module", module=target)
        if binding.name == "default":
            return self.default_of(target, depth + 1)
        return self.export_of(target, binding.name, depth + 1)

    def default_of(self, module: JsModule, depth: int = 0) -> JsValue | None:
        if module.default_export is None:
            return None
        return self.evaluate(module, module.default_export, depth + 1)

    def export_of(self, module: JsModule, name: str, depth: int = 0) -> JsValue | None:
        if name in module.exports:
            return self.evaluate(module, module.exports[name], depth + 1)
        default = self.default_of(module, depth + 1)
        return self.member(default, name, depth + 1) if default is not None else None

    def member(self, value: JsValue, name: str, depth: int = 0) -> JsValue | None:
        if value.kind == "module" and value.module is not None:
            return self.export_of(value.module, name, depth + 1)
        if value.kind == "external":
            return JsValue("external", package=value.package, members=(*value.members, name))
        if value.kind == "node" and value.module is not None and value.node is not None:
            node = unwrap(value.node)
            if node.type == "object":
                for prop in node.named_children:
                    if prop.type == "shorthand_property_identifier" and ts.text(prop) == name:
                        return self.evaluate(value.module, prop, depth + 1)
                    if prop.type == "pair":
                        key = prop.child_by_field_name("key")
                        prop_value = prop.child_by_field_name("value")
                        if (string_value(key) or ts.text(key)) == name and prop_value is not None:
                            return self.evaluate(value.module, prop_value, depth + 1)
                    if prop.type == "method_definition" and ts.text(prop.child_by_field_name("name")) == name:
                        return JsValue("node", module=value.module, node=prop)
            if node.type in ("class_declaration", "class", "abstract_class_declaration"):
                member = class_member(node, name)
                return JsValue("node", module=value.module, node=member) if member is not None else None
            if node.type == "new_expression":
                # `new UsersController()`: its methods are the class's methods.
                cls = self.evaluate(value.module, node.child_by_field_name("constructor"), depth + 1)
                return self.member(cls, name, depth + 1) if cls is not None else None
            if node.type == "call_expression":
                # `(await startServer()).app`: a member of what a project function returns.
                result = self.returned(value.module, node, depth + 1)
                return self.member(result, name, depth + 1) if result is not None else None
        return None

    def returned(self, module: JsModule, call: Node, depth: int = 0) -> JsValue | None:
        """What a call of a project function returns: its first `return` with a value (an
        arrow function's expression body), and for `return new Promise(...)` the value the
        executor passes to `resolve`; None for a package's function or an unreadable one."""
        if depth > 40:
            return None
        callee = self.evaluate(module, call.child_by_field_name("function"), depth + 1)
        if callee is not None and callee.kind == "module" and callee.module is not None:
            callee = self.default_of(callee.module, depth + 1)
        if callee is None or callee.module is None or callee.node is None or callee.kind != "node":
            return None
        where, fn = callee.module, unwrap(callee.node)
        if fn.type not in FUNCTION_TYPES:
            return None
        result = returned_expression(fn)
        if (
            result is not None
            and result.type == "new_expression"
            and ts.text(result.child_by_field_name("constructor")) == "Promise"
        ):
            result = resolved_value(result)
        return self.evaluate(where, result, depth + 1) if result is not None else None

    def lookup(self, module: JsModule, name: str, depth: int = 0) -> JsValue | None:
        binding = module.bindings.get(name)
        if binding is None:
            return None
        if isinstance(binding, ImportBinding):
            return self._import(module, binding, depth)
        if isinstance(binding, MemberBinding):
            source = self.evaluate(module, binding.source, depth + 1)
            return self.member(source, binding.name, depth + 1) if source is not None else None
        return self.evaluate(module, binding, depth + 1)

    def definition(self, module: JsModule, node: Node | None) -> tuple[JsModule, Node] | None:
        """The expression that defines a value in the project; a whole module stands for its default export."""
        value = self.evaluate(module, node)
        if value is not None and value.kind == "module" and value.module is not None:
            value = self.default_of(value.module)
        if value is None or value.kind != "node" or value.module is None or value.node is None:
            return None
        return value.module, value.node

    def evaluate(self, module: JsModule, node: Node | None, depth: int = 0) -> JsValue | None:
        """Follow identifiers, members and `require` to the expression that defines a value."""
        if node is None or depth > 40:
            return None
        node = unwrap(node)
        if node.type in ("identifier", "shorthand_property_identifier"):
            return self.lookup(module, ts.text(node), depth)
        spec = is_require(node)
        if spec is not None:
            return self._import(module, ImportBinding(spec, None), depth)
        parts = member_parts(node)
        if parts is not None:
            if unwrap(parts[0]).type == "this":
                assigned = this_member(parts[0], parts[1])
                return self.evaluate(module, assigned, depth + 1) if assigned is not None else None
            obj = self.evaluate(module, parts[0], depth + 1)
            return self.member(obj, parts[1], depth + 1) if obj is not None else None
        return JsValue("node", module=module, node=node)


def _own_nodes(fn: Node) -> Iterator[Node]:
    """The nodes of a function's body, without the bodies of the functions and classes nested in it."""
    body = fn.child_by_field_name("body")
    stack = [body] if body is not None else []
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in reversed(node.named_children) if c.type not in _SCOPES)


_SCOPES = FUNCTION_TYPES | {"class", "class_declaration", "abstract_class_declaration"}


def returned_expression(fn: Node) -> Node | None:
    """The expression a function returns: an arrow function's expression body, else the
    value of its first `return` (nested functions' returns are theirs)."""
    body = fn.child_by_field_name("body")
    if body is None:
        return None
    if body.type != "statement_block":
        return unwrap(body)
    for node in _own_nodes(fn):
        if node.type == "return_statement" and node.named_children:
            return unwrap(node.named_children[0])
    return None


def resolved_value(promise: Node) -> Node | None:
    """The value `new Promise((resolve) => ... resolve(x) ...)` resolves to: x of the first
    `resolve(x)` anywhere in the executor (a callback inside it included)."""
    args = arguments(promise)
    executor = unwrap(args[0]) if args else None
    if executor is None or executor.type not in FUNCTION_TYPES:
        return None
    params = parameters(executor)
    resolve = param_name(params[0]) if params else None
    if resolve is None:
        return None
    for node in ts.walk(executor):
        if node.type == "call_expression" and ts.text(node.child_by_field_name("function")) == resolve:
            values = arguments(node)
            return unwrap(values[0]) if values else None
    return None


def this_member(this: Node, name: str) -> Node | None:
    """What `this.<name>` holds inside a class: the value of its field (`server = express()`)
    or of the first `this.<name> = ...` in any of its methods (an app kept as a member)."""
    body = next((a for a in ts.ancestors(this) if a.type == "class_body"), None)
    if body is None:
        return None
    for node in ts.walk(body):
        if node.type in ("field_definition", "public_field_definition"):
            key = node.child_by_field_name("property") or node.child_by_field_name("name")
            if key is not None and ts.text(key) == name:
                return node.child_by_field_name("value")
        elif node.type == "assignment_expression":
            left = node.child_by_field_name("left")
            parts = member_parts(left) if left is not None else None
            if parts is not None and unwrap(parts[0]).type == "this" and parts[1] == name:
                return node.child_by_field_name("right")
    return None


def _path_aliases(service_root: Path) -> list[tuple[str, list[str]]]:
    """(pattern, absolute targets) of tsconfig.json `paths`, then `baseUrl` as "*"."""
    config = read_jsonc(service_root / "tsconfig.json") if (service_root / "tsconfig.json").is_file() else {}
    options = config.get("compilerOptions")
    if not isinstance(options, dict):
        return []
    base_url = options.get("baseUrl")
    base = service_root / base_url if isinstance(base_url, str) else service_root
    out: list[tuple[str, list[str]]] = []
    paths = options.get("paths")
    if isinstance(paths, dict):
        for pattern, targets in paths.items():
            if isinstance(pattern, str) and isinstance(targets, list):
                out.append((pattern, [str(base / t) for t in targets if isinstance(t, str)]))
    if isinstance(base_url, str):
        out.append(("*", [str(base / "*")]))
    return out
