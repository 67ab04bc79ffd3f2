"""Go servers whose router is built in a CLI command's callback (cobra, urfave/cli, ...).

`main` only hands the callback to the CLI library, which the interpreter does not run, so
the functions that escape to code it does not run, and that nothing it runs calls, are run
as roots of their own; the service starts as the command that serves (`tiles serve`).
The fixtures (chi_cobra_tiles, gin_urfave_journal) are also compiled masked in test_masked_compiles.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import get_framework
from pipeline.languages.go.chi import ChiDialect
from pipeline.languages.go.framework import BINARY
from pipeline.languages.go.interpreter import Interpreter
from pipeline.languages.go.project import GoProject, parse_go_mod
from pipeline.languages.go.syntax import function_name

FIXTURES = ds.FIXTURES
CASES = [("chi", "chi_cobra_tiles", "./cmd/tiles"), ("gin", "gin_urfave_journal", ".")]
GO_MOD = "module example.com/svc\n\ngo 1.21\n\nrequire (\n{}\n)\n"
COBRA = GO_MOD.format("\tgithub.com/go-chi/chi/v5 v5.0.12\n\tgithub.com/spf13/cobra v1.8.1")
URFAVE = GO_MOD.format("\tgithub.com/gin-gonic/gin v1.9.1\n\tgithub.com/urfave/cli/v2 v2.27.7")


def _write(root: Path, files: dict[str, str]) -> Path:
    """The snippets are written with four spaces; Go indents with tabs."""
    return ds.write_files(
        root, files, lambda text: re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text)
    )


def _start(name: str, root: Path) -> tuple[list[str], int]:
    framework = get_framework(name)
    hints = framework.runtime_hints(root, ds.service_of(framework, root))
    return hints.start_command, hints.port


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_only_its_own_framework_detects_the_fixture(name: str, fixture: str, entrypoint: str) -> None:
    # chi_cobra_tiles: cmd/cgi reaches the same routes from main, but hands its router to a CGI
    # adapter; cmd/tiles starts the HTTP server (in its `serve` command) and is the service.
    ds.assert_detects_only(name, FIXTURES / fixture, entrypoint)


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture)


def test_cobra_serve_command_routes_and_start_command() -> None:
    endpoints = ds.discover("chi", FIXTURES / "chi_cobra_tiles")
    assert ds.triples(endpoints) == {
        ("GET", "/health", "health"),
        ("GET", "/tiles/", "list"),
        ("POST", "/tiles/", "create"),
        ("GET", "/tiles/{z}/{x}/{y}", "get"),
        ("DELETE", "/tiles/{z}/{x}/{y}", "remove"),
    }
    assert {e.handler.file for e in endpoints} == {"internal/server/server.go"}
    # `Use: "serve [flags]"` added to the root command; the port is the flag's default
    # (`StringVarP(&port, "port", "p", "7070", ...)`).
    assert _start("chi", FIXTURES / "chi_cobra_tiles") == ([BINARY, "serve"], 7070)


def test_urfave_app_action_routes_and_start_command() -> None:
    endpoints = ds.discover("gin", FIXTURES / "gin_urfave_journal")
    assert ds.pairs(endpoints) == {
        ("GET", "/healthz"),
        ("GET", "/api/entries"),
        ("POST", "/api/entries"),
        ("GET", "/api/entries/:id"),
        ("PUT", "/api/entries/:id"),
        ("DELETE", "/api/entries/:id"),
    }
    # The app's own Action serves: no subcommand; `c.String("addr")` is the flag's `Value`.
    assert _start("gin", FIXTURES / "gin_urfave_journal") == ([BINARY], 4040)


# --------------------------------------------------------------------------- inline repositories


def test_nested_subcommand_is_started_by_its_path(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": COBRA,
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/go-chi/chi/v5"
                    "github.com/spf13/cobra"
                )

                func main() {
                    root := &cobra.Command{Use: "svc"}
                    api := &cobra.Command{Use: "api", Short: "the API"}
                    api.AddCommand(&cobra.Command{Use: "start --port N", RunE: start})
                    root.AddCommand(api, &cobra.Command{Use: "version", Run: func(*cobra.Command, []string) {}})
                    go http.ListenAndServe(":9100", nil) // metrics, before any command runs
                    root.Execute()
                }

                func start(cmd *cobra.Command, args []string) error {
                    r := chi.NewRouter()
                    r.Get("/items", items)
                    return http.ListenAndServe(":9000", r)
                }

                func items(w http.ResponseWriter, r *http.Request) {}
            """,
        },
    )
    assert ds.pairs(ds.discover("chi", tmp_path)) == {("GET", "/items")}
    # the port is the one the command's server listens on
    assert _start("chi", tmp_path) == ([BINARY, "api", "start"], 9000)


def test_urfave_subcommand_in_commands_field(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": URFAVE,
            "main.go": """
                package main

                import (
                    "os"

                    "github.com/gin-gonic/gin"
                    "github.com/urfave/cli/v2"
                )

                func main() {
                    app := cli.NewApp()
                    app.Name = "svc"
                    app.Commands = []*cli.Command{
                        {Name: "migrate", Action: func(c *cli.Context) error { return nil }},
                        {Name: "server", Aliases: []string{"s"}, Action: server},
                    }
                    app.Run(os.Args)
                }

                func server(c *cli.Context) error {
                    r := gin.Default()
                    r.GET("/ping", func(c *gin.Context) {})
                    return r.Run(":7000")
                }
            """,
        },
    )
    assert ds.pairs(ds.discover("gin", tmp_path)) == {("GET", "/ping")}
    # `cli.NewApp()` is not followed, but the commands it is given hang under nothing else.
    assert _start("gin", tmp_path) == ([BINARY, "server"], 7000)


def test_main_that_serves_keeps_the_plain_binary(tmp_path: Path) -> None:
    # A callback handed to a library call (kingpin style) is a root too; main serves more.
    _write(
        tmp_path,
        {
            "go.mod": COBRA,
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/go-chi/chi/v5"
                    "github.com/example/kp"
                )

                func main() {
                    app := kp.New("svc", "")
                    app.Command("debug", "debug routes").Action(debugRoutes)
                    r := chi.NewRouter()
                    r.Get("/a", handle)
                    r.Get("/b", handle)
                    http.ListenAndServe(":8000", r)
                }

                func debugRoutes(c *kp.ParseContext) error {
                    http.HandleFunc("/debug", handle)
                    return http.ListenAndServe(":8001", nil)
                }

                func handle(w http.ResponseWriter, r *http.Request) {}
            """,
        },
    )
    assert ds.pairs(ds.discover("chi", tmp_path)) == {("GET", "/a"), ("GET", "/b"), ("ANY", "/debug")}
    assert _start("chi", tmp_path) == ([BINARY], 8000)


def test_handlers_and_called_functions_are_not_roots(tmp_path: Path) -> None:
    # Each function here registers a `/leak-...` route only if it is (wrongly) run as a root.
    _write(
        tmp_path,
        {
            "go.mod": COBRA,
            "main.go": """
                package main

                import (
                    "context"
                    "net/http"

                    "github.com/go-chi/chi/v5"
                    "github.com/example/kit"
                    "github.com/spf13/cobra"
                )

                var mux = chi.NewRouter()

                func main() {
                    // a handler handed to a library wrapper, never routed
                    _ = kit.Trace(traced)
                    // a route whose handler an adapter calls with its own arguments
                    mux.Get("/items", kit.Adapt(listItems))
                    // a command's callback that main also calls itself
                    cmd := &cobra.Command{Use: "serve", Run: serve}
                    serve(cmd, nil)
                    cmd.Execute()
                }

                func serve(cmd *cobra.Command, args []string) {
                    http.ListenAndServe(":8080", mux)
                }

                func traced(w http.ResponseWriter, r *http.Request) {
                    mux.Get("/leak-traced", ok)
                }

                func listItems(ctx context.Context) ([]string, error) {
                    mux.Get("/leak-items", ok)
                    return nil, nil
                }

                func ok(w http.ResponseWriter, r *http.Request) {}
            """,
        },
    )
    assert ds.pairs(ds.discover("chi", tmp_path)) == {("GET", "/items")}
    it = Interpreter(GoProject(tmp_path, parse_go_mod(COBRA, tmp_path)), [ChiDialect()])
    it.run_main(it.project.packages[""])
    escaped = {function_name(e.fn.node): e.routes for e in it.escapes}
    # None: never run as a root (serve ran from main; the others answer requests)
    assert escaped == {"traced": None, "listItems": None, "serve": None}
    # main's own serve(...) call listened; nothing ran twice
    assert it.main_found == (1, 1)
    assert len(it.listens) == 1


def test_a_root_that_escapes_itself_runs_once(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": COBRA,
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/go-chi/chi/v5"
                    "github.com/spf13/cobra"
                )

                func main() {
                    newCmd().Execute()
                }

                func newCmd() *cobra.Command {
                    return &cobra.Command{Use: "svc", Run: func(cmd *cobra.Command, args []string) {
                        newCmd().Execute()
                        r := chi.NewRouter()
                        r.Get("/once", func(w http.ResponseWriter, r *http.Request) {})
                        http.ListenAndServe(":8080", r)
                    }}
                }
            """,
        },
    )
    assert ds.pairs(ds.discover("chi", tmp_path)) == {("GET", "/once")}
    assert _start("chi", tmp_path) == ([BINARY], 8080)
