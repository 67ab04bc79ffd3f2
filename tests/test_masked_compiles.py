"""Masked code is compiled, not only parsed: the Go, Java and Rust fixtures with the host toolchain.

A masked handler must answer 501 while the service still builds and starts, and a tree
that re-parses can still fail to compile (an unused import or local in Go, a value of the
wrong type for Rust's or javac's checker, a name a macro took). So every group of every
compiled-language fixture is masked the way the pipeline does it (explore, then
stages/mask.py's mask_group on a fresh git copy) and the masked tree is compiled:

- Go: `go build ./...` and `go vet ./...` (modules through the Go proxy, `-mod=mod`);
- Java: `mvn -B -q compile` (dependencies from Maven Central into ~/.m2);
- Rust: `cargo check`, with CARGO_TARGET_DIR under ~/.cache/abc-pipeline-test so that
  repeated runs only re-check the fixture's own crate.

The unmasked fixture is compiled first: a masked tree that fails to build only means
something if the original builds. The lock files that first build writes (go.sum,
Cargo.lock) are copied into every masked tree, so all trees build against the same
dependencies and nothing is resolved twice.

A missing toolchain skips these tests with the reason, but fails them when CI is set:
a CI run that silently skips every compile proves nothing (the rule of conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import _in_ci

from pipeline.config import Settings
from pipeline.gitutil import commit_all
from pipeline.models import ApiGroup, CannedAnswer, Inventory, RepoSnapshot, StageError
from pipeline.stages.explore import explore
from pipeline.stages.mask import mask_group

pytestmark = pytest.mark.toolchain

FIXTURES = Path(__file__).parent / "fixtures"
#: Kept between runs, so a warm run re-checks only the fixtures' own code; ABC_TEST_CACHE moves it.
CACHE = Path(
    os.environ.get("ABC_TEST_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "abc-pipeline-test"
)
#: A compiler that hangs (a stuck download) must not hold the suite for ever.
TIMEOUT = 600
#: Lines of compiler output kept in a failure message, per tree.
TAIL = 40


@dataclass(frozen=True)
class Toolchain:
    """How one language's trees are compiled on the host."""

    language: str
    #: executables that must be on PATH
    tools: tuple[str, ...]
    #: the commands to run in a tree, in order; the first that fails fails the tree
    commands: tuple[tuple[str, ...], ...]
    #: environment on top of os.environ
    env: Callable[[], dict[str, str]]
    #: build output a masked copy must not carry over (stale classes could hide an error)
    outputs: tuple[str, ...] = ()


def _go_env() -> dict[str, str]:
    # -mod=mod: the fixtures ship go.mod without go.sum; the first build writes it.
    # -trimpath: the build cache then keys the fixtures' packages by content, not by the
    # (fresh) tmp folder, so a warm run links from cache. GOTOOLCHAIN=local: never fetch
    # another Go because a go.mod names a newer one; the host's own must do.
    flags = os.environ.get("GOFLAGS", "").split()
    flags += [f for f in ("-mod=mod", "-trimpath", "-buildvcs=false") if f not in flags]
    return {"GOFLAGS": " ".join(flags), "GOTOOLCHAIN": "local"}


def _cargo_env() -> dict[str, str]:
    return {"CARGO_TARGET_DIR": str(CACHE / "cargo-target"), "CARGO_TERM_COLOR": "never"}


TOOLCHAINS = {
    "go": Toolchain(
        "go",
        tools=("go",),
        commands=(("go", "build", "-o", os.devnull, "./..."), ("go", "vet", "./...")),
        env=_go_env,
    ),
    "java": Toolchain(
        "java",
        tools=("mvn", "javac"),
        commands=(("mvn", "-B", "-q", "-Dstyle.color=never", "compile"),),
        # Maven's JVM start-up is most of a small compile; the quick JIT tier halves it.
        env=lambda: {"MAVEN_OPTS": os.environ.get("MAVEN_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")},
        outputs=("target",),
    ),
    "rust": Toolchain("rust", tools=("cargo",), commands=(("cargo", "check", "--quiet"),), env=_cargo_env),
}

#: fixture -> language; every Go, Java and Rust fixture (the frameworks come from explore).
COMPILED = {
    "gin_library": "go",
    "echo_tasks": "go",
    "chi_blog": "go",
    "gorillamux_notes": "go",
    "httptreemux_maps": "go",
    "nethttp_inventory": "go",
    "nethttp_notes": "go",
    "chi_cobra_tiles": "go",
    "gin_urfave_journal": "go",
    "spring_store": "java",
    # Gradle: compiled as the pom the pipeline translates its build.gradle to (see _compile)
    "spring_gradle_notes": "java",
    # Gradle, several projects and a version catalog: compiled as the translated reactor
    "spring_gradle_reactor": "java",
    # Maven, two apps in one aggregator: each app's masked tree compiles with the other
    "spring_two_apps": "java",
    "axum_bookmarks": "rust",
    "actix_library": "rust",
    "gate_mask_uncompiled": "go",
    # GOPATH era: no go.mod (one is made for each compile, then removed: see _compile)
    "goji_gopath_jobs": "go",
}
#: Fixtures whose masked trees must not compile, and the compiler's error that says why
#: (the mask stage's own build check is tested on them: test_gate_rejects.py).
MASK_DOES_NOT_COMPILE = {"gate_mask_uncompiled": "imported and not used"}


#: A manifest at a fixture's root that makes it a compiled-language fixture.
MANIFESTS = {
    "go.mod": "go",
    "pom.xml": "java",
    "build.gradle": "java",
    "build.gradle.kts": "java",
    "Cargo.toml": "rust",
}


def test_every_compiled_language_fixture_is_listed() -> None:
    # A new Go, Java or Rust fixture is compiled too, not forgotten.
    found = {
        manifest.parent.name: language
        for name, language in MANIFESTS.items()
        for manifest in FIXTURES.glob(f"*/{name}")
    }
    # A Go fixture from before modules has Go source and no manifest at all.
    found |= {source.parent.name: "go" for source in FIXTURES.glob("*/*.go") if not (source.parent / "go.mod").exists()}
    assert found == COMPILED


def _require(toolchain: Toolchain) -> None:
    missing = [tool for tool in toolchain.tools if shutil.which(tool) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not on PATH: the {toolchain.language} fixtures cannot be compiled"
    if _in_ci():
        pytest.fail(f"CI is set and {message}", pytrace=False)
    pytest.skip(message)


def _compile(toolchain: Toolchain, tree: Path, *, first_only: bool = False) -> str | None:
    """None when every command succeeds in `tree`, else the failing command and its output's tail."""
    env = {**os.environ, **toolchain.env()}
    made = {"go": _gopath_module_file, "java": _translated_pom}.get(toolchain.language, lambda _: [])(tree)
    try:
        for command in toolchain.commands[:1] if first_only else toolchain.commands:
            try:
                done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                return f"$ {' '.join(command)}\ntimed out after {TIMEOUT} s"
            if done.returncode != 0:
                lines = (done.stdout + done.stderr).strip().splitlines()
                return f"$ {' '.join(command)}  (exit {done.returncode})\n" + "\n".join(lines[-TAIL:])
        return None
    finally:
        # The tree stays GOPATH-era (or Gradle's): explore and the masking must see it as the
        # pipeline does.
        for path in made:
            path.unlink(missing_ok=True)


def _gopath_module_file(tree: Path) -> list[Path]:
    """A Go tree without go.mod compiles in module mode as the module the pipeline names it
    (`go mod init` in its Dockerfile); the files that makes, to remove afterwards."""
    if (tree / "go.mod").exists():
        return []
    from pipeline.languages.go.project import load_go_mod

    (tree / "go.mod").write_text(f"module {load_go_mod(tree).module}\n\ngo 1.22\n")
    return [tree / "go.mod", tree / "go.sum"]


def _translated_pom(tree: Path) -> list[Path]:
    """A Gradle tree compiles with Maven as the pom the pipeline translates its build to
    (where Gradle's distributions are out of reach, that pom is what its image builds)."""
    if (tree / "pom.xml").exists() or not any((tree / n).exists() for n in ("build.gradle", "build.gradle.kts")):
        return []
    from pipeline.languages import get_framework
    from pipeline.languages.java import gradle_to_maven, toolchain

    (service,) = get_framework("spring").detect(tree)
    module = toolchain._entry_module(tree, service.entrypoint, ("build.gradle", "build.gradle.kts"))
    files, why = gradle_to_maven.translate_files(tree, module)
    assert files is not None, why
    # The top one as pom.xml, so `mvn compile` finds it; a reactor's modules keep their names.
    made = []
    for name, text in files.items():
        path = tree / ("pom.xml" if name == gradle_to_maven.POM_NAME else name)
        path.write_text(text)
        made.append(path)
    return made


def _copy(source: Path, target: Path, toolchain: Toolchain) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    # Fresh modification times (shutil.copy, not copy2): cargo and javac decide what is
    # stale by mtime, and a file restored from the original must not look older than
    # the previous group's build in the same folder.
    shutil.copytree(
        source, target, symlinks=True, ignore=shutil.ignore_patterns(*toolchain.outputs), copy_function=shutil.copy
    )
    return target


@dataclass
class Original:
    """A fixture copied, compiled as it is, and committed (mask_group diffs against HEAD)."""

    tree: Path
    toolchain: Toolchain
    inventory: Inventory
    error: str | None


_ORIGINALS: dict[str, Original] = {}


def _original(fixture: str, tmp_path_factory: pytest.TempPathFactory) -> Original:
    """The fixture's compiled original, made once per session (both tests below need it)."""
    if fixture not in _ORIGINALS:
        toolchain = TOOLCHAINS[COMPILED[fixture]]
        _require(toolchain)
        tree = _copy(FIXTURES / fixture, tmp_path_factory.mktemp("compiled") / fixture, toolchain)
        error = _compile(toolchain, tree)
        for output in toolchain.outputs:
            shutil.rmtree(tree / output, ignore_errors=True)
        commit_all(tree, "original")
        snapshot = RepoSnapshot(path=tree, commit="test", origin=str(tree), owner="local", name=fixture)
        _ORIGINALS[fixture] = Original(tree, toolchain, explore(snapshot, Settings()), error)
    original = _ORIGINALS[fixture]
    _require(original.toolchain)
    return original


@pytest.mark.parametrize("fixture", sorted(COMPILED))
def test_the_unmasked_fixture_compiles(fixture: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    original = _original(fixture, tmp_path_factory)
    assert original.error is None, f"{fixture} does not compile as it is:\n{original.error}"
    languages = {s.language for s in original.inventory.services}
    assert languages == {original.toolchain.language}, languages


def _mask_and_compile(
    original: Original, group: ApiGroup, tree: Path, answers: dict[str, CannedAnswer] | None = None
) -> str | None:
    """None when the group's masked tree (or stand-in, with `answers`) compiles, else why
    not (a mask that fails is a failure too)."""
    _copy(original.tree, tree, original.toolchain)
    framework = next(s.framework for s in original.inventory.services if s.root == group.service_root)
    try:
        result = mask_group(tree, group, framework, answers)
    except StageError as exc:
        return f"mask_group failed: {exc.verdict}: {exc.reason}"
    if not result.masked_symbols or not result.solution_patch.strip():
        return f"mask_group masked nothing: {result.masked_symbols}"
    # A stand-in is compiled only (no `go vet`): the checks beyond the compiler are the mask's.
    return _compile(original.toolchain, tree, first_only=answers is not None)


@pytest.mark.parametrize("fixture", sorted(COMPILED))
def test_every_masked_group_compiles(fixture: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    original = _original(fixture, tmp_path_factory)
    if original.error is not None:
        pytest.fail(f"{fixture} does not compile unmasked, so its masked trees prove nothing", pytrace=False)
    assert original.inventory.groups, fixture
    # One folder for all the groups, rewritten each time: the compilers' caches then see
    # the same paths, and only what the masking changed is compiled again.
    tree = tmp_path_factory.mktemp("masked") / fixture
    failures = {}
    for group in original.inventory.groups:
        error = _mask_and_compile(original, group, tree)
        if error is not None:
            failures[group.name] = error
    if fixture in MASK_DOES_NOT_COMPILE:
        assert failures and all(MASK_DOES_NOT_COMPILE[fixture] in text for text in failures.values()), failures
        return
    # Every group is tried before failing, so one run shows every masking bug at once.
    if failures:
        report = "\n\n".join(f"group {name!r} of {fixture}, masked:\n{text}" for name, text in failures.items())
        pytest.fail(report, pytrace=False)


#: The strength gate's three kinds of canned answer, dealt round a group's endpoints so
#: one compile per group covers them all; the body holds what breaks string literals.
CANNED = (
    CannedAnswer(status=207, json_body={"q": 'it\'s "x" \\ {p} {body} %s', "n": [1, None], "name": "Zoë"}),
    CannedAnswer(status=204),
    CannedAnswer(status=201, echo=True),
)


# (A fixture whose mask does not compile on purpose has no stand-in that could.)
@pytest.mark.parametrize("fixture", sorted(set(COMPILED) - set(MASK_DOES_NOT_COMPILE)))
def test_every_stand_in_compiles(fixture: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    # A stand-in replaces the span the 501 mask replaces: it must build wherever the mask does.
    original = _original(fixture, tmp_path_factory)
    if original.error is not None:
        pytest.fail(f"{fixture} does not compile unmasked, so its stand-ins prove nothing", pytrace=False)
    tree = tmp_path_factory.mktemp("stand-in") / fixture
    failures = {}
    for index, group in enumerate(original.inventory.groups):
        # Dealt by handler (a handler serving several endpoints answers its first one's),
        # starting one further each group, so single-handler groups get every kind too.
        handlers = list(dict.fromkeys((e.handler.file, e.handler.body_start_byte) for e in group.endpoints))
        answers = {
            e.key: CANNED[(handlers.index((e.handler.file, e.handler.body_start_byte)) + index) % len(CANNED)]
            for e in group.endpoints
        }
        error = _mask_and_compile(original, group, tree, answers)
        if error is not None:
            failures[group.name] = error
    if failures:
        report = "\n\n".join(f"group {name!r} of {fixture}, stand-in:\n{text}" for name, text in failures.items())
        pytest.fail(report, pytrace=False)
