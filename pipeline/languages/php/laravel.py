"""Laravel: route files, groups and prefixes, resource routes, controllers via PSR-4, masking."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.php import discovery as php
from pipeline.languages.php.request_body import WITH_BODY
from pipeline.languages.php.request_body import json_body_fields as body_fields
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

DEFAULT_PORT = 8000
DEFAULT_NAMESPACE = "App\\Http\\Controllers"
#: A valid APP_KEY (base64 of 32 bytes) so encryption and sessions work; not a secret.
DUMMY_APP_KEY = "base64:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
_VERBS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE", "options": "OPTIONS"}
_ROUTE_FACADES = {"Illuminate\\Support\\Facades\\Route", "Route", "Illuminate\\Routing\\Router"}
_ROUTER_VARIABLES = {"$router", "$route"}
#: Resource actions in the order Laravel registers them: (action, methods, uri suffix, needs id).
_RESOURCE_ACTIONS = [
    ("index", ("GET",), "", False),
    ("create", ("GET",), "/create", False),
    ("store", ("POST",), "", False),
    ("show", ("GET",), "", True),
    ("edit", ("GET",), "/edit", True),
    ("update", ("PUT", "PATCH"), "", True),
    ("destroy", ("DELETE",), "", True),
]
_API_ACTIONS = {"index", "store", "show", "update", "destroy"}
_IRREGULAR = {
    "people": "person",
    "children": "child",
    "men": "man",
    "women": "woman",
    "mice": "mouse",
    "geese": "goose",
    "feet": "foot",
    "teeth": "tooth",
    "data": "datum",
    "criteria": "criterion",
}
_UNCOUNTABLE = {"news", "series", "species", "information", "equipment", "media", "feedback", "metadata", "status"}


def singular(word: str) -> str:
    """English singular as Laravel's Str::singular gives it for the usual resource names."""
    lower = word.lower()
    if lower in _UNCOUNTABLE:
        return word
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh")):
        if lower.endswith(suffix) and len(lower) > len(suffix) + 1:
            if suffix == "ves" and lower.endswith(("ives", "oves")):
                return word[:-1]  # archives -> archive, moves -> move
            return word[: -len(suffix)] + repl
    if lower.endswith("uses") or lower.endswith("sses"):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def laravel_join(prefix: str, uri: str) -> str:
    """A uri under a group prefix, as Laravel joins them, with the leading '/' of the path."""
    parts = [p.strip("/") for p in (prefix, uri)]
    return "/" + "/".join(p for p in parts if p)


@dataclass(frozen=True)
class _Group:
    prefix: str = ""
    #: namespace of string actions ('PostController@index'), from ->namespace() / RouteServiceProvider
    namespace: str | None = None
    #: controller class of `Route::controller(X::class)->group(...)`
    controller: str | None = None


@dataclass
class _Route:
    method: str
    path: str
    file: php.PhpFile
    fn: Node


class _Interpreter:
    """Reads route registrations in source order, carrying group attributes like the Router."""

    def __init__(self, project: php.PhpProject) -> None:
        self.project = project
        self.routes: list[_Route] = []
        self.files_run: list[Path] = []

    # ------------------------------------------------------------ files and bodies

    def run_file(self, path: Path, group: _Group, trail: tuple[Path, ...] = ()) -> None:
        if path in trail:
            return
        file = self.project.load(path)
        if file is None:
            log.info("route file %s is missing or unreadable", path)
            return
        self.files_run.append(path)
        self.run_body(file, file.root, group, (*trail, path))

    def run_body(self, file: php.PhpFile, node: Node, group: _Group, trail: tuple[Path, ...]) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in php.CALL_TYPES and self._is_route_chain(file, current):
                self._chain(file, current, group, trail)
                continue
            if current.type in php.REQUIRE_TYPES and current.named_children:
                target = php.eval_path(file, current.named_children[0], self.project.root)
                if target is not None:
                    self.run_file(target, group, trail)
                continue
            stack.extend(reversed(current.named_children))

    def _is_route_chain(self, file: php.PhpFile, node: Node) -> bool:
        root, links = php.call_chain(node)
        if not links:
            return False
        if root.type == "scoped_call_expression":
            scope = ts.text(root.child_by_field_name("scope"))
            return scope in _ROUTE_FACADES or file.resolve_class(scope) in _ROUTE_FACADES
        return ts.text(root) in _ROUTER_VARIABLES

    # ------------------------------------------------------------ chains

    def _chain(self, file: php.PhpFile, node: Node, group: _Group, trail: tuple[Path, ...]) -> None:
        _root, links = php.call_chain(node)
        attrs = group
        for index, (name, call) in enumerate(links):
            verb = name.lower()
            if verb == "prefix":
                attrs = replace(attrs, prefix=laravel_join(attrs.prefix, self._string(file, php.arg(call, 0)) or ""))
            elif verb == "namespace":
                attrs = replace(attrs, namespace=self._namespace(attrs, self._string(file, php.arg(call, 0))))
            elif verb == "controller":
                attrs = replace(attrs, controller=file.class_of(php.arg(call, 0)))
            elif verb == "group":
                self._group(file, call, attrs, trail)
                return
            elif verb in _VERBS or verb in ("any", "match"):
                self._verb(file, verb, call, attrs)
                return
            elif verb in ("resource", "apiresource", "resources", "apiresources"):
                self._resources(file, verb, call, links[index + 1 :], attrs)
                return
            elif verb in ("singleton", "apisingleton"):
                self._singleton(file, verb == "apisingleton", call, links[index + 1 :], attrs)
                return
            # middleware(), name(), as(), domain(), where(), ...: no effect on the path

    def _group(self, file: php.PhpFile, call: Node, attrs: _Group, trail: tuple[Path, ...]) -> None:
        args = [value for _, value in php.arguments(call)]
        if not args:
            return
        if len(args) >= 2 and args[0].type == "array_creation_expression":
            for key, value in php.array_items(args[0]):
                option = php.string_value(key)
                if option == "prefix":
                    attrs = replace(attrs, prefix=laravel_join(attrs.prefix, self._string(file, value) or ""))
                elif option == "namespace":
                    attrs = replace(attrs, namespace=self._namespace(attrs, self._string(file, value)))
                elif option == "controller":
                    attrs = replace(attrs, controller=file.class_of(value))
        routes = args[-1]
        if php.is_closure(routes):
            body = php.body_of(routes)
            if body is not None:
                self.run_body(file, body, attrs, trail)
            return
        target = php.eval_path(file, routes, self.project.root)
        if target is not None:
            self.run_file(target, attrs, trail)

    def _string(self, file: php.PhpFile, node: Node | None) -> str | None:
        """A string argument, also `$this->namespace` read from the provider's property."""
        if node is not None and node.type == "member_access_expression":
            obj, prop = node.child_by_field_name("object"), node.child_by_field_name("name")
            if ts.text(obj) == "$this" and prop is not None:
                return php.string_value(php.property_default(php.enclosing_class(node), ts.text(prop)))
        return php.string_value(node)

    @staticmethod
    def _namespace(attrs: _Group, namespace: str | None) -> str | None:
        if not namespace:
            return attrs.namespace
        if namespace.startswith("\\") or not attrs.namespace:
            return namespace.strip("\\")
        return f"{attrs.namespace}\\{namespace.strip(chr(92))}"

    # ------------------------------------------------------------ routes

    def _verb(self, file: php.PhpFile, verb: str, call: Node, attrs: _Group) -> None:
        if verb == "match":
            methods = sorted({m.upper() for m in php.string_list(php.arg(call, 0))})
            uri, action = php.arg(call, 1), php.arg(call, 2)
        else:
            methods = ["ANY" if verb == "any" else _VERBS[verb]]
            uri, action = php.arg(call, 0), php.arg(call, 1)
        path = php.string_value(uri)
        if path is None or action is None:
            return
        target = self._action(file, action, attrs)
        if target is None:
            log.warning("%s: handler of %s is not found statically", file.rel, path)
            return
        for method in methods:
            self.routes.append(_Route(method, laravel_join(attrs.prefix, path), *target))

    def _action(self, file: php.PhpFile, action: Node, attrs: _Group) -> tuple[php.PhpFile, Node] | None:
        if php.is_closure(action):
            return file, action
        if action.type == "array_creation_expression":
            items = php.array_items(action)
            for key, value in items:
                if php.string_value(key) == "uses" or (key is None and php.is_closure(value)):
                    return self._action(file, value, attrs)
            values = [value for key, value in items if key is None]
            if len(values) == 2 and (method := php.string_value(values[1])) is not None:
                cls = file.class_of(values[0])
                return self._class_method(cls, method, attrs) if cls else None
            return None
        if action.type == "class_constant_access_expression":
            cls = file.class_of(action)
            return self._class_method(cls, "__invoke", attrs) if cls else None
        text = php.string_value(action)
        if text is None:
            return None
        if "@" in text:
            cls, _, method = text.partition("@")
            return self._method(self._string_class(cls, attrs), method, attrs, fallback=cls)
        if attrs.controller:
            return self._method(attrs.controller, text, attrs)
        return self._method(self._string_class(text, attrs), "__invoke", attrs, fallback=text)

    @staticmethod
    def _string_class(name: str, attrs: _Group) -> str:
        if name.startswith("\\") or not attrs.namespace:
            return name.lstrip("\\")
        return f"{attrs.namespace}\\{name}"

    def _class_method(self, cls: str, method: str, attrs: _Group) -> tuple[php.PhpFile, Node] | None:
        """`X::class` in a file without namespace or import: Laravel turns the callable into a
        'X@method' string, which the group namespace then prefixes."""
        if "\\" in cls:
            return self._method(cls, method, attrs)
        return self._method(self._string_class(cls, attrs), method, attrs, fallback=cls)

    def _method(
        self, cls: str, method: str, attrs: _Group, fallback: str | None = None
    ) -> tuple[php.PhpFile, Node] | None:
        candidates = [cls]
        if fallback is not None:
            # A string action without a group namespace: the class as written, then the
            # conventional controllers namespace (Laravel < 8 always prefixed it).
            candidates += [fallback.lstrip("\\"), f"{DEFAULT_NAMESPACE}\\{fallback.lstrip(chr(92))}"]
        for candidate in dict.fromkeys(candidates):
            found = self.project.find_method(candidate, method)
            if found is not None:
                return found
        return None

    # ------------------------------------------------------------ resources

    def _resources(
        self, file: php.PhpFile, verb: str, call: Node, modifiers: list[tuple[str, Node]], attrs: _Group
    ) -> None:
        api = verb.startswith("api")
        if verb.endswith("resources"):
            options = php.arg(call, 1)
            for key, value in php.array_items(php.arg(call, 0)):
                name = php.string_value(key)
                classes = self._controller(file, value, attrs)
                if name and classes:
                    self._resource(name, classes, api, options, modifiers, attrs)
            return
        name = php.string_value(php.arg(call, 0))
        classes = self._controller(file, php.arg(call, 1), attrs)
        if name and classes:
            self._resource(name, classes, api, php.arg(call, 2), modifiers, attrs)

    def _controller(self, file: php.PhpFile, node: Node | None, attrs: _Group) -> list[str]:
        """Candidate classes of a resource controller: `X::class`, or a string under the group namespace."""
        if node is None:
            return []
        text = php.string_value(node)
        if text is None:
            cls = file.class_of(node)
            return [cls] if cls else []
        plain = text.lstrip("\\")
        return list(dict.fromkeys([self._string_class(text, attrs), plain, f"{DEFAULT_NAMESPACE}\\{plain}"]))

    def _resource(
        self,
        name: str,
        classes: list[str],
        api: bool,
        options: Node | None,
        modifiers: list[tuple[str, Node]],
        attrs: _Group,
    ) -> None:
        actions = [a[0] for a in _RESOURCE_ACTIONS if not api or a[0] in _API_ACTIONS]
        parameters: dict[str, str] = {}
        shallow = False
        settings: list[tuple[str, list[Node]]] = [
            (php.string_value(k) or "", [v]) for k, v in php.array_items(options) if k is not None
        ]
        settings += [(m.lower(), [v for _, v in php.arguments(c)]) for m, c in modifiers]
        for setting, values in settings:
            listed = [s for v in values for s in php.string_list(v)]
            if setting == "only":
                actions = [a for a in actions if a in listed]
            elif setting == "except":
                actions = [a for a in actions if a not in listed]
            elif setting == "parameters" and values:
                parameters.update(
                    {
                        k: v
                        for key, value in php.array_items(values[0])
                        if (k := php.string_value(key)) and (v := php.string_value(value))
                    }
                )
            elif setting == "parameter" and len(listed) == 2:
                parameters[listed[0]] = listed[1]
            elif setting == "shallow":
                shallow = True
        prefix, _, name = name.rpartition("/")
        segments = name.split(".")

        def wildcard(segment: str) -> str:
            return parameters.get(segment, singular(segment)).replace("-", "_")

        parents = "/".join(f"{s}/{{{wildcard(s)}}}" for s in segments[:-1])
        last = segments[-1]
        base = laravel_join(laravel_join(attrs.prefix, prefix), laravel_join(parents, last))
        shallow_base = laravel_join(laravel_join(attrs.prefix, prefix), last)
        for action, methods, suffix, needs_id in _RESOURCE_ACTIONS:
            if action not in actions:
                continue
            member = f"{shallow_base if shallow else base}/{{{wildcard(last)}}}"
            uri = member + suffix if needs_id else base + suffix
            self._resource_route(classes, action, methods, uri)

    def _singleton(
        self, file: php.PhpFile, api: bool, call: Node, modifiers: list[tuple[str, Node]], attrs: _Group
    ) -> None:
        name = php.string_value(php.arg(call, 0))
        classes = self._controller(file, php.arg(call, 1), attrs)
        if not name or not classes:
            return
        actions = ["show", "update"] if api else ["show", "edit", "update"]
        names = [m.lower() for m, _ in modifiers]
        if "creatable" in names:
            actions += ["store", "destroy"] if api else ["create", "store", "destroy"]
        elif "destroyable" in names:
            actions.append("destroy")
        for m, c in modifiers:
            listed = [s for _, v in php.arguments(c) for s in php.string_list(v)]
            if m.lower() == "only":
                actions = [a for a in actions if a in listed]
            elif m.lower() == "except":
                actions = [a for a in actions if a not in listed]
        prefix, _, name = name.rpartition("/")
        segments = name.split(".")
        parents = "/".join(f"{s}/{{{singular(s).replace('-', '_')}}}" for s in segments[:-1])
        base = laravel_join(laravel_join(attrs.prefix, prefix), laravel_join(parents, segments[-1]))
        for action, methods, suffix, _needs_id in _RESOURCE_ACTIONS:
            if action in actions:
                self._resource_route(classes, action, methods, base + suffix)

    def _resource_route(self, classes: list[str], action: str, methods: tuple[str, ...], uri: str) -> None:
        found = next((f for c in classes if (f := self.project.find_method(c, action)) is not None), None)
        if found is None:
            # Laravel registers the route, but it can only fail: there is nothing to serve.
            log.info("resource action %s::%s does not exist; route %s skipped", classes[0], action, uri)
            return
        for method in methods:
            self.routes.append(_Route(method, uri, *found))


def _route_providers(project: php.PhpProject) -> list[php.PhpFile]:
    """app/Providers/RouteServiceProvider.php, or the one config/app.php / bootstrap/providers.php lists."""
    out = []
    conventional = project.load(project.root / "app" / "Providers" / "RouteServiceProvider.php")
    if conventional is not None:
        out.append(conventional)
    for rel in ("config/app.php", "bootstrap/providers.php"):
        listing = project.load(project.root / rel)
        if listing is None:
            continue
        for node in ts.find_all(listing.root, "class_constant_access_expression"):
            cls = listing.class_of(node)
            found = project.find_class(cls) if cls and cls.endswith("RouteServiceProvider") else None
            if found is not None and found[0] not in out:
                out.append(found[0])
    return out


def _route_entries(project: php.PhpProject, interpreter: _Interpreter) -> None:
    """Run the route files the application loads, each under its prefix."""
    root = project.root
    bootstrap = project.load(root / "bootstrap" / "app.php")
    if bootstrap is not None:
        for call in ts.find_all(bootstrap.root, "member_call_expression"):
            if php.call_name(call) != "withRouting":
                continue
            using = php.arg(call, -1, "using")
            if php.is_closure(using):
                # `using:` replaces the default loading entirely.
                interpreter.run_body(bootstrap, php.body_of(using), _Group(), (bootstrap.path,))
                return
            api_prefix = php.string_value(php.arg(call, -1, "apiPrefix"))
            for key, prefix in (("web", ""), ("api", "api" if api_prefix is None else api_prefix)):
                value = php.arg(call, -1, key)
                paths = (
                    [v for _, v in php.array_items(value)]
                    if value is not None and value.type == "array_creation_expression"
                    else [value]
                )
                for node in paths:
                    target = php.eval_path(bootstrap, node, root) if node is not None else None
                    if target is not None:
                        interpreter.run_file(target, _Group(prefix=laravel_join("", prefix)))
            then = php.arg(call, -1, "then")
            if php.is_closure(then):
                interpreter.run_body(bootstrap, php.body_of(then), _Group(), (bootstrap.path,))
            return
    for provider in _route_providers(project):
        interpreter.run_body(provider, provider.root, _Group(), (provider.path,))
    if interpreter.files_run:
        return
    # Neither tells: Laravel's defaults.
    _default_route_files(project, interpreter)


def _default_route_files(project: php.PhpProject, interpreter: _Interpreter) -> None:
    routes = project.root / "routes"
    interpreter.run_file(routes / "api.php", _Group(prefix="/api"))
    interpreter.run_file(routes / "web.php", _Group())
    if interpreter.routes or not routes.is_dir():
        return
    # Route files loaded in ways not followed (computed file names, static helpers): each
    # remaining file under routes/ is read on its own, without a prefix.
    for path in sorted(routes.glob("*.php")):
        if path.name not in ("api.php", "web.php", "console.php", "channels.php"):
            interpreter.run_file(path, _Group())


class LaravelFramework(Framework):
    name = "laravel"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("laravel/framework",)
    language = "php"
    echoes = True

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return php.detect_services(
            repo_root,
            "laravel/framework",
            lambda _repo, root: next((e for e in ("artisan", "public/index.php") if (root / e).is_file()), None),
        )

    # ------------------------------------------------------------------ discover

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        project = php.PhpProject(repo_root, service.root)
        interpreter = _Interpreter(project)
        _route_entries(project, interpreter)
        if not interpreter.routes:
            _default_route_files(project, interpreter)
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in interpreter.routes:
            handler = php.handler_for(route.fn, route.file.rel)
            if handler is None:
                continue
            # A later registration of the same method and uri replaces the earlier one.
            fields = body_fields(ts.text(route.fn)) if route.method in WITH_BODY else []
            endpoints[(route.path, route.method)] = Endpoint(
                method=route.method, path=route.path, handler=handler, body_fields=fields
            )
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        root = service.root.resolve()
        project = php.PhpProject(repo_root, root)
        files = [f for d in ("app", "bootstrap", "config", "routes") for f in project.files_under(root / d)]
        # Laravel's env('X') is null when unset and config copes with that; a dummy could even
        # break a setting (a bogus DATABASE_URL). Only secrets (signing keys, tokens) are needed.
        reads = php.env_reads(files)
        needed = {
            name
            for name, has_default in reads.items()
            # a dummy password would be sent to servers that expect none (Redis AUTH)
            if not has_default and php.SECRET_NAME.search(name) and "PASSWORD" not in name
        }
        env = php.dummy_env(needed)
        env.update({"APP_KEY": DUMMY_APP_KEY, "APP_ENV": "local", "APP_DEBUG": "false"})
        serve = ["php", "artisan", "serve", "--host=0.0.0.0", f"--port={DEFAULT_PORT}"]
        setup: list[str] = []
        if self._uses_sqlite(root) and (root / "database" / "migrations").is_dir():
            # The default sqlite database (database/database.sqlite) must exist and be migrated
            # before the first request; done at build time, after the source is copied.
            env["DB_CONNECTION"] = "sqlite"
            setup = ["touch database/database.sqlite", "php artisan migrate --force"]
        return RuntimeHints(start_command=serve, port=DEFAULT_PORT, env=dict(sorted(env.items())), setup_commands=setup)

    @staticmethod
    def _uses_sqlite(root: Path) -> bool:
        for name in (".env", ".env.example"):
            connection = php.dotenv_keys(root / name).get("DB_CONNECTION")
            if connection:
                return connection == "sqlite"
        try:
            config = (root / "config" / "database.php").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        match = re.search(r"env\(\s*['\"]DB_CONNECTION['\"]\s*,\s*['\"](\w+)['\"]", config)
        return bool(match and match.group(1) == "sqlite")

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return php.mask_handler(source, handler, "abort(501);", "abort(501)")

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        text = canned_json(answer)
        if answer.echo or text is not None:
            body = php.RAW_BODY if answer.echo else php.php_string(text or "")
            # A JsonResponse (its last argument: the body is JSON text already) also fits a
            # handler declared to return a Symfony or Laravel Response.
            value = f"new \\Illuminate\\Http\\JsonResponse({body}, {answer.status}, [], 0, true)"
        else:
            value = f"response('', {answer.status})"
        return php.mask_handler(source, handler, f"return {value};", value)
