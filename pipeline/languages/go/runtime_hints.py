"""Runtime hints for a Go service: the port it listens on and the environment variables it reads.

The address the interpreter saw handed to `ListenAndServe` / `r.Run` / `e.Start` gives the
port, or the variable that names it; `os.Getenv` / `os.LookupEnv` calls, and
`getEnv(key, fallback)`-style helpers of the module, give the variables the container must
set, and whether the code falls back to a default when one is unset. These are
environment reads, not routes, so they live apart from route reading and masking.
"""

from __future__ import annotations

import re

from pipeline.languages import treesitter as ts
from pipeline.languages.go.project import GoProject
from pipeline.languages.go.syntax import FUNCTION_TYPES, Node, arguments, function_name, parameters, string_value
from pipeline.languages.go.values import EnvVar, Partial


def port_of(value: object) -> int | None:
    if isinstance(value, int):
        return value if 0 < value < 65536 else None
    if isinstance(value, str):
        digits = value.rsplit(":", 1)[-1]
        return int(digits) if digits.isdigit() and 0 < int(digits) < 65536 else None
    return None


def _env_names(value: object) -> list[str]:
    if isinstance(value, EnvVar):
        return [value.name]
    if isinstance(value, Partial):
        return [p.name for p in value.parts if isinstance(p, EnvVar)]
    return []


def _env_fallback(call: Node) -> bool:
    """True when the code gives the variable read by `call` a default (or only tests it)."""
    parent = call.parent
    if parent is None:
        return False
    if parent.type == "binary_expression":
        return True  # if os.Getenv("DEBUG") == "true"
    if parent.type == "argument_list" and any(string_value(a) is not None for a in parent.named_children if a != call):
        return True  # cmp.Or(os.Getenv("PORT"), "8080")
    holder = parent.parent if parent.type == "expression_list" else None
    if holder is None or holder.type not in ("short_var_declaration", "assignment_statement", "var_spec"):
        return False
    left = holder.child_by_field_name("left") or holder
    names = [ts.text(n) for n in (left.named_children if left != holder else holder.children_by_field_name("name"))]
    scope = next((a for a in ts.ancestors(holder) if a.type in FUNCTION_TYPES), None) or holder.parent
    if scope is None:
        return False
    for node in ts.find_all(scope, "if_statement"):
        condition = ts.text(node.child_by_field_name("condition"))
        if not any(re.search(rf"\b{re.escape(n)}\b", condition) for n in names if n != "_"):
            continue
        consequence = node.child_by_field_name("consequence")
        for assign in ts.find_all(consequence, "assignment_statement") if consequence is not None else []:
            targets = assign.child_by_field_name("left")
            if targets is not None and any(ts.text(t) in names for t in targets.named_children):
                return True
    return False


def env_reads(project: GoProject) -> dict[str, bool]:
    """Environment variables the code reads -> True when it falls back to a default."""
    out: dict[str, bool] = {}
    helpers: dict[str, int] = {}  # getEnv(key, fallback) style helpers -> their parameter count
    for gf in project.files():
        env_alias = {name for name, path in gf.imports.items() if path == "os"}
        if not env_alias or b"env" not in gf.sf.source:
            continue  # walking every call of every file is the slow part: read only likely files
        for call in ts.find_all(gf.root, "call_expression"):
            fn = call.child_by_field_name("function")
            if fn is None or fn.type != "selector_expression":
                continue
            if ts.text(fn.child_by_field_name("operand")) not in env_alias:
                continue
            if ts.text(fn.child_by_field_name("field")) not in ("Getenv", "LookupEnv"):
                continue
            args = arguments(call)
            name = string_value(args[0]) if args else None
            if name is not None:
                # LookupEnv exists to tell "unset" apart: its callers handle the unset case.
                optional = ts.text(fn.child_by_field_name("field")) == "LookupEnv" or _env_fallback(call)
                out[name] = out.get(name, True) and optional
            elif args and args[0].type == "identifier":
                decl = next((a for a in ts.ancestors(call) if a.type == "function_declaration"), None)
                if decl is not None and ts.text(args[0]) in [n for n, _ in parameters(decl)]:
                    helpers[function_name(decl)] = len(parameters(decl))
    for gf in project.files() if helpers else []:
        if not any(name.encode() in gf.sf.source for name in helpers):
            continue
        for call in ts.find_all(gf.root, "call_expression"):
            fn = call.child_by_field_name("function")
            if fn is not None and fn.type == "selector_expression":
                fn = fn.child_by_field_name("field")
            if ts.text(fn) in helpers:
                args = arguments(call)
                key = string_value(args[0]) if args else None
                if key is not None:
                    out[key] = out.get(key, True) and len(args) > 1
    return dict(sorted(out.items()))
