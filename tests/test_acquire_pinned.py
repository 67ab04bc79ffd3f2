"""acquire at a pinned commit (`URL#SHA`, what the mining manifest holds): shallow, exact,
reused on a re-run without a fetch, and every failure a verdict."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from pipeline.config import Settings
from pipeline.models import StageError, Verdict
from pipeline.stages import acquire
from tests.github_server import make_bare_repo

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def bare(tmp_path) -> Path:
    """A bare repository with two commits on main; the first is the one to pin."""
    origin = make_bare_repo(FIXTURES / "flask_todo", tmp_path / "remote" / "acme" / "todo.git")
    work = tmp_path / "push"
    repo = git.Repo.clone_from(origin, work)
    (work / "NEWS").write_text("second commit\n")
    repo.git.add("-A")
    repo.git.commit(
        "-m",
        "second",
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )
    repo.git.push("origin", "main")
    return origin


def test_pinned_commit_is_fetched_shallow_and_reused(bare, tmp_path):
    settings = Settings(work_dir=tmp_path / "work")
    first_sha = git.Repo(bare).git.rev_parse("main~1")
    snap = acquire.acquire(f"{bare.as_uri()}#{first_sha}", settings)
    assert snap.commit == first_sha and (snap.owner, snap.name) == ("acme", "todo")
    assert not (snap.path / "NEWS").exists()  # the pinned commit, not the branch head
    assert git.Repo(snap.path).git.rev_list("--count", "HEAD") == "1"  # shallow

    # A re-run takes the snapshot already there: even a vanished remote does not matter.
    moved = bare.with_name("gone.git")
    bare.rename(moved)
    again = acquire.acquire(f"{bare.as_uri()}#{first_sha}", settings)
    assert again.path == snap.path and again.commit == first_sha

    head = acquire.acquire(moved.as_uri(), settings)
    assert (head.path / "NEWS").is_file()


def test_clone_failures_are_verdicts(bare, tmp_path):
    settings = Settings(work_dir=tmp_path / "work")
    with pytest.raises(StageError) as missing:
        acquire.acquire(f"{bare.as_uri()}#{'0' * 40}", settings)
    assert missing.value.verdict == Verdict.source_unavailable and "failed" in missing.value.reason

    small = Settings(work_dir=tmp_path / "work", max_repo_files=2)
    with pytest.raises(StageError) as large:
        acquire.acquire(bare.as_uri(), small)
    assert large.value.verdict == Verdict.source_unavailable and "more than 2 files" in large.value.reason
    assert not list((tmp_path / "work" / "snapshots").glob("acme_todo-*"))  # nothing left behind
