"""Go: the go.mod `go` directive picks the image; requires and go.sum decide the download step."""

from __future__ import annotations

import re
from pathlib import Path

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


def _gopath_module(root: Path) -> str:
    """The module path a GOPATH-era repository's own imports use, e.g. github.com/x/todo when
    a file imports github.com/x/todo/internal/task and internal/task is a folder here;
    "app" when no import points into the repository."""
    votes: dict[str, int] = {}
    for path in source_files(root, ".go"):
        for imported in re.findall(r'"([\w.\-]+(?:/[\w.\-]+)+)"', read_text(path)):
            parts = imported.split("/")
            for cut in range(1, len(parts)):
                if (root / "/".join(parts[cut:])).is_dir():
                    module = "/".join(parts[:cut])
                    votes[module] = votes.get(module, 0) + 1
                    break
    return max(votes, key=lambda m: (votes[m], -len(m))) if votes else "app"


def _imported_modules_packages(root: Path, gomod: str) -> list[str]:
    """The packages of other modules the service's code imports (not its tests), sorted.

    The dependency layer compiles them, so a source edit recompiles only the service's own
    packages: `go mod download` alone fetches sources, and compiling a framework and its
    dependencies (gin: sonic, validator, protobuf) is most of a build's time."""
    module = re.search(r"^module\s+(\S+)", gomod, re.MULTILINE)
    own = module.group(1) if module else None
    found: set[str] = set()
    for path in source_files(root, ".go"):
        if path.name.endswith("_test.go"):
            continue
        text = read_text(path)
        for block in re.findall(r"^import\s*\((.*?)^\)", text, re.MULTILINE | re.DOTALL):
            found.update(re.findall(r'"([^"]+)"', block))
        found.update(re.findall(r'^import\s+(?:[\w.]+\s+)?"([^"]+)"', text, re.MULTILINE))
    # A path whose first element has no dot is the standard library's.
    external = (p for p in found if "." in p.split("/")[0])
    return sorted(p for p in external if not (own and (p == own or p.startswith(own + "/"))))


def detect(root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
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
    elif not gomod:
        # A GOPATH-era repository: module mode needs a go.mod, made from the source.
        # Named as its own imports name it, so packages inside the repository resolve locally.
        build = f"go mod init {_gopath_module(root)} && go mod tidy && {build}"
        notes.append("no go.mod: `go mod init` and `go mod tidy` run with the source")
    elif has_requires:
        # Without go.sum the modules go.mod requires still download from go.mod alone (and
        # their checksums are written), in the cached layer; tidy then completes go.sum
        # from the source, out of the module cache.
        install = "go mod download"
        build = f"go mod tidy && {build}"
        notes.append("go.mod has requires but no go.sum: `go mod tidy` completes it with the source")
    if install and (packages := _imported_modules_packages(root, gomod)):
        # -mod=mod: without go.sum, the checksums of what is compiled are recorded first.
        mod = "" if has_sum else " -mod=mod"
        install += f" && CGO_ENABLED=0 go build{mod} {' '.join(packages)}"
    return Toolchain(
        language="go",
        language_version=version,
        version_source=source,
        package_manager="go",
        manifests=existing(root, ["go.mod", "go.sum"]) if not vendored else [],
        install_command=install,
        build_command=build,
        artifact=BINARY,
        start_command=[BINARY],
        default_port=8080,
        base_image=image(version),
        facts={"main_package": package, "requires": "yes" if has_requires else "no", **facts},
        notes=notes,
    )
