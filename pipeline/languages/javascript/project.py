"""The files and manifests of a Node service: which files are its sources, and what its package.json and tsconfig say.

The lowest layer of JavaScript/TypeScript discovery: the language's file suffixes and
grammars, the walk over a service's source files (tests left out), package.json reading
(dependencies, scripts, whether it is a NestJS app) and the detection of one service per
package.json, and tsconfig-style JSONC. It parses no expression, so every other module of
this folder may import it and it imports none of them.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import ServiceCandidate

log = logging.getLogger(__name__)


LANGUAGE = "javascript"
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx")
TS_SUFFIXES = (".ts", ".mts", ".cts", ".tsx")
SUFFIXES = JS_SUFFIXES + TS_SUFFIXES


def is_test_path(rel: str) -> bool:
    parts = rel.split("/")
    name = parts[-1]
    if any(p in ("test", "tests", "__tests__", "spec", "e2e") for p in parts[:-1]):
        return True
    return any(marker in name for marker in (".test.", ".spec."))


def grammar_of(path: str) -> str:
    """The tree-sitter grammar of a JavaScript or TypeScript file, from its name."""
    if path.endswith(".tsx"):
        return "tsx"
    if path.endswith((".ts", ".mts", ".cts")):
        return "typescript"
    return LANGUAGE


def is_typescript(path: str) -> bool:
    return grammar_of(path) != LANGUAGE


def _is_source(name: str) -> bool:
    # Declaration files hold types only, never a route.
    return name.endswith(SUFFIXES) and not name.endswith((".d.ts", ".d.mts", ".d.cts"))


def iter_js_files(root: Path, repo_root: Path, *, warnings: list[str] | None = None) -> Iterator[ts.SourceFile]:
    """Every JavaScript/TypeScript file of a service but its tests, each parsed with its grammar.

    One walk for all suffixes (rather than one `iter_source_files` per grammar), with the
    same skip rules: a file that does not parse is skipped with a warning.
    """
    for path, rel, source in ts.iter_files(root, repo_root, _is_source, warnings=warnings):
        if is_test_path(path.relative_to(root).as_posix()):
            continue
        grammar = grammar_of(rel)
        # The shared parse cache: the other Node frameworks parse the same files.
        tree = ts.parse_cached(rel, source, grammar)
        if tree is not None and not ts.has_error(tree.root_node):
            yield ts.SourceFile(path=path, rel=rel, source=source, tree=tree)
            continue
        message = f"skipped {rel}: does not parse as {grammar}"
        log.warning(message)
        if warnings is not None:
            warnings.append(message)


def read_package_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, ValueError) as exc:
        log.warning("skipped %s: not valid JSON (%s)", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def dependencies(manifest: dict) -> set[str]:
    """Names of the runtime dependencies a package.json declares."""
    deps = manifest.get("dependencies")
    return set(deps) if isinstance(deps, dict) else set()


def is_nest_manifest(manifest: dict) -> bool:
    """A NestJS application: it uses Express or Fastify underneath, but routes the Nest way."""
    return "@nestjs/core" in dependencies(manifest)


def uses_without_nest(manifest: dict, package: str) -> bool:
    """The package depends on `package` directly: a NestJS app that uses it underneath has its own module."""
    return package in dependencies(manifest) and not is_nest_manifest(manifest)


def detect_services(
    repo_root: Path,
    accepts: Callable[[dict], bool],
    entrypoint: Callable[[Path, Path, dict], str | None],
) -> list[ServiceCandidate]:
    """One candidate per package.json that `accepts`; `entrypoint(repo_root, root, manifest)` names its main file."""
    repo_root = repo_root.resolve()
    out: list[ServiceCandidate] = []
    for path, _rel, _content in ts.iter_files(repo_root, repo_root, lambda n: n == "package.json"):
        manifest = read_package_json(path)
        if not accepts(manifest):
            continue
        root = path.parent
        out.append(ServiceCandidate(root=root, entrypoint=entrypoint(repo_root, root, manifest)))
    return sorted(out, key=lambda c: c.root)


def files_by_package(repo_root: Path, accept: Callable[[bytes], bool]) -> dict[Path, set[str]]:
    """The source files but the tests whose content `accept`s (paths relative to the
    repository), by the package they belong to: the folder of the nearest package.json at or
    above them. Nothing is parsed; files under no package.json are left out."""
    repo_root = repo_root.resolve()
    out: dict[Path, set[str]] = {}
    nearest: dict[Path, Path | None] = {}
    for path, rel, source in ts.iter_files(repo_root, repo_root, _is_source):
        if is_test_path(rel) or not accept(source):
            continue
        folder = path.parent
        if folder not in nearest:
            inside = [d for d in (folder, *folder.parents) if d.is_relative_to(repo_root)]
            nearest[folder] = next((d for d in inside if (d / "package.json").is_file()), None)
        if nearest[folder] is not None:
            out.setdefault(nearest[folder], set()).add(rel)
    return dict(sorted(out.items()))


_JSONC_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/', re.S)


def read_jsonc(path: Path) -> dict:
    """A tsconfig-style JSON file: comments and trailing commas allowed. {} when unreadable."""
    try:
        raw = path.read_text(errors="replace")
    except OSError:
        return {}
    # Drop comments outside strings, then trailing commas.
    stripped = _JSONC_TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith('"') else "", raw)
    stripped = re.sub(r",(\s*[}\]])", r"\1", stripped)
    try:
        data = json.loads(stripped)
    except ValueError as exc:
        log.warning("ignored %s: not valid JSON (%s)", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def script_words(manifest: dict, name: str) -> list[str]:
    """The words of a package.json script, [] when absent or unreadable."""
    scripts = manifest.get("scripts")
    script = scripts.get(name) if isinstance(scripts, dict) else None
    if not isinstance(script, str):
        return []
    try:
        return shlex.split(script)
    except ValueError:
        return []
