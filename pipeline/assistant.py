"""The assistant: what may improve a static stage's result, passed into `generate`.

Like mini-swe-agent's model, environment and agent, generate and its helper are separate:
generate runs the stages and asks the assistant at five points; the assistant answers with
the stage's value, improved or unchanged, and never calls back into generate.

- `StaticAssistant` (the default) changes nothing: the pipeline stays deterministic and
  offline.
- `LLMAssistant` (pipeline/agent/assistant.py, with `--llm`) runs the litellm roles
  (explorer, test writer, environment repairer, instruction writer), each falling back to
  the static value, with the reason recorded, when its output is not usable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from pipeline.config import Settings
from pipeline.models import (
    AgentUsage,
    ApiGroup,
    EnvSpec,
    Inventory,
    MaskResult,
    RepoSnapshot,
    Service,
    TestSuite,
)
from pipeline.run import Run
from pipeline.runtime.sandbox import RunningService
from pipeline.stages import repair


class TaskExtras(BaseModel):
    """What the assistant adds to a task before it is packaged."""

    suite: TestSuite
    instruction: str | None = None


class Assistant(Protocol):
    def explore(self, run: Run, snapshot: RepoSnapshot, prepared: RepoSnapshot, inventory: Inventory) -> Inventory:
        """After the static explore stage: the inventory to use."""
        ...

    def add_tests(
        self,
        run: Run,
        service: RunningService,
        prepared: RepoSnapshot,
        group: ApiGroup,
        framework: str,
        suite: TestSuite,
    ) -> TestSuite:
        """While the original service runs: the group's suite, with any tests it adds."""
        ...

    def repair_strategy(self, run: Run, prepared: RepoSnapshot, env: EnvSpec) -> repair.RepairStrategy:
        """How a failed build or start is repaired."""
        ...

    def finish_task(
        self,
        run: Run,
        snapshot: RepoSnapshot,
        service: Service,
        group: ApiGroup,
        env: EnvSpec,
        suite: TestSuite,
        masked_tree: Path,
        mask: MaskResult,
        static_instruction: Callable[[], str],
    ) -> TaskExtras:
        """Before packaging, with the masked tree: the final suite and instruction."""
        ...

    def record(self, run: Run, task_dir: Path, group: ApiGroup) -> None:
        """After packaging: what it did for the task, into the task's metadata."""
        ...

    def summary(self) -> AgentUsage | None:
        """What it did and used over the run, for the run's result."""
        ...


class StaticAssistant:
    """No assistant: every stage's static value is used as it is."""

    def explore(self, run: Run, snapshot: RepoSnapshot, prepared: RepoSnapshot, inventory: Inventory) -> Inventory:
        return inventory

    def add_tests(
        self,
        run: Run,
        service: RunningService,
        prepared: RepoSnapshot,
        group: ApiGroup,
        framework: str,
        suite: TestSuite,
    ) -> TestSuite:
        return suite

    def repair_strategy(self, run: Run, prepared: RepoSnapshot, env: EnvSpec) -> repair.RepairStrategy:
        return repair.RuleBasedStrategy()

    def finish_task(
        self,
        run: Run,
        snapshot: RepoSnapshot,
        service: Service,
        group: ApiGroup,
        env: EnvSpec,
        suite: TestSuite,
        masked_tree: Path,
        mask: MaskResult,
        static_instruction: Callable[[], str],
    ) -> TaskExtras:
        return TaskExtras(suite=suite)

    def record(self, run: Run, task_dir: Path, group: ApiGroup) -> None:
        return None

    def summary(self) -> AgentUsage | None:
        return None


def assistant_for(settings: Settings) -> Assistant:
    """The LLM assistant when a model is configured (--llm), else the static one."""
    if not settings.llm.enabled:
        return StaticAssistant()
    from pipeline.agent.assistant import LLMAssistant  # litellm is imported only when used

    return LLMAssistant(settings)
