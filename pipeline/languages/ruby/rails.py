"""Rails: config/routes.rb read the way ActionDispatch's route mapper builds routes.

The routing DSL (resources/resource with only/except/param/path/controller/module/shallow,
nested resources, member/collection/new blocks and `on:`, namespace/scope/controller
blocks, get/post/.../match with `to:` or `"path" => "c#a"`, root, concerns, `draw(:file)`)
is evaluated statically with a scope that mirrors ActionDispatch::Routing::Mapper::Scope.
Each route's controller action is then resolved to its `def` in app/controllers, through
superclasses and included modules. A route whose controller or public action is not in the
repository (Devise, implicit template rendering, a typo) has nothing to mask: it is dropped
with a warning.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.ruby import discovery as rb
from pipeline.languages.ruby.request_body import WITH_BODY
from pipeline.languages.ruby.request_body import json_body_fields as body_fields
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

DEFAULT_PORT = 3000
_VERBS = {"get", "post", "put", "patch", "delete", "options", "connect"}
_CANONICAL_ACTIONS = {"index", "create", "new", "show", "update", "destroy"}
_RESOURCE_OPTIONS = {"as", "controller", "path", "only", "except", "param", "concerns"}
#: DSL calls whose block only adds conditions (constraints, authentication): routes inside count.
_TRANSPARENT = {"constraints", "defaults", "authenticate", "authenticated", "unauthenticated", "devise_scope"}
#: DSL calls that route to code outside the application (engines, Rack apps, Devise).
_EXTERNAL = {"mount", "devise_for", "use_doorkeeper", "direct", "resolve"}
_MAX_DRAW_DEPTH = 10
_SLASHES = re.compile(r"/+")
_OPTIONAL_SEGMENT = re.compile(r"/(\(+)/?")


def rails_path(*parts: str) -> str:
    """Join path pieces as Mapper.normalize_path does: one leading slash, none doubled or trailing."""
    path = _SLASHES.sub("/", "/" + "/".join(p for p in parts if p))
    path = _OPTIONAL_SEGMENT.sub(r"\1/", path)  # "/(:locale)" -> "(/:locale)"
    if len(path) > 1:
        path = path.rstrip("/")
    return path or "/"


@dataclass(frozen=True)
class _Resource:
    name: str
    singleton: bool
    path: str
    controller: str
    as_: str | None
    param: str
    shallow: bool
    actions: tuple[str, ...]

    @property
    def singular(self) -> str:
        name = self.as_ or self.name
        return name if self.singleton else rb.singularize(name)

    @property
    def member_scope(self) -> str:
        return self.path if self.singleton else f"{self.path}/:{self.param}"

    @property
    def nested_scope(self) -> str:
        return self.path if self.singleton else f"{self.path}/:{self.singular}_{self.param}"


@dataclass(frozen=True)
class _Scope:
    """The mapper's scope: what a route declared at this point inherits."""

    path: str = ""
    shallow_path: str = ""
    module: str | None = None
    controller: str | None = None
    action: str | None = None
    #: the mapper's scope level: resources, resource, member, collection, new, nested, root
    level: str | None = None
    resource: _Resource | None = None
    shallow: bool = False
    #: how many enclosing resources are shallow (ActionDispatch's shallow_nesting_depth)
    shallow_depth: int = 0
    path_names: tuple[tuple[str, str], ...] = ()
    only: tuple[str, ...] | None = None
    except_: tuple[str, ...] | None = None
    via: tuple[str, ...] | None = None

    def path_name(self, action: str) -> str:
        return dict(self.path_names).get(action, action)


@dataclass(frozen=True)
class _Route:
    method: str
    path: str
    controller: str
    action: str
    rel: str
    line: int


def _line(node: Node) -> int:
    return node.start_point[0] + 1


def _truthy(node: Node | None) -> bool:
    return node is not None and node.type not in ("false", "nil")


def _via(node: Node | None) -> tuple[str, ...] | None:
    values = rb.string_list(node)
    if values is None:
        return None
    if "all" in values:
        return ("ANY",)
    return tuple(sorted({v.upper() for v in values}))


class _RoutesReader:
    """Evaluates the routing DSL of one application into a list of routes."""

    def __init__(self, repo_root: Path, root: Path, api_only: bool, warnings: list[str] | None) -> None:
        self.repo_root = repo_root
        self.root = root
        self.api_only = api_only
        self.warnings = warnings
        self.routes: list[_Route] = []
        self.concerns: dict[str, tuple[list[Node], str]] = {}
        self.draw_depth = 0

    def warn(self, message: str) -> None:
        log.warning(message)
        if self.warnings is not None:
            self.warnings.append(message)

    # ------------------------------------------------------------ entry points

    def read_file(self, sf: ts.SourceFile) -> None:
        for stmt in rb.statements(sf.root):
            call = rb.as_call(stmt)
            if (
                call is not None
                and call.name == "draw"
                and call.block is not None
                and "routes" in ts.text(call.receiver)
            ):
                self.run(rb.statements(call.block), _Scope(), sf.rel)

    def run(self, body: list[Node], scope: _Scope, rel: str) -> None:
        for stmt in body:
            if stmt.type in ("if", "unless"):
                self.run(rb.branches(stmt), scope, rel)
                continue
            if stmt.type == "begin":
                self.run(rb.statements(stmt), scope, rel)
                continue
            call = rb.as_call(stmt)
            if call is not None and call.receiver is None:
                self.statement(call, scope, rel)

    def statement(self, call: rb.Call, scope: _Scope, rel: str) -> None:
        name = call.name
        body = rb.statements(call.block) if call.block is not None else []
        if name in ("resources", "resource"):
            for resource in [v for v in (rb.string_value(a) for a in call.args) if v]:
                self.resource(resource, name == "resource", call.options, body, scope, rel, _line(call.node))
        elif name == "namespace":
            self.namespace(call, body, scope, rel)
        elif name == "scope":
            self.run(body, self.scoped(scope, call.options, call.args), rel)
        elif name == "controller" and call.args:
            controller = rb.string_value(call.args[0])
            self.run(body, replace(scope, controller=controller) if controller else scope, rel)
        elif name in ("member", "collection", "new") and scope.resource is not None:
            self.run(body, self.level(scope, name), rel)
        elif name == "nested" and scope.resource is not None:
            self.run(body, self.nested(scope), rel)
        elif name == "shallow":
            self.run(body, replace(scope, shallow=True), rel)
        elif name in _VERBS or name == "match":
            self.match(call, scope, rel, None if name == "match" else (name.upper(),))
        elif name == "root":
            self.root_route(call, scope, rel)
        elif name == "concern" and call.args and call.block is not None:
            concern = rb.string_value(call.args[0])
            if concern:
                self.concerns[concern] = (body, rel)
        elif name == "concerns":
            for arg in call.args:
                self.apply_concerns(rb.string_list(arg) or [], scope)
        elif name == "draw" and call.args:
            self.draw(rb.string_value(call.args[0]), scope)
        elif name in _EXTERNAL:
            log.info("%s: `%s` routes to code outside the application; skipped", rel, name)
        elif name in _TRANSPARENT or call.block is not None:
            # constraints/defaults/authenticate blocks and unknown helpers that take a block:
            # the routes inside are still routes of the application.
            self.run(body, scope, rel)

    # ------------------------------------------------------------ scopes

    def scoped(self, scope: _Scope, options: dict[str, Node], args: list[Node] | None = None) -> _Scope:
        """`scope "/x", module: "m", ...` as Mapper#scope merges its options."""
        parts = [v for v in (rb.string_value(a) for a in args or []) if v is not None]
        path = "/".join(parts) if parts else rb.string_value(options.get("path"))
        changes: dict[str, object] = {}
        if path is not None:
            changes["path"] = rails_path(scope.path, path)
        module = rb.string_value(options.get("module"))
        if module:
            changes["module"] = f"{scope.module}/{module}" if scope.module else module
        for key in ("controller", "action"):
            value = rb.string_value(options.get(key))
            if value:
                changes[key] = value
        shallow_path = rb.string_value(options.get("shallow_path"))
        if shallow_path is not None:
            changes["shallow_path"] = rails_path(scope.shallow_path, shallow_path)
        if "shallow" in options:
            changes["shallow"] = _truthy(options["shallow"])
        if "only" in options or "except" in options:
            only, except_ = rb.string_list(options.get("only")), rb.string_list(options.get("except"))
            changes["only"] = tuple(only) if only is not None else None
            changes["except_"] = tuple(except_) if except_ is not None else None
        if "via" in options:
            changes["via"] = _via(options["via"])
        names = options.get("path_names")
        if names is not None and names.type == "hash":
            merged = dict(scope.path_names)
            for pair in names.named_children:
                key = rb.string_value(pair.child_by_field_name("key"))
                value = rb.string_value(pair.child_by_field_name("value"))
                if key and value is not None:
                    merged[key] = value
            changes["path_names"] = tuple(sorted(merged.items()))
        return replace(scope, **changes) if changes else scope  # type: ignore[arg-type]

    def namespace(self, call: rb.Call, body: list[Node], scope: _Scope, rel: str) -> None:
        name = rb.string_value(call.args[0]) if call.args else None
        if not name:
            return
        if scope.level in ("resources", "resource"):
            scope = self.nested(scope)
        path = rb.string_value(call.options.get("path"))
        path = name if path is None else path
        module = rb.string_value(call.options.get("module")) or name
        inner = replace(
            scope,
            path=rails_path(scope.path, path),
            module=f"{scope.module}/{module}" if scope.module else module,
            shallow_path=rails_path(scope.shallow_path, path),
        )
        rest = {k: v for k, v in call.options.items() if k not in ("path", "module")}
        self.run(body, self.scoped(inner, rest), rel)

    def level(self, scope: _Scope, kind: str) -> _Scope:
        """member / collection / new: where Mapper puts their routes."""
        resource = scope.resource
        assert resource is not None
        if kind == "member":
            base = scope.shallow_path if not resource.singleton and scope.shallow else scope.path
            return replace(scope, level="member", path=rails_path(base, resource.member_scope))
        if kind == "collection":
            return replace(scope, level="collection", path=rails_path(scope.path, resource.path))
        return replace(scope, level="new", path=rails_path(scope.path, resource.path, scope.path_name("new")))

    def nested(self, scope: _Scope) -> _Scope:
        resource = scope.resource
        assert resource is not None
        base = scope.path
        if not resource.singleton and scope.shallow and scope.shallow_depth >= 1:
            base = scope.shallow_path
        return replace(scope, level="nested", path=rails_path(base, resource.nested_scope))

    # ------------------------------------------------------------ resources

    def resource(
        self,
        name: str,
        singleton: bool,
        options: dict[str, Node],
        body: list[Node],
        scope: _Scope,
        rel: str,
        line: int,
    ) -> None:
        if _truthy(options.get("shallow")):
            scope = replace(scope, shallow=True)
        if scope.level in ("resources", "resource"):
            scope = self.nested(scope)
        extra = {k: v for k, v in options.items() if k not in _RESOURCE_OPTIONS and k != "shallow"}
        if "shallow" in options and not _truthy(options.get("shallow")):
            extra["shallow"] = options["shallow"]
        if extra:
            scope = self.scoped(scope, extra)

        only, except_ = rb.string_list(options.get("only")), rb.string_list(options.get("except"))
        if only is None and except_ is None:
            only = list(scope.only) if scope.only is not None else None
            except_ = list(scope.except_) if scope.except_ is not None else None
        if singleton:
            defaults = ["show", "create", "update", "destroy"] + ([] if self.api_only else ["new", "edit"])
        else:
            defaults = ["index", "create", "show", "update", "destroy"] + ([] if self.api_only else ["new", "edit"])
        actions = only if only is not None else defaults
        actions = [a for a in actions if a not in (except_ or [])]

        as_ = rb.string_value(options.get("as"))
        plural = rb.pluralize(name) if singleton else name
        res = _Resource(
            name=name,
            singleton=singleton,
            path=name if (path := rb.string_value(options.get("path"))) is None else path,
            controller=rb.string_value(options.get("controller")) or plural,
            as_=as_,
            param=rb.string_value(options.get("param")) or "id",
            shallow=scope.shallow,
            actions=tuple(actions),
        )
        inner = replace(
            scope,
            level="resource" if singleton else "resources",
            resource=res,
            controller=res.controller,
            shallow_depth=scope.shallow_depth + (1 if res.shallow else 0),
        )
        self.run(body, inner, rel)
        if "concerns" in options:
            self.apply_concerns(rb.string_list(options["concerns"]) or [], inner)

        if not singleton:
            collection = self.level(inner, "collection")
            if "index" in actions:
                self.add(collection, "GET", "index", None, None, None, None, rel, line)
            if "create" in actions:
                self.add(collection, "POST", "create", None, None, None, None, rel, line)
        if "new" in actions:
            self.add(self.level(inner, "new"), "GET", "new", None, None, None, None, rel, line)
        member = self.level(inner, "member")
        if "edit" in actions:
            self.add(member, "GET", "edit", None, None, None, None, rel, line)
        if "show" in actions:
            self.add(member, "GET", "show", None, None, None, None, rel, line)
        if "update" in actions:
            self.add(member, "PATCH", "update", None, None, None, None, rel, line)
            self.add(member, "PUT", "update", None, None, None, None, rel, line)
        if "destroy" in actions:
            self.add(member, "DELETE", "destroy", None, None, None, None, rel, line)
        if singleton and "create" in actions:
            self.add(self.level(inner, "collection"), "POST", "create", None, None, None, None, rel, line)

    def apply_concerns(self, names: list[str], scope: _Scope) -> None:
        for name in names:
            if name in self.concerns:
                body, rel = self.concerns[name]
                self.run(body, scope, rel)

    def draw(self, name: str | None, scope: _Scope) -> None:
        if not name or self.draw_depth >= _MAX_DRAW_DEPTH:
            return
        path = self.root / "config" / "routes" / f"{name}.rb"
        if not path.is_file():
            self.warn(f"{path.relative_to(self.repo_root).as_posix()}: drawn routes file not found")
            return
        sf = rb.parse_file(path, self.repo_root, warnings=self.warnings)
        if sf is None:
            return
        self.draw_depth += 1
        try:
            self.run(rb.statements(sf.root), scope, sf.rel)
        finally:
            self.draw_depth -= 1

    # ------------------------------------------------------------ single routes

    def match(self, call: rb.Call, scope: _Scope, rel: str, verbs: tuple[str, ...] | None) -> None:
        options = dict(call.options)
        paths: list[Node] = list(call.args)
        if not paths:
            # `get "path" => "controller#action", as: :name`: the first pair with a string key.
            found = next(((k, v) for k, v in call.pairs if k.type == "string"), None)
            if found is None:
                return
            key, value = found
            options.pop(rb.string_value(key) or "", None)
            target = rb.string_value(value)
            if target is None:
                log.info("%s:%d: route to a Rack endpoint skipped", rel, _line(call.node))
                return
            if value.type in ("simple_symbol", "delimited_symbol"):
                options["action"] = value
            elif "#" in target:
                options["to"] = value
            else:
                options["controller"] = value
            paths = [key]
        if "to" in options and rb.string_value(options["to"]) is None:
            log.info("%s:%d: route to a Rack endpoint skipped", rel, _line(call.node))
            return
        via = verbs or _via(options.get("via")) or scope.via
        if not via:
            self.warn(f"{rel}:{_line(call.node)}: `match` without `via:` is rejected by Rails; skipped")
            return
        to = rb.string_value(options.get("to"))
        if to is None and scope.controller and scope.action:
            to = f"{scope.controller}#{scope.action}"
        controller = rb.string_value(options.get("controller")) or scope.controller
        action_option = rb.string_value(options.get("action"))
        option_path = rb.string_value(options.get("path"))
        on = rb.string_value(options.get("on"))
        line = _line(call.node)
        for path_node in paths:
            value = rb.string_value(path_node)
            if value is None:
                continue
            if path_node.type in ("string", "bare_string"):
                target = to if to or action_option else _shorthand_to(value)
                self.decomposed(scope, on, value, value, controller, action_option, target, via, rel, line)
            else:
                self.decomposed(scope, on, value, option_path, controller, action_option, to, via, rel, line)

    def decomposed(
        self,
        scope: _Scope,
        on: str | None,
        action: str,
        path: str | None,
        controller: str | None,
        action_option: str | None,
        to: str | None,
        via: tuple[str, ...],
        rel: str,
        line: int,
    ) -> None:
        if on in ("member", "collection", "new") and scope.resource is not None:
            scope = self.level(scope, on)
        elif scope.level == "resources":
            scope = self.nested(scope)
        elif scope.level == "resource":
            scope = self.level(scope, "member")
        for method in via:
            self.add(scope, method, action, path, controller, action_option, to, rel, line)

    def root_route(self, call: rb.Call, scope: _Scope, rel: str) -> None:
        options = dict(call.options)
        if call.args and (target := rb.string_value(call.args[0])) is not None:
            options["to"] = call.args[0]
            if "#" not in target:
                return
        if scope.level == "resources" and scope.resource is not None:
            scope = replace(scope, level="root", path=rails_path(scope.path, scope.resource.path))
        to = rb.string_value(options.get("to"))
        if "to" in options and to is None:
            return
        controller = rb.string_value(options.get("controller")) or scope.controller
        self.add(
            scope,
            "GET",
            "/",
            "/",
            controller,
            rb.string_value(options.get("action")),
            to,
            rel,
            _line(call.node),
        )

    def add(
        self,
        scope: _Scope,
        method: str,
        action: str,
        path: str | None,
        controller: str | None,
        action_option: str | None,
        to: str | None,
        rel: str,
        line: int,
    ) -> None:
        """Mapper#add_route and Mapping: the route's full path, controller and action."""
        if path is not None:
            full = rails_path(scope.path, path)
        elif scope.level in ("member", "collection", "new") and action in _CANONICAL_ACTIONS:
            full = rails_path(scope.path)
        else:
            full = rails_path(scope.path, scope.path_name(action))
        controller = controller or scope.controller
        default_action = action_option or scope.action
        if re.fullmatch(r"[\w\-/]+", action) and "/" not in action:
            default_action = default_action or action.replace("-", "_")
        if to and "#" in to:
            to_controller, _, to_action = to.partition("#")
            controller = to_controller or controller
            default_action = to_action or default_action
        if not controller or not default_action:
            log.info("%s:%d: route %s %s names no controller action; skipped", rel, line, method, full)
            return
        if controller.startswith("/"):
            controller = controller[1:]
        elif scope.module:
            controller = f"{scope.module}/{controller}"
        self.routes.append(_Route(method, full, controller, default_action, rel, line))


def _shorthand_to(path: str) -> str | None:
    """`get "photos/search"` means photos#search (Mapper#get_to_from_path)."""
    path = re.sub(r"\(\.:format\)$", "", path)
    if re.fullmatch(r"/?[-\w]+/[-\w/]+", path):
        head, _, last = path.removeprefix("/").rpartition("/")
        return f"{head}#{last}".replace("-", "_")
    return None


def _api_only(root: Path) -> bool:
    try:
        text = (root / "config" / "application.rb").read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*config\.api_only\s*=\s*true\b", text, re.MULTILINE) is not None


class RailsFramework(Framework):
    name = "rails"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("rails",)
    language = "ruby"
    echoes = True

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        out: list[ServiceCandidate] = []
        for path, _rel, _content in ts.iter_files(repo_root, repo_root, lambda n: n == "Gemfile"):
            root = path.parent
            if not is_rails_root(root):
                continue
            entry = "config/application.rb" if (root / "config" / "application.rb").is_file() else "config/routes.rb"
            out.append(ServiceCandidate(root=root, entrypoint=entry))
        return sorted(out, key=lambda c: c.root)

    # ------------------------------------------------------------------ discover

    def routes(self, repo_root: Path, root: Path, warnings: list[str] | None = None) -> list[_Route]:
        reader = _RoutesReader(repo_root, root, _api_only(root), warnings)
        sf = rb.parse_file(root / "config" / "routes.rb", repo_root, warnings=warnings)
        if sf is not None:
            reader.read_file(sf)
        return reader.routes

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        routes = self.routes(repo_root, root)
        controllers_dir = root / "app" / "controllers"
        files = list(rb.iter_ruby_files(controllers_dir, repo_root)) if controllers_dir.is_dir() else []
        index = rb.ClassIndex(files)
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in routes:
            if (route.path, route.method) in endpoints:
                continue  # Rails answers with the first matching route
            class_name = rb.camelize(route.controller) + "Controller"
            if not index.get(class_name):
                log.warning(
                    "%s: %s %s -> %s#%s: controller %s is not in the repository; skipped",
                    route.rel,
                    route.method,
                    route.path,
                    route.controller,
                    route.action,
                    class_name,
                )
                continue
            method = index.find_method(class_name, route.action)
            if method is None:
                log.warning(
                    "%s: %s %s -> %s#%s: no public action method; skipped",
                    route.rel,
                    route.method,
                    route.path,
                    route.controller,
                    route.action,
                )
                continue
            fields = body_fields(ts.text(method.node), route.path) if route.method in WITH_BODY else []
            endpoints[(route.path, route.method)] = Endpoint(
                method=route.method,
                path=route.path,
                handler=rb.method_handler(method.node, method.rel),
                body_fields=fields,
            )
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        puma_rb = root / "config" / "puma.rb"
        puma = rb.parse_file(puma_rb, repo_root) if puma_rb.is_file() else None
        port = (rb.env_default_port([puma]) if puma is not None else None) or DEFAULT_PORT
        files: list[ts.SourceFile] = []
        for folder in ("app", "config", "lib"):
            if (root / folder).is_dir():
                files.extend(
                    sf
                    for sf in rb.iter_ruby_files(root / folder, repo_root, contains=b"ENV")
                    # The server runs in development; production/test settings are not loaded.
                    if not re.search(r"config/environments/(?!development)", sf.rel)
                )
        rails = ["bin/rails"] if (root / "bin" / "rails").is_file() else ["bundle", "exec", "rails"]
        # Development, not production: production.rb of Rails 7.1 forces SSL (HTTP requests
        # are redirected) and wants the credentials' master key.
        env = {"RAILS_ENV": "development", "RACK_ENV": "development", **rb.env_reads(files)}
        database = root / "config" / "database.yml"
        uses_sqlite = database.is_file() and "sqlite3" in database.read_text(errors="replace")
        return RuntimeHints(
            start_command=[*rails, "server", "-b", "0.0.0.0", "-p", str(port)],
            port=port,
            env=env,
            # A file database must exist and be migrated before the first request.
            setup_commands=[" ".join([*rails, "db:prepare"])] if uses_sqlite else [],
        )

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return rb.mask_body(source, handler, "head :not_implemented")

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        # `render json:` writes a String as it is; one word and its arguments, so an
        # endless method's body can take it in parentheses (rb.mask_body).
        text = canned_json(answer)
        if answer.echo:
            statement = f"render json: request.raw_post, status: {answer.status}"
        elif text is None:
            statement = f"head {answer.status}"
        else:
            statement = f"render json: {rb.ruby_string(text)}, status: {answer.status}"
        return rb.mask_body(source, handler, statement)


def is_rails_root(root: Path) -> bool:
    """A Gemfile that depends on rails (or railties) next to config/routes.rb."""
    return bool(rb.gems(root) & {"rails", "railties"}) and (root / "config" / "routes.rb").is_file()
