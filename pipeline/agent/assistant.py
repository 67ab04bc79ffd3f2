"""The LLM assistant (pipeline/assistant.py's protocol, with `--llm`): the agent's four
roles at generate's five points, each falling back to the static result (and saying why)
whenever the model's output is not usable.

It holds its own per-run state (reports, usage, transcripts), so generate never carries
agent state; a run makes one assistant (assistant_for) and drops it at the end.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from pipeline.agent import explorer, instruction_writer, loop, test_writer
from pipeline.agent.budget import Usage
from pipeline.agent.repairer import AgentRepairStrategy
from pipeline.agent.test_writer import AgentTest
from pipeline.assistant import TaskExtras
from pipeline.cache import content_key
from pipeline.config import Settings
from pipeline.models import (
    AgentUsage,
    ApiGroup,
    EnvSpec,
    Inventory,
    MaskResult,
    RepoSnapshot,
    Service,
    StageError,
    TestSuite,
    Verdict,
)
from pipeline.run import Run
from pipeline.runtime.sandbox import RunningService
from pipeline.stages import bring_up, repair
from pipeline.task_folder import TaskFolder

log = logging.getLogger(__name__)
STAGE_VERSION = "1"


class RoleReport(BaseModel):
    """What one role did for a task (or a run): whether its output was used, and why."""

    used: bool
    reason: str
    status: str = ""
    usage: Usage = Field(default_factory=Usage)
    transcript: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ExplorerOutcome(BaseModel):
    """The explorer's result, cached like a stage (same commit, model and roles: same groups)."""

    inventory: Inventory
    report: RoleReport


class GroupState(BaseModel):
    static_test_func: str | None = None
    agent_tests: list[AgentTest] = Field(default_factory=list)
    test_writer: RoleReport | None = None
    instruction_writer: RoleReport | None = None


class AgentState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.evidence: Path | None = None
        self.counters: dict[str, int] = {}
        self.usage = Usage()
        self.explorer: RoleReport | None = None
        self.repairs: list[RoleReport] = []
        self.groups: dict[str, GroupState] = {}
        self.notes: list[str] = []

    def transcript_path(self, role: str) -> Path:
        assert self.evidence is not None
        self.counters[role] = self.counters.get(role, 0) + 1
        return self.evidence / "agent" / f"{role}-{self.counters[role]}.json"

    def keep(self, outcome: loop.AgentRun) -> None:
        """Account for a run (its transcript is already in the evidence folder)."""
        self.usage.add(outcome.usage)

    def group(self, name: str) -> GroupState:
        return self.groups.setdefault(name, GroupState())


def _report(outcome: loop.AgentRun, used: bool, reason: str, **details: Any) -> RoleReport:
    return RoleReport(
        used=used,
        reason=reason,
        status=outcome.status,
        usage=outcome.usage,
        transcript=outcome.transcript,
        details=details,
    )


class LLMAssistant:
    """The agent's roles, as the Assistant protocol asks (see pipeline/assistant.py)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.agent = AgentState(settings)

    # ----------------------------------------------------------------------- explorer

    def explore(self, run: Run, snapshot: RepoSnapshot, prepared: RepoSnapshot, inventory: Inventory) -> Inventory:
        """After the static explore stage: the explorer's checked inventory, or the static one."""
        agent = self.agent
        agent.evidence = bring_up.evidence_dir(run, snapshot)
        if not self.settings.llm.uses("explorer"):
            return inventory

        def explore_with_model() -> ExplorerOutcome:
            try:
                outcome, changes = explorer.run(
                    prepared.path, inventory, self.settings.llm, agent.transcript_path("explorer")
                )
            except Exception as exc:  # the agent is optional: its failure must not fail the run
                log.warning("explorer failed: %s", exc, exc_info=True)
                return ExplorerOutcome(inventory=inventory, report=RoleReport(used=False, reason=f"error: {exc}"))
            agent.keep(outcome)
            if changes is None:
                return ExplorerOutcome(
                    inventory=inventory, report=_report(outcome, False, f"{outcome.status}: {outcome.reason}")
                )
            details = {"renamed": changes.renamed, "added": changes.added, "dropped": changes.dropped}
            return ExplorerOutcome(inventory=changes.inventory, report=_report(outcome, True, "used", **details))

        key = content_key(snapshot.commit, STAGE_VERSION, self.settings.config_hash_input(), inventory, "agent-explore")
        result = run.cached_stage("agent_explorer", key, ExplorerOutcome, explore_with_model)
        agent.explorer = result.report
        return result.inventory

    # ----------------------------------------------------------------------- test writer

    def add_tests(
        self,
        run: Run,
        service: RunningService,
        prepared: RepoSnapshot,
        group: ApiGroup,
        framework: str,
        suite: TestSuite,
    ) -> TestSuite:
        """While the original runs: the model's tests that pass it twice, appended to the suite."""
        if not self.settings.llm.uses("test_writer"):
            return suite
        agent = self.agent
        slot = agent.group(group.name)
        slot.static_test_func = suite.test_func
        scratch = self.settings.work_dir / "scratch" / f"{run.run_id}-{group.name}"
        try:
            job = test_writer.assignment(
                prepared.path, scratch, group, framework, suite, service.base_url, service.container_id
            )
            outcome, tests = run.stage(
                "agent_test_writer",
                lambda: test_writer.run(job, self.settings.llm, agent.transcript_path("test_writer")),
            )
            agent.keep(outcome)
            if not outcome.ok:
                slot.test_writer = _report(outcome, False, f"{outcome.status}: {outcome.reason}")
                return suite
            kept, dropped = test_writer.gate_on_original(tests, service.base_url)
            slot.agent_tests = kept
            details = {"kept": [t.function for t in kept], "dropped": [d.model_dump() for d in dropped]}
            reason = f"{len(kept)} of {len(tests)} tests passed the original twice"
            slot.test_writer = _report(outcome, bool(kept), reason, **details)
            return test_writer.with_tests(suite, suite.test_func, kept)
        except Exception as exc:
            log.warning("test writer failed: %s", exc, exc_info=True)
            slot.test_writer = RoleReport(used=False, reason=f"error: {type(exc).__name__}: {exc}")
            slot.agent_tests = []
            return suite
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # ----------------------------------------------------------------------- repairer

    def repair_strategy(self, run: Run, prepared: RepoSnapshot, env: EnvSpec) -> repair.RepairStrategy:
        """Rules alone unless the repairer role is on; rules, then the model, with it."""
        if not self.settings.llm.uses("env_repairer"):
            return repair.RuleBasedStrategy()
        agent = self.agent

        def on_run(outcome: loop.AgentRun) -> None:
            agent.keep(outcome)
            proposal = (outcome.result or {}).get("change", "") if outcome.ok else ""
            reason = f"proposed: {proposal}" if outcome.ok else f"{outcome.status}: {outcome.reason}"
            agent.repairs.append(_report(outcome, outcome.ok, reason))

        return AgentRepairStrategy(
            prepared.path / env.service_root, self.settings.llm, lambda: agent.transcript_path("env_repairer"), on_run
        )

    # ----------------------------------------------------------------------- per task

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
        """Before packaging: the no-op gate of the agent's tests, and the agent's instruction."""
        slot = self.agent.group(group.name)
        if slot.agent_tests and slot.static_test_func is not None:
            suite = self._gate_tests_on_noop(run, snapshot, env, suite, masked_tree, mask, slot)
        instruction = None
        if self.settings.llm.uses("instruction_writer"):
            instruction = self._write_instruction(run, service, group, masked_tree, mask, static_instruction())
        return TaskExtras(suite=suite, instruction=instruction)

    def _gate_tests_on_noop(
        self,
        run: Run,
        snapshot: RepoSnapshot,
        env: EnvSpec,
        suite: TestSuite,
        masked_tree: Path,
        mask: MaskResult,
        slot: GroupState,
    ) -> TestSuite:
        """Start the masked service once and drop every agent test that passes on it."""
        report = slot.test_writer
        assert report is not None and slot.static_test_func is not None
        spec = bring_up.service_env(env)
        tag = bring_up.image_tag(snapshot, run, "-noop")
        try:
            built = bring_up.build(run, masked_tree, spec, tag)
            if not built.ok:
                raise StageError(Verdict.build_error, "the masked service does not build")
            with bring_up.started(run, tag, spec, masked_tree / env.service_root) as masked:
                kept, dropped = test_writer.gate_on_noop(slot.agent_tests, masked.base_url, mask.solution_patch)
        except StageError as exc:
            # The verify gate will judge the masked service itself; the agent's tests are not
            # kept on a judgement that could not be made.
            reason = f"no-op check impossible: {exc.reason[:200]}"
            kept, dropped = [], [test_writer.Dropped(function=t.function, reason=reason) for t in slot.agent_tests]
        slot.agent_tests = kept
        report.details["kept"] = [t.function for t in kept]
        report.details.setdefault("dropped", []).extend(d.model_dump() for d in dropped)
        report.used = bool(kept)
        report.reason = f"{len(kept)} test(s) kept after the original and no-op checks"
        return test_writer.with_tests(suite, slot.static_test_func, kept)

    def _write_instruction(
        self,
        run: Run,
        service: Service,
        group: ApiGroup,
        masked_tree: Path,
        mask: MaskResult,
        static: str,
    ) -> str | None:
        agent = self.agent
        slot = agent.group(group.name)
        try:
            job = instruction_writer.assignment(masked_tree, group, service.framework, static, mask.solution_patch)
            outcome, text, why = run.stage(
                "agent_instruction_writer",
                lambda: instruction_writer.run(
                    job, self.settings.llm, agent.transcript_path("instruction_writer"), group, mask.solution_patch
                ),
            )
        except Exception as exc:
            log.warning("instruction writer failed: %s", exc, exc_info=True)
            slot.instruction_writer = RoleReport(used=False, reason=f"error: {type(exc).__name__}: {exc}")
            return None
        agent.keep(outcome)
        slot.instruction_writer = _report(outcome, text is not None, why if text else f"static instruction kept: {why}")
        return text

    def record(self, run: Run, task_dir: Path, group: ApiGroup) -> None:
        """The `agent` section of the task's metadata.json: per role, used or not and why."""
        agent = self.agent
        slot = agent.group(group.name)
        roles: dict[str, Any] = {}
        usage = Usage()
        for role, report in (
            ("explorer", agent.explorer),
            ("test_writer", slot.test_writer),
            ("instruction_writer", slot.instruction_writer),
        ):
            if report is None:
                enabled = self.settings.llm.uses(role)
                report = RoleReport(used=False, reason="did not run" if enabled else "role not enabled")
            roles[role] = report.model_dump(mode="json")
            if role != "explorer":
                usage.add(report.usage)
        roles["env_repairer"] = [r.model_dump(mode="json") for r in agent.repairs]
        task = TaskFolder.terminal_bench(task_dir)
        agent_section = {
            "model": self.settings.llm.model,
            "roles_enabled": self.settings.llm.roles,
            # The task's own calls (test writer and instruction writer); the explorer's and the
            # repairer's are shared by every task of the run and listed under their roles.
            "task_usage": usage.model_dump(mode="json"),
            **roles,
        }
        task.write_metadata(task.metadata().model_copy(update={"agent": agent_section}))

    def summary(self) -> AgentUsage | None:
        agent = self.agent
        notes: list[str] = []
        if agent.explorer is not None:
            notes.append(f"explorer: {agent.explorer.reason}")
        for name, slot in agent.groups.items():
            for role in ("test_writer", "instruction_writer"):
                report = getattr(slot, role)
                if report is not None:
                    notes.append(f"{role}[{name}]: {'used' if report.used else 'not used'}: {report.reason}")
        for report in agent.repairs:
            notes.append(f"env_repairer: {report.reason}")
        u = agent.usage
        return AgentUsage(
            model=self.settings.llm.model or "",
            calls=u.calls,
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            cost=u.cost,
            notes=notes,
        )
