"""Endpoints that take files: found in the code (multer's middleware, express-fileupload's
`req.files`), recorded and tested with a real multipart/form-data request
(stages/upload_client.py, the same code in the recording and in a task's conftest.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import discovery_support as ds
import pytest
import requests

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.runtime import sandbox
from pipeline.stages import testgen, upload_client

FIXTURES = Path(__file__).parent / "fixtures"


def test_multer_middleware_names_the_file_fields():
    endpoints = ds.discover("express", FIXTURES / "express_uploads")
    assert ds.body_fields(endpoints, "POST", "/avatars") == {"avatar": ("file", True), "owner": ("str", False)}
    assert ds.body_fields(endpoints, "POST", "/galleries") == {"photos": ("files", True)}


def test_express_fileupload_files_are_file_fields(tmp_path):
    (tmp_path / "package.json").write_text('{"dependencies": {"express": "^4", "express-fileupload": "^1"}}')
    (tmp_path / "index.js").write_text(
        "const express = require('express');\nconst fileUpload = require('express-fileupload');\n"
        "const app = express();\napp.use(fileUpload());\n"
        "app.post('/upload', (req, res) => {\n  const doc = req.files.document;\n"
        "  res.json({ name: doc.name, size: doc.size, label: req.body.label });\n});\n"
        "app.listen(3000);\n"
    )
    endpoints = ds.discover("express", tmp_path)
    assert ds.body_fields(endpoints, "POST", "/upload") == {"document": ("file", True), "label": ("any", True)}


def test_a_body_with_a_file_goes_as_multipart_and_one_without_as_json():
    assert upload_client.body_kwargs({"title": "x"}) == {"json": {"title": "x"}}
    assert upload_client.body_kwargs(None) == {"json": None}
    kwargs = upload_client.body_kwargs({"photos": upload_client.sample("files"), "owner": "me", "n": 2})
    assert kwargs["data"] == {"owner": "me", "n": "2"}
    assert [(name, part[0], part[2]) for name, part in kwargs["files"]] == [
        ("photos", "sample.png", "image/png"),
        ("photos", "sample-2.png", "image/png"),
    ]
    prepared = requests.Request("POST", "http://x/", **kwargs).prepare()
    assert prepared.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload_client.SAMPLE_FILE.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_shipped_conftest_carries_the_same_upload_code():
    conftest = testgen.conftest_source()
    namespace: dict = {}
    exec(compile(conftest, "conftest.py", "exec"), namespace)
    body = {"avatar": upload_client.sample("file")}
    assert namespace["body_kwargs"](body) == upload_client.body_kwargs(body)


@pytest.mark.docker
def test_an_upload_endpoint_becomes_a_task_that_sends_a_file(docker_engine, tmp_path):
    settings = Settings(
        work_dir=tmp_path / "work", out_dir=tmp_path / "out", offline=True, oracle_runs=1, variants=["implementation"]
    )
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    result = generate(str(FIXTURES / "express_uploads"), settings, run_id=run_id)
    by_group = {t.task_id.rsplit("__", 1)[-1]: t for t in result.tasks}
    avatars = by_group["avatars"]
    assert avatars.status == "verified", result.model_dump_json(indent=2)
    test_func = (Path(avatars.path) / "tests" / "test_func.py").read_text()
    # The create sends a real file, and what the service says of it (its digest) is asserted.
    assert "json={'avatar': {'$file': 'sample.png'}" in test_func
    assert "'sha256': '" in test_func and "'type': 'image/png'" in test_func
    metadata = json.loads((Path(avatars.path) / "metadata.json").read_text())
    assert metadata["verification_report"]["noop_run"]["verdict"] == "tests_failed"
    # A group of one endpoint is asked twice, with other files: one canned answer cannot pass it.
    galleries = by_group["galleries"]
    assert galleries.status == "verified", result.model_dump_json(indent=2)
    test_func = (Path(galleries.path) / "tests" / "test_func.py").read_text()
    assert "json={'photos': [{'$file': 'other.png'}]}" in test_func and "'count': 1" in test_func
    assert sandbox.leftovers(run_id) == []
