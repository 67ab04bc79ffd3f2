"""Generate every fixture into one folder, and compare two such folders.

A refactor that should not change behaviour is checked this way: snapshot before, snapshot
after, compare. The comparison reads every file of every published task (Terminal-Bench and
Harbor layouts), each fixture's `explore --json` and `generate --json`, and ignores only what
differs from run to run (timestamps, durations, run ids, the work folder's paths).

    python scripts/fixture_tasks.py snapshot /tmp/before [--only flask_todo,express_books]
    python scripts/fixture_tasks.py compare /tmp/before /tmp/after
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# This checkout's code, whichever venv runs it (a snapshot of an older commit runs that commit).
CLI = [sys.executable, "-c", "from pipeline.cli import app; app()"]
# Keys whose values change from run to run, wherever they appear in a JSON document.
VOLATILE_KEYS = {
    "seconds",
    "duration",
    "durations",
    "created_at",
    "generated_at",
    "verified_at",
    "started_at",
    "finished_at",
    "run_id",
    "stages",
    "timestamp",
    "elapsed",
    "log_tail",
}
VOLATILE_TEXT = [
    (re.compile(r"\b[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"), "<time>"),
    (re.compile(r"\d+\.\d+ ?s\b"), "<secs>"),
]


def _scrub_json(value: object) -> object:
    if isinstance(value, dict):
        return {k: _scrub_json(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _normal(text: str, root: Path) -> str:
    text = text.replace(str(root), "<snapshot>")
    for pattern, replacement in VOLATILE_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _read(path: Path, root: Path) -> str:
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        return f"<binary {path.stat().st_size} bytes>"
    if path.suffix == ".json":
        with contextlib.suppress(ValueError):
            text = json.dumps(_scrub_json(json.loads(text)), indent=1, sort_keys=True)
    return _normal(text, root)


def snapshot(out: Path, only: list[str] | None, timeout: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ABC_OFFLINE": "1",
        "ABC_WORK_DIR": str(out / "work"),
        "ABC_PREFECT_SERVER": "ephemeral",
    }
    fixtures = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
    for name in only or fixtures:
        started = time.monotonic()
        # A copy under `out`, so paths in the outputs read the same in every snapshot.
        source = out / "fixtures" / name
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(FIXTURES / name, source, symlinks=True)
        explored = subprocess.run([*CLI, "explore", str(source), "--json"], env=env, capture_output=True, text=True)
        (out / "explore").mkdir(exist_ok=True)
        (out / "explore" / f"{name}.json").write_text(explored.stdout)
        try:
            made = subprocess.run(
                [*CLI, "generate", str(source), "--json", "--out", str(out / "tasks"), "--format", "both"],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            stdout = made.stdout
        except subprocess.TimeoutExpired:
            stdout = json.dumps({"timeout": timeout})
        (out / "generate").mkdir(exist_ok=True)
        (out / "generate" / f"{name}.json").write_text(stdout)
        try:
            verdict = json.loads(stdout).get("verdict")
        except ValueError:
            verdict = "no JSON"
        print(f"{name:28s} {verdict!s:22s} {time.monotonic() - started:7.1f} s", flush=True)


def _files(root: Path) -> dict[str, Path]:
    parts = ["explore", "generate", "tasks", "tasks-harbor"]
    return {
        str(p.relative_to(root)): p
        for part in parts
        if (root / part).is_dir()
        for p in sorted((root / part).rglob("*"))
        if p.is_file() and ".git/" not in str(p)
    }


def compare(before: Path, after: Path) -> int:
    a, b = _files(before), _files(after)
    differences = 0
    for rel in sorted(set(a) | set(b)):
        if rel not in a or rel not in b:
            print(f"only in {'after' if rel in b else 'before'}: {rel}")
            differences += 1
            continue
        left, right = _read(a[rel], before), _read(b[rel], after)
        if left != right:
            differences += 1
            print(f"differs: {rel}")
            diff = difflib.unified_diff(left.splitlines(), right.splitlines(), "before", "after", lineterm="", n=1)
            for line in list(diff)[:40]:
                print("   ", line)
    print(f"{len(set(a) | set(b))} files compared, {differences} differ")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("out", type=Path)
    snap.add_argument("--only", default="")
    snap.add_argument("--timeout", type=int, default=1200)
    comp = sub.add_parser("compare")
    comp.add_argument("before", type=Path)
    comp.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out, [n for n in args.only.split(",") if n] or None, args.timeout)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
