"""A service that stops while its tests are recorded (a handler that exits, a JVM out of
heap) costs the group whose request stopped it, with the service's own reason, and
nothing else: the groups after it are recorded on a fresh start.

flask_stops_midway's admin group (POST /admin/halt ends the process with exit code 3) is
recorded before its notes group. Before, every group after the stop failed with a refused
connection (`connect_failed`), which named neither the stop nor its cause.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import Verdict
from pipeline.runtime import sandbox

pytestmark = pytest.mark.docker

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_group_that_stops_the_service_is_its_own_failure_and_the_next_group_is_recorded(docker_engine, tmp_path):
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True, oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(FIXTURES / "flask_stops_midway"), settings, run_id=run_id)

    by_group = {t.task_id.rsplit("__", 1)[-1]: t for t in result.tasks}
    assert set(by_group) == {"admin", "notes"}, result.model_dump_json(indent=2)
    halted = by_group["admin"]
    assert halted.status == "rejected" and halted.verdict == Verdict.service_crashed, halted
    assert "stopped while group admin was recorded" in halted.reason
    assert "exited with code 3" in halted.reason
    notes = by_group["notes"]
    assert notes.status == "verified", notes
    assert result.verdict == Verdict.passed
    assert sandbox.leftovers(run_id) == []
