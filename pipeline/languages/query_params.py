"""The query string parameters a handler reads, from the way its framework spells a read.

A handler that needs `?page=` or `?q=` answers 400 (or a default) to a request without
them, so tests recorded without them check only the refusal, which a masked handler's
error answer often matches. Each framework module lists the spellings of a read as
`QueryReader`s (Express's `req.query.page`, Flask's `request.args.get("page", 1)`, Gin's
`c.DefaultQuery("page", "1")`); the readers run over the handler's own source. Frameworks
that declare their parameters (Spring's `@RequestParam`, FastAPI's signature) read them
from the declaration instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.languages.text import split_top_level
from pipeline.models import BodyField


@dataclass(frozen=True)
class QueryReader:
    """One spelling of a query read. The pattern's groups: `name` (the parameter), and
    optionally `default` (matched when the read has a fallback: the parameter is optional),
    `number` / `number2` (matched when the read parses it as a number) and `names` (a destructuring
    list, `{ page, q = "" }`, read name by name with `default` meaning `=`)."""

    pattern: re.Pattern[str]


def reader(regex: str) -> QueryReader:
    return QueryReader(re.compile(regex))


_DESTRUCTURED = re.compile(r"^\s*\.{0,3}\s*([A-Za-z_$][\w$]*)\s*(?::\s*[A-Za-z_$][\w$]*\s*)?(=)?")


def read(source: str, readers: Iterable[QueryReader]) -> list[BodyField]:
    """The parameters `source` (a handler) reads, in order of first appearance; a parameter
    read once with and once without a fallback counts as required."""
    found: dict[str, tuple[int, BodyField]] = {}

    def add(position: int, name: str, optional: bool, number: bool) -> None:
        if not name or not re.fullmatch(r"[\w.\-\[\]]+", name):
            return
        kind = "int" if number else "any"
        if name in found:
            first, known = found[name]
            found[name] = (
                first,
                BodyField(
                    name=name,
                    type="int" if known.type == "int" or number else "any",
                    required=known.required or not optional,
                ),
            )
        else:
            found[name] = (position, BodyField(name=name, type=kind, required=not optional))

    for query_reader in readers:
        for match in query_reader.pattern.finditer(source):
            groups = match.groupdict()
            # (a pattern with two places for a sign names the second `number2`)
            number = any(value for key, value in groups.items() if key.startswith("number"))
            if groups.get("names") is not None:
                for part in split_top_level(groups["names"]):
                    if part.strip() and (m := _DESTRUCTURED.match(part)) and not part.strip().startswith("..."):
                        add(match.start(), m.group(1), bool(m.group(2)), number)
                continue
            add(match.start(), groups.get("name") or "", bool(groups.get("default")), number)
    return [field for _, field in sorted(found.values(), key=lambda item: item[0])]
