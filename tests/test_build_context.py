"""A service whose build needs files outside its own folder: the build context becomes the
smallest folder holding them (stages/build_context.py, each language's reach.py), and the
synthesized Dockerfile copies that context and works in the service's folder.

The unit tests choose contexts for small trees written here and check the Dockerfile and
run-tests.sh that follow; Docker tests build nethttp_replace_lib (a Go module replacing a
sibling one) and a Rust workspace member (path dependencies only), each rebuilt after an
edit on its dependency layer; the end-to-end test turns `express_sibling_lib` (an Express
service that requires a package two folders up) into verified tasks through
`abc-pipeline generate`, both variants.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import Settings
from pipeline.languages import get_language
from pipeline.languages.reach import Reach
from pipeline.models import Inventory, RepoSnapshot, Service
from pipeline.stages import build_context, environment
from pipeline.stages.package import run_tests_script

FIXTURES = Path(__file__).parent / "fixtures"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _synthesize(repo: Path, root: str, language: str, framework: str) -> environment.ServiceEnv:
    snapshot = RepoSnapshot.model_construct(path=repo, owner="o", name=repo.name, commit="0", origin=str(repo))
    service = Service(root=root, language=language, framework=framework)
    return environment.synthesize(snapshot, Inventory(services=[], groups=[]), service, None)


def _built_after_an_edit(spec: environment.ServiceEnv, repo: Path, tag: str, run_id: str, edit) -> list[str]:
    """Build the service's image, apply `edit` (a source change), build again: the second
    build's steps, each with the lines Docker printed for it ("Using cache" where reused)."""
    from pipeline.runtime import sandbox

    context, dockerfile = environment.build_paths(spec, repo)

    def build() -> str:
        result = sandbox.build_image(
            context, tag, labels={sandbox.RUN_LABEL: run_id}, timeout=1200, dockerfile=dockerfile
        )
        assert result.ok, result.log[-3000:]
        return result.log

    build()
    edit()
    return re.split(r"^Step \d+/\d+ : ", build(), flags=re.MULTILINE)


# --------------------------------------------------------------------------- choosing the context


def test_common_root_is_the_smallest_folder_holding_all():
    reach = [Reach(path="apps/lib/store", reason="r")]
    assert build_context.common_root("apps/services/api", reach) == "apps"
    assert build_context.common_root("server", [Reach(path="lib", reason="r")]) == "."
    # A reach that is an ancestor of the service root is the context itself.
    assert build_context.common_root("plugins/chi", [Reach(path=".", reason="r")]) == "."
    assert build_context.common_root("a/b/c", [Reach(path="a/b", reason="r")]) == "a/b"


def test_a_service_that_reaches_nothing_is_built_from_its_root():
    context = build_context.choose(FIXTURES, "express_books", "javascript")
    assert (context.root, context.service_dir, context.wider) == ("express_books", ".", False)
    spec = _synthesize(FIXTURES / "express_books", ".", "javascript", "express")
    assert spec.build_context is None
    assert build_context.CONTEXT_MARK not in spec.dockerfile
    assert "WORKDIR /app\n" in spec.dockerfile and "COPY . .\n" in spec.dockerfile


def test_express_requiring_a_sibling_two_levels_up_is_built_from_their_parent():
    repo = FIXTURES / "express_sibling_lib"
    context = build_context.choose(repo, "apps/services/notes-api", "javascript")
    # apps/, not the repository: docs/ is not needed.
    assert (context.root, context.service_dir) == ("apps", "services/notes-api")
    assert [r.path for r in context.reaches] == ["apps/lib/notes-store"]
    assert context.from_dockerfile == "../.."

    spec = _synthesize(repo, "apps/services/notes-api", "javascript", "express")
    text = spec.dockerfile
    assert build_context.marked_context(text) == "../.."
    assert "WORKDIR /app/services/notes-api\n" in text
    assert "COPY services/notes-api/package.json ./\n" in text
    # The reached package's manifest comes into the dependency layer, and its own
    # dependencies are installed in its folder (npm does not for a folder outside).
    assert "COPY lib/notes-store/package.json /app/lib/notes-store/package.json\n" in text
    assert "(cd ../../lib/notes-store && npm install --omit=dev --ignore-scripts && npm rebuild)" in text
    assert "COPY . /app/\n" in text
    assert environment.build_paths(spec, repo) == (repo / "apps", "services/notes-api/Dockerfile")
    # The repository's own Dockerfile (or the env variant's agent) is built from the service root.
    own = spec.model_copy(update={"dockerfile_source": "repository"})
    assert environment.build_paths(own, repo) == (repo / "apps/services/notes-api", "Dockerfile")


def test_package_json_file_dependency_widens_and_tests_do_not(tmp_path):
    repo = _write(
        tmp_path / "repo",
        {
            "pkgs/api/package.json": json.dumps({"dependencies": {"express": "^4", "shared": "file:../shared"}}),
            # A specifier that names nothing there (a comment's example) does not either.
            "pkgs/api/index.js": "require('express');\n// require('../../../generated/client')\n",
            # A test's require of a helper above the service does not make the build wider.
            "pkgs/api/test/app.test.js": "require('../../../testHelper');\n",
            "pkgs/shared/package.json": json.dumps({"name": "shared", "dependencies": {"ms": "^2"}}),
            "pkgs/shared/index.js": "module.exports = 1;\n",
            "testHelper.js": "",
        },
    )
    context = build_context.choose(repo, "pkgs/api", "javascript")
    assert (context.root, context.service_dir) == ("pkgs", "api")
    assert [(r.path, r.reason) for r in context.reaches] == [("pkgs/shared", "package.json: shared file:../shared")]


def test_go_replace_by_a_sibling_module_keeps_the_replace(tmp_path):
    repo = FIXTURES / "nethttp_replace_lib"
    context = build_context.choose(repo, "server", "go")
    assert (context.root, context.service_dir) == (".", "server")
    assert context.reaches[0].reason == "go.mod: replace example.com/lib => ../lib"

    spec = _synthesize(repo, "server", "go", "nethttp")
    text = spec.dockerfile
    assert build_context.marked_context(text) == ".."
    assert "COPY server/go.mod ./\n" in text
    assert "COPY lib/go.mod /app/lib/go.mod\n" in text
    assert "dropreplace" not in text
    # /app/server would be the repository's server/ folder: the binary goes elsewhere.
    assert "-o /usr/local/bin/server" in text and spec.start_command == ["/usr/local/bin/server"]


def test_go_replace_outside_the_repository_is_left_to_the_toolchain(tmp_path):
    repo = _write(
        tmp_path / "repo",
        {
            "go.mod": "module example.com/svc\n\ngo 1.19\n\nrequire example.com/lib v1.2.0\n\n"
            "replace example.com/lib v1.2.0 => ../elsewhere\n",
            "main.go": "package main\n\nfunc main() {}\n",
        },
    )
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "go.mod").write_text("module example.com/lib\n")
    context = build_context.choose(repo, ".", "go")
    assert not context.wider
    tc = get_language("go").detect_toolchain(repo, offline=True)
    assert "-dropreplace=example.com/lib@v1.2.0" in (tc.build_command or "")


def _crate(name: str, extra: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{extra}'


def test_rust_example_of_a_workspace_whose_dependencies_are_in_another_workspace(tmp_path):
    """socketioxide's layout: examples/ is a workspace whose [workspace.dependencies] name
    ../crates/x, a member of the root workspace (edition 2024 there)."""
    repo = _write(
        tmp_path / "repo",
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n\n[workspace.package]\nrust-version = "1.80"\n',
            "crates/core/Cargo.toml": '[package]\nname = "core"\nversion = "0.1.0"\nedition = "2024"\n',
            "examples/Cargo.toml": '[workspace]\nmembers = ["*"]\nexclude = ["broken"]\n\n'
            '[workspace.dependencies]\ncore = { path = "../crates/core" }\naxum = "0.7"\n',
            "examples/echo/Cargo.toml": _crate(
                "echo", "\n[dependencies]\ncore.workspace = true\naxum.workspace = true\n"
            ),
            "examples/chat/Cargo.toml": _crate("chat"),
            "examples/Cargo.lock": "version = 3\n",
        },
    )
    context = build_context.choose(repo, "examples/echo", "rust")
    assert (context.root, context.service_dir) == (".", "examples/echo")
    assert {r.path for r in context.reaches} == {"examples", "examples/chat", "crates/core", "."}

    spec = _synthesize(repo, "examples/echo", "rust", "axum")
    tc = spec.toolchain
    assert tc is not None
    # The workspace's lock, the newest edition any loaded crate asks for.
    assert tc.language_version == "1.85"
    assert tc.build_command == "cargo build --release --locked && cp ../target/release/echo /usr/local/bin/server"
    # The dependency layer: the workspaces' manifests and lock, the other crates whole, the
    # service's manifest with a placeholder main (a masked tree changes none of it).
    assert tc.manifests == [
        "Cargo.toml",
        "../Cargo.toml",
        "../Cargo.lock",
        "../../Cargo.toml",
        "../chat/",
        "../../crates/core/",
    ]
    assert (tc.install_command or "").startswith(
        'mkdir -p "$(dirname src/main.rs)" && echo "fn main() {}" > src/main.rs'
    )
    assert "rm -f src/main.rs" in (tc.install_command or "")
    assert "COPY crates/core/ /app/crates/core/\n" in spec.dockerfile
    assert build_context.marked_context(spec.dockerfile) == "../.."


def test_rust_path_dependency_on_a_sibling_crate(tmp_path):
    repo = _write(
        tmp_path / "repo",
        {
            "services/api/Cargo.toml": _crate("api", '\n[dependencies]\nshared = { path = "../shared" }\n'),
            "services/shared/Cargo.toml": _crate("shared"),
            "tools/x/Cargo.toml": _crate("x"),
        },
    )
    context = build_context.choose(repo, "services/api", "rust")
    assert (context.root, context.service_dir) == ("services", "api")
    # A crate a workspace above it excludes is built on its own.
    _write(
        repo,
        {"Cargo.toml": '[workspace]\nmembers = ["tools/*"]\nexclude = ["alone"]\n', "alone/Cargo.toml": _crate("a")},
    )
    assert not build_context.choose(repo, "alone", "rust").wider
    assert build_context.choose(repo, "tools/x", "rust").root == "."


def test_rust_workspace_naming_itself_as_a_member(tmp_path):
    """`members = [".", "crates/*"]` (rustpbx): the root package is a member like the others,
    and a member crate is built from the workspace."""
    repo = _write(
        tmp_path / "repo",
        {
            "Cargo.toml": _crate("top", '\n[workspace]\nmembers = [".", "./crates/*/"]\n'),
            "crates/models/Cargo.toml": _crate("models"),
        },
    )
    assert not build_context.choose(repo, ".", "rust").wider
    assert build_context.choose(repo, "crates/models", "rust").root == "."


# --------------------------------------------------------------------------- run-tests.sh


def _bash_context(script: str, repo: Path) -> str:
    """The CONTEXT run-tests.sh computes for a repository (its build lines run, not docker)."""
    start = script.index('CONTEXT="$REPO_DIR/$SERVICE_ROOT"')
    end = script.index('BUILD_LOG="$(mktemp)"')
    head = "\n".join(
        [
            'verdict() { echo "verdict=$1 $2"; }',
            f"REPO_DIR={repo}; REPO_NAME=repo; SERVICE_ROOT=apps/services/notes-api; DOCKERFILE=Dockerfile",
        ]
    )
    program = head + "\n" + script[start:end].replace("exit ", "return ") + 'echo "$CONTEXT"\n'
    wrapped = "f() {\n" + program + "\n}\nf\n"
    return subprocess.run(["bash", "-c", wrapped], capture_output=True, text=True, check=False).stdout.strip()


def test_each_app_of_a_maven_aggregator_is_a_service_built_from_the_aggregator(tmp_path):
    """Two Spring Boot apps in one aggregator (spring_two_apps: accounts and tickets, both
    using the common module): each is a service rooted at its module, so each gets its own
    endpoints, port and jar; the aggregator's folder is the build context, and the reactor
    build of that app alone runs there."""
    from pipeline.languages import get_framework

    repo = FIXTURES / "spring_two_apps"
    spring = get_framework("spring")
    services = spring.detect(repo)
    assert [(s.root.relative_to(repo.resolve()).as_posix(), s.entrypoint) for s in services] == [
        ("accounts", "src/main/java/com/example/desk/accounts/AccountsApplication.java"),
        ("tickets", "src/main/java/com/example/desk/tickets/TicketsApplication.java"),
    ]
    assert {(e.method, e.path) for e in spring.discover(repo, services[1])} == {("GET", "/tickets/code")}

    context = build_context.choose(repo, "accounts", "java")
    assert (context.root, context.service_dir, context.from_dockerfile) == (".", "accounts", "..")
    assert [r.reason for r in context.reaches] == ["pom.xml: the aggregator that builds desk-accounts with its modules"]

    snapshot = RepoSnapshot.model_construct(path=repo, owner="o", name=repo.name, commit="0", origin=str(repo))
    service = Service(root="accounts", language="java", framework="spring", entrypoint=services[0].entrypoint)
    spec = environment.synthesize(snapshot, Inventory(services=[], groups=[]), service, None)
    text = spec.dockerfile
    assert f"{build_context.CONTEXT_MARK} ..\n" in text
    assert "WORKDIR /app/accounts\n" in text and "COPY . /app/\n" in text
    assert "RUN cd .. && mvn -B -DskipTests -pl accounts -am package\n" in text
    assert spec.port == 8101
    assert '"$(ls target/*.jar ' in spec.start_command[-1]
    # With the Maven wrapper at the aggregator: made executable there, where it runs.
    wrapped = tmp_path / "wrapped"
    shutil.copytree(repo, wrapped)
    (wrapped / "mvnw").write_text("#!/bin/sh\n")
    (wrapped / ".mvn/wrapper").mkdir(parents=True)
    snapshot = RepoSnapshot.model_construct(path=wrapped, owner="o", name="r", commit="0", origin=str(wrapped))
    text = environment.synthesize(snapshot, Inventory(services=[], groups=[]), service, None).dockerfile
    assert "RUN cd .. && chmod +x mvnw && ./mvnw -B -DskipTests -pl accounts -am package\n" in text
    assert "COPY mvnw /app/mvnw\n" in text and "COPY .mvn/ /app/.mvn/\n" in text
    # An app alone in its aggregator stays served from the aggregator's folder, as before.
    alone = get_language("java").outside_paths(FIXTURES / "spring_store", FIXTURES / "spring_store")
    assert alone == []


def test_run_tests_builds_from_the_context_the_dockerfile_names(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "express_sibling_lib", repo)
    spec = _synthesize(repo, "apps/services/notes-api", "javascript", "express")
    environment.write_environment(spec, repo)
    assert (repo / "apps" / ".dockerignore").read_text().count("**/node_modules") == 1
    script = run_tests_script(
        task_id="t", repo_dir="repo", service_root="apps/services/notes-api", port=3000, health_path="/health",
        limits=Settings().limits, group="notes", client_base_image="python", test_requirements=("pytest",),
    )  # fmt: skip
    assert _bash_context(script, repo) == str((repo / "apps").resolve())
    # Without the line (the repository's own Dockerfile, or the agent's): the service root.
    dockerfile = repo / "apps/services/notes-api/Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(build_context.CONTEXT_MARK, "# gone"))
    assert _bash_context(script, repo) == str(repo / "apps/services/notes-api")
    # A context that climbs out of the repository is refused.
    dockerfile.write_text(f"{build_context.CONTEXT_MARK} ../../../..\nFROM x\n")
    assert _bash_context(script, repo).startswith("verdict=build_error")


# --------------------------------------------------------------------------- end to end


@pytest.mark.docker
def test_rust_workspace_member_builds_with_a_reused_dependency_layer(docker_engine, run_id, tmp_path):
    """A crate of an examples/ workspace whose dependency is a crate of the root workspace
    (no registry: path dependencies only) builds from the repository; an edit of its own
    source rebuilds it without rebuilding the dependency layer."""
    from pipeline.runtime import sandbox
    from pipeline.stages.bring_up import ensure_base_image

    repo = _write(
        tmp_path / "repo",
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n\n[workspace.package]\nversion = "0.1.0"\n',
            "crates/core/Cargo.toml": '[package]\nname = "core-lib"\nversion.workspace = true\nedition = "2021"\n',
            "crates/core/src/lib.rs": 'pub fn greeting() -> &\'static str { "hello" }\n',
            # `target` excluded, as socketioxide's examples do: the build makes that folder.
            "examples/Cargo.toml": '[workspace]\nmembers = ["*"]\nexclude = ["target"]\n\n'
            '[workspace.dependencies]\ncore-lib = { path = "../crates/core" }\n',
            "examples/echo/Cargo.toml": _crate("echo", "\n[dependencies]\ncore-lib.workspace = true\n")
            + '\n[[bin]]\nname = "echo"\npath = "echo.rs"\n',
            "examples/echo/echo.rs": 'fn main() { println!("{}", core_lib::greeting()); }\n',
        },
    )
    spec = _synthesize(repo, "examples/echo", "rust", "axum")
    environment.write_environment(spec, repo)
    ensure_base_image(spec.base_image, Settings(work_dir=tmp_path / "work", offline=True))
    assert environment.build_paths(spec, repo) == (repo, "examples/echo/Dockerfile")
    tag = f"abc-pipeline-test/rust-member:{run_id}"
    source = repo / "examples/echo/echo.rs"
    steps = _built_after_an_edit(
        spec, repo, tag, run_id, lambda: source.write_text(source.read_text().replace('"{}"', '"{}!"'))
    )
    assert "Using cache" in next(step for step in steps if step.startswith("RUN mkdir"))
    labels = {sandbox.RUN_LABEL: run_id}
    printed = docker_engine.containers.run(tag, ["/usr/local/bin/server"], remove=True, labels=labels)
    assert printed.decode().strip() == "hello!"


@pytest.mark.docker
def test_rust_package_that_is_its_workspace_root_builds_members_in_the_dependency_layer(
    docker_engine, run_id, tmp_path
):
    """rustpbx's layout: the package is the workspace's root (`members = [".", "crates/*"]`)
    and depends on a member. The member and the package's dependencies build in a layer of
    their own; an edit of the package's source rebuilds only the package."""
    from pipeline.runtime import sandbox
    from pipeline.stages.bring_up import ensure_base_image

    repo = _write(
        tmp_path / "repo",
        {
            "Cargo.toml": _crate(
                "top",
                '\n[workspace]\nmembers = [".", "crates/*"]\n\n[dependencies]\n'
                'top-core = { path = "crates/top-core" }\n\n[[bin]]\nname = "top"\npath = "src/bin/top.rs"\n',
            ),
            "crates/top-core/Cargo.toml": _crate("top-core"),
            "crates/top-core/src/lib.rs": 'pub fn greeting() -> &\'static str { "hello" }\n',
            "src/lib.rs": "pub fn shout(text: &str) -> String { text.to_uppercase() }\n",
            "src/bin/top.rs": 'fn main() { println!("{}", top::shout(top_core::greeting())); }\n',
        },
    )
    spec = _synthesize(repo, ".", "rust", "axum")
    assert "crates/top-core/" in spec.dockerfile and "cargo build --release --bin top && rm -f" in spec.dockerfile
    environment.write_environment(spec, repo)
    ensure_base_image(spec.base_image, Settings(work_dir=tmp_path / "work", offline=True))
    tag = f"abc-pipeline-test/rust-workspace-root:{run_id}"
    source = repo / "src/bin/top.rs"
    steps = _built_after_an_edit(
        spec, repo, tag, run_id, lambda: source.write_text(source.read_text().replace('"{}"', '"{}!"'))
    )
    assert "Using cache" in next(step for step in steps if step.startswith("RUN mkdir"))
    # cargo colours its output for Docker's log: the escapes go before reading it.
    rebuilt = re.sub(r"\x1b\[[0-9;]*m", "", next(step for step in steps if step.startswith("RUN cargo build")))
    assert "Compiling top v0.1.0" in rebuilt and "Compiling top-core" not in rebuilt, rebuilt
    labels = {sandbox.RUN_LABEL: run_id}
    printed = docker_engine.containers.run(tag, ["/app/server"], remove=True, labels=labels)
    assert printed.decode().strip() == "HELLO!"


@pytest.mark.docker
def test_go_service_replacing_a_sibling_module_builds_and_serves(docker_engine, run_id, tmp_path):
    """The synthesized Dockerfile of nethttp_replace_lib builds from the repository (the
    service at server/, its library at lib/); an edit of the library keeps the dependency
    layer, and the service starts."""
    import requests

    from pipeline.runtime import sandbox
    from pipeline.stages.bring_up import ensure_base_image

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "nethttp_replace_lib", repo)
    spec = _synthesize(repo, "server", "go", "nethttp")
    environment.write_environment(spec, repo)
    settings = Settings(work_dir=tmp_path / "work", offline=True)
    ensure_base_image(spec.base_image, settings)
    tag = f"abc-pipeline-test/replace-lib:{run_id}"
    library = repo / "lib/counter/counter.go"
    download = _built_after_an_edit(
        spec, repo, tag, run_id, lambda: library.write_text(library.read_text() + "\n// edited\n")
    )
    assert "Using cache" in next(step for step in download if step.startswith("RUN go mod download"))
    with sandbox.running_service(
        tag, port=spec.port, health_path=spec.health_path, limits=settings.limits, run_id=run_id
    ) as service:
        answer = requests.post(f"{service.base_url}/counters/visits", json={"delta": 2}, timeout=10)
        assert answer.json() == {"name": "visits", "value": 2}


@pytest.mark.docker
def test_an_app_of_a_maven_aggregator_builds_from_it_and_serves(docker_engine, run_id, tmp_path):
    """spring_two_apps' accounts app: built from the aggregator's folder with the common
    module it uses; the reactor's dependencies are a layer of their own, reused after an
    edit of the app's source, and the app answers with what the common module computes."""
    import requests

    from pipeline.runtime import sandbox
    from pipeline.stages.bring_up import ensure_base_image

    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "spring_two_apps", repo)
    entry = "src/main/java/com/example/desk/accounts/AccountsApplication.java"
    snapshot = RepoSnapshot.model_construct(path=repo, owner="o", name="r", commit="0", origin=str(repo))
    service = Service(root="accounts", language="java", framework="spring", entrypoint=entry)
    spec = environment.synthesize(snapshot, Inventory(services=[], groups=[]), service, None)
    environment.write_environment(spec, repo)
    settings = Settings(work_dir=tmp_path / "work", offline=True)
    ensure_base_image(spec.base_image, settings)
    assert environment.build_paths(spec, repo) == (repo, "accounts/Dockerfile")
    tag = f"abc-pipeline-test/two-apps:{run_id}"
    controller = repo / "accounts/src/main/java/com/example/desk/accounts/AccountController.java"
    steps = _built_after_an_edit(
        spec, repo, tag, run_id, lambda: controller.write_text(controller.read_text() + "\n// edited\n")
    )
    assert "Using cache" in next(step for step in steps if "-Dspring-boot.repackage.skip=true" in step)
    # A JVM with Spring on a loaded machine: the language's own start allowance.
    limits = settings.limits.model_copy(update={"startup_timeout": get_language("java").startup_timeout})
    with sandbox.running_service(tag, port=spec.port, health_path="/accounts", limits=limits, run_id=run_id) as service:
        answer = requests.post(f"{service.base_url}/accounts", json={"owner": "Ann Lee"}, timeout=10)
        assert (answer.status_code, answer.json()) == (201, {"id": 1, "owner": "Ann Lee", "code": "ACC-ANN-1"})


@pytest.mark.docker
@pytest.mark.e2e
def test_generate_verifies_a_service_that_requires_a_sibling_folder(docker_engine, prefect_engine, tmp_path):
    from pipeline.runtime import sandbox

    before = set(sandbox.leftovers())
    out = tmp_path / "out"
    env = {
        **os.environ,
        "ABC_WORK_DIR": str(tmp_path / "work"),
        "ABC_ORACLE_RUNS": "1",
        "ABC_VARIANTS": "implementation,environment",
    }
    source = FIXTURES / "express_sibling_lib"
    result = CliRunner().invoke(app, ["generate", str(source), "--out", str(out), "--json"], env=env)
    payload = json.loads(result.stdout)
    assert result.exit_code == 0, payload
    verified = {t["kind"]: Path(t["path"]) for t in payload["tasks"] if t["status"] == "verified"}
    assert set(verified) == {"implementation", "environment"}, payload

    task = verified["implementation"]
    metadata = json.loads((task / "metadata.json").read_text())
    assert metadata["environment"]["build_context"]["root"] == "apps"
    assert metadata["verification_report"]["noop_run"]["verdict"] == "tests_failed"
    repo = next(p for p in task.iterdir() if p.is_dir() and p.name != "tests")
    dockerfile = (repo / "apps/services/notes-api/Dockerfile").read_text()
    assert build_context.marked_context(dockerfile) == "../.."
    # Masking touched the service's handlers only: the reached package is as it was.
    assert (repo / "apps/lib/notes-store/index.js").read_text() == (
        source / "apps/lib/notes-store/index.js"
    ).read_text()
    # The environment variant ships no Dockerfile; its solution writes the verified one.
    variant = verified["environment"]
    assert not (
        next(p for p in variant.iterdir() if p.name == repo.name) / "apps/services/notes-api/Dockerfile"
    ).exists()
    assert "# abc-pipeline build context: ../.." in (variant / "solution.sh").read_text()
    linted = CliRunner().invoke(app, ["lint", str(task), str(variant)])
    assert linted.exit_code == 0, linted.output
    # Nothing of this run is left in Docker (others may be using the engine meanwhile).
    assert [o for o in set(sandbox.leftovers()) - before if "sibling" in o] == []


def test_environment_variant_instruction_names_the_wider_context():
    """What package.py passes as `build_context` (for_instruction of the task's metadata)
    tells the agent of the environment variant which folder the tests build from."""
    from pipeline.templates import render

    spec = _synthesize(FIXTURES / "express_sibling_lib", "apps/services/notes-api", "javascript", "express")
    environment_json = spec.model_dump(mode="json", exclude={"dockerfile"})
    described = build_context.for_instruction(environment_json)
    assert described is not None and described["root"] == "apps" and described["from_dockerfile"] == "../.."
    values = {
        "repo_dir": "Repo",
        "service_root": "apps/services/notes-api",
        "dockerfile_path": "apps/services/notes-api/Dockerfile",
        "base_image": spec.base_image,
        "language": "Javascript",
        "start_command": spec.start_command,
        "port": spec.port,
        "health_path": "/health",
        "env_vars": {},
        "sidecars": [],
    }
    text = render("task/environment-requirements.md.j2", **values, build_context=described)
    assert "with `Repo/apps` as the build context" in text
    assert "`# abc-pipeline build context: ../..`" in text
    # Without it (package.py not passing one, or a service built from its root): as before.
    assert "with `Repo/apps/services/notes-api` as the build context" in render(
        "task/environment-requirements.md.j2", **values
    )
    own = {**environment_json, "dockerfile_source": "repository"}
    assert build_context.for_instruction(own) is None


def test_a_stale_workspace_lock_is_a_lock_mismatch():
    """A workspace's Cargo.lock older than its members' manifests (socketioxide's examples):
    cargo 1.94's wording is classified, so the repair drops --locked."""
    from pipeline.stages import repair

    log = (
        "error: cannot update the lock file /app/examples/Cargo.lock because --locked was passed to prevent this\n"
        "The command '/bin/sh -c CARGO_TARGET_DIR=target cargo build --release --locked' returned a non-zero code: 101"
    )
    assert repair.classify(log, "build").failure_class == repair.FailureClass.lockfile_mismatch
