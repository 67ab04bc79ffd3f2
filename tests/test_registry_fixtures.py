"""Go, Java and Rust services whose dependencies come from their registries (the Go module
proxy, Maven Central, crates.io), built inside containers through the extra-CA setting.

Two kinds of test per fixture:

- the service's image builds from the synthesized Dockerfile, a source-only edit rebuilds
  without re-running the dependency step (go mod download and the dependencies' compile,
  mvn dependency:go-offline, cargo's dependency-only build), and the image starts until
  healthy;
- `generate` turns it into verified tasks, implementation and environment variants.

CI budget (2 cores): each fixture's largest group only, one oracle run. By default Go and
Java are built from their registries, rebuilt after an edit and started (gin_library,
spring_store), and gin_library becomes tasks. The dependency layers outlive a run
(pipeline/runtime/dependency_layers.py), but on CI's fresh machine the first build is cold,
and every gate trial still compiles the service's own code (a release build per trial for
Rust), which puts Spring's generate (16 min under load) and Rust's (axum_bookmarks 22 min)
over CI's budget: they were verified by hand, in both harnesses.
ABC_ALL_REGISTRY_FIXTURES=1 runs every fixture in both tests. Build times: `make bench-env`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import RepoSnapshot, Verdict
from pipeline.runtime import sandbox

FIXTURES = Path(__file__).parent / "fixtures"
#: fixture -> (language, framework, endpoints of its largest group: only that group is made a task)
REGISTRY = {
    "gin_library": ("go", "gin", 7),
    "echo_tasks": ("go", "echo", 6),
    "chi_blog": ("go", "chi", 5),
    "spring_store": ("java", "spring", 8),
    "axum_bookmarks": ("rust", "axum", 6),
    "actix_library": ("rust", "actix", 6),
}
#: the first line of the step that fetches (and compiles) the dependencies
DEPENDENCY_STEP = {
    "go": "go mod download",
    "java": "dependency:go-offline",
    "rust": "cargo build --release",
}
SOURCE_SUFFIX = {"go": ".go", "java": ".java", "rust": ".rs"}
#: run by default; every fixture with ABC_ALL_REGISTRY_FIXTURES=1
ALL = os.environ.get("ABC_ALL_REGISTRY_FIXTURES") == "1"
REBUILT = sorted(REGISTRY) if ALL else ["gin_library", "spring_store"]
GENERATED = sorted(REGISTRY) if ALL else ["gin_library"]


def _settings(tmp_path: Path, largest_group: int) -> Settings:
    return Settings(
        work_dir=tmp_path / "work",
        out_dir=tmp_path / "out",
        offline=True,
        oracle_runs=1,
        variants=["implementation", "environment"],
        min_group_endpoints=largest_group,
    )


def test_recipes_name_the_debian_suite_they_build_on(tmp_path):
    """A recipe's `# suite:` picks the root file system it is built FROM; an unknown suite is
    refused when the recipes are read, not when debootstrap fails."""
    from pipeline.runtime import base_images

    recipes = base_images.load_recipes()
    for name in ("go-trixie", "rust-trixie", "java-21"):
        assert recipes[name].suite == "trixie"
    for recipe in recipes.values():
        from_line = next(line for line in recipe.template.splitlines() if line.startswith("FROM "))
        if from_line.startswith("FROM abc-pipeline/debian:"):
            assert from_line.split()[1] == base_images.rootfs_image(recipe.suite), recipe.name
    (tmp_path / "x.Dockerfile").write_text("# image: x:1\n# suite: sid\nFROM abc-pipeline/debian:sid\n")
    with pytest.raises(ValueError, match="suite"):
        base_images.load_recipes(tmp_path)


@pytest.mark.parametrize(
    ("fixture", "method", "path", "expected"),
    [
        # gin: binding:"required" tags
        (
            "gin_library",
            "POST",
            "/api/v1/books",
            [("title", "str", True), ("author", "str", True), ("year", "int", False)],
        ),
        # echo: the handler rejects an empty title
        ("echo_tasks", "POST", "/api/tasks", [("title", "str", True), ("project", "str", False)]),
        # chi: json.NewDecoder(r.Body).Decode into another package's struct
        (
            "chi_blog",
            "POST",
            "/api/posts/",
            [("id", "int", False), ("title", "str", True), ("body", "str", False), ("comments", "list", False)],
        ),
    ],
)
def test_go_handlers_read_the_fields_of_the_struct_they_decode(fixture, method, path, expected):
    """Test generation sends these fields, so a create makes something the tests follow."""
    from pipeline.stages.explore import explore

    root = FIXTURES / fixture
    snapshot = RepoSnapshot(path=root, commit="test", origin=str(root), owner="local", name=fixture)
    endpoints = [e for g in explore(snapshot, Settings(offline=True)).groups for e in g.endpoints]
    endpoint = next(e for e in endpoints if (e.method, e.path) == (method, path))
    assert [(f.name, f.type, f.required) for f in endpoint.body_fields] == expected


def _step_cached(log: str, marker: str) -> bool:
    steps = re.split(r"^Step \d+/\d+ : ", log, flags=re.MULTILINE)[1:]
    step = next(s for s in steps if marker in s.split("\n", 1)[0])
    return "Using cache" in step


@pytest.mark.docker
@pytest.mark.parametrize("fixture", REBUILT)
def test_dependencies_come_from_the_registry_once(fixture, docker_engine, run_id, tmp_path):
    from pipeline.stages import environment, explore
    from pipeline.stages.bring_up import ensure_base_image

    language, framework, largest = REGISTRY[fixture]
    settings = _settings(tmp_path, largest)
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    snapshot = RepoSnapshot(path=root, commit="test", origin=str(root), owner="local", name=fixture)
    inventory = explore.explore(snapshot, settings)
    assert [(s.language, s.framework) for s in inventory.services] == [(language, framework)]
    spec = environment.synthesize(snapshot, inventory, inventory.services[0], settings)
    environment.write_environment(spec, root)
    ensure_base_image(spec.base_image, settings)
    tag = f"abc-pipeline-test/{fixture.replace('_', '-')}:{run_id}"

    def build() -> sandbox.BuildResult:
        result = sandbox.build_image(root, tag, labels={sandbox.RUN_LABEL: run_id}, timeout=1800)
        assert result.ok, result.log[-3000:]
        return result

    build()
    source = sorted(p for p in root.rglob(f"*{SOURCE_SUFFIX[language]}") if "test" not in p.parts)[0]
    source.write_text(source.read_text() + "\n// edited\n")
    second = build()
    assert _step_cached(second.log, DEPENDENCY_STEP[language]), second.log
    assert not _step_cached(second.log, "COPY . .")  # the edit itself was taken
    with sandbox.running_service(
        tag, port=spec.port, health_path=spec.health_path, limits=settings.limits, run_id=run_id
    ) as service:
        assert service.base_url.startswith("http://127.0.0.1:")


@pytest.mark.docker
@pytest.mark.parametrize("fixture", GENERATED)
def test_fixture_becomes_verified_tasks(fixture, docker_engine, tmp_path):
    language, framework, largest = REGISTRY[fixture]
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(FIXTURES / fixture), _settings(tmp_path, largest), run_id=run_id)

    assert [(s.language, s.framework) for s in result.services] == [(language, framework)]
    verified = {t.kind: t for t in result.tasks if t.status == "verified"}
    assert set(verified) == {"implementation", "environment"}, result.model_dump_json(indent=2)
    assert result.verdict == Verdict.passed
    for task in verified.values():
        report = json.loads((Path(task.path) / "metadata.json").read_text())["verification_report"]
        assert [r["verdict"] for r in report["oracle_runs"]] == ["passed"]
    # The environment variant's no-op has no Dockerfile; the implementation's builds and
    # starts, and fails its behaviour tests.
    impl = json.loads((Path(verified["implementation"].path) / "metadata.json").read_text())
    assert impl["verification_report"]["noop_run"]["verdict"] == "tests_failed"
    assert sandbox.leftovers(run_id) == []
