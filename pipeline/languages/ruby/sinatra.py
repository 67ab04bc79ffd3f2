"""Sinatra: classic and modular apps, namespaces, extensions, and how config.ru mounts them.

Routes are `get '/path' do ... end` blocks at the top level (the classic app,
Sinatra::Application), in a class body deriving from Sinatra::Base (modular), inside
sinatra-contrib `namespace '/p' do ... end` blocks, or in an extension's
`def self.registered(app)` as `app.get ...`. An app serves its own routes, those of the apps
it `use`s as middleware, of the extensions it `register`s, and of its superclasses (Sinatra
walks the superclass chain when routing). Where an app is served comes from config.ru
(`map`, `run`, `use`, Rack::URLMap, Rack::Cascade); without config.ru the apps that run
themselves (or every app that no other app includes) are served at "/".

A route's handler is its block, reported with the name "<anonymous>" (the Handler
convention for inline closures); the byte ranges pin down which block it is. Sinatra also
answers HEAD for every GET route; only the GET is reported. Routes whose pattern is not a
literal string (regular expressions, interpolation) are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.ruby import discovery as rb
from pipeline.languages.ruby.rails import is_rails_root
from pipeline.languages.ruby.request_body import WITH_BODY
from pipeline.languages.ruby.request_body import json_body_fields as body_fields
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

DEFAULT_PORT = 4567
CLASSIC = "Sinatra::Application"
_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "link", "unlink"}
_SINATRA_GEMS = {"sinatra", "sinatra-contrib"}
_SERVER_GEMS = {"puma", "thin", "webrick", "falcon", "unicorn", "passenger", "iodine", "agoo", "rainbows"}
_ENTRY_NAMES = ("app.rb", "application.rb", "server.rb", "main.rb", "web.rb", "api.rb")
_MAX_DEPTH = 30


def mount_join(prefix: str, path: str) -> str:
    """A route under a Rack mount point: "/api" + "/" is served at "/api"."""
    if not prefix or prefix == "/":
        return path or "/"
    if path in ("", "/"):
        return prefix.rstrip("/") or "/"
    return prefix.rstrip("/") + (path if path.startswith("/") else "/" + path)


@dataclass
class _Route:
    owner: str
    method: str
    path: str
    rel: str
    call: Node
    block: Node


@dataclass
class _Owner:
    """What one app class (all its reopenings), the classic app or an extension declares."""

    routes: list[_Route] = field(default_factory=list)
    #: (constant as written, lexical nesting) of `use X` / `register X`
    uses: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    registers: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    runs: bool = False


class _Analysis:
    def __init__(self, files: list[ts.SourceFile]) -> None:
        self.files = files
        self.index = rb.ClassIndex(files)
        self.owners: dict[str, _Owner] = {}
        #: config.ru, when the service has one at its root
        self.rackup: ts.SourceFile | None = None
        for sf in files:
            self.collect(sf, rb.statements(sf.root), (), CLASSIC, "", None)

    def owner(self, name: str) -> _Owner:
        return self.owners.setdefault(name.lower(), _Owner())

    def collect(
        self,
        sf: ts.SourceFile,
        body: list[Node],
        nesting: tuple[str, ...],
        owner: str | None,
        prefix: str,
        receiver: str | None,
    ) -> None:
        """Routes, uses and registers of `body`; `receiver` is the app parameter of `registered`."""
        for stmt in body:
            if stmt.type in ("class", "module"):
                own = rb.constant_name(stmt.child_by_field_name("name"))
                if own is None:
                    continue
                full = own[2:] if own.startswith("::") else f"{nesting[-1]}::{own}" if nesting else own
                inner_owner = full if stmt.type == "class" else None
                self.collect(sf, rb.statements(stmt), (*nesting, full), inner_owner, "", None)
            elif stmt.type in ("if", "unless"):
                self.collect(sf, rb.branches(stmt), nesting, owner, prefix, receiver)
            elif stmt.type == "begin":
                self.collect(sf, rb.statements(stmt), nesting, owner, prefix, receiver)
            elif stmt.type == "singleton_method" and nesting and _method_name(stmt) == "registered":
                params = stmt.child_by_field_name("parameters")
                names = [ts.text(p) for p in params.named_children] if params is not None else []
                if names:
                    self.collect(sf, rb.statements(stmt), nesting, nesting[-1], "", names[0])
            elif stmt.type in ("if_modifier", "unless_modifier"):
                # `run! if app_file == $0`
                inner = stmt.named_children[0] if stmt.named_children else None
                if inner is not None:
                    self.collect(sf, [inner], nesting, owner, prefix, receiver)
            else:
                call = rb.as_call(stmt)
                if call is not None:
                    self.call(sf, call, nesting, owner, prefix, receiver)

    def call(
        self,
        sf: ts.SourceFile,
        call: rb.Call,
        nesting: tuple[str, ...],
        owner: str | None,
        prefix: str,
        receiver: str | None,
    ) -> None:
        on_self = call.receiver is None if receiver is None else ts.text(call.receiver) == receiver
        if call.name == "run!" and call.receiver is not None:
            target = rb.constant_name(call.receiver)  # App.run! from a launcher script
            if target is not None:
                self.owner(self.resolve(target, nesting) or target).runs = True
            return
        if not on_self or owner is None:
            return
        if call.name in _VERBS or call.name == "route":
            self.route(sf, call, owner, prefix)
        elif call.name == "namespace" and call.block is not None:
            sub = rb.string_value(call.args[0]) if call.args else ""
            if sub is None:
                log.info("%s: namespace with a pattern that is not a literal string; skipped", sf.rel)
                return
            # The block runs in the namespace itself: its routes are receiver-less even in `registered`.
            self.collect(sf, rb.statements(call.block), nesting, owner, prefix + sub, None)
        elif call.name in ("use", "register"):
            for arg in call.args:
                name = rb.constant_name(arg)
                if name is not None:
                    target = self.owner(owner).uses if call.name == "use" else self.owner(owner).registers
                    target.append((name, nesting))
        elif call.name == "run!":
            self.owner(owner).runs = True

    def route(self, sf: ts.SourceFile, call: rb.Call, owner: str, prefix: str) -> None:
        if call.block is None:
            return
        args = list(call.args)
        if call.name == "route":
            # `route 'GET', '/path' do` (Sinatra::Base) and MultiRoute's `route :get, :post, '/path' do`
            verbs = {v.upper() for v in _VERBS}
            methods = [v.upper() for v in map(rb.string_value, args) if v and v.upper() in verbs]
            args = [a for a in args if (v := rb.string_value(a)) is None or v.upper() not in verbs]
        else:
            methods = [call.name.upper()]
        if args:
            path = rb.string_value(args[0])
            if path is None:
                log.info("%s:%d: route pattern is not a literal string; skipped", sf.rel, call.node.start_point[0] + 1)
                return
        elif prefix:
            path = ""  # `get do ... end` inside a namespace answers the namespace's own path
        else:
            return
        full = prefix + path
        for method in methods:
            self.owner(owner).routes.append(_Route(owner, method, full or "/", sf.rel, call.node, call.block))

    # ------------------------------------------------------------ apps and mounts

    def resolve(self, name: str, nesting: tuple[str, ...]) -> str | None:
        if name.removeprefix("::") in (CLASSIC, "Sinatra::Base"):
            return CLASSIC if name.removeprefix("::") == CLASSIC else None
        found = self.index.resolve(name, nesting)
        if found is not None:
            return found
        # A constant written relative to a module config.ru does not see: match on the tail.
        tails = sorted({d.name for defs in self.index.defs.values() for d in defs if d.name.endswith("::" + name)})
        return tails[0] if len(tails) == 1 else None

    def is_app(self, name: str) -> bool:
        if name == CLASSIC:
            return True
        for klass in self.index.ancestors(name):
            written, resolved = self.index.superclass_of(klass)
            if written is not None and written.removeprefix("::") in ("Sinatra::Base", CLASSIC):
                return True
            if resolved is None:
                return False
        return False

    def superclass(self, name: str) -> str | None:
        written, resolved = self.index.superclass_of(name)
        if written is not None and written.removeprefix("::") == CLASSIC:
            return CLASSIC
        return resolved if resolved is not None and self.is_app(resolved) else None

    def served(self, app: str, prefix: str, out: list[tuple[_Route, str]], trail: tuple[str, ...] = ()) -> None:
        """Every route `app` answers when mounted at `prefix`, in the order Sinatra tries them."""
        if app.lower() in trail or len(trail) > _MAX_DEPTH:
            return
        trail = (*trail, app.lower())
        declared = self.owners.get(app.lower(), _Owner())
        # Middleware (`use`) sees the request before the app's own routes.
        for name, nesting in declared.uses:
            used = self.resolve(name, nesting)
            if used is not None and self.is_app(used):
                self.served(used, prefix, out, trail)
        out.extend((r, mount_join(prefix, r.path)) for r in declared.routes)
        for name, nesting in declared.registers:
            extension = self.resolve(name, nesting)
            if extension is not None and extension.lower() not in trail:
                out.extend((r, mount_join(prefix, r.path)) for r in self.owners.get(extension.lower(), _Owner()).routes)
        parent = self.superclass(app) if app != CLASSIC else None
        if parent is not None:
            self.served(parent, prefix, out, trail)

    def app_names(self) -> list[str]:
        names = {d.name for defs in self.index.defs.values() for d in defs if d.kind == "class"}
        return sorted(n for n in names if self.is_app(n))

    def mounted(self) -> list[tuple[str, str]]:
        """(app, prefix) of every app the service serves."""
        mounts: list[tuple[str, str]] = []
        if self.rackup is not None:
            self.builder(rb.statements(self.rackup.root), "", mounts, 0)
        if mounts:
            return mounts
        apps = self.app_names()
        classic = self.owners.get(CLASSIC.lower())
        if classic is not None and (classic.routes or classic.uses or classic.registers):
            mounts.append((CLASSIC, ""))
        running = [a for a in apps if self.owners.get(a.lower(), _Owner()).runs]
        if running:
            mounts.extend((a, "") for a in running)
        elif not mounts:
            # No launcher known: every app that no other app builds on or includes.
            included: set[str] = set()
            for app in apps:
                parent = self.superclass(app)
                if parent is not None:
                    included.add(parent.lower())
                for name, nesting in self.owners.get(app.lower(), _Owner()).uses:
                    used = self.resolve(name, nesting)
                    if used is not None:
                        included.add(used.lower())
            mounts.extend((a, "") for a in apps if a.lower() not in included)
        return mounts

    def builder(self, body: list[Node], prefix: str, mounts: list[tuple[str, str]], depth: int) -> None:
        """Rack::Builder's DSL in config.ru: map / run / use."""
        if depth > _MAX_DEPTH:
            return
        for stmt in body:
            if stmt.type in ("if", "unless"):
                self.builder(rb.branches(stmt), prefix, mounts, depth + 1)
                continue
            call = rb.as_call(stmt)
            if call is None or call.receiver is not None:
                continue
            if call.name == "map" and call.args and call.block is not None:
                location = rb.string_value(call.args[0])
                if location is not None:
                    self.builder(rb.statements(call.block), mount_join(prefix, location), mounts, depth + 1)
            elif call.name in ("run", "use") and call.args:
                self.rack_app(call.args[0], prefix, mounts, depth + 1)

    def rack_app(self, node: Node, prefix: str, mounts: list[tuple[str, str]], depth: int) -> None:
        name = rb.constant_name(node)
        if name is not None:
            app = self.resolve(name, ())
            if app is not None and self.is_app(app):
                mounts.append((app, prefix))
            return
        call = rb.as_call(node) if node.type == "call" else None
        if call is None or call.receiver is None:
            return
        target = rb.constant_name(call.receiver)
        if target in ("Rack::URLMap", "::Rack::URLMap") and call.name == "new":
            for key, value in call.pairs:
                location = rb.string_value(key)
                if location is not None:
                    self.rack_app(value, mount_join(prefix, location), mounts, depth + 1)
        elif target in ("Rack::Cascade", "::Rack::Cascade") and call.name == "new" and call.args:
            for item in call.args[0].named_children if call.args[0].type == "array" else []:
                self.rack_app(item, prefix, mounts, depth + 1)
        elif target in ("Rack::Builder", "::Rack::Builder") and call.block is not None:
            self.builder(rb.statements(call.block), prefix, mounts, depth + 1)
        elif call.name == "new" and target is not None:
            self.rack_app(call.receiver, prefix, mounts, depth + 1)


class SinatraFramework(Framework):
    name = "sinatra"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("sinatra",)
    language = "ruby"
    echoes = True

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        roots: set[Path] = set()
        manifests = False
        for path, _rel, _content in ts.iter_files(
            repo_root, repo_root, lambda n: n == "Gemfile" or n.endswith(".gemspec")
        ):
            manifests = True
            if rb.gems(path.parent) & _SINATRA_GEMS and not is_rails_root(path.parent):
                roots.add(path.parent)
        if not manifests:
            # Scripts without a Gemfile: a file that requires sinatra makes its folder an app.
            for path, _rel, content in ts.iter_files(repo_root, repo_root, lambda n: n.endswith((".rb", ".ru"))):
                if _requires_sinatra(content) and not any(path.is_relative_to(r) for r in roots):
                    roots.add(path.parent)
        return [ServiceCandidate(root=root, entrypoint=_entrypoint(root)) for root in sorted(roots)]

    # ------------------------------------------------------------------ discover

    def _analysis(self, repo_root: Path, root: Path) -> _Analysis:
        files = list(rb.iter_ruby_files(root, repo_root))
        analysis = _Analysis(files)
        analysis.rackup = next((sf for sf in files if sf.path == root / "config.ru"), None)
        return analysis

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        analysis = self._analysis(repo_root, service.root.resolve())
        served: list[tuple[_Route, str]] = []
        for app, prefix in analysis.mounted():
            analysis.served(app, prefix, served)
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route, path in served:
            key = (path, route.method)
            if key not in endpoints:  # Sinatra answers with the first route that matches
                fields = body_fields(ts.text(route.block), path) if route.method in WITH_BODY else []
                endpoints[key] = Endpoint(
                    method=route.method,
                    path=path,
                    handler=rb.block_handler(route.call, route.block, route.rel),
                    body_fields=fields,
                )
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        analysis = self._analysis(repo_root, root)
        port = _set_port(analysis.files) or rb.env_default_port(analysis.files) or DEFAULT_PORT
        entry = service.entrypoint or _entrypoint(root)
        gems = rb.gems(root)
        extra: list[str] = []
        if analysis.rackup is not None:
            command = ["rackup", "-o", "0.0.0.0", "-p", str(port)]
            if "rackup" not in gems:
                extra.append("rackup")  # Rack 3 moved the rackup command into its own gem
        else:
            mounts = [app for app, _ in analysis.mounted()]
            modular = next((a for a in mounts if a != CLASSIC), None)
            if modular is None and entry is not None:
                # The classic app parses -o/-p itself when the script runs.
                command = ["ruby", entry, "-o", "0.0.0.0", "-p", str(port)]
            else:
                app = modular or CLASSIC
                script = entry or _defining_file(analysis, app, repo_root, root) or "app.rb"
                command = ["ruby", "-e", f"require './{script}'; {app}.run!(bind: '0.0.0.0', port: {port})"]
        if not gems & _SERVER_GEMS:
            extra.append("webrick")  # Ruby 3 no longer ships a web server Sinatra can start
        env = rb.env_reads(analysis.files)
        if any(b"PORT" in sf.source and b"ENV" in sf.source for sf in analysis.files):
            env["PORT"] = str(port)
        return RuntimeHints(start_command=command, port=port, extra_packages=extra, env=dict(sorted(env.items())))

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return rb.mask_body(source, handler, "halt 501")

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        text = canned_json(answer)
        json_type = "{'Content-Type' => 'application/json'}"
        if answer.echo:
            statement = f"halt {answer.status}, {json_type}, request.body.read"
        elif text is None:
            statement = f"halt {answer.status}"
        else:
            statement = f"halt {answer.status}, {json_type}, {rb.ruby_string(text)}"
        return rb.mask_body(source, handler, statement)


def _method_name(node: Node) -> str:
    return ts.text(node.child_by_field_name("name"))


def _defining_file(analysis: _Analysis, app: str, repo_root: Path, root: Path) -> str | None:
    """The file (relative to the service root) that defines an app class or the classic routes."""
    if app == CLASSIC:
        routes = analysis.owners.get(CLASSIC.lower(), _Owner()).routes
        rel = routes[0].rel if routes else None
    else:
        defs = analysis.index.get(app)
        rel = defs[0].rel if defs else None
    if rel is None:
        return None
    try:
        return (repo_root / rel).relative_to(root).as_posix()
    except ValueError:
        return None


def _requires_sinatra(content: bytes) -> bool:
    head = content[:20_000]
    return any(
        marker in head
        for marker in (b"require 'sinatra'", b'require "sinatra"', b"require 'sinatra/base'", b'require "sinatra/base"')
    )


def _entrypoint(root: Path) -> str | None:
    """config.ru, else the script that starts the app (`run!`) or requires sinatra."""
    if (root / "config.ru").is_file():
        return "config.ru"
    scripts: list[str] = []
    for path in sorted(p for p in root.glob("*.rb") if p.is_file()):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        if b"run!" in content:
            return path.name
        if _requires_sinatra(content):
            scripts.append(path.name)
    preferred = [name for name in scripts if name in _ENTRY_NAMES] or scripts
    if preferred:
        return preferred[0]
    return next((name for name in _ENTRY_NAMES if (root / name).is_file()), None)


def _set_port(files: list[ts.SourceFile]) -> int | None:
    """`set :port, 8080` (or `set :port, ENV.fetch('PORT', 8080)`, `ENV['PORT'] || 8080`)."""
    for sf in files:
        if b":port" not in sf.source:
            continue
        for node in ts.find_all(sf.root, "call"):
            call = rb.as_call(node)
            if call is None or call.name != "set" or len(call.args) < 2 or rb.string_value(call.args[0]) != "port":
                continue
            value = call.args[1]
            port = rb.int_value(value)
            if port is None and value.type == "binary":
                port = rb.int_value(value.child_by_field_name("right"))
            if port is None and value.type == "call":
                fetch = rb.as_call(value)
                if fetch is not None and fetch.name == "fetch" and len(fetch.args) > 1:
                    port = rb.int_value(fetch.args[1])
            if port is not None:
                return port
    return None
