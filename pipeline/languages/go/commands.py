"""How a Go service whose server is one command of a CLI (`app serve`) is started.

Servers built on cobra, urfave/cli and the like build their router in a command's callback,
which the interpreter runs as a root of its own (Interpreter.run_escaped). The run that
serves is the one that starts a server, and among those the one with the most routes; when
it is a subcommand's callback, the binary is started with the subcommand's name, read from
the chain of library values it hangs under (`root.AddCommand(serve)`, `Commands: [...]`).
"""

from __future__ import annotations

from pipeline.languages.go.interpreter import Interpreter
from pipeline.languages.go.values import Escape, Listen, Obj

#: Fields that name a command: cobra's `Use` ("serve [flags]"), urfave/cli's `Name`.
NAME_FIELDS = ("Use", "Name")


def serving_command(it: Interpreter) -> tuple[list[str], list[Listen]]:
    """The arguments that select the run that serves ([] when it is `main`'s, or its command
    cannot be named) and the servers that run starts."""
    runs: list[tuple[int, list[Listen], Escape | None]] = [(it.main_found[0], it.listens[: it.main_found[1]], None)]
    runs += [(e.routes, e.listens, e) for e in it.escapes if e.routes is not None]
    # max keeps the first of equals: main, then the roots in the order they ran.
    routes, listens, best = max(runs, key=lambda run: (bool(run[1]), run[0]))
    if best is None or not (routes or listens):
        return [], listens
    paths = [path for path in map(command_path, best.holders) if path is not None]
    return min(paths, key=len, default=[]), listens


def command_path(command: Obj) -> list[str] | None:
    """The names of a command and of the commands above it, the top one (the program) left
    out; None when one of them has no name."""
    words: list[str] = []
    seen: set[int] = set()
    current = command
    while current.owner is not None and id(current) not in seen:
        seen.add(id(current))
        name = next((v for v in (current.fields.get(f) for f in NAME_FIELDS) if isinstance(v, str)), "")
        if not name.split():
            return None
        words.append(name.split()[0])
        current = current.owner
    return words[::-1]
