"""The mask stage's compile check (stages/mask_build.py), without Docker: which languages
are built, and the compiler's first error read out of a failed build's log.

The build itself runs in test_gate_rejects.py (gate_mask_uncompiled ends `mask_failed`
with go build's error) and on every verified Go task of test_buildable_fixtures.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.languages import LANGUAGES, get_language
from pipeline.models import EnvSpec, RepoSnapshot
from pipeline.run import Run
from pipeline.stages import mask_build


def _log(step_output: str) -> str:
    """A legacy-builder log whose last step (the one that failed) printed `step_output`."""
    return (
        "Step 1/4 : FROM base\n ---> 1234567890ab\n"
        "Step 2/4 : RUN fetch dependencies\n ---> Using cache\n ---> 2234567890ab\n"
        "Step 3/4 : COPY . .\n ---> 3234567890ab\n"
        f"Step 4/4 : RUN build\n ---> Running in 4234567890ab\n{step_output}"
        "The command '/bin/sh -c build' returned a non-zero code: 1\n"
    )


CASES = {
    "go": (
        '# example.com/words\n./words.go:10:2: \x1b[1m"strings" imported and not used\x1b[0m\n'
        "./words.go:14:9: undefined: ToUpper\n",
        './words.go:10:2: "strings" imported and not used',
    ),
    "java": (
        "[INFO] Compiling 12 source files\n[ERROR] COMPILATION ERROR :\n"
        "[ERROR] /app/src/main/java/com/example/A.java:[21,16] incompatible types: int cannot be converted"
        " to java.lang.String\n[ERROR] /app/src/main/java/com/example/B.java:[3,1] cannot find symbol\n",
        "[ERROR] /app/src/main/java/com/example/A.java:[21,16] incompatible types: int cannot be converted"
        " to java.lang.String",
    ),
    "rust": (
        "   Compiling notes v0.1.0 (/app)\nerror[E0308]: mismatched types\n  --> src/handlers.rs:12:5\n"
        "   |\n12 |     unimplemented!()\nerror: could not compile `notes` due to previous error\n",
        "error[E0308]: mismatched types --> src/handlers.rs:12:5",
    ),
    "csharp": (
        "  Determining projects to restore...\n"
        "/app/Controllers/Todo.cs(14,20): error CS0029: Cannot implicitly convert type 'int' to"
        " 'string' [/app/Todo.csproj]\n",
        "/app/Controllers/Todo.cs(14,20): error CS0029: Cannot implicitly convert type 'int' to"
        " 'string' [/app/Todo.csproj]",
    ),
}


@pytest.mark.parametrize("language", sorted(CASES))
def test_the_compilers_first_error_is_read_from_the_failed_step(language):
    output, first = CASES[language]
    assert mask_build.first_compile_error(_log(output), get_language(language).compile_error or "") == first


@pytest.mark.parametrize("language", sorted(CASES))
def test_a_build_that_fails_otherwise_is_no_compile_error(language):
    # A registry that did not answer, in the last step, is not the mask's fault: left to the gate.
    output = "go: downloading example.com/x v1.0.0\nerror: failed to download from `https://index.crates.io`\n"
    assert mask_build.first_compile_error(_log(output), get_language(language).compile_error or "") is None


def test_only_the_languages_whose_image_build_compiles_are_built():
    assert sorted(lang.name for lang in LANGUAGES if lang.compile_error) == sorted(CASES)


def test_an_interpreted_language_is_not_built(tmp_path: Path):
    env = EnvSpec(
        service_root=".",
        language="python",
        framework="flask",
        base_image="python:3.11-slim-bookworm",
        dockerfile="FROM python\n",
        port=8000,
        start_command=["python", "app.py"],
    )
    snapshot = RepoSnapshot(path=tmp_path, commit="c", origin=str(tmp_path), owner="o", name="n")
    result = mask_build.check(Run(Settings(work_dir=tmp_path / "work")), snapshot, tmp_path, env, "items")
    assert (result.built, result.reason) == (False, "python compiles nothing at build time")
