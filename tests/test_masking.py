"""Masking handler bodies: the routes stay, the logic goes, the service answers 501."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from toolbox import check_files

from pipeline.languages import get_framework, treesitter
from pipeline.languages.framework import Framework
from pipeline.models import Handler

FIXTURES = Path(__file__).parent / "fixtures"

#: per fixture: (framework, language, text that must survive, logic that must be gone)
CASES = {
    "flask_todo": (
        "flask",
        "python",
        ['@bp.route("/todos/<int:todo_id>", methods=["PUT"])', '"""List every todo, oldest first."""', "archived="],
        ["store.add(", "title is required", "store.delete(todo_id)", 'jsonify(status="ok")'],
    ),
    "fastapi_notes": (
        "fastapi",
        "python",
        ['@router.post("/", status_code=201)', "def update_note(note_id: int, note: NoteIn):", "query in n"],
        ["_notes[_next_id] = created", "del _notes[note_id]", '{"status": "ok"}'],
    ),
    "express_books": (
        "express",
        "javascript",
        ["router.put('/:id', requireJson, books.updateBook);", "function createBook(req, res)", "searchBooks"],
        ["store.set(book.id, book)", "store.delete(book.id)", "res.json({ status: 'ok' })", "title is required"],
    ),
}


def mask_repository(framework: Framework, root: Path) -> dict[str, str]:
    """Mask every discovered handler in place, from the end of each file backwards."""
    service = framework.detect(root)[0]
    by_file: dict[str, dict[int, Handler]] = {}
    for endpoint in framework.discover(root, service):
        by_file.setdefault(endpoint.handler.file, {})[endpoint.handler.body_start_byte] = endpoint.handler
    masked: dict[str, str] = {}
    for rel, handlers in by_file.items():
        path = root / rel
        source = path.read_bytes()
        for handler in sorted(handlers.values(), key=lambda h: h.body_start_byte, reverse=True):
            source = framework.mask_body(source, handler)
        path.write_bytes(source)
        masked[rel] = source.decode()
    return masked


@pytest.fixture(params=sorted(CASES))
def masked_copy(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path, dict[str, str]]:
    fixture = request.param
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    return fixture, root, mask_repository(get_framework(CASES[fixture][0]), root)


def test_masked_sources_reparse_keep_routes_and_drop_logic(masked_copy: tuple[str, Path, dict[str, str]]) -> None:
    fixture, root, masked = masked_copy
    name, language, kept, gone = CASES[fixture]
    assert masked
    for rel, text in masked.items():
        assert not treesitter.parse(text.encode(), language).root_node.has_error, rel
    everything = "\n".join(p.read_text() for p in root.rglob("*") if p.suffix in (".py", ".js"))
    for snippet in kept:
        assert snippet in everything, snippet
    for snippet in gone:
        assert snippet not in everything, snippet
    # Every route is still found, now pointing at the stubs.
    framework = get_framework(name)
    original = framework.discover(FIXTURES / fixture, framework.detect(FIXTURES / fixture)[0])
    again = framework.discover(root, framework.detect(root)[0])
    assert [(e.method, e.path, e.handler.name) for e in again] == [(e.method, e.path, e.handler.name) for e in original]
    marker = "Not implemented"
    assert all(marker in masked[e.handler.file] for e in again)


def _run(code: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_masked_flask_app_answers_501(tmp_path: Path) -> None:
    # flask is in the dev dependency group (uv.lock): this runs wherever `make test` runs.
    root = tmp_path / "flask_todo"
    shutil.copytree(FIXTURES / "flask_todo", root)
    check = textwrap.dedent(
        """
        from app import app
        c = app.test_client()
        print(c.post("/api/todos", json={"title": "x"}).status_code, c.get("/api/todos/1").status_code)
        """
    )
    assert _run(check, root).split() == ["201", "200"]
    mask_repository(get_framework("flask"), root)
    assert _run(check, root).split() == ["501", "501"]


def test_masked_fastapi_app_answers_501(tmp_path: Path) -> None:
    # fastapi is a dependency of the pipeline (Prefect's server), httpx one of Prefect's.
    root = tmp_path / "fastapi_notes"
    shutil.copytree(FIXTURES / "fastapi_notes", root)
    check = textwrap.dedent(
        """
        from fastapi.testclient import TestClient
        from main import app
        c = TestClient(app)
        print(c.post("/api/notes/", json={"title": "x"}).status_code, c.get("/api/notes/1").status_code,
              c.get("/health").status_code)
        """
    )
    assert _run(check, root).split() == ["201", "200", "200"]
    mask_repository(get_framework("fastapi"), root)
    assert _run(check, root).split() == ["501", "501", "501"]


def test_masked_express_sources_pass_node_check(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # node on this machine, else in the node base image: never skipped.
    root = tmp_path / "express_books"
    shutil.copytree(FIXTURES / "express_books", root)
    masked = [root / rel for rel in mask_repository(get_framework("express"), root)]
    assert masked
    for path, (code, output) in check_files(request, ["node", "--check"], "node", masked).items():
        assert code == 0, (path, output)


# --------------------------------------------------------------------------- edge cases


def _mask_text(tmp_path: Path, name: str, files: dict[str, str]) -> dict[str, str]:
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(textwrap.dedent(content).lstrip())
    return mask_repository(get_framework(name), tmp_path)


def test_python_edge_cases(tmp_path: Path) -> None:
    masked = _mask_text(
        tmp_path,
        "fastapi",
        {
            "requirements.txt": "fastapi\n",
            "main.py": '''
                from fastapi import FastAPI

                app = FastAPI()

                @app.get("/one")
                def one(): return {"one": 1}

                @app.get("/doc")
                async def doc():
                    """Only a docstring and a body."""
                    # a comment that goes too
                    return {"doc": True}

                class Nested:
                    @app.delete("/two")
                    def two(self):
                        if True:
                            return 2
            ''',
        },
    )["main.py"]
    assert (
        'def one(): from fastapi import HTTPException; raise HTTPException(status_code=501, detail="Not implemented")'
        in masked
    )
    assert '    """Only a docstring and a body."""\n    from fastapi import HTTPException\n    raise' in masked
    assert "a comment that goes too" not in masked
    assert "    def two(self):\n        from fastapi import HTTPException\n" in masked


def test_javascript_edge_cases(tmp_path: Path) -> None:
    masked = _mask_text(
        tmp_path,
        "express",
        {
            "package.json": '{"dependencies": {"express": "4"}}',
            "index.js": """
                const express = require('express');
                const app = express();
                const handlers = { list(req, reply) { reply.send([]); } };
                app.get('/expr', (req, res) => res.json({ a: 1 }));
                app.get('/single', req => req.params);
                app.get('/none', async () => { return 1; });
                app.get('/destructured', function (req, { json }) { json({}); });
                app.get('/method', handlers.list);
                app.listen(3000);
            """,
        },
    )["index.js"]
    assert "app.get('/expr', (req, res) => { res.status(501).json({ error: \"Not implemented\" }); });" in masked
    assert "app.get('/single', (req, _res) => { _res.status(501)" in masked
    assert "app.get('/none', async (_req, _res) => { _res.status(501)" in masked
    assert "function (req, { json }) { arguments[1].status(501)" in masked
    assert "list(req, reply) { reply.status(501)" in masked


@pytest.mark.parametrize("name", ["flask", "fastapi", "express"])
def test_mask_rejects_offsets_that_are_not_a_body(name: str) -> None:
    source = b"def f():\n    return 1\n" if name != "express" else b"function f(req, res) { return 1; }\n"
    handler = Handler(file="x", name="f", line=1, start_byte=0, end_byte=5, body_start_byte=1, body_end_byte=3)
    with pytest.raises(ValueError):
        get_framework(name).mask_body(source, handler)
