"""SQL dumps loaded into a database sidecar the way their authors loaded them by hand.

A repository's dump was written by MySQL 5.6 (no strict mode: a value too long for its
column was cut, not refused) or by MySQL 8 (its utf8mb4_0900_* collations, `/*!80016 ...*/`
clauses); the sidecar is MariaDB 10.11, whose entrypoint runs an init .sql strictly and
stops at its first error: the sidecar exited 1 and the whole repository ended infra_error.
So:

- the server runs in MySQL 5.6's SQL mode, with table names that ignore case (SERVER_ARGS),
  for the dump and for the service, which was written against such a server;
- the entrypoint does not run the dumps (they are copied as NN-name.sql.dump, a name it
  ignores): LOADER, which it sources at first start, does. It gives MySQL 8's collations
  MariaDB's nearest, drops the versioned clauses only MySQL 8 reads, and keeps going past a
  statement the server refuses (`mariadb --force`): the tables that load are there, and the
  service starts (or says which table it misses). A dump's own CREATE DATABASE and USE are
  honoured: its tables go where it says (stages/sidecars.py tells the service that name).
- LOADER writes one line per dump to the sidecar's log (MARKER); `problems` reads back the
  ones that did not load entirely, which the run records (Sidecar.init_warnings) and a
  crash's reason carries.

PostgreSQL's entrypoint stops at a dump's first error too (ON_ERROR_STOP): pg_dump's
`ALTER ... OWNER TO postgres` names a role a server made with the service's user lacks.
PG_LOADER runs its dumps through psql as a developer does, going on past such statements.

run-tests.sh does the same with the same script and server arguments (Sidecar.command,
Sidecar.init_loader), so the gate's database is the one the tests were recorded against.
"""

from __future__ import annotations

import re

#: Arguments to the image (appended to mariadbd): MySQL 5.6's default SQL mode, not
#: MariaDB's strict one; utf8mb4 with the collation LOADER maps MySQL 8's to; table names
#: that ignore case, as on the Windows and macOS machines many of these services were
#: written on (yyblog's dump makes `t_setting`, its mappers query `T_SETTING`).
SERVER_ARGS = (
    "--sql-mode=NO_ENGINE_SUBSTITUTION",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--lower-case-table-names=1",
)
#: Suffix the init files a loader runs get, so that the entrypoint leaves them alone.
DUMP_SUFFIX = ".dump"
#: The loader's name in the init folder: before every NN-name file (byte order).
LOADER_NAME = "00-00-load-sql-dumps.sh"
MARKER = "abc-pipeline-dump:"

# MySQL 8 names MariaDB 10.11 has no equivalent of, and what stands in for them (sed -E).
REWRITES = (
    # utf8mb4_0900_ai_ci, utf8mb4_zh_0900_as_cs, ...: binary stays binary, the rest compare
    # like MySQL 8's default (case- and accent-insensitive).
    (r"utf8mb4_([a-z]+_)?0900_bin", "utf8mb4_bin"),
    (r"utf8mb4_([a-z]+_)?0900_[a-z_]*[a-z]", "utf8mb4_unicode_ci"),
    # `/*!80016 DEFAULT ENCRYPTION='N' */`: MariaDB runs a versioned comment whose number is
    # below its own (10.11 > 8.0), and does not know the clause.
    (r"/\*!80[0-9]{3} [^*]*\*/", ""),
)


def _loader(client: str, rewrites: tuple[tuple[str, str], ...], what: str) -> str:
    """A script the image's entrypoint sources at first start: each *.sql.dump through
    `client` (which goes on past an error), rewritten by `rewrites` (sed -E), one MARKER
    line per dump on the log."""
    sed = "sed -E " + " ".join(f"-e 's#{old}#{new}#g'" for old, new in rewrites) if rewrites else "cat"
    return f"""\
# abc-pipeline: load the SQL dumps (*.sql{DUMP_SUFFIX}) {what}, going on past a
# statement this server refuses rather than stopping its first start. Sourced by the
# image's entrypoint.
for abc_dump in /docker-entrypoint-initdb.d/*.sql{DUMP_SUFFIX}; do
  [ -f "$abc_dump" ] || continue
  abc_errors=$({sed} "$abc_dump" |
    {client} 2>&1 >/dev/null) || true
  abc_name=${{abc_dump##*/}}
  abc_name=${{abc_name%{DUMP_SUFFIX}}}
  abc_first=$(printf '%s\\n' "$abc_errors" | grep -m1 -E '(^|: )(ERROR|FATAL)' || true)
  if [ -z "$abc_first" ]; then
    echo "{MARKER} $abc_name loaded" >&2
  else
    abc_failed=$(printf '%s\\n' "$abc_errors" | grep -c -E '(^|: )(ERROR|FATAL)' || true)
    echo "{MARKER} $abc_name: $abc_failed statement(s) failed; the first: ${{abc_first:0:300}}" >&2
  fi
done
unset abc_dump abc_errors abc_name abc_failed abc_first
"""


# The temporary server of the first start listens on its socket only: the official image's
# entrypoint names it $SOCKET, the stand-in's exports MYSQL_UNIX_PORT.
LOADER = _loader(
    'MYSQL_PWD="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}" mariadb --no-defaults --protocol=socket '
    '--socket="${SOCKET:-${MYSQL_UNIX_PORT:-/run/mysqld/mysqld.sock}}" --user=root --force '
    '--default-character-set=utf8mb4 ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"}',
    REWRITES,
    "as MySQL took them (MySQL 8's collations mapped to MariaDB's)",
)
# pg_dump's output stops a strict load early: `ALTER ... OWNER TO postgres` (a role this
# server, made with the service's user, does not have), an extension it lacks. psql goes on
# by default; the entrypoints' environment names the user and database (PGHOST: the
# stand-in's socket folder, else psql's default, the official image's).
PG_LOADER = _loader(
    'psql -v ON_ERROR_STOP=0 --no-psqlrc --no-password --username "$POSTGRES_USER" '
    '--dbname "${POSTGRES_DB:-$POSTGRES_USER}"',
    (),
    "as psql loads them by hand",
)

_PROBLEM = re.compile(rf"^.*?{re.escape(MARKER)} (?P<line>.+: \d+ statement\(s\) failed.*)$", re.MULTILINE)


def problems(log: str) -> list[str]:
    """What the loader said of each dump that did not load entirely (from the sidecar's log)."""
    return [f"{match.group('line').strip()}" for match in _PROBLEM.finditer(log)]


def target_name(index: int, relative: str, *, loader: bool) -> str:
    """An init file's name in the image's init folder: numbered in order; a .sql that a
    loader runs gets DUMP_SUFFIX (templates/task/run-tests.sh.j2 names them the same)."""
    name = relative.rsplit("/", 1)[-1]
    return f"{index:02d}-{name}{DUMP_SUFFIX if loader and name.endswith('.sql') else ''}"


_USE = re.compile(r"^\s*use\s+`?(?P<name>[A-Za-z_][\w\-]*)`?\s*;", re.IGNORECASE | re.MULTILINE)
_CREATE_DATABASE = re.compile(
    r"^\s*create\s+(?:database|schema)\s+(?:if\s+not\s+exists\s+)?`?(?P<name>[A-Za-z_][\w\-]*)`?",
    re.IGNORECASE | re.MULTILINE,
)


def dump_database(text: str) -> str | None:
    """The database a dump puts its tables in, when it says (`USE shop;`, else `CREATE
    DATABASE shop`): the service then finds them there."""
    match = _USE.search(text) or _CREATE_DATABASE.search(text)
    return match.group("name") if match else None
