"""The batch flow: every accepted repository of a manifest as one Prefect task.

The logic is pipeline/batch.py (`batch.run` calls this flow for the repositories not
finished before); this module adds what Prefect gives a batch: tasks run concurrently on
a task runner (threads here, or a Dask cluster through prefect-dask), retries for
infrastructure errors only, and runs visible in Prefect's UI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline import batch
from pipeline.config import Settings
from pipeline.mining.models import Candidate
from pipeline.models import Verdict


class InfraError(Exception):
    """A repository ended in infra_error (the machine's fault): Prefect retries the task."""

    def __init__(self, result_json: str) -> None:
        super().__init__(result_json)
        self.result_json = result_json


def _infra_only(task: Any, task_run: Any, state: State) -> bool:
    return isinstance(state.data, InfraError) or "InfraError" in (state.message or "")


@task(
    name="generate-repository",
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=_infra_only,
    cache_policy=NO_CACHE,  # the pipeline's own content cache decides (pipeline/batch.py)
    persist_result=False,
    log_prints=False,
)
def generate_repository(candidate: Candidate, settings: Settings, docker_slots: int) -> batch.RepoResult:
    result = batch.run_repo(candidate, settings, docker_slots)
    if batch.needs_retry(result):
        raise InfraError(result.model_dump_json())
    return result


def _collect(future: PrefectFuture, candidate: Candidate) -> batch.RepoResult:
    """A task's result; a task that failed for good still gives its repository a line."""
    try:
        return future.result()
    except InfraError as exc:
        return batch.RepoResult.model_validate_json(exc.result_json)
    except Exception as exc:  # noqa: BLE001 (any failure is this repository's, not the batch's)
        return batch.RepoResult(
            full_name=candidate.full_name,
            source=candidate.source,
            commit=candidate.commit,
            language=candidate.language,
            framework_hints=candidate.framework_hints,
            verdict=Verdict.infra_error,
            reason=f"task failed: {exc!r}",
        )


@flow(name="abc-batch", log_prints=False, persist_result=False)
def batch_flow(candidates: list[Candidate], settings: Settings, docker_slots: int = 2) -> list[batch.RepoResult]:
    futures = [generate_repository.submit(c, settings, docker_slots) for c in candidates]
    return [_collect(f, c) for f, c in zip(futures, candidates, strict=True)]


def task_runner(concurrency: int, dask_address: str | None = None, dask_workers: int | None = None) -> Any:
    """Threads by default; a Dask cluster (an existing scheduler, or a local one) when asked."""
    if dask_address or dask_workers:
        from prefect_dask import DaskTaskRunner

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": dask_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    return ThreadPoolTaskRunner(max_workers=concurrency)


def run_flow(
    todo: list[Candidate],
    settings: Settings,
    *,
    concurrency: int = 2,
    docker_slots: int = 2,
    dask_address: str | None = None,
    dask_workers: int | None = None,
) -> list[batch.RepoResult]:
    """The batch flow over the repositories left to run, on the asked-for task runner."""
    flow_with_runner = batch_flow.with_options(task_runner=task_runner(concurrency, dask_address, dask_workers))
    return flow_with_runner(todo, settings, docker_slots)


def run_batch(
    candidates: list[Candidate],
    settings: Settings,
    *,
    manifest: Path,
    force: bool = False,
    **flow_options: Any,
) -> batch.BatchReport:
    """A whole batch: finished repositories skipped (pipeline/batch.py), the rest as the flow."""
    return batch.run(
        candidates,
        settings,
        manifest=manifest,
        force=force,
        run_todo=lambda todo: run_flow(todo, settings, **flow_options),
    )
