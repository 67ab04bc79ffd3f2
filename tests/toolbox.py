"""Language tools for checks the tests make on generated code (`node --check`, `php -l`),
and the synthesized image of a fixture, built and started (`built_and_serving`).

A tool on this machine's PATH is used as it is; where it is missing, the same command runs
in the pipeline's base image for its language (made by base_images.ensure: pulled, or
built from Debian's packages), so the check runs on every machine with Docker instead of
being skipped.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

CONTAINER_DIR = "/abc-check"


@contextlib.contextmanager
def built_and_serving(
    root: Path, spec: Any, settings: Any, run_id: str, name: str, timeout: int = 1800
) -> Iterator[Any]:
    """The service at `root` built from the environment `spec` (written into `root` first,
    its base image made) and running until healthy: the sandbox's RunningService."""
    from pipeline.runtime import sandbox
    from pipeline.stages import environment
    from pipeline.stages.bring_up import ensure_base_image

    environment.write_environment(spec, root)
    ensure_base_image(spec.base_image, settings)
    tag = f"abc-pipeline-test/{name}:{run_id}"
    built = sandbox.build_image(root, tag, labels={sandbox.RUN_LABEL: run_id}, timeout=timeout)
    assert built.ok, built.log[-3000:]
    with sandbox.running_service(
        tag, port=spec.port, health_path=spec.health_path, limits=settings.limits, run_id=run_id
    ) as service:
        yield service


def check_files(
    request: pytest.FixtureRequest, command: list[str], recipe: str, files: list[Path]
) -> dict[Path, tuple[int, str]]:
    """Run `command + [file]` for every file: file -> (exit code, output)."""
    if shutil.which(command[0]):
        return _on_host(command, files)
    request.getfixturevalue("docker_engine")  # Docker is needed now: fail in CI without it
    return _in_base_image(command, recipe, files)


def _on_host(command: list[str], files: list[Path]) -> dict[Path, tuple[int, str]]:
    def one(path: Path) -> tuple[int, str]:
        done = subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout + done.stderr

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(files, pool.map(one, files), strict=True))


def _in_base_image(command: list[str], recipe: str, files: list[Path]) -> dict[Path, tuple[int, str]]:
    from pipeline.runtime import base_images, sandbox
    from pipeline.runtime.engine import docker_client

    image = base_images.load_recipes()[recipe].image
    base_images.ensure([recipe])
    names = {path: f"{index}{path.suffix}" for index, path in enumerate(files)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, name in names.items():
            tar.add(path, arcname=f"{CONTAINER_DIR.lstrip('/')}/{name}")
    # One container for every file; each result is framed by a line "@@ <exit code> <name>".
    script = (
        f'for f in {CONTAINER_DIR}/*; do out="$({" ".join(command)} "$f" 2>&1)"; code=$?; '
        'echo "@@ $code $(basename "$f")"; printf "%s\\n" "$out"; done'
    )
    run_id = f"test-tool-{uuid.uuid4().hex[:8]}"
    client = docker_client()
    container = client.containers.create(
        image, ["sh", "-c", script], labels={sandbox.LABEL: "1", sandbox.RUN_LABEL: run_id}, network_disabled=True
    )
    try:
        container.put_archive("/", buffer.getvalue())
        container.start()
        assert container.wait(timeout=300)["StatusCode"] == 0
        output = container.logs().decode("utf-8", errors="replace")
    finally:
        container.remove(force=True)
        sandbox.cleanup(run_id)
    results: dict[str, tuple[int, str]] = {}
    for block in output.split("@@ ")[1:]:
        header, _, text = block.partition("\n")
        code, name = header.split(" ", 1)
        results[name.strip()] = (int(code), text)
    return {path: results[name] for path, name in names.items()}
