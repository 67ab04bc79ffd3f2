"""stand_ins: cheap wrong solutions the tests must reject, and the task's strength.

A no-op that fails proves the tests notice the 501; it does not prove they test the
behaviour. A weak agent, never reading the code, could answer every request of an
endpoint with the status (or the status and one body) the instruction and the tests
show. Each stand-in is such an answer written by the masking machinery: the group's
handlers masked with a canned answer (`Framework.stand_in_body`) instead of 501, and
shipped to the gate as a patch from the masked repository, applied like the oracle's.
The gate (stages/verify.py) runs every stand-in after the oracle and the no-op; one that
passes rejects the task as `tests_weak`.

    status_only   every masked handler answers its endpoint's recorded status, empty body
    fixed_body    every masked handler answers its endpoint's recorded status and one of
                  its recorded JSON bodies, for every request
    echo          every masked handler answers its recorded status with the request's own
                  body (a create that returns what it was sent); a handler the tests send
                  no body answers as status_only

A framework that does not write canned answers gets its stand-ins marked skipped, and
one that cannot echo (`Framework.echoes`) its echo stand-in.

`measure` is the task's strength (metadata.json `strength`) and `difficulty` the rule that
turns it into task.yaml's difficulty.
"""

from __future__ import annotations

import ast
import shutil
from collections import Counter
from pathlib import Path

import git

from pipeline.gitutil import commit_all
from pipeline.languages import get_framework
from pipeline.models import ApiGroup, CannedAnswer, Probe, StageError, StandIn, TestSuite
from pipeline.schemas.metadata import Strength
from pipeline.stages.mask import mask_group

STAGE_VERSION = "1"
STAND_INS = {
    "status_only": "every handler answers its recorded status with an empty body",
    "fixed_body": "every handler answers one recorded status and JSON body to every request",
    "echo": "every handler answers its recorded status with the request's own body",
}
SOLUTION_MARK = "ABC_PIPELINE_SOLUTION_PATCH"  # the heredoc of templates/task/solution.sh.j2


def _probes(group: ApiGroup, suite: TestSuite) -> dict[str, list[Probe]]:
    """Endpoint key -> what the original answered it, in the tests' order."""
    out: dict[str, list[Probe]] = {}
    steps = [p for scenario in suite.scenarios for p in scenario.steps]
    for endpoint in group.endpoints:
        out[endpoint.key] = [
            p for p in steps if p.path_template == endpoint.normalized_path and endpoint.method in (p.method, "ANY")
        ]
    return out


def answers_for(name: str, group: ApiGroup, suite: TestSuite) -> dict[str, CannedAnswer]:
    """The canned answer of each endpoint the tests call, for the stand-in `name`.

    The status is the one the endpoint answered most often (the first on a tie): the
    guess that passes the most of its tests. An endpoint the tests never call keeps 501."""
    answers: dict[str, CannedAnswer] = {}
    for key, probes in _probes(group, suite).items():
        if not probes:
            continue
        status = Counter(p.status for p in probes).most_common(1)[0][0]
        if name == "status_only":
            answers[key] = CannedAnswer(status=status)
        elif name == "fixed_body":
            bodies = [p.json_body for p in probes if p.status == status and p.json_body is not None]
            answers[key] = CannedAnswer(status=status, json_body=bodies[0] if bodies else None)
        elif name == "echo":
            answers[key] = CannedAnswer(status=status, echo=any(p.body is not None for p in probes))
        else:
            raise ValueError(f"unknown stand-in {name}")
    return answers


def make(masked_tree: Path, group: ApiGroup, framework_name: str, suite: TestSuite) -> list[StandIn]:
    """Every stand-in of a group as a patch that applies to the masked repository.

    `masked_tree` is the masked work tree whose git HEAD is the original (mask_group's
    input). A copy is committed as masked, restored to the original, masked again with
    canned answers, and diffed against the masked commit: the patch solution.sh applies."""
    framework = get_framework(framework_name)
    if not framework.supports_stand_ins:
        reason = f"{framework.name} has no stand-in answers (Framework.stand_in_body)"
        return [StandIn(name=name, skipped=reason) for name in STAND_INS]
    work = masked_tree.with_name(masked_tree.name + ".stand-ins")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(masked_tree, work, symlinks=True)
    try:
        commit_all(work, "masked")
        repo = git.Repo(work)
        out: list[StandIn] = []
        for name in STAND_INS:
            answers = answers_for(name, group, suite)
            if not answers:
                out.append(StandIn(name=name, skipped="the tests call no endpoint of the group"))
                continue
            if name == "echo" and not framework.echoes:
                out.append(StandIn(name=name, skipped=f"{framework.name} does not echo a request's body"))
                continue
            if name == "echo" and not any(a.echo for a in answers.values()):
                # Without a request body to echo it would be status_only again.
                out.append(StandIn(name=name, skipped="the tests send no request body"))
                continue
            repo.git.checkout("HEAD~1", "--", ".")  # the original, which mask_group's offsets point into
            try:
                mask_group(work, group, framework_name, answers)
            except StageError as exc:
                out.append(StandIn(name=name, skipped=f"the stand-in could not be written: {exc.reason}"))
                continue
            repo.git.add("-A", "--force")
            patch = repo.git.diff("--cached", "HEAD", "--binary", "--no-color", "--no-ext-diff")
            if not patch.strip():
                # Nothing the framework can answer in another way (a static-files mount's
                # middleware): the masked tree is the stand-in, which the no-op already ran.
                out.append(StandIn(name=name, skipped="no handler of the group takes a canned answer"))
                continue
            out.append(StandIn(name=name, patch=patch + "\n"))
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def solution_script(solution_sh: str, patch: str) -> str:
    """The task's solution.sh with the stand-in's patch in place of the original's."""
    head, sep, rest = solution_sh.partition(f"<<'{SOLUTION_MARK}'\n")
    _, end, tail = rest.partition(f"{SOLUTION_MARK}\n")
    if not sep or not end:
        raise ValueError("solution.sh has no patch heredoc")
    return f"{head}{sep}{patch}{SOLUTION_MARK}\n{tail}"


# --------------------------------------------------------------------------- strength


def count_assertions(test_func: str) -> int:
    """assert statements in test_func.py (each counted once, in a loop or not)."""
    try:
        tree = ast.parse(test_func)
    except SyntaxError:
        return test_func.count("assert ")
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


def masked_lines(solution_patch: str) -> int:
    """Non-blank lines the solution patch adds back: the masked bodies' original code."""
    return sum(
        1
        for line in solution_patch.splitlines()
        if line.startswith("+") and not line.startswith("+++") and line[1:].strip()
    )


def difficulty(masked: int, endpoints: int) -> str:
    """hard: >= 60 masked lines or >= 6 endpoints; easy: < 15 lines and <= 2 endpoints."""
    if masked >= 60 or endpoints >= 6:
        return "hard"
    if masked < 15 and endpoints <= 2:
        return "easy"
    return "medium"


def harder(level: str) -> str:
    """One level up (the environment variant also asks for the Dockerfile)."""
    return {"easy": "medium", "medium": "hard"}.get(level, "hard")


def measure(group: ApiGroup, test_func: str, solution_patch: str) -> Strength:
    """The task's strength before the gate (its stand-ins are recorded by the gate)."""
    endpoints = len(group.endpoints)
    assertions = count_assertions(test_func)
    masked = masked_lines(solution_patch)
    return Strength(
        endpoints=endpoints,
        assertions=assertions,
        assertions_per_endpoint=round(assertions / endpoints, 2) if endpoints else 0.0,
        masked_lines=masked,
        difficulty=difficulty(masked, endpoints),
    )
