"""The agent loop: litellm tool calling until the model submits a result that passes the
role's checks, or a budget runs out.

One model call per step. Each tool call's answer (or its error: invalid JSON arguments,
an unknown tool, a tool that raised, a result that fails its schema or its checks) goes
back to the model as the tool's result; a malformed call never ends the run. Provider
errors that may pass (429, 5xx, connection errors, timeouts) are retried here with
exponential backoff; litellm's and the OpenAI client's own retries are switched off, so
the behaviour is ours and tested.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from pipeline.agent import transcript
from pipeline.agent.budget import Budget, Usage
from pipeline.agent.tools import Toolbox, ToolError, Workspace
from pipeline.config import LlmSettings

log = logging.getLogger(__name__)

Status = Literal["submitted", "budget_exhausted", "provider_error", "error"]
SUBMIT = "submit"
# Statuses worth another try: rate limits, timeouts, conflicts and the server's own errors.
_RETRY_STATUS = {408, 409, 429}


@dataclass
class Assignment:
    """One role's job: its prompt, tools, workspace and the result it must submit."""

    role: str
    prompt: str
    result_model: type[BaseModel]
    toolbox: Toolbox
    workspace: Workspace
    check: Callable[[Any], list[str]] | None = None
    kickoff: str = "Begin. Use the tools to look; finish by calling `submit` with your result."


class AgentRun(BaseModel):
    """How one agent run ended."""

    role: str
    status: Status
    reason: str
    result: dict | None = None
    usage: Usage
    transcript: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "submitted" and self.result is not None


def api_key(settings: LlmSettings) -> str | None:
    key = os.environ.get(settings.api_key_env)
    if key:
        return key
    model = settings.model or ""
    # A local OpenAI-compatible server (vLLM, Ollama) takes any key, but the client insists on one.
    if settings.api_base and model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
        return "no-key"
    return None


def _litellm() -> Any:
    # Without this, importing litellm fetches its price map from the internet.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.num_retries = 0
    litellm.suppress_debug_info = True
    # litellm logs a line per call at INFO on its own handler: noise in the CLI's output.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return litellm


def _retryable(exc: Exception) -> bool:
    litellm = _litellm()
    if isinstance(exc, litellm.exceptions.APIConnectionError | litellm.exceptions.Timeout):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status in _RETRY_STATUS or status >= 500)


def _complete(settings: LlmSettings, messages: list[dict], tools: list[dict], events: list[dict]) -> Any:
    """One model call, retried with exponential backoff on errors that may pass."""
    litellm = _litellm()
    delay = settings.backoff_seconds
    for attempt in range(settings.max_retries + 1):
        try:
            return litellm.completion(
                model=settings.model,
                messages=messages,
                tools=tools,
                api_base=settings.api_base,
                api_key=api_key(settings),
                temperature=settings.temperature,
                timeout=settings.request_timeout,
                num_retries=0,
                max_retries=0,
            )
        except Exception as exc:
            message = f"{type(exc).__name__}: {str(exc)[:300]}"
            if not _retryable(exc) or attempt == settings.max_retries:
                events.append({"provider_error": message, "attempt": attempt + 1, "retry": False})
                raise
            events.append({"provider_error": message, "attempt": attempt + 1, "retry_in": delay})
            log.info("model call failed (%s); retrying in %.1f s", type(exc).__name__, delay)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _cost(response: Any, budget: Budget, prompt_tokens: int, completion_tokens: int) -> float:
    try:
        cost = _litellm().completion_cost(completion_response=response)
        if cost:
            return float(cost)
    except Exception:  # litellm raises for a model it has no price for: use the settings'
        pass
    return budget.fallback_cost(prompt_tokens, completion_tokens)


def _call_tool(assignment: Assignment, name: str, raw_arguments: str) -> tuple[str, dict | None]:
    """The tool's answer for the model, and the accepted result when it was a valid submit."""
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError as exc:
        return f"error: the arguments are not valid JSON ({exc.msg} at {exc.pos}); call the tool again", None
    if not isinstance(arguments, dict):
        return "error: the arguments must be a JSON object", None
    if name == SUBMIT:
        try:
            result = assignment.result_model.model_validate(arguments)
        except ValidationError as exc:
            return f"error: the result does not match the schema:\n{exc}", None
        problems = assignment.check(result) if assignment.check else []
        if problems:
            return "error: the result was rejected:\n- " + "\n- ".join(problems) + "\nFix it and submit again.", None
        return "accepted", result.model_dump(mode="json")
    tool = assignment.toolbox.tools.get(name)
    if tool is None:
        known = ", ".join([*assignment.toolbox.tools, SUBMIT])
        return f"error: there is no tool {name!r}; the tools are {known}", None
    try:
        return tool.run(assignment.workspace, **arguments), None
    except ToolError as exc:
        return f"error: {exc}", None
    except TypeError as exc:  # wrong or missing arguments
        return f"error: bad arguments for {name}: {exc}", None
    except Exception as exc:  # a tool that breaks must not end the run: the model may try else
        log.info("tool %s raised %s", name, type(exc).__name__, exc_info=True)
        return f"error: the tool {name} failed: {type(exc).__name__}: {str(exc)[:500]}", None


def run(assignment: Assignment, settings: LlmSettings, transcript_path: Path | None) -> AgentRun:
    """Run the assignment to a submitted result or a stop; save its redacted transcript."""
    budget = Budget(settings)
    submit_tool = {
        "type": "function",
        "function": {
            "name": SUBMIT,
            "description": "Submit your final result. It is checked; on an error, fix it and submit again.",
            "parameters": assignment.result_model.model_json_schema(),
        },
    }
    tools = [*assignment.toolbox.specs(), submit_tool]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": assignment.prompt},
        {"role": "user", "content": assignment.kickoff},
    ]
    steps: list[dict[str, Any]] = []
    status: Status = "error"
    reason = ""
    result: dict | None = None
    try:
        while result is None:
            stop = budget.exhausted()
            if stop:
                status, reason = "budget_exhausted", stop
                break
            events: list[dict] = []
            try:
                response = _complete(settings, messages, tools, events)
            except Exception as exc:
                steps.append({"events": events})
                status, reason = "provider_error", f"{type(exc).__name__}: {str(exc)[:300]}"
                break
            usage = getattr(response, "usage", None)
            prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            cost = _cost(response, budget, prompt_tokens, completion_tokens)
            budget.record(prompt_tokens, completion_tokens, cost)
            message = response.choices[0].message
            calls = list(getattr(message, "tool_calls", None) or [])
            assistant: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
            if calls:
                assistant["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments or ""},
                    }
                    for c in calls
                ]
            messages.append(assistant)
            step: dict[str, Any] = {
                "events": events,
                "tokens": {"prompt": prompt_tokens, "completion": completion_tokens},
                "cost": cost,
                "assistant": assistant,
                "tool_results": [],
            }
            steps.append(step)
            if not calls:
                messages.append(
                    {"role": "user", "content": "Use the tools; when you are done, call `submit` with your result."}
                )
                continue
            for call in calls:
                answer, accepted = _call_tool(assignment, call.function.name or "", call.function.arguments or "")
                messages.append({"role": "tool", "tool_call_id": call.id, "content": answer})
                step["tool_results"].append({"tool": call.function.name, "content": answer})
                if accepted is not None and result is None:
                    result = accepted
        if result is not None:
            status, reason = "submitted", f"submitted after {budget.usage.calls} model call(s)"
    except Exception as exc:  # the loop itself broke (a bad response shape): a value, not a crash
        log.warning("agent %s stopped: %s", assignment.role, exc, exc_info=True)
        status, reason = "error", f"{type(exc).__name__}: {str(exc)[:300]}"
    budget.usage.seconds = round(budget.elapsed(), 3)
    outcome = AgentRun(role=assignment.role, status=status, reason=reason, result=result, usage=budget.usage)
    if transcript_path is not None:
        redactor = transcript.Redactor(transcript.secret_values([os.environ.get(settings.api_key_env)]))
        data = {
            "role": assignment.role,
            "model": settings.model,
            "api_base": settings.api_base,
            "status": status,
            "reason": reason,
            "usage": budget.usage.model_dump(),
            "result": result,
            "prompt": assignment.prompt,
            "steps": steps,
        }
        outcome.transcript = str(transcript.save(transcript_path, data, redactor))
    return outcome
