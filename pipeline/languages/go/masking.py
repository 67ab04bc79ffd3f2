"""Masking Go handlers: a body that answers 501, and blanking the imports that then go unused.

A framework's `Responder` says which parameter answers and with what statement. The
handler's body (or, for a factory, the closure it returns) is replaced, a blank parameter
is given a name, locals only a removed closure used are kept alive, and the imports the
masked file no longer uses are overwritten with spaces, because Go refuses unused imports
and the other handlers' byte offsets must stay valid. It edits source bytes and needs only
the syntax helpers, not the project model or the interpreter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from pipeline.languages import treesitter as ts
from pipeline.languages.go.syntax import (
    DECLARATION_TYPES,
    FUNCTION_TYPES,
    LANGUAGE,
    NET_HTTP,
    Node,
    _declared_names,
    _inside,
    guess_package_name,
    imports_of,
    parameters,
    qualifiers,
    returned_literal,
)
from pipeline.models import CannedAnswer, Handler


def go_string(text: str) -> str:
    """A Go interpreted string literal of ASCII text (JSON's escapes are a subset of Go's)."""
    return json.dumps(text)


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
    #: the strength gate's canned answers (stages/stand_ins.py), with {status}, and {body}
    #: for the body's Go string literal: an empty body, a JSON body, and the request's own
    #: body echoed back ({r}: the *http.Request parameter; None: the framework cannot)
    canned_empty: str = ""
    canned_json: str = ""
    canned_echo: str | None = None
    #: the canned answer's body literal, put in last (it may hold any text)
    body: str = ""

    def answering(self, answer: CannedAnswer) -> Responder:
        """This responder with its statement answering `answer` instead of 501."""
        if answer.echo and self.canned_echo is not None:
            template, body = self.canned_echo, ""
        elif answer.json_body is not None:
            template, body = self.canned_json, go_string(json.dumps(answer.json_body, ensure_ascii=True))
        else:
            template, body = self.canned_empty, ""
        statement = template.replace("{status}", str(answer.status))
        # Echo needs the request: without a named one it answers the status alone.
        fallback = self.canned_empty.replace("{status}", str(answer.status))
        return replace(self, statement=statement, without_http=fallback if "{r}" in statement else None, body=body)


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
    request = next(
        (n for n, typ in params if n not in (None, "_") and typ is not None and ts.text(typ).endswith("http.Request")),
        None,
    )
    template: str | None = responder.statement
    if ("{http}" in responder.statement and http_name is None) or ("{r}" in responder.statement and request is None):
        template = responder.without_http
    answer = None
    if name is not None and template is not None:
        # Placeholders by replacement, not str.format: a canned body may hold any braces.
        answer = template.replace("{p}", name).replace("{http}", http_name or "").replace("{r}", request or "")
        answer = answer.replace("{body}", responder.body)
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
