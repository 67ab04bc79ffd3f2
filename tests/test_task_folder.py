"""The task folder model: one reader for both layouts, metadata.json written exactly as
before (same keys, order and indentation), and a clear answer for a folder that is not a
task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.schemas.metadata import EnvironmentVariantInfo
from pipeline.task_folder import (
    MetadataSummary,
    NotATaskError,
    TaskFolder,
    TaskMetadata,
    published_task_key,
    read_task,
)

HANDLER = {
    "file": "app.py",
    "name": "list_todos",
    "line": 12,
    "start_byte": 100,
    "end_byte": 200,
    "body_start_byte": 130,
    "body_end_byte": 200,
}
# metadata.json of an implementation task, keys in the order package.py has always written them.
METADATA = {
    "task_id": "local_flask_todo__todos",
    "kind": "implementation",
    "source": {"origin": "/src/flask_todo", "owner": "local", "name": "flask_todo"},
    "commit": "0123456789abcdef0123456789abcdef01234567",
    "license": {"spdx_id": "MIT", "evidence_file": "LICENSE", "accepted": True, "reason": "MIT", "warnings": []},
    "service": {"root": ".", "language": "python", "framework": "flask"},
    "group": {"name": "todos", "description": "the todo list"},
    "endpoints": [{"method": "GET", "path": "/todos", "handler": HANDLER}],
    "masked_symbols": ["app.py:list_todos"],
    "environment": {"base_image": "python:3.11-slim", "port": 5000, "health_path": "/", "env": {}},
    "redaction_report": {"files_scanned": 3, "findings": [], "removed_files": [], "large_files": []},
    "verification_report": None,
    "pipeline_version": "0.1.0",
    "stage_hashes": {"task": "key-1", "tree": "tree-1"},
}


def _text(data: dict) -> str:
    return json.dumps(data, indent=2) + "\n"


def test_a_folder_that_is_not_a_task_says_so(tmp_path):
    (tmp_path / "metadata.json").write_text(_text(METADATA))  # metadata alone does not make a task
    with pytest.raises(NotATaskError) as caught:
        read_task(tmp_path)
    assert str(caught.value) == f"{tmp_path}: neither task.yaml (Terminal-Bench) nor task.toml (Harbor): not a task"
    assert isinstance(caught.value, ValueError)


def test_read_task_finds_the_layout(tmp_path):
    (tmp_path / "tb").mkdir()
    (tmp_path / "tb" / "task.yaml").write_text("instruction: x\n")
    (tmp_path / "harbor").mkdir()
    (tmp_path / "harbor" / "task.toml").write_text("schema_version = '1.4'\n")
    tb, harbor = read_task(tmp_path / "tb"), read_task(tmp_path / "harbor")
    assert tb == TaskFolder.terminal_bench(tmp_path / "tb")
    assert (tb.format, tb.relative(tb.run_tests), tb.relative(tb.solution)) == (
        "terminal-bench",
        "run-tests.sh",
        "solution.sh",
    )
    assert [harbor.relative(p) for p in (harbor.run_tests, harbor.solution, harbor.dockerfile)] == [
        "tests/run-tests.sh",
        "solution/solve.sh",
        "environment/Dockerfile",
    ]
    source = TaskMetadata.model_validate(METADATA).source
    assert tb.repo_dir(source) == tmp_path / "tb" / "Local_flask_todo"
    assert harbor.repo_dir(source) == tmp_path / "harbor" / "environment" / "Local_flask_todo"


def test_metadata_is_written_byte_for_byte_as_before(tmp_path):
    task = TaskFolder.terminal_bench(tmp_path)
    task.write_metadata(TaskMetadata.model_validate(METADATA))
    assert task.metadata_file.read_text() == _text(METADATA)

    # What the agent hooks add stays where they put it; the variant's section comes last.
    with_agent = {**METADATA, "agent": {"explorer": {"used": False}}}
    task.metadata_file.write_text(_text(with_agent))
    variant = task.metadata().model_copy(
        update={
            "task_id": "local_flask_todo__todos__env",
            "kind": "environment",
            "environment_variant": EnvironmentVariantInfo(dockerfile="Dockerfile", removed_files=["Dockerfile"]),
        }
    )
    task.write_metadata(variant)
    expected = {
        **with_agent,
        "task_id": "local_flask_todo__todos__env",
        "kind": "environment",
        "environment_variant": {"dockerfile": "Dockerfile", "removed_files": ["Dockerfile"]},
    }
    assert task.metadata_file.read_text() == _text(expected)


def test_metadata_that_breaks_the_schema_is_never_written(tmp_path):
    broken = TaskMetadata.model_validate(METADATA).model_copy(update={"task_id": "Not A Valid Id"})
    with pytest.raises(ValueError):
        TaskFolder.terminal_bench(tmp_path).write_metadata(broken)
    assert not (tmp_path / "metadata.json").exists()


def test_summary_and_published_key_read_damaged_metadata_leniently(tmp_path):
    assert published_task_key(tmp_path / "missing") is None
    (tmp_path / "metadata.json").write_text("{not json")
    assert published_task_key(tmp_path) is None
    (tmp_path / "metadata.json").write_text(_text({**METADATA, "kind": "bogus", "masked_symbols": None}))
    assert published_task_key(tmp_path) == "key-1"
    summary = MetadataSummary.read(tmp_path)
    assert (summary.task_id, summary.kind, summary.masked_symbols) == ("local_flask_todo__todos", "bogus", [])
    assert MetadataSummary.of(["not", "an", "object"]) == MetadataSummary()


def test_every_part_the_writer_uses_is_under_the_root():
    for task in (TaskFolder.terminal_bench(Path("/t")), TaskFolder.harbor(Path("/t"))):
        for path in [*task.required(), *task.executables(), task.compose, task.repo_parent]:
            assert path.is_relative_to(task.root)
