"""Build repair: real-looking logs classified, each rule's fix, and the attempt loop."""

from __future__ import annotations

import pytest

from pipeline.languages.rust import toolchain as toolchain_rust
from pipeline.languages.toolchain import Toolchain
from pipeline.models import EnvSpec, Verdict
from pipeline.stages.dummy_values import dummy_value
from pipeline.stages.repair import (
    FailureClass,
    RuleBasedStrategy,
    ServiceFacts,
    TryResult,
    classify,
    log_tail,
    run_attempts,
)

C = FailureClass

LOGS: list[tuple[str, str, FailureClass, dict[str, str]]] = [
    (
        "apt",
        "build",
        "Step 4/11 : RUN apt-get update  && apt-get install -y --no-install-recommends libfoo-dev\n"
        " ---> Running in 1c2d\nReading package lists...\nBuilding dependency tree...\n"
        "\x1b[91mE\x1b[0m\x1b[91m: \x1b[0m\x1b[91mUnable to locate package libfoo-dev\x1b[0m\x1b[91m\n"
        "The command '/bin/sh -c apt-get update && apt-get install -y libfoo-dev' returned a non-zero code: 100\n",
        C.missing_system_package,
        {"unknown_package": "libfoo-dev"},
    ),
    (
        "gcc",
        "build",
        "Building wheel for psycopg2 (setup.py): started\n"
        "    running build_ext\n    building 'psycopg2._psycopg' extension\n"
        "    error: command 'gcc' failed: No such file or directory\n"
        "  ERROR: Failed building wheel for psycopg2\n",
        C.missing_system_package,
        {"tool": "gcc"},
    ),
    (
        "pg_config",
        "build",
        "    Error: pg_config executable not found.\n\n    pg_config is required to build psycopg2 from source.\n",
        C.missing_system_package,
        {"tool": "pg_config"},
    ),
    (
        "header",
        "build",
        "  src/_cffi_backend.c:15:10: fatal error: ffi.h: No such file or directory\n"
        "     15 | #include <ffi.h>\n  compilation terminated.\n",
        C.missing_system_package,
        {"header": "ffi.h"},
    ),
    (
        "pip_python",
        "build",
        "Processing /app\nERROR: Package 'notes' requires a different Python: 3.11.2 not in '>=3.12'\n",
        C.wrong_language_version,
        {"want": ">=3.12"},
    ),
    (
        "pip_nodist_python",
        "build",
        "ERROR: Ignored the following versions that require a different python version: 2.1.0 Requires-Python >=3.12\n"
        "ERROR: Could not find a version that satisfies the requirement numpy==2.1.0 (from versions: 1.26.4)\n"
        "ERROR: No matching distribution found for numpy==2.1.0\n",
        C.wrong_language_version,
        {"want": ">=3.12"},
    ),
    (
        "go",
        "build",
        "Step 6/9 : RUN go mod download\n ---> Running in 9e1\n"
        "go: go.mod requires go >= 1.22 (running go 1.19.8; GOTOOLCHAIN=local)\n",
        C.wrong_language_version,
        {"want": "1.22"},
    ),
    (
        "rustc",
        "build",
        "error: package `axum v0.7.5` cannot be built because it requires rustc 1.66 or newer, "
        "while the currently active rustc version is 1.63.0\n",
        C.wrong_language_version,
        {"want": "1.66"},
    ),
    (
        "ruby",
        "build",
        "Your Ruby version is 3.1.2, but your Gemfile specified 3.2.2\n",
        C.wrong_language_version,
        {"want": "3.2.2"},
    ),
    (
        "composer_php",
        "build",
        "Your lock file does not contain a compatible set of packages. Please run composer update.\n\n"
        "  Problem 1\n    - Root composer.json requires php ^8.3 but your php version (8.2.7) does not satisfy "
        "that requirement.\n",
        C.wrong_language_version,
        {"want": "^8.3"},
    ),
    (
        "java_release",
        "build",
        "[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile "
        "(default-compile) on project store: Fatal error compiling: error: release version 21 not supported\n",
        C.wrong_language_version,
        {"want": "21"},
    ),
    (
        "npm_ci",
        "build",
        "Step 5/10 : RUN npm ci --omit=dev\n"
        "npm ERR! code EUSAGE\nnpm ERR!\n"
        "npm ERR! `npm ci` can only install packages when your package.json and package-lock.json or "
        "npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.\n"
        "npm ERR! Missing: express@4.19.2 from lock file\n",
        C.lockfile_mismatch,
        {},
    ),
    (
        "npm_eresolve",
        "build",
        "npm ERR! code ERESOLVE\nnpm ERR! ERESOLVE unable to resolve dependency tree\nnpm ERR!\n"
        "npm ERR! While resolving: shop@1.0.0\nnpm ERR! Found: react@18.2.0\n",
        C.lockfile_mismatch,
        {},
    ),
    (
        "yarn_frozen",
        "build",
        "yarn install v1.22.19\n[1/4] Resolving packages...\n"
        "error Your lockfile needs to be updated, but yarn was run with `--frozen-lockfile`.\n",
        C.lockfile_mismatch,
        {},
    ),
    (
        "go_sum",
        "build",
        "main.go:6:2: missing go.sum entry for module providing package github.com/go-chi/chi/v5 "
        "(imported by example.com/todo); to add:\n\tgo get example.com/todo\n",
        C.lockfile_mismatch,
        {},
    ),
    (
        "keyerror",
        "start",
        "the service exited with code 1 before answering; last log lines:\nTraceback (most recent call last):\n"
        '  File "/app/app.py", line 7, in <module>\n    DATABASE_URL = os.environ["DATABASE_URL"]\n'
        "  File \"<frozen os>\", line 679, in __getitem__\nKeyError: 'DATABASE_URL'\n",
        C.missing_env_var,
        {"name": "DATABASE_URL"},
    ),
    (
        "ruby_fetch",
        "start",
        'config/initializers/secrets.rb:1:in `fetch\': key not found: "STRIPE_KEY" (KeyError)\n',
        C.missing_env_var,
        {"name": "STRIPE_KEY"},
    ),
    (
        "node_env",
        "start",
        "/app/src/config.js:4\n    throw new Error('Missing required environment variable: JWT_SECRET');\n",
        C.missing_env_var,
        {"name": "JWT_SECRET"},
    ),
    (
        "spring_placeholder",
        "start",
        "Caused by: java.lang.IllegalArgumentException: Could not resolve placeholder 'app.jwt.secret' "
        'in value "${app.jwt.secret}"\n',
        C.missing_env_var,
        {"name": "app.jwt.secret"},
    ),
    (
        "eaddrinuse",
        "start",
        "node:events:495\n      throw er; // Unhandled 'error' event\n"
        "Error: listen EADDRINUSE: address already in use :::3000\n    at Server.setupListenHandle [as _listen2]\n",
        C.port_mismatch,
        {"inuse": "3000"},
    ),
    (
        "loopback",
        "start",
        "the service did not answer GET /health with a status < 500 within 60 s (GET /health: ConnectionError); "
        "last log lines:\nServer listening on http://127.0.0.1:8080\n",
        C.port_mismatch,
        {"host": "127.0.0.1", "port": "8080"},
    ),
    (
        "other_port",
        "start",
        "the service did not answer GET / within 60 s; last log lines:\n"
        "2026-11-22 INFO  o.s.b.w.embedded.tomcat.TomcatWebServer : Tomcat started on port(s): 8081 (http)\n",
        C.port_mismatch,
        {"port": "8081"},
    ),
    (
        # rustpbx announces its SIP proxy (UDP) and a health check before its HTTP server:
        # the last announced address that is not UDP is the one to probe.
        "several_announced",
        "start",
        "the service did not answer GET / within 120 s; last log lines:\n"
        "INFO rustpbx::proxy::server: start proxy, udp port: UDP 172.18.0.2:5060\n"
        "INFO rustpbx::proxy::trunk_health: trunk health check started (default interval=30s, addr=0.0.0.0:5060)\n"
        "INFO rustpbx::addons::registry: Addon Archive is disabled\n"
        "INFO rustpbx: starting rustpbx on 0.0.0.0:8080\n"
        "INFO rustpbx::callrecord: CallRecordManager serving\n",
        C.port_mismatch,
        {"port": "8080"},
    ),
    (
        "refused",
        "start",
        "the service did not answer GET / within 60 s; last log lines:\nupstream: connection refused on port 5432\n",
        C.port_mismatch,
        {"refused": "5432"},
    ),
    (
        "dist_missing",
        "start",
        "the service exited with code 1 before answering; last log lines:\nnode:internal/modules/cjs/loader:1080\n"
        "Error: Cannot find module '/app/dist/main.js'\n    at Module._resolveFilename\n",
        C.missing_build_step,
        {"module": "/app/dist/main.js"},
    ),
    (
        "jar_missing",
        "start",
        "the service exited with code 1 before answering; last log lines:\n"
        "Error: Unable to access jarfile target/app.jar\n",
        C.missing_build_step,
        {},
    ),
    (
        "esm_as_commonjs",
        "start",
        "the service exited with code 1 before answering; last log lines:\n/app/src/server.js:1\n"
        "import express from 'express';\n^^^^^^\n\nSyntaxError: Cannot use import statement outside a module\n",
        C.missing_build_step,
        {"esm": "SyntaxError: Cannot use import statement outside a module"},
    ),
    (
        "tsc_missing",
        "build",
        "Step 7/10 : RUN npm run build\n> shop@1.0.0 build\n> tsc -p tsconfig.json\n\nsh: 1: tsc: not found\n",
        C.missing_build_step,
        {"devtool": "tsc"},
    ),
    (
        "outside_host_java",
        "start",
        "the service exited with code 1 before answering; last log lines:\n"
        "Caused by: java.net.UnknownHostException: sqs.us-east-1.amazonaws.com\n\tat java.base/java.net.InetAddress\n",
        C.needs_service,
        {"outside_host": "sqs.us-east-1.amazonaws.com"},
    ),
    (
        "outside_host_node",
        "start",
        "the service exited with code 1 before answering; last log lines:\n"
        "Error: getaddrinfo ENOTFOUND api.example-saas.io\n    at GetAddrInfoReqWrap.onlookup\n",
        C.needs_service,
        {"outside_host": "api.example-saas.io"},
    ),
    (
        "outside_host_go",
        "start",
        "the service exited with code 1 before answering; last log lines:\n"
        'Get "https://hooks.slack.com/x": dial tcp: lookup hooks.slack.com on 127.0.0.11:53: no such host\n',
        C.needs_service,
        {"outside_host": "hooks.slack.com"},
    ),
    (
        "base_image_unreachable",
        "build",
        'Step 1/9 : FROM maven:3.8-openjdk-8\nGet "https://registry-1.docker.io/v2/": dial tcp: lookup '
        "registry-1.docker.io on 10.255.255.53:53: no such host\n",
        C.base_image_unavailable,
        {"registry": "registry-1.docker.io"},
    ),
    (
        "base_image_refused",
        "build",
        "Step 1/4 : FROM acme/private-base:1\npull access denied for acme/private-base, repository does not exist "
        "or may require 'docker login'\n",
        C.base_image_unavailable,
        {"image": "acme/private-base"},
    ),
    (
        "unknown",
        "build",
        "Step 6/8 : RUN CGO_ENABLED=0 go build -o /app/server .\n./main.go:4:1: syntax error: unexpected EOF, "
        "expected }\nThe command '/bin/sh -c CGO_ENABLED=0 go build -o /app/server .' returned a non-zero code: 1\n",
        C.unknown,
        {},
    ),
]


@pytest.mark.parametrize(("name", "phase", "log", "expected", "detail"), LOGS, ids=[c[0] for c in LOGS])
def test_classify(name, phase, log, expected, detail):
    failure = classify(log, phase)
    assert failure.failure_class == expected, failure
    for key, value in detail.items():
        assert failure.detail.get(key) == value, failure.detail
    assert failure.evidence and "\n" not in failure.evidence


def test_port_signatures_do_not_count_in_a_build_log():
    log = "Step 5/9 : RUN npm test\nServer listening on http://127.0.0.1:3000\nTests failed: 2\n"
    assert classify(log, "build").failure_class == C.unknown


# --------------------------------------------------------------------------- fixes

NODE = """\
# Generated by abc-pipeline for a service using express (javascript 18, npm).
FROM node:18-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
ENV NODE_ENV="production"
ENV PORT="3000"
EXPOSE 3000
CMD ["node", "dist/main.js"]
"""

GO = """\
# Generated by abc-pipeline for a service using gin (go 1.19, go).
FROM golang:1.19-bookworm
WORKDIR /app
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /app/server .
ENV PORT="8080"
EXPOSE 8080
CMD ["/app/server"]
"""

PYTHON = """\
# Generated by abc-pipeline for a service using django (python 3.11, pip).
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV PORT="8000"
RUN python manage.py migrate --noinput
EXPOSE 8000
CMD ["python", "manage.py", "runserver", "0.0.0.0:8000"]
"""


def _spec(dockerfile: str, language: str, port: int) -> EnvSpec:
    return EnvSpec(
        service_root=".",
        language=language,
        framework="x",
        base_image="",
        dockerfile=dockerfile,
        port=port,
        start_command=[],
    )


def _fix(log: str, phase: str, dockerfile: str, language: str, port: int, *, offline: bool = False, toolchain=None):
    failure = classify(log, phase)
    facts = ServiceFacts(language=language, framework="x", offline=offline, toolchain=toolchain)
    return failure, RuleBasedStrategy().propose(failure, log_tail(log), _spec(dockerfile, language, port), facts)


def _log(name: str) -> tuple[str, str]:
    case = next(c for c in LOGS if c[0] == name)
    return case[2], case[1]


def test_fix_adds_the_debian_package_for_a_missing_compiler():
    log, phase = _log("gcc")
    _, proposal = _fix(log, phase, PYTHON, "python", 8000)
    lines = proposal.env.dockerfile.splitlines()
    assert lines[3:6] == [
        "RUN apt-get update \\",
        " && apt-get install -y --no-install-recommends build-essential \\",
        " && rm -rf /var/lib/apt/lists/*",
    ]
    assert lines[0].startswith("# Generated by abc-pipeline")  # still recognised as ours


def test_fix_drops_a_package_debian_does_not_have():
    log, phase = _log("apt")
    dockerfile = GO.replace(
        "WORKDIR /app\n",
        "WORKDIR /app\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends git libfoo-dev \\\n"
        " && rm -rf /var/lib/apt/lists/*\n",
    )
    _, proposal = _fix(log, phase, dockerfile, "go", 8080)
    assert "libfoo-dev" not in proposal.env.dockerfile
    assert "apt-get install -y --no-install-recommends git \\" in proposal.env.dockerfile


def test_fix_moves_to_the_image_the_log_asks_for():
    log, phase = _log("go")
    _, proposal = _fix(log, phase, GO, "go", 8080)
    assert "FROM golang:1.22-bookworm" in proposal.env.dockerfile and proposal.env.base_image == "golang:1.22-bookworm"
    log, phase = _log("pip_python")
    _, proposal = _fix(log, phase, PYTHON, "python", 8000)
    assert proposal.env.dockerfile.splitlines()[1] == "FROM python:3.12-slim-bookworm"
    log, phase = _log("java_release")
    _, proposal = _fix(log, phase, GO.replace("golang:1.19-bookworm", "eclipse-temurin:17-jdk"), "java", 8080)
    assert "FROM eclipse-temurin:21-jdk" in proposal.env.dockerfile


def test_offline_gives_up_on_a_version_no_stand_in_has():
    log, phase = _log("go")
    _, proposal = _fix(log, phase, GO, "go", 8080, offline=True)
    assert proposal is None


def test_fix_sets_a_dummy_for_a_missing_variable_before_the_failing_step():
    log, _ = _log("keyerror")
    build_log = "Step 8/10 : RUN python manage.py migrate --noinput\n" + log
    _, proposal = _fix(build_log, "build", PYTHON, "python", 8000)
    lines = proposal.env.dockerfile.splitlines()
    at = lines.index('ENV DATABASE_URL="sqlite:////tmp/abc-pipeline.db"')
    assert lines[at + 1] == "RUN python manage.py migrate --noinput"
    assert proposal.env.env["DATABASE_URL"].startswith("sqlite:")
    log, phase = _log("spring_placeholder")
    _, proposal = _fix(log, phase, GO, "java", 8080)
    assert 'ENV APP_JWT_SECRET="dummy-APP_JWT_SECRET"' in proposal.env.dockerfile


def test_fix_follows_the_port_the_service_listens_on_and_binds_all_interfaces():
    log, phase = _log("other_port")
    _, proposal = _fix(log, phase, GO, "java", 8080)
    assert proposal.env.port == 8081 and "EXPOSE 8081" in proposal.env.dockerfile
    log, phase = _log("loopback")
    _, proposal = _fix(log, phase, NODE, "javascript", 3000)
    assert 'ENV HOST="0.0.0.0"' in proposal.env.dockerfile
    assert proposal.env.dockerfile.index("ENV HOST=") < proposal.env.dockerfile.index("EXPOSE")
    log, phase = _log("eaddrinuse")
    _, proposal = _fix(log, phase, NODE, "javascript", 3000)
    assert proposal.env.port == 3001 and 'ENV PORT="3001"' in proposal.env.dockerfile
    assert 'ENV PORT="3000"' not in proposal.env.dockerfile


def test_fix_adds_the_missing_build_step_and_the_dev_dependencies_it_needs():
    log, phase = _log("dist_missing")
    tc = Toolchain(language="javascript", package_manager="npm", build_command="npm run build", base_image="node")
    _, proposal = _fix(log, phase, NODE, "javascript", 3000, toolchain=tc)
    lines = proposal.env.dockerfile.splitlines()
    assert lines[lines.index("COPY . .") + 1] == "RUN npm run build"
    log, phase = _log("tsc_missing")
    _, proposal = _fix(log, phase, NODE, "javascript", 3000)
    assert "RUN npm ci\n" in proposal.env.dockerfile


def test_fix_installs_without_the_frozen_lock():
    log, phase = _log("npm_ci")
    _, proposal = _fix(log, phase, NODE, "javascript", 3000)
    assert "RUN npm install --omit=dev" in proposal.env.dockerfile
    log, phase = _log("npm_eresolve")
    _, proposal = _fix(log, phase, NODE, "javascript", 3000)
    assert "RUN npm ci --omit=dev --legacy-peer-deps" in proposal.env.dockerfile
    log, phase = _log("go_sum")
    _, proposal = _fix(log, phase, GO, "go", 8080)
    assert "RUN go mod tidy && CGO_ENABLED=0 go build" in proposal.env.dockerfile


def test_unknown_failures_get_no_fix():
    log, phase = _log("unknown")
    failure, proposal = _fix(log, phase, GO, "go", 8080)
    assert failure.failure_class == C.unknown and proposal is None
    assert "syntax error" in failure.evidence


# --------------------------------------------------------------------------- the loop


def test_loop_repairs_until_it_works_and_keeps_every_attempt():
    logs = iter([_log("npm_ci")[0], _log("loopback")[0]])
    seen: list[str] = []

    def try_once(spec: EnvSpec) -> TryResult:
        seen.append(spec.dockerfile)
        if "npm ci" in spec.dockerfile:
            return TryResult(ok=False, phase="build", log=next(logs))
        if "HOST" not in spec.dockerfile:
            return TryResult(ok=False, phase="start", log=next(logs), verdict=Verdict.startup_timeout)
        return TryResult(ok=True, phase="start", log="Successfully built")

    facts = ServiceFacts(language="javascript", framework="express")
    outcome = run_attempts(
        _spec(NODE, "javascript", 3000), facts, try_once, strategy=RuleBasedStrategy(), max_repairs=3
    )
    assert outcome.ok and len(outcome.attempts) == 3
    assert [a.failure.failure_class if a.failure else None for a in outcome.attempts] == [
        C.lockfile_mismatch,
        C.port_mismatch,
        None,
    ]
    assert [a.dockerfile for a in outcome.attempts] == seen
    assert outcome.attempts[1].change.startswith("rules: install without the frozen lock")


def test_loop_stops_after_the_configured_number_of_repairs():
    def try_once(spec: EnvSpec) -> TryResult:
        missing = "ABC" if "ENV ABC=" not in spec.dockerfile else "DEF" if "ENV DEF=" not in spec.dockerfile else "GHI"
        return TryResult(ok=False, phase="start", log=f"KeyError: '{missing}'", verdict=Verdict.service_crashed)

    facts = ServiceFacts(language="go", framework="gin")
    outcome = run_attempts(_spec(GO, "go", 8080), facts, try_once, strategy=RuleBasedStrategy(), max_repairs=2)
    assert not outcome.ok and len(outcome.attempts) == 3
    assert outcome.verdict == Verdict.service_crashed
    assert outcome.reason.startswith("missing_env_var: KeyError: 'GHI' (no repair left")


def test_an_outside_host_at_start_is_service_unavailable_naming_the_host():
    """A cloud queue or SaaS API the service resolves at start: no sidecar stands in for it,
    and its verdict says which host, not `unknown`."""

    def try_once(spec: EnvSpec) -> TryResult:
        log = "Caused by: java.net.UnknownHostException: sqs.us-east-1.amazonaws.com"
        return TryResult(ok=False, phase="start", log=log, verdict=Verdict.service_crashed)

    facts = ServiceFacts(language="java", framework="spring")
    outcome = run_attempts(_spec(GO, "java", 8080), facts, try_once, strategy=RuleBasedStrategy(), max_repairs=2)
    assert not outcome.ok and len(outcome.attempts) == 1
    assert outcome.verdict == Verdict.service_unavailable
    assert outcome.reason.startswith("needs_service: ")
    assert "it connects to sqs.us-east-1.amazonaws.com at start: an outside service" in outcome.reason


def test_loop_falls_back_from_the_repository_dockerfile_without_editing_it():
    own = _spec("FROM golang:1.22\nRUN exit 1\n", "go", 8080)
    synthesized = _spec(GO, "go", 8080)
    tried: list[str] = []

    def try_once(spec: EnvSpec) -> TryResult:
        tried.append(spec.dockerfile)
        ok = spec.dockerfile == GO
        return TryResult(ok=ok, phase="build", log="go.mod requires go >= 1.22" if not ok else "")

    facts = ServiceFacts(language="go", framework="gin")
    outcome = run_attempts(own, facts, try_once, strategy=RuleBasedStrategy(), max_repairs=3, fallback=synthesized)
    assert outcome.ok and tried == [own.dockerfile, GO]
    assert outcome.attempts[1].change.startswith("the repository's Dockerfile failed (wrong_language_version)")


def test_debconf_noise_is_not_a_missing_env_var():
    log = (
        "Step 4/12 : RUN apt-get update && apt-get install -y --no-install-recommends git unzip composer\n"
        "debconf: unable to initialize frontend: Dialog\n"
        "debconf: (TERM is not set, so the dialog frontend is not usable.)\n"
        "Step 8/12 : RUN composer install --no-dev\n"
        "  [RuntimeException] the requested package foo/bar could not be found\n"
        "The command '/bin/sh -c composer install --no-dev' returned a non-zero code: 1\n"
    )
    assert classify(log, "build").failure_class == C.unknown


def test_setuptools_missing_compiler_installs_build_essential():
    """psycopg2 from source on a slim image, as pip prints it (a real repository's log)."""
    log = (
        "Step 6/12 : RUN pip install --no-cache-dir -r requirements.txt\n"
        "  Building wheel for psycopg2 (pyproject.toml): finished with status 'error'\n"
        "      x86_64-linux-gnu-gcc -Wsign-compare -DNDEBUG -g -fwrapv -O2 -c psycopg/adapter_asis.c\n"
        "      error: [Errno 2] No such file or directory: 'x86_64-linux-gnu-gcc'\n"
        "ERROR: Could not build wheels for psycopg2, which is required to install pyproject.toml-based projects\n"
    )
    failure = classify(log, "build")
    assert failure.failure_class == C.missing_system_package and failure.detail == {"tool": "x86_64-linux-gnu-gcc"}
    spec = _spec(PYTHON, "python", 8000)
    proposal = RuleBasedStrategy().propose(failure, log, spec, ServiceFacts(language="python", framework="fastapi"))
    assert proposal is not None and "build-essential" in proposal.env.dockerfile


def test_a_machine_fault_is_not_repaired_but_the_fallback_is_still_tried():
    """An unreachable registry at the repository's FROM: the synthesized Dockerfile is tried;
    when that one also meets a machine fault, the loop stops with infra_error, no repair."""
    own = _spec("FROM python:3.12-alpine\n", "python", 8000)
    synthesized = _spec(GO, "go", 8080)
    pull = 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.0.0.2:53: no such host'
    tried: list[str] = []

    def try_once(spec: EnvSpec) -> TryResult:
        tried.append(spec.dockerfile)
        return TryResult(ok=False, phase="build", log=pull, verdict=Verdict.infra_error, reason=pull)

    facts = ServiceFacts(language="go", framework="gin")
    outcome = run_attempts(own, facts, try_once, strategy=RuleBasedStrategy(), max_repairs=3, fallback=synthesized)
    assert tried == [own.dockerfile, GO]
    assert not outcome.ok and outcome.verdict == Verdict.infra_error
    assert outcome.reason.startswith("the machine failed, not the repository: Get ")


class _GiveUp:
    name = "llm-stub"

    def propose(self, failure, log_tail, env, facts):
        self.asked = (failure.failure_class, log_tail)
        return None


def test_a_strategy_is_pluggable():
    strategy = _GiveUp()
    outcome = run_attempts(
        _spec(GO, "go", 8080),
        ServiceFacts(language="go", framework="gin"),
        lambda spec: TryResult(ok=False, phase="build", log="E: Unable to locate package nope"),
        strategy=strategy,
        max_repairs=3,
    )
    assert not outcome.ok and strategy.asked[0] == C.missing_system_package
    assert "the llm-stub strategy has no fix" in outcome.reason


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DISABLE_AUTH", "false"),
        ("MAIL_USE_TLS", "false"),
        ("SQL_ECHO", "false"),
        ("FEATURE_X_ENABLED", "false"),
        ("REQUEST_TIMEOUT", "1"),
        ("TOKEN_TTL", "1"),
        ("UPLOAD_DIR", "/tmp/abc-pipeline"),
        ("LOG_LEVEL", "info"),
        ("ADMIN_EMAIL", "dummy@example.com"),
        ("APP_PORT", "8000"),
        ("REDIS_URL", "http://localhost"),
        ("JWT_SECRET", "dummy-JWT_SECRET"),
    ],
)
def test_a_dummy_value_has_the_kind_its_name_says(name, value):
    # A flag given "dummy-DISABLE_AUTH" reads as true and would switch auth off.
    assert dummy_value(name, 8000) == value


@pytest.mark.parametrize(
    ("log", "failure_class", "detail"),
    [
        (
            "decouple.UndefinedValueError: SECRET_KEY not found. Declare it as envvar or define a default value.",
            FailureClass.missing_env_var,
            {"name": "SECRET_KEY"},
        ),
        (
            "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings\n"
            "database_url\n  Field required [type=missing, input_value={}, input_type=dict]",
            FailureClass.missing_env_var,
            {"name": "database_url"},
        ),
        (
            'Traceback (most recent call last):\n  File "/app/app/main.py", line 12\n'
            "    type Point = tuple[float, float]\n         ^^^^^\nSyntaxError: invalid syntax",
            FailureClass.wrong_language_version,
            {"syntax": "SyntaxError"},
        ),
    ],
)
def test_configuration_read_through_libraries_and_newer_syntax_are_classed(log, failure_class, detail):
    failure = classify(log, "start")
    assert (failure.failure_class, failure.detail) == (failure_class, detail), failure


def test_a_module_only_devdependencies_declare_brings_them_back():
    # Seen on a real Express dev server: it loads a webpack plugin at start.
    log = "Error: Cannot find module 'html-webpack-plugin'\nRequire stack:\n- /app/server.js\n"
    failure = classify(log, "start")
    assert (failure.failure_class, failure.detail) == (
        FailureClass.missing_build_step,
        {"package": "html-webpack-plugin"},
    )
    env = EnvSpec(
        service_root=".",
        language="javascript",
        framework="express",
        dockerfile="FROM node:18-bookworm-slim\nWORKDIR /app\nCOPY package.json ./\nRUN npm install --omit=dev\n"
        'COPY . .\nCMD ["node", "server.js"]\n',
        base_image="node:18-bookworm-slim",
        start_command=["node", "server.js"],
        port=3000,
        health_path="/",
    )
    facts = ServiceFacts(language="javascript", framework="express")
    proposal = RuleBasedStrategy().propose(failure, log, env, facts)
    assert proposal is not None and "RUN npm install\n" in proposal.env.dockerfile


def test_a_module_no_manifest_declares_is_installed_the_languages_way():
    # Seen on a real tool's repository: its HTTP API requires packages its package.json does
    # not declare, and the install already has the devDependencies: the package is installed.
    log = "Error: Cannot find module 'express-fileupload'\nRequire stack:\n- /app/api/api.js\n"
    failure = classify(log, "start")
    assert failure.detail == {"package": "express-fileupload"}
    env = EnvSpec(
        service_root=".",
        language="javascript",
        framework="express",
        dockerfile="FROM node:18-bookworm-slim\nWORKDIR /app\nCOPY package.json ./\nRUN npm install\n"
        'COPY . .\nENV PORT="3000"\nCMD ["node", "api/api.js"]\n',
        base_image="node:18-bookworm-slim",
        start_command=["node", "api/api.js"],
        port=3000,
    )
    facts = ServiceFacts(language="javascript", framework="express")
    proposal = RuleBasedStrategy().propose(failure, log, env, facts)
    assert proposal is not None and "express-fileupload" in proposal.change
    assert "COPY . .\nRUN npm install --no-save express-fileupload\nENV PORT" in proposal.env.dockerfile
    # Once installed, the same failure has no further fix.
    assert RuleBasedStrategy().propose(failure, log, proposal.env, facts) is None


def test_webpack_4_on_a_newer_node_gets_the_legacy_openssl_provider():
    # Seen on a real repository: `npm run build` (webpack 4) on Node 18.
    log = (
        "Step 6/9 : RUN npm run build\n"
        "Error: error:0308010C:digital envelope routines::unsupported\n  code: 'ERR_OSSL_EVP_UNSUPPORTED'\n"
    )
    failure = classify(log, "build")
    assert failure.failure_class == FailureClass.wrong_language_version, failure
    env = EnvSpec(
        service_root=".",
        language="javascript",
        framework="express",
        dockerfile='FROM node:18-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN npm run build\nCMD ["npm", "start"]\n',
        base_image="node:18-bookworm-slim",
        start_command=["npm", "start"],
        port=3000,
    )
    proposal = RuleBasedStrategy().propose(failure, log, env, ServiceFacts(language="javascript", framework="express"))
    assert proposal is not None
    assert "ENV NODE_OPTIONS=--openssl-legacy-provider\nRUN npm run build" in proposal.env.dockerfile


@pytest.mark.parametrize(
    ("log", "which"),
    [
        (
            "MongoServerSelectionError: getaddrinfo ENOTFOUND dummy-MONGO_HOSTNAME\n  [Symbol(errorLabels)]: Set(0) {}",
            "mongodb",
        ),
        (
            "psycopg2.OperationalError: could not connect to server: Connection refused\n"
            '\tIs the server running on host "localhost" (127.0.0.1) and accepting TCP/IP connections on port 5432?',
            "postgresql",
        ),
        ("Error: connect ECONNREFUSED 127.0.0.1:3306", "mysql"),
        ("Error: connect ECONNREFUSED 127.0.0.1:6379", "redis"),
        # Go's net package: the refused port is the cache's, not the service's
        ("redis client ping is error error=dial tcp 127.0.0.1:6379: connect: connection refused", "redis"),
        ("dial tcp [::1]:5432: connect: connection refused", "postgresql"),
        ("Error: spawn docker ENOENT\n    at onErrorNT (node:internal/child_process:477:16)", "docker"),
    ],
)
def test_a_crash_for_want_of_a_server_says_which_server(log, which):
    """Not `unknown`, and not a port mismatch (the refused port is the database's): the
    repair starts that server beside the service (stages/sidecars.py)."""
    failure = classify(log, "start")
    assert failure.failure_class == C.needs_service and which in failure.detail
    env = EnvSpec(
        service_root=".",
        language="javascript",
        framework="express",
        base_image="node:18-bookworm-slim",
        dockerfile='FROM node:18-bookworm-slim\nCMD ["node", "server.js"]\n',
        port=3000,
        start_command=[],
    )
    facts = ServiceFacts(language="javascript", framework="express")
    outcome = run_attempts(
        env,
        facts,
        lambda spec: TryResult(ok=False, phase="start", log=log, verdict=Verdict.service_crashed),
        strategy=RuleBasedStrategy(),
        max_repairs=2,
    )
    assert outcome.verdict == Verdict.service_crashed
    if which == "docker":  # nothing to start beside it: a sandboxed service cannot run Docker
        assert len(outcome.attempts) == 1 and "runs Docker itself" in outcome.reason
    else:  # the server is started beside it; still failing, the reason says so
        assert len(outcome.attempts) == 2 and "beside the service" in outcome.attempts[1].change
        assert f"it needs a {which} server beside it" in outcome.reason


RUST = """\
# Generated by abc-pipeline for a service using axum (rust 1.85, cargo).
FROM rust:1.85-slim-trixie
WORKDIR /app
COPY . .
RUN cargo build --release --locked && cp target/release/app /app/server
EXPOSE 8080
CMD ["/app/server"]
"""


def test_offline_rust_installs_the_asked_rustc_with_rustup_over_the_stand_in():
    """No newer Rust image can be pulled offline, but static.rust-lang.org answers: the
    repair installs the rustc a crate asks for over the stand-in's, once per version."""
    log = "error: rustc 1.85.1 is not supported by the following package:\n  darling@0.24.1 requires rustc 1.88.0\n"
    _, proposal = _fix(log, "build", RUST, "rust", 8080, offline=True)
    lines = proposal.env.dockerfile.splitlines()
    assert lines[1] == "FROM rust:1.85-slim-trixie" and lines[2] == "WORKDIR /app"
    assert lines[3].startswith("# rustc from rustup: 1.88 ")
    assert "static.rust-lang.org/rustup/" in lines[4] and "--default-toolchain 1.88 " in lines[4]
    assert lines[5] == "ENV RUSTUP_HOME=/usr/local/rustup" and lines[6] == "COPY . ."
    _, again = _fix(log, "build", proposal.env.dockerfile, "rust", 8080, offline=True)
    assert again is None
    newer = log.replace("1.88.0", "1.90.0")
    _, proposal = _fix(newer, "build", proposal.env.dockerfile, "rust", 8080, offline=True)
    assert proposal.env.dockerfile.count("# rustc from rustup:") == 1 and "--default-toolchain 1.90 " in (
        proposal.env.dockerfile
    )


@pytest.mark.parametrize(
    ("missing", "installed"),
    [("elasticsearch", "elasticsearch"), ("yaml", "PyYAML"), ("PIL.Image", "Pillow"), ("server", None)],
)
def test_an_undeclared_python_import_is_installed_but_never_the_services_own(missing, installed):
    log = (
        'Traceback (most recent call last):\n  File "/app/app.py", line 3, in <module>\n'
        f"    import {missing}\nModuleNotFoundError: No module named '{missing}'\n"
    )
    failure = classify(log, "start")
    assert failure.failure_class == C.missing_build_step
    dockerfile = 'FROM python:3.11-slim-bookworm\nRUN pip install -r requirements.txt\nCOPY . .\nCMD ["python"]\n'
    facts = ServiceFacts(language="python", framework="flask", own_names={"app", "server", "requirements"})
    proposal = RuleBasedStrategy().propose(failure, log, _spec(dockerfile, "python", 5000), facts)
    if installed is None:
        assert proposal is None  # the service's own module: installing a namesake would be wrong
    else:
        assert f"RUN pip install --no-cache-dir {installed}\n" in proposal.env.dockerfile


def test_an_unknown_start_failure_names_the_go_panic_not_an_earlier_error_line():
    log = (
        'level=ERROR msg="Unable to load auth scheme. Disabling." error="unknown auth type: "\n'
        'level=WARN msg="No Emailer selected"\npanic: SessionStoreKey must be 32 bytes or longer\n\n'
        "goroutine 1 [running]:\nmain.main()\n\t/app/cmd/server/main.go:112 +0xf46\n"
    )
    failure = classify(log, "start")
    assert (failure.failure_class, failure.evidence) == (C.unknown, "panic: SessionStoreKey must be 32 bytes or longer")


def test_an_absolute_path_the_repository_has_under_its_folder_is_linked_there():
    """ashirt-server opens /migrations, which its own image copies to the root; the service
    folder has `migrations`: a link makes the synthesized image agree. A path the repository
    does not have is still missing_source, with no fix."""
    log = 'level=ERROR msg="schema read error" error="open /migrations: no such file or directory"\n'
    failure = classify(log, "start")
    assert (failure.failure_class, failure.detail.get("path")) == (C.missing_source, "/migrations")
    dockerfile = 'FROM golang:1.24-trixie\nWORKDIR /app\nCOPY . .\nRUN go build -o /app/server .\nCMD ["/app/server"]\n'
    facts = ServiceFacts(language="go", framework="chi", top_level={"migrations", "go.mod", "cmd"})
    proposal = RuleBasedStrategy().propose(failure, log, _spec(dockerfile, "go", 8080), facts)
    assert proposal is not None
    assert 'RUN ln -sfn /app/migrations /migrations\nCMD ["/app/server"]' in proposal.env.dockerfile
    other = classify('error="open /etc/app/conf.yaml: no such file or directory"\n', "start")
    assert RuleBasedStrategy().propose(other, "", _spec(dockerfile, "go", 8080), facts) is None


def _attempted(log: str, phase: str, verdict: Verdict):
    """run_attempts over a service whose every try fails with `log` in `phase`."""
    return run_attempts(
        _spec('FROM node:18-bookworm-slim\nCOPY . .\nCMD ["node", "server.js"]\n', "javascript", 3000),
        ServiceFacts(language="javascript", framework="express"),
        lambda _env: TryResult(ok=False, phase=phase, log=log, verdict=verdict),
        strategy=RuleBasedStrategy(),
        max_repairs=2,
    )


@pytest.mark.parametrize(
    ("log", "failure_class", "why"),
    [
        (
            "Error: Cannot find module '../../webpack-plugin/index'\nRequire stack:\n- /app/server.js",
            C.missing_source,
            "../../webpack-plugin/index is not in the build context",
        ),
        (
            "Error: Cannot find module '../credentials/algorithmia.json'",
            C.missing_source,
            "../credentials/algorithmia.json is not in the build context",
        ),
        (
            'Traceback (most recent call last):\n  File "/app/app.py", line 40, in <module>\n'
            "FileNotFoundError: [Errno 2] No such file or directory: 'config/keys.json'",
            C.missing_source,
            "config/keys.json is not in the build context",
        ),
        (
            'Traceback (most recent call last):\n  File "/app/app.py", line 12, in <module>\n'
            "    result = process_data(raw)\nNameError: name 'process_data' is not defined",
            C.app_error,
            "the service's own code fails at start",
        ),
        (
            # AwakenCN/Almost-Famous: the @Bean method of its RpcClient is commented out
            "***************************\nAPPLICATION FAILED TO START\n***************************\n\n"
            "Description:\n\nA component required a bean of type 'com.noseparte.common.rpc.RpcClient' "
            "that could not be found.\n",
            C.app_error,
            "no configuration defines a com.noseparte.common.rpc.RpcClient",
        ),
        (
            # a CLI whose `npm start` shows a menu (claude-code-templates' cli-tool): its
            # servers start from a menu choice
            "\u2554\u2550\u2550\u2557\n\u2551  Templates  \u2551\n\x1b[?25l\u2502\n"
            "\u25c6  What would you like to do?\n\u2502  \u25cf Analytics Dashboard\n"
            "\u2502  \u25cb Project Setup\n\u2514\n",
            C.interactive_program,
            "an interactive program that asks what to do, not a server",
        ),
        (
            "? Which template do you want to use? (Use arrow keys)\n\u276f express\n  koa\n",
            C.interactive_program,
            "an interactive program that asks what to do, not a server",
        ),
        (
            # blobstash: its YAML config is described in the README only
            "2026/12/06 18:37:59 failed to initialize server: failed to initialize filetree app: "
            "missing secret_key in config\n",
            C.missing_config,
            "a configuration file (or a setting in one) that the repository does not ship",
        ),
        (
            'Error: Config File "config" Not Found in "[/app /etc/app]"\n',
            C.missing_config,
            "a configuration file (or a setting in one) that the repository does not ship",
        ),
    ],
)
def test_a_start_failure_the_repository_causes_says_so_not_unknown(log, failure_class, why):
    failure = classify(log, "start")
    assert failure.failure_class == failure_class
    outcome = _attempted(log, "start", Verdict.service_crashed)
    assert outcome.verdict == Verdict.service_crashed
    assert outcome.reason.startswith(f"{failure_class}: ") and why in outcome.reason, outcome.reason


def test_a_build_cancelled_at_the_timeout_says_so_not_unknown():
    """rustpbx: 500 crates on two cores. The log's tail is the compiler's progress, and no
    Dockerfile change helps: the reason names the timeout and its setting."""
    log = (
        "   Compiling thiserror-impl v2.0.21\nerror: could not compile `x` (warning)\n"
        "   Compiling mime_guess v2.0.5\n\n"
        "[abc-pipeline] build timed out after 900 s and was cancelled\n"
    )
    assert classify(log, "build").failure_class == C.build_timeout
    outcome = _attempted(log, "build", Verdict.build_error)
    assert outcome.verdict == Verdict.build_error
    assert len(outcome.attempts) == 1, "a timeout is not repaired"
    assert outcome.reason.startswith("build_timeout: [abc-pipeline] build timed out after 900 s"), outcome.reason
    assert "longer than 900 s, the build timeout (ABC_BUILD_TIMEOUT)" in outcome.reason


RSIPSTACK_DRIFT = """\
   Compiling rustpbx v0.5.0-rc.1 (/app)
error[E0061]: this function takes 2 arguments but 1 argument was supplied
   --> src/proxy/proxy_call/sip_session.rs:237:9
    |
237 |         rsipstack::transaction::make_call_id(server.endpoint.inner.option.callid_suffix.as_deref())
    |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^----------------------- argument #2 of type `CallIdFormat` is missing
    |
note: function defined here
   --> /usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/rsipstack-0.6.13/src/transaction/mod.rs:306:8
    |
306 | pub fn make_call_id(suffix: Option<&str>, format: CallIdFormat) -> crate::sip::headers::CallId {
    |        ^^^^^^^^^^^^

error: could not compile `rustpbx` (lib) due to 1 previous error
"""


PIN = "(test -f Cargo.lock || cargo generate-lockfile) && cargo update -p rsipstack --precise 0.6.4 && "


def test_a_newer_release_than_the_manifest_names_is_pinned_back():
    """rustpbx names `rsipstack = "0.6.4"` and ships no Cargo.lock; the build took 0.6.13,
    whose function takes another argument. The version the manifest names is pinned before
    the build; a crate the manifest names at the version the build took is not a drift."""
    failure = classify(RSIPSTACK_DRIFT, "build")
    assert (failure.failure_class, failure.detail) == (
        C.dependency_drift,
        {"package": "rsipstack", "resolved": "0.6.13"},
    )
    dockerfile = (
        "FROM rust:1.85-trixie\nWORKDIR /app\nCOPY . .\nRUN cargo build --release && cp target/release/x /app/server\n"
    )
    facts = ServiceFacts(language="rust", framework="axum", declared_versions={"rsipstack": "0.6.4", "tokio": "1"})
    proposal = RuleBasedStrategy().propose(failure, RSIPSTACK_DRIFT, _spec(dockerfile, "rust", 8080), facts)
    assert proposal is not None
    assert (
        "RUN (test -f Cargo.lock || cargo generate-lockfile) && cargo update -p rsipstack --precise 0.6.4 && "
        "cargo build --release"
    ) in proposal.env.dockerfile
    assert proposal.change == "pin rsipstack to 0.6.4, the version the manifest names (the build took 0.6.13)"
    # With a dependency layer (built, with the newer release, before the source failed):
    # that layer stays as it was, so its cache holds, and the pin rebuilds in a layer after
    # it; the source's build pins too, since the copied source may bring its lock file back.
    layer = 'RUN mkdir -p src && echo "fn main() {}" > src/main.rs && cargo build --release && rm -rf src'
    layered = dockerfile.replace("COPY . .\n", f"COPY Cargo.toml ./\n{layer}\nCOPY . .\n")
    pinned = RuleBasedStrategy().propose(failure, RSIPSTACK_DRIFT, _spec(layered, "rust", 8080), facts)
    assert pinned is not None
    lines = pinned.env.dockerfile.splitlines()
    at = lines.index(layer)
    assert lines[at + 1].startswith("# rsipstack pinned to 0.6.4 in a layer of its own")
    assert lines[at + 2] == layer.replace("cargo build", PIN + "cargo build")
    assert lines[at + 3] == "COPY . ." and lines[at + 4].startswith(f"RUN {PIN}cargo build --release && cp ")
    # A second drift pins in that same layer, beside the first.
    again = toolchain_rust.with_pinned(pinned.env.dockerfile, "tokio", "1.40.0")
    assert again is not None and again.count("# ") == pinned.env.dockerfile.count("# ")
    assert again.count("cargo update -p tokio --precise 1.40.0 && ") == 2 and again.count(layer + "\n") == 1
    # Asked again after that fix, or for a crate named at the version taken: no change.
    assert RuleBasedStrategy().propose(failure, "", proposal.env, facts) is None
    named_as_taken = facts.model_copy(update={"declared_versions": {"rsipstack": "0.6.13"}})
    assert RuleBasedStrategy().propose(failure, "", _spec(dockerfile, "rust", 8080), named_as_taken) is None
    # Its own bug, with no registry crate in its note, is not a drift.
    own = "error[E0425]: cannot find value `x` in this scope\n --> src/main.rs:3:5\n"
    assert classify(own, "build").failure_class != C.dependency_drift


WERKZEUG_DRIFT = """\
Traceback (most recent call last):
  File "/app/app.py", line 1, in <module>
    from flask import Flask, jsonify
  File "/usr/local/lib/python3.11/site-packages/flask/__init__.py", line 5, in <module>
    from .app import Flask as Flask
  File "/usr/local/lib/python3.11/site-packages/flask/helpers.py", line 16, in <module>
    from werkzeug.urls import url_quote
ImportError: cannot import name 'url_quote' from 'werkzeug.urls' \
(/usr/local/lib/python3.11/site-packages/werkzeug/urls.py)
"""


@pytest.fixture
def scripted_pypi(monkeypatch):
    """PyPI's JSON API over real HTTP, with Werkzeug's releases around its 3.0 (which
    removed url_quote): a pre-release and a yanked release are never taken."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    def release(day: str, yanked: bool = False) -> list[dict]:
        return [{"upload_time_iso_8601": f"{day}T10:00:00.000000Z", "yanked": yanked}]

    releases = {
        "2.2.2": release("2022-08-08"),
        "2.2.3": release("2023-02-14"),
        "2.3.0rc1": release("2023-02-20"),
        "2.2.4": release("2023-02-25", yanked=True),
        "2.3.0": release("2023-04-25"),
        "3.0.0": release("2023-09-30"),
        "not-a-version": release("2020-01-01"),
    }
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            asked.append(self.path)
            known = self.path.lower() == "/pypi/werkzeug/json"
            body = json.dumps({"releases": releases} if known else {"message": "Not Found"}).encode()
            self.send_response(200 if known else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ABC_PYPI_JSON_URL", f"http://127.0.0.1:{server.server_port}/pypi")
    yield asked
    server.shutdown()


def test_a_package_newer_than_the_code_is_pinned_to_its_release_before_the_commit(scripted_pypi):
    """Flask 2.2 with Werkzeug left open: Werkzeug 3 removed url_quote, and the service
    dies at import. Werkzeug is pinned to its newest final release before the repository's
    commit, after the requirements' install; asked again, nothing more changes."""
    failure = classify(WERKZEUG_DRIFT, "start")
    assert failure.failure_class == C.dependency_drift
    assert failure.detail == {"symbol": "url_quote", "package": "werkzeug"}
    dockerfile = (
        "FROM python:3.11-slim-bookworm\nWORKDIR /app\nCOPY requirements.txt ./\n"
        "RUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD python app.py\n"
    )
    facts = ServiceFacts(language="python", framework="flask", committed_at="2023-03-01T12:00:00+01:00")
    proposal = RuleBasedStrategy().propose(failure, WERKZEUG_DRIFT, _spec(dockerfile, "python", 5000), facts)
    assert proposal is not None
    assert (
        "RUN pip install --no-cache-dir -r requirements.txt && pip install --no-cache-dir 'werkzeug==2.2.3'\n"
    ) in proposal.env.dockerfile
    assert proposal.change == ("pin werkzeug to 2.2.3, its newest release before the repository's commit of 2023-03-01")
    assert scripted_pypi == ["/pypi/werkzeug/json"]
    assert RuleBasedStrategy().propose(failure, "", proposal.env, facts) is None
    # No commit date (a plain folder's snapshot), or no release before it: no change.
    for unknown in (
        facts.model_copy(update={"committed_at": None}),
        facts.model_copy(update={"committed_at": "2019-01-01"}),
    ):
        assert RuleBasedStrategy().propose(failure, "", _spec(dockerfile, "python", 5000), unknown) is None
    # A name the service's own module lacks is its own bug, not a drift.
    own = "ImportError: cannot import name 'helper' from 'utils' (/app/utils.py)\n"
    assert classify(own, "start").failure_class != C.dependency_drift


def test_a_plain_folders_snapshot_has_no_commit_date(tmp_path):
    import git

    from pipeline.gitutil import commit_all, committed_at

    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "app.py").write_text("print(1)\n")
    assert committed_at(tmp_path / "plain", commit_all(tmp_path / "plain", "snapshot")) is None
    repo = git.Repo.init(tmp_path / "dated")
    (tmp_path / "dated" / "app.py").write_text("print(1)\n")
    repo.git.add("-A")
    dated = {"GIT_COMMITTER_DATE": "2023-03-01T12:00:00+01:00", "GIT_AUTHOR_DATE": "2023-03-01T12:00:00+01:00"}
    repo.git.commit(
        "-q",
        "-m",
        "x",
        "--no-gpg-sign",
        env={
            **dated,
            "GIT_AUTHOR_NAME": "a",
            "GIT_AUTHOR_EMAIL": "a@b",
            "GIT_COMMITTER_NAME": "a",
            "GIT_COMMITTER_EMAIL": "a@b",
        },
    )
    assert committed_at(tmp_path / "dated", "HEAD") == "2023-03-01T12:00:00+01:00"
    assert committed_at(tmp_path / "missing", "HEAD") is None


def test_declared_versions_read_the_workspace_and_renames(tmp_path):
    from pipeline.languages import get_language

    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "x"\nversion = "0.1.0"\n\n[workspace]\n[workspace.dependencies]\nserde = "1.0.200"\n\n'
        '[dependencies]\nrsipstack = "0.6.4"\nweb = { package = "actix-web", version = "4.5.1" }\n'
        'local = { path = "../local" }\n'
    )
    assert get_language("rust").declared_versions(tmp_path) == {
        "serde": "1.0.200",
        "rsipstack": "0.6.4",
        "actix-web": "4.5.1",
    }


def test_yarn_fetching_a_git_dependency_without_git_gets_git():
    log = "Step 5/9 : RUN yarn install --frozen-lockfile\n[2/4] Fetching packages...\n"
    log += "error Couldn't find the binary git\n"
    dockerfile = "FROM node:18-bookworm-slim\nWORKDIR /app\nRUN yarn install --frozen-lockfile\nCOPY . .\n"
    failure = classify(log, "build")
    assert (failure.failure_class, failure.detail) == (C.missing_system_package, {"tool": "git"})
    proposal = RuleBasedStrategy().propose(
        failure, log, _spec(dockerfile, "javascript", 3000), ServiceFacts(language="javascript", framework="x")
    )
    assert "apt-get install -y --no-install-recommends git" in proposal.env.dockerfile


def test_an_unknown_spring_start_failure_names_the_cause_under_its_banner():
    """A real Spring Cloud service ended `unknown: APPLICATION FAILED TO START`: Spring's own
    failure analysis, a few lines below, says why."""
    log = (
        "2026-12-06 INFO Starting LoginApplication\n"
        "ERROR o.s.b.d.LoggingFailureAnalysisReporter :\n\n"
        "***************************\nAPPLICATION FAILED TO START\n***************************\n\n"
        "Description:\n\nParameter 0 of constructor in com.example.LoginService required a bean of type\n"
        "'com.example.RoleCache' that could not be found.\n\n\n"
        "Action:\n\nConsider defining a bean of type 'com.example.RoleCache' in your configuration.\n"
    )
    failure = classify(log, "start")
    assert failure.failure_class == C.unknown
    assert failure.evidence == (
        "Parameter 0 of constructor in com.example.LoginService required a bean of type "
        "'com.example.RoleCache' that could not be found."
    )


def test_a_server_it_dials_at_start_that_nothing_here_runs_is_named():
    """A Kubernetes controller ended `unknown: ... connect ECONNREFUSED 127.0.0.1:8080`: it
    needs a server (the Kubernetes API) that no compose service or driver names."""
    failure = classify("Error: Failed to get /openapi/v2: connect ECONNREFUSED 127.0.0.1:8080\n", "start")
    assert (failure.failure_class, failure.detail) == (C.needs_service, {"address": "127.0.0.1:8080"})
    # A known database's port still starts that database beside it.
    assert classify("dial tcp 127.0.0.1:5432: connect: connection refused", "start").detail == {
        "postgresql": "dial tcp 127.0.0.1:5432"
    }
    # At build time a closed address is a registry the machine cannot reach.
    assert classify("dial tcp 10.0.0.1:443: connect: connection refused", "build").failure_class != C.needs_service


def test_a_maven_wrapper_whose_distribution_is_not_served_builds_with_debians_maven():
    """A real repository's mvnw pinned Maven 3.6.0, whose zip this machine's Maven Central
    mirror does not serve (`FileNotFoundException`): 16 of its tasks ended `build_error`."""
    log = (
        'Exception in thread "main" java.io.FileNotFoundException: '
        "https://repo.maven.apache.org/maven2/org/apache/maven/apache-maven/3.6.0/apache-maven-3.6.0-bin.zip\n"
        "\tat sun.net.www.protocol.http.HttpURLConnection.getInputStream0(HttpURLConnection.java:1993)\n"
    )
    dockerfile = (
        "FROM eclipse-temurin:8-jdk\nWORKDIR /app\nCOPY pom.xml mvnw ./\nCOPY .mvn/ .mvn/\n"
        "RUN chmod +x mvnw && ./mvnw -B -q dependency:go-offline\nCOPY . .\n"
        'RUN chmod +x mvnw && ./mvnw -B -DskipTests package\nCMD ["java", "-jar", "app.jar"]\n'
    )
    failure, proposal = _fix(log, "build", dockerfile, "java", 8080)
    assert failure.failure_class == C.wrapper_unavailable
    assert proposal is not None
    fixed = proposal.env.dockerfile
    assert "mvnw" not in fixed.replace("COPY pom.xml mvnw ./", "")
    assert "RUN mvn -B -q dependency:go-offline" in fixed and "RUN mvn -B -DskipTests package" in fixed
    assert "apt-get install -y --no-install-recommends maven" in fixed
    assert fixed.index("apt-get install") < fixed.index("RUN mvn")


def test_a_missing_config_file_and_a_missing_schema_are_named():
    """tegola (`config file at location (config.toml) not found`, then its usage) and
    hasura-auth (its migrations need a schema its own PostgreSQL image makes) ended `unknown`."""
    failure = classify("Error: config file at location (config.toml) not found\nUsage:\n  tegola serve\n", "start")
    assert failure.failure_class == C.missing_config
    failure = classify('failed to apply migrations: pq: schema "auth" does not exist in line 0: CREATE TABLE', "start")
    assert failure.failure_class == C.database_error
