"""`GoFramework`: detect, discover, runtime_hints, mask_body and stand_in_body for gin, echo, chi, net/http.

It picks the service's `main` package (one whose run registers routes, preferring shallow
folders over examples and tools, and one that starts an HTTP server), runs the interpreter
on it and hands the result to routes.py, runtime_hints.py, commands.py and masking.py. The
framework modules only add their `Dialect`, their `Responder` and which go.mod requirements
claim a module. It is the top layer of the folder: it imports every other Go module and
none of them imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pipeline.languages.config_samples import listen_value, shipped_config
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate
from pipeline.languages.go.commands import serving_command
from pipeline.languages.go.interpreter import Dialect, Interpreter
from pipeline.languages.go.masking import Responder, blank_unused_imports, mask_handler
from pipeline.languages.go.project import GoMod, GoPackage, GoProject, find_go_mods, load_go_mod
from pipeline.languages.go.request_query import QUERY_READERS
from pipeline.languages.go.routes import endpoints_of
from pipeline.languages.go.runtime_hints import _env_names, config_argument, config_keys, env_reads, port_of
from pipeline.models import CannedAnswer, Endpoint, Handler

#: Folders whose `main` packages are examples or tools rather than the service.
_SIDE_DIRS = frozenset({"example", "examples", "_examples", "tools", "scripts", "test", "tests", "hack"})
#: The binary the Dockerfile builds with `go build -o /app/server <entrypoint>`.
BINARY = "/app/server"


def _entry(pkg: GoPackage) -> str:
    return "./" + pkg.dir if pkg.dir else "."


class GoFramework(Framework):
    """detect / discover / runtime_hints / mask_body shared by the Go frameworks."""

    language = "go"
    responder: ClassVar[Responder]
    echoes = True
    query_readers = QUERY_READERS

    def finish_masked_file(self, rel: str, original: bytes, masked: bytes) -> bytes:
        # Go refuses to compile an import the masked bodies no longer use.
        return blank_unused_imports(original, masked) if rel.endswith(".go") else masked

    def dialects(self) -> list[Dialect]:
        raise NotImplementedError

    def claims(self, mod: GoMod) -> bool:
        """Whether the module's manifest makes it this framework's (before looking at code)."""
        raise NotImplementedError

    #: net/http claims a module only when its code registers routes
    needs_routes: ClassVar[bool] = False

    # ------------------------------------------------------------------ analysis

    def _analyse(self, project: GoProject, pkg: GoPackage) -> Interpreter:
        it = Interpreter(project, self.dialects())
        it.run_main(pkg)
        return it

    def _best_main(self, project: GoProject) -> tuple[GoPackage, Interpreter] | None:
        ranked = []
        for pkg in project.main_packages():
            it = self._analyse(project, pkg)
            side = any(part in _SIDE_DIRS for part in pkg.dir.split("/"))
            # A main that starts an HTTP server beats one that hands its router to something
            # else (a serverless adapter's `algnhsa.ListenAndServe(mux, ...)`).
            depth = pkg.dir.count("/") if pkg.dir else -1
            ranked.append(((not it.routes, side, not it.listens, depth, -len(it.routes), pkg.dir), pkg, it))
        if not ranked:
            return None
        _, pkg, it = min(ranked, key=lambda r: r[0])
        return pkg, it

    def _service_main(self, project: GoProject, service: ServiceCandidate) -> tuple[GoPackage, Interpreter] | None:
        if service.entrypoint:
            pkg = project.packages.get(service.entrypoint.removeprefix(".").removeprefix("/"))
            if pkg is not None and pkg.is_main:
                return pkg, self._analyse(project, pkg)
        return self._best_main(project)

    def _project(self, repo_root: Path, service: ServiceCandidate) -> GoProject:
        return GoProject(repo_root.resolve(), load_go_mod(service.root.resolve()))

    # ------------------------------------------------------------------ Framework

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        out = []
        for mod in find_go_mods(repo_root):
            if not self.claims(mod):
                continue
            project = GoProject(repo_root, mod)
            best = self._best_main(project)
            if best is None:
                continue  # a library, not a service
            pkg, it = best
            if self.needs_routes and not endpoints_of(it):
                continue
            out.append(ServiceCandidate(root=mod.root, entrypoint=_entry(pkg)))
        return sorted(out, key=lambda c: c.root)

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        project = self._project(repo_root, service)
        found = self._service_main(project, service)
        return endpoints_of(found[1]) if found is not None else []

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        project = self._project(repo_root, service)
        found = self._service_main(project, service)
        # A server that is one command of a CLI (`app serve`) is started as that command, and
        # listens where that command's server does.
        args, served = serving_command(found[1]) if found is not None else ([], [])
        listens = [*served, *(found[1].listens if found is not None else [])]
        port = None
        names: list[str] = []
        for listen in listens:
            port = port_of(listen.value)
            names = _env_names(listen.value)
            if port is None and listen.value is None and listen.default is not None:
                port, names = listen.default, ["PORT"]
            if port is not None or names:
                break
        config_args, config_port = self._config_file(project, found[0].dir) if found is not None else ([], None)
        args += config_args
        port = port or config_port or self.dialects()[0].default_port
        env: dict[str, str] = {}
        for name, has_default in env_reads(project).items():
            if name == "PORT" or name in names:
                env[name] = f":{port}" if "ADDR" in name.upper() else str(port)
            elif not has_default:
                env[name] = f"dummy-{name}"
        for name in names:
            env.setdefault(name, f":{port}" if "ADDR" in name.upper() else str(port))
        return RuntimeHints(start_command=[BINARY, *args], port=port, env=dict(sorted(env.items())))

    def _config_file(self, project: GoProject, main_dir: str) -> tuple[list[str], int | None]:
        """The arguments that hand the service the configuration file the repository ships,
        and the port that file sets; ([], None) when it reads none or the repository has none
        that fits (or its flag's default path is one the repository has)."""
        argument = config_argument(project, main_dir)
        if argument is None or (argument.default and (project.root / argument.default).is_file()):
            return [], None
        program = project.mod.module.rstrip("/").rsplit("/", 1)[-1]
        sample = shipped_config(project.root, config_keys(project), program=program)
        if sample is None:
            return [], None
        args = [argument.flag, sample.path] if argument.flag else [sample.path]
        return args, port_of(listen_value(sample))

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return mask_handler(source, handler, self.responder)

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        return mask_handler(source, handler, self.responder.answering(answer))
