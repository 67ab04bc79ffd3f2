"""The JSON request body a PHP handler reads, field by field, from the handler's code.

The body arrives as an array: Slim's `$request->getParsedBody()` (or `json_decode` of
`$request->getBody()`), Symfony's `$request->toArray()` (or `json_decode` of
`$request->getContent()`), read as `$data['title']`; or one field at a time: Slim's
`getParsedBodyParam('title')`, Laravel's `$request->input('title')` / `json('title')` /
`$request->validate(['title' => 'required|string'])`. A field's type comes from its cast
(`(int) $data['n']`) or rule, and it is required when the handler refuses it empty
(`$title === ''`, `empty($title)`) or a rule says `required`. Test generation sends these
fields, so a create makes something the tests follow instead of only recording a 400.
"""

from __future__ import annotations

import re

from pipeline.models import BodyField

#: The methods whose requests test generation sends a body with.
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

#: `$data = ...` where `...` reads the whole body as an array.
_WHOLE_BODY = re.compile(
    r"\$(\w+)\s*=\s*[^;]*?(?:getParsedBody\s*\(|->toArray\s*\(|json_decode\s*\([^;]*(?:getBody|getContent|php://input))"
)
_ONE_FIELD = re.compile(
    r"\$(?:request|req)->(?:getParsedBodyParam|input|json|post|request->get)\s*\(\s*['\"]([\w.-]+)['\"]"
)
_RULES = re.compile(r"->validate\s*\(\s*\[(.*?)\]\s*\)", re.S)
_RULE = re.compile(r"['\"]([\w.-]+)['\"]\s*=>\s*(?:['\"]([^'\"]*)['\"]|\[([^\]]*)\])")
_CASTS = {"int": "int", "integer": "int", "float": "float", "double": "float", "bool": "bool", "boolean": "bool"}
_CASTS |= {"string": "str", "array": "list"}


def json_body_fields(handler_text: str) -> list[BodyField]:
    """The fields the handler reads from a JSON body, in the order it reads them."""
    fields: dict[str, BodyField] = {}
    names = [m.group(1) for m in _WHOLE_BODY.finditer(handler_text)]
    for var in names:
        for match in re.finditer(rf"\${var}\s*\[\s*['\"]([\w.-]+)['\"]\s*\]", handler_text):
            fields.setdefault(match.group(1), _field(handler_text, match.group(1), match.start()))
    for match in _ONE_FIELD.finditer(handler_text):
        if match.group(1) not in fields:
            fields[match.group(1)] = _field(handler_text, match.group(1), match.start())
    for rules in _RULES.finditer(handler_text):
        for rule in _RULE.finditer(rules.group(1)):
            text = rule.group(2) if rule.group(2) is not None else rule.group(3)
            parts = {p.strip(" '\"") for p in re.split(r"[|,]", text or "")}
            kind = next((_CASTS[p] for p in parts if p in _CASTS), "str")
            fields[rule.group(1)] = BodyField(name=rule.group(1), type=kind, required="required" in parts)
    return list(fields.values())


def _field(text: str, name: str, at: int) -> BodyField:
    """The field read at `at`: its type from the cast just before it, required when it (or
    the variable its statement puts it in) is refused empty."""
    start = text.rfind(";", 0, at) + 1
    end = text.find(";", at)
    end = end if end != -1 else len(text)
    cast = re.search(r"\(\s*(int|integer|float|double|bool|boolean|string|array)\s*\)[\s(]*$", text[start:at])
    kind = _CASTS[cast.group(1)] if cast else "str"
    key = rf"\$\w+\s*\[\s*['\"]{re.escape(name)}['\"]\s*\]"
    refused = [rf"empty\s*\(\s*{key}", rf"!\s*isset\s*\(\s*{key}"]
    assigned = re.match(r"\s*\$(\w+)\s*=", text[start:end])
    if assigned is not None:
        var = rf"\${re.escape(assigned.group(1))}"
        empty = r"(?:''|\"\"|null)"
        refused += [
            rf"{var}\s*===?\s*{empty}",
            rf"{empty}\s*===?\s*{var}",
            rf"empty\s*\(\s*{var}\s*\)",
            rf"!\s*{var}\b",
        ]
    required = any(re.search(pattern, text) for pattern in refused)
    return BodyField(name=name, type=kind, required=required)
