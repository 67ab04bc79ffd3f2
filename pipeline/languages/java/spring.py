"""Spring Boot / Spring MVC: annotated controllers across modules, context paths, and masking.

A service is a Maven/Gradle module that depends on a Spring web starter (itself, through a
parent build or through a sibling module it depends on) and holds the
`@SpringBootApplication` class. Its endpoints are the mapping annotations of the
`@Controller` / `@RestController` classes compiled into it, including mappings inherited
from interfaces and base classes, as Spring's handler mapping finds them.

Build assumed for runtime hints: Maven `mvn -q package -DskipTests` (jar in target/) or
Gradle `gradle bootJar` (jar in build/libs/), then `java -jar`.
"""

from __future__ import annotations

import logging
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate
from pipeline.languages.java import discovery as jl
from pipeline.languages.java.request_body import json_body_fields, query_fields
from pipeline.languages.java.spring_stand_in import canned_statement
from pipeline.languages.java.toolchain import NOT_THE_APP_JAR
from pipeline.models import BodyField, CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

#: Dependencies that put Spring MVC (or WebFlux, which reads the same annotations) on the classpath.
WEB_ARTIFACTS = frozenset(
    {
        "spring-boot-starter-web",
        "spring-boot-starter-webflux",
        "spring-boot-starter-data-rest",
        "spring-webmvc",
        "spring-webflux",
    }
)
_APP_ANNOTATION = re.compile(rb"^\s*@(?:[\w.]*\.)?(SpringBootApplication|SpringBootConfiguration)\b", re.M)
_CONTROLLERS = {"Controller", "RestController"}
_SHORTCUTS = {
    "GetMapping": "GET",
    "PostMapping": "POST",
    "PutMapping": "PUT",
    "PatchMapping": "PATCH",
    "DeleteMapping": "DELETE",
}
_VERBS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"}
#: Properties the start command sets itself, so placeholders in them need no env var.
_COMMAND_LINE_KEYS = ("server.port", "server.address")
DEFAULT_PORT = 8080
# 501 through a local exception class annotated @ResponseStatus (Spring 3+, MVC and WebFlux):
# ResponseStatusException would say it in one statement, but it is Spring 5's, and a
# Spring Boot 1.x tree masked with it no longer compiles.
MASK_STATEMENT = (
    "@org.springframework.web.bind.annotation.ResponseStatus(org.springframework.http.HttpStatus.NOT_IMPLEMENTED) "
    "class NotImplemented extends RuntimeException {} "
    "throw new NotImplemented();"
)


def spring_join(*parts: str) -> str:
    """Context path, servlet path, type-level and method-level patterns, as Spring combines them."""
    out = ""
    for part in parts:
        if not part:
            continue
        if not part.startswith("/"):
            part = "/" + part
        out = out.rstrip("/") + part if part != "/" else (out or "/")
    return out or "/"


def _resolve_placeholders(path: str, config: dict[str, str]) -> str:
    """Spring resolves `${key:default}` in mapping paths (generated OpenAPI controllers use it)."""

    def value(match: re.Match[str]) -> str:
        key, default = match.group(1).strip(), match.group(2)
        if key in config:
            return jl.placeholder_default(config[key]) or ""
        return default[1:] if default else match.group(0)

    return re.sub(r"\$\{([^}:]+)(:[^}]*)?\}", value, path)


@dataclass
class _Mapping:
    paths: list[str]
    methods: list[str]


def _module_of(path: Path, modules: set[Path]) -> Path | None:
    for parent in path.parents:
        if parent in modules:
            return parent
    return None


#: The leaf keys a data source's JDBC URL goes by (Spring, Hikari, Druid, dynamic-datasource).
_JDBC_URL_KEYS = ("url", "jdbc-url", "jdbcUrl", "jdbc_url")
#: The variables a relational sidecar sets (stages/sidecars.py) for Spring's own data source.
_SIDECAR_VARIABLES = {
    "url": "SPRING_DATASOURCE_URL",
    "username": "SPRING_DATASOURCE_USERNAME",
    "user": "SPRING_DATASOURCE_USERNAME",
    "password": "SPRING_DATASOURCE_PASSWORD",
}


def datasource_overrides(config: dict[str, str]) -> list[str]:
    """Command-line properties that point every other data source the configuration names
    (`spring.datasource.druid.*`, `spring.datasource.dynamic.datasource.master.*`, ...) at
    the database sidecar's data source, when there is one.

    A sidecar sets SPRING_DATASOURCE_URL/USERNAME/PASSWORD, which only Spring's own
    `spring.datasource.*` reads; a pool configured under its own keys kept the repository's
    host and password ("Access denied"). `${SPRING_DATASOURCE_URL:<the configured value>}`
    keeps the configured value where no sidecar sets the variable.
    """
    out: list[str] = []
    for key, value in sorted(config.items()):
        prefix, _, leaf = key.rpartition(".")
        if not prefix or prefix == "spring.datasource" or leaf not in _JDBC_URL_KEYS:
            continue
        if not value.strip().startswith("jdbc:"):
            continue
        out.append(f"--{key}=${{{_SIDECAR_VARIABLES['url']}:{value}}}")
        for sibling in ("username", "user", "password"):
            if f"{prefix}.{sibling}" in config:
                original = config[f"{prefix}.{sibling}"]
                out.append(f"--{prefix}.{sibling}=${{{_SIDECAR_VARIABLES[sibling]}:{original}}}")
    return out


class _Modules:
    """The repository's build modules and which of them put Spring web on the classpath."""

    def __init__(self, repo_root: Path) -> None:
        self.builds = jl.find_builds(repo_root)
        self.dirs = set(self.builds)
        self.by_name: dict[str, Path] = {}
        for folder in sorted(self.builds):
            self.by_name.setdefault(self.builds[folder].name, folder)
            self.by_name.setdefault(folder.name, folder)

    def dependencies(self, module: Path) -> list[Path]:
        """The module and every repository module it depends on, transitively."""
        out = [module]
        index = 0
        while index < len(out):
            info = self.builds.get(out[index])
            index += 1
            for name in sorted(info.module_dependencies if info else ()):
                dep = self.by_name.get(name)
                if dep is not None and dep not in out:
                    out.append(dep)
        return out

    def is_web(self, module: Path) -> bool:
        for dep in self.dependencies(module):
            # A parent build's dependencies are inherited by the modules below it.
            chain = [dep, *(p for p in dep.parents if p in self.dirs)]
            if any(self.builds[d].dependencies & WEB_ARTIFACTS for d in chain if d in self.builds):
                return True
        return False

    def nested(self, module: Path) -> list[Path]:
        return [d for d in self.dirs if d != module and d.is_relative_to(module)]


def _mapping_of(project: jl.JavaProject, annotation: Node, scope: jl.JavaType) -> _Mapping | None:
    name = jl.annotation_name(annotation)
    if name not in _SHORTCUTS and name != "RequestMapping":
        return None
    args = jl.annotation_args(annotation)
    path_nodes = jl.element_values(args.get("path") or args.get("value"))
    paths: list[str] = []
    for node in path_nodes:
        value = project.string_value(node, scope)
        if value is None:
            log.warning("%s: cannot read the mapping path %s statically", scope.sf.rel, ts.text(node))
            continue
        paths.append(value)
    if path_nodes and not paths:
        return None
    if name in _SHORTCUTS:
        methods = [_SHORTCUTS[name]]
    else:
        methods = []
        for node in jl.element_values(args.get("method")):
            verb = ts.text(node).rsplit(".", 1)[-1].upper()
            if verb in _VERBS and verb not in methods:
                methods.append(verb)
    return _Mapping(paths or [""], methods)


def _first_mapping(project: jl.JavaProject, decl: Node, scope: jl.JavaType) -> _Mapping | None:
    for annotation in jl.annotations(decl):
        mapping = _mapping_of(project, annotation, scope)
        if mapping is not None:
            return mapping
    return None


def _is_controller(jt: jl.JavaType) -> bool:
    if jt.kind != "class_declaration" or jl.has_modifier(jt.node, "abstract"):
        return False
    return any(jl.annotation_name(a) in _CONTROLLERS for a in jl.annotations(jt.node))


def _signature(method: Node) -> tuple[str, int]:
    params = method.child_by_field_name("parameters")
    count = len([p for p in params.named_children if p.type != "comment"]) if params is not None else 0
    return ts.text(method.child_by_field_name("name")), count


def _controller_files(module: Path, modules: _Modules) -> int:
    """How many main source files of `module` (not of the modules nested in it) declare a controller."""
    skip = modules.nested(module)
    return sum(
        1
        for path, _rel, content in ts.iter_files(module, module, lambda n: n.endswith(jl.SUFFIXES))
        if not any(path.is_relative_to(s) for s in skip)
        and jl.is_main_source(path.relative_to(module))
        and re.search(rb"@(?:Rest)?Controller\b", content)
    )


class SpringFramework(Framework):
    name = "spring"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = (
        "org.springframework.boot",
        "spring-boot-starter-web",
    )
    language = "java"
    echoes = True

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        modules = _Modules(repo_root)
        if not modules.dirs:
            return []
        apps: dict[Path, list[str]] = {}
        for path, _rel, content in ts.iter_files(repo_root, repo_root, lambda n: n.endswith(jl.SUFFIXES)):
            if b"@" not in content or not _APP_ANNOTATION.search(content):
                continue
            module = _module_of(path, modules.dirs)
            if module is None or not jl.is_main_source(path.relative_to(module)):
                continue
            apps.setdefault(module, []).append(path.relative_to(module).as_posix())
        # A module that builds only with its aggregator is served from the aggregator's folder
        # (the Docker build context must hold the parent poms and sibling modules); the
        # entrypoint then names the module. When an aggregator holds several web apps, each
        # with controllers is a service; else the one with the most controllers is.
        by_root: dict[Path, list[tuple[Path, str]]] = {}
        for module in sorted(apps):
            if modules.is_web(module):
                entry = min(apps[module], key=lambda p: (p.count("/"), p))
                by_root.setdefault(jl.reactor_root(module, modules.builds), []).append((module, entry))
        out = []
        for root, found in sorted(by_root.items()):
            served = [(module, entry) for module, entry in found if _controller_files(module, modules)]
            if len(served) > 1 and all(modules.builds[module].tool == "maven" for module, _ in served):
                # Several apps with controllers in one aggregator (a login server beside a game
                # server): each is a service of its own, rooted at its module, and still built
                # from the aggregator's folder (JavaLanguage.outside_paths widens the context).
                out.extend(ServiceCandidate(root=module, entrypoint=entry) for module, entry in served)
                continue
            module, entry = max(found, key=lambda f: (_controller_files(f[0], modules), -found.index(f)))
            out.append(ServiceCandidate(root=root, entrypoint=(module / entry).relative_to(root).as_posix()))
        return out

    # ------------------------------------------------------------------ discover

    def _sources(self, repo_root: Path, root: Path, modules: _Modules) -> jl.LazySources:
        """The Java sources compiled into the service: its module and the modules it depends on."""
        if root not in modules.dirs:
            return jl.LazySources(jl.read_java_sources(root, repo_root))
        entries: list[tuple[Path, str, bytes]] = []
        for module in modules.dependencies(root):
            entries.extend(jl.read_java_sources(module, repo_root, skip=modules.nested(module)))
        return jl.LazySources(entries)

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        modules = _Modules(repo_root)
        root = jl.module_of_entrypoint(service.root.resolve(), service.entrypoint, modules.builds)
        # Controllers and mapped base types spell one of these; other files load on demand.
        project = jl.JavaProject(
            self._sources(repo_root, root, modules), eager=lambda b: b"Controller" in b or b"Mapping" in b
        )
        config = jl.read_spring_config(root)
        context = jl.placeholder_default(
            config.get("server.servlet.context-path", config.get("server.context-path", ""))
        )
        servlet = jl.placeholder_default(config.get("spring.mvc.servlet.path", ""))
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for jt in project.all_types():
            if not _is_controller(jt):
                continue
            for method, path, handler, fields, query in self._routes(project, jt, config):
                full = spring_join(context or "", servlet or "", path)
                endpoints.setdefault(
                    (full, method),
                    Endpoint(method=method, path=full, handler=handler, body_fields=fields, query_fields=query),
                )
        return [endpoints[k] for k in sorted(endpoints)]

    def _routes(
        self, project: jl.JavaProject, controller: jl.JavaType, config: dict[str, str]
    ) -> list[tuple[str, str, Handler, list[BodyField], list[BodyField]]]:
        ancestry = project.ancestry(controller)
        type_mapping = next(
            (m for t in ancestry if (m := _first_mapping(project, t.node, t)) is not None), _Mapping([""], [])
        )
        # Per signature: the most derived mapping annotation routes, the most derived body answers.
        mappings: dict[tuple[str, int], _Mapping] = {}
        for t in ancestry:
            for method in t.members("method_declaration"):
                if not jl.annotations(method) or jl.has_modifier(method, "static"):
                    continue
                mapping = _first_mapping(project, method, t)
                if mapping is not None:
                    mappings.setdefault(_signature(method), mapping)
        if not mappings:
            return []
        names = {name for name, _ in mappings}
        handlers: dict[tuple[str, int], Handler] = {}
        bodies: dict[tuple[str, int], list[BodyField]] = {}
        queries: dict[tuple[str, int], list[BodyField]] = {}
        for t in ancestry:
            for method in t.members("method_declaration"):
                if ts.text(method.child_by_field_name("name")) not in names:
                    continue
                key = _signature(method)
                if key in mappings and key not in bodies and (fields := json_body_fields(project, method)):
                    bodies[key] = fields
                if key in mappings and key not in queries and (query := query_fields(method, project)):
                    queries[key] = query
                if key in mappings and key not in handlers and (handler := jl.handler_for(method, t.sf.rel)):
                    handlers[key] = handler
        order = list(mappings)
        out: list[tuple[str, str, Handler, list[BodyField], list[BodyField]]] = []
        for key in order:
            mapping = mappings.get(key)
            if mapping is None:
                continue
            handler = handlers.get(key)
            if handler is None:
                log.warning("%s: mapped method %s has no body", controller.sf.rel, key[0])
                continue
            methods = sorted(set(type_mapping.methods) | set(mapping.methods)) or ["ANY"]
            for type_path in type_mapping.paths:
                for path in mapping.paths:
                    for method in methods:
                        full = spring_join(
                            _resolve_placeholders(type_path, config), _resolve_placeholders(path, config)
                        )
                        out.append((method, full, handler, bodies.get(key, []), queries.get(key, [])))
        return out

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        modules = _Modules(repo_root)
        # The module with the app; the jar is under it, relative to the service root (the
        # aggregator's folder when the module builds only with it).
        root = jl.module_of_entrypoint(service.root.resolve(), service.entrypoint, modules.builds)
        prefix = root.relative_to(service.root.resolve()).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        config = jl.read_spring_config(root)
        port = DEFAULT_PORT
        configured = jl.placeholder_default(config.get("server.port", ""))
        if configured and configured.isdigit() and 0 < int(configured) < 65536:
            port = int(configured)
        flags = f"--server.address=0.0.0.0 --server.port={port}"
        info = modules.builds.get(root)
        # A parent pom of the repository may name the jar (<finalName> is inherited): the
        # name is then found at start.
        inherits = info is not None and not info.final_name and info.parent_name in modules.by_name
        jar = self._jar_name(info) if info is not None and not inherits else None
        overrides = datasource_overrides(jl.read_all_spring_config(root))
        if jar is not None:
            command = ["java", "-jar", f"{prefix}target/{jar}.jar", *flags.split(), *overrides]
        else:
            jars = f"{prefix}target/*.jar"
            if info is not None and info.tool == "gradle":
                # Gradle's jars, or target/ where the build was translated to a pom because
                # Gradle itself could not be fetched (java/gradle_to_maven.py).
                jars = f"{prefix}build/libs/*.jar {jars} 2>/dev/null"
            # Gradle also writes a *-plain.jar without dependencies, Maven plugins -sources,
            # -javadoc and -tests jars: the boot jar is the other one.
            pick = f'"$(ls {jars} | {NOT_THE_APP_JAR} | head -n 1)"'
            command = ["sh", "-c", " ".join([f"exec java -jar {pick} {flags}", *map(shlex.quote, overrides)])]
        # The command line sets these keys, so placeholders in their values are never resolved.
        # Keys the active profiles' files define are defined too (spring.profiles.active: dev).
        active = jl.read_active_spring_config(root)
        scanned = {k: ("" if k in _COMMAND_LINE_KEYS else v) for k, v in active.items()}
        sources = self._sources(repo_root, root, modules)
        env = jl.required_env(sources.matching(lambda b: b"getenv" in b or b"@Value" in b), scanned)
        return RuntimeHints(start_command=command, port=port, env=env)

    @staticmethod
    def _jar_name(info: jl.BuildInfo) -> str | None:
        """The jar `mvn package` writes, when the pom states it without unresolved properties."""
        if info.tool != "maven":
            return None
        name = info.final_name or f"{info.name}-{info.version or info.parent_version}"
        name = re.sub(r"\$\{([\w.\-]+)\}", lambda m: info.properties.get(m.group(1), m.group(0)), name)
        name = name.replace("${project.artifactId}", info.name)
        if info.version:
            name = name.replace("${project.version}", info.version)
        return None if "${" in name or name.endswith("-None") else name

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return jl.mask_method(source, handler, MASK_STATEMENT)

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        return jl.mask_method(source, handler, canned_statement(source, handler, answer))
