"""mask: remove the group's logic, keep its routing; the original becomes the solution.

Each handler body is replaced by the framework's "not implemented" answer (HTTP 501), so
the service still starts and routes while the behaviour tests fail. The solution is the
git patch from the masked tree back to the original.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pipeline.gitutil import patch_back_to_head
from pipeline.languages import get_framework
from pipeline.languages.delegates import mask_plain
from pipeline.models import ApiGroup, CannedAnswer, Handler, MaskResult, StageError, Verdict

STAGE_VERSION = "2"


def mask_group(
    tree: Path, group: ApiGroup, framework_name: str, answers: dict[str, CannedAnswer] | None = None
) -> MaskResult:
    """Mask every handler of the group in `tree` (a git work tree at the original).

    The group's delegates (functions only its handlers call, found by explore) are masked
    too, with the language's plain "not implemented": otherwise the logic to write would
    still be sitting in the repository.

    `answers` (endpoint key -> canned answer) makes a stand-in instead of the mask: those
    handlers answer their canned answer (stages/stand_ins.py); the rest is masked as usual.
    """
    framework = get_framework(framework_name)
    edits: dict[str, dict[tuple[int, int], tuple[Handler, bool, CannedAnswer | None]]] = defaultdict(dict)
    for endpoint in group.endpoints:
        h = endpoint.handler
        answer = (answers or {}).get(endpoint.key)
        # A handler serving several endpoints answers the first one's canned answer.
        edits[h.file].setdefault((h.body_start_byte, h.body_end_byte), (h, True, answer))
    for d in group.delegates:
        edits[d.file].setdefault((d.body_start_byte, d.body_end_byte), (d, False, None))
    masked: list[str] = []
    for rel, by_range in sorted(edits.items()):
        path = tree / rel
        source = path.read_bytes()
        original = source
        done_start = len(source) + 1
        # From the end of the file backwards, so earlier byte offsets stay valid.
        for (start, end), (symbol, is_handler, answer) in sorted(by_range.items(), reverse=True):
            if end > done_start:
                continue  # nested in (or overlapping) a body already masked
            try:
                if not is_handler:
                    source = mask_plain(source, symbol)
                elif answer is not None:
                    source = framework.stand_in_body(source, symbol, answer)
                else:
                    source = framework.mask_body(source, symbol)
            except ValueError as exc:
                raise StageError(Verdict.mask_failed, f"{rel}:{symbol.name}: {exc}", stage="mask") from exc
            done_start = start
            masked.append(f"{rel}:{symbol.name}")
        if source == original:
            raise StageError(Verdict.mask_failed, f"masking changed nothing in {rel}", stage="mask")
        path.write_bytes(framework.finish_masked_file(rel, original, source))
    framework.finish_masked_tree(tree, sorted(edits))
    return MaskResult(masked_symbols=sorted(masked), solution_patch=patch_back_to_head(tree))
