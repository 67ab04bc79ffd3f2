"""Bad input ends with a verdict, exit 1 and a one-line reason: no traceback, nothing left
behind, no secret in anything the pipeline keeps or prints.

- sources that cannot be acquired (a git repository without a commit, a file, files and
  folders without read permission) through the real command;
- MIT texts with a restriction added (Commons Clause, non-commercial), and npm's "ISC"
  default beside an MIT LICENSE;
- secrets in a file too large for detect-secrets;
- secrets a service prints in its log at start, through a real generate run.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from task_support import PLANTED_SECRETS

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import RepoSnapshot, StageError, Verdict
from pipeline.runtime import sandbox
from pipeline.stages import acquire, license, redact

FIXTURES = Path(__file__).parent / "fixtures"
MIT = (FIXTURES / "flask_todo" / "LICENSE").read_text()

# --------------------------------------------------------------------------- sources

# prctl(PR_CAPBSET_DROP) of CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: root without them
# obeys file permissions, as any other user does.
_PR_CAPBSET_DROP = 24
_DAC_CAPS = (1, 2)


def _obey_permissions() -> None:
    """In the child before exec: a root process drops what lets it read any file."""
    if os.geteuid() != 0:
        return  # a plain user obeys file permissions already
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _DAC_CAPS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            os._exit(97)


def _git(folder: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, "-C", str(folder), *args], check=True, capture_output=True)


def _empty_git_repository(tmp: Path) -> Path:
    repo = tmp / "no_commit"
    shutil.copytree(FIXTURES / "flask_todo", repo)
    _git(repo, "init", "-q")  # files, but nothing committed
    return repo


def _a_file(tmp: Path) -> Path:
    path = tmp / "app.py"
    shutil.copy(FIXTURES / "flask_todo" / "app.py", path)
    return path


def _unreadable_file(tmp: Path) -> Path:
    repo = tmp / "unreadable_file"
    shutil.copytree(FIXTURES / "flask_todo", repo)
    (repo / "todo" / "store.py").chmod(0)
    return repo


def _unreadable_folder(tmp: Path) -> Path:
    repo = tmp / "unreadable_folder"
    shutil.copytree(FIXTURES / "flask_todo", repo)
    (repo / "todo").chmod(0)
    return repo


def _unreadable_source(tmp: Path) -> Path:
    repo = tmp / "unreadable_source"
    shutil.copytree(FIXTURES / "flask_todo", repo)
    repo.chmod(0)
    return repo


def _unreadable_git_repository(tmp: Path) -> Path:
    repo = tmp / "unreadable_git"
    shutil.copytree(FIXTURES / "flask_todo", repo)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "init")
    for path in [repo / ".git" / "objects", *(repo / ".git" / "objects").rglob("*")]:
        path.chmod(0)
    return repo


# name -> (how to make the source, what the one-line reason says)
SOURCES = {
    "git repository without a commit": (_empty_git_repository, "has no commit yet"),
    "a file, not a folder": (_a_file, "is not a folder"),
    "a file without read permission": (_unreadable_file, "store.py: Permission denied"),
    "a folder without read permission": (_unreadable_folder, "todo: Permission denied"),
    "the source itself without read permission": (_unreadable_source, "unreadable_source: permission denied"),
    "a git repository git cannot read": (_unreadable_git_repository, "cannot read git repository"),
}


def _restore_permissions(root: Path) -> None:
    if root.is_dir():
        root.chmod(0o755)
        for path in root.rglob("*"):
            path.chmod(0o755)


@pytest.mark.parametrize("case", sorted(SOURCES))
def test_a_source_that_cannot_be_read_is_a_verdict_not_a_traceback(case, prefect_api, tmp_path):
    make, says = SOURCES[case]
    (tmp_path / "src").mkdir()
    source = make(tmp_path / "src")
    work = tmp_path / "work"
    env = {
        **os.environ,
        "ABC_WORK_DIR": str(work),
        "ABC_OUT_DIR": str(tmp_path / "out"),
        "PREFECT_API_URL": prefect_api,  # the session's server: no ephemeral one per command
    }
    try:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "abc-pipeline"), "generate", str(source)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            preexec_fn=_obey_permissions,
        )
    finally:
        _restore_permissions(tmp_path / "src")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "Traceback" not in output and "Error:" not in proc.stdout, output
    verdict_lines = [line for line in proc.stdout.splitlines() if line.startswith("verdict:")]
    assert len(verdict_lines) == 1, output
    assert verdict_lines[0].startswith("verdict:    source_unavailable: acquire: "), verdict_lines
    assert says in verdict_lines[0], verdict_lines
    # Nothing left behind: no snapshot, half-copied or whole, and no task.
    assert not (work / "snapshots").exists() or list((work / "snapshots").iterdir()) == []
    assert not (tmp_path / "out").exists()


def test_the_library_gives_the_same_verdict_for_a_repository_without_a_commit(docker_engine, tmp_path):
    """generate() itself, without the command's early check in front of it."""
    source = _empty_git_repository(tmp_path)
    result = generate(str(source), Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out"))
    assert result.verdict == Verdict.source_unavailable
    assert result.reason == f"acquire: cannot read git repository {source}: it has no commit yet"
    assert list((tmp_path / "work" / "snapshots").iterdir()) == []


def test_a_bug_of_the_pipeline_is_a_verdict_not_a_traceback(docker_engine, monkeypatch, tmp_path):
    """An exception no stage expected (rustpbx's `members = ["."]` once broke a glob) ends
    generate() with a verdict that blames the pipeline, not with a traceback."""
    from pipeline.stages import explore

    def broken(*_args: object, **_kwargs: object) -> None:
        raise IndexError("tuple index out of range")

    monkeypatch.setattr(explore, "explore", broken)
    source = tmp_path / "repo"
    shutil.copytree(FIXTURES / "flask_todo", source)
    result = generate(str(source), Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out"))
    assert result.verdict == Verdict.infra_error
    assert (
        result.reason == "crashed: IndexError('tuple index out of range') (a bug in abc-pipeline, not the repository)"
    )
    assert not (tmp_path / "out").exists()


def test_acquire_names_the_first_unreadable_file_and_how_many_more(tmp_path):
    """A FIFO cannot be copied even by root: the copy's gathered errors become one line."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "flask_todo", repo)
    for name in ("a.pipe", "b.pipe"):
        os.mkfifo(repo / name)
    with pytest.raises(StageError) as info:
        acquire.acquire(str(repo), Settings(work_dir=tmp_path / "work"))
    assert info.value.verdict == Verdict.source_unavailable
    first = next(repo / name for name in ("a.pipe", "b.pipe") if f"cannot read {repo / name}:" in info.value.reason)
    assert info.value.reason == f"cannot read {first}: `{first}` is a named pipe (and 1 more)"
    assert list((tmp_path / "work" / "snapshots").iterdir()) == []


# --------------------------------------------------------------------------- licenses

COMMONS_CLAUSE = """
"Commons Clause" License Condition v1.0

The Software is provided to you by the Licensor under the License, as defined below, subject to
the following condition.

Without limiting other conditions in the License, the grant of rights under the License will not
include, and the License does not grant to you, the right to Sell the Software.
"""

RIDERS = {
    "Commons Clause": MIT + COMMONS_CLAUSE,
    "non-commercial": MIT + "\nPermission is granted for personal and non-commercial use only.\n",
    "not for commercial use": MIT + "\nThis software may not be used for commercial purposes.\n",
    "Good, not Evil": MIT.replace("The above", "The Software shall be used for Good, not Evil.\n\nThe above", 1),
}


@pytest.mark.parametrize("rider", sorted(RIDERS))
def test_mit_with_an_added_restriction_is_rejected_naming_it(rider):
    verdict = license.license_verdict({"LICENSE": RIDERS[rider]}, [])
    assert not verdict.accepted
    assert verdict.spdx_id is None
    assert f"LICENSE is MIT with an added restriction ({rider}" in verdict.reason


def test_words_that_grant_commercial_use_are_not_a_rider():
    text = MIT + "\nYou may use it in commercial and non-commercial projects alike.\n"
    assert license.license_verdict({"LICENSE": text}, []).accepted


def test_npm_isc_default_beside_an_mit_license_is_accepted_with_a_warning(tmp_path):
    (tmp_path / "LICENSE").write_text(MIT)
    (tmp_path / "package.json").write_text(json.dumps({"name": "shop", "version": "1.0.0", "license": "ISC"}))
    snapshot = RepoSnapshot(path=tmp_path, commit="0" * 40, origin=str(tmp_path), owner="local", name="shop")
    verdict = license.check_license(snapshot)
    assert verdict.accepted and verdict.spdx_id == "MIT"
    assert verdict.warnings == ["package.json declares 'ISC', npm's default for `npm init`; LICENSE (MIT) decides"]
    # Any other contradiction still rejects.
    (tmp_path / "package.json").write_text(json.dumps({"name": "shop", "license": "Apache-2.0"}))
    assert not license.check_license(snapshot).accepted


def test_a_commons_clause_repository_ends_license_rejected_through_generate(docker_engine, tmp_path):
    source = tmp_path / "repo"
    shutil.copytree(FIXTURES / "flask_todo", source)
    (source / "LICENSE").write_text(RIDERS["Commons Clause"])
    result = generate(str(source), Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out"))
    assert result.verdict == Verdict.license_rejected
    assert result.reason == "license: LICENSE is MIT with an added restriction (Commons Clause, no selling): not MIT"
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- large files

AWS_KEY = PLANTED_SECRETS["AWS access key (config/settings.py)"]
GITHUB_TOKEN = PLANTED_SECRETS["GitHub classic token (config/ci.json)"]
KEY_BODY = PLANTED_SECRETS["private key body (config/deploy_key.pem)"]


def _dump(path: Path) -> dict[str, int]:
    """A 3 MiB SQL dump with secrets planted at its start, across its first chunk boundary
    and at its end; returns secret -> the line it is on."""
    rows = [f"INSERT INTO events VALUES ({n}, 'user{n % 97}', 'page view {n:08d}');" for n in range(60_000)]
    lines = ["-- dump of the events database", f"-- uploaded with aws key {AWS_KEY}", *rows]
    # A PEM block that straddles the first 1 MiB chunk.
    middle = next(i for i in range(len(lines)) if sum(len(x) + 1 for x in lines[:i]) > redact.CHUNK_CHARS - 40)
    pem = ["-----BEGIN RSA PRIVATE KEY-----", KEY_BODY, KEY_BODY[::-1], "-----END RSA PRIVATE KEY-----"]
    lines[middle:middle] = pem
    lines.append(f"INSERT INTO settings VALUES ('github', '{GITHUB_TOKEN}');")
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    assert path.stat().st_size > 3 * 1024 * 1024 > redact.MAX_FILE_BYTES
    return {AWS_KEY: 2, KEY_BODY: middle + 2, GITHUB_TOKEN: len(lines)}


def _grep(root: Path, values: list[str]) -> list[tuple[str, str]]:
    """(file, value) for every planted value still in any file under root."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [(str(path.relative_to(root)), v) for v in values if v.encode() in data]
    return found


def test_secrets_in_a_file_too_large_for_detect_secrets_are_redacted_and_reported(tmp_path):
    tree = tmp_path / "repo"
    shutil.copytree(FIXTURES / "flask_todo", tree)
    lines = _dump(tree / "db" / "seed.sql")
    before = (tree / "db" / "seed.sql").read_text().count("\n")

    # The leftover check sees what is there before anything is redacted.
    seen = {(f.file, f.type) for f in redact.leftover_secrets(tree, skip=())}
    assert {("db/seed.sql", "AWS Access Key"), ("db/seed.sql", "GitHub Token"), ("db/seed.sql", "Private Key")} <= seen

    report = redact.redact_tree(tree)
    assert _grep(tree, [AWS_KEY, GITHUB_TOKEN, KEY_BODY, KEY_BODY[::-1]]) == []
    assert report.large_files == ["db/seed.sql"]
    found = {(f.file, f.line, f.type) for f in report.findings}
    assert ("db/seed.sql", lines[AWS_KEY], "AWS Access Key") in found
    assert ("db/seed.sql", lines[GITHUB_TOKEN], "GitHub Token") in found
    assert ("db/seed.sql", lines[KEY_BODY] - 1, "Private Key") in found  # the block's BEGIN line
    text = (tree / "db" / "seed.sql").read_text()
    assert text.count("\n") == before - 3  # the key block became one placeholder, nothing else moved
    assert f"INSERT INTO settings VALUES ('github', '{redact.PLACEHOLDER}');" in text
    assert "INSERT INTO events VALUES (59999, 'user53', 'page view 00059999');" in text
    assert redact.leftover_secrets(tree, skip=()) == []


# --------------------------------------------------------------------------- logs


def _derived(name: str, length: int) -> str:
    """What tests/fixtures/log_secrets_app derives and prints at start."""
    return hashlib.sha256(f"log-secrets-app/{name}".encode()).hexdigest()[:length]


LOGGED_SECRETS = [_derived("session-key", 32), _derived("db-password", 20), "adm_" + _derived("admin-token", 28)]


@pytest.mark.e2e
def test_secrets_a_service_logs_at_start_are_kept_nowhere(docker_engine, tmp_path):
    source = tmp_path / "log_secrets_app"
    shutil.copytree(FIXTURES / "log_secrets_app", source)
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(source), settings, run_id=run_id)
    verified = [t for t in result.tasks if t.status == "verified"]
    assert verified, result.model_dump_json(indent=2)

    # The log was kept (the no-op's run ends with the service's log), scrubbed.
    metadata = json.loads((Path(verified[0].path) / "metadata.json").read_text())
    tail = metadata["verification_report"]["noop_run"]["log_tail"]
    assert f" * config: SECRET_KEY={redact.PLACEHOLDER}" in tail, tail
    assert " * config: DATABASE_URL=postgresql://notes:REDACTED@db.internal:5432/notes" in tail, tail
    assert f" * first start: admin API token: {redact.PLACEHOLDER}" in tail, tail
    # Not a value anywhere: the tasks, the work folder (evidence, caches), the result.
    assert _grep(settings.out_dir, LOGGED_SECRETS) == []
    assert _grep(settings.work_dir, LOGGED_SECRETS) == []
    assert not any(v in result.model_dump_json() for v in LOGGED_SECRETS)
    assert sandbox.leftovers(run_id) == []


def test_a_crash_log_in_a_reason_is_scrubbed(docker_engine, run_id, tmp_path):
    """A service that prints secrets and dies: the verdict's reason quotes its log, scrubbed,
    the values this process knows (redacted, or set in an environment) included."""
    opaque = f"opaque-{uuid.uuid4().hex}"  # no pattern knows this shape: only remembering it helps
    redact.remember_secrets([opaque])
    context = tmp_path / "ctx"
    context.mkdir()
    script = (
        "print('DATABASE_URL=postgresql://app:Pl4nted-DB-Passw0rd@db/app'); "
        f"print('connected with {opaque}'); "
        "print('admin password: Adm1n-Passw0rd-42'); raise SystemExit(3)"
    )
    (context / "Dockerfile").write_text(f'FROM python:3.11-slim-bookworm\nCMD ["python", "-c", "{script}"]\n')
    tag = f"abc-pipeline-test/crash:{run_id}"
    build = sandbox.build_image(context, tag, labels={sandbox.RUN_LABEL: run_id}, timeout=120)
    assert build.ok, build.log
    with pytest.raises(StageError) as info, sandbox.running_service(tag, port=8000, run_id=run_id):
        pass
    reason = info.value.reason
    assert info.value.verdict == Verdict.service_crashed
    assert "postgresql://app:REDACTED@db/app" in reason and "admin password: " in reason, reason
    assert not any(v in reason for v in ("Pl4nted-DB-Passw0rd", opaque, "Adm1n-Passw0rd-42")), reason


def test_a_build_log_is_scrubbed(docker_engine, run_id, tmp_path):
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "FROM python:3.11-slim-bookworm\n"
        f"RUN echo 'using token {GITHUB_TOKEN} and key {AWS_KEY}' && echo {uuid.uuid4()}\n"
    )
    build = sandbox.build_image(
        context, f"abc-pipeline-test/buildlog:{run_id}", labels={sandbox.RUN_LABEL: run_id}, timeout=120
    )
    assert build.ok, build.log
    assert GITHUB_TOKEN not in build.log and AWS_KEY not in build.log
    assert f"using token {redact.PLACEHOLDER} and key {redact.PLACEHOLDER}" in build.log
