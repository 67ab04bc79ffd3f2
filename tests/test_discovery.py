"""Static endpoint discovery for Flask, FastAPI and Express, against ground truth."""

from __future__ import annotations

import json
import logging
import shutil
import textwrap
from pathlib import Path

import pytest

from pipeline.frameworks import FRAMEWORKS, get_framework
from pipeline.frameworks.base import Framework, ServiceCandidate
from pipeline.models import Endpoint

FIXTURES = Path(__file__).parent / "fixtures"
CASES = [
    ("flask", "flask_todo", "app.py"),
    ("fastapi", "fastapi_notes", "main:app"),
    ("express", "express_books", "server.js"),
]
DECOYS = {"archive_todo", "legacy_list_todos", "search_notes", "searchBooks"}


def _service(framework: Framework, root: Path) -> ServiceCandidate:
    found = framework.detect(root)
    assert len(found) == 1, found
    return found[0]


def _endpoints(name: str, fixture: str) -> tuple[Path, list[Endpoint]]:
    framework = get_framework(name)
    root = FIXTURES / fixture
    return root, framework.discover(root, _service(framework, root))


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip())
    return root


def _pairs(endpoints: list[Endpoint]) -> set[tuple[str, str]]:
    return {(e.method, e.path) for e in endpoints}


# --------------------------------------------------------------------------- fixtures


def test_registry() -> None:
    names = [f.name for f in FRAMEWORKS]
    assert len(names) == len(set(names)) == 20
    assert {f.language for f in FRAMEWORKS} == {"python", "javascript", "go", "java", "csharp", "ruby", "php", "rust"}
    # Specific frameworks claim a service root before the generic one they build on.
    assert names.index("nestjs") < names.index("express")
    assert max(names.index("gin"), names.index("echo"), names.index("chi")) < names.index("nethttp")
    assert get_framework("express").language == "javascript"
    with pytest.raises(KeyError, match="unknown framework 'bottle'"):
        get_framework("bottle")


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_detect_fixture(name: str, fixture: str, entrypoint: str) -> None:
    root = FIXTURES / fixture
    service = _service(get_framework(name), root)
    assert service.root == root.resolve()
    assert service.entrypoint == entrypoint
    for other in FRAMEWORKS:
        if other.name != name:
            assert other.detect(root) == [], other.name


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_discover_matches_ground_truth(name: str, fixture: str, entrypoint: str) -> None:
    root, endpoints = _endpoints(name, fixture)
    truth = json.loads((root / "ground_truth.json").read_text())
    assert _pairs(endpoints) == {(t["method"], t["path"]) for t in truth}
    assert len(endpoints) == len(truth)
    assert [(e.path, e.method) for e in endpoints] == sorted((e.path, e.method) for e in endpoints)
    assert endpoints == get_framework(name).discover(root, _service(get_framework(name), root))


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_handler_ranges_slice_to_function_and_body(name: str, fixture: str, entrypoint: str) -> None:
    root, endpoints = _endpoints(name, fixture)
    for endpoint in endpoints:
        handler = endpoint.handler
        source = (root / handler.file).read_bytes()
        definition = source[handler.start_byte : handler.end_byte].decode()
        body = source[handler.body_start_byte : handler.body_end_byte].decode()
        assert handler.start_byte <= handler.body_start_byte < handler.body_end_byte <= handler.end_byte
        assert source[: handler.start_byte].count(b"\n") + 1 == handler.line
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
    _, endpoints = _endpoints("express", "express_books")
    by_key = {(e.method, e.path): e.handler for e in endpoints}
    assert by_key[("POST", "/api/books")].file == "controllers/books.js"
    assert by_key[("POST", "/api/books")].name == "createBook"
    assert by_key[("GET", "/api/books/:id")].name == "getBook"
    assert by_key[("GET", "/health")].name == "<anonymous>"
    assert by_key[("GET", "/health")].file == "server.js"
    _, flask_endpoints = _endpoints("flask", "flask_todo")
    assert {e.handler.file for e in flask_endpoints} == {"app.py", "todo/routes.py"}


def _fields(endpoints: list[Endpoint], method: str, path: str) -> dict[str, tuple[str, bool]]:
    endpoint = next(e for e in endpoints if (e.method, e.path) == (method, path))
    return {f.name: (f.type, f.required) for f in endpoint.body_fields}


def test_body_fields_of_create_endpoints() -> None:
    _, flask_endpoints = _endpoints("flask", "flask_todo")
    assert _fields(flask_endpoints, "POST", "/api/todos") == {"title": ("str", True), "done": ("bool", False)}
    assert _fields(flask_endpoints, "PUT", "/api/todos/<int:todo_id>") == {
        "title": ("str", False),
        "done": ("bool", False),
    }
    assert _fields(flask_endpoints, "GET", "/api/todos") == {}

    _, fastapi_endpoints = _endpoints("fastapi", "fastapi_notes")
    assert _fields(fastapi_endpoints, "POST", "/api/notes/") == {"title": ("str", True), "body": ("str", False)}

    _, express_endpoints = _endpoints("express", "express_books")
    assert _fields(express_endpoints, "POST", "/api/books") == {
        "title": ("str", True),
        "author": ("str", True),
        "year": ("int", False),
    }
    assert {name for name, (_, required) in _fields(express_endpoints, "PUT", "/api/books/:id").items()} == {
        "title",
        "author",
        "year",
    }
    assert not any(required for _, required in _fields(express_endpoints, "PUT", "/api/books/:id").values())


@pytest.mark.parametrize(("name", "fixture", "entrypoint"), CASES)
def test_decoys_are_not_reported(name: str, fixture: str, entrypoint: str) -> None:
    _, endpoints = _endpoints(name, fixture)
    assert not {e.handler.name for e in endpoints} & DECOYS
    assert not any("legacy" in e.path for e in endpoints)


def test_runtime_hints() -> None:
    flask = get_framework("flask")
    root = FIXTURES / "flask_todo"
    hints = flask.runtime_hints(root, _service(flask, root))
    assert hints.start_command == [
        "python",
        "-m",
        "flask",
        "--app",
        "app.py",
        "run",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert hints.port == 8000 and hints.extra_packages == [] and hints.env == {}

    fastapi = get_framework("fastapi")
    root = FIXTURES / "fastapi_notes"
    hints = fastapi.runtime_hints(root, _service(fastapi, root))
    assert hints.start_command == ["python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"]
    assert hints.extra_packages == []

    express = get_framework("express")
    root = FIXTURES / "express_books"
    hints = express.runtime_hints(root, _service(express, root))
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
    assert ("POST", "/api/todos") in _pairs(endpoints)
    assert {e.handler.file for e in endpoints} == {"services/a/app.py", "services/a/todo/routes.py"}


def test_hostile_files_are_skipped_with_warnings(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _write(
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
    assert _pairs(flask_endpoints) == {("GET", "/ok")}
    assert _pairs(express_endpoints) == {("GET", "/js")}
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "blob.py: binary content" in messages
    assert "huge.py" in messages and "larger than" in messages
    assert "broken.py: does not parse" in messages
    assert "broken.js: does not parse" in messages
    assert "etc: symlink pointing outside" in messages
    assert "hosts.py: symlink pointing outside" in messages
    assert "node_modules" not in messages


# --------------------------------------------------------------------------- routing features


def test_flask_blueprints_across_files_nested_and_add_url_rule(tmp_path: Path) -> None:
    _write(
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
    assert _pairs(endpoints) == {
        ("GET", "/items"),
        ("POST", "/items"),
        ("POST", "/items/<int:item_id>/reviews/"),
        ("DELETE", "/v1/orders/<order_id>"),
        ("GET", "/ping"),
        ("POST", "/pong"),
        ("PUT", "/pong"),
    }
    assert _fields(endpoints, "POST", "/items") == {"name": ("any", True)}
    assert next(e for e in endpoints if e.path == "/ping").handler.file == "shop/views.py"


def test_fastapi_nested_routers_and_api_route(tmp_path: Path) -> None:
    _write(
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
    assert _pairs(endpoints) == {
        ("POST", "/api/v1/things"),
        ("PUT", "/api/v1/things"),
        ("GET", "/api/v1/people/users/{user_id}"),
    }
    assert _fields(endpoints, "POST", "/api/v1/things") == {
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
    _write(
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
    assert _pairs(endpoints) == {
        ("ANY", "/anything"),
        ("GET", "/api/items/:id"),
        ("PATCH", "/api/items/:id"),
        ("POST", "/api/users"),
        ("GET", "/api/users/:id"),
    }
    by_key = {(e.method, e.path): e for e in endpoints}
    assert by_key[("PATCH", "/api/items/:id")].handler.name == "patchItem"
    assert by_key[("PATCH", "/api/items/:id")].handler.file == "src/api/controllers.js"
    assert _fields(endpoints, "PATCH", "/api/items/:id") == {"qty": ("int", False)}
    assert _fields(endpoints, "POST", "/api/users") == {"name": ("any", True), "age": ("int", False)}
    hints = express.runtime_hints(tmp_path, services[0])
    assert hints.start_command == ["node", "src/index.js"]
    assert hints.port == 8080
    assert hints.env == {"DATABASE_URL": "dummy-DATABASE_URL", "PORT": "8080"}


def test_express_setup_functions_receive_the_app(tmp_path: Path) -> None:
    _write(
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
    service = _service(express, tmp_path)
    assert service.entrypoint == "app.js"
    assert _pairs(express.discover(tmp_path, service)) == {("GET", "/a"), ("POST", "/more/b")}
    assert express.runtime_hints(tmp_path, service).port == 4000
