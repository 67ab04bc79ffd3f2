"""Static files as endpoints: folders served by express.static / serve-static, their masking and group."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import discovery_support as ds
import pytest
from toolbox import check_files

from pipeline.config import Settings
from pipeline.languages import get_framework
from pipeline.languages.javascript.static_files import MAX_FILES_PER_MOUNT, MAX_STATIC_ENDPOINTS, STATIC_GROUP
from pipeline.models import Service
from pipeline.stages import explore

FIXTURES = ds.FIXTURES
ROOT = FIXTURES / "express_assets"


def test_static_mounts_are_endpoints_of_one_group(tmp_path: Path) -> None:
    ds.assert_detects_only("express", ROOT, "server.js")
    endpoints, _ = ds.assert_matches_ground_truth("express", ROOT)
    static = [e for e in endpoints if e.group == STATIC_GROUP]
    assert {e.path for e in static} == {
        "/index.html",
        "/css/site.css",
        "/js/app.js",
        "/docs/notes.txt",
        "/docs/guide.md",
        "/downloads/release-notes.txt",
    }
    # The bundle a build step writes: no file is known that a test could ask for.
    assert not any(e.path.startswith("/app") for e in endpoints)
    # Dot files, files a URL must encode, a folder nothing mounts, a middleware never used:
    # none is served, so none is an endpoint.
    assert not any(re.search(r"hidden|read|orphan|unused|logo", e.path) for e in endpoints)
    source = (ROOT / "server.js").read_bytes()
    for endpoint in static:
        handler = endpoint.handler
        # The handler is the middleware expression itself: that is what masking replaces.
        assert (handler.start_byte, handler.end_byte) == (handler.body_start_byte, handler.body_end_byte)
        text = source[handler.start_byte : handler.end_byte].decode()
        assert text.startswith(("express.static(", "serveStatic(")), text
    # The routes beside them (res.sendFile in a handler, a router's JSON) keep their own groups.
    service = Service(root=".", language="javascript", framework="express", endpoints=endpoints)
    groups = explore.make_groups([service], Settings(work_dir=tmp_path / "w", out_dir=tmp_path / "o"))
    assert {g.name: len(g.endpoints) for g in groups} == {"static": 6, "version": 1, "welcome": 1}


def test_masked_static_mounts_answer_501_and_pass_the_rest_on(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    root = tmp_path / "express_assets"
    shutil.copytree(ROOT, root)
    express = get_framework("express")
    static = [e for e in ds.discover(express, root) if e.group == STATIC_GROUP]
    masked = ds.mask_all(express, root, static, write=True)["server.js"].decode()
    # Every mount with known files is masked; the build's bundle mount (no endpoint) stays.
    served = masked.split("// Decoys")[0]
    assert served.count("express.static(") == 1 and "serveStatic(path" not in masked
    assert masked.count("/* static files: not implemented */") == 3
    # Everything else stays: the imports, the API router, the sendFile route, the decoys.
    for kept in ("require('serve-static')", "app.use('/api', api);", "res.sendFile(", "express.static('unused')"):
        assert kept in masked, kept
    again = ds.discover(express, root)
    assert {e.path for e in again} >= {"/api/version", "/welcome"}
    # The masked file is valid JavaScript, and its stub answers 501 to GET and HEAD only.
    stub = re.search(r"app\.use\((\(\(req, res, next\) => .*\))\);", masked)
    assert stub is not None
    script = tmp_path / "stub.js"
    script.write_text(
        f"const mw = {stub.group(1)};\n"
        "const out = [];\n"
        "const res = { status(c) { out.push(c); return this; }, json(b) { out.push(b.error); } };\n"
        "for (const method of ['GET', 'HEAD', 'POST']) mw({ method }, res, () => out.push('next ' + method));\n"
        "console.log(JSON.stringify(out));\n"
    )
    results = check_files(request, ["node", "--check"], "node", [root / "server.js"])
    assert all(code == 0 for code, _ in results.values()), results
    ((code, output),) = check_files(request, ["node"], "node", [script]).values()
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1]) == [501, "Not implemented", 501, "Not implemented", "next POST"]


def test_static_mount_shapes(tmp_path: Path) -> None:
    files = {f"site/page{i}.html": f"<p>{i}</p>\n" for i in range(5)}
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"type": "module", "dependencies": {"express": "4", "serve-static": "1"}}',
            "server.mjs": """
                import express from 'express';
                import serveStatic from 'serve-static';
                import path from 'path';
                import { site } from './site.mjs';
                import { config } from './config.mjs';
                const { static: assets } = express;
                const app = express();
                app.get('/*', express.static(path.join(config.distFolder)));
                app.use('/site', site);
                app.use('/a', assets('a'));
                app.use('/b', serveStatic(path.join(process.cwd(), 'b')));
                app.use('/c', express.static(__dirname + '/c'));
                app.use('/d', express.static('../outside'));
                app.post('/upload', express.static('a'));
                app.listen(3000);
            """,
            "site.mjs": """
                import express from 'express';
                export const site = express.Router();
                site.use(express.static('site'));
            """,
            "config.mjs": "export const config = { distFolder: process.env.DIST };\n",
            **files,
            "a/one.txt": "1\n",
            "b/two.txt": "2\n",
            "c/three.txt": "3\n",
        },
    )
    (tmp_path.parent / "outside").mkdir(exist_ok=True)
    (tmp_path.parent / "outside" / "x.txt").write_text("outside the repository\n")
    endpoints = ds.discover("express", tmp_path)
    paths = [e.path for e in endpoints]
    # A folder known only at run time, or outside the repository: no file to test, no endpoint.
    assert not any(p.endswith("*") for p in paths)
    # A router's static folder under the router's prefix, at most a few files per mount.
    assert len([p for p in paths if p.startswith("/site/")]) == MAX_FILES_PER_MOUNT
    assert {"/a/one.txt", "/b/two.txt", "/c/three.txt"} <= set(paths)
    # POST never reaches a static folder; and no more than one group's worth in all.
    assert all(e.method == "GET" for e in endpoints)
    assert len(endpoints) <= MAX_STATIC_ENDPOINTS
    assert {e.handler.name for e in endpoints} == {"express.static", "assets", "serveStatic"}


def test_masking_a_typescript_static_mount_keeps_it_typed(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"main": "src/main.ts", "dependencies": {"express": "4"}}',
            "src/main.ts": """
                import express, { Request, Response } from 'express';
                import * as path from 'path';
                const app = express();
                app.use('/public', express.static(path.join(__dirname, '..', 'public')) as any);
                app.get('/', (req: Request, res: Response) => res.send('home'));
                app.listen(3000);
            """,
            "public/index.html": "<h1>home</h1>\n",
        },
    )
    express = get_framework("express")
    endpoints = ds.discover(express, tmp_path)
    assert ds.pairs(endpoints) == {("GET", "/public/index.html"), ("GET", "/")}
    static = next(e for e in endpoints if e.group == STATIC_GROUP)
    _, masked = ds.mask_handler(express, tmp_path, static.handler, "typescript")
    assert "app.use('/public', ((req: any, res: any, next: any) => /* static files" in masked.decode()


def test_a_static_only_server_its_manifest_does_not_declare(tmp_path: Path) -> None:
    # Seen on real libraries: a dev server for the demo or the docs, Express a devDependency
    # (or not declared at all), started by the package's own script, serving folders only.
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"main": "build/lib.js", "scripts": {"start": "nodemon utils/server.js"},'
            ' "devDependencies": {"express": "^4.17.1"}}',
            "utils/server.js": """
                const express = require('express')
                const app = express()
                app.use('/css', express.static('css'))
                app.use('/', express.static('demo'))
                app.listen(8000)
            """,
            "css/lib.css": ".graph { color: red; }\n",
            "demo/index.html": "<h1>demo</h1>\n",
        },
    )
    service = ds.service_of("express", tmp_path)
    assert service.entrypoint == "utils/server.js"
    assert ds.pairs(ds.discover("express", tmp_path)) == {("GET", "/css/lib.css"), ("GET", "/index.html")}


def test_koa_static_folders_and_their_mask(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"dependencies": {"koa": "2", "@koa/router": "12", "koa-static": "5", "koa-mount": "4"}}',
            "server.js": """
                const path = require('path');
                const Koa = require('koa');
                const Router = require('@koa/router');
                const serve = require('koa-static');
                const mount = require('koa-mount');
                const app = new Koa();
                const router = new Router({ prefix: '/api' });
                router.get('/ping-me', (ctx) => { ctx.body = { ok: true }; });
                app.use(serve(path.join(__dirname, 'public')));
                app.use(mount('/docs', serve('docs')));
                app.use(router.routes());
                app.listen(3000);
            """,
            "public/index.html": "<h1>koa</h1>\n",
            "docs/guide.txt": "guide\n",
        },
    )
    koa = get_framework("koa")
    endpoints = ds.discover(koa, tmp_path)
    assert ds.pairs(endpoints) == {("GET", "/api/ping-me"), ("GET", "/index.html"), ("GET", "/docs/guide.txt")}
    static = [e for e in endpoints if e.group == STATIC_GROUP]
    assert {e.handler.name for e in static} == {"serve"}
    masked = ds.mask_all(koa, tmp_path, static, write=True)["server.js"].decode()
    assert masked.count("/* static files: not implemented */") == 2
    assert "app.use(mount('/docs', (async (ctx, next) => {" in masked
    results = check_files(request, ["node", "--check"], "node", [tmp_path / "server.js"])
    assert all(code == 0 for code, _ in results.values()), results
