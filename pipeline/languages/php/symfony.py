"""Symfony: routes from config/routes*.yaml and #[Route] attributes (or @Route annotations).

Only controllers under a directory that the routing configuration imports are served;
a controller class elsewhere is never routed, whatever its attributes say.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import tree_sitter
import yaml

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.php import discovery as php
from pipeline.languages.php.request_body import WITH_BODY
from pipeline.languages.php.request_body import json_body_fields as body_fields
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

DEFAULT_PORT = 8000
_ROUTE_CLASSES = {"Symfony\\Component\\Routing\\Annotation\\Route", "Symfony\\Component\\Routing\\Attribute\\Route"}
_ENV_REF = re.compile(r"%env\(([^)%]+)\)%")


@dataclass(frozen=True)
class _RouteSpec:
    """One #[Route] / @Route: the path (None when not a plain string) and its methods."""

    path: str | None
    methods: tuple[str, ...]


@dataclass
class _Route:
    methods: tuple[str, ...]
    path: str
    file: php.PhpFile
    fn: Node


def symfony_path(path: str) -> str:
    """Route::setPath: a leading '/' and nothing else changed."""
    return "/" + path.strip().lstrip("/")


def add_prefix(prefix: str, path: str, trailing_slash_on_root: bool = True) -> str:
    """RouteCollection::addPrefix, with the import option `trailing_slash_on_root`."""
    prefix = prefix.strip().strip("/")
    if not prefix:
        return path
    if path == "/" and not trailing_slash_on_root:
        return "/" + prefix
    return "/" + prefix + path


def _methods(values: list[str]) -> tuple[str, ...]:
    out = []
    for value in values:
        out.extend(m.strip().upper() for m in value.split("|") if m.strip())
    return tuple(dict.fromkeys(out))


def _is_route_attribute(file: php.PhpFile, attribute: Node) -> bool:
    name_node = next((c for c in attribute.named_children if c.type in ("name", "qualified_name")), None)
    if name_node is None:
        return False
    written = ts.text(name_node)
    # An unimported `Route` is still taken: the file may rely on an alias we cannot see.
    return file.resolve_class(written) in _ROUTE_CLASSES or (written == "Route" and "Route" not in file.uses)


def _attribute_specs(file: php.PhpFile, decl: Node) -> list[_RouteSpec]:
    out = []
    attributes = decl.child_by_field_name("attributes")
    for attribute in ts.find_all(attributes, "attribute") if attributes is not None else []:
        if not _is_route_attribute(file, attribute):
            continue
        path_node = php.arg(attribute, 0, "path")
        methods = php.string_list(php.arg(attribute, 99, "methods"))
        out.append(_RouteSpec(php.string_value(path_node) if path_node is not None else "", _methods(methods)))
    for block in _annotations(php.docblock(decl), "Route"):
        path = re.match(r'\s*"([^"]*)"', block) or re.search(r'\bpath\s*=\s*"([^"]*)"', block)
        methods = re.search(r"\bmethods\s*=\s*(\{[^}]*\}|\"[^\"]*\")", block)
        method_values = re.findall(r'"([^"]*)"', methods.group(1)) if methods else []
        out.append(_RouteSpec(path.group(1) if path else "", _methods(method_values)))
    if out and not any(spec.methods for spec in out):
        # SensioFrameworkExtraBundle's @Method("GET") beside an @Route without methods.
        for block in _annotations(php.docblock(decl), "Method"):
            values = _methods(re.findall(r'"([^"]*)"', block))
            out = [_RouteSpec(spec.path, values) for spec in out]
    return out


def _annotations(comment: str, name: str) -> list[str]:
    """The argument text of every `@Name(...)` in a docblock, parentheses balanced."""
    out = []
    for match in re.finditer(rf"@{name}\s*\(", comment):
        depth, start = 1, match.end()
        index = start
        while index < len(comment) and depth:
            depth += {"(": 1, ")": -1}.get(comment[index], 0)
            index += 1
        if depth == 0:
            out.append(comment[start : index - 1])
    return out


def _is_public(method: Node) -> bool:
    visibility = next((c for c in method.named_children if c.type == "visibility_modifier"), None)
    return visibility is None or ts.text(visibility) == "public"


class _Loader:
    def __init__(self, project: php.PhpProject) -> None:
        self.project = project
        self.routes: list[_Route] = []

    def run(self) -> None:
        config = self.project.root / "config"
        routes_dir = config / "routes"
        if routes_dir.is_dir():
            for path in sorted(routes_dir.iterdir()):
                if path.suffix in (".yaml", ".yml") and path.is_file():
                    self.load_yaml(path, "", True, ())
        for name in ("routes.yaml", "routes.yml"):
            if (config / name).is_file():
                self.load_yaml(config / name, "", True, ())
                break

    # ------------------------------------------------------------ YAML

    def load_yaml(self, path: Path, prefix: str, slash_on_root: bool, trail: tuple[Path, ...]) -> None:
        if path in trail:
            return
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, yaml.YAMLError) as exc:
            log.warning("skipped %s: not readable YAML (%s)", path, exc)
            return
        if not isinstance(data, dict):
            return
        for name, spec in data.items():
            # `when@dev:` blocks only exist in that environment.
            if not isinstance(spec, dict) or str(name).startswith("when@"):
                continue
            if "resource" in spec:
                self._import(path, spec, prefix, slash_on_root, (*trail, path))
            elif isinstance(spec.get("path"), str):
                self._explicit(spec, prefix, slash_on_root)

    def _import(self, yaml_path: Path, spec: dict, prefix: str, slash_on_root: bool, trail: tuple[Path, ...]) -> None:
        resource = spec["resource"]
        if isinstance(resource, dict):
            resource = resource.get("path")
        if not isinstance(resource, str) or resource.startswith("@") or "*" in resource:
            return  # bundle resources and globs are not the service's own controllers
        own_prefix = spec.get("prefix", "")
        if not isinstance(own_prefix, str):
            own_prefix = ""  # localized prefixes are not supported
        new_prefix = add_prefix(prefix, symfony_path(own_prefix)) if own_prefix else prefix
        slash = spec.get("trailing_slash_on_root", slash_on_root) is not False
        kind = str(spec.get("type", ""))
        if resource == "routing.controllers":
            # Symfony 7.1+: the attribute routes of every controller service, i.e. of the
            # application's autoloaded source folders (App\ -> src/).
            for _prefix, dirs in self.project.psr4:
                for folder in dirs:
                    if folder.resolve().is_relative_to(self.project.root) and folder.resolve() != self.project.root:
                        for file in self.project.files_under(folder):
                            self._file_routes(file, new_prefix, slash)
            return
        target = (yaml_path.parent / resource).resolve()
        if target.suffix in (".yaml", ".yml"):
            self.load_yaml(target, new_prefix, slash, trail)
        elif kind in ("attribute", "annotation") and target.is_dir():
            for file in self.project.files_under(target):
                self._file_routes(file, new_prefix, slash)
        elif kind in ("attribute", "annotation") and target.suffix == ".php":
            file = self.project.load(target)
            if file is not None:
                self._file_routes(file, new_prefix, slash)

    def _explicit(self, spec: dict, prefix: str, slash_on_root: bool) -> None:
        controller = spec.get("controller")
        if controller is None and isinstance(spec.get("defaults"), dict):
            controller = spec["defaults"].get("_controller")
        if not isinstance(controller, str):
            return
        cls, sep, method = controller.partition("::")
        if not sep:
            cls, sep, method = controller.partition(":")
        found = self.project.find_method(cls.strip("\\"), method if sep else "__invoke")
        if found is None:
            log.info("controller %s of route %s is not in this service", controller, spec.get("path"))
            return
        methods = spec.get("methods", [])
        values = [methods] if isinstance(methods, str) else [str(m) for m in methods or []]
        path = add_prefix(prefix, symfony_path(spec["path"]), slash_on_root)
        self.routes.append(_Route(_methods(values), path, *found))

    # ------------------------------------------------------------ attributes

    def _file_routes(self, file: php.PhpFile, prefix: str, slash_on_root: bool) -> None:
        for cls in ts.find_all(file.root, "class_declaration"):
            if any(c.type == "abstract_modifier" for c in cls.children):
                continue
            globals_ = _attribute_specs(file, cls)
            base = globals_[0] if globals_ else _RouteSpec("", ())
            body = cls.child_by_field_name("body")
            methods = [m for m in (body.named_children if body is not None else []) if m.type == "method_declaration"]
            found_any = False
            for method in methods:
                specs = _attribute_specs(file, method) if _is_public(method) else []
                for spec in specs:
                    found_any = True
                    self._add(file, method, base, spec, prefix, slash_on_root)
            invoke = next((m for m in methods if ts.text(m.child_by_field_name("name")) == "__invoke"), None)
            if not found_any and globals_ and invoke is not None:
                # A class-level route on an invokable controller routes to __invoke.
                for spec in globals_:
                    self._add(file, invoke, _RouteSpec("", ()), spec, prefix, slash_on_root)

    def _add(
        self, file: php.PhpFile, method: Node, base: _RouteSpec, spec: _RouteSpec, prefix: str, slash: bool
    ) -> None:
        if spec.path is None or base.path is None:
            return
        path = add_prefix(prefix, symfony_path(base.path + spec.path), slash)
        self.routes.append(_Route(spec.methods or base.methods, path, file, method))


class SymfonyFramework(Framework):
    name = "symfony"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("symfony/framework-bundle",)
    language = "php"
    echoes = True

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return php.detect_services(
            repo_root,
            "symfony/framework-bundle",
            lambda _repo, root: "public/index.php" if (root / "public" / "index.php").is_file() else None,
        )

    # ------------------------------------------------------------------ discover

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        project = php.PhpProject(repo_root, service.root)
        loader = _Loader(project)
        loader.run()
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in loader.routes:
            handler = php.handler_for(route.fn, route.file.rel)
            if handler is None:
                continue
            for method in route.methods or ("ANY",):
                # The router answers with the first route that matches.
                fields = body_fields(ts.text(route.fn)) if method in WITH_BODY else []
                endpoint = Endpoint(method=method, path=route.path, handler=handler, body_fields=fields)
                endpoints.setdefault((route.path, method), endpoint)
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        root = service.root.resolve()
        project = php.PhpProject(repo_root, root)
        defined = {**php.dotenv_keys(root / ".env"), **php.dotenv_keys(root / ".env.local")}
        needed = {
            name for name, has_default in php.env_reads(project.files_under(root / "src")).items() if not has_default
        }
        config = root / "config"
        if config.is_dir():
            for _path, _rel, content in ts.iter_files(config, repo_root, lambda n: n.endswith((".yaml", ".yml"))):
                for line in content.decode("utf-8", errors="replace").splitlines():
                    if line.lstrip().startswith("#"):
                        continue
                    for ref in _ENV_REF.findall(line):
                        # `default:fallback:NAME` has its own fallback; other processors do not.
                        if not ref.startswith("default:"):
                            needed.add(ref.rsplit(":", 1)[-1])
        env = php.dummy_env(n for n in needed if n not in defined and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n))
        # The image installs with `composer install --no-dev`: the dev environment's bundles
        # (debug, web profiler) are missing, so the app must run in prod.
        env.update({"APP_ENV": "prod", "APP_DEBUG": "0"})
        if not defined.get("APP_SECRET"):
            env["APP_SECRET"] = "dummy-APP_SECRET"
        command = php.builtin_server_command(root, service.entrypoint, DEFAULT_PORT)
        return RuntimeHints(start_command=command, port=DEFAULT_PORT, env=dict(sorted(env.items())))

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        exception = "new \\Symfony\\Component\\HttpKernel\\Exception\\HttpException(501, 'Not Implemented')"
        return php.mask_handler(source, handler, f"throw {exception};", f"throw {exception}")

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        text = canned_json(answer)
        response = "\\Symfony\\Component\\HttpFoundation\\Response"
        if answer.echo or text is not None:
            body = php.RAW_BODY if answer.echo else php.php_string(text or "")
            value = f"new {response}({body}, {answer.status}, ['Content-Type' => 'application/json'])"
        else:
            value = f"new {response}('', {answer.status})"
        return php.mask_handler(source, handler, f"return {value};", value)
