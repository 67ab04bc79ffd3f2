"""A scripted OpenAI-compatible server for the agent's tests, run in a thread.

It serves `POST /v1/chat/completions` over real HTTP: litellm talks to it exactly as to
vLLM or Ollama (`openai/<name>` + api_base). Each request is recorded (body and headers)
and answered by the script: a callable that gets the parsed request and returns a `Reply`.
Helpers build the usual replies: a tool call, plain text, a provider error.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | str = field(default_factory=dict)


_ids = itertools.count(1)


def completion(message: dict[str, Any], prompt_tokens: int = 100, completion_tokens: int = 20) -> Reply:
    return Reply(
        body={
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "scripted",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def tool_call(name: str, arguments: dict[str, Any] | str, **usage: int) -> Reply:
    """A reply calling one tool; `arguments` as a string is sent verbatim (e.g. broken JSON)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    call = {"id": f"call_{next(_ids)}", "type": "function", "function": {"name": name, "arguments": raw}}
    return completion({"role": "assistant", "content": None, "tool_calls": [call]}, **usage)


def text(content: str, **usage: int) -> Reply:
    return completion({"role": "assistant", "content": content}, **usage)


def error(status: int, message: str = "scripted provider error") -> Reply:
    return Reply(status=status, body={"error": {"message": message, "type": "server_error", "code": status}})


def sequence(*replies: Reply) -> Callable[[dict[str, Any]], Reply]:
    """A script that answers with `replies` in order, then keeps repeating the last one."""
    queue = list(replies)

    def script(_request: dict[str, Any]) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return script


def role_of(request: dict[str, Any]) -> str:
    """The role a request comes from: the prompts name it on their first line."""
    system = next((m.get("content") or "" for m in request.get("messages", []) if m.get("role") == "system"), "")
    first = system.strip().splitlines()[0] if system.strip() else ""
    return first.removeprefix("# Role:").strip() if first.startswith("# Role:") else ""


def tool_results(request: dict[str, Any]) -> list[str]:
    """The contents of the tool messages so far, in order."""
    return [m.get("content") or "" for m in request.get("messages", []) if m.get("role") == "tool"]


class ScriptedLLM:
    """`with ScriptedLLM(script) as llm:` serves on llm.api_base; llm.requests records calls."""

    def __init__(self, script: Callable[[dict[str, Any]], Reply]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.requests.append(payload)
                    outer.headers.append(dict(self.headers))
                    reply = outer.script(payload) if self.path.endswith("/chat/completions") else Reply(404, "")
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data.encode())))
                self.end_headers()
                self.wfile.write(data.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
