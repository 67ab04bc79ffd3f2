"""Answers that name where the service was reached (a URL built from the Host header):
asserted relative to the tests' own base URL, since a harness reaches the service at
another address than the recording did.

moneynote's `GET /test3` answers the address it was asked at; its task recorded
`http://127.0.0.1:32779` and failed its own oracle under the harness (`oracle_failed`).
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

from stub_services import answer_json, run_shipped_tests

from pipeline.models import ApiGroup, Endpoint, Handler
from pipeline.stages import testgen


class _Links(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        here = f"http://{self.headers['Host']}"
        if self.path == "/page":
            data = f'<html><a href="{here}/items/1">item</a></html>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        answer_json(
            self,
            200,
            {"data": here, "self": f"{here}/items/1", "note": f"served by {self.headers['Host']}", "name": "links"},
        )


def _group() -> ApiGroup:
    handler = Handler(file="app.py", name="h", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1)
    endpoints = [Endpoint(method="GET", path=p, handler=handler) for p in ("/links", "/page")]
    return ApiGroup(name="links", description="Links.", service_root=".", endpoints=endpoints)


def test_a_url_of_the_service_itself_is_asserted_from_the_tests_base_url(serve, tmp_path):
    recorded_at = serve(_Links)
    suite = testgen.characterize(recorded_at, _group())
    assert "'data': base_url, 'name': 'links', 'self': base_url + '/items/1'" in suite.test_func
    assert "served by" not in suite.test_func  # the host and port in other text: not asserted
    assert "sha256" not in suite.test_func  # a page with absolute links: not asserted by hash
    # The harness reaches the service at another address (here: by name, not by number).
    elsewhere = recorded_at.replace("127.0.0.1", "localhost")
    run = run_shipped_tests(suite.test_func, elsewhere, tmp_path / "tests")
    assert run.returncode == 0, run.stdout + run.stderr
