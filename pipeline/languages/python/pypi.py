"""What PyPI published when: the release of a package a repository's code was written against.

A requirements file that leaves a package open (`Flask==2.2.2` and no Werkzeug line) gets
that package's newest release at build time, which may have removed what the code imports.
PyPI's JSON API gives every release's upload time; the newest final release uploaded
before the repository's commit is the one its author had.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import requests
from packaging.version import InvalidVersion, Version

#: PyPI's JSON API (`<index>/<package>/json`); ABC_PYPI_JSON_URL points elsewhere (a mirror, a test).
DEFAULT_INDEX = "https://pypi.org/pypi"
TIMEOUT = 20.0


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def newest_before(package: str, moment: str) -> str | None:
    """The newest final (not pre-release, not yanked) release of `package` whose first file
    was uploaded before `moment`; None when PyPI cannot be asked or has none."""
    before = _moment(moment)
    if before is None:
        return None
    index = os.environ.get("ABC_PYPI_JSON_URL", DEFAULT_INDEX).rstrip("/")
    try:
        answer = requests.get(f"{index}/{package}/json", timeout=TIMEOUT)
        releases = answer.json().get("releases", {}) if answer.ok else {}
    except (requests.RequestException, ValueError):
        return None
    candidates: list[Version] = []
    for text, files in releases.items() if isinstance(releases, dict) else ():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        uploads = [_moment(str(f.get("upload_time_iso_8601", ""))) for f in files if isinstance(f, dict)]
        uploaded = [u for u in uploads if u is not None]
        if version.is_prerelease or not uploaded or any(f.get("yanked") for f in files if isinstance(f, dict)):
            continue
        if min(uploaded) < before:
            candidates.append(version)
    return str(max(candidates)) if candidates else None
