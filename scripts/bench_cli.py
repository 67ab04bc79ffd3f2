"""CLI latency benchmark: what a user waits for at the command line, per Prefect mode.

For each mode (`server`: the shared local Prefect server of pipeline/prefect_server.py,
started on first use; `ephemeral`: ABC_PREFECT_SERVER=ephemeral, Prefect's own server
in every process, as before the shared server), in a fresh temporary work folder and
output folder, with the fixture copied to a temporary folder, it times the real command
line in a fresh process:

- cold generate (empty work folder: no stage cache, and in server mode no server yet),
- warm generate, run `--warm` times (nothing changed: every stage from the cache),
- explore (static, no Prefect),
- the verdict of a bad input (a `git init` repository with no commit: before any stage),
- the verdict of a rejected input (the not-MIT fixture: the flow runs and rejects it),

and splits each generate's wall time into the stages' own seconds (`generate --json`,
"stages"), the server's start-up (cold, server mode) or reuse check (warm), and the rest
(Python and Prefect imports, Prefect's API calls, interpreter exit).

`--bytecode` runs every command with a compiled-bytecode cache (a temporary
PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE unset), as on a machine where Python may
write .pyc files; without it the environment is used as it is.

    .venv/bin/python scripts/bench_cli.py [--modes ephemeral,server] [--warm 2] [--bytecode]   # or: make bench-cli
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "abc-pipeline"
PYTHON = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(ROOT))

from pipeline.prefect_server import MODE_ENV, OURS_ENV  # noqa: E402

STARTING = "starting a local Prefect server"
READY = "Prefect server ready"


def _env(root: Path, mode: str, pycache: Path | None) -> dict[str, str]:
    drop = {"PREFECT_API_URL", OURS_ENV, "PYTEST_CURRENT_TEST", "PREFECT_PROFILE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        {
            "ABC_WORK_DIR": str(root / "work"),
            "ABC_OUT_DIR": str(root / "out"),
            MODE_ENV: "local" if mode == "server" else "ephemeral",
            # A first use in both modes: the ephemeral server's database is fresh too.
            "PREFECT_HOME": str(root / "prefect-home"),
            # No user profile decides for us.
            "PREFECT_PROFILES_PATH": str(root / "no-profiles.toml"),
        }
    )
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _timed(command: list[str], env: dict[str, str]) -> dict:
    """Wall time of one command, with the moment the server said it was ready (if it did)."""
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marks: dict[str, float] = {}
    err: list[str] = []

    def read_stderr() -> None:
        for line in proc.stderr:
            for key, text in (("starting", STARTING), ("ready", READY)):
                if text in line:
                    marks.setdefault(key, time.monotonic() - started)
            err.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out = proc.stdout.read()
    proc.wait()
    reader.join()
    return {
        "seconds": time.monotonic() - started,
        "code": proc.returncode,
        "stdout": out,
        "stderr": "".join(err),
        "starting": marks.get("starting"),
        "ready": marks.get("ready"),
    }


def _generate(source: Path, env: dict[str, str]) -> dict:
    run = _timed([str(CLI), "generate", str(source), "--json"], env)
    try:
        payload = json.loads(run["stdout"])
    except ValueError:
        sys.exit(f"generate printed no JSON ({run['code']}):\n{run['stderr'][-3000:]}")
    run["verdict"] = payload["verdict"]
    run["stages"] = sum(s["seconds"] for s in payload["stages"])
    return run


def _reuse_check(env: dict[str, str]) -> float:
    """ensure_server's own time when the server is already up (in server mode)."""
    code = (
        "import time; from pipeline.config import Settings; from pipeline import prefect_server as p;"
        "t = time.monotonic(); p.ensure_server(Settings()); print(time.monotonic() - t)"
    )
    done = subprocess.run([str(PYTHON), "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def _bench_mode(mode: str, warm_runs: int, pycache: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-cli-{mode}-") as tmp:
        root = Path(tmp)
        source = root / "flask_todo"
        shutil.copytree(ROOT / "tests" / "fixtures" / "flask_todo", source)
        rejected = root / "not_mit_app"
        shutil.copytree(ROOT / "tests" / "fixtures" / "not_mit_app", rejected)
        empty_git = root / "no_commit"
        subprocess.run(["git", "init", "-q", str(empty_git)], check=True)
        env = _env(root, mode, pycache)
        figures: dict = {"mode": mode}
        try:
            cold = _generate(source, env)
            if cold["verdict"] != "passed":
                sys.exit(f"cold generate did not pass: {cold['stdout'][-2000:]}\n{cold['stderr'][-2000:]}")
            figures["cold"] = _split(cold)
            figures["warm"] = []
            for _ in range(warm_runs):
                warm = _generate(source, env)
                figures["warm"].append(_split(warm))
            if mode == "server":
                figures["reuse_check_seconds"] = round(_reuse_check(env), 3)
            explore = _timed([str(CLI), "explore", str(source)], env)
            figures["explore"] = round(explore["seconds"], 2)
            bad = _generate(empty_git, env)
            figures["bad_input"] = {"seconds": round(bad["seconds"], 2), "verdict": bad["verdict"]}
            rej = _generate(rejected, env)
            figures["rejected_input"] = {"seconds": round(rej["seconds"], 2), "verdict": rej["verdict"]}
        finally:
            if mode == "server":
                subprocess.run([str(CLI), "server", "stop"], env=env, cwd=ROOT, capture_output=True, check=False)
        return figures


def _split(run: dict) -> dict:
    figures = {"wall": round(run["seconds"], 2), "stages": round(run["stages"], 2)}
    if run["ready"] is not None:  # this command started the server: from its spawn to its first answer
        figures["server_start"] = round(run["ready"] - run["starting"], 2)
    figures["other"] = round(run["seconds"] - run["stages"] - figures.get("server_start", 0.0), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="ephemeral,server", help="comma-separated: ephemeral, server")
    parser.add_argument("--warm", type=int, default=2, help="warm generate runs")
    parser.add_argument("--bytecode", action="store_true", help="let Python cache compiled bytecode (a temp dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-cli-pycache-") as pycache_dir:
        pycache = Path(pycache_dir) if args.bytecode else None
        if pycache is not None:  # fill the bytecode cache first, as any earlier run would have
            warmup = "import flows.generate, flows.batch, pipeline.cli, prefect.server.api.server"
            env = _env(Path(pycache_dir), "ephemeral", pycache)
            subprocess.run([str(PYTHON), "-c", warmup], env=env, cwd=ROOT, check=True)
        results = [_bench_mode(mode, args.warm, pycache) for mode in args.modes.split(",")]

    load = os.getloadavg()
    print(json.dumps({"bytecode_cache": bool(args.bytecode), "load": load, "modes": results}))
    print()
    print(f"{'':34}" + "".join(f"{r['mode']:>14}" for r in results))

    def row(label: str, values: list[str]) -> None:
        print(f"{label:34}" + "".join(f"{v:>14}" for v in values))

    row("cold generate, wall s", [f"{r['cold']['wall']:.2f}" for r in results])
    row("  of which stages", [f"{r['cold']['stages']:.2f}" for r in results])
    row("  of which server start-up", [f"{r['cold'].get('server_start', 0):.2f}" for r in results])
    row("  of which other", [f"{r['cold']['other']:.2f}" for r in results])
    for i in range(args.warm):
        row(f"warm generate #{i + 1}, wall s", [f"{r['warm'][i]['wall']:.2f}" for r in results])
        row("  of which stages", [f"{r['warm'][i]['stages']:.2f}" for r in results])
        row("  of which other", [f"{r['warm'][i]['other']:.2f}" for r in results])
    row("  server reuse check, s", [f"{r.get('reuse_check_seconds', 0):.3f}" for r in results])
    row("explore, wall s", [f"{r['explore']:.2f}" for r in results])
    row("bad input (no commit), wall s", [f"{r['bad_input']['seconds']:.2f}" for r in results])
    row("rejected input (not MIT), wall s", [f"{r['rejected_input']['seconds']:.2f}" for r in results])
    bytecode = (
        "a temporary cache"
        if args.bytecode
        else f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')}"
    )
    print(f"(bytecode: {bytecode}; 'other' = wall - stages - server start-up: imports, Prefect's API calls, exit;")
    print(f" load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
