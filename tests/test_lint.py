"""`abc-pipeline lint`: passes on the tasks the pipeline emits (both variants, both
formats), fails with a clear message on deliberately broken copies of one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from task_support import planted_tasks, task_dirs
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.leaks import solution_lines
from pipeline.lint import called_endpoints, lint_task
from pipeline.schemas.metadata import SCHEMA_PATH, json_schema
from pipeline.stages import package
from pipeline.task_folder import read_task


def test_shipped_schema_is_the_models_schema():
    # Regenerate with `python -m pipeline.schemas.metadata` after changing TaskMetadata.
    assert json.loads(SCHEMA_PATH.read_text()) == json_schema()


def test_called_endpoints_reads_every_url_form():
    source = (
        "import os, requests\n"
        "URL = os.environ.get('SERVICE_URL')\n"
        "def test_x(base_url, note_id):\n"
        "    requests.get(base_url + '/', timeout=1)\n"
        "    requests.request('POST', f'{base_url}/api/notes', json={})\n"
        "    requests.request('GET', base_url + '/api/notes/' + str(note_id))\n"
        "    requests.delete(f'{base_url}/api/notes/{note_id}?force=1')\n"
        "    send('PUT', f'{base_url}/api/notes/{note_id}', json={})\n"
    )
    assert called_endpoints(source) == [
        ("GET", "/"),
        ("POST", "/api/notes"),
        ("GET", "/api/notes/{}"),
        ("DELETE", "/api/notes/{}"),
        ("PUT", "/api/notes/{}"),
    ]


@pytest.fixture(scope="module")
def dirs(docker_engine, tmp_path_factory):
    result, _ = planted_tasks(tmp_path_factory)
    return task_dirs(result)


@pytest.mark.docker
def test_lint_passes_on_every_emitted_task(dirs):
    assert len(dirs) == 4
    for path in dirs.values():
        report = lint_task(path)
        assert report.findings == [], (path, report.findings)
    result = CliRunner().invoke(app, ["lint", *map(str, dirs.values())])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == 4


def _copy(dirs, tmp_path: Path, kind="implementation", fmt="terminal-bench") -> Path:
    target = tmp_path / f"{kind}-{fmt}"
    shutil.copytree(dirs[(kind, fmt)], target, symlinks=True)
    return target


def _set_instruction(task: Path, change) -> None:
    config = yaml.safe_load((task / "task.yaml").read_text())
    config["instruction"] = change(config["instruction"])
    (task / "task.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _messages(task: Path, check: str) -> list[str]:
    report = lint_task(task)
    assert not report.ok
    return [f.message for f in report.findings if f.check == check]


@pytest.mark.docker
def test_missing_file_and_non_executable_script(dirs, tmp_path):
    task = _copy(dirs, tmp_path)
    (task / "tests" / "test_func.py").unlink()
    os.chmod(task / "run-tests.sh", 0o644)
    assert _messages(task, "layout") == [
        "tests/test_func.py is missing",
        "run-tests.sh is not executable (chmod +x run-tests.sh)",
    ]
    result = CliRunner().invoke(app, ["lint", str(task)])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "error [layout] tests/test_func.py is missing" in result.output


@pytest.mark.docker
def test_instruction_missing_an_endpoint(dirs, tmp_path):
    task = _copy(dirs, tmp_path)
    _set_instruction(task, lambda text: re.sub(r"### `DELETE [^`]*`", "### Removing a note", text))
    messages = _messages(task, "endpoints")
    assert messages and all("DELETE /api/notes/" in m and "never names" in m for m in messages)


@pytest.mark.docker
def test_leaked_solution_code(dirs, tmp_path):
    task = _copy(dirs, tmp_path)
    patch = package.solution_patch((task / "solution.sh").read_text())
    leaked = solution_lines(patch)[0]
    _set_instruction(task, lambda text: text + f"\nHint: `{leaked}`\n")
    with (task / "tests" / "test_func.py").open("a") as fh:
        fh.write(f"\n# {leaked}\n")
    messages = _messages(task, "leak")
    assert len(messages) == 2
    assert messages[0].startswith("the instruction carries 1 line(s) of the solution")
    assert messages[1].startswith("tests/test_func.py carries")
    assert leaked in messages[0]


@pytest.mark.docker
def test_planted_secret(dirs, tmp_path):
    task = _copy(dirs, tmp_path, kind="environment", fmt="harbor")
    with (task / "tests" / "test_connect.py").open("a") as fh:
        fh.write('\nAWS_KEY = "AKIAPLANTEDFAKE00002"\n')
    messages = _messages(task, "secret")
    assert any(m.startswith("tests/test_connect.py:") and "AWS Access Key" in m for m in messages), messages


@pytest.mark.docker
def test_unmasked_symbol(dirs, tmp_path):
    task = _copy(dirs, tmp_path)
    metadata = json.loads((task / "metadata.json").read_text())
    metadata["masked_symbols"].append("app.py:health")
    (task / "metadata.json").write_text(json.dumps(metadata))
    assert _messages(task, "mask") == ["app.py:health: the solution does not change app.py, so it is not masked"]

    # The original code put back: the masked code is gone, the patch cannot apply.
    subprocess.run(["bash", "solution.sh"], cwd=task, check=True, capture_output=True)
    (messages,) = [_messages(task, "mask")]
    assert len(messages) == 1 and messages[0].startswith("the solution patch does not apply")


@pytest.mark.docker
def test_bad_metadata_and_harbor_reward(dirs, tmp_path):
    task = _copy(dirs, tmp_path, fmt="harbor")
    metadata = json.loads((task / "metadata.json").read_text())
    metadata["kind"] = "bogus"
    del metadata["commit"]
    (task / "metadata.json").write_text(json.dumps(metadata))
    test_sh = task / "tests" / "test.sh"
    test_sh.write_text(test_sh.read_text().replace("reward.txt", "result.txt"))
    messages = _messages(task, "metadata")
    assert any("'commit' is a required property" in m for m in messages), messages
    assert any(m.startswith("metadata.json kind: 'bogus' is not one of") for m in messages), messages
    assert "tests/test.sh never writes Harbor's reward.txt" in _messages(task, "layout")


@pytest.mark.docker
def test_environment_variant_with_its_dockerfile_back(dirs, tmp_path):
    task = _copy(dirs, tmp_path, kind="environment")
    folder = read_task(task)
    repo = folder.repo_dir(folder.metadata().source)
    (repo / "Dockerfile").write_text("FROM scratch\n")
    assert _messages(task, "variant") == [
        f"environment task still ships {repo.name}/Dockerfile: the agent must write it"
    ]


def test_not_a_task(tmp_path):
    report = lint_task(tmp_path)
    assert not report.ok and report.findings[0].message.startswith("neither task.yaml")
