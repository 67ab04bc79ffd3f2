"""Rust: Cargo.toml (package or bin name, edition, rust-version, workspace) and Cargo.lock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from pipeline.languages.toolchain import (
    Toolchain,
    existing,
    local_stand_in,
    parse_version,
    read_text,
    read_toml,
    source_files,
)

STAND_IN = "1.63"
# The versions local stand-ins exist for (docker/base: rust.Dockerfile on bookworm,
# rust-trixie.Dockerfile), oldest first.
STAND_INS = ["1.63", "1.85"]
BINARY = "/app/server"
# What the dependency layer writes for each binary, so that cargo builds the dependencies
# before the source is there.
PLACEHOLDER_MAIN = 'echo "fn main() {}"'
# The oldest rustc each edition or lock-file format needs.
EDITION_MINIMUM = {"2015": "1.0", "2018": "1.31", "2021": "1.56", "2024": "1.85"}
LOCK_V4_MINIMUM = "1.78"
# crates.io is reached through its sparse index (the default from cargo 1.70); the git
# index of older cargos lives on github.com, which build machines may not reach.
SPARSE_INDEX_MINIMUM = "1.70"
# cargo 1.84+ can resolve a missing Cargo.lock to dependency versions its rustc builds.
MSRV_RESOLVER = (1, 84)
# rust:<x.y>-slim-bookworm tags exist from 1.70 on (bookworm's release).
FIRST_BOOKWORM = (1, 70)


# rustup-init from the Rust project's own server (static.rust-lang.org), which answers
# where Docker Hub may not: it installs a newer rustc over a stand-in's. curl and rustup
# trust the image's system bundle, which holds the machine's proxy CA when there is one.
RUSTUP_INIT = "https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init"
RUSTUP_MARK = "# rustc from rustup:"


def rustup_lines(version: str) -> list[str]:
    """Dockerfile lines installing rustc `version` with rustup; its cargo and rustc proxies
    go to $CARGO_HOME/bin, ahead of the image's own on PATH (official images and stand-ins)."""
    return [
        f"{RUSTUP_MARK} {version} (the newest local image's rustc is older)",
        "RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates"
        " && rm -rf /var/lib/apt/lists/*"
        f" && curl --proto '=https' -sSf {RUSTUP_INIT} -o /tmp/rustup-init && chmod +x /tmp/rustup-init"
        " && RUSTUP_HOME=/usr/local/rustup CARGO_HOME=${CARGO_HOME:-/usr/local/cargo} /tmp/rustup-init -y"
        f" --no-modify-path --profile minimal --default-toolchain {version} && rm /tmp/rustup-init",
        "ENV RUSTUP_HOME=/usr/local/rustup",
    ]


def with_rustup(dockerfile: str, version: str) -> str | None:
    """The Dockerfile installing rustc `version` right after its WORKDIR (replacing an older
    rustup step), None when it already installs that version."""
    lines = dockerfile.splitlines()
    if any(line.startswith(f"{RUSTUP_MARK} {version} ") for line in lines):
        return None
    if (start := next((i for i, line in enumerate(lines) if line.startswith(RUSTUP_MARK)), None)) is not None:
        del lines[start : start + 3]
        at = start
    else:
        workdir = next((i for i, line in enumerate(lines) if line.startswith("WORKDIR ")), None)
        from_line = next((i for i, line in enumerate(lines) if line.startswith("FROM ")), None)
        if workdir is None and from_line is None:
            return None
        at = (workdir if workdir is not None else from_line) + 1
    lines[at:at] = rustup_lines(version)
    return "\n".join(lines) + "\n"


# Literal loopback bind addresses in the source, and what listens on every interface
# instead: a server bound to 127.0.0.1 in a container is unreachable through its published
# port, and no variable moves a literal. A client's "127.0.0.1:6379" rewritten too still
# reaches the same host (connecting to 0.0.0.0 is connecting to the local host on Linux).
_LOOPBACK_LITERALS = (
    (re.compile(r'\bbind\s*\(\s*\(\s*"(?:127\.0\.0\.1|localhost)"\s*,\s*\d{2,5}\s*\)'), '"0.0.0.0'),
    (re.compile(r'"(?:127\.0\.0\.1|localhost):\d{2,5}"'), '"0.0.0.0'),
    (re.compile(r"\(\s*\[\s*127\s*,\s*0\s*,\s*0\s*,\s*1\s*\]\s*,\s*\d{2,5}\s*\)"), "[0, 0, 0, 0]"),
)
_LOOPBACK_HOST = re.compile(r'"(?:127\.0\.0\.1|localhost)|\[\s*127\s*,\s*0\s*,\s*0\s*,\s*1\s*\]')


def _sed_pattern(text: str) -> str:
    """text as a sed basic regular expression that matches itself."""
    return re.sub(r"([\\/.*\[\]^$])", r"\\\1", text)


def _sed_replacement(text: str) -> str:
    return re.sub(r"([\\/&])", r"\\\1", text)


def loopback_rewrites(root: Path) -> list[str]:
    """`sed` commands that make each literal loopback bind address of the source listen on
    every interface (`.bind(("127.0.0.1", 8080))`, `"localhost:3000"`, `([127, 0, 0, 1], 80)`).
    They match the literal's text, not a line number: the masked tree moves lines."""
    commands = []
    for path in source_files(root, ".rs"):
        text = read_text(path)
        found: list[tuple[str, str]] = []
        for pattern, host in _LOOPBACK_LITERALS:
            for match in pattern.finditer(text):
                old = match.group(0)
                found.append((old, _LOOPBACK_HOST.sub(host, old, count=1)))
        if found:
            edits = " ".join(f"-e 's/{_sed_pattern(o)}/{_sed_replacement(n)}/g'" for o, n in dict(found).items())
            commands.append(f"sed -i {edits} {path.relative_to(root).as_posix()}")
    return commands


def image(version: str) -> str:
    suite = "trixie" if (parse_version(version) or (0,)) >= (1, 85) else "bookworm"
    return f"rust:{version}-slim-{suite}"


def _registry_dependencies(cargo: dict) -> bool:
    """Whether the manifest names a dependency from a registry (not a path or git one)."""
    tables = [cargo.get(key) for key in ("dependencies", "build-dependencies")]
    tables += [t.get("dependencies") for t in (cargo.get("target") or {}).values() if isinstance(t, dict)]
    workspace = cargo.get("workspace")
    if isinstance(workspace, dict):
        tables.append(workspace.get("dependencies"))
    for table in tables:
        for spec in (table or {}).values() if isinstance(table, dict) else ():
            if isinstance(spec, str) or (isinstance(spec, dict) and not {"path", "git"} & set(spec)):
                return True
    return False


def _minimum(cargo: dict, lock: str) -> tuple[str | None, str | None]:
    """The newest of the minimums the manifest and lock file imply, with its reason."""
    package = cargo.get("package", {}) if isinstance(cargo.get("package"), dict) else {}
    candidates: list[tuple[str, str]] = []
    if isinstance(package.get("rust-version"), str):
        candidates.append((package["rust-version"], "Cargo.toml rust-version"))
    edition = str(package.get("edition", ""))
    if edition in EDITION_MINIMUM:
        candidates.append((EDITION_MINIMUM[edition], f"Cargo.toml edition {edition}"))
    if re.search(r"^version\s*=\s*4\s*$", lock, re.MULTILINE):
        candidates.append((LOCK_V4_MINIMUM, "Cargo.lock version 4"))
    if _registry_dependencies(cargo):
        candidates.append((SPARSE_INDEX_MINIMUM, "crates.io dependencies (sparse index)"))
    if not candidates:
        return None, None
    return max(candidates, key=lambda c: parse_version(c[0]) or (0,))


class Widening(BaseModel):
    """A crate built from a context wider than its folder (reach.py): the Cargo.lock of
    its workspace and every manifest cargo loads with it."""

    lock_dir: Path = Field(description="the folder whose Cargo.lock the build uses (the workspace root)")
    manifests: list[dict[str, Any]] = Field(default_factory=list, description="parsed Cargo.toml files")
    target_dir: str = Field(default="target", description="where cargo builds, from the crate (`../target`)")


def _widest_minimum(manifests: list[dict[str, Any]], lock: str) -> tuple[str | None, str | None]:
    """The newest minimum of several manifests (a workspace's [workspace.package] counts as
    a package's), with its reason."""
    found: list[tuple[str, str]] = []
    for manifest in manifests:
        section = manifest.get("workspace")
        inherited = section.get("package") if isinstance(section, dict) else None
        for candidate in (manifest, {"package": inherited} if isinstance(inherited, dict) else None):
            if candidate is None:
                continue
            minimum, source = _minimum(candidate, lock)
            if minimum and source:
                found.append((minimum, source))
    if not found:
        return None, None
    return max(found, key=lambda c: parse_version(c[0]) or (0,))


#: The note of a workspace root built with its source (reach.workspace_root_layer replaces it).
NO_LAYER_NOTE = "a Cargo workspace: dependencies build with the source (no layer cache)"


def detect(root: Path, *, offline: bool, entrypoint: str | None = None, widened: Widening | None = None) -> Toolchain:
    """The toolchain of the crate at root; `widened` when its build context is wider than
    root (a workspace member, path dependencies above it: reach.py)."""
    cargo = read_toml(root / "Cargo.toml")
    lock = read_text((widened.lock_dir if widened else root) / "Cargo.lock")
    package = cargo.get("package", {}) if isinstance(cargo.get("package"), dict) else {}
    workspace = isinstance(cargo.get("workspace"), dict) and bool(cargo["workspace"].get("members"))
    bins = [b for b in cargo.get("bin", []) if isinstance(b, dict) and b.get("name")]
    name = str(bins[0]["name"] if bins else package.get("name", "app"))
    notes: list[str] = []
    minimum, source = _widest_minimum([cargo, *(widened.manifests if widened else [])], lock)
    version = STAND_IN
    wanted = parse_version(minimum) if minimum else None
    if wanted and wanted > parse_version(STAND_IN):
        version = ".".join(str(p) for p in max(wanted[:2], FIRST_BOOKWORM))
    satisfied = True
    if offline and version != STAND_IN:
        # Only the stand-ins exist: the oldest whose rustc is new enough (a newer rustc
        # builds older code), else the newest, with a note.
        version, satisfied = local_stand_in(minimum, STAND_INS)
    facts: dict[str, str] = {}
    if offline and minimum and not satisfied:
        # The newest stand-in's rustc is too old: rustup installs the asked one over it.
        facts["rustup"] = ".".join(str(p) for p in (parse_version(minimum) or (1,))[:2])
        facts["rustup_step"] = "\n".join(rustup_lines(facts["rustup"]))
        notes.append(f"{source} needs rustc {minimum}; offline, rustup installs it over the stand-in rustc {version}")
    if not lock and _registry_dependencies(cargo) and (parse_version(version) or (0,)) >= MSRV_RESOLVER:
        # No lock file: the newest compatible versions would be taken, which may need a
        # newer rustc than the image's; the MSRV-aware resolver picks ones it builds.
        facts["msrv_resolver"] = "fallback"
    locked = " --locked" if lock else ""
    if widened is not None:
        # The crates it loads are above its folder: reach.py makes their dependency layer;
        # the build output is in the workspace's target folder, where the start command
        # (runtime.binary_command) looks for it.
        manifests = []
        install = None
        build = f"cargo build --release{locked}" + (f" --bin {name}" if bins else "")
    elif workspace or not package:
        # A workspace's members each need their manifest: the source is copied first.
        manifests: list[str] = []
        install = None
        notes.append(NO_LAYER_NOTE)
        build = f"cargo build --release{locked} --bin {name}" if bins else f"cargo build --release{locked}"
    else:
        manifests = existing(root, ["Cargo.toml", "Cargo.lock", "build.rs"])
        # Cargo needs a target to resolve and build the dependencies: a placeholder main
        # builds them in their own layer; the real source replaces it afterwards.
        crate = str(package.get("name", name)).replace("-", "_")
        # The placeholder's outputs and fingerprints go, or cargo would take the real
        # source (older mtimes after COPY) for already built.
        install = (
            f"mkdir -p src && {PLACEHOLDER_MAIN} > src/main.rs"
            f" && cargo build --release{locked}"
            f" && rm -rf src target/release/{name} target/release/deps/{crate}-* target/release/.fingerprint/{name}-*"
        )
        build = f"cargo build --release{locked}"
    if rewrites := loopback_rewrites(root):
        # Before the build that compiles them: the service must listen on all interfaces.
        build = " && ".join([*rewrites, build])
        notes.append("the source binds to a loopback address: the build rewrites it to 0.0.0.0")
    return Toolchain(
        language="rust",
        language_version=version,
        version_source=source,
        package_manager="cargo",
        manifests=manifests,
        install_command=install,
        build_command=f"{build} && cp {widened.target_dir if widened else 'target'}/release/{name} {BINARY}",
        artifact=BINARY,
        start_command=[BINARY],
        default_port=8080,
        base_image=image(version),
        facts={"bin": name, "workspace": "yes" if workspace else "no", **facts},
        notes=notes,
    )


def with_pinned(dockerfile: str, package: str, version: str) -> str | None:
    """The Dockerfile whose cargo builds set `package` to exactly `version` in the lock file
    (made first where the repository ships none). None without a cargo build, or when it
    already does.

    A drift is found when the source fails to compile, so the dependency layer has already
    been built with the newer release. Its RUN stays as it was, and the pin follows it in a
    layer of its own that repeats the build: that layer starts from the first one's target
    folder and recompiles only the pinned crate and what depends on it (rustpbx: minutes,
    against three quarters of an hour for all of its dependencies again). The source's build
    pins too, since copying the source may bring back the repository's lock file."""
    step = f"cargo update -p {package} --precise {version}"
    if "cargo build" not in dockerfile or step in dockerfile:
        return None
    lines = dockerfile.splitlines()
    # The dependency layer builds a placeholder main (above, and reach.py). Once pinned, it
    # is there twice: as built first, then pinned; a later pin joins the pinned one.
    layers = [i for i, line in enumerate(lines) if line.startswith("RUN ") and PLACEHOLDER_MAIN in line]
    out: list[str] = []
    for i, line in enumerate(lines):
        if i in layers[-1:] and "cargo update -p " not in line:
            note = f"# {package} pinned to {version} in a layer of its own: only it and its dependents recompile."
            out += [line, note, _pinned(line, step)]
        elif i in layers[:-1]:
            out.append(line)
        else:
            out.append(_pinned(line, step))
    return "\n".join(out) + ("\n" if dockerfile.endswith("\n") else "")


def _pinned(line: str, step: str) -> str:
    """`line` with the pin before each cargo build in it."""
    return re.sub(r"cargo build\b", f"(test -f Cargo.lock || cargo generate-lockfile) && {step} && cargo build", line)
