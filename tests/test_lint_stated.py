"""The `stated` lint check on a hand-written task folder (no Docker): every status code and
literal value tests/test_func.py asserts must be in the instruction, in the tests' own
request bodies, or in the repository's code with the solution put back."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.lint import lint_task
from pipeline.lint_stated import asserted, unstated

INSTRUCTION = """\
You are working on the Flask service in `/app/Acme_notes`.

### `POST /api/notes`
- Answers `201` with a JSON object containing `id`, `title`, `status`.

### `GET /api/notes/{id}`
- Answers `200` with a JSON object containing `id`, `title`, `status`.
"""

TEST_FUNC = """\
import hashlib

import requests


def matches(actual, expected, where="body"):
    assert actual == expected, where


def test_notes(base_url, send):
    response = send("POST", f"{base_url}/api/notes", json={"title": "Buy milk", "tags": ["home"]})
    assert response.status_code == 201, response.text[:500]
    note_id = response.json()["id"]
    matches(response.json(), {"id": note_id, "title": "Buy milk", "status": "draft", "tags": list})
    response = send("GET", f"{base_url}/api/notes/{note_id}")
    assert response.status_code == 200, response.text[:500]
    matches(response.json(), {"title": "Buy milk", "status": "draft", "done": False, "version": 7, "words": 2})
    response = send("DELETE", f"{base_url}/api/notes/{note_id}")
    assert response.status_code == 418, response.text[:500]
    assert response.json()["message"] == "I am a teapot, not a note store"
    assert hashlib.sha256(response.content).hexdigest() == "0f" * 32, "the body differs"
    assert response.json()["error"] == "no note with id 5"
"""

# The masked handlers answer 501; the solution puts back the code that says "draft" and 7.
PATCH = """\
diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,3 +1,4 @@
 def create_note():
-    return {"error": "not implemented"}, 501
+    note = {"title": request.json["title"], "status": "draft", "version": 7}
+    return note, 201
"""

MASKED_APP = """\
NOTES_VERSION = 7
def create_note():
    return {"error": "not implemented"}, 501
def missing(note_id):
    return {"error": f"no note with id {note_id}"}, 404
"""


def _task(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "Acme_notes").mkdir()
    (root / "Acme_notes" / "app.py").write_text(MASKED_APP)
    (root / "task.yaml").write_text(yaml.safe_dump({"instruction": INSTRUCTION, "difficulty": "easy"}))
    (root / "tests" / "test_func.py").write_text(TEST_FUNC)
    (root / "solution.sh").write_text(
        f"#!/usr/bin/env bash\ncat > x <<'ABC_PIPELINE_SOLUTION_PATCH'\n{PATCH}ABC_PIPELINE_SOLUTION_PATCH\n"
    )
    metadata = {"task_id": "acme_notes__notes", "kind": "implementation", "masked_symbols": ["app.py:create_note"]}
    metadata["source"] = {"origin": "/src/notes", "owner": "acme", "name": "notes"}
    (root / "metadata.json").write_text(json.dumps(metadata))
    return root


def test_asserted_reads_statuses_and_literal_leaves():
    found = {(a.kind, a.value) for a in asserted(TEST_FUNC)}
    assert found == {
        ("status", 201),
        ("status", 200),
        ("status", 418),
        ("value", "Buy milk"),
        ("value", "draft"),
        ("value", 7),
        ("value", 2),
        ("value", "I am a teapot, not a note store"),
        ("value", "no note with id 5"),
    }  # not the captured id, the `list` type, False, nor the body's digest


def test_unstated_names_only_what_nobody_states(tmp_path):
    task = _task(tmp_path / "task")
    missing = unstated(INSTRUCTION, TEST_FUNC, task / "Acme_notes", PATCH)
    # 201/200: the instruction; "Buy milk": the test sends it; "draft", 7: the solution's code;
    # "no note with id 5": the code formats it (f"no note with id {note_id}").
    assert [(m.kind, m.value) for m in missing] == [
        ("value", 2),
        ("status", 418),
        ("value", "I am a teapot, not a note store"),
    ]


def test_lint_reports_the_unstated_values_as_warnings(tmp_path):
    task = _task(tmp_path / "task")
    report = lint_task(task)
    stated = [f for f in report.findings if f.check == "stated"]
    assert [f.level for f in stated] == ["warning"] * 3
    messages = "\n".join(f.message for f in stated)
    assert "status 418 (test_notes, line 19)" in messages
    assert "the value 'I am a teapot, not a note store'" in messages
    assert "the value 2 (test_notes, line 17)" in messages
    assert "draft" not in messages and "Buy milk" not in messages

    # Stated in the instruction, the warnings go; they never fail the lint on their own.
    config = yaml.safe_load((task / "task.yaml").read_text())
    config["instruction"] += (
        "\n### `DELETE /api/notes/{id}`\n- Answers `418` with `message` "
        "`I am a teapot, not a note store`.\n- `words` is the title's word count, e.g. 2.\n"
    )
    (task / "task.yaml").write_text(yaml.safe_dump(config))
    assert [f for f in lint_task(task).findings if f.check == "stated"] == []


def test_cli_prints_the_warning_by_name(tmp_path):
    task = _task(tmp_path / "task")
    result = CliRunner().invoke(app, ["lint", str(task)])
    assert "warning [stated] tests/test_func.py asserts status 418" in result.output
