"""Framework hints from a repository's root manifests, read before anything is cloned.

Only dependency names are looked at: a hint narrows a batch ("regenerate --framework"),
while the explore stage still decides from the code what a service really is.
"""

from __future__ import annotations

import json
import re
import tomllib


def dependency_frameworks() -> dict[str, str]:
    """Dependency name (lower case) -> framework name, as each framework declares it."""
    from pipeline.languages import FRAMEWORKS

    return {name: f.name for f in FRAMEWORKS for name in f.dependency_names}


def manifest_files() -> tuple[str, ...]:
    """Root files worth reading for hints (and the license they may declare), every language's."""
    from pipeline.languages import LANGUAGES

    return tuple(name for language in LANGUAGES for name in language.manifest_files)


def dependency_names(filename: str, text: str) -> set[str]:
    """Dependency names a manifest lists (best effort: hints, not a resolver)."""
    names: set[str] = set()
    if filename == "package.json" or filename == "composer.json":
        try:
            data = json.loads(text)
        except ValueError:
            return names
        for key in ("dependencies", "devDependencies", "require"):
            if isinstance(data.get(key), dict):
                names.update(data[key])
    elif filename == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return names
        deps = list(data.get("project", {}).get("dependencies", []))
        deps += list(data.get("tool", {}).get("poetry", {}).get("dependencies", {}))
        names.update(re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0] for d in deps)
    elif filename == "go.mod":
        names.update(re.findall(r"^\s*(?:require\s+)?([\w.\-]+/[\w./\-]+)\s+v", text, re.MULTILINE))
    elif filename == "Cargo.toml":
        names.update(re.findall(r"^\s*([A-Za-z0-9_\-]+)\s*=", text, re.MULTILINE))
    elif filename == "Gemfile":
        names.update(re.findall(r"""^\s*gem\s+['"]([^'"]+)""", text, re.MULTILINE))
    elif filename == "pom.xml":
        names.update(re.findall(r"(org\.springframework\.boot)", text))
        names.update(re.findall(r"<artifactId>\s*([\w.\-]+)\s*</artifactId>", text))
    elif filename == "build.gradle" or filename == "build.gradle.kts":
        names.update(re.findall(r"(org\.springframework\.boot)", text))
        # 'group:artifact:version' coordinates: the artifact is the name
        names.update(re.findall(r"""['"][\w.\-]+:([\w.\-]+)(?::[^'"]*)?['"]""", text))
    elif filename.endswith(".csproj"):
        names.update(re.findall(r"""<PackageReference\s+Include=["']([\w.\-]+)["']""", text))
    else:  # requirements.txt, Pipfile
        names.update(re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0] for line in text.splitlines())
    return {n.strip().strip('"').lower() for n in names if n.strip()}


def framework_hints(manifests: dict[str, str]) -> list[str]:
    """Sorted framework names that the given root manifests (name -> text) depend on."""
    known = dependency_frameworks()
    found = set()
    for filename, text in manifests.items():
        found.update(known[n] for n in dependency_names(filename, text) if n in known)
    return sorted(found)
