"""Transcripts: every agent run's messages, tool calls, usage and outcome, as a JSON file a
person reads, redacted before it touches the disk.

A transcript lives beside the task's evidence (work_dir/evidence/<snapshot>/agent/), never
inside the emitted task: it holds original code, that is, the solution.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from detect_secrets.core.scan import scan_line

from pipeline.stages import secret_scan

PLACEHOLDER = "[REDACTED]"
# Environment variables whose values are credentials by their name.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.IGNORECASE)
MIN_SECRET_CHARS = 8


def secret_values(extra: list[str | None] = ()) -> list[str]:
    """The API key plus every environment value that looks like a credential."""
    values = {v for v in extra if v and len(v) >= 4}
    for name, value in os.environ.items():
        if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS:
            values.add(value)
    return sorted(values, key=len, reverse=True)


class Redactor:
    """Masks known secret values, then whatever detect-secrets' plugins see, line by line."""

    def __init__(self, known: list[str]) -> None:
        self.known = known

    def text(self, value: str) -> str:
        for secret in self.known:
            value = value.replace(secret, PLACEHOLDER)
        if not value.strip():
            return value
        lines = value.split("\n")
        with secret_scan.detect_secrets_defaults():
            for index, line in enumerate(lines):
                if len(line) < MIN_SECRET_CHARS:
                    continue
                found = {_whole(secret.type, secret.secret_value or "", line) for secret in scan_line(line)}
                for secret in sorted(found - {None}, key=len, reverse=True):
                    line = line.replace(secret, PLACEHOLDER)
                lines[index] = line
        return "\n".join(lines)

    def value(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.value(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.value(v) for v in data]
        return data


def _whole(kind: str, value: str, line: str) -> str | None:
    """The secret to mask for a finding. Ad-hoc scanning calls every word "high entropy"
    ("submitted"): such a finding counts only when it looks like a token (long, letters
    and digits). GitHub tokens are reported as their prefix ("ghp"): a short value counts
    only as the start of a longer token."""
    if "High Entropy" in kind:
        token = len(value) >= 20 and re.search(r"\d", value) and re.search(r"[A-Za-z]", value)
        return value if token else None
    if len(value) >= MIN_SECRET_CHARS:
        return value
    match = re.search(re.escape(value) + rf"[A-Za-z0-9_\-]{{{MIN_SECRET_CHARS},}}", line) if value else None
    return match.group(0) if match else None


def save(path: Path, data: dict[str, Any], redactor: Redactor) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(redactor.value(data), indent=2, default=str) + "\n")
    return path
