"""Shared tree-sitter plumbing: parsers, node helpers and the safe source-file walk.

Every framework module parses with these helpers so that the rules for what is skipped
(vendored folders, binaries, huge or unparseable files, symlinks leaving the repository)
are the same for every language.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tree_sitter

log = logging.getLogger(__name__)

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
    }
)
MAX_FILE_BYTES = 1_000_000


def _grammar(language: str) -> object:
    # Imported lazily so a language's wheel is only needed when that language is parsed.
    if language == "python":
        import tree_sitter_python

        return tree_sitter_python.language()
    if language == "javascript":
        import tree_sitter_javascript

        return tree_sitter_javascript.language()
    if language in ("typescript", "tsx"):
        import tree_sitter_typescript

        if language == "tsx":
            return tree_sitter_typescript.language_tsx()
        return tree_sitter_typescript.language_typescript()
    if language == "go":
        import tree_sitter_go

        return tree_sitter_go.language()
    if language == "java":
        import tree_sitter_java

        return tree_sitter_java.language()
    if language == "csharp":
        import tree_sitter_c_sharp

        return tree_sitter_c_sharp.language()
    if language == "ruby":
        import tree_sitter_ruby

        return tree_sitter_ruby.language()
    if language == "php":
        # The full PHP grammar: files may mix HTML and <?php blocks.
        import tree_sitter_php

        return tree_sitter_php.language_php()
    if language == "rust":
        import tree_sitter_rust

        return tree_sitter_rust.language()
    raise KeyError(f"no tree-sitter grammar registered for language {language!r}")


@cache
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


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head


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
    repo_real = repo_root.resolve()

    def warn(message: str) -> None:
        log.warning(message)
        if warnings is not None:
            warnings.append(message)

    def rel_of(path: Path) -> str:
        try:
            return path.relative_to(repo_root).as_posix()
        except ValueError:
            return path.as_posix()

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        current = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name in SKIP_DIRS or name.endswith(".egg-info"):
                # Vendored and tool folders are expected; a warning each would drown real ones.
                log.info("skipped %s: vendored or tool folder", rel_of(current / name))
                continue
            sub = current / name
            if sub.is_symlink():
                # os.walk does not follow directory links; say so when one leaves the repo.
                if not sub.resolve().is_relative_to(repo_real):
                    warn(f"skipped {rel_of(sub)}: symlink pointing outside the repository")
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not accept(name):
                continue
            path = current / name
            rel = rel_of(path)
            try:
                if path.is_symlink() and not path.resolve().is_relative_to(repo_real):
                    warn(f"skipped {rel}: symlink pointing outside the repository")
                    continue
                if not path.is_file():
                    continue
                size = path.stat().st_size
                if size > MAX_FILE_BYTES:
                    warn(f"skipped {rel}: {size} bytes is larger than {MAX_FILE_BYTES}")
                    continue
                content = path.read_bytes()
            except OSError as exc:
                warn(f"skipped {rel}: cannot read ({exc})")
                continue
            if _is_binary(content[:8192]):
                warn(f"skipped {rel}: binary content")
                continue
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
        try:
            tree = parse(source, language)
        except Exception as exc:  # a grammar crash on odd input must not stop the walk
            message = f"skipped {rel}: parser failed ({exc})"
        else:
            if not has_error(tree.root_node):
                yield SourceFile(path=path, rel=rel, source=source, tree=tree)
                continue
            message = f"skipped {rel}: does not parse as {language}"
        log.warning(message)
        if warnings is not None:
            warnings.append(message)


def replace(source: bytes, start: int, end: int, new: bytes) -> bytes:
    return source[:start] + new + source[end:]


def check_reparses(source: bytes, language: str, what: str) -> bytes:
    """Return `source` unchanged, or raise ValueError if it no longer parses cleanly."""
    if has_error(parse(source, language).root_node):
        raise ValueError(f"masking {what} produced source with a syntax error")
    return source
