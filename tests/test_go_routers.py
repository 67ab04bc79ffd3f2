"""Static discovery and masking for the Go routers beyond gin, echo and chi: gorilla/mux,
httptreemux, Goji; and GOPATH-era repositories (no go.mod), which goji_gopath_jobs is.

The fixtures (gorillamux_notes, httptreemux_maps, goji_gopath_jobs) are also compiled
masked, group by group, in test_masked_compiles.py.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import get_framework
from pipeline.languages import treesitter as ts
from pipeline.languages.go.gorillamux import template_path
from pipeline.languages.go.masking import import_names
from pipeline.languages.go.syntax import _declared_names, qualifiers

FIXTURES = ds.FIXTURES
CASES = [("gorillamux", "gorillamux_notes"), ("httptreemux", "httptreemux_maps"), ("goji", "goji_gopath_jobs")]
MASKED = b'http.Error(w, "not implemented", http.StatusNotImplemented)'


def _write(root: Path, files: dict[str, str]) -> Path:
    """The snippets are written with four spaces; Go indents with tabs."""
    return ds.write_files(
        root, files, lambda text: re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text)
    )


def _pairs(name: str, root: Path) -> set[tuple[str, str]]:
    return ds.pairs(ds.discover(name, root))


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_only_its_own_framework_detects_the_fixture(name: str, fixture: str) -> None:
    ds.assert_detects_only(name, FIXTURES / fixture, ".")


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture)


def test_gorillamux_fixture_endpoints() -> None:
    by_key = ds.by_key(ds.discover("gorillamux", FIXTURES / "gorillamux_notes"))
    assert set(by_key) == {
        # HandleFunc(...).Methods(GET).Name(...), and Methods(...).Path(...).HandlerFunc(...)
        ("GET", "/health"),
        ("POST", "/echo"),
        # no Methods: any method
        ("ANY", "/version"),
        # Register(sub *mux.Router) in another package, under two nested PathPrefix subrouters;
        # `{id:[0-9]+}` written `{id}`
        ("GET", "/api/v1/notes/"),
        ("POST", "/api/v1/notes/"),
        ("GET", "/api/v1/notes/{id}"),
        ("HEAD", "/api/v1/notes/{id}"),
        ("PUT", "/api/v1/notes/{id}"),
        ("PATCH", "/api/v1/notes/{id}"),
        ("DELETE", "/api/v1/notes/{id}"),
        # a subrouter made from a route with Methods: its routes keep them
        ("POST", "/admin/purge"),
        # PathPrefix(...).Handler(struct with ServeHTTP)
        ("ANY", "/files/*"),
    }
    assert by_key[("PUT", "/api/v1/notes/{id}")].file == "internal/notes/notes.go"
    assert by_key[("PUT", "/api/v1/notes/{id}")].name == "update"
    assert by_key[("ANY", "/files/*")].file == "main.go"
    assert by_key[("ANY", "/files/*")].name == "ServeHTTP"
    # legacyRouter is never called; NotFoundHandler is not a route.
    assert not {name for name in (h.name for h in by_key.values())} & {"legacyRouter", "notFound"}


def test_httptreemux_fixture_endpoints() -> None:
    by_key = ds.by_key(ds.discover("httptreemux", FIXTURES / "httptreemux_maps"))
    assert set(by_key) == {
        ("GET", "/"),
        # NewGroup("/api/") drops its slash; maps.Register(g *httptreemux.Group) nests "/maps"
        ("GET", "/api/maps"),
        ("GET", "/api/maps/:name"),
        ("PUT", "/api/maps/:name"),
        ("DELETE", "/api/maps/:name"),
        ("GET", "/api/files/*path"),
        # UsingContext(): GET with an http.HandlerFunc, Handler with an http.Handler, and
        # Handler(instrument(...)) whose three results are the arguments
        ("GET", "/api/status"),
        ("POST", "/api/reload"),
        ("GET", "/api/version"),
    }
    assert by_key[("DELETE", "/api/maps/:name")].file == "internal/maps/maps.go"
    assert by_key[("POST", "/api/reload")].name == "ServeHTTP"
    assert "ping" not in {h.name for h in by_key.values()}


def test_runtime_hints_of_fixtures() -> None:
    # goji: bind.Default() listens on :$PORT, else :8000
    expectations = [(8090, {}), (8070, {"PORT": "8070"}), (8000, {"PORT": "8000"})]
    for (name, fixture), expected in zip(CASES, expectations, strict=True):
        framework = get_framework(name)
        root = FIXTURES / fixture
        hints = framework.runtime_hints(root, ds.service_of(framework, root))
        assert (hints.port, hints.env) == expected, fixture


@pytest.mark.parametrize(("name", "fixture"), CASES)
def test_masking_fixture(name: str, fixture: str, tmp_path: Path) -> None:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    framework = get_framework(name)
    original = ds.discover(name, root)
    masked = ds.mask_all(framework, root, original, write=True)
    for rel, source in masked.items():
        ds.assert_parses(source, "go", rel)
        tree = ts.parse(source, "go").root_node
        assert set(import_names(tree, tree).values()) == qualifiers(tree) - _declared_names(tree), rel
    # The routes and signatures survive: the same endpoints now point at stubs.
    again = ds.discover(name, root)
    assert ds.triples(again) == ds.triples(original)
    signatures = {(e.method, e.path): ds.handler_slices(FIXTURES / fixture, e.handler).signature for e in original}
    for endpoint in again:
        masked_slices = ds.handler_slices(root, endpoint.handler)
        assert MASKED.decode() in masked_slices.body
        assert masked_slices.signature == signatures[(endpoint.method, endpoint.path)]


def test_httptreemux_params_handler_keeps_its_signature(tmp_path: Path) -> None:
    root = tmp_path / "maps"
    shutil.copytree(FIXTURES / "httptreemux_maps", root)
    endpoint = next(e for e in ds.discover("httptreemux", root) if e.handler.name == "serveFile")
    _, masked = ds.mask_handler("httptreemux", root, endpoint.handler, "go")
    assert (
        b"func serveFile(w http.ResponseWriter, r *http.Request, params map[string]string) {\n\t" + MASKED + b"\n}"
    ) in masked


# --------------------------------------------------------------------------- gorilla/mux snippets

GORILLA_MOD = "module m\n\ngo 1.21\n\nrequire github.com/gorilla/mux v1.8.1\n"


def test_gorilla_template_variables_lose_their_patterns() -> None:
    assert template_path("/x/{id}") == "/x/{id}"
    assert template_path("/x/{id:[0-9]+}/{name}") == "/x/{id}/{name}"
    assert template_path("/x/{code:[a-z]{3}}.{ext}") == "/x/{code}.{ext}"
    assert template_path("/fs/{path:.+}") == "/fs/{path}"


def test_gorilla_route_chains_in_any_order(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": GORILLA_MOD,
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/gorilla/mux"
                )

                func h(w http.ResponseWriter, r *http.Request) {}

                func main() {
                    r := mux.NewRouter()
                    r.NewRoute().HandlerFunc(h).Methods("put").Path("/late")
                    r.Path("/twice").PathPrefix("/more").Handler(http.HandlerFunc(h))
                    r.Name("named").Methods("GET", "POST").Path("/named").HandlerFunc(h)
                    r.Host("api.example.com").Path("/host").HandlerFunc(h)
                    r.HandleFunc("/q", h).Queries("page", "{page}").Schemes("https").Methods(http.MethodGet)
                    http.ListenAndServe(":8080", r)
                }
            """,
        },
    )
    assert _pairs("gorillamux", tmp_path) == {
        ("PUT", "/late"),
        ("ANY", "/twice/more/*"),
        ("GET", "/named"),
        ("POST", "/named"),
        ("ANY", "/host"),
        ("GET", "/q"),
    }


def test_gorilla_routers_mounted_and_passed_around(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": GORILLA_MOD,
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/gorilla/mux"
                )

                type server struct {
                    router *mux.Router
                }

                type broker struct{}

                func (b *broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {}

                func h(w http.ResponseWriter, r *http.Request) {}

                func withAuth(next http.Handler) http.Handler {
                    return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
                        next.ServeHTTP(w, r)
                    })
                }

                func users() *mux.Router {
                    r := mux.NewRouter()
                    r.HandleFunc("/users/{id}", h).Methods("GET")
                    return r
                }

                func main() {
                    s := &server{router: mux.NewRouter().StrictSlash(true)}
                    s.router.Handle("/events", withAuth(&broker{}))
                    v2 := s.router.PathPrefix("/v2").Subrouter()
                    v2.PathPrefix("/admin/").Subrouter().HandleFunc("/", h)
                    s.router.PathPrefix("/old/").Handler(http.StripPrefix("/old", users()))
                    s.router.PathPrefix("/").Handler(users())
                    http.ListenAndServe(":8080", s.router)
                }
            """,
        },
    )
    endpoints = ds.discover("gorillamux", tmp_path)
    assert ds.triples(endpoints) == {
        # a middleware around a struct: its ServeHTTP answers, not the middleware's closure
        ("ANY", "/events", "ServeHTTP"),
        ("ANY", "/v2/admin/", "h"),
        # StripPrefix in front of another router: its routes under the prefix
        ("GET", "/old/users/{id}", "h"),
        # another router handed the full path
        ("GET", "/users/{id}", "h"),
    }


def test_gorilla_module_is_not_claimed_by_nethttp(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "go.mod": GORILLA_MOD,
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/gorilla/mux"
                )

                func h(w http.ResponseWriter, r *http.Request) {}

                func main() {
                    r := mux.NewRouter()
                    r.HandleFunc("/x", h)
                    http.Handle("/plain", http.HandlerFunc(h))
                    http.ListenAndServe(":8080", r)
                }
            """,
        },
    )
    assert get_framework("nethttp").detect(tmp_path) == []
    # The default mux is not what the server serves.
    assert _pairs("gorillamux", tmp_path) == {("ANY", "/x")}


# --------------------------------------------------------------------------- httptreemux snippets


def test_httptreemux_without_major_version_and_nested_context_groups(tmp_path: Path) -> None:
    # The v5 releases were published without /v5 in the import path first (`+incompatible`).
    _write(
        tmp_path,
        {
            "go.mod": "module m\n\ngo 1.21\n\nrequire github.com/dimfeld/httptreemux v5.0.1+incompatible\n",
            "main.go": """
                package main

                import (
                    "net/http"

                    "github.com/dimfeld/httptreemux"
                )

                func p(w http.ResponseWriter, r *http.Request, params map[string]string) {}

                func h(w http.ResponseWriter, r *http.Request) {}

                func routes(g *httptreemux.ContextGroup) {
                    g.GET("/health", h)
                    g.NewContextGroup("/v1").Handle(http.MethodPatch, "/items/:id", h)
                }

                func main() {
                    mux := httptreemux.NewContextMux()
                    routes(mux.NewGroup("/api"))
                    tree := httptreemux.New()
                    tree.Handle("OPTIONS", "/", p)
                    tree.NewGroup("/").HEAD("/x", p)
                    tree.UsingContext().NewGroup("/ctx").POST("", h)
                    http.Handle("/", tree)
                    http.ListenAndServe(":8080", mux)
                }
            """,
        },
    )
    assert get_framework("nethttp").detect(tmp_path) == []
    pairs = _pairs("httptreemux", tmp_path)
    # The tree handed to the default mux is not served: the server serves `mux`.
    assert pairs == {("GET", "/api/health"), ("PATCH", "/api/v1/items/:id")}


# --------------------------------------------------------------------------- Goji, GOPATH era


def test_a_repository_without_go_mod_is_one_module_named_as_its_imports_name_it() -> None:
    from pipeline.languages.go.project import find_go_mods

    root = (FIXTURES / "goji_gopath_jobs").resolve()
    [mod] = find_go_mods(root)
    assert (mod.root, mod.module) == (root, "github.com/abc-fixtures/jobs")
    # Outside packages are "required" with the paths above them, so goji is claimed by its
    # module's path; the standard library and the repository's own packages are not.
    assert mod.requires_any(["github.com/zenazn/goji"])
    assert not mod.requires_any(["encoding/json", "github.com/abc-fixtures/jobs/store"])


def test_goji_create_reads_the_fields_of_an_inline_struct() -> None:
    endpoints = ds.discover("goji", FIXTURES / "goji_gopath_jobs")
    create = next(e for e in endpoints if (e.method, e.path) == ("POST", "/jobs"))
    # `var in struct { Name string `json:"name"` }`, rejected when empty: a required field.
    assert [(f.name, f.type, f.required) for f in create.body_fields] == [("name", "str", True)]


def test_goji_masks_the_handler_behind_its_context(tmp_path: Path) -> None:
    root = tmp_path / "jobs"
    shutil.copytree(FIXTURES / "goji_gopath_jobs", root)
    endpoint = next(e for e in ds.discover("goji", root) if e.handler.name == "getJob")
    _, masked = ds.mask_handler("goji", root, endpoint.handler, "go")
    assert MASKED in masked
    assert b"func getJob(c web.C, w http.ResponseWriter, r *http.Request)" in masked


def test_goji_default_mux_and_its_server(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "main.go": """
                package main

                import (
                    "net/http"
                    "regexp"

                    "github.com/zenazn/goji"
                    "github.com/zenazn/goji/web"
                )

                func hello(c web.C, w http.ResponseWriter, r *http.Request) {}

                func ping(w http.ResponseWriter, r *http.Request) {}

                func main() {
                    goji.Get("/hello/:name", hello)
                    goji.Handle("/ping", ping)
                    goji.Get(regexp.MustCompile(`^/re/(?P<x>\\d+)$`), hello)
                    goji.Serve()
                }
            """,
        },
    )
    assert get_framework("nethttp").detect(tmp_path) == []
    # A regular-expression pattern has no path to read; `Handle` answers any method.
    assert _pairs("goji", tmp_path) == {("GET", "/hello/:name"), ("ANY", "/ping")}
    hints = get_framework("goji").runtime_hints(tmp_path, ds.service_of("goji", tmp_path))
    assert hints.port == 8000
