"""A read that nothing else in its group writes is asked twice, so that a stand-in that
answers one recorded body to every request (the gate's fixed_body) fails its tests:

- a read by id (`GET /api/article/{id}` on a blog with seeded articles) asks for a second id
  too (a real Spring Boot blog's public groups ended `tests_weak`);
- a search with optional text filters (`GET /emoji/search?name=&tag=`) is asked once plain
  and once with its filters set to values no item has, which must answer an empty result
  (a real Spring Boot service's search sent no filter and ended `tests_weak`)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from stub_services import answer_json, run_shipped_tests

from pipeline.models import ApiGroup, BodyField, Endpoint, Handler
from pipeline.stages import testgen

ARTICLES = {1: {"id": 1, "title": "Hello world", "views": 3}, 2: {"id": 2, "title": "About", "views": 9}}


def _handler(fixed: bool) -> type[BaseHTTPRequestHandler]:
    class Articles(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            tail = self.path.rsplit("/", 1)[-1]
            article = ARTICLES[1] if fixed else ARTICLES.get(int(tail) if tail.isdigit() else 0)
            status, body = (200, {"code": 0, "data": article}) if article else (404, {"code": -1, "msg": "no article"})
            answer_json(self, status, body)

    return Articles


def _group() -> ApiGroup:
    handler = Handler(file="A.java", name="get", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1)
    return ApiGroup(
        name="article",
        description="The article API.",
        service_root=".",
        endpoints=[Endpoint(method="GET", path="/api/article/{id}", handler=handler)],
    )


def test_a_read_by_id_asks_for_a_second_id_and_a_canned_answer_fails(serve, tmp_path):
    suite = testgen.characterize(serve(_handler(fixed=False)), _group())
    [scenario] = suite.scenarios
    assert [(p.path, p.status) for p in scenario.steps] == [("/api/article/1", 200), ("/api/article/2", 200)]
    assert scenario.steps[1].stable_json == {"code": 0, "data": {"id": 2, "title": "About", "views": 9}}
    assert 'send("GET", f"{base_url}/api/article/2")' in suite.test_func

    assert run_shipped_tests(suite.test_func, serve(_handler(fixed=False)), tmp_path / "original").returncode == 0
    canned = run_shipped_tests(suite.test_func, serve(_handler(fixed=True)), tmp_path / "canned")
    assert canned.returncode == 1 and "'About'" in canned.stdout, canned.stdout


EMOJIS = [{"id": 1, "name": "smile", "tags": "happy"}, {"id": 2, "name": "frown", "tags": "sad"}]


def _search_handler(ignores_filters: bool) -> type[BaseHTTPRequestHandler]:
    class Search(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            query = parse_qs(urlparse(self.path).query)
            found = [
                e
                for e in EMOJIS
                if ignores_filters
                or (query.get("name", [""])[0] in e["name"] and query.get("tag", [""])[0] in e["tags"])
            ]
            answer_json(self, 200, {"code": 0, "data": {"records": found, "total": len(found)}})

    return Search


def _search_group() -> ApiGroup:
    handler = Handler(file="E.java", name="s", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1)
    filters = [
        BodyField(name=n, type=t, required=False) for n, t in [("name", "str"), ("tag", "str"), ("pageSize", "int")]
    ]
    endpoint = Endpoint(method="GET", path="/emoji/search", handler=handler, query_fields=filters)
    return ApiGroup(name="emoji", description="The emoji API.", service_root=".", endpoints=[endpoint])


def test_a_search_is_asked_with_filters_no_item_matches_and_a_canned_answer_fails(serve, tmp_path):
    suite = testgen.characterize(serve(_search_handler(ignores_filters=False)), _search_group())
    [scenario] = suite.scenarios
    assert [p.path for p in scenario.steps] == [
        "/emoji/search",
        "/emoji/search?name=no-match-name&tag=no-match-tag",
    ]
    assert scenario.steps[1].stable_json == {"code": 0, "data": {"records": [], "total": 0}}

    assert run_shipped_tests(suite.test_func, serve(_search_handler(False)), tmp_path / "original").returncode == 0
    ignoring = run_shipped_tests(suite.test_func, serve(_search_handler(True)), tmp_path / "ignoring")
    assert ignoring.returncode == 1, ignoring.stdout


def test_a_create_does_not_send_what_the_server_keeps():
    """A real Spring Boot service's create body carried its entity's `id` and `isDelete`
    (MyBatis-Plus's soft-delete flag): the second replay failed on the key, and an item
    made with `isDelete: 1` is one no read shows. A create leaves such optional fields to
    the server; a POST that changes an item (`/update`) still names it by its id."""
    handler = Handler(file="E.java", name="s", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1)
    names = [("id", "int"), ("name", "str"), ("userId", "int"), ("isDelete", "int"), ("createTime", "str")]
    fields = [BodyField(name=n, type=t, required=False) for n, t in names]

    def body(method: str, path: str) -> dict | None:
        return testgen.sample_body(Endpoint(method=method, path=path, handler=handler, body_fields=fields))

    assert body("POST", "/api/emoji/add") == {"name": "sample name", "userId": 1}
    assert set(body("POST", "/api/emoji/update") or {}) == {n for n, _ in names}
    assert set(body("PUT", "/api/emoji/{id}") or {}) == {n for n, _ in names}
    required = [BodyField(name="id", type="int"), BodyField(name="name", type="str")]
    endpoint = Endpoint(method="POST", path="/tags", handler=handler, body_fields=required)
    assert testgen.sample_body(endpoint) == {"id": 1, "name": "sample name"}
