"""The verdict of a source that cannot be acquired, found before any flow starts.

`generate` on a path that does not exist, on a file, or on a git repository without a
commit ends in `source_unavailable` at the acquire stage. Those cases need no Prefect (its
import and its server cost seconds) and no snapshot: this check answers them in
milliseconds with the result the flow would give. Anything it is not sure about (git
URLs, a folder git cannot read) goes to the flow as before.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from pipeline.models import GenerateResult, StageTiming, Verdict

_GIT_TIMEOUT = 10


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
            env=os.environ | {"GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _problem(source: str) -> str | None:
    """Why acquire would refuse a local source, or None to let the flow decide."""
    try:
        local = Path(source).expanduser()
        exists = local.exists()
    except (OSError, RuntimeError, ValueError):
        return None
    if not exists:
        if "://" in source or source.startswith("git@"):
            return None
        return f"{source!r} is neither an existing folder nor a git URL"
    try:
        local = local.resolve()
        if not local.is_dir():
            return f"{local} is not a folder"
        is_git = (local / ".git").exists()
    except OSError:  # a folder that cannot be read (EACCES): acquire says which and why
        return None
    if is_git:
        # Only a readable repository whose HEAD has no commit; git's other complaints
        # (ownership, a broken .git) are left to acquire's own message.
        readable = _git(local, "rev-parse", "--git-dir")
        head = _git(local, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        if readable is not None and readable.returncode == 0 and head is not None and head.returncode != 0:
            return f"cannot read git repository {local}: it has no commit yet"
    return None


def early_result(source: str) -> GenerateResult | None:
    """The `generate` result of a source that fails before any stage can run, else None."""
    started = time.monotonic()
    reason = _problem(source)
    if reason is None:
        return None
    return GenerateResult(
        repo=source,
        stages=[StageTiming(name="acquire", seconds=round(time.monotonic() - started, 3), cached=False)],
        verdict=Verdict.source_unavailable,
        reason=f"acquire: {reason}",
    )
