"""Shared fixtures.

`docker_engine` is the one gate for tests that need Docker: with no engine answering it
skips the test locally, but FAILS it when the CI variable is set, because a CI run that
silently skips every Docker test proves nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stub_services import stub_servers

# A test that runs the CLI must not leave a detached Prefect server behind: the shared
# server is asked for explicitly by the tests of it (tests/test_prefect_server.py).
os.environ.setdefault("ABC_PREFECT_SERVER", "ephemeral")

SETUP_HINT = "run `bash scripts/setup.sh --docker-only` (as root it installs and starts dockerd)"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reaches the engine carries the `docker` marker, whether its module
    says so or only its fixtures do: `-m "not docker"` then selects exactly the tests that
    run without an engine, which `make test` runs beside the Docker ones."""
    for item in items:
        if "docker_engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.docker)


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


@dataclass
class FixtureTasks:
    """One fixture app made into tasks by `generate_flow` (both variants, both formats)."""

    settings: Any  # pipeline.config.Settings: imported late, like the rest of the pipeline
    result: Any  # pipeline.models.GenerateResult
    #: containers, networks and images of the pipeline's that the run left behind
    leftovers: set[str]

    @property
    def verified(self) -> list[Any]:
        return [t for t in self.result.tasks if t.status == "verified"]


@pytest.fixture(scope="session")
def fixture_tasks(docker_engine, prefect_engine, tmp_path_factory) -> Callable[[str], FixtureTasks]:
    """`fixture_tasks(name)`: tests/fixtures/<name> generated once per session, with the
    default settings (both variants, every oracle run) and both package layouts.

    The end-to-end tests and the real-harness test read the same tasks: generating a fixture
    costs a minute or more of CI's two cores, and each of them would otherwise make its own."""
    from flows.generate import generate_flow
    from pipeline.config import Settings
    from pipeline.runtime import sandbox

    base = tmp_path_factory.mktemp("fixture-tasks")
    made: dict[str, FixtureTasks] = {}

    def get(name: str) -> FixtureTasks:
        if name not in made:
            settings = Settings(
                work_dir=base / "work",
                out_dir=base / name / "out",
                variants=["implementation", "environment"],
                formats=["terminal-bench", "harbor"],
            )
            before = set(sandbox.leftovers())
            result = generate_flow(str(Path(__file__).parent / "fixtures" / name), settings)
            made[name] = FixtureTasks(settings, result, set(sandbox.leftovers()) - before)
        return made[name]

    return get
