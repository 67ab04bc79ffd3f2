"""The one table of exit codes and machine-failure signatures, and the scripts rendered
from it: run-tests.sh and Harbor's test.sh carry the same codes and signatures the Python
side judges by."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from pipeline.config import Limits
from pipeline.models import Verdict
from pipeline.runtime import failures, sandbox
from pipeline.runtime.trial import TrialOutcome
from pipeline.stages import package, repair
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


# A native module's prebuilt binary is not on reach (github.com), and node-gyp builds it
# from source instead: the warning is no machine fault, the build's own failure decides.
PREBUILD_FALLBACK_LOG = (
    "Step 5/9 : RUN npm ci\n"
    "npm ERR! path /app/node_modules/better-sqlite3\n"
    "npm ERR! command sh -c prebuild-install || node-gyp rebuild --release\n"
    "\x1b[91mnpm ERR! prebuild-install warn install getaddrinfo ENOTFOUND github.com\n\x1b[0m"
    "npm ERR! gyp ERR! stack Error: not found: make\n"
)


def _shell_machine_fault(run_tests: str, log: str, tmp_path) -> str:
    """run-tests.sh's own machine_fault function, run by bash over `log`."""
    lines = run_tests.splitlines()
    patterns = [line for line in lines if line.startswith(("BUILD_INFRA_PATTERN=", "BUILD_WARNING_PATTERN="))]
    start = lines.index("machine_fault() {")
    function = lines[start : lines.index("}", start) + 1]
    (tmp_path / "build.log").write_text(log)
    script = "\n".join(["set -o pipefail", *patterns, *function, f'machine_fault "{tmp_path / "build.log"}"'])
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False).stdout


def test_a_prebuilt_binary_out_of_reach_is_no_machine_fault_when_node_gyp_follows(run_tests, tmp_path):
    assert sandbox.build_infra_reason(PREBUILD_FALLBACK_LOG) is None
    assert _shell_machine_fault(run_tests, PREBUILD_FALLBACK_LOG, tmp_path) == ""
    # ... and npm's own failure to reach its registry still is one, on both sides.
    outage = PREBUILD_FALLBACK_LOG + "npm ERR! code ENOTFOUND\nnpm ERR! errno ENOTFOUND\n"
    outage += "npm ERR! request to https://registry.npmjs.org/x failed, reason: getaddrinfo ENOTFOUND registry\n"
    assert sandbox.build_infra_reason(outage)
    found = _shell_machine_fault(run_tests, outage, tmp_path)
    assert "ENOTFOUND" in found and "prebuild-install" not in found


def test_node_gyp_without_make_is_a_missing_compiler():
    failure = repair.classify(PREBUILD_FALLBACK_LOG, "build")
    assert failure.failure_class == repair.FailureClass.missing_system_package, failure
    assert failure.detail == {"tool": "make"}


def test_a_repository_name_that_reads_as_a_key_does_not_stop_the_package(tmp_path):
    """A real repository's folder name (`Dailycodebuffer_Spring-MVC-Tutorials`) assigned in
    run-tests.sh and solution.sh read as a high-entropy secret to the package's scan, and 22
    of its tasks ended `secret_unredactable`: the line says it is a name."""
    from pipeline.stages import redact
    from pipeline.templates import render

    values = {**VALUES, "repo_dir": "Dailycodebuffer_Spring-MVC-Tutorials", "group": "books"}
    (tmp_path / "run-tests.sh").write_text(package.run_tests_script(**values))
    (tmp_path / "solution.sh").write_text(render("task/solution.sh.j2", patch="", **values))
    assert redact.leftover_secrets(tmp_path) == []
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "run.sh").write_text("REPO_NAME=Dailycodebuffer_Spring-MVC-Tutorials\n")
    assert redact.leftover_secrets(bare), "the scan reads the bare name as a key: the mark is what lets it pass"
