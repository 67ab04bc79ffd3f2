"""How a Python handler reads a query parameter.

Flask's `request.args.get("page", 1, type=int)` / `request.args["q"]`, Django's
`request.GET.get("q")`, DRF's `request.query_params.get("q")`: a default (a second
argument or `default=`) makes it optional, `type=int` or an `int(...)` around the read a
number. FastAPI declares them in the signature instead (`query_fields` below).
"""

from __future__ import annotations

import re

from tree_sitter import Node

from pipeline.languages import treesitter as ts
from pipeline.languages.python.handlers import annotation_type
from pipeline.languages.query_params import reader
from pipeline.models import BodyField

_MAPPING = r"\b(?:self\.)?request\.(?:args|values|GET|query_params)"
_NUMBER = r"(?P<number>\b(?:int|float)\(\s*)?"

QUERY_READERS = (
    # request.args.get("page", 1, type=int), int(request.GET.get("page", "1"))
    reader(
        _NUMBER
        + _MAPPING
        + r"\.get\(\s*(?P<q>['\"])(?P<name>[^'\"]+)(?P=q)\s*"
        + r"(?P<default>,\s*(?!type\s*=)[^,)\s][^,)]*)?(?:[^)]*\btype\s*=\s*(?P<number2>int|float))?"
    ),
    # request.args["q"]
    reader(_NUMBER + _MAPPING + r"\[\s*(?P<q>['\"])(?P<name>[^'\"]+)(?P=q)\s*\]"),
)

#: FastAPI parameter types it fills itself, never from the query string
_INJECTED = {"Request", "Response", "BackgroundTasks", "WebSocket", "HTTPConnection", "Session", "AsyncSession"}
#: markers that bind a parameter from elsewhere (`Depends()`, `Body()`, `Header()`, ...)
_OTHER_SOURCES = ("Depends", "Security", "Body", "Header", "Cookie", "Path", "File", "Form")
_SCALARS = {"str", "int", "float", "bool"}


def query_fields(func: Node, path_params: set[str]) -> list[BodyField]:
    """The query parameters of a FastAPI handler: its scalar parameters that are not path
    parameters and not bound elsewhere, required when they have no default (or
    `Query(...)`)."""
    params = func.child_by_field_name("parameters")
    out: list[BodyField] = []
    for param in params.named_children if params is not None else []:
        if param.type not in ("typed_parameter", "typed_default_parameter", "default_parameter", "identifier"):
            continue
        name_node = param.child_by_field_name("name") or (param.named_children[0] if param.named_children else None)
        name = ts.text(name_node) if param.type != "identifier" else ts.text(param)
        if not name or name in path_params or name in ("self", "cls"):
            continue
        annotation = param.child_by_field_name("type")
        default = param.child_by_field_name("value")
        source = ts.text(annotation) + " " + ts.text(default)
        if any(f"{marker}(" in source for marker in _OTHER_SOURCES):
            continue
        if annotation is not None and ts.text(annotation).split("[")[0].split(".")[-1] in _INJECTED:
            continue
        kind, optional = annotation_type(annotation) if annotation is not None else ("any", False)
        alias = None
        if "Query(" in source:
            alias = _alias(source)
        elif annotation is not None and kind not in _SCALARS:
            continue  # a model or a list without Query(): the body, or not a plain parameter
        has_default = default is not None and not _query_required(ts.text(default))
        out.append(BodyField(name=alias or name, type=kind, required=not (optional or has_default)))
    return out


def _query_required(default: str) -> bool:
    """`Query(...)` / `Query()` / `Query(default=...)` without a value: required."""
    if not default.startswith("Query("):
        return False
    inner = default[len("Query(") :].strip()
    return inner.startswith(("...", ")", "alias", "min_length", "max_length", "regex", "pattern", "description"))


def _alias(source: str) -> str | None:
    found = re.search(r"\balias\s*=\s*['\"]([^'\"]+)['\"]", source)
    return found.group(1) if found else None
