"""build_context: the folder a service is built from.

The service root by default. When the service's code or manifests name files above it (its
language says which: `Language.outside_paths`), the smallest folder holding the service
root and all of them, never more: a sibling two levels up makes the grandparent the
context, not the repository. A path outside the repository cannot be in any context: it is
noted and left to the build (which may then fail, or build a published version instead).

The synthesized Dockerfile stays at the service root and works there (WORKDIR); it copies
the context, and says which folder that is in its own text (CONTEXT_MARK), so every build
of it (the pipeline's, a task's run-tests.sh, a harness's) takes the same folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from pipeline.languages import get_language, has_language
from pipeline.languages.reach import Reach

#: The Dockerfile line naming its build context, relative to the Dockerfile's own folder.
#: run-tests.sh reads it (templates/task/run-tests.sh.j2): keep the two in step.
CONTEXT_MARK = "# abc-pipeline build context:"
_MARK_LINE = re.compile(rf"^{re.escape(CONTEXT_MARK)}\s*(\S+)\s*$", re.MULTILINE)


class BuildContext(BaseModel):
    """Where a service is built from, relative to the repository root."""

    root: str = Field(description="the context folder, relative to the repository ('.' for the top)")
    service_dir: str = Field(description="the service root relative to the context ('.' when they are one)")
    reaches: list[Reach] = Field(default_factory=list, description="what made it wider than the service root")

    @property
    def wider(self) -> bool:
        return self.service_dir != "."

    def reasons(self, most: int = 3) -> str:
        """What made it wider, in words (the first few)."""
        said = "; ".join(r.reason for r in self.reaches[:most])
        return said + (f"; {len(self.reaches) - most} more" if len(self.reaches) > most else "")

    @property
    def from_dockerfile(self) -> str:
        """The context relative to the service root, as CONTEXT_MARK names it (`../..`)."""
        return "/".join([".."] * len(PurePosixPath(self.service_dir).parts)) or "."


def _posix(path: str) -> str:
    return PurePosixPath(os.path.normpath(path)).as_posix()


def common_root(service_root: str, reaches: list[Reach]) -> str:
    """The smallest folder (relative to the repository) holding the service root and each reach."""
    folders = [_posix(service_root), *(_posix(r.path) for r in reaches)]
    parts = [[] if f == "." else f.split("/") for f in folders]
    shared: list[str] = []
    for names in zip(*parts, strict=False):
        if len(set(names)) != 1:
            break
        shared.append(names[0])
    # zip stops at the shortest: a reach that is an ancestor of the service root is the context.
    return "/".join(shared) or "."


def choose(repo_root: Path, service_root: str, language: str) -> BuildContext:
    """The build context of the service at `service_root` (its language names what it reaches)."""
    service_root = _posix(service_root)
    if not has_language(language):
        return BuildContext(root=service_root, service_dir=".")
    reaches = get_language(language).outside_paths(repo_root / service_root, repo_root)
    if not reaches:
        return BuildContext(root=service_root, service_dir=".")
    root = common_root(service_root, reaches)
    service_dir = _posix(os.path.relpath(service_root, root)) if root != "." else service_root
    return BuildContext(root=root, service_dir=service_dir, reaches=reaches)


def marked_context(dockerfile: str) -> str | None:
    """The context a Dockerfile names with CONTEXT_MARK (relative to its folder), or None."""
    match = _MARK_LINE.search(dockerfile)
    return match.group(1) if match else None


def with_mark(dockerfile: str, context: BuildContext) -> str:
    """The Dockerfile with its CONTEXT_MARK line right after the header comments."""
    lines = dockerfile.splitlines()
    at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    note = f"{CONTEXT_MARK} {context.from_dockerfile}"
    return "\n".join([*lines[:at], note, *lines[at:]]) + "\n"


def for_instruction(environment: dict) -> dict[str, str] | None:
    """What the environment variant's instruction says about a wider context (its template's
    `build_context`), from a task's metadata `environment`; None when there is none."""
    data = environment.get("build_context") if environment.get("dockerfile_source") != "repository" else None
    if not isinstance(data, dict):
        return None
    context = BuildContext.model_validate(data)
    if not context.wider:
        return None
    return {"root": context.root, "from_dockerfile": context.from_dockerfile, "reasons": context.reasons()}
