"""Shared tree-sitter plumbing: parsers, node helpers and the safe source-file walk.

Every framework module parses with these helpers so that the rules for what is skipped
(vendored folders, binaries, huge or unparseable files, symlinks leaving the repository)
are the same for every language.
"""

from __future__ import annotations

import bisect
import contextvars
import importlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import tree_sitter

from pipeline.models import Handler

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Folders that hold vendored, generated or tool state, never the service's own code.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".env",
        "node_modules",
        "__pycache__",
        "site-packages",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "bower_components",
        "dist",
        "build",
        ".next",
        "coverage",
        "target",  # Maven's and Cargo's build output
        "obj",  # .NET's intermediate build output
        # Bundler's vendor/bundle, Composer's vendor/ and Go's vendored modules: dependencies.
        "vendor",
    }
)
MAX_FILE_BYTES = 1_000_000


def _grammar(language: str) -> object:
    # The registry names each language's grammar wheel; it is imported only when that
    # language is parsed, so a language's wheel is only needed for its repositories.
    from pipeline.languages import grammar

    source = grammar(language)
    return getattr(importlib.import_module(source.module), source.function)()


def get_language(language: str) -> tree_sitter.Language:
    return tree_sitter.Language(_grammar(language))


@cache
def get_parser(language: str) -> tree_sitter.Parser:
    """One parser per language; parsers are cheap to reuse and costly to build."""
    return tree_sitter.Parser(get_language(language))


def parse(source: bytes, language: str) -> tree_sitter.Tree:
    return get_parser(language).parse(source)


def has_error(node: tree_sitter.Node) -> bool:
    """True when the tree holds an ERROR or MISSING node anywhere."""
    return node.has_error


def text(node: tree_sitter.Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Every node under `node` (itself included), in source order, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def find_all(node: tree_sitter.Node, *types: str) -> Iterator[tree_sitter.Node]:
    wanted = set(types)
    return (n for n in walk(node) if n.type in wanted)


def ancestors(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    current = node.parent
    while current is not None:
        yield current
        current = current.parent


def find_exact(root: tree_sitter.Node, start: int, end: int, types: set[str] | None = None) -> tree_sitter.Node | None:
    """The deepest node spanning exactly [start, end), optionally of one of `types`."""
    found: tree_sitter.Node | None = None
    current: tree_sitter.Node | None = root
    while current is not None:
        if current.start_byte == start and current.end_byte == end and (types is None or current.type in types):
            found = current
        nxt = None
        for child in current.children:
            if child.start_byte <= start and end <= child.end_byte:
                nxt = child
                break
        current = nxt
    return found


def line_indent(source: bytes, offset: int) -> bytes:
    """The whitespace from the start of the line holding `offset` up to the first non-blank."""
    line_start = source.rfind(b"\n", 0, offset) + 1
    end = line_start
    while end < len(source) and source[end : end + 1] in (b" ", b"\t"):
        end += 1
    return source[line_start:end]


@dataclass
class SourceFile:
    path: Path
    #: path relative to the repository root, with forward slashes
    rel: str
    source: bytes
    tree: tree_sitter.Tree

    @property
    def root(self) -> tree_sitter.Node:
        return self.tree.root_node


def handler_at(rel: str, name: str, definition: tree_sitter.Node, body: tree_sitter.Node) -> Handler:
    """The Handler of a function: `definition` is what masking keeps, `body` what it replaces."""
    return Handler(
        file=rel,
        name=name,
        line=definition.start_point[0] + 1,
        start_byte=definition.start_byte,
        end_byte=definition.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
    )


class HasSourceFile:
    """Base of a language's per-file record (a module, a PHP file): the parsed file is `sf`.

    Gives the record the file's path, repository-relative name and syntax tree, so
    framework code reads `module.rel` rather than `module.sf.rel`. A record must not
    declare a field named like these properties (a dataclass would take the property
    for the field's default).
    """

    sf: SourceFile

    @property
    def rel(self) -> str:
        return self.sf.rel

    @property
    def path(self) -> Path:
        return self.sf.path

    @property
    def root(self) -> tree_sitter.Node:
        return self.sf.root


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head


class RepoIndex:
    """One walk of a repository, its file contents and parse trees, shared by every framework.

    Exploring asks twenty framework modules about the same repository; without sharing,
    each would walk the tree, read and parse the same files again. Inside `exploring()`,
    `iter_files` and `iter_source_files` answer from this index, so a file is read and
    parsed at most once per language, and each skip warning is given once.
    """

    def __init__(self, repo_root: Path) -> None:
        self.repo_root = repo_root
        self.repo_real = repo_root.resolve()
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        #: every candidate file, as (directory relative to the repo, file name, path), walk order
        self._files: list[tuple[str, str, Path]] | None = None
        self._contents: dict[Path, bytes | None] = {}
        #: derived per-file data (module indexes, ...) shared between frameworks; see memo()
        self.memo: dict[object, object] = {}
        #: the skip warnings of each read, repeated to every caller that reaches the file
        self._read_warnings: dict[Path, list[str]] = {}
        self._trees: dict[tuple[str, str], tree_sitter.Tree | None] = {}

    def warn(self, message: str, sink: list[str] | None = None) -> None:
        if sink is not None:
            sink.append(message)
        if message not in self._warned:
            self._warned.add(message)
            self.warnings.append(message)
            log.warning(message)

    def covers(self, root: Path, repo_root: Path) -> bool:
        """True when a walk of `root` in `repo_root` can be answered from this index."""
        if repo_root.resolve() != self.repo_real:
            return False
        try:
            rel = root.resolve().relative_to(self.repo_real)
        except ValueError:
            return False
        # A root inside a skipped folder is walked directly: the index never lists it.
        return not any(part in SKIP_DIRS for part in rel.parts)

    def files(self) -> list[tuple[str, str, Path]]:
        if self._files is None:
            self._files = list(_walk_repo(self.repo_root, self.repo_root, self.warn))
        return self._files

    def content(self, path: Path, rel: str, sink: list[str] | None) -> bytes | None:
        if path not in self._contents:
            messages: list[str] = []
            self._contents[path] = _read_checked(path, rel, self.repo_real, messages.append)
            self._read_warnings[path] = messages
        for message in self._read_warnings[path]:
            self.warn(message, sink)
        return self._contents[path]

    def tree(self, rel: str, source: bytes, language: str) -> tree_sitter.Tree | None:
        key = (rel, language)
        if key not in self._trees:
            self._trees[key] = _parse_or_none(source, language)
        return self._trees[key]


_ACTIVE: contextvars.ContextVar[RepoIndex | None] = contextvars.ContextVar("abc_repo_index", default=None)


@contextmanager
def exploring(repo_root: Path) -> Iterator[RepoIndex]:
    """Share one walk, read and parse of `repo_root` between all calls inside the block."""
    index = RepoIndex(repo_root)
    token = _ACTIVE.set(index)
    try:
        yield index
    finally:
        _ACTIVE.reset(token)


def _walk_repo(root: Path, repo_root: Path, warn: Callable[[str], None]) -> Iterator[tuple[str, str, Path]]:
    """(directory relative to repo_root, file name, path) of every file under `root`.

    Vendored/tool folders are not entered, and directory symlinks that leave the
    repository are reported; os.walk never follows directory links either way.
    """
    repo_real = repo_root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        current = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS or name.endswith(".egg-info"):
                # Vendored and tool folders are expected; a warning each would drown real ones.
                log.info("skipped %s: vendored or tool folder", _rel_of(current / name, repo_root))
                continue
            sub = current / name
            if sub.is_symlink():
                if not sub.resolve().is_relative_to(repo_real):
                    warn(f"skipped {_rel_of(sub, repo_root)}: symlink pointing outside the repository")
                continue
            kept.append(name)
        dirnames[:] = kept
        rel_dir = _rel_of(current, repo_root)
        for name in sorted(filenames):
            yield rel_dir, name, current / name


def _rel_of(path: Path, repo_root: Path) -> str:
    try:
        rel = path.relative_to(repo_root).as_posix()
    except ValueError:
        return path.as_posix()
    return "" if rel == "." else rel


def _read_checked(
    path: Path, rel: str, repo_real: Path, warn: Callable[[str], None], *, warn_missing: bool = False
) -> bytes | None:
    """The file's bytes, or None (with a warning) when it must be skipped. A missing file
    is skipped quietly unless `warn_missing` (something pointed at it)."""
    try:
        if path.is_symlink() and not path.resolve().is_relative_to(repo_real):
            warn(f"skipped {rel}: symlink pointing outside the repository")
            return None
        if not warn_missing and not path.is_file():
            return None
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            warn(f"skipped {rel}: {size} bytes is larger than {MAX_FILE_BYTES}")
            return None
        content = path.read_bytes()
    except OSError as exc:
        warn(f"skipped {rel}: cannot read ({exc})")
        return None
    if _is_binary(content[:8192]):
        warn(f"skipped {rel}: binary content")
        return None
    return content


def _parse_or_none(source: bytes, language: str) -> tree_sitter.Tree | None:
    try:
        return parse(source, language)
    except Exception:  # a grammar crash on odd input must not stop the walk
        log.debug("parser failed", exc_info=True)
        return None


def memo(key: object, compute: Callable[[], T]) -> T:
    """`compute()`, remembered for the rest of the exploration under `key` (not outside one).

    Keys must name what the value derives from, e.g. ("python-module", rel, id(tree)):
    trees live as long as the exploration, so their ids are stable inside it.
    """
    index = _ACTIVE.get()
    if index is None:
        return compute()
    if key not in index.memo:
        index.memo[key] = compute()
    return index.memo[key]  # type: ignore[return-value]


def parse_cached(rel: str, source: bytes, language: str) -> tree_sitter.Tree | None:
    """`source` (the file `rel` of the repository) parsed, or None when the parser fails.

    Inside `exploring()` the tree is shared with every other framework that asks for the
    same file in the same language, so modules that pick a grammar per file (JavaScript
    vs TypeScript) still parse each file once.
    """
    index = _ACTIVE.get()
    return index.tree(rel, source, language) if index is not None else _parse_or_none(source, language)


def iter_files(
    root: Path,
    repo_root: Path,
    accept: Callable[[str], bool],
    *,
    warnings: list[str] | None = None,
) -> Iterator[tuple[Path, str, bytes]]:
    """(path, path relative to the repository, content) of every readable file `accept`s.

    Vendored folders, symlinks leaving the repository, huge and binary files are skipped
    with a warning (logged, and appended to `warnings` when given) rather than raised: one
    bad file in a large repository must not stop exploration of the rest.
    """
    index = _ACTIVE.get()
    if index is not None and index.covers(root, repo_root):
        prefix = _rel_of(root.resolve(), index.repo_real)
        for rel_dir, name, path in index.files():
            if prefix and not (rel_dir == prefix or rel_dir.startswith(prefix + "/")):
                continue
            if not accept(name):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            content = index.content(path, rel, warnings)
            if content is not None:
                # The path spelled from the caller's root, as a direct walk would give it.
                yield root / rel[len(prefix) + 1 :] if prefix else root / rel, rel, content
        return

    def warn(message: str) -> None:
        log.warning(message)
        if warnings is not None:
            warnings.append(message)

    repo_real = repo_root.resolve()
    for rel_dir, name, path in _walk_repo(root, repo_root, warn):
        if not accept(name):
            continue
        rel = f"{rel_dir}/{name}" if rel_dir else name
        content = _read_checked(path, rel, repo_real, warn)
        if content is not None:
            yield path, rel, content


def iter_source_files(
    root: Path,
    repo_root: Path,
    suffixes: tuple[str, ...],
    language: str,
    *,
    warnings: list[str] | None = None,
) -> Iterator[SourceFile]:
    """Parse every source file under `root`; files that do not parse are skipped with a warning."""
    for path, rel, source in iter_files(root, repo_root, lambda n: n.endswith(suffixes), warnings=warnings):
        parsed = parse_source(path, rel, source, language, warnings=warnings)
        if parsed is not None:
            yield parsed


def parse_source(
    path: Path, rel: str, source: bytes, language: str, *, warnings: list[str] | None = None
) -> SourceFile | None:
    """One file parsed through the shared cache, or None with the usual skip warning."""
    tree = parse_cached(rel, source, language)
    if tree is not None and not has_error(tree.root_node):
        return SourceFile(path=path, rel=rel, source=source, tree=tree)
    message = f"skipped {rel}: does not parse as {language}"
    index = _ACTIVE.get()
    if index is not None:
        index.warn(message, warnings)
    else:
        log.warning(message)
        if warnings is not None:
            warnings.append(message)
    return None


def load_file(path: Path, repo_root: Path, language: str, *, warnings: list[str] | None = None) -> SourceFile | None:
    """One file the code names (config/routes.rb, a `mod x;` target), read and parsed with the walk's skip rules.

    Unlike the walk, a file that is missing or unreadable is warned about: something
    pointed at it, so its routes would be missing.
    """

    def warn(message: str) -> None:
        log.warning(message)
        if warnings is not None:
            warnings.append(message)

    try:
        rel = path.relative_to(repo_root).as_posix()
    except ValueError:
        rel = path.as_posix()
    source = _read_checked(path, rel, repo_root.resolve(), warn, warn_missing=True)
    if source is None:
        return None
    tree = parse_cached(rel, source, language)
    if tree is None or has_error(tree.root_node):
        warn(f"skipped {rel}: does not parse as {language}")
        return None
    return SourceFile(path=path, rel=rel, source=source, tree=tree)


class LazySources:
    """A service's files, read once and parsed only when a question needs them.

    Parsing dominates exploration time (the C# grammar takes milliseconds per file), and
    most files of a large service (entities, DTOs, migrations) can be ruled out from their
    bytes alone.
    """

    def __init__(
        self, entries: list[tuple[Path, str, bytes]], language: str, *, warnings: list[str] | None = None
    ) -> None:
        self.entries = entries
        self.language = language
        self.warnings = warnings
        self._parsed: dict[str, SourceFile | None] = {}
        # All contents in one buffer: a needle is found across every file with one fast scan.
        self._blob = b"\0".join(entry[2] for entry in entries)
        self._starts: list[int] = []
        offset = 0
        for entry in entries:
            self._starts.append(offset)
            offset += len(entry[2]) + 1

    def parse(self, entry: tuple[Path, str, bytes]) -> SourceFile | None:
        path, rel, source = entry
        if rel not in self._parsed:
            self._parsed[rel] = parse_source(path, rel, source, self.language, warnings=self.warnings)
        return self._parsed[rel]

    def matching(self, wanted: Callable[[bytes], bool]) -> list[SourceFile]:
        """The parsed files whose bytes `wanted` accepts."""
        return [sf for entry in self.entries if wanted(entry[2]) and (sf := self.parse(entry)) is not None]

    def containing(self, needle: bytes, wanted: Callable[[bytes], bool] | None = None) -> list[SourceFile]:
        """The parsed files that hold `needle` (and that `wanted` accepts, when given)."""
        out: list[SourceFile] = []
        hit = self._blob.find(needle) if needle else -1
        while hit != -1:
            index = bisect.bisect_right(self._starts, hit) - 1
            entry = self.entries[index]
            if (wanted is None or wanted(entry[2])) and (sf := self.parse(entry)) is not None:
                out.append(sf)
            following = self._starts[index + 1] if index + 1 < len(self._starts) else len(self._blob)
            hit = self._blob.find(needle, following)
        return out


def replace(source: bytes, start: int, end: int, new: bytes) -> bytes:
    return source[:start] + new + source[end:]


def check_reparses(source: bytes, language: str, what: str) -> bytes:
    """Return `source` unchanged, or raise ValueError if it no longer parses cleanly."""
    if has_error(parse(source, language).root_node):
        raise ValueError(f"masking {what} produced source with a syntax error")
    return source
