"""FastAPI: apps, APIRouters included across files, mounted sub-apps, pydantic bodies, and masking."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.python.handlers import annotation_type, handler_for, mask_function_body
from pipeline.languages.python.project import (
    LocalRef,
    PyModule,
    PyProject,
    declares,
    enclosing_function,
    iter_constructions,
    iter_python_files,
    returned_names,
    service_root_for,
)
from pipeline.languages.python.request_query import query_fields
from pipeline.languages.python.runtime import literal_port, required_env
from pipeline.languages.python.syntax import arg, string_list, string_value
from pipeline.models import BodyField, CannedAnswer, Endpoint, Handler, path_params

log = logging.getLogger(__name__)

Node = tree_sitter.Node
ObjKey = tuple[str, str]

_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
_MODEL_BASES = {"BaseModel", "SQLModel"}
_PREFERRED_FILES = ("main.py", "app.py", "server.py", "api.py", "asgi.py", "__init__.py")
DEFAULT_PORT = 8000


@dataclass
class _Route:
    owner: ObjKey
    path: str
    methods: list[str]
    module: PyModule
    func: Node


@dataclass
class _Analysis:
    apps: list[ObjKey] = field(default_factory=list)
    #: router -> its own prefix
    routers: dict[ObjKey, str] = field(default_factory=dict)
    #: parent -> [(child router, prefix given to include_router)]
    includes: dict[ObjKey, list[tuple[ObjKey, str]]] = field(default_factory=dict)
    routes: list[_Route] = field(default_factory=list)
    #: apps only served under another app's mount, not at the top
    mounted: set[ObjKey] = field(default_factory=set)


def _analyse(project: PyProject) -> _Analysis:
    out = _Analysis()
    for mod, var, _call in iter_constructions(project, "fastapi", ("FastAPI",)):
        out.apps.append((mod.rel, var))
    for mod, var, call in iter_constructions(project, "fastapi", ("APIRouter",)):
        out.routers[(mod.rel, var)] = string_value(arg(call, 99, "prefix")) or ""
    known = set(out.apps) | set(out.routers)

    def owner_of(mod: PyModule, node: Node | None) -> ObjKey | None:
        ref = project.resolve_expr(mod, node)
        if isinstance(ref, LocalRef) and (ref.file, ref.name) in known:
            return (ref.file, ref.name)
        return None

    def methods_of(call: Node) -> list[str]:
        values = string_list(arg(call, 99, "methods"))
        return sorted({v.upper() for v in values}) if values else ["GET"]

    for mod, func, call, attr, receiver in project.method_decorators():
        if attr not in _VERBS and attr != "api_route":
            continue
        owner = owner_of(mod, receiver)
        path = string_value(arg(call, 0, "path"))
        if owner is None or path is None:
            continue
        methods = methods_of(call) if attr == "api_route" else [attr.upper()]
        out.routes.append(_Route(owner, path, methods, mod, func))
    for mod, call, attr, receiver in project.method_calls():
        if attr == "include_router":
            parent = owner_of(mod, receiver)
            child = owner_of(mod, arg(call, 0, "router"))
            if parent is not None and child is not None and child in out.routers:
                prefix = string_value(arg(call, 99, "prefix")) or ""
                out.includes.setdefault(parent, []).append((child, prefix))
        elif attr == "mount":
            # app.mount("/v2", v2_app): another FastAPI app served under a path (Starlette strips a final "/").
            parent = owner_of(mod, receiver)
            child = owner_of(mod, arg(call, 1, "app"))
            path = string_value(arg(call, 0, "path"))
            if parent is not None and child is not None and child in out.apps and path is not None:
                out.includes.setdefault(parent, []).append((child, path.rstrip("/")))
                out.mounted.add(child)
        elif attr == "add_api_route":
            owner = owner_of(mod, receiver)
            path = string_value(arg(call, 0, "path"))
            target = project.function(project.resolve_expr(mod, arg(call, 1, "endpoint")))
            if owner is not None and path is not None and target is not None:
                out.routes.append(_Route(owner, path, methods_of(call), target[0], target[1]))
    return out


def _prefixes(analysis: _Analysis) -> dict[ObjKey, list[str]]:
    """Every full prefix each app or router is reachable under (FastAPI concatenates them)."""
    found: dict[ObjKey, list[str]] = {}

    def visit(obj: ObjKey, prefix: str, trail: tuple[ObjKey, ...]) -> None:
        full = prefix + analysis.routers.get(obj, "")
        seen = found.setdefault(obj, [])
        if full not in seen:
            seen.append(full)
        for child, include_prefix in analysis.includes.get(obj, []):
            if child not in trail:
                visit(child, full + include_prefix, (*trail, child))

    for app in analysis.apps:
        if app not in analysis.mounted:
            visit(app, "", (app,))
    return found


def _model_fields(project: PyProject, mod: PyModule, cls: Node, depth: int = 0) -> list[BodyField] | None:
    """Annotated fields of a pydantic model class, bases first; None if not a model."""
    bases = cls.child_by_field_name("superclasses")
    fields: dict[str, BodyField] = {}
    is_model = False
    for base in bases.named_children if bases is not None else []:
        if base.type == "keyword_argument":
            continue
        if ts.text(base).split(".")[-1] in _MODEL_BASES:
            is_model = True
            continue
        found = project.class_def(project.resolve_expr(mod, base))
        if found is not None and depth < 10:
            inherited = _model_fields(project, found[0], found[1], depth + 1)
            if inherited is not None:
                is_model = True
                fields.update({f.name: f for f in inherited})
    if not is_model:
        return None
    body = cls.child_by_field_name("body")
    for stmt in body.named_children if body is not None else []:
        if stmt.type != "expression_statement" or not stmt.named_children:
            continue
        assign = stmt.named_children[0]
        left = assign.child_by_field_name("left")
        annotation = assign.child_by_field_name("type")
        if assign.type != "assignment" or left is None or left.type != "identifier" or annotation is None:
            continue
        name = ts.text(left)
        if name.startswith("_") or name == "model_config" or ts.text(annotation).startswith("ClassVar"):
            continue
        type_, optional = annotation_type(annotation)
        default = assign.child_by_field_name("right")
        has_default = default is not None
        if (
            default is not None
            and default.type == "call"
            and ts.text(default.child_by_field_name("function")) == "Field"
        ):
            first = arg(default, 0, "default")
            has_default = (first is not None and ts.text(first) != "...") or arg(
                default, 99, "default_factory"
            ) is not None
        fields[name] = BodyField(name=name, type=type_, required=not (optional or has_default))
    return list(fields.values())


def _body_fields(project: PyProject, mod: PyModule, func: Node) -> list[BodyField]:
    params = func.child_by_field_name("parameters")
    out: list[BodyField] = []
    for param in params.named_children if params is not None else []:
        if param.type not in ("typed_parameter", "typed_default_parameter"):
            continue
        annotation = param.child_by_field_name("type")
        if annotation is None or not annotation.named_children:
            continue
        type_node = annotation.named_children[0]
        if type_node.type == "generic_type" and ts.text(type_node.named_children[0]).endswith("Annotated"):
            # Annotated[NoteIn, Body(embed=False)]: the model is the first argument.
            inner = next(iter(ts.find_all(type_node, "type_parameter")), None)
            type_node = inner.named_children[0] if inner is not None and inner.named_children else type_node
        if type_node.type == "type" and type_node.named_children:
            type_node = type_node.named_children[0]
        found = project.class_def(project.resolve_expr(mod, type_node))
        if found is None:
            continue
        fields = _model_fields(project, found[0], found[1])
        if fields:
            out.extend(fields)
    return out


def _module_name(rel: str) -> str:
    """Dotted module of a file path: `app/main.py` -> `app.main`, `pkg/__init__.py` -> `pkg`."""
    parts = rel[: -len(".py")].split("/")
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


class FastAPIFramework(Framework):
    name = "fastapi"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("fastapi",)
    language = "python"

    # ------------------------------------------------------------------ detect

    def _apps_in_file(self, sf: ts.SourceFile, repo_root: Path, root: Path) -> list[tuple[str, bool]]:
        """(variable or factory name, is_factory) of each FastAPI app the file creates."""
        project = PyProject(repo_root, root, files=[sf])
        module = project.modules[sf.rel]
        apps: list[tuple[str, bool]] = []
        for var, value in module.assignments:
            if value.type != "call" or not project.is_external(
                module, value.child_by_field_name("function"), "fastapi", ("FastAPI",)
            ):
                continue
            func = enclosing_function(value)
            if func is None:
                apps.append((var, False))
            elif var in returned_names(func):
                apps.append((ts.text(func.child_by_field_name("name")), True))
        return apps

    def _entries(self, repo_root: Path) -> dict[Path, list[tuple[int, str, bool, Path]]]:
        found: dict[Path, list[tuple[int, str, bool, Path]]] = {}
        for sf in iter_python_files(repo_root, repo_root, mentioning=b"fastapi"):
            root = service_root_for(sf.path, repo_root)
            apps = self._apps_in_file(sf, repo_root, root)
            if not apps:
                continue
            var, factory = next((a for a in apps if not a[1]), apps[0])
            rel = sf.path.relative_to(root).as_posix()
            name = sf.path.name
            rank = (_PREFERRED_FILES.index(name) if name in _PREFERRED_FILES else 9) + 10 * rel.count("/")
            found.setdefault(root, []).append(
                (rank + (5 if factory else 0), f"{_module_name(rel)}:{var}", factory, sf.path)
            )
        return found

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        return [
            ServiceCandidate(root=root, entrypoint=sorted(entries)[0][1])
            for root, entries in sorted(self._entries(repo_root).items())
        ]

    # ------------------------------------------------------------------ discover

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        project = PyProject(repo_root, service.root.resolve())
        analysis = _analyse(project)
        prefixes = _prefixes(analysis)
        endpoints: dict[tuple[str, str], Endpoint] = {}
        for route in analysis.routes:
            for prefix in prefixes.get(route.owner, []):
                path = prefix + route.path
                for method in route.methods:
                    if (path, method) in endpoints:
                        continue
                    endpoints[(path, method)] = Endpoint(
                        method=method,
                        path=path,
                        handler=handler_for(route.func, route.module.rel),
                        body_fields=_body_fields(project, route.module, route.func),
                        query_fields=query_fields(route.func, set(path_params(path))),
                    )
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        files = list(iter_python_files(root, repo_root))
        port = literal_port(files, ("uvicorn.run", ".run")) or DEFAULT_PORT
        target, factory, app_dir = service.entrypoint or "main:app", False, "."
        entries = self._entries(repo_root).get(root, [])
        match = next((e for e in entries if e[1] == target), None) or (sorted(entries)[0] if entries else None)
        if match is not None:
            _, target, factory, path = match
            # uvicorn imports from --app-dir; a src/ layout needs it to find absolute imports.
            source_root = path.parent
            while (source_root / "__init__.py").is_file() and source_root != root:
                source_root = source_root.parent
            if source_root != root and source_root.is_relative_to(root):
                app_dir = source_root.relative_to(root).as_posix()
                target = f"{_module_name(path.relative_to(source_root).as_posix())}:{target.split(':')[1]}"
        command = ["python", "-m", "uvicorn", target, "--host", "0.0.0.0", "--port", str(port)]
        if factory:
            command.append("--factory")
        if app_dir != ".":
            command += ["--app-dir", app_dir]
        return RuntimeHints(
            start_command=command,
            port=port,
            extra_packages=[] if declares(root, "uvicorn") else ["uvicorn"],
            env=required_env(files),
        )

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return mask_function_body(
            source,
            handler,
            [
                "from fastapi import HTTPException",
                'raise HTTPException(status_code=501, detail="Not implemented")',
            ],
        )

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        # A Response skips the route's response_model, as a hand-written one would.
        text = canned_json(answer)
        content = "None" if text is None else repr(text)
        return mask_function_body(
            source,
            handler,
            [
                "from fastapi import Response",
                f"return Response(content={content}, status_code={answer.status}, media_type='application/json')",
            ],
        )
