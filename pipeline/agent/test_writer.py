"""Test writer: extra test_func cases for what the characterization probe cannot reach.

The gate, the same as for static tests:
1. while the original runs: each test must pass twice in a row (pytest in a subprocess
   against the live service; per-test results from JUnit) - else dropped as failing or flaky;
2. on the masked service (the no-op): a test that still passes tests nothing the task
   masks, and is dropped; so is a test that carries solution code (pipeline/leaks.py).
Kept tests are appended to test_func.py, after the static ones.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.agent import loop, prompts
from pipeline.agent.tools import REPO_TOOLS, SCRATCH_TOOLS, SERVICE_TOOLS, Toolbox, Workspace
from pipeline.config import LlmSettings
from pipeline.leaks import find_leaks
from pipeline.models import ApiGroup, TestSuite
from pipeline.stages import testgen

MAX_TESTS = 8
PYTEST_TIMEOUT = 180
HEADER = "\n\n# Tests written by the LLM test writer; each passed the original twice and failed the masked service.\n"


class WrittenTest(BaseModel):
    name: str = Field(description="a short snake_case name")
    code: str = Field(description="the whole function: def test_<name>(base_url): ...")


class TestWriterResult(BaseModel):
    tests: list[WrittenTest]


class AgentTest(BaseModel):
    """A model-written test, renamed so it cannot clash with a static one."""

    function: str
    code: str


class Dropped(BaseModel):
    function: str
    reason: str


def _function(code: str) -> ast.FunctionDef:
    tree = ast.parse(code)
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise ValueError("the code must be exactly one top-level function definition")
    func = tree.body[0]
    if not func.name.startswith("test_"):
        raise ValueError(f"{func.name} does not start with test_")
    if [a.arg for a in func.args.args] != ["base_url"]:
        raise ValueError(f"{func.name} must take exactly one argument, base_url")
    return func


def check(result: TestWriterResult) -> list[str]:
    problems = []
    if not result.tests:
        problems.append("submit at least one test")
    if len(result.tests) > MAX_TESTS:
        problems.append(f"at most {MAX_TESTS} tests")
    for test in result.tests:
        try:
            _function(test.code)
        except (SyntaxError, ValueError) as exc:
            problems.append(f"{test.name}: {exc}")
    return problems


def normalize(result: TestWriterResult) -> list[AgentTest]:
    """Each test renamed test_agent_<name>, unique, dedented."""
    tests: list[AgentTest] = []
    for test in result.tests:
        func = _function(test.code)
        base = re.sub(r"[^a-z0-9_]+", "_", func.name.removeprefix("test_").lower()).strip("_") or "case"
        name, n = f"test_agent_{base}", 2
        while any(t.function == name for t in tests):
            name, n = f"test_agent_{base}_{n}", n + 1
        code = re.sub(rf"^def {re.escape(func.name)}\(", f"def {name}(", test.code.strip(), count=1, flags=re.M)
        tests.append(AgentTest(function=name, code=code + "\n"))
    return tests


def assignment(
    repo_root: Path,
    scratch: Path,
    group: ApiGroup,
    framework: str,
    suite: TestSuite,
    base_url: str,
    container_id: str | None,
) -> loop.Assignment:
    prompt = prompts.render("test_writer.md.j2", group=group, framework=framework, test_func=suite.test_func)
    return loop.Assignment(
        role="test_writer",
        prompt=prompt,
        result_model=TestWriterResult,
        toolbox=Toolbox().add(*REPO_TOOLS, *SCRATCH_TOOLS, *SERVICE_TOOLS),
        workspace=Workspace(repo_root=repo_root, scratch=scratch, base_url=base_url, container_id=container_id),
        check=check,
    )


def module_text(tests: list[AgentTest]) -> str:
    return "import requests\n\nTIMEOUT = 10\n\n" + "\n\n".join(t.code for t in tests)


def run_pytest(tests: list[AgentTest], base_url: str) -> dict[str, str]:
    """Each test's outcome against the service at base_url: passed, failed or error."""
    with tempfile.TemporaryDirectory(prefix="agent-tests-") as tmp:
        folder = Path(tmp)
        conftest = testgen.conftest_source()
        (folder / "conftest.py").write_text(conftest)
        (folder / "test_agent.py").write_text(module_text(tests))
        junit = folder / "junit.xml"
        env = {**os.environ, "SERVICE_URL": base_url}
        try:
            subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", str(folder)],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=PYTEST_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return {t.function: "timeout" for t in tests}
        outcomes = {t.function: "error" for t in tests}  # not collected: an import-time failure
        if junit.is_file():
            for case in ET.parse(junit).iter("testcase"):
                name = case.get("name") or ""
                failed = case.find("failure") is not None or case.find("error") is not None
                skipped = case.find("skipped") is not None
                if name in outcomes:
                    outcomes[name] = "failed" if failed else "skipped" if skipped else "passed"
        return outcomes


def gate_on_original(tests: list[AgentTest], base_url: str) -> tuple[list[AgentTest], list[Dropped]]:
    first = run_pytest(tests, base_url)
    second = run_pytest(tests, base_url)
    kept, dropped = [], []
    for test in tests:
        a, b = first[test.function], second[test.function]
        if a == b == "passed":
            kept.append(test)
        elif "passed" in (a, b):
            dropped.append(Dropped(function=test.function, reason=f"oracle_flaky: {a} then {b} on the original"))
        else:
            dropped.append(Dropped(function=test.function, reason=f"oracle_failed: {a} on the original"))
    return kept, dropped


def gate_on_noop(tests: list[AgentTest], base_url: str, solution_patch: str) -> tuple[list[AgentTest], list[Dropped]]:
    kept, dropped = [], []
    clean = []
    for test in tests:
        leaks = find_leaks(test.code, solution_patch)
        if leaks:
            dropped.append(Dropped(function=test.function, reason=f"leaks solution code: {leaks[0][:80]}"))
        else:
            clean.append(test)
    outcomes = run_pytest(clean, base_url) if clean else {}
    for test in clean:
        if outcomes[test.function] == "passed":
            dropped.append(Dropped(function=test.function, reason="noop_passed: passes on the masked service"))
        else:
            kept.append(test)
    return kept, dropped


def with_tests(suite: TestSuite, static_test_func: str, tests: list[AgentTest]) -> TestSuite:
    if not tests:
        return suite.model_copy(update={"test_func": static_test_func})
    text = static_test_func.rstrip("\n") + "\n" + HEADER + "\n\n".join("\n" + t.code for t in tests)
    return suite.model_copy(update={"test_func": text})


def run(assignment_: loop.Assignment, settings: LlmSettings, transcript: Path) -> tuple[loop.AgentRun, list[AgentTest]]:
    outcome = loop.run(assignment_, settings, transcript)
    if not outcome.ok:
        return outcome, []
    return outcome, normalize(TestWriterResult.model_validate(outcome.result))
