"""Placeholder values for the environment variables a service insists on.

Shared by the environment stage (a framework's generic placeholders) and the repair rules
(a variable a crash log names). Never a real secret; redact.py knows these shapes and does
not flag them.
"""

from __future__ import annotations

import re

# Name shapes that say what kind of value a variable holds. A flag given a string such as
# "dummy-DISABLE_AUTH" reads as true in most languages and may switch a feature on (auth
# off, TLS on, SQL echo): flags get "false", numbers a small number, paths a writable path.
_FLAG_NAME = re.compile(
    r"^(DEBUG|VERBOSE|TESTING|DISABLE|ENABLE|USE|ALLOW|FORCE|SKIP|IS|HAS|NO)(_|$)"
    r"|_(ENABLED|DISABLED|DEBUG|ECHO|TLS|SSL|SECURE|VERBOSE|FLAG|MODE_ON)$"
)
_NUMBER_NAME = re.compile(
    r"(^|_)(TIMEOUT|COUNT|LIMIT|SIZE|MAX|MIN|WORKERS|THREADS|RETRIES|RETRY|TTL|EXPIRES|EXPIRY|"
    r"SECONDS|MINUTES|HOURS|DAYS|INTERVAL|CONCURRENCY|POOL)(_|$)"
)


def dummy_value(name: str, port: int) -> str:
    """A safe placeholder of the right kind for an env var the code insists on (never a
    real secret): the port, an address, a URL, a local database, a flag that stays off, a
    small number, a writable path, else `dummy-NAME`."""
    upper = name.upper()
    if upper == "PORT" or upper.endswith("_PORT"):
        return str(port)
    if upper in ("HOST", "BIND", "BIND_ADDRESS") or upper.endswith("_HOST"):
        return "0.0.0.0"
    if upper.endswith(("DATABASE_URL", "DATABASE_URI", "DB_URL", "DB_URI")):
        return "sqlite:////tmp/abc-pipeline.db"
    if upper.endswith("_URL") or upper.endswith("_URI"):
        return "http://localhost"
    if _FLAG_NAME.search(upper):
        return "false"
    if _NUMBER_NAME.search(upper):
        return "1"
    if upper.endswith(("_PATH", "_DIR", "_FILE", "_FOLDER")):
        return "/tmp/abc-pipeline"
    if upper == "LOG_LEVEL" or upper.endswith("_LOG_LEVEL"):
        return "info"
    if upper.endswith("EMAIL") or upper.endswith("_MAIL_FROM"):
        return "dummy@example.com"
    return f"dummy-{name}"
