"""Settings: one pydantic model, every field documented, read from ABC_* environment
variables so the CLI, the flows and the tests share one source of truth."""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


def _default_extra_ca() -> Path | None:
    # A machine behind a TLS-intercepting proxy usually says so through these variables;
    # the bundle they name then has to reach containers too.
    for var in ("ABC_EXTRA_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "PIP_CERT"):
        value = os.environ.get(var)
        if value and Path(value).is_file():
            return Path(value)
    return None


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# The image registry a FROM line without a host pulls from.
IMAGE_REGISTRY = ("registry-1.docker.io", 443)


@functools.cache
def image_registry_unreachable() -> bool:
    """True when Docker Hub cannot even be connected to: no image can be pulled, so only the
    local stand-ins exist (asked once per process; a DNS failure answers at once)."""
    try:
        with socket.create_connection(IMAGE_REGISTRY, timeout=3):
            return False
    except OSError:
        return True


# Where a Gradle wrapper downloads Gradle itself (no package registry serves it).
GRADLE_DISTRIBUTIONS = ("services.gradle.org", 443)


@functools.cache
def _gradle_host_unreachable() -> bool:
    try:
        with socket.create_connection(GRADLE_DISTRIBUTIONS, timeout=3):
            return False
    except OSError:
        return True


def gradle_distributions_reachable() -> bool:
    """ABC_GRADLE_DISTRIBUTIONS (1/0) when it is set; else whether services.gradle.org can be
    connected to. Where it cannot, no Gradle build can run, and a Gradle project that Maven
    can build is translated (languages/java/gradle_to_maven.py)."""
    if os.environ.get("ABC_GRADLE_DISTRIBUTIONS") is not None:
        return _env_bool("ABC_GRADLE_DISTRIBUTIONS", True)
    return not _gradle_host_unreachable()


def _default_offline() -> bool:
    """ABC_OFFLINE when it is set (1/0); else offline exactly when no image registry answers,
    so a repository asking for a version no local image has gets the stand-in and a note,
    not a pull that cannot work (infra_error)."""
    if os.environ.get("ABC_OFFLINE") is not None:
        return _env_bool("ABC_OFFLINE", False)
    return image_registry_unreachable()


class Limits(BaseModel):
    """Resource limits for every container that runs repository code."""

    memory: str = Field(default="1g", description="memory limit of a service container")
    pids: int = Field(default=512, description="maximum number of processes in a container")
    cpus: float = Field(default=1.0, description="CPU share of a service container")
    build_timeout: int = Field(
        # A large Go or Rust service compiles for longer than that on two cores.
        default_factory=lambda: int(_env_float("ABC_BUILD_TIMEOUT", 900)),
        description="seconds a docker build may take (ABC_BUILD_TIMEOUT)",
    )
    startup_timeout: int = Field(default=60, description="seconds until the service must answer")
    test_timeout: int = Field(default=300, description="seconds a test run may take")


def _env_list(name: str, default: list[str]) -> list:
    """A comma-separated setting, e.g. ABC_VARIANTS=implementation,environment."""
    value = os.environ.get(name, "").strip()
    if not value:
        return list(default)
    return [part.strip() for part in value.split(",") if part.strip()]


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


class LlmSettings(BaseModel):
    """The LLM agent (pipeline/agent): off unless a model is named (`--llm`)."""

    model: str | None = Field(
        default_factory=lambda: os.environ.get("ABC_LLM_MODEL") or None,
        description="a litellm model name (openai/<name>, anthropic/<name>, ollama/<name>); None = static only",
    )
    api_base: str | None = Field(
        default_factory=lambda: os.environ.get("ABC_LLM_API_BASE") or None,
        description="an OpenAI-compatible server's URL (vLLM, Ollama, a proxy); None = the provider's default",
    )
    # Never a field: a key in the settings would end up in caches, dumps and logs. It is read
    # from the environment when the call is made (ABC_LLM_API_KEY, else litellm's provider vars).
    api_key_env: str = Field(default="ABC_LLM_API_KEY", description="the environment variable holding the key")
    temperature: float = Field(default_factory=lambda: _env_float("ABC_LLM_TEMPERATURE", 0.0))
    max_steps: int = Field(
        default_factory=lambda: int(_env_float("ABC_LLM_MAX_STEPS", 20)), description="model calls per role run"
    )
    max_tokens: int = Field(
        default_factory=lambda: int(_env_float("ABC_LLM_MAX_TOKENS", 200_000)),
        description="prompt + completion tokens per role run",
    )
    max_dollars: float = Field(
        default_factory=lambda: _env_float("ABC_LLM_MAX_DOLLARS", 2.0), description="cost per role run"
    )
    max_seconds: float = Field(
        default_factory=lambda: _env_float("ABC_LLM_MAX_SECONDS", 600), description="wall time per role run"
    )
    input_cost_per_1k: float = Field(
        default=0.0, description="$ per 1k prompt tokens when litellm does not know the model's price"
    )
    output_cost_per_1k: float = Field(
        default=0.0, description="$ per 1k completion tokens when litellm does not know the model's price"
    )
    max_retries: int = Field(default=4, description="retries of a rate-limited or failed provider call")
    backoff_seconds: float = Field(default=2.0, description="first retry delay; doubles each retry")
    request_timeout: float = Field(default=120.0, description="seconds one model call may take")
    roles: list[str] = Field(
        default_factory=lambda: ["explorer", "test_writer", "env_repairer", "instruction_writer"],
        description="the roles the agent plays; the others stay static",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.model)

    def uses(self, role: str) -> bool:
        return self.enabled and role in self.roles


class Settings(BaseModel):
    work_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("ABC_WORK_DIR", Path.home() / ".cache" / "abc-pipeline")),
        description="snapshots, stage cache and the evidence of rejected tasks",
    )
    out_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("ABC_OUT_DIR", "generated_tasks")),
        description="where verified tasks are written",
    )
    extra_ca_bundle: Path | None = Field(
        default_factory=_default_extra_ca,
        description="PEM bundle added to base images, for networks behind a TLS proxy",
    )
    offline: bool = Field(
        default_factory=_default_offline,
        description="never try to pull base images; build local stand-ins (default: when no registry answers)",
    )
    oracle_runs: int = Field(
        default_factory=lambda: int(os.environ.get("ABC_ORACLE_RUNS", "2")),
        description="how many times the oracle must pass run-tests.sh",
    )
    repair_attempts: int = Field(
        # Real services stack independent failures: rustpbx needed rustc 1.88, then 1.94, then
        # a crate pinned back, then its HTTP port found; each repair is a different change.
        default_factory=lambda: int(os.environ.get("ABC_REPAIR_ATTEMPTS", "5")),
        description="how many times a failed build or start is repaired (a changed Dockerfile) before giving up",
    )
    time_budget: float | None = Field(
        default_factory=lambda: float(os.environ["ABC_TIME_BUDGET"]) if os.environ.get("ABC_TIME_BUDGET") else None,
        description="seconds a generate run may spend before it starts no further service or group (those end "
        "budget_exhausted, not cached: the next run resumes them); none by default",
    )
    min_group_endpoints: int = Field(default=1, description="smallest API group worth a task")
    max_group_endpoints: int = Field(default=8, description="largest API group in one task")
    delegate_depth: int = Field(
        default=2, description="how deep calls from a group's handlers are followed to find its own logic"
    )
    max_repo_files: int = Field(default=20000, description="larger repositories are refused")
    max_repo_bytes: int = Field(default=500 * 1024 * 1024, description="larger repositories are refused")
    clone_timeout: float = Field(
        default_factory=lambda: float(os.environ.get("ABC_CLONE_TIMEOUT", "600")),
        description="seconds a git fetch may take before the repository is given up as source_unavailable",
    )
    author_name: str = Field(default="abc-pipeline")
    author_email: str = Field(default="abc-pipeline@users.noreply.github.com")
    harbor_org: str = Field(
        default_factory=lambda: os.environ.get("ABC_HARBOR_ORG", "abc-pipeline"),
        description="the org of a Harbor task's name (`<org>/<task_id>` in task.toml's [task])",
    )
    limits: Limits = Field(default_factory=Limits)
    llm: LlmSettings = Field(default_factory=LlmSettings, description="the optional LLM agent")
    variants: list[Literal["implementation", "environment"]] = Field(
        default_factory=lambda: _env_list("ABC_VARIANTS", ["implementation", "environment"]),
        description="which task variants to emit per API group (each verified on its own)",
        validate_default=True,  # a typo in the environment variable fails loudly
    )
    formats: list[Literal["terminal-bench", "harbor"]] = Field(
        default_factory=lambda: _env_list("ABC_FORMATS", ["terminal-bench"]),
        description="package layouts to publish: terminal-bench in out_dir/<id>, harbor in harbor_out_dir/<id>",
        validate_default=True,  # a typo in the environment variable fails loudly
    )
    harbor_dir: Path | None = Field(
        default_factory=lambda: (
            Path(os.environ["ABC_HARBOR_OUT_DIR"]) if os.environ.get("ABC_HARBOR_OUT_DIR") else None
        ),
        description="where Harbor tasks are written; default: `<out_dir>-harbor` beside out_dir",
    )

    @property
    def harbor_out_dir(self) -> Path:
        """Harbor tasks live beside the Terminal-Bench folder, never inside it: `tb run
        --dataset-path OUT` takes every folder in OUT for a task."""
        return self.harbor_dir or self.out_dir.with_name(f"{self.out_dir.name}-harbor")

    def config_hash_input(self) -> dict:
        """The settings that change what a stage produces (for cache keys)."""
        values = {
            "oracle_runs": self.oracle_runs,
            "min_group_endpoints": self.min_group_endpoints,
            "max_group_endpoints": self.max_group_endpoints,
            "delegate_depth": self.delegate_depth,
            "variants": sorted(self.variants),
            "formats": sorted(self.formats),
        }
        # Only with --llm: static runs keep the cache keys they always had.
        if self.llm.enabled:
            values["llm"] = {"model": self.llm.model, "roles": sorted(self.llm.roles)}
        return values
