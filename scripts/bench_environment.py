"""Environment benchmark: cold and warm builds, start-up until healthy, Go's std-lib cache.

    uv run python scripts/bench_environment.py [--fixtures nethttp_notes,...] [--starts 3] [--json OUT]

For each fixture that builds on this machine (Go on the standard library, Slim 3 on
Debian's php-slim, Sinatra on Debian's gems, Flask from PyPI, and Gin, Spring Boot and
Axum from the Go module proxy, Maven Central and crates.io), with the Dockerfile the
environment stage synthesizes (offline mode):

1. cold build: every step run (no build cache; the base image exists);
2. warm build after a source-only change (a comment appended to a source file): the
   dependency step must come from the cache; its time is the cost of a code edit;
3. start until healthy: `running_service` on the built image until the health path
   answers, --starts times (the median is reported; the target is < 5 s);
4. next run: the run's images removed (its clean-up), another source edit, built again: the
   kept dependency layer (pipeline/runtime/dependency_layers.py) makes it a warm build;
5. Go only: the same source-only rebuild without the `go build std` layer, to show what
   the compiled standard library saves.

Everything runs under one run id and is removed at the end. Numbers only; it fails only
when a build or a start fails. On a shared 2-core machine the times vary by ~30 %.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import Limits, Settings  # noqa: E402
from pipeline.models import RepoSnapshot  # noqa: E402
from pipeline.runtime import base_images, sandbox  # noqa: E402
from pipeline.stages import environment, explore  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
DEFAULT = [
    "nethttp_notes",
    "slim_v3_notes",
    "sinatra_notes",
    "flask_todo",
    "gin_library",
    "spring_store",
    "axum_bookmarks",
]
# The step whose reuse proves "a second run reinstalls nothing", per language: the first
# of these the Dockerfile has (Go on the standard library downloads no modules).
DEPENDENCY_STEP = {
    "go": ("go mod download", "go build std"),
    "php": ("php-debian-autoload",),
    "ruby": ("bundle install",),
    "python": ("pip install",),
    "java": ("dependency:go-offline",),
    "rust": ("cargo build --release",),
}
#: Rust and Java builds from cold are long on two shared cores.
BUILD_TIMEOUT = 2400
STD_STEP = re.compile(r"^# The standard library.*\n(?:#.*\n)*RUN CGO_ENABLED=0 go build std\n", re.MULTILINE)


def step_cached(log: str, marker: str) -> bool | None:
    """Whether the build step whose instruction holds `marker` came from the cache (None: no such step)."""
    for step in re.split(r"^Step \d+/\d+ : ", log, flags=re.MULTILINE)[1:]:
        if marker in step.split("\n", 1)[0]:
            return "Using cache" in step
    return None


def touch_source(root: Path, language: str) -> None:
    suffix = {"go": ".go", "php": ".php", "ruby": ".rb", "python": ".py", "java": ".java", "rust": ".rs"}[language]
    path = sorted(p for p in root.rglob(f"*{suffix}") if ".git" not in p.parts)[0]
    comment = "//" if language in ("go", "php", "java", "rust") else "#"
    path.write_text(path.read_text() + f"\n{comment} bench edit {uuid.uuid4().hex}\n")


def prepare(fixture: str, work: Path, settings: Settings) -> tuple[Path, environment.ServiceEnv]:
    root = work / fixture
    shutil.copytree(FIXTURES / fixture, root)
    snapshot = RepoSnapshot(path=root, commit="bench", origin=str(root), owner="local", name=fixture)
    inventory = explore.explore(snapshot, settings)
    spec = environment.synthesize(snapshot, inventory, inventory.services[0], settings)
    environment.write_environment(spec, root)
    recipe = base_images.recipe_for_image(spec.base_image)
    if recipe is not None:
        base_images.ensure([recipe.name], settings)
    return root, spec


def build(root: Path, tag: str, run_id: str, *, nocache: bool = False) -> sandbox.BuildResult:
    result = sandbox.build_image(
        root, tag, labels={sandbox.RUN_LABEL: run_id}, timeout=BUILD_TIMEOUT, nocache=nocache, keep_dependencies=True
    )
    if not result.ok:
        raise SystemExit(f"build of {root.name} failed:\n{result.log[-3000:]}")
    return result


def time_starts(tag: str, spec: environment.ServiceEnv, run_id: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.monotonic()
        with sandbox.running_service(
            tag, port=spec.port, health_path=spec.health_path, limits=Limits(startup_timeout=60), run_id=run_id
        ):
            times.append(time.monotonic() - started)
    return times


def bench(fixture: str, work: Path, settings: Settings, run_id: str, starts: int) -> dict:
    root, spec = prepare(fixture, work, settings)
    tag = f"abc-pipeline-bench/{fixture.replace('_', '-')}:{run_id}"
    cold = build(root, tag, run_id, nocache=True)
    touch_source(root, spec.language)
    warm = build(root, tag, run_id)
    marker = next(m for m in DEPENDENCY_STEP[spec.language] if m in spec.dockerfile)
    row = {
        "fixture": fixture,
        "language": spec.language,
        "framework": spec.framework,
        "cold_build_s": round(cold.seconds, 1),
        "warm_build_s": round(warm.seconds, 1),
        "dependency_step_cached": step_cached(warm.log, marker),
    }
    start_times = time_starts(tag, spec, run_id, starts)
    row["start_to_healthy_s"] = round(statistics.median(start_times), 2)
    row["start_to_healthy_max_s"] = round(max(start_times), 2)
    # A later run: this one's images gone as its clean-up leaves them, the source edited again.
    sandbox.cleanup(run_id, images=True)
    touch_source(root, spec.language)
    next_run = build(root, tag, run_id)
    row["next_run_build_s"] = round(next_run.seconds, 1)
    row["next_run_dependency_step_cached"] = step_cached(next_run.log, marker)
    if spec.language == "go" and "go mod download" not in spec.dockerfile:
        # The same edit-and-rebuild without the compiled std layer.
        plain = STD_STEP.sub("", spec.dockerfile)
        assert plain != spec.dockerfile, "the Go template has no std layer to compare against"
        (root / "Dockerfile.nostd").write_text(plain)
        nostd_tag = f"{tag}-nostd"
        first = sandbox.build_image(
            root, nostd_tag, labels={sandbox.RUN_LABEL: run_id}, timeout=900, dockerfile="Dockerfile.nostd"
        )
        touch_source(root, "go")
        second = sandbox.build_image(
            root, nostd_tag, labels={sandbox.RUN_LABEL: run_id}, timeout=900, dockerfile="Dockerfile.nostd"
        )
        if not (first.ok and second.ok):
            raise SystemExit(f"the no-std build failed:\n{second.log[-3000:]}")
        row["warm_build_without_std_layer_s"] = round(second.seconds, 1)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", default=",".join(DEFAULT))
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()

    settings = Settings(offline=True)
    run_id = f"bench-{uuid.uuid4().hex[:10]}"
    rows = []
    work = Path(tempfile.mkdtemp(prefix="bench-env-"))
    try:
        for fixture in args.fixtures.split(","):
            print(f"[bench] {fixture} ...", file=sys.stderr, flush=True)
            rows.append(bench(fixture, work, settings, run_id, args.starts))
    finally:
        sandbox.cleanup(run_id, images=True)
        shutil.rmtree(work, ignore_errors=True)

    header = (
        f"{'fixture':16} {'language':8} {'cold build':>10} {'warm build':>10} {'deps cached':>11} "
        f"{'healthy (median/max)':>20} {'next run':>10} {'warm, no std layer':>18}"
    )
    print(header)
    for r in rows:
        nostd = f"{r['warm_build_without_std_layer_s']:.1f} s" if "warm_build_without_std_layer_s" in r else "-"
        print(
            f"{r['fixture']:16} {r['language']:8} {r['cold_build_s']:>8.1f} s {r['warm_build_s']:>8.1f} s "
            f"{'yes' if r['dependency_step_cached'] else 'NO':>11} "
            f"{r['start_to_healthy_s']:>9.2f} / {r['start_to_healthy_max_s']:.2f} s "
            f"{r['next_run_build_s']:>8.1f} s{'' if r['next_run_dependency_step_cached'] else '!'} {nostd:>18}"
        )
    print("(next run: built again after the run's clean-up and another edit; ! = its dependency step ran again)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
