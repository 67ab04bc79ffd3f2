"""The abstract interpreter that finds Go routes, and the `Dialect` hook frameworks plug into it.

Go routers are plain values handed around between functions and packages
(`api.Register(r.Group("/api"))`, `r.Mount("/users", users.Routes())`), so the routes are
found by a small abstract interpreter that starts at `func main()` and follows calls into
the module's own functions, tracking router values, struct fields and closures. Code that
`main` never reaches (a decoy handler, an unused router) never registers anything. A
function handed to code the interpreter does not run (a CLI command's `Run`, stored in a
`cobra.Command`, or a callback given to a library call) and that nothing it runs calls is
run afterwards as a root of its own, since the library will call it. The
framework modules (gin.py, echo.py, chi.py, gorillamux.py, ...) add a `Dialect` that says what
their constructors and router methods do; net/http itself is understood by every dialect
because every Go service uses it (`http.ListenAndServe`, `http.HandlerFunc`, ...). It only
records routers, routes and listens: turning them into endpoints (routes.py) and runtime
hints (runtime_hints.py) happens on its results, elsewhere.
"""

from __future__ import annotations

from typing import ClassVar

from pipeline.languages import treesitter as ts
from pipeline.languages.go.project import GoFile, GoPackage, GoProject
from pipeline.languages.go.syntax import (
    _METHOD_CONSTANTS,
    DECLARATION_TYPES,
    NET_HTTP,
    Node,
    _inside,
    arguments,
    parameters,
    specs_of,
    statements,
    string_value,
)
from pipeline.languages.go.values import (
    DEFAULT_MUX,
    UNHANDLED,
    Ctx,
    Edge,
    Env,
    EnvVar,
    Escape,
    Frame,
    FuncVal,
    Listen,
    Obj,
    Partial,
    PkgRef,
    RawRoute,
    Router,
    Strip,
    _stdlib_call,
    concat,
    flag_call,
)

DEFAULT_PORT = 8080
#: Limits that keep the interpreter linear on odd code (deep recursion, huge call graphs).
_MAX_DEPTH = 40
_MAX_CALLS = 20_000
_MAX_STATEMENTS = 300_000
_MAX_ITEMS = 500


class PackageScope(Env):
    """Package-level names: functions, and variables evaluated lazily on first use."""

    def __init__(self, interp: Interpreter, pkg: GoPackage) -> None:
        super().__init__(None)
        self.interp = interp
        self.pkg = pkg

    def own(self, name: str) -> tuple[bool, object]:
        if name in self.vars:
            return True, self.vars[name]
        if name in self.pkg.vars:
            spec, index, gf = self.pkg.vars[name]
            self.vars[name] = None  # guards against initialisers that refer to themselves
            self.vars[name] = self.interp.eval_spec_value(spec, index, gf)
            return True, self.vars[name]
        if name in self.pkg.funcs:
            node, gf = self.pkg.funcs[name]
            return True, FuncVal(node, gf)
        return False, None


class Dialect:
    """What one framework's constructors and router methods do in the interpreter."""

    #: router kind this dialect owns ("gin", "echo", "chi", "mux")
    kind: ClassVar[str]
    #: import paths of the framework's package
    packages: ClassVar[tuple[str, ...]] = ()
    default_port: ClassVar[int] = DEFAULT_PORT

    def join(self, prefix: str, path: str) -> str:
        """A route path under a mount/group prefix, as the framework joins them."""
        if not prefix:
            return path or "/"
        if not path:
            return prefix
        return prefix.rstrip("/") + (path if path.startswith("/") else "/" + path)

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        """A call of a package-level function of the framework; UNHANDLED when not understood."""
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        return None


class NetHttpDialect(Dialect):
    """net/http: ServeMux, the default mux, StripPrefix mounts, servers."""

    kind = "mux"
    packages = (NET_HTTP,)

    def external_call(self, it: Interpreter, name: str, call: Node, args: list[object], ctx: Ctx) -> object:
        if name == "NewServeMux":
            return it.new_router(self.kind, ctx, call)
        if name in ("HandleFunc", "Handle"):
            self.register(it, it.default_mux(), call, args, ctx)
            return None
        if name == "StripPrefix" and len(args) == 2 and isinstance(args[0], str):
            return Strip(args[0], args[1])
        if name in ("HandlerFunc", "TimeoutHandler", "MaxBytesHandler", "AllowQuerySemicolons") and args:
            return args[0]
        if name in ("ListenAndServe", "ListenAndServeTLS") and args:
            at = 1 if name == "ListenAndServe" else 3
            nodes = arguments(call)
            serves = DEFAULT_MUX if len(nodes) > at and ts.text(nodes[at]) == "nil" else None
            it.listens.append(Listen(args[0], serves=args[at] if len(args) > at and args[at] is not None else serves))
            return None
        return UNHANDLED

    def router_call(
        self, it: Interpreter, router: Router, name: str, call: Node, args: list[object], ctx: Ctx
    ) -> object:
        if name in ("HandleFunc", "Handle"):
            self.register(it, router, call, args, ctx)
        return None

    def register(self, it: Interpreter, router: Router, call: Node, args: list[object], ctx: Ctx) -> None:
        if len(args) < 2 or not isinstance(args[0], str):
            return
        method, path = split_pattern(args[0])
        value = args[1]
        if isinstance(value, Strip) and isinstance(value.inner, Router):
            it.edges.append(Edge(router, value.prefix, value.inner))
        elif isinstance(value, Router):
            # A sub-mux handed the full path sees its own patterns unchanged.
            it.edges.append(Edge(router, "", value))
        else:
            it.add_route(router, method or "ANY", path, value, arguments(call)[1], ctx)


def split_pattern(pattern: str) -> tuple[str | None, str]:
    """Go 1.22 ServeMux pattern `[METHOD ][HOST]/PATH` -> (method or None, path)."""
    pattern = pattern.strip()
    method = None
    head, sep, rest = pattern.partition(" ")
    if sep and head.upper() == head and head.isalpha():
        method, pattern = head, rest.lstrip(" \t")
    if not pattern.startswith("/") and "/" in pattern:
        pattern = pattern[pattern.index("/") :]  # host-specific pattern: the path part
    return method, pattern


class Interpreter:
    """Runs `main` (and the `init`s it pulls in) abstractly, recording routers and routes."""

    def __init__(self, project: GoProject, dialects: list[Dialect]) -> None:
        self.project = project
        self.dialects = [*dialects, NetHttpDialect()] if not any(d.kind == "mux" for d in dialects) else dialects
        self.by_kind = {d.kind: d for d in self.dialects}
        #: import paths of net/http and the router packages: what request handlers take
        self.routing = {NET_HTTP, *(p for d in self.dialects for p in d.packages)}
        self.routes: list[RawRoute] = []
        self.edges: list[Edge] = []
        self.routers: list[Router] = []
        self.listens: list[Listen] = []
        self.scopes: dict[str, PackageScope] = {}
        self.active: set[tuple[str, int]] = set()
        self.calls = 0
        self.statements = 0
        #: results of calls whose arguments are plain values: a helper called from many
        #: places runs once, which keeps the walk linear in the size of the call graph
        self.memo: dict[tuple[object, ...], object] = {}
        self._default_mux: Router | None = None
        #: functions that started running (by their definition)
        self.called: set[tuple[str, int]] = set()
        #: functions handed to code the interpreter does not run, in the order they were
        self.escapes: list[Escape] = []
        self._escape_of: dict[tuple[str, int], Escape] = {}
        #: stands for the values the interpreter does not follow (`app := cli.NewApp()`) as the
        #: owner of the library values stored in them (`app.Commands = ...`)
        self.unfollowed = Obj(None)
        #: CLI flag name -> default (`&cli.StringFlag{Name: "port", Value: "4000"}`)
        self.flag_defaults: dict[str, object] = {}
        #: routes and listens `main` (and the `init`s) recorded before any escaped root ran
        self.main_found = (0, 0)

    # ------------------------------------------------------------------ entry points

    def run_main(self, pkg: GoPackage) -> None:
        for pkg_dir in self.project.imported_dirs(pkg.dir):
            for node, gf in self.project.packages[pkg_dir].inits:
                self.invoke(FuncVal(node, gf), [])
        node, gf = pkg.funcs["main"]
        self.invoke(FuncVal(node, gf), [])
        self.main_found = (len(self.routes), len(self.listens))
        self.run_escaped()

    def run_escaped(self) -> None:
        """Run, once each and in the order they escaped, the functions handed to code the
        interpreter does not run that nothing it ran calls: a CLI library calls a command's
        `Run`/`Action` (where many servers build their router), a DI container its
        constructors. Request handlers and middlewares are left to their routers."""
        handlers: set[tuple[str, int]] = set()
        seen_routes = 0
        index = 0
        while index < len(self.escapes) and self.calls < _MAX_CALLS:  # roots may hand on more
            escape = self.escapes[index]
            index += 1
            for route in self.routes[seen_routes:]:
                if isinstance(route.value, FuncVal):
                    handlers.add(_key(route.value))
            seen_routes = len(self.routes)
            key = _key(escape.fn)
            if key in self.called or key in handlers or self.serves_requests(escape.fn):
                continue
            routes, listens = len(self.routes), len(self.listens)
            self.invoke(escape.fn, [])
            escape.routes, escape.listens = len(self.routes) - routes, self.listens[listens:]

    def scope(self, pkg_dir: str) -> PackageScope:
        if pkg_dir not in self.scopes:
            self.scopes[pkg_dir] = PackageScope(self, self.project.packages[pkg_dir])
        return self.scopes[pkg_dir]

    # ------------------------------------------------------------------ recording

    def new_router(self, kind: str, ctx: Ctx, node: Node) -> Router:
        router = Router(kind, f"{ctx.file.rel}:{node.start_point.row + 1}")
        self.routers.append(router)
        return router

    def default_mux(self) -> Router:
        if self._default_mux is None:
            self._default_mux = Router("mux", DEFAULT_MUX)
            self.routers.append(self._default_mux)
        return self._default_mux

    def add_route(self, router: Router, method: str, path: str, value: object, node: Node | None, ctx: Ctx) -> None:
        value = self.as_handler(value) or value
        self.routes.append(RawRoute(router, method.upper(), path, value, node, ctx.file))

    def add_group(self, parent: Router, prefix: str, ctx: Ctx, node: Node) -> Router:
        child = self.new_router(parent.kind, ctx, node)
        self.edges.append(Edge(parent, prefix, child))
        return child

    # ------------------------------------------------------------------ escapes

    def serves_requests(self, fn: FuncVal) -> bool:
        """Whether `fn` takes a value of net/http or of a router package: a request handler or a
        middleware, which a router calls with a request (or a setup function that needs a
        router, which no unknown argument can stand for)."""
        for _name, typ in parameters(fn.node):
            for node in ts.find_all(typ, "qualified_type") if typ is not None else ():
                if fn.file.imports.get(ts.text(node.child_by_field_name("package"))) in self.routing:
                    return True
        return False

    def escape(self, value: object, holder: Obj | None = None) -> None:
        """`value` is handed to code the interpreter does not run, stored in `holder` (a value of
        a library type) when there is one: its functions may be roots (run_escaped)."""
        for item in value[:_MAX_ITEMS] if isinstance(value, list) else [value]:
            if isinstance(item, FuncVal):
                key = _key(item)
                if key not in self._escape_of:
                    self._escape_of[key] = Escape(item)
                    self.escapes.append(self._escape_of[key])
                found = self._escape_of[key]
                if holder is not None and not any(h is holder for h in found.holders):
                    found.holders.append(holder)
            elif holder is not None:
                self.attach(item, holder)

    def attach(self, value: object, owner: Obj) -> None:
        """Library values stored in `owner` hang under it (a subcommand under its command)."""
        for item in value[:_MAX_ITEMS] if isinstance(value, list) else [value]:
            if isinstance(item, Obj) and item is not owner and item.owner is None and self.is_library_value(item):
                item.owner = owner

    def is_library_value(self, value: object) -> bool:
        """A struct value of a type declared outside the module (`cobra.Command`, `cli.App`)."""
        return isinstance(value, Obj) and value.type is not None and value.type[0] not in self.project.packages

    # ------------------------------------------------------------------ calls

    def invoke(self, fn: FuncVal, args: list[object]) -> object:
        node = fn.node
        key = _key(fn)
        body = node.child_by_field_name("body")
        if body is None or key in self.active or len(self.active) >= _MAX_DEPTH or self.calls >= _MAX_CALLS:
            return None
        self.called.add(key)
        memo_key: tuple[object, ...] | None = None
        if all(isinstance(a, (str, int, EnvVar, Partial)) or a is None for a in args):
            memo_key = (key, fn.receiver if isinstance(fn.receiver, (Obj, Router)) else None, fn.env, *args)
            if memo_key in self.memo:
                return self.memo[memo_key]
        self.calls += 1
        env = Env(fn.env if fn.env is not None else self.scope(fn.file.pkg_dir))
        if node.type == "method_declaration":
            recv = parameters(node, "receiver")
            if recv and recv[0][0] not in (None, "_"):
                value = fn.receiver if fn.receiver is not None else self.typed_value(recv[0][1], fn.file)
                env.vars[str(recv[0][0])] = value
        params = parameters(node)
        plist = node.child_by_field_name("parameters")
        variadic = plist is not None and any(c.type == "variadic_parameter_declaration" for c in plist.named_children)
        for index, (name, typ) in enumerate(params):
            if name in (None, "_"):
                continue
            if variadic and index == len(params) - 1:
                value: object = list(args[index:])
            else:
                value = args[index] if index < len(args) else None
                if value is None:
                    value = self.typed_value(typ, fn.file)
            env.vars[str(name)] = value
        frame = Frame()
        self.active.add(key)
        try:
            self.exec_block(body, Ctx(fn.file, env, frame))
        finally:
            self.active.discard(key)
        result = frame.best()
        if result is None and node.type in DECLARATION_TYPES:
            result = self.typed_value(node.child_by_field_name("result"), fn.file)
        if memo_key is not None:
            self.memo[memo_key] = result
        return result

    def typed_value(self, typ: Node | None, gf: GoFile) -> object:
        """An empty struct value of a module type (`*Handler`, `handlers.Users`), else None."""
        while typ is not None and typ.type in ("pointer_type", "parenthesized_type"):
            typ = typ.named_children[0] if typ.named_children else None
        if typ is None:
            return None
        if typ.type == "type_identifier":
            name = ts.text(typ)
            pkg = self.project.packages.get(gf.pkg_dir)
            return Obj((gf.pkg_dir, name)) if pkg is not None and name in pkg.types else None
        if typ.type == "qualified_type":
            path = gf.imports.get(ts.text(typ.child_by_field_name("package")))
            target = self.project.internal_dir(path) if path else None
            name = ts.text(typ.child_by_field_name("name"))
            if target is not None and target in self.project.packages and name in self.project.packages[target].types:
                return Obj((target, name))
        return None

    def member(self, obj: Obj, name: str) -> object:
        """A field or method of a struct value, looking through embedded fields."""
        if name in obj.fields:
            return obj.fields[name]
        if obj.type is None or obj.type[0] not in self.project.packages:
            return None
        pkg = self.project.packages[obj.type[0]]
        method = pkg.methods.get((obj.type[1], name))
        if method is not None:
            return FuncVal(method[0], method[1], receiver=obj)
        spec = pkg.types.get(obj.type[1])
        if spec is None:
            return None
        struct = spec[0].child_by_field_name("type")
        if struct is None or struct.type != "struct_type":
            return None
        for decl in ts.find_all(struct, "field_declaration"):
            names = [ts.text(n) for n in decl.children_by_field_name("name")]
            typ = decl.child_by_field_name("type")
            if name in names:
                value = self.typed_value(typ, spec[1])
                obj.fields[name] = value
                return value
            if not names and typ is not None:  # embedded field: promoted members
                inner = self.typed_value(typ, spec[1])
                if isinstance(inner, Obj) and inner.type != obj.type:
                    found = self.member(inner, name)
                    if found is not None:
                        return found
        return None

    def package_member(self, pkg_dir: str, name: str) -> object:
        if pkg_dir not in self.project.packages:
            return None
        return self.scope(pkg_dir).own(name)[1]

    def call(self, node: Node, ctx: Ctx) -> object:
        fn_node = node.child_by_field_name("function")
        if fn_node is None:
            return None
        arg_nodes = arguments(node)
        if fn_node.type == "selector_expression":
            operand = fn_node.child_by_field_name("operand")
            name = ts.text(fn_node.child_by_field_name("field"))
            base = self.eval(operand, ctx)
            args = [self.eval(a, ctx) for a in arg_nodes]
            if isinstance(base, PkgRef) and base.internal is None:
                result = self.external_call(base.path, name, node, args, ctx)
                return self.unknown_call(args) if result is UNHANDLED else result
            if isinstance(base, Router):
                dialect = self.by_kind.get(base.kind)
                return dialect.router_call(self, base, name, node, args, ctx) if dialect else None
            if isinstance(base, PkgRef):
                target = self.package_member(str(base.internal), name)
            elif isinstance(base, Obj):
                if base.type == (NET_HTTP, "Server") and name in ("ListenAndServe", "ListenAndServeTLS"):
                    serves = base.fields.get("Handler") if "Handler" in base.fields else DEFAULT_MUX
                    self.listens.append(Listen(base.fields.get("Addr"), serves=serves))
                    return None
                target = self.member(base, name)
                if target is None and self.is_library_value(base):
                    # `root.AddCommand(serve)`: the library keeps the arguments under the receiver.
                    for arg in args:
                        self.escape(arg, base)
            else:
                target = None
                if base is None:
                    for arg in args:  # `app.AddCommand(serve)` on an app not followed
                        self.attach(arg, self.unfollowed)
        else:
            target = self.eval(fn_node, ctx)
            args = [self.eval(a, ctx) for a in arg_nodes]
        if isinstance(target, FuncVal):
            result = self.invoke(target, args)
            if isinstance(result, FuncVal) and result.node.type == "func_literal" and _inside(result.node, target.node):
                # A module function that takes a handler and returns a closure is a
                # middleware (`auth(next)`): the wrapped handler is what answers.
                wrapped = [h for h in map(self.as_handler, args) if h is not None]
                if wrapped:
                    return wrapped[-1]
            return result
        if fn_node.type == "selector_expression":
            # Flags give addresses and path prefixes (`":" + cmd.String("port")`).
            method = ts.text(fn_node.child_by_field_name("field"))
            flag = flag_call(self.flag_defaults, method, node, args, ctx)
            if flag is not UNHANDLED:
                return flag
        return self.unknown_call(args)

    def unknown_call(self, args: list[object]) -> object:
        """A call the interpreter does not know: wrappers pass their handler through."""
        for arg in args:
            # sync.Once.Do(func() {...}), errgroup.Go(func() error {...}) run their closure.
            if isinstance(arg, FuncVal) and arg.node.type == "func_literal" and not parameters(arg.node):
                self.invoke(arg, [])
            self.escape(arg)
        wrapped = [h for h in map(self.as_handler, args) if h is not None]
        return wrapped[0] if len(wrapped) == 1 else None

    def as_handler(self, value: object) -> FuncVal | Router | None:
        """A value that can answer requests: a function, a router, or a struct of the module
        whose ServeHTTP method answers (`auth(&filesHandler{})`)."""
        if isinstance(value, (FuncVal, Router)):
            return value
        if isinstance(value, Obj):
            method = self.member(value, "ServeHTTP")
            if isinstance(method, FuncVal) and method.node.type == "method_declaration":
                return method
        return None

    def external_call(self, path: str, name: str, node: Node, args: list[object], ctx: Ctx) -> object:
        for dialect in self.dialects:
            if path in dialect.packages:
                result = dialect.external_call(self, name, node, args, ctx)
                if result is not UNHANDLED:
                    return result
        for arg in args:
            self.escape(arg)
        return _stdlib_call(path, name, node, args, ctx)

    # ------------------------------------------------------------------ expressions

    def eval(self, node: Node | None, ctx: Ctx) -> object:
        if node is None:
            return None
        kind = node.type
        if kind in ("interpreted_string_literal", "raw_string_literal"):
            return string_value(node)
        if kind == "int_literal":
            try:
                return int(ts.text(node).replace("_", ""), 0)
            except ValueError:
                return None
        if kind == "identifier":
            return self.identifier(ts.text(node), ctx)
        if kind == "parenthesized_expression":
            return self.eval(node.named_children[0] if node.named_children else None, ctx)
        if kind == "unary_expression":
            return self.eval(node.child_by_field_name("operand"), ctx)
        if kind == "call_expression":
            return self.call(node, ctx)
        if kind == "func_literal":
            return FuncVal(node, ctx.file, env=ctx.env)
        if kind == "selector_expression":
            base = self.eval(node.child_by_field_name("operand"), ctx)
            name = ts.text(node.child_by_field_name("field"))
            if isinstance(base, PkgRef):
                if base.internal is None:
                    return _METHOD_CONSTANTS.get(name) if base.path == NET_HTTP else None
                return self.package_member(base.internal, name)
            if isinstance(base, Obj):
                return self.member(base, name)
            return None
        if kind == "composite_literal":
            return self.composite(node, ctx)
        if kind == "binary_expression":
            return self.binary(node, ctx)
        if kind in ("type_assertion_expression", "type_conversion_expression"):
            return self.eval(node.child_by_field_name("operand"), ctx)
        return None

    def identifier(self, name: str, ctx: Ctx) -> object:
        found, value = ctx.env.lookup(name)
        if found:
            return value
        path = ctx.file.imports.get(name)
        if path is not None:
            return PkgRef(path, self.project.internal_dir(path))
        return None

    def binary(self, node: Node, ctx: Ctx) -> object:
        if ts.text(node.child_by_field_name("operator")) != "+":
            self.eval(node.child_by_field_name("left"), ctx)
            self.eval(node.child_by_field_name("right"), ctx)
            return None
        left = self.eval(node.child_by_field_name("left"), ctx)
        right = self.eval(node.child_by_field_name("right"), ctx)
        return concat([left, right])

    def composite(self, node: Node, ctx: Ctx) -> object:
        return self.literal(node.child_by_field_name("type"), node.child_by_field_name("body"), ctx)

    def literal(self, typ: Node | None, body: Node | None, ctx: Ctx) -> object:
        """A slice (list), map (dict) or struct (Obj) literal; route tables are made of these."""
        elements = [e for e in body.named_children if e.type != "comment"] if body is not None else []
        while typ is not None and typ.type == "pointer_type" and typ.named_children:
            typ = typ.named_children[0]
        if typ is not None and typ.type in ("slice_type", "array_type", "implicit_length_array_type"):
            element_type = typ.child_by_field_name("element")
            items = [e for e in elements if e.type == "literal_element"][:_MAX_ITEMS]
            return [self.element_value(e, element_type, ctx) for e in items]
        if typ is not None and typ.type == "map_type":
            out: dict[object, object] = {}
            for element in elements[:_MAX_ITEMS]:
                if element.type == "keyed_element" and len(element.named_children) == 2:
                    key = self.eval(_element(element.named_children[0]), ctx)
                    value = self.element_value(element.named_children[1], typ.child_by_field_name("value"), ctx)
                    if isinstance(key, (str, int)):
                        out[key] = value
            return out
        obj = Obj(self.type_key(typ, ctx.file))
        positional = self.struct_fields(typ, ctx.file)
        for index, element in enumerate(elements):
            if element.type == "keyed_element" and len(element.named_children) == 2:
                key, value = element.named_children
                obj.fields[ts.text(_element(key))] = self.element_value(value, None, ctx)
            else:
                value = self.element_value(element, None, ctx)
                if index < len(positional):
                    obj.fields[positional[index]] = value
        if self.is_library_value(obj):
            # The library reads these fields, the interpreter never will (`Run: func(...) {...}`).
            for value in obj.fields.values():
                self.escape(value, obj)
            name = obj.fields.get("Name")
            if isinstance(name, str) and "Value" in obj.fields:
                # A CLI flag (`&cli.StringFlag{Name: "port", Value: "4000"}`): flag_call reads it.
                self.flag_defaults.setdefault(name, obj.fields["Value"])
        return obj

    def element_value(self, element: Node, typ: Node | None, ctx: Ctx) -> object:
        inner = _element(element)
        if inner.type == "literal_value":  # `{"GET", "/x", h}` inside `[]route{...}`: the type is elided
            return self.literal(typ, inner, ctx)
        return self.eval(inner, ctx)

    def type_key(self, typ: Node | None, gf: GoFile) -> tuple[str, str] | None:
        if typ is not None and typ.type == "qualified_type":
            path = gf.imports.get(ts.text(typ.child_by_field_name("package")))
            if path is not None:
                internal = self.project.internal_dir(path)
                return (internal if internal is not None else path, ts.text(typ.child_by_field_name("name")))
        elif typ is not None and typ.type == "type_identifier":
            return (gf.pkg_dir, ts.text(typ))
        return None

    def struct_fields(self, typ: Node | None, gf: GoFile) -> list[str]:
        """Field names in order, for positional struct literals."""
        struct = typ
        key = self.type_key(typ, gf)
        if key is not None and key[0] in self.project.packages:
            spec = self.project.packages[key[0]].types.get(key[1])
            struct = spec[0].child_by_field_name("type") if spec is not None else None
        if struct is None or struct.type != "struct_type":
            return []
        names = []
        for decl in ts.find_all(struct, "field_declaration"):
            declared = [ts.text(n) for n in decl.children_by_field_name("name")]
            if not declared:  # embedded: the field is named after its type
                declared = [ts.text(decl.child_by_field_name("type")).lstrip("*").split(".")[-1]]
            names.extend(declared)
        return names

    def eval_spec_value(self, spec: Node, index: int, gf: GoFile) -> object:
        values = spec.child_by_field_name("value")
        ctx = Ctx(gf, self.scope(gf.pkg_dir), Frame())
        if values is None:
            return self.typed_value(spec.child_by_field_name("type"), gf)
        exprs = values.named_children
        if len(exprs) == 1 and len(spec.children_by_field_name("name")) > 1:
            result = self.eval(exprs[0], ctx)
            return result[index] if isinstance(result, tuple) and index < len(result) else None
        return self.eval(exprs[index], ctx) if index < len(exprs) else None

    # ------------------------------------------------------------------ statements

    def exec_block(self, block: Node | None, ctx: Ctx) -> None:
        for stmt in statements(block):
            self.exec(stmt, ctx)

    def exec(self, node: Node, ctx: Ctx) -> None:
        self.statements += 1
        if self.statements > _MAX_STATEMENTS:
            return
        kind = node.type
        if kind == "expression_statement":
            for child in node.named_children:
                self.eval(child, ctx)
        elif kind in ("short_var_declaration", "assignment_statement"):
            define = kind == "short_var_declaration"
            self.assign(node.child_by_field_name("left"), node.child_by_field_name("right"), ctx, define=define)
        elif kind in ("var_declaration", "const_declaration"):
            for spec in specs_of(node):
                names = spec.children_by_field_name("name")
                for index, name_node in enumerate(names):
                    value = self.eval_spec_value_local(spec, index, len(names), ctx)
                    ctx.env.vars[ts.text(name_node)] = value
        elif kind == "return_statement":
            exprs = node.named_children[0].named_children if node.named_children else []
            ctx.frame.returns.append([self.eval(e, ctx) for e in exprs])
        elif kind == "block":
            self.exec_block(node, Ctx(ctx.file, Env(ctx.env), ctx.frame))
        elif kind == "if_statement":
            inner = Ctx(ctx.file, Env(ctx.env), ctx.frame)
            init = node.child_by_field_name("initializer")
            if init is not None:
                self.exec(init, inner)
            self.eval(node.child_by_field_name("condition"), inner)
            # Both branches run: routes registered under a flag are still routes.
            for branch in (node.child_by_field_name("consequence"), node.child_by_field_name("alternative")):
                if branch is not None:
                    self.exec(branch, inner)
        elif kind in ("go_statement", "defer_statement"):
            for child in node.named_children:
                self.eval(child, ctx)
        elif kind == "for_statement" and self.range_loop(node, ctx):
            pass
        elif kind in (
            "for_statement",
            "expression_switch_statement",
            "type_switch_statement",
            "select_statement",
            "labeled_statement",
            "expression_case",
            "default_case",
            "type_case",
            "communication_case",
            "statement_list",
            "for_clause",
        ):
            inner = Ctx(ctx.file, Env(ctx.env), ctx.frame)
            for child in node.named_children:
                if child.type in _EXPRESSIONS:
                    self.eval(child, inner)
                elif child.type not in ("expression_list", "range_clause"):
                    self.exec(child, inner)

    def range_loop(self, node: Node, ctx: Ctx) -> bool:
        """Run a `for k, v := range <literal slice or map>` once per element; False if not one."""
        clause = next((c for c in node.named_children if c.type == "range_clause"), None)
        if clause is None:
            return False
        seq = self.eval(clause.child_by_field_name("right"), ctx)
        if isinstance(seq, list):
            items: list[tuple[object, object]] = list(enumerate(seq))
        elif isinstance(seq, dict):
            items = sorted(seq.items(), key=lambda kv: str(kv[0]))
        else:
            return False
        left = clause.child_by_field_name("left")
        names = [ts.text(n) for n in left.named_children] if left is not None else []
        for key, value in items[:_MAX_ITEMS]:
            inner = Ctx(ctx.file, Env(ctx.env), ctx.frame)
            for name, bound in zip(names, (key, value), strict=False):
                inner.env.vars[name] = bound
            self.exec_block(node.child_by_field_name("body"), inner)
        return True

    def eval_spec_value_local(self, spec: Node, index: int, count: int, ctx: Ctx) -> object:
        values = spec.child_by_field_name("value")
        if values is None:
            return self.typed_value(spec.child_by_field_name("type"), ctx.file)
        exprs = values.named_children
        if len(exprs) == 1 and count > 1:
            result = self.eval(exprs[0], ctx) if index == 0 else None
            return result[index] if isinstance(result, tuple) and index < len(result) else None
        return self.eval(exprs[index], ctx) if index < len(exprs) else None

    def assign(self, left: Node | None, right: Node | None, ctx: Ctx, *, define: bool = False) -> None:
        if left is None or right is None:
            return
        targets = left.named_children
        exprs = right.named_children if right.type == "expression_list" else [right]
        if len(exprs) == 1 and len(targets) > 1:
            result = self.eval(exprs[0], ctx)
            values = list(result) if isinstance(result, tuple) else [result]
        else:
            values = [self.eval(e, ctx) for e in exprs]
        for index, target in enumerate(targets):
            value = values[index] if index < len(values) else None
            if target.type == "identifier" and ts.text(target) != "_":
                if define:
                    ctx.env.vars[ts.text(target)] = value
                else:
                    ctx.env.assign(ts.text(target), value)
            elif target.type == "selector_expression":
                base = self.eval(target.child_by_field_name("operand"), ctx)
                if isinstance(base, Obj):
                    base.fields[ts.text(target.child_by_field_name("field"))] = value
                if isinstance(base, Obj) and self.is_library_value(base):
                    self.escape(value, base)  # `cmd.RunE = serve`
                elif base is None:
                    # `app.Action = serve`, `app.Commands = ...` on an app not followed.
                    self.escape(value)
                    self.attach(value, self.unfollowed)


_EXPRESSIONS = frozenset(
    {
        "call_expression",
        "selector_expression",
        "identifier",
        "binary_expression",
        "unary_expression",
        "parenthesized_expression",
    }
)


def _key(fn: FuncVal) -> tuple[str, int]:
    """A function by its definition: closures of one literal are one function."""
    return (fn.file.rel, fn.node.start_byte)


def _element(node: Node) -> Node:
    """The expression inside a literal_element wrapper."""
    if node.type == "literal_element" and node.named_children:
        return node.named_children[0]
    return node
