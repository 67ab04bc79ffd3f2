"""Python: requirements files, pyproject (poetry, uv, pdm, PEP 621), Pipfile, setup.py."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from pipeline.languages.toolchain import (
    Toolchain,
    existing,
    major_minor,
    offline_version,
    parse_version,
    pick_version,
    read_text,
    read_toml,
)

STAND_IN = "3.11"
# The versions local stand-ins exist for (docker/base: python.Dockerfile on bookworm,
# python-trixie.Dockerfile), oldest first.
STAND_INS = ["3.11", "3.13"]
# Official python:<x.y>-slim-bookworm tags exist for these (and -slim-trixie from 3.13 on,
# the suite whose stand-in this machine can build).
OFFICIAL = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]
FIRST_TRIXIE = (3, 13)
PIP = "pip install --no-cache-dir"
REQUIREMENTS = ["requirements.txt", "requirements/prod.txt", "requirements/production.txt", "requirements/base.txt"]


# Packages that compile against a C library when no wheel fits (the slim images have no
# compiler), and the Debian packages their build needs. psycopg2-binary needs none.
NATIVE_PACKAGES = {
    "psycopg2": ["build-essential", "libpq-dev"],
    "mysqlclient": ["build-essential", "default-libmysqlclient-dev", "pkg-config"],
}


def _native_system_packages(root: Path, manifests: list[str]) -> list[str]:
    text = "\n".join(read_text(root / m) for m in manifests if not m.endswith("/"))
    found = [
        name
        for name in NATIVE_PACKAGES
        if re.search(rf"(?im)^[\s\"']*{re.escape(name)}(?![\w-])(?!\s*=\s*\{{?\s*path)", text)
    ]
    return sorted({pkg for name in found for pkg in NATIVE_PACKAGES[name]})


def image(version: str) -> str:
    suite = "trixie" if (parse_version(version) or (0,)) >= FIRST_TRIXIE else "bookworm"
    return f"python:{version}-slim-{suite}"


def _requires_python(root: Path, pyproject: dict) -> tuple[str | None, str | None]:
    """The version constraint and where it came from."""
    for name in (".python-version", "runtime.txt"):
        text = read_text(root / name).strip()
        if text:
            version = major_minor(text.removeprefix("python-"))
            if version:
                return f"=={version}", name
    project = pyproject.get("project", {})
    if isinstance(project, dict) and project.get("requires-python"):
        return str(project["requires-python"]), "pyproject.toml requires-python"
    poetry = pyproject.get("tool", {}).get("poetry", {})
    python = poetry.get("dependencies", {}).get("python") if isinstance(poetry, dict) else None
    if isinstance(python, str):
        return python, "pyproject.toml [tool.poetry.dependencies] python"
    match = re.search(r"python_requires\s*=\s*['\"]([^'\"]+)['\"]", read_text(root / "setup.py"))
    if match:
        return match.group(1), "setup.py python_requires"
    pipfile = read_toml(root / "Pipfile").get("requires", {})
    if isinstance(pipfile, dict) and pipfile.get("python_version"):
        return f"=={pipfile['python_version']}", "Pipfile python_version"
    return None, None


def _file_database_setup(root: Path, entrypoint: str | None) -> list[str]:
    """Migrations of a SQLite database, run at build time so every container starts alike."""
    setup = []
    settings = " ".join(read_text(p) for p in root.glob("*/settings*.py")) + read_text(root / "settings.py")
    if (root / "manage.py").is_file() and "sqlite3" in settings:
        setup.append("python manage.py migrate --noinput")
    alembic = read_text(root / "alembic.ini")
    if "sqlite" in alembic:
        setup.append("alembic upgrade head")
    elif (root / "migrations" / "env.py").is_file() and (root / "migrations" / "alembic.ini").is_file():
        # Flask-Migrate keeps alembic.ini inside migrations/: `flask db upgrade` runs it.
        # Quoted: an app factory entrypoint (`app:create_app()`) is not a word to the shell.
        # FLASK_APP, not `--app` (Flask 2.2 and later only).
        app = f"FLASK_APP={shlex.quote(entrypoint)} " if entrypoint else ""
        setup.append(f"{app}flask db upgrade")
    return setup


def _pep621_dependencies(pyproject: dict) -> list[str]:
    project = pyproject.get("project", {})
    deps = project.get("dependencies", []) if isinstance(project, dict) else []
    return [str(d) for d in deps if isinstance(d, str)]


def detect(root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
    pyproject = read_toml(root / "pyproject.toml")
    tool = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}
    constraint, source = _requires_python(root, pyproject)
    notes: list[str] = []
    version = pick_version(constraint, OFFICIAL, STAND_IN)
    if version is None:
        notes.append(f"{source} asks for Python {constraint}, which no python:*-slim-bookworm image meets")
        version = STAND_IN
    if offline and version not in STAND_INS:
        version, met = offline_version(constraint, STAND_INS, STAND_IN)
        notes.append(
            f"{source} asks for Python {constraint}; offline, the stand-in python {version} is used"
            + ("" if met else " (the nearest there is)")
        )

    src_layout = (root / "src").is_dir() and any((root / "src").glob("*/__init__.py"))
    installable = (root / "setup.py").is_file() or "build-system" in pyproject
    # Apps run from /app, which is on sys.path: only a src/ layout needs the project installed.
    install_project = f"{PIP} --no-deps ." if src_layout and installable else None
    requirements = [name for name in REQUIREMENTS if (root / name).is_file()]

    if (root / "poetry.lock").is_file() or "poetry" in tool:
        manager = "poetry"
        manifests = existing(root, ["pyproject.toml", "poetry.lock"])
        install = (
            f"{PIP} poetry && poetry config virtualenvs.create false"
            " && poetry install --no-interaction --no-ansi --no-root --only main"
        )
    elif (root / "uv.lock").is_file():
        manager = "uv"
        manifests = ["pyproject.toml", "uv.lock"]
        # uv exports the locked set and pip installs it: the same installer (and CA
        # settings) as every other Python image, the lock's exact versions.
        install = (
            f"{PIP} uv && uv export --frozen --no-dev --no-hashes --no-emit-project -o /tmp/requirements.lock"
            f" && {PIP} -r /tmp/requirements.lock"
        )
    elif (root / "pdm.lock").is_file():
        manager = "pdm"
        manifests = ["pyproject.toml", "pdm.lock"]
        install = (
            f"{PIP} pdm && pdm export --prod --without-hashes -o /tmp/requirements.lock"
            f" && {PIP} -r /tmp/requirements.lock"
        )
    elif (root / "Pipfile").is_file():
        manager = "pipenv"
        manifests = existing(root, ["Pipfile", "Pipfile.lock"])
        flags = "--deploy" if (root / "Pipfile.lock").is_file() else "--skip-lock"
        install = f"{PIP} pipenv && pipenv install --system {flags}"
    elif requirements:
        manager = "pip"
        # requirements/ files include each other (-r base.txt): copy the folder whole.
        manifests = ["requirements/" if name.startswith("requirements/") else name for name in requirements[:1]]
        install = f"{PIP} -r {requirements[0]}"
    elif _pep621_dependencies(pyproject):
        manager = "pip"
        manifests = ["pyproject.toml"]
        # The dependency list is written into the Dockerfile: installing `.` would need
        # the source, and the layer would be rebuilt on every source change.
        install = f"{PIP} " + " ".join(shlex.quote(d) for d in _pep621_dependencies(pyproject))
    elif installable:
        manager = "pip"
        manifests = []
        install = None
        install_project = f"{PIP} ."
        notes.append("setup.py without a requirements file: dependencies install with the source (no layer cache)")
    else:
        manager, manifests, install = "pip", [], None

    return Toolchain(
        language="python",
        language_version=version,
        version_source=source,
        package_manager=manager,
        manifests=manifests,
        install_command=install,
        build_command=install_project,
        start_command=["python", entrypoint or "app.py"],
        default_port=8000,
        setup_commands=_file_database_setup(root, entrypoint),
        system_packages=_native_system_packages(root, manifests),
        base_image=image(version),
        notes=notes,
    )


def with_pinned(dockerfile: str, package: str, version: str) -> str | None:
    """The Dockerfile whose last pip install is followed by one of `package` at exactly
    `version` (over what the requirements resolved); None without a pip install, or when it
    already pins that package."""
    step = f"{PIP} '{package}=={version}'"
    installs = [line for line in dockerfile.splitlines() if line.startswith("RUN ") and PIP in line]
    if not installs or f"{PIP} '{package}==" in dockerfile:
        return None
    last = installs[-1]
    return dockerfile.replace(last, f"{last} && {step}", 1)
