"""The command line: thin over the library and the flows."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.config import Settings
from pipeline.models import GenerateResult, StageError, Verdict

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _quiet_prefect() -> None:
    # The embedded default: an ephemeral local Prefect, no telemetry, little noise.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    # On a busy 2-core machine the ephemeral server can take longer than Prefect's 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _progress_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[abc-pipeline] %(message)s"))
    logger = logging.getLogger("pipeline")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _print_summary(result: GenerateResult) -> None:
    typer.echo(f"repository: {result.repo} @ {result.commit or '-'}")
    for service in result.services:
        typer.echo(f"service:    {service.root} ({service.language}, {service.framework})")
    typer.echo(f"endpoints:  {result.endpoints} in groups {', '.join(result.groups) or '-'}")
    for task in result.tasks:
        where = task.path or ""
        typer.echo(f"task:       {task.task_id} [{task.status}, {task.verdict}] {where}")
        if task.status != "verified":
            typer.echo(f"            {task.reason}")
    timing = ", ".join(f"{s.name} {s.seconds:.1f}s{' (cached)' if s.cached else ''}" for s in result.stages)
    typer.echo(f"stages:     {timing}")
    typer.echo(f"verdict:    {result.verdict}: {result.reason}")


@app.command()
def generate(
    source: Annotated[str, typer.Argument(help="a local folder or a git URL")],
    out: Annotated[Path | None, typer.Option(help="where verified tasks go")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
) -> None:
    """Turn a repository into verified Terminal-Bench tasks."""
    _quiet_prefect()
    if not as_json:
        _progress_to_stderr()
    from flows.generate import generate_flow

    settings = Settings()
    if out is not None:
        settings.out_dir = out
    result = generate_flow(source, settings)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        _print_summary(result)
    raise typer.Exit(0 if any(t.status == "verified" for t in result.tasks) else 1)


@app.command()
def explore(
    source: Annotated[str, typer.Argument(help="a local folder or a git URL")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
) -> None:
    """Find services, endpoints and API groups (static; no Docker)."""
    from pipeline.stages.acquire import acquire
    from pipeline.stages.explore import explore as run_explore

    settings = Settings()
    try:
        inventory = run_explore(acquire(source, settings), settings)
    except StageError as exc:
        payload = {"verdict": exc.verdict, "reason": exc.reason, "services": [], "groups": []}
        typer.echo(json.dumps(payload, indent=2) if as_json else f"{exc.verdict}: {exc.reason}")
        raise typer.Exit(1) from None
    payload = {
        "services": [
            {
                "root": s.root,
                "language": s.language,
                "framework": s.framework,
                "endpoints": [
                    {
                        "method": e.method,
                        "path": e.path,
                        "file": e.handler.file,
                        "handler": e.handler.name,
                        "line": e.handler.line,
                    }
                    for e in s.endpoints
                ],
            }
            for s in inventory.services
        ],
        "groups": [
            {"name": g.name, "description": g.description, "endpoints": [e.key for e in g.endpoints]}
            for g in inventory.groups
        ],
        "warnings": inventory.warnings,
    }
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    for service in payload["services"]:
        typer.echo(f"{service['root']}: {service['language']} / {service['framework']}")
        for e in service["endpoints"]:
            typer.echo(f"  {e['method']:7} {e['path']:40} {e['file']}:{e['line']} {e['handler']}")
    for group in payload["groups"]:
        typer.echo(f"group {group['name']}: {len(group['endpoints'])} endpoints")


@app.command()
def verify(task_dir: Annotated[Path, typer.Argument(help="a task folder")]) -> None:
    """Run the verification gate again on a task folder and print its report."""
    from pipeline.stages.verify import verify as run_verify

    if not (task_dir / "run-tests.sh").is_file():
        typer.echo(f"{task_dir} is not a task folder (no run-tests.sh)", err=True)
        raise typer.Exit(2)
    report = run_verify(task_dir.resolve(), Settings())
    typer.echo(report.model_dump_json(indent=2))
    raise typer.Exit(0 if report.verdict == Verdict.passed else 1)


if __name__ == "__main__":
    app()
