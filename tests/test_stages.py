"""The stages one by one, without Docker: real git, real HTTP, real detect-secrets."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import subprocess
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from stub_services import answer_json, run_shipped_tests

from pipeline.config import Settings
from pipeline.models import (
    ApiGroup,
    BodyField,
    Endpoint,
    Handler,
    Probe,
    Scenario,
    Service,
    StageError,
    TestSuite,
    Verdict,
    normalize_path,
)
from pipeline.stages import acquire, explore, license, package, redact, testgen

FIXTURES = Path(__file__).parent / "fixtures"
MIT = (FIXTURES / "flask_todo" / "LICENSE").read_text()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(work_dir=tmp_path / "work", out_dir=tmp_path / "out")


# --- acquire ---------------------------------------------------------------------------


def test_acquire_plain_folder_is_deterministic(settings, tmp_path):
    first = acquire.acquire(str(FIXTURES / "flask_todo"), settings)
    again = acquire.acquire(str(FIXTURES / "flask_todo"), settings)
    assert first.commit == again.commit and first.path == again.path
    assert (first.path / "app.py").is_file()
    assert first.owner == "local" and first.name == "flask_todo"


def test_acquire_git_url_and_missing_source(settings, tmp_path):
    origin = tmp_path / "origin"
    subprocess.run(["git", "init", "-q", str(origin)], check=True)
    (origin / "README").write_text("hi\n")
    subprocess.run(["git", "-C", str(origin), "add", "."], check=True)
    subprocess.run(
        ["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], check=True
    )
    snap = acquire.acquire(f"file://{origin}", settings)
    head = subprocess.run(["git", "-C", str(origin), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert snap.commit == head.strip()
    assert snap.name == "origin"

    with pytest.raises(StageError) as err:
        acquire.acquire(str(tmp_path / "nope"), settings)
    assert err.value.verdict == Verdict.source_unavailable
    with pytest.raises(StageError) as err:
        acquire.acquire(f"file://{tmp_path}/nope.git", settings)
    assert err.value.verdict == Verdict.source_unavailable


def test_acquire_refuses_too_many_files(settings, tmp_path):
    repo = tmp_path / "big"
    repo.mkdir()
    for i in range(12):
        (repo / f"f{i}.txt").write_text("x")
    settings.max_repo_files = 10
    with pytest.raises(StageError, match="more than 10 files"):
        acquire.acquire(str(repo), settings)


# --- license -----------------------------------------------------------------------------


def _snapshot(settings, tmp_path, files: dict[str, str]):
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    for name, text in files.items():
        (repo / name).write_text(text)
    return acquire.acquire(str(repo), settings)


def test_license_mit_accepted(settings, tmp_path):
    verdict = license.check_license(_snapshot(settings, tmp_path, {"LICENSE": MIT}))
    assert verdict.accepted and verdict.spdx_id == "MIT" and verdict.evidence_file == "LICENSE"


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({}, "no LICENSE"),
        ({"LICENSE": (FIXTURES / "not_mit_app" / "LICENSE").read_text()}, "Apache-2.0"),
        ({"LICENSE": "All rights reserved."}, "not a license we recognise"),
        ({"LICENSE": MIT, "package.json": json.dumps({"license": "GPL-3.0"})}, "declares 'GPL-3.0'"),
        # MIT No Attribution (aws-samples' repositories) is named, not "not recognised".
        ({"LICENSE": re.sub(r"The above copyright notice[^.]*\.", "", MIT)}, "licensed MIT-0, not MIT"),
    ],
)
def test_license_rejections(settings, tmp_path, files, reason):
    verdict = license.check_license(_snapshot(settings, tmp_path, files))
    assert not verdict.accepted
    assert reason in verdict.reason


# --- groups ------------------------------------------------------------------------------


def _endpoint(method: str, path: str, fields: list[BodyField] | None = None) -> Endpoint:
    handler = Handler(file="app.py", name="h", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1)
    return Endpoint(method=method, path=path, handler=handler, body_fields=fields or [])


def test_normalize_path_across_frameworks():
    assert normalize_path("/api/todos/<int:todo_id>") == "/api/todos/{todo_id}"
    assert normalize_path("/books/:id") == "/books/{id}"
    assert normalize_path("/notes/{note_id}/") == "/notes/{note_id}"


def test_a_request_goes_to_the_trailing_slash_its_route_declares():
    """Goji answered 404 to `/numClusters` for a route declared `/numClusters/` (timberlake):
    the normalized form matches routes across frameworks, the request keeps the slash."""
    assert _endpoint("GET", "/numClusters/").request_path == "/numClusters/"
    assert _endpoint("GET", "/jobs/:id/").request_path == "/jobs/{id}/"
    assert _endpoint("GET", "^api/books/$").request_path == "/api/books/"  # a Django regex
    assert _endpoint("GET", "/books/:id").request_path == "/books/{id}"
    assert _endpoint("GET", "/").request_path == "/"


def test_groups_by_resource_skip_health_and_split(settings):
    endpoints = [
        _endpoint("GET", "/health"),
        _endpoint("GET", "/api/v1/books"),
        _endpoint("POST", "/api/v1/books"),
        _endpoint("GET", "/api/v1/books/:id"),
        _endpoint("GET", "/api/authors"),
    ]
    settings.max_group_endpoints = 2
    service = Service(root=".", language="javascript", framework="express", endpoints=endpoints)
    groups = explore.make_groups([service], settings)
    assert [g.name for g in groups] == ["authors", "books_1", "books_2"]
    assert [e.key for e in groups[1].endpoints] == ["GET /api/v1/books", "POST /api/v1/books"]
    assert explore.make_groups([service], settings) == groups  # stable


# --- test generation against a real HTTP service ------------------------------------------


class _NotesHandler(BaseHTTPRequestHandler):
    """A tiny stateful CRUD API with a per-call timestamp, served on loopback."""

    notes: dict[int, dict] = {}
    ids = itertools.count(1)

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _note_id(self) -> int | None:
        parts = self.path.strip("/").split("/")
        return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None

    def do_GET(self):
        if self.path == "/notes":
            self._send(200, {"items": list(self.notes.values()), "served_at": time.time()})
        elif (nid := self._note_id()) in self.notes:
            self._send(200, self.notes[nid])
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        data = self._body()
        if "title" not in data:
            self._send(400, {"error": "title is required"})
            return
        note = {"id": next(self.ids), "title": data["title"], "done": False}
        self.notes[note["id"]] = note
        self._send(201, note)

    def do_DELETE(self):
        if (nid := self._note_id()) in self.notes:
            del self.notes[nid]
            self._send(200, {"deleted": nid})
        else:
            self._send(404, {"error": "not found"})


@pytest.fixture
def notes_service(serve):
    return serve(_NotesHandler)


def _notes_group() -> ApiGroup:
    fields = [BodyField(name="title", type="str")]
    return ApiGroup(
        name="notes",
        description="The notes API.",
        service_root=".",
        endpoints=[
            _endpoint("GET", "/notes"),
            _endpoint("POST", "/notes", fields),
            _endpoint("GET", "/notes/<int:note_id>"),
            _endpoint("DELETE", "/notes/<int:note_id>"),
        ],
    )


def test_characterize_follows_ids_and_drops_unstable_fields(notes_service, tmp_path):
    suite = testgen.characterize(notes_service, _notes_group())
    names = [s.name for s in suite.scenarios]
    assert names == ["notes_lifecycle", "notes_create_rejects_empty_body"]
    lifecycle = suite.scenarios[0]
    assert [p.status for p in lifecycle.steps] == [201, 200, 200, 404, 200]
    assert lifecycle.steps[0].stable_json == {"id": "<note_id>", "title": "sample title", "done": False}
    # served_at changes with time and is not asserted; a collection's content depends on
    # what other requests left behind, so only its shape is.
    assert lifecycle.steps[-1].stable_json == {"items": "<any list>"}
    assert suite.scenarios[1].steps[0].status == 400

    # The generated tests pass against the service they were recorded from.
    run = run_shipped_tests(suite.test_func, notes_service, tmp_path / "tests", test_connect=suite.test_connect)
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_create_and_read_group_creates_a_second_item_with_other_values(notes_service):
    """With no update or delete, one create and one read could be answered by a canned copy
    of the first answer: a second item with other values is created and read back, each
    step asserted with the id of its own time."""
    group = _notes_group()
    group.endpoints = [e for e in group.endpoints if e.method != "DELETE"]
    suite = testgen.characterize(notes_service, group)
    lifecycle = suite.scenarios[0]
    assert [(p.method, p.status) for p in lifecycle.steps] == [
        ("POST", 201),
        ("GET", 200),
        ("POST", 201),
        ("GET", 200),
        ("GET", 200),
    ]
    assert lifecycle.steps[1].stable_json == {"id": "<note_id>", "title": "sample title", "done": False}
    assert lifecycle.steps[3].stable_json == {"id": "<note_id>", "title": "updated title", "done": False}
    assert suite.test_func.count('note_id = response.json()["id"]') == 2


def test_text_fields_named_for_a_url_or_an_email_get_values_a_server_accepts():
    fields = [
        BodyField(name="url", type="str"),
        BodyField(name="avatarUrl", type="any"),
        BodyField(name="email", type="str"),
        BodyField(name="contact_email", type="str"),
        BodyField(name="title", type="str"),
        BodyField(name="urls", type="list"),
    ]
    body = testgen.sample_body(_endpoint("POST", "/people", fields))
    assert body == {
        "url": "https://example.com/sample-url",
        "avatarUrl": "https://example.com/sample-avatarurl",
        "email": "sample.email@example.com",
        "contact_email": "sample.contact_email@example.com",
        "title": "sample title",
        "urls": [],
    }
    assert testgen.sample_body(_endpoint("POST", "/people", fields), "update")["url"] != body["url"]


def test_characterize_reports_unreachable_service():
    with pytest.raises(StageError) as err:
        testgen.characterize("http://127.0.0.1:9", _notes_group())
    assert err.value.verdict == Verdict.connect_failed


class _FilesHandler(BaseHTTPRequestHandler):
    """Static files as express.static serves them; `masked` answers 501 as a masked mount does."""

    files = {"/index.html": ("text/html", b"<!doctype html><h1>Assets</h1>\n"), "/css/site.css": ("text/css", b"h1{}")}
    masked = False

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.masked:
            status, kind, data = 501, "application/json", b'{"error": "Not implemented"}'
        elif self.path in self.files:
            status, (kind, data) = 200, self.files[self.path]
        else:
            status, kind, data = 404, "text/html", f"Cannot GET {self.path}".encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_characterize_asserts_a_file_body_by_its_hash(tmp_path, serve):
    # A static file answers 200 with bytes that are not JSON: the test compares them with the
    # original's, so a masked service (501), or one answering 200 with other bytes, fails it.
    group = ApiGroup(
        name="static",
        description="Static files.",
        service_root=".",
        endpoints=[_endpoint("GET", "/index.html"), _endpoint("GET", "/css/site.css"), _endpoint("GET", "/gone.txt")],
    )
    suite = testgen.characterize(serve(_FilesHandler), group)
    by_path = {s.steps[0].path: s.steps[0] for s in suite.scenarios}
    assert by_path["/index.html"].body_sha256 == hashlib.sha256(_FilesHandler.files["/index.html"][1]).hexdigest()
    assert by_path["/index.html"].status == 200 and by_path["/index.html"].json_body is None
    assert by_path["/gone.txt"].body_sha256 is None  # an error page is not the behaviour under test
    assert "hashlib.sha256(response.content).hexdigest() ==" in suite.test_func
    # The instruction says so: the file's bytes are what is compared, and a body of one short
    # line is quoted whole (the solver cannot guess it).
    assert package._behaviour(group, suite)["GET /index.html"][0] == (
        'Answers `200` with the text body "<!doctype html><h1>Assets</h1>\\n" (a JSON string: exactly these bytes).'
    )

    for handler, passes in (
        (_FilesHandler, True),
        (type("Masked", (_FilesHandler,), {"masked": True}), False),
        (type("Other", (_FilesHandler,), {"files": {k: ("text/html", b"other") for k in _FilesHandler.files}}), False),
    ):
        run = run_shipped_tests(suite.test_func, serve(handler), tmp_path / handler.__name__)
        assert (run.returncode == 0) == passes, (handler.__name__, run.stdout + run.stderr)


@pytest.mark.parametrize(
    ("content", "quoted"),
    [
        (b"Hello, World!", "Hello, World!"),
        (b"v1.2.3\n", "v1.2.3\n"),
        (b"<html>\n<body>two lines</body>\n</html>", None),
        (b"x" * 201, None),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"   ", None),
    ],
)
def test_only_a_short_line_of_text_is_quoted(content, quoted):
    assert testgen.short_text(content) == quoted


class _RedirectHandler(BaseHTTPRequestHandler):
    """A sign-in redirect to another host (with the service's own address in it, as a
    `serviceURL` query), and a moved page on the service itself."""

    masked = False

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.masked:
            self._answer(501, {}, b'{"error": "Not implemented"}')
        elif self.path == "/":
            own = f"http://{self.headers['Host']}/"
            self._answer(302, {"Location": f"http://sso.example.invalid/login?serviceURL={own}"}, b"")
        elif self.path == "/old":
            self._answer(301, {"Location": "/new"}, b"")
        elif self.path == "/new":
            self._answer(200, {"Content-Type": "application/json"}, b'{"page": "new"}')
        else:
            self._answer(404, {}, b"")

    def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_redirect_off_the_service_is_asserted_and_one_on_it_is_followed(tmp_path, serve):
    # Following a sign-in redirect to another host would test the outside world (here: a
    # name that does not resolve, which used to end the group as connect_failed).
    group = ApiGroup(
        name="pages",
        description="Pages.",
        service_root=".",
        endpoints=[_endpoint("GET", "/"), _endpoint("GET", "/old")],
    )
    suite = testgen.characterize(serve(_RedirectHandler), group)
    by_path = {s.steps[0].path: s.steps[0] for s in suite.scenarios}
    assert by_path["/"].status == 302
    assert by_path["/"].location == "http://sso.example.invalid/login?serviceURL={base_url}/"
    assert by_path["/old"].status == 200 and by_path["/old"].location is None
    assert by_path["/old"].json_body == {"page": "new"}
    # The generated tests pass on the original, on another port too, and fail on the masked one.
    for handler, passes in ((_RedirectHandler, True), (type("Masked", (_RedirectHandler,), {"masked": True}), False)):
        run = run_shipped_tests(suite.test_func, serve(handler), tmp_path / handler.__name__)
        assert (run.returncode == 0) == passes, (handler.__name__, run.stdout + run.stderr)


def test_a_recorded_digest_is_not_taken_for_a_secret(tmp_path):
    suite_text = testgen.render(
        "tests/test_func.py.j2",
        group=ApiGroup(name="static", description="Static files.", service_root=".", endpoints=[]),
        scenarios=[
            {
                "name": "get_index",
                "steps": [
                    {
                        "method": "GET",
                        "url": 'base_url + "/index.html"',
                        "body": None,
                        "status": 200,
                        "expected": None,
                        "sha256": hashlib.sha256(b"<h1>x</h1>").hexdigest(),
                        "location": None,
                        "capture": None,
                        "capture_field": None,
                    }
                ],
            }
        ],
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_func.py").write_text(suite_text)
    assert redact.leftover_secrets(tmp_path) == []


# --- redaction ---------------------------------------------------------------------------

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
GH_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_redaction_replaces_planted_secrets(tmp_path):
    (tmp_path / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\nTOKEN = "{GH_TOKEN}"\nDEBUG = True\n')
    (tmp_path / "ok.py").write_text("x = 1\n")
    report = redact.redact_tree(tmp_path)
    text = (tmp_path / "settings.py").read_text()
    assert AWS_KEY not in text and GH_TOKEN not in text
    assert "DEBUG = True" in text
    assert {(f.file, f.line) for f in report.findings} >= {("settings.py", 1), ("settings.py", 2)}
    assert redact.scan(tmp_path) == []


# --- publishing --------------------------------------------------------------------------


def test_publish_replaces_a_task_whole(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "task.yaml").write_text("v2")
    out = tmp_path / "out"
    (out / "t1").mkdir(parents=True)
    (out / "t1" / "stale.txt").write_text("old")
    final = package.publish(staging, out, "t1")
    assert final == out / "t1"
    assert sorted(p.name for p in out.iterdir()) == ["t1"]
    assert sorted(p.name for p in final.iterdir()) == ["task.yaml"]


def test_the_instruction_says_an_empty_body_was_sent_not_answered():
    """ "Answers `400` with an empty JSON body with a JSON object containing `error`" read as a
    contradiction in a real task: the empty body is the request's."""
    endpoint = _endpoint("POST", "/findings/category")
    group = ApiGroup(name="findings", description="Findings.", service_root=".", endpoints=[endpoint])
    probe = Probe(
        method="POST",
        path_template="/findings/category",
        path="/findings/category",
        body={},
        status=400,
        json_body={"error": "Missing required field: category"},
        stable_json={"error": "Missing required field: category"},
    )
    suite = TestSuite(
        group="findings", test_connect="", test_func="", scenarios=[Scenario(name="s", steps=[probe])], sign_in=None
    )
    assert package._behaviour(group, suite)["POST /findings/category"] == [
        "Sent an empty JSON object: answers `400` with a JSON object containing `error`."
    ]


class _EventStream(BaseHTTPRequestHandler):
    """Server-sent events: the headers at once, then an event now and then, never an end."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.end_headers()
        for _ in range(8):  # 2 s: the client, given 1 s, hangs up before
            try:
                self.wfile.write(b"data: ping\n\n")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.25)


def test_an_endless_answer_is_named_a_stream_not_a_failed_connection(serve, monkeypatch):
    # timberlake's `GET /sse` ended its group `connect_failed` ("Read timed out").
    monkeypatch.setattr(testgen, "REQUEST_TIMEOUT", 1)
    group = ApiGroup(name="sse", description="Events.", service_root=".", endpoints=[_endpoint("GET", "/sse")])
    with pytest.raises(StageError) as caught:
        testgen.characterize(serve(_EventStream), group)
    assert caught.value.verdict == Verdict.nothing_testable
    assert "GET /sse answers 200 (text/event-stream) and never ends" in caught.value.reason


class _Crashes(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        answer_json(self, 500, {"error": "Internal Server Error"})


def test_nothing_testable_says_the_original_crashed(serve):
    group = ApiGroup(name="reports", description="Reports.", service_root=".", endpoints=[_endpoint("GET", "/reports")])
    with pytest.raises(StageError) as caught:
        testgen.characterize(serve(_Crashes), group)
    assert caught.value.verdict == Verdict.nothing_testable
    assert caught.value.reason == (
        "no endpoint of group reports answered deterministically: "
        "the original answered a server error to GET /reports (500)"
    )


class _HangsUp(BaseHTTPRequestHandler):
    """Promises 100 bytes, sends 10, and closes the connection: a crash mid-answer."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b'{"items": ')
        self.wfile.flush()
        self.close_connection = True


def test_an_answer_cut_short_is_a_failed_connection_not_a_stream(serve, monkeypatch):
    monkeypatch.setattr(testgen, "REQUEST_TIMEOUT", 1)
    group = ApiGroup(name="items", description="Items.", service_root=".", endpoints=[_endpoint("GET", "/items")])
    with pytest.raises(StageError) as caught:
        testgen.characterize(serve(_HangsUp), group)
    assert caught.value.verdict == Verdict.connect_failed, caught.value.reason
