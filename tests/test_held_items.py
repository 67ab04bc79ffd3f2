"""A group whose create is refused still has its item requests tested, on the items the
service already holds (its seed data): ids 1 and 2.

A real Spring Boot service (organizations: a create, an update by id, a cancel) loaded its
seed dump, answered a 500 to the create's sample values (an organization type it does not
know), and ended `nothing_testable`: every later step of the lifecycle follows the id the
create did not answer. The update of organization 1 answered 200 all along."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from stub_services import answer_json, run_shipped_tests

from pipeline.models import ApiGroup, BodyField, Endpoint, Handler
from pipeline.stages import testgen

SEED = {1: {"id": 1, "name": "Head office", "type": "ENTP"}, 2: {"id": 2, "name": "Lab", "type": "DEVCENT"}}


def _handler(fixed: bool = False, any_type: bool = False) -> type[BaseHTTPRequestHandler]:
    orgs = {k: dict(v) for k, v in SEED.items()}

    class Orgs(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

        def _org(self) -> dict | None:
            tail = self.path.split("?")[0].rsplit("/", 1)[-1]
            return orgs.get(1 if fixed else int(tail) if tail.isdigit() else 0)

        def do_POST(self):
            body = self._body()
            if not any_type and body.get("type") not in ("ENTP", "DEVCENT"):
                answer_json(self, 500, {"status": 500, "error": "Internal Server Error"})
                return
            org = orgs[len(orgs) + 1] = {"id": len(orgs) + 1, **body}
            answer_json(self, 201, org)

        def do_PATCH(self):
            org, body = self._org(), self._body()
            if org is None:
                answer_json(self, 404, {"error": "no such organization"})
                return
            org.update({k: v for k, v in body.items() if k in ("name",)})
            answer_json(self, 200, org)

        def do_GET(self):
            org = self._org()
            answer_json(self, 200 if org else 404, org or {"error": "no such organization"})

    return Orgs


def _group() -> ApiGroup:
    handler = Handler(file="Org.java", name="h", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1)
    fields = [BodyField(name="name", type="str", required=True), BodyField(name="type", type="str", required=True)]
    return ApiGroup(
        name="organizations",
        description="The organizations API.",
        service_root=".",
        endpoints=[
            Endpoint(method="POST", path="/api/organizations", handler=handler, body_fields=fields),
            Endpoint(method="PATCH", path="/api/organizations/{id}", handler=handler, body_fields=fields[:1]),
            Endpoint(method="GET", path="/api/organizations/{id}", handler=handler),
        ],
    )


def test_a_refused_create_leaves_the_held_items_tested(serve, tmp_path):
    suite = testgen.characterize(serve(_handler()), _group())
    held = next(s for s in suite.scenarios if s.name.endswith("_held_items"))
    assert [(p.method, p.path, p.status, (p.body or {}).get("name")) for p in held.steps] == [
        ("PATCH", "/api/organizations/1", 200, "sample name"),
        # its text changed, its numbers (a tenant, a user the data holds) kept
        ("PATCH", "/api/organizations/1", 200, "updated name"),
        ("GET", "/api/organizations/1", 200, None),
        ("PATCH", "/api/organizations/2", 200, "sample name"),
        ("GET", "/api/organizations/2", 200, None),
    ]
    assert held.steps[4].stable_json == {"id": 2, "name": "sample name", "type": "DEVCENT"}

    assert run_shipped_tests(suite.test_func, serve(_handler()), tmp_path / "original").returncode == 0
    # A service that answers its first item to every id (a canned answer) fails them.
    canned = run_shipped_tests(suite.test_func, serve(_handler(fixed=True)), tmp_path / "canned")
    assert canned.returncode == 1, canned.stdout


def test_a_create_that_works_is_followed_and_the_held_items_are_left_alone(serve):
    suite = testgen.characterize(serve(_handler(any_type=True)), _group())
    lifecycle = next(s for s in suite.scenarios if s.name.endswith("_lifecycle"))
    assert [(p.method, p.status) for p in lifecycle.steps][:2] == [("POST", 201), ("GET", 200)]
    assert not any(s.name.endswith("_held_items") for s in suite.scenarios)
