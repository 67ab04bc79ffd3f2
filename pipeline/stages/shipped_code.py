"""Code that runs twice: in the pipeline while it records a group, and in the task's tests.

A module of such code (stages/sign_in_client.py, stages/upload_client.py,
stages/collection_client.py) marks the part a task carries; the recording imports the module,
and the task's test files get that part's source, so a shipped test does exactly what the
recording did. The part needs only the standard library and requests.
"""

from __future__ import annotations

from pathlib import Path

START = "# --- shipped with the tests from here ---\n"
END = "\n\n# --- end of the shipped part ---"


def part(module_file: str) -> str:
    """The source between a module's markers (to its end when it has no end marker)."""
    text = Path(module_file).read_text().split(START, 1)[1]
    return text.split(END, 1)[0]


def imports_and_body(module_file: str) -> tuple[list[str], str]:
    """The shipped part as its import lines (to go with the test file's own) and the rest."""
    lines = part(module_file).strip().splitlines()
    imports = [line for line in lines if line.startswith(("import ", "from "))]
    body = "\n".join(line for line in lines if line not in imports).strip()
    return imports, body + "\n"
