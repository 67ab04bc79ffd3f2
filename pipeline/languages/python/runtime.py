"""Runtime hints of a Python service: the environment variables it needs, the port it asks for.

Flask, FastAPI and Django build their RuntimeHints from these (the variables get safe
dummy values, never real ones). They are environment reads over whole files, not routes,
and need no project model, so they live apart from discovery proper and build only on
syntax.py.
"""

from __future__ import annotations

from collections.abc import Iterable

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.python.syntax import call_args, string_value

Node = tree_sitter.Node


# --------------------------------------------------------------------------- environment


_OPTIONAL_ENV = {"PORT", "HOST", "DEBUG", "PYTHONPATH", "PYTHONUNBUFFERED", "TZ", "HOME", "PATH", "LANG"}


def _in_test_position(node: Node) -> bool:
    """Used only to decide something (if/ternary/or/comparison): the code copes without it."""
    child = node
    for parent in ts.ancestors(node):
        if parent.type in ("if_statement", "elif_clause", "while_statement", "conditional_expression"):
            condition = parent.child_by_field_name("condition")
            if condition is not None and condition.start_byte <= child.start_byte < condition.end_byte:
                return True
        if parent.type in ("boolean_operator", "not_operator", "comparison_operator"):
            return True
        if parent.type in (
            "expression_statement",
            "assignment",
            "return_statement",
            "function_definition",
            "block",
        ):
            return False
        child = parent
    return False


def required_env(files: Iterable[ts.SourceFile]) -> dict[str, str]:
    """Environment variables the code needs, with safe dummy values (never real ones)."""
    out: dict[str, str] = {}
    for sf in files:
        for node in ts.walk(sf.root):
            name: str | None = None
            if node.type == "subscript" and ts.text(node.child_by_field_name("value")).endswith("environ"):
                name = string_value(node.child_by_field_name("subscript"))
            elif node.type == "call":
                fn = ts.text(node.child_by_field_name("function"))
                if fn in ("os.getenv", "getenv", "os.environ.get", "environ.get"):
                    positional, keywords = call_args(node)
                    if len(positional) == 1 and "default" not in keywords and not _in_test_position(node):
                        name = string_value(positional[0])
            if not name or name in _OPTIONAL_ENV or name.startswith(("FLASK_", "PYTHON")):
                continue
            parent = node.parent
            numeric = (
                parent is not None
                and parent.type == "argument_list"
                and parent.parent is not None
                and ts.text(parent.parent.child_by_field_name("function")) in ("int", "float")
            )
            out.setdefault(name, "1" if numeric else f"dummy-{name}")
    return dict(sorted(out.items()))


def literal_port(files: Iterable[ts.SourceFile], call_names: tuple[str, ...]) -> int | None:
    """A port the code itself asks for, e.g. `app.run(port=5001)` or `uvicorn.run(app, port=...)`."""
    for sf in files:
        for node in ts.find_all(sf.root, "call"):
            fn = ts.text(node.child_by_field_name("function"))
            if not fn.endswith(call_names):
                continue
            _, keywords = call_args(node)
            port = keywords.get("port")
            if port is None:
                continue
            for sub in ts.walk(port):
                if sub.type == "integer":
                    value = int(ts.text(sub))
                    if 0 < value < 65536:
                        return value
    return None
