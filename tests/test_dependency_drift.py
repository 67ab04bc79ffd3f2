"""A dependency newer than the code: built as committed, the service cannot start; the
build pins the package to its release before the repository's commit, and the service
becomes a verified task. The classification and the pin are test_repair.py's; this is the
whole path through a real build (PyPI's JSON API and pip inside the image)."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import git
import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import Verdict
from pipeline.runtime import sandbox

FIXTURES = Path(__file__).parent / "fixtures"
#: Flask 2.1.3 came out on 2022-07-13; Werkzeug's newest release before this date is 2.1.2
#: (2022-04-28). Werkzeug 3.0 (2023-09) removed the url_quote Flask 2.1 imports.
COMMITTED = "2022-07-20T12:00:00+00:00"


def _committed_on(source: Path, target: Path, moment: str) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("ground_truth.json"))
    repo = git.Repo.init(target)
    repo.git.add("-A")
    who = {"GIT_AUTHOR_NAME": "fixture", "GIT_AUTHOR_EMAIL": "f@example.com"}
    who |= {"GIT_COMMITTER_NAME": "fixture", "GIT_COMMITTER_EMAIL": "f@example.com"}
    repo.git.commit(
        "-q", "--no-gpg-sign", "-m", "pantry", env={**who, "GIT_AUTHOR_DATE": moment, "GIT_COMMITTER_DATE": moment}
    )
    return target


@pytest.mark.docker
def test_werkzeug_newer_than_flask_2_1_is_pinned_to_its_release_before_the_commit(docker_engine, tmp_path):
    repo = _committed_on(FIXTURES / "flask_werkzeug_drift", tmp_path / "flask_werkzeug_drift", COMMITTED)
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(repo), settings, run_id=run_id)
    verified = [t for t in result.tasks if t.status == "verified"]
    assert verified and result.verdict == Verdict.passed, result.model_dump_json(indent=2)
    task = Path(verified[0].path)
    dockerfile = next(task.glob("*/Dockerfile")).read_text()
    assert (
        "pip install --no-cache-dir -r requirements.txt && pip install --no-cache-dir 'werkzeug==2.1.2'" in dockerfile
    )
    report = json.loads((task / "metadata.json").read_text())["verification_report"]
    assert report["noop_run"]["verdict"] == "tests_failed", report["noop_run"]
    assert sandbox.leftovers(run_id) == []
