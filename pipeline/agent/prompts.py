"""The roles' prompts: Jinja templates in the project's prompts/ folder, strict like the
pipeline's own templates (a value nobody passed is an error, not an empty string)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.templates import strict_environment

# Installed from a wheel the prompts sit inside the package; in a checkout, at the top.
_PACKAGED = Path(__file__).resolve().parents[1] / "prompts"
PROMPT_DIR = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "prompts"

_env = strict_environment(PROMPT_DIR)


def render(name: str, **values: Any) -> str:
    return _env.get_template(name).render(**values)
