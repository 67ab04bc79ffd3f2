"""An answer the service gives twice alike is asserted as recorded, and a recorded value
that reads as a key to the package's secret scan (a commit hash of 12 hex characters, an
etag) is marked as recorded on its line. Before, only tokens of 32 characters or more were
marked, so a short hex id ended the package as `secret_unredactable`."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from stub_services import answer_json

from pipeline.models import ApiGroup, Endpoint, Handler
from pipeline.stages import redact, testgen

RELEASE = {"name": "v1.4.2", "commit": "a3f9c2d17b4e", "etag": "9f86d081884c7d659a2feaa0c55ad015", "notes": "fixes"}


class _Releases(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        found = self.path == "/releases/latest"
        answer_json(self, 200 if found else 404, RELEASE if found else {"error": "no route"})


@pytest.fixture
def releases_service(serve) -> str:
    return serve(_Releases)


def _group() -> ApiGroup:
    handler = Handler(
        file="main.go", name="latest", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1
    )
    return ApiGroup(
        name="releases",
        description="The releases API.",
        service_root=".",
        endpoints=[Endpoint(method="GET", path="/releases/latest", handler=handler)],
    )


def test_a_recorded_value_that_reads_as_a_key_is_marked_and_the_package_scan_passes(releases_service, tmp_path):
    suite = testgen.characterize(releases_service, _group())
    line = next(line for line in suite.test_func.splitlines() if "a3f9c2d17b4e" in line)
    assert line.lstrip().startswith("matches(response.json(),")
    assert line.endswith("# pragma: allowlist secret (recorded from the service)")
    (tmp_path / "test_func.py").write_text(suite.test_func)
    assert redact.scan(tmp_path) == []

    # Without the mark the same line is a finding: the mark is what lets the package pass.
    unmarked = tmp_path / "unmarked"
    unmarked.mkdir()
    (unmarked / "test_func.py").write_text(suite.test_func.replace(testgen._RECORDED_PRAGMA, ""))
    assert {kind for _, _, kind, _ in redact.scan(unmarked)} == {"Hex High Entropy String"}


def test_a_line_that_is_not_a_recorded_answer_is_never_marked():
    text = "def test_x(send):\n    send('POST', '/x', json={'key': 'a3f9c2d17b4e'})\n"
    assert testgen._allow_recorded_values(text) == text


def test_a_value_two_answers_share_is_marked_on_every_line(tmp_path):
    """detect-secrets names a value once per file, at its first line: two uploads of the same
    bytes answered one digest, the second line was not marked, and the package's scan then
    flagged it (express_uploads ended `secret_unredactable`)."""
    digest = "43739c566e26fd7cb88f69d3864ea34740372f5ee99acac169e090beffbce5c6"
    test_func = "def test_uploads(base_url, send):\n" + "".join(
        f"    response = send('POST', f'{{base_url}}/files', json={{'file': '{name}'}})\n"
        f"    matches(response.json(), {{'name': '{name}', 'sha256': '{digest}'}})\n"
        for name in ("a.png", "b.png")
    )
    marked = testgen._allow_recorded_values(test_func)
    assert [line.endswith(testgen._RECORDED_PRAGMA) for line in marked.splitlines() if digest in line] == [True, True]
    (tmp_path / "test_func.py").write_text(marked)
    assert redact.scan(tmp_path) == []
