"""license gate: only MIT-licensed repositories become tasks.

The repository's own LICENSE file decides, by its text; the license fields that package
manifests declare must not contradict it. An MIT text with a restriction added to it (the
Commons Clause, "non-commercial", "not for commercial use", the JSON license's "Good, not
Evil") is not MIT: it is rejected with the rider named. A package.json that says "ISC"
beside an MIT LICENSE is npm's default (`npm init` writes it), not a second license: the
task is accepted with a warning.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from pipeline.models import LicenseVerdict, RepoSnapshot

STAGE_VERSION = "3"
LICENSE_FILE_RE = re.compile(r"^(licen[cs]e|copying)(\.(md|txt|rst))?$", re.IGNORECASE)
# Root manifests whose declared license must agree with the LICENSE file.
MANIFESTS = ("package.json", "pyproject.toml")

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
    # MIT No Attribution: MIT's grant without its one condition (keeping the notice).
    ("MIT-0", ["permission is hereby granted, free of charge", 'the software is provided "as is"']),
]


# Restrictions that turn an MIT text into something else, by name. "Commercial and
# non-commercial use" grants, it does not restrict: that phrase is not a rider.
_RIDERS: list[tuple[str, re.Pattern[str]]] = [
    ("Commons Clause", re.compile(r"commons clause")),
    (
        "non-commercial",
        re.compile(
            r"(?<!commercial and )(?<!commercial or )(?<!commercial, )\bnon-? ?commercial(?!\s+(?:and|or)\s+commercial)"
        ),
    ),
    (
        "not for commercial use",
        re.compile(
            r"\bnot (?:be )?(?:used |sold |licensed )?(?:for|in|as part of) (?:any )?commercial"
            r"|\bno commercial (?:use|usage|purposes?)"
            r"|\bcommercial (?:use|usage|purposes?|distribution) (?:is|are) (?:strictly )?"
            r"(?:prohibited|forbidden|not (?:permitted|allowed))"
        ),
    ),
    ("no selling", re.compile(r"\b(?:may|shall|must) not sell\b|\bthe right to sell the software")),
    ("Good, not Evil", re.compile(r"used for good,? not evil")),
]


def _flatten(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).replace("“", '"').replace("”", '"')


def classify_license_text(text: str) -> str | None:
    """The SPDX id of a license text, or None when it is not one we recognise."""
    flat = _flatten(text)
    for spdx, phrases in _SIGNATURES:
        if all(p in flat for p in phrases):
            return spdx
    return None


def license_riders(text: str) -> list[str]:
    """The names of the restrictions added to a license text (empty for a plain one)."""
    flat = _flatten(text)
    return [name for name, pattern in _RIDERS if pattern.search(flat)]


def _declared_licenses(root: Path) -> list[tuple[str, str]]:
    """(file, SPDX expression) pairs that manifests at the repository root declare."""
    texts = {name: (root / name).read_text(errors="replace") for name in MANIFESTS if (root / name).is_file()}
    return declared_licenses(texts)


def declared_licenses(manifests: dict[str, str]) -> list[tuple[str, str]]:
    """(file, SPDX expression) pairs declared by the given root manifests (name -> text)."""
    found: list[tuple[str, str]] = []
    if "package.json" in manifests:
        try:
            value = json.loads(manifests["package.json"]).get("license")
            if isinstance(value, str):
                found.append(("package.json", value))
        except (ValueError, AttributeError):
            pass
    if "pyproject.toml" in manifests:
        try:
            project = tomllib.loads(manifests["pyproject.toml"]).get("project", {})
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
    texts = {p.name: p.read_text(errors="replace") for p in candidates}
    return license_verdict(texts, _declared_licenses(root), allowed)


def license_verdict(
    license_files: dict[str, str], declared: list[tuple[str, str]], allowed: tuple[str, ...] = ("MIT",)
) -> LicenseVerdict:
    """The decision from the root's license files (name -> text) and the manifests' declarations.

    Shared by the gate (files on disk) and mining (files read through the GitHub API), so
    both judge a repository the same way.
    """
    if not license_files:
        return LicenseVerdict(
            spdx_id=None, evidence_file=None, accepted=False, reason="no LICENSE file at the repository root"
        )
    ids = {name: classify_license_text(text) for name, text in sorted(license_files.items())}
    known = {spdx for spdx in ids.values() if spdx}
    evidence = next(iter(ids))
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
    riders = sorted({r for name, text in license_files.items() if ids[name] == spdx for r in license_riders(text)})
    if riders:
        return LicenseVerdict(
            spdx_id=None,
            evidence_file=evidence,
            accepted=False,
            reason=f"{evidence} is {spdx} with an added restriction ({', '.join(riders)}): not {'/'.join(allowed)}",
        )
    warnings: list[str] = []
    for manifest, declared_expr in declared:
        if spdx == "MIT" and not _is_mit(declared_expr):
            if manifest == "package.json" and declared_expr.strip().upper() == "ISC":
                warnings.append(f"{manifest} declares 'ISC', npm's default for `npm init`; {evidence} (MIT) decides")
                continue
            return LicenseVerdict(
                spdx_id=spdx,
                evidence_file=evidence,
                accepted=False,
                reason=f"{evidence} is MIT but {manifest} declares {declared_expr!r}",
            )
    reason = f"{evidence} is {spdx}" + (f" ({'; '.join(warnings)})" if warnings else "")
    return LicenseVerdict(spdx_id=spdx, evidence_file=evidence, accepted=True, reason=reason, warnings=warnings)
