"""Masking a Node handler: its body replaced by a stub, and the tsconfig fix-up a masked TypeScript tree needs.

`mask_handler` rewrites one handler's body into a framework's "not implemented" responder,
keeping its parameters (and TypeScript's type checks); `relax_unused_checks` turns off the
unused-name errors the masked bodies would cause. `JsFramework`, the base class of the
JavaScript/TypeScript frameworks, lives here because masking fix-ups are all it adds to
`Framework`. Masking works on source bytes, never on the interpreter, so it is kept apart
from discovery.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, canned_json
from pipeline.languages.javascript.project import LANGUAGE, TS_SUFFIXES, grammar_of
from pipeline.languages.javascript.request_query import QUERY_READERS
from pipeline.languages.javascript.syntax import FUNCTION_TYPES, param_name, parameters
from pipeline.models import CannedAnswer, Handler

_UNTYPED_RETURNS = {"void", "any", "unknown", "Promise<void>", "Promise<any>", "Promise<unknown>"}


def mask_handler(
    source: bytes,
    handler: Handler,
    statement: str,
    *,
    param_index: int = 1,
    filler_names: tuple[str, ...] = ("_req", "_res"),
    fallback: str | None = None,
) -> bytes:
    """Replace a handler's body by `{ <statement> }`, keeping its parameters.

    `statement` holds `{res}` where the parameter number `param_index` goes (Express's
    `res`, Koa's `ctx`, Fastify's `reply`). A function whose parameter there has no name
    uses `arguments[i]`; an arrow function, which has no `arguments`, gets the missing
    parameters added (named from `filler_names`). When the parameter is destructured in an
    arrow function, `fallback` (a statement without `{res}`) is used, if given.
    TypeScript handlers keep type-checking: the response object is used as `any`, added
    parameters are `any`, and a declared return type is satisfied with `as never`.
    """
    grammar = grammar_of(handler.file)
    tree = ts.parse(source, grammar)
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
    typed = grammar != LANGUAGE
    params = parameters(fn)
    res = param_name(params[param_index]) if len(params) > param_index else None
    edits: list[tuple[int, int, bytes]] = []
    text: str | None = None
    if res is None:
        if fn.type != "arrow_function":
            res = f"arguments[{param_index}]"
        elif len(params) <= param_index:
            names = [ts.text(p) for p in params]
            for index in range(len(params), param_index + 1):
                filler = filler_names[index] if index < len(filler_names) else f"_arg{index}"
                names.append(f"{filler}: any" if typed else filler)
            res = filler_names[param_index] if param_index < len(filler_names) else f"_arg{param_index}"
            single = fn.child_by_field_name("parameter")
            target = single if single is not None else fn.child_by_field_name("parameters")
            assert target is not None
            edits.append((target.start_byte, target.end_byte, ("(" + ", ".join(names) + ")").encode()))
        elif fallback is not None:
            text = fallback
        else:
            raise ValueError(f"cannot name the response object of {handler.file}:{handler.name}")
    if text is None:
        # `{ret}`: "return " in an async function, whose returned promise the framework awaits.
        is_async = any(c.type == "async" for c in fn.children)
        # TypeScript: a response typed by the route (Response<Book>, Fastify's typed reply
        # with the schema's status codes) would reject a 501 error body; `any` accepts it.
        target = f"({res} as any)" if typed else res
        text = statement.format(res=target, ret="return " if is_async else "")
    returns = fn.child_by_field_name("return_type")
    if typed and returns is not None and ts.text(returns).lstrip(":").strip() not in _UNTYPED_RETURNS:
        # `never` is assignable to every declared return type.
        if text.startswith("return ") and text.endswith(";"):
            text = text[:-1] + " as never;"
        elif not text.startswith("throw "):
            text += " return undefined as never;"
    edits.append((body.start_byte, body.end_byte, ("{ " + text + " }").encode()))
    masked = source
    for start, end, new in sorted(edits, reverse=True):
        masked = ts.replace(masked, start, end, new)
    return ts.check_reparses(masked, grammar, f"{handler.file}:{handler.name}")


def canned_literal(answer: CannedAnswer, *, for_format: bool = True) -> str | None:
    """A canned answer's JSON text as a JavaScript string literal (its braces doubled for
    `mask_handler`'s `statement.format` unless `for_format` is off); None for an empty body."""
    text = canned_json(answer)
    if text is None:
        return None
    literal = json.dumps(text)
    return literal.replace("{", "{{").replace("}", "}}") if for_format else literal


def mask_middleware(
    source: bytes, handler: Handler, stub: str, names: tuple[str, ...] = ("req", "res", "next")
) -> bytes:
    """Replace a middleware expression (a static-file server, `express.static(dir)`) by `stub`.

    The handler's body range is the expression itself. `stub` is a function expression
    with `{params}` where its parameters (`names`) go: in TypeScript each is typed `any`,
    so the stub type-checks wherever the middleware did.
    """
    grammar = grammar_of(handler.file)
    tree = ts.parse(source, grammar)
    node = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte, {"call_expression"})
    if node is None:
        raise ValueError(
            f"no middleware call at bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file}"
        )
    params = ", ".join(f"{n}: any" if grammar != LANGUAGE else n for n in names)
    masked = ts.replace(source, node.start_byte, node.end_byte, ("(" + stub.format(params=params) + ")").encode())
    return ts.check_reparses(masked, grammar, f"{handler.file}:{handler.name}")


_UNUSED_CHECKS = re.compile(r'"(noUnusedLocals|noUnusedParameters)"\s*:\s*true')


def relax_unused_checks(tree: Path) -> list[str]:
    """Turn off tsconfig's unused-name errors in a masked tree; returns the files changed.

    Masked bodies leave imports, injected services and parameters unused, and a strict
    tsconfig would then fail the build of the masked service. The solution patch (masked
    tree -> original) restores the flags.
    """
    changed = []
    for config in sorted(tree.rglob("tsconfig*.json")):
        if "node_modules" in config.parts:
            continue
        text = config.read_text(errors="replace")
        relaxed = _UNUSED_CHECKS.sub(r'"\1": false', text)
        if relaxed != text:
            config.write_text(relaxed)
            changed.append(config.relative_to(tree).as_posix())
    return changed


class JsFramework(Framework):
    """What the JavaScript/TypeScript frameworks share beyond discovery: masking fix-ups."""

    language = "javascript"
    query_readers = QUERY_READERS

    def finish_masked_tree(self, tree: Path, masked_files: list[str]) -> None:
        if any(rel.endswith(TS_SUFFIXES) for rel in masked_files):
            relax_unused_checks(tree)
