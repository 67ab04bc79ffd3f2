"""The one table of how a verification ends: run-tests.sh's exit codes, and the messages
that show the machine, not the repository, at fault.

Both the Python side (the pipeline's own builds in sandbox.py, the gate's trials in
trial.py) and the task's shell scripts (run-tests.sh, Harbor's test.sh, rendered through
`template_values`) read them from here, so a script and the code that judges it never
disagree. A broken machine must never count against a task: its verdict is always
infra_error, which is retried, never recorded as the repository's failure.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from pipeline.models import Verdict

# --------------------------------------------------------------------------- exit codes

# run-tests.sh's exit code per verdict: what a harness sees, and what the gate reads back.
EXIT_CODES: dict[Verdict, int] = {
    Verdict.passed: 0,
    Verdict.tests_failed: 1,
    Verdict.build_error: 10,
    Verdict.startup_timeout: 11,
    Verdict.service_crashed: 12,
    Verdict.test_timeout: 13,
    Verdict.oom: 14,
    Verdict.infra_error: 20,
}
EXIT_VERDICTS: dict[int, Verdict] = {code: verdict for verdict, code in EXIT_CODES.items()}
# What coreutils' `timeout` exits with when it killed the command it ran.
TIMEOUT_EXIT = 124


def verdict_for_exit(code: int) -> Verdict:
    """The verdict run-tests.sh's exit code stands for; a code it never uses (a crash of
    the script itself, a signal) is the machine's."""
    return EXIT_VERDICTS.get(code, Verdict.infra_error)


def exit_legend() -> str:
    """`0 passed, 1 tests_failed, ...`: the table as the scripts' headers state it."""
    return ", ".join(f"{code} {verdict.value}" for verdict, code in EXIT_CODES.items())


# --------------------------------------------------------------------------- machine failures

# What a failed build step prints when the machine, not the repository, is at fault:
# a full disk, a build process the host's OOM killer took (builds run without a memory
# limit, so exit 137 there is the host's), or a network that cannot reach a registry.
# Only the failing step's output is read: a repository's own tests may print these too.
# A bare "connection refused" is not here: a build step that needs a database is the
# repository's fault; the registry clients' own wording of an outage is.
#
# Read by both kinds of build: the pipeline's own (sandbox.build_infra_reason) and a
# task's run-tests.sh, which gets them as one `grep -iE` pattern. So every entry is a
# POSIX extended regex as well as a Python one: no (?:), \b, \S or \d.
BUILD_STEP_SIGNATURES: tuple[str, ...] = (
    # the machine
    "no space left on device",
    "disk quota exceeded",
    "returned a non-zero code: 137([^0-9]|$)",
    "cannot allocate memory",
    "cannot connect to the docker daemon",
    "failed to register layer",
    "error creating overlay mount",
    "input/output error",
    # the daemon's image store changed under the build (a concurrent removal of its base)
    "failed to get digest sha256:[0-9a-f]+: open /var/lib/docker/",
    "(parent|base) image .{0,80}(not found|no such image)",
    # name resolution
    "temporary failure in name resolution",
    "temporary failure resolving",  # apt
    "could not resolve host",  # curl, git, composer
    "couldn't resolve host",  # libcurl (cargo)
    "getaddrinfo (EAI_AGAIN|ENOTFOUND)",  # node
    "dial tcp: lookup [^ ]+ on [^ ]+: ",  # go
    "unknownhostexception",  # maven, gradle
    # no connection to a registry
    "could not reach host",  # bundler
    "network is unreachable",
    "failed to establish a new connection",  # pip (urllib3), before its "Could not find a version"
    "curl error (6|7) while downloading",  # composer (it wraps its lines, so the text is cut)
    "curl: \\((6|7)\\) ",  # curl: (6) could not resolve, (7) failed to connect
    "couldn't connect to server",  # libcurl (cargo)
    "could not connect to [^ ]+:[0-9]+ ",  # apt
    "npm (ERR!|error) (code|errno) (ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH)",
    "request to [^ ]+ failed, reason: (connect|getaddrinfo) E[A-Z]+",  # npm, yarn
    'get "https?://[^"]+": dial tcp [^ ]+: connect: ',  # go module download
    'get "https?://[^"]+": (dial tcp [^ ]+: i/o timeout|proxyconnect tcp: |net/http: tls handshake timeout)',  # go
    "could not transfer (artifact|metadata) .* (connect timed out|connection refused|no route to host)",  # maven
    "(failed to (fetch|update)|unable to update registry) .{0,60}(crates\\.io-index|crates-io)",  # cargo's index
    # a registry that answers but refuses to serve: this machine's module proxy withholds
    # some modules (403, "This module version is not available")
    "reading https?://[^ ]+/@v/[^ ]+: 403 forbidden",  # go
    # a registry's certificate not trusted: the machine's proxy CA did not reach the image
    "x509: certificate signed by unknown authority",  # go
    "pkix path building failed",  # maven, gradle (the JVM's key store)
    "ssl certificate problem: (unable to get local issuer certificate|self-signed certificate)",  # curl, cargo
)

# Lines that name an unreachable host but only warn of a fallback that follows: prebuild-
# install found no prebuilt binary of a native module (on github.com), and node-gyp then
# builds it from source; that build's own failure is the one to judge. Left out before the
# signatures above are looked for (the same POSIX-and-Python rules).
BUILD_STEP_WARNINGS: tuple[str, ...] = ("prebuild-install (warn|info) ",)

# What run-tests.sh also looks for anywhere in its build log, when the failed step's own
# output shows no machine fault: the daemon's words for a machine it cannot work on,
# printed outside any step. Plain words, matched case-insensitively.
BUILD_LOG_SIGNATURES: tuple[str, ...] = (
    "no space left on device",
    "Cannot connect to the Docker daemon",
)

# The Docker daemon's own error messages (an API error of a build, a start, a removal)
# when the machine is at fault. Read from the daemon's message alone, never from a
# repository's output, so a bare "connection refused" is the daemon's here.
DAEMON_SIGNATURES: tuple[str, ...] = (
    "no space left on device",
    "cannot connect to the docker daemon",
    "connection refused",
    "could not find an available, non-overlapping ipv4 address pool",
    "failed to register layer",
    "error creating overlay mount",
    "devmapper",
    "input/output error",
)

_BUILD_STEP = re.compile("|".join(f"(?:{p})" for p in BUILD_STEP_SIGNATURES), re.IGNORECASE)
_DAEMON = re.compile("|".join(DAEMON_SIGNATURES), re.IGNORECASE)
_WARNINGS = re.compile("|".join(f"(?:{p})" for p in BUILD_STEP_WARNINGS), re.IGNORECASE)


def without_warnings(output: str) -> str:
    """A build step's output without the lines of BUILD_STEP_WARNINGS."""
    return "\n".join(line for line in output.splitlines() if not _WARNINGS.search(line))


def build_step_fault(output: str) -> re.Match[str] | None:
    """Where a failed build step's output (colours removed, warnings left out: see
    without_warnings) shows the machine at fault."""
    return _BUILD_STEP.search(output)


def is_daemon_fault(message: str) -> bool:
    """Whether a Docker daemon's error message puts the fault on the machine."""
    return _DAEMON.search(message) is not None


def build_step_grep_pattern() -> str:
    """BUILD_STEP_SIGNATURES as one `grep -iE` pattern."""
    return "|".join(f"({p})" for p in BUILD_STEP_SIGNATURES)


def _double_quotable(words: str) -> str:
    # Rendered between double quotes in the script: nothing in it may be expanded there.
    if re.search(r'["$`\\!]', words):
        raise ValueError(f"cannot be put between double quotes in a shell script: {words!r}")
    return words


# --------------------------------------------------------------------------- the scripts


def template_values() -> dict[str, Any]:
    """What the task's scripts are rendered with: `exit_code.<verdict>`, `exit_legend`,
    `timeout_exit`, and the signatures as shell text (`build_infra_pattern` and
    `build_warning_pattern`, quoted, and
    `build_log_pattern`, for a double-quoted `grep -iE` argument)."""
    return {
        "exit_code": {verdict.value: code for verdict, code in EXIT_CODES.items()},
        "exit_legend": exit_legend(),
        "timeout_exit": TIMEOUT_EXIT,
        "build_infra_pattern": shlex.quote(build_step_grep_pattern()),
        "build_warning_pattern": shlex.quote("|".join(f"({p})" for p in BUILD_STEP_WARNINGS)),
        "build_log_pattern": _double_quotable("|".join(BUILD_LOG_SIGNATURES)),
    }
