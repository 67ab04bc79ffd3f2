"""redact: no secret reaches an emitted task.

Two detectors, one replacement rule:

- the pipeline's own patterns (`PATTERNS`) for what detect-secrets misses or cuts short:
  whole PEM private-key blocks (detect-secrets only flags the BEGIN line), fine-grained
  GitHub tokens (`github_pat_`, seen only as "high entropy"), passwords inside URLs,
  secret-named assignments in configs and `.env` files;
- detect-secrets for the rest (AWS keys, high-entropy strings, keyword secrets).

A PEM private key is replaced by a fresh key of the same kind, and the public keys the
repository ships for it by the new one's (stages/throwaway_keys.py): a service that signs
with its shipped key pair still starts. The fresh keys' fingerprints are in the report, and
the gate passes exactly those.

A value is replaced where it stands, by a placeholder that keeps the shape code relies on:
a URL stays a URL with `REDACTED` as its password, a quoted string stays quoted, so a
service that reads its JWT secret or database URL at start still starts. Findings are
keyed by (file, line, type), because detect-secrets hashes every GitHub token the same;
the values themselves are never logged or reported.

No text file ships unscanned: a file larger than detect-secrets' limit (`MAX_FILE_BYTES`,
a database dump, a bundled asset) is streamed through the pipeline's own patterns in
chunks, redacted in place the same way, and named in the report's `large_files`.

Logs are scrubbed too (`scrub`): what a service prints at start (its config, a generated
admin password) reaches build and start logs, the gate's log tails in metadata.json and
the CLI's reasons, so they pass through the same patterns, plus secret-named `NAME=value`
pairs and the secret values this process knows (`remember_secrets`), before any is kept.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.languages import LANGUAGES
from pipeline.models import RedactionFinding, RedactionReport
from pipeline.stages import secret_scan, throwaway_keys

STAGE_VERSION = "16"
PLACEHOLDER = "REDACTED-BY-ABC-PIPELINE"
URL_PASSWORD_PLACEHOLDER = "REDACTED"
# Larger text files are too slow for detect-secrets: they are streamed through PATTERNS.
MAX_FILE_BYTES = 2 * 1024 * 1024
# A large file is read this many characters at a time, cut at a line end.
CHUNK_CHARS = 1024 * 1024
# An unfinished PEM block is carried into the next chunk up to this size.
MAX_CARRY_CHARS = 256 * 1024
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


# A secret-named word, then = or :, then the value: `SECRET_KEY=abc123`, `password: hunter2!`,
# `"token": "..."`, `?token=...` (a log line, an instruction's list of variables).
_SECRET_ASSIGNMENT = re.compile(
    r"""(?i)(?<![A-Za-z0-9_.-])""" + _SECRET_NAME + r"""["']?[ \t]*[=:][ \t]*["']?(?P<v>[^\s"'`,;&<>)\]}]+)"""
)

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


# The pipeline's own stand-ins for configuration a service insists on (`dummy-NAME`, see
# the frameworks' env hints and dummy_values.dummy_value): written into generated Dockerfiles and
# instructions, never secrets, so never a reason to reject a task.
DUMMY_PREFIX = "dummy-"


# A template's hole is a reference to a value, never the value: `${MONGO_PASSWORD}` in a JS
# template string, `$PASSWORD` in a shell line, `{password}` / `%(password)s` / `%s` in
# Python, `#{password}` in Ruby, `<password>` in documentation.
_TEMPLATE_HOLE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_]\w*|\{\{?[^{}]*\}?\}|%\(\w+\)s|%s|#\{[^}]*\}|<[\w.-]+>")


# A Spring or shell reference with a default, `${DB_PASSWORD:xxxx}` (an assignment's value
# is cut at its closing brace): a reference, unless its default looks like a secret itself.
_REFERENCE_WITH_DEFAULT = re.compile(r"\$\{[\w.\-]+:(?P<default>[^}]*)\}?")


def _is_placeholder(value: str | None) -> bool:
    if not value:
        return False
    bare = value.strip("\"'")
    reference = _REFERENCE_WITH_DEFAULT.fullmatch(bare)
    if reference is not None:
        default = reference.group("default")
        return not default or _is_placeholder(default) or not _looks_secret(default)
    return (
        PLACEHOLDER in value
        or value == URL_PASSWORD_PLACEHOLDER
        or bare.startswith(DUMMY_PREFIX)
        or _TEMPLATE_HOLE.fullmatch(bare) is not None
    )


def _all_text_files(root: Path) -> Iterator[tuple[Path, bool]]:
    """(path, large) of every text file under root; large ones exceed MAX_FILE_BYTES."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in {".git", "node_modules"})
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as fh:
                if b"\0" in fh.read(8192):
                    continue
            yield path, path.stat().st_size > MAX_FILE_BYTES


def _text_files(root: Path) -> list[Path]:
    """The text files detect-secrets scans (MAX_FILE_BYTES at most)."""
    return [path for path, large in _all_text_files(root) if not large]


def _large_text_files(root: Path) -> list[Path]:
    """The text files too large for detect-secrets: the pipeline's patterns stream them."""
    return [path for path, large in _all_text_files(root) if large]


def scan(root: Path, files: list[Path] | None = None) -> list[tuple[Path, int, str, str | None]]:
    """(file, line, type, secret value) for every secret detect-secrets sees under root
    (in `files` only, when given).

    Values that are already one of the pipeline's placeholders are not secrets.
    """
    # detect-secrets joins its root onto paths that already hold a relative root, and then
    # silently finds nothing: every scan works on the absolute path.
    root = root.resolve()
    # detect-secrets' findings exactly, without running its plugins on lines none can match
    # (secret_scan.py says why that is exact); large trees on several processes.
    collection = secret_scan.scan_files(root, _text_files(root) if files is None else files)
    found: list[tuple[Path, int, str, str | None]] = []
    for filename, secret in collection:
        if (
            _is_placeholder(secret.secret_value)
            or _is_identifier_line(Path(filename), secret.line_number)
            or _only_placeholders_assigned(Path(filename), secret.line_number)
            or _is_type_test(Path(filename), secret.line_number, secret.secret_value)
            or (secret.type == "Secret Keyword" and _not_a_keyword_secret(Path(filename), secret))
            or _is_charset(secret.secret_value)
            or (secret.type in _GUESSING_DETECTORS and _is_generated(Path(filename)))
            or secret.line_number in _generated_key_lines(Path(filename))
        ):
            continue
        found.append((Path(filename), secret.line_number, secret.type, secret.secret_value))
    return found


# Three or more words of letters with a sentence's punctuation, on one line.
_SENTENCE = re.compile(r"[A-Za-z][A-Za-z'’,.;:!?()-]*(?: [A-Za-z][A-Za-z'’,.;:!?()-]*){2,}")
_CODE_SUFFIXES = {s for language in LANGUAGES for s in language.suffixes}
_REFERENCE = r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*"
# A variable, or an expression of them the keyword detector read past a comparison:
# `authData.TOTPSecret == nil {` gives "nil {", `!= nil), nil` gives "nil), nil".
# An expression too: `secret = secret + strings.Repeat("=", 8-n)` gives "secret + strings.Repeat(".
_CODE_REFERENCE = re.compile(rf"{_REFERENCE}(?:[\s(){{}}\[\],;:!&|<>=+*/%-]+(?:{_REFERENCE})?)*")


_CODE_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]{1,16}|\d[\d_]*(?:\.\d+)?")
# A high-entropy string with no character twice, this long, is an alphabet (hashids'
# default, a captcha's character set): a random secret of 24 characters from 64 repeats
# one with probability 0.99. Replacing an alphabet breaks the code that draws from it.
CHARSET_MIN_LENGTH = 24


def _is_charset(value: str | None) -> bool:
    return value is not None and len(value) >= CHARSET_MIN_LENGTH and len(set(value)) == len(value)


def _not_a_keyword_secret(path: Path, secret: Any) -> bool:
    """detect-secrets' keyword detector takes whatever follows `password =` for a secret.
    A plain word is a name, not a secret (`_looks_secret`: "socketio", a test database's
    password, would otherwise be replaced in every file, package names included), and a
    bare identifier the line does not quote is a variable the code reads (`ep.Password =
    pwd`): replacing it breaks the code, vendored code included."""
    value = secret.secret_value
    if not value:
        return False
    # A word, or a sentence ("SuperSecret": "This one has a name override"): not a secret.
    if not _looks_secret(value) or _SENTENCE.fullmatch(value):
        return True
    if path.suffix not in _CODE_SUFFIXES:
        return False
    # An integer constant in code (`PR_PAC_APDBKEY = 0x8` in vendored x/sys: replacing it
    # broke the Go build); 17+ hex digits could be a key, and stay a finding.
    if _CODE_NUMBER.fullmatch(value):
        return True
    # Only in code is an unquoted word a reference: in .env, YAML or INI files it is the value.
    if _CODE_REFERENCE.fullmatch(value) is None:
        return False
    try:
        lines = path.read_text(errors="surrogateescape").splitlines()
    except OSError:
        return False
    line = lines[secret.line_number - 1] if 0 < secret.line_number <= len(lines) else ""
    return not any(f"{quote}{value}{quote}" in line for quote in ("'", '"', "`"))


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


# What JavaScript's `typeof` answers: `typeof password !== 'string'` checks a type, yet
# detect-secrets' keyword detector reads it as a password compared with a literal (and
# replacing it would make every password fail the check).
_TYPEOF_NAMES = {"string", "number", "boolean", "object", "undefined", "function", "bigint", "symbol"}


def _is_type_test(path: Path, line_number: int, value: str | None) -> bool:
    if value is None or value.strip("\"'`") not in _TYPEOF_NAMES:
        return False
    try:
        lines = path.read_text(errors="surrogateescape").splitlines()
    except OSError:
        return False
    return 0 < line_number <= len(lines) and "typeof" in lines[line_number - 1]


def _only_placeholders_assigned(path: Path, line_number: int) -> bool:
    """True when every secret-named assignment on the line holds a placeholder: detect-
    secrets' keyword detector sometimes reports a neighbour on such a line as the value
    (`KEY=dummy-KEY`, `PORT=8000` in an instruction's list of variables). A multi-line
    YAML string is reported at its first line: with no assignment there, the whole file
    is judged (a real secret in it is still found by the pipeline's own patterns)."""
    try:
        text = path.read_text(errors="surrogateescape")
    except OSError:
        return False
    lines = text.splitlines()
    if not 0 < line_number <= len(lines):
        return False

    def assigned(where: str) -> list[str]:
        # A plain word is prose, not a value ("Without credentials: answers `401`", in an
        # instruction): it neither clears nor condemns the line.
        values = (m.group("v") for m in _SECRET_ASSIGNMENT.finditer(where))
        return [v for v in values if _is_placeholder(v) or _looks_secret(v)]

    values = assigned(lines[line_number - 1])
    if not values and path.suffix in {".yaml", ".yml"}:
        values = assigned(text)
    return bool(values) and all(_is_placeholder(v) for v in values)


# Values a secret-named assignment holds that are not secrets: versions ("^4.0.0" under a
# package named like "*-token"), references to the environment, template holes, the
# service's own URL paths (`tokenUrl="/auth/token"`, where a client gets its token).
_NOT_A_SECRET = re.compile(
    r"^[~^<>=v]*\d+(\.[\w*-]+)*$|^\$|^%|^\{|process\.env|os\.environ|^/[A-Za-z_][\w/.{}:-]*$"
    # a compiler's line:column after a file name (`token.go:257:16: invalid argument`)
    r"|^\d+(?::\d+)+:?$"
    # an address with no user, password or query in it (`TokenURL: "https://gitlab.com/oauth/token"`,
    # a JWT claims namespace): a URL's password and a token in a query are other patterns' finds
    r"|^https?://[\w.-]+(?::\d+)?(?:/[\w.~%/{}:+-]*)?$"
)


# Words of one case joined by `_`, `-` or `.` (`service_account`, `PIXEL_WIDTH`), or camelCase
# words (`authorizedUser`), maybe between a marker's symbols (`!BBOX!`): a name or a marker
# the code compares against, not a secret. Random secrets have digits or mixed case; a
# vendored oauth2 package's `userCredentialsKey = "authorized_user"` and a SQL template's
# `BboxToken = "!BBOX!"` were replaced, and the Go build broke on duplicate cases.
_NAME_LIKE = re.compile(
    r"[^\w\s]{0,2}(?:[a-z]+(?:[_.-][a-z]+)*|[A-Z]+(?:[_.-][A-Z]+)*|[a-z]+(?:[A-Z][a-z]+)+)[^\w\s]{0,2}"
)


def _looks_secret(value: str) -> bool:
    """A plain word ("Authorization", "password") is a name, not a secret; a secret has a
    digit or a symbol in it, or is long. A word (of letters, `_` and `-`) that ends in a colon is
    a label ("..._secrets__metrics: needs_service: Error" in a log), not a value; nor is a
    name or a marker (`_NAME_LIKE`)."""
    if value.endswith(":") and re.fullmatch(r"[A-Za-z][A-Za-z_-]*:", value):
        return False
    if _NAME_LIKE.fullmatch(value):
        return False
    if _NOT_A_SECRET.search(value):
        return False
    return len(value) >= 16 or bool(re.search(r"[^A-Za-z]", value))


# Go's marker of a generated file (golang.org/s/generatedcode), which other generators
# write too: its names are the generator's (stringer's `_TokenType_name = "None...Text"`),
# not a person's choice of a secret; replacing such a value breaks the build.
_GENERATED = re.compile(r"^// Code generated .* DO NOT EDIT\.$", re.MULTILINE)


# detect-secrets' detectors that guess from a value's look or its name, not its shape.
_GUESSING_DETECTORS = {"Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword"}


def _is_generated(path: Path) -> bool:
    try:
        with path.open(errors="replace") as handle:
            return _GENERATED.search(handle.read(4096)) is not None
    except OSError:
        return False


def _pattern_matches(path: Path, text: str, extra: tuple[Pattern, ...] = ()) -> list[tuple[Pattern, re.Match[str]]]:
    matches = []
    generated = _GENERATED.search(text[:4096]) is not None
    for pattern in (*PATTERNS, *extra):
        if pattern.env_files_only and not _is_env_file(path):
            continue
        if generated and pattern.judge_value:
            continue  # a key's own shape (AWS, GitHub, private keys) is still looked for
        for match in pattern.regex.finditer(text):
            value = match.group(pattern.value)
            if _is_placeholder(value) or (pattern.judge_value and not _looks_secret(value)):
                continue
            if pattern.type == "Private Key" and throwaway_keys.fingerprint(value) in _generated_keys:
                continue  # a throwaway key the pipeline made in place of the repository's
            matches.append((pattern, match))
    return matches


def find_pattern_secrets(root: Path) -> list[RedactionFinding]:
    """Where the pipeline's own patterns see a secret under root (nothing is changed);
    large text files included, streamed."""
    findings = []
    for path, large in _all_text_files(root):
        rel = path.relative_to(root).as_posix()
        if large:
            findings += _stream_patterns(path, rel, write=False)
            continue
        text = path.read_text(errors="surrogateescape")
        findings += _replace_patterns(path, rel, text)[1]
    return findings


def _replace_patterns(
    path: Path,
    rel: str,
    text: str,
    first_line: int = 1,
    known: Iterable[str] = (),
    extra: tuple[Pattern, ...] = (),
) -> tuple[str, list[RedactionFinding]]:
    """`text` with what PATTERNS (and `extra`) find replaced, keeping each value's
    surroundings, and the findings (lines counted from `first_line`). `known` values are
    replaced wherever they stand (for logs: the secrets this process has seen). Every
    value replaced is remembered for scrubbing logs."""
    spans: list[tuple[int, int, str, str]] = []
    for pattern, match in _pattern_matches(path, text, extra):
        start, end = match.span(pattern.value)
        spans.append((start, end, pattern.placeholder, pattern.type))
        remember_secrets([match.group(pattern.value)])
    known = list(known)
    if known:
        # One pass for all of them; the longest first, so a value wins over its own prefix.
        either = re.compile("|".join(re.escape(v) for v in sorted(known, key=len, reverse=True)))
        spans += [(m.start(), m.end(), PLACEHOLDER, "Known Secret") for m in either.finditer(text)]
    if not spans:
        return text, []
    # Outermost first; a span inside one already taken (a token inside a PEM block,
    # a URL password inside a quoted DATABASE_URL) is covered by it.
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept: list[tuple[int, int, str, str]] = []
    for span in spans:
        if kept and span[0] < kept[-1][1]:
            continue
        kept.append(span)
    out, cursor, findings = [], 0, []
    for start, end, placeholder, kind in kept:
        out.append(text[cursor:start] + placeholder)
        cursor = end
        findings.append(RedactionFinding(file=rel, line=first_line + text.count("\n", 0, start), type=kind))
    out.append(text[cursor:])
    return "".join(out), findings


# Fingerprints of the throwaway keys made in place of the repositories' (and read back from
# the metadata.json of a task being checked): never a secret, never redacted or reported.
_generated_keys: set[str] = set()


def remember_generated_keys(fingerprints: Iterable[str]) -> None:
    with _known_lock:
        _generated_keys.update(fingerprints)


def _generated_key_lines(path: Path) -> set[int]:
    """The line numbers of `path` that a throwaway key's PEM block covers."""
    if not _generated_keys:
        return set()
    try:
        text = path.read_text(errors="surrogateescape")
    except OSError:
        return set()
    lines: set[int] = set()
    for match in throwaway_keys.PRIVATE_KEY_BLOCK.finditer(text):
        if throwaway_keys.fingerprint(match.group(0)) in _generated_keys:
            first = text.count("\n", 0, match.start()) + 1
            lines.update(range(first, first + match.group(0).count("\n") + 1))
            # detect-secrets reports a YAML block string (`key: |`) at its key's line.
            before = text[: match.start()].rstrip(" \t").removesuffix("\n").rsplit("\n", 1)[-1]
            if re.search(r":[ \t]*[|>][-+]?[ \t]*$", before):
                lines.add(first - 1)
    return lines


def _renew_key_pairs(root: Path) -> tuple[list[RedactionFinding], list[str]]:
    """Each PEM private key under root replaced by a fresh one of its kind, and each public
    key of the old one by the new one's: (findings, the fresh keys' fingerprints). A key
    that cannot be renewed is left for the patterns, which put the placeholder there."""
    findings: list[RedactionFinding] = []
    renewals: list[throwaway_keys.Renewal] = []
    fresh: dict[str, throwaway_keys.Renewal] = {}  # one key shipped twice gets one replacement
    for path in _text_files(root):
        text = path.read_text(errors="surrogateescape")
        if "PRIVATE KEY-----" not in text:
            continue
        rel = path.relative_to(root).as_posix()
        out, cursor = [], 0
        for match in throwaway_keys.PRIVATE_KEY_BLOCK.finditer(text):
            old = match.group(0)
            renewal = fresh.get(old) or throwaway_keys.renew(old)
            if renewal is None:
                continue
            fresh[old] = renewal
            renewals.append(renewal)
            remember_secrets([old])
            out.append(text[cursor : match.start()] + renewal.new_block)
            cursor = match.end()
            line = text.count("\n", 0, match.start()) + 1
            findings.append(RedactionFinding(file=rel, line=line, type="Private Key (replaced by a fresh key)"))
        if out:
            path.write_text("".join(out) + text[cursor:], errors="surrogateescape")
    if renewals:
        for path in _text_files(root):
            text = path.read_text(errors="surrogateescape")
            if "PUBLIC KEY-----" in text:
                renewed, count = throwaway_keys.renewed_public_keys(text, renewals)
                if count:
                    path.write_text(renewed, errors="surrogateescape")
    fingerprints = sorted({throwaway_keys.fingerprint(r.new_block) for r in renewals})
    remember_generated_keys(fingerprints)
    return findings, fingerprints


def _redact_patterns(root: Path) -> tuple[list[RedactionFinding], list[str]]:
    """Replace what PATTERNS find, file by file: (findings, the large files streamed)."""
    findings: list[RedactionFinding] = []
    large_files: list[str] = []
    for path, large in _all_text_files(root):
        rel = path.relative_to(root).as_posix()
        if large:
            large_files.append(rel)
            findings += _stream_patterns(path, rel, write=True)
            continue
        text = path.read_text(errors="surrogateescape")
        redacted, found = _replace_patterns(path, rel, text)
        if found:
            path.write_text(redacted, errors="surrogateescape")
            findings += found
    return findings, large_files


_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")


def _open_key_block(text: str) -> int | None:
    """Where an unfinished PEM private-key block starts in text (no END after it), if any."""
    begins = list(_KEY_BEGIN.finditer(text))
    if not begins or _KEY_END.search(text, begins[-1].end()):
        return None
    return begins[-1].start()


def _stream_patterns(path: Path, rel: str, *, write: bool) -> list[RedactionFinding]:
    """PATTERNS over a large text file, CHUNK_CHARS at a time, each chunk cut at a line end
    (a PEM block that a cut would split is carried whole into the next chunk); with
    `write`, the redacted text replaces the file (through a temporary file beside it)."""
    findings: list[RedactionFinding] = []
    out = None
    if write:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        out = os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="")
    try:
        with path.open(encoding="utf-8", errors="surrogateescape", newline="") as fh:
            line, carry = 1, ""
            while True:
                block = fh.read(CHUNK_CHARS)
                text = carry + block
                if block:
                    cut = text.rfind("\n") + 1
                    key = _open_key_block(text[:cut])
                    if key is not None and len(text) - key <= MAX_CARRY_CHARS:
                        cut = key
                    if cut == 0:  # one line longer than a chunk: read on, up to a bound
                        if len(text) < 16 * CHUNK_CHARS:
                            carry = text
                            continue
                        cut = len(text)
                else:
                    cut = len(text)
                piece, carry = text[:cut], text[cut:]
                redacted, found = _replace_patterns(path, rel, piece, line)
                findings += found
                line += piece.count("\n")
                if out is not None:
                    out.write(redacted)
                if not block:
                    break
        if out is not None:
            out.close()
            out = None
            if findings:
                os.chmod(tmp_name, path.stat().st_mode & 0o7777)
                os.replace(tmp_name, path)
    finally:
        if out is not None:
            out.close()
        if write and os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return findings


def redact_tree(root: Path) -> RedactionReport:
    """Replace every secret under root in place; raise when one cannot be replaced."""
    root = root.resolve()  # see scan()
    renewed, generated_keys = _renew_key_pairs(root)
    report, large_files = _redact_patterns(root)
    report = renewed + report
    removed: list[str] = []
    findings = scan(root)
    # detect-secrets reports a value once per file, at its first line. A value long enough
    # is replaced everywhere in its file at once; a short one ("sk-...") only where it was
    # reported, so its files are scanned again for the next line that has it.
    for _round in range(MAX_REDACTION_ROUNDS):
        again = _redact_findings(root, findings, report, removed)
        if not again:
            break
        findings = scan(root, sorted(again))
    # Never log the values themselves: only where and what kind.
    for finding in report:
        log.info("redacted %s at %s:%d", finding.type, finding.file, finding.line)
    for rel in large_files:
        log.info("scanned %s with the pipeline's patterns only: larger than %d bytes", rel, MAX_FILE_BYTES)
    return RedactionReport(
        files_scanned=sum(1 for _ in _all_text_files(root)) + len(removed),
        findings=report,
        large_files=large_files,
        removed_files=removed,
        generated_keys=generated_keys,
    )


MAX_REDACTION_ROUNDS = 5


def _redact_findings(
    root: Path,
    findings: list[tuple[Path, int, str, str | None]],
    report: list[RedactionFinding],
    removed: list[str],
) -> set[Path]:
    """Replace `findings` in place (recorded in `report`; files that cannot be redacted are
    removed and listed in `removed`); the files where a short value was replaced at its
    reported line only, to be scanned again."""
    rescan: set[Path] = set()
    # Longest value first: two detectors may see one secret (a GitHub token is also a
    # high-entropy string), and the first replacement covers the second.
    ordered = sorted(findings, key=lambda f: (str(f[0]), f[1], -len(f[3] or "")))
    for path, line_number, secret_type, value in ordered:
        full = path if path.is_absolute() else root / path
        rel = full.relative_to(root).as_posix()
        if rel in removed:
            continue
        text = full.read_text(errors="surrogateescape")
        lines = text.splitlines(keepends=True)
        index = line_number - 1
        line = lines[index] if value and index < len(lines) else ""
        if value and value in line:
            remember_secrets([value])
            # Some detectors report only a prefix (GitHub tokens: "ghp"): take the whole token.
            token = re.escape(value) + r"[A-Za-z0-9_\-]*"
            lines[index] = re.sub(token, PLACEHOLDER, line)
            redacted = "".join(lines)
            if len(value) >= MIN_KNOWN_CHARS:
                # detect-secrets reports a value once per file, at its first line: the
                # same hash or key further down would be left for the package's rescan.
                redacted = re.sub(token, PLACEHOLDER, redacted)
            elif value in redacted:
                rescan.add(full)
            full.write_text(redacted, errors="surrogateescape")
        elif value and len(value) >= MIN_KNOWN_CHARS and value in text:
            # A multi-line YAML string is reported at its first line: the value is further down.
            remember_secrets([value])
            full.write_text(text.replace(value, PLACEHOLDER), errors="surrogateescape")
        elif PLACEHOLDER not in line:
            # What the detector reports is nowhere in the file as written (its YAML parser
            # unescaped it): nothing can be replaced, so the file leaves the task, and the
            # report says so. Never shipped unredacted.
            full.unlink()
            removed.append(rel)
            log.info("left %s out of the task: a %s there could not be located", rel, secret_type)
            continue
        report.append(RedactionFinding(file=rel, line=line_number, type=secret_type))
    return rescan


def leftover_secrets(root: Path, skip: tuple[str, ...] = ("metadata.json",)) -> list[RedactionFinding]:
    """Every secret either detector still sees under root (nothing is changed).

    For written packages: their tests and instruction come from what the service
    answered, so they are scanned again. metadata.json is skipped by default: its commit
    SHA and content hashes look like high-entropy secrets, and the rest of it comes from
    redacted inputs.
    """
    root = root.resolve()  # see scan()
    remember_generated_keys(_task_generated_keys(root))
    found = {(f.file, f.line, f.type) for f in find_pattern_secrets(root)}
    for path, line, kind, _ in scan(root):
        full = path if path.is_absolute() else root / path
        found.add((full.relative_to(root).as_posix(), line, kind))
    return [RedactionFinding(file=f, line=n, type=t) for f, n, t in sorted(found) if Path(f).name not in skip]


def _task_generated_keys(root: Path) -> list[str]:
    """The throwaway keys' fingerprints a task's metadata.json records (its redaction report)."""
    try:
        metadata = json.loads((root / "metadata.json").read_text())
    except (OSError, ValueError):
        return []
    report = metadata.get("redaction_report") if isinstance(metadata, dict) else None
    keys = report.get("generated_keys") if isinstance(report, dict) else None
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


# --------------------------------------------------------------------------- logs

# Secret values this process has replaced or set (redaction, the environment it gives a
# service): a log that prints one is scrubbed of it, whatever its shape. Kept in memory
# only, never written anywhere.
MIN_KNOWN_CHARS = 8
_known: set[str] = set()
_known_lock = threading.Lock()

# A log prints a secret bare: `SECRET_KEY=abc123`, `password: hunter2!`, `"token": "..."`,
# `?token=...`. A secret-named word, then = or :, then the value (judged like the
# assignments: a plain word is a name, not a secret).
_LOG_PATTERNS = (Pattern("Logged Secret", _SECRET_ASSIGNMENT, value="v", judge_value=True),)


# A short word of letters alone (`postgres`, `password`, `changeme`): a default credential
# in a repository's config is still replaced there, but scrubbing it from every log would
# cut the pipeline's own words ("the postgresql sidecar (postgres:15-bookworm)").
_PLAIN_WORD = re.compile(r"[A-Za-z]{1,12}")


def remember_secrets(values: Iterable[str | None]) -> None:
    """Add secret values to what `scrub` replaces in logs (values shorter than
    MIN_KNOWN_CHARS, short plain words and placeholders are ignored: they would hit
    ordinary words)."""
    fresh = {
        v for v in values if v and len(v) >= MIN_KNOWN_CHARS and not _PLAIN_WORD.fullmatch(v) and not _is_placeholder(v)
    }
    if fresh:
        with _known_lock:
            _known.update(fresh)


def remember_env_secrets(env: dict[str, str]) -> None:
    """The values of secret-named variables in an environment the pipeline sets."""
    name = re.compile(_SECRET_NAME, re.IGNORECASE)
    remember_secrets(value for key, value in env.items() if name.fullmatch(key))


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """A log with its secrets replaced before it is stored or printed: the pipeline's
    patterns (keys, tokens, URL passwords, secret-named values) and every known value."""
    if not text:
        return text
    with _known_lock:
        values = {*_known}
    values.update(v for v in known if v and len(v) >= MIN_KNOWN_CHARS)
    # Logs are read like .env files too: NAME=value lines count.
    redacted, _ = _replace_patterns(Path(".env"), "", text, known=values, extra=_LOG_PATTERNS)
    return redacted
