"""redact: no secret reaches an emitted task.

Two detectors, one replacement rule:

- the pipeline's own patterns (`PATTERNS`) for what detect-secrets misses or cuts short:
  whole PEM private-key blocks (detect-secrets only flags the BEGIN line), fine-grained
  GitHub tokens (`github_pat_`, seen only as "high entropy"), passwords inside URLs,
  secret-named assignments in configs and `.env` files;
- detect-secrets for the rest (AWS keys, high-entropy strings, keyword secrets).

A value is replaced where it stands, by a placeholder that keeps the shape code relies on:
a URL stays a URL with `REDACTED` as its password, a quoted string stays quoted, so a
service that reads its JWT secret or database URL at start still starts. Findings are
keyed by (file, line, type), because detect-secrets hashes every GitHub token the same;
the values themselves are never logged or reported.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from pipeline.models import RedactionFinding, RedactionReport, StageError, Verdict

STAGE_VERSION = "3"
PLACEHOLDER = "REDACTED-BY-ABC-PIPELINE"
URL_PASSWORD_PLACEHOLDER = "REDACTED"
MAX_FILE_BYTES = 2 * 1024 * 1024
log = logging.getLogger(__name__)

# Names that say "this value is a secret" (jwtSecret, DB_PASSWORD, api_key, AUTH_TOKEN...).
_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*"
    r"(?:secret|token|passw(?:or)?d|passwd|pwd|api[_-]?key|private[_-]?key|access[_-]?key|credential)"
    r"[A-Za-z0-9_.-]*"
)


@dataclass(frozen=True)
class Pattern:
    """A secret shape: `value` is the regex group that is replaced."""

    type: str
    regex: re.Pattern[str]
    value: int | str = 0
    placeholder: str = PLACEHOLDER
    env_files_only: bool = False
    # A name-based pattern also catches plain words; only values that look secret count.
    judge_value: bool = False


PATTERNS = [
    Pattern(
        "Private Key",
        re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY((?: BLOCK)?)-----.*?-----END \1PRIVATE KEY\2-----", re.DOTALL),
    ),
    Pattern("GitHub Token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}")),
    Pattern("GitHub Token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    Pattern("AWS Access Key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    # scheme://user:password@host: only the password goes, the URL still parses.
    Pattern(
        "URL Password",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+:(?P<pw>[^\s@/'\"]+)@"),
        value="pw",
        placeholder=URL_PASSWORD_PLACEHOLDER,
    ),
    # NAME = "value" / "name": "value" in code and config files (quoted values only, so
    # `os.environ["JWT_SECRET"]` and `password = request.json["password"]` are left alone).
    Pattern(
        "Secret Assignment",
        re.compile(
            r"""(?i)["']?\b""" + _SECRET_NAME + r"""["']?\s*(?::=|=>|[:=])\s*(?P<q>["'])(?P<v>[^"'\s]{8,})(?P=q)"""
        ),
        value="v",
        judge_value=True,
    ),
    # NAME=value lines of .env files, quoted or not.
    Pattern(
        "Env File Secret",
        re.compile(r"""(?im)^[ \t]*(?:export[ \t]+)?""" + _SECRET_NAME + r"""[ \t]*=[ \t]*["']?(?P<v>[^"'\s#]+)"""),
        value="v",
        env_files_only=True,
        judge_value=True,
    ),
]


def _is_env_file(path: Path) -> bool:
    return path.name == ".env" or path.name.startswith(".env.") or path.name.endswith(".env")


def _is_placeholder(value: str | None) -> bool:
    return bool(value) and (PLACEHOLDER in value or value == URL_PASSWORD_PLACEHOLDER)


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
    """(file, line, type, secret value) for every secret detect-secrets sees under root.

    Values that are already one of the pipeline's placeholders are not secrets.
    """
    files = _text_files(root)
    found: list[tuple[Path, int, str, str | None]] = []
    with default_settings():
        collection = SecretsCollection(root=str(root))
        for path in files:
            collection.scan_file(str(path))
        for filename, secret in collection:
            if _is_placeholder(secret.secret_value) or _is_identifier_line(Path(filename), secret.line_number):
                continue
            found.append((Path(filename), secret.line_number, secret.type, secret.secret_value))
    return found


# Random-looking ids the code needs as they are: Alembic migration revisions chain by
# them (replacing one breaks `alembic upgrade`). They guard nothing.
_IDENTIFIER_LINE = re.compile(
    r"^\s*(?:down_revision|revision|branch_labels|depends_on)\s*(?::[^=]+)?=|^\s*(?:Revision ID|Revises):"
)


def _is_identifier_line(path: Path, line_number: int) -> bool:
    try:
        lines = path.read_text(errors="surrogateescape").splitlines()
    except OSError:
        return False
    return 0 < line_number <= len(lines) and bool(_IDENTIFIER_LINE.search(lines[line_number - 1]))


# Values a secret-named assignment holds that are not secrets: versions ("^4.0.0" under a
# package named like "*-token"), references to the environment, template holes.
_NOT_A_SECRET = re.compile(r"^[~^<>=v]*\d+(\.[\w*-]+)*$|^\$|^%|^\{|process\.env|os\.environ")


def _looks_secret(value: str) -> bool:
    """A plain word ("Authorization", "password") is a name, not a secret; a secret has a
    digit or a symbol in it, or is long."""
    if _NOT_A_SECRET.search(value):
        return False
    return len(value) >= 16 or bool(re.search(r"[^A-Za-z]", value))


def _pattern_matches(path: Path, text: str) -> list[tuple[Pattern, re.Match[str]]]:
    matches = []
    for pattern in PATTERNS:
        if pattern.env_files_only and not _is_env_file(path):
            continue
        for match in pattern.regex.finditer(text):
            value = match.group(pattern.value)
            if _is_placeholder(value) or (pattern.judge_value and not _looks_secret(value)):
                continue
            matches.append((pattern, match))
    return matches


def find_pattern_secrets(root: Path) -> list[RedactionFinding]:
    """Where the pipeline's own patterns see a secret under root (nothing is changed)."""
    findings = []
    for path in _text_files(root):
        text = path.read_text(errors="surrogateescape")
        for pattern, match in _pattern_matches(path, text):
            line = text.count("\n", 0, match.start(pattern.value)) + 1
            findings.append(RedactionFinding(file=path.relative_to(root).as_posix(), line=line, type=pattern.type))
    return findings


def _redact_patterns(root: Path) -> list[RedactionFinding]:
    """Replace what PATTERNS find, file by file, keeping each value's surroundings."""
    findings: list[RedactionFinding] = []
    for path in _text_files(root):
        text = path.read_text(errors="surrogateescape")
        spans: list[tuple[int, int, str, str]] = []
        for pattern, match in _pattern_matches(path, text):
            start, end = match.span(pattern.value)
            spans.append((start, end, pattern.placeholder, pattern.type))
        if not spans:
            continue
        # Outermost first; a span inside one already taken (a token inside a PEM block,
        # a URL password inside a quoted DATABASE_URL) is covered by it.
        spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        kept: list[tuple[int, int, str, str]] = []
        for span in spans:
            if kept and span[0] < kept[-1][1]:
                continue
            kept.append(span)
        out, cursor = [], 0
        rel = path.relative_to(root).as_posix()
        for start, end, placeholder, kind in kept:
            out.append(text[cursor:start] + placeholder)
            cursor = end
            findings.append(RedactionFinding(file=rel, line=text.count("\n", 0, start) + 1, type=kind))
        out.append(text[cursor:])
        path.write_text("".join(out), errors="surrogateescape")
    return findings


def redact_tree(root: Path) -> RedactionReport:
    """Replace every secret under root in place; raise when one cannot be replaced."""
    report = _redact_patterns(root)
    findings = scan(root)
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


def leftover_secrets(root: Path, skip: tuple[str, ...] = ("metadata.json",)) -> list[RedactionFinding]:
    """Every secret either detector still sees under root (nothing is changed).

    For written packages: their tests and instruction come from what the service
    answered, so they are scanned again. metadata.json is skipped by default: its commit
    SHA and content hashes look like high-entropy secrets, and the rest of it comes from
    redacted inputs.
    """
    found = {(f.file, f.line, f.type) for f in find_pattern_secrets(root)}
    for path, line, kind, _ in scan(root):
        full = path if path.is_absolute() else root / path
        found.add((full.relative_to(root).as_posix(), line, kind))
    return [RedactionFinding(file=f, line=n, type=t) for f, n, t in sorted(found) if Path(f).name not in skip]
