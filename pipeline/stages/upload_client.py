"""Files in a request: how a recording and a shipped test send a field that takes a file.

A body field whose type is "file" (one file) or "files" (several under one name) is given
`{"$file": "sample.png"}` (or a list of them) as its sample value; a body holding such a
value goes as multipart/form-data, each marker replaced by a small PNG (an image, so that
an upload filter that accepts images only, the common kind, takes it), the other fields as
form fields. Used twice: stages/testgen.py sends the recording's requests with it, and its
source below the marker is copied into every task's conftest.py, so a test sends exactly
what the recording sent. It needs only the standard library.
"""

from __future__ import annotations

# --- shipped with the tests from here ---
import base64
import json as _json

FILE_MARKER = "$file"
SAMPLE_FILE_TYPE = "image/png"
# A 1x1 transparent PNG.
SAMPLE_FILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"  # pragma: allowlist secret
    "AAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII="  # pragma: allowlist secret
)


def _is_file(value):
    return isinstance(value, dict) and set(value) == {FILE_MARKER}


def _files_of(value):
    """The file markers a field's value holds (one, a list of them), else None."""
    if _is_file(value):
        return [value]
    if isinstance(value, list) and value and all(_is_file(item) for item in value):
        return value
    return None


def body_kwargs(body):
    """requests' keyword arguments for a request body: `json=`, or `data=` and `files=`
    (multipart/form-data) when a field holds a file."""
    if not isinstance(body, dict) or not any(_files_of(value) for value in body.values()):
        return {"json": body}
    data, files = {}, []
    for name, value in body.items():
        markers = _files_of(value)
        if markers:
            files += [(name, (marker[FILE_MARKER], SAMPLE_FILE, SAMPLE_FILE_TYPE)) for marker in markers]
        else:
            data[name] = value if isinstance(value, str) else _json.dumps(value)
    return {"data": data, "files": files}


# --- end of the shipped part ---


def shipped_source() -> str:
    """The part of this module a task's conftest.py carries."""
    from pipeline.stages import shipped_code

    return shipped_code.part(__file__)


def sample(field_type: str, *, updated: bool = False) -> object:
    """The sample value of a body field that takes a file ("file") or several ("files");
    `updated`: another one (another name, another count), for a second request."""
    if field_type == "files":
        return [{FILE_MARKER: "other.png"}] if updated else [{FILE_MARKER: "sample.png"}, {FILE_MARKER: "sample-2.png"}]
    return {FILE_MARKER: "other.png" if updated else "sample.png"}
