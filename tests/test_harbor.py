"""The Harbor export: the same verified task in Harbor's layout, and its tests/test.sh
run for real against the oracle (reward 1) and a no-op (reward 0)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml
from task_support import planted_tasks, task_dirs

from pipeline.task_folder import read_task

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def dirs(docker_engine, tmp_path_factory):
    result, _ = planted_tasks(tmp_path_factory)
    return task_dirs(result)


def test_layout_comes_from_the_verified_task(dirs):
    for kind in ("implementation", "environment"):
        tb, harbor = dirs[(kind, "terminal-bench")], dirs[(kind, "harbor")]
        # Beside the Terminal-Bench folder, never inside it (tb takes every folder for a task).
        assert harbor.parent.name == f"{tb.parent.name}-harbor" and harbor.name == tb.name
        for name in ("task.toml", "instruction.md", "environment/Dockerfile", "environment/docker-compose.yaml"):
            assert (harbor / name).is_file(), name
        for script in ("solution/solve.sh", "tests/test.sh", "tests/run-tests.sh"):
            assert os.access(harbor / script, os.X_OK), script
        task_yaml = yaml.safe_load((tb / "task.yaml").read_text())
        config = tomllib.loads((harbor / "task.toml").read_text())
        assert config["schema_version"] == "1.4"
        assert config["task"]["name"] == f"abc-pipeline/{tb.name}"
        assert config["task"]["keywords"] == task_yaml["tags"]
        assert config["metadata"]["tags"] == task_yaml["tags"]
        assert config["metadata"]["kind"] == kind
        assert config["verifier"]["timeout_sec"] > 0 and config["agent"]["timeout_sec"] > 0
        assert (harbor / "instruction.md").read_text().strip() == task_yaml["instruction"].strip()
        assert (harbor / "solution" / "solve.sh").read_text() == (tb / "solution.sh").read_text()
        assert (harbor / "tests" / "run-tests.sh").read_text() == (tb / "run-tests.sh").read_text()
        for test in ("conftest.py", "test_connect.py", "test_func.py"):
            assert (harbor / "tests" / test).read_text() == (tb / "tests" / test).read_text()
        task = read_task(harbor)
        assert task.format == "harbor"
        assert task.metadata_json() == read_task(tb).metadata_json()
        repo = task.repo_dir(task.metadata().source)
        assert repo.is_dir() and repo.parent == harbor / "environment"
        assert f"COPY {repo.name} /app/{repo.name}" in (harbor / "environment" / "Dockerfile").read_text()


def _test_sh(task, repo_dir, reward, run_id):
    env = {
        **os.environ,
        "REPO_DIR": str(repo_dir),
        "REWARD_FILE": str(reward),
        "ABC_RUN_ID": run_id,
        "PYTHON": sys.executable,
    }
    return subprocess.run(["bash", "tests/test.sh"], cwd=task, env=env, capture_output=True, text=True, timeout=900)


def test_test_sh_rewards_the_oracle_and_not_the_noop(dirs, tmp_path, run_id):
    oracle = tmp_path / "oracle"
    shutil.copytree(dirs[("implementation", "harbor")], oracle, symlinks=True)
    task = read_task(oracle)
    repo = task.repo_dir(task.metadata().source)
    solved = subprocess.run(
        ["bash", "solution/solve.sh"], cwd=oracle, env={**os.environ, "REPO_DIR": str(repo)}, capture_output=True
    )
    assert solved.returncode == 0, solved.stderr

    reward = tmp_path / "logs" / "verifier" / "reward.txt"
    run = _test_sh(oracle, repo, reward, run_id)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert reward.read_text().strip() == "1", run.stdout[-3000:]

    # The environment variant untouched: no Dockerfile, nothing builds, reward 0.
    noop = tmp_path / "noop"
    shutil.copytree(dirs[("environment", "harbor")], noop, symlinks=True)
    reward.unlink()
    run = _test_sh(noop, noop / "environment" / repo.name, reward, run_id)
    assert reward.read_text().strip() == "0"
    assert "verdict=build_error" in run.stdout
