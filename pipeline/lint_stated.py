"""The `stated` lint check: what tests/test_func.py asserts, the agent can know.

A test that asserts a status code or a literal value the agent was never told, and could
not find in the repository, cannot be passed by reading: it is passed by luck, or not at
all. Every status code and literal value test_func.py asserts must be either

- stated in the instruction (the behaviour lines say "Answers `201` ..."),
- sent by the test itself in a request body (the service echoes what it is given, and the
  instruction names the body's fields), or
- present in the repository's unmasked code: the masked repository plus the lines the
  solution patch adds back (a message, a seeded record, a constant). A message the code
  formats from values counts when its fixed parts are there ("no book with ISBN 1" from
  `no book with ISBN ${isbn}`).

Read from the file alone with `ast` (nothing is run). Booleans, null and the empty string
are not looked for: they are in every text, so finding them would prove nothing. A SHA-256
of a non-JSON body is compared byte for byte and described as such by the instruction; it
is not a value anybody states either.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Files larger than this are data (dumps, bundles), not code a reader looks through.
_MAX_FILE_BYTES = 1 << 20
_SKIP_DIRS = {".git", "node_modules", "vendor", "__pycache__", ".venv", "dist", "build", "target"}
_BASE_URL = "{base_url}"

Scalar = str | int | float


@dataclass(frozen=True)
class Asserted:
    """One asserted expectation of test_func.py."""

    kind: Literal["status", "value"]
    value: Scalar
    test: str  # the test function it is in
    line: int

    def describe(self) -> str:
        what = f"status {self.value}" if self.kind == "status" else f"the value {self.value!r}"
        return f"{what} ({self.test}, line {self.line})"


def _scalar(node: ast.expr) -> Scalar | None:
    """A literal worth looking for: a non-empty string or a number (not a bool)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _scalar(node.operand)
        return -inner if isinstance(inner, int | float) else None
    if not isinstance(node, ast.Constant) or isinstance(node.value, bool):
        return None
    if isinstance(node.value, str):
        return node.value if node.value.strip() else None
    return node.value if isinstance(node.value, int | float) else None


def _scalars(node: ast.expr) -> Iterator[Scalar]:
    """Every literal leaf of an expected value (dict values, list items); names (a
    captured id, a type such as `list`) are not literals."""
    if isinstance(node, ast.Dict):
        for value in node.values:
            yield from _scalars(value)
    elif isinstance(node, ast.List | ast.Tuple | ast.Set):
        for item in node.elts:
            yield from _scalars(item)
    else:
        value = _scalar(node)
        if value is not None:
            yield value


def _is_status(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in {"status_code", "status"}


def _mentions_digest(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "hexdigest" for n in ast.walk(node))


def _calls_named(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def asserted(test_source: str) -> list[Asserted]:
    """The status codes and literal values test_func.py asserts, each once (first place)."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return []
    found: dict[tuple[str, Scalar], Asserted] = {}

    def add(kind: Literal["status", "value"], value: Scalar, test: str, line: int) -> None:
        found.setdefault((kind, value), Asserted(kind, value, test, line))

    for function in (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")):
        # In source order (ast.walk is breadth-first), so each value is named where it first is.
        nodes = sorted(
            (n for n in ast.walk(function) if isinstance(n, ast.Assert | ast.Call)),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for node in nodes:
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
                compare = node.test
                sides = [compare.left, *compare.comparators]
                if len(sides) != 2 or not isinstance(compare.ops[0], ast.Eq | ast.In) or _mentions_digest(compare):
                    continue
                status = any(_is_status(side) for side in sides)
                for side in sides:
                    for value in _scalars(side):
                        add("status" if status else "value", value, function.name, node.lineno)
            elif isinstance(node, ast.Call) and _calls_named(node) == "matches" and len(node.args) >= 2:
                for value in _scalars(node.args[1]):
                    add("value", value, function.name, node.lineno)
    return list(found.values())


def sent(test_source: str) -> set[Scalar]:
    """The literals test_func.py sends itself: every `json=` / `data=` / `params=` argument."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return set()
    values: set[Scalar] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in {"json", "data", "params"}:
                    values.update(_scalars(keyword.value))
    return values


def _text_pattern(value: Scalar) -> re.Pattern[str]:
    if isinstance(value, str):
        return re.compile(re.escape(value))
    # A number as a whole token: 42 is not stated by 1425 or 4.2.
    return re.compile(rf"(?<![\w.]){re.escape(str(value))}(?![\w]|\.\d)")


def _fragments(value: str, echoed: set[Scalar]) -> list[str]:
    """The fixed parts of a message the code formats from values ("no book with ISBN 1"
    from `no book with ISBN ${isbn}`): the text between its numbers and the values the
    test sent. Empty when there is nothing to split on."""
    # A redirect's Location writes the service's address as a placeholder: never stated.
    placeholders = ("{base_url_quoted}", _BASE_URL)
    pieces = [re.escape(str(v)) for v in (*echoed, *placeholders) if str(v) and str(v) in value]
    parts = re.split("|".join([r"\d+", *pieces]), value)
    return [p.strip() for p in parts if len(p.strip()) >= 4] if len(parts) > 1 else []


def _states(text: str, value: Scalar, echoed: set[Scalar]) -> bool:
    if _text_pattern(value).search(text):
        return True
    fragments = _fragments(value, echoed) if isinstance(value, str) else []
    return bool(fragments) and all(fragment in text for fragment in fragments)


def unmasked_code(repo: Path | None, patch: str) -> str:
    """The repository's code with the solution put back, as one searchable text: the lines
    the solution patch adds, and every text file of the masked repository (what the
    patch removes are the masked stubs, whose text is in the masked files anyway)."""
    parts = [line[1:] for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if repo is not None and repo.is_dir():
        for path in sorted(repo.rglob("*")):
            if set(path.relative_to(repo).parts) & _SKIP_DIRS or not path.is_file() or path.is_symlink():
                continue
            try:
                if path.stat().st_size > _MAX_FILE_BYTES:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\0" not in data:
                parts.append(data.decode("utf-8", errors="replace"))
    return "\n".join(parts)


def unstated(instruction: str, test_source: str, repo: Path | None, patch: str) -> list[Asserted]:
    """What test_func.py asserts that neither the instruction, nor the tests' own request
    bodies, nor the unmasked code states."""
    echoed = sent(test_source)
    missing = []
    for item in asserted(test_source):
        value = item.value
        if isinstance(value, str) and value.startswith(_BASE_URL):
            value = value[len(_BASE_URL) :] or "/"  # a redirect's Location: its path is what is stated
        if value in echoed or _states(instruction, value, echoed):
            continue
        missing.append((item, value))
    if not missing:
        return []
    code = unmasked_code(repo, patch)  # read only when the instruction does not suffice
    return [item for item, value in missing if not _states(code, value, echoed)]
