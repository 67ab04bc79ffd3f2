"""JavaScript knowledge for the Node frameworks: modules, require/import, values, bodies.

A small, static evaluator: it follows `require()`, `import`, `module.exports`, `exports.x`
and `export` between the files of one service, so that a framework module can ask "what
does this expression refer to" (a router object, a function defined in a controllers
file, ...) without running any code.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.frameworks import treesitter as ts
from pipeline.models import BodyField, Handler

log = logging.getLogger(__name__)

LANGUAGE = "javascript"
SUFFIXES = (".js", ".mjs", ".cjs")
FUNCTION_TYPES = frozenset(
    {
        "arrow_function",
        "function_expression",
        "function",
        "function_declaration",
        "generator_function",
        "generator_function_declaration",
        "method_definition",
    }
)

Node = tree_sitter.Node


def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    if any(p in ("test", "tests", "__tests__", "spec", "e2e") for p in parts[:-1]):
        return True
    return any(marker in name for marker in (".test.", ".spec."))


def iter_js_files(root: Path, repo_root: Path, *, warnings: list[str] | None = None) -> Iterator[ts.SourceFile]:
    for sf in ts.iter_source_files(root, repo_root, SUFFIXES, LANGUAGE, warnings=warnings):
        if not is_test_path(sf.path.relative_to(root).as_posix()):
            yield sf


def read_package_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, ValueError) as exc:
        log.warning("skipped %s: not valid JSON (%s)", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- literals


def string_value(node: Node | None) -> str | None:
    """The value of a string literal or a template literal without substitutions."""
    if node is None:
        return None
    if node.type not in ("string", "template_string"):
        return None
    out = []
    for child in node.children:
        if child.type == "template_substitution":
            return None
        if child.type == "string_fragment":
            out.append(ts.text(child))
        elif child.type == "escape_sequence":
            out.append(ts.text(child).encode().decode("unicode_escape", errors="replace"))
    return "".join(out)


def literal_type(node: Node | None) -> str:
    if node is None:
        return "any"
    if node.type == "number":
        return "float" if "." in ts.text(node) else "int"
    return {
        "string": "str",
        "template_string": "str",
        "true": "bool",
        "false": "bool",
        "array": "list",
        "object": "dict",
    }.get(node.type, "any")


def arguments(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [c for c in args.named_children if c.type != "comment"] if args is not None else []


def unwrap(node: Node) -> Node:
    while node.type in ("parenthesized_expression", "await_expression") and node.named_children:
        node = node.named_children[-1]
    return node


def member_parts(node: Node) -> tuple[Node, str] | None:
    """(object, property name) of `a.b` or `a["b"]`."""
    if node.type == "member_expression":
        obj = node.child_by_field_name("object")
        prop = node.child_by_field_name("property")
        if obj is not None and prop is not None:
            return obj, ts.text(prop)
    if node.type == "subscript_expression":
        obj = node.child_by_field_name("object")
        key = string_value(node.child_by_field_name("index"))
        if obj is not None and key is not None:
            return obj, key
    return None


def is_require(node: Node) -> str | None:
    """The specifier of `require("x")`, else None."""
    node = unwrap(node)
    if node.type != "call_expression" or ts.text(node.child_by_field_name("function")) != "require":
        return None
    args = arguments(node)
    return string_value(args[0]) if len(args) == 1 else None


# --------------------------------------------------------------------------- modules


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
class JsModule:
    sf: ts.SourceFile
    bindings: dict[str, Node | ImportBinding | MemberBinding] = field(default_factory=dict)
    exports: dict[str, Node] = field(default_factory=dict)
    default_export: Node | None = None

    @property
    def rel(self) -> str:
        return self.sf.rel

    @property
    def path(self) -> Path:
        return self.sf.path


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


def index_module(sf: ts.SourceFile) -> JsModule:
    mod = JsModule(sf=sf)
    for node in ts.walk(sf.root):
        if node.type == "variable_declarator":
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is None or value is None:
                continue
            if name.type == "identifier":
                spec = is_require(value)
                mod.bindings.setdefault(ts.text(name), ImportBinding(spec, None) if spec is not None else value)
            elif name.type == "object_pattern":
                _bind_pattern(mod, name, value)
        elif node.type in ("function_declaration", "generator_function_declaration", "class_declaration"):
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
        self._by_path: dict[Path, JsModule] = {}
        if files is None:
            files = iter_js_files(service_root, repo_root, warnings=warnings)
        for sf in files:
            mod = index_module(sf)
            self.modules[sf.rel] = mod
            self._by_path[sf.path] = mod

    def locate(self, module: JsModule, specifier: str) -> JsModule | None:
        if not specifier.startswith("."):
            return None
        base = module.path.parent / specifier
        candidates = [base] + [base.with_name(base.name + s) for s in SUFFIXES] + [base / f"index{s}" for s in SUFFIXES]
        for candidate in candidates:
            resolved = self._by_path.get(Path(os.path.normpath(candidate)))
            if resolved is not None:
                return resolved
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
        return None

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
            obj = self.evaluate(module, parts[0], depth + 1)
            return self.member(obj, parts[1], depth + 1) if obj is not None else None
        return JsValue("node", module=module, node=node)


# --------------------------------------------------------------------------- functions


def function_node(project: JsProject, module: JsModule, node: Node, depth: int = 0) -> tuple[JsModule, Node] | None:
    """The function a handler argument stands for, following names and wrapper calls."""
    if depth > 10:
        return None
    node = unwrap(node)
    if node.type in FUNCTION_TYPES:
        return module, node
    if node.type == "call_expression":
        # asyncHandler(fn), catchAsync(fn): the real handler is the wrapped function.
        args = arguments(node)
        return function_node(project, module, args[-1], depth + 1) if args else None
    value = project.evaluate(module, node)
    if value is None or value.kind != "node" or value.module is None or value.node is None:
        return None
    if value.node == node:
        return None
    return function_node(project, value.module, value.node, depth + 1)


def function_name(fn: Node) -> str:
    name = fn.child_by_field_name("name")
    if name is not None and fn.type != "arrow_function":
        return ts.text(name)
    parent = fn.parent
    if parent is None:
        return "<anonymous>"
    if parent.type == "variable_declarator":
        return ts.text(parent.child_by_field_name("name"))
    if parent.type == "pair":
        key = parent.child_by_field_name("key")
        return string_value(key) or ts.text(key)
    if parent.type == "assignment_expression":
        left = parent.child_by_field_name("left")
        if left is not None and left.type == "member_expression":
            return ts.text(left.child_by_field_name("property"))
        if left is not None and left.type == "identifier":
            return ts.text(left)
    return "<anonymous>"


def _definition_node(fn: Node) -> Node:
    """The whole statement that defines a named handler, or the function itself."""
    parent = fn.parent
    if parent is not None and parent.type == "variable_declarator":
        decl = parent.parent
        if decl is not None and len(decl.named_children) == 1:
            outer = decl.parent
            return outer if outer is not None and outer.type == "export_statement" else decl
        return parent
    if parent is not None and parent.type == "assignment_expression":
        stmt = parent.parent
        return stmt if stmt is not None and stmt.type == "expression_statement" else parent
    if parent is not None and parent.type == "export_statement":
        return parent
    return fn


def handler_for(fn: Node, rel: str) -> Handler:
    body = fn.child_by_field_name("body")
    assert body is not None
    definition = _definition_node(fn)
    return Handler(
        file=rel,
        name=function_name(fn),
        line=definition.start_point[0] + 1,
        start_byte=definition.start_byte,
        end_byte=definition.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
    )


def parameters(fn: Node) -> list[Node]:
    single = fn.child_by_field_name("parameter")
    if single is not None:
        return [single]
    params = fn.child_by_field_name("parameters")
    return [p for p in params.named_children if p.type != "comment"] if params is not None else []


def param_name(node: Node) -> str | None:
    if node.type == "identifier":
        return ts.text(node)
    if node.type == "assignment_pattern":
        left = node.child_by_field_name("left")
        return ts.text(left) if left is not None and left.type == "identifier" else None
    return None


def mask_handler(source: bytes, handler: Handler, statement: str) -> bytes:
    """Replace a handler's body by `{ <statement with {res}> }`, keeping its parameters.

    `statement` holds `{res}` where the response object goes. An arrow function with fewer
    than two parameters gets them added, since it has no `arguments` to fall back on.
    """
    tree = ts.parse(source, LANGUAGE)
    body = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte)
    while body is not None and (body.parent is None or body.parent.type not in FUNCTION_TYPES):
        body = body.parent if body.parent is not None and body.parent.start_byte == body.start_byte else None
    if body is None or body.parent is None:
        raise ValueError(
            f"no function body at bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file}"
        )
    fn = body.parent
    if fn.child_by_field_name("body") != body:
        raise ValueError(f"bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file} are not a body")
    params = parameters(fn)
    res = param_name(params[1]) if len(params) > 1 else None
    edits: list[tuple[int, int, bytes]] = []
    if res is None:
        if fn.type != "arrow_function":
            res = "arguments[1]"
        elif len(params) < 2:
            first = param_name(params[0]) if params else None
            res = "_res"
            new_params = f"({first or '_req'}, {res})" if not params or params[0].type == "identifier" else None
            if new_params is None:
                new_params = f"({ts.text(params[0])}, {res})"
            single = fn.child_by_field_name("parameter")
            target = single if single is not None else fn.child_by_field_name("parameters")
            assert target is not None
            edits.append((target.start_byte, target.end_byte, new_params.encode()))
        else:
            raise ValueError(f"cannot name the response object of {handler.file}:{handler.name}")
    edits.append((body.start_byte, body.end_byte, ("{ " + statement.format(res=res) + " }").encode()))
    masked = source
    for start, end, new in sorted(edits, reverse=True):
        masked = ts.replace(masked, start, end, new)
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- request body


_PRESENCE_OPS = {"!==", "!="}


@dataclass
class _Field:
    name: str
    type: str = "any"
    has_default: bool = False
    optional: bool = False


class _BodyReader:
    def __init__(self, fn: Node) -> None:
        self.fn = fn
        params = parameters(fn)
        self.req = param_name(params[0]) if params else None
        self.aliases: set[str] = set()
        self.vars: dict[str, str] = {}
        self.fields: dict[str, _Field] = {}

    def is_body(self, node: Node) -> bool:
        node = unwrap(node)
        if node.type == "identifier":
            return ts.text(node) in self.aliases
        parts = member_parts(node)
        return parts is not None and parts[1] == "body" and ts.text(parts[0]) == self.req

    def field_of(self, node: Node) -> str | None:
        node = unwrap(node)
        if node.type == "identifier":
            return self.vars.get(ts.text(node))
        parts = member_parts(node)
        if parts is not None and self.is_body(parts[0]):
            return parts[1]
        return None

    def add(self, name: str, *, type_: str | None = None, has_default: bool = False) -> _Field:
        entry = self.fields.setdefault(name, _Field(name))
        if type_ and type_ != "any" and entry.type == "any":
            entry.type = type_
        entry.has_default = entry.has_default or has_default
        return entry

    def run(self) -> list[BodyField]:
        if self.req is None:
            return []
        for node in ts.find_all(self.fn, "variable_declarator"):
            name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
            if name is not None and value is not None and name.type == "identifier" and self.is_body(value):
                self.aliases.add(ts.text(name))
        for node in ts.walk(self.fn):
            if node.type in ("member_expression", "subscript_expression") and (name := self.field_of(node)):
                parent = node.parent
                default = (
                    parent is not None
                    and parent.type == "binary_expression"
                    and ts.text(parent.child_by_field_name("operator")) in ("||", "??")
                    and parent.child_by_field_name("left") == node
                )
                right = parent.child_by_field_name("right") if default and parent is not None else None
                self.add(name, has_default=default, type_=literal_type(right) if right is not None else None)
            elif node.type == "variable_declarator":
                self._declarator(node)
        for node in ts.find_all(self.fn, "binary_expression", "call_expression"):
            self._checks(node)
        return [
            BodyField(name=f.name, type=f.type, required=not (f.has_default or f.optional))
            for f in self.fields.values()
        ]

    def _declarator(self, node: Node) -> None:
        name, value = node.child_by_field_name("name"), node.child_by_field_name("value")
        if name is None or value is None:
            return
        if name.type == "identifier":
            target = unwrap(value)
            if target.type == "binary_expression" and ts.text(target.child_by_field_name("operator")) in ("||", "??"):
                target = target.child_by_field_name("left") or target
            if field_name := self.field_of(target):
                self.vars[ts.text(name)] = field_name
            return
        if name.type != "object_pattern" or not self.is_body(value):
            return
        for prop in name.named_children:
            if prop.type == "shorthand_property_identifier_pattern":
                self.vars[ts.text(prop)] = ts.text(prop)
                self.add(ts.text(prop))
            elif prop.type == "object_assignment_pattern":
                left, right = prop.child_by_field_name("left"), prop.child_by_field_name("right")
                key = ts.text(left)
                self.vars[key] = key
                self.add(key, has_default=True, type_=literal_type(right))
            elif prop.type == "pair_pattern":
                key_node, local = prop.child_by_field_name("key"), prop.child_by_field_name("value")
                key = string_value(key_node) or ts.text(key_node)
                if local is not None and local.type == "identifier":
                    self.vars[ts.text(local)] = key
                elif local is not None and local.type == "assignment_pattern":
                    inner = local.child_by_field_name("left")
                    if inner is not None:
                        self.vars[ts.text(inner)] = key
                    self.add(key, has_default=True, type_=literal_type(local.child_by_field_name("right")))
                    continue
                self.add(key)

    def _checks(self, node: Node) -> None:
        if node.type == "call_expression":
            fn = ts.text(node.child_by_field_name("function"))
            args = arguments(node)
            kinds = {"Number.isInteger": "int", "Array.isArray": "list", "Number.isFinite": "float"}
            if fn in kinds and args and (name := self.field_of(args[0])):
                self.add(name, type_=kinds[fn])
            return
        op = ts.text(node.child_by_field_name("operator"))
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None:
            return
        if left.type == "unary_expression" and ts.text(left.child_by_field_name("operator")) == "typeof":
            name = self.field_of(left.child_by_field_name("argument") or left)
            kind = string_value(right)
            if name and kind:
                if kind == "undefined":
                    if op in _PRESENCE_OPS:
                        self.add(name).optional = True
                    return
                mapped = {"string": "str", "number": "float", "boolean": "bool", "object": "dict"}.get(kind)
                self.add(name, type_=mapped)
            return
        if op in _PRESENCE_OPS and right.type in ("undefined", "null") and (name := self.field_of(left)):
            # `if (title !== undefined)`: the handler copes without the field.
            self.add(name).optional = True
        if op == "in" and self.is_body(right) and (key := string_value(left)):
            self.add(key).optional = True


def body_fields(fn: Node) -> list[BodyField]:
    """Fields of `req.body` a handler reads: `req.body.x`, `req.body["x"]`, destructuring."""
    return _BodyReader(fn).run()


# --------------------------------------------------------------------------- environment


_OPTIONAL_ENV = {"PORT", "NODE_ENV", "HOST", "DEBUG", "TZ", "HOME", "PATH", "LANG"}


def _env_name(node: Node) -> str | None:
    parts = member_parts(node)
    if parts is not None and ts.text(parts[0]) == "process.env":
        return parts[1]
    return None


def _optional_use(node: Node) -> bool:
    """`process.env.X || default`, `if (process.env.X)`, `!process.env.X`, comparisons..."""
    child = node
    for parent in ts.ancestors(node):
        if parent.type in ("binary_expression", "unary_expression", "ternary_expression"):
            if parent.type != "ternary_expression":
                return True
            condition = parent.child_by_field_name("condition")
            return condition is not None and condition.start_byte <= child.start_byte < condition.end_byte
        if parent.type in ("if_statement", "while_statement"):
            condition = parent.child_by_field_name("condition")
            return condition is not None and condition.start_byte <= child.start_byte < condition.end_byte
        if parent.type not in ("parenthesized_expression", "member_expression", "call_expression", "arguments"):
            return False
        child = parent
    return False


def required_env(files: Iterable[ts.SourceFile]) -> dict[str, str]:
    """Environment variables read with no fallback, with dummy values (never real ones)."""
    out: dict[str, str] = {}
    for sf in files:
        for node in ts.walk(sf.root):
            name = None
            if node.type in ("member_expression", "subscript_expression"):
                name = _env_name(node)
                if name is not None and _optional_use(node):
                    name = None
            elif node.type == "variable_declarator":
                pattern, value = node.child_by_field_name("name"), node.child_by_field_name("value")
                if (
                    pattern is not None
                    and value is not None
                    and pattern.type == "object_pattern"
                    and ts.text(value) == "process.env"
                ):
                    for prop in pattern.named_children:
                        key = ts.text(prop)
                        if prop.type == "shorthand_property_identifier_pattern" and key not in _OPTIONAL_ENV:
                            out.setdefault(key, f"dummy-{key}")
            if name and name not in _OPTIONAL_ENV and name.isidentifier():
                out.setdefault(name, f"dummy-{name}")
    return dict(sorted(out.items()))
