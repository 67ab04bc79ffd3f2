"""mask_build: a masked tree of a compiled language must still compile, checked in Docker.

Masking keeps a tree that re-parses (stages/mask.py), but a compiler can still refuse it
(an import or local left unused, a value of the wrong type). The gate would find out only
at the no-op's build, with a `build_error` deep in its log; here the mask stage finds out
at once and says why: `mask_failed` with the compiler's first error.

The masked tree is built with the service's own Dockerfile, which is how the compiler
runs on untrusted code (build scripts, proc macros and Maven plugins run code) inside a
container and never on the host, and how it reuses the dependency layers the original's
build left. The image is labelled with the run, so it stays until generate() ends: the
gate's no-op build of the same tree finds its layers in the cache.

Only a language whose `Language.compile_error` says what its compiler's errors look like
is built (an interpreted language's image build compiles nothing). A build that fails
without such an error (a registry that did not answer, a flaky step) is left to the gate,
which builds the tree again and judges it; a machine fault is `infra_error`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.languages import get_language, has_language
from pipeline.models import EnvSpec, RepoSnapshot, StageError, Verdict
from pipeline.run import Run
from pipeline.runtime import sandbox
from pipeline.stages.bring_up import image_tag
from pipeline.stages.environment import build_paths

STAGE_VERSION = "1"
#: Colour codes some compilers and the daemon put in a step's output.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class MaskBuild(BaseModel):
    """What building a masked tree showed."""

    built: bool = Field(description="the masked tree was built (False: skipped, see reason)")
    seconds: float = 0.0
    reason: str = ""


def first_compile_error(build_log: str, pattern: str) -> str | None:
    """The compiler's first error in a failed build's last step, as one line, else None."""
    output = _ANSI.sub("", sandbox.failed_step_output(build_log))
    match = re.search(pattern, output, flags=re.MULTILINE)
    if match is None:
        return None
    return " ".join(line.strip() for line in match.group(0).splitlines())[:300]


def check(run: Run, snapshot: RepoSnapshot, tree: Path, env: EnvSpec, group: str) -> MaskBuild:
    """Build the masked `tree` (a copy of the repository, `group` masked) with the service's
    Dockerfile; StageError(mask_failed) with the compiler's first error when it does not compile."""
    pattern = get_language(env.language).compile_error if has_language(env.language) else None
    if pattern is None:
        return MaskBuild(built=False, reason=f"{env.language} compiles nothing at build time")
    context, dockerfile = build_paths(env, tree)
    if not (context / dockerfile).is_file():
        return MaskBuild(built=False, reason=f"no {dockerfile} in the masked tree")
    tag = image_tag(snapshot, run, "-masked-" + (re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-") or "group"))
    started = time.monotonic()
    built = sandbox.build_image(
        context,
        tag,
        labels={sandbox.RUN_LABEL: run.run_id},
        timeout=run.settings.limits.build_timeout,
        dockerfile=dockerfile,
        keep_dependencies=True,
    )
    seconds = round(time.monotonic() - started, 3)
    if built.ok:
        return MaskBuild(built=True, seconds=seconds)
    if built.infra_reason:
        raise StageError(Verdict.infra_error, f"building the masked tree: {built.infra_reason}", stage="mask")
    error = first_compile_error(built.log, pattern)
    if error is None:
        return MaskBuild(
            built=False, seconds=seconds, reason="the build failed without a compiler error: left to the gate"
        )
    raise StageError(Verdict.mask_failed, f"the masked tree does not compile: {error}", stage="mask")
