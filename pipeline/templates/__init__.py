"""Jinja templates for every file the pipeline writes from a pattern.

Strict undefined variables: a template that names a value nobody passed is a bug, not an
empty string in a shipped file.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).parent
# Each language's Dockerfile template lives in its folder: "<language>/Dockerfile.j2".
LANGUAGES_DIR = TEMPLATE_DIR.parent / "languages"


def strict_environment(*folders: Path) -> jinja2.Environment:
    """The one Jinja set-up for every template folder (these files, the LLM prompts)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(folders)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


_env = strict_environment(TEMPLATE_DIR, LANGUAGES_DIR)
# One word of a shell command, whatever it holds (run-tests.sh's docker arguments).
_env.filters["shell"] = shlex.quote


def render(name: str, **values: Any) -> str:
    return _env.get_template(name).render(**values)
