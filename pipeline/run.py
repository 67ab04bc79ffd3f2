"""The bookkeeping of one generate run: its settings, cache, stage timings and run id.

Every stage goes through `Run.stage`, which a Prefect flow's `StageRunner` turns into a
Prefect task (flows/generate.py); without one, stages are plain calls. `cached_stage`
answers from the content cache when it can. The run id labels every Docker object the run
makes, so cleanup (and a killed run's next start) finds them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from pipeline.cache import StageCache
from pipeline.config import Settings
from pipeline.models import StageError, StageTiming
from pipeline.runtime import sandbox

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class StageRunner(Protocol):
    def __call__(self, name: str, fn: Callable[..., T], *args: Any) -> T: ...


def run_plain(name: str, fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class Run:
    """State of one generate run, passed to every stage helper and to the assistant."""

    def __init__(
        self,
        settings: Settings,
        runner: StageRunner = run_plain,
        progress: Callable[[str], None] | None = None,
        run_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.progress: Callable[[str], None] = progress or (lambda message: None)
        self.cache = StageCache(settings.work_dir / "cache")
        self.timings: list[StageTiming] = []
        # A caller-chosen id (the batch's) lets a later run remove what a killed one left in Docker.
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.started = time.monotonic()

    def budget_spent(self) -> str | None:
        """Why no further service or group starts (the time budget is spent), else None."""
        budget = self.settings.time_budget
        elapsed = time.monotonic() - self.started
        if budget is None or elapsed < budget:
            return None
        return f"the run's time budget of {budget:.0f} s was spent ({elapsed:.0f} s) before this group's turn"

    def stage(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        if sandbox.interrupted(self.run_id):
            raise KeyboardInterrupt(f"run {self.run_id} was interrupted; {name} not started")
        started = time.monotonic()
        try:
            return self.runner(name, fn, *args)
        except StageError as exc:
            exc.stage = exc.stage or name
            raise
        finally:
            self.timed(name, time.monotonic() - started)

    def cached_stage(self, name: str, key: str, model: type[M], fn: Callable[..., M], *args: Any) -> M:
        hit = self.cache.get(name, key, model)
        if hit is not None:
            self.timed(name, 0.0, cached=True)
            return hit
        value = self.stage(name, fn, *args)
        self.cache.put(name, key, value)
        return value

    def timed(self, name: str, seconds: float, *, cached: bool = False) -> None:
        """Record a step's time (a stage's, or one measured inside a stage, like start-up)."""
        self.timings.append(StageTiming(name=name, seconds=round(seconds, 3), cached=cached))
