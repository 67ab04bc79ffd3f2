"""Mining against a GitHub-compatible server in the test process (tests/github_server.py):
real HTTP through PyGithub, real git repositories behind the API, scripted search pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.mining.github import Miner, cursor_path
from pipeline.mining.hints import framework_hints
from pipeline.mining.models import MineQuery, read_manifest
from tests.github_server import FakeGitHub, FakeRepo, GitHubServer, make_bare_repo

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
MIT_ACCEPTED = {"acme/flask_todo", "acme/express_books", "acme/no_endpoints_lib"}


def _repos(root: Path) -> list[FakeRepo]:
    def bare(fixture: str, name: str | None = None, **overrides: str) -> Path:
        return make_bare_repo(FIXTURES / fixture, root / "acme" / f"{name or fixture}.git", overrides)

    flask = bare("flask_todo")
    return [
        FakeRepo("acme/flask_todo", flask, stars=90),
        FakeRepo("acme/fork_of_todo", bare("flask_todo", "fork_of_todo", EXTRA="x"), fork=True),
        FakeRepo("acme/archived_todo", bare("flask_todo", "archived_todo", EXTRA="y"), archived=True),
        # The API says MIT; the LICENSE file is Apache-2.0: a conflict, rejected with its reason.
        FakeRepo("acme/not_mit_app", bare("not_mit_app")),
        FakeRepo("acme/express_books", bare("express_books"), language="JavaScript"),
        FakeRepo("acme/template_todo", bare("flask_todo", "template_todo", EXTRA="z"), is_template=True),
        # Same files as flask_todo under another name: an identical tree.
        FakeRepo("other/todo_copy", bare("flask_todo", "todo_copy")),
        FakeRepo("acme/gpl_app", bare("flask_todo", "gpl_app", EXTRA="g"), license="gpl-3.0"),
        FakeRepo("acme/tiny_star", bare("flask_todo", "tiny_star", EXTRA="s"), stars=1),
        FakeRepo("acme/no_endpoints_lib", bare("no_endpoints_lib"), stars=12),
        FakeRepo("acme/empty", root / "acme" / "empty.git"),  # no commits: the API answers 409
    ]


@pytest.fixture
def github(tmp_path):
    state = FakeGitHub(repos=_repos(tmp_path / "remote"))
    with GitHubServer(state) as server:
        yield server


def _miner(server: GitHubServer, manifest: Path, **kwargs) -> Miner:
    query = kwargs.pop("query", MineQuery(min_stars=5))
    return Miner(query, manifest, api_url=server.url, token=TOKEN, per_page=3, seconds_between_requests=0, **kwargs)


def _decisions(manifest: Path) -> dict[str, tuple[str, str]]:
    return {c.full_name: (c.decision, c.reason) for c in read_manifest(manifest)}


def test_mine_selects_exactly_the_mit_non_fork_non_archived_candidates_on_every_page(github, tmp_path):
    # Page 2 of the search first answers 403 with a reset one second away: the miner waits.
    github.state.rate_limits.append(("/search", 1.0))
    manifest = tmp_path / "candidates.jsonl"
    report = _miner(github, manifest, max_wait=30).run()

    decisions = _decisions(manifest)
    assert report.complete and report.pages == 4
    assert {name for name, (d, _) in decisions.items() if d == "accepted"} == MIT_ACCEPTED
    assert len(decisions) == 11 and len(manifest.read_text().splitlines()) == 11
    assert decisions["acme/empty"] == ("rejected", "the API answered 409: Git Repository is empty.")
    assert decisions["acme/fork_of_todo"] == ("rejected", "a fork")
    assert decisions["acme/archived_todo"] == ("rejected", "archived")
    assert decisions["acme/template_todo"] == ("rejected", "a template repository")
    assert decisions["other/todo_copy"] == ("rejected", "same tree as acme/flask_todo")
    assert decisions["acme/gpl_app"][1] == "the API reports license GPL-3.0, not MIT"
    assert decisions["acme/tiny_star"][1] == "1 stars, fewer than 5"
    assert decisions["acme/not_mit_app"][1] == "the API reports MIT but licensed Apache-2.0, not MIT"

    by_name = {c.full_name: c for c in read_manifest(manifest)}
    flask = by_name["acme/flask_todo"]
    assert flask.license == "MIT" and flask.framework_hints == ["flask"] and flask.default_branch == "main"
    assert len(flask.commit) == 40 and flask.clone_url.startswith("file://")
    assert by_name["acme/express_books"].framework_hints == ["express"]

    searches = [q for path, q in github.state.requests if path == "/search/repositories"]
    # four pages plus the one answered with 403 and asked again
    assert [s.get("page", "1") for s in searches] == ["1", "2", "2", "3", "4"]
    assert "license:mit" in searches[0]["q"] and "fork:" not in searches[0]["q"]
    assert "archived:false" in searches[0]["q"] and "stars:>=5" in searches[0]["q"]
    # The token is sent to the API, and written nowhere.
    assert all(q["authorization"] == f"token {TOKEN}" for _, q in github.state.requests)
    assert TOKEN not in manifest.read_text()


def test_a_long_rate_limit_stops_with_a_cursor_and_the_same_command_resumes(github, tmp_path):
    github.state.rate_limits.append(("/search", 3600.0))
    manifest = tmp_path / "candidates.jsonl"

    first = _miner(github, manifest, max_wait=5).run()
    assert not first.complete and first.cursor is not None and first.cursor.next_page == 1
    assert cursor_path(manifest).is_file()
    assert len(read_manifest(manifest)) == 3  # page 1 only

    second = _miner(github, manifest, max_wait=5).run()
    assert second.complete and not cursor_path(manifest).exists()
    names = [c.full_name for c in read_manifest(manifest)]
    assert len(names) == len(set(names)) == 11
    assert {c.full_name for c in read_manifest(manifest) if c.decision == "accepted"} == MIT_ACCEPTED
    pages = [q.get("page", "1") for path, q in github.state.requests if path == "/search/repositories"]
    assert pages == ["1", "2", "2", "3", "4"]  # resumed at page 2, page 1 not read again


def test_mine_cli_with_language_and_limit(github, tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    manifest = tmp_path / "python.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "mine",
            "--api-url",
            github.url,
            "--language",
            "Python",
            "--limit",
            "1",
            "--out",
            str(manifest),
            "--min-stars",
            "5",
            "--pushed-after",
            "2026-01-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    accepted = [c for c in read_manifest(manifest) if c.decision == "accepted"]
    assert [c.full_name for c in accepted] == ["acme/flask_todo"]  # the limit stops after the first
    summary = json.loads(result.output)
    assert summary["accepted"] == 1 and summary["complete"] is True


def test_framework_hints_from_manifests():
    assert framework_hints({"requirements.txt": "Flask>=3\nrequests\n"}) == ["flask"]
    assert framework_hints({"pyproject.toml": '[project]\ndependencies = ["fastapi>=0.1", "uvicorn"]\n'}) == ["fastapi"]
    assert framework_hints({"package.json": '{"dependencies": {"@nestjs/core": "1", "express": "4"}}'}) == [
        "express",
        "nestjs",
    ]
    assert framework_hints({"go.mod": "module x\n\nrequire github.com/gin-gonic/gin v1.9.0\n"}) == ["gin"]
    assert framework_hints({"Gemfile": "gem 'sinatra'\n"}) == ["sinatra"]
    assert framework_hints({"Cargo.toml": '[dependencies]\naxum = "0.7"\n'}) == ["axum"]
