"""A small static evaluator of Rust function bodies, the base the framework modules subclass.

`Interpreter` walks function bodies statically (let bindings, assignments, calls into the
crate's own functions with their arguments bound) and asks a framework subclass what the
framework's own calls and builder methods produce (`call_hook`, `method_hook`,
`macro_hook`). Its values (`FnRef`, `Closure`) and scopes (`Env`, `Frame`) are here too.
It is separate from the project model it reads names from (`project.py`) and from what
the frameworks do with the values it finds (routes, masking).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.rust.cargo import cfg_active
from pipeline.languages.rust.project import (
    LANGUAGE,
    ConstT,
    FnT,
    RustModule,
    RustProject,
    Target,
    TypeT,
    path_segments,
    preceding_attributes,
    string_value,
    type_name,
)

log = logging.getLogger(__name__)

Node = tree_sitter.Node


# --------------------------------------------------------------------------- evaluator


@dataclass(eq=False)
class FnRef:
    """A function of the project used as a value (a handler, a config function, ...)."""

    module: RustModule
    node: Node

    @property
    def name(self) -> str:
        return ts.text(self.node.child_by_field_name("name"))


@dataclass(eq=False)
class Closure:
    frame: Frame
    node: Node


@dataclass(eq=False)
class Env:
    values: dict[str, Any] = field(default_factory=dict)
    parent: Env | None = None
    #: `use` declarations written inside a function body
    uses: dict[str, list[str]] = field(default_factory=dict)

    def find(self, name: str) -> Env | None:
        env: Env | None = self
        while env is not None:
            if name in env.values:
                return env
            env = env.parent
        return None

    def use_path(self, name: str) -> list[str] | None:
        env: Env | None = self
        while env is not None:
            if name in env.uses:
                return env.uses[name]
            env = env.parent
        return None


@dataclass(eq=False)
class Frame:
    module: RustModule
    env: Env


#: macros whose arguments never build a router or serve one (formatting, logging, asserts)
_QUIET_MACROS = frozenset(
    {
        "println",
        "print",
        "eprintln",
        "eprint",
        "write",
        "writeln",
        "panic",
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "trace",
        "debug",
        "info",
        "warn",
        "error",
        "event",
        "span",
        "info_span",
        "debug_span",
        "json",
        "env",
        "include_str",
        "include_bytes",
        "concat",
        "stringify",
        "matches",
        "todo",
        "unimplemented",
        "unreachable",
        "sql",
        "query",
        "query_as",
        "html",
    }
)


class _Unhandled:
    pass


UNHANDLED: Any = _Unhandled()


class Interpreter:
    """A static walk over function bodies that follows values through the project's own code.

    Subclasses give meaning to the framework's calls (`call_hook`) and builder methods
    (`method_hook`); everything unknown evaluates to None. A step budget and a recursion
    guard keep the walk linear in the code it reaches.
    """

    MAX_DEPTH = 32
    BUDGET = 100_000

    def __init__(self, project: RustProject) -> None:
        self.project = project
        self.steps = 0
        self.stack: list[Node] = []
        self._budget_warned = False
        self._memo: dict[tuple[str, int, tuple[Any, ...]], Any] = {}
        self._keep: list[list[Any]] = []
        #: trees of re-parsed macro arguments, kept alive while their nodes are in use
        self._synthetic: list[tree_sitter.Tree] = []

    # hooks ----------------------------------------------------------------

    def call_hook(self, frame: Frame, call: Node, target: Target | None, args: list[Node]) -> Any:
        return UNHANDLED

    def method_hook(self, frame: Frame, call: Node, receiver: Any, name: str, args: list[Node]) -> Any:
        return UNHANDLED

    def macro_hook(self, frame: Frame, node: Node, name: str) -> Any:
        return UNHANDLED

    def outside_call(self, frame: Frame, call: Node, segments: list[str], values: list[Any]) -> None:
        """Seen after the arguments of a call to something outside the project were evaluated."""

    def bound(self, value: Any) -> None:
        """Seen for every value a `let` binds."""

    # calls ------------------------------------------------------------------

    def run_fn(self, fn: FnRef, args: list[Any]) -> Any:
        """Evaluate a function of the project with its (non-self) parameters bound to `args`.

        A call with the same arguments (same objects, same strings) is evaluated once: its
        side effects already happened, and helpers called from many places stay linear.
        """
        body = fn.node.child_by_field_name("body")
        if body is None or len(self.stack) >= self.MAX_DEPTH or any(n == fn.node for n in self.stack):
            return None
        key = (fn.module.rel, fn.node.start_byte, tuple(a if a is None or isinstance(a, str) else id(a) for a in args))
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None
        self._keep.append(args)  # the ids in the key stay valid while the objects live
        result = self._run_fn(fn, body, args)
        self._memo[key] = result
        return result

    def _run_fn(self, fn: FnRef, body: Node, args: list[Any]) -> Any:
        env = Env()
        params = fn.node.child_by_field_name("parameters")
        names = [_param_name(p) for p in (params.named_children if params is not None else []) if p.type == "parameter"]
        for index, name in enumerate(names):
            if name:
                # Unknown arguments still shadow outer names of the same spelling.
                env.values[name] = args[index] if index < len(args) else None
        self.stack.append(fn.node)
        try:
            return self.eval_block(Frame(fn.module, env), body)
        finally:
            self.stack.pop()

    def call_value(self, value: Any, args: list[Any]) -> Any:
        if isinstance(value, FnRef):
            return self.run_fn(value, args)
        if isinstance(value, Closure):
            return self.run_closure(value, args)
        return None

    def run_closure(self, closure: Closure, args: list[Any]) -> Any:
        if len(self.stack) >= self.MAX_DEPTH or any(n == closure.node for n in self.stack):
            return None
        env = Env(parent=closure.frame.env)
        params = closure.node.child_by_field_name("parameters")
        names: list[str | None] = []
        for p in params.named_children if params is not None else []:
            names.append(ts.text(p) if p.type == "identifier" else _param_name(p) if p.type == "parameter" else None)
        for index, name in enumerate(names):
            if name:
                env.values[name] = args[index] if index < len(args) else None
        body = closure.node.child_by_field_name("body")
        self.stack.append(closure.node)
        try:
            return self.eval(Frame(closure.frame.module, env), body)
        finally:
            self.stack.pop()

    # expressions --------------------------------------------------------------

    def name_value(self, frame: Frame, segments: list[str], node: Node) -> tuple[Any, Target | None]:
        """(value, target) of a path expression: a local, a function, a constant, or an outside name."""
        if len(segments) == 1:
            env = frame.env.find(segments[0])
            if env is not None:
                return env.values[segments[0]], None
        target = self.resolve(frame, segments, node)
        if isinstance(target, FnT):
            return FnRef(target.module, target.node), target
        if isinstance(target, ConstT):
            value_node = target.node.child_by_field_name("value")
            if value_node is not None and len(self.stack) < self.MAX_DEPTH:
                return self.eval(Frame(target.module, Env()), value_node), target
        return None, target

    def resolve(self, frame: Frame, segments: list[str], node: Node) -> Target | None:
        if segments[0] == "Self":
            owner = enclosing_impl_type(node)
            if owner is None:
                return None
            if len(segments) == 1:
                return TypeT(frame.module.crate, owner)
            method = frame.module.crate.impls.get(owner, {}).get(segments[1])
            return FnT(*method) if method is not None and len(segments) == 2 else None
        local = frame.env.use_path(segments[0])
        if local is not None:
            segments = [*local, *segments[1:]]
        return self.project.resolve(frame.module, segments, value=True)

    def eval(self, frame: Frame, node: Node | None) -> Any:
        if node is None:
            return None
        self.steps += 1
        if self.steps > self.BUDGET:
            if not self._budget_warned:
                self._budget_warned = True
                log.warning("%s: static evaluation budget exhausted; routes may be missing", frame.module.rel)
            return None
        kind = node.type
        if kind in ("string_literal", "raw_string_literal"):
            return string_value(node)
        if kind in ("identifier", "scoped_identifier", "generic_function", "self"):
            segs = path_segments(node)
            return self.name_value(frame, segs, node)[0] if segs else None
        if kind in ("parenthesized_expression", "await_expression", "try_expression", "reference_expression"):
            inner = node.child_by_field_name("value") or (node.named_children[0] if node.named_children else None)
            return self.eval(frame, inner)
        if kind == "type_cast_expression":
            return self.eval(frame, node.child_by_field_name("value"))
        if kind == "closure_expression":
            return Closure(frame, node)
        if kind in ("block", "async_block", "unsafe_block", "const_block"):
            block = node if kind == "block" else next((c for c in node.named_children if c.type == "block"), None)
            return self.eval_block(frame, block) if block is not None else None
        if kind == "call_expression":
            return self.eval_call(frame, node)
        if kind == "macro_invocation":
            return self.eval_macro(frame, node)
        if kind == "tuple_expression":
            return tuple(self.eval(frame, c) for c in node.named_children if c.type != "attribute_item")
        if kind == "array_expression":
            return [self.eval(frame, c) for c in node.named_children if c.type != "attribute_item"]
        if kind == "if_expression":
            found = None
            for child in (node.child_by_field_name("consequence"), node.child_by_field_name("alternative")):
                value = self.eval(frame, child)
                found = found if found is not None else value
            return found
        if kind == "else_clause":
            return self.eval(frame, node.named_children[-1] if node.named_children else None)
        if kind == "match_expression":
            self.eval(frame, node.child_by_field_name("value"))
            found = None
            body = node.child_by_field_name("body")
            for arm in body.named_children if body is not None else []:
                value = self.eval(frame, arm.child_by_field_name("value"))
                found = found if found is not None else value
            return found
        if kind == "assignment_expression":
            self._assign(frame, node)
            return None
        if kind in ("for_expression", "while_expression", "loop_expression"):
            self.eval(frame, node.child_by_field_name("body"))
            return None
        if kind == "return_expression":
            return self.eval(frame, node.named_children[0] if node.named_children else None)
        return None

    def _bind(self, env: Env, pattern: Node | None, value: Any) -> None:
        """`let x = v;`, `let mut x = v;`, `let (a, b) = (v1, v2);`."""
        if pattern is None:
            return
        if pattern.type == "mut_pattern":
            pattern = next((c for c in pattern.named_children if c.type == "identifier"), None)
        if pattern is not None and pattern.type == "identifier":
            env.values[ts.text(pattern)] = value
            self.bound(value)
        elif pattern is not None and pattern.type == "tuple_pattern" and isinstance(value, tuple):
            for sub, item in zip(pattern.named_children, value, strict=False):
                self._bind(env, sub, item)

    def _assign(self, frame: Frame, node: Node) -> None:
        left = node.child_by_field_name("left")
        value = self.eval(frame, node.child_by_field_name("right"))
        if left is not None and left.type == "identifier":
            env = frame.env.find(ts.text(left))
            (env or frame.env).values[ts.text(left)] = value

    def eval_block(self, frame: Frame, block: Node) -> Any:
        env = Env(parent=frame.env)
        inner = Frame(frame.module, env)
        # Items and `use` inside a body are visible in the whole block.
        for child in block.named_children:
            if child.type == "function_item":
                env.values.setdefault(ts.text(child.child_by_field_name("name")), FnRef(frame.module, child))
            elif child.type == "use_declaration":
                RustProject._add_uses(env.uses, [], child)
        result = None
        inactive = False
        for child in block.named_children:
            kind = child.type
            if kind == "attribute_item":
                # `#[cfg(feature = "commerce")] let r = ...;`: not compiled without the feature.
                inactive = inactive or not cfg_active(ts.text(child), self.project.features)
                continue
            if inactive:
                inactive = False
                continue
            if kind == "let_declaration":
                value = self.eval(inner, child.child_by_field_name("value"))
                self._bind(env, child.child_by_field_name("pattern"), value)
                alternative = child.child_by_field_name("alternative")
                if alternative is not None:
                    self.eval(inner, alternative)
            elif kind == "expression_statement":
                expr = child.named_children[0] if child.named_children else None
                if expr is not None and expr.type == "return_expression":
                    return self.eval(inner, expr)
                self.eval(inner, expr)
            elif kind.endswith(("_item", "comment")) or kind in ("use_declaration", "empty_statement"):
                continue
            else:
                result = self.eval(inner, child)
        return result

    def eval_call(self, frame: Frame, call: Node) -> Any:
        parts = _method_parts(call)
        if parts is None:
            return self._plain_call(frame, call)
        # Unroll `a.b().c().d()`: a long builder chain must not recurse once per link.
        chain: list[tuple[Node, tuple[Node, str, list[Node]]]] = []
        node = call
        while parts is not None:
            chain.append((node, parts))
            if parts[0].type != "call_expression":
                break
            node = parts[0]
            parts = _method_parts(node)
        value = self._plain_call(frame, node) if parts is None else self.eval(frame, chain[-1][1][0])
        for link, (_, name, args) in reversed(chain):
            value = self._method_call(frame, link, value, name, args)
        return value

    def _method_call(self, frame: Frame, call: Node, receiver: Any, name: str, args: list[Node]) -> Any:
        result = self.method_hook(frame, call, receiver, name, args)
        if result is not UNHANDLED:
            return result
        if name in ("clone", "into", "to_owned", "to_string", "as_deref", "unwrap", "expect", "boxed", "into_inner"):
            return receiver
        if name in ("unwrap_or", "unwrap_or_else", "unwrap_or_default") and receiver is not None:
            return receiver
        if name in ("unwrap_or", "unwrap_or_else") and args:
            # A value the configuration may set (read from a struct field, unknown here) with
            # the program's own default: what the service uses when nothing configures it.
            default = self.eval(frame, args[0])
            return self.call_value(default, []) if name == "unwrap_or_else" else default
        values = [self.eval(frame, a) for a in args]
        if receiver is None:
            # `state.router()`: follow a method only when the project defines exactly one of that name.
            candidates = self.project.methods_named(name)
            if len(candidates) == 1:
                return self.run_fn(FnRef(*candidates[0]), values)
        return None

    def _plain_call(self, frame: Frame, call: Node) -> Any:
        function = call.child_by_field_name("function")
        args = call_args(call)
        if function is None:
            return None
        segs = path_segments(function)
        if segs is None:
            callee = self.eval(frame, function)
            return self.call_value(callee, [self.eval(frame, a) for a in args])
        local = frame.env.find(segs[0]) if len(segs) == 1 else None
        if local is not None:
            return self.call_value(local.values[segs[0]], [self.eval(frame, a) for a in args])
        target = self.resolve(frame, segs, function)
        result = self.call_hook(frame, call, target, args)
        if result is not UNHANDLED:
            return result
        values = [self.eval(frame, a) for a in args]
        if isinstance(target, FnT):
            return self.run_fn(FnRef(target.module, target.node), values)
        self.outside_call(frame, call, segs, values)
        for value in values:
            # `thread::spawn(move || ...)`, `block_on(|| ...)`: a closure without parameters
            # handed to outside code is run by it, so what it builds or serves counts.
            if isinstance(value, Closure) and _closure_arity(value.node) == 0:
                self.run_closure(value, [])
        last = segs[-1]
        if last in ("Ok", "Some", "Box", "from") or segs[-2:] in (["Box", "new"], ["Arc", "new"], ["Rc", "new"]):
            return values[0] if values else None
        return None

    def eval_macro(self, frame: Frame, node: Node) -> Any:
        name = ts.text(node.child_by_field_name("macro")).split("::")[-1]
        result = self.macro_hook(frame, node, name)
        if result is not UNHANDLED:
            return result
        if name == "format":
            return self._format(frame, node)
        if name in _QUIET_MACROS:
            return None
        return self._macro_arguments(frame, node)

    def _macro_arguments(self, frame: Frame, node: Node) -> Any:
        """`tokio::join!(a(), b())`, `vec![...]`: the tokens re-read as expressions and evaluated.

        The tokens are re-parsed in a copy of the file blanked up to them, so every node keeps
        its byte offsets; a handler found there can still not be masked (the real tree only
        has tokens), which discovery checks.
        """
        tokens = next((c for c in node.named_children if c.type == "token_tree"), None)
        if tokens is None or tokens.end_byte - tokens.start_byte < 3:
            return None
        source = frame.module.sf.source
        opener = source[tokens.start_byte : tokens.start_byte + 1]
        wrapper = b"fn _m(){_f" if opener == b"(" else b"fn _m(){let _=" if opener == b"[" else None
        start = tokens.start_byte
        if wrapper is None or start < len(wrapper):
            return None
        head = re.sub(rb"[^\n]", b" ", source[: start - len(wrapper)]) + wrapper
        synthetic = head + source[start : tokens.end_byte] + b";}"
        tree = ts.parse(synthetic, LANGUAGE)
        if ts.has_error(tree.root_node):
            return None
        self._synthetic.append(tree)
        found = ts.find_exact(tree.root_node, start, tokens.end_byte, {"arguments", "array_expression"})
        if found is None:
            return None
        values = [self.eval(frame, c) for c in found.named_children if "comment" not in c.type]
        return tuple(values) if opener == b"(" else values

    def _format(self, frame: Frame, node: Node) -> str | None:
        """`format!("{}/users", PREFIX)` when every argument is a known string."""
        tokens = next((c for c in node.named_children if c.type == "token_tree"), None)
        if tokens is None:
            return None
        items = [c for c in tokens.named_children]
        if not items or items[0].type not in ("string_literal", "raw_string_literal"):
            return None
        template = string_value(items[0]) or ""
        positional: list[str] = []
        for item in items[1:]:
            if item.type in ("string_literal", "raw_string_literal"):
                value = string_value(item)
            elif item.type == "identifier":
                value = self.name_value(frame, [ts.text(item)], item)[0]
            else:
                return None
            if not isinstance(value, str):
                return None
            positional.append(value)
        out: list[str] = []
        index = 0
        for piece in re.split(r"(\{\{|\}\}|\{[^{}]*\})", template):
            if piece in ("{{", "}}"):
                out.append(piece[0])
            elif piece.startswith("{") and piece.endswith("}"):
                inner = piece[1:-1].split(":")[0]
                if inner == "":
                    if index >= len(positional):
                        return None
                    out.append(positional[index])
                    index += 1
                elif inner.isdigit() and int(inner) < len(positional):
                    out.append(positional[int(inner)])
                else:
                    value = self.name_value(frame, [inner], node)[0] if inner.isidentifier() else None
                    if not isinstance(value, str):
                        return None
                    out.append(value)
            else:
                out.append(piece)
        return "".join(out)


def _param_name(param: Node) -> str | None:
    pattern = param.child_by_field_name("pattern")
    if pattern is None:
        return None
    if pattern.type == "identifier":
        return ts.text(pattern)
    if pattern.type == "mut_pattern":
        inner = next((c for c in pattern.named_children if c.type == "identifier"), None)
        return ts.text(inner) if inner is not None else None
    return None


def _method_parts(call: Node) -> tuple[Node, str, list[Node]] | None:
    """(receiver, method name, arguments) of `x.m(...)` / `x.m::<T>(...)`, else None."""
    function = call.child_by_field_name("function")
    if function is not None and function.type == "generic_function":
        function = function.child_by_field_name("function")
    if function is None or function.type != "field_expression":
        return None
    receiver = function.child_by_field_name("value")
    if receiver is None:
        return None
    return receiver, ts.text(function.child_by_field_name("field")), call_args(call)


def _closure_arity(node: Node) -> int:
    params = node.child_by_field_name("parameters")
    return len(params.named_children) if params is not None else 0


def entry_function(root: RustModule) -> Node | None:
    """The function a binary starts in: Shuttle's `#[shuttle_runtime::main]` one, else `main`."""
    for fn in root.fns.values():
        for attr in preceding_attributes(fn):
            segs = path_segments(attr.named_children[0]) if attr.named_children else None
            if segs and segs[-1] == "main" and "shuttle_runtime" in segs:
                return fn
    return root.fns.get("main")


def run_main(interpreter: Interpreter, crate_dir: Path) -> tuple[bool, Any]:
    """Evaluate the binary's entry function: (whether there was one, the value it returned).

    The caller reads what the framework hooks recorded; the returned value matters to
    runtimes (Shuttle, lambda) where main hands the app back instead of serving it.
    """
    binary = interpreter.project.bin
    main = entry_function(binary.root) if binary is not None else None
    if binary is None or main is None:
        log.warning("%s: no main function found; no routes discovered", crate_dir)
        return False, None
    try:
        return True, interpreter.run_fn(FnRef(binary.root, main), [])
    except RecursionError:
        log.warning("%s: code nested too deeply to evaluate; routes may be missing", crate_dir)
        return True, None


def enclosing_impl_type(node: Node) -> str | None:
    for parent in ts.ancestors(node):
        if parent.type == "impl_item":
            return type_name(parent.child_by_field_name("type"))
    return None


def call_args(call: Node) -> list[Node]:
    args = call.child_by_field_name("arguments")
    return [a for a in (args.named_children if args is not None else []) if "comment" not in a.type]
