"""Slim: the app, route groups and route files followed from the front controller.

Slim registers routes by running PHP, so discovery follows that run statically: from the
script that creates the app, through `require`d route files (also those returning
`function (App $app)` closures), group callbacks and their `$group` parameters.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
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
_VERBS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE", "options": "OPTIONS"}
_APP_CLASSES = {"Slim\\App"}
_APP_FACTORIES = {"create", "createFromContainer"}
_ENTRY_NAMES = ("public/index.php", "index.php", "public/app.php", "app.php")
_APP_CREATION = re.compile(rb"AppFactory::create|Bridge::create|new\s+\\?(?:Slim\\)?App\s*\(")
_MAX_DEPTH = 25


@dataclass(frozen=True)
class _Router:
    """The app (prefix '') or a group's RouteCollectorProxy (prefix = the group pattern)."""

    prefix: str
    is_app: bool


@dataclass
class _Closure:
    file: php.PhpFile
    node: Node
    env: dict[str, object]


class _Unknown:
    """What an expression the interpreter does not model evaluates to."""


UNKNOWN = _Unknown()
#: The value of a handled call that yields nothing we track (a Route, a Middleware...).
HANDLED = object()


@dataclass
class _Route:
    method: str
    path: str
    file: php.PhpFile
    fn: Node


@dataclass
class _Interpreter:
    project: php.PhpProject
    routes: list[_Route] = field(default_factory=list)
    base_path: str = ""
    functions: dict[str, tuple[php.PhpFile, Node]] = field(default_factory=dict)
    apps_seen: int = 0

    # ------------------------------------------------------------ files and statements

    def run_file(self, path: Path, env: dict[str, object], trail: tuple[Path, ...]) -> object:
        """Run a script in the including scope (`env` is shared, as PHP's include does)."""
        if path in trail or len(trail) > _MAX_DEPTH:
            return UNKNOWN
        file = self.project.load(path)
        if file is None:
            return UNKNOWN
        for fn in file.root.named_children:
            if fn.type == "function_definition":
                self.functions.setdefault(ts.text(fn.child_by_field_name("name")).lower(), (file, fn))
        return self.run_block(file, file.root, env, (*trail, path))

    def run_block(self, file: php.PhpFile, node: Node, env: dict[str, object], trail: tuple[Path, ...]) -> object:
        """Walk statements in order; returns the value of the first `return` met at this level."""
        returned: object = UNKNOWN
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in (
                "class_declaration",
                "function_definition",
                "interface_declaration",
                "trait_declaration",
            ):
                continue
            if php.is_closure(current):
                continue  # a closure runs only when called or passed to group()
            if current.type == "return_statement":
                value = self.eval(file, current.named_children[0], env, trail) if current.named_children else None
                if returned is UNKNOWN and not isinstance(value, _Unknown):
                    returned = value
                if isinstance(value, _Unknown) and current.named_children:
                    stack.append(current.named_children[0])
                continue
            if current.type == "assignment_expression":
                left, right = current.child_by_field_name("left"), current.child_by_field_name("right")
                value = self.eval(file, right, env, trail)
                if left is not None and left.type == "variable_name":
                    if isinstance(value, (_Router, _Closure)):
                        env[ts.text(left).lstrip("$")] = value
                    else:
                        env.pop(ts.text(left).lstrip("$"), None)
                if isinstance(value, _Unknown) and right is not None:
                    stack.append(right)
                continue
            evaluable = current.type in (*php.CALL_TYPES, "function_call_expression", *php.REQUIRE_TYPES)
            if evaluable and not isinstance(self.eval(file, current, env, trail), _Unknown):
                continue
            stack.extend(reversed(current.named_children))
        return returned

    # ------------------------------------------------------------ expressions

    def eval(self, file: php.PhpFile, node: Node | None, env: dict[str, object], trail: tuple[Path, ...]) -> object:
        if node is None:
            return UNKNOWN
        kind = node.type
        if kind == "parenthesized_expression" and node.named_children:
            return self.eval(file, node.named_children[0], env, trail)
        if kind == "variable_name":
            name = ts.text(node).lstrip("$")
            if name in env:
                return env[name]
            # Route files written for an app created elsewhere still name it $app.
            return _Router("", True) if name == "app" else UNKNOWN
        if php.is_closure(node):
            return _Closure(file, node, dict(env))
        if kind == "object_creation_expression":
            cls = next((c for c in node.named_children if c.type in ("name", "qualified_name")), None)
            if cls is not None and file.resolve_class(ts.text(cls)) in _APP_CLASSES:
                return self._new_app()
            return UNKNOWN
        if kind == "scoped_call_expression":
            scope = file.resolve_class(ts.text(node.child_by_field_name("scope")))
            if scope.rsplit("\\", 1)[-1] in ("AppFactory", "Bridge") and php.call_name(node) in _APP_FACTORIES:
                return self._new_app()
            return UNKNOWN
        if kind in ("member_call_expression", "nullsafe_member_call_expression"):
            return self._method_call(file, node, env, trail)
        if kind in php.REQUIRE_TYPES and node.named_children:
            target = php.eval_path(file, node.named_children[0], self.project.root)
            return self.run_file(target, env, trail) if target is not None else UNKNOWN
        if kind == "function_call_expression":
            return self._function_call(file, node, env, trail)
        return UNKNOWN

    def _new_app(self) -> _Router:
        self.apps_seen += 1
        return _Router("", True)

    def _function_call(self, file: php.PhpFile, node: Node, env: dict[str, object], trail: tuple[Path, ...]) -> object:
        callee = node.child_by_field_name("function")
        if callee is None:
            return UNKNOWN
        if callee.type == "name" and ts.text(callee).lower() in self.functions:
            target_file, fn = self.functions[ts.text(callee).lower()]
            target: object = _Closure(target_file, fn, {})
        else:
            target = self.eval(file, callee, env, trail)
        if not isinstance(target, _Closure):
            return UNKNOWN
        # Arguments are evaluated only for a call we follow, so nothing runs twice.
        args = [self.eval(file, value, env, trail) for _, value in php.arguments(node)]
        return self.call(target, args, None, trail)

    def call(self, closure: _Closure, args: list[object], this: object, trail: tuple[Path, ...]) -> object:
        if len(trail) > _MAX_DEPTH:
            return UNKNOWN
        env: dict[str, object] = {}
        for name in php.closure_uses(closure.node):
            if name in closure.env:
                env[name] = closure.env[name]
        types = php.parameter_types(closure.node)
        for index, name in enumerate(php.parameter_names(closure.node)):
            value = args[index] if index < len(args) else UNKNOWN
            if isinstance(value, (_Router, _Closure)):
                env[name] = value
            elif index < len(types) and types[index].rsplit("\\", 1)[-1] in ("App", "RouteCollectorProxy"):
                env[name] = _Router("", True)
        if isinstance(this, _Router):
            env["this"] = this  # Slim 3 binds group callbacks to the app
        body = php.body_of(closure.node)
        if body is None:
            return UNKNOWN
        if closure.node.type == "arrow_function":
            return self.eval(closure.file, body, env, (*trail, closure.file.path))
        self.run_block(closure.file, body, env, (*trail, closure.file.path))
        return HANDLED

    def _method_call(self, file: php.PhpFile, node: Node, env: dict[str, object], trail: tuple[Path, ...]) -> object:
        obj_node = node.child_by_field_name("object")
        name = php.call_name(node)
        receiver = self.eval(file, obj_node, env, trail)
        if receiver is HANDLED:
            return HANDLED  # ->setName(), ->add() on a route or group just registered
        if isinstance(receiver, _Unknown) and name == "get":
            # $container->get(App::class)
            if file.class_of(php.arg(node, 0)) in _APP_CLASSES:
                return self._new_app()
            return UNKNOWN
        if not isinstance(receiver, _Router):
            return UNKNOWN
        verb = name.lower()
        if verb in _VERBS or verb == "any":
            self._route(
                file, ["ANY" if verb == "any" else _VERBS[verb]], php.arg(node, 0), php.arg(node, 1), receiver, env
            )
        elif verb == "map":
            methods = sorted({m.upper() for m in php.string_list(php.arg(node, 0))})
            self._route(file, methods, php.arg(node, 1), php.arg(node, 2), receiver, env)
        elif verb == "group":
            pattern = php.string_value(php.arg(node, 0))
            callback = self.eval(file, php.arg(node, 1), env, trail)
            if pattern is not None and isinstance(callback, _Closure):
                group = _Router(receiver.prefix + pattern, False)
                self.call(callback, [group], group, trail)
        elif verb == "setbasepath" and receiver.is_app:
            self.base_path = php.string_value(php.arg(node, 0)) or ""
        return HANDLED

    # ------------------------------------------------------------ routes

    def _route(
        self,
        file: php.PhpFile,
        methods: list[str],
        pattern_node: Node | None,
        handler_node: Node | None,
        router: _Router,
        env: dict[str, object],
    ) -> None:
        pattern = php.string_value(pattern_node)
        if pattern is None or handler_node is None:
            return
        target = self._handler(file, handler_node, env)
        if target is None:
            log.warning("%s: handler of %s is not found statically", file.rel, pattern)
            return
        for method in methods:
            self.routes.append(_Route(method, router.prefix + pattern, *target))

    def _handler(self, file: php.PhpFile, node: Node, env: dict[str, object]) -> tuple[php.PhpFile, Node] | None:
        if php.is_closure(node):
            return file, node
        if node.type == "variable_name":
            value = env.get(ts.text(node).lstrip("$"))
            return (value.file, value.node) if isinstance(value, _Closure) else None
        if node.type == "array_creation_expression":
            values = [v for _, v in php.array_items(node)]
            if len(values) == 2 and (method := php.string_value(values[1])) is not None:
                cls = file.class_of(values[0])
                return self._class_method(file, cls, method) if cls else None
            return None
        if node.type == "class_constant_access_expression":
            cls = file.class_of(node)
            return self._class_method(file, cls, "__invoke") if cls else None
        if node.type == "binary_expression":
            # Home::class . ':show'
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            suffix = php.string_value(right)
            cls = file.class_of(left) if left is not None and left.type == "class_constant_access_expression" else None
            if cls and suffix and suffix.startswith(":"):
                return self._class_method(file, cls, suffix.lstrip(":"))
        text = php.string_value(node)
        if text:
            cls, sep, method = text.partition(":")
            return self._class_method(file, cls, method if sep else "__invoke", written_as_string=True)
        return None

    def _class_method(
        self, file: php.PhpFile, cls: str, method: str, *, written_as_string: bool = False
    ) -> tuple[php.PhpFile, Node] | None:
        candidates = [cls.lstrip("\\")]
        if written_as_string:
            # A container key is often the short class name, imported with `use`.
            candidates.append(file.resolve_class(cls))
        for candidate in dict.fromkeys(candidates):
            found = self.project.action_method(candidate, method)
            if found is not None:
                return found
        return None


def _entry_files(project: php.PhpProject) -> list[Path]:
    root = project.root
    named = [root / name for name in _ENTRY_NAMES if (root / name).is_file()]
    if named:
        return named[:1]
    return [f.path for f in project.service_files() if _APP_CREATION.search(f.sf.source)]


def _entrypoint(repo_root: Path, root: Path) -> str | None:
    entries = _entry_files(php.PhpProject(repo_root, root))
    return entries[0].relative_to(root).as_posix() if entries else None


def _takes_app(fn: Node) -> bool:
    """A route file's `return function (App $app) {...}`."""
    names, types = php.parameter_names(fn), php.parameter_types(fn)
    return bool(names) and (names[0] == "app" or types[0].rsplit("\\", 1)[-1] == "App")


def slim_path(prefix: str, pattern: str) -> str:
    path = prefix + pattern
    return path if path.startswith("/") else "/" + path


class SlimFramework(Framework):
    name = "slim"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("slim/slim",)
    language = "php"
    echoes = True

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return php.detect_services(repo_root, "slim/slim", _entrypoint)

    # ------------------------------------------------------------------ discover

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        project = php.PhpProject(repo_root, service.root)
        interpreter = _Interpreter(project)
        entries = [service.root / service.entrypoint] if service.entrypoint else _entry_files(project)
        for entry in entries:
            interpreter.run_file(entry.resolve(), {}, ())
        if not interpreter.routes:
            # The app is built somewhere we could not follow: read every script on its own.
            for file in project.service_files():
                value = interpreter.run_file(file.path, {}, ())
                if isinstance(value, _Closure) and _takes_app(value.node):
                    interpreter.call(value, [_Router("", True)], None, ())
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in interpreter.routes:
            handler = php.handler_for(route.fn, route.file.rel)
            if handler is None:
                continue
            path = slim_path(interpreter.base_path, route.path)
            fields = body_fields(ts.text(route.fn)) if route.method in WITH_BODY else []
            endpoint = Endpoint(method=route.method, path=path, handler=handler, body_fields=fields)
            endpoints.setdefault((path, route.method), endpoint)
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        root = service.root.resolve()
        project = php.PhpProject(repo_root, root)
        defined = php.dotenv_keys(root / ".env")
        reads = php.env_reads(project.service_files())
        needed = (n for n, has_default in reads.items() if not has_default and n not in defined)
        env = php.dummy_env(needed, php.example_env(root))
        command = php.builtin_server_command(root, service.entrypoint, DEFAULT_PORT)
        return RuntimeHints(start_command=command, port=DEFAULT_PORT, env=env)

    # ------------------------------------------------------------------ mask

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        response = self._response_param(source, handler)
        if response is None:
            return self.mask_body(source, handler)  # only a thrown 501 fits: no canned answer
        text = canned_json(answer)
        answered = f"${response}->withStatus({answer.status})"
        if answer.echo or text is not None:
            body = php.RAW_BODY if answer.echo else php.php_string(text or "")
            # One expression (an arrow function's body takes no statements): write()
            # answers a byte count, and either branch of the ternary is the response.
            written = f"(${response}->getBody()->write({body}) ? ${response} : ${response})"
            answered = f"{written}->withStatus({answer.status})->withHeader('Content-Type', 'application/json')"
        return php.mask_handler(source, handler, f"return {answered};", answered)

    @staticmethod
    def _response_param(source: bytes, handler: Handler) -> str | None:
        fn, _body = php.handler_function(source, handler)
        names, types = php.parameter_names(fn), php.parameter_types(fn)
        response = php.param_named(fn, ("response",), ("ResponseInterface", "Response"))
        if response is None and len(names) >= 2 and not types[1]:
            response = names[1]
        return response

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        fn, _body = php.handler_function(source, handler)
        names, types = php.parameter_names(fn), php.parameter_types(fn)
        response = php.param_named(fn, ("response",), ("ResponseInterface", "Response"))
        request = php.param_named(fn, ("request",), ("ServerRequestInterface", "Request"))
        # Slim calls a route callable with (request, response, args): untyped names go by position.
        if response is None and len(names) >= 2 and not types[1]:
            response = names[1]
        if request is None and names and not types[0]:
            request = names[0]
        if response is not None:
            statement, expression = f"return ${response}->withStatus(501);", f"${response}->withStatus(501)"
        elif request is not None:
            exception = f"new \\Slim\\Exception\\HttpNotImplementedException(${request})"
            statement, expression = f"throw {exception};", f"throw {exception}"
        else:
            statement, expression = (
                "throw new \\RuntimeException('Not implemented');",
                "throw new \\RuntimeException('Not implemented')",
            )
        return php.mask_handler(source, handler, statement, expression)
