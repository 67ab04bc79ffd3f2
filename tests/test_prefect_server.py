"""The shared local Prefect server (pipeline/prefect_server.py), with real processes.

Servers are started by the real command line in its own process (`abc-pipeline server
start`, the same `ensure_server` a `generate` calls), each in a temporary work folder, and
every test stops what it started; `_servers_of` finds any server a test left behind by
its PREFECT_HOME, so a leak fails the test instead of outliving it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline import prefect_server
from pipeline.config import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def _env(work: Path, **extra: str) -> dict[str, str]:
    """A command's environment: this work folder, the shared server asked for, no Prefect API
    configured anywhere (not the harness's, not the machine's profile)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PREFECT_API_URL", prefect_server.OURS_ENV, "PYTEST_CURRENT_TEST", "PREFECT_PROFILE"}
    }
    env.update(
        {
            "ABC_WORK_DIR": str(work),
            prefect_server.MODE_ENV: "local",
            "PREFECT_PROFILES_PATH": str(work.parent / "no-profiles.toml"),
        }
    )
    env.update(extra)
    return env


def _cli(work: Path, *args: str, timeout: float = 150, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=_env(work, **extra),
        cwd=work.parent,
        timeout=timeout,
    )


def _state(work: Path) -> dict | None:
    path = work / "prefect" / "server.json"
    return json.loads(path.read_text()) if path.exists() else None


def _servers_of(work: Path) -> list[int]:
    """Live processes whose PREFECT_HOME is this work folder's (its servers)."""
    home = f"PREFECT_HOME={work / 'prefect' / 'home'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if home in environ and stat.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(entry.name))
    return found


def _watchdogs_of(work: Path) -> list[int]:
    state = str(work / "prefect" / "server.json").encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and state in (entry / "cmdline").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if prefect_server._alive(pid)]


def _eventually(check, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _stop_all(work: Path) -> None:
    prefect_server.stop(Settings(work_dir=work))
    for pid in _servers_of(work):  # whatever a failed test left: never outlives the session
        prefect_server._terminate(pid)


@pytest.fixture
def work(tmp_path: Path):
    path = tmp_path / "work"
    yield path
    _stop_all(path)
    assert _servers_of(path) == []


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the module, started over a state file that names a dead pid."""
    work = tmp_path_factory.mktemp("shared") / "work"
    (work / "prefect").mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (work / "prefect" / "server.json").write_text(
        json.dumps(
            {
                "url": "http://127.0.0.1:9",
                "api_url": "http://127.0.0.1:9/api",
                "pid": dead.pid,
                "port": 9,
                "started_at": time.time(),
                "prefect_version": prefect_server._prefect_version(),
                "python": sys.executable,
                "log": "",
            }
        )
    )
    try:
        proc = _cli(work, "server", "start")
        assert proc.returncode == 0, proc.stderr
        yield {"work": work, "url": proc.stdout.strip(), "dead_pid": dead.pid, "stderr": proc.stderr}
    finally:
        _stop_all(work)
    assert _servers_of(work) == []


def test_a_dead_pid_in_the_state_file_is_replaced(shared):
    state = _state(shared["work"])
    assert state["pid"] != shared["dead_pid"]
    assert shared["url"] == state["api_url"] != "http://127.0.0.1:9/api"
    assert prefect_server._healthy(state["url"])
    assert _servers_of(shared["work"]) == [state["pid"]]
    # Said once on stderr, with the UI's address; nothing else on stdout.
    assert f"UI at {state['url']}" in shared["stderr"]
    assert (shared["work"] / "prefect" / "server.pid").read_text().strip() == str(state["pid"])


def test_a_second_command_reuses_the_server(shared):
    before = _state(shared["work"])
    started = time.monotonic()
    proc = _cli(shared["work"], "server", "start")
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == shared["url"]
    assert _state(shared["work"]) == before  # same url, same pid, same start
    assert "starting" not in proc.stderr
    assert seconds < 10, seconds  # a health check, not a start-up


def test_status_prints_url_pid_and_uptime(shared):
    proc = _cli(shared["work"], "server", "status")
    state = _state(shared["work"])
    assert proc.returncode == 0, proc.stderr
    assert "local server: running" in proc.stdout
    assert state["url"] in proc.stdout and f"pid:    {state['pid']}" in proc.stdout
    assert "uptime: " in proc.stdout
    payload = json.loads(_cli(shared["work"], "server", "status", "--json").stdout)
    assert payload["alive"] and payload["answers"] and payload["state"]["pid"] == state["pid"]


def test_generate_runs_its_flow_on_the_shared_server(shared, tmp_path):
    """The real command: no server start-up, and the flow run is recorded on our server."""
    source = tmp_path / "not_mit_app"
    shutil.copytree(FIXTURES / "not_mit_app", source)
    proc = _cli(shared["work"], "generate", str(source), "--json")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "license_rejected"
    assert "starting a local Prefect server" not in proc.stderr
    request = urllib.request.Request(
        f"{shared['url']}/flow_runs/filter",
        data=b"{}",
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as response:
        runs = json.loads(response.read())
    assert any(r["state_type"] == "COMPLETED" for r in runs), runs


def test_two_commands_at_once_share_one_server_and_stop_leaves_none(work):
    commands = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "server", "start"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(work),
            cwd=work.parent,
        )
        for _ in range(2)
    ]
    outputs = [c.communicate(timeout=150) for c in commands]
    assert all(c.returncode == 0 for c in commands), outputs
    assert outputs[0][0] == outputs[1][0]
    assert sum("starting a local Prefect server" in err for _, err in outputs) == 1, outputs
    pid = _state(work)["pid"]
    assert _servers_of(work) == [pid]

    assert len(_watchdogs_of(work)) == 1
    proc = _cli(work, "server", "stop")
    assert proc.returncode == 0, proc.stderr
    assert f"pid {pid}" in proc.stdout
    assert _servers_of(work) == []
    assert _eventually(lambda: _watchdogs_of(work) == [], 10)  # the watchdog follows its server
    assert _state(work) is None and not (work / "prefect" / "server.pid").exists()
    assert "not running" in _cli(work, "server", "status").stdout
    assert _cli(work, "server", "stop").stdout.strip() == "not running"


def test_a_deleted_work_folder_takes_its_server_along(work):
    """A script's temporary ABC_WORK_DIR, deleted without `server stop`: the watchdog stops
    the server it no longer records."""
    proc = _cli(work, "server", "start")
    assert proc.returncode == 0, proc.stderr
    pid = _state(work)["pid"]
    shutil.rmtree(work)
    assert _eventually(lambda: _servers_of(work) == [], 20), pid
    assert _eventually(lambda: _watchdogs_of(work) == [], 10)


def test_a_users_prefect_api_url_is_used_and_no_server_started(work):
    theirs = "http://127.0.0.1:9/api"
    proc = _cli(work, "server", "start", PREFECT_API_URL=theirs)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == theirs
    assert "your own" in proc.stderr
    assert not (work / "prefect").exists()
    status = _cli(work, "server", "status", PREFECT_API_URL=theirs)
    assert f"PREFECT_API_URL is your own (PREFECT_API_URL in the environment): {theirs}" in status.stdout


def test_a_profiles_api_url_counts_as_the_users(work, tmp_path):
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "mine"\n[profiles.mine]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n')
    code = "from pipeline.prefect_server import user_api_url; print(user_api_url())"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(work, PREFECT_PROFILES_PATH=str(profiles)),
        cwd=tmp_path,
        check=True,
    )
    assert proc.stdout.strip() == "('http://127.0.0.1:9/api', 'the active Prefect profile')"


def test_prefect_settings_already_loaded_win(work, monkeypatch):
    """What prefect_test_harness does (the conftest's session server): Prefect's settings
    in this process name an API, so ensure_server uses it and starts nothing."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.delenv(prefect_server.OURS_ENV, raising=False)
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert prefect_server.ensure_server(Settings(work_dir=work), mode="local") == "http://127.0.0.1:9/api"
    assert not (work / "prefect").exists()


def test_ephemeral_opt_out_starts_nothing(work):
    code = (
        "from pipeline.config import Settings; from pipeline.prefect_server import *; print(ensure_server(Settings()))"
    )
    env = _env(work, ABC_PREFECT_SERVER="ephemeral")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert proc.stdout.strip() == "None"
    assert not (work / "prefect").exists()


def test_a_server_too_slow_to_start_falls_back_to_ephemeral(work):
    # Prefect is imported while the server starts (as the CLI does): it must end up ephemeral too.
    code = (
        "from pipeline.config import Settings; from pipeline import prefect_server as p; import os;"
        "url = p.ensure_server(Settings(), meanwhile=lambda: __import__('prefect'));"
        "from prefect.settings import get_current_settings;"
        "print(url, os.environ.get('PREFECT_API_URL'), get_current_settings().api.url)"
    )
    env = _env(work, ABC_PREFECT_SERVER_TIMEOUT="0.5")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "None None None"
    lines = [line for line in proc.stderr.splitlines() if "ephemeral" in line]
    assert len(lines) == 1 and "within 0.5 s" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert _state(work) is None
    assert _servers_of(work) == []  # the server it gave up on was stopped


@pytest.mark.parametrize("kind", ["missing", "file", "git_without_commit"])
def test_a_source_that_cannot_be_acquired_gets_its_verdict_without_prefect(kind, work, tmp_path):
    source = tmp_path / "source"
    if kind == "file":
        source.write_text("not a folder\n")
    elif kind == "git_without_commit":
        subprocess.run(["git", "init", "-q", str(source)], check=True)
    started = time.monotonic()
    proc = _cli(work, "generate", str(source), "--json")
    seconds = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["verdict"] == "source_unavailable"
    assert payload["reason"].startswith("acquire: ")
    assert [s["name"] for s in payload["stages"]] == ["acquire"]
    assert not (work / "prefect").exists()  # no server started, none asked
    assert seconds < 10, seconds


def test_commands_that_run_no_flow_do_not_import_prefect(work, tmp_path):
    code = f"""
import sys
from typer.testing import CliRunner
from pipeline.cli import app
runner = CliRunner()
for args in (["explore", {str(FIXTURES / "flask_todo")!r}], ["lint", {str(tmp_path)!r}], ["index", {str(tmp_path)!r}],
             ["server", "status"], ["verify", {str(tmp_path)!r}], ["check-harness", {str(tmp_path / "none")!r}]):
    runner.invoke(app, args)
loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print(loaded)
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(work), cwd=ROOT, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
