"""`abc-pipeline index`: a JSONL of a folder of tasks, like ABC-Bench's train.jsonl."""

from __future__ import annotations

import json

import pytest
import yaml
from task_support import planted_tasks, task_dirs
from typer.testing import CliRunner

from pipeline.cli import app


@pytest.mark.docker
def test_index_of_both_formats(docker_engine, tmp_path_factory, tmp_path):
    result, out = planted_tasks(tmp_path_factory)
    dirs = task_dirs(result)

    cli = CliRunner().invoke(app, ["index", str(out)])
    assert cli.exit_code == 0, cli.output
    lines = [json.loads(line) for line in cli.stdout.splitlines()]
    # Harbor exports live beside the folder: only the two Terminal-Bench tasks.
    assert [e["task_id"] for e in lines] == sorted(p.name for (k, f), p in dirs.items() if f == "terminal-bench")
    impl = dirs[("implementation", "terminal-bench")]
    task_yaml = yaml.safe_load((impl / "task.yaml").read_text())
    entry = next(e for e in lines if e["task_id"] == impl.name)
    metadata = json.loads((impl / "metadata.json").read_text())
    expected = {
        "task_id": impl.name,
        "tags": task_yaml["tags"],
        "category": task_yaml["category"],
        "instruction": task_yaml["instruction"],
        "kind": "implementation",
        "format": "terminal-bench",
        "difficulty": task_yaml["difficulty"],
    }
    if "strength" in metadata:
        expected["strength"] = metadata["strength"]
    assert entry == expected

    target = tmp_path / "train.jsonl"
    cli = CliRunner().invoke(app, ["index", str(out.with_name(f"{out.name}-harbor")), "--out", str(target)])
    assert cli.exit_code == 0, cli.output
    harbor = [json.loads(line) for line in target.read_text().splitlines()]
    assert [(e["task_id"], e["format"]) for e in harbor] == [(e["task_id"], "harbor") for e in lines]
    assert [e["tags"] for e in harbor] == [e["tags"] for e in lines]
    assert {e["kind"] for e in harbor} == {"implementation", "environment"}


def test_index_of_a_missing_folder_is_a_usage_error(tmp_path):
    assert CliRunner().invoke(app, ["index", str(tmp_path / "nope")]).exit_code == 2


def test_index_carries_difficulty_and_strength_when_present(tmp_path):
    strength = {
        "endpoints": 3,
        "assertions": 12,
        "assertions_per_endpoint": 4.0,
        "masked_lines": 30,
        "stand_ins": [{"name": "empty_body", "passed": False, "skipped": None}],
        "difficulty": "medium",
    }
    for task_id, extra in (("acme_new__notes", {"strength": strength}), ("acme_old__notes", {})):
        folder = tmp_path / "tasks" / task_id
        folder.mkdir(parents=True)
        config = {"instruction": "Do it.", "difficulty": "medium", "category": "backend", "tags": ["python"]}
        (folder / "task.yaml").write_text(yaml.safe_dump(config))
        (folder / "metadata.json").write_text(json.dumps({"task_id": task_id, "kind": "implementation", **extra}))
    cli = CliRunner().invoke(app, ["index", str(tmp_path / "tasks")])
    assert cli.exit_code == 0, cli.output
    new, old = (json.loads(line) for line in cli.stdout.splitlines())
    assert new["difficulty"] == "medium" and new["strength"] == strength
    # A task written before the strength gate: its line simply has no strength (not null).
    assert old["task_id"] == "acme_old__notes" and old["difficulty"] == "medium" and "strength" not in old
