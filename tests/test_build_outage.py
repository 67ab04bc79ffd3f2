"""A registry outage during a task's build is the machine's fault: run-tests.sh exits 20
(infra_error), the gate says infra_error, never build_error or oracle_failed.

The outage is real: the service's Dockerfile asks a package registry on a closed port of
the build container's own loopback (127.0.0.1:9, nothing listens there), so pip and npm
fail the way they fail when the registry is down. run-tests.sh reads the failed step's
output with the same table the pipeline's own builds use (failures.BUILD_STEP_SIGNATURES).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from pipeline.config import Limits, Settings
from pipeline.models import Verdict
from pipeline.runtime import sandbox
from pipeline.stages import package, testgen
from pipeline.stages.bring_up import remove_failed_layers
from pipeline.stages.verify import verify
from pipeline.templates import render

pytestmark = pytest.mark.docker

PYTHON = "python:3.11-slim-bookworm"
NODE = "node:18-bookworm-slim"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens on it in a build container

# registry -> (Dockerfile, what run-tests.sh's verdict quotes of the failed step)
OUTAGES = {
    # pip retries once, printing the refused connection before "Could not find a version".
    "pip": (
        f"FROM {PYTHON}\nRUN pip install --retries 1 --timeout 5 --index-url {CLOSED}/simple requests\n",
        "Failed to establish a new connection",
    ),
    "npm": (
        f"FROM {NODE}\nWORKDIR /app\nRUN npm install --fetch-retries=0 --registry {CLOSED}/ left-pad\n",
        "ECONNREFUSED",
    ),
}
# The repository's fault, though the words look alike: a step that needs a database at build
# time, and an earlier step that printed an outage-like line before a compile error.
REPOSITORY_FAULTS = {
    "needs_a_database": (
        f"FROM {PYTHON}\n"
        "RUN python -c \"import sys; print('psycopg2.OperationalError: connection refused on 127.0.0.1:5432'); "
        'sys.exit(2)"\n'
    ),
    "earlier_step_mentioned_an_outage": (
        f"FROM {PYTHON}\n"
        "RUN echo 'Temporary failure in name resolution (retrying)'\n"
        "RUN python -c 'import not_a_module'\n"
    ),
}


def _task(tmp_path: Path, dockerfile: str) -> Path:
    """A task folder as package.write_task lays it out, around a service that cannot build."""
    task = tmp_path / "task"
    repo = task / "repo"
    repo.mkdir(parents=True)
    (repo / "Dockerfile").write_text(dockerfile)
    values = {
        "task_id": "local_outage__items",
        "repo_dir": "repo",
        "service_root": ".",
        "port": 8000,
        "health_path": "/health",
        "limits": Limits(build_timeout=300),
    }
    (task / "run-tests.sh").write_text(package.run_tests_script(**values))
    (task / "solution.sh").write_text("#!/usr/bin/env bash\ntrue\n")
    for script in ("run-tests.sh", "solution.sh"):
        os.chmod(task / script, 0o755)
    (task / "Dockerfile").write_text(
        render(
            "task/Dockerfile.j2",
            client_base_image=package.CLIENT_BASE_IMAGE,
            test_requirements=package.TEST_REQUIREMENTS,
            repo_dir="repo",
        )
    )
    tests = task / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(testgen.conftest_source())
    (tests / "test_func.py").write_text("def test_nothing():\n    pass\n")
    (task / "metadata.json").write_text(json.dumps({"kind": "implementation"}))
    return task


def _run_tests(task: Path, run_id: str) -> subprocess.CompletedProcess:
    """run-tests.sh on this host, as a person would run it (it publishes a port here)."""
    env = {**os.environ, "ABC_RUN_ID": run_id}
    proc = subprocess.run(
        ["bash", str(task / "run-tests.sh")], cwd=task, env=env, capture_output=True, text=True, timeout=600
    )
    # A failed build's layers carry no run label (the clean-up cannot find them): go now.
    remove_failed_layers(sandbox.new_layers(proc.stdout))
    return proc


@pytest.mark.parametrize("registry", sorted(OUTAGES))
def test_registry_outage_in_run_tests_is_infra_error(registry, docker_engine, run_id, tmp_path):
    dockerfile, quoted = OUTAGES[registry]
    proc = _run_tests(_task(tmp_path, dockerfile), run_id)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 20, output
    verdict = output.strip().splitlines()[-1]
    assert verdict.startswith("run-tests: verdict=infra_error (the build failed for a reason of the machine: "), verdict
    assert quoted in verdict, verdict  # it quotes what showed the outage
    assert sandbox.leftovers(run_id) == []


@pytest.mark.parametrize("case", sorted(REPOSITORY_FAULTS))
def test_repository_faults_in_run_tests_stay_build_errors(case, docker_engine, run_id, tmp_path):
    proc = _run_tests(_task(tmp_path, REPOSITORY_FAULTS[case]), run_id)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 10, output
    assert output.strip().splitlines()[-1] == "run-tests: verdict=build_error"


@pytest.mark.parametrize("registry", sorted(OUTAGES))
def test_the_pipelines_own_build_finds_the_same_fault(registry, docker_engine, run_id, tmp_path):
    """The pipeline's own build of the same Dockerfile reads it from the same table."""
    dockerfile, quoted = OUTAGES[registry]
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    result = sandbox.build_image(
        context, f"abc-pipeline-test/outage:{run_id}", labels={sandbox.RUN_LABEL: run_id}, timeout=300
    )
    remove_failed_layers(result.layers)
    assert not result.ok
    assert result.infra_reason and quoted in result.infra_reason, result.log[-2000:]


def test_the_gate_calls_an_outage_infra_error_not_oracle_failed(docker_engine, run_id, tmp_path):
    """Through the real gate: the client image, solution.sh and run-tests.sh in the client."""
    task = _task(tmp_path, OUTAGES["pip"][0])
    report = verify(task, Settings(work_dir=tmp_path / "work", oracle_runs=2), parent_run=run_id)
    assert report.verdict == Verdict.infra_error, report.model_dump_json(indent=2)
    # The first oracle run already showed the machine at fault: no second one was spent.
    assert [r.verdict for r in report.oracle_runs] == [Verdict.infra_error]
    assert "reason of the machine" in report.reason


def test_an_image_store_changed_under_the_build_is_the_machines_fault():
    # Seen here: another process removed the base image while a build read it.
    log = (
        "Step 1/9 : FROM python:3.11-slim-bookworm\n"
        "failed to get digest sha256:fd8a92d389e4af03561eb1a9005db79d7feb9b82c2ea823669dde48984cac0a7: "
        "open /var/lib/docker/image/overlay2/imagedb/content/sha256/fd8a92d3: no such file or directory\n"
    )
    assert sandbox.build_infra_reason(log), log


def test_without_abc_offline_a_machine_no_registry_answers_is_offline(monkeypatch):
    """No image can be pulled: a repository asking for a version no local image has is built
    on the stand-in (with a note), not sent to a pull that can only fail (infra_error)."""
    import socket

    from pipeline import config

    monkeypatch.delenv("ABC_OFFLINE", raising=False)
    monkeypatch.setattr(config, "IMAGE_REGISTRY", ("registry.invalid", 443))
    config.image_registry_unreachable.cache_clear()
    assert config.Settings().offline is True
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        monkeypatch.setattr(config, "IMAGE_REGISTRY", listener.getsockname()[:2])
        config.image_registry_unreachable.cache_clear()
        assert config.Settings().offline is False  # something answers: pulls are tried
        monkeypatch.setenv("ABC_OFFLINE", "1")
        assert config.Settings().offline is True  # the setting wins either way
    finally:
        listener.close()
        config.image_registry_unreachable.cache_clear()
