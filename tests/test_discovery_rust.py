"""Static endpoint discovery for the Rust frameworks (Axum, Actix-web), against ground truth."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import FRAMEWORKS, get_framework
from pipeline.languages import treesitter as ts
from pipeline.languages.rust.project import ExternT, FnT, ModuleT, RustProject
from pipeline.languages.rust.runtime import env_reads, runtime_env

FIXTURES = ds.FIXTURES
CASES = [
    ("axum", "axum_bookmarks", "src/main.rs"),
    ("actix", "actix_library", "src/main.rs"),
]
DECOYS = {"search_bookmarks", "legacy_tags", "legacy_routes", "update_book", "legacy_config"}


AXUM_TOML = """
    [package]
    name = "{name}"
    version = "0.1.0"
    edition = "2021"

    [dependencies]
    axum = "0.8"
    tokio = {{ version = "1", features = ["full"] }}
"""
ACTIX_TOML = """
    [package]
    name = "{name}"
    version = "0.1.0"
    edition = "2021"

    [dependencies]
    actix-web = "4"
"""


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_detect_fixture_is_exclusive(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_detects_only(name, FIXTURES / fixture, entrypoint)


@pytest.mark.parametrize("name", ["axum", "actix"])
@pytest.mark.parametrize("fixture", ["flask_todo", "express_books", "fastapi_notes"])
def test_rust_frameworks_ignore_other_fixtures(name: str, fixture: str) -> None:
    assert get_framework(name).detect(FIXTURES / fixture) == []


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture)


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_handler_ranges_slice_to_function_and_body(name: str, fixture: str, entrypoint: str) -> None:
    for endpoint, (_, definition, _, body) in ds.endpoint_slices(name, FIXTURES / fixture):
        handler = endpoint.handler
        assert definition.endswith(body)
        assert body.startswith("{") and body.endswith("}")
        if handler.name == "<anonymous>":
            assert definition.startswith("||")
        else:
            assert definition.startswith(("pub async fn ", "async fn ")), definition[:30]
            assert f"fn {handler.name}(" in definition.split("{")[0]
        assert handler.name not in DECOYS


def test_handlers_resolve_across_modules() -> None:
    _, axum_endpoints = ds.fixture_endpoints("axum", "axum_bookmarks")
    by_key = ds.by_key(axum_endpoints)
    assert by_key[("POST", "/api/v1/bookmarks/:id/visit")].file == "src/handlers/bookmarks.rs"
    assert by_key[("GET", "/api/v1/tags/:name")].file == "src/handlers/tags.rs"
    assert by_key[("GET", "/health")].file == "src/handlers/health.rs"
    assert (by_key[("GET", "/")].file, by_key[("GET", "/")].line) == ("src/main.rs", 19)

    _, actix_endpoints = ds.fixture_endpoints("actix", "actix_library")
    by_key = ds.by_key(actix_endpoints)
    assert by_key[("GET", "/api/members/{member_id}/loans")].file == "src/api/members.rs"
    assert by_key[("DELETE", "/api/admin/stats")].file == "src/handlers/admin.rs"
    assert by_key[("ANY", "/api/ping")].name == "ping"


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_decoys_are_not_reported(name: str, fixture: str, entrypoint: str) -> None:
    _, endpoints = ds.fixture_endpoints(name, fixture)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any("legacy" in e.path or "static" in e.path for e in endpoints)


def test_static_file_services_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ds.fixture_endpoints("axum", "axum_bookmarks")
        ds.fixture_endpoints("actix", "actix_library")
    messages = ds.log_messages(caplog)
    assert "nest_service /static serves a tower service" in messages
    assert 'service Files::new("/static", "./static") serves files' in messages


def test_runtime_hints_of_fixtures(caplog: pytest.LogCaptureFixture) -> None:
    axum = get_framework("axum")
    root = FIXTURES / "axum_bookmarks"
    hints = axum.runtime_hints(root, ds.service_of(axum, root))
    assert hints.start_command == ["./target/release/bookmarks-api"]
    assert hints.port == 3000
    assert hints.env == {"API_TOKEN": "dummy-API_TOKEN", "PORT": "3000"}
    assert hints.extra_packages == []

    actix = get_framework("actix")
    root = FIXTURES / "actix_library"
    with caplog.at_level(logging.WARNING):
        hints = actix.runtime_hints(root, ds.service_of(actix, root))
    assert hints.start_command == ["./target/release/library-service"]
    assert hints.port == 8080
    # CARGO_PKG_VERSION (env!) is set by Cargo itself.
    assert hints.env == {"ADMIN_KEY": "dummy-ADMIN_KEY"}
    assert "binds to 127.0.0.1:8080" in caplog.text


# --------------------------------------------------------------------------- masking


def _masked(name: str, fixture: str) -> dict[str, str]:
    """Handler name -> its masked definition."""
    root, endpoints = ds.fixture_endpoints(name, fixture)
    framework = get_framework(name)
    out: dict[str, str] = {}
    for endpoint in endpoints:
        handler = endpoint.handler
        source, masked = ds.mask_handler(framework, root, handler, "rust")
        # Everything before the body (attributes, signature) and after the handler is untouched.
        assert masked[: handler.body_start_byte] == source[: handler.body_start_byte]
        assert masked.endswith(source[handler.end_byte :])
        delta = len(masked) - len(source)
        out[handler.name] = masked[handler.start_byte : handler.end_byte + delta].decode()
    return out


def test_axum_masking_answers_501_where_the_return_type_allows() -> None:
    masked = _masked("axum", "axum_bookmarks")
    status = "axum::http::StatusCode::NOT_IMPLEMENTED"
    assert masked["health"] == f"pub async fn health() -> impl IntoResponse {{\n    {status}\n}}"
    assert masked["delete_bookmark"].endswith(f") -> StatusCode {{\n    {status}\n}}")
    assert masked["update_bookmark"].endswith(f"Result<Json<Bookmark>, StatusCode> {{\n    Err({status})\n}}")
    assert masked["visit"].endswith(f"Result<impl IntoResponse, AppError> {{\n    Ok({status})\n}}")
    assert masked["bookmarks_for_tag"].endswith(
        f") -> Response {{\n    axum::response::IntoResponse::into_response({status})\n}}"
    )
    assert masked["echo"].endswith(f'{{\n    ({status}, String::from("Not Implemented"))\n}}')
    # Types that cannot carry a 501 (Json<T>, a custom error) fall back to unimplemented!().
    assert masked["get_bookmark"].endswith("Result<Json<Bookmark>, AppError> {\n    unimplemented!()\n}")
    assert masked["list_bookmarks"].endswith("-> Json<Vec<Bookmark>> {\n    unimplemented!()\n}")
    assert masked["<anonymous>"] == f"|| async {{ axum::response::IntoResponse::into_response({status}) }}"


def test_actix_masking_answers_501_where_the_return_type_allows() -> None:
    masked = _masked("actix", "actix_library")
    ni = "actix_web::HttpResponse::NotImplemented().finish()"
    assert masked["health"] == f"pub async fn health() -> impl Responder {{\n    {ni}\n}}"
    assert masked["version"] == f"pub async fn version() -> HttpResponse {{\n    {ni}\n}}"
    assert masked["stats"].endswith(f"Result<HttpResponse, actix_web::Error> {{\n    Ok({ni})\n}}")
    assert masked["member"].endswith(f"actix_web::Result<HttpResponse> {{\n    Ok({ni})\n}}")
    # `Error` is actix_web's (imported in books.rs), so the error side can carry the 501.
    assert masked["get_book"].endswith(
        'Result<web::Json<Book>, Error> {\n    Err(actix_web::error::ErrorNotImplemented("Not Implemented"))\n}'
    )
    assert masked["ping"] == "pub async fn ping() -> &'static str {\n    unimplemented!()\n}"
    # The route attribute is kept.
    source = (FIXTURES / "actix_library/src/handlers/health.rs").read_text()
    assert '#[get("/health")]\npub async fn health()' in source


def test_actix_masking_keeps_a_foreign_error_type() -> None:
    actix = get_framework("actix")
    source = b"use crate::AppError;\n\nasync fn h() -> Result<web::Json<u8>, Error> {\n    todo!()\n}\n"
    node = ts.parse(source, "rust").root_node.named_children[1]
    body = node.child_by_field_name("body")
    from pipeline.models import Handler

    handler = Handler(
        file="x.rs",
        name="h",
        line=3,
        start_byte=node.start_byte,
        end_byte=node.end_byte,
        body_start_byte=body.start_byte,
        body_end_byte=body.end_byte,
    )
    assert b"unimplemented!()" in actix.mask_body(source, handler)


# --------------------------------------------------------------------------- axum constructs


def test_axum_08_syntax_state_routers_and_serve_in_another_function(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": AXUM_TOML.format(name="shop"),
            "src/main.rs": """
                mod api;
                mod handlers;
                mod startup;

                use axum::Router;

                const HEALTH: &str = "/healthz";

                #[tokio::main]
                async fn main() {
                    let mut app = Router::new().route(HEALTH, axum::routing::get(handlers::health));
                    let v1 = format!("{}/v1", "/api");
                    app = app.nest(&v1, api::router());
                    if std::env::var("DEBUG").is_ok() {
                        app = app.merge(api::debug_routes());
                    }
                    startup::run(app).await;
                }
            """,
            "src/startup.rs": """
                use axum::Router;

                pub async fn run(app: Router) {
                    let listener = tokio::net::TcpListener::bind("0.0.0.0:8000").await.unwrap();
                    axum::serve(listener, app.into_make_service()).await.unwrap();
                }
            """,
            "src/api.rs": """
                mod items;

                use axum::{routing::*, Router};

                pub fn router() -> Router {
                    let items = items::ItemController::routes();
                    with_files(Router::new().nest("/items", items))
                }

                fn with_files(router: Router) -> Router {
                    router
                        .route(
                            "/files/{*path}",
                            get(super::handlers::file).layer(tower::limit::ConcurrencyLimitLayer::new(4)),
                        )
                        .route_service("/assets", tower_http::services::ServeDir::new("assets"))
                }

                pub fn debug_routes() -> Router {
                    Router::new().route(
                        "/debug",
                        on(MethodFilter::GET.or(MethodFilter::POST), |body: String| async move { body }),
                    )
                }

                pub fn unused_routes() -> Router {
                    Router::new().route("/unused", get(super::handlers::unused))
                }
            """,
            "src/api/items.rs": """
                use axum::routing::{delete, get};
                use axum::Router;

                pub struct ItemController;

                impl ItemController {
                    pub fn routes() -> Router {
                        Router::new()
                            .route("/", get(Self::list))
                            .route("/{id}", get(Self::show).merge(delete(ItemController::remove)))
                    }

                    async fn list() -> &'static str { "[]" }
                    async fn show() -> &'static str { "{}" }
                    async fn remove() -> axum::http::StatusCode { axum::http::StatusCode::NO_CONTENT }
                }
            """,
            "src/handlers/mod.rs": """
                mod misc;

                pub use misc::*;
            """,
            "src/handlers/misc.rs": """
                pub async fn health() -> &'static str { "ok" }
                pub async fn file() -> &'static str { "file" }
                pub async fn unused() -> &'static str { "unused" }
            """,
        },
    )
    endpoints = ds.discover("axum", tmp_path)
    assert ds.triples(endpoints) == {
        ("GET", "/healthz", "health"),
        ("GET", "/api/v1/items", "list"),
        ("GET", "/api/v1/items/{id}", "show"),
        ("DELETE", "/api/v1/items/{id}", "remove"),
        ("GET", "/api/v1/files/{*path}", "file"),
        ("GET", "/debug", "<anonymous>"),
        ("POST", "/debug", "<anonymous>"),
    }
    files = {e.handler.name: e.handler.file for e in endpoints}
    assert files["show"] == "src/api/items.rs"
    assert files["file"] == "src/handlers/misc.rs"
    assert files["<anonymous>"] == "src/api.rs"
    hints = get_framework("axum").runtime_hints(tmp_path, ds.service_of(get_framework("axum"), tmp_path))
    assert hints.port == 8000
    assert hints.start_command == ["./target/release/shop"]
    assert hints.env == {}  # DEBUG is optional (is_ok)


def test_axum_masks_a_closure_with_a_body_block(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": AXUM_TOML.format(name="c"),
            "src/main.rs": """
                use axum::{routing::post, Router};

                #[tokio::main]
                async fn main() {
                    let app = Router::new().route("/echo", post(|body: String| async move {
                        let upper = body.to_uppercase();
                        upper
                    }));
                    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
                    axum::serve(listener, app).await.unwrap();
                }
            """,
        },
    )
    [endpoint] = ds.discover("axum", tmp_path)
    source = (tmp_path / "src/main.rs").read_bytes()
    masked = get_framework("axum").mask_body(source, endpoint.handler).decode()
    assert (
        "post(|body: String| async move { axum::response::IntoResponse::into_response("
        "axum::http::StatusCode::NOT_IMPLEMENTED) }));" in masked
    )


def test_axum_shuttle_main_returns_the_router(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": AXUM_TOML.format(name="shuttle-app") + 'shuttle-axum = "0.47"\n',
            "src/main.rs": """
                use shuttle_axum::axum::{routing::get, Router};

                async fn hello() -> &'static str { "hi" }
                async fn cli() -> &'static str { "cli" }

                #[cfg(feature = "cli")]
                fn main() {
                    let _unused = Router::<()>::new().route("/cli", get(cli));
                }

                #[cfg(not(feature = "cli"))]
                #[shuttle_runtime::main]
                async fn shuttle_main() -> shuttle_axum::ShuttleAxum {
                    let router = Router::new().route("/", get(hello));
                    Ok(router.into())
                }
            """,
        },
    )
    assert ds.triples(ds.discover("axum", tmp_path)) == {("GET", "/", "hello")}


def test_axum_paths_from_configuration_take_the_programs_default(tmp_path: Path) -> None:
    """A path the configuration may set, with the program's own default when it does not
    (rustpbx: `proxy.ami_path.clone().unwrap_or_else(|| DEFAULT_AMI_PATH.to_string())`): the
    routes are found under the default, which is what the service serves unconfigured."""
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": AXUM_TOML.format(name="configured-paths")
            + '\n[features]\ndefault = ["console"]\nconsole = ["dep:tokio"]\ncommerce = []\n',
            "src/config.rs": """
                pub const DEFAULT_ADMIN_PATH: &str = "/admin";

                pub struct Config { pub admin_path: Option<String>, pub status_path: Option<String> }
            """,
            "src/main.rs": """
                mod config;
                use axum::{routing::get, Router};

                async fn health() -> &'static str { "ok" }
                async fn status() -> &'static str { "up" }

                fn router(cfg: &config::Config) -> Router {
                    let admin = cfg.admin_path.clone().unwrap_or_else(|| crate::config::DEFAULT_ADMIN_PATH.to_string());
                    let status_path = cfg.status_path.as_deref().unwrap_or("/status");
                    let inner = Router::new().route("/health", get(health));
                    // Only in a build with a feature the default does not enable: not served.
                    #[cfg(feature = "commerce")]
                    let inner = inner.route("/cluster", get(status));
                    #[cfg(any(feature = "console", test))]
                    let inner = inner.route("/console", get(status));
                    Router::new().route(status_path, get(status)).nest(&admin, inner)
                }

                #[tokio::main]
                async fn main() {
                    let cfg = config::Config { admin_path: None, status_path: None };
                    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
                    axum::serve(listener, router(&cfg)).await.unwrap();
                }
            """,
        },
    )
    assert ds.triples(ds.discover("axum", tmp_path)) == {
        ("GET", "/status", "status"),
        ("GET", "/admin/health", "health"),
        ("GET", "/admin/console", "status"),
    }


def test_axum_workspace_members_and_library_crates(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": """
                [workspace]
                members = ["api", "admin", "shared", "worker"]
                resolver = "2"

                [workspace.dependencies]
                axum = "0.7"
                shared = { path = "shared" }
            """,
            "api/Cargo.toml": """
                [package]
                name = "api"
                version = "0.1.0"
                edition = "2021"

                [[bin]]
                name = "api-server"
                path = "src/main.rs"

                [dependencies]
                shared = { workspace = true }
                tokio = { version = "1", features = ["full"] }
            """,
            "api/src/main.rs": """
                use shared::routes::router;

                #[tokio::main]
                async fn main() {
                    let port = std::env::var("PORT").unwrap_or_else(|_| "9000".to_string());
                    let addr = format!("0.0.0.0:{port}");
                    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
                    let db = std::env::var("DATABASE_URL").expect("DATABASE_URL");
                    axum::serve(listener, router(db)).await.unwrap();
                }
            """,
            "shared/Cargo.toml": """
                [package]
                name = "shared"
                version = "0.1.0"
                edition = "2021"

                [dependencies]
                axum = { workspace = true }
                extra-routes = { path = "../extra" }
            """,
            "shared/src/lib.rs": """
                pub mod routes;
                pub mod users;
            """,
            "extra/Cargo.toml": """
                [package]
                name = "extra-routes"
                version = "0.1.0"
                edition = "2021"

                [dependencies]
                axum = "0.7"
            """,
            "extra/src/lib.rs": """
                use axum::{routing::get, Router};

                pub fn router() -> Router {
                    Router::new().route("/version", get(version))
                }

                async fn version() -> &'static str { "1" }
            """,
            "shared/src/routes.rs": """
                use axum::{routing::get, Router};

                use crate::users;

                pub fn router(_db: String) -> Router {
                    Router::new().route("/users/:id", get(users::show)).merge(extra_routes::router())
                }
            """,
            "shared/src/users.rs": """
                pub async fn show() -> &'static str { "user" }
            """,
            "admin/Cargo.toml": """
                [package]
                name = "admin"
                version = "0.1.0"
                edition = "2021"

                [dependencies]
                axum = { workspace = true }
            """,
            "admin/src/main.rs": """
                use axum::{routing::get, Router};

                #[tokio::main]
                async fn main() {
                    let app = Router::new().route("/admin", get(|| async { "admin" }));
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await.unwrap();
                    axum::serve(listener, app).await.unwrap();
                }
            """,
            "worker/Cargo.toml": """
                [package]
                name = "worker"
                version = "0.1.0"
                edition = "2021"

                [dependencies]
                tokio = "1"
            """,
            "worker/src/main.rs": "fn main() {}\n",
            "target/release/build/x/out/Cargo.toml": '[package]\nname = "gen"\n[dependencies]\naxum = "0.7"\n',
            "target/release/build/x/out/src/main.rs": "fn main() {}\n",
        },
    )
    axum = get_framework("axum")
    services = axum.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [
        ((tmp_path / "admin").resolve(), "src/main.rs"),
        ((tmp_path / "api").resolve(), "src/main.rs"),
    ]
    assert get_framework("actix").detect(tmp_path) == []
    api = services[1]
    endpoints = axum.discover(tmp_path, api)
    assert ds.triples(endpoints) == {("GET", "/users/:id", "show"), ("GET", "/version", "version")}
    assert [e.handler.file for e in endpoints] == ["shared/src/users.rs", "extra/src/lib.rs"]
    hints = axum.runtime_hints(tmp_path, api)
    assert hints.start_command == ["../target/release/api-server"]
    assert hints.port == 9000
    assert hints.env == {"DATABASE_URL": "dummy-DATABASE_URL", "PORT": "9000"}
    admin_hints = axum.runtime_hints(tmp_path, services[0])
    assert (admin_hints.start_command, admin_hints.port) == (["../target/release/admin"], 4000)


def test_axum_file_that_does_not_parse_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": AXUM_TOML.format(name="b"),
            "src/main.rs": """
                mod broken;

                use axum::{routing::get, Router};

                #[tokio::main]
                async fn main() {
                    let app = Router::new()
                        .route("/ok", get(ok))
                        .merge(broken::routes());
                    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
                    axum::serve(listener, app).await.unwrap();
                }

                async fn ok() -> &'static str { "ok" }
            """,
            "src/broken.rs": "pub fn routes( -> Router {\n",
        },
    )
    with caplog.at_level(logging.WARNING):
        endpoints = ds.discover("axum", tmp_path)
    assert ds.triples(endpoints) == {("GET", "/ok", "ok")}
    assert "src/broken.rs: does not parse as rust" in caplog.text


def test_manifest_oddities_do_not_crash(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "a/Cargo.toml": "this is [not toml\n",
            "b/Cargo.toml": '[package]\nname = "b"\n[dependencies]\naxum = "0.7"\n',  # a library: no bin
            "b/src/lib.rs": "pub fn x() {}\n",
            "c/Cargo.toml": '[package]\nname = "c"\n[dependencies]\nweb = { package = "actix-web", version = "4" }\n',
            "c/src/main.rs": "fn main() {}\n",
        },
    )
    assert get_framework("axum").detect(tmp_path) == []
    assert [s.root for s in get_framework("actix").detect(tmp_path)] == [(tmp_path / "c").resolve()]
    assert get_framework("actix").discover(tmp_path, get_framework("actix").detect(tmp_path)[0]) == []


# --------------------------------------------------------------------------- actix constructs


def test_actix_scopes_resources_guards_and_configure_chains(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": ACTIX_TOML.format(name="blog"),
            "src/main.rs": """
                mod routes;

                use actix_web::{guard, http::Method, web, App, HttpResponse, HttpServer};

                async fn index() -> HttpResponse { HttpResponse::Ok().finish() }
                async fn purge() -> HttpResponse { HttpResponse::Ok().finish() }
                async fn anything() -> HttpResponse { HttpResponse::Ok().finish() }

                fn app_config(cfg: &mut web::ServiceConfig) {
                    routes::init(cfg);
                    cfg.route("/purge", web::route().guard(guard::Post()).to(purge));
                }

                #[actix_web::main]
                async fn main() -> std::io::Result<()> {
                    let port: u16 = std::env::var("APP_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(5000);
                    HttpServer::new(|| {
                        App::new()
                            .route("/", web::get().to(index))
                            .service(web::resource(["/any", "/also"]).to(anything))
                            .route("/opts", web::method(Method::OPTIONS).to(|| async { HttpResponse::Ok() }))
                            .configure(app_config)
                    })
                    .bind(("0.0.0.0", port))?
                    .run()
                    .await
                }
            """,
            "src/routes/mod.rs": """
                pub mod posts;

                use actix_web::web;

                pub fn init(cfg: &mut web::ServiceConfig) {
                    cfg.service(
                        web::scope("v1").service(
                            web::scope("/posts")
                                .service((posts::list, posts::create))
                                .service(posts::by_slug)
                                .route("/{id}/publish", web::put().to(posts::publish)),
                        ),
                    );
                }
            """,
            "src/routes/posts.rs": """
                use actix_web::{get, post, routes, web, HttpResponse, Responder};

                #[get("/")]
                pub async fn list() -> impl Responder { HttpResponse::Ok() }

                #[post("/")]
                pub async fn create() -> impl Responder { HttpResponse::Created() }

                #[routes]
                #[get("/slug/{slug}")]
                #[get("/s/{slug}")]
                pub async fn by_slug(slug: web::Path<String>) -> String { slug.into_inner() }

                pub async fn publish(id: web::Path<u32>) -> HttpResponse { HttpResponse::Ok().finish() }

                #[actix_web::delete("/{id}")]
                pub async fn remove(id: web::Path<u32>) -> HttpResponse { HttpResponse::Ok().finish() }
            """,
        },
    )
    endpoints = ds.discover("actix", tmp_path)
    assert ds.triples(endpoints) == {
        ("GET", "/", "index"),
        ("ANY", "/any", "anything"),
        ("ANY", "/also", "anything"),
        ("OPTIONS", "/opts", "<anonymous>"),
        ("POST", "/purge", "purge"),
        ("GET", "/v1/posts/", "list"),
        ("POST", "/v1/posts/", "create"),
        ("GET", "/v1/posts/slug/{slug}", "by_slug"),
        ("GET", "/v1/posts/s/{slug}", "by_slug"),
        ("PUT", "/v1/posts/{id}/publish", "publish"),
    }
    by_key = ds.by_key(endpoints)
    assert by_key[("GET", "/v1/posts/slug/{slug}")].file == "src/routes/posts.rs"
    hints = get_framework("actix").runtime_hints(tmp_path, ds.service_of(get_framework("actix"), tmp_path))
    assert hints.port == 5000
    assert hints.env == {"APP_PORT": "5000"}


def test_actix_shuttle_config_closure(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": ACTIX_TOML.format(name="hello") + 'shuttle-actix-web = "0.47"\n',
            "src/main.rs": """
                use actix_web::{get, web::ServiceConfig};
                use shuttle_actix_web::ShuttleActixWeb;

                #[get("/hello")]
                async fn hello_world() -> &'static str {
                    "Hello World!"
                }

                #[get("/bye")]
                async fn bye() -> &'static str {
                    "bye"
                }

                #[shuttle_runtime::main]
                async fn main() -> ShuttleActixWeb<impl FnOnce(&mut ServiceConfig) + Send + Clone + 'static> {
                    let config = move |cfg: &mut ServiceConfig| {
                        cfg.service(hello_world);
                    };
                    Ok(config.into())
                }
            """,
        },
    )
    assert ds.triples(ds.discover("actix", tmp_path)) == {("GET", "/hello", "hello_world")}


def test_multiple_rust_services_in_one_repository(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "axum_bookmarks", tmp_path / "services" / "bookmarks")
    shutil.copytree(FIXTURES / "actix_library", tmp_path / "services" / "library")
    shutil.copytree(FIXTURES / "flask_todo", tmp_path / "services" / "todo")
    found = {(f.name, c.root) for f in FRAMEWORKS for c in f.detect(tmp_path)}
    assert found == {
        ("axum", (tmp_path / "services" / "bookmarks").resolve()),
        ("actix", (tmp_path / "services" / "library").resolve()),
        ("flask", (tmp_path / "services" / "todo").resolve()),
    }
    actix = get_framework("actix")
    endpoints = actix.discover(tmp_path, actix.detect(tmp_path)[0])
    assert len(endpoints) == 15
    assert {e.handler.file for e in endpoints} == {
        "services/library/src/api/books.rs",
        "services/library/src/api/members.rs",
        "services/library/src/handlers/admin.rs",
        "services/library/src/handlers/health.rs",
    }


# --------------------------------------------------------------------------- helpers


def test_module_tree_and_use_resolution(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": '[package]\nname = "m"\n',
            "src/main.rs": """
                mod a;
                #[path = "other/c_impl.rs"]
                mod c;
                mod inline {
                    pub fn f() {}
                }
                use a::b::{self, g as renamed};
                use crate::inline::*;
                fn main() {}
            """,
            "src/a.rs": "pub mod b;\nmod home;\npub use home::*;\n",
            "src/a/home.rs": "pub fn home() {}\n",
            "src/a/b.rs": "pub fn g() {}\nuse super::super::c::h;\npub fn uses_super() {}\n",
            "src/other/c_impl.rs": "pub fn h() {}\n",
        },
    )
    project = RustProject(tmp_path, tmp_path, "src/main.rs")
    assert project.bin is not None and project.bin.root is not None
    root = project.bin.root
    assert sorted(m.rel for m in project.bin.modules) == [
        "src/a.rs",
        "src/a/b.rs",
        "src/a/home.rs",
        "src/main.rs",
        "src/main.rs",
        "src/other/c_impl.rs",
    ]
    renamed = project.resolve(root, ["renamed"])
    assert isinstance(renamed, FnT) and renamed.module.rel == "src/a/b.rs"
    assert isinstance(project.resolve(root, ["f"]), FnT)
    assert isinstance(project.resolve(root, ["b", "uses_super"]), FnT)
    b = project.resolve(root, ["b"])
    assert isinstance(b, ModuleT)
    h = project.resolve(b.module, ["h"])
    assert isinstance(h, FnT) and h.module.rel == "src/other/c_impl.rs"
    assert project.resolve(root, ["axum", "routing", "get"]) == ExternT(("axum", "routing", "get"))
    # `home` is both a module and (re-exported) a function: values and modules are apart.
    assert isinstance(project.resolve(root, ["a", "home"]), ModuleT)
    home = project.resolve(root, ["a", "home"], value=True)
    assert isinstance(home, FnT) and home.module.rel == "src/a/home.rs"


def test_actix_join_and_axum_join() -> None:
    from pipeline.languages.rust.actix import actix_join
    from pipeline.languages.rust.axum import axum_join

    assert axum_join("/api", "/") == "/api"
    assert axum_join("/api/", "/x") == "/api/x"
    assert axum_join("", "/x") == "/x"
    assert actix_join("/api", "") == "/api"
    assert actix_join("/api", "/") == "/api/"
    assert actix_join("/api", "x") == "/api/x"
    assert actix_join("/", "/x") == "/x"


def test_axum_utoipa_routes_and_method_picked_in_the_handler(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": AXUM_TOML.format(name="docs") + 'utoipa-axum = "0.2"\nutoipa = "5"\n',
            "src/main.rs": """
                mod pets;

                use axum::http::Method;
                use axum::routing::any;
                use utoipa_axum::{router::OpenApiRouter, routes};

                async fn preflight(method: Method) -> &'static str {
                    match method {
                        Method::OPTIONS => "ok",
                        Method::HEAD => "",
                        _ => "no",
                    }
                }

                #[tokio::main]
                async fn main() {
                    let (router, _api) = OpenApiRouter::new()
                        .routes(routes!(pets::list_pets, pets::add_pet))
                        .routes(routes!(pets::get_pet))
                        .split_for_parts();
                    let app = router.route("/preflight", any(preflight));
                    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
                    tokio::join!(axum::serve(listener, app), async {});
                }
            """,
            "src/pets.rs": """
                #[utoipa::path(get, path = "/pets", responses((status = 200)))]
                pub async fn list_pets() -> &'static str { "[]" }

                #[utoipa::path(post, path = "/pets")]
                pub async fn add_pet() -> &'static str { "{}" }

                #[utoipa::path(method(get, head), path = "/pets/{id}", params(("id" = u64, Path)))]
                pub async fn get_pet() -> &'static str { "{}" }

                #[utoipa::path(delete, path = "/pets/{id}")]
                pub async fn delete_pet() -> &'static str { "" }
            """,
        },
    )
    assert ds.triples(ds.discover("axum", tmp_path)) == {
        ("GET", "/pets", "list_pets"),
        ("POST", "/pets", "add_pet"),
        ("GET", "/pets/{id}", "get_pet"),
        ("HEAD", "/pets/{id}", "get_pet"),
        ("HEAD", "/preflight", "preflight"),
        ("OPTIONS", "/preflight", "preflight"),
    }


def test_helpers_called_from_many_places_are_evaluated_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Every f<i> calls f<i+1> twice: without memoisation the walk would be exponential.
    lines = ["use axum::{routing::get, Router};", 'async fn h() -> &\'static str { "x" }']
    for i in range(60):
        calls = f"f{i + 1}(a.clone()); f{i + 1}(a.clone());" if i < 59 else ""
        lines.append(f"fn f{i}(a: String) {{ let _b = a.len(); {calls} }}")
    lines.append(
        "#[tokio::main] async fn main() { f0(String::new()); "
        'let app = Router::new().route("/", get(h)); '
        'let l = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap(); axum::serve(l, app).await.unwrap(); }'
    )
    ds.write_files(tmp_path, {"Cargo.toml": AXUM_TOML.format(name="big"), "src/main.rs": "\n".join(lines) + "\n"})
    with caplog.at_level(logging.WARNING):
        assert ds.triples(ds.discover("axum", tmp_path)) == {("GET", "/", "h")}
    assert "budget exhausted" not in caplog.text


def test_body_fields_of_json_extractors() -> None:
    _, axum_endpoints = ds.fixture_endpoints("axum", "axum_bookmarks")
    assert ds.body_fields(axum_endpoints, "POST", "/api/v1/bookmarks") == {
        "url": ("str", True),
        "title": ("str", True),
        "tags": ("list", False),  # #[serde(default)]
    }
    assert ds.body_fields(axum_endpoints, "GET", "/api/v1/bookmarks") == {}
    _, actix_endpoints = ds.fixture_endpoints("actix", "actix_library")
    assert ds.body_fields(actix_endpoints, "POST", "/api/books") == {"title": ("str", True), "author": ("str", True)}
    assert ds.body_fields(actix_endpoints, "POST", "/api/members/{member_id}/loans") == {"book_id": ("int", True)}


def test_body_fields_follow_serde_attributes(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "Cargo.toml": AXUM_TOML.format(name="serde-app"),
            "src/main.rs": """
                mod model;

                use axum::{routing::post, Json, Router};

                async fn create(Json(input): Json<model::NewUser>) -> &'static str { "ok" }

                #[tokio::main]
                async fn main() {
                    let app = Router::new().route("/users", post(create));
                    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
                    axum::serve(listener, app).await.unwrap();
                }
            """,
            "src/model.rs": """
                use serde::Deserialize;
                use std::collections::HashMap;

                #[derive(Deserialize)]
                pub struct Address {
                    pub city: String,
                }

                #[derive(Deserialize)]
                #[serde(rename_all = "camelCase")]
                pub struct NewUser {
                    pub display_name: String,
                    pub age: Option<u8>,
                    #[serde(rename = "e-mail")]
                    pub email: String,
                    pub score: f64,
                    pub admin: bool,
                    pub address: Address,
                    pub labels: HashMap<String, String>,
                    #[serde(skip)]
                    pub internal: u32,
                }
            """,
        },
    )
    assert ds.body_fields(ds.discover("axum", tmp_path), "POST", "/users") == {
        "displayName": ("str", True),
        "age": ("int", False),
        "e-mail": ("str", True),
        "score": ("float", True),
        "admin": ("bool", True),
        "address": ("dict", True),
        "labels": ("dict", True),
    }


def test_long_builder_chains_and_modules_outside_the_repository(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chain = "".join(f'.route("/r{i}", get(h))' for i in range(1500))
    ds.write_files(
        tmp_path / "app",
        {
            "Cargo.toml": AXUM_TOML.format(name="long"),
            "src/main.rs": f"""
                #[path = "../../outside.rs"]
                mod outside;

                use axum::{{routing::get, Router}};

                async fn h() -> &'static str {{ "x" }}

                #[tokio::main]
                async fn main() {{
                    let app = Router::new(){chain}.merge(outside::routes());
                    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await.unwrap();
                    axum::serve(listener, app).await.unwrap();
                }}
            """,
        },
    )
    (tmp_path / "outside.rs").write_text("pub fn routes() -> axum::Router { axum::Router::new() }\n")
    repo = tmp_path / "app"
    with caplog.at_level(logging.WARNING):
        endpoints = ds.discover("axum", repo)
    assert len(endpoints) == 1500
    assert ("GET", "/r1499", "h") in ds.triples(endpoints)
    assert "module outside points outside the repository" in caplog.text


def test_env_reads_tell_required_from_optional(tmp_path: Path) -> None:
    source = b"""
        use std::env;

        fn config() -> Result<(), env::VarError> {
            if let Ok(level) = env::var("LOG_LEVEL") { drop(level); }
            let secret = env::var("SECRET")?;
            let mode = env::var("MODE").unwrap() == "prod";
            let debug = env::var("DEBUG").is_ok();
            let workers = std::env::var("WORKERS").expect("WORKERS").parse::<u32>().unwrap();
            let home = env::var("HOME").unwrap();
            let built = env!("BUILD_ID");
            let host = env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
            let smtp = env::var("SMTP_PORT").unwrap();
            Ok(())
        }
    """
    sf = ts.SourceFile(path=tmp_path / "x.rs", rel="x.rs", source=source, tree=ts.parse(source, "rust"))
    reads = {r.name: (r.required, r.numeric) for r in env_reads([sf])}
    assert reads == {
        "LOG_LEVEL": (False, False),
        "SECRET": (True, False),
        "MODE": (True, False),
        "DEBUG": (False, False),
        "WORKERS": (True, True),
        "HOME": (True, False),
        "BUILD_ID": (True, False),
        "HOST": (False, False),
        "SMTP_PORT": (True, False),
    }
    assert runtime_env(env_reads([sf]), 8000) == {
        "BUILD_ID": "dummy-BUILD_ID",
        "HOST": "0.0.0.0",
        "MODE": "dummy-MODE",
        "SECRET": "dummy-SECRET",
        "SMTP_PORT": "dummy-SMTP_PORT",
        "WORKERS": "1",
    }
