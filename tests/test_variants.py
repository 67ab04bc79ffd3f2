"""The environment variant: the masked task without its environment files, whose
solution also writes the Dockerfile; verified by the same gate (the no-op cannot build)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from task_support import planted_tasks, task_dirs

from pipeline.config import Settings
from pipeline.stages import package
from pipeline.task_folder import read_task


@pytest.fixture(scope="module")
def tasks(docker_engine, tmp_path_factory):
    result, _ = planted_tasks(tmp_path_factory)
    return result, task_dirs(result)


@pytest.mark.docker
def test_both_variants_are_verified_separately(tasks):
    result, dirs = tasks
    impl, env = dirs[("implementation", "terminal-bench")], dirs[("environment", "terminal-bench")]
    assert env.name == impl.name + package.ENVIRONMENT_SUFFIX
    impl_meta = json.loads((impl / "metadata.json").read_text())
    env_meta = json.loads((env / "metadata.json").read_text())
    assert (impl_meta["kind"], env_meta["kind"]) == ("implementation", "environment")
    report = env_meta["verification_report"]
    assert report["verdict"] == "passed"
    assert [r["verdict"] for r in report["oracle_runs"]] == ["passed", "passed"]
    # Nothing to build: the no-op stops at the build, it never reaches the tests.
    assert report["noop_run"]["verdict"] == "build_error"
    assert "no ./Dockerfile" in report["noop_run"]["log_tail"]
    assert {t.kind for t in result.tasks if t.status == "verified"} == {"implementation", "environment"}


@pytest.mark.docker
def test_environment_files_are_removed_and_the_solution_writes_them(tasks, tmp_path):
    _, dirs = tasks
    impl, env = dirs[("implementation", "terminal-bench")], dirs[("environment", "terminal-bench")]
    meta = json.loads((env / "metadata.json").read_text())
    folder = read_task(env)
    repo = folder.repo_dir(folder.metadata().source)
    assert sorted(meta["environment_variant"]["removed_files"]) == [".dockerignore", "Dockerfile"]
    assert not (repo / "Dockerfile").exists() and not (repo / ".dockerignore").exists()
    # The code is masked exactly as in the implementation task.
    impl_repo = impl / repo.name
    assert (repo / "notes" / "routes.py").read_text() == (impl_repo / "notes" / "routes.py").read_text()

    instruction = yaml.safe_load((env / "task.yaml").read_text())["instruction"]
    environment = meta["environment"]
    assert "## Environment" in instruction
    assert f"0.0.0.0:{environment['port']}" in instruction and environment["base_image"] in instruction
    assert f"GET {environment['health_path']}" in instruction

    # solution.sh restores the code and writes the very Dockerfile the implementation task builds.
    work = tmp_path / "env"
    subprocess.run(["cp", "-r", str(env), str(work)], check=True)
    subprocess.run(["bash", "solution.sh"], cwd=work, check=True, capture_output=True)
    solved = work / repo.name
    assert (solved / "Dockerfile").read_text() == package.verified_dockerfile(impl_repo).read_text()
    assert (solved / ".dockerignore").read_text() == (impl_repo / ".dockerignore").read_text()
    assert (solved / "notes" / "routes.py").read_text() != (repo / "notes" / "routes.py").read_text()


def test_variant_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("ABC_VARIANTS", "implementation")
    assert Settings().variants == ["implementation"]
    monkeypatch.setenv("ABC_VARIANTS", "implementation,environment")
    both = Settings(work_dir=tmp_path)
    monkeypatch.setenv("ABC_VARIANTS", "implementation")
    assert Settings(work_dir=tmp_path).config_hash_input() != both.config_hash_input()
    monkeypatch.setenv("ABC_VARIANTS", "everything")
    with pytest.raises(ValueError):
        Settings()


@pytest.mark.parametrize(
    ("name", "removed"),
    [
        ("Dockerfile", True),
        ("Dockerfile.prod", True),
        ("api.dockerfile", True),
        ("docker-compose.yml", True),
        ("compose.override.yaml", True),
        (".dockerignore", True),
        # Source named after the format: the service's code, which the variant keeps.
        ("dockerfile.js", False),
        ("dockerfile.go", False),
        ("Dockerfile.ts", False),
        ("dockerfile.json", False),
    ],
)
def test_the_environment_variant_removes_build_files_not_code_named_after_them(name, removed):
    assert package.is_environment_file(name) is removed
