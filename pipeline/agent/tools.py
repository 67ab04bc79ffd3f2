"""The agent's tools: what a model may do, each confined and size-capped.

- list_files / read_file / grep: the repository, confined to its root (no `..`, no
  symlink leaving it), text files only, capped output;
- write_file: a scratch folder of the run (drafts; never shipped);
- run_command: a shell command inside the running service's container (the sandbox of
  pipeline/runtime/sandbox.py: limits, own network), with a timeout; only while a
  service runs;
- http_request: one HTTP request to the running service (its base URL only).

A tool reports a misuse by raising ToolError; the loop hands the message to the model.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

MAX_READ_BYTES = 64 * 1024
MAX_LIST_ENTRIES = 400
MAX_GREP_MATCHES = 100
MAX_OUTPUT_CHARS = 8000
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "vendor", "target", "dist", "build"}


class ToolError(Exception):
    """A tool used wrongly (bad path, no service, too large): the message goes to the model."""


@dataclass
class Workspace:
    """What the tools of one run act on."""

    repo_root: Path
    scratch: Path | None = None
    base_url: str | None = None
    container_id: str | None = None
    command_timeout: int = 30


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., str]

    def spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass
class Toolbox:
    tools: dict[str, Tool] = field(default_factory=dict)

    def add(self, *tools: Tool) -> Toolbox:
        for tool in tools:
            self.tools[tool.name] = tool
        return self

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec() for t in self.tools.values()]


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


def _inside(root: Path, rel: str) -> Path:
    """`rel` under `root`, refusing anything that resolves outside it."""
    if not isinstance(rel, str) or "\0" in rel:
        raise ToolError("path must be a string")
    base = root.resolve()
    target = (base / rel.lstrip("/")).resolve()
    if target != base and base not in target.parents:
        raise ToolError(f"{rel!r} is outside the repository")
    return target


def _is_text(path: Path) -> bool:
    with path.open("rb") as fh:
        return b"\0" not in fh.read(4096)


def _cap(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters cut]"


# --------------------------------------------------------------------------- repository


def list_files(ws: Workspace, path: str = ".") -> str:
    root = _inside(ws.repo_root, path)
    if not root.is_dir():
        raise ToolError(f"{path!r} is not a folder")
    entries: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            rel = Path(dirpath, name).relative_to(ws.repo_root.resolve()).as_posix()
            entries.append(rel)
            if len(entries) >= MAX_LIST_ENTRIES:
                return "\n".join(entries) + f"\n[listing stopped at {MAX_LIST_ENTRIES} files]"
    return "\n".join(entries) or "(no files)"


def read_file(ws: Workspace, path: str, offset: int = 0) -> str:
    target = _inside(ws.repo_root, path)
    if not target.is_file():
        raise ToolError(f"{path!r} is not a file")
    if not _is_text(target):
        raise ToolError(f"{path!r} is binary")
    with target.open("rb") as fh:
        fh.seek(max(0, int(offset)))
        data = fh.read(MAX_READ_BYTES + 1)
    text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
    if len(data) > MAX_READ_BYTES:
        text += f"\n[file continues: read again with offset={int(offset) + MAX_READ_BYTES}]"
    return text


def grep(ws: Workspace, pattern: str, path: str = ".") -> str:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"invalid regular expression: {exc}") from exc
    root = _inside(ws.repo_root, path)
    files = [root] if root.is_file() else []
    if root.is_dir():
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            files += [Path(dirpath, n) for n in sorted(filenames)]
    hits: list[str] = []
    for file in files:
        if file.is_symlink() or file.stat().st_size > 1_000_000 or not _is_text(file):
            continue
        rel = file.relative_to(ws.repo_root.resolve()).as_posix()
        for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1):
            if regex.search(line):
                hits.append(f"{rel}:{number}: {line.strip()[:200]}")
                if len(hits) >= MAX_GREP_MATCHES:
                    return "\n".join(hits) + f"\n[stopped at {MAX_GREP_MATCHES} matches]"
    return "\n".join(hits) or "(no match)"


REPO_TOOLS = [
    Tool(
        "list_files",
        "List the repository's files (recursively) under a folder, relative to the repository root.",
        _schema({"path": {"type": "string", "description": "folder, default the root"}}, []),
        list_files,
    ),
    Tool(
        "read_file",
        f"Read a text file of the repository (at most {MAX_READ_BYTES} bytes from offset).",
        _schema({"path": {"type": "string"}, "offset": {"type": "integer"}}, ["path"]),
        read_file,
    ),
    Tool(
        "grep",
        "Search the repository's text files for a Python regular expression; answers file:line: text.",
        _schema({"pattern": {"type": "string"}, "path": {"type": "string"}}, ["pattern"]),
        grep,
    ),
]


# --------------------------------------------------------------------------- scratch


def write_file(ws: Workspace, path: str, content: str) -> str:
    if ws.scratch is None:
        raise ToolError("no scratch area in this run")
    ws.scratch.mkdir(parents=True, exist_ok=True)
    target = _inside(ws.scratch, path)
    if len(content.encode()) > MAX_READ_BYTES:
        raise ToolError(f"content larger than {MAX_READ_BYTES} bytes")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    return f"wrote {len(content)} characters to scratch/{target.relative_to(ws.scratch.resolve()).as_posix()}"


SCRATCH_TOOLS = [
    Tool(
        "write_file",
        "Write a draft file in your scratch area (not the repository; nothing there is shipped).",
        _schema({"path": {"type": "string"}, "content": {"type": "string"}}, ["path", "content"]),
        write_file,
    )
]


# --------------------------------------------------------------------------- service


def run_command(ws: Workspace, command: str) -> str:
    if not ws.container_id:
        raise ToolError("no service is running in this run")
    from pipeline.runtime.engine import docker_client

    container = docker_client().containers.get(ws.container_id)
    # `timeout` kills the command inside the container; the exec runs as the service's
    # user in the sandboxed container (limits, no privileges, its own network).
    result = container.exec_run(["timeout", "-s", "KILL", str(ws.command_timeout), "sh", "-c", command])
    output = (result.output or b"").decode("utf-8", errors="replace")
    note = " (killed: timeout)" if result.exit_code in (137, 124) else ""
    return f"exit code {result.exit_code}{note}\n{_cap(output)}"


def http_request(
    ws: Workspace, method: str, path: str, json_body: Any = None, headers: dict[str, str] | None = None
) -> str:
    if not ws.base_url:
        raise ToolError("no service is running in this run")
    if not isinstance(path, str) or not path.startswith("/"):
        raise ToolError("path must start with / (it is appended to the service's base URL)")
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not catch 127.0.0.1
    try:
        response = session.request(
            method.upper(), ws.base_url.rstrip("/") + path, json=json_body, headers=headers or {}, timeout=10
        )
    except requests.RequestException as exc:
        raise ToolError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        session.close()
    kept = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "location", "www-authenticate")}
    return f"HTTP {response.status_code}\nheaders: {json.dumps(kept)}\n\n{_cap(response.text)}"


SERVICE_TOOLS = [
    Tool(
        "run_command",
        "Run a shell command inside the running service's container (sandboxed, with a timeout).",
        _schema({"command": {"type": "string"}}, ["command"]),
        run_command,
    ),
    Tool(
        "http_request",
        "Send one HTTP request to the running service and see its answer.",
        _schema(
            {
                "method": {"type": "string"},
                "path": {"type": "string", "description": "e.g. /items/1?page=2"},
                "json_body": {"description": "a JSON body, if any"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            ["method", "path"],
        ),
        http_request,
    ),
]
