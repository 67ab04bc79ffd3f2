"""Shared fixtures.

`docker_engine` is the one gate for tests that need Docker: with no engine answering it
skips the test locally, but FAILS it when the CI variable is set, because a CI run that
silently skips every Docker test proves nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from stub_services import stub_servers

# A test that runs the CLI must not leave a detached Prefect server behind: the shared
# server is asked for explicitly by the tests of it (tests/test_prefect_server.py).
os.environ.setdefault("ABC_PREFECT_SERVER", "ephemeral")

SETUP_HINT = "run `bash scripts/setup.sh --docker-only` (as root it installs and starts dockerd)"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


@pytest.fixture(scope="session")
def docker_engine():
    """A connected docker.DockerClient, with the default base images ensured."""
    from pipeline.models import StageError
    from pipeline.runtime import base_images, engine

    if not engine.engine_available():
        message = f"no Docker engine answers; {SETUP_HINT}"
        if _in_ci():
            pytest.fail(f"CI is set and {message}", pytrace=False)
        pytest.skip(message)
    try:
        base_images.ensure()
    except StageError as exc:
        # The engine answers but base images cannot be made: never a silent skip.
        pytest.fail(f"base images could not be made: {exc.reason}", pytrace=False)
    return engine.docker_client()


@pytest.fixture
def run_id(docker_engine) -> Iterator[str]:
    """A fresh run id; whatever carries it is removed after the test, leaks or not."""
    from pipeline.runtime import sandbox

    value = f"test-{uuid.uuid4().hex[:10]}"
    yield value
    sandbox.cleanup(value, images=True)


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory) -> Iterator[str]:
    """One embedded Prefect server for the whole session (starting one costs 10-30 s on
    two cores); its URL also serves subprocesses and Dask workers."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def prefect_engine(prefect_api: str) -> str:
    """For tests that only need Prefect's engine to run flows (the same server)."""
    return prefect_api


@pytest.fixture
def serve():
    """`serve(handler_class) -> base URL`: a small HTTP service on loopback (tests/stub_services.py)."""
    with stub_servers() as start:
        yield start
