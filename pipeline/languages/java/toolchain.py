"""Java: Maven or Gradle (with or without the wrapper) and the Java release the build targets."""

from __future__ import annotations

import contextlib
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from pipeline.languages.java import gradle_to_maven
from pipeline.languages.toolchain import Toolchain, existing, local_stand_in, parse_version, read_text

STAND_IN = "17"
# The JDKs local stand-ins exist for (docker/base: java.Dockerfile on bookworm,
# java-21.Dockerfile on trixie, java-8 and java-11.Dockerfile with sid's JDKs), oldest
# first. The old releases count: a Java 8 or 11 project's Lombok or Spring Boot 1.x does
# not compile or start on 17.
STAND_INS = ["8", "11", "17", "21"]
# eclipse-temurin:<n>-jdk tags exist for these.
OFFICIAL = ["8", "11", "17", "21", "22", "23", "24", "25"]
GRADLE_IMAGE = "gradle:8.10-jdk{version}"
# The jars a build writes beside the app's: Gradle's -plain (no dependencies), the
# -sources, -javadoc and -tests jars of Maven plugins (a javadoc jar has no main class).
NOT_THE_APP_JAR = "grep -v -e -plain.jar -e -sources.jar -e -javadoc.jar -e -tests.jar"


def image(version: str) -> str:
    return f"eclipse-temurin:{version}-jdk"


def _normalize(text: str) -> str | None:
    version = parse_version(text)
    if version is None:
        return None
    # "1.8" is Java 8
    return str(version[1]) if version[0] == 1 and len(version) > 1 else str(version[0])


def _pom_version(pom: str) -> tuple[str | None, str | None]:
    try:
        tree = ET.fromstring(re.sub(r"\sxmlns(:\w+)?=\"[^\"]+\"", "", pom, count=1))
    except ET.ParseError:
        return None, None
    properties = {child.tag: (child.text or "").strip() for child in tree.findall("./properties/*")}

    def resolve(value: str) -> str:
        return re.sub(r"\$\{([\w.\-]+)\}", lambda m: properties.get(m.group(1), m.group(0)), value)

    for key in ("maven.compiler.release", "java.version", "maven.compiler.target", "maven.compiler.source"):
        if properties.get(key):
            return _normalize(resolve(properties[key])), f"pom.xml {key}"
    for tag in ("release", "target", "source"):
        node = tree.find(f".//plugin[artifactId='maven-compiler-plugin']/configuration/{tag}")
        if node is not None and node.text:
            return _normalize(resolve(node.text.strip())), f"pom.xml maven-compiler-plugin {tag}"
    return None, None


def _boot_parent_release(pom: str) -> tuple[str | None, str | None]:
    """The release spring-boot-starter-parent compiles for when the pom states none: its
    java.version is 1.8 up to Spring Boot 2.x and 17 from 3.0 (a Boot 1.x app built for 17
    by default neither compiles with its old Lombok nor starts)."""
    match = re.search(
        r"<parent>(?:(?!</parent>).)*<artifactId>\s*spring-boot-starter-parent\s*</artifactId>"
        r"(?:(?!</parent>).)*<version>\s*(\d+)\.",
        pom,
        re.S,
    )
    if match is None:
        return None, None
    return ("8" if int(match.group(1)) < 3 else "17"), "pom.xml spring-boot-starter-parent's java.version"


def _boot_version(pom: str) -> str | None:
    """The Spring Boot version a pom builds with: its spring-boot-starter-parent's, else the
    version of a spring-boot-dependencies import or of a spring-boot-starter dependency."""
    properties = dict(re.findall(r"<([\w.\-]+)>\s*([^<\s]+)\s*</\1>", pom))
    for pattern in (
        r"<artifactId>\s*spring-boot-starter-parent\s*</artifactId>\s*<version>\s*([^<\s]+)",
        r"<artifactId>\s*spring-boot-dependencies\s*</artifactId>\s*<version>\s*([^<\s]+)",
        r"<artifactId>\s*spring-boot-starter[\w\-]*\s*</artifactId>\s*<version>\s*([^<\s]+)",
    ):
        match = re.search(pattern, pom)
        if match:
            version = re.sub(r"\$\{([\w.\-]+)\}", lambda m: properties.get(m.group(1), m.group(0)), match.group(1))
            return None if "${" in version else version
    return None


def _needs_repackage(pom: str) -> bool:
    """A Spring Boot app (a spring-boot-starter dependency) whose pom does not name the plugin
    that makes its jar executable."""
    return "spring-boot-maven-plugin" not in pom and re.search(r"<artifactId>\s*spring-boot-starter", pom) is not None


def _unpinned_boot_plugin(pom: str) -> bool:
    """The pom runs spring-boot-maven-plugin without a version, and neither a Boot parent nor
    its pluginManagement gives one: Maven then takes the newest release (Boot 4's, built
    for Java 17), whose repackage fails on the release the app is built for."""
    if re.search(r"<artifactId>\s*spring-boot-starter-parent\s*</artifactId>", pom):
        return False
    declared = re.findall(
        r"<plugin>((?:(?!</plugin>).)*?spring-boot-maven-plugin(?:(?!</plugin>).)*)</plugin>", pom, re.S
    )
    if not declared:
        return False
    # The plugin's own coordinates are the first tags of its block: a <version> after the
    # artifactId and before <configuration>/<executions> is the plugin's.
    heads = [re.split(r"<(?:configuration|executions|dependencies)>", block, maxsplit=1)[0] for block in declared]
    return not any("<version>" in head for head in heads)


def _gradle_version(text: str) -> tuple[str | None, str | None]:
    toolchain = re.search(r"languageVersion\s*(?:=|\.set\()\s*JavaLanguageVersion\.of\(\s*['\"]?(\d+)", text)
    if toolchain:
        return toolchain.group(1), "gradle java toolchain"
    compat = re.search(r"sourceCompatibility\s*=\s*(?:JavaVersion\.VERSION_)?['\"]?(\d+(?:[._]\d+)?)", text)
    if compat:
        return _normalize(compat.group(1).replace("_", ".")), "gradle sourceCompatibility"
    return None, None


def _pom_dependencies(pom: str) -> list[tuple[str, str, str]]:
    """(groupId, artifactId, version) of the pom's declared dependencies with a version the
    pom's own properties resolve; system-scoped ones (their jar is named by path) are left out."""
    try:
        tree = ET.fromstring(re.sub(r"\sxmlns(:\w+)?=\"[^\"]+\"", "", pom, count=1))
    except ET.ParseError:
        return []
    properties = {child.tag: (child.text or "").strip() for child in tree.findall("./properties/*")}
    properties["project.version"] = (tree.findtext("./version") or "").strip()
    out = []
    for dep in tree.findall("./dependencies/dependency"):
        group, artifact, version = (dep.findtext(tag, "").strip() for tag in ("groupId", "artifactId", "version"))
        version = re.sub(r"\$\{([\w.\-]+)\}", lambda m: properties.get(m.group(1), m.group(0)), version)
        if group and artifact and version and "${" not in version and dep.findtext("scope", "").strip() != "system":
            out.append((group, artifact, version))
    return out


def _shipped_jars(root: Path, poms: list[str]) -> list[tuple[str, str, str, str]]:
    """(jar path, groupId, artifactId, version) for each dependency whose jar the repository
    ships (`<artifactId>-<version>.jar`, e.g. under lib/): no remote repository has it, so
    its README tells to `mvn install:install-file` it first; the build does the same."""
    wanted = {f"{a}-{v}.jar": (g, a, v) for pom in poms for g, a, v in _pom_dependencies(pom)}
    if not wanted:
        return []
    found: dict[str, tuple[str, str, str, str]] = {}
    for path in sorted(root.rglob("*.jar")):
        rel = path.relative_to(root)
        if path.name in wanted and path.name not in found and not {"target", "build", ".git"} & set(rel.parts):
            found[path.name] = (rel.as_posix(), *wanted[path.name])
    return list(found.values())


def _reactor_poms(root: Path) -> list[str]:
    """Every pom of the reactor at `root` (its <modules>, transitively, profiles' too), relative
    to `root`: Maven reads each of them before it builds any module."""
    found: list[str] = []
    queue = [root / "pom.xml"]
    while queue:
        pom = queue.pop(0)
        if not pom.is_file() or not pom.resolve().is_relative_to(root.resolve()):
            continue
        rel = pom.relative_to(root).as_posix()
        if rel in found:
            continue
        found.append(rel)
        for name in re.findall(r"<module>\s*([^<]+?)\s*</module>", read_text(pom)):
            target = pom.parent / name
            queue.append(target if target.suffix == ".xml" else target / "pom.xml")
    return found


def _entry_module(root: Path, entrypoint: str | None, build_files: tuple[str, ...] = ("pom.xml",)) -> str | None:
    """The folder, below `root`, of the module (Maven) or project (Gradle) that holds the
    entrypoint (None when it is `root` itself): Spring's service root is the aggregator, or
    the settings folder, when the module needs it."""
    if not entrypoint:
        return None
    for folder in (root / entrypoint).parents:
        if folder == root or not folder.is_relative_to(root):
            return None
        if any((folder / name).is_file() for name in build_files):
            return folder.relative_to(root).as_posix()
    return None


def _translated_poms(root: Path, gradle_files: list[str], module: str | None, notes: list[str]) -> dict[str, str]:
    """The Gradle build said as poms (path -> text), where Gradle itself cannot be fetched
    (a note says what was done, or why the build stays Gradle's and will fail)."""
    files, said = gradle_to_maven.translate_files(root, module)
    if files is None:
        notes.append(f"Gradle's distributions are out of reach and {gradle_files[0]} cannot become a pom: {said}")
        return {}
    notes.append(f"Gradle's distributions are out of reach: {said}")
    return files


def detect(root: Path, *, offline: bool, entrypoint: str | None = None, gradle_reachable: bool = True) -> Toolchain:
    notes: list[str] = []
    gradle_files = existing(root, ["build.gradle", "build.gradle.kts"])
    maven = (root / "pom.xml").is_file()
    translating = not maven and bool(gradle_files) and not gradle_reachable
    gradle = not maven and bool(gradle_files)
    module = _entry_module(root, entrypoint, ("build.gradle", "build.gradle.kts") if gradle else ("pom.xml",))
    translations = _translated_poms(root, gradle_files, module, notes) if translating else {}
    translated = translations.get(gradle_to_maven.POM_NAME)
    if maven or translated:
        pom = translated or read_text(root / "pom.xml")
        version, source = _pom_version(pom)
        module_pom = read_text(root / module / "pom.xml") if module else ""
        if module and translated:
            module_pom = translations.get(f"{module}/{gradle_to_maven.POM_NAME}", "")
        if module:
            # The app module's own release first: it is what runs.
            own, own_source = _pom_version(module_pom)
            if own:
                version, source = own, f"{module}/{own_source}"
        if version is None:
            version, source = _boot_parent_release(module_pom) if module else (None, None)
            if version is None:
                version, source = _boot_parent_release(pom)
        if translated and source:
            source = f"{gradle_files[0]}, as {gradle_to_maven.POM_NAME}'s {source.removeprefix('pom.xml ')}"
        # A multi-module build needs every module's pom before it resolves: copy the source.
        multi_module = "<modules>" in pom
    else:
        text = "\n".join(read_text(root / name) for name in gradle_files)
        # `JavaLanguageVersion.of(libs.versions.java.get())` names the catalog's version.
        with contextlib.suppress(gradle_to_maven.NotTranslatable):
            text = gradle_to_maven.resolve_catalog(text, gradle_to_maven.read_catalog(root))
        version, source = _gradle_version(text)
        multi_module = bool(re.search(r"^\s*include\b", read_text(root / "settings.gradle"), re.MULTILINE)) or bool(
            re.search(r"^\s*include\b", read_text(root / "settings.gradle.kts"), re.MULTILINE)
        )
    wanted = version
    if version is None:
        version = STAND_IN
    elif version not in OFFICIAL:
        # An odd release (9, 15): the next LTS JDK compiles it with --release.
        version = next((v for v in OFFICIAL if int(v) >= int(version)), OFFICIAL[-1])
    if offline and version != STAND_IN:
        # Only the stand-ins exist: the oldest JDK that compiles the release (javac's
        # --release reaches back), else the newest, with a note.
        version, satisfied = local_stand_in(version, STAND_INS)
        if not satisfied or version != wanted:
            notes.append(f"{source} targets Java {wanted}; offline, the stand-in JDK {version} is used")

    base_image = image(version)
    system_packages: list[str] = []
    generated: dict[str, str] = {}
    if maven or translated:
        wrapper = maven and (root / "mvnw").is_file() and (root / ".mvn").is_dir()
        tool = "./mvnw" if wrapper else "mvn"
        if not wrapper:
            # The temurin image has no Maven; Debian and Ubuntu package one.
            system_packages.append("maven")
        manifests = [] if multi_module else existing(root, ["pom.xml", "mvnw", ".mvn/"])
        skip_tests = "-DskipTests"
        if translated:
            generated = translations
            tool = f"mvn -f {gradle_to_maven.POM_NAME}"
            manifests = [] if multi_module else [gradle_to_maven.POM_NAME]
            # The test configurations were left out: the tests are not even compiled.
            skip_tests = "-Dmaven.test.skip=true"
        install = None if multi_module else f"{tool} -B -q dependency:go-offline"
        build = f"{tool} -B {skip_tests} package"
        boot = _boot_version(pom)
        if not multi_module and boot and _unpinned_boot_plugin(pom):
            # The lifecycle up to the jar, then the repackage goal at the Boot version the
            # app's own dependencies name: the pom's unversioned plugin never runs.
            build = (
                f"{tool} -B -DskipTests compile jar:jar "
                f"org.springframework.boot:spring-boot-maven-plugin:{boot}:repackage"
            )
        elif not multi_module and _needs_repackage(pom):
            # A Boot app whose pom does not declare spring-boot-maven-plugin packages a plain
            # jar ("no main manifest attribute"): its repackage goal makes it executable.
            goal = f"org.springframework.boot:spring-boot-maven-plugin:{boot + ':' if boot else ''}repackage"
            build = f"{build} {goal}"
        artifact = "target/*.jar"
        selection = ""
        if multi_module and module:
            # Only the app module and the modules it needs (-am), not every module of the
            # aggregator (examples, tools, other apps that may not build here).
            selection = f"-pl {module} -am "
            build = f"{tool} -B {skip_tests} {selection}package"
            artifact = f"{module}/target/*.jar"
        if multi_module and not translated:
            # dependency:go-offline cannot resolve a module's sibling modules before they are
            # built: the reactor's own package phase over its poms alone (Maven reads every
            # module's pom, even with -pl) downloads what the build needs into a layer that
            # outlives source edits. A module that cannot package without sources (a war
            # without web.xml) fails there: the real build after the source copy decides.
            manifests = [*_reactor_poms(root), *existing(root, ["mvnw", ".mvn/"])]
            warm = f"{tool} -B -q {skip_tests} -Dspring-boot.repackage.skip=true {selection}package"
            install = f"({warm} > /dev/null 2>&1 || true) && find . -name target -type d -prune -exec rm -rf {{}} +"
        poms = [pom, module_pom] if module else [pom]
        jars = _shipped_jars(root, poms)
        if jars:
            installs = " && ".join(
                f"{tool} -B -q install:install-file -Dfile={path} -DgroupId={group} -DartifactId={artifact} "
                f"-Dversion={version} -Dpackaging=jar"
                for path, group, artifact, version in jars
            )
            notes.append(
                "dependencies the repository ships as jars are installed first: " + ", ".join(j[0] for j in jars)
            )
            if install:
                manifests += [path for path, *_ in jars]
                install = f"{installs} && {install}"
            else:
                build = f"{installs} && {build}"
        manager = "maven"
    else:  # Gradle's own build
        wrapper = (root / "gradlew").is_file() and (root / "gradle" / "wrapper").is_dir()
        tool = "./gradlew --no-daemon" if wrapper else "gradle --no-daemon"
        if not wrapper:
            base_image = GRADLE_IMAGE.format(version=version)
            if offline:
                notes.append(
                    "Gradle without a wrapper needs the official gradle image; offline, none exists "
                    f"(Debian's gradle 4.4 is too old): {base_image} is named anyway"
                )
        manifests = (
            []
            if multi_module
            else existing(
                root,
                [*gradle_files, "settings.gradle", "settings.gradle.kts", "gradle.properties", "gradlew", "gradle/"],
            )
        )
        install = None if multi_module else f"{tool} dependencies > /dev/null"
        boot = "org.springframework.boot" in "\n".join(read_text(root / name) for name in gradle_files)
        build = f"{tool} {'bootJar' if boot else 'build'} -x test"
        artifact = "build/libs/*.jar"
        project = next(
            (p for p, d in gradle_to_maven.project_dirs(gradle_to_maven.read_settings(root)).items() if d == module),
            None,
        )
        if multi_module and module and project:
            # Only the app's project (and what it depends on), from the settings folder.
            build = f"{tool} {project}:bootJar -x test"
            artifact = f"{module}/build/libs/*.jar"
        manager = "gradle"
    if multi_module and not install:
        notes.append("a multi-module build: dependencies resolve with the source (no layer cache)")
    return Toolchain(
        language="java",
        language_version=version,
        version_source=source,
        package_manager=manager,
        manifests=manifests,
        install_command=install,
        build_command=build,
        artifact=artifact,
        start_command=["sh", "-c", f'exec java -jar "$(ls {artifact} | {NOT_THE_APP_JAR} | head -n 1)"'],
        default_port=8080,
        system_packages=system_packages,
        base_image=base_image,
        facts={"wrapper": "yes" if wrapper else "no"},
        notes=notes,
        generated_files=generated,
    )


def widen(
    root: Path, context: Path, *, offline: bool, entrypoint: str | None = None, gradle_reachable: bool = True
) -> Toolchain:
    """The toolchain of a Maven module served from its own folder (`root`) and built from its
    aggregator's (`context`, stages/build_context.py): the reactor build of that module and
    what it needs (`-pl <module> -am`), run from the aggregator's folder; the jar is then in
    the module's own target/, where the service works."""
    module = root.resolve().relative_to(context.resolve()).as_posix()
    entry = f"{module}/{entrypoint}" if entrypoint else f"{module}/pom.xml"
    tc = detect(context, offline=offline, entrypoint=entry, gradle_reachable=gradle_reachable)
    up = os.path.relpath(context.resolve(), root.resolve())
    artifact = tc.artifact.removeprefix(f"{module}/") if tc.artifact else tc.artifact
    # The template names manifests from the service root: those of the context are above it.
    manifests = [os.path.relpath(context / m, root) + ("/" if m.endswith("/") else "") for m in tc.manifests]
    # The template makes a wrapper executable where the service works; it is up there.
    there = f"cd {up} && chmod +x mvnw &&" if tc.facts.get("wrapper") == "yes" else f"cd {up} &&"
    return tc.model_copy(
        update={
            "build_command": f"{there} {tc.build_command}",
            "install_command": f"{there} {tc.install_command}" if tc.install_command else None,
            "facts": {**tc.facts, "wrapper": "no"},
            "manifests": manifests,
            "artifact": artifact,
            "start_command": ["sh", "-c", f'exec java -jar "$(ls {artifact} | {NOT_THE_APP_JAR} | head -n 1)"'],
        }
    )
