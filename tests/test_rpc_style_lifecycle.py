"""Creates named by their verb: `POST /blog/insert` beside `GET /blog/getBlogById/{id}` and
`DELETE /blog/delete/{id}` (the RPC style of many Spring and Express APIs). Before, a
lifecycle was planned only for a POST to the collection its items sit under, so each of
these requests was replayed alone: the reads asked for ids nothing had made (new-bee's
reads by id answered 500 on its empty database) and the create's answer was all there
was to assert. Now the create is followed: its id read back, deleted, read again.
"""

from __future__ import annotations

import itertools
import json
from http.server import BaseHTTPRequestHandler

import pytest
from stub_services import answer_json, run_shipped_tests

from pipeline.models import ApiGroup, BodyField, Endpoint, Handler
from pipeline.stages import testgen


class _Blogs(BaseHTTPRequestHandler):
    """Blogs in memory, every answer wrapped as `{"code": 0, "data": ...}`."""

    blogs: dict[int, dict] = {}
    ids = itertools.count(7)

    def log_message(self, *args):
        pass

    def _send(self, status: int, data: object = None) -> None:
        answer_json(self, status, {"code": 0 if status == 200 else 1, "data": data})

    def _id(self, verb: str) -> int | None:
        prefix = f"/blog/{verb}/"
        tail = self.path.removeprefix(prefix)
        return int(tail) if self.path.startswith(prefix) and tail.isdigit() else None

    def do_POST(self):
        if self.path != "/blog/insert":
            return self._send(404)
        data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if not data.get("title"):
            return self._send(400)
        blog = {"id": next(self.ids), "title": data["title"].upper(), "content": data.get("content")}
        self.blogs[blog["id"]] = blog
        self._send(200, blog)

    def do_GET(self):
        blog = self.blogs.get(self._id("getBlogById") or 0)
        self._send(200, blog) if blog else self._send(404)

    def do_DELETE(self):
        self._send(200, self.blogs.pop(self._id("delete") or 0, None))


@pytest.fixture
def blogs_service(serve) -> str:
    return serve(_Blogs)


def _endpoint(method: str, path: str, fields: list[BodyField] | None = None) -> Endpoint:
    handler = Handler(
        file="BlogController.java", name="h", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1
    )
    return Endpoint(method=method, path=path, handler=handler, body_fields=fields or [])


def _api(name: str, *endpoints: Endpoint) -> ApiGroup:
    return ApiGroup(name=name, description=f"The {name} API.", service_root=".", endpoints=list(endpoints))


def _group(*extra: Endpoint) -> ApiGroup:
    fields = [BodyField(name="title", type="str", required=True), BodyField(name="content", type="str")]
    return _api(
        "blog",
        _endpoint("POST", "/blog/insert", fields),
        _endpoint("GET", "/blog/getBlogById/{id}"),
        _endpoint("DELETE", "/blog/delete/{id}"),
        *extra,
    )


def test_a_create_named_by_its_verb_is_followed_through_its_item_requests():
    scenarios = testgen.plan(_group(_endpoint("GET", "/blog/getBlogsByTag/{tag}"), _endpoint("POST", "/blog/search")))
    lifecycle = scenarios[0]
    assert lifecycle.name == "blog_lifecycle"
    assert [(s.endpoint.method, s.endpoint.path) for s in lifecycle.steps] == [
        ("POST", "/blog/insert"),
        ("GET", "/blog/getBlogById/{id}"),
        ("DELETE", "/blog/delete/{id}"),
        ("GET", "/blog/getBlogById/{id}"),
    ]
    assert lifecycle.steps[0].captures == "id"
    # A read whose word does not say it reads one item, and a POST that is no create, are
    # replayed on their own.
    assert [s.name for s in scenarios[1:]] == [
        "blog_create_rejects_empty_body",
        "get_blog_getblogsbytag_tag",
        "post_blog_search",
    ]


def test_updates_and_deletes_that_are_posts_named_by_their_word_take_their_steps():
    # yyblog's style: `POST /add`, `GET /edit/{id}` (the item, to edit), `POST /edit/top/{id}`
    # (two words: not one item request), `POST /delete/{id}`.
    fields = [BodyField(name="title", type="str", required=True)]
    group = _api(
        "notes",
        _endpoint("POST", "/admin/note/add", fields),
        _endpoint("GET", "/admin/note/edit/{id}"),
        _endpoint("POST", "/admin/note/edit/top/{id}"),
        _endpoint("POST", "/admin/note/update/{id}", fields),
        _endpoint("POST", "/admin/note/delete/{id}"),
    )
    lifecycle = testgen.plan(group)[0]
    assert [(s.endpoint.method, s.endpoint.path) for s in lifecycle.steps] == [
        ("POST", "/admin/note/add"),
        ("GET", "/admin/note/edit/{id}"),
        ("POST", "/admin/note/update/{id}"),
        ("GET", "/admin/note/edit/{id}"),
        ("POST", "/admin/note/delete/{id}"),
        ("GET", "/admin/note/edit/{id}"),
    ]
    assert lifecycle.steps[2].body == {"title": "updated title"}


@pytest.mark.parametrize("path", ["/blog/search", "/blog/newest", "/blog/addresses"])
def test_a_post_whose_last_word_is_no_create_verb_plans_no_lifecycle(path):
    group = _group()
    group.endpoints[0] = _endpoint("POST", path, group.endpoints[0].body_fields)
    assert not any(s.name.endswith("_lifecycle") for s in testgen.plan(group))


def test_the_shipped_tests_follow_the_created_id(blogs_service, tmp_path):
    suite = testgen.characterize(blogs_service, _group())
    lifecycle = suite.scenarios[0]
    assert [(p.method, p.path_template, p.status) for p in lifecycle.steps] == [
        ("POST", "/blog/insert", 200),
        ("GET", "/blog/getBlogById/{id}", 200),
        ("DELETE", "/blog/delete/{id}", 200),
        ("GET", "/blog/getBlogById/{id}", 404),
    ]
    # The item read back is asserted with the followed id and what the service made of it.
    assert lifecycle.steps[1].stable_json == {
        "code": 0,
        "data": {"id": "<id>", "title": "SAMPLE TITLE", "content": "sample content"},
    }
    run = run_shipped_tests(suite.test_func, blogs_service, tmp_path / "tests")
    assert run.returncode == 0, run.stdout + run.stderr
