"""The command line: thin over the library and the flows."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.config import Settings
from pipeline.models import GenerateResult, StageError, Verdict

if TYPE_CHECKING:  # imported by the commands that need them, to keep the CLI's start fast
    from pipeline.batch import RepoResult
    from pipeline.mining.models import Candidate

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


class TaskFormat(StrEnum):
    terminal_bench = "terminal-bench"
    harbor = "harbor"
    both = "both"


def _quiet_prefect() -> None:
    # The embedded default: an ephemeral local Prefect, no telemetry, little noise.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    # On a busy 2-core machine the ephemeral server can take longer than Prefect's 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _use_prefect_server(settings: Settings, *modules: str) -> None:
    """Point Prefect at the shared local server (pipeline/prefect_server.py), importing the
    flow modules while a new one starts."""
    import importlib

    from pipeline import prefect_server

    prefect_server.ensure_server(
        settings,
        log=lambda line: typer.echo(line, err=True),
        meanwhile=lambda: [importlib.import_module(m) for m in modules],
    )


def _progress_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[abc-pipeline] %(message)s"))
    logger = logging.getLogger("pipeline")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # Prefect puts a console handler on the root logger: without this every line shows twice.
    logger.propagate = False


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
    if result.agent is not None:
        a = result.agent
        typer.echo(
            f"agent:      {a.model}: {a.calls} calls, {a.prompt_tokens + a.completion_tokens} tokens, ${a.cost:.4f}"
        )
        for note in a.notes:
            typer.echo(f"            {note}")
    typer.echo(f"verdict:    {result.verdict}: {result.reason}")


@app.command()
def generate(
    source: Annotated[str, typer.Argument(help="a local folder or a git URL")],
    out: Annotated[Path | None, typer.Option(help="where verified tasks go")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    llm: Annotated[
        str | None, typer.Option("--llm", help="let an LLM agent (a litellm model, e.g. openai/gpt-4o) help")
    ] = None,
    llm_api_base: Annotated[
        str | None, typer.Option("--llm-api-base", help="an OpenAI-compatible server for --llm (vLLM, Ollama)")
    ] = None,
    task_format: Annotated[
        TaskFormat | None,
        typer.Option(
            "--format",
            help="package layout: terminal-bench (OUT/<id>), harbor (OUT-harbor/<id> or ABC_HARBOR_OUT_DIR), both",
        ),
    ] = None,
) -> None:
    """Turn a repository into verified Terminal-Bench (and/or Harbor) tasks."""
    _quiet_prefect()
    if not as_json:
        _progress_to_stderr()
    from pipeline.source_check import early_result

    settings = Settings()
    if out is not None:
        settings.out_dir = out
    if llm is not None:
        settings.llm.model = llm
    if llm_api_base is not None:
        settings.llm.api_base = llm_api_base
    if task_format is not None:
        settings.formats = ["terminal-bench", "harbor"] if task_format == "both" else [task_format.value]
    # A source that cannot be acquired gets its verdict at once, with no Prefect at all.
    result = early_result(source)
    if result is None:
        _use_prefect_server(settings, "flows.generate")
        from flows.generate import generate_flow

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
    from pipeline.task_folder import TaskFolder

    if not TaskFolder.terminal_bench(task_dir).run_tests.is_file():
        typer.echo(f"{task_dir} is not a task folder (no run-tests.sh)", err=True)
        raise typer.Exit(2)
    report = run_verify(task_dir.resolve(), Settings())
    typer.echo(report.model_dump_json(indent=2))
    raise typer.Exit(0 if report.verdict == Verdict.passed else 1)


class HarnessChoice(StrEnum):
    terminal_bench = "terminal-bench"
    harbor = "harbor"
    both = "both"


@app.command("check-harness")
def check_harness(
    paths: Annotated[list[Path], typer.Argument(help="task folders, or folders of tasks (either layout)")],
    harness: Annotated[HarnessChoice, typer.Option(help="which real harness to run")] = HarnessChoice.both,
    concurrency: Annotated[int, typer.Option(help="trials a harness runs at once")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Run the real harnesses (Terminal-Bench's `tb run`, Harbor's `harbor run -e docker`)
    with their oracle and nop agents over tasks: each must be resolved by the oracle and
    not by the nop. Installs the harnesses on first use. Exit 0 when every task does."""
    from pipeline import harness as harnesses

    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        typer.echo(f"not a folder: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    names = ["terminal-bench", "harbor"] if harness == HarnessChoice.both else [harness.value]
    settings = Settings()
    try:
        report = harnesses.check(
            [p.resolve() for p in paths],
            harnesses=names,
            tools_dir=settings.work_dir / "harness",
            concurrency=concurrency,
            log=lambda line: typer.echo(line, err=True),
        )
    except StageError as exc:
        typer.echo(f"{exc.verdict}: {exc.reason}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        for result in report.results:
            mark = "ok" if result.ok else "FAIL"
            typer.echo(f"{mark:4} {result.harness:15} {result.task_id}  oracle={result.oracle} nop={result.nop}")
        for name in names:
            oracle, total = report.rate(name, "oracle")
            nop, _ = report.rate(name, "nop")
            if total:
                typer.echo(f"{name}: oracle {oracle}/{total}, nop {nop}/{total} ({report.seconds[name]} s)")
        for problem in report.problems:
            typer.echo(f"problem: {problem}")
    raise typer.Exit(0 if report.ok else 1)


# --- mining and batches (pipeline/mining, pipeline/batch.py, flows/batch.py, flows/serve.py)

EXIT_RATE_LIMITED = 3


@app.command()
def mine(
    out: Annotated[Path, typer.Option(help="the candidate manifest (JSONL); appended, so a re-run resumes")],
    api_url: Annotated[str, typer.Option(help="GitHub API root (GitHub Enterprise: https://HOST/api/v3)")] = (
        "https://api.github.com"
    ),
    language: Annotated[str | None, typer.Option(help="GitHub language name, e.g. Python")] = None,
    min_stars: Annotated[int, typer.Option(help="fewest stars")] = 0,
    pushed_after: Annotated[str | None, typer.Option(help="last push on or after YYYY-MM-DD")] = None,
    max_size_kb: Annotated[int, typer.Option(help="largest repository size, KiB")] = 50_000,
    license: Annotated[str, typer.Option(help="SPDX id required (API field and LICENSE file)")] = "MIT",
    limit: Annotated[int, typer.Option(help="stop after this many accepted candidates")] = 100,
    max_wait: Annotated[float, typer.Option(help="longest rate-limit wait in seconds; longer stops with a cursor")] = (
        900.0
    ),
) -> None:
    """Search GitHub for candidate repositories; write one manifest line per repository.

    The token comes from GITHUB_TOKEN. Exit 0 when done, 3 when a rate limit stopped the
    run early (the same command resumes from the cursor saved beside the manifest).
    """
    import datetime as dt

    from pipeline.mining.github import Miner
    from pipeline.mining.models import MineQuery

    query = MineQuery(
        language=language,
        min_stars=min_stars,
        pushed_after=dt.date.fromisoformat(pushed_after) if pushed_after else None,
        max_size_kb=max_size_kb,
        license=license,
        limit=limit,
    )
    report = Miner(query, out, api_url=api_url, token=os.environ.get("GITHUB_TOKEN"), max_wait=max_wait).run()
    typer.echo(report.model_dump_json(indent=2))
    raise typer.Exit(0 if report.complete else EXIT_RATE_LIMITED)


DaskAddress = Annotated[str | None, typer.Option(help="a Dask scheduler (tcp://HOST:8786) to run repositories on")]
DaskWorkers = Annotated[int | None, typer.Option(help="start a local Dask cluster with this many worker processes")]


def _flow_runner(
    settings: Settings, concurrency: int, docker_slots: int, dask_address: str | None, dask_workers: int | None
) -> Callable[[list[Candidate]], list[RepoResult]]:
    """The batch's runner for what is left to do: the Prefect flow, imported only when needed."""

    def run_todo(todo: list[Candidate]) -> list[RepoResult]:
        from flows.batch import run_flow

        return run_flow(
            todo,
            settings,
            concurrency=concurrency,
            docker_slots=docker_slots,
            dask_address=dask_address,
            dask_workers=dask_workers,
        )

    return run_todo


@app.command()
def batch(
    manifest: Annotated[Path, typer.Argument(help="a candidate manifest (JSONL) from `mine`")],
    out: Annotated[Path | None, typer.Option(help="where verified tasks go")] = None,
    concurrency: Annotated[int, typer.Option(help="repositories at once")] = 2,
    docker_slots: Annotated[int, typer.Option(help="Docker builds and verifications at once (per process)")] = 2,
    report: Annotated[Path | None, typer.Option(help="the JSON report (default $ABC_WORK_DIR/batches/latest.json)")] = (
        None
    ),
    dask_address: DaskAddress = None,
    dask_workers: DaskWorkers = None,
) -> None:
    """Generate tasks for every accepted repository of a manifest (resumable: re-run to resume)."""
    _quiet_prefect()
    from pipeline import batch as batch_lib

    settings = Settings()
    if out is not None:
        settings.out_dir = out
    candidates = batch_lib.load_candidates(manifest)
    if any(batch_lib.finished(c, settings) is None for c in candidates):  # else no flow runs
        _use_prefect_server(settings, "flows.batch")
    result = batch_lib.run(
        candidates,
        settings,
        manifest=manifest,
        run_todo=_flow_runner(settings, concurrency, docker_slots, dask_address, dask_workers),
    )
    batch_lib.write_report(result, report or batch_lib.default_report_path(settings))
    typer.echo(batch_lib.format_table(result))


@app.command()
def regenerate(
    framework: Annotated[str | None, typer.Option(help="re-run the repositories of this framework")] = None,
    language: Annotated[str | None, typer.Option(help="re-run the repositories of this language")] = None,
    report: Annotated[Path | None, typer.Option(help="a previous batch's report (default: the latest)")] = None,
    out: Annotated[Path | None, typer.Option(help="where verified tasks go (default: the report's)")] = None,
    concurrency: Annotated[int, typer.Option(help="repositories at once")] = 2,
    dask_address: DaskAddress = None,
    dask_workers: DaskWorkers = None,
) -> None:
    """Re-run one framework's or language's repositories of a batch; unchanged stages come from the cache."""
    if not framework and not language:
        typer.echo("give --framework or --language", err=True)
        raise typer.Exit(2)
    _quiet_prefect()
    from pipeline import batch as batch_lib

    settings = Settings()
    path = report or batch_lib.default_report_path(settings)
    if not path.is_file():
        typer.echo(f"no batch report at {path}; run `abc-pipeline batch` first or pass --report", err=True)
        raise typer.Exit(2)
    previous = batch_lib.read_report(path)
    settings.out_dir = out or Path(previous.out_dir)
    chosen = [batch_lib.candidate_of(r) for r in batch_lib.select(previous, framework, language)]
    if chosen:
        _use_prefect_server(settings, "flows.batch")
    result = batch_lib.run(
        chosen,
        settings,
        manifest=Path(previous.manifest),
        run_todo=_flow_runner(settings, concurrency, 2, dask_address, dask_workers),
        force=True,
    )
    # The report keeps every repository: the re-run ones replace their old lines.
    fresh = {r.full_name: r for r in result.repos}
    merged = [fresh.get(r.full_name, r) for r in previous.repos]
    batch_lib.write_report(batch_lib.summarize(Path(previous.manifest), settings, merged, result.seconds), path)
    typer.echo(batch_lib.format_table(result))


@app.command()
def serve(
    manifest: Annotated[Path, typer.Option(help="the manifest every scheduled run appends to")],
    cron: Annotated[str, typer.Option(help="when to run, e.g. '0 3 * * *' (03:00 every day)")] = "0 3 * * *",
    out: Annotated[Path | None, typer.Option(help="where verified tasks go")] = None,
    api_url: Annotated[str, typer.Option(help="GitHub API root")] = "https://api.github.com",
    language: Annotated[str | None, typer.Option(help="GitHub language name")] = None,
    min_stars: Annotated[int, typer.Option(help="fewest stars")] = 0,
    pushed_within_days: Annotated[int | None, typer.Option(help="pushed in the last N days (per run)")] = None,
    limit: Annotated[int, typer.Option(help="accepted candidates per run")] = 100,
    concurrency: Annotated[int, typer.Option(help="repositories at once")] = 2,
) -> None:
    """Serve a Prefect deployment that mines and generates on a cron schedule (until Ctrl-C).

    With PREFECT_API_URL set, runs show up on that Prefect server; GITHUB_TOKEN is read by each run.
    """
    _quiet_prefect()
    _use_prefect_server(Settings(), "flows.serve")
    from flows.serve import serve as serve_deployment

    serve_deployment(
        cron,
        manifest=str(manifest.resolve()),
        out_dir=str(out.resolve()) if out else None,
        api_url=api_url,
        language=language,
        min_stars=min_stars,
        pushed_within_days=pushed_within_days,
        limit=limit,
        concurrency=concurrency,
    )


# --- task packages: lint and index (pipeline/lint.py, pipeline/index.py)


@app.command()
def lint(
    task_dirs: Annotated[list[Path], typer.Argument(help="task folders (Terminal-Bench or Harbor layout)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the reports as JSON")] = False,
) -> None:
    """Check task packages and explain every finding; exit 1 on any error."""
    from pipeline.lint import lint_task

    reports = [lint_task(path) for path in task_dirs]
    if as_json:
        typer.echo(json.dumps([r.model_dump() | {"ok": r.ok} for r in reports], indent=2))
    else:
        for report in reports:
            typer.echo(f"{report.task_dir} ({report.format}): {'ok' if report.ok else 'FAILED'}")
            for finding in report.findings:
                typer.echo(f"  {finding.level} [{finding.check}] {finding.message}")
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)


@app.command()
def clean(
    caches: Annotated[
        bool, typer.Option("--caches", help="also drop the kept dependency layers (abc-pipeline/deps)")
    ] = False,
) -> None:
    """Remove every container, network and image the pipeline made that a killed run left
    behind (base images stay); with --caches also the dependency layers kept across runs.
    Every run's objects go: use it when no run is going."""
    from pipeline.runtime import dependency_layers, sandbox

    try:
        removed = sandbox.cleanup(images=True)
        dropped = dependency_layers.clear() if caches else 0
    except StageError as exc:
        typer.echo(f"{exc.verdict.value}: {exc.reason}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"removed {removed['containers']} containers, {removed['networks']} networks, "
        f"{removed['images']} images" + (f", {dropped} dependency layers" if caches else "")
    )


@app.command()
def index(
    folder: Annotated[Path, typer.Argument(help="a folder of task folders (e.g. generated_tasks)")],
    out: Annotated[Path | None, typer.Option(help="write the JSONL here instead of stdout")] = None,
) -> None:
    """Write a JSONL index of a folder of tasks (task_id, tags, category, instruction)."""
    from pipeline.index import write_index

    if not folder.is_dir():
        typer.echo(f"{folder} is not a folder", err=True)
        raise typer.Exit(2)
    if out is None:
        write_index(folder, sys.stdout)
        return
    with out.open("w") as fh:
        count = write_index(folder, fh)
    typer.echo(f"wrote {count} tasks to {out}", err=True)


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="a folder of task folders (either layout)")],
    out: Annotated[Path | None, typer.Option(help="the HTML page (default FOLDER/report.html)")] = None,
    batch_report: Annotated[
        list[Path] | None,
        typer.Option(help="a batch's JSON report; repeatable (default $ABC_WORK_DIR/batches/latest.json if any)"),
    ] = None,
    rejected: Annotated[
        Path | None, typer.Option(help="rejected tasks' evidence (default $ABC_WORK_DIR/rejected if any)")
    ] = None,
) -> None:
    """Write one self-contained HTML page of plots and tables over a folder of tasks."""
    from pipeline.report import write_report

    if not folder.is_dir():
        typer.echo(f"{folder} is not a folder", err=True)
        raise typer.Exit(2)
    settings = Settings()
    default_batch = settings.work_dir / "batches" / "latest.json"
    batches = batch_report or ([default_batch] if default_batch.is_file() else [])
    target = out or folder / "report.html"
    found = write_report(folder, target, rejected_dir=rejected or settings.work_dir / "rejected", batch_reports=batches)
    verified = sum(1 for t in found.tasks if t.status == "verified")
    typer.echo(f"wrote {target}: {len(found.tasks)} tasks ({verified} verified)", err=True)


# --- the shared local Prefect server (pipeline/prefect_server.py)

server_app = typer.Typer(
    no_args_is_help=True,
    help="The local Prefect server that runs share: started by the first run, reused by later ones.",
)
app.add_typer(server_app, name="server")


@server_app.command("status")
def server_status(
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Print the server's address, pid and uptime, or "not running"."""
    from dataclasses import asdict

    from pipeline import prefect_server

    found = prefect_server.status(Settings())
    if as_json:
        payload = asdict(found) | {"uptime": found.uptime}
        typer.echo(json.dumps(payload, indent=2))
        return
    if found.user_url:
        typer.echo(f"PREFECT_API_URL is your own ({found.user_source}): {found.user_url}; runs use it")
    elif found.mode == "ephemeral":
        typer.echo(f"{prefect_server.MODE_ENV}=ephemeral: runs use Prefect's ephemeral mode")
    if found.state is None or not found.alive:
        typer.echo("local server: not running" + ("" if found.user_url else " (the next run starts one)"))
        return
    state = found.state
    typer.echo(f"local server: {'running' if found.answers else 'running, but not answering'}")
    typer.echo(f"url:    {state.url} (API {state.api_url})")
    typer.echo(f"pid:    {state.pid}")
    typer.echo(f"uptime: {prefect_server.format_uptime(found.uptime or 0)}")
    typer.echo(f"log:    {state.log}")


@server_app.command("start")
def server_start() -> None:
    """Start the server now (runs start it on first use anyway); print its address."""
    from pipeline import prefect_server

    if user := prefect_server.user_api_url():
        typer.echo(f"PREFECT_API_URL is your own ({user[1]}): runs use it; no server started", err=True)
    url = prefect_server.ensure_server(Settings(), mode="local", log=lambda line: typer.echo(line, err=True))
    if url is None:
        raise typer.Exit(1)
    typer.echo(url)


@server_app.command("stop")
def server_stop() -> None:
    """Stop the server (the next run starts a new one)."""
    from pipeline import prefect_server

    state = prefect_server.stop(Settings())
    typer.echo(f"stopped the server at {state.url} (pid {state.pid})" if state else "not running")


if __name__ == "__main__":
    app()
