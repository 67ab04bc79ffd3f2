"""The few git operations the stages share, with a fixed identity and date so that the
same files always give the same commit (and the same cache keys) on every machine."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import git

_FIXED_DATE = "2000-01-01T00:00:00+0000"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "abc-pipeline",
    "GIT_AUTHOR_EMAIL": "abc-pipeline@localhost",
    "GIT_COMMITTER_NAME": "abc-pipeline",
    "GIT_COMMITTER_EMAIL": "abc-pipeline@localhost",
    "GIT_AUTHOR_DATE": _FIXED_DATE,
    "GIT_COMMITTER_DATE": _FIXED_DATE,
}


def commit_all(repo_dir: Path, message: str) -> str:
    """Commit every file in the work tree (initialising the repository if needed)."""
    repo = git.Repo.init(repo_dir)
    repo.git.add("-A", "--force")
    repo.git.commit("--allow-empty", "--no-gpg-sign", "--no-verify", "-q", "-m", message, env=_IDENTITY)
    return repo.head.commit.hexsha


def patch_back_to_head(repo_dir: Path) -> str:
    """The patch that turns the current work tree back into HEAD (git apply -p1 format)."""
    repo = git.Repo(repo_dir)
    repo.git.add("-A", "--force")
    return repo.git.diff("--cached", "-R", "--binary", "--no-color", "--no-ext-diff") + "\n"


def committed_at(repo_dir: Path, commit: str) -> str | None:
    """When `commit` was made (the committer's date, ISO 8601); None when it is not there or
    is one of ours (a plain folder's snapshot carries the fixed date, which says nothing)."""
    try:
        moment = git.Repo(repo_dir).commit(commit).committed_datetime
    except (git.GitError, ValueError, OSError):
        return None
    return None if moment == datetime.fromisoformat(_FIXED_DATE) else moment.isoformat()
