"""One trial of a task package, run the way Terminal-Bench and Harbor run it.

The harnesses build the package's client image (its Dockerfile, the masked repository in
/app), start it with the Docker socket mounted, copy `run-tests.sh` and `tests/` into
`/tests`, run the agent (for the oracle: `bash /oracle/solution.sh` from the working
folder), then `bash /tests/run-tests.sh`, and judge the task by pytest's short test
summary in what the terminal showed. A trial here does exactly that with the docker SDK,
so the gate exercises the client image, its Python and pytest and its place on the
network: what is verified is what ships.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import re
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
from docker.models.containers import Container

from pipeline.config import Limits
from pipeline.models import StageError, Verdict
from pipeline.runtime import sandbox
from pipeline.runtime.engine import DAEMON_ERRORS, docker_client, infra_error
from pipeline.runtime.failures import EXIT_CODES, TIMEOUT_EXIT, verdict_for_exit
from pipeline.task_folder import TaskFolder

CONTAINER_TEST_DIR = "/tests"
CONTAINER_ORACLE_DIR = "/oracle"
# The agent's container also builds and runs the service through the socket, but those
# containers have limits of their own (run-tests.sh); this bounds the client itself.
CLIENT_MEMORY = "2g"
CLIENT_PIDS = 1024

_SUMMARY_HEADER = re.compile(r"=+\s*short test summary info\s*=+", re.IGNORECASE)
_STATUSES = {"PASSED": True, "XFAIL": True, "SKIPPED": True, "FAILED": False, "XPASS": False, "ERROR": False}


def pytest_results(output: str) -> dict[str, bool] | None:
    """Test id -> passed, read from pytest's short test summary the way Terminal-Bench's
    pytest parser reads it (PASSED, SKIPPED and XFAIL count as passed); None when the
    output has no summary (pytest never ran). Ids keep their file (`test_func.py::test_x`)."""
    parts = _SUMMARY_HEADER.split(output, maxsplit=1)
    if len(parts) < 2:
        return None
    results: dict[str, bool] = {}
    for line in parts[1].splitlines():
        if line.startswith("FAILED") and " - " in line:
            line = " - ".join(line.split(" - ")[:-1])
        words = line.split(maxsplit=1)
        if len(words) < 2 or words[0].strip(":") not in _STATUSES:
            continue
        test = words[1].strip().rsplit("/", 1)[-1]
        if "::" in test:
            results[test] = _STATUSES[words[0].strip(":")]
    return results


@dataclass
class TrialOutcome:
    """What one trial showed: run-tests.sh's exit code and output, and pytest's results."""

    exit_code: int
    output: str
    seconds: float
    tests: dict[str, bool] | None = field(default=None)
    setup_error: str | None = None

    @property
    def resolved(self) -> bool:
        """Resolved as the harness counts it: every test in the summary passed."""
        return self.exit_code == EXIT_CODES[Verdict.passed] and bool(self.tests) and all(self.tests.values())

    @property
    def verdict(self) -> Verdict:
        if self.exit_code == EXIT_CODES[Verdict.passed] and not self.resolved:
            return Verdict.tests_failed  # run-tests.sh said yes, the harness's parser would not
        return verdict_for_exit(self.exit_code)

    def failed_files(self) -> set[str]:
        return {test.split("::", 1)[0].removesuffix(".py") for test, ok in (self.tests or {}).items() if not ok}


def _keep_client_layers(task_dir: Path, timeout: int) -> None:
    """Keep the client image's task-independent layers (system packages, pytest) as an
    image of their own, tagged and labelled like a base image.

    Removing a task's client image after the gate also removes its untagged parent
    layers, so without this every gate would reinstall the client's packages. The
    Dockerfile's lines before its first COPY are built into a tagged image; the task's
    own build then finds those layers in the cache, and the clean-up stops at the tag."""
    lines = TaskFolder.terminal_bench(task_dir).dockerfile.read_text().splitlines()
    head = "\n".join(itertools.takewhile(lambda line: not line.upper().startswith(("COPY", "ADD")), lines)) + "\n"
    tag = f"abc-pipeline/task-client:{hashlib.sha256(head.encode()).hexdigest()[:12]}"
    client = docker_client()
    try:
        client.images.get(tag)
        return
    except docker.errors.ImageNotFound:
        pass
    except DAEMON_ERRORS as exc:
        raise infra_error("looking up the client's cached layers", exc) from exc
    with tempfile.TemporaryDirectory(prefix="abc-client-") as context:
        (Path(context) / "Dockerfile").write_text(head)
        result = sandbox.build_image(Path(context), tag, labels={sandbox.BASE_IMAGE_LABEL: tag}, timeout=timeout)
    if not result.ok and result.infra_reason:
        raise StageError(Verdict.infra_error, f"the client image did not build: {result.infra_reason}")
    # Any other failure shows again, with the package's context, in the task's own build.


def build_client_image(task_dir: Path, tag: str, *, run_id: str, parent_run: str | None, timeout: int) -> str:
    """Build the package's client image from its own Dockerfile, as the harness does."""
    _keep_client_layers(task_dir, timeout)
    labels = {sandbox.RUN_LABEL: run_id}
    if parent_run:
        labels[sandbox.PARENT_LABEL] = parent_run
    result = sandbox.build_image(task_dir, tag, labels=labels, timeout=timeout)
    if not result.ok:
        if result.infra_reason:
            raise StageError(Verdict.infra_error, f"the client image did not build: {result.infra_reason}")
        raise StageError(
            Verdict.oracle_failed,
            f"the package's client image does not build: {sandbox.failed_step_output(result.log)[-400:]}",
        )
    return tag


def _docker_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


def _archive(files: dict[str, Path]) -> bytes:
    """A tar of files and folders, each at its name in the archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, path in files.items():
            tar.add(path, arcname=name)
    return buffer.getvalue()


def run_trial(
    image: str,
    task_dir: Path,
    *,
    with_solution: bool,
    run_id: str,
    parent_run: str | None,
    limits: Limits,
    solution: Path | None = None,
) -> TrialOutcome:
    """Start a client container from `image`, apply solution.sh when asked (the oracle),
    run /tests/run-tests.sh in it and read the result. The client and everything
    run-tests.sh started are removed afterwards (they carry `run_id`).

    `solution` replaces the task's solution.sh (the strength gate's stand-ins: the same
    script with another patch), run the same way."""
    client = docker_client()
    task = TaskFolder.terminal_bench(task_dir)
    labels = {sandbox.LABEL: "1", sandbox.RUN_LABEL: run_id}
    if parent_run:
        labels[sandbox.PARENT_LABEL] = parent_run
    name = f"abc-client-{run_id}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    container: Container | None = None
    network = None
    try:
        try:
            network = client.networks.create(name, driver="bridge", labels=labels)
            container = client.containers.run(
                image,
                command=["sh", "-c", "sleep infinity"],
                name=name,
                detach=True,
                labels=labels,
                network=network.name,
                environment={"TEST_DIR": CONTAINER_TEST_DIR},
                volumes={_docker_socket(): {"bind": "/var/run/docker.sock", "mode": "rw"}},
                mem_limit=CLIENT_MEMORY,
                pids_limit=CLIENT_PIDS,
                security_opt=["no-new-privileges"],
            )
            container.put_archive("/", _archive({"tests": task.tests, "tests/run-tests.sh": task.run_tests}))
            container.put_archive("/", _archive({"oracle/solution.sh": solution or task.solution}))
        except DAEMON_ERRORS as exc:
            raise infra_error("starting the task's client container", exc) from exc
        if with_solution:
            code, output = _exec(container, f"bash {CONTAINER_ORACLE_DIR}/solution.sh", timeout=300)
            if code != 0:
                return TrialOutcome(
                    exit_code=code,
                    output=output,
                    seconds=round(time.monotonic() - started, 2),
                    setup_error=f"solution.sh exited {code}: {output.strip()[-300:]}",
                )
        env = {
            "ABC_RUN_ID": run_id,
            "KEEP_IMAGE": "1",  # the gate removes its images at the end: later trials reuse the layers
            "BUILD_TIMEOUT": str(limits.build_timeout),
            "STARTUP_TIMEOUT": str(limits.startup_timeout),
            "TEST_TIMEOUT": str(limits.test_timeout),
        }
        if parent_run:
            env["ABC_PARENT_RUN"] = parent_run
        budget = limits.build_timeout + limits.startup_timeout + limits.test_timeout + 60
        code, output = _exec(container, f"bash {CONTAINER_TEST_DIR}/run-tests.sh", timeout=budget, env=env)
        return TrialOutcome(
            exit_code=code, output=output, seconds=round(time.monotonic() - started, 2), tests=pytest_results(output)
        )
    finally:
        sandbox.cleanup(run_id)


def _exec(container: Container, command: str, *, timeout: int, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `command` in the client's working folder, as the harness's terminal would,
    killed after `timeout` seconds (read as run-tests.sh's test_timeout)."""
    wrapped = ["timeout", "-k", "10", str(timeout), "bash", "-c", command]
    try:
        result = container.exec_run(wrapped, environment=env or {}, demux=False)
    except docker.errors.NotFound as exc:
        raise StageError(Verdict.infra_error, "the client container went away during the trial") from exc
    except DAEMON_ERRORS as exc:
        raise infra_error("running a command in the task's client container", exc) from exc
    output = (result.output or b"").decode("utf-8", errors="replace")
    code = result.exit_code if result.exit_code is not None else EXIT_CODES[Verdict.infra_error]
    return (EXIT_CODES[Verdict.test_timeout] if code == TIMEOUT_EXIT else code), output
