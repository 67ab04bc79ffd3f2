"""The logic a group's handlers delegate to: service and repository functions only that group calls.

Handlers are often thin: `create_order(...)` validates and calls `OrderService.place(...)`,
and the real work lives there. Masking only the handler would leave the solution sitting
in the repository, so the inventory records, per API group, the functions its handlers
call that nothing outside the group calls. Masking can then hide those too.

The resolution is by name and deliberately conservative, the same for every language:
- a callee is resolved only when exactly one function or method of that name is defined
  in the service (an ambiguous name is never guessed);
- it is a delegate of a group only when every call site of that name in the service lies
  inside the group's handlers or its delegates already found (a helper shared with another
  group, or called from startup code, is left alone);
- it follows calls to a configurable depth.

Tree-sitter queries (run in C) find definitions and calls, and a byte search skips files
that cannot mention a name, so this stays fast on large repositories.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.models import Endpoint, Handler

log = logging.getLogger(__name__)


def grammar_for_suffix(suffix: str) -> str | None:
    from pipeline.languages import grammar_for_suffix as lookup  # the registry imports this module

    return lookup(suffix)


def suffixes_of(grammar: str) -> tuple[str, ...]:
    from pipeline.languages import LANGUAGES

    return tuple(s for language in LANGUAGES for s, g in language.suffixes.items() if g == grammar)


@cache
def _query(grammar: str, which: int) -> tree_sitter.Query:
    from pipeline.languages import delegate_queries

    return tree_sitter.Query(ts.get_language(grammar), delegate_queries(grammar)[which])


@dataclass(frozen=True)
class _Definition:
    file: str
    name: str
    node_start: int
    node_end: int
    body_start: int
    body_end: int
    line: int

    def handler(self) -> Handler:
        return Handler(
            file=self.file,
            name=self.name,
            line=self.line,
            start_byte=self.node_start,
            end_byte=self.node_end,
            body_start_byte=self.body_start,
            body_end_byte=self.body_end,
        )


def _body_of(definition: tree_sitter.Node) -> tree_sitter.Node | None:
    body = definition.child_by_field_name("body")
    if body is None:
        value = definition.child_by_field_name("value")  # const f = () => {...}
        body = value.child_by_field_name("body") if value is not None else None
    return body


class _ServiceCode:
    """The parsed source files of one service, searched by name."""

    def __init__(self, repo_root: Path, service_root: Path, grammars: set[str]) -> None:
        self.files: list[tuple[ts.SourceFile, str]] = []
        for grammar in sorted(grammars):
            suffixes = suffixes_of(grammar)
            # Through the shared walk: inside explore these trees are already parsed.
            for sf in ts.iter_source_files(service_root, repo_root, suffixes, grammar):
                self.files.append((sf, grammar))
        self._definitions: dict[str, list[_Definition]] = {}
        self._calls: dict[str, list[tuple[str, int]]] = {}

    def _mentioning(self, name: str) -> list[tuple[ts.SourceFile, str]]:
        needle = name.encode()
        return [(f, g) for f, g in self.files if needle in f.source]

    def definitions(self, name: str) -> list[_Definition]:
        if name not in self._definitions:
            found = []
            for sf, grammar in self._mentioning(name):
                for _, captures in tree_sitter.QueryCursor(_query(grammar, 0)).matches(sf.root):
                    node, name_node = captures["def"][0], captures["name"][0]
                    body = _body_of(node)
                    if ts.text(name_node) != name or body is None:
                        continue
                    found.append(
                        _Definition(
                            file=sf.rel,
                            name=name,
                            node_start=node.start_byte,
                            node_end=node.end_byte,
                            body_start=body.start_byte,
                            body_end=body.end_byte,
                            line=node.start_point[0] + 1,
                        )
                    )
            self._definitions[name] = found
        return self._definitions[name]

    def call_sites(self, name: str) -> list[tuple[str, int]]:
        """(file, byte offset) of every call of `name` in the service."""
        if name not in self._calls:
            sites = []
            for sf, grammar in self._mentioning(name):
                for node in tree_sitter.QueryCursor(_query(grammar, 1)).captures(sf.root).get("name", []):
                    if ts.text(node) == name:
                        sites.append((sf.rel, node.start_byte))
            self._calls[name] = sites
        return self._calls[name]

    def callees(self, file: str, start: int, end: int) -> list[str]:
        """Names called inside [start, end) of `file`, in source order, without repeats."""
        for sf, grammar in self.files:
            if sf.rel != file:
                continue
            cursor = tree_sitter.QueryCursor(_query(grammar, 1))
            cursor.set_byte_range(start, end)
            nodes = sorted(cursor.captures(sf.root).get("name", []), key=lambda n: n.start_byte)
            return list(dict.fromkeys(ts.text(n) for n in nodes if start <= n.start_byte < end))
        return []


def _inside(site: tuple[str, int], bodies: list[Handler]) -> bool:
    file, offset = site
    return any(b.file == file and b.body_start_byte <= offset < b.body_end_byte for b in bodies)


def find_delegates(
    repo_root: Path,
    service_root: Path,
    groups: list[list[Endpoint]],
    all_endpoints: list[Endpoint],
    depth: int,
) -> list[list[Handler]]:
    """For each group (its endpoints), the functions only that group's code calls, to `depth`."""
    grammars = {grammar_for_suffix(Path(e.handler.file).suffix) for e in all_endpoints} - {None}
    if depth <= 0 or not grammars:
        return [[] for _ in groups]
    code = _ServiceCode(repo_root, service_root, grammars)  # type: ignore[arg-type]
    handler_spans = {(e.handler.file, e.handler.start_byte, e.handler.end_byte) for e in all_endpoints}
    results: list[list[Handler]] = []
    for endpoints in groups:
        handlers = list({(e.handler.file, e.handler.start_byte): e.handler for e in endpoints}.values())
        found: list[Handler] = []
        frontier = handlers
        for _ in range(depth):
            allowed = handlers + found
            next_frontier: list[Handler] = []
            for caller in frontier:
                for name in code.callees(caller.file, caller.body_start_byte, caller.body_end_byte):
                    definitions = code.definitions(name)
                    if len(definitions) != 1:
                        continue  # undefined here (library call) or ambiguous: never guess
                    definition = definitions[0].handler()
                    span = (definition.file, definition.start_byte, definition.end_byte)
                    if span in handler_spans or any(
                        d.file == definition.file and d.start_byte == definition.start_byte for d in found
                    ):
                        continue
                    if _inside((definition.file, definition.start_byte), allowed):
                        continue  # a closure inside a handler is masked with it
                    sites = code.call_sites(name)
                    if sites and all(_inside(site, allowed) for site in sites):
                        found.append(definition)
                        next_frontier.append(definition)
            frontier = next_frontier
            if not frontier:
                break
        results.append(sorted(found, key=lambda h: (h.file, h.start_byte)))
    return results


#: A function's body replaced by the language's plain "not implemented" (a delegate is
#: not a handler: there is no response object to answer 501 with, so it throws).
_PLAIN_BODIES: dict[str, str] = {
    "python": "raise NotImplementedError",
    "ruby": "raise NotImplementedError",
    "javascript": '{ throw new Error("not implemented"); }',
    "typescript": '{ throw new Error("not implemented"); }',
    "tsx": '{ throw new Error("not implemented"); }',
    "go": '{ panic("not implemented") }',
    "java": '{ throw new UnsupportedOperationException("not implemented"); }',
    "csharp": "{ throw new System.NotImplementedException(); }",
    "php": "{ throw new \\RuntimeException('Not implemented'); }",
    "rust": "{ unimplemented!() }",
}


def mask_plain(source: bytes, symbol: Handler) -> bytes:
    """`source` with the body of the function `symbol` replaced by "not implemented".

    Raises ValueError when the language is unknown or the result no longer parses.
    """
    grammar = grammar_for_suffix(Path(symbol.file).suffix)
    if grammar is None:
        raise ValueError(f"no plain mask for {symbol.file}")
    body = source[symbol.body_start_byte : symbol.body_end_byte]
    if grammar == "csharp" and body.startswith(b"=>"):
        replacement = b"=> throw new System.NotImplementedException()"  # expression-bodied member
    else:
        replacement = _PLAIN_BODIES[grammar].encode()
    masked = ts.replace(source, symbol.body_start_byte, symbol.body_end_byte, replacement)
    return ts.check_reparses(masked, grammar, f"{symbol.file}:{symbol.name}")
