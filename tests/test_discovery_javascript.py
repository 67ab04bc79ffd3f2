"""Static endpoint discovery for Koa, Fastify, NestJS and TypeScript Express, against ground truth."""

from __future__ import annotations

import json
import logging
import shutil
import textwrap
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import FRAMEWORKS, get_framework
from pipeline.languages import treesitter as ts
from pipeline.languages.javascript.interpreter import JsProject
from pipeline.languages.javascript.project import grammar_of, read_jsonc
from pipeline.languages.javascript.routes import function_node
from pipeline.languages.javascript.runtime import compiled_path
from pipeline.languages.javascript.syntax import handler_for
from pipeline.models import Handler

FIXTURES = ds.FIXTURES
CASES = [
    ("koa", "koa_blog", "src/server.js"),
    ("fastify", "fastify_shop", "server.js"),
    ("nestjs", "nestjs_library", "src/main.ts"),
]
DECOYS = {
    "archive",
    "legacyList",
    "searchProducts",
    "legacyRoutes",
    "listArchived",
    "legacyBooks",
}


def _source(text: str) -> bytes:
    return textwrap.dedent(text).lstrip().encode()


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_detect_fixture_and_exclusivity(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_detects_only(name, FIXTURES / fixture, entrypoint)


@pytest.mark.parametrize("name", ["koa", "fastify", "nestjs"])
@pytest.mark.parametrize("fixture", ["flask_todo", "express_books", "fastapi_notes"])
def test_other_fixtures_are_not_claimed(name: str, fixture: str) -> None:
    assert get_framework(name).detect(FIXTURES / fixture) == []


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture)


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_handler_ranges_slice_to_function_and_body(name: str, fixture: str, entrypoint: str) -> None:
    for endpoint, (_, definition, _, body) in ds.endpoint_slices(name, FIXTURES / fixture):
        handler = endpoint.handler
        assert definition.rstrip(";").endswith(body)
        # a block, or the expression of an arrow function (`async () => ({ status: 'ok' })`)
        assert (body.startswith("{") and body.endswith("}")) or definition.split(body)[0].rstrip().endswith("=>")
        assert handler.name == "<anonymous>" or handler.name in definition.split("(")[0]
        assert handler.name not in DECOYS


def test_fixture_handlers_resolve_across_files() -> None:
    _, koa = ds.fixture_endpoints("koa", "koa_blog")
    by_key = ds.by_key(koa)
    assert by_key[("POST", "/api/posts")].file == "src/controllers/posts.js"
    assert by_key[("GET", "/api/posts/:postId/comments")].file == "src/controllers/comments.js"
    assert by_key[("GET", "/api/health")].file == "src/routes/index.js"
    assert ds.body_fields(koa, "POST", "/api/posts") == {"title": ("any", True), "body": ("str", False)}
    assert ds.body_fields(koa, "POST", "/api/posts/:postId/comments") == {"text": ("str", True)}

    _, fastify = ds.fixture_endpoints("fastify", "fastify_shop")
    by_key = ds.by_key(fastify)
    assert by_key[("POST", "/api/products")].file == "controllers/products.js"
    assert by_key[("PUT", "/api/products/:id")] == by_key[("PATCH", "/api/products/:id")]
    assert by_key[("GET", "/db/status")].file == "plugins/db.js"
    assert ds.body_fields(fastify, "POST", "/api/products") == {
        "name": ("str", True),
        "price": ("any", True),
        "tags": ("list", False),
    }

    _, nest = ds.fixture_endpoints("nestjs", "nestjs_library")
    by_key = ds.by_key(nest)
    assert by_key[("GET", "/api/admin/stats")].file == "src/admin/stats.controller.ts"
    assert by_key[("GET", "/health")].file == "src/health.controller.ts"
    assert ds.body_fields(nest, "POST", "/api/books") == {
        "title": ("str", True),
        "isbn": ("str", True),
        "authorId": ("int", False),
        "year": ("int", False),
    }
    assert ds.body_fields(nest, "PATCH", "/api/authors/:id") == {"name": ("str", True)}


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_decoys_are_not_reported(name: str, fixture: str, entrypoint: str) -> None:
    _, endpoints = ds.fixture_endpoints(name, fixture)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any("legacy" in e.path or "archive" in e.path for e in endpoints)


def test_runtime_hints_of_fixtures() -> None:
    koa = get_framework("koa")
    root = FIXTURES / "koa_blog"
    hints = koa.runtime_hints(root, ds.service_of(koa, root))
    assert hints.start_command == ["node", "src/server.js"]
    assert hints.port == 4000 and hints.env == {"PORT": "4000"}

    fastify = get_framework("fastify")
    root = FIXTURES / "fastify_shop"
    hints = fastify.runtime_hints(root, ds.service_of(fastify, root))
    assert hints.start_command == ["node", "server.js"]
    assert hints.port == 3000 and hints.env == {"PORT": "3000"}

    nest = get_framework("nestjs")
    root = FIXTURES / "nestjs_library"
    hints = nest.runtime_hints(root, ds.service_of(nest, root))
    # The Dockerfile template runs `npm run build` first (the package has a build script).
    assert hints.start_command == ["node", "dist/main"]
    assert hints.port == 3000 and hints.env == {"PORT": "3000"}


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_masking_fixtures_reparses_keeps_signatures_and_routes(
    name: str, fixture: str, entrypoint: str, tmp_path: Path
) -> None:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    framework = get_framework(name)
    original = framework.discover(root, ds.service_of(framework, root))
    masked = ds.mask_all(framework, root, original)
    for rel, source in masked.items():
        ds.assert_parses(source, grammar_of(rel), rel)
        assert b"Not implemented" in source
        (root / rel).write_bytes(source)
    again = framework.discover(root, ds.service_of(framework, root))
    assert [(e.method, e.path, e.handler.name) for e in again] == [(e.method, e.path, e.handler.name) for e in original]
    for endpoint in again:
        handler = endpoint.handler
        body = (root / handler.file).read_bytes()[handler.body_start_byte : handler.body_end_byte]
        assert b"501" in body or b"NotImplementedException" in body, body


def test_masked_fixture_text() -> None:
    _, koa = ds.fixture_endpoints("koa", "koa_blog")
    koa_masked = ds.mask_all(get_framework("koa"), FIXTURES / "koa_blog", koa)
    posts = koa_masked["src/controllers/posts.js"].decode()
    assert 'exports.create = async (ctx) => { ctx.status = 501; ctx.body = { error: "Not implemented" }; };' in posts
    assert "exports.archive = async (ctx) => {\n  const post = find(ctx);" in posts  # decoy untouched
    assert "async function ping(ctx) { ctx.status = 501;" in koa_masked["src/routes/users.js"].decode()

    _, fastify = ds.fixture_endpoints("fastify", "fastify_shop")
    fastify_masked = ds.mask_all(get_framework("fastify"), FIXTURES / "fastify_shop", fastify)
    products = fastify_masked["controllers/products.js"].decode()
    assert "async function list(request, arguments[1])" not in products
    assert 'async function list(request) { return arguments[1].code(501).send({ error: "Not implemented" }); }' in (
        products
    )
    assert 'async function create(request, reply) { return reply.code(501).send({ error: "Not implemented" }); }' in (
        products
    )
    assert "async () => {" not in fastify_masked["app.js"].decode()
    app = fastify_masked["app.js"].decode()
    assert "app.get('/health', async (_request, _reply) => { return _reply.code(501)" in app

    _, nest = ds.fixture_endpoints("nestjs", "nestjs_library")
    nest_masked = ds.mask_all(get_framework("nestjs"), FIXTURES / "nestjs_library", nest)
    books = nest_masked["src/books/books.controller.ts"].decode()
    assert books.startswith("import { NotImplementedException,\n  Body,\n")
    assert books.count("NotImplementedException") == 1 + 6  # one import, six handlers
    assert (
        "  @Get(':id')\n  findOne(@Param('id', ParseIntPipe) id: number): Book "
        '{ throw new NotImplementedException("Not implemented"); }' in books
    )
    authors = nest_masked["src/authors/authors.controller.ts"].decode()
    assert authors.startswith("import { NotImplementedException, All, Body, Controller, Get, NotFoundException,")
    original = (FIXTURES / "nestjs_library/src/books/books.controller.ts").read_text()
    # The import grew on its own line: nothing above the handlers moved to another line.
    assert books[: books.index("@Controller")].count("\n") == original[: original.index("@Controller")].count("\n")


def test_mask_edge_cases_typescript(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        import { Request, Response } from 'express';
        export const list = async (req: Request, res: Response): Promise<void> => { res.json([]); };
        export const get = async (req: Request, res: Response): Promise<Response> => { return res.json({}); };
        export const none = () => { return 1; };
        export function plain(this: unknown, req: Request, res: Response): number { return 1; }
        """
    ).lstrip()
    path = tmp_path / "handlers.ts"
    path.write_text(source)
    sf_root = ts.parse(source.encode(), "typescript").root_node
    project = JsProject(tmp_path, tmp_path)
    module = project.modules["handlers.ts"]
    handlers = {}
    for name in ("list", "get", "none", "plain"):
        found = function_node(project, module, module.exports[name])
        assert found is not None
        handlers[name] = handler_for(found[1], "handlers.ts")
    assert sf_root is not None
    express = get_framework("express")
    masked = source.encode()
    for handler in sorted(handlers.values(), key=lambda h: h.body_start_byte, reverse=True):
        masked = express.mask_body(masked, handler)
    text = masked.decode()
    assert (
        "async (req: Request, res: Response): Promise<void> => "
        '{ (res as any).status(501).json({ error: "Not implemented" }); }' in text
    )
    assert (
        "Promise<Response> => "
        '{ (res as any).status(501).json({ error: "Not implemented" }); return undefined as never; }' in text
    )
    assert "export const none = (_req: any, _res: any) => { (_res as any).status(501)" in text
    assert "plain(this: unknown, req: Request, res: Response): number { (res as any).status(501)" in text
    ds.assert_parses(masked, "typescript")

    koa = get_framework("koa")
    koa_source = b"const h = async ({ request }) => { return request.body; };\n"
    tree = ts.parse(koa_source, "javascript")
    fn = next(ts.find_all(tree.root_node, "arrow_function"))
    masked = koa.mask_body(koa_source, handler_for(fn, "h.js")).decode()
    assert masked == (
        'const h = async ({ request }) => { throw Object.assign(new Error("Not implemented"), '
        "{ status: 501, expose: true }); };\n"
    )

    fastify = get_framework("fastify")
    fastify_source = b"const h = async (request: any): Promise<{ ok: boolean }> => { return { ok: true }; };\n"
    tree = ts.parse(fastify_source, "typescript")
    fn = next(ts.find_all(tree.root_node, "arrow_function"))
    masked = fastify.mask_body(fastify_source, handler_for(fn, "h.ts")).decode()
    assert masked == (
        "const h = async (request: any, _reply: any): Promise<{ ok: boolean }> => "
        '{ return (_reply as any).code(501).send({ error: "Not implemented" }) as never; };\n'
    )
    sync_source = b"function h(request, reply) { reply.send('x'); }\n"
    fn = next(ts.find_all(ts.parse(sync_source, "javascript").root_node, "function_declaration"))
    masked = fastify.mask_body(sync_source, handler_for(fn, "h.js")).decode()
    assert masked == 'function h(request, reply) { reply.code(501).send({ error: "Not implemented" }); }\n'


def test_nest_mask_adds_import_when_missing_and_uses_aliases() -> None:
    nest = get_framework("nestjs")
    source = _source(
        """
        import * as common from '@nestjs/common';
        @common.Controller('x')
        export class X {
          @common.Get()
          a(): number { return 1; }
        }
        """
    )
    tree = ts.parse(source, "typescript")
    method = next(m for m in ts.find_all(tree.root_node, "method_definition"))
    masked = nest.mask_body(source, handler_for(method, "x.ts")).decode()
    assert 'a(): number { throw new common.NotImplementedException("Not implemented"); }' in masked

    source = _source(
        """
        import type { Type } from '@nestjs/common';
        import { Controller as C, Get, NotImplementedException as NIE } from '@nestjs/common';
        @C('x')
        export class X {
          @Get()
          a(): Type { return 1 as any; }
        }
        """
    )
    tree = ts.parse(source, "typescript")
    method = next(m for m in ts.find_all(tree.root_node, "method_definition"))
    masked = nest.mask_body(source, handler_for(method, "x.ts")).decode()
    assert 'a(): Type { throw new NIE("Not implemented"); }' in masked
    assert masked.count("import") == 2

    source = b"import {Controller, Get} from '@nestjs/common';\nexport class X {\n  @Get() a() { return 1; }\n}\n"
    tree = ts.parse(source, "typescript")
    method = next(m for m in ts.find_all(tree.root_node, "method_definition"))
    masked = nest.mask_body(source, handler_for(method, "x.ts")).decode()
    assert masked.startswith("import { NotImplementedException, Controller, Get} from '@nestjs/common';\n")

    source = b"import { Controller } from './shim';\nexport class X {\n  a() { return 1; }\n}\n"
    tree = ts.parse(source, "typescript")
    method = next(m for m in ts.find_all(tree.root_node, "method_definition"))
    masked = nest.mask_body(source, handler_for(method, "x.ts")).decode()
    assert masked.endswith("\nimport { NotImplementedException } from '@nestjs/common';\n")
    assert 'a() { throw new NotImplementedException("Not implemented"); }' in masked


@pytest.mark.parametrize("name", ["koa", "fastify", "nestjs"])
def test_mask_rejects_offsets_that_are_not_a_body(name: str) -> None:
    source = b"class A { f(ctx, reply) { return 1; } }\n"
    handler = Handler(file="x.ts", name="g", line=1, start_byte=0, end_byte=5, body_start_byte=1, body_end_byte=3)
    with pytest.raises(ValueError):
        get_framework(name).mask_body(source, handler)


# --------------------------------------------------------------------------- koa constructs


def test_koa_typescript_named_routes_arrays_mount_and_class_controllers(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"scripts": {"build": "tsc"}, "dependencies": {"koa": "2", "koa-router": "12", '
            '"koa-mount": "4"}}',
            "tsconfig.json": '{"compilerOptions": {"outDir": "build", "rootDir": "src"}}',
            "src/index.ts": """
                import Koa from 'koa';
                import mount from 'koa-mount';
                import Router from 'koa-router';
                import { UsersController } from './users.controller';
                import v2 from './v2';

                const app = new Koa();
                const router = Router();
                const users = new UsersController();
                const API = '/api';
                router.prefix(`${API}/`);
                router.get(['/users', '/people'], users.list.bind(users));
                router.get('user', '/users/:id', async (ctx) => { ctx.body = ctx.params; });
                router.post('/users', UsersController.create);
                router.get(/^\\/re(g)ex/, (ctx) => { ctx.body = 1; });
                app.use(router.routes());
                app.use(mount('/v2', v2.middleware()));
                app.listen(process.env.PORT || 5000);
            """,
            "src/users.controller.ts": """
                import { Context } from 'koa';
                export class UsersController {
                  async list(ctx: Context): Promise<void> { ctx.body = []; }
                  static create = async (ctx: Context) => { ctx.body = ctx.request.body; };
                  unused(ctx: Context) { ctx.body = null; }
                }
            """,
            "src/v2.ts": """
                import Router from 'koa-router';
                const v2 = new Router({ prefix: '/things' });
                v2.delete('/:id', async (ctx) => { ctx.status = 204; });
                export default v2;
            """,
        },
    )
    koa = get_framework("koa")
    service = ds.service_of(koa, tmp_path)
    assert service.entrypoint == "src/index.ts"
    endpoints = koa.discover(tmp_path, service)
    assert ds.triples(endpoints) == {
        ("GET", "/api/users", "list"),
        ("GET", "/api/people", "list"),
        ("GET", "/api/users/:id", "<anonymous>"),
        ("POST", "/api/users", "create"),
        ("DELETE", "/v2/things/:id", "<anonymous>"),
    }
    create = next(e for e in endpoints if e.method == "POST")
    assert create.handler.file == "src/users.controller.ts"
    hints = koa.runtime_hints(tmp_path, service)
    assert hints.start_command == ["node", "build/index.js"]
    assert hints.port == 5000


def test_koa_setup_function_and_unmounted_router(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"scripts": {"start": "node bin/www"}, "dependencies": {"koa": "2", "@koa/router": "12"}}',
            "bin/www.js": "require('../app').listen(3000);\n",
            "app.js": """
                const Koa = require('koa');
                const Router = require('@koa/router');
                const app = new Koa();
                const router = new Router();
                require('./routes')(router);
                app.use(router.routes());
                const orphan = new Router();
                orphan.get('/orphan', (ctx) => { ctx.body = 'never'; });
                module.exports = app;
            """,
            "routes.js": """
                module.exports = (r) => {
                  r.get('/a', (ctx) => { ctx.body = 'a'; });
                };
            """,
        },
    )
    assert ds.pairs(ds.discover("koa", tmp_path)) == {("GET", "/a")}
    koa = get_framework("koa")
    service = ds.service_of(koa, tmp_path)
    assert service.entrypoint == "bin/www.js"
    assert koa.runtime_hints(tmp_path, service).start_command == ["node", "bin/www"]


# --------------------------------------------------------------------------- fastify constructs


def test_fastify_typescript_plugins_fp_route_arrays_and_esm(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"type": "module", "dependencies": {"fastify": "4", "fastify-plugin": "4"}}',
            "src/server.ts": """
                import Fastify, { FastifyInstance } from 'fastify';
                import users from './routes/users.js';
                import shared from './shared.js';

                const server: FastifyInstance = Fastify({ logger: true });
                server.register(shared, { prefix: '/ignored' });
                server.register(users, { prefix: '/v1/' });
                server.register(import('./routes/items.js'), { prefix: '/v1/items' });
                server
                  .get('/', async () => ({ hello: 'world' }))
                  .route({ method: 'GET', path: '/ping', handler: async (_req, reply) => reply.send('pong') });
                const port = Number(process.env.PORT ?? 8080);
                server.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
            """,
            "src/shared.ts": """
                import fp from 'fastify-plugin';
                import { FastifyPluginAsync } from 'fastify';
                const shared: FastifyPluginAsync = async (app) => {
                  app.get('/version', async () => ({ v: 1 }));
                };
                export default fp(shared);
            """,
            "src/routes/users.ts": """
                import { FastifyPluginAsync, FastifyRequest, FastifyReply } from 'fastify';
                import * as handlers from '../handlers.js';
                const users: FastifyPluginAsync = async (fastify): Promise<void> => {
                  fastify.route<{ Params: { id: string } }>({
                    method: ['GET', 'HEAD'],
                    url: '/users/:id',
                    handler: handlers.getUser,
                  });
                  fastify.all('/users/any', async (request: FastifyRequest, reply: FastifyReply) => reply.send());
                };
                export default users;
            """,
            "src/routes/items.ts": """
                export default async function items(fastify: any) {
                  fastify.post('/', { schema: {} }, async function createItem(request: any, reply: any) {
                    return reply.code(201).send(request.body);
                  });
                }
            """,
            "src/handlers.ts": """
                import { FastifyRequest, FastifyReply } from 'fastify';
                export async function getUser(request: FastifyRequest, reply: FastifyReply) {
                  return reply.send({ id: 1 });
                }
                export async function unused() { return 1; }
            """,
        },
    )
    fastify = get_framework("fastify")
    service = ds.service_of(fastify, tmp_path)
    assert service.entrypoint == "src/server.ts"
    endpoints = fastify.discover(tmp_path, service)
    assert ds.triples(endpoints) == {
        ("GET", "/", "<anonymous>"),
        ("GET", "/ping", "<anonymous>"),
        ("GET", "/version", "<anonymous>"),
        ("GET", "/v1/users/:id", "getUser"),
        ("HEAD", "/v1/users/:id", "getUser"),
        ("ANY", "/v1/users/any", "<anonymous>"),
        ("POST", "/v1/items", "createItem"),
    }
    hints = fastify.runtime_hints(tmp_path, service)
    assert hints.port == 8080
    assert hints.env == {"HOST": "0.0.0.0", "PORT": "8080"}
    assert hints.start_command == ["node", "src/server.js"]


def test_fastify_cli_app_with_autoload(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"scripts": {"start": "fastify start -l info app.js"}, '
            '"dependencies": {"fastify": "4", "@fastify/autoload": "5", "fastify-cli": "6"}}',
            "app.js": """
                'use strict'
                const path = require('node:path')
                const AutoLoad = require('@fastify/autoload')
                module.exports = async function (fastify, opts) {
                  fastify.register(AutoLoad, { dir: path.join(__dirname, 'plugins'), options: Object.assign({}, opts) })
                  fastify.register(AutoLoad, { dir: path.join(__dirname, 'routes'), options: { prefix: '/api' } })
                }
            """,
            "plugins/sensible.js": """
                const fp = require('fastify-plugin')
                module.exports = fp(async function (fastify) { fastify.decorate('x', 1) })
            """,
            "routes/root.js": """
                module.exports = async function (fastify, opts) {
                  fastify.get('/', async function (request, reply) { return { root: true } })
                }
            """,
            "routes/example/index.js": """
                module.exports = async function (fastify, opts) {
                  fastify.get('/', async function example(request, reply) { return 'this is an example' })
                  fastify.delete('/:id', async function removeExample(request, reply) { return null })
                }
            """,
            "routes/example/nested/deep.js": """
                module.exports = async function (fastify, opts) {
                  fastify.put('/deep', async function deep(request, reply) { return null })
                }
                module.exports.autoPrefix = '/x'
            """,
            "lib/unused.js": """
                module.exports = async function (fastify) {
                  fastify.get('/unused', async function notServed() { return null })
                }
            """,
        },
    )
    fastify = get_framework("fastify")
    service = ds.service_of(fastify, tmp_path)
    assert service.entrypoint == "app.js"
    assert ds.triples(fastify.discover(tmp_path, service)) == {
        ("GET", "/api", "<anonymous>"),
        ("GET", "/api/example", "example"),
        ("DELETE", "/api/example/:id", "removeExample"),
        ("PUT", "/api/example/nested/x/deep", "deep"),
    }
    hints = fastify.runtime_hints(tmp_path, service)
    assert hints.start_command == ["npx", "fastify", "start", "-a", "0.0.0.0", "-p", "3000", "app.js"]
    assert hints.extra_packages == []


# --------------------------------------------------------------------------- nestjs constructs


def test_nest_router_module_versioning_inheritance_and_dynamic_modules(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"scripts": {"build": "nest build"}, '
            '"dependencies": {"@nestjs/core": "10", "@nestjs/common": "10", "@nestjs/platform-fastify": "10"}}',
            "tsconfig.json": """
                {
                  "compilerOptions": {
                    /* aliases, as many Nest apps use */
                    "baseUrl": "./",
                    "outDir": "./dist",
                    "paths": { "@app/*": ["src/*"] },
                  },
                }
            """,
            "src/main.ts": """
                import { NestFactory } from '@nestjs/core';
                import { RequestMethod, VersioningType } from '@nestjs/common';
                import { AppModule } from '@app/app.module';
                async function bootstrap() {
                  const app = await NestFactory.create(AppModule);
                  app.setGlobalPrefix('/api/', { exclude: [{ path: 'status', method: RequestMethod.GET }] });
                  app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
                  await app.listen(4000);
                }
                bootstrap();
            """,
            "src/app.module.ts": """
                import { Module, forwardRef } from '@nestjs/common';
                import { RouterModule, Routes } from '@nestjs/core';
                import { CatsModule } from 'src/cats/cats.module';
                import { ConfigModule } from './config.module';
                import { StatusController } from './status.controller';
                const routes: Routes = [
                  { path: 'zoo', module: ZooModule, children: [{ path: 'cats', module: CatsModule }] },
                ];
                @Module({ controllers: [] })
                export class ZooModule {}
                @Module({
                  imports: [
                    forwardRef(() => CatsModule),
                    ConfigModule.forRoot({}),
                    ZooModule,
                    RouterModule.register(routes),
                  ],
                  controllers: [...[StatusController]],
                })
                export class AppModule {}
            """,
            "src/config.module.ts": """
                import { Module, DynamicModule, Controller, Get } from '@nestjs/common';
                @Controller('config')
                export class ConfigController {
                  @Get() read() { return {}; }
                }
                @Module({ controllers: [ConfigController] })
                export class ConfigModule {
                  static forRoot(options: object): DynamicModule { return { module: ConfigModule }; }
                }
            """,
            "src/status.controller.ts": """
                import { Controller, Get, Post, VERSION_NEUTRAL } from '@nestjs/common';
                @Controller({ path: 'status', version: VERSION_NEUTRAL })
                export class StatusController {
                  @Get() get() { return 'ok'; }
                  @Post() post() { return 'ok'; }
                }
            """,
            "src/cats/cats.module.ts": """
                import { Module } from '@nestjs/common';
                import { CatsController } from './cats.controller';
                @Module({ controllers: [CatsController] })
                export class CatsModule {}
            """,
            "src/cats/base.controller.ts": """
                import { Get, Delete, Param } from '@nestjs/common';
                export abstract class CrudController {
                  @Get() findAll() { return []; }
                  @Delete(':id') remove(@Param('id') id: string) { return id; }
                }
            """,
            "src/cats/cats.controller.ts": """
                import { Controller, Get, Put, Version, Body } from '@nestjs/common';
                import { CrudController } from './base.controller';
                class UpdateCat { name?: string; lives: number = 9; }
                @Controller(['cats', 'kittens'])
                export class CatsController extends CrudController {
                  @Get() findAll() { return ['tom']; }
                  @Version('2')
                  @Put(':id') update(@Body() body: UpdateCat) { return body; }
                  helper() { return 1; }
                }
            """,
        },
    )
    nest = get_framework("nestjs")
    service = ds.service_of(nest, tmp_path)
    endpoints = nest.discover(tmp_path, service)
    assert ds.triples(endpoints) == {
        ("GET", "/api/v1/config", "read"),
        ("GET", "/status", "get"),
        ("POST", "/api/status", "post"),
        ("GET", "/api/v1/zoo/cats/cats", "findAll"),
        ("GET", "/api/v1/zoo/cats/kittens", "findAll"),
        ("DELETE", "/api/v1/zoo/cats/cats/:id", "remove"),
        ("DELETE", "/api/v1/zoo/cats/kittens/:id", "remove"),
        ("PUT", "/api/v2/zoo/cats/cats/:id", "update"),
        ("PUT", "/api/v2/zoo/cats/kittens/:id", "update"),
    }
    by_key = {(e.method, e.path): e for e in endpoints}
    assert by_key[("GET", "/api/v1/zoo/cats/cats")].handler.file == "src/cats/cats.controller.ts"
    assert by_key[("DELETE", "/api/v1/zoo/cats/cats/:id")].handler.file == "src/cats/base.controller.ts"
    assert ds.body_fields(endpoints, "PUT", "/api/v2/zoo/cats/cats/:id") == {
        "name": ("str", False),
        "lives": ("float", False),
    }
    hints = nest.runtime_hints(tmp_path, service)
    assert hints.start_command == ["node", "dist/main.js"] and hints.port == 4000


def test_nest_without_bootstrap_uses_app_module_and_skips_unlisted(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"dependencies": {"@nestjs/core": "10", "@nestjs/common": "10", "express": "4"}}',
            "src/app.module.ts": """
                import { Module, Controller, Get } from '@nestjs/common';
                @Controller()
                export class AppController { @Get() hello() { return 'hi'; } }
                @Controller('nope')
                export class NopeController { @Get() nope() { return 'no'; } }
                @Module({ controllers: [AppController] })
                export class AppModule {}
            """,
        },
    )
    assert get_framework("express").detect(tmp_path) == []
    assert ds.triples(ds.discover("nestjs", tmp_path)) == {("GET", "/", "hello")}


# --------------------------------------------------------------------------- express gaps


def test_express_typescript_array_mounts_route_chains_and_regex(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"scripts": {"build": "tsc", "start": "node dist/index.js"}, '
            '"dependencies": {"express": "4"}}',
            "src/index.ts": """
                import express, { Express, Request, Response } from 'express';
                import router from './routes';
                import { ItemsController } from './items.controller';

                const app: Express = express();
                const items = new ItemsController();
                const B = '/b';
                app.use(['/a', B], router);
                app.route('/items').get(items.list).post((req: Request, res: Response) => { res.sendStatus(201); });
                app.get(['/x', '/y'], (req: Request, res: Response) => { res.send('xy'); });
                app.get(/^\\/legacy/, (req: Request, res: Response) => { res.send('regex'); });
                app.listen(Number(process.env.PORT) || 3001);
            """,
            "src/routes/index.ts": """
                import { Router } from 'express';
                const router = Router();
                router.get('/:id', (req, res) => { res.json({ id: req.params.id }); });
                export default router;
            """,
            "src/items.controller.ts": """
                import { Request, Response } from 'express';
                export class ItemsController {
                  list = (req: Request, res: Response): void => { res.json([]); };
                }
            """,
            "src/broken.ts": "export const = ;\n",
        },
    )
    express = get_framework("express")
    with caplog.at_level(logging.WARNING):
        service = ds.service_of(express, tmp_path)
        endpoints = express.discover(tmp_path, service)
    assert service.entrypoint == "src/index.ts"
    assert ds.triples(endpoints) == {
        ("GET", "/a/:id", "<anonymous>"),
        ("GET", "/b/:id", "<anonymous>"),
        ("GET", "/items", "list"),
        ("POST", "/items", "<anonymous>"),
        ("GET", "/x", "<anonymous>"),
        ("GET", "/y", "<anonymous>"),
    }
    messages = ds.log_messages(caplog)
    assert "src/broken.ts: does not parse as typescript" in messages
    assert "regular-expression path" in messages
    hints = express.runtime_hints(tmp_path, service)
    assert hints.start_command == ["node", "dist/index.js"] and hints.port == 3001


# --------------------------------------------------------------------------- repositories


def test_multiple_node_services_in_one_repository(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "koa_blog", tmp_path / "services" / "blog")
    shutil.copytree(FIXTURES / "fastify_shop", tmp_path / "services" / "shop")
    shutil.copytree(FIXTURES / "nestjs_library", tmp_path / "apps" / "library")
    shutil.copytree(FIXTURES / "express_books", tmp_path / "apps" / "books")
    found = {(f.name, c.root) for f in FRAMEWORKS for c in f.detect(tmp_path)}
    assert found == {
        ("koa", (tmp_path / "services" / "blog").resolve()),
        ("fastify", (tmp_path / "services" / "shop").resolve()),
        ("nestjs", (tmp_path / "apps" / "library").resolve()),
        ("express", (tmp_path / "apps" / "books").resolve()),
    }
    fastify = get_framework("fastify")
    endpoints = fastify.discover(tmp_path, fastify.detect(tmp_path)[0])
    assert len(endpoints) == 14
    assert {e.handler.file.split("/")[1] for e in endpoints} == {"shop"}


def test_unparseable_files_are_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"dependencies": {"@nestjs/core": "10", "@nestjs/common": "10"}}',
            "src/main.ts": """
                import { NestFactory } from '@nestjs/core';
                import { AppModule } from './app.module';
                NestFactory.create(AppModule).then((app) => app.listen(3000));
            """,
            "src/app.module.ts": """
                import { Module, Controller, Get } from '@nestjs/common';
                @Controller('ok')
                class OkController { @Get() ok() { return 'ok'; } }
                @Module({ controllers: [OkController, BrokenController] })
                export class AppModule {}
            """,
            "src/broken.controller.ts": "@Controller('x') export class BrokenController { @Get( ok() {} }\n",
            "src/view.tsx": "export const View = () => <div>{1}</div>;\n",
        },
    )
    with caplog.at_level(logging.WARNING):
        endpoints = ds.discover("nestjs", tmp_path)
    assert ds.pairs(endpoints) == {("GET", "/ok")}
    messages = ds.log_messages(caplog)
    assert "src/broken.controller.ts: does not parse as typescript" in messages
    assert "view.tsx" not in messages


def test_grammar_per_suffix_and_jsonc() -> None:
    assert grammar_of("a/b.ts") == "typescript"
    assert grammar_of("a/b.tsx") == "tsx"
    assert grammar_of("a/b.mjs") == "javascript"
    assert compiled_path(FIXTURES / "nestjs_library", "src/main.ts") == "dist/main.js"
    assert read_jsonc(FIXTURES / "nestjs_library" / "tsconfig.json")["compilerOptions"]["outDir"] == "./dist"


# --------------------------------------------------------------------------- apps kept as class members


def test_an_app_held_in_a_class_member_is_followed(tmp_path: Path) -> None:
    # Seen on real Express and Koa services: `this.server = express()` in a constructor,
    # routes added in another method; a class field works the same way.
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"main": "src/server.js", "dependencies": {"express": "^4.18.2"}}',
            "src/server.js": """
                const express = require('express');
                const users = require('./users');
                class App {
                  constructor() {
                    this.server = express();
                    this.server.use(express.json());
                    this.routes();
                  }
                  routes() {
                    this.server.get('/items', (req, res) => res.json([]));
                    this.server.post('/items', (req, res) => res.status(201).json(req.body));
                    this.server.use('/users', users);
                  }
                }
                class Other {
                  listen() { this.server.get('/not-an-app', (req, res) => res.end()); }
                }
                new App().server.listen(3000);
            """,
            "src/users.js": """
                const { Router } = require('express');
                class UserRoutes {
                  router = Router();
                  constructor() { this.router.get('/:id', (req, res) => res.json({})); }
                }
                module.exports = new UserRoutes().router;
            """,
        },
    )
    assert ds.pairs(ds.discover("express", tmp_path)) == {("GET", "/items"), ("POST", "/items"), ("GET", "/users/:id")}


# --------------------------------------------------------------------------- servers a manifest does not declare


def test_a_server_its_manifest_does_not_declare_is_a_service(tmp_path: Path) -> None:
    # Seen on a real tool's repository: its package.json is the tool's, and the HTTP API kept
    # beside it requires Express without declaring it. The file that makes an Express app,
    # routes it and listens is the service; what the manifest lacks is installed beside it.
    root = FIXTURES / "express_jobrunner"
    service = ds.assert_detects_only("express", root, "integrations/http/server.js")
    ds.assert_matches_ground_truth("express", root, handlers=False)
    hints = get_framework("express").runtime_hints(root, service)
    # Its own file starts it (the manifest's main is the command-line tool), on its port; a
    # devDependency keeps its range (a production install leaves it out), Node's own modules
    # and the declared `ms` (required through ../../lib/queue) are not installed again.
    assert (hints.start_command, hints.port) == (["node", "integrations/http/server.js"], 7070)
    assert hints.extra_packages == ["body-parser@^1.20.2", "express"]
    # `process.env.JOBRUNNER_MODE = 'cli'` sets a variable: the service does not need it.
    assert hints.env == {"PORT": "7070"}
    # With a build step the install keeps the devDependencies: only Express is missing.
    copy = tmp_path / "jobrunner"
    shutil.copytree(root, copy)
    manifest = json.loads((copy / "package.json").read_text())
    manifest["scripts"]["build"] = "node cli.js build"
    (copy / "package.json").write_text(json.dumps(manifest))
    express = get_framework("express")
    assert express.runtime_hints(copy, ds.service_of(express, copy)).extra_packages == ["express"]


def test_undeclared_servers_leave_other_frameworks_libraries_tests_and_declared_services_alone(
    tmp_path: Path,
) -> None:
    server = """
        const express = require('express');
        const app = express();
        app.get('/x', (req, res) => res.end());
        app.listen(3000);
    """
    ds.write_files(
        tmp_path,
        {
            # another framework's package: its own module claims it
            "fast/package.json": '{"dependencies": {"fastify": "4"}}',
            "fast/scripts/mock.js": server,
            # a library that builds an app but never listens
            "lib/package.json": '{"name": "lib", "main": "index.js"}',
            "lib/index.js": """
                const express = require('express');
                module.exports = () => express().get('/y', (req, res) => res.end());
            """,
            # a server only a test starts
            "tool/package.json": '{"name": "tool"}',
            "tool/test/server.js": server,
            # no package.json above it: nothing to install from
            "loose/server.js": server,
            # a declared service, and a package inside it: read as part of it already
            "api/package.json": '{"main": "server.js", "dependencies": {"express": "4"}}',
            "api/server.js": server,
            "api/tools/mock/package.json": '{"name": "mock"}',
            "api/tools/mock/server.js": server,
            # a package whose only server is a nested package's own (declared) one
            "outer/package.json": '{"name": "outer"}',
            "outer/web/package.json": '{"main": "server.js", "dependencies": {"express": "4"}}',
            "outer/web/server.js": server,
        },
    )
    found = {c.root for c in get_framework("express").detect(tmp_path)}
    assert found == {(tmp_path / "api").resolve(), (tmp_path / "outer" / "web").resolve()}


def test_an_app_handed_out_by_the_function_that_makes_it(tmp_path: Path) -> None:
    # Seen on a real command-line program: an OAuth callback server made inside an async
    # function whose promise resolves to `{ app, server }`, the route added by its caller.
    # The same reading follows an app factory: `const app = createApp(); app.use(...)`.
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"main": "index.js", "dependencies": {"express": "^4.18.2"}}',
            "index.js": """
                const express = require('express');
                const createApp = require('./app');
                const { waitForCallback } = require('./oauth');
                const items = express.Router();
                items.get('/:id', (req, res) => res.json({ id: req.params.id }));
                const app = createApp();
                app.use('/items', items);
                app.listen(4000);
                waitForCallback().then((code) => console.log(code));
            """,
            "app.js": """
                const express = require('express');
                module.exports = function createApp() {
                  const app = express();
                  app.get('/health', (req, res) => res.send('ok'));
                  return app;
                };
            """,
            "oauth.js": """
                const express = require('express');
                async function startWebServer() {
                  return new Promise((resolve) => {
                    const app = express();
                    const server = app.listen(5000, () => resolve({ app, server }));
                  });
                }
                async function waitForCallback() {
                  const webServer = await startWebServer();
                  const { app: second } = await startWebServer();
                  second.get('/second', (req, res) => res.send('ok'));
                  return new Promise((resolve) => {
                    webServer.app.get('/oauth2callback', (req, res) => {
                      res.send('done');
                      resolve(req.query.code);
                    });
                  });
                }
                module.exports = { waitForCallback };
            """,
        },
    )
    express = get_framework("express")
    service = ds.service_of(express, tmp_path)
    assert ds.pairs(express.discover(tmp_path, service)) == {
        ("GET", "/health"),
        ("GET", "/items/:id"),
        ("GET", "/oauth2callback"),
        ("GET", "/second"),
    }
    assert express.runtime_hints(tmp_path, service).port == 4000


def test_an_app_started_by_bin_www_starts_from_bin_www(tmp_path):
    """express-generator's layout: `npm start` names app.js, which exports the app; the
    suffix-less bin/www (a node script) requires it and listens."""
    from pipeline.languages import get_framework
    from pipeline.languages.framework import ServiceCandidate

    (tmp_path / "package.json").write_text(
        '{"name": "gen", "main": "app.js", "scripts": {"start": "node app.js"}, "dependencies": {"express": "^4"}}'
    )
    (tmp_path / "app.js").write_text(
        "const express = require('express');\nconst app = express();\n"
        "app.get('/ping', (req, res) => res.json({ pong: true }));\nmodule.exports = app;\n"
    )
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "www").write_text(
        "#!/usr/bin/env node\nconst app = require('../app');\nconst http = require('http');\n"
        "http.createServer(app).listen(process.env.PORT || 3000);\n"
    )
    (tmp_path / "bin" / "notes").write_text("not a node script .listen( here\n")
    framework = get_framework("express")
    (candidate,) = framework.detect(tmp_path)
    assert candidate.entrypoint == "bin/www"
    hints = framework.runtime_hints(tmp_path, ServiceCandidate(root=tmp_path, entrypoint=candidate.entrypoint))
    assert hints.start_command == ["node", "bin/www"]
