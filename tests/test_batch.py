"""Batches through Prefect's real engine over real git repositories (bare repositories on
disk, pinned commits, as a mining manifest names them) and, for flask_todo, real Docker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from flows.batch import run_batch
from pipeline import batch
from pipeline.cli import app
from pipeline.config import Settings
from pipeline.mining.models import Candidate
from pipeline.models import Verdict
from tests.github_server import make_bare_repo

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("remote")
    for fixture in ("flask_todo", "not_mit_app", "no_endpoints_lib"):
        make_bare_repo(FIXTURES / fixture, root / "acme" / f"{fixture}.git")
    return root


def _candidate(remote: Path, name: str, **extra) -> Candidate:
    bare = remote / "acme" / f"{name}.git"
    commit = git.Repo(bare).git.rev_parse("main") if bare.exists() else "0" * 40
    fields = {"language": "Python", "framework_hints": [], "decision": "accepted", "reason": "MIT"} | extra
    return Candidate(full_name=f"acme/{name}", clone_url=bare.as_uri(), default_branch="main", commit=commit, **fields)


def _manifest(path: Path, candidates: list[Candidate]) -> Path:
    path.write_text("".join(c.model_dump_json() + "\n" for c in candidates))
    return path


def _task_set(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_dir()} if out.is_dir() else set()


def test_one_broken_repository_never_ends_the_batch_and_a_rerun_skips_finished_work(
    docker_engine, prefect_api, remote, tmp_path
):

    settings = Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out")
    candidates = [
        _candidate(remote, "not_mit_app"),
        _candidate(remote, "missing_repo"),  # its clone fails
        _candidate(remote, "no_endpoints_lib", framework_hints=["flask"]),
    ]
    manifest = _manifest(tmp_path / "m.jsonl", candidates)
    report = run_batch(batch.load_candidates(manifest), settings, manifest=manifest, concurrency=2)

    verdicts = {r.full_name: r.verdict for r in report.repos}
    assert verdicts == {
        "acme/not_mit_app": Verdict.license_rejected,
        "acme/missing_repo": Verdict.source_unavailable,
        "acme/no_endpoints_lib": Verdict.no_endpoints,
    }
    assert not any(r.cached for r in report.repos)
    assert report.verdicts == {"license_rejected": 1, "source_unavailable": 1, "no_endpoints": 1}
    table = batch.format_table(report)
    assert "acme/missing_repo" in table and "3 repositories (0 finished before), 0 tasks verified" in table

    # Unchanged batch: finished repositories come from the record, without a flow run.
    started = time.monotonic()
    again = run_batch(batch.load_candidates(manifest), settings, manifest=manifest)
    assert time.monotonic() - started < 2
    assert [r.verdict for r in again.repos] == [r.verdict for r in report.repos]
    assert all(r.cached for r in again.repos) and again.repos_cached == 3 and again.repos_per_hour == 0

    # regenerate --framework flask: only that repository (by mining's hint; explore found no
    # service), run again although it was finished, with its unchanged stages from the cache.
    batch.write_report(report, tmp_path / "report.json")
    result = CliRunner().invoke(
        app,
        ["regenerate", "--framework", "flask", "--report", str(tmp_path / "report.json")],
        env={"ABC_WORK_DIR": str(settings.work_dir)},
    )
    assert result.exit_code == 0, result.output
    assert "acme/no_endpoints_lib" in result.output and "acme/not_mit_app" not in result.output
    merged = {r.full_name: r for r in batch.read_report(tmp_path / "report.json").repos}
    assert len(merged) == 3 and not merged["acme/no_endpoints_lib"].cached
    assert {"license", "redact"} <= set(merged["acme/no_endpoints_lib"].cached_stages)
    assert merged["acme/not_mit_app"] == report.repos[0]


def test_only_infrastructure_errors_are_retried(docker_engine, prefect_api, remote, tmp_path, monkeypatch):
    import flows.batch as flows_batch

    calls: list[str] = []
    verdicts = {
        "acme/flaky": [Verdict.infra_error, Verdict.no_endpoints],
        "acme/bad": [Verdict.license_rejected],
        "acme/buggy": [Verdict.infra_error],  # a crash of the pipeline itself: not retried
    }

    def run_repo(candidate, settings, docker_slots=2):
        calls.append(candidate.full_name)
        verdict = verdicts[candidate.full_name].pop(0)
        reason = batch.CRASHED + "KeyError()" if candidate.full_name == "acme/buggy" else "scripted"
        return batch.RepoResult(
            full_name=candidate.full_name, source=candidate.source, commit=None, verdict=verdict, reason=reason
        )

    # The stage is scripted; the retries are Prefect's engine, with no delay for the test.
    monkeypatch.setattr(batch, "run_repo", run_repo)
    monkeypatch.setattr(
        flows_batch, "generate_repository", flows_batch.generate_repository.with_options(retry_delay_seconds=0)
    )
    settings = Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out")
    candidates = [_candidate(remote, "flaky"), _candidate(remote, "bad"), _candidate(remote, "buggy")]
    report = run_batch(candidates, settings, manifest=tmp_path / "m.jsonl")
    assert [r.verdict for r in report.repos] == [Verdict.no_endpoints, Verdict.license_rejected, Verdict.infra_error]
    assert sorted(calls) == ["acme/bad", "acme/buggy", "acme/flaky", "acme/flaky"]


def test_a_batch_killed_midway_resumes_to_the_same_task_set_as_an_uninterrupted_run(
    docker_engine, prefect_api, fixture_tasks, remote, tmp_path
):

    candidates = [_candidate(remote, "flask_todo"), _candidate(remote, "not_mit_app")]
    manifest = _manifest(tmp_path / "m.jsonl", candidates)

    # Killed: SIGKILL of the whole batch process as soon as the first task folder appears.
    out, work = tmp_path / "out", tmp_path / "work"
    # One oracle run per task (the gate's repeats are test_e2e's): this test is about the kill.
    env = os.environ | {"ABC_WORK_DIR": str(work), "PREFECT_API_URL": prefect_api, "ABC_ORACLE_RUNS": "1"}
    command = [sys.executable, "-m", "pipeline.cli", "batch", str(manifest), "--out", str(out), "--concurrency", "1"]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 600
    while not _task_set(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = _task_set(out)
    assert at_kill, f"no task appeared before the batch ended: {proc.stderr.read().decode()[-2000:]}"

    # Started again: it finishes what the killed run left.
    resumed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    killed_then_resumed = _task_set(out)

    # The reference: flask_todo generated uninterrupted (tests/conftest.py, shared with
    # test_e2e). Its ids name the local folder, the batch's the remote: the same tasks
    # are the same groups and variants after the repository's part of the id.
    uninterrupted = fixture_tasks("flask_todo")
    expected = {t.task_id.split("__", 1)[1] for t in uninterrupted.verified}

    assert expected and {task.split("__", 1)[1] for task in killed_then_resumed} == expected
    assert all(task.startswith("acme_flask_todo__") for task in killed_then_resumed), killed_then_resumed
    assert len(at_kill) < len(expected)  # the kill did interrupt work (the second variant)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half-published folder
    for task in killed_then_resumed:
        assert (out / task / "metadata.json").is_file()
    # Nothing the killed run started is left in Docker: its run id was cleaned on resume.
    from pipeline.runtime import sandbox

    assert sandbox.leftovers(batch.run_id_for(candidates[0], Settings(work_dir=work))) == []
    named = [c.name for c in docker_engine.containers.list(all=True) if "acme-flask-todo" in c.name]
    assert named == []


def test_the_batch_runs_on_a_local_dask_cluster(docker_engine, prefect_api, remote, tmp_path, monkeypatch):

    # Dask workers are other processes: they reach the same Prefect server through the env.
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    settings = Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out")
    candidates = [_candidate(remote, "not_mit_app"), _candidate(remote, "no_endpoints_lib")]
    manifest = _manifest(tmp_path / "m.jsonl", candidates)
    report = run_batch(candidates, settings, manifest=manifest, dask_workers=2)

    assert [r.verdict for r in report.repos] == [Verdict.license_rejected, Verdict.no_endpoints]
    pids = {r.worker.rsplit(":", 1)[1] for r in report.repos}
    assert str(os.getpid()) not in pids  # ran in the cluster's worker processes, not here


def test_serve_deployment_schedule_and_one_scheduled_run(docker_engine, prefect_api, tmp_path, monkeypatch):
    from flows.serve import deployment, mine_and_generate
    from tests.github_server import FakeGitHub, FakeRepo, GitHubServer

    dep = deployment("15 4 * * 1", manifest=str(tmp_path / "m.jsonl"), limit=5)
    assert [s.schedule.cron for s in dep.schedules] == ["15 4 * * 1"]
    assert dep.parameters == {"manifest": str(tmp_path / "m.jsonl"), "limit": 5}

    # The scheduled body, once, against the GitHub-compatible server.
    root = tmp_path / "remote"
    state = FakeGitHub(
        repos=[
            FakeRepo("acme/not_mit_app", make_bare_repo(FIXTURES / "not_mit_app", root / "a" / "n.git")),
            FakeRepo("acme/calc", make_bare_repo(FIXTURES / "no_endpoints_lib", root / "a" / "c.git")),
        ]
    )
    monkeypatch.setenv("ABC_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB")
    with GitHubServer(state) as server:
        summary = mine_and_generate(str(tmp_path / "m.jsonl"), str(tmp_path / "out"), api_url=server.url, limit=5)
    assert summary["mining"]["accepted"] == 1 and summary["mining"]["rejected"] == 1
    assert summary["verdicts"] == {"no_endpoints": 1}
    report = batch.read_report(Path(summary["report"]))
    assert [r.full_name for r in report.repos] == ["acme/calc"]


def test_a_recorded_repository_counts_as_finished_only_while_its_tasks_are_published(remote, tmp_path):
    from pipeline.cache import StageCache
    from pipeline.models import TaskOutcome

    settings = Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out")
    candidate = _candidate(remote, "flask_todo")
    task = TaskOutcome(
        task_id="acme_flask_todo__todos", path="elsewhere", status="verified", verdict=Verdict.passed, reason="ok"
    )
    recorded = batch.RepoResult(
        full_name=candidate.full_name,
        source=candidate.source,
        commit=candidate.commit,
        verdict=Verdict.passed,
        reason="1 of 1",
        tasks=[task],
    )
    StageCache(settings.work_dir / "cache").put("batch", batch._record_key(candidate, settings), recorded)

    assert batch.finished(candidate, settings) is None  # recorded, but its task is not in the output folder
    # A half-published folder is not a task, and the batch sweeps it.
    partial = settings.out_dir / ".acme_flask_todo__todos.incoming"
    partial.mkdir(parents=True)
    (partial / "metadata.json").write_text("{}")
    assert batch.finished(candidate, settings) is None
    assert batch.sweep_partial(settings.out_dir) == [partial.name] and not partial.exists()

    (settings.out_dir / task.task_id).mkdir()
    (settings.out_dir / task.task_id / "metadata.json").write_text("{}")
    done = batch.finished(candidate, settings)
    assert done is not None and done.cached and done.tasks[0].path == str(settings.out_dir / task.task_id)
    # Other settings that change stage output are another record.
    assert batch.finished(candidate, settings.model_copy(update={"oracle_runs": 3})) is None
