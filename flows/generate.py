"""The Prefect flow over the stages: each stage runs as a Prefect task, so runs are
observable in Prefect's UI and logs; the stage logic stays in pipeline.generate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import GenerateResult, StageError

T = TypeVar("T")


class StageErrorsAreVerdicts(logging.Filter):
    """A stage that raises StageError has reached a verdict (bad input, a rejected task):
    Prefect would log it as a crash, traceback and all. Its one-line "Finished in state
    Failed(...)" record stays, so the Prefect UI still shows which stage said no."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, StageError)


def quiet_stage_errors() -> None:
    logger = logging.getLogger("prefect.task_runs")
    if not any(isinstance(f, StageErrorsAreVerdicts) for f in logger.filters):
        logger.addFilter(StageErrorsAreVerdicts())


quiet_stage_errors()


def run_as_prefect_task(name: str, fn: Callable[..., T], *args: Any) -> T:
    # Caching is the pipeline's own (by content, shared with plain runs), not Prefect's;
    # results are not persisted, since they hold paths into the work folder.
    return task(fn, name=name, cache_policy=NO_CACHE, persist_result=False, log_prints=False)(*args)


@flow(name="abc-generate", log_prints=False, persist_result=False)
def generate_flow(source: str, settings: Settings | None = None) -> GenerateResult:
    return generate(source, settings or Settings(), runner=run_as_prefect_task)
