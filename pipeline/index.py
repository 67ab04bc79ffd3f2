"""index: one JSON line per task of a folder, like ABC-Bench's train.jsonl.

Reads only the task folders themselves (either layout): `task_id`, `tags`, `category` and
`instruction`, plus `kind` and `format`, so a dataset can be filtered without opening
every folder. Folders that are not tasks (hidden staging
folders) are skipped.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import yaml
from pydantic import BaseModel

from pipeline.task_folder import NotATaskError, read_task


class IndexEntry(BaseModel):
    task_id: str
    tags: list[str]
    category: str
    instruction: str
    kind: str
    format: str


def entry_for(task_dir: Path) -> IndexEntry | None:
    """The index line of one task folder, or None when it is not a task."""
    try:
        task = read_task(task_dir)
    except NotATaskError:
        return None
    metadata = task.summary()
    if task.instruction is not None:
        config = tomllib.loads(task.config.read_text()).get("metadata", {})
        instruction = task.instruction.read_text()
    else:
        config = yaml.safe_load(task.config.read_text()) or {}
        instruction = config.get("instruction", "")
    return IndexEntry(
        task_id=metadata.task_id or config.get("task_id") or task_dir.name,
        tags=list(config.get("tags", [])),
        category=config.get("category", ""),
        instruction=instruction,
        kind=metadata.kind or config.get("kind") or "implementation",
        format=task.format,
    )


def index_entries(root: Path) -> Iterator[IndexEntry]:
    """The tasks directly under root, by folder name (a stable order for diffs)."""
    for task_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        entry = entry_for(task_dir)
        if entry is not None:
            yield entry


def write_index(root: Path, out: TextIO) -> int:
    """Write the JSONL to a text stream; return how many tasks it holds."""
    count = 0
    for entry in index_entries(root):
        out.write(json.dumps(entry.model_dump(), ensure_ascii=False) + "\n")
        count += 1
    return count
