"""The one table of exit codes and machine-failure signatures, and the scripts rendered
from it: run-tests.sh and Harbor's test.sh carry the same codes and signatures the Python
side judges by."""

from __future__ import annotations

import re
import shlex

import pytest

from pipeline.config import Limits
from pipeline.models import Verdict
from pipeline.runtime import failures, sandbox
from pipeline.runtime.trial import TrialOutcome
from pipeline.stages import package
from pipeline.templates import render

VALUES = {
    "task_id": "local_app__items",
    "repo_dir": "Local_app",
    "service_root": ".",
    "port": 8000,
    "health_path": "/health",
    "limits": Limits(),
}


@pytest.fixture(scope="module")
def run_tests() -> str:
    return package.run_tests_script(**VALUES)


def test_run_tests_carries_every_signature(run_tests):
    (assignment,) = [line for line in run_tests.splitlines() if line.startswith("BUILD_INFRA_PATTERN=")]
    (pattern,) = shlex.split(assignment.removeprefix("BUILD_INFRA_PATTERN="))
    # What bash hands grep, once the quoting is undone: every signature, each in its group.
    for signature in failures.BUILD_STEP_SIGNATURES:
        assert f"({signature})" in pattern
    assert pattern == "|".join(f"({s})" for s in failures.BUILD_STEP_SIGNATURES)
    assert f'grep -oiE -m 1 "{"|".join(failures.BUILD_LOG_SIGNATURES)}"' in run_tests


def test_run_tests_exits_only_with_the_tables_codes(run_tests):
    codes = {int(code) for code in re.findall(r"\bexit (\d+)", run_tests)}
    # 130: killed by Ctrl-C or SIGTERM, the shell's own convention (not a verdict).
    assert codes - {130} == set(failures.EXIT_CODES.values())
    for verdict, code in failures.EXIT_CODES.items():
        assert f"{code} {verdict.value}" in run_tests  # the header states the table
    timeout = failures.EXIT_CODES[Verdict.test_timeout]
    assert f'"$rc" -eq {failures.TIMEOUT_EXIT} ]; then verdict test_timeout; exit {timeout};' in run_tests


def test_harbor_test_sh_keeps_the_machines_faults():
    test_sh = render("harbor/test.sh.j2", task_id="x", kind="implementation", **failures.template_values())
    assert 'if [ "$rc" -eq 20 ]; then exit 20; fi' in test_sh
    assert "(0 passed, 1 tests_failed, 10 build_error" in test_sh


def test_trial_verdicts_read_the_same_table():
    for verdict, code in failures.EXIT_CODES.items():
        tests = {"test_func.py::test_x": True} if verdict == Verdict.passed else None
        assert TrialOutcome(exit_code=code, output="", seconds=0.0, tests=tests).verdict == verdict
    assert TrialOutcome(exit_code=137, output="", seconds=0.0).verdict == Verdict.infra_error


def test_each_table_is_read_by_the_python_side():
    for signature in ("No space left on device", "Cannot connect to the Docker daemon at unix:///x"):
        log = f"Step 2/2 : RUN make\nsomething failed: {signature}\n"
        assert sandbox.build_infra_reason(log)
        assert failures.is_daemon_fault(signature)
    # A refused connection is the daemon's word for a machine fault, not a build step's.
    assert failures.is_daemon_fault("dial unix: connection refused")
    assert sandbox.build_infra_reason("Step 1/1 : RUN x\npsycopg2: connection refused\n") is None
