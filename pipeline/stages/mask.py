"""mask: remove the group's logic, keep its routing; the original becomes the solution.

Each handler body is replaced by the framework's "not implemented" answer (HTTP 501), so
the service still starts and routes while the behaviour tests fail. The solution is the
git patch from the masked tree back to the original.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pipeline.frameworks import get_framework
from pipeline.gitutil import patch_back_to_head
from pipeline.models import ApiGroup, Handler, MaskResult, StageError, Verdict

STAGE_VERSION = "1"


def mask_group(tree: Path, group: ApiGroup, framework_name: str) -> MaskResult:
    """Mask every handler of the group in `tree` (a git work tree at the original)."""
    framework = get_framework(framework_name)
    handlers: dict[str, dict[tuple[int, int], Handler]] = defaultdict(dict)
    for endpoint in group.endpoints:
        h = endpoint.handler
        handlers[h.file][(h.body_start_byte, h.body_end_byte)] = h
    masked: list[str] = []
    for rel, by_range in sorted(handlers.items()):
        path = tree / rel
        source = path.read_bytes()
        original = source
        # From the end of the file backwards, so earlier byte offsets stay valid.
        for handler in sorted(by_range.values(), key=lambda h: h.body_start_byte, reverse=True):
            try:
                source = framework.mask_body(source, handler)
            except ValueError as exc:
                raise StageError(Verdict.mask_failed, f"{rel}:{handler.name}: {exc}", stage="mask") from exc
            masked.append(f"{rel}:{handler.name}")
        if source == original:
            raise StageError(Verdict.mask_failed, f"masking changed nothing in {rel}", stage="mask")
        path.write_bytes(source)
    return MaskResult(masked_symbols=sorted(masked), solution_patch=patch_back_to_head(tree))
