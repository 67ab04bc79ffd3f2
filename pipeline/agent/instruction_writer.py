"""Instruction writer: the task's instruction in ABC-Bench's style, from the masked tree.

The gate (also told to the model, so it can fix its text before the run ends): not empty
or too short, names every endpoint of the group as `METHOD path`, and carries no line of
the solution (pipeline/leaks.py). Anything else falls back to the static instruction.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.agent import loop, prompts
from pipeline.agent.tools import REPO_TOOLS, Toolbox, Workspace
from pipeline.config import LlmSettings
from pipeline.leaks import find_leaks
from pipeline.models import ApiGroup

MIN_CHARS = 300


class InstructionResult(BaseModel):
    instruction: str = Field(description="the whole instruction, Markdown")


def problems(text: str, group: ApiGroup, solution_patch: str) -> list[str]:
    found = []
    if len(text.strip()) < MIN_CHARS:
        found.append(f"the instruction is shorter than {MIN_CHARS} characters")
    for endpoint in group.endpoints:
        # Whole paths only: `GET /todos` must not count as named by `GET /todos/<id>`.
        if not re.search(re.escape(f"{endpoint.method} {endpoint.path}") + r"(?![\w/<{:.-])", text):
            found.append(f"the instruction does not name `{endpoint.method} {endpoint.path}`")
    leaks = find_leaks(text, solution_patch)
    if leaks:
        found.append(f"the instruction contains solution code, e.g. `{leaks[0]}`")
    return found


def assignment(
    masked_root: Path, group: ApiGroup, framework: str, static_instruction: str, solution_patch: str
) -> loop.Assignment:
    prompt = prompts.render(
        "instruction_writer.md.j2", group=group, framework=framework, static_instruction=static_instruction
    )
    return loop.Assignment(
        role="instruction_writer",
        prompt=prompt,
        result_model=InstructionResult,
        toolbox=Toolbox().add(*REPO_TOOLS),
        workspace=Workspace(repo_root=masked_root),
        check=lambda result: problems(result.instruction, group, solution_patch),
    )


def run(
    assignment_: loop.Assignment, settings: LlmSettings, transcript: Path, group: ApiGroup, solution_patch: str
) -> tuple[loop.AgentRun, str | None, str]:
    """The run, the accepted instruction (or None) and why it was or was not used."""
    outcome = loop.run(assignment_, settings, transcript)
    if not outcome.ok:
        return outcome, None, f"{outcome.status}: {outcome.reason}"
    text = InstructionResult.model_validate(outcome.result).instruction.strip() + "\n"
    # Checked again here: the gate is this module's, not the model's good behaviour.
    found = problems(text, group, solution_patch)
    if found:
        return outcome, None, "rejected: " + "; ".join(found)
    return outcome, text, "used"
