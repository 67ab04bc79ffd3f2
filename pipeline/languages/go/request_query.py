"""How a Go handler reads a query parameter.

Gin's `c.Query("q")` / `c.DefaultQuery("page", "1")` / `c.GetQuery("q")`, Echo's
`c.QueryParam("q")`, Fiber's `c.Query("q", "default")`, net/http's (and Chi's)
`r.URL.Query().Get("q")` and `r.FormValue("q")` (which reads the query string too). A
default argument makes it optional; a `strconv.Atoi(...)` around the read a number.
"""

from __future__ import annotations

from pipeline.languages.query_params import reader

_NUMBER = r"(?P<number>\bstrconv\.(?:Atoi|ParseInt|ParseUint|ParseFloat)\(\s*)?"
_RECEIVER = r"\b[A-Za-z_]\w*"
#: what a handler calls the url.Values it took from r.URL.Query() (a header is `r.Header.Get`)
_QUERY_VARIABLES = "q|query|queries|queryParams|params|values|vals|qs|urlQuery"

QUERY_READERS = (
    # c.Query("q"), c.GetQuery("q"), c.QueryParam("q"), Fiber's c.Query("q", "1")
    reader(_NUMBER + _RECEIVER + r"\.(?:Query|GetQuery|QueryParam)\(\s*\"(?P<name>[^\"]+)\"\s*(?P<default>,)?"),
    # c.DefaultQuery("page", "1")
    reader(_NUMBER + _RECEIVER + r"\.DefaultQuery\(\s*\"(?P<name>[^\"]+)\"(?P<default>\s*,)"),
    # r.URL.Query().Get("q"), r.FormValue("q")
    reader(_NUMBER + r"(?:\.Query\(\)\.Get|\.FormValue)\(\s*\"(?P<name>[^\"]+)\"\s*\)"),
    # q := r.URL.Query(); q.Get("q")
    reader(_NUMBER + r"\b(?:" + _QUERY_VARIABLES + r")\.Get\(\s*\"(?P<name>[^\"]+)\"\s*\)"),
)
