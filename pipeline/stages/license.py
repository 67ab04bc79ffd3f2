"""license gate: only MIT-licensed repositories become tasks.

The repository's own LICENSE file decides, by its text; the license fields that package
manifests declare must not contradict it.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from pipeline.models import LicenseVerdict, RepoSnapshot

STAGE_VERSION = "1"
LICENSE_FILE_RE = re.compile(r"^(licen[cs]e|copying)(\.(md|txt|rst))?$", re.IGNORECASE)

# Phrases that identify a license text; checked in this order, the first match wins.
_SIGNATURES: list[tuple[str, list[str]]] = [
    ("AGPL-3.0", ["gnu affero general public license"]),
    ("LGPL-3.0", ["gnu lesser general public license"]),
    ("GPL-3.0", ["gnu general public license", "version 3"]),
    ("GPL-2.0", ["gnu general public license", "version 2"]),
    ("Apache-2.0", ["apache license", "version 2.0"]),
    ("MPL-2.0", ["mozilla public license"]),
    ("BSD-3-Clause", ["redistribution and use in source and binary forms", "neither the name"]),
    ("BSD-2-Clause", ["redistribution and use in source and binary forms"]),
    ("ISC", ["permission to use, copy, modify, and/or distribute this software"]),
    ("Unlicense", ["this is free and unencumbered software released into the public domain"]),
    (
        "MIT",
        [
            "permission is hereby granted, free of charge",
            "the above copyright notice and this permission notice shall be included",
            'the software is provided "as is"',
        ],
    ),
]


def classify_license_text(text: str) -> str | None:
    """The SPDX id of a license text, or None when it is not one we recognise."""
    flat = re.sub(r"\s+", " ", text.lower()).replace("“", '"').replace("”", '"')
    for spdx, phrases in _SIGNATURES:
        if all(p in flat for p in phrases):
            return spdx
    return None


def _declared_licenses(root: Path) -> list[tuple[str, str]]:
    """(file, SPDX expression) pairs that manifests at the repository root declare."""
    found: list[tuple[str, str]] = []
    package_json = root / "package.json"
    if package_json.is_file():
        try:
            value = json.loads(package_json.read_text(errors="replace")).get("license")
            if isinstance(value, str):
                found.append(("package.json", value))
        except (ValueError, AttributeError):
            pass
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text(errors="replace")).get("project", {})
            value = project.get("license")
            if isinstance(value, dict):
                value = value.get("text")
            if isinstance(value, str) and len(value) < 40:
                found.append(("pyproject.toml", value))
        except (tomllib.TOMLDecodeError, AttributeError):
            pass
    return found


def _is_mit(expression: str) -> bool:
    return expression.strip().upper() in {"MIT", "MIT LICENSE", "(MIT)", "EXPAT"}


def check_license(snapshot: RepoSnapshot, allowed: tuple[str, ...] = ("MIT",)) -> LicenseVerdict:
    root = snapshot.path
    candidates = sorted(p for p in root.iterdir() if p.is_file() and LICENSE_FILE_RE.match(p.name))
    if not candidates:
        return LicenseVerdict(
            spdx_id=None, evidence_file=None, accepted=False, reason="no LICENSE file at the repository root"
        )
    ids = {p.name: classify_license_text(p.read_text(errors="replace")) for p in candidates}
    known = {spdx for spdx in ids.values() if spdx}
    evidence = candidates[0].name
    if not known:
        return LicenseVerdict(
            spdx_id=None, evidence_file=evidence, accepted=False, reason=f"{evidence} is not a license we recognise"
        )
    if len(known) > 1:
        return LicenseVerdict(
            spdx_id=None,
            evidence_file=evidence,
            accepted=False,
            reason=f"conflicting license files: {', '.join(f'{k}={v}' for k, v in sorted(ids.items()))}",
        )
    spdx = known.pop()
    evidence = next(name for name, value in ids.items() if value == spdx)
    if spdx not in allowed:
        return LicenseVerdict(
            spdx_id=spdx, evidence_file=evidence, accepted=False, reason=f"licensed {spdx}, not {'/'.join(allowed)}"
        )
    for manifest, declared in _declared_licenses(root):
        if spdx == "MIT" and not _is_mit(declared):
            return LicenseVerdict(
                spdx_id=spdx,
                evidence_file=evidence,
                accepted=False,
                reason=f"{evidence} is MIT but {manifest} declares {declared!r}",
            )
    return LicenseVerdict(spdx_id=spdx, evidence_file=evidence, accepted=True, reason=f"{evidence} is {spdx}")
