"""Cargo manifests of a Rust repository: dependencies, library and binary targets, workspaces, services.

This is the lowest layer of Rust discovery: it reads Cargo.toml files only, never Rust
source, so the project model (`project.py`) and the runtime hints (`runtime.py`) can
both build on it. `detect_services` finds one service per crate that depends on a web
framework and builds a binary.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import ServiceCandidate

log = logging.getLogger(__name__)

#: folders of build output and vendored crates, never the service's own code
SKIP_PARTS = frozenset({"target", "vendor"})


# --------------------------------------------------------------------------- Cargo manifests


#: parsed manifests by (path, mtime, size): workspaces make every member ask for the root one
_MANIFESTS: dict[tuple[str, int, int], dict[str, Any] | None] = {}


def read_cargo(path: Path) -> dict[str, Any] | None:
    """The parsed Cargo.toml, or None (with a warning) when it cannot be read."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
        if key in _MANIFESTS:
            return _MANIFESTS[key]
        data = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        log.warning("skipped %s: not a readable Cargo.toml (%s)", path, exc)
        return None
    if len(_MANIFESTS) > 10_000:
        _MANIFESTS.clear()
    _MANIFESTS[key] = data if isinstance(data, dict) else None
    return _MANIFESTS[key]


def _dependency_tables(manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    deps = manifest.get("dependencies")
    if isinstance(deps, dict):
        yield deps
    targets = manifest.get("target")
    if isinstance(targets, dict):
        for table in targets.values():
            if isinstance(table, dict) and isinstance(table.get("dependencies"), dict):
                yield table["dependencies"]


def dependencies(manifest: dict[str, Any]) -> dict[str, Any]:
    """Normal dependencies (not dev/build), keyed by the name the code uses them under."""
    out: dict[str, Any] = {}
    for table in _dependency_tables(manifest):
        out.update(table)
    return out


def depends_on(manifest: dict[str, Any], package: str) -> bool:
    """True when `package` is a normal dependency, also when renamed (`web = { package = "actix-web" }`)."""
    for key, spec in dependencies(manifest).items():
        if key == package or (isinstance(spec, dict) and spec.get("package") == package):
            return True
    return False


def path_dependencies(manifest: dict[str, Any], crate_dir: Path, repo_root: Path) -> dict[str, Path]:
    """Crate name (as the code spells it) -> directory of every `path = ...` dependency.

    `x = { workspace = true }` takes the path from the workspace's [workspace.dependencies].
    """
    out: dict[str, Path] = {}
    inherited: dict[str, Any] | None = None
    ws_root: Path | None = None
    for key, spec in dependencies(manifest).items():
        if not isinstance(spec, dict):
            continue
        base = crate_dir
        if spec.get("workspace") is True:
            if inherited is None:
                ws_root = workspace_root(crate_dir, repo_root)
                ws = read_cargo(ws_root / "Cargo.toml") if ws_root is not None else None
                section = (ws or {}).get("workspace")
                table = section.get("dependencies") if isinstance(section, dict) else None
                inherited = table if isinstance(table, dict) else {}
            spec = inherited.get(key)
            if not isinstance(spec, dict) or ws_root is None:
                continue
            base = ws_root
        if isinstance(spec.get("path"), str):
            out[key.replace("-", "_")] = (base / spec["path"]).resolve()
    return out


def package_name(manifest: dict[str, Any]) -> str | None:
    package = manifest.get("package")
    if isinstance(package, dict) and isinstance(package.get("name"), str):
        return package["name"]
    return None


def lib_target(manifest: dict[str, Any], crate_dir: Path) -> tuple[str, Path] | None:
    """(crate name, root file) of the package's library, if it has one."""
    lib = manifest.get("lib") if isinstance(manifest.get("lib"), dict) else {}
    rel = lib.get("path") if isinstance(lib.get("path"), str) else "src/lib.rs"
    path = crate_dir / rel
    if not path.is_file():
        return None
    name = lib.get("name") if isinstance(lib.get("name"), str) else package_name(manifest)
    return (name or crate_dir.name).replace("-", "_"), path


def bin_targets(manifest: dict[str, Any], crate_dir: Path) -> list[tuple[str, str]]:
    """(binary name, root file relative to the crate) of every binary, as Cargo finds them."""
    out: list[tuple[str, str]] = []
    claimed: set[str] = set()
    package = manifest.get("package") if isinstance(manifest.get("package"), dict) else {}
    for entry in manifest.get("bin") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        rel = entry.get("path")
        if not isinstance(rel, str):
            rel = f"src/bin/{name}.rs" if (crate_dir / f"src/bin/{name}.rs").is_file() else "src/main.rs"
        rel = Path(rel).as_posix().removeprefix("./")
        if (crate_dir / rel).is_file():
            out.append((name, rel))
            claimed.add(rel)
    if package.get("autobins", True) is not False:
        pkg = package_name(manifest) or crate_dir.name
        if (crate_dir / "src/main.rs").is_file() and "src/main.rs" not in claimed:
            out.append((pkg, "src/main.rs"))
        bin_dir = crate_dir / "src" / "bin"
        if bin_dir.is_dir():
            for child in sorted(bin_dir.iterdir()):
                if child.suffix == ".rs" and child.is_file():
                    rel = f"src/bin/{child.name}"
                    name = child.stem
                elif (child / "main.rs").is_file():
                    rel = f"src/bin/{child.name}/main.rs"
                    name = child.name
                else:
                    continue
                if rel not in claimed:
                    out.append((name, rel))
    return out


def workspace_root(crate_dir: Path, repo_root: Path) -> Path | None:
    """The nearest enclosing folder (inside the repository) whose Cargo.toml has [workspace]."""
    current = crate_dir.resolve()
    top = repo_root.resolve()
    while True:
        manifest_path = current / "Cargo.toml"
        if manifest_path.is_file():
            manifest = read_cargo(manifest_path)
            if manifest is not None and isinstance(manifest.get("workspace"), dict):
                return current
        if current == top or current.parent == current:
            return None
        current = current.parent


def iter_manifests(repo_root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """(crate folder, manifest) of every package Cargo.toml outside build output and vendored crates."""
    repo_root = repo_root.resolve()
    for path, rel, _content in ts.iter_files(repo_root, repo_root, lambda n: n == "Cargo.toml"):
        if SKIP_PARTS & set(rel.split("/")[:-1]):
            continue
        manifest = read_cargo(path)
        if manifest is not None and package_name(manifest) is not None:
            yield path.parent, manifest


def uses_framework(manifest: dict[str, Any], crate_dir: Path, package: str, repo_root: Path, depth: int = 0) -> bool:
    """The crate depends on `package`, directly or through a path dependency of the same repository."""
    if depends_on(manifest, package):
        return True
    if depth >= 3:
        return False
    for dep_dir in path_dependencies(manifest, crate_dir, repo_root).values():
        if not dep_dir.is_relative_to(repo_root.resolve()):
            continue
        dep = read_cargo(dep_dir / "Cargo.toml") if (dep_dir / "Cargo.toml").is_file() else None
        if dep is not None and uses_framework(dep, dep_dir, package, repo_root, depth + 1):
            return True
    return False


def service_binary(manifest: dict[str, Any], crate_dir: Path, marker: str) -> tuple[str, str] | None:
    """The binary that runs the service: `default-run`, else src/main.rs, else one that mentions `marker`."""
    bins = bin_targets(manifest, crate_dir)
    if not bins:
        return None
    package = manifest.get("package") if isinstance(manifest.get("package"), dict) else {}
    default_run = package.get("default-run")
    for name, rel in bins:
        if name == default_run:
            return name, rel
    for name, rel in bins:
        if rel == "src/main.rs":
            return name, rel
    for name, rel in bins:
        try:
            if marker in (crate_dir / rel).read_text(encoding="utf-8", errors="replace"):
                return name, rel
        except OSError:
            continue
    return bins[0]


def detect_services(repo_root: Path, package: str, marker: str) -> list[ServiceCandidate]:
    """One candidate per crate that uses `package` and builds a binary (found by `marker`)."""
    out: list[ServiceCandidate] = []
    for crate_dir, manifest in iter_manifests(repo_root):
        if not uses_framework(manifest, crate_dir, package, repo_root):
            continue
        binary = service_binary(manifest, crate_dir, marker)
        if binary is None:
            continue  # a library crate: served through the binary that depends on it
        out.append(ServiceCandidate(root=crate_dir, entrypoint=binary[1]))
    return sorted(out, key=lambda c: c.root)


def default_features(manifest: dict[str, Any]) -> set[str]:
    """The package's features a plain `cargo build` enables: `default`, and what each enabled
    feature enables in turn (`dep:x` and `x/y` name dependencies, not features)."""
    table = manifest.get("features") if isinstance(manifest.get("features"), dict) else {}
    enabled: set[str] = set()
    queue = ["default"]
    while queue:
        name = queue.pop()
        if name in enabled or name not in table:
            continue
        enabled.add(name)
        queue.extend(
            item for item in table[name] or [] if isinstance(item, str) and ":" not in item and "/" not in item
        )
    enabled.discard("default")
    return enabled


_CFG_TOKEN = re.compile(r'\s*(?:(?P<word>[A-Za-z_]\w*)|(?P<string>"[^"]*")|(?P<punct>[(),=]))')


def cfg_active(attribute: str, features: set[str]) -> bool:
    """Whether `#[cfg(...)]` holds in a plain build with `features`: features, `not`, `any`
    and `all` are evaluated; `test` is false; what else it asks (the target, debug
    assertions) is taken as true. An attribute that is not a cfg holds."""
    match = re.match(r"#\s*\[\s*cfg\s*\((?P<body>.*)\)\s*\]\s*$", attribute.strip(), re.S)
    if match is None:
        return True
    tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _CFG_TOKEN.finditer(match.group("body"))]
    position = 0

    def predicate() -> bool:
        nonlocal position
        if position >= len(tokens):
            return True
        kind, word = tokens[position]
        position += 1
        if kind != "word":
            return True
        if word in ("not", "any", "all") and position < len(tokens) and tokens[position][1] == "(":
            position += 1
            values = []
            while position < len(tokens) and tokens[position][1] != ")":
                values.append(predicate())
                if position < len(tokens) and tokens[position][1] == ",":
                    position += 1
            position += 1
            if word == "not":
                return not (values[0] if values else True)
            return any(values) if word == "any" else all(values)
        if position + 1 < len(tokens) and tokens[position][1] == "=":
            value = tokens[position + 1][1].strip('"')
            position += 2
            return value in features if word == "feature" else True
        return word != "test"

    return predicate()


def declared_versions(crate_dir: Path) -> dict[str, str]:
    """The version each dependency of the crate at `crate_dir` names (`rsipstack = "0.6.4"`),
    its workspace's `[workspace.dependencies]` included, by the package's own name."""
    manifest = read_cargo(crate_dir / "Cargo.toml") or {}
    workspace = manifest.get("workspace") if isinstance(manifest.get("workspace"), dict) else {}
    tables = [workspace.get("dependencies") or {}, *_dependency_tables(manifest)]
    out: dict[str, str] = {}
    for table in tables:
        for key, spec in table.items() if isinstance(table, dict) else ():
            version = spec if isinstance(spec, str) else spec.get("version") if isinstance(spec, dict) else None
            name = spec.get("package", key) if isinstance(spec, dict) else key
            if isinstance(version, str) and isinstance(name, str):
                out[name] = version
    return out
