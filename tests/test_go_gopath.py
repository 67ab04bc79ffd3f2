"""A GOPATH-era Go service (no go.mod) that vendors its dependencies, built and served in Docker.

Before modules, a repository lived at $GOPATH/src/<its import path> and pinned its
dependencies in vendor/ with govendor, godep or glide: a vendor folder without the
modules.txt that module mode insists on, and pinned versions the module proxy may no longer
serve. The pipeline builds such a repository as it was built then, in GOPATH mode from
its own vendor folder, with no registry at all.

The fixture (goji_gopath_jobs) is vendored here with the host's go (`go mod vendor`), and
the module files that leaves are removed, which is the layout govendor left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import _in_ci
from toolbox import built_and_serving

from pipeline.config import Settings
from pipeline.languages.go.project import load_go_mod
from pipeline.models import RepoSnapshot

FIXTURES = Path(__file__).parent / "fixtures"


def _vendor(root: Path) -> None:
    """Vendor the fixture's dependencies, then leave no trace of modules but vendor/."""
    if shutil.which("go") is None:
        message = "go is not on PATH: the fixture cannot be vendored"
        if _in_ci():
            pytest.fail(f"CI is set and {message}", pytrace=False)
        pytest.skip(message)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
    for command in (["go", "mod", "init", load_go_mod(root).module], ["go", "mod", "tidy"], ["go", "mod", "vendor"]):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True, timeout=600)
    for name in ("go.mod", "go.sum", "vendor/modules.txt"):
        (root / name).unlink()


@pytest.mark.docker
def test_a_vendored_gopath_repository_builds_from_its_vendor_folder_and_serves(docker_engine, run_id, tmp_path):
    from pipeline.stages import environment, explore

    root = tmp_path / "jobs"
    shutil.copytree(FIXTURES / "goji_gopath_jobs", root)
    _vendor(root)
    assert (root / "vendor" / "github.com" / "zenazn" / "goji" / "web").is_dir()
    settings = Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True)
    snapshot = RepoSnapshot(path=root, commit="test", origin=str(root), owner="local", name="jobs")
    inventory = explore.explore(snapshot, settings)
    assert [(s.language, s.framework) for s in inventory.services] == [("go", "goji")]
    spec = environment.synthesize(snapshot, inventory, inventory.services[0], settings)
    # Built where GOPATH mode finds it, as the import path its own imports use.
    assert "GO111MODULE=off" in spec.dockerfile
    assert "/src/github.com/abc-fixtures/jobs" in spec.dockerfile
    assert "go mod" not in spec.dockerfile
    with built_and_serving(root, spec, settings, run_id, "goji-gopath", timeout=900) as service:
        assert spec.port == 8000
        with httpx.Client(base_url=service.base_url, timeout=10) as client:
            assert client.get("/jobs").json() == []
            created = client.post("/jobs", json={"name": "nightly"})
            assert (created.status_code, created.json()) == (201, {"id": 1, "name": "nightly", "state": "running"})
            assert client.post("/jobs/1/kill").json()["state"] == "killed"
            assert client.get("/admin/stats").json() == {"running": 0, "killed": 1}
