"""repair: a failed build or start, classified from its log, and the next Dockerfile to try.

`classify` reads a `docker build` log (or the last log lines of a service that crashed or
never answered) and names the failure class. A repair strategy proposes the next spec for
that class, or gives up; `run_attempts` drives build -> start -> classify -> propose up to
Settings.repair_attempts times and keeps every attempt (its Dockerfile and its log).

The rule-based strategy is the default; anything with the `RepairStrategy` shape (an LLM
asked with the failure class, the log tail and the Dockerfile) can replace it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from pipeline.languages import LANGUAGES, get_language, has_language
from pipeline.languages.base import Language, replace_all
from pipeline.languages.toolchain import Toolchain, major_minor, pick_version
from pipeline.models import EnvSpec, Verdict
from pipeline.runtime import base_images
from pipeline.stages import sidecars
from pipeline.stages.dummy_values import dummy_value

Phase = Literal["build", "start"]
LOG_TAIL_LINES = 60
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class FailureClass(StrEnum):
    missing_system_package = "missing_system_package"
    wrong_language_version = "wrong_language_version"
    missing_env_var = "missing_env_var"
    port_mismatch = "port_mismatch"
    missing_build_step = "missing_build_step"
    lockfile_mismatch = "lockfile_mismatch"
    # A server the service connects to at start (a database, a cache, a Docker engine):
    # no Dockerfile change brings it; the detail names which.
    needs_service = "needs_service"
    # A file the code loads at start is not in the build context: never committed (a
    # credentials file), ignored, or outside the service's folder. No Dockerfile brings it.
    missing_source = "missing_source"
    # The service's own code fails at start (a name it never defines): the repository's bug.
    app_error = "app_error"
    # Its database answered a query or a sign-in with an error (a table its dump did not
    # make, a database of another name, a refused password): no Dockerfile change helps.
    database_error = "database_error"
    # The start command runs a program that asks its user what to do (a CLI's menu, a
    # yes/no question) and ends when no one answers: not a server. Its servers, if it has
    # any, start from a menu choice or a flag.
    interactive_program = "interactive_program"
    # The service reads a configuration file, or a setting of one, that the repository does
    # not ship (only its README describes it): a Dockerfile cannot guess its content.
    missing_config = "missing_config"
    # The build tool's wrapper (mvnw) fetches a pinned Maven distribution that no registry
    # here serves: the image's own Maven builds instead.
    wrapper_unavailable = "wrapper_unavailable"
    # The code does not compile against a dependency's newer release than the one its
    # manifest names (no lock file pins it): the build pins the named version.
    dependency_drift = "dependency_drift"
    # The build ran past the build timeout (ABC_BUILD_TIMEOUT) and was cancelled: a large
    # service compiling on a small machine. No Dockerfile change makes it faster.
    build_timeout = "build_timeout"
    # The Dockerfile's FROM names an image that no registry this machine reaches serves
    # (Docker Hub out of reach, a private registry): the synthesized Dockerfile, on the
    # local base images, builds instead.
    base_image_unavailable = "base_image_unavailable"
    unknown = "unknown"


class Failure(BaseModel):
    failure_class: FailureClass
    phase: Phase
    evidence: str = Field(description="the log line that decided the class")
    detail: dict[str, str] = Field(default_factory=dict, description="what the fix needs: package, version, name, ...")


class ServiceFacts(BaseModel):
    """What a strategy knows about the service besides its Dockerfile."""

    language: str
    framework: str
    toolchain: Toolchain | None = None
    offline: bool = False
    #: upper-case names the code and config mention: the variables a sidecar is wired through
    env_names: set[str] = Field(default_factory=set)
    #: the service's own top-level file and folder names (stems): modules no registry provides
    own_names: set[str] = Field(default_factory=set)
    #: the service folder's top-level entries, by their full names (`migrations`, `config.yml`)
    top_level: set[str] = Field(default_factory=set)
    #: the versions its manifest names, by package (Language.declared_versions)
    declared_versions: dict[str, str] = Field(default_factory=dict)
    #: when the repository's commit was made (ISO 8601): the releases its code was written against
    committed_at: str | None = None


class Proposal(BaseModel):
    env: EnvSpec = Field(description="the next spec to try (its dockerfile changed)")
    change: str = Field(description="what was changed, for the attempt record")


class RepairStrategy(Protocol):
    name: str

    def propose(self, failure: Failure, log_tail: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        """The next spec to try, or None to give up."""
        ...


class TryResult(BaseModel):
    """One build-and-start of a spec, as the caller ran it."""

    ok: bool
    phase: Phase = Field(description="where it stopped: build, or start (when ok, start)")
    log: str = ""
    verdict: Verdict | None = Field(default=None, description="the runtime's verdict when it failed")
    reason: str = Field(default="", description="why, when the runtime knows better than the log's classes")


class AttemptRecord(BaseModel):
    number: int
    dockerfile_source: str
    dockerfile_name: str
    dockerfile: str
    change: str = Field(description="how this attempt's Dockerfile came about")
    ok: bool
    phase: Phase
    failure: Failure | None = None
    seconds: float
    log: str


class RepairOutcome(BaseModel):
    ok: bool
    env: EnvSpec = Field(description="the spec of the last attempt (the working one when ok)")
    attempts: list[AttemptRecord]
    failure: Failure | None = None
    verdict: Verdict = Verdict.passed
    reason: str = ""


def strip_ansi(text: str) -> str:
    # The daemon colours a step's stderr (ESC[91m ... ESC[0m) in the build stream.
    return _ANSI.sub("", text)


def log_tail(log: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log, led by the `Step n/m` header of the step they belong to."""
    kept = [line for line in strip_ansi(log).splitlines() if line.strip()]
    tail = kept[-lines:]
    steps = [line for line in kept if re.match(r"Step \d+/\d+ : ", line)]
    if steps and steps[-1] not in tail:
        tail.insert(0, steps[-1])
    return "\n".join(tail)


# --------------------------------------------------------------------------- classification


def _version_from(pattern: str, log: str) -> str | None:
    match = re.search(pattern, log, re.IGNORECASE | re.MULTILINE)
    return match.group(1) if match else None


# (class, pattern, detail extractor). Order matters: the first match wins, and the more
# specific signatures come before the generic ones they contain.
_RULES: list[tuple[FailureClass, str]] = [
    # --- the build was cancelled at the timeout (sandbox.build_image's last line): first, as
    # the log's tail is then whatever the compiler was printing
    (FailureClass.build_timeout, r"^\[abc-pipeline\] build timed out after (?P<seconds>\d+) s"),
    # --- the daemon could not pull a FROM image (its own words, before any step ran)
    (
        FailureClass.base_image_unavailable,
        r"(?:Get \"https://(?P<registry>[^/\"]+)/v2/[^\"]*\": (?:dial tcp|net/http|proxyconnect)"
        r"|pull access denied for (?P<image>[^\s,]+)"
        r"|manifest for (?P<manifest>\S+) not found)",
    ),
    # --- wrong language version
    (FailureClass.wrong_language_version, r"requires a different Python:?\s*(?P<have>[\d.]+) not in '(?P<want>[^']+)'"),
    (FailureClass.wrong_language_version, r"require a different python version.*?Requires-Python (?P<want>[^\s;]+)"),
    (FailureClass.wrong_language_version, r"go\.mod requires go >= ?(?P<want>\d+\.\d+)"),
    (FailureClass.wrong_language_version, r"go: errors parsing go\.mod:.*?invalid go version '(?P<want>\d+\.\d+)"),
    (
        FailureClass.wrong_language_version,
        r"The engine \"node\" is incompatible.*?Expected version \"(?P<want>[^\"]+)\"",
    ),
    (FailureClass.wrong_language_version, r"Unsupported engine.*?required: \{ node: '(?P<want>[^']+)'"),
    (FailureClass.wrong_language_version, r"requires rustc (?P<want>\d+\.\d+)"),
    (FailureClass.wrong_language_version, r"lock file version (?P<lock>4) requires"),
    (FailureClass.wrong_language_version, r"feature `edition(?P<edition>2024)` is required"),
    (FailureClass.wrong_language_version, r"Your Ruby version is [\d.]+, but your Gemfile specified (?P<want>[\d.]+)"),
    (FailureClass.wrong_language_version, r"requires php (?P<want>[^\s]+) but your php version"),
    (FailureClass.wrong_language_version, r"(?:release version|invalid target release:?) (?P<want>\d+)"),
    (FailureClass.wrong_language_version, r"class file version (?P<classfile>\d+)\.0"),
    # A CommonJS require() of a package that ships only ES modules: a newer Node loads it.
    (FailureClass.wrong_language_version, r"(?P<esm>ERR_REQUIRE_ESM)\]?: require\(\) of ES Module"),
    # webpack 4 and other OpenSSL 1 callers on Node >= 17 (OpenSSL 3): the legacy provider.
    (
        FailureClass.wrong_language_version,
        r"(?P<openssl>ERR_OSSL_EVP_UNSUPPORTED|digital envelope routines::(?:unsupported|initialization error))",
    ),
    # Python syntax newer than the interpreter (match, except*, PEP 695 generics, f-string
    # nesting): a version mismatch, whose want is the newest Python an image offers.
    (
        FailureClass.wrong_language_version,
        r"File \"/app/[^\"]+\.py\", line \d+\n(?:.*\n){0,3}(?P<syntax>SyntaxError): ",
    ),
    # --- lock file out of date
    (
        FailureClass.lockfile_mismatch,
        r"npm ci.*can only install packages when your package\.json and package-lock\.json",
    ),
    # rustc's error in the service's code, its note pointing into a registry crate's source:
    # `--> /usr/local/cargo/registry/src/index.crates.io-…/rsipstack-0.6.13/src/…`
    (
        FailureClass.dependency_drift,
        r"^error\[E\d+\]: (?:(?!^error)[\s\S]){0,3000}?-->\s*/\S*?/registry/src/[^/\s]+/"
        r"(?P<package>[A-Za-z0-9_][\w-]*?)-(?P<resolved>\d+\.\d+\.\d+[\w.+-]*)/",
    ),
    # Python's import of a name an installed package no longer has (Werkzeug 3 dropped
    # `url_quote`, which Flask 2.2 imports): the package is newer than the code was
    # written for. From the service's own code it is its own bug, not a drift.
    (
        FailureClass.dependency_drift,
        r"ImportError: cannot import name '(?P<symbol>\w+)' from '(?P<package>[A-Za-z_]\w*)[\w.]*' "
        r"\([^)\n]*?/(?:site|dist)-packages/",
    ),
    (FailureClass.lockfile_mismatch, r"package-lock\.json.*(?:not in sync|are not in sync)"),
    (FailureClass.lockfile_mismatch, r"ERESOLVE (?:unable to resolve|could not resolve)"),
    (FailureClass.lockfile_mismatch, r"Your lockfile needs to be updated.*frozen-lockfile"),
    (FailureClass.lockfile_mismatch, r"ERR_PNPM_OUTDATED_LOCKFILE|YN0028|The lockfile would have been modified"),
    (
        FailureClass.lockfile_mismatch,
        r"pyproject\.toml changed significantly since poetry\.lock|poetry\.lock is not consistent",
    ),
    (FailureClass.lockfile_mismatch, r"Pipfile\.lock \(\w+\) out of date"),
    (FailureClass.lockfile_mismatch, r"lockfile at `uv\.lock` needs to be updated"),
    (
        FailureClass.lockfile_mismatch,
        r"The gemspecs for path gems changed|You are trying to install in (?:deployment|frozen) mode",
    ),
    (FailureClass.lockfile_mismatch, r"lock file is not up to date with the latest changes in composer\.json"),
    (FailureClass.lockfile_mismatch, r"lock file .*Cargo\.lock needs to be updated but --locked was passed"),
    # cargo 1.8x and later say it this way
    (FailureClass.lockfile_mismatch, r"cannot update the lock file .*Cargo\.lock because --locked was passed"),
    (FailureClass.lockfile_mismatch, r"missing go\.sum entry|go: updates to go\.mod needed"),
    # --- missing environment variable
    (FailureClass.missing_env_var, r"KeyError: '(?P<name>(?-i:[A-Z][A-Z0-9_]+))'"),
    (FailureClass.missing_env_var, r"key not found: \"(?P<name>(?-i:[A-Z][A-Z0-9_]+))\" \(KeyError\)"),
    (
        FailureClass.missing_env_var,
        r"(?:environment variable|env var(?:iable)?)[:\s]+['\"`]?(?P<name>(?-i:[A-Z][A-Z0-9_]{2,}))['\"`]? "
        r"(?:is )?(?:not set|missing|required|undefined|must be set)",
    ),
    (
        FailureClass.missing_env_var,
        r"(?:missing|required) (?:required )?(?:environment variable|env var)s?[:\s]+"
        r"['\"`]?(?P<name>(?-i:[A-Z][A-Z0-9_]{2,}))",
    ),
    (
        FailureClass.missing_env_var,
        r"(?P<name>(?-i:[A-Z][A-Z0-9_]{2,})) (?:environment variable )?"
        r"(?:is not set|must be set|is required|not defined)",
    ),
    (FailureClass.missing_env_var, r"Could not resolve placeholder '(?P<name>[\w.]+)'"),
    # python-decouple's config("NAME") with no default, pydantic-settings' required field
    (FailureClass.missing_env_var, r"UndefinedValueError: (?P<name>\w+) not found\. Declare it as envvar"),
    (
        FailureClass.missing_env_var,
        r"validation errors? for \w*Settings\s*\n\s*(?P<name>\w+)\s*\n\s*Field required",
    ),
    # --- the database is there and answered with an error (the server's own wording:
    # MySQL/MariaDB's `Table 'db.t' doesn't exist`, PostgreSQL's `relation "t" does not exist`)
    (
        FailureClass.database_error,
        r"(?P<error>Table '[\w$.\-]+' doesn't exist|Unknown database '[^']+'|"
        r"Access denied for user '[^']*'@'[^']*'|Unknown column '[^']+' in '[^']+'|"
        r"relation \"[\w.]+\" does not exist|(?:database|schema) \"[\w\-]+\" does not exist|"
        r"password authentication failed for user \"[^\"]+\"|"
        r"SQLSyntaxErrorException: [^\n]+)",
    ),
    # --- a server the service needs is not there (before "connection refused": that
    # refusal is the database's port, not the service's); Node says ECONNREFUSED host:port,
    # Go `dial tcp host:port: connect: connection refused`
    (
        FailureClass.needs_service,
        r"(?P<mongodb>Mongo(?:ServerSelection|Network|Timeout)Error|MongooseServerSelectionError|"
        r"(?:ECONNREFUSED|dial tcp) [\w.\-\[\]:]*:27017)",
    ),
    (
        FailureClass.needs_service,
        r"(?P<postgresql>(?:ECONNREFUSED|dial tcp) [\w.\-\[\]:]*:5432|port 5432 failed|"
        r"accepting TCP/IP connections on port 5432|"
        r"psycopg2?\.OperationalError|asyncpg\.exceptions\.\w*Connect|SequelizeConnection\w*Error)",
    ),
    (
        FailureClass.needs_service,
        r"(?P<mysql>(?:ECONNREFUSED|dial tcp) [\w.\-\[\]:]*:3306|Can't connect to (?:local )?MySQL server|"
        r"pymysql\.err\.OperationalError|MySQLdb\.OperationalError)",
    ),
    (
        FailureClass.needs_service,
        r"(?P<redis>(?:ECONNREFUSED|dial tcp) [\w.\-\[\]:]*:6379|Error connecting to Redis|"
        r"redis\.exceptions\.ConnectionError)",
    ),
    (FailureClass.needs_service, r"(?P<docker>spawn docker ENOENT|docker: (?:command )?not found)"),
    # Any other server it dials at start and finds closed (a Kubernetes API, a queue, an
    # upstream service): not one the pipeline knows how to start.
    (
        FailureClass.needs_service,
        r"(?:connect ECONNREFUSED|dial tcp) (?P<address>[\w.\-\[\]]+:\d{2,5})(?:: connect: connection refused)?",
    ),
    # A host name it resolves at start that no DNS here knows: an outside service (a cloud
    # queue, a SaaS API), and a sandboxed service has no network beyond its own.
    (
        FailureClass.needs_service,
        r"(?:java\.net\.UnknownHostException: |getaddrinfo (?:ENOTFOUND|EAI_AGAIN) |"
        r"Failed to resolve '|dial tcp: lookup )(?P<outside_host>[a-z0-9][\w.\-]*\.[a-z]{2,})",
    ),
    # --- the service listens elsewhere
    (FailureClass.port_mismatch, r"EADDRINUSE:? address already in use [^\s]*?:(?P<inuse>\d+)"),
    (FailureClass.port_mismatch, r"(?:address already in use|Address already in use).*?(?P<inuse>\d{2,5})"),
    (
        FailureClass.port_mismatch,
        r"(?:listening|running|started|serving|server|now listening)[^\n]*?(?:on|at)[:\s]+(?:https?://)?(?P<host>127\.0\.0\.1|localhost|\[::1\])(?::(?P<port>\d+))?",
    ),
    (
        FailureClass.port_mismatch,
        r"(?:listening|running|started|starting|serving)[^\n]*?"
        r"(?:port\(?s?\)?[:\s]+|https?://[\w.\[\]:]*?:|0\.0\.0\.0:|\*:|:::)(?P<port>\d{2,5})",
    ),
    (FailureClass.port_mismatch, r"connection refused(?: on port (?P<refused>\d+))?"),
    # --- a build product the start command needs is missing
    (FailureClass.missing_build_step, r"Cannot find module '(?P<module>/app/(?:dist|build|out|lib)/[^']+)'"),
    (
        FailureClass.missing_build_step,
        r"(?P<devtool>tsc|nest|babel|vite|webpack|next|tsup|rimraf): (?:not found|command not found)",
    ),
    # A package the service requires at run time that only devDependencies declare (a
    # webpack plugin an Express dev server loads): the production install left it out;
    # or that no manifest declares at all (a server beside a tool): it is installed.
    (
        FailureClass.missing_build_step,
        r"Cannot find module '(?P<package>(?:@[\w.-]+/)?\w[\w.-]*)(?:/[\w./-]+)?'",
    ),
    # Python's spelling: an import no requirement provides (undeclared, or declared only
    # for development). The service's own modules are never installed (ServiceFacts).
    (FailureClass.missing_build_step, r"ModuleNotFoundError: No module named '(?P<module>[A-Za-z_]\w*)[\w.]*'"),
    (
        FailureClass.missing_build_step,
        r"Unable to access jarfile|no main manifest attribute|ls: cannot access '(?:target|build/libs)/\*\.jar'",
    ),
    # ES module source started as CommonJS: its start script runs it through a transpiler
    # (babel-node, ts-node) or a build the start command skipped (carte-blanche's example).
    (FailureClass.missing_build_step, r"(?P<esm>SyntaxError: Cannot use import statement outside a module)"),
    (FailureClass.missing_build_step, r"exec: \"(?P<binary>[^\"]+)\": stat [^:]+: no such file or directory"),
    (FailureClass.missing_build_step, r"(?P<binary>\./target/release/[\w-]+|/app/server): not found"),
    # --- a file the code loads is not there (relative requires; after the package rules)
    (FailureClass.missing_source, r"Cannot find module '(?P<path>\.\.?/[^']+)'"),
    (FailureClass.missing_source, r"FileNotFoundError: \[Errno 2\] No such file or directory: '(?P<path>[^']+)'"),
    (FailureClass.missing_source, r"Error: ENOENT: no such file or directory, open '(?P<path>[^']+)'"),
    # Go's os.Open of an absolute path (a folder the repository's own image puts at the root)
    (FailureClass.missing_source, r"open (?P<path>/[\w.\-/]+): no such file or directory"),
    # --- a configuration file the repository does not ship (or a setting missing from it)
    (FailureClass.missing_config, r"(?P<setting>missing [\w.\-]+ in (?:the )?config(?:uration)?\b)"),
    (FailureClass.missing_config, r"(?P<setting>[Cc]onfig File \"[^\"]+\" Not Found)"),
    (FailureClass.missing_config, r"(?P<setting>config(?:uration)? file (?:at location )?\(?[\w./~-]+\)? not found)"),
    # --- the service's own code is broken at start
    # inquirer's "? Pick one: (Use arrow keys)", clack's "◆  What would you like to do?", "[y/N]"
    (FailureClass.interactive_program, r"^(?P<prompt>[?◆◇]\s+.{1,120}\?)\s*(?:\(Use arrow keys\))?\s*$"),
    (FailureClass.interactive_program, r"(?P<prompt>.{0,120}(?:\(Use arrow keys\)|\[y/N\]|\[Y/n\]|\(y/N\)|\(Y/n\)))"),
    (FailureClass.app_error, r"^(?P<error>NameError): name '\w+' is not defined"),
    (FailureClass.app_error, r"^(?P<error>ReferenceError): \w+ is not defined"),
    # Spring: a component injects a bean that no configuration of the repository defines
    # (the @Bean method commented out): no start command or variable makes one.
    (FailureClass.app_error, r"required a bean of type '(?P<bean>[\w.$]+)' that could not be found"),
    # --- a Debian package is missing
    (
        FailureClass.wrapper_unavailable,
        r"(?:FileNotFoundException|IOException|Could not (?:download|fetch)|Downloading [^\n]* failed)[^\n]*?"
        r"(?P<distribution>https?://[^\s'\"]+/apache-maven-[\w.\-]+-bin\.(?:zip|tar\.gz))",
    ),
    (FailureClass.missing_system_package, r"E: Unable to locate package (?P<unknown_package>[\w.+-]+)"),
    (
        FailureClass.missing_system_package,
        r"(?P<tool>gcc|cc|g\+\+|make|git|pkg-config|unzip|curl|pg_config|mysql_config)(?:\"|'|:)? "
        r"(?:command )?not found",
    ),
    (FailureClass.missing_system_package, r"error: command '(?P<tool>[\w/+.-]+)' failed: No such file or directory"),
    # node-gyp building a native module (better-sqlite3, bcrypt) spells it the other way round
    (FailureClass.missing_system_package, r"gyp ERR! stack Error: not found: (?P<tool>make|gcc|g\+\+|cc|c\+\+)\b"),
    # yarn 1 fetching a dependency from a git URL
    (FailureClass.missing_system_package, r"Couldn't find the binary (?P<tool>git)\b"),
    # setuptools' own spelling when the compiler is missing (psycopg2, mysqlclient, ...)
    (
        FailureClass.missing_system_package,
        r"No such file or directory: '(?P<tool>(?:x86_64-linux-gnu-)?(?:gcc|g\+\+|cc|c\+\+))'",
    ),
    (FailureClass.missing_system_package, r"fatal error: (?P<header>[\w/.+-]+\.h): No such file or directory"),
    (
        FailureClass.missing_system_package,
        r"Package (?P<pkgconfig>[\w.+-]+) was not found in the pkg-config search path",
    ),
    (FailureClass.missing_system_package, r"(?P<tool>pg_config) executable not found"),
    (FailureClass.missing_system_package, r"could not find system library '(?P<pkgconfig>[\w.+-]+)'"),
]

# Tools, headers and pkg-config names -> the Debian package that provides them.
DEBIAN_PROVIDERS = {
    "gcc": "build-essential",
    "cc": "build-essential",
    "g++": "build-essential",
    "make": "build-essential",
    "x86_64-linux-gnu-gcc": "build-essential",
    "x86_64-linux-gnu-g++": "build-essential",
    "c++": "build-essential",
    "git": "git",
    "pkg-config": "pkg-config",
    "unzip": "unzip",
    "curl": "curl",
    "pg_config": "libpq-dev",
    "mysql_config": "default-libmysqlclient-dev",
    "Python.h": "python3-dev",
    "ffi.h": "libffi-dev",
    "openssl/ssl.h": "libssl-dev",
    "openssl": "libssl-dev",
    "libpq-fe.h": "libpq-dev",
    "sqlite3.h": "libsqlite3-dev",
    "sqlite3": "libsqlite3-dev",
    "zlib.h": "zlib1g-dev",
    "libxml/parser.h": "libxml2-dev",
    "libxml-2.0": "libxml2-dev",
    "yaml.h": "libyaml-dev",
    "jpeglib.h": "libjpeg-dev",
    "libpq": "libpq-dev",
    "mysqlclient": "default-libmysqlclient-dev",
}


# Lines every apt-get in a Dockerfile prints that name no failure ("TERM is not set").
_NOISE = re.compile(r"^debconf: .*$\n?", re.MULTILINE)


def classify(log: str, phase: Phase) -> Failure:
    """The failure class of a build log (phase "build") or a start's log tail (phase "start")."""
    log = _NOISE.sub("", strip_ansi(log))
    for failure_class, pattern in _RULES:
        match = _announced_port(pattern, log) if "(?P<port>" in pattern else None
        match = match or re.search(pattern, log, re.IGNORECASE | re.MULTILINE)
        if match is None:
            continue
        # Port and build-product signatures only mean that at start; a build log mentions
        # "listening" or "connection refused" for other reasons (a registry, a test server).
        if phase == "build" and failure_class == FailureClass.port_mismatch:
            continue
        detail = {k: v for k, v in match.groupdict().items() if v}
        # A build that cannot reach an address is the network's (a registry), not a server's.
        if phase == "build" and ("address" in detail or "outside_host" in detail):
            continue
        start = log.rfind("\n", 0, match.start()) + 1
        end = log.find("\n", match.start())
        evidence = log[start : end if end != -1 else len(log)].strip()[:300]
        return Failure(failure_class=failure_class, phase=phase, evidence=evidence, detail=detail)
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    # A Go panic is what ended the process, whatever error lines were logged before it;
    # Spring Boot's failure analysis says the cause under its banner.
    panics = [line for line in lines if line.startswith(("panic: ", "fatal error: "))]
    described = _spring_failure_description(log)
    errors = [line for line in lines if re.search(r"error|fatal|failed|exception", line, re.IGNORECASE)]
    evidence = (panics[-1:] or described or errors or lines or ["no output"])[-1][:300]
    return Failure(failure_class=FailureClass.unknown, phase=phase, evidence=evidence)


def _announced_port(pattern: str, log: str) -> re.Match[str] | None:
    """The last address a start log announces, leaving out UDP ones. A service may announce
    several (rustpbx: its SIP proxy on UDP 5060, a health check, then `starting rustpbx on
    0.0.0.0:8080`); servers announce their HTTP listener once the rest is up."""
    found = None
    for match in re.finditer(pattern, log, re.IGNORECASE | re.MULTILINE):
        start = log.rfind("\n", 0, match.start()) + 1
        end = log.find("\n", match.start())
        if not re.search(r"\budp\b", log[start : end if end != -1 else len(log)], re.IGNORECASE):
            found = match
    return found


# Spring Boot's FailureAnalyzer report: a banner, then "Description:" and "Action:" paragraphs.
_SPRING_FAILURE = re.compile(
    r"APPLICATION FAILED TO START\s*\*+\s*Description:\s*(?P<description>.+?)\s*(?:Action:|\Z)", re.DOTALL
)


def _spring_failure_description(log: str) -> list[str]:
    """The cause Spring Boot gives under "APPLICATION FAILED TO START", as one line ([] when
    the log has no such report)."""
    found = list(_SPRING_FAILURE.finditer(log))
    if not found:
        return []
    return [" ".join(line.strip() for line in found[-1].group("description").splitlines() if line.strip())]


# --------------------------------------------------------------------------- Dockerfile edits


def _lines(dockerfile: str) -> list[str]:
    return dockerfile.rstrip("\n").split("\n")


def _insert_before(dockerfile: str, new_lines: list[str], *, before: tuple[str, ...], log: str = "") -> str:
    """Insert lines before the step that failed (from the build log), else before the first
    instruction starting with one of `before` in the last stage, else at the end."""
    lines = _lines(dockerfile)
    steps = re.findall(r"^Step \d+/\d+ : (.+)$", log, re.MULTILINE)
    if steps:
        failing = steps[-1].strip()
        for i, line in enumerate(lines):
            if line.strip() == failing:
                return "\n".join(lines[:i] + new_lines + lines[i:]) + "\n"
    last_from = max((i for i, line in enumerate(lines) if line.upper().startswith("FROM ")), default=0)
    for i in range(last_from, len(lines)):
        if lines[i].split(" ", 1)[0].upper() in before:
            return "\n".join(lines[:i] + new_lines + lines[i:]) + "\n"
    return "\n".join(lines + new_lines) + "\n"


def _after_workdir(dockerfile: str, new_lines: list[str]) -> str:
    """Insert right after the first stage's WORKDIR (or FROM): system packages go early."""
    lines = _lines(dockerfile)
    anchor = next((i for i, line in enumerate(lines) if line.upper().startswith("WORKDIR ")), None)
    if anchor is None:
        anchor = next((i for i, line in enumerate(lines) if line.upper().startswith("FROM ")), 0)
    return "\n".join(lines[: anchor + 1] + new_lines + lines[anchor + 1 :]) + "\n"


def _set_env(env: EnvSpec, dockerfile: str, values: dict[str, str]) -> EnvSpec:
    return env.model_copy(update={"dockerfile": dockerfile, "env": dict(sorted({**env.env, **values}.items()))})


# --------------------------------------------------------------------------- the rules


class RuleBasedStrategy:
    """One deterministic fix per failure class; gives up when the fix would change nothing."""

    name = "rules"

    def propose(self, failure: Failure, log_tail: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        fixer = {
            FailureClass.missing_system_package: self._system_package,
            FailureClass.wrong_language_version: self._language_version,
            FailureClass.missing_env_var: self._env_var,
            FailureClass.port_mismatch: self._port,
            FailureClass.missing_build_step: self._build_step,
            FailureClass.lockfile_mismatch: self._lockfile,
            FailureClass.needs_service: self._sidecar,
            FailureClass.missing_source: self._absolute_path,
            FailureClass.wrapper_unavailable: self._without_wrapper,
            FailureClass.dependency_drift: self._pin,
        }.get(failure.failure_class)
        if fixer is None:
            return None
        proposal = fixer(failure, log_tail, env, facts)
        unchanged = (proposal.env.dockerfile, proposal.env.port, proposal.env.sidecars) if proposal else None
        if proposal is None or unchanged == (env.dockerfile, env.port, env.sidecars):
            return None
        return proposal

    # -- a file at an absolute path that the repository has under its own folder
    def _absolute_path(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        """`open /migrations: no such file or directory` where the service folder has a
        `migrations`: the repository's own image copies it to the root; a link does too."""
        path = failure.detail.get("path", "")
        first = path.lstrip("/").split("/", 1)[0]
        workdirs = re.findall(r"^WORKDIR\s+(\S+)", env.dockerfile, re.MULTILINE)
        workdir = (workdirs[-1] if workdirs else "/app").rstrip("/")
        if not path.startswith("/") or path.startswith(workdir + "/") or first not in facts.top_level:
            return None
        line = f"RUN ln -sfn {workdir}/{first} /{first}"
        fixed = _insert_before(env.dockerfile, [line], before=("ENV", "EXPOSE", "CMD", "ENTRYPOINT"))
        return Proposal(env=env.model_copy(update={"dockerfile": fixed}), change=f"link /{first} to {workdir}/{first}")

    # -- a dependency's newer release than the manifest names breaks the code
    def _pin(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        """A dependency newer than the code was written for, pinned back before the build:
        - the version the manifest names: rustpbx names `rsipstack = "0.6.4"` and ships no
          lock file; the build took 0.6.13, whose `make_call_id` takes another argument;
        - else the package's newest release before the repository's commit: Flask 2.2 with
          Werkzeug left open imports `url_quote`, which Werkzeug 3 (2023-09) removed."""
        package, resolved = failure.detail.get("package", ""), failure.detail.get("resolved", "")
        if not package or not has_language(facts.language):
            return None
        language = get_language(facts.language)
        named = facts.declared_versions.get(package) or facts.declared_versions.get(package.replace("_", "-"), "")
        exact = re.fullmatch(r"[\^=~]?\s*(\d+\.\d+\.\d+)", named.strip())
        if exact and exact.group(1) != resolved:
            version = exact.group(1)
            why = f"the version the manifest names (the build took {resolved})"
        elif not exact and facts.committed_at:
            version = language.version_as_of(package, facts.committed_at)
            why = f"its newest release before the repository's commit of {facts.committed_at[:10]}"
        else:
            return None
        fixed = language.pin_dependency(env.dockerfile, package, version) if version else None
        if fixed is None:
            return None
        change = f"pin {package} to {version}, {why}"
        return Proposal(env=env.model_copy(update={"dockerfile": fixed}), change=change)

    # -- a build tool wrapper whose distribution cannot be fetched
    def _without_wrapper(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        """`./mvnw` downloads the Maven its properties pin (3.6.0) and the registry here has
        not that one: Debian's Maven builds the project instead."""
        text = env.dockerfile
        if "./mvnw" not in text:
            return None
        fixed = re.sub(r"chmod \+x mvnw && ", "", text).replace("./mvnw", "mvn")
        needs_maven = {"failure_class": FailureClass.missing_system_package, "detail": {"tool": "maven"}}
        with_maven = self._system_package(
            failure.model_copy(update=needs_maven),
            log,
            env.model_copy(update={"dockerfile": fixed}),
            facts,
        )
        fixed = with_maven.env.dockerfile if with_maven else fixed
        return Proposal(
            env=env.model_copy(update={"dockerfile": fixed}),
            change=f"build with Debian's Maven: the wrapper's {failure.detail.get('distribution', 'distribution')} "
            "is not served here",
        )

    # -- missing system package
    def _system_package(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        text = env.dockerfile
        unknown = failure.detail.get("unknown_package")
        if unknown:
            if "apt-get update" not in text:
                fixed = re.sub(r"apt-get install", "apt-get update && apt-get install", text, count=1)
                return Proposal(env=env.model_copy(update={"dockerfile": fixed}), change="run apt-get update first")
            fixed = re.sub(rf"(apt-get install[^\n]*?)\s+{re.escape(unknown)}(?=\s|$)", r"\1", text)
            return Proposal(
                env=env.model_copy(update={"dockerfile": fixed}), change=f"drop {unknown}: Debian has no such package"
            )
        key = failure.detail.get("tool") or failure.detail.get("header") or failure.detail.get("pkgconfig") or ""
        package = DEBIAN_PROVIDERS.get(key) or DEBIAN_PROVIDERS.get(key.rsplit("/", 1)[-1])
        if package is None:
            package = f"lib{key.removeprefix('lib')}-dev" if failure.detail.get("pkgconfig") else key
        if not package or re.search(rf"apt-get install[^\n]*\s{re.escape(package)}(\s|$)", text):
            return None
        match = re.search(r"(apt-get install -y --no-install-recommends)([^\n\\]*)", text)
        if match:
            fixed = text[: match.end()] + f" {package}" + text[match.end() :]
        else:
            fixed = _after_workdir(
                text,
                [
                    "RUN apt-get update \\",
                    f" && apt-get install -y --no-install-recommends {package} \\",
                    " && rm -rf /var/lib/apt/lists/*",
                ],
            )
        return Proposal(
            env=env.model_copy(update={"dockerfile": fixed}), change=f"install the Debian package {package}"
        )

    # -- wrong language version
    def _language_version(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        if not has_language(facts.language):
            return None
        language = get_language(facts.language)
        want = failure.detail.get("want")
        if failure.detail.get("openssl"):
            line = "ENV NODE_OPTIONS=--openssl-legacy-provider"
            if line in env.dockerfile:
                return None
            fixed = _insert_before(env.dockerfile, [line], before=("RUN", "CMD"), log=log)
            return Proposal(
                env=env.model_copy(update={"dockerfile": fixed}),
                change="Node's OpenSSL 3 refuses the legacy hash the code uses: --openssl-legacy-provider",
            )
        version = language.version_for_failure(failure.detail) or self._wanted_version(failure, language)
        if version is None:
            return None
        image = language.image(version)
        if image is None or image in env.dockerfile.split("\n", 3)[1:3] or f"FROM {image}" in env.dockerfile:
            return None
        if facts.offline and base_images.recipe_for_image(image) is None:
            # Offline only the stand-ins exist: a newer image cannot be pulled, but the
            # language may install the release over the stand-in's from its own server.
            fetched = language.fetch_toolchain(env.dockerfile, version)
            if fetched is None:
                return None
            return Proposal(
                env=env.model_copy(update={"dockerfile": fetched}),
                change=f"install {facts.language} {version} over the stand-in: the log asks for {want or version}",
            )
        fixed = re.sub(r"^FROM \S+", f"FROM {image}", env.dockerfile, count=1, flags=re.MULTILINE)
        return Proposal(
            env=env.model_copy(update={"dockerfile": fixed, "base_image": image}),
            change=f"use {image}: the log asks for {facts.language} {want or version}",
        )

    @staticmethod
    def _wanted_version(failure: Failure, language: Language) -> str | None:
        """The image version a "needs version X" failure asks for, among the official ones."""
        official = language.official_versions
        want = failure.detail.get("want")
        if failure.detail.get("syntax"):
            return official[-1] if official else None
        if not want:
            return None
        if re.fullmatch(r"[\d.]+", want):
            version = want.split(".")[0] if language.major_versions else major_minor(want)
            # a bare number in a Go / Rust message is a minimum; in Ruby's, exact
            if official and version not in official and not language.log_version_is_minimum:
                version = pick_version(f">={version}", official, official[-1])
            return version
        return pick_version(want, official, language.stand_in_version or official[0]) if official else None

    # -- missing environment variable
    def _env_var(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        name = failure.detail.get("name", "")
        if "." in name:  # a Spring placeholder: relaxed binding reads it from FOO_BAR
            name = re.sub(r"[.\-]", "_", name).upper()
        if not name or re.search(rf"^ENV {re.escape(name)}=", env.dockerfile, re.MULTILINE):
            return None
        value = dummy_value(name, env.port)
        # At build time the variable must exist before the step that failed; at start, anywhere.
        if failure.phase == "build":
            fixed = _insert_before(env.dockerfile, [f'ENV {name}="{value}"'], before=("RUN", "EXPOSE", "CMD"), log=log)
        else:
            fixed = _insert_before(env.dockerfile, [f'ENV {name}="{value}"'], before=("EXPOSE", "CMD"))
        return Proposal(env=_set_env(env, fixed, {name: value}), change=f"set {name} to a dummy value")

    # -- a server the service needs
    def _sidecar(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        needs = [
            sidecars.Need(sidecars.KINDS[kind], reasons=[f"its log: {failure.evidence}"])
            for kind in failure.detail
            if kind in sidecars.KINDS and sidecars.KINDS[kind].image
        ]
        attached = sidecars.attach(env, needs, facts.env_names)
        if attached is env:
            return None
        started = ", ".join(s.image for s in attached.sidecars[len(env.sidecars) :])
        return Proposal(env=attached, change=f"started {started} beside the service")

    # -- port mismatch / loopback binding
    def _port(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        text = env.dockerfile
        host = failure.detail.get("host")
        port = int(failure.detail["port"]) if failure.detail.get("port") else None
        if host:
            bind = get_language(facts.language).bind_everywhere(port or env.port)
            missing = {
                k: v for k, v in bind.items() if not re.search(rf"^ENV {k}=\"{re.escape(v)}\"", text, re.MULTILINE)
            }
            if missing:
                lines = [f'ENV {k}="{v}"' for k, v in missing.items()]
                stripped = "\n".join(
                    line for line in _lines(text) if not any(line.startswith(f"ENV {k}=") for k in missing)
                )
                fixed = _insert_before(stripped + "\n", lines, before=("EXPOSE", "CMD"))
                return Proposal(env=_set_env(env, fixed, missing), change=f"bind to 0.0.0.0 ({', '.join(missing)})")
        if port and port != env.port:
            fixed = re.sub(r"^EXPOSE \d+", f"EXPOSE {port}", text, flags=re.MULTILINE)
            return Proposal(
                env=env.model_copy(update={"dockerfile": fixed, "port": port}),
                change=f"the service listens on {port}, not {env.port}: expose and probe {port}",
            )
        in_use = failure.detail.get("inuse")
        if in_use and int(in_use) == env.port:
            # Something else in the image holds the port: move the service (through PORT).
            moved = env.port + 1
            lines = [line for line in _lines(text) if not line.startswith("ENV PORT=")]
            fixed = re.sub(r"^EXPOSE \d+", f"EXPOSE {moved}", "\n".join(lines) + "\n", flags=re.MULTILINE)
            fixed = _insert_before(fixed, [f'ENV PORT="{moved}"'], before=("EXPOSE", "CMD"))
            return Proposal(
                env=_set_env(env, fixed, {"PORT": str(moved)}).model_copy(update={"port": moved}),
                change=f"port {env.port} is taken inside the container: serve on {moved} through PORT",
            )
        refused = failure.detail.get("refused") or "connection refused" in failure.evidence.lower()
        if refused and not re.search(r"^ENV PORT=", text, re.MULTILINE):
            fixed = _insert_before(text, [f'ENV PORT="{env.port}"'], before=("EXPOSE", "CMD"))
            return Proposal(env=_set_env(env, fixed, {"PORT": str(env.port)}), change=f"tell the app PORT={env.port}")
        return None

    # -- missing build step
    def _build_step(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        text = env.dockerfile
        module = failure.detail.get("module")
        if module and not module.startswith("/"):
            if module in facts.own_names or not has_language(facts.language):
                return None  # the service's own module: a path problem, not a package
            return self._extra_package(get_language(facts.language).package_for_module(module), env, facts)
        package = failure.detail.get("package")
        if failure.detail.get("devtool") or package:
            # The build (or the start) needs devDependencies the install left out.
            fixed = re.sub(r" --omit=dev| --production(?=\s|$)| --prod(?=\s|$)", "", text)
            if fixed != text or not package:
                return Proposal(
                    env=env.model_copy(update={"dockerfile": fixed}), change="install devDependencies for the build"
                )
            return self._extra_package(package, env, facts)
        tc = facts.toolchain
        default = get_language(facts.language).default_build if has_language(facts.language) else None
        command = tc.build_command if tc and tc.build_command else default
        if command is None or f"RUN {command}" in text:
            return None
        fixed = _insert_before(text, [f"RUN {command}"], before=("ENV", "EXPOSE", "CMD"))
        return Proposal(env=env.model_copy(update={"dockerfile": fixed}), change=f"add the build step `{command}`")

    @staticmethod
    def _extra_package(package: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        """Install a package the code requires and no manifest declares, the language's way."""
        language = get_language(facts.language) if has_language(facts.language) else None
        if language is None or language.extra_install is None:
            return None
        line = f"RUN {language.extra_install.format(package)}"
        if line in env.dockerfile:
            return None
        fixed = _insert_before(env.dockerfile, [line], before=("ENV", "EXPOSE", "CMD"))
        return Proposal(
            env=env.model_copy(update={"dockerfile": fixed}),
            change=f"install {package}: the code requires it and the manifest does not declare it",
        )

    # -- lock file mismatch
    def _lockfile(self, failure: Failure, log: str, env: EnvSpec, facts: ServiceFacts) -> Proposal | None:
        text = env.dockerfile
        if "ERESOLVE" in failure.evidence.upper():
            fixed = re.sub(r"(npm (?:ci|install)\b[^\n&]*)", r"\1 --legacy-peer-deps", text, count=1)
            return Proposal(env=env.model_copy(update={"dockerfile": fixed}), change="npm: --legacy-peer-deps")
        # Every language's frozen installs: a Dockerfile may install more than one language's
        # dependencies (a frontend's npm ci in a Python image).
        fixed = replace_all(text, tuple(rule for language in LANGUAGES for rule in language.unfreeze))
        if has_language(facts.language):
            fixed = get_language(facts.language).unlock(fixed)
        return Proposal(env=env.model_copy(update={"dockerfile": fixed}), change="install without the frozen lock file")


# --------------------------------------------------------------------------- the loop


def run_attempts(
    env: EnvSpec,
    facts: ServiceFacts,
    try_once: Callable[[EnvSpec], TryResult],
    *,
    strategy: RepairStrategy,
    max_repairs: int,
    fallback: EnvSpec | None = None,
    first_change: str = "synthesized from the template",
) -> RepairOutcome:
    """Try `env`; on a failure, classify it and try what the strategy proposes, up to
    `max_repairs` times. With `fallback`, a failure of `env` (the repository's own
    Dockerfile, which is never edited) switches to the fallback first, and the repairs
    apply to that one.
    """
    attempts: list[AttemptRecord] = []
    current, change = env, first_change
    repairs_left = max_repairs
    while True:
        started = time.monotonic()
        result = try_once(current)
        failure = None if result.ok else classify(result.log, result.phase)
        attempts.append(
            AttemptRecord(
                number=len(attempts) + 1,
                dockerfile_source=str(getattr(current, "dockerfile_source", "synthesized")),
                dockerfile_name=str(getattr(current, "dockerfile_name", "Dockerfile")),
                dockerfile=current.dockerfile,
                change=change,
                ok=result.ok,
                phase=result.phase,
                failure=failure,
                seconds=round(time.monotonic() - started, 3),
                log=result.log,
            )
        )
        if result.ok:
            return RepairOutcome(ok=True, env=current, attempts=attempts, reason=f"{len(attempts)} attempt(s)")
        assert failure is not None
        if fallback is not None:
            current, fallback = fallback, None
            change = f"the repository's Dockerfile failed ({failure.failure_class}): synthesized instead"
            continue
        if result.verdict == Verdict.infra_error:
            # The machine failed (disk, OOM, network): no Dockerfile change can help, and
            # the repository is not to blame.
            reason = f"the machine failed, not the repository: {result.reason or failure.evidence}"
            return RepairOutcome(
                ok=False, env=current, attempts=attempts, failure=failure, verdict=Verdict.infra_error, reason=reason
            )
        proposal = None
        if repairs_left > 0:
            proposal = strategy.propose(failure, log_tail(result.log), current, facts)
        if proposal is None:
            verdict = result.verdict or Verdict.build_error
            why = "no repair left" if repairs_left <= 0 else f"the {strategy.name} strategy has no fix"
            if failure.failure_class == FailureClass.needs_service:
                which = ", ".join(failure.detail) or "another"
                kinds = [sidecars.KINDS[k] for k in failure.detail if k in sidecars.KINDS]
                missing = [kind for kind in kinds if not kind.image]
                if missing:
                    verdict = Verdict.service_unavailable
                    why = f"it needs a {which} server beside it: " + "; ".join(k.unavailable for k in missing)
                elif "docker" in failure.detail:
                    why = "it runs Docker itself, which a sandboxed service cannot"
                elif "outside_host" in failure.detail:
                    verdict = Verdict.service_unavailable
                    why = (
                        f"it connects to {failure.detail['outside_host']} at start: an outside service, and a "
                        "sandboxed service reaches no network beyond its own"
                    )
                elif "address" in failure.detail:
                    verdict = Verdict.service_unavailable
                    why = (
                        f"it connects to {failure.detail['address']} at start: a server it needs that neither "
                        "the repository's compose file nor a driver it uses names, so none is started beside it"
                    )
                else:
                    why = f"it needs a {which} server beside it, and the one started beside it did not help"
            elif failure.failure_class == FailureClass.missing_source:
                why = (
                    f"{failure.detail.get('path', 'a file')} is not in the build context: not committed, "
                    "ignored, or outside the service's folder"
                )
            elif failure.failure_class == FailureClass.app_error and "bean" in failure.detail:
                why = f"the service's own code fails at start: no configuration defines a {failure.detail['bean']}"
            elif failure.failure_class == FailureClass.app_error:
                why = "the service's own code fails at start"
            elif failure.failure_class == FailureClass.missing_config:
                why = "it needs a configuration file (or a setting in one) that the repository does not ship"
            elif failure.failure_class == FailureClass.dependency_drift:
                taken = failure.detail.get("resolved") or "as the build resolved it"
                why = (
                    f"the code does not work with {failure.detail.get('package')} {taken}, a newer release than it "
                    "was written for, and no lock file pins it"
                )
            elif failure.failure_class == FailureClass.build_timeout:
                why = (
                    f"its build took longer than {failure.detail.get('seconds', 'the')} s, the build timeout "
                    "(ABC_BUILD_TIMEOUT): a longer one may let it finish"
                )
            elif failure.failure_class == FailureClass.interactive_program:
                why = "its start command runs an interactive program that asks what to do, not a server"
            elif failure.failure_class == FailureClass.database_error:
                why = (
                    "its database answered with an error: a table its SQL dump did not make (or it has none), "
                    "a database or user of another name"
                )
            reason = f"{failure.failure_class}: {failure.evidence} ({why} after {len(attempts)} attempt(s))"
            return RepairOutcome(
                ok=False, env=current, attempts=attempts, failure=failure, verdict=verdict, reason=reason
            )
        repairs_left -= 1
        current, change = proposal.env, f"{strategy.name}: {proposal.change}"
