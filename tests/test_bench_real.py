"""scripts/bench_real.py's pure parts: the manifest, the mirror clone, the summary math, the report (no Docker)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_real.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_real", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_real"] = module
    spec.loader.exec_module(module)
    return module


def test_manifest_json_list_like_the_corpus(bench, tmp_path):
    manifest = tmp_path / "repos.json"
    manifest.write_text(
        json.dumps(
            [
                {"repo": "a/one", "language": "Python", "framework": "Flask", "groups": ["x"], "tasks": 1},
                {"repo": "b/two", "language": "JavaScript", "framework": "Express"},
                {"repo": "c/three", "language": "Go", "framework": "Gin"},
            ]
        )
    )
    entries = bench.read_manifest(manifest)
    assert [e["repo"] for e in entries] == ["a/one", "b/two", "c/three"]
    assert entries[0] == {"repo": "a/one", "language": "Python", "framework": "Flask", "source": None}
    kept = bench.filter_entries(entries, languages="python, javascript")
    assert [e["repo"] for e in kept] == ["a/one", "b/two"]
    assert [e["repo"] for e in bench.filter_entries(entries, repos="C/Three")] == ["c/three"]


def test_manifest_jsonl_and_sources(bench, tmp_path):
    (tmp_path / "local_app").mkdir()
    manifest = tmp_path / "m.jsonl"
    lines = [
        {"repo": "a/one", "language": "Python", "framework": "Flask", "source": "local_app"},
        {"repo": "b/two", "language": "JavaScript", "framework": "Express", "source": "https://example.org/b/two.git"},
    ]
    manifest.write_text("# a comment\n" + "\n".join(json.dumps(line) for line in lines) + "\n\n")
    entries = bench.read_manifest(manifest)
    assert entries[0]["source"] == str(tmp_path / "local_app")  # relative to the manifest
    assert entries[1]["source"] == "https://example.org/b/two.git"


def test_manifest_object_with_repos_and_missing_repo(bench, tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"repos": [{"repo": "a/one"}]}))
    assert bench.read_manifest(manifest)[0]["language"] == "unknown"
    manifest.write_text(json.dumps([{"language": "Python"}]))
    with pytest.raises(ValueError, match="repo"):
        bench.read_manifest(manifest)


def test_mirror_paths(bench, tmp_path):
    assert bench.mirror_git_dir(tmp_path, "own/na.me") == tmp_path / "own+na.me" / "repo"
    (tmp_path / "x+y" / "repo" / ".git").mkdir(parents=True)
    assert bench.mirror_git_dir(tmp_path, "x/y") == tmp_path / "x+y" / "repo" / ".git"
    assert bench.clone_name("Own/Name") == "Own_Name"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_clone_from_mirror_commits_the_tree_without_missing_blobs(bench, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("print('kept')\n")
    (src / "big.bin").write_text("pretend this is 4 MiB\n")
    _git(src, "init", "-q")
    _git(src, "add", ".")
    _git(src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    bare = tmp_path / "mirror" / "own+name" / "repo"
    _git(tmp_path, "clone", "-q", "--bare", "--no-local", str(src), str(bare))
    sha = _git(src, "rev-parse", "HEAD:big.bin")
    # Drop the big blob from the mirror's object store, as a snapshot without large files.
    objects = bare / "objects"
    for pack in (objects / "pack").glob("*.pack"):
        moved = tmp_path / pack.name
        pack.rename(moved)
        pack.with_suffix(".idx").unlink()
        with moved.open("rb") as stream:
            subprocess.run(["git", f"--git-dir={bare}", "unpack-objects", "-q"], stdin=stream, check=True)
    (objects / sha[:2] / sha[2:]).unlink()
    assert bench.missing_blobs(bare) == ["big.bin"]

    dest = tmp_path / "corpus" / "own_name"
    info = bench.clone_from_mirror(bench.mirror_git_dir(tmp_path / "mirror", "own/name"), dest, "own/name")
    assert info == {"upstream_commit": _git(src, "rev-parse", "HEAD"), "missing_blobs": 1}
    assert (dest / "app.py").read_text() == "print('kept')\n"
    assert not (dest / "big.bin").exists()
    assert _git(dest, "status", "--porcelain") == ""
    assert _git(dest, "remote", "get-url", "origin") == "https://github.com/own/name.git"
    first = _git(dest, "rev-parse", "HEAD")
    bench.clone_from_mirror(bench.mirror_git_dir(tmp_path / "mirror", "own/name"), dest, "own/name")
    assert _git(dest, "rev-parse", "HEAD") == first  # the same snapshot gives the same commit


def _result(verdict: str, tasks: list[tuple[str, str]], stages: list[tuple[str, float]]) -> dict:
    return {
        "repo": "own/name",
        "commit": "a" * 40,
        "services": [{"root": ".", "language": "python", "framework": "flask"}],
        "endpoints": 5,
        "groups": ["g1", "g2"],
        "tasks": [
            {"task_id": f"t{i}", "kind": "implementation", "status": status, "verdict": v, "reason": f"why {i}\nmore"}
            for i, (status, v) in enumerate(tasks)
        ],
        "stages": [{"name": n, "seconds": s, "cached": False} for n, s in stages],
        "verdict": verdict,
        "reason": "because",
    }


def test_row_from_result_counts_and_sums(bench):
    entry = {"repo": "own/name", "language": "Python", "framework": "Flask", "source": None}
    result = _result(
        "passed",
        [("verified", "passed"), ("rejected", "oracle_failed"), ("rejected", "oracle_failed"), ("rejected", "oom")],
        [("acquire", 1.0), ("start", 2.5), ("start", 1.25), ("verify", 3.0)],
    )
    row = bench.row_from_result(entry, result)
    assert row["tasks_verified"] == 1 and row["tasks_total"] == 4
    assert row["rejected_by_reason"] == {"oom": 1, "oracle_failed": 2}
    assert row["stages"] == {"acquire": 1.0, "start": 3.8, "verify": 3.0}
    assert row["services"] == [". (python/flask)"]
    assert row["groups"] == 2
    assert row["tasks"][1]["reason"] == "why 1 ⏎ more"


def test_summary_yield_by_language_framework_verdict(bench):
    def row(repo, language, framework, verdict, verified, total=2, rejected=None):
        return {
            "repo": repo,
            "language": language,
            "framework": framework,
            "verdict": verdict,
            "tasks_verified": verified,
            "tasks_total": total,
            "rejected_by_reason": rejected or {},
            "wall_seconds": 10.0,
        }

    rows = [
        row("a/1", "Python", "Flask", "passed", 2),
        row("a/2", "Python", "FastAPI", "build_error", 0, rejected={"build_error": 2}),
        row("b/1", "JavaScript", "Express", "passed", 1, rejected={"oracle_failed": 1}),
        row("b/2", "JavaScript", "Express", "license_rejected", 0, total=0),
        row("b/3", "JavaScript", "Express", "bench_timeout", 0, total=0),
    ]
    summary = bench.summarize(rows)
    assert summary["repositories"] == 5 and summary["with_verified_task"] == 2
    assert summary["yield"] == 0.4
    assert summary["tasks_verified"] == 3 and summary["tasks_rejected"] == 3
    assert summary["tasks_rejected_by_reason"] == {"build_error": 2, "oracle_failed": 1}
    assert summary["wall_seconds"] == 50.0
    by_language = {t["language"]: t for t in summary["by_language"]}
    assert by_language["JavaScript"]["yield"] == 0.333 and by_language["JavaScript"]["repositories"] == 3
    assert by_language["Python"] == {
        "language": "Python",
        "repositories": 2,
        "with_verified_task": 1,
        "yield": 0.5,
        "tasks_verified": 2,
    }
    assert [t["language"] for t in summary["by_language"]] == ["JavaScript", "Python"]  # larger first
    by_framework = {t["framework"]: t["yield"] for t in summary["by_framework"]}
    assert by_framework == {"Express": 0.333, "Flask": 1.0, "FastAPI": 0.0}
    by_verdict = {t["verdict"]: t["repositories"] for t in summary["by_verdict"]}
    assert by_verdict == {"passed": 2, "build_error": 1, "license_rejected": 1, "bench_timeout": 1}
    assert bench.summarize([])["yield"] == 0.0


def test_report_written_and_markdown_escapes(bench, tmp_path):
    entry = {"repo": "own/name", "language": "Python", "framework": "Flask", "source": None}
    row = bench.row_from_result(entry, _result("build_error", [("rejected", "build_error")], [("acquire", 1.0)]))
    row["reason"] = "a | b"
    row["wall_seconds"] = 12.0
    failed = bench.failed_row({**entry, "repo": "own/other"}, bench.TIMEOUT, "generate did not finish in 900 s")
    failed["wall_seconds"] = 900.0
    results = {"name": "t", "manifest": "m.json", "timeout_seconds": 900.0, "repos": [row, failed]}
    bench.write_results(results, tmp_path / "t.json", tmp_path / "t.md")
    text = (tmp_path / "t.md").read_text()
    assert "a \\| b" in text
    assert "| own/other | Python | Flask | bench_timeout | 0 / 0 | – |" in text
    assert "build_error ×1" in text
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["summary"]["repositories"] == 2 and saved["summary"]["yield"] == 0.0


def test_short_reason_cuts(bench):
    assert bench.short_reason(None) == ""
    assert bench.short_reason("x" * 10, limit=5) == "xxxx…"


def test_crash_line_names_the_innermost_frame(bench):
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "/x/pipeline/cli.py", line 100, in generate\n    result = flow()\n'
        '  File "/x/pipeline/stages/environment.py", line 7, in render\n    t.render()\n'
        "UndefinedError: 'x' is undefined\n"
    )
    assert bench.crash_line(stderr) == (
        "UndefinedError: 'x' is undefined (at File \"/x/pipeline/stages/environment.py\", line 7, in render)"
    )
    assert bench.crash_line("") == ""


def test_a_run_stops_starting_groups_well_before_the_kill(bench):
    assert bench.time_budget(900) == 600
    assert bench.time_budget(300) == 180  # short timeouts keep most of their time


def test_a_run_killed_at_the_timeout_keeps_what_it_had_published(bench, tmp_path):
    (tmp_path / "o_r__about" / "tests").mkdir(parents=True)
    (tmp_path / "o_r__about" / "metadata.json").write_text("{}")
    (tmp_path / "o_r__half_written").mkdir()  # no metadata: not a published task
    published = bench.published_tasks(tmp_path)
    assert published == ["o_r__about"]
    row = bench.timed_out_row({"repo": "o/r", "language": "JavaScript", "framework": "Express"}, 900, published)
    assert (row["verdict"], row["tasks_verified"]) == ("bench_timeout", 1)
    assert row["reason"] == "generate did not finish in 900 s; 1 task(s) verified and published before"


def test_a_kept_task_replaces_the_copy_of_an_earlier_run(bench, tmp_path):
    """A re-run publishes the same task id again: it replaces the kept folder, not nests in it."""
    for run in ("first", "second"):
        task = tmp_path / run / "owner_repo__group"
        task.mkdir(parents=True)
        (task / "task.yaml").write_text(run)
        bench.keep_task(task, tmp_path / "kept" / "owner_repo__group")
    kept = tmp_path / "kept" / "owner_repo__group"
    assert (kept / "task.yaml").read_text() == "second" and sorted(p.name for p in kept.iterdir()) == ["task.yaml"]
