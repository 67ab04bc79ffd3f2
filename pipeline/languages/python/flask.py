"""Flask: apps, blueprints (also nested and across files), routes, class-based views and masking."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.python.handlers import handler_for, json_body_fields, mask_function_body
from pipeline.languages.python.project import (
    LocalRef,
    PyModule,
    PyProject,
    class_assignments,
    class_functions,
    class_hierarchy,
    declares,
    enclosing_function,
    iter_constructions,
    iter_python_files,
    returned_names,
    service_root_for,
)
from pipeline.languages.python.request_query import QUERY_READERS
from pipeline.languages.python.runtime import literal_port, required_env
from pipeline.languages.python.syntax import arg, string_list, string_value, unwrap_parens
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
ObjKey = tuple[str, str]

_METHOD_VIEW_FUNCS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_SHORTCUTS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE"}
_FACTORIES = ("create_app", "make_app")
_PREFERRED_FILES = ("app.py", "wsgi.py", "main.py", "application.py", "server.py", "run.py", "__init__.py")
DEFAULT_PORT = 8000


def flask_join(prefix: str | None, rule: str) -> str:
    """How Flask's BlueprintSetupState joins a url_prefix and a rule."""
    if prefix is None:
        return rule
    if rule:
        return "/".join((prefix.rstrip("/"), rule.lstrip("/")))
    return prefix


def _join_prefixes(outer: str | None, inner: str | None) -> str | None:
    # Flask's rule for a nested blueprint's prefix under its parent's.
    if outer and inner:
        return outer.rstrip("/") + "/" + inner.lstrip("/")
    return inner or outer


@dataclass
class _Route:
    owner: ObjKey
    rule: str
    methods: list[str]
    module: PyModule
    func: Node


@dataclass
class _Analysis:
    apps: list[ObjKey] = field(default_factory=list)
    #: blueprint -> its own url_prefix
    blueprints: dict[ObjKey, str | None] = field(default_factory=dict)
    #: parent -> [(child, url_prefix given at registration)]
    mounts: dict[ObjKey, list[tuple[ObjKey, str | None]]] = field(default_factory=dict)
    routes: list[_Route] = field(default_factory=list)


def _methods(call: Node, default: list[str]) -> list[str]:
    node = arg(call, 99, "methods")
    values = string_list(node)
    if values:
        return sorted({v.upper() for v in values})
    return default


def _analyse(project: PyProject) -> _Analysis:
    out = _Analysis()
    for mod, var, _call in iter_constructions(project, "flask", ("Flask",)):
        out.apps.append((mod.rel, var))
    for mod, var, call in iter_constructions(project, "flask", ("Blueprint",)):
        out.blueprints[(mod.rel, var)] = string_value(arg(call, 99, "url_prefix"))
    known = set(out.apps) | set(out.blueprints)

    def owner_of(mod: PyModule, node: Node | None) -> ObjKey | None:
        ref = project.resolve_expr(mod, node)
        if isinstance(ref, LocalRef) and (ref.file, ref.name) in known:
            return (ref.file, ref.name)
        return None

    for mod, func, call, attr, receiver in project.method_decorators():
        if attr != "route" and attr not in _SHORTCUTS:
            continue
        owner = owner_of(mod, receiver)
        rule = string_value(arg(call, 0, "rule"))
        if owner is None or rule is None:
            continue
        methods = _methods(call, ["GET"]) if attr == "route" else [_SHORTCUTS[attr]]
        out.routes.append(_Route(owner, rule, methods, mod, func))
    for mod, call, attr, receiver in project.method_calls():
        if attr == "register_blueprint":
            parent = owner_of(mod, receiver)
            child = owner_of(mod, arg(call, 0, "blueprint"))
            if parent is not None and child is not None and child in out.blueprints:
                prefix_node = arg(call, 99, "url_prefix")
                prefix = string_value(prefix_node) if prefix_node is not None else None
                out.mounts.setdefault(parent, []).append((child, prefix))
        elif attr == "add_url_rule":
            owner = owner_of(mod, receiver)
            rule = string_value(arg(call, 0, "rule"))
            view = arg(call, 2, "view_func")
            if owner is None or rule is None:
                continue
            target = project.function(project.resolve_expr(mod, view))
            if target is not None:
                out.routes.append(_Route(owner, rule, _methods(call, ["GET"]), target[0], target[1]))
                continue
            for method, (view_mod, func) in _class_view_routes(project, mod, view, call):
                out.routes.append(_Route(owner, rule, [method], view_mod, func))
    return out


def _as_view_class(project: PyProject, mod: PyModule, view: Node | None) -> tuple[PyModule, Node] | None:
    """The class of `X.as_view("name")`, also when the view was first bound to a name."""
    if view is None:
        return None
    view = unwrap_parens(view)
    if view.type == "identifier":
        ref = project.resolve_expr(mod, view)
        if isinstance(ref, LocalRef) and ref.file in project.modules:
            mod = project.modules[ref.file]
            value = next((v for name, v in mod.assignments if name == ref.name), None)
            view = unwrap_parens(value) if value is not None else view
    fn = view.child_by_field_name("function") if view.type == "call" else None
    if fn is None or fn.type != "attribute" or ts.text(fn.child_by_field_name("attribute")) != "as_view":
        return None
    return project.class_def(project.resolve_expr(mod, fn.child_by_field_name("object")))


def _class_view_routes(
    project: PyProject, mod: PyModule, view: Node | None, call: Node
) -> list[tuple[str, tuple[PyModule, Node]]]:
    """(method, handler) of a class-based view: a MethodView's method functions, a View's dispatch_request."""
    found = _as_view_class(project, mod, view)
    if found is None:
        return []
    classes, library = class_hierarchy(project, found[0], found[1])
    functions: dict[str, tuple[PyModule, Node]] = {}
    declared: list[str] | None = None
    for class_mod, cls in classes:
        for func, _ in class_functions(cls):
            functions.setdefault(ts.text(func.child_by_field_name("name")), (class_mod, func))
        if declared is None:
            declared = string_list(class_assignments(cls).get("methods"))
    explicit = _methods(call, [])
    if "MethodView" in library:
        # MethodView answers every HTTP method it has a function for (HEAD falls back to get).
        methods = explicit or [m.upper() for m in _METHOD_VIEW_FUNCS if m in functions]
        return [
            (m, functions[m.lower()] if m.lower() in functions else functions["get"])
            for m in methods
            if m.lower() in functions or (m == "HEAD" and "get" in functions)
        ]
    if "dispatch_request" not in functions:
        return []
    methods = explicit or sorted({m.upper() for m in declared or []}) or ["GET"]
    return [(m, functions["dispatch_request"]) for m in methods]


def _prefixes(analysis: _Analysis) -> dict[ObjKey, list[str | None]]:
    """Every url_prefix each app or blueprint is reachable under, starting from the apps."""
    found: dict[ObjKey, list[str | None]] = {}

    def visit(obj: ObjKey, prefix: str | None, trail: tuple[ObjKey, ...]) -> None:
        seen = found.setdefault(obj, [])
        if prefix not in seen:
            seen.append(prefix)
        for child, reg_prefix in analysis.mounts.get(obj, []):
            if child in trail:
                continue
            own = reg_prefix if reg_prefix is not None else analysis.blueprints.get(child)
            visit(child, _join_prefixes(prefix, own), (*trail, child))

    for app in analysis.apps:
        visit(app, None, (app,))
    return found


class FlaskFramework(Framework):
    name = "flask"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("flask",)
    language = "python"
    echoes = True
    query_readers = QUERY_READERS

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        found: dict[Path, list[tuple[int, str]]] = {}
        for sf in iter_python_files(repo_root, repo_root, mentioning=b"flask"):
            entry = self._entry_in_file(sf, repo_root)
            if entry is None:
                continue
            root, entrypoint, rank = entry
            found.setdefault(root, []).append((rank, entrypoint))
        return [
            ServiceCandidate(root=root, entrypoint=sorted(entries)[0][1]) for root, entries in sorted(found.items())
        ]

    def _entry_in_file(self, sf: ts.SourceFile, repo_root: Path) -> tuple[Path, str, int] | None:
        root = service_root_for(sf.path, repo_root)
        # Only this file's own imports matter to recognise `Flask(...)`; no need for the rest.
        project = PyProject(repo_root, root, files=[sf])
        module = project.modules[sf.rel]
        module_level: list[str] = []
        factories: list[str] = []
        for var, value in module.assignments:
            if value.type != "call" or not project.is_external(
                module, value.child_by_field_name("function"), "flask", ("Flask",)
            ):
                continue
            func = enclosing_function(value)
            if func is None:
                module_level.append(var)
            elif var in returned_names(func):
                factories.append(ts.text(func.child_by_field_name("name")))
        rel = sf.path.relative_to(root).as_posix()
        name = sf.path.name
        rank = (_PREFERRED_FILES.index(name) if name in _PREFERRED_FILES else len(_PREFERRED_FILES)) + 10 * rel.count(
            "/"
        )
        if module_level:
            var = module_level[0]
            # FLASK_APP=pkg imports the package; `pkg/__init__.py` would work too but reads worse.
            target = rel[: -len("/__init__.py")] if rel.endswith("/__init__.py") else rel
            return root, target if var in ("app", "application") else f"{target}:{var}", rank
        if factories:
            factory = next((f for f in factories if f in _FACTORIES), factories[0])
            target = rel[: -len("/__init__.py")] if rel.endswith("/__init__.py") else rel
            return root, f"{target}:{factory}()", rank + 5
        return None

    # ------------------------------------------------------------------ discover

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        project = PyProject(repo_root, service.root.resolve())
        analysis = _analyse(project)
        prefixes = _prefixes(analysis)
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in analysis.routes:
            for prefix in prefixes.get(route.owner, []):
                path = flask_join(prefix, route.rule)
                for method in route.methods:
                    if (path, method) in endpoints:
                        continue
                    endpoints[(path, method)] = Endpoint(
                        method=method,
                        path=path,
                        handler=handler_for(route.func, route.module.rel),
                        body_fields=json_body_fields(route.func),
                    )
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        root = service.root.resolve()
        files = list(iter_python_files(root, repo_root.resolve()))
        port = literal_port(files, (".run",)) or DEFAULT_PORT
        entrypoint = service.entrypoint or "app.py"
        return RuntimeHints(
            start_command=["python", "-m", "flask", "run", "--host", "0.0.0.0", "--port", str(port)],
            port=port,
            extra_packages=[] if declares(root, "flask") else ["flask"],
            # FLASK_APP, not `--app`: the option came with Flask 2.2, the variable works on
            # every Flask from 1.0 on (a repository pinned to Flask 2.1 has no `--app`).
            env={"FLASK_APP": entrypoint, **required_env(files)},
        )

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return mask_function_body(source, handler, ['return {"error": "Not implemented"}, 501'])

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        text = canned_json(answer)
        if answer.echo:
            # A local import: the module may not import `request`, and a new top-level
            # line would shift the offsets of the handlers still to be masked.
            header = "{'Content-Type': 'application/json'}"
            lines = [
                "from flask import request as abc_request",
                f"return abc_request.get_data(), {answer.status}, {header}",
            ]
            return mask_function_body(source, handler, lines)
        if text is None:
            return mask_function_body(source, handler, [f"return '', {answer.status}"])
        header = "{'Content-Type': 'application/json'}"
        return mask_function_body(source, handler, [f"return {text!r}, {answer.status}, {header}"])
