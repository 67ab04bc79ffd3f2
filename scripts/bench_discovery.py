"""Discovery benchmark: precision and recall per framework, and exploration speed.

    uv run python scripts/bench_discovery.py [--files 5000] [--min 0.95] [--json OUT]

1. Every fixture in tests/fixtures with a ground_truth.json is explored with the real
   explore stage; its endpoints are compared with the hand-written ground truth on
   (method, normalized path). The fixture's framework is its folder's prefix
   (`gin_library` -> gin) unless a ground-truth entry names one (monorepo fixtures).
2. A synthetic repository of --files files (every fixture copied in as a service, plus
   ordinary source files of every language as filler) is explored on ONE core, to check
   the 5,000-files-in-under-10-s budget.

Numbers only; it never fails a build unless --min is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Settings  # noqa: E402
from pipeline.languages import FRAMEWORKS  # noqa: E402
from pipeline.models import Endpoint, RepoSnapshot, StageError, normalize_path  # noqa: E402
from pipeline.stages.explore import explore  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
KNOWN = {f.name for f in FRAMEWORKS}


@dataclass
class Score:
    fixtures: list[str] = field(default_factory=list)
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    handler_right: int = 0
    handler_checked: int = 0
    files: int = 0
    seconds: float = 0.0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 0.0

    @property
    def recall(self) -> float:
        expected = self.true_positive + self.false_negative
        return self.true_positive / expected if expected else 0.0


def _framework_of(fixture: Path) -> str | None:
    prefix = fixture.name.split("_", 1)[0]
    return prefix if prefix in KNOWN else None


def _snapshot(path: Path) -> RepoSnapshot:
    return RepoSnapshot(path=path, commit="bench", origin=str(path), owner="bench", name=path.name)


def _count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def score_fixtures(settings: Settings) -> dict[str, Score]:
    scores: dict[str, Score] = defaultdict(Score)
    for fixture in sorted(p for p in FIXTURES.iterdir() if (p / "ground_truth.json").is_file()):
        truth = json.loads((fixture / "ground_truth.json").read_text())
        default = _framework_of(fixture)
        start = time.perf_counter()
        try:
            inventory = explore(_snapshot(fixture), settings)
            found: list[tuple[str, Endpoint]] = [(s.framework, e) for s in inventory.services for e in s.endpoints]
        except StageError:
            found = []
        seconds = time.perf_counter() - start
        expected: dict[str, dict[tuple[str, str], str | None]] = defaultdict(dict)
        for item in truth:
            name = item.get("framework", default) or "unknown"
            expected[name][(item["method"].upper(), normalize_path(item["path"]))] = item.get("handler")
        got: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
        for name, endpoint in found:
            got[name][(endpoint.method, endpoint.normalized_path)] = endpoint.handler.name
        for name in sorted(set(expected) | set(got)):
            score = scores[name]
            score.fixtures.append(fixture.name)
            score.files += _count_files(fixture)
            score.seconds += seconds / max(1, len(set(expected) | set(got)))
            want, have = expected.get(name, {}), got.get(name, {})
            score.true_positive += len(want.keys() & have.keys())
            score.false_positive += len(have.keys() - want.keys())
            score.false_negative += len(want.keys() - have.keys())
            score.misses += [f"{fixture.name}: missed {m} {p}" for m, p in sorted(want.keys() - have.keys())]
            score.misses += [f"{fixture.name}: extra {m} {p}" for m, p in sorted(have.keys() - want.keys())]
            for key in want.keys() & have.keys():
                if want[key] is not None:
                    score.handler_checked += 1
                    if want[key] == have[key]:
                        score.handler_right += 1
                    else:
                        score.misses.append(f"{fixture.name}: {key[0]} {key[1]} handler {have[key]!r} != {want[key]!r}")
    return scores


#: (file header, repeated unit) per suffix: filler files of about 2-3 KB, like real modules.
_FILLER = {
    ".py": (
        "import math\n\n",
        "def helper_{i}(value):\n    total = 0\n    for x in range(value):\n        total += x * {i}\n"
        "    return total\n\n\nclass Model{i}:\n    def method(self, a, b):\n        return helper_{i}(a) + b\n\n\n",
    ),
    ".js": (
        "'use strict';\n\n",
        "function helper{i}(value) {{\n  let total = 0;\n  for (let x = 0; x < value; x++) total += x * {i};\n"
        "  return total;\n}}\nexports.helper{i} = helper{i};\n\n",
    ),
    ".go": (
        "package util\n\n",
        "func Helper{i}(value int) int {{\n\ttotal := 0\n\tfor x := 0; x < value; x++ {{\n"
        "\t\ttotal += x * {i}\n\t}}\n\treturn total\n}}\n\n",
    ),
    ".java": (
        "package util;\n\n",
        "class Helper{i} {{\n    public int compute(int value) {{\n"
        "        int total = 0;\n        for (int x = 0; x < value; x++) total += x * {i};\n"
        "        return total;\n    }}\n}}\n\n",
    ),
    ".cs": (
        "namespace Util;\n\n",
        "public class Helper{i}\n{{\n    public int Compute(int value)\n    {{\n"
        "        var total = 0;\n        for (var x = 0; x < value; x++) total += x * {i};\n"
        "        return total;\n    }}\n}}\n\n",
    ),
    ".rb": ("", "module Util{i}\n  def self.helper(value)\n    (0...value).sum {{ |x| x * {i} }}\n  end\nend\n\n"),
    ".php": (
        "<?php\n\nnamespace Util;\n\n",
        "function helper{i}(int $value): int\n{{\n    $total = 0;\n"
        "    for ($x = 0; $x < $value; $x++) {{ $total += $x * {i}; }}\n    return $total;\n}}\n\n",
    ),
    ".rs": ("", "pub fn helper_{i}(value: u64) -> u64 {{\n    (0..value).map(|x| x * {i}).sum()\n}}\n\n"),
    ".md": ("", "# Notes {i}\n\nNothing to see here.\n\n"),
}
_UNITS_PER_FILE = 12


def _filler(suffix: str, i: int) -> str:
    header, unit = _FILLER[suffix]
    return header + "".join(unit.format(i=f"{i}_{k}") for k in range(_UNITS_PER_FILE))


def build_large_repo(target: Path, files: int) -> int:
    """A repository of about `files` files: every fixture as a service plus filler code."""
    services = target / "services"
    for fixture in sorted(p for p in FIXTURES.iterdir() if (p / "ground_truth.json").is_file()):
        shutil.copytree(fixture, services / fixture.name, ignore=shutil.ignore_patterns("ground_truth.json"))
    have = _count_files(target)
    suffixes = list(_FILLER)
    for i in range(max(0, files - have)):
        suffix = suffixes[i % len(suffixes)]
        folder = target / "lib" / suffix.lstrip(".") / f"pkg{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}{suffix}").write_text(_filler(suffix, i))
    return _count_files(target)


def build_dense_repo(target: Path, files: int, fixture: str) -> int:
    """One service of `files` files: a fixture plus filler code of its own language inside it.

    The harder case for speed: every file is a candidate for the framework's parser.
    """
    shutil.copytree(FIXTURES / fixture, target, ignore=shutil.ignore_patterns("ground_truth.json"))
    suffix = {"django": ".py", "express": ".js", "gin": ".go", "spring": ".java", "aspnetcore": ".cs"}[
        fixture.split("_", 1)[0]
    ]
    have = _count_files(target)
    for i in range(max(0, files - have)):
        folder = target / "internal" / f"pkg{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}{suffix}").write_text(_filler(suffix, i))
    return _count_files(target)


#: fixtures used for the one-dense-service scenario, one per parser-heavy language
DENSE_FIXTURES = ("django_library", "express_books", "gin_library", "spring_store", "aspnetcore_catalog")


def time_large_repo(files: int, settings: Settings, dense: str | None = None) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "large"
        count = build_dense_repo(repo, files, dense) if dense else build_large_repo(repo, files)
        start = time.perf_counter()
        inventory = explore(_snapshot(repo), settings)
        seconds = time.perf_counter() - start
    endpoints = sum(len(s.endpoints) for s in inventory.services)
    return {
        "files": count,
        "seconds": round(seconds, 2),
        "files_per_second": round(count / seconds),
        "services": len(inventory.services),
        "endpoints": endpoints,
        "groups": len(inventory.groups),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=5000, help="size of the synthetic repository (0: skip)")
    parser.add_argument("--min", type=float, default=None, help="exit 1 if any precision or recall is below this")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # the budget is for one core
    settings = Settings()
    scores = score_fixtures(settings)

    header = f"{'framework':<12} {'fixtures':>8} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7} "
    header += f"{'handlers':>9} {'files/s':>8}"
    print(header)
    print("-" * len(header))
    total = Score()
    ok = True
    for name in sorted(scores):
        s = scores[name]
        handlers = f"{s.handler_right}/{s.handler_checked}"
        rate = s.files / s.seconds if s.seconds else 0
        print(
            f"{name:<12} {len(s.fixtures):>8} {s.true_positive:>4} {s.false_positive:>4} {s.false_negative:>4} "
            f"{s.precision:>9.3f} {s.recall:>7.3f} {handlers:>9} {rate:>8.0f}"
        )
        total.true_positive += s.true_positive
        total.false_positive += s.false_positive
        total.false_negative += s.false_negative
        total.handler_right += s.handler_right
        total.handler_checked += s.handler_checked
        total.files += s.files
        total.seconds += s.seconds
        if args.min is not None and min(s.precision, s.recall) < args.min:
            ok = False
    print("-" * len(header))
    print(
        f"{'overall':<12} {'':>8} {total.true_positive:>4} {total.false_positive:>4} {total.false_negative:>4} "
        f"{total.precision:>9.3f} {total.recall:>7.3f} {total.handler_right}/{total.handler_checked:<5} "
        f"{(total.files / total.seconds if total.seconds else 0):>8.0f}"
    )
    missing = sorted(KNOWN - set(scores))
    if missing:
        print(f"frameworks without a fixture: {', '.join(missing)}")
    for name in sorted(scores):
        for miss in scores[name].misses:
            print(f"  {name}: {miss}")

    large: dict[str, dict[str, float | int]] = {}
    if args.files:
        print(f"\n{'repository (one core)':<42} {'files':>6} {'seconds':>8} {'files/s':>8} {'endpoints':>9}")
        for dense in (None, *DENSE_FIXTURES):
            label = f"one service: {dense} + filler" if dense else "every fixture + mixed filler"
            numbers = time_large_repo(args.files, settings, dense)
            large[dense or "mixed"] = numbers
            print(
                f"{label:<42} {numbers['files']:>6} {numbers['seconds']:>8} {numbers['files_per_second']:>8} "
                f"{numbers['endpoints']:>9}"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "frameworks": {
                        n: {
                            "precision": s.precision,
                            "recall": s.recall,
                            "tp": s.true_positive,
                            "fp": s.false_positive,
                            "fn": s.false_negative,
                        }
                        for n, s in scores.items()
                    },
                    "overall": {"precision": total.precision, "recall": total.recall},
                    "large_repository": large,
                },
                indent=2,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
