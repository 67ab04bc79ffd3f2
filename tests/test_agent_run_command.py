"""The agent's run_command tool against a real sandboxed container: output comes back,
a command that outlives its timeout is killed, and the host's files are out of reach."""

from __future__ import annotations

import pytest

from pipeline.agent.tools import ToolError, Workspace, run_command
from pipeline.runtime import sandbox

pytestmark = pytest.mark.docker


def test_run_command_in_the_service_container(docker_engine, run_id, tmp_path):
    with sandbox.running_service(
        "python:3.11-slim-bookworm",
        port=8000,
        health_path="/",
        run_id=run_id,
        command=["python", "-m", "http.server", "8000"],
    ) as service:
        ws = Workspace(repo_root=tmp_path, container_id=service.container_id, command_timeout=2)

        answer = run_command(ws, "echo inside && cat /etc/os-release | head -1")
        assert answer.startswith("exit code 0\n")
        assert "inside" in answer and "Debian" in answer

        slow = run_command(ws, "sleep 30")
        assert slow.startswith("exit code 137 (killed: timeout)")

        # No host mounts: the project's checkout on the host is not in the container.
        host_only = run_command(ws, f"ls {tmp_path}")
        assert not host_only.startswith("exit code 0")


def test_run_command_without_a_service_is_a_tool_error(tmp_path):
    with pytest.raises(ToolError, match="no service"):
        run_command(Workspace(repo_root=tmp_path), "true")
