"""The manifest's line and the mining run's inputs and outcome."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class MineQuery(BaseModel):
    """What to look for. The search API narrows; every condition is checked again locally."""

    language: str | None = Field(default=None, description="GitHub's language name, e.g. Python")
    min_stars: int = Field(default=0, description="fewest stars a candidate may have")
    pushed_after: dt.date | None = Field(default=None, description="last push on or after this day")
    max_size_kb: int | None = Field(default=50_000, description="largest repository size the API reports, in KiB")
    license: str = Field(default="MIT", description="SPDX id a candidate must carry (API field and LICENSE file)")
    limit: int = Field(default=100, description="stop after this many accepted candidates")

    def search_string(self) -> str:
        # Forks are left out of repository search by default, and there is no documented
        # qualifier for templates (an unknown one would be searched as text): both are
        # rejected locally, like everything the qualifiers already narrow.
        parts = ["is:public", "archived:false", f"license:{self.license.lower()}"]
        if self.language:
            parts.append(f"language:{self.language}")
        if self.min_stars:
            parts.append(f"stars:>={self.min_stars}")
        if self.pushed_after:
            parts.append(f"pushed:>={self.pushed_after.isoformat()}")
        if self.max_size_kb is not None:
            parts.append(f"size:<={self.max_size_kb}")
        return " ".join(parts)


class Candidate(BaseModel):
    """One manifest line: a repository and the decision about it."""

    full_name: str
    clone_url: str
    default_branch: str
    commit: str | None = Field(default=None, description="head of the default branch when mined")
    tree: str | None = Field(default=None, description="tree SHA of that commit (finds identical copies)")
    license: str | None = Field(default=None, description="SPDX id, from the LICENSE file when it was read")
    language: str | None = None
    framework_hints: list[str] = Field(default_factory=list, description="frameworks named by manifest dependencies")
    stars: int = 0
    size_kb: int = 0
    decision: Literal["accepted", "rejected"]
    reason: str

    @property
    def source(self) -> str:
        """What acquire takes: the clone URL pinned to the mined commit (`URL#SHA`)."""
        return f"{self.clone_url}#{self.commit}" if self.commit else self.clone_url


class MineCursor(BaseModel):
    """Where a mining run stopped at a rate limit; the same command resumes from here."""

    query: str
    next_page: int
    reset_at: dt.datetime | None = None


class MineReport(BaseModel):
    query: str
    manifest: Path
    accepted: int
    rejected: int
    pages: int = Field(description="search pages read in this run")
    complete: bool = Field(description="False when a rate limit stopped the run early (see cursor)")
    cursor: MineCursor | None = None


def read_manifest(path: Path) -> list[Candidate]:
    if not path.is_file():
        return []
    return [Candidate.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]
