"""Scheduled mining plus generation: one flow, served as a Prefect deployment with a cron.

Each scheduled run mines the API (appending to one manifest, so the next run skips the
repositories already judged and resumes after a rate-limit stop), then runs the batch over
the accepted candidates; repositories finished in earlier runs are skipped by the batch's
record. The GitHub token is read from GITHUB_TOKEN inside the run, never passed as a
parameter: deployment parameters are stored in Prefect's database and shown in its UI.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.batch import run_batch
from pipeline import batch
from pipeline.config import Settings
from pipeline.mining.github import DEFAULT_API_URL, Miner
from pipeline.mining.models import MineQuery, MineReport

DEPLOYMENT_NAME = "scheduled-mining"


@task(name="mine", cache_policy=NO_CACHE, persist_result=False)
def mine_task(query: MineQuery, manifest: Path, api_url: str, max_wait: float) -> MineReport:
    return Miner(query, manifest, api_url=api_url, token=os.environ.get("GITHUB_TOKEN"), max_wait=max_wait).run()


@flow(name="abc-mine-and-generate", log_prints=False, persist_result=False)
def mine_and_generate(
    manifest: str,
    out_dir: str | None = None,
    api_url: str = DEFAULT_API_URL,
    language: str | None = None,
    min_stars: int = 0,
    pushed_within_days: int | None = None,
    license: str = "MIT",
    limit: int = 100,
    max_wait: float = 900.0,
    concurrency: int = 2,
) -> dict:
    """Mine, then generate; returns the mining summary and where the batch report went."""
    pushed_after = dt.date.today() - dt.timedelta(days=pushed_within_days) if pushed_within_days else None
    query = MineQuery(language=language, min_stars=min_stars, pushed_after=pushed_after, license=license, limit=limit)
    mined = mine_task(query, Path(manifest), api_url, max_wait)
    settings = Settings()
    if out_dir:
        settings.out_dir = Path(out_dir)
    report = run_batch(
        batch.load_candidates(Path(manifest)), settings, manifest=Path(manifest), concurrency=concurrency
    )
    report_path = batch.default_report_path(settings)
    batch.write_report(report, report_path)
    return {"mining": mined.model_dump(mode="json"), "report": str(report_path), "verdicts": report.verdicts}


def deployment(cron: str, **parameters: object):  # -> RunnerDeployment
    """The scheduled deployment of mine_and_generate (parameters as the flow takes them)."""
    return mine_and_generate.to_deployment(name=DEPLOYMENT_NAME, cron=cron, parameters=parameters)


def serve(cron: str, **parameters: object) -> None:
    """Serve the deployment until interrupted: Prefect starts a run at every cron tick."""
    from prefect import serve as prefect_serve

    prefect_serve(deployment(cron, **parameters))
