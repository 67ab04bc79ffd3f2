"""Building and running untrusted repository code in Docker.

Two rules shape this module:

* A failure of the *task* (the build breaks, the service crashes, never answers, runs
  out of memory) is a value the caller can judge: `BuildResult(ok=False)` or a
  StageError with that verdict. A failure of the *machine* (daemon gone, disk full) is
  always `Verdict.infra_error`, so a broken machine never rejects a good task.
* Nothing outlives its run: every container and network carries the labels
  `abc-pipeline=1` and `abc-pipeline.run=<run id>`, `running_service` removes its own on
  every exit path, and `cleanup()` sweeps whatever a killed process left behind.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.utils
import requests
from docker.models.containers import Container
from docker.models.images import Image
from pydantic import BaseModel, Field

from pipeline.config import Limits
from pipeline.models import Sidecar, StageError, Verdict
from pipeline.runtime import context_archive, dependency_layers, failures, sidecar_containers
from pipeline.runtime.engine import DAEMON_ERRORS, docker_client, infra_error
from pipeline.stages.redact import scrub

log = logging.getLogger(__name__)

LABEL = "abc-pipeline"
RUN_LABEL = "abc-pipeline.run"
# What a task's own run-tests.sh makes during verification carries its own run id and,
# under generate, the generate run's id here: the run's clean-up (also after Ctrl-C or a
# killed batch) finds it.
PARENT_LABEL = "abc-pipeline.parent"
# Base images carry these (see base_images.py). Docker copies labels from the FROM image
# into every image built on it, so a label alone cannot tell a base image from an app
# image built on it (by build_image or by a task's run-tests.sh). A tag is not inherited:
# a base image is one tagged with the name its BASE_IMAGE_LABEL states.
BASE_RECIPE_LABEL = "abc-pipeline.base-recipe"
BASE_NAME_LABEL = "abc-pipeline.base"
BASE_IMAGE_LABEL = "abc-pipeline.base-image"
ROOTFS_IMAGE = "abc-pipeline/debian:bookworm"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# A start command that cannot be executed is the task's fault (a crash at start), even
# though the daemon reports it as an API error of `start`.
_START_CRASH_PATTERNS = re.compile(
    r"executable file not found|no such file or directory|permission denied|exec format error",
    re.IGNORECASE,
)


class BuildResult(BaseModel):
    ok: bool
    log: str = Field(description="the whole build output, as `docker build` prints it, secrets scrubbed")
    seconds: float
    image_id: str | None = None
    timed_out: bool = False
    infra_reason: str | None = Field(
        default=None,
        description="set when the failed step's output says the machine is at fault (disk, OOM, network): "
        "not the repository's, so no verdict against it and no repair",
    )
    layers: list[str] = Field(
        default_factory=list,
        description="layers this build made anew (not from the cache), in order; after a failure the "
        "last one is what to remove, since no run label reaches an unfinished image",
    )


def new_layers(build_log: str) -> list[str]:
    """Ids of the layers a (legacy builder) build made anew, in order; cached steps and FROM excluded."""
    layers = []
    for step in re.split(r"^Step \d+/\d+ : ", build_log, flags=re.MULTILINE)[1:]:
        if step.upper().startswith("FROM ") or "Using cache" in step:
            continue
        layers += re.findall(r"^ ---> ([0-9a-f]{12})\s*$", step, flags=re.MULTILINE)[-1:]
    return layers


def failed_step_output(build_log: str) -> str:
    """The output of the build's last step (the one that failed), led by its header."""
    headers = list(re.finditer(r"^Step \d+/\d+ : ", build_log, flags=re.MULTILINE))
    return build_log[headers[-1].start() :] if headers else build_log


def build_infra_reason(build_log: str) -> str | None:
    """The line of a failed build's last step that says the machine is at fault, else None."""
    # The daemon colours a step's stderr, even in the middle of a line ("npm ERR!").
    output = failures.without_warnings(_ANSI.sub("", failed_step_output(build_log)))
    match = failures.build_step_fault(output)
    if match is None:
        return None
    start = output.rfind("\n", 0, match.start()) + 1
    end = output.find("\n", match.end())
    return output[start : end if end != -1 else len(output)].strip()[:300]


@dataclass
class RunningService:
    """A healthy service container, valid inside its `running_service` block."""

    base_url: str
    host_port: int
    container_id: str
    container_name: str
    network_name: str
    run_id: str
    _container: Container = field(repr=False)
    #: what of the sidecars' init files (SQL dumps) did not load (runtime/sql_dumps.py)
    sidecar_warnings: list[str] = field(default_factory=list)

    def logs(self, tail: int | None = None) -> str:
        """The container's stdout and stderr so far (the last `tail` lines if given)."""
        try:
            raw = self._container.logs(stdout=True, stderr=True, tail="all" if tail is None else tail)
        except docker.errors.NotFound:
            return ""
        except DAEMON_ERRORS as exc:
            raise infra_error("reading container logs", exc) from exc
        return scrub(raw.decode("utf-8", errors="replace"))

    def stopped(self) -> StageError | None:
        """Why the service is no longer running (its exit code or the OOM kill, and its last
        log lines), or None while it runs. A request the service closed without an answer
        is a crash when this says so."""
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return StageError(Verdict.service_crashed, "the service container is gone", stage="runtime")
        except DAEMON_ERRORS as exc:
            raise infra_error("inspecting the service container", exc) from exc
        state = self._container.attrs.get("State") or {}
        if state.get("Running"):
            return None
        return _crash_error(self._container, state)


def _safe_name(text: str, limit: int = 40) -> str:
    # Container and network names: [a-zA-Z0-9][a-zA-Z0-9_.-]*
    cleaned = re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-.") or "run"
    return cleaned[:limit]


# --------------------------------------------------------------------------- build


class _RecordingAPIClient(docker.APIClient):
    """An APIClient that keeps the last streaming response, so a watchdog can cut it.

    docker-py's build() hides the HTTP response inside its generator, and a blocking
    read cannot be interrupted otherwise. Shutting the socket down makes the read
    return and the daemon cancel the build (it cancels when its client goes away).
    """

    last_response: requests.Response | None = None

    def _post(self, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super()._post(url, **kwargs)
        if kwargs.get("stream"):
            self.last_response = response
        return response


def _cut(response: requests.Response | None) -> None:
    if response is None:
        return
    try:
        raw = response.raw._fp.fp.raw  # SocketIO over the unix socket / the TLS socket
        sock = getattr(raw, "_sock", raw)
        sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # the layout is docker-py's internals: fall back to a plain close
        with contextlib.suppress(Exception):
            response.close()


def build_image(
    context_dir: Path,
    tag: str,
    *,
    labels: dict[str, str] | None = None,
    timeout: int,
    dockerfile: str = "Dockerfile",
    buildargs: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    nocache: bool = False,
    keep_dependencies: bool = False,
) -> BuildResult:
    """Build `context_dir` into `tag`; a broken build is `ok=False` with its log.

    The build cache is kept between runs (nocache only for cold-build measurements),
    intermediate containers are always removed (forcerm), and `timeout` bounds the whole
    build: the build is cancelled on the daemon when it runs out. With keep_dependencies the
    layer before the source copy outlives the run's clean-up (dependency_layers.py), even
    when a later step failed. Raises
    StageError(infra_error) only for daemon-side failures; a failed step whose output
    shows the machine at fault (disk full, the host's OOM killer, no network to a
    registry) comes back with `infra_reason` set.
    """
    client = docker_client()
    # The inherited base labels are blanked: they describe the base, not this image.
    all_labels = {
        LABEL: "1",
        BASE_RECIPE_LABEL: "",
        BASE_NAME_LABEL: "",
        BASE_IMAGE_LABEL: "",
        **(labels or {}),
    }
    # A client of its own: its streaming response is cut on timeout without touching
    # the shared client's connection pool.
    api = _RecordingAPIClient(
        **docker.utils.kwargs_from_env(), version=client.api.api_version, timeout=max(timeout, 60)
    )
    lines: list[str] = []
    image_id: str | None = None
    error: str | None = None
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        _cut(api.last_response)

    start = time.monotonic()
    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    context: context_archive.ContextArchive | None = None
    try:
        try:
            # Archived as a task's client archives it, so run-tests.sh's builds reuse these layers.
            context = context_archive.archive(context_dir, dockerfile)
            stream = api.build(
                fileobj=context.file,
                custom_context=True,
                tag=tag,
                dockerfile=context.dockerfile,
                labels=all_labels,
                buildargs=buildargs or None,
                rm=True,
                forcerm=True,
                nocache=nocache,
                decode=True,
                timeout=max(timeout, 60),
            )
            timer.start()
            for chunk in stream:
                text = _chunk_text(chunk)
                if text:
                    lines.append(text)
                    if on_line is not None:
                        on_line(text.rstrip("\n"))
                if "aux" in chunk and isinstance(chunk["aux"], dict) and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
                if "error" in chunk or "errorDetail" in chunk:
                    detail = chunk.get("errorDetail") or {}
                    error = str(chunk.get("error") or detail.get("message") or "build failed")
        except docker.errors.APIError as exc:
            # The daemon refused the build before it started: a missing Dockerfile is
            # the task's (400), a 500 or a full disk is the machine's.
            if exc.is_server_error() or failures.is_daemon_fault(str(exc)):
                raise infra_error("building an image", exc) from exc
            error = str(exc)
        except (*DAEMON_ERRORS, OSError) as exc:
            if not timed_out.is_set():
                raise infra_error("building an image", exc) from exc
    finally:
        timer.cancel()
        with contextlib.suppress(Exception):
            api.close()
        if context is not None:
            context.file.close()
    seconds = time.monotonic() - start
    if keep_dependencies:
        dependency_layers.keep("".join(lines))

    if timed_out.is_set():
        lines.append(f"\n[abc-pipeline] build timed out after {timeout} s and was cancelled\n")
        text = "".join(lines)
        return BuildResult(ok=False, log=scrub(text), seconds=seconds, timed_out=True, layers=new_layers(text))
    if error is not None:
        if failures.is_daemon_fault(error):
            raise StageError(Verdict.infra_error, f"Docker could not build the image: {error}", stage="runtime")
        if not lines or not lines[-1].rstrip().endswith(error.strip()):
            lines.append(error.rstrip("\n") + "\n")
        text = "".join(lines)
        # A machine fault is returned, not raised: the caller may still have a way round it
        # (the synthesized Dockerfile when the repository's FROM image cannot be pulled).
        infra = build_infra_reason(text)
        return BuildResult(
            ok=False,
            log=scrub(text),
            seconds=seconds,
            infra_reason=scrub(infra) if infra else None,
            layers=new_layers(text),
        )
    if image_id is None:
        # Older daemons only print "Successfully built <id>"; ask for the tag instead.
        try:
            image_id = client.images.get(tag).id
        except docker.errors.ImageNotFound:
            return BuildResult(ok=False, log="".join(lines) + "no image was produced\n", seconds=seconds)
        except DAEMON_ERRORS as exc:
            raise infra_error("inspecting a built image", exc) from exc
    text = "".join(lines)
    return BuildResult(ok=True, log=scrub(text), seconds=seconds, image_id=image_id, layers=new_layers(text))


def _chunk_text(chunk: dict[str, Any]) -> str:
    if "stream" in chunk:
        return str(chunk["stream"])
    if "status" in chunk:  # pulls during FROM
        progress = f" {chunk['id']}" if chunk.get("id") else ""
        return f"{chunk['status']}{progress}\n"
    if "error" in chunk:
        return str(chunk["error"]).rstrip("\n") + "\n"
    if "message" in chunk:
        return str(chunk["message"]).rstrip("\n") + "\n"
    return ""


# --------------------------------------------------------------------------- run


@contextlib.contextmanager
def running_service(
    image: str,
    *,
    port: int,
    env: dict[str, str] | None = None,
    health_path: str = "/",
    limits: Limits | None = None,
    run_id: str,
    command: list[str] | None = None,
    sidecars: list[Sidecar] | None = None,
    files_root: Path | None = None,
) -> Iterator[RunningService]:
    """Run `image` as a service and yield it once `health_path` answers (< 500, or 5xx for 15 s).

    Raises StageError with service_crashed (the container exited; its last log lines
    are in the reason), oom (it was OOM-killed), startup_timeout (no answer within
    limits.startup_timeout) or infra_error. The container and its network are removed
    on every exit path.

    `sidecars` (servers the service needs) start first, in one network namespace with the
    service (runtime/sidecar_containers.py); their init files are read under `files_root`.
    """
    limits = limits or Limits()
    client = docker_client()
    suffix = uuid.uuid4().hex[:8]
    name = f"abc-{_safe_name(run_id)}-{suffix}"
    labels = {LABEL: "1", RUN_LABEL: run_id}
    network = None
    container: Container | None = None
    companions: list[Container] = []
    sidecar_warnings: list[str] = []
    port_holder: Container | None = None
    try:
        try:
            # A network per run: services of different runs cannot reach each other.
            network = client.networks.create(name, driver="bridge", labels=labels, check_duplicate=True)
        except DAEMON_ERRORS as exc:
            raise infra_error("creating the service network", exc) from exc
        if sidecars:
            port_holder = sidecar_containers.start(
                client,
                sidecars,
                name=name,
                labels=labels,
                network=network.name,
                published_port=port,
                files_root=files_root or Path("."),
                started=companions,
                warnings=sidecar_warnings,
            )
        # In the first sidecar's namespace when there are sidecars (it publishes the port).
        placement: dict[str, Any] = (
            {"network_mode": f"container:{port_holder.id}"}
            if port_holder is not None
            else {"network": network.name, "ports": {f"{port}/tcp": ("127.0.0.1", None)}}  # random host port
        )
        try:
            # create + start rather than run(): run() pulls a missing image, which would
            # hide a missing base image behind a registry error.
            container = client.containers.create(
                image,
                command=command,
                name=name,
                detach=True,
                environment=env or {},
                labels=labels,
                **placement,
                mem_limit=limits.memory,
                memswap_limit=limits.memory,  # no swap: a memory hog is OOM-killed, not slowed
                pids_limit=limits.pids,
                nano_cpus=int(limits.cpus * 1_000_000_000),
                # cap_drop=ALL breaks apps that chown or bind low ports; this still stops
                # setuid escalation. Never privileged, no volumes, no host mounts.
                security_opt=["no-new-privileges"],
                privileged=False,
            )
        except docker.errors.ImageNotFound as exc:
            raise StageError(
                Verdict.infra_error, f"image {image} does not exist; build it first", stage="runtime"
            ) from exc
        except DAEMON_ERRORS as exc:
            raise infra_error("creating the service container", exc) from exc
        try:
            container.start()
        except docker.errors.APIError as exc:
            if _START_CRASH_PATTERNS.search(str(exc)) and not failures.is_daemon_fault(str(exc)):
                raise StageError(
                    Verdict.service_crashed,
                    f"the container could not start: {exc.explanation or exc}",
                    stage="runtime",
                ) from exc
            raise infra_error("starting the service container", exc) from exc
        except DAEMON_ERRORS as exc:
            raise infra_error("starting the service container", exc) from exc

        try:
            service = _wait_healthy(
                container, port=port, health_path=health_path, limits=limits, port_holder=port_holder
            )
        except StageError as exc:
            if not sidecar_warnings or exc.verdict not in (Verdict.service_crashed, Verdict.startup_timeout):
                raise
            # A table the service misses at start is often one its dump did not make: say so,
            # first, so that the service's own last error stays the log's last line.
            raise StageError(
                exc.verdict,
                f"(its database's dump did not load entirely: {'; '.join(sidecar_warnings)})\n{exc.reason}",
                stage=exc.stage,
            ) from exc
        service.sidecar_warnings = sidecar_warnings
        service.network_name = network.name
        service.run_id = run_id
        yield service
    finally:
        _remove_quietly(container, None)
        for companion in reversed(companions):
            _remove_quietly(companion, None)
        _remove_quietly(None, network)


SERVER_ERROR_PATIENCE = 15.0


def _wait_healthy(
    container: Container, *, port: int, health_path: str, limits: Limits, port_holder: Container | None = None
) -> RunningService:
    path = health_path if health_path.startswith("/") else "/" + health_path
    deadline = time.monotonic() + limits.startup_timeout
    # trust_env=False: an HTTP(S)_PROXY in the environment must not catch 127.0.0.1.
    session = requests.Session()
    session.trust_env = False
    base_url: str | None = None
    host_port = 0
    last_error = "no answer yet"
    # A health path that answers 5xx may be warming up (a database connect that comes
    # later) or may be broken for good (a page whose template is outside the service's
    # folder); once it has answered 5xx for SERVER_ERROR_PATIENCE, the service is up
    # (run-tests.sh takes any HTTP answer), and the route's failure is the route's.
    first_server_error: float | None = None
    try:
        while True:
            try:
                container.reload()
            except docker.errors.NotFound as exc:
                raise StageError(
                    Verdict.service_crashed, "the container disappeared while starting", stage="runtime"
                ) from exc
            except DAEMON_ERRORS as exc:
                raise infra_error("inspecting the service container", exc) from exc
            state = container.attrs.get("State", {})
            if state.get("Status") in {"exited", "dead"} or (
                state.get("Status") != "created" and not state.get("Running")
            ):
                raise _crash_error(container, state)
            if base_url is None:
                if port_holder is not None:
                    port_holder.reload()
                host_port = _host_port(port_holder or container, port)
                if host_port:
                    base_url = f"http://127.0.0.1:{host_port}"
            if base_url is not None:
                try:
                    remaining = max(0.5, min(3.0, deadline - time.monotonic()))
                    answer = session.get(base_url + path, timeout=remaining, allow_redirects=False)
                    if answer.status_code >= 500 and first_server_error is None:
                        first_server_error = time.monotonic()
                    patience = min(SERVER_ERROR_PATIENCE, limits.startup_timeout / 4)
                    if answer.status_code < 500 or time.monotonic() - (first_server_error or 0.0) >= patience:
                        return RunningService(
                            base_url=base_url,
                            host_port=host_port,
                            container_id=container.id or "",
                            container_name=container.name or "",
                            network_name="",
                            run_id="",
                            _container=container,
                        )
                    last_error = f"GET {path} answered {answer.status_code}"
                except requests.RequestException as exc:
                    last_error = f"GET {path}: {type(exc).__name__}"
            if time.monotonic() >= deadline:
                tail = _log_tail(container)
                raise StageError(
                    Verdict.startup_timeout,
                    f"the service did not answer GET {path} with a status < 500 within "
                    f"{limits.startup_timeout} s ({last_error}); last log lines:\n{tail}",
                    stage="runtime",
                )
            time.sleep(0.25)
    finally:
        session.close()


def _host_port(container: Container, port: int) -> int:
    bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{port}/tcp") or []
    for binding in bindings:
        if binding.get("HostPort"):
            return int(binding["HostPort"])
    return 0


NO_OUTPUT = "(no output)"


def _log_tail(container: Container, lines: int = 40) -> str:
    try:
        text = container.logs(stdout=True, stderr=True, tail=lines).decode("utf-8", errors="replace")
    except DAEMON_ERRORS:
        return "(logs unavailable)"
    # What a service prints at start (its config, a generated password) ends up in reasons.
    return scrub(text.rstrip()) or NO_OUTPUT


def _crash_error(container: Container, state: dict[str, Any]) -> StageError:
    tail = _log_tail(container)
    code = state.get("ExitCode")
    if state.get("OOMKilled"):
        return StageError(
            Verdict.oom,
            f"the service was killed for exceeding its memory limit; last log lines:\n{tail}",
            stage="runtime",
        )
    if tail == NO_OUTPUT:
        # Nothing logged: what was run and how it ended is all there is to go on.
        config = container.attrs.get("Config") or {}
        command = " ".join([*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]) or "(the image's default)"
        return StageError(
            Verdict.service_crashed,
            f"the service exited with code {code} before writing anything; it ran `{command}`",
            stage="runtime",
        )
    return StageError(
        Verdict.service_crashed,
        f"the service exited with code {code} before answering; last log lines:\n{tail}",
        stage="runtime",
    )


def _remove_quietly(container: Container | None, network: Any) -> None:
    """Remove the run's container and network; an interrupt here must not skip it."""
    interrupted: BaseException | None = None
    for _attempt in range(3):
        try:
            if container is not None:
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True, v=True)
                container = None
            if network is not None:
                with contextlib.suppress(docker.errors.NotFound):
                    network.remove()
                network = None
            break
        except KeyboardInterrupt as exc:  # a second Ctrl-C while cleaning: finish first
            interrupted = exc
        except DAEMON_ERRORS as exc:
            log.warning("could not remove a run's container or network: %s", exc)
            time.sleep(0.5)
    if interrupted is not None:
        raise interrupted


# --------------------------------------------------------------------------- cleanup


@contextlib.contextmanager
def interruptible_run(run_id: str) -> Iterator[None]:
    """Ctrl-C (SIGINT) or SIGTERM during the block: the run's containers, networks and
    images are removed at once, in a thread of its own, and the block unwinds
    (KeyboardInterrupt; SystemExit(143) for SIGTERM, which would otherwise kill Python
    without running any `finally`).

    Why at once: between the signal and the caller's own clean-up there may be minutes of
    someone else's code (Prefect reports the crash to its ephemeral server, which the same
    Ctrl-C to the process group has stopped, and retries). Main thread only; elsewhere
    the block runs as is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, _frame: object) -> None:
        _interrupted_runs.add(run_id)
        threading.Thread(target=_cleanup_quietly, args=(run_id,), name=f"cleanup-{run_id}").start()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# Runs a signal interrupted. The KeyboardInterrupt reaches the main thread only; a stage
# that an orchestrator runs in another thread would go on to the next one, so the run's
# stages check this before they start (see pipeline/run.py, Run.stage).
_interrupted_runs: set[str] = set()


def interrupted(run_id: str) -> bool:
    return run_id in _interrupted_runs


def _cleanup_quietly(run_id: str) -> None:
    try:
        cleanup(run_id, images=True)
    except Exception as exc:  # the caller's own clean-up tries again; say why this one failed
        log.warning("clean-up of run %s after an interrupt failed: %s", run_id, exc)


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM back while the block runs; raise it afterwards.

    For cleanup after an interrupt: the user's second Ctrl-C, or a TERM from a batch
    runner, must not cut the removal of a run's containers short. Signals can only be
    handled in the main thread; elsewhere the block runs unshielded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            if received[0] == signal.SIGINT:
                raise KeyboardInterrupt
            signal.raise_signal(received[0])


def is_base_image(image: Image) -> bool:
    """True for a base image: tagged with the name its own label states (tags are not
    inherited by images built on it, labels are)."""
    tags = set(image.tags or [])
    return ROOTFS_IMAGE in tags or bool((image.labels or {}).get(BASE_IMAGE_LABEL, "") in tags)


def _is_kept(image: Image) -> bool:
    return is_base_image(image) or dependency_layers.is_cache_image(image)


def leftovers(run_id: str | None = None) -> list[str]:
    """Containers, networks and images labelled by the pipeline (and the run), caches excepted."""
    client = docker_client()
    left: list[str] = []
    try:
        for filters in _filter_sets(run_id):
            left += [
                f"container {c.name}" for c in _listed(lambda f=filters: client.containers.list(all=True, filters=f))
            ]
            left += [f"network {n.name}" for n in _listed(lambda f=filters: client.networks.list(filters=f))]
            images = _listed(lambda f=filters: client.images.list(filters=f))
            left += [f"image {i.tags or i.short_id}" for i in images if not _is_kept(i)]
    except DAEMON_ERRORS as exc:
        raise infra_error("listing the pipeline's containers", exc) from exc
    return sorted(set(left))


def _listed(list_call: Callable[[], list[Any]], attempts: int = 5) -> list[Any]:
    """A docker-py listing, again when an object went away between the list and its
    inspection (docker-py inspects each one): another run's clean-up is removing it."""
    for attempt in range(attempts):
        try:
            return list_call()
        except docker.errors.NotFound:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    return []


def _filter_sets(run_id: str | None) -> list[dict[str, list[str]]]:
    """Docker label filters are ANDed: one set for the run's own objects, one for its children's."""
    if run_id is None:
        return [{"label": [f"{LABEL}=1"]}]
    return [{"label": [f"{LABEL}=1", f"{label}={run_id}"]} for label in (RUN_LABEL, PARENT_LABEL)]


def _remove_network(network: Any, patience: float = 10.0) -> int:
    """Remove a network, waiting while a container another client is removing (a killed
    run-tests.sh's `docker rm -f`) still holds an endpoint on it. 1 if removed, else 0."""
    deadline = time.monotonic() + patience
    while True:
        try:
            network.remove()
            return 1
        except docker.errors.NotFound:
            return 0
        except docker.errors.APIError:
            if time.monotonic() >= deadline:
                raise
            with contextlib.suppress(*DAEMON_ERRORS):  # force out what is still attached
                network.reload()
                for container in network.containers:
                    network.disconnect(container, force=True)
            time.sleep(0.5)


def cleanup(run_id: str | None = None, *, images: bool = False) -> dict[str, int]:
    """Remove every container and network labelled abc-pipeline=1 (and with the run id).

    With images=True also the images built by the pipeline, except base images.
    Returns how many of each were removed.
    """
    client = docker_client()
    removed = {"containers": 0, "networks": 0, "images": 0}
    try:
        for filters in _filter_sets(run_id):
            _remove_matching(client, filters, images, removed)
    except DAEMON_ERRORS as exc:
        raise infra_error("cleaning up containers, networks and images", exc) from exc
    return removed


def _removal_in_progress(exc: docker.errors.APIError) -> bool:
    return exc.status_code == 409 and "already in progress" in str(exc)


def _remove_matching(client: Any, filters: dict[str, list[str]], images: bool, removed: dict[str, int]) -> None:
    for container in _listed(lambda: client.containers.list(all=True, filters=filters)):
        try:
            container.remove(force=True, v=True)
            removed["containers"] += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            # A run that is ending removes its own containers: the daemon answers 409 to a
            # second removal of one (a killed run's, or `clean` beside a run's own exit).
            if not _removal_in_progress(exc):
                raise
    for network in _listed(lambda: client.networks.list(filters=filters)):
        removed["networks"] += _remove_network(network)
    if not images:
        return
    for image in _listed(lambda: client.images.list(filters=filters)):
        if _is_kept(image):
            continue  # base images and dependency layers are caches shared by every run
        try:
            client.images.remove(image.id, force=True)
            removed["images"] += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.is_server_error() and failures.is_daemon_fault(str(exc)):
                raise
            # e.g. a child image still uses it: leave it, it is not a leak of a run
            log.info("kept image %s: %s", image.short_id, exc.explanation or exc)
