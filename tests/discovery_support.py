"""Helpers shared by the static endpoint discovery tests (tests/test_discovery*.py).

Plain functions, not fixtures: each test file imports this module as `ds` and keeps only
what is specific to its language (the shape of a definition, the masking statement, ...).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pipeline.languages import FRAMEWORKS, get_framework
from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, ServiceCandidate
from pipeline.models import Endpoint, Handler

FIXTURES = Path(__file__).parent / "fixtures"


def _framework(framework: Framework | str) -> Framework:
    return get_framework(framework) if isinstance(framework, str) else framework


# --------------------------------------------------------------------------- detection and discovery


def service_of(framework: Framework | str, root: Path) -> ServiceCandidate:
    """The single service `framework` detects under `root` (asserts there is exactly one)."""
    found = _framework(framework).detect(root)
    assert len(found) == 1, found
    return found[0]


def discover(framework: Framework | str, root: Path) -> list[Endpoint]:
    """The endpoints of the single service `framework` detects under `root`."""
    framework = _framework(framework)
    return framework.discover(root, service_of(framework, root))


def fixture_endpoints(name: str, fixture: str) -> tuple[Path, list[Endpoint]]:
    """The root of `tests/fixtures/<fixture>` and the endpoints framework `name` discovers there."""
    root = FIXTURES / fixture
    return root, discover(name, root)


def assert_detects_only(name: str, root: Path, entrypoint: str) -> ServiceCandidate:
    """Framework `name` finds one service at `root` with `entrypoint`, and no other framework claims it."""
    service = service_of(name, root)
    assert service.root == root.resolve()
    assert service.entrypoint == entrypoint
    for other in FRAMEWORKS:
        if other.name != name:
            assert other.detect(root) == [], other.name
    return service


# --------------------------------------------------------------------------- inline repositories


def write_files(root: Path, files: dict[str, str], transform: Callable[[str], str] | None = None) -> Path:
    """Write `files` (relative path -> dedented text, optionally `transform`ed) under `root`; return `root`."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = textwrap.dedent(content).lstrip()
        path.write_text(transform(text) if transform else text)
    return root


def log_messages(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured log message, one a line."""
    return "\n".join(r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- views of endpoints


def pairs(endpoints: list[Endpoint]) -> set[tuple[str, str]]:
    """(method, path) of every endpoint."""
    return {(e.method, e.path) for e in endpoints}


def triples(endpoints: list[Endpoint]) -> set[tuple[str, str, str]]:
    """(method, path, handler name) of every endpoint."""
    return {(e.method, e.path, e.handler.name) for e in endpoints}


def by_key(endpoints: list[Endpoint]) -> dict[tuple[str, str], Handler]:
    """The handler of every (method, path)."""
    return {(e.method, e.path): e.handler for e in endpoints}


def body_fields(endpoints: list[Endpoint], method: str, path: str) -> dict[str, tuple[str, bool]]:
    """name -> (type, required) of the body fields of the endpoint at (method, path)."""
    endpoint = next(e for e in endpoints if (e.method, e.path) == (method, path))
    return {f.name: (f.type, f.required) for f in endpoint.body_fields}


# --------------------------------------------------------------------------- ground truth


def ground_truth(root: Path) -> list[dict[str, Any]]:
    """The fixture's hand-written `ground_truth.json`."""
    return json.loads((root / "ground_truth.json").read_text())


def assert_matches_ground_truth(
    framework: Framework | str, root: Path, *, handlers: bool = True
) -> tuple[list[Endpoint], list[dict[str, Any]]]:
    """Discovery at `root` equals its ground truth (with handler names unless `handlers=False`),
    is sorted by (path, method) and is deterministic. Returns the endpoints and the truth."""
    endpoints = discover(framework, root)
    truth = ground_truth(root)
    if handlers:
        assert triples(endpoints) == {(t["method"], t["path"], t["handler"]) for t in truth}
    else:
        assert pairs(endpoints) == {(t["method"], t["path"]) for t in truth}
    assert len(endpoints) == len(truth)
    assert [(e.path, e.method) for e in endpoints] == sorted((e.path, e.method) for e in endpoints)
    assert endpoints == discover(framework, root)
    return endpoints, truth


# --------------------------------------------------------------------------- handler ranges


class HandlerSlices(NamedTuple):
    """A handler's file and the parts of it the handler's byte ranges select."""

    source: bytes
    definition: str
    signature: str
    body: str


def handler_slices(root: Path, handler: Handler, *, strict: bool = False) -> HandlerSlices:
    """Slice `handler`'s file at its ranges, after asserting the body lies within the definition
    (strictly inside it with `strict`) and that `handler.line` is the definition's first line."""
    source = (root / handler.file).read_bytes()
    if strict:
        assert handler.start_byte < handler.body_start_byte < handler.body_end_byte < handler.end_byte
    else:
        assert handler.start_byte <= handler.body_start_byte < handler.body_end_byte <= handler.end_byte
    assert source[: handler.start_byte].count(b"\n") + 1 == handler.line
    return HandlerSlices(
        source=source,
        definition=source[handler.start_byte : handler.end_byte].decode(),
        signature=source[handler.start_byte : handler.body_start_byte].decode(),
        body=source[handler.body_start_byte : handler.body_end_byte].decode(),
    )


def endpoint_slices(
    framework: Framework | str, root: Path, *, strict: bool = False
) -> list[tuple[Endpoint, HandlerSlices]]:
    """Every endpoint discovered at `root` with its handler's `handler_slices` (checked as there)."""
    return [(e, handler_slices(root, e.handler, strict=strict)) for e in discover(framework, root)]


# --------------------------------------------------------------------------- masking


def assert_parses(source: bytes, grammar: str, label: str = "") -> None:
    """`source` parses with `grammar` without ERROR or MISSING nodes."""
    assert not ts.has_error(ts.parse(source, grammar).root_node), label


def mask_handler(framework: Framework | str, root: Path, handler: Handler, grammar: str) -> tuple[bytes, bytes]:
    """Mask `handler`'s body in its file under `root` (nothing is written) and assert the result
    parses with `grammar`. Returns the original and the masked bytes of the file."""
    source = (root / handler.file).read_bytes()
    masked = _framework(framework).mask_body(source, handler)
    assert_parses(masked, grammar, handler.file)
    return source, masked


def mask_all(framework: Framework, root: Path, endpoints: list[Endpoint], *, write: bool = False) -> dict[str, bytes]:
    """Mask every handler like the mask stage does: each distinct body once, per file from the end
    backwards. Returns file -> masked bytes; with `write`, also writes them back under `root`."""
    by_file: dict[str, dict[tuple[int, int], Handler]] = {}
    for endpoint in endpoints:
        h = endpoint.handler
        by_file.setdefault(h.file, {})[(h.body_start_byte, h.body_end_byte)] = h
    out: dict[str, bytes] = {}
    for rel, handlers in by_file.items():
        source = (root / rel).read_bytes()
        for key in sorted(handlers, reverse=True):
            source = framework.mask_body(source, handlers[key])
        if write:
            (root / rel).write_bytes(source)
        out[rel] = source
    return out


def assert_only_body_changed(source: bytes, masked: bytes, handler: Handler) -> None:
    """Masking left everything before `handler`'s body and everything after it untouched."""
    assert masked[: handler.body_start_byte] == source[: handler.body_start_byte]
    assert masked.endswith(source[handler.body_end_byte :])
