"""A list the service answers in no fixed order (a validation's violations, collected in a
hash set) passes the shipped tests in any order, and still fails when an item is wrong.

moneynote's registration answered its two violations in one order in both recordings and
in the other in the second oracle run: the task ended `oracle_flaky`.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

from stub_services import answer_json, run_shipped_tests

from pipeline.models import ApiGroup, BodyField, Endpoint, Handler
from pipeline.stages import testgen


class _Register(BaseHTTPRequestHandler):
    """Every registration is refused with its violations, in the order `reverse` says."""

    reverse = False
    password_message = "must match ^[A-Za-z0-9]*$"

    def log_message(self, *args):
        pass

    def do_POST(self):
        data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        violations = [
            {"fieldName": "username", "message": f"{data.get('username')!r} must match ^[A-Za-z0-9]*$"},
            {"fieldName": "password", "message": self.password_message},
        ]
        answer_json(self, 200, {"success": False, "violations": violations[::-1] if self.reverse else violations})


def _group() -> ApiGroup:
    handler = Handler(
        file="UserController.java", name="h", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1
    )
    fields = [BodyField(name="username", type="str"), BodyField(name="password", type="str")]
    endpoint = Endpoint(method="POST", path="/register", handler=handler, body_fields=fields)
    return ApiGroup(name="register", description="Registration.", service_root=".", endpoints=[endpoint])


def test_the_same_items_in_another_order_pass_and_a_changed_item_fails(serve, tmp_path):
    url = serve(_Register)
    suite = testgen.characterize(url, _group())
    assert "'fieldName': 'password'" in suite.test_func  # the violations are asserted whole
    _Register.reverse = True
    try:
        run = run_shipped_tests(suite.test_func, url, tmp_path / "reordered")
        assert run.returncode == 0, run.stdout + run.stderr
        _Register.password_message = "must be 6 to 32 characters"
        run = run_shipped_tests(suite.test_func, url, tmp_path / "changed")
        assert run.returncode != 0
        assert "must match ^[A-Za-z0-9]*$" in run.stdout
    finally:
        _Register.reverse = False
        _Register.password_message = "must match ^[A-Za-z0-9]*$"
