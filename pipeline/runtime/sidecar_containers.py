"""Sidecars as containers: the servers a service needs, started before it, in one network
namespace with it.

The first sidecar owns the namespace (it joins the run's network and publishes the
service's port on the host's loopback); the other sidecars and the service join it with
`network_mode=container:<first>`. Every one of them then reaches every other on
127.0.0.1, the address the service is told (pipeline/stages/sidecars.py), and run-tests.sh
does the same with `--network container:...`, so the pipeline and the harnesses run one
topology. A sidecar gets its own memory, process and CPU limits and never a host mount:
its init files (schema SQL) are copied in before it starts.

A sidecar that does not become healthy is the machine's fault, not the repository's:
infra_error, with its log. A MySQL sidecar loads its dumps past the statements it refuses
(runtime/sql_dumps.py): what did not load is a warning the caller records, not a failure.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker.errors
from docker.models.containers import Container

from pipeline.models import Sidecar, StageError, Verdict
from pipeline.runtime import sql_dumps
from pipeline.runtime.engine import DAEMON_ERRORS, infra_error

INIT_DIR = "/docker-entrypoint-initdb.d"


@dataclass(frozen=True)
class SidecarLimits:
    """Every sidecar's limits, here and in run-tests.sh: enough for PostgreSQL's, MariaDB's
    or Redis's first start with a small schema."""

    memory: str = "512m"
    pids: int = 256
    cpus: float = 1.0


LIMITS = SidecarLimits()
HEALTH_TIMEOUT = 120.0


def container_name(service_name: str, sidecar: Sidecar) -> str:
    return f"{service_name}-{sidecar.kind}"


def _init_archive(files_root: Path, sidecar: Sidecar) -> bytes | None:
    """The sidecar's init files as a tar for put_archive, numbered in their order, with its
    loader when it has one (named as run-tests.sh names them: sql_dumps.target_name)."""
    if not sidecar.init_files:
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for index, relative in enumerate(sidecar.init_files):
            path = files_root / relative
            if not path.is_file():
                raise StageError(
                    Verdict.infra_error, f"{sidecar.kind}'s init file {relative} is missing", stage="runtime"
                )
            tar.add(path, arcname=sql_dumps.target_name(index, relative, loader=bool(sidecar.init_loader)))
        if sidecar.init_loader:
            script = sidecar.init_loader.encode()
            info = tarfile.TarInfo(sql_dumps.LOADER_NAME)
            info.size, info.mode = len(script), 0o644  # not executable: the entrypoint sources it
            tar.addfile(info, io.BytesIO(script))
    return buffer.getvalue()


def start(
    client: docker.DockerClient,
    sidecars: list[Sidecar],
    *,
    name: str,
    labels: dict[str, str],
    network: str,
    published_port: int,
    files_root: Path,
    started: list[Container],
    warnings: list[str] | None = None,
) -> Container:
    """Start `sidecars` (appended to `started` as they are created, so the caller removes
    them whatever happens) and return the one that owns the network namespace, once all
    are healthy. What of their init files did not load goes to `warnings`, each led by
    the sidecar's kind."""
    owner: Container | None = None
    for sidecar in sidecars:
        common = {
            "name": container_name(name, sidecar),
            "detach": True,
            "environment": sidecar.env,
            "labels": labels,
            "mem_limit": LIMITS.memory,
            "memswap_limit": LIMITS.memory,
            "pids_limit": LIMITS.pids,
            "nano_cpus": int(LIMITS.cpus * 1_000_000_000),
            "security_opt": ["no-new-privileges"],
            "privileged": False,
        }
        try:
            if owner is None:
                # The namespace's owner holds its hosts file: every name a sidecar is known by
                # resolves to the loopback for all who join (the service included).
                container = client.containers.create(
                    sidecar.image,
                    command=sidecar.command or None,
                    network=network,
                    ports={f"{published_port}/tcp": ("127.0.0.1", None)},
                    extra_hosts={host: "127.0.0.1" for s in sidecars for host in s.hosts},
                    **common,
                )
            else:
                container = client.containers.create(
                    sidecar.image, command=sidecar.command or None, network_mode=f"container:{owner.id}", **common
                )
        except docker.errors.ImageNotFound as exc:
            raise StageError(
                Verdict.infra_error,
                f"the {sidecar.kind} sidecar's image {sidecar.image} does not exist",
                stage="runtime",
            ) from exc
        except DAEMON_ERRORS as exc:
            raise infra_error(f"creating the {sidecar.kind} sidecar", exc) from exc
        started.append(container)
        archive = _init_archive(files_root, sidecar)
        try:
            if archive is not None:
                container.put_archive(INIT_DIR, archive)
            container.start()
        except DAEMON_ERRORS as exc:
            raise infra_error(f"starting the {sidecar.kind} sidecar", exc) from exc
        owner = owner or container
        wait_healthy(container, sidecar)
        if warnings is not None and sidecar.init_loader:
            warnings.extend(f"{sidecar.kind}: {line}" for line in sql_dumps.problems(log_tail(container, lines=2000)))
    assert owner is not None
    return owner


def wait_healthy(container: Container, sidecar: Sidecar, timeout: float | None = None) -> None:
    """Until the sidecar's health command exits 0 inside it (HEALTH_TIMEOUT at most);
    infra_error with its log when it exits or never does."""
    timeout = HEALTH_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            container.reload()
            state = container.attrs.get("State", {})
            if not state.get("Running"):
                raise StageError(
                    Verdict.infra_error,
                    f"the {sidecar.kind} sidecar ({sidecar.image}) exited with code {state.get('ExitCode')}; "
                    f"its log:\n{log_tail(container)}",
                    stage="runtime",
                )
            code, output = container.exec_run(sidecar.health, demux=False)
        except DAEMON_ERRORS as exc:
            raise infra_error(f"checking the {sidecar.kind} sidecar", exc) from exc
        if code == 0:
            return
        last = (output or b"").decode("utf-8", errors="replace").strip()[-200:]
        if time.monotonic() >= deadline:
            raise StageError(
                Verdict.infra_error,
                f"the {sidecar.kind} sidecar ({sidecar.image}) was not healthy within {timeout:.0f} s "
                f"({' '.join(sidecar.health)}: {last or 'no output'}); its log:\n{log_tail(container)}",
                stage="runtime",
            )
        time.sleep(0.5)


def log_tail(container: Container, lines: int = 30) -> str:
    with contextlib.suppress(*DAEMON_ERRORS):
        return container.logs(tail=lines).decode("utf-8", errors="replace").rstrip() or "(no output)"
    return "(logs unavailable)"
