"""Dependency layers kept across runs, by content.

Every template installs dependencies from the manifests alone, then copies the source
(`COPY . .`) and compiles it. The legacy builder's cache is the chain of intermediate
images under a built image, and a run's clean-up removes its image with that chain, so
the next run (a regenerate, a corpus re-run, the next test over the same fixture) would
download and compile every Go module, Maven artifact or crate again: minutes for a Spring
or axum service. So the layer right before the source copy is tagged
`abc-pipeline/deps:<layer id>`: Docker removes untagged parents only, so the chain up to
that layer survives clean-up, and a build whose manifests (and base image) are unchanged
reuses it. The layer id is the content key: the builder gives the same id only to the
same instructions over the same files on the same parent.

These images are a cache like the base images, not a run's leftovers: bounded
(`ABC_DEPENDENCY_CACHE_GB`, oldest use evicted first) and removed with `clear()`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import docker.errors

from pipeline.runtime.engine import DAEMON_ERRORS, docker_client

log = logging.getLogger(__name__)

REPOSITORY = "abc-pipeline/deps"
DEFAULT_BUDGET_GB = 20.0

_STEP = re.compile(r"^Step (\d+)/\d+ : (.*)$", re.MULTILINE)
_LAYER = re.compile(r"^ ---> ([0-9a-f]{12})\s*$", re.MULTILINE)
# The whole build context copied in: what every template does right after its dependencies.
_SOURCE_COPY = re.compile(r"^(COPY|ADD)(\s+--\S+)*\s+\.\s+\S+\s*$", re.IGNORECASE)


def layer_before_source(build_log: str) -> str | None:
    """The id of the layer the build had finished when it reached its source copy, if a RUN
    step (something worth keeping) came between the stage's FROM and that copy."""
    steps = list(_STEP.finditer(build_log))
    ran_something = False
    for index, step in enumerate(steps):
        instruction = step.group(2).strip()
        keyword = instruction.split(maxsplit=1)[0].upper() if instruction else ""
        if keyword == "FROM":
            ran_something = False
        elif keyword == "RUN":
            ran_something = True
        elif _SOURCE_COPY.match(instruction):
            if not ran_something or index == 0:
                return None
            previous = steps[index - 1]
            layers = _LAYER.findall(build_log, previous.end(), step.start())
            return layers[-1] if layers else None
    return None


def is_cache_image(image: Any) -> bool:
    return any(tag.startswith(REPOSITORY + ":") for tag in (image.tags or []))


def keep(build_log: str) -> str | None:
    """Tag the dependency layer of a build (finished or not) so clean-up leaves it; evict the
    oldest ones over the budget. Returns the tag, or None when the build had no such layer.
    A cache: a daemon that refuses costs the next build time, never this run its verdict."""
    layer = layer_before_source(build_log)
    if layer is None:
        return None
    tag = f"{REPOSITORY}:{layer}"
    try:
        client = docker_client()
        client.images.get(layer).tag(REPOSITORY, tag=layer)
        _touch(layer)
        _evict(client, keep_layer=layer)
    except (docker.errors.APIError, *DAEMON_ERRORS) as exc:
        log.info("dependency layer %s not kept: %s", layer, exc)
        return None
    return tag


def clear() -> int:
    """Remove every kept dependency layer (those a living image stands on are only untagged)."""
    client = docker_client()
    removed = 0
    for image in client.images.list(name=REPOSITORY):
        for tag in image.tags:
            if tag.startswith(REPOSITORY + ":"):
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(tag)
                    removed += 1
    _index_path().unlink(missing_ok=True)
    return removed


def _budget_bytes() -> float:
    try:
        gigabytes = float(os.environ.get("ABC_DEPENDENCY_CACHE_GB", DEFAULT_BUDGET_GB))
    except ValueError:
        gigabytes = DEFAULT_BUDGET_GB
    return gigabytes * 1024**3


def _index_path() -> Path:
    """When each layer was last used: Docker records when an image was made, not used."""
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "abc-pipeline"
    return root / "dependency-layers.json"


def _read_index() -> dict[str, float]:
    try:
        data = json.loads(_index_path().read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _touch(layer: str) -> None:
    index = _read_index()
    index[layer] = time.time()
    path = _index_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_text(json.dumps(index, indent=0, sort_keys=True))
    partial.replace(path)


def to_evict(sizes: dict[str, int], last_used: dict[str, float], budget: float, keep_layer: str) -> list[str]:
    """The layers to drop, least recently used first, until the rest fit `budget` bytes;
    never `keep_layer` (the one just used). A layer with no recorded use counts as oldest."""
    total = sum(sizes.values())
    evicted: list[str] = []
    for layer in sorted(sizes, key=lambda name: last_used.get(name, 0.0)):
        if total <= budget:
            break
        if layer != keep_layer:
            evicted.append(layer)
            total -= sizes[layer]
    return evicted


def _evict(client: Any, keep_layer: str) -> None:
    """Untag the least recently used layers over the budget. Sizes are each image's whole
    size (shared base layers counted again), so the budget is cautious."""
    sizes = {
        _layer_of(image): int(image.attrs.get("Size", 0))
        for image in client.images.list(name=REPOSITORY)
        if is_cache_image(image)
    }
    index = _read_index()
    evicted = to_evict(sizes, index, _budget_bytes(), keep_layer)
    for layer in evicted:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(f"{REPOSITORY}:{layer}")
        index.pop(layer, None)
    if evicted:
        with contextlib.suppress(OSError):
            _index_path().write_text(json.dumps(index, indent=0, sort_keys=True))


def _layer_of(image: Any) -> str:
    for tag in image.tags or []:
        if tag.startswith(REPOSITORY + ":"):
            return tag.split(":", 1)[1]
    return ""
