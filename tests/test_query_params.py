"""The query string parameters handlers read, and tests that send them.

A handler that needs `?q=` answers 400 to a request without it; tests recorded without
it assert only that refusal, which a masked handler's error answer matches too (Java's
0 of 21 in session 7: required `@RequestParam`s answered 400 both ways, `noop_passed`).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.languages import treesitter as ts
from pipeline.languages.go.request_query import QUERY_READERS as GO
from pipeline.languages.java.request_body import query_fields as spring_query_fields
from pipeline.languages.javascript.request_query import QUERY_READERS as JS
from pipeline.languages.python.request_query import QUERY_READERS as PY
from pipeline.languages.python.request_query import query_fields as fastapi_query_fields
from pipeline.languages.query_params import read
from pipeline.models import ApiGroup, BodyField, Endpoint, Handler, RepoSnapshot, Verdict
from pipeline.runtime import sandbox
from pipeline.stages import testgen
from pipeline.stages.explore import explore

FIXTURES = Path(__file__).parent / "fixtures"


def _fields(fields: list[BodyField]) -> list[tuple[str, str, bool]]:
    return [(f.name, f.type, f.required) for f in fields]


def test_node_reads_members_brackets_destructuring_and_nest_decorators():
    source = """(req, res) => {
        const page = parseInt(req.query.page) || 1;
        const q = req.query.q;
        const { limit = 10, sort, ...rest } = req.query;
        if (req.query.hasOwnProperty('x')) {}
        const tag = ctx.request.query["tag"];
        const n = req.query.n ?? 5;
    }"""
    assert _fields(read(source, JS)) == [
        ("page", "int", False),
        ("q", "any", True),
        ("limit", "any", False),
        ("sort", "any", True),
        ("tag", "any", True),
        ("n", "any", False),
    ]
    nest = "findAll(@Query('q') q: string, @Query('page') page?: number) {"
    assert _fields(read(nest, JS)) == [("q", "any", True), ("page", "any", False)]


def test_python_reads_flask_django_and_drf_with_defaults_and_types():
    source = """def view(request):
        page = request.args.get("page", 1, type=int)
        q = request.args.get('q')
        t = request.args['t']
        n = int(request.GET.get("n", "3"))
        s = request.args.get("s", type=int)
        k = self.request.query_params.get("k")
        h = request.headers.get("X-Token")
    """
    assert _fields(read(source, PY)) == [
        ("page", "int", False),
        ("q", "any", True),
        ("t", "any", True),
        ("n", "int", False),
        ("s", "int", True),
        ("k", "any", True),
    ]


def test_go_reads_gin_echo_fiber_and_net_http():
    source = """func h(c *gin.Context) {
        p, _ := strconv.Atoi(c.DefaultQuery("page", "1"))
        q := c.Query("q")
        e := c.QueryParam("e")
        v := r.URL.Query().Get("v")
        x := r.FormValue("x")
        values := r.URL.Query(); w := values.Get("w")
        f := c.Query("f", "default")
        h := r.Header.Get("X-Token")
    }"""
    assert _fields(read(source, GO)) == [
        ("page", "int", False),
        ("q", "any", True),
        ("e", "any", True),
        ("v", "any", True),
        ("x", "any", True),
        ("w", "any", True),
        ("f", "any", False),
    ]


def _first(source: str, language: str, kind: str):
    tree = ts.parse(source.encode(), language)
    return next(ts.find_all(tree.root_node, kind))


def test_spring_request_params_required_unless_said_and_plain_simple_parameters():
    method = _first(
        """class C {
          @GetMapping("/books")
          public List<Book> list(@RequestParam String q,
                                 @RequestParam(value = "page", defaultValue = "1") int page,
                                 @RequestParam(name = "size", required = false) Integer size,
                                 @RequestParam("sort") Optional<String> sort,
                                 @RequestParam Map<String, String> all,
                                 @PathVariable Long id, HttpServletRequest request, Pageable pageable,
                                 String author, int year, @RequestParam MultipartFile file) { return null; }
        }""",
        "java",
        "method_declaration",
    )
    assert _fields(spring_query_fields(method)) == [
        ("q", "str", True),
        ("page", "int", False),
        ("size", "int", False),
        ("sort", "str", False),
        ("author", "str", False),
        ("year", "int", True),  # a primitive without a value fails the request
    ]


def test_fastapi_scalar_parameters_outside_the_path_are_the_query():
    func = _first(
        """async def search(item_id: int, q: str, page: int = 1, tag: Optional[str] = None,
                 note: NoteIn = None, db: Session = Depends(get_db), request: Request = None,
                 limit: int = Query(...), user_agent: str = Header(None),
                 term: str = Query(None, alias="search-term")):
            pass""",
        "python",
        "function_definition",
    )
    assert _fields(fastapi_query_fields(func, {"item_id"})) == [
        ("q", "str", True),
        ("page", "int", False),
        ("tag", "str", False),
        ("limit", "int", True),
        ("search-term", "str", False),
    ]


def test_explore_finds_what_the_fixture_handlers_read():
    snapshot = RepoSnapshot(
        path=FIXTURES / "express_query_search", commit="x", origin="x", owner="local", name="express_query_search"
    )
    endpoints = {e.key: e for s in explore(snapshot, Settings()).services for e in s.endpoints}
    assert _fields(endpoints["GET /api/books/search"].query_fields) == [("q", "any", True), ("limit", "int", False)]
    assert _fields(endpoints["GET /api/convert"].query_fields) == [
        ("from", "any", False),
        ("to", "any", False),
        ("amount", "int", True),
    ]


def _endpoint(method: str, path: str, query: list[BodyField]) -> Endpoint:
    handler = Handler(file="a.js", name="h", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1)
    return Endpoint(method=method, path=path, handler=handler, query_fields=query)


def test_requests_send_the_required_parameters_with_values_that_differ_between_two_requests():
    search = _endpoint(
        "GET",
        "/search",
        [
            BodyField(name="q", type="any"),
            BodyField(name="pageSize", type="str"),
            BodyField(name="sort", type="str", required=False),
            BodyField(name="strict", type="bool"),
        ],
    )
    assert testgen.sample_query(search) == {"q": "sample q", "pageSize": "1", "strict": "true"}
    assert testgen.sample_query(search, "update") == {"q": "updated q", "pageSize": "2", "strict": "false"}
    scenarios = testgen.plan(ApiGroup(name="search", description="d", service_root=".", endpoints=[search]))
    (scenario,) = scenarios
    # A second request with other values: one canned answer cannot pass both.
    assert [s.query for s in scenario.steps] == [testgen.sample_query(search), testgen.sample_query(search, "update")]
    # A write without a JSON body takes its optional parameters too: they are its input.
    login = _endpoint("POST", "/login", [BodyField(name="username", type="str", required=False)])
    assert testgen.sample_query(login) == {"username": "sample username"}
    url = testgen._url_expression(search, {}, scenario.steps[0].query)
    assert url == 'f"{base_url}/search?q=sample+q&pageSize=1&strict=true"'
    assert testgen._url_expression(search, {}) == 'f"{base_url}/search"'


@pytest.mark.docker
def test_a_search_and_a_conversion_read_from_the_query_become_verified_tasks(docker_engine, tmp_path):
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True, oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(FIXTURES / "express_query_search"), settings, run_id=run_id)
    verified = {t.task_id.rsplit("__", 1)[-1]: t for t in result.tasks if t.status == "verified"}
    assert set(verified) == {"books", "convert"} and result.verdict == Verdict.passed, result.model_dump_json(indent=2)
    test_func = (Path(verified["books"].path) / "tests" / "test_func.py").read_text()
    assert "/api/books/search?q=sample+q" in test_func and "'title': 'A sample of poems'" in test_func
    assert "/api/books/search?q=updated+q" in test_func and "'title': 'Updated maps of the sea'" in test_func
    metadata = json.loads((Path(verified["convert"].path) / "metadata.json").read_text())
    assert metadata["verification_report"]["noop_run"]["verdict"] == "tests_failed"
    assert "Query parameters: `from` (any, optional), `to` (any, optional), `amount` (int)." in (
        Path(verified["convert"].path) / "task.yaml"
    ).read_text()
    assert sandbox.leftovers(run_id) == []
