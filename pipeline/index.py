"""index: one JSON line per task of a folder, like ABC-Bench's train.jsonl.

Reads only the task folders themselves (either layout): `task_id`, `tags`, `category` and
`instruction`, plus `kind` and `format`, and when the task says them its `difficulty` and
metadata.json's `strength` (endpoints, assertions, stand-ins), so a dataset can be
filtered without opening every folder. A field a task does not have (an older task has
no `strength`) is left out of its line rather than written as null. Folders that are not
tasks (hidden staging folders) are skipped.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

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
    difficulty: str | None = None
    strength: dict[str, Any] | None = None


def _strength(metadata_file: Path) -> dict[str, Any] | None:
    """metadata.json's `strength` as written (read as plain JSON: the summary model does
    not carry it, and a damaged or older metadata.json simply has none)."""
    try:
        metadata = json.loads(metadata_file.read_text())
    except (OSError, ValueError):
        return None
    strength = metadata.get("strength") if isinstance(metadata, dict) else None
    return strength if isinstance(strength, dict) else None


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
    strength = _strength(task.metadata_file)
    difficulty = config.get("difficulty") or (strength or {}).get("difficulty")
    return IndexEntry(
        task_id=metadata.task_id or config.get("task_id") or task_dir.name,
        tags=list(config.get("tags", [])),
        category=config.get("category", ""),
        instruction=instruction,
        kind=metadata.kind or config.get("kind") or "implementation",
        format=task.format,
        difficulty=str(difficulty) if difficulty else None,
        strength=strength,
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
        out.write(json.dumps(entry.model_dump(exclude_none=True), ensure_ascii=False) + "\n")
        count += 1
    return count
