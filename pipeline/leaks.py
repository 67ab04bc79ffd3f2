"""Solution leaks: does a text (an instruction, a test file) carry the code the mask removed?

One check shared by the verify gate (agent-written instructions and tests), the package
stage and `abc-pipeline lint`. The solution is the patch from the masked tree back to the
original; its added lines are the removed logic. A line of that logic counts when it is
long enough to be code rather than a word (a bare `return x` or `}` says nothing) and is
not also in the masked tree (signatures and routing stay visible on purpose).
"""

from __future__ import annotations

import re

# Shorter lines are too generic to prove anything ("return None", "pass", "end").
MIN_LEAK_CHARS = 24
_CODE_MARK = re.compile(r"[(){}\[\];=.:>]")


def _normal(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def solution_lines(solution_patch: str) -> list[str]:
    """The code lines the solution adds back and the masked tree does not already have."""
    added: list[str] = []
    kept: set[str] = set()
    for raw in solution_patch.splitlines():
        if raw.startswith(("+++", "---")):
            continue
        if raw.startswith("+"):
            added.append(_normal(raw[1:]))
        elif raw.startswith(("-", " ")):
            kept.add(_normal(raw[1:]))
    lines = []
    for line in added:
        if len(line) >= MIN_LEAK_CHARS and _CODE_MARK.search(line) and line not in kept and line not in lines:
            lines.append(line)
    return lines


def find_leaks(text: str, solution_patch: str) -> list[str]:
    """The solution lines that appear in `text` (whitespace-insensitive), in patch order."""
    haystack = _normal(text)
    return [line for line in solution_lines(solution_patch) if line in haystack]
