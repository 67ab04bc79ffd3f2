"""A task folder: where each part of a packaged task lives, in either layout, and its
metadata.json as a model.

The Terminal-Bench layout is what the pipeline writes and verifies; the Harbor layout is
written from it (package.py). Everything that writes or reads a task folder (package,
verify, lint, index, generate's "already published?") takes its paths from `TaskFolder`
and its metadata from here, so the layout is known in one place.

    task = read_task(path)              # NotATaskError when it is neither layout
    metadata = task.metadata()          # TaskMetadata, validated
    summary = task.summary()            # the few fields any reader needs, never raises
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.schemas.metadata import EnvironmentVariantInfo, SourceInfo, TaskMetadata

__all__ = [
    "METADATA_FILE",
    "TEST_FILES",
    "EnvironmentVariantInfo",
    "MetadataSummary",
    "NotATaskError",
    "SourceInfo",
    "TaskFolder",
    "TaskFormat",
    "TaskMetadata",
    "detect_format",
    "published_task_key",
    "read_task",
    "repo_dir_name",
]

TaskFormat = Literal["terminal-bench", "harbor"]
METADATA_FILE = "metadata.json"
TEST_FILES = ("conftest.py", "test_connect.py", "test_func.py")
_CONFIG_FILES: dict[TaskFormat, str] = {"terminal-bench": "task.yaml", "harbor": "task.toml"}


class NotATaskError(ValueError):
    """A folder that holds no task: neither layout's config file is in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.reason = "neither task.yaml (Terminal-Bench) nor task.toml (Harbor): not a task"
        super().__init__(f"{root}: {self.reason}")


def repo_dir_name(owner: str, name: str) -> str:
    """The repository folder's name in a task: `Owner_name`, as ABC-Bench names it."""
    folder = f"{owner[:1].upper()}{owner[1:]}_{name}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", folder)


class MetadataSummary(BaseModel):
    """What readers of any folder (lint, index, the gate, generate's cache) take from
    metadata.json, read leniently: a field that is missing or does not parse reads as
    absent, so a damaged folder is still indexed and linted (lint reports the damage
    against the schema), and a half-written one is never taken for a finished task."""

    task_id: str | None = None
    kind: str | None = None
    source: SourceInfo | None = None
    masked_symbols: list[str] = Field(default_factory=list)
    stage_hashes: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, metadata: object) -> MetadataSummary:
        """The summary of a parsed metadata.json (anything but an object reads as empty)."""
        if not isinstance(metadata, dict):
            return cls()
        kept: dict[str, Any] = {}
        for name in cls.model_fields:
            if name not in metadata:
                continue
            try:
                cls.model_validate({name: metadata[name]})
            except ValidationError:
                continue
            kept[name] = metadata[name]
        return cls.model_validate(kept)

    @classmethod
    def read(cls, task_dir: Path) -> MetadataSummary:
        """The summary of a folder's metadata.json; empty when it is missing or not JSON."""
        try:
            return cls.of(json.loads((task_dir / METADATA_FILE).read_text()))
        except (OSError, ValueError):
            return cls()


def published_task_key(task_dir: Path) -> str | None:
    """The content key a published task was written from (`stage_hashes["task"]` of its
    metadata.json, either layout); None when the folder or its metadata is missing or
    unreadable, so it is made again."""
    return MetadataSummary.read(task_dir).stage_hashes.get("task")


class TaskFolder(BaseModel):
    """Where each part of a task lives, in one layout. The paths are where the parts
    belong, whether or not they exist yet (package.py writes them)."""

    model_config = ConfigDict(frozen=True)

    root: Path
    format: TaskFormat
    config: Path = Field(description="task.yaml (Terminal-Bench) or task.toml (Harbor)")
    instruction: Path | None = Field(description="Harbor's instruction.md; Terminal-Bench keeps it in task.yaml")
    dockerfile: Path = Field(description="the agent's (client) container")
    compose: Path
    run_tests: Path = Field(description="the verified script: builds, starts and tests the service")
    solution: Path
    tests: Path
    test_sh: Path | None = Field(description="Harbor's verifier, which runs run_tests and writes the reward")
    metadata_file: Path
    repo_parent: Path = Field(description="the folder holding the repository folder (the Dockerfile's context)")

    @classmethod
    def terminal_bench(cls, root: Path) -> TaskFolder:
        return cls(
            root=root,
            format="terminal-bench",
            config=root / "task.yaml",
            instruction=None,
            dockerfile=root / "Dockerfile",
            compose=root / "docker-compose.yaml",
            run_tests=root / "run-tests.sh",
            solution=root / "solution.sh",
            tests=root / "tests",
            test_sh=None,
            metadata_file=root / METADATA_FILE,
            repo_parent=root,
        )

    @classmethod
    def harbor(cls, root: Path) -> TaskFolder:
        environment = root / "environment"
        return cls(
            root=root,
            format="harbor",
            config=root / "task.toml",
            instruction=root / "instruction.md",
            dockerfile=environment / "Dockerfile",
            compose=environment / "docker-compose.yaml",
            run_tests=root / "tests" / "run-tests.sh",
            solution=root / "solution" / "solve.sh",
            tests=root / "tests",
            test_sh=root / "tests" / "test.sh",
            metadata_file=root / METADATA_FILE,
            repo_parent=environment,
        )

    @classmethod
    def of(cls, root: Path, fmt: TaskFormat) -> TaskFolder:
        return cls.harbor(root) if fmt == "harbor" else cls.terminal_bench(root)

    # ------------------------------------------------------------------ the layout

    def test_files(self) -> list[Path]:
        return [self.tests / name for name in TEST_FILES]

    def required(self) -> list[Path]:
        """Every file a complete task of this layout has, in the order lint reports them."""
        if self.format == "harbor":
            assert self.instruction is not None and self.test_sh is not None
            parts = [self.config, self.instruction, self.dockerfile, self.solution, self.test_sh, self.run_tests]
        else:
            parts = [self.config, self.dockerfile, self.compose, self.run_tests, self.solution]
        return [*parts, self.metadata_file, *self.test_files()]

    def executables(self) -> list[Path]:
        """The scripts a harness runs directly, so they must be executable."""
        if self.format == "harbor":
            assert self.test_sh is not None
            return [self.test_sh, self.run_tests, self.solution]
        return [self.run_tests]

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def repo_dir(self, source: SourceInfo) -> Path:
        """The repository folder of the task whose metadata names `source`."""
        return self.repo_parent / repo_dir_name(source.owner, source.name)

    # ------------------------------------------------------------------ metadata.json

    def metadata_json(self) -> Any:
        """metadata.json as parsed JSON, unchecked (lint checks it against the schema).
        Raises OSError when it cannot be read, ValueError when it is not JSON."""
        return json.loads(self.metadata_file.read_text())

    def metadata(self) -> TaskMetadata:
        """metadata.json, validated. Raises OSError or pydantic's ValidationError."""
        return TaskMetadata.model_validate_json(self.metadata_file.read_text())

    def summary(self) -> MetadataSummary:
        return MetadataSummary.read(self.root)

    def write_metadata(self, metadata: TaskMetadata) -> None:
        data = metadata.model_dump(mode="json")
        # Checked against the shipped schema's model on the way out: a task never carries
        # metadata that `abc-pipeline lint` would reject.
        TaskMetadata.model_validate(data)
        # The variant's own section comes last, after whatever the implementation task
        # carried (the agent's section): the variant is that task with one more section.
        if data.get("strength") is None:
            data.pop("strength", None)  # a task written before the strength gate stays as it was
        redaction = data.get("redaction_report")
        if isinstance(redaction, dict) and not redaction.get("generated_keys"):
            redaction.pop("generated_keys", None)  # likewise a task whose keys were not renewed
        variant = data.pop("environment_variant")
        if variant is not None:
            data["environment_variant"] = variant
        self.metadata_file.write_text(json.dumps(data, indent=2) + "\n")


def detect_format(root: Path) -> TaskFormat | None:
    """The layout of a folder, by its config file; None when it has neither."""
    formats: tuple[TaskFormat, ...] = ("harbor", "terminal-bench")
    for fmt in formats:
        if (root / _CONFIG_FILES[fmt]).is_file():
            return fmt
    return None


def read_task(root: Path) -> TaskFolder:
    """The task folder at `root`, in the layout it is written in. Raises NotATaskError
    (a ValueError) when it is neither layout."""
    fmt = detect_format(root)
    if fmt is None:
        raise NotATaskError(root)
    return TaskFolder.of(root, fmt)
