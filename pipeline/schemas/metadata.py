"""The JSON schema of a task's metadata.json, from one pydantic model.

`metadata.schema.json` beside this module is generated from `TaskMetadata` and ships with
the package, so anyone can validate a task folder without the pipeline's code (and
`abc-pipeline lint` does). Regenerate it after changing the model:

    python -m pipeline.schemas.metadata
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.models import Handler, LicenseVerdict, RedactionReport, StandInOutcome, VerificationReport

SCHEMA_PATH = Path(__file__).parent / "metadata.schema.json"
TASK_KINDS = ("implementation", "environment")


class SourceInfo(BaseModel):
    origin: str = Field(description="what the user gave: a local path or a git URL")
    owner: str
    name: str


class ServiceInfo(BaseModel):
    root: str = Field(description="service root relative to the repository")
    language: str
    framework: str


class GroupInfo(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str


class EndpointInfo(BaseModel):
    method: str
    path: str = Field(description="the path in the framework's syntax")
    handler: Handler


class EnvironmentVariantInfo(BaseModel):
    """What the environment variant removed and where its solution writes the Dockerfile."""

    dockerfile: str = Field(description="path (from the repository folder) solution.sh writes")
    removed_files: list[str] = Field(description="environment files removed from the repository")


class Strength(BaseModel):
    """How much the task asks and how hard its tests are to pass without the code.

    Written when the task is packaged; `stand_ins` when the gate ran them. `difficulty` is
    task.yaml's (one level up for the environment variant)."""

    endpoints: int
    assertions: int = Field(description="assert statements in tests/test_func.py")
    assertions_per_endpoint: float
    masked_lines: int = Field(description="non-blank lines the solution patch adds back (the masked bodies)")
    stand_ins: list[StandInOutcome] = Field(default_factory=list)
    difficulty: Literal["easy", "medium", "hard"]


class TaskMetadata(BaseModel):
    """metadata.json of a task folder: provenance and evidence."""

    # Stages may record more than this (extra keys are allowed); these must be right.
    model_config = ConfigDict(extra="allow")

    task_id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal["implementation", "environment"]
    source: SourceInfo
    commit: str = Field(min_length=1)
    license: LicenseVerdict
    service: ServiceInfo
    group: GroupInfo
    endpoints: list[EndpointInfo] = Field(min_length=1)
    masked_symbols: list[str] = Field(min_length=1, description="file:name of every masked symbol")
    environment: dict = Field(description="the EnvSpec the task was verified with (without the Dockerfile text)")
    redaction_report: RedactionReport
    verification_report: VerificationReport | None
    pipeline_version: str
    stage_hashes: dict[str, str]
    environment_variant: EnvironmentVariantInfo | None = None
    strength: Strength | None = Field(default=None, description="absent in tasks written before the strength gate")


def json_schema() -> dict:
    schema = TaskMetadata.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/abc-pipeline/abc-pipeline/metadata.schema.json"
    return schema


def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


if __name__ == "__main__":
    SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2) + "\n")
    print(f"wrote {SCHEMA_PATH}")
