"""Static endpoint discovery, runtime hints and masking for Go: net/http, Gin, Echo, Chi."""

from __future__ import annotations

import logging
import re
import shutil
import textwrap
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import FRAMEWORKS, get_framework
from pipeline.languages import treesitter as ts
from pipeline.languages.go.interpreter import split_pattern
from pipeline.languages.go.masking import import_names
from pipeline.languages.go.project import parse_go_mod
from pipeline.languages.go.syntax import _declared_names, function_name, guess_package_name, imports_of, qualifiers
from pipeline.models import Handler

FIXTURES = ds.FIXTURES
CASES = [
    ("nethttp", "nethttp_inventory"),
    ("gin", "gin_library"),
    ("echo", "echo_tasks"),
    ("chi", "chi_blog"),
]
GO_FRAMEWORKS = ("nethttp", "gin", "echo", "chi")
#: handler-shaped functions of the fixtures that nothing serves
DECOYS = {"archive", "legacyList", "ping", "exportAll", "Search", "Archive", "legacyRouter"}


def _write(root: Path, files: dict[str, str]) -> Path:
    """`ds.write_files`, with Go's tab indentation."""
    return ds.write_files(root, files, _tabs)


def _tabs(text: str) -> str:
    """Go indents with tabs; the snippets here are written with four spaces."""
    return re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text)


def _imports_are_used(source: bytes) -> None:
    """The file's imports are exactly the packages it still refers to."""
    root = ts.parse(source, "go").root_node
    imported = set(import_names(root, root).values())
    referenced = qualifiers(root) - _declared_names(root)
    assert imported == referenced, (imported, referenced)


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_detect_fixture_is_exclusive(name: str, fixture: str) -> None:
    ds.assert_detects_only(name, FIXTURES / fixture, ".")


@pytest.mark.parametrize("name", GO_FRAMEWORKS)
def test_go_frameworks_ignore_other_languages(name: str) -> None:
    for fixture in ("flask_todo", "express_books", "fastapi_notes"):
        assert get_framework(name).detect(FIXTURES / fixture) == []


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture)


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_handler_ranges_slice_to_function_and_body(name: str, fixture: str) -> None:
    for endpoint, (_, definition, _, body) in ds.endpoint_slices(name, FIXTURES / fixture):
        handler = endpoint.handler
        assert definition.endswith(body)
        assert body.startswith("{") and body.endswith("}")
        assert definition.startswith("func")
        if handler.name != "<anonymous>":
            assert re.match(rf"func (\([^)]*\) )?{handler.name}\(", definition), definition[:60]
        assert handler.name not in DECOYS


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_decoys_are_not_reported(name: str, fixture: str) -> None:
    endpoints = ds.discover(name, FIXTURES / fixture)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any("legacy" in e.path or "debug" in e.path for e in endpoints)


def test_handlers_resolve_across_files_and_packages() -> None:
    by_key = ds.by_key(ds.discover("gin", FIXTURES / "gin_library"))
    assert by_key[("GET", "/api/v1/books/:id")].file == "internal/books/handler.go"
    assert by_key[("POST", "/api/v1/members/:memberId/loans")].file == "internal/members/members.go"
    assert by_key[("GET", "/ping")].file == "main.go"
    # A factory's closure: the handler is the factory, its whole body is what masking replaces.
    reindex = by_key[("POST", "/admin/reindex")]
    source = (FIXTURES / "gin_library" / reindex.file).read_bytes()
    assert source[reindex.start_byte :].startswith(b"func reindex(catalog *books.Catalog) gin.HandlerFunc {")
    assert b"started := time.Now()" in source[reindex.body_start_byte : reindex.body_end_byte]

    by_key = ds.by_key(ds.discover("chi", FIXTURES / "chi_blog"))
    assert by_key[("GET", "/api/posts/{postID}/")].file == "internal/api/posts.go"
    assert by_key[("POST", "/admin/purge")].file == "admin.go"


def test_runtime_hints_of_fixtures() -> None:
    expected = {
        "nethttp_inventory": (8080, {"ADMIN_TOKEN": "dummy-ADMIN_TOKEN", "PORT": "8080"}),
        "gin_library": (8081, {"LIBRARY_ADMIN_TOKEN": "dummy-LIBRARY_ADMIN_TOKEN", "PORT": "8081"}),
        "echo_tasks": (1323, {"TASKS_API_KEY": "dummy-TASKS_API_KEY"}),
        "chi_blog": (3333, {"BLOG_ADMIN_TOKEN": "dummy-BLOG_ADMIN_TOKEN"}),
    }
    for name, fixture in CASES:
        framework = get_framework(name)
        root = FIXTURES / fixture
        hints = framework.runtime_hints(root, ds.service_of(framework, root))
        assert hints.start_command == ["/app/server"]
        assert (hints.port, hints.env) == expected[fixture], fixture
        assert hints.extra_packages == []


def test_nethttp_fixture_is_standard_library_only() -> None:
    root = FIXTURES / "nethttp_inventory"
    mod = parse_go_mod((root / "go.mod").read_text(), root)
    assert mod.module == "example.com/inventory" and mod.go == "1.22" and mod.requires == {}
    for path in root.rglob("*.go"):
        for _spec, _name, import_path in imports_of(ts.parse(path.read_bytes(), "go").root_node):
            first = import_path.split("/")[0]
            assert "." not in first or import_path.startswith("example.com/inventory"), import_path


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_masking_fixture(name: str, fixture: str, tmp_path: Path) -> None:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    framework = get_framework(name)
    original = ds.discover(name, root)
    masked = ds.mask_all(framework, root, original, write=True)
    statement = {
        "nethttp": b'http.Error(w, "not implemented", http.StatusNotImplemented)',
        "chi": b'http.Error(w, "not implemented", http.StatusNotImplemented)',
        "gin": b"c.AbortWithStatus(501)",
        "echo": b"return c.NoContent(501)",
    }[name]
    for rel, source in masked.items():
        ds.assert_parses(source, "go", rel)
        assert statement in source
        _imports_are_used(source)
    # Routes and signatures survive; the same endpoints point at the stubs.
    again = ds.discover(name, root)
    # Methods read from a handler's body (`switch r.Method`) go with the body: ANY remains.
    assert {(e.path, e.handler.name) for e in again} == {(e.path, e.handler.name) for e in original}
    body_chosen = {e.path for e in original} - {e.path for e in again if e.method != "ANY"}
    assert {(e.method, e.path) for e in again if e.path not in body_chosen} == {
        (e.method, e.path) for e in original if e.path not in body_chosen
    }
    for endpoint in again:
        handler = endpoint.handler
        source = (root / handler.file).read_bytes()
        body = source[handler.body_start_byte : handler.body_end_byte]
        assert statement in body or b"_ = " in body
        key = (endpoint.path, endpoint.handler.name)
        before = next(e.handler for e in original if (e.path, e.handler.name) == key)
        old = (FIXTURES / fixture / before.file).read_bytes()
        assert old[before.start_byte : before.body_start_byte] == source[handler.start_byte : handler.body_start_byte]


def test_masking_drops_logic_and_only_the_imports_it_made_unused(tmp_path: Path) -> None:
    root = tmp_path / "gin_library"
    shutil.copytree(FIXTURES / "gin_library", root)
    ds.mask_all(get_framework("gin"), root, ds.discover("gin", root), write=True)
    members = (root / "internal/members/members.go").read_text()
    assert "SetOnLoan" not in members and "strconv" not in members
    assert '"net/http"' not in members
    assert '"github.com/example/library/internal/books"' in members  # still in a signature
    assert "func borrow(catalog *books.Catalog) gin.HandlerFunc {\n\treturn func(c *gin.Context) {\n" in members
    admin = (root / "admin.go").read_text()
    assert "started" not in admin and '"time"' not in admin
    assert "exportAll" in admin and '"net/http"' in admin  # the decoy still uses net/http
    routes = (root / "internal/books/routes.go").read_text()
    assert routes == (FIXTURES / "gin_library/internal/books/routes.go").read_text()


def test_masking_keeps_offsets_of_earlier_handlers(tmp_path: Path) -> None:
    root = tmp_path / "nethttp_inventory"
    shutil.copytree(FIXTURES / "nethttp_inventory", root)
    source = (root / "internal/api/files.go").read_bytes()
    handler = next(e.handler for e in ds.discover("nethttp", root) if e.handler.name == "serveFile")
    masked = get_framework("nethttp").mask_body(source, handler)
    # "path" was only used by the closure: blanked in place, so everything before the
    # handler keeps its byte offsets.
    assert len(masked[: handler.start_byte]) == handler.start_byte
    assert b'"path"' not in masked and masked[: handler.start_byte].count(b"\n") == source[: handler.start_byte].count(
        b"\n"
    )


def _mask_one(name: str, files: dict[str, str], tmp_path: Path, handler_name: str) -> str:
    _write(tmp_path, files)
    framework = get_framework(name)
    endpoint = next(e for e in ds.discover(name, tmp_path) if e.handler.name == handler_name)
    source = (tmp_path / endpoint.handler.file).read_bytes()
    masked = framework.mask_body(source, endpoint.handler)
    _imports_are_used(masked)
    return masked.decode()


def test_masking_unnamed_and_blank_parameters(tmp_path: Path) -> None:
    masked = _mask_one(
        "nethttp",
        {
            "go.mod": "module m\n\ngo 1.22\n",
            "main.go": """
                package main

                import (
                    "fmt"
                    "net/http"
                )

                func hello(_ http.ResponseWriter, r *http.Request) {
                    fmt.Println(r.URL)
                }

                func bye(http.ResponseWriter, *http.Request) {}

                func main() {
                    http.HandleFunc("/hello", hello)
                    http.HandleFunc("/bye", bye)
                    http.ListenAndServe(":8080", nil)
                }
            """,
        },
        tmp_path,
        "hello",
    )
    assert 'func hello(w http.ResponseWriter, r *http.Request) {\n\thttp.Error(w, "not implemented"' in masked
    assert '"fmt"' not in masked
    source = (tmp_path / "main.go").read_bytes()
    bye = next(e.handler for e in ds.discover("nethttp", tmp_path) if e.handler.name == "bye")
    masked = get_framework("nethttp").mask_body(source, bye).decode()
    assert "func bye(w http.ResponseWriter, _ *http.Request) {\n\thttp.Error(w," in masked


def test_masking_closure_keeps_captured_locals_used(tmp_path: Path) -> None:
    masked = _mask_one(
        "chi",
        {
            "go.mod": "module m\n\ngo 1.21\n\nrequire github.com/go-chi/chi/v5 v5.0.12\n",
            "main.go": """
                package main

                import (
                    "net/http"
                    "strings"

                    "github.com/go-chi/chi/v5"
                )

                func main() {
                    greeting := strings.ToUpper("hi")
                    r := chi.NewRouter()
                    r.Get("/", func(w http.ResponseWriter, r *http.Request) {
                        w.Write([]byte(greeting))
                    })
                    http.ListenAndServe(":8080", r)
                }
            """,
        },
        tmp_path,
        "<anonymous>",
    )
    assert '\t\t_ = greeting\n\t\thttp.Error(w, "not implemented", http.StatusNotImplemented)\n\t})' in masked
    assert '"strings"' in masked


def test_masking_factories_with_wrapped_returns(tmp_path: Path) -> None:
    files = {
        "go.mod": "module m\n\ngo 1.21\n\nrequire github.com/labstack/echo/v4 v4.11.4\n",
        "main.go": """
            package main

            import (
                "net/http"
                "strconv"

                "github.com/labstack/echo/v4"
            )

            func wrap(h echo.HandlerFunc) echo.HandlerFunc { return h }

            func count(limit int) echo.HandlerFunc {
                label := strconv.Itoa(limit)
                return wrap(func(c echo.Context) error {
                    return c.String(http.StatusOK, label)
                })
            }

            func total(limit int) echo.HandlerFunc {
                mw := wrap
                label := strconv.Itoa(limit)
                return mw(func(c echo.Context) error {
                    return c.String(http.StatusOK, label)
                })
            }

            func main() {
                e := echo.New()
                e.GET("/count", count(3))
                e.GET("/total", total(3))
                e.Start(":1323")
            }
        """,
    }
    masked = _mask_one("echo", files, tmp_path / "a", "count")
    # `wrap` is package-level: the factory's locals can go with its body.
    assert "func count(limit int) echo.HandlerFunc {\n\treturn wrap(func(c echo.Context) error {\n" in masked
    assert "\t\treturn c.NoContent(501)\n\t})\n}" in masked
    masked = _mask_one("echo", files, tmp_path / "b", "total")
    # `mw` is a local: only the closure is masked and what it captured stays used.
    assert "\tmw := wrap\n\tlabel := strconv.Itoa(limit)\n" in masked
    assert "\t\t_ = label\n\t\treturn c.NoContent(501)\n\t})" in masked
    assert '"net/http"' in masked and '"strconv"' in masked  # `count` still uses both


def test_masking_pairs_imports_whose_package_name_differs(tmp_path: Path) -> None:
    masked = _mask_one(
        "nethttp",
        {
            "go.mod": "module example.com/shop\n\ngo 1.22\n",
            "internal/store/store.go": "package storage\n\nfunc Count() int { return 1 }\n",
            "main.go": """
                package main

                import (
                    "fmt"
                    "net/http"

                    "example.com/shop/internal/store"
                )

                func count(w http.ResponseWriter, r *http.Request) error {
                    fmt.Fprint(w, storage.Count())
                    return nil
                }

                func main() {
                    http.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) { count(w, r) })
                    http.Handle("GET /count2", appHandler(count))
                    http.ListenAndServe(":8080", nil)
                }

                type appHandler func(http.ResponseWriter, *http.Request) error

                func (h appHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h(w, r) }
            """,
        },
        tmp_path,
        "count",
    )
    assert '"example.com/shop/internal/store"' not in masked and '"fmt"' not in masked
    assert '\thttp.Error(w, "not implemented", http.StatusNotImplemented)\n\treturn nil\n}' in masked


def _handler_of_first_function(source: bytes) -> Handler:
    fn = next(ts.find_all(ts.parse(source, "go").root_node, "function_declaration"))
    body = fn.child_by_field_name("body")
    assert body is not None
    return Handler(
        file="main.go",
        name=function_name(fn),
        line=fn.start_point.row + 1,
        start_byte=fn.start_byte,
        end_byte=fn.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
    )


def test_masking_with_aliased_or_dot_imported_net_http() -> None:
    source = (
        b'package main\n\nimport nh "net/http"\n\nfunc h(w nh.ResponseWriter, r *nh.Request) {\n\tw.Write(nil)\n}\n'
    )
    masked = get_framework("nethttp").mask_body(source, _handler_of_first_function(source)).decode()
    assert '\tnh.Error(w, "not implemented", nh.StatusNotImplemented)\n}' in masked
    # No name to reach net/http by: answer through the ResponseWriter, add no import.
    dotted = source.replace(b'import nh "net/http"', b'import . "net/http"').replace(b"nh.", b"")
    masked = get_framework("chi").mask_body(dotted, _handler_of_first_function(dotted)).decode()
    assert "\tw.WriteHeader(501)\n}" in masked and 'import . "net/http"' in masked


def test_mask_rejects_a_range_that_is_not_a_function() -> None:
    source = b"package main\n\nvar x = 1\n"
    handler = Handler(file="a.go", name="x", line=3, start_byte=14, end_byte=23, body_start_byte=22, body_end_byte=23)
    with pytest.raises(ValueError, match="no Go function"):
        get_framework("gin").mask_body(source, handler)


# --------------------------------------------------------------------------- routing constructs


def test_gin_nested_groups_across_packages_and_server_struct(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/svc\n\ngo 1.21\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.1\n)\n",
            "cmd/server/main.go": """
                package main

                import "example.com/svc/internal/server"

                func main() {
                    s := server.New()
                    s.Start()
                }
            """,
            "cmd/migrate/main.go": """
                package main

                func main() {}
            """,
            "internal/server/server.go": """
                package server

                import (
                    "github.com/gin-gonic/gin"
                    "example.com/svc/internal/users"
                )

                type Server struct {
                    router *gin.Engine
                    users  *users.Handler
                }

                func New() *Server {
                    s := &Server{router: gin.New(), users: users.NewHandler()}
                    s.routes()
                    return s
                }

                func (s *Server) routes() {
                    api := s.router.Group("/api/")
                    v2 := api.Group("v2")
                    users.Register(v2.Group("/users"), s.users)
                    s.router.Handle("PATCH", "/items/:id", s.users.Patch)
                    s.router.Any("/proxy/*path", proxy)
                    s.router.Match([]string{"PUT", "POST"}, "/upsert/", s.users.Patch)
                }

                func proxy(c *gin.Context) {
                    switch c.Request.Method {
                    case "GET", "HEAD":
                        c.Status(200)
                    }
                }

                func (s *Server) Start() {
                    s.router.Run()
                }
            """,
            "internal/users/users.go": """
                package users

                import "github.com/gin-gonic/gin"

                type Handler struct{}

                func NewHandler() *Handler { return &Handler{} }

                func Register(rg *gin.RouterGroup, h *Handler) {
                    rg.GET("/", h.List)
                    rg.GET("", h.List)
                    rg.DELETE("/:id", authorize("admin"), h.Delete)
                }

                func authorize(role string) gin.HandlerFunc {
                    return func(c *gin.Context) { c.Next() }
                }

                func (h *Handler) List(c *gin.Context)   {}
                func (h *Handler) Delete(c *gin.Context) {}
                func (h *Handler) Patch(c *gin.Context)  {}
            """,
        },
    )
    gin = get_framework("gin")
    services = gin.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [(tmp_path.resolve(), "./cmd/server")]
    endpoints = gin.discover(tmp_path, services[0])
    assert ds.triples(endpoints) == {
        ("GET", "/api/v2/users/", "List"),
        ("GET", "/api/v2/users", "List"),
        ("DELETE", "/api/v2/users/:id", "Delete"),
        ("PATCH", "/items/:id", "Patch"),
        ("GET", "/proxy/*path", "proxy"),
        ("HEAD", "/proxy/*path", "proxy"),
        ("PUT", "/upsert/", "Patch"),
        ("POST", "/upsert/", "Patch"),
    }
    assert next(e for e in endpoints if e.path == "/items/:id").handler.file == "internal/users/users.go"
    hints = gin.runtime_hints(tmp_path, services[0])
    assert (hints.port, hints.env) == (8080, {"PORT": "8080"})


def test_echo_groups_any_match_add(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module m\n\ngo 1.21\n\nrequire github.com/labstack/echo/v4 v4.11.4\n",
            "main.go": """
                package main

                import (
                    "net/http"
                    "os"

                    "github.com/labstack/echo/v4"
                )

                func getEnv(key, fallback string) string {
                    if v := os.Getenv(key); v != "" {
                        return v
                    }
                    return fallback
                }

                func main() {
                    e := echo.New()
                    v1 := e.Group("/v1")
                    admin := v1.Group("/admin", auth)
                    admin.GET("", stats)
                    admin.Any("/x", stats)
                    v1.Match([]string{http.MethodPut, "PATCH"}, "/things/:id", save, auth)
                    e.Add("OPTIONS", "/opt", func(c echo.Context) error { return nil })
                    e.RouteNotFound("/*", stats)
                    e.Logger.Fatal(e.Start(":" + getEnv("HTTP_PORT", "9000")))
                }

                func auth(next echo.HandlerFunc) echo.HandlerFunc { return next }
                func stats(c echo.Context) error { return nil }
                func save(c echo.Context) error  { return nil }
            """,
        },
    )
    echo = get_framework("echo")
    endpoints = ds.discover("echo", tmp_path)
    assert ds.triples(endpoints) == {
        ("GET", "/v1/admin", "stats"),
        ("ANY", "/v1/admin/x", "stats"),
        ("PUT", "/v1/things/:id", "save"),
        ("PATCH", "/v1/things/:id", "save"),
        ("OPTIONS", "/opt", "<anonymous>"),
    }
    hints = echo.runtime_hints(tmp_path, ds.service_of(echo, tmp_path))
    assert (hints.port, hints.env) == (9000, {})


def test_chi_route_mount_group_with_method_handle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/c\n\ngo 1.21\n\nrequire github.com/go-chi/chi/v5 v5.0.12\n",
            "main.go": """
                package main

                import (
                    "net/http"
                    "os"

                    "example.com/c/accounts"
                    "github.com/go-chi/chi/v5"
                )

                func main() {
                    r := chi.NewRouter()
                    r.Route("/v1", func(r chi.Router) {
                        r.Mount("/accounts", accounts.Routes())
                        r.Route("/orgs/{org}", func(r chi.Router) {
                            r.With(limit).Get("/members", members)
                            r.Method("PURGE", "/cache", http.HandlerFunc(members))
                        })
                    })
                    r.Group(func(r chi.Router) {
                        r.MethodFunc(http.MethodDelete, "/session", members)
                    })
                    r.Handle("/legacy/*", legacy())
                    r.Mount("/static", http.FileServer(http.Dir("static")))
                    if err := http.ListenAndServe(os.Getenv("LISTEN_ADDR"), r); err != nil {
                        panic(err)
                    }
                }

                func limit(next http.Handler) http.Handler { return next }

                func members(w http.ResponseWriter, r *http.Request) {}

                func legacy() http.Handler {
                    r := chi.NewRouter()
                    r.Post("/hook", members)
                    return r
                }
            """,
            "accounts/routes.go": """
                package accounts

                import (
                    "net/http"

                    "github.com/go-chi/chi/v5"
                )

                func Routes() chi.Router {
                    r := chi.NewRouter()
                    r.Get("/", list)
                    r.Get("/{id:[0-9]+}", show)
                    return r
                }

                func list(w http.ResponseWriter, r *http.Request) {}
                func show(w http.ResponseWriter, r *http.Request) {}
            """,
        },
    )
    chi = get_framework("chi")
    endpoints = ds.discover("chi", tmp_path)
    assert ds.triples(endpoints) == {
        ("GET", "/v1/accounts/", "list"),
        ("GET", "/v1/accounts/{id:[0-9]+}", "show"),
        ("GET", "/v1/orgs/{org}/members", "members"),
        ("PURGE", "/v1/orgs/{org}/cache", "members"),
        ("DELETE", "/session", "members"),
        ("POST", "/legacy/hook", "members"),
    }
    assert {e.normalized_path for e in endpoints} >= {"/v1/accounts/{id}"}
    hints = chi.runtime_hints(tmp_path, ds.service_of(chi, tmp_path))
    assert (hints.port, hints.env) == (8080, {"LISTEN_ADDR": ":8080"})


def test_nethttp_default_mux_patterns_and_methods_in_body(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/n\n\ngo 1.22\n",
            "main.go": """
                package main

                import (
                    "log"
                    "net/http"
                    "os"

                    "example.com/n/handlers"
                )

                func main() {
                    port, ok := os.LookupEnv("PORT")
                    if !ok {
                        port = "5000"
                    }
                    secret := os.Getenv("SECRET")
                    _ = secret
                    h := handlers.New()
                    http.HandleFunc("/users", h.Users)
                    http.HandleFunc("/login", handlers.Login)
                    http.Handle("POST example.com/hooks/{name}", handlers.Hook())
                    http.HandleFunc("/wrapped", requireAuth(handlers.Login))
                    api := http.NewServeMux()
                    api.HandleFunc("GET /ping", handlers.Login)
                    http.Handle("/api/", http.StripPrefix("/api", api))
                    log.Fatal(http.ListenAndServe(":"+port, nil))
                }

                func requireAuth(next http.HandlerFunc) http.HandlerFunc {
                    return func(w http.ResponseWriter, r *http.Request) {
                        next(w, r)
                    }
                }
            """,
            "handlers/handlers.go": """
                package handlers

                import "net/http"

                type Handlers struct{}

                func New() *Handlers { return &Handlers{} }

                func (h *Handlers) Users(w http.ResponseWriter, r *http.Request) {
                    switch r.Method {
                    case http.MethodGet:
                    case http.MethodPost, "put":
                    default:
                        w.WriteHeader(http.StatusMethodNotAllowed)
                    }
                }

                func Login(w http.ResponseWriter, req *http.Request) {
                    if req.Method == "POST" {
                        return
                    }
                    if req.Method == http.MethodGet {
                        return
                    }
                }

                func Hook() http.Handler {
                    return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
                }
            """,
        },
    )
    nethttp = get_framework("nethttp")
    endpoints = ds.discover("nethttp", tmp_path)
    assert ds.triples(endpoints) == {
        ("GET", "/users", "Users"),
        ("POST", "/users", "Users"),
        ("PUT", "/users", "Users"),
        ("GET", "/login", "Login"),
        ("POST", "/login", "Login"),
        ("GET", "/wrapped", "Login"),
        ("POST", "/wrapped", "Login"),
        ("POST", "/hooks/{name}", "Hook"),
        ("GET", "/api/ping", "Login"),
    }
    hints = nethttp.runtime_hints(tmp_path, ds.service_of(nethttp, tmp_path))
    assert (hints.port, hints.env) == (5000, {"PORT": "5000", "SECRET": "dummy-SECRET"})


def test_split_pattern_and_joins() -> None:
    assert split_pattern("GET /items/{id}") == ("GET", "/items/{id}")
    assert split_pattern("/files/{path...}") == (None, "/files/{path...}")
    assert split_pattern("DELETE  api.example.com/x/{$}") == ("DELETE", "/x/{$}")
    from pipeline.languages.go.gin import gin_join

    assert gin_join("", "/") == "/"
    assert gin_join("/api", "") == "/api"
    assert gin_join("/api/", "users/") == "/api/users/"
    assert gin_join("/api", "//x/../y") == "/api/y"


def test_go_mod_parsing() -> None:
    mod = parse_go_mod(
        _tabs(
            textwrap.dedent(
                """
            // a comment
            module "example.com/x" // trailing

            go 1.22.1

            require github.com/go-chi/chi/v5 v5.0.12
            require (
                github.com/labstack/echo/v4 v4.11.4
                github.com/gin-gonic/gin v1.9.1 // indirect
            )
            replace example.com/y => ../y
            """
            )
        ),
        Path("/x"),
    )
    assert (mod.module, mod.go) == ("example.com/x", "1.22.1")
    assert mod.requires == {"github.com/go-chi/chi/v5": "v5.0.12", "github.com/labstack/echo/v4": "v4.11.4"}
    assert guess_package_name("github.com/labstack/echo/v4") == "echo"
    assert guess_package_name("gopkg.in/yaml.v3") == "yaml"
    assert guess_package_name("github.com/redis/go-redis/v9") == "redis"


# --------------------------------------------------------------------------- repositories


def test_multiple_services_libraries_and_nested_modules(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "gin_library", tmp_path / "services" / "library")
    shutil.copytree(FIXTURES / "chi_blog", tmp_path / "services" / "blog")
    shutil.copytree(FIXTURES / "nethttp_inventory", tmp_path / "inventory")
    shutil.copytree(FIXTURES / "echo_tasks", tmp_path / "inventory" / "tools" / "tasks")
    _write(
        tmp_path,
        {
            # A library module: routes but no main package.
            "lib/go.mod": "module example.com/lib\n\ngo 1.22\n",
            "lib/lib.go": """
                package lib

                import "net/http"

                func Register(mux *http.ServeMux) { mux.HandleFunc("/x", nil) }
            """,
            # A command with no HTTP routes at all.
            "cli/go.mod": "module example.com/cli\n\ngo 1.22\n",
            "cli/main.go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n',
            "vendor/github.com/x/go.mod": "module github.com/x\n\nrequire github.com/gin-gonic/gin v1.9.1\n",
        },
    )
    found = {(f.name, c.root) for f in FRAMEWORKS for c in f.detect(tmp_path)}
    assert found == {
        ("gin", (tmp_path / "services" / "library").resolve()),
        ("chi", (tmp_path / "services" / "blog").resolve()),
        ("nethttp", (tmp_path / "inventory").resolve()),
        ("echo", (tmp_path / "inventory" / "tools" / "tasks").resolve()),
    }
    nethttp = get_framework("nethttp")
    service = nethttp.detect(tmp_path)[0]
    endpoints = nethttp.discover(tmp_path, service)
    assert len(endpoints) == 13
    # The nested echo module is its own service, not part of the inventory's files.
    assert all(e.handler.file.startswith("inventory/") and "tools" not in e.handler.file for e in endpoints)
    assert {e.handler.file for e in endpoints} >= {"inventory/internal/api/items.go", "inventory/admin.go"}


def test_unparseable_file_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copytree(FIXTURES / "echo_tasks", tmp_path / "app")
    (tmp_path / "app" / "broken.go").write_text("package main\n\nfunc broken( {\n")
    (tmp_path / "app" / "main_test.go").write_text("package main\n\nfunc TestX( {\n")
    (tmp_path / "app" / "blob.go").write_bytes(b"\x00\x01binary" * 10)
    with caplog.at_level(logging.WARNING):
        endpoints = ds.discover("echo", tmp_path / "app")
    assert len(endpoints) == 13
    messages = ds.log_messages(caplog)
    assert "broken.go: does not parse as go" in messages
    assert "blob.go: binary content" in messages
    assert "main_test.go" not in messages


def test_odd_input_does_not_crash(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module m\n\ngo 1.22\n",
            "main.go": """
                package main

                import "net/http"

                var mux = newMux()

                func newMux() *http.ServeMux {
                    m := http.NewServeMux()
                    m.HandleFunc("/a", a)
                    return m
                }

                func loop(n int) int { return loop(n + 1) }

                func a(w http.ResponseWriter, r *http.Request) {}

                func main() {
                    loop(0)
                    var routes = []struct{ p string }{{"/x"}}
                    for _, rt := range routes {
                        mux.HandleFunc(rt.p, a)
                    }
                    mux.HandleFunc(dynamic(), a)
                    mux.HandleFunc("/b", undefined.Thing)
                    http.ListenAndServe(":8080", mux)
                }

                func dynamic() string { return "/" + strconvX() }
            """,
        },
    )
    endpoints = ds.discover("nethttp", tmp_path)
    assert ds.pairs(endpoints) == {("ANY", "/a"), ("ANY", "/x")}
    assert get_framework("gin").detect(tmp_path / "missing") == []


def test_route_tables_in_slices_and_maps(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module example.com/t\n\ngo 1.22\n",
            "main.go": """
                package main

                import (
                    "net/http"

                    "example.com/t/api"
                )

                type route struct {
                    method  string
                    pattern string
                    handler http.HandlerFunc
                }

                func main() {
                    mux := http.NewServeMux()
                    routes := []route{
                        {"GET", "/a", api.A},
                        {method: "POST", pattern: "/b", handler: api.B},
                    }
                    for _, rt := range routes {
                        mux.HandleFunc(rt.method+" "+rt.pattern, rt.handler)
                    }
                    for pattern, h := range map[string]http.HandlerFunc{"/c": api.A, "DELETE /d": api.B} {
                        mux.HandleFunc(pattern, h)
                    }
                    http.ListenAndServe(":8080", mux)
                }
            """,
            "api/api.go": """
                package api

                import "net/http"

                func A(w http.ResponseWriter, r *http.Request) {}
                func B(w http.ResponseWriter, r *http.Request) {}
            """,
        },
    )
    assert ds.triples(ds.discover("nethttp", tmp_path)) == {
        ("GET", "/a", "A"),
        ("POST", "/b", "B"),
        ("ANY", "/c", "A"),
        ("DELETE", "/d", "B"),
    }


def test_nethttp_does_not_claim_routes_it_cannot_resolve(tmp_path: Path) -> None:
    # gorilla/mux (not supported): the only net/http registration hands over an unknown router.
    _write(
        tmp_path,
        {
            "go.mod": "module m\n\ngo 1.22\n\nrequire github.com/gorilla/mux v1.8.1\n",
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/gorilla/mux"
                )

                func main() {
                    r := mux.NewRouter()
                    r.HandleFunc("/x", nil)
                    http.Handle("/", r)
                    http.ListenAndServe(":8080", nil)
                }
            """,
        },
    )
    assert get_framework("nethttp").detect(tmp_path) == []


def test_lost_receiver_falls_back_to_a_unique_method_name(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": "module m\n\ngo 1.21\n\nrequire github.com/gin-gonic/gin v1.9.1\n",
            "main.go": """
                package main

                import (
                    "github.com/gin-gonic/gin"
                    "github.com/some/ext"
                )

                type Users struct{}

                func (u *Users) List(c *gin.Context) {}

                func main() {
                    all := []*Users{{}}
                    r := gin.New()
                    r.GET("/users", all[0].List)
                    r.GET("/ext", ext.List)
                    r.Run(":9090")
                }
            """,
        },
    )
    assert ds.triples(ds.discover("gin", tmp_path)) == {("GET", "/users", "List")}


def test_a_body_decoded_into_a_struct_written_in_the_handler_has_its_fields(tmp_path: Path) -> None:
    """`var in struct{...}` and `in := struct{...}{}`: the struct has no name to look up."""
    _write(
        tmp_path,
        {
            "go.mod": "module m\n\ngo 1.22\n",
            "main.go": """
                package main

                import (
                    "encoding/json"
                    "net/http"
                )

                func create(w http.ResponseWriter, r *http.Request) {
                    in := struct {
                        Title string `json:"title" validate:"required"`
                        Done  bool   `json:"done"`
                    }{}
                    json.NewDecoder(r.Body).Decode(&in)
                }

                func rename(w http.ResponseWriter, r *http.Request) {
                    var body struct{ Name string }
                    if json.NewDecoder(r.Body).Decode(&body); body.Name == "" {
                        w.WriteHeader(400)
                    }
                }

                func main() {
                    http.HandleFunc("POST /items", create)
                    http.HandleFunc("PUT /items/{id}", rename)
                    http.ListenAndServe(":8080", nil)
                }
            """,
        },
    )
    fields = {e.path: [(f.name, f.type, f.required) for f in e.body_fields] for e in ds.discover("nethttp", tmp_path)}
    assert fields == {
        "/items": [("title", "str", True), ("done", "bool", False)],
        "/items/{id}": [("Name", "str", True)],
    }
