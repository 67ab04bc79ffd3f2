"""Static endpoint discovery for Laravel, Symfony and Slim, against ground truth."""

from __future__ import annotations

import logging
import shutil
import textwrap
from pathlib import Path

import discovery_support as ds
import pytest
from toolbox import check_files

from pipeline.languages import FRAMEWORKS, get_framework
from pipeline.languages import treesitter as ts
from pipeline.languages.php.laravel import DUMMY_APP_KEY, singular
from pipeline.models import Handler

FIXTURES = ds.FIXTURES
CASES = [
    ("laravel", "laravel_blog", "artisan"),
    ("symfony", "symfony_shop", "public/index.php"),
    ("slim", "slim_notes", "public/index.php"),
]
PHP_FRAMEWORKS = ("laravel", "symfony", "slim")
DECOYS = {"archive", "legacyIndex", "export", "legacyOrders", "legacyList"}


COMPOSER = {
    "laravel": '{"require": {"php": "^8.2", "laravel/framework": "^11.0"}, "autoload": {"psr-4": {"App\\\\": "app/"}}}',
    "symfony": '{"require": {"symfony/framework-bundle": "7.1.*"}, "autoload": {"psr-4": {"App\\\\": "src/"}}}',
    "slim": '{"require": {"slim/slim": "^4.12"}, "autoload": {"psr-4": {"App\\\\": "src/"}}}',
}


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_detect_fixture_and_exclusivity(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_detects_only(name, FIXTURES / fixture, entrypoint)


@pytest.mark.parametrize("name", PHP_FRAMEWORKS)
@pytest.mark.parametrize("fixture", ["flask_todo", "express_books", "fastapi_notes"])
def test_php_frameworks_do_not_claim_other_fixtures(name: str, fixture: str) -> None:
    assert get_framework(name).detect(FIXTURES / fixture) == []


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture)


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_handler_ranges_slice_to_function_and_body(name: str, fixture: str, entrypoint: str) -> None:
    for endpoint, (_, definition, signature, body) in ds.endpoint_slices(name, FIXTURES / fixture):
        handler = endpoint.handler
        assert definition.endswith(body)
        if handler.name == "<anonymous>":
            assert definition.startswith(("function ", "fn ", "static function", "static fn")), definition[:30]
        else:
            assert f"function {handler.name}(" in signature
            assert body.startswith("{") and body.endswith("}")
        assert handler.name not in DECOYS


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_decoys_are_not_reported(name: str, fixture: str, entrypoint: str) -> None:
    endpoints = ds.discover(name, FIXTURES / fixture)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any("legacy" in e.path for e in endpoints)
    assert not any("Legacy" in e.handler.file for e in endpoints)


def test_handlers_resolve_to_controllers_across_files() -> None:
    laravel = ds.by_key(ds.discover("laravel", FIXTURES / "laravel_blog"))
    assert laravel[("GET", "/api/v1/posts/{post}")].file == "app/Http/Controllers/PostController.php"
    assert laravel[("GET", "/api/v1/posts/{post}/comments")].file == "app/Http/Controllers/CommentController.php"
    assert laravel[("DELETE", "/api/admin/cache/{key?}")].file == "app/Http/Controllers/Admin/CacheController.php"
    assert laravel[("GET", "/api/v1/tags")].file == "app/Http/Controllers/TagController.php"
    assert laravel[("GET", "/api/status")].file == "routes/api.php"
    assert laravel[("GET", "/")].file == "routes/web.php"
    symfony = ds.by_key(ds.discover("symfony", FIXTURES / "symfony_shop"))
    assert symfony[("GET", "/health")].file == "src/Health/HealthCheck.php"
    assert symfony[("ANY", "/admin/ping")].file == "src/Admin/PingController.php"
    slim = ds.by_key(ds.discover("slim", FIXTURES / "slim_notes"))
    assert slim[("GET", "/api/users")].file == "src/Action/ListUsersAction.php"
    assert slim[("DELETE", "/api/notes/{id:[0-9]+}")].file == "src/Controller/NoteController.php"
    assert slim[("ANY", "/api/echo")].file == "app/routes.php"


def test_runtime_hints() -> None:
    laravel = get_framework("laravel")
    root = FIXTURES / "laravel_blog"
    hints = laravel.runtime_hints(root, ds.service_of(laravel, root))
    assert hints.start_command == ["php", "artisan", "serve", "--host=0.0.0.0", "--port=8000"]
    assert hints.setup_commands == ["touch database/database.sqlite", "php artisan migrate --force"]
    assert hints.port == 8000 and hints.extra_packages == []
    assert hints.env == {
        "APP_DEBUG": "false",
        "APP_ENV": "local",
        "APP_KEY": DUMMY_APP_KEY,
        "DB_CONNECTION": "sqlite",
        "FEED_TOKEN": "dummy-FEED_TOKEN",
    }
    import base64

    assert len(base64.b64decode(DUMMY_APP_KEY.removeprefix("base64:"))) == 32

    symfony = get_framework("symfony")
    root = FIXTURES / "symfony_shop"
    hints = symfony.runtime_hints(root, ds.service_of(symfony, root))
    assert hints.start_command == ["php", "-S", "0.0.0.0:8000", "-t", "public", "public/index.php"]
    assert hints.port == 8000
    assert hints.env == {
        "APP_DEBUG": "0",
        "APP_ENV": "prod",
        "APP_SECRET": "dummy-APP_SECRET",
        "PAYMENT_API_KEY": "dummy-PAYMENT_API_KEY",
    }
    assert hints.setup_commands == []

    slim = get_framework("slim")
    root = FIXTURES / "slim_notes"
    hints = slim.runtime_hints(root, ds.service_of(slim, root))
    assert hints.start_command == ["php", "-S", "0.0.0.0:8000", "-t", "public", "public/index.php"]
    assert hints.env == {"APP_DEBUG": "dummy-APP_DEBUG"}


# --------------------------------------------------------------------------- masking


_MASKS = {
    "laravel": "abort(501);",
    "symfony": "throw new \\Symfony\\Component\\HttpKernel\\Exception\\HttpException(501, 'Not Implemented');",
}


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_masking_reparses_and_keeps_signature(name: str, fixture: str, entrypoint: str) -> None:
    root = FIXTURES / fixture
    framework = get_framework(name)
    for endpoint in ds.discover(name, root):
        handler = endpoint.handler
        source, masked = ds.mask_handler(framework, root, handler, "php")
        # Everything before the body (attributes, signature, `use (...)`) is unchanged, and after it too.
        ds.assert_only_body_changed(source, masked, handler)
        new_body = masked[handler.body_start_byte : len(masked) - (len(source) - handler.body_end_byte)].decode()
        if name in _MASKS:
            assert _MASKS[name] in new_body
        elif handler.name == "action":
            assert new_body.strip() == "{\n        throw new \\RuntimeException('Not implemented');\n    }".strip()
        elif source[handler.start_byte : handler.start_byte + 2] == b"fn":
            assert new_body == "$response->withStatus(501)"
        else:
            assert "return $response->withStatus(501);" in new_body


def test_masked_fixtures_lint_with_php(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # php on this machine, else in the php base image: never skipped.
    targets: dict[tuple[str, str, int], Path] = {}
    for name, fixture, _ in CASES:
        root = FIXTURES / fixture
        for endpoint in ds.discover(name, root):
            key = (name, endpoint.handler.file, endpoint.handler.start_byte)
            if key in targets:
                continue
            masked = get_framework(name).mask_body((root / endpoint.handler.file).read_bytes(), endpoint.handler)
            targets[key] = tmp_path / f"{name}_{len(targets)}.php"
            targets[key].write_bytes(masked)
    # One `php -l` per file (PHP 8.2 lints one file per run).
    results = check_files(request, ["php", "-l"], "php", list(targets.values()))
    for path, (code, output) in results.items():
        assert code == 0, (path, output)


def test_slim_mask_variants_and_closure_use_kept() -> None:
    slim = get_framework("slim")
    source = (
        textwrap.dedent(
            """
        <?php
        $app->get('/a', function ($request, $response, array $args) use ($db) {
            return $response->withJson($db->all());
        });
        $app->get('/b', function (ServerRequestInterface $req) {
            return new Response();
        });
        $app->get('/c', static function () {
            return 1;
        });
        $app->get('/d', fn ($req) => other($req));
        """
        )
        .lstrip()
        .encode()
    )
    tree = ts.parse(source, "php")
    closures = list(ts.find_all(tree.root_node, "anonymous_function", "arrow_function"))
    handlers = [
        Handler(
            file="r.php",
            name="<anonymous>",
            line=c.start_point[0] + 1,
            start_byte=c.start_byte,
            end_byte=c.end_byte,
            body_start_byte=c.child_by_field_name("body").start_byte,
            body_end_byte=c.child_by_field_name("body").end_byte,
        )
        for c in closures
    ]
    masked = [slim.mask_body(source, h).decode() for h in handlers]
    assert "use ($db) {\n    return $response->withStatus(501);\n}" in masked[0]
    not_implemented = "throw new \\Slim\\Exception\\HttpNotImplementedException($req);"
    assert "function (ServerRequestInterface $req) {\n    " + not_implemented + "\n}" in masked[1]
    assert "static function () {\n    throw new \\RuntimeException('Not implemented');\n}" in masked[2]
    assert "fn ($req) => throw new \\Slim\\Exception\\HttpNotImplementedException($req));" in masked[3]
    laravel = get_framework("laravel")
    assert "fn ($req) => abort(501));" in laravel.mask_body(source, handlers[3]).decode()
    wrong = handlers[0].model_copy(update={"body_start_byte": handlers[0].body_start_byte + 1})
    with pytest.raises(ValueError, match="no PHP function"):
        slim.mask_body(source, wrong)


# --------------------------------------------------------------------------- Laravel constructs


def test_singular() -> None:
    assert [singular(w) for w in ["posts", "categories", "addresses", "boxes", "people", "news", "user-profiles"]] == [
        "post",
        "category",
        "address",
        "box",
        "person",
        "news",
        "user-profile",
    ]


def test_laravel_groups_resources_and_provider(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "composer.json": COMPOSER["laravel"],
            "app/Providers/RouteServiceProvider.php": """
                <?php

                namespace App\\Providers;

                use Illuminate\\Foundation\\Support\\Providers\\RouteServiceProvider as ServiceProvider;
                use Illuminate\\Support\\Facades\\Route;

                class RouteServiceProvider extends ServiceProvider
                {
                    protected $namespace = 'App\\Http\\Controllers';

                    public function boot()
                    {
                        $this->routes(function () {
                            Route::prefix('api/v2')
                                ->middleware('api')
                                ->namespace($this->namespace)
                                ->group(base_path('routes/api.php'));

                            Route::middleware('web')
                                ->namespace($this->namespace)
                                ->group(base_path('routes/web.php'));
                        });
                    }
                }
            """,
            "routes/api.php": """
                <?php

                use Illuminate\\Support\\Facades\\Route;

                Route::get('users', 'UserController@index');
                Route::group(['prefix' => 'admin', 'namespace' => 'Admin'], function () {
                    Route::prefix('/deep/')->group(function () {
                        Route::post('/users/{id}', 'UserController@ban');
                        Route::any('ping', function () use ($x) { return 'pong'; });
                    });
                });
                Route::resource('photos.comments', 'CommentController')->except(['create', 'edit']);
                Route::resource('user-profiles', 'ProfileController')->only('show');
                Route::apiResource('tags', 'TagController')->parameters(['tags' => 'label'])->only(['show']);
                Route::resources(['books' => 'BookController'], ['only' => ['index']]);
                Route::match(['GET', 'delete'], 'users/purge', ['as' => 'x', 'uses' => 'UserController@purge']);
                Route::singleton('profile', 'ProfileController')->creatable()->only(['show', 'store']);
            """,
            "routes/web.php": """
                <?php

                $router->get('/home', ['middleware' => 'auth', function () {
                    return 'home';
                }]);
                require __DIR__.'/auth.php';
            """,
            "routes/auth.php": """
                <?php

                use Illuminate\\Support\\Facades\\Route;

                Route::get('/login', 'Auth\\LoginController');
            """,
            "app/Http/Controllers/Controller.php": """
                <?php

                namespace App\\Http\\Controllers;

                abstract class Controller
                {
                    public function index() { return []; }
                }
            """,
            "app/Http/Controllers/UserController.php": """
                <?php

                namespace App\\Http\\Controllers;

                class UserController extends Controller
                {
                    public function purge() { return 'gone'; }
                }
            """,
            "app/Http/Controllers/Admin/UserController.php": """
                <?php

                namespace App\\Http\\Controllers\\Admin;

                class UserController
                {
                    public function ban($id) { return $id; }
                }
            """,
            "app/Http/Controllers/Auth/LoginController.php": """
                <?php

                namespace App\\Http\\Controllers\\Auth;

                class LoginController
                {
                    public function __invoke() { return view('login'); }
                }
            """,
            "app/Http/Controllers/CommentController.php": """
                <?php

                namespace App\\Http\\Controllers;

                class CommentController
                {
                    public function index($photo) {}
                    public function store($photo) {}
                    public function show($photo, $comment) {}
                    public function update($photo, $comment) {}
                    public function destroy($photo, $comment) {}
                }
            """,
            "app/Http/Controllers/ProfileController.php": """
                <?php

                namespace App\\Http\\Controllers;

                class ProfileController
                {
                    public function show() {}
                    public function store() {}
                    public function edit() {}
                }
            """,
            "app/Http/Controllers/TagController.php": """
                <?php

                namespace App\\Http\\Controllers;

                class TagController
                {
                    public function show($label) {}
                }
            """,
            "app/Http/Controllers/BookController.php": """
                <?php

                namespace App\\Http\\Controllers;

                class BookController
                {
                    use ListsBooks;
                }
            """,
            "app/Http/Controllers/ListsBooks.php": """
                <?php

                namespace App\\Http\\Controllers;

                trait ListsBooks
                {
                    public function index() { return []; }
                }
            """,
        },
    )
    laravel = get_framework("laravel")
    [service] = laravel.detect(tmp_path)
    assert service.entrypoint is None
    endpoints = laravel.discover(tmp_path, service)
    assert ds.triples(endpoints) == {
        ("GET", "/api/v2/users", "index"),
        ("GET", "/api/v2/users/purge", "purge"),
        ("DELETE", "/api/v2/users/purge", "purge"),
        ("POST", "/api/v2/admin/deep/users/{id}", "ban"),
        ("ANY", "/api/v2/admin/deep/ping", "<anonymous>"),
        ("GET", "/api/v2/photos/{photo}/comments", "index"),
        ("POST", "/api/v2/photos/{photo}/comments", "store"),
        ("GET", "/api/v2/photos/{photo}/comments/{comment}", "show"),
        ("PUT", "/api/v2/photos/{photo}/comments/{comment}", "update"),
        ("PATCH", "/api/v2/photos/{photo}/comments/{comment}", "update"),
        ("DELETE", "/api/v2/photos/{photo}/comments/{comment}", "destroy"),
        ("GET", "/api/v2/user-profiles/{user_profile}", "show"),
        ("GET", "/api/v2/tags/{label}", "show"),
        ("GET", "/api/v2/books", "index"),
        ("GET", "/api/v2/profile", "show"),
        ("POST", "/api/v2/profile", "store"),
        ("GET", "/home", "<anonymous>"),
        ("GET", "/login", "__invoke"),
    }
    by_key = ds.by_key(endpoints)
    # Inherited and trait methods resolve to where they are defined.
    assert by_key[("GET", "/api/v2/users")].file == "app/Http/Controllers/Controller.php"
    assert by_key[("GET", "/api/v2/books")].file == "app/Http/Controllers/ListsBooks.php"
    assert by_key[("POST", "/api/v2/admin/deep/users/{id}")].file == "app/Http/Controllers/Admin/UserController.php"


def test_laravel_bootstrap_api_prefix_then_and_last_registration_wins(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "composer.json": COMPOSER["laravel"],
            "artisan": "<?php\n",
            "bootstrap/app.php": """
                <?php

                use Illuminate\\Foundation\\Application;
                use Illuminate\\Support\\Facades\\Route;

                return Application::configure(basePath: dirname(__DIR__))
                    ->withRouting(
                        web: [__DIR__.'/../routes/web.php', __DIR__.'/../routes/extra.php'],
                        api: __DIR__.'/../routes/api.php',
                        apiPrefix: 'api/v3',
                        then: function () {
                            Route::middleware('api')->prefix('webhooks')->group(base_path('routes/webhooks.php'));
                        },
                    )->create();
            """,
            "routes/api.php": """
                <?php

                use App\\Http\\Controllers\\ItemController as Items;
                use Illuminate\\Support\\Facades\\Route;

                Route::get('/items/{item}', [Items::class, 'first']);
                Route::get('/items/{item}', [Items::class, 'second']);
                Route::middleware('auth')->get('/me', fn () => auth()->user());
            """,
            "routes/web.php": "<?php\n\nRoute::view('/about', 'about');\nRoute::get('/', fn () => 'hi');\n",
            "routes/extra.php": "<?php\n\nRoute::post('/extra', fn () => 'x');\n",
            "routes/webhooks.php": "<?php\n\nRoute::post('stripe', fn () => 'ok');\n",
            "app/Http/Controllers/ItemController.php": """
                <?php

                namespace App\\Http\\Controllers;

                class ItemController
                {
                    public function first($item) { return 1; }
                    public function second($item) { return 2; }
                }
            """,
        },
    )
    laravel = get_framework("laravel")
    [service] = laravel.detect(tmp_path)
    assert service.entrypoint == "artisan"
    assert ds.triples(laravel.discover(tmp_path, service)) == {
        ("GET", "/api/v3/items/{item}", "second"),
        ("GET", "/api/v3/me", "<anonymous>"),
        ("GET", "/", "<anonymous>"),
        ("POST", "/extra", "<anonymous>"),
        ("POST", "/webhooks/stripe", "<anonymous>"),
    }


def test_laravel_default_route_files_and_broken_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds.write_files(
        tmp_path,
        {
            "composer.json": COMPOSER["laravel"],
            "routes/api.php": "<?php\n\nRoute::get('/ok', fn () => 'ok');\n",
            "routes/web.php": "<?php\n\nRoute::get('/broken', function ( {\n",
        },
    )
    laravel = get_framework("laravel")
    with caplog.at_level(logging.WARNING):
        endpoints = laravel.discover(tmp_path, laravel.detect(tmp_path)[0])
    assert ds.pairs(endpoints) == {("GET", "/api/ok")}
    assert "routes/web.php: does not parse as php" in caplog.text
    # No SQLite configuration: nothing to migrate; only the APP_* settings are given.
    hints = laravel.runtime_hints(tmp_path, laravel.detect(tmp_path)[0])
    assert hints.setup_commands == []
    assert hints.env == {"APP_DEBUG": "false", "APP_ENV": "local", "APP_KEY": DUMMY_APP_KEY}


# --------------------------------------------------------------------------- Symfony constructs


def test_symfony_annotations_yaml_imports_and_prefixes(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "composer.json": COMPOSER["symfony"],
            "config/routes/annotations.yaml": """
                controllers:
                    resource: ../../src/Controller/
                    type: annotation
                    prefix: /v1/
                    trailing_slash_on_root: false
                kernel:
                    resource: ../../src/Kernel.php
                    type: annotation
            """,
            "config/routes.yaml": """
                api:
                    resource: routes/api/all.yaml
                    prefix: /api
                when@dev:
                    dev_only:
                        path: /debug
                        controller: App\\Controller\\DebugController::debug
            """,
            "config/routes/api/all.yaml": """
                legacy_item:
                    path: /items/{id}
                    defaults:
                        _controller: 'App\\Api\\ItemController::show'
                    methods: GET|HEAD
                localized:
                    path: {en: /about, fr: /a-propos}
                    controller: App\\Api\\ItemController::show
                missing:
                    path: /missing
                    controller: App\\Api\\Nowhere::show
            """,
            "src/Kernel.php": """
                <?php

                namespace App;

                use Symfony\\Component\\Routing\\Annotation\\Route;

                class Kernel
                {
                    /**
                     * @Route("/kernel-health", name="kernel_health", methods={"GET"})
                     */
                    public function health() { return 'ok'; }
                }
            """,
            "src/Controller/BlogController.php": """
                <?php

                namespace App\\Controller;

                use Symfony\\Component\\Routing\\Annotation\\Route;
                use Sensio\\Bundle\\FrameworkExtraBundle\\Configuration\\Method;

                /**
                 * @Route("/blog")
                 */
                class BlogController
                {
                    /**
                     * @Route("/", name="blog_index")
                     * @Method("GET")
                     */
                    public function index() { return []; }

                    /**
                     * Shows a post.
                     *
                     * @Route(path="/{slug}", requirements={"slug"="[a-z-]+"}, methods={"GET", "POST"})
                     */
                    public function show($slug) { return $slug; }

                    /**
                     * @Route("/private")
                     */
                    private function hidden() {}
                }
            """,
            "src/Controller/Base/AbstractApi.php": """
                <?php

                namespace App\\Controller\\Base;

                use Symfony\\Component\\Routing\\Attribute\\Route as Endpoint;

                abstract class AbstractApi
                {
                    #[Endpoint('/abstract')]
                    public function never() {}
                }
            """,
            "src/Controller/RootController.php": """
                <?php

                namespace App\\Controller;

                use Symfony\\Component\\Routing\\Attribute\\Route as Endpoint;

                #[Endpoint(path: '/', methods: ['GET'])]
                class RootController
                {
                    #[Endpoint]
                    #[Endpoint('/again', methods: 'POST|PUT')]
                    public function root() { return 'root'; }
                }
            """,
            "src/Api/ItemController.php": """
                <?php

                namespace App\\Api;

                class ItemController
                {
                    public function show($id) { return $id; }
                }
            """,
        },
    )
    symfony = get_framework("symfony")
    [service] = symfony.detect(tmp_path)
    assert service.entrypoint is None
    assert ds.triples(symfony.discover(tmp_path, service)) == {
        ("GET", "/v1/blog/", "index"),
        ("GET", "/v1/blog/{slug}", "show"),
        ("POST", "/v1/blog/{slug}", "show"),
        ("GET", "/v1", "root"),
        ("POST", "/v1/again", "root"),
        ("PUT", "/v1/again", "root"),
        ("GET", "/kernel-health", "health"),
        ("GET", "/api/items/{id}", "show"),
        ("HEAD", "/api/items/{id}", "show"),
    }


def test_symfony_without_routing_config_serves_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds.write_files(
        tmp_path,
        {
            "composer.json": COMPOSER["symfony"],
            "src/Controller/A.php": "<?php\nclass A { #[Route('/a')] public function a() {} }\n",
            "config/routes.yaml": "controllers:\n    resource: ../src/Controller/\n    type: attribute\n",
            "src/Controller/Broken.php": "<?php\nclass B { public function ( }\n",
        },
    )
    symfony = get_framework("symfony")
    with caplog.at_level(logging.WARNING):
        endpoints = symfony.discover(tmp_path, symfony.detect(tmp_path)[0])
    assert ds.triples(endpoints) == {("ANY", "/a", "a")}
    assert "src/Controller/Broken.php: does not parse as php" in caplog.text
    (tmp_path / "config" / "routes.yaml").unlink()
    assert symfony.discover(tmp_path, symfony.detect(tmp_path)[0]) == []


# --------------------------------------------------------------------------- Slim constructs


def test_slim3_this_groups_shared_scope_require_and_string_handlers(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "composer.json": COMPOSER["slim"],
            "index.php": """
                <?php

                $app = new \\Slim\\App(['settings' => []]);
                $app->setBasePath('/base');
                require __DIR__ . '/src/routes.php';
                registerAdmin($app);
                $app->run();

                function registerAdmin($app)
                {
                    $app->group('/admin', function () {
                        $this->delete('/users/{id}', 'App\\Controller\\UserController:remove');
                    });
                }
            """,
            "src/routes.php": """
                <?php

                use App\\Controller\\UserController;

                $list = function ($request, $response) {
                    return $response;
                };
                $app->get('/users', $list);
                $app->group('/v1', function ($group) {
                    $group->group('/users', function ($users) {
                        $users->get('/{id:[0-9]+}[/{format}]', UserController::class . ':show')->setName('u');
                        $users->map(['GET', 'POST'], '/me', [UserController::class, 'me']);
                        $users->post('/invoke', UserController::class);
                    });
                });
            """,
            "src/Controller/UserController.php": """
                <?php

                namespace App\\Controller;

                class UserController
                {
                    public function show($request, $response, $args) { return $response; }
                    public function me($request, $response) { return $response; }
                    public function remove($request, $response, $args) { return $response; }
                    public function __invoke($request, $response) { return $response; }
                }
            """,
            "tests/RoutesTest.php": "<?php\n$app->get('/from-test', fn ($q, $r) => $r);\n",
        },
    )
    slim = get_framework("slim")
    [service] = slim.detect(tmp_path)
    assert service.entrypoint == "index.php"
    endpoints = slim.discover(tmp_path, service)
    assert ds.triples(endpoints) == {
        ("GET", "/base/users", "<anonymous>"),
        ("GET", "/base/v1/users/{id:[0-9]+}[/{format}]", "show"),
        ("GET", "/base/v1/users/me", "me"),
        ("POST", "/base/v1/users/me", "me"),
        ("POST", "/base/v1/users/invoke", "__invoke"),
        ("DELETE", "/base/admin/users/{id}", "remove"),
    }
    assert ds.by_key(endpoints)[("GET", "/base/users")].file == "src/routes.php"
    (tmp_path / "src" / "settings.php").write_text(
        "<?php\nreturn ['driver' => getenv('DB_DRIVER'), 'pass' => getenv('DB_PASSWORD'), 'x' => getenv('NEW')];\n"
    )
    (tmp_path / ".env.example").write_text("DB_DRIVER=sqlite\nDB_PASSWORD=secret\n")
    hints = slim.runtime_hints(tmp_path, service)
    assert hints.start_command == ["php", "-S", "0.0.0.0:8000", "-t", ".", "index.php"]
    # Example values where they are settings, dummies for secrets and unknown names.
    assert hints.env == {"DB_DRIVER": "sqlite", "DB_PASSWORD": "dummy-DB_PASSWORD", "NEW": "dummy-NEW"}


def test_slim_entry_found_by_app_creation_and_fallback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds.write_files(
        tmp_path,
        {
            "composer.json": COMPOSER["slim"],
            "web/app.php": """
                <?php

                use Slim\\Factory\\AppFactory;

                $app = AppFactory::create();
                (require __DIR__ . '/../config/routes.php')($app);
                $app->run();
            """,
            "config/routes.php": """
                <?php

                use Slim\\App;

                return static function (App $application): void {
                    $application->patch('/things/{id}', fn ($request, $response, $args) => $response);
                };
            """,
            "config/broken.php": "<?php\nfunction (\n",
        },
    )
    slim = get_framework("slim")
    [service] = slim.detect(tmp_path)
    assert service.entrypoint == "web/app.php"
    with caplog.at_level(logging.WARNING):
        endpoints = slim.discover(tmp_path, service)
    assert ds.triples(endpoints) == {("PATCH", "/things/{id}", "<anonymous>")}
    assert "config/broken.php: does not parse as php" in caplog.text
    # An app built where discovery cannot follow: each script is read on its own.
    (tmp_path / "web" / "app.php").write_text("<?php\n$app = $container->make('app');\n")
    (tmp_path / "config" / "more.php").write_text("<?php\n$app->get('/direct', fn ($q, $r) => $r);\n")
    assert ds.pairs(slim.discover(tmp_path, service)) == {("PATCH", "/things/{id}"), ("GET", "/direct")}


# --------------------------------------------------------------------------- repositories


def test_multi_service_repository_and_vendor_ignored(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "laravel_blog", tmp_path / "services" / "blog")
    shutil.copytree(FIXTURES / "slim_notes", tmp_path / "services" / "notes")
    shutil.copytree(FIXTURES / "symfony_shop", tmp_path / "shop")
    ds.write_files(tmp_path, {"shop/vendor/slim/slim/composer.json": '{"require": {"slim/slim": "*"}}'})
    found = {(f.name, c.root) for f in FRAMEWORKS for c in f.detect(tmp_path)}
    assert found == {
        ("laravel", (tmp_path / "services" / "blog").resolve()),
        ("slim", (tmp_path / "services" / "notes").resolve()),
        ("symfony", (tmp_path / "shop").resolve()),
    }
    slim = get_framework("slim")
    endpoints = slim.discover(tmp_path, slim.detect(tmp_path)[0])
    assert len(endpoints) == 10
    assert ds.by_key(endpoints)[("GET", "/api/users")].file == "services/notes/src/Action/ListUsersAction.php"
    laravel = get_framework("laravel")
    endpoints = laravel.discover(tmp_path, laravel.detect(tmp_path)[0])
    assert ds.by_key(endpoints)[("GET", "/api/status")].file == "services/blog/routes/api.php"


def test_odd_manifests_do_not_crash(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "a/composer.json": "{not json",
            "b/composer.json": '["laravel/framework"]',
            "c/composer.json": '{"require": ["slim/slim"]}',
            "d/composer.json": '{"require": {"slim/slim": "^4"}, "autoload": {"psr-4": {"App\\\\": 3}}}',
        },
    )
    for name in PHP_FRAMEWORKS:
        services = get_framework(name).detect(tmp_path)
        for service in services:
            assert get_framework(name).discover(tmp_path, service) == []
    assert [s.root for s in get_framework("slim").detect(tmp_path)] == [(tmp_path / "d").resolve()]
