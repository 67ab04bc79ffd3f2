"""The values the Go route interpreter computes with, the scopes that hold them, and stdlib calls.

Routers, functions and closures, struct values, package references, environment reads and
partial strings, `StripPrefix` wrappers, mounts (`Edge`), recorded routes and `Listen`
calls, functions handed to library code (`Escape`), the lexical `Env`, the call `Frame` and
the evaluation `Ctx`, plus what the few standard-library calls that matter for addresses
(`os.Getenv`, `flag`, `fmt.Sprintf`, ...) and command-line flags of other libraries
(`flag_call`) evaluate to. They are plain data and pure functions of it: route reading and runtime
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
    #: the value of a library type this one was attached to: a CLI subcommand's parent
    #: command (`root.AddCommand(serve)`, `Commands: []*cli.Command{serve}`)
    owner: Obj | None = field(default=None, repr=False)


@dataclass(eq=False)
class Escape:
    """A function handed to code the interpreter does not run (a CLI command's `Run`, a
    callback given to a library), which may therefore run as a root of its own."""

    fn: FuncVal
    #: the values of library types it was stored in (`&cobra.Command{Run: ...}`)
    holders: list[Obj] = field(default_factory=list)
    #: how many routes its run as a root recorded; None when it was not run as one
    routes: int | None = None
    #: the servers its run started
    listens: list[Listen] = field(default_factory=list)


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


def _store(pointer: Node, value: object, ctx: Ctx) -> None:
    """`value` into the variable `&name` points at."""
    if pointer.type == "unary_expression":
        operand = pointer.child_by_field_name("operand")
        if operand is not None and operand.type == "identifier":
            ctx.env.assign(ts.text(operand), value)


#: Flag definers of pflag and flag.FlagSet: `String(name, value, usage)`, `StringP(name,
#: short, value, usage)`, `StringVar(&v, name, value, usage)`, `StringVarP(&v, name, short, value, usage)`.
_FLAG_DEFINER = re.compile(r"(?:String|Int|Int64|Uint|Bool|Duration|Float64)(Var)?(P)?")


def flag_call(defaults: dict[str, object], method: str, node: Node, args: list[object], ctx: Ctx) -> object:
    """A command-line flag defined or read through a value the interpreter does not follow;
    as with the `flag` package's (_stdlib_call), its default stands for its value. A definer
    (cobra's `cmd.Flags().StringVarP(&port, "port", "p", "8080", usage)`) records it in
    `defaults`, a read by name (urfave/cli's `cmd.String("port")`) gives it back. UNHANDLED
    when the call is neither."""
    if len(args) == 1 and isinstance(args[0], str) and args[0] in defaults:
        return defaults[args[0]]
    match = _FLAG_DEFINER.fullmatch(method)
    if match is None:
        return UNHANDLED
    at = 1 if match.group(1) else 0
    value_at = at + (2 if match.group(2) else 1)
    if len(args) < value_at + 2 or not isinstance(args[at], str):  # a usage text follows the value
        return UNHANDLED
    defaults.setdefault(args[at], args[value_at])
    if match.group(1):
        _store(arguments(node)[0], args[value_at], ctx)
        return None
    return args[value_at]


def _stdlib_call(path: str, name: str, node: Node, args: list[object], ctx: Ctx) -> object:
    """The few standard-library calls that matter for addresses and ports."""
    if path == "os" and name == "Getenv" and args and isinstance(args[0], str):
        return EnvVar(args[0])
    if path == "os" and name == "LookupEnv" and args and isinstance(args[0], str):
        return (EnvVar(args[0]), None)
    if path == "flag" and name in ("String", "Int", "Uint") and len(args) >= 2:
        return args[1]
    if path == "flag" and name in ("StringVar", "IntVar") and len(args) >= 3:
        _store(arguments(node)[0], args[2], ctx)
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
