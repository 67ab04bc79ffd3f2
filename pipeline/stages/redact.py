"""redact: no secret reaches an emitted task.

detect-secrets scans every text file; each finding's value is replaced in place by a
placeholder. Findings are keyed by (file, line, type), because detect-secrets hashes
every GitHub token the same.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from pipeline.models import RedactionFinding, RedactionReport, StageError, Verdict

STAGE_VERSION = "1"
PLACEHOLDER = "REDACTED-BY-ABC-PIPELINE"
MAX_FILE_BYTES = 2 * 1024 * 1024
log = logging.getLogger(__name__)


def _text_files(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in {".git", "node_modules"})
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
                continue
            with path.open("rb") as fh:
                if b"\0" in fh.read(8192):
                    continue
            files.append(path)
    return files


def scan(root: Path) -> list[tuple[Path, int, str, str | None]]:
    """(file, line, type, secret value) for every secret detect-secrets sees under root."""
    files = _text_files(root)
    found: list[tuple[Path, int, str, str | None]] = []
    with default_settings():
        collection = SecretsCollection(root=str(root))
        for path in files:
            collection.scan_file(str(path))
        for filename, secret in collection:
            found.append((Path(filename), secret.line_number, secret.type, secret.secret_value))
    return found


def redact_tree(root: Path) -> RedactionReport:
    """Replace every secret under root in place; raise when one cannot be replaced."""
    findings = scan(root)
    report: list[RedactionFinding] = []
    # Longest value first: two detectors may see one secret (a GitHub token is also a
    # high-entropy string), and the first replacement covers the second.
    ordered = sorted(findings, key=lambda f: (str(f[0]), f[1], -len(f[3] or "")))
    for path, line_number, secret_type, value in ordered:
        full = path if path.is_absolute() else root / path
        rel = full.relative_to(root).as_posix()
        lines = full.read_text(errors="surrogateescape").splitlines(keepends=True)
        index = line_number - 1
        line = lines[index] if value and index < len(lines) else ""
        if value and value in line:
            # Some detectors report only a prefix (GitHub tokens: "ghp"): take the whole token.
            lines[index] = re.sub(re.escape(value) + r"[A-Za-z0-9_\-]*", PLACEHOLDER, line)
            full.write_text("".join(lines), errors="surrogateescape")
        elif PLACEHOLDER not in line:
            raise StageError(
                Verdict.secret_unredactable,
                f"{secret_type} in {rel}:{line_number} could not be located for redaction",
                stage="redact",
            )
        report.append(RedactionFinding(file=rel, line=line_number, type=secret_type))
    # Never log the values themselves: only where and what kind.
    for finding in report:
        log.info("redacted %s at %s:%d", finding.type, finding.file, finding.line)
    return RedactionReport(files_scanned=len(_text_files(root)), findings=report)
