"""Services that need a newer Python or Node than the default images, on a machine where
no image registry answers: Debian trixie's Python 3.13 and Node 20.19 are local stand-ins
(docker/base/python-trixie.Dockerfile, node-trixie.Dockerfile), chosen from what the
repository declares, or by repair from what the start log says (a SyntaxError of newer
syntax, ERR_REQUIRE_ESM)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.languages.javascript import toolchain as node
from pipeline.languages.python import toolchain as python
from pipeline.languages.toolchain import offline_version
from pipeline.models import EnvSpec, Verdict
from pipeline.runtime import sandbox
from pipeline.stages import repair

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        (None, ("3.11", True)),
        (">=3.8", ("3.11", True)),
        (">=3.12", ("3.13", True)),
        ("==3.12", ("3.13", False)),  # none meets it: the nearest newer one
        ("==3.14", ("3.13", False)),
    ],
)
def test_offline_the_stand_in_that_meets_the_constraint(constraint, expected):
    assert offline_version(constraint, python.STAND_INS, python.STAND_IN) == expected


def test_a_declared_newer_python_or_node_gets_the_trixie_stand_in_offline(tmp_path):
    (tmp_path / "py").mkdir()
    (tmp_path / "py" / "pyproject.toml").write_text('[project]\nname = "x"\nrequires-python = ">=3.12"\n')
    tc = python.detect(tmp_path / "py", offline=True)
    assert tc.base_image == "python:3.13-slim-trixie", tc
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "package.json").write_text(json.dumps({"name": "x", "engines": {"node": ">=20"}}))
    tc = node.detect(tmp_path / "js", offline=True)
    assert tc.base_image == "node:20-trixie-slim", tc
    # Nothing declared: the default stand-ins, as before.
    assert node.detect(tmp_path, offline=True).base_image == "node:18-bookworm-slim"


def _spec(language: str, image: str) -> EnvSpec:
    return EnvSpec(
        service_root=".",
        language=language,
        framework="express" if language == "javascript" else "flask",
        base_image=image,
        dockerfile=f'FROM {image}\nWORKDIR /app\nCOPY . .\nCMD ["run"]\n',
        port=3000,
        start_command=["run"],
    )


@pytest.mark.parametrize(
    ("language", "image", "log", "wanted"),
    [
        (
            "javascript",
            "node:18-bookworm-slim",
            "node:internal/modules/cjs/loader:1080\n  throw new ERR_REQUIRE_ESM(filename, true);\n"
            "Error [ERR_REQUIRE_ESM]: require() of ES Module /app/node_modules/nanoid/index.js not supported.",
            "node:20-trixie-slim",
        ),
        (
            "python",
            "python:3.11-slim-bookworm",
            'Traceback (most recent call last):\n  File "/app/app.py", line 9\n    type Book = dict[str, str]\n'
            "         ^^^^\nSyntaxError: invalid syntax",
            "python:3.13-slim-trixie",
        ),
    ],
)
def test_offline_repair_moves_to_the_newer_local_stand_in(language, image, log, wanted):
    failure = repair.classify(log, "start")
    assert failure.failure_class == repair.FailureClass.wrong_language_version, failure
    facts = repair.ServiceFacts(language=language, framework="x", toolchain=None, offline=True)
    proposal = repair.RuleBasedStrategy().propose(failure, log, _spec(language, image), facts)
    assert proposal is not None
    assert proposal.env.dockerfile.startswith(f"FROM {wanted}\n") and proposal.env.base_image == wanted


@pytest.mark.docker
@pytest.mark.parametrize(
    ("fixture", "image"),
    [("flask_newer_syntax", "python:3.13-slim-trixie"), ("express_esm_dependency", "node:20-trixie-slim")],
)
def test_a_service_that_needs_a_newer_runtime_becomes_a_verified_task(fixture, image, docker_engine, tmp_path):
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True, oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(FIXTURES / fixture), settings, run_id=run_id)
    verified = [t for t in result.tasks if t.status == "verified"]
    assert verified and result.verdict == Verdict.passed, result.model_dump_json(indent=2)
    dockerfile = next(Path(verified[0].path).glob("*/Dockerfile")).read_text()
    assert f"FROM {image}\n" in dockerfile
    report = json.loads((Path(verified[0].path) / "metadata.json").read_text())["verification_report"]
    assert report["noop_run"]["verdict"] == "tests_failed", report["noop_run"]
    assert sandbox.leftovers(run_id) == []


def test_a_node_engine_no_image_meets_builds_on_the_nearest_without_engine_strict(tmp_path):
    """kubernetes-external-secrets asks for ^14.18 with engine-strict: npm refused before
    trying (EBADENGINE); the nearest Node is tried instead, and the note says so."""
    (tmp_path / "package.json").write_text(json.dumps({"name": "x", "engines": {"node": "^14.18.0"}}))
    tc = node.detect(tmp_path, offline=True)
    assert tc.base_image == "node:18-bookworm-slim" and tc.facts["engine_strict"] == "false"
    assert any("which no node:* image meets" in n for n in tc.notes)
    assert node.detect(tmp_path.parent, offline=True).facts["engine_strict"] == "true"
