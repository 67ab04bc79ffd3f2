"""A configuration file the repository ships, for a service that is told where its file is.

Many servers read their settings from a file named on the command line (`blobstash
tests/blobstash.yaml`, `app -config config.toml`) and refuse to start, or start without a
required setting, when given none. The repository often ships one: an example, or the one
its own integration tests start the server with. The file that fits is the one whose
top-level keys are the names the code's configuration type reads (its struct tags or field
names), so a CI workflow or a compose file that happens to be YAML does not pass for it.

This module only reads files: which argument hands the file over is the language's
knowledge (languages/go/runtime_hints.py for Go).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.languages.toolchain import SKIPPED_FOLDERS, source_files

SUFFIXES = (".yaml", ".yml", ".toml", ".json")
#: Files that are YAML, TOML or JSON but configure tools, never the service.
_TOOL_FILES = frozenset(
    {
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "composer.json",
        "cargo.toml",
        "pyproject.toml",
        "docker-compose.yml",
        "docker-compose.yaml",
        "compose.yml",
        "compose.yaml",
        ".travis.yml",
        ".build.yml",
        ".golangci.yml",
        ".goreleaser.yml",
        "codecov.yml",
        "mkdocs.yml",
    }
)
#: Keys whose value is the address the server listens on.
LISTEN_KEYS = ("listen", "listen_addr", "listen_address", "addr", "address", "http_addr", "bind", "port", "http_port")
#: At most this many files are parsed (a big repository's data files are not configuration).
_LIMIT = 400
#: A file over this size is data, not configuration.
_MAX_BYTES = 64_000


@dataclass(frozen=True)
class ConfigSample:
    path: str  # relative to the service root, posix
    keys: tuple[str, ...]  # its top-level keys
    data: dict[str, Any]


def _load(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > _MAX_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            value: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            value = json.loads(text)
        else:
            value = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return None
    return value if isinstance(value, dict) and value else None


def _candidates(root: Path) -> list[Path]:
    files = source_files(root, SUFFIXES, limit=_LIMIT, skip=SKIPPED_FOLDERS | {"testdata"})
    return [path for path in files if path.name.lower() not in _TOOL_FILES]


def config_files(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every YAML, TOML or JSON mapping under root that may configure a service: (path
    relative to root, its data)."""
    out = []
    for path in _candidates(root):
        data = _load(path)
        if data is not None:
            out.append((path.relative_to(root).as_posix(), data))
    return out


#: Keys that name a user, and keys that hold that user's password, in a configured user entry.
_USER_KEYS = ("username", "user", "login", "name", "id")
_PASSWORD_KEYS = ("password", "pass", "passwd")


def configured_users(data: object) -> list[tuple[str, str]]:
    """The (user, password) pairs a configuration declares (`auth: [{id: root, password: '123'}]`),
    at any depth. Which key the code takes for the user name is its own business: each name
    the entry has is a candidate, and so is an empty one (blobstash checks `:<password>` when
    the entry names no `username`)."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        secret = next((data[k] for k in _PASSWORD_KEYS if isinstance(data.get(k), (str, int))), None)
        names = [str(data[k]) for k in _USER_KEYS if isinstance(data.get(k), (str, int))]
        if secret is not None and names:
            found += [(name, str(secret)) for name in dict.fromkeys([*names, ""])]
        for value in data.values():
            found += configured_users(value)
    elif isinstance(data, list):
        for item in data:
            found += configured_users(item)
    return found


def shipped_config(root: Path, known_keys: set[str], *, program: str = "") -> ConfigSample | None:
    """The repository file under `root` that configures the service: every top-level key a
    name the code's configuration type reads (at least two keys, so a one-key file proves
    nothing), the most keys first; then one named after the program or "config"; then the
    shallowest. None when no file fits."""
    if not known_keys:
        return None
    ranked: list[tuple[tuple[int, int, int, str], ConfigSample]] = []
    for rel, data in config_files(root):
        keys = tuple(str(k) for k in data)
        if len(keys) < 2 or not all(key.lower() in known_keys for key in keys):
            continue
        stem = Path(rel).stem.lower()
        named = bool(program) and program.lower() in stem or "config" in stem
        ranked.append(((-len(keys), not named, rel.count("/"), rel), ConfigSample(rel, keys, data)))
    return min(ranked, key=lambda r: r[0])[1] if ranked else None


def listen_value(sample: ConfigSample) -> object | None:
    """The value of the sample's listen-address key (top level, or under `server`/`http`)."""
    scopes = [sample.data, *(sample.data.get(k) for k in ("server", "http", "web"))]
    for scope in scopes:
        if isinstance(scope, dict):
            for key in LISTEN_KEYS:
                if key in scope and isinstance(scope[key], (str, int)):
                    return scope[key]
    return None
