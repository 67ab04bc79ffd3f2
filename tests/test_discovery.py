"""Static endpoint discovery for Flask, FastAPI and Express, against ground truth."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.languages import FRAMEWORKS, get_framework

FIXTURES = ds.FIXTURES
CASES = [
    ("flask", "flask_todo", "app.py"),
    ("fastapi", "fastapi_notes", "main:app"),
    ("express", "express_books", "server.js"),
]
DECOYS = {"archive_todo", "legacy_list_todos", "search_notes", "searchBooks"}


# --------------------------------------------------------------------------- fixtures


def test_registry() -> None:
    names = [f.name for f in FRAMEWORKS]
    assert len(names) == len(set(names)) == 23
    assert {f.language for f in FRAMEWORKS} == {"python", "javascript", "go", "java", "csharp", "ruby", "php", "rust"}
    # Specific frameworks claim a service root before the generic one they build on.
    assert names.index("nestjs") < names.index("express")
    go_routers = ("gin", "echo", "chi", "gorillamux", "httptreemux", "goji")
    assert max(names.index(n) for n in go_routers) < names.index("nethttp")
    assert get_framework("express").language == "javascript"
    with pytest.raises(KeyError, match="unknown framework 'bottle'"):
        get_framework("bottle")


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_detect_fixture(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_detects_only(name, FIXTURES / fixture, entrypoint)


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str, entrypoint: str) -> None:
    ds.assert_matches_ground_truth(name, FIXTURES / fixture, handlers=False)


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_handler_ranges_slice_to_function_and_body(name: str, fixture: str, entrypoint: str) -> None:
    for endpoint, (_, definition, _, body) in ds.endpoint_slices(name, FIXTURES / fixture):
        handler = endpoint.handler
        assert definition.rstrip(";").endswith(body)
        if name == "express":
            assert body.startswith("{") and body.endswith("}")
            assert handler.name == "<anonymous>" or handler.name in definition.split("(")[0]
        else:
            assert definition.startswith(("def ", "async def ")), definition[:20]
            assert definition.startswith(f"def {handler.name}(")
            assert not body.startswith("def ")
        assert handler.name not in DECOYS


def test_handlers_resolve_to_controllers_across_files() -> None:
    _, endpoints = ds.fixture_endpoints("express", "express_books")
    by_key = ds.by_key(endpoints)
    assert by_key[("POST", "/api/books")].file == "controllers/books.js"
    assert by_key[("POST", "/api/books")].name == "createBook"
    assert by_key[("GET", "/api/books/:id")].name == "getBook"
    assert by_key[("GET", "/health")].name == "<anonymous>"
    assert by_key[("GET", "/health")].file == "server.js"
    _, flask_endpoints = ds.fixture_endpoints("flask", "flask_todo")
    assert {e.handler.file for e in flask_endpoints} == {"app.py", "todo/routes.py"}


def test_body_fields_of_create_endpoints() -> None:
    _, flask_endpoints = ds.fixture_endpoints("flask", "flask_todo")
    assert ds.body_fields(flask_endpoints, "POST", "/api/todos") == {"title": ("str", True), "done": ("bool", False)}
    assert ds.body_fields(flask_endpoints, "PUT", "/api/todos/<int:todo_id>") == {
        "title": ("str", False),
        "done": ("bool", False),
    }
    assert ds.body_fields(flask_endpoints, "GET", "/api/todos") == {}

    _, fastapi_endpoints = ds.fixture_endpoints("fastapi", "fastapi_notes")
    assert ds.body_fields(fastapi_endpoints, "POST", "/api/notes/") == {"title": ("str", True), "body": ("str", False)}

    _, express_endpoints = ds.fixture_endpoints("express", "express_books")
    assert ds.body_fields(express_endpoints, "POST", "/api/books") == {
        "title": ("str", True),
        "author": ("str", True),
        "year": ("int", False),
    }
    assert {name for name, (_, required) in ds.body_fields(express_endpoints, "PUT", "/api/books/:id").items()} == {
        "title",
        "author",
        "year",
    }
    assert not any(required for _, required in ds.body_fields(express_endpoints, "PUT", "/api/books/:id").values())


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_decoys_are_not_reported(name: str, fixture: str, entrypoint: str) -> None:
    _, endpoints = ds.fixture_endpoints(name, fixture)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any("legacy" in e.path for e in endpoints)


def test_runtime_hints() -> None:
    flask = get_framework("flask")
    root = FIXTURES / "flask_todo"
    hints = flask.runtime_hints(root, ds.service_of(flask, root))
    assert hints.start_command == ["python", "-m", "flask", "run", "--host", "0.0.0.0", "--port", "8000"]
    assert hints.port == 8000 and hints.extra_packages == [] and hints.env == {"FLASK_APP": "app.py"}

    fastapi = get_framework("fastapi")
    root = FIXTURES / "fastapi_notes"
    hints = fastapi.runtime_hints(root, ds.service_of(fastapi, root))
    assert hints.start_command == ["python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]
    assert hints.extra_packages == []

    express = get_framework("express")
    root = FIXTURES / "express_books"
    hints = express.runtime_hints(root, ds.service_of(express, root))
    assert hints.start_command == ["node", "server.js"]
    assert hints.port == 3000 and hints.env == {"PORT": "3000"}


# --------------------------------------------------------------------------- repositories


def test_multi_service_repository(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "flask_todo", tmp_path / "services" / "a")
    shutil.copytree(FIXTURES / "express_books", tmp_path / "services" / "b")
    found = {(f.name, c.root) for f in FRAMEWORKS for c in f.detect(tmp_path)}
    assert found == {
        ("flask", (tmp_path / "services" / "a").resolve()),
        ("express", (tmp_path / "services" / "b").resolve()),
    }
    flask = get_framework("flask")
    endpoints = flask.discover(tmp_path, flask.detect(tmp_path)[0])
    assert ("POST", "/api/todos") in ds.pairs(endpoints)
    assert {e.handler.file for e in endpoints} == {"services/a/app.py", "services/a/todo/routes.py"}


def test_hostile_files_are_skipped_with_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ds.write_files(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": """
                from flask import Flask

                app = Flask(__name__)

                @app.get("/ok")
                def ok():
                    return "ok"
            """,
            "broken.py": "def broken(:\n    pass\n",
            "package.json": '{"dependencies": {"express": "^4.18.2"}}',
            "index.js": "const app = require('express')();\napp.get('/js', (req, res) => res.send('x'));\n",
            "broken.js": "function (\n",
        },
    )
    (tmp_path / "blob.py").write_bytes(b"\x00\x01\x02binary" * 10)
    (tmp_path / "huge.py").write_text("x = 1\n" * 200_000)
    (tmp_path / "etc").symlink_to("/etc")
    (tmp_path / "hosts.py").symlink_to("/etc/hosts")
    (tmp_path / "node_modules" / "express").mkdir(parents=True)
    (tmp_path / "node_modules" / "express" / "index.js").write_text("module.exports = () => {};\n")
    with caplog.at_level(logging.WARNING):
        services = {f.name: f.detect(tmp_path) for f in FRAMEWORKS}
        flask_endpoints = get_framework("flask").discover(tmp_path, services["flask"][0])
        express_endpoints = get_framework("express").discover(tmp_path, services["express"][0])
    assert ds.pairs(flask_endpoints) == {("GET", "/ok")}
    assert ds.pairs(express_endpoints) == {("GET", "/js")}
    messages = ds.log_messages(caplog)
    assert "blob.py: binary content" in messages
    assert "huge.py" in messages and "larger than" in messages
    assert "broken.py: does not parse" in messages
    assert "broken.js: does not parse" in messages
    assert "etc: symlink pointing outside" in messages
    assert "hosts.py: symlink pointing outside" in messages
    assert "node_modules" not in messages


# --------------------------------------------------------------------------- routing features


def test_flask_blueprints_across_files_nested_and_add_url_rule(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\ndependencies = ['flask']\n",
            "shop/__init__.py": """
                from flask import Flask

                def create_app():
                    app = Flask(__name__)
                    from .routes.items import bp as items_bp
                    from .routes import orders
                    from . import views
                    app.register_blueprint(items_bp)
                    app.register_blueprint(orders.bp, url_prefix="/v1/orders")
                    app.add_url_rule("/ping", view_func=views.ping)
                    app.add_url_rule("/pong", "pong", views.pong, methods=["POST", "PUT"])
                    return app
            """,
            "shop/views.py": """
                def ping():
                    return "ping"

                def pong():
                    return "pong"
            """,
            "shop/routes/__init__.py": "",
            "shop/routes/items.py": """
                from flask import Blueprint, request

                bp = Blueprint("items", __name__, url_prefix="/items")
                reviews = Blueprint("reviews", __name__, url_prefix="/<int:item_id>/reviews")
                bp.register_blueprint(reviews)

                @bp.route("", methods=["GET", "POST"])
                def items():
                    data = request.json
                    return data["name"]

                @reviews.post("/")
                def add_review(item_id):
                    return "ok"
            """,
            "shop/routes/orders.py": """
                import flask

                bp = flask.Blueprint("orders", __name__, url_prefix="/ignored")

                @bp.route("/<order_id>", methods=["delete"])
                def cancel(order_id):
                    return ""
            """,
        },
    )
    flask = get_framework("flask")
    services = flask.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [(tmp_path.resolve(), "shop:create_app()")]
    endpoints = flask.discover(tmp_path, services[0])
    assert ds.pairs(endpoints) == {
        ("GET", "/items"),
        ("POST", "/items"),
        ("POST", "/items/<int:item_id>/reviews/"),
        ("DELETE", "/v1/orders/<order_id>"),
        ("GET", "/ping"),
        ("POST", "/pong"),
        ("PUT", "/pong"),
    }
    assert ds.body_fields(endpoints, "POST", "/items") == {"name": ("any", True)}
    assert next(e for e in endpoints if e.path == "/ping").handler.file == "shop/views.py"


def test_fastapi_nested_routers_and_api_route(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "app/__init__.py": "",
            "app/main.py": """
                import os

                from fastapi import FastAPI

                from app.api import api_router

                SECRET = os.environ["SECRET_KEY"]
                app = FastAPI()
                app.include_router(api_router, prefix="/api")
            """,
            "app/api.py": """
                from typing import Optional

                from fastapi import APIRouter
                from pydantic import BaseModel, Field

                from .users import router as users_router

                api_router = APIRouter(prefix="/v1")
                api_router.include_router(users_router, prefix="/people")

                class Base(BaseModel):
                    name: str

                class Thing(Base):
                    size: int = Field(..., gt=0)
                    tags: list[str] = []
                    note: Optional[str]
                    ratio: float | None = None

                @api_router.api_route("/things", methods=["POST", "PUT"])
                async def upsert(thing: Thing):
                    return thing

                def unused(thing: Thing):
                    return thing
            """,
            "app/users.py": """
                from fastapi import APIRouter

                router = APIRouter(prefix="/users")

                @router.get("/{user_id}")
                def read_user(user_id: int):
                    return {"id": user_id}
            """,
        },
    )
    fastapi = get_framework("fastapi")
    services = fastapi.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [(tmp_path.resolve(), "app.main:app")]
    endpoints = fastapi.discover(tmp_path, services[0])
    assert ds.pairs(endpoints) == {
        ("POST", "/api/v1/things"),
        ("PUT", "/api/v1/things"),
        ("GET", "/api/v1/people/users/{user_id}"),
    }
    assert ds.body_fields(endpoints, "POST", "/api/v1/things") == {
        "name": ("str", True),
        "size": ("int", True),
        "tags": ("list", False),
        "note": ("str", False),
        "ratio": ("float", False),
    }
    hints = fastapi.runtime_hints(tmp_path, services[0])
    assert hints.start_command[:4] == ["python", "-m", "uvicorn", "app.main:app"]
    assert hints.extra_packages == ["uvicorn"]
    assert hints.env == {"SECRET_KEY": "dummy-SECRET_KEY"}


def test_express_nested_routers_chains_and_esm(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"type": "module", "main": "src/index.js", "dependencies": {"express": "4"}}',
            "src/index.js": """
                import express from 'express';
                import api from './api/index.js';

                const app = express();
                const port = Number(process.env.PORT) || 8080;
                const db = process.env.DATABASE_URL;
                const debug = process.env.VERBOSE || '';
                app.use('/api', api);
                app.all('/anything', function (req, { status }) { status(200); });
                app.listen(port);
            """,
            "src/api/index.js": """
                import { Router } from 'express';
                import users from './users.js';
                import * as ctl from './controllers.js';

                const router = Router();
                router.use('/users', users);
                router.route('/items/:id').get(ctl.getItem).patch(auth, ctl.patchItem);
                function auth(req, res, next) { next(); }
                export default router;
            """,
            "src/api/users.js": """
                import express from 'express';
                const users = express.Router();
                users.post('/', async (req, res) => {
                  const body = req.body;
                  res.status(201).json({ name: body.name, age: req.body['age'] ?? 0 });
                });
                users.get('/:id', (req, res) => res.json({ id: req.params.id }));
                export default users;
            """,
            "src/api/controllers.js": """
                export function getItem(req, res) { res.json({}); }
                export const patchItem = (req, res) => { const { qty = 1 } = req.body; res.json({ qty }); };
                export function unusedItem(req, res) { res.json({}); }
            """,
        },
    )
    express = get_framework("express")
    services = express.detect(tmp_path)
    assert [(s.root, s.entrypoint) for s in services] == [(tmp_path.resolve(), "src/index.js")]
    endpoints = express.discover(tmp_path, services[0])
    assert ds.pairs(endpoints) == {
        ("ANY", "/anything"),
        ("GET", "/api/items/:id"),
        ("PATCH", "/api/items/:id"),
        ("POST", "/api/users"),
        ("GET", "/api/users/:id"),
    }
    by_key = {(e.method, e.path): e for e in endpoints}
    assert by_key[("PATCH", "/api/items/:id")].handler.name == "patchItem"
    assert by_key[("PATCH", "/api/items/:id")].handler.file == "src/api/controllers.js"
    assert ds.body_fields(endpoints, "PATCH", "/api/items/:id") == {"qty": ("int", False)}
    assert ds.body_fields(endpoints, "POST", "/api/users") == {"name": ("any", True), "age": ("int", False)}
    hints = express.runtime_hints(tmp_path, services[0])
    assert hints.start_command == ["node", "src/index.js"]
    assert hints.port == 8080
    assert hints.env == {"DATABASE_URL": "dummy-DATABASE_URL", "PORT": "8080"}


def test_express_setup_functions_receive_the_app(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "package.json": '{"dependencies": {"express": "^4.18.2"}}',
            "app.js": """
                const express = require('express');
                const app = express();
                require('./routes')(app);
                const setup = require('./routes/more');
                setup(app, express.Router());
                require('http').createServer(app).listen(process.env.PORT || 4000);
            """,
            "routes/index.js": """
                module.exports = function (app) {
                  app.get('/a', (req, res) => res.send('a'));
                };
            """,
            "routes/more.js": """
                module.exports = (app, router) => {
                  router.post('/b', (req, res) => res.send(req.body.x));
                  app.use('/more', router);
                };
            """,
        },
    )
    express = get_framework("express")
    service = ds.service_of(express, tmp_path)
    assert service.entrypoint == "app.js"
    assert ds.pairs(express.discover(tmp_path, service)) == {("GET", "/a"), ("POST", "/more/b")}
    assert express.runtime_hints(tmp_path, service).port == 4000
