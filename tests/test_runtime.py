"""The Docker runtime: engine, base images, build, run, cleanup (against a real engine)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import docker.errors
import pytest
import requests

from pipeline.config import Limits, Settings
from pipeline.models import StageError, Verdict
from pipeline.runtime import base_images, engine, sandbox
from pipeline.stages.bring_up import remove_failed_layers

pytestmark = pytest.mark.docker

TINY_APP = """\
import http.server, json
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""
PYTHON = "python:3.11-slim-bookworm"
NODE = "node:18-bookworm-slim"


def run_in(client, image: str, script: str, run_id: str, timeout: int = 300) -> tuple[int, str]:
    """Run a shell script in a labelled throwaway container: (exit code, output)."""
    container = client.containers.create(
        image, ["sh", "-c", script], labels={sandbox.LABEL: "1", sandbox.RUN_LABEL: run_id}
    )
    try:
        container.start()
        code = container.wait(timeout=timeout)["StatusCode"]
        return code, container.logs().decode("utf-8", errors="replace")
    finally:
        container.remove(force=True)


def assert_no_leftovers(run_id: str) -> None:
    assert sandbox.leftovers(run_id) == []


# --------------------------------------------------------------------------- engine


def test_unreachable_engine_is_an_infra_error_naming_setup(monkeypatch):
    # Needs no engine: points the client at a socket that does not exist.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    engine.reset_client()
    try:
        assert engine.engine_available() is False
        with pytest.raises(StageError) as info:
            engine.docker_client()
        assert info.value.verdict == Verdict.infra_error
        assert "scripts/setup.sh" in info.value.reason
    finally:
        monkeypatch.undo()
        engine.reset_client()


def test_client_is_cached(docker_engine):
    assert engine.docker_client() is engine.docker_client()
    assert engine.engine_available()


# --------------------------------------------------------------------------- base images


def test_ensure_is_idempotent_and_fast(docker_engine):
    start = time.monotonic()
    results = base_images.ensure()
    elapsed = time.monotonic() - start
    assert {r.image for r in results} == {PYTHON, NODE}
    assert all(r.action == "up-to-date" for r in results), results
    assert elapsed < 3, f"the second ensure() took {elapsed:.1f} s"


def test_python_base_behaves_like_the_official_image(docker_engine, run_id):
    script = (
        base_images.load_recipes()["python"].check
        + " && pip install --no-cache-dir -q six && python -c 'import six; print(\"six\", six.__version__)'"
        + " && python -m venv /tmp/venv && /tmp/venv/bin/python -c 'print(\"venv-ok\")'"
    )
    code, output = run_in(docker_engine, PYTHON, script, run_id)
    assert code == 0, output
    assert "Python 3.11" in output
    assert "six 1." in output
    assert "venv-ok" in output


def test_node_base_has_node_and_npm(docker_engine, run_id):
    script = (
        base_images.load_recipes()["node"].check
        + " && mkdir /tmp/app && cd /tmp/app && npm init -y >/dev/null"
        + " && npm install --no-audit --no-fund left-pad >/dev/null"
        + ' && node -e \'console.log("padded:" + require("left-pad")("x", 3))\''
    )
    code, output = run_in(docker_engine, NODE, script, run_id)
    assert code == 0, output
    assert output.startswith("v18.")
    assert "padded:  x" in output


@pytest.mark.parametrize("name", sorted(base_images.load_recipes()))
def test_recipe_smoke_check(docker_engine, run_id, name):
    """Every recipe's image works: made here when missing (pulled, else built from Debian's
    packages, as a generate run would make it), never skipped."""
    recipe = base_images.load_recipes()[name]
    base_images.ensure([name])
    code, output = run_in(docker_engine, recipe.image, recipe.check, run_id)
    assert code == 0, output
    assert sandbox.is_base_image(docker_engine.images.get(recipe.image))


def test_pulled_image_gets_the_ca_layer_and_label(docker_engine, monkeypatch, tmp_path):
    """The pull path cannot run on an offline machine; pretend the pull worked."""
    client = docker_engine
    image = f"abc-pipeline-test/fake-official:{uuid.uuid4().hex[:8]}"
    client.images.get(PYTHON).tag(image)  # exists on every machine, pulled or built
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n")
    settings = Settings(work_dir=tmp_path, extra_ca_bundle=ca, offline=False)
    recipe = base_images.Recipe(
        name="fake", image=image, default=False, check="true", template="FROM scratch\n", path=tmp_path
    )
    monkeypatch.setattr(base_images, "_pull", lambda _client, _image: None)
    try:
        first = base_images.ensure_recipe(client, recipe, settings, ca.read_bytes())
        assert first.action == "pulled"
        built = client.images.get(image)
        assert built.labels[sandbox.BASE_RECIPE_LABEL] == base_images.recipe_hash(recipe, ca.read_bytes())
        env = dict(item.split("=", 1) for item in built.attrs["Config"]["Env"])
        for var in base_images.CA_ENV_VARS:
            assert env[var] == base_images.CA_BUNDLE
        output = client.containers.run(image, ["tail", "-n", "3", base_images.CA_BUNDLE], remove=True)
        assert b"ZmFrZQ==" in output
        assert base_images.ensure_recipe(client, recipe, settings, ca.read_bytes()).action == "up-to-date"
        # A process that sees no extra CA accepts the image with one rather than rebuild it.
        assert base_images.ensure_recipe(client, recipe, settings, None).action == "up-to-date"
    finally:
        client.images.remove(image, force=True)


# --------------------------------------------------------------------------- build


@pytest.fixture(scope="module")
def tiny_image(docker_engine, tmp_path_factory):
    run = f"test-tiny-{uuid.uuid4().hex[:8]}"
    context = tmp_path_factory.mktemp("tiny")
    (context / "app.py").write_text(TINY_APP)
    (context / "Dockerfile").write_text(
        f'FROM {PYTHON}\nWORKDIR /app\nCOPY app.py .\nEXPOSE 8000\nCMD ["python", "-u", "app.py"]\n'
    )
    result = sandbox.build_image(context, f"abc-pipeline-test/tiny:{run}", labels={sandbox.RUN_LABEL: run}, timeout=300)
    assert result.ok, result.log
    assert result.image_id and result.image_id.startswith("sha256:")
    assert "Step 1/" in result.log
    yield f"abc-pipeline-test/tiny:{run}"
    sandbox.cleanup(run, images=True)
    assert sandbox.leftovers(run) == []


def _context(tmp_path: Path, dockerfile: str) -> Path:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    return tmp_path


def test_failing_build_returns_its_log(docker_engine, run_id, tmp_path):
    context = _context(tmp_path, f"FROM {PYTHON}\nRUN echo build-marker-42 && exit 7\n")
    result = sandbox.build_image(
        context, f"abc-pipeline-test/broken:{run_id}", labels={sandbox.RUN_LABEL: run_id}, timeout=120
    )
    assert not result.ok
    assert result.image_id is None
    assert "build-marker-42" in result.log
    assert "returned a non-zero code: 7" in result.log


def test_build_timeout_cancels_the_build(docker_engine, run_id, tmp_path):
    marker = uuid.uuid4().hex
    context = _context(tmp_path, f"FROM {PYTHON}\nRUN echo {marker} && sleep 120\n")
    result = sandbox.build_image(
        context, f"abc-pipeline-test/slow:{run_id}", labels={sandbox.RUN_LABEL: run_id}, timeout=3
    )
    assert not result.ok and result.timed_out
    assert result.seconds < 15
    # The daemon cancels the step: its intermediate container goes away.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        building = [
            c for c in docker_engine.containers.list(all=True) if marker in " ".join(c.attrs["Config"]["Cmd"] or [])
        ]
        if not building:
            break
        time.sleep(0.5)
    assert not building


# --------------------------------------------------------------------------- run


def test_running_service_answers_and_is_removed(tiny_image, run_id):
    start = time.monotonic()
    with sandbox.running_service(
        tiny_image, port=8000, env={"X": "1"}, health_path="/health", limits=Limits(startup_timeout=60), run_id=run_id
    ) as service:
        healthy_after = time.monotonic() - start
        assert service.base_url.startswith("http://127.0.0.1:")
        answer = requests.get(service.base_url + "/items/7", timeout=5)
        assert answer.json() == {"path": "/items/7"}
        assert "GET /health" in service.logs()
        assert not sandbox.is_base_image(engine.docker_client().images.get(tiny_image))
        assert sandbox.leftovers(run_id) != []
    print(f"start-to-healthy: {healthy_after:.2f} s")
    assert_no_leftovers(run_id)


def test_exception_inside_the_block_still_cleans_up(tiny_image, run_id):
    with (
        pytest.raises(RuntimeError),
        sandbox.running_service(tiny_image, port=8000, env={}, health_path="/", limits=Limits(), run_id=run_id),
    ):
        raise RuntimeError("the caller failed")
    assert_no_leftovers(run_id)


def test_container_that_exits_is_service_crashed_with_its_log(tiny_image, run_id):
    command = ["python", "-c", "print('crash-marker-17', flush=True); raise SystemExit(3)"]
    with (
        pytest.raises(StageError) as info,
        sandbox.running_service(
            tiny_image, port=8000, env={}, health_path="/", limits=Limits(), run_id=run_id, command=command
        ),
    ):
        pytest.fail("an exited container must not be yielded")
    assert info.value.verdict == Verdict.service_crashed
    assert "crash-marker-17" in info.value.reason
    assert "code 3" in info.value.reason
    assert_no_leftovers(run_id)


def test_a_silent_crash_says_what_ran_and_how_it_ended(tiny_image, run_id):
    # An empty log says nothing: the reason names the command and the exit code instead.
    command = ["python", "-c", "raise SystemExit(7)"]
    with (
        pytest.raises(StageError) as info,
        sandbox.running_service(
            tiny_image, port=8000, env={}, health_path="/", limits=Limits(), run_id=run_id, command=command
        ),
    ):
        pytest.fail("an exited container must not be yielded")
    assert info.value.verdict == Verdict.service_crashed
    assert "code 7 before writing anything" in info.value.reason
    assert "python -c raise SystemExit(7)" in info.value.reason
    assert_no_leftovers(run_id)


def test_missing_executable_is_service_crashed(tiny_image, run_id):
    with (
        pytest.raises(StageError) as info,
        sandbox.running_service(
            tiny_image,
            port=8000,
            env={},
            health_path="/",
            limits=Limits(),
            run_id=run_id,
            command=["no-such-server-binary"],
        ),
    ):
        pass
    assert info.value.verdict == Verdict.service_crashed
    assert_no_leftovers(run_id)


def test_a_health_path_that_keeps_answering_500_means_the_service_is_up(tiny_image, run_id, monkeypatch):
    """A page whose template is outside the service's folder answers 500 for good: the
    service speaks HTTP (run-tests.sh takes any answer too), so it is up after the patience
    a warming-up service gets; the route's own failure is for the tests to find."""
    monkeypatch.setattr(sandbox, "SERVER_ERROR_PATIENCE", 2.0)
    app = (
        "import http.server\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(500); self.end_headers(); self.wfile.write(b'TemplateNotFound')\n"
        "http.server.ThreadingHTTPServer(('0.0.0.0', 8000), H).serve_forever()\n"
    )
    start = time.monotonic()
    with sandbox.running_service(
        tiny_image,
        port=8000,
        env={},
        health_path="/",
        limits=Limits(startup_timeout=60),
        run_id=run_id,
        command=["python", "-c", app],
    ) as service:
        assert requests.get(service.base_url + "/", timeout=5).status_code == 500
    assert 2.0 <= time.monotonic() - start < 30
    assert_no_leftovers(run_id)


def test_service_that_never_answers_is_startup_timeout(tiny_image, run_id):
    command = ["python", "-c", "print('still-booting', flush=True); import time; time.sleep(600)"]
    start = time.monotonic()
    with (
        pytest.raises(StageError) as info,
        sandbox.running_service(
            tiny_image,
            port=8000,
            env={},
            health_path="/",
            limits=Limits(startup_timeout=3),
            run_id=run_id,
            command=command,
        ),
    ):
        pass
    assert info.value.verdict == Verdict.startup_timeout
    assert "still-booting" in info.value.reason
    assert time.monotonic() - start < 20
    assert_no_leftovers(run_id)


def test_memory_hog_is_oom(tiny_image, run_id):
    command = ["python", "-c", "b = bytearray(512 * 1024 * 1024); import time; time.sleep(60)"]
    with (
        pytest.raises(StageError) as info,
        sandbox.running_service(
            tiny_image,
            port=8000,
            env={},
            health_path="/",
            limits=Limits(memory="64m", startup_timeout=30),
            run_id=run_id,
            command=command,
        ),
    ):
        pass
    assert info.value.verdict == Verdict.oom
    assert_no_leftovers(run_id)


def test_missing_image_is_infra_error(docker_engine, run_id):
    with (
        pytest.raises(StageError) as info,
        sandbox.running_service(
            f"abc-pipeline-test/absent:{run_id}", port=8000, env={}, health_path="/", limits=Limits(), run_id=run_id
        ),
    ):
        pass
    assert info.value.verdict == Verdict.infra_error
    assert_no_leftovers(run_id)


# --------------------------------------------------------------------------- cleanup


def test_cleanup_removes_a_runs_leftovers_but_not_base_images(docker_engine, run_id, tmp_path):
    client = docker_engine
    labels = {sandbox.LABEL: "1", sandbox.RUN_LABEL: run_id}
    client.networks.create(f"abc-{run_id}-orphan", driver="bridge", labels=labels)
    client.containers.create(PYTHON, ["sleep", "60"], labels=labels, name=f"abc-{run_id}-orphan")
    context = _context(tmp_path, f"FROM {PYTHON}\nLABEL marker={run_id}\n")
    app = sandbox.build_image(
        context, f"abc-pipeline-test/app:{run_id}", labels={sandbox.RUN_LABEL: run_id}, timeout=120
    )
    # An image tagged with the name its base-image label states is a base image: spared.
    # The app image inherits that label from python's base image but not the tag.
    base_like = sandbox.build_image(
        context,
        f"abc-pipeline-test/base-like:{run_id}",
        labels={sandbox.RUN_LABEL: run_id, sandbox.BASE_IMAGE_LABEL: f"abc-pipeline-test/base-like:{run_id}"},
        timeout=120,
    )
    assert app.ok and base_like.ok
    try:
        removed = sandbox.cleanup(run_id, images=True)
        assert removed == {"containers": 1, "networks": 1, "images": 1}
        assert_no_leftovers(run_id)
        assert client.images.get(f"abc-pipeline-test/base-like:{run_id}")
        assert client.images.get(PYTHON)
    finally:
        client.images.remove(f"abc-pipeline-test/base-like:{run_id}", force=True)


def test_service_container_runs_with_every_limit(tiny_image, run_id):
    """Memory (no swap), processes, CPU, never privileged, no host mounts, its own network,
    published on the loopback only."""
    limits = Limits(memory="256m", pids=64, cpus=0.5, startup_timeout=60)
    with sandbox.running_service(
        tiny_image, port=8000, env={}, health_path="/", limits=limits, run_id=run_id
    ) as service:
        attrs = engine.docker_client().api.inspect_container(service.container_id)
    host = attrs["HostConfig"]
    assert host["Memory"] == 256 * 1024 * 1024 and host["MemorySwap"] == host["Memory"]
    assert host["PidsLimit"] == 64
    assert host["NanoCpus"] == 500_000_000
    assert host["Privileged"] is False
    assert "no-new-privileges" in (host["SecurityOpt"] or [])
    assert not host.get("Binds") and attrs["Mounts"] == []
    assert host["NetworkMode"] == service.network_name not in ("bridge", "host", "default")
    assert list(attrs["NetworkSettings"]["Networks"]) == [service.network_name]
    assert {b["HostIp"] for b in host["PortBindings"]["8000/tcp"]} == {"127.0.0.1"}
    assert_no_leftovers(run_id)


# --------------------------------------------------------------------------- machine or task


# Failed build steps as the tools print them. The machine's fault: a full disk, the host's
# OOM killer (builds have no memory limit), a registry the network cannot reach.
MACHINE_FAULTS = {
    "pip_disk_full": (
        "Step 5/9 : RUN pip install --no-cache-dir -r requirements.txt\n ---> Running in 4f2a\n"
        "Collecting numpy==1.26.4\n  Downloading numpy-1.26.4.tar.gz (15.8 MB)\n"
        "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n"
        "The command '/bin/sh -c pip install --no-cache-dir -r requirements.txt' returned a non-zero code: 1\n"
    ),
    "apt_disk_full": (
        "Step 3/8 : RUN apt-get update && apt-get install -y build-essential\n"
        "E: Write error - write (28: No space left on device)\n"
        "The command '/bin/sh -c apt-get update && apt-get install -y build-essential' returned a non-zero code: 100\n"
    ),
    "host_oom_killed_the_build": (
        "Step 7/9 : RUN npm run build\n ---> Running in 9c1d\n> app@1.0.0 build\n> tsc -p .\n"
        "The command '/bin/sh -c npm run build' returned a non-zero code: 137\n"
    ),
    "npm_dns": (
        "Step 4/8 : RUN npm ci --omit=dev\nnpm ERR! code EAI_AGAIN\n"
        "npm ERR! request to https://registry.npmjs.org/express failed, "
        "reason: getaddrinfo EAI_AGAIN registry.npmjs.org\n"
        "The command '/bin/sh -c npm ci --omit=dev' returned a non-zero code: 1\n"
    ),
    "bundler_offline": (
        "Step 5/16 : RUN bundle config set --local without 'development test' && bundle install --jobs 4\n"
        "Could not reach host index.rubygems.org. Check your network connection and try\nagain.\n"
        "The command '/bin/sh -c bundle install --jobs 4' returned a non-zero code: 17\n"
    ),
    "go_proxy_unreachable": (
        "Step 4/10 : RUN go mod download\n"
        'go: github.com/gin-gonic/gin@v1.9.1: Get "https://proxy.golang.org/github.com/gin-gonic/gin/@v/v1.9.1.mod": '
        "dial tcp: lookup proxy.golang.org on 10.0.0.2:53: server misbehaving\n"
        "The command '/bin/sh -c go mod download' returned a non-zero code: 1\n"
    ),
    "go_proxy_timeout": (
        "Step 5/12 : RUN go mod download\n"
        'go: github.com/go-chi/chi/v5@v5.0.12: Get "https://proxy.golang.org/github.com/go-chi/chi/v5/@v/v5.0.12.mod":'
        " dial tcp 142.250.74.81:443: i/o timeout\n"
        "The command '/bin/sh -c go mod download' returned a non-zero code: 1\n"
    ),
    "go_proxy_refuses_a_module": (
        "Step 5/12 : RUN go mod download && CGO_ENABLED=0 go build github.com/go-chi/chi/v5\n"
        "/root/go/pkg/mod/example.com/x@v1.7.8/types.go:12:2: example.com/storages/core@v0.0.20: reading "
        "https://proxy.golang.org/example.com/storages/core/@v/v0.0.20.zip: 403 Forbidden\n"
        "\tserver response: This module version is not available.\n"
        "The command '/bin/sh -c go mod download' returned a non-zero code: 1\n"
    ),
    "go_proxy_ca_untrusted": (
        "Step 5/12 : RUN go mod download\n"
        'go: example.com/x@v1.0.0: Get "https://proxy.golang.org/example.com/x/@v/v1.0.0.mod": '
        "tls: failed to verify certificate: x509: certificate signed by unknown authority\n"
        "The command '/bin/sh -c go mod download' returned a non-zero code: 1\n"
    ),
    "maven_central_timeout": (
        "Step 6/10 : RUN mvn -B -q dependency:go-offline\n"
        "[ERROR] Plugin org.apache.maven.plugins:maven-dependency-plugin:3.6.1 or one of its dependencies could not "
        "be resolved: Failed to read artifact descriptor for org.apache.maven.plugins:maven-dependency-plugin:jar:"
        "3.6.1: Could not transfer artifact org.apache.maven.plugins:maven-dependency-plugin:pom:3.6.1 from/to "
        "central (https://repo.maven.apache.org/maven2): Connect to repo.maven.apache.org:443 "
        "[repo.maven.apache.org/151.101.0.215] failed: Connect timed out\n"
        "The command '/bin/sh -c mvn -B -q dependency:go-offline' returned a non-zero code: 1\n"
    ),
    "maven_ca_untrusted": (
        "Step 6/10 : RUN mvn -B -q dependency:go-offline\n"
        "[ERROR] Non-resolvable parent POM for com.example:store:0.1.0: Could not transfer artifact "
        "org.springframework.boot:spring-boot-starter-parent:pom:3.2.5 from/to central "
        "(https://repo.maven.apache.org/maven2): PKIX path building failed: "
        "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path\n"
        "The command '/bin/sh -c mvn -B -q dependency:go-offline' returned a non-zero code: 1\n"
    ),
    "cargo_git_index_unreachable": (
        "Step 6/10 : RUN mkdir -p src && cargo build --release\n"
        "    Updating crates.io index\n"
        "error: failed to get `axum` as a dependency of package `app v0.1.0 (/app)`\n\n"
        "Caused by:\n  failed to fetch `https://github.com/rust-lang/crates.io-index`\n\n"
        "Caused by:\n  network failure seems to have happened\n"
        "The command '/bin/sh -c mkdir -p src && cargo build --release' returned a non-zero code: 101\n"
    ),
    "cargo_ca_untrusted": (
        "Step 6/10 : RUN mkdir -p src && cargo build --release\n"
        "error: failed to query replaced source registry `crates-io`\n\nCaused by:\n"
        "  download of config.json failed\n\nCaused by:\n  [60] SSL peer certificate or SSH remote key was not "
        "OK (SSL certificate problem: unable to get local issuer certificate)\n"
        "The command '/bin/sh -c mkdir -p src && cargo build --release' returned a non-zero code: 101\n"
    ),
    "composer_offline": (
        "Step 6/12 : RUN composer install --no-dev --no-interaction --prefer-dist --no-scripts --no-autoloader\n"
        "  curl error 6 while downloading https://repo.packagist.org/packages.json: Co  \n"
        "  uld not resolve host: repo.packagist.org                                     \n"
        "The command '/bin/sh -c composer install --no-dev' returned a non-zero code: 1\n"
    ),
    "pip_no_connection": (
        "Step 5/9 : RUN pip install -r requirements.txt\n"
        "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection "
        "broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: "
        "Failed to establish a new connection: [Errno 101] Network is unreachable')': /simple/flask/\n"
        "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1\n"
    ),
}
# The repository's fault, even where an earlier step printed a machine-like message.
TASK_FAULTS = {
    "maven_no_such_artifact": (
        "Step 6/10 : RUN mvn -B -q dependency:go-offline\n"
        "[ERROR] Failed to execute goal on project store: Could not resolve dependencies for project "
        "com.example:store:jar:0.1.0: Could not find artifact com.example:nothing:jar:9.9 in central "
        "(https://repo.maven.apache.org/maven2)\n"
        "The command '/bin/sh -c mvn -B -q dependency:go-offline' returned a non-zero code: 1\n"
    ),
    "cargo_no_such_crate": (
        "Step 6/10 : RUN mkdir -p src && cargo build --release\n"
        "    Updating crates.io index\n"
        "error: no matching package named `axum-nothing` found\nlocation searched: crates.io index\n"
        "The command '/bin/sh -c mkdir -p src && cargo build --release' returned a non-zero code: 101\n"
    ),
    "compile_error": (
        "Step 6/9 : RUN CGO_ENABLED=0 go build -o /app/server .\n./main.go:12:2: undefined: hanlder\n"
        "The command '/bin/sh -c CGO_ENABLED=0 go build -o /app/server .' returned a non-zero code: 1\n"
    ),
    "no_such_version": (
        "Step 5/9 : RUN pip install -r requirements.txt\n"
        "ERROR: Could not find a version that satisfies the requirement flask==99.0 (from versions: 0.1, 3.0.3)\n"
        "ERROR: No matching distribution found for flask==99.0\n"
        "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1\n"
    ),
    "earlier_step_mentions_a_refused_connection": (
        "Step 5/9 : RUN npm test\ntest: connection refused on 127.0.0.1:5432 (skipped)\n ---> 1a2b3c4d5e6f\n"
        "Step 6/9 : RUN npm run build\nsrc/index.ts(3,1): error TS2304: Cannot find name 'foo'.\n"
        "The command '/bin/sh -c npm run build' returned a non-zero code: 2\n"
    ),
}


@pytest.mark.parametrize("name", sorted(MACHINE_FAULTS))
def test_machine_faults_in_a_build_log_are_infra(name):
    reason = sandbox.build_infra_reason(MACHINE_FAULTS[name])
    assert reason is not None and "Step" not in reason, reason


@pytest.mark.parametrize("name", sorted(TASK_FAULTS))
def test_repository_faults_are_not_infra(name):
    assert sandbox.build_infra_reason(TASK_FAULTS[name]) is None


def test_killed_build_step_is_infra_not_a_build_error(docker_engine, run_id, tmp_path):
    """A real build whose step is SIGKILLed (what the host's OOM killer does to a build,
    which has no memory limit): the result says the machine is at fault."""
    # A child shell: the step's own shell is PID 1 of its container, which SIGKILL spares.
    context = _context(tmp_path, f"FROM {PYTHON}\nRUN echo {uuid.uuid4().hex} > /marker\nRUN sh -c 'kill -9 $$'\n")
    tag = f"abc-pipeline-test/killed:{run_id}"
    result = sandbox.build_image(context, tag, labels={sandbox.RUN_LABEL: run_id}, timeout=120)
    assert not result.ok
    assert result.infra_reason and "137" in result.infra_reason
    remove_failed_layers(result.layers)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_engine.images.get(result.layers[-1])


def test_failed_build_without_a_machine_fault_has_no_infra_reason(docker_engine, run_id, tmp_path):
    context = _context(tmp_path, f"FROM {PYTHON}\nRUN echo 'connection refused' && exit 0\nRUN exit 3\n")
    result = sandbox.build_image(
        context, f"abc-pipeline-test/plain:{run_id}", labels={sandbox.RUN_LABEL: run_id}, timeout=120
    )
    assert not result.ok and result.infra_reason is None
    remove_failed_layers(result.layers)


def test_build_result_names_the_layers_it_made(docker_engine, run_id, tmp_path):
    context = _context(tmp_path, f"FROM {PYTHON}\nRUN echo {uuid.uuid4().hex} > /a\nRUN exit 3\n")
    result = sandbox.build_image(
        context, f"abc-pipeline-test/layers:{run_id}", labels={sandbox.RUN_LABEL: run_id}, timeout=120
    )
    assert not result.ok and len(result.layers) == 1
    assert docker_engine.images.get(result.layers[0])  # the failed build's last good layer, to remove
    remove_failed_layers(result.layers)
    with pytest.raises(docker.errors.ImageNotFound):
        docker_engine.images.get(result.layers[0])


# --------------------------------------------------------------------------- signals

SIGNAL_SCRIPT = """
import os, signal, sys, time
from pipeline.runtime import sandbox
try:
    with sandbox.interruptible_run("test-signal-script"):
        print("ready", flush=True)
        time.sleep(30)
finally:
    with sandbox.deferred_interrupts():
        print("cleaning", flush=True)
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C during the clean-up
        time.sleep(0.5)
        print("cleaned", flush=True)
"""


def test_sigterm_unwinds_and_a_second_interrupt_waits_for_the_cleanup():
    """SIGTERM unwinds the run so its `finally` clean-up runs (Python's default would die at
    once), and an interrupt arriving during that clean-up is raised only after it."""
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_SCRIPT], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert out.split() == ["cleaning", "cleaned"], (out, err)
    assert "KeyboardInterrupt" in err  # the held-back Ctrl-C, raised after the clean-up
    assert proc.returncode != 0


def test_cleanup_passes_over_a_container_whose_removal_is_already_in_progress(monkeypatch):
    """`clean` beside a run that is removing its own containers: the daemon answers 409 to
    the second removal. That container is on its way out, not an engine failure."""

    def conflict(status: int, explanation: str) -> docker.errors.APIError:
        response = requests.Response()
        response.status_code = status
        return docker.errors.APIError("conflict", response=response, explanation=explanation)

    class Container:
        def __init__(self, error: Exception | None) -> None:
            self.error = error
            self.gone = False

        def remove(self, **_: object) -> None:
            # Listed once per label filter set: the second removal finds it gone.
            if self.gone:
                raise docker.errors.NotFound("gone")
            if self.error is not None:
                raise self.error
            self.gone = True

    in_progress = conflict(409, "removal of container 524aed90a331 is already in progress")
    listed = [Container(in_progress), Container(None)]

    class Client:
        containers = type("Containers", (), {"list": staticmethod(lambda **_: listed)})()
        networks = type("Networks", (), {"list": staticmethod(lambda **_: [])})()

    monkeypatch.setattr(sandbox, "docker_client", lambda: Client())
    assert sandbox.cleanup("run-1") == {"containers": 1, "networks": 0, "images": 0}

    # Any other refusal is still the engine's failure, said as such.
    listed[:] = [Container(conflict(409, "container is paused"))]
    with pytest.raises(StageError) as caught:
        sandbox.cleanup("run-1")
    assert caught.value.verdict == Verdict.infra_error
