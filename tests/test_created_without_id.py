"""A create that answers no id (201 with an empty body, Spring's ResponseEntity<Void>):
the tests find what it made in the collection, by the values they sent, and follow that
id. Before, the lifecycle stopped at the create and only status codes were left to assert
(HouariZegai/Tutorials ended `tests_weak`)."""

from __future__ import annotations

import itertools
import json
from http.server import BaseHTTPRequestHandler

import pytest
from stub_services import answer_json, run_shipped_tests

from pipeline.models import ApiGroup, BodyField, Endpoint, Handler
from pipeline.stages import testgen


class _Students(BaseHTTPRequestHandler):
    """Students in memory: POST answers 201 and nothing else; PUT and DELETE answer 202."""

    students: dict[int, dict] = {}
    ids = itertools.count(1)

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: object = None) -> None:
        answer_json(self, status, body)

    def _body(self) -> dict:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

    def _id(self) -> int | None:
        tail = self.path.rsplit("/", 1)[-1]
        return int(tail) if self.path.count("/") == 2 and tail.isdigit() else None

    def do_GET(self):
        if self.path == "/students":
            self._send(200, list(self.students.values()))
        elif (sid := self._id()) in self.students:
            self._send(200, self.students[sid])
        else:
            self._send(404)

    def do_POST(self):
        data = self._body()
        sid = next(self.ids) + 100
        self.students[sid] = {"id": sid, "name": data.get("name"), "email": data.get("email")}
        self._send(201)

    def do_PUT(self):
        if (sid := self._id()) in self.students:
            data = self._body()
            self.students[sid] = {"id": sid, "name": data.get("name"), "email": data.get("email")}
            self._send(202)
        else:
            self._send(404)

    def do_DELETE(self):
        self.students.pop(self._id() or 0, None)
        self._send(202)


@pytest.fixture
def students_service(serve) -> str:
    return serve(_Students)


def _endpoint(method: str, path: str, fields: list[BodyField] | None = None) -> Endpoint:
    handler = Handler(
        file="StudentController.java", name="h", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1
    )
    return Endpoint(method=method, path=path, handler=handler, body_fields=fields or [])


def _group() -> ApiGroup:
    # The entity's id is a body field too: the server assigns its own (the sent one is ignored).
    fields = [BodyField(name="id", type="int"), BodyField(name="name", type="str"), BodyField(name="email", type="str")]
    return ApiGroup(
        name="students",
        description="The students API.",
        service_root=".",
        endpoints=[
            _endpoint("GET", "/students"),
            _endpoint("POST", "/students", fields),
            _endpoint("GET", "/students/{idStudent}"),
            _endpoint("PUT", "/students/{idStudent}", fields),
            _endpoint("DELETE", "/students/{idStudent}"),
        ],
    )


def test_the_created_item_is_found_in_the_collection_and_followed(students_service, tmp_path):
    suite = testgen.characterize(students_service, _group())
    lifecycle = suite.scenarios[0]
    assert [(p.method, p.path_template, p.status) for p in lifecycle.steps] == [
        ("POST", "/students", 201),
        ("GET", "/students", 200),  # the finder
        ("GET", "/students/{idStudent}", 200),
        ("PUT", "/students/{idStudent}", 202),
        ("GET", "/students/{idStudent}", 200),
        ("DELETE", "/students/{idStudent}", 202),
        ("GET", "/students/{idStudent}", 404),
        ("GET", "/students", 200),
    ]
    # The item read back is asserted with the followed id and the values sent.
    assert lifecycle.steps[2].stable_json == {
        "id": "<idStudent>",
        "name": "sample name",
        "email": "sample.email@example.com",
    }
    assert (
        "created_item(response.json(), {'name': 'sample name', 'email': 'sample.email@example.com'})" in suite.test_func
    )
    run = run_shipped_tests(suite.test_func, students_service, tmp_path / "tests")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_service_that_keeps_nothing_fails_the_finder(students_service, tmp_path):
    """The finder is an assertion: a create that stores nothing (a masked handler's 201)
    leaves no item to find."""
    suite = testgen.characterize(students_service, _group())
    _Students.students.clear()
    original = _Students.do_POST
    try:
        _Students.do_POST = lambda self: (self._body(), self._send(201))[1]  # type: ignore[method-assign]
        run = run_shipped_tests(suite.test_func, students_service, tmp_path / "tests")
    finally:
        _Students.do_POST = original  # type: ignore[method-assign]
    assert run.returncode != 0
    assert "no item with {'name': 'sample name'" in run.stdout


def test_todays_date_and_the_clocks_time_are_not_asserted():
    """Two recordings a minute apart agree on today's date (database-export's
    `resultDate: "20261206"`); the next day's run would not: such a value is not asserted."""
    from datetime import UTC, datetime

    now = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)
    assert testgen.of_the_clock("20261206", now)
    assert testgen.of_the_clock("created 2026-12-05 23:59", now)
    assert testgen.of_the_clock(int(now.timestamp()) - 60, now)
    assert testgen.of_the_clock(int(now.timestamp() * 1000) + 5, now)
    # blobstash's version cursor: nanoseconds, as a string of digits; microseconds too.
    assert testgen.of_the_clock(str(int(now.timestamp() * 1e9) - 3_000_000_000), now)
    assert testgen.of_the_clock(int(now.timestamp() * 1e6), now)
    assert not testgen.of_the_clock("123456789012", now)
    assert not testgen.of_the_clock("2020-01-01", now)
    assert not testgen.of_the_clock("sample name", now)
    assert not testgen.of_the_clock(42, now)
    assert not testgen.of_the_clock(True, now)
    today = datetime.now(UTC).strftime("%Y%m%d")
    recorded = {"resultCode": "999999", "resultDate": today}
    assert testgen.stable_part(recorded, dict(recorded), {}, {}) == {"resultCode": "999999"}
