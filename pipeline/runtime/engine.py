"""The one place that connects to the Docker engine.

Every runtime module asks `docker_client()` for its client, so "the engine is not
running" is reported once, the same way, as an infra_error that tells the user what to
do, never as a failure of the task being built.
"""

from __future__ import annotations

import contextlib
import threading

import docker
import docker.errors
import requests
import urllib3.exceptions

from pipeline.models import StageError, Verdict

SETUP_HINT = (
    "start it with `bash scripts/setup.sh --docker-only` (as root it installs and starts dockerd; "
    "otherwise it prints what to do)"
)

# Builds and pulls stream for minutes; that is handled per call. This is the timeout of
# ordinary API calls (inspect, create, remove), generous because a loaded daemon is slow.
_API_TIMEOUT = 120

# What a call to the daemon raises when the daemon, not the request, is the problem:
# docker-py wraps most of it, but a broken stream surfaces as urllib3's own error.
DAEMON_ERRORS: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    ConnectionError,
)

_lock = threading.Lock()
_client: docker.DockerClient | None = None


def _connect() -> docker.DockerClient:
    # version="auto" negotiates with the daemon: the docker package speaks a newer API
    # than the Debian dockerd 20.10 on some machines.
    client = docker.from_env(version="auto", timeout=_API_TIMEOUT)
    client.ping()
    return client


def docker_client() -> docker.DockerClient:
    """A connected client, cached for the process.

    Raises StageError(infra_error) when no engine answers. A failed connection is not
    cached, so a caller that starts the engine afterwards gets a client on the next call.
    """
    global _client
    with _lock:
        if _client is not None:
            return _client
        try:
            _client = _connect()
        except (*DAEMON_ERRORS, OSError) as exc:
            raise StageError(
                Verdict.infra_error,
                f"the Docker engine does not answer ({_short(exc)}); {SETUP_HINT}",
                stage="runtime",
            ) from exc
        return _client


def engine_available() -> bool:
    """True when a Docker engine answers a ping (never raises)."""
    try:
        docker_client()
    except StageError:
        return False
    return True


def reset_client() -> None:
    """Forget the cached client (after the engine was restarted, or in tests)."""
    global _client
    with _lock:
        if _client is not None:
            # closing a dead connection may fail any way it likes
            with contextlib.suppress(Exception):
                _client.close()
        _client = None


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def infra_error(action: str, exc: BaseException) -> StageError:
    """The StageError for a daemon-side failure (connection lost, disk full, API 500)."""
    return StageError(Verdict.infra_error, f"Docker engine failed while {action}: {_short(exc)}", stage="runtime")
