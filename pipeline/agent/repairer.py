"""Environment repairer: the next Dockerfile from a failing build or start log, as a
`RepairStrategy` of pipeline/stages/repair.py.

Rules first, then the model: a rule is free, deterministic and known to be safe, and most
failures have one. The model is asked only when the rules have nothing to offer (an
unknown failure class, or a fix the rules already tried). Its Dockerfile is judged as any
other: `run_attempts` builds and starts it, and only one that builds and serves is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.agent import loop, prompts
from pipeline.agent.tools import REPO_TOOLS, Toolbox, Workspace
from pipeline.config import LlmSettings
from pipeline.models import EnvSpec
from pipeline.stages import repair


class DockerfileProposal(BaseModel):
    dockerfile: str = Field(description="the whole new Dockerfile")
    change: str = Field(description="one line: what changed and why")
    port: int | None = Field(default=None, description="the port the service listens on")


def check(current: EnvSpec) -> Callable[[DockerfileProposal], list[str]]:
    def problems(result: DockerfileProposal) -> list[str]:
        found = []
        lines = [line.strip() for line in result.dockerfile.splitlines() if line.strip()]
        code = [line for line in lines if not line.startswith("#")]
        if not code or not re.match(r"(?i)(FROM|ARG)\s", code[0]):
            found.append("a Dockerfile starts with FROM (or ARG before FROM)")
        if not any(re.match(r"(?i)(CMD|ENTRYPOINT)\s", line) for line in code):
            found.append("the Dockerfile needs a CMD or ENTRYPOINT that starts the service")
        if result.dockerfile.strip() == current.dockerfile.strip() and (result.port or current.port) == current.port:
            found.append("this is the Dockerfile that failed: change something")
        if result.port is not None and not 0 < result.port < 65536:
            found.append("port must be 1..65535")
        return found

    return problems


class AgentRepairStrategy:
    """Rules first; the model when the rules have no fix. Transcripts go through `on_run`."""

    name = "rules+llm"

    def __init__(
        self,
        context_dir: Path,
        settings: LlmSettings,
        transcript_path: Callable[[], Path],
        on_run: Callable[[loop.AgentRun], None],
        rules: repair.RepairStrategy | None = None,
    ) -> None:
        self.context_dir = context_dir
        self.settings = settings
        self.transcript_path = transcript_path
        self.on_run = on_run
        self.rules = rules or repair.RuleBasedStrategy()

    def propose(
        self, failure: repair.Failure, log_tail: str, env: EnvSpec, facts: repair.ServiceFacts
    ) -> repair.Proposal | None:
        proposal = self.rules.propose(failure, log_tail, env, facts)
        if proposal is not None:
            return proposal.model_copy(update={"change": f"rules: {proposal.change}"})
        prompt = prompts.render(
            "env_repairer.md.j2",
            facts=facts,
            failure=failure,
            log_tail=log_tail,
            dockerfile=env.dockerfile,
            port=env.port,
            health_path=env.health_path,
        )
        job = loop.Assignment(
            role="env_repairer",
            prompt=prompt,
            result_model=DockerfileProposal,
            toolbox=Toolbox().add(*REPO_TOOLS),
            workspace=Workspace(repo_root=self.context_dir),
            check=check(env),
        )
        outcome = loop.run(job, self.settings, self.transcript_path())
        self.on_run(outcome)
        if not outcome.ok:
            return None
        result = DockerfileProposal.model_validate(outcome.result)
        dockerfile = result.dockerfile.rstrip("\n") + "\n"
        port = result.port or env.port
        updated = env.model_copy(update={"dockerfile": dockerfile, "port": port})
        return repair.Proposal(env=updated, change=f"llm: {result.change.strip()[:200]}")
