"""Batch benchmark: `abc-pipeline batch` over fixture repositories, cold then warm.

The fixtures become bare git repositories and a manifest pinned to their commits, as
`abc-pipeline mine` would write it. The cold run starts from an empty work folder and
output folder; the warm run repeats the same command over the same folders. Each run is
the real command line in a fresh process, so the figures are what a user waits for. Both
talk to one Prefect server started first (as a batch host would run one, see README): on
a loaded machine the embedded server's first start (a fresh database) alone can take
minutes, which is Prefect's set-up, not the batch.

    .venv/bin/python scripts/bench_batch.py [--fixtures a,b,c] [--concurrency N]   # or: make bench-batch
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.mining.models import Candidate  # noqa: E402
from tests.github_server import make_bare_repo  # noqa: E402

DEFAULT_FIXTURES = "flask_todo,express_books,fastapi_notes,not_mit_app,no_endpoints_lib"


def _manifest(fixtures: list[str], root: Path) -> Path:
    lines = []
    for name in fixtures:
        bare = make_bare_repo(ROOT / "tests" / "fixtures" / name, root / "remote" / "bench" / f"{name}.git")
        commit = subprocess.run(
            ["git", "rev-parse", "main"], cwd=bare, check=True, capture_output=True, text=True
        ).stdout.strip()
        candidate = Candidate(
            full_name=f"bench/{name}",
            clone_url=bare.as_uri(),
            default_branch="main",
            commit=commit,
            decision="accepted",
            reason="fixture",
        )
        lines.append(candidate.model_dump_json())
    manifest = root / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


@contextlib.contextmanager
def _prefect_server(home: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(1)
        else:
            sys.exit("the Prefect server did not start in 10 minutes")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run(manifest: Path, work: Path, out: Path, report: Path, concurrency: int, api: str) -> tuple[float, dict]:
    env = os.environ | {"ABC_WORK_DIR": str(work), "PREFECT_API_URL": api}
    command = [str(ROOT / ".venv" / "bin" / "abc-pipeline"), "batch", str(manifest), "--out", str(out)]
    command += ["--concurrency", str(concurrency), "--report", str(report)]
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"batch failed ({done.returncode}):\n{done.stderr[-3000:]}")
    print(done.stdout, flush=True)
    return seconds, json.loads(report.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", default=DEFAULT_FIXTURES, help="comma-separated tests/fixtures names")
    parser.add_argument("--concurrency", type=int, default=2, help="repositories at once")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        manifest = _manifest(args.fixtures.split(","), root)
        work, out = root / "work", root / "out"
        with _prefect_server(root / "prefect-home") as api:
            cold, cold_report = _run(manifest, work, out, root / "cold.json", args.concurrency, api)
            warm, warm_report = _run(manifest, work, out, root / "warm.json", args.concurrency, api)

    repos = len(cold_report["repos"])
    tasks = cold_report["tasks_verified"]
    same = {t["task_id"] for r in cold_report["repos"] for t in r["tasks"] if t["status"] == "verified"} == {
        t["task_id"] for r in warm_report["repos"] for t in r["tasks"] if t["status"] == "verified"
    }
    figures = {
        "repositories": repos,
        "tasks_verified": tasks,
        "cold_seconds": round(cold, 1),
        "warm_seconds": round(warm, 1),
        "repositories_per_hour_cold": round(repos / cold * 3600, 1),
        "tasks_per_hour_cold": round(tasks / cold * 3600, 1),
        "warm_cold_ratio": round(warm / cold, 4),
        "warm_same_tasks": same,
        "verdicts": cold_report["verdicts"],
    }
    print(json.dumps(figures, indent=2))
    if not same or warm / cold >= 0.10:
        sys.exit("warm run must give the same tasks in under 10% of the cold run's time")


if __name__ == "__main__":
    main()
