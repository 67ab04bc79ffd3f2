"""Go: the go.mod `go` directive picks the image; requires and go.sum decide the download step."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.languages.toolchain import Toolchain, existing, parse_version, read_text, source_files

STAND_IN = "1.19"
# golang:<x.y>-bookworm tags exist from 1.20 on (bookworm came out with Go 1.20); the
# directive is a minimum, so anything older builds with the stand-in.
FIRST_BOOKWORM = (1, 20)
BINARY = "/app/server"


def image(version: str) -> str:
    return f"golang:{version}-bookworm"


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


def detect(root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
    gomod = read_text(root / "go.mod")
    notes: list[str] = []
    directive = re.search(r"^go\s+(\d+\.\d+)(?:\.\d+)?\s*$", gomod, re.MULTILINE)
    wanted = directive.group(1) if directive else None
    version = STAND_IN
    if wanted and parse_version(wanted) >= FIRST_BOOKWORM:
        version = wanted
    if offline and version != STAND_IN:
        notes.append(f"go.mod asks for go {wanted}; offline, the stand-in go {STAND_IN} is used")
        version = STAND_IN
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
        # Without go.sum the module graph is resolved from the source: tidy writes go.sum.
        build = f"go mod tidy && {build}"
        notes.append("go.mod has requires but no go.sum: `go mod tidy` runs with the source (no layer cache)")
    return Toolchain(
        language="go",
        language_version=version,
        version_source="go.mod go directive" if wanted else None,
        package_manager="go",
        manifests=existing(root, ["go.mod", "go.sum"]) if not vendored else [],
        install_command=install,
        build_command=build,
        artifact=BINARY,
        start_command=[BINARY],
        default_port=8080,
        base_image=image(version),
        facts={"main_package": package, "requires": "yes" if has_requires else "no"},
        notes=notes,
    )
