"""Services that need a database or cache server, through the whole pipeline with Docker.

express_pg_notes stores its notes in PostgreSQL (schema and a first note from db/schema.sql,
DATABASE_URL required); flask_mysql_inventory keeps an inventory in MySQL (MariaDB here:
DB_HOST, DB_USER, DB_PASSWORD, DB_NAME required, its table made at start);
flask_mysql8_library reads its books from tables a MySQL 8 dump makes (db/library.sql);
flask_redis_scores keeps a leaderboard in Redis (REDIS_URL required);
express_mongo_bookmarks keeps bookmarks in MongoDB (FerretDB here; MONGO_URL with a
localhost fallback); flask_compose_host_notes dials Redis as `cache`, its compose service
name, with no variable. Each must become a
verified task: the pipeline starts the server beside the service while it records the
tests, the task's run-tests.sh starts it again for the gate (the harness-true path: inside
the client container), and the tests check data that went through the server. A sidecar
that never becomes healthy is infra_error, with its log, and nothing is left in Docker
either way.

Trimmed for CI time like test_buildable_fixtures: one oracle run, the implementation variant.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from pipeline.config import Limits, Settings
from pipeline.generate import generate
from pipeline.models import Sidecar, StageError, Verdict
from pipeline.runtime import sandbox, sidecar_containers

pytestmark = pytest.mark.docker

FIXTURES = Path(__file__).parent / "fixtures"
SIDECAR_FIXTURES = {
    # fixture: (server kind, the create request's path, a value it sends that a later read must return)
    "express_pg_notes": ("postgresql", "/notes", "sample title"),
    "express_mongo_bookmarks": ("mongodb", "/bookmarks", "sample title"),
    "flask_mysql_inventory": ("mysql", "/items", "sample name"),
    # Its tables from a MySQL 8 dump with its own CREATE DATABASE (tests/test_sidecar_dumps.py).
    "flask_mysql8_library": ("mysql", "/books", "sample title"),
    "flask_redis_scores": ("redis", "/scores", "sample player"),
    # Redis by its compose service name, hard-coded: the name must resolve beside the service.
    "flask_compose_host_notes": ("redis", "/notes", "sample title"),
}


@pytest.mark.parametrize("fixture", sorted(SIDECAR_FIXTURES))
def test_a_service_that_needs_a_server_becomes_a_verified_task(fixture, docker_engine, tmp_path):
    kind, create_path, sent = SIDECAR_FIXTURES[fixture]
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True, oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(FIXTURES / fixture), settings, run_id=run_id)

    verified = [t for t in result.tasks if t.status == "verified"]
    assert verified and result.verdict == Verdict.passed, result.model_dump_json(indent=2)
    task = Path(verified[0].path)
    metadata = json.loads((task / "metadata.json").read_text())
    assert [s["kind"] for s in metadata["environment"]["sidecars"]] == [kind]
    report = metadata["verification_report"]
    assert [r["verdict"] for r in report["oracle_runs"]] == ["passed"]
    assert report["noop_run"]["verdict"] == "tests_failed", report["noop_run"]

    # The task's own script starts the server: the harnesses run nothing else.
    script = (task / "run-tests.sh").read_text()
    assert f'SIDECAR="$NAME-{kind}"' in script and "wait_sidecar" in script

    # Data that lives in the server: a create, then a read of what it stored.
    test_func = (task / "tests" / "test_func.py").read_text()
    create = test_func.index(f'send("POST", f"{{base_url}}{create_path}"')
    read_back = re.search(rf'send\("GET", f"{{base_url}}{re.escape(create_path)}/\{{\w+\}}"\)', test_func[create:])
    assert read_back, test_func
    after_read = test_func[create + read_back.end() :]
    assert f"'{sent}'" in after_read.split("response = send(", 1)[0], test_func

    assert sandbox.leftovers(run_id) == []


def test_a_sidecar_that_never_becomes_healthy_is_infra_error_with_its_log(docker_engine, monkeypatch):
    monkeypatch.setattr(sidecar_containers, "HEALTH_TIMEOUT", 4.0)
    never = Sidecar(kind="redis", image="redis:7-bookworm", port=6379, health=["sh", "-c", "exit 1"])
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    with pytest.raises(StageError) as caught, sandbox.running_service(
        "redis:7-bookworm", port=6379, run_id=run_id, limits=Limits(startup_timeout=5), sidecars=[never]
    ):
        pass
    assert caught.value.verdict == Verdict.infra_error
    assert "redis sidecar" in caught.value.reason and "its log" in caught.value.reason
    assert sandbox.leftovers(run_id) == []
