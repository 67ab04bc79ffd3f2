"""Pydantic models at the stage boundaries.

Data flows one way: RepoSnapshot -> LicenseVerdict -> Inventory -> EnvSpec -> TestSuite
-> MaskResult -> packaged task -> VerificationReport. Every model is plain data, so a
stage's output can be cached as JSON and a stage can be re-run alone.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field


class Verdict(StrEnum):
    """The one vocabulary for outcomes, used in reports, metadata, the CLI and evaluation."""

    passed = "passed"
    build_error = "build_error"
    startup_timeout = "startup_timeout"
    service_crashed = "service_crashed"
    connect_failed = "connect_failed"
    tests_failed = "tests_failed"
    test_timeout = "test_timeout"
    oom = "oom"
    infra_error = "infra_error"
    # Rejection reasons of the gate and of the early stages.
    oracle_failed = "oracle_failed"
    oracle_flaky = "oracle_flaky"
    noop_passed = "noop_passed"
    tests_weak = "tests_weak"  # a stand-in solution (a canned answer, no logic) passed
    license_rejected = "license_rejected"
    no_endpoints = "no_endpoints"
    secret_unredactable = "secret_unredactable"
    source_unavailable = "source_unavailable"
    nothing_testable = "nothing_testable"
    mask_failed = "mask_failed"
    # A server the service needs (MongoDB) has no image on this machine: not the repository's fault.
    service_unavailable = "service_unavailable"
    # The run's time budget (ABC_TIME_BUDGET) was spent before this group's turn: nothing is
    # wrong with it, and the next run takes it up.
    budget_exhausted = "budget_exhausted"


class StageError(Exception):
    """A stage's failure as a value: a verdict and a reason a user can act on."""

    def __init__(self, verdict: Verdict, reason: str, *, stage: str = "") -> None:
        super().__init__(f"{verdict}: {reason}")
        self.verdict = verdict
        self.reason = reason
        self.stage = stage


class RepoSnapshot(BaseModel):
    """An immutable copy of a repository at one commit, in the work folder."""

    path: Path = Field(description="where the snapshot's work tree is")
    commit: str = Field(description="the commit SHA the snapshot is at")
    origin: str = Field(description="what the user gave: a local path or a git URL")
    owner: str = Field(description="repository owner, or 'local' for a plain folder")
    name: str = Field(description="repository name")


class LicenseVerdict(BaseModel):
    spdx_id: str | None = Field(description="the SPDX id found, or None when unknown")
    evidence_file: str | None = Field(description="the file that decided it")
    accepted: bool
    reason: str
    warnings: list[str] = Field(
        default_factory=list, description="what did not decide but is worth a look (a manifest's npm default)"
    )


class BodyField(BaseModel):
    """A field of a JSON request body that a handler reads, or a query parameter (the same
    name, kind and whether the handler does without it)."""

    name: str
    type: str = Field(
        default="any",
        description="str, int, float, bool, list, dict or any; file / files: an upload (multipart/form-data)",
    )
    required: bool = True


class Handler(BaseModel):
    """Where an endpoint's implementation lives, precisely enough to mask it."""

    file: str = Field(description="path relative to the repository root")
    name: str = Field(description="function name, or '<anonymous>' for an inline handler")
    line: int = Field(description="1-based line of the handler's definition")
    start_byte: int = Field(description="start of the whole handler definition")
    end_byte: int
    body_start_byte: int = Field(description="start of the body that masking replaces")
    body_end_byte: int


class Endpoint(BaseModel):
    method: str = Field(description="HTTP method in upper case, or ANY")
    path: str = Field(description="full path with every mount prefix, framework syntax")
    handler: Handler
    body_fields: list[BodyField] = Field(default_factory=list)
    query_fields: list[BodyField] = Field(
        default_factory=list, description="query string parameters the handler reads (required: it has no default)"
    )
    group: str | None = Field(
        default=None,
        description="the API group its framework module puts it in (static files: 'static'); "
        "None: grouped by the resource its path names",
    )

    @property
    def normalized_path(self) -> str:
        return normalize_path(self.path)

    @property
    def request_path(self) -> str:
        """The path a request is sent to, parameters as `{name}`: the normalized path with
        the trailing slash the route declares kept (Go's routers and Spring tell `/jobs/`
        from `/jobs`, and Django and FastAPI redirect to it, which a POST does not survive)."""
        path = self.normalized_path
        declared = re.sub(r"\(\.:format\)$", "", self.path).rstrip("$")
        return path + "/" if path != "/" and declared.endswith("/") else path

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


_PARAM_PATTERNS = [
    re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:<[^<>{}]*>)?\?[^{}/]*\}"),  # Symfony {page?1} {page<\d+>?1}
    re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)<[^<>{}]*>\}"),  # Symfony {id<\d+>}
    re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>[^)]*\)"),  # Django re_path (?P<pk>[0-9]+)
    re.compile(r"<(?:[^:<>]+:)?([^<>]+)>"),  # Flask <int:id>, Django <int:pk>
    re.compile(r"\{\$\}"),  # Go 1.22 "{$}": end of path, not a parameter
    re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\?|\.\.\.)?(?::[^{}]*)?\}"),  # {id} {id:int} {id?} {rest...}
    re.compile(r"(?<=/):([A-Za-z_][A-Za-z0-9_]*)\??"),  # Express/Rails/Gin/Sinatra :id
    re.compile(r"(?<=/)\*([A-Za-z_][A-Za-z0-9_]*)"),  # Rails/Gin/Axum *rest
    re.compile(r"(?<=/)\*(?=/|$)"),  # Sinatra/Express bare splat: "{splat}" below
]


def _param_replacement(match: re.Match[str]) -> str:
    if match.group(0) == "*":
        return "{splat}"
    return "{" + match.group(1) + "}" if match.groups() else ""


def normalize_path(path: str) -> str:
    """The framework-neutral form of a path: every parameter as `{name}`.

    The framework's own syntax stays in Endpoint.path; this form is for matching the same
    route across frameworks (and against ground truth).
    """
    out = re.sub(r"\(\.:format\)$", "", path)  # Rails' optional format suffix
    out = out.lstrip("^").rstrip("$")  # Django regex anchors
    for pattern in _PARAM_PATTERNS:
        out = pattern.sub(_param_replacement, out)
    out = re.sub(r"/+", "/", out)
    if not out.startswith("/"):
        out = "/" + out
    if len(out) > 1:
        out = out.rstrip("/")
    return out or "/"


def path_params(path: str) -> list[str]:
    return re.findall(r"\{([^{}]+)\}", normalize_path(path))


class Service(BaseModel):
    root: str = Field(description="service root relative to the repository ('.' for the top)")
    language: str
    framework: str
    entrypoint: str | None = Field(default=None, description="main module/file, when known")
    endpoints: list[Endpoint] = Field(default_factory=list)


class ApiGroup(BaseModel):
    name: str = Field(description="[a-z0-9_] name, unique within the repository")
    description: str
    service_root: str
    endpoints: list[Endpoint]
    delegates: list[Handler] = Field(
        default_factory=list,
        description="functions only this group's handlers call (its service/repository logic)",
    )


class Inventory(BaseModel):
    services: list[Service]
    groups: list[ApiGroup]
    warnings: list[str] = Field(default_factory=list)


class Sidecar(BaseModel):
    """A server the service needs beside it (a database, a cache), started from an image
    before the service, in the service's network namespace: the service reaches it on
    127.0.0.1 at `port`, told so through `service_env`."""

    kind: str = Field(description="postgresql, mysql, redis, ...: pipeline/stages/sidecars.py KINDS")
    image: str = Field(description="official image name (pulled, or a local stand-in: docker/base)")
    port: int
    env: dict[str, str] = Field(default_factory=dict, description="the sidecar's own variables")
    health: list[str] = Field(description="argv run inside the sidecar that exits 0 once it serves")
    init_files: list[str] = Field(
        default_factory=list,
        description="files under the service root copied into /docker-entrypoint-initdb.d (schema, seed data)",
    )
    service_env: dict[str, str] = Field(
        default_factory=dict,
        description="variables the service is started with to reach it (DATABASE_URL, DB_HOST, ...): given at "
        "run time, so they hold for the repository's own Dockerfile and for one an agent writes",
    )
    hosts: list[str] = Field(
        default_factory=list,
        description="names the service may reach it by (compose service names such as `db`): they resolve to "
        "127.0.0.1 in the shared network namespace",
    )
    reason: str = Field(default="", description="why the service needs it (a dependency, a compose file)")
    command: list[str] = Field(
        default_factory=list, description="arguments after the image: server options (MySQL's SQL mode)"
    )
    init_loader: str = Field(
        default="",
        description="a script the image's entrypoint sources at first start that loads the .sql init files "
        "itself, tolerantly (runtime/sql_dumps.py); empty: the entrypoint runs them",
    )
    init_warnings: list[str] = Field(
        default_factory=list, description="what of its init files did not load when the tests were recorded"
    )

    @property
    def name(self) -> str:
        return self.kind


class EnvSpec(BaseModel):
    service_root: str
    language: str
    framework: str
    base_image: str
    dockerfile: str = Field(description="the Dockerfile's text, written at the service root")
    port: int
    start_command: list[str]
    env: dict[str, str] = Field(default_factory=dict)
    health_path: str = "/"
    sidecars: list[Sidecar] = Field(default_factory=list, description="servers started beside the service")


class Probe(BaseModel):
    """One observed request and answer of the original service."""

    method: str
    path_template: str
    path: str
    body: dict | None = None
    status: int
    json_body: object | None = None
    stable_json: object | None = Field(default=None, description="the part asserted")
    body_sha256: str | None = Field(
        default=None, description="sha256 of a successful non-JSON body (a file, a page); asserted when both agree"
    )
    body_text: str | None = Field(
        default=None, description="that body when it is one short line of text: quoted in the instruction"
    )
    location: str | None = Field(
        default=None,
        description="a redirect off the service: its Location, the service's address written {base_url}",
    )
    signed_in: bool | None = Field(
        default=None,
        description="sent with a signed-in user's credential (True) or deliberately without one (False); "
        "None: the group needs no sign-in",
    )


class Scenario(BaseModel):
    """A sequence of requests that a test_func test replays, e.g. create then read."""

    name: str
    steps: list[Probe]
    captures: dict[str, str] = Field(
        default_factory=dict, description="path param name -> field of the create response"
    )


class StandIn(BaseModel):
    """A stand-in solution: a patch from the masked repository to handlers that answer a
    canned answer, or why there is none (the framework has no stand-in answers)."""

    name: str
    patch: str | None = None
    skipped: str | None = None


class CannedAnswer(BaseModel):
    """What a stand-in's masked handler answers to every request: a status recorded from
    the original and, optionally, one recorded JSON body (None: an empty body) or the
    request's own body echoed back."""

    status: int
    json_body: object | None = None
    echo: bool = Field(
        default=False, description="answer the request's own body (the `echo` stand-in) instead of json_body"
    )


class TestSuite(BaseModel):
    group: str
    test_connect: str
    test_func: str
    scenarios: list[Scenario]
    sign_in: dict | None = Field(
        default=None, description="how the tests sign in (a stages/sign_in_client.py recipe), when they do"
    )


class MaskResult(BaseModel):
    masked_symbols: list[str] = Field(description="file:name of every masked handler")
    solution_patch: str = Field(description="git patch from the masked tree to the original")


class RedactionFinding(BaseModel):
    file: str
    line: int
    type: str


class RedactionReport(BaseModel):
    files_scanned: int
    findings: list[RedactionFinding]
    removed_files: list[str] = Field(
        default_factory=list,
        description="files left out of the task: a detector reported a secret there that could not be located "
        "in the text to replace",
    )
    large_files: list[str] = Field(
        default_factory=list,
        description="text files too large for detect-secrets: streamed through the pipeline's own patterns "
        "(and redacted by them) instead",
    )
    generated_keys: list[str] = Field(
        default_factory=list,
        description="SHA-256 fingerprints of the throwaway private keys made in place of the repository's "
        "(stages/throwaway_keys.py): the pipeline's own, never a secret",
    )


class RunResult(BaseModel):
    """One run of a package's run-tests.sh."""

    verdict: Verdict
    exit_code: int
    seconds: float
    log_tail: str = ""
    tests: dict[str, bool] | None = Field(
        default=None, description="test id -> passed, from pytest's short summary (None: pytest never ran)"
    )


class StandInOutcome(BaseModel):
    """One stand-in solution's trial in the strength gate (stages/stand_ins.py)."""

    name: str
    passed: bool = Field(description="the stand-in resolved the task: the tests cannot tell it from the code")
    skipped: str | None = Field(default=None, description="why it was not run (then passed is false)")


class VerificationReport(BaseModel):
    oracle_runs: list[RunResult]
    noop_run: RunResult | None
    verdict: Verdict
    reason: str
    stand_ins: list[StandInOutcome] = Field(default_factory=list, description="the strength gate's stand-ins")
    stand_in_runs: dict[str, RunResult] = Field(default_factory=dict, description="stand-in name -> its trial")


class StageTiming(BaseModel):
    name: str
    seconds: float
    cached: bool


class TaskOutcome(BaseModel):
    task_id: str
    path: str | None = Field(description="the published task: the Terminal-Bench folder, else the Harbor one")
    harbor_path: str | None = Field(default=None, description="the Harbor export, when that format is asked for")
    kind: str = Field(default="implementation", description="implementation or environment (the variant)")
    status: str = Field(description="verified or rejected")
    verdict: Verdict
    reason: str


class ServiceSummary(BaseModel):
    root: str
    language: str
    framework: str


class AgentUsage(BaseModel):
    """What the LLM agent (`--llm`) spent in a run, and what became of each role's output."""

    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float = Field(description="dollars: litellm's price when known, else the settings' per-1k price")
    notes: list[str] = Field(default_factory=list, description="per role: used, or why the static result was kept")


class GenerateResult(BaseModel):
    """What `abc-pipeline generate --json` prints."""

    repo: str
    commit: str | None = None
    services: list[ServiceSummary] = Field(default_factory=list)
    endpoints: int = 0
    groups: list[str] = Field(default_factory=list)
    tasks: list[TaskOutcome] = Field(default_factory=list)
    stages: list[StageTiming] = Field(default_factory=list)
    verdict: Verdict
    reason: str
    agent: AgentUsage | None = Field(default=None, description="only with --llm")
