"""Settings: one pydantic model, every field documented, read from ABC_* environment
variables so the CLI, the flows and the tests share one source of truth."""

from __future__ import annotations

import os
from pathlib import Path

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


class Limits(BaseModel):
    """Resource limits for every container that runs repository code."""

    memory: str = Field(default="1g", description="memory limit of a service container")
    pids: int = Field(default=512, description="maximum number of processes in a container")
    cpus: float = Field(default=1.0, description="CPU share of a service container")
    build_timeout: int = Field(default=900, description="seconds a docker build may take")
    startup_timeout: int = Field(default=60, description="seconds until the service must answer")
    test_timeout: int = Field(default=300, description="seconds a test run may take")


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
        default_factory=lambda: _env_bool("ABC_OFFLINE", False),
        description="never try to pull base images; build local stand-ins",
    )
    oracle_runs: int = Field(
        default_factory=lambda: int(os.environ.get("ABC_ORACLE_RUNS", "2")),
        description="how many times the oracle must pass run-tests.sh",
    )
    repair_attempts: int = Field(
        default_factory=lambda: int(os.environ.get("ABC_REPAIR_ATTEMPTS", "3")),
        description="how many times a failed build or start is repaired (a changed Dockerfile) before giving up",
    )
    min_group_endpoints: int = Field(default=1, description="smallest API group worth a task")
    max_group_endpoints: int = Field(default=8, description="largest API group in one task")
    delegate_depth: int = Field(
        default=2, description="how deep calls from a group's handlers are followed to find its own logic"
    )
    max_repo_files: int = Field(default=20000, description="larger repositories are refused")
    max_repo_bytes: int = Field(default=500 * 1024 * 1024, description="larger repositories are refused")
    author_name: str = Field(default="abc-pipeline")
    author_email: str = Field(default="abc-pipeline@users.noreply.github.com")
    limits: Limits = Field(default_factory=Limits)

    def config_hash_input(self) -> dict:
        """The settings that change what a stage produces (for cache keys)."""
        return {
            "oracle_runs": self.oracle_runs,
            "min_group_endpoints": self.min_group_endpoints,
            "max_group_endpoints": self.max_group_endpoints,
            "delegate_depth": self.delegate_depth,
        }
