"""Text helpers the language modules share where no syntax tree is at hand."""

from __future__ import annotations


def split_top_level(text: str, opening: str = "([{", closing: str = ")]}") -> list[str]:
    """`text` split at the commas outside brackets: `a, f(1, 2), c` -> ["a", " f(1, 2)", " c"]
    (every part, an empty last one too)."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char in opening:
            depth += 1
        elif char in closing:
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts
