"""Redaction benchmark: detect-secrets' own scan against the redact stage's fast one.

    .venv/bin/python scripts/bench_redaction.py [FOLDER ...] [--workers N] [--json OUT]

For tests/fixtures and every FOLDER given (read only), over the text files the redact
stage scans (redact._text_files):

- old: detect-secrets as the stage used to run it, `SecretsCollection.scan_file` per file
  under its default settings (secret_scan.plain_scan_files);
- new, one process: secret_scan.scan_files with the line prefilter only;
- new, N processes: the same with a pool of --workers processes (whatever the tree's
  size; the stage itself only starts one from secret_scan.PARALLEL_MIN_BYTES).

Each folder's text files are first copied into a temporary folder, so that all three
scan the same bytes even if something else is rewriting the folder meanwhile. Findings
are compared exactly: every (file, line, type, secret hash, value), in order. Wall and
CPU seconds (the CPU of pool processes included). Exits 1 if any differ.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detect_secrets import SecretsCollection  # noqa: E402

from pipeline.stages import secret_scan  # noqa: E402
from pipeline.stages.redact import _text_files  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(scan: Callable[[], SecretsCollection]) -> tuple[list[tuple], float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    collection = scan()
    found = [(name, s.line_number, s.type, s.secret_hash, s.secret_value) for name, s in collection]
    return found, time.perf_counter() - wall, _cpu() - cpu


def _snapshot(folder: Path, into: Path) -> Path:
    """A copy of the folder's text files (those the stage scans), under `into`."""
    source = folder.resolve()
    copy = into / source.name
    copy.mkdir()
    for path in _text_files(source):
        target = copy / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # gone meanwhile
            shutil.copy2(path, target)
    return copy


def bench(folder: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-redaction-") as tmp:
        return _bench(folder, _snapshot(folder, Path(tmp)), workers)


def _bench(folder: Path, root: Path, workers: int) -> dict:
    files = _text_files(root)
    size = sum(f.stat().st_size for f in files)
    old, old_wall, old_cpu = _timed(lambda: secret_scan.plain_scan_files(root, files))
    one, one_wall, one_cpu = _timed(lambda: secret_scan.scan_files(root, files, workers=1))
    threshold = secret_scan.PARALLEL_MIN_BYTES
    secret_scan.PARALLEL_MIN_BYTES = 0  # a pool whatever the size, to measure it
    try:
        many, many_wall, many_cpu = _timed(lambda: secret_scan.scan_files(root, files, workers=workers))
    finally:
        secret_scan.PARALLEL_MIN_BYTES = threshold
    return {
        "folder": str(folder),
        "files": len(files),
        "mb": round(size / 1e6, 1),
        "findings": len(old),
        "old_s": round(old_wall, 1),
        "old_cpu_s": round(old_cpu, 1),
        "new_1_s": round(one_wall, 1),
        "new_1_cpu_s": round(one_cpu, 1),
        "workers": workers,
        "new_n_s": round(many_wall, 1),
        "new_n_cpu_s": round(many_cpu, 1),
        "speedup_1": round(old_wall / one_wall, 1) if one_wall else None,
        "speedup_n": round(old_wall / many_wall, 1) if many_wall else None,
        "equal": old == one == many,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, help="more folders to scan (tests/fixtures always is)")
    parser.add_argument("--workers", type=int, default=max(2, secret_scan.default_workers()))
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()

    print(f"detect-secrets {secret_scan.DETECT_SECRETS_VERSION}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    head = "folder files MB findings | old s (cpu) | new 1 proc s (cpu) | new N proc s (cpu) | speedup 1/N | equal"
    print(head)
    rows = []
    for folder in [FIXTURES, *args.folders]:
        row = bench(folder, args.workers)
        rows.append(row)
        print(
            f"{row['folder']} {row['files']} {row['mb']} {row['findings']}"
            f" | {row['old_s']} ({row['old_cpu_s']})"
            f" | {row['new_1_s']} ({row['new_1_cpu_s']})"
            f" | {row['new_n_s']} ({row['new_n_cpu_s']}) N={row['workers']}"
            f" | {row['speedup_1']}x / {row['speedup_n']}x"
            f" | {'yes' if row['equal'] else 'NO'}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(row["equal"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
