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
        try:
            exists = local.exists()
        except OSError as exc:  # a parent folder that cannot be searched: EACCES, not "missing"
            raise _fail(f"cannot read {source}: {_os_reason(exc)}") from exc
        if exists:
            return _acquire_local(local.resolve(), source, tmp, snapshots, settings)
        if "://" in source or source.startswith("git@"):
            return _acquire_url(source, tmp, snapshots, settings)
        raise _fail(f"{source!r} is neither an existing folder nor a git URL")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _one_line(text: str, limit: int = 300) -> str:
    """A reason fit for one line of the CLI's summary: whitespace folded, cut at `limit`."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _unreadable(exc: BaseException, local: Path) -> StageError:
    """An error met while reading a local source, as one line naming the first file at fault.

    shutil.copytree gathers every file it could not copy into one shutil.Error: its first
    entry names the file, the count says how many more there were."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        errors = exc.args[0]
        src, _dst, why = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # "[Errno 13] Permission denied: '/path'" -> "Permission denied"
        message = re.sub(r"^\[Errno \d+\] ", "", str(why)).split(": ", 1)[0]
        return _fail(_one_line(f"cannot read {src}: {message}{more}"))
    if isinstance(exc, OSError):
        return _fail(_one_line(f"cannot read {exc.filename or local}: {_os_reason(exc)}"))
    if isinstance(exc, git.GitCommandError):
        # GitPython formats it as "\n  stderr: '<git's output>'"
        stderr = re.sub(r"^\s*stderr: '|'\s*$", "", str(exc.stderr or ""))
        lines = [line.strip() for line in stderr.splitlines() if line.strip()]
        return _fail(_one_line(f"cannot read git repository {local}: {lines[-1] if lines else exc.status}"))
    return _fail(_one_line(f"cannot read {local}: {exc}"))


def _acquire_local(local: Path, origin: str, tmp: Path, snapshots: Path, settings: Settings) -> RepoSnapshot:
    """A local folder: its git HEAD when it is a work tree, else its files as they are.

    Anything that cannot be read (a folder or file without read permission, a special
    file, a git repository without a commit) ends as `source_unavailable` with a reason
    of one line, never a traceback."""
    try:
        if not local.is_dir():
            raise _fail(f"{local} is not a folder")
        if not os.access(local, os.R_OK | os.X_OK):
            raise _fail(f"cannot read {local}: permission denied")
        owner, name = "local", local.name
        work = tmp / "tree"
        if (local / ".git").exists():
            owner, name, commit = _clone_local(local, work, settings)
        else:
            _check_size(local, settings)
            _copy_tree(local, work)
            commit = commit_all(work, "snapshot")
    except StageError:
        raise
    except (OSError, shutil.Error, git.GitCommandError) as exc:
        raise _unreadable(exc, local) from exc
    path = _finalise(work, snapshots, owner, name, commit)
    return RepoSnapshot(path=path, commit=commit, origin=origin, owner=owner, name=name)


def _clone_local(local: Path, work: Path, settings: Settings) -> tuple[str, str, str]:
    """A git work tree: its HEAD, the way a clone would take it, not uncommitted edits."""
    owner, name = "local", local.name
    try:
        repo = git.Repo(local)
        if not repo.head.is_valid():
            # Either git cannot read the repository (this raises GitCommandError, with
            # git's own complaint) or HEAD's branch has no commit yet (`git init`, nothing
            # committed): a clone would only warn, and the snapshot would have no commit.
            repo.git.rev_parse("--git-dir")
            # The words of pipeline/source_check.py, which answers this case before the flow.
            raise _fail(f"cannot read git repository {local}: it has no commit yet")
        remote = next((r.url for r in repo.remotes), None)
        if remote and (parsed := _owner_name_from_url(remote)):
            owner, name = parsed
        git.Repo.clone_from(str(local), work, no_hardlinks=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError) as exc:
        raise _fail(_one_line(f"cannot read git repository {local}: {exc or type(exc).__name__}")) from exc
    _check_size(work, settings)
    return owner, name, git.Repo(work).head.commit.hexsha


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
