"""Go: the go.mod `go` directive picks the image; requires and go.sum decide the download step."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline.languages.go.project import load_go_mod
from pipeline.languages.toolchain import (
    Toolchain,
    existing,
    local_stand_in,
    parse_version,
    read_text,
    source_files,
)

STAND_IN = "1.19"
# The versions local stand-ins exist for (docker/base: go.Dockerfile on bookworm,
# go-trixie.Dockerfile), oldest first.
STAND_INS = ["1.19", "1.24"]
# golang:<x.y>-bookworm tags exist from 1.20 on (bookworm came out with Go 1.20); the
# directive is a minimum, so anything older builds with the stand-in.
FIRST_BOOKWORM = (1, 20)
# From 1.24 on the stand-in (and the official default) is trixie.
FIRST_TRIXIE = (1, 24)
BINARY = "/app/server"


def image(version: str) -> str:
    suite = "trixie" if (parse_version(version) or (0,)) >= FIRST_TRIXIE else "bookworm"
    return f"golang:{version}-{suite}"


def _wanted(gomod: str) -> tuple[str | None, str | None]:
    """The Go release go.mod needs (major.minor) and which line said so: the `toolchain`
    line when it names a newer release than the `go` directive, else the directive."""
    directive = re.search(r"^go\s+(\d+\.\d+)(?:\.\d+)?\s*$", gomod, re.MULTILINE)
    toolchain = re.search(r"^toolchain\s+go(\d+\.\d+)(?:\.\d+)?\S*\s*$", gomod, re.MULTILINE)
    found = [
        (m.group(1), why) for m, why in ((directive, "go.mod go directive"), (toolchain, "go.mod toolchain line")) if m
    ]
    if not found:
        return None, None
    return max(found, key=lambda f: parse_version(f[0]) or (0,))


def _main_package(root: Path, entrypoint: str | None) -> str:
    """The package to build, as a `go build` argument: the entrypoint's folder, else the
    shallowest folder with `package main` and `func main()`."""
    if entrypoint:
        folder = Path(entrypoint).parent if entrypoint.endswith(".go") else Path(entrypoint)
        return "." if str(folder) in ("", ".") else f"./{folder.as_posix()}"
    mains = []
    for path in source_files(root, ".go"):
        if path.name.endswith("_test.go"):
            continue
        text = read_text(path)
        if re.search(r"^package main\b", text, re.MULTILINE) and re.search(r"^func main\(\)", text, re.MULTILINE):
            mains.append(path.parent.relative_to(root))
    if not mains:
        return "."
    best = min(mains, key=lambda p: (len(p.parts), p.as_posix()))
    return "." if best.as_posix() == "." else f"./{best.as_posix()}"


def _module_lines(gomod: str, directive: str) -> list[str]:
    """The lines of a go.mod directive, its block form and its one-line form alike."""
    lines: list[str] = []
    block = False
    for raw in gomod.splitlines():
        line = raw.split("//")[0].strip()
        if block:
            if line == ")":
                block = False
            elif line:
                lines.append(line)
        elif re.match(rf"{directive}\s*\($", line):
            block = True
        elif line.startswith(directive + " "):
            lines.append(line[len(directive) :].strip())
    return lines


def local_replaces(gomod: str) -> dict[str, str]:
    """What go.mod replaces with a folder (`=> ../..`, `=> ./lib`): the replaced module as
    `go mod edit -dropreplace` names it (path, or path@version when the line has one) -> folder."""
    out: dict[str, str] = {}
    for line in _module_lines(gomod, "replace"):
        old, _, new = line.partition("=>")
        replaced, target = old.split(), new.split()
        if replaced and target and target[0].startswith((".", "/")):
            out["@".join(replaced[:2])] = target[0]
    return out


def _required(gomod: str) -> dict[str, str]:
    """Every module go.mod requires (direct and indirect) -> its version."""
    return {w[0]: w[1] for w in (line.split() for line in _module_lines(gomod, "require")) if len(w) >= 2}


def _module_of(package: str, modules: set[str]) -> str | None:
    """The module (of those named) a package path belongs to: the longest path prefix."""
    owners = [m for m in modules if package == m or package.startswith(m + "/")]
    return max(owners, key=len) if owners else None


def _own_source_files(root: Path) -> list[Path]:
    """The .go files the go command builds as part of the module at root: not those of a
    nested module (a folder with its own go.mod: another module, its own requires), nor of
    folders the go command ignores (`_examples`, `.x`, `testdata`)."""
    nested = {p.parent for p in source_files(root, "go.mod") if p.parent != root}
    out = []
    for path in source_files(root, ".go"):
        folders = path.parent.relative_to(root).parts
        if any(part.startswith(("_", ".")) or part == "testdata" for part in folders):
            continue
        if any(parent in nested for parent in [path.parent, *path.parent.parents]):
            continue
        out.append(path)
    return out


def _imported_modules_packages(root: Path, gomod: str, *, has_sum: bool) -> list[str]:
    """The packages of other modules the service's code imports (not its tests), sorted.

    The dependency layer compiles them, so a source edit recompiles only the service's own
    packages: `go mod download` alone fetches sources, and compiling a framework and its
    dependencies (gin: sonic, validator, protobuf) is most of a build's time. With a go.sum
    only packages of required modules can build (`no required module provides package`
    otherwise), and a module replaced by a folder has no source in that layer: both are left
    to the full build."""
    module = re.search(r"^module\s+(\S+)", gomod, re.MULTILINE)
    own = module.group(1) if module else None
    found: set[str] = set()
    for path in _own_source_files(root):
        if path.name.endswith("_test.go"):
            continue
        text = read_text(path)
        for block in re.findall(r"^import\s*\((.*?)^\)", text, re.MULTILINE | re.DOTALL):
            found.update(re.findall(r'"([^"]+)"', block))
        found.update(re.findall(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', text, re.MULTILINE))
    # A path whose first element has no dot is the standard library's.
    external = {p for p in found if "." in p.split("/")[0]}
    external = {p for p in external if not (own and (p == own or p.startswith(own + "/")))}
    required = set(_required(gomod))
    local = {spec.split("@")[0] for spec in local_replaces(gomod)}
    if has_sum:
        external = {p for p in external if _module_of(p, required)}
    return sorted(p for p in external if _module_of(p, required | local) not in local)


def _outside_replaces(root: Path, gomod: str, context: Path | None = None) -> list[str]:
    """The local replaces whose folder is outside the build context (root unless a wider one
    holds them, stages/build_context.py) and whose module go.mod requires at a published
    version (not the v0.0.0-00010101... placeholder only a replace can satisfy)."""
    required = _required(gomod)
    out = []
    for spec, target in local_replaces(gomod).items():
        version = required.get(spec.split("@")[0], "")
        if _in_context(root, target, context) or not version or version.startswith("v0.0.0-00010101"):
            continue
        out.append(spec)
    return out


def _in_context(root: Path, target: str, context: Path | None) -> bool:
    if _inside(root, target) is not None:
        return True
    if context is None:
        return False
    folder, top = os.path.normpath(root / target), os.path.normpath(context)
    return folder == top or folder.startswith(top + os.sep)


def _context_replace_manifests(root: Path, gomod: str, context: Path) -> list[str]:
    """go.mod of each module replaced by a folder above root but inside the wider build
    context, named from root (`../../go.mod`): the dependency layer reads them."""
    found = []
    for target in local_replaces(gomod).values():
        outside_root = _inside(root, target) is None
        if outside_root and _in_context(root, target, context) and (root / target / "go.mod").is_file():
            found.append(Path(os.path.relpath(os.path.normpath(root / target / "go.mod"), root)).as_posix())
    return sorted(set(found))


def _inside_replace_manifests(root: Path, gomod: str) -> list[str]:
    """go.mod of each module replaced by a folder inside root, relative to root."""
    folders = (_inside(root, target) for target in local_replaces(gomod).values())
    return sorted({f"{folder}/go.mod" for folder in folders if folder not in (None, ".")})


def _inside(root: Path, target: str) -> str | None:
    """target (a replace's folder, relative to root) relative to root, None when outside it."""
    folder = (root / target).resolve()
    base = root.resolve()
    return folder.relative_to(base).as_posix() if folder.is_relative_to(base) else None


def detect(root: Path, *, offline: bool, entrypoint: str | None = None, context: Path | None = None) -> Toolchain:
    """The toolchain of the Go service at root; `context` is a wider build context (an
    ancestor of root, stages/build_context.py) whose folders a local replace may name."""
    gomod = read_text(root / "go.mod")
    notes: list[str] = []
    # gotoolchain: the GOTOOLCHAIN the template sets before the first go command.
    facts: dict[str, str] = {}
    wanted, source = _wanted(gomod)
    version = STAND_IN
    if wanted and parse_version(wanted) >= FIRST_BOOKWORM:
        version = wanted
    if offline and version != STAND_IN:
        # Only the stand-ins exist: the oldest one the go.mod accepts (the directive is a
        # minimum), else the newest, which fetches the Go that go.mod names from the
        # module proxy (GOTOOLCHAIN=auto; the image's own is pinned, as officially).
        version, satisfied = local_stand_in(wanted, STAND_INS)
        if not satisfied:
            facts["gotoolchain"] = "auto"
            notes.append(
                f"{source} asks for go {wanted}; offline, the stand-in go {version} builds it with "
                f"GOTOOLCHAIN=auto (go {wanted} from the module proxy)"
            )
        elif version != wanted:
            notes.append(f"{source} asks for go {wanted}; offline, the stand-in go {version} is used")
    has_requires = bool(re.search(r"^require\b", gomod, re.MULTILINE))
    has_sum = (root / "go.sum").is_file()
    vendored = (root / "vendor" / "modules.txt").is_file()
    package = _main_package(root, entrypoint)

    install = None
    build = f"CGO_ENABLED=0 go build -o {BINARY} {package}"
    if vendored:
        build = f"CGO_ENABLED=0 go build -mod=vendor -o {BINARY} {package}"
    elif has_requires and has_sum:
        install = "go mod download"
    elif not gomod and (root / "vendor").is_dir():
        # A GOPATH-era repository that vendors its dependencies (govendor, godep, glide: no
        # modules.txt) builds as it always did, in GOPATH mode from its vendor folder: module
        # mode would refuse the folder, and the versions it pinned may no longer be served.
        module = load_go_mod(root).module
        gopath_src = f'"$(go env GOPATH)/src/{module}"'
        build = (
            f'mkdir -p "$(dirname {gopath_src})" && ln -s "$PWD" {gopath_src} && cd {gopath_src} && '
            f"GO111MODULE=off {build}"
        )
        notes.append(f"no go.mod, a vendor folder: built in GOPATH mode as {module}")
    elif not gomod:
        # A GOPATH-era repository: module mode needs a go.mod, made from the source.
        # Named as its own imports name it, so packages inside the repository resolve locally.
        build = f"go mod init {load_go_mod(root).module} && go mod tidy && {build}"
        notes.append("no go.mod: `go mod init` and `go mod tidy` run with the source")
    elif has_requires:
        # Without go.sum the modules go.mod requires still download from go.mod alone (and
        # their checksums are written), in the cached layer; tidy then completes go.sum
        # from the source, out of the module cache.
        install = "go mod download"
        build = f"go mod tidy && {build}"
        notes.append("go.mod has requires but no go.sum: `go mod tidy` completes it with the source")
    manifests = existing(root, ["go.mod", "go.sum"]) if not vendored else []
    dropped = [] if vendored else _outside_replaces(root, gomod, context)
    if not vendored:
        # The dependency layer reads the go.mod of a module replaced by a folder inside the
        # service root (or the wider build context): it travels with go.mod into that layer.
        manifests += existing(root, _inside_replace_manifests(root, gomod))
        if context is not None:
            manifests += _context_replace_manifests(root, gomod, context)
    if install and (packages := _imported_modules_packages(root, gomod, has_sum=has_sum)):
        # -mod=mod: without go.sum, the checksums of what is compiled are recorded first.
        mod = "" if has_sum and not dropped else " -mod=mod"
        install += f" && CGO_ENABLED=0 go build{mod} {' '.join(packages)}"
    if dropped:
        # A replace by a folder outside the service root (a plugin's `=> ../..` in a
        # monorepo) points out of the build context: the module's published version, the one
        # go.mod requires, is built instead. go.sum has no checksum of a replaced module, so
        # the go commands may record it (-mod=mod).
        edit = "go mod edit " + " ".join(f"-dropreplace={spec}" for spec in dropped) + " && export GOFLAGS=-mod=mod"
        install = f"{edit} && {install}" if install else None
        build = f"{edit} && {build}"
        notes.append(
            "go.mod replaces " + ", ".join(dropped) + " with folders outside the service root (the build "
            "context): their published versions are built instead"
        )
    return Toolchain(
        language="go",
        language_version=version,
        version_source=source,
        package_manager="go",
        manifests=manifests,
        install_command=install,
        build_command=build,
        artifact=BINARY,
        start_command=[BINARY],
        default_port=8080,
        base_image=image(version),
        facts={"main_package": package, "requires": "yes" if has_requires else "no", **facts},
        notes=notes,
    )
