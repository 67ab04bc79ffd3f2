"""Runtime hints for a Go service: the port it listens on, the environment variables it reads,
and the configuration file its command line names.

The address the interpreter saw handed to `ListenAndServe` / `r.Run` / `e.Start` gives the
port, or the variable that names it; `os.Getenv` / `os.LookupEnv` calls, and
`getEnv(key, fallback)`-style helpers of the module, give the variables the container must
set, and whether the code falls back to a default when one is unset. A main that reads a
configuration file's path from its command line (`config.New(flag.Arg(0))`, a `-config`
flag) is handed the one the repository ships (languages/config_samples.py). These are
environment reads, not routes, so they live apart from route reading and masking.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

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
    owner = holder.parent
    if owner is not None and owner.type == "if_statement" and owner.child_by_field_name("initializer") == holder:
        # if dir := os.Getenv("X"); dir != "" { return dir }: only used when set
        condition = ts.text(owner.child_by_field_name("condition"))
        if any(re.search(rf"\b{re.escape(n)}\b", condition) for n in names if n != "_"):
            return True
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


# --------------------------------------------------------------------------- configuration file

#: Flag names that name the configuration file (`-config`, `--config-file`, `-c`).
_CONFIG_FLAG = re.compile(r"^(?:c|cfg|conf|config|config[-_.]?(?:file|path))$", re.IGNORECASE)
#: A call or variable that loads configuration (`config.New(flag.Arg(0))`, `cfgPath := os.Args[1]`).
_CONFIG_WORD = re.compile(r"conf|cfg|setting", re.IGNORECASE)
#: flag/pflag definers of a string flag -> (index of the name argument, index of the default)
_STRING_FLAGS = {"String": (0, 1), "StringVar": (1, 2), "StringP": (0, 2), "StringVarP": (1, 3)}
#: Struct tags whose names a configuration file's keys are (`yaml:"secret_key"`).
_TAG = re.compile(rb'\b(?:yaml|toml|json|mapstructure|koanf):"([\w.\-]+)')
#: An exported struct field (`SecretKey string`): yaml.v2 and others key it by its lowered name.
_FIELD = re.compile(rb"^\s+([A-Z]\w*)\s+[\[\]*\w.]+", re.MULTILINE)


class ConfigArgument(BaseModel):
    """How the service's main is handed a configuration file's path."""

    flag: str | None = Field(default=None, description="the flag that takes it (`-config`), None: the first argument")
    default: str | None = Field(default=None, description="the flag's default path, when it has one")


def _loads_config(node: Node) -> bool:
    """Whether the value at `node` goes to a configuration loader, or into a config-named variable."""
    parent = node.parent
    if parent is not None and parent.type == "argument_list" and parent.parent is not None:
        return bool(_CONFIG_WORD.search(ts.text(parent.parent.child_by_field_name("function"))))
    holder = parent.parent if parent is not None and parent.type == "expression_list" else None
    if holder is not None and holder.type in ("short_var_declaration", "assignment_statement"):
        return bool(_CONFIG_WORD.search(ts.text(holder.child_by_field_name("left"))))
    return False


def config_argument(project: GoProject, main_dir: str) -> ConfigArgument | None:
    """The configuration-file argument of the main package at `main_dir` (and the module's
    packages it imports, where a cobra command may define its flags): a config flag, or the
    first positional argument passed to a configuration loader. None when it reads no file
    path from its command line."""
    for pkg_dir in reversed(project.imported_dirs(main_dir)):
        for gf in project.packages[pkg_dir].files:
            if b"flag" not in gf.sf.source and b"os.Args" not in gf.sf.source:
                continue
            for node in ts.find_all(gf.root, "call_expression", "index_expression"):
                text = ts.text(node)
                if text in ("flag.Arg(0)", "os.Args[1]") and _loads_config(node):
                    return ConfigArgument()
                fn = node.child_by_field_name("function")
                if fn is None or fn.type != "selector_expression":
                    continue
                positions = _STRING_FLAGS.get(ts.text(fn.child_by_field_name("field")))
                args = arguments(node)
                if positions is None or len(args) <= positions[1]:
                    continue
                name = string_value(args[positions[0]])
                if name is None or not _CONFIG_FLAG.match(name):
                    continue
                # The standard library's flag package takes `-name`; pflag (cobra) wants `--name`.
                dash = "-" if ts.text(fn.child_by_field_name("operand")) == "flag" else "--"
                return ConfigArgument(flag=dash + name, default=string_value(args[positions[1]]) or None)
    return None


def config_keys(project: GoProject) -> set[str]:
    """The names a configuration file of the module may use as keys: its struct tags, and its
    exported fields' lowered names."""
    keys: set[str] = set()
    for gf in project.files():
        keys.update(m.decode().lower() for m in _TAG.findall(gf.sf.source))
        keys.update(m.decode().lower() for m in _FIELD.findall(gf.sf.source))
    return keys
