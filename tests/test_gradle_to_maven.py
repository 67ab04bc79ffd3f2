"""Gradle builds said again as poms, where Gradle's distributions are out of reach.

The translation is pinned here on build files written from scratch, one per form real
repositories use (Groovy and Kotlin DSL, the buildscript form, ext variables, BOMs, annotation
processors, version catalogs, several projects); what a pom cannot say is refused with its
reason. The fixtures spring_gradle_notes and spring_gradle_reactor are compiled as their
translations (test_masked_compiles.py); the first is built and run in Docker below, the
second is packaged and run with the host's Maven.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from toolbox import built_and_serving

from pipeline.config import Settings, gradle_distributions_reachable
from pipeline.languages.java import gradle_to_maven, toolchain
from pipeline.models import RepoSnapshot

FIXTURES = Path(__file__).parent / "fixtures"
NS = {"m": "http://maven.apache.org/POM/4.0.0"}

GROOVY = """\
plugins {
    id 'java'
    id 'org.springframework.boot' version '3.2.1'
    id 'io.spring.dependency-management' version '1.1.4'
    id 'com.diffplug.spotless' version '6.25.0'
}
group = 'cn.example'
version = '1.0.0'
java { sourceCompatibility = '17' }
repositories {
    mavenCentral()
    maven { url 'https://repo.example.org/releases' }
}
ext { querydslVersion = '5.0.0' }
dependencies {
    implementation 'org.springframework.boot:spring-boot-starter-web'
    implementation "com.querydsl:querydsl-jpa:${querydslVersion}:jakarta"
    runtimeOnly 'com.mysql:mysql-connector-j'
    compileOnly 'org.projectlombok:lombok'
    annotationProcessor 'org.projectlombok:lombok'
    annotationProcessor "com.querydsl:querydsl-apt:${querydslVersion}:jakarta"
    implementation('com.auth0:java-jwt:4.2.1') {
        exclude group: 'com.fasterxml.jackson.core'
    }
    testImplementation 'org.springframework.boot:spring-boot-starter-test'
}
"""

KOTLIN = """\
plugins {
    java
    id("org.springframework.boot") version "3.3.0"
    id("io.spring.dependency-management") version "1.1.5"
}
val jjwtVersion: String by project
val mapstruct = "1.5.5.Final"
java { toolchain { languageVersion.set(JavaLanguageVersion.of(21)) } }
dependencies {
    implementation(platform("software.amazon.awssdk:bom:2.25.0"))
    implementation("software.amazon.awssdk:s3")
    implementation("io.jsonwebtoken:jjwt-api:$jjwtVersion")
    implementation(group = "org.mapstruct", name = "mapstruct", version = mapstruct)
    annotationProcessor("org.mapstruct:mapstruct-processor:$mapstruct")
    developmentOnly("org.springframework.boot:spring-boot-devtools")
}
springBoot { mainClass.set("com.example.App") }
"""

BUILDSCRIPT = """\
buildscript {
    ext { springBootVersion = '2.1.4.RELEASE' }
    repositories { mavenCentral() }
    dependencies {
        classpath("org.springframework.boot:spring-boot-gradle-plugin:${springBootVersion}")
    }
}
apply plugin: 'java'
apply plugin: 'org.springframework.boot'
apply plugin: 'io.spring.dependency-management'
sourceCompatibility = 1.8
dependencies {
    compile('org.springframework.boot:spring-boot-starter-web')
    compile group: 'com.google.guava', name: 'guava', version: '27.0-jre'
    testCompile('org.springframework.boot:spring-boot-starter-test')
}
"""


def _project(tmp_path: Path, build: str, name: str = "build.gradle", **files: str) -> Path:
    (tmp_path / name).write_text(build)
    for path, text in files.items():
        (tmp_path / path.replace("__", "/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path.replace("__", "/")).write_text(text)
    return tmp_path


def _pom(root: Path) -> ET.Element:
    pom, why = gradle_to_maven.translate(root)
    assert pom is not None, why
    return ET.fromstring(pom)


def _dependencies(pom: ET.Element) -> dict[str, tuple[str | None, str | None, str | None]]:
    """artifactId -> (version, scope, classifier) of the pom's dependencies."""
    return {
        d.findtext("m:artifactId", namespaces=NS): (
            d.findtext("m:version", namespaces=NS),
            d.findtext("m:scope", namespaces=NS),
            d.findtext("m:classifier", namespaces=NS),
        )
        for d in pom.findall("m:dependencies/m:dependency", NS)
    }


def _processors(pom: ET.Element) -> list[str]:
    paths = pom.findall(".//m:annotationProcessorPaths/m:path", NS)
    return [p.findtext("m:artifactId", namespaces=NS) for p in paths]


def test_groovy_build_becomes_a_boot_pom(tmp_path: Path) -> None:
    pom = _pom(_project(tmp_path, GROOVY, **{"settings.gradle": "rootProject.name = 'money'\n"}))
    assert pom.findtext("m:parent/m:artifactId", namespaces=NS) == "spring-boot-starter-parent"
    assert pom.findtext("m:parent/m:version", namespaces=NS) == "3.2.1"
    assert (pom.findtext("m:groupId", namespaces=NS), pom.findtext("m:artifactId", namespaces=NS)) == (
        "cn.example",
        "money",
    )
    assert pom.findtext("m:properties/m:java.version", namespaces=NS) == "17"
    assert _dependencies(pom) == {
        "spring-boot-starter-web": (None, None, None),
        # ${querydslVersion} from ext, the classifier kept
        "querydsl-jpa": ("5.0.0", None, "jakarta"),
        "mysql-connector-j": (None, "runtime", None),
        "lombok": (None, "provided", None),
        "java-jwt": ("4.2.1", None, None),
    }
    # Processors stay off the class path the jar ships (as in Gradle): the compiler's paths.
    assert _processors(pom) == ["lombok", "querydsl-apt"]
    assert [r.findtext("m:url", namespaces=NS) for r in pom.findall("m:repositories/m:repository", NS)] == [
        "https://repo.example.org/releases"
    ]
    assert "spring-boot-maven-plugin" in ET.tostring(pom, encoding="unicode")
    _, said = gradle_to_maven.translate(tmp_path)
    assert "excludes are not carried over" in said


def test_kotlin_build_with_platform_properties_and_main_class(tmp_path: Path) -> None:
    root = _project(tmp_path, KOTLIN, "build.gradle.kts", **{"gradle.properties": "jjwtVersion=0.12.5\n"})
    pom = _pom(root)
    assert pom.findtext("m:parent/m:version", namespaces=NS) == "3.3.0"
    assert pom.findtext("m:properties/m:java.version", namespaces=NS) == "21"
    assert pom.findtext("m:properties/m:start-class", namespaces=NS) == "com.example.App"
    imported = pom.find("m:dependencyManagement/m:dependencies/m:dependency", NS)
    assert imported is not None and imported.findtext("m:artifactId", namespaces=NS) == "bom"
    assert imported.findtext("m:scope", namespaces=NS) == "import"
    assert _dependencies(pom) == {
        "s3": (None, None, None),
        "jjwt-api": ("0.12.5", None, None),
        "mapstruct": ("1.5.5.Final", None, None),
    }
    assert _processors(pom) == ["mapstruct-processor"]


def test_buildscript_form_and_old_configurations(tmp_path: Path) -> None:
    pom = _pom(_project(tmp_path, BUILDSCRIPT))
    assert pom.findtext("m:parent/m:version", namespaces=NS) == "2.1.4.RELEASE"
    assert pom.findtext("m:properties/m:java.version", namespaces=NS) == "1.8"
    assert _dependencies(pom) == {"spring-boot-starter-web": (None, None, None), "guava": ("27.0-jre", None, None)}


@pytest.mark.parametrize(
    ("build", "files", "reason"),
    [
        (
            GROOVY.replace("'org.projectlombok:lombok'\n    annotation", "libs.bundles.web\n    annotation"),
            {"gradle__libs.versions.toml": '[bundles]\nweb = ["a"]\n'},
            "bundle",
        ),
        (GROOVY.replace("id 'java'", "alias(libs.plugins.kotlin.jvm)"), {}, "version catalog"),
        (GROOVY.replace("'org.projectlombok:lombok'\n    annotation", "libs.lombok\n    annotation"), {}, "catalog"),
        (GROOVY.replace("id 'java'", "id 'org.jetbrains.kotlin.jvm' version '1.9.0'"), {}, "kotlin"),
        (GROOVY.replace("runtimeOnly 'com.mysql:mysql-connector-j'", "implementation project(':core')"), {}, "project"),
        (GROOVY.replace("runtimeOnly 'com.mysql:mysql-connector-j'", "implementation files('lib/a.jar')"), {}, "files"),
        (GROOVY.replace(" version '3.2.1'", ""), {}, "Spring Boot plugin"),
        (GROOVY.replace("java-jwt:4.2.1", "java-jwt:4.+"), {}, "dynamic version"),
        (GROOVY.replace("${querydslVersion}", "${queryVersion}"), {}, "${queryVersion}"),
        (GROOVY, {"src/main/kotlin/App.kt": "fun main() {}\n"}, "Kotlin"),
    ],
)
def test_what_a_pom_cannot_say_is_refused_with_its_reason(
    tmp_path: Path, build: str, files: dict[str, str], reason: str
) -> None:
    pom, why = gradle_to_maven.translate(_project(tmp_path, build, **files))
    assert pom is None
    assert reason in why


def test_toolchain_translates_only_where_gradle_is_out_of_reach(tmp_path: Path) -> None:
    root = tmp_path / "notes"
    shutil.copytree(FIXTURES / "spring_gradle_notes", root)
    gradle = toolchain.detect(root, offline=True, gradle_reachable=True)
    assert gradle.package_manager == "gradle"
    assert gradle.generated_files == {}

    maven = toolchain.detect(root, offline=True, gradle_reachable=False)
    assert maven.package_manager == "maven"
    assert list(maven.generated_files) == [gradle_to_maven.POM_NAME]
    assert maven.manifests == [gradle_to_maven.POM_NAME]
    assert maven.install_command == "mvn -f pom.abc.xml -B -q dependency:go-offline"
    # the test configurations were left out of the pom: its tests are not compiled either
    assert maven.build_command == "mvn -f pom.abc.xml -B -Dmaven.test.skip=true package"
    assert maven.version_source == "build.gradle, as pom.abc.xml's java.version"
    assert any("translated to pom.abc.xml" in note for note in maven.notes)

    # A build the pom cannot say stays Gradle's, and says why it will not build here.
    build = (root / "build.gradle").read_text()
    (root / "build.gradle").write_text(
        build.replace("dependencies {", "dependencies {\n    implementation files('lib/a.jar')", 1)
    )
    refused = toolchain.detect(root, offline=True, gradle_reachable=False)
    assert refused.package_manager == "gradle"
    assert any("cannot become a pom: `implementation files('lib/a.jar')`" in note for note in refused.notes)


def test_the_machine_setting_overrides_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABC_GRADLE_DISTRIBUTIONS", "0")
    assert gradle_distributions_reachable() is False
    monkeypatch.setenv("ABC_GRADLE_DISTRIBUTIONS", "1")
    assert gradle_distributions_reachable() is True


def _synthesized(root: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch):
    from pipeline.stages import environment, explore

    monkeypatch.setenv("ABC_GRADLE_DISTRIBUTIONS", "0")
    snapshot = RepoSnapshot(path=root, commit="test", origin=str(root), owner="local", name=root.name)
    inventory = explore.explore(snapshot, settings)
    return environment, environment.synthesize(snapshot, inventory, inventory.services[0], settings)


def test_the_translated_pom_is_written_beside_the_dockerfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.models import StageError

    root = tmp_path / "notes"
    shutil.copytree(FIXTURES / "spring_gradle_notes", root)
    environment, spec = _synthesized(root, Settings(offline=True, work_dir=tmp_path / "work"), monkeypatch)
    assert "COPY pom.abc.xml" in spec.dockerfile
    environment.write_environment(spec, root)
    assert (root / "pom.abc.xml").read_text() == spec.toolchain.generated_files["pom.abc.xml"]
    environment.write_environment(spec, root)  # its own file is rewritten, not refused
    # The repository's own file of that name is never overwritten.
    (root / "pom.abc.xml").write_text("<project/>\n")
    with pytest.raises(StageError, match="refusing to overwrite"):
        environment.write_environment(spec, root)


@pytest.mark.docker
def test_a_gradle_service_builds_and_answers_as_its_translation(
    docker_engine, run_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image the pipeline builds for a Gradle project where Gradle cannot be fetched:
    Maven resolves the dependencies in their own layer, Lombok's processor runs, the tests
    (which need the test configuration) are not compiled, and the jar serves."""
    import requests

    root = tmp_path / "notes"
    shutil.copytree(FIXTURES / "spring_gradle_notes", root)
    settings = Settings(offline=True, work_dir=tmp_path / "work")
    _, spec = _synthesized(root, settings, monkeypatch)
    with built_and_serving(root, spec, settings, run_id, "spring-gradle-notes") as service:
        created = requests.post(f"{service.base_url}/api/notes", json={"title": "first note"}, timeout=30)
        assert created.status_code == 201, created.text
        # Lombok's getters (the processor ran) and commons-text's capitalize (an ext version)
        assert created.json() == {"id": 1, "title": "First Note", "body": None}


# --------------------------------------------------------------------------- several projects

REACTOR = FIXTURES / "spring_gradle_reactor"


def test_a_version_catalog_names_libraries_plugins_and_versions(tmp_path: Path) -> None:
    catalog = """\
[versions]
boot = "3.3.0"
java = "21"
jjwt = { strictly = "0.12.5" }
[libraries]
web = { group = "org.springframework.boot", name = "spring-boot-starter-web" }
jjwt-api = { module = "io.jsonwebtoken:jjwt-api", version.ref = "jjwt" }
guava = "com.google.guava:guava:33.0.0-jre"
[plugins]
spring-boot = { id = "org.springframework.boot", version.ref = "boot" }
"""
    build = """\
plugins {
    java
    alias(libs.plugins.spring.boot)
}
java { toolchain { languageVersion.set(JavaLanguageVersion.of(libs.versions.java.get())) } }
dependencies {
    implementation(libs.web)
    implementation(libs.jjwt.api)
    runtimeOnly(libs.guava)
}
"""
    _project(tmp_path, build, "build.gradle.kts", **{"gradle__libs.versions.toml": catalog})
    pom = _pom(tmp_path)
    assert pom.findtext("m:parent/m:version", namespaces=NS) == "3.3.0"
    assert pom.findtext("m:properties/m:java.version", namespaces=NS) == "21"
    assert _dependencies(pom) == {
        "spring-boot-starter-web": (None, None, None),
        "jjwt-api": ("0.12.5", None, None),
        "guava": ("33.0.0-jre", "runtime", None),
    }


def test_several_projects_become_a_reactor_of_the_app_and_what_it_needs(tmp_path: Path) -> None:
    # A project the app does not depend on stays out: it may not build here.
    root = shutil.copytree(REACTOR, tmp_path / "shelf")
    (root / "settings.gradle.kts").write_text((root / "settings.gradle.kts").read_text() + 'include(":tools")\n')
    files, said = gradle_to_maven.translate_files(root, "server/web")
    assert files is not None, said
    assert sorted(files) == ["lib/catalog/pom.abc.xml", "pom.abc.xml", "server/web/pom.abc.xml"]
    top = ET.fromstring(files["pom.abc.xml"])
    assert top.findtext("m:packaging", namespaces=NS) == "pom"
    modules = [m.text for m in top.findall("m:modules/m:module", NS)]
    assert modules == ["lib/catalog/pom.abc.xml", "server/web/pom.abc.xml"]
    web, catalog = ET.fromstring(files["server/web/pom.abc.xml"]), ET.fromstring(files["lib/catalog/pom.abc.xml"])
    # The root's subprojects block reaches both; the catalog's variable holder resolves.
    for pom in (web, catalog):
        assert pom.findtext("m:parent/m:version", namespaces=NS) == "3.2.5"
        assert pom.findtext("m:properties/m:java.version", namespaces=NS) == "17"
        assert _processors(pom) == ["lombok"]
        assert _dependencies(pom)["lombok"] == (None, "provided", None)
    assert _dependencies(web)["lib-catalog"] == ("0.0.1", None, None)
    assert _dependencies(catalog)["commons-lang3"] == ("3.14.0", None, None)
    # Only the app is repackaged into the executable jar.
    boot = ".//m:plugin[m:artifactId='spring-boot-maven-plugin']"
    assert web.find(boot, NS) is not None and catalog.find(boot, NS) is None


def test_the_toolchain_builds_the_app_project_from_the_settings_folder(tmp_path: Path) -> None:
    root = shutil.copytree(REACTOR, tmp_path / "shelf")
    entry = "server/web/src/main/java/com/example/shelf/web/ShelfApplication.java"
    translated = toolchain.detect(root, offline=True, entrypoint=entry, gradle_reachable=False)
    assert translated.build_command == "mvn -f pom.abc.xml -B -Dmaven.test.skip=true -pl server/web -am package"
    assert translated.artifact == "server/web/target/*.jar"
    assert sorted(translated.generated_files) == ["lib/catalog/pom.abc.xml", "pom.abc.xml", "server/web/pom.abc.xml"]
    gradle = toolchain.detect(root, offline=True, entrypoint=entry, gradle_reachable=True)
    assert (gradle.build_command, gradle.artifact) == (
        "./gradlew --no-daemon :web:bootJar -x test",
        "server/web/build/libs/*.jar",
    ) or (gradle.build_command == "gradle --no-daemon :web:bootJar -x test")
    assert gradle.language_version == "17"  # the catalog's, through `libs.versions.java`


def test_a_gradle_project_is_served_from_its_settings_folder() -> None:
    from pipeline.languages import get_framework

    (candidate,) = get_framework("spring").detect(REACTOR)
    assert candidate.root == REACTOR.resolve()
    assert candidate.entrypoint == "server/web/src/main/java/com/example/shelf/web/ShelfApplication.java"


@pytest.mark.toolchain
def test_the_reactor_packages_and_the_app_jar_runs(tmp_path: Path) -> None:
    """The translation built with the host's Maven and the app run: the library project's
    Lombok accessors and its commons-lang3 reach the running app (this is our own fixture)."""
    import os
    import socket
    import subprocess
    import time

    import requests

    if shutil.which("mvn") is None or shutil.which("java") is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set and mvn or java is not on PATH", pytrace=False)
        pytest.skip("needs the host's Maven and Java")

    root = shutil.copytree(REACTOR, tmp_path / "shelf")
    files, said = gradle_to_maven.translate_files(root, "server/web")
    assert files is not None, said
    for name, text in files.items():
        (root / name).write_text(text)
    command = ["mvn", "-f", "pom.abc.xml", "-B", "-q", "-Dmaven.test.skip=true", "-pl", "server/web", "-am", "package"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    (jar,) = (root / "server" / "web" / "target").glob("*.jar")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = subprocess.Popen(
        ["java", "-jar", str(jar), "--server.address=127.0.0.1", f"--server.port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/books"
        deadline = time.monotonic() + 90
        while True:
            try:
                created = requests.post(url, json={"title": "the  hobbit", "author": "t"}, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the app did not answer in 90 s"
                time.sleep(1)
        assert (created.status_code, created.json()) == (201, {"id": 1, "title": "The hobbit", "author": "t"})
    finally:
        app.terminate()
        app.wait(timeout=30)
