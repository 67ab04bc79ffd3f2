"""acquire: a local path or a git URL in, an immutable snapshot at one commit out.

Every snapshot is a git repository in the work folder, named by its commit, so later
stages can diff against it and a second run finds it already there. A plain folder (not a
git work tree) is committed with a fixed author and date, so the same files always give
the same commit and the same cache keys.

A git URL may carry a pinned commit as `URL#SHA` (the form mining writes into its
manifest): only that commit is fetched (shallow), and a snapshot already taken of it is
reused without touching the network, so a re-run of a batch costs no clone. A clone that
fails, takes too long or is too large ends as a `source_unavailable` verdict.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import git

from pipeline.config import Settings
from pipeline.gitutil import commit_all
from pipeline.models import RepoSnapshot, StageError, Verdict

STAGE_VERSION = "1"
# Folders that are build output or dependencies, never the project's own source.
SKIPPED_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".pytest_cache", ".mypy_cache"}
_URL_RE = re.compile(r"[:/]([^/:]+)/([^/]+?)(?:\.git)?/?$")
_FULL_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0"}


def _fail(reason: str) -> StageError:
    return StageError(Verdict.source_unavailable, reason, stage="acquire")


def _owner_name_from_url(url: str) -> tuple[str, str] | None:
    match = _URL_RE.search(url)
    return (match.group(1), match.group(2)) if match else None


def _check_size(root: Path, settings: Settings) -> None:
    files = 0
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        files += len(filenames)
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                size += path.stat().st_size
        if files > settings.max_repo_files:
            raise _fail(f"repository has more than {settings.max_repo_files} files")
        if size > settings.max_repo_bytes:
            raise _fail(f"repository is larger than {settings.max_repo_bytes // (1024 * 1024)} MiB")


def _copy_tree(src: Path, dst: Path) -> None:
    def ignore(_dir: str, names: list[str]) -> set[str]:
        return {n for n in names if n in SKIPPED_DIRS}

    shutil.copytree(src, dst, symlinks=True, ignore=ignore, dirs_exist_ok=True)


def _finalise(tmp: Path, snapshots: Path, owner: str, name: str, commit: str) -> Path:
    final = snapshots / f"{owner}_{name}-{commit[:12]}"
    if final.exists():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final


def acquire(source: str, settings: Settings) -> RepoSnapshot:
    snapshots = settings.work_dir / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".acquire-", dir=snapshots))
    try:
        local = Path(source).expanduser()
        if local.exists():
            return _acquire_local(local.resolve(), source, tmp, snapshots, settings)
        if "://" in source or source.startswith("git@"):
            return _acquire_url(source, tmp, snapshots, settings)
        raise _fail(f"{source!r} is neither an existing folder nor a git URL")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _acquire_local(local: Path, origin: str, tmp: Path, snapshots: Path, settings: Settings) -> RepoSnapshot:
    if not local.is_dir():
        raise _fail(f"{local} is not a folder")
    owner, name = "local", local.name
    work = tmp / "tree"
    if (local / ".git").exists():
        # A git work tree: take its HEAD, the way a clone would, not uncommitted edits.
        try:
            repo = git.Repo(local)
            remote = next((r.url for r in repo.remotes), None)
            if remote and (parsed := _owner_name_from_url(remote)):
                owner, name = parsed
            git.Repo.clone_from(str(local), work, no_hardlinks=True)
        except (git.GitCommandError, git.InvalidGitRepositoryError, ValueError) as exc:
            raise _fail(f"cannot read git repository {local}: {exc}") from exc
        _check_size(work, settings)
        commit = git.Repo(work).head.commit.hexsha
    else:
        _check_size(local, settings)
        _copy_tree(local, work)
        commit = commit_all(work, "snapshot")
    path = _finalise(work, snapshots, owner, name, commit)
    return RepoSnapshot(path=path, commit=commit, origin=origin, owner=owner, name=name)


def _check_fetched(repo: git.Repo, settings: Settings) -> None:
    """Refuse a fetched commit whose tree is too large before it is written out."""
    files = size = 0
    for line in repo.git.ls_tree("-r", "-l", "FETCH_HEAD").splitlines():
        meta = line.split("\t", 1)[0].split()
        files += 1
        size += int(meta[3]) if meta[3].isdigit() else 0
    if files > settings.max_repo_files:
        raise _fail(f"repository has more than {settings.max_repo_files} files")
    if size > settings.max_repo_bytes:
        raise _fail(f"repository is larger than {settings.max_repo_bytes // (1024 * 1024)} MiB")


def _acquire_url(source: str, tmp: Path, snapshots: Path, settings: Settings) -> RepoSnapshot:
    url, _, ref = source.partition("#")
    owner, name = _owner_name_from_url(url) or ("remote", "repo")
    if _FULL_SHA_RE.match(ref):
        existing = snapshots / f"{owner}_{name}-{ref[:12]}"
        if (existing / ".git").is_dir():
            return RepoSnapshot(path=existing, commit=ref, origin=source, owner=owner, name=name)
    work = tmp / "tree"
    try:
        repo = git.Repo.init(work)
        repo.git.remote("add", "origin", url)
        # One commit, no history: the pinned SHA when given (GitHub serves any reachable
        # commit), else the remote's HEAD.
        repo.git.fetch("--depth", "1", "origin", ref or "HEAD", env=_GIT_ENV, kill_after_timeout=settings.clone_timeout)
        _check_fetched(repo, settings)
        repo.git.checkout("-q", "FETCH_HEAD")
    except git.GitCommandError as exc:
        stderr = (exc.stderr or "").strip().splitlines()
        raise _fail(f"git clone of {url} at {ref or 'HEAD'} failed: {stderr[-1] if stderr else exc}") from exc
    commit = repo.head.commit.hexsha
    if _FULL_SHA_RE.match(ref) and commit != ref:
        raise _fail(f"{url} gave commit {commit}, not the pinned {ref}")
    _check_size(work, settings)
    path = _finalise(work, snapshots, owner, name, commit)
    return RepoSnapshot(path=path, commit=commit, origin=source, owner=owner, name=name)
