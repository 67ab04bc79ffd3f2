"""Environment synthesis: toolchain detection and Dockerfiles for every language.

Toy repositories are written in tmp_path; the Dockerfile each one gets is compared with a
golden file under tests/golden/dockerfiles/ (tests marked `golden`; a missing one fails,
`make update-golden` rewrites them). The framework's start hints are fixed in each case:
they are the framework modules' business, these tests pin what the language toolchains
and templates make of them.

The Docker tests at the end build and serve the ecosystems this machine can build without
a package registry (Go stdlib, PHP's built-in server, Ruby with Debian's gems).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest
import requests

from pipeline.config import Limits
from pipeline.languages import get_language
from pipeline.languages.framework import RuntimeHints
from pipeline.languages.java.toolchain import NOT_THE_APP_JAR
from pipeline.languages.toolchain import Toolchain
from pipeline.models import Endpoint, Handler, Inventory, RepoSnapshot, Service
from pipeline.stages import environment, repair

GOLDEN = Path(__file__).parent / "golden" / "dockerfiles"


def detect(language: str, root: Path, **options) -> Toolchain:
    return get_language(language).detect_toolchain(root, **options)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _dockerfile(root: Path, language: str, framework: str, hints: RuntimeHints, *, offline: bool = False) -> str:
    tc = detect(language, root, offline=offline)
    return environment.render_dockerfile(framework, tc, hints)[0]


UPDATE_GOLDEN_HINT = "`make update-golden` (ABC_UPDATE_GOLDEN=1 .venv/bin/pytest -m golden)"


def _updating_golden() -> bool:
    return os.environ.get("ABC_UPDATE_GOLDEN", "").strip().lower() in {"1", "true", "yes"}


def _golden(name: str, text: str) -> None:
    """`text` equals the reference tests/golden/dockerfiles/<name>.Dockerfile.

    A missing reference fails: a test that wrote its own reference and passed would pin
    nothing (and a CI checkout that lost the file would go green). References are only
    (re)written on request, with ABC_UPDATE_GOLDEN=1, and then reviewed in the diff.
    """
    path = GOLDEN / f"{name}.Dockerfile"
    if _updating_golden():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if not path.exists():
        pytest.fail(
            f"{name}: the golden file {path} is missing; "
            f"create it with {UPDATE_GOLDEN_HINT}, then review and commit it",
            pytrace=False,
        )
    assert text == path.read_text(), f"{name}: the Dockerfile differs from {path}; if intended: {UPDATE_GOLDEN_HINT}"


def test_a_missing_golden_file_fails_and_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "GOLDEN", tmp_path)
    monkeypatch.delenv("ABC_UPDATE_GOLDEN", raising=False)
    with pytest.raises(pytest.fail.Exception, match="is missing; create it with `make update-golden`"):
        _golden("absent", "FROM scratch\n")
    assert not (tmp_path / "absent.Dockerfile").exists()
    monkeypatch.setenv("ABC_UPDATE_GOLDEN", "1")
    _golden("absent", "FROM scratch\n")
    assert (tmp_path / "absent.Dockerfile").read_text() == "FROM scratch\n"


def _dependency_layer_first(text: str) -> None:
    """Manifests are copied and installed before the source: the cache-friendly order."""
    lines = text.splitlines()
    source = lines.index("COPY . .")
    copies = [
        i for i, line in enumerate(lines) if line.startswith("COPY ") and line != "COPY . ." and "--from" not in line
    ]
    assert copies and max(copies) < source, text
    assert any(line.startswith("RUN ") for line in lines[max(copies) : source]), text


# --------------------------------------------------------------------------- golden cases

CASES: dict[str, tuple[str, str, dict[str, str], RuntimeHints]] = {
    "python_poetry": (
        "python",
        "flask",
        {
            "pyproject.toml": '[tool.poetry]\nname = "todo"\n\n[tool.poetry.dependencies]\npython = "^3.12"\n'
            'flask = "^3.0"\n',
            "poetry.lock": "# poetry lock\n",
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
        RuntimeHints(
            start_command=["python", "-m", "flask", "run", "--host", "0.0.0.0", "--port", "5000"],
            port=5000,
            env={"FLASK_APP": "app.py", "SECRET_KEY": "dummy-SECRET_KEY"},
        ),
    ),
    "python_uv": (
        "python",
        "fastapi",
        {
            "pyproject.toml": '[project]\nname = "notes"\nrequires-python = ">=3.10"\n'
            'dependencies = ["fastapi>=0.110", "uvicorn"]\n',
            "uv.lock": "version = 1\n",
            "main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        },
        RuntimeHints(
            start_command=["python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"], port=8000
        ),
    ),
    "python_django_sqlite": (
        "python",
        "django",
        {
            "requirements.txt": "django>=4.2\n",
            "manage.py": "import django\n",
            "library/settings.py": "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3'}}\n",
        },
        RuntimeHints(
            start_command=["python", "manage.py", "runserver", "0.0.0.0:8000", "--noreload"],
            port=8000,
            env={"DJANGO_SECRET_KEY": "dummy-DJANGO_SECRET_KEY"},
        ),
    ),
    "node_pnpm_typescript": (
        "javascript",
        "nestjs",
        {
            "package.json": '{"name": "shop", "packageManager": "pnpm@9.1.0", "engines": {"node": ">=20"},'
            ' "scripts": {"build": "nest build", "start:prod": "node dist/main"},'
            ' "dependencies": {"@nestjs/core": "^10"}, "devDependencies": {"typescript": "^5"}}',
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
            "tsconfig.json": "{}",
            "src/main.ts": "bootstrap();\n",
        },
        RuntimeHints(start_command=["node", "dist/main"], port=3000, env={"PORT": "3000", "HOST": "dummy-HOST"}),
    ),
    "node_yarn": (
        "javascript",
        "express",
        {
            "package.json": '{"name": "books", "scripts": {"start": "node server.js"},'
            ' "dependencies": {"express": "^4"}}',
            "yarn.lock": "# yarn lockfile v1\n",
            "server.js": "require('express')().listen(3000);\n",
        },
        RuntimeHints(start_command=["node", "server.js"], port=3000, env={"PORT": "3000"}),
    ),
    "node_npm_typescript_tsc": (
        "javascript",
        "koa",
        {
            "package.json": '{"name": "blog", "dependencies": {"koa": "^2"}, "devDependencies": {"typescript": "^5"}}',
            "package-lock.json": "{}",
            "tsconfig.json": "{}",
            "src/index.ts": "new Koa().listen(4000);\n",
        },
        RuntimeHints(start_command=["node", "dist/index.js"], port=4000, env={"PORT": "4000"}),
    ),
    "go_requires": (
        "go",
        "gin",
        {
            "go.mod": "module example.com/store\n\ngo 1.22.1\n\nrequire github.com/gin-gonic/gin v1.9.1\n",
            "go.sum": "github.com/gin-gonic/gin v1.9.1 h1:abc=\n",
            "cmd/api/main.go": "package main\n\nfunc main() {\n}\n",
            "internal/store/store.go": "package store\n",
        },
        RuntimeHints(start_command=["/app/server"], port=8080, env={"PORT": "8080"}),
    ),
    "java_maven": (
        "java",
        "spring",
        {
            "pom.xml": '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
            "<artifactId>store</artifactId><version>1.0.0</version>"
            "<properties><java.version>21</java.version></properties></project>",
            "src/main/java/com/example/App.java": "class App {}\n",
        },
        RuntimeHints(
            start_command=["java", "-jar", "target/store-1.0.0.jar", "--server.address=0.0.0.0", "--server.port=8080"],
            port=8080,
        ),
    ),
    "java_gradle_wrapper": (
        "java",
        "spring",
        {
            "build.gradle": "plugins { id 'org.springframework.boot' version '3.2.0' }\n"
            "java { toolchain { languageVersion = JavaLanguageVersion.of(17) } }\n",
            "settings.gradle": "rootProject.name = 'store'\n",
            "gradlew": "#!/bin/sh\n",
            "gradle/wrapper/gradle-wrapper.properties": "distributionUrl=gradle-8.5-bin.zip\n",
            "src/main/java/App.java": "class App {}\n",
        },
        RuntimeHints(
            start_command=[
                "sh",
                "-c",
                f'exec java -jar "$(ls build/libs/*.jar | {NOT_THE_APP_JAR} | head -n 1)"',
            ],
            port=8080,
        ),
    ),
    "csharp": (
        "csharp",
        "aspnetcore",
        {
            "Api/Api.csproj": '<Project Sdk="Microsoft.NET.Sdk.Web"><PropertyGroup>'
            "<TargetFramework>net8.0</TargetFramework><AssemblyName>TodoApi</AssemblyName>"
            "</PropertyGroup></Project>",
            "Api/Program.cs": "var app = WebApplication.Create(args);\n",
            "NuGet.config": "<configuration/>",
        },
        RuntimeHints(start_command=["dotnet", "TodoApi.dll"], port=5000, env={}),
    ),
    "ruby_gemfile_lock": (
        "ruby",
        "sinatra",
        {
            "Gemfile": "source 'https://rubygems.org'\ngem 'sinatra'\ngem 'pg'\ngem 'puma'\n",
            "Gemfile.lock": "GEM\n  remote: https://rubygems.org/\n  specs:\n    pg (1.5.4)\n    puma (6.4.0)\n"
            "    sinatra (3.1.0)\n\nPLATFORMS\n  ruby\n",
            ".ruby-version": "3.2.2\n",
            "app.rb": "require 'sinatra'\n",
        },
        RuntimeHints(
            start_command=["bundle", "exec", "ruby", "app.rb", "-o", "0.0.0.0", "-p", "4567"],
            port=4567,
            env={"DATABASE_URL": "dummy-DATABASE_URL"},
        ),
    ),
    "php_composer": (
        "php",
        "slim",
        {
            "composer.json": '{"require": {"php": "^8.1", "slim/slim": "^4.12", "ext-pdo_pgsql": "*"}}',
            "composer.lock": "{}",
            "public/index.php": "<?php\n",
        },
        RuntimeHints(
            start_command=["php", "-S", "0.0.0.0:8080", "-t", "public", "public/index.php"], port=8080, env={}
        ),
    ),
    "rust_cargo": (
        "rust",
        "axum",
        {
            "Cargo.toml": '[package]\nname = "todo-api"\nversion = "0.1.0"\nedition = "2021"\nrust-version = "1.75"\n\n'
            '[dependencies]\naxum = "0.7"\n',
            "Cargo.lock": "version = 3\n",
            "src/main.rs": "fn main() {}\n",
        },
        RuntimeHints(start_command=["./target/release/todo-api"], port=3000, env={}),
    ),
}


@pytest.mark.golden
@pytest.mark.parametrize("name", sorted(CASES))
def test_dockerfile_matches_golden(name, tmp_path, monkeypatch):
    # The references are Gradle's own builds: where Gradle's distributions are out of reach a
    # Gradle project is translated to a pom instead (test_gradle_to_maven.py).
    monkeypatch.setenv("ABC_GRADLE_DISTRIBUTIONS", "1")
    language, framework, files, hints = CASES[name]
    root = _write(tmp_path, files)
    text = _dockerfile(root, language, framework, hints)
    _golden(name, text)
    _dependency_layer_first(text)
    port = hints.port
    assert f"EXPOSE {port}" in text
    assert text.rstrip().endswith(f"CMD {json.dumps(hints.start_command)}"), text


@pytest.mark.golden
def test_go_offline_uses_the_stand_in_and_says_why(tmp_path):
    _, _, files, hints = CASES["go_requires"]
    root = _write(tmp_path, files)
    text = _dockerfile(root, "go", "gin", hints, offline=True)
    _golden("go_requires_offline", text)
    # The oldest local stand-in the go directive (a minimum) accepts: Debian trixie's Go.
    assert "FROM golang:1.24-trixie" in text
    assert "# note: go.mod go directive asks for go 1.22; offline, the stand-in go 1.24 is used" in text
    assert "GOTOOLCHAIN" not in text


def test_go_newer_than_every_stand_in_is_fetched_by_the_go_command(tmp_path):
    """Offline, a go.mod asking for a Go no stand-in has builds on the newest one, whose go
    command fetches the named release from the module proxy (GOTOOLCHAIN=auto)."""
    files = {"go.mod": "module x\n\ngo 1.25.0\n\ntoolchain go1.26.1\n", "main.go": "package main\n"}
    tc = detect("go", _write(tmp_path, files), offline=True)
    assert (tc.base_image, tc.version_source, tc.facts.get("gotoolchain")) == (
        "golang:1.24-trixie",
        "go.mod toolchain line",
        "auto",
    )
    text = _dockerfile(tmp_path, "go", "nethttp", RuntimeHints(start_command=["/app/server"], port=8080), offline=True)
    assert text.index("ENV GOTOOLCHAIN=auto") < text.index("RUN CGO_ENABLED=0 go build std")
    online = detect("go", tmp_path, offline=False)
    assert (online.base_image, online.facts.get("gotoolchain")) == ("golang:1.26-trixie", None)


@pytest.mark.parametrize(
    ("language", "files", "expected"),
    [
        ("python", {"requirements.txt": "flask\n"}, ("pip", "3.11", "python:3.11-slim-bookworm")),
        (
            "python",
            {"pyproject.toml": '[project]\nrequires-python = ">=3.12,<3.14"\ndependencies=["x"]\n'},
            ("pip", "3.12", None),
        ),
        (
            "python",
            {"Pipfile": '[requires]\npython_version = "3.10"\n', "Pipfile.lock": "{}"},
            ("pipenv", "3.10", None),
        ),
        ("python", {"pyproject.toml": "[project]\nname='x'\n", "pdm.lock": ""}, ("pdm", "3.11", None)),
        ("python", {"setup.py": "setup(python_requires='>=3.8')\n"}, ("pip", "3.11", None)),
        ("javascript", {"package.json": '{"engines": {"node": "^22"}}'}, ("npm", "22", "node:22-trixie-slim")),
        ("javascript", {"package.json": "{}", ".nvmrc": "v20.11.0\n"}, ("npm", "20", None)),
        ("javascript", {"package.json": "{}", "yarn.lock": "", ".yarnrc.yml": ""}, ("yarn", "18", None)),
        ("go", {"go.mod": "module x\n\ngo 1.18\n"}, ("go", "1.19", "golang:1.19-bookworm")),
        (
            "java",
            {
                "pom.xml": "<project><properties><maven.compiler.release>11</maven.compiler.release>"
                "</properties></project>"
            },
            ("maven", "11", "eclipse-temurin:11-jdk"),
        ),
        (
            "java",
            {"build.gradle.kts": "java { sourceCompatibility = JavaVersion.VERSION_1_8 }\n"},
            ("gradle", "8", None),
        ),
        (
            "csharp",
            {
                "App.csproj": "<Project><PropertyGroup><TargetFramework>net6.0</TargetFramework>"
                "</PropertyGroup></Project>"
            },
            ("dotnet", "6.0", "mcr.microsoft.com/dotnet/sdk:6.0"),
        ),
        ("ruby", {"Gemfile": "ruby '~> 3.1'\ngem 'rails'\n"}, ("bundler", "3.1", "ruby:3.1-slim-bookworm")),
        ("php", {"composer.json": '{"require": {"php": ">=8.3"}}'}, ("composer", "8.3", "php:8.3-cli-bookworm")),
        ("php", {"index.php": "<?php echo 1;"}, ("none", "8.2", None)),
        (
            "rust",
            {"Cargo.toml": '[package]\nname="a"\nedition="2021"\n', "Cargo.lock": "version = 4\n"},
            ("cargo", "1.78", "rust:1.78-slim-bookworm"),
        ),
        ("rust", {"Cargo.toml": '[package]\nname="a"\nedition="2018"\n'}, ("cargo", "1.63", None)),
    ],
)
def test_toolchain_detection(language, files, expected, tmp_path):
    manager, version, image = expected
    tc = detect(language, _write(tmp_path, files), offline=False)
    assert (tc.package_manager, tc.language_version) == (manager, version), tc
    if image:
        assert tc.base_image == image


def test_rust_from_crates_io_offline_takes_the_trixie_cargo_and_a_resolver_its_rustc_builds(tmp_path):
    """crates.io is read through its sparse index, which bookworm's cargo 1.63 cannot; with
    no Cargo.lock the MSRV-aware resolver keeps to versions rustc 1.85 compiles."""
    files = {"Cargo.toml": '[package]\nname = "a"\nedition = "2021"\n\n[dependencies]\naxum = "0.7"\n'}
    root = _write(tmp_path, files)
    tc = detect("rust", root, offline=True)
    assert (tc.base_image, tc.version_source) == ("rust:1.85-slim-trixie", "crates.io dependencies (sparse index)")
    text = _dockerfile(root, "rust", "axum", RuntimeHints(start_command=["/app/server"], port=8080), offline=True)
    assert "ENV CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback" in text
    (root / "Cargo.lock").write_text("version = 4\n")
    assert "msrv_resolver" not in detect("rust", root, offline=True).facts
    path_only = _write(tmp_path / "p", {"Cargo.toml": '[package]\nname="a"\n[dependencies]\nb = { path = "../b" }\n'})
    assert detect("rust", path_only, offline=True).base_image == "rust:1.63-slim-bookworm"


@pytest.mark.parametrize(
    ("release", "image", "note"),
    [
        ("17", "eclipse-temurin:17-jdk", False),
        ("21", "eclipse-temurin:21-jdk", False),
        # Java 8 has a stand-in of its own (OpenJDK 8 from Debian sid): Spring Boot 1.x and
        # old Lombok versions neither compile nor run on 17.
        ("1.8", "eclipse-temurin:8-jdk", False),
        ("11", "eclipse-temurin:11-jdk", False),
        ("25", "eclipse-temurin:21-jdk", True),
    ],
)
def test_java_offline_takes_the_oldest_local_jdk_that_compiles_the_release(release, image, note, tmp_path):
    pom = f"<project><properties><java.version>{release}</java.version></properties></project>"
    tc = detect("java", _write(tmp_path, {"pom.xml": pom}), offline=True)
    assert tc.base_image == image
    assert bool(tc.notes) == note, tc.notes


def test_java_module_of_an_aggregator_builds_alone_with_what_it_needs(tmp_path):
    """A service root that is a Maven aggregator, its entrypoint in a module: only that module
    and the modules it needs are built (-pl -am), the module's release picks the JDK, and
    the jar is the module's."""
    root = _write(
        tmp_path,
        {
            "pom.xml": "<project><artifactId>top</artifactId><modules><module>lib</module>"
            "<module>web/app</module></modules><properties><java.version>17</java.version></properties></project>",
            "web/app/pom.xml": "<project><parent><artifactId>top</artifactId></parent><artifactId>app</artifactId>"
            "<properties><java.version>1.8</java.version></properties></project>",
            "web/app/src/main/java/demo/App.java": "class App {}\n",
        },
    )
    tc = detect("java", root, offline=True, entrypoint="web/app/src/main/java/demo/App.java")
    assert tc.build_command == "mvn -B -DskipTests -pl web/app -am package"
    assert tc.artifact == "web/app/target/*.jar"
    assert (tc.base_image, tc.version_source) == ("eclipse-temurin:8-jdk", "web/app/pom.xml java.version")
    # The dependency layer: every pom of the reactor that exists (lib/ has none), then the
    # reactor's package over them alone, its failures left to the real build.
    assert tc.manifests == ["pom.xml", "web/app/pom.xml"]
    assert tc.install_command == (
        "(mvn -B -q -DskipTests -Dspring-boot.repackage.skip=true -pl web/app -am package > /dev/null 2>&1 || true)"
        " && find . -name target -type d -prune -exec rm -rf {} +"
    )


@pytest.mark.parametrize(("boot", "release"), [("1.5.22.RELEASE", "8"), ("2.7.18", "8"), ("3.2.0", "17")])
def test_java_release_unstated_is_the_spring_boot_parents(boot, release, tmp_path):
    """spring-boot-starter-parent sets java.version (1.8 before Boot 3, 17 since) when the pom does not."""
    pom = (
        "<project><parent><groupId>org.springframework.boot</groupId>"
        f"<artifactId>spring-boot-starter-parent</artifactId><version>{boot}</version></parent></project>"
    )
    tc = detect("java", _write(tmp_path, {"pom.xml": pom}), offline=True)
    assert (tc.language_version, tc.base_image) == (release, f"eclipse-temurin:{release}-jdk")
    assert tc.version_source == "pom.xml spring-boot-starter-parent's java.version"


def test_java_boot_app_without_the_boot_plugin_is_repackaged_at_its_boot_version(tmp_path):
    """A Boot app whose pom lacks spring-boot-maven-plugin would package a jar with no main
    manifest: its repackage goal runs after package, at the parent's Boot version."""
    pom = (
        "<project><parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent"
        "</artifactId><version>1.5.22.RELEASE</version></parent><dependencies><dependency>"
        "<artifactId>spring-boot-starter-web</artifactId></dependency></dependencies></project>"
    )
    tc = detect("java", _write(tmp_path / "a", {"pom.xml": pom}), offline=True)
    assert tc.build_command == (
        "mvn -B -DskipTests package org.springframework.boot:spring-boot-maven-plugin:1.5.22.RELEASE:repackage"
    )
    with_plugin = pom.replace(
        "</project>",
        "<build><plugins><plugin><artifactId>spring-boot-maven-plugin"
        "</artifactId></plugin></plugins></build></project>",
    )
    assert detect("java", _write(tmp_path / "b", {"pom.xml": with_plugin}), offline=True).build_command == (
        "mvn -B -DskipTests package"
    )


def test_java_unversioned_boot_plugin_without_a_boot_parent_repackages_at_the_apps_boot_version(tmp_path):
    """No Boot parent pins spring-boot-maven-plugin: Maven would take the newest (Java 17)
    release. The build stops at the jar and repackages it at the Boot version the app's
    dependencies name."""
    plugin = (
        "<build><plugins><plugin><groupId>org.springframework.boot</groupId>"
        "<artifactId>spring-boot-maven-plugin</artifactId>{version}<executions><execution><goals>"
        "<goal>repackage</goal></goals></execution></executions></plugin></plugins></build>"
    )
    pom = (
        "<project><properties><java.version>1.8</java.version><boot.v>1.5.4.RELEASE</boot.v></properties>"
        "<dependencies><dependency><groupId>org.springframework.boot</groupId>"
        "<artifactId>spring-boot-starter-web</artifactId><version>${boot.v}</version></dependency></dependencies>"
        "{plugin}</project>"
    )
    unpinned = pom.replace("{plugin}", plugin.replace("{version}", ""))
    tc = detect("java", _write(tmp_path / "a", {"pom.xml": unpinned}), offline=True)
    assert tc.build_command == (
        "mvn -B -DskipTests compile jar:jar org.springframework.boot:spring-boot-maven-plugin:1.5.4.RELEASE:repackage"
    )
    pinned = pom.replace("{plugin}", plugin.replace("{version}", "<version>${boot.v}</version>"))
    assert detect("java", _write(tmp_path / "b", {"pom.xml": pinned}), offline=True).build_command == (
        "mvn -B -DskipTests package"
    )


def test_java_dependency_shipped_as_a_jar_is_installed_before_it_is_resolved(tmp_path):
    """A pom dependency no remote repository has, whose jar the repository ships: the jar is
    copied with the pom and `install:install-file`d before dependency:go-offline."""
    pom = (
        "<project><version>2.0</version><properties><ext.version>1.2</ext.version></properties><dependencies>"
        "<dependency><groupId>org.example</groupId><artifactId>ext</artifactId><version>${ext.version}</version>"
        "</dependency><dependency><groupId>org.example</groupId><artifactId>own</artifactId>"
        "<version>${project.version}</version></dependency>"
        "<dependency><groupId>x</groupId><artifactId>sys</artifactId><version>1</version><scope>system</scope>"
        "</dependency></dependencies></project>"
    )
    root = _write(
        tmp_path,
        {
            "pom.xml": pom,
            "libs/ext-1.2.jar": "",
            "vendor/own-2.0.jar": "",
            "libs/sys-1.jar": "",
            "target/ext-1.2.jar": "",
        },
    )
    tc = detect("java", root, offline=True)
    assert tc.manifests == ["pom.xml", "libs/ext-1.2.jar", "vendor/own-2.0.jar"]
    assert tc.install_command == (
        "mvn -B -q install:install-file -Dfile=libs/ext-1.2.jar -DgroupId=org.example -DartifactId=ext "
        "-Dversion=1.2 -Dpackaging=jar && mvn -B -q install:install-file -Dfile=vendor/own-2.0.jar "
        "-DgroupId=org.example -DartifactId=own -Dversion=2.0 -Dpackaging=jar && mvn -B -q dependency:go-offline"
    )


def test_go_without_go_sum_tidies_and_stdlib_only_downloads_nothing(tmp_path):
    tidy = detect(
        "go", _write(tmp_path / "a", {"go.mod": "module x\n\ngo 1.19\n\nrequire a.b/c v1.0.0\n"}), offline=True
    )
    # go.mod alone downloads the modules in the cached layer; tidy completes go.sum with the source.
    assert tidy.install_command == "go mod download" and tidy.build_command.startswith("go mod tidy && ")
    plain = detect(
        "go", _write(tmp_path / "b", {"go.mod": "module x\n\ngo 1.19\n", "main.go": "package main\n"}), offline=True
    )
    assert plain.install_command is None and "tidy" not in plain.build_command


def test_go_dependency_layer_compiles_the_imported_packages_of_other_modules(tmp_path):
    files = {
        "go.mod": "module example.com/app\n\ngo 1.21\n\nrequire github.com/gin-gonic/gin v1.9.1\n",
        "main.go": 'package main\n\nimport (\n\t"fmt"\n\tg "github.com/gin-gonic/gin"\n'
        '\t"example.com/app/internal/x"\n)\n\nfunc main() {}\n',
        "internal/x/x.go": 'package x\n\nimport "golang.org/x/sync/errgroup"\n',
        "main_test.go": 'package main\n\nimport "github.com/stretchr/testify/assert"\n',
    }
    tc = detect("go", _write(tmp_path, files), offline=True)
    # No go.sum: -mod=mod records the checksums of what the layer compiles.
    assert tc.install_command == (
        "go mod download && CGO_ENABLED=0 go build -mod=mod github.com/gin-gonic/gin golang.org/x/sync/errgroup"
    )


def test_go_without_go_mod_is_named_as_its_own_imports_name_it(tmp_path):
    """A GOPATH-era repository: `go mod init` takes the path its packages import each other
    by, so they resolve inside the repository instead of from the module proxy."""
    root = _write(
        tmp_path,
        {
            "main.go": 'package main\n\nimport (\n\t"net/http"\n\n\t"github.com/someone/todo/internal/task"\n)\n',
            "internal/task/task.go": "package task\n",
        },
    )
    assert detect("go", root, offline=True).build_command.startswith("go mod init github.com/someone/todo && ")
    bare = _write(tmp_path / "bare", {"main.go": 'package main\n\nimport "net/http"\n'})
    assert detect("go", bare, offline=True).build_command.startswith("go mod init app && ")


def test_go_without_go_mod_but_with_a_vendor_folder_builds_in_gopath_mode(tmp_path):
    """govendor/godep/glide left vendor/ without modules.txt: module mode refuses the folder
    and the proxy may no longer serve what it pinned (timberlake's colinmarc/hdfs: 403), so
    it builds as it did then, at $GOPATH/src/<its import path>."""
    root = _write(
        tmp_path,
        {
            "main.go": 'package main\n\nimport (\n\t"github.com/someone/jobs/store"\n\t"github.com/a/b"\n)\n',
            "store/store.go": "package store\n",
            "vendor/github.com/a/b/b.go": "package b\n",
            "vendor/vendor.json": "{}\n",
        },
    )
    tc = detect("go", root, offline=True)
    assert tc.build_command == (
        'mkdir -p "$(dirname "$(go env GOPATH)/src/github.com/someone/jobs")" && '
        'ln -s "$PWD" "$(go env GOPATH)/src/github.com/someone/jobs" && '
        'cd "$(go env GOPATH)/src/github.com/someone/jobs" && '
        "GO111MODULE=off CGO_ENABLED=0 go build -o /app/server ."
    )
    assert tc.install_command is None and tc.manifests == []


def test_flask_migrate_with_an_app_factory_is_quoted_for_the_shell(tmp_path):
    root = _write(tmp_path, {"migrations/env.py": "", "migrations/alembic.ini": "[alembic]\n"})
    tc = detect("python", root, offline=True, entrypoint="app:create_app()")
    assert tc.setup_commands == ["FLASK_APP='app:create_app()' flask db upgrade"]


def test_placeholder_env_values_take_the_shape_their_name_asks_for(tmp_path):
    """A real FastAPI repository crashed on DATABASE_URL="dummy-DATABASE_URL" (not a URL)."""
    root = _write(tmp_path, {"requirements.txt": "fastapi\n"})
    hints = RuntimeHints(
        start_command=["uvicorn", "main:app"],
        port=8000,
        env={"DATABASE_URL": "dummy-DATABASE_URL", "MYSQL_PORT": "dummy-MYSQL_PORT", "API_KEY": "dummy-API_KEY"},
    )
    text = _dockerfile(root, "python", "fastapi", hints, offline=True)
    assert 'ENV DATABASE_URL="sqlite:////tmp/abc-pipeline.db"' in text
    assert 'ENV MYSQL_PORT="8000"' in text and 'ENV API_KEY="dummy-API_KEY"' in text


def test_a_proxy_variable_the_code_reads_is_left_unset(tmp_path):
    """A real Express service crashed at start in proxy-agent ('You must specify a "protocol"
    for the proxy type') on HTTP_PROXY="dummy-HTTP_PROXY"."""
    root = _write(tmp_path, {"package.json": '{"name": "a", "dependencies": {"express": "^4.19.0"}}'})
    hints = RuntimeHints(
        start_command=["node", "index.js"],
        port=3000,
        env={"HTTP_PROXY": "dummy-HTTP_PROXY", "https_proxy": "dummy-https_proxy", "API_KEY": "dummy-API_KEY"},
    )
    text = _dockerfile(root, "javascript", "express", hints, offline=True)
    assert "HTTP_PROXY" not in text and "https_proxy" not in text
    assert 'ENV API_KEY="dummy-API_KEY"' in text


def test_ruby_without_gemfile_uses_debian_gems(tmp_path):
    root = _write(tmp_path, {"app.rb": "require 'sinatra'\nrequire 'json'\n"})
    tc = detect("ruby", root, offline=True)
    assert tc.system_packages == ["ruby-sinatra", "ruby-webrick"]
    assert tc.install_command is None


SINATRA_GEMFILE = {"Gemfile": "source 'https://rubygems.org'\n\ngem 'sinatra', '>= 3.0'\ngem 'json'\n"}
SINATRA_HINTS = RuntimeHints(
    start_command=["rackup", "-o", "0.0.0.0", "-p", "4567"], port=4567, extra_packages=["rackup", "webrick"]
)


@pytest.mark.golden
def test_ruby_gemfile_offline_resolves_against_debian_gems(tmp_path):
    """No RubyGems: Debian's gems are installed and Bundler resolves against them only;
    the framework's extra gems (rackup, webrick) come from Debian too."""
    root = _write(tmp_path, SINATRA_GEMFILE)
    text = _dockerfile(root, "ruby", "sinatra", SINATRA_HINTS, offline=True)
    _golden("ruby_gemfile_debian_offline", text)
    assert "apt-get install -y --no-install-recommends ruby-sinatra ruby-rack ruby-webrick" in text
    assert "RUN bundle install --local\n" in text
    assert "gem install" not in text and "build-essential" not in text
    _dependency_layer_first(text)


def test_ruby_gemfile_online_or_with_an_unpackaged_gem_uses_rubygems(tmp_path):
    root = _write(tmp_path / "a", SINATRA_GEMFILE)
    online = _dockerfile(root, "ruby", "sinatra", SINATRA_HINTS, offline=False)
    assert "bundle install --jobs 4" in online and "bundle install --local" not in online
    assert "RUN gem install --no-document rackup webrick" in online
    gemfile = SINATRA_GEMFILE["Gemfile"] + "gem 'sidekiq'\n"
    root = _write(tmp_path / "b", {"Gemfile": gemfile})
    unpackaged = detect("ruby", root, offline=True)
    assert "bundle install --local" not in unpackaged.install_command and not unpackaged.facts.get("debian_gems")


SLIM3_COMPOSER = {
    "composer.json": '{"require": {"php": ">=8.1", "slim/slim": "^3.12"}, "autoload": {"psr-4": {"App\\\\": "src/"}}}',
    "public/index.php": "<?php\nrequire __DIR__ . '/../vendor/autoload.php';\n",
}
SLIM3_HINTS = RuntimeHints(start_command=["php", "-S", "0.0.0.0:8000", "-t", "public", "public/index.php"], port=8000)


@pytest.mark.golden
def test_php_composer_offline_uses_debian_packages_and_their_autoloaders(tmp_path):
    root = _write(tmp_path, SLIM3_COMPOSER)
    text = _dockerfile(root, "php", "slim", SLIM3_HINTS, offline=True)
    _golden("php_slim3_debian_offline", text)
    assert "apt-get install -y --no-install-recommends composer php-slim" in text
    assert "require_once '%s';\\n\" Slim/autoload.php" in text
    assert "composer install" not in text and "COPY --from=composer" not in text
    # The app's own autoloader is Composer's, made to require Debian's first.
    assert "composer dump-autoload --optimize --no-dev && sed -i" in text
    _dependency_layer_first(text)


def test_php_composer_online_or_with_an_unpackaged_package_uses_packagist(tmp_path):
    root = _write(tmp_path / "a", SLIM3_COMPOSER)
    online = _dockerfile(root, "php", "slim", SLIM3_HINTS, offline=False)
    assert "composer install --no-dev" in online and "php-slim" not in online
    # slim/psr7 is packaged, php-di/php-di is not: Packagist it is.
    composer = '{"require": {"slim/psr7": "^1.6", "php-di/php-di": "^7.0"}}'
    root = _write(tmp_path / "b", {"composer.json": composer})
    unpackaged = detect("php", root, offline=True)
    assert unpackaged.install_command.startswith("composer install") and "composer" in unpackaged.system_packages


# --------------------------------------------------------------------------- own Dockerfile


def _service(framework: str, language: str, root: str = ".") -> Service:
    handler = Handler(
        file="main.go", name="health", line=1, start_byte=0, end_byte=1, body_start_byte=0, body_end_byte=1
    )
    endpoint = Endpoint(method="GET", path="/health", handler=handler)
    return Service(root=root, language=language, framework=framework, endpoints=[endpoint])


def _snapshot(path: Path) -> RepoSnapshot:
    return RepoSnapshot(path=path, commit="0" * 40, origin=str(path), owner="local", name=path.name)


def test_repository_dockerfile_is_preferred_and_never_overwritten(tmp_path):
    own = 'FROM golang:1.22\nWORKDIR /src\nCOPY . .\nRUN go build -o /srv .\nEXPOSE 9000\nCMD ["/srv"]\n'
    root = _write(
        tmp_path / "repo", {"go.mod": "module x\n\ngo 1.19\n", "main.go": "package main\n", "Dockerfile": own}
    )
    service = _service("nethttp", "go")
    spec = environment.synthesize(_snapshot(root), Inventory(services=[service], groups=[]), service)
    assert spec.dockerfile_source == "repository"
    assert (spec.dockerfile_name, spec.port, spec.dockerfile) == ("Dockerfile", 9000, own)
    assert spec.health_path == "/health"
    environment.write_environment(spec, root)
    assert (root / "Dockerfile").read_text() == own and not (root / "Dockerfile.abc").exists()

    synthesized = environment.fallback(spec)
    assert synthesized.dockerfile_source == "synthesized" and synthesized.dockerfile_name == "Dockerfile.abc"
    assert synthesized.dockerfile.startswith(environment.GENERATED_MARK)
    environment.write_environment(synthesized, root)
    assert (root / "Dockerfile").read_text() == own
    assert (root / "Dockerfile.abc").read_text() == synthesized.dockerfile
    # Back to the repository's: the synthesized file goes, so run-tests.sh builds the repository's.
    environment.write_environment(spec, root)
    assert not (root / "Dockerfile.abc").exists()


def test_compose_file_names_the_dockerfile(tmp_path):
    root = _write(
        tmp_path,
        {
            "docker-compose.yml": "services:\n  api:\n    build:\n      context: .\n"
            "      dockerfile: docker/api.Dockerfile\n    ports:\n      - '8081:7000'\n  db:\n    image: postgres\n",
            "docker/api.Dockerfile": 'FROM php:8.2-cli\nCOPY . /app\nCMD ["php", "-S", "0.0.0.0:7000"]\n',
        },
    )
    own = environment.repository_dockerfile(root)
    assert own is not None and (own.name, own.port, own.found_by) == (
        "docker/api.Dockerfile",
        7000,
        "docker-compose.yml",
    )


def test_a_generated_dockerfile_from_an_earlier_run_is_not_the_repositorys(tmp_path):
    root = _write(tmp_path, {"Dockerfile": environment.GENERATED_MARK + " for a service using flask\nFROM x\n"})
    assert environment.repository_dockerfile(root) is None


def test_synthesize_through_a_real_framework_module():
    fixture = Path(__file__).parent / "fixtures" / "flask_todo"
    service = Service(root=".", language="python", framework="flask", entrypoint="app.py")
    spec = environment.synthesize(_snapshot(fixture), Inventory(services=[service], groups=[]), service)
    assert spec.dockerfile_source == "synthesized" and spec.toolchain.package_manager == "pip"
    assert "--host" in spec.start_command and f"EXPOSE {spec.port}" in spec.dockerfile


def test_a_server_its_manifest_does_not_declare_gets_what_the_manifest_lacks():
    # The fixture's package.json is a command-line tool's; its HTTP API requires Express
    # (declared nowhere) and body-parser (a devDependency): both are installed in the
    # dependency layer, after the manifest's own, and the API's file starts the service.
    fixture = Path(__file__).parent / "fixtures" / "express_jobrunner"
    service = Service(root=".", language="javascript", framework="express", entrypoint="integrations/http/server.js")
    spec = environment.synthesize(_snapshot(fixture), Inventory(services=[service], groups=[]), service)
    lines = spec.dockerfile.splitlines()
    install = lines.index("RUN npm install --omit=dev")
    assert lines[install + 1] == "RUN npm install --no-save body-parser@^1.20.2 express"
    assert lines[install + 2] == "COPY . ."
    assert (spec.start_command, spec.port) == (["node", "integrations/http/server.js"], 7070)


# --------------------------------------------------------------------------- real builds

TOYS: dict[str, tuple[str, str, dict[str, str], RuntimeHints]] = {
    "go": (
        "go",
        "nethttp",
        {
            "go.mod": "module example.com/toy\n\ngo 1.19\n",
            "main.go": 'package main\n\nimport (\n\t"fmt"\n\t"net/http"\n\t"os"\n)\n\n'
            "func main() {\n"
            '\thttp.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })\n'
            '\thttp.ListenAndServe(":"+os.Getenv("PORT"), nil)\n}\n',
        },
        RuntimeHints(start_command=["/app/server"], port=8080),
    ),
    "php": (
        "php",
        "slim",
        {"index.php": '<?php\nheader("Content-Type: application/json");\necho json_encode(["ok" => true]);\n'},
        RuntimeHints(start_command=["php", "-S", "0.0.0.0:8000", "index.php"], port=8000),
    ),
    "ruby": (
        "ruby",
        "sinatra",
        {
            "app.rb": "require 'sinatra'\nset :server, 'webrick'\n\nget '/health' do\n  'ok'\nend\n",
        },
        RuntimeHints(start_command=["ruby", "app.rb", "-o", "0.0.0.0", "-p", "4567"], port=4567),
    ),
}


def _build(root: Path, run_id: str, name: str, dockerfile: str = "Dockerfile"):
    from pipeline.runtime import sandbox

    return sandbox.build_image(
        root,
        f"abc-pipeline/toy-{name}:{run_id}",
        labels={"abc-pipeline.run": run_id},
        timeout=600,
        dockerfile=dockerfile,
    )


def _dependency_step_cached(log: str, marker: str) -> bool:
    """Whether the build step whose instruction contains `marker` came from the cache."""
    steps = re.split(r"^Step \d+/\d+ : ", log, flags=re.MULTILINE)
    step = next((s for s in steps if s.split("\n", 1)[0].find(marker) != -1), None)
    return step is not None and "Using cache" in step


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(TOYS))
def test_toy_service_builds_and_serves(name, docker_engine, run_id, tmp_path, capsys):
    """Source to a healthy service with no hand edits, on the images this machine has."""
    from pipeline.config import Settings
    from pipeline.runtime import sandbox
    from pipeline.stages.bring_up import ensure_base_image

    language, framework, files, hints = TOYS[name]
    root = _write(tmp_path / name, files)
    tc = detect(language, root, offline=True)
    text, port, start, _ = environment.render_dockerfile(framework, tc, hints)
    (root / "Dockerfile").write_text(text)
    (root / ".dockerignore").write_text(environment.dockerignore(language))
    ensure_base_image(tc.base_image, Settings(offline=True))

    cold = _build(root, run_id, name)
    assert cold.ok, cold.log[-3000:]
    started = time.monotonic()
    with sandbox.running_service(
        cold.image_id,
        port=port,
        health_path="/health" if name != "php" else "/",
        limits=Limits(startup_timeout=60),
        run_id=run_id,
    ) as service:
        healthy = time.monotonic() - started
        answer = requests.get(service.base_url + "/", timeout=5)
        assert answer.status_code < 500
    # A source-only change: the dependency layer comes from the cache.
    entry = {"go": "main.go", "php": "index.php", "ruby": "app.rb"}[name]
    (root / entry).write_text((root / entry).read_text() + ("\n// changed\n" if name == "go" else "\n# changed\n"))
    warm = _build(root, run_id, name)
    assert warm.ok, warm.log[-3000:]
    marker = {"go": "COPY go.mod", "php": "WORKDIR /app", "ruby": "apt-get install"}[name]
    assert _dependency_step_cached(warm.log, marker), warm.log
    assert "COPY . ." in warm.log
    with capsys.disabled():
        print(
            f"\n[{name}] cold build {cold.seconds:.1f} s, healthy after {healthy:.1f} s,"
            f" warm build {warm.seconds:.1f} s"
        )


@pytest.mark.docker
def test_broken_build_ends_with_its_class_and_leaves_nothing(docker_engine, run_id, tmp_path):
    """A build that cannot work: apt cannot find the package; the rule drops it, the Go
    compiler then fails on a syntax error (unknown): the loop gives up with that class."""
    from pipeline.runtime import sandbox
    from pipeline.stages.bring_up import remove_failed_layers

    root = _write(tmp_path, {"go.mod": "module x\n\ngo 1.19\n", "main.go": "package main\n\nfunc main() {\n"})
    tc = detect("go", root, offline=True).model_copy(update={"system_packages": ["abc-no-such-package"]})
    text, port, start, _ = environment.render_dockerfile(
        "nethttp", tc, RuntimeHints(start_command=["/app/server"], port=8080)
    )
    spec = environment.ServiceEnv(
        service_root=".",
        language="go",
        framework="nethttp",
        base_image=tc.base_image,
        dockerfile=text,
        port=port,
        start_command=start,
        toolchain=tc,
    )
    tag = f"abc-pipeline/broken:{run_id}"
    # Images only, globally: a failed build's layers carry no run label. (Containers are
    # checked by run id: other builds running now have intermediate containers that
    # inherit the base image's label.)
    before = {x for x in sandbox.leftovers() if x.startswith("image ")}
    failed: list[str] = []

    def try_once(candidate):
        (root / "Dockerfile").write_text(candidate.dockerfile)
        build = sandbox.build_image(root, tag, labels={"abc-pipeline.run": run_id}, timeout=300)
        if not build.ok:
            failed.extend(build.layers[-1:])
        return repair.TryResult(ok=build.ok, phase="build", log=build.log)

    facts = repair.ServiceFacts(language="go", framework="nethttp", toolchain=tc, offline=True)
    outcome = repair.run_attempts(spec, facts, try_once, strategy=repair.RuleBasedStrategy(), max_repairs=3)
    assert not outcome.ok
    classes = [a.failure.failure_class for a in outcome.attempts]
    assert classes == [repair.FailureClass.missing_system_package, repair.FailureClass.unknown], classes
    assert "abc-no-such-package" not in outcome.attempts[-1].dockerfile
    assert outcome.reason.startswith("unknown: ") and "expected" in outcome.reason
    remove_failed_layers(failed)
    sandbox.cleanup(run_id, images=True)
    assert {x for x in sandbox.leftovers() if x.startswith("image ")} - before == set()
    assert sandbox.leftovers(run_id) == []


@pytest.mark.docker
def test_a_prepare_script_run_by_a_dev_tool_does_not_break_the_production_install(docker_engine, run_id, tmp_path):
    """`"prepare": "husky install"` with husky a devDependency: `npm install --omit=dev`
    runs it and fails (husky: not found) unless the package's own scripts are skipped."""
    from pipeline.config import Settings
    from pipeline.runtime import sandbox
    from pipeline.stages.bring_up import ensure_base_image

    manifest = {
        "name": "husky-app",
        "version": "1.0.0",
        "main": "server.js",
        "scripts": {"start": "node server.js", "prepare": "husky install"},
        "devDependencies": {"husky": "^8.0.3"},
        "dependencies": {"ms": "2.1.3"},
    }
    server = (
        "const http = require('http');\nconst ms = require('ms');\n"
        "http.createServer((req, res) => { res.setHeader('Content-Type', 'application/json');"
        " res.end(JSON.stringify({ day: ms('1d') })); }).listen(process.env.PORT || 3000, '0.0.0.0');\n"
    )
    root = _write(tmp_path / "husky", {"package.json": json.dumps(manifest), "server.js": server})
    tc = detect("javascript", root, offline=False)
    assert "--ignore-scripts" in tc.install_command and any("prepare" in n for n in tc.notes), tc
    hints = RuntimeHints(start_command=["npm", "start"], port=3000)
    text, port, _, _ = environment.render_dockerfile("express", tc, hints)
    (root / "Dockerfile").write_text(text)
    ensure_base_image(tc.base_image, Settings())
    build = _build(root, run_id, "husky")
    assert build.ok, build.log[-3000:]
    with sandbox.running_service(build.image_id, port=port, limits=Limits(startup_timeout=60), run_id=run_id) as svc:
        assert requests.get(svc.base_url + "/", timeout=5).json() == {"day": 86400000}


def test_go_dependency_layer_leaves_out_nested_modules_ignored_folders_and_unrequired_packages(tmp_path):
    """The dependency layer builds only what go.mod and go.sum can provide: the imports of a
    nested module (its own go.mod) or of a folder the go command ignores (`_examples`) are not
    the service's, and with a go.sum a package of a module go.mod does not require cannot build."""
    files = {
        "go.mod": "module example.com/lib\n\ngo 1.21\n\nrequire (\n\tgithub.com/go-chi/chi/v5 v5.0.0\n"
        "\tgolang.org/x/text v0.3.0 // indirect\n)\n",
        "go.sum": "",
        "lib.go": 'package lib\n\nimport (\n\t"github.com/go-chi/chi/v5"\n\t"golang.org/x/text/language"\n'
        '\t"github.com/not/required"\n)\n',
        "_examples/go.mod": "module example.com/examples\n",
        "_examples/demo/main.go": 'package main\n\nimport "github.com/only/examples"\n',
        "example/go.mod": "module example.com/example\n",
        "example/main.go": 'package main\n\nimport "github.com/only/example"\n',
        "testdata/x.go": 'package x\n\nimport "github.com/only/testdata"\n',
    }
    tc = detect("go", _write(tmp_path, files), offline=True)
    assert tc.install_command == (
        "go mod download && CGO_ENABLED=0 go build github.com/go-chi/chi/v5 golang.org/x/text/language"
    )


def test_go_local_replaces_inside_travel_with_go_mod_and_outside_ones_build_the_published_module(tmp_path):
    """A replace by a folder inside the service root needs that folder's go.mod in the
    dependency layer; one outside it (a monorepo plugin's `=> ../..`) is outside the build
    context, so the published version go.mod requires is built instead."""
    files = {
        "plugin/go.mod": "module example.com/mono/plugin\n\ngo 1.21\n\nrequire (\n\texample.com/mono v1.2.3\n"
        "\texample.com/mono/plugin/store v1.2.3\n\tgithub.com/go-chi/chi/v5 v5.0.0\n)\n\n"
        "replace (\n\texample.com/mono v1.2.3 => ../\n\texample.com/mono/plugin/store => ./store\n)\n",
        "plugin/go.sum": "",
        "plugin/store/go.mod": "module example.com/mono/plugin/store\n",
        "plugin/main.go": 'package main\n\nimport (\n\t"example.com/mono/mw"\n\t"example.com/mono/plugin/store"\n'
        '\t"github.com/go-chi/chi/v5"\n)\n\nfunc main() {}\n',
    }
    root = _write(tmp_path, files) / "plugin"
    tc = detect("go", root, offline=True)
    assert tc.manifests == ["go.mod", "go.sum", "store/go.mod"]
    edit = "go mod edit -dropreplace=example.com/mono@v1.2.3 && export GOFLAGS=-mod=mod"
    layer = "go mod download && CGO_ENABLED=0 go build -mod=mod github.com/go-chi/chi/v5"
    assert tc.install_command == f"{edit} && {layer}"
    assert tc.build_command.startswith(f"{edit} && CGO_ENABLED=0 go build ")


def test_rust_offline_newer_than_every_stand_in_installs_rustc_with_rustup(tmp_path):
    cargo = '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2024"\nrust-version = "1.88"\n'
    tc = detect("rust", _write(tmp_path, {"Cargo.toml": cargo, "src/main.rs": "fn main() {}\n"}), offline=True)
    assert tc.base_image == "rust:1.85-slim-trixie" and tc.facts["rustup"] == "1.88"
    assert "--default-toolchain 1.88 " in tc.facts["rustup_step"]
    within = cargo.replace('rust-version = "1.88"\n', "")
    assert "rustup" not in detect("rust", _write(tmp_path / "b", {"Cargo.toml": within}), offline=True).facts


def test_rust_literal_loopback_binds_are_rewritten_to_all_interfaces_before_the_build(tmp_path):
    """A server bound to 127.0.0.1 in a container cannot be reached through its published
    port, and no variable moves a literal: the build rewrites the literal (by its text, as
    masking moves lines), leaving other addresses alone."""
    import subprocess

    main = (
        "fn main() {\n"
        '    HttpServer::new(app).bind(("127.0.0.1", 8080)).unwrap();\n'
        '    let a = "localhost:3000";\n'
        "    let b = SocketAddr::from(([127, 0, 0, 1], 9000));\n"
        '    let c = "10.0.0.7:5432";\n'
        "}\n"
    )
    root = _write(tmp_path, {"Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\n', "src/main.rs": main})
    tc = detect("rust", root, offline=True)
    rewrite, _, rest = tc.build_command.partition(" && cargo build")
    assert rewrite.startswith("sed -i ") and rest
    subprocess.run(rewrite, shell=True, cwd=root, check=True)
    assert (root / "src/main.rs").read_text() == (
        "fn main() {\n"
        '    HttpServer::new(app).bind(("0.0.0.0", 8080)).unwrap();\n'
        '    let a = "0.0.0.0:3000";\n'
        "    let b = SocketAddr::from(([0, 0, 0, 0], 9000));\n"
        '    let c = "10.0.0.7:5432";\n'
        "}\n"
    )


def test_a_language_that_starts_slowly_gets_its_own_start_allowance():
    """A Java service gets Java's start allowance; a faster language keeps the limits'; a
    longer limit set by the user is kept."""
    from pipeline.config import Settings
    from pipeline.generate import _service_settings

    settings = Settings()
    assert _service_settings(settings, "java").limits.startup_timeout == get_language("java").startup_timeout
    assert _service_settings(settings, "python") is settings
    patient = settings.model_copy(update={"limits": Limits(startup_timeout=600)})
    assert _service_settings(patient, "java") is patient
