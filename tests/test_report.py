"""`abc-pipeline report`: the HTML page over task folders, rejected evidence and batch
reports, rendered in a real headless browser.

The task folders are written by hand (a metadata.json and a config are all the report
reads), so no Docker is needed: one task of each layout, one older task without
`strength`, one rejected task's evidence, and a batch report with a rejection that left
no evidence (a task rejected before packaging).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.report import collect, write_report


def _metadata(task_id: str, language: str, framework: str, *, strength: dict | None, verdict: str = "passed") -> dict:
    data = {
        "task_id": task_id,
        "kind": "implementation",
        "source": {
            "origin": "https://example.com/x.git",
            "owner": "acme",
            "name": task_id.split("__")[0].removeprefix("acme_"),
        },
        "service": {"root": ".", "language": language, "framework": framework},
        "verification_report": {"oracle_runs": [], "noop_run": None, "verdict": verdict, "reason": f"{verdict} here"},
    }
    if strength is not None:
        data["strength"] = strength
    return data


def _strength(endpoints: int, assertions: int, difficulty: str, weak: bool = False) -> dict:
    return {
        "endpoints": endpoints,
        "assertions": assertions,
        "assertions_per_endpoint": round(assertions / endpoints, 2),
        "masked_lines": 20,
        "stand_ins": [
            {"name": "empty_body", "passed": False, "skipped": None},
            {"name": "status_only", "passed": weak, "skipped": None},
            {"name": "canned_json", "passed": False, "skipped": "no JSON body recorded"},
        ],
        "difficulty": difficulty,
    }


def _terminal_bench(root: Path, metadata: dict, difficulty: str = "medium") -> Path:
    root.mkdir(parents=True)
    (root / "task.yaml").write_text(yaml.safe_dump({"instruction": "x", "difficulty": difficulty}))
    (root / "metadata.json").write_text(json.dumps(metadata))
    return root


def _harbor(root: Path, metadata: dict, difficulty: str) -> Path:
    root.mkdir(parents=True)
    (root / "task.toml").write_text(f'schema_version = "1.4"\n[metadata]\ndifficulty = "{difficulty}"\n')
    (root / "metadata.json").write_text(json.dumps(metadata))
    return root


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    tasks, rejected = tmp_path / "tasks", tmp_path / "work" / "rejected"
    _terminal_bench(
        tasks / "acme_notes__notes",
        _metadata("acme_notes__notes", "python", "flask", strength=_strength(4, 14, "medium")),
    )
    _harbor(
        tasks / "acme_shop__cart",
        _metadata("acme_shop__cart", "javascript", "express", strength=_strength(7, 9, "hard", weak=True)),
        "hard",
    )
    # Written before the strength gate: no `strength`, still a row.
    _terminal_bench(tasks / "acme_old__items", _metadata("acme_old__items", "python", "fastapi", strength=None), "easy")
    (tasks / ".acme_x__y.incoming").mkdir()  # a publish in progress: never a task
    _terminal_bench(
        rejected / "acme_blog__posts",
        _metadata("acme_blog__posts", "go", "gin", strength=None, verdict="noop_passed"),
    )
    batch = tmp_path / "work" / "batches" / "latest.json"
    batch.parent.mkdir(parents=True)
    outcome = {"kind": "implementation", "path": None, "harbor_path": None}
    batch.write_text(
        json.dumps(
            {
                "repos": [
                    {
                        "full_name": "acme/blog",
                        "languages": ["go"],
                        "frameworks": ["gin"],
                        "verdict": "noop_passed",
                        "reason": "no task verified",
                        "tasks": [
                            {
                                **outcome,
                                "task_id": "acme_blog__posts",
                                "status": "rejected",
                                "verdict": "noop_passed",
                                "reason": "the masked repository passes test_func",
                            },
                            {
                                **outcome,
                                "task_id": "acme_blog__tags",
                                "status": "rejected",
                                "verdict": "build_error",
                                "reason": "the build failed <b>loudly</b>",
                            },
                        ],
                    },
                    {"full_name": "acme/lib", "verdict": "no_endpoints", "reason": "no routes", "tasks": []},
                ]
            }
        )
    )
    return {"tasks": tasks, "rejected": rejected, "batch": batch}


def test_collect_reads_every_source_once(sources):
    found = collect(sources["tasks"], rejected_dir=sources["rejected"], batch_reports=[sources["batch"]])
    rows = {r.task_id: r for r in found.tasks}
    assert set(rows) == {
        "acme_notes__notes",
        "acme_shop__cart",
        "acme_old__items",
        "acme_blog__posts",
        "acme_blog__tags",
    }
    assert rows["acme_shop__cart"].format == "harbor" and rows["acme_shop__cart"].difficulty == "hard"
    assert rows["acme_old__items"].strength is None and rows["acme_old__items"].difficulty == "easy"
    assert rows["acme_old__items"].assertions_per_endpoint is None and rows["acme_old__items"].stand_ins == []
    cart = rows["acme_shop__cart"]
    assert cart.weak_stand_ins == ["status_only"] and ("canned_json", "skipped") in cart.stand_ins
    # The evidence gives the service; the batch's line adds nothing it already had.
    posts = rows["acme_blog__posts"]
    assert (posts.status, posts.verdict, posts.language, posts.framework) == ("rejected", "noop_passed", "go", "gin")
    tags = rows["acme_blog__tags"]
    assert (tags.verdict, tags.language, tags.difficulty) == ("build_error", "go", "unknown")
    assert [r.full_name for r in found.repos] == ["acme/blog", "acme/lib"]


class _Page(HTMLParser):
    """Counts the SVG charts and their bars, and the tables under them."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[int] = []  # bars per <svg>
        self.tables = 0
        self.scripts = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "svg":
            self.svgs.append(0)
        elif tag == "rect" and "bar" in classes:
            self.svgs[-1] += 1
        elif tag == "table":
            self.tables += 1
        elif tag == "script":
            self.scripts += 1

    def handle_data(self, data):
        self.texts.append(data)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_report_renders_in_a_headless_browser(sources, tmp_path):
    out = tmp_path / "site" / "report.html"
    cli = CliRunner().invoke(
        app,
        [
            "report",
            str(sources["tasks"]),
            "--out",
            str(out),
            "--batch-report",
            str(sources["batch"]),
            "--rejected",
            str(sources["rejected"]),
        ],
    )
    assert cli.exit_code == 0, cli.output
    html = out.read_text()
    page = _Page()
    page.feed(html)
    # Language, framework, verdict, difficulty, assertions per endpoint, stand-ins, repositories.
    assert len(page.svgs) == 7, page.svgs
    assert all(bars > 0 for bars in page.svgs), page.svgs
    assert page.tables >= len(page.svgs) + 1  # one under each plot, and the task list
    assert page.scripts == 0 and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    text = " ".join(page.texts)
    for expected in ("noop_passed", "build_error", "verified (passed)", "unknown (none run)", "hard", "gin"):
        assert expected in text, expected
    assert "<b>loudly</b>" not in html and "&lt;b&gt;loudly" in html  # a reason is text, never markup

    browser = _chromium()
    if browser is None:
        message = "chromium is not installed (scripts/setup.sh installs it as root: apt-get install -y chromium)"
        if _in_ci():
            pytest.fail(f"CI is set and {message}", pytrace=False)
        pytest.skip(message)
    shot = tmp_path / "report.png"
    # --no-sandbox: Chromium's sandbox cannot start as root or in most containers.
    run = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,2000",
            out.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert shot.is_file(), f"no screenshot; chromium said: {run.stderr[-2000:]}"
    assert _png_size(shot) == (1200, 2000)
    # A blank page compresses to a few KiB; bars, labels and tables take far more.
    assert shot.stat().st_size > 30_000, shot.stat().st_size
    print(f"screenshot {shot}: {shot.stat().st_size} bytes")


def test_report_defaults_to_the_work_folder(sources, tmp_path, monkeypatch):
    monkeypatch.setenv("ABC_WORK_DIR", str(tmp_path / "work"))
    cli = CliRunner().invoke(app, ["report", str(sources["tasks"])])
    assert cli.exit_code == 0, cli.output
    html = (sources["tasks"] / "report.html").read_text()
    # The work folder's rejected evidence and latest batch report are read by default.
    assert "acme_blog__posts" in html and "acme_blog__tags" in html and "acme/lib" in html


def test_report_of_an_empty_folder_still_renders(tmp_path):
    out = write_report(tmp_path, tmp_path / "r.html")
    assert out.tasks == []
    assert "no data" in (tmp_path / "r.html").read_text()


def test_report_of_a_missing_folder_is_a_usage_error(tmp_path):
    assert CliRunner().invoke(app, ["report", str(tmp_path / "nope")]).exit_code == 2


@pytest.mark.docker
def test_report_over_generated_tasks(docker_engine, tmp_path_factory, tmp_path):
    # The tasks the package tests share (tests/task_support.py): real metadata, both layouts.
    from task_support import planted_tasks, task_dirs

    result, out = planted_tasks(tmp_path_factory)
    verified = {p.name for (_, fmt), p in task_dirs(result).items() if fmt == "terminal-bench"}
    page = tmp_path / "report.html"
    found = write_report(out, page)
    assert {r.task_id for r in found.tasks} == verified
    assert all(r.status == "verified" and r.language != "unknown" for r in found.tasks)
    parsed = _Page()
    parsed.feed(page.read_text())
    assert len(parsed.svgs) == 6 and all(parsed.svgs), parsed.svgs
