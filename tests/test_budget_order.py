"""The verification budget goes first to the groups whose suites pin the most behaviour."""

from pipeline.generate import _promise
from pipeline.models import Probe, Scenario, StageError, TestSuite, Verdict


def _suite(*probes: Probe) -> TestSuite:
    return TestSuite(group="g", test_connect="", test_func="", scenarios=[Scenario(name="s", steps=list(probes))])


def _probe(path: str, status: int, body: object = None, method: str = "GET") -> Probe:
    return Probe(method=method, path_template=path, path=path, status=status, json_body=body, stable_json=body)


def test_a_sign_in_wall_comes_after_a_group_with_asserted_bodies():
    wall = _suite(_probe("/admin/users", 401, {"msg": "login first"}), _probe("/admin/roles", 401))
    empty = _suite(_probe("/health", 200, None), _probe("/ping", 204))
    rich = _suite(
        _probe("/books", 200, [{"id": 1}]), _probe("/books/1", 200, {"id": 1}), _probe("/books", 200, [{"id": 1}])
    )
    assert _promise(rich) == 2  # distinct endpoints, not requests
    assert _promise(wall) == _promise(empty) == 0
    assert _promise(StageError(Verdict.nothing_testable, "x")) == -1
    groups = {"wall": wall, "rich": rich, "empty": empty}
    assert sorted(groups, key=lambda g: -_promise(groups[g]))[0] == "rich"


def test_a_wall_that_answers_200_to_everything_comes_after_the_public_groups():
    """Fame's admin groups answer `200 {"code": 999, "msg": "Not Login"}` to every request:
    a refusal in words, and one answer many endpoints gave alike. Its public groups (one
    endpoint each) go first; before, the budget ran out on the walls."""
    not_login = {"code": 999, "data": None, "msg": "Not Login", "success": False}
    admin = _suite(*(_probe(f"/api/admin/{name}", 200, not_login) for name in ("article", "tag", "option", "user")))
    same = {"ok": False, "reason": "maintenance"}
    interceptor = _suite(*(_probe(f"/api/x/{name}", 200, same) for name in ("a", "b", "c")))
    archive = _suite(_probe("/api/archive", 200, [{"year": 2019, "count": 3}]))
    assert _promise(admin) == 0
    assert _promise(interceptor) == 0
    assert _promise(archive) == 1
    assert _promise(_suite(_probe("/api/me", 200, {"message": "请先登录"}))) == 0


def test_a_repository_without_a_verified_task_takes_the_verdict_of_the_task_that_got_furthest():
    """A frontend whose registry is out of reach (infra_error) beside a service whose tests
    were judged too weak: the repository is tests_weak, the most informative of the two."""
    from pipeline.generate import furthest_task
    from pipeline.models import TaskOutcome

    def outcome(task_id: str, verdict: Verdict) -> TaskOutcome:
        return TaskOutcome(task_id=task_id, path=None, status="rejected", verdict=verdict, reason=verdict.value)

    tasks = [
        outcome("vue_root", Verdict.infra_error),
        outcome("java_blog", Verdict.nothing_testable),
        outcome("java_user", Verdict.tests_weak),
        outcome("java_login", Verdict.tests_weak),
    ]
    assert furthest_task(tasks).task_id == "java_user"
    assert furthest_task(tasks[:1]).task_id == "vue_root"
    late = [outcome("a", Verdict.budget_exhausted), outcome("b", Verdict.build_error)]
    assert furthest_task(late).task_id == "b"
