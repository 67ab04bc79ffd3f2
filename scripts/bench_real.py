"""Real-repository yield: `abc-pipeline generate` over a manifest of repositories, one at a time.

    .venv/bin/python scripts/bench_real.py MANIFEST [--mirror DIR] [--languages Python,JavaScript]
        [--name NAME] [--timeout 900] [--resume]                                   # or: make bench-real

MANIFEST is a JSON list (or a JSONL file, or an object with a `repos` list) of entries with
`repo` (owner/name), `language`, `framework` and `source` (a local folder or a git URL);
the corpus file `../shared/corpus/abc-bench-repos.json` works as it is, its entries having no
`source`: with `--mirror DIR` the source of `owner/name` is the bare git snapshot
`DIR/<owner>+<name>/repo`, cloned to `--clone-dir/<owner>_<name>` with its origin set to the
GitHub URL (so the task ids are `<owner>_<name>__<group>`). A snapshot may lack its largest
files: the clone then commits the tree without them (how many is recorded).

Every repository is one `abc-pipeline generate SOURCE --json --out TMP` process in a process
group of its own, stopped (SIGTERM, which makes the pipeline remove its Docker objects, then
SIGKILL) after `--timeout` seconds, so a crash or a hang of one never stops the bench; before
that, its own time budget (ABC_TIME_BUDGET, by default the timeout less five minutes) makes it
start no further group and end with what it verified. The
results are rewritten after every repository, to `bench/results/<name>.json` and `.md`:
names, verdicts, reasons and numbers only, never any code of the repositories. `--resume`
skips the repositories already in the results JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "abc-pipeline"
RESULTS = ROOT / "bench" / "results"
REASON_CHARS = 400  # a reason is a verdict's explanation; a log tail beyond this is cut
# Verdicts of the bench itself, when generate gave no JSON (not pipeline Verdict values).
TIMEOUT, CRASHED = "bench_timeout", "bench_crashed"
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "abc-bench",
    "GIT_AUTHOR_EMAIL": "abc-bench@localhost",
    "GIT_COMMITTER_NAME": "abc-bench",
    "GIT_COMMITTER_EMAIL": "abc-bench@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
    "GIT_TERMINAL_PROMPT": "0",
}


# --- manifest -------------------------------------------------------------------------------


def read_manifest(path: Path) -> list[dict]:
    """The manifest's entries: a JSON list, an object with a `repos` list, or JSON lines."""
    text = path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if isinstance(data, dict):
        data = data.get("repos", [data])
    entries = []
    for raw in data:
        if not isinstance(raw, dict) or not raw.get("repo"):
            raise ValueError(f"{path}: every entry needs a `repo` (owner/name): {raw!r}")
        entry = {
            "repo": str(raw["repo"]),
            "language": str(raw.get("language") or "unknown"),
            "framework": str(raw.get("framework") or "unknown"),
            "source": raw.get("source") or None,
        }
        source = entry["source"]
        if source and "://" not in source and not source.startswith("git@") and not Path(source).is_absolute():
            entry["source"] = str((path.parent / source).resolve())  # relative to the manifest
        entries.append(entry)
    return entries


def filter_entries(entries: list[dict], languages: str | None = None, repos: str | None = None) -> list[dict]:
    """Entries of the given languages and repositories (comma-separated, case-insensitive)."""
    if languages:
        wanted = {part.strip().lower() for part in languages.split(",") if part.strip()}
        entries = [e for e in entries if e["language"].lower() in wanted]
    if repos:
        wanted = {part.strip().lower() for part in repos.split(",") if part.strip()}
        entries = [e for e in entries if e["repo"].lower() in wanted]
    return entries


def mirror_git_dir(mirror: Path, repo: str) -> Path:
    """The bare git directory of `owner/name` in a mirror (`DIR/<owner>+<name>/repo`)."""
    folder = mirror / repo.replace("/", "+") / "repo"
    return folder / ".git" if (folder / ".git").is_dir() else folder


def clone_name(repo: str) -> str:
    return repo.replace("/", "_")


# --- sources --------------------------------------------------------------------------------


def _git(*args: str, cwd: Path | None = None, git_dir: Path | None = None) -> str:
    command = ["git"] + ([f"--git-dir={git_dir}"] if git_dir else []) + list(args)
    done = subprocess.run(command, cwd=cwd, env=os.environ | _GIT_ENV, capture_output=True, text=True, check=True)
    return done.stdout


def missing_blobs(git_dir: Path) -> list[str]:
    """Paths of HEAD whose blobs the snapshot lacks (files of 4 MiB and more)."""
    listing = _git("ls-tree", "-r", "-z", "HEAD", git_dir=git_dir)
    blobs = []
    for item in listing.split("\0"):
        if not item:
            continue
        meta, path = item.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind == "blob":
            blobs.append((sha, path))
    if not blobs:
        return []
    checked = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch-check"],
        input="\n".join(sha for sha, _ in blobs) + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [path for (_sha, path), line in zip(blobs, checked, strict=True) if line.endswith(" missing")]


def clone_from_mirror(git_dir: Path, dest: Path, repo: str) -> dict:
    """A plain local clone of the mirror's HEAD at dest, origin = the GitHub URL.

    When the snapshot lacks blobs, the tree without them is committed (fixed author and
    date, so the same snapshot always gives the same commit)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    upstream = _git("rev-parse", "HEAD", git_dir=git_dir).strip()
    _git("clone", "-q", "--no-checkout", str(git_dir), str(dest))
    _git("remote", "set-url", "origin", f"https://github.com/{repo}.git", cwd=dest)
    missing = missing_blobs(dest / ".git")
    if missing:
        _git("read-tree", "HEAD", cwd=dest)
        for start in range(0, len(missing), 200):
            _git("rm", "-q", "--cached", "--", *missing[start : start + 200], cwd=dest)
        _git("checkout-index", "-a", "-f", cwd=dest)
        _git("commit", "-q", "--no-verify", "-m", "bench: the snapshot without its missing blobs", cwd=dest)
    else:
        _git("checkout", "-q", "HEAD", cwd=dest)
    return {"upstream_commit": upstream, "missing_blobs": len(missing)}


# --- one repository -------------------------------------------------------------------------


def short_reason(reason: str | None, limit: int = REASON_CHARS) -> str:
    """A reason on one line, cut at `limit` characters."""
    text = " ⏎ ".join(line.strip() for line in (reason or "").strip().splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_json(stdout: str) -> dict | None:
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.find("\n{")
        try:
            return json.loads(text[start + 1 :]) if start >= 0 else None
        except json.JSONDecodeError:
            return None


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def crash_line(stderr: str) -> str:
    """The exception and where the pipeline raised it (the innermost traceback frame), from stderr."""
    last = _last_line(stderr)
    frames = [line.strip() for line in stderr.splitlines() if line.strip().startswith('File "')]
    return f"{last} (at {frames[-1]})" if frames else last


def row_from_result(entry: dict, result: dict) -> dict:
    """The bench's row for a repository from generate's JSON (names and numbers only)."""
    tasks = result.get("tasks") or []
    verified = [t for t in tasks if t.get("status") == "verified"]
    rejected: dict[str, int] = defaultdict(int)
    for task in tasks:
        if task.get("status") != "verified":
            rejected[str(task.get("verdict"))] += 1
    stages: dict[str, float] = defaultdict(float)
    for stage in result.get("stages") or []:
        stages[stage["name"]] += float(stage.get("seconds") or 0.0)
    return {
        "repo": entry["repo"],
        "language": entry["language"],
        "framework": entry["framework"],
        "pipeline_repo": result.get("repo"),
        "commit": result.get("commit"),
        "verdict": str(result.get("verdict")),
        "reason": short_reason(result.get("reason")),
        "services": [
            f"{s.get('root')} ({s.get('language')}/{s.get('framework')})" for s in result.get("services") or []
        ],
        "endpoints": int(result.get("endpoints") or 0),
        "groups": len(result.get("groups") or []),
        "tasks_total": len(tasks),
        "tasks_verified": len(verified),
        "rejected_by_reason": dict(sorted(rejected.items())),
        "tasks": [
            {
                "task_id": t.get("task_id"),
                "kind": t.get("kind"),
                "status": t.get("status"),
                "verdict": str(t.get("verdict")),
                "reason": short_reason(t.get("reason")),
            }
            for t in tasks
        ],
        "stages": {name: round(seconds, 1) for name, seconds in stages.items()},
    }


def failed_row(entry: dict, verdict: str, reason: str) -> dict:
    return {
        "repo": entry["repo"],
        "language": entry["language"],
        "framework": entry["framework"],
        "pipeline_repo": None,
        "commit": None,
        "verdict": verdict,
        "reason": short_reason(reason),
        "services": [],
        "endpoints": 0,
        "groups": 0,
        "tasks_total": 0,
        "tasks_verified": 0,
        "rejected_by_reason": {},
        "tasks": [],
        "stages": {},
    }


def published_tasks(out: Path) -> list[str]:
    """The tasks a run published (verified: only those reach the output folder, whole)."""
    return sorted(p.name for p in out.iterdir() if (p / "metadata.json").is_file()) if out.is_dir() else []


def timed_out_row(entry: dict, timeout: float, published: list[str]) -> dict:
    """A run killed at the timeout prints no JSON; what it had verified and published by then counts."""
    reason = f"generate did not finish in {timeout:.0f} s"
    if published:
        reason += f"; {len(published)} task(s) verified and published before"
    row = failed_row(entry, TIMEOUT, reason)
    row["tasks_total"] = row["tasks_verified"] = len(published)
    row["tasks"] = [
        {
            "task_id": name,
            "kind": "environment" if name.endswith("__env") else "implementation",
            "status": "verified",
            "verdict": "passed",
            "reason": "published before the timeout",
        }
        for name in published
    ]
    return row


def time_budget(timeout: float) -> float:
    """The generate run's own budget under a kill after `timeout` s: the group in flight when
    it runs out (a bring-up, a verify of two variants) gets up to five minutes more."""
    return max(timeout * 0.6, timeout - 300)


def run_generate(source: str, out: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str, str, bool]:
    """One generate in a process group of its own: (exit code, stdout, stderr, timed out)."""
    command = [str(CLI), "generate", source, "--json", "--out", str(out)]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        return process.returncode, stdout, stderr, False
    except subprocess.TimeoutExpired:
        # SIGTERM first: the pipeline removes the run's containers and images, then unwinds.
        for sig, grace in ((signal.SIGTERM, 180), (signal.SIGKILL, 30)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                stdout, stderr = process.communicate(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            stdout, stderr = "", ""
        return process.returncode, stdout or "", stderr or "", True


def keep_task(task: Path, dest: Path) -> None:
    """Move a published task to `dest`, replacing an earlier run's copy: shutil.move into an
    existing folder would nest the new task inside the old one."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.move(str(task), dest)


def bench_one(entry: dict, args: argparse.Namespace, env: dict[str, str]) -> dict:
    started = time.monotonic()
    source = entry["source"]
    extra: dict = {}
    if not source:
        if args.mirror:
            git_dir = mirror_git_dir(args.mirror, entry["repo"])
            if not (git_dir / "HEAD").is_file():
                row = failed_row(entry, "source_unavailable", f"no mirror snapshot at {git_dir}")
                row["wall_seconds"] = 0.0
                return row
            dest = args.clone_dir / clone_name(entry["repo"])
            try:
                extra = clone_from_mirror(git_dir, dest, entry["repo"])
            except subprocess.CalledProcessError as exc:
                row = failed_row(entry, "source_unavailable", f"clone of the mirror failed: {_last_line(exc.stderr)}")
                row["wall_seconds"] = round(time.monotonic() - started, 1)
                return row
            source = str(dest)
        else:
            source = f"https://github.com/{entry['repo']}.git"
    clone_seconds = time.monotonic() - started
    with tempfile.TemporaryDirectory(prefix="bench-real-out-", dir=args.out_dir) as out:
        code, stdout, stderr, timed_out = run_generate(source, Path(out), env, args.timeout)
        published = published_tasks(Path(out))
        kept = sorted(p.name for p in Path(out).iterdir()) if args.keep_tasks else []
        for name in kept:
            keep_task(Path(out) / name, args.out_dir / name)
        shutil.rmtree(f"{out}-harbor", ignore_errors=True)  # the Harbor export, when ABC_FORMATS asks for it
    result = _parse_json(stdout)
    if result is not None:
        row = row_from_result(entry, result)
    elif timed_out:
        row = timed_out_row(entry, args.timeout, published)
    else:
        row = failed_row(entry, CRASHED, f"exit {code}, no JSON; {crash_line(stderr)}")
    row["exit_code"] = code
    row["timed_out"] = timed_out
    row["wall_seconds"] = round(time.monotonic() - started, 1)
    row["clone_seconds"] = round(clone_seconds, 1)
    row["timeout_seconds"] = args.timeout
    row["run_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    row["pipeline"] = pipeline_version()
    row.update(extra)
    return row


# --- summary and report ---------------------------------------------------------------------


def _yield_table(rows: Iterable[dict], key: str) -> list[dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[str(row[key])].append(row)
    table = []
    for name, members in groups.items():
        good = sum(1 for r in members if r["tasks_verified"] > 0)
        table.append(
            {
                key: name,
                "repositories": len(members),
                "with_verified_task": good,
                "yield": round(good / len(members), 3),
                "tasks_verified": sum(r["tasks_verified"] for r in members),
            }
        )
    return sorted(table, key=lambda t: (-t["repositories"], t[key]))


def summarize(rows: list[dict]) -> dict:
    """Yield (repositories with >= 1 verified task / total), overall and by language, framework, verdict."""
    total = len(rows)
    good = sum(1 for r in rows if r["tasks_verified"] > 0)
    rejected: dict[str, int] = defaultdict(int)
    for row in rows:
        for verdict, count in row["rejected_by_reason"].items():
            rejected[verdict] += count
    return {
        "repositories": total,
        "with_verified_task": good,
        "yield": round(good / total, 3) if total else 0.0,
        "tasks_verified": sum(r["tasks_verified"] for r in rows),
        "tasks_rejected": sum(r["tasks_total"] - r["tasks_verified"] for r in rows),
        "tasks_rejected_by_reason": dict(sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))),
        "wall_seconds": round(sum(r.get("wall_seconds", 0.0) for r in rows), 1),
        "by_language": _yield_table(rows, "language"),
        "by_framework": _yield_table(rows, "framework"),
        "by_verdict": _yield_table(rows, "verdict"),
    }


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rejected_cell(rejected: dict[str, int]) -> str:
    return ", ".join(f"{verdict} ×{count}" for verdict, count in rejected.items()) or "–"


def render_markdown(results: dict) -> str:
    rows, summary = results["repos"], results["summary"]
    stage_names: list[str] = []
    for row in rows:
        stage_names += [name for name in row["stages"] if name not in stage_names]
    timeouts = sorted({float(r.get("timeout_seconds", results["timeout_seconds"])) for r in rows})
    timeout = " or ".join(f"{t:.0f}" for t in timeouts or [results["timeout_seconds"]])
    lines = [
        f"# Real-repository yield: {results['name']}",
        "",
        f"Manifest `{results['manifest']}`, {summary['repositories']} repositories, one `abc-pipeline generate` "
        f"at a time, timeout {timeout} s each (per repository in the JSON); last update {results['updated']}; "
        f"pipeline at {', '.join(sorted({str(r.get('pipeline', 'unknown')) for r in rows})) or 'unknown'}.",
        "",
        f"**Yield: {summary['with_verified_task']} / {summary['repositories']} repositories with at least one "
        f"verified task ({summary['yield']:.0%})**; {summary['tasks_verified']} tasks verified, "
        f"{summary['tasks_rejected']} rejected; total wall {summary['wall_seconds']:.0f} s.",
        "",
        "## Per repository",
        "",
        "Stage columns: seconds, summed over the stage's runs (0 when cached). Wall: the whole generate.",
        "",
        "| repository | language | framework | verdict | verified | rejected by reason | "
        + " | ".join(stage_names)
        + " | wall s |",
        "|" + "---|" * (7 + len(stage_names)),
    ]
    for row in rows:
        stages = [f"{row['stages'][n]:.1f}" if n in row["stages"] else "" for n in stage_names]
        cells = [
            row["repo"],
            row["language"],
            row["framework"],
            row["verdict"],
            f"{row['tasks_verified']} / {row['tasks_total']}",
            _rejected_cell(row["rejected_by_reason"]),
            *stages,
            f"{row.get('wall_seconds', 0.0):.0f}",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for key, title in (("language", "language"), ("framework", "framework"), ("verdict", "verdict")):
        lines += [
            "",
            f"## Yield by {title}",
            "",
            f"| {title} | repositories | with a verified task | yield | tasks verified |",
            "|---|---|---|---|---|",
        ]
        for item in summary[f"by_{key}"]:
            lines.append(
                f"| {_cell(item[key])} | {item['repositories']} | {item['with_verified_task']} | "
                f"{item['yield']:.0%} | {item['tasks_verified']} |"
            )
    if summary["tasks_rejected_by_reason"]:
        lines += ["", "## Rejected tasks by verdict", "", "| verdict | tasks |", "|---|---|"]
        lines += [f"| {v} | {n} |" for v, n in summary["tasks_rejected_by_reason"].items()]
    lines += ["", "## Reasons", ""]
    for row in rows:
        services = ", ".join(row["services"]) or "none found"
        extra = f"; {row['missing_blobs']} blobs missing from the snapshot" if row.get("missing_blobs") else ""
        lines.append(
            f"- **{row['repo']}** (commit `{(row.get('commit') or row.get('upstream_commit') or '?')[:12]}`, "
            f"{row['endpoints']} endpoints, {row['groups']} groups, services: {services}{extra}): "
            f"`{row['verdict']}` {_cell(row['reason'])}"
        )
        reasons: dict[tuple[str, str], int] = defaultdict(int)
        for task in row["tasks"]:
            if task["status"] != "verified":
                reasons[(task["verdict"], task["reason"])] += 1
        for (verdict, reason), count in reasons.items():
            lines.append(f"  - {count} task(s) `{verdict}`: {_cell(reason)}")
    return "\n".join(lines) + "\n"


def write_results(results: dict, json_path: Path, md_path: Path) -> None:
    results["summary"] = summarize(results["repos"])
    results["updated"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    for path, text in ((json_path, json.dumps(results, indent=2) + "\n"), (md_path, render_markdown(results))):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)


# --- main -----------------------------------------------------------------------------------


def _progress(done: int, total: int, started: float, message: str) -> None:
    elapsed = time.monotonic() - started
    eta = f", about {elapsed / done * (total - done) / 60:.0f} min left" if done else ""
    print(f"[{done}/{total} {elapsed / 60:.1f} min{eta}] {message}", file=sys.stderr, flush=True)


def _server_alive(env: dict[str, str]) -> bool:
    done = subprocess.run([str(CLI), "server", "status", "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    try:
        return bool(json.loads(done.stdout).get("alive"))
    except (json.JSONDecodeError, AttributeError):
        return False


def _warm_up(env: dict[str, str]) -> bool:
    """Start the work folder's local Prefect server before the first repository (its first start, a fresh
    database, is not a repository's time). True when this bench started it."""
    if _server_alive(env):
        return False
    subprocess.run([str(CLI), "server", "start"], cwd=ROOT, env=env, capture_output=True)
    return _server_alive(env)


def pipeline_version() -> str:
    """The pipeline's commit, `+dirty` when its code has uncommitted changes (other engineers edit it)."""
    try:
        head = _git("rev-parse", "--short=12", "HEAD", cwd=ROOT).strip()
        dirty = _git("status", "--porcelain", "--", "pipeline", "flows", cwd=ROOT).strip()
    except (subprocess.CalledProcessError, OSError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest", type=Path, help="JSON/JSONL entries: repo, language, framework, source")
    parser.add_argument("--mirror", type=Path, help="DIR: the source of owner/name is DIR/<owner>+<name>/repo")
    parser.add_argument("--languages", help="comma-separated languages to keep, e.g. Python,JavaScript")
    parser.add_argument("--repos", help="comma-separated owner/name to keep")
    parser.add_argument("--name", help="results name: bench/results/<name>.md and .json (default: manifest's stem)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one repository may take")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench-work"), help="ABC_WORK_DIR of the runs")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/bench-out"), help="where runs write tasks")
    parser.add_argument("--clone-dir", type=Path, default=Path("/tmp/corpus"), help="clones of mirror snapshots")
    parser.add_argument("--keep-tasks", action="store_true", help="keep verified tasks in --out-dir")
    parser.add_argument("--resume", action="store_true", help="skip repositories already in the results JSON")
    parser.add_argument(
        "--retry", default="", help="with --resume, run again the repositories of these verdicts, e.g. bench_crashed"
    )
    args = parser.parse_args(argv)

    entries = filter_entries(read_manifest(args.manifest), args.languages, args.repos)
    name = args.name or args.manifest.stem
    json_path, md_path = args.results_dir / f"{name}.json", args.results_dir / f"{name}.md"
    results = {
        "name": name,
        "manifest": str(args.manifest),
        "timeout_seconds": args.timeout,
        "repos": [],
    }
    if args.resume and json_path.is_file():
        previous = json.loads(json_path.read_text())
        retry = {v.strip() for v in args.retry.split(",") if v.strip()}
        wanted = {e["repo"] for e in entries}
        # Repositories outside this run's filters keep their earlier results: a run over a
        # few (--repos) adds to the table instead of replacing it.
        earlier = previous.get("repos", [])
        results["repos"] = [r for r in earlier if r["repo"] not in wanted or r["verdict"] not in retry]
    done_repos = {r["repo"] for r in results["repos"]}
    todo = [e for e in entries if e["repo"] not in done_repos]
    if not entries:
        sys.exit("no repositories left after the filters")

    for folder in (args.work_dir, args.out_dir, args.clone_dir):
        folder.mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        # Stop starting groups well before the kill, so a large repository ends with what it
        # verified (the rest budget_exhausted) rather than bench_timeout and nothing.
        "ABC_TIME_BUDGET": os.environ.get("ABC_TIME_BUDGET") or str(round(time_budget(args.timeout))),
        "ABC_WORK_DIR": str(args.work_dir),
        "PREFECT_HOME": os.environ.get("PREFECT_HOME", str(args.work_dir / "prefect-home")),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    started = time.monotonic()
    total = len(todo)
    print(f"{total} repositories to run ({len(done_repos)} already in {json_path})", file=sys.stderr, flush=True)
    started_server = _warm_up(env) if todo else False
    for index, entry in enumerate(todo):
        _progress(index, total, started, f"{entry['repo']} ({entry['language']}/{entry['framework']}) ...")
        row = bench_one(entry, args, env)
        results["repos"].append(row)
        order = {e["repo"]: i for i, e in enumerate(entries)}
        results["repos"].sort(key=lambda r: order.get(r["repo"], len(order)))
        write_results(results, json_path, md_path)
        _progress(
            index + 1,
            total,
            started,
            f"{entry['repo']}: {row['verdict']}, {row['tasks_verified']}/{row['tasks_total']} verified, "
            f"{row['wall_seconds']:.0f} s",
        )
    write_results(results, json_path, md_path)
    if started_server:  # the bench's own server; one the user already ran stays
        subprocess.run([str(CLI), "server", "stop"], cwd=ROOT, env=env, capture_output=True)
    summary = results["summary"]
    print(
        f"yield {summary['with_verified_task']}/{summary['repositories']} ({summary['yield']:.0%}); "
        f"results in {md_path} and {json_path}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
