"""What the repository itself says about its service's environment, and what it leaves out.

A service configured by its own compose file's `environment:` (a real Go repository, a chi
server, panicked with "SessionStoreKey must be 32 bytes or longer": its compose file set the
key, and the pipeline did not read it).

The environment stage takes the variables the compose service that builds the service root
sets: a value replaces a placeholder and fills what the code reads without insisting; a port
the compose service publishes becomes the task's port; `${X:-default}` keeps its default and
a bare `${X}` is left out. flask_compose_env_notes refuses to start without them, so with
Docker it becomes a verified task only when they reach the container.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import Inventory, RepoSnapshot, Service, Verdict
from pipeline.runtime import sandbox
from pipeline.stages import compose, environment

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = FIXTURES / "flask_compose_env_notes"


def _synthesize(repo: Path, root: str, language: str, framework: str) -> environment.ServiceEnv:
    snapshot = RepoSnapshot(path=repo, commit="0" * 40, origin=str(repo), owner="local", name=repo.name)
    service = Service(
        root=root, language=language, framework=framework, entrypoint="app.py" if language == "python" else None
    )
    return environment.synthesize(snapshot, Inventory(services=[], groups=[]), service, Settings(offline=True))


def test_the_compose_services_environment_reaches_the_dockerfile():
    spec = _synthesize(FIXTURE, ".", "python", "flask")
    assert 'ENV NOTES_SESSION_KEY="development-session-key-for-local-runs"' in spec.dockerfile
    assert 'ENV NOTES_BACKEND="memory"' in spec.dockerfile
    # The published port is the port the task serves on, whatever compose maps it to.
    assert f'ENV NOTES_PORT="{spec.port}"' in spec.dockerfile
    # Compose's own defaults hold; a value it would take from the shell is not invented.
    assert 'ENV NOTES_WELCOME="hello"' in spec.dockerfile
    assert "NOTES_REGION" not in spec.dockerfile
    assert any("environment from docker-compose.yml: api" in note for note in spec.notes)


def test_only_the_compose_service_that_builds_the_service_root_counts(tmp_path):
    repo = tmp_path / "repo"
    (repo / "api").mkdir(parents=True)
    (repo / "worker").mkdir()
    (repo / "docker-compose.yml").write_text(
        "services:\n"
        "  api:\n    build: ./api\n    environment:\n      - API_MODE=serve\n"
        "  worker:\n    build:\n      context: worker\n    environment:\n      WORKER_QUEUE: jobs\n"
        "  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: pw\n"
    )
    api = compose.how_compose_runs(repo, "api")
    assert (api.environment, api.source) == ({"API_MODE": "serve"}, "docker-compose.yml: api")
    assert compose.how_compose_runs(repo, "worker").environment == {"WORKER_QUEUE": "jobs"}
    assert compose.how_compose_runs(repo, "elsewhere") == compose.ComposeRun()


def test_a_value_the_toolchain_chose_is_kept(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").write_text('{"name": "app", "dependencies": {"express": "^4.19.0"}}')
    (repo / "index.js").write_text("const app = require('express')();\napp.listen(3000);\n")
    (repo / "compose.yaml").write_text(
        "services:\n  web:\n    build: .\n    environment:\n      NODE_ENV: development\n      FEATURE: enabled\n"
    )
    spec = _synthesize(repo, ".", "javascript", "express")
    assert 'ENV FEATURE="enabled"' in spec.dockerfile
    # The toolchain installs production dependencies only: the service runs as production.
    assert 'ENV NODE_ENV="production"' in spec.dockerfile and "development" not in spec.dockerfile


@pytest.mark.docker
def test_a_service_that_starts_only_with_its_compose_environment_becomes_a_verified_task(docker_engine, tmp_path):
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True, oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(FIXTURE), settings, run_id=run_id)

    verified = [t for t in result.tasks if t.status == "verified"]
    assert verified and result.verdict == Verdict.passed, result.model_dump_json(indent=2)
    metadata = json.loads((Path(verified[0].path) / "metadata.json").read_text())
    assert metadata["verification_report"]["noop_run"]["verdict"] == "tests_failed"
    assert sandbox.leftovers(run_id) == []


def test_a_repository_dockerignore_that_leaves_out_its_own_source_is_narrowed(tmp_path):
    """A real Go service's .dockerignore left out `docs`, a package its server imports (its
    own build is a nix one): the synthesized build failed with `cannot find module providing
    package .../docs`. Plain folder lines that hold the service's source go; patterns, and
    folders of tests or of other files, stay."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "openapi.go").write_text("package docs\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.md").write_text("# notes\n")
    (tmp_path / "e2e" / "tests").mkdir(parents=True)
    (tmp_path / "e2e" / "tests" / "flow.go").write_text("package tests\n")
    (tmp_path / "main.go").write_text("package main\n")
    (tmp_path / ".dockerignore").write_text(".git\ndocs\nnotes\ne2e\n**/*.pem\n")
    spec = _synthesize(tmp_path, ".", "go", "nethttp")
    environment.write_environment(spec, tmp_path)
    assert (tmp_path / ".dockerignore").read_text() == ".git\nnotes\ne2e\n**/*.pem\n"


def test_a_go_binary_is_built_outside_a_repository_folder_of_its_name(tmp_path):
    """tegola has a `server/` package at its root: `go build -o /app/server` wrote the binary
    into that folder, and the start failed with `exec: "/app/server": permission denied`."""
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "server.go").write_text("package server\n")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport "net/http"\n\nfunc main() { http.ListenAndServe(":8080", nil) }\n'
    )
    spec = _synthesize(tmp_path, ".", "go", "nethttp")
    assert "-o /usr/local/bin/server" in spec.dockerfile and spec.start_command[0] == "/usr/local/bin/server"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "main.go").write_text((tmp_path / "main.go").read_text())
    assert _synthesize(plain, ".", "go", "nethttp").start_command[0] == "/app/server"
