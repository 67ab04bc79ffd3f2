"""Dependency layers outlive a run's clean-up, so the next build over the same manifests
reuses them (pipeline/runtime/dependency_layers.py)."""

from __future__ import annotations

import io
import uuid

import pytest

from pipeline.runtime import dependency_layers, sandbox

PYTHON = "python:3.11-slim-bookworm"

LOG = """Step 1/6 : FROM golang:1.24-trixie
 ---> 0123456789ab
Step 2/6 : WORKDIR /app
 ---> Using cache
 ---> 1111111111aa
Step 3/6 : COPY go.mod go.sum ./
 ---> 2222222222bb
Step 4/6 : RUN go mod download
 ---> Running in 3333333333cc
go: downloading github.com/gin-gonic/gin v1.10.0
 ---> Removed intermediate container 3333333333cc
 ---> 4444444444dd
Step 5/6 : COPY . .
 ---> 5555555555ee
Step 6/6 : RUN go build -o /app/server .
 ---> Running in 6666666666ff
main.go:3:2: undefined: x
"""


def test_the_layer_before_the_source_copy_is_the_dependency_layer():
    assert dependency_layers.layer_before_source(LOG) == "4444444444dd"


def test_a_cached_dependency_step_still_names_its_layer():
    cached = LOG.replace(
        " ---> Running in 3333333333cc\ngo: downloading github.com/gin-gonic/gin v1.10.0\n"
        " ---> Removed intermediate container 3333333333cc\n",
        " ---> Using cache\n",
    )
    assert dependency_layers.layer_before_source(cached) == "4444444444dd"


def test_no_layer_when_nothing_ran_before_the_source_copy():
    log = "Step 1/3 : FROM node:18\n ---> 0123456789ab\nStep 2/3 : COPY . .\n ---> 1111111111aa\n"
    assert dependency_layers.layer_before_source(log) is None


def test_no_layer_when_the_build_stopped_in_the_dependency_step():
    stopped = LOG.split(" ---> Removed intermediate")[0]
    assert dependency_layers.layer_before_source(stopped) is None


def test_a_later_stage_counts_its_own_steps_only():
    log = (
        "Step 1/5 : FROM golang:1.24-trixie AS build\n ---> 0123456789ab\n"
        "Step 2/5 : RUN go build std\n ---> 1111111111aa\n"
        "Step 3/5 : FROM debian:trixie\n ---> 2222222222bb\n"
        "Step 4/5 : COPY . /srv\n ---> 3333333333cc\n"
    )
    assert dependency_layers.layer_before_source(log) is None


@pytest.fixture()
def private_index(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _build(context, run_id: str) -> sandbox.BuildResult:
    return sandbox.build_image(
        context,
        f"abc-pipeline-test/deps:{run_id}",
        labels={sandbox.RUN_LABEL: run_id},
        timeout=300,
        keep_dependencies=True,
    )


def test_a_rebuild_after_clean_up_reuses_the_dependency_layer(docker_engine, private_index, tmp_path):
    marker = uuid.uuid4().hex  # a dependency step no other build has cached
    (tmp_path / "Dockerfile").write_text(
        f'FROM {PYTHON}\nWORKDIR /app\nRUN echo {marker} > /deps.txt\nCOPY . .\nCMD ["cat", "/deps.txt"]\n'
    )
    (tmp_path / "app.txt").write_text("one\n")
    first_run, second_run = f"test-deps-{marker[:8]}-a", f"test-deps-{marker[:8]}-b"
    kept: list[str] = []
    try:
        first = _build(tmp_path, first_run)
        assert first.ok, first.log
        layer = dependency_layers.layer_before_source(first.log)
        assert layer is not None
        kept.append(f"{dependency_layers.REPOSITORY}:{layer}")
        sandbox.cleanup(first_run, images=True)
        assert sandbox.leftovers(first_run) == []
        # The run's image is gone, its dependency layer is not, and it is no leftover.
        assert docker_engine.images.get(kept[0])
        assert not any(kept[0] in entry for entry in sandbox.leftovers())

        (tmp_path / "app.txt").write_text("two\n")  # a source edit
        second = _build(tmp_path, second_run)
        assert second.ok, second.log
        dependency_step = second.log.split(f"RUN echo {marker}")[1].split("Step ")[0]
        assert "Using cache" in dependency_step
        assert dependency_layers.layer_before_source(second.log) == layer
    finally:
        sandbox.cleanup(first_run, images=True)
        sandbox.cleanup(second_run, images=True)
        for tag in kept:
            docker_engine.images.remove(tag)


def test_over_budget_the_least_recently_used_layers_go_first():
    sizes = {"a": 5, "b": 5, "c": 5, "d": 5}
    used = {"a": 3.0, "b": 1.0, "c": 2.0}  # d: never recorded, so the oldest
    assert dependency_layers.to_evict(sizes, used, budget=10, keep_layer="a") == ["d", "b"]
    assert dependency_layers.to_evict(sizes, used, budget=100, keep_layer="a") == []
    # The layer just used stays, even alone over the budget.
    assert dependency_layers.to_evict({"a": 50}, {}, budget=10, keep_layer="a") == []


def test_the_context_archive_writes_headers_as_the_task_clients_docker_cli_does(tmp_path):
    """The file type in each header's mode, root as the owner, .dockerignore honoured, and a
    Dockerfile outside the context carried in under a name of its own."""
    import tarfile

    from pipeline.runtime import context_archive

    (tmp_path / "ctx" / "src").mkdir(parents=True)
    (tmp_path / "ctx" / "src" / "main.go").write_text("package main\n")
    (tmp_path / "ctx" / "go.mod").write_text("module x\n")
    (tmp_path / "ctx" / "secret.env").write_text("X=1\n")
    (tmp_path / "ctx" / ".dockerignore").write_text("# the service's own\nsecret.env\n")
    (tmp_path / "ctx" / "link").symlink_to("go.mod")
    (tmp_path / "Dockerfile.outside").write_text("FROM scratch\n")

    made = context_archive.archive(tmp_path / "ctx", str(tmp_path / "Dockerfile.outside"))
    raw = made.file.read()
    made.file.close()
    headers = {}
    for offset in range(0, len(raw), tarfile.BLOCKSIZE):
        block = raw[offset : offset + tarfile.BLOCKSIZE]
        if block[257:262] == b"ustar":
            headers[block[:100].rstrip(b"\0").decode()] = block
    assert headers["go.mod"][100:107] == b"0100644"
    assert headers["src/"][100:107] == b"0040755"
    assert headers["link"][100:107] == b"0120777"
    assert headers["go.mod"][265:269] == b"root"
    assert "secret.env" not in headers
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        names = archive.getnames()
        assert made.dockerfile in names and made.dockerfile != "Dockerfile.outside"
        assert archive.extractfile(made.dockerfile).read() == b"FROM scratch\n"
        assert all(m.uid == 0 and m.gid == 0 for m in archive.getmembers())


def test_a_layer_the_pipeline_built_is_a_cache_hit_for_the_task_clients_docker_cli(
    docker_engine, private_index, tmp_path
):
    """run-tests.sh builds the service with the docker CLI of the task's client image, in the
    gate and in the harnesses: the dependency layer the pipeline built (bring-up) is reused,
    not built again per trial (context_archive.py)."""
    from pipeline.runtime import trial
    from pipeline.stages.package import CLIENT_BASE_IMAGE, TEST_REQUIREMENTS
    from pipeline.templates import render

    marker = uuid.uuid4().hex
    repo = tmp_path / "task" / "repo"
    repo.mkdir(parents=True)
    (repo / "requirements.txt").write_text(f"# {marker}\n")
    (repo / "Dockerfile").write_text(
        f"FROM {PYTHON}\nWORKDIR /srv\nCOPY requirements.txt ./\nRUN cat requirements.txt > /deps.txt\nCOPY . .\n"
    )
    (repo / "app.py").write_text("print('one')\n")
    task = tmp_path / "task"
    (task / "Dockerfile").write_text(
        render(
            "task/Dockerfile.j2",
            client_base_image=CLIENT_BASE_IMAGE,
            test_requirements=TEST_REQUIREMENTS,
            repo_dir="repo",
        )
    )
    run_id = f"test-deps-{marker[:8]}"
    kept: list[str] = []
    try:
        first = _build(repo, run_id)
        assert first.ok, first.log
        layer = dependency_layers.layer_before_source(first.log)
        kept.append(f"{dependency_layers.REPOSITORY}:{layer}")
        client = trial.build_client_image(
            task, f"abc-pipeline-test/client:{run_id}", run_id=run_id, parent_run=None, timeout=600
        )
        socket = {"/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "rw"}}
        command = (
            f"echo \"print('two')\" > /app/repo/app.py && "
            f"docker build --label abc-pipeline.run={run_id} -t abc-pipeline-test/in-client:{run_id} /app/repo"
        )
        log = docker_engine.containers.run(
            client, ["bash", "-c", command], volumes=socket, remove=True, labels={sandbox.RUN_LABEL: run_id}
        ).decode()
        dependency_step = log.split("RUN cat requirements.txt")[1].split("Step ")[0]
        assert "Using cache" in dependency_step, log
        assert dependency_layers.layer_before_source(log) == layer
    finally:
        sandbox.cleanup(run_id, images=True)
        for tag in kept:
            docker_engine.images.remove(tag)
