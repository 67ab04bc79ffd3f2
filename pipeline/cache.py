"""Content-addressed stage cache.

A stage's result is stored under a key made of what decides it: the repository commit,
the stage's version and the settings that change its output. A second run over unchanged
input reads the result instead of recomputing it. The cache is ours rather than Prefect's
so that stages cached here are the same whether they run inside a flow or alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def content_key(*parts: object) -> str:
    """A stable hash of JSON-serialisable parts (models are dumped first)."""
    normalised = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in parts]
    blob = json.dumps(normalised, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def tree_hash(root: Path) -> str:
    """Hash of every file's relative path and bytes under root (symlinks by target)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if ".git" not in p.relative_to(root).parts):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            digest.update(f"L {rel} {os.readlink(path)}\n".encode())
        elif path.is_file():
            digest.update(f"F {rel} {path.stat().st_mode & 0o111}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


class StageCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, stage: str, key: str) -> Path:
        return self.root / stage / f"{key}.json"

    def get(self, stage: str, key: str, model: type[M]) -> M | None:
        path = self._path(stage, key)
        if not path.is_file():
            return None
        try:
            return model.model_validate_json(path.read_text())
        except ValueError:
            # A result written by an older model shape is a miss, not an error.
            return None

    def put(self, stage: str, key: str, value: BaseModel) -> None:
        path = self._path(stage, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a killed run never leaves a half-written entry.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(value.model_dump_json())
        os.replace(tmp, path)
