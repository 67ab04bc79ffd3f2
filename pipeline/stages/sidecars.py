"""Which servers a service needs beside it (a database, a cache), and how it reaches them.

A real backend often will not start without its PostgreSQL, MySQL or Redis. The signs,
strongest first: a compose file in the repository that runs such a server (its image, its
credentials, the SQL files it mounts into /docker-entrypoint-initdb.d), a connection URL
written in the code or an example config (`postgres://user@localhost/todos`), a driver in
the manifests (each language lists its drivers: `Language.server_dependencies`).

Every sidecar runs in the service's network namespace (pipeline/runtime/sidecar_containers.py
and run-tests.sh start it before the service), so the service reaches it on 127.0.0.1 at
its usual port, the way a developer's laptop runs it. The service is told so through the
variables its code reads: names it mentions that speak of the server (DATABASE_URL,
DB_HOST, PGUSER, REDIS_URL, ...) get the sidecar's URL, host, port, user, password or
database, given when the service starts (docker run -e), so they hold for the
repository's own Dockerfile and for one an agent writes. PostgreSQL accepts any password (trust), so a
URL hard-coded in the code with its own password works too; user and database names are
taken from such a URL or the compose file when the repository has one.

MongoDB is not in Debian: FerretDB, which speaks its protocol, stands in for it. A server
kind with no image (`ServerKind.unavailable`) ends a service that fails for want of it as
service_unavailable, with the reason (stages/repair.py).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.languages import LANGUAGES
from pipeline.mining.hints import dependency_names
from pipeline.models import EnvSpec, Sidecar
from pipeline.runtime import sql_dumps
from pipeline.stages import compose

# The pipeline's own credentials: a placeholder (redaction never flags `dummy-` values).
DEFAULT_USER = "app"
DEFAULT_PASSWORD = "dummy-db-password"  # pragma: allowlist secret
DEFAULT_DATABASE = "app"
LOOPBACK = "127.0.0.1"
INIT_DIR = "/docker-entrypoint-initdb.d"
SKIPPED_DIRS = {".git", "node_modules", "vendor", "target", "dist", "build", "__pycache__", ".venv", "venv"}
MAX_FILE_BYTES = 256_000


@dataclass(frozen=True)
class Credentials:
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    database: str = DEFAULT_DATABASE


@dataclass(frozen=True)
class ServerKind:
    """What the pipeline knows about one kind of server: its image, port, how it is told
    its credentials (the official image's variables), how it says it is ready, its URLs,
    and the words in a variable's name that mean it."""

    name: str
    image: str | None
    port: int
    schemes: tuple[str, ...]
    #: words in an env var name that mean this server ("POSTGRES_HOST", "PGUSER")
    name_words: tuple[str, ...]
    #: the image names a compose file may run it from
    compose_images: tuple[str, ...]
    #: relational servers also answer to DB_/DATABASE_ names
    sql: bool = False
    #: it checks a user and password (a client of Redis or FerretDB that sends one is refused)
    authenticates: bool = False
    #: its clients name a database (Redis's is a number)
    named_databases: bool = True
    unavailable: str = ""
    #: arguments to its image (server options)
    server_args: tuple[str, ...] = ()
    #: a script that loads its SQL init files in place of the entrypoint (runtime/sql_dumps.py)
    init_loader: str = ""

    def sidecar_env(self, creds: Credentials) -> dict[str, str]:
        if self.name == "postgresql":
            return {
                "POSTGRES_USER": creds.user,
                "POSTGRES_PASSWORD": creds.password,
                "POSTGRES_DB": creds.database,
                # Any password is accepted: a URL the code hard-codes keeps working.
                "POSTGRES_HOST_AUTH_METHOD": "trust",
            }
        if self.name == "mysql":
            env = {"MARIADB_ROOT_PASSWORD": creds.password, "MARIADB_DATABASE": creds.database}
            if creds.user != "root":  # the official image refuses MARIADB_USER=root
                env |= {"MARIADB_USER": creds.user, "MARIADB_PASSWORD": creds.password}
            return env
        if self.name == "mongodb":
            # FerretDB on its SQLite backend stands alone; its debug listener (8080) would
            # take a port services use, in the namespace they share.
            env = {"FERRETDB_HANDLER": "sqlite", "FERRETDB_DEBUG_ADDR": "-"}
            if self.authenticates:
                # A client that signs in needs SCRAM, which FerretDB 1.x has only in its
                # experimental mode, with the one user it sets up (in "admin", where a URL
                # without a database authenticates).
                env |= {
                    "FERRETDB_TEST_ENABLE_NEW_AUTH": "true",
                    "FERRETDB_SETUP_USERNAME": creds.user,
                    "FERRETDB_SETUP_PASSWORD": creds.password,
                    "FERRETDB_SETUP_DATABASE": "admin",
                }
            return env
        return {}

    def health(self, creds: Credentials) -> list[str]:
        """Exits 0 once the server serves on TCP (the official images answer on TCP only
        after their init scripts ran)."""
        if self.name == "postgresql":
            return ["pg_isready", "-h", LOOPBACK, "-p", str(self.port), "-U", creds.user, "-d", creds.database]
        if self.name == "mysql":
            return ["mariadb-admin", "ping", "-h", LOOPBACK, "-P", str(self.port), "-uroot", f"-p{creds.password}"]
        if self.name == "redis":
            return ["redis-cli", "-h", LOOPBACK, "-p", str(self.port), "ping"]
        # The FerretDB image has no client: its port accepting a connection is the sign.
        return ["bash", "-c", f"exec 3<>/dev/tcp/{LOOPBACK}/{self.port}"]

    def url(self, creds: Credentials) -> str:
        scheme = self.schemes[0]
        if self.name == "redis":
            return f"{scheme}://{LOOPBACK}:{self.port}/0"
        if not self.authenticates:
            return f"{scheme}://{LOOPBACK}:{self.port}/{creds.database}"
        url = f"{scheme}://{creds.user}:{creds.password}@{LOOPBACK}:{self.port}/{creds.database}"
        return url + "?authSource=admin" if self.name == "mongodb" else url

    def jdbc_url(self, creds: Credentials) -> str:
        return f"jdbc:{self.schemes[0]}://{LOOPBACK}:{self.port}/{creds.database}"

    def url_for(self, creds: Credentials, language: str) -> str:
        """The address as the language's driver takes it: a JDBC URL for Java; for Go's
        MySQL, go-sql-driver's DSN (`user:password@tcp(host:port)/db`: it reads a URL's
        host as a network name and fails); else the URL."""
        if language == "java" and self.sql:
            return self.jdbc_url(creds)
        if language == "go" and self.name == "mysql":
            return f"{creds.user}:{creds.password}@tcp({LOOPBACK}:{self.port})/{creds.database}"
        return self.url(creds)


KINDS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind(
            "postgresql",
            "postgres:15-bookworm",
            5432,
            schemes=("postgresql", "postgres"),
            name_words=("POSTGRES", "POSTGRESQL", "PG", "PSQL"),
            compose_images=("postgres", "postgis/postgis", "bitnami/postgresql"),
            sql=True,
            authenticates=True,
            init_loader=sql_dumps.PG_LOADER,
        ),
        ServerKind(
            "mysql",
            # MariaDB speaks MySQL's protocol and is what Debian packages.
            "mariadb:10.11",
            3306,
            schemes=("mysql", "mariadb"),
            name_words=("MYSQL", "MARIADB"),
            compose_images=("mysql", "mariadb", "bitnami/mysql", "bitnami/mariadb"),
            sql=True,
            authenticates=True,
            # Dumps written for MySQL 5.6 or 8 load the way those did (runtime/sql_dumps.py).
            server_args=sql_dumps.SERVER_ARGS,
            init_loader=sql_dumps.LOADER,
        ),
        ServerKind(
            "redis",
            "redis:7-bookworm",
            6379,
            schemes=("redis",),
            name_words=("REDIS",),
            compose_images=("redis", "bitnami/redis", "redis/redis-stack"),
            named_databases=False,
        ),
        ServerKind(
            "mongodb",
            # MongoDB is not in Debian (nor its licence): FerretDB speaks its wire protocol,
            # from the Go module proxy (docker/base/ferretdb.Dockerfile).
            "ghcr.io/ferretdb/ferretdb:1.24.2",
            27017,
            schemes=("mongodb", "mongodb+srv"),
            name_words=("MONGO", "MONGODB"),
            compose_images=("mongo", "bitnami/mongodb"),
        ),
    )
}


@dataclass
class Need:
    """One server a service needs, with the evidence and what the repository says of it."""

    kind: ServerKind
    reasons: list[str] = field(default_factory=list)
    user: str | None = None
    database: str | None = None
    init_files: list[str] = field(default_factory=list)
    #: names the code reaches it by besides 127.0.0.1 (a compose service name, `db`)
    hosts: list[str] = field(default_factory=list)
    #: how strong the evidence is: 2 a compose file runs it, 1 a connection URL, 0 a driver
    strength: int = 0

    def credentials(self) -> Credentials:
        return Credentials(user=self.user or DEFAULT_USER, database=self.database or DEFAULT_DATABASE)


# ----------------------------------------------------------------------------- detection


def _files(root: Path, suffixes: set[str]) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if any(part in SKIPPED_DIRS for part in path.relative_to(root).parts[:-1]):
            continue
        if path.is_file() and not path.is_symlink() and (path.suffix in suffixes or path.name.startswith(".env")):
            try:
                if path.stat().st_size <= MAX_FILE_BYTES:
                    yield path
            except OSError:
                continue


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _kind_of_image(image: str) -> ServerKind | None:
    name = image.split("@", 1)[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image.split("@", 1)[0]
    name = name.removeprefix("docker.io/").removeprefix("library/")
    return next((k for k in KINDS.values() if name in k.compose_images), None)


_URL = re.compile(
    r"\b(?P<scheme>postgres(?:ql)?|mysql|mariadb|redis|mongodb(?:\+srv)?)(?:\+\w+)?://"
    r"(?:(?P<user>[A-Za-z_][\w.\-]*)(?::[^@\s'\"/]*)?@)?"
    r"(?P<host>[\w.\-]+|\[[^\]]+\]|\$\{[^}]+\})(?::(?P<port>\d+))?(?:/(?P<db>[A-Za-z_][\w\-]*))?"
)
_LOCAL_HOSTS = {
    "localhost",
    "127.0.0.1",
    "0.0.0.0",
    "db",
    "database",
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "redis",
    "mongo",
    "mongodb",
    "cache",
}


_LOOPBACK = {"localhost", "127.0.0.1", "0.0.0.0"}
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _kind_of_scheme(scheme: str) -> ServerKind | None:
    return next((k for k in KINDS.values() if scheme in k.schemes), None)


# Folders whose files describe or exercise other programs, not the service's own setup: a
# URL in a template, an example or a document does not mean the service needs that server
# (a repository of agent templates names every database there is). A driver in the
# manifests still does.
_NOT_SETUP_DIRS = {
    "example",
    "examples",
    "sample",
    "samples",
    "doc",
    "docs",
    "documentation",
    "template",
    "templates",
    "fixtures",
    "test",
    "tests",
    "__tests__",
    "spec",
    "public",
    "static",
    "assets",
    "components",
}
# JSON is data as often as configuration: only files named as configuration count.
_JSON_CONFIG = re.compile(
    r"^(?:config|settings|appsettings|default|development|production|local|env|database|db)\b.*\.json$|\.config\.json$",
    re.IGNORECASE,
)


def _is_setup_file(path: Path, root: Path) -> bool:
    folders = path.relative_to(root).parts[:-1]
    if any(part.lower() in _NOT_SETUP_DIRS for part in folders):
        return False
    if path.suffix == ".json":
        return _JSON_CONFIG.search(path.name) is not None or "config" in (f.lower() for f in folders)
    return True


def _from_urls(root: Path, needs: dict[str, Need]) -> None:
    """Connection URLs in the service's code and config that point at a server on this
    machine (or at a compose service name): the server is needed, and its user and
    database are named."""
    suffixes = {s for language in LANGUAGES for s in language.suffixes} | {
        ".yml",
        ".yaml",
        ".json",
        ".toml",
        ".ini",
        ".cfg",
        ".properties",
        ".conf",
        ".example",
        ".sample",
        ".env",
    }
    for path in _files(root, suffixes):
        if not _is_setup_file(path, root):
            continue
        for match in _URL.finditer(_uncommented(_read(path))):
            host = match.group("host").lower()
            if host not in _LOCAL_HOSTS and not host.startswith("${"):
                continue
            kind = _kind_of_scheme(match.group("scheme"))
            if kind is None:
                continue
            need = needs.setdefault(kind.name, Need(kind))
            need.reasons.append(f"a {kind.name} URL in {path.relative_to(root)}")
            if host in _LOCAL_HOSTS - _LOOPBACK:
                need.hosts.append(host)
            need.strength = max(need.strength, 1)
            user = match.group("user")
            if user and not need.user and not user.startswith("$"):
                need.user = user
            database = match.group("db")
            if database and not need.database and kind.named_databases:
                need.database = database


# A line that is a comment in the config formats and languages read here: a URL in one is
# an alternative the repository left switched off (`#  url: jdbc:postgresql://...` under
# the MySQL it runs), not a second server it needs.
_COMMENT_LINE = re.compile(r"^[ \t]*(?:#|//|--|;|/?\*|<!--).*$", re.MULTILINE)


def _uncommented(text: str) -> str:
    return _COMMENT_LINE.sub("", text)


def _from_compose(root: Path, service_root: Path, needs: dict[str, Need]) -> None:
    """A compose file that runs a database: its kind, user and database, and the SQL it
    mounts into the image's init folder (files under the service root only: that is what
    the task ships and run-tests.sh copies in)."""
    for path in compose.files(root):
        for name, definition in compose.services(path).items():
            if not isinstance(definition.get("image"), str):
                continue
            kind = _kind_of_image(definition["image"])
            if kind is None:
                continue
            need = needs.setdefault(kind.name, Need(kind))
            need.reasons.insert(0, f"{path.relative_to(root)} runs {definition['image']} as '{name}'")
            need.strength = 2
            # Compose's network resolves a service by its name (and its hostname): code that
            # dials `db` or `tcp(db)` hard-coded, or config that says so, expects that.
            names = (str(name), definition.get("hostname"))
            need.hosts.extend(host for host in names if isinstance(host, str) and _HOST.match(host))
            env = compose.environment(definition)
            user = env.get("POSTGRES_USER") or env.get("MYSQL_USER") or env.get("MARIADB_USER")
            database = env.get("POSTGRES_DB") or env.get("MYSQL_DATABASE") or env.get("MARIADB_DATABASE")
            if user and not user.startswith("$"):
                need.user = user
            if database and not database.startswith("$"):
                need.database = database
            for volume in definition.get("volumes") or []:
                source, _, target = str(volume).partition(":")
                if not target.startswith(INIT_DIR):
                    continue
                host_path = (path.parent / source).resolve()
                need.init_files.extend(_init_files(host_path, service_root))


def _init_files(host_path: Path, service_root: Path) -> list[str]:
    candidates = sorted(host_path.iterdir()) if host_path.is_dir() else [host_path]
    found = []
    for candidate in candidates:
        if candidate.is_file() and candidate.suffix in {".sql", ".sh"} and candidate.is_relative_to(service_root):
            found.append(candidate.relative_to(service_root).as_posix())
    return found


# Schema files by the names projects give them, for a relational server with no compose
# mount: plain SQL the official images run at first start.
_SCHEMA_FILES = (
    "schema.sql",
    "init.sql",
    "db/schema.sql",
    "db/init.sql",
    "sql/schema.sql",
    "sql/init.sql",
    "database/schema.sql",
    "database/init.sql",
    "db/init/init.sql",
)


# Folders whose SQL the service runs itself (migrations, Liquibase change logs, Spring's
# classpath schema.sql / spring.sql.init scripts under resources/) or never runs (tests):
# loading them first would make the service's own CREATE TABLE fail.
_NOT_A_DUMP = {"test", "tests", "migration", "migrations", "changelog", "resources", "node_modules", "vendor"}
_CREATE_TABLE = re.compile(r"\bcreate\s+table\b", re.IGNORECASE)
_CREATE_DATABASE = re.compile(r"\bcreate\s+(?:database|schema)\s+(?!if\s+not\s+exists)", re.IGNORECASE)
# A dump's path often names its dialect (sql/mysql/app.sql, db/postgres.sql): the server
# of another dialect would fail on it and not start.
_DIALECTS = {"mysql": ("mysql", "mariadb"), "postgresql": ("postgres", "pgsql")}
_OTHER_DIALECTS = ("oracle", "sqlserver", "mssql", "sqlite", "h2", "db2", "dameng")


_SQLC_QUERY = re.compile(r"^--\s*name:\s*\w+\s+:(?:one|many|exec\w*|copyfrom|batch\w*)\b", re.MULTILINE)

#: At most this many dumps of one folder load (a loader's kind: _companions).
MAX_DUMPS = 6


def _dump_candidates(root: Path, kind: ServerKind) -> Iterator[tuple[Path, str]]:
    """SQL files under the service root that may be the service's dump, with their text:
    outside the folders whose scripts the service runs itself or never, and not of
    another dialect by their path."""
    others = [w for k, ws in _DIALECTS.items() if k != kind.name for w in ws] + list(_OTHER_DIALECTS)
    for path in _files(root, {".sql"}):
        rel = path.relative_to(root)
        if _NOT_A_DUMP & {part.lower() for part in rel.parts[:-1]}:
            continue
        words = set(re.findall(r"[a-z0-9]+", rel.as_posix().lower()))
        if any(w in words or any(token.startswith(w) for token in words) for w in others):
            continue
        text = _read(path)
        # sqlc's query files (`-- name: GetUser :one`): statements with $1 parameters, no dump.
        if _SQLC_QUERY.search(text):
            continue
        # The entrypoint runs a dump strictly: one that creates the database the server made
        # already fails there. A loader honours it (runtime/sql_dumps.py).
        if not kind.init_loader and _CREATE_DATABASE.search(text):
            continue
        yield path, text


def _migrates_itself(root: Path) -> bool:
    """Whether the service has SQL migrations (a `migrations` or `migrate` folder of .sql
    files): it makes its schema from them (golang-migrate, goose, Flyway at start), and a
    dump beside them (one a code generator reads, sqlc's schema) would make the same
    tables first, so the migrations fail."""
    return any(
        {"migrations", "migrate"} & {part.lower() for part in path.relative_to(root).parts[:-1]}
        for path in _files(root, {".sql"})
    )


def _schema_dump(root: Path, kind: ServerKind) -> list[str]:
    """The SQL file under the service root that creates the most tables, when no file has a
    name _SCHEMA_FILES knows: a dump the README says to load by hand (lib/app.sql,
    src/main/sql/create_db.sql, data/data.sql); without it every query of the service fails.
    None for a service that migrates itself."""
    if _migrates_itself(root):
        return []
    best, most = None, 0
    for path, text in _dump_candidates(root, kind):
        count = len(_CREATE_TABLE.findall(text))
        if count > most:
            best, most = path.relative_to(root).as_posix(), count
    return [best] if best else []


def _companions(root: Path, kind: ServerKind, dump: str) -> list[str]:
    """`dump` and the other dumps beside it, for a kind whose loader goes past what fails:
    projects split their SQL into files one folder holds (the schema, its seed data, a
    module's tables: RuoYi's mysql_ry.sql beside flowable.sql), and the service needs them
    all. Those that create tables first, then the rest (data), each by name."""
    folder = (root / dump).parent
    found = [
        (not _CREATE_TABLE.search(text), path.name, path.relative_to(root).as_posix())
        for path, text in _dump_candidates(root, kind)
        if path.parent == folder
    ]
    ordered = [rel for _, _, rel in sorted(found)]
    return [dump] + [rel for rel in ordered if rel != dump][: MAX_DUMPS - 1]


def _from_dependencies(root: Path, service_root: Path, needs: dict[str, Need]) -> None:
    table = {name: kind for language in LANGUAGES for name, kind in language.server_dependencies.items()}
    manifests = {name for language in LANGUAGES for name in language.manifest_files}
    for folder in dict.fromkeys([service_root, root]):
        for manifest in sorted(manifests):
            path = folder / manifest
            if not path.is_file():
                continue
            for dependency in sorted(dependency_names(manifest, _read(path))):
                kind = table.get(dependency)
                if kind is not None:
                    need = needs.setdefault(kind, Need(KINDS[kind]))
                    need.reasons.append(f"{dependency} in {path.relative_to(root)}")


def detect(repo_root: Path, service_root: str) -> list[Need]:
    """The servers the service at `service_root` needs, with the evidence for each."""
    root = repo_root / service_root
    needs: dict[str, Need] = {}
    _from_compose(repo_root, root, needs)
    if root != repo_root:
        _from_compose(root, root, needs)
    _from_urls(root, needs)
    _from_dependencies(repo_root, root, needs)
    for need in needs.values():
        if need.kind.sql and not need.init_files:
            need.init_files = [name for name in _SCHEMA_FILES if (root / name).is_file()][:1] or _schema_dump(
                root, need.kind
            )
            if need.init_files and need.kind.init_loader:
                need.init_files = _companions(root, need.kind, need.init_files[0])
        if need.kind.init_loader and not need.database:
            # The loader honours a dump's own USE / CREATE DATABASE: its tables are there.
            named = (sql_dumps.dump_database(_read(root / f)) for f in need.init_files if f.endswith(".sql"))
            need.database = next((name for name in named if name), None)
    # A compose file that runs the database says which one it is: a driver of another
    # relational server in the manifests (an ORM's dialects) is not a second database.
    if any(n.kind.sql and n.strength == 2 for n in needs.values()):
        needs = {k: n for k, n in needs.items() if not (n.kind.sql and n.strength == 0)}
    return sorted(needs.values(), key=lambda n: list(KINDS).index(n.kind.name))


def sidecar_for(need: Need) -> Sidecar:
    assert need.kind.image is not None, need.kind.name
    creds = need.credentials()
    return Sidecar(
        kind=need.kind.name,
        image=need.kind.image,
        port=need.kind.port,
        env=need.kind.sidecar_env(creds),
        health=need.kind.health(creds),
        init_files=list(dict.fromkeys(need.init_files)),
        hosts=sorted(set(need.hosts)),
        reason="; ".join(dict.fromkeys(need.reasons)),
        command=list(need.kind.server_args),
        init_loader=need.kind.init_loader,
    )


# ----------------------------------------------------------------------------- wiring

_ROLE_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Not CONNECTION alone: Laravel's DB_CONNECTION names the driver ("mysql").
    ("url", ("URL", "URI", "DSN", "CONNECTION_STRING", "CONN_STRING", "ADDRESS", "ADDR")),
    ("host", ("HOST", "HOSTNAME", "SERVER")),
    ("port", ("PORT",)),
    ("user", ("USER", "USERNAME", "LOGIN")),
    ("password", ("PASSWORD", "PASS", "PWD", "PASSWD")),
    ("database", ("DATABASE", "DB", "NAME", "DBNAME", "DB_NAME", "SCHEMA")),
)
# libpq's own variables, read by every PostgreSQL driver built on it (and by node-postgres).
_LIBPQ = {"PGHOST": "host", "PGPORT": "port", "PGUSER": "user", "PGPASSWORD": "password", "PGDATABASE": "database"}
_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\b")


# Words before a server's name that make the variable a switch acting on it.
_ACTIONS = {
    "SEED",
    "MIGRATE",
    "RESET",
    "DROP",
    "INIT",
    "INITIALIZE",
    "CREATE",
    "RECREATE",
    "USE",
    "ENABLE",
    "DISABLE",
    "SKIP",
    "AUTO",
    "CLEAR",
    "CLEAN",
    "SYNC",
    "WIPE",
    "PURGE",
    "BACKUP",
    "RESTORE",
    "LOG",
    "DEBUG",
    "VERIFY",
    "CHECK",
    "UPGRADE",
    "SETUP",
    "POPULATE",
    "TRUNCATE",
    "WAIT",
    "FOR",
}


def _role(name: str, words: tuple[str, ...]) -> str | None:
    """The role (url, host, ...) a variable named like `DB_HOST` plays for a server known
    by `words`, or None when the name is not about that server (`DB_POOL_SIZE`)."""
    parts = name.split("_")
    first = next((i for i, part in enumerate(parts) if part in words), None)
    if first is None:
        return None
    rest = parts[first + 1 :]
    while rest and rest[0] in words:  # POSTGRES_DB_HOST
        rest = rest[1:]
    if not rest:  # POSTGRES_DB, DB_DATABASE, DATABASE: a name; REDIS, MONGO_DB...: a URL
        if first > 0 and parts[first - 1] in _ACTIONS:
            return None  # APP_SEED_DATABASE, RESET_DB: a switch that acts on it, not its address
        return "database" if parts[-1] in ("DB", "DATABASE") else "url"
    tail = "_".join(rest)
    for role, suffixes in _ROLE_SUFFIXES:
        if tail in suffixes or tail.endswith(tuple("_" + s for s in suffixes)):
            return role
    return None


def _value(role: str, kind: ServerKind, creds: Credentials, language: str) -> str | None:
    if not kind.authenticates and role in ("user", "password"):
        return None  # no password: a client that sends one is refused
    if role == "url":
        return kind.url_for(creds, language)
    return {
        "host": LOOPBACK,
        "port": str(kind.port),
        "user": creds.user,
        "password": creds.password,
        "database": creds.database if kind.named_databases else "0",
    }[role]


def mentioned_names(root: Path, language: str) -> set[str]:
    """Upper-case names the service's code and config mention: the variables it may read."""
    suffixes = set(next((lang.suffixes for lang in LANGUAGES if lang.name == language), {})) | {
        ".yml",
        ".yaml",
        ".properties",
        ".toml",
        ".ini",
        ".cfg",
        ".json",
        ".example",
        ".sample",
    }
    names: set[str] = set()
    for path in _files(root, suffixes):
        names.update(_ENV_NAME.findall(_read(path)))
    return names


def service_variables(
    needs: Iterable[Need], names: set[str], language: str, *, first_sql: bool = True
) -> dict[str, str]:
    """The variables the service reads that say where its servers are, set to the sidecars.
    `first_sql`: the relational server of `needs` with the strongest evidence is the
    service's database (DB_*)."""
    values: dict[str, str] = {}
    needs = [n for n in needs if n.kind.image]
    # The service's database: the relational server with the strongest evidence (the first
    # in KINDS' order among equals).
    main_sql = max((n for n in needs if n.kind.sql), key=lambda n: n.strength, default=None) if first_sql else None
    for need in needs:
        kind, creds = need.kind, need.credentials()
        words = kind.name_words + (("DB", "DATABASE", "SQL") if need is main_sql else ())
        for name in sorted(names):
            role = _LIBPQ.get(name) if kind.name == "postgresql" else None
            role = role or _role(name, words)
            value = _value(role, kind, creds, language) if role else None
            if value is not None and name not in values:
                values[name] = value
        # The variables a framework reads without the code naming them (Spring's relaxed
        # binding) and the conventional ones: harmless when unread.
        for name, value in _conventional(kind, creds, language, is_first_sql=need is main_sql).items():
            values.setdefault(name, value)
    return values


def _conventional(kind: ServerKind, creds: Credentials, language: str, *, is_first_sql: bool) -> dict[str, str]:
    if kind.name == "redis":
        env = {"REDIS_URL": kind.url(creds), "REDIS_HOST": LOOPBACK, "REDIS_PORT": str(kind.port)}
        if language == "java":
            env |= {"SPRING_DATA_REDIS_HOST": LOOPBACK, "SPRING_REDIS_HOST": LOOPBACK}
        return env
    if kind.name == "mongodb":
        url = kind.url(creds)
        return {"MONGODB_URI": url, "MONGO_URI": url, "MONGO_URL": url}
    if not (kind.sql and is_first_sql):
        return {}
    env = {"DATABASE_URL": kind.url_for(creds, language)}
    if language == "java":
        env = {
            "SPRING_DATASOURCE_URL": kind.jdbc_url(creds),
            "SPRING_DATASOURCE_USERNAME": creds.user,
            "SPRING_DATASOURCE_PASSWORD": creds.password,
        }
    return env


def attach(spec: EnvSpec, needs: list[Need], names: set[str]) -> EnvSpec:
    """`spec` with a sidecar for each need that has an image, each with the variables that
    tell the service where it is. A spec that has them all already is returned as it is."""
    have = {s.kind for s in spec.sidecars}
    new = [n for n in needs if n.kind.image and n.kind.name not in have]
    if not new:
        return spec
    new = [_with_sign_in(need, names) for need in new]
    added = []
    for need, main_sql in zip(new, _first_sql_flags(spec, new), strict=True):
        variables = service_variables([need], names, spec.language, first_sql=main_sql)
        added.append(sidecar_for(need).model_copy(update={"service_env": variables}))
    return spec.model_copy(update={"sidecars": [*spec.sidecars, *added]})


def _with_sign_in(need: Need, names: set[str]) -> Need:
    """A MongoDB the code signs in to (a user in its URL, or variables for one) is started
    with that user; one it does not sign in to takes anonymous clients (FerretDB on SQLite
    refuses SCRAM unless its user store is on, and then refuses anonymous clients)."""
    if need.kind.name != "mongodb" or need.kind.authenticates:
        return need
    signs_in = bool(need.user) or any(_role(n, need.kind.name_words) in ("user", "password") for n in names)
    if not signs_in:
        return need
    return dataclasses.replace(need, kind=dataclasses.replace(need.kind, authenticates=True))


def _first_sql_flags(spec: EnvSpec, new: list[Need]) -> list[bool]:
    """Which new need is the service's relational database (DB_* names are its): the one
    with the strongest evidence, the first among equals; none when a sidecar already is."""
    if any(KINDS[s.kind].sql for s in spec.sidecars if s.kind in KINDS):
        return [False] * len(new)
    main = max((n for n in new if n.kind.sql), key=lambda n: n.strength, default=None)
    return [need is main for need in new]


def run_env(spec: EnvSpec) -> dict[str, str]:
    """The variables the service is started with: every sidecar's, in order."""
    env: dict[str, str] = {}
    for sidecar in spec.sidecars:
        for name, value in sidecar.service_env.items():
            env.setdefault(name, value)
    return env


def unavailable(needs: list[Need]) -> list[Need]:
    """Needs no sidecar can meet here (no image)."""
    return [n for n in needs if not n.kind.image]
