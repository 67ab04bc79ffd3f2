"""One real generate run shared by the package tests (variants, Harbor, lint, index,
redaction): the planted-secrets fixture through every stage, both variants, both formats.

Generating costs a Docker build and three verification gates, so it happens once per
test session, whichever test module asks first; the tasks live under that session's
pytest temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import GenerateResult

FIXTURES = Path(__file__).parent / "fixtures"
PLANTED = FIXTURES / "planted_secrets_notes"

# Every secret planted in tests/fixtures/planted_secrets_notes, by where it is.
PLANTED_SECRETS = {
    "AWS access key (config/settings.py)": "AKIAPLANTEDFAKE00001",
    "AWS secret key (config/settings.py)": "pLaNtEdFaKeSeCrEt0123456789abcdefGHIJKLmn",
    "JWT secret (config/settings.py)": "planted-jwt-signing-secret-7f3a9c",
    "database password (config/settings.py, .env)": "Pl4nted-DB-Passw0rd",
    "GitHub classic token (config/ci.json)": "ghp_PlantedFakeToken0123456789abcdefABCD",
    "GitHub fine-grained token (config/ci.json)": (
        "github_pat_11PLANTEDFAKE0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV012"
    ),
    "private key body (config/deploy_key.pem)": "PLANTEDfakeKEYbodyLINEtwo0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcd",
    "Flask secret key (.env)": "planted-flask-secret-key-4b8e2d",
    "API token (.env)": "plantedApiToken99887766",
}

_RUNS: dict[str, tuple[GenerateResult, Path]] = {}


def planted_tasks(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerateResult, Path]:
    """(result, output folder) of generating the planted-secrets fixture, once per session."""
    if "planted" not in _RUNS:
        base = tmp_path_factory.mktemp("planted")
        source = base / "planted_secrets_notes"
        shutil.copytree(PLANTED, source)
        settings = Settings(
            work_dir=base / "work",
            out_dir=base / "out",
            variants=["implementation", "environment"],
            formats=["terminal-bench", "harbor"],
        )
        _RUNS["planted"] = (generate(str(source), settings), settings.out_dir)
    return _RUNS["planted"]


def task_dirs(result: GenerateResult) -> dict[tuple[str, str], Path]:
    """(kind, format) -> published folder of every verified task."""
    dirs = {}
    for task in result.tasks:
        if task.status == "verified":
            dirs[(task.kind, "terminal-bench")] = Path(task.path)
            dirs[(task.kind, "harbor")] = Path(task.harbor_path)
    return dirs
