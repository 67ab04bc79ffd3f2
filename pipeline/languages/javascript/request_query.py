"""How a Node handler reads a query parameter: `req.query.page`, `ctx.query["q"]`,
`const { page = 1 } = req.query`, Nest's `@Query("q")`.

A fallback (`|| 1`, `?? ""`, a destructuring default) makes the parameter optional; a
`parseInt(...)` / `Number(...)` around the read makes it a number. Shared by every Node
framework (Express, Koa and Fastify spell the read alike; the object's name varies).
"""

from __future__ import annotations

from pipeline.languages.query_params import reader

_OBJECT = r"\b[A-Za-z_$][\w$]*(?:\.request)?\.query"
_NUMBER = r"(?P<number>\b(?:parseInt|parseFloat|Number)\(\s*|\+)?"
_FALLBACK = r"(?P<default>\s*(?:\|\||\?\?))?"

QUERY_READERS = (
    # req.query.page, parseInt(req.query.page) || 1 (not a method call: req.query.hasOwnProperty(...))
    reader(_NUMBER + _OBJECT + r"\.(?P<name>[A-Za-z_$][\w$]*)\b(?!\s*\()" + r"\)?" + _FALLBACK),
    # req.query["page"]
    reader(_NUMBER + _OBJECT + r"\[\s*['\"`](?P<name>[^'\"`]+)['\"`]\s*\]" + r"\)?" + _FALLBACK),
    # const { page = 1, q } = req.query
    reader(r"(?:const|let|var)\s*\{(?P<names>[^{}]*)\}\s*=\s*" + _OBJECT + r"\b(?!\.)"),
    # Nest: @Query('q') q: string; @Query('q') q?: string is optional
    reader(r"@Query\(\s*['\"](?P<name>[^'\"]+)['\"][^)]*\)\s*[A-Za-z_$][\w$]*(?P<default>\?)?"),
)
