"""Budgets of one agent run: steps (model calls), tokens, dollars and wall time."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from pipeline.config import LlmSettings


class Usage(BaseModel):
    """What one agent run (or a sum of runs) consumed."""

    calls: int = Field(default=0, description="model calls that answered")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = Field(default=0.0, description="dollars: litellm's price when known, else the settings' per-1k price")
    seconds: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost = round(self.cost + other.cost, 6)
        self.seconds = round(self.seconds + other.seconds, 3)


class Budget:
    """Checked before every model call: the run stops at the first limit reached."""

    def __init__(self, settings: LlmSettings) -> None:
        self.settings = settings
        self.usage = Usage()
        self.started = time.monotonic()

    def record(self, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        self.usage.calls += 1
        self.usage.prompt_tokens += prompt_tokens
        self.usage.completion_tokens += completion_tokens
        self.usage.cost = round(self.usage.cost + cost, 6)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def exhausted(self) -> str | None:
        """Why the run must stop now, or None."""
        s, u = self.settings, self.usage
        self.usage.seconds = round(self.elapsed(), 3)
        if u.calls >= s.max_steps:
            return f"step budget exhausted ({u.calls} of {s.max_steps} model calls)"
        if u.tokens >= s.max_tokens:
            return f"token budget exhausted ({u.tokens} of {s.max_tokens} tokens)"
        if u.cost >= s.max_dollars > 0 or (s.max_dollars == 0 and u.cost > 0):
            return f"dollar budget exhausted (${u.cost:.4f} of ${s.max_dollars:.2f})"
        if self.elapsed() >= s.max_seconds:
            return f"time budget exhausted ({self.elapsed():.0f} of {s.max_seconds:.0f} s)"
        return None

    def fallback_cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        s = self.settings
        return prompt_tokens / 1000 * s.input_cost_per_1k + completion_tokens / 1000 * s.output_cost_per_1k
