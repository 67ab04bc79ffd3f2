"""The values the Go route interpreter computes with, the scopes that hold them, and stdlib calls.

Routers, functions and closures, struct values, package references, environment reads and
partial strings, `StripPrefix` wrappers, mounts (`Edge`), recorded routes and `Listen`
calls, the lexical `Env`, the call `Frame` and the evaluation `Ctx`, plus what the few
standard-library calls that matter for addresses (`os.Getenv`, `flag`, `fmt.Sprintf`, ...)
evaluate to. They are plain data and pure functions of it: route reading and runtime
hints read them without running anything, and interpreter.py is what creates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.languages import treesitter as ts
from pipeline.languages.go.project import GoFile
from pipeline.languages.go.syntax import Node, arguments


class Router:
    """A router object (gin engine or group, echo instance or group, chi mux, ServeMux)."""

    def __init__(self, kind: str, label: str) -> None:
        self.kind = kind
        self.label = label

    def __repr__(self) -> str:
        return f"Router({self.kind}, {self.label})"


@dataclass(eq=False)
class FuncVal:
    node: Node
    file: GoFile
    #: the defining scope of a closure
    env: Env | None = None
    receiver: object = None
    #: the variable a package-level `var h = func(...)` is bound to
    name: str | None = None


@dataclass(eq=False)
class Obj:
    """A struct value: its type ((package folder or import path), name) and known fields."""

    type: tuple[str, str] | None
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PkgRef:
    path: str
    #: package folder when the import belongs to the module
    internal: str | None


@dataclass(frozen=True)
class EnvVar:
    name: str


@dataclass(frozen=True)
class Partial:
    """A string built from known text and environment variables (`":" + os.Getenv("PORT")`)."""

    parts: tuple[object, ...]


@dataclass(frozen=True)
class Strip:
    """`http.StripPrefix(prefix, handler)`."""

    prefix: str
    inner: object


@dataclass
class Edge:
    parent: Router
    prefix: str
    child: Router


@dataclass
class RawRoute:
    router: Router
    method: str
    path: str
    value: object
    node: Node | None
    file: GoFile


#: What `http.ListenAndServe(addr, nil)` serves.
DEFAULT_MUX = "http.DefaultServeMux"


@dataclass
class Listen:
    value: object
    #: the port the framework uses when the address is empty (gin's `r.Run()`)
    default: int | None = None
    #: the handler served: a Router or function, DEFAULT_MUX, or None when unknown
    serves: object = None


class Env:
    def __init__(self, parent: Env | None = None) -> None:
        self.vars: dict[str, object] = {}
        self.parent = parent

    def lookup(self, name: str) -> tuple[bool, object]:
        env: Env | None = self
        while env is not None:
            found, value = env.own(name)
            if found:
                return True, value
            env = env.parent
        return False, None

    def own(self, name: str) -> tuple[bool, object]:
        if name in self.vars:
            return True, self.vars[name]
        return False, None

    def assign(self, name: str, value: object) -> None:
        env: Env | None = self
        while env is not None:
            if env.own(name)[0]:
                env.vars[name] = value
                return
            env = env.parent
        self.vars[name] = value


@dataclass
class Frame:
    returns: list[list[object]] = field(default_factory=list)

    def best(self) -> object:
        """The most informative return: a function returns a router on one path, nil on another."""
        best: list[object] | None = None
        best_score = -1
        for values in self.returns:
            score = sum(1 for v in values if _known(v))
            if score > best_score:
                best, best_score = values, score
        if best is None:
            return None
        return best[0] if len(best) == 1 else tuple(best)


def _known(value: object) -> bool:
    return value is not None and not isinstance(value, (EnvVar, Partial))


@dataclass
class Ctx:
    file: GoFile
    env: Env
    frame: Frame


UNHANDLED = object()


def concat(values: list[object]) -> object:
    """`a + b` over known text, environment variables and partial strings."""
    parts: list[object] = []
    for value in values:
        if isinstance(value, (str, EnvVar)):
            parts.append(value)
        elif isinstance(value, Partial):
            parts.extend(value.parts)
        else:
            return None
    if all(isinstance(p, str) for p in parts):
        return "".join(str(p) for p in parts)
    return Partial(tuple(parts))


def _stdlib_call(path: str, name: str, node: Node, args: list[object], ctx: Ctx) -> object:
    """The few standard-library calls that matter for addresses and ports."""
    if path == "os" and name == "Getenv" and args and isinstance(args[0], str):
        return EnvVar(args[0])
    if path == "os" and name == "LookupEnv" and args and isinstance(args[0], str):
        return (EnvVar(args[0]), None)
    if path == "flag" and name in ("String", "Int", "Uint") and len(args) >= 2:
        return args[1]
    if path == "flag" and name in ("StringVar", "IntVar") and len(args) >= 3:
        target = arguments(node)[0]
        if target.type == "unary_expression":
            operand = target.child_by_field_name("operand")
            if operand is not None and operand.type == "identifier":
                ctx.env.assign(ts.text(operand), args[2])
        return None
    if path == "strconv" and name == "Itoa" and args and isinstance(args[0], int):
        return str(args[0])
    if path == "cmp" and name == "Or":
        return next((a for a in args if isinstance(a, str) and a), None)
    if path == "fmt" and name == "Sprintf" and args and isinstance(args[0], str):
        pieces = re.split(r"(%[-+# 0-9.]*[a-zA-Z%])", args[0])
        out: list[object] = []
        rest = list(args[1:])
        for piece in pieces:
            if piece.startswith("%") and piece != "%%":
                value = rest.pop(0) if rest else None
                out.append(str(value) if isinstance(value, int) else value)
            else:
                out.append(piece.replace("%%", "%"))
        return concat(out)
    wrapped = [a for a in args if isinstance(a, (FuncVal, Router))]
    return wrapped[0] if len(wrapped) == 1 else None
