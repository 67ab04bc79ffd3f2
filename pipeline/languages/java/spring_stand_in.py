"""Spring's canned answers for the strength gate (stages/stand_ins.py): a handler body that
answers a status and a JSON body, or the request's own body, whatever the method returns.

A handler may return anything (a `ResponseEntity<T>`, a DTO, `void`), so the answer is
not a return value: the body writes the servlet response of the current request through
Spring's `RequestContextHolder`, closes it, and returns `null` (or the primitive zero),
which Spring cannot add to once the response is complete. Every type is named by its full
name, so no import is added and no other handler's byte offsets move; the servlet types
are reached only through method calls, so javax and jakarta servlets both compile.
"""

from __future__ import annotations

import json

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.java.discovery import LANGUAGE
from pipeline.models import CannedAnswer, Handler

_ATTRIBUTES = "org.springframework.web.context.request.ServletRequestAttributes"
_HOLDER = "org.springframework.web.context.request.RequestContextHolder"
_PRIMITIVE_ZERO = {
    "boolean": "false",
    "byte": "0",
    "short": "0",
    "int": "0",
    "long": "0L",
    "float": "0f",
    "double": "0d",
    "char": "'\\0'",
}


def java_string(text: str) -> str:
    """A Java string literal of ASCII text (JSON's escapes are a subset of Java's)."""
    return json.dumps(text)


def _method(source: bytes, handler: Handler) -> tree_sitter.Node:
    tree = ts.parse(source, LANGUAGE)
    body = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte, {"block"})
    if body is None or body.parent is None or body.parent.type != "method_declaration":
        raise ValueError(f"no method body at bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file}")
    return body.parent


def _request_body(method: tree_sitter.Node) -> tuple[str, str] | None:
    """(name, type) of the parameter annotated @RequestBody, if any."""
    params = method.child_by_field_name("parameters")
    for param in params.named_children if params is not None else []:
        modifiers = next((c for c in param.children if c.type == "modifiers"), None)
        annotations = list(modifiers.named_children) if modifiers is not None else []
        if any(ts.text(a.child_by_field_name("name")).split(".")[-1] == "RequestBody" for a in annotations):
            return ts.text(param.child_by_field_name("name")), ts.text(param.child_by_field_name("type"))
    return None


def canned_statement(source: bytes, handler: Handler, answer: CannedAnswer) -> str:
    """The statements of a body that answers `answer` (see the module's docstring)."""
    method = _method(source, handler)
    returns = ts.text(method.child_by_field_name("type"))
    body: str | None = None
    if answer.echo and (param := _request_body(method)) is not None:
        # Spring has read the body into the parameter already: it is written back as JSON.
        name, type_name = param
        body = (
            name
            if type_name == "String"
            else (f"new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString({name})")
        )
    elif answer.json_body is not None and not answer.echo:
        body = java_string(json.dumps(answer.json_body, ensure_ascii=True))
    response = "abcAttributes.getResponse()"
    lines = [
        f"{_ATTRIBUTES} abcAttributes = ({_ATTRIBUTES}) {_HOLDER}.currentRequestAttributes();",
        f"{response}.setStatus({answer.status});",
    ]
    if body is not None:
        lines += [
            f'{response}.setContentType("application/json");',
            f'{response}.setCharacterEncoding("UTF-8");',
            f"{response}.getWriter().write({body});",
        ]
    # Closed here: the answer is complete, and what Spring does with the returned value
    # (a primitive's zero is still written by its converter) cannot add to it.
    lines.append(f"{response}.getWriter().close();")
    statement = (
        "try { " + " ".join(lines) + " } catch (java.io.IOException abcError) {"
        " throw new java.io.UncheckedIOException(abcError); }"
    )
    if returns != "void":
        statement += f" return {_PRIMITIVE_ZERO.get(returns, 'null')};"
    return statement
